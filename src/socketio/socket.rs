//! One Socket.IO socket: a client's connection to one namespace (the reference's `socket.ts`).
//!
//! The chapter's `io.on('connection', (socket) => { ... })` hands the application one of these.
//! It maps onto the JavaScript like this:
//!
//! | JavaScript                                  | here                                          |
//! |---------------------------------------------|-----------------------------------------------|
//! | `socket.id`                                 | `socket.id()`                                 |
//! | `socket.request.headers`, `socket.handshake`| `socket.handshake()`                          |
//! | `socket.on('reply', (data) => ...)`         | `socket.on("reply", \|socket, args, ack\| ...)` |
//! | `socket.on('disconnecting', (reason) => ...)` | `socket.on_disconnecting(\|socket, reason\| ...)` |
//! | `socket.on('disconnect', (reason) => ...)`  | `socket.on_disconnect(\|socket, reason\| ...)`  |
//! | `socket.on('error', (err) => ...)`          | `socket.on_error(\|socket, error\| ...)`        |
//! | `socket.onAny((event, ...args) => ...)`     | `let id = socket.on_any(\|socket, event, args\| ...)` |
//! | `socket.prependAny(l)`, `socket.offAny(l)`, `socket.listenersAny()` | `prepend_any(l)`, `off_any(Some(id))`, `listeners_any()` |
//! | `socket.onAnyOutgoing(l)` and the same three | `on_any_outgoing(l)`, `prepend_any_outgoing`, `off_any_outgoing`, `listeners_any_outgoing` |
//! | `socket.use(([event, ...args], next) => ...)` | `socket.use_middleware(\|socket, event, args\| ...)` |
//! | `socket.conn` (the Engine.IO session)       | `socket.conn()`                               |
//! | `socket.emit('news', 'Hello Socket.IO')`    | `socket.emit("news", vec!["Hello Socket.IO".into()])` |
//! | `socket.timeout(ms).emit('ask', (err, a) => ...)` | `socket.emit_with_ack("ask", args, timeout, callback)`, or `socket.timeout(d).emit_with_ack("ask", args, callback)` |
//! | `socket.volatile.emit(...)`, `socket.compress(false).emit(...)` | `socket.volatile().emit(...)`, `socket.compress(false).emit(...)` |
//! | `socket.data`, `socket.data = {...}`        | `socket.data()`, `socket.set_data(json!({...}))`; `on_data_change` hears it |
//! | `socket.adapter.rooms.get(room)?.size`      | `socket.adapter().room_size(room)`            |
//! | `socket.join(room)` / `socket.leave(room)`  | `socket.join(room)` / `socket.leave(room)`    |
//! | `socket.to(room).emit(...)`, `socket.in(room)`, `socket.except(room)`, `socket.broadcast.emit(...)` | `socket.to(room).emit(...)`, `socket.in_(room)`, `socket.except(room)`, `socket.broadcast().emit(...)` |
//! | `socket.disconnect(close)`                  | `socket.disconnect(close)`                    |
//!
//! A `Socket` is a handle: clone it, keep it, emit from any thread. Once the socket is
//! disconnected, `emit` returns `EmitError::Disconnected` and the handle keeps no thread alive; the
//! socket's handlers are dropped then, so a handler that captured its own socket is no cycle.
//!
//! Incoming packets, from the bytes to the handler:
//!
//! ```text
//! 42["reply","Hello Node.JS"]   Engine.IO MESSAGE: client.rs decodes it (packet.rs), finds the
//!                               socket of namespace "/", calls `on_packet` here, which finds the
//!                               handler of "reply" and calls it with [Json("Hello Node.JS")]
//! 421["ask",1]                  the same with ack id 1: the handler gets `Some(ack)`;
//!                               `ack.send(args)` writes 431[...]
//! ```
//!
//! Before the handler (the reference's `onevent` and `dispatch`): the `on_any` listeners, then
//! the `use_middleware` middlewares in order; one that refuses drops the event and its error
//! goes to the `error` handlers. On close: the `disconnecting` handlers (the socket still in
//! its rooms), then it leaves them and its namespace, then the `disconnect` handlers.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use log::{debug, error, info, warn};
use serde_json::Value;

use super::adapter::{BroadcastFlags, ClientAckCallback, Offset, SessionToPersist};
use super::broadcast::BroadcastOperator;
use super::client::Client;
use super::listeners::{AnyListeners, ListenerId};
use super::namespace::Namespace;
use super::packet::{self, Arg, Packet, PacketData, PacketType};
use crate::engineio;
use crate::sync::panic_message;
use crate::sync::run_guarded;
use crate::timer::TimerId;

impl From<Value> for Arg {
    fn from(value: Value) -> Arg {
        Arg::Json(value)
    }
}

impl From<&str> for Arg {
    fn from(text: &str) -> Arg {
        Arg::Json(Value::String(text.to_string()))
    }
}

impl From<String> for Arg {
    fn from(text: String) -> Arg {
        Arg::Json(Value::String(text))
    }
}

impl From<Vec<u8>> for Arg {
    fn from(bytes: Vec<u8>) -> Arg {
        Arg::Binary(bytes)
    }
}

/// The reference's `socket.handshake`: what the client's first request said.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Request headers, names in lower case (`x-forwarded-for`, `user-agent`, ...): the session's
    /// first request's, shared with it and with the client's other namespaces.
    pub headers: Arc<[(String, String)]>,
    /// The query string of the first request, decoded (shared, as `headers`).
    pub query: Arc<[(String, String)]>,
    /// The CONNECT packet's payload (`auth` on the client), `{}` when there was none.
    pub auth: Value,
    /// The first request's URL, e.g. `/socket.io/?EIO=4&transport=polling&t=Pa1`.
    pub url: String,
    /// When the socket connected, as text (the reference's `new Date() + ""`).
    pub time: String,
    /// The same, in milliseconds since 1970.
    pub issued: u64,
    /// Whether the request had an `Origin` header (a cross-domain page).
    pub xdomain: bool,
    /// Whether the connection was TLS (never, here).
    pub secure: bool,
    /// The peer's address (the reference's `address`, the chapter's `req.connection.remoteAddress`).
    pub address: std::net::SocketAddr,
}

impl Handshake {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The handshake as a Node server sends it to another (in a cluster adapter's
    /// `FETCH_SOCKETS_RESPONSE`): `{"headers":{...},"time":"...","address":"127.0.0.1",
    /// "xdomain":false,"secure":false,"issued":1764590000000,"url":"/socket.io/?...",
    /// "query":{...},"auth":{...}}`. A name given twice in `headers` or `query` becomes a list.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("headers".to_string(), pairs_to_json(&self.headers));
        object.insert("time".to_string(), Value::String(self.time.clone()));
        object.insert("address".to_string(), Value::String(self.address.ip().to_string()));
        object.insert("xdomain".to_string(), Value::Bool(self.xdomain));
        object.insert("secure".to_string(), Value::Bool(self.secure));
        object.insert("issued".to_string(), Value::from(self.issued));
        object.insert("url".to_string(), Value::String(self.url.clone()));
        object.insert("query".to_string(), pairs_to_json(&self.query));
        object.insert("auth".to_string(), self.auth.clone());
        Value::Object(object)
    }

