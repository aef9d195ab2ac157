//! Socket.IO v5: events, acknowledgements, namespaces and rooms over Engine.IO (the reference's
//! `socket.io` and `socket.io-parser` packages).
//!
//! | file           | concept                                                   | reference              |
//! |----------------|-----------------------------------------------------------|------------------------|
//! | `server.rs`    | `io`: options, `of()`, the Engine.IO handler              | `index.ts`             |
//! | `client.rs`    | one Engine.IO session: decode, route by namespace, `connectTimeout` | `client.ts`  |
//! | `namespaces.rs`| every namespace by name; dynamic ones: `io.of(regex)`, `new_namespace`, cleanup | `index.ts` (`of`, `_checkNamespace`), `parent-namespace.ts` |
//! | `namespace.rs` | `io.of(name)`: `connection` handler, middlewares, members, its adapter, server-side listeners; a parent's children | `namespace.ts`, `parent-namespace.ts` |
//! | `socket.rs`    | `socket`: `on`, `emit`, flags, acks, rooms, `data`, `use`, `disconnecting`, `disconnect` | `socket.ts` |
//! | `listeners.rs` | catch-all listeners: `onAny`, `onAnyOutgoing`, their ids  | `socket.ts` (`_anyListeners`) |
//! | `broadcast.rs` | operators on many sockets: `to`/`in_`/`except`, flags, `emit`, `timeout().emit_with_ack`, `fetch_sockets`, `sockets_join`; `RemoteSocket` | `broadcast-operator.ts`|
//! | `adapter/`     | the `Adapter` trait (rooms, and how an operator finds its sockets); `memory.rs`, the in-memory one; `session_aware.rs`, connection state recovery | `socket.io-adapter`    |
//! | `packet.rs`    | packets `0`..`6`, binary attachments, the strict decoder (the default parser's) | `socket.io-parser` |
//! | `parser/`      | the `parser` option: the `Parser` trait, JSON (`packet.rs`) or msgpack | `socket.io-parser`, `socket.io-msgpack-parser` |

pub mod adapter;
mod broadcast;
mod client;
mod listeners;
mod namespace;
mod namespaces;
pub mod packet;
pub mod parser;
mod server;
mod socket;

pub use adapter::{
    Adapter, AdapterFactory, BroadcastFlags, BroadcastOptions, MemoryAdapter, SessionAwareAdapter, TimeoutError,
};
pub use broadcast::{BroadcastAckCallback, BroadcastOperator, RemoteSocket};
pub use listeners::{AnyListener, ListenerId};
pub use namespace::{ConnectError, Namespace, ServerSideAck, WeakNamespace};
pub use namespaces::{NamespaceFn, NamespaceName};
pub use packet::Arg;
pub use parser::{JsonParser, MsgpackParser, Parser};
pub use server::{ConnectionStateRecovery, Server, ServerOptions, WeakServer};
pub use socket::{
    Ack, AckError, EmitError, FlaggedSocket, Handshake, MiddlewareError, RECOVERABLE_DISCONNECT_REASONS, Socket,
    SocketError,
};
