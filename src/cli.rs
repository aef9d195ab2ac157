//! Command-line flags, declared once per binary in a table, and the logging set-up shared by the
//! binary and the examples.
//!
//! Each `main` declares its flags in one [`Usage`] table: a [`Flag`] row per flag with its name,
//! its value (`N`, `MS`, ...), what it accepts (a range of numbers, a log level, any text), its
//! default, its environment variable and its help text. Everything else comes from that table:
//!
//! - [`parse_args`] reads the command line with one loop ([`parse`]): `--name value`,
//!   `--name=value`, bare `--switch`es; `--help` and `-h` print [`help`] (the same table as
//!   README's) and exit 0; an unknown flag (with the closest known one: `unknown flag --prot; did
//!   you mean --port?`), a switch given a value, a flag missing its value or a value out of range
//!   print the error and the usage line and exit 2;
//! - a flag not given takes its environment variable, else its default, checked the same way;
//! - the code reads the values through the table by name ([`Flags::number`], [`Flags::millis`],
//!   [`Flags::text`], [`Flags::switch`], [`Flags::log_level`]): the values were checked at start-up,
//!   so reading cannot fail; reading a name the table does not declare is a programming error
//!   and panics (`tests/cli.rs` also finds every name each `main` reads in its source and checks
//!   that `--help` lists it).
//!
//! ```text
//! const USAGE: Usage = Usage {
//!     program: env!("CARGO_BIN_NAME"),
//!     about: "...",
//!     flags: &[
//!         Flag::number("port", "N", 0, 65535, "where to listen (0: any free port)").default("8005").env("PORT"),
//!         Flag::switch("trace", "log every packet"),
//!         cli::LOG_LEVEL,
//!     ],
//! };
//! let flags = cli::parse_args(&USAGE);
//! let port: u16 = flags.number("port");
//! ```

use std::io::{IsTerminal, Write};
use std::str::FromStr;
use std::time::Duration;

use simplelog::{ColorChoice, ConfigBuilder, LevelFilter, TermLogger, TerminalMode};

use crate::engineio::{self, CookieOptions, CorsOptions, CorsOrigin, TransportKind};
use crate::socketio::ConnectionStateRecovery;

// ----- the table --------------------------------------------------------------------------------

/// What a flag's value may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// No value: `--trace` is on when given.
    Switch,
    /// Any text (an address, a file, a list of origins).
    Text,
    /// A whole number from `min` to `max`, both included.
    Number { min: u64, max: u64 },
    /// One of `off`, `error`, `warn`, `info`, `debug`, `trace`; from the environment
    /// (`RUST_LOG`), also a list (see [`parse_rust_log`]).
    LogLevel,
}

/// One row of a binary's flag table.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// `port` for `--port`.
    pub name: &'static str,
    /// What the value is, as `--help` shows it: `N`, `MS`, `ADDR`; empty for a switch.
    pub value: &'static str,
    pub kind: Kind,
    /// The value when neither the flag nor its environment variable is given.
    pub default: Option<&'static str>,
    /// The environment variable read when the flag is not given (`PORT`).
    pub env: Option<&'static str>,
    /// One line for `--help`.
    pub help: &'static str,
}

impl Flag {
    /// `--name` with no value.
    pub const fn switch(name: &'static str, help: &'static str) -> Flag {
        Flag {
            name,
            value: "",
            kind: Kind::Switch,
            default: None,
            env: None,
            help,
        }
    }

    /// `--name VALUE`, any text.
    pub const fn text(name: &'static str, value: &'static str, help: &'static str) -> Flag {
        Flag {
            name,
            value,
            kind: Kind::Text,
            default: None,
            env: None,
            help,
        }
    }

    /// `--name N`, a whole number from `min` to `max`.
    pub const fn number(name: &'static str, value: &'static str, min: u64, max: u64, help: &'static str) -> Flag {
        Flag {
            name,
            value,
            kind: Kind::Number { min, max },
            default: None,
            env: None,
            help,
        }
    }

    /// The same row with a default.
    pub const fn default(self, default: &'static str) -> Flag {
        Flag {
            default: Some(default),
            ..self
        }
    }

    /// The same row, read from the environment variable `env` when the flag is not given.
    pub const fn env(self, env: &'static str) -> Flag {
        Flag { env: Some(env), ..self }
    }

    /// `--port N` or `--trace`, as the usage line and the table show it.
    fn synopsis(&self) -> String {
        match self.kind {
            Kind::Switch => format!("--{}", self.name),
            _ => format!("--{} {}", self.name, self.value),
        }
    }

    /// The values it accepts, for the table: `0 to 65535`.
    fn values(&self) -> String {
        match self.kind {
            Kind::Switch | Kind::Text => "-".to_string(),
            Kind::Number { min, max } => format!("{min} to {max}"),
            Kind::LogLevel => LEVELS.join(", "),
        }
    }

