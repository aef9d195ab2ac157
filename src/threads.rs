//! Every thread the server starts goes through [`spawn`]: named, counted, and refused with an
//! error (never an abort) once the process has as many threads as the kernel leaves room for.
//!
//! Why count: each thread takes four of the process's memory mappings (its stack and the stack's
//! guard page, and the signal stack and guard page that std gives every thread to report a stack
//! overflow). Linux allows a process `vm.max_map_count` mappings, 65,530 by default. A thread
//! whose stack still fits but whose signal stack does not is fatal: std aborts the whole process.
//! So before starting a thread we check that its mappings fit, and past that the caller gets an
//! `io::Error` it already knows how to handle (a `503`, a closed session, a log line).
//!
//! ```text
//! budget = (vm.max_map_count - 2,000 for the binary, libraries and malloc) / 4
//!        = 15,882 threads with the default 65,530
//! ```
//!
//! And each runs under the kernel's `SCHED_BATCH` policy (`schedule_as_batch`): a thread
//! woken by its client's message does not preempt the thread that is running; it runs when that
//! one blocks (or its time slice ends), as a message waits in Node's event loop for the handler
//! that is running.

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

/// Mappings one thread takes: stack + guard page, signal stack + guard page.
const MAPS_PER_THREAD: usize = 4;
/// Mappings left for everything else (the binary, the libraries, malloc's arenas, big buffers).
const MAPS_RESERVED: usize = 2_000;
/// The kernel's default `vm.max_map_count`, if it cannot be read.
const DEFAULT_MAX_MAP_COUNT: usize = 65_530;

/// Threads started by [`spawn`] that have not ended yet.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// How many may live at once (read once, at the first spawn).
static BUDGET: OnceLock<usize> = OnceLock::new();

/// How many threads fit in `max_map_count` mappings.
pub fn budget_for(max_map_count: usize) -> usize {
    max_map_count.saturating_sub(MAPS_RESERVED) / MAPS_PER_THREAD
}

/// Lowers the budget, for the tests that run a server out of threads (`tests/faults.rs`).
pub const BUDGET_VARIABLE: &str = "SOCKETIO_BOOK_MAX_THREADS";

/// This process's thread budget, from `/proc/sys/vm/max_map_count`, or lower if the environment
/// variable `SOCKETIO_BOOK_MAX_THREADS` says so.
pub fn budget() -> usize {
    *BUDGET.get_or_init(|| {
        let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_MAX_MAP_COUNT);
        let lowered = std::env::var(BUDGET_VARIABLE)
            .ok()
            .and_then(|text| text.parse::<usize>().ok());
        budget_for(max_map_count).min(lowered.unwrap_or(usize::MAX))
    })
}

/// Threads of ours alive now.
pub fn live() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// Is there room for one more thread?
pub fn has_room() -> bool {
    live() < budget()
}

/// `thread::Builder::new().name(name).spawn(body)`, counted. Refused with `ErrorKind::OutOfMemory`
/// when the budget is used up, or with the system's error when the thread cannot be created.
/// The thread gets std's stack reservation (2 MiB).
pub fn spawn<T: Send + 'static>(name: String, body: impl FnOnce() -> T + Send + 'static) -> io::Result<JoinHandle<T>> {
    spawn_with_stack(name, None, body)
}

/// `spawn` with a stack reservation of `stack_bytes` (`None`: std's 2 MiB).
///
/// Only reserved address space: the pages a thread touches are what it costs in RSS, whatever
/// the reservation. But the kernel maps every 2 MiB of address space with a page-table page of
/// its own (4 KiB, outside RSS: `VmPTE` in `/proc/PID/status`), so a 2 MiB stack per thread is one
/// more page of kernel memory per thread, where four 512 KiB stacks share one.
pub fn spawn_with_stack<T: Send + 'static>(
    name: String,
    stack_bytes: Option<usize>,
    body: impl FnOnce() -> T + Send + 'static,
) -> io::Result<JoinHandle<T>> {
    // Before the process's first thread of ours allocates: see `memory::bound_malloc_arenas`.
    crate::memory::bound_malloc_arenas();
    let before = LIVE.fetch_add(1, Ordering::SeqCst);
    if before >= budget() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        return Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "{before} threads running, the most that vm.max_map_count leaves room for \
                 (raise it with `sysctl vm.max_map_count=262144`)"
            ),
        ));
    }
    let mut builder = thread::Builder::new().name(name);
    if let Some(bytes) = stack_bytes {
        builder = builder.stack_size(bytes);
    }
    let started = builder.spawn(move || {
        let _counted = Counted; // the count goes down when `body` returns, or panics
        schedule_as_batch();
        body()
    });
    if started.is_err() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
    started
}

/// Puts the calling thread under `SCHED_BATCH` (`sched_setscheduler(2)`; Linux applies it to
/// the calling thread alone; no privilege needed). The same fair share of the CPU as the
/// default policy, with one difference: waking up, the thread does not preempt the one that is
/// running. Why it matters here: when 5,000 clients answer a broadcast at once
/// (`broadcast-ack`), each answer wakes that client's thread; by default each wake-up could
/// preempt the thread that was handling the previous answer, an interrupt to the server's core
/// and a context switch more per answer, paid by the server and by the client's `send`. Under
/// `SCHED_BATCH` the woken threads queue behind the running one, which finishes and blocks in a
/// few microseconds. Measured (NOTES.md section 7, "Batch scheduling"): time until the
/// callback of `timeout().emit()` to 5,000 clients −15 %, the server's CPU per answer −14 %;
/// rtt, throughput and the connect rate unchanged. If the call fails (a kernel without it, a
/// sandbox that forbids it) the thread keeps the default policy.
fn schedule_as_batch() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` reads one `sched_param` through a pointer to one; pid 0 is
    // the calling thread.
    let status = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if status != 0 {
        log::debug!(
            "SCHED_BATCH refused ({}): default scheduling",
            io::Error::last_os_error()
        );
    }
}

/// Held by a running thread; dropping it takes the thread off the count.
struct Counted;

impl Drop for Counted {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_for_four_mappings_a_thread() {
        // Linux's default vm.max_map_count: (65,530 - 2,000) / 4.
        assert_eq!(budget_for(65_530), 15_882);
        assert_eq!(budget_for(262_144), 65_036);
        assert_eq!(budget_for(10), 0);
    }

    #[test]
    fn a_spawned_thread_is_counted_until_it_ends() {
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let thread = spawn("counted".to_string(), move || wait.recv().is_ok()).unwrap();
        assert!(live() >= 1); // (other tests' threads come and go: only ours is sure to be there)
        go.send(()).unwrap();
        assert!(thread.join().unwrap());
    }
}
