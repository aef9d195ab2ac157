//! A namespace: `io.of("/custom")`, and `/` itself (the reference's `namespace.ts`).
//!
//! It holds the `connection` handlers (`io.on('connection', ...)` adds one to `/`; each runs in
//! the order added, a `prepend_connection` one first), the
//! middlewares (`io.use(...)`), its connected sockets, its adapter (rooms, and every operator
//! that reaches many sockets: `adapter/`), and the listeners of events sent by other servers
//! (`nsp.on("hello", ...)` for `serverSideEmit`). A client joins it with a CONNECT packet:
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
//! handler and middlewares its children copy when they are made (`new_child`), and its adapter
//! (`adapter::ParentAdapter`) hands a broadcast on it to each child's adapter. `namespaces.rs`
//! makes the children.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use log::{debug, error};
use serde_json::Value;

use super::adapter::{Adapter, AdapterFactory, ParentAdapter, TimeoutError};
use super::broadcast::{BroadcastOperator, RemoteSocket};
use super::packet::Arg;
use super::parser::Parser;
use super::server::ConnectionStateRecovery;
use super::socket::{EmitError, Socket};
use crate::sync::{lock, panic_message, run_guarded};
use crate::timer::Timers;

/// `io.on('connection', (socket) => ...)`.
pub type ConnectionHandler = Arc<dyn Fn(&Socket) + Send + Sync>;
/// `io.use((socket, next) => ...)`: `Ok(())` is `next()`, `Err` is `next(new Error(...))`.
pub type Middleware = Arc<dyn Fn(&Socket) -> Result<(), ConnectError> + Send + Sync>;
/// `nsp.on("hello", (...args, cb?) => ...)`: an event another server sent with `serverSideEmit`;
/// `Some(ack)` when it asked for an answer (`serverSideEmitWithAck`).
pub type ServerSideListener = Arc<dyn Fn(Vec<Arg>, Option<ServerSideAck>) + Send + Sync>;

/// Event names `serverSideEmit` refuses (the reference's namespace `RESERVED_EVENTS`).
pub const SERVER_SIDE_RESERVED_EVENTS: [&str; 3] = ["connect", "connection", "new_namespace"];

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

/// The answer a server-side listener gives to `serverSideEmitWithAck` (the reference's `cb`,
/// the listener's last argument). One argument, at most once: `send` takes `self`.
pub struct ServerSideAck {
    respond: Box<dyn FnOnce(Arg) + Send>,
}

impl ServerSideAck {
    /// An answer that calls `respond` (a cluster adapter publishes it to the asking server).
    pub fn new(respond: impl FnOnce(Arg) + Send + 'static) -> ServerSideAck {
        ServerSideAck {
            respond: Box::new(respond),
        }
    }

    /// `cb(response)`.
    pub fn send(self, response: Arg) {
        (self.respond)(response)
    }
}

/// The sockets of a namespace, under one lock (their rooms are the adapter's).
#[derive(Default)]
struct Members {
    /// `nsp.sockets`: the connected sockets by id.
    sockets: HashMap<String, Socket>,
    /// CONNECTs on their way in (the reference's `_preConnectSockets`): found in the server's
    /// namespaces, middlewares not yet done. An empty child is removed only when this is 0 too.
    connecting: usize,
}

