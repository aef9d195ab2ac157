//! `socketioxide-peer`: the benchmarks' third server, socketioxide (tokio, async Rust) with the
//! handlers of our `examples/interop.rs` and of `tests/node/reference/interop.mjs`, so that
//! `benches/compare.rs` drives all three with the same load client.
//!
//! It runs as a user of socketioxide would run it on one core: a `current_thread` tokio runtime
//! (one worker; `taskset -c 0` pins the process like the others), hyper's HTTP/1 server with
//! upgrades serving socketioxide's `SocketIoService` straight (the set-up of socketioxide's own
//! end-to-end test server), `TCP_NODELAY` on every connection as the other two set it.
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
//! `server-disconnect` (close) socket.disconnect() (socketioxide has no way to close the
//!                             whole Engine.IO connection from a socket: `close` is ignored)
//! `emit-with-ack` (...args)   emit `ask` (...args) with an ack and a 5 s timeout; then emit
//!                             `ask-answered` with the answer, or `ask-timeout`
//! ```
//!
//! Operators on many sockets (as `interop.mjs` has them for issue 9):
//!
//! ```text
//! `set-data` (value, ack)               socket.data = value; ack()
//! `fetch-sockets` (room|null, ack)      ack([{id, rooms, data}] of the namespace's (or room's)
//!                                       sockets, sorted by id, each one's rooms sorted)
//! `sockets-join` / `sockets-leave` (target, room, ack)   nsp.in(target).socketsJoin/Leave(room); ack()
//! `disconnect-sockets` (room, ack)      ack(); then nsp.in(room).disconnectSockets()
//! `broadcast-with-ack` (...args, ack)   nsp.timeout(2 s).emit('ask', ...args) and collect the answers:
//!                                       ack({err: "operation has timed out" | null, count})
//! ```
//!
//! (`server-side-emit` has no counterpart: socketioxide has no server-to-server messages.)
//!
//! `/guarded` lets in only `auth.token == "secret"`; others get `44/guarded,{"message":"not
//! authorized"}` (socketioxide's middleware error carries no `data`).
//!
//! ```text
//! socketioxide-peer [--port N] [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES]
//!                   [--connect-timeout MS] [--log-level LEVEL (ignored: it logs nothing)]
//! ```
//!
//! Prints `listening on 127.0.0.1:PORT` on standard output once it accepts connections.

use std::time::Duration;

use futures_util::StreamExt;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::operators::BroadcastOperators;
use socketioxide::socket::Sid;
use tokio::net::TcpListener;

/// All of an event's arguments, received and sent as as many arguments. socketioxide hands a
/// handler every argument only when the extracted type reads itself as a tuple (any other type
/// gets the first argument alone), and sends a tuple as several arguments (a `Vec` would go as
/// one array argument): so `Args` is a tuple of any length both ways.
struct Args(Vec<Value>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Args, D::Error> {
        struct ArgsVisitor;
        impl<'de> Visitor<'de> for ArgsVisitor {
            type Value = Args;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("the arguments of an event")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut args = Vec::new();
                while let Some(value) = seq.next_element()? {
                    args.push(value);
                }
                Ok(Args(args))
            }
        }
        deserializer.deserialize_tuple(usize::MAX, ArgsVisitor)
    }
}

impl Serialize for Args {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for value in &self.0 {
            tuple.serialize_element(value)?;
        }
        tuple.end()
    }
}

/// The first argument as a room name, and the rest.
fn room_and_rest(mut args: Vec<Value>) -> Option<(String, Vec<Value>)> {
    match args.first() {
        Some(Value::String(_)) => {
            let Value::String(room) = args.remove(0) else {
                unreachable!()
            };
            Some((room, args))
        }
        _ => None,
    }
}

