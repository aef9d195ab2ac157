//! WebSocket frames (RFC 6455 section 5): the client's, read by the WebSocket's reader thread
//! ([`FrameReader`]), and ours, encoded for the writer ([`encode_frame`]).
//!
//! ```text
//!  byte 0: FIN RSV1 RSV2 RSV3 opcode(4)   1 text, 2 binary, 0 continuation, 8 close, 9 ping, 10 pong
//!  byte 1: MASK length(7)                 0..125, or 126: 2 more bytes, 127: 8 more bytes
//!  [extended length]  mask key (4 bytes, always there: a client masks every frame)  payload
//!
//!  81 82 5d 3c 1a 07 69 0e                a text frame "42" masked with 5d 3c 1a 07: `42` is
//!                                         0x34 0x32, and 0x34^0x5d=0x69, 0x32^0x3c=0x0e
//! ```
//!
//! A frame from the server is the same without the mask (a server never masks), and always final
//! here (no message is sent in fragments): `81 02 34 32` is the text frame `42`.
//!
//! Why not tungstenite's reader and writer (tungstenite still computes the handshake's
//! `Sec-WebSocket-Accept`)? The writer's state (a `WebSocket` with its buffers, kept for the
//! whole connection) is a few hundred bytes per client, and each frame passed through a
//! `Message`, a `Frame` and a copy into its buffer; here a frame is two to ten header bytes and
//! the payload, appended to the bytes going out. The reader keeps a read buffer for
//! the whole life of the connection, zero-filled when made (4 KiB here, so 4 KiB of resident memory
//! per client) and grown to the largest frame ever received, never shrunk. Here a `read` with
//! nothing pending lands in a 1 KiB array on the reader's stack (a page the waiting reader holds
//! anyway), and only the bytes that came are copied to the heap; a larger burst reads on in 4 KiB
//! steps. While a client's bursts come over 1 KiB at a time (a read filled the array), its reads
//! go straight into a 4 KiB heap buffer instead, so that a burst is one `read` and its answers
//! one `send` (the reader writes what its handlers queued before each `read`: `websocket.rs`);
//! the first read that brings 1 KiB or less, or times out, goes back to the array. The heap
//! buffer is freed as soon as every byte in it is parsed, so an idle client costs no buffer at
//! all. (Freeing it only later, when the client goes quiet, would not do: memory freed to malloc
//! stays in the process's RSS unless the next allocation reuses it.) Each message is copied out
//! into a `Vec` of its own size.
//!
//! The rules are tungstenite's (and the RFC's): a frame from a client is masked; RSV bits are 0
//! (no extension is negotiated); a control frame (close, ping, pong) is final and at most 125
//! bytes; a continuation needs a message to continue, and a new message must not start inside
//! one; text is UTF-8; no frame or message exceeds `maxPayload` (checked from the header, before
//! the payload is read); a close frame is empty or has a 2-byte code and a UTF-8 reason.

use std::io::{self, Read};

/// The array on the stack that a `read` with nothing pending goes into.
const SMALL_READ_BYTES: usize = 1024;
/// How much one `read` asks of the socket when bytes are pending and the frame in progress needs
/// no more than that, or when the client's bursts are larger than `SMALL_READ_BYTES`.
const READ_CHUNK_BYTES: usize = 4096;
/// The most one `read` asks for, for a large frame (the buffer is zero-filled that far first).
const MAX_READ_BYTES: usize = 64 * 1024;

/// One complete message (or control frame) from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Incoming {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    /// A close frame: the client ends the WebSocket.
    Close,
}

/// Why no message could be read.
#[derive(Debug)]
pub(super) enum FrameError {
    /// The socket failed, timed out (`WouldBlock`/`TimedOut`: nothing is lost, call again), or
    /// the client closed it (`UnexpectedEof`).
    Io(io::Error),
    /// A frame breaks the protocol: the WebSocket ends ("transport error").
    Protocol(&'static str),
    /// A frame or message over the limit (close code 1009).
    TooLarge(u64),
}

impl From<io::Error> for FrameError {
    fn from(error: io::Error) -> FrameError {
        FrameError::Io(error)
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::Protocol(why) => write!(f, "WebSocket protocol error: {why}"),
            FrameError::TooLarge(size) => write!(f, "message of {size} bytes or more: over the limit"),
        }
    }
}

