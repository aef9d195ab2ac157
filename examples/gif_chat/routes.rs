//! The book's `routes/index.js`: one function per route, in the book's order.
//!
//! | the book                         | here             | answers                                        |
//! |----------------------------------|------------------|------------------------------------------------|
//! | `router.get('/')`                | `render_main`    | the room list and any `roomError` flash        |
//! | `router.get('/room')`            | `render_room`    | the form                                       |
//! | `router.post('/room')`           | `create_room`    | `newRoom` to `/room`, 302 into the room        |
//! | `router.get('/room/:id')`        | `enter_room`     | the chat page, or a flash and 302 to `/`       |
//! | `router.delete('/room/:id')`     | `remove_room`    | (no route: `socket.rs` calls it, see below)    |
//! | `router.post('/room/:id/chat')`  | `send_chat`      | `chat` to the room, `ok`                       |
//! | `router.post('/room/:id/gif')`   | `send_gif`       | the file saved, `chat` to the room, `ok`       |
//!
//! Each takes the request ([`Visit`]) and returns the response; an `Err` is an answer too (an
//! error page, a 4xx text), so a route reads top to bottom with `?` at each check. Nothing is
//! stored until every check has passed.

use std::time::Duration;

use log::{error, info, warn};
use serde_json::{Value, json};
use socketio_book::http;

use crate::app::{App, Visit};
use crate::multipart::{self, MultipartError};
use crate::store::{Chat, Content, Room};
use crate::uploads::{self, MAX_FILE_BYTES};
use crate::web::{Response, encode_uri_component, media_type};

/// `req.flash('roomError', ...)`'s three messages, as the book words them.
pub const NO_SUCH_ROOM: &str = "존재하지 않는 방입니다.";
pub const WRONG_PASSWORD: &str = "비밀번호가 틀렸습니다.";
pub const ROOM_FULL: &str = "허용 인원이 초과하였습니다.";

/// A chat message's length at most, in characters (the book has no limit).
pub const MAX_CHAT_CHARS: usize = 1000;
/// A room title's length at most, in characters (the book has no limit).
const MAX_TITLE_CHARS: usize = 100;
/// A room's capacity at most (the book has only the minimum, 2).
const MAX_CAPACITY: i64 = 1000;
/// `express.urlencoded()`'s and `express.json()`'s default body limit, 100 kB.
const FORM_BODY_LIMIT: usize = 100 * 1024;
/// Room for the multipart framing around the 5 MB file (boundaries, part headers).
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// `setTimeout(() => io.of('/room').emit('removeRoom', id), 2000)`.
const REMOVE_ROOM_DELAY: Duration = Duration::from_secs(2);

/// `router.get('/')`: the rooms, and the message of a refused entry (flashed by `enter_room`).
pub fn render_main(visit: &mut Visit) -> Result<Response, Response> {
    let session = visit.session()?;
    let rooms = visit.app.store.rooms().map_err(|e| visit.app.server_error(&e))?;
    let rooms: Vec<Value> = rooms.iter().map(Room::to_json).collect();
    let error = visit.app.sessions.take_flash(&session.id, "roomError");
    visit.render(
        200,
        "main.html",
        json!({ "rooms": rooms, "title": "GIF 채팅방", "error": error }),
    )
}

/// `router.get('/room')`: the form.
pub fn render_room(visit: &mut Visit) -> Result<Response, Response> {
    visit.session()?;
    visit.render(200, "room.html", json!({ "title": "GIF 채팅방 생성" }))
}

