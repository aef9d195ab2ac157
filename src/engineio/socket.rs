//! One Engine.IO session (the reference's `Socket`, `socket.ts`).
//!
//! A session outlives the HTTP requests and WebSockets that carry it, so it is shared (`Arc`)
//! between: the connection threads of its polling requests, its WebSocket's reader thread, the
//! `timers` thread (heartbeat), and the application, which keeps a `Socket` to send.
//! All its mutable state is in one `Mutex<State>`; no lock is held while the `Handler` runs.
//!
//! Outbound packets wait in `write_buffer` (the reference's `writeBuffer`); `send` pushes a packet
//! and then flushes it (the reference's `flush`), which depends on the transport:
//!
//! - polling: the thread of a held GET waits on its connection's waker (an eventfd, `waker.rs`),
//!   kept in `poll_waker`; `send` rings it and that thread takes the whole buffer as its answer;
//! - WebSocket: the thread that queued the packet writes the buffer itself, without waiting for the
//!   client (`websocket::flush`). One thread at a time holds that *writing role* (`flushing`);
//!   a thread that finds it taken only queues, and the holder takes what was added before it lets
//!   go. If the client reads too slowly for the kernel's buffer, a `ws-writer` thread takes the
//!   role over until the buffer is written.
//!
//! A packet leaves the buffer only when a live transport takes it; if writing fails, it is put
//! back (to be counted as dropped) before the session closes.
//!
//! Heartbeat (Engine.IO v4: the server pings):
//!
//! ```text
//! open ──pingInterval──► send `2` ──pingTimeout──► onClose("ping timeout")
//!                           ▲            │ `3` arrives first: clear the timeout
//!                           └pingInterval┘
//! ```
//!
//! Both timers live on the server's `timers` thread, which is therefore the owner of a polling
//! session's heartbeat while no request is in flight.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::{self, ThreadId};
use std::time::Duration;

use log::{debug, info, warn};

use super::events::{CloseListener, FlushListener, PacketListener, Registry, SocketListener, SocketListeners};
use super::packet::Packet;
use super::payload;
use super::server::{Shared, TransportKind};
use super::websocket::{self, WsWriter};
use super::{Message, SessionHandler};
use crate::http::{Request, SharedStream};
use crate::timer::TimerId;
use crate::waker::Waker;

/// The reference's `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Packets flow.
    Open,
    /// `close()` was called: the buffer drains, then the transport closes.
    Closing,
    /// Over; `send` fails.
    Closed,
}

/// How to write one Socket.IO packet's messages (the reference's `conn.write(data, options)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// The `compress` flag of the emit: `true` unless `compress(false)` was asked.
    pub compress: bool,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions { compress: true }
    }
}

/// Why `send` did not queue a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session is closing or closed.
    Closed,
    /// The client does not read and its buffer is full: the session was closed.
    BufferFull,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Closed => write!(f, "the session is closed"),
            SendError::BufferFull => write!(f, "the client's outbound buffer is full; the session was closed"),
        }
    }
}

impl std::error::Error for SendError {}

/// What a writer gets when it takes from the buffer.
pub(super) struct Batch {
    /// WebSocket only: the answer to a client's Ping frame, to write first.
    pub pong: Option<Vec<u8>>,
    /// Packets to write, in order.
    pub packets: Vec<Packet>,
    /// End the transport after writing them (the session is closing or closed).
    pub close_transport: bool,
    /// ... and then close the session with this reason (a graceful `close()`: "forced close").
    pub then_close_session: Option<&'static str>,
    /// A packet in it was sent with `compress` (the reference's `packet.options.compress`): a
    /// polling answer may be compressed (`compression.rs`).
    pub compress: bool,
}

impl Batch {
    /// Everything queued (the write buffer, emptied), to write without closing anything.
    fn of_write_buffer(state: &mut State) -> Batch {
        Batch {
            pong: None,
            packets: take_buffer(state),
            close_transport: false,
            then_close_session: None,
            compress: std::mem::take(&mut state.compress_queued),
        }
    }
}

/// What a polling GET finds when it arrives.
pub(super) enum PollArrival {
    /// Another GET is already held: the reference's "overlap from client".
    Overlap,
    /// Something to send at once.
    Answer(Batch),
    /// Nothing yet: hold the request (and give the session its waker with `watch_poll`).
    Hold { poll_id: u64 },
}

/// What the thread of a held GET finds when it looks.
pub(super) enum PollTake {
    /// Nothing yet.
    Wait,
    /// Its answer.
    Answer(Batch),
    /// It is no longer the held GET (its client went away).
    Gone,
}

