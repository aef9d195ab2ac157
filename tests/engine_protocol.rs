//! Engine.IO v4 on the wire, against `examples/engine_echo` run as a child process: the exact
//! bytes the reference (`packages/engine.io` of the socket.io monorepo) sends, over raw HTTP and
//! over WebSocket. Every test starts its own server, so they run in parallel.

mod support;

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use support::*;

/// `n` milliseconds.
fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ----- handshake ------------------------------------------------------------------------------

#[test]
fn handshake_over_polling() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let response = http.get(POLLING_HANDSHAKE);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.reason, "OK");
    assert_eq!(response.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.text();
    assert_eq!(response.header("Content-Length"), Some(body.len().to_string().as_str()));
    let sid = sid_of_open(&body);
    assert_sid_format(&sid);
    assert_eq!(body, expected_open(&sid, r#"["websocket"]"#, 25000, 20000, 1000000));
    // No CORS header unless configured.
    assert!(
        response
            .headers
            .iter()
            .all(|(name, _)| !name.to_ascii_lowercase().starts_with("access-control-"))
    );
}

#[test]
fn handshake_carries_the_configured_options() {
    let server = EchoServer::start(&[
        "--ping-interval",
        "1234",
        "--ping-timeout",
        "5678",
        "--max-payload",
        "4321",
    ]);
    let (sid, open) = handshake(&mut server.http());
    assert_eq!(open, expected_open(&sid, r#"["websocket"]"#, 1234, 5678, 4321));
    let (_ws, sid, open) = ws_open(server.port);
    assert_eq!(open, expected_open(&sid, "[]", 1234, 5678, 4321));
}

#[test]
fn handshake_over_websocket() {
    let server = EchoServer::start(&[]);
    let (mut ws, sid, open) = ws_open(server.port);
    assert_sid_format(&sid);
    assert_eq!(open, expected_open(&sid, "[]", 25000, 20000, 1000000));
    // The session is a WebSocket session: a polling request for it is a bad request.
    assert_error(&server.http().post(&polling(&sid), b"4x"), 3, "Bad request");
    ws_send(&mut ws, "4still here");
    assert_eq!(ws_text(&mut ws), "4still here");
}

#[test]
fn websocket_handshake_on_the_wire() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    http.send(&upgrade_request(server.port, WEBSOCKET_HANDSHAKE));
    // The `ws` package's answer (RFC 6455's sample key and accept value).
    assert_eq!(
        String::from_utf8(http.read_raw_until(b"\r\n\r\n")).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    // The first frame: FIN + text, unmasked, the open packet.
    let header = http.read_raw(2);
    assert_eq!(header[0], 0x81);
    assert!(header[1] < 126, "{header:?}");
    let open = String::from_utf8(http.read_raw(header[1] as usize)).unwrap();
    let sid = sid_of_open(&open);
    assert_eq!(open, expected_open(&sid, "[]", 25000, 20000, 1000000));
}

#[test]
fn websocket_upgrade_without_a_valid_key_is_refused() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let request = String::from_utf8(upgrade_request(server.port, WEBSOCKET_HANDSHAKE))
        .unwrap()
        .replace("dGhlIHNhbXBsZSBub25jZQ==", "too-short");
    http.send(request.as_bytes());
    let response = http.read_response();
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(response.header("Content-Type"), Some("text/html"));
    assert_eq!(response.text(), "Missing or invalid Sec-WebSocket-Key header");
    http.expect_closed();
}

#[test]
fn every_session_gets_a_new_sid() {
    let server = EchoServer::start(&[]);
    let mut sids = HashSet::new();
    for _ in 0..5 {
        let (sid, _) = handshake(&mut server.http());
        assert_sid_format(&sid);
        sids.insert(sid);
        let (_ws, sid, _) = ws_open(server.port);
        assert_sid_format(&sid);
        sids.insert(sid);
    }
    assert_eq!(sids.len(), 10, "{sids:?}");
}

// ----- errors ---------------------------------------------------------------------------------

#[test]
fn error_0_transport_unknown() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    assert_error(&http.get("EIO=4&transport=foo"), 0, "Transport unknown");
    assert_error(&http.get("EIO=4"), 0, "Transport unknown");
    assert_error(&http.post("EIO=4&transport=foo", b"4x"), 0, "Transport unknown");
}

#[test]
fn error_1_session_id_unknown() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    assert_error(&http.get(&polling("AAAAAAAAAAAAAAAAAAAA")), 1, "Session ID unknown");
    assert_error(&http.post(&polling("nope"), b"4x"), 1, "Session ID unknown");
    // After the session closed, its sid is unknown too.
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"1").text(), "ok");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");
    assert_error(&http.post(&polling(&sid), b"4x"), 1, "Session ID unknown");
}

#[test]
fn error_2_bad_handshake_method() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    assert_error(&http.post(POLLING_HANDSHAKE, b"4x"), 2, "Bad handshake method");
}

#[test]
fn error_3_bad_request_websocket_without_upgrade() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    assert_error(&http.get(WEBSOCKET_HANDSHAKE), 3, "Bad request");
}

#[test]
fn error_5_unsupported_protocol_version() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    assert_error(&http.get("EIO=3&transport=polling"), 5, "Unsupported protocol version");
    assert_error(&http.get("transport=polling"), 5, "Unsupported protocol version");
}