/// `router.post('/room')`: `title`, `max`, `password` from the form; the new room goes to every
/// page on the list (`newRoom` on `/room`), and its creator into it.
pub fn create_room(visit: &mut Visit) -> Result<Response, Response> {
    let session = visit.existing_session()?;
    if media_type(visit.request) != "application/x-www-form-urlencoded" {
        return Err(visit
            .app
            .error_page(415, "the form must be sent as application/x-www-form-urlencoded"));
    }
    let body = visit.body(FORM_BODY_LIMIT)?;
    let body = match String::from_utf8(body) {
        Ok(body) => body,
        Err(_) => return Err(visit.app.error_page(400, "the form is not UTF-8")),
    };
    // title=%EB%B0%A9&max=10&password=  (express.urlencoded({ extended: false }))
    let form = http::parse_query(&body);
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or("")
    };
    // The schema's rules: title required; max required, default 10, at least 2.
    let title = field("title").trim();
    if title.is_empty() {
        return Err(visit.app.error_page(400, "방 제목을 입력하세요. (title is required)"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(visit
            .app
            .error_page(400, &format!("방 제목은 {MAX_TITLE_CHARS}자까지입니다.")));
    }
    let max = match field("max").trim() {
        "" => 10,
        text => match text.parse::<i64>() {
            Ok(max) if (2..=MAX_CAPACITY).contains(&max) => max,
            _ => {
                let message = format!("허용 인원은 2명에서 {MAX_CAPACITY}명 사이의 숫자입니다. (max: {text:?})");
                return Err(visit.app.error_page(400, &message));
            }
        },
    };
    let password = match field("password") {
        "" => None,
        password => Some(password),
    };
    let room = visit
        .app
        .store
        .create_room(title, max, &session.color, password)
        .map_err(|e| visit.app.server_error(&e))?;
    info!("room {} {:?} created by {}", room.id, room.title, session.color);
    // io.of('/room').emit('newRoom', newRoom)
    let _ = visit.app.io.of("/room").emit("newRoom", vec![room.to_json().into()]);
    // res.redirect(`/room/${newRoom._id}?password=${req.body.password}`)
    let location = match password {
        Some(password) => format!("/room/{}?password={}", room.id, encode_uri_component(password)),
        None => format!("/room/{}", room.id),
    };
    Ok(Response::redirect(&location))
}

/// Why a visitor may not enter `room`, or `None`: the checks of `router.get('/room/:id')`, in the
/// book's order. The `/chat` middleware (`socket.rs`) asks the same of each connection, so a
/// socket cannot skip the page's checks.
pub fn entry_refusal(room: Option<&Room>, password: Option<&str>, members: usize) -> Option<&'static str> {
    let room = match room {
        Some(room) => room,
        None => return Some(NO_SUCH_ROOM),
    };
    // if (room.password && room.password !== req.query.password)
    if let Some(expected) = &room.password {
        if password != Some(expected.as_str()) {
            return Some(WRONG_PASSWORD);
        }
    }
    // if (rooms && rooms[req.params.id] && room.max <= rooms[req.params.id].length)
    if room.max <= members as i64 {
        return Some(ROOM_FULL);
    }
    None
}

/// `/room/12` -> `Some(12)`; anything but 1 to 18 digits is no room id.
pub fn parse_room_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `router.get('/room/:id')`: the chat page with the room's earlier messages, unless the room
/// is unknown, the password wrong or the room full: then a flash message and back to `/`.
pub fn enter_room(visit: &mut Visit, id: &str) -> Result<Response, Response> {
    let session = visit.session()?;
    let room = find_room(visit, id)?;
    let members = match &room {
        Some(room) => visit.app.room_size(room.id),
        None => 0,
    };
    let password = visit.request.query_param("password");
    if let Some(refusal) = entry_refusal(room.as_ref(), password, members) {
        info!("{} may not enter room {id}: {refusal}", session.color);
        visit.app.sessions.flash(&session.id, "roomError", refusal);
        return Ok(Response::redirect("/"));
    }
    let room = room.expect("entry_refusal refuses a missing room");
    let chats = visit.app.store.chats(room.id).map_err(|e| visit.app.server_error(&e))?;
    let chats: Vec<Value> = chats.iter().map(|chat| chat.to_json()).collect();
    visit.render(
        200,
        "chat.html",
        json!({ "room": room.to_json(), "title": room.title, "chats": chats, "user": session.color }),
    )
}

