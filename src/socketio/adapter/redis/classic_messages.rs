//! The classic adapter's messages (`@socket.io/redis-adapter` 8.x `createAdapter`, and
//! `@socket.io/redis-emitter` 5.x), with their channels, as a run shows them (`key` is
//! `socket.io` by default, `<nsp>` the namespace, `<uid>` 6 random characters per server):
//!
//! ```text
//! channel                              what                                    encoding
//! socket.io#<nsp>#                     a broadcast: [uid, packet, opts]         msgpack
//! socket.io#<nsp>#<room>#              a broadcast to exactly one room          msgpack
//! socket.io-request#<nsp>#             a request to every server                JSON, or msgpack (type 7)
//! socket.io-response#<nsp>#            an answer                                JSON, or msgpack (type 9)
//! socket.io-response#<nsp>#<uid>#      an answer for <uid> only (publishOnSpecificResponseChannel)
//! ```
//!
//! A broadcast, from a run (`io.to("room1").emit("news", 1.5)` on a Node server):
//!
//! ```text
//! PUBLISH socket.io#/#room1#
//! 93                                   [ (array of 3)
//!    a6 39 5a 56 4e 30 6d                "9ZVN0m"                              uid
//!    83 a4 74797065 02                   {type: 2,                            packet
//!       a4 64617461 92 a4 6e657773 cb 3ff8000000000000    data: ["news", 1.5],
//!       a3 6e7370 a1 2f                   nsp: "/"}
//!    83 a5 726f6f6d73 91 a5 726f6f6d31   {rooms: ["room1"],                   opts
//!       a6 657863657074 90                except: [],
//!       a5 666c616773 80                  flags: {}} ]
//! ```
//!
//! Requests (`type` is the source's `RequestType`) and their answers, from the same run:
//!
//! ```text
//! 5 REMOTE_FETCH   {"uid":"9ZVN0m","requestId":"vNutgw","type":5,"opts":{"rooms":[],"except":[]}}
//!     answer       {"requestId":"vNutgw","sockets":[{"id":"TsbI...","handshake":{...},"rooms":[...],"data":{...}}]}
//! 2 REMOTE_JOIN    {"uid":"9ZVN0m","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}
//! 3 REMOTE_LEAVE   {"uid":...,"type":3,"opts":{...},"rooms":[...]}
//! 4 REMOTE_DISCONNECT {"uid":...,"type":4,"opts":{...},"close":true}
//! 6 SERVER_SIDE_EMIT  {"uid":"9ZVN0m","type":6,"data":["hi","x"]}
//!                  {"uid":"9ZVN0m","requestId":"2qVDsX","type":6,"data":["hi","y"]}   (with ack)
//!     answer       {"type":6,"requestId":"2qVDsX","data":"answer"}   (always on socket.io-response#<nsp>#)
//! 7 BROADCAST      msgpack {uid, requestId, type: 7, packet, opts: {rooms, except, flags: {timeout: 1000}}}
//!     answers      {"type":8,"requestId":"vN40P2","clientCount":1}      BROADCAST_CLIENT_COUNT
//!                  msgpack {type: 9, requestId: "vN40P2", packet: "ok-7"}   BROADCAST_ACK
//! 0 SOCKETS        {"uid":...,"requestId":...,"type":0,"rooms":[...]}  → {"requestId":...,"sockets":[ids]}
//! 1 ALL_ROOMS      {"uid":...,"requestId":...,"type":1}                → {"requestId":...,"rooms":[...]}
//! ```
//!
//! 8.x servers send neither SOCKETS nor ALL_ROOMS for the operators here, but answer them, as we
//! do. The emitter's requests have no `uid`: `{"type":2,"opts":{"rooms":[],"except":[]},
//! "rooms":["room1"]}`; its broadcasts have the uid `"emitter"`, its `opts` the keys in the
//! order `rooms, flags, except`. Older servers (7.x) sent REMOTE_JOIN, REMOTE_LEAVE and
//! REMOTE_DISCONNECT for one socket, `{"uid","requestId","type":2,"sid","room"}`, answered
//! `{"requestId"}`: we answer those too.

use serde_json::{Map, Value as Json};

use super::messages::{
    self, MessageError, RawFields, WireOptions, WirePacket, WireSocket, arg_from_json, arg_to_json, args_from_json,
    object, optional_text, rooms, string_array, text,
};
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::packet::Arg;

/// The source's `RequestType`.
pub mod request_type {
    pub const SOCKETS: u64 = 0;
    pub const ALL_ROOMS: u64 = 1;
    pub const REMOTE_JOIN: u64 = 2;
    pub const REMOTE_LEAVE: u64 = 3;
    pub const REMOTE_DISCONNECT: u64 = 4;
    pub const REMOTE_FETCH: u64 = 5;
    pub const SERVER_SIDE_EMIT: u64 = 6;
    pub const BROADCAST: u64 = 7;
    pub const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub const BROADCAST_ACK: u64 = 9;
}
use request_type::*;

