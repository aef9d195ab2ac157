//! Shared helpers of the integration tests (`engine_protocol.rs`, `engine_threads.rs`,
//! `socketio_protocol.rs`, `chapter_app.rs`, `gif_chat.rs`, `browser.rs`).
//!
//! - [`EchoServer`]: a server as a child process on a free port, `examples/engine_echo` or any
//!   other binary ([`EchoServer::start_command`]), killed on drop (its log is printed when a test
//!   fails);
//! - [`Http`]: a tiny HTTP/1.1 client over one `TcpStream` that sends exact bytes and reads one
//!   response at a time (status, headers, body by `Content-Length`);
//! - `ws_*`: a WebSocket client (tungstenite over a `TcpStream` we connect ourselves);
//! - Engine.IO helpers: the handshake, payloads split on `\x1e`, the JSON errors;
//! - [`thread_count`]: the `Threads:` line of `/proc/PID/status`;
//! - [`serve`]: a Socket.IO `Server` of the test's own, in-process, on a free port;
//!   [`sio_session`], [`sio_join`], [`sio_connect`]: a raw WebSocket client that joins
//!   namespaces; [`Polling`]: a raw polling client of `/socket.io/`; [`sockets_of`]: the
//!   server's sockets as they connect;
//! - [`tools`]: Node.js with the pinned npm packages (installed on first use), the browser;
//! - [`run_browser_suite`]: a `tests/browser/*.test.mjs` suite under node, its counts checked;
//! - [`redis_server::RedisServer`]: a real `redis-server` on a free port, stopped on drop;
//! - [`cluster`]: our servers and the reference's on one Redis, raw clients of them;
//! - [`proxies::LoadBalancer`]: nginx or HAProxy from `examples/cluster/`, stopped on drop;
//! - [`signal`]: `kill -SIGNAL pid`.
//!
//! Set `ENGINE_ECHO_COMMAND` (e.g. `node tests/node/reference/engine_echo.mjs`) to run the tests
//! against another server; tests of flags the reference does not know then fail at start-up.
//! `INTEROP_COMMAND` (e.g. `node tests/node/reference/interop.mjs`) does the same for
//! `examples/interop` ([`EchoServer::start_interop`]).

#![allow(dead_code)]

pub mod cluster;
pub mod proxies;
pub mod redis_server;
pub mod tools;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message as WsMessage, WebSocket};

/// How long a read waits for something that should come at once.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The Engine.IO path of `engine_echo`.
pub const PATH: &str = "/engine.io/";

/// The query of a polling handshake.
pub const POLLING_HANDSHAKE: &str = "EIO=4&transport=polling";

/// The query of a WebSocket handshake.
pub const WEBSOCKET_HANDSHAKE: &str = "EIO=4&transport=websocket";

/// The query of a polling request of session `sid`.
pub fn polling(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// The query of a WebSocket (upgrade) request of session `sid`.
pub fn websocket(sid: &str) -> String {
    format!("EIO=4&transport=websocket&sid={sid}")
}

// ----- the server process -------------------------------------------------------------------

/// `target/<profile>/examples/<name>`, built by `cargo test` before the integration tests.
pub fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("current_exe");
    // target/debug/deps/engine_protocol-<hash> -> target/debug/examples/<name>
    let profile_dir = test_binary.parent().and_then(Path::parent).expect("target/<profile>");
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds it, run the tests through cargo",
        binary.display()
    );
    assert_up_to_date(&binary, name);
    binary
}

