//! The chapter in a real browser: runs `node --test tests/browser/chapter.test.mjs`, which starts
//! our `socketio_book` binary (its path in `SOCKETIO_BOOK_BIN`) on ephemeral ports and drives
//! headless Chromium or Chrome (`support::tools::browser`: `CHROME`, else `chromium`,
//! `chromium-browser` or `google-chrome` on `PATH`) with `playwright-core`: the console's
//! `Hello Socket.IO` every 3 s, polling then the WebSocket, the server's log, the `news` thread
//! ending on disconnect (within 1 s: `clearInterval`), the WebSocket-only variant, the official
//! `socket.io-client` bundle (served byte for byte), reconnection after a server restart, and
//! the socket.io-client 2.x bundle with `--allow-eio3` (Engine.IO v3, and JSONP polling).
//! Every case must run and pass: the summary's counts are checked exactly.
//!
//! Screenshots (`<case>.png`, and `<case>-failed.png` of a case that failed with its page open),
//! server logs and page consoles are kept in `target/browser-screenshots/` (the CI artifact).
//!
//! Needs Node.js and a Chromium or Chrome; the pinned npm packages are installed on first use
//! (`support::tools`). When Node.js or the browser is missing this test fails with the command
//! that installs it, it never skips.

mod support;

use std::path::Path;

use support::tools;

/// The cases of tests/browser/chapter.test.mjs (1 to 4, 5 and 5b, 6 to 6c): all must run and
/// pass, so that a case deleted, skipped or left as a todo fails this test.
const CASES: u64 = 9;

/// The summary of node's test runner (`ℹ tests 6`, `ℹ pass 6`, ...) as (name, count).
fn summary(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("ℹ "))
        .filter_map(|rest| {
            let (name, count) = rest.split_once(' ')?;
            Some((name.to_string(), count.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn the_chapter_in_chromium() {
    let binary = Path::new(env!("CARGO_BIN_EXE_socketio_book"));
    // target/<profile>/socketio_book -> target/browser-screenshots
    let artifacts = binary
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .join("browser-screenshots");

    let chrome = tools::browser();
    let output = tools::node()
        .arg("--test")
        .arg("--test-reporter=spec")
        .arg("tests/browser/chapter.test.mjs")
        .env("SOCKETIO_BOOK_BIN", binary)
        .env("BROWSER_ARTIFACTS", &artifacts)
        .env("CHROME", &chrome)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!(
        "{stdout}\n{stderr}\nbrowser: {}\nscreenshots and logs: {}",
        chrome.display(),
        artifacts.display()
    );
    assert!(
        output.status.success(),
        "the browser tests failed (screenshots and logs in {}):\n{stdout}\n{stderr}",
        artifacts.display()
    );
    let counts = summary(&stdout);
    let count = |name: &str| counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
    for (name, expected) in [
        ("tests", CASES),
        ("pass", CASES),
        ("fail", 0),
        ("cancelled", 0),
        ("skipped", 0),
        ("todo", 0),
    ] {
        assert_eq!(
            count(name),
            Some(expected),
            "node's summary should say `ℹ {name} {expected}` (screenshots and logs in {}):\n{stdout}\n{stderr}",
            artifacts.display()
        );
    }
}
