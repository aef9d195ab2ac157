//! The offset of a logged event: the id connection state recovery appends to every event it
//! logs, which the client sends back to say "I have everything up to here" (the reference's
//! `yeast()` id, `socket.io-adapter/lib/contrib/yeast.ts`).
//!
//! A yeast id is the time in milliseconds written in base 64 with the alphabet `0-9A-Za-z-_`;
//! the second and later ids of one millisecond add `.` and a counter from 0:
//!
//! ```text
//! 1764590000000 ms, first id   ->  "PhPmfU0"        Offset { millis: 1764590000000, seed: 0 }
//!                   second     ->  "PhPmfU0.0"      Offset { millis: 1764590000000, seed: 1 }
//!                   third      ->  "PhPmfU0.1"      Offset { millis: 1764590000000, seed: 2 }
//! 42["tick",3,"PhPmfU0.1"]     the event as the client gets it, the offset its last argument
//! ```
//!
//! Ours never goes backwards: an id made in a millisecond earlier than the last one's (the clock
//! was set back) continues the last one's counter, so offsets are strictly increasing and the log
//! can be searched by them (the reference's yeast would repeat ids then).

use std::time::{SystemTime, UNIX_EPOCH};

/// yeast's alphabet: digit `n` is `ALPHABET[n]`.
const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// The most digits a part may have: 11 base-64 digits hold 66 bits, more than a `u64`.
const MAX_DIGITS: usize = 10;

/// One offset, comparable: later offsets are greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    /// Milliseconds since 1970 when it was made.
    pub millis: u64,
    /// 0 for the first id of its millisecond, `n + 1` for the one written `.<n>`.
    pub seed: u64,
}

impl Offset {
    /// The next offset after `last` made at `now_millis`: a new millisecond starts again at seed
    /// 0; the same one (or an earlier one: the clock went back) counts on.
    pub fn next(last: Option<Offset>, now_millis: u64) -> Offset {
        match last {
            Some(last) if now_millis <= last.millis => Offset {
                millis: last.millis,
                seed: last.seed + 1,
            },
            _ => Offset {
                millis: now_millis,
                seed: 0,
            },
        }
    }

    /// As yeast writes it: `PhPmfU0`, `PhPmfU0.0` (in one allocation and no formatter: an offset
    /// is written for every logged event; `Display` writes this text too).
    pub fn to_text(self) -> String {
        let mut text = String::with_capacity(2 * MAX_DIGITS + 3);
        Digits::of(self.millis).push_to(&mut text);
        if self.seed > 0 {
            text.push('.');
            Digits::of(self.seed - 1).push_to(&mut text);
        }
        text
    }

    /// Appends the text `to_text` gives to `out` (an encoder's buffer: `packet::encode_with_offset`
    /// writes a logged event's offset in place, with no `String` of its own).
    pub fn write_to(self, out: &mut Vec<u8>) {
        out.extend_from_slice(Digits::of(self.millis).bytes());
        if self.seed > 0 {
            out.push(b'.');
            out.extend_from_slice(Digits::of(self.seed - 1).bytes());
        }
    }

    /// Reads an offset a client sent back; `None` for anything yeast never writes.
    pub fn parse(text: &str) -> Option<Offset> {
        let (time, counter) = match text.split_once('.') {
            Some((time, counter)) => (time, Some(counter)),
            None => (text, None),
        };
        let millis = decode(time)?;
        let seed = match counter {
            Some(counter) => decode(counter)?.checked_add(1)?,
            None => 0,
        };
        Some(Offset { millis, seed })
    }
}

impl std::fmt::Display for Offset {
    /// As yeast writes it: `PhPmfU0`, `PhPmfU0.0`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Milliseconds since 1970, now, by the kernel's coarse wall clock (the reference's
/// `Date.now()`, read for every logged event). `CLOCK_REALTIME_COARSE` is the wall clock as of
/// the last timer tick, so it moves in steps of 1 to 4 ms (`CONFIG_HZ`), which the offsets'
/// counter covers (`Offset::next`); it is read from memory the kernel shares (the vDSO) in
/// about 8 ns, where `SystemTime::now()` reads the CPU's time-stamp counter too (about 35 ns
/// in the VM this was measured on, `NOTES.md`, "Recovery's emit path").
pub fn coarse_now_millis() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `clock_gettime` writes one `timespec` through a pointer to one.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) };
    if status != 0 {
        // Not on Linux before 2.6.32: the precise clock.
        return SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0);
    }
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
    seconds * 1000 + nanos / 1_000_000
}

