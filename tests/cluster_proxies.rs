//! Sticky sessions (issue 10): two of our servers on one Redis behind the load balancers of
//! `examples/cluster/`, official `socket.io-client`s through them (`tests/node/cluster/
//! proxies.mjs`), each connecting by polling and then upgrading to WebSocket.
//!
//! - nginx (`hash $remote_addr consistent`): clients sending from 127.0.0.2, 127.0.0.3, ... are
//!   spread over both servers, each stays on one, they get each other's broadcasts across the
//!   servers, and no HTTP answer is `{"code":1,"message":"Session ID unknown"}`;
//! - HAProxy (`cookie serverid insert`): the same, the Node clients with `withCredentials: true`;
//! - the controls that prove those tests can fail: nginx without its `hash` line (round robin),
//!   and HAProxy with clients that do not keep its cookie, lose the session at the second request;
//! - `examples/cluster/run`, the script of the README, with two chapter servers: the chapter's
//!   `news` through each balancer, each client's own address in the chapter's log line (from
//!   `X-Forwarded-For`), and Ctrl-C stops everything.
//!
//! Needs Node.js with the pinned npm packages, `redis-server`, `nginx` and `haproxy` (Debian's:
//! `apt-get install redis-server nginx haproxy`); without them these tests fail, they never skip.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::EchoServer;
use support::cluster::ours;
use support::proxies::{Kind, LoadBalancer};
use support::redis_server::{RedisServer, free_port};

/// What a server answers a request of a session it does not hold (engine.io's `abortRequest`).
const SESSION_ID_UNKNOWN: &str = r#"{"code":1,"message":"Session ID unknown"}"#;

/// The line of nginx.conf that makes it sticky.
const HASH_LINE: &str = "hash $remote_addr consistent;";

/// How many clients go through nginx: each from its own address, so that with two servers on
/// the hash ring the chance that all land on one is 2^-23.
const NGINX_CLIENTS: usize = 24;

/// Two of ours (`examples/interop --redis`, with its `broadcast` handler) on one Redis.
struct Cluster {
    _redis: RedisServer,
    a: EchoServer,
    b: EchoServer,
}

impl Cluster {
    fn start() -> Cluster {
        let redis = RedisServer::start();
        let a = ours(&redis, "a", &[]);
        let b = ours(&redis, "b", &[]);
        Cluster { _redis: redis, a, b }
    }

    fn ports(&self) -> [u16; 2] {
        [self.a.port, self.b.port]
    }
}

/// What `proxies.mjs` reports.
struct Report {
    clients: Vec<Value>,
    answers: Vec<Value>,
}

impl Report {
    /// The answers client `index` got, in the order they came.
    fn answers_of(&self, index: usize) -> Vec<&Value> {
        self.answers
            .iter()
            .filter(|answer| answer["client"].as_u64() == Some(index as u64))
            .collect()
    }

    /// Every answer, one per line, for failure messages.
    fn show_answers(&self) -> String {
        let lines: Vec<String> = self.answers.iter().map(Value::to_string).collect();
        lines.join("\n")
    }
}

/// Runs `tests/node/cluster/proxies.mjs` against `url` with `env` (CLIENTS, LOCAL_ADDRESSES,
/// WITH_CREDENTIALS, EVENT).
fn run_clients(url: &str, env: &[(&str, &str)]) -> Report {
    let mut command = support::tools::node();
    command.arg("tests/node/cluster/proxies.mjs").env("PROXY", url);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "proxies.mjs failed:\n{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("proxies.mjs printed no JSON ({e}):\n{stdout}\n{stderr}"));
    Report {
        clients: report["clients"].as_array().expect("clients").clone(),
        answers: report["answers"].as_array().expect("answers").clone(),
    }
}

