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
//! and the server API's operators (`set-data`, `fetch-sockets`, `sockets-join`, `sockets-leave`,
//! `disconnect-sockets`, `broadcast-with-ack`, `server-side-emit`, `server-side-emit-with-ack`:
//! see `setup_operators`), which act across a cluster with `--redis URL` (the Redis adapter;
//! `tests/redis_cluster.rs` runs this server beside the reference on one Redis).
//!
//! A third namespace, `/guarded`, has a middleware: it connects only with `auth.token ==
//! "secret"`, and refuses others with `44/guarded,{"message":"not authorized","data":{"code":401}}`.
//!
//! `cargo run --example interop -- --help` lists its flags (the table `USAGE` below, also in
//! README).
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use socketio_book::cli::{self, Flag, Usage};
use socketio_book::engineio::CorsOptions;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::adapter::redis;
use socketio_book::socketio::{Arg, ConnectError, Namespace, Server, ServerOptions, Socket};

/// The first argument as a room name.
fn room_of(args: &[Arg]) -> Option<String> {
    match args.first() {
        Some(Arg::Json(Value::String(room))) => Some(room.clone()),
        _ => None,
    }
}

/// Sets up one namespace's handlers.
fn setup(nsp: Namespace, server_id: &str) {
    setup_server_side_listeners(&nsp, server_id.to_string());
    let namespace = nsp.clone();
    nsp.on_connection(move |socket: &Socket| {
        let _ = socket.emit("auth", vec![Arg::Json(socket.handshake().auth.clone())]);
        setup_operators(socket, &namespace);

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

/// The server API's operators (issue 9), which act across a cluster with `--redis`; `nsp` is
/// the socket's namespace, `server_id` this server's `--server-id`:
///
/// ```text
/// set-data (value, ack)             socket.data = value; ack()
/// fetch-sockets (room|null, ack)    ack([{id, rooms, data}] of (room ? nsp.in(room) : nsp).fetchSockets(), sorted by id)
/// sockets-join (target, room, ack)  nsp.in(target).socketsJoin(room); ack()
/// sockets-leave (target, room, ack) nsp.in(target).socketsLeave(room); ack()
/// disconnect-sockets (room, ack)    ack(); then nsp.in(room).disconnectSockets(true)
/// broadcast-with-ack (...args, ack) nsp.timeout(2000).emit('ask', ...args, cb) → ack({err, count})
/// server-side-emit (...args)        nsp.serverSideEmit('hello', ...args); on 'hello' from another
///                                   server: nsp.local.emit('hello-back', server_id, ...args)
/// server-side-emit-with-ack (ack)   nsp.serverSideEmitWithAck('ping') → ack({err, responses sorted});
///                                   on 'ping' (cb): cb(server_id)
/// ```
fn setup_operators(socket: &Socket, namespace: &Namespace) {
    {
        socket.on("set-data", |socket, mut args, ack| {
            socket.set_data(take_json(&mut args));
            if let Some(ack) = ack {
                let _ = ack.send(Vec::new());
            }
        });
        let nsp = namespace.clone();
        socket.on("fetch-sockets", move |_socket, args, ack| {
            let operator = match room_of(&args) {
                Some(room) => nsp.in_(&room),
                None => nsp.operator(),
            };
            let answer = match operator.fetch_sockets() {
                Ok(mut sockets) => {
                    sockets.sort_by(|a, b| a.id().cmp(b.id()));
                    let listed: Vec<Value> = sockets
                        .iter()
                        .map(|s| {
                            let mut rooms: Vec<String> = s.rooms().into_iter().collect();
                            rooms.sort();
                            json!({"id": s.id(), "rooms": rooms, "data": s.data()})
                        })
                        .collect();
                    Value::Array(listed)
                }
                Err(e) => json!({"err": e.message}),
            };
            if let Some(ack) = ack {
                let _ = ack.send(vec![Arg::Json(answer)]);
            }
        });
        for (event, join) in [("sockets-join", true), ("sockets-leave", false)] {
            let nsp = namespace.clone();
            socket.on(event, move |_socket, args, ack| {
                let texts: Vec<String> = args
                    .iter()
                    .filter_map(|arg| room_of(std::slice::from_ref(arg)))
                    .collect();
                if let [target, room] = texts.as_slice() {
                    if join {
                        nsp.in_(target).sockets_join(&[room]);
                    } else {
                        nsp.in_(target).sockets_leave(&[room]);
                    }
                }
                if let Some(ack) = ack {
                    let _ = ack.send(Vec::new());
                }
            });
        }
        let nsp = namespace.clone();
        socket.on("disconnect-sockets", move |_socket, args, ack| {
            if let Some(ack) = ack {
                let _ = ack.send(Vec::new());
            }
            if let Some(room) = room_of(&args) {
                nsp.in_(&room).disconnect_sockets(true);
            }
        });
        let nsp = namespace.clone();
        socket.on("broadcast-with-ack", move |_socket, args, ack| {
            let sent = nsp
                .timeout(Duration::from_secs(2))
                .emit_with_ack("ask", args, move |err, responses| {
                    let answer = json!({"err": err.map(|e| e.message), "count": responses.len()});
                    if let Some(ack) = ack {
                        let _ = ack.send(vec![Arg::Json(answer)]);
                    }
                });
            if let Err(e) = sent {
                log::warn!("broadcast-with-ack: {e}");
            }
        });
        let nsp = namespace.clone();
        socket.on("server-side-emit", move |_socket, args, _ack| {
            let _ = nsp.server_side_emit("hello", args);
        });
        let nsp = namespace.clone();
        socket.on("server-side-emit-with-ack", move |_socket, _args, ack| {
            let sent = nsp.server_side_emit_with_ack("ping", Vec::new(), move |err, responses| {
                let mut responses: Vec<Value> = responses
                    .into_iter()
                    .map(|arg| match arg {
                        Arg::Json(value) => value,
                        Arg::Binary(_) => Value::Null,
                    })
                    .collect();
                responses.sort_by_key(|value| value.to_string());
                let answer = json!({"err": err.map(|e| e.message), "responses": responses});
                if let Some(ack) = ack {
                    let _ = ack.send(vec![Arg::Json(answer)]);
                }
            });
            if let Err(e) = sent {
                log::warn!("server-side-emit-with-ack: {e}");
            }
        });
    }
}

/// The listeners of the events other servers send with `serverSideEmit`.
fn setup_server_side_listeners(nsp: &Namespace, server_id: String) {
    let local = nsp.clone();
    let id = server_id.clone();
    nsp.on("hello", move |args, _ack| {
        let mut back = vec![Arg::from(id.as_str())];
        back.extend(args);
        let _ = local.local().emit("hello-back", back);
    });
    nsp.on("ping", move |_args, ack| {
        if let Some(ack) = ack {
            ack.send(Arg::from(server_id.as_str()));
        }
    });
}

/// The first argument as JSON (null if none, or bytes), taken out of `args`.
fn take_json(args: &mut Vec<Arg>) -> Value {
    if args.is_empty() {
        return Value::Null;
    }
    match args.remove(0) {
        Arg::Json(value) => value,
        Arg::Binary(_) => Value::Null,
    }
}

/// The flags of `cargo run --example interop -- ...`: `--help` prints this table.
const USAGE: Usage = Usage {
    program: env!("CARGO_BIN_NAME"),
    about: "the Socket.IO server the interop tests drive (the same as tests/node/reference/interop.mjs)",
    flags: &[
        cli::port("3000"),
        cli::host("127.0.0.1"),
        cli::LOG_LEVEL,
        cli::PING_INTERVAL,
        cli::PING_TIMEOUT,
        cli::MAX_PAYLOAD,
        Flag::number(
            "connect-timeout",
            "MS",
            1,
            cli::MAX_MS,
            "how long a client may take to join a namespace (connectTimeout)",
        )
        .default("45000"),
        cli::CORS_ORIGIN,
        cli::MAX_CONNECTIONS,
        cli::REDIS,
        cli::REDIS_KEY,
        cli::REDIS_SHARDED,
        cli::REDIS_SUBSCRIPTION_MODE,
        cli::REDIS_REQUESTS_TIMEOUT,
        cli::REDIS_SPECIFIC_RESPONSE_CHANNEL,
        Flag::text(
            "server-id",
            "NAME",
            "this server's name in the cluster tests' answers (default: its port)",
        ),
    ],
};

fn run() -> Result<(), String> {
    let flags = cli::parse_args(&USAGE);
    cli::init_logging(flags.log_level("log-level"));
    // --redis: one of several servers on one Redis (socketio::adapter::redis).
    let redis_flags = redis::RedisFlags {
        url: flags.text("redis"),
        key: flags.text("redis-key"),
        sharded: flags.switch("redis-sharded"),
        subscription_mode: flags.text("redis-subscription-mode"),
        requests_timeout: flags.millis("redis-requests-timeout"),
        specific_response_channel: flags.switch("redis-specific-response-channel"),
    };
    let options = ServerOptions {
        path: "/socket.io".to_string(),
        ping_interval: flags.millis("ping-interval"),
        ping_timeout: flags.millis("ping-timeout"),
        max_http_buffer_size: flags.number("max-payload"),
        connect_timeout: flags.millis("connect-timeout"),
        cors: flags.text("cors-origin").map(|origins| CorsOptions {
            origins: origins.split(',').map(str::to_string).collect(),
            credentials: true,
        }),
        adapter: redis_flags.adapter()?,
        ..ServerOptions::default()
    };
    // Bound first: the port is the default --server-id.
    let port: u16 = flags.number("port");
    let host = flags.text("host").unwrap_or_default().to_string(); // it has a default
    let listener_config = ListenerConfig {
        max_connections: flags.number("max-connections"),
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
