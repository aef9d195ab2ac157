//! The Engine.IO options on the wire, against `examples/engine_echo` (or, with
//! `ENGINE_ECHO_COMMAND="node tests/node/reference/engine_echo.mjs"`, the reference): `transports`,
//! `allowUpgrades`, the `io` cookie, the `initial_headers`/`headers` listeners, `cors` as the `cors`
//! package sends it, and the `connection_error` event (both servers log it as
//! `connection_error: <code> <message> <context as JSON>`).
//!
//! Headers are compared as a list, in order, names as sent, without those that Node's HTTP layer
//! writes on its own (`Date`, `Connection`, `Keep-Alive`, and `Content-Length` or
//! `Transfer-Encoding`, which it places differently).

mod support;

use std::time::Duration;

use support::tools;
use support::*;

/// The head of a WebSocket answer (up to the blank line), as text.
fn raw_head(http: &mut Http) -> String {
    String::from_utf8(http.read_raw_until(b"\r\n\r\n")).unwrap()
}

const ACCEPT: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                      Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

// ----- transports, allowUpgrades --------------------------------------------------------------

#[test]
fn websocket_only_refuses_polling_and_offers_no_upgrade() {
    let server = EchoServer::start(&["--transports", "websocket"]);
    assert_error(&server.http().get(POLLING_HANDSHAKE), 0, "Transport unknown");
    server.expect_log(r#"connection_error: 0 Transport unknown {"transport":"polling"}"#);
    assert_error(
        &server.http().post(&polling("AAAAAAAAAAAAAAAAAAAA"), b"4x"),
        0,
        "Transport unknown",
    );
    let (mut ws, sid, open) = ws_open(server.port);
    assert_eq!(open, expected_open(&sid, "[]", 25000, 20000, 1000000));
    ws_send(&mut ws, "4over websocket only");
    assert_eq!(ws_text(&mut ws), "4over websocket only");
    // Nor may the session itself be polled.
    assert_error(&server.http().get(&polling(&sid)), 0, "Transport unknown");
}

#[test]
fn polling_only_offers_no_upgrade_and_refuses_websockets() {
    let server = EchoServer::start(&["--transports", "polling"]);
    let (sid, open) = handshake(&mut server.http());
    assert_eq!(open, expected_open(&sid, "[]", 25000, 20000, 1000000));
    assert_eq!(server.http().post(&polling(&sid), b"4still polling").text(), "ok");
    assert_eq!(server.http().get(&polling(&sid)).text(), "4still polling");
    // The reference does not listen for upgrades then: Node hands the request over as a plain
    // one, answered as any polling request.
    let mut http = server.http();
    http.send(&upgrade_request(server.port, WEBSOCKET_HANDSHAKE));
    assert_error(&http.read_response(), 0, "Transport unknown");
    server.expect_log(r#"connection_error: 0 Transport unknown {"transport":"websocket"}"#);
    http.send(&upgrade_request(server.port, &websocket(&sid)));
    assert_error(&http.read_response(), 0, "Transport unknown");
    http.send(&upgrade_request(server.port, POLLING_HANDSHAKE));
    let response = http.read_response();
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.text().starts_with(r#"0{"sid":""#), "{response:?}");
}

#[test]
fn allow_upgrades_false_offers_no_upgrade() {
    let server = EchoServer::start(&["--allow-upgrades", "false"]);
    let (sid, open) = handshake(&mut server.http());
    assert_eq!(open, expected_open(&sid, "[]", 25000, 20000, 1000000));
    // The reference checks `allowUpgrades` only for the open packet: a client that upgrades
    // anyway is not refused, and neither are sessions opened over WebSocket.
    let mut ws = probe(server.port, &sid);
    ws_send(&mut ws, "5");
    ws_send(&mut ws, "4upgraded anyway");
    assert_eq!(ws_text(&mut ws), "4upgraded anyway");
    let (_ws, sid, open) = ws_open(server.port);
    assert_eq!(open, expected_open(&sid, "[]", 25000, 20000, 1000000));
}

// ----- the io cookie, initial_headers, headers -----------------------------------------------

#[test]
fn the_cookie_takes_its_name_from_the_option() {
    let server = EchoServer::start(&["--cookie", "sticky"]);
    let response = server.http().get(POLLING_HANDSHAKE);
    let sid = sid_of_open(&response.text());
    assert_eq!(
        response.header_values("Set-Cookie"),
        vec![format!("sticky={sid}; Path=/; HttpOnly; SameSite=Lax").as_str()]
    );
}

#[test]
fn the_io_cookie_and_the_initial_headers_and_headers_listeners() {
    let server = EchoServer::start(&[
        "--cookie",
        "io",
        "--initial-header",
        "X-Initial: yes",
        "--header",
        "X-Every: 1",
    ]);
    let mut http = server.http();
    let response = http.get(POLLING_HANDSHAKE);
    let sid = sid_of_open(&response.text());
    // The handshake's answer: the transport's headers, the cookie, then `initial_headers`,
    // then `headers`.
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("cache-control", "no-store"),
            ("Set-Cookie", &format!("io={sid}; Path=/; HttpOnly; SameSite=Lax")),
            ("X-Initial", "yes"),
            ("X-Every", "1"),
        ])
    );
    // Every later polling answer: `headers` only (no cookie); a held GET included.
    assert_eq!(
        engine_headers(&http.post(&polling(&sid), b"4a")),
        pairs(&[
            ("Content-Type", "text/html"),
            ("cache-control", "no-store"),
            ("X-Every", "1")
        ])
    );
    assert_eq!(
        engine_headers(&http.get(&polling(&sid))),
        pairs(&[
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("cache-control", "no-store"),
            ("X-Every", "1")
        ])
    );
    let mut held = server.http();
    held.send_get(&polling(&sid));
    held.assert_no_response_within(Duration::from_millis(100));
    assert_eq!(server.http().post(&polling(&sid), b"4b").text(), "ok");
    let answer = held.read_response();
    assert_eq!(answer.text(), "4b");
    assert_eq!(answer.header("X-Every"), Some("1"));
    // An error answer is not a transport's answer: no listener runs.
    let error = server.http().get("EIO=4&transport=foo");
    assert_eq!(engine_headers(&error), pairs(&[("Content-Type", "application/json")]));

    // The WebSocket handshake's 101: both listeners, but no cookie (the reference sets it from
    // the polling transport's `headers` event only); an upgrade's 101: `headers` only.
    let mut raw = server.http();
    raw.send(&upgrade_request(server.port, WEBSOCKET_HANDSHAKE));
    assert_eq!(
        raw_head(&mut raw),
        format!("{ACCEPT}X-Initial: yes\r\nX-Every: 1\r\n\r\n")
    );
    let mut raw = server.http();
    raw.send(&upgrade_request(server.port, &websocket(&sid)));
    assert_eq!(raw_head(&mut raw), format!("{ACCEPT}X-Every: 1\r\n\r\n"));
}

