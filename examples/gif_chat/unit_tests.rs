//! The unit tests of the GIF chat's modules, as a test target of their own (`gif_chat_units` in
//! Cargo.toml): `cargo test` builds an example either as a plain binary (which
//! `tests/gif_chat.rs` starts) or as a test harness, not both, so the modules are compiled a
//! second time here, from the same files, with their `#[cfg(test)]` tests.

// What only `main.rs` uses (the set-up, `App::handle`) is unused in this crate.
#![allow(dead_code)]
// Nested `if`s are kept where they read more plainly (as in the library).
#![allow(clippy::collapsible_if)]

mod app;
mod color_hash;
mod hmac;
mod multipart;
mod routes;
mod session;
mod socket;
mod store;
mod uploads;
mod views;
mod web;
