//! The interop server the tests (and the benchmarks) drive with the official clients; the same
//! behaviour as `tests/node/reference/interop.mjs`, which runs it on the reference `socket.io`.
//!
//! Namespaces `/` and `/custom`, identical (`nsp` is the socket's namespace):
//!
//! ```text
//! on connection               emit `auth` with socket.handshake.auth
//! `message` (...args)         emit `message-back` (...args) to the sender
//! `message-with-ack` (...args, ack)   ack(...args)
//! `broadcast` (...args)       nsp.emit(`broadcast-back`, ...args), the sender included
//! `join` (room, ack)          socket.join(room), then ack()
//! `to-room` (room, ...args)   socket.to(room).emit(`room-back`, ...args)
//! `except-room` (room, ...args)  nsp.except(room).emit(`room-back`, ...args)
//! `server-disconnect` (close) socket.disconnect(close === true)
//! `emit-with-ack` (...args)   emit `ask` (...args) with an ack and a 5 s timeout; then emit
//!                             `ask-answered` with the answer, or `ask-timeout`
//! ```
//!
//! On `/` only, for the benchmark (`benches/compare.rs`): `floor` (seq) writes the frame of
//! `42["broadcast-back",seq]` to every WebSocket client with one `send(2)` each and nothing else
//! (no session, no buffer, no lock): the floor under a broadcast on this machine.
//!
//! A third namespace, `/guarded`, has a middleware: it connects only with `auth.token ==
//! "secret"`, and refuses others with `44/guarded,{"message":"not authorized","data":{"code":401}}`.
//!
//! ```text
//! cargo run --example interop -- --port 3000 [--ping-interval MS] [--ping-timeout MS]
//!     [--max-payload BYTES] [--connect-timeout MS] [--cors-origin ORIGIN[,ORIGIN...]] [--log-level info]
//!     [--max-connections N] [--keep-alive-timeout MS]
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use socketio_book::cli::{self, Flags};
use socketio_book::engineio::{self, CorsOptions};
use socketio_book::http::Limits;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::{Arg, ConnectError, Namespace, Server, ServerOptions, Socket};

/// The first argument as a room name.
fn room_of(args: &[Arg]) -> Option<String> {
    match args.first() {
        Some(Arg::Json(Value::String(room))) => Some(room.clone()),
        _ => None,
    }
}

/// The benchmark's floor: the frame of `42["broadcast-back",<seq>]` (a text frame from the server:
/// `0x81`, the length, the payload), written to every WebSocket with `send(MSG_DONTWAIT)`, the
/// system call our broadcast ends in, and nothing around it.
fn write_floor(engine: &engineio::Server, args: &[Arg]) {
    let seq = match args.first() {
        Some(Arg::Json(seq)) => seq.to_string(),
        _ => return,
    };
    let payload = format!("42[\"broadcast-back\",{seq}]");
    if payload.len() > 125 {
        return;
    }
    let mut frame = vec![0x81, payload.len() as u8];
    frame.extend_from_slice(payload.as_bytes());
    for stream in engine.websocket_streams() {
        let _ = stream.send_now(&frame);
    }
}

/// Sets up one namespace's handlers (`floor` with the engine, on `/` only).
fn setup(nsp: Namespace, floor: Option<engineio::Server>) {
    let namespace = nsp.clone();
    nsp.on_connection(move |socket: &Socket| {
        if let Some(engine) = floor.clone() {
            socket.on("floor", move |_socket, args, _ack| write_floor(&engine, &args));
        }
        let _ = socket.emit("auth", vec![Arg::Json(socket.handshake().auth.clone())]);

        socket.on("message", |socket, args, _ack| {
            let _ = socket.emit("message-back", args);
        });
        socket.on("message-with-ack", |_socket, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
        let all = namespace.clone();
        socket.on("broadcast", move |_socket, args, _ack| {
            let _ = all.emit("broadcast-back", args);
        });
        socket.on("join", |socket, args, ack| {
            if let Some(room) = room_of(&args) {
                socket.join(&room);
            }
            if let Some(ack) = ack {
                let _ = ack.send(Vec::new());
            }
        });
        socket.on("to-room", |socket, mut args, _ack| {
            if let Some(room) = room_of(&args) {
                args.remove(0);
                let _ = socket.to(&room).emit("room-back", args);
            }
        });
        let everyone = namespace.clone();
        socket.on("except-room", move |_socket, mut args, _ack| {
            if let Some(room) = room_of(&args) {
                args.remove(0);
                let _ = everyone.except(&room).emit("room-back", args);
            }
        });
        socket.on("server-disconnect", |socket, args, _ack| {
            let close = matches!(args.first(), Some(Arg::Json(Value::Bool(true))));
            socket.disconnect(close);
        });
        socket.on("emit-with-ack", |socket, args, _ack| {
            let asker = socket.clone();
            let sent = socket.emit_with_ack("ask", args, Duration::from_secs(5), move |answer| {
                let _ = match answer {
                    Ok(answer) => asker.emit("ask-answered", answer),
                    Err(_) => asker.emit("ask-timeout", Vec::new()),
                };
            });
            if let Err(e) = sent {
                log::warn!("{}: ask not sent: {e}", socket.id());
            }
        });
    });
}

fn run() -> Result<(), String> {
    let flags = Flags::from_args(&[])?;
    cli::init_logging(cli::log_level(&flags, log::LevelFilter::Info)?);
    let defaults = ServerOptions::default();
    let options = ServerOptions {
        path: "/socket.io".to_string(),
        ping_interval: flags.millis("ping-interval", defaults.ping_interval)?,
        ping_timeout: flags.millis("ping-timeout", defaults.ping_timeout)?,
        max_http_buffer_size: flags.get("max-payload", defaults.max_http_buffer_size)?,
        connect_timeout: flags.millis("connect-timeout", defaults.connect_timeout)?,
        cors: flags.text("cors-origin").map(|origins| CorsOptions {
            origins: origins.split(',').map(str::to_string).collect(),
            credentials: true,
        }),
        ..defaults
    };
    let io = Server::new(options).map_err(|e| e.to_string())?;
    setup(io.of("/"), Some(io.engine().clone()));
    setup(io.of("/custom"), None);
    let guarded = io.of("/guarded");
    guarded.use_middleware(|socket| {
        if socket.handshake().auth.get("token") == Some(&Value::from("secret")) {
            Ok(())
        } else {
            Err(ConnectError {
                message: "not authorized".to_string(),
                data: Some(serde_json::json!({"code": 401})),
            })
        }
    });
    setup(guarded, None);

    let port: u16 = flags.get("port", 3000)?;
    let host = flags.text("host").unwrap_or("127.0.0.1").to_string();
    let defaults = ListenerConfig::default();
    let listener_config = ListenerConfig {
        max_connections: flags.get("max-connections", defaults.max_connections)?,
        limits: Limits {
            keep_alive_timeout: flags.millis("keep-alive-timeout", defaults.limits.keep_alive_timeout)?,
            ..defaults.limits
        },
    };
    let http = HttpServer::bind((host.as_str(), port), listener_config).map_err(|e| e.to_string())?;
    let address = http.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    http.serve(Arc::new(io));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("interop: {e}");
            ExitCode::FAILURE
        }
    }
}
