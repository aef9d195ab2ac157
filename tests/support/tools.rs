//! The programs outside Rust that the tests need, found or installed by the tests themselves, so
//! that `cargo test` is the only command (README, Test):
//!
//! - [`node`]: Node.js, at least the version `tests/node/package.json` asks for (`engines.node`),
//!   with the pinned npm packages of `tests/node/package-lock.json`; the first test that needs
//!   them runs `npm ci --prefix tests/node` ([`npm_packages`]), once, under a lock;
//! - [`browser`]: `CHROME` if set, else `chromium`, `chromium-browser` or `google-chrome` on
//!   `PATH`.
//!
//! When one is missing the test fails with the command that installs it; it never skips.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// How Node.js and npm are installed on Debian and Ubuntu (Debian 13 and Ubuntu 24.04 ship
/// Node 20 and newer).
const INSTALL_NODE: &str = "sudo apt-get install -y nodejs npm";

/// How Chromium is installed on Debian.
const INSTALL_CHROMIUM: &str = "sudo apt-get install -y chromium";

/// The browsers looked for on `PATH`, in this order, when `CHROME` is not set.
const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/node`: the npm project of the interop and browser tests.
pub fn node_dir() -> PathBuf {
    root().join("tests/node")
}

/// `node`, run from the repository's root, once Node.js is known to be recent enough and the
/// pinned npm packages are installed.
pub fn node() -> Command {
    let minimum = minimum_node_major();
    let version = Command::new("node").arg("--version").output();
    let version = match &version {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).trim().to_string(),
        _ => panic!(
            "Node.js {minimum} or newer is needed for these tests and `node` is not on PATH: install it with \
             `{INSTALL_NODE}` (older releases ship an older Node.js: then see https://nodejs.org/en/download)"
        ),
    };
    // v20.20.2 -> 20
    let major: Option<u32> = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|major| major.parse().ok());
    assert!(
        major.is_some_and(|major| major >= minimum),
        "Node.js {version} is too old: these tests need {minimum} or newer (tests/node/package.json, engines.node); \
         install a newer one with `{INSTALL_NODE}` on Debian 13 or Ubuntu 24.04, or from https://nodejs.org/en/download"
    );
    npm_packages();
    let mut command = Command::new("node");
    command.current_dir(root());
    command
}

/// The major version of `engines.node` in tests/node/package.json (`">=20"` -> 20).
fn minimum_node_major() -> u32 {
    let text = std::fs::read_to_string(node_dir().join("package.json")).expect("tests/node/package.json");
    let package: Value = serde_json::from_str(&text).expect("tests/node/package.json is JSON");
    let engines = package["engines"]["node"]
        .as_str()
        .expect("engines.node in tests/node/package.json");
    let digits: String = engines
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("engines.node names a major version")
}

/// The packages of tests/node/package-lock.json that are missing from tests/node/node_modules
/// or installed at another version (optional ones left out), as `name@version`.
fn packages_missing() -> Vec<String> {
    let dir = node_dir();
    let text = std::fs::read_to_string(dir.join("package-lock.json")).expect("tests/node/package-lock.json");
    let lock: Value = serde_json::from_str(&text).expect("tests/node/package-lock.json is JSON");
    let packages = lock["packages"]
        .as_object()
        .expect("package-lock.json v2 or v3: `packages`");
    let mut missing = Vec::new();
    // "node_modules/socket.io-client": { "version": "4.8.4", ... }
    for (path, entry) in packages {
        if !path.starts_with("node_modules/") || entry["optional"] == Value::Bool(true) {
            continue;
        }
        let wanted = entry["version"].as_str().unwrap_or("");
        let installed = std::fs::read_to_string(dir.join(path).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|package| package["version"].as_str().map(str::to_string));
        if installed.as_deref() != Some(wanted) {
            missing.push(format!("{}@{wanted}", path.trim_start_matches("node_modules/")));
        }
    }
    missing
}

/// Makes sure tests/node/node_modules holds the pinned packages: when some are missing, runs
/// `npm ci --prefix tests/node`. Tests run in parallel (and the library's own unit tests use
/// this file too, through `#[path]` in src/lib.rs), so this happens under a lock (the file
/// `tests/node/.npm-ci.lock`): the first one installs, the others wait, then find them there. A node_modules that already holds them is left alone, a symbolic link included.
pub fn npm_packages() {
    if packages_missing().is_empty() {
        return;
    }
    let lock_path = node_dir().join(".npm-ci.lock");
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
    let missing = packages_missing();
    if missing.is_empty() {
        return; // another test binary installed them while we waited
    }
    let node_modules = node_dir().join("node_modules");
    assert!(
        !node_modules.is_symlink(),
        "tests/node/node_modules is a link to {:?} that lacks {} pinned package(s) ({}): run \
         `npm ci` in the directory it points to",
        std::fs::read_link(&node_modules).unwrap_or_default(),
        missing.len(),
        missing.join(", ")
    );
    let npm = Command::new("npm").arg("--version").output();
    assert!(
        matches!(&npm, Ok(output) if output.status.success()),
        "npm is needed to install the pinned packages of tests/node and is not on PATH: install it with \
         `{INSTALL_NODE}`"
    );
    eprintln!(
        "tests/node: {} pinned package(s) missing ({}...): npm ci --prefix tests/node",
        missing.len(),
        missing.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
    );
    let output = Command::new("npm")
        .args(["ci", "--prefix", "tests/node", "--no-audit", "--no-fund"])
        .current_dir(root())
        .output()
        .expect("run npm");
    assert!(
        output.status.success(),
        "`npm ci --prefix tests/node` failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let missing = packages_missing();
    assert!(
        missing.is_empty(),
        "still missing after `npm ci --prefix tests/node`: {missing:?}"
    );
}

/// The browser of the browser tests: `CHROME` if set, else the first of [`BROWSERS`] on `PATH`.
pub fn browser() -> PathBuf {
    if let Some(chrome) = std::env::var_os("CHROME").filter(|chrome| !chrome.is_empty()) {
        let chrome = PathBuf::from(chrome);
        assert!(chrome.is_file(), "CHROME={} is not a file", chrome.display());
        return chrome;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in BROWSERS {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the browser tests need Chromium or Chrome: none of {} is on PATH and CHROME is not set; install \
         Chromium with `{INSTALL_CHROMIUM}` (or set CHROME to a Chrome or Chromium binary)",
        BROWSERS.join(", ")
    );
}
