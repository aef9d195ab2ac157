//! Connection state recovery on the wire, against `examples/interop --recover` (a child process)
//! with raw WebSocket clients: the exact packets of a recovery, and what a client that comes
//! with a pid or an offset of its own making gets (the issue's bad input: a new socket, never
//! another client's state).
//!
//! `INTEROP_COMMAND="node tests/node/reference/interop.mjs"` runs them against the reference
//! server, except `the_cap_drops_the_oldest_events_with_a_log_line` (the reference has no cap).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socketio_book::socketio::adapter::Offset;
use support::*;

fn start(args: &[&str]) -> EchoServer {
    EchoServer::start_interop(args)
}

/// A raw WebSocket client of `/socket.io/` (its open packet read).
struct Peer {
    ws: Ws,
    next_ack: u64,
}

impl Peer {
    fn open(server: &EchoServer) -> Peer {
        Peer {
            ws: sio_session(server.port),
            next_ack: 1,
        }
    }

    fn send(&mut self, text: &str) {
        ws_send(&mut self.ws, text);
    }

    fn next(&mut self) -> String {
        ws_text(&mut self.ws)
    }

    /// `40<auth>`; returns the answer's sid and pid (the pid `None` without recovery), having
    /// checked that the answer is exactly `40{"sid":...}` or `40{"sid":...,"pid":...}`, then
    /// the interop server's `auth` event.
    fn connect(&mut self, auth: &str) -> (String, Option<String>) {
        self.send(&format!("40{auth}"));
        let answer = self.next();
        self.after_connect(&answer, auth)
    }

