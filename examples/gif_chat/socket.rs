//! The book's `socket.js`: the namespaces `/room` (the room list) and `/chat` (the rooms), the
//! session shared with Socket.IO, entry and exit messages, and the room's removal when its last
//! member leaves; then the exercises after the chapter: the participant list, whispers, and the
//! system messages stored with the chat.
//!
//! On the wire (`/chat` events are sent to the Socket.IO room named after the room id, `"1"`):
//!
//! ```text
//! main page    -> 40/room,                         joins /room: the list's live updates
//!              <- 42/room,["newRoom",{...}]        a room was created (routes.rs)
//!              <- 42/room,["removeRoom","1"]       2 s after its last member left
//! chat page    -> 40/chat,                         with the page's Cookie and Referer headers
//!              <- 40/chat,{"sid":"<socket id>"}    or 44/chat,{"message":"비밀번호가 틀렸습니다."}
//!   others     <- 42/chat,["join",{"user":"system","chat":"#501f93님이 입장하셨습니다."}]
//!   everyone   <- 42/chat,["participants",{"count":2,"participants":[{"id":"<socket id>","color":"#501f93"},...]}]
//!              -> 42/chat,0["whisper",{"to":"<socket id>","chat":"psst"}]
//!   the target <- 42/chat,["whisper",{"from":"#501f93","chat":"psst"}]
//!              <- 43/chat,0[{"ok":true,"to":"#53aca8"}]     (or [{"error":"..."}])
//!   others     <- 42/chat,["exit",{"user":"system","chat":"#501f93님이 퇴장하셨습니다."}]
//! ```
//!
//! Where socket.io 4 differs from the book's socket.io 2 (see NOTES.md):
//! - the book's `io.use(...)` on `/` ran for `/chat` only because a 2.x client always joined `/`
//!   first; a 4.x client joins `/chat` alone, so the session middleware is `/chat`'s own
//!   (`chat.use(wrap(sessionMiddleware))` in the book's later editions);
//! - `socket.adapter.rooms[roomId].length` is now `rooms.get(roomId).size`; and the socket has
//!   already left its rooms when `disconnect` runs (the book's `socket.leave` is not needed);
//! - the server's `axios.delete('http://localhost:8005/room/' + id)` to itself is a direct call
//!   of `routes::remove_room`.

use std::sync::Arc;

use log::{error, info, warn};
use serde_json::{Value, json};
use socketio_book::http::parse_query;
use socketio_book::socketio::{Ack, Arg, ConnectError, Handshake, Socket};

use crate::app::{App, color_in};
use crate::routes::{self, entry_refusal, parse_room_id};
use crate::session::Session;
use crate::store::Content;

/// The room a chat page is about, from its URL in the handshake's `Referer` header:
/// `http://localhost:8005/room/1?password=pw` -> `(1, Some("pw"))`. The book takes the last
/// path segment of any URL; here the path must be `/room/<id>`.
pub fn room_from_referer(referer: &str) -> Option<(i64, Option<String>)> {
    // Drop "scheme://host", keep the path and the query.
    let after_scheme = referer.split_once("://")?.1;
    let path_and_query = &after_scheme[after_scheme.find('/')?..];
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, query),
        None => (path_and_query, ""),
    };
    let id = parse_room_id(path.strip_prefix("/room/")?)?;
    let password = parse_query(query)
        .into_iter()
        .find(|(key, _)| key == "password")
        .map(|(_, value)| value);
    Some((id, password))
}

/// Who a `/chat` handshake is from and which room it is for: the session of its `Cookie` header
/// and the room of its `Referer` (the page it was opened from). The error is the message the
/// client gets in `connect_error`.
fn member_of(app: &App, handshake: &Handshake) -> Result<(Session, i64, Option<String>), String> {
    let session = match app.sessions.by_cookie(handshake.header("cookie")) {
        Ok(session) => session,
        Err(why) => return Err(why.message().to_string()),
    };
    let referer = handshake.header("referer").unwrap_or("");
    match room_from_referer(referer) {
        Some((room, password)) => Ok((session, room, password)),
        None => Err(format!("no room page in the Referer header ({referer:?})")),
    }
}

/// The `/chat` middleware: the session must be known, the Referer a room's page, and the room
/// must let this visitor in (the same checks as `GET /room/:id`: it exists, the password of the
/// Referer is its password, it is not full).
fn chat_middleware(app: &App, socket: &Socket) -> Result<(), ConnectError> {
    let refuse = |message: String| {
        warn!("/chat: socket {} refused: {message}", socket.id());
        Err(ConnectError { message, data: None })
    };
    let (_session, room_id, password) = match member_of(app, socket.handshake()) {
        Ok(member) => member,
        Err(message) => return refuse(message),
    };
    let room = match app.store.room(room_id) {
        Ok(room) => room,
        Err(e) => {
            error!("/chat: cannot read room {room_id}: {e}");
            return refuse("server error".to_string());
        }
    };
    match entry_refusal(room.as_ref(), password.as_deref(), app.room_size(room_id)) {
        Some(refusal) => refuse(refusal.to_string()),
        None => Ok(()),
    }
}

/// A system message: stored with the room's chats (the exercise), and the event's data.
fn system_message(app: &App, room_id: i64, text: String) -> Arg {
    if let Err(e) = app.store.add_chat(room_id, "system", &Content::Text(text.clone())) {
        error!("room {room_id}: cannot store {text:?}: {e}");
    }
    json!({ "user": "system", "chat": text }).into()
}

