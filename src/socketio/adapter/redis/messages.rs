//! What both Redis adapters put in their messages, whichever adapter and message type: the
//! broadcast options, the Socket.IO packet, a socket's details, and how a message's bytes are
//! JSON or msgpack.
//!
//! Every message is handled here as a `serde_json::Value` in which bytes are the packet
//! decoder's nested placeholder (`{"_placeholder":true,"num":0,"base64":"AQID"}`): a JSON
//! message is parsed as it is, a msgpack one is read with [`msgpack::to_json`], which turns each
//! `bin` into that placeholder; writing msgpack turns them back into `bin`
//! ([`msgpack::from_json`]). So one parser serves both encodings.
//!
//! ```text
//! opts      {"rooms":["room1"],"except":["<socket id>"],"flags":{"timeout":2000}}
//! packet    {"type":2,"data":["news","Hello Socket.IO"],"nsp":"/"}     (classic: with nsp)
//!           {"type":2,"data":["news","Hello Socket.IO"]}               (sharded: without)
//! socket    {"id":"<socket id>","handshake":{"headers":{...},"time":"...","address":"127.0.0.1",
//!            "xdomain":false,"secure":false,"issued":1796190554206,"url":"/socket.io/?EIO=4...",
//!            "query":{"EIO":"4",...},"auth":{}},"rooms":["<socket id>","room1"],"data":{"n":1}}
//! ```

use serde_json::value::RawValue;
use serde_json::{Map, Value as Json};

use crate::msgpack::{self, DecodeError};
use crate::socketio::packet::{self, Arg};

/// The Socket.IO packet type of an event (`PacketType.EVENT`).
const EVENT: u64 = 2;
/// `PacketType.BINARY_EVENT`: what a Node server's packet may say after its parser looked at it.
const BINARY_EVENT: u64 = 5;
/// The most rooms (or arguments) one message may name before we refuse it: a garbage message
/// with a huge array costs a log line, not the memory of its parsed copy (a real broadcast
/// names a few rooms).
pub const MAX_ITEMS: usize = 100_000;

/// Why a message from Redis was ignored (logged by the adapter, never a panic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageError {
    /// Empty, not JSON, not msgpack.
    Undecodable(String),
    /// Decodable, but a field is missing or of the wrong type: which, and what it should be.
    Malformed(&'static str),
    /// A request or message type we do not know.
    UnknownType(String),
}

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageError::Undecodable(detail) => write!(f, "undecodable: {detail}"),
            MessageError::Malformed(what) => write!(f, "malformed: {what}"),
            MessageError::UnknownType(kind) => write!(f, "unknown type {kind}"),
        }
    }
}

impl std::error::Error for MessageError {}

impl From<DecodeError> for MessageError {
    fn from(error: DecodeError) -> MessageError {
        MessageError::Undecodable(format!("msgpack {error}"))
    }
}

// ----- bytes ----------------------------------------------------------------------------------

/// The reference's choice on reading a request or response: JSON when the first byte is `{`,
/// else msgpack.
pub fn decode_json_or_msgpack(bytes: &[u8]) -> Result<Json, MessageError> {
    match bytes.first() {
        None => Err(MessageError::Undecodable("empty message".to_string())),
        Some(b'{') => {
            check_json_size(bytes)?;
            serde_json::from_slice(bytes).map_err(|e| MessageError::Undecodable(format!("JSON {e}")))
        }
        Some(_) => decode_msgpack(bytes),
    }
}

/// A JSON message of more than `msgpack::MAX_VALUES` values is refused before parsing.
pub fn check_json_size(bytes: &[u8]) -> Result<(), MessageError> {
    // Each value counted takes a byte of its own (a `,`, `[` or `{`), so a text of no more
    // bytes than that holds no more values: only a larger one (4 MB) is counted, not the
    // half-megabyte answer to every fetch of a thousand sockets.
    if bytes.len() <= msgpack::MAX_VALUES {
        return Ok(());
    }
    if json_values_at_least(bytes) > msgpack::MAX_VALUES {
        return Err(MessageError::Undecodable(format!(
            "JSON of more than {} values",
            msgpack::MAX_VALUES
        )));
    }
    Ok(())
}

