//! HTTP/1.1, as much of it as a Socket.IO server needs, on a plain `TcpStream`.
//!
//! One `Connection` per accepted socket, owned by that socket's thread (see `listener.rs`).
//! A request is read in two steps:
//!
//! ```text
//! GET /socket.io/?EIO=4&transport=polling&t=PZ1 HTTP/1.1\r\n     <- request line  } the head: parsed by
//! Host: localhost:8005\r\n                                        <- headers       } httparse, 16 KiB at most
//! \r\n                                                                              } (431 past that)
//! 1:4hello                                                        <- body: Content-Length or chunked,
//!                                                                    read only when the handler asks,
//!                                                                    never past the handler's limit
//! ```
//!
//! and a response is written by hand in one `write_all`:
//!
//! ```text
//! HTTP/1.1 200 OK\r\n
//! Content-Type: text/plain; charset=UTF-8\r\n
//! Content-Length: 6\r\n
//! Connection: keep-alive\r\n
//! Keep-Alive: timeout=5\r\n
//! \r\n
//! 4hello
//! ```
//!
//! Timeouts (all in [`Limits`]): a connection with no request in progress is closed after
//! `keep_alive_timeout` (5 s, as Node); once a request has started, its head and body must arrive
//! within `request_timeout` (a slow-headers client cannot hold a thread); a held long-poll GET is
//! not subject to either (see [`Connection::wait_held`]); every write gives up after `write_timeout`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::listener::Next;
use crate::waker::Waker;

/// A request head is at most 16 KiB, as in Node (`--max-http-header-size`).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// At most this many header lines (httparse needs a fixed array).
const MAX_HEADERS: usize = 100;
/// A `read` with nothing pending goes into an array of this size on the stack (see `fill_buffer`).
const SMALL_READ_BYTES: usize = 1024;
/// The least a request's heap buffer holds (see `fill_buffer`). glibc's malloc keeps a freed
/// block of up to 1,032 bytes in the freeing thread's own cache, where only that thread's later
/// allocations of that size take it back: an idle WebSocket's reader makes none, and the buffer
/// of its upgrade request would stay there for as long as the connection lives (NOTES.md
/// section 7, "An idle client's bytes"). A larger block goes back to the arena when freed, for
/// any thread's next request.
const UNCACHED_BUFFER_BYTES: usize = 1_040;
/// How much one `read` of a request may bring when bytes are already pending.
pub const READ_CHUNK_BYTES: usize = 4096;
/// A body the service answered without reading (an error answer to a POST) is skipped up to
/// this size before the next request of a keep-alive connection; past it the connection closes.
pub const MAX_SKIPPED_BODY: usize = 1024 * 1024;

/// The time limits of one connection.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long an idle keep-alive connection is kept (advertised as `Keep-Alive: timeout=5`).
    pub keep_alive_timeout: Duration,
    /// How long a started request may take to send its head and its body.
    pub request_timeout: Duration,
    /// How long one write may block on a client that does not read.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            keep_alive_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// How the body of a request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (no `Content-Length`, no `Transfer-Encoding`).
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// One parsed request head.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, `OPTIONS`, ...
    pub method: String,
    /// The request target as sent, e.g. `/socket.io/?EIO=4&transport=polling`.
    pub url: String,
    /// The part of `url` before `?`, e.g. `/socket.io/`.
    pub path: String,
    /// The query string decoded into pairs, in order, e.g. `[("EIO","4"),("transport","polling")]`.
    /// Shared (`Arc`): a session keeps its first request for as long as it lives, and every
    /// Socket.IO namespace's `handshake` refers to the same pairs instead of copying them.
    pub query: Arc<[(String, String)]>,
    /// Header names in lower case, values as sent (shared, as `query`).
    pub headers: Arc<[(String, String)]>,
    /// `HTTP/1.0` (no keep-alive unless asked) rather than `HTTP/1.1`.
    pub http10: bool,
    /// How the body is framed.
    pub body: BodyFraming,
    /// The client's address (the chapter's `req.connection.remoteAddress`).
    pub peer: SocketAddr,
    /// Headers already decided for this request's answer, whatever it will be (Engine.IO's CORS
    /// middleware puts its own here, as Node's `res.setHeader` does before the answer is written).
    pub response_headers: Vec<(String, String)>,
}

