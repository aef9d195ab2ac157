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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use log::debug;
use serde_json::{Map, Value, json};

use super::Admin;
use super::serialize::{admin_data, serialize_data, serialize_socket};
use crate::date;
use crate::socketio::{Arg, Namespace, Socket};
use crate::sync::lock;

/// The `room_left` of sockets that are disconnecting, held until their `socket_disconnected`
/// has gone (the reference sends each `room_left` on the next tick, so after the
/// `socket_disconnected` of the same close): by socket id, for the sockets watched.
#[derive(Default)]
pub struct Leaving {
    rooms: Mutex<HashMap<String, Vec<String>>>,
}

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

/// `event_received` or `event_sent`: `[nsp, socket id, [event, ...args], date]`.
fn event_of(admin: &Admin, name: &str, socket: &Socket, event: &str, args: &[Arg]) {
    if let Some(io) = admin.server() {
        let args = vec![
            socket.nsp().name().into(),
            socket.id().into(),
            event_and_args(event, args),
            now(),
        ];
        admin.emit(&io, name, args);
    }
}

/// `registerVerboseListeners(adminNamespace, nsp)`: its sockets (a `connection` listener put
/// before the application's) and its rooms (the adapter's `join-room` and `leave-room`).
pub fn watch_namespace(admin: &Arc<Admin>, nsp: &Namespace) {
    let watching_admin = nsp.name() == admin.namespace_name;
    let on_connection = Arc::clone(admin);
    nsp.prepend_connection(move |socket| watch_socket(&on_connection, socket, watching_admin));

    let (joined, nsp_name) = (Arc::clone(admin), nsp.name().to_string());
    nsp.adapter().events().on_join_room(move |room, id| {
        if let Some(io) = joined.server() {
            let args = vec![nsp_name.as_str().into(), room.into(), id.into(), now()];
            joined.emit(&io, "room_joined", args);
        }
    });
    let (left, weak_nsp) = (Arc::clone(admin), nsp.downgrade());
    nsp.adapter().events().on_leave_room(move |room, id| {
        let Some(nsp) = weak_nsp.upgrade() else { return };
        // A socket leaving its rooms because it disconnects: after its socket_disconnected.
        let closing = nsp.socket(id).is_some_and(|socket| !socket.connected());
        if closing {
            if let Some(rooms) = lock(&left.leaving.rooms).get_mut(id) {
                rooms.push(room.to_string());
                return;
            }
        }
        room_left(&left, nsp.name(), room, id);
    });
}

fn room_left(admin: &Admin, nsp: &str, room: &str, id: &str) {
    if let Some(io) = admin.server() {
        admin.emit(&io, "room_left", vec![nsp.into(), room.into(), id.into(), now()]);
    }
}

/// `{"id":...,"nsp":...,"data":...}`: a socket's data changed.
fn data_updated(admin: &Admin, socket: &Socket, data: &Value) {
    if let Some(io) = admin.server() {
        let update = json!({"id": socket.id(), "nsp": socket.nsp().name(), "data": serialize_data(data)});
        admin.emit(&io, "socket_updated", vec![Arg::Json(update)]);
    }
}

/// The reference's `socket.data = createProxy({_admin: {...}})`, then each key the application
/// had set (in a middleware) copied back in, one at a time: each copy is a change the UI hears
/// (`socket_updated`), before `socket_connected`. A `data` that is not an object is left alone
/// (the reference would spread a string into it).
fn adopt_data(admin: &Arc<Admin>, socket: &Socket) {
    let before = match socket.data() {
        Value::Object(before) => before,
        Value::Null => Map::new(),
        _ => return,
    };
    let mut data = Map::new();
    data.insert("_admin".to_string(), admin_data(socket));
    socket.set_data_unheard(Value::Object(data.clone()));
    let watcher = Arc::clone(admin);
    socket.on_data_change(move |socket, data| data_updated(&watcher, socket, data));
    for (key, value) in before {
        data.insert(key, value);
        socket.set_data(Value::Object(data.clone()));
    }
}

/// `socket.data._admin.transport = transport.name`. The reference's Proxy wraps `socket.data`,
/// not the `_admin` object inside it: this change is not told to the UI as a `socket_updated`
/// of `data` (the next one, of `transport`, is).
fn note_transport(socket: &Socket, transport: &str) {
    let mut data = socket.data();
    if let Some(Value::Object(admin)) = data.get_mut("_admin") {
        admin.insert("transport".to_string(), Value::from(transport));
        socket.set_data_unheard(data);
    }
}

/// The `connection` listener: tells the UI of the socket, then watches it.
fn watch_socket(admin: &Arc<Admin>, socket: &Socket, watching_admin: bool) {
    let Some(io) = admin.server() else { return };
    adopt_data(admin, socket);
    admin.emit(
        &io,
        "socket_connected",
        vec![Arg::Json(serialize_socket(socket)), now()],
    );
    lock(&admin.leaving.rooms).insert(socket.id().to_string(), Vec::new());

    // socket.conn.on("upgrade"): a listener of the Engine.IO session, which keeps its listeners
    // as long as it lives: it holds the ids and finds the socket, rather than hold it.
    let upgraded = Arc::clone(admin);
    let (id, nsp) = (socket.id().to_string(), socket.nsp().downgrade());
    socket.conn().on_upgrade(move |conn| {
        let (Some(io), Some(nsp)) = (upgraded.server(), nsp.upgrade()) else {
            return;
        };
        if let Some(socket) = nsp.socket(&id) {
            note_transport(&socket, conn.transport_name());
        }
        let update = json!({"id": id, "nsp": nsp.name(), "transport": conn.transport_name()});
        upgraded.emit(&io, "socket_updated", vec![Arg::Json(update)]);
    });

    if !watching_admin {
        let received = Arc::clone(admin);
        socket.on_any(move |socket, event, args| event_of(&received, "event_received", socket, event, args));
        let sent = Arc::clone(admin);
        socket.on_any_outgoing(move |socket, event, args| event_of(&sent, "event_sent", socket, event, args));
    }

    let disconnected = Arc::clone(admin);
    socket.on_disconnect(move |socket, reason| {
        let rooms = lock(&disconnected.leaving.rooms)
            .remove(socket.id())
            .unwrap_or_default();
        let Some(io) = disconnected.server() else { return };
        let args = vec![socket.nsp().name().into(), socket.id().into(), reason.into(), now()];
        disconnected.emit(&io, "socket_disconnected", args);
        debug!("admin: {} left {} room(s) as it disconnected", socket.id(), rooms.len());
        for room in rooms {
            room_left(&disconnected, socket.nsp().name(), &room, socket.id());
        }
    });
}
