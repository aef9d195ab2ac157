//! The chapter's `socket.js`, line by line, in Rust.
//!
//! ```text
//! cargo run                          # http://localhost:8005
//! cargo run -- --port 3000 --trace   # watch every packet
//! cargo run -- --admin-ui             # watch the sockets in the admin UI: https://admin.socket.io
//! ```
//!
//! `cargo run -- --help` lists every flag (the table `USAGE` below, also in README).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::{error, info};
use serde_json::Value;
use socketio_book::admin::{self, Auth, InstrumentOptions};
use socketio_book::cli::{self, Flag, Usage};
use socketio_book::engineio::{CorsOptions, CorsOrigin};
use socketio_book::interval::{Interval, set_interval};
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::adapter::redis;
use socketio_book::socketio::{Arg, ConnectionStateRecovery, Handshake, Server, ServerOptions, Socket};
use socketio_book::www::{self, App};

/// `req.headers['x-forwarded-for'] || req.connection.remoteAddress`: the client's IP. A proxy in
/// front of the server (nginx, a load balancer) puts the client's address in `X-Forwarded-For`;
/// without one, the peer of the TCP connection is the client.
fn client_ip(handshake: &Handshake) -> String {
    match handshake.header("x-forwarded-for") {
        Some(forwarded) => forwarded.to_string(),
        None => handshake.address.ip().to_string(),
    }
}

/// An argument as `console.log` shows it: a string as it is, other JSON as JSON.
fn show_arg(arg: &Arg) -> String {
    match arg {
        Arg::Json(Value::String(text)) => text.clone(),
        Arg::Json(value) => value.to_string(),
        Arg::Binary(bytes) => format!("<Buffer of {} bytes>", bytes.len()),
    }
}

/// Takes the interval out of its slot (clearInterval needs it only once).
fn take(slot: &Mutex<Option<Interval>>) -> Option<Interval> {
    match slot.lock() {
        Ok(mut slot) => slot.take(),
        Err(_) => None,
    }
}

/// `module.exports = (server) => { ... }`: what the chapter does with each connection.
fn socket_js(io: &Server, news_interval: Duration) {
    // io.on('connection', (socket) => { ... })
    // `connection` fires when a client connects, and hands over its socket: `io` and `socket`
    // are the core of Socket.IO.
    io.on_connection(move |socket: &Socket| {
        // const req = socket.request;
        // const ip = req.headers['x-forwarded-for'] || req.connection.remoteAddress;
        // `socket.request` is the HTTP request the connection started with; here
        // `socket.handshake()` holds its headers and the peer's address.
        let ip = client_ip(socket.handshake());
        // console.log('새로운 클라이언트 접속!', ip, socket.id, req.ip);
        // `socket.id` is the socket's own id: it tells which client this is (it is not the
        // Engine.IO session id, the `sid` of the requests). `req.ip` is Express's, and this
        // request never went through Express (the book's line prints `undefined`): left out.
        info!("새로운 클라이언트 접속! {ip} {}", socket.id());

        // `socket.interval`: the slot where the timer below is kept, so that the disconnect
        // handler can clear it.
        let socket_interval: Arc<Mutex<Option<Interval>>> = Arc::new(Mutex::new(None));

        // socket.on('disconnect', () => { console.log('클라이언트 접속 해제', ip, socket.id); clearInterval(socket.interval); });
        // `disconnect` fires when the client has closed the connection (or it was lost). The
        // timer must be cleared here, else it keeps running for a socket that is gone: in Node
        // one timer per client that ever connected, a leak. (Ours would also stop at its next
        // tick, when the emit fails; clear_interval stops it at once.)
        let ip_at_disconnect = ip.clone();
        let interval_to_clear = Arc::clone(&socket_interval);
        socket.on_disconnect(move |socket, reason| {
            info!("클라이언트 접속 해제 {ip_at_disconnect} {} ({reason})", socket.id());
            if let Some(interval) = take(&interval_to_clear) {
                interval.clear_interval();
            }
        });

        // socket.on('error', (error) => { console.error(error); });
        // `error` fires when something goes wrong in the exchange (here: a malformed packet from
        // this client, just before its connection is closed).
        socket.on_error(|socket, error| {
            error!("{}: {error}", socket.id());
        });

        // socket.on('reply', (data) => { console.log(data); });
        // `reply` is not built in: it is an event name we chose, what the page sends with
        // `socket.emit('reply', ...)`. Naming events is what sets Socket.IO apart from `ws`.
        socket.on("reply", |socket, args, _ack| {
            let data: Vec<String> = args.iter().map(show_arg).collect();
            info!("reply from {}: {}", socket.id(), data.join(" "));
        });

        // socket.interval = setInterval(() => { socket.emit('news', 'Hello Socket.IO'); }, 3000);
        // Every 3 s, to this one client: `emit` takes two arguments, the event name (`news`) and
        // the data (`Hello Socket.IO`); the page gets it only if it listens to `news`.
        // A thread of its own ("news <socket id>"); it ends when clear_interval drops its stop
        // channel, or by itself once an emit fails because the socket is gone.
        let emitter = socket.clone();
        let started = set_interval(&format!("news {}", socket.id()), news_interval, move || {
            emitter.emit("news", vec!["Hello Socket.IO".into()]).is_ok()
        });
        match started {
            Ok(interval) => {
                if let Ok(mut slot) = socket_interval.lock() {
                    *slot = Some(interval);
                }
                if !socket.connected() {
                    // Disconnected while we were starting it: clear it now.
                    if let Some(interval) = take(&socket_interval) {
                        interval.clear_interval();
                    }
                }
            }
            Err(e) => error!("{}: cannot start the news timer: {e}", socket.id()),
        }
    });
}

