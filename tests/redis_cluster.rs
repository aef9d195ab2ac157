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
use std::process::Command;

use support::redis_server::RedisServer;
use support::{EchoServer, example_binary};

/// Our `examples/interop` on `redis`, as server `id`.
fn ours(redis: &RedisServer, id: &str, extra: &[&str]) -> EchoServer {
    let mut command = Command::new(example_binary("interop"));
    command
        .args(["--log-level", "debug", "--port", "0"])
        .args(["--redis", &redis.url(), "--server-id", id])
        .args(["--redis-requests-timeout", "2000"])
        .args(extra);
    EchoServer::start_command(&format!("interop {id}"), command)
}

/// The reference on `redis`, as server `id`.
fn reference(redis: &RedisServer, id: &str, extra: &[&str]) -> EchoServer {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new("node");
    command
        .arg(root.join("tests/node/reference/interop.mjs"))
        .args(["--port", "0", "--redis", &redis.url(), "--server-id", id])
        .args(["--redis-requests-timeout", "2000"])
        .args(extra)
        .current_dir(root);
    EchoServer::start_command(&format!("interop.mjs {id}"), command)
}

/// Runs the cluster script against servers `a` and `b` and fails with its output unless every
/// test passed.
fn run_cluster_script(redis: &RedisServer, a: (&EchoServer, &str), b: (&EchoServer, &str), adapter: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/node/node_modules/@socket.io/redis-emitter").exists(),
        "tests/node/node_modules is missing: run `npm ci --prefix tests/node` (see README)"
    );
    let output = Command::new("node")
        .args(["--test", "--test-reporter=spec"])
        .arg(root.join("tests/node/cluster/cluster.test.mjs"))
        .env("SERVER_A", format!("http://127.0.0.1:{}", a.0.port))
        .env("SERVER_A_ID", a.1)
        .env("SERVER_B", format!("http://127.0.0.1:{}", b.0.port))
        .env("SERVER_B_ID", b.1)
        .env("REDIS_URL", redis.url())
        .env("ADAPTER", adapter)
        .current_dir(root)
        .output()
        .expect("Node.js is required for the cluster tests (see README)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("ℹ fail 0") && !stdout.contains("ℹ pass 0"),
        "the cluster script failed ({adapter}):\n{stdout}\n{stderr}"
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
