//! The adapter of a namespace: its rooms, and every operation that reaches "the sockets that match"
//! (the reference's `socket.io-adapter` package, `Adapter` in `in-memory-adapter.ts`).
//!
//! | file        | what                                                                  | reference                     |
//! |-------------|-----------------------------------------------------------------------|-------------------------------|
//! | `mod.rs`    | the `Adapter` trait, `BroadcastOptions`, the room events, the factory | `in-memory-adapter.ts` (types)|
//! | `memory.rs` | `MemoryAdapter`: rooms in two maps, one server (the default)          | `Adapter`                     |
//! | `parent.rs` | `ParentAdapter`: a parent namespace's, hands broadcasts to its children | `ParentBroadcastAdapter` (`parent-namespace.ts`) |
//! | `redis/`    | `ClassicAdapter`, `ShardedAdapter`: several servers on one Redis (`--redis`) | `@socket.io/redis-adapter` |
//! | `session_aware.rs` | `SessionAwareAdapter`: the in-memory one plus connection state recovery (sessions, the log of events) | `SessionAwareAdapter` |
//! | `offset.rs` | `Offset`: the id appended to each logged event                          | `contrib/yeast.ts`            |
//!
//! Every operator of the layer above goes through it: `socket.join` is `add_all`,
//! `io.to("r").emit(...)` is `broadcast`, `io.timeout(d).emit(..., cb)` is `broadcast_with_ack`,
//! `io.fetchSockets()` is `fetch_sockets`, and so on. A cluster adapter (Redis) is a second
//! implementation that *wraps* a [`MemoryAdapter`] (composition, where the reference's
//! `ClusterAdapter` extends `Adapter`): it tells the other servers, then calls the wrapped one for
//! the sockets of this server. Nothing above the trait changes.
//!
//! ```text
//! io.to("room1").except("room2").volatile().emit("hi", 1)
//!   -> adapter.broadcast(Packet 2["hi",1] on "/", BroadcastOptions { rooms: ["room1"],
//!                                                   except: ["room2"], flags: { volatile } })
//!   -> MemoryAdapter: the sockets of room1 that are not in room2, `42["hi",1]` queued on each
//! ```

mod memory;
mod offset;
mod parent;
pub mod redis;
mod session_aware;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use super::broadcast::RemoteSocket;
use super::namespace::WeakNamespace;
use super::packet::{Arg, Packet};
use super::server::ConnectionStateRecovery;
use super::socket::{Handshake, Socket};
use crate::engineio::Message;
use crate::sync::lock;
use crate::timer::Timers;

pub use memory::MemoryAdapter;
pub use offset::Offset;
pub use parent::ParentAdapter;
pub use session_aware::SessionAwareAdapter;

/// The reference's `BroadcastFlags`: how an emit is to be delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// `volatile`: dropped for a client that cannot take it at once (see `Socket::write_to_engine`).
    pub volatile: bool,
    /// `compress(bool)`: `None` means the default, `true`.
    pub compress: Option<bool>,
    /// `local`: this server only; a cluster adapter does not tell the others.
    pub local: bool,
    /// `broadcast`: set by the reference's old `socket.broadcast` flag; carried, not read.
    pub broadcast: bool,
    /// `binary`: carried, not read (the encoder finds binary arguments itself).
    pub binary: bool,
    /// `timeout(d)`: how long a broadcast with acks waits for the clients (`None`: 0, as the
    /// reference's `setTimeout(fn, undefined)`).
    pub timeout: Option<Duration>,
}

/// The reference's `BroadcastOptions`: which sockets (`rooms`, `except`) and how (`flags`).
///
/// `rooms` and `except` are sets, kept as lists in the order added (no room twice): a socket
/// matches if it is in any of `rooms` (or `rooms` is empty: every socket) and in none of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    pub rooms: Vec<String>,
    pub except: Vec<String>,
    pub flags: BroadcastFlags,
}

impl BroadcastOptions {
    /// `{rooms: [id], except: [], flags}`: `io.to(socket.id)`, how a socket's own emit reaches
    /// it with connection state recovery on.
    pub fn room_of(id: &str, flags: &BroadcastFlags) -> BroadcastOptions {
        BroadcastOptions {
            rooms: vec![id.to_string()],
            except: Vec::new(),
            flags: flags.clone(),
        }
    }
}

