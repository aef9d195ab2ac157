//! The Socket.IO server: the chapter's `const io = SocketIO(server, { path: '/socket.io' })`
//! (the reference's `index.ts`).
//!
//! It owns an Engine.IO server at `path` and is its [`engineio::Handler`]: each new Engine.IO
//! session gets a [`Client`], which the session holds (its `engineio::SessionHandler`, as the
//! reference's client attaches itself with `conn.on("data", ...)`): each message goes from the
//! session straight to that client's decoder, the close to its sockets.
//!
//! ```text
//! let io = Server::new(ServerOptions::default())?;          // SocketIO(server, { path: '/socket.io' })
//! io.on_connection(|socket| { ... });                        // io.on('connection', socket => ...)
//! io.of("/custom").on_connection(|socket| { ... });          // io.of('/custom').on('connection', ...)
//! io.of(Regex::new(r"^/dynamic-\d+$")?).on_connection(...);  // io.of(/^\/dynamic-\d+$/).on('connection', ...)
//! io.of_fn(|name, auth| name.starts_with("/fn-"));          // io.of((name, auth, next) => next(null, ...))
//! io.on_new_namespace(|namespace| { ... });                  // io.on('new_namespace', (namespace) => ...)
//! io.to("room").emit("news", vec!["hi".into()]);             // io.to('room').emit('news', 'hi')
//! ```

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::Value;

use super::adapter::{AdapterFactory, TimeoutError};
use super::broadcast::{BroadcastOperator, RemoteSocket};
use super::client::Client;
use super::namespace::{ConnectError, Namespace, ServerSideAck};
use super::namespaces::{NamespaceName, Namespaces};
use super::packet::Arg;
use super::parser::{Parser, default_parser};
use super::socket::{EmitError, Socket};
use crate::engineio::{self, CookieOptions, CorsOptions, TransportKind};
use crate::http::{Connection, Request};
use crate::listener::{HttpService, Next};
use crate::timer::Timers;

/// The server's options, named after the reference's, with its defaults.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `path`: `/socket.io`.
    pub path: String,
    /// `pingInterval`: 25 s.
    pub ping_interval: Duration,
    /// `pingTimeout`: 20 s.
    pub ping_timeout: Duration,
    /// `upgradeTimeout`: 10 s.
    pub upgrade_timeout: Duration,
    /// `maxHttpBufferSize` (sent to clients as `maxPayload`): 1,000,000 bytes.
    pub max_http_buffer_size: usize,
    /// `connectTimeout`: 45 s to join a namespace.
    pub connect_timeout: Duration,
    /// `transports`: polling and WebSocket.
    pub transports: Vec<TransportKind>,
    /// `allowUpgrades`: true.
    pub allow_upgrades: bool,
    /// `cookie`: none (the `io` cookie of the polling handshake; see `engineio::CookieOptions`).
    pub cookie: Option<CookieOptions>,
    /// `cors`: none (see `engineio::CorsOptions`).
    pub cors: Option<CorsOptions>,
    /// `allowRequest`: none (every handshake is allowed).
    pub allow_request: Option<engineio::AllowRequest>,
    /// Engine.IO packets that may wait for one slow client before it is disconnected.
    pub max_buffered_packets: usize,
    /// `allowEIO3`: false. True: socket.io 2.x clients (Engine.IO v3, Socket.IO protocol v4)
    /// are served too; each is connected to `/` at once, and a socket's id is the Engine.IO id.
    pub allow_eio3: bool,
    /// `httpCompression`: polling answers of 1024 bytes or more are compressed (gzip or
    /// deflate) when the client takes it; `None`: never.
    pub http_compression: Option<engineio::HttpCompressionOptions>,
    /// `adapter`: makes each namespace's adapter (the in-memory one by default; a Redis adapter
    /// for a cluster). Called once per namespace, when it is made.
    pub adapter: AdapterFactory,
    /// `cleanupEmptyChildNamespaces`: false. When true, a child of a parent namespace
    /// (`io.of(regex)`) is removed once its last socket has left.
    pub cleanup_empty_child_namespaces: bool,
    /// `connectionStateRecovery`: none (off). When set, a client whose connection dropped gets
    /// its socket back (id, rooms, data, the events it missed) if it returns in time: see
    /// [`ConnectionStateRecovery`]. With the default `adapter`, each namespace then gets a
    /// `SessionAwareAdapter`.
    pub connection_state_recovery: Option<ConnectionStateRecovery>,
    /// `parser`: how packets are written (JSON, the default; `Arc::new(MsgpackParser)` for
    /// `socket.io-msgpack-parser`). Clients must use the same one.
    pub parser: Arc<dyn Parser>,
}

