//! `cargo bench`: this server (`examples/interop`, release build) beside two peers, the Node
//! reference (`benches/node_reference.mjs`, socket.io 4.x) and socketioxide (tokio, async Rust:
//! `benches/peers/socketioxide/`, a workspace member of its own), driven by one load client
//! (`loadgen/`, another).
//!
//! ```text
//! core 0: taskset -c 0  examples/interop | socketioxide-peer | node benches/node_reference.mjs
//!                       (a fresh process per run; each on one core, socketioxide on one tokio worker)
//! core 1: taskset -c 1  loadgen CASE ... --port P --server-pid PID           (one thread)
//! ```
//!
//! The `cluster` case (issue 10) runs two servers of a kind on one Redis (`--redis`), Rust + Rust
//! beside Node + Node (socketioxide's peer has no Redis adapter: `n/a`), all three processes on
//! core 0 (two servers on one core each would need more cores than the machine has with a load
//! client):
//!
//! ```text
//! core 0: taskset -c 0  redis-server;  interop --redis URL (twice) | node_reference.mjs --redis URL (twice)
//! core 1: taskset -c 1  loadgen cluster ... --port A,B --server-pid PA,PB
//! ```
//!
//! Each case runs `BENCH_REPS` times (3; 1 in quick mode) on each server, the order of the servers
//! turning by one each repetition; the table shows the medians, ours beside socketioxide's and
//! Node's, both ratios (ours ÷ socketioxide, ours ÷ Node) and the targets: issue 15's against
//! socketioxide, issue 5's against Node (issue 9's for `broadcast-ack` and `fetch-sockets`, issue
//! 10's for `cluster`, issue 12's for the broadcast's floor, issue 11's for `throughput-recover`,
//! measured against our own `throughput-event`).
//!
//! The cases: `connect-websocket`, `connect-upgrade`, `rtt`, `throughput`, `throughput-event` and
//! `throughput-recover` (each answer an event, without and with `--recover`), `broadcast` (with the
//! floor, on our server: the same frame written to the same clients by one plain loop of
//! `send(2)`, so that the broadcast's time reads as a multiple of what the system calls alone
//! take), `broadcast-ack`, `fetch-sockets`, `cluster` (two servers on one Redis, above),
//! `idle` (WebSocket clients held), `idle-polling` (polling-only clients held, a GET always
//! waiting), `scale`, and `soak` (ours only: sessions churned in two rounds in one server
//! process, RSS and threads read after each batch).
//!
//! The load client reads the server's CPU, RSS, threads and file descriptors from `/proc/PID` and
//! its own CPU from `/proc/self`; a client above 85 % of its core is flagged, since then the
//! client, not the server, may be the limit.
//!
//! ```text
//! cargo bench                          # the whole comparison (about 30 minutes)
//! BENCH_QUICK=1 cargo bench            # fewer clients, shorter runs, one repetition (about 6 minutes)
//! BENCH_CASES=rtt,throughput cargo bench   # only these cases (connect = both connect cases,
//!                                          # throughput = the three throughput cases)
//! BENCH_CASES=soak cargo bench         # 2 × 100,000 sessions, ours only (about 10 minutes)
//! BENCH_REPS=5 BENCH_SERVERS=rust,socketioxide cargo bench   # rust, socketioxide, node
//! ```
//!
//! Needs `taskset`, Node.js 20+ and `npm ci --prefix tests/node` (the README's set-up); the
//! socketioxide peer is built from crates.io like any dependency. Writes
//! `target/bench/results.json` (every run's figures, the medians, the table), `target/bench/table.md`
//! and each server's stderr under `target/bench/logs/`.

#![allow(clippy::collapsible_if)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Server {
    /// Ours: `examples/interop`.
    Rust,
    /// `benches/peers/socketioxide`: socketioxide on a one-worker tokio runtime.
    Socketioxide,
    /// `benches/node_reference.mjs`: socket.io on Node.
    Node,
}

/// Every server, in the table's order.
const SERVERS: [Server; 3] = [Server::Rust, Server::Socketioxide, Server::Node];

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Rust => "rust",
            Server::Socketioxide => "socketioxide",
            Server::Node => "node",
        }
    }
}

/// Cases a server does not run, and why (shown as `n/a` in its column).
const NOT_APPLICABLE: &[(&str, Server, &str)] = &[
    (
        "cluster",
        Server::Socketioxide,
        "its peer has no Redis adapter; socketioxide's own cannot be mixed with socket.io's, and issue 10 compares with Node + Node",
    ),
    (
        "throughput-recover",
        Server::Socketioxide,
        "the peer has no connection state recovery",
    ),
];

fn not_applicable(case: &str, server: Server) -> Option<&'static str> {
    NOT_APPLICABLE
        .iter()
        .find(|(c, s, _)| *c == case && *s == server)
        .map(|(_, _, why)| *why)
}

/// One case: the loadgen arguments, full and quick.
struct Case {
    name: &'static str,
    loadgen: &'static str,
    full: &'static [&'static str],
    quick: &'static [&'static str],
    /// More loadgen arguments for the Rust server only (the broadcast's floor rounds).
    rust_only: &'static [&'static str],
    /// The servers' heartbeat, `--ping-interval` and `--ping-timeout` in ms.
    heartbeat_ms: (u64, u64),
    /// Run against the Rust server only.
    rust_server_only: bool,
    /// Longest the load client may take, in seconds (it is killed after).
    limit_s: u64,
    /// Flags the servers get (after the heartbeat ones), e.g. `--recover`.
    server_flags: &'static [&'static str],
}

/// socket.io's default heartbeat, which every case but the soak runs with.
const DEFAULT_HEARTBEAT: (u64, u64) = (25_000, 20_000);

/// `throughput` with each answer an event (the two cases of issue 11).
const THROUGHPUT_EVENT_FULL: &[&str] = &[
    "--clients",
    "10",
    "--inflight",
    "32",
    "--duration",
    "10",
    "--warmup",
    "1",
    "--answer",
    "event",
];
const THROUGHPUT_EVENT_QUICK: &[&str] = &[
    "--clients",
    "10",
    "--inflight",
    "32",
    "--duration",
    "3",
    "--warmup",
    "1",
    "--answer",
    "event",
];

