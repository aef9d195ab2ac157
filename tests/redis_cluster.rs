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

use support::EchoServer;
use support::cluster::{ours, reference};
use support::redis_server::RedisServer;

/// Runs the cluster script against servers `a` and `b` and fails with its output unless every
/// test passed.
fn run_cluster_script(redis: &RedisServer, a: (&EchoServer, &str), b: (&EchoServer, &str), adapter: &str) {
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
        .output()
        .expect("run node");
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