/// A lower bound of the values a JSON text holds, without parsing it: its `,`, `[` and `{`
/// outside strings (each starts or follows a value).
fn json_values_at_least(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut in_string = false;
    let mut escaped = false;
    for byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b',' | b'[' | b'{' => count += 1,
            _ => {}
        }
    }
    count
}

/// A msgpack message (bytes as nested placeholders).
pub fn decode_msgpack(bytes: &[u8]) -> Result<Json, MessageError> {
    Ok(msgpack::to_json(msgpack::decode(bytes)?)?)
}

/// `JSON.stringify(message)`.
pub fn encode_json(message: &Json) -> Vec<u8> {
    // serde_json's writer (not `Display`, which goes through `fmt` for every token).
    serde_json::to_vec(message).unwrap_or_default()
}

/// `notepack.encode(message)`.
pub fn encode_msgpack(message: &Json) -> Vec<u8> {
    msgpack::encode(&msgpack::from_json(message))
}

/// Whether a message holds bytes (the reference's `hasBinary`): then it must go as msgpack.
pub fn has_binary(value: &Json) -> bool {
    let mut to_visit: Vec<&Json> = vec![value];
    while let Some(current) = to_visit.pop() {
        if packet::nested_bytes_of(current).is_some() {
            return true;
        }
        match current {
            Json::Array(items) => to_visit.extend(items.iter()),
            Json::Object(map) => to_visit.extend(map.values()),
            _ => {}
        }
    }
    false
}

// ----- arguments --------------------------------------------------------------------------------

/// An argument as a message field: bytes as the nested placeholder.
pub fn arg_to_json(arg: &Arg) -> Json {
    match arg {
        Arg::Json(json) => json.clone(),
        Arg::Binary(bytes) => packet::nested_bytes(bytes),
    }
}

/// A message field as an argument: the nested placeholder at the top is `Arg::Binary`.
pub fn arg_from_json(json: Json) -> Arg {
    match packet::nested_bytes_of(&json) {
        Some(bytes) => Arg::Binary(bytes),
        None => Arg::Json(json),
    }
}

/// An array field as arguments (`data` of a server-side emit).
pub fn args_from_json(json: Json, what: &'static str) -> Result<Vec<Arg>, MessageError> {
    match json {
        Json::Array(items) if items.len() <= MAX_ITEMS => Ok(items.into_iter().map(arg_from_json).collect()),
        _ => Err(MessageError::Malformed(what)),
    }
}

// ----- fields -------------------------------------------------------------------------------------

/// The object a message is, or what it should have been.
pub fn object(json: Json, what: &'static str) -> Result<Map<String, Json>, MessageError> {
    match json {
        Json::Object(map) => Ok(map),
        _ => Err(MessageError::Malformed(what)),
    }
}

/// A string field.
pub fn text(map: &Map<String, Json>, key: &str, what: &'static str) -> Result<String, MessageError> {
    match map.get(key) {
        Some(Json::String(text)) => Ok(text.clone()),
        _ => Err(MessageError::Malformed(what)),
    }
}

/// A string field that may be missing (`uid` of the emitter's requests, `requestId` of a
/// server-side emit without ack).
pub fn optional_text(map: &Map<String, Json>, key: &str, what: &'static str) -> Result<Option<String>, MessageError> {
    match map.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(MessageError::Malformed(what)),
    }
}

/// An array of strings (room names). Room names in JavaScript may be numbers too: `1` is
/// the room `"1"` here.
pub fn rooms(json: Option<&Json>, what: &'static str) -> Result<Vec<String>, MessageError> {
    let items = match json {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Array(items)) if items.len() <= MAX_ITEMS => items,
        Some(_) => return Err(MessageError::Malformed(what)),
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Json::String(name) => names.push(name.clone()),
            Json::Number(number) => names.push(number.to_string()),
            _ => return Err(MessageError::Malformed(what)),
        }
    }
    Ok(names)
}

/// A JSON array of strings.
pub fn string_array(names: &[String]) -> Json {
    Json::Array(names.iter().map(|name| Json::String(name.clone())).collect())
}

// ----- broadcast options ------------------------------------------------------------------------

