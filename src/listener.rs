//! The accept loop: one `std::net::TcpListener`, one thread per accepted connection.
//!
//! ```text
//! accept thread (the caller of `serve`)          connection thread "conn 127.0.0.1:50412"
//! ─────────────────────────────────────          ───────────────────────────────────────
//! loop {                                         handle_connection():
//!   accept() ──────── spawn ───────────────────►   loop {
//!   (over the cap: 503, close)                       read_request()      (http.rs)
//!   (EMFILE: log, back off, go on)                   service.handle()    (engine / app)
//! }                                                  KeepAlive? next request : return
//!                                                  }
//! ```
//!
//! A connection thread is owned by its connection: it ends when the client closes, when a
//! timeout in `http::Limits` fires, or when the service says `Next::Close`. The listener keeps a
//! count of open connections; past `max_connections` a new one is answered `503` at once, and
//! likewise when the process has no room for another thread (`threads.rs`).

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use log::{debug, error, warn};

use crate::http::{self, Connection, HeadError, Limits, Request};
use crate::threads;

/// What the connection does after a request was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read the next request on this connection.
    KeepAlive,
    /// Close the connection (the response said `Connection: close`, or a WebSocket ended).
    Close,
}

/// Whatever answers requests: the Engine.IO server, the Socket.IO server, the chapter's app.
pub trait HttpService: Send + Sync + 'static {
    /// Answers one request. The service writes its response on `connection` itself (or holds it:
    /// see `http::HeldResponse`, or takes the socket over for a WebSocket).
    fn handle(&self, request: Request, connection: &mut Connection) -> io::Result<Next>;
}

/// The listener's settings.
#[derive(Debug, Clone, Copy)]
pub struct ListenerConfig {
    /// Connections open at once; past it, `503 Service Unavailable`.
    pub max_connections: usize,
    /// Timeouts of each connection.
    pub limits: Limits,
}

impl Default for ListenerConfig {
    fn default() -> ListenerConfig {
        ListenerConfig {
            max_connections: 15_000,
            limits: Limits::default(),
        }
    }
}

/// A bound listener, not yet serving.
pub struct HttpServer {
    listener: TcpListener,
    config: ListenerConfig,
    open_connections: Arc<AtomicUsize>,
}

