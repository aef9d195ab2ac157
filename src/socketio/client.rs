//! The Socket.IO side of one Engine.IO session (the reference's `client.ts`).
//!
//! One Engine.IO session can carry several namespaces (`/` and `/custom` over one WebSocket).
//! The client decodes each Engine.IO message into a Socket.IO packet (`packet.rs`) and routes it:
//!
//! ```text
//! 40/custom,{"token":"abc"}   CONNECT    -> connect(): a new Socket in namespace "/custom"
//! 42/custom,["hi"]            EVENT      -> the "/custom" socket's on_packet()
//! 41/custom,                  DISCONNECT -> the same; that socket closes, the others stay
//! 42/other,["hi"]             a namespace not joined: the connection is closed
//! ```
//!
//! A client that joins no namespace within `connectTimeout` (45 s) is closed.

use std::sync::{Arc, Mutex, Weak};

use log::{debug, info, warn};
use serde_json::Value;

use super::adapter::SessionToPersist;
use super::namespace::Namespace;
use super::namespaces::Namespaces;
use super::packet::{Packet, PacketData, PacketType, ParseError};
use super::parser::{PacketDecoder, Parser};
use super::socket::{Handshake, Socket};
use crate::date;
use crate::engineio::{self, SessionHandler};
use crate::sync::lock;
use crate::timer::{TimerId, Timers};

struct State {
    /// The reference's `nsps`: the socket of each namespace joined, in the order they were
    /// joined (a JavaScript `Map` iterates in insertion order: `_disconnect` sends `41` to `/`
    /// then `41/custom,` if `/` was joined first).
    sockets: Vec<(String, Socket)>,
    decoder: Box<dyn PacketDecoder>,
    connect_timer: Option<TimerId>,
    closed: bool,
}

/// One Engine.IO session seen from Socket.IO. The session holds it (its `SessionHandler`, the
/// reference's `conn.on("data", ...)`) and drops it when it closes; its sockets hold it weakly.
pub(super) struct Client {
    /// This client, for the sockets it makes (they hold it weakly, as `me`).
    me: Weak<Client>,
    conn: engineio::Socket,
    namespaces: Arc<Namespaces>,
    timers: Timers,
    state: Mutex<State>,
    /// Held by the thread that hands a message to the handlers (`on_message`), so that a
    /// client's packets are handled one at a time even when two threads bring them (see
    /// `on_message`). Nothing a handler can call takes it.
    delivering: Mutex<()>,
}

impl Client {
    /// A client for a new Engine.IO session; starts the `connectTimeout`. The caller gives it to
    /// the session (`set_session_handler`).
    pub fn new(
        conn: engineio::Socket,
        namespaces: Arc<Namespaces>,
        timers: Timers,
        connect_timeout: std::time::Duration,
        parser: &dyn Parser,
    ) -> Arc<Client> {
        let client = Arc::new_cyclic(|me| Client {
            me: me.clone(),
            conn,
            namespaces,
            timers: timers.clone(),
            state: Mutex::new(State {
                sockets: Vec::new(),
                decoder: parser.decoder(),
                connect_timer: None,
                closed: false,
            }),
            delivering: Mutex::new(()),
        });
        let weak = client.me.clone();
        let timer = timers.set_timeout(connect_timeout, move || {
            if let Some(client) = weak.upgrade() {
                client.on_connect_timeout();
            }
        });
        lock(&client.state).connect_timer = Some(timer);
        client
    }

    fn on_connect_timeout(&self) {
        if lock(&self.state).sockets.is_empty() {
            info!("{}: no namespace joined within connectTimeout: closing", self.conn.id());
            self.close();
        }
    }

