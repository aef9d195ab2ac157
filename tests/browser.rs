//! The chapter in a real browser: runs `node --test tests/browser/chapter.test.mjs`, which starts
//! our `socketio_book` binary (its path in `SOCKETIO_BOOK_BIN`) on ephemeral ports and drives
//! headless Chromium or Chrome (`support::tools::browser`: `CHROME`, else `chromium`,
//! `chromium-browser` or `google-chrome` on `PATH`) with `playwright-core`: the console's
//! `Hello Socket.IO` every 3 s, polling then the WebSocket, the server's log, the `news` thread
//! ending on disconnect (within 1 s: `clearInterval`), the WebSocket-only variant, the official
//! `socket.io-client` bundle (served byte for byte), reconnection after a server restart, and
//! the socket.io-client 2.x bundle with `--allow-eio3` (Engine.IO v3, and JSONP polling).
//! Every case must run and pass: the summary's counts are checked exactly
//! (`support::run_browser_suite`).
//!
//! Screenshots (`<case>.png`, and `<case>-failed.png` of a case that failed with its page open),
//! server logs and page consoles are kept in `target/browser-screenshots/` (the CI artifact).
//!
//! Needs Node.js and a Chromium or Chrome; the pinned npm packages are installed on first use
//! (`support::tools`). When Node.js or the browser is missing this test fails with the command
//! that installs it, it never skips.

mod support;

use std::path::Path;

/// The cases of tests/browser/chapter.test.mjs (1 to 4, 5 and 5b, 6 to 6c): all must run and
/// pass, so that a case deleted, skipped or left as a todo fails this test.
const CASES: u64 = 9;

#[test]
fn the_chapter_in_chromium() {
    let binary = Path::new(env!("CARGO_BIN_EXE_socketio_book"));
    support::run_browser_suite(
        "tests/browser/chapter.test.mjs",
        &[("SOCKETIO_BOOK_BIN", binary.as_os_str())],
        CASES,
    );
}
