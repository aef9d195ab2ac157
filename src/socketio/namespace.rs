//! A namespace: `io.of("/custom")`, and `/` itself (the reference's `namespace.ts`).
//!
//! It holds the `connection` handler (`io.on('connection', ...)` is the handler of `/`), the
//! middlewares (`io.use(...)`), its connected sockets and their rooms. A client joins it with
//! a CONNECT packet:
//!
//! ```text
//! 40                         CONNECT to "/" (no auth)   -> 40{"sid":"<socket id>"}
//! 40/custom,{"token":"abc"}  CONNECT to "/custom"        -> 40/custom,{"sid":"<socket id>"}
//!                            refused by a middleware     -> 44/custom,{"message":"not authorized","data":{...}}
//! 40/custom?token=abc,       a socket.io 2.x client      -> 40/custom,   (refused: 44/custom,"not authorized")
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use log::debug;
use serde_json::Value;

use super::adapter::Adapter;
use super::broadcast::BroadcastOperator;
use super::packet::Arg;
use super::socket::{EmitError, Socket};
use crate::sync::lock;
use crate::timer::Timers;

/// `io.on('connection', (socket) => ...)`.
pub type ConnectionHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
/// `io.use((socket, next) => ...)`: `Ok(())` is `next()`, `Err` is `next(new Error(...))`.
pub type Middleware = Arc<dyn Fn(&Socket) -> Result<(), ConnectError> + Send + Sync>;

/// A middleware's refusal, sent to the client as CONNECT_ERROR `44{"message":...,"data":...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// `err.message`.
    pub message: String,
    /// `err.data`, if any.
    pub data: Option<Value>,
}

/// The payload of a CONNECT_ERROR for a middleware's refusal: `{"message":...,"data":...}`; to a
/// socket.io 2.x client (Engine.IO v3) `err.data || err.message`, as the reference's `_add`
/// sends it: `44/custom,"not authorized"`.
fn connect_error_data(socket: &Socket, refusal: ConnectError) -> Value {
    if socket.conn().protocol() == 3 {
        return match refusal.data {
            Some(data) if is_truthy(&data) => data,
            _ => Value::String(refusal.message),
        };
    }
    let mut data = serde_json::Map::new();
    data.insert("message".to_string(), Value::String(refusal.message));
    if let Some(extra) = refusal.data {
        data.insert("data".to_string(), extra);
    }
    Value::Object(data)
}

/// JavaScript's truthiness of a JSON value (`err.data || ...`).
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The sockets of a namespace and their rooms, under one lock.
#[derive(Default)]
struct Members {
    sockets: HashMap<String, Socket>,
    adapter: Adapter,
}

struct Inner {
    name: String,
    timers: Timers,
    connection_handler: Mutex<Option<ConnectionHandler>>,
    middlewares: Mutex<Vec<Middleware>>,
    members: Mutex<Members>,
}

/// A handle to a namespace.
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<Inner>,
}

impl Namespace {
    pub(super) fn new(name: &str, timers: Timers) -> Namespace {
        Namespace {
            inner: Arc::new(Inner {
                name: name.to_string(),
                timers,
                connection_handler: Mutex::new(None),
                middlewares: Mutex::new(Vec::new()),
                members: Mutex::new(Members::default()),
            }),
        }
    }

    /// `nsp.name`: `"/"`, `"/custom"`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub(super) fn timers(&self) -> &Timers {
        &self.inner.timers
    }

    /// `nsp.on('connection', handler)`.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        *lock(&self.inner.connection_handler) = Some(Arc::new(handler));
    }

    /// `nsp.use(middleware)`: runs before `connection`, in the order added.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static) {
        lock(&self.inner.middlewares).push(Arc::new(middleware));
    }

    /// `nsp.emit(event, ...args)`: to every socket of the namespace.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<usize, EmitError> {
        BroadcastOperator::new(self.clone()).emit(event, args)
    }

    /// `nsp.to(room)`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).to(room)
    }

    /// `nsp.except(room)`.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).except(room)
    }

    /// The connected sockets (`nsp.sockets`).
    pub fn sockets(&self) -> Vec<Socket> {
        lock(&self.inner.members).sockets.values().cloned().collect()
    }

    /// The reference's `_add`: run the middlewares on a new socket, then connect it or refuse it.
    /// Returns the socket when it connected.
    pub(super) fn add(&self, socket: Socket) -> Option<Socket> {
        let middlewares = lock(&self.inner.middlewares).clone();
        for middleware in middlewares {
            if let Err(refusal) = middleware(&socket) {
                debug!(
                    "{}: middleware refused socket {}: {}",
                    self.name(),
                    socket.id(),
                    refusal.message
                );
                socket.send_connect_error(connect_error_data(&socket, refusal));
                return None;
            }
        }
        lock(&self.inner.members)
            .sockets
            .insert(socket.id().to_string(), socket.clone());
        socket.on_connect();
        Some(socket)
    }

    /// Emits `connection` (after the client has registered the socket).
    pub(super) fn emit_connection(&self, socket: &Socket) {
        let handler = lock(&self.inner.connection_handler).clone();
        match handler {
            Some(handler) => handler(socket),
            None => debug!("{}: no connection handler", self.name()),
        }
    }

    /// The reference's `_remove` plus `leaveAll`.
    pub(super) fn remove_socket(&self, id: &str) {
        let mut members = lock(&self.inner.members);
        members.sockets.remove(id);
        members.adapter.del_all(id);
    }

    pub(super) fn adapter_add(&self, id: &str, room: &str) {
        lock(&self.inner.members).adapter.add(id, room);
    }

    pub(super) fn adapter_del(&self, id: &str, room: &str) {
        lock(&self.inner.members).adapter.del(id, room);
    }

    pub(super) fn adapter_rooms_of(&self, id: &str) -> HashSet<String> {
        lock(&self.inner.members).adapter.rooms_of(id)
    }

    /// The sockets a broadcast to `rooms` minus `except` reaches.
    pub(super) fn broadcast_targets(&self, rooms: &[String], except: &[String]) -> Vec<Socket> {
        let members = lock(&self.inner.members);
        let ids = members.adapter.targets(rooms, except);
        let mut sockets = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(socket) = members.sockets.get(&id) {
                sockets.push(socket.clone());
            }
        }
        sockets
    }
}