/// `cargo test --test X` builds the library and that test, not the examples: fail clearly rather
/// than test an old binary. Its sources are the library's (`src/` but `main.rs` and `bin/`) and
/// its own (`examples/NAME.rs` or `examples/NAME/`): Cargo does not relink an example when
/// another binary changes.
fn assert_up_to_date(binary: &Path, name: &str) {
    // The newest `.rs` file under `path`.
    fn newest(path: &Path) -> std::time::SystemTime {
        let mut time = std::time::SystemTime::UNIX_EPOCH;
        if path.is_file() {
            return std::fs::metadata(path).and_then(|m| m.modified()).expect("mtime");
        }
        if !path.exists() {
            return time;
        }
        for entry in std::fs::read_dir(path).expect("read_dir").flatten() {
            let path = entry.path();
            if path.ends_with("src/main.rs") || path.ends_with("src/bin") {
                continue;
            }
            if path.is_dir() {
                time = time.max(newest(&path));
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                time = time.max(entry.metadata().and_then(|m| m.modified()).expect("mtime"));
            }
        }
        time
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built = std::fs::metadata(binary).and_then(|m| m.modified()).expect("mtime");
    let examples = root.join("examples");
    let own = newest(&examples.join(format!("{name}.rs"))).max(newest(&examples.join(name)));
    let sources = newest(&root.join("src")).max(own);
    assert!(
        sources <= built,
        "{} is older than the sources: run `cargo build --examples` first (or plain `cargo test`, \
         which builds the examples; `cargo test --test NAME` does not)",
        binary.display()
    );
}

/// `engine_echo --port 0 <args>` as a child process; killed (and waited for) on drop.
pub struct EchoServer {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    log_thread: Option<JoinHandle<()>>,
}

impl EchoServer {
    /// Starts the server and waits for its `listening on 127.0.0.1:PORT` line.
    pub fn start(args: &[&str]) -> EchoServer {
        EchoServer::start_example("engine_echo", "ENGINE_ECHO_COMMAND", args)
    }

    /// `examples/interop` (Socket.IO at `/socket.io/`), or `$INTEROP_COMMAND` when set (e.g.
    /// `node tests/node/reference/interop.mjs`, the reference server).
    pub fn start_interop(args: &[&str]) -> EchoServer {
        EchoServer::start_example("interop", "INTEROP_COMMAND", args)
    }

    /// `examples/<name> --log-level debug --port 0 <args>`, or `$<env_command> --port 0 <args>`.
    fn start_example(name: &str, env_command: &str, args: &[&str]) -> EchoServer {
        let mut command = match std::env::var(env_command) {
            Ok(text) if !text.trim().is_empty() => {
                let mut words = text.split_whitespace();
                let mut command = Command::new(words.next().unwrap());
                command.args(words).current_dir(env!("CARGO_MANIFEST_DIR"));
                command
            }
            _ => {
                let mut command = Command::new(example_binary(name));
                command.args(["--log-level", "debug"]);
                command
            }
        };
        command.args(["--port", "0"]).args(args);
        EchoServer::start_command(name, command)
    }

    /// Any server binary as `command` (e.g. the chapter's `socketio_book`, from
    /// `CARGO_BIN_EXE_socketio_book`): started with its stdout and stderr piped here, then as
    /// [`EchoServer::start`]: waits for `listening on 127.0.0.1:PORT`, keeps the log, killed on
    /// drop.
    pub fn start_command(name: &str, mut command: Command) -> EchoServer {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap_or_else(|e| panic!("start {name}: {e}"));

        // The log (stderr) is kept for the failure message; it must be drained or the server
        // would block on a full pipe.
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        let log_thread = thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                match line {
                    Ok(line) => sink.lock().unwrap().push(line),
                    Err(_) => break,
                }
            }
        });

        // The first stdout line; the rest of stdout is drained by the same thread.
        let stdout = child.stdout.take().unwrap();
        let (first_line, first_line_receiver) = crossbeam_channel::bounded(1);
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = first_line.send(line);
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let mut server = EchoServer {
            child,
            port: 0,
            log,
            log_thread: Some(log_thread),
        };
        let line = match first_line_receiver.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => panic!("{name} printed nothing on stdout within 20 s"),
        };
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .and_then(|port| port.parse::<u16>().ok());
        server.port = match port {
            Some(port) => port,
            None => panic!("{name} ({command:?}): unexpected first line {line:?}"),
        };
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new TCP connection to the server.
    pub fn http(&self) -> Http {
        Http::connect(self.port)
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The first log line for which `found` is true, waiting for it at most `within`.
    pub fn wait_for_log(&self, what: &str, within: Duration, found: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.log.lock().unwrap().iter().find(|line| found(line)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "no log line {what} within {within:?}");
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits (at most 5 s) until the server has logged a line containing `needle`.
    pub fn expect_log(&self, needle: &str) {
        self.wait_for_log(&format!("with {needle:?}"), Duration::from_secs(5), |line| {
            line.contains(needle)
        });
    }

    /// `examples/engine_echo` logs `<sid>: close (<reason>)` when a session ends: waits for it.
    pub fn expect_close_reason(&self, sid: &str, reason: &str) {
        self.expect_log(&format!("{sid}: close ({reason})"));
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(thread) = self.log_thread.take() {
            let _ = thread.join();
        }
        if thread::panicking() {
            let log = self.log.lock().unwrap();
            let start = log.len().saturating_sub(200);
            eprintln!(
                "----- server log (port {}), last {} lines -----",
                self.port,
                log.len() - start
            );
            for line in &log[start..] {
                eprintln!("{line}");
            }
            eprintln!("----- end of server log -----");
        }
    }
}

/// `kill -SIGNAL pid` (`signal` as `TERM`, `INT`, `STOP`...); after `STOP`, waits until the
/// process has stopped.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
    if signal == "STOP" {
        wait_until_stopped(pid);
    }
}