/// `opts` of a broadcast or of an operator (`socketsJoin`, `fetchSockets`, ...): which sockets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WireOptions {
    /// `to(...)`: only sockets in one of these rooms (every socket when empty).
    pub rooms: Vec<String>,
    /// `except(...)`: not the sockets in one of these rooms.
    pub except: Vec<String>,
    /// `flags`, as the sender wrote them (`{}`, `{"volatile":true}`, `{"timeout":2000}`); `None`
    /// when the message has none (the classic adapter's operator requests).
    pub flags: Option<Map<String, Json>>,
}

impl WireOptions {
    /// `{"rooms":[...],"except":[...],"flags":{...}}` (no `flags` when `None`).
    pub fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert("rooms".to_string(), string_array(&self.rooms));
        map.insert("except".to_string(), string_array(&self.except));
        if let Some(flags) = &self.flags {
            map.insert("flags".to_string(), Json::Object(flags.clone()));
        }
        Json::Object(map)
    }

    /// Reads `opts`; missing `rooms` or `except` are empty, as `new Set(undefined)` is.
    pub fn from_json(json: Option<&Json>) -> Result<WireOptions, MessageError> {
        let map = match json {
            Some(Json::Object(map)) => map,
            _ => return Err(MessageError::Malformed("opts must be an object")),
        };
        let flags = match map.get("flags") {
            None | Some(Json::Null) => None,
            Some(Json::Object(flags)) => Some(flags.clone()),
            Some(_) => return Err(MessageError::Malformed("opts.flags must be an object")),
        };
        Ok(WireOptions {
            rooms: rooms(map.get("rooms"), "opts.rooms must be an array of room names")?,
            except: rooms(map.get("except"), "opts.except must be an array of room names")?,
            flags,
        })
    }

    /// `flags.local`: the sender asked for its own sockets only (never sent across, but read).
    pub fn flag(&self, name: &str) -> Option<&Json> {
        self.flags.as_ref().and_then(|flags| flags.get(name))
    }
}

// ----- the packet -------------------------------------------------------------------------------

/// The Socket.IO packet a broadcast carries: an event and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct WirePacket {
    /// `data`: the event name first, then its arguments.
    pub data: Vec<Arg>,
    /// `nsp`: the classic adapter writes it, the sharded one does not (the message has it).
    pub nsp: Option<String>,
}

impl WirePacket {
    /// `{"type":2,"data":[...],"nsp":"/"}`.
    pub fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert("type".to_string(), Json::from(EVENT));
        map.insert(
            "data".to_string(),
            Json::Array(self.data.iter().map(arg_to_json).collect()),
        );
        if let Some(nsp) = &self.nsp {
            map.insert("nsp".to_string(), Json::String(nsp.clone()));
        }
        Json::Object(map)
    }

    /// Reads a packet: an EVENT (type 2, or 5 as a Node parser may have marked it) whose data
    /// starts with the event name. Anything else is refused.
    pub fn from_json(json: Option<Json>) -> Result<WirePacket, MessageError> {
        let Some(Json::Object(mut map)) = json else {
            return Err(MessageError::Malformed("packet must be an object"));
        };
        let packet_type = map.get("type").and_then(Json::as_u64);
        if packet_type != Some(EVENT) && packet_type != Some(BINARY_EVENT) {
            return Err(MessageError::Malformed("packet.type must be 2 (EVENT)"));
        }
        let nsp = match map.remove("nsp") {
            None | Some(Json::Null) => None,
            Some(Json::String(nsp)) => Some(nsp),
            Some(_) => return Err(MessageError::Malformed("packet.nsp must be a string")),
        };
        let data = args_from_json(map.remove("data").unwrap_or(Json::Null), "packet.data must be an array")?;
        match data.first() {
            Some(Arg::Json(Json::String(_))) | Some(Arg::Json(Json::Number(_))) => {}
            _ => return Err(MessageError::Malformed("packet.data must start with the event name")),
        }
        Ok(WirePacket { data, nsp })
    }

    /// The event name.
    pub fn event(&self) -> String {
        match self.data.first() {
            Some(Arg::Json(Json::String(name))) => name.clone(),
            Some(Arg::Json(other)) => other.to_string(),
            _ => String::new(),
        }
    }

    /// The arguments after the event name.
    pub fn args(&self) -> Vec<Arg> {
        self.data.iter().skip(1).cloned().collect()
    }
}

