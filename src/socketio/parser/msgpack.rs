//! The msgpack parser, byte for byte what `socket.io-msgpack-parser` 3.x writes (its encoder is
//! `notepack.io` 2.2's `encode(packet)`): each packet one msgpack map, in one binary message
//! (a binary WebSocket frame; over polling `b` and its base64). No attachments, no BINARY_EVENT
//! or BINARY_ACK: bytes go inside the map as msgpack `bin`, wherever they are.
//!
//! notepack writes an object's keys in the order the code that built it set them, so the order
//! below is the reference's, packet by packet (`undefined`, a field the reference sets to
//! nothing, is the fixext `d4 00 00`):
//!
//! ```text
//! the JSON parser's                       msgpack's map (keys in this order)
//! 40{"sid":"S"}                           {type: 0, data: {sid: "S", pid: undefined}, nsp: "/"}
//!                                         (the CONNECT answer; pid is a string with recovery on)
//! 42["news","hi"]                         {type: 2, data: ["news", "hi"], nsp: "/"}
//! 4212["ask",1]    socket.emit + ack      {type: 2, data: ["ask", 1], id: 12, nsp: "/"}
//!                  a broadcast with acks  {type: 2, data: ["ask", 1], nsp: "/", id: 12}
//! 4312["yes"]                             {id: 12, type: 3, data: ["yes"], nsp: "/"}
//! 41                                      {type: 1, nsp: "/"}
//! 44{"message":"no"}   a middleware's     {type: 4, data: {message: "no", data: undefined}, nsp: "/"}
//! 44/x,{"message":"Invalid namespace"}    {type: 4, nsp: "/x", data: {message: "Invalid namespace"}}
//! ```
//!
//! The first, byte by byte: `83 a4 74 79 70 65 00 a4 64 61 74 61 82 a3 73 69 64 b4 <the 20
//! bytes of S> a3 70 69 64 d4 00 00 a3 6e 73 70 a1 2f` (`83` a map of 3, `a4` a string of 4
//! bytes, `00` the number 0, `d4 00 00` undefined).
//!
//! The values inside are notepack's too (`crate::msgpack`: integers in their smallest form, a
//! number with no fraction an integer, an object's keys in JavaScript's order, a Buffer `bin`).
//!
//! **Reading.** As the reference's `Decoder.add` and `checkPacket`: one msgpack value, nothing
//! after it, a map whose `type` is an integer 0 to 4 ("invalid packet type"), `nsp` a string
//! ("invalid namespace"), `data` what the type takes ("invalid payload": CONNECT nothing or an
//! object, DISCONNECT nothing, CONNECT_ERROR an object or a string, EVENT and ACK an array),
//! `id` nothing or an integer ("invalid packet id"); other keys (the client's `options`) are
//! ignored. Bytes that are no msgpack (cut short, more than 64 levels deep (`msgpack::MAX_NESTING`), more than
//! `msgpack::MAX_VALUES` values, `0xc1`) and a text message are errors too. Each closes the
//! connection, as in the reference. Stricter than the reference: an ack id must be at most
//! 2^53 - 1 and not negative, and an event's name must be a string or a number and not a
//! reserved one (`connect`, `disconnect`, ...), as the JSON parser demands.
//!
//! `bin` in the arguments: at the top, `Arg::Binary`; nested in an object or an array, the
//! JSON parser's form of nested bytes (`{"_placeholder":true,"num":0,"base64":"AQID"}`), which
//! is written back as `bin`: the same representation whichever parser brought it.

use rmpv::Value as Msgpack;

use super::{PacketDecoder, Parser};
use crate::engineio::Message;
use crate::msgpack;
use crate::socketio::adapter::Offset;
use crate::socketio::packet::{self, Arg, MAX_ACK_ID, Packet, PacketData, PacketType, ParseError};

/// `socket.io-msgpack-parser` (`parser: require('socket.io-msgpack-parser')`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgpackParser;

/// JavaScript's `undefined` as notepack 2.2 writes it: fixext 1, type 0, data 0 (`d4 00 00`).
fn undefined() -> Msgpack {
    Msgpack::Ext(0, vec![0])
}

