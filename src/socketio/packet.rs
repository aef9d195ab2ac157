//! Socket.IO v5 packet codec: the Rust counterpart of the `socket.io-parser`
//! package (its `Encoder`, `Decoder`, `BinaryReconstructor`,
//! `deconstructPacket` / `reconstructPacket`).
//!
//! # Where this sits
//!
//! Every Socket.IO packet travels inside one Engine.IO `message` packet,
//! whose type is `4`. The Engine.IO layer removes that `4`; this module
//! only sees what follows it, as a [`Message`]:
//!
//! ```text
//! on the wire                      Message::Text here            meaning
//! 40                               0                             CONNECT to "/"
//! 40/admin,{"sid":"x"}             0/admin,{"sid":"x"}           server accepts "/admin"
//! 41/admin,                        1/admin,                      DISCONNECT from "/admin"
//! 42["news","Hello Socket.IO"]     2["news","Hello Socket.IO"]   EVENT "news" on "/"
//! 42/admin,13["x"]                 2/admin,13["x"]               EVENT on "/admin", asks for ack 13
//! 43/admin,13["y"]                 3/admin,13["y"]               ACK 13 on "/admin"
//! 44{"message":"Not authorized"}   4{"message":"Not authorized"} CONNECT_ERROR on "/"
//! ```
//!
//! # Text format
//!
//! ```text
//! <type digit>[<attachment count>-][<namespace>,][<ack id>][<JSON payload>]
//! ```
//!
//! * type digit: `0` CONNECT, `1` DISCONNECT, `2` EVENT, `3` ACK,
//!   `4` CONNECT_ERROR, `5` BINARY_EVENT, `6` BINARY_ACK;
//! * attachment count: only for `5` and `6`, e.g. `51-`;
//! * namespace: only when it is not `/`; starts with `/` and runs to the
//!   first `,` (or to the end of the text: `0/custom` is CONNECT to `/custom`);
//! * ack id: decimal digits right after the namespace;
//! * payload: compact JSON.
//!
//! # Binary attachments
//!
//! An EVENT or ACK whose arguments hold bytes ([`Arg::Binary`]) is sent as
//! BINARY_EVENT / BINARY_ACK: each such argument is replaced by a
//! placeholder object, and the bytes follow as binary messages, in order:
//!
//! ```text
//! 51-["file",{"_placeholder":true,"num":0}]    Message::Text   (on the wire: 451-[...])
//! <01 02 03>                                   Message::Binary (attachment num 0)
//! ```
//!
//! The [`Decoder`] turns this back into one EVENT packet whose second
//! argument is `Arg::Binary(vec![1, 2, 3])`. Like the reference, decoded
//! BINARY_EVENT / BINARY_ACK packets come out as [`PacketType::Event`] /
//! [`PacketType::Ack`]: the binary variants only exist on the wire.
//!
//! # Nested binary
//!
//! [`Arg`] can only hold bytes at the top level of the argument list, but a
//! JavaScript client may nest a Buffer anywhere, e.g.
//! `socket.emit("upload", { name: "a.txt", file: buffer })`:
//!
//! ```text
//! 51-["upload",{"name":"a.txt","file":{"_placeholder":true,"num":0}}]   + <01 02 03>
//! ```
//!
//! Such a nested placeholder stays in the JSON, and its bytes are added to
//! it, base64-encoded, under the key `"base64"`:
//!
//! ```text
//! Arg::Json({"name":"a.txt","file":{"_placeholder":true,"num":0,"base64":"AQID"}})
//! ```
//!
//! Nothing is lost; the event handler decodes the base64 if it wants the
//! bytes. Such an object is still placeholder-shaped: do not send it back
//! inside a packet that also has binary arguments ([`validate_packet`]
//! rejects that), or the peer would take it for one of that packet's
//! placeholders.
//!
//! # Where this differs from the reference (all on the stricter side)
//!
//! * An empty text is an error (JavaScript's `Number("")` is 0, so the
//!   reference reads it as CONNECT).
//! * The attachment count and the ack id must be plain ASCII digits (the
//!   reference accepts anything `Number()` accepts, like `1e0` or ` 1`).
//! * An ack id above 2^53 - 1 is an error: a JavaScript peer cannot hold it
//!   exactly (the reference silently rounds it).
//! * EVENT, ACK and CONNECT_ERROR must carry a payload, as the spec and the
//!   reference's `isPacketValid` say (its `decodeString` lets `2` through).
//! * Placeholders are checked as soon as the text arrives: `num` must be an
//!   integer below the attachment count, each `num` used once, and every
//!   attachment used (the reference accepts `0.5`, repeats and unused ones).
//! * [`encode`] cannot fail, so it does not reject a `,` in the namespace as
//!   the reference's encoder does; call [`validate_packet`] first when the
//!   packet was built from outside data.
//! * No custom JSON reviver / replacer; at most [`MAX_ATTACHMENTS`].

use serde_json::Value;

use crate::engineio::Message;
use crate::engineio::base64;
use crate::socketio::adapter::Offset;

/// Event names a client may not emit: they mean something to the library.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The most binary attachments one packet may announce (the reference's
/// default `maxAttachments`): `510-` is fine, `511-` is an error.
pub const MAX_ATTACHMENTS: usize = 10;

/// The largest ack id accepted: 2^53 - 1, JavaScript's
/// `Number.MAX_SAFE_INTEGER`, the largest id a JavaScript peer holds exactly.
pub const MAX_ACK_ID: u64 = 9_007_199_254_740_991;

/// The key under which a nested placeholder gets its bytes, base64-encoded:
/// `{"_placeholder":true,"num":0,"base64":"AQID"}`.
const NESTED_BYTES_KEY: &str = "base64";

/// One argument of an event or ack: JSON, or bytes (serde_json's Value holds no bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `"news"`, `{"a":1}`, `42` ...
    Json(Value),
    /// Sent as `{"_placeholder":true,"num":N}` plus one binary message.
    Binary(Vec<u8>),
}

impl Arg {
    /// This argument as one JSON value, to be put inside another (an array, an object): bytes
    /// become a nested placeholder that carries them, `{"_placeholder":true,"num":0,"base64":"AQID"}`,
    /// which [`encode`] sends as an attachment again. (The admin UI's `event_received` puts an
    /// event's arguments, bytes included, in one array.)
    pub fn to_nested_json(&self) -> Value {
        match self {
            Arg::Json(value) => value.clone(),
            Arg::Binary(bytes) => {
                let mut placeholder = serde_json::Map::new();
                placeholder.insert("_placeholder".to_string(), Value::Bool(true));
                placeholder.insert("num".to_string(), Value::from(0));
                placeholder.insert(NESTED_BYTES_KEY.to_string(), Value::String(base64::encode(bytes)));
                Value::Object(placeholder)
            }
        }
    }
}

/// The first character of every text packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`, `0{"token":"abc"}`, `0/admin,{"sid":"x"}`
    Connect = 0,
    /// `1`, `1/admin,`
    Disconnect = 1,
    /// `2["news","Hello Socket.IO"]`, `2/admin,13["x"]`
    Event = 2,
    /// `3/admin,13["y"]`
    Ack = 3,
    /// `4{"message":"Invalid namespace"}`
    ConnectError = 4,
    /// `51-["file",{"_placeholder":true,"num":0}]` + 1 binary message
    BinaryEvent = 5,
    /// `61-/admin,12[{"_placeholder":true,"num":0}]` + 1 binary message
    BinaryAck = 6,
}

impl PacketType {
    /// The digit that starts the text form: `'2'` for EVENT.
    fn digit(self) -> char {
        match self {
            PacketType::Connect => '0',
            PacketType::Disconnect => '1',
            PacketType::Event => '2',
            PacketType::Ack => '3',
            PacketType::ConnectError => '4',
            PacketType::BinaryEvent => '5',
            PacketType::BinaryAck => '6',
        }
    }

    /// `b'2'` → EVENT; anything but `b'0'..=b'6'` → None.
    fn from_digit(byte: u8) -> Option<PacketType> {
        match byte {
            b'0' => Some(PacketType::Connect),
            b'1' => Some(PacketType::Disconnect),
            b'2' => Some(PacketType::Event),
            b'3' => Some(PacketType::Ack),
            b'4' => Some(PacketType::ConnectError),
            b'5' => Some(PacketType::BinaryEvent),
            b'6' => Some(PacketType::BinaryAck),
            _ => None,
        }
    }

    /// BINARY_EVENT and BINARY_ACK: the types whose text carries `N-`.
    fn is_binary(self) -> bool {
        self == PacketType::BinaryEvent || self == PacketType::BinaryAck
    }
}

