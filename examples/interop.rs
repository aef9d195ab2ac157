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
//! `set-data` (value, ack)     socket.data = value; ack()
//! `fetch-sockets` (room|null, ack)    ack([{id, rooms, data}] of (room ? nsp.in(room) : nsp)
//!                             .fetchSockets(), sorted by id, rooms sorted)
//! `sockets-join` (target, room, ack)  nsp.in(target).socketsJoin(room); ack()
//! `sockets-leave` (target, room, ack) nsp.in(target).socketsLeave(room); ack()
//! `disconnect-sockets` (room, ack)    ack(); then nsp.in(room).disconnectSockets(true)
//! `broadcast-with-ack` (...args, ack) nsp.timeout(2000).emit(`ask`, ...args, (err, responses) =>
//!                             ack({err: err ? err.message : null, count: responses.length}))
//! `server-side-emit` (...args)        nsp.serverSideEmit(`hello`, ...args); on `hello` from
//!                             another server: nsp.local.emit(`hello-back`, SERVER_ID, ...args)
//! `server-side-emit-with-ack` (ack)   nsp.serverSideEmitWithAck(`ping`) -> ack({err, responses
//!                             sorted}); on `ping` (cb) from another server: cb(SERVER_ID)
//! ```
//!
//! `SERVER_ID` is `--server-id NAME`, by default the port the server listens on.
//!
//! A third namespace, `/guarded`, has a middleware: it connects only with `auth.token ==
//! "secret"`, and refuses others with `44/guarded,{"message":"not authorized","data":{"code":401}}`.
//!
//! ```text
//! cargo run --example interop -- --port 3000 [--ping-interval MS] [--ping-timeout MS]
//!     [--max-payload BYTES] [--connect-timeout MS] [--cors-origin ORIGIN[,ORIGIN...]]
//!     [--server-id NAME] [--log-level info]
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use socketio_book::cli::{self, Flags};
use socketio_book::engineio::CorsOptions;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::{Ack, Arg, ConnectError, Namespace, Server, ServerOptions, Socket};

/// The argument at `index` as a string (a room name).
fn text_at(args: &[Arg], index: usize) -> Option<String> {
    match args.get(index) {
        Some(Arg::Json(Value::String(text))) => Some(text.clone()),
        _ => None,
    }
}

/// `ack(...)`, if the client asked for one.
fn answer(ack: Option<Ack>, args: Vec<Arg>) {
    if let Some(ack) = ack {
        let _ = ack.send(args);
    }
}

/// A JSON list of strings, sorted (as JavaScript's `list.sort()` sorts strings).
fn sorted_texts(args: Vec<Arg>) -> Value {
    let mut texts: Vec<String> = args
        .into_iter()
        .map(|arg| match arg {
            Arg::Json(Value::String(text)) => text,
            Arg::Json(other) => other.to_string(),
            Arg::Binary(_) => String::new(),
        })
        .collect();
    texts.sort();
    json!(texts)
}

