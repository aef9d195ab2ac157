//! The Engine.IO events, in-process: an `engineio::Server` with listeners that record what they
//! are told, driven by a raw client (polling, then an upgrade to WebSocket).

mod support;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use socketio_book::engineio::packet::Packet;
use socketio_book::engineio::{
    AllowRequest, CorsOptions, CorsOrigin, Handler, Message, Server, ServerOptions, SessionHandler, Socket,
    TransportKind,
};
use socketio_book::http::Request;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::timer::Timers;
use support::*;

const WAIT: Duration = Duration::from_secs(5);

/// Sends every message back; records the `Handler`'s own calls, to check the order of events.
struct Echo {
    calls: Sender<String>,
}

impl Handler for Echo {
    fn on_connection(&self, socket: &Socket) {
        let _ = self.calls.send(format!("handler connection {}", socket.id()));
    }
    fn on_message(&self, socket: &Socket, message: Message) {
        let _ = socket.send(message);
    }
    fn on_close(&self, socket: &Socket, reason: &str) {
        let _ = self.calls.send(format!("handler close {} {reason}", socket.id()));
    }
}

/// An Engine.IO server at `/engine.io/` on an ephemeral port; its `Handler` reports on `calls`.
fn serve(options: ServerOptions) -> (Server, u16, Receiver<String>) {
    let (calls, receiver) = unbounded();
    let timers = Timers::start().unwrap();
    let server = Server::new(options, Arc::new(Echo { calls }), timers);
    let http = HttpServer::bind("127.0.0.1:0", ListenerConfig::default()).unwrap();
    let port = http.local_addr().unwrap().port();
    let service = Arc::new(server.clone());
    thread::spawn(move || http.serve(service));
    (server, port, receiver)
}

fn this_thread() -> String {
    thread::current().name().unwrap_or("?").to_string()
}

/// What a listener saw: `(event, detail, thread name)`.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

fn record(seen: &Seen, event: &str, detail: String) {
    seen.lock().unwrap().push((event.to_string(), detail, this_thread()));
}

fn events_named(seen: &Seen, name: &str) -> Vec<(String, String)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(event, _, _)| event == name)
        .map(|(_, detail, thread)| (detail.clone(), thread.clone()))
        .collect()
}

/// `"message 5"`: the packet's type and the bytes of its data (what the admin UI counts).
fn describe(packet: &Packet) -> String {
    let bytes = match packet {
        Packet::Message(Message::Text(text)) => text.len(),
        Packet::Message(Message::Binary(bytes)) => bytes.len(),
        Packet::Open(data) | Packet::Ping(data) | Packet::Pong(data) => data.len(),
        _ => 0,
    };
    format!("{} {bytes}", packet.type_name())
}

/// Registers a listener of every socket event on each new session.
fn record_socket_events(server: &Server, seen: &Seen, closed: Sender<()>) {
    let seen = Arc::clone(seen);
    server.on_connection(move |socket| {
        record(&seen, "connection", socket.transport_name().to_string());
        let s = Arc::clone(&seen);
        socket.on_packet(move |_socket, packet| record(&s, "packet", describe(packet)));
        let s = Arc::clone(&seen);
        socket.on_packet_create(move |_socket, packet| record(&s, "packet_create", describe(packet)));
        let s = Arc::clone(&seen);
        socket.on_flush(move |_socket, packets| {
            let all: Vec<String> = packets.iter().map(describe).collect();
            record(&s, "flush", all.join(", "));
        });
        let s = Arc::clone(&seen);
        socket.on_upgrading(move |socket| record(&s, "upgrading", socket.transport_name().to_string()));
        let s = Arc::clone(&seen);
        socket.on_upgrade(move |socket| record(&s, "upgrade", socket.transport_name().to_string()));
        let s = Arc::clone(&seen);
        let closed = closed.clone();
        socket.on_close(move |_socket, reason, description| {
            record(&s, "close", format!("{reason} / {description:?}"));
            let _ = closed.send(());
        });
    });
}