/// `participants` to everyone in the room: how many (the room's size, as `GET /room/:id` counts
/// it), and who (socket id and colour).
fn send_participants(app: &App, room_id: i64) {
    let list: Vec<Value> = app
        .participants(room_id)
        .into_iter()
        .map(|(id, color)| json!({ "id": id, "color": color }))
        .collect();
    let data = json!({ "count": app.room_size(room_id), "participants": list });
    let _ = app
        .chat()
        .to(&room_id.to_string())
        .emit("participants", vec![data.into()]);
}

/// `whisper`: `{"to":"<socket id>","chat":"..."}` to one member of the same room, and only to
/// it (`io.of('/chat').to(socketId).emit(...)`: a socket id is a room of one). Not stored.
fn whisper(app: &App, socket: &Socket, room_id: i64, args: &[Arg]) -> Value {
    let (to, text) = match args.first() {
        Some(Arg::Json(Value::Object(object))) => match (object.get("to"), object.get("chat")) {
            (Some(Value::String(to)), Some(Value::String(text))) => (to.clone(), text.clone()),
            _ => return json!({ "error": "expected {\"to\":\"<socket id>\",\"chat\":\"...\"}" }),
        },
        _ => return json!({ "error": "expected {\"to\":\"<socket id>\",\"chat\":\"...\"}" }),
    };
    if let Err((_status, why)) = routes::check_message(&text) {
        return json!({ "error": why });
    }
    if to == socket.id() {
        return json!({ "error": "cannot whisper to yourself" });
    }
    let target = app.participants(room_id).into_iter().find(|(id, _color)| *id == to);
    let to_color = match target {
        Some((_id, color)) => color,
        None => return json!({ "error": "no such participant in this room" }),
    };
    let from = color_in(&socket.data());
    let _ = app
        .chat()
        .to(&to)
        .emit("whisper", vec![json!({ "from": from, "chat": text }).into()]);
    info!("room {room_id}: whisper from {} to {to}", socket.id());
    json!({ "ok": true, "to": to_color })
}

/// `chat.on('connection', ...)`: join the room of the page, tell the others.
fn on_chat_connection(app: &Arc<App>, socket: &Socket) {
    info!("chat 네임스페이스에 접속 {}", socket.id());
    // The middleware has checked this handshake; this reads the same two headers again.
    let (session, room_id, _password) = match member_of(app, socket.handshake()) {
        Ok(member) => member,
        Err(message) => {
            warn!("/chat: socket {}: {message}", socket.id());
            socket.disconnect(false);
            return;
        }
    };
    let room = room_id.to_string();
    // What the book reads from `socket.request.session` later, kept where socket.io 4 keeps a
    // socket's own data (fetch_sockets returns it too).
    socket.set_data(json!({ "color": session.color, "room": room_id }));
    // socket.join(roomId); socket.to(roomId).emit('join', { user: 'system', chat: ... })
    socket.join(&room);
    let joined = system_message(app, room_id, format!("{}님이 입장하셨습니다.", session.color));
    let _ = socket.to(&room).emit("join", vec![joined]);
    send_participants(app, room_id);

    let for_whisper = Arc::clone(app);
    socket.on("whisper", move |socket: &Socket, args: Vec<Arg>, ack: Option<Ack>| {
        let answer = whisper(&for_whisper, socket, room_id, &args);
        if let Some(ack) = ack {
            let _ = ack.send(vec![answer.into()]);
        }
    });

    let for_disconnect = Arc::clone(app);
    socket.on_disconnect(move |socket: &Socket, reason: &str| {
        let app = &for_disconnect;
        info!("chat 네임스페이스 접속 해제 {} ({reason})", socket.id());
        // The socket has left the room already (socket.io 4 leaves every room before
        // `disconnect`), so this counts the others.
        if app.room_size(room_id) == 0 {
            routes::remove_room(app, room_id);
        } else {
            let left = system_message(app, room_id, format!("{}님이 퇴장하셨습니다.", session.color));
            let _ = app.chat().to(&room_id.to_string()).emit("exit", vec![left]);
            send_participants(app, room_id);
        }
    });
}

/// `module.exports = (server, app, sessionMiddleware) => { ... }`.
pub fn socket_js(app: &Arc<App>) {
    let room = app.io.of("/room");
    let chat = app.chat();

    // chat.use(wrap(sessionMiddleware)) (the book: io.use(...) on "/", see the module doc)
    let for_middleware = Arc::clone(app);
    chat.use_middleware(move |socket: &Socket| chat_middleware(&for_middleware, socket));

    room.on_connection(|socket: &Socket| {
        info!("room 네임스페이스에 접속 {}", socket.id());
        socket.on_disconnect(|socket: &Socket, reason: &str| {
            info!("room 네임스페이스 접속 해제 {} ({reason})", socket.id());
        });
    });

    let for_connection = Arc::clone(app);
    chat.on_connection(move |socket: &Socket| on_chat_connection(&for_connection, socket));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_from_referers() {
        assert_eq!(room_from_referer("http://localhost:8005/room/12"), Some((12, None)));
        assert_eq!(
            room_from_referer("http://127.0.0.1:39017/room/3?password=%EB%B9%84%EB%B0%80"),
            Some((3, Some("비밀".to_string())))
        );
        for bad in [
            "",
            "http://localhost:8005/",
            "http://localhost:8005/room/",
            "http://localhost:8005/room/abc",
            "http://localhost:8005/other/12",
            "http://localhost:8005/room/12/chat",
            "/room/12",
        ] {
            assert_eq!(room_from_referer(bad), None, "{bad}");
        }
    }
}
