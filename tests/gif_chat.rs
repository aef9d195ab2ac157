//! The GIF chat example (`examples/gif_chat`) over HTTP and raw Socket.IO polling: every route and
//! its errors, the store (read straight from the SQLite file the server writes), the `/chat`
//! middleware's refusals, and the room's removal when its last member leaves; then the browser
//! story (`tests/browser/gif_chat.test.mjs`, three people in headless Chromium).
//!
//! Each test starts the example binary on a free port (`--port 0`, `listening on ...`) with a
//! data folder of its own, and checks that bad input gets its clear answer and leaves nothing
//! behind: no row, no file, no panic in the log.

mod support;

use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;
use support::*;

/// The book's flash messages.
const NO_SUCH_ROOM: &str = "존재하지 않는 방입니다.";
const WRONG_PASSWORD: &str = "비밀번호가 틀렸습니다.";
const ROOM_FULL: &str = "허용 인원이 초과하였습니다.";

/// A 1x1 GIF.
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
/// The start of a PNG (its signature and more bytes).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01";

/// A data folder of its own, removed at the end.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let path = std::env::temp_dir().join(format!("gif_chat_test_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        DataDir(path)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example running on a free port with its data folder.
struct Site {
    // Dropped in this order: the server is stopped before its folder is removed.
    server: EchoServer,
    data: PathBuf,
    _owned: Option<DataDir>,
}

impl Site {
    /// With a new data folder of its own.
    fn start(name: &str) -> Site {
        let dir = DataDir::new(name);
        let mut site = Site::start_in(&dir.0);
        site._owned = Some(dir);
        site
    }

    /// On the data folder `data`, which outlives it.
    fn start_in(data: &Path) -> Site {
        Site {
            server: start_gif_chat(data),
            data: data.to_path_buf(),
            _owned: None,
        }
    }

    fn port(&self) -> u16 {
        self.server.port
    }

    /// `METHOD path` with these headers and body (a `Content-Length` for a POST), its answer.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut http = Http::connect(self.port());
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if method == "POST" {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        http.send(&bytes);
        http.read_response()
    }

    fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        match cookie {
            Some(cookie) => self.request("GET", path, &[("Cookie", cookie)], b""),
            None => self.request("GET", path, &[], b""),
        }
    }

    fn post(&self, path: &str, cookie: Option<&str>, content_type: &str, body: &[u8]) -> Response {
        let mut headers = vec![("Content-Type", content_type)];
        if let Some(cookie) = cookie {
            headers.push(("Cookie", cookie));
        }
        self.request("POST", path, &headers, body)
    }

    /// A new visitor: `GET /`, and the `connect.sid=...` pair of the cookie it was given.
    fn visitor(&self) -> String {
        let page = self.get("/", None);
        assert_eq!(page.status, 200, "{page:?}");
        cookie_of(&page)
    }

    /// `POST /room` with a form; returns the answer.
    fn create_room(&self, cookie: &str, form: &str) -> Response {
        self.post(
            "/room",
            Some(cookie),
            "application/x-www-form-urlencoded",
            form.as_bytes(),
        )
    }

    /// The database, read-only.
    fn db(&self) -> rusqlite::Connection {
        let path = self.data.join("gif_chat.sqlite3");
        let db =
            rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the database");
        db.busy_timeout(Duration::from_secs(5)).unwrap();
        db
    }

    fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |row| row.get(0)).expect(sql)
    }

    /// The files under `uploads/`, sorted.
    fn uploads(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.data.join("uploads"))
            .expect("uploads/")
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Nothing panicked in the server.
    fn assert_no_panic(&self) {
        let log = self.server.log();
        assert!(!log.contains("panicked"), "{log}");
    }
}

/// `gif_chat --host 127.0.0.1 --port 0 --log-level debug --trace --data DIR`.
fn start_gif_chat(data: &Path) -> EchoServer {
    let mut command = Command::new(example_binary("gif_chat"));
    command
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--log-level",
            "debug",
            "--trace",
            "--data",
        ])
        .arg(data)
        .env_remove("PORT")
        .env_remove("RUST_LOG")
        .env_remove("COOKIE_SECRET");
    EchoServer::start_command("gif_chat", command)
}

/// The `connect.sid=...` pair of an answer's `Set-Cookie`, checked against express-session's form.
fn cookie_of(response: &Response) -> String {
    let set_cookie = response
        .header("Set-Cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {response:?}"));
    let (pair, attributes) = set_cookie.split_once("; ").expect("attributes");
    assert_eq!(attributes, "Path=/; HttpOnly", "{set_cookie}");
    let value = pair.strip_prefix("connect.sid=s%3A").expect("connect.sid=s%3A...");
    let (id, signature) = value.split_once('.').expect("id.signature");
    assert_eq!(id.len(), 32, "{set_cookie}");
    assert!(
        id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{set_cookie}"
    );
    // 43 base64 characters (32 bytes, no "="), with "+" and "/" as %2B and %2F.
    let signature = signature.replace("%2B", "+").replace("%2F", "/");
    assert_eq!(signature.len(), 43, "{set_cookie}");
    pair.to_string()
}

