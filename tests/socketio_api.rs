//! The Rust API of the Socket.IO layer, in-process: what a handler may do with the socket it is
//! given, seen by a raw WebSocket client.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};
use serde_json::json;
use socketio_book::socketio::packet::ParseError;
use socketio_book::socketio::{
    Ack, AckError, Arg, EmitError, Handshake, Namespace, Server, ServerOptions, Socket, SocketError,
};
use support::sio_connect as connect;
use support::{Http, Polling, Ws, WsEvent, polling, serve, sid_of_open, sockets_of, ws_connect_at, ws_next, ws_send};

const WAIT: Duration = Duration::from_secs(5);

fn next_text(ws: &mut Ws) -> String {
    match ws_next(ws, WAIT) {
        WsEvent::Text(text) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// `40/custom,` on a session: joins `/custom`, returns the socket id.
fn join_custom(ws: &mut Ws) -> String {
    ws_send(ws, "40/custom,");
    let connected = next_text(ws);
    connected
        .strip_prefix(r#"40/custom,{"sid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("{connected}"))
        .to_string()
}

/// `/custom` answers `sync` with `synced` (same arguments): a round trip that shows what the
/// server queued for this client before it.
fn serve_sync(io: &Server) {
    io.of("/custom").on_connection(|socket| {
        socket.on("sync", |socket, args, _ack| {
            socket.emit("synced", args).unwrap();
        });
    });
}

/// `42/custom,["sync","<tag>"]`; the very next frame must be its answer.
fn sync_custom(ws: &mut Ws, tag: &str) {
    ws_send(ws, &format!(r#"42/custom,["sync","{tag}"]"#));
    assert_eq!(next_text(ws), format!(r#"42/custom,["synced","{tag}"]"#));
}

/// What the handlers of a socket of `/` saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Error(SocketError),
    Disconnect(String),
}

/// Every `error` and `disconnect` of the sockets of `/`, in the order the handlers ran.
fn record_errors_and_disconnects(io: &Server) -> Receiver<Seen> {
    let (sender, receiver) = unbounded();
    io.on_connection(move |socket| {
        let errors = sender.clone();
        socket.on_error(move |_socket, error| errors.send(Seen::Error(error.clone())).unwrap());
        let disconnects = sender.clone();
        socket.on_disconnect(move |_socket, why| disconnects.send(Seen::Disconnect(why.to_string())).unwrap());
    });
    receiver
}

#[test]
fn a_kept_handle_emits_from_another_thread_and_fails_after_the_disconnect() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let (reasons, reason) = unbounded::<String>();
    let (sockets_sender, sockets) = unbounded::<Socket>();
    let marker = Arc::new(());
    let captured = Arc::clone(&marker);
    io.on_connection(move |socket| {
        sockets_sender.send(socket.clone()).unwrap();
        let reasons = reasons.clone();
        let captured = Arc::clone(&captured);
        // A handler that keeps a handle to its own socket: no cycle must survive the disconnect.
        let myself = socket.clone();
        socket.on("ping-me", move |_socket, _args, _ack| {
            let _ = (&captured, myself.id());
        });
        socket.on_disconnect(move |_socket, why| {
            reasons.send(why.to_string()).unwrap();
        });
    });
    let port = serve(&io);
    let (mut ws, id) = connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();
    assert_eq!(socket.id(), id);

    // Another thread, later: the chapter's timer does exactly this.
    let emitter = socket.clone();
    thread::spawn(move || emitter.emit("later", vec!["x".into(), Arg::Json(json!({"n": 1}))]))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(next_text(&mut ws), r#"42["later","x",{"n":1}]"#);
    // Held here, by the connection handler, and by the socket's "ping-me" handler.
    assert_eq!(Arc::strong_count(&marker), 3);

    drop(ws);
    assert_eq!(reason.recv_timeout(WAIT).unwrap(), "transport close");
    assert!(!socket.connected());
    assert_eq!(socket.emit("later", vec!["y".into()]), Err(EmitError::Disconnected));
    // The handlers are dropped right after the disconnect handlers ran (on the server's thread).
    let deadline = std::time::Instant::now() + WAIT;
    while Arc::strong_count(&marker) != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the socket's handlers were not dropped"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Over one WebSocket the reader thread is the only one that brings this client's packets, so
/// the handlers run one after the other in frame order; what a handler emits comes back in the
/// same order. (Two threads delivering: the test after this one.)
#[test]
fn handlers_run_in_arrival_order_and_may_emit_join_and_broadcast() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    io.on_connection(move |socket| {
        let record = Arc::clone(&record);
        socket.on("n", move |socket, args, _ack| {
            record.lock().unwrap().push(args[0].clone());
            // Inside a handler: emit, join, broadcast to the room (no lock of ours is held).
            socket.join("room");
            socket.emit("echo", args.clone()).unwrap();
            socket.nsp().to("room").emit("room", args).unwrap();
        });
    });
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    for i in 0..100 {
        ws_send(&mut ws, &format!(r#"42["n",{i}]"#));
    }
    for i in 0..100 {
        assert_eq!(next_text(&mut ws), format!(r#"42["echo",{i}]"#));
        assert_eq!(next_text(&mut ws), format!(r#"42["room",{i}]"#));
    }
    let expected: Vec<Arg> = (0..100).map(|i| Arg::Json(json!(i))).collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}

/// Two threads can bring one client's packets: the connection thread of a POST still handing
/// its packets over, and the reader of the WebSocket the session has just upgraded to. (The
/// official client waits for its POST's `ok` before it sends `5`; a raw client need not.) The
/// handlers of one socket must still run one at a time, and each transport's packets in order.
#[test]
fn handlers_never_overlap_while_a_post_and_the_upgraded_websocket_both_deliver() {
    const POSTED: i64 = 100;
    const FRAMES: i64 = 20;
    let io = Server::new(ServerOptions::default()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let overlapped = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(false));
    let (started_sender, started) = unbounded::<()>();
    let (record, flag, busy) = (Arc::clone(&seen), Arc::clone(&overlapped), Arc::clone(&running));
    io.on_connection(move |socket| {
        let (record, flag, busy) = (Arc::clone(&record), Arc::clone(&flag), Arc::clone(&busy));
        let started_sender = started_sender.clone();
        socket.on("n", move |_socket, args, _ack| {
            if busy.swap(true, Ordering::SeqCst) {
                flag.store(true, Ordering::SeqCst);
            }
            let n = match &args[0] {
                Arg::Json(value) => value.as_i64().unwrap(),
                other => panic!("{other:?}"),
            };
            record.lock().unwrap().push(n);
            if n == 0 {
                started_sender.send(()).unwrap();
            }
            // Long enough for the other thread to come in, if it can.
            thread::sleep(Duration::from_millis(2));
            busy.store(false, Ordering::SeqCst);
        });
    });
    let port = serve(&io);
    let (mut session, _) = Polling::connect(port);

    // One POST of 100 events: about 200 ms of handlers on its connection thread.
    let body: Vec<String> = (0..POSTED).map(|n| format!(r#"42["n",{n}]"#)).collect();
    let query = polling(&session.sid);
    session
        .post
        .send_request("POST", &query, &[], Some(body.join("\x1e").as_bytes()));
    started.recv_timeout(WAIT).unwrap();
    // Meanwhile: the upgrade, and 20 events over the WebSocket.
    let mut ws = ws_connect_at(port, "/socket.io/", &support::websocket(&session.sid));
    ws_send(&mut ws, "2probe");
    assert_eq!(next_text(&mut ws), "3probe");
    ws_send(&mut ws, "5");
    for n in 1000..1000 + FRAMES {
        ws_send(&mut ws, &format!(r#"42["n",{n}]"#));
    }
    let response = session.post.read_response();
    assert_eq!((response.status, response.text()), (200, "ok".to_string()));

    let deadline = std::time::Instant::now() + WAIT;
    while seen.lock().unwrap().len() < (POSTED + FRAMES) as usize {
        assert!(std::time::Instant::now() < deadline, "{:?}", seen.lock().unwrap());
        thread::sleep(Duration::from_millis(5));
    }
    let seen = seen.lock().unwrap().clone();
    assert!(
        !overlapped.load(Ordering::SeqCst),
        "two handlers of one socket ran at once: {seen:?}"
    );
    let posted: Vec<i64> = seen.iter().copied().filter(|&n| n < 1000).collect();
    let framed: Vec<i64> = seen.iter().copied().filter(|&n| n >= 1000).collect();
    assert_eq!(posted, (0..POSTED).collect::<Vec<_>>());
    assert_eq!(framed, (1000..1000 + FRAMES).collect::<Vec<_>>());
}

#[test]
fn emit_with_ack_gets_the_answer_or_times_out() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();

    let (answers, answer) = unbounded();
    let first = answers.clone();
    socket
        .emit_with_ack("ask", vec!["q".into()], Duration::from_secs(5), move |result| {
            first.send(result).unwrap()
        })
        .unwrap();
    assert_eq!(next_text(&mut ws), r#"420["ask","q"]"#);
    ws_send(&mut ws, r#"430["a",2]"#);
    assert_eq!(
        answer.recv_timeout(WAIT).unwrap(),
        Ok(vec!["a".into(), Arg::Json(json!(2))])
    );

    socket
        .emit_with_ack("ask", vec![], Duration::from_millis(200), move |result| {
            answers.send(result).unwrap()
        })
        .unwrap();
    assert_eq!(next_text(&mut ws), r#"421["ask"]"#);
    assert_eq!(answer.recv_timeout(WAIT).unwrap(), Err(AckError::Timeout));
    // A late answer is ignored.
    ws_send(&mut ws, r#"431["late"]"#);
    assert!(answer.recv_timeout(Duration::from_millis(200)).is_err());

    assert_eq!(
        socket.emit("disconnect", vec![]),
        Err(EmitError::ReservedEvent("disconnect".to_string()))
    );
}

#[test]
fn io_close_disconnects_every_socket_with_server_shutting_down() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let (reasons, reason) = unbounded::<String>();
    io.on_connection(move |socket| {
        let reasons = reasons.clone();
        socket.on_disconnect(move |_socket, why| reasons.send(why.to_string()).unwrap());
    });
    let port = serve(&io);
    let (mut first, _) = connect(port);
    let (mut second, _) = connect(port);
    io.close();
    assert_eq!(reason.recv_timeout(WAIT).unwrap(), "server shutting down");
    assert_eq!(reason.recv_timeout(WAIT).unwrap(), "server shutting down");
    assert!(matches!(ws_next(&mut first, WAIT), WsEvent::Closed(_)));
    assert!(matches!(ws_next(&mut second, WAIT), WsEvent::Closed(_)));
}

/// What a socket of `/` reports: itself on connection, the `Ack` of each `ask`, and its
/// disconnect reasons.
struct Watched {
    sockets: Receiver<Socket>,
    acks: Receiver<Ack>,
    reasons: Receiver<String>,
}

fn watch(io: &Server) -> Watched {
    let (sockets_sender, sockets) = unbounded();
    let (acks_sender, acks) = unbounded();
    let (reasons_sender, reasons) = unbounded();
    io.on_connection(move |socket| {
        let acks_sender = acks_sender.clone();
        socket.on("ask", move |_socket, _args, ack| {
            acks_sender.send(ack.expect("ask comes with an ack id")).unwrap();
        });
        let reasons_sender = reasons_sender.clone();
        socket.on_disconnect(move |_socket, why| reasons_sender.send(why.to_string()).unwrap());
        sockets_sender.send(socket.clone()).unwrap();
    });
    Watched { sockets, acks, reasons }
}

/// A handle kept after the socket left `/` (the client's `41`) while the session lives on for
/// `/custom`: emit, ack and emit_with_ack fail and put nothing on the wire.
#[test]
fn a_kept_handle_sends_nothing_after_the_client_leaves_the_namespace() {
    let io = Server::new(ServerOptions::default()).unwrap();
    serve_sync(&io);
    let watched = watch(&io);
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    let socket = watched.sockets.recv_timeout(WAIT).unwrap();
    join_custom(&mut ws);
    ws_send(&mut ws, r#"427["ask"]"#);
    let ack = watched.acks.recv_timeout(WAIT).unwrap();
    socket.emit("before", vec!["x".into()]).unwrap();
    assert_eq!(next_text(&mut ws), r#"42["before","x"]"#);

    ws_send(&mut ws, "41");
    assert_eq!(
        watched.reasons.recv_timeout(WAIT).unwrap(),
        "client namespace disconnect"
    );
    assert!(!socket.connected());
    assert_eq!(socket.emit("after", vec!["x".into()]), Err(EmitError::Disconnected));
    assert_eq!(ack.send(vec!["late".into()]), Err(EmitError::Disconnected));
    let (answers, answer) = unbounded();
    assert_eq!(
        socket.emit_with_ack("after", vec![], WAIT, move |result| answers.send(result).unwrap()),
        Err(EmitError::Disconnected)
    );
    // No `42["after",...]`, no `437[...]`: the next frame is the answer to a later sync.
    sync_custom(&mut ws, "after the 41");
    assert!(
        answer.try_recv().is_err(),
        "the callback of a refused emit_with_ack ran"
    );
}

/// The same after the server's `disconnect(false)`: the client gets `41`, then nothing more for
/// `/`.
#[test]
fn a_kept_handle_sends_nothing_after_a_server_namespace_disconnect() {
    let io = Server::new(ServerOptions::default()).unwrap();
    serve_sync(&io);
    let watched = watch(&io);
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    let socket = watched.sockets.recv_timeout(WAIT).unwrap();
    join_custom(&mut ws);
    ws_send(&mut ws, r#"423["ask"]"#);
    let ack = watched.acks.recv_timeout(WAIT).unwrap();

    socket.disconnect(false);
    assert_eq!(next_text(&mut ws), "41");
    assert_eq!(
        watched.reasons.recv_timeout(WAIT).unwrap(),
        "server namespace disconnect"
    );
    assert_eq!(socket.emit("after", vec!["x".into()]), Err(EmitError::Disconnected));
    assert_eq!(ack.send(vec!["late".into()]), Err(EmitError::Disconnected));
    // A second disconnect does nothing: no second `41`.
    socket.disconnect(false);
    sync_custom(&mut ws, "after the 41");
}

/// The malformed packets of `a_malformed_packet_*`, with the error the handler must get.
fn malformed_cases() -> Vec<(&'static str, ParseError)> {
    vec![
        (
            r#"42{"not":"an array"}"#,
            ParseError::InvalidPayload("EVENT payload must be a non-empty array"),
        ),
        // One above Number.MAX_SAFE_INTEGER.
        (r#"429007199254740992["x"]"#, ParseError::InvalidAckId),
    ]
}

/// client.ts `onerror`: the sockets' `error` handlers run with the error, then `conn.close()`;
/// the session closes with engine.io's "forced close" (not "parse error", which is engine.io's
/// reason for a packet that is not Engine.IO), and that is the reason the `disconnect` handlers
/// get. Over WebSocket it happens at once (the close frame follows).
#[test]
fn a_malformed_packet_runs_the_error_handler_then_disconnects_with_forced_close_over_websocket() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let seen = record_errors_and_disconnects(&io);
    let port = serve(&io);
    for (wire, error) in malformed_cases() {
        let (mut ws, _) = connect(port);
        ws_send(&mut ws, wire);
        assert_eq!(
            seen.recv_timeout(WAIT).unwrap(),
            Seen::Error(SocketError::Parse(error)),
            "{wire}"
        );
        assert_eq!(
            seen.recv_timeout(WAIT).unwrap(),
            Seen::Disconnect("forced close".to_string()),
            "{wire}"
        );
        // A close frame without a status code, as the reference's `ws` `close()` sends.
        assert_eq!(ws_next(&mut ws, WAIT), WsEvent::Closed(None), "{wire}");
        assert!(seen.try_recv().is_err(), "{wire}: more handler calls");
    }
}

/// The same over polling: the error handler runs while the POST is handled; the session closes
/// when the next GET carries `6\x1e1` (engine.io's polling `doClose` with no GET held:
/// `shouldClose`), and the `disconnect` handler gets "forced close" then.
#[test]
fn a_malformed_packet_runs_the_error_handler_then_disconnects_with_forced_close_over_polling() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let seen = record_errors_and_disconnects(&io);
    let port = serve(&io);
    for (wire, error) in malformed_cases() {
        let (mut session, _) = Polling::connect(port);
        session.post(wire);
        assert_eq!(
            seen.recv_timeout(WAIT).unwrap(),
            Seen::Error(SocketError::Parse(error)),
            "{wire}"
        );
        assert!(
            seen.recv_timeout(Duration::from_millis(200)).is_err(),
            "{wire}: disconnected before the close went out"
        );
        assert_eq!(session.get(), vec!["6".to_string(), "1".to_string()], "{wire}");
        assert_eq!(
            seen.recv_timeout(WAIT).unwrap(),
            Seen::Disconnect("forced close".to_string()),
            "{wire}"
        );
        let response = session.get.get(&polling(&session.sid));
        assert_eq!(
            (response.status, response.text()),
            (400, r#"{"code":1,"message":"Session ID unknown"}"#.to_string()),
            "{wire}"
        );
    }
}

// ----- disconnect reasons, one by one ------------------------------------------------------
//
// The reasons of the reference's `DisconnectReason` (socket.io lib/socket-types.ts), each where
// socket.io 4.8.4 gives it: socket.ts (`ondisconnect`, `disconnect`), client.ts (`close`,
// `onclose`), engine.io's socket.ts (`onClose`, `closeTransport`). "transport close" (the client
// went away) and "server shutting down" (`io.close()`) are tested above.

/// The reason of each disconnect of a socket of `nsp`, as the handler got it.
fn record_reasons(nsp: &Namespace) -> Receiver<String> {
    let (sender, receiver) = unbounded();
    nsp.on_connection(move |socket| {
        let sender = sender.clone();
        socket.on_disconnect(move |_socket, why| sender.send(why.to_string()).unwrap());
    });
    receiver
}

/// socket.ts `ondisconnect`: the client's `41`. The session stays for `/custom`.
#[test]
fn reason_client_namespace_disconnect() {
    let io = Server::new(ServerOptions::default()).unwrap();
    serve_sync(&io);
    let reasons = record_reasons(&io.of("/"));
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    join_custom(&mut ws);
    ws_send(&mut ws, "41");
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "client namespace disconnect");
    sync_custom(&mut ws, "still connected");
}

/// socket.ts `disconnect(false)`: `41` to the client, this namespace only.
#[test]
fn reason_server_namespace_disconnect() {
    let io = Server::new(ServerOptions::default()).unwrap();
    serve_sync(&io);
    let sockets = sockets_of(&io);
    let (reasons_sender, reasons) = unbounded();
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();
    socket.on_disconnect(move |_socket, why| reasons_sender.send(why.to_string()).unwrap());
    join_custom(&mut ws);
    socket.disconnect(false);
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "server namespace disconnect");
    assert_eq!(next_text(&mut ws), "41");
    sync_custom(&mut ws, "still connected");
}

/// `disconnect(true)` is client.ts `_disconnect`: `socket.disconnect()` (so "server namespace
/// disconnect") for every socket of the client, in the order joined, then `close()`, whose
/// "forced server close" finds no socket left.
#[test]
fn reason_of_disconnect_true_is_server_namespace_disconnect_for_every_socket() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let (reasons_sender, reasons) = unbounded();
    let custom_reasons = record_reasons(&io.of("/custom"));
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();
    socket.on_disconnect(move |_socket, why| reasons_sender.send(why.to_string()).unwrap());
    join_custom(&mut ws);
    socket.disconnect(true);
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "server namespace disconnect");
    assert_eq!(
        custom_reasons.recv_timeout(WAIT).unwrap(),
        "server namespace disconnect"
    );
    assert_eq!(next_text(&mut ws), "41");
    assert_eq!(next_text(&mut ws), "41/custom,");
    assert_eq!(ws_next(&mut ws, WAIT), WsEvent::Closed(None));
    assert!(reasons.try_recv().is_err() && custom_reasons.try_recv().is_err());
}

/// engine.io `checkPingTimeout`: no `3` within pingTimeout of the `2`.
#[test]
fn reason_ping_timeout() {
    let io = Server::new(ServerOptions {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(100),
        ..ServerOptions::default()
    })
    .unwrap();
    let reasons = record_reasons(&io.of("/"));
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    assert_eq!(next_text(&mut ws), "2");
    let pinged = std::time::Instant::now();
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "ping timeout");
    assert!(pinged.elapsed() >= Duration::from_millis(50), "{:?}", pinged.elapsed());
    assert!(matches!(ws_next(&mut ws, WAIT), WsEvent::Closed(_)));
}

/// engine.io: the client's close packet `1` over polling is "transport close" as well.
#[test]
fn reason_transport_close_after_the_close_packet() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let reasons = record_reasons(&io.of("/"));
    let port = serve(&io);
    let (mut session, _) = Polling::connect(port);
    session.post("1");
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "transport close");
}

/// engine.io polling `onPollRequest`: the client of a held GET went away ("poll connection
/// closed prematurely", the transport's error).
#[test]
fn reason_transport_error_when_the_held_get_is_dropped() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let reasons = record_reasons(&io.of("/"));
    let port = serve(&io);
    let (mut session, _) = Polling::connect(port);
    session.get.send_get(&polling(&session.sid));
    session.get.assert_no_response_within(Duration::from_millis(100));
    session.get.shutdown();
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "transport error");
}

/// engine.io socket.ts `onPacket`: a packet that is not Engine.IO (`x`: no such type) is
/// "parse error"; over WebSocket and over polling.
#[test]
fn reason_parse_error() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let reasons = record_reasons(&io.of("/"));
    let port = serve(&io);
    let (mut ws, _) = connect(port);
    ws_send(&mut ws, "x");
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "parse error");

    let (mut session, _) = Polling::connect(port);
    session.post("x");
    assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "parse error");
}

/// client.ts `ondecoded`, "invalid state": a packet for a namespace the client has not joined
/// (or a second CONNECT to one it has) makes it `close()`: `conn.close()`, then
/// `onclose("forced server close")`. Over polling with no GET held the close waits for a GET,
/// so the sockets hear "forced server close", as from the reference.
///
/// Over WebSocket the reference's engine closes at once inside `conn.close()` (its transport is
/// writable, its buffer empty), so socket.io 4.8.4 reports engine.io's "forced close" first; so
/// does ours (`engineio::Socket::close` writes and closes at once, even on the corked reader).
#[test]
fn reason_forced_server_close() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let reasons = record_reasons(&io.of("/"));
    let port = serve(&io);
    for wire in [r#"42/custom,["x"]"#, "40"] {
        let (mut session, _) = Polling::connect(port);
        session.post(wire);
        assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "forced server close", "{wire}");
        assert_eq!(session.get(), vec!["6".to_string(), "1".to_string()], "{wire}");

        let (mut ws, _) = connect(port);
        ws_send(&mut ws, wire);
        assert_eq!(reasons.recv_timeout(WAIT).unwrap(), "forced close", "{wire}");
        assert_eq!(ws_next(&mut ws, WAIT), WsEvent::Closed(None), "{wire}");
    }
}

// ----- the handshake ----------------------------------------------------------------------

/// Milliseconds since 1970, now.
fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// `time` is `new Date() + ""` of the instant `issued`, in UTC:
/// `Wed Nov 25 2026 09:30:05 GMT+0000 (Coordinated Universal Time)`. (The calendar date itself
/// is checked by the unit test of `client.rs`.)
fn assert_time_of(handshake: &Handshake) {
    let words: Vec<&str> = handshake.time.split(' ').collect();
    assert_eq!(words.len(), 9, "{:?}", handshake.time);
    let seconds = handshake.issued / 1000;
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((seconds / 86_400) % 7) as usize];
    let clock = format!(
        "{:02}:{:02}:{:02}",
        (seconds % 86_400) / 3600,
        (seconds % 3600) / 60,
        seconds % 60
    );
    assert_eq!(words[0], weekday, "{:?}", handshake.time);
    assert_eq!(words[4], clock, "{:?}", handshake.time);
    assert_eq!(
        words[5..].join(" "),
        "GMT+0000 (Coordinated Universal Time)",
        "{:?}",
        handshake.time
    );
}

/// socket.ts `buildHandshake`: everything comes from the session's first request (the
/// handshake GET), not from the POST that carried `40`; `auth` from the CONNECT payload.
#[test]
fn the_handshake_holds_the_first_request_and_the_auth_payload() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let (handshakes, handshake) = unbounded::<Handshake>();
    io.on_connection(move |socket| handshakes.send(socket.handshake().clone()).unwrap());
    let port = serve(&io);

    // Polling, from a page of another origin, with a query of its own.
    let before = now_millis();
    let query = "EIO=4&transport=polling&name=J%C3%B6rg+K&t=Pa1";
    let mut get = Http::connect_at(port, "/socket.io/");
    let open = get
        .request(
            "GET",
            query,
            &[("X-Custom", "hello"), ("Origin", "http://example.com")],
            None,
        )
        .text();
    let sid = sid_of_open(&open);
    let mut post = Http::connect_at(port, "/socket.io/");
    let response = post.request(
        "POST",
        &polling(&sid),
        &[("X-Custom", "from the POST")],
        Some(br#"40{"token":"abc","n":1}"#),
    );
    assert_eq!(response.text(), "ok");
    let shook = handshake.recv_timeout(WAIT).unwrap();
    let after = now_millis();

    assert_eq!(shook.url, format!("/socket.io/?{query}"));
    assert_eq!(
        shook.query,
        [("EIO", "4"), ("transport", "polling"), ("name", "Jörg K"), ("t", "Pa1")]
            .map(|(key, value)| (key.to_string(), value.to_string()))
    );
    assert_eq!(
        shook.headers,
        [
            ("host", format!("127.0.0.1:{port}")),
            ("x-custom", "hello".to_string()),
            ("origin", "http://example.com".to_string()),
        ]
        .map(|(key, value)| (key.to_string(), value))
    );
    assert_eq!(shook.header("x-custom"), Some("hello"));
    assert_eq!(shook.header("user-agent"), None);
    assert_eq!(shook.auth.to_string(), r#"{"token":"abc","n":1}"#);
    assert!(
        before <= shook.issued && shook.issued <= after,
        "issued {} not within [{before}, {after}]",
        shook.issued
    );
    assert_time_of(&shook);
    assert!(shook.xdomain);
    assert!(!shook.secure);
    assert_eq!(shook.address, get.stream().local_addr().unwrap());
    assert_ne!(shook.address, post.stream().local_addr().unwrap());

    // WebSocket, same origin (no `Origin` header from this client), CONNECT without a payload.
    let (ws, _) = connect(port);
    let shook = handshake.recv_timeout(WAIT).unwrap();
    assert_eq!(shook.url, "/socket.io/?EIO=4&transport=websocket");
    assert_eq!(
        shook.query,
        [("EIO", "4"), ("transport", "websocket")].map(|(key, value)| (key.to_string(), value.to_string()))
    );
    assert_eq!(shook.header("host"), Some(format!("127.0.0.1:{port}").as_str()));
    assert_eq!(shook.header("upgrade"), Some("websocket"));
    assert_eq!(shook.auth.to_string(), "{}");
    assert!(!shook.xdomain);
    assert!(!shook.secure);
    assert_time_of(&shook);
    assert_eq!(shook.address, ws.get_ref().local_addr().unwrap());
}