    /// Engine.IO v3 (a socket.io 2.x client, Socket.IO protocol v4): the reference connects it
    /// to `/` at once, without a CONNECT from the client (`onconnection`: `client.connect("/")`);
    /// the socket's answer is a bare `40`.
    pub fn connect_root(&self) {
        self.connect(Packet {
            packet_type: PacketType::Connect,
            nsp: "/".to_string(),
            id: None,
            data: PacketData::Object(Value::Object(serde_json::Map::new())),
        });
    }

    /// The reference's `ondecoded`: CONNECT opens a socket, other packets go to theirs.
    fn on_decoded(&self, packet: Packet) {
        let packet = if self.conn.protocol() == 3 {
            parse_namespace_v3(packet)
        } else {
            packet
        };
        let socket = socket_of(&lock(&self.state).sockets, &packet.nsp);
        match socket {
            None if packet.packet_type == PacketType::Connect => self.connect(packet),
            Some(socket)
                if packet.packet_type != PacketType::Connect && packet.packet_type != PacketType::ConnectError =>
            {
                socket.on_packet(packet)
            }
            _ => {
                debug!(
                    "{}: invalid state (packet type {:?} for {:?})",
                    self.conn.id(),
                    packet.packet_type,
                    packet.nsp
                );
                self.close();
            }
        }
    }

    /// CONNECT: the reference's `connect`. A name no namespace has, and no parent namespace
    /// matches (`namespaces.rs`), is refused.
    fn connect(&self, packet: Packet) {
        let auth = match packet.data {
            PacketData::Object(auth) => auth,
            _ => Value::Object(serde_json::Map::new()),
        };
        let namespace = match self.namespaces.for_connect(&packet.nsp, &auth) {
            Some(namespace) => namespace,
            None => {
                // 44/nsp,{"message":"Invalid namespace"}
                debug!("{}: refusing unknown namespace {:?}", self.conn.id(), packet.nsp);
                let refusal = self.namespaces.parser().encode_invalid_namespace(&packet.nsp);
                let _ = self.conn.send_many(refusal);
                return;
            }
        };
        self.do_connect(&namespace, auth);
        self.namespaces.connect_finished(&namespace);
    }

    /// The reference's `doConnect` and `_createSocket`: a socket in `namespace`, through its
    /// middlewares. With connection state recovery on, a CONNECT whose `auth` carries the `pid`
    /// and `offset` of a session the adapter still keeps gets that socket back (same id, rooms,
    /// data; its missed packets follow); any other gets a new socket with a new pid:
    ///
    /// ```text
    /// 40{"pid":"<pid>","offset":"PhPmfU0"}   kept session, offset in the log -> the same socket
    /// 40{"pid":"forged","offset":"x"}        anything else                    -> a new socket
    /// ```
    fn do_connect(&self, namespace: &Namespace, auth: Value) {
        let restored = restore_session(namespace, &auth);
        let handshake = build_handshake(self.conn.request(), auth);
        let socket = match restored {
            Some((session, offset)) => Socket::restored(
                session,
                offset,
                namespace.clone(),
                self.conn.clone(),
                self.me.clone(),
                handshake,
            ),
            None => {
                let ids = match new_ids(namespace, self.conn.protocol(), self.conn.id()) {
                    Ok(ids) => ids,
                    Err(e) => {
                        warn!("{}: cannot make a socket id: {e}", self.conn.id());
                        self.close();
                        return;
                    }
                };
                Socket::new(
                    ids.0,
                    ids.1,
                    namespace.clone(),
                    self.conn.clone(),
                    self.me.clone(),
                    handshake,
                )
            }
        };
        if self.conn.ready_state() != engineio::ReadyState::Open {
            socket.cleanup_unconnected();
            return;
        }
        let socket = match namespace.add(socket) {
            Some(socket) => socket,
            None => return, // refused by a middleware: CONNECT_ERROR was sent
        };
        let timer = {
            let mut state = lock(&self.state);
            state.sockets.retain(|(nsp, _)| nsp != namespace.name());
            state.sockets.push((namespace.name().to_string(), socket.clone()));
            state.connect_timer.take()
        };
        if let Some(timer) = timer {
            self.timers.clear_timeout(timer);
        }
        namespace.emit_connection(&socket);
    }