/// A decoded packet, binary attachments already put back in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// On encode, Event/Ack whose args hold `Arg::Binary` are written as
    /// BinaryEvent/BinaryAck automatically (and BinaryEvent/BinaryAck
    /// without any bytes as Event/Ack). Decoding gives Event/Ack.
    pub packet_type: PacketType,
    /// `"/"` when absent on the wire.
    pub nsp: String,
    /// The ack id: `13` in `2/admin,13["x"]`.
    pub id: Option<u64>,
    pub data: PacketData,
}

/// What follows the header of a packet.
#[derive(Debug, Clone, PartialEq)]
pub enum PacketData {
    /// `1`, `1/admin,`, `0` without payload.
    None,
    /// CONNECT payload (auth, a JSON object), the server's CONNECT answer
    /// `{"sid":"..."}`, or the CONNECT_ERROR payload (a JSON object, or a
    /// JSON string from old servers).
    Object(Value),
    /// EVENT / ACK / BINARY_*: for EVENT the first arg is the event name.
    Args(Vec<Arg>),
}

/// Why a message could not be decoded (or a packet is not fit to send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// `` (empty text): no packet type digit.
    EmptyPacket,
    /// `7`, `x`: the first character is not a digit 0 to 6.
    InvalidPacketType,
    /// `5["a"]`, `5-["a"]`, `5x-["a"]`, `50-["a"]`: the attachment count is
    /// missing, not digits followed by `-`, or zero.
    IllegalAttachments,
    /// `511-[...]`: more than [`MAX_ATTACHMENTS`] attachments announced.
    TooManyAttachments,
    /// `29007199254740992["x"]`: the ack id is above [`MAX_ACK_ID`].
    InvalidAckId,
    /// `2["x"`: the payload is not JSON, or nested deeper than serde_json's
    /// limit of 128 levels. Holds serde_json's message.
    InvalidJson(String),
    /// `0[]`, `1{}`, `2[]`, `2`, `3{}`: the payload does not have the shape
    /// this packet type needs. Holds what was expected.
    InvalidPayload(&'static str),
    /// `2["connect"]`: the event name is one of [`RESERVED_EVENTS`].
    ReservedEventName(String),
    /// `51-["a",{"_placeholder":true,"num":1}]`: a placeholder's `num` is
    /// not an integer below the attachment count.
    InvalidPlaceholder,
    /// `52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]`
    DuplicatePlaceholder,
    /// `52-["a",{"_placeholder":true,"num":0}]`: the header and the
    /// placeholders disagree on how many attachments there are.
    AttachmentCountMismatch { announced: usize, found: usize },
    /// A text message arrived while a binary packet still waited for
    /// attachments.
    UnexpectedText,
    /// A binary message arrived while no binary packet waited for one.
    UnexpectedBinary,
    /// Only from [`validate_packet`]: the namespace does not start with `/`,
    /// or holds a `,` (which would end it early on the wire).
    InvalidNamespace,
    /// The msgpack parser's (`parser/msgpack.rs`): bytes that are no msgpack packet, with the
    /// reference's words ("invalid packet type", "invalid payload", ...) or the msgpack
    /// reader's ("the bytes end before the values do").
    InvalidMsgpack(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::EmptyPacket => write!(f, "empty packet: the packet type digit is missing"),
            ParseError::InvalidPacketType => {
                write!(f, "invalid packet type: the first character must be a digit 0 to 6")
            }
            ParseError::IllegalAttachments => write!(
                f,
                "illegal attachments: a binary packet must start with its attachment count (digits, at least 1) and '-'"
            ),
            ParseError::TooManyAttachments => {
                write!(f, "too many attachments: at most {MAX_ATTACHMENTS} per packet")
            }
            ParseError::InvalidAckId => write!(f, "invalid ack id: larger than {MAX_ACK_ID}"),
            ParseError::InvalidJson(detail) => {
                write!(f, "invalid payload: not valid JSON ({detail})")
            }
            ParseError::InvalidPayload(expected) => write!(f, "invalid payload: {expected}"),
            ParseError::ReservedEventName(name) => {
                write!(f, "invalid payload: {name:?} is a reserved event name")
            }
            ParseError::InvalidPlaceholder => write!(
                f,
                "illegal attachments: a placeholder's num must be an integer below the attachment count"
            ),
            ParseError::DuplicatePlaceholder => {
                write!(f, "illegal attachments: two placeholders have the same num")
            }
            ParseError::AttachmentCountMismatch { announced, found } => write!(
                f,
                "illegal attachments: the header announces {announced} attachments but the payload has {found} placeholders"
            ),
            ParseError::UnexpectedText => {
                write!(f, "got plaintext data when reconstructing a packet")
            }
            ParseError::UnexpectedBinary => {
                write!(f, "got binary data when not reconstructing a packet")
            }
            ParseError::InvalidNamespace => {
                write!(f, "invalid namespace: it must start with '/' and must not contain ','")
            }
            ParseError::InvalidMsgpack(detail) => write!(f, "invalid msgpack packet: {detail}"),
        }
    }
}

impl std::error::Error for ParseError {}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Encode: one text message, then one binary message per attachment.
///
/// ```text
/// Event "/" id None  ["news","Hello Socket.IO"]  →  2["news","Hello Socket.IO"]
/// Ack "/admin" id 12 [<01 02>]                   →  61-/admin,12[{"_placeholder":true,"num":0}]  + <01 02>
/// ```
///
/// The JSON is compact and keeps the key order it was given. Nothing is
/// checked here; see [`validate_packet`].
pub fn encode(packet: &Packet) -> Vec<Message> {
    encode_with_offset(packet, None)
}

/// `encode` of an event that connection state recovery logs: its offset written as one more
/// argument, the last (the reference pushes it onto `packet.data` before encoding; the packet
/// itself is left as it is here, and its outgoing listeners are given the offset by
/// `Socket::notify_outgoing_listeners`). An offset is written in yeast's alphabet, which JSON
/// needs no escape for.
///
/// ```text
/// Event "/" ["tick",3] and offset PhPmfU0.1  →  2["tick",3,"PhPmfU0.1"]
/// ```
pub fn encode_with_offset(packet: &Packet, offset: Option<Offset>) -> Vec<Message> {
    // One buffer: the prefix of a packet without attachments, then the payload, which serde_json
    // writes in place. Writing the payload counts the attachments; when there are some (then it
    // is a BINARY_EVENT or BINARY_ACK, whose prefix carries their count) the prefix is written
    // again, in front of a copy of the payload.
    let mut text = Vec::with_capacity(64 + packet.nsp.len());
    write_prefix(&mut text, packet, 0);
    let prefix_len = text.len();
    let mut attachments: Vec<Message> = Vec::new();
    match &packet.data {
        PacketData::None => {}
        PacketData::Object(value) => write_json(&mut text, value),
        PacketData::Args(args) => encode_args(args, offset, &mut text, &mut attachments),
    }
    if !attachments.is_empty() {
        let mut binary = Vec::with_capacity(24 + text.len());
        write_prefix(&mut binary, packet, attachments.len());
        binary.extend_from_slice(&text[prefix_len..]);
        text = binary;
    }
    let mut messages = vec![Message::Text(json_text(text))];
    messages.append(&mut attachments);
    messages
}

/// `<type>[<count>-][<nsp>,][<id>]`, the part of a packet before its payload: `2`, `3/admin,12`,
/// `61-/admin,12` (a packet with `attachment_count` attachments is written as a binary one).
fn write_prefix(out: &mut Vec<u8>, packet: &Packet, attachment_count: usize) {
    let packet_type = type_on_the_wire(packet.packet_type, attachment_count);
    out.push(packet_type.digit() as u8);
    if packet_type.is_binary() {
        write_number(out, attachment_count as u64);
        out.push(b'-');
    }
    if !packet.nsp.is_empty() && packet.nsp != "/" {
        out.extend_from_slice(packet.nsp.as_bytes());
        out.push(b',');
    }
    if let Some(id) = packet.id {
        write_number(out, id);
    }
}

/// `12` → `b"12"` appended: the decimal digits, as JSON writes a number (serde_json's writer,
/// with no allocation, unlike `number.to_string()`).
fn write_number(out: &mut Vec<u8>, number: u64) {
    let _ = serde_json::to_writer(&mut *out, &number);
}