struct Inner {
    name: String,
    timers: Timers,
    adapter: Arc<dyn Adapter>,
    /// The `connection` listeners, in the order they run.
    connection_handlers: Mutex<Vec<ConnectionHandler>>,
    middlewares: Mutex<Vec<Middleware>>,
    members: Mutex<Members>,
    server_side_listeners: Mutex<HashMap<String, ServerSideListener>>,
    /// The reference's `_ids`: ack ids, one counter for the namespace, so that a broadcast with
    /// acks can give every socket the same id.
    next_ack_id: AtomicU64,
    /// How many `socket.on` handlers the last socket had once the `connection` handlers had run:
    /// the room the next socket's list gets before they run. Its sockets get the same handlers,
    /// so the list is made once at its size rather than grown 4, 8, 16, 32 (the smaller lists
    /// freed on the reader thread stay in that thread's malloc cache, for as long as it lives:
    /// NOTES.md section 7, "An idle client's bytes").
    handlers_per_socket: AtomicUsize,
    /// How many of its sockets have an outgoing catch-all listener (`on_any_outgoing`): while
    /// none has, a broadcast does not look into each socket's listeners (its lock, in memory
    /// gone cold since the socket's last packet) to find them empty.
    sockets_hearing_outgoing: AtomicUsize,
    /// `Some` for a parent namespace: its children, in the order they were made.
    children: Option<Mutex<Vec<Namespace>>>,
    /// For a child: its parent (weak: the parent holds its children).
    parent: Option<Weak<Inner>>,
    /// The server's `connectionStateRecovery`.
    recovery: Option<ConnectionStateRecovery>,
    /// The server's `parser`.
    parser: Arc<dyn Parser>,
}

/// A handle to a namespace.
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<Inner>,
}

/// A handle to a namespace that does not keep it alive: what its adapter holds.
#[derive(Clone)]
pub struct WeakNamespace {
    name: String,
    inner: Weak<Inner>,
}

impl WeakNamespace {
    /// The namespace's name (works even while the namespace is being made).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace, while the server has it.
    pub fn upgrade(&self) -> Option<Namespace> {
        self.inner.upgrade().map(|inner| Namespace { inner })
    }
}

impl Namespace {
    /// A namespace clients join (`io.of("/custom")`), with the adapter `adapter` makes (the
    /// server's `adapter` option). Its `init` is the caller's to run, with no lock held.
    pub(super) fn new(
        name: &str,
        timers: Timers,
        adapter: &AdapterFactory,
        recovery: Option<ConnectionStateRecovery>,
        parser: Arc<dyn Parser>,
    ) -> Namespace {
        Namespace::make(name, timers, None, None, recovery, parser, |nsp| adapter.create(nsp))
    }

    /// A parent namespace (`io.of(regex)`): no sockets of its own, only children; its adapter is
    /// always a `ParentAdapter` (the reference's `ParentBroadcastAdapter`).
    pub(super) fn new_parent(
        name: &str,
        timers: Timers,
        recovery: Option<ConnectionStateRecovery>,
        parser: Arc<dyn Parser>,
    ) -> Namespace {
        Namespace::make(
            name,
            timers,
            Some(Mutex::new(Vec::new())),
            None,
            recovery,
            parser,
            |nsp| Arc::new(ParentAdapter::new(nsp)),
        )
    }

    fn make(
        name: &str,
        timers: Timers,
        children: Option<Mutex<Vec<Namespace>>>,
        parent: Option<Weak<Inner>>,
        recovery: Option<ConnectionStateRecovery>,
        parser: Arc<dyn Parser>,
        adapter: impl FnOnce(WeakNamespace) -> Arc<dyn Adapter>,
    ) -> Namespace {
        let inner = Arc::new_cyclic(|weak| Inner {
            name: name.to_string(),
            timers,
            adapter: adapter(WeakNamespace {
                name: name.to_string(),
                inner: weak.clone(),
            }),
            connection_handlers: Mutex::new(Vec::new()),
            middlewares: Mutex::new(Vec::new()),
            members: Mutex::new(Members::default()),
            server_side_listeners: Mutex::new(HashMap::new()),
            next_ack_id: AtomicU64::new(0),
            handlers_per_socket: AtomicUsize::new(0),
            sockets_hearing_outgoing: AtomicUsize::new(0),
            children,
            parent,
            recovery,
            parser,
        });
        Namespace { inner }
    }

