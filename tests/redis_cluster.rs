//! Several servers on one Redis (issue 10): each test starts a real `redis-server` on a free
//! port, two servers on it, and runs `tests/node/cluster/cluster.test.mjs` (official
//! `socket.io-client`s on both servers, every operator across the cluster, the emitter).
//!
//! - a mixed cluster: `examples/interop --redis` beside the reference (`tests/node/reference/
//!   interop.mjs --redis`: socket.io 4.8 with `@socket.io/redis-adapter` 8.3.0), with the classic
//!   adapter and with the sharded one;
//! - two of ours alone, the same script, with either adapter.
//!
//! Needs Node.js with `npm ci --prefix tests/node`, and `redis-server` (`apt-get install
//! redis-server`); without them these tests fail, they never skip.

mod support;

use std::path::Path;

use std::time::Duration;

use support::cluster::{ask, client, frame_starting, ours, reference};
use support::redis_server::{RedisServer, Subscriber};
use support::{EchoServer, WsEvent, ws_expect_closed, ws_next};

const WAIT: Duration = Duration::from_secs(5);

/// Runs the cluster script against servers `a` and `b` and fails with its output unless every
/// test passed.
fn run_cluster_script(redis: &RedisServer, a: (&EchoServer, &str), b: (&EchoServer, &str), adapter: &str) {
    run_cluster_script_in_mode(redis, a, b, adapter, "dynamic");
}

/// The same, the sharded adapter in subscription mode `mode`.
fn run_cluster_script_in_mode(
    redis: &RedisServer,
    a: (&EchoServer, &str),
    b: (&EchoServer, &str),
    adapter: &str,
    mode: &str,
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = support::tools::node()
        .args(["--test", "--test-reporter=spec"])
        .arg(root.join("tests/node/cluster/cluster.test.mjs"))
        .env("SERVER_A", format!("http://127.0.0.1:{}", a.0.port))
        .env("SERVER_A_ID", a.1)
        .env("SERVER_B", format!("http://127.0.0.1:{}", b.0.port))
        .env("SERVER_B_ID", b.1)
        .env("REDIS_URL", redis.url())
        .env("ADAPTER", adapter)
        .env("SUBSCRIPTION_MODE", mode)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("ℹ fail 0") && !stdout.contains("ℹ pass 0"),
        "the cluster script failed ({adapter}, {mode}):\n{stdout}\n{stderr}"
    );
}

#[test]
fn mixed_cluster_classic_adapter() {
    let redis = RedisServer::start();
    let a = ours(&redis, "rust", &[]);
    let b = reference(&redis, "node", &[]);
    run_cluster_script(&redis, (&a, "rust"), (&b, "node"), "classic");
}

#[test]
fn mixed_cluster_sharded_adapter() {
    let redis = RedisServer::start();
    let a = ours(&redis, "rust", &["--redis-sharded"]);
    let b = reference(&redis, "node", &["--redis-sharded"]);
    run_cluster_script(&redis, (&a, "rust"), (&b, "node"), "sharded");
}

#[test]
fn two_rust_servers_classic_adapter() {
    let redis = RedisServer::start();
    let a = ours(&redis, "rust-a", &[]);
    let b = ours(&redis, "rust-b", &[]);
    run_cluster_script(&redis, (&a, "rust-a"), (&b, "rust-b"), "classic");
}

#[test]
fn two_rust_servers_sharded_adapter() {
    let redis = RedisServer::start();
    let a = ours(&redis, "rust-a", &["--redis-sharded"]);
    let b = ours(&redis, "rust-b", &["--redis-sharded"]);
    run_cluster_script(&redis, (&a, "rust-a"), (&b, "rust-b"), "sharded");
}

#[test]
fn mixed_cluster_sharded_adapter_static_and_dynamic_private_modes() {
    for mode in ["static", "dynamic-private"] {
        let redis = RedisServer::start();
        let flags = ["--redis-sharded", "--redis-subscription-mode", mode];
        let a = ours(&redis, "rust", &flags);
        let b = reference(&redis, "node", &flags);
        run_cluster_script_in_mode(&redis, (&a, "rust"), (&b, "node"), "sharded", mode);
    }
}

