//! The Engine.IO server (the reference's `server.ts`): finds a request's session by `sid`, checks
//! it (`verify`), opens new sessions (`handshake`), and answers errors as the reference does.
//!
//! ```text
//! GET  /engine.io/?EIO=4&transport=polling                 handshake (polling)
//! GET  /engine.io/?EIO=4&transport=websocket  + Upgrade    handshake (WebSocket)
//! GET  /engine.io/?EIO=4&transport=polling&sid=X           long-poll: packets for the client
//! POST /engine.io/?EIO=4&transport=polling&sid=X           packets from the client, answered "ok"
//! GET  /engine.io/?EIO=4&transport=websocket&sid=X + Upgrade   upgrade of session X
//! ```
//!
//! Engine.IO v3 clients (`EIO=3`, or no `EIO`: socket.io 2.x) use the same requests, with the
//! payloads of `packet_v3.rs`, when `allow_eio3` is set; a `j` in the query makes the session's
//! polling JSONP (`jsonp.rs`).
//!
//! Errors (HTTP 400, or 403 for code 4), body as JSON:
//!
//! ```text
//! {"code":0,"message":"Transport unknown"}
//! {"code":1,"message":"Session ID unknown"}
//! {"code":2,"message":"Bad handshake method"}
//! {"code":3,"message":"Bad request"}
//! {"code":4,"message":"Forbidden"}
//! {"code":5,"message":"Unsupported protocol version"}
//! ```
//!
//! A refused WebSocket upgrade gets the reference's plain `400` with the message as text. Every
//! refusal is also the `connection_error` event, with the reference's `context` (`events.rs`).
//!
//! Before any of this, the `cors` middleware (`cors.rs`) decides the CORS headers of the answer
//! and answers a preflight `OPTIONS` itself, as the reference's first middleware does.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{debug, info};
use serde_json::{Value, json};

use super::base64;
use super::compression::HttpCompressionOptions;
use super::cookie::CookieOptions;
use super::cors::{self, CorsOptions, CorsOutcome};
use super::events::{
    ConnectionError, ConnectionErrorListener, HeadersListener, Registry, ServerListeners, SocketListener,
};
use super::socket::Socket;
use super::{Handler, payload, polling, websocket};
use crate::http::{Connection, Request, SharedStream};
use crate::listener::{HttpService, Next};
use crate::sync::lock;
use crate::timer::Timers;

/// The two transports of Engine.IO v4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name in the query string: `transport=polling`.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    /// `"polling"` -> `Polling`.
    pub fn from_name(name: &str) -> Option<TransportKind> {
        match name {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

/// The reference's `allowRequest(req, callback)`: looks at each handshake request (the first
/// request of a session, polling or WebSocket) and may refuse it. `Err(message)` is answered
/// `403 {"code":4,"message":...}` (a WebSocket handshake: a plain `400` with the message); the
/// reference's message when none is given is `"Forbidden"`.
#[derive(Clone)]
pub struct AllowRequest(pub Arc<AllowRequestFn>);

/// The function inside [`AllowRequest`]: `Ok(())` lets the handshake through.
pub type AllowRequestFn = dyn Fn(&Request) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for AllowRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AllowRequest(..)")
    }
}

