//! The Socket.IO decoder fed a sequence of Engine.IO messages, as a polling client sends them:
//! the input is a polling payload, `\x1e`-joined, text messages as `4...` and binary
//! attachments as `b` + base64:
//!
//! ```text
//! 451-["file",{"_placeholder":true,"num":0}]\x1ebAQID\x1e42["news","Hello Socket.IO"]
//! ```
//!
//! Checks, for every packet that decodes:
//! - `validate_packet` accepts it (what we receive, we could send);
//! - it re-encodes to messages that decode to the same packet, or, when its JSON holds
//!   placeholder-shaped objects (nested bytes: the encoder numbers their attachments afresh),
//!   to messages that re-encode to the very same wire messages.
//!
//! Like the server, it stops at the first error (the session closes with "parse error").
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_book::engineio::Message;
use socketio_book::engineio::packet::{Packet as EnginePacket, decode_payload};
use socketio_book::socketio::packet::{Arg, Decoder, Packet, PacketData, encode, validate_packet};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let (engine_packets, _error) = decode_payload(body);
    let mut decoder = Decoder::new();
    for engine_packet in engine_packets {
        let EnginePacket::Message(message) = engine_packet else {
            continue;
        };
        match decoder.add(message) {
            Ok(Some(packet)) => check_round_trip(&packet),
            Ok(None) => {}
            Err(_) => return,
        }
    }
});

/// `packet` was decoded: check it as the module's doc says.
fn check_round_trip(packet: &Packet) {
    assert_eq!(validate_packet(packet), Ok(()), "decoded {packet:?}");
    let wire = encode(packet);
    let again = decode_all(&wire);
    if holds_placeholder_shaped_json(packet) {
        assert_eq!(encode(&again), wire, "decoded {packet:?}, then {again:?}");
    } else {
        assert_eq!(&again, packet, "re-encoded as {wire:?}");
    }
}

/// Decodes the messages of one encoded packet with a fresh decoder: all but the last must
/// leave it waiting, the last must complete the packet.
fn decode_all(wire: &[Message]) -> Packet {
    let mut decoder = Decoder::new();
    let (last, first) = wire.split_last().expect("encode gives at least one message");
    for message in first {
        assert_eq!(decoder.add(message.clone()), Ok(None), "in {wire:?}");
    }
    match decoder.add(last.clone()) {
        Ok(Some(packet)) => packet,
        other => panic!("{wire:?} decoded to {other:?}"),
    }
}

/// Does a JSON argument hold an object with `"_placeholder":true` at any depth?
fn holds_placeholder_shaped_json(packet: &Packet) -> bool {
    let PacketData::Args(args) = &packet.data else {
        return false;
    };
    let mut to_visit: Vec<&Value> = Vec::new();
    for arg in args {
        if let Arg::Json(value) = arg {
            to_visit.push(value);
        }
    }
    while let Some(value) = to_visit.pop() {
        match value {
            Value::Object(map) => {
                if map.get("_placeholder") == Some(&Value::Bool(true)) {
                    return true;
                }
                to_visit.extend(map.values());
            }
            Value::Array(items) => to_visit.extend(items),
            _ => {}
        }
    }
    false
}