/// The channels of one namespace.
#[derive(Debug, Clone)]
pub struct Channels {
    /// `socket.io#/#`: broadcasts (a room's broadcasts add `room#`).
    pub broadcast: String,
    /// `socket.io-request#/#`
    pub request: String,
    /// `socket.io-response#/#`
    pub response: String,
    /// `socket.io-response#/#<uid>#`
    pub specific_response: String,
}

impl Channels {
    pub fn new(key: &str, nsp: &str, uid: &str) -> Channels {
        let response = format!("{key}-response#{nsp}#");
        Channels {
            broadcast: format!("{key}#{nsp}#"),
            request: format!("{key}-request#{nsp}#"),
            specific_response: format!("{response}{uid}#"),
            response,
        }
    }

    /// `socket.io#/#room1#`: where a broadcast to exactly one room goes.
    pub fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.broadcast)
    }

    /// The pattern every server subscribes to: `socket.io#/#*`.
    pub fn broadcast_pattern(&self) -> String {
        format!("{}*", self.broadcast)
    }

    /// The room a broadcast channel names: `socket.io#/#room1#` → `Some("room1")`,
    /// `socket.io#/#` → `Some("")`, another namespace's channel → `None`.
    pub fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        let rest = channel.strip_prefix(self.broadcast.as_str())?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_suffix('#')
    }
}

// ----- broadcasts ---------------------------------------------------------------------------------

/// `[uid, packet, opts]`, msgpack, on `socket.io#<nsp>#` (or its one room's channel).
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastMessage {
    pub uid: String,
    pub packet: WirePacket,
    pub opts: WireOptions,
}

impl BroadcastMessage {
    pub fn encode(&self) -> Vec<u8> {
        let message = Json::Array(vec![
            Json::String(self.uid.clone()),
            self.packet.to_json(),
            self.opts.to_json(),
        ]);
        messages::encode_msgpack(&message)
    }

    pub fn decode(bytes: &[u8]) -> Result<BroadcastMessage, MessageError> {
        let Json::Array(parts) = messages::decode_msgpack(bytes)? else {
            return Err(MessageError::Malformed("a broadcast must be [uid, packet, opts]"));
        };
        if parts.len() != 3 {
            return Err(MessageError::Malformed("a broadcast must be [uid, packet, opts]"));
        }
        let mut parts = parts.into_iter();
        let uid = match parts.next() {
            Some(Json::String(uid)) => uid,
            _ => return Err(MessageError::Malformed("a broadcast's uid must be a string")),
        };
        let packet = WirePacket::from_json(parts.next())?;
        let opts = WireOptions::from_json(parts.next().as_ref())?;
        Ok(BroadcastMessage { uid, packet, opts })
    }
}

// ----- requests -------------------------------------------------------------------------------------

/// A request on `socket.io-request#<nsp>#`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The sender; `None` from the emitter.
    pub uid: Option<String>,
    /// Present when an answer is expected.
    pub request_id: Option<String>,
    pub kind: RequestKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RequestKind {
    /// 0: the ids of the sockets in `rooms` (all when empty).
    Sockets { rooms: Vec<String> },
    /// 1: every room's name.
    AllRooms,
    /// 2: the sockets `opts` selects join `rooms`.
    Join { opts: WireOptions, rooms: Vec<String> },
    /// 2 (7.x): one socket joins one room; answered.
    JoinSocket { sid: String, room: String },
    /// 3: the sockets `opts` selects leave `rooms`.
    Leave { opts: WireOptions, rooms: Vec<String> },
    /// 3 (7.x): one socket leaves one room; answered.
    LeaveSocket { sid: String, room: String },
    /// 4: the sockets `opts` selects disconnect (`close`: their whole connection).
    Disconnect { opts: WireOptions, close: bool },
    /// 4 (7.x): one socket disconnects; answered.
    DisconnectSocket { sid: String, close: bool },
    /// 5: the details of the sockets `opts` selects.
    Fetch { opts: WireOptions },
    /// 6: `io.serverSideEmit(...args)`, with an ack when `request_id` is there.
    ServerSideEmit { args: Vec<Arg> },
    /// 7: a broadcast whose clients' acks are wanted (`timeout(...).emit(..., callback)`).
    Broadcast { packet: WirePacket, opts: WireOptions },
}