    /// The same bytes as `to_json()` serialized, written straight to `out` (no `Value` tree: a
    /// `FETCH_SOCKETS_RESPONSE` holds one handshake per socket).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing to a `Vec` does not fail.
        out.extend_from_slice(b"{\"headers\":");
        write_pairs_json(out, &self.headers);
        out.extend_from_slice(b",\"time\":");
        let _ = serde_json::to_writer(&mut *out, &self.time);
        out.extend_from_slice(b",\"address\":");
        let _ = serde_json::to_writer(&mut *out, &self.address.ip().to_string());
        out.extend_from_slice(b",\"xdomain\":");
        out.extend_from_slice(if self.xdomain { b"true" } else { b"false" });
        out.extend_from_slice(b",\"secure\":");
        out.extend_from_slice(if self.secure { b"true" } else { b"false" });
        out.extend_from_slice(b",\"issued\":");
        out.extend_from_slice(self.issued.to_string().as_bytes());
        out.extend_from_slice(b",\"url\":");
        let _ = serde_json::to_writer(&mut *out, &self.url);
        out.extend_from_slice(b",\"query\":");
        write_pairs_json(out, &self.query);
        out.extend_from_slice(b",\"auth\":");
        let _ = serde_json::to_writer(&mut *out, &self.auth);
        out.push(b'}');
    }

    /// The same, read back. A missing field is empty; `address` is only an IP there, so the port
    /// is 0 (and an address that is no IP, 0.0.0.0).
    pub fn from_json(value: &Value) -> Handshake {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or("").to_string();
        let flag = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
        let ip = value
            .get("address")
            .and_then(Value::as_str)
            .and_then(|address| address.parse::<std::net::IpAddr>().ok())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Handshake {
            headers: pairs_from_json(value.get("headers")).into(),
            query: pairs_from_json(value.get("query")).into(),
            auth: value
                .get("auth")
                .cloned()
                .unwrap_or_else(|| Value::Object(serde_json::Map::new())),
            url: text("url"),
            time: text("time"),
            issued: value.get("issued").and_then(Value::as_u64).unwrap_or(0),
            xdomain: flag("xdomain"),
            secure: flag("secure"),
            address: std::net::SocketAddr::new(ip, 0),
        }
    }
}

/// `[("a","1"),("a","2"),("b","3")]` -> `{"a":["1","2"],"b":"3"}` (Node's headers and query).
fn pairs_to_json(pairs: &[(String, String)]) -> Value {
    let mut object = serde_json::Map::new();
    for (key, value) in pairs {
        let value = Value::String(value.clone());
        match object.get_mut(key) {
            None => {
                object.insert(key.clone(), value);
            }
            Some(Value::Array(list)) => list.push(value),
            Some(first) => {
                let first = first.take();
                object.insert(key.clone(), Value::Array(vec![first, value]));
            }
        }
    }
    Value::Object(object)
}

/// `pairs_to_json(pairs)` serialized, written straight to `out`: each name once, where it first
/// came, with its one value or the list of its values.
fn write_pairs_json(out: &mut Vec<u8>, pairs: &[(String, String)]) {
    out.push(b'{');
    let mut first_name = true;
    for (index, (key, value)) in pairs.iter().enumerate() {
        if pairs[..index].iter().any(|(earlier, _)| earlier == key) {
            continue; // written with its first
        }
        if !first_name {
            out.push(b',');
        }
        first_name = false;
        let _ = serde_json::to_writer(&mut *out, key);
        out.push(b':');
        let count = pairs[index..].iter().filter(|(other, _)| other == key).count();
        if count == 1 {
            let _ = serde_json::to_writer(&mut *out, value);
            continue;
        }
        out.push(b'[');
        let mut first = true;
        for (_, same) in pairs[index..].iter().filter(|(other, _)| other == key) {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = serde_json::to_writer(&mut *out, same);
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// The other way: a list value gives one pair per item; what is not a string is its JSON text.
fn pairs_from_json(value: Option<&Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let Some(Value::Object(object)) = value else {
        return pairs;
    };
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    for (key, value) in object {
        match value {
            Value::Array(list) => {
                for item in list {
                    pairs.push((key.clone(), text(item)));
                }
            }
            other => pairs.push((key.clone(), text(other))),
        }
    }
    pairs
}

/// Why an emit did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmitError {
    /// The socket is disconnected.
    Disconnected,
    /// The event name is reserved (`connect`, `disconnect`, ...).
    ReservedEvent(String),
    /// The client does not read and its outbound buffer is full: it was disconnected.
    BufferFull,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::Disconnected => write!(f, "the socket is disconnected"),
            EmitError::ReservedEvent(name) => write!(f, "{name:?} is a reserved event name"),
            EmitError::BufferFull => write!(f, "the client's outbound buffer is full; it was disconnected"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Why an acknowledgement did not come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckError {
    /// No answer within the timeout (the reference's "operation has timed out").
    Timeout,
    /// The socket disconnected first.
    Disconnected,
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AckError::Timeout => write!(f, "operation has timed out"),
            AckError::Disconnected => write!(f, "the socket disconnected before it answered"),
        }
    }
}

/// `next(err)` in a `socket.use` middleware: the event is dropped and this goes to the socket's
/// `error` handlers (`err.message`, `err.data`).
#[derive(Debug, Clone, PartialEq)]
pub struct MiddlewareError {
    /// `err.message`.
    pub message: String,
    /// `err.data`, if any.
    pub data: Option<Value>,
}

impl MiddlewareError {
    /// `new Error(message)`.
    pub fn new(message: &str) -> MiddlewareError {
        MiddlewareError {
            message: message.to_string(),
            data: None,
        }
    }
}

impl std::error::Error for AckError {}

/// What the `error` handlers get. The reference overloads its `error` event the same way.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketError {
    /// A malformed packet from the client; the connection closes after the handlers ran.
    Parse(packet::ParseError),
    /// A `socket.use` middleware refused an event (or panicked: "middleware panicked"); the
    /// event was dropped, the socket stays connected.
    Middleware(MiddlewareError),
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketError::Parse(error) => write!(f, "{error}"),
            SocketError::Middleware(error) => write!(f, "{}", error.message),
        }
    }
}

impl std::error::Error for SocketError {}

/// A handler of one event: gets the socket, the arguments, and an `Ack` when the client asked
/// for an answer.
pub type EventHandler = Arc<dyn Fn(&Socket, Vec<Arg>, Option<Ack>) + Send + Sync>;
/// A `disconnecting` or `disconnect` handler: gets the reason ("client namespace disconnect",
/// "ping timeout", ...).
pub type DisconnectHandler = Arc<dyn Fn(&Socket, &str) + Send + Sync>;
/// An `error` handler.
pub type ErrorHandler = Arc<dyn Fn(&Socket, &SocketError) + Send + Sync>;
/// `socket.use(([event, ...args], next) => ...)`: gets the event's name and its arguments (it
/// may change them); `Ok(())` is `next()`, `Err` is `next(err)`.
pub type EventMiddleware = Arc<dyn Fn(&Socket, &str, &mut Vec<Arg>) -> Result<(), MiddlewareError> + Send + Sync>;
/// An `on_data_change` listener: gets the socket and its new `data`.
pub type DataListener = Arc<dyn Fn(&Socket, &Value) + Send + Sync>;
/// What `emit_with_ack` calls with the client's answer.
pub type AckCallback = Box<dyn FnOnce(Result<Vec<Arg>, AckError>) + Send>;

