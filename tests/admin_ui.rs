//! The official admin UI in a real browser: runs `node --test tests/browser/admin_ui.test.mjs`,
//! which serves the prebuilt UI of `@socket.io/admin-ui` 0.5.1 (tests/node's pinned package,
//! `ui/dist`) on a port of its own and drives it in headless Chromium or Chrome with
//! `playwright-core`, against our servers (`examples/interop --admin-ui`, the chapter's
//! `socketio_book --admin-ui --admin-ui-origin ...`) and against the reference's (`instrument()`
//! on socket.io 4.8: tests/node/reference/interop.mjs and chapter.mjs), with the same script:
//!
//! 1. the dashboard shows the namespaces and their sockets, the sockets page the official
//!    clients' ids, the rooms page the room they joined; the disconnect button of a client's row
//!    disconnects it ("io server disconnect");
//! 2. basic auth: a wrong password shows "Invalid credentials", the right one connects;
//! 3. the chapter: the events page shows the `news` sent to a client and its `reply`.
//!
//! Screenshots of each page (`admin-<ours|reference>-<case>-<page>.png`), the servers' logs and
//! the pages' consoles are kept in `target/browser-screenshots/` (the CI artifact), beside the
//! chapter's (`support::run_browser_suite`).
//!
//! Needs Node.js and a Chromium or Chrome (see `tests/browser.rs`): it fails with the command that
//! installs what is missing, it never skips.

mod support;

use std::path::Path;

/// The cases of tests/browser/admin_ui.test.mjs: 3, against ours and against the reference.
const CASES: u64 = 6;

#[test]
fn the_admin_ui_in_chromium() {
    let binary = Path::new(env!("CARGO_BIN_EXE_socketio_book"));
    let interop = support::example_binary("interop");
    support::run_browser_suite(
        "tests/browser/admin_ui.test.mjs",
        &[
            ("SOCKETIO_BOOK_BIN", binary.as_os_str()),
            ("INTEROP_BIN", interop.as_os_str()),
        ],
        CASES,
    );
}
