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
//! `nsp-to-room` (room, ...args)  nsp.to(room).emit(`room-back`, ...args), the sender included
//! `new-namespaces` (ack)      ack(the names `io.on('new_namespace')` has seen, in order)
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
//! `ticks` (count, everyMs, ack)       socket.join(`r`); ack(); then every everyMs, for i = 0 ..
//!                             count-1: nsp.to(socket.id).emit(`tick`, i), and when i % 3 == 0
//!                             also nsp.to(`r`).emit(`room-tick`, i) (a thread per call)
//! `close-conn` ()             socket.conn.close(): the Engine.IO connection closes ("forced
//!                             close") with no Socket.IO DISCONNECT, so the client reconnects
//! ```
//!
//! On `/` only, for the benchmark (`benches/compare.rs`): `floor` (seq) writes the frame of
//! `42["broadcast-back",seq]` to every WebSocket client with one `send(2)` each and nothing else
//! (no session, no buffer, no lock): the floor under a broadcast on this machine.
//!
//! `SERVER_ID` is `--server-id NAME`, by default the port the server listens on. The operators
//! act across a cluster with `--redis URL` (the Redis adapter; `tests/redis_cluster.rs` runs this
//! server beside the reference on one Redis).
//!
//! `--parser msgpack`: every packet is one msgpack binary message (`socket.io-msgpack-parser`);
//! clients must use that parser too.
//!
//! With `--recover` (connection state recovery, `--max-disconnection MS`) every event but acks
//! and volatile ones gets its offset as its last argument, and a client that comes back in time
//! after its connection dropped gets its socket back (`socket.recovered`).
//!
//! A third namespace, `/guarded`, has a middleware: it connects only with `auth.token ==
//! "secret"`, and refuses others with `44/guarded,{"message":"not authorized","data":{"code":401}}`.
//!
//! Dynamic namespaces, with the same handlers (made on the parent, copied to each child when a
//! CONNECT makes it; `nsp` is then the parent, so `broadcast`, `nsp-to-room` and `except-room`
//! reach every child):
//!
//! ```text
//! io.of(/^\/dynamic-\d+$/)     /dynamic-1, /dynamic-42, ...; /dynamic-x is "Invalid namespace"
//! io.of((name, auth, next) => next(null, name.startsWith("/fn-") && auth.deny !== true))
//!                             /fn-anything, unless auth is {deny: true}
//! ```
//!
//! `/listeners`: the socket's incoming and outgoing listeners, and then the same handlers:
//!
//! ```text
//! socket.onAny((event, ...args) => socket.emit(`any-back`, event, ...args))
//! socket.prependAny((event) => socket.emit(`any-first`, event))   (added second, runs first)
//! socket.onAnyOutgoing((event) => outgoing.push(event))   (this socket's outgoing events)
//! socket.use(([event], next) => next(event === "forbidden" ? new Error("forbidden") : undefined))
//! socket.on("error", (err) => socket.emit(`use-error`, {message: err.message}))
//! `forbidden` (...args)       emit `forbidden-handled` (never: the middleware drops it)
//! `off-any` (ack)             socket.offAny(the `any-back` listener); ack(socket.listenersAny().length)
//! `outgoing-log` (ack)        ack(outgoing)
//! socket.conn.on("upgrade", (transport) => upgrades.push(transport.name))
//! `conn` (ack)                ack({id: socket.conn.id, transport: socket.conn.transport.name, upgrades})
//! disconnecting (reason)      nsp.to("watchers").emit(`peer-disconnecting`, socket.id, [...socket.rooms].sort(), reason)
//! disconnect (reason)         nsp.to("watchers").emit(`peer-disconnect`, socket.id, [...socket.rooms].sort(), reason)
//! ```
//!
//! `--admin-ui`: the admin UI's namespace `/admin` (`instrument(io, {...})`, `src/admin/`), with
//! `--admin-ui-auth USER:BCRYPT_HASH` (basic auth; none without it), `--admin-ui-readonly`,
//! `--admin-ui-mode development|production`; its CORS is `--cors-origin`'s.
//!
//! `cargo run --example interop -- --help` lists its flags (the table `USAGE` below, also in
//! README).
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use regex::Regex;
use serde_json::{Value, json};
use socketio_book::admin::{self, Auth, InstrumentOptions, Mode};
use socketio_book::cli::{self, Flag, Usage};
use socketio_book::engineio;
use socketio_book::http::Limits;
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::adapter::redis;
use socketio_book::socketio::{
    Ack, Arg, ConnectError, JsonParser, MiddlewareError, MsgpackParser, Namespace, Server, ServerOptions, Socket,
};

