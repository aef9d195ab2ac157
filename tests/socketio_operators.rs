//! The adapter and the operators on many sockets, in-process: what a client cannot see (the
//! adapter's events and their order, rooms and their sizes, what `fetch_sockets` returns, a
//! broadcast with acks that times out, `volatile` over polling, a wrapping adapter), with raw
//! clients whose every byte is checked.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, unbounded};
use serde_json::json;
use socketio_book::socketio::adapter::{
    Adapter, AdapterEvents, AdapterFactory, BroadcastOptions, ClientAckCallback, ClientCountCallback, MemoryAdapter,
    ServerSideEmitCallback, SocketDetails, TimeoutError,
};
use socketio_book::socketio::packet::Packet;
use socketio_book::socketio::{
    AckError, Arg, EmitError, RemoteSocket, Server, ServerOptions, ServerSideAck, Socket, WeakNamespace,
};
use support::sio_connect as connect;
use support::ws_text as next_text;
use support::{Polling, TIMEOUT as WAIT, Ws, serve, sockets_of, ws_send};

/// `42<id>["ask",...]` -> the ack id.
fn ack_id_of(wire: &str, rest: &str) -> u64 {
    wire.strip_prefix("42")
        .and_then(|tail| tail.strip_suffix(rest))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("expected 42<id>{rest}, got {wire}"))
}

