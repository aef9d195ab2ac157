//! Command-line flags and logging set-up shared by the binary and the examples.
//!
//! Flags are `--name value` pairs (`--port 8005 --ping-interval 25000`) or bare switches
//! (`--trace`); nothing cleverer, so a reader can see every flag in one loop.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::str::FromStr;
use std::time::Duration;

use simplelog::{ColorChoice, ConfigBuilder, LevelFilter, TermLogger, TerminalMode};

use crate::engineio::{self, CookieOptions, CorsOptions, CorsOrigin, TransportKind};

/// The flags given on the command line.
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, String>,
    switches: Vec<String>,
}

impl Flags {
    /// Reads `--name value` pairs and bare `--switch`es from the process arguments. `switches`
    /// names the flags that take no value.
    pub fn from_args(switches: &[&str]) -> Result<Flags, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Flags::parse(&args, switches)
    }

    /// The same, from a list (for tests).
    pub fn parse(args: &[String], switches: &[&str]) -> Result<Flags, String> {
        let mut flags = Flags::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let name = match arg.strip_prefix("--") {
                Some(name) => name.to_string(),
                None => return Err(format!("unexpected argument {arg:?}")),
            };
            if let Some((name, value)) = name.split_once('=') {
                flags.values.insert(name.to_string(), value.to_string());
            } else if switches.contains(&name.as_str()) {
                flags.switches.push(name);
            } else {
                match args.get(i + 1) {
                    Some(value) => {
                        flags.values.insert(name, value.clone());
                        i += 1;
                    }
                    None => return Err(format!("--{name} needs a value")),
                }
            }
            i += 1;
        }
        Ok(flags)
    }

    /// The value of `--name`, parsed, or `default`.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            Some(text) => text.parse().map_err(|_| format!("--{name}: cannot read {text:?}")),
            None => Ok(default),
        }
    }

    /// The value of `--name` as text, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|s| s.as_str())
    }

    /// A duration given in milliseconds, as the reference's options are.
    pub fn millis(&self, name: &str, default: Duration) -> Result<Duration, String> {
        let ms: u64 = self.get(name, default.as_millis() as u64)?;
        Ok(Duration::from_millis(ms))
    }

    /// Whether the bare switch `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }
}

/// `"info"` -> `LevelFilter::Info` (also `RUST_LOG`-style `"debug"`, `"trace"`, `"off"`).
pub fn parse_level(text: &str) -> Result<LevelFilter, String> {
    LevelFilter::from_str(text.trim()).map_err(|_| format!("unknown log level {text:?}"))
}

/// Logs to the terminal's standard error with time and level.
pub fn init_logging(level: LevelFilter) {
    let config = ConfigBuilder::new()
        .set_time_format_rfc3339()
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .build();
    let colors = if std::io::stderr().is_terminal() {
        ColorChoice::Auto
    } else {
        ColorChoice::Never
    };
    let _ = TermLogger::init(level, config, TerminalMode::Stderr, colors);
}

/// The log target of this crate's modules (`socketio_book`, `socketio_book::engineio::...`).
const CRATE: &str = env!("CARGO_CRATE_NAME");

/// A `RUST_LOG`-style list (`info`, `socketio_book=debug`, `warn,socketio_book=trace`) read for
/// this crate, whose one logger has a single level: an entry for `socketio_book` (or one of its
/// modules, `socketio_book::engineio=trace`; the most verbose of them) applies first, as it is
/// the more specific; else a bare level; entries for other targets are ignored. A bare word that
/// is no level names a target at every level (`socketio_book` alone means `trace`). `None` when
/// nothing in `text` is for us. A `/regex` suffix (env_logger's message filter) is ignored.
pub fn parse_rust_log(text: &str, crate_name: &str) -> Result<Option<LevelFilter>, String> {
    let directives = match text.split_once('/') {
        Some((directives, _filter)) => directives,
        None => text,
    };
    let ours = |target: &str| {
        target == crate_name
            || target
                .strip_prefix(crate_name)
                .is_some_and(|rest| rest.starts_with("::"))
    };
    let mut bare = None;
    let mut for_crate: Option<LevelFilter> = None;
    for entry in directives.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let level = match entry.split_once('=') {
            Some((target, level)) => {
                if !ours(target.trim()) {
                    continue;
                }
                parse_level(level).map_err(|e| format!("RUST_LOG entry {entry:?}: {e}"))?
            }
            None => match parse_level(entry) {
                Ok(level) => {
                    bare = Some(level);
                    continue;
                }
                Err(_) if ours(entry) => LevelFilter::Trace,
                Err(_) => continue, // another target, at every level
            },
        };
        for_crate = Some(for_crate.map_or(level, |before| before.max(level)));
    }
    Ok(for_crate.or(bare))
}

/// Reads the log level from `--log-level` (one level), else `RUST_LOG` (see [`parse_rust_log`]),
/// else `default`.
pub fn log_level(flags: &Flags, default: LevelFilter) -> Result<LevelFilter, String> {
    if let Some(text) = flags.text("log-level") {
        return parse_level(text);
    }
    match std::env::var("RUST_LOG") {
        Ok(text) => Ok(parse_rust_log(&text, CRATE)?.unwrap_or(default)),
        Err(_) => Ok(default),
    }
}

