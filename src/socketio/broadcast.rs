//! Operators on many sockets at once: `io.to(room).emit(...)`, `io.except(room)`,
//! `socket.broadcast.emit(...)`, `io.timeout(ms).emit(..., cb)`, `io.fetchSockets()`,
//! `io.in(room).socketsJoin(...)` (the reference's `broadcast-operator.ts`: `BroadcastOperator`
//! and `RemoteSocket`).
//!
//! An operator is a value: rooms, rooms excepted, flags. Each call that acts hands them to the
//! namespace's adapter as `BroadcastOptions`, and the adapter finds the sockets:
//!
//! ```text
//! io.to("room1").emit("hi", 1)           adapter.broadcast: 42["hi",1] queued for every socket in room1
//! io.of("/custom").timeout(d).emit_with_ack("ask", [1], cb)
//!                                        adapter.broadcast_with_ack: 42/custom,12["ask",1] to each;
//!                                        each 43/custom,12[answer] is one response; cb(err, responses)
//!                                        once all came, or after d with "operation has timed out"
//! io.in_("room1").fetch_sockets()        adapter.fetch_sockets: handles on the sockets of room1
//! parent.to("room1").emit("hi")          a parent namespace's (`io.of(regex)`) adapter hands it to
//!                                        each child's: 42/dynamic-1,["hi"] to room1 of /dynamic-1,
//!                                        42/dynamic-2,["hi"] to room1 of /dynamic-2, ...
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use log::debug;
use serde_json::Value;
use serde_json::value::RawValue;

use super::adapter::{BroadcastFlags, BroadcastOptions, SocketDetails, TimeoutError};
use super::namespace::{Namespace, WeakNamespace};
use super::packet::Arg;
use super::socket::{EmitError, Handshake, Socket, event_packet};
use crate::sync::{lock, run_guarded};
use crate::timer::TimerId;

/// What `emit_with_ack` calls once: `(err, responses)`, the first argument of each client's ack;
/// `err` ("operation has timed out") when some did not answer in time, with the answers that came.
pub type BroadcastAckCallback = Box<dyn FnOnce(Option<TimeoutError>, Vec<Arg>) + Send>;

/// An operation on many sockets being built: which rooms, which not, which flags.
#[derive(Clone)]
pub struct BroadcastOperator {
    nsp: Namespace,
    rooms: Vec<String>,
    except: Vec<String>,
    flags: BroadcastFlags,
}

impl BroadcastOperator {
    /// To every socket of `nsp`.
    pub fn new(nsp: Namespace) -> BroadcastOperator {
        BroadcastOperator {
            nsp,
            rooms: Vec::new(),
            except: Vec::new(),
            flags: BroadcastFlags::default(),
        }
    }

    /// With these flags (a socket's `volatile()`/`timeout()` carried into `socket.to(...)`).
    pub(super) fn with_flags(mut self, flags: BroadcastFlags) -> BroadcastOperator {
        self.flags = flags;
        self
    }

    /// `.to(room)`: only sockets in `room`; several `to`s add up (a socket in two of them
    /// gets the packet once).
    pub fn to(mut self, room: &str) -> BroadcastOperator {
        add_room(&mut self.rooms, room);
        self
    }

    /// `.in(room)`: the same as `to` (reads better before `fetch_sockets`, `sockets_join`).
    pub fn in_(self, room: &str) -> BroadcastOperator {
        self.to(room)
    }

    /// `.except(room)`: not the sockets in `room` (a socket id is a room too).
    pub fn except(mut self, room: &str) -> BroadcastOperator {
        add_room(&mut self.except, room);
        self
    }

    /// `.local`: this server only (a cluster adapter does not tell the others).
    pub fn local(mut self) -> BroadcastOperator {
        self.flags.local = true;
        self
    }

    /// `.volatile`: a client that cannot take the packet at once does not get it (see
    /// `Socket::write_to_engine`).
    pub fn volatile(mut self) -> BroadcastOperator {
        self.flags.volatile = true;
        self
    }

    /// `.compress(compress)`: carried to the Engine.IO layer, where `false` keeps a polling answer
    /// that carries only such packets uncompressed (`engineio/compression.rs`).
    pub fn compress(mut self, compress: bool) -> BroadcastOperator {
        self.flags.compress = Some(compress);
        self
    }

    /// `.timeout(ms)`: how long `emit_with_ack` waits for the clients' acks.
    pub fn timeout(mut self, timeout: Duration) -> BroadcastOperator {
        self.flags.timeout = Some(timeout);
        self
    }

    /// The `BroadcastOptions` the adapter gets.
    pub fn options(&self) -> BroadcastOptions {
        BroadcastOptions {
            rooms: self.rooms.clone(),
            except: self.except.clone(),
            flags: self.flags.clone(),
        }
    }