    /// The reference's `createChild`, its first half: a child of this parent namespace, named
    /// `name`, with its adapter from `adapter`, and a copy of the parent's `connection` handlers
    /// and middlewares as they are now (added to the parent later, they do not reach this
    /// child). `namespaces.rs` registers it.
    pub(super) fn new_child(&self, name: &str, adapter: &AdapterFactory) -> Namespace {
        let child = Namespace::make(
            name,
            self.inner.timers.clone(),
            None,
            Some(Arc::downgrade(&self.inner)),
            self.inner.recovery.clone(),
            self.inner.parser.clone(),
            |nsp| adapter.create(nsp),
        );
        *lock(&child.inner.connection_handlers) = lock(&self.inner.connection_handlers).clone();
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

    /// A handle that does not keep the namespace alive.
    pub fn downgrade(&self) -> WeakNamespace {
        WeakNamespace {
            name: self.inner.name.clone(),
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The server's timers (`setTimeout`), for ack timeouts.
    pub fn timers(&self) -> &Timers {
        &self.inner.timers
    }

    /// The server's `connectionStateRecovery`, if it is on.
    pub fn recovery(&self) -> Option<&ConnectionStateRecovery> {
        self.inner.recovery.as_ref()
    }

    /// The server's `parser`: what this namespace's packets are written with.
    pub fn parser(&self) -> &dyn Parser {
        self.inner.parser.as_ref()
    }

    /// `nsp.adapter`: its rooms (`rooms()`, `room_size(room)`), their events (`events()`).
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.inner.adapter
    }

    /// The next ack id of the namespace (the reference's `nsp._ids++`).
    pub fn next_ack_id(&self) -> u64 {
        self.inner.next_ack_id.fetch_add(1, Ordering::Relaxed)
    }

    /// `nsp.on('connection', handler)`: runs for each socket that connects, after the handlers
    /// added before it. On a parent namespace: a handler of the children made from now on.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        lock(&self.inner.connection_handlers).push(Arc::new(handler));
    }

    /// `nsp.prependListener('connection', handler)`: the same, run before the handlers already
    /// added (the admin UI watches sockets so, before the application's handler runs).
    pub fn prepend_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        lock(&self.inner.connection_handlers).insert(0, Arc::new(handler));
    }

