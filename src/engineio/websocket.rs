//! The WebSocket transport (the reference's `transports/websocket.ts`, with the `ws` package's
//! handshake). One thread per WebSocket, its connection thread, which reads; writes are made by
//! whichever thread has something to send, without waiting for the client:
//!
//! ```text
//! connection thread = the reader              any thread that writes a packet (a handler on the
//! ─────────────────────────────               reader, the `timers` heartbeat, a `news` interval,
//! loop { frame = ws.read()                    a broadcast): socket.write()
//!   "2probe" → write "3probe"                 ─────────────────────────────────────────────────
//!   "5"      → session: I am the transport    writable (nobody writing, nothing queued): writes
//!   other    → session.handle_packet()          the frames at once, send(MSG_DONTWAIT), under
//! }                                             the session's lock (`write_in_place`)
//! on_close(); join the `ws-writer`, if any    else: queues, and if nobody writes, takes the
//!                                               writing role: takes the buffer, writes it
//!                                             └ the kernel's buffer is full (a slow client):
//!                                                 thread "ws-writer <sid>" takes the role over and
//!                                                 writes, waiting, until the buffer is empty
//! ```
//!
//! So an idle WebSocket costs one thread, blocked in `read()`; a second one exists only while a
//! client is slower to read than we are to write. The reference does the same on Node's one
//! thread: `ws` writes at once, and libuv queues what the kernel does not take.
//!
//! A session opened straight over WebSocket (`transports: ['websocket']`) starts attached. An
//! upgrade starts as a probe: only `2probe` and then `5` are accepted; anything else, or the
//! `upgradeTimeout`, closes only this WebSocket and the session goes on polling.
//!
//! Frames are read by our own [`FrameReader`] and encoded by `frames::encode_frame` (`frames.rs`:
//! the reader holds a buffer only while bytes wait in it, the writer only while the kernel has
//! not taken them); a client's Ping is answered through the writing path (`Socket::queue_pong`),
//! so that every write goes through one [`WsWriter`].
//!
//! The reader runs from the top of its thread's stack (`listener::Upgraded`), and a client quiet
//! for `keep_alive_timeout` (5 s) costs little: the reader gives back the stack pages below its
//! frame (`memory::release_unused_stack`) and waits with no time limit, holding no buffer.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use log::{debug, error, info};
use tungstenite::handshake::derive_accept_key;

use super::Message;
use super::base64;
use super::frames::{self, FrameError, FrameReader, Incoming};
use super::packet::Packet;
use super::packet_v3;
use super::payload;
use super::server::{ErrorCode, Server, TransportKind, abort_handshake, abort_upgrade};
use super::socket::{Batch, Socket};
use crate::http::{Connection, Request, SharedStream};
use crate::listener::{Next, Upgraded};
use crate::sync::lock;

/// Frames are collected up to this size, then written at once (a batch is written at its end
/// anyway): one `send` per batch, not one per frame.
const WRITER_BATCH_BYTES: usize = 64 * 1024;

/// How the reader's loop ended.
enum ReaderEnd {
    /// The client closed (close frame, or the connection ended): "transport close".
    Closed,
    /// A protocol violation: "transport error".
    Error(String),
    /// A message over `maxPayload`: closed with code 1009, "transport error".
    TooLarge(String),
    /// A packet that is not Engine.IO: "parse error".
    ParseError(String),
    /// The probe failed (a packet other than `2probe`/`5`): only this WebSocket closes.
    ProbeFailed,
}

/// The read side of the socket, for the [`FrameReader`].
///
/// It corks the session while the reader handles what one `read` brought: the frame reader
/// calls `read` only when the frames it has are used up, so "about to read" is the moment to
/// write the answers of those frames, all in one `send` (see `Socket::cork`).
///
/// It also times the client's silences: while the client is active the socket's read timeout is
/// `idle_after`, so a quiet spell ends a `read` with `WouldBlock`; the reader then goes idle
/// ([`WsReader::go_idle`]) and reads with no timeout, until the client speaks again.
struct ReadHalf {
    stream: SharedStream,
    /// The session, once there is one (a handshake over WebSocket opens it after the 101).
    socket: Option<Socket>,
    /// A silence this long makes the reader idle.
    idle_after: Duration,
    /// The reader is idle: the socket has no read timeout.
    idle: bool,
}

