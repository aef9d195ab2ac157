//! The in-memory adapter with connection state recovery (the reference's `SessionAwareAdapter`,
//! `in-memory-adapter.ts`): what the server uses when `connection_state_recovery` is on and no
//! other adapter was given.
//!
//! It is a [`MemoryAdapter`] for everything (rooms, operators) plus two things, per namespace:
//!
//! - **the log**: every event broadcast without an ack and not `volatile` (a direct
//!   `socket.emit` too: with recovery on it is `io.to(socket.id).emit`), from the moment it is
//!   emitted, with its [`Offset`] appended as its last argument. The log keeps the encoded
//!   messages (one copy per event, whatever the number of sockets) and the rooms it was for.
//! - **the sessions**: what a socket whose connection dropped leaves behind (`persist_session`:
//!   id, pid, rooms, data), by pid.
//!
//! ```text
//! io.to(id).emit("tick", 3)     log: [.., {offset "PhPmfU0", rooms [id], 42["tick",3,"PhPmfU0"]}]
//! (the connection drops)        sessions: {pid -> {sid: id, rooms: [id, "r"], data}}
//! io.to(id).emit("tick", 4)     log: [.., {offset "PhPmfU1", rooms [id], 42["tick",4,"PhPmfU1"]}]
//! 40{"pid":"<pid>","offset":"PhPmfU0"}   restore_session: the session, taken out
//!                               missed_packets: 42["tick",4,"PhPmfU1"], then 40{"sid":id,"pid":...}
//! ```
//!
//! **Bounded.** Sessions go `max_disconnection_duration` after their disconnection, events
//! `keep_events_for` after they were emitted: `max_disconnection_duration + pingInterval +
//! pingTimeout`, since a connection that died silently is noticed only at its ping timeout,
//! that long after the last event its client got (the reference drops events older than
//! `maxDisconnectionDuration`, but only in a sweep every 60 s, so in effect up to a minute
//! later). One timer on the `timers` thread drops them when the oldest of them is due (and is
//! set again for the next one; none while both are empty). And the log holds at most
//! `max_log_entries` events (the reference has no cap): past it the oldest go, with a warning,
//! and a client whose offset went with them gets a new socket, as for an offset never sent.
//!
//! **Exactly once, in order.** A restored socket is back in its rooms and its namespace before
//! `missed_packets` reads the log, and holds back every packet written to it until its missed
//! ones are out (`Socket::write_logged`): an event logged before that read is replayed (and its
//! live copy dropped, by its offset), one logged after it comes live.
//!
//! Threads: none of its own. The log's lock is held to take an offset and append (and to
//! search it for a restore), never while a socket is written to or user code runs.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use log::{debug, info, warn};

use super::offset::coarse_now_millis;
use super::{
    Adapter, AdapterEvents, BroadcastFlags, BroadcastOptions, ClientAckCallback, ClientCountCallback, MemoryAdapter,
    MissedPacket, MissedPackets, Offset, ServerSideEmitCallback, SessionToPersist, TimeoutError,
};
use crate::engineio::Message;
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::namespace::WeakNamespace;
use crate::socketio::packet::{Arg, Packet, PacketType};
use crate::socketio::parser::Parser;
use crate::socketio::server::ConnectionStateRecovery;
use crate::socketio::socket::Socket;
use crate::sync::lock;
use crate::timer::{TimerId, Timers};

/// How often, at most, the warning about dropped entries repeats.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(10);

/// How long after the first expiry the sweep runs: more than one tick of the coarse clock
/// the events are timed by (`coarse_now_millis`, 1 to 4 ms), so that it sees them expired.
const SWEEP_LATE_BY: Duration = Duration::from_millis(5);