/// Everything about a session that changes.
///
/// `#[repr(C)]`: the fields in this order. The first six are what a write reads to decide
/// whether it can go out at once (`State::websocket_writable`), for every socket a broadcast
/// reaches: together (in one or two cache lines, right after the lock they are read under),
/// rather than wherever Rust's own order, by size, would put them.
#[repr(C)]
pub(super) struct State {
    pub ready_state: ReadyState,
    /// A thread holds the writing role of the WebSocket (see the module's doc): the others only
    /// queue. Set by `State::flush`, given up by `take_for_websocket` when nothing is left.
    pub flushing: bool,
    /// The thread that is handling a batch of incoming packets (see [`Socket::cork`]).
    pub corked_by: Option<ThreadId>,
    /// The WebSocket that is the transport (opened directly, or after the upgrade).
    pub websocket: Option<Arc<WsWriter>>,
    /// The reference's `writeBuffer`.
    pub write_buffer: VecDeque<Packet>,
    /// The answer to a client's WebSocket Ping frame, waiting for the thread that writes.
    pub pong: Option<Vec<u8>>,
    pub transport: TransportKind,
    /// The waker of the held GET's thread: rung when there is something for it to look at.
    pub poll_waker: Option<Arc<Waker>>,
    /// A packet now in `write_buffer` was sent with `compress` (the default): whoever takes the
    /// buffer takes this flag too (`Batch::compress`).
    pub compress_queued: bool,
    /// The id of the GET being held (the reference's polling `writable`).
    pub held_poll: Option<u64>,
    pub next_poll_id: u64,
    /// A POST body is being read (the reference's `dataReq`).
    pub data_request_in_flight: bool,
    /// A WebSocket is probing (`2probe` may come).
    pub upgrading: bool,
    /// It got `3probe`: held and new GETs are answered with a noop `6`.
    pub probed: bool,
    /// The session moved to the WebSocket.
    pub upgraded: bool,
    /// The probing WebSocket, to be closed if the upgrade fails (upgrade timeout, session closed).
    pub probe: Option<Arc<WsWriter>>,
    pub upgrade_timer: Option<TimerId>,
    pub ping_interval_timer: Option<TimerId>,
    pub ping_timeout_timer: Option<TimerId>,
    /// A graceful close waiting for a GET to carry the `1` (the polling `closeTimeout`).
    pub close_timer: Option<TimerId>,
    /// A graceful close found no GET to answer `1` at once (none held, or packets still to go):
    /// the GET that comes when the buffer is empty carries `6` and `1` together (the reference's
    /// polling `shouldClose`: "triggering empty send to append close packet").
    pub should_close: bool,
    /// The polling transport itself closed (the client POSTed `1`): a held GET is answered with
    /// a noop `6`, not `1` (the reference's polling `onClose`: "close pending poll request").
    pub transport_closed: bool,
    /// That thread queued packets and has not flushed them yet.
    pub flush_deferred: bool,
    /// The layer above's object for this session (Socket.IO's `Client`): it gets the messages
    /// and the end. Set by `set_session_handler`, taken when the session closes.
    pub session_handler: Option<Arc<dyn SessionHandler>>,
}

/// The shared part of a session.
///
/// `#[repr(C)]`: the fields in this order, the ones a write reads first (`write_messages`: the
/// listeners' flag, the server's options, then the state under its lock), next to the `Arc`'s
/// counts, for the same reason as `State`'s.
#[repr(C)]
pub(super) struct Inner {
    /// `socket.on(...)`: see `events.rs`.
    listeners: Registry<SocketListeners>,
    shared: Arc<Shared>,
    state: Mutex<State>,
    id: String,
    /// 3 or 4: the `EIO` of the handshake (the reference's `socket.protocol`).
    protocol: u8,
    request: Request,
}

/// A handle to a session that does not keep it alive ([`Socket::downgrade`]).
#[derive(Clone)]
pub struct WeakSocket {
    inner: Weak<Inner>,
}

impl WeakSocket {
    /// The session, while something still holds it (the server does until it ends).
    pub fn upgrade(&self) -> Option<Socket> {
        Socket::from_weak(&self.inner)
    }
}

/// A handle to one Engine.IO session. Cloning it is cheap; a clone kept after the session closed
/// keeps only memory alive (no thread), and `send` on it returns `SendError::Closed`.
#[derive(Clone)]
pub struct Socket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "engineio::Socket({})", self.inner.id)
    }
}

impl Socket {
    /// A new session, `Open`, with nothing queued yet (see `on_open`).
    pub(super) fn new(id: String, request: Request, transport: TransportKind, shared: Arc<Shared>) -> Socket {
        let state = State {
            ready_state: ReadyState::Open,
            transport,
            write_buffer: VecDeque::new(),
            poll_waker: None,
            compress_queued: false,
            websocket: None,
            flushing: false,
            pong: None,
            held_poll: None,
            next_poll_id: 1,
            data_request_in_flight: false,
            upgrading: false,
            probed: false,
            upgraded: false,
            probe: None,
            upgrade_timer: None,
            ping_interval_timer: None,
            ping_timeout_timer: None,
            close_timer: None,
            should_close: false,
            transport_closed: false,
            corked_by: None,
            flush_deferred: false,
            session_handler: None,
        };
        Socket {
            inner: Arc::new(Inner {
                id,
                protocol: payload::protocol_of(&request),
                request,
                shared,
                state: Mutex::new(state),
                listeners: Registry::new(),
            }),
        }
    }

    /// The session id (`sid`): 20 characters, 120 random bits.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The request that opened the session (headers, query, peer address).
    pub fn request(&self) -> &Request {
        &self.inner.request
    }

    /// The Engine.IO protocol revision of the session (the reference's `socket.protocol`): 4,
    /// or 3 for an Engine.IO v3 client (socket.io 2.x; only with `allow_eio3`).
    pub fn protocol(&self) -> u8 {
        self.inner.protocol
    }

