//! placeholder map, rewritten below
pub mod cli;
pub mod engineio;
pub mod http;
pub mod listener;
pub mod socketio;
pub mod timer;
