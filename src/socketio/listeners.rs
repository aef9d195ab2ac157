//! Catch-all listeners: `socket.onAny(...)` hears every incoming event, before its handler;
//! `socket.onAnyOutgoing(...)` every event sent to the client, by the socket or by a broadcast
//! (the reference's `_anyListeners` and `_anyOutgoingListeners` in `socket.ts`).
//!
//! ```text
//! 42["hello",1,"a"]   -> each `on_any` listener(socket, "hello", [1, "a"]), then the `hello` handler
//! emit("news", ["x"]) -> each `on_any_outgoing` listener(socket, "news", ["x"]), then 42["news","x"]
//! ```
//!
//! A JavaScript listener is named by the function itself (`socket.offAny(listener)`); a Rust
//! closure has no such identity, so `on_any` returns a [`ListenerId`] and `off_any` takes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::packet::Arg;
use super::socket::Socket;

/// A catch-all listener: gets the socket, the event's name and its arguments (without the
/// acknowledgement, which only the event's handler gets).
pub type AnyListener = Arc<dyn Fn(&Socket, &str, &[Arg]) + Send + Sync>;

/// Names one catch-all listener, for `off_any` / `off_any_outgoing`. Unique in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

static NEXT_LISTENER_ID: AtomicU64 = AtomicU64::new(1);

impl ListenerId {
    fn next() -> ListenerId {
        ListenerId(NEXT_LISTENER_ID.fetch_add(1, Ordering::Relaxed))
    }
}

/// One list of catch-all listeners, in the order they run.
#[derive(Default)]
pub(super) struct AnyListeners {
    listeners: Vec<(ListenerId, AnyListener)>,
}

impl AnyListeners {
    /// `onAny`: last to run.
    pub fn append(&mut self, listener: AnyListener) -> ListenerId {
        let id = ListenerId::next();
        self.listeners.push((id, listener));
        id
    }

    /// `prependAny`: first to run.
    pub fn prepend(&mut self, listener: AnyListener) -> ListenerId {
        let id = ListenerId::next();
        self.listeners.insert(0, (id, listener));
        id
    }

    /// `offAny(listener)`: that one listener; `offAny()`: every one.
    pub fn remove(&mut self, id: Option<ListenerId>) {
        match id {
            Some(id) => self.listeners.retain(|(each, _)| *each != id),
            None => self.listeners.clear(),
        }
    }

    /// No listener.
    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    /// `listenersAny()`: the ids, in the order the listeners run.
    pub fn ids(&self) -> Vec<ListenerId> {
        self.listeners.iter().map(|(id, _)| *id).collect()
    }

    /// A copy of the listeners, to call with no lock held (the reference's `slice()`: a
    /// listener that adds or removes listeners changes the next event, not this one).
    pub fn snapshot(&self) -> Vec<AnyListener> {
        self.listeners
            .iter()
            .map(|(_, listener)| Arc::clone(listener))
            .collect()
    }
}
