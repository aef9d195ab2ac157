//! One helper for every `Mutex` of the server.
//!
//! A handler (application code) runs on connection threads; if it panics while some lock is
//! held, Rust marks that `Mutex` "poisoned" and every later `lock()` returns an error. The
//! server's state is still consistent at that point (no lock of ours is held while a handler
//! runs), so we take the guard anyway rather than let one panic take every session down.

use std::sync::{Mutex, MutexGuard};

/// `mutex.lock()`, surviving a panic on another thread.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
