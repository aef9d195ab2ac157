//! Giving memory back to the kernel, where a thread-per-connection server would otherwise keep
//! what it touched once for as long as the process lives:
//!
//! - [`release_unused_stack`]: the stack pages below a waiting thread's frame (a WebSocket's
//!   reader whose client has been quiet for `keep_alive_timeout`, a held GET before it waits);
//! - [`give_back_free_heap`]: the free memory malloc keeps for reuse (called when a session that
//!   held megabytes for a client that stopped reading is dropped, and when the last session of
//!   the server closes).
//!
//! Both are Linux and glibc calls through `libc`: `madvise(MADV_DONTNEED)` and `malloc_trim`.

use std::cell::Cell;

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
/// 10,000 packets buffered for a client that stopped reading, freed when it is dropped) the
/// process's RSS would stay at its peak although nothing uses it. It walks every arena under
/// its lock, so it is kept for such bursts, never called per request.
pub fn give_back_free_heap() {
    // SAFETY: no preconditions; it only releases pages malloc holds free.
    unsafe {
        libc::malloc_trim(0);
    }
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
