//! Running out of file descriptors is logged and survived: `accept()` fails with EMFILE, the
//! accept loop backs off instead of spinning, and once connections close it serves again.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// CPU time (user + system) of process `pid` so far, from `/proc/PID/stat`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The fields after the `(comm)`; utime and stime are the 14th and 15th fields overall.
    let after_comm = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let utime: u64 = fields[11].parse().unwrap();
    let stime: u64 = fields[12].parse().unwrap();
    utime + stime
}

/// `engine_echo` started under `ulimit -n <fds>`; returns the child, its port and its log.
fn start_with_fd_limit(fds: u32) -> (Child, u16, Arc<Mutex<String>>) {
    let binary = support::example_binary("engine_echo");
    let script = format!("ulimit -n {fds} && exec \"$0\" --port 0 --log-level debug");
    let mut child = Command::new("bash")
        .args(["-c", &script])
        .arg(&binary)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start engine_echo");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).expect("read the listening line");
    let port: u16 = first.trim().rsplit(':').next().unwrap().parse().expect("port");
    thread::spawn(move || {
        let _ = std::io::copy(&mut stdout, &mut std::io::sink());
    });
    (child, port, log)
}

/// A polling handshake; `Some(body)` when it was answered 200 within `timeout`.
fn try_handshake(port: u16, timeout: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let request = "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    if answer.starts_with("HTTP/1.1 200 OK") {
        answer.split("\r\n\r\n").nth(1).map(|body| body.to_string())
    } else {
        None
    }
}

#[test]
fn out_of_file_descriptors_is_logged_survived_and_does_not_spin() {
    let (mut child, port, log) = start_with_fd_limit(48);
    assert!(
        try_handshake(port, Duration::from_secs(5)).is_some(),
        "the server works before the limit"
    );

    // Hold many more connections than the server has descriptors for.
    let mut held = Vec::new();
    for _ in 0..80 {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            held.push(stream);
        }
    }
    // Each is refused with a 503 (the listener's spare descriptor lets it accept and answer), or,
    // when even that fails, the accept loop logs the failure and backs off.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.lock().unwrap().contains("Too many open files") {
        assert!(
            Instant::now() < deadline,
            "no 'Too many open files' in the log:\n{}",
            log.lock().unwrap()
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        log.lock().unwrap().contains("no file descriptor left") || log.lock().unwrap().contains("accept failed"),
        "the log says what was done:\n{}",
        log.lock().unwrap()
    );

    // While out of descriptors, the accept loop backs off: well under 20% of a core.
    let ticks_per_second = 100; // USER_HZ on Linux
    let before = cpu_ticks(child.id());
    thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(child.id()) - before;
    assert!(
        used * 100 < 2 * ticks_per_second * 20,
        "the server used {used} ticks in 2 s while out of descriptors"
    );

    // Once connections close, it serves again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(body) = try_handshake(port, Duration::from_secs(2)) {
            assert!(body.starts_with("0{\"sid\":"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not recover:\n{}",
            log.lock().unwrap()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