/// The answer to an event that asked for one (the reference's `ack` function, the last argument
/// of a handler). Sends at most once.
pub struct Ack {
    socket: Socket,
    id: u64,
}

impl Ack {
    /// `ack(...args)`: writes `43<id>[...args]`; nothing once the socket is disconnected
    /// (`EmitError::Disconnected`).
    pub fn send(self, args: Vec<Arg>) -> Result<(), EmitError> {
        let packet = Packet {
            packet_type: PacketType::Ack,
            nsp: self.socket.nsp_name().to_string(),
            id: Some(self.id),
            data: PacketData::Args(args),
        };
        self.socket.packet(&packet, &BroadcastFlags::default())
    }
}

/// One `socket.on(event, handler)`: the event's name and its handler.
///
/// The name is borrowed when the application wrote it as a literal (`socket.on("message", ...)`,
/// every call in our examples): no allocation for it. A socket of `examples/interop` holds 25 of
/// these, in the order they were added; a lookup walks them (NOTES.md section 7, "An idle
/// client's bytes": a `HashMap<String, _>` cost 1.3 kB of table and 25 allocated names a socket).
struct EventListener {
    event: Cow<'static, str>,
    handler: EventHandler,
}

/// An emit waiting for its acknowledgement.
struct PendingAck {
    callback: AckCallback,
    timer: Option<TimerId>,
}

/// What changes in a socket.
struct State {
    connected: bool,
    /// The `disconnecting` handlers are running (`connected` is still true meanwhile).
    closing: bool,
    /// `socket.on(event, ...)`: at most one a name.
    handlers: Vec<EventListener>,
    disconnecting_handlers: Vec<DisconnectHandler>,
    disconnect_handlers: Vec<DisconnectHandler>,
    error_handlers: Vec<ErrorHandler>,
    any_listeners: AnyListeners,
    any_outgoing_listeners: AnyListeners,
    middlewares: Vec<EventMiddleware>,
    /// Told of each `set_data` (`on_data_change`).
    data_listeners: Vec<DataListener>,
    /// Ack ids come from the namespace (`Namespace::next_ack_id`), so that a broadcast with acks
    /// can use one id for all its sockets.
    acks: HashMap<u64, PendingAck>,
}

/// What a socket is, shared by its handles.
///
/// `#[repr(C)]`: the fields in this order. The first four are what a write to the socket reads
/// (`write_logged`, and `MemoryAdapter::deliver`'s read-ahead for a broadcast): with the `Arc`'s
/// counts they are the first 56 bytes, where Rust's own order put them past the handshake, 0x160
/// bytes in: one memory access per socket rather than two.
#[repr(C)]
struct Inner {
    /// Shared, so that the recovery log keeps each of its own emits without a copy of it.
    id: Arc<str>,
    nsp: Namespace,
    /// The Engine.IO session carrying this socket (and its namespace siblings).
    conn: engineio::Socket,
    /// `Some` for a socket restored by connection state recovery (`socket.recovered`): holds
    /// back what is written to it until its missed packets are out. (A `Box`: one word here.)
    replay: Option<Box<Mutex<ReplayGate>>>,
    client: Weak<Client>,
    handshake: Handshake,
    /// `socket.data`: anything the application wants to keep with the socket (`{}` at first).
    data: Mutex<Value>,
    state: Mutex<State>,
    /// The private session id, with connection state recovery on (the reference's `pid`).
    pid: Option<String>,
}

/// What a restored socket holds back (see `Socket::write_logged`).
struct ReplayGate {
    /// The offset its client sent back: the last event it got.
    offset: String,
    /// Until `replay_missed` is done: every write waits in `held`.
    replaying: bool,
    held: Vec<HeldWrite>,
}

/// A write held back by the replay gate.
struct HeldWrite {
    /// Its place in the recovery log, if it is a logged event.
    offset: Option<Offset>,
    messages: Vec<engineio::Message>,
    flags: BroadcastFlags,
}

/// The reference's `RECOVERABLE_DISCONNECT_REASONS`: a socket that closes for one of these keeps
/// its session (connection state recovery); any other (`41` from either side, ...) does not.
pub const RECOVERABLE_DISCONNECT_REASONS: [&str; 6] = [
    "transport error",
    "transport close",
    "forced close",
    "ping timeout",
    "server shutting down",
    "forced server close",
];

/// A handle to one socket (see the module documentation).
#[derive(Clone)]
pub struct Socket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Socket({} on {})", self.inner.id, self.inner.nsp.name())
    }
}

impl Socket {
    /// A socket that is not connected yet (middlewares run on it first). `pid`: its private
    /// session id, when connection state recovery is on.
    pub(super) fn new(
        id: String,
        pid: Option<String>,
        nsp: Namespace,
        conn: engineio::Socket,
        client: Weak<Client>,
        handshake: Handshake,
    ) -> Socket {
        Socket::make(id, pid, nsp, conn, client, handshake, None)
    }

    /// The socket of a session connection state recovery restored (the reference's `Socket`
    /// constructor with a `previousSession`): its id, pid and data, back in its rooms at once
    /// (it reaches no broadcast until it is in its namespace), and everything written to it
    /// held back until `on_connect` has sent what it missed after `offset`.
    pub(super) fn restored(
        session: SessionToPersist,
        offset: String,
        nsp: Namespace,
        conn: engineio::Socket,
        client: Weak<Client>,
        handshake: Handshake,
    ) -> Socket {
        let gate = ReplayGate {
            offset,
            replaying: true,
            held: Vec::new(),
        };
        let socket = Socket::make(
            session.sid,
            Some(session.pid),
            nsp,
            conn,
            client,
            handshake,
            Some(Box::new(Mutex::new(gate))),
        );
        socket.set_data(session.data);
        socket.adapter().add_all(socket.id(), &session.rooms);
        socket
    }

