//! MessagePack as notepack.io 3.x writes and reads it: the codec of `@socket.io/redis-adapter`
//! (its broadcasts, its `BROADCAST` and `BROADCAST_ACK` requests, the sharded adapter's
//! messages that carry bytes) and of `@socket.io/redis-emitter`.
//!
//! The values are `rmpv::Value`s; this file decides which msgpack value a JSON value or a
//! Socket.IO argument becomes, exactly as notepack would write the JavaScript value, and back:
//!
//! ```text
//! JavaScript (notepack)         msgpack                      here
//! null, undefined               c0 nil                       Json(Null) (undefined in a map: no key)
//! true / false                  c3 / c2                      Json(Bool)
//! 5, -33, 300                   05, d0 df, cd 01 2c          Json(Number), integers in the smallest form
//! 1.5, 1e-300                   cb <8 bytes> float64         Json(Number) (notepack never writes float32)
//! "news"                        a4 6e 65 77 73               Json(String)
//! [1, 2]                        92 01 02                     Json(Array)
//! {a: 1}                        81 a1 61 01                  Json(Object), keys in JavaScript's order
//! Buffer <01 02>                c4 02 01 02 bin              Arg::Binary at the top of an event's
//!                                                            arguments; nested in an object, the
//!                                                            decoder's placeholder with "base64"
//! new Date(1500)                d7 ff <8 bytes> timestamp    an ISO string, what a client would
//!                                                            get through JSON (Date.toJSON)
//! ```
//!
//! Three details a byte-for-byte match needs:
//!
//! * a number with no fraction is an integer, even when JSON wrote it `1.0` (JavaScript has one
//!   number type): `1.0` is `01`, `1e15` is `cf 00 03 8d 7e a4 c6 80 00`;
//! * a JavaScript object lists its keys in `Object.keys` order: the array-index keys (`"2"`,
//!   `"10"`, canonical decimal integers below 2^32 - 1) first, ascending, then the others as
//!   inserted. `JSON.parse('{"b":1,"2":2}')` is encoded `{"2":2,"b":1}`, and so are we;
//! * lengths and integers take the smallest msgpack form (`str 8` from 32 bytes, `bin 8` even
//!   for an empty Buffer, `uint 8` for 128..=255), which is also what `rmpv` writes.
//!
//! Where we differ: an integral number of magnitude 2^64 or more (`1.5e300`) is written as a
//! float64. notepack writes it as a `uint 64` whose high word has wrapped (`1.5e300` becomes
//! `cf 00 00 00 00 00 00 00 00`, zero); we keep the value.
//!
//! The decoder reads anything notepack reads: also float32, the old `ext 0` forms (undefined,
//! a Date in milliseconds, an ArrayBuffer), and other extension types as `[type, bytes]`.
//! Before building anything it counts the values (`count_values`, no allocation): more than
//! [`MAX_VALUES`], or bytes that end before the values do (`dd ff ff ff ff`, an array of 4
//! billion items and nothing after), is an error at once, and so is nesting deeper than
//! [`MAX_NESTING`] levels (64, counted there too, without recursion); `rmpv` never allocates
//! for a length it has not read.
//! Trailing bytes are an error, as in notepack ("1 trailing bytes").

use rmpv::Value as Msgpack;
use serde_json::{Map, Number, Value as Json};

use crate::socketio::packet::{self, Arg};

