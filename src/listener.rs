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
//! count of open connections; past `max_connections` a new one is answered `503` at once.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use log::{debug, error, info, warn};

use crate::http::{self, Connection, HeadError, Limits, Request};

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
    pub fn serve(mut self, service: Arc<dyn HttpService>) {
        let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok());
        let cap = connection_cap(self.config.max_connections, max_map_count);
        if cap < self.config.max_connections {
            info!(
                "at most {cap} open connections, not {}: vm.max_map_count is {}, room for the threads of \
                 {cap} (raise it with `sysctl vm.max_map_count=262144`)",
                self.config.max_connections,
                max_map_count.unwrap_or(0)
            );
            self.config.max_connections = cap;
        }
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
        let service = Arc::clone(service);
        let limits = self.config.limits;
        let spawned = thread::Builder::new().name(format!("conn {peer}")).spawn(move || {
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

/// Memory mappings one connection may need: two threads at most (the connection's own and a
/// writer, `ws-writer` or `poll`), and each thread has four (its stack and guard page, and the
/// alternate signal stack and guard page std gives every thread for stack overflows).
const MAPS_PER_CONNECTION: usize = 8;
/// Mappings left for everything else (the binary, libraries, malloc's arenas).
const MAPS_RESERVED: usize = 2_000;

/// The cap on open connections: the configured one, or lower if the kernel's limit of memory
/// mappings per process (`vm.max_map_count`, 65,530 by default) leaves no room for the threads of
/// that many. Past that limit a thread cannot be started, or worse, std aborts the whole process
/// when a new thread cannot map its signal stack; a 503 at the door is the clear error instead.
pub fn connection_cap(configured: usize, max_map_count: Option<usize>) -> usize {
    match max_map_count {
        Some(maps) => configured.min(maps.saturating_sub(MAPS_RESERVED) / MAPS_PER_CONNECTION),
        None => configured,
    }
}

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

#[cfg(test)]
mod tests {
    use super::connection_cap;

    #[test]
    fn the_cap_leaves_room_for_every_connection_s_thread_mappings() {
        // Linux's default vm.max_map_count: (65,530 - 2,000) / 8 = 7,941 connections.
        assert_eq!(connection_cap(15_000, Some(65_530)), 7_941);
        // A raised limit lets the configured cap stand.
        assert_eq!(connection_cap(15_000, Some(262_144)), 15_000);
        assert_eq!(connection_cap(15_000, None), 15_000);
        assert_eq!(connection_cap(15_000, Some(10)), 0);
    }
}
