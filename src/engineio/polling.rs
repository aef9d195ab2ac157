//! HTTP long-polling (the reference's `transports/polling.ts`; its bodies by protocol, v4, v3 or
//! JSONP, are in `payload.rs`).
//!
//! ```text
//! client                                         server
//! GET  ?EIO=4&transport=polling&sid=X  ───────►  held until packets are queued (a ping at the latest)
//!                                      ◄───────  200 text/plain; charset=UTF-8
//!                                                4hello\x1e2            (packets joined by \x1e)
//! POST ?EIO=4&transport=polling&sid=X  ───────►  body: 3\x1e4hi           (a pong and a message)
//!                                      ◄───────  200 text/html   ok
//! ```
//!
//! Browsers send the held GET and the POST on two different connections, so each request finds
//! its session by `sid` (in `server.rs`), never by its connection.
//!
//! A GET that must wait is held by a writer thread named `poll <sid>`, which waits for the
//! session's wake-up channel and writes the answer; meanwhile the connection's own thread keeps
//! reading the socket, so a client that drops the connection is noticed at once (see
//! `http::HeldResponse`). The writer answers with packets, with a noop `6` (during an upgrade, or
//! when the client's own `1` ended the session), or with a close `1` (the server ended it), then
//! ends; the connection thread joins it.

use std::io;
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded, select};
use log::debug;

use super::compression::{self, Encoding, Negotiated};
use super::packet;
use super::payload::{self, Decoded, PollingFormat};
use super::server::Server;
use super::socket::{Batch, PollArrival, PollTake, Socket};
use crate::http::{self, BodyError, Connection, HeldResponse, Request, SharedStream};
use crate::listener::Next;

/// The headers of a polling answer: its content type, `cache-control: no-store`, then what the
/// server adds (CORS, the `io` cookie, the `headers` listeners': `Server::polling_answer_headers`).
fn polling_headers(server: &Server, socket: &Socket, request: &Request, content_type: &str) -> Vec<(String, String)> {
    let mut headers = vec![("Content-Type".to_string(), content_type.to_string())];
    // Prevent XSS warnings on IE (the reference does this too).
    let user_agent = request.header("user-agent").unwrap_or("");
    if user_agent.contains(";MSIE") || user_agent.contains("Trident/") {
        headers.push(("X-XSS-Protection".to_string(), "0".to_string()));
    }
    headers.push(("cache-control".to_string(), "no-store".to_string()));
    server.polling_answer_headers(socket.id(), request, headers)
}

/// How a GET's answer is written, decided when the GET arrives: its headers (the `headers`
/// event runs then), whether the connection stays open, and what the body may be compressed
/// with (its `Accept-Encoding`).
struct AnswerHead {
    headers: Vec<(String, String)>,
    keep_alive: Option<Duration>,
    compression: Option<Negotiated>,
}

/// A GET (the reference's `onPollRequest`): answer now, or hold it.
pub(super) fn on_poll_request(
    server: &Server,
    socket: &Socket,
    request: &Request,
    connection: &mut Connection,
) -> io::Result<Next> {
    let head = AnswerHead {
        headers: polling_headers(server, socket, request, "text/plain; charset=UTF-8"),
        keep_alive: connection.keep_alive_for(request),
        compression: compression::for_request(server.options().http_compression, request),
    };
    match socket.on_poll_arrival() {
        PollArrival::Overlap => {
            // As the reference: the session closes first (the held GET is answered `1`), then
            // this one gets 400, so that a client reading the 400 finds the session gone.
            socket.on_error("overlap from client");
            connection.respond(request, 400, &server.cors_headers(request), b"")
        }
        PollArrival::Answer(batch) => {
            deliver(socket, connection.stream(), &head, batch);
            Ok(if head.keep_alive.is_some() {
                Next::KeepAlive
            } else {
                Next::Close
            })
        }
        PollArrival::Hold { poll_id, wake } => {
            let stream = connection.share_stream();
            let (cancel, cancelled) = bounded::<()>(0);
            let writer_socket = socket.clone();
            let spawned = crate::threads::spawn(format!("poll {}", socket.id()), move || {
                poll_writer(writer_socket, poll_id, wake, cancelled, stream, head)
            });
            let thread = match spawned {
                Ok(thread) => thread,
                Err(e) => {
                    socket.poll_abandoned(poll_id);
                    return Err(e);
                }
            };
            let abandoned_socket = socket.clone();
            connection.hold(HeldResponse {
                cancel,
                thread,
                on_abandon: Box::new(move || abandoned_socket.poll_abandoned(poll_id)),
            });
            Ok(Next::KeepAlive)
        }
    }
}

/// The thread `poll <sid>`: waits for the held GET's answer and writes it. Returns `true` when it
/// answered, `false` when its client went away first.
fn poll_writer(
    socket: Socket,
    poll_id: u64,
    wake: Receiver<()>,
    cancelled: Receiver<()>,
    mut stream: SharedStream,
    head: AnswerHead,
) -> bool {
    loop {
        match socket.take_poll(poll_id) {
            PollTake::Answer(batch) => {
                deliver(&socket, &mut stream, &head, batch);
                return true;
            }
            PollTake::Gone => return false,
            PollTake::Wait => {}
        }
        select! {
            // Packets were queued, or the session dropped the sender (closed or upgraded):
            // either way, look again.
            recv(wake) -> _ => {}
            // The connection thread dropped `cancel`: the client is gone.
            recv(cancelled) -> _ => return false,
        }
    }
}