/// One logged event (the reference's `PersistedPacket`). Aligned to a cache line, which it
/// fills (`an_entry_fits_in_a_cache_line`): a full log writes one entry per emit into memory
/// long gone cold, and an entry that straddled two lines would cost two misses.
#[repr(align(64))]
struct LoggedPacket {
    offset: Offset,
    /// Who it was for (the reference keeps the broadcast's `opts`).
    audience: Audience,
    /// The event as it went out, its offset the last argument.
    messages: LoggedMessages,
    // When it was emitted is `offset.millis` (the reference keeps `emittedAt: Date.now()`
    // beside its id; ours is the same clock read): a field less, and an entry fits in one
    // 64-byte cache line (`an_entry_fits_in_a_cache_line`).
}

/// Who a logged event was for.
enum Audience {
    /// A socket's own emit, `io.to(socket.id)`: the room of that id (`broadcast_to_socket`),
    /// the socket's own id shared.
    Room(Arc<str>),
    /// A broadcast's `opts.rooms` and `opts.except` (boxed: a socket's own emit is the usual
    /// entry, and this keeps every entry in one 64-byte cache line).
    Rooms(Box<Targets>),
}

/// A broadcast's rooms (every socket when empty) and the rooms it excepts.
struct Targets {
    rooms: Vec<String>,
    except: Vec<String>,
}

/// The log's copy of an event's messages: most events are one message (a text without
/// attachments, or one msgpack binary), kept as such, with no list around it. Every entry is
/// freed some time after it was written, so each allocation fewer counts.
enum LoggedMessages {
    One(Message),
    /// A text and its binary attachments.
    Several(Vec<Message>),
}

impl LoggedMessages {
    /// The log's copy of `messages`. A text event is copied into `old`'s buffer when `old` is
    /// a text event's whose buffer is not more than twice the size needed: once the log is
    /// full, every emit drops its oldest entry, and its buffer takes the new copy (no
    /// allocation now, and no free of memory written long ago by another thread).
    fn copy_of(messages: &[Message], old: Option<LoggedMessages>) -> (LoggedMessages, Option<LoggedMessages>) {
        match (messages, old) {
            ([Message::Text(text)], Some(LoggedMessages::One(Message::Text(mut buffer))))
                if buffer.capacity() <= 2 * text.len().max(64) =>
            {
                buffer.clear();
                buffer.push_str(text);
                (LoggedMessages::One(Message::Text(buffer)), None)
            }
            ([one], old) => (LoggedMessages::One(one.clone()), old),
            (several, old) => (LoggedMessages::Several(several.to_vec()), old),
        }
    }

    fn to_vec(&self) -> Vec<Message> {
        match self {
            LoggedMessages::One(one) => vec![one.clone()],
            LoggedMessages::Several(several) => several.clone(),
        }
    }
}

/// A session waiting for its client.
struct KeptSession {
    session: SessionToPersist,
    disconnected_at: Instant,
}

/// The log and the sessions of one namespace, under one lock.
#[derive(Default)]
struct Log {
    /// Oldest first; offsets strictly increasing.
    packets: VecDeque<LoggedPacket>,
    /// The newest offset given (kept when the log empties, so that offsets never repeat).
    last_offset: Option<Offset>,
    /// By pid.
    sessions: HashMap<String, KeptSession>,
    /// The pending sweep, if any.
    sweep: Option<TimerId>,
    /// Entries dropped by the cap since the last warning, and when that was (milliseconds
    /// since 1970).
    dropped_unwarned: usize,
    last_cap_warning: Option<u64>,
}

/// What the adapter and its sweep timer share (the timer holds it weakly: a pending sweep
/// does not keep a closed namespace's log alive).
struct Shared {
    log: Mutex<Log>,
    recovery: ConnectionStateRecovery,
    /// How long an event stays in the log (see the module's doc).
    keep_events_for: Duration,
    timers: Timers,
    /// The namespace's name, for the log lines.
    nsp: String,
}

/// The in-memory adapter of one namespace, with sessions and the log (see the module's doc).
pub struct SessionAwareAdapter {
    memory: MemoryAdapter,
    shared: Arc<Shared>,
}