/// `connectionStateRecovery: { maxDisconnectionDuration, skipMiddlewares }`, with the
/// reference's defaults, and our cap on the log.
///
/// ```text
/// ServerOptions { connection_state_recovery: Some(ConnectionStateRecovery::default()), .. }
///                                  // new Server({ connectionStateRecovery: {} })
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStateRecovery {
    /// `maxDisconnectionDuration`: how long the session of a socket whose connection dropped is
    /// kept (2 minutes); a logged event is kept that long plus `pingInterval + pingTimeout`.
    pub max_disconnection_duration: Duration,
    /// `skipMiddlewares`: a restored socket connects without running the namespace's
    /// middlewares (true).
    pub skip_middlewares: bool,
    /// Ours: the most events one namespace's log holds (100,000; at least 1); past it the oldest go. The
    /// reference keeps every event of the last `maxDisconnectionDuration`.
    pub max_log_entries: usize,
}

impl Default for ConnectionStateRecovery {
    fn default() -> ConnectionStateRecovery {
        ConnectionStateRecovery {
            max_disconnection_duration: Duration::from_secs(2 * 60),
            skip_middlewares: true,
            max_log_entries: 100_000,
        }
    }
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        let engine = engineio::ServerOptions::default();
        ServerOptions {
            path: "/socket.io".to_string(),
            ping_interval: engine.ping_interval,
            ping_timeout: engine.ping_timeout,
            upgrade_timeout: engine.upgrade_timeout,
            max_http_buffer_size: engine.max_payload,
            connect_timeout: Duration::from_secs(45),
            transports: engine.transports,
            allow_upgrades: engine.allow_upgrades,
            cookie: None,
            cors: None,
            allow_request: None,
            max_buffered_packets: engine.max_buffered_packets,
            allow_eio3: engine.allow_eio3,
            http_compression: engine.http_compression,
            adapter: AdapterFactory::in_memory(),
            cleanup_empty_child_namespaces: false,
            connection_state_recovery: None,
            parser: default_parser(),
        }
    }
}

/// What the Engine.IO server calls (see `engineio::Handler`).
struct Shared {
    namespaces: Arc<Namespaces>,
    timers: Timers,
    connect_timeout: Duration,
    parser: Arc<dyn Parser>,
    /// `io.close()` was called.
    closed: AtomicBool,
}

impl engineio::Handler for Shared {
    /// The reference's `onconnection`: a `Client` for the session, which the session holds and
    /// hands its messages and its close to (`Client`'s `engineio::SessionHandler`) until it ends.
    fn on_connection(&self, conn: &engineio::Socket) {
        let client = Client::new(
            conn.clone(),
            Arc::clone(&self.namespaces),
            self.timers.clone(),
            self.connect_timeout,
            self.parser.as_ref(),
        );
        // A session that closed meanwhile keeps no client, and gets no socket (nothing would
        // ever close it).
        let held = conn.set_session_handler(client.clone());
        if held && conn.protocol() == 3 {
            client.connect_root();
        }
    }
}

/// The Socket.IO server (a handle: clone it freely).
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
    engine: engineio::Server,
}