/// Writes one polling answer: the packets as the session's protocol puts them together
/// (`payload.rs`: `\x1e`-joined, v3's `<length>:`, JSONP), compressed if the packets and the
/// request allow it (`compression.rs`; done here, on the thread that answers, with no lock
/// held). If the client is gone, the packets go back to the session's buffer and the session
/// ends with a transport error.
fn deliver(socket: &Socket, stream: &mut SharedStream, head: &AnswerHead, batch: Batch) {
    for packet in &batch.packets {
        crate::trace::outgoing(socket.id(), packet);
    }
    let answer = payload::encode_answer(PollingFormat::of(socket.request()), &batch.packets);
    let (body, encoding) = compression::maybe_compress(answer.body, batch.compress, head.compression);
    let headers = content_headers(&head.headers, answer.content_type, encoding);
    // A graceful close ends the session before its `1` goes out (as the reference's
    // `shouldClose`), so that a client reading the `1` finds the session gone.
    if let Some(reason) = batch.then_close_session {
        socket.close_because(reason);
    }
    if let Err(e) = http::write_response(stream, 200, &headers, &body, head.keep_alive) {
        debug!("{}: writing a poll answer failed: {e}", socket.id());
        socket.write_failed(batch.packets, "poll connection closed prematurely");
    }
}

/// The answer's headers with its own `Content-Type` (v3's binary payload is
/// `application/octet-stream`) and, when compressed, `Content-Encoding` right after it, where the
/// reference's `doWrite` puts them.
fn content_headers(
    headers: &[(String, String)],
    content_type: &str,
    encoding: Option<Encoding>,
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(headers.len() + 1);
    for (name, value) in headers {
        if name == "Content-Type" {
            out.push((name.clone(), content_type.to_string()));
            if let Some(encoding) = encoding {
                out.push(("Content-Encoding".to_string(), encoding.name().to_string()));
            }
        } else {
            out.push((name.clone(), value.clone()));
        }
    }
    out
}

/// A POST (the reference's `onDataRequest`): read the packets, hand them to the session in order,
/// answer `ok`.
pub(super) fn on_data_request(
    server: &Server,
    socket: &Socket,
    request: &Request,
    connection: &mut Connection,
) -> io::Result<Next> {
    if !socket.begin_data_request() {
        socket.on_error("data request overlap from client");
        return connection.respond(request, 400, &server.cors_headers(request), b"");
    }
    let format = PollingFormat::of(socket.request());
    let content_type = request.header("content-type");
    if payload::is_invalid_content(format, content_type) {
        socket.end_data_request();
        socket.on_error("invalid content");
        return connection.respond(request, 400, &server.cors_headers(request), b"");
    }
    let body = connection.read_body(request, server.options().max_payload);
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            socket.end_data_request();
            return refuse_body(server, socket, request, connection, error);
        }
    };
    let (packets, error) = match payload::decode_post(format, content_type, &body) {
        Decoded::Packets(packets, error) => (packets, error),
        Decoded::Nothing => {
            debug!("{}: a JSONP POST without one `d` field: nothing to read", socket.id());
            (Vec::new(), None)
        }
    };
    // The answers to this POST's packets go out together, in one GET answer (see `cork`).
    socket.cork();
    for packet in packets {
        crate::trace::incoming(socket.id(), &packet);
        if packet == packet::Packet::Close {
            // The reference's polling `onData`: "got xhr close packet". It closes the transport
            // (a held GET gets `6`) and the session; it is not a packet of the session.
            socket.on_transport_close();
            break;
        }
        socket.handle_packet(packet);
    }
    socket.uncork();
    if let Some(error) = error {
        debug!("{}: {error}", socket.id());
        socket.close_because("parse error");
    }
    socket.end_data_request();
    let headers = polling_headers(server, socket, request, "text/html");
    connection.respond(request, 200, &headers, b"ok")
}

/// A POST body that could not be read: 413 (too large: the session lives on), 411 (no length),
/// or a transport error (the client went away or was too slow). The connection closes, since the
/// rest of the body was not read.
fn refuse_body(
    server: &Server,
    socket: &Socket,
    request: &Request,
    connection: &mut Connection,
    error: BodyError,
) -> io::Result<Next> {
    let headers = server.cors_headers(request);
    match error {
        BodyError::TooLarge => {
            debug!(
                "{}: POST body over maxPayload {}: 413",
                socket.id(),
                server.options().max_payload
            );
            http::write_response(connection.stream(), 413, &headers, b"", None)?;
        }
        BodyError::LengthRequired => {
            http::write_response(connection.stream(), 411, &headers, b"", None)?;
        }
        BodyError::Malformed(why) => {
            debug!("{}: bad POST body: {why}", socket.id());
            let _ = http::write_response(connection.stream(), 400, &headers, b"", None);
            socket.on_error("data request connection closed prematurely");
        }
        BodyError::Io(e) => {
            socket.on_error("data request connection closed prematurely");
            return Err(e);
        }
    }
    Ok(Next::Close)
}