    /// Whether `text` is a value this flag accepts; if not, why.
    fn check(&self, text: &str) -> Result<(), String> {
        match self.kind {
            Kind::Switch | Kind::Text => Ok(()),
            Kind::Number { min, max } => match text.trim().parse::<i128>() {
                Ok(n) if n >= min as i128 && n <= max as i128 => Ok(()),
                Ok(_) => Err(format!("out of range: {min} to {max}")),
                Err(_) => Err(format!("not a whole number ({min} to {max})")),
            },
            Kind::LogLevel => parse_level(text).map(|_| ()),
        }
    }
}

/// The longest timer Node accepts (`setTimeout`'s 2^31 - 1 ms, about 24.8 days): the top of
/// every `MS` range.
pub const MAX_MS: u64 = 2_147_483_647;

/// The levels of `--log-level`, quietest first.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// `--log-level`, the same in every binary.
pub const LOG_LEVEL: Flag = Flag {
    name: "log-level",
    value: "LEVEL",
    kind: Kind::LogLevel,
    default: Some("info"),
    env: Some("RUST_LOG"),
    help: "what to log (RUST_LOG may also be a list: warn,socketio_book=debug)",
};

/// `--port N` with its default (0 picks any free port: the tests start servers so).
pub const fn port(default: &'static str) -> Flag {
    Flag::number("port", "N", 0, 65535, "where to listen (0: any free port)").default(default)
}

/// `--host ADDR` with its default.
pub const fn host(default: &'static str) -> Flag {
    Flag::text("host", "ADDR", "the address to bind").default(default)
}

/// `--trace`: `trace::enable()`, every packet in the log.
pub const TRACE: Flag = Flag::switch(
    "trace",
    "log every Engine.IO and Socket.IO packet in and out, explained",
);

/// `--client-script FILE`: what `/socket.io/socket.io.js` serves (`www::client_script`).
pub const CLIENT_SCRIPT: Flag = Flag::text(
    "client-script",
    "FILE",
    "serve FILE as /socket.io/socket.io.js (e.g. the official bundle) instead of our www/socket.io.js",
);

/// `--recover`: the reference's `connectionStateRecovery: {}` (its defaults; see
/// `socketio::ConnectionStateRecovery`).
pub const RECOVER: Flag = Flag::switch(
    "recover",
    "connectionStateRecovery: a client whose connection drops gets its socket back (not with --redis)",
);

/// The `connection_state_recovery` option of `--recover` (`None` without it), or the error that
/// stops the binary when `--redis` is given too: neither Redis adapter carries connection state
/// recovery (the reference needs its Redis Streams adapter for that), so it would silently never
/// recover anything.
pub fn connection_state_recovery(
    recover: bool,
    max_disconnection: Duration,
    max_log_entries: usize,
    redis: Option<&str>,
) -> Result<Option<ConnectionStateRecovery>, String> {
    if !recover {
        return Ok(None);
    }
    if let Some(url) = redis {
        return Err(format!(
            "--recover cannot go with --redis {url}: the Redis adapters do not carry connection state recovery \
             (the reference needs its Redis Streams adapter for that); drop one of the two"
        ));
    }
    Ok(Some(ConnectionStateRecovery {
        max_disconnection_duration: max_disconnection,
        max_log_entries,
        ..ConnectionStateRecovery::default()
    }))
}

/// `--max-disconnection`: the reference's `connectionStateRecovery.maxDisconnectionDuration`.
pub const MAX_DISCONNECTION: Flag = Flag::number(
    "max-disconnection",
    "MS",
    1,
    MAX_MS,
    "with --recover: how long a dropped socket waits for its client (maxDisconnectionDuration)",
)
.default("120000");

/// `--ping-interval`: the reference's `pingInterval` (default of `engineio::ServerOptions`).
pub const PING_INTERVAL: Flag =
    Flag::number("ping-interval", "MS", 1, MAX_MS, "Engine.IO heartbeat: a ping every MS").default("25000");

/// `--ping-timeout`: the reference's `pingTimeout`.
pub const PING_TIMEOUT: Flag = Flag::number(
    "ping-timeout",
    "MS",
    1,
    MAX_MS,
    "Engine.IO heartbeat: how long a pong may take",
)
.default("20000");

/// `--max-payload`: the reference's `maxHttpBufferSize` (Engine.IO's `maxPayload`).
pub const MAX_PAYLOAD: Flag = Flag::number(
    "max-payload",
    "BYTES",
    1,
    u32::MAX as u64,
    "the largest message or POST body accepted (maxHttpBufferSize)",
)
.default("1000000");