/// The flags of `cargo run -- ...`: `--help` prints this table, and `run` reads them from it.
const USAGE: Usage = Usage {
    program: env!("CARGO_BIN_NAME"),
    about: "the chapter's socket.js: Socket.IO at /socket.io, `news` to each client every 3 s",
    flags: &[
        cli::port("8005").env("PORT"),
        cli::host("0.0.0.0"),
        cli::LOG_LEVEL,
        cli::TRACE,
        cli::CLIENT_SCRIPT,
        cli::PING_INTERVAL,
        cli::PING_TIMEOUT,
        cli::RECOVER,
        cli::ALLOW_EIO3,
        Flag::number(
            "news-interval",
            "MS",
            1,
            cli::MAX_MS,
            "the chapter's setInterval period",
        )
        .default("3000"),
        Flag::switch(
            "admin-ui",
            "serve the official admin UI's namespace /admin (no log-in, development mode), with CORS for https://admin.socket.io",
        ),
        Flag::text(
            "admin-ui-origin",
            "ORIGIN",
            "with --admin-ui: the UI's origin when it is not the hosted one (e.g. its ui/dist served at http://localhost:8080)",
        ),
        cli::REDIS,
        cli::REDIS_KEY,
        cli::REDIS_SHARDED,
        cli::REDIS_SUBSCRIPTION_MODE,
        cli::REDIS_REQUESTS_TIMEOUT,
        cli::REDIS_SPECIFIC_RESPONSE_CHANNEL,
    ],
};

/// Where socket.io's docs have the admin UI: `cors: { origin: ["https://admin.socket.io"], credentials: true }`.
const HOSTED_ADMIN_UI: &str = "https://admin.socket.io";

fn run() -> Result<(), String> {
    let flags = cli::parse_args(&USAGE);
    cli::init_logging(flags.log_level("log-level"));
    if flags.switch("trace") {
        socketio_book::trace::enable();
    }
    let port: u16 = flags.number("port");
    let host = flags.text("host").unwrap_or_default().to_string(); // it has a default
    let news_interval = flags.millis("news-interval");
    let client_script = www::client_script(flags.text("client-script"))?;

    // --redis: one of several servers on one Redis (socketio::adapter::redis).
    let redis_flags = redis::RedisFlags {
        url: flags.text("redis"),
        key: flags.text("redis-key"),
        sharded: flags.switch("redis-sharded"),
        subscription_mode: flags.text("redis-subscription-mode"),
        requests_timeout: flags.millis("redis-requests-timeout"),
        specific_response_channel: flags.switch("redis-specific-response-channel"),
    };

    // const io = SocketIO(server, { path: '/socket.io' });
    // Socket.IO on the HTTP server, with an options object; the chapter sets only `path`, where
    // clients connect. The page's `path` option must be the same.
    //
    // With --redis, the Redis adapter: `io.adapter(createAdapter(pubClient, subClient))`, and
    // the chapter's server is one of several on one Redis.
    //
    // `--recover` adds socket.io 4.6's `connectionStateRecovery: {}`, which the chapter's
    // socket.io did not have: a page whose connection drops gets its socket back (its id, and
    // the `news` written to the dead connection before the server noticed).
    let mut options = ServerOptions {
        path: "/socket.io".to_string(),
        ping_interval: flags.millis("ping-interval"),
        ping_timeout: flags.millis("ping-timeout"),
        connection_state_recovery: cli::connection_state_recovery(
            flags.switch("recover"),
            ConnectionStateRecovery::default().max_disconnection_duration,
            ConnectionStateRecovery::default().max_log_entries,
            redis_flags.url,
        )?,
        allow_eio3: flags.switch("allow-eio3"),
        adapter: redis_flags.adapter()?,
        ..ServerOptions::default()
    };
    // Not the book's: the admin UI, a page of another origin, reads this server with
    // credentials (cookies), which needs CORS for exactly that origin.
    let admin_ui = flags.switch("admin-ui");
    let admin_ui_origin = flags.text("admin-ui-origin");
    if admin_ui_origin.is_some() && !admin_ui {
        return Err("--admin-ui-origin needs --admin-ui".to_string());
    }
    if admin_ui {
        let origin = admin_ui_origin.unwrap_or(HOSTED_ADMIN_UI).to_string();
        options.cors = Some(CorsOptions::with_credentials(CorsOrigin::List(vec![origin])));
    }
    let io = Server::new(options).map_err(|e| e.to_string())?;
    if admin_ui {
        // instrument(io, { auth: false, mode: "development" })
        admin::instrument(&io, InstrumentOptions::new(Auth::None)).map_err(|e| e.to_string())?;
    }
    socket_js(&io, news_interval);

    // server.listen(8005)
    let http = HttpServer::bind((host.as_str(), port), ListenerConfig::default())
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let address = http.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {address}");
    info!("open http://localhost:{}", address.port());
    http.serve(Arc::new(App::new(io, "/socket.io", client_script)));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("socketio_book: {e}");
            ExitCode::FAILURE
        }
    }
}
