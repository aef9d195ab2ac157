//! HTTP compression of polling answers (`httpCompression`, on by default with a 1024-byte
//! threshold): what goes on the wire against `examples/engine_echo` and `examples/interop`
//! (these pass against the reference too, with `ENGINE_ECHO_COMMAND` / `INTEROP_COMMAND`), then
//! in-process what only our API reaches (a packet sent with `compress: false`, the option off).

mod support;

use std::io::Read;
use std::sync::Arc;
use std::thread;

use socketio_book::engineio::{Handler, HttpCompressionOptions, Message, Server, ServerOptions, Socket, WriteOptions};
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::timer::Timers;
use support::*;

/// What a browser sends.
const BROWSER: &str = "gzip, deflate, br, zstd";

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip");
    out
}

fn inflate(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("zlib");
    out
}

/// Echoes `message` over polling, then GETs it with `accept_encoding`.
fn echo(server: &EchoServer, message: &str, accept_encoding: Option<&str>) -> Response {
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), message.as_bytes()).text(), "ok");
    let accept: Vec<(&str, &str)> = accept_encoding.map(|a| ("Accept-Encoding", a)).into_iter().collect();
    let response = http.request("GET", &polling(&sid), &accept, None);
    assert_eq!(response.status, 200, "{response:?}");
    response
}

#[test]
fn a_10_kb_answer_is_gzipped() {
    let server = EchoServer::start(&[]);
    let message = format!("4{}", "news for everyone ".repeat(560)); // 10,081 bytes
    let response = echo(&server, &message, Some(BROWSER));
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("Content-Encoding", "gzip"),
            ("cache-control", "no-store"),
        ])
    );
    // Node's gzip header: no name, no time, the default level, OS 3 (Unix).
    assert_eq!(&response.body[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    assert!(response.body.len() < 200, "{} bytes compressed", response.body.len());
    assert_eq!(gunzip(&response.body), message.as_bytes());
}

#[test]
fn deflate_when_the_client_prefers_it() {
    let server = EchoServer::start(&[]);
    let message = format!("4{}", "z".repeat(5000));
    for accept in ["deflate", "deflate, gzip", "gzip;q=0.5, deflate"] {
        let response = echo(&server, &message, Some(accept));
        assert_eq!(response.header("Content-Encoding"), Some("deflate"), "{accept}");
        // The zlib format (Node's `createDeflate`), not raw deflate.
        assert_eq!(&response.body[..2], &[0x78, 0x9c], "{accept}");
        assert_eq!(inflate(&response.body), message.as_bytes(), "{accept}");
    }
}

#[test]
fn the_threshold_is_1024_bytes_of_answer() {
    let server = EchoServer::start(&[]);
    // 1023 bytes: as it is.
    let small = format!("4{}", "a".repeat(1022));
    let response = echo(&server, &small, Some(BROWSER));
    assert_eq!(response.header("Content-Encoding"), None);
    assert_eq!(response.text(), small);
    // 1024 bytes: compressed.
    let large = format!("4{}", "a".repeat(1023));
    let response = echo(&server, &large, Some(BROWSER));
    assert_eq!(response.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&response.body), large.as_bytes());
}

#[test]
fn identity_or_no_accept_encoding_gets_it_as_it_is() {
    let server = EchoServer::start(&[]);
    let message = format!("4{}", "b".repeat(4000));
    for accept in [None, Some("identity"), Some("br"), Some("gzip;q=0, deflate;q=0")] {
        let response = echo(&server, &message, accept);
        assert_eq!(response.header("Content-Encoding"), None, "{accept:?}");
        assert_eq!(response.text(), message, "{accept:?}");
        assert_eq!(
            engine_headers(&response),
            pairs(&[
                ("Content-Type", "text/plain; charset=UTF-8"),
                ("cache-control", "no-store"),
            ]),
            "{accept:?}"
        );
    }
}

#[test]
fn a_v3_binary_payload_is_compressed_with_its_content_type() {
    let server = EchoServer::start(&["--allow-eio3"]);
    let mut http = server.http();
    let open = http.get("EIO=3&transport=polling").text();
    let sid = sid_of_open(open.split_once(':').unwrap().1);
    let query = format!("EIO=3&transport=polling&sid={sid}");
    // One binary MESSAGE of 2000 bytes in the binary framing: <1> <2 0 0 1> <255> 04 <data>.
    let mut payload = vec![1, 2, 0, 0, 1, 255, 4];
    payload.extend(std::iter::repeat_n(7u8, 2000));
    let posted = http.request(
        "POST",
        &query,
        &[("Content-Type", "application/octet-stream")],
        Some(&payload),
    );
    assert_eq!(posted.text(), "ok");
    let response = http.request("GET", &query, &[("Accept-Encoding", "gzip")], None);
    assert_eq!(
        engine_headers(&response),
        pairs(&[
            ("Content-Type", "application/octet-stream"),
            ("Content-Encoding", "gzip"),
            ("cache-control", "no-store"),
        ])
    );
    assert_eq!(gunzip(&response.body), payload);
}