#[test]
fn an_error_answer_keeps_the_connection_usable() {
    // A refused POST is answered before its body is read; the body must not be taken for the
    // next request on the same keep-alive connection (Node discards it).
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let response = http.post(POLLING_HANDSHAKE, b"4hello");
    assert_error(&response, 2, "Bad handshake method");
    assert_eq!(response.header("Connection"), Some("keep-alive"));
    let response = http.post(&polling("unknown"), b"4hello");
    assert_error(&response, 1, "Session ID unknown");
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"4next").text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "4next");
}

/// The raw bytes of a WebSocket upgrade request.
#[test]
fn refused_websocket_upgrade_is_a_plain_400_then_close() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    http.send(&upgrade_request(server.port, &websocket("AAAAAAAAAAAAAAAAAAAA")));
    assert_eq!(
        String::from_utf8(http.read_until_closed(TIMEOUT)).unwrap(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 18\r\n\r\nSession ID unknown"
    );

    let mut http = server.http();
    http.send(&upgrade_request(server.port, "EIO=4&transport=foo"));
    assert_eq!(
        String::from_utf8(http.read_until_closed(TIMEOUT)).unwrap(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 17\r\n\r\nTransport unknown"
    );

    // A session that closed: its sid is refused too.
    let (sid, _) = handshake(&mut server.http());
    assert_eq!(server.http().post(&polling(&sid), b"1").text(), "ok");
    let mut http = server.http();
    http.send(&upgrade_request(server.port, &websocket(&sid)));
    assert_eq!(
        String::from_utf8(http.read_until_closed(TIMEOUT)).unwrap(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 18\r\n\r\nSession ID unknown"
    );
}

// ----- messages -------------------------------------------------------------------------------

#[test]
fn polling_echo_of_one_packet() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    let response = http.post(&polling(&sid), b"4hello");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("text/html"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.text(), "ok");
    let response = http.get(&polling(&sid));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(response.text(), "4hello");
}

#[test]
fn polling_echo_of_several_packets() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    let response = http.post(&polling(&sid), b"4a\x1e4b\x1e4c");
    assert_eq!((response.status, response.text()), (200, "ok".to_string()));
    assert_eq!(response.header("Content-Type"), Some("text/html"));
    assert_eq!(http.get(&polling(&sid)).text(), "4a\x1e4b\x1e4c");
    // UTF-8 text goes through unchanged.
    assert_eq!(http.post(&polling(&sid), "4é€😀\x1e4".as_bytes()).text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "4é€😀\x1e4");
}

#[test]
fn binary_over_polling() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"bAQIDBA==").text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "bAQIDBA==");
    assert_eq!(http.post(&polling(&sid), b"4a\x1ebAQIDBA==\x1eb/w==").text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "4a\x1ebAQIDBA==\x1eb/w==");
}

#[test]
fn text_and_binary_over_websocket() {
    let server = EchoServer::start(&[]);
    let (mut ws, _sid, _) = ws_open(server.port);
    ws_send(&mut ws, "4hello");
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Text("4hello".to_string()));
    ws_send_binary(&mut ws, &[1, 2, 3, 4]);
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Binary(vec![1, 2, 3, 4]));
    ws_send_binary(&mut ws, &[]);
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Binary(vec![]));
    ws_send(&mut ws, "4é😀");
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Text("4é😀".to_string()));
}

#[test]
fn held_get_is_answered_as_soon_as_something_is_queued() {
    let server = EchoServer::start(&[]);
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    poll.send_get(&polling(&sid));
    poll.assert_no_response_within(ms(300));
    let posted = Instant::now();
    assert_eq!(server.http().post(&polling(&sid), b"4wake up").text(), "ok");
    let response = poll.read_response_within(Duration::from_secs(2));
    assert!(
        posted.elapsed() < Duration::from_secs(1),
        "answered after {:?}",
        posted.elapsed()
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.text(), "4wake up");
}

#[test]
fn keep_alive_several_requests_on_one_connection() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let handshake_response = http.get(POLLING_HANDSHAKE);
    let sid = sid_of_open(&handshake_response.text());
    let mut responses = vec![handshake_response];
    for word in ["one", "two", "three"] {
        let posted = http.post(&polling(&sid), format!("4{word}").as_bytes());
        assert_eq!(posted.text(), "ok");
        let polled = http.get(&polling(&sid));
        assert_eq!(polled.text(), format!("4{word}"));
        responses.push(posted);
        responses.push(polled);
    }
    for response in &responses {
        assert_eq!(response.header("Connection"), Some("keep-alive"), "{response:?}");
        assert_eq!(response.header("Keep-Alive"), Some("timeout=5"), "{response:?}");
    }
    // `Connection: close` is honoured: the answer says so and the server closes.
    let response = http.request("POST", &polling(&sid), &[("Connection", "close")], Some(b"4bye"));
    assert_eq!(response.text(), "ok");
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(response.header("Keep-Alive"), None);
    http.expect_closed();
}

// ----- upgrade --------------------------------------------------------------------------------

