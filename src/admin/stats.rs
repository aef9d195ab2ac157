//! `server_stats`: what the UI's dashboard draws, sent to every admin socket every 2 s (the
//! reference's `initStatsEmitter`, `registerEngineListeners` and `EventBuffer`).
//!
//! ```text
//! 42/admin,["server_stats",{"serverId":"vm","hostname":"vm","pid":28833,"uptime":2.808012956,
//!   "clientsCount":2,"pollingClientsCount":0,
//!   "aggregatedEvents":[{"timestamp":1796193119000,"type":"rawConnection","count":1},
//!                       {"timestamp":1796193119000,"type":"packetsIn","count":1},
//!                       {"timestamp":1796193119000,"type":"bytesIn","count":8},
//!                       {"timestamp":1796193120000,"type":"rawDisconnection","subType":"transport close","count":1}],
//!   "namespaces":[{"name":"/","socketsCount":1},{"name":"/admin","socketsCount":1}]}]
//! ```
//!
//! `aggregatedEvents` counts what the Engine.IO layer did since the last `server_stats`, per
//! second (`timestamp` is the second, in milliseconds), from its events (`engineio/events.rs`):
//!
//! | type               | counted on                              | by                              |
//! |--------------------|-----------------------------------------|---------------------------------|
//! | `rawConnection`    | the engine's `connection`               | 1                               |
//! | `packetsIn`, `bytesIn`   | a session's `packet` with data    | 1, and the data's bytes         |
//! | `packetsOut`, `bytesOut` | a session's `packet_create` with data | 1, and the data's bytes     |
//! | `rawDisconnection` | a session's `close`, `subType` its reason | 1                             |
//!
//! "With data" as the reference's `if (data)`: a message (`4hello`: the 5 bytes of `hello`; an
//! empty text message counts nothing), a `2probe`/`3probe`; not a bare ping, pong, close or
//! upgrade. `pollingClientsCount` is the sessions that started over polling and have not upgraded
//! or closed; `clientsCount` is `engine.clientsCount`.
//!
//! The timer: `server_stats` goes out once when `instrument` is called and then every 2 s, from
//! a `set_timeout` on the server's `timers` thread that sets the next one (no thread of its
//! own). It ends when the server closes (`io.close()`) or is dropped: the tick finds it so and
//! sets no next one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use log::debug;
use serde_json::{Map, Value, json};

use super::Admin;
use crate::date;
use crate::engineio::{self, Message, packet::Packet};
use crate::sync::lock;

/// How often `server_stats` goes out.
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// One line of `aggregatedEvents`: how many of one kind of thing happened in one second.
#[derive(Debug, Clone, PartialEq)]
struct AggregatedEvent {
    /// The second, in milliseconds since 1970 (`new Date()` with its milliseconds set to 0).
    timestamp: u64,
    /// `rawConnection`, `packetsIn`, `bytesIn`, `packetsOut`, `bytesOut`, `rawDisconnection`.
    kind: &'static str,
    /// The close reason of a `rawDisconnection`.
    sub_type: Option<String>,
    count: u64,
}

/// The reference's `EventBuffer`: counts by (second, type, subType), in the order first seen,
/// until `server_stats` takes them.
#[derive(Default)]
pub struct EventBuffer {
    events: Mutex<Vec<AggregatedEvent>>,
}

impl EventBuffer {
    /// `push(type, subType, count)`: adds `count` to this second's line of that type.
    pub fn push(&self, kind: &'static str, sub_type: Option<&str>, count: u64) {
        let now = date::now_millis();
        let timestamp = now - now % 1000;
        let mut events = lock(&self.events);
        let same = events
            .iter_mut()
            .find(|event| event.timestamp == timestamp && event.kind == kind && event.sub_type.as_deref() == sub_type);
        match same {
            Some(event) => event.count += count,
            None => events.push(AggregatedEvent {
                timestamp,
                kind,
                sub_type: sub_type.map(str::to_string),
                count,
            }),
        }
    }

    /// `getValuesAndClear()`, as JSON: `[{"timestamp":...,"type":"bytesIn","count":8}, ...]`
    /// (`subType` only when there is one, as `JSON.stringify` leaves out `undefined`).
    pub fn take_json(&self) -> Value {
        let events = std::mem::take(&mut *lock(&self.events));
        let mut list = Vec::with_capacity(events.len());
        for event in events {
            let mut object = Map::new();
            object.insert("timestamp".to_string(), json!(event.timestamp));
            object.insert("type".to_string(), json!(event.kind));
            if let Some(sub_type) = event.sub_type {
                object.insert("subType".to_string(), json!(sub_type));
            }
            object.insert("count".to_string(), json!(event.count));
            list.push(Value::Object(object));
        }
        Value::Array(list)
    }
}