/// The same cookie with the last character of its signature changed.
fn forged(cookie: &str) -> String {
    let mut forged = cookie.to_string();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    forged
}

/// The visitor's colour, as the chat page sets it: `var USER = "#501f93";`.
fn user_color(page: &Response) -> String {
    let text = page.text();
    let start = text.find("var USER = \"").expect("var USER") + "var USER = \"".len();
    text[start..start + 7].to_string()
}

/// The text of the main page's `<div class="error-message">`.
fn flash_of(page: &Response) -> String {
    let text = page.text();
    let start = text.find("<div class=\"error-message\">").expect("error-message") + 27;
    let end = start + text[start..].find("</div>").unwrap();
    text[start..end].to_string()
}

fn form_body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(filename) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: image/gif\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

const MULTIPART: &str = "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW";
const BOUNDARY: &str = "----WebKitFormBoundary7MA4YWxkTrZu0gW";

// ----- a raw Socket.IO client over polling ----------------------------------------------------

/// A client of one namespace over polling (`support::Polling`), and the packets it received
/// but has not looked at yet.
struct Client {
    session: Polling,
    pending: Vec<String>,
}

impl Client {
    /// Handshake with these headers (the browser's `Cookie` and `Referer`), then CONNECT to
    /// `nsp`; returns the client and the answer to the CONNECT (`40/chat,{"sid":...}` or
    /// `44/chat,{...}`).
    fn connect(port: u16, nsp: &str, headers: &[(&str, &str)]) -> (Client, Vec<String>) {
        let mut session = Polling::open_with(port, headers);
        session.post(&format!("40{nsp},"));
        let mut packets = session.get();
        let pending = packets.split_off(1.min(packets.len()));
        (Client { session, pending }, packets)
    }

    /// The first packet that starts with `prefix`, from those received already or by polling
    /// (packets before it are dropped, those after it kept; pings are answered).
    fn expect(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(index) = self.pending.iter().position(|packet| packet.starts_with(prefix)) {
                let packet = self.pending[index].clone();
                self.pending.drain(..=index);
                return packet;
            }
            assert!(Instant::now() < deadline, "no packet {prefix:?} within 10 s");
            for packet in self.session.get() {
                if packet == "2" {
                    self.session.post("3");
                } else {
                    self.pending.push(packet);
                }
            }
        }
    }

    fn send(&mut self, packet: &str) {
        self.session.post(packet);
    }
}

/// The socket id in `40/chat,{"sid":"..."}`.
fn socket_id(packet: &str, nsp: &str) -> String {
    let json = packet
        .strip_prefix(&format!("40{nsp},"))
        .unwrap_or_else(|| panic!("not a CONNECT answer: {packet:?}"));
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value["sid"].as_str().unwrap().to_string()
}

/// `44/chat,{"message":"..."}` -> the message.
fn refusal(packets: &[String]) -> String {
    let json = packets[0]
        .strip_prefix("44/chat,")
        .unwrap_or_else(|| panic!("not a CONNECT_ERROR: {packets:?}"));
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(value.as_object().unwrap().len(), 1, "only a message: {json}");
    value["message"].as_str().unwrap().to_string()
}

// ----- the tests -------------------------------------------------------------------------------

