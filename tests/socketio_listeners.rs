//! The incoming half of a socket in-process: `disconnecting` before `disconnect` (still in its
//! rooms), catch-all listeners (`on_any`, `prepend_any`, `off_any`, `listeners_any` and the
//! outgoing ones) and `socket.use` middlewares, whose refusal reaches the `error` handlers.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Sender, unbounded};
use serde_json::json;
use socketio_book::socketio::{
    Arg, ConnectionStateRecovery, ListenerId, MiddlewareError, Server, ServerOptions, Socket, SocketError,
};
use support::{Ws, serve, sio_connect, sockets_of, ws_send, ws_text};

const WAIT: Duration = Duration::from_secs(5);

fn sorted(rooms: std::collections::HashSet<String>) -> Vec<String> {
    let mut rooms: Vec<String> = rooms.into_iter().collect();
    rooms.sort();
    rooms
}

/// What a `disconnecting` or `disconnect` handler saw.
#[derive(Debug, PartialEq)]
struct Seen {
    event: &'static str,
    reason: String,
    rooms: Vec<String>,
    connected: bool,
    in_namespace: bool,
}

fn record(sender: &Sender<Seen>, event: &'static str, socket: &Socket, reason: &str) {
    let in_namespace = socket.nsp().sockets().iter().any(|each| each.id() == socket.id());
    sender
        .send(Seen {
            event,
            reason: reason.to_string(),
            rooms: sorted(socket.rooms()),
            connected: socket.connected(),
            in_namespace,
        })
        .unwrap();
}

