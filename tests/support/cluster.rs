//! Servers on one Redis for the cluster tests (`redis_cluster.rs`, `redis_faults.rs`): ours
//! (`examples/interop --redis`) and the reference's (`tests/node/reference/interop.mjs
//! --redis`), and raw Socket.IO clients of them over WebSocket.

use std::process::Command;
use std::time::{Duration, Instant};

use super::redis_server::RedisServer;
use super::{EchoServer, Ws, WsEvent, example_binary, sio_connect, tools, ws_send, ws_text};

/// The `requestsTimeout` the cluster tests give every server: short, so a test that waits for
/// it stays lean.
pub const REQUESTS_TIMEOUT_MS: &str = "1000";

/// Our `examples/interop` on `redis` as server `id`, with `--log-level debug`.
pub fn ours(redis: &RedisServer, id: &str, extra: &[&str]) -> EchoServer {
    let mut command = Command::new(example_binary("interop"));
    command
        .args(["--log-level", "debug", "--port", "0"])
        .args(["--redis", &redis.url(), "--server-id", id])
        .args(["--redis-requests-timeout", REQUESTS_TIMEOUT_MS])
        .args(extra);
    EchoServer::start_command(&format!("interop {id}"), command)
}

/// The reference on `redis`, as server `id`.
pub fn reference(redis: &RedisServer, id: &str, extra: &[&str]) -> EchoServer {
    let mut command = tools::node();
    command
        .arg("tests/node/reference/interop.mjs")
        .args(["--port", "0", "--redis", &redis.url(), "--server-id", id])
        .args(["--redis-requests-timeout", REQUESTS_TIMEOUT_MS])
        .args(extra);
    EchoServer::start_command(&format!("interop.mjs {id}"), command)
}

/// A raw Socket.IO client of `server` over WebSocket, joined to `/` (its `auth` event read):
/// the session and the socket id.
pub fn client(server: &EchoServer) -> (Ws, String) {
    let (mut ws, id) = sio_connect(server.port);
    assert_eq!(ws_text(&mut ws), r#"42["auth",{}]"#);
    (ws, id)
}

/// The answer of ack `id` to `event` with `args` (a JSON array's inside, or empty) on `ws`:
/// the rest of `43<id>[...]`, within 5 s.
pub fn ask(ws: &mut Ws, id: u32, event: &str, args: &str) -> String {
    let comma = if args.is_empty() { "" } else { "," };
    ws_send(ws, &format!(r#"42{id}["{event}"{comma}{args}]"#));
    let prefix = format!("43{id}");
    let answer = frame_starting(ws, &prefix, Duration::from_secs(5)).unwrap_or_else(|| panic!("no answer to {event}"));
    answer[prefix.len()..].to_string()
}

/// The next text frame that starts with `prefix` within `within` (others are skipped), or
/// `None`.
pub fn frame_starting(ws: &mut Ws, prefix: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        match ws_next_or_none(ws, left) {
            Some(WsEvent::Text(text)) if text.starts_with(prefix) => return Some(text),
            Some(WsEvent::Closed(_)) => return None,
            Some(_) => continue,
            None => return None,
        }
    }
}

/// The next data frame or the end, or `None` when nothing comes within `within`.
fn ws_next_or_none(ws: &mut Ws, within: Duration) -> Option<WsEvent> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        ws.get_ref().set_read_timeout(Some(left)).unwrap();
        match ws.read() {
            Ok(tungstenite::Message::Text(text)) => return Some(WsEvent::Text(text.as_str().to_string())),
            Ok(tungstenite::Message::Binary(bytes)) => return Some(WsEvent::Binary(bytes.to_vec())),
            Ok(tungstenite::Message::Close(_)) => return Some(WsEvent::Closed(None)),
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                continue;
            }
            Err(_) => return Some(WsEvent::Closed(None)),
        }
    }
}
