//! The server half of the official admin UI, `@socket.io/admin-ui` 0.5.x: `instrument(io,
//! options)` (the package's `lib/index.ts`). The UI (a web page, hosted at
//! <https://admin.socket.io> or served from the package's `ui/dist`) connects to the namespace
//! `/admin` of this server with the official client and shows what it is told there; its buttons
//! send commands back.
//!
//! | file           | what                                                              | reference                          |
//! |----------------|-------------------------------------------------------------------|------------------------------------|
//! | `mod.rs`       | `instrument`, its options, `config`, `all_sockets`                | `instrument`, `detectSupportedFeatures` |
//! | `auth.rs`      | no log-in, or a user name and a bcrypt hash; `session` ids         | `initAuthenticationMiddleware`, `InMemoryStore` |
//! | `stats.rs`     | `server_stats` every 2 s, from the Engine.IO layer's events        | `initStatsEmitter`, `registerEngineListeners`, `EventBuffer` |
//! | `watch.rs`     | development mode: every socket, room and event, as it happens      | `registerVerboseListeners`         |
//! | `serialize.rs` | a socket as the UI reads it                                        | `serialize`, `serializeData`       |
//! | `commands.rs`  | what the UI asks: `emit`, `join`, `leave`, `_disconnect`            | `registerFeatureHandlers`          |
//!
//! What an admin socket gets when it connects (development mode), and later:
//!
//! ```text
//! ← 40/admin,
//! → 42/admin,["room_joined","/admin","<id>","<id>","2026-12-02T06:31:59.762Z"]   its own room
//! → 40/admin,{"sid":"<id>"}
//! → 42/admin,["socket_connected",{"id":"<id>","clientId":"uP_eOTwjMsUi","transport":"websocket","nsp":"/admin",...},"2026-12-02T06:31:59.763Z"]
//! → 42/admin,["config",{"supportedFeatures":["EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT","AGGREGATED_EVENTS","ALL_EVENTS"]}]
//! → 42/admin,["all_sockets",[{...every socket of every namespace, this one too...}]]
//! → 42/admin,["server_stats",{...}]                                    every 2 s (stats.rs)
//! → 42/admin,["socket_connected",...], ["event_received",...], ...     as they happen (watch.rs)
//! ← 42/admin,["_disconnect","/",false,"<socket id>"]                   a button (commands.rs)
//! ```
//!
//! In production mode only `config` (`["AGGREGATED_EVENTS"]` and the commands) and
//! `server_stats` are sent: nothing per socket or per event. `readonly` leaves the commands out
//! of `config` and does not obey them.
//!
//! Threads: none of its own. `server_stats` goes out from the `timers` thread; everything else
//! from the thread where it happens (a socket's reader for its events, the thread that emits for
//! `event_sent`, the thread that closes a session for `socket_disconnected`).

mod auth;
mod commands;
mod serialize;
mod stats;
mod watch;

use std::sync::Arc;

use log::{debug, info, warn};
use serde_json::{Value, json};

pub use auth::{Auth, InvalidAuth, SessionStore};
pub use serialize::{serialize_data, serialize_socket};
pub use stats::{STATS_INTERVAL, hostname};

use crate::socketio::{Arg, Server, Socket, WeakServer};

/// `mode`: how much the UI is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every socket, room and event as it happens, and the stats.
    Development,
    /// The stats only (`server_stats`), for a busy server.
    Production,
}

/// The options of [`instrument`] (the reference's `InstrumentOptions`).
#[derive(Debug, Clone)]
pub struct InstrumentOptions {
    /// `namespaceName`: `/admin`.
    pub namespace_name: String,
    /// `auth`: required, as in the reference (`Auth::None` is its `auth: false`).
    pub auth: Auth,
    /// `readonly`: false. When true the UI's buttons are greyed out and their commands ignored.
    pub readonly: bool,
    /// `serverId`: the host name when `None` (`os.hostname()`).
    pub server_id: Option<String>,
    /// `mode`: development.
    pub mode: Mode,
}

impl InstrumentOptions {
    /// The reference's defaults with this `auth`.
    pub fn new(auth: Auth) -> InstrumentOptions {
        InstrumentOptions {
            namespace_name: "/admin".to_string(),
            auth,
            readonly: false,
            server_id: None,
            mode: Mode::Development,
        }
    }
}

/// What the UI may ask for, as `config` lists it (the reference's `Feature`).
pub const COMMAND_FEATURES: [&str; 7] = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"];

/// What one instrumented server shares between its listeners. It holds the server weakly: the
/// listeners that hold it live in the server (its namespaces, its engine), and a strong handle
/// would keep the server alive for ever.
pub(crate) struct Admin {
    io: WeakServer,
    namespace_name: String,
    server_id: String,
    hostname: String,
    readonly: bool,
    /// `supportedFeatures`, as `config` sends them.
    features: Vec<&'static str>,
    counters: Arc<stats::EngineCounters>,
    leaving: watch::Leaving,
    /// How many `server_stats` went out (for the log, and to see the timer stop).
    stats_sent: std::sync::atomic::AtomicU64,
}

