//! The WebSocket transport (the reference's `transports/websocket.ts`, with the `ws` package's
//! handshake). One thread per WebSocket, its connection thread, which reads; writes are made by
//! whichever thread has something to send, without waiting for the client:
//!
//! ```text
//! connection thread = the reader              any thread that queues a packet (a handler on the
//! ─────────────────────────────               reader, the `timers` heartbeat, a `news` interval,
//! loop { frame = ws.read()                    a broadcast): socket.send() → flush()
//!   "2probe" → write "3probe"                 ─────────────────────────────────────────────────
//!   "5"      → session: I am the transport    takes the writing role (one thread at a time),
//!   other    → session.handle_packet()          takes the buffer, writes it with send(MSG_DONTWAIT)
//! }                                           └ the kernel's buffer is full (a slow client):
//! on_close(); join the `ws-writer`, if any        thread "ws-writer <sid>" takes the role over and
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
//! tungstenite answers Ping and Close frames by itself while reading. Here the reader's stream
//! discards writes ([`ReadHalf`]) and the reader hands those answers to the writing path
//! (`Socket::queue_pong`, `on_close`), so that every write goes through one [`WsWriter`].

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;

use log::{debug, error, info};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Message as WsMessage, WebSocket};

use super::Message;
use super::packet::Packet;
use super::packet_v3;
use super::payload;
use super::server::{ErrorCode, Server, TransportKind, abort_handshake, abort_upgrade};
use super::socket::{Batch, Socket};
use crate::http::{Connection, Request, SharedStream};
use crate::listener::Next;
use crate::sync::lock;

/// How much the reader asks of the socket in one `read` (and keeps as its buffer).
const READER_BUFFER_BYTES: usize = 4096;
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

/// The read side of the socket for tungstenite: reads go to the socket, writes are dropped
/// (tungstenite's automatic Pong/Close answers go through the [`WsWriter`] instead).
///
/// It also corks the session while the reader handles what one `read` brought: tungstenite
/// calls `read` only when the frames it has are used up, so "about to read" is the moment to
/// write the answers of those frames, all in one `send` (see `Socket::cork`).
struct ReadHalf {
    stream: SharedStream,
    /// The session, once there is one (a handshake over WebSocket opens it after the 101).
    socket: Option<Socket>,
}

impl Read for ReadHalf {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if let Some(socket) = &self.socket {
            socket.uncork();
        }
        let result = self.stream.read(buffer);
        if let Some(socket) = &self.socket {
            socket.cork();
        }
        result
    }
}

