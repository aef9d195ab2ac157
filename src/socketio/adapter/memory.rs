//! The in-memory adapter: one server's rooms (the reference's `Adapter`, `in-memory-adapter.ts`).
//!
//! Two maps kept in step under one lock: room -> socket ids, and socket id -> its rooms. Every
//! socket is in the room named after its own id, which is how `io.to(socketId).emit(...)`
//! reaches one socket.
//!
//! Every operation on "the sockets that match" is the reference's `apply`: under the lock, the
//! ids that match; with the lock released, their `Socket`s from the namespace; then the work on
//! each (queue a packet, join a room, disconnect), with no lock held.
//!
//! A cluster adapter wraps one of these and calls it for this server's part; its methods are the
//! *local entry points*: `broadcast`/`broadcast_with_ack` deliver to local clients only,
//! `fetch_sockets` lists local sockets only (`RemoteSocket::details` gives what to send back),
//! `add_sockets`/`del_sockets`/`disconnect_sockets` act on local sockets only, and
//! `Namespace::on_server_side_emit` runs the namespace's listeners. None needs a lock of the
//! caller's, and none waits for anything.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{debug, warn};

use super::{
    Adapter, AdapterEvents, BroadcastFlags, BroadcastOptions, ClientAckCallback, ClientCountCallback, Offset,
    RoomEvent, ServerSideEmitCallback, TimeoutError,
};
use crate::engineio::Message;
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::namespace::WeakNamespace;
use crate::socketio::packet::{Arg, Packet};
use crate::socketio::socket::Socket;
use crate::sync::lock;

/// The two maps. A socket's id is one `Arc<str>` shared by its entry in `sids` and its place
/// in each room it is in: `apply` (every broadcast, every `fetch_sockets`) takes the ids it
/// visits out of the lock as `Arc`s, a count raised, where a `String` each was a copy to
/// allocate and free (5,000 per broadcast to 5,000 clients).
#[derive(Debug, Default)]
struct Rooms {
    /// `rooms`: room name -> ids of the sockets in it.
    rooms: HashMap<String, HashSet<Arc<str>>>,
    /// `sids`: socket id -> the rooms it is in, in the order it joined them (as the reference's
    /// `Set`, so that `del_all` tells `leave-room` in that order). A socket is in few rooms.
    sids: HashMap<Arc<str>, Vec<String>>,
}

/// Capacity below which [`shrink_when_mostly_empty`] leaves a map alone.
const SHRINK_FROM_CAPACITY: usize = 1_024;

/// Shrinks `map` to twice what it holds once it holds less than a quarter of its capacity (a
/// capacity of [`SHRINK_FROM_CAPACITY`] or more): called as a socket leaves all its rooms.
///
/// Why: a `HashMap` never shrinks by itself, so `rooms` and `sids` (an entry each per connected
/// socket: its own room, and its list of rooms) kept the capacity of the most sockets ever
/// connected at once, 120 bytes a socket, resident. In the soak (NOTES.md section 7, "The soak")
/// a moment with more sockets at once than in the first 10,000 sessions doubled both to 8,192
/// buckets (588 and 396 kB) and the RSS at rest kept them. A shrink rehashes what is left, and
/// the next comes after the map has halved again: one rehash per entry removed, at most.
fn shrink_when_mostly_empty<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    let capacity = map.capacity();
    if capacity >= SHRINK_FROM_CAPACITY && map.len() < capacity / 4 {
        map.shrink_to(map.len() * 2);
    }
}

impl Rooms {
    /// `addAll`, recording the events when `record`.
    fn add_all(&mut self, id: &str, rooms: &[String], record: bool, events: &mut Vec<RoomEvent>) {
        let shared_id: Arc<str> = match self.sids.get_key_value(id) {
            Some((known, _)) => Arc::clone(known),
            None => Arc::from(id),
        };
        let joined = self.sids.entry(Arc::clone(&shared_id)).or_default();
        for room in rooms {
            if !joined.contains(room) {
                joined.push(room.clone());
            }
            let members = match self.rooms.get_mut(room) {
                Some(members) => members,
                None => {
                    if record {
                        events.push(RoomEvent::CreateRoom(room.clone()));
                    }
                    self.rooms.entry(room.clone()).or_default()
                }
            };
            if members.insert(Arc::clone(&shared_id)) && record {
                events.push(RoomEvent::JoinRoom {
                    room: room.clone(),
                    id: id.to_string(),
                });
            }
        }
    }