impl Request {
    /// The bytes of a request as a Node server publishes it (JSON, or msgpack for BROADCAST).
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        if let Some(uid) = &self.uid {
            map.insert("uid".to_string(), Json::String(uid.clone()));
        }
        if let Some(request_id) = &self.request_id {
            map.insert("requestId".to_string(), Json::String(request_id.clone()));
        }
        let operator_opts = |opts: &WireOptions| {
            let mut rooms_and_except = opts.clone();
            rooms_and_except.flags = None;
            rooms_and_except.to_json()
        };
        match &self.kind {
            RequestKind::Sockets { rooms } => {
                map.insert("type".to_string(), Json::from(SOCKETS));
                map.insert("rooms".to_string(), string_array(rooms));
            }
            RequestKind::AllRooms => {
                map.insert("type".to_string(), Json::from(ALL_ROOMS));
            }
            RequestKind::Join { opts, rooms } => {
                map.insert("type".to_string(), Json::from(REMOTE_JOIN));
                map.insert("opts".to_string(), operator_opts(opts));
                map.insert("rooms".to_string(), string_array(rooms));
            }
            RequestKind::JoinSocket { sid, room } => {
                map.insert("type".to_string(), Json::from(REMOTE_JOIN));
                map.insert("sid".to_string(), Json::String(sid.clone()));
                map.insert("room".to_string(), Json::String(room.clone()));
            }
            RequestKind::Leave { opts, rooms } => {
                map.insert("type".to_string(), Json::from(REMOTE_LEAVE));
                map.insert("opts".to_string(), operator_opts(opts));
                map.insert("rooms".to_string(), string_array(rooms));
            }
            RequestKind::LeaveSocket { sid, room } => {
                map.insert("type".to_string(), Json::from(REMOTE_LEAVE));
                map.insert("sid".to_string(), Json::String(sid.clone()));
                map.insert("room".to_string(), Json::String(room.clone()));
            }
            RequestKind::Disconnect { opts, close } => {
                map.insert("type".to_string(), Json::from(REMOTE_DISCONNECT));
                map.insert("opts".to_string(), operator_opts(opts));
                map.insert("close".to_string(), Json::Bool(*close));
            }
            RequestKind::DisconnectSocket { sid, close } => {
                map.insert("type".to_string(), Json::from(REMOTE_DISCONNECT));
                map.insert("sid".to_string(), Json::String(sid.clone()));
                map.insert("close".to_string(), Json::Bool(*close));
            }
            RequestKind::Fetch { opts } => {
                map.insert("type".to_string(), Json::from(REMOTE_FETCH));
                map.insert("opts".to_string(), operator_opts(opts));
            }
            RequestKind::ServerSideEmit { args } => {
                map.insert("type".to_string(), Json::from(SERVER_SIDE_EMIT));
                map.insert("data".to_string(), Json::Array(args.iter().map(arg_to_json).collect()));
            }
            RequestKind::Broadcast { packet, opts } => {
                map.insert("type".to_string(), Json::from(BROADCAST));
                map.insert("packet".to_string(), packet.to_json());
                map.insert("opts".to_string(), opts.to_json());
                return messages::encode_msgpack(&Json::Object(map));
            }
        }
        messages::encode_json(&Json::Object(map))
    }

    /// Reads a request (JSON when it starts with `{`, else msgpack).
    pub fn decode(bytes: &[u8]) -> Result<Request, MessageError> {
        let mut map = object(messages::decode_json_or_msgpack(bytes)?, "a request must be an object")?;
        let uid = optional_text(&map, "uid", "uid must be a string")?;
        let request_id = optional_text(&map, "requestId", "requestId must be a string")?;
        let request_type = match map.get("type") {
            Some(Json::Number(number)) => number.as_u64(),
            _ => None,
        };
        let kind = match request_type {
            Some(SOCKETS) => RequestKind::Sockets {
                rooms: rooms(map.get("rooms"), "rooms must be an array of room names")?,
            },
            Some(ALL_ROOMS) => RequestKind::AllRooms,
            Some(REMOTE_JOIN) => match map.get("opts") {
                Some(opts) => RequestKind::Join {
                    opts: WireOptions::from_json(Some(opts))?,
                    rooms: rooms(map.get("rooms"), "rooms must be an array of room names")?,
                },
                None => RequestKind::JoinSocket {
                    sid: text(&map, "sid", "sid must be a string")?,
                    room: text(&map, "room", "room must be a string")?,
                },
            },
            Some(REMOTE_LEAVE) => match map.get("opts") {
                Some(opts) => RequestKind::Leave {
                    opts: WireOptions::from_json(Some(opts))?,
                    rooms: rooms(map.get("rooms"), "rooms must be an array of room names")?,
                },
                None => RequestKind::LeaveSocket {
                    sid: text(&map, "sid", "sid must be a string")?,
                    room: text(&map, "room", "room must be a string")?,
                },
            },
            Some(REMOTE_DISCONNECT) => {
                let close = matches!(map.get("close"), Some(Json::Bool(true)));
                match map.get("opts") {
                    Some(opts) => RequestKind::Disconnect {
                        opts: WireOptions::from_json(Some(opts))?,
                        close,
                    },
                    None => RequestKind::DisconnectSocket {
                        sid: text(&map, "sid", "sid must be a string")?,
                        close,
                    },
                }
            }
            Some(REMOTE_FETCH) => RequestKind::Fetch {
                opts: WireOptions::from_json(map.get("opts"))?,
            },
            Some(SERVER_SIDE_EMIT) => RequestKind::ServerSideEmit {
                args: args_from_json(map.remove("data").unwrap_or(Json::Null), "data must be an array")?,
            },
            Some(BROADCAST) => RequestKind::Broadcast {
                opts: WireOptions::from_json(map.get("opts"))?,
                packet: WirePacket::from_json(map.remove("packet"))?,
            },
            _ => {
                let shown = map
                    .get("type")
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "(none)".to_string());
                return Err(MessageError::UnknownType(shown));
            }
        };
        if request_id.is_none() && matches!(kind, RequestKind::Broadcast { .. }) {
            return Err(MessageError::Malformed("a BROADCAST request needs a requestId"));
        }
        Ok(Request { uid, request_id, kind })
    }
}

