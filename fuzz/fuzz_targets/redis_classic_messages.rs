//! The classic Redis adapter's messages (`redis::classic_messages`), as they arrive on each
//! channel of a namespace; the first byte of the input says which channel, the rest is the
//! payload:
//!
//! ```text
//! byte 0 % 13   0: socket.io#/# (or a room's)     BroadcastMessage::decode   93 a6 "OQcAYm" 83 ...
//!               1: socket.io-request#/#           Request::decode            {"uid":"hxqvhg","type":5,...}
//!               2: socket.io-response#/#, an answer to no request of ours   Response::decode
//!               3-12: the same, to our request of type 0-9 (SOCKETS ... BROADCAST_ACK)
//! rest          the payload
//! ```
//!
//! Checks, beyond "no panic, no hang":
//! - memory: decoding never holds more than 300 bytes per byte of input (+ 64 KiB) on the heap;
//! - a decoded message re-encodes (`encode`, as this server publishes it) to bytes that decode
//!   to the same message (`same_javascript_value` on a JSON view of both: numbers by value,
//!   nested bytes by their bytes), and encode again to the same bytes. What the encoder leaves
//!   out on purpose, as the reference does, is left out of the view: `flags` of an operator's
//!   `opts` (`socketsJoin`, `fetchSockets`, ...).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value as Json, json};
use socketio_book::socketio::adapter::redis::classic_messages::{
    BroadcastMessage, Request, RequestKind, Response, ResponseKind,
};
use socketio_book_fuzz::views::{arg_view, args_view, opts_view, packet_view, socket_view};
use socketio_book_fuzz::{CountingAllocator, check_bounded_decode, check_round_trip};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: &[u8]| {
    let Some((&channel, payload)) = input.split_first() else {
        return;
    };
    match channel % 13 {
        0 => {
            if let Some(message) = check_bounded_decode(payload, BroadcastMessage::decode) {
                check_round_trip(
                    &message,
                    BroadcastMessage::encode,
                    BroadcastMessage::decode,
                    broadcast_view,
                );
            }
        }
        1 => {
            if let Some(request) = check_bounded_decode(payload, Request::decode) {
                check_round_trip(&request, Request::encode, Request::decode, request_view);
            }
        }
        selector => {
            // The type of our request that `requestId` names, if any (2: none).
            let expected = (selector >= 3).then(|| u64::from(selector - 3));
            let decode = |bytes: &[u8]| Response::decode(bytes, |_| expected);
            if let Some(response) = check_bounded_decode(payload, decode) {
                check_round_trip(&response, Response::encode, decode, response_view);
            }
        }
    }
});

fn broadcast_view(message: &BroadcastMessage) -> Json {
    json!([
        message.uid,
        packet_view(&message.packet),
        opts_view(&message.opts, true)
    ])
}

fn request_view(request: &Request) -> Json {
    let kind = match &request.kind {
        RequestKind::Sockets { rooms } => json!({"Sockets": rooms}),
        RequestKind::AllRooms => json!("AllRooms"),
        RequestKind::Join { opts, rooms } => json!({"Join": [opts_view(opts, false), rooms]}),
        RequestKind::JoinSocket { sid, room } => json!({"JoinSocket": [sid, room]}),
        RequestKind::Leave { opts, rooms } => json!({"Leave": [opts_view(opts, false), rooms]}),
        RequestKind::LeaveSocket { sid, room } => json!({"LeaveSocket": [sid, room]}),
        RequestKind::Disconnect { opts, close } => json!({"Disconnect": [opts_view(opts, false), close]}),
        RequestKind::DisconnectSocket { sid, close } => json!({"DisconnectSocket": [sid, close]}),
        RequestKind::Fetch { opts } => json!({"Fetch": opts_view(opts, false)}),
        RequestKind::ServerSideEmit { args } => json!({"ServerSideEmit": args_view(args)}),
        RequestKind::Broadcast { packet, opts } => {
            json!({"Broadcast": [packet_view(packet), opts_view(opts, true)]})
        }
    };
    json!({"uid": request.uid, "requestId": request.request_id, "kind": kind})
}

fn response_view(response: &Response) -> Json {
    let kind = match &response.kind {
        ResponseKind::SocketIds(ids) => json!({"SocketIds": ids}),
        ResponseKind::Rooms(rooms) => json!({"Rooms": rooms}),
        ResponseKind::Done => json!("Done"),
        ResponseKind::Sockets(sockets) => json!({"Sockets": sockets.iter().map(socket_view).collect::<Vec<_>>()}),
        ResponseKind::ServerSideEmit(arg) => json!({"ServerSideEmit": arg_view(arg)}),
        ResponseKind::BroadcastClientCount(count) => json!({"BroadcastClientCount": count}),
        ResponseKind::BroadcastAck(arg) => json!({"BroadcastAck": arg_view(arg)}),
    };
    json!({"requestId": response.request_id, "kind": kind})
}