impl Request {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        for (key, value) in self.headers.iter() {
            if key == name {
                return Some(value.as_str());
            }
        }
        None
    }

    /// The first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        for (key, value) in self.query.iter() {
            if key == name {
                return Some(value.as_str());
            }
        }
        None
    }

    /// Whether the connection stays open after the response.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.http10 {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        }
    }

    /// `Upgrade: websocket` (and `Connection: Upgrade`): the client asks for a WebSocket.
    pub fn is_websocket_upgrade(&self) -> bool {
        let upgrade = self.header("upgrade").unwrap_or("");
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        self.method == "GET" && upgrade.eq_ignore_ascii_case("websocket") && connection.contains("upgrade")
    }
}

/// Why no request head could be read.
#[derive(Debug)]
pub enum HeadError {
    /// The client closed the connection between requests: a normal end.
    Closed,
    /// No request started within `keep_alive_timeout`: a normal end.
    IdleTimeout,
    /// The head did not complete within `request_timeout` (answered 408).
    SlowHeaders,
    /// The head is larger than 16 KiB or has too many lines (answered 431).
    TooLarge,
    /// Not HTTP/1.x (answered 400).
    Malformed(String),
    /// The socket failed.
    Io(io::Error),
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the limit (answered 413; the connection then closes).
    TooLarge,
    /// A POST with neither `Content-Length` nor `Transfer-Encoding: chunked` (answered 411).
    LengthRequired,
    /// Bad chunk framing, or the client went away or was too slow (answered 400 when possible).
    Malformed(String),
    /// The socket failed or timed out.
    Io(io::Error),
}

/// What ended the wait of a held long-poll GET (see [`Connection::wait_held`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldWait {
    /// The connection's waker was rung: the session may have something to send.
    Rung,
    /// The client closed or reset the connection (the reference's `req.on("close")`).
    ClientGone,
}

/// One TCP socket shared by the threads that serve it: the connection thread reads, a WebSocket's
/// writers (whichever thread sends, or its `ws-writer`) write. `&TcpStream` can read and write, so every
/// handle is an `Arc` of the one socket: one file descriptor per client, where `try_clone()`
/// would `dup()` one per handle. The socket closes when the last handle is dropped.
///
/// Each handle keeps the socket's file descriptor beside the `Arc` (valid while the handle
/// lives): `send_now`, a broadcast's one system call per client, reads it there rather than
/// from the `TcpStream` behind the `Arc`, one memory access fewer per client.
#[derive(Clone)]
pub struct SharedStream {
    stream: Arc<TcpStream>,
    fd: RawFd,
}

impl SharedStream {
    pub fn new(stream: TcpStream) -> SharedStream {
        let fd = stream.as_raw_fd();
        SharedStream {
            stream: Arc::new(stream),
            fd,
        }
    }

    /// The socket itself, for its options and `shutdown`.
    pub fn tcp(&self) -> &TcpStream {
        &self.stream
    }

