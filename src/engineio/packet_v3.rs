//! Engine.IO v3 packets and payloads: what socket.io 2.x clients speak (the reference's bundled
//! `parser-v3`, engine.io-parser 2.2, used when a session's `EIO` is 3; see `allow_eio3`).
//!
//! A packet is the same type digit and data as in v4 ([`Packet`]); what differs is how packets
//! are put together and how binary data travels:
//!
//! ```text
//!                      Engine.IO v4                      Engine.IO v3
//! polling payload      4hello\x1e4world                  6:4hello6:4world    (<length>:<packet>)
//! binary over polling  bAQID                             b4AQID              (b + type + base64)
//! binary over WebSocket a binary frame 01 02 03          a binary frame 04 01 02 03 (type byte first)
//! ```
//!
//! The length before `:` counts UTF-16 code units, as JavaScript's `string.length` does: `é` is
//! 1, `😀` is 2 (`3:4😀`), whatever their UTF-8 size.
//!
//! A client that can take bytes (no `b64` in its handshake's query: XHR2 browsers, Node) gets a
//! polling answer that holds binary data in the binary framing, `Content-Type:
//! application/octet-stream`, and POSTs the same way:
//!
//! ```text
//! <0 = text | 1 = binary> <length, one byte per decimal digit> <255> <packet>
//! 00 06 ff 34 68 65 6c 6c 6f          text "4hello" (length 6: its UTF-8 bytes)
//! 01 04 ff 04 01 02 03                binary MESSAGE [1, 2, 3] (length 4: the type byte and the data)
//! ```
//!
//! Where this is stricter than the reference (which accepts some of these and then ignores or
//! garbles the packet): a length is plain ASCII digits (the reference takes what `Number()`
//! takes: ` 5`, `0x5`, `5.0`); a length that ends between the two halves of a character written
//! as a UTF-16 surrogate pair is an error at once (the reference hands on a half character, then
//! fails on the next length); in the binary framing the marker is 0 or 1 and each length byte a
//! digit 0 to 9 (a length past the end takes what is there, as the reference does); binary data
//! is only a MESSAGE (type 4).

use super::Message;
use super::base64;
use super::packet::{Packet, ParseError};

/// A polling payload as v3 writes it: text, or the binary framing (when binary data goes to a
/// client that takes bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// `6:4hello6:b4AQID`
    Text(String),
    /// `00 06 ff 34 68 65 6c 6c 6f 01 04 ff 04 01 02 03`
    Binary(Vec<u8>),
}

/// The longest length the binary framing may announce, in digits (the reference's "310 = char
/// length of Number.MAX_VALUE").
const MAX_LENGTH_DIGITS: usize = 310;

/// One packet as v3 text: `4hello`, `2probe`, and binary data as `b4AQID`.
pub fn encode_packet(packet: &Packet) -> String {
    match packet {
        Packet::Message(Message::Binary(bytes)) => format!("b4{}", base64::encode(bytes)),
        other => other.encode_as_text(),
    }
}

/// Decodes one v3 text packet (a WebSocket text frame, or one packet of a payload): `4hello`,
/// `2probe`, `b4AQID`.
pub fn decode_packet(text: &str) -> Result<Packet, ParseError> {
    match text.strip_prefix('b') {
        // `b` + the packet type + base64: only a MESSAGE carries bytes.
        Some(rest) => match rest.strip_prefix('4') {
            Some(encoded) => match base64::decode(encoded) {
                Ok(bytes) => Ok(Packet::Message(Message::Binary(bytes))),
                Err(why) => Err(ParseError(why)),
            },
            None => Err(ParseError(format!(
                "binary data for packet type {:?}",
                rest.chars().next()
            ))),
        },
        None => Packet::decode_text(text),
    }
}

/// Decodes a v3 WebSocket binary frame: the packet type byte (4, MESSAGE), then the data.
pub fn decode_binary_packet(bytes: &[u8]) -> Result<Packet, ParseError> {
    match bytes.split_first() {
        Some((4, data)) => Ok(Packet::Message(Message::Binary(data.to_vec()))),
        Some((other, _)) => Err(ParseError(format!("binary data for packet type {other}"))),
        None => Err(ParseError("empty binary packet".to_string())),
    }
}

/// The reference's `encodePayload(packets, supportsBinary)`: `<length>:<packet>` for each
/// packet; the binary framing instead when there is binary data and the client takes bytes.
pub fn encode_payload(packets: &[Packet], supports_binary: bool) -> Payload {
    let has_binary = packets
        .iter()
        .any(|packet| matches!(packet, Packet::Message(Message::Binary(_))));
    if supports_binary && has_binary {
        return Payload::Binary(encode_binary_payload(packets));
    }
    if packets.is_empty() {
        return Payload::Text("0:".to_string());
    }
    let mut body = String::new();
    for packet in packets {
        let text = encode_packet(packet);
        // The length as JavaScript counts it: UTF-16 code units.
        let length = text.encode_utf16().count();
        body.push_str(&length.to_string());
        body.push(':');
        body.push_str(&text);
    }
    Payload::Text(body)
}