impl Server {
    /// A server with the namespace `/`. Starts the `timers` thread.
    pub fn new(options: ServerOptions) -> io::Result<Server> {
        let timers = Timers::start()?;
        // As the reference's constructor: recovery on and no adapter given means the
        // session-aware in-memory adapter. Its events stay as long as a session, plus the time
        // a dead connection may take to be noticed (see `adapter/session_aware.rs`).
        let adapter = match &options.connection_state_recovery {
            Some(recovery) if options.adapter.is_in_memory() => {
                let keep_events_for =
                    recovery.max_disconnection_duration + options.ping_interval + options.ping_timeout;
                AdapterFactory::session_aware(recovery.clone(), keep_events_for, timers.clone())
            }
            _ => options.adapter.clone(),
        };
        let namespaces = Namespaces::new(
            timers.clone(),
            options.cleanup_empty_child_namespaces,
            adapter,
            options.connection_state_recovery.clone(),
            options.parser.clone(),
        );
        let shared = Arc::new(Shared {
            namespaces: Arc::new(namespaces),
            timers: timers.clone(),
            connect_timeout: options.connect_timeout,
            parser: options.parser.clone(),
            closed: AtomicBool::new(false),
        });
        let engine_options = engineio::ServerOptions {
            path: options.path.clone(),
            ping_interval: options.ping_interval,
            ping_timeout: options.ping_timeout,
            upgrade_timeout: options.upgrade_timeout,
            max_payload: options.max_http_buffer_size,
            transports: options.transports.clone(),
            allow_upgrades: options.allow_upgrades,
            cookie: options.cookie.clone(),
            cors: options.cors.clone(),
            allow_request: options.allow_request.clone(),
            max_buffered_packets: options.max_buffered_packets,
            allow_eio3: options.allow_eio3,
            http_compression: options.http_compression,
            ..engineio::ServerOptions::default()
        };
        let handler: Arc<dyn engineio::Handler> = shared.clone();
        let engine = engineio::Server::new(engine_options, handler, timers);
        Ok(Server { shared, engine })
    }

    /// `io.of(name)`: the namespace, made on first use (`"custom"` means `"/custom"`).
    ///
    /// `io.of(Regex::new(r"^/dynamic-\d+$")?)` (the reference's `io.of(/^\/dynamic-\d+$/)`)
    /// makes a *parent namespace*: a CONNECT to a name it matches, e.g. `/dynamic-101`, makes
    /// a child namespace of that name with a copy of the parent's `connection` handler and
    /// middlewares; `parent.emit(...)` and `parent.to(room).emit(...)` reach every child. Each
    /// call makes a new parent. See `namespaces.rs`.
    pub fn of(&self, name: impl Into<NamespaceName>) -> Namespace {
        self.shared.namespaces.of(name.into())
    }

    /// `io.of((name, auth, next) => next(null, accept))`: a parent namespace whose children are
    /// the names `accept(name, auth)` says yes to, on a CONNECT (`auth` is its payload, `{}`
    /// when there was none). A function that panics says no; the panic is logged.
    pub fn of_fn(&self, accept: impl Fn(&str, &Value) -> bool + Send + Sync + 'static) -> Namespace {
        self.of(NamespaceName::Function(Arc::new(accept)))
    }

    /// `io._nsps.get(name)`: the namespace of that name if there is one (made by `of(name)`,
    /// or a child made by a CONNECT). Unlike `of`, never makes one.
    pub fn namespace(&self, name: &str) -> Option<Namespace> {
        self.shared.namespaces.get(name)
    }

    /// `io._nsps`: every namespace clients can join, in the order they were made (`/` first;
    /// not the parent namespaces, but their children).
    pub fn namespaces(&self) -> Vec<Namespace> {
        self.shared.namespaces.joinable()
    }

    /// `io.on('new_namespace', (namespace) => ...)`: each namespace made from now on, by
    /// `of(name)` or as a child of a parent namespace (never `/`, nor a parent itself).
    pub fn on_new_namespace(&self, handler: impl Fn(&Namespace) + Send + Sync + 'static) {
        self.shared.namespaces.on_new_namespace(Arc::new(handler));
    }

    /// `io.on('connection', handler)`: the `connection` handler of `/`.
    pub fn on_connection(&self, handler: impl Fn(&Socket) + Send + Sync + 'static) {
        self.of("/").on_connection(handler);
    }

    /// `io.use(middleware)` on `/`.
    pub fn use_middleware(&self, middleware: impl Fn(&Socket) -> Result<(), ConnectError> + Send + Sync + 'static) {
        self.of("/").use_middleware(middleware);
    }