/// `broadcast_with_ack`'s first callback: how many clients one server sent the packet to
/// (the reference's `clientCountCallback`). Called once per server.
pub type ClientCountCallback = Arc<dyn Fn(usize) + Send + Sync>;
/// `broadcast_with_ack`'s second callback: one client's answer, the first argument of its ack
/// (`Null` if it acked with none). Called once per client that answers.
pub type ClientAckCallback = Arc<dyn Fn(Arg) + Send + Sync>;
/// What `server_side_emit` with an ack calls once: `(err, responses)`, one response per other
/// server; `err` when some did not answer in time (with the responses that came).
pub type ServerSideEmitCallback = Box<dyn FnOnce(Option<TimeoutError>, Vec<Arg>) + Send>;

/// The `err` of an operation that waits for answers and did not get them all in time.
///
/// Its text is the reference's: `operation has timed out` (a broadcast with acks), `timeout
/// reached: only 1 responses received out of 2` (a cluster adapter's request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutError {
    pub message: String,
}

impl TimeoutError {
    /// The broadcast operator's error: `operation has timed out`.
    pub fn operation_timed_out() -> TimeoutError {
        TimeoutError {
            message: "operation has timed out".to_string(),
        }
    }
}

impl std::fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TimeoutError {}

/// A socket as another server describes it (the reference's `SocketDetails`, what a cluster
/// adapter's `FETCH_SOCKETS_RESPONSE` carries), and what `fetch_sockets` gives of a local one.
#[derive(Debug, Clone)]
pub struct SocketDetails {
    pub id: String,
    pub handshake: Handshake,
    pub rooms: Vec<String>,
    pub data: Value,
}

impl SocketDetails {
    /// `{"id":"...","handshake":{...},"rooms":["..."],"data":...}`, as a Node server sends it.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("id".to_string(), Value::String(self.id.clone()));
        object.insert("handshake".to_string(), self.handshake.to_json());
        let rooms = self.rooms.iter().map(|room| Value::String(room.clone())).collect();
        object.insert("rooms".to_string(), Value::Array(rooms));
        object.insert("data".to_string(), self.data.clone());
        Value::Object(object)
    }

    /// The same bytes as `to_json()` serialized, written straight to `out` from the parts,
    /// wherever they are held (a cluster adapter's `FETCH_SOCKETS_RESPONSE` of a thousand
    /// sockets, written from the sockets themselves by `RemoteSocket::write_details_json`:
    /// no `Value` tree, no copy of a handshake).
    pub fn write_json_of(out: &mut Vec<u8>, id: &str, handshake: &Handshake, rooms: &[String], data: &Value) {
        // Writing to a `Vec` does not fail.
        out.extend_from_slice(b"{\"id\":");
        let _ = serde_json::to_writer(&mut *out, id);
        out.extend_from_slice(b",\"handshake\":");
        handshake.write_json(out);
        out.extend_from_slice(b",\"rooms\":");
        let _ = serde_json::to_writer(&mut *out, rooms);
        out.extend_from_slice(b",\"data\":");
        let _ = serde_json::to_writer(&mut *out, data);
        out.push(b'}');
    }

    /// A socket as another server described it (`WireSocket`), taken as it is: the handshake
    /// read from its JSON, the rest moved.
    pub fn from_wire(id: String, handshake: &Value, rooms: Vec<String>, data: Value) -> SocketDetails {
        SocketDetails {
            id,
            handshake: Handshake::from_json(handshake),
            rooms,
            data,
        }
    }

    /// The same, read back; `None` without a string `id`.
    pub fn from_json(value: &Value) -> Option<SocketDetails> {
        let id = value.get("id")?.as_str()?.to_string();
        let handshake = Handshake::from_json(value.get("handshake").unwrap_or(&Value::Null));
        let mut rooms = Vec::new();
        if let Some(Value::Array(list)) = value.get("rooms") {
            for room in list {
                if let Some(room) = room.as_str() {
                    rooms.push(room.to_string());
                }
            }
        }
        let data = value.get("data").cloned().unwrap_or(Value::Null);
        Some(SocketDetails {
            id,
            handshake,
            rooms,
            data,
        })
    }
}

/// What connection state recovery keeps of a socket that went away (the reference's
/// `SessionToPersist`): `persist_session` gets it when the socket's connection drops,
/// `restore_session` gives it back to the client that comes back with its `pid`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionToPersist {
    /// The socket id.
    pub sid: String,
    /// The private session id, the client's key to its session (sent only to that client, in
    /// the CONNECT answer `40{"sid":"...","pid":"..."}`).
    pub pid: String,
    /// Its rooms when it went away, its own id among them.
    pub rooms: Vec<String>,
    /// `socket.data`.
    pub data: Value,
}