/// Probes session `sid` with a new WebSocket: `2probe` -> `3probe`.
#[test]
fn upgrade_from_polling_to_websocket() {
    let server = EchoServer::start(&[]);
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    poll.send_get(&polling(&sid));
    poll.assert_no_response_within(ms(200));

    let mut ws = probe(server.port, &sid);
    // The GET held at that moment is answered with a noop, and so is a new one.
    let held = poll.read_response();
    assert_eq!((held.status, held.text()), (200, "6".to_string()));
    assert_eq!(poll.get(&polling(&sid)).text(), "6");
    // Still a polling session until `5`: a POST is accepted, its echo waits for the WebSocket.
    assert_eq!(server.http().post(&polling(&sid), b"4during the probe").text(), "ok");

    ws_send(&mut ws, "5");
    assert_eq!(ws_text(&mut ws), "4during the probe");
    ws_send(&mut ws, "4hello");
    assert_eq!(ws_text(&mut ws), "4hello");
    ws_send_binary(&mut ws, &[9, 8, 7]);
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Binary(vec![9, 8, 7]));

    // Polling is over for this session.
    assert_error(&poll.get(&polling(&sid)), 3, "Bad request");
    assert_error(&server.http().post(&polling(&sid), b"4x"), 3, "Bad request");

    // A second WebSocket for the same session is closed without any packet.
    let mut second = ws_connect(server.port, &websocket(&sid));
    ws_send(&mut second, "2probe");
    ws_expect_closed(&mut second, TIMEOUT);

    // The upgraded WebSocket is unaffected.
    ws_send(&mut ws, "4still here");
    assert_eq!(ws_text(&mut ws), "4still here");
}

#[test]
fn a_wrong_packet_during_the_probe_closes_only_that_websocket() {
    let server = EchoServer::start(&[]);
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    let mut ws = probe(server.port, &sid);

    // While one WebSocket probes, another one for the same session is closed at once.
    let mut second = ws_connect(server.port, &websocket(&sid));
    ws_expect_closed(&mut second, TIMEOUT);

    ws_send(&mut ws, "4not yet");
    ws_expect_closed(&mut ws, TIMEOUT);

    // The session goes on polling, and a message sent during the probe is not lost.
    assert_eq!(poll.post(&polling(&sid), b"4after").text(), "ok");
    let mut seen = Vec::new();
    while !seen.contains(&"4after".to_string()) {
        let response = poll.get(&polling(&sid));
        assert_eq!(response.status, 200, "{response:?}");
        seen.extend(response.packets().into_iter().filter(|p| p != "6"));
    }
    assert_eq!(
        seen,
        vec!["4after".to_string()],
        "`4not yet` was never a message of the session"
    );
    // A new upgrade may start.
    let mut ws = probe(server.port, &sid);
    ws_send(&mut ws, "5");
    ws_send(&mut ws, "4upgraded");
    assert_eq!(ws_text(&mut ws), "4upgraded");
}

#[test]
fn upgrade_timeout_closes_the_probe_and_polling_goes_on() {
    let server = EchoServer::start(&["--upgrade-timeout", "300"]);
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    let started = Instant::now();
    let mut ws = probe(server.port, &sid);
    ws_expect_closed(&mut ws, Duration::from_secs(3));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= ms(250),
        "probe closed after {elapsed:?}, before the upgrade timeout"
    );

    assert_eq!(poll.post(&polling(&sid), b"4still polling").text(), "ok");
    assert_eq!(poll.get(&polling(&sid)).text(), "4still polling");
    poll.send_get(&polling(&sid));
    poll.assert_no_response_within(ms(200));
    assert_eq!(server.http().post(&polling(&sid), b"4held again").text(), "ok");
    assert_eq!(poll.read_response().text(), "4held again");
}

#[test]
fn nothing_is_lost_across_an_upgrade() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let server = EchoServer::start(&[]);
    let port = server.port;
    let (sid, _) = handshake(&mut server.http());

    // Polls until the noop that pauses polling, collecting the echoes.
    let polled_count = Arc::new(AtomicUsize::new(0));
    let (poll_sid, poll_count) = (sid.clone(), Arc::clone(&polled_count));
    let poller = thread::spawn(move || {
        let mut http = Http::connect(port);
        let mut echoes = Vec::new();
        loop {
            let response = http.get(&polling(&poll_sid));
            assert_eq!(response.status, 200, "{response:?}");
            let packets = response.packets();
            if packets == ["6"] {
                return echoes;
            }
            echoes.extend(packets);
            poll_count.store(echoes.len(), Ordering::SeqCst);
        }
    });
    // POSTs `4seq-N` one after the other until told to stop; returns the next N.
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(AtomicUsize::new(0));
    let (post_sid, post_stop, post_count) = (sid.clone(), Arc::clone(&stop), Arc::clone(&posted));
    let poster = thread::spawn(move || {
        let mut http = Http::connect(port);
        let mut n = 0;
        while !post_stop.load(Ordering::SeqCst) {
            let response = http.post(&polling(&post_sid), format!("4seq-{n}").as_bytes());
            assert_eq!(response.text(), "ok", "{response:?}");
            n += 1;
            post_count.store(n, Ordering::SeqCst);
        }
        n
    });

    let deadline = Instant::now() + TIMEOUT;
    while polled_count.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "no echo over polling");
        thread::sleep(ms(2));
    }
    let mut ws = probe(port, &sid);
    let polled = poller.join().expect("poller");
    // Keep posting while the probe is done, then upgrade.
    let during = posted.load(Ordering::SeqCst);
    while posted.load(Ordering::SeqCst) < during + 20 {
        assert!(Instant::now() < deadline + TIMEOUT, "the poster is stuck");
        thread::sleep(ms(2));
    }
    stop.store(true, Ordering::SeqCst);
    let mut next = poster.join().expect("poster");
    ws_send(&mut ws, "5");
    for _ in 0..30 {
        ws_send(&mut ws, &format!("4seq-{next}"));
        next += 1;
    }

    let mut received = polled.clone();
    while received.len() < next {
        match ws_next(&mut ws, TIMEOUT) {
            WsEvent::Text(text) => received.push(text),
            other => panic!("after {} echoes: {other:?}", received.len()),
        }
    }
    let expected: Vec<String> = (0..next).map(|n| format!("4seq-{n}")).collect();
    assert_eq!(received, expected, "{} echoes came over polling", polled.len());
    assert!(polled.len() >= 20, "only {} echoes came over polling", polled.len());
    assert!(
        next - polled.len() >= 50,
        "only {} echoes came over the WebSocket",
        next - polled.len()
    );
    // Nothing more is waiting.
    ws_send(&mut ws, "4end");
    assert_eq!(ws_text(&mut ws), "4end");
}

