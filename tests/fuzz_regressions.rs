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
/// (a polling payload: one EVENT). serde_json's default number parser is fast but not exact: it
/// read the 51-digit integer as 1.1111111111111109e+50, one ulp away from the double nearest to
/// it (1.111111111111111e+50, which JavaScript's `JSON.parse` gives), so the event's argument
/// was not what the client sent, and it re-encoded to a different number. Fix: serde_json's
/// `float_roundtrip` feature (Cargo.toml).
#[test]
fn a_large_number_is_parsed_to_the_nearest_double() {
    let packet = decode_one(r#"2[111111111111111111111111111111111111111111111111142,"x"]"#);
    let PacketData::Args(args) = &packet.data else {
        panic!("{packet:?}");
    };
    let Arg::Json(Value::Number(number)) = &args[0] else {
        panic!("{packet:?}");
    };
    assert_eq!(
        number.as_f64(),
        Some(111111111111111111111111111111111111111111111111142.0)
    );
    assert_eq!(number.to_string(), "1.111111111111111e+50");
    // Whatever decodes re-encodes to something that decodes the same.
    let wire = encode(&packet);
    assert_eq!(wire, vec![Message::Text(r#"2[1.111111111111111e+50,"x"]"#.to_string())]);
    let Message::Text(text) = &wire[0] else { unreachable!() };
    assert_eq!(decode_one(text), packet);
}
