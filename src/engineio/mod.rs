//! Engine.IO v4 (and v3, with `allow_eio3`): the transport layer under Socket.IO (the
//! reference's `engine.io` package).
//!
//! | file           | concept                                                        | reference            |
//! |----------------|----------------------------------------------------------------|----------------------|
//! | `server.rs`    | options, `clients` by sid, `handleRequest`, `verify`, `handshake`, error codes, the server's events | `server.ts` |
//! | `events.rs`    | the events for watchers: `connection_error`, `headers`, `packet`, `packet_create`, `upgrade`, ... | `server.ts`, `socket.ts` |
//! | `cors.rs`      | CORS headers and the preflight, as the `cors` package sends them | `cors` (npm)         |
//! | `cookie.rs`    | the `io` cookie of the polling handshake                        | `cookie` (npm)       |
//! | `socket.rs`    | one session: `writeBuffer`, `flush`, heartbeat, upgrade state, `onClose` | `socket.ts`  |
//! | `polling.rs`   | long-polling: the held GET (`onPollRequest`) and the POST (`onDataRequest`) | `transports/polling.ts` |
//! | `websocket.rs` | the WebSocket transport: reader thread, writes that never wait, the probe | `transports/websocket.ts` |
//! | `frames.rs`    | WebSocket frames: the client's read with a buffer only while bytes wait, ours encoded | (the `ws` package's `Receiver`, `Sender`) |
//! | `packet.rs`    | packets `0`..`6` and `\x1e`-joined payloads                     | `engine.io-parser`   |
//! | `packet_v3.rs` | Engine.IO v3: `<length>:<packet>` payloads, `b4` + base64, the binary framing | `parser-v3` |
//! | `payload.rs`   | a polling body by the session's protocol: v4, v3, JSONP         | `transports/polling.ts` |
//! | `jsonp.rs`     | JSONP polling: `___eio[j]("...")` answers, `d=` form POSTs      | `transports/polling-jsonp.ts` |
//! | `compression.rs` | gzip/deflate of polling answers (`httpCompression`)           | `transports/polling.ts` |
//! | `base64.rs`    | `b` + base64 for binary over polling                            | (Node's `Buffer`)    |
//!
//! The layer above (Socket.IO, or `examples/engine_echo.rs`) plugs in through [`Handler`]: three
//! callbacks, the reference's `connection`, `message` and `close` events; or, per session, a
//! [`SessionHandler`] that the session holds and hands its messages and its end to (Socket.IO's
//! `Client`).

pub mod base64;
mod compression;
mod cookie;
mod cors;
mod events;
mod frames;
pub mod jsonp;
pub mod packet;
pub mod packet_v3;
pub mod payload;
mod polling;
mod server;
mod socket;
mod websocket;

pub use compression::HttpCompressionOptions;
pub use cookie::{CookieOptions, SameSite};
pub use cors::{CorsOptions, CorsOrigin, CorsOriginFn};
pub use events::{
    CloseListener, ConnectionError, ConnectionErrorListener, FlushListener, HeadersListener, PacketListener,
    SocketListener,
};
pub use server::{AllowRequest, ErrorCode, Server, ServerOptions, TransportKind, WeakServer, generate_id};
pub use socket::{ReadyState, SendError, Socket, WeakSocket, WriteOptions};

/// The data of one MESSAGE packet: text (`4hello`) or bytes (a binary frame, or `b...` over
/// polling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `4hello` -> `Text("hello")`
    Text(String),
    /// a binary frame, or `bAQIDBA==` -> `Binary(vec![1, 2, 3, 4])`
    Binary(Vec<u8>),
}

/// What the layer above Engine.IO is told. The reference emits these as events:
/// `server.on("connection", socket => { socket.on("message", ...); socket.on("close", ...) })`.
///
/// Which thread calls them: `on_connection` the handshake request's connection thread;
/// `on_message` the thread that read the packet (a POST's connection thread, or a WebSocket's
/// reader thread), so the messages of one session arrive in order, one at a time; `on_close` the
/// thread that closed the session (a connection thread, the `timers` thread for "ping timeout",
/// or the thread that called `Socket::close`). None of them is called with a lock held.
///
/// A layer that keeps an object per session (Socket.IO's `Client`) gives it to the session in
/// `on_connection` ([`Socket::set_session_handler`]): that session's messages and its end then
/// go to the [`SessionHandler`] instead of `on_message` and `on_close` here.
pub trait Handler: Send + Sync + 'static {
    /// A session finished its handshake. Called before any of its messages.
    fn on_connection(&self, socket: &Socket);
    /// A MESSAGE packet arrived (on a session with no [`SessionHandler`]).
    fn on_message(&self, socket: &Socket, message: Message) {
        let _ = (socket, message);
    }
    /// The session ended, once, with the reference's reason: "transport close", "transport error",
    /// "ping timeout", "parse error", "forced close" (on a session with no [`SessionHandler`]).
    fn on_close(&self, socket: &Socket, reason: &str) {
        let _ = (socket, reason);
    }
}

/// The layer above's own object for one session, held by the session and called by it directly:
/// what socket.io's `Client` does with `conn.on("data", this.ondata)` and
/// `conn.on("close", this.onclose)` (`lib/client.ts`). Same threads as [`Handler`]'s.
///
/// The session holds it (an `Arc`) from [`Socket::set_session_handler`] until it closes, and
/// drops it right after `on_close`: the handler may hold the session's `Socket` (the `Client`
/// does, to send) without the two keeping each other alive.
pub trait SessionHandler: Send + Sync {
    /// A MESSAGE packet arrived (the reference's `data` event).
    fn on_message(&self, message: Message);
    /// The session ended, once, with its reason (the reference's `close` event).
    fn on_close(&self, reason: &str);
}