impl SessionAwareAdapter {
    /// The adapter of `nsp` (what `AdapterFactory::session_aware` makes): sessions kept for
    /// `recovery.max_disconnection_duration`, events for `keep_events_for`.
    pub fn new(
        nsp: WeakNamespace,
        recovery: ConnectionStateRecovery,
        keep_events_for: Duration,
        timers: Timers,
    ) -> SessionAwareAdapter {
        let shared = Arc::new(Shared {
            log: Mutex::new(Log::default()),
            recovery,
            keep_events_for,
            timers,
            nsp: nsp.name().to_string(),
        });
        SessionAwareAdapter {
            memory: MemoryAdapter::new(nsp),
            shared,
        }
    }

    /// How many events the log holds now.
    pub fn logged_packets(&self) -> usize {
        lock(&self.shared.log).packets.len()
    }

    /// How many sessions wait for their client now.
    pub fn kept_sessions(&self) -> usize {
        lock(&self.shared.log).sessions.len()
    }
}

/// The reference's test: EVENT, no ack id, not volatile.
fn is_logged(packet: &Packet, flags: &BroadcastFlags) -> bool {
    packet.packet_type == PacketType::Event && packet.id.is_none() && !flags.volatile
}

/// The reference's `shouldIncludePacket`: a socket in `rooms` was meant to get `packet`.
fn is_for(rooms: &[String], packet: &LoggedPacket) -> bool {
    match &packet.audience {
        Audience::Room(room) => rooms.iter().any(|each| each.as_str() == &**room),
        Audience::Rooms(targets) => {
            let included = targets.rooms.is_empty() || rooms.iter().any(|room| targets.rooms.contains(room));
            let excluded = rooms.iter().any(|room| targets.except.contains(room));
            included && !excluded
        }
    }
}

impl Shared {
    /// Takes the next offset, encodes `packet` with it as its last argument
    /// (`Parser::encode_logged`: the packet itself is left as it is), logs it for `audience`
    /// (one copy of its messages), drops what the cap and the age say must go; returns the
    /// offset and the messages to send.
    fn append(self: &Arc<Self>, packet: &Packet, audience: Audience, parser: &dyn Parser) -> (Offset, Vec<Message>) {
        // One clock read per event, the coarse wall clock (see `coarse_now_millis`): the offset's
        // time and the expiry's, as the reference's one `Date.now()`.
        let now = coarse_now_millis();
        let mut log = lock(&self.log);
        let offset = Offset::next(log.last_offset, now);
        log.last_offset = Some(offset);
        let messages = parser.encode_logged(packet, offset);
        // What goes now (too old, or the oldest when the log is full: one entry per emit once
        // it has filled) is freed after the lock is released, as freeing an entry written a
        // while ago by another thread is most of what it costs; the last one to go past the cap
        // lends its buffer to this event's copy instead. Only the events here, on every emit;
        // the sessions are the sweep's (walking all of them on every emit would cost more the
        // more clients are away).
        let mut gone = Vec::new();
        self.take_expired_packets(&mut log, now, &mut gone);
        let oldest = self.make_room(&mut log, now, &mut gone);
        let (copy, unused) = LoggedMessages::copy_of(&messages, oldest.map(|oldest| oldest.messages));
        log.packets.push_back(LoggedPacket {
            offset,
            audience,
            messages: copy,
        });
        self.schedule_sweep(&mut log);
        drop(log);
        drop(gone);
        drop(unused);
        (offset, messages)
    }

    /// Takes out the events emitted more than `keep_events_for` before `now` (milliseconds
    /// since 1970; the oldest are at the front: this looks at one more than it takes).
    fn take_expired_packets(&self, log: &mut Log, now: u64, gone: &mut Vec<LoggedPacket>) {
        let keep = self.keep_events_for.as_millis() as u64;
        while let Some(oldest) = log.packets.front() {
            // A clock set back makes events look younger, never older (`saturating_sub`).
            if now.saturating_sub(oldest.offset.millis) <= keep {
                break;
            }
            gone.extend(log.packets.pop_front());
        }
    }