/// The reference's `encodePayloadAsBinary`: each packet as `<0|1> <digits> 255 <bytes>`.
fn encode_binary_payload(packets: &[Packet]) -> Vec<u8> {
    let mut body = Vec::new();
    for packet in packets {
        let (marker, bytes) = match packet {
            // A binary packet: its type byte, then the data.
            Packet::Message(Message::Binary(data)) => {
                let mut bytes = Vec::with_capacity(1 + data.len());
                bytes.push(4);
                bytes.extend_from_slice(data);
                (1, bytes)
            }
            // A text packet: its UTF-8 bytes.
            other => (0, other.encode_as_text().into_bytes()),
        };
        body.push(marker);
        for digit in bytes.len().to_string().bytes() {
            body.push(digit - b'0');
        }
        body.push(255);
        body.extend_from_slice(&bytes);
    }
    body
}

/// The reference's `decodePayload` for a text body: `6:4hello2:2x`. As the reference, the
/// packets before a bad one are kept, and the bad one ends the list with its error.
pub fn decode_payload(body: &str) -> (Vec<Packet>, Option<ParseError>) {
    let mut packets = Vec::new();
    if body.is_empty() {
        return (packets, Some(ParseError("empty payload".to_string())));
    }
    let mut rest = body;
    while !rest.is_empty() {
        let colon = match rest.find(':') {
            Some(colon) => colon,
            None => return (packets, Some(ParseError(format!("no ':' after the length {rest:?}")))),
        };
        let length = match parse_length(&rest[..colon]) {
            Some(length) => length,
            None => {
                let why = format!("the length {:?} is not a number", &rest[..colon]);
                return (packets, Some(ParseError(why)));
            }
        };
        rest = &rest[colon + 1..];
        // Take `length` UTF-16 code units: whole characters only.
        let mut units = 0;
        let mut end = 0;
        for c in rest.chars() {
            if units >= length {
                break;
            }
            units += c.len_utf16();
            end += c.len_utf8();
        }
        if units != length {
            let why = if units < length {
                format!("the length {length} is longer than the rest of the payload ({units})")
            } else {
                format!("the length {length} ends inside a character")
            };
            return (packets, Some(ParseError(why)));
        }
        let text = &rest[..end];
        rest = &rest[end..];
        if text.is_empty() {
            continue; // `0:`: nothing (the reference skips it)
        }
        match decode_packet(text) {
            Ok(packet) => packets.push(packet),
            Err(error) => return (packets, Some(error)),
        }
    }
    (packets, None)
}

