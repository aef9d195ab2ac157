//! What the UI's buttons ask, on an admin socket (the reference's `registerFeatureHandlers`,
//! socket.io 4's form). Each names a namespace and, optionally, a room (`filter`: a socket id is a
//! room too, so one socket is `filter` = its id); without a filter, the whole namespace:
//!
//! ```text
//! ← 42/admin,["emit","/","room1","hello","world"]   io.of("/").in("room1").emit("hello", "world")
//! ← 42/admin,["join","/","room2","<socket id>"]     io.of("/").in("<socket id>").socketsJoin("room2")
//! ← 42/admin,["leave","/","room2"]                  io.of("/").socketsLeave("room2")
//! ← 42/admin,["_disconnect","/",false,"<id>"]       io.of("/").in("<id>").disconnectSockets(false)
//! ```
//!
//! Nothing is answered. A command that names a namespace the server does not have does nothing
//! and is logged (the reference's `io.of(nsp)` would make that namespace); so does one whose
//! arguments are not what the UI sends (a name that is not a string, a reserved event name). A
//! room no socket of this server is in is logged too (then the command reaches no one here; with
//! a cluster adapter, it still reaches the other servers' sockets in it). Read-only instruments
//! register none of them.

use std::sync::Arc;

use log::{debug, warn};
use serde_json::Value;

use super::Admin;
use crate::socketio::{Arg, BroadcastOperator, Namespace, Socket};

/// One command: it gets the command's namespace and the arguments after its name.
type Command = fn(&Namespace, &[Arg]) -> Result<(), Refusal>;

/// The commands by the event names the UI sends.
const COMMANDS: [(&str, Command); 4] = [
    ("emit", command_emit),
    ("join", command_join),
    ("leave", command_leave),
    ("_disconnect", command_disconnect),
];

/// The socket's commands (not when `readonly`).
pub fn register_commands(admin: &Arc<Admin>, socket: &Socket) {
    for (name, command) in COMMANDS {
        let admin = Arc::clone(admin);
        socket.on(name, move |_socket, args, _ack| admin.run(name, &args, command));
    }
}

/// Why a command was not carried out (logged).
type Refusal = String;

/// A string argument, or why not.
fn text<'a>(args: &'a [Arg], index: usize, what: &str) -> Result<&'a str, Refusal> {
    match args.get(index) {
        Some(Arg::Json(Value::String(text))) => Ok(text),
        other => Err(format!("{what} should be a string, not {other:?}")),
    }
}

/// The room filter: absent, `null`, `false` or `""` (JavaScript's falsy values the UI sends)
/// means none.
fn filter(args: &[Arg], index: usize) -> Result<Option<&str>, Refusal> {
    match args.get(index) {
        None | Some(Arg::Json(Value::Null)) | Some(Arg::Json(Value::Bool(false))) => Ok(None),
        Some(Arg::Json(Value::String(room))) if room.is_empty() => Ok(None),
        Some(Arg::Json(Value::String(room))) => Ok(Some(room)),
        Some(other) => Err(format!("the room filter should be a string, not {other:?}")),
    }
}

/// `io.of(nsp)`, or `io.of(nsp).in(filter)`: the sockets a command reaches. A filter that no
/// socket of this server is in is logged (the command still goes to the other servers of a
/// cluster, through the adapter).
fn targets(nsp: &Namespace, filter: Option<&str>) -> BroadcastOperator {
    match filter {
        None => nsp.operator(),
        Some(room) => {
            if nsp.adapter().sockets(&[room.to_string()]).is_empty() {
                warn!("admin: no socket of {} is in room {room:?}", nsp.name());
            }
            nsp.in_(room)
        }
    }
}

impl Admin {
    /// Runs one command: finds its namespace (`args[0]`), then `command`; logs a refusal.
    fn run(&self, name: &str, args: &[Arg], command: Command) {
        let outcome = self.namespace_of(args).and_then(|nsp| command(&nsp, &args[1..]));
        match outcome {
            Ok(()) => debug!("admin: {name} {args:?}: done"),
            Err(refusal) => warn!("admin: {name} {args:?} ignored: {refusal}"),
        }
    }

    /// The namespace named by a command's first argument, if the server has it.
    fn namespace_of(&self, args: &[Arg]) -> Result<Namespace, Refusal> {
        let name = text(args, 0, "the namespace")?;
        let io = self.server().ok_or("the server is gone")?;
        io.namespace(name)
            .ok_or_else(|| format!("there is no namespace {name:?}"))
    }
}

/// `emit` (nsp, filter, event, ...args): `io.of(nsp).in(filter).emit(event, ...args)`.
fn command_emit(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let filter = filter(args, 0)?;
    let event = text(args, 1, "the event name")?;
    let event_args: Vec<Arg> = args.iter().skip(2).cloned().collect();
    targets(nsp, filter).emit(event, event_args).map_err(|e| e.to_string())
}

/// `join` (nsp, room, filter): `io.of(nsp).in(filter).socketsJoin(room)`.
fn command_join(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let room = text(args, 0, "the room")?;
    targets(nsp, filter(args, 1)?).sockets_join(&[room]);
    Ok(())
}

/// `leave` (nsp, room, filter): `io.of(nsp).in(filter).socketsLeave(room)`.
fn command_leave(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let room = text(args, 0, "the room")?;
    targets(nsp, filter(args, 1)?).sockets_leave(&[room]);
    Ok(())
}

/// JavaScript's truthiness, as the reference's `if (close)` reads the UI's `close`: `false`,
/// `null`, `0`, `""` and a missing argument are false, anything else true.
fn truthy(arg: Option<&Arg>) -> bool {
    match arg {
        None | Some(Arg::Json(Value::Null)) | Some(Arg::Json(Value::Bool(false))) => false,
        Some(Arg::Json(Value::Number(n))) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Arg::Json(Value::String(text))) => !text.is_empty(),
        Some(_) => true,
    }
}

/// `_disconnect` (nsp, close, filter): `io.of(nsp).in(filter).disconnectSockets(close)`.
fn command_disconnect(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let close = truthy(args.first());
    targets(nsp, filter(args, 1)?).disconnect_sockets(close);
    Ok(())
}