// ----- a socket's details -------------------------------------------------------------------------

/// One socket in a `fetchSockets` answer: what another server may know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WireSocket {
    pub id: String,
    /// `socket.handshake` as the Node server has it (`headers`, `time`, `address`, `xdomain`,
    /// `secure`, `issued`, `url`, `query`, `auth`), kept as JSON.
    pub handshake: WireHandshake,
    pub rooms: Vec<String>,
    /// `socket.data`.
    pub data: Json,
}

impl WireSocket {
    /// `{"id":...,"handshake":{...},"rooms":[...],"data":...}`.
    pub fn to_json(&self) -> Json {
        let mut map = Map::new();
        map.insert("id".to_string(), Json::String(self.id.clone()));
        map.insert("handshake".to_string(), self.handshake.to_json());
        map.insert("rooms".to_string(), string_array(&self.rooms));
        // `data: undefined` is left out by JSON.stringify; null stays.
        map.insert("data".to_string(), self.data.clone());
        Json::Object(map)
    }

    pub fn from_json(json: Json) -> Result<WireSocket, MessageError> {
        let mut map = object(json, "a socket must be an object")?;
        Ok(WireSocket {
            id: text(&map, "id", "socket.id must be a string")?,
            rooms: rooms(map.get("rooms"), "socket.rooms must be an array of room names")?,
            handshake: WireHandshake::Tree(map.remove("handshake").unwrap_or(Json::Null)),
            data: map.remove("data").unwrap_or(Json::Null),
        })
    }

    /// The same from a socket's fields as JSON text, its handshake kept as text
    /// (`WireHandshake::Text`): most of a socket's bytes, read only if the application asks.
    pub fn from_raw_fields(fields: RawFields) -> Result<WireSocket, MessageError> {
        let field = |name: &str| fields.get(name).map(|value| value.get());
        let id = field("id").and_then(|text| serde_json::from_str::<String>(text).ok());
        let Some(id) = id else {
            return Err(MessageError::Malformed("socket.id must be a string"));
        };
        let rooms_json = match field("rooms") {
            Some(text) => {
                Some(serde_json::from_str::<Json>(text).map_err(|_| MessageError::Malformed("socket.rooms"))?)
            }
            None => None,
        };
        let data = match field("data") {
            Some(text) => serde_json::from_str::<Json>(text).map_err(|_| MessageError::Malformed("socket.data"))?,
            None => Json::Null,
        };
        Ok(WireSocket {
            id,
            rooms: rooms(rooms_json.as_ref(), "socket.rooms must be an array of room names")?,
            handshake: match fields.get("handshake") {
                Some(text) => WireHandshake::Text((*text).to_owned()),
                None => WireHandshake::Tree(Json::Null),
            },
            data,
        })
    }

    /// The `sockets` array of an answer.
    pub fn list_from_json(json: Option<Json>) -> Result<Vec<WireSocket>, MessageError> {
        let Some(Json::Array(items)) = json else {
            return Err(MessageError::Malformed("sockets must be an array"));
        };
        if items.len() > MAX_ITEMS {
            return Err(MessageError::Malformed("sockets: too many"));
        }
        items.into_iter().map(WireSocket::from_json).collect()
    }

    /// The `sockets` array of an answer, as JSON text (the whole text: nothing may follow the
    /// array).
    pub fn list_from_raw_text(text: &str) -> Result<Vec<WireSocket>, MessageError> {
        // Each socket's fields in the same pass (an item that is no object fails it).
        let items: Vec<RawFields> =
            serde_json::from_str(text).map_err(|_| MessageError::Malformed("sockets must be an array of objects"))?;
        if items.len() > MAX_ITEMS {
            return Err(MessageError::Malformed("sockets: too many"));
        }
        items.into_iter().map(WireSocket::from_raw_fields).collect()
    }
}

/// A JSON object's fields, each value as its raw text (checked, not built).
pub type RawFields<'a> = std::collections::BTreeMap<String, &'a RawValue>;

/// `socket.handshake` in a `fetchSockets` answer: a tree (what we send, what msgpack gives), or
/// the JSON text another server wrote (what we read from a JSON answer; parsed when asked for).
#[derive(Debug, Clone)]
pub enum WireHandshake {
    Tree(Json),
    Text(Box<RawValue>),
}