/// The msgpack extension type of a timestamp (a JavaScript Date).
const TIMESTAMP_TYPE: i8 = -1;
/// notepack's old extension type: `undefined` (1 byte), a Date in ms (8 bytes), an ArrayBuffer.
const LEGACY_TYPE: i8 = 0;
/// 2^64: integral numbers from here on are written as floats (see the module documentation).
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
/// 2^63.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
/// The deepest nesting of arrays and maps a message may have: 64 levels (the packet's own map
/// and its `data` array included). `rmpv` reads a level by recursion, about 4 KiB of stack each
/// in a debug build: 128 levels (serde_json's limit for a packet's JSON) overflow a connection
/// thread's 512 KiB (`listener::CONNECTION_STACK_BYTES`), 64 take half of it.
pub const MAX_NESTING: usize = 64;
/// rmpv's own depth budget (each array or map level takes two), past `MAX_NESTING`: never met.
const MAX_DEPTH: usize = 2 * MAX_NESTING + 2;
/// The largest time a JavaScript Date holds: 8.64e15 ms either side of 1970.
const MAX_DATE_MILLIS: f64 = 8.64e15;

/// Why bytes from Redis are not a message we can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not msgpack, or cut short (rmpv's message).
    Malformed(String),
    /// A whole value, then more bytes (notepack: "N trailing bytes").
    TrailingBytes(usize),
    /// A map key that is an array, a map, bytes or a float: no JavaScript object has it.
    UnsupportedKey,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Malformed(detail) => write!(f, "not msgpack: {detail}"),
            DecodeError::TrailingBytes(count) => write!(f, "{count} trailing bytes"),
            DecodeError::UnsupportedKey => write!(f, "a map key that is not a string, a number, true, false or nil"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The bytes of `value` (rmpv's writer: the smallest form of every length and integer).
pub fn encode(value: &Msgpack) -> Vec<u8> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, value).expect("a Vec<u8> takes every write");
    bytes
}