#[test]
fn packet_and_packet_create_count_what_crosses_a_polling_session_and_its_upgrade() {
    let (server, port, _calls) = serve(ServerOptions::default());
    let seen: Seen = Arc::default();
    let (closed, on_closed) = unbounded();
    record_socket_events(&server, &seen, closed);

    let mut http = Http::connect(port);
    let (sid, _) = handshake(&mut http);
    // Three packets over polling: 5 bytes, 6 bytes of UTF-8, and 3 bytes of binary.
    let posted = "4hello\u{1e}4héllo\u{1e}bAQID";
    assert_eq!(http.post(&polling(&sid), posted.as_bytes()).text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), posted);

    let mut ws = probe(port, &sid);
    assert_eq!(http.get(&polling(&sid)).text(), "6");
    ws_send(&mut ws, "5");
    ws_send(&mut ws, "4abc");
    assert_eq!(ws_text(&mut ws), "4abc");
    ws_send_binary(&mut ws, &[9, 8]);
    assert_eq!(ws_next(&mut ws, WAIT), WsEvent::Binary(vec![9, 8]));
    ws.close(None).unwrap();
    on_closed.recv_timeout(WAIT).expect("the close event");

    let sent = ["message 5", "message 6", "message 3", "message 3", "message 2"];
    let details = |name| -> Vec<String> { events_named(&seen, name).into_iter().map(|(d, _)| d).collect() };
    // The packets the client sent (not the probe's `2probe` and `5`), and their echoes (not the
    // open packet, made before the `connection` listener, nor `3probe` and `6`).
    assert_eq!(details("packet"), sent);
    assert_eq!(details("packet_create"), sent);
    // The admin UI's figures: packets and bytes in and out.
    let bytes: usize = sent.iter().map(|d| d[8..].parse::<usize>().unwrap()).sum();
    assert_eq!(bytes, 19);
    // The handshake's answer (written after `connection`: see `Server::handshake`), then the GET
    // that took the three polling echoes at once; the WebSocket echoes left one by one.
    assert_eq!(
        details("flush"),
        ["open 117", "message 5, message 6, message 3", "message 3", "message 2"]
    );
    assert_eq!(details("connection"), ["polling"]);
    assert_eq!(details("upgrading"), ["polling"]);
    assert_eq!(details("upgrade"), ["websocket"]);
    assert_eq!(details("close"), ["transport close / None"]);
    // Every one of them ran on a connection thread: the request's, or the WebSocket's reader.
    for (event, _, thread) in seen.lock().unwrap().iter() {
        assert!(thread.starts_with("conn "), "{event} on {thread}");
    }
    // The order over the WebSocket: the packet, then its echo created, then flushed.
    let order: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(e, d, _)| format!("{e} {d}"))
        .collect();
    let tail: Vec<&str> = order.iter().rev().take(8).rev().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "upgrade websocket",
            "packet message 3",
            "packet_create message 3",
            "flush message 3",
            "packet message 2",
            "packet_create message 2",
            "flush message 2",
            "close transport close / None",
        ]
    );
}

