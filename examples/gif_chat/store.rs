//! The book's `schemas/` (`index.js`, `room.js`, `chat.js`): MongoDB through mongoose becomes
//! SQLite through rusqlite, one file under `--data`, so that one command runs the app. The two
//! mongoose schemas are two tables, made on first run:
//!
//! ```text
//! roomSchema { title: String required,            rooms (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
//!              max: Number required default 10          max INTEGER NOT NULL DEFAULT 10 CHECK (max >= 2),
//!                   min 2,                               owner TEXT NOT NULL, password TEXT,
//!              owner: String required,                  created_at TEXT NOT NULL)
//!              password: String,
//!              createdAt: Date default Date.now }
//! chatSchema { room: ObjectId ref 'Room' required,  chats (id INTEGER PRIMARY KEY, room INTEGER NOT NULL
//!              user: String required,                    REFERENCES rooms(id), user TEXT NOT NULL,
//!              chat: String, gif: String,                chat TEXT, gif TEXT, created_at TEXT NOT NULL)
//!              createdAt: Date default Date.now }
//! ```
//!
//! Mongo's `_id` (an ObjectId) is SQLite's row id; `createdAt` is the time as JavaScript's
//! `toISOString()` writes it (`2019-04-01T12:00:00.123Z`), made by SQLite itself. A chat line is
//! either text (`chat`) or an uploaded image (`gif`, its file name under `uploads/`), never both:
//! a `CHECK` says so. `user` is the writer's colour, or `system` for the entry and exit messages.
//!
//! One connection behind a mutex: each call is one short statement (or one transaction), and
//! the connection threads take turns.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value, json};
use socketio_book::sync::lock;

/// Both tables, made if missing (mongoose makes its collections on first write).
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS rooms (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        title      TEXT    NOT NULL CHECK (length(title) > 0),
        max        INTEGER NOT NULL DEFAULT 10 CHECK (max >= 2),
        owner      TEXT    NOT NULL,
        password   TEXT,
        created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE IF NOT EXISTS chats (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        room       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        user       TEXT    NOT NULL,
        chat       TEXT,
        gif        TEXT,
        created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        CHECK ((chat IS NULL) <> (gif IS NULL))
    );
    CREATE INDEX IF NOT EXISTS chats_by_room ON chats (room, created_at);
";

/// One room (a `Room` document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: i64,
    pub title: String,
    /// How many people it holds (at least 2).
    pub max: i64,
    /// The creator's colour.
    pub owner: String,
    /// `None`: a public room (공개방); `Some`: a secret one (비밀방).
    pub password: Option<String>,
    pub created_at: String,
}

impl Room {
    /// The room as the pages and the `newRoom` event see it:
    /// `{"_id":"1","title":"...","max":10,"owner":"#501f93","secret":false,"createdAt":"..."}`.
    /// The book sends the whole document, the password included, to every visitor of the main
    /// page; `secret` says only whether there is one.
    pub fn to_json(&self) -> Value {
        json!({
            "_id": self.id.to_string(),
            "title": self.title,
            "max": self.max,
            "owner": self.owner,
            "secret": self.password.is_some(),
            "createdAt": self.created_at,
        })
    }

    fn from_row(row: &Row) -> rusqlite::Result<Room> {
        Ok(Room {
            id: row.get("id")?,
            title: row.get("title")?,
            max: row.get("max")?,
            owner: row.get("owner")?,
            password: row.get("password")?,
            created_at: row.get("created_at")?,
        })
    }
}

/// What a chat line holds: text, or the stored name of an uploaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Text(String),
    Gif(String),
}

/// One chat line (a `Chat` document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub id: i64,
    pub room: i64,
    /// The writer's colour, or `system`.
    pub user: String,
    pub content: Content,
    pub created_at: String,
}

impl Chat {
    /// The line as the `chat` event and the page see it, with only the field it has, as
    /// mongoose leaves unset fields out: `{"_id":"7","room":"1","user":"#501f93","chat":"hi",
    /// "createdAt":"..."}` or the same with `"gif":"cat1554102000123.gif"`.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("_id".to_string(), Value::String(self.id.to_string()));
        object.insert("room".to_string(), Value::String(self.room.to_string()));
        object.insert("user".to_string(), Value::String(self.user.clone()));
        match &self.content {
            Content::Text(text) => object.insert("chat".to_string(), Value::String(text.clone())),
            Content::Gif(name) => object.insert("gif".to_string(), Value::String(name.clone())),
        };
        object.insert("createdAt".to_string(), Value::String(self.created_at.clone()));
        Value::Object(object)
    }

    fn from_row(row: &Row) -> rusqlite::Result<Chat> {
        let chat: Option<String> = row.get("chat")?;
        let gif: Option<String> = row.get("gif")?;
        let content = match (chat, gif) {
            (Some(text), _) => Content::Text(text),
            (None, Some(name)) => Content::Gif(name),
            (None, None) => Content::Text(String::new()), // the CHECK makes this impossible
        };
        Ok(Chat {
            id: row.get("id")?,
            room: row.get("room")?,
            user: row.get("user")?,
            content,
            created_at: row.get("created_at")?,
        })
    }
}

/// The database (`schemas/index.js`'s `connect()`).
pub struct Store {
    connection: Mutex<Connection>,
}

