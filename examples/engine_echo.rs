//! Engine.IO on its own, like the `engine.io` package: every message packet (text or binary)
//! goes back to its sender. The text message `close-me` makes the server close that session
//! (`socket.close()`), `close-all` closes the whole server (`engine.close()`: every session, what
//! is queued dropped).
//!
//! `cargo run --example engine_echo -- --help` lists its flags (the table `USAGE` below, also in
//! README).
//!
//! `--allowed-origin` sets the reference's `allowRequest`: a handshake from a page of another
//! origin is refused (`403 {"code":4,...}`).
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections (tests
//! start it with `--port 0` and read the port from that line); logs go to standard error.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use socketio_book::cli::{self, Flag, Usage};
use socketio_book::engineio::{AllowRequest, Handler, Message, Server, ServerOptions, Socket};
use socketio_book::http::Request;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::timer::Timers;

/// The echo: the reference's `socket.on("message", data => socket.send(data))`. It holds the
/// server, set once it exists, for `close-all`.
struct Echo {
    engine: OnceLock<Server>,
}

impl Handler for Echo {
    fn on_connection(&self, socket: &Socket) {
        log::info!("{}: connection over {}", socket.id(), socket.transport_name());
    }

    fn on_message(&self, socket: &Socket, message: Message) {
        if message == Message::Text("close-me".to_string()) {
            socket.close();
            return;
        }
        if message == Message::Text("close-all".to_string()) {
            if let Some(engine) = self.engine.get() {
                engine.close();
            }
            return;
        }
        if let Err(e) = socket.send(message) {
            log::warn!("{}: echo not sent: {e}", socket.id());
        }
    }

    fn on_close(&self, socket: &Socket, reason: &str) {
        log::info!("{}: close ({reason})", socket.id());
    }
}

/// `allowRequest` that refuses a handshake sent by a page of another origin.
fn allowed_origin_only(allowed: &str) -> AllowRequest {
    let allowed = allowed.to_string();
    AllowRequest(Arc::new(move |request: &Request| match request.header("origin") {
        Some(origin) if origin != allowed => Err(format!("origin {origin} is not allowed")),
        _ => Ok(()),
    }))
}

/// The flags of `cargo run --example engine_echo -- ...`: `--help` prints this table.
const USAGE: Usage = Usage {
    program: env!("CARGO_BIN_NAME"),
    about: "Engine.IO alone at /engine.io/ (like the engine.io package), echoing every message",
    flags: &[
        cli::port("3000"),
        cli::host("127.0.0.1"),
        cli::LOG_LEVEL,
        cli::PING_INTERVAL,
        cli::PING_TIMEOUT,
        Flag::number(
            "upgrade-timeout",
            "MS",
            1,
            cli::MAX_MS,
            "how long an upgrade to WebSocket may take (upgradeTimeout)",
        )
        .default("10000"),
        cli::MAX_PAYLOAD,
        Flag::number(
            "close-timeout",
            "MS",
            1,
            cli::MAX_MS,
            "how long a polling close waits for the GET that carries it (the transport's closeTimeout)",
        )
        .default("30000"),
        cli::CORS_ORIGIN,
        cli::CORS_METHODS,
        cli::CORS_ALLOWED_HEADERS,
        cli::CORS_EXPOSED_HEADERS,
        cli::CORS_MAX_AGE,
        cli::TRANSPORTS,
        cli::ALLOW_UPGRADES,
        cli::COOKIE,
        cli::INITIAL_HEADER,
        cli::HEADER,
        cli::ALLOW_EIO3,
        Flag::text(
            "allowed-origin",
            "ORIGIN",
            "allowRequest: refuse a handshake from a page of another origin (403)",
        ),
        cli::MAX_CONNECTIONS,
    ],
};

fn run() -> Result<(), String> {
    let flags = cli::parse_args(&USAGE);
    cli::init_logging(flags.log_level("log-level"));
    let engine_flags = cli::EngineFlags {
        transports: flags.text("transports"),
        allow_upgrades: flags.text("allow-upgrades"),
        cookie: flags.text("cookie"),
        cors_origin: flags.text("cors-origin"),
        cors_methods: flags.text("cors-methods"),
        cors_allowed_headers: flags.text("cors-allowed-headers"),
        cors_exposed_headers: flags.text("cors-exposed-headers"),
        cors_max_age: flags.text("cors-max-age"),
        initial_header: flags.text("initial-header"),
        header: flags.text("header"),
    };
    let options = ServerOptions {
        path: "/engine.io/".to_string(),
        ping_interval: flags.millis("ping-interval"),
        ping_timeout: flags.millis("ping-timeout"),
        upgrade_timeout: flags.millis("upgrade-timeout"),
        max_payload: flags.number("max-payload"),
        transports: engine_flags.transports()?,
        allow_upgrades: engine_flags.allow_upgrades()?,
        cookie: engine_flags.cookie(),
        cors: engine_flags.cors()?,
        allow_request: flags.text("allowed-origin").map(allowed_origin_only),
        close_timeout: flags.millis("close-timeout"),
        allow_eio3: flags.switch("allow-eio3"),
        ..ServerOptions::default()
    };
    let port: u16 = flags.number("port");
    let host = flags.text("host").unwrap_or_default().to_string(); // it has a default
    let listener_config = ListenerConfig {
        max_connections: flags.number("max-connections"),
        ..ListenerConfig::default()
    };
    let timers = Timers::start().map_err(|e| e.to_string())?;
    let echo = Arc::new(Echo {
        engine: OnceLock::new(),
    });
    let engine = Server::new(options, echo.clone(), timers);
    let _ = echo.engine.set(engine.clone());
    engine_flags.add_header_listeners(&engine)?;
    engine.on_connection_error(|error| {
        log::info!(
            "connection_error: {} {} {}",
            error.code as u8,
            error.message,
            error.context
        );
    });
    let http = HttpServer::bind((host.as_str(), port), listener_config).map_err(|e| e.to_string())?;
    let address = http.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    http.serve(Arc::new(engine));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("engine_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