/// yeast's `encode` of one number, written on the stack (an offset is written for every logged
/// event): its digits are `bytes[start..]`.
struct Digits {
    /// 11 base-64 digits hold any `u64`.
    bytes: [u8; 11],
    start: usize,
}

impl Digits {
    /// `n` in base 64, most significant digit first, at least one digit.
    fn of(mut n: u64) -> Digits {
        let mut digits = Digits {
            bytes: [0; 11],
            start: 11,
        };
        loop {
            digits.start -= 1;
            digits.bytes[digits.start] = ALPHABET[(n % 64) as usize];
            n /= 64;
            if n == 0 {
                return digits;
            }
        }
    }

    /// The digits, most significant first: bytes of `ALPHABET`, all ASCII.
    fn bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Appends the digits to `text`, each an ASCII character of `ALPHABET` (pushed as a `char`:
    /// no UTF-8 check of the whole, which cost more than the digits themselves).
    fn push_to(&self, text: &mut String) {
        for byte in self.bytes() {
            text.push(char::from(*byte));
        }
    }
}

/// yeast's `decode`, strict: one to [`MAX_DIGITS`] digits of the alphabet, no leading zero
/// (yeast never writes one, so such a text names no offset we made).
fn decode(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > MAX_DIGITS || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    let mut n: u64 = 0;
    for byte in text.bytes() {
        let digit = ALPHABET.iter().position(|each| *each == byte)? as u64;
        n = n * 64 + digit;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(n: u64) -> String {
        let mut text = String::new();
        Digits::of(n).push_to(&mut text);
        text
    }

    #[test]
    fn written_as_yeast_writes_them() {
        // Node: require('yeast').encode(1764590000000) === 'PhPmfU0'
        assert_eq!(encode(1_764_590_000_000), "PhPmfU0");
        assert_eq!(encode(0), "0");
        assert_eq!(encode(63), "_");
        assert_eq!(encode(64), "10");
        assert_eq!(encode(u64::MAX), "F__________");
        let first = Offset::next(None, 1_764_590_000_000);
        let second = Offset::next(Some(first), 1_764_590_000_000);
        let third = Offset::next(Some(second), 1_764_590_000_000);
        assert_eq!(second.to_string(), format!("{first}.0"));
        assert_eq!(third.to_string(), format!("{first}.1"));
        for offset in [first, second, third] {
            assert_eq!(offset.to_text(), offset.to_string());
            let mut written = b"[".to_vec();
            offset.write_to(&mut written);
            assert_eq!(written, format!("[{offset}").into_bytes());
        }
        assert!(first < second && second < third);
        for offset in [first, second, third] {
            assert_eq!(Offset::parse(&offset.to_string()), Some(offset));
        }
    }

    #[test]
    fn never_backwards() {
        let last = Offset::next(None, 2_000);
        let after_clock_went_back = Offset::next(Some(last), 1_000);
        assert!(after_clock_went_back > last);
        assert_eq!(after_clock_went_back, Offset { millis: 2_000, seed: 1 });
        assert_eq!(
            Offset::next(Some(after_clock_went_back), 2_001),
            Offset { millis: 2_001, seed: 0 }
        );
    }

    #[test]
    fn anything_else_is_no_offset() {
        for text in ["", ".", "a.", ".a", "a.b.c", "é", "00", "a b", "ZZZZZZZZZZZ", "a.00"] {
            assert_eq!(Offset::parse(text), None, "{text:?}");
        }
        assert_eq!(Offset::parse("1.0"), Some(Offset { millis: 1, seed: 1 }));
        assert_eq!(Offset::parse("1.-"), Some(Offset { millis: 1, seed: 63 }));
    }
}
