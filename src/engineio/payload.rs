//! The body of a polling request or answer, by the session's protocol: the polling transport's
//! `send` (answers) and `onData` (POSTs) in the reference, which switch on `protocol === 3` and
//! on JSONP.
//!
//! ```text
//!                          answer to a GET                          POST body
//! Engine.IO v4             4hello\x1e4world                         4hi\x1e3
//! Engine.IO v3             6:4hello6:4world                         3:4hi1:2
//!   ... with binary data   00 06 ff 34 68 ... 01 04 ff 04 01 02 03  the same (application/octet-stream)
//!   ... and `b64=1`        6:4hello6:b4AQID                         6:b4AQID
//! JSONP (`j` given)        ___eio[0]("6:4hello");                   d=6%3A4hello
//! ```
//!
//! The format is the session's, decided by its handshake request ([`PollingFormat::of`]): `EIO`,
//! `b64` and `j` there (the reference makes the polling transport from that request, once).

use super::jsonp;
use super::packet::{self, Packet, ParseError};
use super::packet_v3::{self, Payload};
use crate::http::Request;

/// How a session's polling bodies are written (the reference's transport `protocol`,
/// `supportsBinary`, and JSONP's `head`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollingFormat<'a> {
    /// 3 or 4: `EIO=4` is 4, anything else 3.
    pub protocol: u8,
    /// No `b64` in the query: binary data may travel as bytes (v3's binary framing).
    pub supports_binary: bool,
    /// `j` in the query: JSONP, with this callback number.
    pub jsonp: Option<&'a str>,
}

impl PollingFormat<'_> {
    /// The format of a session opened by `handshake` (its first request).
    pub fn of(handshake: &Request) -> PollingFormat<'_> {
        PollingFormat {
            protocol: protocol_of(handshake),
            supports_binary: supports_binary(handshake),
            jsonp: handshake.query_param("j"),
        }
    }
}

/// The reference's `req._query.EIO === "4" ? 4 : 3`.
pub fn protocol_of(request: &Request) -> u8 {
    if request.query_param("EIO") == Some("4") { 4 } else { 3 }
}

/// The reference's `supportsBinary = !req._query.b64`: no `b64`, or an empty one.
pub fn supports_binary(request: &Request) -> bool {
    request.query_param("b64").is_none_or(str::is_empty)
}

/// An answer's body and its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// The text content type of every answer but v3's binary payload.
const TEXT: &str = "text/plain; charset=UTF-8";

/// The body of a GET's answer (the reference's `Polling.send` and `JSONP.doWrite`).
pub fn encode_answer(format: PollingFormat<'_>, packets: &[Packet]) -> Answer {
    let payload = if format.protocol == 3 {
        packet_v3::encode_payload(packets, format.supports_binary)
    } else {
        Payload::Text(packet::encode_payload(packets))
    };
    let (content_type, body) = match (payload, format.jsonp) {
        (Payload::Text(text), None) => (TEXT, text.into_bytes()),
        (Payload::Binary(bytes), None) => (BINARY, bytes),
        (Payload::Text(text), Some(j)) => (TEXT, jsonp::wrap_text(j, &text).into_bytes()),
        (Payload::Binary(bytes), Some(j)) => (TEXT, jsonp::wrap_binary(j, &bytes).into_bytes()),
    };
    Answer { content_type, body }
}

/// The binary framing's content type, which only Engine.IO v3 POSTs.
const BINARY: &str = "application/octet-stream";

/// An Engine.IO v4 POST with `Content-Type: application/octet-stream`: the reference's
/// "invalid content" (400 before the body is read, and the session closes).
pub fn is_invalid_content(format: PollingFormat<'_>, content_type: Option<&str>) -> bool {
    format.protocol == 4 && content_type == Some(BINARY)
}

/// What a POST's body holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// The packets, and the error that ended them early, if any.
    Packets(Vec<Packet>, Option<ParseError>),
    /// A JSONP POST without one `d` field: nothing (the reference ignores it; `ok` all the same).
    Nothing,
}

