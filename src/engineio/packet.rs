//! Engine.IO v4 packets and payloads (the reference's `engine.io-parser`).
//!
//! A packet is one type digit and its data:
//!
//! ```text
//! 0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
//! │ OPEN: the handshake, server to client
//! 1        CLOSE
//! 2        PING  (server to client; `2probe` from the client during an upgrade)
//! 3        PONG  (client to server; `3probe` from the server during an upgrade)
//! 4hello   MESSAGE with text data "hello"
//! 5        UPGRADE (client: "this WebSocket is the transport now")
//! 6        NOOP  (server: answers a held long-poll during an upgrade)
//! ```
//!
//! Binary data has no type digit of its own:
//! - over WebSocket, a binary frame *is* a MESSAGE packet with those bytes;
//! - over polling, it is written `b` + base64: `bAQIDBA==` is MESSAGE `[1, 2, 3, 4]`.
//!
//! A polling body (the "payload") is packets joined by the record separator `\x1e`:
//! `4hello\x1e4world\x1ebAQIDBA==`.

use super::Message;
use super::base64;

/// The record separator between packets of a polling payload.
pub const SEPARATOR: char = '\x1e';

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0{...}`: the handshake JSON.
    Open(String),
    /// `1`
    Close,
    /// `2` or `2probe`
    Ping(String),
    /// `3` or `3probe`
    Pong(String),
    /// `4text` or binary.
    Message(Message),
    /// `5`
    Upgrade,
    /// `6`
    Noop,
}

/// Why a packet could not be decoded (the reference's `{ type: "error", data: "parser error" }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parser error: {}", self.0)
    }
}

impl Packet {
    /// The packet's type digit.
    pub fn type_char(&self) -> char {
        match self {
            Packet::Open(_) => '0',
            Packet::Close => '1',
            Packet::Ping(_) => '2',
            Packet::Pong(_) => '3',
            Packet::Message(_) => '4',
            Packet::Upgrade => '5',
            Packet::Noop => '6',
        }
    }

    /// The reference's name for the type, for logs: `"open"`, `"ping"`, `"message"`, ...
    pub fn type_name(&self) -> &'static str {
        match self {
            Packet::Open(_) => "open",
            Packet::Close => "close",
            Packet::Ping(_) => "ping",
            Packet::Pong(_) => "pong",
            Packet::Message(_) => "message",
            Packet::Upgrade => "upgrade",
            Packet::Noop => "noop",
        }
    }

    /// The packet as text: `4hello`, `2probe`, and binary as `bAQIDBA==` (for polling).
    pub fn encode_as_text(&self) -> String {
        match self {
            Packet::Open(json) => format!("0{json}"),
            Packet::Ping(data) => format!("2{data}"),
            Packet::Pong(data) => format!("3{data}"),
            Packet::Message(Message::Text(text)) => format!("4{text}"),
            Packet::Message(Message::Binary(bytes)) => format!("b{}", base64::encode(bytes)),
            other => other.type_char().to_string(),
        }
    }

    /// `decode_text` of a text that is ours to keep (a WebSocket frame's): a MESSAGE, `4hello`,
    /// nearly every packet, keeps the text's allocation with its `4` taken off the front, rather
    /// than a copy of the rest.
    pub fn decode_owned_text(mut text: String) -> Result<Packet, ParseError> {
        if text.starts_with('4') {
            text.remove(0);
            return Ok(Packet::Message(Message::Text(text)));
        }
        Packet::decode_text(&text)
    }

    /// Decodes one text packet: `4hello`, `2probe`, `bAQIDBA==`.
    pub fn decode_text(text: &str) -> Result<Packet, ParseError> {
        let mut chars = text.chars();
        let first = match chars.next() {
            Some(c) => c,
            None => return Err(ParseError("empty packet".to_string())),
        };
        let data = chars.as_str();
        let packet = match first {
            'b' => match base64::decode(data) {
                Ok(bytes) => Packet::Message(Message::Binary(bytes)),
                Err(why) => return Err(ParseError(why)),
            },
            '0' => Packet::Open(data.to_string()),
            '1' => Packet::Close,
            '2' => Packet::Ping(data.to_string()),
            '3' => Packet::Pong(data.to_string()),
            '4' => Packet::Message(Message::Text(data.to_string())),
            '5' => Packet::Upgrade,
            '6' => Packet::Noop,
            other => return Err(ParseError(format!("unknown packet type {other:?}"))),
        };
        Ok(packet)
    }
}

/// Joins packets for a polling response: `4hello\x1e4world`.
pub fn encode_payload(packets: &[Packet]) -> String {
    let mut body = String::new();
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            body.push(SEPARATOR);
        }
        body.push_str(&packet.encode_as_text());
    }
    body
}

/// Splits a polling request body into packets. Like the reference, the packets before a bad one
/// are kept and the bad one ends the list with its error: `(packets, Some(error))`.
pub fn decode_payload(body: &str) -> (Vec<Packet>, Option<ParseError>) {
    let mut packets = Vec::new();
    for part in body.split(SEPARATOR) {
        match Packet::decode_text(part) {
            Ok(packet) => packets.push(packet),
            Err(error) => return (packets, Some(error)),
        }
    }
    (packets, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_packets() {
        assert_eq!(
            Packet::decode_text("4hello"),
            Ok(Packet::Message(Message::Text("hello".into())))
        );
        assert_eq!(Packet::decode_text("2probe"), Ok(Packet::Ping("probe".into())));
        assert_eq!(Packet::decode_text("3"), Ok(Packet::Pong(String::new())));
        assert_eq!(Packet::decode_text("5"), Ok(Packet::Upgrade));
        assert_eq!(
            Packet::decode_text("4"),
            Ok(Packet::Message(Message::Text(String::new())))
        );
        assert!(Packet::decode_text("").is_err());
        assert!(Packet::decode_text("7").is_err());
        assert!(Packet::decode_text("x1").is_err());
        assert!(Packet::decode_text("b!!").is_err());
        assert_eq!(Packet::Pong("probe".into()).encode_as_text(), "3probe");
        assert_eq!(Packet::Noop.encode_as_text(), "6");
    }

    #[test]
    fn an_owned_text_decodes_as_a_borrowed_one() {
        for text in [
            "4hello",
            "4",
            "4é",
            "2probe",
            "3",
            "5",
            "6",
            "bAQIDBA==",
            "",
            "7",
            "b!!",
        ] {
            assert_eq!(
                Packet::decode_owned_text(text.to_string()),
                Packet::decode_text(text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn binary_over_polling() {
        let packet = Packet::Message(Message::Binary(vec![1, 2, 3, 4]));
        assert_eq!(packet.encode_as_text(), "bAQIDBA==");
        assert_eq!(Packet::decode_text("bAQIDBA=="), Ok(packet));
    }

    #[test]
    fn payloads() {
        let packets = vec![
            Packet::Message(Message::Text("hello".into())),
            Packet::Message(Message::Binary(vec![1, 2, 3, 4])),
            Packet::Ping(String::new()),
        ];
        let body = encode_payload(&packets);
        assert_eq!(body, "4hello\x1ebAQIDBA==\x1e2");
        assert_eq!(decode_payload(&body), (packets, None));
        let (good, error) = decode_payload("4a\x1e9\x1e4b");
        assert_eq!(good, vec![Packet::Message(Message::Text("a".into()))]);
        assert!(error.is_some());
    }
}