/// `--cors-origin`: the reference's `cors: { origin, credentials: true }`: one origin as a string,
/// several as a list, `*` for any (`EngineFlags::cors`).
pub const CORS_ORIGIN: Flag = Flag::text(
    "cors-origin",
    "ORIGIN[,ORIGIN...]",
    "answer CORS requests from these origins (with credentials); none: no CORS headers",
);

/// `--max-connections`: `listener::ListenerConfig::max_connections`.
pub const MAX_CONNECTIONS: Flag = Flag::number(
    "max-connections",
    "N",
    1,
    1_000_000,
    "open connections past which a new one gets 503",
)
.default("15000");

/// `--redis`: the Redis adapter (`socketio::adapter::redis`); without it, one server alone.
pub const REDIS: Flag = Flag::text(
    "redis",
    "URL",
    "join the servers on this Redis (redis://host:port): @socket.io/redis-adapter's messages",
);

/// `--redis-key`: the reference's `key` (classic) / `channelPrefix` (sharded).
pub const REDIS_KEY: Flag = Flag::text("redis-key", "PREFIX", "the prefix of the Redis channels").default("socket.io");

/// `--redis-sharded`: `createShardedAdapter` (Redis 7 sharded pub/sub) instead of `createAdapter`.
pub const REDIS_SHARDED: Flag = Flag::switch(
    "redis-sharded",
    "the sharded adapter (SSUBSCRIBE/SPUBLISH, Redis 7) instead of the classic one",
);

/// `--redis-subscription-mode`: the sharded adapter's `subscriptionMode`.
pub const REDIS_SUBSCRIPTION_MODE: Flag = Flag::text(
    "redis-subscription-mode",
    "MODE",
    "the sharded adapter's channels: static, dynamic (one per public room), dynamic-private",
)
.default("dynamic");

/// `--redis-requests-timeout`: the reference's `requestsTimeout`.
pub const REDIS_REQUESTS_TIMEOUT: Flag = Flag::number(
    "redis-requests-timeout",
    "MS",
    1,
    MAX_MS,
    "how long fetchSockets and serverSideEmit with an ack wait for the other servers",
)
.default("5000");

/// `--redis-specific-response-channel`: the reference's `publishOnSpecificResponseChannel`.
pub const REDIS_SPECIFIC_RESPONSE_CHANNEL: Flag = Flag::switch(
    "redis-specific-response-channel",
    "the classic adapter answers on the requester's own channel (publishOnSpecificResponseChannel)",
);

/// `--transports`: the reference's `transports`.
pub const TRANSPORTS: Flag = Flag::text(
    "transports",
    "websocket[,polling]",
    "the transports allowed (transports), e.g. websocket only; default both",
);

/// `--allow-upgrades`: the reference's `allowUpgrades`.
pub const ALLOW_UPGRADES: Flag = Flag::text(
    "allow-upgrades",
    "BOOL",
    "true or false; false: the open packet offers no upgrade (allowUpgrades)",
)
.default("true");

/// `--cookie`: the reference's `cookie: { name }`.
pub const COOKIE: Flag = Flag::text(
    "cookie",
    "NAME",
    "set the cookie NAME=<sid>; Path=/; HttpOnly; SameSite=Lax on the polling handshake (cookie)",
);

/// `--cors-methods`: the `cors` package's `methods`.
pub const CORS_METHODS: Flag = Flag::text(
    "cors-methods",
    "M[,M...]",
    "with --cors-origin: the methods a preflight allows (default GET,HEAD,PUT,PATCH,POST,DELETE)",
);

/// `--cors-allowed-headers`: the `cors` package's `allowedHeaders`.
pub const CORS_ALLOWED_HEADERS: Flag = Flag::text(
    "cors-allowed-headers",
    "H[,H...]",
    "with --cors-origin: the headers a preflight allows (default: those it asks for)",
);

/// `--cors-exposed-headers`: the `cors` package's `exposedHeaders`.
pub const CORS_EXPOSED_HEADERS: Flag = Flag::text(
    "cors-exposed-headers",
    "H[,H...]",
    "with --cors-origin: Access-Control-Expose-Headers",
);

/// `--cors-max-age`: the `cors` package's `maxAge`.
pub const CORS_MAX_AGE: Flag = Flag::text(
    "cors-max-age",
    "S",
    "with --cors-origin: how long a browser may keep a preflight's answer (Access-Control-Max-Age)",
);

/// `--initial-header`: an `initial_headers` listener.
pub const INITIAL_HEADER: Flag = Flag::text(
    "initial-header",
    "'NAME: VALUE'",
    "an initial_headers listener adds this header to the handshake's answer",
);

/// `--header`: a `headers` listener.
pub const HEADER: Flag = Flag::text(
    "header",
    "'NAME: VALUE'",
    "a headers listener adds this header to every polling answer and 101",
);