    /// The reference's `_del`: `id` out of the members of `room`; an empty room disappears.
    fn del_member(&mut self, room: &str, id: &str, record: bool, events: &mut Vec<RoomEvent>) {
        let Some(members) = self.rooms.get_mut(room) else {
            return;
        };
        if members.remove(id) && record {
            events.push(RoomEvent::LeaveRoom {
                room: room.to_string(),
                id: id.to_string(),
            });
        }
        if members.is_empty() {
            self.rooms.remove(room);
            if record {
                events.push(RoomEvent::DeleteRoom(room.to_string()));
            }
        }
    }

    /// The reference's `computeExceptSids`.
    fn except_ids(&self, except: &[String]) -> HashSet<&str> {
        let mut excluded = HashSet::new();
        for room in except {
            if let Some(members) = self.rooms.get(room) {
                for id in members {
                    excluded.insert(&**id);
                }
            }
        }
        excluded
    }

    /// The ids `apply` visits: those in any of `rooms` (every socket when `rooms` is empty),
    /// minus those in any of `except`, each once.
    fn matching_ids(&self, rooms: &[String], except: &[String]) -> Vec<Arc<str>> {
        let excluded = self.except_ids(except);
        let mut chosen = Vec::new();
        if rooms.is_empty() {
            chosen.reserve(self.sids.len());
            for id in self.sids.keys() {
                if !excluded.contains(&**id) {
                    chosen.push(Arc::clone(id));
                }
            }
            return chosen;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for room in rooms {
            if let Some(members) = self.rooms.get(room) {
                for id in members {
                    if !excluded.contains(&**id) && seen.insert(&**id) {
                        chosen.push(Arc::clone(id));
                    }
                }
            }
        }
        chosen
    }

    /// The ids `apply` visits, each with the rooms it is in (in the order it joined them), read
    /// in the same pass under the lock: what `fetch_sockets` hands out. With no room named, the
    /// ids and their rooms are the entries of `sids`, visited in place (no lookup per socket).
    fn matching_with_rooms(&self, rooms: &[String], except: &[String]) -> Vec<(Arc<str>, Vec<String>)> {
        let mut chosen = Vec::new();
        if rooms.is_empty() {
            let excluded = self.except_ids(except);
            chosen.reserve(self.sids.len());
            for (id, joined) in &self.sids {
                if !excluded.contains(&**id) {
                    chosen.push((Arc::clone(id), joined.clone()));
                }
            }
            return chosen;
        }
        for id in self.matching_ids(rooms, except) {
            if let Some(joined) = self.sids.get(&*id) {
                let joined = joined.clone();
                chosen.push((id, joined));
            }
        }
        chosen
    }
}

/// The in-memory adapter of one namespace (see the module's doc).
pub struct MemoryAdapter {
    nsp: WeakNamespace,
    rooms: Mutex<Rooms>,
    events: AdapterEvents,
}

/// `deliver` reads the first bytes of this many sockets, then writes to them (a few kB of
/// memory: they are still in the processor's cache when their turn comes).
const PREFETCH_GROUP: usize = 32;

impl MemoryAdapter {
    /// The adapter of the namespace `nsp` (what `AdapterFactory::in_memory` makes).
    pub fn new(nsp: WeakNamespace) -> MemoryAdapter {
        MemoryAdapter {
            nsp,
            rooms: Mutex::new(Rooms::default()),
            events: AdapterEvents::default(),
        }
    }

    /// The namespace this adapter serves.
    pub fn nsp(&self) -> &WeakNamespace {
        &self.nsp
    }

    /// The reference's `apply`: the connected sockets that match `opts`, looked up with no lock
    /// held once the ids are known.
    ///
    /// With no room and no exception (`io.emit`), the namespace's sockets as they are: the
    /// reference visits the ids of `sids` and looks each up in `nsp.sockets`, which gives the
    /// same sockets (a connected socket is in `sids` from its `_onconnect` to its `_onclose`),
    /// here without an id copied and looked up per socket.
    fn apply(&self, opts: &BroadcastOptions) -> Vec<Socket> {
        let Some(nsp) = self.nsp.upgrade() else {
            return Vec::new();
        };
        if opts.rooms.is_empty() && opts.except.is_empty() {
            return nsp.sockets();
        }
        let ids = lock(&self.rooms).matching_ids(&opts.rooms, &opts.except);
        nsp.sockets_with_ids(&ids)
    }