/// The ids listed in a `fetch-sockets` answer, `[[{"id":...},...]]`.
fn listed_ids(answer: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(answer).unwrap();
    let mut ids: Vec<String> = value[0]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|socket| socket["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn answers_on_the_requesters_own_channel_with_a_node_server() {
    let redis = RedisServer::start();
    let flag = ["--redis-specific-response-channel"];
    let a = ours(&redis, "rust", &flag);
    let b = reference(&redis, "node", &flag);
    let (mut on_a, id_a) = client(&a);
    let (mut on_b, id_b) = client(&b);
    let mut both = vec![id_a, id_b];
    both.sort();
    let mut common = Subscriber::start(&redis, "socket.io-response#/#");
    // Each server's fetch answered by the other on socket.io-response#/#<its uid>#...
    assert_eq!(listed_ids(&ask(&mut on_a, 1, "fetch-sockets", "null")), both);
    assert_eq!(listed_ids(&ask(&mut on_b, 1, "fetch-sockets", "null")), both);
    // ... while a server-side emit's answer goes to the common channel in the reference too:
    // the first answers there are those, not the fetches'.
    assert_eq!(
        ask(&mut on_a, 2, "server-side-emit-with-ack", ""),
        r#"[{"err":null,"responses":["node"]}]"#
    );
    assert_eq!(
        ask(&mut on_b, 2, "server-side-emit-with-ack", ""),
        r#"[{"err":null,"responses":["rust"]}]"#
    );
    for _ in 0..2 {
        let answer = common.next_message(WAIT).expect("the server-side emit's answer");
        assert!(
            answer.starts_with(br#"{"type":6,"requestId":""#),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
}

#[test]
fn a_node_server_lists_our_rooms_with_all_rooms() {
    let redis = RedisServer::start();
    let a = ours(&redis, "rust", &[]);
    let b = reference(&redis, "node", &[]);
    let (mut on_a, id_a) = client(&a);
    let (mut on_b, id_b) = client(&b);
    assert_eq!(ask(&mut on_a, 1, "join", r#""ours""#), "[]");
    // The reference's allRooms(): ALL_ROOMS, answered by us with our rooms.
    let mut rooms = vec![id_a, id_b, "ours".to_string()];
    rooms.sort();
    let expected = serde_json::json!([rooms]).to_string();
    assert_eq!(ask(&mut on_b, 1, "all-rooms", ""), expected);
}

#[test]
fn requests_no_8x_server_sends_are_answered_as_the_source_answers_them() {
    // SOCKETS (0), ALL_ROOMS (1) and 7.x's one-socket REMOTE_JOIN, REMOTE_LEAVE,
    // REMOTE_DISCONNECT (2, 3, 4 with sid): what lib/index.ts answers, on
    // socket.io-response#/#.
    let redis = RedisServer::start();
    let a = ours(&redis, "rust", &[]);
    let (mut on_a, id) = client(&a);
    assert_eq!(ask(&mut on_a, 1, "join", r#""room1""#), "[]");
    let mut responses = Subscriber::start(&redis, "socket.io-response#/#");
    let mut request = |text: String| -> String {
        assert_eq!(redis.publish("socket.io-request#/#", text.as_bytes()), 1);
        let answer = responses.next_message(WAIT).expect("an answer");
        String::from_utf8(answer).unwrap()
    };
    assert_eq!(
        request(r#"{"uid":"old","requestId":"r0","type":0,"rooms":["room1"]}"#.to_string()),
        format!(r#"{{"requestId":"r0","sockets":["{id}"]}}"#)
    );
    assert_eq!(
        request(format!(
            r#"{{"uid":"old","requestId":"r1","type":2,"sid":"{id}","room":"legacy"}}"#
        )),
        r#"{"requestId":"r1"}"#
    );
    let mut rooms = vec![id.clone(), "legacy".to_string(), "room1".to_string()];
    rooms.sort();
    assert_eq!(
        request(r#"{"uid":"old","requestId":"r2","type":1}"#.to_string()),
        serde_json::json!({"requestId": "r2", "rooms": rooms}).to_string()
    );
    assert_eq!(
        request(format!(
            r#"{{"uid":"old","requestId":"r3","type":3,"sid":"{id}","room":"legacy"}}"#
        )),
        r#"{"requestId":"r3"}"#
    );
    assert_eq!(
        request(r#"{"uid":"old","requestId":"r4","type":0,"rooms":["legacy"]}"#.to_string()),
        r#"{"requestId":"r4","sockets":[]}"#
    );
    assert_eq!(
        request(format!(
            r#"{{"uid":"old","requestId":"r5","type":4,"sid":"{id}","close":false}}"#
        )),
        r#"{"requestId":"r5"}"#
    );
    assert_eq!(frame_starting(&mut on_a, "41", WAIT).as_deref(), Some("41"));
}

/// `node tests/node/cluster/emitter.mjs --redis URL <args>`, once it has published.
fn emitter(redis: &RedisServer, args: &[&str]) {
    let output = support::tools::node()
        .arg("tests/node/cluster/emitter.mjs")
        .args(["--redis", &redis.url()])
        .args(args)
        .output()
        .expect("run emitter.mjs");
    assert!(
        output.status.success() && output.stdout.starts_with(b"published"),
        "emitter.mjs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_emitter_script_drives_two_of_our_servers() {
    let redis = RedisServer::start();
    let a = ours(&redis, "a", &[]);
    let b = ours(&redis, "b", &[]);
    let (mut on_a, id_a) = client(&a);
    let (mut on_b, _) = client(&b);
    assert_eq!(ask(&mut on_b, 1, "join", r#""room1""#), "[]");
    // To a room, with bytes: only b's client, as a binary event.
    emitter(
        &redis,
        &["--to", "room1", "emit", "news", r#""to room1""#, r#"{"$bin":"0102"}"#],
    );
    assert_eq!(
        frame_starting(&mut on_b, "451-", WAIT).as_deref(),
        Some(r#"451-["news","to room1",{"_placeholder":true,"num":0}]"#)
    );
    assert_eq!(ws_next(&mut on_b, WAIT), WsEvent::Binary(vec![1, 2]));
    // serverSideEmit: each server's `hello` listener answers its own clients.
    emitter(&redis, &["server-side-emit", "hello", "1"]);
    assert_eq!(
        frame_starting(&mut on_a, r#"42["hello-back""#, WAIT).as_deref(),
        Some(r#"42["hello-back","a",1]"#)
    );
    assert_eq!(
        frame_starting(&mut on_b, r#"42["hello-back""#, WAIT).as_deref(),
        Some(r#"42["hello-back","b",1]"#)
    );
    // socketsJoin, then a broadcast to that room reaches a's client; disconnectSockets.
    emitter(&redis, &["--to", &id_a, "sockets-join", "joined"]);
    let deadline = std::time::Instant::now() + WAIT;
    while !ask(&mut on_b, 9, "fetch-sockets", r#""joined""#).contains(&id_a) {
        assert!(std::time::Instant::now() < deadline, "a's client did not join");
    }
    emitter(&redis, &["--to", "joined", "emit", "news", r#""to joined""#]);
    assert_eq!(
        frame_starting(&mut on_a, r#"42["news""#, WAIT).as_deref(),
        Some(r#"42["news","to joined"]"#)
    );
    emitter(&redis, &["--to", "room1", "disconnect-sockets", "true"]);
    assert_eq!(frame_starting(&mut on_b, "41", WAIT).as_deref(), Some("41"));
    assert_eq!(ws_expect_closed(&mut on_b, WAIT), None);
}

#[test]
fn the_adapter_adds_two_threads_per_server_and_none_per_client() {
    let redis = RedisServer::start();
    let mut alone = std::process::Command::new(support::example_binary("interop"));
    alone.args(["--port", "0"]);
    let alone = EchoServer::start_command("interop alone", alone);
    let clustered = ours(&redis, "a", &[]);
    // redis-sub and redis-apply, beside the accept loop and `timers`.
    let thread_counts = || {
        (
            support::thread_count(alone.pid()),
            support::thread_count(clustered.pid()),
        )
    };
    let (without, with) = thread_counts();
    assert_eq!(with, without + 2, "threads without --redis: {without}, with: {with}");
    // Clients on both: each client's threads, the same with and without Redis.
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(client(&alone));
        sessions.push(client(&clustered));
    }
    let (without_more, with_more) = thread_counts();
    assert_eq!(
        with_more - without_more,
        2,
        "{without_more} and {with_more} threads with 5 clients each"
    );
    assert_eq!(with_more - with, without_more - without);
}
