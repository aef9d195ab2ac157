//! nginx and HAProxy for a test (`tests/cluster_proxies.rs`): Debian's binaries, run as the
//! current user from the templates of `examples/cluster/` (the files `examples/cluster/run`
//! uses), on a free port, everything they write in a temporary directory; stopped on drop.
//!
//! ```text
//! nginx   -p DIR -c DIR/nginx.conf -g 'daemon off;'     DIR holds its pid, logs, temp files
//! haproxy -f DIR/haproxy.cfg -db                        in the foreground, writes nothing
//! ```

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis_server::free_port;

/// Which load balancer, with the template it is started from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `examples/cluster/nginx.conf`: sticky by `hash $remote_addr consistent`.
    Nginx,
    /// `examples/cluster/haproxy.cfg`: sticky by the `serverid` cookie.
    HaProxy,
}

impl Kind {
    fn program(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::HaProxy => "haproxy",
        }
    }

    fn config_name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx.conf",
            Kind::HaProxy => "haproxy.cfg",
        }
    }

    /// The shipped template, `examples/cluster/nginx.conf` or `haproxy.cfg`.
    pub fn template(self) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/cluster")
            .join(self.config_name());
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `/usr/sbin/nginx` (or on `PATH`), or a failure with the command that installs it.
    fn binary(self) -> PathBuf {
        let name = self.program();
        let debian = Path::new("/usr/sbin").join(name);
        if debian.exists() {
            return debian;
        }
        match Command::new(name).arg("-v").output() {
            Ok(output) if output.status.success() => PathBuf::from(name),
            _ => panic!("{name} is missing: apt-get install {name} (the sticky-session tests start their own)"),
        }
    }
}

/// `template` with `{{PORT}}`, `{{SERVER_A}}` and `{{SERVER_B}}` filled in, as
/// `examples/cluster/run` does with sed.
pub fn fill(template: &str, port: u16, servers: [u16; 2]) -> String {
    template
        .replace("{{PORT}}", &port.to_string())
        .replace("{{SERVER_A}}", &servers[0].to_string())
        .replace("{{SERVER_B}}", &servers[1].to_string())
}

/// A running nginx or HAProxy in front of two servers.
pub struct LoadBalancer {
    kind: Kind,
    child: Option<Child>,
    /// Where it listens (all addresses; the tests connect to 127.0.0.1).
    pub port: u16,
    dir: PathBuf,
}

impl LoadBalancer {
    /// The shipped configuration of `kind` in front of the servers on these ports.
    pub fn start(kind: Kind, servers: [u16; 2]) -> LoadBalancer {
        LoadBalancer::start_with(kind, &kind.template(), servers)
    }

    /// `template` (a variant of the shipped one) in front of the servers on these ports.
    pub fn start_with(kind: Kind, template: &str, servers: [u16; 2]) -> LoadBalancer {
        let binary = kind.binary();
        for _attempt in 0..5 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!(
                "socketio-book-{}-{}-{port}",
                kind.program(),
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create the load balancer's directory");
            let config = dir.join(kind.config_name());
            std::fs::write(&config, fill(template, port, servers)).expect("write the configuration");
            let mut command = Command::new(&binary);
            match kind {
                Kind::Nginx => command
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(&config)
                    .args(["-g", "daemon off;"]),
                Kind::HaProxy => command.arg("-f").arg(&config).arg("-db"),
            };
            let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr.log");
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
            let mut balancer = LoadBalancer {
                kind,
                child: Some(child),
                port,
                dir,
            };
            // Another process may take the port between our probe and its bind: then it exits,
            // and we try another port.
            if balancer.wait_until_listening() {
                return balancer;
            }
        }
        panic!("{} did not start on 5 free ports", kind.program());
    }

    /// True once it accepts connections; false if it exited first.
    fn wait_until_listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let child = self.child.as_mut().expect("running");
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("{} exited ({status}):\n{}", self.kind.program(), self.logs());
                self.child = None;
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "{} is not listening on port {} after 10 s:\n{}",
                self.kind.program(),
                self.port,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// nginx's access log (`log_format sticky`: `$remote_addr "$request" $status
    /// upstream=$upstream_addr`), one line per request; empty for HAProxy.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Its standard error and, for nginx, its error log.
    pub fn logs(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // nginx's master must stop its worker itself: SIGTERM (a SIGKILL would leave the
            // worker running, holding the port). HAProxy is one process; SIGTERM stops it too.
            super::signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "----- {} (port {}) -----\n{}",
                self.kind.program(),
                self.port,
                self.logs()
            );
            let access = self.access_log();
            if !access.is_empty() {
                eprintln!("----- nginx access log -----\n{access}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
