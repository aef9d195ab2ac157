//! The official clients against our servers: `tests/node/run.mjs` starts an example server, then
//! runs the `node:test` suites of `tests/node/engine` (engine.io-client against
//! `examples/engine_echo`), `tests/node/socketio` (socket.io-client against `examples/interop`,
//! polling-only, WebSocket-only and upgraded clients) or `tests/node/socketio_v2`
//! (socket.io-client 2.x against `examples/interop --allow-eio3`, and against the reference).
//!
//! Needs Node.js; the pinned npm packages are installed on first use (`support::tools::node`).
//! When Node.js is missing these tests fail with the command that installs it, they never skip.

mod support;

use support::{example_binary, tools};

/// Runs one suite and fails with its whole output unless every test passed.
fn run_suite(suite: &str, server: &str) {
    let output = tools::node()
        .arg(tools::node_dir().join("run.mjs"))
        .arg("--server")
        .arg(server)
        .arg("--suite")
        .arg(suite)
        .arg("--quiet-server")
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

/// socket.io-client 2.x (Engine.IO v3, Socket.IO protocol v4) against `interop --allow-eio3`.
#[test]
fn socket_io_client_2_against_interop() {
    let binary = example_binary("interop");
    run_suite(
        "socketio_v2",
        &format!(
            "{} --allow-eio3 --ping-interval 500 --ping-timeout 2000",
            binary.display()
        ),
    );
}

/// The same suite against the reference (`tests/node/reference/interop.mjs` with `allowEIO3:
/// true`): the tests assert what the reference does.
#[test]
fn socket_io_client_2_against_the_reference() {
    let output = tools::node()
        .arg(tools::node_dir().join("run.mjs"))
        .args(["--reference", "--suite", "socketio_v2", "--quiet-server"])
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "the socketio_v2 suite failed against the reference:\n{stdout}\n{stderr}"
    );
}

/// One `socketio...` suite against `examples/interop`, with short heartbeats.
fn run_interop_suite(suite: &str) {
    let binary = example_binary("interop");
    run_suite(
        suite,
        &format!("{} --ping-interval 500 --ping-timeout 2000", binary.display()),
    );
}

#[test]
fn socket_io_client_against_interop() {
    run_interop_suite("socketio");
}

/// `socketio/recovery`: run.mjs adds `--recover --max-disconnection 2000` to the server.
#[test]
fn socket_io_client_recovers_its_connection_state_against_interop() {
    run_interop_suite("socketio/recovery");
}

/// `socketio/msgpack`: run.mjs adds `--parser msgpack`; the clients use socket.io-msgpack-parser.
#[test]
fn socket_io_client_with_the_msgpack_parser_against_interop() {
    run_interop_suite("socketio/msgpack");
}
