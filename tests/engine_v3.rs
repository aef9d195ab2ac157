//! Engine.IO v3 on the wire (socket.io 2.x clients, `allow_eio3`), against `examples/engine_echo
//! --allow-eio3`: the exact bytes the reference sends (its `parser-v3` and `protocol === 3`
//! branches), over polling, JSONP and WebSocket, and its answers to bad v3 input. Every test
//! passes against the reference too: `ENGINE_ECHO_COMMAND="node
//! tests/node/reference/engine_echo.mjs" cargo test --test engine_v3`.

mod support;

use std::time::{Duration, Instant};

use support::*;

const ALLOW_EIO3: &str = "--allow-eio3";

/// The query of a v3 polling request of session `sid`.
fn polling3(sid: &str) -> String {
    format!("EIO=3&transport=polling&sid={sid}")
}

/// A v3 polling handshake with `query` (`EIO=3&transport=polling...`): the sid and the open
/// packet, checked to be one framed packet.
fn handshake3(http: &mut Http, query: &str) -> (String, String) {
    let response = http.get(query);
    assert_eq!(response.status, 200, "handshake: {response:?}");
    assert_eq!(response.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    let body = response.text();
    let (length, open) = body.split_once(':').expect("<length>:<packet>");
    assert_eq!(length, open.encode_utf16().count().to_string(), "{body}");
    (sid_of_open(open), open.to_string())
}

/// A POST with this content type; must be answered `ok`.
fn post_as(http: &mut Http, query: &str, content_type: &str, body: &[u8]) {
    let response = http.request("POST", query, &[("Content-Type", content_type)], Some(body));
    assert_eq!(
        (response.status, response.text()),
        (200, "ok".to_string()),
        "{response:?}"
    );
}

// ----- the handshake --------------------------------------------------------------------------

// Without allow_eio3, `EIO=3` and no `EIO` at all (the reference's
// `req._query.EIO === "4" ? 4 : 3`) get error 5: engine_protocol.rs,
// error_5_unsupported_protocol_version.

#[test]
fn the_open_packet_as_the_reference_sends_it_to_v3() {
    let server = EchoServer::start(&[ALLOW_EIO3, "--ping-interval", "1234", "--ping-timeout", "5678"]);
    let mut http = server.http();
    let (sid, open) = handshake3(&mut http, "EIO=3&transport=polling");
    assert_sid_format(&sid);
    // The same JSON as v4 (maxPayload included), framed `<length>:`.
    assert_eq!(open, expected_open(&sid, r#"["websocket"]"#, 1234, 5678, 1000000));
    // No `EIO`: v3 as well.
    let (sid, open) = handshake3(&mut http, "transport=polling");
    assert_eq!(open, expected_open(&sid, r#"["websocket"]"#, 1234, 5678, 1000000));
    // Over WebSocket: one text frame, not framed.
    let mut ws = ws_connect(server.port, "EIO=3&transport=websocket");
    let open = ws_text(&mut ws);
    let sid = sid_of_open(&open);
    assert_eq!(open, expected_open(&sid, "[]", 1234, 5678, 1000000));
}

// ----- polling payloads -----------------------------------------------------------------------

#[test]
fn text_payloads_are_length_prefixed_in_utf16_code_units() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    // `é` is one code unit (two bytes), `😀` two (four bytes).
    let body = "6:4hello2:4é3:4😀";
    assert_eq!(http.post(&polling3(&sid), body.as_bytes()).text(), "ok");
    let answer = http.get(&polling3(&sid));
    assert_eq!(answer.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(answer.text(), body);
    // `0:` is an empty packet, skipped.
    assert_eq!(http.post(&polling3(&sid), b"0:2:4a").text(), "ok");
    assert_eq!(http.get(&polling3(&sid)).text(), "2:4a");
}

#[test]
fn binary_goes_as_the_binary_payload_to_a_client_that_takes_bytes() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    // A binary MESSAGE [1, 2, 3] and the text "4hello", in the binary framing:
    // <1: binary> <4> <255> 04 01 02 03, <0: text> <6> <255> "4hello".
    let payload = [1, 4, 255, 4, 1, 2, 3, 0, 6, 255, b'4', b'h', b'e', b'l', b'l', b'o'];
    post_as(&mut http, &polling3(&sid), "application/octet-stream", &payload);
    let answer = http.get(&polling3(&sid));
    assert_eq!(answer.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(answer.body, payload);
    // `b4<base64>` in a text payload is binary data too; with no binary data in the answer,
    // the answer is text.
    assert_eq!(http.post(&polling3(&sid), b"6:b4AQID").text(), "ok");
    assert_eq!(http.get(&polling3(&sid)).body, [1, 4, 255, 4, 1, 2, 3]);
    assert_eq!(http.post(&polling3(&sid), b"2:4a").text(), "ok");
    assert_eq!(http.get(&polling3(&sid)).text(), "2:4a");
}

#[test]
fn b64_makes_binary_base64_text() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling&b64=1");
    assert_eq!(http.post(&polling3(&sid), b"6:b4AQID6:4hello").text(), "ok");
    let answer = http.get(&polling3(&sid));
    assert_eq!(answer.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(answer.text(), "6:b4AQID6:4hello");
}

// ----- heartbeat: the client pings ------------------------------------------------------------

#[test]
fn the_client_pings_and_the_server_answers_pong() {
    // pingInterval 500 + pingTimeout 1000: the session lives 1.5 s after each ping.
    let server = EchoServer::start(&[ALLOW_EIO3, "--ping-interval", "500", "--ping-timeout", "1000"]);
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    // The server never pings: a GET is held with nothing to say.
    http.send_get(&polling3(&sid));
    http.assert_no_response_within(Duration::from_millis(300));
    let mut post = server.http();
    let first = Instant::now();
    // A ping every 400 ms keeps it open well past 1.5 s; each is answered `3` (without its data).
    while first.elapsed() < Duration::from_millis(2000) {
        assert_eq!(post.post(&polling3(&sid), b"5:2ping").text(), "ok");
        assert_eq!(http.read_response().text(), "1:3");
        std::thread::sleep(Duration::from_millis(400));
        http.send_get(&polling3(&sid));
    }
    // Then no ping: closed pingInterval + pingTimeout after the last one, the held GET answered
    // with the close packet.
    assert_eq!(post.post(&polling3(&sid), b"1:2").text(), "ok");
    let last_ping = Instant::now();
    assert_eq!(http.read_response().text(), "1:3");
    let closed = http.get(&polling3(&sid));
    let waited = last_ping.elapsed();
    assert_eq!(closed.text(), "1:1");
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_millis(5000),
        "closed {waited:?} after the last ping, not ~1.5 s"
    );
    server.expect_close_reason(&sid, "ping timeout");
}

#[test]
fn a_pong_from_a_v3_client_closes_the_session() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    assert_eq!(http.post(&polling3(&sid), b"1:3").text(), "ok");
    server.expect_close_reason(&sid, "transport error");
    assert_error(&http.get(&polling3(&sid)), 1, "Session ID unknown");
}

// ----- WebSocket ------------------------------------------------------------------------------

#[test]
fn websocket_frames_of_v3() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut ws = ws_connect(server.port, "EIO=3&transport=websocket");
    ws_text(&mut ws); // the open packet
    // Pings from the client, answered `3` (the data is not echoed).
    ws_send(&mut ws, "2");
    assert_eq!(ws_text(&mut ws), "3");
    ws_send(&mut ws, "2probe");
    assert_eq!(ws_text(&mut ws), "3");
    ws_send(&mut ws, "4hi");
    assert_eq!(ws_text(&mut ws), "4hi");
    // Binary data: a binary frame with the packet type byte first, both ways.
    ws_send_binary(&mut ws, &[4, 1, 2]);
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Binary(vec![4, 1, 2]));
    ws_send(&mut ws, "b4AQID");
    assert_eq!(ws_next(&mut ws, TIMEOUT), WsEvent::Binary(vec![4, 1, 2, 3]));

    // With `b64` the binary data goes back as `b4<base64>` text.
    let mut ws = ws_connect(server.port, "EIO=3&transport=websocket&b64=1");
    ws_text(&mut ws);
    ws_send_binary(&mut ws, &[4, 1, 2]);
    assert_eq!(ws_text(&mut ws), "b4AQI=");
}

#[test]
fn upgrade_as_in_v3() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    http.send_get(&polling3(&sid));
    http.assert_no_response_within(Duration::from_millis(100));
    let mut ws = ws_connect(server.port, &format!("EIO=3&transport=websocket&sid={sid}"));
    ws_send(&mut ws, "2probe");
    assert_eq!(ws_text(&mut ws), "3probe");
    // The held GET gets a noop, framed.
    assert_eq!(http.read_response().text(), "1:6");
    ws_send(&mut ws, "5");
    ws_send(&mut ws, "4over ws");
    assert_eq!(ws_text(&mut ws), "4over ws");
    // Pings go over the WebSocket now.
    ws_send(&mut ws, "2");
    assert_eq!(ws_text(&mut ws), "3");
    assert_error(&http.get(&polling3(&sid)), 3, "Bad request");
}