/// `router.delete('/room/:id')`, which the book's `socket.js` calls over HTTP (axios) when the
/// last person leaves: here `socket.rs` calls it directly (a public DELETE route would let anyone
/// delete any room). Removes the room and its chats (and their files), then tells the list
/// pages 2 s later (`removeRoom` on `/room`, from the server's timer thread).
pub fn remove_room(app: &App, id: i64) {
    let gifs: Vec<String> = match app.store.chats(id) {
        Ok(chats) => chats
            .into_iter()
            .filter_map(|chat| match chat.content {
                Content::Gif(name) => Some(name),
                Content::Text(_) => None,
            })
            .collect(),
        Err(e) => {
            error!("room {id}: cannot read its chats: {e}");
            Vec::new()
        }
    };
    match app.store.remove_room(id) {
        Ok(true) => info!("room {id} removed (방 제거 요청 성공)"),
        Ok(false) => return, // already removed (two last sockets left at once)
        Err(e) => {
            error!("room {id}: cannot remove it: {e}");
            return;
        }
    }
    for name in gifs {
        if let Err(e) = std::fs::remove_file(app.uploads.join(&name)) {
            warn!("room {id}: cannot remove uploads/{name}: {e}");
        }
    }
    let room_namespace = app.io.of("/room");
    app.io.engine().timers().set_timeout(REMOVE_ROOM_DELAY, move || {
        let _ = room_namespace.emit("removeRoom", vec![id.to_string().into()]);
    });
}

/// `Room.findOne({ _id: req.params.id })`: `None` for an id that is not one.
fn find_room(visit: &Visit, id: &str) -> Result<Option<Room>, Response> {
    match parse_room_id(id) {
        Some(id) => visit.app.store.room(id).map_err(|e| visit.app.server_error(&e)),
        None => Ok(None),
    }
}

/// The room a `POST /room/:id/...` writes to: 404 if there is none.
fn existing_room(visit: &Visit, id: &str) -> Result<Room, Response> {
    match find_room(visit, id)? {
        Some(room) => Ok(room),
        None => Err(Response::text(404, NO_SUCH_ROOM)),
    }
}

/// Checks a message: not blank, at most [`MAX_CHAT_CHARS`]; the error is `(status, text)`.
pub fn check_message(text: &str) -> Result<(), (u16, String)> {
    if text.trim().is_empty() {
        return Err((400, "empty message".to_string()));
    }
    let length = text.chars().count();
    if length > MAX_CHAT_CHARS {
        return Err((
            413,
            format!("message too long: {length} characters, at most {MAX_CHAT_CHARS}"),
        ));
    }
    Ok(())
}

/// `router.post('/room/:id/chat')`: `{"chat":"..."}` as JSON (the page's fetch); stored, then
/// `chat` to every socket in the room (the writer's page shows it when it comes back).
pub fn send_chat(visit: &mut Visit, id: &str) -> Result<Response, Response> {
    let session = visit.existing_session()?;
    let room = existing_room(visit, id)?;
    if media_type(visit.request) != "application/json" {
        return Err(Response::text(
            415,
            "send the message as application/json: {\"chat\":\"...\"}",
        ));
    }
    let body = visit.body(FORM_BODY_LIMIT)?;
    let text = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => match object.get("chat") {
            Some(Value::String(text)) => text.clone(),
            _ => return Err(Response::text(400, "expected {\"chat\":\"...\"}")),
        },
        _ => return Err(Response::text(400, "expected {\"chat\":\"...\"}")),
    };
    check_message(&text).map_err(|(status, why)| Response::text(status, &why))?;
    let chat = visit
        .app
        .store
        .add_chat(room.id, &session.color, &Content::Text(text))
        .map_err(|e| visit.app.server_error(&e))?;
    emit_chat(visit.app, &chat);
    Ok(Response::text(200, "ok"))
}

/// `req.app.get('io').of('/chat').to(req.params.id).emit('chat', chat)`: a stored line to every
/// socket in its room.
fn emit_chat(app: &App, chat: &Chat) {
    let _ = app
        .chat()
        .to(&chat.room.to_string())
        .emit("chat", vec![chat.to_json().into()]);
}