    /// `io.emit(event, ...args)`: to every socket of `/`.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        self.of("/").emit(event, args)
    }

    /// `io.to(room)` on `/`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.of("/").to(room)
    }

    /// `io.in(room)` on `/`.
    pub fn in_(&self, room: &str) -> BroadcastOperator {
        self.of("/").in_(room)
    }

    /// `io.except(room)` on `/`.
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.of("/").except(room)
    }

    /// `io.local` on `/`.
    pub fn local(&self) -> BroadcastOperator {
        self.of("/").local()
    }

    /// `io.volatile` on `/`.
    pub fn volatile(&self) -> BroadcastOperator {
        self.of("/").volatile()
    }

    /// `io.compress(compress)` on `/`.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.of("/").compress(compress)
    }

    /// `io.timeout(ms)` on `/`: then `emit_with_ack`.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.of("/").timeout(timeout)
    }

    /// `io.fetchSockets()`: the sockets of `/`. May block (see `Adapter`).
    pub fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, TimeoutError> {
        self.of("/").fetch_sockets()
    }

    /// `io.socketsJoin(rooms)` on `/`.
    pub fn sockets_join(&self, rooms: &[&str]) {
        self.of("/").sockets_join(rooms)
    }

    /// `io.socketsLeave(rooms)` on `/`.
    pub fn sockets_leave(&self, rooms: &[&str]) {
        self.of("/").sockets_leave(rooms)
    }

    /// `io.disconnectSockets(close)` on `/`.
    pub fn disconnect_sockets(&self, close: bool) {
        self.of("/").disconnect_sockets(close)
    }

    /// `io.serverSideEmit(event, ...args)` on `/`.
    pub fn server_side_emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        self.of("/").server_side_emit(event, args)
    }

    /// `io.serverSideEmitWithAck(event, ...args)` on `/`.
    pub fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: Vec<Arg>,
        callback: impl FnOnce(Option<TimeoutError>, Vec<Arg>) + Send + 'static,
    ) -> Result<(), EmitError> {
        self.of("/").server_side_emit_with_ack(event, args, callback)
    }

    /// `io.on(event, (...args, cb?) => ...)`: a server-side event of `/` from another server.
    pub fn on(&self, event: &str, listener: impl Fn(Vec<Arg>, Option<ServerSideAck>) + Send + Sync + 'static) {
        self.of("/").on(event, listener)
    }

    /// The Engine.IO server underneath (`io.engine`).
    pub fn engine(&self) -> &engineio::Server {
        &self.engine
    }

    /// Whether a request is for Socket.IO (its URL starts with `path` + `/`).
    pub fn handles(&self, request: &Request) -> bool {
        self.engine.handles(request)
    }

    /// Answers a request for Socket.IO (through Engine.IO).
    pub fn handle_request(&self, request: Request, connection: &mut Connection) -> io::Result<Next> {
        self.engine.handle_request(request, connection)
    }

    /// A handle that does not keep the server alive (what a repeating timer holds).
    pub fn downgrade(&self) -> WeakServer {
        WeakServer {
            shared: Arc::downgrade(&self.shared),
            engine: self.engine.downgrade(),
        }
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// `io.close()`: as the reference, namespace by namespace, every socket disconnects with
    /// "server shutting down" and the adapter closes; then every Engine.IO session closes.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        for nsp in self.shared.namespaces.all() {
            for socket in nsp.sockets() {
                socket.on_close("server shutting down");
            }
            nsp.adapter().close();
        }
        self.engine.close();
    }
}

/// A handle to a [`Server`] that does not keep it alive: `upgrade()` gives the server while some
/// `Server` handle still holds it.
#[derive(Clone)]
pub struct WeakServer {
    shared: Weak<Shared>,
    engine: engineio::WeakServer,
}

impl WeakServer {
    /// The server, if it still exists.
    pub fn upgrade(&self) -> Option<Server> {
        let shared = self.shared.upgrade()?;
        let engine = self.engine.upgrade()?;
        Some(Server { shared, engine })
    }
}

impl HttpService for Server {
    /// Socket.IO on its own (as `examples/interop.rs` runs it): everything else is 404.
    fn handle(&self, request: Request, connection: &mut Connection) -> io::Result<Next> {
        if self.handles(&request) {
            return self.handle_request(request, connection);
        }
        let headers = vec![("Content-Type".to_string(), "text/plain; charset=UTF-8".to_string())];
        connection.respond(&request, 404, &headers, b"Not Found")
    }
}
