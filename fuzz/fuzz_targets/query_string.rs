//! Query strings and percent-decoding (`http::parse_query`): `EIO=4&transport=polling&t=a%2Bb`.
//!
//! Checks: any text parses without panicking, to at most one pair per `&`-separated part; text
//! with no `%` or `+` in it comes out as it went in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_book::http::parse_query;

fuzz_target!(|data: &[u8]| {
    // httparse only lets visible ASCII through in a request target, but the parser takes any
    // text: feed it any UTF-8.
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let pairs = parse_query(query);
    let non_empty_parts: Vec<&str> = query.split('&').filter(|part| !part.is_empty()).collect();
    assert_eq!(pairs.len(), non_empty_parts.len());
    for ((key, value), part) in pairs.iter().zip(&non_empty_parts) {
        if part.contains('%') || part.contains('+') {
            continue;
        }
        // No escapes: the key is the part up to the first `=`, the value the rest.
        let (raw_key, raw_value) = part.split_once('=').unwrap_or((part, ""));
        assert_eq!((key.as_str(), value.as_str()), (raw_key, raw_value));
    }
});