impl Write for ReadHalf {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        Ok(buffer.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The write side of the socket for tungstenite: `send_now` (never waits) or, for the
/// `ws-writer` thread of a slow client, a plain blocking `write` (which gives up after the
/// connection's write timeout).
struct SendHalf {
    stream: SharedStream,
    wait: Wait,
}

/// How a write treats a full kernel buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Return at once with what the kernel took (`WouldBlock`): any thread that emits.
    No,
    /// Wait for the client to read, up to the write timeout: the `ws-writer` thread only.
    Yes,
}

impl Write for SendHalf {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        match self.wait {
            Wait::No => self.stream.send_now(buffer),
            Wait::Yes => self.stream.write(buffer),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for SendHalf {
    /// Never called: the writer's WebSocket is only written to.
    fn read(&mut self, _buffer: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// The write side of one WebSocket: tungstenite's frame encoder over the socket. Every write to
/// the WebSocket goes through it, one thread at a time: the thread holding the session's writing
/// role (`State::flushing`), or, while probing, the probe's reader.
pub(super) struct WsWriter {
    ws: Mutex<WebSocket<SendHalf>>,
    /// The socket, for `shutdown`.
    stream: SharedStream,
    /// The `ws-writer` thread of a slow client, if one was started.
    slow: Mutex<SlowWriter>,
    /// The close frame to end with, when it is not a plain one (1009: over `maxPayload`).
    close_frame: Mutex<Option<CloseFrame>>,
    /// How binary data goes out: Engine.IO v3 puts the type byte `0x04` first, or (with `b64` in
    /// this WebSocket's query) writes `b4<base64>` text (`to_frame`).
    format: FrameFormat,
}

/// The frame format of one WebSocket (the reference's transport `protocol` and `supportsBinary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameFormat {
    protocol: u8,
    supports_binary: bool,
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
    /// are written or waiting in tungstenite's buffer, `rest` is not written at all.
    Partly { rest: Batch },
}

/// A failed write, with the packets it could not hand to the kernel (to be counted as dropped).
struct WriteFailed {
    error: tungstenite::Error,
    unsent: Vec<Packet>,
}

impl WsWriter {
    fn new(stream: SharedStream, config: WebSocketConfig, format: FrameFormat) -> WsWriter {
        let send_half = SendHalf {
            stream: stream.clone(),
            wait: Wait::No,
        };
        WsWriter {
            ws: Mutex::new(WebSocket::from_raw_socket(send_half, Role::Server, Some(config))),
            stream,
            slow: Mutex::new(SlowWriter {
                thread: None,
                finished: false,
            }),
            close_frame: Mutex::new(None),
            format,
        }
    }

    /// Writes a batch as frames (`4hello` as a text frame, binary data as a binary frame) and
    /// flushes them.
    fn write_batch(&self, sid: &str, batch: Batch, wait: Wait) -> Result<Written, WriteFailed> {
        let mut ws = lock(&self.ws);
        ws.get_mut().wait = wait;
        if let Some(data) = batch.pong {
            // Queued by tungstenite, written with the frames below.
            let _ = ws.write(WsMessage::Pong(data.into()));
        }
        let mut packets = batch.packets.into_iter();
        while let Some(packet) = packets.next() {
            crate::trace::outgoing(sid, &packet);
            if let Err(error) = ws.write(to_frame(&packet, self.format)) {
                // The frame itself is in tungstenite's buffer; the rest is not.
                let rest: Vec<Packet> = packets.collect();
                return kernel_full_or_failed(error, wait, rest, batch.close_transport, batch.then_close_session);
            }
        }
        match ws.flush() {
            Ok(()) => Ok(Written::All),
            Err(error) => {
                kernel_full_or_failed(error, wait, Vec::new(), batch.close_transport, batch.then_close_session)
            }
        }
    }

    /// Sends one frame from the probe's reader (`3probe`), waiting if it must: nothing else
    /// writes to a probing WebSocket, and its reader has nothing else to do meanwhile.
    fn write_from_reader(&self, sid: &str, packet: &Packet) -> tungstenite::Result<()> {
        let mut ws = lock(&self.ws);
        ws.get_mut().wait = Wait::Yes;
        crate::trace::outgoing(sid, packet);
        ws.send(to_frame(packet, self.format))
    }

    /// Sends the close frame if the kernel takes it now, then shuts the socket down: the
    /// reader's `read` returns, the client sees the end.
    pub(super) fn close(&self) {
        let ws = match self.ws.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            // A `ws-writer` is blocked writing: no close frame then, only the shutdown.
            Err(TryLockError::WouldBlock) => None,
        };
        if let Some(mut ws) = ws {
            ws.get_mut().wait = Wait::No;
            let frame = lock(&self.close_frame).take();
            let _ = ws.close(frame);
            let _ = ws.flush();
        }
        self.shutdown();
    }

    /// Ends the TCP connection both ways (a blocked `read` or `write` on it returns).
    fn shutdown(&self) {
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

/// After a failed `write`/`flush`: is it only the kernel's buffer being full?
fn kernel_full_or_failed(
    error: tungstenite::Error,
    wait: Wait,
    rest: Vec<Packet>,
    close_transport: bool,
    then_close_session: Option<&'static str>,
) -> Result<Written, WriteFailed> {
    let would_block = matches!(&error, tungstenite::Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock);
    if would_block && wait == Wait::No {
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

/// One packet as a WebSocket frame: text `4hello`, or a binary frame for binary data (Engine.IO
/// v3: `04` and the data, or the text `b4<base64>` for a `b64` client).
fn to_frame(packet: &Packet, format: FrameFormat) -> WsMessage {
    match packet {
        Packet::Message(Message::Binary(bytes)) if format.protocol == 4 => WsMessage::binary(bytes.clone()),
        Packet::Message(Message::Binary(bytes)) if format.supports_binary => {
            let mut frame = Vec::with_capacity(1 + bytes.len());
            frame.push(4);
            frame.extend_from_slice(bytes);
            WsMessage::binary(frame)
        }
        Packet::Message(Message::Binary(_)) => WsMessage::text(packet_v3::encode_packet(packet)),
        other => WsMessage::text(other.encode_as_text()),
    }
}

/// One frame from the client as a packet, by this WebSocket's protocol (v3: binary data after
/// the type byte, `b4<base64>` in text).
fn from_frame(frame: WsMessage, protocol: u8) -> Result<Option<Packet>, String> {
    let decoded = match frame {
        WsMessage::Text(text) if protocol == 3 => packet_v3::decode_packet(text.as_str()),
        WsMessage::Text(text) => Packet::decode_text(text.as_str()),
        WsMessage::Binary(bytes) if protocol == 3 => packet_v3::decode_binary_packet(&bytes),
        WsMessage::Binary(bytes) => Ok(Packet::Message(Message::Binary(bytes.to_vec()))),
        _ => return Ok(None),
    };
    decoded.map(Some).map_err(|e| e.to_string())
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

    // From here the socket is a WebSocket: one handle to read (no timeout: the heartbeat finds a
    // dead client), one to write. The reader reads up to 4 KiB at a time; the writer never reads
    // (no read buffer) and collects a batch of frames (up to 64 KiB) for one `send`.
    let limits = WebSocketConfig::default()
        .max_message_size(Some(server.options().max_payload))
        .max_frame_size(Some(server.options().max_payload));
    let reader_config = limits.read_buffer_size(READER_BUFFER_BYTES);
    let writer_config = limits.read_buffer_size(0).write_buffer_size(WRITER_BATCH_BYTES);
    let read_stream = connection.share_stream();
    read_stream.tcp().set_read_timeout(None)?;
    let leftover = connection.take_buffered_bytes();
    let read_half = ReadHalf {
        stream: read_stream,
        socket: None,
    };
    let reader = WebSocket::from_partially_read(read_half, leftover, Role::Server, Some(reader_config));
    let format = FrameFormat {
        protocol: payload::protocol_of(&request),
        supports_binary: payload::supports_binary(&request),
    };
    let writer = Arc::new(WsWriter::new(connection.share_stream(), writer_config, format));

    match purpose {
        Purpose::Upgrade(socket) => run_probe(socket, reader, writer),
        Purpose::Handshake(id) => {
            info!("{id}: handshake over websocket from {}", request.peer);
            let socket = server.open_session(id, TransportKind::WebSocket, request);
            run_attached(server, socket, reader, writer)
        }
    }
    Ok(Next::Close)
}

/// A session opened over WebSocket: the WebSocket is its transport at once (the open packet goes
/// out), then the `connection` event, then the reader's loop.
fn run_attached(server: &Server, socket: Socket, reader: WebSocket<ReadHalf>, writer: Arc<WsWriter>) {
    socket.attach_websocket(Arc::clone(&writer));
    server.emit_connection(&socket);
    let (end, _) = read_loop(&socket, reader, &writer, false);
    finish(socket, end, &writer, true);
}

/// An upgrade of a polling session: probe first.
fn run_probe(socket: Socket, reader: WebSocket<ReadHalf>, writer: Arc<WsWriter>) {
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
        *lock(&writer.close_frame) = Some(CloseFrame {
            code: CloseCode::Size,
            reason: "Max payload size exceeded".into(),
        });
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
fn read_loop(
    socket: &Socket,
    mut reader: WebSocket<ReadHalf>,
    writer: &Arc<WsWriter>,
    probing: bool,
) -> (ReaderEnd, bool) {
    reader.get_mut().socket = Some(socket.clone());
    let mut attached = !probing;
    let end = read_frames(socket, &mut reader, writer, &mut attached);
    // Whatever this thread's handlers queued last goes out (or is dropped with the session).
    socket.uncork();
    (end, attached)
}

/// The loop of `read_loop`.
fn read_frames(
    socket: &Socket,
    reader: &mut WebSocket<ReadHalf>,
    writer: &Arc<WsWriter>,
    attached: &mut bool,
) -> ReaderEnd {
    loop {
        let frame = match reader.read() {
            Ok(frame) => frame,
            Err(tungstenite::Error::ConnectionClosed) | Err(tungstenite::Error::AlreadyClosed) => {
                return ReaderEnd::Closed;
            }
            Err(tungstenite::Error::Io(e)) => {
                debug!("{}: websocket read: {e}", socket.id());
                return ReaderEnd::Closed;
            }
            Err(tungstenite::Error::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake)) => {
                return ReaderEnd::Closed;
            }
            Err(e @ tungstenite::Error::Capacity(_)) => return ReaderEnd::TooLarge(e.to_string()),
            Err(e) => return ReaderEnd::Error(e.to_string()),
        };
        let frame = match frame {
            WsMessage::Text(_) | WsMessage::Binary(_) => frame,
            WsMessage::Ping(data) => {
                if *attached {
                    socket.queue_pong(data.to_vec());
                } else {
                    let mut ws = lock(&writer.ws);
                    ws.get_mut().wait = Wait::Yes;
                    let _ = ws.send(WsMessage::Pong(data));
                }
                continue;
            }
            WsMessage::Close(_) => return ReaderEnd::Closed,
            WsMessage::Pong(_) | WsMessage::Frame(_) => continue,
        };
        let packet = match from_frame(frame, writer.format.protocol) {
            Ok(Some(packet)) => packet,
            Ok(None) => continue,
            Err(why) => return ReaderEnd::ParseError(why),
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