/// Every client connected, upgraded to WebSocket after polling, and got every client's broadcast
/// (or the chapter's `news` when `event` is "news"); every HTTP answer was a polling 200 or the
/// WebSocket's 101, none `Session ID unknown`.
fn assert_sticky(report: &Report, event: &str) {
    let count = report.clients.len();
    for client in &report.clients {
        let index = client["index"].as_u64().unwrap() as usize;
        assert_eq!(client["connected"], true, "client {client}:\n{}", report.show_answers());
        assert_eq!(client["transport"], "websocket", "client {client} did not upgrade");
        let expected: Vec<Value> = if event == "news" {
            vec![Value::from("Hello Socket.IO")]
        } else {
            (0..count).map(Value::from).collect()
        };
        assert_eq!(client["got"].as_array().unwrap(), &expected, "client {client}");
        // Polling first (the handshake GET, the CONNECT's POST, a GET with the CONNECT's answer),
        // then one WebSocket handshake.
        let answers = report.answers_of(index);
        let polling = answers
            .iter()
            .filter(|a| a["path"].as_str().unwrap().contains("transport=polling"));
        assert!(polling.count() >= 3, "client {index}: {answers:?}");
        let upgrades: Vec<_> = answers.iter().filter(|a| a["status"] == 101).collect();
        assert_eq!(upgrades.len(), 1, "client {index}: {answers:?}");
        assert!(
            upgrades[0]["path"]
                .as_str()
                .unwrap()
                .contains("transport=websocket&sid="),
            "{upgrades:?}"
        );
    }
    for answer in &report.answers {
        let status = answer["status"].as_u64().unwrap();
        let websocket = answer["path"].as_str().unwrap().contains("transport=websocket");
        assert_eq!(status, if websocket { 101 } else { 200 }, "{}", report.show_answers());
        assert_ne!(answer["body"], SESSION_ID_UNKNOWN);
    }
}

/// Which server each client's socket is on, from the servers' logs (`<sid>: socket <id>
/// connected to /`); fails unless each is on exactly one, and both servers have some.
fn servers_of(report: &Report, cluster: &Cluster) -> Vec<&'static str> {
    let mut on = Vec::new();
    for client in &report.clients {
        let id = client["id"].as_str().expect("a connected client has an id");
        let line = format!("socket {id} connected to /");
        let in_a = cluster.a.log().contains(&line);
        let in_b = cluster.b.log().contains(&line);
        assert!(in_a != in_b, "socket {id}: on a: {in_a}, on b: {in_b}");
        on.push(if in_a { "a" } else { "b" });
    }
    assert!(
        on.contains(&"a") && on.contains(&"b"),
        "the clients were not spread over both servers: {on:?}"
    );
    for server in [&cluster.a, &cluster.b] {
        assert!(!server.log().contains("Session ID unknown"), "{}", server.log());
    }
    on
}

#[test]
fn nginx_keeps_each_client_on_one_server_by_its_address() {
    let cluster = Cluster::start();
    let nginx = LoadBalancer::start(Kind::Nginx, cluster.ports());
    let clients = NGINX_CLIENTS.to_string();
    let report = run_clients(&nginx.url(), &[("CLIENTS", &clients), ("LOCAL_ADDRESSES", "1")]);
    assert_sticky(&report, "broadcast");
    servers_of(&report, &cluster);

    // nginx's access log: `127.0.0.2 "GET /socket.io/?EIO=4&transport=polling&t=... HTTP/1.1"
    // 200 upstream=127.0.0.1:PORT`. Every address went to one server, all of its requests.
    let mut upstreams: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let log = nginx.access_log();
    for line in log.lines() {
        let address = line.split(' ').next().unwrap().to_string();
        let upstream = line.rsplit("upstream=").next().unwrap().to_string();
        upstreams.entry(address).or_default().insert(upstream);
    }
    assert_eq!(upstreams.len(), NGINX_CLIENTS, "{log}");
    for (address, servers) in &upstreams {
        assert_eq!(servers.len(), 1, "{address} reached {servers:?}:\n{log}");
    }
    let used: BTreeSet<&String> = upstreams.values().flatten().collect();
    assert_eq!(used.len(), 2, "{log}");
}

