//! HTTP compression of polling answers (the reference's `httpCompression` option, on by default):
//! an answer of at least `threshold` bytes (1024) is compressed with gzip or deflate when the
//! GET's `Accept-Encoding` takes one and a packet in it was sent with `compress` (the default).
//!
//! ```text
//! GET ?EIO=4&transport=polling&sid=X            HTTP/1.1 200 OK
//! Accept-Encoding: gzip, deflate, br      ◄──    Content-Type: text/plain; charset=UTF-8
//!                                                Content-Encoding: gzip
//!                                                cache-control: no-store
//!                                                Content-Length: 61
//!
//!                                                1f 8b 08 00 00 00 00 00 00 03 ...
//! ```
//!
//! gzip is written with the header Node's zlib writes (no name, no time, OS 3), deflate in the
//! zlib format (`78 9c ...`), as Node's `createDeflate`; both at zlib's default level, by the
//! `flate2` crate. The choice among them is the `accepts` package's (`negotiator`): the quality
//! of each (`q=`, 1 by default), an exact name before `*`, then the order in the header, then
//! gzip before deflate; `identity` alone, `gzip;q=0` or no header at all: no compression.
//!
//! The compressing is done by the thread that writes the answer (the GET's connection thread, or
//! its `poll` thread), after the packets are taken from the session: never under a lock.

use std::io::{self, Write};

use flate2::Compression;
use flate2::GzBuilder;
use flate2::write::ZlibEncoder;

use crate::http::Request;

/// The reference's `httpCompression` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpCompressionOptions {
    /// Answers shorter than this many bytes are sent as they are: 1024.
    pub threshold: usize,
}

impl Default for HttpCompressionOptions {
    fn default() -> HttpCompressionOptions {
        HttpCompressionOptions { threshold: 1024 }
    }
}

/// The two encodings the reference offers, in its order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    /// The name in `Accept-Encoding` and `Content-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
        }
    }
}

/// One entry of `Accept-Encoding`: `gzip;q=0.8` is ("gzip", 0.8), at `position` in the header.
struct AcceptEntry {
    name: String,
    quality: f64,
    position: usize,
}

/// How well `Accept-Encoding` takes one encoding (the `negotiator` package's priority): whether
/// it is named (else only `*` matched), its quality, and where in the header that entry is.
#[derive(Clone, Copy)]
struct Priority {
    exact: bool,
    quality: f64,
    position: i64,
}

/// The encoding to compress an answer to this request with: the `accepts` package's
/// `encodings(["gzip", "deflate"])`. `None`: none is acceptable.
pub fn negotiate(accept_encoding: Option<&str>) -> Option<Encoding> {
    let accepted = parse_accept_encoding(accept_encoding.unwrap_or(""));
    let mut best: Option<(Encoding, Priority, usize)> = None;
    for (index, encoding) in [Encoding::Gzip, Encoding::Deflate].into_iter().enumerate() {
        let priority = priority_of(encoding.name(), &accepted);
        if priority.quality.is_nan() || priority.quality <= 0.0 {
            continue;
        }
        let better = match &best {
            None => true,
            Some((_, other, other_index)) => is_preferred(&priority, index, other, *other_index),
        };
        if better {
            best = Some((encoding, priority, index));
        }
    }
    best.map(|(encoding, _, _)| encoding)
}

/// `negotiator`'s sort: higher quality, then an exact name, then the earlier entry of the
/// header, then the earlier of our encodings.
fn is_preferred(a: &Priority, a_index: usize, b: &Priority, b_index: usize) -> bool {
    if a.quality != b.quality {
        return a.quality > b.quality;
    }
    if a.exact != b.exact {
        return a.exact;
    }
    if a.position != b.position {
        return a.position < b.position;
    }
    a_index < b_index
}

/// `gzip, deflate;q=0.5, *;q=0` -> the entries, with `identity` added (at the lowest quality) when
/// the header does not name it, as `negotiator` does.
fn parse_accept_encoding(header: &str) -> Vec<AcceptEntry> {
    let mut accepted = Vec::new();
    let mut has_identity = false;
    let mut min_quality: f64 = 1.0;
    let parts: Vec<&str> = header.split(',').collect();
    for (position, part) in parts.iter().enumerate() {
        let mut pieces = part.trim().split(';');
        let name = pieces.next().unwrap_or("").trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            continue;
        }
        let mut quality = 1.0;
        for parameter in pieces {
            let (key, value) = parameter.trim().split_once('=').unwrap_or((parameter.trim(), ""));
            if key == "q" {
                quality = parse_float(value);
                break;
            }
        }
        has_identity = has_identity || name.eq_ignore_ascii_case("identity") || name == "*";
        // JavaScript's `Math.min(minQuality, q || 1)`.
        let counted = if quality == 0.0 || quality.is_nan() {
            1.0
        } else {
            quality
        };
        min_quality = min_quality.min(counted);
        accepted.push(AcceptEntry {
            name: name.to_string(),
            quality,
            position,
        });
    }
    if !has_identity {
        accepted.push(AcceptEntry {
            name: "identity".to_string(),
            quality: min_quality,
            position: parts.len(),
        });
    }
    accepted
}

