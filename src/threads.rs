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

use std::cell::Cell;
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

/// This process's thread budget, from `/proc/sys/vm/max_map_count`.
pub fn budget() -> usize {
    *BUDGET.get_or_init(|| {
        let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .ok()
            .and_then(|text| text.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_MAX_MAP_COUNT);
        budget_for(max_map_count)
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
pub fn spawn<T: Send + 'static>(name: String, body: impl FnOnce() -> T + Send + 'static) -> io::Result<JoinHandle<T>> {
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
    let started = thread::Builder::new().name(name).spawn(move || {
        let _counted = Counted; // the count goes down when `body` returns, or panics
        body()
    });
    if started.is_err() {
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
    started
}

thread_local! {
    /// The lowest address of this thread's stack (just above its guard page); 0 until asked.
    static STACK_BOTTOM: Cell<usize> = const { Cell::new(0) };
}

/// Gives the kernel back the pages of this thread's stack below the caller's frame.
///
/// A page of a thread's stack, once touched, stays in the process's memory for as long as the
/// thread lives, even when the calls that touched it have long returned. A connection thread
/// goes deep once in a while (the handshake, a handler, writing an answer) and then waits for its
/// client, maybe for minutes, just below the top of its stack: the pages further down are
/// garbage, but resident. A thread that has been waiting a while (`Limits::keep_alive_timeout`)
/// calls this before waiting on: `madvise(MADV_DONTNEED)` drops those pages, and the next call
/// that goes that deep gets fresh zeroed pages from the kernel (a page fault each). It is one
/// system call per idle period, never one per read.
///
/// ```text
/// top of the stack  [ thread control block, TLS | frames down to the caller | 512 B | released ... ] bottom
/// ```
///
/// The 512 bytes kept below this function's frame cover the `madvise` call (a system call
/// wrapper: only its return address goes on the stack).
#[inline(never)]
pub fn release_unused_stack() {
    let bottom = stack_bottom();
    let page = page_size();
    if bottom == 0 || page == 0 {
        return;
    }
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let end = here.saturating_sub(512) & !(page - 1);
    if end <= bottom {
        return;
    }
    // SAFETY: `[bottom, end)` lies inside this thread's own stack, entirely below the frames in
    // use (the caller's, this one, and the `madvise` call's, all above `end`). Nothing there is
    // live: it is the stack space of calls that have returned. Private anonymous pages read as
    // zeros after MADV_DONTNEED, which is what a fresh stack page holds.
    unsafe {
        libc::madvise(bottom as *mut libc::c_void, end - bottom, libc::MADV_DONTNEED);
    }
}

/// This thread's [`STACK_BOTTOM`], asked of pthreads the first time (0 if it cannot say).
fn stack_bottom() -> usize {
    let known = STACK_BOTTOM.get();
    if known != 0 {
        return known;
    }
    let mut bottom = 0;
    // SAFETY: `attr` is initialised by `pthread_getattr_np` before it is read, and destroyed
    // once; the out-pointers are locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) == 0 {
            let mut address: *mut libc::c_void = std::ptr::null_mut();
            let mut size: libc::size_t = 0;
            if libc::pthread_attr_getstack(&attr, &mut address, &mut size) == 0 {
                bottom = address as usize;
            }
            libc::pthread_attr_destroy(&mut attr);
        }
    }
    STACK_BOTTOM.set(bottom);
    bottom
}

/// The page size (4 KiB on x86-64).
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { 0 }
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

    /// Resident pages of the mapping that holds `address`, from /proc/self/smaps.
    fn resident_kb_around(address: usize) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((low, high)) = range.split_once('-') {
                    if let (Ok(low), Ok(high)) = (usize::from_str_radix(low, 16), usize::from_str_radix(high, 16)) {
                        inside = low <= address && address < high;
                        continue;
                    }
                }
            }
            if inside && line.starts_with("Rss:") {
                return line.split_whitespace().nth(1).unwrap().parse().unwrap();
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    /// Touches 64 KiB of stack.
    #[inline(never)]
    fn touch_deep(index: usize) -> u8 {
        let mut array = [1u8; 64 * 1024];
        std::hint::black_box(&mut array);
        array[index % array.len()]
    }

    #[test]
    fn releasing_the_stack_gives_back_the_pages_below_the_caller() {
        spawn("stack".to_string(), || {
            let marker = 0u8;
            let address = std::hint::black_box(&marker) as *const u8 as usize;
            std::hint::black_box(touch_deep(1)); // 64 KiB of stack touched
            let deep = resident_kb_around(address);
            release_unused_stack();
            let released = resident_kb_around(address);
            assert!(deep >= 64, "{deep} kB resident after a deep call");
            assert!(released + 60 <= deep, "{deep} kB before, {released} kB after");
            // The released pages work as new ones.
            assert_eq!(touch_deep(2), 1);
        })
        .unwrap()
        .join()
        .unwrap();
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