#[test]
fn haproxy_keeps_each_client_on_one_server_by_its_cookie() {
    let cluster = Cluster::start();
    let haproxy = LoadBalancer::start(Kind::HaProxy, cluster.ports());
    let report = run_clients(&haproxy.url(), &[("CLIENTS", "6"), ("WITH_CREDENTIALS", "1")]);
    assert_sticky(&report, "broadcast");
    let on = servers_of(&report, &cluster);

    // The handshake's answer sets the cookie of the server that made the session; every later
    // request of that client carries it, and HAProxy takes it off before the server sees it.
    for (index, server) in on.iter().enumerate() {
        let answers = report.answers_of(index);
        assert_eq!(answers[0]["cookie"], Value::Null, "{answers:?}");
        assert_eq!(
            answers[0]["setCookie"],
            serde_json::json!([format!("serverid={server}; path=/")]),
            "{answers:?}"
        );
        for answer in &answers[1..] {
            assert_eq!(answer["cookie"], format!("serverid={server}"), "{answers:?}");
        }
    }
    for server in [&cluster.a, &cluster.b] {
        assert!(!server.log().contains("serverid"), "the cookie reached a server");
    }
}

/// The failure the sticky tests guard against: each client lost its session at the second
/// request, which a server that does not hold it answered `400 Session ID unknown`.
fn assert_sessions_lost(report: &Report, cluster: &Cluster) {
    for client in &report.clients {
        let index = client["index"].as_u64().unwrap() as usize;
        assert_eq!(client["connected"], false, "client {client}");
        let answers = report.answers_of(index);
        assert_eq!(answers[0]["status"], 200, "the handshake: {answers:?}");
        assert!(
            answers
                .iter()
                .any(|answer| answer["status"] == 400 && answer["body"] == SESSION_ID_UNKNOWN),
            "client {index}: {answers:?}"
        );
    }
    let logs = format!("{}\n{}", cluster.a.log(), cluster.b.log());
    assert!(logs.contains("error 1 Session ID unknown"), "{logs}");
}

#[test]
fn control_nginx_without_its_hash_line_loses_polling_sessions() {
    let template = Kind::Nginx.template();
    assert!(template.contains(HASH_LINE));
    let round_robin = template.replace(HASH_LINE, "");
    let cluster = Cluster::start();
    let nginx = LoadBalancer::start_with(Kind::Nginx, &round_robin, cluster.ports());
    // One client: two at once could interleave so that each of its requests comes round to
    // its own server in turn (seen with HAProxy: a client that kept its session).
    let report = run_clients(&nginx.url(), &[("CLIENTS", "1"), ("LOCAL_ADDRESSES", "1")]);
    assert_sessions_lost(&report, &cluster);
}

#[test]
fn control_haproxy_clients_without_credentials_lose_their_session() {
    // Node's client keeps no cookie unless `withCredentials: true`: the request after the
    // handshake comes without `serverid`, and HAProxy sends it to the next server in turn.
    let cluster = Cluster::start();
    let haproxy = LoadBalancer::start(Kind::HaProxy, cluster.ports());
    // One client, whose requests after the handshake (its POST of `40` and its GET, at once)
    // go to both servers in turn, so one of them lands where its session is not. With two
    // clients the turns could interleave so that each client's requests all came round to its
    // own server: a run where client 1 kept its session (2026-12-02).
    let report = run_clients(&haproxy.url(), &[("CLIENTS", "1"), ("WITH_CREDENTIALS", "0")]);
    assert_sessions_lost(&report, &cluster);
    for answer in &report.answers {
        assert_eq!(answer["cookie"], Value::Null, "{}", report.show_answers());
    }
}

// ----- examples/cluster/run -------------------------------------------------------------------

/// `examples/cluster/run` as a child process, its output (the servers' lines as `[a] ...`,
/// `[b] ...`, nginx's access log as `[nginx] ...`) kept.
struct RunScript {
    child: std::process::Child,
    output: Arc<Mutex<Vec<String>>>,
    ports: [u16; 4],
}