/// `kill` returns once the signal is sent; each thread stops when the kernel next gets to it
/// (on a busy machine, a thread may still answer one more message). Waits until every thread
/// of `pid` shows state `T` in `/proc/PID/task/TID/stat`.
fn wait_until_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
        let all_stopped = tasks.flatten().all(|task| {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // "TID (name) STATE ...": the state follows the last ')'.
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
            matches!(state, Some(Some('T' | 't')) | None)
        });
        if all_stopped {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} did not stop after SIGSTOP");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The number of threads of process `pid` (`Threads:` in `/proc/PID/status`).
pub fn thread_count(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    for line in status.lines() {
        if let Some(count) = line.strip_prefix("Threads:") {
            return count.trim().parse().expect("Threads: count");
        }
    }
    panic!("no Threads: line in /proc/{pid}/status");
}

/// Waits (at most `within`) until process `pid` has `expected` threads; the last count seen.
pub fn wait_for_threads(pid: u32, expected: usize, within: std::time::Duration) -> usize {
    let deadline = std::time::Instant::now() + within;
    loop {
        let count = thread_count(pid);
        if count == expected || std::time::Instant::now() >= deadline {
            return count;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

// ----- a raw HTTP client ----------------------------------------------------------------------

/// One HTTP response as it came on the wire.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    /// Names as sent, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Every value of this header (any case), in order.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// The body split into Engine.IO packets.
    pub fn packets(&self) -> Vec<String> {
        packets(&self.text())
    }
}

/// The headers of an answer that the Engine.IO layer chose, in order: not those Node's HTTP
/// server and ours write differently (`Date`, `Content-Length` against Node's chunked answers,
/// the connection's).
pub fn engine_headers(response: &Response) -> Vec<(String, String)> {
    let added_by_http = [
        "date",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
    ];
    response
        .headers
        .iter()
        .filter(|(name, _)| !added_by_http.contains(&name.to_ascii_lowercase().as_str()))
        .cloned()
        .collect()
}

/// `[("A", "1")]` as owned pairs, to compare with [`engine_headers`].
pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {:?} {:?}",
            self.status,
            self.reason,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// Why no response was read.
#[derive(Debug)]
pub enum ReadEnd {
    /// Nothing complete came in time.
    Timeout,
    /// The server closed the connection (EOF, or a reset).
    Closed,
}

/// One TCP connection to the server, and the bytes read from it but not used yet.
pub struct Http {
    stream: TcpStream,
    buffer: Vec<u8>,
    port: u16,
    /// The Engine.IO path of [`Http::send_request`]: [`PATH`] unless made by [`Http::connect_at`].
    path: &'static str,
}

impl Http {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Http {
        Http::connect_at(port, PATH)
    }

    /// Connects to 127.0.0.1:`port`; requests go to `path` (e.g. `/socket.io/`).
    pub fn connect_at(port: u16, path: &'static str) -> Http {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        stream.set_nodelay(true).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        Http {
            stream,
            buffer: Vec::new(),
            port,
            path,
        }
    }

    /// The socket (to shut it down, or to read its local address).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends exactly these bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send request bytes");
    }

    /// Sends `METHOD /engine.io/?query HTTP/1.1` (or the path given to `connect_at`) with `Host`,
    /// the extra headers, and, with a body, `Content-Length` (and `Content-Type:
    /// text/plain;charset=UTF-8` unless the extra headers have one); does not wait for the answer.
    pub fn send_request(&mut self, method: &str, query: &str, headers: &[(&str, &str)], body: Option<&[u8]>) {
        let mut head = format!(
            "{method} {}?{query} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
            self.path, self.port
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            if !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            {
                head.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
            }
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if let Some(body) = body {
            bytes.extend_from_slice(body);
        }
        self.send(&bytes);
    }

    /// A request and its answer (within [`TIMEOUT`]).
    pub fn request(&mut self, method: &str, query: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Response {
        self.send_request(method, query, headers, body);
        self.read_response()
    }

    /// Sends a GET without waiting for the answer (a long poll).
    pub fn send_get(&mut self, query: &str) {
        self.send_request("GET", query, &[], None);
    }

    /// GET and its answer.
    pub fn get(&mut self, query: &str) -> Response {
        self.request("GET", query, &[], None)
    }

    /// POST and its answer.
    pub fn post(&mut self, query: &str, body: &[u8]) -> Response {
        self.request("POST", query, &[], Some(body))
    }

    /// The next response, which must come within [`TIMEOUT`].
    pub fn read_response(&mut self) -> Response {
        self.read_response_within(TIMEOUT)
    }

    /// The next response, which must come within `timeout`.
    pub fn read_response_within(&mut self, timeout: Duration) -> Response {
        match self.try_read_response(timeout) {
            Ok(response) => response,
            Err(end) => panic!(
                "no response within {timeout:?}: {end:?} (got {:?} so far)",
                String::from_utf8_lossy(&self.buffer)
            ),
        }
    }

    /// Asserts that no byte of a response comes within `wait` (a held long poll).
    pub fn assert_no_response_within(&mut self, wait: Duration) {
        match self.fill(Instant::now() + wait) {
            Err(ReadEnd::Timeout) => {}
            Ok(()) => panic!(
                "expected no answer yet, got {:?}",
                String::from_utf8_lossy(&self.buffer)
            ),
            Err(ReadEnd::Closed) => panic!("expected no answer yet, the connection was closed"),
        }
    }

    /// The next response, or why there is none.
    pub fn try_read_response(&mut self, timeout: Duration) -> Result<Response, ReadEnd> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(response) = self.parse_response() {
                return Ok(response);
            }
            self.fill(deadline)?;
        }
    }

    /// Reads until the server closes the connection, which must happen within `timeout`;
    /// returns every byte not consumed by an earlier read.
    pub fn read_until_closed(&mut self, timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.fill(deadline) {
                Ok(()) => continue,
                Err(ReadEnd::Closed) => return std::mem::take(&mut self.buffer),
                Err(ReadEnd::Timeout) => panic!(
                    "the server did not close the connection within {timeout:?} (got {:?})",
                    String::from_utf8_lossy(&self.buffer)
                ),
            }
        }
    }

    /// Raw bytes up to and including the first `end`, which must come within [`TIMEOUT`].
    pub fn read_raw_until(&mut self, end: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(at) = self.buffer.windows(end.len()).position(|w| w == end) {
                return self.buffer.drain(..at + end.len()).collect();
            }
            if let Err(why) = self.fill(deadline) {
                panic!("no {end:?} ({why:?}); got {:?}", String::from_utf8_lossy(&self.buffer));
            }
        }
    }

    /// Exactly `count` raw bytes, which must come within [`TIMEOUT`].
    pub fn read_raw(&mut self, count: usize) -> Vec<u8> {
        let deadline = Instant::now() + TIMEOUT;
        while self.buffer.len() < count {
            if let Err(why) = self.fill(deadline) {
                panic!(
                    "{count} bytes expected ({why:?}); got {:?}",
                    String::from_utf8_lossy(&self.buffer)
                );
            }
        }
        self.buffer.drain(..count).collect()
    }

    /// Asserts that the server closes the connection within [`TIMEOUT`] with no further byte.
    pub fn expect_closed(&mut self) {
        let rest = self.read_until_closed(TIMEOUT);
        assert!(
            rest.is_empty(),
            "expected the connection to close, got {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Drops the connection at once, without a goodbye.
    pub fn shutdown(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Reads more bytes into the buffer, before `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), ReadEnd> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ReadEnd::Timeout);
        }
        self.stream.set_read_timeout(Some(remaining)).unwrap();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadEnd::Closed),
                Ok(n) => {
                    self.buffer.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Err(ReadEnd::Timeout);
                }
                Err(_) => return Err(ReadEnd::Closed),
            }
        }
    }

    /// One complete response from the front of the buffer, if it is all there.
    fn parse_response(&mut self) -> Option<Response> {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut slots);
        let head_len = match parsed.parse(&self.buffer) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return None,
            Err(e) => panic!("bad response head ({e}): {:?}", String::from_utf8_lossy(&self.buffer)),
        };
        let headers: Vec<(String, String)> = parsed
            .headers
            .iter()
            .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        let status = parsed.code.unwrap();
        let reason = parsed.reason.unwrap_or("").to_string();
        let chunked = headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
        });
        let (body, end) = if chunked {
            // (Node answers so when no length is given; our server always sends one.)
            decode_chunked(&self.buffer[head_len..]).map(|(body, len)| (body, head_len + len))?
        } else {
            let length = headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map(|(_, value)| value.trim().parse::<usize>().expect("Content-Length"))
                .unwrap_or(0);
            if self.buffer.len() < head_len + length {
                return None;
            }
            (self.buffer[head_len..head_len + length].to_vec(), head_len + length)
        };
        self.buffer.drain(..end);
        Some(Response {
            status,
            reason,
            headers,
            body,
        })
    }
}

/// A whole chunked body at the start of `bytes`: the body and how many bytes it took, or `None`
/// while it is incomplete.
fn decode_chunked(bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + bytes[at..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&bytes[at..line_end]).expect("chunk size line");
        let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).expect("chunk size");
        at = line_end + 2;
        if size == 0 {
            // No trailers expected: the final CRLF.
            return (bytes.len() >= at + 2).then(|| (body, at + 2));
        }
        if bytes.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&bytes[at..at + size]);
        at += size + 2;
    }
}

// ----- Engine.IO ------------------------------------------------------------------------------

/// `4a\x1e4b` -> `["4a", "4b"]` (an empty body is no packet).
pub fn packets(body: &str) -> Vec<String> {
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\x1e').map(str::to_string).collect()
}

/// The sid of an open packet `0{"sid":"...",...}`. With a short ping interval on a loaded
/// machine the handshake's answer may already carry the first ping after it (`0{...}\x1e2`): only
/// the first packet is read.
pub fn sid_of_open(packet: &str) -> String {
    let first = packet.split('\x1e').next().unwrap_or(packet);
    let json = first
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {packet:?}"));
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("open packet {packet:?}: {e}"));
    value["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid in {packet:?}"))
        .to_string()
}

/// A sid as the reference's `base64id` makes it: 20 characters of `[A-Za-z0-9_-]`.
pub fn assert_sid_format(sid: &str) {
    assert_eq!(sid.len(), 20, "sid {sid:?}");
    assert!(
        sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
        "sid {sid:?} has characters outside [A-Za-z0-9_-]"
    );
}

/// The exact open packet the server sends for these options.
pub fn expected_open(sid: &str, upgrades: &str, ping_interval: u64, ping_timeout: u64, max_payload: u64) -> String {
    format!(
        r#"0{{"sid":"{sid}","upgrades":{upgrades},"pingInterval":{ping_interval},"pingTimeout":{ping_timeout},"maxPayload":{max_payload}}}"#
    )
}

/// A polling handshake on `http`: returns the sid and the open packet.
pub fn handshake(http: &mut Http) -> (String, String) {
    let response = http.get(POLLING_HANDSHAKE);
    assert_eq!(response.status, 200, "handshake: {response:?}");
    let open = response.text();
    let sid = sid_of_open(&open);
    (sid, open)
}

/// Asserts one of the reference's JSON errors: 400, `application/json`,
/// `{"code":N,"message":"..."}`.
pub fn assert_error(response: &Response, code: u8, message: &str) {
    assert_eq!(response.status, 400, "{response:?}");
    assert_eq!(response.reason, "Bad Request", "{response:?}");
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json"),
        "{response:?}"
    );
    assert_eq!(response.text(), format!(r#"{{"code":{code},"message":"{message}"}}"#));
}

/// Waits (at most `within`) until requests of session `sid` get `{"code":1,...}`: POSTs a noop
/// `6` on a new connection every 20 ms; while the session lives the POST is answered `ok` (or
/// code 3 for a WebSocket session). Returns how long it took.
pub fn wait_session_gone(port: u16, sid: &str, within: Duration) -> Duration {
    wait_session_gone_at(port, PATH, sid, within)
}

/// [`wait_session_gone`] for a server at `path`.
pub fn wait_session_gone_at(port: u16, path: &'static str, sid: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let mut http = Http::connect_at(port, path);
        let response = http.post(&polling(sid), b"6");
        if response.status == 400 && response.text().contains(r#""code":1"#) {
            assert_error(&response, 1, "Session ID unknown");
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "session {sid} still open after {within:?}: last answer {response:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

// ----- WebSocket ------------------------------------------------------------------------------

pub type Ws = WebSocket<TcpStream>;

/// A WebSocket to `/engine.io/?<query>` (tungstenite over our own `TcpStream`).
pub fn ws_connect(port: u16, query: &str) -> Ws {
    ws_connect_at(port, PATH, query)
}

/// A WebSocket to `<path>?<query>`.
pub fn ws_connect_at(port: u16, path: &str, query: &str) -> Ws {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    let url = format!("ws://127.0.0.1:{port}{path}?{query}");
    match tungstenite::client(url.as_str(), stream) {
        Ok((ws, response)) => {
            assert_eq!(response.status().as_u16(), 101);
            ws
        }
        Err(e) => panic!("WebSocket handshake to {url} failed: {e}"),
    }
}

/// The bytes of a WebSocket request to `/engine.io/?<query>` (RFC 6455's sample key, whose
/// accept value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`).
pub fn upgrade_request(port: u16, query: &str) -> Vec<u8> {
    upgrade_request_with(port, query, "")
}

/// [`upgrade_request`] with more header lines (each ending with `\r\n`).
pub fn upgrade_request_with(port: u16, query: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "GET {PATH}?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra_headers}Connection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .into_bytes()
}

/// A WebSocket for polling session `sid` that has sent `2probe` and got `3probe`.
pub fn probe(port: u16, sid: &str) -> Ws {
    let mut ws = ws_connect(port, &websocket(sid));
    ws_send(&mut ws, "2probe");
    assert_eq!(ws_text(&mut ws), "3probe");
    ws
}

/// A session opened over WebSocket: the socket, its sid, and its open packet.
pub fn ws_open(port: u16) -> (Ws, String, String) {
    let mut ws = ws_connect(port, WEBSOCKET_HANDSHAKE);
    let open = ws_text(&mut ws);
    let sid = sid_of_open(&open);
    (ws, sid, open)
}

/// Sends one text frame.
pub fn ws_send(ws: &mut Ws, text: &str) {
    ws.send(WsMessage::text(text)).expect("send a text frame");
}

/// Sends one binary frame.
pub fn ws_send_binary(ws: &mut Ws, bytes: &[u8]) {
    ws.send(WsMessage::binary(bytes.to_vec())).expect("send a binary frame");
}

/// What came on a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    Text(String),
    Binary(Vec<u8>),
    /// A close frame (with its code, if any), or the connection ended.
    Closed(Option<u16>),
}

/// The next data frame or the end (control frames are skipped); panics after `timeout`.
pub fn ws_next(ws: &mut Ws, timeout: Duration) -> WsEvent {
    let deadline = Instant::now() + timeout;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            panic!("nothing on the WebSocket within {timeout:?}");
        }
        ws.get_ref().set_read_timeout(Some(remaining)).unwrap();
        match ws.read() {
            Ok(WsMessage::Text(text)) => return WsEvent::Text(text.as_str().to_string()),
            Ok(WsMessage::Binary(bytes)) => return WsEvent::Binary(bytes.to_vec()),
            Ok(WsMessage::Close(frame)) => return WsEvent::Closed(frame.map(|f| u16::from(f.code))),
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
            {
                continue;
            }
            Err(_) => return WsEvent::Closed(None),
        }
    }
}