/// A message being put together from fragments (a frame with FIN = 0, then continuations).
struct Fragmented {
    text: bool,
    payload: Vec<u8>,
}

/// Reads frames from one client: the bytes read but not parsed yet, and the fragmented message in
/// progress, if any.
pub(super) struct FrameReader {
    /// Bytes read from the socket; `buffer[start..]` is not parsed yet.
    buffer: Vec<u8>,
    start: usize,
    fragmented: Option<Fragmented>,
    /// `maxPayload`: the largest frame, and the largest message.
    max_size: usize,
    /// The client's last burst was larger than `SMALL_READ_BYTES`: the next read with nothing
    /// pending asks for `READ_CHUNK_BYTES` on the heap, not the stack array (see `fill`).
    bursts: bool,
}

/// A parsed frame header.
struct Header {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Bytes of the header itself (2 to 14).
    header_len: usize,
    payload_len: u64,
}

impl FrameReader {
    /// A reader that starts with `leftover`, the bytes that came right behind the upgrade request.
    pub fn new(leftover: Vec<u8>, max_size: usize) -> FrameReader {
        FrameReader {
            // A copy of its own size: the connection's read buffer (4 KiB) is not kept.
            buffer: leftover.as_slice().to_vec(),
            start: 0,
            fragmented: None,
            max_size,
            bursts: false,
        }
    }