// ----- CORS -----------------------------------------------------------------------------------

/// An OPTIONS preflight from `origin` asking for `content-type`.
fn preflight(server: &EchoServer, origin: &str) -> Response {
    server.http().request(
        "OPTIONS",
        POLLING_HANDSHAKE,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    )
}

#[test]
fn cors_with_one_origin() {
    let server = EchoServer::start(&["--cors-origin", "http://a.example"]);
    // Sent whoever asks (the browser compares), with `Vary: Origin`.
    for origin in ["http://a.example", "http://other.example"] {
        let response = server
            .http()
            .request("GET", POLLING_HANDSHAKE, &[("Origin", origin)], None);
        assert_eq!(
            engine_headers(&response),
            pairs(&[
                ("Access-Control-Allow-Origin", "http://a.example"),
                ("Vary", "Origin"),
                ("Access-Control-Allow-Credentials", "true"),
                ("Content-Type", "text/plain; charset=UTF-8"),
                ("cache-control", "no-store"),
            ])
        );
    }
    let response = preflight(&server, "http://a.example");
    assert_eq!((response.status, response.reason.as_str()), (204, "No Content"));
    assert_eq!(response.header("Content-Length"), Some("0"));
    assert_eq!(response.body, b"");
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Access-Control-Allow-Origin", "http://a.example"),
            ("Vary", "Origin, Access-Control-Request-Headers"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
            ("Access-Control-Allow-Headers", "content-type"),
        ])
    );
}