/// `["file",<01 02 03>]` → `["file",{"_placeholder":true,"num":0}]` appended to `json`,
/// pushing `Message::Binary(<01 02 03>)` onto `attachments`
/// (the reference's `deconstructPacket`, top level only); then the `offset`, if any, as the
/// last argument (`"PhPmfU0.1"`).
fn encode_args(args: &[Arg], offset: Option<Offset>, json: &mut Vec<u8>, attachments: &mut Vec<Message>) {
    json.push(b'[');
    for (index, arg) in args.iter().enumerate() {
        if index > 0 {
            json.push(b',');
        }
        match arg {
            Arg::Json(value) => {
                let start = json.len();
                write_json(json, value);
                // Cheap test first: only a JSON that mentions "_placeholder" can hold nested bytes.
                if mentions_placeholder(&json[start..]) {
                    json.truncate(start);
                    write_json(json, &deconstruct_nested(value, attachments));
                }
            }
            Arg::Binary(bytes) => {
                let num = attachments.len();
                json.extend_from_slice(format!("{{\"_placeholder\":true,\"num\":{num}}}").as_bytes());
                attachments.push(Message::Binary(bytes.clone()));
            }
        }
    }
    if let Some(offset) = offset {
        if !args.is_empty() {
            json.push(b',');
        }
        json.push(b'"');
        offset.write_to(json);
        json.push(b'"');
    }
    json.push(b']');
}

/// `value` as compact JSON (what `value.to_string()` writes), appended to `json` by serde_json's
/// writer, without the formatter `to_string` goes through: every emitted packet is written here.
fn write_json(json: &mut Vec<u8>, value: &Value) {
    // A `Value` always serializes (its keys are strings), and into a `Vec` nothing fails.
    let _ = serde_json::to_writer(&mut *json, value);
}

/// The JSON bytes as text (serde_json writes UTF-8 only, so the fallback never runs).
fn json_text(json: Vec<u8>) -> String {
    String::from_utf8(json).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// Whether the JSON has a `"_placeholder"` (key or string) anywhere.
fn mentions_placeholder(json: &[u8]) -> bool {
    const KEY: &[u8] = b"\"_placeholder\"";
    json.windows(KEY.len()).any(|window| window == KEY)
}

/// The reverse of [`keep_nested_bytes`], so that nested bytes round-trip: every
/// `{"_placeholder":true,"num":N,"base64":"AQID"}` inside `value` becomes a fresh placeholder
/// `{"_placeholder":true,"num":K}` and its bytes the attachment `K`. Walks with an explicit stack.
fn deconstruct_nested(value: &Value, attachments: &mut Vec<Message>) -> Value {
    let mut copy = value.clone();
    let mut to_visit: Vec<&mut Value> = vec![&mut copy];
    while let Some(current) = to_visit.pop() {
        if let Some(bytes) = nested_bytes_of(current) {
            let mut placeholder = serde_json::Map::new();
            placeholder.insert("_placeholder".to_string(), Value::Bool(true));
            placeholder.insert("num".to_string(), Value::from(attachments.len()));
            attachments.push(Message::Binary(bytes));
            *current = Value::Object(placeholder);
            continue;
        }
        match current {
            Value::Array(children) => to_visit.extend(children.iter_mut()),
            Value::Object(map) => to_visit.extend(map.values_mut()),
            _ => {}
        }
    }
    copy
}

/// The bytes of a nested placeholder as `keep_nested_bytes` left it, if `value` is one.
pub fn nested_bytes_of(value: &Value) -> Option<Vec<u8>> {
    let map = value.as_object()?;
    if map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    let text = map.get(NESTED_BYTES_KEY)?.as_str()?;
    base64::decode(text).ok()
}

/// Bytes nested inside a JSON argument, in the form the decoder gives them
/// (`{"_placeholder":true,"num":0,"base64":"AQID"}`): how the Redis adapter's msgpack codec
/// hands a Buffer nested in an object to a handler, and how [`encode`] sends it on as an
/// attachment (its `num` is given anew then).
pub fn nested_bytes(bytes: &[u8]) -> Value {
    let mut placeholder = serde_json::Map::new();
    placeholder.insert("_placeholder".to_string(), Value::Bool(true));
    placeholder.insert("num".to_string(), Value::from(0));
    placeholder.insert(NESTED_BYTES_KEY.to_string(), Value::String(base64::encode(bytes)));
    Value::Object(placeholder)
}

/// EVENT with attachments goes out as BINARY_EVENT, BINARY_EVENT without
/// any as EVENT; the same for ACK. Other types are written as they are.
fn type_on_the_wire(packet_type: PacketType, attachment_count: usize) -> PacketType {
    match packet_type {
        PacketType::Event | PacketType::BinaryEvent => {
            if attachment_count > 0 {
                PacketType::BinaryEvent
            } else {
                PacketType::Event
            }
        }
        PacketType::Ack | PacketType::BinaryAck => {
            if attachment_count > 0 {
                PacketType::BinaryAck
            } else {
                PacketType::Ack
            }
        }
        other => other,
    }
}

/// Check a packet before sending it: the checks the reference's
/// `isPacketValid` and encoder make, so that the peer can decode it.
///
/// * the namespace starts with `/` and holds no `,`;
/// * the ack id is at most [`MAX_ACK_ID`];
/// * the data fits the type (as the decoder demands of received packets);
/// * at most [`MAX_ATTACHMENTS`] binary args, and, when there are some, no
///   JSON arg that contains a placeholder-shaped object.
pub fn validate_packet(packet: &Packet) -> Result<(), ParseError> {
    if !packet.nsp.starts_with('/') || packet.nsp.contains(',') {
        return Err(ParseError::InvalidNamespace);
    }
    if let Some(id) = packet.id
        && id > MAX_ACK_ID
    {
        return Err(ParseError::InvalidAckId);
    }
    match (packet.packet_type, &packet.data) {
        (PacketType::Connect, PacketData::None) => Ok(()),
        (PacketType::Connect, PacketData::Object(Value::Object(_))) => Ok(()),
        (PacketType::Connect, _) => Err(ParseError::InvalidPayload("CONNECT payload must be a JSON object")),
        (PacketType::Disconnect, PacketData::None) => Ok(()),
        (PacketType::Disconnect, _) => Err(ParseError::InvalidPayload("DISCONNECT takes no payload")),
        (PacketType::ConnectError, PacketData::Object(Value::Object(_))) => Ok(()),
        (PacketType::ConnectError, PacketData::Object(Value::String(_))) => Ok(()),
        (PacketType::ConnectError, _) => Err(ParseError::InvalidPayload(
            "CONNECT_ERROR payload must be a JSON object or string",
        )),
        (PacketType::Event | PacketType::BinaryEvent, PacketData::Args(args)) => {
            match args.first() {
                Some(Arg::Json(name)) => check_event_name(Some(name))?,
                Some(Arg::Binary(_)) => {
                    return Err(ParseError::InvalidPayload(
                        "the event name (first argument) must be a string or a number",
                    ));
                }
                None => check_event_name(None)?,
            }
            check_binary_args(args)
        }
        (PacketType::Event | PacketType::BinaryEvent, _) => {
            Err(ParseError::InvalidPayload("EVENT payload must be a non-empty array"))
        }
        (PacketType::Ack | PacketType::BinaryAck, PacketData::Args(args)) => check_binary_args(args),
        (PacketType::Ack | PacketType::BinaryAck, _) => Err(ParseError::InvalidPayload("ACK payload must be an array")),
    }
}

/// For [`validate_packet`]: at most [`MAX_ATTACHMENTS`] binary args, and
/// no placeholder-shaped JSON next to them.
fn check_binary_args(args: &[Arg]) -> Result<(), ParseError> {
    let mut binary_count = 0;
    for arg in args {
        if let Arg::Binary(_) = arg {
            binary_count += 1;
        }
    }
    if binary_count == 0 {
        return Ok(());
    }
    if binary_count > MAX_ATTACHMENTS {
        return Err(ParseError::TooManyAttachments);
    }
    for arg in args {
        if let Arg::Json(value) = arg
            && contains_placeholder(value)
        {
            return Err(ParseError::InvalidPayload(
                "a JSON argument holds a {\"_placeholder\":true} object next to binary arguments",
            ));
        }
    }
    Ok(())
}

/// Does `value` hold an object with `"_placeholder":true`, at any depth?
/// Walks with an explicit stack, no recursion.
fn contains_placeholder(value: &Value) -> bool {
    let mut to_visit: Vec<&Value> = vec![value];
    while let Some(current) = to_visit.pop() {
        match current {
            Value::Object(map) => {
                // Nested bytes kept by the decoder (with "base64") become real attachments.
                if map.get("_placeholder") == Some(&Value::Bool(true)) && !map.contains_key(NESTED_BYTES_KEY) {
                    return true;
                }
                for field in map.values() {
                    to_visit.push(field);
                }
            }
            Value::Array(items) => {
                for item in items {
                    to_visit.push(item);
                }
            }
            _ => {}
        }
    }
    false
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// The reference's Decoder: feed Engine.IO messages one by one; a BINARY_*
/// packet waits for its attachments.
///
/// ```text
/// add(Text  `2["news","Hello Socket.IO"]`)          → Ok(Some(EVENT))
/// add(Text  `51-["file",{"_placeholder":true,"num":0}]`) → Ok(None)   waiting for 1 attachment
/// add(Binary <01 02 03>)                             → Ok(Some(EVENT ["file", <01 02 03>]))
/// ```
///
/// After an `Err` the connection should be closed: the decoder stays as it
/// was (still waiting, if it was), as the reference's does.
pub struct Decoder {
    /// `Some` between the text of a BINARY_EVENT / BINARY_ACK and its last
    /// attachment.
    reconstructor: Option<BinaryReconstructor>,
}

/// A binary packet whose text has arrived, collecting its attachments.
struct BinaryReconstructor {
    /// Event or Ack (BINARY_EVENT / BINARY_ACK on the wire).
    packet_type: PacketType,
    nsp: String,
    id: Option<u64>,
    /// The payload array as received, placeholders still in it (already
    /// checked: each `num` below `attachment_count`, each used once).
    args_with_placeholders: Vec<Value>,
    /// The `N` of `5N-`: how many binary messages must follow.
    attachment_count: usize,
    /// Attachments received so far: `received[num]` belongs to placeholder `num`.
    received: Vec<Vec<u8>>,
}

/// What one text message decodes to.
enum DecodedText {
    /// Any non-binary packet.
    Complete(Packet),
    /// BINARY_EVENT / BINARY_ACK: its attachments come next.
    WaitsForAttachments(BinaryReconstructor),
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new()
    }
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder { reconstructor: None }
    }

    /// Ok(Some(packet)) when a packet is complete, Ok(None) while waiting for
    /// attachments, Err on anything malformed.
    pub fn add(&mut self, message: Message) -> Result<Option<Packet>, ParseError> {
        match message {
            Message::Text(text) => self.add_text(&text),
            Message::Binary(bytes) => self.add_binary(bytes),
        }
    }

    /// Forget a half-received binary packet (the reference's destroy()).
    pub fn destroy(&mut self) {
        self.reconstructor = None;
    }

    fn add_text(&mut self, text: &str) -> Result<Option<Packet>, ParseError> {
        if self.reconstructor.is_some() {
            return Err(ParseError::UnexpectedText);
        }
        match decode_text(text)? {
            DecodedText::Complete(packet) => Ok(Some(packet)),
            DecodedText::WaitsForAttachments(reconstructor) => {
                self.reconstructor = Some(reconstructor);
                Ok(None)
            }
        }
    }

    fn add_binary(&mut self, bytes: Vec<u8>) -> Result<Option<Packet>, ParseError> {
        let Some(mut reconstructor) = self.reconstructor.take() else {
            return Err(ParseError::UnexpectedBinary);
        };
        reconstructor.received.push(bytes);
        if reconstructor.received.len() < reconstructor.attachment_count {
            // Not the last one yet: keep waiting.
            self.reconstructor = Some(reconstructor);
            return Ok(None);
        }
        let packet = reconstruct_packet(reconstructor)?;
        Ok(Some(packet))
    }
}