/// `"12"` -> 12; anything but ASCII digits (or a number too large) is `None`.
fn parse_length(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The reference's `decodePayloadAsBinary`: a POST with `Content-Type: application/octet-stream`.
/// As the reference, a framing error drops the whole payload; a bad packet keeps those before it.
pub fn decode_binary_payload(body: &[u8]) -> (Vec<Packet>, Option<ParseError>) {
    // First the framing: (is it text, its bytes) for each packet.
    let mut parts: Vec<(bool, &[u8])> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let is_text = match rest[0] {
            0 => true,
            1 => false,
            other => return (Vec::new(), Some(ParseError(format!("binary payload marker {other}")))),
        };
        let mut length: usize = 0;
        let mut digits = 0;
        loop {
            match rest.get(1 + digits) {
                Some(255) if digits > 0 => break,
                Some(&digit) if digit <= 9 && digits < MAX_LENGTH_DIGITS => {
                    length = match length.checked_mul(10).and_then(|l| l.checked_add(digit as usize)) {
                        Some(length) => length,
                        None => return (Vec::new(), Some(ParseError("binary payload length too large".into()))),
                    };
                    digits += 1;
                }
                _ => return (Vec::new(), Some(ParseError("bad binary payload length".to_string()))),
            }
        }
        let start = 1 + digits + 1;
        // A length past the end takes what is there, as the reference's `slice` does.
        let end = start.saturating_add(length).min(rest.len());
        parts.push((is_text, &rest[start..end]));
        rest = &rest[end..];
    }
    // Then each packet.
    let mut packets = Vec::new();
    for (is_text, bytes) in parts {
        let packet = if is_text {
            match std::str::from_utf8(bytes) {
                Ok(text) => decode_packet(text),
                Err(_) => Err(ParseError("a text packet that is not UTF-8".to_string())),
            }
        } else {
            decode_binary_packet(bytes)
        };
        match packet {
            Ok(packet) => packets.push(packet),
            Err(error) => return (packets, Some(error)),
        }
    }
    (packets, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(data: &str) -> Packet {
        Packet::Message(Message::Text(data.to_string()))
    }

    fn binary(data: &[u8]) -> Packet {
        Packet::Message(Message::Binary(data.to_vec()))
    }

    #[test]
    fn text_payloads() {
        let packets = vec![text("hello"), Packet::Ping(String::new()), binary(&[1, 2, 3])];
        let body = "6:4hello1:26:b4AQID";
        assert_eq!(encode_payload(&packets, false), Payload::Text(body.to_string()));
        assert_eq!(decode_payload(body), (packets, None));
        assert_eq!(encode_payload(&[], false), Payload::Text("0:".to_string()));
        assert_eq!(decode_payload("0:1:6"), (vec![Packet::Noop], None));
    }

    #[test]
    fn lengths_count_utf16_code_units() {
        // é: 1 unit (2 bytes); 😀: 2 units (4 bytes).
        let packets = vec![text("é"), text("😀")];
        assert_eq!(encode_payload(&packets, false), Payload::Text("2:4é3:4😀".to_string()));
        assert_eq!(decode_payload("2:4é3:4😀"), (packets, None));
    }

    #[test]
    fn bad_text_payloads_keep_the_packets_before() {
        for (body, kept) in [
            ("", 0),
            ("6:4hello9:4x", 1),              // a length longer than the rest
            ("6:4hello", 1),                  // fine
            ("x:4hello", 0),                  // not a number
            (" 6:4hello", 0),                 // not plain digits
            ("6:4hello2", 1),                 // a length without ':'
            ("2:4😀", 0),                     // a length in the middle of a character
            ("6:4hello2:9x", 1),              // an unknown packet type
            ("3:b2AQ", 0),                    // binary data that is not a message
            ("99999999999999999999999:4", 0), // a length too large
        ] {
            let (packets, error) = decode_payload(body);
            assert_eq!(packets.len(), kept, "{body:?}");
            assert_eq!(error.is_none(), body == "6:4hello", "{body:?}: {error:?}");
        }
    }

    #[test]
    fn binary_payloads() {
        let packets = vec![binary(&[1, 2, 3]), text("hello")];
        let body = vec![1, 4, 255, 4, 1, 2, 3, 0, 6, 255, b'4', b'h', b'e', b'l', b'l', b'o'];
        assert_eq!(encode_payload(&packets, true), Payload::Binary(body.clone()));
        assert_eq!(decode_binary_payload(&body), (packets, None));
        // Without binary data the text payload is used even for a client that takes bytes.
        assert_eq!(encode_payload(&[text("a")], true), Payload::Text("2:4a".to_string()));
        // A length of 12 is two digit bytes.
        let long = binary(&[7; 11]);
        let Payload::Binary(bytes) = encode_payload(std::slice::from_ref(&long), true) else {
            panic!("binary")
        };
        assert_eq!(&bytes[..4], &[1, 1, 2, 255]);
        assert_eq!(decode_binary_payload(&bytes), (vec![long], None));
    }

    #[test]
    fn bad_binary_payloads() {
        for body in [
            &[2, 1, 255, b'4'][..],     // a marker that is neither 0 nor 1
            &[0, 255, b'4'][..],        // no length
            &[0, 1, 10, 255, b'4'][..], // a length byte that is not a digit
            &[0, 1][..],                // no 255
        ] {
            let (packets, error) = decode_binary_payload(body);
            assert!(packets.is_empty() && error.is_some(), "{body:?}");
        }
        // A bad packet after a good one: the good one is kept.
        let (packets, error) = decode_binary_payload(&[0, 2, 255, b'4', b'a', 0, 1, 255, 0xff]);
        assert_eq!(packets, vec![text("a")]);
        assert!(error.is_some());
        assert!(decode_binary_payload(&[1, 2, 255, 2, 1]).1.is_some()); // binary, not a message
        // A length longer than the rest takes the rest.
        assert_eq!(decode_binary_payload(&[0, 9, 255, b'4', b'a']), (vec![text("a")], None));
    }

    #[test]
    fn websocket_frames() {
        assert_eq!(decode_packet("b4AQID"), Ok(binary(&[1, 2, 3])));
        assert_eq!(decode_packet("4hi"), Ok(text("hi")));
        assert!(decode_packet("bAQID").is_err());
        assert_eq!(decode_binary_packet(&[4, 1, 2]), Ok(binary(&[1, 2])));
        assert!(decode_binary_packet(&[9, 1]).is_err());
        assert!(decode_binary_packet(&[]).is_err());
        assert_eq!(encode_packet(&binary(&[1, 2, 3])), "b4AQID");
    }
}