/// The server's options, with the reference's defaults.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where Engine.IO answers; always ends with `/` (`"/engine.io/"`, Socket.IO: `"/socket.io/"`).
    pub path: String,
    /// `pingInterval`: 25 s.
    pub ping_interval: Duration,
    /// `pingTimeout`: 20 s.
    pub ping_timeout: Duration,
    /// `upgradeTimeout`: 10 s.
    pub upgrade_timeout: Duration,
    /// `maxHttpBufferSize`, sent to clients as `maxPayload`: 1,000,000 bytes.
    pub max_payload: usize,
    /// `transports`: both. With WebSocket only, a polling request is refused (`{"code":0,
    /// "message":"Transport unknown"}`) and the open packet offers no upgrade.
    pub transports: Vec<TransportKind>,
    /// `allowUpgrades`: true. False: the open packet offers no upgrade (`"upgrades":[]`). As in the
    /// reference, a client that tries one anyway is not refused.
    pub allow_upgrades: bool,
    /// `cookie`: none. Set, the answer to a polling handshake carries `Set-Cookie: io=<sid>; ...`
    /// (see `cookie.rs`; `CookieOptions::default()` is the reference's `cookie: true`).
    pub cookie: Option<CookieOptions>,
    /// `cors`: none (no CORS headers). Set, every answer carries them and a preflight `OPTIONS`
    /// is answered (see `cors.rs`).
    pub cors: Option<CorsOptions>,
    /// `allowRequest`: none (every handshake is allowed).
    pub allow_request: Option<AllowRequest>,
    /// Packets that may wait for one client before it is disconnected (see NOTES.md).
    pub max_buffered_packets: usize,
    /// `allowEIO3`: false. True: Engine.IO v3 clients (socket.io 2.x, `EIO=3`, or no `EIO` at
    /// all) are served too (`packet_v3.rs`); false: they get `{"code":5,...}`.
    pub allow_eio3: bool,
    /// `httpCompression`: on, with a threshold of 1024 bytes (`compression.rs`); `None`: off.
    pub http_compression: Option<HttpCompressionOptions>,
    /// How long a graceful `close()` of a polling session waits for the GET that carries the
    /// close packet: 30 s (the polling transport's `closeTimeout`, a constant in the reference).
    pub close_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            path: "/engine.io/".to_string(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            allow_upgrades: true,
            cookie: None,
            cors: None,
            allow_request: None,
            max_buffered_packets: 10_000,
            allow_eio3: false,
            http_compression: Some(HttpCompressionOptions::default()),
            close_timeout: Duration::from_secs(30),
        }
    }
}

impl ServerOptions {
    /// Whether `transport` is allowed.
    pub fn allows(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }

    /// The reference's `getAvailableUpgrades`: what a session on `transport` may upgrade to
    /// (polling to WebSocket, if both are allowed and `allow_upgrades`).
    pub fn upgrades(&self, transport: TransportKind) -> Vec<TransportKind> {
        if transport == TransportKind::Polling && self.allow_upgrades && self.allows(TransportKind::WebSocket) {
            vec![TransportKind::WebSocket]
        } else {
            Vec::new()
        }
    }
}

/// The reference's error codes (`Server.errors`); `code as u8` is the number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 0 "Transport unknown"
    UnknownTransport = 0,
    /// 1 "Session ID unknown"
    UnknownSid = 1,
    /// 2 "Bad handshake method"
    BadHandshakeMethod = 2,
    /// 3 "Bad request"
    BadRequest = 3,
    /// 4 "Forbidden" (answered 403, the others 400)
    Forbidden = 4,
    /// 5 "Unsupported protocol version"
    UnsupportedProtocolVersion = 5,
}

/// A refused request: the error code and the reference's `context` (see
/// [`ConnectionError`]), e.g. `{"sid":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    pub code: ErrorCode,
    pub context: Value,
}

impl Refused {
    pub fn new(code: ErrorCode, context: Value) -> Refused {
        Refused { code, context }
    }

    /// The message for the client: the context's `message` (`allowRequest`'s) if it has one,
    /// else the code's (the reference's `abortRequest`).
    pub fn message(&self) -> &str {
        match self.context.get("message").and_then(Value::as_str) {
            Some(message) if !message.is_empty() => message,
            _ => self.code.message(),
        }
    }
}

impl ErrorCode {
    /// The reference's `Server.errorMessages`.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }
}

/// What every session of a server shares.
pub(super) struct Shared {
    pub options: ServerOptions,
    /// The reference's `clients`: open sessions by sid.
    pub clients: Mutex<HashMap<String, Socket>>,
    pub timers: Timers,
    pub handler: Arc<dyn Handler>,
    /// `server.on(...)`: see `events.rs`.
    pub listeners: Registry<ServerListeners>,
    /// Sessions ended since the heap was last trimmed (`remove_client`).
    pub ended_since_trim: AtomicUsize,
    /// A trim is set on the `timers` thread and has not run yet.
    pub trim_pending: Arc<AtomicBool>,
}

