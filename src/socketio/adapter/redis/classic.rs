//! The classic Redis adapter: `@socket.io/redis-adapter` 8.x's `createAdapter`, byte for byte
//! (its messages and channels are in `classic_messages.rs`). One per namespace; it wraps this
//! server's [`MemoryAdapter`] and tells the other servers over Redis.
//!
//! ```text
//! io.to("room1").emit("news", 1)      this server's sockets of room1 (the MemoryAdapter), then
//!                                     PUBLISH socket.io#/#room1# [uid, packet, opts]
//! another server's PUBLISH of it      redis-sub → redis-apply: on_broadcast → MemoryAdapter
//! io.fetchSockets()                   PUBSUB NUMSUB socket.io-request#/# (the servers), then
//!                                     PUBLISH socket.io-request#/# {"type":5,...} and wait for
//!                                     an answer of each other server on socket.io-response#/#
//! ```
//!
//! Where we differ from the reference: `socketsJoin`, `socketsLeave` and `disconnectSockets`
//! act on this server's sockets at once, and the request, back from Redis, is recognised by
//! its `uid` and not applied again. The reference applies its own request only when Redis
//! sends it back, so that with Redis down not even its own sockets join. The clients see the
//! same result (NOTES.md, "Where we differ").

use std::sync::{Arc, Weak};
use std::time::Duration;

use log::{debug, warn};

use super::classic_messages::{BroadcastMessage, Channels, Request, RequestKind, Response, ResponseKind, request_type};
use super::connection::Subscription;
use super::link::{Answer, Link, Receive, Route, UID2_ALPHABET, random_id};
use super::messages::{MessageError, WireHandshake, WireSocket};
use super::{RedisOptions, arg_event, options_from_wire, packet_from_wire, remote_sockets, wire_options, wire_packet};
use crate::socketio::adapter::{
    Adapter, AdapterEvents, BroadcastOptions, ClientAckCallback, ClientCountCallback, MemoryAdapter,
    ServerSideEmitCallback, TimeoutError,
};
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::namespace::{ServerSideAck, WeakNamespace};
use crate::socketio::packet::{Arg, Packet};

/// The adapter of one namespace.
pub struct ClassicAdapter {
    /// This server's sockets and rooms.
    local: MemoryAdapter,
    nsp: WeakNamespace,
    channels: Channels,
    link: Arc<Link>,
    options: Arc<RedisOptions>,
    /// Itself, for the link's routes (which hold adapters weakly).
    me: Weak<ClassicAdapter>,
}

impl ClassicAdapter {
    pub fn new(nsp: WeakNamespace, link: Arc<Link>, options: Arc<RedisOptions>) -> Arc<ClassicAdapter> {
        let channels = Channels::new(&options.key, nsp.name(), &link.uid);
        Arc::new_cyclic(|me| ClassicAdapter {
            local: MemoryAdapter::new(nsp.clone()),
            nsp,
            channels,
            link,
            options,
            me: me.clone(),
        })
    }

    fn route(&self, response: bool) -> Route {
        let adapter: Weak<dyn Receive> = self.me.clone();
        Route { adapter, response }
    }

    /// The request on `socket.io-request#<nsp>#`. False (and a log line) if it could not be
    /// published.
    fn publish_request(&self, request: &Request) -> bool {
        self.link.publisher.publish(&self.channels.request, &request.encode())
    }

    /// The reference's `publishResponse`: on `socket.io-response#<nsp>#`, or on the requester's
    /// own channel with `publishOnSpecificResponseChannel`.
    fn publish_response(&self, request: &Request, kind: ResponseKind) {
        let Some(request_id) = &request.request_id else {
            return;
        };
        let response = Response {
            request_id: request_id.clone(),
            kind,
        };
        self.link
            .publisher
            .publish(&self.response_channel(request), &response.encode());
    }

