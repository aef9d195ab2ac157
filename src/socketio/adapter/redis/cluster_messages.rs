//! The sharded adapter's messages (`createShardedAdapter`, which is socket.io-adapter's
//! `ClusterAdapter` over Redis 7's `SSUBSCRIBE` / `SPUBLISH`): one shape for everything,
//! `{type, data, uid, nsp}`, JSON unless `data` holds bytes (then msgpack). `uid` is 16 hex
//! digits per server.
//!
//! ```text
//! channel                          what
//! socket.io#<nsp>#                 every message to every server
//! socket.io#<nsp>#<room>#          a broadcast to exactly one room, without acks ("dynamic" modes)
//! socket.io#<nsp>#<uid>#           the answers to server <uid>'s requests
//! ```
//!
//! From a run (`MessageType` as socket-io-adapter's enum):
//!
//! ```text
//! 3 BROADCAST              {"type":3,"data":{"packet":{"type":2,"data":["news",1.5]},"opts":{"rooms":["room1"],
//!                           "except":[],"flags":{}}},"uid":"001768e133baf464","nsp":"/"}
//!                          with acks: data {"packet":...,"requestId":"7d3f3f254f2a6d72","opts":...}
//!                          with bytes: msgpack 84 a4 74797065 03 a4 64617461 82 a6 7061636b6574 ...
//! 11 BROADCAST_CLIENT_COUNT  data {"requestId":"7d3f...","clientCount":1}
//! 12 BROADCAST_ACK         data {"requestId":"7d3f...","packet":"ok-7"}
//! 4 SOCKETS_JOIN           data {"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room2"]}
//! 5 SOCKETS_LEAVE          data {"opts":{...},"rooms":[...]}
//! 6 DISCONNECT_SOCKETS     data {"opts":{"rooms":["room2"],"except":[],"flags":{}},"close":true}
//! 7 FETCH_SOCKETS          data {"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"1a278f25b127e405"}
//! 8 FETCH_SOCKETS_RESPONSE data {"requestId":"1a27...","sockets":[{"id":...,"handshake":{...},"rooms":[...],"data":...}]}
//! 9 SERVER_SIDE_EMIT       data {"packet":["hi","x"]}, with an ack {"requestId":"6855...","packet":["hi","y"]}
//! 10 SERVER_SIDE_EMIT_RESPONSE data {"requestId":"6855...","packet":"answer"}
//! 1 INITIAL_HEARTBEAT, 2 HEARTBEAT, 13 ADAPTER_CLOSE: no data; the sharded adapter sends none
//!                          (it counts servers with SHARDNUMSUB): read and ignored.
//! ```

use serde_json::{Map, Value as Json};

use super::messages::{
    self, MessageError, WireOptions, WirePacket, WireSocket, arg_from_json, arg_to_json, args_from_json, object,
    optional_text, rooms, string_array, text,
};
use crate::socketio::packet::Arg;

/// socket.io-adapter's `MessageType`.
pub mod message_type {
    pub const INITIAL_HEARTBEAT: u64 = 1;
    pub const HEARTBEAT: u64 = 2;
    pub const BROADCAST: u64 = 3;
    pub const SOCKETS_JOIN: u64 = 4;
    pub const SOCKETS_LEAVE: u64 = 5;
    pub const DISCONNECT_SOCKETS: u64 = 6;
    pub const FETCH_SOCKETS: u64 = 7;
    pub const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub const SERVER_SIDE_EMIT: u64 = 9;
    pub const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub const BROADCAST_ACK: u64 = 12;
    pub const ADAPTER_CLOSE: u64 = 13;
}
use message_type::*;

/// One message between the servers of a sharded cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMessage {
    /// The sender.
    pub uid: String,
    pub nsp: String,
    pub body: MessageBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MessageBody {
    /// 1, 2, 13: the heartbeat adapters' own; carry nothing we use.
    Heartbeat(u64),
    /// 3: a broadcast; with `request_id`, the sender wants its clients' acks.
    Broadcast {
        packet: WirePacket,
        request_id: Option<String>,
        opts: WireOptions,
    },
    /// 4
    SocketsJoin { opts: WireOptions, rooms: Vec<String> },
    /// 5
    SocketsLeave { opts: WireOptions, rooms: Vec<String> },
    /// 6
    DisconnectSockets { opts: WireOptions, close: bool },
    /// 7
    FetchSockets { opts: WireOptions, request_id: String },
    /// 8
    FetchSocketsResponse {
        request_id: String,
        sockets: Vec<WireSocket>,
    },
    /// 9: with `request_id`, the sender wants one answer per server.
    ServerSideEmit { request_id: Option<String>, args: Vec<Arg> },
    /// 10
    ServerSideEmitResponse { request_id: String, packet: Arg },
    /// 11
    BroadcastClientCount { request_id: String, client_count: u64 },
    /// 12
    BroadcastAck { request_id: String, packet: Arg },
}