/// Whether a decoded value is `undefined` (notepack 2.2 reads fixext 1 of type 0 as it).
fn is_undefined(value: &Msgpack) -> bool {
    matches!(value, Msgpack::Ext(0, data) if data.len() == 1)
}

/// Where `nsp` goes among the fields (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NspPlace {
    /// Last: the reference's `socket.packet()` and adapter `broadcast` set it last.
    Last,
    /// Before `id`: the adapter's `broadcastWithAck`.
    BeforeId,
    /// Right after `type`: `client.ts`'s "Invalid namespace".
    AfterType,
}

/// The packet's type as the number the reference writes: binary events are plain events here.
fn type_number(packet_type: PacketType) -> u64 {
    match packet_type {
        PacketType::Connect => 0,
        PacketType::Disconnect => 1,
        PacketType::Event | PacketType::BinaryEvent => 2,
        PacketType::Ack | PacketType::BinaryAck => 3,
        PacketType::ConnectError => 4,
    }
}

/// `data`, as the reference's server builds it (`None`: no `data` field).
fn data_value(packet: &Packet) -> Option<Msgpack> {
    let value = match &packet.data {
        PacketData::None => return None,
        PacketData::Args(args) => Msgpack::Array(args.iter().map(msgpack::from_arg).collect()),
        PacketData::Object(object) => msgpack::from_json(object),
    };
    let Msgpack::Map(mut pairs) = value else {
        return Some(value);
    };
    let has = |pairs: &[(Msgpack, Msgpack)], key: &str| pairs.iter().any(|(k, _)| k.as_str() == Some(key));
    // The CONNECT answer is `{sid: socket.id, pid: socket.pid}`, and a middleware's refusal
    // `{message: err.message, data: err.data}`: a field with nothing in it is still written.
    if packet.packet_type == PacketType::Connect && has(&pairs, "sid") && !has(&pairs, "pid") {
        pairs.push((Msgpack::from("pid"), undefined()));
    }
    if packet.packet_type == PacketType::ConnectError && has(&pairs, "message") && !has(&pairs, "data") {
        pairs.push((Msgpack::from("data"), undefined()));
    }
    Some(Msgpack::Map(pairs))
}

/// The packet's map, its fields in the reference's order.
fn packet_value(packet: &Packet, data: Option<Msgpack>, nsp_place: NspPlace) -> Msgpack {
    let field = |name: &str, value: Msgpack| (Msgpack::from(name), value);
    let kind = field("type", Msgpack::from(type_number(packet.packet_type)));
    let nsp = field("nsp", Msgpack::from(packet.nsp.as_str()));
    let data = data.map(|data| field("data", data));
    let id = packet.id.map(|id| field("id", Msgpack::from(id)));
    let mut fields = Vec::with_capacity(4);
    if packet.packet_type == PacketType::Ack || packet.packet_type == PacketType::BinaryAck {
        // The reference's `ack()`: `{id, type, data}`, then `nsp`.
        fields.extend(id);
        fields.push(kind);
        fields.extend(data);
        fields.push(nsp);
        return Msgpack::Map(fields);
    }
    fields.push(kind);
    match nsp_place {
        NspPlace::Last => {
            fields.extend(data);
            fields.extend(id);
            fields.push(nsp);
        }
        NspPlace::BeforeId => {
            fields.extend(data);
            fields.push(nsp);
            fields.extend(id);
        }
        NspPlace::AfterType => {
            fields.push(nsp);
            fields.extend(data);
            fields.extend(id);
        }
    }
    Msgpack::Map(fields)
}

fn one_message(value: &Msgpack) -> Vec<Message> {
    vec![Message::Binary(msgpack::encode(value))]
}

