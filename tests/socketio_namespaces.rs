//! Dynamic namespaces in-process (`namespaces.rs`): what a client cannot see. A child shares
//! its parent's middlewares and `connection` handler, copied once when it is made; a broadcast
//! on the parent reaches every child with the child's name in the packet; `new_namespace` runs
//! once per namespace; `cleanupEmptyChildNamespaces` removes an empty child; a namespace
//! function or a middleware that panics gives the client `44` and the server lives on.

mod support;

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use regex::Regex;
use serde_json::Value;
use socketio_book::socketio::{ConnectError, Namespace, Server, ServerOptions};
use support::sio_join as join;
use support::sio_session as session;
use support::{Ws, serve, ws_send, ws_text};

const WAIT: Duration = Duration::from_secs(5);

/// `40<nsp>,<auth>`, which must be refused: returns the `44<nsp>,{...}` packet.
fn refused(ws: &mut Ws, nsp: &str, auth: &str) -> String {
    ws_send(ws, &format!("40{nsp},{auth}"));
    ws_text(ws)
}

fn dynamic() -> Regex {
    Regex::new(r"^/dyn-\d+$").unwrap()
}

/// Every name `new_namespace` reports.
fn new_namespaces(io: &Server) -> Receiver<String> {
    let (sender, receiver) = unbounded();
    io.on_new_namespace(move |namespace| sender.send(namespace.name().to_string()).unwrap());
    receiver
}

fn names(namespaces: &[Namespace]) -> Vec<String> {
    namespaces.iter().map(|nsp| nsp.name().to_string()).collect()
}

/// A middleware that tells `sender` which namespace it ran in and refuses `{"token":"no"}`.
fn refusing_middleware(
    sender: Sender<String>,
    tag: &'static str,
) -> impl Fn(&socketio_book::socketio::Socket) -> Result<(), ConnectError> {
    move |socket| {
        sender.send(format!("{tag} {}", socket.nsp().name())).unwrap();
        if socket.handshake().auth.get("token") == Some(&Value::from("no")) {
            return Err(ConnectError {
                message: format!("refused by {tag}"),
                data: None,
            });
        }
        Ok(())
    }
}

#[test]
fn a_child_gets_the_parents_middlewares_and_connection_handler_as_they_were_when_it_was_made() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let (seen_sender, seen) = unbounded::<String>();
    let parent = io.of(dynamic());
    assert!(parent.is_parent());
    assert_eq!(parent.name(), "/_0");
    parent.use_middleware(refusing_middleware(seen_sender.clone(), "first"));
    let connections = seen_sender.clone();
    parent.on_connection(move |socket| connections.send(format!("connection {}", socket.nsp().name())).unwrap());
    let port = serve(&io);
    let mut ws = session(port);

    join(&mut ws, "/dyn-1", "{}");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "first /dyn-1");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "connection /dyn-1");
    assert_eq!(
        refused(&mut ws, "/dyn-2", r#"{"token":"no"}"#),
        r#"44/dyn-2,{"message":"refused by first"}"#
    );
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "first /dyn-2");
    assert_eq!(names(&parent.children()), ["/dyn-1", "/dyn-2"]);
    let child = parent.children().remove(0);
    assert!(child.parent().unwrap().same(&parent));
    assert!(!child.is_parent());
    assert!(parent.sockets().is_empty(), "a parent holds no socket");
    assert_eq!(child.sockets().len(), 1);

    // Added to the parent now: a child made later has it, /dyn-1 does not.
    parent.use_middleware(refusing_middleware(seen_sender, "second"));
    let mut other = session(port);
    join(&mut other, "/dyn-1", "{}");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "first /dyn-1");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "connection /dyn-1");
    join(&mut other, "/dyn-3", "{}");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "first /dyn-3");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "second /dyn-3");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), "connection /dyn-3");
    assert!(seen.try_recv().is_err());
}

