//! Connection threads, kept for the next connection: still one thread per connection, for the
//! connection's whole life, but a thread whose connection has ended waits a moment for the next
//! one instead of ending, so that the next connection does not pay for a new thread.
//!
//! ```text
//! accept thread: Pool::run(connection)         connection thread "conn 7"
//! ────────────────────────────────────         ──────────────────────────────────────────────
//! a thread parked?                             loop {
//!   yes: take the last one parked, hand          serve one connection, to its end
//!        it the connection ──────────────────►   park: put my mailbox in `parked`, wait
//!   no:  spawn "conn N" with it                    a connection comes (≤ 2 s): serve it
//!                                                  nothing came: leave `parked`, end
//!                                              }
//! ```
//!
//! Which thread owns a connection: the one that took it, from its first byte to its close (and,
//! after a WebSocket upgrade, as that WebSocket's reader), exactly as a new thread would. A thread
//! goes back to the pool only when its connection has ended (`handle_connection` returned); a
//! thread whose connection panicked ends as before. At most `MAX_PARKED` threads wait at once
//! (past that, a finished thread ends), each for at most `PARK_TIMEOUT`; the last one parked is
//! the first taken (its stack and caches are the warmest), so the ones that wait longest end.
//!
//! What it saves: a new thread costs the process a `clone`, a stack and its guard (`mmap`,
//! `mprotect`), std's signal stack (`sigaltstack`, another `mmap` and guard), the first page
//! faults of that stack, and its end costs the unmapping; a parked thread costs one wake-up.
//! NOTES.md (section 7) has the figures.
//!
//! Parked threads are ordinary threads of `threads::spawn`: they count in the thread budget
//! (`threads.rs`) while they wait, at most `MAX_PARKED` of it.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use log::debug;

use crate::sync::lock;
use crate::threads;

/// One connection's whole life, for the thread that takes it.
pub type Job = Box<dyn FnOnce() + Send>;

/// At most this many finished threads wait for a connection at once.
pub const MAX_PARKED: usize = 128;
/// How long a finished thread waits for a connection before it ends.
pub const PARK_TIMEOUT: Duration = Duration::from_secs(2);
/// The stack reserved for a connection thread. The deepest JSON the parser accepts (nested to
/// serde_json's limit of 128 levels: `42["x",[[[...]]]]`) takes it 130 to 160 KiB down, through
/// tungstenite, the Engine.IO and Socket.IO decoders, serde_json, the handler and the encoder back
/// (128 KiB overflow, 160 KiB do not); 512 KiB leaves twice as much again for the application's
/// handlers (`tests/socketio_protocol.rs` sends that deepest packet). std's default, 2 MiB,
/// costs a page-table page per thread (see `threads::spawn_with_stack`): 4.1 kB of kernel memory
/// per connection, against 1.2 kB with 512 KiB (`VmPTE` with 1,000 WebSocket clients).
pub const STACK_BYTES: usize = 512 * 1024;

/// The connection threads of one listener.
pub struct Pool {
    shared: Arc<Shared>,
}

/// What the accept thread and the connection threads share.
struct Shared {
    /// The threads waiting for a connection, in the order they parked.
    parked: Mutex<Vec<Parked>>,
    /// Numbers the threads: "conn 1", "conn 2", ...
    started: AtomicUsize,
}

/// A parked thread: where to hand it a connection.
struct Parked {
    number: usize,
    mailbox: Arc<Mailbox>,
}

/// One thread's mailbox: the accept thread puts a job in and wakes the thread.
///
/// A `Mutex` and a `Condvar`, not a channel: a thread waiting on a crossbeam (or std) channel
/// first spins and calls `sched_yield` a few times, and on one busy core each of those yields is a
/// thread switch; a `Condvar` goes to sleep at once.
struct Mailbox {
    job: Mutex<Option<Job>>,
    arrived: Condvar,
}

impl Mailbox {
    fn put(&self, job: Job) {
        *lock(&self.job) = Some(job);
        self.arrived.notify_one();
    }

    /// Waits for a job, at most `timeout` (`None`: as long as it takes).
    fn take(&self, timeout: Option<Duration>) -> Option<Job> {
        let guard = lock(&self.job);
        let mut guard: MutexGuard<'_, Option<Job>> = match timeout {
            Some(timeout) => match self.arrived.wait_timeout_while(guard, timeout, |job| job.is_none()) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            },
            None => match self.arrived.wait_while(guard, |job| job.is_none()) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            },
        };
        guard.take()
    }
}

