//! HTTP long-polling (the reference's `transports/polling.ts`).
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
//! A GET that must wait is held by its connection's own thread (`hold`): one thread per held GET.
//! It waits in one `poll(2)` on two descriptors at once (`http::Connection::wait_held`):
//!
//! ```text
//! conn thread of the GET            the session (any thread: a POST, `timers`, an emit)
//! ──────────────────────            ───────────────────────────────────────────────────
//! on_poll_arrival: nothing queued
//! watch_poll(waker)  ◄───────────── send(): queue, ring the waker (an eventfd, `waker.rs`)
//! loop {
//!   take_poll: an answer? write it, done
//!   poll(socket: hang-up?, waker: rung?)
//!     rung        → look again
//!     client gone → "poll connection closed prematurely"
//! }
//! ```
//!
//! So a client that drops the connection of a held GET is noticed at once, as the reference's
//! `req.on("close")`, and no second thread waits. The answer is packets, a noop `6` (during an
//! upgrade), or a close `1` (the session ended).

use std::io;
use std::time::Duration;

use log::debug;

use super::packet;
use super::server::Server;
use super::socket::{Batch, PollArrival, PollTake, Socket};
use crate::http::{self, BodyError, Connection, HeldWait, Request};
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

/// A GET (the reference's `onPollRequest`): answer now, or hold it.
pub(super) fn on_poll_request(
    server: &Server,
    socket: &Socket,
    request: &Request,
    connection: &mut Connection,
) -> io::Result<Next> {
    let keep_alive = connection.keep_alive_for(request);
    let headers = polling_headers(server, socket, request, "text/plain; charset=UTF-8");
    let next = if keep_alive.is_some() {
        Next::KeepAlive
    } else {
        Next::Close
    };
    match socket.on_poll_arrival() {
        PollArrival::Overlap => {
            // As the reference: the session closes first (the held GET is answered `1`), then
            // this one gets 400, so that a client reading the 400 finds the session gone.
            socket.on_error("overlap from client");
            connection.respond(request, 400, &server.cors_headers(request), b"")
        }
        PollArrival::Answer(batch) => {
            deliver(socket, connection, &headers, keep_alive, batch);
            Ok(next)
        }
        PollArrival::Hold { poll_id } => match hold(socket, poll_id, connection) {
            Ok(Some(batch)) => {
                deliver(socket, connection, &headers, keep_alive, batch);
                Ok(next)
            }
            Ok(None) => Ok(Next::Close),
            Err(e) => {
                socket.poll_abandoned(poll_id);
                Err(e)
            }
        },
    }
}

/// Holds the GET `poll_id` on this thread until the session has its answer (`Some`), or until
/// the client hangs up (`None`: the session ends with "poll connection closed prematurely").
fn hold(socket: &Socket, poll_id: u64, connection: &mut Connection) -> io::Result<Option<Batch>> {
    socket.watch_poll(poll_id, connection.waker()?);
    let mut waited = false;
    loop {
        match socket.take_poll(poll_id) {
            PollTake::Answer(batch) => return Ok(Some(batch)),
            PollTake::Gone => return Ok(None),
            PollTake::Wait => {}
        }
        if !waited {
            // About to wait, maybe for a whole ping interval: the stack pages below this call
            // (the request's handling, the last answer's) go back to the kernel.
            crate::memory::release_unused_stack();
            waited = true;
        }
        match connection.wait_held()? {
            // Packets were queued, the upgrade moved on, or the session closed: look again.
            HeldWait::Rung => {}
            HeldWait::ClientGone => {
                debug!("{}: the client of the held GET went away", socket.id());
                socket.poll_abandoned(poll_id);
                return Ok(None);
            }
        }
    }
}

/// Writes one polling answer: the packets joined by `\x1e`. If the client is gone, the packets
/// go back to the session's buffer and the session ends with a transport error.
fn deliver(
    socket: &Socket,
    connection: &mut Connection,
    headers: &[(String, String)],
    keep_alive: Option<Duration>,
    batch: Batch,
) {
    for packet in &batch.packets {
        crate::trace::outgoing(socket.id(), packet);
    }
    let body = packet::encode_payload(&batch.packets);
    // A graceful close ends the session before its `1` goes out (as the reference's
    // `shouldClose`), so that a client reading the `1` finds the session gone.
    if let Some(reason) = batch.then_close_session {
        socket.close_because(reason);
    }
    if let Err(e) = http::write_response(connection.stream(), 200, headers, body.as_bytes(), keep_alive) {
        debug!("{}: writing a poll answer failed: {e}", socket.id());
        socket.write_failed(batch.packets, "poll connection closed prematurely");
    }
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
    let body = connection.read_body(request, server.options().max_payload);
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            socket.end_data_request();
            return refuse_body(server, socket, request, connection, error);
        }
    };
    let (packets, error) = match std::str::from_utf8(&body) {
        Ok(text) => packet::decode_payload(text),
        Err(_) => (Vec::new(), Some(packet::ParseError("payload is not UTF-8".to_string()))),
    };
    // The answers to this POST's packets go out together, in one GET answer (see `cork`).
    socket.cork();
    for packet in packets {
        crate::trace::incoming(socket.id(), &packet);
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