impl RunScript {
    /// `examples/cluster/run [--haproxy]` on free ports, the chapter's servers from the debug
    /// build with a 200 ms `news`; returns once it printed `ready`. A port taken by someone else
    /// between our probe and the script's bind makes one of its processes exit, and the script
    /// with it: then again on other ports.
    fn start(haproxy: bool) -> RunScript {
        for _attempt in 0..3 {
            let mut script = RunScript::spawn(haproxy);
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if script.output().lines().any(|line| line == "ready") {
                    return script;
                }
                if matches!(script.child.try_wait(), Ok(Some(_))) {
                    eprintln!("examples/cluster/run exited before it was ready:\n{}", script.output());
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "run is not ready after 60 s:\n{}",
                    script.output()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("examples/cluster/run did not start on 3 sets of free ports");
    }

    fn spawn(haproxy: bool) -> RunScript {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let server = format!(
            "{} --news-interval 200 --log-level debug",
            env!("CARGO_BIN_EXE_socketio_book")
        );
        let mut command = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/run"));
        if haproxy {
            command.arg("--haproxy");
        }
        command
            .args(["--port", &ports[0].to_string()])
            .args(["--server-ports", &format!("{},{}", ports[1], ports[2])])
            .args(["--redis-port", &ports[3].to_string()])
            .args(["--server", &server])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start examples/cluster/run");
        let output = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        RunScript { child, output, ports }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }

    /// Waits until a line is `line` (or contains it).
    fn wait_for(&self, line: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.output.lock().unwrap().iter().any(|l| l.contains(line)) {
            assert!(
                Instant::now() < deadline,
                "no {line:?} within {within:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C: SIGINT to the script; it stops everything and exits.
    fn interrupt(mut self) {
        support::signal(self.child.id(), "INT");
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) {
            assert!(Instant::now() < deadline, "run did not stop:\n{}", self.output());
            std::thread::sleep(Duration::from_millis(20));
        }
        self.wait_for("run: stopping", Duration::from_secs(1));
        for port in self.ports {
            assert!(
                TcpStream::connect(("127.0.0.1", port)).is_err(),
                "port {port} still answers after Ctrl-C:\n{}",
                self.output()
            );
        }
    }
}

impl Drop for RunScript {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            support::signal(self.child.id(), "TERM");
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("----- examples/cluster/run -----\n{}", self.output());
        }
    }
}

/// The chapter's `news` reached every client through the script's balancer, and each client's
/// connection line (`새로운 클라이언트 접속! <ip> <socket id>`) shows the client's own address,
/// which the server read from `X-Forwarded-For`, on the server that holds it.
fn assert_chapter_behind(script: &RunScript, report: &Report) {
    assert_sticky(report, "news");
    let mut servers = BTreeSet::new();
    for client in &report.clients {
        let id = client["id"].as_str().unwrap();
        let address = client["localAddress"].as_str().unwrap_or("127.0.0.1");
        let line = format!("새로운 클라이언트 접속! {address} {id}");
        script.wait_for(&line, Duration::from_secs(5));
        let output = script.output();
        let found = output.lines().find(|l| l.contains(&line)).unwrap();
        servers.insert(found[..3].to_string());
    }
    let both = BTreeSet::from(["[a]".to_string(), "[b]".to_string()]);
    assert_eq!(servers, both, "{}", script.output());
}

#[test]
fn the_run_script_serves_the_chapter_behind_nginx_and_stops_on_ctrl_c() {
    let script = RunScript::start(false);
    let url = format!("http://127.0.0.1:{}", script.ports[0]);
    let clients = NGINX_CLIENTS.to_string();
    let report = run_clients(
        &url,
        &[("CLIENTS", &clients), ("LOCAL_ADDRESSES", "1"), ("EVENT", "news")],
    );
    assert_chapter_behind(&script, &report);
    // nginx's access log, printed by the script.
    script.wait_for(
        "[nginx] 127.0.0.2 \"GET /socket.io/?EIO=4&transport=polling",
        Duration::from_secs(5),
    );
    script.interrupt();
}

#[test]
fn the_run_script_serves_the_chapter_behind_haproxy_and_stops_on_ctrl_c() {
    let script = RunScript::start(true);
    let url = format!("http://127.0.0.1:{}", script.ports[0]);
    let report = run_clients(&url, &[("CLIENTS", "4"), ("WITH_CREDENTIALS", "1"), ("EVENT", "news")]);
    assert_chapter_behind(&script, &report);
    script.interrupt();
}
