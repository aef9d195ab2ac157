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

use support::cluster::{client, frame_starting, ours};
use support::redis_server::RedisServer;
use support::{EchoServer, Ws, example_binary, ws_send};

const WAIT: Duration = Duration::from_secs(5);

/// `kill -SIGNAL pid`.
fn signal(server: &EchoServer, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
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

/// The answer of ack `id` to `event` on `ws`, the rest of `431[...]`.
fn ask(ws: &mut Ws, id: u32, event: &str, within: Duration) -> String {
    ws_send(ws, &format!(r#"42{id}["{event}"]"#));
    let prefix = format!("43{id}");
    let answer = frame_starting(ws, &prefix, within).unwrap_or_else(|| panic!("no answer to {event}"));
    answer[prefix.len()..].to_string()
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
            ask(&mut on_a, 1, "server-side-emit-with-ack", WAIT),
            r#"[{"err":null,"responses":["b"]}]"#
        );

        // b stops answering (SIGSTOP: still subscribed, so counted), and is killed while a
        // waits for its answer (a's log says when its request is out).
        signal(&b, "STOP");
        let started = Instant::now();
        ws_send(&mut on_a, r#"422["fetch-sockets",null]"#);
        a.expect_log("out, waiting for 1 answers");
        signal(&b, "KILL");
        let answer = frame_starting(&mut on_a, "432", WAIT).expect("fetch-sockets answered");
        let waited = started.elapsed();
        let expected = if sharded {
            r#"432[{"err":"timeout reached: only 0 responses received out of 1"}]"#
        } else {
            r#"432[{"err":"timeout reached while waiting for fetchSockets response"}]"#
        };
        assert_eq!(answer, expected);
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_millis(3000),
            "answered after {waited:?}, requestsTimeout is 1 s"
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
            ask(&mut on_a, 3, "server-side-emit-with-ack", WAIT),
            r#"[{"err":null,"responses":[]}]"#
        );
    }
}