/// The Engine.IO flags of the example servers (`engine_echo`, `interop`), named and read as the
/// reference servers read them (`tests/node/reference/common.mjs`):
///
/// ```text
/// --transports websocket[,polling]      transports (default both)
/// --allow-upgrades false                allowUpgrades
/// --cookie NAME                         cookie: { name: NAME } (the reference's defaults)
/// --cors-origin ORIGIN[,ORIGIN...]      cors: { origin: ORIGIN or [ORIGIN, ...], credentials: true }
///   --cors-methods M,M  --cors-allowed-headers H,H  --cors-exposed-headers H,H  --cors-max-age S
/// --initial-header 'Name: value'        an `initial_headers` listener adding this header
/// --header 'Name: value'                a `headers` listener adding this header
/// ```
pub struct EngineFlags {
    pub transports: Vec<TransportKind>,
    pub allow_upgrades: bool,
    pub cookie: Option<CookieOptions>,
    pub cors: Option<CorsOptions>,
    pub initial_header: Option<(String, String)>,
    pub header: Option<(String, String)>,
}

impl EngineFlags {
    /// Reads them; defaults are the reference's.
    pub fn from_flags(flags: &Flags) -> Result<EngineFlags, String> {
        let list = |name: &str| -> Option<Vec<String>> {
            flags
                .text(name)
                .map(|text| text.split(',').map(|item| item.trim().to_string()).collect())
        };
        let mut transports = vec![TransportKind::Polling, TransportKind::WebSocket];
        if let Some(names) = list("transports") {
            transports = Vec::new();
            for name in names {
                match TransportKind::from_name(&name) {
                    Some(transport) => transports.push(transport),
                    None => return Err(format!("--transports: unknown transport {name:?}")),
                }
            }
        }
        let cors = match list("cors-origin") {
            None => None,
            Some(origins) => {
                let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
                let mut cors = CorsOptions::with_credentials(CorsOrigin::from_list(&origins));
                if let Some(methods) = list("cors-methods") {
                    cors.methods = methods;
                }
                cors.allowed_headers = list("cors-allowed-headers");
                cors.exposed_headers = list("cors-exposed-headers").unwrap_or_default();
                if flags.text("cors-max-age").is_some() {
                    cors.max_age = Some(flags.get("cors-max-age", 0)?);
                }
                Some(cors)
            }
        };
        let header = |name: &str| -> Result<Option<(String, String)>, String> {
            match flags.text(name) {
                None => Ok(None),
                Some(text) => match text.split_once(':') {
                    Some((key, value)) => Ok(Some((key.trim().to_string(), value.trim().to_string()))),
                    None => Err(format!("--{name}: expected 'Name: value', got {text:?}")),
                },
            }
        };
        Ok(EngineFlags {
            transports,
            allow_upgrades: flags.get("allow-upgrades", true)?,
            cookie: flags.text("cookie").map(|name| CookieOptions {
                name: name.to_string(),
                ..CookieOptions::default()
            }),
            cors,
            initial_header: header("initial-header")?,
            header: header("header")?,
        })
    }

    /// Registers the `--initial-header` and `--header` listeners on `engine`.
    pub fn add_header_listeners(&self, engine: &engineio::Server) {
        if let Some((name, value)) = self.initial_header.clone() {
            engine.on_initial_headers(move |headers, _request| headers.push((name.clone(), value.clone())));
        }
        if let Some((name, value)) = self.header.clone() {
            engine.on_headers(move |headers, _request| headers.push((name.clone(), value.clone())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_switches() {
        let args: Vec<String> = ["--port", "0", "--trace", "--ping-interval=300"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let flags = Flags::parse(&args, &["trace"]).unwrap();
        assert_eq!(flags.get("port", 8005u16), Ok(0));
        assert!(flags.switch("trace"));
        assert_eq!(
            flags.millis("ping-interval", Duration::ZERO),
            Ok(Duration::from_millis(300))
        );
        assert_eq!(flags.get("missing", 7u8), Ok(7));
        assert!(Flags::parse(&["--port".to_string()], &[]).is_err());
    }

    #[test]
    fn reads_rust_log_lists() {
        let read = |text: &str| parse_rust_log(text, "socketio_book");
        assert_eq!(read("debug"), Ok(Some(LevelFilter::Debug)));
        assert_eq!(read(" WARN "), Ok(Some(LevelFilter::Warn)));
        assert_eq!(read("socketio_book=debug"), Ok(Some(LevelFilter::Debug)));
        assert_eq!(read("socketio_book::engineio=trace"), Ok(Some(LevelFilter::Trace)));
        assert_eq!(read("socketio_book"), Ok(Some(LevelFilter::Trace)));
        // Other targets are ignored: nothing for us, the caller's default applies.
        assert_eq!(read("tungstenite=trace,hyper=debug"), Ok(None));
        assert_eq!(read("socketio_bookish=trace"), Ok(None));
        assert_eq!(read("other_crate"), Ok(None));
        assert_eq!(read(""), Ok(None));
        // A bare level is the default for every target; the crate's own entry is more specific.
        assert_eq!(read("tungstenite=trace,error"), Ok(Some(LevelFilter::Error)));
        assert_eq!(read("warn,socketio_book=debug"), Ok(Some(LevelFilter::Debug)));
        assert_eq!(read("socketio_book=error,info"), Ok(Some(LevelFilter::Error)));
        assert_eq!(
            read("socketio_book=info,socketio_book::trace=trace"),
            Ok(Some(LevelFilter::Trace))
        );
        assert_eq!(read("info,socketio_book=off"), Ok(Some(LevelFilter::Off)));
        assert_eq!(read("socketio_book=debug/news"), Ok(Some(LevelFilter::Debug)));
        // A level we cannot read in an entry for us is an error; in another target's, not ours.
        assert!(read("socketio_book=loud").unwrap_err().contains("unknown log level"));
        assert_eq!(read("other=loud,info"), Ok(Some(LevelFilter::Info)));
    }
}