/// One whole value, nothing after it, of at most [`MAX_VALUES`] values in all (counted before
/// any is built: a message of millions of tiny items would take gigabytes as `Value`s).
pub fn decode(bytes: &[u8]) -> Result<Msgpack, DecodeError> {
    count_values(bytes, MAX_VALUES)?;
    let mut rest = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

/// The most values one message may hold, nested ones included: 4 million (a `fetchSockets`
/// answer listing 100,000 sockets holds about 3 million).
pub const MAX_VALUES: usize = 4_000_000;

/// How many values `bytes` hold, walking the markers without building anything; an error as
/// soon as there are more than `limit`, arrays and maps nest deeper than [`MAX_NESTING`], or
/// the bytes end before the values do. O(bytes), no recursion.
pub fn count_values(bytes: &[u8], limit: usize) -> Result<usize, DecodeError> {
    let too_short = || DecodeError::Malformed("the bytes end before the values do".to_string());
    // Big-endian length of `size` bytes at `at`.
    let length = |at: usize, size: usize| -> Result<usize, DecodeError> {
        let field = bytes.get(at..at + size).ok_or_else(too_short)?;
        Ok(field.iter().fold(0usize, |n, byte| (n << 8) | usize::from(*byte)))
    };
    let mut to_read: usize = 1;
    let mut at = 0;
    let mut count = 0;
    // The values still to read in each array or map open around this one, innermost last.
    let mut open: Vec<usize> = Vec::new();
    while to_read > 0 {
        to_read -= 1;
        count += 1;
        if count > limit {
            return Err(DecodeError::Malformed(format!("more than {limit} values")));
        }
        if let Some(left) = open.last_mut() {
            *left -= 1;
        }
        let marker = *bytes.get(at).ok_or_else(too_short)?;
        at += 1;
        let is_container = matches!(marker, 0x80..=0x9f | 0xdc..=0xdf);
        if is_container && open.len() >= MAX_NESTING {
            return Err(DecodeError::Malformed(format!(
                "arrays and maps nested more than {MAX_NESTING} levels deep"
            )));
        }
        // What follows the marker: bytes to skip, and values to read after it.
        let (skip, values) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (0, 0),
            0x80..=0x8f => (0, 2 * usize::from(marker & 0x0f)),
            0x90..=0x9f => (0, usize::from(marker & 0x0f)),
            0xa0..=0xbf => (usize::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (1 + length(at, 1)?, 0),
            0xc5 | 0xda => (2 + length(at, 2)?, 0),
            0xc6 | 0xdb => (4 + length(at, 4)?, 0),
            0xc7 => (2 + length(at, 1)?, 0),
            0xc8 => (3 + length(at, 2)?, 0),
            0xc9 => (5 + length(at, 4)?, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (2, length(at, 2)?),
            0xdd => (4, length(at, 4)?),
            0xde => (2, 2 * length(at, 2)?),
            0xdf => (4, 2 * length(at, 4)?),
            0xc1 => return Err(DecodeError::Malformed("0xc1 is no msgpack marker".to_string())),
        };
        at += skip;
        if at > bytes.len() {
            return Err(too_short());
        }
        to_read = to_read.saturating_add(values);
        if values > 0 {
            open.push(values);
        }
        while open.last() == Some(&0) {
            open.pop();
        }
    }
    Ok(count)
}

// ----- JSON and Socket.IO arguments to msgpack ----------------------------------------------

/// A Socket.IO argument as notepack writes its JavaScript value.
pub fn from_arg(arg: &Arg) -> Msgpack {
    match arg {
        Arg::Binary(bytes) => Msgpack::Binary(bytes.clone()),
        Arg::Json(json) => from_json(json),
    }
}

/// A JSON value as notepack writes the JavaScript value `JSON.parse` would give. Bytes nested
/// in it as the packet decoder keeps them (`{"_placeholder":true,"num":0,"base64":"AQID"}`)
/// become `bin` again.
pub fn from_json(json: &Json) -> Msgpack {
    match json {
        Json::Null => Msgpack::Nil,
        Json::Bool(b) => Msgpack::Boolean(*b),
        Json::Number(number) => from_number(number),
        Json::String(text) => Msgpack::from(text.as_str()),
        Json::Array(items) => Msgpack::Array(items.iter().map(from_json).collect()),
        Json::Object(map) => {
            if let Some(bytes) = packet::nested_bytes_of(json) {
                return Msgpack::Binary(bytes);
            }
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            in_javascript_key_order(&mut entries, |(key, _)| key.as_str());
            let mut pairs = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                pairs.push((Msgpack::from(key.as_str()), from_json(value)));
            }
            Msgpack::Map(pairs)
        }
    }
}

/// notepack's rule: a number with no fraction is an integer (`1.0` is `01`), others float64.
fn from_number(number: &Number) -> Msgpack {
    if let Some(unsigned) = number.as_u64() {
        return Msgpack::from(unsigned);
    }
    if let Some(signed) = number.as_i64() {
        return Msgpack::from(signed);
    }
    let float = number.as_f64().unwrap_or(0.0);
    if float.is_finite() && float.fract() == 0.0 {
        if (0.0..TWO_POW_64).contains(&float) {
            return Msgpack::from(float as u64);
        }
        if (-TWO_POW_63..0.0).contains(&float) {
            return Msgpack::from(float as i64);
        }
    }
    Msgpack::F64(float)
}

/// Sorts object entries as JavaScript's `Object.keys` lists them: array-index keys first, in
/// numeric order, then the other keys in their order (the sort is stable).
fn in_javascript_key_order<T>(entries: &mut [T], key_of: impl Fn(&T) -> &str) {
    entries.sort_by_cached_key(|entry| match array_index(key_of(entry)) {
        Some(index) => (0, index),
        None => (1, 0),
    });
}

/// `"10"` → Some(10): a canonical decimal integer below 2^32 - 1 is an array index, a key that
/// JavaScript lists first. `"01"`, `"-1"`, `"4294967295"` are plain keys.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if key.len() > 1 && key.starts_with('0') {
        return None;
    }
    let index: u64 = key.parse().ok()?;
    if index < u64::from(u32::MAX) {
        Some(index as u32)
    } else {
        None
    }
}