/// `--allow-eio3`: the reference's `allowEIO3`.
pub const ALLOW_EIO3: Flag = Flag::switch(
    "allow-eio3",
    "also serve Engine.IO v3 clients: socket.io 2.x (allowEIO3)",
);

/// The values of the Engine.IO rows above (and of [`CORS_ORIGIN`]), as a `main` reads them, and
/// what they mean as options. The reference servers read the same flags
/// (`tests/node/reference/common.mjs`), so that a test runs against either.
pub struct EngineFlags<'a> {
    pub transports: Option<&'a str>,
    pub allow_upgrades: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub cors_origin: Option<&'a str>,
    pub cors_methods: Option<&'a str>,
    pub cors_allowed_headers: Option<&'a str>,
    pub cors_exposed_headers: Option<&'a str>,
    pub cors_max_age: Option<&'a str>,
    pub initial_header: Option<&'a str>,
    pub header: Option<&'a str>,
}

/// `a, b` -> `["a", "b"]`.
fn comma_list(text: &str) -> Vec<String> {
    text.split(',').map(|item| item.trim().to_string()).collect()
}

/// `'Name: value'` -> `("Name", "value")`.
fn header_pair(flag: &str, text: Option<&str>) -> Result<Option<(String, String)>, String> {
    match text {
        None => Ok(None),
        Some(text) => match text.split_once(':') {
            Some((name, value)) => Ok(Some((name.trim().to_string(), value.trim().to_string()))),
            None => Err(format!("--{flag} {text}: expected 'NAME: VALUE'")),
        },
    }
}

impl EngineFlags<'_> {
    /// `--transports websocket,polling` -> both; not given: both.
    pub fn transports(&self) -> Result<Vec<TransportKind>, String> {
        let Some(names) = self.transports else {
            return Ok(vec![TransportKind::Polling, TransportKind::WebSocket]);
        };
        let mut transports = Vec::new();
        for name in comma_list(names) {
            match TransportKind::from_name(&name) {
                Some(transport) => transports.push(transport),
                None => return Err(format!("--transports {names}: unknown transport {name:?}")),
            }
        }
        Ok(transports)
    }

    /// `--allow-upgrades false`.
    pub fn allow_upgrades(&self) -> Result<bool, String> {
        match self.allow_upgrades.unwrap_or("true") {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("--allow-upgrades {other}: true or false")),
        }
    }

    /// `--cookie NAME`: the reference's defaults with that name.
    pub fn cookie(&self) -> Option<CookieOptions> {
        self.cookie.map(|name| CookieOptions {
            name: name.to_string(),
            ..CookieOptions::default()
        })
    }

    /// `--cors-origin` and the other `--cors-*`: `{ origin, credentials: true, ... }`; one origin
    /// as a string, several as a list, `*` for any (see `CorsOrigin::from_list`).
    pub fn cors(&self) -> Result<Option<CorsOptions>, String> {
        let Some(origins) = self.cors_origin else {
            return Ok(None);
        };
        let origins = comma_list(origins);
        let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
        let mut cors = CorsOptions::with_credentials(CorsOrigin::from_list(&origins));
        if let Some(methods) = self.cors_methods {
            cors.methods = comma_list(methods);
        }
        cors.allowed_headers = self.cors_allowed_headers.map(comma_list);
        cors.exposed_headers = self.cors_exposed_headers.map(comma_list).unwrap_or_default();
        if let Some(max_age) = self.cors_max_age {
            let seconds = max_age
                .trim()
                .parse()
                .map_err(|_| format!("--cors-max-age {max_age}: not a whole number"))?;
            cors.max_age = Some(seconds);
        }
        Ok(Some(cors))
    }

    /// Registers the `--initial-header` and `--header` listeners on `engine`.
    pub fn add_header_listeners(&self, engine: &engineio::Server) -> Result<(), String> {
        if let Some((name, value)) = header_pair("initial-header", self.initial_header)? {
            engine.on_initial_headers(move |headers, _request| headers.push((name.clone(), value.clone())));
        }
        if let Some((name, value)) = header_pair("header", self.header)? {
            engine.on_headers(move |headers, _request| headers.push((name.clone(), value.clone())));
        }
        Ok(())
    }
}

/// A binary's flags: its name, one line about it, and its table.
#[derive(Debug)]
pub struct Usage {
    /// The binary's name (`env!("CARGO_BIN_NAME")`).
    pub program: &'static str,
    /// One line: what it is.
    pub about: &'static str,
    pub flags: &'static [Flag],
}

impl Usage {
    /// The row of `--name`, if the table has one.
    fn find(&self, name: &str) -> Option<usize> {
        self.flags.iter().position(|flag| flag.name == name)
    }