impl Default for Pool {
    fn default() -> Pool {
        Pool::new()
    }
}

impl Pool {
    pub fn new() -> Pool {
        Pool {
            shared: Arc::new(Shared {
                parked: Mutex::new(Vec::new()),
                started: AtomicUsize::new(0),
            }),
        }
    }

    /// Could `run` serve a connection now: a thread is parked, or the budget has room for one?
    pub fn has_room(&self) -> bool {
        !lock(&self.shared.parked).is_empty() || threads::has_room()
    }

    /// Threads parked now.
    pub fn parked(&self) -> usize {
        lock(&self.shared.parked).len()
    }

    /// Serves `job` on a parked thread, or on a new one. Fails only when a new thread is needed
    /// and cannot be started (the job, with its connection, is dropped then).
    pub fn run(&self, job: Job) -> io::Result<()> {
        let parked = lock(&self.shared.parked).pop();
        if let Some(parked) = parked {
            parked.mailbox.put(job);
            return Ok(());
        }
        let number = self.shared.started.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = Arc::clone(&self.shared);
        threads::spawn_with_stack(format!("conn {number}"), Some(STACK_BYTES), move || {
            run_thread(&shared, number, job)
        })?;
        Ok(())
    }
}

/// The body of a connection thread: serve, park, serve the next, ... until nothing comes.
fn run_thread(shared: &Shared, number: usize, first: Job) {
    let mailbox = Arc::new(Mailbox {
        job: Mutex::new(None),
        arrived: Condvar::new(),
    });
    let mut job = first;
    loop {
        job();
        match park(shared, number, &mailbox) {
            Some(next) => job = next,
            None => return,
        }
    }
}

/// Waits in `parked` for the next connection; `None`: the pool is full, or none came in time.
fn park(shared: &Shared, number: usize, mailbox: &Arc<Mailbox>) -> Option<Job> {
    {
        let mut parked = lock(&shared.parked);
        if parked.len() >= MAX_PARKED {
            return None;
        }
        parked.push(Parked {
            number,
            mailbox: Arc::clone(mailbox),
        });
    }
    debug!("conn {number}: parked, waiting for the next connection");
    if let Some(job) = mailbox.take(Some(PARK_TIMEOUT)) {
        return Some(job);
    }
    let mut parked = lock(&shared.parked);
    if let Some(at) = parked.iter().position(|p| p.number == number) {
        parked.remove(at);
        debug!("conn {number}: no connection for {PARK_TIMEOUT:?}, ending");
        return None;
    }
    drop(parked);
    // The accept thread took this thread just as the wait ended: its connection is on the way.
    mailbox.take(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;
    use std::thread::{self, ThreadId};

    /// Runs a job that reports the id of the thread it ran on.
    fn run_and_tell(pool: &Pool) -> ThreadId {
        let (tx, rx) = bounded(1);
        pool.run(Box::new(move || tx.send(thread::current().id()).unwrap()))
            .unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap()
    }

    /// Waits until `count` threads are parked.
    fn wait_parked(pool: &Pool, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while pool.parked() != count && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(pool.parked(), count);
    }

    #[test]
    fn a_finished_thread_serves_the_next_connection_then_ends_when_none_comes() {
        let pool = Pool::new();
        let first = run_and_tell(&pool);
        wait_parked(&pool, 1);
        // The next job runs on the same thread, not a new one.
        assert_eq!(run_and_tell(&pool), first);
        wait_parked(&pool, 1);
        // Nothing comes for PARK_TIMEOUT: the thread leaves the pool and ends.
        thread::sleep(PARK_TIMEOUT + Duration::from_millis(500));
        assert_eq!(pool.parked(), 0);
        assert_eq!(lock(&pool.shared.parked).len(), 0);
        assert_ne!(run_and_tell(&pool), first);
    }

    #[test]
    fn a_busy_thread_is_never_handed_a_second_connection() {
        let pool = Pool::new();
        let (release, hold) = bounded::<()>(0);
        let (tx, rx) = bounded(2);
        let tx2 = tx.clone();
        pool.run(Box::new(move || {
            tx.send(thread::current().id()).unwrap();
            hold.recv().unwrap(); // a connection still open
        }))
        .unwrap();
        let busy = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        pool.run(Box::new(move || tx2.send(thread::current().id()).unwrap()))
            .unwrap();
        assert_ne!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), busy);
        release.send(()).unwrap();
    }
}
