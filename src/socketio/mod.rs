//! Socket.IO v5: events, acknowledgements, namespaces and rooms over Engine.IO (the reference's
//! `socket.io` and `socket.io-parser` packages).
//!
//! | file           | concept                                                   | reference              |
//! |----------------|-----------------------------------------------------------|------------------------|
//! | `server.rs`    | `io`: options, `of()`, the Engine.IO handler              | `index.ts`             |
//! | `client.rs`    | one Engine.IO session: decode, route by namespace, `connectTimeout` | `client.ts`  |
//! | `namespace.rs` | `io.of(name)`: `connection` handler, middlewares, members | `namespace.ts`         |
//! | `socket.rs`    | `socket`: `on`, `emit`, acks, rooms, `disconnect`         | `socket.ts`            |
//! | `broadcast.rs` | `to(room)` / `except(room)` / `broadcast` emits           | `broadcast-operator.ts`|
//! | `adapter.rs`   | rooms: room -> sockets, socket -> rooms                   | `socket.io-adapter`    |
//! | `packet.rs`    | packets `0`..`6`, binary attachments, the strict decoder  | `socket.io-parser`     |

mod adapter;
mod broadcast;
mod client;
mod namespace;
pub mod packet;
mod server;
mod socket;

pub use broadcast::BroadcastOperator;
pub use namespace::{ConnectError, Namespace};
pub use packet::Arg;
pub use server::{Server, ServerOptions};
pub use socket::{Ack, AckError, EmitError, Handshake, Socket};
