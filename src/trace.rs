//! `--trace`: every Engine.IO and Socket.IO packet in and out, with what it means, one line each:
//!
//! ```text
//! lv_VI97HAXpY6yYWAAAC → 0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],...}  Engine.IO OPEN (handshake)
//! lv_VI97HAXpY6yYWAAAC ← 40  Socket.IO CONNECT to "/"
//! lv_VI97HAXpY6yYWAAAC → 42["news","Hello Socket.IO"]  Socket.IO EVENT "news" on "/"
//! lv_VI97HAXpY6yYWAAAC ← 42["reply","Hello Node.JS"]  Socket.IO EVENT "reply" on "/"
//! lv_VI97HAXpY6yYWAAAC → 2  Engine.IO PING
//! ```
//!
//! `←` is from the client, `→` to it. The Engine.IO layer calls [`incoming`] and [`outgoing`]
//! where it reads and writes packets; they cost one atomic load when tracing is off.

use std::sync::atomic::{AtomicBool, Ordering};

use log::info;
use serde_json::Value;

use crate::engineio::Message;
use crate::engineio::packet::Packet;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns tracing on (the `--trace` flag).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// A packet from the client of session `sid`.
pub fn incoming(sid: &str, packet: &Packet) {
    if ENABLED.load(Ordering::Relaxed) {
        info!("{sid} ← {}  {}", show(packet), explain(packet));
    }
}

/// A packet to the client of session `sid`.
pub fn outgoing(sid: &str, packet: &Packet) {
    if ENABLED.load(Ordering::Relaxed) {
        info!("{sid} → {}  {}", show(packet), explain(packet));
    }
}

/// `outgoing` for a MESSAGE packet written straight from its message (a write in place: no
/// packet was made for the queue); the packet is made only to be shown.
pub fn outgoing_message(sid: &str, message: &Message) {
    if ENABLED.load(Ordering::Relaxed) {
        outgoing(sid, &Packet::Message(message.clone()));
    }
}

/// The packet as it goes over the wire (binary as its length; long text cut at 200 characters).
fn show(packet: &Packet) -> String {
    if let Packet::Message(Message::Binary(bytes)) = packet {
        return format!("<{} bytes>", bytes.len());
    }
    let text = packet.encode_as_text();
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        return format!("{cut}…");
    }
    text
}

/// What a packet means, in words.
pub fn explain(packet: &Packet) -> String {
    match packet {
        Packet::Open(_) => "Engine.IO OPEN (handshake)".to_string(),
        Packet::Close => "Engine.IO CLOSE".to_string(),
        Packet::Ping(data) if data == "probe" => "Engine.IO PING probe (is this WebSocket working?)".to_string(),
        Packet::Ping(_) => "Engine.IO PING".to_string(),
        Packet::Pong(data) if data == "probe" => "Engine.IO PONG probe (it is)".to_string(),
        Packet::Pong(_) => "Engine.IO PONG".to_string(),
        Packet::Upgrade => "Engine.IO UPGRADE (the WebSocket is the transport now)".to_string(),
        Packet::Noop => "Engine.IO NOOP (ends a long-poll during the upgrade)".to_string(),
        Packet::Message(Message::Binary(bytes)) => format!(
            "binary attachment of a Socket.IO packet, or with the msgpack parser a whole packet ({} bytes)",
            bytes.len()
        ),
        Packet::Message(Message::Text(text)) => explain_socketio(text),
    }
}

/// `2/admin,13["x"]` -> `Socket.IO EVENT "x" on "/admin" (ack 13)`.
fn explain_socketio(text: &str) -> String {
    let mut rest = text;
    let kind = match rest.chars().next() {
        Some('0') => "CONNECT to",
        Some('1') => "DISCONNECT from",
        Some('2') => "EVENT",
        Some('3') => "ACK",
        Some('4') => "CONNECT_ERROR on",
        Some('5') => "BINARY_EVENT",
        Some('6') => "BINARY_ACK",
        _ => return "message (not Socket.IO)".to_string(),
    };
    let binary = text.starts_with('5') || text.starts_with('6');
    rest = &rest[1..];
    let mut attachments = String::new();
    if binary {
        if let Some((count, after)) = rest.split_once('-') {
            attachments = format!(", {count} attachment(s) follow");
            rest = after;
        }
    }
    let mut nsp = "/";
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = &rest[..end];
        rest = if end < rest.len() { &rest[end + 1..] } else { "" };
    }
    let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
    let ack = if digits > 0 {
        format!(" (ack {})", &rest[..digits])
    } else {
        String::new()
    };
    rest = &rest[digits..];
    let event = if kind == "EVENT" || kind == "BINARY_EVENT" {
        match serde_json::from_str::<Value>(rest) {
            Ok(Value::Array(items)) => match items.first() {
                Some(Value::String(name)) => format!(" {name:?}"),
                Some(other) => format!(" {other}"),
                None => String::new(),
            },
            _ => String::new(),
        }
    } else {
        String::new()
    };
    if kind.ends_with(" to") || kind.ends_with(" from") || kind.ends_with(" on") {
        format!("Socket.IO {kind} {nsp:?}{ack}{attachments}")
    } else {
        format!("Socket.IO {kind}{event} on {nsp:?}{ack}{attachments}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Packet {
        Packet::Message(Message::Text(s.to_string()))
    }

    #[test]
    fn explains_packets() {
        assert_eq!(
            explain(&text(r#"2["reply","Hello Node.JS"]"#)),
            r#"Socket.IO EVENT "reply" on "/""#
        );
        assert_eq!(
            explain(&text(r#"2/admin,13["x"]"#)),
            r#"Socket.IO EVENT "x" on "/admin" (ack 13)"#
        );
        assert_eq!(explain(&text("0")), r#"Socket.IO CONNECT to "/""#);
        assert_eq!(explain(&text("1/custom,")), r#"Socket.IO DISCONNECT from "/custom""#);
        assert_eq!(
            explain(&text(r#"3/admin,13["y"]"#)),
            r#"Socket.IO ACK on "/admin" (ack 13)"#
        );
        assert_eq!(
            explain(&text(r#"51-["file",{"_placeholder":true,"num":0}]"#)),
            r#"Socket.IO BINARY_EVENT "file" on "/", 1 attachment(s) follow"#
        );
        assert_eq!(explain(&Packet::Ping(String::new())), "Engine.IO PING");
        assert_eq!(
            show(&text(r#"2["news","Hello Socket.IO"]"#)),
            r#"42["news","Hello Socket.IO"]"#
        );
        assert_eq!(show(&Packet::Message(Message::Binary(vec![1, 2]))), "<2 bytes>");
    }
}
