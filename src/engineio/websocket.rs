//! The WebSocket transport (the reference's `transports/websocket.ts`, with the `ws` package's
//! handshake), full duplex on two threads:
//!
//! ```text
//! connection thread = reader                     thread "ws-writer <sid>" = the only writer
//! ───────────────────────────                    ─────────────────────────────────────────
//! loop { frame = ws.read()                       loop { select! {
//!   "2probe" ─► commands: send "3probe" ───────►   commands: probe answer, Pong, Close
//!   "5"      ─► session: I am the transport        wake: session.take_for_websocket() → frames
//!   other    ─► session.on_packet()              } }
//! }                                              ends when the session drops `wake` (closed), or
//! drop(commands); join(writer); on_close()       the reader drops `commands` (client gone)
//! ```
//!
//! A session opened straight over WebSocket (`transports: ['websocket']`) starts attached. An
//! upgrade starts as a probe: only `2probe` and then `5` are accepted; anything else, or the
//! `upgradeTimeout`, closes only this WebSocket and the session goes on polling.
//!
//! tungstenite answers Ping and Close frames by itself while reading. Here the reader's stream
//! discards writes ([`ReadHalf`]) and the reader passes those answers to the writer, so that
//! exactly one thread ever writes to the socket.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded, select};
use log::{debug, info};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::{Bytes, Message as WsMessage, WebSocket};

use super::Message;
use super::packet::Packet;
use super::server::{ErrorCode, Server, TransportKind, abort_handshake, abort_upgrade};
use super::socket::Socket;
use crate::http::{Connection, Request, SharedStream};
use crate::listener::Next;

/// How much the reader asks of the socket in one `read` (and keeps as its buffer).
const READER_BUFFER_BYTES: usize = 4096;
/// The writer's frames are collected up to this size, then written at once (`write_batch`
/// flushes at the end of each batch anyway): one `write` per batch, not one per frame.
const WRITER_BATCH_BYTES: usize = 64 * 1024;

/// What the reader asks the writer to put on the wire.
enum WriterCommand {
    /// A packet outside the session's buffer: the `3probe` answer.
    Packet(Packet),
    /// The answer to a client's Ping frame.
    Pong(Bytes),
    /// Close with this code (e.g. 1009 when a message is over `maxPayload`).
    Close(CloseFrame),
}

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
/// (tungstenite's automatic Pong/Close answers are sent by the writer thread instead).
///
/// It also corks the session while the reader handles what one `read` brought: tungstenite
/// calls `read` only when the frames it has are used up, so "about to read" is the moment to
/// let the writer send the answers of those frames, all in one write (see `Socket::cork`).
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