/// Decode one text message (the reference's `decodeString` plus
/// `isPayloadValid`), e.g. `2/admin,13["x"]` → EVENT, nsp `/admin`, id 13.
fn decode_text(text: &str) -> Result<DecodedText, ParseError> {
    let mut header = HeaderReader { text, position: 0 };

    // 2/admin,13["x"]  →  EVENT
    let packet_type = header.read_type()?;
    // 51-["file",...]  →  1 (binary types only)
    let mut attachment_count = 0;
    if packet_type.is_binary() {
        attachment_count = header.read_attachment_count()?;
    }
    // 2/admin,13["x"]  →  "/admin"
    let nsp = header.read_namespace()?;
    // 2/admin,13["x"]  →  Some(13)
    let id = header.read_ack_id()?;
    // 2/admin,13["x"]  →  ["x"]
    let payload_text = header.rest();
    let payload: Option<Value> = if payload_text.is_empty() {
        None
    } else {
        Some(parse_json(payload_text)?)
    };

    match packet_type {
        PacketType::Connect => {
            let data = match payload {
                None => PacketData::None,
                Some(Value::Object(map)) => PacketData::Object(Value::Object(map)),
                Some(_) => {
                    return Err(ParseError::InvalidPayload("CONNECT payload must be a JSON object"));
                }
            };
            Ok(complete_packet(packet_type, nsp, id, data))
        }
        PacketType::Disconnect => {
            if payload.is_some() {
                return Err(ParseError::InvalidPayload("DISCONNECT takes no payload"));
            }
            Ok(complete_packet(packet_type, nsp, id, PacketData::None))
        }
        PacketType::ConnectError => {
            let data = match payload {
                Some(Value::Object(map)) => PacketData::Object(Value::Object(map)),
                Some(Value::String(message)) => PacketData::Object(Value::String(message)),
                _ => {
                    return Err(ParseError::InvalidPayload(
                        "CONNECT_ERROR payload must be a JSON object or string",
                    ));
                }
            };
            Ok(complete_packet(packet_type, nsp, id, data))
        }
        PacketType::Event | PacketType::Ack => {
            let items = payload_array(packet_type, payload)?;
            let mut args = Vec::new();
            for item in items {
                args.push(Arg::Json(item));
            }
            Ok(complete_packet(packet_type, nsp, id, PacketData::Args(args)))
        }
        PacketType::BinaryEvent | PacketType::BinaryAck => {
            let items = payload_array(packet_type, payload)?;
            check_placeholders(&items, attachment_count)?;
            let packet_type = if packet_type == PacketType::BinaryEvent {
                PacketType::Event
            } else {
                PacketType::Ack
            };
            Ok(DecodedText::WaitsForAttachments(BinaryReconstructor {
                packet_type,
                nsp,
                id,
                args_with_placeholders: items,
                attachment_count,
                received: Vec::new(),
            }))
        }
    }
}

fn complete_packet(packet_type: PacketType, nsp: String, id: Option<u64>, data: PacketData) -> DecodedText {
    DecodedText::Complete(Packet {
        packet_type,
        nsp,
        id,
        data,
    })
}

/// The payload as JSON. serde_json stops at 128 nested levels, so a hostile
/// `[[[[...` gives an error here, not a stack overflow.
fn parse_json(text: &str) -> Result<Value, ParseError> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(value),
        Err(error) => Err(ParseError::InvalidJson(error.to_string())),
    }
}

/// The payload of an EVENT / ACK (binary or not): it must be an array, and
/// for an event non-empty, starting with a non-reserved string or a number.
fn payload_array(packet_type: PacketType, payload: Option<Value>) -> Result<Vec<Value>, ParseError> {
    let is_event = packet_type == PacketType::Event || packet_type == PacketType::BinaryEvent;
    let items = match payload {
        Some(Value::Array(items)) => items,
        _ => {
            if is_event {
                return Err(ParseError::InvalidPayload("EVENT payload must be a non-empty array"));
            }
            return Err(ParseError::InvalidPayload("ACK payload must be an array"));
        }
    };
    if is_event {
        check_event_name(items.first())?;
    }
    Ok(items)
}

/// The first element of an EVENT payload: `"news"` or `42` are fine,
/// `"connect"` (reserved), `{}` or nothing are not.
pub(crate) fn check_event_name(first: Option<&Value>) -> Result<(), ParseError> {
    match first {
        Some(Value::String(name)) => {
            if RESERVED_EVENTS.contains(&name.as_str()) {
                Err(ParseError::ReservedEventName(name.clone()))
            } else {
                Ok(())
            }
        }
        Some(Value::Number(_)) => Ok(()),
        Some(_) => Err(ParseError::InvalidPayload(
            "the event name (first element) must be a string or a number",
        )),
        None => Err(ParseError::InvalidPayload("EVENT payload must be a non-empty array")),
    }
}

/// Reads the header of a text packet left to right:
///
/// ```text
/// 61-/admin,12["ok"]
/// ^^^^^^^^^^^^           type, count, namespace, id
///             ^^^^^^     rest(): the payload
/// ```
struct HeaderReader<'a> {
    text: &'a str,
    /// Index (in bytes) of the next byte to read.
    position: usize,
}