/// A Date as notepack writes it: timestamp 32 (`d6 ff`, whole seconds up to 2^32 - 1),
/// timestamp 64 (`d7 ff`, nanoseconds and seconds up to 2^34 - 1), else timestamp 96
/// (`c7 0c ff`, also before 1970).
pub fn timestamp(millis: i64) -> Msgpack {
    let seconds = millis.div_euclid(1000);
    let nanoseconds = millis.rem_euclid(1000) * 1_000_000;
    if (0..(1_i64 << 34)).contains(&seconds) {
        if nanoseconds == 0 && seconds <= i64::from(u32::MAX) {
            return Msgpack::Ext(TIMESTAMP_TYPE, (seconds as u32).to_be_bytes().to_vec());
        }
        let packed = ((nanoseconds as u64) << 34) | seconds as u64;
        return Msgpack::Ext(TIMESTAMP_TYPE, packed.to_be_bytes().to_vec());
    }
    let mut data = (nanoseconds as u32).to_be_bytes().to_vec();
    data.extend_from_slice(&seconds.to_be_bytes());
    Msgpack::Ext(TIMESTAMP_TYPE, data)
}

// ----- msgpack to JSON and Socket.IO arguments ----------------------------------------------

/// A decoded value as a Socket.IO argument: `bin` (or notepack 2's ArrayBuffer) at the top is
/// `Arg::Binary`, anything else is
/// JSON (see [`to_json`]).
pub fn to_arg(value: Msgpack) -> Result<Arg, DecodeError> {
    match value {
        Msgpack::Binary(bytes) => Ok(Arg::Binary(bytes)),
        // notepack 2's ArrayBuffer (`ext 0` of any length but 1, undefined, and 8, a Date):
        // bytes too, as `bin` is.
        Msgpack::Ext(LEGACY_TYPE, data) if data.len() != 1 && data.len() != 8 => Ok(Arg::Binary(data)),
        other => Ok(Arg::Json(to_json(other)?)),
    }
}

/// A decoded value as the JSON a Socket.IO client would get for it from a Node server:
/// `undefined` is null (no key in a map), a Date its ISO string, NaN and Infinity null (as
/// `JSON.stringify` has them); bytes keep their contents as the packet decoder's nested
/// placeholder (`{"_placeholder":true,"num":0,"base64":"AQID"}`), which we send on as bytes.
pub fn to_json(value: Msgpack) -> Result<Json, DecodeError> {
    Ok(to_json_or_undefined(value)?.unwrap_or(Json::Null))
}

/// [`to_json`], with `None` for `undefined`.
fn to_json_or_undefined(value: Msgpack) -> Result<Option<Json>, DecodeError> {
    let json = match value {
        Msgpack::Nil => Json::Null,
        Msgpack::Boolean(b) => Json::Bool(b),
        Msgpack::Integer(integer) => {
            if let Some(unsigned) = integer.as_u64() {
                Json::from(unsigned)
            } else {
                Json::from(integer.as_i64().unwrap_or(0))
            }
        }
        Msgpack::F32(float) => float_to_json(f64::from(float)),
        Msgpack::F64(float) => float_to_json(float),
        // notepack reads text with Buffer.toString('utf8'): bad sequences become U+FFFD.
        Msgpack::String(text) => Json::String(utf8_lossy(text)),
        Msgpack::Binary(bytes) => packet::nested_bytes(&bytes),
        Msgpack::Array(items) => {
            let mut array = Vec::with_capacity(items.len());
            for item in items {
                array.push(to_json(item)?);
            }
            Json::Array(array)
        }
        Msgpack::Map(pairs) => map_to_json(pairs)?,
        Msgpack::Ext(kind, data) => return Ok(extension_to_json(kind, data)),
    };
    Ok(Some(json))
}

/// Text as notepack reads it (`Buffer.toString('utf8')`): a bad sequence becomes U+FFFD.
fn utf8_lossy(text: rmpv::Utf8String) -> String {
    if text.is_str() {
        return text.into_str().unwrap_or_default();
    }
    String::from_utf8_lossy(&text.into_bytes()).into_owned()
}

