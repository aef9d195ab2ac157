//! The Redis adapters (work in progress).

pub mod msgpack;
