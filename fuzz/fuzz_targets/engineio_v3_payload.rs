//! Engine.IO v3 (socket.io 2.x clients) as it arrives: the first byte says which decoder gets
//! the rest, as the server picks it.
//!
//! - `0`: a polling POST's text payload, `6:4hello2:4é` (`packet_v3::decode_payload`, after the
//!   server's `from_utf8_lossy`);
//! - `1`: a POST with `Content-Type: application/octet-stream`, the binary framing
//!   `00 06 ff 34 68 65 6c 6c 6f` (`decode_binary_payload`);
//! - `2`: a WebSocket text frame, `b4AQID` (`decode_packet`);
//! - `3`: a WebSocket binary frame, `04 01 02 03` (`decode_binary_packet`).
//!
//! Checks: decoding never panics; the packets kept before an error, encoded again (text, and
//! the binary framing), decode to the same packets with no error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_book::engineio::packet::Packet;
use socketio_book::engineio::packet_v3::{self, Payload};

/// `packets` through the encoder, both ways the server may write them, and back.
fn assert_round_trip(packets: &[Packet], what: &str) {
    if packets.is_empty() {
        return;
    }
    let Payload::Text(text) = packet_v3::encode_payload(packets, false) else {
        panic!("a client with b64 gets text");
    };
    assert_eq!(packet_v3::decode_payload(&text), (packets.to_vec(), None), "{what}: {text:?}");
    match packet_v3::encode_payload(packets, true) {
        Payload::Text(text) => {
            assert_eq!(packet_v3::decode_payload(&text), (packets.to_vec(), None), "{what}: {text:?}")
        }
        Payload::Binary(bytes) => assert_eq!(
            packet_v3::decode_binary_payload(&bytes),
            (packets.to_vec(), None),
            "{what}: {bytes:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            let body = String::from_utf8_lossy(rest);
            let (packets, _) = packet_v3::decode_payload(&body);
            assert_round_trip(&packets, "text payload");
        }
        1 => {
            let (packets, _) = packet_v3::decode_binary_payload(rest);
            assert_round_trip(&packets, "binary payload");
        }
        2 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(packet) = packet_v3::decode_packet(text) {
                assert_eq!(packet_v3::decode_packet(&packet_v3::encode_packet(&packet)), Ok(packet.clone()));
                assert_round_trip(&[packet], "text frame");
            }
        }
        _ => {
            if let Ok(packet) = packet_v3::decode_binary_packet(rest) {
                assert_round_trip(&[packet], "binary frame");
            }
        }
    }
});