    /// `.emit(event, ...args)`: encoded once, queued for every matching socket (a socket whose
    /// client does not read is skipped and disconnected by its full buffer, never waited for).
    /// `Err` only for a reserved event name.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        let packet = event_packet(self.nsp.name(), event, args, None)?;
        self.nsp.adapter().broadcast(&packet, &self.options());
        Ok(())
    }

    /// `.timeout(ms).emit(event, ...args, (err, responses) => ...)`: every matching client is
    /// asked for an ack; `callback` runs once, when all have answered (`None`, their answers)
    /// or when the timeout fires first (`Some(err)`, the answers that came). To nobody: at
    /// once, with no answers. Without `timeout` first the timeout is 0, as in the reference.
    ///
    /// The callback runs on the thread of the last answer (a client's reader), on `timers`
    /// for the timeout, or on this thread; a panic in it is logged and goes no further.
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Arg>,
        callback: impl FnOnce(Option<TimeoutError>, Vec<Arg>) + Send + 'static,
    ) -> Result<(), EmitError> {
        let packet = event_packet(self.nsp.name(), event, args, None)?;
        let timeout = self.flags.timeout.unwrap_or(Duration::ZERO);
        let collector = AckCollector::start(&self.nsp, timeout, Box::new(callback));
        let for_count = Arc::clone(&collector);
        let for_acks = Arc::clone(&collector);
        self.nsp.adapter().broadcast_with_ack(
            &packet,
            &self.options(),
            Arc::new(move |count| for_count.on_client_count(count)),
            Arc::new(move |answer| for_acks.on_ack(answer)),
        );
        let servers = self.nsp.adapter().server_count();
        collector.on_server_count(servers);
        Ok(())
    }

    /// `.fetchSockets()`: handles on the matching sockets (id, handshake, rooms, data; emit,
    /// join, leave, disconnect). May block: a cluster adapter waits for the other servers.
    pub fn fetch_sockets(&self) -> Result<Vec<RemoteSocket>, TimeoutError> {
        self.nsp.adapter().fetch_sockets(&self.options())
    }

    /// `.socketsJoin(rooms)`: the matching sockets join `rooms`.
    pub fn sockets_join(&self, rooms: &[&str]) {
        self.nsp.adapter().add_sockets(&self.options(), &owned(rooms));
    }

    /// `.socketsLeave(rooms)`: the matching sockets leave `rooms`.
    pub fn sockets_leave(&self, rooms: &[&str]) {
        self.nsp.adapter().del_sockets(&self.options(), &owned(rooms));
    }

    /// `.disconnectSockets(close)`: the matching sockets disconnect (`close`: their whole
    /// connection, every namespace).
    pub fn disconnect_sockets(&self, close: bool) {
        self.nsp.adapter().disconnect_sockets(&self.options(), close);
    }
}

/// Adds `room` to a set kept as a list.
fn add_room(rooms: &mut Vec<String>, room: &str) {
    if !rooms.iter().any(|r| r == room) {
        rooms.push(room.to_string());
    }
}

fn owned(rooms: &[&str]) -> Vec<String> {
    rooms.iter().map(|room| room.to_string()).collect()
}

/// The answers to one broadcast with acks, and when it is complete (the reference's
/// `checkCompleteness`): every server has said how many clients it asked, and that many
/// answers came.
struct AckCollector {
    /// To clear the timeout once complete (weak: a pending timer must not keep the server's
    /// `timers` thread alive through its own callback).
    nsp: WeakNamespace,
    state: Mutex<Collecting>,
}

struct Collecting {
    responses: Vec<Arg>,
    /// The sum of the servers' client counts so far.
    expected_clients: usize,
    /// How many servers have given their count.
    servers_counted: usize,
    /// `server_count()`, once known.
    expected_servers: Option<usize>,
    /// Taken by whoever completes: the answers, or the timeout.
    callback: Option<BroadcastAckCallback>,
    timer: Option<TimerId>,
}

impl AckCollector {
    /// Starts the timeout (before anything is sent, so that an answer always finds it).
    fn start(nsp: &Namespace, timeout: Duration, callback: BroadcastAckCallback) -> Arc<AckCollector> {
        let timer = nsp.timers().new_id();
        let collector = Arc::new(AckCollector {
            nsp: nsp.downgrade(),
            state: Mutex::new(Collecting {
                responses: Vec::new(),
                expected_clients: 0,
                servers_counted: 0,
                expected_servers: None,
                callback: Some(callback),
                timer: Some(timer),
            }),
        });
        // The timer holds the collector until it fires or is cleared (which drops it).
        let on_timeout = Arc::clone(&collector);
        nsp.timers()
            .set_timeout_with_id(timer, timeout, move || on_timeout.on_timeout());
        collector
    }

