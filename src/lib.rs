//! # A Socket.IO server you can read line by line
//!
//! The server of a Node.js textbook chapter (`socket.js`: Socket.IO on port 8005, path
//! `/socket.io`, a `news` event every 3 s), in plain Rust: no async runtime, one thread per
//! connection, blocking I/O, crossbeam channels. The official `socket.io-client` and
//! `engine.io-client` (Node and browser) talk to it unchanged.
//!
//! ## The map
//!
//! Read it from the bottom (bytes on a socket) to the top (the chapter's code), or the other way.
//!
//! | layer        | file                     | what it holds                                             |
//! |--------------|--------------------------|-----------------------------------------------------------|
//! | the chapter  | `main.rs`                | `socket.js`: `io.on('connection')`, the IP line, `disconnect`, `error`, `reply`, the 3 s `news` |
//! |              | `www.rs`, `www/`         | `index.pug` as `index.html`, our client `socket.io.js`, the app's routes |
//! |              | `interval.rs`            | `setInterval` / `clearInterval` as a thread and a channel |
//! | Socket.IO v5 | `socketio/server.rs`     | `io`: options (`path`, `pingInterval`, ...), `of()`, `on_connection` |
//! |              | `socketio/client.rs`     | one Engine.IO session: decode, route by namespace, `connectTimeout` |
//! |              | `socketio/namespace.rs`  | `io.of('/x')`: middlewares, `connection`, members         |
//! |              | `socketio/socket.rs`     | `socket`: `id`, `handshake`, `on`, `emit`, acks, rooms, `disconnect` |
//! |              | `socketio/broadcast.rs`  | `to(room)`, `except(room)`, `broadcast`                   |
//! |              | `socketio/adapter.rs`    | rooms                                                      |
//! |              | `socketio/packet.rs`     | `42["news","Hello Socket.IO"]`: the packet codec          |
//! | Engine.IO v4 | `engineio/mod.rs`        | `Handler`: how the Socket.IO layer plugs in (3 callbacks) |
//! |              | `engineio/server.rs`     | sessions by `sid`, `verify`, `handshake`, error codes, CORS |
//! |              | `engineio/socket.rs`     | one session: `writeBuffer`, heartbeat, upgrade, `onClose` |
//! |              | `engineio/polling.rs`    | long-polling: the held GET and the POST                   |
//! |              | `engineio/websocket.rs`  | WebSocket: the reader thread, writes without waiting, the probe |
//! |              | `engineio/packet.rs`     | `0`..`6`, payloads joined by `\x1e`, `b` + base64         |
//! | HTTP         | `listener.rs`            | the accept loop: a thread per connection, the connection cap |
//! |              | `http.rs`                | request heads (httparse), bodies, keep-alive, timeouts, responses |
//! | support      | `timer.rs`               | `setTimeout` for every session on one `timers` thread     |
//! |              | `trace.rs`               | `--trace`: each packet in and out, explained              |
//! |              | `cli.rs`                 | flags and logging                                         |
//! |              | `sync.rs`                | `lock()`: a `Mutex` that survives a handler's panic       |
//! |              | `threads.rs`             | `spawn()`: every thread, named and counted within the kernel's limits |
//! |              | `waker.rs`               | an eventfd: wakes the thread of a held GET from another thread |
//!
//! ## The threads
//!
//! - the accept thread (`main`): `listener::HttpServer::serve`;
//! - `conn <peer>`: one per TCP connection, reading requests; it also holds a long-poll GET until
//!   there is something to send (waiting on the socket and a waker together, `waker.rs`); after a
//!   WebSocket upgrade it is that WebSocket's reader;
//! - `ws-writer <sid>`: writes to one WebSocket while its client reads too slowly to take what
//!   we send at once (otherwise the thread that sends a packet writes it);
//! - `timers`: heartbeats, upgrade and connect timeouts, ack timeouts, for every session;
//! - `news <socket id>`: the chapter's `setInterval`, one per socket (in `main.rs`).
//!
//! NOTES.md walks through a whole session, packet by packet.

// Nested `if`s are kept where they read more plainly, one condition per line in a debugger.
#![allow(clippy::collapsible_if)]

pub mod cli;
pub mod engineio;
pub mod http;
pub mod interval;
pub mod listener;
pub mod memory;
pub mod socketio;
pub mod sync;
pub mod threads;
pub mod timer;
pub mod trace;
pub mod waker;
pub mod www;
