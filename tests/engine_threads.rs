//! Threads of `examples/engine_echo` (thread per connection, no async): how many a session uses,
//! and that every one of them ends, whichever way its session ends.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::*;

#[test]
fn threads_per_connection_and_session() {
    let server = EchoServer::start(&[]); // heartbeat 25 s: nothing times out during the test
    let pid = server.pid();
    // At rest: the accept loop (main) and the `timers` thread.
    assert_eq!(thread_count(pid), 2);

    // A WebSocket session: its connection thread (the reader), and nothing else: the echo is
    // written by the thread that queued it.
    let mut sockets = Vec::new();
    for _ in 0..10 {
        let (mut ws, _, _) = ws_open(server.port);
        ws_send(&mut ws, "4hi");
        assert_eq!(ws_text(&mut ws), "4hi");
        sockets.push(ws);
    }
    assert_eq!(wait_for_threads(pid, 2 + 10, Duration::from_secs(2)), 12);

    // A held GET: its connection thread only, which waits for the answer itself; an idle
    // keep-alive connection: its own thread.
    let mut polls = Vec::new();
    for _ in 0..10 {
        let mut held = server.http();
        let (sid, _) = handshake(&mut held);
        held.send_get(&polling(&sid));
        let mut idle = server.http();
        assert_eq!(idle.post(&polling(&sid), b"6").text(), "ok");
        polls.push((sid, held, idle));
    }
    assert_eq!(wait_for_threads(pid, 12 + 20, Duration::from_secs(2)), 32);

    // The held GETs are answered; the connections stay, with the same threads.
    for (sid, held, idle) in &mut polls {
        assert_eq!(idle.post(&polling(sid), b"4wake").text(), "ok");
        assert_eq!(held.read_response().text(), "4wake");
    }
    assert_eq!(wait_for_threads(pid, 12 + 20, Duration::from_secs(2)), 32);

    // Everything closes: back to the two threads at rest.
    for mut ws in sockets {
        ws.close(None).unwrap();
        ws_expect_closed(&mut ws, TIMEOUT);
    }
    for (sid, held, idle) in polls {
        held.shutdown();
        let mut idle = idle;
        assert_eq!(idle.post(&polling(&sid), b"1").text(), "ok");
        idle.shutdown();
    }
    assert_eq!(wait_for_threads(pid, 2, Duration::from_secs(5)), 2);
}

/// A client slower to read than the server is to write: the kernel's buffers fill, and a
/// `ws-writer` thread takes over the writing (so that no emitting thread waits for the client)
/// until the client has caught up; then it ends. Nothing is lost or reordered on the way.
#[test]
fn a_slow_reader_gets_a_ws_writer_thread_until_it_catches_up() {
    let server = EchoServer::start(&[]);
    let pid = server.pid();
    assert_eq!(thread_count(pid), 2);
    let (mut ws, _, _) = ws_open(server.port);
    assert_eq!(wait_for_threads(pid, 3, Duration::from_secs(2)), 3);

    // 80 echoes of 500 kB, 40 MB in all: more than the socket buffers on both sides hold.
    let body = "x".repeat(500_000);
    for i in 0..80 {
        ws_send(&mut ws, &format!("4{i:02} {body}"));
    }
    // The reader thread, and now a `ws-writer` blocked on the full buffer.
    assert_eq!(wait_for_threads(pid, 4, Duration::from_secs(5)), 4);

    // The client reads at last: every echo, in order.
    for i in 0..80 {
        let echo = ws_text(&mut ws);
        assert_eq!(&echo[..4], format!("4{i:02} "), "echo {i}");
        assert_eq!(echo.len(), 4 + body.len(), "echo {i}");
    }
    // Caught up: the `ws-writer` has ended; the session goes on with its reader alone.
    assert_eq!(wait_for_threads(pid, 3, Duration::from_secs(5)), 3);
    ws_send(&mut ws, "4still here");
    assert_eq!(ws_text(&mut ws), "4still here");
    assert_eq!(wait_for_threads(pid, 3, Duration::from_secs(1)), 3);

    ws.close(None).unwrap();
    ws_expect_closed(&mut ws, TIMEOUT);
    assert_eq!(wait_for_threads(pid, 2, Duration::from_secs(5)), 2);
}