#[test]
fn a_broadcast_on_the_parent_reaches_each_child_with_the_childs_name() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let parent = io.of(dynamic());
    parent.on_connection(|socket| {
        if socket.handshake().auth.get("room").is_some() {
            socket.join("r");
        }
    });
    let port = serve(&io);
    let mut one = session(port);
    let mut two = session(port);
    let mut root = session(port);
    join(&mut one, "/dyn-1", r#"{"room":true}"#);
    join(&mut two, "/dyn-2", "{}");
    join(&mut root, "/", "{}");

    assert_eq!(parent.emit("hi", vec![Value::from(1).into()]), Ok(()));
    assert_eq!(ws_text(&mut one), r#"42/dyn-1,["hi",1]"#);
    assert_eq!(ws_text(&mut two), r#"42/dyn-2,["hi",1]"#);
    assert_eq!(parent.to("r").emit("room", Vec::new()), Ok(()));
    assert_eq!(ws_text(&mut one), r#"42/dyn-1,["room"]"#);
    assert_eq!(parent.except("r").emit("not-room", Vec::new()), Ok(()));
    // two's next frame is this one (it did not get "room"), and one's is "after" (no "not-room").
    assert_eq!(ws_text(&mut two), r#"42/dyn-2,["not-room"]"#);
    parent.to("r").emit("after", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut one), r#"42/dyn-1,["after"]"#);
    // `/` got none of them: its next frame is the answer to this.
    io.emit("root", Vec::new()).unwrap();
    assert_eq!(ws_text(&mut root), r#"42["root"]"#);
    assert_eq!(
        parent.emit("disconnect", Vec::new()),
        Err(socketio_book::socketio::EmitError::ReservedEvent(
            "disconnect".to_string()
        ))
    );
}

#[test]
fn new_namespace_runs_once_for_each_namespace_made() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let made = new_namespaces(&io);
    io.of("/static");
    io.of("static");
    io.of("/");
    let parent = io.of(dynamic());
    // `of(name)` with a name a parent's regex matches makes that parent's child.
    let child = io.of("/dyn-8");
    assert!(child.parent().unwrap().same(&parent));
    let port = serve(&io);
    let mut first = session(port);
    let mut second = session(port);
    join(&mut first, "/dyn-7", "{}");
    join(&mut second, "/dyn-7", "{}");
    join(&mut second, "/dyn-8", "{}");
    assert_eq!(
        refused(&mut first, "/dyn-x", "{}"),
        r#"44/dyn-x,{"message":"Invalid namespace"}"#
    );
    let seen: Vec<String> = made.try_iter().collect();
    assert_eq!(seen, ["/static", "/dyn-8", "/dyn-7"]);
    assert_eq!(names(&parent.children()), ["/dyn-8", "/dyn-7"]);
}

/// Waits until `parent` has exactly `expected` children (a socket leaves on the reader thread).
fn wait_children(parent: &Namespace, expected: &[&str]) {
    let deadline = std::time::Instant::now() + WAIT;
    while names(&parent.children()) != expected {
        assert!(
            std::time::Instant::now() < deadline,
            "children {:?}, expected {expected:?}",
            names(&parent.children())
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn cleanup_empty_child_namespaces_removes_a_child_once_its_last_socket_left() {
    let options = ServerOptions {
        cleanup_empty_child_namespaces: true,
        ..ServerOptions::default()
    };
    let io = Server::new(options).unwrap();
    let made = new_namespaces(&io);
    let parent = io.of(dynamic());
    let (left_sender, left) = unbounded::<String>();
    parent.on_connection(move |socket| {
        let left = left_sender.clone();
        socket.on_disconnect(move |socket, _reason| left.send(socket.id().to_string()).unwrap());
    });
    parent.use_middleware(|socket| match socket.handshake().auth.get("token") {
        Some(Value::String(token)) if token == "no" => Err(ConnectError {
            message: "no".to_string(),
            data: None,
        }),
        _ => Ok(()),
    });
    let port = serve(&io);
    let mut a = session(port);
    let mut b = session(port);
    let a_id = join(&mut a, "/dyn-1", "{}");
    join(&mut b, "/dyn-1", "{}");
    assert_eq!(made.recv_timeout(WAIT).unwrap(), "/dyn-1");
    let first = parent.children().remove(0);

    // one of two leaves: the child stays
    ws_send(&mut a, "41/dyn-1,");
    assert_eq!(left.recv_timeout(WAIT).unwrap(), a_id);
    assert_eq!(names(&parent.children()), ["/dyn-1"]);
    // the last one leaves: the child is removed
    drop(b);
    left.recv_timeout(WAIT).unwrap();
    wait_children(&parent, &[]);
    // the next CONNECT makes it anew: a new namespace, and `new_namespace` again
    join(&mut a, "/dyn-1", "{}");
    assert_eq!(made.recv_timeout(WAIT).unwrap(), "/dyn-1");
    assert!(!parent.children()[0].same(&first));

    // a child made for a socket its middleware refused is removed too (as the reference does)
    assert_eq!(
        refused(&mut a, "/dyn-2", r#"{"token":"no"}"#),
        r#"44/dyn-2,{"message":"no"}"#
    );
    assert_eq!(made.recv_timeout(WAIT).unwrap(), "/dyn-2");
    wait_children(&parent, &["/dyn-1"]);
}

#[test]
fn without_cleanup_an_empty_child_stays() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let parent = io.of(dynamic());
    let (left_sender, left) = unbounded::<()>();
    parent.on_connection(move |socket| {
        let left = left_sender.clone();
        socket.on_disconnect(move |_socket, _reason| left.send(()).unwrap());
    });
    let port = serve(&io);
    let mut a = session(port);
    join(&mut a, "/dyn-1", "{}");
    ws_send(&mut a, "41/dyn-1,");
    left.recv_timeout(WAIT).unwrap();
    assert_eq!(names(&parent.children()), ["/dyn-1"]);
    assert!(parent.children()[0].sockets().is_empty());
}

#[test]
fn a_namespace_function_that_panics_says_no_and_the_server_lives_on() {
    let io = Server::new(ServerOptions::default()).unwrap();
    let made = new_namespaces(&io);
    let panicking = io.of_fn(|name, _auth| {
        if name.starts_with("/boom") {
            panic!("no namespace for {name}");
        }
        name == "/fn-ok"
    });
    // asked after the function: a panic there is a "no", so this parent is asked next
    io.of(Regex::new(r"^/boom-ok$").unwrap());
    let port = serve(&io);
    let mut ws = session(port);
    assert_eq!(
        refused(&mut ws, "/boom", "{}"),
        r#"44/boom,{"message":"Invalid namespace"}"#
    );
    // the same session goes on
    join(&mut ws, "/boom-ok", "{}");
    join(&mut ws, "/fn-ok", r#"{"k":1}"#);
    join(&mut ws, "/", "{}");
    assert_eq!(made.try_iter().collect::<Vec<_>>(), ["/boom-ok", "/fn-ok"]);
    assert_eq!(names(&panicking.children()), ["/fn-ok"]);
    // and so does the server
    let mut other = session(port);
    join(&mut other, "/fn-ok", "{}");
}

#[test]
fn a_middleware_that_panics_gives_44_and_the_server_lives_on() {
    let io = Server::new(ServerOptions::default()).unwrap();
    io.of("/mw").use_middleware(|_socket| panic!("a bug in a middleware"));
    let parent = io.of(dynamic());
    parent.use_middleware(|_socket| panic!("a bug in a parent's middleware"));
    io.on_connection(|socket| {
        socket.on("ping", |socket, args, _ack| socket.emit("pong", args).unwrap());
    });
    let port = serve(&io);
    let mut ws = session(port);
    assert_eq!(
        refused(&mut ws, "/mw", "{}"),
        r#"44/mw,{"message":"middleware panicked"}"#
    );
    assert_eq!(
        refused(&mut ws, "/dyn-1", "{}"),
        r#"44/dyn-1,{"message":"middleware panicked"}"#
    );
    join(&mut ws, "/", "{}");
    ws_send(&mut ws, r#"42["ping",1]"#);
    assert_eq!(ws_text(&mut ws), r#"42["pong",1]"#);
}

/// A child is not removed while a CONNECT is on its way in: the last socket leaves while
/// another client's middleware is still running on the same child; that client then joins the
/// child its parent still has, and a broadcast on the parent reaches it.
#[test]
fn cleanup_keeps_a_child_while_a_connect_is_still_in_its_middlewares() {
    let options = ServerOptions {
        cleanup_empty_child_namespaces: true,
        ..ServerOptions::default()
    };
    let io = Server::new(options).unwrap();
    let parent = io.of(dynamic());
    let (waiting_sender, waiting) = unbounded::<()>();
    let (gate_sender, gate) = unbounded::<()>();
    parent.use_middleware(move |socket| {
        if socket.handshake().auth.get("wait").is_some() {
            waiting_sender.send(()).unwrap();
            gate.recv_timeout(WAIT).unwrap();
        }
        Ok(())
    });
    let (left_sender, left) = unbounded::<()>();
    parent.on_connection(move |socket| {
        let left = left_sender.clone();
        socket.on_disconnect(move |_socket, _reason| left.send(()).unwrap());
    });
    let port = serve(&io);
    let mut a = session(port);
    join(&mut a, "/dyn-1", "{}");
    let mut b = session(port);
    ws_send(&mut b, r#"40/dyn-1,{"wait":true}"#);
    waiting.recv_timeout(WAIT).unwrap();
    // b's CONNECT is in the middleware (on b's reader thread); a leaves on its own thread.
    ws_send(&mut a, "41/dyn-1,");
    left.recv_timeout(WAIT).unwrap();
    assert_eq!(names(&parent.children()), ["/dyn-1"], "removed under a joining socket");
    gate_sender.send(()).unwrap();
    let answer = ws_text(&mut b);
    assert!(answer.starts_with(r#"40/dyn-1,{"sid":""#), "{answer}");
    assert_eq!(parent.emit("hi", Vec::new()), Ok(()));
    assert_eq!(ws_text(&mut b), r#"42/dyn-1,["hi"]"#);
}