    /// The table itself is right: names unique, defaults accepted by their own rows, a switch
    /// with neither default nor environment variable. Called before parsing, so that every run
    /// of the binary (and so every test that starts it) checks it.
    fn assert_well_formed(&self) {
        for (index, flag) in self.flags.iter().enumerate() {
            assert!(
                self.find(flag.name) == Some(index) && flag.name != "help",
                "{}: --{} is declared twice (or is --help)",
                self.program,
                flag.name
            );
            if let Some(default) = flag.default {
                assert!(
                    flag.check(default).is_ok(),
                    "{}: the default of --{} ({default}) is not one of its values",
                    self.program,
                    flag.name
                );
            }
            if flag.kind == Kind::Switch {
                assert!(
                    flag.default.is_none() && flag.env.is_none(),
                    "{}: --{}",
                    self.program,
                    flag.name
                );
            }
        }
    }
}

// ----- parsing ----------------------------------------------------------------------------------

/// Why [`parse`] stopped without flags.
#[derive(Debug, PartialEq)]
pub enum Stop {
    /// `--help` or `-h`: print the help, exit 0.
    Help,
    /// A mistake on the command line or in the environment: print it and the usage, exit 2.
    Error(String),
}

/// The checked value of every flag of a table (given, from the environment, or the default).
#[derive(Debug)]
pub struct Flags {
    usage: &'static Usage,
    /// `values[i]` is the value of `usage.flags[i]`: `None` when it has none (a switch not
    /// given, a text flag without default); a switch given holds `""`.
    values: Vec<Option<String>>,
}

/// Reads the process's arguments and environment against `usage`. On `--help` prints the help
/// to standard output and exits 0; on a mistake prints it with the usage line to standard error
/// and exits 2.
pub fn parse_args(usage: &'static Usage) -> Flags {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => exit_with_usage(usage, &format!("argument {arg:?} is not UTF-8")),
        }
    }
    match parse(usage, &args, |name| std::env::var(name).ok()) {
        Ok(flags) => flags,
        Err(Stop::Help) => {
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(help(usage).as_bytes());
            let _ = stdout.flush();
            std::process::exit(0);
        }
        Err(Stop::Error(error)) => exit_with_usage(usage, &error),
    }
}

/// Prints `program: error`, the usage line and where the help is, then exits 2.
fn exit_with_usage(usage: &Usage, error: &str) -> ! {
    eprintln!("{}: {error}", usage.program);
    eprintln!("{}", usage_line(usage));
    eprintln!("({} --help describes every flag)", usage.program);
    std::process::exit(2);
}

/// Reads `args` (without the program's name) against `usage`; `env` reads an environment
/// variable. One pass over the arguments, then one over the table for the flags not given.
pub fn parse(usage: &'static Usage, args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Flags, Stop> {
    usage.assert_well_formed();
    let mut values: Vec<Option<String>> = vec![None; usage.flags.len()];
    let mut given = vec![false; usage.flags.len()];

    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--help" || arg == "-h" {
            return Err(Stop::Help);
        }
        // `--name` or `--name=value`; `-name` is a mistake for `--name`.
        let body = match arg.strip_prefix("--") {
            Some(body) if !body.is_empty() => body,
            _ => match arg.strip_prefix('-') {
                Some(name) if !name.is_empty() && !name.starts_with('-') => {
                    return Err(Stop::Error(unknown_flag(usage, arg, name)));
                }
                _ => {
                    return Err(Stop::Error(format!(
                        "unexpected argument {arg:?} (flags start with --)"
                    )));
                }
            },
        };
        let (name, inline_value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let index = match usage.find(name) {
            Some(index) => index,
            None if name == "help" => return Err(Stop::Error("--help takes no value".to_string())),
            None => return Err(Stop::Error(unknown_flag(usage, &format!("--{name}"), name))),
        };
        let flag = &usage.flags[index];
        if given[index] {
            return Err(Stop::Error(format!("--{name} is given twice")));
        }
        given[index] = true;
        let value = match (flag.kind, inline_value) {
            (Kind::Switch, None) => String::new(),
            (Kind::Switch, Some(_)) => {
                return Err(Stop::Error(format!(
                    "--{name} is a switch and takes no value (given {arg})"
                )));
            }
            (_, Some(value)) => value.to_string(),
            // The next argument is the value, unless it is the next flag.
            (_, None) => match args.get(i) {
                Some(next) if !next.starts_with("--") => {
                    i += 1;
                    next.clone()
                }
                _ => return Err(Stop::Error(format!("--{name} needs a value: {}", flag.synopsis()))),
            },
        };
        if let Err(why) = flag.check(&value) {
            return Err(Stop::Error(format!("--{name} {value}: {why}")));
        }
        values[index] = Some(value);
    }

    // The flags not given: their environment variable, else their default.
    for (index, flag) in usage.flags.iter().enumerate() {
        if given[index] {
            continue;
        }
        let from_env = match flag.env.and_then(|var| env(var).map(|text| (var, text))) {
            None => None,
            Some((var, text)) if flag.kind == Kind::LogLevel => match parse_rust_log(&text, CRATE) {
                Ok(level) => level.map(|level| level.to_string().to_lowercase()),
                Err(why) => return Err(Stop::Error(format!("{var}={text}: {why}"))),
            },
            Some((var, text)) => match flag.check(&text) {
                Ok(()) => Some(text),
                Err(why) => return Err(Stop::Error(format!("{var}={text}: {why}"))),
            },
        };
        values[index] = from_env.or(flag.default.map(str::to_string));
    }
    Ok(Flags { usage, values })
}