/// `JSON.stringify(NaN)` is `null`.
fn float_to_json(float: f64) -> Json {
    match Number::from_f64(float) {
        Some(number) => Json::Number(number),
        None => Json::Null,
    }
}

/// A map as the JavaScript object notepack builds (`value[key] = ...`: a repeated key keeps its
/// first place and takes the last value), listed in `Object.keys` order.
fn map_to_json(pairs: Vec<(Msgpack, Msgpack)>) -> Result<Json, DecodeError> {
    let mut object: Map<String, Json> = Map::new();
    for (key, value) in pairs {
        let key = key_to_string(key)?;
        match to_json_or_undefined(value)? {
            Some(json) => {
                object.insert(key, json);
            }
            None => {
                object.remove(&key);
            }
        }
    }
    let mut entries: Vec<(String, Json)> = object.into_iter().collect();
    in_javascript_key_order(&mut entries, |(key, _)| key.as_str());
    Ok(Json::Object(entries.into_iter().collect()))
}

/// A key as JavaScript turns it into a property name: `"a"`, `1` → `"1"`, `true` → `"true"`,
/// nil → `"null"`.
fn key_to_string(key: Msgpack) -> Result<String, DecodeError> {
    match key {
        Msgpack::String(text) => Ok(utf8_lossy(text)),
        Msgpack::Integer(integer) => Ok(integer.to_string()),
        Msgpack::Boolean(b) => Ok(b.to_string()),
        Msgpack::Nil => Ok("null".to_string()),
        _ => Err(DecodeError::UnsupportedKey),
    }
}

/// Extension values as notepack reads them (`None`: undefined).
fn extension_to_json(kind: i8, data: Vec<u8>) -> Option<Json> {
    if kind == TIMESTAMP_TYPE {
        if let Some(millis) = timestamp_millis(&data) {
            return Some(date_to_json(millis));
        }
    }
    if kind == LEGACY_TYPE {
        return match data.len() {
            1 => None,
            8 => {
                let high = i32::from_be_bytes([data[0], data[1], data[2], data[3]]) as f64;
                let low = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as f64;
                Some(date_to_json(high * 4_294_967_296.0 + low))
            }
            _ => Some(packet::nested_bytes(&data)),
        };
    }
    Some(Json::Array(vec![Json::from(kind), packet::nested_bytes(&data)]))
}

/// The time of a timestamp extension, in ms as a JavaScript Date computes it (`None` for a size
/// that is no timestamp).
fn timestamp_millis(data: &[u8]) -> Option<f64> {
    let word = |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    match data.len() {
        // timestamp 32: seconds.
        4 => Some(f64::from(word(0)) * 1e3),
        // timestamp 64: 30 bits of nanoseconds, 34 bits of seconds.
        8 => {
            let high = word(0);
            let seconds = f64::from(high & 0x3) * 4_294_967_296.0 + f64::from(word(4));
            Some(seconds * 1e3 + f64::from(high >> 2) / 1e6)
        }
        // timestamp 96: 32 bits of nanoseconds, 64 bits of signed seconds.
        12 => {
            let nanoseconds = f64::from(word(0));
            let seconds = f64::from(word(4) as i32) * 4_294_967_296.0 + f64::from(word(8));
            Some(seconds * 1e3 + nanoseconds / 1e6)
        }
        _ => None,
    }
}