    /// Where the answer to `request` goes: the common response channel, or the requester's own
    /// (`publishOnSpecificResponseChannel`).
    fn response_channel(&self, request: &Request) -> String {
        match (&request.uid, self.options.publish_on_specific_response_channel) {
            (Some(uid), true) => format!("{}{uid}#", self.channels.response),
            _ => self.channels.response.clone(),
        }
    }

    /// `serverCount()`: the subscribers of the request channel (one per server), or `Err` when
    /// Redis does not answer.
    fn count_servers(&self) -> Result<usize, String> {
        self.link.publisher.count_subscribers(&self.channels.request, false)
    }

    // ----- what other servers (and the emitter) ask ----------------------------------------------

    /// A broadcast from another server (`[uid, packet, opts]` on `socket.io#<nsp>#[room#]`).
    fn on_broadcast(&self, channel: &str, payload: &[u8]) {
        let Some(room) = self.channels.room_of(channel) else {
            return debug!("redis: ignore different channel {channel}");
        };
        // A room's channel: only if this server has the room (the reference's `hasRoom`).
        if !room.is_empty() && self.local.room_size(room) == 0 {
            return debug!("redis: ignore unknown room {room}");
        }
        let message = match BroadcastMessage::decode(payload) {
            Ok(message) => message,
            Err(e) => return ignored(channel, payload, &e),
        };
        if message.uid == self.link.uid {
            return debug!("redis: ignore same uid");
        }
        let nsp = message.packet.nsp.as_deref().unwrap_or("/");
        if nsp != self.nsp.name() {
            return warn!("redis: ignored a broadcast for namespace {nsp:?} on {channel}");
        }
        let packet = packet_from_wire(&message.packet, self.nsp.name(), None);
        self.local.broadcast(&packet, &options_from_wire(&message.opts));
    }

    /// A request on `socket.io-request#<nsp>#`.
    fn on_request(&self, channel: &str, payload: &[u8]) {
        let request = match Request::decode(payload) {
            Ok(request) => request,
            Err(e) => return ignored(channel, payload, &e),
        };
        let from_us = request.uid.as_deref() == Some(self.link.uid.as_str());
        let ours = request.request_id.as_deref().is_some_and(|id| self.link.is_ours(id));
        if from_us || ours {
            // Our own request, back from Redis: applied already (joins) or not for us (the rest).
            return debug!("redis: ignore same uid");
        }
        debug!("redis: request {:?} from {:?}", request.kind, request.uid);
        match &request.kind {
            RequestKind::Sockets { rooms } => {
                let mut ids: Vec<String> = self.local.sockets(rooms).into_iter().collect();
                ids.sort();
                self.publish_response(&request, ResponseKind::SocketIds(ids));
            }
            RequestKind::AllRooms => {
                let mut rooms: Vec<String> = self.local.rooms().into_keys().collect();
                rooms.sort();
                self.publish_response(&request, ResponseKind::Rooms(rooms));
            }
            RequestKind::Join { opts, rooms } => self.local.add_sockets(&options_from_wire(opts), rooms),
            RequestKind::Leave { opts, rooms } => self.local.del_sockets(&options_from_wire(opts), rooms),
            RequestKind::Disconnect { opts, close } => self.local.disconnect_sockets(&options_from_wire(opts), *close),
            RequestKind::JoinSocket { sid, room } => {
                if let Some(socket) = self.nsp.upgrade().and_then(|nsp| nsp.socket(sid)) {
                    socket.join(room);
                    self.publish_response(&request, ResponseKind::Done);
                }
            }
            RequestKind::LeaveSocket { sid, room } => {
                if let Some(socket) = self.nsp.upgrade().and_then(|nsp| nsp.socket(sid)) {
                    socket.leave(room);
                    self.publish_response(&request, ResponseKind::Done);
                }
            }
            RequestKind::DisconnectSocket { sid, close } => {
                if let Some(socket) = self.nsp.upgrade().and_then(|nsp| nsp.socket(sid)) {
                    // Answered first: the disconnect runs handlers.
                    self.publish_response(&request, ResponseKind::Done);
                    socket.disconnect(*close);
                }
            }
            RequestKind::Fetch { opts } => {
                let Some(request_id) = &request.request_id else {
                    return;
                };
                let sockets = self.local.fetch_sockets(&options_from_wire(opts)).unwrap_or_default();
                // Written straight from the sockets (the bytes of `ResponseKind::Sockets`).
                let answer = Response::encode_fetch_answer(request_id, &sockets);
                self.link.publisher.publish(&self.response_channel(&request), &answer);
            }
            RequestKind::ServerSideEmit { args } => self.on_server_side_emit(&request, args.clone()),
            RequestKind::Broadcast { packet, opts } => {
                let Some(request_id) = request.request_id.clone() else {
                    return;
                };
                let count_to = self.me.clone();
                let count_request = request.clone();
                let client_count: ClientCountCallback = Arc::new(move |count| {
                    if let Some(adapter) = count_to.upgrade() {
                        adapter.publish_response(&count_request, ResponseKind::BroadcastClientCount(count as u64));
                    }
                });
                let ack_to = self.me.clone();
                let ack_request = request.clone();
                let ack: ClientAckCallback = Arc::new(move |response| {
                    if let Some(adapter) = ack_to.upgrade() {
                        adapter.publish_response(&ack_request, ResponseKind::BroadcastAck(response));
                    }
                });
                debug!("redis: broadcast with acks {request_id}");
                let packet = packet_from_wire(packet, self.nsp.name(), None);
                self.local
                    .broadcast_with_ack(&packet, &options_from_wire(opts), client_count, ack);
            }
        }
    }