    fn make(
        id: String,
        pid: Option<String>,
        nsp: Namespace,
        conn: engineio::Socket,
        client: Weak<Client>,
        handshake: Handshake,
        replay: Option<Box<Mutex<ReplayGate>>>,
    ) -> Socket {
        let state = State {
            connected: false,
            closing: false,
            handlers: Vec::new(),
            disconnecting_handlers: Vec::new(),
            disconnect_handlers: Vec::new(),
            error_handlers: Vec::new(),
            any_listeners: AnyListeners::default(),
            any_outgoing_listeners: AnyListeners::default(),
            middlewares: Vec::new(),
            data_listeners: Vec::new(),
            acks: HashMap::new(),
        };
        Socket {
            inner: Arc::new(Inner {
                id: Arc::from(id),
                nsp,
                conn,
                client,
                handshake,
                data: Mutex::new(Value::Object(serde_json::Map::new())),
                state: Mutex::new(state),
                pid,
                replay,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.inner.state)
    }

    /// `socket.id`: 20 random characters, not the Engine.IO session id (but for a socket.io 2.x
    /// client, which expects it: the Engine.IO id, `/custom#<id>` in other namespaces).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The same id, shared rather than copied (what the recovery log keeps of each of this
    /// socket's own emits, `SessionAwareAdapter::broadcast_to_socket`).
    pub(crate) fn shared_id(&self) -> Arc<str> {
        Arc::clone(&self.inner.id)
    }

    /// `socket.handshake` (and what the chapter reads from `socket.request`).
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// `socket.nsp`.
    pub fn nsp(&self) -> &Namespace {
        &self.inner.nsp
    }

    /// `socket.adapter` (its namespace's): `socket.adapter().room_size(room)` is the book's
    /// `socket.adapter.rooms.get(roomId)?.size`.
    pub fn adapter(&self) -> &std::sync::Arc<dyn super::adapter::Adapter> {
        self.inner.nsp.adapter()
    }

    fn nsp_name(&self) -> &str {
        self.inner.nsp.name()
    }

    /// `socket.conn.transport.name`: `"polling"` or `"websocket"`.
    pub fn transport_name(&self) -> &'static str {
        self.inner.conn.transport_name()
    }

    /// `socket.conn`: the Engine.IO session under this socket (shared by the client's other
    /// namespaces): its `id()` (the `sid` of the requests), `transport_name()`, `ready_state()`,
    /// `request()`, `close()`, and its events: `socket.conn.on('upgrade', ...)` is
    /// `socket.conn().on_upgrade(...)`, likewise `on_packet`, `on_packet_create`, `on_flush`,
    /// `on_upgrading`, `on_close` (`engineio/socket.rs`).
    pub fn conn(&self) -> &engineio::Socket {
        &self.inner.conn
    }

    /// `socket.connected`.
    pub fn connected(&self) -> bool {
        self.lock().connected
    }

    /// `socket.recovered`: this socket is one whose connection had dropped, restored by
    /// connection state recovery (same id, rooms and data; its missed events were replayed).
    pub fn recovered(&self) -> bool {
        self.inner.replay.is_some()
    }

    /// `socket.on(event, handler)`: one handler per event name (a second replaces the first).
    /// `event` is a `&'static str` (a literal: kept as it is) or a `String`.
    pub fn on(
        &self,
        event: impl Into<Cow<'static, str>>,
        handler: impl Fn(&Socket, Vec<Arg>, Option<Ack>) + Send + Sync + 'static,
    ) {
        let event = event.into();
        let handler: EventHandler = Arc::new(handler);
        let mut state = self.lock();
        match state.handlers.iter_mut().find(|listener| listener.event == event) {
            Some(listener) => listener.handler = handler,
            None => state.handlers.push(EventListener { event, handler }),
        }
    }

    /// `socket.on('disconnecting', (reason) => ...)`: runs before the `disconnect` handlers,
    /// while the socket is still in its rooms (`socket.rooms()`, `socket.to(room)` still see it).
    pub fn on_disconnecting(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        self.lock().disconnecting_handlers.push(Arc::new(handler));
    }

    /// `socket.on('disconnect', (reason) => ...)`.
    pub fn on_disconnect(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        self.lock().disconnect_handlers.push(Arc::new(handler));
    }

    /// `socket.on('error', (err) => ...)`: a malformed packet from this client
    /// (`SocketError::Parse`), or an event a `use_middleware` middleware refused
    /// (`SocketError::Middleware`).
    pub fn on_error(&self, handler: impl Fn(&Socket, &SocketError) + Send + Sync + 'static) {
        self.lock().error_handlers.push(Arc::new(handler));
    }

    /// `socket.data`: a copy of what the application keeps with this socket (`{}` until set).
    /// `fetch_sockets` returns it too.
    pub fn data(&self) -> Value {
        crate::sync::lock(&self.inner.data).clone()
    }

    /// `socket.data = value`; then the `on_data_change` listeners hear the new value.
    pub fn set_data(&self, data: Value) {
        *crate::sync::lock(&self.inner.data) = data.clone();
        let listeners = self.lock().data_listeners.clone();
        for listener in listeners {
            listener(self, &data);
        }
    }

    /// `socket.data = value` that the `on_data_change` listeners do not hear: the admin UI's
    /// own bookkeeping in `data._admin`, which the reference's `Proxy` does not hear either.
    pub(crate) fn set_data_unheard(&self, data: Value) {
        *crate::sync::lock(&self.inner.data) = data;
    }

    /// Hears every `set_data` (the new value), on the thread that set it, with no lock held.
    /// No JavaScript call matches it: the reference's admin UI wraps `socket.data` in a `Proxy`
    /// to hear each change; here every change goes through `set_data`, so a listener does.
    pub fn on_data_change(&self, listener: impl Fn(&Socket, &Value) + Send + Sync + 'static) {
        self.lock().data_listeners.push(Arc::new(listener));
    }

    /// `socket.use(([event, ...args], next) => ...)`: runs for each incoming event, after the
    /// `on_any` listeners and before the event's handler, in the order added. `Err(error)` drops
    /// the event and hands `SocketError::Middleware(error)` to the `error` handlers; a middleware
    /// that panics does the same with the message "middleware panicked" (the panic is logged).
    pub fn use_middleware(
        &self,
        middleware: impl Fn(&Socket, &str, &mut Vec<Arg>) -> Result<(), MiddlewareError> + Send + Sync + 'static,
    ) {
        self.lock().middlewares.push(Arc::new(middleware));
    }

    /// `socket.onAny((event, ...args) => ...)`: hears every incoming event, before the
    /// middlewares and the event's handler (even one a middleware then refuses). Returns the id
    /// `off_any` takes.
    pub fn on_any(&self, listener: impl Fn(&Socket, &str, &[Arg]) + Send + Sync + 'static) -> ListenerId {
        self.lock().any_listeners.append(Arc::new(listener))
    }

    /// `socket.prependAny(listener)`: as `on_any`, but runs before the listeners already there.
    pub fn prepend_any(&self, listener: impl Fn(&Socket, &str, &[Arg]) + Send + Sync + 'static) -> ListenerId {
        self.lock().any_listeners.prepend(Arc::new(listener))
    }

    /// `socket.offAny(listener)` with `Some(id)`: removes that listener; `socket.offAny()` with
    /// `None`: removes them all.
    pub fn off_any(&self, id: Option<ListenerId>) {
        self.lock().any_listeners.remove(id);
    }

    /// `socket.listenersAny()`: the ids of the catch-all listeners, in the order they run.
    pub fn listeners_any(&self) -> Vec<ListenerId> {
        self.lock().any_listeners.ids()
    }

    /// `socket.onAnyOutgoing((event, ...args) => ...)`: hears every event sent to this client,
    /// by `emit`, `emit_with_ack` or a broadcast that reaches it, before it is queued.
    pub fn on_any_outgoing(&self, listener: impl Fn(&Socket, &str, &[Arg]) + Send + Sync + 'static) -> ListenerId {
        let mut state = self.lock();
        if state.any_outgoing_listeners.is_empty() {
            self.inner.nsp.socket_hears_outgoing(true);
        }
        state.any_outgoing_listeners.append(Arc::new(listener))
    }

    /// `socket.prependAnyOutgoing(listener)`.
    pub fn prepend_any_outgoing(&self, listener: impl Fn(&Socket, &str, &[Arg]) + Send + Sync + 'static) -> ListenerId {
        let mut state = self.lock();
        if state.any_outgoing_listeners.is_empty() {
            self.inner.nsp.socket_hears_outgoing(true);
        }
        state.any_outgoing_listeners.prepend(Arc::new(listener))
    }

    /// `socket.offAnyOutgoing(listener)` (`Some(id)`) or `socket.offAnyOutgoing()` (`None`).
    pub fn off_any_outgoing(&self, id: Option<ListenerId>) {
        let mut state = self.lock();
        self.remove_outgoing_listeners(&mut state, id);
    }

    /// `offAnyOutgoing`, under the socket's lock: when the last one goes, the namespace is told
    /// (`Namespace::socket_hears_outgoing`, as `on_any_outgoing` tells it of the first).
    fn remove_outgoing_listeners(&self, state: &mut State, id: Option<ListenerId>) {
        let had_some = !state.any_outgoing_listeners.is_empty();
        state.any_outgoing_listeners.remove(id);
        if had_some && state.any_outgoing_listeners.is_empty() {
            self.inner.nsp.socket_hears_outgoing(false);
        }
    }

    /// `socket.listenersAnyOutgoing()`: the ids, in the order the listeners run.
    pub fn listeners_any_outgoing(&self) -> Vec<ListenerId> {
        self.lock().any_outgoing_listeners.ids()
    }

    /// `socket.emit(event, ...args)`:
    ///
    /// `socket.emit("news", vec!["Hello Socket.IO".into()])` writes `42["news","Hello Socket.IO"]`.
    /// After the socket's disconnect it writes nothing and returns `EmitError::Disconnected`.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        self.emit_with_flags(event, args, &BroadcastFlags::default())
    }