#[test]
fn cors_with_a_list_reflects_a_listed_origin_only() {
    let server = EchoServer::start(&["--cors-origin", "http://a.example,http://b.example"]);
    let get = |origin: Option<&str>| {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
        engine_headers(&server.http().request("GET", POLLING_HANDSHAKE, &headers, None))
    };
    let rest = [
        ("Access-Control-Allow-Credentials", "true"),
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("cache-control", "no-store"),
    ];
    let with = |first: &[(&str, &str)]| pairs(&[first, &rest[..]].concat());
    assert_eq!(
        get(Some("http://b.example")),
        with(&[("Access-Control-Allow-Origin", "http://b.example"), ("Vary", "Origin")])
    );
    assert_eq!(get(Some("http://c.example")), with(&[("Vary", "Origin")]));
    assert_eq!(get(None), with(&[("Vary", "Origin")]));
    // A preflight from an origin not listed: the rest of the headers, and still 204.
    let response = preflight(&server, "http://c.example");
    assert_eq!(response.status, 204);
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Vary", "Origin, Access-Control-Request-Headers"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
            ("Access-Control-Allow-Headers", "content-type"),
        ])
    );
}

#[test]
fn cors_with_any_origin() {
    let server = EchoServer::start(&["--cors-origin", "*"]);
    let response = server
        .http()
        .request("GET", POLLING_HANDSHAKE, &[("Origin", "http://x.example")], None);
    assert_eq!(
        engine_headers(&response)[..2],
        pairs(&[
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Credentials", "true")
        ])
    );
    // Without `Vary: Origin` before it, the preflight's `Vary` comes where the package adds it.
    let response = server
        .http()
        .request("OPTIONS", POLLING_HANDSHAKE, &[("Origin", "http://x.example")], None);
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE"),
            ("Vary", "Access-Control-Request-Headers"),
        ])
    );
}

#[test]
fn cors_methods_allowed_and_exposed_headers_max_age() {
    let server = EchoServer::start(&[
        "--cors-origin",
        "http://a.example,http://b.example",
        "--cors-methods",
        "GET,POST",
        "--cors-allowed-headers",
        "content-type,x-token",
        "--cors-exposed-headers",
        "X-One,X-Two",
        "--cors-max-age",
        "600",
    ]);
    let response = preflight(&server, "http://a.example");
    assert_eq!(response.status, 204);
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Access-Control-Allow-Origin", "http://a.example"),
            ("Vary", "Origin"),
            ("Access-Control-Allow-Credentials", "true"),
            ("Access-Control-Allow-Methods", "GET,POST"),
            ("Access-Control-Allow-Headers", "content-type,x-token"),
            ("Access-Control-Max-Age", "600"),
            ("Access-Control-Expose-Headers", "X-One,X-Two"),
        ])
    );
    // An actual request: origin, credentials, exposed headers; then the transport's.
    let origin = [("Origin", "http://a.example")];
    let mut http = server.http();
    let response = http.request("GET", POLLING_HANDSHAKE, &origin, None);
    let cors = pairs(&[
        ("Access-Control-Allow-Origin", "http://a.example"),
        ("Vary", "Origin"),
        ("Access-Control-Allow-Credentials", "true"),
        ("Access-Control-Expose-Headers", "X-One,X-Two"),
    ]);
    let polling_answer = [
        cors.clone(),
        pairs(&[
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("cache-control", "no-store"),
        ]),
    ]
    .concat();
    assert_eq!(engine_headers(&response), polling_answer);
    let sid = sid_of_open(&response.text());
    let post = http.request("POST", &polling(&sid), &origin, Some(b"4x"));
    assert_eq!(
        engine_headers(&post),
        [
            cors.clone(),
            pairs(&[("Content-Type", "text/html"), ("cache-control", "no-store")])
        ]
        .concat()
    );
    // An error: the CORS headers first, then the JSON's content type.
    let error = http.request("GET", &polling("AAAAAAAAAAAAAAAAAAAA"), &origin, None);
    assert_eq!(error.text(), r#"{"code":1,"message":"Session ID unknown"}"#);
    assert_eq!(
        engine_headers(&error),
        [cors.clone(), pairs(&[("Content-Type", "application/json")])].concat()
    );
    // The WebSocket's 101 carries them too (the middleware runs on the upgrade request).
    let mut raw = server.http();
    raw.send(&upgrade_request_with(
        server.port,
        WEBSOCKET_HANDSHAKE,
        "Origin: http://a.example\r\n",
    ));
    assert_eq!(
        raw_head(&mut raw),
        format!(
            "{ACCEPT}Access-Control-Allow-Origin: http://a.example\r\nVary: Origin\r\n\
             Access-Control-Allow-Credentials: true\r\nAccess-Control-Expose-Headers: X-One,X-Two\r\n\r\n"
        )
    );
}

