//! `loadgen`: the benchmarks' load client (see `benches/compare.rs`, which runs it).
//!
//! One process, one thread (a tokio current-thread runtime), so that `taskset -c 1` gives it
//! exactly one core. It speaks Engine.IO v4 / Socket.IO v5 as `socket.io-client` does:
//!
//! ```text
//! websocket   GET /socket.io/?EIO=4&transport=websocket (Upgrade)
//!             ◄ 0{"sid":..}   ► 40   ◄ 40{"sid":..}            connected
//! upgrade     GET  /socket.io/?EIO=4&transport=polling         ◄ 0{"sid":..}
//!             POST /socket.io/?EIO=4&transport=polling&sid=S   ► 40  ◄ ok
//!             GET  /socket.io/?EIO=4&transport=polling&sid=S   ◄ 40{"sid":..}
//!             GET  /socket.io/?EIO=4&transport=websocket&sid=S (Upgrade)
//!             ► 2probe  ◄ 3probe  ► 5                          connected, upgraded
//! polling     GET  /socket.io/?EIO=4&transport=polling         ◄ 0{"sid":..}
//!             POST ...&sid=S  ► 40   GET ...&sid=S  ◄ 40{"sid":..}  connected; then a GET is
//!             always held, and each `2` it brings is answered `3` by a POST on a new connection
//! heartbeat   ◄ 2  ► 3            (every client, in every case)
//! ack         ► 42<id>["message-with-ack",<id>]  ◄ 43<id>[<id>]
//! event       ► 42["message",<id>]  ◄ 42["message-back",<id>]   (throughput --answer event; with
//!             the server's --recover: ◄ 42["message-back",<id>,"<offset>"])
//! broadcast   ► 42["broadcast",<seq>]  ◄ 42["broadcast-back",<seq>]  (on every client)
//! floor       ► 42["floor",<seq>]  ◄ 42["broadcast-back",<seq>]  (the same frame, written by the
//!             server's floor loop: `examples/interop.rs`)
//! broadcast-ack  ► 42<id>["broadcast-with-ack",<seq>]   the server asks every client:
//!                ◄ 42<n>["ask",<seq>]  ► 43<n>["ok"]     (on every client, the sender too)
//!                ◄ 43<id>[{"err":null,"count":N}]        the server's callback has run
//! fetch-sockets  ► 42<id>["fetch-sockets",null]  ◄ 43<id>[[{"id":..,"rooms":[..],"data":{}},..]]
//! ```
//!
//! ```text
//! loadgen CASE --port P[,P2] --server-pid PID[,PID2] [--clients N] [--concurrency C]
//!              [--transport websocket|upgrade|polling] [--duration S] [--inflight K]
//!              [--broadcasts B] [--floor F] [--interval-ms MS] [--hold S] [--warmup S] [--rounds R]
//!              [--sessions N] [--emits E] [--settle S] [--answer ack|event]
//! CASE: connect | rtt | throughput | broadcast | broadcast-ack | fetch-sockets | idle | scale | soak
//!       | cluster
//! ```
//!
//! With several servers (`--port A,B --server-pid PA,PB`, a cluster on one Redis; every case but
//! `soak`) client i connects to server i mod 2, so client 0, the one that sends the orders, is a client of A; the
//! server figures are sums over the servers. `cluster` is `broadcast` then `fetch-sockets` on one
//! set of clients: a broadcast from a client of A to every client of both, then `fetchSockets()`
//! of every socket of the cluster, asked of A. With `--floor F`, the cluster's floor follows the
//! broadcasts: F rounds in which client 0 asks A and client 1 asks B for `floor` at once, so that
//! both servers write the frame to their own clients with one plain loop (on one core, as the
//! benchmark pins them): the floor under a broadcast to every client of both.
//!
//! Prints one JSON object on stdout: the case's figures, the server's CPU, RSS, threads and file
//! descriptors (from /proc/PID) and the load client's own CPU (from /proc/self), so that the
//! harness can tell when the client, not the server, was the limit.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws = WebSocketStream<TcpStream>;
type Error = Box<dyn std::error::Error>;

/// A connection attempt that takes longer than this counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// After this many failed connects the connect phase stops (the server is full).
const MAX_FAILURES: usize = 100;

// ---------------------------------------------------------------------------------------------
// Arguments

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    WebSocket,
    Upgrade,
    /// Long-polling only (`transports: ['polling']`).
    Polling,
}

struct Args {
    case: String,
    /// One server, or the servers of a cluster.
    ports: Vec<u16>,
    /// Their processes, in the same order.
    server_pids: Vec<u32>,
    clients: usize,
    concurrency: usize,
    transport: Transport,
    duration: f64,
    inflight: usize,
    broadcasts: usize,
    /// Floor rounds after the broadcasts (the Rust server only).
    floor: usize,
    interval_ms: u64,
    hold: f64,
    warmup: f64,
    /// broadcast-ack, fetch-sockets: how many requests, one after the other; soak: how many
    /// rounds of `sessions` sessions.
    rounds: usize,
    /// soak: sessions per round, acked emits per session, and how long to wait at most for the
    /// server's threads to come back after a batch (s).
    sessions: usize,
    emits: usize,
    settle: f64,
    /// throughput: the server answers each request with an ack (`message-with-ack`), or with an
    /// event (`message` -> `message-back`, a `socket.emit`, which connection state recovery logs).
    events: bool,
}

impl Args {
    fn parse() -> Result<Args, String> {
        let mut raw = std::env::args().skip(1);
        let case = raw.next().ok_or("usage: loadgen CASE --port P --server-pid PID ...")?;
        let mut args = Args {
            case,
            ports: Vec::new(),
            server_pids: Vec::new(),
            clients: 1000,
            concurrency: 50,
            transport: Transport::WebSocket,
            duration: 10.0,
            inflight: 32,
            broadcasts: 20,
            floor: 0,
            interval_ms: 500,
            hold: 30.0,
            warmup: 1.0,
            rounds: 10,
            sessions: 100_000,
            emits: 3,
            settle: 30.0,
            events: false,
        };
        while let Some(flag) = raw.next() {
            let value = raw.next().ok_or_else(|| format!("{flag}: missing value"))?;
            fn num<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
                value.parse().map_err(|_| format!("{flag}: bad value {value}"))
            }
            // `A` or `A,B`.
            fn list<T: std::str::FromStr>(flag: &str, value: &str) -> Result<Vec<T>, String> {
                value.split(',').map(|one| num(flag, one)).collect()
            }
            match flag.as_str() {
                "--port" => args.ports = list(&flag, &value)?,
                "--server-pid" => args.server_pids = list(&flag, &value)?,
                "--clients" => args.clients = num(&flag, &value)?,
                "--concurrency" => args.concurrency = num(&flag, &value)?,
                "--duration" => args.duration = num(&flag, &value)?,
                "--inflight" => args.inflight = num(&flag, &value)?,
                "--broadcasts" => args.broadcasts = num(&flag, &value)?,
                "--interval-ms" => args.interval_ms = num(&flag, &value)?,
                "--hold" => args.hold = num(&flag, &value)?,
                "--warmup" => args.warmup = num(&flag, &value)?,
                "--rounds" => args.rounds = num(&flag, &value)?,
                "--floor" => args.floor = num(&flag, &value)?,
                "--sessions" => args.sessions = num(&flag, &value)?,
                "--emits" => args.emits = num(&flag, &value)?,
                "--settle" => args.settle = num(&flag, &value)?,
                "--answer" => {
                    args.events = match value.as_str() {
                        "ack" => false,
                        "event" => true,
                        _ => return Err(format!("--answer: ack or event, not {value}")),
                    }
                }
                "--transport" => {
                    args.transport = match value.as_str() {
                        "websocket" => Transport::WebSocket,
                        "upgrade" => Transport::Upgrade,
                        "polling" => Transport::Polling,
                        _ => return Err(format!("--transport: websocket, upgrade or polling, not {value}")),
                    }
                }
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        if args.ports.is_empty() || args.ports.len() != args.server_pids.len() {
            return Err("--port and --server-pid are required, as many of each".into());
        }
        if args.case == "soak" && args.ports.len() > 1 {
            return Err("soak: one server (one --port, one --server-pid)".into());
        }
        Ok(args)
    }
}

// ---------------------------------------------------------------------------------------------
// /proc

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// utime + stime of a process (all its threads, dead ones included), in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else { return f64::NAN };
    // After "pid (comm) ": field 3 (state) is index 0, utime (14) index 11, stime (15) index 12.
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// VmRSS (kB) and Threads of a process.
fn rss_and_threads(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("Threads:"))
}