/// One logged event a client missed: its offset and the messages it went out as (the event's
/// last argument is that offset).
#[derive(Debug, Clone, PartialEq)]
pub struct MissedPacket {
    pub offset: Offset,
    pub messages: Vec<Message>,
}

/// What `missed_packets` finds: the events after the client's offset for its rooms, oldest
/// first, and the newest offset in the log then (every event up to it is in `packets` or was
/// not for this socket).
#[derive(Debug, Clone, PartialEq)]
pub struct MissedPackets {
    pub packets: Vec<MissedPacket>,
    pub newest: Offset,
}

/// The adapter of one namespace (see the module's doc). Object-safe: a namespace holds it as
/// `Arc<dyn Adapter>`.
///
/// **Which thread calls what.** No method is called with a lock of ours held, and none may be
/// called by an implementation with one of its own locks held across a call into a `Socket`
/// (a socket's `join` calls the adapter back).
///
/// - `add_all`, `del`, `del_all`: the thread of `socket.join`/`leave` (a handler's: a connection's
///   reader), of the CONNECT (the reader that got `40`), of the close (a reader, `timers` for a
///   ping timeout, whoever called `disconnect`).
/// - `broadcast`, `broadcast_with_ack`, `fetch_sockets`, `add_sockets`, `del_sockets`,
///   `disconnect_sockets`, `server_side_emit`, `server_count`, `sockets`, `socket_rooms`,
///   `rooms`, `room_size`: the thread of the application code that called the operator (a
///   handler, a timer, an application thread); for a cluster adapter, also its own thread that
///   receives the other servers' requests.
/// - The callbacks handed in: a local client's ack on that client's reader thread; a remote
///   answer on the cluster adapter's receiving thread; `ClientCountCallback` for this server
///   before `broadcast_with_ack` returns.
///
/// **What may block.** The in-memory adapter never waits: a lock held for microseconds, packets
/// queued without waiting for any client. A cluster adapter publishes in `broadcast`,
/// `broadcast_with_ack`, `add_sockets`, `del_sockets`, `disconnect_sockets`, `server_side_emit`
/// (one round trip to Redis, milliseconds), and *waits for the other servers* in
/// `fetch_sockets`, `server_count` and `server_side_emit` with an ack: up to its
/// `requestsTimeout`, 5 s by default. Those three block the calling thread that long when a
/// server does not answer: call them from a thread that may wait (a handler blocks only its own
/// client's packets).
pub trait Adapter: Send + Sync {
    /// `init()`: called once, right after the namespace is made (a cluster adapter subscribes).
    fn init(&self) {}

    /// `close()`: the server is closing (a cluster adapter unsubscribes, tells the others).
    fn close(&self) {}

    /// `serverCount()`: how many servers the cluster has (1 alone). May block (see above).
    fn server_count(&self) -> usize;

    /// `addAll(id, rooms)`: socket `id` joins `rooms`. Runs `create-room` for each new room,
    /// then `join-room` if it was not a member, room by room.
    fn add_all(&self, id: &str, rooms: &[String]);

    /// `del(id, room)`: socket `id` leaves `room`: `leave-room`, then `delete-room` if it is
    /// now empty.
    fn del(&self, id: &str, room: &str);

    /// `delAll(id)`: socket `id` leaves every room (on its disconnect).
    fn del_all(&self, id: &str);