impl<'a> HeaderReader<'a> {
    /// The next byte, without consuming it; None at the end.
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    /// `2...` → EVENT.
    fn read_type(&mut self) -> Result<PacketType, ParseError> {
        let Some(first) = self.peek() else {
            return Err(ParseError::EmptyPacket);
        };
        let Some(packet_type) = PacketType::from_digit(first) else {
            return Err(ParseError::InvalidPacketType);
        };
        self.position += 1;
        Ok(packet_type)
    }

    /// `51-...` → 1. One or more digits, then `-`; the value is 1 to
    /// [`MAX_ATTACHMENTS`]. Nothing is allocated from it.
    fn read_attachment_count(&mut self) -> Result<usize, ParseError> {
        let digits_start = self.position;
        let mut count: usize = 0;
        while let Some(byte) = self.peek() {
            if !byte.is_ascii_digit() {
                break;
            }
            // Saturating: `599999999999999999999999-` stays huge, not wrapped.
            count = count.saturating_mul(10).saturating_add(usize::from(byte - b'0'));
            self.position += 1;
        }
        let has_digits = self.position > digits_start;
        if !has_digits || self.peek() != Some(b'-') {
            return Err(ParseError::IllegalAttachments);
        }
        self.position += 1; // the '-'
        if count == 0 {
            return Err(ParseError::IllegalAttachments);
        }
        if count > MAX_ATTACHMENTS {
            return Err(ParseError::TooManyAttachments);
        }
        Ok(count)
    }

    /// `/admin,...` → "/admin" (the comma is consumed); `/custom` at the end
    /// of the text → "/custom"; no leading `/` → "/" (nothing consumed).
    fn read_namespace(&mut self) -> Result<String, ParseError> {
        if self.peek() != Some(b'/') {
            return Ok("/".to_string());
        }
        let start = self.position;
        while let Some(byte) = self.peek() {
            if byte == b',' {
                break;
            }
            self.position += 1;
        }
        // Always on a character boundary (we stopped before ',' or at the
        // end), so `get` cannot fail; no panic either way.
        let Some(nsp) = self.text.get(start..self.position) else {
            return Err(ParseError::InvalidNamespace);
        };
        if self.peek() == Some(b',') {
            self.position += 1;
        }
        Ok(nsp.to_string())
    }

    /// `13["x"]` → Some(13); `["x"]` → None. At most [`MAX_ACK_ID`].
    fn read_ack_id(&mut self) -> Result<Option<u64>, ParseError> {
        let digits_start = self.position;
        let mut id: u64 = 0;
        while let Some(byte) = self.peek() {
            if !byte.is_ascii_digit() {
                break;
            }
            // Saturating: an overflowing id stays above MAX_ACK_ID.
            id = id.saturating_mul(10).saturating_add(u64::from(byte - b'0'));
            self.position += 1;
        }
        if self.position == digits_start {
            return Ok(None);
        }
        if id > MAX_ACK_ID {
            return Err(ParseError::InvalidAckId);
        }
        Ok(Some(id))
    }

    /// Everything after the header: the JSON payload, or "" if none.
    fn rest(&self) -> &'a str {
        // `position` only ever stops before an ASCII byte or at the end,
        // so this is a character boundary and `get` returns Some.
        self.text.get(self.position..).unwrap_or("")
    }
}

/// `{"_placeholder":true,"num":0}` → Ok(Some(0)); a value that is not a
/// placeholder → Ok(None); a placeholder whose `num` is not an integer below
/// `attachment_count` → Err. (Only `"_placeholder":true` makes a
/// placeholder, as in the reference; other keys are ignored.)
fn read_placeholder(value: &Value, attachment_count: usize) -> Result<Option<usize>, ParseError> {
    let Value::Object(map) = value else {
        return Ok(None);
    };
    if map.get("_placeholder") != Some(&Value::Bool(true)) {
        return Ok(None);
    }
    let Some(num) = map.get("num").and_then(Value::as_u64) else {
        return Err(ParseError::InvalidPlaceholder);
    };
    let Ok(num) = usize::try_from(num) else {
        return Err(ParseError::InvalidPlaceholder);
    };
    if num >= attachment_count {
        return Err(ParseError::InvalidPlaceholder);
    }
    Ok(Some(num))
}

/// Check the placeholders of a binary packet's payload, at any depth, as
/// soon as its text arrives: each `num` valid, none used twice, and as many
/// as the header announced. Walks with an explicit stack, no recursion.
fn check_placeholders(items: &[Value], attachment_count: usize) -> Result<(), ParseError> {
    // attachment_count is at most MAX_ATTACHMENTS here.
    let mut used = vec![false; attachment_count];
    let mut to_visit: Vec<&Value> = Vec::new();
    for item in items {
        to_visit.push(item);
    }
    while let Some(current) = to_visit.pop() {
        if let Some(num) = read_placeholder(current, attachment_count)? {
            match used.get_mut(num) {
                Some(slot) if *slot => return Err(ParseError::DuplicatePlaceholder),
                Some(slot) => *slot = true,
                None => return Err(ParseError::InvalidPlaceholder),
            }
            continue;
        }
        match current {
            Value::Array(children) => {
                for child in children {
                    to_visit.push(child);
                }
            }
            Value::Object(map) => {
                for field in map.values() {
                    to_visit.push(field);
                }
            }
            _ => {}
        }
    }
    let mut found = 0;
    for slot in &used {
        if *slot {
            found += 1;
        }
    }
    if found != attachment_count {
        return Err(ParseError::AttachmentCountMismatch {
            announced: attachment_count,
            found,
        });
    }
    Ok(())
}

/// All attachments are here: put them in place (the reference's
/// `reconstructPacket`). A top-level placeholder becomes `Arg::Binary`; a
/// nested one keeps its JSON and gets its bytes as `"base64"`.
fn reconstruct_packet(reconstructor: BinaryReconstructor) -> Result<Packet, ParseError> {
    let mut buffers = reconstructor.received;
    let mut args = Vec::new();
    for item in reconstructor.args_with_placeholders {
        match read_placeholder(&item, buffers.len())? {
            Some(num) => {
                let bytes = take_buffer(&mut buffers, num)?;
                args.push(Arg::Binary(bytes));
            }
            None => {
                let mut item = item;
                keep_nested_bytes(&mut item, &mut buffers)?;
                args.push(Arg::Json(item));
            }
        }
    }
    Ok(Packet {
        packet_type: reconstructor.packet_type,
        nsp: reconstructor.nsp,
        id: reconstructor.id,
        data: PacketData::Args(args),
    })
}

/// Move attachment `num` out of `buffers` (each is used once, so no copy).
fn take_buffer(buffers: &mut [Vec<u8>], num: usize) -> Result<Vec<u8>, ParseError> {
    match buffers.get_mut(num) {
        Some(bytes) => Ok(std::mem::take(bytes)),
        None => Err(ParseError::InvalidPlaceholder),
    }
}

