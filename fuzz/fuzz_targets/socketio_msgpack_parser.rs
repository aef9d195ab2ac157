//! The msgpack parser's decoder (`--parser msgpack`, `socketio/parser/msgpack.rs`) fed one
//! binary message, as a client with `socket.io-msgpack-parser` sends each packet:
//!
//! ```text
//! 83 a4 "type" 02 a4 "data" 92 a4 "news" af "Hello Socket.IO" a3 "nsp" a1 "/"
//! ```
//!
//! The seeds (`fuzz/seeds/socketio_msgpack_parser/`) are the vectors of
//! `tests/node/msgpack_parser_vectors.mjs`, written by socket.io-msgpack-parser 3.0.2 itself: the
//! reference server's packets (`server_*`), the official client's (`client_*`) and the bytes its
//! decoder refuses (`bad_*`).
//!
//! Checks, for every packet that decodes:
//! - the encoder writes it as one binary message, which decodes again;
//! - that second packet encodes to the very same bytes (one round reaches a fixed point);
//! - it is the packet first decoded, unless the first held what msgpack writes one way only:
//!   a whole number as a float (`cb 40 00 ..`, `2.0`, is written `02`) or a map shaped as
//!   nested bytes other than the decoder's own form of a nested `bin`
//!   (`{"_placeholder":true,"num":0,"base64":"AQID"}`), which is written as `bin`.
//!
//! A refusal is an `Err`, never a panic (the server then closes the connection).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use socketio_book::engineio::Message;
use socketio_book::engineio::base64::{decode, encode};
use socketio_book::socketio::MsgpackParser;
use socketio_book::socketio::packet::{Arg, Packet, PacketData};
use socketio_book::socketio::parser::Parser;

fuzz_target!(|data: &[u8]| {
    let parser = MsgpackParser;
    let Ok(Some(packet)) = parser.decoder().add(Message::Binary(data.to_vec())) else {
        return;
    };
    let wire = one_binary_message(&parser.encode(&packet));
    let again = match parser.decoder().add(Message::Binary(wire.clone())) {
        Ok(Some(again)) => again,
        other => panic!("decoded {packet:?}, encoded {wire:02x?}, which decoded to {other:?}"),
    };
    assert_eq!(
        one_binary_message(&parser.encode(&again)),
        wire,
        "decoded {packet:?}, then {again:?}"
    );
    if written_as_it_was(&packet) {
        assert_eq!(again, packet, "encoded as {wire:02x?}");
    }
});

/// The bytes of the one binary message a msgpack packet must be.
fn one_binary_message(messages: &[Message]) -> Vec<u8> {
    match messages {
        [Message::Binary(bytes)] => bytes.clone(),
        other => panic!("not one binary message: {other:?}"),
    }
}

/// Whether the packet's JSON holds nothing that msgpack writes in one form only (see the
/// module's doc): no whole number kept as a float, no object with a `_placeholder` key but the
/// decoder's form of nested bytes.
fn written_as_it_was(packet: &Packet) -> bool {
    match &packet.data {
        PacketData::None => true,
        PacketData::Object(value) => plain(value),
        PacketData::Args(args) => args.iter().all(|arg| match arg {
            Arg::Json(value) => plain(value),
            Arg::Binary(_) => true,
        }),
    }
}

fn plain(value: &Value) -> bool {
    match value {
        Value::Number(number) => !number.as_f64().is_some_and(|f| number.is_f64() && f.fract() == 0.0),
        Value::Array(items) => items.iter().all(plain),
        Value::Object(map) if map.contains_key("_placeholder") => is_nested_bytes(value),
        Value::Object(map) => map.values().all(plain),
        _ => true,
    }
}

/// `{"_placeholder":true,"num":0,"base64":"<canonical base64>"}`, keys in that order: what the
/// decoder makes of a nested `bin`.
fn is_nested_bytes(value: &Value) -> bool {
    let Some(map) = value.as_object() else {
        return false;
    };
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    let Some(Value::String(text)) = map.get("base64") else {
        return false;
    };
    keys == ["_placeholder", "num", "base64"]
        && map["_placeholder"] == Value::Bool(true)
        && map["num"] == Value::from(0)
        && decode(text).is_ok_and(|bytes| encode(&bytes) == *text)
}
