//! The book's `express-session` (with its `MemoryStore`), `cookie-parser`'s signed cookie,
//! `connect-flash`, and the colour middleware of `app.js`, in one place:
//!
//! ```text
//! first visit:   GET /                        no cookie: a new session, its colour from its id
//!                <- Set-Cookie: connect.sid=s%3A<id>.<signature>; Path=/; HttpOnly
//! later:         GET / with Cookie: connect.sid=s%3A<id>.<signature>
//!                the signature is checked (HMAC-SHA256 with the secret), then <id> is looked up
//! Socket.IO:     the handshake's Cookie header goes through the same check (socket.rs)
//! ```
//!
//! `<id>` is 24 random bytes in base64url (32 characters, `uid-safe` as express-session uses
//! it); `<signature>` is base64 of `HMAC-SHA256(secret, id)` without `=` (`cookie-signature`).
//! The cookie carries only the id: the session itself (its colour and flash messages) stays in
//! the server's memory, as with the book's `MemoryStore`, and is gone when the server stops.
//! A cookie whose signature does not match was forged (or signed with another secret): it is
//! treated as no cookie at all, as express-session does.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Mutex;

use log::info;
use socketio_book::engineio::base64;
use socketio_book::sync::lock;

use crate::color_hash;
use crate::hmac::{equal_in_constant_time, hmac_sha256};
use crate::web::{decode_uri_component, encode_uri_component, unquote};

/// express-session's default cookie name.
pub const COOKIE_NAME: &str = "connect.sid";

/// Sessions kept at most. The book's MemoryStore keeps every session until the server stops (it
/// is "not designed for a production environment", its documentation says); past this many the
/// oldest is dropped, so a client that never sends its cookie back cannot fill the memory.
const MAX_SESSIONS: usize = 10_000;

/// What a request or a Socket.IO handshake knows of its visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `req.sessionID`.
    pub id: String,
    /// `req.session.color`: `new ColorHash().hex(req.sessionID)`.
    pub color: String,
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    /// No `connect.sid` cookie.
    Missing,
    /// A cookie whose signature is not ours (or not `s:<id>.<signature>` at all).
    Forged,
    /// A well-signed id this server does not know (it restarted, or dropped the session).
    Unknown,
}

impl NoSession {
    /// The answer to a request that needs a session.
    pub fn message(self) -> &'static str {
        match self {
            NoSession::Missing => "no session cookie: open the page first",
            NoSession::Forged => "the session cookie's signature is wrong",
            NoSession::Unknown => "unknown session: open the page again",
        }
    }
}

/// What the store keeps of one session.
struct Stored {
    color: String,
    /// `req.session.flash`: `connect-flash`'s messages by kind (`roomError`), read once.
    flash: HashMap<String, Vec<String>>,
    /// Creation order, to drop the oldest past `MAX_SESSIONS`.
    created: u64,
}

/// The MemoryStore: session id -> session.
#[derive(Default)]
struct MemoryStore {
    sessions: HashMap<String, Stored>,
    created: u64,
}

/// `session({ secret, cookie: { httpOnly: true } })` with its MemoryStore.
pub struct Sessions {
    secret: Vec<u8>,
    store: Mutex<MemoryStore>,
}

impl Sessions {
    /// Sessions whose cookies are signed with `secret` (the book's `COOKIE_SECRET`).
    pub fn new(secret: &str) -> Sessions {
        Sessions {
            secret: secret.as_bytes().to_vec(),
            store: Mutex::new(MemoryStore::default()),
        }
    }

    /// `cookie-signature`'s `sign`: `<id>.<base64 HMAC-SHA256 without "=">`.
    pub fn sign(&self, value: &str) -> String {
        let mac = hmac_sha256(&self.secret, value.as_bytes());
        format!("{value}.{}", base64::encode(&mac).trim_end_matches('='))
    }

    /// `cookie-signature`'s `unsign`: the value when its signature is right.
    fn unsign(&self, signed: &str) -> Option<String> {
        let (value, _signature) = signed.rsplit_once('.')?;
        let expected = self.sign(value);
        if equal_in_constant_time(expected.as_bytes(), signed.as_bytes()) {
            Some(value.to_string())
        } else {
            None
        }
    }

    /// `Set-Cookie` for session `id`: `connect.sid=s%3A<id>.<signature>; Path=/; HttpOnly`
    /// (`HttpOnly`: the page's JavaScript cannot read it; `secure: false` as in the book, since
    /// the example serves plain HTTP).
    pub fn set_cookie(&self, id: &str) -> String {
        let value = format!("s:{}", self.sign(id));
        format!("{COOKIE_NAME}={}; Path=/; HttpOnly", encode_uri_component(&value))
    }

    /// The session a `Cookie` header names (express-session's `getcookie`, then `store.get`).
    pub fn by_cookie(&self, header: Option<&str>) -> Result<Session, NoSession> {
        let raw = match header.and_then(|header| cookie_value(header, COOKIE_NAME)) {
            Some(raw) => raw,
            None => return Err(NoSession::Missing),
        };
        let signed = match raw.strip_prefix("s:") {
            Some(signed) => signed,
            None => return Err(NoSession::Forged),
        };
        let id = match self.unsign(signed) {
            Some(id) => id,
            None => return Err(NoSession::Forged),
        };
        match lock(&self.store).sessions.get(&id) {
            Some(stored) => Ok(Session {
                color: stored.color.clone(),
                id,
            }),
            None => Err(NoSession::Unknown),
        }
    }