/// The bytes the reference counts for a packet: its data's, if it has data (`if (data)`).
fn data_bytes(packet: &Packet) -> Option<usize> {
    match packet {
        Packet::Message(Message::Text(text)) if !text.is_empty() => Some(text.len()),
        Packet::Message(Message::Binary(bytes)) => Some(bytes.len()),
        Packet::Ping(text) | Packet::Pong(text) | Packet::Open(text) if !text.is_empty() => Some(text.len()),
        _ => None,
    }
}

/// What the engine's events feed: the aggregated events and the polling clients.
#[derive(Default)]
pub struct EngineCounters {
    pub events: EventBuffer,
    /// `io._pollingClientsCount`.
    polling_clients: AtomicUsize,
}

impl EngineCounters {
    /// `pollingClientsCount`.
    pub fn polling_clients(&self) -> usize {
        self.polling_clients.load(Ordering::SeqCst)
    }
}

/// The reference's `registerEngineListeners`: counts every session opened from now on. The
/// listeners run on the session's own threads (see `engineio/events.rs`).
pub fn register_engine_listeners(engine: &engineio::Server, counters: &Arc<EngineCounters>) {
    let counters = Arc::clone(counters);
    engine.on_connection(move |raw| {
        counters.events.push("rawConnection", None, 1);

        if raw.transport_name() == "polling" {
            counters.polling_clients.fetch_add(1, Ordering::SeqCst);
            // Down once: at the upgrade, or at the close if there was none.
            let counted = Arc::new(AtomicBool::new(true));
            for_upgrade_or_close(raw, &counters, &counted);
        }

        let out = Arc::clone(&counters);
        raw.on_packet_create(move |_raw, packet| {
            if let Some(bytes) = data_bytes(packet) {
                out.events.push("packetsOut", None, 1);
                out.events.push("bytesOut", None, bytes as u64);
            }
        });
        let incoming = Arc::clone(&counters);
        raw.on_packet(move |_raw, packet| {
            if let Some(bytes) = data_bytes(packet) {
                incoming.events.push("packetsIn", None, 1);
                incoming.events.push("bytesIn", None, bytes as u64);
            }
        });
        let closed = Arc::clone(&counters);
        raw.on_close(move |_raw, reason, _description| {
            closed.events.push("rawDisconnection", Some(reason), 1);
        });
    });
}

/// A polling session leaves `pollingClientsCount` at its upgrade or its close, whichever is
/// first (`counted` turns false then).
fn for_upgrade_or_close(raw: &engineio::Socket, counters: &Arc<EngineCounters>, counted: &Arc<AtomicBool>) {
    let (on_upgrade, flag) = (Arc::clone(counters), Arc::clone(counted));
    raw.on_upgrade(move |_raw| {
        if flag.swap(false, Ordering::SeqCst) {
            on_upgrade.polling_clients.fetch_sub(1, Ordering::SeqCst);
        }
    });
    let (on_close, flag) = (Arc::clone(counters), Arc::clone(counted));
    raw.on_close(move |_raw, _reason, _description| {
        if flag.swap(false, Ordering::SeqCst) {
            on_close.polling_clients.fetch_sub(1, Ordering::SeqCst);
        }
    });
}

/// `os.hostname()` (the kernel's host name).
pub fn hostname() -> String {
    match std::fs::read_to_string("/proc/sys/kernel/hostname") {
        Ok(name) => name.trim().to_string(),
        Err(_) => "localhost".to_string(),
    }
}

/// `process.uptime()`: seconds since this process started, from `/proc/uptime` (seconds since
/// boot) minus field 22 of `/proc/self/stat` (when the process started, in clock ticks since
/// boot). 0 if they cannot be read.
pub fn process_uptime() -> f64 {
    let since_boot = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok());
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let started_ticks = std::fs::read_to_string("/proc/self/stat").ok().and_then(|text| {
        let after_name = &text[text.rfind(')')? + 1..];
        // fields 3, 4, ... follow: field 22 is the 20th of them
        after_name.split_whitespace().nth(19)?.parse::<f64>().ok()
    });
    // SAFETY: sysconf reads a constant of the system; it has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    match (since_boot, started_ticks) {
        (Some(since_boot), Some(started)) if ticks_per_second > 0.0 => {
            let seconds = (since_boot - started / ticks_per_second).max(0.0);
            // to the millisecond: the two clocks have 1/100 s steps, the rest is float noise
            (seconds * 1000.0).round() / 1000.0
        }
        _ => 0.0,
    }
}

/// The `server_stats` payload now (the reference's `emitStats`); takes the aggregated events.
pub fn server_stats(admin: &Admin, io: &crate::socketio::Server) -> Value {
    let mut namespaces = Vec::new();
    for namespace in io.namespaces() {
        namespaces.push(json!({"name": namespace.name(), "socketsCount": namespace.sockets().len()}));
    }
    json!({
        "serverId": admin.server_id,
        "hostname": admin.hostname,
        "pid": std::process::id(),
        "uptime": process_uptime(),
        "clientsCount": io.engine().clients_count(),
        "pollingClientsCount": admin.counters.polling_clients(),
        "aggregatedEvents": admin.counters.events.take_json(),
        "namespaces": namespaces,
    })
}