/// JavaScript's `parseFloat`: the longest number at the start (`0.5x` is 0.5), else NaN.
fn parse_float(text: &str) -> f64 {
    let text = text.trim_start();
    let mut end = 0;
    let mut seen_dot = false;
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() || (c == '.' && !seen_dot) || (i == 0 && (c == '-' || c == '+')) {
            seen_dot |= c == '.';
            end = i + c.len_utf8();
        } else {
            break;
        }
    }
    text[..end].parse().unwrap_or(f64::NAN)
}

/// `negotiator`'s `getEncodingPriority`: the best entry that names `encoding` or is `*`.
fn priority_of(encoding: &str, accepted: &[AcceptEntry]) -> Priority {
    let mut best = Priority {
        exact: false,
        quality: 0.0,
        position: -1,
    };
    for entry in accepted {
        let exact = entry.name.eq_ignore_ascii_case(encoding);
        if !exact && entry.name != "*" {
            continue;
        }
        let candidate = Priority {
            exact,
            quality: entry.quality,
            position: entry.position as i64,
        };
        // Replace when more specific, else of higher quality, else of a later entry (NaN
        // qualities compare as neither, as in JavaScript).
        let replace = if candidate.exact != best.exact {
            candidate.exact
        } else if candidate.quality != best.quality && !candidate.quality.is_nan() && !best.quality.is_nan() {
            candidate.quality > best.quality
        } else {
            candidate.position > best.position
        };
        if replace {
            best = candidate;
        }
    }
    best
}

/// What one GET's answer may be compressed with: decided when the GET arrives (its
/// `Accept-Encoding`), used when it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub encoding: Encoding,
    pub threshold: usize,
}

/// The encoding for answers to `request`, if compression is on and the request takes one.
pub fn for_request(options: Option<HttpCompressionOptions>, request: &Request) -> Option<Negotiated> {
    let options = options?;
    let encoding = negotiate(request.header("accept-encoding"))?;
    Some(Negotiated {
        encoding,
        threshold: options.threshold,
    })
}

/// The reference's `doWrite`: the body compressed when a packet asked for it (`compress`), the
/// request takes an encoding, and the body has at least `threshold` bytes; else as it is.
/// Returns the body to send and its `Content-Encoding`, if any.
pub fn maybe_compress(body: Vec<u8>, compress: bool, negotiated: Option<Negotiated>) -> (Vec<u8>, Option<Encoding>) {
    let negotiated = match negotiated {
        Some(negotiated) if compress && body.len() >= negotiated.threshold => negotiated,
        _ => return (body, None),
    };
    match self::compress(&body, negotiated.encoding) {
        Ok(compressed) => (compressed, Some(negotiated.encoding)),
        Err(e) => {
            // Writing into memory does not fail; if it ever did, the answer goes uncompressed.
            log::warn!("{} compression failed: {e}", negotiated.encoding.name());
            (body, None)
        }
    }
}

/// Compresses a whole answer.
pub fn compress(body: &[u8], encoding: Encoding) -> io::Result<Vec<u8>> {
    match encoding {
        Encoding::Gzip => {
            // OS 3 (Unix) in the header, as Node's zlib writes it.
            let mut encoder = GzBuilder::new()
                .operating_system(3)
                .write(Vec::new(), Compression::default());
            encoder.write_all(body)?;
            encoder.finish()
        }
        Encoding::Deflate => {
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
            encoder.write_all(body)?;
            encoder.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Each case checked against `accepts(req).encodings(["gzip", "deflate"])` (accepts 1.3.8).
    #[test]
    fn negotiation_as_the_accepts_package() {
        use Encoding::*;
        for (header, expected) in [
            (None, None),
            (Some(""), None),
            (Some("identity"), None),
            (Some("gzip"), Some(Gzip)),
            (Some("deflate"), Some(Deflate)),
            (Some("gzip, deflate, br"), Some(Gzip)),
            (Some("deflate, gzip"), Some(Deflate)),
            (Some("gzip;q=0.5, deflate"), Some(Deflate)),
            (Some("GZIP"), Some(Gzip)),
            (Some("*"), Some(Gzip)),
            (Some("*;q=0.5, deflate"), Some(Deflate)),
            (Some("gzip;q=0, deflate;q=0"), None),
            (Some("gzip;q=0, *"), Some(Deflate)),
            (Some("br"), None),
            (Some("gzip;q=abc"), None),
            (Some("deflate;q=0.5, *;q=0.5"), Some(Deflate)),
            (Some("*, deflate"), Some(Deflate)),
            (Some("identity;q=0, *;q=0"), None),
        ] {
            assert_eq!(negotiate(header), expected, "{header:?}");
        }
    }

    #[test]
    fn round_trips() {
        let body = "4hello ".repeat(500);
        let gzip = compress(body.as_bytes(), Encoding::Gzip).unwrap();
        assert_eq!(&gzip[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let deflate = compress(body.as_bytes(), Encoding::Deflate).unwrap();
        assert_eq!(&deflate[..2], &[0x78, 0x9c]);
        let mut out = String::new();
        flate2::read::ZlibDecoder::new(&deflate[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, body);
    }
}