    /// `SERVER_SIDE_EMIT` from another server or the emitter: this namespace's listener, with an
    /// ack that answers on `socket.io-response#<nsp>#` when a `requestId` asks for one.
    fn on_server_side_emit(&self, request: &Request, args: Vec<Arg>) {
        let Some(nsp) = self.nsp.upgrade() else {
            return;
        };
        let Some((event, args)) = arg_event(args) else {
            return warn!("redis: ignored a serverSideEmit without an event name");
        };
        let ack = request.request_id.clone().map(|request_id| {
            let link = self.link.clone();
            let channel = self.channels.response.clone();
            ServerSideAck::new(move |response| {
                let answer = Response {
                    request_id,
                    kind: ResponseKind::ServerSideEmit(response),
                };
                // Always the common response channel, as the reference does it.
                link.publisher.publish(&channel, &answer.encode());
            })
        });
        nsp.on_server_side_emit(&event, args, ack);
    }
}

impl Receive for ClassicAdapter {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        if channel == self.channels.request {
            self.on_request(channel, payload);
        } else {
            self.on_broadcast(channel, payload);
        }
    }

    /// An answer on `socket.io-response#<nsp>#` (every server's answers to every server's
    /// requests come here) or on ours alone.
    fn on_response(&self, channel: &str, payload: &[u8]) {
        let response = match Response::decode(payload, |id| self.link.request_type(id)) {
            Ok(response) => response,
            // An answer to another server's request, or our own that Redis echoed: refused from
            // its `requestId` alone (`Response::decode` reads the head first), not ours to read.
            Err(MessageError::UnknownType(reason)) => return debug!("redis: ignoring {reason}"),
            Err(e) => return ignored(channel, payload, &e),
        };
        let id = &response.request_id;
        match response.kind {
            ResponseKind::Sockets(sockets) => {
                self.link.answer(id, Answer::Sockets(sockets));
            }
            ResponseKind::SocketIds(ids) => {
                self.link.answer(id, Answer::SocketIds(ids));
            }
            ResponseKind::Rooms(rooms) => {
                self.link.answer(id, Answer::Rooms(rooms));
            }
            ResponseKind::Done => debug!("redis: request {id} done"),
            ResponseKind::ServerSideEmit(response) => self.link.server_side_emit_answer(id, response),
            ResponseKind::BroadcastClientCount(count) => self.link.client_count_answer(id, count as usize),
            ResponseKind::BroadcastAck(response) => self.link.ack_answer(id, response),
        }
    }
}