    /// Checks a CONNECT answer and the `auth` event after it.
    fn after_connect(&mut self, answer: &str, auth: &str) -> (String, Option<String>) {
        let object: Value = serde_json::from_str(answer.strip_prefix("40").expect(answer)).expect(answer);
        let sid = object["sid"].as_str().expect(answer).to_string();
        let pid = object.get("pid").map(|pid| pid.as_str().expect(answer).to_string());
        let expected = match &pid {
            Some(pid) => format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#),
            None => format!(r#"40{{"sid":"{sid}"}}"#),
        };
        assert_eq!(answer, expected);
        let auth_event = event(&self.next());
        assert_eq!(auth_event[0], "auth");
        let auth = if auth.is_empty() {
            json!({})
        } else {
            serde_json::from_str(auth).unwrap()
        };
        assert_eq!(auth_event[1], auth);
        (sid, pid)
    }

    /// `42<id>[event, ...args]` and its answer `43<id>[...]`, the events in between skipped.
    fn ask(&mut self, event: &str, args: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let mut all = vec![json!(event)];
        all.extend(args.as_array().cloned().unwrap_or_default());
        self.send(&format!("42{id}{}", Value::Array(all)));
        let prefix = format!("43{id}");
        loop {
            let frame = self.next();
            if let Some(answer) = frame.strip_prefix(&prefix) {
                return serde_json::from_str(answer).unwrap();
            }
        }
    }

    /// `fetch-sockets` of one socket: `[{id, rooms, data}]`, or `[]` once it is gone.
    fn fetch(&mut self, id: &str) -> Value {
        self.ask("fetch-sockets", json!([id]))[0].clone()
    }

    /// Socket `sid` is the victim's (`victim_gone`): in its room `r`, its data kept.
    fn expect_restored(&mut self, sid: &str) {
        let mut rooms = vec![sid.to_string(), "r".to_string()];
        rooms.sort();
        assert_eq!(
            self.fetch(sid),
            json!([{"id": sid, "rooms": rooms, "data": {"secret": 1}}])
        );
    }

    /// Waits until socket `id` is gone from `/` (the server has noticed its connection ended).
    fn wait_gone(&mut self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.fetch(id) != json!([]) {
            assert!(Instant::now() < deadline, "socket {id} still there after 5 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The arguments of `42[...]`.
fn event(frame: &str) -> Vec<Value> {
    let args = frame
        .strip_prefix("42")
        .unwrap_or_else(|| panic!("an event expected: {frame}"));
    match serde_json::from_str(args) {
        Ok(Value::Array(args)) => args,
        _ => panic!("an event expected: {frame}"),
    }
}

/// The offset of an event: its last argument, a string.
fn offset_of(frame: &str) -> String {
    let args = event(frame);
    args.last().and_then(Value::as_str).expect(frame).to_string()
}

/// A victim: connected to `/`, in room `r`, its `data` set; then its TCP connection ends with no
/// close frame, and `observer` waits until the server has noticed. Returns (sid, pid, the offset
/// of the last event it got).
fn victim_gone(server: &EchoServer, observer: &mut Peer) -> (String, String, String) {
    let mut victim = Peer::open(server);
    victim.send("40");
    let answer = victim.next();
    let object: Value = serde_json::from_str(&answer[2..]).unwrap();
    let (sid, pid) = (
        object["sid"].as_str().unwrap().to_string(),
        object["pid"].as_str().unwrap().to_string(),
    );
    assert_eq!(answer, format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#));
    let auth = victim.next();
    let offset = offset_of(&auth);
    assert_eq!(auth, format!(r#"42["auth",{{}},"{offset}"]"#));
    assert_eq!(victim.ask("join", json!(["r"])), json!([]), "an ack carries no offset");
    assert_eq!(victim.ask("set-data", json!([{"secret": 1}])), json!([]));
    drop(victim);
    observer.wait_gone(&sid);
    (sid, pid, offset)
}

fn observer(server: &EchoServer) -> Peer {
    let mut observer = Peer::open(server);
    observer.connect("");
    observer
}

#[test]
fn a_recovery_step_by_step() {
    let server = start(&["--recover"]);
    let mut observer = observer(&server);
    let (sid, pid, seen) = victim_gone(&server, &mut observer);

    // While it is away: an event to its own room, one to room `r`, one to everybody.
    observer.send(&format!(r#"42["nsp-to-room","{sid}","direct"]"#));
    observer.send(r#"42["nsp-to-room","r","to r"]"#);
    observer.send(r#"42["broadcast","all"]"#);
    let to_all = observer.next();
    let all_offset = offset_of(&to_all);
    assert_eq!(to_all, format!(r#"42["broadcast-back","all","{all_offset}"]"#));

    // It comes back with its pid and the offset of the last event it got.
    let mut back = Peer::open(&server);
    let auth = format!(r#"{{"pid":"{pid}","offset":"{seen}"}}"#);
    back.send(&format!("40{auth}"));
    let direct = back.next();
    let direct_offset = offset_of(&direct);
    assert_eq!(direct, format!(r#"42["room-back","direct","{direct_offset}"]"#));
    let room = back.next();
    let room_offset = offset_of(&room);
    assert_eq!(room, format!(r#"42["room-back","to r","{room_offset}"]"#));
    assert_eq!(back.next(), to_all, "the same event, the same offset");
    // Then the CONNECT answer: the same socket id, the same pid.
    let answer = back.next();
    assert_eq!(answer, format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#));
    let offsets = [&seen, &direct_offset, &room_offset, &all_offset];
    for pair in offsets.windows(2) {
        assert!(
            Offset::parse(pair[0]).unwrap() < Offset::parse(pair[1]).unwrap(),
            "offsets grow: {offsets:?}"
        );
    }
    // The connection handler runs again (its `auth` event), and the socket has its rooms and data.
    let auth_event = event(&back.next());
    assert_eq!(
        auth_event[..2],
        [json!("auth"), serde_json::from_str::<Value>(&auth).unwrap()]
    );
    back.expect_restored(&sid);
}

#[test]
fn an_unknown_or_forged_pid_or_an_offset_never_sent_gets_a_new_socket() {
    let server = start(&["--recover"]);
    let mut observer = observer(&server);
    let (sid, pid, seen) = victim_gone(&server, &mut observer);
    let well_formed_but_never_sent = "PhPmfU0";
    let attempts = [
        format!(r#"{{"pid":"forged","offset":"{seen}"}}"#),
        format!(r#"{{"pid":"{sid}","offset":"{seen}"}}"#),
        format!(r#"{{"pid":"{pid}","offset":"never sent"}}"#),
        format!(r#"{{"pid":"{pid}","offset":"{well_formed_but_never_sent}"}}"#),
        format!(r#"{{"pid":"{pid}"}}"#),
        format!(r#"{{"offset":"{seen}"}}"#),
        format!(r#"{{"pid":"{pid}","offset":12}}"#),
        format!(r#"{{"pid":["{pid}"],"offset":"{seen}"}}"#),
    ];
    for auth in &attempts {
        let mut other = Peer::open(&server);
        let (other_sid, other_pid) = other.connect(auth);
        assert_ne!(other_sid, sid, "{auth}");
        assert_ne!(other_pid.as_deref(), Some(pid.as_str()), "{auth}");
        assert_eq!(
            other.fetch(&other_sid),
            json!([{"id": other_sid, "rooms": [other_sid], "data": {}}]),
            "nothing of the victim's: {auth}"
        );
    }
    // The victim's own session was never touched.
    let mut back = Peer::open(&server);
    back.send(&format!(r#"40{{"pid":"{pid}","offset":"{seen}"}}"#));
    assert_eq!(back.next(), format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#));
    back.expect_restored(&sid);
}

/// With recovery a socket's own emit is `io.to(socket.id).emit(...)`, as in the reference: it
/// reaches whoever is in the room of its id (a second socket that joined it too, the socket
/// itself no longer once it has left it), with its offset.
#[test]
fn a_socket_emit_goes_to_the_room_of_its_id() {
    let server = start(&["--recover"]);
    let mut a = Peer::open(&server);
    let (a_sid, _) = a.connect("");
    let mut b = Peer::open(&server);
    let (b_sid, _) = b.connect("");

    a.send(r#"42["message","one"]"#);
    let one = a.next();
    assert_eq!(one, format!(r#"42["message-back","one","{}"]"#, offset_of(&one)));

    assert_eq!(b.ask("sockets-join", json!([b_sid, a_sid])), json!([]));
    a.send(r#"42["message","two"]"#);
    let two = a.next();
    assert_eq!(two, format!(r#"42["message-back","two","{}"]"#, offset_of(&two)));
    assert_eq!(b.next(), two, "the same event, the same offset");

    assert_eq!(b.ask("sockets-leave", json!([b_sid, a_sid])), json!([]));
    assert_eq!(a.ask("sockets-leave", json!([a_sid, a_sid])), json!([]));
    a.send(r#"42["message","three"]"#);
    a.send(r#"429["message-with-ack","after"]"#);
    assert_eq!(a.next(), r#"439["after"]"#, "out of the room of its id, a gets nothing");
    b.send(r#"429["message-with-ack","after"]"#);
    assert_eq!(b.next(), r#"439["after"]"#, "nor does b, gone from that room too");
}

#[test]
fn without_recovery_no_pid_no_offset_no_session() {
    let server = start(&[]);
    let mut client = Peer::open(&server);
    let (sid, pid) = client.connect("");
    assert_eq!(pid, None);
    client.send(r#"42["message","x"]"#);
    assert_eq!(client.next(), r#"42["message-back","x"]"#);
    drop(client);
    let mut back = Peer::open(&server);
    let auth = r#"{"pid":"x","offset":"y"}"#;
    let (new_sid, pid) = back.connect(auth);
    assert_ne!(new_sid, sid);
    assert_eq!(pid, None);
}

#[test]
fn acks_carry_no_offset() {
    let server = start(&["--recover"]);
    let mut client = Peer::open(&server);
    client.connect("");
    assert_eq!(client.ask("message-with-ack", json!(["x", 1])), json!(["x", 1]));
    // An emit with an ack: `ask` comes with an ack id and no offset.
    client.send(r#"42["emit-with-ack","q"]"#);
    let ask = client.next();
    let (id, args) = ask.strip_prefix("42").unwrap().split_once('[').unwrap();
    assert_eq!(format!("[{args}"), r#"["ask","q"]"#);
    client.send(&format!(r#"43{id}["a"]"#));
    let answered = client.next();
    assert_eq!(
        answered,
        format!(r#"42["ask-answered","a","{}"]"#, offset_of(&answered))
    );
}

/// Ours only: the reference keeps every event of the last `maxDisconnectionDuration`.
#[test]
fn the_cap_drops_the_oldest_events_with_a_log_line() {
    let server = start(&["--recover", "--max-log-entries", "2"]);
    let mut observer = observer(&server);
    let (sid, pid, seen) = victim_gone(&server, &mut observer);
    for text in ["a", "b", "c"] {
        observer.send(&format!(r#"42["nsp-to-room","{sid}","{text}"]"#));
    }
    assert_eq!(observer.ask("join", json!(["sync"])), json!([]));
    server.expect_log("/: the recovery log is full (2 events): dropped the");
    let mut back = Peer::open(&server);
    let (new_sid, new_pid) = back.connect(&format!(r#"{{"pid":"{pid}","offset":"{seen}"}}"#));
    assert_ne!(new_sid, sid, "its offset is gone: a new socket");
    assert_ne!(new_pid.as_deref(), Some(pid.as_str()));
}

// ----- in-process: what the application sees ------------------------------------------------

use socketio_book::socketio::{ConnectError, ConnectionStateRecovery, Server, ServerOptions, Socket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A server with recovery on, whose `/` says `hello` on each connection and tells `connected`
/// and `disconnected` about its sockets; a middleware counts its calls, records whether the
/// socket was recovered and its data, and refuses while `refuse` is set.
struct App {
    port: u16,
    connected: crossbeam_channel::Receiver<Socket>,
    disconnected: crossbeam_channel::Receiver<String>,
    middleware_calls: Arc<AtomicUsize>,
    middleware_saw: Arc<std::sync::Mutex<Vec<(bool, Value)>>>,
    refuse: Arc<AtomicBool>,
    _io: Server,
}

fn app(skip_middlewares: bool) -> App {
    let io = Server::new(ServerOptions {
        connection_state_recovery: Some(ConnectionStateRecovery {
            skip_middlewares,
            ..ConnectionStateRecovery::default()
        }),
        ..ServerOptions::default()
    })
    .unwrap();
    let middleware_calls = Arc::new(AtomicUsize::new(0));
    let middleware_saw = Arc::new(std::sync::Mutex::new(Vec::new()));
    let refuse = Arc::new(AtomicBool::new(false));
    let (calls, saw, refusing) = (middleware_calls.clone(), middleware_saw.clone(), refuse.clone());
    io.use_middleware(move |socket| {
        calls.fetch_add(1, Ordering::SeqCst);
        saw.lock().unwrap().push((socket.recovered(), socket.data()));
        if refusing.load(Ordering::SeqCst) {
            return Err(ConnectError {
                message: "no".to_string(),
                data: None,
            });
        }
        Ok(())
    });
    let (connected_tx, connected) = crossbeam_channel::unbounded();
    let (disconnected_tx, disconnected) = crossbeam_channel::unbounded();
    io.on_connection(move |socket| {
        if !socket.recovered() {
            socket.set_data(json!({"kept": true}));
        }
        socket.emit("hello", Vec::new()).unwrap();
        let gone = disconnected_tx.clone();
        socket.on_disconnect(move |socket, _reason| {
            let _ = gone.send(socket.id().to_string());
        });
        connected_tx.send(socket.clone()).unwrap();
    });
    let port = serve(&io);
    App {
        port,
        connected,
        disconnected,
        middleware_calls,
        middleware_saw,
        refuse,
        _io: io,
    }
}

impl App {
    /// A client connects, gets `hello` with its offset, and its TCP connection ends; returns
    /// (sid, pid, offset) once the server has seen the disconnect.
    fn dropped_client(&self) -> (String, String, String) {
        let mut ws = sio_session(self.port);
        ws_send(&mut ws, "40");
        let answer: Value = serde_json::from_str(&ws_text(&mut ws)[2..]).unwrap();
        let hello = ws_text(&mut ws);
        let offset = offset_of(&hello);
        assert_eq!(hello, format!(r#"42["hello","{offset}"]"#));
        let sid = answer["sid"].as_str().unwrap().to_string();
        self.connected.recv_timeout(TIMEOUT).unwrap();
        drop(ws);
        assert_eq!(self.disconnected.recv_timeout(TIMEOUT).unwrap(), sid);
        (sid, answer["pid"].as_str().unwrap().to_string(), offset)
    }
}

#[test]
fn by_default_a_restored_socket_skips_the_middlewares() {
    let app = app(true);
    let (sid, pid, offset) = app.dropped_client();
    assert_eq!(app.middleware_calls.load(Ordering::SeqCst), 1);
    let mut ws = sio_session(app.port);
    ws_send(&mut ws, &format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#));
    assert_eq!(ws_text(&mut ws), format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#));
    let socket = app.connected.recv_timeout(TIMEOUT).unwrap();
    assert!(socket.recovered());
    assert_eq!(socket.id(), sid);
    assert_eq!(socket.data(), json!({"kept": true}));
    assert_eq!(
        app.middleware_calls.load(Ordering::SeqCst),
        1,
        "not run for the restored socket"
    );
}

#[test]
fn with_skip_middlewares_off_they_see_the_restored_socket_and_may_refuse_it() {
    let app = app(false);
    let (sid, pid, offset) = app.dropped_client();
    app.refuse.store(true, Ordering::SeqCst);
    let auth = format!(r#"40{{"pid":"{pid}","offset":"{offset}"}}"#);
    let mut refused = sio_session(app.port);
    ws_send(&mut refused, &auth);
    assert_eq!(ws_text(&mut refused), r#"44{"message":"no"}"#);
    // The session is kept for a later try, as the reference keeps it.
    app.refuse.store(false, Ordering::SeqCst);
    let mut ws = sio_session(app.port);
    ws_send(&mut ws, &auth);
    assert_eq!(ws_text(&mut ws), format!(r#"40{{"sid":"{sid}","pid":"{pid}"}}"#));
    let socket = app.connected.recv_timeout(TIMEOUT).unwrap();
    assert!(socket.recovered());
    let saw = app.middleware_saw.lock().unwrap().clone();
    let restored = (true, json!({"kept": true}));
    assert_eq!(saw, vec![(false, json!({})), restored.clone(), restored]);
    assert_eq!(socket.rooms(), std::collections::HashSet::from([sid]));
}