/// The next text frame, within [`TIMEOUT`].
pub fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws, TIMEOUT) {
        WsEvent::Text(text) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Asserts that the WebSocket ends (close frame or EOF) within `timeout` with no data frame
/// before; returns the close code, if a close frame came with one.
pub fn ws_expect_closed(ws: &mut Ws, timeout: Duration) -> Option<u16> {
    match ws_next(ws, timeout) {
        WsEvent::Closed(code) => code,
        other => panic!("expected the WebSocket to close, got {other:?}"),
    }
}

/// The code of a `Message too big` close frame.
pub fn close_code_too_big() -> u16 {
    u16::from(CloseCode::Size)
}

// ----- the browser suites (node --test, headless Chromium) ------------------------------------

/// The summary of node's test runner (`ℹ tests 6`, `ℹ pass 6`, ...) as (name, count).
fn node_test_summary(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("ℹ "))
        .filter_map(|rest| {
            let (name, count) = rest.split_once(' ')?;
            Some((name.to_string(), count.trim().parse().ok()?))
        })
        .collect()
}

/// Runs `node --test <file>` (a suite of `tests/browser/`) with `env` added, and checks that its
/// `cases` cases all ran and passed: node's summary must say exactly that, so that a case
/// deleted, skipped or left as a todo fails too. Screenshots and logs go to
/// `target/<profile>/browser-screenshots` (`BROWSER_ARTIFACTS`, the CI artifact).
///
/// Needs Node.js and a Chromium or Chrome; the pinned npm packages are installed on first use
/// ([`tools`]). When Node.js or the browser is missing this fails with the command that installs
/// it, it never skips.
pub fn run_browser_suite(file: &str, env: &[(&str, &std::ffi::OsStr)], cases: u64) {
    // target/<profile>/deps/<test binary> -> target/<profile>/browser-screenshots
    let test_binary = std::env::current_exe().expect("current_exe");
    let artifacts = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("browser-screenshots");

    let chrome = tools::browser();
    let mut command = tools::node();
    command
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg(file)
        .env("BROWSER_ARTIFACTS", &artifacts)
        .env("CHROME", &chrome);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "{stdout}\n{stderr}\nbrowser: {}\nscreenshots and logs: {}",
        chrome.display(),
        artifacts.display()
    );
    assert!(
        output.status.success(),
        "the browser tests of {file} failed (screenshots and logs in {}):\n{stdout}\n{stderr}",
        artifacts.display()
    );
    let counts = node_test_summary(&stdout);
    let count = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    for (name, expected) in [
        ("tests", cases),
        ("pass", cases),
        ("fail", 0),
        ("cancelled", 0),
        ("skipped", 0),
        ("todo", 0),
    ] {
        assert_eq!(
            count(name),
            Some(expected),
            "node's summary of {file} should say `ℹ {name} {expected}` (screenshots and logs in {}):\n{stdout}\n{stderr}",
            artifacts.display()
        );
    }
}