#[test]
fn disconnecting_runs_before_disconnect_and_still_sees_the_rooms() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let (seen_sender, seen) = unbounded::<Seen>();
    let (heard_sender, heard) = unbounded::<String>();
    io.on_connection(move |socket| {
        socket.join("room");
        let seen = seen_sender.clone();
        let heard = heard_sender.clone();
        socket.on_disconnecting(move |socket, reason| {
            record(&seen, "disconnecting", socket, reason);
            // a broadcast to the socket's room still reaches it (and the others)
            let _ = socket.nsp().to("room").emit("bye", Vec::new());
            // a second close from a handler does nothing
            socket.disconnect(false);
            heard.send("disconnecting done".to_string()).unwrap();
        });
        let seen = seen_sender.clone();
        socket.on_disconnect(move |socket, reason| record(&seen, "disconnect", socket, reason));
    });
    let port = serve(&io);
    let (mut ws, id) = sio_connect(port);
    let (mut other, other_id) = sio_connect(port);
    ws_send(&mut ws, "41");
    assert_eq!(
        seen.recv_timeout(WAIT).unwrap(),
        Seen {
            event: "disconnecting",
            reason: "client namespace disconnect".to_string(),
            rooms: sorted([id.clone(), "room".to_string()].into()),
            connected: true,
            in_namespace: true,
        }
    );
    assert_eq!(heard.recv_timeout(WAIT).unwrap(), "disconnecting done");
    assert_eq!(
        seen.recv_timeout(WAIT).unwrap(),
        Seen {
            event: "disconnect",
            reason: "client namespace disconnect".to_string(),
            rooms: Vec::new(),
            connected: false,
            in_namespace: false,
        }
    );
    assert!(seen.try_recv().is_err(), "each ran once");
    assert_eq!(ws_text(&mut ws), r#"42["bye"]"#, "sent while still in the room");
    assert_eq!(ws_text(&mut other), r#"42["bye"]"#);
    // the server's own close of the other one: the same order
    drop(other);
    let first = seen.recv_timeout(WAIT).unwrap();
    assert_eq!(
        (first.event, first.reason.as_str()),
        ("disconnecting", "transport close")
    );
    assert_eq!(first.rooms, sorted([other_id, "room".to_string()].into()));
    assert_eq!(seen.recv_timeout(WAIT).unwrap().event, "disconnect");
}

/// A server, one raw client joined to `/`, and the server's socket of that client.
fn one_socket() -> (Server, Ws, Socket) {
    let io = Server::new(ServerOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (ws, _) = sio_connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();
    (io, ws, socket)
}

/// What the log holds so far, leaving it empty.
fn take(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// Records the listeners that ran, by name, and the event's arguments.
fn listener(
    log: &Arc<Mutex<Vec<String>>>,
    name: &'static str,
) -> impl Fn(&Socket, &str, &[Arg]) + Send + Sync + 'static {
    let log = Arc::clone(log);
    move |_socket, event, args| log.lock().unwrap().push(format!("{name} {event} {}", args.len()))
}

#[test]
fn on_any_runs_before_the_handler_in_order_and_off_any_removes_exactly_one() {
    let (_io, mut ws, socket) = one_socket();
    let log = Arc::new(Mutex::new(Vec::new()));
    let a = socket.on_any(listener(&log, "a"));
    let b = socket.on_any(listener(&log, "b"));
    let c = socket.prepend_any(listener(&log, "c"));
    assert_eq!(socket.listeners_any(), [c, a, b]);
    let handled = Arc::clone(&log);
    socket.on("ev", move |socket, args, _ack| {
        handled.lock().unwrap().push(format!("handler ev {}", args.len()));
        socket.emit("done", Vec::new()).unwrap();
    });

    ws_send(&mut ws, r#"42["ev",1,2]"#);
    assert_eq!(ws_text(&mut ws), r#"42["done"]"#);
    assert_eq!(take(&log), ["c ev 2", "a ev 2", "b ev 2", "handler ev 2"]);
    // an event with no handler still reaches them
    ws_send(&mut ws, r#"42["nobody"]"#);
    ws_send(&mut ws, r#"42["ev"]"#);
    assert_eq!(ws_text(&mut ws), r#"42["done"]"#);
    assert_eq!(
        take(&log),
        [
            "c nobody 0",
            "a nobody 0",
            "b nobody 0",
            "c ev 0",
            "a ev 0",
            "b ev 0",
            "handler ev 0"
        ]
    );

    socket.off_any(Some(a));
    assert_eq!(socket.listeners_any(), [c, b]);
    socket.off_any(Some(a)); // an id already removed: nothing
    let outgoing: ListenerId = socket.on_any_outgoing(|_socket, _event, _args| {});
    socket.off_any(Some(outgoing)); // an outgoing listener's id: not among these
    assert_eq!(socket.listeners_any(), [c, b]);
    assert_eq!(socket.listeners_any_outgoing(), [outgoing]);
    ws_send(&mut ws, r#"42["ev"]"#);
    assert_eq!(ws_text(&mut ws), r#"42["done"]"#);
    assert_eq!(take(&log), ["c ev 0", "b ev 0", "handler ev 0"]);

    socket.off_any(None);
    assert!(socket.listeners_any().is_empty());
    ws_send(&mut ws, r#"42["ev"]"#);
    assert_eq!(ws_text(&mut ws), r#"42["done"]"#);
    assert_eq!(take(&log), ["handler ev 0"]);
}

#[test]
fn on_any_outgoing_hears_emits_acked_emits_and_broadcasts_not_acks() {
    let (io, mut ws, socket) = one_socket();
    let log = Arc::new(Mutex::new(Vec::new()));
    let first = socket.on_any_outgoing(listener(&log, "out"));
    let second = socket.prepend_any_outgoing(listener(&log, "before"));
    assert_eq!(socket.listeners_any_outgoing(), [second, first]);
    socket.on("ask", |_socket, args, ack| {
        ack.unwrap().send(args).unwrap();
    });

    socket.emit("one", vec![json!(1).into()]).unwrap();
    assert_eq!(ws_text(&mut ws), r#"42["one",1]"#);
    socket
        .emit_with_ack("two", vec![json!(1).into(), json!(2).into()], WAIT, |_| {})
        .unwrap();
    assert_eq!(ws_text(&mut ws), r#"420["two",1,2]"#);
    io.emit("three", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut ws), r#"42["three"]"#);
    ws_send(&mut ws, r#"425["ask","x"]"#);
    assert_eq!(ws_text(&mut ws), r#"435["x"]"#);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "before one 1",
            "out one 1",
            "before two 2",
            "out two 2",
            "before three 0",
            "out three 0"
        ]
    );

    socket.off_any_outgoing(Some(second));
    socket.emit("four", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut ws), r#"42["four"]"#);
    socket.off_any_outgoing(None);
    assert!(socket.listeners_any_outgoing().is_empty());
    socket.emit("five", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut ws), r#"42["five"]"#);
    assert_eq!(log.lock().unwrap().last().unwrap(), "out four 0");
}

/// The namespace counts its sockets that have outgoing listeners, so that a broadcast skips
/// looking into each socket while none has: that count must follow each socket's first listener
/// and its last, whoever removes it (`off_any_outgoing`, or the socket's close).
#[test]
fn outgoing_listeners_are_heard_whatever_the_other_sockets_added_and_removed() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (mut ws_a, _) = sio_connect(port);
    let a = sockets.recv_timeout(WAIT).unwrap();
    let (ws_b, _) = sio_connect(port);
    let b = sockets.recv_timeout(WAIT).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));

    let first_of_a = a.on_any_outgoing(listener(&log, "a"));
    b.on_any_outgoing(listener(&log, "b"));
    b.prepend_any_outgoing(listener(&log, "b0"));
    a.off_any_outgoing(Some(first_of_a)); // a has none: b still has two
    a.off_any_outgoing(None); // none again: nothing changes
    io.emit("one", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut ws_a), r#"42["one"]"#);
    // the listeners run on the emitting thread, before the write
    assert_eq!(take(&log), ["b0 one 0", "b one 0"]);

    // b's client goes: its listeners are dropped with it, and a's new one is heard
    drop(ws_b);
    let deadline = std::time::Instant::now() + WAIT;
    while b.connected() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!b.connected());
    a.on_any_outgoing(listener(&log, "a"));
    io.emit("two", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut ws_a), r#"42["two"]"#);
    assert_eq!(take(&log), ["a two 0"]);
}

/// What the handlers, the middlewares and the `error` handlers saw, in order.
fn seen_by(log: &Arc<Mutex<Vec<String>>>, entry: String) {
    log.lock().unwrap().push(entry);
}

#[test]
fn a_socket_use_error_reaches_the_error_handlers_and_the_handler_is_not_called() {
    let (_io, mut ws, socket) = one_socket();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (errors_sender, errors) = unbounded::<SocketError>();

    let l = Arc::clone(&log);
    socket.use_middleware(move |_socket, event, args| {
        seen_by(&l, format!("m1 {event}"));
        args.push(Arg::from("added by m1"));
        Ok(())
    });
    let l = Arc::clone(&log);
    socket.use_middleware(move |_socket, event, _args| {
        seen_by(&l, format!("m2 {event}"));
        match event {
            "no" => Err(MiddlewareError {
                message: "not this one".to_string(),
                data: Some(json!({"code": 7})),
            }),
            "bug" => panic!("a bug in a socket middleware"),
            _ => Ok(()),
        }
    });
    let l = Arc::clone(&log);
    socket.use_middleware(move |_socket, event, _args| {
        seen_by(&l, format!("m3 {event}"));
        Ok(())
    });
    let l = Arc::clone(&log);
    socket.on_any(move |_socket, event, _args| seen_by(&l, format!("any {event}")));
    for event in ["yes", "no", "bug"] {
        let l = Arc::clone(&log);
        socket.on(event, move |socket, args, _ack| {
            seen_by(&l, format!("handler {event} {args:?}"));
            socket.emit("handled", Vec::new()).unwrap();
        });
    }
    let l = Arc::clone(&log);
    socket.on_error(move |_socket, error| {
        seen_by(&l, format!("error {error}"));
        errors_sender.send(error.clone()).unwrap();
    });

    ws_send(&mut ws, r#"42["yes",1]"#);
    assert_eq!(ws_text(&mut ws), r#"42["handled"]"#);
    assert_eq!(
        take(&log),
        [
            "any yes",
            "m1 yes",
            "m2 yes",
            "m3 yes",
            r#"handler yes [Json(Number(1)), Json(String("added by m1"))]"#
        ]
    );

    ws_send(&mut ws, r#"42["no",1]"#);
    assert_eq!(
        errors.recv_timeout(WAIT).unwrap(),
        SocketError::Middleware(MiddlewareError {
            message: "not this one".to_string(),
            data: Some(json!({"code": 7})),
        })
    );
    ws_send(&mut ws, r#"42["bug"]"#);
    assert_eq!(
        errors.recv_timeout(WAIT).unwrap(),
        SocketError::Middleware(MiddlewareError::new("middleware panicked"))
    );
    // the socket is still connected: the next event goes through
    ws_send(&mut ws, r#"42["yes"]"#);
    assert_eq!(
        ws_text(&mut ws),
        r#"42["handled"]"#,
        "nothing was sent for `no` and `bug`"
    );
    assert!(socket.connected());
    assert_eq!(
        take(&log),
        [
            "any no",
            "m1 no",
            "m2 no",
            "error not this one",
            "any bug",
            "m1 bug",
            "m2 bug",
            "error middleware panicked",
            "any yes",
            "m1 yes",
            "m2 yes",
            "m3 yes",
            r#"handler yes [Json(String("added by m1"))]"#
        ]
    );
    assert!(errors.try_recv().is_err());
}

/// With connection state recovery a logged event carries its offset as its last argument, and
/// the outgoing listeners hear it there too, as the client gets it (the reference's adapter
/// pushes the offset onto the packet before it calls `notifyOutgoingListeners`; ours writes
/// it into the encoded text and hands it to the listeners apart).
#[test]
fn on_any_outgoing_hears_a_logged_event_s_offset_last() {
    let io = Server::new(ServerOptions {
        connection_state_recovery: Some(ConnectionStateRecovery::default()),
        ..ServerOptions::default()
    })
    .unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (mut ws, _) = sio_connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let heard = Arc::clone(&log);
    socket.on_any_outgoing(move |_socket, event, args| {
        let args: Vec<String> = args
            .iter()
            .map(|arg| match arg {
                Arg::Json(value) => value.to_string(),
                Arg::Binary(bytes) => format!("<{} bytes>", bytes.len()),
            })
            .collect();
        heard.lock().unwrap().push(format!("{event} {}", args.join(",")));
    });

    socket.emit("one", vec![json!(1).into()]).unwrap();
    let one = ws_text(&mut ws);
    let first = one
        .strip_prefix(r#"42["one",1,""#)
        .and_then(|rest| rest.strip_suffix(r#""]"#))
        .unwrap_or_else(|| panic!("no offset last in {one}"))
        .to_string();
    io.emit("two", vec![json!({"a": [1, 2]}).into()]).unwrap();
    let two = ws_text(&mut ws);
    let second = two
        .strip_prefix(r#"42["two",{"a":[1,2]},""#)
        .and_then(|rest| rest.strip_suffix(r#""]"#))
        .unwrap_or_else(|| panic!("no offset last in {two}"))
        .to_string();
    assert_ne!(first, second);
    assert_eq!(
        take(&log),
        [
            format!(r#"one 1,"{first}""#),
            format!(r#"two {{"a":[1,2]}},"{second}""#)
        ]
    );
}
