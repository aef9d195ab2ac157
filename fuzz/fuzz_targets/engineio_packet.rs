//! One Engine.IO packet as it arrives in a WebSocket text frame: `4hello`, `2probe`,
//! `bAQIDBA==` (binary as `b` + base64, as over polling).
//!
//! Checks: decoding never panics; a packet that decodes encodes to text that decodes to the
//! same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_book::engineio::packet::Packet;

fuzz_target!(|data: &[u8]| {
    // A WebSocket text frame is UTF-8 (tungstenite refuses it otherwise).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(packet) = Packet::decode_text(text) else {
        return;
    };
    let encoded = packet.encode_as_text();
    assert_eq!(
        Packet::decode_text(&encoded),
        Ok(packet),
        "{text:?} re-encoded as {encoded:?}"
    );
});