// ----- heartbeat ------------------------------------------------------------------------------

const FAST_HEARTBEAT: [&str; 4] = ["--ping-interval", "200", "--ping-timeout", "300"];

#[test]
fn heartbeat_over_polling_pong_keeps_the_session() {
    let server = EchoServer::start(&FAST_HEARTBEAT);
    let mut http = server.http();
    let mut since = Instant::now();
    let (sid, open) = handshake(&mut http);
    assert_eq!(open, expected_open(&sid, r#"["websocket"]"#, 200, 300, 1000000));
    for round in 0..4 {
        let response = http.get(&polling(&sid));
        let waited = since.elapsed();
        assert_eq!(response.text(), "2", "round {round}");
        assert!(
            waited >= ms(150) && waited < ms(1500),
            "round {round}: ping after {waited:?}, not ~200 ms"
        );
        assert_eq!(http.post(&polling(&sid), b"3").text(), "ok");
        since = Instant::now();
    }
    // Four pings answered: more than pingInterval + pingTimeout has passed, the session lives.
    assert_eq!(http.post(&polling(&sid), b"4alive").text(), "ok");
    let packets = http.get(&polling(&sid)).packets();
    assert_eq!(packets[0], "4alive");
    assert!(packets[1..].iter().all(|p| p == "2"), "{packets:?}");
}

#[test]
fn heartbeat_over_polling_without_pong_closes_the_session() {
    let server = EchoServer::start(&FAST_HEARTBEAT);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.get(&polling(&sid)).text(), "2");
    let pinged = Instant::now();
    // No pong: the next GET is held, then answered with the close packet.
    let response = http.get(&polling(&sid));
    let waited = pinged.elapsed();
    assert_eq!((response.status, response.text()), (200, "1".to_string()));
    assert!(
        waited >= ms(200) && waited < ms(2000),
        "closed {waited:?} after the ping, not ~300 ms"
    );
    // The session is gone at once.
    assert_error(&server.http().post(&polling(&sid), b"3"), 1, "Session ID unknown");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");
    server.expect_close_reason(&sid, "ping timeout");
}

#[test]
fn heartbeat_over_websocket() {
    let server = EchoServer::start(&FAST_HEARTBEAT);
    let started = Instant::now();
    let (mut ws, sid, _) = ws_open(server.port);
    let mut since = started;
    for round in 0..4 {
        assert_eq!(ws_text(&mut ws), "2", "round {round}");
        let waited = since.elapsed();
        assert!(
            waited >= ms(150) && waited < ms(1500),
            "round {round}: ping after {waited:?}"
        );
        ws_send(&mut ws, "3");
        since = Instant::now();
    }
    ws_send(&mut ws, "4alive");
    assert_eq!(ws_text(&mut ws), "4alive");

    // Now stop answering: the next ping is the last thing before the close.
    assert_eq!(ws_next(&mut ws, Duration::from_secs(3)), WsEvent::Text("2".to_string()));
    let pinged = Instant::now();
    ws_expect_closed(&mut ws, Duration::from_secs(3));
    assert!(
        pinged.elapsed() >= ms(200),
        "closed {:?} after the ping",
        pinged.elapsed()
    );
    assert_error(&server.http().post(&polling(&sid), b"3"), 1, "Session ID unknown");
}

#[test]
fn a_ping_from_the_client_closes_the_session() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"2").text(), "ok");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");
    server.expect_close_reason(&sid, "transport error");

    let (mut ws, sid, _) = ws_open(server.port);
    ws_send(&mut ws, "2");
    ws_expect_closed(&mut ws, TIMEOUT);
    assert_error(&server.http().post(&polling(&sid), b"4x"), 1, "Session ID unknown");
    server.expect_close_reason(&sid, "transport error");
}

#[test]
fn an_invalid_packet_closes_the_session_with_parse_error() {
    let server = EchoServer::start(&[]);
    // Over polling: `9` is no packet type. (As the reference, the echo of `4before`, still
    // waiting for a GET, is dropped with the session.)
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"4before\x1e9x").text(), "ok");
    server.expect_close_reason(&sid, "parse error");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");

    // Over WebSocket: the same, and the WebSocket closes.
    let (mut ws, sid, _) = ws_open(server.port);
    ws_send(&mut ws, "9");
    ws_expect_closed(&mut ws, TIMEOUT);
    server.expect_close_reason(&sid, "parse error");
    assert_error(&server.http().post(&polling(&sid), b"4x"), 1, "Session ID unknown");
}

// ----- close ----------------------------------------------------------------------------------