/// The ways a session is used and ended in the 1,000-session run.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Polling, a message, then `1` over POST.
    PollingClose,
    /// WebSocket, a message, then a close frame (or `close-me`: the server closes).
    WebSocketClose,
    /// Polling upgraded to WebSocket, a message, then `1`.
    Upgraded,
    /// A held GET whose TCP connection is dropped.
    DroppedHeldGet,
    /// A WebSocket whose TCP connection is dropped without a close frame.
    DroppedWebSocket,
    /// A polling session whose client vanishes between requests (ends by ping timeout).
    AbandonedPolling,
    /// A POST whose TCP connection is dropped in the middle of its body.
    DroppedPost,
    /// A probing WebSocket and the polling connection both dropped during the upgrade.
    DroppedProbe,
}

const KINDS: [Kind; 8] = [
    Kind::PollingClose,
    Kind::WebSocketClose,
    Kind::Upgraded,
    Kind::DroppedHeldGet,
    Kind::DroppedWebSocket,
    Kind::AbandonedPolling,
    Kind::DroppedPost,
    Kind::DroppedProbe,
];

/// GETs until `packet` arrives, answering pings.
fn poll_until(http: &mut Http, sid: &str, packet: &str) {
    loop {
        let response = http.get(&polling(sid));
        assert_eq!(response.status, 200, "{response:?}");
        let packets = response.packets();
        if packets.iter().any(|p| p == "2") {
            assert_eq!(http.post(&polling(sid), b"3").text(), "ok");
        }
        if packets.iter().any(|p| p == packet) {
            return;
        }
    }
}

/// Reads the WebSocket until `packet` arrives, answering pings.
fn ws_until(ws: &mut Ws, packet: &str) {
    loop {
        let text = ws_text(ws);
        if text == packet {
            return;
        }
        assert_eq!(text, "2", "waiting for {packet:?}");
        ws_send(ws, "3");
    }
}

/// Reads the WebSocket until it closes; only pings may come before.
fn ws_until_closed(ws: &mut Ws) {
    loop {
        match ws_next(ws, TIMEOUT) {
            WsEvent::Closed(_) => return,
            WsEvent::Text(text) if text == "2" => continue,
            other => panic!("expected the close, got {other:?}"),
        }
    }
}

/// Runs one session of `kind`; returns its sid.
fn run_session(port: u16, kind: Kind, n: usize) -> String {
    match kind {
        Kind::PollingClose => {
            let mut http = Http::connect(port);
            let (sid, _) = handshake(&mut http);
            assert_eq!(http.post(&polling(&sid), b"4hi").text(), "ok");
            poll_until(&mut http, &sid, "4hi");
            assert_eq!(http.post(&polling(&sid), b"1").text(), "ok");
            sid
        }
        Kind::WebSocketClose => {
            let (mut ws, sid, _) = ws_open(port);
            ws_send(&mut ws, "4hi");
            ws_until(&mut ws, "4hi");
            if n.is_multiple_of(2) {
                ws_send(&mut ws, "4close-me");
            } else {
                ws.close(None).unwrap();
            }
            ws_until_closed(&mut ws);
            sid
        }
        Kind::Upgraded => {
            let mut http = Http::connect(port);
            let (sid, _) = handshake(&mut http);
            let mut ws = ws_connect(port, &websocket(&sid));
            ws_send(&mut ws, "2probe");
            assert_eq!(ws_text(&mut ws), "3probe");
            ws_send(&mut ws, "5");
            ws_send(&mut ws, "4hi");
            ws_until(&mut ws, "4hi");
            ws.close(None).unwrap();
            ws_until_closed(&mut ws);
            sid
        }
        Kind::DroppedHeldGet => {
            let mut http = Http::connect(port);
            let (sid, _) = handshake(&mut http);
            http.send_get(&polling(&sid));
            http.shutdown();
            sid
        }
        Kind::DroppedWebSocket => {
            let (mut ws, sid, _) = ws_open(port);
            ws_send(&mut ws, "4hi");
            ws_until(&mut ws, "4hi");
            let _ = ws.get_ref().shutdown(std::net::Shutdown::Both);
            sid
        }
        Kind::AbandonedPolling => {
            let mut http = Http::connect(port);
            let (sid, _) = handshake(&mut http);
            http.shutdown();
            sid
        }
        Kind::DroppedPost => {
            let mut http = Http::connect(port);
            let (sid, _) = handshake(&mut http);
            http.send(
                format!(
                    "POST /engine.io/?{} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n4half",
                    polling(&sid)
                )
                .as_bytes(),
            );
            http.shutdown();
            sid
        }
        Kind::DroppedProbe => {
            let mut http = Http::connect(port);
            let (sid, _) = handshake(&mut http);
            let mut ws = ws_connect(port, &websocket(&sid));
            ws_send(&mut ws, "2probe");
            assert_eq!(ws_text(&mut ws), "3probe");
            let _ = ws.get_ref().shutdown(std::net::Shutdown::Both);
            http.shutdown();
            sid
        }
    }
}