    /// Makes room for one more event under `max_log_entries`: takes out the oldest events past
    /// it, with a warning at most every `CAP_WARNING_EVERY`. Returns the last one taken out
    /// (its buffer is reused), the others go in `gone`.
    fn make_room(&self, log: &mut Log, now: u64, gone: &mut Vec<LoggedPacket>) -> Option<LoggedPacket> {
        let mut last_taken = None;
        let mut dropped = 0;
        while log.packets.len() >= self.recovery.max_log_entries {
            let Some(oldest) = log.packets.pop_front() else {
                break; // a cap of 0: the log keeps the newest event only
            };
            gone.extend(last_taken.replace(oldest));
            dropped += 1;
        }
        if dropped > 0 {
            self.warn_of_the_cap(log, dropped, now);
        }
        last_taken
    }

    /// The warning that the cap dropped events, at most every `CAP_WARNING_EVERY`.
    fn warn_of_the_cap(&self, log: &mut Log, dropped: usize, now: u64) {
        log.dropped_unwarned += dropped;
        let due = match log.last_cap_warning {
            Some(at) => now.saturating_sub(at) >= CAP_WARNING_EVERY.as_millis() as u64,
            None => true,
        };
        if due {
            warn!(
                "{}: the recovery log is full ({} events): dropped the {} oldest; a client that missed them gets a new socket",
                self.nsp, self.recovery.max_log_entries, log.dropped_unwarned
            );
            log.dropped_unwarned = 0;
            log.last_cap_warning = Some(now);
        }
    }

    /// Forgets the events emitted more than `keep_events_for` ago and the sessions
    /// disconnected more than `max_disconnection_duration` ago.
    fn drop_expired(&self, log: &mut Log, now: Instant, now_millis: u64) {
        let mut expired_packets = Vec::new();
        self.take_expired_packets(log, now_millis, &mut expired_packets);
        let max = self.recovery.max_disconnection_duration;
        let before = log.sessions.len();
        log.sessions
            .retain(|_, kept| now.duration_since(kept.disconnected_at) <= max);
        let expired = before - log.sessions.len();
        if expired > 0 {
            debug!("{}: {expired} sessions expired", self.nsp);
        }
    }

    /// Sets the sweep timer, unless one is pending, for when the first event or session
    /// expires. (A pending one is never later than needed: what is added later expires later.)
    /// Events are timed by the coarse wall clock (their offsets' milliseconds), sessions by an
    /// `Instant`; both become a delay from now.
    fn schedule_sweep(self: &Arc<Self>, log: &mut Log) {
        if log.sweep.is_some() {
            return;
        }
        let keep = self.keep_events_for.as_millis() as u64;
        let packet_due = log.packets.front().map(|packet| {
            let due_at = packet.offset.millis + keep;
            Duration::from_millis(due_at.saturating_sub(coarse_now_millis()))
        });
        let now = Instant::now();
        let session_due = log
            .sessions
            .values()
            .map(|kept| {
                let due_at = kept.disconnected_at + self.recovery.max_disconnection_duration;
                due_at.saturating_duration_since(now)
            })
            .min();
        let due = match (packet_due, session_due) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return,
        };
        // Past the deadline by more than one tick of the coarse clock (1 to 4 ms), so that
        // what expires then is expired when the sweep reads that clock.
        let delay = due + SWEEP_LATE_BY;
        let weak: Weak<Shared> = Arc::downgrade(self);
        log.sweep = Some(self.timers.set_timeout(delay, move || {
            if let Some(shared) = weak.upgrade() {
                shared.sweep();
            }
        }));
    }

    /// On `timers`: the sweep (the reference's 60 s `setInterval`).
    fn sweep(self: &Arc<Self>) {
        let now = Instant::now();
        let mut log = lock(&self.log);
        log.sweep = None;
        self.drop_expired(&mut log, now, coarse_now_millis());
        self.schedule_sweep(&mut log);
    }
}