/// The packets of a POST (the reference's `onData`). The body is text (as Node's
/// `setEncoding("utf8")`: what is not UTF-8 becomes U+FFFD) unless it is v3's binary framing,
/// marked by its content type.
pub fn decode_post(format: PollingFormat<'_>, content_type: Option<&str>, body: &[u8]) -> Decoded {
    let is_binary = content_type == Some(BINARY);
    if is_binary && format.jsonp.is_none() {
        let (packets, error) = packet_v3::decode_binary_payload(body);
        return Decoded::Packets(packets, error);
    }
    // Node's `setEncoding("utf8")`: bytes that are not UTF-8 become U+FFFD.
    let text = String::from_utf8_lossy(body);
    let unwrapped;
    let text = match format.jsonp {
        None => &*text,
        Some(_) => match (is_binary, jsonp::unwrap_post(&text)) {
            (false, Some(data)) => {
                unwrapped = data;
                unwrapped.as_str()
            }
            _ => return Decoded::Nothing,
        },
    };
    let (packets, error) = if format.protocol == 3 {
        packet_v3::decode_payload(text)
    } else {
        packet::decode_payload(text)
    };
    Decoded::Packets(packets, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::Message;

    const V4: PollingFormat<'static> = PollingFormat {
        protocol: 4,
        supports_binary: true,
        jsonp: None,
    };
    const V3: PollingFormat<'static> = PollingFormat {
        protocol: 3,
        supports_binary: true,
        jsonp: None,
    };

    fn hello_and_bytes() -> Vec<Packet> {
        vec![
            Packet::Message(Message::Text("hello".into())),
            Packet::Message(Message::Binary(vec![1, 2, 3])),
        ]
    }

    #[test]
    fn answers_by_format() {
        let packets = hello_and_bytes();
        let answer = |format| encode_answer(format, &packets);
        assert_eq!(answer(V4).body, b"4hello\x1ebAQID");
        assert_eq!(answer(V4).content_type, TEXT);
        assert_eq!(answer(V3).content_type, "application/octet-stream");
        assert_eq!(answer(V3).body, b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03");
        let b64 = PollingFormat {
            supports_binary: false,
            ..V3
        };
        assert_eq!(answer(b64).body, b"6:4hello6:b4AQID");
        let jsonp = PollingFormat {
            jsonp: Some("2"),
            ..b64
        };
        assert_eq!(answer(jsonp).body, br#"___eio[2]("6:4hello6:b4AQID");"#);
        assert_eq!(
            answer(PollingFormat { jsonp: Some("2"), ..V4 }).body,
            br#"___eio[2]("4hello\u001ebAQID");"#
        );
    }

    #[test]
    fn posts_by_format() {
        let packets = hello_and_bytes();
        assert_eq!(
            decode_post(V4, Some("text/plain;charset=UTF-8"), b"4hello\x1ebAQID"),
            Decoded::Packets(packets.clone(), None)
        );
        assert!(is_invalid_content(V4, Some("application/octet-stream")));
        assert!(!is_invalid_content(V3, Some("application/octet-stream")));
        assert_eq!(
            decode_post(V3, None, b"6:4hello6:b4AQID"),
            Decoded::Packets(packets.clone(), None)
        );
        assert_eq!(
            decode_post(
                V3,
                Some("application/octet-stream"),
                b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03"
            ),
            Decoded::Packets(packets, None)
        );
        let jsonp = PollingFormat { jsonp: Some("0"), ..V3 };
        assert_eq!(
            decode_post(jsonp, Some("application/x-www-form-urlencoded"), b"d=6%3A4hello"),
            Decoded::Packets(vec![Packet::Message(Message::Text("hello".into()))], None)
        );
        assert_eq!(decode_post(jsonp, None, b"x=1"), Decoded::Nothing);
        // A compressed body is not read as such (the reference ignores `Content-Encoding`).
        let Decoded::Packets(none, Some(_)) = decode_post(V4, None, b"\x1f\x8b\x08\x00") else {
            panic!("a parse error")
        };
        assert!(none.is_empty());
    }
}
