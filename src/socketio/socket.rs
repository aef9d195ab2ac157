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
//! | `socket.on('disconnect', (reason) => ...)`  | `socket.on_disconnect(\|socket, reason\| ...)`  |
//! | `socket.on('error', (err) => ...)`          | `socket.on_error(\|socket, error\| ...)`        |
//! | `socket.emit('news', 'Hello Socket.IO')`    | `socket.emit("news", vec!["Hello Socket.IO".into()])` |
//! | `socket.timeout(ms).emit('ask', (err, a) => ...)` | `socket.emit_with_ack("ask", args, timeout, callback)`, or `socket.timeout(d).emit_with_ack("ask", args, callback)` |
//! | `socket.volatile.emit(...)`, `socket.compress(false).emit(...)` | `socket.volatile().emit(...)`, `socket.compress(false).emit(...)` |
//! | `socket.data`, `socket.data = {...}`        | `socket.data()`, `socket.set_data(json!({...}))` |
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

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use log::{debug, info, warn};
use serde_json::Value;

use super::adapter::{BroadcastFlags, ClientAckCallback};
use super::broadcast::BroadcastOperator;
use super::client::Client;
use super::namespace::Namespace;
use super::packet::{self, Arg, Packet, PacketData, PacketType};
use crate::engineio;
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
    /// Request headers, names in lower case (`x-forwarded-for`, `user-agent`, ...).
    pub headers: Vec<(String, String)>,
    /// The query string of the first request, decoded.
    pub query: Vec<(String, String)>,
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
            headers: pairs_from_json(value.get("headers")),
            query: pairs_from_json(value.get("query")),
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

impl std::error::Error for AckError {}

/// A handler of one event: gets the socket, the arguments, and an `Ack` when the client asked
/// for an answer.
pub type EventHandler = Arc<dyn Fn(&Socket, Vec<Arg>, Option<Ack>) + Send + Sync>;
/// A `disconnect` handler: gets the reason ("client namespace disconnect", "ping timeout", ...).
pub type DisconnectHandler = Arc<dyn Fn(&Socket, &str) + Send + Sync>;
/// An `error` handler.
pub type ErrorHandler = Arc<dyn Fn(&Socket, &packet::ParseError) + Send + Sync>;
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

/// An emit waiting for its acknowledgement.
struct PendingAck {
    callback: AckCallback,
    timer: Option<TimerId>,
}

/// What changes in a socket.
struct State {
    connected: bool,
    handlers: HashMap<String, EventHandler>,
    disconnect_handlers: Vec<DisconnectHandler>,
    error_handlers: Vec<ErrorHandler>,
    /// Ack ids come from the namespace (`Namespace::next_ack_id`), so that a broadcast with acks
    /// can use one id for all its sockets.
    acks: HashMap<u64, PendingAck>,
}