// ----- close ----------------------------------------------------------------------------------

#[test]
fn close_over_v3_polling() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    // The client's `1` with a GET held: that GET gets a noop.
    let mut poll = server.http();
    let (sid, _) = handshake3(&mut poll, "EIO=3&transport=polling");
    poll.send_get(&polling3(&sid));
    poll.assert_no_response_within(Duration::from_millis(100));
    assert_eq!(server.http().post(&polling3(&sid), b"1:1").text(), "ok");
    assert_eq!(poll.read_response().text(), "1:6");
    server.expect_close_reason(&sid, "transport close");

    // The server's close with no GET held: the next GET gets a noop and the close.
    let (sid, _) = handshake3(&mut poll, "EIO=3&transport=polling");
    assert_eq!(poll.post(&polling3(&sid), b"9:4close-me").text(), "ok");
    assert_eq!(poll.get(&polling3(&sid)).text(), "1:61:1");
    server.expect_close_reason(&sid, "forced close");
}

// ----- JSONP ----------------------------------------------------------------------------------

#[test]
fn jsonp_polling() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut http = server.http();
    // The callback's number is the digits of the handshake's `j`.
    let answer = http.get("EIO=3&transport=polling&j=1a2&b64=1");
    assert_eq!(answer.header("Content-Type"), Some("text/plain; charset=UTF-8"));
    let text = answer.text();
    let literal = text
        .strip_prefix("___eio[12](")
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("{text}"));
    let payload: String = serde_json::from_str(literal).unwrap();
    let (_, open) = payload.split_once(':').unwrap();
    let sid = sid_of_open(open);
    assert_eq!(open, expected_open(&sid, r#"["websocket"]"#, 25000, 20000, 1000000));
    assert_eq!(
        text,
        format!("___eio[12]({});", serde_json::to_string(&payload).unwrap())
    );

    // A form POST: `d` is the payload. The form writes a newline as `\n` (backslash, n) and a
    // `\n` of the data as `\\n`.
    let form = "application/x-www-form-urlencoded";
    let query = format!("EIO=3&transport=polling&j=0&sid={sid}");
    post_as(&mut http, &query, form, b"d=5%3A4a%5Cnb%20");
    // Later requests keep the handshake's callback number.
    assert_eq!(http.get(&query).text(), r#"___eio[12]("5:4a\nb ");"#);
    post_as(&mut http, &query, form, b"d=6%3A4a%5C%5Cnb%22");
    assert_eq!(http.get(&query).text(), r#"___eio[12]("6:4a\\nb\"");"#);
    // U+2028 and U+2029 are escaped (JSON allows them in strings, old JavaScript does not).
    post_as(&mut http, &query, form, "d=4:4a\u{2028}\u{2029}".as_bytes());
    assert_eq!(http.get(&query).text(), r#"___eio[12]("4:4a\u2028\u2029");"#);
    // No `d` (or two): nothing is read, the POST is still `ok`, the session lives.
    post_as(&mut http, &query, form, b"x=1");
    post_as(&mut http, &query, form, b"d=2%3A4a&d=2%3A4b");
    post_as(&mut http, &query, form, b"d=2%3A4c");
    assert_eq!(http.get(&query).text(), r#"___eio[12]("2:4c");"#);
}

#[test]
fn jsonp_with_engine_io_v4() {
    // The reference serves JSONP whenever `j` is given, whatever the protocol.
    let server = EchoServer::start(&[]);
    let mut http = server.http();
    let text = http.get("EIO=4&transport=polling&j=0").text();
    assert!(text.starts_with(r#"___eio[0]("0{\"sid\":\""#), "{text}");
    let payload: String = serde_json::from_str(&text["___eio[0](".len()..text.len() - 2]).unwrap();
    let sid = sid_of_open(&payload);
    let query = format!("EIO=4&transport=polling&j=0&sid={sid}");
    let form = "application/x-www-form-urlencoded";
    post_as(&mut http, &query, form, b"d=4a%1E4b");
    assert_eq!(http.get(&query).text(), r#"___eio[0]("4a\u001e4b");"#);
}

// ----- both protocols at once -----------------------------------------------------------------

#[test]
fn a_v3_session_and_a_v4_session_on_one_server() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let mut v3 = server.http();
    let (sid3, _) = handshake3(&mut v3, "EIO=3&transport=polling");
    let mut v4 = server.http();
    let (sid4, _) = handshake(&mut v4);
    assert_eq!(v3.post(&polling3(&sid3), b"3:4v31:2").text(), "ok");
    assert_eq!(v4.post(&polling(&sid4), b"4v4\x1e3").text(), "ok");
    assert_eq!(v3.get(&polling3(&sid3)).text(), "3:4v31:3");
    assert_eq!(v4.get(&polling(&sid4)).text(), "4v4");
    // Binary, each in its own format.
    assert_eq!(v3.post(&polling3(&sid3), b"6:b4AQID").text(), "ok");
    assert_eq!(v4.post(&polling(&sid4), b"bAQID").text(), "ok");
    assert_eq!(v3.get(&polling3(&sid3)).body, [1, 4, 255, 4, 1, 2, 3]);
    assert_eq!(v4.get(&polling(&sid4)).text(), "bAQID");
}

// ----- bad input ------------------------------------------------------------------------------

#[test]
fn v3_garbage_closes_the_session_with_parse_error() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let cases: [(&str, &[u8]); 6] = [
        ("a length longer than the payload", b"9:4hello"),
        ("a length that is not a number", b"x:4hello"),
        ("no ':' after the length", b"12"),
        // `2:` takes `4` and the first half of the surrogate pair of `😀`.
        ("a length in the middle of a character", "2:4😀".as_bytes()),
        ("an unknown packet type", b"2:9x"),
        ("an empty body", b""),
    ];
    for (what, body) in cases {
        let mut http = server.http();
        let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
        // The POST is still answered `ok`; the session closes.
        assert_eq!(http.post(&polling3(&sid), body).text(), "ok", "{what}");
        server.expect_close_reason(&sid, "parse error");
        assert_error(&http.get(&polling3(&sid)), 1, "Session ID unknown");
    }
    // The packets before the bad one are handled: the echo of `4a` is queued, then dropped
    // with the session.
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    assert_eq!(http.post(&polling3(&sid), b"2:4a9:4b").text(), "ok");
    server.expect_close_reason(&sid, "parse error");
    // Another session is not touched.
    let mut other = server.http();
    let (other_sid, _) = handshake3(&mut other, "EIO=3&transport=polling");
    assert_eq!(other.post(&polling3(&other_sid), b"2:4z").text(), "ok");
    assert_eq!(other.get(&polling3(&other_sid)).text(), "2:4z");
}

#[test]
fn binary_payload_garbage_closes_the_session_with_parse_error() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let cases: [(&str, &[u8]); 3] = [
        ("a text packet that is not UTF-8", &[0, 2, 255, b'4', 0xff]),
        ("a length over 310 digits", &[0; 400]),
        ("a bad packet type", &[0, 2, 255, b'9', b'x']),
    ];
    for (what, body) in cases {
        let mut http = server.http();
        let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
        post_as(&mut http, &polling3(&sid), "application/octet-stream", body);
        server.expect_close_reason(&sid, "parse error");
        let after = http.get(&polling3(&sid));
        assert_eq!(after.status, 400, "{what}: {after:?}");
    }
    // A length longer than the rest takes what is there (the reference's `slice`).
    let mut http = server.http();
    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    post_as(
        &mut http,
        &polling3(&sid),
        "application/octet-stream",
        &[0, 9, 255, b'4', b'a'],
    );
    assert_eq!(http.get(&polling3(&sid)).text(), "2:4a");
}

/// A JSONP handshake (`j=0`, `b64=1`, as a 2.x client sends it): the sid.
fn jsonp_handshake(http: &mut Http) -> String {
    let text = http.get("EIO=3&transport=polling&j=0&b64=1").text();
    let literal = text
        .strip_prefix("___eio[0](")
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("{text}"));
    let payload: String = serde_json::from_str(literal).unwrap();
    sid_of_open(payload.split_once(':').unwrap().1)
}

#[test]
fn jsonp_garbage() {
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let form = "application/x-www-form-urlencoded";
    // `d` holding a bad payload (too short for its length, not UTF-8, empty): parse error, the
    // POST still `ok`.
    for body in [&b"d=9%3A4a"[..], b"d=%FF%FE", b"d="] {
        let mut http = server.http();
        let sid = jsonp_handshake(&mut http);
        post_as(&mut http, &format!("EIO=3&transport=polling&j=0&sid={sid}"), form, body);
        server.expect_close_reason(&sid, "parse error");
    }
    // A body that is no form, or not text at all: no `d`, nothing read; the session lives.
    let mut http = server.http();
    let sid = jsonp_handshake(&mut http);
    let query = format!("EIO=3&transport=polling&j=0&sid={sid}");
    post_as(&mut http, &query, form, b"\x00\x01garbage");
    post_as(&mut http, &query, form, b"\xff\xfe=\xfd");
    post_as(&mut http, &query, form, b"d=2%3A4a");
    assert_eq!(http.get(&query).text(), r#"___eio[0]("2:4a");"#);
}

/// `4hello`, gzipped.
const GZIP_OF_4HELLO: [u8; 26] = [
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x33, 0xc9, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x83,
    0xb5, 0x1b, 0xde, 0x06, 0x00, 0x00, 0x00,
];

#[test]
fn a_post_with_a_content_encoding_is_a_parse_error() {
    // The reference ignores `Content-Encoding` on a POST: the compressed bytes are read as the
    // payload, which fails to parse; the POST is still `ok`.
    let server = EchoServer::start(&[ALLOW_EIO3]);
    let encoded = [("Content-Encoding", "gzip")];
    let mut http = server.http();
    let (sid, _) = handshake(&mut http);
    let answer = http.request("POST", &polling(&sid), &encoded, Some(&GZIP_OF_4HELLO));
    assert_eq!((answer.status, answer.text()), (200, "ok".to_string()));
    server.expect_close_reason(&sid, "parse error");

    let (sid, _) = handshake3(&mut http, "EIO=3&transport=polling");
    let answer = http.request("POST", &polling3(&sid), &encoded, Some(&GZIP_OF_4HELLO));
    assert_eq!((answer.status, answer.text()), (200, "ok".to_string()));
    server.expect_close_reason(&sid, "parse error");
}

// ----- Socket.IO protocol v4 over it (examples/interop --allow-eio3) ----------------------------

/// A v3 text payload split into packets (the test's own reading of `<length>:<packet>`).
fn split_v3(body: &str) -> Vec<String> {
    let mut packets = Vec::new();
    let units: Vec<u16> = body.encode_utf16().collect();
    let mut at = 0;
    while at < units.len() {
        let colon = at + units[at..].iter().position(|&u| u == u16::from(b':')).expect("a ':'");
        let length: usize = String::from_utf16(&units[at..colon])
            .unwrap()
            .parse()
            .expect("a length");
        packets.push(String::from_utf16(&units[colon + 1..colon + 1 + length]).unwrap());
        at = colon + 1 + length;
    }
    packets
}

/// A socket.io 2.x client's session on `/socket.io/` (polling, `b64=1` as a JSONP or old
/// browser client sends it, so that every answer is text).
struct V3Session {
    http: Http,
    sid: String,
    /// Packets received and not looked at yet.
    inbox: Vec<String>,
}

impl V3Session {
    /// The handshake; the packets that came with the open packet stay in the inbox.
    fn open(port: u16) -> V3Session {
        let mut http = Http::connect_at(port, "/socket.io/");
        let mut packets = split_v3(&http.get("EIO=3&transport=polling&b64=1").text());
        let open = packets.remove(0);
        let sid = sid_of_open(&open);
        V3Session {
            http,
            sid,
            inbox: packets,
        }
    }

    fn query(&self) -> String {
        format!("EIO=3&transport=polling&sid={}", self.sid)
    }

    fn post(&mut self, packets: &[&str]) {
        let body: String = packets
            .iter()
            .map(|p| format!("{}:{p}", p.encode_utf16().count()))
            .collect();
        let query = self.query();
        assert_eq!(self.http.post(&query, body.as_bytes()).text(), "ok", "POST {body}");
    }

    /// The next `count` packets, GETting as many times as it takes (the reference may answer
    /// the `40` in the handshake's GET or in the next one).
    fn next(&mut self, count: usize) -> Vec<String> {
        while self.inbox.len() < count {
            let query = self.query();
            let answer = self.http.get(&query);
            assert_eq!(answer.status, 200, "{answer:?}");
            self.inbox.extend(split_v3(&answer.text()));
        }
        self.inbox.drain(..count).collect()
    }
}

#[test]
fn socket_io_v4_over_engine_io_v3_on_the_wire() {
    let server = EchoServer::start_interop(&[ALLOW_EIO3]);
    let mut client = V3Session::open(server.port);
    // Connected to `/` without a CONNECT: a bare `40`, then the handler's `auth` (empty).
    assert_eq!(client.next(2), [r#"40"#, r#"42["auth",{}]"#]);
    // An event and its answer; an ack.
    client.post(&[r#"42["message","hi",1]"#, r#"421["message-with-ack","x"]"#]);
    assert_eq!(client.next(2), [r#"42["message-back","hi",1]"#, r#"431["x"]"#]);
    // Binary: BINARY_EVENT with its attachment as `b4<base64>` (b64).
    client.post(&[r#"451-["message",{"_placeholder":true,"num":0}]"#, "b4AQID"]);
    assert_eq!(
        client.next(2),
        [r#"451-["message-back",{"_placeholder":true,"num":0}]"#, "b4AQID"]
    );
    // Another namespace, its query in the name: answered `40/custom,`; the query is the auth.
    client.post(&["40/custom?token=abc&n=1,"]);
    assert_eq!(
        client.next(2),
        [r#"40/custom,"#, r#"42/custom,["auth",{"token":"abc","n":"1"}]"#]
    );
    client.post(&[r#"42/custom,["message","in custom"]"#]);
    assert_eq!(client.next(1), [r#"42/custom,["message-back","in custom"]"#]);
    // A middleware's refusal: `err.data || err.message`; an unknown namespace.
    client.post(&["40/guarded?token=wrong,"]);
    assert_eq!(client.next(1), [r#"44/guarded,{"code":401}"#]);
    client.post(&["40/nope,"]);
    assert_eq!(client.next(1), [r#"44/nope,{"message":"Invalid namespace"}"#]);
    // The client leaves /custom; the server disconnects / (`41`).
    client.post(&["41/custom,", r#"42["server-disconnect",false]"#]);
    assert_eq!(client.next(1), ["41"]);
}