/// The names `io.on('new_namespace')` has seen, in order.
type Created = Arc<Mutex<Vec<String>>>;

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

/// `[...socket.rooms].sort()`.
fn sorted_rooms(socket: &Socket) -> Arg {
    let mut rooms: Vec<String> = socket.rooms().into_iter().collect();
    rooms.sort();
    Arg::Json(json!(rooms))
}

/// Sets up one namespace's handlers (`floor` too, with the engine: `/` only).
fn setup(nsp: Namespace, created: Created, server_id: &str, floor: Option<engineio::Server>) {
    setup_server_side(&nsp, server_id);
    let namespace = nsp.clone();
    nsp.on_connection(move |socket: &Socket| {
        if let Some(engine) = floor.clone() {
            socket.on("floor", move |_socket, args, _ack| write_floor(&engine, &args));
        }
        handlers(socket, &namespace, &created)
    });
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

/// `/listeners`: the catch-all listeners, a `socket.use` middleware, `disconnecting`, then the
/// same handlers as every namespace.
fn setup_listeners(nsp: Namespace, created: Created, server_id: &str) {
    setup_server_side(&nsp, server_id);
    let namespace = nsp.clone();
    nsp.on_connection(move |socket: &Socket| {
        let echo = socket.on_any(|socket, event, args| {
            let mut back = vec![Arg::from(event)];
            back.extend(args.iter().cloned());
            let _ = socket.emit("any-back", back);
        });
        // added second, runs first
        socket.prepend_any(|socket, event, _args| {
            let _ = socket.emit("any-first", vec![event.into()]);
        });
        let outgoing = Arc::new(Mutex::new(Vec::<Value>::new()));
        let log = Arc::clone(&outgoing);
        socket.on_any_outgoing(move |_socket, event, _args| {
            log.lock().unwrap().push(Value::from(event));
        });
        socket.use_middleware(|_socket, event, _args| {
            if event == "forbidden" {
                return Err(MiddlewareError::new("forbidden"));
            }
            Ok(())
        });
        socket.on_error(|socket, error| {
            let _ = socket.emit("use-error", vec![Arg::Json(json!({"message": error.to_string()}))]);
        });
        socket.on("forbidden", |socket, _args, _ack| {
            let _ = socket.emit("forbidden-handled", Vec::new());
        });
        socket.on("off-any", move |socket, _args, ack| {
            socket.off_any(Some(echo));
            if let Some(ack) = ack {
                let _ = ack.send(vec![Arg::Json(json!(socket.listeners_any().len()))]);
            }
        });
        socket.on("outgoing-log", move |_socket, _args, ack| {
            if let Some(ack) = ack {
                let log = outgoing.lock().unwrap().clone();
                let _ = ack.send(vec![Arg::Json(Value::Array(log))]);
            }
        });
        let upgrades = Arc::new(Mutex::new(Vec::<Value>::new()));
        let seen = Arc::clone(&upgrades);
        socket
            .conn()
            .on_upgrade(move |conn| seen.lock().unwrap().push(Value::from(conn.transport_name())));
        socket.on("conn", move |socket, _args, ack| {
            if let Some(ack) = ack {
                let conn = socket.conn();
                let upgrades = upgrades.lock().unwrap().clone();
                let _ = ack.send(vec![Arg::Json(
                    json!({"id": conn.id(), "transport": conn.transport_name(), "upgrades": upgrades}),
                )]);
            }
        });
        let watchers = namespace.clone();
        socket.on_disconnecting(move |socket, reason| {
            let args = vec![socket.id().into(), sorted_rooms(socket), reason.into()];
            let _ = watchers.to("watchers").emit("peer-disconnecting", args);
        });
        let watchers = namespace.clone();
        socket.on_disconnect(move |socket, reason| {
            let args = vec![socket.id().into(), sorted_rooms(socket), reason.into()];
            let _ = watchers.to("watchers").emit("peer-disconnect", args);
        });
        handlers(socket, &namespace, &created);
    });
}

/// The handlers every namespace has (`nsp` is the namespace they were set up on).
fn handlers(socket: &Socket, namespace: &Namespace, created: &Created) {
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
    let everyone = namespace.clone();
    socket.on("nsp-to-room", move |_socket, mut args, _ack| {
        if let Some(room) = text_at(&args, 0) {
            args.remove(0);
            let _ = everyone.to(&room).emit("room-back", args);
        }
    });
    let created = Arc::clone(created);
    socket.on("new-namespaces", move |_socket, _args, ack| {
        if let Some(ack) = ack {
            let names = created.lock().unwrap().clone();
            let _ = ack.send(vec![Arg::Json(json!(names))]);
        }
    });
    operators(socket, namespace);
    recovery_hooks(socket);
}

/// The hooks of the connection state recovery tests (see the module's doc).
fn recovery_hooks(socket: &Socket) {
    socket.on("ticks", |socket, args, ack| {
        let number = |index: usize| match args.get(index) {
            Some(Arg::Json(value)) => value.as_u64().unwrap_or(0),
            _ => 0,
        };
        // Bounded, so that the thread ends soon whatever a client asks.
        let count = number(0).min(10_000);
        let every = Duration::from_millis(number(1).clamp(1, 10_000));
        socket.join("r");
        answer(ack, Vec::new());
        let nsp = socket.nsp().clone();
        let id = socket.id().to_string();
        let started = socketio_book::threads::spawn(format!("ticks {id}"), move || {
            for i in 0..count {
                std::thread::sleep(every);
                let _ = nsp.to(&id).emit("tick", vec![Arg::Json(json!(i))]);
                if i % 3 == 0 {
                    let _ = nsp.to("r").emit("room-tick", vec![Arg::Json(json!(i))]);
                }
            }
        });
        if let Err(e) = started {
            log::warn!("{}: ticks not started: {e}", socket.id());
        }
    });
    socket.on("close-conn", |socket, _args, _ack| {
        socket.conn().close();
    });
}

/// The handlers of the operators on many sockets (see the module's doc).
fn operators(socket: &Socket, nsp: &Namespace) {
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
        // Ids are unique: an unstable sort gives the same order, without a stable sort's buffer.
        found.sort_unstable_by(|a, b| a.id().cmp(b.id()));
        let mut list = Vec::with_capacity(found.len());
        for remote in found {
            // {"id":..,"rooms":[..],"data":..}, each value moved in (`json!` would copy each).
            let mut entry = serde_json::Map::with_capacity(3);
            entry.insert("id".to_string(), Value::from(remote.id()));
            entry.insert("rooms".to_string(), Value::from(remote.sorted_rooms()));
            entry.insert("data".to_string(), remote.data());
            list.push(Value::Object(entry));
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
        cli::MAX_CONNECTIONS,
        Flag::number(
            "keep-alive-timeout",
            "MS",
            1,
            cli::MAX_MS,
            "how long an idle connection is kept (and a waiting connection thread keeps its stack)",
        )
        .default("5000"),
        cli::REDIS,
        cli::REDIS_KEY,
        cli::REDIS_SHARDED,
        cli::REDIS_SUBSCRIPTION_MODE,
        cli::REDIS_REQUESTS_TIMEOUT,
        cli::REDIS_SPECIFIC_RESPONSE_CHANNEL,
        Flag::text(
            "parser",
            "NAME",
            "json (socket.io-parser) or msgpack (socket.io-msgpack-parser): the clients must use the same",
        )
        .default("json"),
        cli::RECOVER,
        cli::MAX_DISCONNECTION,
        Flag::number(
            "max-log-entries",
            "N",
            1,
            u32::MAX as u64,
            "with --recover: the most events a namespace's recovery log keeps (ours; the reference: no cap)",
        )
        .default("100000"),
        Flag::text(
            "server-id",
            "NAME",
            "this server's name in the answers to other servers (`hello-back`, `ping`); default: its port",
        ),
        Flag::switch(
            "admin-ui",
            "serve the admin UI's namespace /admin (instrument); its CORS is --cors-origin's",
        ),
        Flag::text(
            "admin-ui-auth",
            "USER:BCRYPT_HASH",
            "with --admin-ui: basic auth, the password checked against the hash (none: no log-in)",
        ),
        Flag::switch("admin-ui-readonly", "with --admin-ui: readonly (no commands)"),
        Flag::text(
            "admin-ui-mode",
            "MODE",
            "with --admin-ui: development (every socket and event) or production (stats only)",
        )
        .default("development"),
    ],
};

/// `instrument(io, { auth, readonly, mode, serverId })` from the `--admin-ui*` flags, if
/// `--admin-ui`.
fn admin_ui(io: &Server, flags: &cli::Flags, server_id: &str) -> Result<(), String> {
    if !flags.switch("admin-ui") {
        return Ok(());
    }
    let auth = match flags.text("admin-ui-auth") {
        None => Auth::None,
        Some(text) => match text.split_once(':') {
            Some((username, password)) => Auth::Basic {
                username: username.to_string(),
                password: password.to_string(),
            },
            None => return Err(format!("--admin-ui-auth {text}: expected USER:BCRYPT_HASH")),
        },
    };
    let mode = match flags.text("admin-ui-mode") {
        Some("production") => Mode::Production,
        Some("development") | None => Mode::Development,
        Some(other) => return Err(format!("--admin-ui-mode {other}: development or production")),
    };
    let options = InstrumentOptions {
        readonly: flags.switch("admin-ui-readonly"),
        mode,
        server_id: Some(server_id.to_string()),
        ..InstrumentOptions::new(auth)
    };
    admin::instrument(io, options).map_err(|e| format!("--admin-ui: {e}"))
}

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
        transports: engine_flags.transports()?,
        allow_upgrades: engine_flags.allow_upgrades()?,
        cookie: engine_flags.cookie(),
        cors: engine_flags.cors()?,
        connection_state_recovery: cli::connection_state_recovery(
            flags.switch("recover"),
            flags.millis("max-disconnection"),
            flags.number("max-log-entries"),
            redis_flags.url,
        )?,
        allow_eio3: flags.switch("allow-eio3"),
        adapter: redis_flags.adapter()?,
        parser: match flags.text("parser") {
            Some("msgpack") => Arc::new(MsgpackParser),
            Some("json") | None => Arc::new(JsonParser),
            Some(other) => return Err(format!("--parser {other}: json or msgpack")),
        },
        ..ServerOptions::default()
    };
    let port: u16 = flags.number("port");
    let host = flags.text("host").unwrap_or_default().to_string(); // it has a default
    let defaults = ListenerConfig::default();
    let listener_config = ListenerConfig {
        max_connections: flags.number("max-connections"),
        limits: Limits {
            keep_alive_timeout: flags.millis("keep-alive-timeout"),
            ..defaults.limits
        },
    };
    let http = HttpServer::bind((host.as_str(), port), listener_config).map_err(|e| e.to_string())?;
    let address = http.local_addr().map_err(|e| e.to_string())?;
    let server_id = match flags.text("server-id") {
        Some(id) => id.to_string(),
        None => address.port().to_string(),
    };

    let io = Server::new(options).map_err(|e| e.to_string())?;
    engine_flags.add_header_listeners(io.engine())?;
    let created: Created = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&created);
    io.on_new_namespace(move |namespace| seen.lock().unwrap().push(namespace.name().to_string()));
    setup(io.of("/"), Arc::clone(&created), &server_id, Some(io.engine().clone()));
    setup(io.of("/custom"), Arc::clone(&created), &server_id, None);
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
    setup(guarded, Arc::clone(&created), &server_id, None);
    setup_listeners(io.of("/listeners"), Arc::clone(&created), &server_id);
    let dynamic = Regex::new(r"^/dynamic-\d+$").map_err(|e| e.to_string())?;
    setup(io.of(dynamic), Arc::clone(&created), &server_id, None);
    let by_function = io.of_fn(|name, auth| name.starts_with("/fn-") && auth.get("deny") != Some(&Value::Bool(true)));
    setup(by_function, Arc::clone(&created), &server_id, None);
    admin_ui(&io, &flags, &server_id)?;

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