/// `unknown flag --prot; did you mean --port?` (the suggestion when one is close enough).
fn unknown_flag(usage: &Usage, arg: &str, name: &str) -> String {
    match closest(usage, name) {
        Some(known) => format!("unknown flag {arg}; did you mean --{known}?"),
        None => format!("unknown flag {arg}"),
    }
}

/// The known flag closest to `name`: one that starts with it (`--cors` for `--cors-origin`),
/// else the one with the fewest one-letter edits (a swap of two neighbours counts one), if that
/// is at most a third of the name's letters (at least one).
fn closest(usage: &Usage, name: &str) -> Option<&'static str> {
    if name.len() >= 3 {
        if let Some(flag) = usage.flags.iter().find(|flag| flag.name.starts_with(name)) {
            return Some(flag.name);
        }
    }
    let mut best: Option<(usize, &'static str)> = None;
    for flag in usage.flags {
        let distance = edit_distance(name, flag.name);
        if best.is_none_or(|(least, _)| distance < least) {
            best = Some((distance, flag.name));
        }
    }
    match best {
        Some((distance, known)) if distance <= (name.chars().count() / 3).max(1) => Some(known),
        _ => None,
    }
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring letters, each one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: the distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

// ----- help -------------------------------------------------------------------------------------

/// `usage: interop [--port N] [--host ADDR] ...`, wrapped at 100 columns.
pub fn usage_line(usage: &Usage) -> String {
    let start = format!("usage: {}", usage.program);
    let indent = " ".repeat(start.len());
    let mut text = start.clone();
    let mut line_length = start.len();
    for flag in usage.flags {
        let word = format!(" [{}]", flag.synopsis());
        if line_length + word.len() > 100 {
            text.push('\n');
            text.push_str(&indent);
            line_length = indent.len();
        }
        text.push_str(&word);
        line_length += word.len();
    }
    text
}

/// What `--help` prints: the program and what it is, the usage line, and the flag table, a
/// Markdown table (README has the same one: `tests/cli.rs` compares them).
pub fn help(usage: &Usage) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "flag".to_string(),
        "values".to_string(),
        "default".to_string(),
        "env".to_string(),
        "meaning".to_string(),
    ]];
    for flag in usage.flags {
        let default = match (flag.kind, flag.default) {
            (Kind::Switch, _) => "off",
            (_, Some(default)) => default,
            (_, None) => "-",
        };
        rows.push([
            flag.synopsis(),
            flag.values(),
            default.to_string(),
            flag.env.unwrap_or("-").to_string(),
            flag.help.to_string(),
        ]);
    }
    // Each column as wide as its widest cell.
    let mut widths = [0usize; 5];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 5]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut text = format!("{}: {}\n\n{}\n\n", usage.program, usage.about, usage_line(usage));
    text.push_str(&line(&rows[0]));
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    text.push_str(&format!("|-{}-|\n", rule.join("-|-")));
    for row in &rows[1..] {
        text.push_str(&line(row));
    }
    text
}

// ----- reading ----------------------------------------------------------------------------------

impl Flags {
    /// The row and the value of `--name`. Panics when the table has no such row: a `main` that
    /// reads a flag it did not declare is a programming error.
    fn row(&self, name: &str) -> (&'static Flag, Option<&str>) {
        match self.usage.find(name) {
            Some(index) => (&self.usage.flags[index], self.values[index].as_deref()),
            None => panic!(
                "{} reads --{name}, which its flag table does not declare",
                self.usage.program
            ),
        }
    }

