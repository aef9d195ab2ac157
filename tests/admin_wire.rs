//! The admin UI's namespace on the wire (`src/admin/`), with raw WebSocket and polling clients
//! against `examples/interop --admin-ui`: the CONNECT with and without the right password,
//! `config` in each mode, a `server_stats` after a known exchange (every count checked against
//! what went over the wire), `all_sockets` field by field, the commands with their room filter,
//! `event_received`/`event_sent` with binary arguments, and commands that name nothing.
//!
//! `INTEROP_COMMAND="node tests/node/reference/interop.mjs" cargo test --test admin_wire` runs
//! them against the reference (`instrument()` of @socket.io/admin-ui 0.5.1); where we differ on
//! purpose (NOTES.md, "Where we differ") the test says what each does.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    EchoServer, Http, WEBSOCKET_HANDSHAKE, Ws, WsEvent, polling, sid_of_open, ws_connect_at, ws_next, ws_send,
    ws_send_binary, ws_text,
};

/// bcrypt of "changeit", cost 10 (the reference's own tests use it).
const HASH: &str = "$2b$10$nu1FHRkuxkZkqID.31gz4uQsyERZAn.m4IIruysTsHDODBtrqS5Me";
const PATH: &str = "/socket.io/";
/// Long enough for a `server_stats` (every 2 s) and a slow machine.
const STATS_WAIT: Duration = Duration::from_secs(8);

/// Whether the tests run against the reference (`INTEROP_COMMAND`).
fn reference() -> bool {
    std::env::var("INTEROP_COMMAND").is_ok_and(|command| !command.trim().is_empty())
}

/// A WebSocket session of `/socket.io/`, its open packet read; returns it and its sid.
fn session(port: u16) -> (Ws, String) {
    let mut ws = ws_connect_at(port, PATH, WEBSOCKET_HANDSHAKE);
    let sid = sid_of_open(&ws_text(&mut ws));
    (ws, sid)
}

/// An admin socket that has connected (`40/admin,` with `auth`): returns its session, its
/// socket id and every packet before the CONNECT answer (its own `room_joined`, a `session`).
fn admin(port: u16, auth: &str) -> (Ws, String, Vec<String>) {
    let (mut ws, _sid) = session(port);
    ws_send(&mut ws, &format!("40/admin,{auth}"));
    let mut before = Vec::new();
    loop {
        let packet = ws_text(&mut ws);
        if let Some(answer) = packet.strip_prefix("40/admin,") {
            let id = serde_json::from_str::<Value>(answer).unwrap()["sid"]
                .as_str()
                .unwrap()
                .to_string();
            return (ws, id, before);
        }
        before.push(packet);
    }
}

