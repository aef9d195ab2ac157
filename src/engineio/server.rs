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
//! A refused WebSocket upgrade gets the reference's plain `400` with the message as text.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{debug, info};

use super::base64;
use super::socket::Socket;
use super::{Handler, polling, websocket};
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

/// CORS, as the `cors` package does it with `{ origin, credentials }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsOptions {
    /// The origins allowed to call: `["*"]` (anyone), one origin such as
    /// `http://localhost:3000` (sent as `Access-Control-Allow-Origin` whoever asks), or several
    /// (the request's `Origin` is sent back if it is one of them, else nothing).
    pub origins: Vec<String>,
    /// `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
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
    /// Allowed transports: both.
    pub transports: Vec<TransportKind>,
    /// CORS headers, only when set.
    pub cors: Option<CorsOptions>,
    /// `allowRequest`: none (every handshake is allowed).
    pub allow_request: Option<AllowRequest>,
    /// Packets that may wait for one client before it is disconnected (see NOTES.md).
    pub max_buffered_packets: usize,
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
            cors: None,
            allow_request: None,
            max_buffered_packets: 10_000,
        }
    }
}

impl ServerOptions {
    /// Whether `transport` is allowed.
    pub fn allows(&self, transport: TransportKind) -> bool {
        self.transports.contains(&transport)
    }
}

/// The reference's error codes (`Server.errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

/// A request that `verify` turned down: the error code, and the message for the client (the
/// code's own, or the one `allowRequest` gave).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    pub code: ErrorCode,
    pub message: String,
}