#[test]
fn connection_and_close_follow_the_handler_and_see_clients_count() {
    let (server, port, calls) = serve(ServerOptions::default());
    let seen: Seen = Arc::default();
    let engine = server.clone();
    let s = Arc::clone(&seen);
    server.on_connection(move |socket| {
        record(&s, "connection", format!("{} {}", socket.id(), engine.clients_count()));
        let engine = engine.clone();
        let s = Arc::clone(&s);
        socket.on_close(move |socket, reason, description| {
            let detail = format!("{} {reason} {description:?} {}", socket.id(), engine.clients_count());
            record(&s, "close", detail);
        });
    });
    let mut held = Http::connect(port);
    let (sid, _) = handshake(&mut held);
    assert_eq!(calls.recv_timeout(WAIT).unwrap(), format!("handler connection {sid}"));
    assert_eq!(events_named(&seen, "connection")[0].0, format!("{sid} 1"));
    // A held GET whose client goes away: a transport error, with what went wrong.
    held.send_get(&polling(&sid));
    held.assert_no_response_within(Duration::from_millis(100));
    held.shutdown();
    assert_eq!(
        calls.recv_timeout(WAIT).unwrap(),
        format!("handler close {sid} transport error")
    );
    wait_until(|| !events_named(&seen, "close").is_empty());
    let (detail, thread) = events_named(&seen, "close").remove(0);
    // Out of `clients` before the listeners run (as the reference's own `close` listener, first).
    assert_eq!(
        detail,
        format!(r#"{sid} transport error Some("poll connection closed prematurely") 0"#)
    );
    assert!(thread.starts_with("conn "), "{thread}");

    // A session opened over WebSocket: `connection` on its reader; a ping timeout closes it on
    // the `timers` thread.
    let (server, port, calls) = serve(ServerOptions {
        ping_interval: Duration::from_millis(50),
        ping_timeout: Duration::from_millis(50),
        ..ServerOptions::default()
    });
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    server.on_connection(move |socket| {
        record(&s, "connection", socket.transport_name().to_string());
        let s = Arc::clone(&s);
        socket.on_close(move |_socket, reason, _| record(&s, "close", reason.to_string()));
    });
    let (_ws, sid, _) = ws_open(port);
    assert_eq!(calls.recv_timeout(WAIT).unwrap(), format!("handler connection {sid}"));
    assert_eq!(
        calls.recv_timeout(WAIT).unwrap(),
        format!("handler close {sid} ping timeout")
    );
    wait_until(|| !events_named(&seen, "close").is_empty());
    assert_eq!(
        events_named(&seen, "connection"),
        [("websocket".to_string(), events_named(&seen, "connection")[0].1.clone())]
    );
    assert!(events_named(&seen, "connection")[0].1.starts_with("conn "));
    assert_eq!(
        events_named(&seen, "close"),
        [("ping timeout".to_string(), "timers".to_string())]
    );
}

/// Waits (at most [`WAIT`]) for `done`.
fn wait_until(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "not within {WAIT:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn connection_error_tells_each_refusal_with_its_context() {
    let options = ServerOptions {
        allow_request: Some(AllowRequest(Arc::new(|request: &Request| {
            match request.header("x-deny") {
                Some(why) => Err(why.to_string()),
                None => Ok(()),
            }
        }))),
        cors: Some(CorsOptions {
            origin: CorsOrigin::Function(Arc::new(|origin: Option<&str>| match origin {
                Some("http://broken.example") => Err("cannot decide".to_string()),
                Some(origin) if origin.ends_with(".example") => Ok(CorsOrigin::Reflect),
                _ => Ok(CorsOrigin::Disabled),
            })),
            ..CorsOptions::default()
        }),
        ..ServerOptions::default()
    };
    let (server, port, _calls) = serve(options);
    let seen: Seen = Arc::default();
    let s = Arc::clone(&seen);
    server.on_connection_error(move |error| {
        let detail = format!(
            "{} {} {} {} {}",
            error.request.method, error.code as u8, error.message, error.context, error.request.url
        );
        record(&s, "connection_error", detail);
    });
    let next = |expected: &str| {
        wait_until(|| !events_named(&seen, "connection_error").is_empty());
        let (_event, detail, thread) = seen.lock().unwrap().remove(0);
        assert_eq!(detail, expected);
        assert!(thread.starts_with("conn "), "{thread}");
    };

    assert_error(&Http::connect(port).get("EIO=4&transport=foo"), 0, "Transport unknown");
    next(r#"GET 0 Transport unknown {"transport":"foo"} /engine.io/?EIO=4&transport=foo"#);
    assert_error(&Http::connect(port).get("EIO=4"), 0, "Transport unknown");
    next("GET 0 Transport unknown {} /engine.io/?EIO=4");
    let unknown = polling("AAAAAAAAAAAAAAAAAAAA");
    assert_error(&Http::connect(port).post(&unknown, b"4x"), 1, "Session ID unknown");
    next(&format!(
        r#"POST 1 Session ID unknown {{"sid":"AAAAAAAAAAAAAAAAAAAA"}} /engine.io/?{unknown}"#
    ));
    assert_error(
        &Http::connect(port).post(POLLING_HANDSHAKE, b"4x"),
        2,
        "Bad handshake method",
    );
    next(&format!(
        r#"POST 2 Bad handshake method {{"method":"POST"}} /engine.io/?{POLLING_HANDSHAKE}"#
    ));
    assert_error(&Http::connect(port).get(WEBSOCKET_HANDSHAKE), 3, "Bad request");
    next(&format!(
        r#"GET 3 Bad request {{"name":"TRANSPORT_HANDSHAKE_ERROR"}} /engine.io/?{WEBSOCKET_HANDSHAKE}"#
    ));
    let (_ws, sid, _) = ws_open(port);
    assert_error(&Http::connect(port).get(&polling(&sid)), 3, "Bad request");
    next(&format!(
        r#"GET 3 Bad request {{"name":"TRANSPORT_MISMATCH","transport":"polling","previousTransport":"websocket"}} /engine.io/?{}"#,
        polling(&sid)
    ));
    // allowRequest's message goes to the client; the event carries the code's.
    let response = Http::connect(port).request("GET", POLLING_HANDSHAKE, &[("X-Deny", "not \"you\"")], None);
    assert_eq!(response.status, 403);
    assert_eq!(response.text(), r#"{"code":4,"message":"not \"you\""}"#);
    next(&format!(
        r#"GET 4 Forbidden {{"message":"not \"you\""}} /engine.io/?{POLLING_HANDSHAKE}"#
    ));
    assert_error(
        &Http::connect(port).get("EIO=3&transport=polling"),
        5,
        "Unsupported protocol version",
    );
    next(r#"GET 5 Unsupported protocol version {"protocol":3} /engine.io/?EIO=3&transport=polling"#);

    // The CORS origin function: reflected, no CORS at all, or a failure.
    let asked = |origin: &str| Http::connect(port).request("GET", "EIO=4&transport=foo", &[("Origin", origin)], None);
    let reflected = asked("http://good.example");
    assert_eq!(
        reflected.header("Access-Control-Allow-Origin"),
        Some("http://good.example")
    );
    assert_eq!(reflected.header("Vary"), Some("Origin"));
    next(r#"GET 0 Transport unknown {"transport":"foo"} /engine.io/?EIO=4&transport=foo"#);
    let none = asked("http://other.site");
    assert_eq!(none.header("Access-Control-Allow-Origin"), None);
    assert_eq!(none.header("Vary"), None);
    next(r#"GET 0 Transport unknown {"transport":"foo"} /engine.io/?EIO=4&transport=foo"#);
    let failed = Http::connect(port).request("GET", POLLING_HANDSHAKE, &[("Origin", "http://broken.example")], None);
    assert_error(&failed, 3, "Bad request");
    next(&format!(
        r#"GET 3 Bad request {{"name":"MIDDLEWARE_FAILURE"}} /engine.io/?{POLLING_HANDSHAKE}"#
    ));

    // Refused WebSocket requests: the plain 400, and the same event.
    let mut raw = Http::connect(port);
    raw.send(&upgrade_request(port, &websocket("BBBBBBBBBBBBBBBBBBBB")));
    assert!(
        String::from_utf8(raw.read_until_closed(WAIT))
            .unwrap()
            .ends_with("\r\n\r\nSession ID unknown")
    );
    next(&format!(
        r#"GET 1 Session ID unknown {{"sid":"BBBBBBBBBBBBBBBBBBBB"}} /engine.io/?{}"#,
        websocket("BBBBBBBBBBBBBBBBBBBB")
    ));
    let mut raw = Http::connect(port);
    raw.send(&upgrade_request_with(
        port,
        WEBSOCKET_HANDSHAKE,
        "Origin: http://broken.example\r\n",
    ));
    assert!(
        String::from_utf8(raw.read_until_closed(WAIT))
            .unwrap()
            .ends_with("\r\n\r\nBad request")
    );
    next(&format!(
        r#"GET 3 Bad request {{"name":"MIDDLEWARE_FAILURE"}} /engine.io/?{WEBSOCKET_HANDSHAKE}"#
    ));
    assert!(seen.lock().unwrap().is_empty(), "{:?}", seen.lock().unwrap());
}

#[test]
fn a_headers_listener_sets_a_cookie_and_replaces_a_header_in_place() {
    let (server, port, _calls) = serve(ServerOptions {
        transports: vec![TransportKind::Polling, TransportKind::WebSocket],
        ..ServerOptions::default()
    });
    server.on_initial_headers(|headers, request| {
        let user = request.query_param("user").unwrap_or("nobody");
        headers.push(("Set-Cookie".to_string(), format!("user={user}; Path=/")));
    });
    server.on_headers(|headers, _request| {
        for (name, value) in headers.iter_mut() {
            if name == "cache-control" {
                *value = "private".to_string();
            }
        }
    });
    let response = Http::connect(port).get("EIO=4&transport=polling&user=ann");
    assert_eq!(response.status, 200);
    let names: Vec<(&str, &str)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .filter(|(n, _)| *n != "Content-Length" && *n != "Connection" && *n != "Keep-Alive")
        .collect();
    assert_eq!(
        names,
        [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("cache-control", "private"),
            ("Set-Cookie", "user=ann; Path=/"),
        ]
    );
}

/// A session's listeners are dropped when it ends: one that holds a handle of the session itself
/// (as a Socket.IO socket's listener does, through the socket) is no cycle that outlives it. One
/// added after the end is dropped at once and never called.
#[test]
fn a_sessions_listeners_are_dropped_when_it_ends() {
    let (server, port, calls) = serve(ServerOptions::default());
    let (kept, kept_receiver) = unbounded::<Socket>();
    server.on_connection(move |socket| {
        // Each listener holds the session: a cycle while the session lives.
        let own = socket.clone();
        socket.on_packet(move |_socket, _packet| {
            let _ = own.id();
        });
        let own = socket.clone();
        socket.on_close(move |_socket, _reason, _| {
            let _ = own.id();
        });
        let _ = kept.send(socket.clone());
    });
    let mut http = Http::connect(port);
    let (sid, _) = handshake(&mut http);
    assert_eq!(calls.recv_timeout(WAIT).unwrap(), format!("handler connection {sid}"));
    let socket = kept_receiver.recv_timeout(WAIT).unwrap();
    let weak = socket.downgrade();
    assert_eq!(http.post(&polling(&sid), b"1").text(), "ok");
    assert_eq!(
        calls.recv_timeout(WAIT).unwrap(),
        format!("handler close {sid} transport close")
    );
    // Added after the end: dropped at once (its captured handle goes with it), never called.
    let called = Arc::new(Mutex::new(false));
    let c = Arc::clone(&called);
    let own = socket.clone();
    socket.on_close(move |_socket, _reason, _| {
        let _ = own.id();
        *c.lock().unwrap() = true;
    });
    drop(socket);
    // The server forgot the session; with the listeners gone nothing else holds it.
    wait_until(|| weak.upgrade().is_none());
    assert!(!*called.lock().unwrap());
}

/// A per-session object of the layer above (Socket.IO's `Client`): it echoes and reports, and
/// holds the session it belongs to, as the `Client` does.
struct EchoSession {
    socket: Socket,
    calls: Sender<String>,
}

impl SessionHandler for EchoSession {
    fn on_message(&self, message: Message) {
        let _ = self.calls.send(format!("session message on {}", this_thread()));
        let _ = self.socket.send(message);
    }
    fn on_close(&self, reason: &str) {
        let _ = self.calls.send(format!("session close {reason}"));
    }
}

/// Gives each session an `EchoSession`; its own `on_message` and `on_close` must not be called.
struct GivesSessions {
    calls: Sender<String>,
}

impl Handler for GivesSessions {
    fn on_connection(&self, socket: &Socket) {
        let session = EchoSession {
            socket: socket.clone(),
            calls: self.calls.clone(),
        };
        socket.set_session_handler(Arc::new(session));
    }
    fn on_message(&self, _socket: &Socket, _message: Message) {
        let _ = self.calls.send("handler message".to_string());
    }
    fn on_close(&self, _socket: &Socket, _reason: &str) {
        let _ = self.calls.send("handler close".to_string());
    }
}

/// A session with a `SessionHandler` hands it its messages (on the thread that read them) and
/// its end, not the server's `Handler`; and drops it when it ends: the handler holds the session,
/// and the two are no cycle that outlives it.
#[test]
fn a_session_handler_gets_the_messages_and_the_close_and_is_dropped_at_the_end() {
    let (calls, receiver) = unbounded();
    let timers = Timers::start().unwrap();
    let server = Server::new(ServerOptions::default(), Arc::new(GivesSessions { calls }), timers);
    let (kept, kept_receiver) = unbounded();
    server.on_connection(move |socket| {
        let _ = kept.send(socket.downgrade());
    });
    let http_server = HttpServer::bind("127.0.0.1:0", ListenerConfig::default()).unwrap();
    let port = http_server.local_addr().unwrap().port();
    let service = Arc::new(server.clone());
    thread::spawn(move || http_server.serve(service));

    let mut http = Http::connect(port);
    let (sid, _) = handshake(&mut http);
    let weak = kept_receiver.recv_timeout(WAIT).unwrap();
    assert_eq!(http.post(&polling(&sid), b"4hello").text(), "ok");
    assert_eq!(http.get(&polling(&sid)).text(), "4hello");
    let seen = receiver.recv_timeout(WAIT).unwrap();
    assert!(seen.starts_with("session message on conn "), "{seen}");
    assert_eq!(http.post(&polling(&sid), b"1").text(), "ok");
    assert_eq!(receiver.recv_timeout(WAIT).unwrap(), "session close transport close");
    // The server forgot the session, and the session its handler: nothing holds either now.
    wait_until(|| weak.upgrade().is_none());
    assert!(receiver.try_recv().is_err(), "the server's Handler was called");
}