    /// The packet as this namespace sends it (its `nsp` set to ours, as the reference does).
    pub(super) fn own_packet(&self, packet: &Packet) -> Packet {
        let mut packet = packet.clone();
        packet.nsp = self.nsp.name().to_string();
        packet
    }

    /// The second half of `broadcast`: `packet`, already encoded as `messages`, written to each
    /// matching socket (`write_logged`: at once to a WebSocket that is writable, the same
    /// messages for all, else queued on the session; a `volatile` one is dropped for a client
    /// that cannot take it now). `offset`: the packet's place in the recovery log, if it was
    /// logged (a socket being restored holds it back until its missed packets are out).
    ///
    /// The sockets go by groups of `PREFETCH_GROUP`: first a read of where each write starts
    /// (`Socket::prefetch_for_write`), then the writes. Each write ends in a system call, which
    /// leaves the processor nothing to do meanwhile; reading 32 sockets' first bytes in a row
    /// lets it fetch them from memory all at once, where the writes alone would wait for each
    /// socket's, one after the other (the samples of the functions it touches went down by a
    /// third: NOTES.md section 7, "Two servers on one Redis", 2026-12-03).
    pub(super) fn deliver(
        &self,
        packet: &Packet,
        messages: Vec<Message>,
        opts: &BroadcastOptions,
        offset: Option<Offset>,
    ) {
        let sockets = self.apply(opts);
        for group in sockets.chunks(PREFETCH_GROUP) {
            for socket in group {
                socket.prefetch_for_write();
            }
            for socket in group {
                socket.notify_outgoing_listeners(packet, offset);
                // A closed or full session is the socket's own business (it is closing).
                let _ = socket.write_logged(offset, Cow::Borrowed(&messages), &opts.flags);
            }
        }
    }

    /// `deliver` for `io.to(socket.id)` when the caller holds that socket (its own emit,
    /// `SessionAwareAdapter::broadcast_to_socket`): straight to it when it is the one socket
    /// that room reaches, which is the usual case; otherwise (it left the room of its id,
    /// another socket joined it, it is not connected) `deliver`'s lookups decide.
    pub(super) fn deliver_to_socket(
        &self,
        socket: &Socket,
        packet: &Packet,
        messages: Vec<Message>,
        flags: &BroadcastFlags,
        offset: Option<Offset>,
    ) {
        if self.reaches_only(socket) {
            socket.notify_outgoing_listeners(packet, offset);
            // As in `deliver`: a closed or full session is the socket's own business.
            let _ = socket.write_logged(offset, Cow::Owned(messages), flags);
            return;
        }
        let opts = BroadcastOptions::room_of(socket.id(), flags);
        self.deliver(packet, messages, &opts, offset);
    }

    /// Whether `io.to(socket.id)` reaches `socket` and no other: the room named after its id
    /// holds it alone, and it is connected (so it is the namespace's socket of that id, the
    /// one `apply` would find).
    fn reaches_only(&self, socket: &Socket) -> bool {
        let id = socket.id();
        let alone_in_its_room = match lock(&self.rooms).rooms.get(id) {
            Some(members) => members.len() == 1 && members.iter().all(|member| &**member == id),
            None => false,
        };
        alone_in_its_room && socket.connected()
    }
}

impl Adapter for MemoryAdapter {
    fn server_count(&self) -> usize {
        1
    }

    fn add_all(&self, id: &str, rooms: &[String]) {
        let record = self.events.has_listeners();
        let mut events = Vec::new();
        lock(&self.rooms).add_all(id, rooms, record, &mut events);
        self.events.emit(events);
    }

    fn del(&self, id: &str, room: &str) {
        let record = self.events.has_listeners();
        let mut events = Vec::new();
        {
            let mut rooms = lock(&self.rooms);
            if let Some(joined) = rooms.sids.get_mut(id) {
                joined.retain(|r| r != room);
            }
            rooms.del_member(room, id, record, &mut events);
        }
        self.events.emit(events);
    }

    fn del_all(&self, id: &str) {
        let record = self.events.has_listeners();
        let mut events = Vec::new();
        {
            let mut rooms = lock(&self.rooms);
            let Some(joined) = rooms.sids.remove(id) else {
                return;
            };
            for room in joined {
                rooms.del_member(&room, id, record, &mut events);
            }
            shrink_when_mostly_empty(&mut rooms.sids);
            shrink_when_mostly_empty(&mut rooms.rooms);
        }
        self.events.emit(events);
    }

