//! The chapter's binary (`socketio_book`, `src/main.rs`) over raw polling and WebSocket, for what
//! the browser tests cannot show: the IP line with `X-Forwarded-For` (a proxy in front), the
//! `error` listener's log line on a malformed packet, and the port from env `PORT`. Each test
//! checks the server's log lines exactly (the text after the time and the level).

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use support::tools;
use support::*;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;

/// The chapter's Socket.IO path (`SocketIO(server, { path: '/socket.io' })`).
const IO_PATH: &str = "/socket.io/";

/// How long a log line may take to appear.
const LOG_WAIT: Duration = Duration::from_secs(5);

/// `socketio_book --host 127.0.0.1 --log-level info --news-interval 200 <args>`, with neither
/// `PORT` nor `RUST_LOG` from the environment unless `env` sets them.
fn start_chapter(args: &[&str], env: &[(&str, &str)]) -> EchoServer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_socketio_book"));
    command
        .args(["--host", "127.0.0.1", "--log-level", "info", "--news-interval", "200"])
        .args(args)
        .env_remove("PORT")
        .env_remove("RUST_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    EchoServer::start_command("socketio_book", command)
}

/// `2026-12-01T17:35:23.904897705Z [INFO] text` -> `("INFO", "text")`.
fn level_and_text(line: &str) -> Option<(&str, &str)> {
    let (_time, rest) = line.split_once(" [")?;
    rest.split_once("] ")
}

/// Waits for the log line whose level and text are exactly these.
fn expect_log(server: &EchoServer, level: &str, text: &str) {
    server.wait_for_log(&format!("[{level}] {text:?}"), LOG_WAIT, |line| {
        level_and_text(line) == Some((level, text))
    });
}

/// The socket id in the answer to CONNECT, `40{"sid":"<socket id>"}`.
fn socket_id_of(packet: &str) -> String {
    let json = packet
        .strip_prefix("40")
        .unwrap_or_else(|| panic!("not a CONNECT answer: {packet:?}"));
    let value: serde_json::Value = serde_json::from_str(json).expect("CONNECT answer JSON");
    let id = value["sid"].as_str().expect("sid in the CONNECT answer").to_string();
    assert_sid_format(&id);
    id
}