const CASES: &[Case] = &[
    Case {
        name: "connect-websocket",
        loadgen: "connect",
        full: &["--clients", "1000", "--concurrency", "50", "--transport", "websocket"],
        quick: &["--clients", "300", "--concurrency", "50", "--transport", "websocket"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 120,
        server_flags: &[],
    },
    Case {
        name: "connect-upgrade",
        loadgen: "connect",
        full: &["--clients", "1000", "--concurrency", "50", "--transport", "upgrade"],
        quick: &["--clients", "300", "--concurrency", "50", "--transport", "upgrade"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 120,
        server_flags: &[],
    },
    Case {
        name: "rtt",
        loadgen: "rtt",
        full: &["--clients", "1000", "--duration", "20"],
        quick: &["--clients", "300", "--duration", "5"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 150,
        server_flags: &[],
    },
    Case {
        name: "throughput",
        loadgen: "throughput",
        full: &[
            "--clients",
            "10",
            "--inflight",
            "32",
            "--duration",
            "10",
            "--warmup",
            "1",
        ],
        quick: &[
            "--clients",
            "10",
            "--inflight",
            "32",
            "--duration",
            "3",
            "--warmup",
            "1",
        ],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 120,
        server_flags: &[],
    },
    // The same, each answer an event (`message` -> `message-back`, a `socket.emit`), without and
    // with connection state recovery (which logs every such event with its offset): issue 11's
    // "no more than 20 % slower".
    Case {
        name: "throughput-event",
        loadgen: "throughput",
        full: THROUGHPUT_EVENT_FULL,
        quick: THROUGHPUT_EVENT_QUICK,
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 120,
        server_flags: &[],
    },
    Case {
        name: "throughput-recover",
        loadgen: "throughput",
        full: THROUGHPUT_EVENT_FULL,
        quick: THROUGHPUT_EVENT_QUICK,
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 120,
        server_flags: &["--recover"],
    },
    Case {
        name: "broadcast",
        loadgen: "broadcast",
        full: &["--clients", "5000", "--broadcasts", "20", "--interval-ms", "500"],
        quick: &["--clients", "1000", "--broadcasts", "5", "--interval-ms", "500"],
        // The floor: as many rounds again, the same frame written by one plain loop
        // (`examples/interop.rs`, `write_floor`).
        rust_only: &["--floor", "10"],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 200,
        server_flags: &[],
    },
    Case {
        name: "broadcast-ack",
        loadgen: "broadcast-ack",
        full: &["--clients", "5000", "--rounds", "20", "--interval-ms", "300"],
        quick: &["--clients", "1000", "--rounds", "5", "--interval-ms", "300"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 300,
        server_flags: &[],
    },
    Case {
        name: "fetch-sockets",
        loadgen: "fetch-sockets",
        full: &["--clients", "10000", "--rounds", "10", "--interval-ms", "300"],
        quick: &["--clients", "2000", "--rounds", "5", "--interval-ms", "300"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 300,
        server_flags: &[],
    },
    Case {
        name: "cluster",
        loadgen: "cluster",
        full: &[
            "--clients",
            "2000",
            "--broadcasts",
            "20",
            "--rounds",
            "10",
            "--interval-ms",
            "300",
        ],
        quick: &[
            "--clients",
            "2000",
            "--broadcasts",
            "5",
            "--rounds",
            "5",
            "--interval-ms",
            "300",
        ],
        // The cluster's floor: both servers write the frame to their own clients with one
        // plain loop at once (`examples/interop.rs`, `write_floor`), on the one core they share.
        rust_only: &["--floor", "10"],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 300,
        server_flags: &[],
    },
    Case {
        name: "idle",
        loadgen: "idle",
        full: &["--clients", "5000", "--hold", "30"],
        quick: &["--clients", "1000", "--hold", "8"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 200,
        server_flags: &[],
    },
    Case {
        name: "idle-polling",
        loadgen: "idle",
        full: &["--clients", "5000", "--hold", "30", "--transport", "polling"],
        quick: &["--clients", "1000", "--hold", "8", "--transport", "polling"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 200,
        server_flags: &[],
    },
    Case {
        name: "scale",
        loadgen: "scale",
        full: &["--clients", "10000", "--hold", "60"],
        quick: &["--clients", "2000", "--hold", "30"],
        rust_only: &[],
        heartbeat_ms: DEFAULT_HEARTBEAT,
        rust_server_only: false,
        limit_s: 300,
        server_flags: &[],
    },
    Case {
        name: "soak",
        loadgen: "soak",
        // Two rounds in one server process: does the second add to the RSS the first left?
        full: &[
            "--sessions",
            "100000",
            "--rounds",
            "2",
            "--concurrency",
            "100",
            "--emits",
            "3",
        ],
        quick: &[
            "--sessions",
            "12000",
            "--rounds",
            "2",
            "--concurrency",
            "100",
            "--emits",
            "3",
        ],
        rust_only: &[],
        // A short heartbeat: a vanished client is found within 4 s.
        heartbeat_ms: (2_000, 2_000),
        rust_server_only: true,
        limit_s: 1500,
        server_flags: &[],
    },
];

/// What a row of the table wants of our server, against one peer (the column it is in).
#[derive(Clone, Copy)]
enum Target {
    None,
    /// ours ÷ the peer's at least this.
    RatioAtLeast(f64),
    /// ours ÷ the peer's at most this.
    RatioAtMost(f64),
    /// Our own figure at most this.
    RustAtMost(f64),
    /// Our own figure at least the case's `--clients`.
    RustAllClients,
    /// Our own figure at least this times our same figure in another case.
    RustVsCase(&'static str, f64),
}

/// Issue 15's targets against socketioxide, by case and figure (a metric's own `target`, in
/// `METRICS`, is against Node: issue 5's).
const SOCKETIOXIDE_TARGETS: &[(&str, &str, Target)] = &[
    ("connect-websocket", "connections/s", Target::RatioAtLeast(1.0)),
    (
        "connect-websocket",
        "server CPU µs/connection",
        Target::RatioAtMost(1.0),
    ),
    ("connect-upgrade", "connections/s", Target::RatioAtLeast(1.0)),
    ("connect-upgrade", "server CPU µs/connection", Target::RatioAtMost(1.0)),
    ("rtt", "rtt p90 ms", Target::RatioAtMost(1.0)),
    ("rtt", "rtt p99 ms", Target::RatioAtMost(1.0)),
    ("throughput", "acks/s", Target::RatioAtLeast(1.4)),
    ("broadcast", "all have it p50 ms", Target::RatioAtMost(0.9)),
    ("idle", "RSS kB/client", Target::RatioAtMost(1.0)),
];

fn socketioxide_target(case: &str, label: &str) -> Target {
    SOCKETIOXIDE_TARGETS
        .iter()
        .find(|(c, l, _)| *c == case && *l == label)
        .map(|(_, _, target)| *target)
        .unwrap_or(Target::None)
}

/// One row of the table: a figure of one case's loadgen JSON.
struct Metric {
    case: &'static str,
    label: &'static str,
    path: &'static str,
    target: Target,
    /// A figure of the load client itself (for the "client was the limit" notes).
    client: bool,
}

const fn m(case: &'static str, label: &'static str, path: &'static str, target: Target) -> Metric {
    Metric {
        case,
        label,
        path,
        target,
        client: false,
    }
}

const fn c(case: &'static str, label: &'static str, path: &'static str) -> Metric {
    Metric {
        case,
        label,
        path,
        target: Target::None,
        client: true,
    }
}

const METRICS: &[Metric] = &[
    m(
        "connect-websocket",
        "connections/s",
        "connect.connections_per_s",
        Target::RatioAtLeast(5.0),
    ),
    m(
        "connect-websocket",
        "connect p50 ms",
        "connect.connect_p50_ms",
        Target::None,
    ),
    m(
        "connect-websocket",
        "connect p99 ms",
        "connect.connect_p99_ms",
        Target::None,
    ),
    m(
        "connect-websocket",
        "server CPU µs/connection",
        "server_cpu_us_per_conn",
        Target::None,
    ),
    m(
        "connect-websocket",
        "server CPU % while connecting",
        "connect_span.server_cpu_pct",
        Target::None,
    ),
    c(
        "connect-websocket",
        "client CPU % while connecting",
        "connect_span.client_cpu_pct",
    ),
    m(
        "connect-upgrade",
        "connections/s",
        "connect.connections_per_s",
        Target::RatioAtLeast(5.0),
    ),
    m(
        "connect-upgrade",
        "connect p50 ms",
        "connect.connect_p50_ms",
        Target::None,
    ),
    m(
        "connect-upgrade",
        "connect p99 ms",
        "connect.connect_p99_ms",
        Target::None,
    ),
    m(
        "connect-upgrade",
        "server CPU µs/connection",
        "server_cpu_us_per_conn",
        Target::None,
    ),
    m(
        "connect-upgrade",
        "server CPU % while connecting",
        "connect_span.server_cpu_pct",
        Target::None,
    ),
    c(
        "connect-upgrade",
        "client CPU % while connecting",
        "connect_span.client_cpu_pct",
    ),
    m("rtt", "rtt p50 ms", "rtt_p50_ms", Target::None),
    m("rtt", "rtt p90 ms", "rtt_p90_ms", Target::None),
    m("rtt", "rtt p99 ms", "rtt_p99_ms", Target::RatioAtMost(0.5)),
    m("rtt", "rtt max ms", "rtt_max_ms", Target::None),
    m("rtt", "acks missing", "missing", Target::RustAtMost(0.0)),
    m("rtt", "server CPU %", "span.server_cpu_pct", Target::None),
    c("rtt", "client CPU %", "span.client_cpu_pct"),
    m("throughput", "acks/s", "acks_per_s", Target::RatioAtLeast(3.0)),
    m(
        "throughput",
        "server CPU µs/ack",
        "server_cpu_us_per_ack",
        Target::RatioAtMost(1.0 / 3.0),
    ),
    m("throughput", "server CPU %", "span.server_cpu_pct", Target::None),
    c("throughput", "client CPU %", "span.client_cpu_pct"),
    m("throughput-event", "events/s", "acks_per_s", Target::None),
    m(
        "throughput-event",
        "server CPU µs/event",
        "server_cpu_us_per_ack",
        Target::None,
    ),
    c("throughput-event", "client CPU %", "span.client_cpu_pct"),
    m(
        "throughput-recover",
        "events/s",
        "acks_per_s",
        Target::RustVsCase("throughput-event", 0.8),
    ),
    m(
        "throughput-recover",
        "server CPU µs/event",
        "server_cpu_us_per_ack",
        Target::None,
    ),
    c("throughput-recover", "client CPU %", "span.client_cpu_pct"),
    c("throughput", "client CPU µs/ack", "client_cpu_us_per_ack"),
    m("broadcast", "all have it p50 ms", "all_have_it_p50_ms", Target::None),
    m(
        "broadcast",
        "floor: all have it p50 ms",
        "floor_all_have_it_p50_ms",
        Target::None,
    ),
    m(
        "broadcast",
        "all have it ÷ floor",
        "over_floor",
        Target::RustAtMost(1.25),
    ),
    m("broadcast", "all have it max ms", "all_have_it_max_ms", Target::None),
    m("broadcast", "one delivery p50 ms", "delivery_p50_ms", Target::None),
    m("broadcast", "lost deliveries", "lost", Target::RustAtMost(0.0)),
    m(
        "broadcast",
        "server CPU ms/broadcast",
        "server_cpu_ms_per_broadcast",
        Target::None,
    ),
    c("broadcast", "client CPU ms/broadcast", "client_cpu_ms_per_broadcast"),
    m(
        "broadcast-ack",
        "callback after p50 ms",
        "p50_ms",
        Target::RatioAtMost(0.5),
    ),
    m("broadcast-ack", "callback after max ms", "max_ms", Target::None),
    m("broadcast-ack", "acks missing", "acks_missing", Target::RustAtMost(0.0)),
    m(
        "broadcast-ack",
        "server CPU µs/ack",
        "server_cpu_us_per_ack",
        Target::None,
    ),
    c("broadcast-ack", "client CPU µs/ack", "client_cpu_us_per_ack"),
    m("fetch-sockets", "fetch p50 ms", "p50_ms", Target::RatioAtMost(0.5)),
    m("fetch-sockets", "fetch max ms", "max_ms", Target::None),
    m(
        "fetch-sockets",
        "sockets listed, min",
        "count_min",
        Target::RustAllClients,
    ),
    m(
        "fetch-sockets",
        "server CPU ms/fetch",
        "server_cpu_ms_per_fetch",
        Target::None,
    ),
    c("fetch-sockets", "client CPU ms/fetch", "client_cpu_ms_per_fetch"),
    m(
        "cluster",
        "broadcast: all have it p50 ms",
        "broadcast.all_have_it_p50_ms",
        Target::RatioAtMost(0.5),
    ),
    m(
        "cluster",
        "broadcast: floor: all have it p50 ms",
        "broadcast.floor_all_have_it_p50_ms",
        Target::None,
    ),
    m(
        "cluster",
        "broadcast: all have it ÷ floor",
        "broadcast.over_floor",
        Target::None,
    ),
    m(
        "cluster",
        "broadcast: all have it p99 ms",
        "broadcast.all_have_it_p99_ms",
        Target::RatioAtMost(0.5),
    ),
    m(
        "cluster",
        "broadcast: lost deliveries",
        "broadcast.lost",
        Target::RustAtMost(0.0),
    ),
    m(
        "cluster",
        "broadcast: servers' CPU ms/broadcast",
        "broadcast.server_cpu_ms_per_broadcast",
        Target::RatioAtMost(0.5),
    ),
    c(
        "cluster",
        "broadcast: client CPU ms/broadcast",
        "broadcast.client_cpu_ms_per_broadcast",
    ),
    m("cluster", "fetch p50 ms", "fetch.p50_ms", Target::RatioAtMost(0.5)),
    m("cluster", "fetch max ms", "fetch.max_ms", Target::None),
    m(
        "cluster",
        "sockets listed, min",
        "fetch.count_min",
        Target::RustAllClients,
    ),
    m(
        "cluster",
        "fetch: servers' CPU ms/fetch",
        "fetch.server_cpu_ms_per_fetch",
        Target::RatioAtMost(0.5),
    ),
    c("cluster", "fetch: client CPU ms/fetch", "fetch.client_cpu_ms_per_fetch"),
    m("idle", "RSS kB/client", "rss_per_client_kb", Target::RatioAtMost(1.0)),
    m("idle", "RSS MB total", "server_after.rss_mb", Target::None),
    m("idle", "threads", "threads", Target::None),
    m("idle", "threads/client", "threads_per_client", Target::RustAtMost(1.0)),
    m("idle", "file descriptors", "fds", Target::None),
    m("idle", "server CPU % while idle", "idle_cpu_pct", Target::None),
    m("idle", "dropped", "dropped", Target::RustAtMost(0.0)),
    m(
        "idle-polling",
        "RSS kB/client",
        "rss_per_client_kb",
        Target::RatioAtMost(1.0),
    ),
    m("idle-polling", "RSS MB total", "server_after.rss_mb", Target::None),
    m(
        "idle-polling",
        "threads/client",
        "threads_per_client",
        Target::RustAtMost(1.0),
    ),
    m("idle-polling", "file descriptors", "fds", Target::None),
    m("idle-polling", "server CPU % while idle", "idle_cpu_pct", Target::None),
    m("idle-polling", "dropped", "dropped", Target::RustAtMost(0.0)),
    m("scale", "clients held to the end", "held", Target::RustAllClients),
    m("scale", "connects refused/failed", "connect.failed", Target::None),
    m(
        "scale",
        "dropped while held",
        "dropped_while_held",
        Target::RustAtMost(0.0),
    ),
    m("scale", "pings answered, min/client", "pings_min", Target::None),
    m("scale", "threads", "threads", Target::None),
    m("scale", "file descriptors", "fds", Target::None),
    m("scale", "RSS kB/client", "rss_per_client_kb", Target::None),
    m("scale", "server CPU % while held", "idle_cpu_pct", Target::None),
    m("soak", "sessions/s while churning", "sessions_per_s", Target::None),
    m(
        "soak",
        "server CPU µs/session",
        "server_cpu_us_per_session",
        Target::None,
    ),
    m("soak", "failed sessions", "failed", Target::RustAtMost(0.0)),
    m(
        "soak",
        "RSS MB after the first 10,000",
        "rss_after_first_10k_mb",
        Target::None,
    ),
    m("soak", "RSS MB after all", "rss_after_all_mb", Target::None),
    m("soak", "RSS growth %", "rss_growth_pct", Target::RustAtMost(10.0)),
    m("soak", "RSS kB added by round 2", "round2_added_kb", Target::None),
    m("soak", "threads back, s", "threads_back_max_s", Target::None),
    m(
        "soak",
        "threads back ÷ (pingInterval + pingTimeout)",
        "threads_back_over_heartbeat",
        Target::RustAtMost(1.0),
    ),
];

/// A client busier than this may have been the limit.
const CLIENT_BOUND_PCT: f64 = 85.0;

struct Config {
    quick: bool,
    reps: usize,
    cases: Vec<&'static Case>,
    servers: Vec<Server>,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let truthy = |v: Result<String, std::env::VarError>| matches!(v.as_deref(), Ok(v) if !v.is_empty() && v != "0");
        let quick = truthy(std::env::var("BENCH_QUICK")) || args.iter().any(|a| a == "--quick");
        let reps = match std::env::var("BENCH_REPS") {
            Ok(v) => v.parse().map_err(|_| format!("BENCH_REPS: not a number: {v}"))?,
            Err(_) if quick => 1,
            Err(_) => 3,
        };
        let cases = match std::env::var("BENCH_CASES") {
            Ok(list) if !list.is_empty() => {
                let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
                // A case's own name, or else its load client's (`connect`: both connect cases).
                let matches =
                    |case: &Case, w: &str| case.name == w || (!CASES.iter().any(|c| c.name == w) && case.loadgen == w);
                for w in &wanted {
                    if !CASES.iter().any(|c| matches(c, w)) {
                        return Err(format!("BENCH_CASES: no case {w}"));
                    }
                }
                CASES.iter().filter(|c| wanted.iter().any(|w| matches(c, w))).collect()
            }
            _ => CASES.iter().collect(),
        };
        let servers = match std::env::var("BENCH_SERVERS") {
            Ok(list) if !list.is_empty() => list
                .split(',')
                .map(|s| {
                    SERVERS
                        .into_iter()
                        .find(|server| server.name() == s.trim())
                        .ok_or_else(|| format!("BENCH_SERVERS: rust, socketioxide or node, not {}", s.trim()))
                })
                .collect::<Result<_, _>>()?,
            _ => SERVERS.to_vec(),
        };
        Ok(Config {
            quick,
            reps: reps.max(1),
            cases,
            servers,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Set-up

fn run_quiet(command: &mut Command) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The programs a run starts.
struct Binaries {
    /// Ours: `examples/interop`.
    interop: PathBuf,
    /// `benches/peers/socketioxide`.
    socketioxide: PathBuf,
    loadgen: PathBuf,
}

/// Builds the interop example, the load client and, if it runs, the socketioxide peer (release).
fn build(target: &Path, servers: &[Server]) -> Result<Binaries, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut builds = vec![
        &["build", "--release", "--example", "interop"][..],
        &["build", "--release", "-p", "loadgen"][..],
    ];
    if servers.contains(&Server::Socketioxide) {
        builds.push(&["build", "--release", "-p", "socketioxide-peer"][..]);
    }
    for args in builds {
        eprintln!("bench: {cargo} {}", args.join(" "));
        let status = Command::new(&cargo)
            .args(args)
            .current_dir(ROOT)
            .status()
            .map_err(|e| format!("{cargo}: {e}"))?;
        if !status.success() {
            return Err(format!("cargo {} failed", args.join(" ")));
        }
    }
    Ok(Binaries {
        interop: target.join("release/examples/interop"),
        socketioxide: target.join("release/socketioxide-peer"),
        loadgen: target.join("release/loadgen"),
    })
}

/// The cargo target directory: the bench binary is `<target>/release/deps/compare-<hash>`.
fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(ROOT).join(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from(ROOT).join("target"))
}

#[repr(C)]
struct Rlimit {
    current: u64,
    max: u64,
}

unsafe extern "C" {
    fn getrlimit(resource: i32, limit: *mut Rlimit) -> i32;
    fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
}

const RLIMIT_NOFILE: i32 = 7;

/// Raises the soft limit of open files to the hard one (the servers inherit it); returns it.
fn raise_nofile() -> u64 {
    let mut limit = Rlimit { current: 0, max: 0 };
    // SAFETY: plain syscalls on a local struct of the kernel's layout (two rlim_t).
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        let raised = Rlimit {
            current: limit.max,
            max: limit.max,
        };
        if setrlimit(RLIMIT_NOFILE, &raised) == 0 {
            limit.current = limit.max;
        }
    }
    limit.current
}

fn machine() -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let text = |cmd: &mut Command| run_quiet(cmd).unwrap_or_else(|_| "?".to_string());
    json!({
        "cores": thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": model,
        "memory_gib": (mem_kb as f64 / 1048576.0).round(),
        "kernel": fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "node": text(Command::new("node").arg("--version")),
        "socket.io": socket_io_version(),
        "socketioxide": socketioxide_version(),
        "rustc": text(Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())).arg("--version")),
        "commit": text(Command::new("git").args(["-C", ROOT, "rev-parse", "--short", "HEAD"])),
        "dirty_files": text(Command::new("git").args(["-C", ROOT, "status", "--porcelain", "--untracked-files=no"]))
            .lines()
            .count(),
    })
}

fn socket_io_version() -> String {
    let package = Path::new(ROOT).join("tests/node/node_modules/socket.io/package.json");
    fs::read_to_string(package)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v["version"].as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// socketioxide's version, from Cargo.lock.
fn socketioxide_version() -> String {
    let lock = fs::read_to_string(Path::new(ROOT).join("Cargo.lock")).unwrap_or_default();
    lock.split("[[package]]")
        .find(|package| package.contains("name = \"socketioxide\"\n"))
        .and_then(|package| package.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_string())
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------------------------------------
// One run

struct Running {
    child: Child,
    port: u16,
    pid: u32,
}

/// One server on core 0 with the case's heartbeat and `flags` (the case's own, e.g. `--recover`,
/// and the cluster case's `--redis URL`).
fn start_server(
    server: Server,
    bins: &Binaries,
    log: &Path,
    heartbeat_ms: (u64, u64),
    flags: &[String],
) -> Result<Running, String> {
    let mut command = Command::new("taskset");
    command.arg("-c").arg("0");
    match server {
        Server::Rust => {
            command.arg(&bins.interop).args(["--log-level", "warn"]);
        }
        Server::Socketioxide => {
            command.arg(&bins.socketioxide);
        }
        Server::Node => {
            command
                .arg("node")
                .arg(Path::new(ROOT).join("benches/node_reference.mjs"));
        }
    }
    // The case's heartbeat (socket.io's defaults but for the soak), spelled out for both.
    let (interval, timeout) = heartbeat_ms;
    command.args(["--port", "0", "--ping-interval", &interval.to_string()]);
    command.args(["--ping-timeout", &timeout.to_string()]);
    command.args(flags);
    let log_file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut child = command
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, first) = mpsc::channel();
    thread::spawn(move || {
        // Read the `listening on` line, then keep draining so the server never blocks on stdout.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let line = first.recv_timeout(Duration::from_secs(15));
    let port = line
        .as_ref()
        .ok()
        .and_then(|l| l.strip_prefix("listening on "))
        .and_then(|a| a.rsplit(':').next()?.parse::<u16>().ok());
    match port {
        Some(port) => Ok(Running {
            pid: child.id(),
            child,
            port,
        }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "{} server did not start ({line:?}); see {}",
                server.name(),
                log.display()
            ))
        }
    }
}

/// Runs the load client against the running servers (one, or the two of a cluster); its JSON.
fn run_loadgen(loadgen: &Path, case: &Case, args: &[String], servers: &[Running]) -> Result<Value, String> {
    // `--port A,B --server-pid PA,PB`
    let ports: Vec<String> = servers.iter().map(|s| s.port.to_string()).collect();
    let pids: Vec<String> = servers.iter().map(|s| s.pid.to_string()).collect();
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg("1")
        .arg(loadgen)
        .arg(case.loadgen)
        .args(args)
        .args(["--port", &ports.join(","), "--server-pid", &pids.join(",")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().map_err(|e| format!("{command:?}: {e}"))?;
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(case.limit_s);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("loadgen {} took longer than {} s", case.name, case.limit_s));
            }
        }
    }
    let text = reader.join().unwrap_or_default();
    serde_json::from_str(text.trim()).map_err(|e| format!("loadgen {}: bad output ({e}): {text}", case.name))
}

fn stop_server(mut running: Running) -> Option<String> {
    let exited = match running.child.try_wait() {
        Ok(Some(status)) => Some(format!("the server had exited during the run ({status})")),
        _ => None,
    };
    let _ = running.child.kill();
    let _ = running.child.wait();
    exited
}

/// Adds figures the table wants that the load client does not compute.
fn derive(result: &mut Value) {
    if let Some(kb) = result.pointer("/server_after/rss_kb").and_then(Value::as_f64) {
        result["server_after"]["rss_mb"] = json!(kb / 1024.0);
    }
    if let (Some(sent), Some(acked)) = (result["sent"].as_f64(), result["acked"].as_f64()) {
        result["missing"] = json!(sent - acked);
    }
    for key in ["rss_after_first_10k", "rss_after_all"] {
        if let Some(kb) = result[format!("{key}_kb")].as_f64() {
            result[format!("{key}_mb")] = json!(kb / 1024.0);
        }
    }
}

/// `redis-server` on core 0 for the cluster case: a free port, no persistence.
struct Redis {
    child: Child,
    port: u16,
}

fn start_redis(log: &Path) -> Result<Redis, String> {
    let binary = ["/usr/bin/redis-server", "redis-server"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("the cluster case needs redis-server: apt-get install redis-server")?;
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a free port for redis-server: {e}"))?
        .port();
    let dir = log.parent().unwrap_or(Path::new("."));
    let mut command = Command::new("taskset");
    command
        .args(["-c", "0", binary, "--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(log);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{command:?}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // PING: it is ready.
        let pong = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut stream| {
            stream.set_read_timeout(Some(Duration::from_secs(1)))?;
            stream.write_all(b"PING\r\n")?;
            let mut answer = [0u8; 7];
            std::io::Read::read_exact(&mut stream, &mut answer)?;
            Ok(&answer == b"+PONG\r\n")
        });
        if matches!(pong, Ok(true)) {
            return Ok(Redis { child, port });
        }
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "redis-server did not start on port {port}; see {}",
                log.display()
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn one_run(
    server: Server,
    case: &Case,
    args: &[String],
    bins: &Binaries,
    logs: &Path,
    label: &str,
) -> Result<Value, String> {
    // The cluster case: two servers on one Redis; the others: one server alone.
    let mut redis = None;
    let mut names = vec![""];
    let mut flags: Vec<String> = case.server_flags.iter().map(|f| f.to_string()).collect();
    if case.loadgen == "cluster" {
        let started = start_redis(&logs.join(format!("{}-{}-redis-{label}.log", case.name, server.name())))?;
        flags.extend(["--redis".to_string(), format!("redis://127.0.0.1:{}", started.port)]);
        redis = Some(started);
        names = vec!["-a", "-b"];
    }
    let mut servers = Vec::new();
    let mut failed = None;
    for name in names {
        let log = logs.join(format!("{}-{}{name}-{label}.log", case.name, server.name()));
        match start_server(server, bins, &log, case.heartbeat_ms, &flags) {
            Ok(running) => servers.push(running),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let mut args = args.to_vec();
    if server == Server::Rust {
        args.extend(case.rust_only.iter().map(|a| a.to_string()));
    }
    let result = match failed {
        Some(e) => Err(e),
        None => run_loadgen(&bins.loadgen, case, &args, &servers),
    };
    let exited: Vec<String> = servers.into_iter().filter_map(stop_server).collect();
    if let Some(mut redis) = redis {
        let _ = redis.child.kill();
        let _ = redis.child.wait();
    }
    thread::sleep(Duration::from_millis(500));
    let mut result = result?;
    if !exited.is_empty() {
        result["server_exited"] = json!(exited.join("; "));
    }
    derive(&mut result);
    Ok(result)
}

fn get(value: &Value, path: &str) -> Option<f64> {
    let mut v = value;
    for key in path.split('.') {
        v = v.get(key)?;
    }
    v.as_f64()
}

fn summary(case: &Case, r: &Value) -> String {
    let pick = |p: &str| get(r, p).map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
    match case.loadgen {
        "connect" => format!(
            "{} conn/s, p50 {} ms, p99 {} ms, {} µs CPU/conn, client {} %",
            pick("connect.connections_per_s"),
            pick("connect.connect_p50_ms"),
            pick("connect.connect_p99_ms"),
            pick("server_cpu_us_per_conn"),
            pick("connect_span.client_cpu_pct")
        ),
        "rtt" => format!(
            "p50 {} ms, p90 {} ms, p99 {} ms, max {} ms, {} of {} acked",
            pick("rtt_p50_ms"),
            pick("rtt_p90_ms"),
            pick("rtt_p99_ms"),
            pick("rtt_max_ms"),
            pick("acked"),
            pick("sent")
        ),
        "throughput" => format!(
            "{} answers/s, {} µs CPU/answer, client {} %",
            pick("acks_per_s"),
            pick("server_cpu_us_per_ack"),
            pick("span.client_cpu_pct")
        ),
        "broadcast" => format!(
            "all have it p50 {} ms, max {} ms, lost {}, dropped {}, connected {}; floor p50 {} ms, ÷ floor {}",
            pick("all_have_it_p50_ms"),
            pick("all_have_it_max_ms"),
            pick("lost"),
            pick("dropped"),
            pick("connect.connected"),
            pick("floor_all_have_it_p50_ms"),
            pick("over_floor")
        ),
        "soak" => format!(
            "{} sessions/s, {} µs CPU/session, failed {}, RSS {} kB after 10,000, {} kB after all ({} %), \
             round 2 added {} kB, threads back in {} s",
            pick("sessions_per_s"),
            pick("server_cpu_us_per_session"),
            pick("failed"),
            pick("rss_after_first_10k_kb"),
            pick("rss_after_all_kb"),
            pick("rss_growth_pct"),
            pick("round2_added_kb"),
            pick("threads_back_max_s")
        ),
        "broadcast-ack" => format!(
            "callback p50 {} ms, max {} ms, acks missing {}, {} µs CPU/ack, connected {}",
            pick("p50_ms"),
            pick("max_ms"),
            pick("acks_missing"),
            pick("server_cpu_us_per_ack"),
            pick("connect.connected")
        ),
        "fetch-sockets" => format!(
            "fetch p50 {} ms, max {} ms, listed min {}, {} ms CPU/fetch, connected {}",
            pick("p50_ms"),
            pick("max_ms"),
            pick("count_min"),
            pick("server_cpu_ms_per_fetch"),
            pick("connect.connected")
        ),
        "cluster" => format!(
            "broadcast: all have it p50 {} ms, p99 {} ms, lost {}, {} ms CPU/broadcast, floor p50 {} ms; \
             fetch p50 {} ms, listed min {}, {} ms CPU/fetch; connected {}",
            pick("broadcast.all_have_it_p50_ms"),
            pick("broadcast.all_have_it_p99_ms"),
            pick("broadcast.lost"),
            pick("broadcast.server_cpu_ms_per_broadcast"),
            pick("broadcast.floor_all_have_it_p50_ms"),
            pick("fetch.p50_ms"),
            pick("fetch.count_min"),
            pick("fetch.server_cpu_ms_per_fetch"),
            pick("connect.connected")
        ),
        _ => format!(
            "held {} (failed {}, dropped {}), {} kB/client, {} threads ({} a client), {} fds, CPU {} %, pings min {}",
            pick("held"),
            pick("connect.failed"),
            pick("dropped"),
            pick("rss_per_client_kb"),
            pick("threads"),
            pick("threads_per_client"),
            pick("fds"),
            pick("idle_cpu_pct"),
            pick("pings_min")
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The table

fn median(values: &mut Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 100.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
    }
}

struct Row {
    case: &'static str,
    label: &'static str,
    /// The medians, one per server in the order of `SERVERS` (`None`: not run, or not a number).
    values: [Option<f64>; 3],
    /// ours ÷ socketioxide's, ours ÷ Node's.
    ratios: [Option<f64>; 2],
    /// The target against each peer and whether it was met ("" when there is none).
    targets: [String; 2],
    verdicts: [String; 2],
    /// A figure of the load client itself.
    client: bool,
    /// The servers against which the load client was near its limit (a client CPU % row only).
    client_bound: Vec<Server>,
}

impl Row {
    fn value(&self, server: Server) -> Option<f64> {
        self.values[SERVERS.iter().position(|s| *s == server).unwrap()]
    }
}

/// The target's text and verdict for our figure `rust` and its `ratio` to one peer's;
/// `rust_in` gives our same figure in another case (for `RustVsCase`).
fn judge(
    target: Target,
    rust: Option<f64>,
    ratio: Option<f64>,
    clients: f64,
    rust_in: &dyn Fn(&str) -> Option<f64>,
) -> (String, String) {
    let yes_no = |ok: bool| if ok { "met" } else { "MISSED" }.to_string();
    let shown = |x: f64| {
        if (x - 1.0 / 3.0).abs() < 1e-9 {
            "1/3".to_string()
        } else if x == 0.5 {
            "½".to_string()
        } else {
            format!("{x}")
        }
    };
    match target {
        Target::None => (String::new(), String::new()),
        Target::RatioAtLeast(x) => (
            format!("≥ {}×", shown(x)),
            ratio.map(|r| yes_no(r >= x)).unwrap_or_default(),
        ),
        Target::RatioAtMost(x) => (
            format!("≤ {}×", shown(x)),
            ratio.map(|r| yes_no(r <= x)).unwrap_or_default(),
        ),
        Target::RustAtMost(x) => (format!("ours ≤ {x}"), rust.map(|r| yes_no(r <= x)).unwrap_or_default()),
        Target::RustAllClients => (
            format!("ours = {clients}"),
            rust.map(|r| yes_no(r >= clients)).unwrap_or_default(),
        ),
        Target::RustVsCase(other, x) => {
            let verdict = match (rust, rust_in(other)) {
                (Some(r), Some(o)) if o > 0.0 => format!("{} ({:.2}×)", yes_no(r >= x * o), r / o),
                _ => String::new(),
            };
            (format!("ours ≥ {x}× our {other}"), verdict)
        }
    }
}

fn rows(results: &BTreeMap<(&'static str, Server), Vec<Value>>, case_args: &BTreeMap<&str, Vec<String>>) -> Vec<Row> {
    let mut rows = Vec::new();
    for metric in METRICS {
        let Some(args) = case_args.get(metric.case) else {
            continue;
        };
        let median_of = |case: &str, server| {
            results.get(&(case, server)).and_then(|runs| {
                let mut values: Vec<f64> = runs.iter().filter_map(|r| get(r, metric.path)).collect();
                median(&mut values)
            })
        };
        let med = |server| median_of(metric.case, server);
        let rust_in = |case: &str| median_of(case, Server::Rust);
        let values = SERVERS.map(med);
        let rust = values[0];
        let ratio = |peer: Option<f64>| match (rust, peer) {
            (Some(r), Some(p)) if p != 0.0 => Some(r / p),
            _ => None,
        };
        let ratios = [ratio(values[1]), ratio(values[2])];
        let clients: f64 = args
            .iter()
            .position(|a| a == "--clients")
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(0.0);
        let (sx_target, sx_verdict) = judge(
            socketioxide_target(metric.case, metric.label),
            rust,
            ratios[0],
            clients,
            &rust_in,
        );
        let (node_target, node_verdict) = judge(metric.target, rust, ratios[1], clients, &rust_in);
        let client_bound = if metric.client && metric.label.contains('%') {
            SERVERS
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_some_and(|v| v >= CLIENT_BOUND_PCT))
                .map(|(s, _)| *s)
                .collect()
        } else {
            Vec::new()
        };
        rows.push(Row {
            case: metric.case,
            label: metric.label,
            values,
            ratios,
            targets: [sx_target, node_target],
            verdicts: [sx_verdict, node_verdict],
            client: metric.client,
            client_bound,
        });
    }
    rows
}

/// A target cell: `≥ 1×: met`.
fn target_cell(target: &str, verdict: &str) -> String {
    match (target.is_empty(), verdict.is_empty()) {
        (true, _) => String::new(),
        (false, true) => target.to_string(),
        (false, false) => format!("{target}: {verdict}"),
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| case | figure | ours | socketioxide | Node | ours ÷ socketioxide | target | ours ÷ Node | target | |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---|---:|---|---|\n");
    for row in rows {
        let label = if row.client {
            format!("*{}*", row.label)
        } else {
            row.label.to_string()
        };
        let cell = |i: usize| match not_applicable(row.case, SERVERS[i]) {
            Some(_) => "n/a".to_string(),
            None => fmt(row.values[i]),
        };
        let ratio = |r: Option<f64>| r.map(|r| format!("{r:.2}")).unwrap_or_else(|| "-".into());
        let note = if row.client_bound.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = row.client_bound.iter().map(|s| s.name()).collect();
            format!("client-bound? ({})", names.join(", "))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.case,
            label,
            cell(0),
            cell(1),
            cell(2),
            ratio(row.ratios[0]),
            target_cell(&row.targets[0], &row.verdicts[0]),
            ratio(row.ratios[1]),
            target_cell(&row.targets[1], &row.verdicts[1]),
            note
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------

fn main() {
    if let Err(e) = run() {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let config = Config::from_env()?;
    let target = target_dir();
    let out_dir = target.join("bench");
    let logs = out_dir.join("logs");
    fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    run_quiet(Command::new("taskset").args(["-c", "0", "true"]))
        .map_err(|e| format!("taskset is needed (util-linux): {e}"))?;
    if config.servers.contains(&Server::Node) {
        run_quiet(Command::new("node").arg("--version")).map_err(|e| format!("Node.js is needed: {e}"))?;
        if !Path::new(ROOT).join("tests/node/node_modules/socket.io").is_dir() {
            return Err("socket.io is not installed: run `npm ci --prefix tests/node` first".into());
        }
    }
    let cores = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if cores < 2 {
        return Err(format!(
            "needs 2 cores (server on core 0, client on core 1); this process may use {cores}"
        ));
    }
    let nofile = raise_nofile();
    let bins = build(&target, &config.servers)?;

    let started = Instant::now();
    let date = run_quiet(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    let machine = machine();
    eprintln!(
        "bench: {} mode, {} repetition(s), cases {}, open files limit {nofile}; {} on {} cores",
        if config.quick { "quick" } else { "full" },
        config.reps,
        config.cases.iter().map(|c| c.name).collect::<Vec<_>>().join(","),
        machine["cpu"].as_str().unwrap_or("?"),
        machine["cores"]
    );
    if nofile < 10_000 + 100 && !config.quick {
        eprintln!(
            "bench: note: the open files limit is {nofile}; each server holds one descriptor per WebSocket \
             client, so neither can hold the scale case's 10,000 clients"
        );
    }

    let mut results: BTreeMap<(&'static str, Server), Vec<Value>> = BTreeMap::new();
    let mut case_args: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut notes: Vec<String> = Vec::new();
    for case in &config.cases {
        let args: Vec<String> = (if config.quick { case.quick } else { case.full })
            .iter()
            .map(|s| s.to_string())
            .collect();
        case_args.insert(case.name, args.clone());
        for rep in 0..config.reps {
            // Each repetition starts with the next server: none always runs first (or last).
            let mut order = config.servers.clone();
            let turn = rep % order.len();
            order.rotate_left(turn);
            if case.rust_server_only {
                order.retain(|server| *server == Server::Rust);
            }
            for server in order {
                if let Some(why) = not_applicable(case.name, server) {
                    if rep == 0 {
                        eprintln!("  {} {}: n/a ({why})", case.name, server.name());
                    }
                    continue;
                }
                let result = one_run(server, case, &args, &bins, &logs, &(rep + 1).to_string());
                match result {
                    Ok(r) => {
                        eprintln!(
                            "  {} #{} {:12} {}",
                            case.name,
                            rep + 1,
                            server.name(),
                            summary(case, &r)
                        );
                        if let Some(e) = r["connect"]["first_error"].as_str() {
                            eprintln!("      first connect error: {e}");
                        }
                        if let Some(e) = r["server_exited"].as_str() {
                            notes.push(format!("{} #{} {}: {e}", case.name, rep + 1, server.name()));
                        }
                        results.entry((case.name, server)).or_default().push(r);
                    }
                    Err(e) => {
                        eprintln!("  {} #{} {}: FAILED: {e}", case.name, rep + 1, server.name());
                        notes.push(format!("{} #{} {}: {e}", case.name, rep + 1, server.name()));
                    }
                }
            }
        }
    }

    let rows = rows(&results, &case_args);
    let table = table(&rows);
    let elapsed = started.elapsed().as_secs_f64();
    let heading = format!(
        "{date}, {} cores ({}), {} GiB, Linux {}, socketioxide {} on one tokio worker, Node {} with socket.io {}, {}; {} mode, medians of {} run(s) per server, {:.0} s",
        machine["cores"],
        machine["cpu"].as_str().unwrap_or("?"),
        machine["memory_gib"],
        machine["kernel"].as_str().unwrap_or("?"),
        machine["socketioxide"].as_str().unwrap_or("?"),
        machine["node"].as_str().unwrap_or("?"),
        machine["socket.io"].as_str().unwrap_or("?"),
        machine["rustc"].as_str().unwrap_or("?"),
        if config.quick { "quick" } else { "full" },
        config.reps,
        elapsed
    );
    println!("\n{heading}\n\n{table}");
    let client_bound: Vec<String> = rows
        .iter()
        .filter(|r| !r.client_bound.is_empty())
        .map(|r| {
            let figures: Vec<String> = r
                .client_bound
                .iter()
                .map(|s| format!("{} {}", s.name(), fmt(r.value(*s))))
                .collect();
            format!("{} ({}: {})", r.case, r.label, figures.join(", "))
        })
        .collect();
    if !client_bound.is_empty() {
        let note = format!(
            "the load client used over {CLIENT_BOUND_PCT} % of its core in: {}",
            client_bound.join("; ")
        );
        println!("note: {note}");
        notes.push(note);
    }
    // broadcast: the client receives every delivery on one core; when its CPU per broadcast is
    // near a server's "all have it" time, that time is partly the client's.
    let figure = |label: &str, server: Server| {
        rows.iter()
            .find(|r| r.case == "broadcast" && r.label == label)
            .and_then(|r| r.value(server))
    };
    for server in SERVERS {
        let client = figure("client CPU ms/broadcast", server);
        let all = figure("all have it p50 ms", server);
        if let (Some(client), Some(all)) = (client, all) {
            if client >= 0.5 * all {
                let note = format!(
                    "broadcast ({}): the load client spent {} ms of CPU per broadcast receiving it, against \
                     {} ms until all had it: the client bounds this figure",
                    server.name(),
                    fmt(Some(client)),
                    fmt(Some(all))
                );
                println!("note: {note}");
                notes.push(note);
            }
        }
    }
    for note in &notes {
        if !note.starts_with("the load client") && !note.starts_with("broadcast (") {
            println!("note: {note}");
        }
    }

    let json_rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "case": r.case, "figure": r.label,
                "rust": r.value(Server::Rust), "socketioxide": r.value(Server::Socketioxide), "node": r.value(Server::Node),
                "ratio_socketioxide": r.ratios[0], "target_socketioxide": r.targets[0], "verdict_socketioxide": r.verdicts[0],
                "ratio_node": r.ratios[1], "target_node": r.targets[1], "verdict_node": r.verdicts[1],
                "client": r.client,
                "client_bound": r.client_bound.iter().map(|s| s.name()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let runs: Value = config
        .cases
        .iter()
        .map(|case| {
            let per_server: serde_json::Map<String, Value> = config
                .servers
                .iter()
                .map(|s| {
                    (
                        s.name().to_string(),
                        json!(results.get(&(case.name, *s)).cloned().unwrap_or_default()),
                    )
                })
                .collect();
            (
                case.name.to_string(),
                json!({ "args": case_args[case.name], "runs": per_server }),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into();
    let document = json!({
        "date": date,
        "machine": machine,
        "mode": if config.quick { "quick" } else { "full" },
        "repetitions": config.reps,
        "open_files_limit": nofile,
        "elapsed_s": elapsed,
        "table": json_rows,
        "notes": notes,
        "cases": runs,
    });
    let json_path = out_dir.join("results.json");
    fs::write(&json_path, serde_json::to_string_pretty(&document).unwrap())
        .map_err(|e| format!("{}: {e}", json_path.display()))?;
    let md_path = out_dir.join("table.md");
    let mut md = fs::File::create(&md_path).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let _ = write!(md, "{heading}\n\n{table}");
    for note in &notes {
        let _ = writeln!(md, "\nnote: {note}");
    }
    println!("\nwritten: {} and {}", json_path.display(), md_path.display());
    Ok(())
}
