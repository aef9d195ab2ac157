//! A socket as the admin UI reads it (the reference's `serialize` and `serializeData`), in
//! `all_sockets` and `socket_connected`:
//!
//! ```text
//! {"id":"VJ5Vyo076ZgE2I5eAAAB",          socket.id
//!  "clientId":"baBnZluPgex8",             the first 12 characters of the Engine.IO session id
//!  "transport":"websocket",               "polling" until the session upgrades
//!  "nsp":"/",
//!  "data":{},                             socket.data, without the admin's own `_admin`
//!  "handshake":{"address":"10.0.0.1",     cf-connecting-ip, else x-forwarded-for, else the peer
//!               "headers":{"host":"127.0.0.1:35561",...},  "query":{"EIO":"4","transport":"websocket"},
//!               "issued":1796193120073,"secure":false,
//!               "time":"Wed Dec 02 2026 06:32:00 GMT+0000 (Coordinated Universal Time)",
//!               "url":"/socket.io/?EIO=4&transport=websocket","xdomain":false},
//!  "rooms":["VJ5Vyo076ZgE2I5eAAAB"]}     its own room first: the UI marks that one private
//! ```
//!
//! `handshake.auth` is left out (it may hold a password).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::socketio::{Handshake, RemoteSocket, Socket};

/// How many characters of the Engine.IO session id the UI is shown (the reference: "this
/// information is quite sensitive").
pub const CLIENT_ID_LENGTH: usize = 12;

/// `socket.data._admin` as the admin keeps it in each socket's data (`watch.rs`), so that a
/// socket fetched from another server of a cluster carries it too:
/// `{"clientId":"baBnZluPgex8","transport":"websocket"}`.
pub fn admin_data(socket: &Socket) -> Value {
    let client_id: String = socket.conn().id().chars().take(CLIENT_ID_LENGTH).collect();
    json!({"clientId": client_id, "transport": socket.transport_name()})
}

/// The handshake the UI shows ("Initial HTTP request"): the fields of `handshake.to_json()` it
/// reads, `auth` left out, `address` the client's as a proxy reports it.
fn serialize_handshake(handshake: &Handshake) -> Value {
    let address = handshake
        .header("cf-connecting-ip")
        .or_else(|| handshake.header("x-forwarded-for"))
        .map(str::to_string)
        .unwrap_or_else(|| handshake.address.ip().to_string());
    let all = handshake.to_json();
    json!({
        "address": address,
        "headers": all["headers"],
        "query": all["query"],
        "issued": handshake.issued,
        "secure": handshake.secure,
        "time": handshake.time,
        "url": handshake.url,
        "xdomain": handshake.xdomain,
    })
}

/// `serializeData`: `socket.data` without `_admin`.
pub fn serialize_data(data: &Value) -> Value {
    match data {
        Value::Object(object) => {
            let mut copy = object.clone();
            copy.shift_remove("_admin");
            Value::Object(copy)
        }
        other => other.clone(),
    }
}

/// `serialize(socket, nsp)`: `clientId` and `transport` from `data._admin` (left out when the
/// socket has none, as `JSON.stringify` leaves out `undefined`).
fn serialize(id: &str, nsp: &str, handshake: &Handshake, rooms: HashSet<String>, data: &Value) -> Value {
    // Its own room first, then the others by name (a JavaScript `Set` keeps the order joined).
    let mut others: Vec<String> = rooms.into_iter().filter(|room| room != id).collect();
    others.sort();
    let mut ordered = vec![id.to_string()];
    ordered.extend(others);
    let mut object = Map::new();
    object.insert("id".to_string(), json!(id));
    for key in ["clientId", "transport"] {
        if let Some(value) = data.get("_admin").and_then(|admin| admin.get(key)) {
            object.insert(key.to_string(), value.clone());
        }
    }
    object.insert("nsp".to_string(), json!(nsp));
    object.insert("data".to_string(), serialize_data(data));
    object.insert("handshake".to_string(), serialize_handshake(handshake));
    object.insert("rooms".to_string(), json!(ordered));
    Value::Object(object)
}

/// A connected socket of this server (`socket_connected`).
pub fn serialize_socket(socket: &Socket) -> Value {
    serialize(
        socket.id(),
        socket.nsp().name(),
        socket.handshake(),
        socket.rooms(),
        &socket.data(),
    )
}

/// A socket `fetch_sockets` found, of this server or another (`all_sockets`).
pub fn serialize_fetched(socket: &RemoteSocket, nsp: &str) -> Value {
    serialize(socket.id(), nsp, socket.handshake(), socket.rooms(), &socket.data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_without_admin() {
        let data = json!({"_admin": {"clientId": "abc", "transport": "polling"}, "count": 1});
        assert_eq!(serialize_data(&data), json!({"count": 1}));
        assert_eq!(serialize_data(&json!({})), json!({}));
    }
}