impl HttpServer {
    /// Binds `address` (e.g. `"0.0.0.0:8005"`; port 0 picks a free port).
    pub fn bind(address: impl ToSocketAddrs, config: ListenerConfig) -> io::Result<HttpServer> {
        let listener = TcpListener::bind(address)?;
        Ok(HttpServer {
            listener,
            config,
            open_connections: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The address actually bound (to learn the port after binding port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections forever on the calling thread.
    pub fn serve(self, service: Arc<dyn HttpService>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    backoff = MIN_BACKOFF;
                    self.on_accept(stream, peer, &service);
                }
                Err(e) if is_transient_accept_error(&e) => {
                    debug!("accept: {e}");
                }
                Err(e) => {
                    // Out of file descriptors (EMFILE/ENFILE) or memory: spinning on accept()
                    // would burn a core; wait for connections to close, then try again.
                    warn!("accept failed: {e}; retrying in {backoff:?}");
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Starts the thread of one accepted connection (or refuses it).
    fn on_accept(&self, stream: TcpStream, peer: SocketAddr, service: &Arc<dyn HttpService>) {
        let open = self.open_connections.fetch_add(1, Ordering::SeqCst) + 1;
        let count = OpenConnection(Arc::clone(&self.open_connections));
        if open > self.config.max_connections {
            warn!(
                "{peer}: {open} connections open, over the cap of {}: 503",
                self.config.max_connections
            );
            refuse(stream, "too many connections");
            return;
        }
        if !threads::has_room() {
            // Past the thread budget (see `threads.rs`) a new thread could abort the process.
            warn!("{peer}: {} threads running, no room for another: 503", threads::live());
            refuse(stream, "too many threads");
            return;
        }
        let service = Arc::clone(service);
        let limits = self.config.limits;
        let spawned = threads::spawn_with_stack(format!("conn {peer}"), Some(CONNECTION_STACK_BYTES), move || {
            let _count = count; // decremented when this thread ends
            run_connection(stream, peer, limits, service);
        });
        if let Err(e) = spawned {
            // The closure (and the stream in it) was dropped: the client sees the connection
            // close. Give the system a moment to free threads before the next accept.
            error!("{peer}: cannot start a connection thread: {e}");
            thread::sleep(MIN_BACKOFF);
        }
    }
}

/// The stack reserved for a connection thread. The deepest JSON the parser accepts (nested to
/// serde_json's limit of 128 levels: `42["x",[[[...]]]]`) takes it 130 to 160 KiB down, through
/// tungstenite, the Engine.IO and Socket.IO decoders, serde_json, the handler and the encoder back
/// (128 KiB overflow, 160 KiB do not); 512 KiB leaves twice as much again for the application's
/// handlers (`tests/socketio_protocol.rs` sends that deepest packet). std's default, 2 MiB, costs
/// a page-table page per thread (see `threads::spawn_with_stack`): 4.1 kB of kernel memory per
/// connection, against 1.2 kB with 512 KiB (`VmPTE` with 1,000 WebSocket clients).
pub const CONNECTION_STACK_BYTES: usize = 512 * 1024;

const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Errors after which `accept()` can be called again at once (the client gave up meanwhile).
fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// Counts one open connection; the count goes down when this is dropped.
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers `503` on the accept thread, with a short write timeout so a client cannot stall it.
fn refuse(mut stream: TcpStream, reason: &str) {
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = http::write_simple(&mut stream, 503, reason, None);
}

/// The body of a connection thread: logs how the connection ended.
fn run_connection(stream: TcpStream, peer: SocketAddr, limits: Limits, service: Arc<dyn HttpService>) {
    match handle_connection(stream, peer, limits, service.as_ref()) {
        Ok(()) => debug!("{peer}: connection closed"),
        Err(e) if is_normal_close(&e) => debug!("{peer}: connection closed ({e})"),
        Err(e) => warn!("{peer}: connection error: {e}"),
    }
}

/// A client hanging up is a normal close, not something to warn about.
fn is_normal_close(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

/// Reads requests one after the other and hands each to the service.
pub fn handle_connection(
    stream: TcpStream,
    peer: SocketAddr,
    limits: Limits,
    service: &dyn HttpService,
) -> io::Result<()> {
    // Each response goes out in one write: send it at once, do not wait for more (Nagle).
    stream.set_nodelay(true)?;
    let mut connection = Connection::new(stream, peer, limits)?;
    loop {
        let request = match connection.read_request() {
            Ok(request) => request,
            Err(HeadError::Closed) | Err(HeadError::IdleTimeout) => return Ok(()),
            Err(HeadError::SlowHeaders) => {
                debug!("{peer}: request head not complete in {:?}: 408", limits.request_timeout);
                http::write_simple(connection.stream(), 408, "Request Timeout", None)?;
                return Ok(());
            }
            Err(HeadError::TooLarge) => {
                debug!("{peer}: request head over {} bytes: 431", http::MAX_HEAD_BYTES);
                http::write_simple(connection.stream(), 431, "Request Header Fields Too Large", None)?;
                return Ok(());
            }
            Err(HeadError::Malformed(why)) => {
                debug!("{peer}: bad request head ({why}): 400");
                http::write_simple(connection.stream(), 400, "Bad Request", None)?;
                return Ok(());
            }
            Err(HeadError::Io(e)) => return Err(e),
        };
        debug!("{peer}: {} {}", request.method, request.url);
        match service.handle(request, &mut connection)? {
            Next::KeepAlive => {
                if let Err(e) = connection.skip_unread_body() {
                    debug!("{peer}: the unread request body cannot be skipped ({e:?}): closing");
                    return Ok(());
                }
            }
            Next::Close => return Ok(()),
        }
    }
}
