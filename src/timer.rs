//! `setTimeout` / `clearTimeout` for the whole server, on one thread.
//!
//! The reference keeps its heartbeat, upgrade and connect timers in Node's event loop. Here one
//! thread, named `timers`, plays that part for every session: it sleeps until the earliest
//! deadline, runs the callbacks that are due, and sleeps again. It owns no session: callbacks
//! hold `Weak` references, so a timer never keeps a closed session alive.
//!
//! The timers are a heap of deadlines and a map of callbacks under one `Mutex`, which
//! `set_timeout` and `clear_timeout` change in place on the caller's thread. The `timers` thread
//! is woken (the `Condvar`) only when a new deadline comes before the one it sleeps until:
//!
//! ```text
//! set_timeout(25 s)  lock; push (deadline, id); callbacks[id] = f;
//!                    earlier than the thread's wake-up time? notify it : nothing more
//! clear_timeout(id)  lock; forget callbacks[id]  (its heap entry is dropped when it surfaces,
//!                    or by a later set_timeout once cleared entries outnumber wanted ones)
//! timers thread      lock; run what is due (the lock released around each callback);
//!                    wait on the Condvar until the earliest deadline still wanted
//! ```
//!
//! A session sets a ping timer (25 s) and, on the WebSocket path, Socket.IO a connect timeout
//! (45 s): both later than what the thread already waits for, so they cost no wake-up and no
//! thread switch. (Sent over a channel instead, as at first, every one of them woke the `timers`
//! thread: one thread switch more per timer, most of them for a timer set to be cleared.)
//!
//! Owner and end: the `Timers` handles. When the last clone is dropped the thread is told to
//! stop, and returns. Callbacks run on the timer thread, one after the other, so they must be
//! short (push a packet, close a session). A callback that panics is logged
//! (`sync::run_guarded`) and the thread goes on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use log::debug;

use crate::sync::lock;

/// Names one scheduled callback, to clear it.
pub type TimerId = u64;

/// A callback waiting for its deadline.
type Callback = Box<dyn FnOnce() + Send>;

/// A handle to the timer thread; clone it freely.
#[derive(Clone)]
pub struct Timers {
    handle: Arc<Handle>,
}

/// Shared by the clones of one `Timers`: when the last is dropped, the thread stops.
struct Handle {
    shared: Arc<Shared>,
}

/// What the handles and the `timers` thread share.
struct Shared {
    state: Mutex<State>,
    /// The `timers` thread waits on it.
    wake: Condvar,
}

struct State {
    /// Every deadline set, earliest first (cleared ones too, until they surface or
    /// `drop_cleared_deadlines_if_many` drops them).
    deadlines: BinaryHeap<Reverse<(Instant, TimerId)>>,
    /// The callbacks still wanted.
    callbacks: HashMap<TimerId, Callback>,
    next_id: TimerId,
    /// When the `timers` thread will wake by itself: `Some(deadline)`, `Some(None)` when it
    /// waits with no deadline, `None` while it is running callbacks (it looks again after them).
    sleeping_until: Option<Option<Instant>>,
    /// Every handle was dropped: the thread returns.
    stopped: bool,
}

/// Cleared timers whose entries may stay in `State::deadlines` beyond as many as the timers still
/// wanted, before `set_timeout` drops them all ([`State::drop_cleared_deadlines_if_many`]).
const CLEARED_DEADLINES_KEPT: usize = 1_024;

