//! Giving memory back to the kernel, where a thread-per-connection server would otherwise keep
//! what it touched once for as long as the process lives:
//!
//! - [`release_unused_stack`]: the stack pages below a waiting thread's frame (a WebSocket's
//!   reader whose client has been quiet for `keep_alive_timeout`, a held GET before it waits);
//! - [`give_back_free_heap`]: the free memory malloc keeps for reuse (called when a session that
//!   held megabytes for a client that stopped reading is dropped, and by the `timers` thread
//!   50 ms after the last session of the server closed or after every
//!   [`TRIM_AFTER_SESSIONS`] sessions that ended: `engineio::server::Shared::remove_client`);
//! - [`bound_malloc_arenas`]: at most one malloc arena per core, so that what the threads free
//!   is in arenas a trim can give back (called once, by `threads::spawn` before the first
//!   thread starts).
//!
//! All are Linux and glibc calls through `libc`: `madvise(MADV_DONTNEED)`, `malloc_trim` and
//! `mallopt(M_ARENA_MAX)`.

use std::cell::Cell;
use std::sync::Once;

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
/// garbage, but resident. A thread about to wait long calls this first: `madvise(MADV_DONTNEED)`
/// drops those pages, and the next call that goes that deep gets fresh zeroed pages from the
/// kernel (a page fault each). A WebSocket's reader calls it once its client has been quiet for
/// `Limits::keep_alive_timeout` (one system call per quiet spell, never one per read); a held
/// GET before it waits (one per GET that has to wait).
///
/// ```text
/// top of the stack  [ thread control block, TLS | frames down to here | 256 B | released ... ] bottom
/// ```
///
/// The 256 bytes kept below `here` (a local of this function) cover the rest of this function's
/// frame (104 bytes in the x86-64 release build) and the `madvise` call, a system call wrapper
/// that puts only its return address on the stack. Every page that starts below that is given
/// back: a waiting connection thread keeps two pages, its control block's and the one its
/// `read()` or `poll()` waits in, as long as that wait is less than 8 KiB - 256 bytes deep.
#[inline(never)]
pub fn release_unused_stack() {
    let bottom = stack_bottom();
    let page = page_size();
    if bottom == 0 || page == 0 {
        return;
    }
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let end = here.saturating_sub(256) & !(page - 1);
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

/// Returns to the kernel the memory malloc holds free (`malloc_trim(0)`: every arena, every
/// whole free page). glibc keeps freed memory for the next allocations; after a burst (the
/// 10,000 packets buffered for a client that stopped reading, freed when it is dropped; a
/// thousand sessions come and gone) the process's RSS would stay at its peak although nothing
/// uses it. It walks every arena's free lists under the arena's lock, giving back each whole free
/// page with `madvise`: 0.6 ms in the median in the soak (NOTES.md section 7, "The soak"), 37 ms
/// at worst, amid a thousand sessions churning; so it is kept for such bursts, never called per
/// request.
pub fn give_back_free_heap() {
    // SAFETY: no preconditions; it only releases pages malloc holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Ended sessions after which the `timers` thread trims the heap (`give_back_free_heap`) even
/// though others are still open: a server whose clients come and go and are never all gone.
pub const TRIM_AFTER_SESSIONS: usize = 1_000;

/// How long after the sessions ended the trim waits: the threads that served them have mostly
/// ended by then (a WebSocket's reader returns as soon as its session is closed), and what they
/// held is free. A trim at the very moment the last session leaves `clients` came too early: the
/// session itself, its connection thread's buffers and malloc's per-thread cache were freed
/// after it, and stayed.
pub const TRIM_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Bounds glibc's malloc arenas to one per core (`mallopt(M_ARENA_MAX, cores)`), once per
/// process, before the first thread starts (`threads::spawn` calls it): glibc gives the first
/// thread other than `main` an arena of its own whatever the bound, unless the bound is already
/// set (with `timers` started first, that arena was there, and after a soak the anonymous
/// mappings, its own among them, held 2.7 MB that `malloc_trim` had not given back). "Cores" is `available_parallelism`, which counts the CPUs the
/// process may run on: under `taskset -c 0`, as `cargo bench` runs the servers, one arena.
///
/// glibc gives a thread that allocates while another holds the arena's lock an arena of its own,
/// up to 8 per core (16 on 2 cores). A thread per connection means thousands of threads that
/// allocate at the same moments (a burst of connections), so all 16 get made, and each keeps what
/// was freed in it: `malloc_trim` gives back the free pages inside an arena's chunks but not the
/// top of the 15 arenas other than the main one (glibc trims those only past
/// `M_TRIM_THRESHOLD`, which grows with the largest block freed). In the soak (NOTES.md
/// section 7, "The soak") the server held 12 to 19 MB after its sessions had ended, 5 MB of it
/// free memory in 17 arena mappings; with one arena per core, 7.7 to 9.7 MB. With 1 or 2
/// arenas the connect and throughput cases cost the same server CPU as with 16 (malloc's
/// per-thread cache serves most allocations without the arena's lock).
pub fn bound_malloc_arenas() {
    static BOUNDED: Once = Once::new();
    BOUNDED.call_once(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt has no preconditions; M_ARENA_MAX only bounds arenas made from now on.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
        crate::threads::spawn("stack".to_string(), || {
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
}