impl Adapter for ClassicAdapter {
    /// Subscribes to the namespace's channels (`PSUBSCRIBE socket.io#<nsp>#*`, `SUBSCRIBE` the
    /// request and response channels) and waits for Redis to confirm.
    fn init(&self) {
        self.link.init_timers(&self.nsp);
        self.link.subscribe(
            vec![
                Subscription::Pattern(self.channels.broadcast_pattern()),
                Subscription::Channel(self.channels.request.clone()),
            ],
            self.route(false),
            true,
        );
        self.link.subscribe(
            vec![
                Subscription::Channel(self.channels.response.clone()),
                Subscription::Channel(self.channels.specific_response.clone()),
            ],
            self.route(true),
            true,
        );
    }

    fn close(&self) {
        self.link.unsubscribe(vec![
            Subscription::Pattern(self.channels.broadcast_pattern()),
            Subscription::Channel(self.channels.request.clone()),
            Subscription::Channel(self.channels.response.clone()),
            Subscription::Channel(self.channels.specific_response.clone()),
        ]);
    }

    /// `PUBSUB NUMSUB socket.io-request#<nsp>#`; 1 (this server) when Redis does not answer.
    fn server_count(&self) -> usize {
        self.link.server_count(&self.channels.request, false)
    }

    fn add_all(&self, id: &str, rooms: &[String]) {
        self.local.add_all(id, rooms);
    }

    fn del(&self, id: &str, room: &str) {
        self.local.del(id, room);
    }

    fn del_all(&self, id: &str) {
        self.local.del_all(id);
    }