impl Adapter for SessionAwareAdapter {
    fn server_count(&self) -> usize {
        self.memory.server_count()
    }

    fn add_all(&self, id: &str, rooms: &[String]) {
        self.memory.add_all(id, rooms)
    }

    fn del(&self, id: &str, room: &str) {
        self.memory.del(id, room)
    }

    fn del_all(&self, id: &str) {
        self.memory.del_all(id)
    }

    /// A logged event gets its offset, goes in the log, then to the sockets; anything else is
    /// the in-memory adapter's broadcast.
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        if !is_logged(packet, &opts.flags) {
            return self.memory.broadcast(packet, opts);
        }
        let Some(nsp) = self.memory.nsp().upgrade() else {
            return;
        };
        let packet = self.memory.own_packet(packet);
        let audience = Audience::Rooms(Box::new(Targets {
            rooms: opts.rooms.clone(),
            except: opts.except.clone(),
        }));
        let (offset, messages) = self.shared.append(&packet, audience, nsp.parser());
        self.memory.deliver(&packet, messages, opts, Some(offset));
    }

    /// `broadcast` to the room of `socket`'s id, for its own emit: logged for that room, then
    /// written to `socket` itself (`MemoryAdapter::deliver_to_socket`). Its packet is already
    /// this namespace's own (`Socket::emit_with_flags` made it).
    ///
    /// ```text
    /// socket.emit("message-back", 7)   log: [.., {offset "Q8rnB5t.3", Room(id), 42["message-back",7,"Q8rnB5t.3"]}]
    ///                                  socket: 42["message-back",7,"Q8rnB5t.3"]
    /// ```
    fn broadcast_to_socket(&self, socket: &Socket, packet: Packet, flags: &BroadcastFlags) {
        if !is_logged(&packet, flags) {
            let opts = BroadcastOptions::room_of(socket.id(), flags);
            return self.memory.broadcast(&packet, &opts);
        }
        let Some(nsp) = self.memory.nsp().upgrade() else {
            return;
        };
        let audience = Audience::Room(socket.shared_id());
        let (offset, messages) = self.shared.append(&packet, audience, nsp.parser());
        self.memory
            .deliver_to_socket(socket, &packet, messages, flags, Some(offset));
    }

    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        self.memory.broadcast_with_ack(packet, opts, client_count, ack)
    }

    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        self.memory.sockets(rooms)
    }

    fn socket_rooms(&self, id: &str) -> Option<HashSet<String>> {
        self.memory.socket_rooms(id)
    }

    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError> {
        self.memory.fetch_sockets(opts)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.memory.add_sockets(opts, rooms)
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.memory.del_sockets(opts, rooms)
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.memory.disconnect_sockets(opts, close)
    }

    fn server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideEmitCallback>) {
        self.memory.server_side_emit(event, args, ack)
    }

    /// Keeps the session for `max_disconnection_duration` (a second one under the same pid
    /// replaces the first).
    fn persist_session(&self, session: SessionToPersist) {
        let now = Instant::now();
        info!(
            "{}: keeping the session of socket {} for {} ms",
            self.shared.nsp,
            session.sid,
            self.shared.recovery.max_disconnection_duration.as_millis()
        );
        let mut log = lock(&self.shared.log);
        let pid = session.pid.clone();
        log.sessions.insert(
            pid,
            KeptSession {
                session,
                disconnected_at: now,
            },
        );
        self.shared.schedule_sweep(&mut log);
    }

    /// The session of `pid`, taken out (one restore per disconnection: a second client with
    /// the same pid gets a new socket), if it has not expired and `offset` is in the log.
    fn restore_session(&self, pid: &str, offset: &str) -> Option<SessionToPersist> {
        let now = Instant::now();
        let mut log = lock(&self.shared.log);
        let Some(kept) = log.sessions.get(pid) else {
            debug!("{}: no session for this pid (unknown, or expired)", self.shared.nsp);
            return None;
        };
        if now.duration_since(kept.disconnected_at) > self.shared.recovery.max_disconnection_duration {
            debug!(
                "{}: the session of socket {} has expired",
                self.shared.nsp, kept.session.sid
            );
            log.sessions.remove(pid);
            return None;
        }
        let known = match Offset::parse(offset) {
            Some(offset) => position(&log.packets, offset).is_some(),
            None => false,
        };
        if !known {
            // The reference keeps the session then: its client may still come back with an
            // offset the log holds.
            debug!(
                "{}: offset {offset:?} is not in the log (never sent, or dropped): no recovery for socket {}",
                self.shared.nsp, kept.session.sid
            );
            return None;
        }
        log.sessions.remove(pid).map(|kept| kept.session)
    }

    fn missed_packets(&self, offset: &str, rooms: &[String]) -> Option<MissedPackets> {
        let offset = Offset::parse(offset)?;
        let log = lock(&self.shared.log);
        let index = position(&log.packets, offset)?;
        let mut packets = Vec::new();
        for logged in log.packets.iter().skip(index + 1) {
            if is_for(rooms, logged) {
                packets.push(MissedPacket {
                    offset: logged.offset,
                    messages: logged.messages.to_vec(),
                });
            }
        }
        // `offset` is in the log, so the log is not empty.
        let newest = log.packets.back().map_or(offset, |packet| packet.offset);
        Some(MissedPackets { packets, newest })
    }

    fn rooms(&self) -> HashMap<String, HashSet<String>> {
        self.memory.rooms()
    }

    fn room_size(&self, room: &str) -> usize {
        self.memory.room_size(room)
    }

    fn events(&self) -> &AdapterEvents {
        self.memory.events()
    }
}