    /// `broadcast(packet, opts)`: `packet` (an EVENT, its `nsp` this namespace's) to every
    /// matching socket, on every server unless `opts.flags.local`.
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions);

    /// A socket's own `emit` with connection state recovery on: the reference's
    /// `this.adapter.broadcast(packet, { rooms: new Set([this.id]), except: new Set(), flags })`,
    /// which is what this does unless an adapter knows better. `socket` is the emitting socket,
    /// whose id names the room: the session-aware adapter logs the event and writes it to
    /// `socket` itself, without the broadcast's lookups (`SessionAwareAdapter`).
    fn broadcast_to_socket(&self, socket: &Socket, packet: Packet, flags: &BroadcastFlags) {
        let opts = BroadcastOptions::room_of(socket.id(), flags);
        self.broadcast(&packet, &opts);
    }

    /// `broadcastWithAck(packet, opts, clientCountCallback, ack)`: the same, each client asked
    /// for an ack. Each server calls `client_count` once with how many clients it sent the
    /// packet to, and `ack` once per client's answer; the caller counts and times out
    /// (`BroadcastOperator::emit_with_ack`). The in-memory adapter gives the packet an ack id
    /// of its namespace's, whatever `packet.id` was.
    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    );

    /// `sockets(rooms)`: the ids of this server's sockets in any of `rooms` (all if empty).
    fn sockets(&self, rooms: &[String]) -> HashSet<String>;

    /// `socketRooms(id)`: the rooms of one local socket; `None` if it has none (gone).
    fn socket_rooms(&self, id: &str) -> Option<HashSet<String>>;

    /// `fetchSockets(opts)`: the matching sockets of every server (this one's only if
    /// `opts.flags.local`). May block (see above); `Err` when another server did not answer.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError>;

    /// `addSockets(opts, rooms)`: the matching sockets join `rooms`.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);

    /// `delSockets(opts, rooms)`: the matching sockets leave `rooms`.
    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]);

    /// `disconnectSockets(opts, close)`: the matching sockets disconnect (`close`: their whole
    /// connection).
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool);

    /// `serverSideEmit([event, ...args, ack?])`: to the namespace's listeners on the *other*
    /// servers. With `ack`, it is called exactly once, before this returns or later from
    /// another thread, with one response per other server. May block (see above).
    fn server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideEmitCallback>);

    /// `persistSession(session)`: keep the session of a socket whose connection dropped, for
    /// its client to come back to (connection state recovery). The in-memory adapter keeps
    /// nothing (as the reference's base `Adapter`); the `SessionAwareAdapter` keeps it for
    /// `maxDisconnectionDuration`.
    fn persist_session(&self, _session: SessionToPersist) {}

    /// `restoreSession(pid, offset)`, its first half: the session kept under `pid`, taken out,
    /// if it has not expired and the log still holds `offset` (the last event the client got);
    /// `None` otherwise (the client gets a new socket). The in-memory adapter has none.
    fn restore_session(&self, _pid: &str, _offset: &str) -> Option<SessionToPersist> {
        None
    }

    /// `restoreSession`'s second half, called once the restored socket is back in its
    /// namespace and `rooms` (so every later event reaches it live): the logged events after
    /// `offset` that a socket in `rooms` should have got. `None` when the log no longer holds
    /// `offset`.
    fn missed_packets(&self, _offset: &str, _rooms: &[String]) -> Option<MissedPackets> {
        None
    }

    /// `adapter.rooms`: every room of this server and the ids of its sockets in it (a copy).
    fn rooms(&self) -> HashMap<String, HashSet<String>>;

    /// `adapter.rooms.get(room)?.size ?? 0`: how many local sockets are in `room`.
    fn room_size(&self, room: &str) -> usize;

    /// The listeners of `create-room`, `delete-room`, `join-room`, `leave-room`
    /// (`adapter.on("join-room", ...)`). A wrapping adapter returns the wrapped one's.
    fn events(&self) -> &AdapterEvents;
}

/// A `create-room` / `delete-room` listener: gets the room.
pub type RoomListener = Arc<dyn Fn(&str) + Send + Sync>;
/// A `join-room` / `leave-room` listener: gets the room and the socket id.
pub type MemberListener = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// One change of the rooms, recorded under the adapter's lock and told to the listeners after
/// it is released, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    CreateRoom(String),
    DeleteRoom(String),
    JoinRoom { room: String, id: String },
    LeaveRoom { room: String, id: String },
}

#[derive(Default)]
struct Listeners {
    create_room: Vec<RoomListener>,
    delete_room: Vec<RoomListener>,
    join_room: Vec<MemberListener>,
    leave_room: Vec<MemberListener>,
}

/// The adapter's events (the reference's `Adapter` is an `EventEmitter`):
///
/// ```text
/// nsp.adapter().events().on_create_room(|room| ...);      adapter.on("create-room", (room) => ...)
/// nsp.adapter().events().on_join_room(|room, id| ...);    adapter.on("join-room", (room, id) => ...)
/// ```
///
/// Listeners run on the thread that changed the rooms, with no lock held, in the reference's
/// order, once the call that made the changes (`add_all`, `del`, `del_all`) has made them all: a
/// listener that reads the rooms sees them changed (`create-room` of a socket's own room finds
/// it holding that socket).
#[derive(Default)]
pub struct AdapterEvents {
    listeners: Mutex<Listeners>,
}

impl AdapterEvents {
    /// `adapter.on("create-room", (room) => ...)`.
    pub fn on_create_room(&self, listener: impl Fn(&str) + Send + Sync + 'static) {
        lock(&self.listeners).create_room.push(Arc::new(listener));
    }

    /// `adapter.on("delete-room", (room) => ...)`.
    pub fn on_delete_room(&self, listener: impl Fn(&str) + Send + Sync + 'static) {
        lock(&self.listeners).delete_room.push(Arc::new(listener));
    }