/// A namespace's `connection` handler: the interop events.
async fn on_connect(socket: SocketRef, TryData(auth): TryData<Value>) {
    let auth = auth.unwrap_or_else(|_| Value::Object(Default::default()));
    let _ = socket.emit("auth", &auth);
    setup_operators(&socket);

    socket.on("message", async |socket: SocketRef, Data(args): Data<Args>| {
        let _ = socket.emit("message-back", &args);
    });
    socket.on("message-with-ack", async |Data(args): Data<Args>, ack: AckSender| {
        let _ = ack.send(&args);
    });
    socket.on(
        "broadcast",
        async |io: SocketIo, socket: SocketRef, Data(args): Data<Args>| {
            if let Some(nsp) = io.of(socket.ns()) {
                let _ = nsp.emit("broadcast-back", &args).await;
            }
        },
    );
    socket.on(
        "join",
        async |socket: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            if let Some(Value::String(room)) = args.first() {
                socket.join(room.clone());
            }
            let _ = ack.send(&Args(Vec::new()));
        },
    );
    socket.on("to-room", async |socket: SocketRef, Data(Args(args)): Data<Args>| {
        if let Some((room, rest)) = room_and_rest(args) {
            let _ = socket.to(room).emit("room-back", &Args(rest)).await;
        }
    });
    socket.on(
        "except-room",
        async |io: SocketIo, socket: SocketRef, Data(Args(args)): Data<Args>| {
            if let (Some((room, rest)), Some(nsp)) = (room_and_rest(args), io.of(socket.ns())) {
                let _ = nsp.except(room).emit("room-back", &Args(rest)).await;
            }
        },
    );
    socket.on("server-disconnect", async |socket: SocketRef| {
        let _ = socket.disconnect();
    });
    socket.on(
        "emit-with-ack",
        async |socket: SocketRef, Data(Args(args)): Data<Args>| {
            let asked = socket
                .timeout(Duration::from_secs(5))
                .emit_with_ack::<_, Args>("ask", &Args(args));
            let Ok(answer) = asked else { return };
            let _ = match answer.await {
                Ok(answer) => socket.emit("ask-answered", &answer),
                Err(_) => socket.emit("ask-timeout", &Args(Vec::new())),
            };
        },
    );
}

/// What `set-data` keeps on a socket (socket.io's `socket.data`).
#[derive(Clone)]
struct SocketData(Value);

/// The socket whose id is `target` (socket.io's room of one socket, which socketioxide lacks).
fn socket_by_id(nsp: &BroadcastOperators, target: &str) -> Option<SocketRef> {
    nsp.get_socket(target.parse::<Sid>().ok()?)
}

/// Which way `move_sockets` moves.
#[derive(Clone, Copy)]
enum Move {
    Join,
    Leave,
}

/// `sockets-join` / `sockets-leave` (target, room): the sockets in `target` (a room, or one
/// socket's id) join or leave `room`.
async fn move_sockets(io: &SocketIo, socket: &SocketRef, args: &[Value], way: Move) {
    let (Some(Value::String(target)), Some(Value::String(room)), Some(nsp)) =
        (args.first(), args.get(1), io.of(socket.ns()))
    else {
        return;
    };
    match (socket_by_id(&nsp, target), way) {
        (Some(one), Move::Join) => one.join(room.clone()),
        (Some(one), Move::Leave) => one.leave(room.clone()),
        (None, Move::Join) => {
            let _ = nsp.within(target.clone()).join(room.clone()).await;
        }
        (None, Move::Leave) => {
            let _ = nsp.within(target.clone()).leave(room.clone()).await;
        }
    }
}