// Every way a polling session ends, as the reference's `transports/polling.ts` (`onData`,
// `onClose`, `doClose`, `shouldClose`, `closeTimeout`) and `socket.ts` (`close`, `onClose`) end it.

#[test]
fn client_close_over_polling() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"1").text(), "ok");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");
    server.expect_close_reason(&sid, "transport close");
}

#[test]
fn client_close_with_a_get_held_answers_it_noop() {
    // polling.ts `onClose`: "close pending poll request": the held GET gets a noop `6`, then the
    // session ends ("transport close") and the next GET gets 400.
    let server = EchoServer::start(&[]);
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    poll.send_get(&polling(&sid));
    poll.assert_no_response_within(ms(200));
    let mut post = server.http();
    post.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1\r\n\r\n1",
            polling(&sid)
        )
        .as_bytes(),
    );
    assert_eq!(post.read_response().text(), "ok");
    let held = poll.read_response();
    assert_eq!(held.status, 200, "{held:?}");
    assert_eq!(held.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(held.body, b"6");
    server.expect_close_reason(&sid, "transport close");
    let after = poll.get(&polling(&sid));
    assert_eq!(after.status, 400);
    assert_eq!(after.body, br#"{"code":1,"message":"Session ID unknown"}"#);
}

#[test]
fn server_close_over_polling_sends_the_queue_then_noop_and_close() {
    // socket.ts `close`: the buffer is not empty, so it waits for the GET that drains it; then
    // polling.ts `doClose` finds no GET held ("not writable"): `shouldClose`, and the next GET
    // is answered `6` with `1` appended ("triggering empty send to append close packet").
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"4a\x1e4b\x1e4close-me").text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "4a\x1e4b");
    assert_eq!(http.get(&polling(&sid)).text(), "6\x1e1");
    server.expect_close_reason(&sid, "forced close");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");

    // Nothing queued and no GET held: the next GET gets `6\x1e1` as well.
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), b"4close-me").text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "6\x1e1");
    server.expect_close_reason(&sid, "forced close");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");
}

#[test]
fn server_close_with_a_get_held_answers_it_close() {
    // polling.ts `doClose` on a writable transport (a GET held, nothing queued): `1` at once.
    let server = EchoServer::start(&[]);
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    poll.send_get(&polling(&sid));
    poll.assert_no_response_within(ms(200));
    assert_eq!(server.http().post(&polling(&sid), b"4close-me").text(), "ok");
    assert_eq!(poll.read_response().text(), "1");
    server.expect_close_reason(&sid, "forced close");
    assert_error(&poll.get(&polling(&sid)), 1, "Session ID unknown");
}

#[test]
fn server_close_without_a_get_ends_after_the_close_timeout() {
    // polling.ts `doClose`, not writable: `closeTimeout` (30 s; 300 ms here) ends the session
    // when no GET comes for the close packet.
    let server = EchoServer::start(&["--close-timeout", "300"]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    let asked = Instant::now();
    assert_eq!(http.post(&polling(&sid), b"4close-me").text(), "ok");
    server.expect_close_reason(&sid, "forced close");
    let took = asked.elapsed();
    assert!(took >= ms(250), "closed after {took:?}, before the close timeout");
    assert_error(&http.get(&polling(&sid)), 1, "Session ID unknown");
}

#[test]
fn server_shutdown_discards_the_transports() {
    // `engine.close()` closes every session with `socket.close(true)`: a session with a GET held
    // gets `1` ("writable"), one without is closed at once without waiting for a GET
    // ("transport discarded - closing right away"), a WebSocket gets its close frame.
    let server = EchoServer::start(&[]);
    let mut idle = server.http();
    let (idle_sid, _) = handshake(&mut idle);
    let mut poll = server.http();
    let (held_sid, _) = handshake(&mut poll);
    poll.send_get(&polling(&held_sid));
    poll.assert_no_response_within(ms(200));
    let (mut ws, ws_sid, _) = ws_open(server.port);
    ws_send(&mut ws, "4close-all");
    assert_eq!(poll.read_response().text(), "1");
    ws_expect_closed(&mut ws, TIMEOUT);
    server.expect_close_reason(&idle_sid, "forced close");
    server.expect_close_reason(&held_sid, "forced close");
    server.expect_close_reason(&ws_sid, "forced close");
    assert_error(&idle.get(&polling(&idle_sid)), 1, "Session ID unknown");
}

#[test]
fn client_close_over_websocket() {
    // A `1` over WebSocket is not a close: the reference's socket has no case for it (a client
    // closes a WebSocket with a close frame).
    let server = EchoServer::start(&[]);
    let (mut ws, sid, _) = ws_open(server.port);
    ws_send(&mut ws, "1");
    ws_send(&mut ws, "4still here");
    assert_eq!(ws_text(&mut ws), "4still here");

    // A close frame ends the session (the reference's `ws` ends it once the TCP connection is
    // closed too).
    ws.close(None).unwrap();
    ws_expect_closed(&mut ws, TIMEOUT);
    drop(ws);
    wait_session_gone(server.port, &sid, Duration::from_secs(2));
    server.expect_close_reason(&sid, "transport close");
}

#[test]
fn server_close_over_websocket_sends_the_queue_then_a_close_frame() {
    let server = EchoServer::start(&[]);
    let (mut ws, sid, _) = ws_open(server.port);
    ws_send(&mut ws, "4a");
    ws_send(&mut ws, "4b");
    ws_send(&mut ws, "4close-me");
    assert_eq!(ws_text(&mut ws), "4a");
    assert_eq!(ws_text(&mut ws), "4b");
    ws_expect_closed(&mut ws, TIMEOUT);
    assert_error(&server.http().post(&polling(&sid), b"4x"), 1, "Session ID unknown");
    server.expect_close_reason(&sid, "forced close");
}

#[test]
fn a_dropped_held_get_closes_the_session_at_once() {
    let server = EchoServer::start(&[]); // pingInterval 25 s: the heartbeat cannot be what closes it
    let mut poll = server.http();
    let (sid, _) = handshake(&mut poll);
    poll.send_get(&polling(&sid));
    poll.assert_no_response_within(ms(200));
    poll.shutdown();
    let took = wait_session_gone(server.port, &sid, Duration::from_secs(1));
    assert!(took < Duration::from_secs(1), "{took:?}");
    server.expect_close_reason(&sid, "transport error");
}

#[test]
fn two_held_gets_close_the_session() {
    let server = EchoServer::start(&[]);
    let mut first = server.http();
    let (sid, _) = handshake(&mut first);
    first.send_get(&polling(&sid));
    first.assert_no_response_within(ms(200));
    let mut second = server.http();
    let refused = second.get(&polling(&sid));
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.body, b"");
    // The session closed before the 400 was sent (as in the reference).
    assert_error(&second.post(&polling(&sid), b"6"), 1, "Session ID unknown");
    let answered = first.read_response();
    assert_eq!((answered.status, answered.text()), (200, "1".to_string()));
    server.expect_close_reason(&sid, "transport error");
}

