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
//!                            a middleware that panicked  -> 44/custom,{"message":"middleware panicked"}
//! 40/custom?token=abc,       a socket.io 2.x client      -> 40/custom,   (refused: 44/custom,"not authorized")
//! ```
//!
//! A *parent* namespace (`io.of(regex)`, `io.of_fn(...)`, the reference's `ParentNamespace`) is
//! a `Namespace` too, named `/_0`, `/_1`, ...: no client joins it; it holds the `connection`
//! handler and middlewares its children copy when they are made (`new_child`), and a broadcast
//! on it goes to each child (`broadcast.rs`). `namespaces.rs` makes the children.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, Weak};

use log::{debug, error};
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
    /// CONNECTs on their way in (the reference's `_preConnectSockets`): found in the server's
    /// namespaces, middlewares not yet done. An empty child is removed only when this is 0 too.
    connecting: usize,
}

struct Inner {
    name: String,
    timers: Timers,
    connection_handler: Mutex<Option<ConnectionHandler>>,
    middlewares: Mutex<Vec<Middleware>>,
    members: Mutex<Members>,
    /// `Some` for a parent namespace: its children, in the order they were made.
    children: Option<Mutex<Vec<Namespace>>>,
    /// For a child: its parent (weak: the parent holds its children).
    parent: Option<Weak<Inner>>,
}

/// A handle to a namespace.
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<Inner>,
}

impl Namespace {
    /// A namespace clients join (`io.of("/custom")`).
    pub(super) fn new(name: &str, timers: Timers) -> Namespace {
        Namespace::make(name, timers, None, None)
    }

    /// A parent namespace (`io.of(regex)`): no sockets of its own, only children.
    pub(super) fn new_parent(name: &str, timers: Timers) -> Namespace {
        Namespace::make(name, timers, Some(Mutex::new(Vec::new())), None)
    }

    fn make(
        name: &str,
        timers: Timers,
        children: Option<Mutex<Vec<Namespace>>>,
        parent: Option<Weak<Inner>>,
    ) -> Namespace {
        Namespace {
            inner: Arc::new(Inner {
                name: name.to_string(),
                timers,
                connection_handler: Mutex::new(None),
                middlewares: Mutex::new(Vec::new()),
                members: Mutex::new(Members::default()),
                children,
                parent,
            }),
        }
    }

    /// The reference's `createChild`, its first half: a child of this parent namespace, named
    /// `name`, with a copy of the parent's `connection` handler and middlewares as they are now
    /// (added to the parent later, they do not reach this child). `namespaces.rs` registers it.
    pub(super) fn new_child(&self, name: &str) -> Namespace {
        let child = Namespace::make(name, self.inner.timers.clone(), None, Some(Arc::downgrade(&self.inner)));
        *lock(&child.inner.connection_handler) = lock(&self.inner.connection_handler).clone();
        *lock(&child.inner.middlewares) = lock(&self.inner.middlewares).clone();
        if let Some(children) = &self.inner.children {
            lock(children).push(child.clone());
        }
        child
    }

    /// `nsp.name`: `"/"`, `"/custom"`; `"/_0"` for the first parent namespace.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether this is a parent namespace (`io.of(regex)`, `io.of_fn(...)`).
    pub fn is_parent(&self) -> bool {
        self.inner.children.is_some()
    }

    /// A parent's children (the reference's private `children`), in the order they were made;
    /// empty for any other namespace.
    pub fn children(&self) -> Vec<Namespace> {
        match &self.inner.children {
            Some(children) => lock(children).clone(),
            None => Vec::new(),
        }
    }

    /// A child's parent namespace.
    pub fn parent(&self) -> Option<Namespace> {
        let parent = self.inner.parent.as_ref()?.upgrade()?;
        Some(Namespace { inner: parent })
    }

    /// Whether both handles name the same namespace.
    pub fn same(&self, other: &Namespace) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Takes `child` out of this parent's children (`cleanupEmptyChildNamespaces`).
    pub(super) fn remove_child(&self, child: &Namespace) {
        if let Some(children) = &self.inner.children {
            lock(children).retain(|each| !each.same(child));
        }
    }

    pub(super) fn timers(&self) -> &Timers {
        &self.inner.timers
    }

    /// `nsp.on('connection', handler)`. On a parent namespace: the handler of the children made
    /// from now on.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        *lock(&self.inner.connection_handler) = Some(Arc::new(handler));
    }

    /// `nsp.use(middleware)`: runs before `connection`, in the order added.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static) {
        lock(&self.inner.middlewares).push(Arc::new(middleware));
    }

    /// `nsp.emit(event, ...args)`: to every socket of the namespace (of every child, on a
    /// parent namespace).
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

    /// The connected sockets (`nsp.sockets`); none on a parent namespace.
    pub fn sockets(&self) -> Vec<Socket> {
        lock(&self.inner.members).sockets.values().cloned().collect()
    }

    /// A CONNECT for this namespace is on its way in (`namespaces.rs`, under its lock).
    pub(super) fn begin_connect(&self) {
        lock(&self.inner.members).connecting += 1;
    }

    /// That CONNECT is done: connected or refused.
    pub(super) fn end_connect(&self) {
        let mut members = lock(&self.inner.members);
        members.connecting = members.connecting.saturating_sub(1);
    }

    /// No socket, and none on its way in.
    pub(super) fn is_empty(&self) -> bool {
        let members = lock(&self.inner.members);
        members.sockets.is_empty() && members.connecting == 0
    }

    /// The reference's `_add`: run the middlewares on a new socket, then connect it or refuse it.
    /// Returns the socket when it connected.
    ///
    /// A middleware that panics refuses the socket: the client gets
    /// `44{"message":"middleware panicked"}` and the panic is logged (the reference, whose
    /// `_add` is an `async` function, would leave the promise rejected and Node would stop).
    pub(super) fn add(&self, socket: Socket) -> Option<Socket> {
        let middlewares = lock(&self.inner.middlewares).clone();
        for middleware in middlewares {
            let outcome = match catch_unwind(AssertUnwindSafe(|| middleware(&socket))) {
                Ok(outcome) => outcome,
                Err(panic) => {
                    error!(
                        "{}: a middleware panicked on socket {}: {}",
                        self.name(),
                        socket.id(),
                        panic_message(&*panic)
                    );
                    Err(ConnectError {
                        message: "middleware panicked".to_string(),
                        data: None,
                    })
                }
            };
            if let Err(refusal) = outcome {
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

/// The text of a caught panic (`panic!("...")` carries a `&str` or a `String`).
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        return text.to_string();
    }
    if let Some(text) = panic.downcast_ref::<String>() {
        return text.clone();
    }
    "(no message)".to_string()
}