/// `JSON.stringify(new Date(millis))`: `"2023-11-14T22:13:20.123Z"`, with a signed six-digit
/// year outside 0..=9999 (`"+010000-01-01T00:00:00.000Z"`), null for an invalid Date.
fn date_to_json(millis: f64) -> Json {
    if !millis.is_finite() || millis.abs() > MAX_DATE_MILLIS {
        return Json::Null;
    }
    let millis = millis.trunc() as i64;
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let year_text = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Json::String(format!(
        "{year_text}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    ))
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const DIGITS: &[u8; 16] = b"0123456789abcdef";

    pub(crate) fn hex(bytes: &[u8]) -> String {
        let mut text = String::with_capacity(bytes.len() * 2);
        for byte in bytes {
            text.push(DIGITS[usize::from(byte >> 4)] as char);
            text.push(DIGITS[usize::from(byte & 0xf)] as char);
        }
        text
    }

    pub(crate) fn unhex(text: &str) -> Vec<u8> {
        let digit = |c: u8| (c as char).to_digit(16).unwrap() as u8;
        text.as_bytes()
            .chunks(2)
            .map(|pair| digit(pair[0]) << 4 | digit(pair[1]))
            .collect()
    }

    /// What the script `tests/node/<script>` prints: vectors made by an npm package itself.
    pub(crate) fn node_vectors(script: &str) -> Json {
        let output = crate::test_tools::node()
            .arg(crate::test_tools::node_dir().join(script))
            .output()
            .unwrap_or_else(|e| panic!("run node tests/node/{script}: {e}"));
        assert!(
            output.status.success(),
            "{script} failed (npm ci --prefix tests/node?): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// The vectors of `tests/node/msgpack_vectors.mjs`, made now by notepack.io itself.
    fn notepack_vectors() -> Vec<Json> {
        let all = node_vectors("msgpack_vectors.mjs");
        assert_eq!(all["notepack"], "3.0.1");
        all["vectors"].as_array().unwrap().clone()
    }

    /// The tagged JSON of the `special` vectors as msgpack: `{"$bin":"0102"}` is bytes,
    /// `{"$date":MS}` a timestamp, `{"$undefined":true}` nil in an array and no key in a map.
    fn from_tagged(json: &Json) -> Option<Msgpack> {
        match json {
            Json::Object(map) => {
                if let Some(Json::String(bytes)) = map.get("$bin") {
                    return Some(Msgpack::Binary(unhex(bytes)));
                }
                if let Some(millis) = map.get("$date").and_then(Json::as_i64) {
                    return Some(timestamp(millis));
                }
                if map.get("$undefined") == Some(&Json::Bool(true)) {
                    return None;
                }
                let mut entries: Vec<(&String, &Json)> = map.iter().collect();
                in_javascript_key_order(&mut entries, |(key, _)| key.as_str());
                let mut pairs = Vec::new();
                for (key, value) in entries {
                    if let Some(value) = from_tagged(value) {
                        pairs.push((Msgpack::from(key.as_str()), value));
                    }
                }
                Some(Msgpack::Map(pairs))
            }
            Json::Array(items) => Some(Msgpack::Array(
                items
                    .iter()
                    .map(|item| from_tagged(item).unwrap_or(Msgpack::Nil))
                    .collect(),
            )),
            other => Some(from_json(other)),
        }
    }

    #[test]
    fn byte_for_byte_what_notepack_writes_and_reads() {
        let vectors = notepack_vectors();
        assert!(vectors.len() > 80, "{} vectors", vectors.len());
        for vector in &vectors {
            let name = vector["name"].as_str().unwrap();
            let bytes = unhex(vector["hex"].as_str().unwrap());
            let expected_value = match vector["kind"].as_str().unwrap() {
                "json" => {
                    let source: Json = serde_json::from_str(vector["source"].as_str().unwrap()).unwrap();
                    Some(from_json(&source))
                }
                "special" => {
                    let source: Json = serde_json::from_str(vector["source"].as_str().unwrap()).unwrap();
                    Some(from_tagged(&source).unwrap())
                }
                _ => None,
            };
            if let Some(value) = &expected_value {
                if name == "float 1.5e300" {
                    // Where we differ on purpose: notepack wraps it to uint64 0, we keep the float.
                    assert_eq!(hex(&bytes), "cf0000000000000000");
                    assert_eq!(hex(&encode(value)), format!("cb{}", hex(&1.5e300_f64.to_be_bytes())));
                    continue;
                }
                assert_eq!(hex(&encode(value)), hex(&bytes), "encode: {name}");
                assert_eq!(&decode(&bytes).unwrap(), value, "decode: {name}");
            }
            match (vector.get("seen"), vector.get("error")) {
                (Some(seen), _) => {
                    let seen: Json = serde_json::from_str(seen.as_str().unwrap()).unwrap();
                    let ours = to_json(decode(&bytes).unwrap()).unwrap();
                    if let Some(Msgpack::Binary(expected)) = &expected_value {
                        // JSON.stringify(Buffer) is {"type":"Buffer",...}; we keep the bytes.
                        assert_eq!(&packet::nested_bytes_of(&ours).unwrap(), expected, "{name}");
                        continue;
                    }
                    if ours.is_number() && ours.as_f64().unwrap().abs() > 9_007_199_254_740_991.0 {
                        // Beyond 2^53 JavaScript rounds to a double; we keep the integer exact.
                        assert_eq!(ours.as_f64(), seen.as_f64(), "{name}");
                        continue;
                    }
                    // What a client sees: the same JSON text, keys in the same order.
                    assert_eq!(ours.to_string(), seen.to_string(), "what a client sees: {name}");
                }
                (None, Some(error)) => {
                    assert!(decode(&bytes).is_err(), "{name}: notepack says {error}, we decoded it");
                }
                (None, None) => {}
            }
        }
    }

    #[test]
    fn a_broadcast_with_nested_bytes_keeps_them_both_ways() {
        // The same value as the vector "a classic broadcast with a top-level and a nested Buffer".
        let packet_data = vec![
            Arg::from("file"),
            Arg::Binary(vec![1, 2, 3]),
            Arg::Json(serde_json::json!({"name": "a.txt", "file": packet::nested_bytes(&[4, 5])})),
        ];
        let message = Msgpack::Array(vec![
            Msgpack::from("Zq3kLm"),
            Msgpack::Map(vec![
                (Msgpack::from("type"), Msgpack::from(2)),
                (
                    Msgpack::from("data"),
                    Msgpack::Array(packet_data.iter().map(from_arg).collect()),
                ),
                (Msgpack::from("nsp"), Msgpack::from("/custom")),
            ]),
            from_json(&serde_json::json!({"rooms": [], "except": ["x"], "flags": {}})),
        ]);
        let bytes = encode(&message);
        let vectors = notepack_vectors();
        let node = vectors
            .iter()
            .find(|v| v["name"] == "a classic broadcast with a top-level and a nested Buffer")
            .unwrap();
        assert_eq!(hex(&bytes), node["hex"].as_str().unwrap());
        // And back: the same arguments, the nested bytes in the decoder's placeholder form.
        let Msgpack::Array(mut parts) = decode(&bytes).unwrap() else {
            panic!()
        };
        let Msgpack::Map(packet) = parts.remove(1) else {
            panic!()
        };
        let Msgpack::Array(data) = packet[1].1.clone() else {
            panic!()
        };
        let args: Vec<Arg> = data.into_iter().map(|v| to_arg(v).unwrap()).collect();
        assert_eq!(args, packet_data);
    }

    #[test]
    fn integral_floats_are_integers_and_keys_keep_javascript_order() {
        let parse = |text: &str| from_json(&serde_json::from_str::<Json>(text).unwrap());
        assert_eq!(encode(&parse("1.0")), [0x01]);
        assert_eq!(encode(&parse("-1.0")), [0xff]);
        assert_eq!(encode(&parse("-0.0")), [0x00]);
        assert_eq!(encode(&parse("1.5")), [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode(&parse("-9.223372036854775808e18")), unhex("d38000000000000000"));
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("4294967294"), Some(4_294_967_294));
        for plain in ["", "01", "-1", "1.0", "4294967295", "99999999999", "a"] {
            assert_eq!(array_index(plain), None, "{plain:?}");
        }
    }

    #[test]
    fn values_are_counted_as_rmpv_reads_them() {
        for vector in notepack_vectors() {
            let bytes = unhex(vector["hex"].as_str().unwrap());
            match (decode(&bytes), count_values(&bytes, usize::MAX)) {
                (Ok(_), Ok(count)) => assert!(count >= 1),
                (Err(_), _) => {}
                (Ok(value), Err(e)) => panic!("{}: {value} counted as {e}", vector["name"]),
            }
        }
        assert_eq!(count_values(&unhex("93c0c0c0"), 10), Ok(4));
        assert_eq!(count_values(&unhex("82a161c0a16292c0c0"), 10), Ok(7));
        assert_eq!(count_values(&unhex("c70cff0000000100000000000003e8"), 10), Ok(1));
        assert!(count_values(&unhex("93c0c0c0"), 3).is_err());
    }

    #[test]
    fn dates_read_as_javascript_shows_them() {
        let json_of = |millis: i64| to_json(timestamp(millis)).unwrap();
        assert_eq!(json_of(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(json_of(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(json_of(-62_198_755_200_000), "-000001-01-01T00:00:00.000Z");
        assert_eq!(json_of(8_640_000_000_000_000), "+275760-09-13T00:00:00.000Z");
        // Beyond what a Date holds: null, as JSON.stringify(new Date(NaN)).
        assert_eq!(json_of(8_640_000_000_000_001), Json::Null);
        // notepack's old forms: fixext 1 of type 0 is undefined, fixext 8 of type 0 a Date in ms.
        assert_eq!(to_json(decode(&unhex("d40000")).unwrap()).unwrap(), Json::Null);
        assert_eq!(
            to_json(decode(&unhex("81a161d40000")).unwrap()).unwrap(),
            serde_json::json!({})
        );
        assert_eq!(
            to_json(decode(&unhex("d70000000000000005dc")).unwrap()).unwrap(),
            "1970-01-01T00:00:01.500Z"
        );
        // Another extension type: [type, bytes], as notepack gives it.
        assert_eq!(
            to_json(decode(&unhex("d50501ff")).unwrap()).unwrap(),
            serde_json::json!([5, packet::nested_bytes(&[1, 255])])
        );
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        // Truncated, a huge array header with nothing after it, trailing bytes, a map key that
        // JavaScript cannot have, nesting deeper than rmpv allows.
        assert!(matches!(decode(&unhex("a5616263")), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode(&unhex("ddffffffff")), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode(&unhex("dfffffffff")), Err(DecodeError::Malformed(_))));
        assert!(matches!(decode(&unhex("c6ffffffff00")), Err(DecodeError::Malformed(_))));
        assert_eq!(decode(&unhex("c0c0")), Err(DecodeError::TrailingBytes(1)));
        assert!(matches!(decode(&[]), Err(DecodeError::Malformed(_))));
        let map_with_array_key = decode(&unhex("81910102")).unwrap();
        assert_eq!(to_json(map_with_array_key), Err(DecodeError::UnsupportedKey));
        let deep = vec![0x91; 100_000];
        assert!(matches!(decode(&deep), Err(DecodeError::Malformed(_))));
        // More values than MAX_VALUES: refused before any is built.
        let mut many = vec![0xdd, 0x00, 0x3d, 0x09, 0x01];
        many.extend(std::iter::repeat_n(0xc0, MAX_VALUES));
        assert_eq!(count_values(&many[..1000], usize::MAX).map_err(|_| ()), Err(()));
        assert!(matches!(decode(&many), Err(DecodeError::Malformed(m)) if m == "more than 4000000 values"));
        // 0xc1 is no marker (notepack: "Could not parse"; rmpv would read nil).
        assert!(decode(&[0x91, 0xc1]).is_err());
        // Invalid UTF-8 in a string does not stop the message.
        assert_eq!(to_json(decode(&unhex("a3ff6162")).unwrap()).unwrap(), "\u{fffd}ab");
    }
}