    fn on_client_count(&self, count: usize) {
        let mut state = lock(&self.state);
        state.expected_clients += count;
        state.servers_counted += 1;
        self.check(state);
    }

    fn on_server_count(&self, servers: usize) {
        let mut state = lock(&self.state);
        state.expected_servers = Some(servers);
        self.check(state);
    }

    fn on_ack(&self, answer: Arg) {
        let mut state = lock(&self.state);
        if state.callback.is_none() {
            return; // too late: the timeout has answered
        }
        state.responses.push(answer);
        self.check(state);
    }

    /// Complete? Then the callback runs, with the lock released.
    fn check(&self, mut state: std::sync::MutexGuard<'_, Collecting>) {
        let complete = state.callback.is_some()
            && state.expected_servers == Some(state.servers_counted)
            && state.responses.len() == state.expected_clients;
        if !complete {
            return;
        }
        let callback = state.callback.take();
        let responses = std::mem::take(&mut state.responses);
        let timer = state.timer.take();
        drop(state);
        if let (Some(timer), Some(nsp)) = (timer, self.nsp.upgrade()) {
            nsp.timers().clear_timeout(timer);
        }
        debug!("broadcast with ack: {} responses, complete", responses.len());
        if let Some(callback) = callback {
            run_guarded("a broadcast ack callback", || callback(None, responses));
        }
    }

    fn on_timeout(&self) {
        let (callback, responses) = {
            let mut state = lock(&self.state);
            (state.callback.take(), std::mem::take(&mut state.responses))
        };
        if let Some(callback) = callback {
            debug!(
                "broadcast with ack: operation has timed out, {} responses",
                responses.len()
            );
            run_guarded("a broadcast ack callback", || {
                callback(Some(TimeoutError::operation_timed_out()), responses)
            });
        }
    }
}

/// A socket `fetch_sockets` found, on this server or another (the reference's `RemoteSocket`;
/// for a local socket the reference gives the `Socket` itself). Its id and rooms as they were
/// when it was found, its handshake and data, and the operations that reach it wherever it is.
#[derive(Clone)]
pub struct RemoteSocket {
    nsp: Namespace,
    /// `socket.id`, held here rather than read through the socket: a handler that sorts 10,000
    /// handles by id (`examples/interop`'s `fetch-sockets`) compares ids about 130,000 times,
    /// and each read through a local socket was two pointers into memory gone cold (the
    /// socket, then its id); this is one.
    id: Arc<str>,
    /// The rooms it was in when found, in the order it joined them (a remote socket's as its
    /// server sent them). For a local socket the reference's are live (`socket.rooms` reads the
    /// adapter); ours were read with the ids, in the one pass `fetch_sockets` makes under the
    /// adapter's lock, where reading them live meant that lock and a lookup per socket (NOTES.md
    /// section 6).
    rooms: Vec<String>,
    found: Found,
}

#[derive(Clone)]
enum Found {
    /// A socket of this server: reads and acts on it directly.
    Local(Socket),
    /// A socket of another server, as it described it: acts through the adapter, as a
    /// broadcast to the room of its id. (Boxed: details are large, a local handle is a pointer.)
    Remote(Box<RemoteDetails>),
}

/// A socket of another server, as it described it. Its handshake, most of the bytes it sent
/// (headers, query, ...), may come as JSON text, read (`Handshake::from_json`) the first time
/// it is asked for: a handler that lists ids, rooms and data never reads a thousand of them.
#[derive(Clone)]
struct RemoteDetails {
    data: Value,
    handshake: OnceLock<Handshake>,
    /// The handshake's JSON as the other server wrote it, when it has not been read yet.
    handshake_text: Option<Box<RawValue>>,
}

impl RemoteDetails {
    fn handshake(&self) -> &Handshake {
        self.handshake.get_or_init(|| {
            let text = self.handshake_text.as_ref().map(|text| text.get()).unwrap_or("null");
            Handshake::from_json(&serde_json::from_str(text).unwrap_or(Value::Null))
        })
    }
}

impl RemoteSocket {
    /// A socket of this server, in `rooms` (what the in-memory adapter returns).
    pub fn local(socket: Socket, rooms: Vec<String>) -> RemoteSocket {
        RemoteSocket {
            nsp: socket.nsp().clone(),
            id: socket.shared_id(),
            rooms,
            found: Found::Local(socket),
        }
    }

