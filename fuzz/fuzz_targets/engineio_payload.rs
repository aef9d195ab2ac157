//! A polling POST body: packets joined by `\x1e`, e.g. `4hello\x1ebAQIDBA==\x1e2`.
//!
//! Checks: decoding never panics; it keeps the packets before a bad one (as the reference); the
//! packets it kept, joined again, decode to the same packets and no error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_book::engineio::packet::{SEPARATOR, decode_payload, encode_payload};

fuzz_target!(|data: &[u8]| {
    // `payload::decode_post` reads a body as Node's `setEncoding("utf8")` does (what is not
    // UTF-8 becomes U+FFFD), so the decoder only ever sees UTF-8 text, as here.
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let (packets, error) = decode_payload(body);
    let parts = body.split(SEPARATOR).count();
    match error {
        None => assert_eq!(packets.len(), parts),
        Some(_) => assert!(packets.len() < parts),
    }
    if packets.is_empty() {
        return;
    }
    let encoded = encode_payload(&packets);
    assert_eq!(
        decode_payload(&encoded),
        (packets, None),
        "{body:?} re-encoded as {encoded:?}"
    );
});
