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
//! Nothing is answered. A command that names a namespace the server does not have, or a room no
//! socket is in, does nothing and is logged (the reference's `io.of(nsp)` would make that
//! namespace); so is one whose arguments are not what the UI sends (a name that is not a
//! string, a reserved event name). Read-only instruments register none of them.

use std::sync::Arc;

use log::{debug, warn};
use serde_json::Value;

use super::Admin;
use crate::socketio::{Arg, Namespace, Socket};

/// The socket's commands (not when `readonly`).
pub fn register_commands(admin: &Arc<Admin>, socket: &Socket) {
    let on_emit = Arc::clone(admin);
    socket.on("emit", move |_socket, args, _ack| on_emit.run("emit", &args, command_emit));
    let on_join = Arc::clone(admin);
    socket.on("join", move |_socket, args, _ack| on_join.run("join", &args, command_join));
    let on_leave = Arc::clone(admin);
    socket.on("leave", move |_socket, args, _ack| on_leave.run("leave", &args, command_leave));
    let on_disconnect = Arc::clone(admin);
    socket.on("_disconnect", move |_socket, args, _ack| {
        on_disconnect.run("_disconnect", &args, command_disconnect)
    });
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

/// The sockets of `nsp` a command reaches: all, or those in the room `filter`; an error when
/// the filter matches no socket.
fn targets(nsp: &Namespace, filter: Option<&str>) -> Result<Vec<Socket>, Refusal> {
    let sockets = nsp.sockets();
    let room = match filter {
        None => return Ok(sockets),
        Some(room) => room,
    };
    let chosen: Vec<Socket> = sockets
        .into_iter()
        .filter(|socket| socket.rooms().contains(room))
        .collect();
    if chosen.is_empty() {
        return Err(format!("no socket of {} is in room {room:?}", nsp.name()));
    }
    Ok(chosen)
}

impl Admin {
    /// Runs one command: finds its namespace (`args[0]`), then `command`; logs a refusal.
    fn run(&self, name: &str, args: &[Arg], command: fn(&Namespace, &[Arg]) -> Result<(), Refusal>) {
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
        io.namespace(name).ok_or_else(|| format!("there is no namespace {name:?}"))
    }
}

/// `emit` (nsp, filter, event, ...args): `io.of(nsp).in(filter).emit(event, ...args)`.
fn command_emit(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let filter = filter(args, 0)?;
    let event = text(args, 1, "the event name")?;
    let event_args: Vec<Arg> = args.iter().skip(2).cloned().collect();
    let sockets = targets(nsp, filter)?;
    for socket in sockets {
        socket.emit(event, event_args.clone()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `join` (nsp, room, filter): `io.of(nsp).in(filter).socketsJoin(room)`.
fn command_join(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let room = text(args, 0, "the room")?;
    for socket in targets(nsp, filter(args, 1)?)? {
        socket.join(room);
    }
    Ok(())
}

/// `leave` (nsp, room, filter): `io.of(nsp).in(filter).socketsLeave(room)`.
fn command_leave(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let room = text(args, 0, "the room")?;
    for socket in targets(nsp, filter(args, 1)?)? {
        socket.leave(room);
    }
    Ok(())
}

/// `_disconnect` (nsp, close, filter): `io.of(nsp).in(filter).disconnectSockets(close)`.
fn command_disconnect(nsp: &Namespace, args: &[Arg]) -> Result<(), Refusal> {
    let close = match args.first() {
        Some(Arg::Json(Value::Bool(close))) => *close,
        None | Some(Arg::Json(Value::Null)) => false,
        Some(other) => return Err(format!("close should be true or false, not {other:?}")),
    };
    for socket in targets(nsp, filter(args, 1)?)? {
        socket.disconnect(close);
    }
    Ok(())
}