    /// `socket.timeout(ms).emit(event, ...args, (err, ...answer) => ...)`: writes `42<id>[...]`
    /// and calls `callback` with the client's `43<id>[...]`, or with `AckError::Timeout`.
    /// The same as `socket.timeout(timeout).emit_with_ack(event, args, callback)`.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Arg>,
        timeout: Duration,
        callback: impl FnOnce(Result<Vec<Arg>, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        let flags = BroadcastFlags {
            timeout: Some(timeout),
            ..BroadcastFlags::default()
        };
        self.emit_with_ack_and_flags(event, args, &flags, Box::new(callback))
    }

    /// `socket.volatile`: the next emit is dropped if the client cannot take it now.
    pub fn volatile(&self) -> FlaggedSocket {
        FlaggedSocket::new(self.clone()).volatile()
    }

    /// `socket.compress(compress)`: the next emit's compress flag.
    pub fn compress(&self, compress: bool) -> FlaggedSocket {
        FlaggedSocket::new(self.clone()).compress(compress)
    }

    /// `socket.timeout(ms)`: the next `emit_with_ack` waits at most `timeout`.
    pub fn timeout(&self, timeout: Duration) -> FlaggedSocket {
        FlaggedSocket::new(self.clone()).timeout(timeout)
    }

    /// An emit with flags: `2[event, ...args]` through `send_packet`.
    ///
    /// With connection state recovery on it is `io.to(socket.id).emit(...)`, as in the
    /// reference: through the adapter (`broadcast_to_socket`), which logs it (its offset
    /// appended) for the socket's recovery and sends it to the socket of this id if one is
    /// connected. It is then `Ok` even once this socket is disconnected: a recovered socket of
    /// the same id gets it.
    fn emit_with_flags(&self, event: &str, args: Vec<Arg>, flags: &BroadcastFlags) -> Result<(), EmitError> {
        let packet = event_packet(self.nsp_name(), event, args, None)?;
        if self.inner.nsp.recovery().is_some() {
            self.adapter().broadcast_to_socket(self, packet, flags);
            return Ok(());
        }
        self.send_packet(&packet, flags)
    }

    /// An emit asking for an ack (`flags.timeout`: how long to wait; `None`: until the answer or
    /// the disconnect, as the reference without `timeout()`).
    fn emit_with_ack_and_flags(
        &self,
        event: &str,
        args: Vec<Arg>,
        flags: &BroadcastFlags,
        callback: AckCallback,
    ) -> Result<(), EmitError> {
        let id = self.inner.nsp.next_ack_id();
        {
            let mut state = self.lock();
            if !state.connected {
                return Err(EmitError::Disconnected);
            }
            let timer = flags.timeout.map(|timeout| {
                let weak = Arc::downgrade(&self.inner);
                self.inner.nsp.timers().set_timeout(timeout, move || {
                    if let Some(inner) = weak.upgrade() {
                        Socket { inner }.on_ack_timeout(id);
                    }
                })
            });
            state.acks.insert(id, PendingAck { callback, timer });
        }
        let sent =
            event_packet(self.nsp_name(), event, args, Some(id)).and_then(|packet| self.send_packet(&packet, flags));
        if let Err(error) = sent {
            self.forget_ack(id);
            return Err(error);
        }
        Ok(())
    }

    /// `socket.join(room)`: through the namespace's adapter (`add_all`).
    pub fn join(&self, room: &str) {
        self.join_all(&[room.to_string()]);
    }

    /// `socket.join([room, ...])`.
    pub fn join_all(&self, rooms: &[String]) {
        if self.connected() {
            self.inner.nsp.adapter().add_all(self.id(), rooms);
        }
    }

    /// `socket.leave(room)`: through the namespace's adapter (`del`).
    pub fn leave(&self, room: &str) {
        self.inner.nsp.adapter().del(self.id(), room);
    }

    /// `socket.rooms`: its own id and the rooms it joined.
    pub fn rooms(&self) -> HashSet<String> {
        self.inner.nsp.rooms_of(self.id())
    }

    /// `socket.to(room)`: every socket in `room` but this one.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// `socket.in(room)`: the same as `to`.
    pub fn in_(&self, room: &str) -> BroadcastOperator {
        self.to(room)
    }