impl MessageBody {
    /// Its `MessageType`.
    pub fn message_type(&self) -> u64 {
        match self {
            MessageBody::Heartbeat(kind) => *kind,
            MessageBody::Broadcast { .. } => BROADCAST,
            MessageBody::SocketsJoin { .. } => SOCKETS_JOIN,
            MessageBody::SocketsLeave { .. } => SOCKETS_LEAVE,
            MessageBody::DisconnectSockets { .. } => DISCONNECT_SOCKETS,
            MessageBody::FetchSockets { .. } => FETCH_SOCKETS,
            MessageBody::FetchSocketsResponse { .. } => FETCH_SOCKETS_RESPONSE,
            MessageBody::ServerSideEmit { .. } => SERVER_SIDE_EMIT,
            MessageBody::ServerSideEmitResponse { .. } => SERVER_SIDE_EMIT_RESPONSE,
            MessageBody::BroadcastClientCount { .. } => BROADCAST_CLIENT_COUNT,
            MessageBody::BroadcastAck { .. } => BROADCAST_ACK,
        }
    }

    /// The answers to a request (they go to the requester's own channel).
    pub fn is_response(&self) -> bool {
        matches!(
            self,
            MessageBody::FetchSocketsResponse { .. }
                | MessageBody::ServerSideEmitResponse { .. }
                | MessageBody::BroadcastClientCount { .. }
                | MessageBody::BroadcastAck { .. }
        )
    }

    /// `data`, keys in the reference's order; `None` for a heartbeat.
    fn data(&self) -> Option<Json> {
        let mut data = Map::new();
        match self {
            MessageBody::Heartbeat(_) => return None,
            MessageBody::Broadcast {
                packet,
                request_id,
                opts,
            } => {
                data.insert("packet".to_string(), packet.to_json());
                if let Some(request_id) = request_id {
                    data.insert("requestId".to_string(), Json::String(request_id.clone()));
                }
                data.insert("opts".to_string(), opts.to_json());
            }
            MessageBody::SocketsJoin { opts, rooms } | MessageBody::SocketsLeave { opts, rooms } => {
                data.insert("opts".to_string(), opts.to_json());
                data.insert("rooms".to_string(), string_array(rooms));
            }
            MessageBody::DisconnectSockets { opts, close } => {
                data.insert("opts".to_string(), opts.to_json());
                data.insert("close".to_string(), Json::Bool(*close));
            }
            MessageBody::FetchSockets { opts, request_id } => {
                data.insert("opts".to_string(), opts.to_json());
                data.insert("requestId".to_string(), Json::String(request_id.clone()));
            }
            MessageBody::FetchSocketsResponse { request_id, sockets } => {
                data.insert("requestId".to_string(), Json::String(request_id.clone()));
                data.insert(
                    "sockets".to_string(),
                    Json::Array(sockets.iter().map(WireSocket::to_json).collect()),
                );
            }
            MessageBody::ServerSideEmit { request_id, args } => {
                if let Some(request_id) = request_id {
                    data.insert("requestId".to_string(), Json::String(request_id.clone()));
                }
                data.insert(
                    "packet".to_string(),
                    Json::Array(args.iter().map(arg_to_json).collect()),
                );
            }
            MessageBody::ServerSideEmitResponse { request_id, packet }
            | MessageBody::BroadcastAck { request_id, packet } => {
                data.insert("requestId".to_string(), Json::String(request_id.clone()));
                data.insert("packet".to_string(), arg_to_json(packet));
            }
            MessageBody::BroadcastClientCount {
                request_id,
                client_count,
            } => {
                data.insert("requestId".to_string(), Json::String(request_id.clone()));
                data.insert("clientCount".to_string(), Json::from(*client_count));
            }
        }
        Some(Json::Object(data))
    }
}

impl ClusterMessage {
    /// `{"type":..,"data":{..},"uid":..,"nsp":..}`: JSON, or msgpack when the data holds bytes
    /// (the reference's `encode`: only the types that may carry them are looked at).
    pub fn encode(&self) -> Vec<u8> {
        let mut message = Map::new();
        let message_type = self.body.message_type();
        message.insert("type".to_string(), Json::from(message_type));
        let data = self.body.data();
        let may_contain_binary = matches!(
            message_type,
            BROADCAST | BROADCAST_ACK | FETCH_SOCKETS_RESPONSE | SERVER_SIDE_EMIT | SERVER_SIDE_EMIT_RESPONSE
        );
        let binary = may_contain_binary && data.as_ref().is_some_and(messages::has_binary);
        if let Some(data) = data {
            message.insert("data".to_string(), data);
        }
        message.insert("uid".to_string(), Json::String(self.uid.clone()));
        message.insert("nsp".to_string(), Json::String(self.nsp.clone()));
        let message = Json::Object(message);
        if binary {
            messages::encode_msgpack(&message)
        } else {
            messages::encode_json(&message)
        }
    }

