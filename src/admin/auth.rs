//! Who may open the admin namespace (the reference's `initAuthenticationMiddleware` and its
//! `InMemoryStore`): nobody needs to log in (`Auth::None`), or a user name and a password checked
//! against a bcrypt hash (`Auth::Basic`).
//!
//! The UI's connection form sends what the user typed as the CONNECT's `auth`; a successful
//! log-in gets a session id, which the UI may send instead of the password next time:
//!
//! ```text
//! ← 40/admin,{"username":"admin","password":"changeit"}
//! → 42/admin,["session","5f2b8c0d1e7a9b34"]      a new session id (16 hex digits), then
//! → 40/admin,{"sid":"<socket id>"}
//! ← 40/admin,{"sessionId":"5f2b8c0d1e7a9b34"}
//! → 40/admin,{"sid":"<socket id>"}
//! ← 40/admin,{"username":"admin","password":"wrong"}      (or no auth, or an unknown session)
//! → 44/admin,{"message":"invalid credentials"}    and a log line
//! ```
//!
//! As in the reference, `session` is sent from the middleware, before the CONNECT is answered:
//! the official client keeps it until the CONNECT and then hands it to the listeners it has by
//! then (the UI adds its own only once connected, so it never sees one). The sessions live in
//! memory as long as the server (the reference's default store); a Redis store is not here.
//!
//! bcrypt is slow on purpose (cost 10: 2^10 rounds of key set-up, tenths of a second); the check
//! runs on the reader thread of the client that sent the CONNECT, and delays only that client.

use std::collections::HashSet;
use std::fs::File;
use std::io::Read;
use std::sync::{Arc, Mutex};

use log::{debug, warn};
use serde_json::Value;

use crate::socketio::packet::{self, Packet, PacketData, PacketType};
use crate::socketio::{Arg, ConnectError, Namespace, Socket};
use crate::sync::lock;

/// The `auth` option. The reference insists it be given (`auth: false` for none): `instrument`
/// takes it as a field that has no default.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `auth: false`: anyone who reaches the server may watch and command it.
    None,
    /// `auth: { type: "basic", username, password }`, `password` a bcrypt hash (`$2b$10$...`),
    /// e.g. from `htpasswd -bnBC 10 "" changeit | tr -d ':\n'` or `bcrypt::hash("changeit", 10)`.
    Basic { username: String, password: String },
}

/// Why `instrument` refused its options.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidAuth(pub String);

impl std::fmt::Display for InvalidAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidAuth {}

/// The reference's `InMemoryStore`: the session ids given out so far.
#[derive(Default)]
pub struct SessionStore {
    sessions: Mutex<HashSet<String>>,
}

impl SessionStore {
    /// `doesSessionExist(sessionId)`.
    pub fn does_session_exist(&self, session_id: &str) -> bool {
        lock(&self.sessions).contains(session_id)
    }

    /// `saveSession(sessionId)`.
    pub fn save_session(&self, session_id: &str) {
        lock(&self.sessions).insert(session_id.to_string());
    }
}

/// `randomBytes(8).toString("hex")`: 16 hex digits.
fn random_session_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The refusal every failed log-in gets: `44/admin,{"message":"invalid credentials"}`.
fn invalid_credentials() -> ConnectError {
    ConnectError {
        message: "invalid credentials".to_string(),
        data: None,
    }
}

/// Sets up `auth` on the admin namespace: with `Auth::Basic`, a middleware that lets in a known
/// session id or the right user name and password. A `password` that is no bcrypt hash is
/// refused here, as the reference's `getRounds` check does.
pub fn init_authentication(nsp: &Namespace, auth: &Auth, store: &Arc<SessionStore>) -> Result<(), InvalidAuth> {
    let (username, hash) = match auth {
        Auth::None => {
            warn!("admin: authentication is disabled, please use with caution");
            return Ok(());
        }
        Auth::Basic { username, password } => (username.clone(), password.clone()),
    };
    if hash.parse::<bcrypt::HashParts>().is_err() {
        return Err(InvalidAuth(
            "the `password` field must be a valid bcrypt hash".to_string(),
        ));
    }
    debug!("admin: basic authentication is enabled");
    let store = Arc::clone(store);
    nsp.use_middleware(move |socket| check_credentials(socket, &username, &hash, &store));
    Ok(())
}

/// The middleware: `auth.sessionId` known, or `auth.username` and `auth.password` right.
fn check_credentials(socket: &Socket, username: &str, hash: &str, store: &SessionStore) -> Result<(), ConnectError> {
    let auth = &socket.handshake().auth;
    if let Some(Value::String(session_id)) = auth.get("sessionId") {
        if store.does_session_exist(session_id) {
            debug!("admin: {}: authentication success with valid session ID", socket.id());
            return Ok(());
        }
    }
    let given_username = auth.get("username").and_then(Value::as_str);
    let given_password = auth.get("password").and_then(Value::as_str);
    if let (Some(given_username), Some(given_password)) = (given_username, given_password) {
        if given_username == username && bcrypt::verify(given_password, hash).unwrap_or(false) {
            debug!("admin: {}: authentication success with valid credentials", socket.id());
            match random_session_id() {
                Ok(session_id) => {
                    store.save_session(&session_id);
                    send_session(socket, &session_id);
                }
                Err(e) => warn!("admin: {}: no session id ({e}); logged in without one", socket.id()),
            }
            return Ok(());
        }
    }
    warn!(
        "admin: {}: invalid credentials from {} (user name {:?})",
        socket.id(),
        socket.handshake().address,
        given_username.unwrap_or("")
    );
    Err(invalid_credentials())
}

/// `socket.emit("session", sessionId)` from the middleware: `42/admin,["session","..."]`,
/// written before the CONNECT answer (the socket is not connected yet, so not through `emit`).
fn send_session(socket: &Socket, session_id: &str) {
    let packet = Packet {
        packet_type: PacketType::Event,
        nsp: socket.nsp().name().to_string(),
        id: None,
        data: PacketData::Args(vec![Arg::from("session"), Arg::from(session_id)]),
    };
    if let Err(e) = socket.conn().send_many(packet::encode(&packet)) {
        debug!("admin: {}: session not sent: {e}", socket.id());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_16_hex_digits() {
        let id = random_session_id().unwrap();
        assert_eq!(id.len(), 16);
        assert!(
            id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{id}"
        );
        assert_ne!(id, random_session_id().unwrap());
    }

    #[test]
    fn the_store_remembers_sessions() {
        let store = SessionStore::default();
        assert!(!store.does_session_exist("abc"));
        store.save_session("abc");
        assert!(store.does_session_exist("abc"));
    }
}