    /// A socket of another server of the cluster, in namespace `nsp` (what a cluster adapter
    /// makes of a `FETCH_SOCKETS_RESPONSE`).
    pub fn remote(nsp: Namespace, details: SocketDetails) -> RemoteSocket {
        let id = Arc::from(details.id);
        let rooms = details.rooms;
        let details = RemoteDetails {
            data: details.data,
            handshake: OnceLock::from(details.handshake),
            handshake_text: None,
        };
        RemoteSocket {
            nsp,
            id,
            rooms,
            found: Found::Remote(Box::new(details)),
        }
    }

    /// The same with the handshake as the JSON text the other server sent (`{"headers":{...},
    /// "time":"...",...}`), read when `handshake()` is first called.
    pub fn remote_with_handshake_text(
        nsp: Namespace,
        id: String,
        handshake: Box<RawValue>,
        rooms: Vec<String>,
        data: Value,
    ) -> RemoteSocket {
        let details = RemoteDetails {
            data,
            handshake: OnceLock::new(),
            handshake_text: Some(handshake),
        };
        RemoteSocket {
            nsp,
            id: Arc::from(id),
            rooms,
            found: Found::Remote(Box::new(details)),
        }
    }

    /// `socket.id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `socket.handshake`.
    pub fn handshake(&self) -> &Handshake {
        match &self.found {
            Found::Local(socket) => socket.handshake(),
            Found::Remote(details) => details.handshake(),
        }
    }

    /// `socket.rooms`, as they were when it was found.
    pub fn rooms(&self) -> HashSet<String> {
        self.rooms.iter().cloned().collect()
    }

    /// `[...socket.rooms].sort()`: the rooms it was in when it was found, sorted (the order
    /// `details` gives them in).
    pub fn sorted_rooms(&self) -> Vec<String> {
        let mut rooms = self.rooms.clone();
        rooms.sort();
        rooms
    }

    /// `socket.data` (a local socket's as it is now).
    pub fn data(&self) -> Value {
        match &self.found {
            Found::Local(socket) => socket.data(),
            Found::Remote(details) => details.data.clone(),
        }
    }

    /// The local `Socket`, if it is one of this server's.
    pub fn local_socket(&self) -> Option<&Socket> {
        match &self.found {
            Found::Local(socket) => Some(socket),
            Found::Remote(_) => None,
        }
    }

    /// Id, handshake, rooms and data: what a cluster adapter sends another server that asked.
    pub fn details(&self) -> SocketDetails {
        SocketDetails {
            id: self.id().to_string(),
            handshake: self.handshake().clone(),
            rooms: self.sorted_rooms(),
            data: self.data(),
        }
    }

    /// `details()` as JSON (`SocketDetails::write_json_of`), written from the socket itself: no
    /// copy of its handshake (a dozen headers, the query) made to be written once and dropped.
    /// What a cluster adapter answers a REMOTE_FETCH with, for each of its sockets.
    pub fn write_details_json(&self, out: &mut Vec<u8>) {
        SocketDetails::write_json_of(out, self.id(), self.handshake(), &self.sorted_rooms(), &self.data());
    }

    /// An operator to this one socket (this server only, when it is local).
    fn operator(&self) -> BroadcastOperator {
        let operator = BroadcastOperator::new(self.nsp.clone()).to(self.id());
        match self.found {
            Found::Local(_) => operator.local(),
            Found::Remote(_) => operator,
        }
    }

    /// `socket.emit(event, ...args)`.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<(), EmitError> {
        match &self.found {
            Found::Local(socket) => socket.emit(event, args),
            Found::Remote(_) => self.operator().emit(event, args),
        }
    }

    /// `socket.timeout(ms)`: then `emit_with_ack(event, args, |err, responses| ...)`, whose
    /// `responses` holds this client's answer (the first argument of its ack) if it came.
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperator {
        self.operator().timeout(timeout)
    }

    /// `socket.join(room)`.
    pub fn join(&self, room: &str) {
        match &self.found {
            Found::Local(socket) => socket.join(room),
            Found::Remote(_) => self.operator().sockets_join(&[room]),
        }
    }

    /// `socket.leave(room)`.
    pub fn leave(&self, room: &str) {
        match &self.found {
            Found::Local(socket) => socket.leave(room),
            Found::Remote(_) => self.operator().sockets_leave(&[room]),
        }
    }

    /// `socket.disconnect(close)`.
    pub fn disconnect(&self, close: bool) {
        match &self.found {
            Found::Local(socket) => socket.disconnect(close),
            Found::Remote(_) => self.operator().disconnect_sockets(close),
        }
    }
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.found {
            Found::Local(_) => "local",
            Found::Remote(_) => "remote",
        };
        write!(f, "RemoteSocket({} on {}, {place})", self.id(), self.nsp.name())
    }
}