    /// A new session (express-session's `generate`), with its colour set at once (the book's
    /// middleware `if (!req.session.color) req.session.color = colorHash.hex(req.sessionID)`).
    pub fn create(&self) -> io::Result<Session> {
        let id = new_session_id()?;
        let color = color_hash::hex(&id);
        let mut store = lock(&self.store);
        if store.sessions.len() >= MAX_SESSIONS {
            let oldest = store
                .sessions
                .iter()
                .min_by_key(|(_, stored)| stored.created)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                info!("{MAX_SESSIONS} sessions: dropping the oldest");
                store.sessions.remove(&oldest);
            }
        }
        store.created += 1;
        let created = store.created;
        store.sessions.insert(
            id.clone(),
            Stored {
                color: color.clone(),
                flash: HashMap::new(),
                created,
            },
        );
        Ok(Session { id, color })
    }

    /// `req.flash(kind, message)`: keeps a message for the next page of this session.
    pub fn flash(&self, id: &str, kind: &str, message: &str) {
        if let Some(stored) = lock(&self.store).sessions.get_mut(id) {
            stored
                .flash
                .entry(kind.to_string())
                .or_default()
                .push(message.to_string());
        }
    }

    /// `req.flash(kind)`: the messages kept for this session, which are then forgotten.
    pub fn take_flash(&self, id: &str, kind: &str) -> Vec<String> {
        match lock(&self.store).sessions.get_mut(id) {
            Some(stored) => stored.flash.remove(kind).unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

/// `uid-safe(24)`: 24 bytes from the OS, base64url without padding (32 characters).
fn new_session_id() -> io::Result<String> {
    let mut bytes = [0u8; 24];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(base64::encode(&bytes).replace('+', "-").replace('/', "_"))
}

/// The value of cookie `name` in a `Cookie` header (`a=1; connect.sid=s%3A...`), decoded as the
/// `cookie` package does: the first pair with that name, quotes removed, `%XX` decoded.
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    for pair in header.split(';') {
        let (key, value) = match pair.split_once('=') {
            Some(pair) => pair,
            None => continue,
        };
        if key.trim() != name {
            continue;
        }
        return Some(decode_uri_component(unquote(value)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_cookie_signature() {
        // cookie-signature's own example, and a session cookie printed by Node:
        // encodeURIComponent('s:' + sign(id, 'gifchat')).
        assert_eq!(
            Sessions::new("tobiiscool").sign("hello"),
            "hello.DGDUkGlIkCzPz+C0B064FNgHdEjox7ch8tOBGslZ5QI"
        );
        let sessions = Sessions::new("gifchat");
        assert_eq!(
            sessions.set_cookie("hOnIHiDaAN-U_TpnRbkBrMv0f9sJ0nPs"),
            "connect.sid=s%3AhOnIHiDaAN-U_TpnRbkBrMv0f9sJ0nPs.3sK%2FdLtv5%2BJXANC7LKwZ9%2FGBD3uGbTXrUA%2FsrWIxKXY; Path=/; HttpOnly"
        );
    }

    #[test]
    fn a_session_comes_back_only_with_its_signature() {
        let sessions = Sessions::new("secret");
        let session = sessions.create().unwrap();
        assert_eq!(session.id.len(), 32);
        assert_eq!(session.color, color_hash::hex(&session.id));
        let cookie = sessions.set_cookie(&session.id);
        let pair = cookie.split(';').next().unwrap();
        assert_eq!(sessions.by_cookie(Some(&format!("a=b; {pair}"))), Ok(session.clone()));

        assert_eq!(sessions.by_cookie(None), Err(NoSession::Missing));
        assert_eq!(sessions.by_cookie(Some("a=b")), Err(NoSession::Missing));
        // Another id with the first one's signature; the id without signature; another secret.
        let signature = sessions.sign(&session.id);
        let signature = signature.rsplit_once('.').unwrap().1;
        let forged = format!(
            "connect.sid=s%3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.{}",
            encode_uri_component(signature)
        );
        assert_eq!(sessions.by_cookie(Some(&forged)), Err(NoSession::Forged));
        let unsigned = format!("connect.sid={}", session.id);
        assert_eq!(sessions.by_cookie(Some(&unsigned)), Err(NoSession::Forged));
        let other = Sessions::new("other secret").set_cookie(&session.id);
        assert_eq!(sessions.by_cookie(Some(&other)), Err(NoSession::Forged));
        // Well signed, but not in the store.
        let unknown = sessions.set_cookie("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(sessions.by_cookie(Some(&unknown)), Err(NoSession::Unknown));
    }

    #[test]
    fn flash_messages_are_read_once() {
        let sessions = Sessions::new("secret");
        let session = sessions.create().unwrap();
        sessions.flash(&session.id, "roomError", "비밀번호가 틀렸습니다.");
        assert_eq!(
            sessions.take_flash(&session.id, "roomError"),
            vec!["비밀번호가 틀렸습니다."]
        );
        assert!(sessions.take_flash(&session.id, "roomError").is_empty());
    }
}