    /// `socket.except(room)`: every socket of the namespace outside `room`, and not this one.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// `socket.broadcast`: every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        FlaggedSocket::new(self.clone()).broadcast()
    }

    /// `socket.disconnect(close)`: `false` leaves this namespace only (the client gets `41` and
    /// stays connected to its other namespaces); `true` closes the whole connection. Either way
    /// the official client reports "io server disconnect" and does not reconnect.
    pub fn disconnect(&self, close: bool) {
        {
            let state = self.lock();
            if !state.connected || state.closing {
                return;
            }
        }
        if close {
            if let Some(client) = self.inner.client.upgrade() {
                client.disconnect_all();
                return;
            }
        }
        self.send_disconnect_packet();
        self.on_close("server namespace disconnect");
    }

    /// Writes `41` (or `41/nsp,`).
    pub(super) fn send_disconnect_packet(&self) {
        let packet = Packet {
            packet_type: PacketType::Disconnect,
            nsp: self.nsp_name().to_string(),
            id: None,
            data: PacketData::None,
        };
        let _ = self.packet(&packet, &BroadcastFlags::default());
    }

    /// The one place an emit of this socket goes out (the reference's `emit` after its
    /// checks): the outgoing listeners hear it, then it is written.
    fn send_packet(&self, packet: &Packet, flags: &BroadcastFlags) -> Result<(), EmitError> {
        if !self.connected() {
            debug!("{}: not connected, packet not sent", self.id());
            return Err(EmitError::Disconnected);
        }
        self.notify_outgoing_listeners(packet, None);
        self.packet(packet, flags)
    }

    /// Encodes a packet and queues its Engine.IO messages together, while the socket is
    /// connected: once it has left its namespace (`41` from either side, or the session ended)
    /// `emit`, `ack.send` and `emit_with_ack` return `EmitError::Disconnected` and nothing goes
    /// out, even when the Engine.IO session still carries the client's other namespaces.
    ///
    /// The check and the queueing are two steps: an emit from another thread that passed the
    /// check just before a disconnect may still follow the `41`; the client drops an event for a
    /// namespace it has left.
    pub(super) fn packet(&self, packet: &Packet, flags: &BroadcastFlags) -> Result<(), EmitError> {
        if !self.connected() {
            debug!("{}: not connected, packet not sent", self.id());
            return Err(EmitError::Disconnected);
        }
        self.write_to_engine(Cow::Owned(self.inner.nsp.parser().encode(packet)), flags)
    }

    /// The reference's `client.writeToEngine`: queues one packet's messages on the Engine.IO
    /// session (see `write_logged`). `messages` are borrowed when a broadcast writes the same
    /// ones to many sockets (`engineio::Socket::write_shared`), owned otherwise.
    pub(crate) fn write_to_engine(
        &self,
        messages: Cow<'_, [engineio::Message]>,
        flags: &BroadcastFlags,
    ) -> Result<(), EmitError> {
        self.write_logged(None, messages, flags)
    }

    /// `write_to_engine` for a packet that may be in the recovery log (`offset`). A socket being
    /// restored holds every write back until its missed packets are out (`replay_missed`), so
    /// that they come first, and a logged event it holds is dropped there if the replay carried
    /// it: every event exactly once, in order.
    pub(crate) fn write_logged(
        &self,
        offset: Option<Offset>,
        messages: Cow<'_, [engineio::Message]>,
        flags: &BroadcastFlags,
    ) -> Result<(), EmitError> {
        if let Some(gate) = &self.inner.replay {
            let mut gate = crate::sync::lock(gate);
            if gate.replaying {
                gate.held.push(HeldWrite {
                    offset,
                    messages: messages.into_owned(),
                    flags: flags.clone(),
                });
                return Ok(());
            }
        }
        self.write_now(messages, flags)
    }

    /// Queues the messages on the Engine.IO session now. A `volatile` packet is dropped, `Ok`,
    /// when the transport is not writable now (`engineio::Socket::writable`: polling with no
    /// GET held, an upgrade under way, a WebSocket write not finished); `compress` goes down
    /// with the messages.
    fn write_now(&self, messages: Cow<'_, [engineio::Message]>, flags: &BroadcastFlags) -> Result<(), EmitError> {
        if flags.volatile && !self.inner.conn.writable() {
            debug!(
                "{}: volatile packet is discarded since the transport is not currently writable",
                self.id()
            );
            return Ok(());
        }
        let options = engineio::WriteOptions {
            compress: flags.compress != Some(false),
        };
        let written = match messages {
            Cow::Owned(messages) => self.inner.conn.write(messages, options),
            Cow::Borrowed(messages) => self.inner.conn.write_shared(messages, options),
        };
        match written {
            Ok(()) => Ok(()),
            Err(engineio::SendError::Closed) => Err(EmitError::Disconnected),
            Err(engineio::SendError::BufferFull) => Err(EmitError::BufferFull),
        }
    }

    /// The reference's `_error`: `44{"message":"...","data":...}` to a socket a middleware
    /// refused (it never connected, so this is not `packet`).
    pub(super) fn send_connect_error(&self, data: Value) {
        let packet = Packet {
            packet_type: PacketType::ConnectError,
            nsp: self.nsp_name().to_string(),
            id: None,
            data: PacketData::Object(data),
        };
        // Not through the replay gate: a restored socket refused by a middleware never
        // replays, so nothing would let this out.
        let _ = self.write_now(
            Cow::Owned(self.inner.nsp.parser().encode(&packet)),
            &BroadcastFlags::default(),
        );
    }

    /// The reference's `notifyOutgoingListeners`: an EVENT packet is about to go to this
    /// client (from `emit`, `emit_with_ack`, or a broadcast).
    /// A logged event's `offset` is its last argument, as the client gets it (the reference's
    /// adapter pushes it onto `packet.data` before it calls this; ours writes it into the encoded
    /// text, `Parser::encode_logged`, so it is added here, for the listeners only).
    /// Reads the memory a write to this socket starts with (this socket's first bytes and its
    /// session's): see `MemoryAdapter::deliver`.
    pub(crate) fn prefetch_for_write(&self) {
        self.inner.conn.prefetch_for_write();
    }

    pub(super) fn notify_outgoing_listeners(&self, packet: &Packet, offset: Option<Offset>) {
        if !self.inner.nsp.any_socket_hears_outgoing() {
            return;
        }
        let listeners = self.lock().any_outgoing_listeners.snapshot();
        if listeners.is_empty() {
            return;
        }
        let (event, args) = match &packet.data {
            PacketData::Args(all) if !all.is_empty() => (&all[0], &all[1..]),
            _ => return,
        };
        let event = match event {
            Arg::Json(Value::String(event)) => event.as_str(),
            _ => return,
        };
        let mut with_offset = Vec::new();
        let args = match offset {
            Some(offset) => {
                with_offset.extend_from_slice(args);
                with_offset.push(Arg::from(offset.to_text()));
                &with_offset[..]
            }
            None => args,
        };
        for listener in listeners {
            listener(self, event, args);
        }
    }

    /// Registers the ack of a broadcast (`MemoryAdapter::broadcast_with_ack`): the client's
    /// answer to `id` goes to `ack` (its first argument). `false` if the socket is no longer
    /// connected. Its disconnect drops it unanswered (the broadcast times out).
    pub(crate) fn add_broadcast_ack(&self, id: u64, ack: ClientAckCallback) -> bool {
        let mut state = self.lock();
        if !state.connected {
            return false;
        }
        let callback: AckCallback = Box::new(move |answer| {
            if let Ok(args) = answer {
                ack(args.into_iter().next().unwrap_or(Arg::Json(Value::Null)));
            }
        });
        state.acks.insert(id, PendingAck { callback, timer: None });
        true
    }

    /// Drops the waiting ack `id`, unanswered (a broadcast's timeout, an emit that failed).
    pub(crate) fn forget_ack(&self, id: u64) {
        let pending = self.lock().acks.remove(&id);
        if let Some(PendingAck { timer: Some(timer), .. }) = pending {
            self.inner.nsp.timers().clear_timeout(timer);
        }
    }

    // ----- lifecycle, called by the namespace and the client ------------------------------------

    /// The reference's `_onconnect`: join its own room, answer `40{"sid":"..."}` (with
    /// recovery on, `40{"sid":"...","pid":"..."}`; a socket.io 2.x client, Engine.IO v3: a bare
    /// `40`, `40/custom,`). A restored socket then sends what it missed (which goes out before
    /// that answer, as in the reference).
    pub(super) fn on_connect(&self) {
        self.lock().connected = true;
        self.join(self.id());
        let data = if self.inner.conn.protocol() == 3 {
            PacketData::None
        } else {
            let mut answer = serde_json::Map::new();
            answer.insert("sid".to_string(), Value::String(self.id().to_string()));
            if let Some(pid) = &self.inner.pid {
                answer.insert("pid".to_string(), Value::String(pid.clone()));
            }
            PacketData::Object(Value::Object(answer))
        };
        let packet = Packet {
            packet_type: PacketType::Connect,
            nsp: self.nsp_name().to_string(),
            id: None,
            data,
        };
        let _ = self.packet(&packet, &BroadcastFlags::default());
        info!(
            "{}: socket {} connected to {}",
            self.inner.conn.id(),
            self.id(),
            self.nsp_name()
        );
        if self.recovered() {
            self.replay_missed();
        }
    }

    /// A restored socket, now in its namespace and rooms: sends the events it missed after its
    /// client's offset, then what was written to it meanwhile (the CONNECT answer, live events)
    /// less the logged events the replay carried, then lets writes through.
    ///
    /// ```text
    /// 42["tick",4,"PhPmfU1"]                 missed (from the log)
    /// 42["tick",5,"PhPmfU2"]                 missed
    /// 40{"sid":"<same id>","pid":"<pid>"}    held back meanwhile
    /// 42["tick",6,"PhPmfU3"]                 live
    /// ```
    fn replay_missed(&self) {
        let Some(gate) = &self.inner.replay else {
            return;
        };
        let offset = crate::sync::lock(gate).offset.clone();
        let rooms: Vec<String> = self.rooms().into_iter().collect();
        let newest = match self.adapter().missed_packets(&offset, &rooms) {
            Some(missed) => {
                info!(
                    "{}: socket {} recovered on {}: {} missed packets",
                    self.inner.conn.id(),
                    self.id(),
                    self.nsp_name(),
                    missed.packets.len()
                );
                for packet in missed.packets {
                    let _ = self.write_now(Cow::Owned(packet.messages), &BroadcastFlags::default());
                }
                Some(missed.newest)
            }
            None => {
                warn!(
                    "{}: socket {} recovered, but the log no longer holds offset {offset:?}: its missed packets are lost",
                    self.inner.conn.id(),
                    self.id()
                );
                None
            }
        };
        loop {
            let held = {
                let mut gate = crate::sync::lock(gate);
                if gate.held.is_empty() {
                    gate.replaying = false;
                    break;
                }
                std::mem::take(&mut gate.held)
            };
            for write in held {
                let replayed = matches!((write.offset, newest), (Some(offset), Some(newest)) if offset <= newest);
                if !replayed {
                    let _ = self.write_now(Cow::Owned(write.messages), &write.flags);
                }
            }
        }
    }

    /// A socket that never connected (refused by a middleware, or its connection closed first):
    /// outgoing listeners a middleware gave it go (so that the namespace's count of sockets that
    /// have some, `Namespace::socket_hears_outgoing`, does not keep counting it); a restored one
    /// leaves the rooms it was put back in, and its session is kept again for its client's next
    /// try (the reference never took it out).
    pub(super) fn cleanup_unconnected(&self) {
        {
            let mut state = self.lock();
            self.remove_outgoing_listeners(&mut state, None);
        }
        if !self.recovered() {
            return;
        }
        if let Some(session) = self.session_to_persist() {
            self.adapter().del_all(self.id());
            self.adapter().persist_session(session);
        }
    }

    /// What connection state recovery keeps of this socket, if it has a pid.
    fn session_to_persist(&self) -> Option<SessionToPersist> {
        let pid = self.inner.pid.clone()?;
        Some(SessionToPersist {
            sid: self.id().to_string(),
            pid,
            rooms: self.rooms().into_iter().collect(),
            data: self.data(),
        })
    }

    /// The reference's `_onpacket`: an EVENT, ACK or DISCONNECT for this socket.
    pub(super) fn on_packet(&self, packet: Packet) {
        if !self.connected() {
            return;
        }
        match packet.packet_type {
            PacketType::Event | PacketType::BinaryEvent => self.on_event(packet),
            PacketType::Ack | PacketType::BinaryAck => self.on_ack(packet),
            PacketType::Disconnect => self.on_close("client namespace disconnect"),
            PacketType::Connect | PacketType::ConnectError => {}
        }
    }

    /// An event from the client: find its handler and call it (no lock held).
    fn on_event(&self, packet: Packet) {
        let mut args = match packet.data {
            PacketData::Args(args) => args,
            _ => Vec::new(),
        };
        if args.is_empty() {
            return;
        }
        let name = match args.remove(0) {
            Arg::Json(Value::String(name)) => name,
            Arg::Json(other) => other.to_string(),
            Arg::Binary(_) => return,
        };
        let ack = packet.id.map(|id| Ack {
            socket: self.clone(),
            id,
        });
        let any_listeners = self.lock().any_listeners.snapshot();
        for listener in any_listeners {
            listener(self, &name, &args);
        }
        self.dispatch(name, args, ack);
    }

    /// The reference's `dispatch`: the `socket.use` middlewares in order, then the handler.
    /// A refusal drops the event and goes to the `error` handlers.
    fn dispatch(&self, name: String, mut args: Vec<Arg>, ack: Option<Ack>) {
        let middlewares = self.lock().middlewares.clone();
        for middleware in middlewares {
            let refusal = match catch_unwind(AssertUnwindSafe(|| middleware(self, &name, &mut args))) {
                Ok(Ok(())) => continue,
                Ok(Err(refusal)) => refusal,
                Err(panic) => {
                    error!(
                        "{}: a middleware panicked on event {name:?}: {}",
                        self.id(),
                        panic_message(&*panic)
                    );
                    MiddlewareError::new("middleware panicked")
                }
            };
            debug!("{}: middleware refused event {name:?}: {}", self.id(), refusal.message);
            self.emit_error(&SocketError::Middleware(refusal));
            return;
        }
        if !self.connected() {
            debug!("{}: ignoring event {name:?} received after disconnection", self.id());
            return;
        }
        let handler = self.handler_of(&name);
        match handler {
            Some(handler) => handler(self, args, ack),
            None => debug!("{}: no handler for event {:?} on {}", self.id(), name, self.nsp_name()),
        }
    }

    /// Room for `count` `socket.on` handlers, made before the `connection` handlers run
    /// (`Namespace::emit_connection`: as many as the namespace's last socket had).
    pub(super) fn reserve_handlers(&self, count: usize) {
        self.lock().handlers.reserve_exact(count);
    }

    /// How many `socket.on` handlers this socket has.
    pub(super) fn handler_count(&self) -> usize {
        self.lock().handlers.len()
    }

    /// The handler `socket.on(name, ...)` set, if any (cloned: it runs without the lock held).
    fn handler_of(&self, name: &str) -> Option<EventHandler> {
        let state = self.lock();
        let listener = state.handlers.iter().find(|listener| listener.event == name)?;
        Some(Arc::clone(&listener.handler))
    }

    /// An acknowledgement from the client: call the waiting callback.
    fn on_ack(&self, packet: Packet) {
        let id = match packet.id {
            Some(id) => id,
            None => return,
        };
        let pending = self.lock().acks.remove(&id);
        let pending = match pending {
            Some(pending) => pending,
            None => {
                debug!("{}: bad ack {id}", self.id());
                return;
            }
        };
        if let Some(timer) = pending.timer {
            self.inner.nsp.timers().clear_timeout(timer);
        }
        let args = match packet.data {
            PacketData::Args(args) => args,
            _ => Vec::new(),
        };
        run_guarded("an ack callback", || (pending.callback)(Ok(args)));
    }

    /// On `timers`: the answer to `id` did not come in time.
    fn on_ack_timeout(&self, id: u64) {
        let pending = self.lock().acks.remove(&id);
        if let Some(pending) = pending {
            debug!("{}: ack {id} timed out", self.id());
            run_guarded("an ack callback", || (pending.callback)(Err(AckError::Timeout)));
        }
    }

    /// A malformed packet from the client (`Client::on_error`).
    pub(super) fn on_error_packet(&self, error: &packet::ParseError) {
        self.emit_error(&SocketError::Parse(error.clone()));
    }

    /// The reference's `_onerror`: the `error` handlers hear it.
    fn emit_error(&self, error: &SocketError) {
        let handlers = self.lock().error_handlers.clone();
        if handlers.is_empty() {
            warn!("{}: missing error handler on socket: {error}", self.id());
        }
        for handler in handlers {
            handler(self, error);
        }
    }

    /// The reference's `_onclose`: run the `disconnecting` handlers (still connected, still in
    /// its rooms), then leave every room and the namespace, fail waiting acks, run the
    /// `disconnect` handlers, and drop every handler. Runs once.
    pub(super) fn on_close(&self, reason: &str) {
        let disconnecting_handlers = {
            let mut state = self.lock();
            if !state.connected || state.closing {
                return;
            }
            state.closing = true;
            state.disconnecting_handlers.clone()
        };
        for handler in disconnecting_handlers {
            handler(self, reason);
        }
        // Connection state recovery: what to keep, read while the socket is still in its rooms,
        // kept once it has left them and its namespace (a client that comes back at once must
        // not find the old socket still there).
        let session = match self.inner.nsp.recovery() {
            Some(_) if RECOVERABLE_DISCONNECT_REASONS.contains(&reason) => self.session_to_persist(),
            _ => None,
        };
        let (disconnect_handlers, acks) = {
            let mut state = self.lock();
            state.connected = false;
            let acks: Vec<PendingAck> = state.acks.drain().map(|(_, pending)| pending).collect();
            (state.disconnect_handlers.clone(), acks)
        };
        self.inner.nsp.remove_socket(self.id());
        if let Some(session) = session {
            self.adapter().persist_session(session);
        }
        if let Some(client) = self.inner.client.upgrade() {
            client.remove_socket(&self.inner.nsp);
        }
        info!(
            "{}: socket {} disconnected from {} ({reason})",
            self.inner.conn.id(),
            self.id(),
            self.nsp_name()
        );
        for pending in acks {
            if let Some(timer) = pending.timer {
                self.inner.nsp.timers().clear_timeout(timer);
            }
            run_guarded("an ack callback", || (pending.callback)(Err(AckError::Disconnected)));
        }
        for handler in disconnect_handlers {
            handler(self, reason);
        }
        // Nothing will call them any more; dropping them breaks cycles through captured handles.
        let mut state = self.lock();
        state.handlers.clear();
        state.disconnecting_handlers.clear();
        state.disconnect_handlers.clear();
        state.error_handlers.clear();
        state.any_listeners.remove(None);
        self.remove_outgoing_listeners(&mut state, None);
        state.middlewares.clear();
        state.data_listeners.clear();
    }
}

