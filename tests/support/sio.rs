//! In-process Socket.IO helpers (`socketio_api.rs`, `socketio_operators.rs`): a `Server` served
//! on a free port, raw WebSocket and polling clients that join `/`, and the sockets as they
//! connect.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};
use socketio_book::listener::{HttpServer, ListenerConfig};
use socketio_book::socketio::{Server, Socket};

use super::{Http, POLLING_HANDSHAKE, Ws, WsEvent, packets, polling, sid_of_open, ws_connect_at, ws_next, ws_send};

pub const WAIT: Duration = Duration::from_secs(5);

/// Serves `io` on an ephemeral port, on a thread of its own (it lives as long as the test).
pub fn serve(io: &Server) -> u16 {
    let http = HttpServer::bind("127.0.0.1:0", ListenerConfig::default()).unwrap();
    let port = http.local_addr().unwrap().port();
    let service = Arc::new(io.clone());
    thread::spawn(move || http.serve(service));
    port
}

/// A WebSocket session that has joined `/`; returns it and the socket id.
pub fn connect(port: u16) -> (Ws, String) {
    let mut ws = ws_connect_at(port, "/socket.io/", "EIO=4&transport=websocket");
    let open = next_text(&mut ws);
    assert!(open.starts_with(r#"0{"sid":""#), "{open}");
    ws_send(&mut ws, "40");
    let connected = next_text(&mut ws);
    let id = connected
        .strip_prefix(r#"40{"sid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("{connected}"))
        .to_string();
    (ws, id)
}

pub fn next_text(ws: &mut Ws) -> String {
    match ws_next(ws, WAIT) {
        WsEvent::Text(text) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// `40/custom,` on a session: joins `/custom`, returns the socket id.
pub fn join_custom(ws: &mut Ws) -> String {
    ws_send(ws, "40/custom,");
    let connected = next_text(ws);
    connected
        .strip_prefix(r#"40/custom,{"sid":""#)
        .and_then(|rest| rest.strip_suffix(r#""}"#))
        .unwrap_or_else(|| panic!("{connected}"))
        .to_string()
}

/// A raw polling session of `/socket.io/`: one connection for GETs, one for POSTs.
pub struct Polling {
    pub get: Http,
    pub post: Http,
    pub sid: String,
}

impl Polling {
    /// The handshake GET.
    pub fn open(port: u16) -> Polling {
        let mut get = Http::connect_at(port, "/socket.io/");
        let open = get.get(POLLING_HANDSHAKE).text();
        Polling {
            get,
            post: Http::connect_at(port, "/socket.io/"),
            sid: sid_of_open(&open),
        }
    }

    /// The handshake and `40`: returns the session and the socket id of `/`.
    pub fn connect(port: u16) -> (Polling, String) {
        let mut session = Polling::open(port);
        session.post("40");
        let answer = session.get();
        let connected = answer.first().map(String::as_str).unwrap_or("");
        let id = connected
            .strip_prefix(r#"40{"sid":""#)
            .and_then(|rest| rest.strip_suffix(r#""}"#))
            .unwrap_or_else(|| panic!("{answer:?}"))
            .to_string();
        (session, id)
    }

    /// A POST of `body` (packets joined by `\x1e`), answered `ok`.
    pub fn post(&mut self, body: &str) {
        let response = self.post.post(&polling(&self.sid), body.as_bytes());
        assert_eq!(
            (response.status, response.text()),
            (200, "ok".to_string()),
            "POST {body:?}"
        );
    }

    /// A GET and the packets of its answer.
    pub fn get(&mut self) -> Vec<String> {
        let response = self.get.get(&polling(&self.sid));
        assert_eq!(response.status, 200, "{response:?}");
        packets(&response.text())
    }
}

/// Every socket that connects to `/`, as it connects.
pub fn sockets_of(io: &Server) -> Receiver<Socket> {
    let (sender, receiver) = unbounded();
    io.on_connection(move |socket| {
        sender.send(socket.clone()).unwrap();
    });
    receiver
}
