//! What several fuzz targets share: a global allocator that counts the bytes on the heap, so
//! that a target can check that decoding an input of N bytes never holds more than its bound;
//! JSON compared as JavaScript sees it; and the checks of the Redis adapters' message targets
//! (a bounded decode, a round trip compared on a JSON view of the message).
//!
//! ```text
//! #[global_allocator]
//! static ALLOCATOR: CountingAllocator = CountingAllocator;
//! ...
//! let (value, peak) = peak_heap_during(|| decode(data));   // peak: bytes, above what was live before
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system's allocator, counting the bytes allocated (a target makes it its
/// `#[global_allocator]`).
pub struct CountingAllocator;

/// Bytes allocated and not freed yet.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most `LIVE` has been since `peak_heap_during` started.
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn count_allocated(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

fn count_freed(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::SeqCst);
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            count_allocated(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            count_allocated(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        count_freed(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_pointer = unsafe { System.realloc(pointer, layout, new_size) };
        if !new_pointer.is_null() {
            // Counted as a move: the old and the new block both exist for a moment.
            count_allocated(new_size);
            count_freed(layout.size());
        }
        new_pointer
    }
}

/// Runs `work` and returns its result with the most bytes the heap held meanwhile, above what
/// it held when `work` started (one run at a time: the counters are the process's).
pub fn peak_heap_during<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let result = work();
    let peak = PEAK.load(Ordering::SeqCst) - before;
    (result, peak)
}

// ----- JSON compared as JavaScript sees it --------------------------------------------------------

use serde_json::{Number, Value as Json};
use socketio_book::engineio::base64;

/// Whether two JSON values are the same JavaScript value, as the Redis adapters' codecs keep
/// them: numbers by their value (`1.0` is `1`: msgpack writes a whole float as an integer),
/// objects with the same keys and values in any order (msgpack writes them in JavaScript's
/// `Object.keys` order, array indices first), and a nested-bytes placeholder
/// (`{"_placeholder":true,"num":0,"base64":"AQID"}`, any other keys and any `num`) the same as
/// another one that holds the same bytes.
pub fn same_javascript_value(a: &Json, b: &Json) -> bool {
    if let (Some(a_bytes), Some(b_bytes)) = (placeholder_bytes(a), placeholder_bytes(b)) {
        return a_bytes == b_bytes;
    }
    match (a, b) {
        (Json::Number(a), Json::Number(b)) => same_number(a, b),
        (Json::Array(a), Json::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_javascript_value(a, b))
        }
        (Json::Object(a), Json::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| same_javascript_value(a, b)))
        }
        _ => a == b,
    }
}

/// The bytes a placeholder holds, as the codecs read one (`_placeholder` true, `base64` text
/// that decodes).
pub fn placeholder_bytes(value: &Json) -> Option<Vec<u8>> {
    let map = value.as_object()?;
    if map.get("_placeholder") != Some(&Json::Bool(true)) {
        return None;
    }
    base64::decode(map.get("base64")?.as_str()?).ok()
}

/// The placeholder of `bytes`, as the codecs write one.
pub fn placeholder(bytes: &[u8]) -> Json {
    serde_json::json!({"_placeholder": true, "num": 0, "base64": base64::encode(bytes)})
}

/// Two numbers with the same value: integers exactly, a whole float equal to an integer.
fn same_number(a: &Number, b: &Number) -> bool {
    match (exact_integer(a), exact_integer(b)) {
        (Some(a), Some(b)) => a == b,
        (None, None) => a.as_f64() == b.as_f64(),
        _ => false,
    }
}

/// The number as an exact integer, if it is one (a float with no fraction below 2^64 too).
fn exact_integer(number: &Number) -> Option<i128> {
    if let Some(unsigned) = number.as_u64() {
        return Some(i128::from(unsigned));
    }
    if let Some(signed) = number.as_i64() {
        return Some(i128::from(signed));
    }
    let float = number.as_f64()?;
    if float.fract() == 0.0 && float.abs() < 18_446_744_073_709_551_616.0 {
        return Some(float as i128);
    }
    None
}

// ----- the Redis adapters' messages ---------------------------------------------------------------

/// The most heap decoding a Redis message of `length` bytes may take (msgpack or JSON, then the
/// message's fields): each value costs at least one byte of input and about 130 bytes decoded
/// (rmpv's `Value`, then JSON); an empty `bin` (2 bytes) becomes a placeholder object of three
/// entries, about 510 bytes. rmpv may reserve up to 64 KiB for a `bin` or `str` it reads.
pub fn memory_bound(length: usize) -> usize {
    300 * length + 64 * 1024
}

/// `decode(payload)`, checking that it never held more than [`memory_bound`] on the heap.
pub fn check_bounded_decode<T, E>(payload: &[u8], decode: impl FnOnce(&[u8]) -> Result<T, E>) -> Option<T> {
    let (decoded, peak) = peak_heap_during(|| decode(payload).ok());
    assert!(
        peak <= memory_bound(payload.len()),
        "{} bytes held {peak} bytes on the heap, over {}",
        payload.len(),
        memory_bound(payload.len())
    );
    decoded
}

/// `message`, encoded, decodes to the same message (compared on their `view`s with
/// [`same_javascript_value`]), which encodes to the same bytes.
pub fn check_round_trip<T, E: std::fmt::Debug>(
    message: &T,
    encode: impl Fn(&T) -> Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<T, E>,
    view: impl Fn(&T) -> Json,
) {
    let bytes = encode(message);
    let shown = String::from_utf8_lossy(&bytes);
    let again = match decode(&bytes) {
        Ok(again) => again,
        Err(e) => panic!("{} encoded as {shown:?}, which gives {e:?}", view(message)),
    };
    let (sent, received) = (view(message), view(&again));
    assert!(
        same_javascript_value(&sent, &received),
        "{sent} encoded as {shown:?} came back as {received}"
    );
    assert!(encode(&again) == bytes, "{sent} encoded as {shown:?}, then differently");
}

/// The messages' parts as JSON, for [`same_javascript_value`].
pub mod views {
    use serde_json::{Value as Json, json};
    use socketio_book::socketio::adapter::redis::messages::{WireOptions, WirePacket, WireSocket};
    use socketio_book::socketio::packet::Arg;

    /// An argument: JSON, or bytes as their placeholder.
    pub fn arg_view(arg: &Arg) -> Json {
        match arg {
            Arg::Json(json) => json.clone(),
            Arg::Binary(bytes) => super::placeholder(bytes),
        }
    }

    pub fn args_view(args: &[Arg]) -> Json {
        Json::Array(args.iter().map(arg_view).collect())
    }

    /// `opts`; `with_flags` false for an operator's request, whose flags are not sent.
    pub fn opts_view(opts: &WireOptions, with_flags: bool) -> Json {
        let flags = if with_flags { json!(opts.flags) } else { Json::Null };
        json!({"rooms": opts.rooms, "except": opts.except, "flags": flags})
    }

    pub fn packet_view(packet: &WirePacket) -> Json {
        json!({"data": args_view(&packet.data), "nsp": packet.nsp})
    }

    pub fn socket_view(socket: &WireSocket) -> Json {
        json!({"id": socket.id, "handshake": socket.handshake.to_json(), "rooms": socket.rooms, "data": socket.data})
    }
}