// ----- responses ------------------------------------------------------------------------------------

/// An answer on `socket.io-response#<nsp>#` (or the requester's own channel).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub request_id: String,
    pub kind: ResponseKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseKind {
    /// `{requestId, sockets: [ids]}` to SOCKETS.
    SocketIds(Vec<String>),
    /// `{requestId, rooms}` to ALL_ROOMS.
    Rooms(Vec<String>),
    /// `{requestId}` to a 7.x one-socket join, leave or disconnect.
    Done,
    /// `{requestId, sockets: [{id, handshake, rooms, data}]}` to REMOTE_FETCH.
    Sockets(Vec<WireSocket>),
    /// `{type: 6, requestId, data}`: one server's ack to a server-side emit.
    ServerSideEmit(Arg),
    /// `{type: 8, requestId, clientCount}`: how many clients a server sent a BROADCAST to.
    BroadcastClientCount(u64),
    /// `{type: 9, requestId, packet}` (msgpack): one client's ack to a BROADCAST.
    BroadcastAck(Arg),
}

/// The id of an answer that starts `{"requestId":"<id>"`, read from those first bytes alone:
/// how the reference (`JSON.stringify({requestId, sockets})`) and ours write the answers to
/// SOCKETS, ALL_ROOMS and REMOTE_FETCH, the large ones. `None` for any other start, or an id
/// with an escape in it (the answer is then read whole).
///
/// ```text
/// {"requestId":"d8a3f2c1e0b97f61","sockets":[{"id":"...","handshake":{...}},...]}  ->  d8a3f2c1e0b97f61
/// ```
fn leading_request_id(bytes: &[u8]) -> Option<&str> {
    let rest = bytes.strip_prefix(b"{\"requestId\":\"")?;
    let end = rest.iter().position(|&byte| byte == b'"' || byte == b'\\')?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

/// The `sockets` array of a REMOTE_FETCH answer to `request_id` written
/// `{"requestId":"<id>","sockets":[...]}` (the reference's `JSON.stringify({requestId,
/// sockets})`, and ours), as its text, cut from between the message's known head and its last
/// `}`: the array is then parsed once, where reading the message's fields first went over its
/// half megabyte once more. `None` when the message is not written so. Parsing the array whole
/// (`list_from_raw_text`: nothing may follow it) checks the rest of the message.
fn fetch_answer_sockets<'a>(bytes: &'a [u8], request_id: &str) -> Option<&'a str> {
    let rest = bytes.strip_prefix(b"{\"requestId\":\"")?;
    let rest = rest.strip_prefix(request_id.as_bytes())?;
    let rest = rest.strip_prefix(b"\",\"sockets\":")?;
    let array = rest.strip_suffix(b"}")?;
    std::str::from_utf8(array).ok()
}

impl Response {
    pub fn encode(&self) -> Vec<u8> {
        let mut map = Map::new();
        let request_id = Json::String(self.request_id.clone());
        match &self.kind {
            ResponseKind::SocketIds(ids) => {
                map.insert("requestId".to_string(), request_id);
                map.insert("sockets".to_string(), string_array(ids));
            }
            ResponseKind::Rooms(names) => {
                map.insert("requestId".to_string(), request_id);
                map.insert("rooms".to_string(), string_array(names));
            }
            ResponseKind::Done => {
                map.insert("requestId".to_string(), request_id);
            }
            ResponseKind::Sockets(sockets) => {
                map.insert("requestId".to_string(), request_id);
                map.insert(
                    "sockets".to_string(),
                    Json::Array(sockets.iter().map(WireSocket::to_json).collect()),
                );
            }
            ResponseKind::ServerSideEmit(arg) => {
                map.insert("type".to_string(), Json::from(SERVER_SIDE_EMIT));
                map.insert("requestId".to_string(), request_id);
                map.insert("data".to_string(), arg_to_json(arg));
            }
            ResponseKind::BroadcastClientCount(count) => {
                map.insert("type".to_string(), Json::from(BROADCAST_CLIENT_COUNT));
                map.insert("requestId".to_string(), request_id);
                map.insert("clientCount".to_string(), Json::from(*count));
            }
            ResponseKind::BroadcastAck(arg) => {
                map.insert("type".to_string(), Json::from(BROADCAST_ACK));
                map.insert("requestId".to_string(), request_id);
                map.insert("packet".to_string(), arg_to_json(arg));
                return messages::encode_msgpack(&Json::Object(map));
            }
        }
        messages::encode_json(&Json::Object(map))
    }