// ----- Socket.IO in-process -------------------------------------------------------------------

/// Serves `io` on an ephemeral port, on a thread of its own (it lives as long as the test).
pub fn serve(io: &socketio_book::socketio::Server) -> u16 {
    let http =
        socketio_book::listener::HttpServer::bind("127.0.0.1:0", socketio_book::listener::ListenerConfig::default())
            .expect("bind 127.0.0.1:0");
    let port = http.local_addr().expect("local_addr").port();
    let service = Arc::new(io.clone());
    thread::spawn(move || http.serve(service));
    port
}

/// A WebSocket session of `/socket.io/`, its open packet read.
pub fn sio_session(port: u16) -> Ws {
    let mut ws = ws_connect_at(port, "/socket.io/", WEBSOCKET_HANDSHAKE);
    let open = ws_text(&mut ws);
    assert!(open.starts_with(r#"0{"sid":""#), "{open}");
    ws
}

/// `40<nsp>,<auth>` (`40<auth>` for `/`; `auth` may be empty): joins `nsp`; returns the socket
/// id of the answer `40<nsp>,{"sid":"..."}`.
pub fn sio_join(ws: &mut Ws, nsp: &str, auth: &str) -> String {
    let prefix = if nsp == "/" { String::new() } else { format!("{nsp},") };
    ws_send(ws, &format!("40{prefix}{auth}"));
    let answer = ws_text(ws);
    answer
        .strip_prefix(&format!(r#"40{prefix}{{"sid":""#))
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("joining {nsp}: {answer}"))
        .to_string()
}

/// A WebSocket session that has joined `/` with `40`; returns it and the socket id.
pub fn sio_connect(port: u16) -> (Ws, String) {
    let mut ws = sio_session(port);
    let id = sio_join(&mut ws, "/", "");
    (ws, id)
}

/// Every socket that connects to `/`, as it connects.
pub fn sockets_of(
    io: &socketio_book::socketio::Server,
) -> crossbeam_channel::Receiver<socketio_book::socketio::Socket> {
    let (sender, receiver) = crossbeam_channel::unbounded();
    io.on_connection(move |socket| {
        sender.send(socket.clone()).unwrap();
    });
    receiver
}

/// A raw polling session of `/socket.io/`: one connection for GETs, one for POSTs.
pub struct Polling {
    pub get: Http,
    pub post: Http,
    pub sid: String,
}

impl Polling {
    /// The handshake GET.
    pub fn open(port: u16) -> Polling {
        Polling::open_with(port, &[])
    }

    /// The handshake GET with these headers (a browser's `Cookie`, `Referer`, ...).
    pub fn open_with(port: u16, headers: &[(&str, &str)]) -> Polling {
        let mut get = Http::connect_at(port, "/socket.io/");
        let open = get.request("GET", POLLING_HANDSHAKE, headers, None).text();
        Polling {
            get,
            post: Http::connect_at(port, "/socket.io/"),
            sid: sid_of_open(&open),
        }
    }

    /// The handshake and `40`: returns the session and the socket id of `/`.
    pub fn connect(port: u16) -> (Polling, String) {
        let mut session = Polling::open(port);
        session.post("40");
        let answer = session.get();
        let connected = answer.first().map(String::as_str).unwrap_or("");
        let id = connected
            .strip_prefix(r#"40{"sid":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
            .unwrap_or_else(|| panic!("{answer:?}"))
            .to_string();
        (session, id)
    }

    /// A POST of `body` (packets joined by `\x1e`), answered `ok`.
    pub fn post(&mut self, body: &str) {
        let response = self.post.post(&polling(&self.sid), body.as_bytes());
        assert_eq!(
            (response.status, response.text()),
            (200, "ok".to_string()),
            "POST {body:?}"
        );
    }

    /// A GET and the packets of its answer.
    pub fn get(&mut self) -> Vec<String> {
        let response = self.get.get(&polling(&self.sid));
        assert_eq!(response.status, 200, "{response:?}");
        packets(&response.text())
    }
}