    /// A socket left (`_remove`); an empty child namespace may go (`socket_left`).
    pub fn remove_socket(&self, nsp: &Namespace) {
        lock(&self.state).sockets.retain(|(name, _)| name != nsp.name());
        self.namespaces.socket_left(nsp);
    }

    /// The reference's `_disconnect` (`socket.disconnect(true)`): every socket gets `41` and
    /// closes with "server namespace disconnect", then the connection closes.
    pub fn disconnect_all(&self) {
        let sockets = self.sockets();
        for socket in sockets {
            socket.send_disconnect_packet();
            socket.on_close("server namespace disconnect");
        }
        self.close();
    }

    /// The reference's `close`: close the Engine.IO session (what is queued is still sent) and
    /// the sockets with "forced server close".
    pub fn close(&self) {
        if self.conn.ready_state() == engineio::ReadyState::Open {
            self.conn.close();
            self.on_close("forced server close");
        }
    }

    /// The reference's `onerror`: a malformed packet. The sockets' error handlers hear it first,
    /// then the connection closes.
    fn on_error(&self, error: ParseError) {
        warn!("{}: invalid packet: {error}", self.conn.id());
        let sockets = self.sockets();
        for socket in &sockets {
            socket.on_error_packet(&error);
        }
        self.conn.close();
    }

    /// Every socket of this client.
    pub fn sockets(&self) -> Vec<Socket> {
        lock(&self.state)
            .sockets
            .iter()
            .map(|(_, socket)| socket.clone())
            .collect()
    }
}

/// What the Engine.IO session calls: its messages and its end (the reference's `conn.on("data",
/// this.ondata)` and `conn.on("close", this.onclose)`).
impl SessionHandler for Client {
    /// An Engine.IO message arrived (the reference's `ondata`): decode it and hand it on, on the
    /// thread that read it.
    ///
    /// Usually one thread reads a client (a WebSocket's reader, or one POST at a time), but not
    /// always: a POST still handing its packets over while the WebSocket the session has just
    /// upgraded to reads (the official client waits for its POST's `ok` before it sends `5`; a
    /// raw client need not). The reference, on one event loop, handles one packet at a time;
    /// here `delivering` makes the second thread wait until the handler of the first returns,
    /// so the handlers of one socket never run at once and each transport's packets keep their
    /// order.
    fn on_message(&self, message: engineio::Message) {
        let _delivering = lock(&self.delivering);
        let decoded = lock(&self.state).decoder.add(message);
        match decoded {
            Ok(Some(packet)) => self.on_decoded(packet),
            Ok(None) => {} // a binary packet waiting for its attachments
            Err(error) => self.on_error(error),
        }
    }

    /// The reference's `onclose`: the session ended; every socket closes with its reason.
    fn on_close(&self, reason: &str) {
        let (sockets, timer) = {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            state.closed = true;
            state.decoder.destroy();
            let sockets: Vec<Socket> = state.sockets.drain(..).map(|(_, socket)| socket).collect();
            (sockets, state.connect_timer.take())
        };
        if let Some(timer) = timer {
            self.timers.clear_timeout(timer);
        }
        for socket in sockets {
            socket.on_close(reason);
        }
    }
}

/// A new socket's id and, with connection state recovery on, its private session id (both
/// from `generate_id`, as the reference's `base64id.generateId()`; socket.io 2.x clients,
/// protocol 3, expect the Engine.IO id `sid` as the socket's: `<sid>` on `/`, `/custom#<sid>`).
fn new_ids(namespace: &Namespace, protocol: u8, sid: &str) -> std::io::Result<(String, Option<String>)> {
    let id = if protocol == 3 {
        socket_id_v3(namespace.name(), sid)
    } else {
        engineio::generate_id()?
    };
    let pid = match namespace.recovery() {
        Some(_) => Some(engineio::generate_id()?),
        None => None,
    };
    Ok((id, pid))
}