#[test]
fn pages_static_files_and_the_session_cookie() {
    let site = Site::start("pages");
    let first = site.get("/", None);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert!(first.text().contains("<title>GIF 채팅방</title>"), "{first:?}");
    let cookie = cookie_of(&first);
    // A known session: no new cookie.
    let again = site.get("/", Some(&cookie));
    assert_eq!(again.status, 200);
    assert_eq!(again.header("Set-Cookie"), None);
    // A forged cookie is ignored (a new session, as express-session does) and logged.
    let forged_visit = site.get("/", Some(&forged(&cookie)));
    assert_eq!(forged_visit.status, 200);
    assert_ne!(cookie_of(&forged_visit), cookie);
    site.server.expect_log("forged session cookie ignored: a new session");
    // The form.
    let form = site.get("/room", Some(&cookie));
    assert_eq!(form.status, 200);
    assert!(
        form.text().contains(r#"<form action="/room" method="post">"#),
        "{form:?}"
    );
    // express.static: the stylesheet; serveClient: our client script.
    let css = site.get("/main.css", None);
    assert_eq!(
        (css.status, css.header("Content-Type")),
        (200, Some("text/css; charset=utf-8"))
    );
    let script = site.get("/socket.io/socket.io.js", None);
    assert_eq!(script.status, 200);
    assert_eq!(script.body, std::fs::read("www/socket.io.js").unwrap());
    // The 404 handler's error page; the book's DELETE /room/:id is no route here.
    for (method, path) in [
        ("GET", "/nope"),
        ("DELETE", "/room/1"),
        ("PUT", "/room"),
        ("GET", "/room/1/chat"),
    ] {
        let missing = site.request(method, path, &[], b"");
        assert_eq!(missing.status, 404, "{method} {path}: {missing:?}");
        assert!(missing.text().contains("<h1>Not Found</h1>"), "{missing:?}");
    }
    site.assert_no_panic();
}

#[test]
fn creating_and_entering_rooms() {
    let site = Site::start("rooms");
    let owner = site.visitor();
    // A public room: 302 into it.
    let created = site.create_room(&owner, "title=%EC%88%98%EB%8B%A4%EB%B0%A9+%3Cb%3E&max=&password=");
    assert_eq!((created.status, created.reason.as_str()), (302, "Found"), "{created:?}");
    assert_eq!(created.header("Location"), Some("/room/1"));
    assert_eq!(created.text(), "Found. Redirecting to /room/1");
    // A secret room of two: the password goes along, encoded.
    let secret = site.create_room(&owner, "title=secret&max=2&password=p%26w+%EB%B9%84");
    assert_eq!(secret.header("Location"), Some("/room/2?password=p%26w%20%EB%B9%84"));

    let inside = site.get("/room/1", Some(&owner));
    assert_eq!(inside.status, 200);
    assert!(inside.text().contains("<h1>수다방 &lt;b&gt;</h1>"), "{inside:?}");
    let color = user_color(&inside);
    // The rows, as the schemas say: max defaults to 10, no password is NULL.
    let rows: Vec<(i64, String, i64, String, Option<String>)> = site
        .db()
        .prepare("SELECT id, title, max, owner, password FROM rooms ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, "수다방 <b>".to_string(), 10, color.clone(), None),
            (2, "secret".to_string(), 2, color.clone(), Some("p&w 비".to_string())),
        ]
    );
    // The list shows both, with the owner's colour, and which is secret; never the password.
    let list = site.get("/", Some(&owner)).text();
    assert!(
        list.contains("<td>수다방 &lt;b&gt;</td>\n          <td>공개방</td>\n          <td>10</td>"),
        "{list}"
    );
    assert!(
        list.contains("<td>secret</td>\n          <td>비밀방</td>\n          <td>2</td>"),
        "{list}"
    );
    assert!(
        list.contains(&format!("<td style=\"color:{color}\">{color}</td>")),
        "{list}"
    );
    assert!(!list.contains("p&amp;w"), "{list}");

    // The right password lets in; the flash of each refusal shows once on the list.
    assert_eq!(site.get("/room/2?password=p%26w%20%EB%B9%84", Some(&owner)).status, 200);
    for (path, message) in [
        ("/room/2", WRONG_PASSWORD),
        ("/room/2?password=p%26w", WRONG_PASSWORD),
        ("/room/99", NO_SUCH_ROOM),
        ("/room/abc", NO_SUCH_ROOM),
        ("/room/-1", NO_SUCH_ROOM),
    ] {
        let refused = site.get(path, Some(&owner));
        assert_eq!((refused.status, refused.header("Location")), (302, Some("/")), "{path}");
        assert_eq!(flash_of(&site.get("/", Some(&owner))), message, "{path}");
        assert_eq!(flash_of(&site.get("/", Some(&owner))), "", "read once");
    }
    site.assert_no_panic();
}

