//! `setInterval` / `clearInterval` on a thread of their own: the chapter's
//!
//! ```js
//! socket.interval = setInterval(() => { socket.emit('news', 'Hello Socket.IO'); }, 3000);
//! ...
//! clearInterval(socket.interval);
//! ```
//!
//! `set_interval` starts a thread that waits on two crossbeam channels: a ticker that fires
//! every `period`, and a stop channel whose only sender the returned [`Interval`] holds.
//! `clear_interval` drops that sender: the thread's `select!` sees the channel disconnect and the
//! thread ends (and is joined). The tick callback can end it too by returning `false` (the
//! socket is gone, so an emit failed).

use std::io;
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Sender, bounded, select, tick};

/// A running interval; `clear_interval` (or dropping it) stops its thread.
pub struct Interval {
    /// Dropped to stop the thread; never sent on.
    stop: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Calls `callback` every `period` on a new thread named `name`, until it returns `false` or the
/// interval is cleared.
pub fn set_interval(
    name: &str,
    period: Duration,
    mut callback: impl FnMut() -> bool + Send + 'static,
) -> io::Result<Interval> {
    let (stop, stopped) = bounded::<()>(0);
    let ticker = tick(period);
    let thread = crate::threads::spawn(name.to_string(), move || {
        loop {
            select! {
                recv(ticker) -> _ => {
                    if !callback() {
                        break;
                    }
                }
                recv(stopped) -> _ => break,
            }
        }
    })?;
    Ok(Interval {
        stop: Mutex::new(Some(stop)),
        thread: Mutex::new(Some(thread)),
    })
}

impl Interval {
    /// `clearInterval`: stops the thread and waits for it to end (unless called from that very
    /// thread, which then ends as soon as its callback returns).
    pub fn clear_interval(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            stop.take();
        }
        let thread = match self.thread.lock() {
            Ok(mut thread) => thread.take(),
            Err(_) => None,
        };
        if let Some(thread) = thread {
            if thread.thread().id() != thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        self.clear_interval();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn ticks_until_cleared() {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&count);
        let interval = set_interval("test interval", Duration::from_millis(10), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            true
        })
        .unwrap();
        while count.load(Ordering::SeqCst) < 3 {
            thread::sleep(Duration::from_millis(5));
        }
        interval.clear_interval();
        let after = count.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(count.load(Ordering::SeqCst), after, "no tick after clear_interval");
    }

    #[test]
    fn ends_when_the_callback_says_so() {
        let interval = set_interval("test interval", Duration::from_millis(5), || false).unwrap();
        let thread = interval.thread.lock().unwrap().take().unwrap();
        thread.join().unwrap();
    }
}