/// Builds `2[event, ...args]` (with an ack id when asked), refusing reserved event names.
pub(super) fn event_packet(nsp: &str, event: &str, args: Vec<Arg>, id: Option<u64>) -> Result<Packet, EmitError> {
    if packet::RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_string()));
    }
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(Arg::from(event));
    all.extend(args);
    Ok(Packet {
        packet_type: PacketType::Event,
        nsp: nsp.to_string(),
        id,
        data: PacketData::Args(all),
    })
}

/// A socket with flags for its next emit (the reference's `socket.flags`, which `socket.volatile`,
/// `socket.compress(...)` and `socket.timeout(...)` set and the next emit or `socket.to(...)`
/// takes): `socket.volatile().emit(...)`, `socket.timeout(d).emit_with_ack(...)`,
/// `socket.timeout(d).broadcast().emit_with_ack(...)`.
#[derive(Clone, Debug)]
pub struct FlaggedSocket {
    socket: Socket,
    flags: BroadcastFlags,
}

impl FlaggedSocket {
    fn new(socket: Socket) -> FlaggedSocket {
        FlaggedSocket {
            socket,
            flags: BroadcastFlags::default(),
        }
    }

    /// `.volatile`: dropped if the client cannot take it now (`Socket::write_to_engine`).
    pub fn volatile(mut self) -> FlaggedSocket {
        self.flags.volatile = true;
        self
    }