#[test]
fn bad_room_forms_are_refused_and_store_nothing() {
    let site = Site::start("bad_rooms");
    let cookie = site.visitor();
    let form = "application/x-www-form-urlencoded";
    let long_title = format!("title={}", "a".repeat(101));
    // (cookie, Content-Type, body, status, what the page says)
    type Case = (Option<String>, &'static str, Vec<u8>, u16, &'static str);
    let cases: Vec<Case> = vec![
        (
            Some(cookie.clone()),
            form,
            b"title=&max=10".to_vec(),
            400,
            "방 제목을 입력하세요.",
        ),
        (
            Some(cookie.clone()),
            form,
            b"title=+++&max=10".to_vec(),
            400,
            "방 제목을 입력하세요.",
        ),
        (
            Some(cookie.clone()),
            form,
            long_title.into_bytes(),
            400,
            "방 제목은 100자까지입니다.",
        ),
        (
            Some(cookie.clone()),
            form,
            b"title=t&max=1".to_vec(),
            400,
            "허용 인원은 2명에서",
        ),
        (
            Some(cookie.clone()),
            form,
            b"title=t&max=abc".to_vec(),
            400,
            "허용 인원은 2명에서",
        ),
        (
            Some(cookie.clone()),
            form,
            b"title=t&max=1001".to_vec(),
            400,
            "허용 인원은 2명에서",
        ),
        (
            Some(cookie.clone()),
            form,
            b"title=\xff\xfe".to_vec(),
            400,
            "the form is not UTF-8",
        ),
        (
            Some(cookie.clone()),
            "application/json",
            b"{\"title\":\"t\"}".to_vec(),
            415,
            "x-www-form-urlencoded",
        ),
        (
            None,
            form,
            b"title=t".to_vec(),
            403,
            "no session cookie: open the page first",
        ),
        (
            Some(forged(&cookie)),
            form,
            b"title=t".to_vec(),
            403,
            "the session cookie's signature is wrong",
        ),
    ];
    for (cookie, content_type, body, status, message) in cases {
        let answer = site.post("/room", cookie.as_deref(), content_type, &body);
        assert_eq!(answer.status, status, "{answer:?}");
        assert!(answer.text().contains(message), "{message}: {answer:?}");
    }
    // Over express.urlencoded's 100 kB: refused before the body is read, the connection closed.
    let mut http = Http::connect(site.port());
    let head = format!(
        "POST /room HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: {form}\r\nContent-Length: 200000\r\n\r\n"
    );
    http.send(head.as_bytes());
    let too_large = http.read_response();
    assert_eq!(too_large.status, 413, "{too_large:?}");
    assert_eq!(too_large.header("Connection"), Some("close"));
    assert_eq!(site.count("SELECT count(*) FROM rooms"), 0);
    site.assert_no_panic();
}