    /// `adapter.on("join-room", (room, id) => ...)`.
    pub fn on_join_room(&self, listener: impl Fn(&str, &str) + Send + Sync + 'static) {
        lock(&self.listeners).join_room.push(Arc::new(listener));
    }

    /// `adapter.on("leave-room", (room, id) => ...)`.
    pub fn on_leave_room(&self, listener: impl Fn(&str, &str) + Send + Sync + 'static) {
        lock(&self.listeners).leave_room.push(Arc::new(listener));
    }

    /// Whether anyone listens (the adapter skips recording events otherwise).
    pub fn has_listeners(&self) -> bool {
        let listeners = lock(&self.listeners);
        !(listeners.create_room.is_empty()
            && listeners.delete_room.is_empty()
            && listeners.join_room.is_empty()
            && listeners.leave_room.is_empty())
    }

    /// Tells the listeners, in order. Call it with no lock held.
    pub fn emit(&self, events: Vec<RoomEvent>) {
        if events.is_empty() {
            return;
        }
        let (create_room, delete_room, join_room, leave_room) = {
            let listeners = lock(&self.listeners);
            (
                listeners.create_room.clone(),
                listeners.delete_room.clone(),
                listeners.join_room.clone(),
                listeners.leave_room.clone(),
            )
        };
        for event in events {
            match event {
                RoomEvent::CreateRoom(room) => {
                    for listener in &create_room {
                        listener(&room);
                    }
                }
                RoomEvent::DeleteRoom(room) => {
                    for listener in &delete_room {
                        listener(&room);
                    }
                }
                RoomEvent::JoinRoom { room, id } => {
                    for listener in &join_room {
                        listener(&room, &id);
                    }
                }
                RoomEvent::LeaveRoom { room, id } => {
                    for listener in &leave_room {
                        listener(&room, &id);
                    }
                }
            }
        }
    }
}

/// The function inside [`AdapterFactory`].
pub type AdapterFactoryFn = dyn Fn(WeakNamespace) -> Arc<dyn Adapter> + Send + Sync;

/// The server's `adapter` option (the reference's adapter constructor): called once per
/// namespace, when the namespace is made, with a weak handle to it (the namespace holds the
/// adapter; a strong handle back would keep both alive for ever). The handle's `name()` works at
/// once; `upgrade()` works once the factory has returned.
///
/// ```text
/// ServerOptions { adapter: AdapterFactory::new(|nsp| Arc::new(MyAdapter::new(MemoryAdapter::new(nsp)))), .. }
/// ```
#[derive(Clone)]
pub struct AdapterFactory {
    make: Arc<AdapterFactoryFn>,
    /// Made by `in_memory()` (the default): with connection state recovery on, the server
    /// takes the session-aware one instead, as the reference does when no `adapter` was given.
    in_memory: bool,
}

impl AdapterFactory {
    /// A factory from a function.
    pub fn new(make: impl Fn(WeakNamespace) -> Arc<dyn Adapter> + Send + Sync + 'static) -> AdapterFactory {
        AdapterFactory {
            make: Arc::new(make),
            in_memory: false,
        }
    }

    /// The default: a [`MemoryAdapter`] per namespace.
    pub fn in_memory() -> AdapterFactory {
        AdapterFactory {
            make: Arc::new(|nsp| Arc::new(MemoryAdapter::new(nsp))),
            in_memory: true,
        }
    }

    /// A [`SessionAwareAdapter`] per namespace: the default when `connection_state_recovery`
    /// is on. Its events stay in the log for `keep_events_for`; sessions and events expire on
    /// `timers`.
    pub fn session_aware(
        recovery: ConnectionStateRecovery,
        keep_events_for: Duration,
        timers: Timers,
    ) -> AdapterFactory {
        AdapterFactory::new(move |nsp| {
            Arc::new(SessionAwareAdapter::new(
                nsp,
                recovery.clone(),
                keep_events_for,
                timers.clone(),
            ))
        })
    }

    /// Whether this is the default, `in_memory()`.
    pub fn is_in_memory(&self) -> bool {
        self.in_memory
    }

    /// Makes the adapter of one namespace.
    pub fn create(&self, nsp: WeakNamespace) -> Arc<dyn Adapter> {
        (self.make)(nsp)
    }
}

impl Default for AdapterFactory {
    fn default() -> AdapterFactory {
        AdapterFactory::in_memory()
    }
}

impl std::fmt::Debug for AdapterFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdapterFactory(..)")
    }
}
