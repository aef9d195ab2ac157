//! Engine.IO on its own, like the `engine.io` package: every message packet (text or binary)
//! goes back to its sender. The text message `close-me` makes the server close that session.
//!
//! ```text
//! cargo run --example engine_echo -- --port 3000 [--ping-interval MS] [--ping-timeout MS]
//!     [--max-payload BYTES] [--upgrade-timeout MS] [--max-connections N]
//!     [--allowed-origin ORIGIN] [--log-level info] [ENGINE FLAGS]
//! ```
//!
//! ENGINE FLAGS, as `cli::EngineFlags` reads them: `--transports websocket[,polling]`,
//! `--allow-upgrades false`, `--cookie NAME`, `--cors-origin ORIGIN[,ORIGIN...]` (with
//! credentials) and `--cors-methods`, `--cors-allowed-headers`, `--cors-exposed-headers`,
//! `--cors-max-age`, `--initial-header 'Name: value'`, `--header 'Name: value'`.
//!
//! `--allowed-origin` sets the reference's `allowRequest`: a handshake from a page of another
//! origin is refused (`403 {"code":4,...}`).
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections (tests
//! start it with `--port 0` and read the port from that line); logs go to standard error.

use std::process::ExitCode;
use std::sync::Arc;

use socketio_book::cli::{self, EngineFlags, Flags};
use socketio_book::engineio::{AllowRequest, Handler, Message, Server, ServerOptions, Socket};
use socketio_book::http::Request;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::timer::Timers;

/// The echo: the reference's `socket.on("message", data => socket.send(data))`.
struct Echo;

impl Handler for Echo {
    fn on_connection(&self, socket: &Socket) {
        log::info!("{}: connection over {}", socket.id(), socket.transport_name());
    }

    fn on_message(&self, socket: &Socket, message: Message) {
        if message == Message::Text("close-me".to_string()) {
            socket.close();
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

fn run() -> Result<(), String> {
    let flags = Flags::from_args(&[])?;
    cli::init_logging(cli::log_level(&flags, log::LevelFilter::Info)?);
    let defaults = ServerOptions::default();
    let engine_flags = EngineFlags::from_flags(&flags)?;
    let options = ServerOptions {
        path: "/engine.io/".to_string(),
        ping_interval: flags.millis("ping-interval", defaults.ping_interval)?,
        ping_timeout: flags.millis("ping-timeout", defaults.ping_timeout)?,
        upgrade_timeout: flags.millis("upgrade-timeout", defaults.upgrade_timeout)?,
        max_payload: flags.get("max-payload", defaults.max_payload)?,
        transports: engine_flags.transports.clone(),
        allow_upgrades: engine_flags.allow_upgrades,
        cookie: engine_flags.cookie.clone(),
        cors: engine_flags.cors.clone(),
        allow_request: flags.text("allowed-origin").map(allowed_origin_only),
        ..defaults
    };
    let port: u16 = flags.get("port", 3000)?;
    let host = flags.text("host").unwrap_or("127.0.0.1").to_string();
    let listener_config = ListenerConfig {
        max_connections: flags.get("max-connections", ListenerConfig::default().max_connections)?,
        ..ListenerConfig::default()
    };
    let timers = Timers::start().map_err(|e| e.to_string())?;
    let engine = Server::new(options, Arc::new(Echo), timers);
    engine_flags.add_header_listeners(&engine);
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
