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
//! | the chapter  | `main.rs`                | `socket.js`: `io.on('connection')`, the IP line, `disconnect`, `error`, `reply`, the 3 s `news`; `--admin-ui` |
//! |              | `www.rs`, `www/`         | `index.pug` as `index.html`, our client `socket.io.js`, the app's routes |
//! |              | `interval.rs`            | `setInterval` / `clearInterval` as a thread and a channel |
//! | the next sections | `examples/gif_chat/` | the book's GIF chat (11.4 to 11.6): namespaces `/room` and `/chat`, rooms, a session shared with Socket.IO, SQLite, uploads (NOTES.md section 10) |
//! | several servers | `examples/cluster/` | two chapter servers on one Redis (`--redis`) behind nginx or HAProxy with sticky sessions: the two configurations and `run`, which starts them all (NOTES.md section 11) |
//! | admin UI     | `admin/mod.rs`           | `instrument(io, options)`: `@socket.io/admin-ui`'s server half, `config`, `all_sockets` |
//! |              | `admin/auth.rs`          | no log-in, or basic auth against a bcrypt hash; `session` ids |
//! |              | `admin/stats.rs`         | `server_stats` every 2 s from the engine's events (packets, bytes, connections) |
//! |              | `admin/watch.rs`         | development mode: `socket_connected`, `room_joined`, `event_sent`, ... as they happen |
//! |              | `admin/serialize.rs`     | a socket as the UI reads it (`clientId`, `handshake`, `rooms`, `data`) |
//! |              | `admin/commands.rs`      | the UI's buttons: `emit`, `join`, `leave`, `_disconnect` with a room filter |
//! | Socket.IO v5 | `socketio/mod.rs`        | the layer's public names: `Server`, `Socket`, `Namespace`, `Arg`, ... |
//! |              | `socketio/server.rs`     | `io`: options (`path`, `pingInterval`, ...), `of()`, `on_connection` |
//! |              | `socketio/client.rs`     | one Engine.IO session (which holds it): decode, route by namespace, `connectTimeout` |
//! |              | `socketio/namespaces.rs` | every namespace by name; `io.of(regex)`, `io.of_fn`: children made on CONNECT, `new_namespace` |
//! |              | `socketio/namespace.rs`  | `io.of('/x')`: middlewares, `connection`, members, its adapter; a parent's children |
//! |              | `socketio/socket.rs`     | `socket`: `id`, `handshake`, `data`, `on`, `emit`, flags, acks, rooms, `use`, `disconnecting`, `disconnect` |
//! |              | `socketio/listeners.rs`  | `onAny`, `onAnyOutgoing`: catch-all listeners and their ids |
//! |              | `socketio/broadcast.rs`  | operators: `to`/`in_`/`except`, `local`/`volatile`/`timeout`, `emit`, acks from many, `fetch_sockets`, `sockets_join`; `RemoteSocket`; a parent's to every child |
//! |              | `socketio/adapter/mod.rs` | the `Adapter` trait: rooms, room events, how operators find sockets; which calls may block |
//! |              | `socketio/adapter/memory.rs` | the in-memory adapter, the default: rooms and their members, `broadcast`, `fetch_sockets` |
//! |              | `socketio/adapter/parent.rs` | a parent namespace's adapter: a broadcast on it reaches every child |
//! |              | `socketio/adapter/session_aware.rs` | connection state recovery: the sessions kept, the log of events with their offsets |
//! |              | `socketio/adapter/offset.rs` | an event's offset as yeast writes it (`PhPmfU0`) |
//! |              | `socketio/adapter/redis/mod.rs` | `--redis`: several servers on one Redis, `@socket.io/redis-adapter`'s messages (its own map) |
//! |              | `socketio/adapter/redis/classic.rs` | `createAdapter`: PUBLISH/PSUBSCRIBE, requests by type |
//! |              | `socketio/adapter/redis/classic_messages.rs` | its channels and messages, and the emitter's |
//! |              | `socketio/adapter/redis/sharded.rs` | `createShardedAdapter`: SPUBLISH/SSUBSCRIBE, subscription modes |
//! |              | `socketio/adapter/redis/cluster_messages.rs` | its `{uid, nsp, type, data}` messages (socket.io-adapter's `ClusterAdapter`) |
//! |              | `socketio/adapter/redis/messages.rs` | what both put in messages (options, packet, socket), JSON or msgpack (`msgpack.rs`) |
//! |              | `socketio/adapter/redis/link.rs` | the server's link: routes, waiting requests, the `redis-apply` thread |
//! |              | `socketio/adapter/redis/connection.rs` | the publishing and the subscribed connection (`redis-sub`), reconnection |
//! |              | `socketio/packet.rs`     | `0`..`6` on a namespace: `42["news","Hello Socket.IO"]`, attachments, the decoder |
//! |              | `socketio/parser/mod.rs` | the `parser` option: the `Parser` trait |
//! |              | `socketio/parser/json.rs` | socket.io-parser, the default: `packet.rs` behind the trait |
//! |              | `socketio/parser/msgpack.rs` | socket.io-msgpack-parser: each packet one msgpack message `{type, data, id, nsp}` |
//! | Engine.IO v4 | `engineio/mod.rs`        | `Handler`: how the Socket.IO layer plugs in (3 callbacks); `SessionHandler`: its `Client`, held by the session |
//! |              | `engineio/server.rs`     | options, sessions by `sid`, `verify`, `handshake`, error codes |
//! |              | `engineio/events.rs`     | `connection_error`, `headers`, `packet`, `packet_create`, `upgrade`, `close`... |
//! |              | `engineio/cors.rs`       | CORS headers and the preflight, as the `cors` package     |
//! |              | `engineio/cookie.rs`     | the `io` cookie of the polling handshake                  |
//! |              | `engineio/socket.rs`     | one session: `writeBuffer`, heartbeat, upgrade, `onClose` |
//! |              | `engineio/polling.rs`    | long-polling: the held GET and the POST                   |
//! |              | `engineio/websocket.rs`  | WebSocket: the reader thread, writes without waiting, the probe |
//! |              | `engineio/frames.rs`     | WebSocket frames: our reader (`FrameReader`) and writer (`encode_frame`), nothing kept while idle |
//! |              | `engineio/packet.rs`     | `0`..`6`, payloads joined by `\x1e`, `b` + base64         |
//! |              | `engineio/base64.rs` | base64 for `b` packets over polling and for session ids |
//! | (and v3)     | `engineio/packet_v3.rs`  | Engine.IO v3 (socket.io 2.x): `6:4hello`, `b4` + base64, the binary framing |
//! |              | `engineio/payload.rs`    | a polling body by the session's protocol: v4, v3, JSONP   |
//! |              | `engineio/jsonp.rs`      | JSONP polling: `___eio[0]("...");` answers, `d=` form POSTs |
//! |              | `engineio/compression.rs`| gzip/deflate of polling answers (`httpCompression`)       |
//! | HTTP         | `listener.rs`            | the accept loop: a thread per connection, the connection cap |
//! |              | `http.rs`                | request heads (httparse), bodies, keep-alive, timeouts, responses |
//! | support      | `msgpack.rs`             | MessagePack as notepack.io writes it: the Redis adapters' messages, the msgpack parser |
//! |              | `timer.rs`               | `setTimeout` for every session on one `timers` thread     |
//! |              | `trace.rs`               | `--trace`: each packet in and out, explained              |
//! |              | `cli.rs`                 | flags: each binary's table, `--help`, the parser; logging |
//! |              | `sync.rs`                | `lock()`: a `Mutex` that survives a handler's panic       |
//! |              | `date.rs`                | JavaScript's dates: `new Date() + ""` and `toISOString()` |
//! |              | `threads.rs`             | `spawn()`: every thread, named and counted within the kernel's limits, under `SCHED_BATCH` |
//! |              | `waker.rs`               | an eventfd: wakes the thread of a held GET from another thread |
//! |              | `memory.rs`              | giving memory back: idle threads' stack pages, malloc's free heap (a trim after a large buffer, after the last session or every 1,000 ended), one malloc arena per core |
//!
//! ## The threads
//!
//! - the accept thread (`main`): `listener::HttpServer::serve`;
//! - `conn <peer>`: one per TCP connection, reading requests; it also holds a long-poll GET until
//!   there is something to send (waiting on the socket and a waker together, `waker.rs`); after a
//!   WebSocket upgrade it is that WebSocket's reader;
//! - `ws-writer <sid>`: writes to one WebSocket while its client reads too slowly to take what
//!   we send at once (otherwise the thread that sends a packet writes it);
//! - `timers`: heartbeats, upgrade and connect timeouts, ack timeouts, for every session; the
//!   admin UI's `server_stats` every 2 s; the heap's trim after sessions ended (`memory.rs`);
//! - `news <socket id>`: the chapter's `setInterval`, one per socket (in `main.rs`);
//! - with `--redis`: `redis-sub` (reads the subscribed Redis connection) and `redis-apply`
//!   (applies the other servers' messages), one each per server.
//!
//! NOTES.md walks through a whole session, packet by packet.

// Nested `if`s are kept where they read more plainly, one condition per line in a debugger.
#![allow(clippy::collapsible_if)]

pub mod admin;
pub mod cli;
pub mod date;
pub mod engineio;
pub mod http;
pub mod interval;
pub mod listener;
pub mod memory;
pub mod msgpack;
pub mod socketio;
pub mod sync;
pub mod threads;
pub mod timer;
pub mod trace;
pub mod waker;
pub mod www;

/// The integration tests' helpers (Node.js and the pinned npm packages of tests/node), for the
/// unit tests that compare our codecs with the npm packages' own output.
#[cfg(test)]
#[path = "../tests/support/tools.rs"]
#[allow(dead_code)]
mod test_tools;