    /// `.compress(compress)`.
    pub fn compress(mut self, compress: bool) -> FlaggedSocket {
        self.flags.compress = Some(compress);
        self
    }

    /// `.timeout(ms)`: how long `emit_with_ack` waits.
    pub fn timeout(mut self, timeout: Duration) -> FlaggedSocket {
        self.flags.timeout = Some(timeout);
        self
    }

    /// `.emit(event, ...args)` with these flags.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        self.socket.emit_with_flags(event, args, &self.flags)
    }

    /// `.emit(event, ...args, (err, ...answer) => ...)`: `callback` gets the client's answer,
    /// `AckError::Timeout` after `timeout` if one was set, or `AckError::Disconnected`.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Arg>,
        callback: impl FnOnce(Result<Vec<Arg>, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        self.socket
            .emit_with_ack_and_flags(event, args, &self.flags, Box::new(callback))
    }

    /// `.broadcast`: every other socket of the namespace, with these flags.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.socket.nsp().clone())
            .with_flags(self.flags.clone())
            .except(self.socket.id())
    }

    /// `.to(room)`: the other sockets in `room`, with these flags.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// `.in(room)`: the same as `to`.
    pub fn in_(&self, room: &str) -> BroadcastOperator {
        self.to(room)
    }

    /// `.except(room)`: the other sockets outside `room`, with these flags.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.broadcast().except(room)
    }
}