/// The `ws` package's check of the key: 16 bytes in base64.
fn is_valid_key(key: &str) -> bool {
    key.len() == 24
        && key.ends_with("==")
        && key[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A GET with `Upgrade: websocket` on the Engine.IO path (the reference's `handleUpgrade`).
pub(super) fn handle_upgrade(server: &Server, request: Request, connection: &mut Connection) -> io::Result<Next> {
    let socket = match server.verify(&request, true) {
        Ok(socket) => socket,
        Err(code) => return abort_upgrade(connection.stream(), code.message()),
    };
    if request.query_param("transport") != Some("websocket") {
        return abort_upgrade(connection.stream(), ErrorCode::BadRequest.message());
    }
    if socket.is_none() && request.query_param("EIO") != Some("4") {
        return abort_upgrade(connection.stream(), ErrorCode::UnsupportedProtocolVersion.message());
    }
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

    let accept = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    connection.stream().write_all(accept.as_bytes())?;

    // From here the socket is a WebSocket: one handle to read (no timeout: the heartbeat finds a
    // dead client), one to write. The reader reads up to 4 KiB at a time; the writer never reads
    // (no read buffer) and collects a batch of frames (up to 64 KiB) for one `write`.
    let limits = WebSocketConfig::default()
        .max_message_size(Some(server.options().max_payload))
        .max_frame_size(Some(server.options().max_payload));
    let reader_config = limits.read_buffer_size(READER_BUFFER_BYTES);
    let writer_config = limits.read_buffer_size(0).write_buffer_size(WRITER_BATCH_BYTES);
    let read_stream = connection.share_stream();
    read_stream.tcp().set_read_timeout(None)?;
    let write_stream = connection.share_stream();
    let leftover = connection.take_buffered_bytes();
    let read_half = ReadHalf {
        stream: read_stream,
        socket: None,
    };
    let reader = WebSocket::from_partially_read(read_half, leftover, Role::Server, Some(reader_config));
    let writer = WebSocket::from_raw_socket(write_stream, Role::Server, Some(writer_config));

    match socket {
        Some(socket) => run_probe(socket, reader, writer),
        None => {
            let id = super::server::generate_id()?;
            info!("{id}: handshake over websocket from {}", request.peer);
            let socket = server.open_session(id, TransportKind::WebSocket, request);
            run_attached(server, socket, reader, writer)
        }
    }
    Ok(Next::Close)
}

/// Starts the writer thread of one WebSocket.
fn start_writer(
    socket: &Socket,
    writer: WebSocket<SharedStream>,
    commands: Receiver<WriterCommand>,
    wake: Receiver<()>,
) -> io::Result<thread::JoinHandle<()>> {
    let writer_socket = socket.clone();
    thread::Builder::new()
        .name(format!("ws-writer {}", socket.id()))
        .spawn(move || websocket_writer(writer_socket, writer, commands, wake))
}

/// A session opened over WebSocket: the writer is attached at once, then the `connection` event.
fn run_attached(server: &Server, socket: Socket, reader: WebSocket<ReadHalf>, writer: WebSocket<SharedStream>) {
    let (command_sender, commands) = bounded(16);
    let (wake_sender, wake) = bounded(1);
    let writer_thread = match start_writer(&socket, writer, commands, wake) {
        Ok(thread) => thread,
        Err(e) => {
            log::error!("{}: cannot start the writer thread: {e}", socket.id());
            socket.on_close("transport error");
            return;
        }
    };
    socket.attach_websocket_writer(wake_sender);
    server.handler().on_connection(&socket);
    let end = read_loop(&socket, reader, &command_sender, false);
    finish(socket, end, command_sender, writer_thread, true);
}

/// An upgrade of a polling session: probe first.
fn run_probe(socket: Socket, reader: WebSocket<ReadHalf>, writer: WebSocket<SharedStream>) {
    let (command_sender, commands) = bounded(16);
    let (wake_sender, wake) = bounded(1);
    if !socket.begin_upgrade(wake_sender) {
        // Already upgrading or upgraded: this second WebSocket is closed at once (the reference's
        // "transport has already been trying to upgrade").
        debug!("{}: second WebSocket for the same session: closing it", socket.id());
        let (_, idle_wake) = bounded::<()>(1);
        drop(command_sender);
        websocket_writer(socket, writer, commands, idle_wake);
        return;
    }
    let writer_thread = match start_writer(&socket, writer, commands, wake) {
        Ok(thread) => thread,
        Err(e) => {
            log::error!("{}: cannot start the writer thread: {e}", socket.id());
            socket.abort_upgrade();
            return;
        }
    };
    let end = read_loop(&socket, reader, &command_sender, true);
    let attached = socket.lock().upgraded && socket.transport_name() == "websocket";
    finish(socket, end, command_sender, writer_thread, attached);
}

/// The end of a WebSocket: tell the writer, wait for it, then close the session (or, for a
/// failed probe, just forget the probe).
fn finish(
    socket: Socket,
    end: ReaderEnd,
    commands: Sender<WriterCommand>,
    writer_thread: thread::JoinHandle<()>,
    attached: bool,
) {
    if let ReaderEnd::TooLarge(_) = &end {
        let frame = CloseFrame {
            code: CloseCode::Size,
            reason: "Max payload size exceeded".into(),
        };
        let _ = commands.send(WriterCommand::Close(frame));
    }
    drop(commands);
    let _ = writer_thread.join();
    if !attached {
        debug!("{}: probing WebSocket ended", socket.id());
        socket.abort_upgrade();
        return;
    }
    match end {
        ReaderEnd::Closed => socket.on_close("transport close"),
        ReaderEnd::Error(why) | ReaderEnd::TooLarge(why) => {
            debug!("{}: websocket error: {why}", socket.id());
            socket.on_close("transport error")
        }
        ReaderEnd::ParseError(why) => {
            debug!("{}: {why}", socket.id());
            socket.on_close("parse error")
        }
        ReaderEnd::ProbeFailed => socket.on_close("transport error"),
    }
}

/// Reads frames until the WebSocket ends; `probing` until `5` makes it the transport.
fn read_loop(
    socket: &Socket,
    mut reader: WebSocket<ReadHalf>,
    commands: &Sender<WriterCommand>,
    probing: bool,
) -> ReaderEnd {
    reader.get_mut().socket = Some(socket.clone());
    let end = read_frames(socket, &mut reader, commands, probing);
    // Whatever this thread's handlers queued last goes out (or is dropped with the session).
    socket.uncork();
    end
}

/// The loop of `read_loop`.
fn read_frames(
    socket: &Socket,
    reader: &mut WebSocket<ReadHalf>,
    commands: &Sender<WriterCommand>,
    mut probing: bool,
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
        let packet = match frame {
            WsMessage::Text(text) => match Packet::decode_text(text.as_str()) {
                Ok(packet) => packet,
                Err(e) => return ReaderEnd::ParseError(e.to_string()),
            },
            WsMessage::Binary(bytes) => Packet::Message(Message::Binary(bytes.to_vec())),
            WsMessage::Ping(data) => {
                let _ = commands.send(WriterCommand::Pong(data));
                continue;
            }
            WsMessage::Close(_) => return ReaderEnd::Closed,
            WsMessage::Pong(_) | WsMessage::Frame(_) => continue,
        };
        crate::trace::incoming(socket.id(), &packet);
        if !probing {
            socket.on_packet(packet);
            continue;
        }
        match packet {
            Packet::Ping(data) if data == "probe" => {
                let _ = commands.send(WriterCommand::Packet(Packet::Pong("probe".to_string())));
                socket.on_probe_answered();
            }
            Packet::Upgrade => {
                if !socket.complete_upgrade() {
                    return ReaderEnd::ProbeFailed;
                }
                probing = false;
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

/// One packet as a WebSocket frame: text `4hello`, or a binary frame for binary data.
fn to_frame(packet: &Packet) -> WsMessage {
    match packet {
        Packet::Message(Message::Binary(bytes)) => WsMessage::binary(bytes.clone()),
        other => WsMessage::text(other.encode_as_text()),
    }
}

/// The thread `ws-writer <sid>`: the only writer of this WebSocket.
fn websocket_writer(
    socket: Socket,
    mut ws: WebSocket<SharedStream>,
    commands: Receiver<WriterCommand>,
    wake: Receiver<()>,
) {
    loop {
        select! {
            recv(commands) -> command => match command {
                Ok(WriterCommand::Packet(packet)) => {
                    crate::trace::outgoing(socket.id(), &packet);
                    if ws.send(to_frame(&packet)).is_err() {
                        break;
                    }
                }
                Ok(WriterCommand::Pong(data)) => {
                    if ws.send(WsMessage::Pong(data)).is_err() {
                        break;
                    }
                }
                Ok(WriterCommand::Close(frame)) => {
                    let _ = ws.close(Some(frame));
                    break;
                }
                // The reader ended: the client is gone or closed.
                Err(_) => {
                    let _ = ws.close(None);
                    break;
                }
            },
            recv(wake) -> woken => {
                if woken.is_err() {
                    // The session dropped its sender: it closed (or the probe was given up).
                    let _ = ws.close(None);
                    break;
                }
                let batch = socket.take_for_websocket();
                if let Err(e) = write_batch(&socket, &mut ws, &batch.packets) {
                    debug!("{}: websocket write failed: {e}", socket.id());
                    socket.write_failed(batch.packets, "websocket write failed");
                    break;
                }
                if batch.close_transport {
                    // The session ends before the close frame goes out, so that a client
                    // seeing the close finds the session gone.
                    if let Some(reason) = batch.then_close_session {
                        socket.on_close(reason);
                    }
                    let _ = ws.close(None);
                    let _ = ws.get_ref().tcp().shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    }
    // Wake the reader (blocked in read) so that it ends too.
    let _ = ws.get_ref().tcp().shutdown(Shutdown::Both);
}

/// Writes packets as frames and flushes once.
fn write_batch(socket: &Socket, ws: &mut WebSocket<SharedStream>, packets: &[Packet]) -> tungstenite::Result<()> {
    for packet in packets {
        crate::trace::outgoing(socket.id(), packet);
        ws.write(to_frame(packet))?;
    }
    ws.flush()
}
