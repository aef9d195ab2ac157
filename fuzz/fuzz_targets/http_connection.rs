//! The HTTP layer: bytes a client sends, fed through `http::Connection` as the listener's
//! `handle_connection` does (read a request, maybe read its body, skip what was not read, next
//! request while the connection is kept alive), over an in-memory socket.
//!
//! The input:
//!
//! ```text
//! byte 0-1   the body limit the handler passes to `read_body` (like maxPayload), u16 LE × 16
//! byte 2-3   filler: this many × 256 bytes are sent after the data (0 to 16 MiB) ...
//! byte 4     ... all of this byte (a large body or head from a small input)
//! byte 5     the client writes the data in pieces of 1 + 16 × this many bytes
//! byte 6     bit 0: the handler reads a POST's body (else it answers without reading it)
//! rest       the data: request heads and bodies, e.g. `POST /engine.io/?EIO=4 HTTP/1.1\r\n...`
//! ```
//!
//! The socket is one end of a `socketpair(AF_UNIX, SOCK_SEQPACKET)`: each `read` returns
//! exactly one piece the client wrote, so a run is the same every time (a TCP or
//! `SOCK_STREAM` reader would see the pieces merged as the scheduler goes). Its descriptor is
//! wrapped as the `TcpStream` that `Connection` takes: nothing in `Connection` needs TCP itself
//! (the listener sets TCP_NODELAY). A thread writes the client's side, then closes it.
//!
//! Checks: nothing panics or hangs; a body is never longer than the handler's limit (a
//! `Content-Length` body exactly as long as announced); and the limits hold for memory: a
//! counting global allocator measures the peak of the heap during the run, which must stay
//! under `memory_bound` whatever the input, the filler and the announced lengths.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use socketio_book::http::{BodyFraming, Connection, Limits, MAX_HEAD_BYTES, MAX_SKIPPED_BODY, READ_CHUNK_BYTES};

/// The allocator of this process: the system's, counting the bytes allocated.
struct CountingAllocator;

/// Bytes allocated and not freed yet.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most `LIVE` has been since `reset_peak`.
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

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The most heap a connection may hold: a few times the largest body it may take in (the
/// handler's limit, or the most `skip_unread_body` skips), a head, and one read.
fn memory_bound(body_limit: usize) -> usize {
    8 * (body_limit.max(MAX_SKIPPED_BODY) + MAX_HEAD_BYTES + READ_CHUNK_BYTES)
}

/// What the input asks for; see the module's doc.
struct Setup<'a> {
    body_limit: usize,
    filler_len: usize,
    filler_byte: u8,
    piece_len: usize,
    read_post_bodies: bool,
    data: &'a [u8],
}

fn setup(input: &[u8]) -> Option<Setup<'_>> {
    if input.len() < 7 {
        return None;
    }
    Some(Setup {
        body_limit: usize::from(u16::from_le_bytes([input[0], input[1]])) * 16,
        filler_len: usize::from(u16::from_le_bytes([input[2], input[3]])) * 256,
        filler_byte: input[4],
        piece_len: 1 + 16 * usize::from(input[5]),
        read_post_bodies: input[6] & 1 == 1,
        data: &input[7..],
    })
}

fuzz_target!(|input: &[u8]| {
    let Some(setup) = setup(input) else {
        return;
    };
    let (server_end, client_end) = seqpacket_pair();
    let client_data = setup.data.to_vec();
    let (piece_len, filler_len, filler_byte) = (setup.piece_len, setup.filler_len, setup.filler_byte);
    let client = thread::spawn(move || {
        send_as_client(&client_end, &client_data, piece_len, filler_len, filler_byte);
    });

    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    serve(TcpStream::from(server_end), &setup);
    let peak = PEAK.load(Ordering::SeqCst) - before;
    assert!(
        peak <= memory_bound(setup.body_limit),
        "the connection held {peak} bytes, over {} (body limit {})",
        memory_bound(setup.body_limit),
        setup.body_limit
    );
    client.join().expect("the client thread panicked");
});

/// The listener's `handle_connection`, less the answers: nobody reads them here.
fn serve(stream: TcpStream, setup: &Setup) {
    let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
    // No timeout fires in a run (the client sends all it has at once, then closes); a bug that
    // waits anyway shows up as a libFuzzer timeout (`-timeout=10` in `run-all`).
    let limits = Limits {
        keep_alive_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_secs(30),
        write_timeout: Duration::from_secs(30),
    };
    let mut connection = Connection::new(stream, peer, limits).expect("a new connection");
    loop {
        let Ok(request) = connection.read_request() else {
            return;
        };
        // What the services ask of a request.
        let _ = request.keep_alive();
        let _ = request.is_websocket_upgrade();
        let _ = request.query_param("sid");
        assert!(request.url.starts_with(&request.path));
        if setup.read_post_bodies && request.method == "POST" {
            match connection.read_body(&request, setup.body_limit) {
                Ok(body) => {
                    assert!(body.len() <= setup.body_limit, "{} bytes", body.len());
                    if let BodyFraming::Length(length) = request.body {
                        assert_eq!(body.len() as u64, length);
                    }
                }
                // The service answers 413, 411 or 400 and closes.
                Err(_) => return,
            }
        }
        if !request.keep_alive() {
            return;
        }
        if connection.skip_unread_body().is_err() {
            return;
        }
    }
}

/// `socketpair(AF_UNIX, SOCK_SEQPACKET)`: a socket whose reads return one write each.
fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors socketpair writes.
    let result = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(result, 0, "socketpair: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened, and nothing else owns them.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// The client: the data in pieces of `piece_len`, then the filler, then it closes. It stops
/// early when the server closed its end.
fn send_as_client(socket: &OwnedFd, data: &[u8], piece_len: usize, filler_len: usize, filler_byte: u8) {
    for piece in data.chunks(piece_len.min(READ_CHUNK_BYTES)) {
        if !send_piece(socket, piece) {
            return;
        }
    }
    let filler = [filler_byte; READ_CHUNK_BYTES];
    let mut left = filler_len;
    while left > 0 {
        let len = left.min(filler.len());
        if !send_piece(socket, &filler[..len]) {
            return;
        }
        left -= len;
    }
}

/// One `send`: `false` once the server is gone (MSG_NOSIGNAL: an error, not a SIGPIPE).
fn send_piece(socket: &OwnedFd, piece: &[u8]) -> bool {
    loop {
        // SAFETY: `socket` is open, `piece` is valid for reads of its length.
        let sent = unsafe {
            libc::send(
                socket.as_raw_fd(),
                piece.as_ptr().cast(),
                piece.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if sent >= 0 {
            return true;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}