#[test]
fn chat_messages_reach_the_room_and_bad_ones_store_nothing() {
    let site = Site::start("chat");
    let cookie = site.visitor();
    site.create_room(&cookie, "title=room");
    let page = site.get("/room/1", Some(&cookie));
    let color = user_color(&page);
    // A member of the room, as the page connects: the session cookie, the page as Referer.
    let referer = format!("http://127.0.0.1:{}/room/1", site.port());
    let (mut member, packets) = Client::connect(site.port(), "/chat", &[("Cookie", &cookie), ("Referer", &referer)]);
    let id = socket_id(&packets[0], "/chat");
    let participants = member.expect("42/chat,[\"participants\"");
    assert_eq!(
        participants,
        format!(r#"42/chat,["participants",{{"count":1,"participants":[{{"id":"{id}","color":"{color}"}}]}}]"#)
    );

    let json = "application/json";
    let sent = site.post(
        "/room/1/chat",
        Some(&cookie),
        json,
        "{\"chat\":\"안녕 <b>\"}".as_bytes(),
    );
    assert_eq!((sent.status, sent.text().as_str()), (200, "ok"));
    let chat = member.expect("42/chat,[\"chat\"");
    let created_at: String = site
        .db()
        .query_row("SELECT created_at FROM chats WHERE chat = '안녕 <b>'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let chat_id: i64 = site
        .db()
        .query_row("SELECT id FROM chats WHERE chat = '안녕 <b>'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        chat,
        format!(
            r#"42/chat,["chat",{{"_id":"{chat_id}","room":"1","user":"{color}","chat":"안녕 <b>","createdAt":"{created_at}"}}]"#
        )
    );
    // The page shows it (escaped) after a reload, with the stored entry message before it.
    let reloaded = site.get("/room/1", Some(&cookie)).text();
    let entry = reloaded
        .find(&format!("<div>{color}님이 입장하셨습니다.</div>"))
        .expect("the stored entry");
    let message = reloaded.find("<div>안녕 &lt;b&gt;</div>").expect("the message");
    assert!(entry < message);

    let max = "가".repeat(1000);
    let too_long = "가".repeat(1001);
    let big = format!("{{\"chat\":\"{}\"}}", "a".repeat(100 * 1024));
    // (cookie, path, Content-Type, body, status, answer)
    type Case = (Option<String>, &'static str, &'static str, String, u16, &'static str);
    let cases: Vec<Case> = vec![
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            r#"{"chat":""}"#.into(),
            400,
            "empty message",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            r#"{"chat":" \n "}"#.into(),
            400,
            "empty message",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            format!(r#"{{"chat":"{too_long}"}}"#),
            413,
            "message too long: 1001 characters, at most 1000",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            big,
            413,
            "request body over 102400 bytes",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            "not json".into(),
            400,
            "expected {\"chat\":\"...\"}",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            r#"{"chat":5}"#.into(),
            400,
            "expected {\"chat\":\"...\"}",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            json,
            r#"["chat"]"#.into(),
            400,
            "expected {\"chat\":\"...\"}",
        ),
        (
            Some(cookie.clone()),
            "/room/1/chat",
            "text/plain",
            r#"{"chat":"x"}"#.into(),
            415,
            "send the message as application/json: {\"chat\":\"...\"}",
        ),
        (
            Some(cookie.clone()),
            "/room/2/chat",
            json,
            r#"{"chat":"x"}"#.into(),
            404,
            NO_SUCH_ROOM,
        ),
        (
            Some(cookie.clone()),
            "/room/x/chat",
            json,
            r#"{"chat":"x"}"#.into(),
            404,
            NO_SUCH_ROOM,
        ),
        (
            None,
            "/room/1/chat",
            json,
            r#"{"chat":"x"}"#.into(),
            403,
            "no session cookie: open the page first",
        ),
        (
            Some(forged(&cookie)),
            "/room/1/chat",
            json,
            r#"{"chat":"x"}"#.into(),
            403,
            "the session cookie's signature is wrong",
        ),
    ];
    for (cookie, path, content_type, body, status, message) in cases {
        let answer = site.post(path, cookie.as_deref(), content_type, body.as_bytes());
        assert_eq!(
            (answer.status, answer.text()),
            (status, message.to_string()),
            "{path} {body:.40}"
        );
    }
    // 1000 characters are fine.
    let longest = site.post(
        "/room/1/chat",
        Some(&cookie),
        json,
        format!(r#"{{"chat":"{max}"}}"#).as_bytes(),
    );
    assert_eq!(longest.status, 200);
    assert_eq!(site.count("SELECT count(*) FROM chats WHERE user <> 'system'"), 2);
    site.assert_no_panic();
}

#[test]
fn gif_uploads_are_saved_under_safe_names_and_typed_by_their_bytes() {
    let site = Site::start("gifs");
    let cookie = site.visitor();
    site.create_room(&cookie, "title=room");
    let color = user_color(&site.get("/room/1", Some(&cookie)));

    // A path and odd characters in the name: the last segment's letters and digits are kept.
    let body = form_body(BOUNDARY, &[("gif", Some("../../evil name<>.gif"), GIF)]);
    let sent = site.post("/room/1/gif", Some(&cookie), MULTIPART, &body);
    assert_eq!((sent.status, sent.text().as_str()), (200, "ok"), "{sent:?}");
    // PNG bytes named .gif are stored as what they are.
    let body = form_body(
        BOUNDARY,
        &[("note", None, b"text fields are ignored"), ("gif", Some("x.gif"), PNG)],
    );
    assert_eq!(site.post("/room/1/gif", Some(&cookie), MULTIPART, &body).status, 200);

    let names: Vec<(String, String)> = site
        .db()
        .prepare("SELECT user, gif FROM chats WHERE gif IS NOT NULL ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let (gif, png) = (&names[0].1, &names[1].1);
    assert_eq!(names[0].0, color);
    let digits = |text: &str| text.len() == 13 && text.bytes().all(|b| b.is_ascii_digit());
    assert!(
        gif.strip_prefix("evilname")
            .and_then(|rest| rest.strip_suffix(".gif"))
            .is_some_and(digits),
        "{gif}"
    );
    assert!(
        png.strip_prefix('x')
            .and_then(|rest| rest.strip_suffix(".png"))
            .is_some_and(digits),
        "{png}"
    );
    assert_eq!(site.uploads(), vec![gif.clone(), png.clone()]);

    // Served back typed by their bytes, never sniffed.
    let served = site.get(&format!("/gif/{gif}"), None);
    assert_eq!(served.status, 200);
    assert_eq!(served.header("Content-Type"), Some("image/gif"));
    assert_eq!(served.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(served.body, GIF);
    assert_eq!(
        site.get(&format!("/gif/{png}"), None).header("Content-Type"),
        Some("image/png")
    );
    // A file that is not an image (put there by hand) is an attachment, not a page.
    std::fs::write(site.data.join("uploads").join("page1.gif"), "<script>alert(1)</script>").unwrap();
    let not_image = site.get("/gif/page1.gif", None);
    assert_eq!(not_image.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(not_image.header("Content-Disposition"), Some("attachment"));
    std::fs::remove_file(site.data.join("uploads").join("page1.gif")).unwrap();
    // Only names `save` makes are looked up: no way out of uploads/.
    for path in [
        "/gif/..%2Fgif_chat.sqlite3",
        "/gif/../gif_chat.sqlite3",
        "/gif/%2e%2e%2fgif_chat.sqlite3",
        "/gif/gif_chat.sqlite3",
        "/gif/missing1.gif",
        "/gif/",
    ] {
        assert_eq!(site.get(path, None).status, 404, "{path}");
    }
    site.assert_no_panic();
}

#[test]
fn bad_uploads_get_a_clear_answer_and_store_nothing() {
    let site = Site::start("bad_gifs");
    let cookie = site.visitor();
    site.create_room(&cookie, "title=room");
    let html = b"<html><script>alert(1)</script></html>".as_slice();
    let big = {
        let mut big = GIF.to_vec();
        big.resize(5 * 1024 * 1024 + 1, 0);
        big
    };
    // (what, cookie, Content-Type, body, status, answer)
    type Case = (&'static str, Option<String>, &'static str, Vec<u8>, u16, &'static str);
    let cases: Vec<Case> = vec![
        (
            "not an image",
            Some(cookie.clone()),
            MULTIPART,
            form_body(BOUNDARY, &[("gif", Some("cat.gif"), html)]),
            415,
            "not an image: GIF, PNG, JPEG or WebP only",
        ),
        (
            "over 5 MB",
            Some(cookie.clone()),
            MULTIPART,
            form_body(BOUNDARY, &[("gif", Some("big.gif"), &big)]),
            413,
            "File too large (at most 5242880 bytes)",
        ),
        (
            "another field",
            Some(cookie.clone()),
            MULTIPART,
            form_body(BOUNDARY, &[("image", Some("a.gif"), GIF)]),
            400,
            "Unexpected field \"image\"",
        ),
        (
            "two files",
            Some(cookie.clone()),
            MULTIPART,
            form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF), ("gif", Some("b.gif"), GIF)]),
            400,
            "Unexpected field \"gif\"",
        ),
        (
            "no file",
            Some(cookie.clone()),
            MULTIPART,
            form_body(BOUNDARY, &[("gif", None, b"just text")]),
            400,
            "no file in field \"gif\"",
        ),
        (
            "an empty file",
            Some(cookie.clone()),
            MULTIPART,
            form_body(BOUNDARY, &[("gif", Some("a.gif"), b"")]),
            400,
            "the file is empty",
        ),
        (
            "no boundary",
            Some(cookie.clone()),
            "multipart/form-data",
            form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF)]),
            400,
            "multipart/form-data needs a boundary of 1 to 70 characters",
        ),
        (
            "another boundary",
            Some(cookie.clone()),
            "multipart/form-data; boundary=other",
            form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF)]),
            400,
            "malformed multipart body: no opening boundary",
        ),
        (
            "not multipart",
            Some(cookie.clone()),
            "image/gif",
            GIF.to_vec(),
            415,
            "send the file as multipart/form-data, in field \"gif\"",
        ),
        (
            "no session",
            None,
            MULTIPART,
            form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF)]),
            403,
            "no session cookie: open the page first",
        ),
        (
            "a forged session",
            Some(forged(&cookie)),
            MULTIPART,
            form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF)]),
            403,
            "the session cookie's signature is wrong",
        ),
    ];
    for (what, cookie, content_type, body, status, message) in cases {
        let answer = site.post("/room/1/gif", cookie.as_deref(), content_type, &body);
        assert_eq!((answer.status, answer.text()), (status, message.to_string()), "{what}");
    }
    let unknown_room = site.post(
        "/room/7/gif",
        Some(&cookie),
        MULTIPART,
        &form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF)]),
    );
    assert_eq!(
        (unknown_room.status, unknown_room.text()),
        (404, NO_SUCH_ROOM.to_string())
    );

    // Bodies that lie about their lengths.
    // 1. Cut short: Content-Length counts only what is sent, and the closing boundary is missing.
    let whole = form_body(BOUNDARY, &[("gif", Some("a.gif"), GIF)]);
    let cut = &whole[..whole.len() - 10];
    let answer = site.post("/room/1/gif", Some(&cookie), MULTIPART, cut);
    assert_eq!(
        (answer.status, answer.text()),
        (
            400,
            "malformed multipart body: the body ends before the closing boundary".to_string()
        )
    );
    // 2. A part whose own Content-Length is not its size.
    let lying_part = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\nContent-Length: 5\r\n\r\n"
    );
    let mut body = lying_part.into_bytes();
    body.extend_from_slice(GIF);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let answer = site.post("/room/1/gif", Some(&cookie), MULTIPART, &body);
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.text(),
        format!(
            "malformed multipart body: part \"gif\" says Content-Length 5 but has {} bytes",
            GIF.len()
        )
    );
    // 3. A Content-Length larger than what comes: the client stops sending (half-close) and gets
    // its answer, not a hung thread.
    let mut http = Http::connect(site.port());
    let head = format!(
        "POST /room/1/gif HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: {MULTIPART}\r\nContent-Length: {}\r\n\r\n",
        whole.len() + 1000
    );
    http.send(head.as_bytes());
    http.send(&whole);
    http.stream().shutdown(Shutdown::Write).unwrap();
    let answer = http.read_response();
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.text(), "incomplete request body: connection closed in the body");
    assert_eq!(answer.header("Connection"), Some("close"));
    // 4. A Content-Length over the limit: refused before a byte of the body is read.
    let mut http = Http::connect(site.port());
    let head = format!(
        "POST /room/1/gif HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: {MULTIPART}\r\nContent-Length: 100000000\r\n\r\n"
    );
    http.send(head.as_bytes());
    let answer = http.read_response();
    assert_eq!(answer.status, 413);
    assert_eq!(
        answer.text(),
        format!("request body over {} bytes", 5 * 1024 * 1024 + 64 * 1024)
    );

    assert_eq!(site.count("SELECT count(*) FROM chats"), 0);
    assert_eq!(site.uploads(), Vec::<String>::new());
    site.assert_no_panic();
}