fn fd_count(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// Raises this process's soft limit of open files to the hard limit.
fn raise_nofile() -> u64 {
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        limit.rlim_cur
    }
}

/// CPU of the server and of this process at one instant.
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    server: f64,
    client: f64,
}

impl Sample {
    /// The servers' CPU is the sum over `pids`. Read before our own: reading a server's
    /// `/proc/PID/stat` costs us kernel time that grows with its threads (2 ms of our CPU for
    /// one of 10,000 threads, where Node has one), which a span must not count as the client's
    /// (so its end is `take_end`).
    fn take(pids: &[u32]) -> Sample {
        let server = pids.iter().map(|pid| cpu_seconds(&pid.to_string())).sum();
        Sample {
            at: Instant::now(),
            server,
            client: cpu_seconds("self"),
        }
    }

    /// The end of a span: our own CPU first, then the servers'.
    fn take_end(pids: &[u32]) -> Sample {
        let client = cpu_seconds("self");
        Sample {
            at: Instant::now(),
            server: pids.iter().map(|pid| cpu_seconds(&pid.to_string())).sum(),
            client,
        }
    }

    /// Wall time, server and client CPU between two samples.
    fn span(&self, later: &Sample) -> Span {
        Span {
            wall: (later.at - self.at).as_secs_f64(),
            server: later.server - self.server,
            client: later.client - self.client,
        }
    }
}

struct Span {
    wall: f64,
    server: f64,
    client: f64,
}

