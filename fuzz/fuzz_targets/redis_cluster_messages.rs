//! The sharded Redis adapter's messages (`redis::cluster_messages`, socket.io-adapter's
//! `ClusterAdapter` format `{type, data, uid, nsp}`), JSON or msgpack by the first byte, as
//! they arrive on any of its channels (`socket.io#/#`, a room's, a server's own answers):
//!
//! ```text
//! {"type":3,"data":{"packet":{"type":2,"data":["news",1.5]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"001768e133baf464","nsp":"/"}
//! 84 a4 74797065 03 a4 64617461 82 a6 7061636b6574 ...      the same with bytes, msgpack
//! ```
//!
//! Checks, beyond "no panic, no hang":
//! - memory: decoding never holds more than 300 bytes per byte of input (+ 64 KiB) on the heap;
//! - a decoded message re-encodes (`encode`, JSON or msgpack as the reference chooses) to bytes
//!   that decode to the same message (`same_javascript_value` on a JSON view of both), and
//!   encode again to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value as Json, json};
use socketio_book::socketio::adapter::redis::cluster_messages::{ClusterMessage, MessageBody};
use socketio_book_fuzz::views::{arg_view, args_view, opts_view, packet_view, socket_view};
use socketio_book_fuzz::{CountingAllocator, check_bounded_decode, check_round_trip};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|payload: &[u8]| {
    if let Some(message) = check_bounded_decode(payload, ClusterMessage::decode) {
        // What `on_response` asks of a message on our own channel.
        let _ = message.body.is_response();
        check_round_trip(&message, ClusterMessage::encode, ClusterMessage::decode, message_view);
    }
});

fn message_view(message: &ClusterMessage) -> Json {
    let body = match &message.body {
        MessageBody::Heartbeat(kind) => json!({"Heartbeat": kind}),
        MessageBody::Broadcast {
            packet,
            request_id,
            opts,
        } => json!({"Broadcast": [packet_view(packet), request_id, opts_view(opts, true)]}),
        MessageBody::SocketsJoin { opts, rooms } => json!({"SocketsJoin": [opts_view(opts, true), rooms]}),
        MessageBody::SocketsLeave { opts, rooms } => json!({"SocketsLeave": [opts_view(opts, true), rooms]}),
        MessageBody::DisconnectSockets { opts, close } => {
            json!({"DisconnectSockets": [opts_view(opts, true), close]})
        }
        MessageBody::FetchSockets { opts, request_id } => {
            json!({"FetchSockets": [opts_view(opts, true), request_id]})
        }
        MessageBody::FetchSocketsResponse { request_id, sockets } => {
            let sockets: Vec<Json> = sockets.iter().map(socket_view).collect();
            json!({"FetchSocketsResponse": [request_id, sockets]})
        }
        MessageBody::ServerSideEmit { request_id, args } => json!({"ServerSideEmit": [request_id, args_view(args)]}),
        MessageBody::ServerSideEmitResponse { request_id, packet } => {
            json!({"ServerSideEmitResponse": [request_id, arg_view(packet)]})
        }
        MessageBody::BroadcastClientCount {
            request_id,
            client_count,
        } => json!({"BroadcastClientCount": [request_id, client_count]}),
        MessageBody::BroadcastAck { request_id, packet } => json!({"BroadcastAck": [request_id, arg_view(packet)]}),
    };
    json!({"uid": message.uid, "nsp": message.nsp, "body": body})
}
