//! The Redis adapters (work in progress).

mod classic;
pub mod classic_messages;
pub mod cluster_messages;
pub mod connection;
pub mod link;
pub mod messages;
pub mod msgpack;
mod sharded;

/// The tests' `redis-server` (shared with the integration tests).
#[cfg(test)]
#[path = "../../../../tests/support/redis_server.rs"]
mod redis_server;