    /// Bytes of the buffer that are kept.
    #[cfg(test)]
    pub fn buffer_capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// The next message: reads the socket until one is complete. A ping or pong is returned as
    /// it comes, even between the fragments of a message. An `Io` error of `WouldBlock` or
    /// `TimedOut` loses nothing: calling again goes on where it stopped.
    pub fn read_message(&mut self, stream: &mut impl Read) -> Result<Incoming, FrameError> {
        loop {
            let header = match parse_header(&self.buffer[self.start..])? {
                Some(header) => header,
                None => {
                    self.fill(stream, 14)?;
                    continue;
                }
            };
            self.check_header(&header)?;
            let frame_len = header.header_len + header.payload_len as usize;
            if self.buffer.len() - self.start < frame_len {
                self.fill(stream, frame_len)?;
                continue;
            }
            // The whole frame is here: unmask its payload into a `Vec` of its own.
            let payload_start = self.start + header.header_len;
            let mut payload = self.buffer[payload_start..self.start + frame_len].to_vec();
            self.start += frame_len;
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= header.mask[i % 4];
            }
            self.after_frame();
            if let Some(incoming) = self.on_frame(&header, payload)? {
                return Ok(incoming);
            }
        }
    }

    /// The header's rules, checked before its payload is read.
    fn check_header(&self, header: &Header) -> Result<(), FrameError> {
        if header.opcode >= 8 {
            if !header.fin {
                return Err(FrameError::Protocol("fragmented control frame"));
            }
            if header.payload_len > 125 {
                return Err(FrameError::Protocol("control frame over 125 bytes"));
            }
            return Ok(());
        }
        let so_far = self
            .fragmented
            .as_ref()
            .map_or(0, |message| message.payload.len() as u64);
        if header.payload_len > self.max_size as u64 || so_far + header.payload_len > self.max_size as u64 {
            return Err(FrameError::TooLarge(so_far + header.payload_len));
        }
        Ok(())
    }

    /// A complete, unmasked frame: a message, a control frame, or a fragment (`None`: read on).
    fn on_frame(&mut self, header: &Header, payload: Vec<u8>) -> Result<Option<Incoming>, FrameError> {
        match (header.opcode, self.fragmented.as_mut()) {
            (8, _) => {
                check_close_payload(&payload)?;
                Ok(Some(Incoming::Close))
            }
            (9, _) => Ok(Some(Incoming::Ping(payload))),
            (10, _) => Ok(Some(Incoming::Pong)),
            (0, None) => Err(FrameError::Protocol("continuation frame with no message to continue")),
            (0, Some(message)) => {
                message.payload.extend_from_slice(&payload);
                if !header.fin {
                    return Ok(None);
                }
                let message = self.fragmented.take().expect("checked above");
                message_of(message.text, message.payload).map(Some)
            }
            (1 | 2, Some(_)) => Err(FrameError::Protocol("a new message inside a fragmented one")),
            (1 | 2, None) => {
                let text = header.opcode == 1;
                if header.fin {
                    return message_of(text, payload).map(Some);
                }
                self.fragmented = Some(Fragmented { text, payload });
                Ok(None)
            }
            _ => Err(FrameError::Protocol("unknown opcode")),
        }
    }

    /// After a frame is taken: an emptied buffer is freed.
    fn after_frame(&mut self) {
        if self.start == self.buffer.len() {
            self.start = 0;
            self.buffer = Vec::new();
        }
    }

    /// Reads more: at least `wanted` bytes pending in all, or fewer if the socket has fewer now
    /// (the caller parses again and asks again). One `read` per call.
    ///
    /// With nothing pending, the read goes onto the stack (1 KiB), unless the client's last
    /// burst filled that: then onto the heap (4 KiB), so that a burst of 1 to 4 KiB is one read.
    /// Ten clients each with 32 `42<id>["message-with-ack",<id>]` in flight send bursts of
    /// 1.3 KiB: read 1 KiB at a time, each burst took two reads and two `send`s of answers.
    fn fill(&mut self, stream: &mut impl Read, wanted: usize) -> Result<(), FrameError> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        let have = self.buffer.len();
        if have == 0 && !self.bursts {
            // Nothing pending (the usual case, and the only one for a waiting reader): read onto
            // the stack, keep on the heap what came.
            let mut small = [0u8; SMALL_READ_BYTES];
            let n = read_some(stream, &mut small)?;
            self.buffer.extend_from_slice(&small[..n]);
            self.bursts = n == SMALL_READ_BYTES;
            return Ok(());
        }
        if wanted > self.buffer.capacity() {
            self.buffer.reserve_exact(wanted - have); // a large frame: room for all of it, once
        }
        let room = wanted.saturating_sub(have).clamp(READ_CHUNK_BYTES, MAX_READ_BYTES);
        self.buffer.resize(have + room, 0);
        let read = read_some(stream, &mut self.buffer[have..]);
        let n = *read.as_ref().unwrap_or(&0);
        self.buffer.truncate(have + n);
        if have == 0 {
            // A burst read onto the heap: the next one comes here too while they are large.
            self.bursts = n > SMALL_READ_BYTES;
        }
        if read.is_err() {
            // A timeout (the client went quiet) or the end: the next read, if any, waits on the
            // stack again, and no empty buffer is kept meanwhile.
            self.bursts = false;
            if self.buffer.is_empty() {
                self.buffer = Vec::new();
            }
        }
        read.map(drop)
    }
}

