//! The msgpack decoder of the Redis adapters (`msgpack`, notepack.io's format): any
//! bytes, as a message arrives from Redis, to `decode`, then to the JSON and the Socket.IO
//! argument a handler gets (`to_json`, `to_arg`):
//!
//! ```text
//! 93 a6 4f51634159 6d 83 a4 74797065 02 ...     [uid, {type: 2, ...}, {rooms: [...], ...}]
//! c4 03 01 02 03                                 Buffer <01 02 03>
//! d6 ff 65 53 f1 00                              a Date (timestamp 32)
//! ```
//!
//! Checks, beyond "no panic, no hang":
//! - memory: decoding and converting never holds more than `memory_bound(input length)` on the
//!   heap (a counting global allocator measures the peak): a length or a count the bytes
//!   declare is never trusted before the bytes are there;
//! - a value that decodes re-encodes (`encode`) to bytes that decode to a value that encodes to
//!   the same bytes;
//! - its JSON, written back as msgpack (`from_json`, as the server would publish it), decodes to
//!   the same JavaScript value (`same_javascript_value`), and from then on round-trips exactly;
//! - the same for a Socket.IO argument (`to_arg`, `from_arg`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmpv::Value as Msgpack;
use serde_json::Value as Json;
use socketio_book::msgpack::{decode, encode, from_arg, from_json, to_arg, to_json};
use socketio_book::socketio::packet::Arg;
use socketio_book_fuzz::{CountingAllocator, memory_bound, peak_heap_during, placeholder, same_javascript_value};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|data: &[u8]| {
    let (decoded, peak) = peak_heap_during(|| {
        let value = decode(data).ok()?;
        let json = to_json(value.clone());
        Some((value, json))
    });
    assert!(
        peak <= memory_bound(data.len()),
        "{} bytes held {peak} bytes on the heap, over {}",
        data.len(),
        memory_bound(data.len())
    );
    let Some((value, json)) = decoded else {
        return;
    };
    check_msgpack_round_trip(&value);
    if let Ok(json) = json {
        check_json_round_trip(&json);
        check_arg_round_trip(&value);
    }
});

/// `encode(value)` decodes to a value that encodes to the same bytes (values are compared as
/// bytes: a NaN float is not equal to itself).
fn check_msgpack_round_trip(value: &Msgpack) {
    let bytes = encode(value);
    let again = decode(&bytes).unwrap_or_else(|e| panic!("{value} encoded as {bytes:02x?}, which gives {e}"));
    assert_eq!(encode(&again), bytes, "{value} came back as {again}");
}

/// JSON → msgpack → JSON: the same JavaScript value, and a second round changes nothing.
fn check_json_round_trip(json: &Json) {
    let once = json_through_msgpack(json);
    assert!(same_javascript_value(json, &once), "{json} came back as {once}");
    let twice = json_through_msgpack(&once);
    assert_eq!(twice, once);
    assert_eq!(twice.to_string(), once.to_string());
}

/// What the server publishes for `json`, read back.
fn json_through_msgpack(json: &Json) -> Json {
    let bytes = encode(&from_json(json));
    let value = decode(&bytes).unwrap_or_else(|e| panic!("{json} encoded as {bytes:02x?}, which gives {e}"));
    to_json(value).unwrap_or_else(|e| panic!("{json} encoded as {bytes:02x?}: {e}"))
}

/// The argument a handler gets, sent on and read back: the same argument (JSON compared as
/// `check_json_round_trip` does).
fn check_arg_round_trip(value: &Msgpack) {
    let arg = to_arg(value.clone()).expect("to_json succeeded");
    let bytes = encode(&from_arg(&arg));
    let again = to_arg(decode(&bytes).expect("an argument decodes")).expect("and converts");
    let (sent, received) = (arg_as_json(&arg), arg_as_json(&again));
    assert!(
        same_javascript_value(&sent, &received),
        "{arg:?} came back as {again:?}"
    );
}

/// An argument as JSON, bytes as the placeholder (a JSON object that looks like one is sent as
/// bytes, and comes back as bytes).
fn arg_as_json(arg: &Arg) -> Json {
    match arg {
        Arg::Binary(bytes) => placeholder(bytes),
        Arg::Json(json) => json.clone(),
    }
}
