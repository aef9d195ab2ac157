//! Development mode: the UI is told of every socket, room and event as it happens (the
//! reference's `registerVerboseListeners`), for every namespace, `/admin` included, and each
//! namespace made later (`new_namespace`).
//!
//! ```text
//! a socket connects     → ["room_joined","/","<id>","<id>","<date>"]    (its own room, as it joins)
//!                       → ["socket_connected",{...serialize.rs...},"<date>"]
//! it sends 42["hello",1] → ["event_received","/","<id>",["hello",1],"<date>"]  (not on /admin)
//! it is sent 42["news","x"] → ["event_sent","/","<id>",["news","x"],"<date>"]  (not on /admin)
//! its session upgrades  → ["socket_updated",{"id":"<id>","nsp":"/","transport":"websocket"}]
//! it joins "room1"      → ["room_joined","/","room1","<id>","<date>"]
//! it leaves "room1"     → ["room_left","/","room1","<id>","<date>"]
//! it disconnects        → ["socket_disconnected","/","<id>","transport close","<date>"]
//! ```
//!
//! `<date>` is the moment, as `JSON.stringify(new Date())` writes it: `2026-12-02T06:32:00.074Z`.
//! The listeners run where the thing happens: the socket's reader thread (a CONNECT, an incoming
//! event), the thread that emits (`event_sent`), the WebSocket's reader (the upgrade), the thread
//! that closes the session.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Admin;
use super::serialize::serialize_socket;
use crate::date;
use crate::socketio::{Arg, Namespace, Socket};

/// `new Date()` as JSON writes it.
fn now() -> Arg {
    Arg::from(date::iso_string(date::now_millis()))
}

/// `[event, ...args]` in one JSON array (bytes as nested placeholders: they go out as
/// attachments, as in the reference).
fn event_and_args(event: &str, args: &[Arg]) -> Arg {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(Value::from(event));
    for arg in args {
        all.push(arg.to_nested_json());
    }
    Arg::Json(Value::Array(all))
}

/// `registerVerboseListeners(adminNamespace, nsp)`.
pub fn watch_namespace(admin: &Arc<Admin>, nsp: &Namespace) {
    let watching_admin = nsp.name() == admin.namespace_name;
    let on_connection = Arc::clone(admin);
    // prepended: it runs before the application's own `connection` handler
    nsp.prepend_connection(move |socket| watch_socket(&on_connection, socket, watching_admin));
}

/// The `connection` listener: tells the UI of the socket, then watches its events.
fn watch_socket(admin: &Arc<Admin>, socket: &Socket, watching_admin: bool) {
    let io = match admin.server() {
        Some(io) => io,
        None => return,
    };
    let nsp_name = socket.nsp().name().to_string();
    admin.emit(&io, "socket_connected", vec![Arg::Json(serialize_socket(socket)), now()]);

    // socket.conn.on("upgrade"): a listener of the Engine.IO session, which outlives nothing
    // here: it holds the ids, not the socket.
    let upgraded = Arc::clone(admin);
    let (id, nsp) = (socket.id().to_string(), nsp_name.clone());
    socket.conn().on_upgrade(move |conn| {
        if let Some(io) = upgraded.server() {
            let update = json!({"id": id, "nsp": nsp, "transport": conn.transport_name()});
            upgraded.emit(&io, "socket_updated", vec![Arg::Json(update)]);
        }
    });

    if !watching_admin {
        let received = Arc::clone(admin);
        socket.on_any(move |socket, event, args| {
            if let Some(io) = received.server() {
                let args = vec![socket.nsp().name().into(), socket.id().into(), event_and_args(event, args), now()];
                received.emit(&io, "event_received", args);
            }
        });
        let sent = Arc::clone(admin);
        socket.on_any_outgoing(move |socket, event, args| {
            if let Some(io) = sent.server() {
                let args = vec![socket.nsp().name().into(), socket.id().into(), event_and_args(event, args), now()];
                sent.emit(&io, "event_sent", args);
            }
        });
    }

    let disconnected = Arc::clone(admin);
    socket.on_disconnect(move |socket, reason| {
        if let Some(io) = disconnected.server() {
            let args = vec![socket.nsp().name().into(), socket.id().into(), reason.into(), now()];
            disconnected.emit(&io, "socket_disconnected", args);
        }
    });
}