/// The operators on many sockets.
fn setup_operators(socket: &SocketRef) {
    socket.on(
        "set-data",
        async |socket: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            let value = args.into_iter().next().unwrap_or(Value::Null);
            socket.extensions.insert(SocketData(value));
            let _ = ack.send(&Args(Vec::new()));
        },
    );
    socket.on(
        "fetch-sockets",
        async |io: SocketIo, socket: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            let Some(nsp) = io.of(socket.ns()) else { return };
            let sockets = match args.first() {
                Some(Value::String(room)) => nsp.within(room.clone()).sockets(),
                _ => nsp.sockets(),
            };
            let mut list: Vec<(String, Value)> = sockets
                .iter()
                .map(|s| {
                    let id = s.id.to_string();
                    // socket.io puts every socket in the room of its own id; socketioxide does not.
                    let mut rooms: Vec<String> = s.rooms().iter().map(|r| r.to_string()).collect();
                    rooms.push(id.clone());
                    rooms.sort();
                    let data = s.extensions.get::<SocketData>().map(|d| d.0).unwrap_or(json!({}));
                    (id.clone(), json!({ "id": id, "rooms": rooms, "data": data }))
                })
                .collect();
            list.sort_by(|a, b| a.0.cmp(&b.0));
            let list: Vec<Value> = list.into_iter().map(|(_, entry)| entry).collect();
            let _ = ack.send(&Args(vec![Value::Array(list)]));
        },
    );
    socket.on(
        "sockets-join",
        async |io: SocketIo, socket: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            move_sockets(&io, &socket, &args, Move::Join).await;
            let _ = ack.send(&Args(Vec::new()));
        },
    );
    socket.on(
        "sockets-leave",
        async |io: SocketIo, socket: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            move_sockets(&io, &socket, &args, Move::Leave).await;
            let _ = ack.send(&Args(Vec::new()));
        },
    );
    socket.on(
        "disconnect-sockets",
        async |io: SocketIo, socket: SocketRef, Data(Args(args)): Data<Args>, ack: AckSender| {
            let _ = ack.send(&Args(Vec::new()));
            if let (Some(Value::String(room)), Some(nsp)) = (args.first(), io.of(socket.ns())) {
                let _ = nsp.within(room.clone()).disconnect().await;
            }
        },
    );
    socket.on(
        "broadcast-with-ack",
        async |io: SocketIo, socket: SocketRef, Data(args): Data<Args>, ack: AckSender| {
            let Some(nsp) = io.of(socket.ns()) else { return };
            let asked = nsp
                .timeout(Duration::from_secs(2))
                .emit_with_ack::<_, Value>("ask", &args)
                .await;
            let (mut count, mut error) = (0, Value::Null);
            if let Ok(answers) = asked {
                let mut answers = std::pin::pin!(answers);
                while let Some((_, answer)) = answers.next().await {
                    match answer {
                        Ok(_) => count += 1,
                        Err(_) => error = json!("operation has timed out"),
                    }
                }
            }
            let _ = ack.send(&Args(vec![json!({ "err": error, "count": count })]));
        },
    );
}

/// `/guarded`'s middleware.
async fn guard(TryData(auth): TryData<Value>) -> Result<(), &'static str> {
    match auth {
        Ok(auth) if auth.get("token") == Some(&Value::from("secret")) => Ok(()),
        _ => Err("not authorized"),
    }
}

/// The flags, as `tests/node/reference/interop.mjs` takes them.
struct Flags {
    port: u16,
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: u64,
    connect_timeout: u64,
}

fn parse_flags() -> Result<Flags, String> {
    let mut flags = Flags {
        port: 3000,
        ping_interval: 25_000,
        ping_timeout: 20_000,
        max_payload: 1_000_000,
        connect_timeout: 45_000,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        let value = raw.next().ok_or_else(|| format!("{flag}: missing value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--port" => flags.port = value.parse().map_err(|_| format!("--port: bad port {value}"))?,
            "--ping-interval" => flags.ping_interval = number()?,
            "--ping-timeout" => flags.ping_timeout = number()?,
            "--max-payload" => flags.max_payload = number()?,
            "--connect-timeout" => flags.connect_timeout = number()?,
            "--log-level" => {}
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(flags)
}

async fn serve(flags: Flags) -> std::io::Result<()> {
    let (service, io) = SocketIo::builder()
        .ping_interval(Duration::from_millis(flags.ping_interval))
        .ping_timeout(Duration::from_millis(flags.ping_timeout))
        .max_payload(flags.max_payload)
        .connect_timeout(Duration::from_millis(flags.connect_timeout))
        .build_svc();
    io.ns("/", on_connect);
    io.ns("/custom", on_connect);
    io.ns("/guarded", on_connect.with(guard));

    let listener = TcpListener::bind(("127.0.0.1", flags.port)).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn main() {
    let flags = match parse_flags() {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("socketioxide-peer: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(serve(flags)) {
        eprintln!("socketioxide-peer: {e}");
        std::process::exit(1);
    }
}