/// The handlers of the operators on many sockets (see the module's doc).
fn setup_operators(socket: &Socket, nsp: &Namespace) {
    socket.on("set-data", |socket, args, ack| {
        let value = match args.into_iter().next() {
            Some(Arg::Json(value)) => value,
            _ => Value::Null,
        };
        socket.set_data(value);
        answer(ack, Vec::new());
    });
    let namespace = nsp.clone();
    socket.on("fetch-sockets", move |socket, args, ack| {
        let operator = match text_at(&args, 0) {
            Some(room) => namespace.in_(&room),
            None => namespace.operator(),
        };
        let mut found = match operator.fetch_sockets() {
            Ok(found) => found,
            Err(e) => {
                log::warn!("{}: fetchSockets failed: {e}", socket.id());
                return;
            }
        };
        found.sort_by(|a, b| a.id().cmp(b.id()));
        let mut list = Vec::with_capacity(found.len());
        for remote in found {
            let mut rooms: Vec<String> = remote.rooms().into_iter().collect();
            rooms.sort();
            list.push(json!({"id": remote.id(), "rooms": rooms, "data": remote.data()}));
        }
        answer(ack, vec![Arg::Json(Value::Array(list))]);
    });
    let namespace = nsp.clone();
    socket.on("sockets-join", move |_socket, args, ack| {
        if let (Some(target), Some(room)) = (text_at(&args, 0), text_at(&args, 1)) {
            namespace.in_(&target).sockets_join(&[&room]);
        }
        answer(ack, Vec::new());
    });
    let namespace = nsp.clone();
    socket.on("sockets-leave", move |_socket, args, ack| {
        if let (Some(target), Some(room)) = (text_at(&args, 0), text_at(&args, 1)) {
            namespace.in_(&target).sockets_leave(&[&room]);
        }
        answer(ack, Vec::new());
    });
    let namespace = nsp.clone();
    socket.on("disconnect-sockets", move |_socket, args, ack| {
        answer(ack, Vec::new());
        if let Some(room) = text_at(&args, 0) {
            namespace.in_(&room).disconnect_sockets(true);
        }
    });
    let namespace = nsp.clone();
    socket.on("broadcast-with-ack", move |_socket, args, ack| {
        let sent = namespace
            .timeout(Duration::from_millis(2000))
            .emit_with_ack("ask", args, move |err, responses| {
                let result = json!({
                    "err": err.map(|e| e.message),
                    "count": responses.len(),
                });
                answer(ack, vec![Arg::Json(result)]);
            });
        if let Err(e) = sent {
            log::warn!("broadcast-with-ack: {e}");
        }
    });
    let namespace = nsp.clone();
    socket.on("server-side-emit", move |_socket, args, _ack| {
        let _ = namespace.server_side_emit("hello", args);
    });
    let namespace = nsp.clone();
    socket.on("server-side-emit-with-ack", move |_socket, _args, ack| {
        let _ = namespace.server_side_emit_with_ack("ping", Vec::new(), move |err, responses| {
            let result = json!({
                "err": err.map(|e| e.message),
                "responses": sorted_texts(responses),
            });
            answer(ack, vec![Arg::Json(result)]);
        });
    });
}

/// The listeners of the events other servers send (`serverSideEmit`).
fn setup_server_side(nsp: &Namespace, server_id: &str) {
    let namespace = nsp.clone();
    let id = server_id.to_string();
    nsp.on("hello", move |args, _ack| {
        let mut all = vec![Arg::from(id.as_str())];
        all.extend(args);
        let _ = namespace.local().emit("hello-back", all);
    });
    let id = server_id.to_string();
    nsp.on("ping", move |_args, ack| {
        if let Some(ack) = ack {
            ack.send(Arg::from(id.as_str()));
        }
    });
}

/// Sets up one namespace's handlers.
fn setup(nsp: Namespace, server_id: &str) {
    setup_server_side(&nsp, server_id);
    let namespace = nsp.clone();
    nsp.on_connection(move |socket: &Socket| {
        setup_operators(socket, &namespace);
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
            if let Some(room) = text_at(&args, 0) {
                socket.join(&room);
            }
            if let Some(ack) = ack {
                let _ = ack.send(Vec::new());
            }
        });
        socket.on("to-room", |socket, mut args, _ack| {
            if let Some(room) = text_at(&args, 0) {
                args.remove(0);
                let _ = socket.to(&room).emit("room-back", args);
            }
        });
        let everyone = namespace.clone();
        socket.on("except-room", move |_socket, mut args, _ack| {
            if let Some(room) = text_at(&args, 0) {
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
    let port: u16 = flags.get("port", 3000)?;
    let host = flags.text("host").unwrap_or("127.0.0.1").to_string();
    let listener_config = ListenerConfig {
        max_connections: flags.get("max-connections", ListenerConfig::default().max_connections)?,
        ..ListenerConfig::default()
    };
    let http = HttpServer::bind((host.as_str(), port), listener_config).map_err(|e| e.to_string())?;
    let address = http.local_addr().map_err(|e| e.to_string())?;
    let server_id = match flags.text("server-id") {
        Some(id) => id.to_string(),
        None => address.port().to_string(),
    };

    let io = Server::new(options).map_err(|e| e.to_string())?;
    setup(io.of("/"), &server_id);
    setup(io.of("/custom"), &server_id);
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
    setup(guarded, &server_id);

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