impl Span {
    fn json(&self) -> Value {
        json!({
            "wall_s": self.wall,
            "server_cpu_s": self.server,
            "server_cpu_pct": 100.0 * self.server / self.wall,
            "client_cpu_s": self.client,
            "client_cpu_pct": 100.0 * self.client / self.wall,
        })
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

// ---------------------------------------------------------------------------------------------
// Connecting

/// A keep-alive HTTP/1.1 connection for the polling requests.
struct Http {
    stream: BufReader<TcpStream>,
    port: u16,
}

impl Http {
    async fn connect(port: u16) -> Result<Http, Error> {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        Ok(Http {
            stream: BufReader::new(tcp),
            port,
        })
    }

    /// One request; the response's status and body.
    async fn request(&mut self, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String), Error> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: */*\r\nConnection: keep-alive\r\n",
            self.port
        );
        let body = body.unwrap_or("");
        if method == "POST" {
            head.push_str(&format!(
                "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(body);
        self.stream.get_mut().write_all(head.as_bytes()).await?;

        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            return Err("connection closed before the response".into());
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err("connection closed in the response head".into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut bytes = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim(), 16)?;
                let mut chunk = vec![0; size + 2];
                self.stream.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                bytes.extend_from_slice(&chunk[..size]);
            }
        } else {
            let length = length.ok_or("response without Content-Length")?;
            bytes.resize(length, 0);
            self.stream.read_exact(&mut bytes).await?;
        }
        Ok((status, String::from_utf8(bytes)?))
    }
}

async fn open_websocket(port: u16, sid: Option<&str>) -> Result<Ws, Error> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let url = match sid {
        None => format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"),
        Some(sid) => format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&sid={sid}"),
    };
    // tungstenite's default read buffer is 128 KiB, zeroed on the first read: for thousands of
    // clients that page-faulting was most of this load client's work per connection.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
    Ok(ws)
}

async fn next_text(ws: &mut Ws) -> Result<String, Error> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(_))) | None => return Err("closed by the server".into()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

/// `transports: ['websocket']`: open, `40`, wait for the namespace's `40{..}`.
async fn connect_websocket(port: u16) -> Result<Ws, Error> {
    let mut ws = open_websocket(port, None).await?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        return Err(format!("expected the open packet, got {open}").into());
    }
    ws.send(Message::text("40")).await?;
    loop {
        let packet = next_text(&mut ws).await?;
        if packet.starts_with("40") {
            return Ok(ws);
        } else if packet.starts_with("44") {
            return Err(format!("connect refused: {packet}").into());
        } else if packet == "2" {
            ws.send(Message::text("3")).await?;
        }
    }
}

/// `GET /socket.io/?EIO=4&transport=polling` ◄ `0{"sid":..}`: the session's id.
async fn polling_handshake(http: &mut Http, n: usize) -> Result<String, Error> {
    let (status, body) = http
        .request("GET", &format!("/socket.io/?EIO=4&transport=polling&t={n}a"), None)
        .await?;
    if status != 200 || !body.starts_with('0') {
        return Err(format!("handshake: {status} {body}").into());
    }
    let open: Value = serde_json::from_str(&body[1..])?;
    Ok(open["sid"].as_str().ok_or("handshake without sid")?.to_string())
}

/// The browser's default: polling handshake, `40` by POST, the `40{..}` by GET, then the upgrade.
async fn connect_upgrade(port: u16, n: usize) -> Result<Ws, Error> {
    let mut http = Http::connect(port).await?;
    let sid = polling_handshake(&mut http, n).await?;
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let (status, body) = http.request("POST", &format!("{path}&t={n}b"), Some("40")).await?;
    if status != 200 || body != "ok" {
        return Err(format!("POST 40: {status} {body}").into());
    }
    let mut polls = 0;
    loop {
        let (status, body) = http.request("GET", &format!("{path}&t={n}c{polls}"), None).await?;
        if status != 200 {
            return Err(format!("poll: {status} {body}").into());
        }
        if body.split('\x1e').any(|p| p.starts_with("40")) {
            break;
        }
        if body.split('\x1e').any(|p| p.starts_with("44") || p == "1") {
            return Err(format!("poll: {body}").into());
        }
        polls += 1;
    }
    let mut ws = open_websocket(port, Some(&sid)).await?;
    ws.send(Message::text("2probe")).await?;
    loop {
        let packet = next_text(&mut ws).await?;
        if packet == "3probe" {
            break;
        }
    }
    ws.send(Message::text("5")).await?;
    drop(http);
    Ok(ws)
}

/// `transports: ['polling']`: the handshake GET, `40` by POST, GETs until the namespace's `40{..}`.
/// Returns the connection the GETs go on, and the sid.
async fn connect_polling(port: u16, n: usize) -> Result<(Http, String), Error> {
    let mut http = Http::connect(port).await?;
    let sid = polling_handshake(&mut http, n).await?;
    post_packets(port, &sid, "40").await?;
    let path = polling_path(&sid);
    loop {
        let (status, body) = http.request("GET", &path, None).await?;
        if status != 200 {
            return Err(format!("poll: {status} {body}").into());
        }
        for packet in body.split('\x1e') {
            if packet.starts_with("40") {
                return Ok((http, sid));
            }
            if packet.starts_with("44") || packet == "1" {
                return Err(format!("poll: {body}").into());
            }
            if packet == "2" {
                post_packets(port, &sid, "3").await?;
            }
        }
    }
}

fn polling_path(sid: &str) -> String {
    format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
}

/// One POST on a connection of its own, closed once answered (a client's POSTs are rare when it
/// is idle: one `3` per ping).
async fn post_packets(port: u16, sid: &str, body: &str) -> Result<(), Error> {
    let mut http = Http::connect(port).await?;
    let (status, answer) = http.request("POST", &polling_path(sid), Some(body)).await?;
    if status != 200 || answer != "ok" {
        return Err(format!("POST {body}: {status} {answer}").into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The clients

/// What the connected clients do; switched for all of them at once through a `watch`.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Answer heartbeats, record broadcasts.
    Hold,
    /// One `message-with-ack` per `period`, client i offset by i/n of it, from `start` to `end`.
    Rtt {
        start: Instant,
        period: Duration,
        end: Instant,
    },
    /// Keep `inflight` requests unanswered until `end`; count answers from `window`. A request
    /// is `message-with-ack`, or `message` when `events` (its answer the `message-back` event).
    Throughput {
        inflight: usize,
        window: Instant,
        end: Instant,
        events: bool,
    },
}

/// What client 0 is told to send.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// `42["broadcast",seq]`.
    Broadcast(u32),
    /// `42<id>["broadcast-with-ack",seq]`: its ack is the server's `(err, responses)` summary.
    BroadcastWithAck(u32),
    /// `42<id>["fetch-sockets",null]`: its ack lists every socket.
    FetchSockets(u32),
}

/// The ack ids of the orders that want one: far above those of `message-with-ack`.
const ORDER_ACK_BASE: u64 = 1_000_000_000;

/// Everything the clients report, shared on the one thread.
struct Shared {
    t0: Instant,
    clients: usize,
    connected: Cell<usize>,
    failed: Cell<usize>,
    finished: Cell<usize>,
    attempt_done: Notify,
    stop_connecting: Cell<bool>,
    first_error: RefCell<Option<String>>,
    connect_us: RefCell<Vec<u64>>,
    last_connected: Cell<Option<Instant>>,
    dropped: Cell<usize>,
    /// Each drop: (ms since t0, client, pings it had answered).
    drops: RefCell<Vec<(u64, usize, u32)>>,
    pings: RefCell<Vec<u32>>,
    alive: RefCell<Vec<bool>>,
    connected_at_ms: RefCell<Vec<u64>>,
    ever: RefCell<Vec<bool>>,
    rtt_us: RefCell<Vec<u64>>,
    /// Round trips of 10 ms or more: (sent at, ms since t0; took, ms; client).
    rtt_slow: RefCell<Vec<(u64, u64, usize)>>,
    rtt_sent: Cell<u64>,
    acks_window: Cell<u64>,
    acks_total: Cell<u64>,
    broadcast_sent_us: RefCell<Vec<u64>>,
    broadcast_received_us: RefCell<Vec<u64>>,
    broadcast_received: Cell<u64>,
    /// broadcast-ack, fetch-sockets: when each round was sent and answered (µs since t0).
    round_sent_us: RefCell<Vec<u64>>,
    round_done_us: RefCell<Vec<u64>>,
    /// What each round's answer counted: the clients that acked, or the sockets listed.
    round_count: RefCell<Vec<u64>>,
    /// The `err` of a broadcast-ack round's answer, if not null.
    round_error: RefCell<Vec<Option<String>>>,
    round_done: Notify,
    /// `ask`s answered by all the clients.
    asks_answered: Cell<u64>,
    /// Broadcast orders from this sequence number on are floor rounds (`42["floor",seq]`).
    floor_from: usize,
}

impl Shared {
    /// `broadcasts` broadcast rounds in all, the floor's included from `floor_from` on.
    fn new(clients: usize, broadcasts: usize, floor_from: usize, rounds: usize) -> Rc<Shared> {
        Rc::new(Shared {
            t0: Instant::now(),
            clients,
            connected: Cell::new(0),
            failed: Cell::new(0),
            finished: Cell::new(0),
            attempt_done: Notify::new(),
            stop_connecting: Cell::new(false),
            first_error: RefCell::new(None),
            connect_us: RefCell::new(Vec::with_capacity(clients)),
            last_connected: Cell::new(None),
            dropped: Cell::new(0),
            drops: RefCell::new(Vec::new()),
            pings: RefCell::new(vec![0; clients]),
            alive: RefCell::new(vec![false; clients]),
            connected_at_ms: RefCell::new(vec![0; clients]),
            ever: RefCell::new(vec![false; clients]),
            rtt_us: RefCell::new(Vec::new()),
            rtt_slow: RefCell::new(Vec::new()),
            rtt_sent: Cell::new(0),
            acks_window: Cell::new(0),
            acks_total: Cell::new(0),
            broadcast_sent_us: RefCell::new(vec![u64::MAX; broadcasts]),
            broadcast_received_us: RefCell::new(vec![u64::MAX; broadcasts * clients]),
            broadcast_received: Cell::new(0),
            round_sent_us: RefCell::new(vec![u64::MAX; rounds]),
            round_done_us: RefCell::new(vec![u64::MAX; rounds]),
            round_count: RefCell::new(vec![0; rounds]),
            round_error: RefCell::new(vec![None; rounds]),
            round_done: Notify::new(),
            asks_answered: Cell::new(0),
            floor_from,
        })
    }

    /// The answer to round `seq` came: `[{"err":null,"count":N}]` (broadcast-ack) or
    /// `[[{"id":..},..]]` (fetch-sockets).
    fn round_answered(&self, seq: usize, order: Order, answer: &str) {
        if seq >= self.round_done_us.borrow().len() || self.round_done_us.borrow()[seq] != u64::MAX {
            return;
        }
        self.round_done_us.borrow_mut()[seq] = self.micros();
        match order {
            Order::BroadcastWithAck(_) => {
                let parsed: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
                self.round_count.borrow_mut()[seq] = parsed[0]["count"].as_u64().unwrap_or(0);
                self.round_error.borrow_mut()[seq] = match &parsed[0]["err"] {
                    Value::Null => None,
                    other => Some(other.to_string()),
                };
            }
            Order::FetchSockets(_) => {
                self.round_count.borrow_mut()[seq] = answer.matches("{\"id\":").count() as u64;
            }
            Order::Broadcast(_) => {}
        }
        self.round_done.notify_one();
    }

    fn micros(&self) -> u64 {
        self.t0.elapsed().as_micros() as u64
    }
}

fn emit_with_ack(id: u64) -> Message {
    Message::text(format!("42{id}[\"message-with-ack\",{id}]"))
}

/// Throughput: an answer came (an ack, or a `message-back`): count it (in the window), and
/// send the next request while the run lasts.
fn throughput_answered(
    shared: &Shared,
    window: Instant,
    end: Instant,
    events: bool,
    next_id: &mut u64,
    out: &mut Vec<Message>,
) {
    let now = Instant::now();
    shared.acks_total.set(shared.acks_total.get() + 1);
    if now >= window && now < end {
        shared.acks_window.set(shared.acks_window.get() + 1);
    }
    if now < end {
        out.push(request(*next_id, events));
        *next_id += 1;
    }
}

/// A throughput request: `message-with-ack`, or `42["message",<id>]` when `events`.
fn request(id: u64, events: bool) -> Message {
    if events {
        Message::text(format!("42[\"message\",{id}]"))
    } else {
        emit_with_ack(id)
    }
}

/// `42<id>["ask",...]`: an event of the server's that wants an ack; its id.
fn asked(text: &str) -> Option<u64> {
    let rest = text.strip_prefix("42")?;
    let id = leading_number(rest)?;
    rest[id.to_string().len()..].starts_with("[\"ask\"").then_some(id)
}

/// The digits at the start of `s`.
fn leading_number(s: &str) -> Option<u64> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// One connected client until the process ends.
async fn client_loop(
    idx: usize,
    mut ws: Ws,
    shared: Rc<Shared>,
    mut modes: watch::Receiver<Mode>,
    mut sender: Option<mpsc::UnboundedReceiver<Order>>,
) {
    shared.alive.borrow_mut()[idx] = true;
    // The order waiting for its ack (client 0 only).
    let mut pending: Option<(u64, Order)> = None;
    shared.connected_at_ms.borrow_mut()[idx] = shared.t0.elapsed().as_millis() as u64;
    let mut mode = Mode::Hold;
    let mut next_id: u64 = 0;
    let mut sent_at: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut next_tick: Option<Instant> = None;
    let mut out: Vec<Message> = Vec::new();
    let mut watching = true;
    shared.ever.borrow_mut()[idx] = true;
    let broadcasts = shared.broadcast_sent_us.borrow().len();
    let drop_client = |shared: &Shared| {
        shared.dropped.set(shared.dropped.get() + 1);
        shared.alive.borrow_mut()[idx] = false;
        let pings = shared.pings.borrow()[idx];
        shared
            .drops
            .borrow_mut()
            .push((shared.t0.elapsed().as_millis() as u64, idx, pings));
    };
    loop {
        let tick = async {
            match next_tick {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let order = async {
            match sender.as_mut() {
                Some(sender) => sender.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            first = ws.next() => {
                let mut message = first;
                loop {
                    match message {
                        Some(Ok(Message::Text(text))) => {
                            let text = text.as_str();
                            if text == "2" {
                                out.push(Message::text("3"));
                                shared.pings.borrow_mut()[idx] += 1;
                            } else if let Some(rest) = text.strip_prefix("43") {
                                let id = leading_number(rest).unwrap_or(u64::MAX);
                                let now = Instant::now();
                                let answered = match pending {
                                    Some((wanted, order)) if id == wanted => Some(order),
                                    _ => None,
                                };
                                if let Some(order) = answered {
                                    pending = None;
                                    let seq = (id - ORDER_ACK_BASE) as usize;
                                    let answer = &rest[id.to_string().len()..];
                                    shared.round_answered(seq, order, answer);
                                } else {
                                match mode {
                                    Mode::Rtt { .. } => {
                                        while let Some(&(sent_id, at)) = sent_at.front() {
                                            if sent_id > id { break; }
                                            sent_at.pop_front();
                                            if sent_id == id {
                                                let took = (now - at).as_micros() as u64;
                                                shared.rtt_us.borrow_mut().push(took);
                                                if took >= 10_000 {
                                                    let sent_ms = (at - shared.t0).as_millis() as u64;
                                                    shared.rtt_slow.borrow_mut().push((sent_ms, took / 1000, idx));
                                                }
                                            }
                                        }
                                    }
                                    Mode::Throughput { window, end, events, .. } => {
                                        throughput_answered(&shared, window, end, events, &mut next_id, &mut out);
                                    }
                                    Mode::Hold => {}
                                }
                                }
                            } else if let (Some(_), Mode::Throughput { window, end, events: true, .. }) =
                                (text.strip_prefix("42[\"message-back\","), mode)
                            {
                                // An answer as an event: counted as an ack is.
                                throughput_answered(&shared, window, end, true, &mut next_id, &mut out);
                            } else if let Some(id) = asked(text) {
                                out.push(Message::text(format!("43{id}[\"ok\"]")));
                                shared.asks_answered.set(shared.asks_answered.get() + 1);
                            } else if let Some(rest) = text.strip_prefix("42[\"broadcast-back\",") {
                                if let Some(seq) = leading_number(rest) {
                                    let seq = seq as usize;
                                    if seq < broadcasts {
                                        let slot = &mut shared.broadcast_received_us.borrow_mut()[seq * shared.clients + idx];
                                        if *slot == u64::MAX {
                                            *slot = shared.micros();
                                            shared.broadcast_received.set(shared.broadcast_received.get() + 1);
                                        }
                                    }
                                }
                            } else if text == "1" || text.starts_with("41") {
                                drop_client(&shared);
                                return;
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            drop_client(&shared);
                            return;
                        }
                        Some(Ok(_)) => {}
                    }
                    match ws.next().now_or_never() {
                        Some(more) => message = more,
                        None => break,
                    }
                }
                if !out.is_empty() {
                    for message in out.drain(..) {
                        if ws.feed(message).await.is_err() {
                            drop_client(&shared);
                            return;
                        }
                    }
                    if ws.flush().await.is_err() {
                        drop_client(&shared);
                        return;
                    }
                }
            }
            Some(order) = order => {
                let message = match order {
                    Order::Broadcast(seq) => {
                        // The cluster's floor asks two clients at once: the first order counts.
                        let mut sent = shared.broadcast_sent_us.borrow_mut();
                        if sent[seq as usize] == u64::MAX {
                            sent[seq as usize] = shared.micros();
                        }
                        let event = if seq as usize >= shared.floor_from { "floor" } else { "broadcast" };
                        format!("42[\"{event}\",{seq}]")
                    }
                    Order::BroadcastWithAck(seq) => {
                        let id = ORDER_ACK_BASE + seq as u64;
                        pending = Some((id, order));
                        shared.round_sent_us.borrow_mut()[seq as usize] = shared.micros();
                        format!("42{id}[\"broadcast-with-ack\",{seq}]")
                    }
                    Order::FetchSockets(seq) => {
                        let id = ORDER_ACK_BASE + seq as u64;
                        pending = Some((id, order));
                        shared.round_sent_us.borrow_mut()[seq as usize] = shared.micros();
                        format!("42{id}[\"fetch-sockets\",null]")
                    }
                };
                if ws.send(Message::text(message)).await.is_err() {
                    drop_client(&shared);
                    return;
                }
            }
            _ = tick => {
                let Mode::Rtt { period, end, .. } = mode else {
                    next_tick = None;
                    continue;
                };
                let now = Instant::now();
                let at = next_tick.unwrap();
                next_tick = if at + period < end { Some(at + period) } else { None };
                if now < end {
                    sent_at.push_back((next_id, now));
                    shared.rtt_sent.set(shared.rtt_sent.get() + 1);
                    let message = emit_with_ack(next_id);
                    next_id += 1;
                    if ws.send(message).await.is_err() {
                        drop_client(&shared);
                        return;
                    }
                }
            }
            changed = modes.changed(), if watching => {
                if changed.is_err() {
                    // The driver is gone: keep answering heartbeats until the process ends.
                    watching = false;
                    continue;
                }
                mode = *modes.borrow_and_update();
                match mode {
                    Mode::Hold => next_tick = None,
                    Mode::Rtt { start, period, .. } => {
                        let offset = period.mul_f64(idx as f64 / shared.clients as f64);
                        next_tick = Some(start + offset);
                    }
                    Mode::Throughput { inflight, events, .. } => {
                        for _ in 0..inflight {
                            if ws.feed(request(next_id, events)).await.is_err() {
                                drop_client(&shared);
                                return;
                            }
                            next_id += 1;
                        }
                        if ws.flush().await.is_err() {
                            drop_client(&shared);
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// One connected polling client until the process ends: a GET is always held; each `2` it brings
/// is answered `3`. (It only holds: the idle-polling case.)
async fn polling_loop(idx: usize, mut http: Http, sid: String, port: u16, shared: Rc<Shared>) {
    shared.alive.borrow_mut()[idx] = true;
    shared.ever.borrow_mut()[idx] = true;
    shared.connected_at_ms.borrow_mut()[idx] = shared.t0.elapsed().as_millis() as u64;
    let drop_client = |shared: &Shared| {
        shared.dropped.set(shared.dropped.get() + 1);
        shared.alive.borrow_mut()[idx] = false;
        let pings = shared.pings.borrow()[idx];
        shared
            .drops
            .borrow_mut()
            .push((shared.t0.elapsed().as_millis() as u64, idx, pings));
    };
    let path = polling_path(&sid);
    loop {
        let body = match http.request("GET", &path, None).await {
            Ok((200, body)) => body,
            _ => return drop_client(&shared),
        };
        for packet in body.split('\x1e') {
            if packet == "2" {
                shared.pings.borrow_mut()[idx] += 1;
                if post_packets(port, &sid, "3").await.is_err() {
                    return drop_client(&shared);
                }
            } else if packet == "1" || packet.starts_with("41") {
                return drop_client(&shared);
            }
        }
    }
}

/// A client once connected: over WebSocket, or polling (the GET connection and the sid).
enum Connected {
    Ws(Ws),
    Polling(Http, String),
}

/// For the rounds `seqs`: the time until every client had each round (sorted), every single
/// delivery's time (sorted), and how many deliveries never came.
fn delivery_times(shared: &Shared, seqs: std::ops::Range<usize>) -> (Vec<u64>, Vec<u64>, u64) {
    let sent = shared.broadcast_sent_us.borrow();
    let received = shared.broadcast_received_us.borrow();
    let ever = shared.ever.borrow();
    let clients = shared.clients;
    let mut complete = Vec::new();
    let mut deliveries = Vec::new();
    let mut lost = 0u64;
    for seq in seqs {
        let at = sent[seq];
        let mut last = 0;
        for idx in 0..clients {
            if !ever[idx] {
                continue; // never connected
            }
            let got = received[seq * clients + idx];
            if got == u64::MAX || at == u64::MAX {
                lost += 1;
            } else {
                let took = got.saturating_sub(at);
                deliveries.push(took);
                last = last.max(took);
            }
        }
        complete.push(last);
    }
    complete.sort_unstable();
    deliveries.sort_unstable();
    (complete, deliveries, lost)
}

/// Opens `n` clients, `concurrency` at a time, and leaves each running `client_loop`.
/// Returns when every attempt has succeeded or failed (or too many failed).
async fn connect_clients(
    shared: &Rc<Shared>,
    ports: &[u16],
    n: usize,
    concurrency: usize,
    transport: Transport,
    modes: &watch::Receiver<Mode>,
    senders: Vec<mpsc::UnboundedReceiver<Order>>,
) -> usize {
    // Client i gets the i-th order channel, if there is one (client 0 sends the orders; in the
    // cluster's floor rounds client 1, a client of B, too).
    let mut senders = senders.into_iter();
    let gate = std::sync::Arc::new(Semaphore::new(concurrency));
    let mut launched = 0;
    for idx in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        if shared.stop_connecting.get() {
            break;
        }
        launched += 1;
        let shared = shared.clone();
        let modes = modes.clone();
        let sender = senders.next();
        let port = ports[idx % ports.len()];
        tokio::task::spawn_local(async move {
            let started = Instant::now();
            let attempt = async {
                match transport {
                    Transport::WebSocket => connect_websocket(port).await.map(Connected::Ws),
                    Transport::Upgrade => connect_upgrade(port, idx).await.map(Connected::Ws),
                    Transport::Polling => connect_polling(port, idx)
                        .await
                        .map(|(http, sid)| Connected::Polling(http, sid)),
                }
            };
            let result = tokio::time::timeout(CONNECT_TIMEOUT, attempt).await;
            let took = started.elapsed();
            drop(permit);
            shared.finished.set(shared.finished.get() + 1);
            shared.attempt_done.notify_one();
            match result {
                Ok(Ok(connected)) => {
                    shared.connect_us.borrow_mut().push(took.as_micros() as u64);
                    shared.connected.set(shared.connected.get() + 1);
                    shared.last_connected.set(Some(Instant::now()));
                    match connected {
                        Connected::Ws(ws) => client_loop(idx, ws, shared, modes, sender).await,
                        Connected::Polling(http, sid) => polling_loop(idx, http, sid, port, shared).await,
                    }
                }
                failure => {
                    let error = match failure {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".to_string(),
                    };
                    shared.failed.set(shared.failed.get() + 1);
                    shared.first_error.borrow_mut().get_or_insert(error);
                    if shared.failed.get() >= MAX_FAILURES {
                        shared.stop_connecting.set(true);
                    }
                }
            }
        });
    }
    while shared.finished.get() < launched {
        shared.attempt_done.notified().await;
    }
    launched
}

fn connect_json(shared: &Shared, launched: usize, started: Instant) -> Value {
    let mut times = shared.connect_us.borrow().clone();
    times.sort_unstable();
    let connected = shared.connected.get();
    let wall = shared
        .last_connected
        .get()
        .map(|t| (t - started).as_secs_f64())
        .unwrap_or(f64::NAN);
    json!({
        "clients": shared.clients,
        "attempted": launched,
        "connected": connected,
        "failed": shared.failed.get(),
        "first_error": *shared.first_error.borrow(),
        "connect_wall_s": wall,
        "connections_per_s": connected as f64 / wall,
        "connect_p50_ms": percentile(&times, 0.50) / 1000.0,
        "connect_p99_ms": percentile(&times, 0.99) / 1000.0,
        "connect_max_ms": percentile(&times, 1.0) / 1000.0,
    })
}

/// RSS, threads and file descriptors, summed over the servers.
fn server_state(pids: &[u32]) -> Value {
    let (mut rss, mut threads, mut fds) = (0, 0, 0);
    for &pid in pids {
        let (one_rss, one_threads) = rss_and_threads(pid);
        rss += one_rss;
        threads += one_threads;
        fds += fd_count(pid);
    }
    json!({ "rss_kb": rss, "threads": threads, "fds": fds })
}

async fn sleep_secs(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}

// ---------------------------------------------------------------------------------------------
// The cases

/// Client 0 asks for the broadcast rounds `seqs`, `interval_ms` apart; returns once every
/// connected client has had all of them (or after 5 s more).
async fn send_broadcasts(
    shared: &Shared,
    order_txs: &[&mpsc::UnboundedSender<Order>],
    seqs: std::ops::Range<usize>,
    interval_ms: u64,
    connected: usize,
) {
    let expected = (seqs.end * connected) as u64;
    for seq in seqs {
        for order_tx in order_txs {
            let _ = order_tx.send(Order::Broadcast(seq as u32));
        }
        tokio::time::sleep(Duration::from_millis(interval_ms)).await;
    }
    let give_up = Instant::now() + Duration::from_secs(5);
    while shared.broadcast_received.get() < expected && Instant::now() < give_up {
        sleep_secs(0.05).await;
    }
}

/// `broadcast`: client 0 asks for `args.broadcasts` broadcasts, `args.interval_ms` apart; every
/// client records when each arrives. Time until all have it, one delivery, lost deliveries, the
/// servers' CPU per broadcast. Then, if `floor` > 0, as many floor rounds (the same frame to the
/// same clients, written by the server's floor loop) and the broadcast's time over the floor's;
/// `floor_txs` are the clients that ask for a floor round (one per server of a cluster).
#[allow(clippy::too_many_arguments)]
async fn broadcast_phase(
    shared: &Shared,
    order_tx: &mpsc::UnboundedSender<Order>,
    floor_txs: &[&mpsc::UnboundedSender<Order>],
    pids: &[u32],
    args: &Args,
    floor: usize,
    connected: usize,
    r: &mut serde_json::Map<String, Value>,
) {
    let broadcasts = args.broadcasts;
    let s0 = Sample::take(pids);
    send_broadcasts(shared, &[order_tx], 0..broadcasts, args.interval_ms, connected).await;
    let s1 = Sample::take(pids);
    let (complete, deliveries, lost) = delivery_times(shared, 0..broadcasts);
    let span = s0.span(&s1);
    r.insert("broadcasts".into(), json!(broadcasts));
    r.insert("all_have_it_p50_ms".into(), json!(percentile(&complete, 0.5) / 1000.0));
    r.insert("all_have_it_p99_ms".into(), json!(percentile(&complete, 0.99) / 1000.0));
    r.insert("all_have_it_max_ms".into(), json!(percentile(&complete, 1.0) / 1000.0));
    r.insert("delivery_p50_ms".into(), json!(percentile(&deliveries, 0.5) / 1000.0));
    r.insert("lost".into(), json!(lost));
    r.insert(
        "server_cpu_ms_per_broadcast".into(),
        json!(span.server * 1e3 / broadcasts as f64),
    );
    r.insert(
        "client_cpu_ms_per_broadcast".into(),
        json!(span.client * 1e3 / broadcasts as f64),
    );
    r.insert("span".into(), span.json());
    if floor > 0 {
        let f0 = Sample::take(pids);
        send_broadcasts(
            shared,
            floor_txs,
            broadcasts..broadcasts + floor,
            args.interval_ms,
            connected,
        )
        .await;
        let floor_span = f0.span(&Sample::take(pids));
        let (complete, deliveries, lost) = delivery_times(shared, broadcasts..broadcasts + floor);
        let floor_p50 = percentile(&complete, 0.5) / 1000.0;
        r.insert("floor_rounds".into(), json!(floor));
        r.insert("floor_all_have_it_p50_ms".into(), json!(floor_p50));
        r.insert(
            "floor_delivery_p50_ms".into(),
            json!(percentile(&deliveries, 0.5) / 1000.0),
        );
        r.insert("floor_lost".into(), json!(lost));
        r.insert(
            "floor_server_cpu_ms_per_round".into(),
            json!(floor_span.server * 1e3 / floor as f64),
        );
        let broadcast_p50 = r["all_have_it_p50_ms"].as_f64().unwrap_or(f64::NAN);
        r.insert("over_floor".into(), json!(broadcast_p50 / floor_p50));
    }
    r.insert("dropped".into(), json!(shared.dropped.get()));
}

/// `broadcast-ack`, `fetch-sockets`: client 0 sends `args.rounds` orders made by `order`, each
/// once the previous one is answered and `args.interval_ms` later. Round trip, what each answer
/// counted, the servers' CPU per round (between sending and the answer).
async fn rounds_phase(
    shared: &Shared,
    order_tx: &mpsc::UnboundedSender<Order>,
    pids: &[u32],
    args: &Args,
    order: fn(u32) -> Order,
    connected: usize,
    r: &mut serde_json::Map<String, Value>,
) {
    let asks_before = shared.asks_answered.get();
    let mut server_cpu = 0.0;
    let mut client_cpu = 0.0;
    for seq in 0..args.rounds {
        let s0 = Sample::take(pids);
        let _ = order_tx.send(order(seq as u32));
        let give_up = Instant::now() + Duration::from_secs(15);
        while shared.round_done_us.borrow()[seq] == u64::MAX && Instant::now() < give_up {
            let _ = tokio::time::timeout(Duration::from_millis(100), shared.round_done.notified()).await;
        }
        let span = s0.span(&Sample::take_end(pids));
        server_cpu += span.server;
        client_cpu += span.client;
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    let sent = shared.round_sent_us.borrow();
    let done = shared.round_done_us.borrow();
    let counts = shared.round_count.borrow();
    let mut took: Vec<u64> = Vec::new();
    let mut unanswered = 0u64;
    for seq in 0..args.rounds {
        if done[seq] == u64::MAX || sent[seq] == u64::MAX {
            unanswered += 1;
        } else {
            took.push(done[seq] - sent[seq]);
        }
    }
    took.sort_unstable();
    let per_round = connected as u64;
    let errors: Vec<String> = shared.round_error.borrow().iter().flatten().cloned().collect();
    r.insert("rounds".into(), json!(args.rounds));
    r.insert("unanswered_rounds".into(), json!(unanswered));
    r.insert("p50_ms".into(), json!(percentile(&took, 0.5) / 1000.0));
    r.insert("p99_ms".into(), json!(percentile(&took, 0.99) / 1000.0));
    r.insert("max_ms".into(), json!(percentile(&took, 1.0) / 1000.0));
    r.insert("counts".into(), json!(*counts));
    r.insert("count_min".into(), json!(counts.iter().min().copied().unwrap_or(0)));
    r.insert("dropped".into(), json!(shared.dropped.get()));
    if let Order::BroadcastWithAck(_) = order(0) {
        // Every round wants an ack from every connected client.
        let missing: u64 = counts.iter().map(|&c| per_round.saturating_sub(c)).sum();
        let acks = (args.rounds as u64 * per_round) as f64;
        r.insert("acks_missing".into(), json!(missing));
        r.insert("errors".into(), json!(errors));
        r.insert("asks_answered".into(), json!(shared.asks_answered.get() - asks_before));
        r.insert("server_cpu_us_per_ack".into(), json!(server_cpu * 1e6 / acks));
        r.insert("client_cpu_us_per_ack".into(), json!(client_cpu * 1e6 / acks));
    } else {
        r.insert(
            "server_cpu_ms_per_fetch".into(),
            json!(server_cpu * 1e3 / args.rounds as f64),
        );
        r.insert(
            "client_cpu_ms_per_fetch".into(),
            json!(client_cpu * 1e3 / args.rounds as f64),
        );
    }
}

async fn run(args: Args) -> Value {
    let pid = &args.server_pids[..];
    let broadcasts = match args.case.as_str() {
        "broadcast" | "cluster" => args.broadcasts,
        _ => 0,
    };
    let floor = match args.case.as_str() {
        "broadcast" | "cluster" => args.floor,
        _ => 0,
    };
    if args.case == "soak" {
        return soak(&args).await;
    }
    let rounds = match args.case.as_str() {
        "broadcast-ack" | "fetch-sockets" | "cluster" => args.rounds,
        _ => 0,
    };
    let clients = if args.case == "throughput" && args.clients == 1000 {
        10
    } else {
        args.clients
    };
    let shared = Shared::new(clients, broadcasts + floor, broadcasts, rounds);
    let (mode_tx, mode_rx) = watch::channel(Mode::Hold);
    let (order_tx, order_rx) = mpsc::unbounded_channel::<Order>();
    let base = server_state(pid);

    let before = Sample::take(pid);
    let sender = matches!(
        args.case.as_str(),
        "broadcast" | "broadcast-ack" | "fetch-sockets" | "cluster"
    )
    .then_some(order_rx);
    // The cluster's floor: client 1, a client of B, asks B for its floor rounds.
    let (second_tx, second_rx) = mpsc::unbounded_channel::<Order>();
    let mut senders: Vec<_> = sender.into_iter().collect();
    if args.case == "cluster" && floor > 0 {
        senders.push(second_rx);
    }
    let launched = connect_clients(
        &shared,
        &args.ports,
        clients,
        args.concurrency,
        args.transport,
        &mode_rx,
        senders,
    )
    .await;
    let connected_at = Sample::take(pid);
    let mut result = json!({
        "case": args.case,
        "transport": format!("{:?}", args.transport).to_lowercase(),
        "server_base": base,
        "connect": connect_json(&shared, launched, before.at),
        "connect_span": before.span(&connected_at).json(),
    });
    let connected = shared.connected.get();
    let r = result.as_object_mut().unwrap();

    match args.case.as_str() {
        "connect" => {
            // Let the server finish with the last `5` / `40` before reading its CPU.
            sleep_secs(0.2).await;
            let after = Sample::take(pid);
            let span = before.span(&after);
            r.insert(
                "server_cpu_us_per_conn".into(),
                json!(span.server * 1e6 / connected as f64),
            );
            r.insert("span".into(), span.json());
            r.insert("server_after".into(), server_state(pid));
        }
        "rtt" => {
            sleep_secs(1.0).await;
            let start = Instant::now() + Duration::from_millis(100);
            let end = start + Duration::from_secs_f64(args.duration);
            mode_tx.send_replace(Mode::Rtt {
                start,
                period: Duration::from_secs(1),
                end,
            });
            tokio::time::sleep_until(start.into()).await;
            let s0 = Sample::take(pid);
            tokio::time::sleep_until(end.into()).await;
            let s1 = Sample::take(pid);
            sleep_secs(2.0).await;
            let mut rtt = shared.rtt_us.borrow().clone();
            rtt.sort_unstable();
            r.insert("sent".into(), json!(shared.rtt_sent.get()));
            r.insert("acked".into(), json!(rtt.len()));
            r.insert("rtt_p50_ms".into(), json!(percentile(&rtt, 0.5) / 1000.0));
            r.insert("rtt_p90_ms".into(), json!(percentile(&rtt, 0.90) / 1000.0));
            r.insert("rtt_p99_ms".into(), json!(percentile(&rtt, 0.99) / 1000.0));
            r.insert("rtt_max_ms".into(), json!(percentile(&rtt, 1.0) / 1000.0));
            let slow = shared.rtt_slow.borrow();
            let start_ms = (start - shared.t0).as_millis() as u64;
            r.insert("rtt_over_10ms".into(), json!(slow.len()));
            // When the slow ones were sent (ms from the start of the rtt phase), the first 200.
            let when: Vec<Value> = slow
                .iter()
                .take(200)
                .map(|&(at, took, idx)| json!([at.saturating_sub(start_ms), took, idx]))
                .collect();
            r.insert("rtt_slow_sent_ms_took_ms_client".into(), json!(when));
            r.insert("span".into(), s0.span(&s1).json());
        }
        "throughput" => {
            sleep_secs(0.5).await;
            let window = Instant::now() + Duration::from_secs_f64(args.warmup);
            let end = window + Duration::from_secs_f64(args.duration);
            mode_tx.send_replace(Mode::Throughput {
                inflight: args.inflight,
                window,
                end,
                events: args.events,
            });
            tokio::time::sleep_until(window.into()).await;
            let s0 = Sample::take(pid);
            tokio::time::sleep_until(end.into()).await;
            let s1 = Sample::take(pid);
            let span = s0.span(&s1);
            let acks = shared.acks_window.get();
            r.insert("acks".into(), json!(acks));
            r.insert("acks_per_s".into(), json!(acks as f64 / span.wall));
            r.insert("server_cpu_us_per_ack".into(), json!(span.server * 1e6 / acks as f64));
            r.insert("client_cpu_us_per_ack".into(), json!(span.client * 1e6 / acks as f64));
            r.insert("span".into(), span.json());
        }
        "broadcast" => {
            sleep_secs(1.0).await;
            broadcast_phase(&shared, &order_tx, &[&order_tx], pid, &args, floor, connected, r).await;
        }
        "broadcast-ack" => {
            sleep_secs(1.0).await;
            rounds_phase(&shared, &order_tx, pid, &args, Order::BroadcastWithAck, connected, r).await;
        }
        "fetch-sockets" => {
            sleep_secs(1.0).await;
            rounds_phase(&shared, &order_tx, pid, &args, Order::FetchSockets, connected, r).await;
        }
        "cluster" => {
            // The same clients, both servers: first the broadcasts, then the fetches.
            sleep_secs(1.0).await;
            let mut broadcast = serde_json::Map::new();
            broadcast_phase(
                &shared,
                &order_tx,
                &[&order_tx, &second_tx],
                pid,
                &args,
                floor,
                connected,
                &mut broadcast,
            )
            .await;
            r.insert("broadcast".into(), Value::Object(broadcast));
            sleep_secs(0.5).await;
            let mut fetch = serde_json::Map::new();
            rounds_phase(
                &shared,
                &order_tx,
                pid,
                &args,
                Order::FetchSockets,
                connected,
                &mut fetch,
            )
            .await;
            r.insert("fetch".into(), Value::Object(fetch));
        }
        "idle" | "scale" => {
            sleep_secs(1.0).await;
            let s0 = Sample::take(pid);
            let held_from = Instant::now();
            let dropped_before = shared.dropped.get();
            sleep_secs(args.hold).await;
            let s1 = Sample::take(pid);
            let state = server_state(pid);
            let span = s0.span(&s1);
            let alive = shared.alive.borrow();
            let pings = shared.pings.borrow();
            let held_pings: Vec<u64> = (0..clients).filter(|&i| alive[i]).map(|i| pings[i] as u64).collect();
            let rss = state["rss_kb"].as_u64().unwrap_or(0) as f64;
            let base_rss = base["rss_kb"].as_u64().unwrap_or(0) as f64;
            r.insert("hold_s".into(), json!(held_from.elapsed().as_secs_f64()));
            r.insert("held".into(), json!(held_pings.len()));
            r.insert("dropped".into(), json!(shared.dropped.get()));
            r.insert(
                "dropped_while_held".into(),
                json!(shared.dropped.get() - dropped_before),
            );
            let drops: Vec<Value> = shared
                .drops
                .borrow()
                .iter()
                .take(50)
                .map(|&(at, idx, pings)| {
                    json!({ "at_s": at as f64 / 1000.0, "client": idx, "pings_answered": pings,
                        "connected_at_s": shared.connected_at_ms.borrow()[idx] as f64 / 1000.0 })
                })
                .collect();
            r.insert("drops".into(), json!(drops));
            r.insert("pings_min".into(), json!(held_pings.iter().min().copied().unwrap_or(0)));
            r.insert(
                "pings_total".into(),
                json!(pings.iter().map(|&p| p as u64).sum::<u64>()),
            );
            r.insert("server_after".into(), state.clone());
            r.insert("rss_per_client_kb".into(), json!((rss - base_rss) / connected as f64));
            r.insert("threads".into(), state["threads"].clone());
            let base_threads = base["threads"].as_u64().unwrap_or(0) as f64;
            let threads = state["threads"].as_u64().unwrap_or(0) as f64;
            r.insert(
                "threads_per_client".into(),
                json!((threads - base_threads) / connected as f64),
            );
            r.insert("fds".into(), state["fds"].clone());
            r.insert("idle_cpu_pct".into(), json!(100.0 * span.server / span.wall));
            r.insert("span".into(), span.json());
        }
        other => {
            r.insert("error".into(), json!(format!("unknown case {other}")));
        }
    }
    result
}

// ---------------------------------------------------------------------------------------------
// soak: sessions churned in batches

/// How one soak session connects; every fourth one (whatever its transport) vanishes instead of
/// saying goodbye.
#[derive(Clone, Copy, Debug)]
enum SoakKind {
    Polling,
    WebSocket,
    Upgrade,
}

/// What the soak sessions of one batch did.
#[derive(Default)]
struct SoakStats {
    ok: Cell<usize>,
    failed: Cell<usize>,
    acks: Cell<u64>,
    first_error: RefCell<Option<String>>,
    /// When the last session of the batch said its last word (a goodbye, or nothing more).
    last_active: Cell<Option<Instant>>,
}

impl SoakStats {
    fn active_now(&self) {
        self.last_active.set(Some(Instant::now()));
    }
}

/// A soak session longer than this failed.
const SOAK_SESSION_TIMEOUT: Duration = Duration::from_secs(20);

/// `pingInterval` + `pingTimeout` from an open packet's JSON, in ms.
fn heartbeat_of(open: &str) -> u64 {
    let json: Value = serde_json::from_str(open.trim_start_matches('0')).unwrap_or(Value::Null);
    json["pingInterval"].as_u64().unwrap_or(0) + json["pingTimeout"].as_u64().unwrap_or(0)
}

/// One soak session: connect, `emits` acked emits one after the other, then goodbye (`41`, then
/// Engine.IO's `1`), or, if `vanish`, not a word more: a polling client just stops polling (the
/// server hears nothing until its ping times out); a WebSocket client keeps its connection open
/// and answers nothing, until the server's ping timeout closes it.
///
/// Returns the silent WebSocket of a vanishing client, for the caller to hold until the server
/// closes it.
async fn soak_session(
    port: u16,
    n: usize,
    kind: SoakKind,
    emits: usize,
    vanish: bool,
    stats: &SoakStats,
) -> Result<Option<Ws>, Error> {
    match kind {
        SoakKind::Polling => {
            let (mut http, sid) = connect_polling(port, n).await?;
            let path = polling_path(&sid);
            for id in 0..emits as u64 {
                post_packets(port, &sid, &format!("42{id}[\"message-with-ack\",{id}]")).await?;
                let ack = format!("43{id}[{id}]");
                'wait: loop {
                    let (status, body) = http.request("GET", &path, None).await?;
                    if status != 200 {
                        return Err(format!("poll: {status} {body}").into());
                    }
                    for packet in body.split('\x1e') {
                        if packet == ack {
                            stats.acks.set(stats.acks.get() + 1);
                            break 'wait;
                        } else if packet == "2" {
                            post_packets(port, &sid, "3").await?;
                        } else if packet == "1" {
                            return Err("closed by the server".into());
                        }
                    }
                }
            }
            if !vanish {
                post_packets(port, &sid, "41\x1e1").await?;
            }
            stats.active_now();
            // Vanishing: no GET is held, so the server hears nothing until its ping times out.
            drop(http);
        }
        SoakKind::WebSocket | SoakKind::Upgrade => {
            let mut ws = match kind {
                SoakKind::Upgrade => connect_upgrade(port, n).await?,
                _ => connect_websocket(port).await?,
            };
            for id in 0..emits as u64 {
                ws.send(emit_with_ack(id)).await?;
                let ack = format!("43{id}[{id}]");
                loop {
                    let packet = next_text(&mut ws).await?;
                    if packet == ack {
                        stats.acks.set(stats.acks.get() + 1);
                        break;
                    } else if packet == "2" {
                        ws.send(Message::text("3")).await?;
                    }
                }
            }
            stats.active_now();
            if vanish {
                return Ok(Some(ws));
            }
            ws.send(Message::text("41")).await?;
            ws.send(Message::text("1")).await?;
            let _ = ws.close(None).await;
        }
    }
    Ok(None)
}

/// A vanished WebSocket client: silent, its connection open, until the server gives up on it
/// (its ping timeout) and closes it.
async fn stay_silent(mut ws: Ws) {
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Close(_) = message {
            break;
        }
    }
}

/// Runs the soak sessions numbered `range`, `concurrency` at a time, and waits for all of them.
async fn soak_batch(port: u16, range: std::ops::Range<usize>, concurrency: usize, emits: usize) -> Rc<SoakStats> {
    let stats = Rc::new(SoakStats::default());
    let gate = std::sync::Arc::new(Semaphore::new(concurrency));
    let done = Rc::new(Notify::new());
    let finished = Rc::new(Cell::new(0usize));
    let total = range.len();
    for n in range {
        let permit = gate.clone().acquire_owned().await.expect("semaphore");
        let (stats, done, finished) = (stats.clone(), done.clone(), finished.clone());
        tokio::task::spawn_local(async move {
            let kind = [SoakKind::Polling, SoakKind::WebSocket, SoakKind::Upgrade][n % 3];
            let vanish = n % 4 == 3;
            let session = soak_session(port, n, kind, emits, vanish, &stats);
            match tokio::time::timeout(SOAK_SESSION_TIMEOUT, session).await {
                Ok(Ok(silent)) => {
                    stats.ok.set(stats.ok.get() + 1);
                    if let Some(ws) = silent {
                        // The next session may start: this one only waits now.
                        drop(permit);
                        let _ = tokio::time::timeout(SOAK_SESSION_TIMEOUT, stay_silent(ws)).await;
                    }
                }
                failure => {
                    stats.failed.set(stats.failed.get() + 1);
                    let error = match failure {
                        Ok(Err(e)) => format!("{kind:?}: {e}"),
                        _ => format!("{kind:?}: timed out"),
                    };
                    stats.first_error.borrow_mut().get_or_insert(error);
                }
            }
            finished.set(finished.get() + 1);
            done.notify_one();
        });
    }
    while finished.get() < total {
        done.notified().await;
    }
    stats
}

/// Waits (up to `limit` s) until the server has `threads` threads; the seconds it took, or `None`.
async fn wait_for_threads(pid: u32, threads: u64, limit: f64) -> Option<f64> {
    let started = Instant::now();
    loop {
        if rss_and_threads(pid).1 == threads {
            return Some(started.elapsed().as_secs_f64());
        }
        if started.elapsed().as_secs_f64() > limit {
            return None;
        }
        sleep_secs(0.02).await;
    }
}

/// soak: `rounds` rounds of `sessions` sessions (polling, WebSocket, upgraded in turn; every fourth
/// vanishing without a goodbye), each with `emits` acked emits. After the first 10,000 sessions of
/// each round and after the whole round, it waits for the server's threads to come back to their
/// starting count and reads its RSS.
async fn soak(args: &Args) -> Value {
    // One server: the first.
    let (port, pid) = (args.ports[0], args.server_pids[0]);
    let base = server_state(&[pid]);
    let base_threads = base["threads"].as_u64().unwrap_or(0);
    // The heartbeat, from one handshake.
    let heartbeat_ms = match Http::connect(port).await {
        Ok(mut http) => match http.request("GET", "/socket.io/?EIO=4&transport=polling", None).await {
            Ok((_, body)) => heartbeat_of(&body),
            Err(_) => 0,
        },
        Err(_) => 0,
    };
    let first = args.sessions.min(10_000);
    let mut rounds = Vec::new();
    for round in 0..args.rounds {
        let started = Instant::now();
        let cpu_before = Sample::take(&[pid]);
        let mut figures = serde_json::Map::new();
        let mut ok = 0;
        let mut failed = 0;
        let mut acks = 0;
        let mut first_error: Option<String> = None;
        let mut churn_s = 0.0;
        for (label, range) in [("first", 0..first), ("rest", first..args.sessions)] {
            if range.is_empty() {
                continue;
            }
            let batch_started = Instant::now();
            let stats = soak_batch(port, range, args.concurrency, args.emits).await;
            churn_s += batch_started.elapsed().as_secs_f64();
            ok += stats.ok.get();
            failed += stats.failed.get();
            acks += stats.acks.get();
            if first_error.is_none() {
                first_error = stats.first_error.borrow().clone();
            }
            // Threads back: counted from the last word of the batch's last session.
            let back = wait_for_threads(pid, base_threads, args.settle).await;
            let back = back.map(|_| stats.last_active.get().map_or(0.0, |at| at.elapsed().as_secs_f64()));
            // The RSS once every session is over: a vanished polling client holds no thread, and
            // its session ends at its ping timeout, at most one heartbeat after its last word.
            if let Some(at) = stats.last_active.get() {
                let all_over = at + Duration::from_millis(heartbeat_ms + 500);
                tokio::time::sleep_until(all_over.into()).await;
            }
            let state = server_state(&[pid]);
            figures.insert(format!("threads_back_after_{label}_s"), json!(back));
            figures.insert(format!("rss_after_{label}_kb"), state["rss_kb"].clone());
            figures.insert(format!("threads_after_{label}"), state["threads"].clone());
            figures.insert(format!("fds_after_{label}"), state["fds"].clone());
        }
        let wall = started.elapsed().as_secs_f64();
        let span = cpu_before.span(&Sample::take(&[pid]));
        figures.insert(
            "server_cpu_us_per_session".into(),
            json!(span.server * 1e6 / args.sessions as f64),
        );
        figures.insert("span".into(), span.json());
        figures.insert("round".into(), json!(round + 1));
        figures.insert("sessions".into(), json!(args.sessions));
        figures.insert("ok".into(), json!(ok));
        figures.insert("failed".into(), json!(failed));
        figures.insert("acks".into(), json!(acks));
        figures.insert("first_error".into(), json!(first_error));
        figures.insert("wall_s".into(), json!(wall));
        // Sessions per second while churning (the waits for the threads left out).
        figures.insert("sessions_per_s".into(), json!(args.sessions as f64 / churn_s));
        rounds.push(Value::Object(figures));
    }
    let kb = |round: usize, key: &str| rounds.get(round).and_then(|r| r[key].as_f64()).unwrap_or(f64::NAN);
    // RSS at the end of a round (after its last batch).
    let at_end = |round: usize| {
        let rest = kb(round, "rss_after_rest_kb");
        if rest.is_nan() {
            kb(round, "rss_after_first_kb")
        } else {
            rest
        }
    };
    let after_first = kb(0, "rss_after_first_kb");
    let after_all = at_end(rounds.len().saturating_sub(1));
    let back_max = rounds
        .iter()
        .flat_map(|r| ["threads_back_after_first_s", "threads_back_after_rest_s"].map(|k| r[k].as_f64()))
        .flatten()
        .fold(0.0, f64::max);
    let never_back = rounds.iter().any(|r| {
        r["threads_back_after_first_s"].is_null() || r.get("threads_back_after_rest_s").is_some_and(Value::is_null)
    });
    let failed: u64 = rounds.iter().map(|r| r["failed"].as_u64().unwrap_or(0)).sum();
    let mean = |key: &str| rounds.iter().filter_map(|r| r[key].as_f64()).sum::<f64>() / rounds.len().max(1) as f64;
    json!({
        "case": "soak",
        "server_base": base,
        "heartbeat_ms": heartbeat_ms,
        "rounds": rounds,
        "rss_after_first_10k_kb": after_first,
        "rss_after_all_kb": after_all,
        "rss_growth_pct": 100.0 * (after_all - after_first) / after_first,
        "round2_added_kb": if rounds.len() >= 2 { at_end(1) - at_end(0) } else { f64::NAN },
        "threads_back_max_s": if never_back { Value::Null } else { json!(back_max) },
        "threads_back_over_heartbeat": if never_back { Value::Null } else { json!(back_max * 1000.0 / heartbeat_ms as f64) },
        "failed": failed,
        "sessions_per_s": mean("sessions_per_s"),
        "server_cpu_us_per_session": mean("server_cpu_us_per_session"),
        "server_after": server_state(&[pid]),
    })
}

fn main() {
    let nofile = raise_nofile();
    let args = match Args::parse() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let mut result = local.block_on(&runtime, run(args));
    result["client_nofile"] = json!(nofile);
    println!("{result}");
    // Exit without tearing down thousands of tasks: the kernel closes the sockets.
    std::process::exit(0);
}
