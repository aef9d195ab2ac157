//! The Redis adapters when things go wrong (issue 10, "Faults and bad input"), with a real
//! `redis-server` and our `examples/interop` as child processes, and raw Socket.IO clients:
//!
//! - Redis unreachable at start: a clear error naming the URL, a non-zero exit;
//! - Redis killed and started again while the servers run: local delivery never stops, what
//!   was published meanwhile is lost and logged, both connections come back by themselves;
//! - a server killed while another waits for its answer: the reference's timeout error after
//!   `requestsTimeout`, and the request forgotten;
//! - garbage on every channel of both adapters: logged, ignored, the subscriber lives on.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use support::cluster::{ask, client, frame_starting, ours};
use support::redis_server::RedisServer;
use support::{EchoServer, Ws, example_binary, ws_send};

const WAIT: Duration = Duration::from_secs(5);

/// `kill -SIGNAL pid`.
fn signal(server: &EchoServer, signal: &str) {
    support::signal(server.pid(), signal);
}

/// Waits until `channel` has `count` subscribers: the servers have (re)subscribed.
fn subscribed(redis: &RedisServer, channel: &str, count: usize, sharded: bool) {
    redis.wait_for_subscribers(channel, count, sharded, Duration::from_secs(10));
}

#[test]
fn an_unreachable_redis_at_start_is_an_error_naming_the_url() {
    let redis = RedisServer::start();
    let url = redis.url();
    drop(redis);
    let binaries = [
        example_binary("interop"),
        PathBuf::from(env!("CARGO_BIN_EXE_socketio_book")),
    ];
    for binary in binaries {
        for extra in [&[][..], &["--redis-sharded"][..]] {
            let started = Instant::now();
            let output = Command::new(&binary)
                .args(["--port", "0", "--redis", &url])
                .args(extra)
                .output()
                .expect("run the server");
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert_eq!(output.status.code(), Some(1), "{binary:?} {extra:?}: {stderr}");
            assert!(
                stderr.contains(&format!("cannot connect to Redis at {url}")),
                "{binary:?}: {stderr}"
            );
            assert!(!stdout.contains("listening on"), "{stdout}");
            assert!(started.elapsed() < WAIT, "{:?}", started.elapsed());
        }
    }
    // With Redis there, the chapter's server starts and subscribes (one server counted).
    let redis = RedisServer::start();
    let mut chapter = Command::new(env!("CARGO_BIN_EXE_socketio_book"));
    chapter.args(["--port", "0", "--host", "127.0.0.1", "--redis", &redis.url()]);
    let _chapter = EchoServer::start_command("socketio_book --redis", chapter);
    subscribed(&redis, "socket.io-request#/#", 1, false);
}

