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
//! | `socket.timeout(ms).emit('ask', (err, a) => ...)` | `socket.emit_with_ack("ask", args, timeout, callback)` |
//! | `socket.join(room)` / `socket.leave(room)`  | `socket.join(room)` / `socket.leave(room)`    |
//! | `socket.to(room).emit(...)`, `socket.broadcast.emit(...)` | `socket.to(room).emit(...)`, `socket.broadcast().emit(...)` |
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

use super::broadcast::BroadcastOperator;
use super::client::Client;
use super::namespace::Namespace;
use super::packet::{self, Arg, Packet, PacketData, PacketType};
use crate::engineio;
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
        self.socket.packet(&packet)
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
    acks: HashMap<u64, PendingAck>,
    next_ack_id: u64,
}

struct Inner {
    id: String,
    nsp: Namespace,
    /// The Engine.IO session carrying this socket (and its namespace siblings).
    conn: engineio::Socket,
    client: Weak<Client>,
    handshake: Handshake,
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
            next_ack_id: 0,
        };
        Socket {
            inner: Arc::new(Inner {
                id,
                nsp,
                conn,
                client,
                handshake,
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

    /// `socket.emit(event, ...args)`:
    ///
    /// `socket.emit("news", vec!["Hello Socket.IO".into()])` writes `42["news","Hello Socket.IO"]`.
    /// After the socket's disconnect it writes nothing and returns `EmitError::Disconnected`.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        let packet = event_packet(self.nsp_name(), event, args, None)?;
        self.packet(&packet)
    }

    /// `socket.timeout(ms).emit(event, ...args, (err, ...answer) => ...)`: writes `42<id>[...]`
    /// and calls `callback` with the client's `43<id>[...]`, or with `AckError::Timeout`.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Arg>,
        timeout: Duration,
        callback: impl FnOnce(Result<Vec<Arg>, AckError>) + Send + 'static,
    ) -> Result<(), EmitError> {
        let id = {
            let mut state = self.lock();
            if !state.connected {
                return Err(EmitError::Disconnected);
            }
            let id = state.next_ack_id;
            state.next_ack_id += 1;
            let weak = Arc::downgrade(&self.inner);
            let timer = self.inner.nsp.timers().set_timeout(timeout, move || {
                if let Some(inner) = weak.upgrade() {
                    Socket { inner }.on_ack_timeout(id);
                }
            });
            state.acks.insert(
                id,
                PendingAck {
                    callback: Box::new(callback),
                    timer: Some(timer),
                },
            );
            id
        };
        let sent = event_packet(self.nsp_name(), event, args, Some(id)).and_then(|packet| self.packet(&packet));
        if let Err(error) = sent {
            let pending = self.lock().acks.remove(&id);
            if let Some(PendingAck { timer: Some(timer), .. }) = pending {
                self.inner.nsp.timers().clear_timeout(timer);
            }
            return Err(error);
        }
        Ok(())
    }

    /// `socket.join(room)`.
    pub fn join(&self, room: &str) {
        if self.connected() {
            self.inner.nsp.adapter_add(self.id(), room);
        }
    }

    /// `socket.leave(room)`.
    pub fn leave(&self, room: &str) {
        self.inner.nsp.adapter_del(self.id(), room);
    }

    /// `socket.rooms`: its own id and the rooms it joined.
    pub fn rooms(&self) -> HashSet<String> {
        self.inner.nsp.adapter_rooms_of(self.id())
    }

    /// `socket.to(room)`: every socket in `room` but this one.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.nsp.clone())
            .to(room)
            .except(self.id())
    }

    /// `socket.except(room)`: every socket of the namespace outside `room`, and not this one.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.nsp.clone())
            .except(room)
            .except(self.id())
    }

    /// `socket.broadcast`: every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.inner.nsp.clone()).except(self.id())
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
        let _ = self.packet(&packet);
    }

    /// Encodes a packet and queues its Engine.IO messages together, while the socket is
    /// connected: once it has left its namespace (`41` from either side, or the session ended)
    /// `emit`, `ack.send` and `emit_with_ack` return `EmitError::Disconnected` and nothing goes
    /// out, even when the Engine.IO session still carries the client's other namespaces.
    ///
    /// The check and the queueing are two steps: an emit from another thread that passed the
    /// check just before a disconnect may still follow the `41`; the client drops an event for a
    /// namespace it has left.
    pub(super) fn packet(&self, packet: &Packet) -> Result<(), EmitError> {
        if !self.connected() {
            debug!("{}: not connected, packet not sent", self.id());
            return Err(EmitError::Disconnected);
        }
        send_encoded(&self.inner.conn, packet::encode(packet))
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
        let _ = send_encoded(&self.inner.conn, packet::encode(&packet));
    }

    /// The Engine.IO session, for broadcasts.
    pub(super) fn conn(&self) -> &engineio::Socket {
        &self.inner.conn
    }

    // ----- lifecycle, called by the namespace and the client ------------------------------------

    /// The reference's `_onconnect`: join its own room, answer `40{"sid":"..."}`.
    pub(super) fn on_connect(&self) {
        self.lock().connected = true;
        self.inner.nsp.adapter_add(self.id(), self.id());
        let mut answer = serde_json::Map::new();
        answer.insert("sid".to_string(), Value::String(self.id().to_string()));
        let packet = Packet {
            packet_type: PacketType::Connect,
            nsp: self.nsp_name().to_string(),
            id: None,
            data: PacketData::Object(Value::Object(answer)),
        };
        let _ = self.packet(&packet);
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
        (pending.callback)(Ok(args));
    }

    fn on_ack_timeout(&self, id: u64) {
        let pending = self.lock().acks.remove(&id);
        if let Some(pending) = pending {
            debug!("{}: ack {id} timed out", self.id());
            (pending.callback)(Err(AckError::Timeout));
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
            (pending.callback)(Err(AckError::Disconnected));
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

/// Queues encoded messages on an Engine.IO session, mapping its errors.
pub(super) fn send_encoded(conn: &engineio::Socket, messages: Vec<engineio::Message>) -> Result<(), EmitError> {
    match conn.send_many(messages) {
        Ok(()) => Ok(()),
        Err(engineio::SendError::Closed) => Err(EmitError::Disconnected),
        Err(engineio::SendError::BufferFull) => Err(EmitError::BufferFull),
    }
}