impl Shared {
    /// A session is over. When it was the last one, or the [`memory::TRIM_AFTER_SESSIONS`]th
    /// since the last trim, the `timers` thread gives the memory malloc kept free for reuse back
    /// to the kernel 50 ms later ([`memory::TRIM_DELAY`], once the threads that served the
    /// sessions have freed what they held): after a burst of clients (a load test, a fuzzer)
    /// has come and gone, the process's RSS is what it uses, not its peak.
    ///
    /// [`memory::TRIM_AFTER_SESSIONS`]: crate::memory::TRIM_AFTER_SESSIONS
    /// [`memory::TRIM_DELAY`]: crate::memory::TRIM_DELAY
    pub fn remove_client(&self, id: &str) {
        let none_left = {
            let mut clients = lock(&self.clients);
            clients.remove(id);
            clients.is_empty()
        };
        let ended = self.ended_since_trim.fetch_add(1, Ordering::Relaxed) + 1;
        if none_left || ended >= crate::memory::TRIM_AFTER_SESSIONS {
            self.schedule_trim();
        }
    }

    /// Sets the timer that trims the heap, unless one is already set.
    fn schedule_trim(&self) {
        if self.trim_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        self.ended_since_trim.store(0, Ordering::Relaxed);
        let trim_pending = Arc::clone(&self.trim_pending);
        self.timers.set_timeout(crate::memory::TRIM_DELAY, move || {
            trim_pending.store(false, Ordering::Release);
            crate::memory::give_back_free_heap();
        });
    }
}

/// The Engine.IO server. Clone it freely (it is a handle).
#[derive(Clone)]
pub struct Server {
    pub(super) shared: Arc<Shared>,
}

/// A handle to an Engine.IO server that does not keep it alive (for a timer that should stop
/// once the server is gone).
#[derive(Clone)]
pub struct WeakServer {
    shared: std::sync::Weak<Shared>,
}

impl WeakServer {
    /// The server, while some [`Server`] handle still holds it.
    pub fn upgrade(&self) -> Option<Server> {
        self.shared.upgrade().map(|shared| Server { shared })
    }
}

impl Server {
    /// A handle that does not keep the server alive.
    pub fn downgrade(&self) -> WeakServer {
        WeakServer {
            shared: Arc::downgrade(&self.shared),
        }
    }

