//! The official clients against our servers: `tests/node/run.mjs` starts an example server, then
//! runs the `node:test` suites of `tests/node/engine` (engine.io-client against
//! `examples/engine_echo`) or `tests/node/socketio` (socket.io-client against `examples/interop`,
//! polling-only, WebSocket-only and upgraded clients).
//!
//! Needs Node.js and `npm ci --prefix tests/node` (the README's set-up; `.ci/run` does it). When
//! either is missing these tests fail, they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/debug/examples/<name>`, built by `cargo test` before the integration tests.
fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("current_exe");
    // target/debug/deps/interop_node-<hash> -> target/debug/examples/<name>
    let profile_dir = test_binary.parent().and_then(Path::parent).expect("target/<profile>");
    let binary = profile_dir.join("examples").join(name);
    assert!(
        binary.exists(),
        "{} is missing: cargo test builds it, run through cargo",
        binary.display()
    );
    binary
}

/// Runs one suite and fails with its whole output unless every test passed.
fn run_suite(suite: &str, server: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node_dir = root.join("tests/node");
    let version = Command::new("node").arg("--version").output();
    assert!(
        matches!(&version, Ok(out) if out.status.success()),
        "Node.js is required for the interop tests (see README: Node 18+ and `npm ci --prefix tests/node`)"
    );
    assert!(
        node_dir.join("node_modules/socket.io-client").exists()
            && node_dir.join("node_modules/engine.io-client").exists(),
        "tests/node/node_modules is missing: run `npm ci --prefix tests/node` (see README)"
    );
    let output = Command::new("node")
        .arg(node_dir.join("run.mjs"))
        .arg("--server")
        .arg(server)
        .arg("--suite")
        .arg(suite)
        .arg("--quiet-server")
        .current_dir(root)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: Vec<&str> = stdout.lines().filter(|line| line.starts_with("# ")).collect();
    println!("{}", summary.join("\n"));
    assert!(
        output.status.success() && stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "the {suite} suite failed:\n{stdout}\n{stderr}"
    );
}

#[test]
fn engine_io_client_against_engine_echo() {
    let binary = example_binary("engine_echo");
    run_suite(
        "engine",
        &format!("{} --ping-interval 500 --ping-timeout 2000", binary.display()),
    );
}

#[test]
fn socket_io_client_against_interop() {
    let binary = example_binary("interop");
    run_suite(
        "socketio",
        &format!("{} --ping-interval 500 --ping-timeout 2000", binary.display()),
    );
}
