//! The chapter in a real browser: runs `node --test tests/browser/chapter.test.mjs`, which starts
//! our `socketio_book` binary (its path in `SOCKETIO_BOOK_BIN`) on ephemeral ports and drives
//! Debian's headless Chromium (`/usr/bin/chromium`) with `playwright-core`: the console's
//! `Hello Socket.IO` every 3 s, polling then the WebSocket, the server's log, the `news` thread
//! ending on disconnect, the WebSocket-only variant, the official `socket.io-client` bundle, and
//! reconnection after a server restart.
//!
//! Screenshots, server logs and page consoles are kept in `target/browser-screenshots/` (the CI
//! artifact).
//!
//! Needs Node.js, `npm ci --prefix tests/node` and `apt-get install chromium` (the README's
//! set-up; `.ci/run` does it). When any is missing this test fails, it never skips.

use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn the_chapter_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = Path::new(env!("CARGO_BIN_EXE_socketio_book"));
    // target/<profile>/socketio_book -> target/browser-screenshots
    let artifacts = binary
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("browser-screenshots");

    let version = Command::new("node").arg("--version").output();
    assert!(
        matches!(&version, Ok(out) if out.status.success()),
        "Node.js is required for the browser tests (see README, Test: Node 18+ and `npm ci --prefix tests/node`)"
    );
    let node_modules = root.join("tests/node/node_modules");
    for package in ["playwright-core", "socket.io-client/dist/socket.io.js"] {
        assert!(
            node_modules.join(package).exists(),
            "tests/node/node_modules/{package} is missing: run `npm ci --prefix tests/node` (see README, Test)"
        );
    }
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: the browser tests need Debian's Chromium, `apt-get install chromium` (see README, Test)"
    );

    let output = Command::new("node")
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg("tests/browser/chapter.test.mjs")
        .env("SOCKETIO_BOOK_BIN", binary)
        .env("BROWSER_ARTIFACTS", &artifacts)
        .env("CHROMIUM", CHROMIUM)
        .current_dir(root)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}\nscreenshots and logs: {}", artifacts.display());
    assert!(
        output.status.success() && stdout.contains("ℹ fail 0") && !stdout.contains("ℹ pass 0"),
        "the browser tests failed (screenshots and logs in {}):\n{stdout}\n{stderr}",
        artifacts.display()
    );
}