#[test]
fn redis_killed_and_started_again_mid_test() {
    let mut redis = RedisServer::start();
    let a = ours(&redis, "a", &[]);
    let b = ours(&redis, "b", &[]);
    let (mut on_a, _) = client(&a);
    let (mut on_b, _) = client(&b);

    // Before: a broadcast from a's client reaches both.
    ws_send(&mut on_a, r#"42["broadcast","before"]"#);
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(
            frame_starting(ws, r#"42["broadcast-back""#, WAIT).as_deref(),
            Some(r#"42["broadcast-back","before"]"#)
        );
    }

    redis.kill();
    // Down: a's own clients still get a's broadcasts, joins and acks at once; b's do not, and a
    // says what was lost.
    ws_send(&mut on_a, r#"420["join","room"]"#);
    assert_eq!(frame_starting(&mut on_a, "430", WAIT).as_deref(), Some("430[]"));
    ws_send(&mut on_a, r#"42["broadcast","during"]"#);
    assert_eq!(
        frame_starting(&mut on_a, r#"42["broadcast-back""#, WAIT).as_deref(),
        Some(r#"42["broadcast-back","during"]"#)
    );
    a.expect_log("redis: not published");
    a.expect_log("lost for the other servers");
    b.expect_log("redis: the subscriber connection to");

    redis.restart();
    // Back: both subscribe again by themselves, and a publishes again.
    subscribed(&redis, "socket.io-request#/#", 2, false);
    ws_send(&mut on_a, r#"42["broadcast","after"]"#);
    assert_eq!(
        frame_starting(&mut on_a, r#"42["broadcast-back""#, WAIT).as_deref(),
        Some(r#"42["broadcast-back","after"]"#)
    );
    // b never got "during": the next broadcast it gets is "after".
    assert_eq!(
        frame_starting(&mut on_b, r#"42["broadcast-back""#, WAIT).as_deref(),
        Some(r#"42["broadcast-back","after"]"#)
    );
    for server in [&a, &b] {
        server.expect_log("redis: the subscriber is back at");
        server.expect_log("what was published meanwhile did not reach this server");
    }
    a.expect_log("messages were not published meanwhile");
}

#[test]
fn a_server_killed_while_another_waits_for_its_answer() {
    for sharded in [false, true] {
        let redis = RedisServer::start();
        let extra: &[&str] = if sharded { &["--redis-sharded"] } else { &[] };
        let a = ours(&redis, "a", extra);
        let b = ours(&redis, "b", extra);
        let (mut on_a, _) = client(&a);
        let (_on_b, _) = client(&b);
        // With both alive: one answer from b.
        assert_eq!(
            ask(&mut on_a, 1, "server-side-emit-with-ack", ""),
            r#"[{"err":null,"responses":["b"]}]"#
        );

        // b stops answering (SIGSTOP: still subscribed, so counted), and is killed while a
        // waits for its answer (a's log says when its request is out).
        signal(&b, "STOP");
        let started = Instant::now();
        assert_eq!(
            ask(&mut on_a, 2, "server-side-emit-with-ack", ""),
            r#"[{"err":"timeout reached: only 0 responses received out of 1","responses":[]}]"#
        );
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(900), "answered after {waited:?}");
        a.expect_log("timeout reached: only 0 responses received out of 1; forgotten (pending requests: 0)");
        let started = Instant::now();
        ws_send(&mut on_a, r#"422["fetch-sockets",null]"#);
        a.expect_log("out, waiting for 1 answers");
        signal(&b, "KILL");
        // The handler gets fetchSockets' error (and, as the reference's, sends no answer).
        let expected = if sharded {
            "fetchSockets failed: timeout reached: only 0 responses received out of 1"
        } else {
            "fetchSockets failed: timeout reached while waiting for fetchSockets response"
        };
        a.wait_for_log(expected, WAIT, |line| line.contains(expected));
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_millis(3000),
            "failed after {waited:?}, requestsTimeout is 1 s"
        );
        a.expect_log("forgotten (pending requests: 0)");

        // b is gone: a counts one server, and answers at once.
        let counted = if sharded {
            "socket.io#/#"
        } else {
            "socket.io-request#/#"
        };
        subscribed(&redis, counted, 1, sharded);
        assert_eq!(
            ask(&mut on_a, 3, "server-side-emit-with-ack", ""),
            r#"[{"err":null,"responses":[]}]"#
        );
    }
}

// ----- garbage on the channels ------------------------------------------------------------------

/// A channel of a server, named by what it is for.
#[derive(Clone, Copy, Debug)]
enum Channel {
    /// classic `socket.io#/#`, sharded `socket.io#/#`
    Main,
    /// `socket.io#/#room1#` (the servers' clients are in room1)
    Room,
    /// classic `socket.io-request#/#`
    Request,
    /// classic `socket.io-response#/#`
    Response,
    /// classic `socket.io-response#/#<uid>#`, sharded `socket.io#/#<uid>#`
    OwnResponse,
}

/// A classic and a sharded server on one Redis, each with a client in `room1`.
struct Garbage {
    redis: RedisServer,
    classic: EchoServer,
    classic_client: Ws,
    sharded: EchoServer,
    sharded_client: Ws,
}

/// The uid a server logged at start (`redis: classic adapter, uid 9ZVN0m, ...`).
fn uid_of(server: &EchoServer) -> String {
    let line = server.wait_for_log("with the adapter's uid", WAIT, |line| line.contains(" adapter, uid "));
    let rest = &line[line.find(" adapter, uid ").unwrap() + " adapter, uid ".len()..];
    rest.split(',').next().unwrap().to_string()
}

/// How many lines of `server`'s log contain `text`.
fn lines_with(server: &EchoServer, text: &str) -> usize {
    server.log().lines().filter(|line| line.contains(text)).count()
}

/// Waits until more than `before` lines contain `text` (the message on `channel` was logged).
fn wait_for_more_lines(server: &EchoServer, text: &str, before: usize, channel: &str) {
    let deadline = Instant::now() + WAIT;
    while lines_with(server, text) <= before {
        assert!(
            Instant::now() < deadline,
            "no new log line with {text:?} after a message on {channel}:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Garbage {
    fn start() -> Garbage {
        let redis = RedisServer::start();
        let classic = ours(&redis, "classic", &[]);
        let sharded = ours(&redis, "sharded", &["--redis-sharded"]);
        let (mut classic_client, _) = client(&classic);
        let (mut sharded_client, _) = client(&sharded);
        for ws in [&mut classic_client, &mut sharded_client] {
            ws_send(ws, r#"420["join","room1"]"#);
            assert_eq!(frame_starting(ws, "430", WAIT).as_deref(), Some("430[]"));
        }
        // The sharded server subscribes to room1's channel when the room appears.
        redis.wait_for_subscribers("socket.io#/#room1#", 1, true, WAIT);
        Garbage {
            redis,
            classic,
            classic_client,
            sharded,
            sharded_client,
        }
    }

    fn classic_channel(&self, channel: Channel) -> String {
        match channel {
            Channel::Main => "socket.io#/#".to_string(),
            Channel::Room => "socket.io#/#room1#".to_string(),
            Channel::Request => "socket.io-request#/#".to_string(),
            Channel::Response => "socket.io-response#/#".to_string(),
            Channel::OwnResponse => format!("socket.io-response#/#{}#", uid_of(&self.classic)),
        }
    }

    fn sharded_channel(&self, channel: Channel) -> String {
        match channel {
            Channel::Main => "socket.io#/#".to_string(),
            Channel::Room => "socket.io#/#room1#".to_string(),
            Channel::OwnResponse => format!("socket.io#/#{}#", uid_of(&self.sharded)),
            other => panic!("the sharded adapter has no {other:?} channel"),
        }
    }

    /// Publishes each payload on the classic server's channel; each must be received (one
    /// subscriber) and add a line with `log` to its log.
    fn classic(&self, garbage: &[(Channel, &[u8], &str)]) {
        for (channel, payload, log) in garbage {
            let name = self.classic_channel(*channel);
            let before = lines_with(&self.classic, log);
            assert_eq!(self.redis.publish(&name, payload), 1, "{name} has its subscriber");
            wait_for_more_lines(&self.classic, log, before, &name);
        }
    }

    /// The same for the sharded server (`SPUBLISH`).
    fn sharded(&self, garbage: &[(Channel, &[u8], &str)]) {
        for (channel, payload, log) in garbage {
            let name = self.sharded_channel(*channel);
            let before = lines_with(&self.sharded, log);
            assert_eq!(self.redis.spublish(&name, payload), 1, "{name} has its subscriber");
            wait_for_more_lines(&self.sharded, log, before, &name);
        }
    }

    /// After the garbage, both servers still deliver a good message (the reference's own
    /// bytes), so their subscriber threads neither died nor stalled, and nothing panicked.
    fn both_still_work(mut self) {
        // @socket.io/redis-emitter's `emitter.emit("news", "alive")`, as it publishes it.
        let mut emitter = b"\x93\xa7emitter\x83\xa4type\x02\xa4data\x92\xa4news\xa5alive\xa3nsp\xa1/".to_vec();
        emitter.extend_from_slice(b"\x83\xa5rooms\x90\xa5flags\x80\xa6except\x90");
        assert_eq!(self.redis.publish("socket.io#/#", &emitter), 1);
        let sharded = br#"{"type":3,"data":{"packet":{"type":2,"data":["news","alive"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"0123456789abcdef","nsp":"/"}"#;
        assert_eq!(self.redis.spublish("socket.io#/#", sharded), 1);
        for ws in [&mut self.classic_client, &mut self.sharded_client] {
            assert_eq!(
                frame_starting(ws, r#"42["news""#, WAIT).as_deref(),
                Some(r#"42["news","alive"]"#)
            );
        }
        for server in [&self.classic, &self.sharded] {
            assert!(!server.log().contains("panicked"), "{}", server.log());
        }
    }
}

/// msgpack cut short, and a JSON request cut short.
#[test]
fn garbage_truncated_msgpack() {
    let garbage = Garbage::start();
    let truncated: &[u8] = b"\x93\xa7emitter\x83\xa4type\x02\xa4da";
    let ignored = "redis: ignored a message on";
    garbage.classic(&[
        (Channel::Main, truncated, "(undecodable: msgpack not msgpack"),
        (Channel::Room, truncated, "(undecodable: msgpack not msgpack"),
        (Channel::Request, b"\x85\xa3uid\xa6abcdef\xa9requestId", ignored),
        (Channel::Request, br#"{"uid":"abcdef","type":"#, "(undecodable: JSON"),
        (Channel::Response, b"\x83\xa4type\x09\xa9requ", ignored),
        (Channel::OwnResponse, br#"{"requestId":"#, "(undecodable: JSON"),
    ]);
    garbage.sharded(&[
        (
            Channel::Main,
            b"\x84\xa4type\x03\xa4data\x82",
            "(undecodable: msgpack not msgpack",
        ),
        (Channel::Room, br#"{"type":3,"data":{"#, "(undecodable: JSON"),
        (
            Channel::OwnResponse,
            b"\x84\xa4type",
            "(undecodable: msgpack not msgpack",
        ),
    ]);
    garbage.both_still_work();
}

/// Decodable, but a field of the wrong type: a uid that is a number, rooms that are a string,
/// a packet that is not an object, a count that is text.
#[test]
fn garbage_wrong_types() {
    let garbage = Garbage::start();
    garbage.classic(&[
        (
            Channel::Main,
            b"\x93\x01\x02\x03",
            "(malformed: a broadcast's uid must be a string",
        ),
        (
            Channel::Room,
            b"\x93\xa1x\xa1y\x80",
            "(malformed: packet must be an object",
        ),
        (
            Channel::Request,
            br#"{"uid":"x","type":2,"opts":{"rooms":"room1","except":[]},"rooms":[]}"#,
            "(malformed: opts.rooms must be an array of room names",
        ),
        (
            Channel::Request,
            br#"{"uid":7,"type":4}"#,
            "(malformed: uid must be a string",
        ),
        (
            Channel::Response,
            br#"{"requestId":5}"#,
            "(malformed: requestId must be a string",
        ),
        (
            Channel::OwnResponse,
            br#"{"type":8,"requestId":"x","clientCount":"three"}"#,
            "(malformed: clientCount must be a number",
        ),
    ]);
    garbage.sharded(&[
        (
            Channel::Main,
            br#"{"type":3,"data":{"packet":"x","opts":{}},"uid":"u","nsp":"/"}"#,
            "(malformed: packet must be an object",
        ),
        (
            Channel::Room,
            br#"{"type":4,"data":{"opts":{"rooms":[{}]},"rooms":[]},"uid":"u","nsp":"/"}"#,
            "(malformed: opts.rooms must be an array of room names",
        ),
        (
            Channel::OwnResponse,
            br#"{"type":11,"data":{"requestId":"r","clientCount":"x"},"uid":"u","nsp":"/"}"#,
            "(malformed: data.clientCount must be a number",
        ),
    ]);
    garbage.both_still_work();
}

/// Arrays that claim or hold too much: a header for 4 billion items with nothing after it, a
/// message of more than 4 million values, lists of room names past `MAX_ITEMS` (100,000).
#[test]
fn garbage_huge_arrays() {
    let garbage = Garbage::start();
    let too_many_rooms = format!("[{}0]", "0,".repeat(100_000));
    let request = format!(r#"{{"uid":"x","type":2,"opts":{{"rooms":{too_many_rooms},"except":[]}},"rooms":[]}}"#);
    let sharded =
        format!(r#"{{"type":5,"data":{{"opts":{{"rooms":{too_many_rooms}}},"rooms":[]}},"uid":"u","nsp":"/"}}"#);
    // 300,000 nils, decodable, then not a broadcast.
    let mut nils = vec![0xdd, 0x00, 0x04, 0x93, 0xe0];
    nils.extend(std::iter::repeat_n(0xc0u8, 300_000));
    // 4,000,001 nils: more values than a message may hold, refused before any is built.
    let mut too_many = vec![0xdd, 0x00, 0x3d, 0x09, 0x01];
    too_many.extend(std::iter::repeat_n(0xc0u8, 4_000_001));
    garbage.classic(&[
        (
            Channel::Main,
            &too_many,
            "(undecodable: msgpack not msgpack: more than 4000000 values",
        ),
        (
            Channel::Main,
            b"\xdd\xff\xff\xff\xff",
            "(undecodable: msgpack not msgpack",
        ),
        (
            Channel::Room,
            &nils,
            "(malformed: a broadcast must be [uid, packet, opts]",
        ),
        (
            Channel::Request,
            request.as_bytes(),
            "(malformed: opts.rooms must be an array of room names",
        ),
        (
            Channel::Response,
            b"\xdf\xff\xff\xff\xff",
            "(undecodable: msgpack not msgpack",
        ),
    ]);
    garbage.sharded(&[
        (
            Channel::Main,
            sharded.as_bytes(),
            "(malformed: opts.rooms must be an array of room names",
        ),
        (
            Channel::OwnResponse,
            b"\xdd\xff\xff\xff\xff",
            "(undecodable: msgpack not msgpack",
        ),
    ]);
    garbage.both_still_work();
}

/// Types no version of the adapters has.
#[test]
fn garbage_unknown_request_types() {
    let garbage = Garbage::start();
    garbage.classic(&[
        (
            Channel::Request,
            br#"{"uid":"x","requestId":"r","type":42}"#,
            "(unknown type 42",
        ),
        (Channel::Request, br#"{"uid":"x","type":-1}"#, "(unknown type -1"),
        (Channel::Request, br#"{"uid":"x"}"#, "(unknown type (none)"),
        // Answers to requests we never made: not ours to read.
        (
            Channel::Response,
            br#"{"type":77,"requestId":"r"}"#,
            "ignoring answer to an unknown request r",
        ),
    ]);
    garbage.sharded(&[
        (
            Channel::Main,
            br#"{"type":99,"data":{},"uid":"u","nsp":"/"}"#,
            "(unknown type 99",
        ),
        (
            Channel::OwnResponse,
            br#"{"type":3,"data":{"packet":{"type":2,"data":["x"]},"opts":{}},"uid":"u","nsp":"/"}"#,
            "ignored a message of type 3 on",
        ),
    ]);
    garbage.both_still_work();
}

/// Good messages for another namespace, on this namespace's channels.
#[test]
fn garbage_foreign_namespace() {
    let garbage = Garbage::start();
    let mut foreign = b"\x93\xa6abcdef\x83\xa4type\x02\xa4data\x92\xa4news\xa5wrong\xa3nsp\xa6/other".to_vec();
    foreign.extend_from_slice(b"\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80");
    garbage.classic(&[
        (Channel::Main, &foreign, "ignored a broadcast for namespace \"/other\""),
        (Channel::Room, &foreign, "ignored a broadcast for namespace \"/other\""),
    ]);
    let sharded = br#"{"type":3,"data":{"packet":{"type":2,"data":["news","wrong"]},"opts":{"rooms":[],"except":[],"flags":{}}},"uid":"u","nsp":"/other"}"#;
    garbage.sharded(&[
        (Channel::Main, sharded, "ignored a message for namespace \"/other\""),
        (Channel::Room, sharded, "ignored a message for namespace \"/other\""),
    ]);
    // The client got none of them: the next news is the good one.
    garbage.both_still_work();
}