/// A client of `/` over WebSocket, connected; returns its session, socket id and Engine.IO sid.
/// (interop sends `auth` on connection: read too.)
fn client(port: u16) -> (Ws, String, String) {
    let (mut ws, sid) = session(port);
    ws_send(&mut ws, "40");
    let answer = ws_text(&mut ws);
    let id = answer
        .strip_prefix(r#"40{"sid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("CONNECT answer {answer}"))
        .to_string();
    assert_eq!(ws_text(&mut ws), r#"42["auth",{}]"#);
    (ws, id, sid)
}

/// `42/admin,["name",...args]` -> ("name", [args]); None for anything else.
fn admin_event(packet: &str) -> Option<(String, Vec<Value>)> {
    let json = packet.strip_prefix("42/admin,")?;
    let mut all: Vec<Value> = serde_json::from_str::<Value>(json).ok()?.as_array()?.clone();
    let name = all.remove(0).as_str()?.to_string();
    Some((name, all))
}

/// Reads the admin socket until event `name` comes; returns its arguments. `seen` gets every
/// text packet read on the way (the event's included).
fn wait_event(ws: &mut Ws, name: &str, seen: &mut Vec<String>) -> Vec<Value> {
    let deadline = Instant::now() + STATS_WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {name} within {STATS_WAIT:?}; read: {seen:#?}");
        match ws_next(ws, left) {
            WsEvent::Text(packet) => {
                seen.push(packet.clone());
                if let Some((event, args)) = admin_event(&packet)
                    && event == name
                {
                    return args;
                }
            }
            WsEvent::Binary(_) => {}
            WsEvent::Closed(code) => panic!("the admin socket closed ({code:?}) waiting for {name}"),
        }
    }
}

/// A timestamp as `JSON.stringify(new Date())` writes it.
fn assert_iso_date(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("a date: {value}"));
    let shape = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    assert!(shape.is_match(text), "an ISO date: {text}");
}

/// The keys of a JSON object, in order.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn the_admin_namespace_refuses_a_wrong_password_and_gives_a_session() {
    let server = EchoServer::start_interop(&["--admin-ui", "--admin-ui-auth", &format!("admin:{HASH}")]);
    let refusal = r#"44/admin,{"message":"invalid credentials"}"#;
    for auth in [
        r#"{"username":"admin","password":"wrong"}"#,
        r#"{"username":"root","password":"changeit"}"#,
        "",
        r#"{"sessionId":"0123456789abcdef"}"#,
    ] {
        let (mut ws, _sid) = session(server.port);
        ws_send(&mut ws, &format!("40/admin,{auth}"));
        assert_eq!(ws_text(&mut ws), refusal, "auth {auth:?}");
    }
    if !reference() {
        // the reference's bcryptjs throws on a missing password, and Node stops
        let (mut ws, _sid) = session(server.port);
        ws_send(&mut ws, r#"40/admin,{"username":"admin"}"#);
        assert_eq!(ws_text(&mut ws), refusal);
        server.expect_log("invalid credentials from 127.0.0.1:");
        server.expect_log(r#"(user name "root")"#);
    }

    // The right password: a session id (16 hex digits), before the CONNECT is answered.
    let (_ws, id, before) = admin(server.port, r#"{"username":"admin","password":"changeit"}"#);
    let (event, args) = admin_event(&before[0]).unwrap_or_else(|| panic!("{before:?}"));
    assert_eq!(event, "session");
    let session_id = args[0].as_str().unwrap().to_string();
    assert!(
        session_id.len() == 16 && session_id.chars().all(|c| c.is_ascii_hexdigit()),
        "{session_id}"
    );
    // then its own room (development mode), then 40/admin,{"sid":...}
    let (event, args) = admin_event(&before[1]).unwrap();
    assert_eq!(
        (event.as_str(), &args[..3]),
        ("room_joined", &[json!("/admin"), json!(id), json!(id)][..])
    );
    assert_eq!(before.len(), 2, "{before:?}");

    // The session id instead of the password, next time: no new session.
    let (_ws, _id, before) = admin(server.port, &format!(r#"{{"sessionId":"{session_id}"}}"#));
    assert_eq!(before.len(), 1, "only its room_joined: {before:?}");
    assert_eq!(admin_event(&before[0]).unwrap().0, "room_joined");
}

/// The packets an admin socket gets right after its CONNECT answer, up to its first
/// `server_stats` (excluded).
fn first_packets(args: &[&str]) -> Vec<String> {
    let mut server_args = vec!["--admin-ui"];
    server_args.extend_from_slice(args);
    let server = EchoServer::start_interop(&server_args);
    let (mut ws, _id, _before) = admin(server.port, "");
    let mut seen = Vec::new();
    wait_event(&mut ws, "server_stats", &mut seen);
    seen.pop();
    seen
}

#[test]
fn config_says_what_the_ui_may_do_in_each_mode() {
    let config = |features: &str| format!(r#"42/admin,["config",{{"supportedFeatures":[{features}]}}]"#);
    let commands = r#""EMIT","JOIN","LEAVE","DISCONNECT","MJOIN","MLEAVE","MDISCONNECT""#;

    // development: its own socket_connected, config, all_sockets
    let seen = first_packets(&[]);
    assert_eq!(admin_event(&seen[0]).unwrap().0, "socket_connected", "{seen:?}");
    assert_eq!(
        seen[1],
        config(&format!(r#"{commands},"AGGREGATED_EVENTS","ALL_EVENTS""#))
    );
    assert_eq!(admin_event(&seen[2]).unwrap().0, "all_sockets");
    assert_eq!(seen.len(), 3, "{seen:?}");

    let seen = first_packets(&["--admin-ui-readonly"]);
    assert_eq!(seen[1], config(r#""AGGREGATED_EVENTS","ALL_EVENTS""#));

    // production: config only, then the stats (nothing per socket)
    let seen = first_packets(&["--admin-ui-mode", "production"]);
    assert_eq!(seen, [config(&format!(r#"{commands},"AGGREGATED_EVENTS""#))]);
    let seen = first_packets(&["--admin-ui-mode", "production", "--admin-ui-readonly"]);
    assert_eq!(seen, [config(r#""AGGREGATED_EVENTS""#)]);
}

#[test]
fn readonly_ignores_the_commands() {
    let server = EchoServer::start_interop(&["--admin-ui", "--admin-ui-readonly"]);
    let (mut ws, _id, _before) = admin(server.port, "");
    // in a writable instrument this disconnects every socket of /admin, this one included
    ws_send(&mut ws, r#"42/admin,["_disconnect","/admin",false]"#);
    let mut seen = Vec::new();
    wait_event(&mut ws, "server_stats", &mut seen);
    assert!(!seen.iter().any(|packet| packet.starts_with("41")), "{seen:?}");
    let stats = wait_event(&mut ws, "server_stats", &mut seen);
    assert!(
        stats[0]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "/admin", "socketsCount": 1}))
    );
}

/// Adds up `aggregatedEvents` by (type, subType).
fn add_up(totals: &mut Vec<(String, Option<String>, u64)>, stats: &Value) {
    for event in stats["aggregatedEvents"].as_array().unwrap() {
        assert_eq!(
            keys(event),
            if event.get("subType").is_some() {
                vec!["timestamp", "type", "subType", "count"]
            } else {
                vec!["timestamp", "type", "count"]
            }
        );
        assert_eq!(
            event["timestamp"].as_u64().unwrap() % 1000,
            0,
            "a whole second: {event}"
        );
        let kind = event["type"].as_str().unwrap().to_string();
        let sub_type = event.get("subType").map(|s| s.as_str().unwrap().to_string());
        let count = event["count"].as_u64().unwrap();
        match totals.iter_mut().find(|(k, s, _)| *k == kind && *s == sub_type) {
            Some(total) => total.2 += count,
            None => totals.push((kind, sub_type, count)),
        }
    }
}

/// The messages among Engine.IO packets (WebSocket text frames, the parts of a polling body):
/// how many, and the bytes of their data (`42["a"]`: the 6 of `2["a"]`).
fn messages_out(packets: &[String]) -> (u64, u64) {
    let mut count = 0;
    let mut bytes = 0;
    for packet in packets {
        if let Some(data) = packet.strip_prefix('4')
            && !data.is_empty()
        {
            count += 1;
            bytes += data.len() as u64;
        }
    }
    (count, bytes)
}

#[test]
fn server_stats_count_a_known_exchange() {
    let server = EchoServer::start_interop(&["--admin-ui", "--server-id", "srv"]);
    let (mut admin_ws, _admin_id, _before) = admin(server.port, "");
    let mut seen = Vec::new();
    // From here on every packet in and out is known: those of this first stats are counted in
    // the next (it is made after it took the counts), then every later one.
    wait_event(&mut admin_ws, "server_stats", &mut seen);
    let mut admin_packets: Vec<String> = vec![seen.pop().unwrap()];

    // A polling client: handshake, CONNECT, an event with a two-byte character, its answer.
    let mut http = Http::connect_at(server.port, PATH);
    let open = http.get("EIO=4&transport=polling");
    let sid = sid_of_open(&open.text());
    let mut client_packets = Vec::new();
    assert_eq!(http.post(&polling(&sid), b"40").text(), "ok");
    client_packets.extend(http.get(&polling(&sid)).packets()); // 40{"sid":...} and 42["auth",{}]
    let event = r#"42["message","héllo"]"#;
    assert_eq!(http.post(&polling(&sid), event.as_bytes()).text(), "ok");
    let answer = http.get(&polling(&sid)).packets();
    assert_eq!(answer, [r#"42["message-back","héllo"]"#]);
    client_packets.extend(answer);

    // While it is open: one polling client of two.
    let mut totals = Vec::new();
    let stats = loop {
        let stats = wait_event(&mut admin_ws, "server_stats", &mut admin_packets);
        add_up(&mut totals, &stats[0]);
        if stats[0]["clientsCount"] == 2 {
            break stats[0].clone();
        }
    };
    assert_eq!(
        keys(&stats),
        [
            "serverId",
            "hostname",
            "pid",
            "uptime",
            "clientsCount",
            "pollingClientsCount",
            "aggregatedEvents",
            "namespaces"
        ]
    );
    assert_eq!(stats["serverId"], "srv");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(stats["hostname"], hostname.trim());
    assert_eq!(stats["pid"], server.pid());
    assert!(stats["uptime"].as_f64().unwrap() > 0.0, "{stats}");
    assert_eq!(stats["pollingClientsCount"], 1);
    assert_eq!(
        stats["namespaces"],
        json!([
            {"name": "/", "socketsCount": 1},
            {"name": "/custom", "socketsCount": 0},
            {"name": "/guarded", "socketsCount": 0},
            {"name": "/listeners", "socketsCount": 0},
            {"name": "/admin", "socketsCount": 1}
        ])
    );

    // It closes (`1`): its disconnection, then a stats that counts everything up to it.
    assert_eq!(http.post(&polling(&sid), b"1").text(), "ok");
    wait_event(&mut admin_ws, "socket_disconnected", &mut admin_packets);
    let last = loop {
        let stats = wait_event(&mut admin_ws, "server_stats", &mut admin_packets);
        add_up(&mut totals, &stats[0]);
        if stats[0]["clientsCount"] == 1 {
            break stats[0].clone();
        }
    };
    assert_eq!(last["pollingClientsCount"], 0);

    // Out: every message the two clients got from the first stats on, but the last stats
    // itself. In: `0` and the event.
    let (admin_count, admin_bytes) = messages_out(&admin_packets[..admin_packets.len() - 1]);
    let (client_count, client_bytes) = messages_out(&client_packets);
    let total = |kind: &str, sub_type: Option<&str>| {
        totals
            .iter()
            .find(|(k, s, _)| k == kind && s.as_deref() == sub_type)
            .map_or(0, |(_, _, count)| *count)
    };
    assert_eq!(total("rawConnection", None), 1, "{totals:?}");
    assert_eq!(total("packetsIn", None), 2, "{totals:?}");
    assert_eq!(total("bytesIn", None), 1 + (event.len() as u64 - 1), "{totals:?}");
    assert_eq!(total("packetsOut", None), admin_count + client_count, "{totals:?}");
    assert_eq!(total("bytesOut", None), admin_bytes + client_bytes, "{totals:?}");
    assert_eq!(total("rawDisconnection", Some("transport close")), 1, "{totals:?}");
    assert_eq!(totals.len(), 6, "nothing else: {totals:?}");
}

#[test]
fn all_sockets_has_each_socket_as_the_ui_reads_it() {
    let server = EchoServer::start_interop(&["--admin-ui"]);
    // A polling client behind a proxy, with a query, in room r1.
    let mut http = Http::connect_at(server.port, PATH);
    let query = "EIO=4&transport=polling&foo=bar";
    let before = support_now();
    let open = http.request("GET", query, &[("X-Forwarded-For", "10.0.0.1")], None);
    let sid = sid_of_open(&open.text());
    assert_eq!(http.post(&polling(&sid), b"40").text(), "ok");
    let connected = http.get(&polling(&sid)).packets();
    let id = serde_json::from_str::<Value>(connected[0].strip_prefix("40").unwrap()).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(http.post(&polling(&sid), br#"421["join","r1"]"#).text(), "ok");
    assert_eq!(http.get(&polling(&sid)).packets(), ["431[]"]);
    let after = support_now();

    let (mut ws, admin_id, _before) = admin(server.port, "");
    let mut seen = Vec::new();
    let all = wait_event(&mut ws, "all_sockets", &mut seen).remove(0);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    // namespace by namespace: "/" first, "/admin" last
    assert_eq!(
        (all[0]["id"].as_str(), all[1]["id"].as_str()),
        (Some(id.as_str()), Some(admin_id.as_str()))
    );
    let socket = &all[0];
    assert_eq!(
        keys(socket),
        ["id", "clientId", "transport", "nsp", "data", "handshake", "rooms"]
    );
    assert_eq!(socket["clientId"], sid[..12]);
    assert_eq!(socket["transport"], "polling");
    assert_eq!(socket["nsp"], "/");
    assert_eq!(socket["data"], json!({}));
    assert_eq!(socket["rooms"], json!([id, "r1"]));
    let handshake = &socket["handshake"];
    assert_eq!(
        keys(handshake),
        [
            "address", "headers", "query", "issued", "secure", "time", "url", "xdomain"
        ]
    );
    assert_eq!(handshake["address"], "10.0.0.1");
    assert_eq!(
        handshake["headers"],
        json!({"host": format!("127.0.0.1:{}", server.port), "x-forwarded-for": "10.0.0.1"})
    );
    assert_eq!(
        handshake["query"],
        json!({"EIO": "4", "transport": "polling", "foo": "bar"})
    );
    assert_eq!(handshake["url"], format!("{PATH}?{query}"));
    assert_eq!(
        (handshake["secure"].clone(), handshake["xdomain"].clone()),
        (json!(false), json!(false))
    );
    let issued = handshake["issued"].as_u64().unwrap();
    assert!(before <= issued && issued <= after, "{before} <= {issued} <= {after}");
    let time =
        regex::Regex::new(r"^\w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT\+0000 \(Coordinated Universal Time\)$").unwrap();
    assert!(time.is_match(handshake["time"].as_str().unwrap()), "{handshake}");
    assert_eq!(all[1]["transport"], "websocket");
    assert_eq!(all[1]["rooms"], json!([admin_id]));

    // The client upgrades: the UI is told its transport.
    let mut probe = ws_connect_at(server.port, PATH, &support::websocket(&sid));
    ws_send(&mut probe, "2probe");
    assert_eq!(ws_text(&mut probe), "3probe");
    ws_send(&mut probe, "5");
    let mut upgrade = Vec::new();
    let update = wait_event(&mut ws, "socket_updated", &mut upgrade);
    assert_eq!(update, [json!({"id": id, "nsp": "/", "transport": "websocket"})]);
    assert_eq!(upgrade.len(), 1, "nothing before: {upgrade:?}");

    // socket.data = {n: 1} (interop's set-data): ours tells the UI; the reference's Proxy does
    // not hear the whole of socket.data replaced.
    ws_send(&mut probe, r#"421["set-data",{"n":1}]"#);
    assert_eq!(ws_text(&mut probe), "431[]");
    ws_send(&mut probe, r#"42["message","after"]"#);
    let mut between = Vec::new();
    wait_event(&mut ws, "event_received", &mut between); // set-data
    wait_event(&mut ws, "event_sent", &mut between); // message-back
    let updates: Vec<&String> = between.iter().filter(|p| p.contains("socket_updated")).collect();
    if reference() {
        assert!(updates.is_empty(), "{between:?}");
    } else {
        assert_eq!(updates.len(), 1, "{between:?}");
        assert_eq!(
            admin_event(updates[0]).unwrap().1,
            [json!({"id": id, "nsp": "/", "data": {"n": 1}})]
        );
    }
}

/// Milliseconds since 1970.
fn support_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The next text packet of a client, or panics.
fn next(ws: &mut Ws) -> String {
    ws_text(ws)
}

#[test]
fn the_commands_reach_the_sockets_of_their_room() {
    let server = EchoServer::start_interop(&["--admin-ui"]);
    let (mut a, a_id, _) = client(server.port);
    let (mut b, b_id, _) = client(server.port);
    let (mut c, c_id, _) = client(server.port);
    for ws in [&mut a, &mut b] {
        ws_send(ws, r#"421["join","r1"]"#);
        assert_eq!(next(ws), "431[]");
    }
    let (mut admin_ws, _admin_id, _) = admin(server.port, "");
    let mut seen = Vec::new();
    wait_event(&mut admin_ws, "all_sockets", &mut seen);

    // emit to r1, then to everyone: c's first event is the second
    ws_send(&mut admin_ws, r#"42/admin,["emit","/","r1","hello","world"]"#);
    ws_send(&mut admin_ws, r#"42/admin,["emit","/",null,"marker"]"#);
    for ws in [&mut a, &mut b] {
        assert_eq!(next(ws), r#"42["hello","world"]"#);
        assert_eq!(next(ws), r#"42["marker"]"#);
    }
    assert_eq!(next(&mut c), r#"42["marker"]"#);

    // the sockets of r1 join r2; everyone leaves r2
    ws_send(&mut admin_ws, r#"42/admin,["join","/","r2","r1"]"#);
    let mut joined = HashSet::new();
    for _ in 0..2 {
        let args = wait_event(&mut admin_ws, "room_joined", &mut seen);
        assert_eq!((args[0].clone(), args[1].clone()), (json!("/"), json!("r2")));
        assert_iso_date(&args[3]);
        joined.insert(args[2].as_str().unwrap().to_string());
    }
    assert_eq!(joined, HashSet::from([a_id.clone(), b_id.clone()]));
    ws_send(&mut admin_ws, r#"42/admin,["leave","/","r2"]"#);
    let mut left = HashSet::new();
    for _ in 0..2 {
        let args = wait_event(&mut admin_ws, "room_left", &mut seen);
        assert_eq!(args[1], "r2");
        left.insert(args[2].as_str().unwrap().to_string());
    }
    assert_eq!(left, joined);

    // c alone, from its namespace only: `41`; the UI hears the disconnect, then its room left
    ws_send(
        &mut admin_ws,
        &format!(r#"42/admin,["_disconnect","/",false,"{c_id}"]"#),
    );
    assert_eq!(next(&mut c), "41");
    let args = wait_event(&mut admin_ws, "socket_disconnected", &mut seen);
    assert_eq!(
        &args[..3],
        [json!("/"), json!(c_id), json!("server namespace disconnect")]
    );
    assert_iso_date(&args[3]);
    let args = wait_event(&mut admin_ws, "room_left", &mut seen);
    assert_eq!(&args[..3], [json!("/"), json!(c_id), json!(c_id)]);

    // r1, with its whole connection: `41`, then the session ends
    ws_send(&mut admin_ws, r#"42/admin,["_disconnect","/",true,"r1"]"#);
    for ws in [&mut a, &mut b] {
        assert_eq!(next(ws), "41");
        let end = ws_next(ws, Duration::from_secs(5));
        assert!(matches!(end, WsEvent::Closed(_)), "{end:?}");
    }
}

#[test]
fn events_in_and_out_carry_their_binary_arguments() {
    let server = EchoServer::start_interop(&["--admin-ui"]);
    let (mut admin_ws, _admin_id, _) = admin(server.port, "");
    let mut seen = Vec::new();
    wait_event(&mut admin_ws, "all_sockets", &mut seen);
    let (mut a, a_id, _) = client(server.port);
    // 451-["message",1,<01 02 03>]
    ws_send(&mut a, r#"451-["message",1,{"_placeholder":true,"num":0}]"#);
    ws_send_binary(&mut a, &[1, 2, 3]);
    assert_eq!(next(&mut a), r#"451-["message-back",1,{"_placeholder":true,"num":0}]"#);

    let date = regex::Regex::new(r#""\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\]$"#).unwrap();
    for (event, name) in [("event_received", "message"), ("event_sent", "message-back")] {
        let header = loop {
            match ws_next(&mut admin_ws, Duration::from_secs(5)) {
                WsEvent::Text(packet) if packet.contains(event) => break packet,
                WsEvent::Text(_) => continue,
                other => panic!("{other:?}"),
            }
        };
        let expected = format!(r#"451-/admin,["{event}","/","{a_id}",["{name}",1,{{"_placeholder":true,"num":0}}],"#);
        assert!(header.starts_with(&expected), "{header}\n{expected}");
        assert!(date.is_match(&header), "{header}");
        assert_eq!(
            ws_next(&mut admin_ws, Duration::from_secs(5)),
            WsEvent::Binary(vec![1, 2, 3])
        );
    }
}

#[test]
fn a_command_that_names_nothing_does_nothing_and_is_logged() {
    let server = EchoServer::start_interop(&["--admin-ui"]);
    let (mut a, _a_id, _) = client(server.port);
    let (mut admin_ws, _admin_id, _) = admin(server.port, "");
    let mut seen = Vec::new();
    wait_event(&mut admin_ws, "all_sockets", &mut seen);

    ws_send(&mut admin_ws, r#"42/admin,["emit","/nowhere",null,"x"]"#);
    ws_send(&mut admin_ws, r#"42/admin,["_disconnect","/",false,"no-such-socket"]"#);
    ws_send(&mut admin_ws, r#"42/admin,["join","/","r9","no-such-socket"]"#);
    ws_send(&mut admin_ws, r#"42/admin,["leave","/nowhere","r9"]"#);
    if !reference() {
        // the reference throws from the handler on these (a reserved name, `nsp.startsWith` of
        // a number) and Node stops: not sent to it
        ws_send(&mut admin_ws, r#"42/admin,["emit","/",null,"disconnect"]"#);
        ws_send(&mut admin_ws, r#"42/admin,["emit",42]"#);
    }
    ws_send(&mut admin_ws, r#"42/admin,["emit","/",null,"marker"]"#);
    assert_eq!(next(&mut a), r#"42["marker"]"#, "nothing reached the client before");

    let stats = wait_event(&mut admin_ws, "server_stats", &mut seen);
    let names: Vec<&str> = stats[0]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|nsp| nsp["name"].as_str().unwrap())
        .collect();
    assert!(
        !seen
            .iter()
            .any(|p| p.contains("room_joined") || p.contains("socket_disconnected")),
        "{seen:?}"
    );
    if reference() {
        // the reference's io.of("/nowhere") makes the namespace
        assert!(names.contains(&"/nowhere"), "{names:?}");
        return;
    }
    assert_eq!(names, ["/", "/custom", "/guarded", "/listeners", "/admin"]);
    server.expect_log(r#"admin: emit [Json(String("/nowhere")), Json(Null), Json(String("x"))] ignored: there is no namespace "/nowhere""#);
    server.expect_log(r#"admin: no socket of / is in room "no-such-socket""#);
    server.expect_log(
        r#"admin: leave [Json(String("/nowhere")), Json(String("r9"))] ignored: there is no namespace "/nowhere""#,
    );
    server.expect_log(r#"ignored: "disconnect" is a reserved event name"#);
    server.expect_log("ignored: the namespace should be a string, not Some(Json(Number(42)))");
}

/// In-process (what a client cannot set up): `socket.data` set in a middleware, then changed.
#[test]
fn data_set_in_a_middleware_then_changed_is_told_to_the_ui() {
    use socketio_book::admin::{Auth, InstrumentOptions, instrument};
    use socketio_book::socketio::{Server, ServerOptions};

    let io = Server::new(ServerOptions::default()).unwrap();
    instrument(&io, InstrumentOptions::new(Auth::None)).unwrap();
    io.use_middleware(|socket| {
        socket.set_data(json!({"count": 1, "array": [1]}));
        Ok(())
    });
    // the application's connection handler runs after the admin's
    let sockets = support::sockets_of(&io);
    let port = support::serve(&io);
    let (mut admin_ws, _admin_id, _) = admin(port, "");
    let mut seen = Vec::new();
    wait_event(&mut admin_ws, "all_sockets", &mut seen);

    let (_client, id) = support::sio_connect(port);
    // the reference copies the middleware's keys back one at a time into its Proxy
    let mut updates = Vec::new();
    let args = wait_event(&mut admin_ws, "socket_connected", &mut updates);
    let updates: Vec<Vec<Value>> = updates
        .iter()
        .filter_map(|packet| admin_event(packet))
        .filter(|(event, _)| event == "socket_updated")
        .map(|(_, args)| args)
        .collect();
    assert_eq!(
        updates,
        [
            vec![json!({"id": id, "nsp": "/", "data": {"count": 1}})],
            vec![json!({"id": id, "nsp": "/", "data": {"count": 1, "array": [1]}})],
        ]
    );
    assert_eq!(args[0]["data"], json!({"count": 1, "array": [1]}));

    // what the application sees: the admin's `_admin` first, then its own keys
    let socket = sockets.recv_timeout(Duration::from_secs(5)).unwrap();
    let data = socket.data();
    assert_eq!(keys(&data), ["_admin", "count", "array"]);
    assert_eq!(data["_admin"]["transport"], "websocket");
    // socket.data.count++
    let mut changed = data.clone();
    changed["count"] = json!(2);
    socket.set_data(changed);
    let update = wait_event(&mut admin_ws, "socket_updated", &mut seen);
    assert_eq!(
        update,
        [json!({"id": id, "nsp": "/", "data": {"count": 2, "array": [1]}})]
    );
    io.close();
}

#[test]
fn a_dynamic_namespace_is_watched_from_its_first_connect() {
    let server = EchoServer::start_interop(&["--admin-ui"]);
    let (mut admin_ws, _admin_id, _) = admin(server.port, "");
    let mut seen = Vec::new();
    wait_event(&mut admin_ws, "all_sockets", &mut seen);
    // io.of(/^\/dynamic-\d+$/): the CONNECT makes the child `/dynamic-7` (new_namespace)
    let (mut ws, _sid) = session(server.port);
    ws_send(&mut ws, "40/dynamic-7,");
    let answer = ws_text(&mut ws);
    let id = answer
        .strip_prefix(r#"40/dynamic-7,{"sid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("{answer}"))
        .to_string();
    let joined = wait_event(&mut admin_ws, "room_joined", &mut seen);
    assert_eq!(&joined[..3], [json!("/dynamic-7"), json!(id), json!(id)]);
    let connected = wait_event(&mut admin_ws, "socket_connected", &mut seen);
    assert_eq!(
        (connected[0]["id"].as_str(), connected[0]["nsp"].as_str()),
        (Some(id.as_str()), Some("/dynamic-7"))
    );
    let stats = wait_event(&mut admin_ws, "server_stats", &mut seen);
    assert!(
        stats[0]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "/dynamic-7", "socketsCount": 1})),
        "{stats:?}"
    );
}