// ----- connection_error -------------------------------------------------------------------------

#[test]
fn connection_error_for_each_refused_request() {
    let server = EchoServer::start(&[]);
    assert_error(&server.http().get("EIO=4&transport=foo"), 0, "Transport unknown");
    server.expect_log(r#"connection_error: 0 Transport unknown {"transport":"foo"}"#);
    assert_error(
        &server.http().get(&polling("AAAAAAAAAAAAAAAAAAAA")),
        1,
        "Session ID unknown",
    );
    server.expect_log(r#"connection_error: 1 Session ID unknown {"sid":"AAAAAAAAAAAAAAAAAAAA"}"#);
    assert_error(&server.http().post(POLLING_HANDSHAKE, b"4x"), 2, "Bad handshake method");
    server.expect_log(r#"connection_error: 2 Bad handshake method {"method":"POST"}"#);
    assert_error(&server.http().get(WEBSOCKET_HANDSHAKE), 3, "Bad request");
    server.expect_log(r#"connection_error: 3 Bad request {"name":"TRANSPORT_HANDSHAKE_ERROR"}"#);
    assert_error(
        &server.http().get("EIO=3&transport=polling"),
        5,
        "Unsupported protocol version",
    );
    server.expect_log(r#"connection_error: 5 Unsupported protocol version {"protocol":3}"#);
    // A polling request for a WebSocket session.
    let (_ws, sid, _) = ws_open(server.port);
    assert_error(&server.http().get(&polling(&sid)), 3, "Bad request");
    server.expect_log(
        r#"connection_error: 3 Bad request {"name":"TRANSPORT_MISMATCH","transport":"polling","previousTransport":"websocket"}"#,
    );
    // A refused WebSocket request.
    let mut raw = server.http();
    raw.send(&upgrade_request(server.port, &websocket("BBBBBBBBBBBBBBBBBBBB")));
    assert!(raw_head(&mut raw).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    server.expect_log(r#"connection_error: 1 Session ID unknown {"sid":"BBBBBBBBBBBBBBBBBBBB"}"#);
}

// ----- the official clients over WebSocket only -----------------------------------------------

/// Runs `tests/node/websocket_only.mjs <mode> http://127.0.0.1:<port>` (Node.js and the pinned npm
/// packages: `support::tools::node`); fails with its output unless every check passed.
fn run_websocket_only(mode: &str, port: u16) {
    let output = tools::node()
        .arg(tools::node_dir().join("websocket_only.mjs"))
        .arg(mode)
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    println!("{stdout}");
}

#[test]
fn engine_io_client_over_websocket_only() {
    let server = EchoServer::start(&["--transports", "websocket"]);
    run_websocket_only("engine", server.port);
}

#[test]
fn socket_io_client_over_websocket_only() {
    let server = EchoServer::start_interop(&["--transports", "websocket"]);
    run_websocket_only("socketio", server.port);
}
