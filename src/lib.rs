//! placeholder map, rewritten below
pub mod cli;
pub mod engineio;
pub mod http;
pub mod interval;
pub mod listener;
pub mod socketio;
pub mod timer;
pub mod trace;
pub mod www;