impl State {
    /// Drops the heap entries of cleared timers once they outnumber the timers still wanted (by
    /// [`CLEARED_DEADLINES_KEPT`]), and gives back the heap's capacity if it is four times what
    /// is left.
    ///
    /// Why: `clear_timeout` cannot find a timer's entry in the heap, so the entry stays until
    /// its deadline surfaces. Socket.IO's connect timeout (45 s) is set for every connection and
    /// cleared a moment later, when the client joins its namespace: without this the heap held
    /// an entry for every connection of the last 45 s, tens of thousands of them while clients
    /// come and go, in a `Vec` whose capacity never shrinks. In the soak (NOTES.md section 7,
    /// "The soak") that was the whole climb of the RSS at rest: 24 bytes an entry, a capacity of
    /// 32,768 (768 KiB) after the first 10,000 sessions, 65,536 (1.5 MiB) after 50,000.
    ///
    /// Each drop walks the heap once, a map lookup per entry, and the entries it walks are at
    /// most twice the `set_timeout` and `clear_timeout` calls since the drop before: at most two
    /// lookups per call.
    fn drop_cleared_deadlines_if_many(&mut self) {
        let wanted = self.callbacks.len();
        if self.deadlines.len() < 2 * wanted + CLEARED_DEADLINES_KEPT {
            return;
        }
        let callbacks = &self.callbacks;
        self.deadlines.retain(|Reverse((_, id))| callbacks.contains_key(id));
        let enough = 2 * (self.deadlines.len() + CLEARED_DEADLINES_KEPT);
        if self.deadlines.capacity() > 2 * enough {
            self.deadlines.shrink_to(enough);
        }
    }
}

impl Timers {
    /// Starts the timer thread.
    pub fn start() -> std::io::Result<Timers> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                deadlines: BinaryHeap::new(),
                callbacks: HashMap::new(),
                next_id: 1,
                sleeping_until: None,
                stopped: false,
            }),
            wake: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        crate::threads::spawn("timers".to_string(), move || run_timer_thread(&thread_shared))?;
        Ok(Timers {
            handle: Arc::new(Handle { shared }),
        })
    }

    fn shared(&self) -> &Shared {
        &self.handle.shared
    }

    /// A fresh id, for a callback that needs to know its own id before it is scheduled.
    pub fn new_id(&self) -> TimerId {
        let mut state = lock(&self.shared().state);
        let id = state.next_id;
        state.next_id += 1;
        id
    }

    /// `setTimeout(callback, delay)` with an id from `new_id`.
    pub fn set_timeout_with_id(&self, id: TimerId, delay: Duration, callback: impl FnOnce() + Send + 'static) {
        let deadline = Instant::now() + delay;
        let mut state = lock(&self.shared().state);
        state.drop_cleared_deadlines_if_many();
        state.deadlines.push(Reverse((deadline, id)));
        state.callbacks.insert(id, Box::new(callback));
        let wake = match state.sleeping_until {
            Some(Some(wakes_at)) => deadline < wakes_at,
            Some(None) => true,
            None => false, // running callbacks: it looks at the heap again before it waits
        };
        if wake {
            state.sleeping_until = None;
            self.shared().wake.notify_one();
        }
    }

    /// `setTimeout(callback, delay)`: runs `callback` on the timer thread after `delay`.
    pub fn set_timeout(&self, delay: Duration, callback: impl FnOnce() + Send + 'static) -> TimerId {
        let id = self.new_id();
        self.set_timeout_with_id(id, delay, callback);
        id
    }

    /// `clearTimeout(id)`. The callback is dropped now (on this thread); nothing happens if it
    /// already ran.
    pub fn clear_timeout(&self, id: TimerId) {
        let callback = lock(&self.shared().state).callbacks.remove(&id);
        drop(callback); // after the lock: what it holds may take time to drop
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        lock(&self.shared.state).stopped = true;
        self.shared.wake.notify_one();
    }
}