/// One `read` (again if interrupted); the client closing is `UnexpectedEof`.
fn read_some(stream: &mut impl Read, into: &mut [u8]) -> Result<usize, FrameError> {
    loop {
        match stream.read(into) {
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
}

/// Opcodes of the frames the server writes.
pub(super) const TEXT: u8 = 0x1;
pub(super) const BINARY: u8 = 0x2;
pub(super) const CLOSE: u8 = 0x8;
pub(super) const PONG: u8 = 0xa;

/// Appends one frame from the server to `out`: FIN and `opcode`, the payload's length (7 bits, or
/// 126 and 16 bits, or 127 and 64 bits), no mask, then the payload, given in `parts` that follow
/// each other (`[b"4", text]`: the Engine.IO type and the message, with no copy in between).
///
/// ```text
/// encode_frame(out, TEXT, &[b"4", b"hi"])   ->  81 03 34 68 69
/// ```
pub(super) fn encode_frame(out: &mut Vec<u8>, opcode: u8, parts: &[&[u8]]) {
    let length: usize = parts.iter().map(|part| part.len()).sum();
    out.reserve(10 + length);
    out.push(0x80 | opcode);
    match length {
        n if n < 126 => out.push(n as u8),
        n if n < 65536 => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// The header at the start of `bytes`, or `None` while it is incomplete.
fn parse_header(bytes: &[u8]) -> Result<Option<Header>, FrameError> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    let fin = bytes[0] & 0x80 != 0;
    if bytes[0] & 0x70 != 0 {
        return Err(FrameError::Protocol("reserved bits set"));
    }
    let opcode = bytes[0] & 0x0f;
    if bytes[1] & 0x80 == 0 {
        return Err(FrameError::Protocol("unmasked frame from a client"));
    }
    let (payload_len, length_bytes) = match bytes[1] & 0x7f {
        126 => match bytes.get(2..4) {
            Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 2),
            None => return Ok(None),
        },
        127 => match bytes.get(2..10) {
            Some(b) => {
                let length = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                if length >> 63 != 0 {
                    return Err(FrameError::Protocol("payload length with its top bit set"));
                }
                (length, 8)
            }
            None => return Ok(None),
        },
        short => (short as u64, 0),
    };
    let mask_start = 2 + length_bytes;
    let mask = match bytes.get(mask_start..mask_start + 4) {
        Some(b) => [b[0], b[1], b[2], b[3]],
        None => return Ok(None),
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        header_len: mask_start + 4,
        payload_len,
    }))
}

/// A whole data message.
fn message_of(text: bool, payload: Vec<u8>) -> Result<Incoming, FrameError> {
    if !text {
        return Ok(Incoming::Binary(payload));
    }
    match String::from_utf8(payload) {
        Ok(text) => Ok(Incoming::Text(text)),
        Err(_) => Err(FrameError::Protocol("text message that is not UTF-8")),
    }
}

