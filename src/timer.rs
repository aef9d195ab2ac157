//! `setTimeout` / `clearTimeout` for the whole server, on one thread.
//!
//! The reference keeps its heartbeat, upgrade and connect timers in Node's event loop. Here one
//! thread, named `timers`, plays that part for every session: it sleeps until the earliest
//! deadline (or until a new timer comes in over its channel), runs the callbacks that are due,
//! and sleeps again. It owns no session: callbacks hold `Weak` references, so a timer never keeps
//! a closed session alive.
//!
//! Owner and end: the `Timers` handle. Each clone holds a `Sender`; when the last clone is dropped
//! the channel disconnects and the thread returns. Callbacks run on the timer thread, one after
//! the other, so they must be short (push a packet, close a session). A callback that panics is
//! logged (`sync::run_guarded`) and the thread goes on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use log::debug;

/// Names one scheduled callback, to clear it.
pub type TimerId = u64;

/// What the timer thread is told.
enum Command {
    /// Run `callback` at `deadline` unless cleared first.
    Set {
        id: TimerId,
        deadline: Instant,
        callback: Box<dyn FnOnce() + Send>,
    },
    /// Forget the timer `id` (nothing happens if it already ran).
    Clear { id: TimerId },
}

/// A handle to the timer thread; clone it freely.
#[derive(Clone)]
pub struct Timers {
    commands: Sender<Command>,
    next_id: Arc<AtomicU64>,
}

impl Timers {
    /// Starts the timer thread.
    pub fn start() -> std::io::Result<Timers> {
        let (commands, receiver) = unbounded();
        crate::threads::spawn("timers".to_string(), move || run_timer_thread(receiver))?;
        Ok(Timers {
            commands,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }

    /// A fresh id, for a callback that needs to know its own id before it is scheduled.
    pub fn new_id(&self) -> TimerId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// `setTimeout(callback, delay)` with an id from `new_id`.
    pub fn set_timeout_with_id(&self, id: TimerId, delay: Duration, callback: impl FnOnce() + Send + 'static) {
        let command = Command::Set {
            id,
            deadline: Instant::now() + delay,
            callback: Box::new(callback),
        };
        // Fails only if the timer thread is gone, which happens only when no handle is left.
        let _ = self.commands.send(command);
    }

    /// `setTimeout(callback, delay)`: runs `callback` on the timer thread after `delay`.
    pub fn set_timeout(&self, delay: Duration, callback: impl FnOnce() + Send + 'static) -> TimerId {
        let id = self.new_id();
        self.set_timeout_with_id(id, delay, callback);
        id
    }

    /// `clearTimeout(id)`.
    pub fn clear_timeout(&self, id: TimerId) {
        let _ = self.commands.send(Command::Clear { id });
    }
}

/// The timer thread: a heap of deadlines and a map of the callbacks still wanted.
fn run_timer_thread(commands: Receiver<Command>) {
    let mut deadlines: BinaryHeap<Reverse<(Instant, TimerId)>> = BinaryHeap::new();
    let mut callbacks: HashMap<TimerId, Box<dyn FnOnce() + Send>> = HashMap::new();
    loop {
        // 1. Run everything that is due.
        let now = Instant::now();
        while let Some(Reverse((deadline, id))) = deadlines.peek().copied() {
            if deadline > now {
                break;
            }
            deadlines.pop();
            if let Some(callback) = callbacks.remove(&id) {
                // An ack's timeout runs application code: its panic must not end this thread,
                // which keeps every session's heartbeat.
                crate::sync::run_guarded("a timer callback", callback);
            }
        }
        // 2. Sleep until the next deadline, or until a command comes.
        let command = match deadlines.peek() {
            Some(Reverse((deadline, _))) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                match commands.recv_timeout(wait) {
                    Ok(command) => command,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            None => match commands.recv() {
                Ok(command) => command,
                Err(_) => break,
            },
        };
        // 3. Apply it.
        match command {
            Command::Set { id, deadline, callback } => {
                deadlines.push(Reverse((deadline, id)));
                callbacks.insert(id, callback);
            }
            Command::Clear { id } => {
                // Its heap entry stays until its deadline and is skipped then.
                callbacks.remove(&id);
            }
        }
    }
    debug!(
        "timer thread: every handle dropped, {} timers pending, ending",
        callbacks.len()
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
}