#[test]
fn polling_handshake_with_x_forwarded_for_logs_that_ip() {
    let server = start_chapter(&["--port", "0"], &[]);
    let mut http = Http::connect_at(server.port, IO_PATH);

    // The handshake GET carries the header; `socket.request` is that request.
    let open = http.request("GET", POLLING_HANDSHAKE, &[("X-Forwarded-For", "203.0.113.7")], None);
    assert_eq!(open.status, 200, "{open:?}");
    let sid = sid_of_open(&open.text());
    assert_eq!(http.post(&polling(&sid), b"40").text(), "ok");
    let connected = http.get(&polling(&sid)).packets();
    assert_eq!(connected.len(), 1, "{connected:?}");
    let id = socket_id_of(&connected[0]);
    expect_log(&server, "INFO", &format!("새로운 클라이언트 접속! 203.0.113.7 {id}"));

    // The news timer (200 ms here), the reply, and the disconnect with the same IP.
    let news = http.get(&polling(&sid)).packets();
    assert!(
        !news.is_empty() && news.iter().all(|packet| packet == r#"42["news","Hello Socket.IO"]"#),
        "the long-poll brings news: {news:?}"
    );
    assert_eq!(
        http.post(&polling(&sid), br#"42["reply","Hello Node.JS"]"#).text(),
        "ok"
    );
    expect_log(&server, "INFO", &format!("reply from {id}: Hello Node.JS"));
    assert_eq!(http.post(&polling(&sid), b"41").text(), "ok");
    expect_log(
        &server,
        "INFO",
        &format!("클라이언트 접속 해제 203.0.113.7 {id} (client namespace disconnect)"),
    );
}

#[test]
fn websocket_handshake_with_x_forwarded_for_logs_that_ip() {
    let server = start_chapter(&["--port", "0"], &[]);
    let url = format!("ws://127.0.0.1:{}{IO_PATH}?{WEBSOCKET_HANDSHAKE}", server.port);
    let mut request = url.as_str().into_client_request().expect("a WebSocket request");
    request
        .headers_mut()
        .insert("X-Forwarded-For", HeaderValue::from_static("198.51.100.23"));
    let stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (mut ws, response) = tungstenite::client(request, stream).expect("WebSocket handshake");
    assert_eq!(response.status().as_u16(), 101);

    sid_of_open(&ws_text(&mut ws));
    ws_send(&mut ws, "40");
    let id = socket_id_of(&ws_text(&mut ws));
    expect_log(&server, "INFO", &format!("새로운 클라이언트 접속! 198.51.100.23 {id}"));
    assert_eq!(ws_text(&mut ws), r#"42["news","Hello Socket.IO"]"#);
}

#[test]
fn without_x_forwarded_for_the_peer_address_is_logged() {
    let server = start_chapter(&["--port", "0"], &[]);
    let (mut ws, _sid, _open) = ws_open_at(server.port);
    ws_send(&mut ws, "40");
    let id = socket_id_of(&ws_text(&mut ws));
    expect_log(&server, "INFO", &format!("새로운 클라이언트 접속! 127.0.0.1 {id}"));
}

/// `--trace` over WebSocket: every packet in and out, one line each, as the chapter's reader
/// sees it in NOTES.md. The `news` of the interval thread is written in place (the emitting
/// thread writes the frame: `WsWriter::write_in_place`), the CONNECT answer through the queue
/// (the reader is corked while it handles `40`): both ways are traced alike.
#[test]
fn trace_logs_each_packet_of_a_websocket_session_both_ways() {
    let server = start_chapter(&["--port", "0", "--trace"], &[]);
    let (mut ws, sid, open) = ws_open_at(server.port);
    expect_log(&server, "INFO", &format!("{sid} → {open}  Engine.IO OPEN (handshake)"));
    ws_send(&mut ws, "40");
    let connect = ws_text(&mut ws);
    expect_log(&server, "INFO", &format!(r#"{sid} ← 40  Socket.IO CONNECT to "/""#));
    expect_log(
        &server,
        "INFO",
        &format!(r#"{sid} → {connect}  Socket.IO CONNECT to "/""#),
    );
    assert_eq!(ws_text(&mut ws), r#"42["news","Hello Socket.IO"]"#);
    expect_log(
        &server,
        "INFO",
        &format!(r#"{sid} → 42["news","Hello Socket.IO"]  Socket.IO EVENT "news" on "/""#),
    );
    ws_send(&mut ws, r#"42["reply","Hello Node.JS"]"#);
    expect_log(
        &server,
        "INFO",
        &format!(r#"{sid} ← 42["reply","Hello Node.JS"]  Socket.IO EVENT "reply" on "/""#),
    );
}

#[test]
fn a_malformed_packet_reaches_the_error_listener() {
    let server = start_chapter(&["--port", "0"], &[]);
    let (mut ws, _sid, _open) = ws_open_at(server.port);
    ws_send(&mut ws, "40");
    let id = socket_id_of(&ws_text(&mut ws));
    expect_log(&server, "INFO", &format!("새로운 클라이언트 접속! 127.0.0.1 {id}"));

    // An EVENT whose payload is not an array: `socket.on('error', ...)` logs it (main.rs:
    // `error!("{socket id}: {error}")`), then the connection is closed.
    ws_send(&mut ws, r#"42{"not":"an array"}"#);
    expect_log(
        &server,
        "ERROR",
        &format!("{id}: invalid payload: EVENT payload must be a non-empty array"),
    );
    expect_log(
        &server,
        "INFO",
        &format!("클라이언트 접속 해제 127.0.0.1 {id} (forced close)"),
    );
}

#[test]
fn env_port_is_where_it_listens() {
    // A port that was free a moment ago (the listener is dropped before the server binds it).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let server = start_chapter(&[], &[("PORT", &port.to_string())]);
    assert_eq!(server.port, port, "no --port: the server listens on env PORT");
    let mut http = Http::connect_at(port, IO_PATH);
    let (sid, _open) = handshake(&mut http);
    assert_sid_format(&sid);
}

/// The three ways `tests/node/chapter_v2.mjs` (socket.io-client 2.x in Node) connects.
const V2_KINDS: [&str; 3] = ["polling", "websocket", "default"];

/// Runs `tests/node/chapter_v2.mjs` against the chapter's server at `port` over `kind`: the
/// socket id the 2.x client knew, after asserting what it saw (the transport it ended on, two
/// `news`; the id is an Engine.IO id, which a 2.x client's socket id is).
fn chapter_v2_client(port: u16, kind: &str) -> String {
    let output = tools::node()
        .arg(tools::node_dir().join("chapter_v2.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(kind)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{kind}: {stdout}\n{stderr}");
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("the script's JSON line");
    let id = seen["id"].as_str().expect("id").to_string();
    assert_sid_format(&id);
    let transport = if kind == "polling" { "polling" } else { "websocket" };
    assert_eq!(seen["transport"], transport, "{kind}");
    assert_eq!(
        seen["news"],
        serde_json::json!(["Hello Socket.IO", "Hello Socket.IO"]),
        "{kind}"
    );
    id
}

/// socket.io-client 2.x in Node against the chapter with `--allow-eio3`, over polling only,
/// WebSocket only, and polling then the upgrade: the `news` arrive, each `reply` is logged, and
/// the disconnect is "client namespace disconnect". The server logs the id the client knows.
#[test]
fn socket_io_client_2_in_node() {
    let server = start_chapter(&["--port", "0", "--allow-eio3"], &[]);
    for kind in V2_KINDS {
        let id = chapter_v2_client(server.port, kind);
        expect_log(&server, "INFO", &format!("새로운 클라이언트 접속! 127.0.0.1 {id}"));
        expect_log(&server, "INFO", &format!("reply from {id}: Hello Node.JS"));
        expect_log(
            &server,
            "INFO",
            &format!("클라이언트 접속 해제 127.0.0.1 {id} (client namespace disconnect)"),
        );
    }
}

/// The same client against the reference (`tests/node/reference/chapter.mjs`, the book's
/// socket.js on socket.io 4.x with `allowEIO3: true`): it sees the same, and socket.js logs the
/// same id at the connection and the disconnect, and the replies.
#[test]
fn socket_io_client_2_in_node_against_the_reference() {
    let mut command = tools::node();
    command.arg(tools::node_dir().join("reference/chapter.mjs")).args([
        "--port",
        "0",
        "--news-interval",
        "200",
        "--allow-eio3",
    ]);
    let server = EchoServer::start_command("reference chapter.mjs", command);
    for kind in V2_KINDS {
        let id = chapter_v2_client(server.port, kind);
        // socket.js logs a reply's data alone.
        server.wait_for_log("Hello Node.JS", LOG_WAIT, |logged| logged == "Hello Node.JS");
        for line in ["새로운 클라이언트 접속!", "클라이언트 접속 해제"] {
            server.wait_for_log(&format!("{line} ... {id}"), LOG_WAIT, |logged| {
                logged.starts_with(line) && logged.contains(&format!(" {id}"))
            });
        }
    }
}

/// A session opened over WebSocket at the chapter's path.
fn ws_open_at(port: u16) -> (Ws, String, String) {
    let mut ws = ws_connect_at(port, IO_PATH, WEBSOCKET_HANDSHAKE);
    let open = ws_text(&mut ws);
    let sid = sid_of_open(&open);
    (ws, sid, open)
}

/// `--recover`: the page's connection ends (no close frame); it comes back on a new connection
/// with its pid and the offset of the last `news` it got, and is the same socket: the chapter's
/// `disconnect` and `connection` log lines tell it, with the same id.
#[test]
fn with_recover_a_dropped_page_gets_its_socket_back() {
    let server = start_chapter(&["--port", "0", "--recover"], &[]);
    let (mut ws, _sid, _open) = ws_open_at(server.port);
    ws_send(&mut ws, "40");
    let answer = ws_text(&mut ws);
    let value: serde_json::Value = serde_json::from_str(&answer[2..]).unwrap();
    let (id, pid) = (value["sid"].as_str().unwrap(), value["pid"].as_str().unwrap());
    assert_eq!(answer, format!(r#"40{{"sid":"{id}","pid":"{pid}"}}"#));
    let news = ws_text(&mut ws);
    let args: serde_json::Value = serde_json::from_str(&news[2..]).unwrap();
    let offset = args[2].as_str().expect("the offset, last").to_string();
    assert_eq!(news, format!(r#"42["news","Hello Socket.IO","{offset}"]"#));
    drop(ws);
    expect_log(
        &server,
        "INFO",
        &format!("클라이언트 접속 해제 127.0.0.1 {id} (transport close)"),
    );

    let (mut back, _sid, _open) = ws_open_at(server.port);
    ws_send(&mut back, &format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#));
    // A `news` written to the dead connection before the server noticed comes first (replayed).
    let mut frame = ws_text(&mut back);
    while frame.starts_with(r#"42["news","Hello Socket.IO",""#) {
        frame = ws_text(&mut back);
    }
    assert_eq!(frame, format!(r#"40{{"sid":"{id}","pid":"{pid}"}}"#));
    expect_log(&server, "INFO", &format!("새로운 클라이언트 접속! 127.0.0.1 {id}"));
    let news = ws_text(&mut back);
    assert!(news.starts_with(r#"42["news","Hello Socket.IO",""#), "{news}");
}

/// `--recover` with `--redis`: refused at start, with why (neither Redis adapter carries it).
#[test]
fn recover_with_redis_is_refused_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_socketio_book"))
        .args(["--port", "0", "--recover", "--redis", "redis://127.0.0.1:1"])
        .output()
        .expect("run socketio_book");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("socketio_book: --recover cannot go with --redis redis://127.0.0.1:1: the Redis adapters"),
        "{stderr}"
    );
}
