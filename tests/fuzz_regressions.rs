//! What the fuzz targets (`fuzz/`, see NOTES.md "Fuzzing") found, each input as the target saw
//! it, with the fix it led to. A new finding gets its test here (or in the test file of the code
//! it concerns) before it is fixed.

use serde_json::Value;
use socketio_book::engineio::Message;
use socketio_book::socketio::packet::{Arg, Decoder, Packet, PacketData, encode};

fn decode_one(text: &str) -> Packet {
    match Decoder::new().add(Message::Text(text.to_string())) {
        Ok(Some(packet)) => packet,
        other => panic!("{text:?} gave {other:?}"),
    }
}

/// Target `socketio_decoder`, input `42[111111111111111111111111111111111111111111111111142,"x"]`
/// (a polling payload: one EVENT). The 51-digit number decodes to the double nearest to it,
/// which serde_json writes, as JavaScript's `JSON.stringify` does, `1.111111111111111e+50`; but
/// serde_json's default number parser, fast and not exact, read that text back one ulp lower
/// (1.1111111111111109e+50), so the packet did not decode the same after a round trip. The same
/// happens to a client's `socket.emit("x", 1.111111111111111e+50)`: the handler got another
/// number than the one sent. Fix: serde_json's `float_roundtrip` feature (Cargo.toml), so that
/// numbers are parsed exactly, as `JSON.parse` does.
#[test]
fn a_number_is_parsed_to_the_nearest_double() {
    // What a JavaScript client writes for the double 1.111111111111111e+50.
    let sent = decode_one(r#"2[1.111111111111111e+50,"x"]"#);
    assert_eq!(first_number(&sent).to_bits(), 1.111111111111111e+50_f64.to_bits());

    // The fuzzer's input: decodes, re-encodes, and decodes the same.
    let packet = decode_one(r#"2[111111111111111111111111111111111111111111111111142,"x"]"#);
    assert_eq!(first_number(&packet).to_bits(), 1.111111111111111e+50_f64.to_bits());
    let wire = encode(&packet);
    assert_eq!(wire, vec![Message::Text(r#"2[1.111111111111111e+50,"x"]"#.to_string())]);
    assert_eq!(decode_one(r#"2[1.111111111111111e+50,"x"]"#), packet);
}

/// The first argument of an event, a JSON number, as a double.
fn first_number(packet: &Packet) -> f64 {
    let PacketData::Args(args) = &packet.data else {
        panic!("{packet:?}");
    };
    let Arg::Json(Value::Number(number)) = &args[0] else {
        panic!("{packet:?}");
    };
    number.as_f64().expect("a double")
}