/// The reference's `_createSocket` check: recovery on, `auth.pid` and `auth.offset` strings,
/// and the adapter still keeps that session. Returns it and the offset.
fn restore_session(namespace: &Namespace, auth: &Value) -> Option<(SessionToPersist, String)> {
    namespace.recovery()?;
    let pid = auth.get("pid")?.as_str()?;
    let offset = auth.get("offset")?.as_str()?;
    let session = namespace.adapter().restore_session(pid, offset)?;
    debug!(
        "{}: connection state recovered for socket {}",
        namespace.name(),
        session.sid
    );
    Some((session, offset.to_string()))
}

/// The reference's `_parseNamespace` for protocol 3: a socket.io 2.x client puts the query of
/// its namespace in the name (`40/custom?token=abc,`); the name is the part before `?`, and the
/// query (decoded, every value a string) is the packet's data: the `auth` of a CONNECT, so a
/// middleware can check `socket.handshake.auth.token`. (The reference parses the name as a URL
/// path; here it is only split at `?`.)
fn parse_namespace_v3(mut packet: Packet) -> Packet {
    let (name, query) = match packet.nsp.split_once('?') {
        Some((name, query)) => (name.to_string(), query.to_string()),
        None => return with_auth_v3(packet, serde_json::Map::new()),
    };
    let mut auth = serde_json::Map::new();
    for (key, value) in crate::http::parse_query(&query) {
        auth.insert(key, Value::String(value));
    }
    packet.nsp = name;
    with_auth_v3(packet, auth)
}

/// A v3 CONNECT's data is its query, whatever the client put after the name.
fn with_auth_v3(mut packet: Packet, auth: serde_json::Map<String, Value>) -> Packet {
    if packet.packet_type == PacketType::Connect {
        packet.data = PacketData::Object(Value::Object(auth));
    }
    packet
}

/// The reference's socket id for protocol 3: the Engine.IO id on `/`, `/custom#<id>` elsewhere.
fn socket_id_v3(nsp: &str, sid: &str) -> String {
    if nsp == "/" {
        sid.to_string()
    } else {
        format!("{nsp}#{sid}")
    }
}

/// The socket of namespace `nsp`, if joined.
fn socket_of(sockets: &[(String, Socket)], nsp: &str) -> Option<Socket> {
    sockets
        .iter()
        .find(|(name, _)| name == nsp)
        .map(|(_, socket)| socket.clone())
}

/// The reference's `buildHandshake`.
fn build_handshake(request: &crate::http::Request, auth: Value) -> Handshake {
    let issued = date::now_millis();
    Handshake {
        headers: Arc::clone(&request.headers),
        query: Arc::clone(&request.query),
        auth,
        url: request.url.clone(),
        time: date::js_date_string(issued),
        issued,
        xdomain: request.header("origin").is_some(),
        secure: false,
        address: request.peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_of_socket_io_2_clients() {
        let connect = |nsp: &str| Packet {
            packet_type: PacketType::Connect,
            nsp: nsp.to_string(),
            id: None,
            data: PacketData::None,
        };
        let parsed = parse_namespace_v3(connect("/custom?token=abc&x=a%20b"));
        assert_eq!(parsed.nsp, "/custom");
        assert_eq!(
            parsed.data,
            PacketData::Object(serde_json::json!({"token": "abc", "x": "a b"}))
        );
        let parsed = parse_namespace_v3(connect("/custom"));
        assert_eq!(parsed.data, PacketData::Object(serde_json::json!({})));
        assert_eq!(socket_id_v3("/", "AAAA"), "AAAA");
        assert_eq!(socket_id_v3("/custom", "AAAA"), "/custom#AAAA");
    }
}