#[test]
fn two_overlapping_posts_close_the_session() {
    let server = EchoServer::start(&[]);
    let (sid, _) = handshake(&mut server.http());
    // A POST that announces 10 bytes and sends 5: its body is still being read...
    let mut slow = server.http();
    slow.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 10\r\n\r\n4half",
            polling(&sid)
        )
        .as_bytes(),
    );
    // ... when a second POST comes (a noop, harmless if the first had not started yet).
    // On a loaded machine the slow POST's thread may start reading only after a noop POST has
    // begun: then the slow POST is the one that overlaps, and it is the one refused.
    let deadline = Instant::now() + TIMEOUT;
    let refused = loop {
        let response = server.http().post(&polling(&sid), b"6");
        if response.status == 400 {
            break response;
        }
        assert_eq!(response.text(), "ok", "{response:?}");
        assert!(Instant::now() < deadline, "the second POST never overlapped");
        thread::sleep(ms(20));
    };
    if refused.body != b"" {
        // The session was already closed: the slow POST was the overlapping one.
        assert_error(&refused, 1, "Session ID unknown");
        let slow_answer = slow.read_response();
        assert_eq!((slow_answer.status, slow_answer.body), (400, Vec::new()));
        server.expect_close_reason(&sid, "transport error");
        return;
    }
    // The session closed before the 400 was sent (as in the reference).
    assert_error(&server.http().post(&polling(&sid), b"6"), 1, "Session ID unknown");
}

// ----- limits ---------------------------------------------------------------------------------

#[test]
fn a_head_over_16_kib_is_refused_with_431() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    // Exactly 16 KiB of head and still no end: the server reads it all, then refuses.
    let mut head = format!("GET {PATH}?{POLLING_HANDSHAKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ").into_bytes();
    head.resize(16 * 1024, b'a');
    http.send(&head);
    let response = http.read_response();
    assert_eq!(response.status, 431, "{response:?}");
    assert_eq!(response.reason, "Request Header Fields Too Large");
    http.expect_closed();

    // Just under the limit is fine.
    let mut http = server.http();
    let filler = "a".repeat(15 * 1024);
    let response = http.request("GET", POLLING_HANDSHAKE, &[("X-Filler", &filler)], None);
    assert_eq!(response.status, 200, "{response:?}");
}

#[test]
fn a_post_over_max_payload_gets_413_and_the_session_lives_on() {
    let server = EchoServer::start(&["--max-payload", "1000"]);
    let mut http = server.http();
    let (sid, open) = handshake(&mut http);
    assert!(open.ends_with(r#""maxPayload":1000}"#), "{open}");

    // Exactly maxPayload bytes is accepted.
    let body = format!("4{}", "x".repeat(999));
    assert_eq!(http.post(&polling(&sid), body.as_bytes()).text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), body);

    // One more byte is refused before the body is read (so only the head is sent here).
    let mut big = server.http();
    big.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1001\r\n\r\n",
            polling(&sid)
        )
        .as_bytes(),
    );
    let response = big.read_response();
    assert_eq!(response.status, 413, "{response:?}");
    assert_eq!(response.reason, "Payload Too Large");
    assert_eq!(response.header("Connection"), Some("close"));
    big.expect_closed();

    // The same for a chunked body whose chunks add up past the limit.
    let mut chunked = server.http();
    chunked.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
            polling(&sid)
        )
        .as_bytes(),
    );
    assert_eq!(chunked.read_response().status, 413);
    chunked.expect_closed();

    // The session still works, on a new connection.
    let mut again = server.http();
    assert_eq!(again.post(&polling(&sid), b"4after").text(), "ok");
    assert_eq!(again.get(&polling(&sid)).text(), "4after");
}