/// Inside one argument, give every nested placeholder its bytes:
/// `{"_placeholder":true,"num":0}` → `{"_placeholder":true,"num":0,"base64":"AQID"}`.
/// Walks with an explicit stack, no recursion.
fn keep_nested_bytes(value: &mut Value, buffers: &mut [Vec<u8>]) -> Result<(), ParseError> {
    let mut to_visit: Vec<&mut Value> = vec![value];
    while let Some(current) = to_visit.pop() {
        if let Some(num) = read_placeholder(current, buffers.len())? {
            let bytes = take_buffer(buffers, num)?;
            if let Value::Object(map) = current {
                map.insert(NESTED_BYTES_KEY.to_string(), Value::String(base64::encode(&bytes)));
            }
            continue;
        }
        match current {
            Value::Array(children) => {
                for child in children.iter_mut() {
                    to_visit.push(child);
                }
            }
            Value::Object(map) => {
                for field in map.values_mut() {
                    to_visit.push(field);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// The tests write Engine.IO frames as they appear on the wire (`42[...]`);
    /// this drops the Engine.IO `message` type `4`, leaving what this module sees.
    fn eio(frame: &str) -> &str {
        frame
            .strip_prefix('4')
            .expect("an Engine.IO message frame starts with 4")
    }

    fn text(content: &str) -> Message {
        Message::Text(content.to_string())
    }

    pub(crate) fn packet(packet_type: PacketType, nsp: &str, id: Option<u64>, data: PacketData) -> Packet {
        Packet {
            packet_type,
            nsp: nsp.to_string(),
            id,
            data,
        }
    }

    pub(crate) fn args(values: Vec<Arg>) -> PacketData {
        PacketData::Args(values)
    }

    pub(crate) fn j(value: Value) -> Arg {
        Arg::Json(value)
    }

    /// Decode one text message with a fresh decoder; it must be complete.
    fn decode_ok(content: &str) -> Packet {
        match Decoder::new().add(text(content)) {
            Ok(Some(packet)) => packet,
            other => panic!("{content:?} gave {other:?}"),
        }
    }

    fn decode_err(content: &str) -> ParseError {
        match Decoder::new().add(text(content)) {
            Err(error) => error,
            other => panic!("{content:?} should fail, gave {other:?}"),
        }
    }

    /// `content` decodes to `expected`, and `expected` encodes to `content`.
    fn assert_both_ways(content: &str, expected: Packet) {
        assert_eq!(decode_ok(content), expected, "decoding {content:?}");
        assert_eq!(encode(&expected), vec![text(content)], "encoding {expected:?}");
    }

    // --- each packet type, both ways -----------------------------------

    #[test]
    fn connect_main_namespace() {
        let connect = packet(PacketType::Connect, "/", None, PacketData::None);
        assert_both_ways("0", connect.clone());
        assert_both_ways(eio("40"), connect);
    }

    #[test]
    fn connect_with_auth() {
        assert_both_ways(
            eio(r#"40{"token":"abc"}"#),
            packet(
                PacketType::Connect,
                "/",
                None,
                PacketData::Object(json!({"token": "abc"})),
            ),
        );
    }

    #[test]
    fn connect_answer_on_admin() {
        assert_both_ways(
            eio(r#"40/admin,{"sid":"x"}"#),
            packet(
                PacketType::Connect,
                "/admin",
                None,
                PacketData::Object(json!({"sid": "x"})),
            ),
        );
    }

    #[test]
    fn connect_namespace_without_comma() {
        // `40/custom` is valid: the namespace runs to the end of the text.
        let decoded = decode_ok(eio("40/custom"));
        assert_eq!(decoded, packet(PacketType::Connect, "/custom", None, PacketData::None));
        // The encoder always writes the comma.
        assert_eq!(encode(&decoded), vec![text("0/custom,")]);
    }

    #[test]
    fn namespace_with_non_ascii_characters() {
        assert_both_ways(
            r#"2/ünï,["x"]"#,
            packet(PacketType::Event, "/ünï", None, args(vec![j(json!("x"))])),
        );
        assert_eq!(decode_ok("0/ü").nsp, "/ü");
    }

    #[test]
    fn disconnect() {
        assert_both_ways("1", packet(PacketType::Disconnect, "/", None, PacketData::None));
        assert_both_ways(
            eio("41/admin,"),
            packet(PacketType::Disconnect, "/admin", None, PacketData::None),
        );
    }

    #[test]
    fn event() {
        assert_both_ways(
            eio(r#"42["news","Hello Socket.IO"]"#),
            packet(
                PacketType::Event,
                "/",
                None,
                args(vec![j(json!("news")), j(json!("Hello Socket.IO"))]),
            ),
        );
    }

    #[test]
    fn event_with_ack_id_on_admin() {
        assert_both_ways(
            eio(r#"42/admin,13["x"]"#),
            packet(PacketType::Event, "/admin", Some(13), args(vec![j(json!("x"))])),
        );
    }

    #[test]
    fn event_name_may_be_a_number() {
        assert_both_ways(
            r#"2[42,"x"]"#,
            packet(PacketType::Event, "/", None, args(vec![j(json!(42)), j(json!("x"))])),
        );
    }

    #[test]
    fn ack() {
        assert_both_ways(
            eio(r#"43/admin,13["y"]"#),
            packet(PacketType::Ack, "/admin", Some(13), args(vec![j(json!("y"))])),
        );
        // An ACK payload may be empty.
        assert_both_ways("312[]", packet(PacketType::Ack, "/", Some(12), args(vec![])));
    }

    #[test]
    fn connect_error() {
        assert_both_ways(
            eio(r#"44{"message":"Invalid namespace"}"#),
            packet(
                PacketType::ConnectError,
                "/",
                None,
                PacketData::Object(json!({"message": "Invalid namespace"})),
            ),
        );
        assert_both_ways(
            eio(r#"44/nsp,{"message":"Invalid namespace"}"#),
            packet(
                PacketType::ConnectError,
                "/nsp",
                None,
                PacketData::Object(json!({"message": "Invalid namespace"})),
            ),
        );
        // A plain string is allowed too.
        assert_both_ways(
            r#"4"Not authorized""#,
            packet(
                PacketType::ConnectError,
                "/",
                None,
                PacketData::Object(json!("Not authorized")),
            ),
        );
    }

    // --- binary -----------------------------------------------------------

    #[test]
    fn binary_event() {
        let file = packet(
            PacketType::Event,
            "/",
            None,
            args(vec![j(json!("file")), Arg::Binary(vec![1, 2, 3])]),
        );
        let wire_text = eio(r#"451-["file",{"_placeholder":true,"num":0}]"#);
        assert_eq!(encode(&file), vec![text(wire_text), Message::Binary(vec![1, 2, 3])]);

        let mut decoder = Decoder::new();
        assert_eq!(decoder.add(text(wire_text)), Ok(None));
        assert_eq!(decoder.add(Message::Binary(vec![1, 2, 3])), Ok(Some(file)));
        // The decoder is free again.
        assert!(decoder.add(text(r#"2["next"]"#)).is_ok());
    }

    #[test]
    fn binary_ack_on_admin() {
        let answer = packet(
            PacketType::Ack,
            "/admin",
            Some(12),
            args(vec![j(json!("ok")), Arg::Binary(vec![0xff, 0x00])]),
        );
        let wire_text = eio(r#"461-/admin,12["ok",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            encode(&answer),
            vec![text(wire_text), Message::Binary(vec![0xff, 0x00])]
        );

        let mut decoder = Decoder::new();
        assert_eq!(decoder.add(text(wire_text)), Ok(None));
        assert_eq!(decoder.add(Message::Binary(vec![0xff, 0x00])), Ok(Some(answer)));
    }

    #[test]
    fn two_attachments() {
        let baz = packet(
            PacketType::Event,
            "/admin",
            None,
            args(vec![j(json!("baz")), Arg::Binary(vec![1, 2]), Arg::Binary(vec![3, 4])]),
        );
        let wire_text = r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(
            encode(&baz),
            vec![
                text(wire_text),
                Message::Binary(vec![1, 2]),
                Message::Binary(vec![3, 4])
            ]
        );
        let mut decoder = Decoder::new();
        assert_eq!(decoder.add(text(wire_text)), Ok(None));
        assert_eq!(decoder.add(Message::Binary(vec![1, 2])), Ok(None));
        assert_eq!(decoder.add(Message::Binary(vec![3, 4])), Ok(Some(baz)));
    }

    #[test]
    fn attachments_follow_num_not_arrival_position() {
        // Placeholders may appear in any order; num says which attachment.
        let mut decoder = Decoder::new();
        let wire_text = r#"52-["x",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
        assert_eq!(decoder.add(text(wire_text)), Ok(None));
        assert_eq!(decoder.add(Message::Binary(vec![0])), Ok(None));
        assert_eq!(
            decoder.add(Message::Binary(vec![1])),
            Ok(Some(packet(
                PacketType::Event,
                "/",
                None,
                args(vec![j(json!("x")), Arg::Binary(vec![1]), Arg::Binary(vec![0])]),
            )))
        );
    }

    #[test]
    fn binary_type_is_chosen_by_the_args() {
        // Declared BinaryEvent but no bytes: written as a plain EVENT.
        let plain = packet(PacketType::BinaryEvent, "/", None, args(vec![j(json!("x"))]));
        assert_eq!(encode(&plain), vec![text(r#"2["x"]"#)]);
        let plain_ack = packet(PacketType::BinaryAck, "/", Some(1), args(vec![]));
        assert_eq!(encode(&plain_ack), vec![text("31[]")]);
    }

    #[test]
    fn nested_placeholder_keeps_its_json_and_gets_base64_bytes() {
        let wire_text = r#"51-["upload",{"name":"a.txt","file":{"_placeholder":true,"num":0}}]"#;
        let mut decoder = Decoder::new();
        assert_eq!(decoder.add(text(wire_text)), Ok(None));
        let decoded = decoder.add(Message::Binary(vec![1, 2, 3]));
        let expected = packet(
            PacketType::Event,
            "/",
            None,
            args(vec![
                j(json!("upload")),
                j(json!({"name": "a.txt", "file": {"_placeholder": true, "num": 0, "base64": "AQID"}})),
            ]),
        );
        assert_eq!(decoded, Ok(Some(expected)));
        // Key order is kept, "base64" comes last (Value's == ignores order, so compare text).
        let Ok(Some(Packet {
            data: PacketData::Args(decoded_args),
            ..
        })) = decoded
        else {
            panic!("expected args");
        };
        let Some(Arg::Json(value)) = decoded_args.get(1) else {
            panic!("expected a JSON second argument");
        };
        assert_eq!(
            value.to_string(),
            r#"{"name":"a.txt","file":{"_placeholder":true,"num":0,"base64":"AQID"}}"#
        );
    }

    #[test]
    fn base64_known_answers() {
        assert_eq!(base64::encode(b""), "");
        assert_eq!(base64::encode(b"f"), "Zg==");
        assert_eq!(base64::encode(b"fo"), "Zm8=");
        assert_eq!(base64::encode(b"foo"), "Zm9v");
        assert_eq!(base64::encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64::encode(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn placeholder_in_a_plain_event_is_just_json() {
        // Only BINARY_* packets are reconstructed, as in the reference.
        let decoded = decode_ok(r#"2["x",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            decoded.data,
            args(vec![j(json!("x")), j(json!({"_placeholder": true, "num": 0}))])
        );
    }

    // --- round trips --------------------------------------------------------

    #[test]
    fn round_trips_packet_to_wire_to_packet() {
        let packets = vec![
            packet(PacketType::Connect, "/", None, PacketData::None),
            packet(
                PacketType::Connect,
                "/admin",
                None,
                PacketData::Object(json!({"sid": "abc"})),
            ),
            packet(PacketType::Disconnect, "/chat", None, PacketData::None),
            packet(
                PacketType::Event,
                "/",
                Some(0),
                args(vec![j(json!("hello")), j(json!({"b": 1, "a": [true, null, 1.5]}))]),
            ),
            packet(
                PacketType::Ack,
                "/x",
                Some(MAX_ACK_ID),
                args(vec![j(json!("é\u{1F600}\"\\\n"))]),
            ),
            packet(
                PacketType::ConnectError,
                "/",
                None,
                PacketData::Object(json!({"message": "no"})),
            ),
            packet(
                PacketType::Event,
                "/bin",
                Some(7),
                args(vec![
                    j(json!("up")),
                    Arg::Binary(vec![]),
                    j(json!(1)),
                    Arg::Binary(vec![9; 1000]),
                ]),
            ),
            packet(PacketType::Ack, "/", Some(3), args(vec![Arg::Binary(vec![1])])),
        ];
        for original in packets {
            let mut decoder = Decoder::new();
            let mut result = None;
            for message in encode(&original) {
                result = decoder.add(message).expect("decodes");
            }
            assert_eq!(result, Some(original));
        }
    }

    #[test]
    fn round_trips_wire_to_packet_to_wire() {
        let texts = [
            "0",
            r#"0{"token":"abc"}"#,
            "1/admin,",
            r#"2["a",{"z":1,"y":[{"b":2,"a":1}]}]"#,
            r#"2/admin,9007199254740991["x",null,false,-1.5e-7]"#,
            "3[]",
            r#"4/nsp,{"message":"Invalid namespace","data":{"x":1}}"#,
        ];
        for content in texts {
            assert_eq!(encode(&decode_ok(content)), vec![text(content)], "{content}");
        }
    }

    #[test]
    fn key_order_is_preserved() {
        assert_both_ways(
            r#"2["x",{"b":1,"a":2}]"#,
            packet(
                PacketType::Event,
                "/",
                None,
                args(vec![j(json!("x")), j(json!({"b": 1, "a": 2}))]),
            ),
        );
        assert_eq!(encode(&decode_ok(r#"0{"b":1,"a":2}"#)), vec![text(r#"0{"b":1,"a":2}"#)]);
    }

    // --- malformed input ----------------------------------------------------

    #[test]
    fn packet_type_errors() {
        assert_eq!(decode_err(""), ParseError::EmptyPacket);
        assert_eq!(decode_err("7"), ParseError::InvalidPacketType);
        assert_eq!(decode_err("9[\"x\"]"), ParseError::InvalidPacketType);
        assert_eq!(decode_err("x"), ParseError::InvalidPacketType);
        assert_eq!(decode_err(" 0"), ParseError::InvalidPacketType);
        assert_eq!(decode_err("é"), ParseError::InvalidPacketType);
    }

    #[test]
    fn attachment_count_errors() {
        let errors = [
            (
                r#"5["a",{"_placeholder":true,"num":0}]"#,
                ParseError::IllegalAttachments,
            ),
            (
                r#"5-["a",{"_placeholder":true,"num":0}]"#,
                ParseError::IllegalAttachments,
            ),
            (r#"5x-["a"]"#, ParseError::IllegalAttachments),
            (r#"51["a"]"#, ParseError::IllegalAttachments),
            (r#"51e0-["a"]"#, ParseError::IllegalAttachments),
            (r#"5 1-["a"]"#, ParseError::IllegalAttachments),
            (r#"50-["a"]"#, ParseError::IllegalAttachments),
            ("5", ParseError::IllegalAttachments),
            ("6", ParseError::IllegalAttachments),
            (r#"511-["a"]"#, ParseError::TooManyAttachments),
            (r#"6999999999999999999999999999-["a"]"#, ParseError::TooManyAttachments),
        ];
        for (content, expected) in errors {
            assert_eq!(decode_err(content), expected, "{content}");
        }
    }

    #[test]
    fn ten_attachments_are_allowed() {
        let mut content = String::from(r#"510-["x""#);
        for num in 0..10 {
            content.push_str(&format!(r#",{{"_placeholder":true,"num":{num}}}"#));
        }
        content.push(']');
        let mut decoder = Decoder::new();
        assert_eq!(decoder.add(text(&content)), Ok(None));
        for num in 0..9u8 {
            assert_eq!(decoder.add(Message::Binary(vec![num])), Ok(None));
        }
        let last = decoder.add(Message::Binary(vec![9])).expect("valid").expect("complete");
        if let PacketData::Args(decoded_args) = last.data {
            assert_eq!(decoded_args.len(), 11);
            assert_eq!(decoded_args.get(10), Some(&Arg::Binary(vec![9])));
        } else {
            panic!("expected args");
        }
    }

    #[test]
    fn ack_id_errors() {
        assert_eq!(decode_err(r#"29007199254740992["x"]"#), ParseError::InvalidAckId);
        assert_eq!(
            decode_err(r#"2/admin,99999999999999999999999999["x"]"#),
            ParseError::InvalidAckId
        );
        assert_eq!(decode_ok(r#"29007199254740991["x"]"#).id, Some(MAX_ACK_ID));
    }

    #[test]
    fn payload_errors() {
        let errors = [
            // not JSON
            (r#"2["x""#, "json"),
            ("2[\"x\"]garbage", "json"),
            ("2 ", "json"),
            ("0{", "json"),
            // CONNECT: object only
            ("0[]", "payload"),
            (r#"0"x""#, "payload"),
            ("0null", "payload"),
            // DISCONNECT: nothing
            ("1{}", "payload"),
            ("1/admin,{}", "payload"),
            // CONNECT_ERROR: object or string, required
            ("4", "payload"),
            ("4[]", "payload"),
            ("41", "payload"),
            // EVENT: non-empty array, name a string or a number
            ("2", "payload"),
            ("2/admin,", "payload"),
            ("2[]", "payload"),
            ("2{}", "payload"),
            (r#"2"x""#, "payload"),
            ("2[{}]", "payload"),
            ("2[null]", "payload"),
            ("2[[\"x\"]]", "payload"),
            // ACK: array, required
            ("3", "payload"),
            ("3{}", "payload"),
            ("31", "payload"),
            // binary ones too
            (r#"51-{"_placeholder":true,"num":0}"#, "payload"),
            (r#"51-[{"_placeholder":true,"num":0}]"#, "payload"),
            (r#"61-{}"#, "payload"),
        ];
        for (content, kind) in errors {
            let error = decode_err(content);
            match (kind, &error) {
                ("json", ParseError::InvalidJson(_)) => {}
                ("payload", ParseError::InvalidPayload(_)) => {}
                _ => panic!("{content:?} gave {error:?}, expected {kind}"),
            }
        }
    }

    #[test]
    fn reserved_event_names() {
        for name in RESERVED_EVENTS {
            assert_eq!(
                decode_err(&format!(r#"2["{name}"]"#)),
                ParseError::ReservedEventName(name.to_string())
            );
            assert_eq!(
                decode_err(&format!(r#"51-["{name}",{{"_placeholder":true,"num":0}}]"#)),
                ParseError::ReservedEventName(name.to_string())
            );
        }
        // An ACK may carry those strings: they are not event names there.
        assert!(decode_ok(r#"31["connect"]"#).id.is_some());
    }

    #[test]
    fn placeholder_errors() {
        let errors = [
            (
                r#"51-["a",{"_placeholder":true,"num":1}]"#,
                ParseError::InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":-1}]"#,
                ParseError::InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
                ParseError::InvalidPlaceholder,
            ),
            (
                r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
                ParseError::InvalidPlaceholder,
            ),
            (r#"51-["a",{"_placeholder":true}]"#, ParseError::InvalidPlaceholder),
            (
                r#"51-["a",{"x":[{"_placeholder":true,"num":5}]}]"#,
                ParseError::InvalidPlaceholder,
            ),
            (
                r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
                ParseError::DuplicatePlaceholder,
            ),
            (
                r#"52-["a",{"_placeholder":true,"num":0}]"#,
                ParseError::AttachmentCountMismatch { announced: 2, found: 1 },
            ),
            (
                r#"51-["a"]"#,
                ParseError::AttachmentCountMismatch { announced: 1, found: 0 },
            ),
            (
                r#"51-["a",{"_placeholder":false,"num":0}]"#,
                ParseError::AttachmentCountMismatch { announced: 1, found: 0 },
            ),
        ];
        for (content, expected) in errors {
            assert_eq!(decode_err(content), expected, "{content}");
        }
    }

    #[test]
    fn text_while_waiting_for_attachments() {
        let mut decoder = Decoder::new();
        assert_eq!(
            decoder.add(text(r#"51-["file",{"_placeholder":true,"num":0}]"#)),
            Ok(None)
        );
        assert_eq!(decoder.add(text(r#"2["x"]"#)), Err(ParseError::UnexpectedText));
        // Still waiting, as in the reference.
        assert_eq!(decoder.add(text(r#"2["x"]"#)), Err(ParseError::UnexpectedText));
        decoder.destroy();
        assert_eq!(
            decoder.add(text(r#"2["x"]"#)),
            Ok(Some(packet(PacketType::Event, "/", None, args(vec![j(json!("x"))]))))
        );
        // And the attachment of the forgotten packet is now unexpected.
        assert_eq!(decoder.add(Message::Binary(vec![1])), Err(ParseError::UnexpectedBinary));
    }

    #[test]
    fn binary_when_nothing_waits() {
        let mut decoder = Decoder::new();
        assert_eq!(
            decoder.add(Message::Binary(vec![1, 2])),
            Err(ParseError::UnexpectedBinary)
        );
        // One attachment too many.
        assert_eq!(decoder.add(text(r#"51-["f",{"_placeholder":true,"num":0}]"#)), Ok(None));
        assert!(matches!(decoder.add(Message::Binary(vec![1])), Ok(Some(_))));
        assert_eq!(decoder.add(Message::Binary(vec![2])), Err(ParseError::UnexpectedBinary));
    }

    #[test]
    fn very_deep_json_is_an_error_not_a_stack_overflow() {
        let deep_open = format!("2{}", "[".repeat(100_000));
        assert!(matches!(decode_err(&deep_open), ParseError::InvalidJson(_)));

        let deep_closed = format!("2[\"x\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(decode_err(&deep_closed), ParseError::InvalidJson(_)));

        let deep_object = format!("0{}", r#"{"a":"#.repeat(100_000));
        assert!(matches!(decode_err(&deep_object), ParseError::InvalidJson(_)));

        let deep_binary = format!("51-[\"x\",{}", "[".repeat(100_000));
        assert!(matches!(decode_err(&deep_binary), ParseError::InvalidJson(_)));

        // 100 levels are fine (serde_json's limit is 128).
        let fine = format!("2[\"x\",{}{}]", "[".repeat(100), "]".repeat(100));
        assert!(decode_ok(&fine).id.is_none());
    }

    #[test]
    fn error_messages_say_what_was_wrong() {
        assert_eq!(
            ParseError::InvalidPacketType.to_string(),
            "invalid packet type: the first character must be a digit 0 to 6"
        );
        assert!(
            ParseError::TooManyAttachments
                .to_string()
                .starts_with("too many attachments")
        );
        assert!(
            ParseError::IllegalAttachments
                .to_string()
                .starts_with("illegal attachments")
        );
        assert!(
            ParseError::InvalidPayload("x")
                .to_string()
                .starts_with("invalid payload")
        );
        assert!(
            ParseError::InvalidNamespace
                .to_string()
                .starts_with("invalid namespace")
        );
        assert_eq!(
            ParseError::UnexpectedText.to_string(),
            "got plaintext data when reconstructing a packet"
        );
        assert_eq!(
            ParseError::UnexpectedBinary.to_string(),
            "got binary data when not reconstructing a packet"
        );
        let json_error = decode_err("2[");
        assert!(json_error.to_string().starts_with("invalid payload: not valid JSON ("));
    }

    // --- validate_packet ----------------------------------------------------

    #[test]
    fn validate_packet_checks() {
        let ok = packet(PacketType::Event, "/admin", Some(1), args(vec![j(json!("x"))]));
        assert_eq!(validate_packet(&ok), Ok(()));

        let comma = packet(PacketType::Event, "/a,b", None, args(vec![j(json!("x"))]));
        assert_eq!(validate_packet(&comma), Err(ParseError::InvalidNamespace));
        let no_slash = packet(PacketType::Connect, "admin", None, PacketData::None);
        assert_eq!(validate_packet(&no_slash), Err(ParseError::InvalidNamespace));

        let big_id = packet(PacketType::Ack, "/", Some(MAX_ACK_ID + 1), args(vec![]));
        assert_eq!(validate_packet(&big_id), Err(ParseError::InvalidAckId));

        let reserved = packet(PacketType::Event, "/", None, args(vec![j(json!("disconnect"))]));
        assert_eq!(
            validate_packet(&reserved),
            Err(ParseError::ReservedEventName("disconnect".to_string()))
        );
        let empty_event = packet(PacketType::Event, "/", None, args(vec![]));
        assert!(matches!(
            validate_packet(&empty_event),
            Err(ParseError::InvalidPayload(_))
        ));
        let bytes_as_name = packet(PacketType::Event, "/", None, args(vec![Arg::Binary(vec![])]));
        assert!(matches!(
            validate_packet(&bytes_as_name),
            Err(ParseError::InvalidPayload(_))
        ));
        let connect_array = packet(PacketType::Connect, "/", None, PacketData::Object(json!([])));
        assert!(matches!(
            validate_packet(&connect_array),
            Err(ParseError::InvalidPayload(_))
        ));
        let disconnect_data = packet(PacketType::Disconnect, "/", None, PacketData::Object(json!({})));
        assert!(matches!(
            validate_packet(&disconnect_data),
            Err(ParseError::InvalidPayload(_))
        ));

        let mut eleven = vec![j(json!("many"))];
        for _ in 0..11 {
            eleven.push(Arg::Binary(vec![0]));
        }
        let too_many = packet(PacketType::Event, "/", None, args(eleven));
        assert_eq!(validate_packet(&too_many), Err(ParseError::TooManyAttachments));

        let lookalike = packet(
            PacketType::Event,
            "/",
            None,
            args(vec![
                j(json!("x")),
                j(json!({"f": {"_placeholder": true, "num": 0}})),
                Arg::Binary(vec![1]),
            ]),
        );
        assert!(matches!(
            validate_packet(&lookalike),
            Err(ParseError::InvalidPayload(_))
        ));
        // Nested bytes as the decoder keeps them (with "base64") are real attachments again.
        let nested = packet(
            PacketType::Event,
            "/",
            None,
            args(vec![
                j(json!("x")),
                j(json!({"f": {"_placeholder": true, "num": 0, "base64": "AQ=="}})),
                Arg::Binary(vec![2]),
            ]),
        );
        assert_eq!(validate_packet(&nested), Ok(()));
        assert_eq!(
            encode(&nested),
            vec![
                text(eio(
                    r#"452-["x",{"f":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]"#
                )),
                Message::Binary(vec![1]),
                Message::Binary(vec![2]),
            ]
        );
        // Without binary args the same JSON is harmless: a plain EVENT is not reconstructed.
        let harmless = packet(
            PacketType::Event,
            "/",
            None,
            args(vec![j(json!("x")), j(json!({"f": {"_placeholder": true, "num": 0}}))]),
        );
        assert_eq!(validate_packet(&harmless), Ok(()));
    }
}