#[test]
fn the_chat_namespace_refuses_what_the_page_refuses() {
    let site = Site::start("chat_nsp");
    let cookie = site.visitor();
    site.create_room(&cookie, "title=open&max=2");
    site.create_room(&cookie, "title=secret&password=pw");
    let port = site.port();
    let page = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let refused = |headers: &[(&str, &str)]| refusal(&Client::connect(port, "/chat", headers).1);

    assert_eq!(
        refused(&[("Referer", &page("/room/1"))]),
        "no session cookie: open the page first"
    );
    assert_eq!(
        refused(&[("Cookie", &forged(&cookie)), ("Referer", &page("/room/1"))]),
        "the session cookie's signature is wrong"
    );
    assert_eq!(
        refused(&[("Cookie", &cookie)]),
        "no room page in the Referer header (\"\")"
    );
    let home = page("/");
    assert_eq!(
        refused(&[("Cookie", &cookie), ("Referer", &home)]),
        format!("no room page in the Referer header ({home:?})")
    );
    assert_eq!(
        refused(&[("Cookie", &cookie), ("Referer", &page("/room/9"))]),
        NO_SUCH_ROOM
    );
    assert_eq!(
        refused(&[("Cookie", &cookie), ("Referer", &page("/room/2"))]),
        WRONG_PASSWORD
    );
    assert_eq!(
        refused(&[("Cookie", &cookie), ("Referer", &page("/room/2?password=PW"))]),
        WRONG_PASSWORD
    );
    let (_secret_member, packets) = Client::connect(
        port,
        "/chat",
        &[("Cookie", &cookie), ("Referer", &page("/room/2?password=pw"))],
    );
    socket_id(&packets[0], "/chat");

    // Room 1 holds two: a third socket is refused, and so is its page.
    let first_visitor = site.visitor();
    let second_visitor = site.visitor();
    let (mut first, packets) = Client::connect(
        port,
        "/chat",
        &[("Cookie", &first_visitor), ("Referer", &page("/room/1"))],
    );
    socket_id(&packets[0], "/chat");
    let (_second, packets) = Client::connect(
        port,
        "/chat",
        &[("Cookie", &second_visitor), ("Referer", &page("/room/1"))],
    );
    socket_id(&packets[0], "/chat");
    assert_eq!(
        refused(&[("Cookie", &cookie), ("Referer", &page("/room/1"))]),
        ROOM_FULL
    );
    let full = site.get("/room/1", Some(&cookie));
    assert_eq!(full.header("Location"), Some("/"));
    assert_eq!(flash_of(&site.get("/", Some(&cookie))), ROOM_FULL);
    // The first saw the second come in; both entries are stored.
    let first_color = user_color(&site.get("/room/2?password=pw", Some(&first_visitor)));
    let second_color = user_color(&site.get("/room/2?password=pw", Some(&second_visitor)));
    let joined = first.expect("42/chat,[\"join\"");
    assert_eq!(
        joined,
        format!(r#"42/chat,["join",{{"user":"system","chat":"{second_color}님이 입장하셨습니다."}}]"#)
    );
    let stored: Vec<String> = site
        .db()
        .prepare("SELECT chat FROM chats WHERE room = 1 AND user = 'system' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        stored,
        vec![
            format!("{first_color}님이 입장하셨습니다."),
            format!("{second_color}님이 입장하셨습니다.")
        ]
    );
    site.assert_no_panic();
}

#[test]
fn the_room_goes_two_seconds_after_its_last_member_leaves() {
    let site = Site::start("removal");
    let port = site.port();
    let owner = site.visitor();
    let guest = site.visitor();
    site.create_room(&owner, "title=short-lived");
    let referer = format!("http://127.0.0.1:{port}/room/1");
    // A page of the list, listening on /room.
    let (mut list, packets) = Client::connect(port, "/room", &[]);
    socket_id(&packets[0], "/room");
    let (mut a, packets) = Client::connect(port, "/chat", &[("Cookie", &owner), ("Referer", &referer)]);
    let a_id = socket_id(&packets[0], "/chat");
    let (mut b, packets) = Client::connect(port, "/chat", &[("Cookie", &guest), ("Referer", &referer)]);
    socket_id(&packets[0], "/chat");
    let guest_color = user_color(&site.get("/room/1", Some(&guest)));
    let owner_color = user_color(&site.get("/room/1", Some(&owner)));
    a.expect("42/chat,[\"join\"");

    // A whisper from B to A reaches A alone, and is not stored.
    b.send(&format!(r#"42/chat,0["whisper",{{"to":"{a_id}","chat":"psst"}}]"#));
    assert_eq!(
        b.expect("43/chat,0"),
        format!(r#"43/chat,0[{{"ok":true,"to":"{owner_color}"}}]"#)
    );
    assert_eq!(
        a.expect("42/chat,[\"whisper\""),
        format!(r#"42/chat,["whisper",{{"from":"{guest_color}","chat":"psst"}}]"#)
    );
    for (packet, error) in [
        (
            r#"42/chat,1["whisper",{"to":"nobody","chat":"x"}]"#.to_string(),
            "no such participant in this room",
        ),
        (
            format!(r#"42/chat,1["whisper",{{"to":"{a_id}","chat":"  "}}]"#),
            "empty message",
        ),
        (
            r#"42/chat,1["whisper","just text"]"#.to_string(),
            r#"expected {\"to\":\"<socket id>\",\"chat\":\"...\"}"#,
        ),
    ] {
        b.send(&packet);
        assert_eq!(b.expect("43/chat,1"), format!(r#"43/chat,1[{{"error":"{error}"}}]"#));
    }
    assert_eq!(
        site.count("SELECT count(*) FROM chats WHERE chat LIKE '%psst%' OR chat = 'x'"),
        0
    );

    // B leaves: A hears it, the room stays.
    b.send("41/chat,");
    assert_eq!(
        a.expect("42/chat,[\"exit\""),
        format!(r#"42/chat,["exit",{{"user":"system","chat":"{guest_color}님이 퇴장하셨습니다."}}]"#)
    );
    assert_eq!(site.count("SELECT count(*) FROM rooms"), 1);
    // A, the last, leaves: the room and its chats go at once, removeRoom 2 s later.
    let left = Instant::now();
    a.send("41/chat,");
    assert_eq!(list.expect("42/room,[\"removeRoom\""), r#"42/room,["removeRoom","1"]"#);
    let waited = left.elapsed();
    assert!(waited >= Duration::from_millis(2000), "removeRoom after {waited:?}");
    assert_eq!(site.count("SELECT count(*) FROM rooms"), 0);
    assert_eq!(site.count("SELECT count(*) FROM chats"), 0);
    let gone = site.get("/room/1", Some(&owner));
    assert_eq!(gone.header("Location"), Some("/"));
    assert_eq!(flash_of(&site.get("/", Some(&owner))), NO_SUCH_ROOM);
    site.assert_no_panic();
}

#[test]
fn rooms_survive_a_restart() {
    let data = DataDir::new("restart");
    {
        let site = Site::start_in(&data.0);
        let cookie = site.visitor();
        assert_eq!(site.create_room(&cookie, "title=kept&max=5").status, 302);
    }
    assert!(data.0.join("gif_chat.sqlite3").exists());
    assert!(data.0.join("uploads").is_dir());
    let site = Site::start_in(&data.0);
    let list = site.get("/", None).text();
    assert!(
        list.contains("<td>kept</td>\n          <td>공개방</td>\n          <td>5</td>"),
        "{list}"
    );
}

/// The story in headless Chromium: runs `node --test tests/browser/gif_chat.test.mjs` (see that
/// file), with screenshots of every step in `target/browser-screenshots/gif_chat/`.
#[test]
fn three_people_in_chromium() {
    run_browser_suite(
        "tests/browser/gif_chat.test.mjs",
        &[("GIF_CHAT_BIN", example_binary("gif_chat").as_os_str())],
        2,
    );
}