/// A close frame's payload: nothing, or a code (2 bytes) and a UTF-8 reason.
fn check_close_payload(payload: &[u8]) -> Result<(), FrameError> {
    match payload.len() {
        0 => Ok(()),
        1 => Err(FrameError::Protocol("close frame with a 1-byte payload")),
        _ => match std::str::from_utf8(&payload[2..]) {
            Ok(_) => Ok(()),
            Err(_) => Err(FrameError::Protocol("close reason that is not UTF-8")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A client frame: FIN/opcode byte, then the masked payload (mask 1 2 3 4).
    fn frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut bytes = vec![first_byte];
        match payload.len() {
            n if n < 126 => bytes.push(0x80 | n as u8),
            n if n < 65536 => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        bytes.extend_from_slice(&mask);
        bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        bytes
    }

    /// Reads every message of `bytes`, handed out `chunk` bytes per `read`.
    fn read_all(bytes: &[u8], chunk: usize, max_size: usize) -> Vec<Result<Incoming, String>> {
        struct Chunked<'a>(&'a [u8], usize);
        impl Read for Chunked<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut stream = Chunked(bytes, chunk);
        let mut reader = FrameReader::new(Vec::new(), max_size);
        let mut out = Vec::new();
        loop {
            match reader.read_message(&mut stream) {
                Ok(message) => out.push(Ok(message)),
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return out,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }

    #[test]
    fn server_frames_are_unmasked_and_final_with_the_length_they_need() {
        let mut out = Vec::new();
        encode_frame(&mut out, TEXT, &[b"4", b"hi"]);
        assert_eq!(out, [0x81, 0x03, b'4', b'h', b'i']);
        out.clear();
        encode_frame(&mut out, CLOSE, &[&1009u16.to_be_bytes(), b"too big"]);
        assert_eq!(&out[..4], [0x88, 9, 0x03, 0xf1]);
        for (length, header) in [
            (125, vec![0x82, 125]),
            (126, vec![0x82, 126, 0, 126]),
            (70_000, {
                let mut h = vec![0x82, 127];
                h.extend_from_slice(&70_000u64.to_be_bytes());
                h
            }),
        ] {
            out.clear();
            encode_frame(&mut out, BINARY, &[&vec![7; length]]);
            assert_eq!(&out[..header.len()], header.as_slice(), "{length}");
            assert_eq!(out.len(), header.len() + length);
        }
    }

    #[test]
    fn the_example_of_the_doc_comment() {
        let bytes = [0x81, 0x82, 0x5d, 0x3c, 0x1a, 0x07, 0x69, 0x0e];
        assert_eq!(read_all(&bytes, 100, 100), vec![Ok(Incoming::Text("42".to_string()))]);
    }

    #[test]
    fn messages_of_every_length_arrive_whole_however_the_bytes_are_cut() {
        let long = "x".repeat(70_000);
        let mut bytes = frame(0x81, b"4hello");
        bytes.extend(frame(0x82, &[1, 2, 3]));
        bytes.extend(frame(0x81, "é".repeat(200).as_bytes())); // 400 bytes: 16-bit length
        bytes.extend(frame(0x81, long.as_bytes())); // 64-bit length
        bytes.extend(frame(0x89, b"ping"));
        bytes.extend(frame(0x8a, b""));
        bytes.extend(frame(0x88, &[0x03, 0xe8, b'b', b'y', b'e']));
        let expected = vec![
            Ok(Incoming::Text("4hello".to_string())),
            Ok(Incoming::Binary(vec![1, 2, 3])),
            Ok(Incoming::Text("é".repeat(200))),
            Ok(Incoming::Text(long.clone())),
            Ok(Incoming::Ping(b"ping".to_vec())),
            Ok(Incoming::Pong),
            Ok(Incoming::Close),
        ];
        for chunk in [1000, 4096, 1 << 20] {
            assert_eq!(read_all(&bytes, chunk, 100_000), expected, "chunk {chunk}");
        }
        // Byte by byte (the two small frames only: each `read` zero-fills the buffer's room first).
        assert_eq!(read_all(&bytes[..21], 1, 100), expected[..2].to_vec());
    }

    #[test]
    fn fragments_are_joined_and_control_frames_may_come_between() {
        let mut bytes = frame(0x01, b"4he"); // text, not final
        bytes.extend(frame(0x89, b"p")); // a ping in between
        bytes.extend(frame(0x00, b"ll")); // continuation
        bytes.extend(frame(0x80, b"o")); // final continuation
        assert_eq!(
            read_all(&bytes, 5, 100),
            vec![
                Ok(Incoming::Ping(b"p".to_vec())),
                Ok(Incoming::Text("4hello".to_string()))
            ]
        );
    }

    #[test]
    fn protocol_violations_end_the_reading() {
        let unmasked = vec![0x81, 0x02, b'4', b'2'];
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (unmasked, "unmasked frame from a client"),
            (frame(0xc1, b"x"), "reserved bits set"),
            (frame(0x83, b"x"), "unknown opcode"),
            (frame(0x09, b"x"), "fragmented control frame"),
            (frame(0x89, &[0; 126]), "control frame over 125 bytes"),
            (frame(0x80, b"x"), "continuation frame with no message to continue"),
            (
                [frame(0x01, b"x"), frame(0x81, b"y")].concat(),
                "a new message inside a fragmented one",
            ),
            (frame(0x81, &[0xff, 0xfe]), "text message that is not UTF-8"),
            (frame(0x88, &[0x03]), "close frame with a 1-byte payload"),
            (frame(0x88, &[0x03, 0xe8, 0xff]), "close reason that is not UTF-8"),
        ];
        for (bytes, why) in cases {
            let read = read_all(&bytes, 100, 1000);
            assert_eq!(read, vec![Err(format!("WebSocket protocol error: {why}"))], "{why}");
        }
    }

    #[test]
    fn the_size_limit_is_checked_from_the_header_for_frames_and_messages() {
        // The header alone says 2,000 bytes: refused before any payload is read.
        let header_only = &frame(0x82, &[0; 2000])[..8];
        assert_eq!(
            read_all(header_only, 100, 1000),
            vec![Err("message of 2000 bytes or more: over the limit".to_string())]
        );
        // Two fragments of 600: the second takes the message past 1,000.
        let bytes = [frame(0x02, &[0; 600]), frame(0x80, &[0; 600])].concat();
        assert_eq!(
            read_all(&bytes, 100, 1000),
            vec![Err("message of 1200 bytes or more: over the limit".to_string())]
        );
        // Exactly the limit is fine.
        assert_eq!(
            read_all(&frame(0x82, &[7; 1000]), 100, 1000),
            vec![Ok(Incoming::Binary(vec![7; 1000]))]
        );
    }

    #[test]
    fn the_buffer_is_kept_only_while_bytes_wait_in_it() {
        let mut bytes = frame(0x81, b"4one");
        bytes.extend(frame(0x81, b"4tw")); // only part of it is read below
        let split = bytes.len() - 2;
        let mut first = &bytes[..split];
        let mut reader = FrameReader::new(Vec::new(), 100_000);
        assert_eq!(
            reader.read_message(&mut first).unwrap(),
            Incoming::Text("4one".to_string())
        );
        // Part of the second frame waits in the buffer, on the heap.
        assert!(reader.buffer_capacity() > 0);
        assert!(matches!(reader.read_message(&mut first), Err(FrameError::Io(_))));
        let mut rest = &bytes[split..];
        assert_eq!(
            reader.read_message(&mut rest).unwrap(),
            Incoming::Text("4tw".to_string())
        );
        // Nothing waits: the buffer is gone.
        assert_eq!(reader.buffer_capacity(), 0);
        // A large frame's buffer does not outlive it.
        let mut large = &frame(0x82, &[1; 50_000])[..];
        assert!(matches!(reader.read_message(&mut large).unwrap(), Incoming::Binary(b) if b.len() == 50_000));
        assert_eq!(reader.buffer_capacity(), 0);
    }

    /// A stream that hands out its bursts one per `read` (as much of each as the read asks),
    /// and counts the reads; `WouldBlock` once they are used up (a client gone quiet).
    struct Bursts {
        bursts: VecDeque<Vec<u8>>,
        reads: usize,
    }

    impl Read for Bursts {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let Some(burst) = self.bursts.front_mut() else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            let n = burst.len().min(out.len());
            out[..n].copy_from_slice(&burst[..n]);
            burst.drain(..n);
            if burst.is_empty() {
                self.bursts.pop_front();
            }
            Ok(n)
        }
    }

    /// 32 messages of 35 bytes (41 with their headers): 1,312 bytes.
    fn burst_of_acks() -> Vec<u8> {
        (0..32)
            .flat_map(|i| frame(0x81, format!("42{i:06}[\"message-with-ack\",{i:06}]").as_bytes()))
            .collect()
    }

    #[test]
    fn bursts_over_one_kib_are_read_whole_once_one_was_seen() {
        let mut stream = Bursts {
            bursts: VecDeque::from([burst_of_acks(), burst_of_acks(), burst_of_acks()]),
            reads: 0,
        };
        let mut reader = FrameReader::new(Vec::new(), 100_000);
        // The first burst: 1 KiB onto the stack, then the rest.
        for _ in 0..32 {
            assert!(matches!(reader.read_message(&mut stream), Ok(Incoming::Text(_))));
        }
        assert_eq!(stream.reads, 2);
        // The next ones: one read each, into the heap buffer.
        for _ in 0..64 {
            assert!(matches!(reader.read_message(&mut stream), Ok(Incoming::Text(_))));
        }
        assert_eq!(stream.reads, 4);
        // The client goes quiet: the read times out, and no buffer is kept.
        assert!(matches!(reader.read_message(&mut stream), Err(FrameError::Io(_))));
        assert_eq!(reader.buffer_capacity(), 0);
        // After the quiet, a small message is read onto the stack again.
        stream.bursts.push_back(frame(0x81, b"42[\"hi\"]"));
        assert!(matches!(reader.read_message(&mut stream), Ok(Incoming::Text(_))));
        assert_eq!(reader.buffer_capacity(), 0);
        assert!(!reader.bursts);
    }
}
