//! A real `redis-server` for a test: Debian's binary on a free port, with no persistence
//! (`--save '' --appendonly no`), in its own temporary directory; stopped (and its directory
//! removed) on drop. A test can kill it and start it again on the same port (the fault tests).
//!
//! Used by the integration tests (`tests/support/mod.rs`) and by the library's own unit tests
//! (`src/socketio/adapter/redis/`, through `#[path]`), so it needs nothing but std.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian puts it; else it is looked up on `PATH`.
const DEBIAN_BINARY: &str = "/usr/bin/redis-server";

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers `PING`. Fails (with the command
    /// that installs it) when there is no `redis-server`.
    pub fn start() -> RedisServer {
        let binary = redis_binary();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port();
            let dir = std::env::temp_dir().join(format!("socketio-book-redis-{}-{port}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create the redis-server directory");
            let mut server = RedisServer { child: None, port, dir };
            // Another process may take the port between our probe and redis-server's bind: retry.
            if server.spawn(&binary) || attempt == 5 {
                assert!(server.child.is_some(), "redis-server did not start on 5 free ports");
                return server;
            }
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it at once (SIGKILL: no goodbye to its clients, as a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (after [`RedisServer::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart: it is still running");
        let deadline = Instant::now() + Duration::from_secs(10);
        // The old socket may linger for a moment; the port is ours to take again.
        while !self.spawn(&redis_binary()) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start again on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends one command in RESP and reads the first line of the answer (enough for the tests'
    /// `PUBLISH`, `PUBSUB NUMSUB`, `CLIENT KILL`).
    pub fn command(&self, words: &[&[u8]]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut request = format!("*{}\r\n", words.len()).into_bytes();
        for word in words {
            request.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
            request.extend_from_slice(word);
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request).expect("write to redis-server");
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while !answer.ends_with(b"\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => answer.push(byte[0]),
                _ => break,
            }
        }
        // For an array (`*2`), the whole reply: read what else has come.
        if answer.starts_with(b"*") {
            stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            let mut rest = [0u8; 4096];
            while let Ok(count) = stream.read(&mut rest) {
                if count == 0 {
                    break;
                }
                answer.extend_from_slice(&rest[..count]);
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// `PUBLISH channel payload`, returning how many subscribers got it.
    pub fn publish(&self, channel: &str, payload: &[u8]) -> usize {
        self.count_reply(&[b"PUBLISH", channel.as_bytes(), payload])
    }

    /// `SPUBLISH channel payload` (sharded pub/sub), returning how many subscribers got it.
    pub fn spublish(&self, channel: &str, payload: &[u8]) -> usize {
        self.count_reply(&[b"SPUBLISH", channel.as_bytes(), payload])
    }

    fn count_reply(&self, words: &[&[u8]]) -> usize {
        let answer = self.command(words);
        answer
            .trim()
            .strip_prefix(':')
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("unexpected answer {answer:?}"))
    }

    /// Waits (at most `within`) until `channel` has `count` subscribers (`PUBSUB NUMSUB`, or
    /// `PUBSUB SHARDNUMSUB` when `sharded`).
    pub fn wait_for_subscribers(&self, channel: &str, count: usize, sharded: bool, within: Duration) {
        let deadline = Instant::now() + within;
        let subcommand: &[u8] = if sharded { b"SHARDNUMSUB" } else { b"NUMSUB" };
        loop {
            let answer = self.command(&[b"PUBSUB", subcommand, channel.as_bytes()]);
            let now = answer
                .lines()
                .last()
                .and_then(|line| line.trim().strip_prefix(':')?.parse::<usize>().ok());
            if now == Some(count) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{channel} has not {count} subscribers within {within:?}: {answer:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the process and waits for `PING` to answer; false if it exited (port taken).
    fn spawn(&mut self, binary: &Path) -> bool {
        let mut child = Command::new(binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--dir", &self.dir.display().to_string()])
            .args(["--logfile", &self.dir.join("redis.log").display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if ping(self.port) {
                self.child = Some(child);
                return true;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                panic!(
                    "redis-server on port {} did not answer PING within 10 s:\n{log}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test's own subscriber: one connection in `SUBSCRIBE` to one channel, reading the
/// messages Redis pushes (RESP2 `message` arrays).
pub struct Subscriber {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Subscriber {
    /// `SUBSCRIBE channel` on `redis`, confirmed.
    pub fn start(redis: &RedisServer, channel: &str) -> Subscriber {
        let mut stream = TcpStream::connect(("127.0.0.1", redis.port)).expect("connect to redis-server");
        let command = format!("*2\r\n$9\r\nSUBSCRIBE\r\n${}\r\n{channel}\r\n", channel.len());
        stream.write_all(command.as_bytes()).expect("SUBSCRIBE");
        let mut subscriber = Subscriber {
            stream,
            buffer: Vec::new(),
        };
        let confirmation = subscriber
            .next_push(Duration::from_secs(5))
            .expect("subscribe confirmed");
        assert_eq!(confirmation[0], b"subscribe");
        subscriber
    }

    /// The payload of the next message, or `None` after `within`.
    pub fn next_message(&mut self, within: Duration) -> Option<Vec<u8>> {
        let push = self.next_push(within)?;
        assert_eq!(push[0], b"message", "{push:?}");
        Some(push[2].clone())
    }

    /// One pushed array, its items as bytes (integers as their digits).
    fn next_push(&mut self, within: Duration) -> Option<Vec<Vec<u8>>> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((items, used)) = parse_array(&self.buffer) {
                self.buffer.drain(..used);
                return Some(items);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(count) => self.buffer.extend_from_slice(&chunk[..count]),
            }
        }
    }
}

/// `*N\r\n` then N items (`$len\r\nbytes\r\n` or `:n\r\n`), if `buffer` holds all of it:
/// the items and how many bytes they took.
fn parse_array(buffer: &[u8]) -> Option<(Vec<Vec<u8>>, usize)> {
    fn line(buffer: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let end = buffer.get(at..)?.windows(2).position(|pair| pair == b"\r\n")?;
        Some((&buffer[at..at + end], at + end + 2))
    }
    let (header, mut at) = line(buffer, 0)?;
    let count: usize = std::str::from_utf8(header.strip_prefix(b"*")?).ok()?.parse().ok()?;
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let (item, next) = line(buffer, at)?;
        match item.strip_prefix(b"$") {
            Some(length) => {
                let length: usize = std::str::from_utf8(length).ok()?.parse().ok()?;
                items.push(buffer.get(next..next + length)?.to_vec());
                at = next + length + 2;
            }
            None => {
                items.push(item.get(1..)?.to_vec());
                at = next;
            }
        }
    }
    (at <= buffer.len()).then_some((items, at))
}

/// `redis-server`, or a failure that says how to install it.
fn redis_binary() -> PathBuf {
    if Path::new(DEBIAN_BINARY).exists() {
        return PathBuf::from(DEBIAN_BINARY);
    }
    let found = Command::new("redis-server").arg("--version").output();
    match found {
        Ok(output) if output.status.success() => PathBuf::from("redis-server"),
        _ => panic!("redis-server is missing: apt-get install redis-server (the Redis adapter tests start their own)"),
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// Whether a `redis-server` answers `PING` on `port`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    matches!(stream.read_exact(&mut answer), Ok(())) && &answer == b"+PONG\r\n"
}