    /// `"polling"` or `"websocket"`.
    pub fn transport_name(&self) -> &'static str {
        self.lock().transport.name()
    }

    /// The reference's `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.lock().ready_state
    }

    /// Gives the session the layer above's object for it (the reference's
    /// `conn.on("data", ...)` and `conn.on("close", ...)`, which socket.io's `Client` does in its
    /// constructor): from now on this session's messages and its end go to `handler`, not to the
    /// server's `Handler`. Called from `Handler::on_connection`, before any message. The session
    /// drops it when it closes; on a session already closed it is dropped at once, and this
    /// returns `false` (its `on_close` will not be called: the caller starts nothing for it).
    pub fn set_session_handler(&self, handler: Arc<dyn SessionHandler>) -> bool {
        let mut state = self.lock();
        if state.ready_state == ReadyState::Closed {
            return false;
        }
        state.session_handler = Some(handler);
        true
    }

    // ----- events (see `events.rs`) ------------------------------------------------------------

    /// `socket.on("packet", packet => ...)`: each packet the client sends on the session's
    /// transport (not the probe's `2probe` and `5`), before it is handled. Called on the thread
    /// that read it: a POST's connection thread, or the WebSocket's reader.
    pub fn on_packet(&self, listener: impl Fn(&Socket, &Packet) + Send + Sync + 'static) {
        let listener: PacketListener = Arc::new(listener);
        self.inner.listeners.add(|all| all.packet.push(listener));
    }

    /// `socket.on("packetCreate", packet => ...)`: each packet about to be queued for the client
    /// (messages, pings; not the transport's own `3probe`, `6` and `1`), while the session is
    /// open. Called on the thread that sends it (any: a handler, `timers` for a ping, a
    /// broadcast), before it is queued.
    pub fn on_packet_create(&self, listener: impl Fn(&Socket, &Packet) + Send + Sync + 'static) {
        let listener: PacketListener = Arc::new(listener);
        self.inner.listeners.add(|all| all.packet_create.push(listener));
    }

    /// `socket.on("flush", writeBuffer => ...)`: the queued packets leave the buffer together for
    /// the transport. Called on the thread that takes them to write them (a GET's connection
    /// thread, held or not; over WebSocket the thread holding the writing role).
    pub fn on_flush(&self, listener: impl Fn(&Socket, &[Packet]) + Send + Sync + 'static) {
        let listener: FlushListener = Arc::new(listener);
        self.inner.listeners.add(|all| all.flush.push(listener));
    }

    /// `socket.on("upgrading", transport => ...)`: a WebSocket probe was answered `3probe`.
    /// Called on that WebSocket's reader thread.
    pub fn on_upgrading(&self, listener: impl Fn(&Socket) + Send + Sync + 'static) {
        let listener: SocketListener = Arc::new(listener);
        self.inner.listeners.add(|all| all.upgrading.push(listener));
    }

    /// `socket.on("upgrade", transport => ...)`: the session's transport is now the WebSocket
    /// (`transport_name()` says `"websocket"`); once per session at most. Called on the
    /// WebSocket's reader thread, before the buffer is written to it.
    pub fn on_upgrade(&self, listener: impl Fn(&Socket) + Send + Sync + 'static) {
        let listener: SocketListener = Arc::new(listener);
        self.inner.listeners.add(|all| all.upgrade.push(listener));
    }

    /// `socket.on("close", (reason, description) => ...)`: the session ended, once, after the
    /// `Handler`'s `on_close`; `description` says what went wrong for a "transport error". Called
    /// on the thread that closed it (a connection thread, a WebSocket's reader, `timers` for
    /// "ping timeout", or the thread that called `close()`). A listener added after the end is
    /// never called.
    pub fn on_close(&self, listener: impl Fn(&Socket, &str, Option<&str>) + Send + Sync + 'static) {
        let listener: CloseListener = Arc::new(listener);
        self.inner.listeners.add(|all| all.close.push(listener));
    }

    /// Calls the `flush` listeners with packets taken from the buffer (not a lone `6` or `1`, nor
    /// `6` and `1` together, which the transport makes itself).
    fn emit_flush(&self, packets: &[Packet]) {
        if matches!(
            packets,
            [] | [Packet::Noop] | [Packet::Close] | [Packet::Noop, Packet::Close]
        ) {
            return;
        }
        if let Some(listeners) = self.inner.listeners.current() {
            for listener in &listeners.flush {
                listener(self, packets);
            }
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        crate::sync::lock(&self.inner.state)
    }

    fn weak(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// A handle that does not keep the session alive: what a listener should hold to reach a
    /// session other than the one it is called with.
    pub fn downgrade(&self) -> WeakSocket {
        WeakSocket { inner: self.weak() }
    }

    fn from_weak(weak: &Weak<Inner>) -> Option<Socket> {
        weak.upgrade().map(|inner| Socket { inner })
    }

    /// A timer on the `timers` thread that calls `on_time` with this session after `delay`,
    /// unless the session is gone by then (the timer holds only a weak reference).
    fn set_timer(&self, delay: Duration, on_time: impl FnOnce(Socket) + Send + 'static) -> TimerId {
        let weak = self.weak();
        self.inner.shared.timers.set_timeout(delay, move || {
            if let Some(socket) = Socket::from_weak(&weak) {
                on_time(socket);
            }
        })
    }

    /// The reference's `onOpen`: queue the open packet and start the heartbeat (v4: the server
    /// pings; v3: the server waits for the client's pings).
    ///
    /// `0{"sid":"...","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
    pub(super) fn on_open(&self) {
        let options = &self.inner.shared.options;
        let mut state = self.lock();
        let upgrades: Vec<&str> = options.upgrades(state.transport).iter().map(|t| t.name()).collect();
        let upgrades = serde_json::to_string(&upgrades).unwrap_or_else(|_| "[]".to_string());
        let open = format!(
            r#"{{"sid":"{}","upgrades":{},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            self.inner.id,
            upgrades,
            options.ping_interval.as_millis(),
            options.ping_timeout.as_millis(),
            options.max_payload
        );
        state.write_buffer.push_back(Packet::Open(open));
        state.compress_queued = true;
        if self.inner.protocol == 3 {
            // Engine.IO v3: the client pings; the server only waits for its pings.
            self.reset_ping_timeout(&mut state);
        } else {
            self.schedule_ping(&mut state);
        }
    }

    /// Queues a MESSAGE packet (the reference's `socket.send(data)`).
    pub fn send(&self, message: Message) -> Result<(), SendError> {
        self.send_packet(Packet::Message(message))
    }

    /// Queues several MESSAGE packets back to back, so that no other packet comes between them
    /// (a Socket.IO binary event and its attachments).
    pub fn send_many(&self, messages: Vec<Message>) -> Result<(), SendError> {
        self.write(messages, WriteOptions::default())
    }

    /// The reference's `socket.write(data, options)`: `send_many` with the options of the
    /// Socket.IO emit that made these messages (`compress`).
    pub fn write(&self, messages: Vec<Message>, options: WriteOptions) -> Result<(), SendError> {
        self.write_messages(Cow::Owned(messages), options)
    }

    /// `write` for messages that go to many sessions (a broadcast encodes its packet once):
    /// they are copied only if they have to wait in this session's buffer.
    pub fn write_shared(&self, messages: &[Message], options: WriteOptions) -> Result<(), SendError> {
        self.write_messages(Cow::Borrowed(messages), options)
    }

    /// `write` and `write_shared`. When the WebSocket transport is writable (the reference's
    /// `transport.writable`: no thread is writing, nothing is queued), this thread writes the
    /// frames at once, as the reference's `ws` transport does in `send`: one `send(MSG_DONTWAIT)`
    /// with the session's lock held, so that nothing can come between (`write_in_place`). Any
    /// other time the messages are queued and flushed (`send_packets`).
    fn write_messages(&self, messages: Cow<'_, [Message]>, options: WriteOptions) -> Result<(), SendError> {
        if self.has_write_listeners() {
            // `packetCreate` and `flush` listeners are handed the packets: the queue's way.
            return self.send_packets(packets_of(messages), options);
        }
        let mut state = self.lock();
        if state.ready_state != ReadyState::Open {
            return Err(SendError::Closed);
        }
        if !state.websocket_writable() || messages.len() > self.inner.shared.options.max_buffered_packets {
            // Polling, a WebSocket being written, this thread corked: queued, as `send_packets`.
            let queued = self.queue(&mut state, packets_of(messages), options);
            drop(state);
            return self.after_queue(queued);
        }
        let written = match &state.websocket {
            Some(writer) => writer.write_in_place(&self.inner.id, &messages),
            None => return Err(SendError::Closed), // `websocket_writable` said there is one
        };
        if let Ok(websocket::InPlace::All) = written {
            return Ok(());
        }
        // Not all of it went: this thread takes the writing role, to hand it on with the lock
        // released (as `flush` does after such a write).
        state.flushing = true;
        let writer = state.websocket.clone();
        drop(state);
        let Some(writer) = writer else {
            return Ok(());
        };
        match written {
            Ok(_) => {
                // The client reads slower than we write: the rest of the frames waits in the
                // writer, and a `ws-writer` writes it, waiting.
                websocket::continue_in_slow_writer(self, &writer);
            }
            Err(error) => {
                // The role is kept: the session closes and nothing more is written.
                debug!("{}: websocket write failed: {}", self.inner.id, error);
                self.write_failed(packets_of(messages), "websocket write failed");
                writer.shutdown();
            }
        }
        Ok(())
    }

    /// Reads the first bytes of the session, where a write starts (`MemoryAdapter::deliver` calls
    /// it for the next sockets of a broadcast before writing to any of them: see there).
    pub(crate) fn prefetch_for_write(&self) {
        std::hint::black_box(self.inner.listeners.ever_added());
    }

    /// Whether a `packetCreate` or `flush` listener was added: they see each packet queued.
    fn has_write_listeners(&self) -> bool {
        match self.inner.listeners.current() {
            Some(listeners) => !listeners.packet_create.is_empty() || !listeners.flush.is_empty(),
            None => false,
        }
    }

    /// The reference's `transport.writable`: whether a packet queued now would leave at once,
    /// which is what a `volatile` emit asks before it is queued (Socket.IO drops it otherwise).
    ///
    /// - polling: a GET is held and nothing is waiting for it (once something is queued, the
    ///   GET is taken: the reference sets `writable = false` as it sends);
    /// - WebSocket: no thread is writing (the reference's "previous write completed") and
    ///   nothing is queued;
    /// - never during an upgrade (a probe is open), nor once the session is closing.
    pub fn writable(&self) -> bool {
        let state = self.lock();
        if state.ready_state != ReadyState::Open || state.upgrading {
            return false;
        }
        if !state.write_buffer.is_empty() {
            return false;
        }
        if state.websocket.is_some() {
            return !state.flushing;
        }
        state.held_poll.is_some()
    }

    /// Queues a packet and wakes the writer (the reference's `sendPacket` + `flush`).
    pub(super) fn send_packet(&self, packet: Packet) -> Result<(), SendError> {
        self.send_packets(vec![packet], WriteOptions::default())
    }

    /// Queues packets together, or none of them if the buffer has no room. `options.compress`
    /// (`true` unless an emit said otherwise) goes with them to the polling answer that carries
    /// them (`compress_queued`).
    fn send_packets(&self, packets: Vec<Packet>, options: WriteOptions) -> Result<(), SendError> {
        if let Some(listeners) = self.inner.listeners.current() {
            // As the reference: `packetCreate` for a session that is open, before queuing.
            if !listeners.packet_create.is_empty() && self.ready_state() == ReadyState::Open {
                for packet in &packets {
                    for listener in &listeners.packet_create {
                        listener(self, packet);
                    }
                }
            }
        }
        let queued = {
            let mut state = self.lock();
            if state.ready_state != ReadyState::Open {
                return Err(SendError::Closed);
            }
            self.queue(&mut state, packets, options)
        };
        self.after_queue(queued)
    }

    /// Queues packets together, under the lock: what to flush, or `None` if the buffer has no
    /// room for them (none is queued then).
    fn queue(&self, state: &mut State, packets: Vec<Packet>, options: WriteOptions) -> Option<Flush> {
        if state.write_buffer.len() + packets.len() > self.inner.shared.options.max_buffered_packets {
            return None;
        }
        for packet in packets {
            state.write_buffer.push_back(packet);
        }
        state.compress_queued |= options.compress;
        Some(state.flush())
    }

    /// After `queue`, with the lock released: the flush it decided, or the session closed when
    /// the buffer was full.
    fn after_queue(&self, queued: Option<Flush>) -> Result<(), SendError> {
        if let Some(flush) = queued {
            // Done after the lock is released: a woken GET thread must not find it still held
            // (on one core it runs at once), and a WebSocket write must not hold up other senders.
            self.run_flush(flush);
            return Ok(());
        }
        warn!(
            "{}: {} packets wait for a client that does not read: closing the session",
            self.inner.id, self.inner.shared.options.max_buffered_packets
        );
        self.close_because("transport error");
        Err(SendError::BufferFull)
    }

    /// Called by the thread that reads from the client (a WebSocket's reader, a POST's
    /// connection thread) before it handles what one read brought: until `uncork`, the packets
    /// *this thread* queues (its handlers' answers) wait in the buffer without being flushed, so
    /// that they all go out in one write (over WebSocket, one `send` by this thread; over polling,
    /// one GET answer). Packets queued by any other thread (a timer, a broadcast) are flushed at
    /// once as always. The name is Node's `writable.cork()`: like there, what a handler emits
    /// leaves when the handler returns.
    pub(super) fn cork(&self) {
        self.lock().corked_by = Some(this_thread());
    }

    /// Called before that thread waits for the client again: flushes what it queued while
    /// corked (over a WebSocket, this thread writes it now).
    pub(super) fn uncork(&self) {
        let flush = {
            let mut state = self.lock();
            state.corked_by = None;
            if !state.flush_deferred {
                return;
            }
            state.flush_deferred = false;
            state.flush()
        };
        self.run_flush(flush);
    }

    /// Does what `State::flush` decided, with the lock released.
    fn run_flush(&self, flush: Flush) {
        match flush {
            Flush::Nothing => {}
            Flush::RingPoll(waker) => waker.ring(),
            Flush::WriteWebSocket(writer) => websocket::flush(self, &writer),
        }
    }

    /// Closes the session gracefully (the reference's `socket.close()`): what is queued is still
    /// sent, then the transport closes and the session ends with "forced close". Polling, as the
    /// reference's `doClose`: a GET held with nothing queued is answered `1` at once (the
    /// transport is "writable"); otherwise the queue goes in the next GET and the GET after it
    /// (or the next one, if nothing was queued) gets `6` and `1` together (`shouldClose`); if no
    /// GET comes within `close_timeout` (30 s), the session ends anyway. WebSocket: the queue,
    /// then a close frame.
    pub fn close(&self) {
        let flush = {
            let mut state = self.lock();
            if state.ready_state != ReadyState::Open {
                return;
            }
            state.ready_state = ReadyState::Closing;
            debug!(
                "{}: closing, {} packets still to send",
                self.inner.id,
                state.write_buffer.len()
            );
            let writable = state.held_poll.is_some() && state.write_buffer.is_empty();
            state.should_close = !writable;
            let timer = self.set_timer(self.inner.shared.options.close_timeout, |socket| {
                debug!("{}: no GET came for the close packet: closing", socket.id());
                socket.close_because("forced close");
            });
            state.close_timer = Some(timer);
            state.flush_now()
        };
        self.run_flush(flush);
    }

    /// The reference's `socket.close(true)` ("discard"), what `Server::close` does to every
    /// session: no waiting for the queue, which is dropped. A held GET is answered `1`, a
    /// WebSocket gets its close frame; the session ends with "forced close" at once.
    pub fn close_discard(&self) {
        self.close_because("forced close");
    }

    /// The client POSTed `1`: the polling transport closes (a held GET gets `6`), then the
    /// session, with "transport close" (the reference's polling `onData` and `onClose`).
    pub(super) fn on_transport_close(&self) {
        self.lock().transport_closed = true;
        self.close_because("transport close");
    }

    // ----- polling ------------------------------------------------------------------------

    /// A GET arrived: answer it now, hold it, or refuse it (a second one while one is held).
    pub(super) fn on_poll_arrival(&self) -> PollArrival {
        let arrival = self.poll_arrival();
        if let PollArrival::Answer(batch) = &arrival {
            self.emit_flush(&batch.packets);
        }
        arrival
    }

    /// `on_poll_arrival`'s decision, under the lock.
    fn poll_arrival(&self) -> PollArrival {
        let mut state = self.lock();
        if state.held_poll.is_some() {
            return PollArrival::Overlap;
        }
        if let Some(batch) = take_poll_answer(&mut state) {
            return PollArrival::Answer(batch);
        }
        let poll_id = state.next_poll_id;
        state.next_poll_id += 1;
        state.held_poll = Some(poll_id);
        PollArrival::Hold { poll_id }
    }

    /// The held GET `poll_id` waits on `waker` from now on. Whatever was queued before this is
    /// found by the `take_poll` that follows; whatever is queued after it rings the waker.
    pub(super) fn watch_poll(&self, poll_id: u64, waker: Arc<Waker>) {
        let mut state = self.lock();
        if state.held_poll == Some(poll_id) {
            state.poll_waker = Some(waker);
        }
    }

    /// The thread of a held GET looks for its answer.
    pub(super) fn take_poll(&self, poll_id: u64) -> PollTake {
        let take = self.take_poll_locked(poll_id);
        if let PollTake::Answer(batch) = &take {
            self.emit_flush(&batch.packets);
        }
        take
    }

    /// `take_poll`'s decision, under the lock.
    fn take_poll_locked(&self, poll_id: u64) -> PollTake {
        let mut state = self.lock();
        if state.held_poll != Some(poll_id) {
            return PollTake::Gone;
        }
        match take_poll_answer(&mut state) {
            Some(batch) => {
                state.held_poll = None;
                state.poll_waker = None;
                PollTake::Answer(batch)
            }
            None => PollTake::Wait,
        }
    }

    /// The client of the held GET went away before it was answered: the reference's
    /// "poll connection closed prematurely", a transport error.
    pub(super) fn poll_abandoned(&self, poll_id: u64) {
        {
            let mut state = self.lock();
            if state.held_poll != Some(poll_id) {
                return;
            }
            state.held_poll = None;
            state.poll_waker = None;
        }
        self.on_error("poll connection closed prematurely");
    }

    /// A POST starts; `false` if another one is being read (the reference's "data request overlap").
    pub(super) fn begin_data_request(&self) -> bool {
        let mut state = self.lock();
        if state.data_request_in_flight {
            return false;
        }
        state.data_request_in_flight = true;
        true
    }

    /// The POST is over.
    pub(super) fn end_data_request(&self) {
        self.lock().data_request_in_flight = false;
    }

    /// Writing taken packets failed: put them back in front, for the count of what is dropped.
    pub(super) fn write_failed(&self, packets: Vec<Packet>, why: &str) {
        {
            let mut state = self.lock();
            for packet in packets.into_iter().rev() {
                if !matches!(packet, Packet::Close | Packet::Noop) {
                    state.write_buffer.push_front(packet);
                }
            }
        }
        self.on_error(why);
    }

    // ----- WebSocket ------------------------------------------------------------------------

    /// Makes `writer` the transport of this session (a WebSocket opened without polling), and
    /// writes what is queued (the open packet).
    pub(super) fn attach_websocket(&self, writer: Arc<WsWriter>) {
        let flush = {
            let mut state = self.lock();
            state.websocket = Some(writer);
            state.flush()
        };
        self.run_flush(flush);
    }

    /// The socket of the WebSocket that is this session's transport, if it is one.
    pub(super) fn websocket_stream(&self) -> Option<SharedStream> {
        self.lock().websocket.as_ref().map(|writer| writer.stream())
    }

    /// A client's WebSocket Ping frame: its Pong goes out with the next write.
    pub(super) fn queue_pong(&self, data: Vec<u8>) {
        let flush = {
            let mut state = self.lock();
            if state.ready_state == ReadyState::Closed {
                return;
            }
            state.pong = Some(data);
            state.flush()
        };
        self.run_flush(flush);
    }

    /// The thread holding the writing role takes everything queued. `None`: nothing is left,
    /// and the role is given up (in the same locked step, so that a packet queued meanwhile is
    /// either taken here or finds the role free).
    pub(super) fn take_for_websocket(&self) -> Option<Batch> {
        let batch = self.take_for_websocket_locked();
        if let Some(batch) = &batch {
            self.emit_flush(&batch.packets);
        }
        batch
    }

    /// `take_for_websocket`'s decision, under the lock.
    fn take_for_websocket_locked(&self) -> Option<Batch> {
        let mut state = self.lock();
        let pong = state.pong.take();
        let packets = take_buffer(&mut state);
        state.compress_queued = false; // no compression over WebSocket (see NOTES.md)
        match state.ready_state {
            ReadyState::Open if pong.is_none() && packets.is_empty() => {
                state.flushing = false;
                None
            }
            ReadyState::Open => Some(Batch {
                pong,
                packets,
                close_transport: false,
                then_close_session: None,
                compress: false,
            }),
            // The role is kept for good: after this batch the transport closes.
            ReadyState::Closing => Some(Batch {
                pong,
                packets,
                close_transport: true,
                then_close_session: Some("forced close"),
                compress: false,
            }),
            ReadyState::Closed => Some(Batch {
                pong: None,
                packets,
                close_transport: true,
                then_close_session: None,
                compress: false,
            }),
        }
    }

    /// A WebSocket with this session's sid wants to become its transport. `false`: one is already
    /// probing or done, or the session is on a WebSocket already (the new one is closed). Starts
    /// the `upgradeTimeout`.
    pub(super) fn begin_upgrade(&self, probe: Arc<WsWriter>) -> bool {
        let mut state = self.lock();
        if state.ready_state != ReadyState::Open || state.upgrading || state.upgraded {
            return false;
        }
        if state.transport == TransportKind::WebSocket {
            // Opened over WebSocket: there is nothing to upgrade to, and the WebSocket it has
            // must not be taken over by another one that knows its sid.
            return false;
        }
        state.upgrading = true;
        state.probe = Some(probe);
        let timeout = self.inner.shared.options.upgrade_timeout;
        let timer = self.set_timer(timeout, move |socket| {
            info!(
                "{}: no upgrade within {:?}: closing the probing WebSocket",
                socket.id(),
                timeout
            );
            socket.abort_upgrade();
        });
        state.upgrade_timer = Some(timer);
        true
    }

    /// `2probe` was answered `3probe`: from now on a GET gets a noop `6`, so that the client's
    /// polling pauses and it can send `5`.
    pub(super) fn on_probe_answered(&self) {
        {
            let mut state = self.lock();
            state.probed = true;
            wake(&state.poll_waker);
        }
        if let Some(listeners) = self.inner.listeners.current() {
            for listener in &listeners.upgrading {
                listener(self);
            }
        }
    }

    /// `5` arrived on the probing WebSocket: it becomes the transport and gets the buffer.
    pub(super) fn complete_upgrade(&self) -> bool {
        let timer = {
            let mut state = self.lock();
            if !state.upgrading || state.ready_state == ReadyState::Closed {
                return false;
            }
            state.upgrading = false;
            state.probed = false;
            state.upgraded = true;
            state.transport = TransportKind::WebSocket;
            // A GET still held wakes, sees `upgraded` and answers noop; from now on the
            // WebSocket takes the buffer.
            wake(&state.poll_waker);
            state.websocket = state.probe.take();
            let flush = state.flush();
            (state.upgrade_timer.take(), flush)
        };
        let (timer, flush) = timer;
        if let Some(timer) = timer {
            self.inner.shared.timers.clear_timeout(timer);
        }
        info!("{}: upgraded to websocket", self.inner.id);
        if let Some(listeners) = self.inner.listeners.current() {
            for listener in &listeners.upgrade {
                listener(self);
            }
        }
        self.run_flush(flush);
        true
    }

    /// The probing WebSocket failed or timed out: it closes, the session stays on polling.
    pub(super) fn abort_upgrade(&self) {
        let (timer, probe) = {
            let mut state = self.lock();
            if !state.upgrading {
                return;
            }
            state.upgrading = false;
            state.probed = false;
            (state.upgrade_timer.take(), state.probe.take())
        };
        if let Some(timer) = timer {
            self.inner.shared.timers.clear_timeout(timer);
        }
        if let Some(probe) = probe {
            probe.close();
        }
    }

    // ----- incoming packets, heartbeat, close -------------------------------------------------

    /// A packet from the client (the reference's `onPacket`).
    pub(super) fn handle_packet(&self, packet: Packet) {
        let session_handler = {
            let state = self.lock();
            if state.ready_state != ReadyState::Open {
                debug!("{}: packet received with closed socket", self.inner.id);
                return;
            }
            state.session_handler.clone()
        };
        if let Some(listeners) = self.inner.listeners.current() {
            for listener in &listeners.packet {
                listener(self, &packet);
            }
        }
        match packet {
            // v4: the answer to our ping.
            Packet::Pong(_) if self.inner.protocol == 4 => {
                let mut state = self.lock();
                if let Some(timer) = state.ping_timeout_timer.take() {
                    self.inner.shared.timers.clear_timeout(timer);
                }
                self.schedule_ping(&mut state);
            }
            // v3: the client's ping, answered `3` (without its data, as the reference).
            Packet::Ping(_) if self.inner.protocol == 3 => {
                self.reset_ping_timeout(&mut self.lock());
                let _ = self.send_packet(Packet::Pong(String::new()));
            }
            Packet::Ping(_) | Packet::Pong(_) => self.on_error("invalid heartbeat direction"),
            Packet::Message(message) => match session_handler {
                Some(session_handler) => session_handler.on_message(message),
                None => self.inner.shared.handler.on_message(self, message),
            },
            // Over polling, `1` never gets here: it closes the transport (`on_transport_close`).
            // Over WebSocket the reference's socket ignores it too (a client closes a WebSocket
            // with a close frame).
            Packet::Open(_) | Packet::Close | Packet::Upgrade | Packet::Noop => {
                debug!("{}: ignoring {} packet", self.inner.id, packet.type_name());
            }
        }
    }

    /// The reference's `schedulePing`: a ping one `pingInterval` from now.
    fn schedule_ping(&self, state: &mut State) {
        if let Some(old) = state.ping_interval_timer.take() {
            self.inner.shared.timers.clear_timeout(old);
        }
        let timer = self.set_timer(self.inner.shared.options.ping_interval, |socket| {
            socket.on_ping_interval();
        });
        state.ping_interval_timer = Some(timer);
    }

    /// Engine.IO v3 (the reference's `resetPingTimeout` when `protocol === 3`): the client's
    /// next ping must come within `pingInterval + pingTimeout` of its last one (or of the open).
    fn reset_ping_timeout(&self, state: &mut State) {
        let timers = &self.inner.shared.timers;
        if let Some(old) = state.ping_timeout_timer.take() {
            timers.clear_timeout(old);
        }
        let options = &self.inner.shared.options;
        let timer = timers.new_id();
        let weak = self.weak();
        timers.set_timeout_with_id(timer, options.ping_interval + options.ping_timeout, move || {
            if let Some(socket) = Socket::from_weak(&weak) {
                socket.on_ping_timeout(timer);
            }
        });
        state.ping_timeout_timer = Some(timer);
    }

    /// Time to ping: expect `3` within `pingTimeout` (the reference's `resetPingTimeout`), then
    /// send `2`. In this order, unlike the reference's: over WebSocket this thread writes the
    /// ping itself, and the reader that gets the pong may run before this thread goes on (on one
    /// core it often does); the pong must find the timeout it cancels already set.
    fn on_ping_interval(&self) {
        let timers = &self.inner.shared.timers;
        let timer = timers.new_id();
        {
            let mut state = self.lock();
            if state.ready_state != ReadyState::Open {
                return;
            }
            state.ping_interval_timer = None;
            if let Some(old) = state.ping_timeout_timer.replace(timer) {
                timers.clear_timeout(old);
            }
        }
        let weak = self.weak();
        timers.set_timeout_with_id(timer, self.inner.shared.options.ping_timeout, move || {
            if let Some(socket) = Socket::from_weak(&weak) {
                socket.on_ping_timeout(timer);
            }
        });
        // Fails only if the session closed meanwhile; its timers are cleared then.
        let _ = self.send_packet(Packet::Ping(String::new()));
    }

    /// No pong in time.
    fn on_ping_timeout(&self, timer: TimerId) {
        if self.lock().ping_timeout_timer != Some(timer) {
            return; // a pong cleared it while this callback was on its way
        }
        self.close_because("ping timeout");
    }

    /// The reference's `onError`: a transport error closes the session.
    pub(super) fn on_error(&self, why: &str) {
        debug!("{}: transport error: {why}", self.inner.id);
        self.close_described("transport error", Some(why));
    }

    /// The reference's `onClose`: ends the session once. Timers are cleared, what is still
    /// queued is dropped (and counted), the transport is released (a held GET answers `1`, or
    /// `6` if the client's `1` closed it; a WebSocket gets its close frame), and the handler
    /// hears the reason.
    pub(super) fn close_because(&self, reason: &str) {
        self.close_described(reason, None);
    }

    /// `close_because`, with what went wrong (the reference's `description`), for the `close`
    /// listeners.
    fn close_described(&self, reason: &str, description: Option<&str>) {
        let (timers, dropped, dropped_bytes, held_get, websocket, probe, session_handler) = {
            let mut state = self.lock();
            if state.ready_state == ReadyState::Closed {
                return;
            }
            state.ready_state = ReadyState::Closed;
            let timers = [
                state.ping_interval_timer.take(),
                state.ping_timeout_timer.take(),
                state.upgrade_timer.take(),
                state.close_timer.take(),
            ];
            let dropped = state.write_buffer.len();
            let dropped_bytes: usize = state.write_buffer.iter().map(payload_bytes).sum();
            state.write_buffer = VecDeque::new();
            state.pong = None;
            // The WebSocket: if no thread holds the writing role, this one takes it to write the
            // close frame; if one does, that thread will find the session closed.
            let websocket = state.websocket.take().map(|writer| {
                let take_role = !state.flushing;
                state.flushing = true;
                (writer, take_role)
            });
            let held_get = state.poll_waker.take();
            let probe = state.probe.take();
            let session_handler = state.session_handler.take();
            (
                timers,
                dropped,
                dropped_bytes,
                held_get,
                websocket,
                probe,
                session_handler,
            )
        };
        for timer in timers.into_iter().flatten() {
            self.inner.shared.timers.clear_timeout(timer);
        }
        // Out of `clients` first, then the transports are released (a held GET answers `1` or
        // `6`, a WebSocket gets its close frame): a client that sees the end finds the sid unknown.
        self.inner.shared.remove_client(&self.inner.id);
        if let Some(waker) = held_get {
            waker.ring(); // its thread finds the session closed and answers `1`
        }
        match websocket {
            Some((writer, true)) => websocket::flush(self, &writer),
            // A `ws-writer` blocked on a client that does not read would wait for the write
            // timeout: what it holds is dropped anyway, so cut it short.
            Some((writer, false)) => writer.unblock_slow_writer(),
            None => {}
        }
        if let Some(probe) = probe {
            probe.close();
        }
        if dropped > 0 {
            warn!(
                "{}: closed ({reason}) with {dropped} packets not sent ({dropped_bytes} bytes): dropped",
                self.inner.id
            );
            if dropped_bytes >= GIVE_BACK_AFTER_BYTES {
                // They are freed by now; malloc would keep the memory for reuse.
                crate::memory::give_back_free_heap();
            }
        } else {
            info!("{}: closed ({reason})", self.inner.id);
        }
        match &session_handler {
            Some(session_handler) => session_handler.on_close(reason),
            None => self.inner.shared.handler.on_close(self, reason),
        }
        if let Some(listeners) = self.inner.listeners.current() {
            for listener in &listeners.close {
                listener(self, reason, description);
            }
        }
        // Nothing will be emitted any more: drop the listeners and the session handler, which may
        // hold the layer above's handles of this session (no cycle outlives the session).
        self.inner.listeners.close();
        drop(session_handler);
    }
}

/// How queued packets are to leave, decided under the lock by `State::flush` and done after it
/// is released by `Socket::run_flush`.
pub(super) enum Flush {
    /// Nothing to do now: no transport can take them yet, the thread holding the WebSocket's
    /// writing role will, or the corked thread will at `uncork`.
    Nothing,
    /// Ring the held GET's thread.
    RingPoll(Arc<Waker>),
    /// This thread took the writing role: it writes the buffer to the WebSocket.
    WriteWebSocket(Arc<WsWriter>),
}

impl State {
    /// The reference's `flush`, decided: called with the lock held, after queuing.
    fn flush(&mut self) -> Flush {
        if self.corked_by == Some(this_thread()) {
            self.flush_deferred = true;
            return Flush::Nothing;
        }
        self.flush_now()
    }

    /// Whether a write can go to the WebSocket now, from the thread that has it: the session is
    /// on a WebSocket, no thread holds its writing role, nothing waits in the buffer (nor a
    /// pong), and this thread is not corked (its packets wait for the uncork).
    fn websocket_writable(&self) -> bool {
        self.websocket.is_some()
            && !self.flushing
            && self.write_buffer.is_empty()
            && self.pong.is_none()
            && self.corked_by != Some(this_thread())
    }

    /// `flush` even on the corked thread (a `close()`: as in the reference, a WebSocket session
    /// is closed by the time `close()` returns).
    fn flush_now(&mut self) -> Flush {
        if let Some(writer) = &self.websocket {
            if self.flushing {
                return Flush::Nothing;
            }
            self.flushing = true;
            return Flush::WriteWebSocket(Arc::clone(writer));
        }
        match &self.poll_waker {
            Some(waker) => Flush::RingPoll(Arc::clone(waker)),
            None => Flush::Nothing,
        }
    }
}

/// Dropping this much buffered data (a client that stopped reading) gives the freed memory back
/// to the kernel (`memory::give_back_free_heap`).
const GIVE_BACK_AFTER_BYTES: usize = 1024 * 1024;

/// The bytes a buffered packet holds (its data; the packet itself is a few words).
fn payload_bytes(packet: &Packet) -> usize {
    match packet {
        Packet::Open(text) | Packet::Ping(text) | Packet::Pong(text) => text.len(),
        Packet::Message(Message::Text(text)) => text.len(),
        Packet::Message(Message::Binary(bytes)) => bytes.len(),
        Packet::Close | Packet::Upgrade | Packet::Noop => 0,
    }
}

thread_local! {
    /// This thread's id, read once: `thread::current()` clones the thread's handle (two atomic
    /// operations) each time, and `State::flush` asks for every packet queued.
    static THIS_THREAD: ThreadId = thread::current().id();
}

/// The id of the thread running this (what `cork` records and `State::flush` compares).
fn this_thread() -> ThreadId {
    THIS_THREAD.with(|id| *id)
}

/// Rings the held GET's thread, if one waits.
fn wake(waker: &Option<Arc<Waker>>) {
    if let Some(waker) = waker {
        waker.ring();
    }
}

/// Messages as MESSAGE packets to queue (copied if they were borrowed: `write_shared`).
fn packets_of(messages: Cow<'_, [Message]>) -> Vec<Packet> {
    match messages {
        Cow::Owned(messages) => messages.into_iter().map(Packet::Message).collect(),
        Cow::Borrowed(messages) => messages.iter().cloned().map(Packet::Message).collect(),
    }
}

/// The whole `write_buffer`, leaving none: not even its capacity stays with an idle session.
fn take_buffer(state: &mut State) -> Vec<Packet> {
    std::mem::take(&mut state.write_buffer).into()
}

/// What a GET should carry now, if anything (called with the lock held).
fn take_poll_answer(state: &mut State) -> Option<Batch> {
    match state.ready_state {
        // The session ended while this GET was held or on its way: `1` (the reference's
        // `doClose` on a writable transport), or `6` when the client's own `1` closed it.
        ReadyState::Closed => {
            let last = if state.transport_closed {
                Packet::Noop
            } else {
                Packet::Close
            };
            Some(Batch {
                pong: None,
                packets: vec![last],
                close_transport: true,
                then_close_session: None,
                compress: false,
            })
        }
        // As the reference: first the buffer, then `1` in a GET of its own. (A client handles
        // `1` at once but the packets before it a tick later, so `41\x1e1` in one answer would
        // read as "transport close" rather than "io server disconnect".)
        ReadyState::Closing if !state.write_buffer.is_empty() => {
            state.should_close = true;
            Some(Batch::of_write_buffer(state))
        }
        ReadyState::Closing => {
            let packets = if state.should_close {
                vec![Packet::Noop, Packet::Close]
            } else {
                vec![Packet::Close]
            };
            Some(Batch {
                pong: None,
                packets,
                close_transport: true,
                then_close_session: Some("forced close"),
                compress: false,
            })
        }
        ReadyState::Open => {
            if state.probed || state.upgraded {
                return Some(Batch {
                    pong: None,
                    packets: vec![Packet::Noop],
                    close_transport: false,
                    then_close_session: None,
                    compress: false,
                });
            }
            if state.write_buffer.is_empty() {
                return None;
            }
            Some(Batch::of_write_buffer(state))
        }
    }
}