    /// A server with these options that tells `handler` about its sessions and keeps its
    /// heartbeat timers on `timers` (the thread ends when every handle to it is dropped).
    pub fn new(mut options: ServerOptions, handler: Arc<dyn Handler>, timers: Timers) -> Server {
        if !options.path.ends_with('/') {
            options.path.push('/');
        }
        let shared = Shared {
            options,
            clients: Mutex::new(HashMap::new()),
            timers,
            handler,
            listeners: Registry::new(),
            ended_since_trim: AtomicUsize::new(0),
            trim_pending: Arc::new(AtomicBool::new(false)),
        };
        Server {
            shared: Arc::new(shared),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &ServerOptions {
        &self.shared.options
    }

    /// The server's timer thread, for the layer above (connect and ack timeouts).
    pub fn timers(&self) -> &Timers {
        &self.shared.timers
    }

    /// How many sessions are open.
    pub fn clients_count(&self) -> usize {
        lock(&self.shared.clients).len()
    }

    /// The TCP sockets of the sessions whose transport is a WebSocket now. For the benchmark's
    /// floor only (`examples/interop.rs`, event `floor`): writing to a socket behind its session's
    /// back could put a frame inside another that a slow client has only partly received.
    pub fn websocket_streams(&self) -> Vec<SharedStream> {
        let sockets: Vec<Socket> = lock(&self.shared.clients).values().cloned().collect();
        sockets.iter().filter_map(Socket::websocket_stream).collect()
    }

    /// Whether a request is for Engine.IO (its URL starts with `path`, as the reference checks).
    pub fn handles(&self, request: &Request) -> bool {
        request.url.starts_with(&self.shared.options.path)
    }

    /// Closes every session (the reference's `server.close()`, which closes each with
    /// `socket.close(true)`: what is still queued is dropped, see `Socket::close_discard`).
    pub fn close(&self) {
        let sockets: Vec<Socket> = lock(&self.shared.clients).values().cloned().collect();
        for socket in sockets {
            socket.close_discard();
        }
    }

    // ----- events (see `events.rs`) ------------------------------------------------------------

    /// `engine.on("connection", socket => ...)`: a session opened (after the [`Handler`]'s
    /// `on_connection`). Called on the handshake's connection thread; for a polling handshake
    /// before the open packet is written, so that listeners added to the socket here see every
    /// later packet (not the open packet: as in the reference, it is created before).
    pub fn on_connection(&self, listener: impl Fn(&Socket) + Send + Sync + 'static) {
        let listener: SocketListener = Arc::new(listener);
        self.shared.listeners.add(|all| all.connection.push(listener));
    }

    /// `engine.on("connection_error", err => ...)`: a request was refused (every answer with an
    /// error code, polling or WebSocket). Called on the request's connection thread, before the
    /// answer is written.
    pub fn on_connection_error(&self, listener: impl Fn(&ConnectionError<'_>) + Send + Sync + 'static) {
        let listener: ConnectionErrorListener = Arc::new(listener);
        self.shared.listeners.add(|all| all.connection_error.push(listener));
    }

    /// `engine.on("initial_headers", (headers, req) => ...)`: the headers of the answer to a
    /// handshake (the polling handshake's `200`, which carries the `io` cookie if configured, or
    /// the WebSocket handshake's `101`); the listener may add or change them, e.g. push
    /// `("Set-Cookie", "...")`. Called on the handshake's connection thread, before `headers`.
    pub fn on_initial_headers(&self, listener: impl Fn(&mut Vec<(String, String)>, &Request) + Send + Sync + 'static) {
        let listener: HeadersListener = Arc::new(listener);
        self.shared.listeners.add(|all| all.initial_headers.push(listener));
    }

    /// `engine.on("headers", (headers, req) => ...)`: the headers of every polling answer (`200`:
    /// a GET's packets, a POST's `ok`) and of every WebSocket `101`, the handshakes included.
    /// Called on the request's connection thread (for a held GET, when it arrives).
    pub fn on_headers(&self, listener: impl Fn(&mut Vec<(String, String)>, &Request) + Send + Sync + 'static) {
        let listener: HeadersListener = Arc::new(listener);
        self.shared.listeners.add(|all| all.headers.push(listener));
    }

    /// The `connection` event: the handler, then the listeners.
    pub(super) fn emit_connection(&self, socket: &Socket) {
        self.shared.handler.on_connection(socket);
        if let Some(listeners) = self.shared.listeners.current() {
            for listener in &listeners.connection {
                listener(socket);
            }
        }
    }

    /// The `initial_headers` (for a handshake) and `headers` events on the headers of an answer.
    fn emit_headers(&self, headers: &mut Vec<(String, String)>, request: &Request, initial: bool) {
        let listeners = match self.shared.listeners.current() {
            Some(listeners) => listeners,
            None => return,
        };
        if initial {
            for listener in &listeners.initial_headers {
                listener(headers, request);
            }
        }
        for listener in &listeners.headers {
            listener(headers, request);
        }
    }

    // ----- requests ----------------------------------------------------------------------------

    /// The reference's `handleRequest` and `handleUpgrade`.
    pub fn handle_request(&self, mut request: Request, connection: &mut Connection) -> io::Result<Next> {
        // The `cors` middleware comes first, as in the reference: its headers go on whatever
        // answer follows (errors and the WebSocket's `101` included), a preflight ends here.
        if let Some(cors) = &self.shared.options.cors {
            match cors::apply(cors, &request) {
                Ok(CorsOutcome::Headers(headers)) => request.response_headers = headers,
                Ok(CorsOutcome::Preflight { status, headers }) => {
                    return connection.respond(&request, status, &headers, b"");
                }
                Err(why) => {
                    debug!(
                        "{} {}: the CORS origin function failed: {why}",
                        request.method, request.url
                    );
                    let refused = Refused::new(ErrorCode::BadRequest, json!({"name": "MIDDLEWARE_FAILURE"}));
                    if request.is_websocket_upgrade() && self.shared.options.allows(TransportKind::WebSocket) {
                        return self.refuse_upgrade(&request, connection, refused);
                    }
                    return self.abort_request(&request, connection, refused);
                }
            }
        }
        // Without the WebSocket transport the reference does not listen for upgrades at all: Node
        // then hands such a request over as a plain one.
        if request.is_websocket_upgrade() && self.shared.options.allows(TransportKind::WebSocket) {
            return websocket::handle_upgrade(self, request, connection);
        }
        let socket = match self.verify(&request, false) {
            Ok(socket) => socket,
            Err(refused) => return self.abort_request(&request, connection, refused),
        };
        match socket {
            Some(socket) => match request.method.as_str() {
                "GET" => polling::on_poll_request(self, &socket, &request, connection),
                "POST" => polling::on_data_request(self, &socket, &request, connection),
                _ => {
                    let headers = self.cors_headers(&request);
                    connection.respond(&request, 500, &headers, b"")
                }
            },
            None => self.handshake(TransportKind::Polling, request, connection),
        }
    }

    /// The reference's `verify`: transport, origin, sid, handshake method, `allowRequest`.
    /// `Ok(Some(socket))` for a request of an open session, `Ok(None)` for a handshake.
    pub(super) fn verify(&self, request: &Request, upgrade: bool) -> Result<Option<Socket>, Refused> {
        let asked = request.query_param("transport");
        let transport = match asked.and_then(TransportKind::from_name) {
            Some(t) if self.shared.options.allows(t) => t,
            _ => {
                let context = match asked {
                    Some(asked) => json!({ "transport": asked }),
                    None => json!({}),
                };
                return Err(Refused::new(ErrorCode::UnknownTransport, context));
            }
        };
        if let Some(origin) = request.header("origin") {
            if origin.chars().any(|c| c != '\t' && (c < ' ' || c == '\x7f')) {
                let context = json!({"name": "INVALID_ORIGIN", "origin": origin});
                return Err(Refused::new(ErrorCode::BadRequest, context));
            }
        }
        match request.query_param("sid") {
            Some(sid) => {
                let socket = match lock(&self.shared.clients).get(sid) {
                    Some(socket) => socket.clone(),
                    None => return Err(Refused::new(ErrorCode::UnknownSid, json!({ "sid": sid }))),
                };
                let previous = socket.lock().transport;
                if !upgrade && previous != transport {
                    debug!(
                        "{sid}: bad request: {} request on a {} session",
                        transport.name(),
                        previous.name()
                    );
                    let context = json!({
                        "name": "TRANSPORT_MISMATCH",
                        "transport": transport.name(),
                        "previousTransport": previous.name(),
                    });
                    return Err(Refused::new(ErrorCode::BadRequest, context));
                }
                Ok(Some(socket))
            }
            None => {
                if request.method != "GET" {
                    let context = json!({ "method": request.method });
                    return Err(Refused::new(ErrorCode::BadHandshakeMethod, context));
                }
                if transport == TransportKind::WebSocket && !upgrade {
                    let context = json!({"name": "TRANSPORT_HANDSHAKE_ERROR"});
                    return Err(Refused::new(ErrorCode::BadRequest, context));
                }
                if let Some(allow_request) = &self.shared.options.allow_request {
                    if let Err(message) = (allow_request.0)(request) {
                        debug!("{} {}: refused by allowRequest: {message}", request.method, request.url);
                        return Err(Refused::new(ErrorCode::Forbidden, json!({ "message": message })));
                    }
                }
                Ok(None)
            }
        }
    }

    /// The reference's `handshake`: a new session, its open packet, and the `connection` event.
    pub(super) fn handshake(
        &self,
        transport: TransportKind,
        request: Request,
        connection: &mut Connection,
    ) -> io::Result<Next> {
        let id = match self.new_session_id(&request) {
            Ok(id) => id,
            Err(refused) => return self.abort_request(&request, connection, refused),
        };
        info!("{id}: handshake over {} from {}", transport.name(), request.peer);
        let socket = self.open_session(id, transport, request.clone());
        // The `connection` event comes before the answer: once the client has its sid it may
        // POST at once, on another connection thread, and the layer above must be ready for it.
        // (The reference answers first; in Node's one thread the POST cannot overtake it.)
        self.emit_connection(&socket);
        polling::on_poll_request(self, &socket, &request, connection)
    }

    /// The checks of a handshake before the session exists (both transports): the protocol
    /// version, then a new sid.
    pub(super) fn new_session_id(&self, request: &Request) -> Result<String, Refused> {
        // The reference reads any `EIO` but 4, or none, as 3.
        let protocol = payload::protocol_of(request);
        if protocol == 3 && !self.shared.options.allow_eio3 {
            return Err(Refused::new(
                ErrorCode::UnsupportedProtocolVersion,
                json!({"protocol": 3}),
            ));
        }
        match generate_id() {
            Ok(id) => Ok(id),
            Err(e) => {
                log::error!("no random bytes for a session id (getrandom): {e}");
                let context = json!({"name": "ID_GENERATION_ERROR", "error": e.to_string()});
                Err(Refused::new(ErrorCode::BadRequest, context))
            }
        }
    }

    /// Registers a new session and queues its open packet (shared by both handshakes).
    pub(super) fn open_session(&self, id: String, transport: TransportKind, request: Request) -> Socket {
        let socket = Socket::new(id.clone(), request, transport, Arc::clone(&self.shared));
        lock(&self.shared.clients).insert(id, socket.clone());
        socket.on_open();
        socket
    }

    /// The `connection_error` event, then the log line.
    fn emit_connection_error(&self, request: &Request, refused: &Refused) {
        debug!(
            "{} {}: error {} {} {}",
            request.method,
            request.url,
            refused.code as u8,
            refused.message(),
            refused.context
        );
        if let Some(listeners) = self.shared.listeners.current() {
            let error = ConnectionError {
                request,
                code: refused.code,
                message: refused.code.message(),
                context: &refused.context,
            };
            for listener in &listeners.connection_error {
                listener(&error);
            }
        }
    }

    /// `abortRequest`: `{"code":1,"message":"Session ID unknown"}` with 400 (403 for Forbidden).
    pub(super) fn abort_request(
        &self,
        request: &Request,
        connection: &mut Connection,
        refused: Refused,
    ) -> io::Result<Next> {
        self.emit_connection_error(request, &refused);
        let code = refused.code;
        let status = if code == ErrorCode::Forbidden { 403 } else { 400 };
        // The message as a JSON string (`allowRequest`'s may hold quotes).
        let message = Value::String(refused.message().to_string()).to_string();
        let body = format!(r#"{{"code":{},"message":{message}}}"#, code as u8);
        let mut headers = self.cors_headers(request);
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
        connection.respond(request, status, &headers, body.as_bytes())
    }

    /// `abortUpgrade`: a refused WebSocket request gets a plain `400` with the message as text,
    /// then the connection closes.
    pub(super) fn refuse_upgrade(
        &self,
        request: &Request,
        connection: &mut Connection,
        refused: Refused,
    ) -> io::Result<Next> {
        self.emit_connection_error(request, &refused);
        abort_upgrade(connection.stream(), refused.message())
    }

    /// The CORS headers decided for `request` (none when CORS is not configured): they go on
    /// every answer to it.
    pub(super) fn cors_headers(&self, request: &Request) -> Vec<(String, String)> {
        request.response_headers.clone()
    }

    /// The headers of a polling answer (`200`), from the transport's own (`own`: content type,
    /// `cache-control`): the `io` cookie on the handshake's answer, the `initial_headers` and
    /// `headers` events, and the CORS headers first (Node writes the headers set before
    /// `writeHead` first; one set again keeps its place).
    pub(super) fn polling_answer_headers(
        &self,
        sid: &str,
        request: &Request,
        mut own: Vec<(String, String)>,
    ) -> Vec<(String, String)> {
        let initial = request.query_param("sid").is_none();
        if initial {
            if let Some(cookie) = &self.shared.options.cookie {
                own.push(("Set-Cookie".to_string(), cookie.serialize(sid)));
            }
        }
        self.emit_headers(&mut own, request, initial);
        let mut headers = self.cors_headers(request);
        for (name, value) in own {
            if name.eq_ignore_ascii_case("set-cookie") {
                headers.push((name, value)); // one line per cookie
            } else {
                cors::set_header(&mut headers, &name, &value);
            }
        }
        headers
    }

    /// The extra header lines of a WebSocket `101` (the CORS headers, then what the
    /// `initial_headers` and `headers` listeners add), each `Name: value\r\n`, as the reference
    /// adds them to the `ws` package's answer.
    pub(super) fn upgrade_header_lines(&self, request: &Request) -> String {
        let mut headers = self.cors_headers(request);
        let initial = request.query_param("sid").is_none();
        self.emit_headers(&mut headers, request, initial);
        let mut lines = String::new();
        for (name, value) in headers {
            lines.push_str(&format!("{name}: {value}\r\n"));
        }
        lines
    }
}

impl HttpService for Server {
    /// Engine.IO on its own (as `examples/engine_echo.rs` runs it): everything else is 404.
    fn handle(&self, request: Request, connection: &mut Connection) -> io::Result<Next> {
        if self.handles(&request) {
            return self.handle_request(request, connection);
        }
        let headers = vec![("Content-Type".to_string(), "text/plain; charset=UTF-8".to_string())];
        connection.respond(&request, 404, &headers, b"Not Found")
    }
}

/// A session id as the reference makes it (`base64id`): 15 random bytes from the OS, base64 with
/// `/` -> `_` and `+` -> `-`: 20 characters, 120 bits. The bytes come from `getrandom(2)`, which
/// needs no file descriptor (a server out of descriptors still opens sessions for the clients it
/// could accept).
pub fn generate_id() -> io::Result<String> {
    let mut bytes = [0u8; 15];
    random_bytes(&mut bytes)?;
    Ok(base64::encode(&bytes).replace('/', "_").replace('+', "-"))
}

/// Fills `bytes` from the kernel's random source: `getrandom(2)`, the bytes `/dev/urandom` gives,
/// in one system call (opening, reading and closing the file took three, twice a connection).
fn random_bytes(bytes: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < bytes.len() {
        let rest = &mut bytes[filled..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        filled += got as usize;
    }
    Ok(())
}

/// The `ws` package's `abortHandshake`: a WebSocket request it cannot accept (bad key or version).
pub(super) fn abort_handshake(stream: &mut impl Write, message: &str, extra_headers: &str) -> io::Result<Next> {
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: {}\r\n{}\r\n{}",
        message.len(),
        extra_headers,
        message
    );
    stream.write_all(response.as_bytes())?;
    Ok(Next::Close)
}

/// The reference's plain answer to a refused WebSocket request, then close.
pub(super) fn abort_upgrade(stream: &mut impl Write, message: &str) -> io::Result<Next> {
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: {}\r\n\r\n{}",
        message.len(),
        message
    );
    stream.write_all(response.as_bytes())?;
    Ok(Next::Close)
}
