//! A wake-up descriptor: one thread waits on it with `poll(2)` (together with its socket), any
//! other thread rings it.
//!
//! It is Linux's `eventfd(2)`: a file descriptor holding a counter. `ring` adds 1 to it, which
//! makes the descriptor readable; the waiting thread's `poll` returns, and `clear` reads the
//! counter back to 0. Rings that come before the wait, or several at once, are not lost: the
//! descriptor stays readable until cleared, and the waiter looks at what changed only after
//! clearing, so a ring that arrives meanwhile wakes it once more (a spurious wake-up costs one
//! look, never a missed packet).
//!
//! A held long-poll GET is where it is used (`engineio/polling.rs`): the connection's own thread
//! waits on its socket (did the client hang up?) and on its waker (is there something to send?)
//! in one `poll`, so a held GET costs one thread. std has no `eventfd` or `poll`, hence `libc`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One eventfd. Shared (`Arc`) between the thread that waits and the session that rings.
#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// A new eventfd, counter 0, non-blocking (`clear` never waits) and closed on `exec`.
    pub fn new() -> io::Result<Waker> {
        // SAFETY: plain system call; a valid descriptor is owned by the `OwnedFd` below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and nothing else owns it.
        Ok(Waker {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Wakes the thread waiting on this descriptor (or the next one to wait).
    pub fn ring(&self) {
        // SAFETY: writes 8 bytes from a local to our open descriptor. It fails only if the
        // counter would overflow (2^64 - 2 rings not cleared), and then it is readable anyway.
        unsafe {
            libc::eventfd_write(self.fd.as_raw_fd(), 1);
        }
    }

    /// Resets the counter to 0 (the waiter calls it when `poll` says it was rung).
    pub fn clear(&self) {
        let mut count: libc::eventfd_t = 0;
        // SAFETY: reads 8 bytes into a local from our open, non-blocking descriptor; when the
        // counter is already 0 it fails with EAGAIN, which is what "cleared" means anyway.
        unsafe {
            libc::eventfd_read(self.fd.as_raw_fd(), &mut count);
        }
    }

    /// The descriptor, for `poll`.
    pub fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `poll` on the waker alone, with a timeout in ms: was it readable?
    fn is_rung(waker: &Waker, timeout_ms: i32) -> bool {
        let mut fds = [libc::pollfd {
            fd: waker.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd on the stack.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) };
        ready == 1 && fds[0].revents & libc::POLLIN != 0
    }

    #[test]
    fn a_ring_before_the_wait_is_kept_until_cleared() {
        let waker = Waker::new().unwrap();
        assert!(!is_rung(&waker, 0));
        waker.ring();
        waker.ring();
        assert!(is_rung(&waker, 0));
        waker.clear();
        assert!(!is_rung(&waker, 0));
        waker.clear(); // clearing a cleared waker is harmless
    }

    #[test]
    fn a_ring_from_another_thread_ends_the_wait() {
        let waker = std::sync::Arc::new(Waker::new().unwrap());
        let ringer = std::sync::Arc::clone(&waker);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            ringer.ring();
        });
        assert!(is_rung(&waker, 10_000));
        thread.join().unwrap();
    }
}