/// Emits `server_stats` now, then every [`STATS_INTERVAL`] on the `timers` thread, until the
/// server is closed or dropped.
pub fn start_stats_emitter(admin: Arc<Admin>) {
    let io = match admin.io.upgrade() {
        Some(io) if !io.is_closed() => io,
        _ => {
            debug!("admin: the server is closed: no more server_stats");
            return;
        }
    };
    let count = admin.stats_sent.fetch_add(1, Ordering::SeqCst) + 1;
    debug!("admin: emit stats (#{count})");
    let stats = server_stats(&admin, &io);
    admin.emit(&io, "server_stats", vec![stats.into()]);
    let timers = io.engine().timers().clone();
    timers.set_timeout(STATS_INTERVAL, move || start_stats_emitter(admin));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_second_type_and_sub_type_in_the_order_first_seen() {
        let buffer = EventBuffer::default();
        buffer.push("packetsIn", None, 1);
        buffer.push("bytesIn", None, 8);
        buffer.push("packetsIn", None, 1);
        buffer.push("bytesIn", None, 15);
        buffer.push("rawDisconnection", Some("transport close"), 1);
        buffer.push("rawDisconnection", Some("ping timeout"), 1);
        buffer.push("rawDisconnection", Some("transport close"), 1);
        let events = buffer.take_json();
        let events = events.as_array().unwrap();
        // (all within one second, unless the test straddles one: then a type shows up twice)
        let total = |kind: &str, sub_type: Option<&str>| -> u64 {
            events
                .iter()
                .filter(|e| e["type"] == kind && e.get("subType").and_then(Value::as_str) == sub_type)
                .map(|e| e["count"].as_u64().unwrap())
                .sum()
        };
        assert_eq!(total("packetsIn", None), 2);
        assert_eq!(total("bytesIn", None), 23);
        assert_eq!(total("rawDisconnection", Some("transport close")), 2);
        assert_eq!(total("rawDisconnection", Some("ping timeout")), 1);
        let first = &events[0];
        assert_eq!(first["type"], "packetsIn");
        assert_eq!(first["timestamp"].as_u64().unwrap() % 1000, 0);
        let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["timestamp", "type", "count"]);
        assert_eq!(buffer.take_json(), json!([]), "taken: empty until the next push");
    }

    #[test]
    fn data_bytes_as_the_reference_counts_them() {
        assert_eq!(data_bytes(&Packet::Message(Message::Text("0/admin,".into()))), Some(8));
        assert_eq!(data_bytes(&Packet::Message(Message::Text("2[\"é\"]".into()))), Some(7));
        assert_eq!(data_bytes(&Packet::Message(Message::Text(String::new()))), None);
        assert_eq!(data_bytes(&Packet::Message(Message::Binary(vec![1, 2, 3]))), Some(3));
        assert_eq!(data_bytes(&Packet::Ping(String::new())), None);
        assert_eq!(data_bytes(&Packet::Ping("probe".into())), Some(5));
        assert_eq!(data_bytes(&Packet::Close), None);
        assert_eq!(data_bytes(&Packet::Upgrade), None);
    }

    #[test]
    fn the_stats_stop_when_the_server_closes() {
        use crate::admin::{Auth, InstrumentOptions};
        use crate::socketio::{Server, ServerOptions};
        let sent = |admin: &Admin| admin.stats_sent.load(Ordering::SeqCst);
        let io = Server::new(ServerOptions::default()).unwrap();
        let admin = super::super::start(&io, InstrumentOptions::new(Auth::None)).unwrap();
        assert_eq!(sent(&admin), 1, "one at once");
        let deadline = std::time::Instant::now() + STATS_INTERVAL * 4;
        while sent(&admin) < 2 {
            assert!(std::time::Instant::now() < deadline, "no second server_stats");
            std::thread::sleep(Duration::from_millis(20));
        }
        io.close();
        // a tick that had looked before the close may still go out; then none
        std::thread::sleep(STATS_INTERVAL + Duration::from_millis(500));
        let after_close = sent(&admin);
        assert!(after_close <= 3, "{after_close}");
        std::thread::sleep(STATS_INTERVAL + Duration::from_millis(500));
        assert_eq!(sent(&admin), after_close, "the timer stopped");
    }

    #[test]
    fn uptime_of_this_process() {
        // Both clocks step by 1/100 s: a test process younger than a step reads 0.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let uptime = process_uptime();
        assert!((0.03..24.0 * 3600.0).contains(&uptime), "{uptime}");
    }
}