/// The timer thread: runs what is due, then waits for the next deadline (or a wake-up).
fn run_timer_thread(shared: &Shared) {
    let mut state = lock(&shared.state);
    loop {
        if state.stopped {
            break;
        }
        // 1. Run everything that is due, and drop the entries of cleared timers on the way.
        let now = Instant::now();
        let mut next_deadline = None;
        while let Some(Reverse((deadline, id))) = state.deadlines.peek().copied() {
            if !state.callbacks.contains_key(&id) {
                state.deadlines.pop(); // cleared
                continue;
            }
            if deadline > now {
                next_deadline = Some(deadline);
                break;
            }
            state.deadlines.pop();
            if let Some(callback) = state.callbacks.remove(&id) {
                // Without the lock: the callback may set or clear timers. An ack's timeout runs
                // application code: its panic must not end this thread, which keeps every
                // session's heartbeat.
                drop(state);
                crate::sync::run_guarded("a timer callback", callback);
                state = lock(&shared.state);
            }
        }
        // 2. Sleep until the next deadline, or until an earlier one is set.
        state.sleeping_until = Some(next_deadline);
        state = match next_deadline {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                match shared.wake.wait_timeout(state, wait) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
            None => match shared.wake.wait(state) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            },
        };
        state.sleeping_until = None;
    }
    debug!(
        "timer thread: every handle dropped, {} timers pending, ending",
        state.callbacks.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::bounded;

    #[test]
    fn runs_in_deadline_order_and_skips_cleared() {
        let timers = Timers::start().unwrap();
        let (tx, rx) = bounded(10);
        let tx2 = tx.clone();
        let tx3 = tx.clone();
        timers.set_timeout(Duration::from_millis(60), move || tx.send(3).unwrap());
        timers.set_timeout(Duration::from_millis(20), move || tx2.send(1).unwrap());
        let cleared = timers.set_timeout(Duration::from_millis(40), move || tx3.send(2).unwrap());
        timers.clear_timeout(cleared);
        assert_eq!(rx.recv_timeout(Duration::from_secs(2)), Ok(1));
        assert_eq!(rx.recv_timeout(Duration::from_secs(2)), Ok(3));
        // The cleared callback was dropped with its sender: the channel is now empty and closed.
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
    }

    #[test]
    fn an_earlier_deadline_wakes_the_sleeping_thread() {
        let timers = Timers::start().unwrap();
        let (tx, rx) = bounded(10);
        let late = tx.clone();
        // The thread goes to sleep until the later deadline; then an earlier one comes.
        timers.set_timeout(Duration::from_secs(60), move || late.send("late").unwrap());
        std::thread::sleep(Duration::from_millis(50));
        let set_at = Instant::now();
        timers.set_timeout(Duration::from_millis(20), move || tx.send("early").unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("early"));
        assert!(set_at.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn cleared_timers_do_not_pile_up_in_the_heap() {
        let timers = Timers::start().unwrap();
        let (tx, rx) = bounded(1);
        timers.set_timeout(Duration::from_millis(300), move || tx.send(()).unwrap());
        // A connection's 45 s connect timeout, set and cleared, 100,000 times.
        for _ in 0..100_000 {
            let id = timers.set_timeout(Duration::from_secs(45), || {});
            timers.clear_timeout(id);
        }
        {
            let state = lock(&timers.shared().state);
            assert!(
                state.deadlines.len() <= 2 + CLEARED_DEADLINES_KEPT,
                "{} entries",
                state.deadlines.len()
            );
            assert!(
                state.deadlines.capacity() <= 8 * CLEARED_DEADLINES_KEPT,
                "capacity {}",
                state.deadlines.capacity()
            );
        }
        // The timer still wanted was kept.
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(()));
    }

    #[test]
    fn the_thread_ends_with_the_last_handle() {
        let timers = Timers::start().unwrap();
        let clone = timers.clone();
        drop(timers);
        let (tx, rx) = bounded(1);
        clone.set_timeout(Duration::from_millis(1), move || tx.send(()).unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(())); // the clone still works
        let weak = Arc::downgrade(&clone.handle.shared);
        drop(clone);
        // The thread holds the last reference to what it shares: gone once it has returned.
        let deadline = Instant::now() + Duration::from_secs(5);
        while weak.strong_count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(weak.strong_count(), 0);
    }
}