#[test]
fn a_websocket_frame_over_max_payload_closes_with_1009() {
    let server = EchoServer::start(&["--max-payload", "1000"]);
    let (mut ws, sid, _) = ws_open(server.port);
    let fits = format!("4{}", "x".repeat(999));
    ws_send(&mut ws, &fits);
    assert_eq!(ws_text(&mut ws), fits);
    ws_send(&mut ws, &format!("4{}", "x".repeat(1000)));
    assert_eq!(ws_expect_closed(&mut ws, TIMEOUT), Some(close_code_too_big()));
    wait_session_gone(server.port, &sid, Duration::from_secs(2));
    server.expect_close_reason(&sid, "transport error");
}

#[test]
fn slow_headers_are_answered_408_within_the_request_timeout() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let started = Instant::now();
    http.send(format!("GET {PATH}?{POLLING_HANDSHAKE} HTTP/1.1\r\nHost: 127.0").as_bytes());
    let response = http.read_response_within(Duration::from_secs(30));
    let took = started.elapsed();
    assert_eq!(response.status, 408, "{response:?}");
    assert_eq!(response.reason, "Request Timeout");
    http.expect_closed();
    // The default request timeout is 10 s.
    assert!(
        took >= Duration::from_secs(8) && took < Duration::from_secs(20),
        "408 after {took:?}"
    );
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_5_s() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    let answered = Instant::now();
    let rest = http.read_until_closed(Duration::from_secs(15));
    let idle = answered.elapsed();
    assert!(rest.is_empty(), "{rest:?}");
    assert!(
        idle >= Duration::from_millis(4500) && idle < Duration::from_secs(10),
        "closed after {idle:?}"
    );
    // Only the connection: the session lives on.
    assert_eq!(server.http().post(&polling(&sid), b"4still").text(), "ok");
}

#[test]
fn a_chunked_post_body_is_decoded() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    http.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
             3\r\n4he\r\n5;ext=1\r\nllo\x1e4\r\nA\r\nworld, too\r\n0\r\n\r\n",
            polling(&sid)
        )
        .as_bytes(),
    );
    let response = http.read_response();
    assert_eq!((response.status, response.text()), (200, "ok".to_string()));
    // Same connection: the chunked body was consumed to its end.
    assert_eq!(http.get(&polling(&sid)).text(), "4hello\x1e4world, too");
}

#[test]
fn a_chunked_body_split_inside_its_crlf_is_read() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    // The `\r` after the chunk's data, and the `\n`, come in two TCP segments.
    http.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n4a\r",
            polling(&sid)
        )
        .as_bytes(),
    );
    thread::sleep(ms(100));
    http.send(b"\n0\r\n\r\n");
    let response = http.read_response();
    assert_eq!((response.status, response.text()), (200, "ok".to_string()));
    assert_eq!(http.get(&polling(&sid)).text(), "4a");
}

#[test]
fn a_second_websocket_for_a_websocket_session_is_closed() {
    let server = EchoServer::start(&[]);
    let (mut first, sid, _) = ws_open(server.port);
    // A WebSocket with the sid of a session that is on a WebSocket already: nothing to upgrade.
    let mut second = ws_connect(server.port, &websocket(&sid));
    ws_expect_closed(&mut second, TIMEOUT);
    // The first one goes on, untouched.
    ws_send(&mut first, "4still mine");
    assert_eq!(ws_text(&mut first), "4still mine");
    assert!(!server.log().contains(&format!("{sid}: close (")), "{}", server.log());
}

#[test]
fn a_post_without_length_gets_411() {
    let server = EchoServer::start(&[]);
    let (sid, _) = handshake(&mut server.http());
    let mut http = server.http();
    http.send(format!("POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", polling(&sid)).as_bytes());
    let response = http.read_response();
    assert_eq!(response.status, 411, "{response:?}");
    assert_eq!(response.reason, "Length Required");
    http.expect_closed();
}

#[test]
fn a_post_with_both_length_and_chunked_gets_400() {
    let server = EchoServer::start(&[]);
    let (sid, _) = handshake(&mut server.http());
    let mut http = server.http();
    http.send(
        format!(
            "POST {PATH}?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            polling(&sid)
        )
        .as_bytes(),
    );
    let response = http.read_response();
    assert_eq!(response.status, 400, "{response:?}");
    http.expect_closed();
    // The session was not touched.
    assert_eq!(server.http().post(&polling(&sid), b"4fine").text(), "ok");
}

// ----- CORS -----------------------------------------------------------------------------------

fn assert_cors(response: &Response) {
    assert_eq!(
        response.header("Access-Control-Allow-Origin"),
        Some("http://example.com"),
        "{response:?}"
    );
    assert_eq!(
        response.header("Access-Control-Allow-Credentials"),
        Some("true"),
        "{response:?}"
    );
}