struct Inner {
    id: String,
    nsp: Namespace,
    /// The Engine.IO session carrying this socket (and its namespace siblings).
    conn: engineio::Socket,
    client: Weak<Client>,
    handshake: Handshake,
    /// `socket.data`: anything the application wants to keep with the socket (`{}` at first).
    data: Mutex<Value>,
    state: Mutex<State>,
}

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
    /// A socket that is not connected yet (middlewares run on it first).
    pub(super) fn new(
        id: String,
        nsp: Namespace,
        conn: engineio::Socket,
        client: Weak<Client>,
        handshake: Handshake,
    ) -> Socket {
        let state = State {
            connected: false,
            handlers: HashMap::new(),
            disconnect_handlers: Vec::new(),
            error_handlers: Vec::new(),
            acks: HashMap::new(),
        };
        Socket {
            inner: Arc::new(Inner {
                id,
                nsp,
                conn,
                client,
                handshake,
                data: Mutex::new(Value::Object(serde_json::Map::new())),
                state: Mutex::new(state),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.inner.state)
    }

    /// `socket.id`: 20 random characters, not the Engine.IO session id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// `socket.handshake` (and what the chapter reads from `socket.request`).
    pub fn handshake(&self) -> &Handshake {
        &self.inner.handshake
    }

    /// `socket.nsp`.
    pub fn nsp(&self) -> &Namespace {
        &self.inner.nsp
    }

    fn nsp_name(&self) -> &str {
        self.inner.nsp.name()
    }

    /// `socket.conn.transport.name`: `"polling"` or `"websocket"`.
    pub fn transport_name(&self) -> &'static str {
        self.inner.conn.transport_name()
    }

    /// `socket.connected`.
    pub fn connected(&self) -> bool {
        self.lock().connected
    }

    /// `socket.on(event, handler)`: one handler per event name (a second replaces the first).
    pub fn on(&self, event: &str, handler: impl Fn(&Socket, Vec<Arg>, Option<Ack>) + Send + Sync + 'static) {
        self.lock().handlers.insert(event.to_string(), Arc::new(handler));
    }

    /// `socket.on('disconnect', (reason) => ...)`.
    pub fn on_disconnect(&self, handler: impl Fn(&Socket, &str) + Send + Sync + 'static) {
        self.lock().disconnect_handlers.push(Arc::new(handler));
    }

    /// `socket.on('error', (err) => ...)`: a malformed packet from this client.
    pub fn on_error(&self, handler: impl Fn(&Socket, &packet::ParseError) + Send + Sync + 'static) {
        self.lock().error_handlers.push(Arc::new(handler));
    }

    /// `socket.data`: a copy of what the application keeps with this socket (`{}` until set).
    /// `fetch_sockets` returns it too.
    pub fn data(&self) -> Value {
        crate::sync::lock(&self.inner.data).clone()
    }

    /// `socket.data = value`.
    pub fn set_data(&self, data: Value) {
        *crate::sync::lock(&self.inner.data) = data;
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
    fn emit_with_flags(&self, event: &str, args: Vec<Arg>, flags: &BroadcastFlags) -> Result<(), EmitError> {
        let packet = event_packet(self.nsp_name(), event, args, None)?;
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
        if !self.connected() {
            return;
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
        self.notify_outgoing_listeners(packet);
        self.packet(packet, flags)
    }

    /// The reference's `notifyOutgoingListeners`: called with every EVENT this socket sends,
    /// its own emits and the broadcasts that reach it (`MemoryAdapter::broadcast`), before
    /// the packet is written; not with acks, CONNECT or DISCONNECT. The `on_any_outgoing`
    /// listeners are to run here; there are none yet.
    pub(crate) fn notify_outgoing_listeners(&self, _packet: &Packet) {}

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
        self.write_to_engine(packet::encode(packet), flags)
    }

    /// The reference's `client.writeToEngine`: queues one packet's messages on the Engine.IO
    /// session. A `volatile` packet is dropped, `Ok`, when the transport is not writable now
    /// (`engineio::Socket::writable`: polling with no GET held, an upgrade under way, a
    /// WebSocket write not finished); `compress` goes down with the messages.
    pub(crate) fn write_to_engine(
        &self,
        messages: Vec<engineio::Message>,
        flags: &BroadcastFlags,
    ) -> Result<(), EmitError> {
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
        match self.inner.conn.write(messages, options) {
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
        let _ = self.write_to_engine(packet::encode(&packet), &BroadcastFlags::default());
    }

    /// `socket.conn`: the Engine.IO session under this socket (and its namespace siblings).
    pub fn conn(&self) -> &engineio::Socket {
        &self.inner.conn
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

    /// The reference's `_onconnect`: join its own room, answer `40{"sid":"..."}`.
    pub(super) fn on_connect(&self) {
        self.lock().connected = true;
        self.join(self.id());
        let mut answer = serde_json::Map::new();
        answer.insert("sid".to_string(), Value::String(self.id().to_string()));
        let packet = Packet {
            packet_type: PacketType::Connect,
            nsp: self.nsp_name().to_string(),
            id: None,
            data: PacketData::Object(Value::Object(answer)),
        };
        let _ = self.packet(&packet, &BroadcastFlags::default());
        info!(
            "{}: socket {} connected to {}",
            self.inner.conn.id(),
            self.id(),
            self.nsp_name()
        );
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
        let handler = self.lock().handlers.get(&name).cloned();
        match handler {
            Some(handler) => handler(self, args, ack),
            None => debug!("{}: no handler for event {:?} on {}", self.id(), name, self.nsp_name()),
        }
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

    /// The reference's `_onerror`: the error handlers hear about a malformed packet.
    pub(super) fn on_error_packet(&self, error: &packet::ParseError) {
        let handlers = self.lock().error_handlers.clone();
        if handlers.is_empty() {
            warn!("{}: missing error handler on socket: {error}", self.id());
        }
        for handler in handlers {
            handler(self, error);
        }
    }

    /// The reference's `_onclose`: leave every room and the namespace, fail waiting acks, run the
    /// `disconnect` handlers, then drop every handler. Runs once.
    pub(super) fn on_close(&self, reason: &str) {
        let (disconnect_handlers, acks) = {
            let mut state = self.lock();
            if !state.connected {
                return;
            }
            state.connected = false;
            let acks: Vec<PendingAck> = state.acks.drain().map(|(_, pending)| pending).collect();
            (state.disconnect_handlers.clone(), acks)
        };
        self.inner.nsp.remove_socket(self.id());
        if let Some(client) = self.inner.client.upgrade() {
            client.remove_socket(self.nsp_name());
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
        state.disconnect_handlers.clear();
        state.error_handlers.clear();
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