/// A round trip: the next frame must be the answer, so nothing was queued for this client
/// before it.
fn sync(ws: &mut Ws, tag: &str) {
    ws_send(ws, &format!(r#"42["sync","{tag}"]"#));
    assert_eq!(next_text(ws), format!(r#"42["synced","{tag}"]"#));
}

/// A round trip on `/`: the client sends `sync`, the server answers `synced`; what the server
/// queued for this client before is read first.
fn on_sync(socket: &Socket) {
    socket.on("sync", |socket, args, _ack| {
        socket.emit("synced", args).unwrap();
    });
}

/// `n` WebSocket clients on `/`, each with its `Socket` (which answers `sync`).
fn clients(io: &Server, port: u16, n: usize) -> Vec<(Ws, Socket)> {
    let sockets = sockets_of(io);
    let mut all = Vec::new();
    for _ in 0..n {
        let (ws, id) = connect(port);
        let socket = sockets.recv_timeout(WAIT).unwrap();
        assert_eq!(socket.id(), id);
        on_sync(&socket);
        all.push((ws, socket));
    }
    all
}

fn sorted(set: HashSet<String>) -> Vec<String> {
    let mut list: Vec<String> = set.into_iter().collect();
    list.sort();
    list
}

#[test]
fn adapter_events_come_in_the_reference_order_with_no_lock_held() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let nsp = io.of("/");
    let (sender, events) = unbounded::<String>();
    // Each listener reads the adapter again: with a lock of the adapter held, it would deadlock.
    let adapter = Arc::clone(nsp.adapter());
    let record = |name: &'static str, sender: &Sender<String>| {
        let (sender, adapter) = (sender.clone(), Arc::clone(&adapter));
        move |room: &str, id: &str| {
            sender
                .send(format!("{name} {room} {id} size={}", adapter.room_size(room)))
                .unwrap()
        }
    };
    let create = record("create-room", &sender);
    nsp.adapter().events().on_create_room(move |room| create(room, "-"));
    let delete = record("delete-room", &sender);
    nsp.adapter().events().on_delete_room(move |room| delete(room, "-"));
    nsp.adapter().events().on_join_room(record("join-room", &sender));
    nsp.adapter().events().on_leave_room(record("leave-room", &sender));
    io.on_connection(|socket| {
        socket.on("join", |socket, _args, _ack| socket.join("r"));
        socket.on("leave", |socket, _args, _ack| socket.leave("r"));
    });
    let port = serve(&io);

    // Each listener runs once the call that changed the rooms is done: it sees the change made.
    let (mut a, id_a) = connect(port);
    ws_send(&mut a, r#"42["join"]"#);
    for expected in [
        format!("create-room {id_a} - size=1"),
        format!("join-room {id_a} {id_a} size=1"),
        "create-room r - size=1".to_string(),
        format!("join-room r {id_a} size=1"),
    ] {
        assert_eq!(events.recv_timeout(WAIT).unwrap(), expected);
    }
    let (mut b, id_b) = connect(port);
    ws_send(&mut b, r#"42["join"]"#);
    for expected in [
        format!("create-room {id_b} - size=1"),
        format!("join-room {id_b} {id_b} size=1"),
        format!("join-room r {id_b} size=2"),
    ] {
        assert_eq!(events.recv_timeout(WAIT).unwrap(), expected);
    }
    ws_send(&mut a, r#"42["leave"]"#);
    assert_eq!(
        events.recv_timeout(WAIT).unwrap(),
        format!("leave-room r {id_a} size=1")
    );
    drop(b); // b's rooms in the order it joined them: its own, then r
    for expected in [
        format!("leave-room {id_b} {id_b} size=0"),
        format!("delete-room {id_b} - size=0"),
        format!("leave-room r {id_b} size=0"),
        "delete-room r - size=0".to_string(),
    ] {
        assert_eq!(events.recv_timeout(WAIT).unwrap(), expected);
    }
    assert!(events.recv_timeout(Duration::from_millis(100)).is_err());
    drop(a);
}

#[test]
fn rooms_and_their_sizes() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 3);
    let nsp = io.of("/");
    all[0].1.join("r");
    all[1].1.join("r");
    all[1].1.join("s");
    let ids: Vec<String> = all.iter().map(|(_, socket)| socket.id().to_string()).collect();

    assert_eq!(nsp.adapter().room_size("r"), 2);
    assert_eq!(all[0].1.adapter().room_size("r"), 2); // the book's socket.adapter.rooms.get(room)?.size
    assert_eq!(nsp.adapter().room_size("s"), 1);
    assert_eq!(nsp.adapter().room_size(&ids[2]), 1);
    assert_eq!(nsp.adapter().room_size("nowhere"), 0);
    let rooms = nsp.adapter().rooms();
    let mut names: Vec<&String> = rooms.keys().collect();
    names.sort();
    let mut expected: Vec<&String> = ids.iter().collect();
    let (r, s) = ("r".to_string(), "s".to_string());
    expected.push(&r);
    expected.push(&s);
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(sorted(rooms["r"].clone()), {
        let mut two = vec![ids[0].clone(), ids[1].clone()];
        two.sort();
        two
    });
    assert_eq!(sorted(all[1].1.rooms()), {
        let mut three = vec![ids[1].clone(), "r".to_string(), "s".to_string()];
        three.sort();
        three
    });
    assert_eq!(
        sorted(nsp.adapter().sockets(&["r".to_string()])),
        sorted(rooms["r"].clone())
    );

    // A disconnect empties its rooms; an empty room is gone.
    let (ws, socket) = all.remove(1);
    drop(ws);
    let deadline = Instant::now() + WAIT;
    while socket.connected() {
        assert!(Instant::now() < deadline, "the socket did not disconnect");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(nsp.adapter().room_size("r"), 1);
    assert_eq!(nsp.adapter().room_size("s"), 0);
    assert!(!nsp.adapter().rooms().contains_key("s"));
    assert_eq!(nsp.adapter().socket_rooms(socket.id()), None);
    assert!(socket.rooms().is_empty());
}

#[test]
fn fetch_sockets_gives_id_handshake_rooms_and_data_and_acts_on_them() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 2);
    let (first, second) = (all[0].1.clone(), all[1].1.clone());
    first.set_data(json!({"name": "first", "n": [1, 2]}));
    first.join("r");
    assert_eq!(second.data(), json!({}));

    let mut everyone: Vec<String> = io.fetch_sockets().unwrap().iter().map(|s| s.id().to_string()).collect();
    everyone.sort();
    let mut ids = vec![first.id().to_string(), second.id().to_string()];
    ids.sort();
    assert_eq!(everyone, ids);

    let found = io.in_("r").fetch_sockets().unwrap();
    assert_eq!(found.len(), 1);
    let handle = &found[0];
    assert_eq!(handle.id(), first.id());
    assert_eq!(handle.data(), json!({"name": "first", "n": [1, 2]}));
    assert_eq!(sorted(handle.rooms()), {
        let mut rooms = vec![first.id().to_string(), "r".to_string()];
        rooms.sort();
        rooms
    });
    assert_eq!(handle.handshake().url, "/socket.io/?EIO=4&transport=websocket");
    assert_eq!(handle.handshake().issued, first.handshake().issued);
    assert!(handle.local_socket().is_some());

    // What a cluster adapter sends another server, and reads back.
    let details = handle.details();
    let wire = details.to_json();
    assert_eq!(wire["id"], json!(first.id()));
    assert_eq!(wire["data"], json!({"name": "first", "n": [1, 2]}));
    assert_eq!(wire["handshake"]["address"], json!("127.0.0.1"));
    assert_eq!(wire["handshake"]["issued"], json!(first.handshake().issued));
    assert_eq!(wire["handshake"]["query"]["transport"], json!("websocket"));
    let back = SocketDetails::from_json(&wire).unwrap();
    assert_eq!(
        (back.id.as_str(), &back.rooms, &back.data),
        (first.id(), &details.rooms, &details.data)
    );
    assert_eq!(back.handshake.url, details.handshake.url);
    assert_eq!(back.handshake.time, details.handshake.time);
    assert_eq!(back.handshake.address.ip(), details.handshake.address.ip());
    assert_eq!(back.handshake.query, details.handshake.query);
    assert!(SocketDetails::from_json(&json!({"rooms": []})).is_none());

    // The handle acts on the socket.
    handle.emit("hi", vec![Arg::Json(json!(1))]).unwrap();
    assert_eq!(next_text(&mut all[0].0), r#"42["hi",1]"#);
    handle.join("x");
    assert_eq!(io.of("/").adapter().room_size("x"), 1);
    // its rooms are those it was in when found (NOTES.md section 6); the socket's own are live
    assert_eq!(handle.sorted_rooms(), sorted(handle.rooms()));
    assert!(!handle.rooms().contains("x"));
    assert!(first.rooms().contains("x"));
    handle.leave("x");
    assert_eq!(io.of("/").adapter().room_size("x"), 0);
    handle.disconnect(false);
    assert_eq!(next_text(&mut all[0].0), "41");
    assert!(!first.connected());

    // Nobody matches: at once, empty.
    assert!(io.in_("nowhere").fetch_sockets().unwrap().is_empty());
    assert!(io.except(second.id()).fetch_sockets().unwrap().is_empty());
    drop(all);
}

#[test]
fn operators_on_an_unknown_room_do_nothing() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 2);
    io.in_("nowhere").sockets_join(&["x"]);
    io.in_("nowhere").sockets_leave(&["x"]);
    io.in_("nowhere").disconnect_sockets(true);
    io.to("nowhere").emit("lost", vec![]).unwrap();
    assert_eq!(io.of("/").adapter().room_size("x"), 0);
    for (ws, socket) in &mut all {
        assert!(socket.connected());
        sync(ws, "still here");
    }

    // And the same operators on a room that has members.
    all[0].1.join("r");
    io.in_("r").sockets_join(&["x", "y"]);
    assert_eq!(sorted(all[0].1.rooms()), {
        let mut rooms = vec![all[0].1.id().to_string(), "r".into(), "x".into(), "y".into()];
        rooms.sort();
        rooms
    });
    io.sockets_leave(&["x"]);
    assert_eq!(io.of("/").adapter().room_size("x"), 0);
    assert_eq!(io.of("/").adapter().room_size("y"), 1);
    io.in_("y").disconnect_sockets(false);
    assert_eq!(next_text(&mut all[0].0), "41");
    assert!(all[1].1.connected());
}

#[test]
fn broadcast_with_ack_collects_every_answer() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 3);
    all[0].1.join("asked");
    all[1].1.join("asked");
    let (done, result) = unbounded();
    io.to("asked")
        .timeout(Duration::from_secs(5))
        .emit_with_ack("ask", vec![Arg::Json(json!(1))], move |err, responses| {
            done.send((err, responses)).unwrap()
        })
        .unwrap();
    // One id for both; the third client is not asked.
    let id = ack_id_of(&next_text(&mut all[0].0), r#"["ask",1]"#);
    assert_eq!(next_text(&mut all[1].0), format!(r#"42{id}["ask",1]"#));
    sync(&mut all[2].0, "not asked");
    ws_send(&mut all[0].0, &format!(r#"43{id}["a","ignored"]"#));
    assert!(
        result.recv_timeout(Duration::from_millis(50)).is_err(),
        "one answer is not all"
    );
    ws_send(&mut all[1].0, &format!(r#"43{id}[]"#));
    let (err, mut responses) = result.recv_timeout(WAIT).unwrap();
    assert_eq!(err, None);
    responses.sort_by_key(|arg| format!("{arg:?}"));
    assert_eq!(responses, vec![Arg::Json(json!(null)), Arg::Json(json!("a"))]);

    // From a socket, with its flags: the others only.
    let (done, result) = unbounded();
    all[0]
        .1
        .timeout(Duration::from_secs(5))
        .broadcast()
        .emit_with_ack("ask", vec![], move |err, responses| {
            done.send((err, responses)).unwrap()
        })
        .unwrap();
    for client in [1, 2] {
        let id = ack_id_of(&next_text(&mut all[client].0), r#"["ask"]"#);
        ws_send(&mut all[client].0, &format!(r#"43{id}[{client}]"#));
    }
    sync(&mut all[0].0, "not asked");
    let (err, mut responses) = result.recv_timeout(WAIT).unwrap();
    assert_eq!(err, None);
    responses.sort_by_key(|arg| format!("{arg:?}"));
    assert_eq!(responses, vec![Arg::Json(json!(1)), Arg::Json(json!(2))]);
}

#[test]
fn broadcast_with_ack_times_out_with_the_answers_that_came() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 2);
    let (done, result) = unbounded();
    let started = Instant::now();
    io.timeout(Duration::from_millis(300))
        .emit_with_ack("ask", vec![], move |err, responses| {
            done.send((err, responses)).unwrap()
        })
        .unwrap();
    let id = ack_id_of(&next_text(&mut all[0].0), r#"["ask"]"#);
    assert_eq!(next_text(&mut all[1].0), format!(r#"42{id}["ask"]"#));
    ws_send(&mut all[0].0, &format!(r#"43{id}["here"]"#)); // the second client never answers
    let (err, responses) = result.recv_timeout(WAIT).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let err = err.expect("a timeout error");
    assert_eq!(err.to_string(), "operation has timed out");
    assert_eq!(err, TimeoutError::operation_timed_out());
    assert_eq!(responses, vec![Arg::Json(json!("here"))]);
    // A late answer changes nothing.
    ws_send(&mut all[1].0, &format!(r#"43{id}["late"]"#));
    assert!(result.recv_timeout(Duration::from_millis(100)).is_err());
}

#[test]
fn to_nobody_completes_at_once() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let (done, result) = unbounded();
    io.to("nowhere")
        .timeout(Duration::from_secs(60))
        .emit_with_ack("ask", vec![], move |err, responses| {
            done.send((err, responses)).unwrap()
        })
        .unwrap();
    // Before `emit_with_ack` returned.
    assert_eq!(result.try_recv().unwrap(), (None, vec![]));
    assert!(io.fetch_sockets().unwrap().is_empty());
    assert_eq!(
        io.timeout(Duration::from_secs(1))
            .emit_with_ack("connect", vec![], |_, _| {}),
        Err(EmitError::ReservedEvent("connect".to_string()))
    );
}

#[test]
fn socket_timeout_emit_with_ack_is_the_js_form() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 1);
    let (ws, socket) = &mut all[0];
    let (done, result) = unbounded();
    let answered = done.clone();
    socket
        .timeout(Duration::from_secs(5))
        .emit_with_ack("ask", vec!["q".into()], move |answer| answered.send(answer).unwrap())
        .unwrap();
    let id = ack_id_of(&next_text(ws), r#"["ask","q"]"#);
    ws_send(ws, &format!(r#"43{id}["a",2]"#));
    assert_eq!(
        result.recv_timeout(WAIT).unwrap(),
        Ok(vec!["a".into(), Arg::Json(json!(2))])
    );
    socket
        .timeout(Duration::from_millis(100))
        .emit_with_ack("ask", vec![], move |answer| done.send(answer).unwrap())
        .unwrap();
    let _ = next_text(ws);
    assert_eq!(result.recv_timeout(WAIT).unwrap(), Err(AckError::Timeout));
    assert_eq!(AckError::Timeout.to_string(), "operation has timed out");
}

#[test]
fn a_panicking_ack_callback_is_logged_and_the_server_lives_on() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 1);
    let (ws, socket) = &mut all[0];
    // On the client's reader thread (the answer completes it).
    io.timeout(Duration::from_secs(5))
        .emit_with_ack("ask", vec![], |_, _| panic!("a broadcast ack callback panics"))
        .unwrap();
    let id = ack_id_of(&next_text(ws), r#"["ask"]"#);
    ws_send(ws, &format!("43{id}[]"));
    ws_send(ws, r#"42["sync","after the answer"]"#);
    assert_eq!(next_text(ws), r#"42["synced","after the answer"]"#);
    // On `timers` (the timeout completes it): the timers thread goes on.
    socket
        .emit_with_ack("ask", vec![], Duration::from_millis(50), |_| {
            panic!("an ack callback panics")
        })
        .unwrap();
    let _ = next_text(ws);
    io.timeout(Duration::from_millis(100))
        .emit_with_ack("ask", vec![], |_, _| panic!("a timed-out broadcast callback panics"))
        .unwrap();
    let _ = next_text(ws);
    let (done, result) = unbounded();
    socket
        .emit_with_ack("ask", vec![], Duration::from_millis(300), move |answer| {
            done.send(answer).unwrap()
        })
        .unwrap();
    let _ = next_text(ws);
    assert_eq!(result.recv_timeout(WAIT).unwrap(), Err(AckError::Timeout));
    assert!(socket.connected());
}

#[test]
fn server_side_emit_with_one_server() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let nsp = io.of("/custom");
    // Nobody else to tell: a warning, and the ack at once with no responses.
    nsp.server_side_emit("hello", vec!["x".into()]).unwrap();
    let (done, result) = unbounded();
    nsp.server_side_emit_with_ack("ping", vec![], move |err, responses| {
        done.send((err, responses)).unwrap()
    })
    .unwrap();
    assert_eq!(result.try_recv().unwrap(), (None, vec![]));
    assert_eq!(
        nsp.server_side_emit("connection", vec![]),
        Err(EmitError::ReservedEvent("connection".to_string()))
    );

    // What a cluster adapter calls when another server's `serverSideEmit` arrives.
    let (heard, hello) = unbounded();
    nsp.on("hello", move |args, ack| heard.send((args, ack.is_some())).unwrap());
    nsp.on("ping", |args, ack| {
        if let Some(ack) = ack {
            ack.send(Arg::Json(json!(format!("pong {}", args.len()))));
        }
    });
    nsp.on("boom", |_args, _ack| panic!("a server-side listener panics"));
    nsp.on_server_side_emit("hello", vec!["x".into()], None);
    assert_eq!(hello.try_recv().unwrap(), (vec![Arg::from("x")], false));
    let (answer, answered) = unbounded();
    nsp.on_server_side_emit(
        "ping",
        vec![Arg::Json(json!(1)), Arg::Json(json!(2))],
        Some(ServerSideAck::new(move |response| answer.send(response).unwrap())),
    );
    assert_eq!(answered.try_recv().unwrap(), Arg::Json(json!("pong 2")));
    nsp.on_server_side_emit("boom", vec![], None); // logged, returns
    nsp.on_server_side_emit("nobody-listens", vec![], None);
    nsp.on_server_side_emit("hello", vec!["again".into()], None);
    assert_eq!(hello.try_recv().unwrap(), (vec![Arg::from("again")], false));
}

#[test]
fn volatile_over_polling_is_dropped_unless_a_get_is_held() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (mut session, id) = Polling::connect(port);
    let socket = sockets.recv_timeout(WAIT).unwrap();
    assert_eq!(socket.id(), id);

    // No GET held: not writable, the volatile packets are dropped, the others wait.
    assert!(!socket.conn().writable());
    socket.volatile().emit("v1", vec![]).unwrap();
    socket.emit("n1", vec![]).unwrap();
    socket.volatile().emit("v2", vec![]).unwrap();
    io.volatile().emit("v3", vec![]).unwrap();
    assert_eq!(session.get(), vec![r#"42["n1"]"#]);

    // A GET held: the first volatile packet goes; once it is queued the transport is taken
    // (the reference's `writable = false`), and the next one is dropped.
    session.get.send_get(&support::polling(&session.sid));
    let deadline = Instant::now() + WAIT;
    while !socket.conn().writable() {
        assert!(Instant::now() < deadline, "the GET was never held");
        std::thread::sleep(Duration::from_millis(1));
    }
    socket.volatile().emit("v4", vec![]).unwrap();
    socket.volatile().emit("v5", vec![]).unwrap();
    socket.emit("n2", vec![]).unwrap();
    let mut got = support::packets(&session.get.read_response().text());
    if got.len() < 2 {
        got.extend(session.get());
    }
    assert_eq!(got, vec![r#"42["v4"]"#, r#"42["n2"]"#]);
}

#[test]
fn volatile_broadcast_reaches_the_writable_clients_only() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (mut session, _) = Polling::connect(port);
    let polled = sockets.recv_timeout(WAIT).unwrap();
    let (mut ws, _) = connect(port);
    let websocket = sockets.recv_timeout(WAIT).unwrap();
    assert!(!polled.conn().writable());
    // The WebSocket is writable once the thread that wrote `40` has given up the writing role.
    let deadline = Instant::now() + WAIT;
    while !websocket.conn().writable() {
        assert!(Instant::now() < deadline, "the WebSocket never became writable");
        std::thread::sleep(Duration::from_millis(1));
    }
    io.volatile().emit("v", vec![Arg::Json(json!(1))]).unwrap();
    io.compress(false).emit("c", vec![]).unwrap();
    assert_eq!(next_text(&mut ws), r#"42["v",1]"#);
    assert_eq!(next_text(&mut ws), r#"42["c"]"#);
    assert_eq!(session.get(), vec![r#"42["c"]"#]);
}

/// A second adapter that wraps the in-memory one, as a Redis adapter does: it records each call,
/// then hands it to the wrapped adapter.
struct Recording {
    local: MemoryAdapter,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Recording {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

impl Adapter for Recording {
    fn init(&self) {
        self.record(format!("init {}", self.local.nsp().name()));
    }
    fn close(&self) {
        self.record("close".to_string());
    }
    /// As a cluster of two, whose other server has none of these sockets.
    fn server_count(&self) -> usize {
        2
    }
    fn add_all(&self, id: &str, rooms: &[String]) {
        if rooms.iter().all(|room| room != id) {
            self.record(format!("add_all {rooms:?}"));
        }
        self.local.add_all(id, rooms)
    }
    fn del(&self, id: &str, room: &str) {
        self.record(format!("del {room}"));
        self.local.del(id, room)
    }
    fn del_all(&self, id: &str) {
        self.local.del_all(id)
    }
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.record(format!("broadcast {:?} local={}", opts.rooms, opts.flags.local));
        self.local.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        self.record(format!("broadcast_with_ack {:?}", opts.flags.timeout));
        // As a cluster: another server says it asked nobody.
        client_count(0);
        self.local.broadcast_with_ack(packet, opts, client_count, ack)
    }
    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        self.local.sockets(rooms)
    }
    fn socket_rooms(&self, id: &str) -> Option<HashSet<String>> {
        self.local.socket_rooms(id)
    }
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError> {
        self.record(format!("fetch_sockets {:?}", opts.rooms));
        self.local.fetch_sockets(opts)
    }
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.record(format!("add_sockets {:?} {rooms:?}", opts.rooms));
        self.local.add_sockets(opts, rooms)
    }
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.record(format!("del_sockets {:?} {rooms:?}", opts.rooms));
        self.local.del_sockets(opts, rooms)
    }
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.record(format!("disconnect_sockets {:?} {close}", opts.rooms));
        self.local.disconnect_sockets(opts, close)
    }
    fn server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideEmitCallback>) {
        self.record(format!("server_side_emit {event}"));
        // As a cluster with one other server that answers at once.
        if let (Some(ack), Some(nsp)) = (ack, self.local.nsp().upgrade()) {
            let (sender, answers) = unbounded();
            nsp.on_server_side_emit(
                event,
                args,
                Some(ServerSideAck::new(move |arg| sender.send(arg).unwrap())),
            );
            ack(None, answers.try_iter().collect());
        }
    }
    fn rooms(&self) -> HashMap<String, HashSet<String>> {
        self.local.rooms()
    }
    fn room_size(&self, room: &str) -> usize {
        self.local.room_size(room)
    }
    fn events(&self) -> &AdapterEvents {
        self.local.events()
    }
}

#[test]
fn a_wrapping_adapter_sees_every_operator() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&calls);
    let options = ServerOptions {
        adapter: AdapterFactory::new(move |nsp: WeakNamespace| {
            assert!(nsp.upgrade().is_none(), "the namespace is still being made");
            Arc::new(Recording {
                local: MemoryAdapter::new(nsp),
                calls: Arc::clone(&recorded),
            })
        }),
        ..ServerOptions::default()
    };
    let io = Server::new(options).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 1);
    let (ws, socket) = &mut all[0];
    let take = |calls: &Arc<Mutex<Vec<String>>>| std::mem::take(&mut *calls.lock().unwrap());
    assert_eq!(take(&calls), vec!["init /"]);

    socket.join("r");
    io.to("r").emit("hi", vec![]).unwrap();
    assert_eq!(next_text(ws), r#"42["hi"]"#);
    io.local().emit("local", vec![]).unwrap();
    assert_eq!(next_text(ws), r#"42["local"]"#);
    let found = io.in_("r").fetch_sockets().unwrap();
    assert_eq!(found.len(), 1);
    io.in_("r").sockets_join(&["x"]);
    io.sockets_leave(&["x"]);
    assert_eq!(
        take(&calls),
        vec![
            r#"add_all ["r"]"#,
            r#"broadcast ["r"] local=false"#,
            "broadcast [] local=true",
            r#"fetch_sockets ["r"]"#,
            r#"add_sockets ["r"] ["x"]"#,
            r#"add_all ["x"]"#,
            r#"del_sockets [] ["x"]"#,
            "del x",
        ]
    );

    // Counted with the other "server"'s zero: complete once this client answered.
    let (done, result) = unbounded();
    io.timeout(Duration::from_secs(5))
        .emit_with_ack("ask", vec![], move |err, responses| {
            done.send((err, responses)).unwrap()
        })
        .unwrap();
    let id = ack_id_of(&next_text(ws), r#"["ask"]"#);
    ws_send(ws, &format!(r#"43{id}["ok"]"#));
    assert_eq!(result.recv_timeout(WAIT).unwrap(), (None, vec![Arg::from("ok")]));

    io.on("ping", |_args, ack| ack.unwrap().send(Arg::from("pong")));
    let (done, result) = unbounded();
    io.server_side_emit_with_ack("ping", vec![], move |err, responses| {
        done.send((err, responses)).unwrap()
    })
    .unwrap();
    assert_eq!(result.try_recv().unwrap(), (None, vec![Arg::from("pong")]));

    // A RemoteSocket of another server acts through the adapter, as a broadcast to its id.
    let remote = RemoteSocket::remote(io.of("/"), found[0].details());
    assert!(remote.local_socket().is_none());
    remote.emit("via-adapter", vec![]).unwrap();
    assert_eq!(next_text(ws), r#"42["via-adapter"]"#);
    remote.disconnect(false);
    assert_eq!(next_text(ws), "41");
    assert_eq!(
        take(&calls),
        vec![
            "broadcast_with_ack Some(5s)".to_string(),
            "server_side_emit ping".to_string(),
            format!(r#"broadcast ["{}"] local=false"#, socket.id()),
            format!(r#"disconnect_sockets ["{}"] false"#, socket.id()),
        ]
    );
    io.close();
    assert_eq!(take(&calls), vec!["close"]);
}

#[test]
fn a_parent_namespace_hands_broadcasts_to_its_children_and_fetches_nobody() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let parent = io.of(regex::Regex::new(r"^/room-\d+$").unwrap());
    let port = serve(&io);
    let mut ws = support::sio_session(port);
    let id = support::sio_join(&mut ws, "/room-1", "");
    let child = io.of("/room-1");
    assert_eq!(child.adapter().room_size(&id), 1);
    parent.emit("hi", vec![]).unwrap();
    assert_eq!(next_text(&mut ws), r#"42/room-1,["hi"]"#);
    // As the reference: the parent has no sockets of its own for anything but a broadcast.
    assert!(parent.fetch_sockets().unwrap().is_empty());
    let (done, result) = unbounded();
    parent
        .timeout(Duration::from_secs(60))
        .emit_with_ack("ask", vec![], move |err, responses| {
            done.send((err, responses)).unwrap()
        })
        .unwrap();
    assert_eq!(result.try_recv().unwrap(), (None, vec![]));
    // The child's own operators reach it.
    assert_eq!(child.fetch_sockets().unwrap().len(), 1);
    child
        .timeout(Duration::from_secs(5))
        .emit_with_ack("ask", vec![], |_, _| {})
        .unwrap();
    let asked = next_text(&mut ws);
    assert!(asked.starts_with("42/room-1,"), "{asked}");
    ack_id_of(&asked.replace("42/room-1,", "42"), r#"["ask"]"#);
}

#[test]
fn several_rooms_add_up_and_a_socket_gets_a_broadcast_once() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let port = serve(&io);
    let mut all = clients(&io, port, 4);
    all[0].1.join("a");
    all[1].1.join("a");
    all[1].1.join("b"); // in both: once
    all[2].1.join("b");
    all[2].1.join("c"); // excepted
    io.to("a").in_("b").except("c").emit("hi", vec![]).unwrap();
    for client in [0, 1] {
        assert_eq!(next_text(&mut all[client].0), r#"42["hi"]"#);
        sync(&mut all[client].0, "once");
    }
    for client in [2, 3] {
        sync(&mut all[client].0, "not reached");
    }
    // From a socket, with flags: the others in the rooms, this one excepted.
    let (first, rest) = all.split_at_mut(1);
    first[0]
        .1
        .compress(false)
        .to("a")
        .to("b")
        .emit("from-first", vec![])
        .unwrap();
    assert_eq!(next_text(&mut rest[0].0), r#"42["from-first"]"#);
    assert_eq!(next_text(&mut rest[1].0), r#"42["from-first"]"#);
    sync(&mut first[0].0, "not to itself");
    sync(&mut rest[2].0, "not in a or b");
    let options = io.to("a").to("b").to("a").except("c").local().options();
    assert_eq!(options.rooms, vec!["a", "b"]);
    assert_eq!(options.except, vec!["c"]);
    assert!(options.flags.local && !options.flags.volatile);
}
