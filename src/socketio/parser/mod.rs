//! The `parser` option: how a Socket.IO packet becomes Engine.IO messages and back (the
//! reference's `parser`, an object with an `Encoder` and a `Decoder`).
//!
//! | file         | parser                                                        | reference                 |
//! |--------------|---------------------------------------------------------------|---------------------------|
//! | `json.rs`    | [`JsonParser`], the default: text packets, binary attachments (`packet.rs`) | `socket.io-parser` |
//! | `msgpack.rs` | [`MsgpackParser`]: each packet one msgpack binary message     | `socket.io-msgpack-parser` 3.x |
//!
//! The same EVENT through each:
//!
//! ```text
//! JSON     42["news","Hello Socket.IO"]                                   one text message
//! msgpack  83 a4 "type" 02 a4 "data" 92 a4 "news" af "Hello Socket.IO"     one binary message
//!          a3 "nsp" a1 "/"                                                (b<base64> over polling)
//! ```
//!
//! Both ends must use the same parser: a client with the default parser talking to a msgpack
//! server sends text the msgpack decoder refuses (and the other way round), and its
//! connection is closed as for any malformed packet.
//!
//! The server holds one parser (`ServerOptions::parser`); every namespace encodes with it (its
//! sockets, its adapter's broadcasts), and each client connection decodes with a decoder of its
//! own (`decoder()`), since the JSON one keeps a half-received binary packet.

mod json;
mod msgpack;

use std::sync::Arc;

use super::packet::{Packet, PacketData, PacketType, ParseError};
use crate::engineio::Message;
use crate::socketio::adapter::Offset;

pub use json::JsonParser;
pub use msgpack::MsgpackParser;

/// One way to write Socket.IO packets (see the module's doc). Object-safe: the server holds it
/// as `Arc<dyn Parser>`.
///
/// Besides `encode`, two packets the reference builds with their fields in another order, which
/// only msgpack shows (a JSON packet has no field names); their default is `encode`.
pub trait Parser: Send + Sync {
    /// `"json"`, `"msgpack"`: for the log.
    fn name(&self) -> &'static str;

    /// `new Encoder().encode(packet)`: the messages of one packet, in order.
    fn encode(&self, packet: &Packet) -> Vec<Message>;

    /// `encode` of an event that connection state recovery logs, with its `offset` as one more
    /// argument, the last (`2["tick",3,"PhPmfU0.1"]`): the reference pushes the offset onto
    /// `packet.data`, then encodes. The packet is left as it is (`notify_outgoing_listeners`
    /// adds the offset for the outgoing listeners).
    fn encode_logged(&self, packet: &Packet, offset: Offset) -> Vec<Message>;

    /// A broadcast that asks each client for an ack: the reference's adapter sets its `nsp`,
    /// then its `id` (a socket's own emit with an ack sets `id`, then `nsp`).
    fn encode_broadcast_with_ack(&self, packet: &Packet) -> Vec<Message> {
        self.encode(packet)
    }

    /// The refusal of a namespace nobody serves, `44/nsp,{"message":"Invalid namespace"}`: the
    /// reference's `client.ts` builds it `{type, nsp, data}`.
    fn encode_invalid_namespace(&self, nsp: &str) -> Vec<Message> {
        self.encode(&invalid_namespace(nsp))
    }

    /// `new Decoder()`: the decoder of one client connection.
    fn decoder(&self) -> Box<dyn PacketDecoder>;
}

/// The decoder of one connection (the reference's `Decoder`).
pub trait PacketDecoder: Send {
    /// One Engine.IO message in: `Ok(Some(packet))` when a packet is complete, `Ok(None)` while
    /// it waits for more (binary attachments), `Err` for anything malformed (the connection
    /// is then closed).
    fn add(&mut self, message: Message) -> Result<Option<Packet>, ParseError>;

    /// Forgets a half-received packet (the connection closed).
    fn destroy(&mut self);
}

impl std::fmt::Debug for dyn Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parser({})", self.name())
    }
}

/// The default parser, as the server option holds it.
pub fn default_parser() -> Arc<dyn Parser> {
    Arc::new(JsonParser)
}

/// `{type: CONNECT_ERROR, nsp, data: {message: "Invalid namespace"}}`.
pub fn invalid_namespace(nsp: &str) -> Packet {
    let mut data = serde_json::Map::new();
    data.insert(
        "message".to_string(),
        serde_json::Value::String("Invalid namespace".to_string()),
    );
    Packet {
        packet_type: PacketType::ConnectError,
        nsp: nsp.to_string(),
        id: None,
        data: PacketData::Object(serde_json::Value::Object(data)),
    }
}

#[cfg(test)]
mod tests {
    use super::msgpack::MsgpackParser;
    use super::*;
    use crate::socketio::packet::Arg;
    use serde_json::json;

    /// `encode_logged` writes what `encode` writes once the offset's text is pushed onto the
    /// event's arguments (what the reference does), with either parser, with or without
    /// attachments, and leaves the packet as it was.
    #[test]
    fn encode_logged_is_encode_with_the_offset_pushed_last() {
        let offset = Offset::next(Some(Offset::next(None, 1_764_590_000_000)), 1_764_590_000_000);
        let parsers: [&dyn Parser; 2] = [&JsonParser, &MsgpackParser];
        let events = [
            vec![Arg::from("tick"), Arg::from(json!(3))],
            vec![
                Arg::from("file"),
                Arg::Binary(vec![1, 2, 3]),
                Arg::from(json!({"a": [1, "b"]})),
            ],
            vec![Arg::from("alone")],
        ];
        for parser in parsers {
            for args in &events {
                let packet = Packet {
                    packet_type: PacketType::Event,
                    nsp: "/chat".to_string(),
                    id: None,
                    data: PacketData::Args(args.clone()),
                };
                let mut pushed = packet.clone();
                if let PacketData::Args(args) = &mut pushed.data {
                    args.push(Arg::from(offset.to_text()));
                }
                assert_eq!(
                    parser.encode_logged(&packet, offset),
                    parser.encode(&pushed),
                    "{}",
                    parser.name()
                );
                assert_eq!(packet.data, PacketData::Args(args.clone()));
            }
        }
        let json = JsonParser.encode_logged(
            &Packet {
                packet_type: PacketType::Event,
                nsp: "/".to_string(),
                id: None,
                data: PacketData::Args(vec![Arg::from("tick"), Arg::from(json!(3))]),
            },
            offset,
        );
        assert_eq!(json, [Message::Text(r#"2["tick",3,"PhPmfU0.0"]"#.to_string())]);
    }
}