    /// Writes what the kernel's send buffer takes now, without waiting for the client:
    /// `Err(WouldBlock)` when the buffer is full. The socket itself stays blocking for the other
    /// threads that use it (a reader's `read`, a writer thread's `write`): this is `send(2)` with
    /// `MSG_DONTWAIT`, a flag for this one call. std has no such call, hence the `libc` crate.
    pub fn send_now(&self, buffer: &[u8]) -> io::Result<usize> {
        let fd = self.fd;
        loop {
            // SAFETY: `fd` is the open socket this stream owns (alive as long as `self`), and
            // `buffer` is valid for reads of `buffer.len()` bytes.
            let sent = unsafe {
                libc::send(
                    fd,
                    buffer.as_ptr().cast(),
                    buffer.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if sent >= 0 {
                return Ok(sent as usize);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

impl Read for SharedStream {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        (&*self.stream).read(buffer)
    }
}

impl Write for SharedStream {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        (&*self.stream).write(buffer)
    }
    fn write_vectored(&mut self, buffers: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self.stream).write_vectored(buffers)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self.stream).flush()
    }
}

/// One accepted TCP connection and the bytes read from it but not used yet.
pub struct Connection {
    stream: SharedStream,
    peer: SocketAddr,
    /// Bytes read past the end of the last request (the next request's start, or a WebSocket
    /// frame that came right behind the upgrade request).
    buffer: Vec<u8>,
    limits: Limits,
    /// The wake-up descriptor of this connection's held GETs: made at the first one, kept for the
    /// next ones (see [`Connection::wait_held`]).
    waker: Option<Arc<Waker>>,
    /// The framing of the last request's body while it has not been read.
    unread_body: BodyFraming,
}

impl Connection {
    /// Wraps a freshly accepted stream (the write timeout is set here; the listener has set
    /// TCP_NODELAY). Nothing here needs TCP itself: `fuzz/` runs a `Connection` over one end of
    /// a Unix socket pair, its descriptor wrapped as a `TcpStream`.
    pub fn new(stream: TcpStream, peer: SocketAddr, limits: Limits) -> io::Result<Connection> {
        stream.set_write_timeout(Some(limits.write_timeout))?;
        Ok(Connection {
            stream: SharedStream::new(stream),
            peer,
            buffer: Vec::new(),
            limits,
            waker: None,
            unread_body: BodyFraming::None,
        })
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The socket, for writing a response.
    pub fn stream(&mut self) -> &mut SharedStream {
        &mut self.stream
    }

    /// A second handle to the same socket, for a writer thread.
    pub fn share_stream(&self) -> SharedStream {
        self.stream.clone()
    }

    /// The time limits of this connection.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The `Keep-Alive` timeout to advertise in the answer to `request`, or `None` to close after it.
    pub fn keep_alive_for(&self, request: &Request) -> Option<Duration> {
        if request.keep_alive() {
            Some(self.limits.keep_alive_timeout)
        } else {
            None
        }
    }

    /// Answers `request`; the connection stays open if the request allows it.
    pub fn respond(
        &mut self,
        request: &Request,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
    ) -> io::Result<Next> {
        let keep_alive = self.keep_alive_for(request);
        write_response(&mut self.stream, status, headers, body, keep_alive)?;
        if keep_alive.is_some() {
            Ok(Next::KeepAlive)
        } else {
            Ok(Next::Close)
        }
    }

    /// Takes the bytes read past the last request head (a WebSocket's first frames may be there).
    pub fn take_buffered_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buffer)
    }

    /// The waker a held GET of this connection waits on (made the first time, one file descriptor).
    pub fn waker(&mut self) -> io::Result<Arc<Waker>> {
        if let Some(waker) = &self.waker {
            return Ok(Arc::clone(waker));
        }
        let waker = Arc::new(Waker::new()?);
        self.waker = Some(Arc::clone(&waker));
        Ok(waker)
    }

    /// The wait of a held long-poll GET, on the connection's own thread: one `poll(2)` on two
    /// descriptors, with no time limit (the session rings at least once per ping interval):
    ///
    /// ```text
    /// socket  POLLRDHUP   the client closed (FIN) or reset (POLLHUP, POLLERR): ClientGone
    /// waker   POLLIN      the session rang (packets queued, upgrade, close): Rung
    /// ```
    ///
    /// The socket is not watched for bytes: a client does not send its next request before the
    /// answer, and if it does (pipelining) they wait in the kernel until the answer is written.
    pub fn wait_held(&mut self) -> io::Result<HeldWait> {
        let waker = self.waker()?;
        let mut fds = [
            libc::pollfd {
                fd: self.stream.tcp().as_raw_fd(),
                events: libc::POLLRDHUP,
                revents: 0,
            },
            libc::pollfd {
                fd: waker.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        loop {
            // SAFETY: two valid pollfds on the stack; both descriptors are open (the socket is
            // owned by `self.stream`, the eventfd by `waker`).
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if ready > 0 {
                break;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        let gone = libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
        if fds[0].revents & gone != 0 {
            return Ok(HeldWait::ClientGone);
        }
        // Cleared before the caller looks at the session: a ring after this wakes the next wait.
        waker.clear();
        Ok(HeldWait::Rung)
    }

    /// Reads one more chunk from the socket into `buffer`, waiting at most `timeout`
    /// (`None`: no limit). Returns how many bytes came (0: the client closed).
    fn fill_buffer(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        self.stream.tcp().set_read_timeout(timeout)?;
        let start = self.buffer.len();
        if start == 0 {
            // Nothing pending (a new request): read onto the stack and keep on the heap only the
            // bytes that came. A 4 KiB heap buffer made for every request would be touched
            // (zero-filled), and memory freed to malloc stays in the process's RSS unless reused;
            // this way a connection that waits (idle, or holding a GET) holds no buffer.
            let mut small = [0u8; SMALL_READ_BYTES];
            let n = read_retrying(&mut self.stream, &mut small)?;
            self.buffer = Vec::with_capacity(n.max(UNCACHED_BUFFER_BYTES));
            self.buffer.extend_from_slice(&small[..n]);
            return Ok(n);
        }
        // More of a request that has started: read straight into the buffer's free end.
        self.buffer.resize(start + READ_CHUNK_BYTES, 0);
        let read = read_retrying(&mut self.stream, &mut self.buffer[start..]);
        self.buffer.truncate(start + *read.as_ref().unwrap_or(&0));
        read
    }

    /// Takes the first `count` bytes of the buffer; an emptied buffer is freed.
    fn take_from_buffer(&mut self, count: usize) -> Vec<u8> {
        let taken: Vec<u8> = self.buffer.drain(..count).collect();
        if self.buffer.is_empty() {
            self.buffer = Vec::new();
        }
        taken
    }

    /// Drops the first `count` bytes of the buffer (a head, parsed); an emptied buffer is freed.
    /// No copy of them is made: one made and freed at once would stay, for as long as the thread
    /// lives, in its malloc cache (NOTES.md section 7, "An idle client's bytes").
    fn drop_from_buffer(&mut self, count: usize) {
        self.buffer.drain(..count);
        if self.buffer.is_empty() {
            self.buffer = Vec::new();
        }
    }

    /// Waits until the first byte of the next request is here; an idle connection is closed
    /// after `keep_alive_timeout` and a fraction of a second of its own (`idle_spread`).
    fn wait_for_request_start(&mut self) -> Result<(), HeadError> {
        if !self.buffer.is_empty() {
            return Ok(());
        }
        let idle_timeout = self.limits.keep_alive_timeout + idle_spread(self.peer);
        match self.fill_buffer(Some(idle_timeout)) {
            Ok(0) => Err(HeadError::Closed),
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) => Err(HeadError::IdleTimeout),
            Err(e) => Err(HeadError::Io(e)),
        }
    }

    /// Reads and parses the next request head.
    pub fn read_request(&mut self) -> Result<Request, HeadError> {
        self.wait_for_request_start()?;
        let deadline = Instant::now() + self.limits.request_timeout;
        loop {
            if let Some((request, head_len)) = parse_head(&self.buffer, self.peer)? {
                self.drop_from_buffer(head_len);
                self.unread_body = request.body;
                return Ok(request);
            }
            if self.buffer.len() >= MAX_HEAD_BYTES {
                return Err(HeadError::TooLarge);
            }
            let remaining = match deadline.checked_duration_since(Instant::now()) {
                Some(d) if !d.is_zero() => d,
                _ => return Err(HeadError::SlowHeaders),
            };
            match self.fill_buffer(Some(remaining)) {
                Ok(0) => return Err(HeadError::Closed),
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(HeadError::SlowHeaders),
                Err(e) => return Err(HeadError::Io(e)),
            }
        }
    }

    /// Reads the whole body of `request`, refusing one larger than `limit` bytes.
    ///
    /// `Content-Length` larger than the limit is refused before a byte is read; a chunked body is
    /// refused as soon as its chunks add up past the limit. Either way the caller answers 413 and
    /// closes the connection (the rest of the body is never read).
    pub fn read_body(&mut self, request: &Request, limit: usize) -> Result<Vec<u8>, BodyError> {
        self.unread_body = BodyFraming::None;
        let deadline = Instant::now() + self.limits.request_timeout;
        match request.body {
            BodyFraming::None => {
                if request.method == "POST" || request.method == "PUT" {
                    Err(BodyError::LengthRequired)
                } else {
                    Ok(Vec::new())
                }
            }
            BodyFraming::Length(length) => {
                if length > limit as u64 {
                    return Err(BodyError::TooLarge);
                }
                self.read_exact_bytes(length as usize, deadline)
            }
            BodyFraming::Chunked => self.read_chunked_body(limit, deadline),
        }
    }

    /// Skips the body of the last request if it was answered without being read (an error answer
    /// to a POST), so that the body is not taken for the start of the next request; Node does the
    /// same (`req._dump()`). `Err`: it could not be skipped, and the connection must close.
    pub fn skip_unread_body(&mut self) -> Result<(), BodyError> {
        let framing = std::mem::replace(&mut self.unread_body, BodyFraming::None);
        let deadline = Instant::now() + self.limits.request_timeout;
        match framing {
            BodyFraming::None => Ok(()),
            BodyFraming::Length(length) if length > MAX_SKIPPED_BODY as u64 => Err(BodyError::TooLarge),
            BodyFraming::Length(length) => self.read_exact_bytes(length as usize, deadline).map(drop),
            BodyFraming::Chunked => self.read_chunked_body(MAX_SKIPPED_BODY, deadline).map(drop),
        }
    }

    /// Takes exactly `count` bytes from the buffer and the socket.
    fn read_exact_bytes(&mut self, count: usize, deadline: Instant) -> Result<Vec<u8>, BodyError> {
        while self.buffer.len() < count {
            self.fill_before(deadline)?;
        }
        Ok(self.take_from_buffer(count))
    }

    /// Takes one `\r\n`-terminated line (without the `\r\n`), at most `max` bytes long.
    fn read_line(&mut self, max: usize, deadline: Instant) -> Result<Vec<u8>, BodyError> {
        loop {
            if let Some(pos) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let mut line = self.take_from_buffer(pos + 2);
                line.truncate(pos);
                return Ok(line);
            }
            // No CRLF yet, so all of the buffer is this line: `max` bytes and a `\r` whose `\n`
            // is still on its way is the longest it may be.
            if self.buffer.len() > max + 1 {
                return Err(BodyError::Malformed("chunk line too long".to_string()));
            }
            self.fill_before(deadline)?;
        }
    }

    /// `Transfer-Encoding: chunked`:
    ///
    /// ```text
    /// 5\r\n          <- chunk size in hex (extensions after `;` ignored)
    /// 4helo\r\n      <- chunk data
    /// 0\r\n          <- last chunk
    /// \r\n           <- end (trailers, if any, are skipped)
    /// ```
    fn read_chunked_body(&mut self, limit: usize, deadline: Instant) -> Result<Vec<u8>, BodyError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(1024, deadline)?;
            let text = String::from_utf8_lossy(&line);
            let size_text = text.split(';').next().unwrap_or("").trim();
            let size = match usize::from_str_radix(size_text, 16) {
                Ok(size) => size,
                Err(_) => return Err(BodyError::Malformed(format!("bad chunk size {size_text:?}"))),
            };
            if size == 0 {
                // Trailer lines until an empty one.
                loop {
                    let trailer = self.read_line(MAX_HEAD_BYTES, deadline)?;
                    if trailer.is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len().saturating_add(size) > limit {
                return Err(BodyError::TooLarge);
            }
            let mut chunk = self.read_exact_bytes(size, deadline)?;
            body.append(&mut chunk);
            let end = self.read_line(0, deadline)?;
            if !end.is_empty() {
                return Err(BodyError::Malformed("chunk not followed by CRLF".to_string()));
            }
        }
    }

    /// Reads more bytes, failing once `deadline` has passed.
    fn fill_before(&mut self, deadline: Instant) -> Result<(), BodyError> {
        let remaining = match deadline.checked_duration_since(Instant::now()) {
            Some(d) if !d.is_zero() => d,
            _ => return Err(BodyError::Malformed("body timed out".to_string())),
        };
        match self.fill_buffer(Some(remaining)) {
            Ok(0) => Err(BodyError::Malformed("connection closed in the body".to_string())),
            Ok(_) => Ok(()),
            Err(e) if is_timeout(&e) => Err(BodyError::Malformed("body timed out".to_string())),
            Err(e) => Err(BodyError::Io(e)),
        }
    }
}

/// Up to a second more for an idle connection, different for each connection (its port's last
/// three digits, in ms): connections opened together (a crowd of clients, a reconnecting proxy)
/// are not all closed in the same instant, to be reopened in one burst of SYNs.
fn idle_spread(peer: SocketAddr) -> Duration {
    Duration::from_millis(u64::from(peer.port()) % 1000)
}

/// One `read`, again if a signal interrupted it.
fn read_retrying(stream: &mut SharedStream, into: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(into) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A read that gave up because of `set_read_timeout`.
fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Parses a request head from the start of `bytes`: `Ok(None)` while it is incomplete,
/// `Ok(Some((request, head_length)))` once it is complete.
pub(crate) fn parse_head(bytes: &[u8], peer: SocketAddr) -> Result<Option<(Request, usize)>, HeadError> {
    // On the heap, not the stack, for the same reason as in `fill_buffer` (3 KiB).
    let mut header_slots = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut header_slots);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(e) => return Err(HeadError::Malformed(e.to_string())),
    };
    if head_len > MAX_HEAD_BYTES {
        return Err(HeadError::TooLarge);
    }
    let method = parsed.method.unwrap_or("").to_string();
    let url = parsed.path.unwrap_or("/").to_string();
    let http10 = parsed.version == Some(0);
    // Collected straight into the shared slice (one allocation of the exact size).
    let headers: Arc<[(String, String)]> = parsed
        .headers
        .iter()
        .map(|header| {
            let value = String::from_utf8_lossy(header.value).into_owned();
            (header.name.to_ascii_lowercase(), value)
        })
        .collect();
    let (path, query_string) = match url.split_once('?') {
        Some((path, query)) => (path.to_string(), query),
        None => (url.clone(), ""),
    };
    let mut request = Request {
        method,
        url: url.clone(),
        path,
        query: parse_query(query_string).into(),
        headers,
        http10,
        body: BodyFraming::None,
        peer,
        response_headers: Vec::new(),
    };
    request.body = body_framing(&request)?;
    Ok(Some((request, head_len)))
}

/// Decides how the body is framed; both headers at once is refused (request smuggling).
fn body_framing(request: &Request) -> Result<BodyFraming, HeadError> {
    let transfer_encoding = request.header("transfer-encoding");
    let content_length = request.header("content-length");
    match (transfer_encoding, content_length) {
        (Some(_), Some(_)) => Err(HeadError::Malformed(
            "both Transfer-Encoding and Content-Length".to_string(),
        )),
        (Some(te), None) => {
            if te.trim().eq_ignore_ascii_case("chunked") {
                Ok(BodyFraming::Chunked)
            } else {
                Err(HeadError::Malformed(format!("unsupported Transfer-Encoding {te:?}")))
            }
        }
        (None, Some(cl)) => match cl.trim().parse::<u64>() {
            Ok(0) => Ok(BodyFraming::Length(0)),
            Ok(n) => Ok(BodyFraming::Length(n)),
            Err(_) => Err(HeadError::Malformed(format!("bad Content-Length {cl:?}"))),
        },
        (None, None) => Ok(BodyFraming::None),
    }
}

/// `EIO=4&transport=polling&t=a%2Bb` -> `[("EIO","4"),("transport","polling"),("t","a+b")]`
/// (Node's `querystring.parse`: `+` is a space, `%XX` is a byte).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::with_capacity(query.split('&').count());
    for part in query.split('&') {
        if part.is_empty() {
            continue;
        }
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((percent_decode(key), percent_decode(value)));
    }
    pairs
}

/// `a%2Bb+c` -> `a+b c`; a broken escape is kept as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The reason phrase of the status codes this server sends.
pub fn status_text(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Writes a whole response in one `write_all`.
///
/// `Content-Length` is always written from `body`; `Connection: keep-alive` with
/// `Keep-Alive: timeout=N` (as Node sends them), or `Connection: close`.
pub fn write_response(
    stream: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: Option<Duration>,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", status, status_text(status));
    for (name, value) in headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    match keep_alive {
        Some(timeout) => {
            head.push_str("Connection: keep-alive\r\n");
            head.push_str(&format!("Keep-Alive: timeout={}\r\n", timeout.as_secs()));
        }
        None => head.push_str("Connection: close\r\n"),
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    stream.flush()
}

/// A response with no extra headers and a short text body, e.g. `413 Payload Too Large`.
pub fn write_simple(stream: &mut impl Write, status: u16, body: &str, keep_alive: Option<Duration>) -> io::Result<()> {
    let headers = vec![("Content-Type".to_string(), "text/plain; charset=UTF-8".to_string())];
    write_response(stream, status, &headers, body.as_bytes(), keep_alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:1".parse().unwrap()
    }

    #[test]
    fn parses_a_polling_get() {
        let bytes = b"GET /socket.io/?EIO=4&transport=polling&t=a%2Bb HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\nNEXT";
        let (request, len) = parse_head(bytes, peer()).unwrap().unwrap();
        assert_eq!(&bytes[len..], b"NEXT");
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/socket.io/");
        assert_eq!(request.query_param("EIO"), Some("4"));
        assert_eq!(request.query_param("t"), Some("a+b"));
        assert_eq!(request.header("host"), Some("x"));
        assert!(request.keep_alive());
        assert_eq!(request.body, BodyFraming::None);
    }

    #[test]
    fn partial_head_is_none() {
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost:", peer()).unwrap().is_none());
    }

    #[test]
    fn refuses_both_framings() {
        let bytes = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(parse_head(bytes, peer()), Err(HeadError::Malformed(_))));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Bb+c%"), "a+b c%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(
            parse_query("a=1&&b&c=%41"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "".to_string()),
                ("c".to_string(), "A".to_string()),
            ]
        );
    }

    #[test]
    fn writes_a_keep_alive_response() {
        let mut out = Vec::new();
        let headers = vec![("Content-Type".to_string(), "text/html".to_string())];
        write_response(&mut out, 200, &headers, b"ok", Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok"
        );
    }
}