impl Parser for MsgpackParser {
    fn name(&self) -> &'static str {
        "msgpack"
    }

    fn encode(&self, packet: &Packet) -> Vec<Message> {
        one_message(&packet_value(packet, data_value(packet), NspPlace::Last))
    }

    /// The offset pushed, as a string, onto the event's array.
    fn encode_logged(&self, packet: &Packet, offset: Offset) -> Vec<Message> {
        let mut data = data_value(packet);
        if let Some(Msgpack::Array(args)) = &mut data {
            args.push(Msgpack::from(offset.to_text()));
        }
        one_message(&packet_value(packet, data, NspPlace::Last))
    }

    fn encode_broadcast_with_ack(&self, packet: &Packet) -> Vec<Message> {
        one_message(&packet_value(packet, data_value(packet), NspPlace::BeforeId))
    }

    fn encode_invalid_namespace(&self, nsp: &str) -> Vec<Message> {
        let packet = super::invalid_namespace(nsp);
        // `{message: "Invalid namespace"}` as it is: no `data` field in this one.
        let data = match &packet.data {
            PacketData::Object(object) => Some(msgpack::from_json(object)),
            _ => None,
        };
        one_message(&packet_value(&packet, data, NspPlace::AfterType))
    }

    fn decoder(&self) -> Box<dyn PacketDecoder> {
        Box::new(MsgpackDecoder)
    }
}

/// The decoder of one connection: each message is a whole packet, so it keeps nothing.
struct MsgpackDecoder;

impl PacketDecoder for MsgpackDecoder {
    fn add(&mut self, message: Message) -> Result<Option<Packet>, ParseError> {
        let bytes = match message {
            Message::Binary(bytes) => bytes,
            Message::Text(_) => {
                return Err(invalid(
                    "a text message (this server's parser is msgpack: binary messages only)",
                ));
            }
        };
        decode_packet(&bytes).map(Some)
    }

    fn destroy(&mut self) {}
}

fn invalid(what: &str) -> ParseError {
    ParseError::InvalidMsgpack(what.to_string())
}

/// One packet from its bytes (see the module's doc).
pub fn decode_packet(bytes: &[u8]) -> Result<Packet, ParseError> {
    let value = msgpack::decode(bytes).map_err(|error| ParseError::InvalidMsgpack(error.to_string()))?;
    // Not a map: the reference reads `type` of it as undefined.
    let Msgpack::Map(pairs) = value else {
        return Err(invalid("invalid packet type"));
    };
    // As notepack builds the object: a key given twice keeps its last value.
    let (mut kind, mut nsp, mut data, mut id) = (None, None, None, None);
    for (key, value) in pairs {
        match key.as_str() {
            Some("type") => kind = Some(value),
            Some("nsp") => nsp = Some(value),
            Some("data") => data = Some(value),
            Some("id") => id = Some(value),
            _ => {}
        }
    }
    let data = data.filter(|value| !is_undefined(value));
    let id = id.filter(|value| !is_undefined(value));
    let packet_type = match kind.as_ref().and_then(whole_number) {
        Some(0) => PacketType::Connect,
        Some(1) => PacketType::Disconnect,
        Some(2) => PacketType::Event,
        Some(3) => PacketType::Ack,
        Some(4) => PacketType::ConnectError,
        _ => return Err(invalid("invalid packet type")),
    };
    let nsp = match nsp {
        Some(Msgpack::String(text)) if text.is_str() => text.into_str().unwrap_or_default(),
        _ => return Err(invalid("invalid namespace")),
    };
    let id = match id {
        None => None,
        Some(value) => match whole_number(&value) {
            Some(id) if id <= MAX_ACK_ID => Some(id),
            _ => return Err(invalid("invalid packet id")),
        },
    };
    let invalid_payload = || invalid("invalid payload");
    let data = match (packet_type, data) {
        (PacketType::Connect, None) | (PacketType::Disconnect, None) => PacketData::None,
        (PacketType::Connect, Some(map @ Msgpack::Map(_))) => {
            PacketData::Object(msgpack::to_json(map).map_err(|_| invalid_payload())?)
        }
        (PacketType::ConnectError, Some(value @ (Msgpack::Map(_) | Msgpack::String(_)))) => {
            PacketData::Object(msgpack::to_json(value).map_err(|_| invalid_payload())?)
        }
        (PacketType::Event | PacketType::Ack, Some(Msgpack::Array(items))) => {
            let mut args = Vec::with_capacity(items.len());
            for item in items {
                args.push(msgpack::to_arg(item).map_err(|_| invalid_payload())?);
            }
            if packet_type == PacketType::Event {
                match args.first() {
                    Some(Arg::Json(name)) => packet::check_event_name(Some(name))?,
                    Some(Arg::Binary(_)) => return Err(invalid("invalid payload: the event name is bytes")),
                    None => packet::check_event_name(None)?,
                }
            }
            PacketData::Args(args)
        }
        _ => return Err(invalid_payload()),
    };
    Ok(Packet {
        packet_type,
        nsp,
        id,
        data,
    })
}