    /// Reads a message (JSON when it starts with `{`, else msgpack).
    pub fn decode(bytes: &[u8]) -> Result<ClusterMessage, MessageError> {
        let mut message = object(messages::decode_json_or_msgpack(bytes)?, "a message must be an object")?;
        let uid = optional_text(&message, "uid", "uid must be a string")?.unwrap_or_default();
        let nsp = text(&message, "nsp", "nsp must be a string")?;
        let message_type = match message.get("type") {
            Some(Json::Number(number)) => number.as_u64(),
            _ => None,
        };
        if let Some(kind @ (INITIAL_HEARTBEAT | HEARTBEAT | ADAPTER_CLOSE)) = message_type {
            return Ok(ClusterMessage {
                uid,
                nsp,
                body: MessageBody::Heartbeat(kind),
            });
        }
        let mut data = object(message.remove("data").unwrap_or(Json::Null), "data must be an object")?;
        let request_id = |data: &Map<String, Json>| text(data, "requestId", "data.requestId must be a string");
        let body = match message_type {
            Some(BROADCAST) => MessageBody::Broadcast {
                request_id: optional_text(&data, "requestId", "data.requestId must be a string")?,
                opts: WireOptions::from_json(data.get("opts"))?,
                packet: WirePacket::from_json(data.remove("packet"))?,
            },
            Some(SOCKETS_JOIN) => MessageBody::SocketsJoin {
                opts: WireOptions::from_json(data.get("opts"))?,
                rooms: rooms(data.get("rooms"), "data.rooms must be an array of room names")?,
            },
            Some(SOCKETS_LEAVE) => MessageBody::SocketsLeave {
                opts: WireOptions::from_json(data.get("opts"))?,
                rooms: rooms(data.get("rooms"), "data.rooms must be an array of room names")?,
            },
            Some(DISCONNECT_SOCKETS) => MessageBody::DisconnectSockets {
                opts: WireOptions::from_json(data.get("opts"))?,
                close: matches!(data.get("close"), Some(Json::Bool(true))),
            },
            Some(FETCH_SOCKETS) => MessageBody::FetchSockets {
                opts: WireOptions::from_json(data.get("opts"))?,
                request_id: request_id(&data)?,
            },
            Some(FETCH_SOCKETS_RESPONSE) => MessageBody::FetchSocketsResponse {
                request_id: request_id(&data)?,
                sockets: WireSocket::list_from_json(data.remove("sockets"))?,
            },
            Some(SERVER_SIDE_EMIT) => MessageBody::ServerSideEmit {
                request_id: optional_text(&data, "requestId", "data.requestId must be a string")?,
                args: args_from_json(
                    data.remove("packet").unwrap_or(Json::Null),
                    "data.packet must be an array",
                )?,
            },
            Some(SERVER_SIDE_EMIT_RESPONSE) => MessageBody::ServerSideEmitResponse {
                request_id: request_id(&data)?,
                packet: arg_from_json(data.remove("packet").unwrap_or(Json::Null)),
            },
            Some(BROADCAST_CLIENT_COUNT) => MessageBody::BroadcastClientCount {
                request_id: request_id(&data)?,
                client_count: match data.get("clientCount").and_then(Json::as_u64) {
                    Some(count) => count,
                    None => return Err(MessageError::Malformed("data.clientCount must be a number")),
                },
            },
            Some(BROADCAST_ACK) => MessageBody::BroadcastAck {
                request_id: request_id(&data)?,
                packet: arg_from_json(data.remove("packet").unwrap_or(Json::Null)),
            },
            _ => {
                let shown = message
                    .get("type")
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "(none)".to_string());
                return Err(MessageError::UnknownType(shown));
            }
        };
        Ok(ClusterMessage { uid, nsp, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags(json: Json) -> Option<Map<String, Json>> {
        json.as_object().cloned()
    }

    #[test]
    fn messages_byte_for_byte_as_a_node_server_sent_them() {
        // What `redis-cli monitor` showed Node servers (createShardedAdapter, 8.3.0) publish.
        let cases = [
            (
                MessageBody::Broadcast {
                    packet: WirePacket {
                        data: vec![Arg::from("news"), Arg::Json(json!(1.5))],
                        nsp: None,
                    },
                    request_id: None,
                    opts: WireOptions {
                        rooms: vec!["room1".into()],
                        except: vec![],
                        flags: flags(json!({})),
                    },
                },
                r#"{"type":3,"data":{"packet":{"type":2,"data":["news",1.5]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
            (
                MessageBody::FetchSockets {
                    opts: WireOptions {
                        flags: flags(json!({})),
                        ..WireOptions::default()
                    },
                    request_id: "1a278f25b127e405".into(),
                },
                r#"{"type":7,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"requestId":"1a278f25b127e405"},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
            (
                MessageBody::SocketsJoin {
                    opts: WireOptions {
                        rooms: vec!["room1".into()],
                        except: vec![],
                        flags: flags(json!({})),
                    },
                    rooms: vec!["room2".into()],
                },
                r#"{"type":4,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room2"]},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
            (
                MessageBody::ServerSideEmit {
                    request_id: Some("685560e7e7fa5d76".into()),
                    args: vec![Arg::from("hi"), Arg::from("y")],
                },
                r#"{"type":9,"data":{"requestId":"685560e7e7fa5d76","packet":["hi","y"]},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
            (
                MessageBody::ServerSideEmitResponse {
                    request_id: "685560e7e7fa5d76".into(),
                    packet: Arg::from("answer"),
                },
                r#"{"type":10,"data":{"requestId":"685560e7e7fa5d76","packet":"answer"},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
            (
                MessageBody::BroadcastClientCount {
                    request_id: "7d3f3f254f2a6d72".into(),
                    client_count: 1,
                },
                r#"{"type":11,"data":{"requestId":"7d3f3f254f2a6d72","clientCount":1},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
            (
                MessageBody::DisconnectSockets {
                    opts: WireOptions {
                        rooms: vec!["room2".into()],
                        except: vec![],
                        flags: flags(json!({})),
                    },
                    close: true,
                },
                r#"{"type":6,"data":{"opts":{"rooms":["room2"],"except":[],"flags":{}},"close":true},"uid":"001768e133baf464","nsp":"/"}"#,
            ),
        ];
        for (body, text) in cases {
            let message = ClusterMessage {
                uid: "001768e133baf464".into(),
                nsp: "/".into(),
                body,
            };
            assert_eq!(String::from_utf8(message.encode()).unwrap(), text);
            assert_eq!(ClusterMessage::decode(text.as_bytes()).unwrap(), message);
        }
    }

    #[test]
    fn bytes_make_it_msgpack() {
        let message = ClusterMessage {
            uid: "001768e133baf464".into(),
            nsp: "/".into(),
            body: MessageBody::Broadcast {
                packet: WirePacket {
                    data: vec![
                        Arg::from("news"),
                        Arg::from("hello"),
                        Arg::Binary(vec![1, 2, 3]),
                        Arg::Json(json!({"nested": crate::socketio::packet::nested_bytes(&[4])})),
                    ],
                    nsp: None,
                },
                request_id: None,
                opts: WireOptions {
                    flags: flags(json!({})),
                    ..WireOptions::default()
                },
            },
        };
        // `io.emit("news", "hello", Buffer.from([1,2,3]), {nested: Buffer.from([4])})`, as the
        // monitor showed it.
        let mut expected = b"\x84\xa4type\x03\xa4data\x82\xa6packet\x82\xa4type\x02\xa4data\x94\xa4news".to_vec();
        expected.extend_from_slice(b"\xa5hello\xc4\x03\x01\x02\x03\x81\xa6nested\xc4\x01\x04\xa4opts\x83\xa5rooms");
        expected.extend_from_slice(b"\x90\xa6except\x90\xa5flags\x80\xa3uid\xb0001768e133baf464\xa3nsp\xa1/");
        assert_eq!(message.encode(), expected);
        assert_eq!(ClusterMessage::decode(&expected).unwrap(), message);
    }

    #[test]
    fn heartbeats_are_read_and_garbage_refused() {
        let heartbeat = ClusterMessage::decode(br#"{"type":2,"uid":"a","nsp":"/"}"#).unwrap();
        assert_eq!(heartbeat.body, MessageBody::Heartbeat(HEARTBEAT));
        for bad in [
            &br#"{"type":99,"data":{},"uid":"a","nsp":"/"}"#[..],
            br#"{"type":3,"data":{},"uid":"a","nsp":"/"}"#,
            br#"{"type":3,"data":{"packet":{"type":2,"data":["x"]},"opts":{}},"uid":"a"}"#,
            br#"{"type":8,"data":{"requestId":"r","sockets":[1]},"uid":"a","nsp":"/"}"#,
            br#"{"type":11,"data":{"requestId":"r"},"uid":"a","nsp":"/"}"#,
            br#"{"type":7,"data":[],"uid":"a","nsp":"/"}"#,
            b"\x84\xa4type",
        ] {
            assert!(ClusterMessage::decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
