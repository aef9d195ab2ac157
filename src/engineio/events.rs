//! The events of the Engine.IO layer, for code that watches it (the admin UI counts packets and
//! bytes with them, a load balancer set-up adds headers): the reference's `server.on(...)` and
//! `socket.on(...)`.
//!
//! | event (reference)  | ours                            | called on                                  |
//! |--------------------|---------------------------------|--------------------------------------------|
//! | server `connection`       | `Server::on_connection(f(&Socket))` | the handshake's connection thread, after `Handler::on_connection` |
//! | server `connection_error` | `Server::on_connection_error(f(&ConnectionError))` | the refused request's connection thread |
//! | server `initial_headers`  | `Server::on_initial_headers(f(&mut headers, &Request))` | the handshake's connection thread |
//! | server `headers`          | `Server::on_headers(f(&mut headers, &Request))` | the request's connection thread |
//! | socket `packet`           | `Socket::on_packet(f(&Socket, &Packet))` | the thread that read it (a POST's connection thread, the WebSocket's reader) |
//! | socket `packetCreate`     | `Socket::on_packet_create(f(&Socket, &Packet))` | the thread that queued it (any: a handler, `timers` for a ping, a broadcast) |
//! | socket `flush`            | `Socket::on_flush(f(&Socket, &[Packet]))` | the thread that takes the buffer to write it |
//! | socket `upgrading`        | `Socket::on_upgrading(f(&Socket))` | the probing WebSocket's reader |
//! | socket `upgrade`          | `Socket::on_upgrade(f(&Socket))` | the new WebSocket's reader |
//! | socket `close`            | `Socket::on_close(f(&Socket, reason, description))` | the thread that closed the session |
//!
//! No lock of the server is held while a listener runs, so a listener may call anything (send on
//! the socket, read `clients_count`). Listeners run in the order they were added, after the
//! `Handler`'s own callback for the same moment. An event with no listener costs one atomic load
//! and one branch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::packet::Packet;
use super::server::ErrorCode;
use super::socket::Socket;
use crate::http::Request;
use crate::sync::lock;

/// A listener of a socket event with no data: `upgrading`, `upgrade`; and of the server's
/// `connection`.
pub type SocketListener = Arc<dyn Fn(&Socket) + Send + Sync>;
/// A listener of `packet` and `packet_create`: the session and the packet.
pub type PacketListener = Arc<dyn Fn(&Socket, &Packet) + Send + Sync>;
/// A listener of `flush`: the packets leaving the buffer together.
pub type FlushListener = Arc<dyn Fn(&Socket, &[Packet]) + Send + Sync>;
/// A listener of `close`: the reason ("transport close", "ping timeout", ...) and, for a transport
/// error, what went wrong (the reference's `description`).
pub type CloseListener = Arc<dyn Fn(&Socket, &str, Option<&str>) + Send + Sync>;
/// A listener of `connection_error`.
pub type ConnectionErrorListener = Arc<dyn Fn(&ConnectionError<'_>) + Send + Sync>;
/// A listener of `initial_headers` and `headers`: the headers of an answer (name, value), which it
/// may change, and the request being answered.
pub type HeadersListener = Arc<dyn Fn(&mut Vec<(String, String)>, &Request) + Send + Sync>;

/// A refused request, as the reference's `connection_error` event gives it:
/// `{ req, code, message, context }`.
///
/// `context` is the reference's, as JSON:
///
/// ```text
/// code 0 Transport unknown             {"transport":"foo"}
/// code 1 Session ID unknown            {"sid":"lv_VI97HAXpY6yYWAAAC"}
/// code 2 Bad handshake method          {"method":"POST"}
/// code 3 Bad request                   {"name":"TRANSPORT_MISMATCH","transport":"websocket","previousTransport":"polling"}
///                                      {"name":"TRANSPORT_HANDSHAKE_ERROR"}   (transport=websocket without Upgrade)
///                                      {"name":"INVALID_ORIGIN","origin":"..."}
///                                      {"name":"MIDDLEWARE_FAILURE"}          (the CORS origin function failed)
///                                      {"name":"ID_GENERATION_ERROR","error":"..."}
/// code 4 Forbidden                     {"message":"..."}                      (allowRequest's message)
/// code 5 Unsupported protocol version  {"protocol":3}
/// ```
#[derive(Debug)]
pub struct ConnectionError<'a> {
    /// The request that was refused.
    pub request: &'a Request,
    /// The error code (`code as u8` is the number on the wire).
    pub code: ErrorCode,
    /// The code's message (`Server.errorMessages[code]`; the body may carry `allowRequest`'s).
    pub message: &'static str,
    /// What exactly was wrong (see above).
    pub context: &'a serde_json::Value,
}

/// The listeners of the server's events.
#[derive(Default, Clone)]
pub(super) struct ServerListeners {
    pub connection: Vec<SocketListener>,
    pub connection_error: Vec<ConnectionErrorListener>,
    pub initial_headers: Vec<HeadersListener>,
    pub headers: Vec<HeadersListener>,
}

/// The listeners of one session's events.
#[derive(Default, Clone)]
pub(super) struct SocketListeners {
    pub packet: Vec<PacketListener>,
    pub packet_create: Vec<PacketListener>,
    pub flush: Vec<FlushListener>,
    pub upgrading: Vec<SocketListener>,
    pub upgrade: Vec<SocketListener>,
    pub close: Vec<CloseListener>,
}

/// Where the listeners of a server or of a session are kept.
///
/// Adding one copies the set (rare); emitting takes the current set (an `Arc`) under the lock and
/// calls it after the lock is released, so a listener may add listeners or emit. With none
/// registered, `current()` is one atomic load.
///
/// A session's registry is emptied when the session ends (`close`): its listeners often hold
/// handles of the layer above (a Socket.IO socket that holds this session), and keeping them
/// would keep both alive in a cycle. A listener added after that is dropped at once.
pub(super) struct Registry<T> {
    any: AtomicBool,
    /// `None` once closed.
    current: Mutex<Option<Option<Arc<T>>>>,
}

impl<T: Default + Clone> Registry<T> {
    pub fn new() -> Registry<T> {
        Registry {
            any: AtomicBool::new(false),
            current: Mutex::new(Some(None)),
        }
    }

    /// Whether a listener was ever added (what `current` looks at first, without its lock).
    pub fn ever_added(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// The listeners now, or `None` if none was ever added (or the registry is closed).
    pub fn current(&self) -> Option<Arc<T>> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.current).clone().flatten()
    }

    /// Adds a listener: `add` pushes it onto the right list of a copy of the set. Once the
    /// registry is closed the listener is dropped instead.
    pub fn add(&self, add: impl FnOnce(&mut T)) {
        let mut current = lock(&self.current);
        let Some(now) = current.as_mut() else {
            return;
        };
        let mut next = match now.as_deref() {
            Some(listeners) => listeners.clone(),
            None => T::default(),
        };
        add(&mut next);
        *now = Some(Arc::new(next));
        self.any.store(true, Ordering::Release);
    }

    /// Drops every listener, and every one added from now on.
    pub fn close(&self) {
        let dropped = lock(&self.current).take();
        self.any.store(false, Ordering::Release);
        // The listeners are dropped here, after the lock is released: dropping one may drop the
        // last handle of something whose own drop takes locks.
        drop(dropped);
    }
}