impl Admin {
    /// `adminNamespace.emit(event, ...args)`: to every admin socket (none yet: nothing sent).
    fn emit(&self, io: &Server, event: &str, args: Vec<Arg>) {
        let nsp = match io.namespace(&self.namespace_name) {
            Some(nsp) => nsp,
            None => return,
        };
        if let Err(e) = nsp.emit(event, args) {
            debug!("admin: {event} not sent: {e}");
        }
    }

    /// The server, unless it is gone.
    fn server(&self) -> Option<Server> {
        self.io.upgrade()
    }
}

/// `instrument(io, options)`: serves the admin UI on `io` (see the module's doc). Call it once,
/// before clients connect: sessions opened earlier are not in the engine's counts.
///
/// ```text
/// instrument(&io, InstrumentOptions::new(Auth::None))?;                // instrument(io, { auth: false })
/// instrument(&io, InstrumentOptions {                                 // instrument(io, {
///     auth: Auth::Basic { username: "admin".into(), password: hash },  //   auth: { type: "basic", username: "admin", password: hash },
///     mode: Mode::Production,                                          //   mode: "production",
///     ..InstrumentOptions::new(Auth::None)                             // })
/// })?;
/// ```
///
/// Refused: a `password` that is not a bcrypt hash.
pub fn instrument(io: &Server, options: InstrumentOptions) -> Result<(), InvalidAuth> {
    start(io, options).map(|_admin| ())
}

/// `instrument`, returning what its listeners share.
fn start(io: &Server, options: InstrumentOptions) -> Result<Arc<Admin>, InvalidAuth> {
    info!(
        "admin UI on namespace {} ({:?} mode{})",
        options.namespace_name,
        options.mode,
        if options.readonly { ", read-only" } else { "" }
    );
    let admin_nsp = io.of(options.namespace_name.as_str());
    let store = Arc::new(SessionStore::default());
    auth::init_authentication(&admin_nsp, &options.auth, &store)?;

    // detectSupportedFeatures: this server has every command of socket.io 4.
    let mut features: Vec<&'static str> = Vec::new();
    if !options.readonly {
        features.extend(COMMAND_FEATURES);
    }
    features.push("AGGREGATED_EVENTS");
    let development = options.mode == Mode::Development;
    if development {
        features.push("ALL_EVENTS");
    }
    debug!("admin: supported features: {features:?}");

    let hostname = hostname();
    let admin = Arc::new(Admin {
        io: io.downgrade(),
        namespace_name: admin_nsp.name().to_string(),
        server_id: options.server_id.clone().unwrap_or_else(|| hostname.clone()),
        hostname,
        readonly: options.readonly,
        features,
        counters: Arc::new(stats::EngineCounters::default()),
        leaving: watch::Leaving::default(),
        stats_sent: std::sync::atomic::AtomicU64::new(0),
    });

    let on_admin = Arc::clone(&admin);
    admin_nsp.on_connection(move |socket| on_admin_connection(&on_admin, socket, development));

    stats::register_engine_listeners(io.engine(), &admin.counters);

    if development {
        for nsp in io.namespaces() {
            watch::watch_namespace(&admin, &nsp);
        }
        let watcher = Arc::clone(&admin);
        io.on_new_namespace(move |nsp| watch::watch_namespace(&watcher, nsp));
    }

    stats::start_stats_emitter(Arc::clone(&admin));
    Ok(admin)
}

/// The admin namespace's `connection` handler: the commands, `config`, and in development mode
/// `all_sockets`.
fn on_admin_connection(admin: &Arc<Admin>, socket: &Socket, development: bool) {
    if !admin.readonly {
        commands::register_commands(admin, socket);
    }
    let config = json!({ "supportedFeatures": admin.features });
    let _ = socket.emit("config", vec![config.into()]);
    if development {
        if let Some(io) = admin.server() {
            let _ = socket.emit("all_sockets", vec![Arg::Json(all_sockets(&io))]);
        }
    }
}

/// `fetchAllSockets`: every socket of every namespace (`fetch_sockets`: of every server of a
/// cluster), serialized, namespace by namespace. A namespace whose other servers did not
/// answer in time is left out, and logged.
fn all_sockets(io: &Server) -> Value {
    let mut all = Vec::new();
    for nsp in io.namespaces() {
        match nsp.fetch_sockets() {
            Ok(sockets) => {
                for socket in sockets {
                    all.push(serialize::serialize_fetched(&socket, nsp.name()));
                }
            }
            Err(e) => warn!("admin: all_sockets: the sockets of {} are missing: {e}", nsp.name()),
        }
    }
    Value::Array(all)
}