/// `router.post('/room/:id/gif', upload.single('gif'))`: one file in field `gif`, at most 5 MB,
/// an image by its bytes; saved under `uploads/`, stored, then `chat` to the room.
pub fn send_gif(visit: &mut Visit, id: &str) -> Result<Response, Response> {
    let session = visit.existing_session()?;
    let room = existing_room(visit, id)?;
    if media_type(visit.request) != "multipart/form-data" {
        return Err(Response::text(
            415,
            "send the file as multipart/form-data, in field \"gif\"",
        ));
    }
    let content_type = visit.request.header("content-type").unwrap_or("");
    let boundary = multipart::boundary(content_type).map_err(|e| Response::text(400, &e.to_string()))?;
    let body = visit.body(MAX_FILE_BYTES + MULTIPART_OVERHEAD)?;
    let parts = match multipart::parse(&body, &boundary, MAX_FILE_BYTES) {
        Ok(parts) => parts,
        Err(MultipartError::FileTooLarge) => {
            return Err(Response::text(
                413,
                &format!("File too large (at most {MAX_FILE_BYTES} bytes)"),
            ));
        }
        Err(e) => return Err(Response::text(400, &e.to_string())),
    };
    // upload.single('gif'): one file, in field "gif"; a file in any other field, or a second
    // one, is multer's "Unexpected field". Text fields are allowed and ignored.
    let mut file = None;
    for part in parts {
        if part.filename.is_none() {
            continue;
        }
        if part.name != "gif" || file.is_some() {
            return Err(Response::text(400, &format!("Unexpected field {:?}", part.name)));
        }
        file = Some(part);
    }
    let file = match file {
        Some(file) => file,
        None => return Err(Response::text(400, "no file in field \"gif\"")),
    };
    if file.data.is_empty() {
        return Err(Response::text(400, "the file is empty"));
    }
    let image = match uploads::image_type(&file.data) {
        Some(image) => image,
        None => return Err(Response::text(415, "not an image: GIF, PNG, JPEG or WebP only")),
    };
    let original_name = file.filename.as_deref().unwrap_or("");
    let name =
        uploads::save(&visit.app.uploads, original_name, image, &file.data).map_err(|e| visit.app.server_error(&e))?;
    info!(
        "{} uploaded {original_name:?} ({} bytes, {}) as uploads/{name}",
        session.color,
        file.data.len(),
        image.mime
    );
    let chat = match visit
        .app
        .store
        .add_chat(room.id, &session.color, &Content::Gif(name.clone()))
    {
        Ok(chat) => chat,
        Err(e) => {
            // Not stored after all: the file goes too.
            let _ = std::fs::remove_file(visit.app.uploads.join(&name));
            return Err(visit.app.server_error(&e));
        }
    };
    emit_chat(visit.app, &chat);
    Ok(Response::text(200, "ok"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(max: i64, password: Option<&str>) -> Room {
        Room {
            id: 1,
            title: "t".into(),
            max,
            owner: "#000000".into(),
            password: password.map(str::to_string),
            created_at: String::new(),
        }
    }

    #[test]
    fn entry_rules_in_the_books_order() {
        assert_eq!(entry_refusal(None, None, 0), Some(NO_SUCH_ROOM));
        assert_eq!(entry_refusal(Some(&room(2, None)), None, 1), None);
        assert_eq!(entry_refusal(Some(&room(2, None)), None, 2), Some(ROOM_FULL));
        assert_eq!(entry_refusal(Some(&room(2, Some("pw"))), None, 0), Some(WRONG_PASSWORD));
        assert_eq!(
            entry_refusal(Some(&room(2, Some("pw"))), Some("PW"), 0),
            Some(WRONG_PASSWORD)
        );
        assert_eq!(entry_refusal(Some(&room(2, Some("pw"))), Some("pw"), 0), None);
        // A wrong password is said before a full room, as in the book.
        assert_eq!(
            entry_refusal(Some(&room(2, Some("pw"))), Some("x"), 5),
            Some(WRONG_PASSWORD)
        );
    }

    #[test]
    fn room_ids_and_messages() {
        assert_eq!(parse_room_id("12"), Some(12));
        for bad in ["", "-1", "1e3", "12a", "../1", "9999999999999999999"] {
            assert_eq!(parse_room_id(bad), None, "{bad}");
        }
        assert!(check_message("hi").is_ok());
        assert_eq!(check_message(" \n").unwrap_err().0, 400);
        assert!(check_message(&"가".repeat(MAX_CHAT_CHARS)).is_ok());
        assert_eq!(check_message(&"가".repeat(MAX_CHAT_CHARS + 1)).unwrap_err().0, 413);
    }
}
