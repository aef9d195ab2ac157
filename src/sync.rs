//! Surviving a panic in application code: `lock()` for every `Mutex` of the server, `run_guarded`
//! for the callbacks the server calls.
//!
//! A handler (application code) runs on connection threads; if it panics while some lock is
//! held, Rust marks that `Mutex` "poisoned" and every later `lock()` returns an error. The
//! server's state is still consistent at that point (no lock of ours is held while a handler
//! runs), so we take the guard anyway rather than let one panic take every session down.
//!
//! `run_guarded` goes one step further for the callbacks the server itself calls on its own
//! threads: a panic in one is logged and does not end the thread.

use std::sync::{Mutex, MutexGuard};

/// `mutex.lock()`, surviving a panic on another thread.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Runs application code that was handed to the server (an ack callback, a server-side-emit
/// listener) on a thread the server owns (`timers`, a connection's reader): a panic in it is
/// logged with `what` and stops there, so that the thread, and every session it serves, lives on.
pub fn run_guarded(what: &str, code: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(code)) {
        log::error!("{what} panicked: {}; the server goes on", panic_message(&*panic));
    }
}

/// The text of a caught panic (`panic!("...")` carries a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        return text.to_string();
    }
    if let Some(text) = panic.downcast_ref::<String>() {
        return text.clone();
    }
    "(no message)".to_string()
}
