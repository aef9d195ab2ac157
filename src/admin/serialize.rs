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

use serde_json::{Map, Value, json};

use crate::socketio::{Handshake, Socket};

/// How many characters of the Engine.IO session id the UI is shown (the reference: "this
/// information is quite sensitive").
pub const CLIENT_ID_LENGTH: usize = 12;

/// `[("a","1"),("a","2")]` -> `{"a":"1, 2"}`: Node's `req.headers` and a parsed query.
fn pairs_to_object(pairs: &[(String, String)]) -> Value {
    let mut object = Map::new();
    for (key, value) in pairs {
        match object.get_mut(key) {
            Some(Value::String(first)) => {
                first.push_str(", ");
                first.push_str(value);
            }
            _ => {
                object.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    Value::Object(object)
}

/// The handshake the UI shows ("Initial request").
fn serialize_handshake(handshake: &Handshake) -> Value {
    let address = handshake
        .header("cf-connecting-ip")
        .or_else(|| handshake.header("x-forwarded-for"))
        .map(str::to_string)
        .unwrap_or_else(|| handshake.address.ip().to_string());
    json!({
        "address": address,
        "headers": pairs_to_object(&handshake.headers),
        "query": pairs_to_object(&handshake.query),
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

/// `serialize(socket, nsp)`: one connected socket of this server.
pub fn serialize_socket(socket: &Socket) -> Value {
    let client_id: String = socket.conn().id().chars().take(CLIENT_ID_LENGTH).collect();
    // Its own room first, then the others by name (a JavaScript `Set` keeps the order joined).
    let mut rooms: Vec<String> = socket.rooms().into_iter().filter(|room| room != socket.id()).collect();
    rooms.sort();
    rooms.insert(0, socket.id().to_string());
    json!({
        "id": socket.id(),
        "clientId": client_id,
        "transport": socket.transport_name(),
        "nsp": socket.nsp().name(),
        "data": serialize_data(&Value::Object(Map::new())),
        "handshake": serialize_handshake(socket.handshake()),
        "rooms": rooms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_query_as_node_has_them() {
        let pairs = vec![
            ("host".to_string(), "a".to_string()),
            ("accept".to_string(), "x".to_string()),
            ("accept".to_string(), "y".to_string()),
        ];
        assert_eq!(pairs_to_object(&pairs).to_string(), r#"{"host":"a","accept":"x, y"}"#);
    }

    #[test]
    fn data_without_admin() {
        let data = json!({"_admin": {"clientId": "abc", "transport": "polling"}, "count": 1});
        assert_eq!(serialize_data(&data), json!({"count": 1}));
        assert_eq!(serialize_data(&json!({})), json!({}));
    }
}