impl Read for ReadHalf {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if let Some(socket) = &self.socket {
            socket.uncork();
        }
        let result = self.stream.read(buffer);
        if self.idle && matches!(result, Ok(n) if n > 0) {
            // The client speaks again: time its next silence. (This fails only on a broken
            // socket, which the next `read` reports.)
            self.idle = false;
            let _ = self.stream.tcp().set_read_timeout(Some(self.idle_after));
        }
        if let Some(socket) = &self.socket {
            socket.cork();
        }
        result
    }
}

/// The reader of one WebSocket: the frame reader and the socket it reads.
struct WsReader {
    frames: FrameReader,
    stream: ReadHalf,
}

impl WsReader {
    /// The client has said nothing for `idle_after`: give back the stack pages below this call
    /// and wait with no time limit. An idle client costs its thread's stack down to the blocked
    /// `read()` and no buffer (NOTES.md, "An idle client's bytes").
    fn go_idle(&mut self) {
        crate::memory::release_unused_stack();
        self.stream.idle = true;
        let _ = self.stream.stream.tcp().set_read_timeout(None);
    }
}

/// How a write treats a full kernel buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Return at once with what the kernel took (`WouldBlock`): any thread that emits.
    No,
    /// Wait for the client to read, up to the write timeout: the `ws-writer` thread only.
    Yes,
}

/// The write side of one WebSocket: frames encoded (`frames::encode_frame`) and handed to the
/// socket. Every write to the WebSocket goes through it, one thread at a time: the thread holding
/// the session's writing role (`State::flushing`), or, while probing, the probe's reader.
///
/// `#[repr(C)]`: the fields in this order, the three a write uses first, next to the `Arc`'s
/// counts (as the session's `State`, for a broadcast's sake).
#[repr(C)]
pub(super) struct WsWriter {
    out: Mutex<Outgoing>,
    /// The socket, for `shutdown`.
    stream: SharedStream,
    /// How binary data goes out: Engine.IO v3 puts the type byte `0x04` first, or (with `b64` in
    /// this WebSocket's query) writes `b4<base64>` text (`encode_packet`).
    format: FrameFormat,
    /// The `ws-writer` thread of a slow client, if one was started.
    slow: Mutex<SlowWriter>,
    /// The close frame's code and reason, when it is not a plain one (1009: over `maxPayload`).
    close_frame: Mutex<Option<(u16, &'static str)>>,
}

/// The frame format of one WebSocket (the reference's transport `protocol` and `supportsBinary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameFormat {
    protocol: u8,
    supports_binary: bool,
}

/// The bytes of the frames on their way out.
struct Outgoing {
    /// Encoded frames; `bytes[sent..]` is not with the kernel yet (a slow client). Freed once all
    /// of it is: an idle WebSocket keeps no buffer.
    bytes: Vec<u8>,
    sent: usize,
    /// The close frame is queued: nothing may follow it.
    closed: bool,
}

