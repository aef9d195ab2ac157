//! Base64 (`engineio::base64`): binary packets over polling (`b` + base64) and session ids.
//!
//! Checks: any bytes encode to text of the right length that decodes back to them; any text
//! decodes without panicking, to at most 3 bytes per 4 characters, and what it decodes to
//! survives a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_book::engineio::base64::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let encoded = encode(data);
    assert_eq!(encoded.len(), data.len().div_ceil(3) * 4);
    assert_eq!(decode(&encoded).as_deref(), Ok(data));

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = decode(text) {
        assert!(bytes.len() <= text.len() * 3 / 4, "{text:?} gave {} bytes", bytes.len());
        assert_eq!(decode(&encode(&bytes)), Ok(bytes));
    }
});