    /// Whether the switch `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        let (flag, value) = self.row(name);
        assert_eq!(flag.kind, Kind::Switch, "--{name} is not a switch");
        value.is_some()
    }

    /// The text of `--name`: given, from its environment variable, or its default; `None`
    /// when it has none of these.
    pub fn text(&self, name: &str) -> Option<&str> {
        let (flag, value) = self.row(name);
        assert_eq!(flag.kind, Kind::Text, "--{name} is not a text flag");
        value
    }

    /// The number `--name` (checked against its range at start-up). Panics if the row has no
    /// default and the flag was not given, or if its range does not fit in `T`.
    pub fn number<T: TryFrom<u64>>(&self, name: &str) -> T {
        let (flag, value) = self.row(name);
        let Kind::Number { max, .. } = flag.kind else {
            panic!("--{name} is not a number");
        };
        assert!(
            T::try_from(max).is_ok(),
            "--{name}: its range does not fit the type it is read as"
        );
        let text = value.unwrap_or_else(|| panic!("--{name} has no value and no default"));
        match text.trim().parse::<u64>().ok().and_then(|n| T::try_from(n).ok()) {
            Some(n) => n,
            None => panic!("--{name} {text} was checked at start-up"),
        }
    }

    /// `--name MS` as a duration (the reference's options are milliseconds).
    pub fn millis(&self, name: &str) -> Duration {
        Duration::from_millis(self.number(name))
    }

    /// The log level of `--name` (`--log-level`, or `RUST_LOG`).
    pub fn log_level(&self, name: &str) -> LevelFilter {
        let (flag, value) = self.row(name);
        assert_eq!(flag.kind, Kind::LogLevel, "--{name} is not a log level");
        value
            .and_then(|text| parse_level(text).ok())
            .unwrap_or(LevelFilter::Info)
    }
}

// ----- logging ----------------------------------------------------------------------------------