impl From<ErrorCode> for Refused {
    fn from(code: ErrorCode) -> Refused {
        Refused {
            code,
            message: code.message().to_string(),
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
}

impl Shared {
    pub fn remove_client(&self, id: &str) {
        lock(&self.clients).remove(id);
    }
}

/// The Engine.IO server. Clone it freely (it is a handle).
#[derive(Clone)]
pub struct Server {
    pub(super) shared: Arc<Shared>,
}

impl Server {
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

    /// Closes every session gracefully (the reference's `server.close()`).
    pub fn close(&self) {
        let sockets: Vec<Socket> = lock(&self.shared.clients).values().cloned().collect();
        for socket in sockets {
            socket.close();
        }
    }

    /// The reference's `handleRequest` and `handleUpgrade`.
    pub fn handle_request(&self, request: Request, connection: &mut Connection) -> io::Result<Next> {
        if request.method == "OPTIONS" && self.shared.options.cors.is_some() {
            return self.answer_preflight(&request, connection);
        }
        if request.is_websocket_upgrade() {
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
        let transport = request.query_param("transport").and_then(TransportKind::from_name);
        let transport = match transport {
            Some(t) if self.shared.options.allows(t) => t,
            _ => return Err(ErrorCode::UnknownTransport.into()),
        };
        if let Some(origin) = request.header("origin") {
            if origin.chars().any(|c| c != '\t' && (c < ' ' || c == '\x7f')) {
                return Err(ErrorCode::BadRequest.into());
            }
        }
        match request.query_param("sid") {
            Some(sid) => {
                let socket = match lock(&self.shared.clients).get(sid) {
                    Some(socket) => socket.clone(),
                    None => return Err(ErrorCode::UnknownSid.into()),
                };
                let previous = socket.lock().transport;
                if !upgrade && previous != transport {
                    debug!(
                        "{sid}: bad request: {} request on a {} session",
                        transport.name(),
                        previous.name()
                    );
                    return Err(ErrorCode::BadRequest.into());
                }
                Ok(Some(socket))
            }
            None => {
                if request.method != "GET" {
                    return Err(ErrorCode::BadHandshakeMethod.into());
                }
                if transport == TransportKind::WebSocket && !upgrade {
                    return Err(ErrorCode::BadRequest.into());
                }
                if let Some(allow_request) = &self.shared.options.allow_request {
                    if let Err(message) = (allow_request.0)(request) {
                        debug!("{} {}: refused by allowRequest: {message}", request.method, request.url);
                        return Err(Refused {
                            code: ErrorCode::Forbidden,
                            message,
                        });
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
        if request.query_param("EIO") != Some("4") {
            return self.abort_request(&request, connection, ErrorCode::UnsupportedProtocolVersion.into());
        }
        let id = match generate_id() {
            Ok(id) => id,
            Err(e) => {
                log::error!("no random bytes for a session id: {e}");
                return self.abort_request(&request, connection, ErrorCode::BadRequest.into());
            }
        };
        info!("{id}: handshake over {} from {}", transport.name(), request.peer);
        let socket = self.open_session(id, transport, request.clone());
        // The `connection` event comes before the answer: once the client has its sid it may
        // POST at once, on another connection thread, and the layer above must be ready for it.
        // (The reference answers first; in Node's one thread the POST cannot overtake it.)
        self.shared.handler.on_connection(&socket);
        polling::on_poll_request(self, &socket, &request, connection)
    }

    /// Registers a new session and queues its open packet (shared by both handshakes).
    pub(super) fn open_session(&self, id: String, transport: TransportKind, request: Request) -> Socket {
        let socket = Socket::new(id.clone(), request, transport, Arc::clone(&self.shared));
        lock(&self.shared.clients).insert(id, socket.clone());
        socket.on_open();
        socket
    }

    /// The handler, for the WebSocket handshake.
    pub(super) fn handler(&self) -> &Arc<dyn Handler> {
        &self.shared.handler
    }

    /// `abortRequest`: `{"code":1,"message":"Session ID unknown"}` with 400 (403 for Forbidden).
    pub(super) fn abort_request(
        &self,
        request: &Request,
        connection: &mut Connection,
        refused: Refused,
    ) -> io::Result<Next> {
        let code = refused.code;
        debug!(
            "{} {}: error {} {}",
            request.method, request.url, code as u8, refused.message
        );
        let status = if code == ErrorCode::Forbidden { 403 } else { 400 };
        // The message as a JSON string (`allowRequest`'s may hold quotes).
        let message = serde_json::Value::String(refused.message).to_string();
        let body = format!(r#"{{"code":{},"message":{message}}}"#, code as u8);
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        headers.extend(self.cors_headers(request));
        connection.respond(request, status, &headers, body.as_bytes())
    }

    /// CORS headers for an answer to `request` (none when CORS is not configured).
    pub(super) fn cors_headers(&self, request: &Request) -> Vec<(String, String)> {
        let mut headers = Vec::new();
        let cors = match &self.shared.options.cors {
            Some(cors) => cors,
            None => return headers,
        };
        match cors.origins.as_slice() {
            [any] if any == "*" => {
                headers.push(("Access-Control-Allow-Origin".to_string(), "*".to_string()));
            }
            [only] => {
                headers.push(("Access-Control-Allow-Origin".to_string(), only.clone()));
                headers.push(("Vary".to_string(), "Origin".to_string()));
            }
            several => {
                // Sent back only to an origin of the list (the `cors` package's array).
                if let Some(origin) = request.header("origin") {
                    if several.iter().any(|allowed| allowed == origin) {
                        headers.push(("Access-Control-Allow-Origin".to_string(), origin.to_string()));
                    }
                }
                headers.push(("Vary".to_string(), "Origin".to_string()));
            }
        }
        if cors.credentials {
            headers.push(("Access-Control-Allow-Credentials".to_string(), "true".to_string()));
        }
        headers
    }

    /// `OPTIONS` preflight, as the `cors` package answers it: 204 with the allowed methods and the
    /// request's own `Access-Control-Request-Headers` reflected.
    fn answer_preflight(&self, request: &Request, connection: &mut Connection) -> io::Result<Next> {
        let mut headers = self.cors_headers(request);
        headers.push((
            "Access-Control-Allow-Methods".to_string(),
            "GET,HEAD,PUT,PATCH,POST,DELETE".to_string(),
        ));
        if let Some(asked) = request.header("access-control-request-headers") {
            headers.push(("Access-Control-Allow-Headers".to_string(), asked.to_string()));
            // One `Vary` header listing both, as the `vary` package merges them.
            let mut merged = false;
            for (name, value) in headers.iter_mut() {
                if name == "Vary" {
                    value.push_str(", Access-Control-Request-Headers");
                    merged = true;
                }
            }
            if !merged {
                headers.push(("Vary".to_string(), "Access-Control-Request-Headers".to_string()));
            }
        }
        connection.respond(request, 204, &headers, b"")
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
    let mut filled = 0;
    while filled < bytes.len() {
        // SAFETY: writes at most `bytes.len() - filled` bytes into the rest of a local array.
        let got = unsafe { libc::getrandom(bytes[filled..].as_mut_ptr().cast(), bytes.len() - filled, 0) };
        if got < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        filled += got as usize;
    }
    Ok(base64::encode(&bytes).replace('/', "_").replace('+', "-"))
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

/// `abortUpgrade`: the reference's plain answer to a refused WebSocket request, then close.
pub(super) fn abort_upgrade(stream: &mut impl Write, message: &str) -> io::Result<Next> {
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: {}\r\n\r\n{}",
        message.len(),
        message
    );
    stream.write_all(response.as_bytes())?;
    Ok(Next::Close)
}
