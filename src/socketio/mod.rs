//! Socket.IO v5: events, acknowledgements, namespaces and rooms over Engine.IO (the reference's
//! `socket.io` and `socket.io-parser` packages).
//!
//! | file           | concept                                                   | reference              |
//! |----------------|-----------------------------------------------------------|------------------------|
//! | `server.rs`    | `io`: options, `of()`, the Engine.IO handler              | `index.ts`             |
//! | `client.rs`    | one Engine.IO session: decode, route by namespace, `connectTimeout` | `client.ts`  |
//! | `namespace.rs` | `io.of(name)`: `connection` handler, middlewares, members | `namespace.ts`         |
//! | `socket.rs`    | `socket`: `on`, `emit`, acks, rooms, `disconnect`         | `socket.ts`            |
//! | `broadcast.rs` | operators on many sockets: `to`/`in_`/`except`, flags, `emit`, `timeout().emit_with_ack`, `fetch_sockets`, `sockets_join`; `RemoteSocket` | `broadcast-operator.ts`|
//! | `adapter/`     | the `Adapter` trait (rooms, and how an operator finds its sockets); `memory.rs`, the in-memory one | `socket.io-adapter`    |
//! | `packet.rs`    | packets `0`..`6`, binary attachments, the strict decoder  | `socket.io-parser`     |

pub mod adapter;
mod broadcast;
mod client;
mod namespace;
pub mod packet;
mod server;
mod socket;

pub use adapter::{Adapter, AdapterFactory, BroadcastFlags, BroadcastOptions, MemoryAdapter, TimeoutError};
pub use broadcast::{BroadcastAckCallback, BroadcastOperator, RemoteSocket};
pub use namespace::{ConnectError, Namespace, ServerSideAck, WeakNamespace};
pub use packet::Arg;
pub use server::{Server, ServerOptions};
pub use socket::{Ack, AckError, EmitError, FlaggedSocket, Handshake, Socket};