#[test]
fn a_10_kb_socket_io_emit_over_polling() {
    let server = EchoServer::start_interop(&[]);
    let mut http = Http::connect_at(server.port, "/socket.io/");
    let sid = sid_of_open(&http.get(POLLING_HANDSHAKE).text());
    assert_eq!(http.post(&polling(&sid), b"40").text(), "ok");
    let connected = http.get(&polling(&sid)).packets();
    assert!(connected.iter().any(|p| p.starts_with("40{")), "{connected:?}");
    let text = "Hello Socket.IO ".repeat(640); // 10,240 bytes
    let event = format!(r#"42["message","{text}"]"#);
    assert_eq!(http.post(&polling(&sid), event.as_bytes()).text(), "ok");
    let response = http.request("GET", &polling(&sid), &[("Accept-Encoding", BROWSER)], None);
    assert_eq!(response.header("Content-Encoding"), Some("gzip"));
    assert_eq!(
        String::from_utf8(gunzip(&response.body)).unwrap(),
        format!(r#"42["message-back","{text}"]"#)
    );
}

#[test]
fn no_per_message_deflate_on_websockets() {
    // The reference's `perMessageDeflate` is off by default (and tungstenite has none): a client
    // that offers the extension gets a `101` without it, and plain frames.
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    http.send(&upgrade_request_with(server.port, WEBSOCKET_HANDSHAKE, offer));
    assert_eq!(
        String::from_utf8(http.read_raw_until(b"\r\n\r\n")).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    // The open packet: FIN + text, RSV1 (compressed) not set.
    assert_eq!(http.read_raw(1), [0x81]);
}

// ----- in-process: `compress: false` and the option off ----------------------------------------

/// Echoes each message back; `nc...` messages with `compress: false`.
struct Echo;

impl Handler for Echo {
    fn on_connection(&self, _socket: &Socket) {}
    fn on_message(&self, socket: &Socket, message: Message) {
        let compress = !matches!(&message, Message::Text(text) if text.starts_with("nc"));
        let _ = socket.write(vec![message], WriteOptions { compress });
    }
    fn on_close(&self, _socket: &Socket, _reason: &str) {}
}

fn serve_engine(options: ServerOptions) -> u16 {
    let server = Server::new(options, Arc::new(Echo), Timers::start().unwrap());
    let http = HttpServer::bind("127.0.0.1:0", ListenerConfig::default()).unwrap();
    let port = http.local_addr().unwrap().port();
    thread::spawn(move || http.serve(Arc::new(server)));
    port
}

/// POSTs `body`, then GETs with gzip accepted: the answer.
fn round_trip(port: u16, body: &str) -> Response {
    let mut http = Http::connect(port);
    let (sid, _) = handshake(&mut http);
    assert_eq!(http.post(&polling(&sid), body.as_bytes()).text(), "ok");
    http.request("GET", &polling(&sid), &[("Accept-Encoding", "gzip")], None)
}

#[test]
fn packets_sent_with_compress_false_are_not_compressed() {
    let port = serve_engine(ServerOptions::default());
    let big = "x".repeat(3000);
    // Every packet of the answer said `compress: false`: as it is.
    let response = round_trip(port, &format!("4nc{big}\u{1e}4nc{big}"));
    assert_eq!(response.header("Content-Encoding"), None);
    assert_eq!(response.text(), format!("4nc{big}\u{1e}4nc{big}"));
    // One of them with `compress` (the default) is enough, as in the reference (`some`).
    let response = round_trip(port, &format!("4nc{big}\u{1e}4yes"));
    assert_eq!(response.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&response.body), format!("4nc{big}\u{1e}4yes").as_bytes());
}

#[test]
fn options_turn_it_off_or_move_the_threshold() {
    let off = serve_engine(ServerOptions {
        http_compression: None,
        ..ServerOptions::default()
    });
    let big = format!("4{}", "y".repeat(5000));
    let response = round_trip(off, &big);
    assert_eq!(response.header("Content-Encoding"), None);
    assert_eq!(response.text(), big);

    let low = serve_engine(ServerOptions {
        http_compression: Some(HttpCompressionOptions { threshold: 10 }),
        ..ServerOptions::default()
    });
    let response = round_trip(low, "4twelve bytes");
    assert_eq!(response.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&response.body), b"4twelve bytes");
}

/// Socket.IO's `compress(false)` (on an emit and on a broadcast) reaches the polling answer.
#[test]
fn socket_io_compress_false() {
    use socketio_book::socketio::{Server as Io, ServerOptions as IoOptions};
    let io = Io::new(IoOptions::default()).unwrap();
    let sockets = sockets_of(&io);
    let port = serve(&io);
    let (mut session, _) = Polling::connect(port);
    let socket = sockets.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
    let big = "a".repeat(4000);
    let answer = |session: &mut Polling| {
        let query = polling(&session.sid);
        session.get.request("GET", &query, &[("Accept-Encoding", "gzip")], None)
    };
    socket.emit("big", vec![big.clone().into()]).unwrap();
    let compressed = answer(&mut session);
    assert_eq!(compressed.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gunzip(&compressed.body), format!(r#"42["big","{big}"]"#).as_bytes());

    socket.compress(false).emit("big", vec![big.clone().into()]).unwrap();
    let plain = answer(&mut session);
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.text(), format!(r#"42["big","{big}"]"#));

    io.compress(false).emit("all", vec![big.clone().into()]).unwrap();
    let plain = answer(&mut session);
    assert_eq!(plain.header("Content-Encoding"), None);
    assert_eq!(plain.text(), format!(r#"42["all","{big}"]"#));
}