    /// `{"requestId":"...","sockets":[{"id":...,"handshake":{...},"rooms":[...],"data":...}]}`:
    /// the REMOTE_FETCH answer, the same bytes as `encode()` of `ResponseKind::Sockets` gives,
    /// written straight from the sockets (no `Value` tree of a thousand handshakes, and no copy
    /// of them: `RemoteSocket::write_details_json`).
    pub fn encode_fetch_answer(request_id: &str, sockets: &[RemoteSocket]) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + sockets.len() * 512);
        // Writing to a `Vec` does not fail.
        out.extend_from_slice(b"{\"requestId\":");
        let _ = serde_json::to_writer(&mut out, request_id);
        out.extend_from_slice(b",\"sockets\":[");
        for (index, socket) in sockets.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            socket.write_details_json(&mut out);
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// A JSON answer read from its head first, each field's value as its raw text (checked, not
    /// built): an answer to a request we did not send (another server's, or our own answer that
    /// Redis sends back to us on the common channel) is refused from its `requestId` alone, and a
    /// REMOTE_FETCH answer is read without a tree of its handshakes (they stay text,
    /// `WireHandshake::Text`); a fetch answer of a thousand sockets is half a megabyte. `None`
    /// for anything else (msgpack, a typed answer, another kind): `decode` reads it whole.
    fn decode_by_head(bytes: &[u8], expected: &impl Fn(&str) -> Option<u64>) -> Result<Option<Response>, MessageError> {
        if bytes.first() != Some(&b'{') {
            return Ok(None);
        }
        messages::check_json_size(bytes)?;
        // Every server gets every answer on the common channel, its own too: one that starts
        // with the id of a request we did not send is refused from its first bytes, before the
        // rest (half a megabyte for a fetch of a thousand sockets) is parsed.
        if let Some(request_id) = leading_request_id(bytes) {
            match expected(request_id) {
                None => {
                    return Err(MessageError::UnknownType(format!(
                        "answer to an unknown request {request_id}"
                    )));
                }
                // Ours, and written as the reference writes it: its sockets read in one pass
                // (`fetch_answer_sockets`); anything else about it takes the way below.
                Some(REMOTE_FETCH) => {
                    if let Some(sockets) = fetch_answer_sockets(bytes, request_id)
                        && let Ok(sockets) = WireSocket::list_from_raw_text(sockets)
                    {
                        return Ok(Some(Response {
                            request_id: request_id.to_string(),
                            kind: ResponseKind::Sockets(sockets),
                        }));
                    }
                }
                Some(_) => {}
            }
        }
        let fields: RawFields =
            serde_json::from_slice(bytes).map_err(|e| MessageError::Undecodable(format!("JSON {e}")))?;
        let field = |name: &str| fields.get(name).map(|value| value.get());
        let Some(Ok(request_id)) = field("requestId").map(serde_json::from_str::<String>) else {
            return Ok(None);
        };
        if field("type").is_some() {
            return Ok(None);
        }
        match expected(&request_id) {
            None => Err(MessageError::UnknownType(format!(
                "answer to an unknown request {request_id}"
            ))),
            Some(REMOTE_FETCH) => {
                let Some(sockets) = fields.get("sockets") else {
                    return Err(MessageError::Malformed("sockets must be an array"));
                };
                let sockets = WireSocket::list_from_raw_text(sockets.get())?;
                Ok(Some(Response {
                    request_id,
                    kind: ResponseKind::Sockets(sockets),
                }))
            }
            Some(_) => Ok(None),
        }
    }

    /// Reads an answer. Which kind it is depends on the request it answers (SOCKETS and
    /// REMOTE_FETCH answers both have `sockets`), so `expected` is the type of our request
    /// with that id, when we have one.
    pub fn decode(bytes: &[u8], expected: impl Fn(&str) -> Option<u64>) -> Result<Response, MessageError> {
        if let Some(answer) = Response::decode_by_head(bytes, &expected)? {
            return Ok(answer);
        }
        let mut map = object(messages::decode_json_or_msgpack(bytes)?, "a response must be an object")?;
        let request_id = text(&map, "requestId", "requestId must be a string")?;
        let response_type = map.get("type").and_then(Json::as_u64);
        let kind = match (response_type, expected(&request_id)) {
            (Some(BROADCAST_CLIENT_COUNT), _) => match map.get("clientCount").and_then(Json::as_u64) {
                Some(count) => ResponseKind::BroadcastClientCount(count),
                None => return Err(MessageError::Malformed("clientCount must be a number")),
            },
            (Some(BROADCAST_ACK), _) => {
                ResponseKind::BroadcastAck(arg_from_json(map.remove("packet").unwrap_or(Json::Null)))
            }
            (Some(SERVER_SIDE_EMIT), _) => {
                ResponseKind::ServerSideEmit(arg_from_json(map.remove("data").unwrap_or(Json::Null)))
            }
            (_, Some(REMOTE_FETCH)) => ResponseKind::Sockets(WireSocket::list_from_json(map.remove("sockets"))?),
            (_, Some(SOCKETS)) => {
                ResponseKind::SocketIds(rooms(map.get("sockets"), "sockets must be an array of ids")?)
            }
            (_, Some(ALL_ROOMS)) => ResponseKind::Rooms(rooms(map.get("rooms"), "rooms must be an array")?),
            (_, Some(_)) => ResponseKind::Done,
            (_, None) => {
                return Err(MessageError::UnknownType(format!(
                    "answer to an unknown request {request_id}"
                )));
            }
        };
        Ok(Response { request_id, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(rooms: &[&str], except: &[&str]) -> WireOptions {
        WireOptions {
            rooms: rooms.iter().map(|r| r.to_string()).collect(),
            except: except.iter().map(|r| r.to_string()).collect(),
            flags: Some(Map::new()),
        }
    }

    fn text_of(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn channels_as_the_reference_names_them() {
        let channels = Channels::new("socket.io", "/custom", "9ZVN0m");
        assert_eq!(channels.broadcast, "socket.io#/custom#");
        assert_eq!(channels.broadcast_pattern(), "socket.io#/custom#*");
        assert_eq!(channels.room("room1"), "socket.io#/custom#room1#");
        assert_eq!(channels.request, "socket.io-request#/custom#");
        assert_eq!(channels.response, "socket.io-response#/custom#");
        assert_eq!(channels.specific_response, "socket.io-response#/custom#9ZVN0m#");
        assert_eq!(channels.room_of("socket.io#/custom#room1#"), Some("room1"));
        assert_eq!(channels.room_of("socket.io#/custom#"), Some(""));
        assert_eq!(channels.room_of("socket.io#/custom#room1"), None);
        assert_eq!(channels.room_of("socket.io#/other#"), None);
    }

    #[test]
    fn requests_byte_for_byte_as_a_node_server_sent_them() {
        // Each text is what `redis-cli monitor` showed a Node server (redis-adapter 8.3.0) publish.
        let fetch = Request {
            uid: Some("9ZVN0m".into()),
            request_id: Some("vNutgw".into()),
            kind: RequestKind::Fetch { opts: opts(&[], &[]) },
        };
        let fetch_text = r#"{"uid":"9ZVN0m","requestId":"vNutgw","type":5,"opts":{"rooms":[],"except":[]}}"#;
        assert_eq!(text_of(fetch.encode()), fetch_text);
        let join = Request {
            uid: Some("9ZVN0m".into()),
            request_id: None,
            kind: RequestKind::Join {
                opts: opts(&["room1"], &[]),
                rooms: vec!["room2".into()],
            },
        };
        let join_text = r#"{"uid":"9ZVN0m","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}"#;
        assert_eq!(text_of(join.encode()), join_text);
        let emit = Request {
            uid: Some("9ZVN0m".into()),
            request_id: Some("2qVDsX".into()),
            kind: RequestKind::ServerSideEmit {
                args: vec![Arg::from("hi"), Arg::from("y")],
            },
        };
        let emit_text = r#"{"uid":"9ZVN0m","requestId":"2qVDsX","type":6,"data":["hi","y"]}"#;
        assert_eq!(text_of(emit.encode()), emit_text);
        // Back again: the same requests.
        for (request, text) in [(fetch, fetch_text), (join, join_text), (emit, emit_text)] {
            let mut read = Request::decode(text.as_bytes()).unwrap();
            if let RequestKind::Fetch { opts } | RequestKind::Join { opts, .. } = &mut read.kind {
                opts.flags = Some(Map::new());
            }
            assert_eq!(read, request);
        }
        // The BROADCAST request with acks, msgpack.
        let broadcast = Request {
            uid: Some("9ZVN0m".into()),
            request_id: Some("vN40P2".into()),
            kind: RequestKind::Broadcast {
                packet: WirePacket {
                    data: vec![Arg::from("ask"), Arg::Json(json!(7))],
                    nsp: Some("/".into()),
                },
                opts: WireOptions {
                    flags: Some(json!({"timeout": 1000}).as_object().unwrap().clone()),
                    ..opts(&[], &[])
                },
            },
        };
        let mut expected =
            b"\x85\xa3uid\xa69ZVN0m\xa9requestId\xa6vN40P2\xa4type\x07\xa6packet\x83\xa4type\x02".to_vec();
        expected.extend_from_slice(b"\xa4data\x92\xa3ask\x07\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90");
        expected.extend_from_slice(b"\xa5flags\x81\xa7timeout\xcd\x03\xe8");
        assert_eq!(broadcast.encode(), expected);
        assert_eq!(Request::decode(&expected).unwrap(), broadcast);
    }

    #[test]
    fn the_emitters_requests_have_no_uid() {
        let join = Request::decode(br#"{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["room1"]}"#).unwrap();
        assert_eq!(join.uid, None);
        assert!(matches!(join.kind, RequestKind::Join { ref rooms, .. } if rooms == &["room1"]));
        let emit = Request::decode(br#"{"uid":"emitter","type":6,"data":["hello",1]}"#).unwrap();
        assert_eq!(emit.uid.as_deref(), Some("emitter"));
        assert_eq!(emit.request_id, None);
    }

    #[test]
    fn responses_byte_for_byte_and_back() {
        let cases = [
            (
                Response {
                    request_id: "2qVDsX".into(),
                    kind: ResponseKind::ServerSideEmit(Arg::from("answer")),
                },
                SERVER_SIDE_EMIT,
                br#"{"type":6,"requestId":"2qVDsX","data":"answer"}"#.to_vec(),
            ),
            (
                Response {
                    request_id: "vN40P2".into(),
                    kind: ResponseKind::BroadcastClientCount(1),
                },
                BROADCAST,
                br#"{"type":8,"requestId":"vN40P2","clientCount":1}"#.to_vec(),
            ),
            (
                Response {
                    request_id: "vN40P2".into(),
                    kind: ResponseKind::BroadcastAck(Arg::from("ok-7")),
                },
                BROADCAST,
                b"\x83\xa4type\x09\xa9requestId\xa6vN40P2\xa6packet\xa4ok-7".to_vec(),
            ),
            (
                Response {
                    request_id: "r".into(),
                    kind: ResponseKind::Rooms(vec!["a".into()]),
                },
                ALL_ROOMS,
                br#"{"requestId":"r","rooms":["a"]}"#.to_vec(),
            ),
            (
                Response {
                    request_id: "r".into(),
                    kind: ResponseKind::SocketIds(vec!["a".into()]),
                },
                SOCKETS,
                br#"{"requestId":"r","sockets":["a"]}"#.to_vec(),
            ),
        ];
        for (response, request_type, bytes) in cases {
            assert_eq!(response.encode(), bytes);
            assert_eq!(Response::decode(&bytes, |_| Some(request_type)).unwrap(), response);
        }
        let fetched = br#"{"requestId":"vNutgw","sockets":[{"id":"TsbI","handshake":{"auth":{}},"rooms":["TsbI","room1"],"data":{"n":1}}]}"#;
        let response = Response::decode(fetched, |_| Some(REMOTE_FETCH)).unwrap();
        assert_eq!(response.encode(), fetched);
        let ResponseKind::Sockets(sockets) = response.kind else {
            panic!()
        };
        assert_eq!(sockets[0].rooms, ["TsbI", "room1"]);
        // An answer to nothing we asked is refused.
        assert!(Response::decode(br#"{"requestId":"x","sockets":[]}"#, |_| None).is_err());
    }

    #[test]
    fn the_fetch_answer_written_straight_is_the_tree_s_bytes() {
        let pairs = |list: &[(&str, &str)]| -> std::sync::Arc<[(String, String)]> {
            list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let handshake = crate::socketio::socket::Handshake {
            headers: pairs(&[
                ("host", "x"),
                ("cookie", "a=1"),
                ("user-agent", "é \"q\"\n"),
                ("cookie", "b=2"),
            ]),
            query: pairs(&[("EIO", "4"), ("t", "1"), ("t", "2"), ("t", "3")]),
            auth: json!({"token": "abc", "n": [1, 2.5, null]}),
            url: "/socket.io/?EIO=4&transport=websocket".into(),
            time: "Tue Dec 02 2026 12:00:00 GMT+0000 (Coordinated Universal Time)".into(),
            issued: 1_764_676_800_000,
            xdomain: true,
            secure: false,
            address: "127.0.0.1:4000".parse().unwrap(),
        };
        let socket = |id: &str, data: Json| crate::socketio::adapter::SocketDetails {
            id: id.into(),
            handshake: handshake.clone(),
            rooms: vec![id.into(), "room \u{1F600}".into()],
            data,
        };
        let details = [
            socket("a", json!({})),
            socket("b\"", json!(null)),
            socket("c", json!({"x": [true]})),
        ];
        // The answer is written from `RemoteSocket`s (a server's own sockets, in the adapter);
        // these are made from the details, as another server's would be.
        let nsp = crate::socketio::namespace::Namespace::new(
            "/",
            crate::timer::Timers::start().unwrap(),
            &crate::socketio::adapter::AdapterFactory::in_memory(),
            None,
            crate::socketio::parser::default_parser(),
        );
        let handles: Vec<RemoteSocket> = details
            .iter()
            .cloned()
            .map(|details| RemoteSocket::remote(nsp.clone(), details))
            .collect();
        for count in [0, 1, details.len()] {
            let tree = Response {
                request_id: "vNutgw".into(),
                kind: ResponseKind::Sockets(details[..count].iter().cloned().map(WireSocket::from).collect()),
            };
            assert_eq!(
                String::from_utf8(Response::encode_fetch_answer("vNutgw", &handles[..count])).unwrap(),
                String::from_utf8(tree.encode()).unwrap()
            );
        }
    }

    #[test]
    fn a_fetch_answer_read_in_one_pass_is_what_the_whole_message_gives() {
        let ours = |id: &str| (id == "mine").then_some(REMOTE_FETCH);
        let sockets = r#"[{"id":"a","handshake":{"headers":{"x":"}]\""}},"rooms":["a","r"],"data":{"n":1}},{"id":"b","rooms":[],"data":null}]"#;
        let written = format!(r#"{{"requestId":"mine","sockets":{sockets}}}"#);
        let reordered = format!(r#"{{"sockets":{sockets},"requestId":"mine"}}"#);
        assert!(fetch_answer_sockets(written.as_bytes(), "mine").is_some());
        assert!(fetch_answer_sockets(reordered.as_bytes(), "mine").is_none());
        let fast = Response::decode(written.as_bytes(), ours).unwrap();
        let whole = Response::decode(reordered.as_bytes(), ours).unwrap();
        assert_eq!(fast, whole);
        let ResponseKind::Sockets(list) = &fast.kind else {
            panic!("{fast:?}");
        };
        assert_eq!(list.len(), 2);
        // What does not fit the cut goes the whole way: a field after the array is read, a
        // bracket too many is an error.
        let extra = Response::decode(br#"{"requestId":"mine","sockets":[],"x":1}"#, ours).unwrap();
        assert_eq!(extra.kind, ResponseKind::Sockets(Vec::new()));
        assert!(matches!(
            Response::decode(br#"{"requestId":"mine","sockets":[]]}"#, ours),
            Err(MessageError::Undecodable(_))
        ));
    }

    #[test]
    fn answers_to_others_are_known_by_their_head() {
        let ours = |id: &str| (id == "mine").then_some(REMOTE_FETCH);
        let unknown = |bytes: &[u8]| match Response::decode(bytes, ours) {
            Err(MessageError::UnknownType(reason)) => Some(reason),
            _ => None,
        };
        let echo = unknown(br#"{"requestId":"echo","sockets":[{"id":"a"}]}"#);
        assert_eq!(echo.as_deref(), Some("answer to an unknown request echo"));
        assert_eq!(unknown(br#"{"requestId":"mine","sockets":[]}"#), None);
        assert_eq!(unknown(br#"{"sockets":[],"requestId":"mine"}"#), None);
        // Typed answers, msgpack and what is not an object are read whole.
        let typed = br#"{"type":8,"requestId":"x","clientCount":1}"#;
        assert!(matches!(
            Response::decode(typed, ours),
            Ok(Response {
                kind: ResponseKind::BroadcastClientCount(1),
                ..
            })
        ));
        assert_eq!(
            unknown(b"\x81\xa9requestId\xa1x").as_deref(),
            Some("answer to an unknown request x")
        );
        assert_eq!(unknown(br#"{"requestId":1}"#), None);
        // An answer that starts with an id not ours is refused from that start, whatever
        // follows; one with our id is read whole, and fails if it is not JSON.
        assert_eq!(
            unknown(br#"{"requestId":"x""#).as_deref(),
            Some("answer to an unknown request x")
        );
        assert_eq!(
            unknown(br#"{"requestId":"echo","sockets":[{"id":"a",#garbage"#).as_deref(),
            Some("answer to an unknown request echo")
        );
        assert!(matches!(
            Response::decode(br#"{"requestId":"mine","sockets":[{"id":"a",#"#, ours),
            Err(MessageError::Undecodable(_))
        ));
        assert_eq!(leading_request_id(br#"{"requestId":"a\"b","sockets":[]}"#), None);
        assert_eq!(leading_request_id(br#"{ "requestId":"a"}"#), None);
        assert_eq!(
            leading_request_id(br#"{"requestId":"d8a3","sockets":[]}"#),
            Some("d8a3")
        );
    }

    #[test]
    fn garbage_requests_are_errors() {
        for bad in [
            &br#"{"type":42}"#[..],
            br#"{"uid":3,"type":2}"#,
            br#"{"type":2,"opts":{"rooms":"x"},"rooms":[]}"#,
            br#"{"type":2}"#,
            br#"{"type":6,"data":"x"}"#,
            br#"{"type":"5"}"#,
            br#"[1,2]"#,
            br#"{"type":7,"packet":{"type":2,"data":["x"]},"opts":{}}"#,
            b"\x92\x01",
            b"{",
        ] {
            assert!(Request::decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            Request::decode(br#"{"type":42}"#),
            Err(MessageError::UnknownType("42".to_string()))
        );
        for bad in [&b"\x93\xa1a\x01\x02"[..], b"\x92\xa1a\x80", b"\x93\x01\x80\x80", b"{}"] {
            assert!(BroadcastMessage::decode(bad).is_err());
        }
    }
}