impl Outgoing {
    /// Hands the kernel what is pending: `Ok` once it took all of it. With `Wait::No` a full
    /// buffer is `WouldBlock` (the rest stays here); with `Wait::Yes` it waits, up to the write
    /// timeout (then `WouldBlock` too).
    fn send(&mut self, stream: &SharedStream, wait: Wait) -> io::Result<()> {
        while self.sent < self.bytes.len() {
            let rest = &self.bytes[self.sent..];
            let written = match wait {
                Wait::No => stream.send_now(rest),
                Wait::Yes => {
                    let mut socket = stream.tcp();
                    socket.write(rest)
                }
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.bytes = Vec::new();
        self.sent = 0;
        Ok(())
    }

    /// Bytes encoded and not sent.
    fn pending(&self) -> usize {
        self.bytes.len() - self.sent
    }
}

/// What `WsWriter::write_in_place` did.
pub(super) enum InPlace {
    /// The kernel took every frame.
    All,
    /// The kernel's buffer is full: the rest of the frames waits in the writer's `out`.
    Partly,
}

/// The `ws-writer` thread of one WebSocket: owned by the WebSocket's reader, which joins it.
struct SlowWriter {
    thread: Option<JoinHandle<()>>,
    /// The reader has ended and joined it: no other may start.
    finished: bool,
}

/// What a write of a batch did.
enum Written {
    /// All of it is with the kernel.
    All,
    /// The kernel's buffer is full (`Wait::No` only): the frames up to the first packet of `rest`
    /// are written or waiting in the writer's bytes, `rest` is not encoded at all.
    Partly { rest: Batch },
}

/// A failed write, with the packets it could not hand to the kernel (to be counted as dropped).
struct WriteFailed {
    error: io::Error,
    unsent: Vec<Packet>,
}

impl WsWriter {
    fn new(stream: SharedStream, format: FrameFormat) -> WsWriter {
        WsWriter {
            out: Mutex::new(Outgoing {
                bytes: Vec::new(),
                sent: 0,
                closed: false,
            }),
            stream,
            slow: Mutex::new(SlowWriter {
                thread: None,
                finished: false,
            }),
            close_frame: Mutex::new(None),
            format,
        }
    }

    /// Writes a batch as frames (`4hello` as a text frame, binary data as a binary frame), in one
    /// `send` (or one per 64 KiB).
    fn write_batch(&self, sid: &str, batch: Batch, wait: Wait) -> Result<Written, WriteFailed> {
        let mut out = lock(&self.out);
        if out.closed {
            let error = io::Error::new(io::ErrorKind::BrokenPipe, "the close frame has gone out");
            return Err(WriteFailed {
                error,
                unsent: batch.packets,
            });
        }
        if let Some(data) = batch.pong {
            frames::encode_frame(&mut out.bytes, frames::PONG, &[&data]);
        }
        let mut packets = batch.packets.into_iter();
        while let Some(packet) = packets.next() {
            crate::trace::outgoing(sid, &packet);
            encode_packet(&mut out.bytes, &packet, self.format);
            if out.pending() >= WRITER_BATCH_BYTES {
                if let Err(error) = out.send(&self.stream, wait) {
                    // This frame waits in `out`; the rest is not encoded.
                    let rest: Vec<Packet> = packets.collect();
                    return kernel_full_or_failed(error, wait, rest, batch.close_transport, batch.then_close_session);
                }
            }
        }
        match out.send(&self.stream, wait) {
            Ok(()) => Ok(Written::All),
            Err(error) => {
                kernel_full_or_failed(error, wait, Vec::new(), batch.close_transport, batch.then_close_session)
            }
        }
    }

    /// Writes `messages` as frames now, from the thread that emits them, in one
    /// `send(MSG_DONTWAIT)` (`Socket::write_messages`, with the session's lock held: the
    /// transport is writable, so `out` holds nothing). `Partly`: the kernel did not take all of
    /// it, and the rest waits in `out` for a `ws-writer` (`continue_in_slow_writer`).
    ///
    /// ```text
    /// 81 1a 34 32 5b 22 6e 65 77 73 22 2c ...   4 + 42["news",...]: one text frame per message
    /// ```
    pub(super) fn write_in_place(&self, sid: &str, messages: &[Message]) -> io::Result<InPlace> {
        let mut out = lock(&self.out);
        if out.closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the close frame has gone out",
            ));
        }
        for message in messages {
            crate::trace::outgoing_message(sid, message);
            encode_message(&mut out.bytes, message, self.format);
        }
        match out.send(&self.stream, Wait::No) {
            Ok(()) => Ok(InPlace::All),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(InPlace::Partly),
            Err(error) => Err(error),
        }
    }

    /// Sends one frame from the probe's reader (`3probe`), waiting if it must: nothing else
    /// writes to a probing WebSocket, and its reader has nothing else to do meanwhile.
    fn write_from_reader(&self, sid: &str, packet: &Packet) -> io::Result<()> {
        let mut out = lock(&self.out);
        crate::trace::outgoing(sid, packet);
        encode_packet(&mut out.bytes, packet, self.format);
        out.send(&self.stream, Wait::Yes)
    }

    /// Answers a client's Ping frame from the probe's reader (an attached WebSocket's pong goes
    /// with the session's next write instead: `Socket::queue_pong`).
    fn pong_from_reader(&self, data: &[u8]) -> io::Result<()> {
        let mut out = lock(&self.out);
        frames::encode_frame(&mut out.bytes, frames::PONG, &[data]);
        out.send(&self.stream, Wait::Yes)
    }

    /// Sends the close frame if the kernel takes it now, then shuts the socket down: the
    /// reader's `read` returns, the client sees the end.
    ///
    /// ```text
    /// 88 00                                  a plain close
    /// 88 1b 03 f1 Max payload size exceeded  code 1009 and its reason
    /// ```
    pub(super) fn close(&self) {
        let out = match self.out.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            // A `ws-writer` is blocked writing: no close frame then, only the shutdown.
            Err(TryLockError::WouldBlock) => None,
        };
        if let Some(mut out) = out {
            if !out.closed {
                out.closed = true;
                match lock(&self.close_frame).take() {
                    Some((code, reason)) => {
                        frames::encode_frame(&mut out.bytes, frames::CLOSE, &[&code.to_be_bytes(), reason.as_bytes()])
                    }
                    None => frames::encode_frame(&mut out.bytes, frames::CLOSE, &[]),
                }
                let _ = out.send(&self.stream, Wait::No);
            }
        }
        self.shutdown();
    }

    /// The socket (another handle to it).
    pub(super) fn stream(&self) -> SharedStream {
        self.stream.clone()
    }

    /// Ends the TCP connection both ways (a blocked `read` or `write` on it returns).
    pub(super) fn shutdown(&self) {
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
    }

    /// The session closed while a `ws-writer` was blocked on a client that does not read: what it
    /// holds is dropped anyway, so end its wait (up to the write timeout) now.
    pub(super) fn unblock_slow_writer(&self) {
        let slow = lock(&self.slow);
        if slow.thread.as_ref().is_some_and(|thread| !thread.is_finished()) {
            self.shutdown();
        }
    }

    /// Called by the reader at its end: no `ws-writer` may start any more; the last one is joined.
    fn finish(&self) {
        let thread = {
            let mut slow = lock(&self.slow);
            slow.finished = true;
            slow.thread.take()
        };
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// One packet as a WebSocket frame: a text frame `4hello` (the type and the message, appended
/// without an intermediate string), or a binary frame for binary data (Engine.IO v3: `04` and the
/// data, or the text `b4<base64>` for a `b64` client).
fn encode_packet(out: &mut Vec<u8>, packet: &Packet, format: FrameFormat) {
    match packet {
        Packet::Message(message) => encode_message(out, message, format),
        other => frames::encode_frame(out, frames::TEXT, &[other.encode_as_text().as_bytes()]),
    }
}

/// A MESSAGE packet as a WebSocket frame (`encode_packet`'s first case).
fn encode_message(out: &mut Vec<u8>, message: &Message, format: FrameFormat) {
    match message {
        Message::Text(text) => frames::encode_frame(out, frames::TEXT, &[b"4", text.as_bytes()]),
        Message::Binary(bytes) if format.protocol == 4 => frames::encode_frame(out, frames::BINARY, &[bytes]),
        Message::Binary(bytes) if format.supports_binary => frames::encode_frame(out, frames::BINARY, &[&[4], bytes]),
        // Engine.IO v3 with `b64`: `b4<base64>` (`packet_v3::encode_packet`).
        Message::Binary(bytes) => frames::encode_frame(out, frames::TEXT, &[b"b4", base64::encode(bytes).as_bytes()]),
    }
}

/// After a failed `send`: is it only the kernel's buffer being full?
fn kernel_full_or_failed(
    error: io::Error,
    wait: Wait,
    rest: Vec<Packet>,
    close_transport: bool,
    then_close_session: Option<&'static str>,
) -> Result<Written, WriteFailed> {
    if error.kind() == io::ErrorKind::WouldBlock && wait == Wait::No {
        let rest = Batch {
            pong: None,
            packets: rest,
            close_transport,
            then_close_session,
            compress: false,
        };
        return Ok(Written::Partly { rest });
    }
    // With `Wait::Yes`, `WouldBlock` is the write timeout: the client stopped reading.
    Err(WriteFailed { error, unsent: rest })
}

/// The reference's `flush` for a WebSocket, on the thread that has just taken the writing role
/// (`State::flush`): writes whatever the session has queued, and what is queued meanwhile, without
/// waiting for the client, until nothing is left; then the role is free again.
pub(super) fn flush(socket: &Socket, writer: &Arc<WsWriter>) {
    write_until_empty(socket, writer, None, Wait::No);
}

/// The loop of `flush` and of the `ws-writer` thread: `first` (if any), then batch after batch.
fn write_until_empty(socket: &Socket, writer: &Arc<WsWriter>, first: Option<Batch>, wait: Wait) {
    let mut next = first;
    loop {
        let batch = match next.take() {
            Some(batch) => batch,
            None => match socket.take_for_websocket() {
                Some(batch) => batch,
                None => return, // nothing left: the role is free
            },
        };
        let close_transport = batch.close_transport;
        let then_close_session = batch.then_close_session;
        match writer.write_batch(socket.id(), batch, wait) {
            Ok(Written::All) => {}
            Ok(Written::Partly { rest }) => {
                // The client reads slower than we write. This thread (an emitter) must not
                // wait for it: a thread of its own takes the role over.
                start_slow_writer(socket, writer, rest);
                return;
            }
            Err(failed) => {
                debug!("{}: websocket write failed: {}", socket.id(), failed.error);
                // The role is kept: the session closes and nothing more is written.
                socket.write_failed(failed.unsent, "websocket write failed");
                writer.shutdown();
                return;
            }
        }
        if close_transport {
            // A graceful close ends the session before the close frame goes out, so that a
            // client seeing the close finds the session gone.
            if let Some(reason) = then_close_session {
                socket.close_because(reason);
            }
            writer.close();
            return;
        }
    }
}

/// After a write in place the kernel did not take whole (`InPlace::Partly`), on the thread that
/// took the writing role for it: a `ws-writer` writes the rest, then what is queued meanwhile.
pub(super) fn continue_in_slow_writer(socket: &Socket, writer: &Arc<WsWriter>) {
    let rest = Batch {
        pong: None,
        packets: Vec::new(),
        close_transport: false,
        then_close_session: None,
        compress: false,
    };
    start_slow_writer(socket, writer, rest);
}

/// Starts the thread `ws-writer <sid>` with what the kernel did not take; it holds the writing
/// role until the session's buffer is empty, then ends.
fn start_slow_writer(socket: &Socket, writer: &Arc<WsWriter>, rest: Batch) {
    let mut slow = lock(&writer.slow);
    if slow.finished {
        // The reader has ended: the session is closed and the socket shut down.
        return;
    }
    if let Some(previous) = slow.thread.take() {
        // It gave the role back, so it is returning: this is quick.
        let _ = previous.join();
    }
    let thread_socket = socket.clone();
    let thread_writer = Arc::clone(writer);
    let started = crate::threads::spawn(format!("ws-writer {}", socket.id()), move || {
        debug!(
            "{}: the client reads slowly: a ws-writer writes, waiting",
            thread_socket.id()
        );
        write_until_empty(&thread_socket, &thread_writer, Some(rest), Wait::Yes);
        debug!("{}: ws-writer done", thread_socket.id());
    });
    match started {
        Ok(thread) => slow.thread = Some(thread),
        Err(e) => {
            drop(slow);
            error!("{}: cannot start a ws-writer thread: {e}", socket.id());
            socket.on_error("no thread for a slow client");
            writer.shutdown();
        }
    }
}

/// The `ws` package's check of the key: 16 bytes in base64.
fn is_valid_key(key: &str) -> bool {
    key.len() == 24
        && key.ends_with("==")
        && key[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// What a WebSocket request is for.
enum Purpose {
    /// To become the transport of this polling session (`sid` given): probe first.
    Upgrade(Socket),
    /// To open a new session with this sid, over WebSocket from the start.
    Handshake(String),
}

/// A GET with `Upgrade: websocket` on the Engine.IO path (the reference's `handleUpgrade`).
pub(super) fn handle_upgrade(server: &Server, request: Request, connection: &mut Connection) -> io::Result<Next> {
    let socket = match server.verify(&request, true) {
        Ok(socket) => socket,
        Err(refused) => return server.refuse_upgrade(&request, connection, refused),
    };
    if request.query_param("transport") != Some("websocket") {
        // (The reference accepts the WebSocket, then closes it: no `connection_error` either.)
        return abort_upgrade(connection.stream(), ErrorCode::BadRequest.message());
    }
    let purpose = match socket {
        Some(socket) => Purpose::Upgrade(socket),
        // A handshake: the protocol version and a new sid, before the `101`.
        None => match server.new_session_id(&request) {
            Ok(id) => Purpose::Handshake(id),
            Err(refused) => return server.refuse_upgrade(&request, connection, refused),
        },
    };
    let key = request.header("sec-websocket-key").unwrap_or("").trim().to_string();
    if !is_valid_key(&key) {
        return abort_handshake(connection.stream(), "Missing or invalid Sec-WebSocket-Key header", "");
    }
    let version = request.header("sec-websocket-version").unwrap_or("").trim();
    if version != "13" && version != "8" {
        return abort_handshake(
            connection.stream(),
            "Missing or invalid Sec-WebSocket-Version header",
            "Sec-WebSocket-Version: 13, 8\r\n",
        );
    }

    // The reference's extra lines (CORS, the `initial_headers` and `headers` listeners') come
    // after the `ws` package's own.
    let accept = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{}\r\n",
        derive_accept_key(key.as_bytes()),
        server.upgrade_header_lines(&request)
    );
    connection.stream().write_all(accept.as_bytes())?;

    // From here the socket is a WebSocket: one handle to read (no limit on how long the client
    // may be quiet: the heartbeat finds a dead client; the read timeout only marks it idle), one
    // to write. The writer never reads (no read buffer) and collects a batch of frames (up to
    // 64 KiB) for one `send`.
    let idle_after = connection.limits().keep_alive_timeout;
    let read_stream = connection.share_stream();
    read_stream.tcp().set_read_timeout(Some(idle_after))?;
    let reader = WsReader {
        frames: FrameReader::new(connection.take_buffered_bytes(), server.options().max_payload),
        stream: ReadHalf {
            stream: read_stream,
            socket: None,
            idle_after,
            idle: false,
        },
    };
    let format = FrameFormat {
        protocol: payload::protocol_of(&request),
        supports_binary: payload::supports_binary(&request),
    };
    let writer = Arc::new(WsWriter::new(connection.share_stream(), format));

    // The reader's loop runs once this request's calls have returned (see `Upgraded`).
    let session = match purpose {
        Purpose::Upgrade(socket) => ReaderOf::Probe(socket),
        Purpose::Handshake(id) => {
            info!("{id}: handshake over websocket from {}", request.peer);
            let socket = server.open_session(id, TransportKind::WebSocket, request);
            ReaderOf::NewSession(server.clone(), socket)
        }
    };
    Ok(Next::Upgraded(Box::new(WebSocketReader {
        session,
        reader,
        writer,
    })))
}

/// What the connection thread runs once the upgrade request's calls have returned
/// (`listener::Upgraded`): the WebSocket's reader.
struct WebSocketReader {
    session: ReaderOf,
    reader: WsReader,
    writer: Arc<WsWriter>,
}

/// Whose reader it is.
enum ReaderOf {
    /// A probe for this polling session (`run_probe`).
    Probe(Socket),
    /// A session opened over this WebSocket (`run_attached`).
    NewSession(Server, Socket),
}

impl Upgraded for WebSocketReader {
    fn run(self: Box<Self>) {
        let WebSocketReader {
            session,
            reader,
            writer,
        } = *self; // moved out: the box's own 288 bytes are freed when `run` returns
        match session {
            ReaderOf::Probe(socket) => run_probe(socket, reader, writer),
            ReaderOf::NewSession(server, socket) => run_attached(&server, socket, reader, writer),
        }
    }
}

/// A session opened over WebSocket: the WebSocket is its transport at once (the open packet goes
/// out), then the `connection` event, then the reader's loop.
fn run_attached(server: &Server, socket: Socket, reader: WsReader, writer: Arc<WsWriter>) {
    socket.attach_websocket(Arc::clone(&writer));
    server.emit_connection(&socket);
    let (end, _) = read_loop(&socket, reader, &writer, false);
    finish(socket, end, &writer, true);
}

/// An upgrade of a polling session: probe first.
fn run_probe(socket: Socket, reader: WsReader, writer: Arc<WsWriter>) {
    if !socket.begin_upgrade(Arc::clone(&writer)) {
        // Already upgrading or upgraded: this second WebSocket is closed at once (the reference's
        // "transport has already been trying to upgrade").
        debug!("{}: second WebSocket for the same session: closing it", socket.id());
        writer.close();
        return;
    }
    let (end, attached) = read_loop(&socket, reader, &writer, true);
    finish(socket, end, &writer, attached);
}

/// The end of a WebSocket: close the session (or, for a failed probe, just forget the probe),
/// then make sure the socket is shut down and the `ws-writer` thread, if any, has ended.
fn finish(socket: Socket, end: ReaderEnd, writer: &Arc<WsWriter>, attached: bool) {
    if let ReaderEnd::TooLarge(_) = &end {
        // 1009: "Message Too Big" (RFC 6455 7.4.1), with the `ws` package's reason.
        *lock(&writer.close_frame) = Some((1009, "Max payload size exceeded"));
    }
    if !attached {
        debug!("{}: probing WebSocket ended", socket.id());
        socket.abort_upgrade();
        writer.close();
    } else {
        match end {
            ReaderEnd::Closed => socket.close_because("transport close"),
            ReaderEnd::Error(why) | ReaderEnd::TooLarge(why) => socket.on_error(&why),
            ReaderEnd::ParseError(why) => {
                debug!("{}: {why}", socket.id());
                socket.close_because("parse error")
            }
            ReaderEnd::ProbeFailed => socket.close_because("transport error"),
        }
    }
    writer.shutdown();
    writer.finish();
}

/// Reads frames until the WebSocket ends; `probing` until `5` makes it the transport. Returns
/// how it ended, and whether it was the session's transport by then.
fn read_loop(socket: &Socket, mut reader: WsReader, writer: &Arc<WsWriter>, probing: bool) -> (ReaderEnd, bool) {
    reader.stream.socket = Some(socket.clone());
    let mut attached = !probing;
    let end = read_frames(socket, &mut reader, writer, &mut attached);
    // Whatever this thread's handlers queued last goes out (or is dropped with the session).
    socket.uncork();
    (end, attached)
}

/// The loop of `read_loop`.
fn read_frames(socket: &Socket, reader: &mut WsReader, writer: &Arc<WsWriter>, attached: &mut bool) -> ReaderEnd {
    loop {
        let incoming = match reader.frames.read_message(&mut reader.stream) {
            Ok(incoming) => incoming,
            Err(FrameError::Io(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                reader.go_idle();
                continue;
            }
            Err(FrameError::Io(e)) => {
                if e.kind() != io::ErrorKind::UnexpectedEof {
                    debug!("{}: websocket read: {e}", socket.id());
                }
                return ReaderEnd::Closed;
            }
            Err(e @ FrameError::TooLarge(_)) => return ReaderEnd::TooLarge(e.to_string()),
            Err(e @ FrameError::Protocol(_)) => return ReaderEnd::Error(e.to_string()),
        };
        let packet = match incoming {
            Incoming::Text(text) => {
                let decoded = if writer.format.protocol == 3 {
                    packet_v3::decode_packet(&text)
                } else {
                    Packet::decode_owned_text(text)
                };
                match decoded {
                    Ok(packet) => packet,
                    Err(e) => return ReaderEnd::ParseError(e.to_string()),
                }
            }
            Incoming::Binary(bytes) if writer.format.protocol == 3 => match packet_v3::decode_binary_packet(&bytes) {
                Ok(packet) => packet,
                Err(e) => return ReaderEnd::ParseError(e.to_string()),
            },
            Incoming::Binary(bytes) => Packet::Message(Message::Binary(bytes)),
            Incoming::Ping(data) => {
                if *attached {
                    socket.queue_pong(data);
                } else {
                    let _ = writer.pong_from_reader(&data);
                }
                continue;
            }
            Incoming::Close => return ReaderEnd::Closed,
            Incoming::Pong => continue,
        };
        crate::trace::incoming(socket.id(), &packet);
        if *attached {
            socket.handle_packet(packet);
            continue;
        }
        match packet {
            Packet::Ping(data) if data == "probe" => {
                if let Err(e) = writer.write_from_reader(socket.id(), &Packet::Pong("probe".to_string())) {
                    return ReaderEnd::Error(e.to_string());
                }
                socket.on_probe_answered();
            }
            Packet::Upgrade => {
                if !socket.complete_upgrade() {
                    return ReaderEnd::ProbeFailed;
                }
                *attached = true;
            }
            other => {
                debug!(
                    "{}: {} packet during the probe: closing this WebSocket",
                    socket.id(),
                    other.type_name()
                );
                return ReaderEnd::ProbeFailed;
            }
        }
    }
}