    /// `nsp.use(middleware)`: runs before `connection`, in the order added.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static) {
        lock(&self.inner.middlewares).push(Arc::new(middleware));
    }

    // ----- operators: all of them are a `BroadcastOperator` to the whole namespace ---------------

    /// A `BroadcastOperator` to every socket of the namespace.
    pub fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// `nsp.emit(event, ...args)`: to every socket of the namespace (of every child, on a
    /// parent namespace).
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        self.operator().emit(event, args)
    }

    /// `nsp.to(room)`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.operator().to(room)
    }

    /// `nsp.in(room)`: the same as `to`.
    pub fn in_(&self, room: &str) -> BroadcastOperator {
        self.operator().in_(room)
    }

    /// `nsp.except(room)`.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.operator().except(room)
    }

    /// `nsp.local`: this server only.
    pub fn local(&self) -> BroadcastOperator {
        self.operator().local()
    }

    /// `nsp.volatile`: dropped for a client that cannot take it now.
    pub fn volatile(&self) -> BroadcastOperator {
        self.operator().volatile()
    }

    /// `nsp.compress(compress)`.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.operator().compress(compress)
    }

    /// `nsp.timeout(ms)`: then `emit_with_ack`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.operator().timeout(timeout)
    }

    /// `nsp.fetchSockets()`: every socket of the namespace, on every server. May block (a
    /// cluster adapter waits for the other servers).
    pub fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, TimeoutError> {
        self.operator().fetch_sockets()
    }

    /// `nsp.socketsJoin(rooms)`.
    pub fn sockets_join(&self, rooms: &[&str]) {
        self.operator().sockets_join(rooms)
    }

    /// `nsp.socketsLeave(rooms)`.
    pub fn sockets_leave(&self, rooms: &[&str]) {
        self.operator().sockets_leave(rooms)
    }

    /// `nsp.disconnectSockets(close)`.
    pub fn disconnect_sockets(&self, close: bool) {
        self.operator().disconnect_sockets(close)
    }

    // ----- events between servers --------------------------------------------------------------

    /// `nsp.serverSideEmit(event, ...args)`: to this namespace's listeners on the other servers
    /// of the cluster (with one server: a warning, nothing else).
    pub fn server_side_emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        check_server_side_event(event)?;
        self.adapter().server_side_emit(event, args, None);
        Ok(())
    }

    /// `nsp.serverSideEmitWithAck(event, ...args)` (or `serverSideEmit(event, ...args, cb)`):
    /// `callback(err, responses)`, one response per other server, `err` if some did not answer
    /// within the adapter's `requestsTimeout`. With one server: the warning, then
    /// `callback(None, [])` at once. May block (see `Adapter`).
    pub fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Arg>,
        callback: impl FnOnce(Option<TimeoutError>, Vec<Arg>) + Send + 'static,
    ) -> Result<(), EmitError> {
        check_server_side_event(event)?;
        self.adapter().server_side_emit(event, args, Some(Box::new(callback)));
        Ok(())
    }

    /// `nsp.on(event, (...args, cb?) => ...)`: the listener of an event other servers send with
    /// `serverSideEmit` (one per event: a second replaces the first).
    pub fn on(&self, event: &str, listener: impl Fn(Vec<Arg>, Option<ServerSideAck>) + Send + Sync + 'static) {
        lock(&self.inner.server_side_listeners).insert(event.to_string(), Arc::new(listener));
    }

    /// The reference's `_onServerSideEmit`: another server's `serverSideEmit` arrived (a cluster
    /// adapter calls this from its receiving thread, no lock held). Runs the listener of
    /// `event`, with `ack` when an answer is wanted; a listener that panics is logged, and the
    /// adapter's thread goes on.
    pub fn on_server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideAck>) {
        let listener = lock(&self.inner.server_side_listeners).get(event).cloned();
        match listener {
            Some(listener) => run_guarded(&format!("the {event:?} listener of {}", self.name()), || {
                listener(args, ack)
            }),
            None => debug!("{}: no listener for server-side event {event:?}", self.name()),
        }
    }

    // ----- members ----------------------------------------------------------------------------------

    /// The connected sockets (`nsp.sockets`); none on a parent namespace.
    pub fn sockets(&self) -> Vec<Socket> {
        lock(&self.inner.members).sockets.values().cloned().collect()
    }

    /// The connected socket with this id.
    pub fn socket(&self, id: &str) -> Option<Socket> {
        lock(&self.inner.members).sockets.get(id).cloned()
    }

    /// The connected sockets among `ids` (the adapter's `nsp.sockets.get(id)`, for many at once:
    /// one lock).
    pub fn sockets_with_ids(&self, ids: &[Arc<str>]) -> Vec<Socket> {
        let members = lock(&self.inner.members);
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(socket) = members.sockets.get(&**id) {
                found.push(socket.clone());
            }
        }
        found
    }

    /// `sockets_with_ids` for ids that come each with the rooms the adapter has for it
    /// (`fetch_sockets`): the connected socket of each id with its rooms; an id that is not
    /// connected (any more) is left out.
    pub fn sockets_with_ids_and_rooms(&self, ids: Vec<(Arc<str>, Vec<String>)>) -> Vec<(Socket, Vec<String>)> {
        let members = lock(&self.inner.members);
        let mut found = Vec::with_capacity(ids.len());
        for (id, rooms) in ids {
            if let Some(socket) = members.sockets.get(&*id) {
                found.push((socket.clone(), rooms));
            }
        }
        found
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
    /// A socket restored by connection state recovery skips the middlewares when
    /// `skip_middlewares` is on (the default), as in the reference.
    ///
    /// A middleware that panics refuses the socket: the client gets
    /// `44{"message":"middleware panicked"}` and the panic is logged (the reference, whose
    /// `_add` is an `async` function, would leave the promise rejected and Node would stop).
    pub(super) fn add(&self, socket: Socket) -> Option<Socket> {
        let skip_middlewares = socket.recovered() && self.recovery().is_some_and(|recovery| recovery.skip_middlewares);
        if !skip_middlewares {
            if let Err(refusal) = self.run_middlewares(&socket) {
                debug!(
                    "{}: middleware refused socket {}: {}",
                    self.name(),
                    socket.id(),
                    refusal.message
                );
                socket.cleanup_unconnected();
                socket.send_connect_error(connect_error_data(&socket, refusal));
                return None;
            }
        }
        if socket.conn().ready_state() != crate::engineio::ReadyState::Open {
            // "next called after client was closed - ignoring socket"
            debug!(
                "{}: the connection closed before socket {} connected",
                self.name(),
                socket.id()
            );
            socket.cleanup_unconnected();
            return None;
        }
        lock(&self.inner.members)
            .sockets
            .insert(socket.id().to_string(), socket.clone());
        socket.on_connect();
        Some(socket)
    }

    /// The reference's `run`: the middlewares in order, until one refuses.
    fn run_middlewares(&self, socket: &Socket) -> Result<(), ConnectError> {
        let middlewares = lock(&self.inner.middlewares).clone();
        for middleware in middlewares {
            match catch_unwind(AssertUnwindSafe(|| middleware(socket))) {
                Ok(Ok(())) => {}
                Ok(Err(refusal)) => return Err(refusal),
                Err(panic) => {
                    error!(
                        "{}: a middleware panicked on socket {}: {}",
                        self.name(),
                        socket.id(),
                        panic_message(&*panic)
                    );
                    return Err(ConnectError {
                        message: "middleware panicked".to_string(),
                        data: None,
                    });
                }
            }
        }
        Ok(())
    }

    /// Emits `connection` (after the client has registered the socket): each handler in order,
    /// with no lock held.
    pub(super) fn emit_connection(&self, socket: &Socket) {
        let handlers = lock(&self.inner.connection_handlers).clone();
        if handlers.is_empty() {
            debug!("{}: no connection handler", self.name());
        }
        socket.reserve_handlers(self.inner.handlers_per_socket.load(Ordering::Relaxed));
        for handler in handlers {
            handler(socket);
        }
        self.inner
            .handlers_per_socket
            .store(socket.handler_count(), Ordering::Relaxed);
    }

    /// A socket's outgoing catch-all listeners went from none to some (`hears` true) or from
    /// some to none (false); called under that socket's lock, so each socket's calls alternate.
    pub(super) fn socket_hears_outgoing(&self, hears: bool) {
        if hears {
            self.inner.sockets_hearing_outgoing.fetch_add(1, Ordering::Relaxed);
        } else {
            self.inner.sockets_hearing_outgoing.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether any socket of this namespace has an outgoing catch-all listener.
    pub(super) fn any_socket_hears_outgoing(&self) -> bool {
        self.inner.sockets_hearing_outgoing.load(Ordering::Relaxed) > 0
    }

    /// The reference's `leaveAll` then `_remove`: out of every room, then out of the namespace.
    pub(super) fn remove_socket(&self, id: &str) {
        self.adapter().del_all(id);
        lock(&self.inner.members).sockets.remove(id);
    }

    /// `socket.rooms`: the rooms of a local socket (empty once it is gone).
    pub(super) fn rooms_of(&self, id: &str) -> HashSet<String> {
        self.adapter().socket_rooms(id).unwrap_or_default()
    }
}

/// `serverSideEmit` refuses the namespace's own event names.
fn check_server_side_event(event: &str) -> Result<(), EmitError> {
    if SERVER_SIDE_RESERVED_EVENTS.contains(&event) {
        return Err(EmitError::ReservedEvent(event.to_string()));
    }
    Ok(())
}