impl Store {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        Store::with_connection(Connection::open(path)?)
    }

    /// A database in memory (for the unit tests).
    #[cfg(test)]
    pub fn open_in_memory() -> rusqlite::Result<Store> {
        Store::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(connection: Connection) -> rusqlite::Result<Store> {
        // SQLite checks REFERENCES only when asked, per connection: a chat for a room that does
        // not exist is refused by the database too.
        connection.execute_batch("PRAGMA foreign_keys = ON;")?;
        connection.execute_batch(SCHEMA)?;
        Ok(Store {
            connection: Mutex::new(connection),
        })
    }

    /// `new Room({ title, max, owner, password }).save()`.
    pub fn create_room(&self, title: &str, max: i64, owner: &str, password: Option<&str>) -> rusqlite::Result<Room> {
        let connection = lock(&self.connection);
        connection.query_row(
            "INSERT INTO rooms (title, max, owner, password) VALUES (?1, ?2, ?3, ?4) RETURNING *",
            params![title, max, owner, password],
            Room::from_row,
        )
    }

    /// `Room.find({})`, oldest first.
    pub fn rooms(&self) -> rusqlite::Result<Vec<Room>> {
        let connection = lock(&self.connection);
        let mut statement = connection.prepare("SELECT * FROM rooms ORDER BY id")?;
        let rooms = statement.query_map([], Room::from_row)?;
        rooms.collect()
    }

    /// `Room.findOne({ _id: id })`.
    pub fn room(&self, id: i64) -> rusqlite::Result<Option<Room>> {
        let connection = lock(&self.connection);
        connection
            .query_row("SELECT * FROM rooms WHERE id = ?1", [id], Room::from_row)
            .optional()
    }

    /// `Room.remove({ _id: id })` and `Chat.remove({ room: id })`, together. Returns whether
    /// the room was there.
    pub fn remove_room(&self, id: i64) -> rusqlite::Result<bool> {
        let mut connection = lock(&self.connection);
        let transaction = connection.transaction()?;
        transaction.execute("DELETE FROM chats WHERE room = ?1", [id])?;
        let removed = transaction.execute("DELETE FROM rooms WHERE id = ?1", [id])?;
        transaction.commit()?;
        Ok(removed == 1)
    }

    /// `new Chat({ room, user, chat })` or `{ room, user, gif }`, `.save()`.
    pub fn add_chat(&self, room: i64, user: &str, content: &Content) -> rusqlite::Result<Chat> {
        let (chat, gif) = match content {
            Content::Text(text) => (Some(text.as_str()), None),
            Content::Gif(name) => (None, Some(name.as_str())),
        };
        let connection = lock(&self.connection);
        connection.query_row(
            "INSERT INTO chats (room, user, chat, gif) VALUES (?1, ?2, ?3, ?4) RETURNING *",
            params![room, user, chat, gif],
            Chat::from_row,
        )
    }

    /// `Chat.find({ room: id }).sort('createdAt')`.
    pub fn chats(&self, room: i64) -> rusqlite::Result<Vec<Chat>> {
        let connection = lock(&self.connection);
        let mut statement = connection.prepare("SELECT * FROM chats WHERE room = ?1 ORDER BY created_at, id")?;
        let chats = statement.query_map([room], Chat::from_row)?;
        chats.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_and_their_chats() {
        let store = Store::open_in_memory().unwrap();
        let public = store.create_room("수다방", 10, "#501f93", None).unwrap();
        let secret = store.create_room("비밀", 2, "#53aca8", Some("pw")).unwrap();
        assert_eq!(store.rooms().unwrap(), vec![public.clone(), secret.clone()]);
        assert_eq!(store.room(secret.id).unwrap(), Some(secret.clone()));
        assert_eq!(secret.to_json()["secret"], true);
        assert_eq!(public.to_json()["secret"], false);
        assert!(public.to_json().get("password").is_none());
        // createdAt as toISOString() writes it.
        let created = &public.created_at;
        assert_eq!(created.len(), 24, "{created}");
        assert!(created.ends_with('Z') && &created[10..11] == "T", "{created}");

        let hello = store
            .add_chat(public.id, "#501f93", &Content::Text("안녕".into()))
            .unwrap();
        let gif = store
            .add_chat(public.id, "#53aca8", &Content::Gif("cat1.gif".into()))
            .unwrap();
        assert_eq!(store.chats(public.id).unwrap(), vec![hello.clone(), gif.clone()]);
        assert_eq!(hello.to_json()["chat"], "안녕");
        assert!(hello.to_json().get("gif").is_none());
        assert_eq!(gif.to_json()["gif"], "cat1.gif");
        assert!(store.chats(secret.id).unwrap().is_empty());

        assert!(store.remove_room(public.id).unwrap());
        assert!(!store.remove_room(public.id).unwrap());
        assert_eq!(store.room(public.id).unwrap(), None);
        assert!(store.chats(public.id).unwrap().is_empty());
    }

    #[test]
    fn the_schema_refuses_what_mongoose_refuses() {
        let store = Store::open_in_memory().unwrap();
        assert!(store.create_room("", 10, "#000000", None).is_err(), "title required");
        assert!(store.create_room("t", 1, "#000000", None).is_err(), "max at least 2");
        // A chat for a room that does not exist.
        assert!(store.add_chat(42, "#000000", &Content::Text("hi".into())).is_err());
        assert!(store.rooms().unwrap().is_empty());
    }
}