impl WireHandshake {
    /// The handshake as JSON (the text parsed; `null` if it does not parse, as a missing one).
    pub fn to_json(&self) -> Json {
        match self {
            WireHandshake::Tree(json) => json.clone(),
            WireHandshake::Text(text) => serde_json::from_str(text.get()).unwrap_or(Json::Null),
        }
    }
}

impl PartialEq for WireHandshake {
    fn eq(&self, other: &WireHandshake) -> bool {
        self.to_json() == other.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_or_msgpack_by_the_first_byte() {
        assert_eq!(decode_json_or_msgpack(br#"{"type":6}"#), Ok(json!({"type": 6})));
        assert_eq!(decode_json_or_msgpack(&[0x81, 0xa1, 0x61, 0x01]), Ok(json!({"a": 1})));
        assert!(matches!(decode_json_or_msgpack(b""), Err(MessageError::Undecodable(_))));
        assert!(matches!(
            decode_json_or_msgpack(b"{\"type\":"),
            Err(MessageError::Undecodable(_))
        ));
        assert!(matches!(
            decode_json_or_msgpack(&[0xa5, 0x61]),
            Err(MessageError::Undecodable(_))
        ));
        // More values than msgpack::MAX_VALUES: refused before parsing.
        let huge = format!(r#"{{"rooms":[{}0]}}"#, "0,".repeat(msgpack::MAX_VALUES));
        assert_eq!(
            decode_json_or_msgpack(huge.as_bytes()),
            Err(MessageError::Undecodable(
                "JSON of more than 4000000 values".to_string()
            ))
        );
        assert_eq!(json_values_at_least(br#"{"a":[1,2],"b":"x,[{\"y"}"#), 4);
    }

    #[test]
    fn bytes_travel_as_bin_and_come_back_as_arguments() {
        let packet = WirePacket {
            data: vec![Arg::from("file"), Arg::Binary(vec![1, 2, 3])],
            nsp: Some("/".to_string()),
        };
        let message = packet.to_json();
        assert!(has_binary(&message));
        assert!(!has_binary(&json!({"a": [1, {"b": "c"}]})));
        let bytes = encode_msgpack(&message);
        // {type:2, data:["file", <bin 01 02 03>], nsp:"/"} as notepack writes it.
        assert_eq!(
            bytes,
            [
                0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a', 0x92, 0xa4, b'f', b'i', b'l',
                b'e', 0xc4, 0x03, 1, 2, 3, 0xa3, b'n', b's', b'p', 0xa1, b'/'
            ]
        );
        let back = WirePacket::from_json(Some(decode_msgpack(&bytes).unwrap())).unwrap();
        assert_eq!(back, packet);
        assert_eq!(back.event(), "file");
        assert_eq!(back.args(), vec![Arg::Binary(vec![1, 2, 3])]);
    }

    #[test]
    fn options_and_packets_refuse_wrong_types() {
        let opts = WireOptions::from_json(Some(&json!({"rooms": ["a", 1], "except": []}))).unwrap();
        assert_eq!(opts.rooms, ["a", "1"]);
        assert_eq!(opts.flags, None);
        assert_eq!(
            WireOptions::from_json(Some(&json!({}))).unwrap(),
            WireOptions::default()
        );
        for bad in [
            json!(null),
            json!({"rooms": "a"}),
            json!({"rooms": [{}]}),
            json!({"flags": 1}),
        ] {
            assert!(WireOptions::from_json(Some(&bad)).is_err(), "{bad}");
        }
        assert!(WireOptions::from_json(Some(&json!({"rooms": vec![0; MAX_ITEMS + 1]}))).is_err());
        for bad in [
            json!({"type": 1, "data": ["x"]}),
            json!({"type": 2, "data": "x"}),
            json!({"type": 2, "data": []}),
            json!({"type": 2, "data": [{}]}),
            json!({"type": 2, "data": ["x"], "nsp": 3}),
            json!([2, ["x"]]),
        ] {
            assert!(WirePacket::from_json(Some(bad.clone())).is_err(), "{bad}");
        }
        assert!(WirePacket::from_json(None).is_err());
    }
}