/// Where `offset` is in the log (a binary search: offsets only grow).
fn position(packets: &VecDeque<LoggedPacket>, offset: Offset) -> Option<usize> {
    packets.binary_search_by(|packet| packet.offset.cmp(&offset)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::adapter::{AdapterFactory, BroadcastFlags};
    use crate::socketio::namespace::Namespace;
    use crate::socketio::packet::PacketData;
    use serde_json::json;

    const SHORT: Duration = Duration::from_millis(50);

    /// A namespace `/` (in-memory adapter, no sockets) and a session-aware adapter of it.
    fn adapter(recovery: ConnectionStateRecovery, keep_events_for: Duration) -> (Namespace, SessionAwareAdapter) {
        let timers = Timers::start().unwrap();
        let nsp = Namespace::new(
            "/",
            timers.clone(),
            &AdapterFactory::in_memory(),
            Some(recovery.clone()),
            crate::socketio::parser::default_parser(),
        );
        let adapter = SessionAwareAdapter::new(nsp.downgrade(), recovery, keep_events_for, timers);
        (nsp, adapter)
    }

    fn event(name: &str) -> Packet {
        Packet {
            packet_type: PacketType::Event,
            nsp: "/".to_string(),
            id: None,
            data: PacketData::Args(vec![Arg::from(name)]),
        }
    }

    fn to(rooms: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|room| room.to_string()).collect(),
            ..BroadcastOptions::default()
        }
    }

    fn session(sid: &str, pid: &str, rooms: &[&str]) -> SessionToPersist {
        SessionToPersist {
            sid: sid.to_string(),
            pid: pid.to_string(),
            rooms: rooms.iter().map(|room| room.to_string()).collect(),
            data: json!({"n": 1}),
        }
    }

    /// The offsets of the events logged so far, oldest first.
    fn offsets(adapter: &SessionAwareAdapter) -> Vec<String> {
        let log = lock(&adapter.shared.log);
        log.packets.iter().map(|packet| packet.offset.to_string()).collect()
    }

    /// Polls `done` for up to 5 s.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "not within 5 s: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn logs_events_with_their_offset_last_and_nothing_else() {
        let (_nsp, adapter) = adapter(ConnectionStateRecovery::default(), Duration::from_secs(60));
        adapter.broadcast(&event("a"), &to(&[]));
        let mut with_ack = event("b");
        with_ack.id = Some(1);
        adapter.broadcast(&with_ack, &to(&[]));
        let volatile = BroadcastOptions {
            flags: BroadcastFlags {
                volatile: true,
                ..BroadcastFlags::default()
            },
            ..to(&[])
        };
        adapter.broadcast(&event("c"), &volatile);
        adapter.broadcast(&event("d"), &to(&["room"]));
        let logged = offsets(&adapter);
        assert_eq!(logged.len(), 2, "acks and volatile events are not logged");
        let log = lock(&adapter.shared.log);
        let first = &log.packets[0];
        assert_eq!(
            first.messages.to_vec(),
            vec![Message::Text(format!(r#"2["a","{}"]"#, logged[0]))]
        );
        assert!(log.packets[0].offset < log.packets[1].offset);
    }

    #[test]
    fn a_session_is_restored_once_with_what_its_rooms_missed() {
        let (_nsp, adapter) = adapter(ConnectionStateRecovery::default(), Duration::from_secs(60));
        adapter.broadcast(&event("seen"), &to(&[]));
        let seen = offsets(&adapter)[0].clone();
        adapter.persist_session(session("S", "P", &["S", "r"]));
        adapter.broadcast(&event("direct"), &to(&["S"]));
        adapter.broadcast(&event("other room"), &to(&["x"]));
        adapter.broadcast(&event("room r"), &to(&["r"]));
        let all_but_r = BroadcastOptions {
            except: vec!["r".to_string()],
            ..to(&[])
        };
        adapter.broadcast(&event("all but r"), &all_but_r);
        adapter.broadcast(&event("all"), &to(&[]));

        assert_eq!(adapter.restore_session("P", "never sent"), None);
        assert_eq!(adapter.restore_session("unknown", &seen), None);
        let restored = adapter.restore_session("P", &seen).expect("restored");
        assert_eq!(restored, session("S", "P", &["S", "r"]));
        assert_eq!(adapter.restore_session("P", &seen), None, "a session is restored once");

        let missed = adapter.missed_packets(&seen, &restored.rooms).unwrap();
        let names: Vec<String> = missed
            .packets
            .iter()
            .map(|packet| match &packet.messages[0] {
                Message::Text(text) => {
                    let args: serde_json::Value = serde_json::from_str(&text[1..]).unwrap();
                    args[0].as_str().unwrap().to_string()
                }
                Message::Binary(_) => panic!("text expected"),
            })
            .collect();
        assert_eq!(names, ["direct", "room r", "all"]);
        let all = offsets(&adapter);
        assert_eq!(missed.newest.to_string(), all[all.len() - 1]);
        assert_eq!(adapter.missed_packets("never sent", &restored.rooms), None);
    }

    #[test]
    fn an_event_with_attachments_is_replayed_whole() {
        let (_nsp, adapter) = adapter(ConnectionStateRecovery::default(), Duration::from_secs(60));
        adapter.broadcast(&event("seen"), &to(&[]));
        let mut file = event("file");
        if let PacketData::Args(args) = &mut file.data {
            args.push(Arg::Binary(vec![1, 2, 3]));
        }
        adapter.broadcast(&file, &to(&[]));
        let logged = offsets(&adapter);
        let missed = adapter.missed_packets(&logged[0], &[]).unwrap();
        assert_eq!(
            missed.packets[0].messages,
            vec![
                Message::Text(format!(
                    r#"51-["file",{{"_placeholder":true,"num":0}},"{}"]"#,
                    logged[1]
                )),
                Message::Binary(vec![1, 2, 3]),
            ]
        );
    }

    #[test]
    fn the_cap_drops_the_oldest() {
        let recovery = ConnectionStateRecovery {
            max_log_entries: 3,
            ..ConnectionStateRecovery::default()
        };
        let (_nsp, adapter) = adapter(recovery, Duration::from_secs(60));
        for name in ["1", "2", "3"] {
            adapter.broadcast(&event(name), &to(&[]));
        }
        let first_three = offsets(&adapter);
        adapter.persist_session(session("S", "P", &["S"]));
        adapter.broadcast(&event("4"), &to(&[]));
        let now = offsets(&adapter);
        assert_eq!(now.len(), 3);
        assert_eq!(now[..2], first_three[1..]);
        // The offset that went: no recovery (the session stays for a better offset).
        assert_eq!(adapter.restore_session("P", &first_three[0]), None);
        assert!(adapter.restore_session("P", &first_three[1]).is_some());
    }

    /// Once the log is full, each new event's copy is written into the buffer of the entry it
    /// drops: whatever the sizes, the log holds exactly the new events' texts.
    #[test]
    fn a_full_log_reuses_the_oldest_buffer_for_the_newest_event() {
        let recovery = ConnectionStateRecovery {
            max_log_entries: 2,
            ..ConnectionStateRecovery::default()
        };
        let (_nsp, adapter) = adapter(recovery, Duration::from_secs(60));
        let long = "x".repeat(300);
        for name in ["a", long.as_str(), "b", "c", long.as_str(), "d"] {
            adapter.broadcast(&event(name), &to(&[]));
        }
        let log = lock(&adapter.shared.log);
        let texts: Vec<Message> = log.packets.iter().flat_map(|packet| packet.messages.to_vec()).collect();
        let offsets: Vec<String> = log.packets.iter().map(|packet| packet.offset.to_text()).collect();
        assert_eq!(
            texts,
            vec![
                Message::Text(format!(r#"2["{long}","{}"]"#, offsets[0])),
                Message::Text(format!(r#"2["d","{}"]"#, offsets[1])),
            ]
        );
    }

    /// Once the log is full every emit writes one entry where memory has long gone cold (an
    /// entry is written once and read again only when it is dropped, 100,000 events later):
    /// one cache line each, not two.
    #[test]
    fn an_entry_fits_in_a_cache_line() {
        assert_eq!(std::mem::size_of::<LoggedPacket>(), 64);
        assert_eq!(std::mem::align_of::<LoggedPacket>(), 64);
    }

    #[test]
    fn a_cap_of_0_keeps_the_newest_event() {
        let recovery = ConnectionStateRecovery {
            max_log_entries: 0,
            ..ConnectionStateRecovery::default()
        };
        let (_nsp, adapter) = adapter(recovery, Duration::from_secs(60));
        for name in ["a", "b", "c"] {
            adapter.broadcast(&event(name), &to(&[]));
        }
        assert_eq!(adapter.logged_packets(), 1);
    }

    #[test]
    fn sessions_and_events_expire_on_the_timers_thread() {
        let recovery = ConnectionStateRecovery {
            max_disconnection_duration: SHORT,
            ..ConnectionStateRecovery::default()
        };
        let (_nsp, adapter) = adapter(recovery, SHORT * 2);
        adapter.broadcast(&event("a"), &to(&[]));
        let offset = offsets(&adapter)[0].clone();
        adapter.persist_session(session("S", "P", &["S"]));
        assert_eq!((adapter.kept_sessions(), adapter.logged_packets()), (1, 1));
        // Nothing calls the adapter from here: only its timer can empty it.
        eventually("the session expires", || adapter.kept_sessions() == 0);
        eventually("the event expires", || adapter.logged_packets() == 0);
        assert_eq!(
            lock(&adapter.shared.log).sweep,
            None,
            "no timer left once both are empty"
        );
        assert_eq!(adapter.restore_session("P", &offset), None);
        // Past its duration a session is refused, whether its timer has run yet or not.
        adapter.broadcast(&event("b"), &to(&[]));
        let offset = offsets(&adapter)[0].clone();
        adapter.persist_session(session("S", "P", &["S"]));
        std::thread::sleep(SHORT + Duration::from_millis(5));
        assert_eq!(adapter.restore_session("P", &offset), None);
    }
}