/// `"info"` -> `LevelFilter::Info` (also `RUST_LOG`-style `"debug"`, `"trace"`, `"off"`).
pub fn parse_level(text: &str) -> Result<LevelFilter, String> {
    LevelFilter::from_str(text.trim()).map_err(|_| format!("unknown log level {text:?} ({})", LEVELS.join(", ")))
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

#[cfg(test)]
mod tests {
    use super::*;

    static TEST_USAGE: Usage = Usage {
        program: "test",
        about: "a table for the tests",
        flags: &[
            Flag::number("port", "N", 0, 65535, "where to listen")
                .default("8005")
                .env("PORT"),
            Flag::text("host", "ADDR", "the address to bind").default("0.0.0.0"),
            Flag::switch("trace", "log every packet"),
            PING_INTERVAL,
            CORS_ORIGIN,
            LOG_LEVEL,
        ],
    };

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Flags, Stop> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(&TEST_USAGE, &args, |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn error_of(args: &[&str]) -> String {
        match parse_with(args, &[]) {
            Err(Stop::Error(error)) => error,
            other => panic!("{args:?} should fail, got {other:?}"),
        }
    }

    #[test]
    fn reads_values_switches_env_and_defaults() {
        let flags = parse_with(&["--port", "0", "--trace", "--ping-interval=300"], &[]).unwrap();
        assert_eq!(flags.number::<u16>("port"), 0);
        assert!(flags.switch("trace"));
        assert_eq!(flags.millis("ping-interval"), Duration::from_millis(300));
        assert_eq!(flags.text("host"), Some("0.0.0.0"));
        assert_eq!(flags.text("cors-origin"), None);
        assert_eq!(flags.log_level("log-level"), LevelFilter::Info);

        let flags = parse_with(&[], &[("PORT", "3000"), ("RUST_LOG", "warn,socketio_book=debug")]).unwrap();
        assert_eq!(flags.number::<u16>("port"), 3000);
        assert!(!flags.switch("trace"));
        assert_eq!(flags.log_level("log-level"), LevelFilter::Debug);
        // The flag wins over the environment.
        let flags = parse_with(
            &["--port", "1", "--log-level", "trace"],
            &[("PORT", "3000"), ("RUST_LOG", "x")],
        )
        .unwrap();
        assert_eq!(flags.number::<u32>("port"), 1);
        assert_eq!(flags.log_level("log-level"), LevelFilter::Trace);
        // RUST_LOG with nothing for us: the default.
        let flags = parse_with(&[], &[("RUST_LOG", "tungstenite=trace")]).unwrap();
        assert_eq!(flags.log_level("log-level"), LevelFilter::Info);
    }

    #[test]
    fn help_and_mistakes() {
        assert_eq!(parse_with(&["--help"], &[]).unwrap_err(), Stop::Help);
        assert_eq!(parse_with(&["--port", "1", "-h"], &[]).unwrap_err(), Stop::Help);
        assert_eq!(
            error_of(&["--prot", "9000"]),
            "unknown flag --prot; did you mean --port?"
        );
        assert_eq!(error_of(&["-port", "9000"]), "unknown flag -port; did you mean --port?");
        assert_eq!(
            error_of(&["--ping-intervall=5"]),
            "unknown flag --ping-intervall; did you mean --ping-interval?"
        );
        assert_eq!(
            error_of(&["--cors"]),
            "unknown flag --cors; did you mean --cors-origin?"
        );
        assert_eq!(error_of(&["--verbose"]), "unknown flag --verbose");
        assert_eq!(
            error_of(&["--trace=yes"]),
            "--trace is a switch and takes no value (given --trace=yes)"
        );
        assert_eq!(error_of(&["--port"]), "--port needs a value: --port N");
        assert_eq!(error_of(&["--port", "--trace"]), "--port needs a value: --port N");
        assert_eq!(error_of(&["--port", "65536"]), "--port 65536: out of range: 0 to 65535");
        assert_eq!(error_of(&["--port", "-1"]), "--port -1: out of range: 0 to 65535");
        assert_eq!(
            error_of(&["--port", "http"]),
            "--port http: not a whole number (0 to 65535)"
        );
        assert_eq!(
            error_of(&["--ping-interval", "0"]),
            "--ping-interval 0: out of range: 1 to 2147483647"
        );
        assert_eq!(error_of(&["--port", "1", "--port", "2"]), "--port is given twice");
        assert_eq!(
            error_of(&["8005"]),
            "unexpected argument \"8005\" (flags start with --)"
        );
        assert!(error_of(&["--log-level", "loud"]).starts_with("--log-level loud: unknown log level"));
        let from_env = |env: &[(&str, &str)]| match parse_with(&[], env) {
            Err(Stop::Error(error)) => error,
            other => panic!("{env:?} should fail, got {other:?}"),
        };
        assert_eq!(from_env(&[("PORT", "99999")]), "PORT=99999: out of range: 0 to 65535");
        assert!(from_env(&[("RUST_LOG", "socketio_book=loud")]).starts_with("RUST_LOG=socketio_book=loud: "));
    }

    #[test]
    fn help_is_the_table() {
        let expected = "\
test: a table for the tests

usage: test [--port N] [--host ADDR] [--trace] [--ping-interval MS]
            [--cors-origin ORIGIN[,ORIGIN...]] [--log-level LEVEL]

| flag                             | values                               | default | env      | meaning                                                                           |
|----------------------------------|--------------------------------------|---------|----------|-----------------------------------------------------------------------------------|
| --port N                         | 0 to 65535                           | 8005    | PORT     | where to listen                                                                   |
| --host ADDR                      | -                                    | 0.0.0.0 | -        | the address to bind                                                               |
| --trace                          | -                                    | off     | -        | log every packet                                                                  |
| --ping-interval MS               | 1 to 2147483647                      | 25000   | -        | Engine.IO heartbeat: a ping every MS                                              |
| --cors-origin ORIGIN[,ORIGIN...] | -                                    | -       | -        | answer CORS requests from these origins (with credentials); none: no CORS headers |
| --log-level LEVEL                | off, error, warn, info, debug, trace | info    | RUST_LOG | what to log (RUST_LOG may also be a list: warn,socketio_book=debug)               |
";
        assert_eq!(help(&TEST_USAGE), expected);
    }

    #[test]
    #[should_panic(expected = "test reads --prot, which its flag table does not declare")]
    fn reading_an_undeclared_flag_panics() {
        let flags = parse_with(&[], &[]).unwrap();
        let _: u16 = flags.number("prot");
    }

    #[test]
    fn shared_rows_match_the_server_defaults() {
        let engine = crate::engineio::ServerOptions::default();
        let flags = parse(&TEST_USAGE, &[], |_| None).unwrap();
        assert_eq!(flags.millis("ping-interval"), engine.ping_interval);
        assert_eq!(
            PING_TIMEOUT.default,
            Some(engine.ping_timeout.as_millis().to_string().as_str())
        );
        assert_eq!(MAX_PAYLOAD.default, Some(engine.max_payload.to_string().as_str()));
        let listener = crate::listener::ListenerConfig::default();
        assert_eq!(
            MAX_CONNECTIONS.default,
            Some(listener.max_connections.to_string().as_str())
        );
        let recovery = ConnectionStateRecovery::default();
        assert_eq!(
            MAX_DISCONNECTION.default,
            Some(recovery.max_disconnection_duration.as_millis().to_string().as_str())
        );
    }

    #[test]
    fn recover_is_refused_beside_redis() {
        let recovery = |recover, redis| connection_state_recovery(recover, Duration::from_millis(5000), 7, redis);
        assert_eq!(recovery(false, None), Ok(None));
        assert_eq!(recovery(false, Some("redis://127.0.0.1:6379")), Ok(None));
        let on = recovery(true, None).unwrap().unwrap();
        assert_eq!(
            (on.max_disconnection_duration, on.max_log_entries, on.skip_middlewares),
            (Duration::from_millis(5000), 7, true)
        );
        let refused = recovery(true, Some("redis://127.0.0.1:6379")).unwrap_err();
        assert!(
            refused.starts_with(
                "--recover cannot go with --redis redis://127.0.0.1:6379: the Redis adapters do not carry"
            ),
            "{refused}"
        );
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