/// A non-negative whole number, as JavaScript's `Number.isInteger` sees one (`2` or `2.0`).
fn whole_number(value: &Msgpack) -> Option<u64> {
    match value {
        Msgpack::Integer(integer) => integer.as_u64(),
        Msgpack::F64(float) if float.fract() == 0.0 && *float >= 0.0 && *float <= MAX_ACK_ID as f64 => {
            Some(*float as u64)
        }
        Msgpack::F32(float) if float.fract() == 0.0 && *float >= 0.0 => Some(*float as u64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgpack::tests::{hex, node_vectors, unhex};
    use crate::socketio::packet::tests::{args, j, packet};
    use serde_json::{Value, json};

    /// The vectors of `tests/node/msgpack_parser_vectors.mjs`, made now by
    /// socket.io-msgpack-parser itself.
    fn vectors() -> Value {
        let all = node_vectors("msgpack_parser_vectors.mjs");
        assert_eq!(all["parser"], "3.0.2");
        all
    }

    /// What the reference's vector `name` is, as the Rust side builds it, and how it is encoded.
    fn ours(name: &str) -> Vec<Message> {
        let sid = "AAAAAAAAAAAAAAAAAAAA";
        let parser = MsgpackParser;
        let object = |value: Value| PacketData::Object(value);
        match name {
            "connect answer, recovery off" => {
                parser.encode(&packet(PacketType::Connect, "/", None, object(json!({"sid": sid}))))
            }
            "connect answer, recovery on" => parser.encode(&packet(
                PacketType::Connect,
                "/custom",
                None,
                object(json!({"sid": sid, "pid": "BBBBBBBBBBBBBBBBBBBB"})),
            )),
            "event" => parser.encode(&packet(
                PacketType::Event,
                "/",
                None,
                args(vec![j(json!("news")), j(json!("Hello Socket.IO"))]),
            )),
            "event with numbers, objects, bytes" => parser.encode(&packet(
                PacketType::Event,
                "/custom",
                None,
                args(vec![
                    j(json!("mixed")),
                    j(json!(1)),
                    j(json!(-1)),
                    j(json!(300)),
                    j(json!(70000)),
                    j(json!(1.5)),
                    j(json!(-0.25)),
                    j(json!(1_099_511_627_776_u64)),
                    j(json!(true)),
                    j(json!(null)),
                    j(json!({"b": 1, "a": [1, "x"], "2": "two"})),
                    Arg::Binary(vec![1, 2, 3]),
                    j(json!({"name": "a.txt", "file": packet::nested_bytes(&[4, 5])})),
                    j(json!([packet::nested_bytes(&[])])),
                    j(json!("é€😀")),
                ]),
            )),
            "event with a long string" => parser.encode(&packet(
                PacketType::Event,
                "/",
                None,
                args(vec![j(json!("long")), j(json!("x".repeat(300)))]),
            )),
            "emit with an ack" => parser.encode(&packet(
                PacketType::Event,
                "/",
                Some(12),
                args(vec![j(json!("ask")), j(json!(1))]),
            )),
            "broadcast with acks" => parser.encode_broadcast_with_ack(&packet(
                PacketType::Event,
                "/custom",
                Some(7),
                args(vec![j(json!("ask")), j(json!("q"))]),
            )),
            "ack" => parser.encode(&packet(
                PacketType::Ack,
                "/",
                Some(12),
                args(vec![j(json!("yes")), j(json!({"ok": true}))]),
            )),
            "ack with nothing" => parser.encode(&packet(PacketType::Ack, "/", Some(0), args(vec![]))),
            "disconnect" => parser.encode(&packet(PacketType::Disconnect, "/custom", None, PacketData::None)),
            "middleware refusal" => parser.encode(&packet(
                PacketType::ConnectError,
                "/guarded",
                None,
                object(json!({"message": "no"})),
            )),
            "middleware refusal with data" => parser.encode(&packet(
                PacketType::ConnectError,
                "/guarded",
                None,
                object(json!({"message": "not authorized", "data": {"code": 401}})),
            )),
            "invalid namespace" => parser.encode_invalid_namespace("/nothing"),
            other => panic!("no Rust side for the vector {other:?}"),
        }
    }

    #[test]
    fn writes_what_the_reference_writes_byte_for_byte() {
        let all = vectors();
        let server = all["server"].as_array().unwrap();
        assert!(server.len() >= 13);
        for vector in server {
            let name = vector["name"].as_str().unwrap();
            let messages = ours(name);
            assert_eq!(messages.len(), 1, "{name}: one message");
            let Message::Binary(bytes) = &messages[0] else {
                panic!("{name}: a binary message");
            };
            assert_eq!(hex(bytes), vector["hex"].as_str().unwrap(), "{name}");
            // And it reads back: our own packets decode (not the server-only CONNECT_ERROR).
            if !name.contains("refusal") && !name.contains("invalid") {
                assert!(decode_packet(bytes).is_ok(), "{name} reads back");
            }
        }
    }

    /// A decoded packet in the vectors' tagged JSON: bytes `{"$bin": hex}`, no `options`.
    fn tagged(packet: &Packet) -> Value {
        fn bytes_tagged(value: &Value) -> Value {
            if let Some(bytes) = packet::nested_bytes_of(value) {
                return json!({"$bin": hex(&bytes)});
            }
            match value {
                Value::Array(items) => Value::Array(items.iter().map(bytes_tagged).collect()),
                Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), bytes_tagged(v))).collect()),
                other => other.clone(),
            }
        }
        let mut object = serde_json::Map::new();
        object.insert("type".into(), json!(type_number(packet.packet_type)));
        match &packet.data {
            PacketData::None => {}
            PacketData::Object(value) => {
                object.insert("data".into(), value.clone());
            }
            PacketData::Args(items) => {
                let items = items
                    .iter()
                    .map(|arg| match arg {
                        Arg::Binary(bytes) => json!({"$bin": hex(bytes)}),
                        Arg::Json(value) => bytes_tagged(value),
                    })
                    .collect();
                object.insert("data".into(), Value::Array(items));
            }
        }
        if let Some(id) = packet.id {
            object.insert("id".into(), json!(id));
        }
        object.insert("nsp".into(), json!(packet.nsp));
        Value::Object(object)
    }

    /// The reference's decoded packet, compared as ours holds it: no `options`, and an
    /// `undefined` field is no field.
    fn without_undefined(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(key, v)| *key != "options" && **v != json!({"$undefined": true}))
                    .map(|(k, v)| (k.clone(), without_undefined(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    #[test]
    fn reads_what_the_official_client_writes() {
        let all = vectors();
        for vector in all["client"].as_array().unwrap() {
            let name = vector["name"].as_str().unwrap();
            let decoded =
                decode_packet(&unhex(vector["hex"].as_str().unwrap())).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut expected = without_undefined(&vector["decoded"]);
            // Key order aside (a client's packet has `options` and `id` where it puts them).
            let ours = tagged(&decoded);
            for key in ["type", "data", "id", "nsp"] {
                assert_eq!(ours.get(key), expected.get(key), "{name}: {key}");
            }
            expected
                .as_object_mut()
                .unwrap()
                .retain(|key, _| !["type", "data", "id", "nsp"].contains(&key.as_str()));
            assert_eq!(expected, json!({}), "{name}: nothing else");
        }
    }

    #[test]
    fn refuses_what_the_reference_refuses() {
        let all = vectors();
        for vector in all["bad"].as_array().unwrap() {
            let name = vector["name"].as_str().unwrap();
            let reference = vector["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: the reference accepts it"));
            let ours = decode_packet(&unhex(vector["hex"].as_str().unwrap())).expect_err(name);
            let ParseError::InvalidMsgpack(detail) = &ours else {
                panic!("{name}: {ours:?}");
            };
            // The checks of `checkPacket` have the reference's words; bytes that are no
            // msgpack at all have the msgpack reader's.
            if reference.starts_with("invalid") {
                assert_eq!(detail, reference, "{name}");
            }
        }
    }

    /// Found by the fuzz target `socketio_msgpack_parser`: an event's argument that is notepack
    /// 2's ArrayBuffer (`ext 0`, here `d5 00 01 02` and `d8 00` + 16 bytes) arrived as the JSON
    /// placeholder of nested bytes, not as `Arg::Binary`, so it went out again as `bin` and came
    /// back another packet. Bytes at the top are `Arg::Binary`, whichever form brought them.
    #[test]
    fn an_array_buffer_argument_is_bytes() {
        // {type: 2, data: ["x", <ext 0: 01 02>, <ext 0: 16 bytes>], nsp: "/"}
        let sent = unhex(&format!(
            "83a47479706502a46461746193a178d5000102d800{}a36e7370a12f",
            "00".repeat(16)
        ));
        let packet = decode_packet(&sent).unwrap();
        let expected = args(vec![j(json!("x")), Arg::Binary(vec![1, 2]), Arg::Binary(vec![0; 16])]);
        assert_eq!(packet.data, expected);
        let [Message::Binary(wire)] = &MsgpackParser.encode(&packet)[..] else {
            panic!("one binary message");
        };
        assert_eq!(decode_packet(wire).unwrap(), packet);
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        let event = hex(&msgpack::encode(&packet_value(
            &packet(PacketType::Event, "/", None, PacketData::None),
            Some(Msgpack::Array(vec![Msgpack::from("x")])),
            NspPlace::Last,
        )));
        let bytes = unhex(&event);
        // Every prefix of a good packet.
        for cut in 0..bytes.len() {
            assert!(decode_packet(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_packet(&bytes).is_ok());
        // Too deep: an event whose argument is 100,000 nested arrays, and 63 (with the map and
        // the data array, 65 levels: over `msgpack::MAX_NESTING`); 62 are fine.
        let nested = |depth: usize| {
            let mut deep = unhex("83a47479706502a46461746192a178");
            deep.extend(std::iter::repeat_n(0x91, depth));
            deep.push(0xc0);
            deep.extend(unhex("a36e7370a12f"));
            deep
        };
        for depth in [63, 100_000] {
            assert!(decode_packet(&nested(depth)).is_err(), "{depth} levels");
        }
        assert!(decode_packet(&nested(62)).is_ok());
        // A huge array announced and not there.
        assert!(decode_packet(&unhex("83a47479706502a464617461ddffffffffa36e7370a12f")).is_err());
        // A reserved event name, a name that is bytes, a negative or huge ack id.
        let with = |data: &str, id: &str| unhex(&format!("84a47479706502a464617461{data}a269{id}a36e7370a12f"));
        assert_eq!(
            decode_packet(&with("91a7636f6e6e656374", "6400")),
            Err(ParseError::ReservedEventName("connect".to_string()))
        );
        assert!(decode_packet(&with("91c40101", "6400")).is_err());
        assert!(decode_packet(&with("91a178", "64ff")).is_err(), "id -1");
        assert!(
            decode_packet(&with("91a178", "64cf0020000000000000")).is_err(),
            "id 2^53"
        );
        assert!(
            decode_packet(&with("91a178", "64cf001fffffffffffff")).is_ok(),
            "id 2^53 - 1"
        );
        // A text message.
        let mut decoder = MsgpackParser.decoder();
        assert!(matches!(
            decoder.add(Message::Text("42[\"x\"]".into())),
            Err(ParseError::InvalidMsgpack(_))
        ));
    }
}