#[test]
fn cors_headers_when_configured() {
    let server = EchoServer::start(&["--cors-origin", "http://example.com"]);
    let mut http = server.http();
    let origin = [("Origin", "http://example.com")];
    let response = http.request("GET", POLLING_HANDSHAKE, &origin, None);
    assert_eq!(response.status, 200);
    assert_cors(&response);
    let sid = sid_of_open(&response.text());
    let response = http.request("POST", &polling(&sid), &origin, Some(b"4hi"));
    assert_eq!(response.text(), "ok");
    assert_cors(&response);
    let response = http.request("GET", &polling(&sid), &origin, None);
    assert_eq!(response.text(), "4hi");
    assert_cors(&response);
    // Errors carry them too.
    let response = http.request("GET", "EIO=4&transport=foo", &origin, None);
    assert_error(&response, 0, "Transport unknown");
    assert_cors(&response);
    let response = http.request("GET", &polling("unknown"), &origin, None);
    assert_error(&response, 1, "Session ID unknown");
    assert_cors(&response);

    // The preflight.
    let response = http.request(
        "OPTIONS",
        POLLING_HANDSHAKE,
        &[
            ("Origin", "http://example.com"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    );
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(response.reason, "No Content");
    assert_cors(&response);
    assert_eq!(
        response.header("Access-Control-Allow-Methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(response.header("Access-Control-Allow-Headers"), Some("content-type"));
    assert_eq!(response.body, b"");
}

#[test]
fn cors_with_several_origins_answers_the_one_that_asked() {
    let server = EchoServer::start(&["--cors-origin", "http://a.example,http://b.example"]);
    let response = server
        .http()
        .request("GET", POLLING_HANDSHAKE, &[("Origin", "http://b.example")], None);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Access-Control-Allow-Origin"), Some("http://b.example"));
    assert_eq!(response.header_values("Vary"), vec!["Origin"]);
    // Another origin gets no `Access-Control-Allow-Origin` (the browser then refuses the answer).
    let response = server
        .http()
        .request("GET", POLLING_HANDSHAKE, &[("Origin", "http://c.example")], None);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Access-Control-Allow-Origin"), None, "{response:?}");
    assert_eq!(response.header_values("Vary"), vec!["Origin"]);
}

#[test]
fn error_4_forbidden_by_allow_request() {
    let server = EchoServer::start(&["--allowed-origin", "http://good.example"]);
    let response = server
        .http()
        .request("GET", POLLING_HANDSHAKE, &[("Origin", "http://evil.example")], None);
    assert_eq!(response.status, 403, "{response:?}");
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert_eq!(
        response.text(),
        r#"{"code":4,"message":"origin http://evil.example is not allowed"}"#
    );
    // The allowed origin, or none (not a browser), opens a session.
    let response = server
        .http()
        .request("GET", POLLING_HANDSHAKE, &[("Origin", "http://good.example")], None);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.text().starts_with(r#"0{"sid":"#));
    // A WebSocket handshake from the refused origin: the reference's plain 400.
    let mut raw = server.http();
    raw.send(
        format!(
            "GET {PATH}?{WEBSOCKET_HANDSHAKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://evil.example\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        .as_bytes(),
    );
    let message = "origin http://evil.example is not allowed";
    assert_eq!(
        String::from_utf8(raw.read_until_closed(TIMEOUT)).unwrap(),
        format!(
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: {}\r\n\r\n{message}",
            message.len()
        )
    );
    // `allowRequest` looks at handshakes only: a session's later requests are not refused.
    let (sid, _) = handshake(&mut server.http());
    let response = server.http().request(
        "POST",
        &polling(&sid),
        &[("Origin", "http://evil.example")],
        Some(b"4hi"),
    );
    assert_eq!(response.text(), "ok");
}

#[test]
fn no_cors_headers_by_default() {
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let origin = [("Origin", "http://example.com")];
    let handshake_response = http.request("GET", POLLING_HANDSHAKE, &origin, None);
    let sid = sid_of_open(&handshake_response.text());
    let responses = vec![
        handshake_response,
        http.request("POST", &polling(&sid), &origin, Some(b"4hi")),
        http.request("GET", &polling(&sid), &origin, None),
        http.request("GET", "EIO=4&transport=foo", &origin, None),
        http.request(
            "OPTIONS",
            POLLING_HANDSHAKE,
            &[
                ("Origin", "http://example.com"),
                ("Access-Control-Request-Method", "POST"),
            ],
            None,
        ),
    ];
    assert_eq!(responses[2].text(), "4hi");
    // Without CORS an OPTIONS request is just a handshake with the wrong method.
    assert_error(&responses[4], 2, "Bad handshake method");
    for response in &responses {
        assert!(
            response
                .headers
                .iter()
                .all(|(name, _)| !name.to_ascii_lowercase().starts_with("access-control-")),
            "{response:?}"
        );
    }
}

// ----- connection cap -------------------------------------------------------------------------

#[test]
fn connections_over_the_cap_get_503() {
    let server = EchoServer::start(&["--max-connections", "5"]);
    let mut open: Vec<Http> = (0..5)
        .map(|_| {
            let mut http = server.http();
            handshake(&mut http);
            http
        })
        .collect();
    // The sixth is answered at once, without a request, and closed.
    let mut sixth = server.http();
    let response = sixth.read_response();
    assert_eq!(response.status, 503, "{response:?}");
    assert_eq!(response.reason, "Service Unavailable");
    assert_eq!(response.text(), "too many connections");
    assert_eq!(response.header("Connection"), Some("close"));
    sixth.expect_closed();
    // The five are still served.
    for http in &mut open {
        assert_eq!(http.get("EIO=4&transport=foo").status, 400);
    }

    // Once one closes, a new connection is served.
    open.pop().unwrap().shutdown();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut http = server.http();
        match http.try_read_response(ms(100)) {
            Err(ReadEnd::Timeout) => {
                let (sid, _) = handshake(&mut http);
                assert_sid_format(&sid);
                break;
            }
            Ok(response) => assert_eq!(response.status, 503, "{response:?}"),
            Err(ReadEnd::Closed) => {}
        }
        assert!(
            Instant::now() < deadline,
            "no connection served after one of five closed"
        );
        thread::sleep(ms(20));
    }
}