#[test]
fn threads_return_to_the_baseline_after_1000_sessions() {
    const SESSIONS: usize = 1000;
    const WORKERS: usize = 8;
    let started = Instant::now();
    let server = EchoServer::start(&["--ping-interval", "200", "--ping-timeout", "200"]);
    let pid = server.pid();
    let port = server.port;
    let baseline = thread_count(pid);

    // The highest count seen while the sessions run.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(baseline));
    let sampler = {
        let (done, peak) = (Arc::clone(&done), Arc::clone(&peak));
        thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(thread_count(pid), Ordering::SeqCst);
                thread::sleep(Duration::from_millis(5));
            }
        })
    };

    let sids = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let sids = Arc::clone(&sids);
            thread::spawn(move || {
                for n in (worker..SESSIONS).step_by(WORKERS) {
                    let kind = KINDS[n % KINDS.len()];
                    let sid = run_session(port, kind, n);
                    sids.lock().unwrap().push((kind, sid));
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a client worker failed");
    }
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let sids = Arc::try_unwrap(sids).unwrap().into_inner().unwrap();
    assert_eq!(sids.len(), SESSIONS);
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        peak >= baseline + WORKERS,
        "peak {peak} threads, baseline {baseline}: the sessions were not seen"
    );

    let count = wait_for_threads(pid, baseline, Duration::from_secs(30));
    assert_eq!(
        count, baseline,
        "threads did not return to the baseline {baseline} (peak {peak})"
    );

    // And every session is over, including the abandoned ones (ping timeout: 400 ms at most).
    for (_kind, sid) in &sids {
        wait_session_gone(port, sid, Duration::from_secs(2));
    }
    assert_eq!(wait_for_threads(pid, baseline, Duration::from_secs(10)), baseline);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

/// Bad Engine.IO v3, JSONP and compressed input (each closes its session with "parse error")
/// leaves no thread behind: back to the two at rest once the clients have gone. A v3 session
/// held over polling, over WebSocket, and a JSONP one use the same threads as v4 ones.
#[test]
fn v3_and_jsonp_sessions_and_their_garbage_leave_no_thread() {
    let server = EchoServer::start(&["--allow-eio3"]);
    let pid = server.pid();
    assert_eq!(thread_count(pid), 2);
    let plain = "EIO=3&transport=polling";
    let jsonp = "EIO=3&transport=polling&j=0&b64=1";
    let cases: [(&str, &str, &[u8]); 5] = [
        (plain, "text/plain;charset=UTF-8", b"9:4hello"),
        (plain, "text/plain;charset=UTF-8", "2:4\u{1F600}".as_bytes()),
        (plain, "application/octet-stream", &[0, 2, 255, b'4', 0xff]),
        (jsonp, "application/x-www-form-urlencoded", b"d=x%3A4"),
        (plain, "text/plain;charset=UTF-8", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
    ];
    for (handshake_query, content_type, body) in cases {
        let mut http = server.http();
        let open = http.get(handshake_query).text();
        // `117:0{"sid":"X",...` or, JSONP, `___eio[0]("117:0{\"sid\":\"X\",...`.
        let sid: String = open
            .replace('\\', "")
            .split(r#""sid":""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a sid in the open packet")
            .to_string();
        let query = format!("{handshake_query}&sid={sid}");
        let answer = http.request("POST", &query, &[("Content-Type", content_type)], Some(body));
        assert_eq!(answer.text(), "ok");
        server.expect_close_reason(&sid, "parse error");
    }
    // A v3 session with a GET held, and one over WebSocket: 2 + 1 (the held GET's connection
    // thread, which waits for the answer itself) + 1 (the WebSocket's reader).
    let mut held = server.http();
    let open = held.get("EIO=3&transport=polling").text();
    let sid = sid_of_open(open.split_once(':').unwrap().1);
    held.send_get(&format!("EIO=3&transport=polling&sid={sid}"));
    let mut ws = ws_connect(server.port, "EIO=3&transport=websocket");
    ws_text(&mut ws);
    ws_send(&mut ws, "2");
    assert_eq!(ws_text(&mut ws), "3");
    assert_eq!(wait_for_threads(pid, 4, Duration::from_secs(5)), 4);
    ws.close(None).unwrap();
    ws_expect_closed(&mut ws, TIMEOUT);
    drop(ws);
    held.shutdown();
    assert_eq!(wait_for_threads(pid, 2, Duration::from_secs(10)), 2);
}

/// The same with the writes coming from another client's thread (`to-room` on
/// `examples/interop`): each broadcast is written in place by the sender's reader thread until the
/// kernel's buffers are full; the frame the kernel took only in part waits in the writer, a
/// `ws-writer` writes it and the broadcasts queued after it, and ends once the client has caught
/// up. Every frame arrives whole, in order.
#[test]
fn a_slow_reader_of_broadcasts_gets_a_ws_writer_thread_until_it_catches_up() {
    let server = EchoServer::start_interop(&[]);
    let pid = server.pid();
    let base = thread_count(pid);
    let (mut slow, _) = sio_connect(server.port);
    ws_send(&mut slow, r#"420["join","slow"]"#);
    loop {
        let packet = ws_text(&mut slow);
        if packet == "430[]" {
            break;
        }
        assert!(packet.starts_with(r#"42["auth""#), "{packet}");
    }
    let (mut sender, _) = sio_connect(server.port);
    assert_eq!(wait_for_threads(pid, base + 2, Duration::from_secs(2)), base + 2);

    // 80 broadcasts of 500 kB, 40 MB in all: more than the socket buffers on both sides hold.
    let body = "x".repeat(500_000);
    for i in 0..80 {
        ws_send(&mut sender, &format!(r#"42["to-room","slow","{i:02} {body}"]"#));
    }
    // The two readers, and now a `ws-writer` blocked on the slow client's full buffer.
    assert_eq!(wait_for_threads(pid, base + 3, Duration::from_secs(5)), base + 3);

    // The slow client reads at last: every broadcast, whole and in order.
    let mut next = 0;
    while next < 80 {
        let packet = ws_text(&mut slow);
        if packet == "2" {
            ws_send(&mut slow, "3");
            continue;
        }
        let expected_start = format!(r#"42["room-back","{next:02} "#);
        assert!(
            packet.starts_with(&expected_start),
            "broadcast {next}: {}",
            &packet[..40]
        );
        assert_eq!(packet.len(), expected_start.len() + body.len() + 2, "broadcast {next}");
        next += 1;
    }
    // Caught up: the `ws-writer` has ended; the next broadcast is written in place again.
    assert_eq!(wait_for_threads(pid, base + 2, Duration::from_secs(5)), base + 2);
    ws_send(&mut sender, r#"42["to-room","slow","still here"]"#);
    assert_eq!(ws_text(&mut slow), r#"42["room-back","still here"]"#);
    assert_eq!(wait_for_threads(pid, base + 2, Duration::from_secs(1)), base + 2);
}