    /// This server's sockets first (a Redis that does not answer never delays them), then the
    /// message for the others: on the room's own channel when the broadcast names exactly one.
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.local.broadcast(packet, opts);
        if opts.flags.local {
            return;
        }
        let message = BroadcastMessage {
            uid: self.link.uid.clone(),
            packet: wire_packet(packet, Some(self.nsp.name())),
            opts: wire_options(opts, true),
        };
        let channel = match opts.rooms.as_slice() {
            [room] => self.channels.room(room),
            _ => self.channels.broadcast.clone(),
        };
        self.link.publisher.publish(&channel, &message.encode());
    }

    /// The request `BROADCAST` (msgpack); the other servers answer with their client counts and
    /// their clients' acks until the operator's timeout.
    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        if !opts.flags.local {
            let request_id = random_id(6, UID2_ALPHABET);
            let timeout = opts.flags.timeout.unwrap_or(Duration::ZERO);
            self.link
                .expect_acks(&request_id, timeout, client_count.clone(), ack.clone());
            let request = Request {
                uid: Some(self.link.uid.clone()),
                request_id: Some(request_id),
                kind: RequestKind::Broadcast {
                    packet: wire_packet(packet, Some(self.nsp.name())),
                    opts: wire_options(opts, true),
                },
            };
            self.publish_request(&request);
        }
        self.local.broadcast_with_ack(packet, opts, client_count, ack);
    }

    fn sockets(&self, rooms: &[String]) -> std::collections::HashSet<String> {
        self.local.sockets(rooms)
    }

    fn socket_rooms(&self, id: &str) -> Option<std::collections::HashSet<String>> {
        self.local.socket_rooms(id)
    }

    /// This server's sockets, and `REMOTE_FETCH` answered by each other server within
    /// `requestsTimeout`; else the reference's error, without partial results.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError> {
        let mut sockets = self.local.fetch_sockets(opts)?;
        if opts.flags.local {
            return Ok(sockets);
        }
        let servers = self.count_servers().map_err(|e| TimeoutError { message: e })?;
        if servers <= 1 {
            return Ok(sockets);
        }
        let request_id = random_id(6, UID2_ALPHABET);
        let request = Request {
            uid: Some(self.link.uid.clone()),
            request_id: Some(request_id.clone()),
            kind: RequestKind::Fetch {
                opts: wire_options(opts, false),
            },
        };
        let answers = self.link.wait_for_answers(
            &request_id,
            request_type::REMOTE_FETCH,
            servers - 1,
            self.options.requests_timeout,
            || self.publish_request(&request),
        );
        let Ok(answers) = answers else {
            return Err(TimeoutError {
                message: "timeout reached while waiting for fetchSockets response".to_string(),
            });
        };
        sockets.extend(remote_sockets(&self.nsp, answers));
        Ok(sockets)
    }

    /// This server's sockets at once, then `REMOTE_JOIN` for the others.
    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.local.add_sockets(opts, rooms);
        if !opts.flags.local {
            self.publish_request(&Request {
                uid: Some(self.link.uid.clone()),
                request_id: None,
                kind: RequestKind::Join {
                    opts: wire_options(opts, false),
                    rooms: rooms.to_vec(),
                },
            });
        }
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.local.del_sockets(opts, rooms);
        if !opts.flags.local {
            self.publish_request(&Request {
                uid: Some(self.link.uid.clone()),
                request_id: None,
                kind: RequestKind::Leave {
                    opts: wire_options(opts, false),
                    rooms: rooms.to_vec(),
                },
            });
        }
    }

    /// `REMOTE_DISCONNECT` first (this server's disconnects run handlers), then this server's.
    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if !opts.flags.local {
            self.publish_request(&Request {
                uid: Some(self.link.uid.clone()),
                request_id: None,
                kind: RequestKind::Disconnect {
                    opts: wire_options(opts, false),
                    close,
                },
            });
        }
        self.local.disconnect_sockets(opts, close);
    }

    /// `SERVER_SIDE_EMIT` to the other servers; with an ack, each answers once, within
    /// `requestsTimeout`, else the reference's error with the answers that came.
    fn server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideEmitCallback>) {
        let mut data = vec![Arg::from(event)];
        data.extend(args);
        let Some(ack) = ack else {
            self.publish_request(&Request {
                uid: Some(self.link.uid.clone()),
                request_id: None,
                kind: RequestKind::ServerSideEmit { args: data },
            });
            return;
        };
        let others = self.server_count().saturating_sub(1);
        let request_id = random_id(6, UID2_ALPHABET);
        let timeout = self.options.requests_timeout;
        self.link
            .server_side_emit_with_ack(others, request_id, timeout, ack, |request_id| {
                self.publish_request(&Request {
                    uid: Some(self.link.uid.clone()),
                    request_id: Some(request_id),
                    kind: RequestKind::ServerSideEmit { args: data },
                })
            });
    }

    fn rooms(&self) -> std::collections::HashMap<String, std::collections::HashSet<String>> {
        self.local.rooms()
    }

    fn room_size(&self, room: &str) -> usize {
        self.local.room_size(room)
    }

    fn events(&self) -> &AdapterEvents {
        self.local.events()
    }
}

/// Garbage on a channel: logged with its first bytes, ignored.
pub(super) fn ignored(channel: &str, payload: &[u8], error: &MessageError) {
    let shown: String = String::from_utf8_lossy(&payload[..payload.len().min(80)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    warn!(
        "redis: ignored a message on {channel} ({error}; {} bytes: {shown})",
        payload.len()
    );
}

impl From<crate::socketio::adapter::SocketDetails> for WireSocket {
    fn from(details: crate::socketio::adapter::SocketDetails) -> WireSocket {
        WireSocket {
            id: details.id.clone(),
            handshake: WireHandshake::Tree(details.handshake.to_json()),
            rooms: details.rooms.clone(),
            data: details.data,
        }
    }
}