    /// Encodes the packet once and queues it on each matching socket's session (`deliver`).
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        let Some(nsp) = self.nsp.upgrade() else {
            return;
        };
        let packet = self.own_packet(packet);
        let messages = nsp.parser().encode(&packet);
        self.deliver(&packet, messages, opts, None);
    }

    /// One ack id for every socket (the namespace's counter, so it is unique on each socket),
    /// registered on each socket before its packet is queued:
    ///
    /// ```text
    /// 42/custom,12["ask",1]   to each matching client of /custom
    /// 43/custom,12["yes"]     from each: `ack(Json("yes"))`
    /// ```
    ///
    /// After `opts.flags.timeout` the ids still waiting are forgotten (the reference's operator
    /// does it on its timeout), so that a client that never answers holds nothing.
    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        let Some(nsp) = self.nsp.upgrade() else {
            client_count(0);
            return;
        };
        let mut packet = self.own_packet(packet);
        let id = nsp.next_ack_id();
        packet.id = Some(id);
        let messages = nsp.parser().encode_broadcast_with_ack(&packet);
        let mut count = 0;
        for socket in self.apply(opts) {
            // A socket that closed since `apply` will not answer: it is not counted.
            if !socket.add_broadcast_ack(id, ack.clone()) {
                continue;
            }
            count += 1;
            socket.notify_outgoing_listeners(&packet, None);
            let _ = socket.write_to_engine(Cow::Borrowed(&messages), &opts.flags);
        }
        debug!("{}: broadcast with ack id {id} to {count} clients", nsp.name());
        client_count(count);
        let timeout = opts.flags.timeout.unwrap_or(Duration::ZERO);
        let weak = self.nsp.clone();
        nsp.timers().set_timeout(timeout, move || {
            if let Some(nsp) = weak.upgrade() {
                for socket in nsp.sockets() {
                    socket.forget_ack(id);
                }
            }
        });
    }

    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        let ids = lock(&self.rooms).matching_ids(rooms, &[]);
        ids.iter().map(|id| id.to_string()).collect()
    }

    fn socket_rooms(&self, id: &str) -> Option<HashSet<String>> {
        let rooms = lock(&self.rooms);
        rooms.sids.get(id).map(|joined| joined.iter().cloned().collect())
    }

    /// This server's matching sockets, as handles (`RemoteSocket::local`) holding the rooms each
    /// was in at this moment, read with the ids in one pass under the lock.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError> {
        let matching = lock(&self.rooms).matching_with_rooms(&opts.rooms, &opts.except);
        let Some(nsp) = self.nsp.upgrade() else {
            return Ok(Vec::new());
        };
        let mut fetched = Vec::with_capacity(matching.len());
        for (socket, rooms) in nsp.sockets_with_ids_and_rooms(matching) {
            fetched.push(RemoteSocket::local(socket, rooms));
        }
        Ok(fetched)
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for socket in self.apply(opts) {
            socket.join_all(rooms);
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        for socket in self.apply(opts) {
            for room in rooms {
                socket.leave(room);
            }
        }
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        for socket in self.apply(opts) {
            socket.disconnect(close);
        }
    }

    /// One server: nobody to tell. The reference logs this warning and, with an ack, never
    /// calls it; here the ack gets no error and no responses at once, as a cluster adapter
    /// that is alone answers (see NOTES.md, "Where we differ").
    fn server_side_emit(&self, event: &str, _args: Vec<Arg>, ack: Option<ServerSideEmitCallback>) {
        warn!("this adapter does not support the serverSideEmit() functionality ({event:?} not sent)");
        if let Some(ack) = ack {
            crate::sync::run_guarded("a serverSideEmitWithAck callback", || ack(None, Vec::new()));
        }
    }

    fn rooms(&self) -> HashMap<String, HashSet<String>> {
        let rooms = lock(&self.rooms);
        let mut copy = HashMap::with_capacity(rooms.rooms.len());
        for (room, members) in &rooms.rooms {
            copy.insert(room.clone(), members.iter().map(|id| id.to_string()).collect());
        }
        copy
    }

    fn room_size(&self, room: &str) -> usize {
        lock(&self.rooms).rooms.get(room).map_or(0, HashSet::len)
    }

    fn events(&self) -> &AdapterEvents {
        &self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(ids: Vec<Arc<str>>) -> Vec<String> {
        let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        ids.sort();
        ids
    }

    fn rooms(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn a_map_that_empties_gives_its_capacity_back() {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for n in 0..5_000 {
            map.insert(n.to_string(), Vec::new());
        }
        for n in 0..5_000 {
            map.remove(&n.to_string());
            shrink_when_mostly_empty(&mut map);
            if n == 2_500 {
                assert!(map.capacity() >= 5_000, "half full: capacity {}", map.capacity());
            }
        }
        assert!(
            map.capacity() < SHRINK_FROM_CAPACITY,
            "capacity {} once empty",
            map.capacity()
        );
    }

    #[test]
    fn rooms_and_matching_ids() {
        let mut state = Rooms::default();
        let mut events = Vec::new();
        for id in ["a", "b", "c"] {
            state.add_all(id, &rooms(&[id]), false, &mut events);
        }
        state.add_all("a", &rooms(&["room"]), false, &mut events);
        state.add_all("b", &rooms(&["room"]), false, &mut events);
        assert_eq!(sorted(state.matching_ids(&[], &[])), vec!["a", "b", "c"]);
        assert_eq!(sorted(state.matching_ids(&rooms(&["room"]), &[])), vec!["a", "b"]);
        assert_eq!(sorted(state.matching_ids(&rooms(&["room"]), &rooms(&["a"]))), vec!["b"]);
        assert_eq!(sorted(state.matching_ids(&[], &rooms(&["room"]))), vec!["c"]);
        assert_eq!(
            sorted(state.matching_ids(&rooms(&["room", "a", "nowhere"]), &[])),
            vec!["a", "b"]
        );
        assert!(events.is_empty(), "nothing recorded when nobody listens");
    }

    /// What `fetch_sockets` reads: the same ids as `matching_ids`, each with its rooms in the
    /// order it joined them, by both of its ways (no room named: `sids` in place; rooms named).
    #[test]
    fn matching_with_rooms_gives_the_matching_ids_with_their_rooms() {
        let mut state = Rooms::default();
        let mut events = Vec::new();
        for id in ["a", "b", "c"] {
            state.add_all(id, &rooms(&[id]), false, &mut events);
        }
        state.add_all("a", &rooms(&["room", "z"]), false, &mut events);
        state.add_all("b", &rooms(&["room"]), false, &mut events);
        let listed = |found: Vec<(Arc<str>, Vec<String>)>| {
            let mut found: Vec<(String, Vec<String>)> =
                found.into_iter().map(|(id, joined)| (id.to_string(), joined)).collect();
            found.sort();
            found
        };
        let a = ("a".to_string(), rooms(&["a", "room", "z"]));
        let b = ("b".to_string(), rooms(&["b", "room"]));
        let c = ("c".to_string(), rooms(&["c"]));
        assert_eq!(
            listed(state.matching_with_rooms(&[], &[])),
            vec![a.clone(), b.clone(), c.clone()]
        );
        assert_eq!(
            listed(state.matching_with_rooms(&[], &rooms(&["z"]))),
            vec![b.clone(), c]
        );
        assert_eq!(
            listed(state.matching_with_rooms(&rooms(&["room"]), &[])),
            vec![a, b.clone()]
        );
        assert_eq!(
            listed(state.matching_with_rooms(&rooms(&["room"]), &rooms(&["a"]))),
            vec![b]
        );
        assert!(state.matching_with_rooms(&rooms(&["nowhere"]), &[]).is_empty());
    }

    #[test]
    fn events_in_the_reference_order() {
        let mut state = Rooms::default();
        let mut events = Vec::new();
        state.add_all("a", &rooms(&["a", "r"]), true, &mut events);
        state.add_all("b", &rooms(&["r"]), true, &mut events);
        state.add_all("b", &rooms(&["r"]), true, &mut events); // already in: nothing
        let joined = state.sids.remove("a").unwrap();
        for room in joined {
            state.del_member(&room, "a", true, &mut events);
        }
        state.del_member("r", "b", true, &mut events);
        let join = |room: &str, id: &str| RoomEvent::JoinRoom {
            room: room.into(),
            id: id.into(),
        };
        let leave = |room: &str, id: &str| RoomEvent::LeaveRoom {
            room: room.into(),
            id: id.into(),
        };
        assert_eq!(
            events,
            vec![
                RoomEvent::CreateRoom("a".into()),
                join("a", "a"),
                RoomEvent::CreateRoom("r".into()),
                join("r", "a"),
                join("r", "b"),
                leave("a", "a"),
                RoomEvent::DeleteRoom("a".into()),
                leave("r", "a"),
                leave("r", "b"),
                RoomEvent::DeleteRoom("r".into()),
            ]
        );
        assert!(state.rooms.is_empty());
    }
}
