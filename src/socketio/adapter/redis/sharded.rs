//! The sharded Redis adapter: `@socket.io/redis-adapter` 8.x's `createShardedAdapter`, which is
//! socket.io-adapter's `ClusterAdapter` (without heartbeats) over Redis 7's sharded pub/sub
//! (`SSUBSCRIBE`, `SPUBLISH`). Its messages are in `cluster_messages.rs`.
//!
//! ```text
//! SSUBSCRIBE socket.io#/#                  every message to every server
//! SSUBSCRIBE socket.io#/#<uid>#            the answers to this server's requests
//! SSUBSCRIBE socket.io#/#room1#            "dynamic" mode: each room this server has that is not
//!                                          a socket's own (every room in "dynamic-private")
//! PUBSUB SHARDNUMSUB socket.io#/#          how many servers
//! ```
//!
//! A broadcast without acks to exactly one room goes to that room's channel in the dynamic
//! modes (not to a socket's own room in "dynamic", whose name looks like a socket id: 20
//! characters), so that only the servers that have the room get it; anything else goes to the
//! namespace's channel. As in the reference, joins, leaves and disconnects act on this server's
//! sockets at once.

use std::sync::{Arc, Weak};
use std::time::Duration;

use log::{debug, warn};

use super::classic::ignored;
use super::cluster_messages::{ClusterMessage, MessageBody};
use super::connection::Subscription;
use super::link::{Answer, HEX_ALPHABET, Link, Receive, Route, random_id};
use super::messages::WireSocket;
use super::{
    RedisOptions, SubscriptionMode, arg_event, options_from_wire, packet_from_wire, remote_sockets, wire_options,
    wire_packet,
};
use crate::socketio::adapter::{
    Adapter, AdapterEvents, BroadcastOptions, ClientAckCallback, ClientCountCallback, MemoryAdapter,
    ServerSideEmitCallback, TimeoutError,
};
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::namespace::{ServerSideAck, WeakNamespace};
use crate::socketio::packet::{Arg, Packet};

/// The request type the link files our `FETCH_SOCKETS` under.
const FETCH_SOCKETS: u64 = super::cluster_messages::message_type::FETCH_SOCKETS;

/// The adapter of one namespace.
pub struct ShardedAdapter {
    local: MemoryAdapter,
    nsp: WeakNamespace,
    /// `socket.io#<nsp>#`
    channel: String,
    /// `socket.io#<nsp>#<uid>#`
    response_channel: String,
    mode: SubscriptionMode,
    link: Arc<Link>,
    options: Arc<RedisOptions>,
    me: Weak<ShardedAdapter>,
}

impl ShardedAdapter {
    pub fn new(
        nsp: WeakNamespace,
        link: Arc<Link>,
        options: Arc<RedisOptions>,
        mode: SubscriptionMode,
    ) -> Arc<ShardedAdapter> {
        let channel = format!("{}#{}#", options.key, nsp.name());
        let response_channel = format!("{channel}{}#", link.uid);
        Arc::new_cyclic(|me| ShardedAdapter {
            local: MemoryAdapter::new(nsp.clone()),
            nsp,
            channel,
            response_channel,
            mode,
            link,
            options,
            me: me.clone(),
        })
    }

    fn route(&self, response: bool) -> Route {
        let adapter: Weak<dyn Receive> = self.me.clone();
        Route { adapter, response }
    }

    /// `socket.io#<nsp>#room1#`
    fn dynamic_channel(&self, room: &str) -> String {
        format!("{}{room}#", self.channel)
    }

    /// The reference's `shouldUseASeparateNamespace`: in "dynamic" mode a public room (not a
    /// socket's own), in "dynamic-private" every room.
    fn has_own_channel(&self, room: &str) -> bool {
        match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => self.local.socket_rooms(room).is_none(),
            SubscriptionMode::DynamicPrivate => true,
        }
    }

    /// The reference's `computeChannel`.
    fn channel_of(&self, body: &MessageBody) -> String {
        if let MessageBody::Broadcast {
            request_id: None, opts, ..
        } = body
        {
            if let [room] = opts.rooms.as_slice() {
                // The reference's `looksLikeASocketId`: 20 JavaScript (UTF-16) characters.
                let looks_like_a_socket_id = room.encode_utf16().count() == 20;
                let own_channel = match self.mode {
                    SubscriptionMode::Static => false,
                    SubscriptionMode::Dynamic => !looks_like_a_socket_id,
                    SubscriptionMode::DynamicPrivate => true,
                };
                if own_channel {
                    return self.dynamic_channel(room);
                }
            }
        }
        self.channel.clone()
    }

    /// `SPUBLISH` of a message from us. False (and a log line) if it could not be published.
    fn publish(&self, body: MessageBody) -> bool {
        let channel = self.channel_of(&body);
        let message = ClusterMessage {
            uid: self.link.uid.clone(),
            nsp: self.nsp.name().to_string(),
            body,
        };
        self.link.publisher.spublish(&channel, &message.encode())
    }

    /// An answer to server `requester`'s request, on its own channel.
    fn publish_response(&self, requester: &str, body: MessageBody) {
        let message = ClusterMessage {
            uid: self.link.uid.clone(),
            nsp: self.nsp.name().to_string(),
            body,
        };
        let channel = format!("{}{requester}#", self.channel);
        self.link.publisher.spublish(&channel, &message.encode());
    }

    fn count_servers(&self) -> Result<usize, String> {
        self.link.publisher.count_subscribers(&self.channel, true)
    }

    /// How long a request waits for the others: the operator's `timeout`, else
    /// `requestsTimeout` (the reference's `DEFAULT_TIMEOUT`, 5 s, which it does not let one set).
    fn timeout_of(&self, opts: &BroadcastOptions) -> Duration {
        opts.flags.timeout.unwrap_or(self.options.requests_timeout)
    }

    // ----- what the other servers send -------------------------------------------------------

    /// The reference's `onMessage`.
    fn handle(&self, channel: &str, payload: &[u8], message: ClusterMessage) {
        if message.uid == self.link.uid {
            return debug!("redis: ignore message from self");
        }
        if message.nsp != self.nsp.name() {
            return warn!(
                "redis: ignored a message for namespace {:?} on {channel} ({} bytes)",
                message.nsp,
                payload.len()
            );
        }
        let requester = message.uid;
        match message.body {
            MessageBody::Heartbeat(kind) => debug!("redis: heartbeat {kind} from {requester}"),
            MessageBody::Broadcast {
                packet,
                request_id: None,
                opts,
            } => {
                let packet = packet_from_wire(&packet, self.nsp.name(), None);
                self.local.broadcast(&packet, &options_from_wire(&opts));
            }
            MessageBody::Broadcast {
                packet,
                request_id: Some(request_id),
                opts,
            } => self.broadcast_for(
                requester,
                request_id,
                &packet_from_wire(&packet, self.nsp.name(), None),
                &opts,
            ),
            MessageBody::SocketsJoin { opts, rooms } => self.local.add_sockets(&options_from_wire(&opts), &rooms),
            MessageBody::SocketsLeave { opts, rooms } => self.local.del_sockets(&options_from_wire(&opts), &rooms),
            MessageBody::DisconnectSockets { opts, close } => {
                self.local.disconnect_sockets(&options_from_wire(&opts), close)
            }
            MessageBody::FetchSockets { opts, request_id } => {
                let mut sockets = Vec::new();
                if let Ok(found) = self.local.fetch_sockets(&options_from_wire(&opts)) {
                    for socket in found {
                        sockets.push(WireSocket::from(socket.details()));
                    }
                }
                self.publish_response(&requester, MessageBody::FetchSocketsResponse { request_id, sockets });
            }
            MessageBody::ServerSideEmit { request_id, args } => self.on_server_side_emit(requester, request_id, args),
            response => self.handle_response(response),
        }
    }

    /// A broadcast whose clients' acks server `requester` wants: the count and each ack go back
    /// to it.
    fn broadcast_for(
        &self,
        requester: String,
        request_id: String,
        packet: &Packet,
        opts: &super::messages::WireOptions,
    ) {
        let count_to = self.me.clone();
        let (count_requester, count_id) = (requester.clone(), request_id.clone());
        let client_count: ClientCountCallback = Arc::new(move |count| {
            if let Some(adapter) = count_to.upgrade() {
                let body = MessageBody::BroadcastClientCount {
                    request_id: count_id.clone(),
                    client_count: count as u64,
                };
                adapter.publish_response(&count_requester, body);
            }
        });
        let ack_to = self.me.clone();
        let ack: ClientAckCallback = Arc::new(move |response| {
            if let Some(adapter) = ack_to.upgrade() {
                let body = MessageBody::BroadcastAck {
                    request_id: request_id.clone(),
                    packet: response,
                };
                adapter.publish_response(&requester, body);
            }
        });
        self.local
            .broadcast_with_ack(packet, &options_from_wire(opts), client_count, ack);
    }

    fn on_server_side_emit(&self, requester: String, request_id: Option<String>, args: Vec<Arg>) {
        let Some(nsp) = self.nsp.upgrade() else {
            return;
        };
        let Some((event, args)) = arg_event(args) else {
            return warn!("redis: ignored a serverSideEmit without an event name");
        };
        let ack = request_id.map(|request_id| {
            let to = self.me.clone();
            ServerSideAck::new(move |response| {
                if let Some(adapter) = to.upgrade() {
                    let body = MessageBody::ServerSideEmitResponse {
                        request_id,
                        packet: response,
                    };
                    adapter.publish_response(&requester, body);
                }
            })
        });
        nsp.on_server_side_emit(&event, args, ack);
    }

    /// The reference's `onResponse`.
    fn handle_response(&self, body: MessageBody) {
        match body {
            MessageBody::FetchSocketsResponse { request_id, sockets } => {
                self.link.answer(&request_id, Answer::Sockets(sockets));
            }
            MessageBody::ServerSideEmitResponse { request_id, packet } => {
                self.link.server_side_emit_answer(&request_id, packet)
            }
            MessageBody::BroadcastClientCount {
                request_id,
                client_count,
            } => self.link.client_count_answer(&request_id, client_count as usize),
            MessageBody::BroadcastAck { request_id, packet } => self.link.ack_answer(&request_id, packet),
            other => debug!("redis: unknown response type {}", other.message_type()),
        }
    }
}

impl Receive for ShardedAdapter {
    fn on_message(&self, channel: &str, payload: &[u8]) {
        match ClusterMessage::decode(payload) {
            Ok(message) => self.handle(channel, payload, message),
            Err(e) => ignored(channel, payload, &e),
        }
    }

    /// On our response channel: only answers (the reference does not check who sent them).
    fn on_response(&self, channel: &str, payload: &[u8]) {
        let message = match ClusterMessage::decode(payload) {
            Ok(message) => message,
            Err(e) => return ignored(channel, payload, &e),
        };
        if !message.body.is_response() {
            return warn!(
                "redis: ignored a message of type {} on {channel}, which is for answers",
                message.body.message_type()
            );
        }
        self.handle_response(message.body);
    }
}

impl Adapter for ShardedAdapter {
    /// `SSUBSCRIBE` the namespace's channel and ours; in the dynamic modes, a room's channel as
    /// the room appears here, and `SUNSUBSCRIBE` as it goes.
    fn init(&self) {
        self.link.init_timers(&self.nsp);
        self.link
            .subscribe(vec![Subscription::Shard(self.channel.clone())], self.route(false), true);
        self.link.subscribe(
            vec![Subscription::Shard(self.response_channel.clone())],
            self.route(true),
            true,
        );
        if self.mode == SubscriptionMode::Static {
            return;
        }
        let created = self.me.clone();
        self.local.events().on_create_room(move |room| {
            if let Some(adapter) = created.upgrade() {
                if adapter.has_own_channel(room) {
                    let channel = adapter.dynamic_channel(room);
                    adapter
                        .link
                        .subscribe(vec![Subscription::Shard(channel)], adapter.route(false), false);
                }
            }
        });
        let deleted = self.me.clone();
        self.local.events().on_delete_room(move |room| {
            if let Some(adapter) = deleted.upgrade() {
                if adapter.has_own_channel(room) {
                    let channel = adapter.dynamic_channel(room);
                    adapter.link.unsubscribe(vec![Subscription::Shard(channel)]);
                }
            }
        });
    }

    fn close(&self) {
        let mut channels = vec![
            Subscription::Shard(self.channel.clone()),
            Subscription::Shard(self.response_channel.clone()),
        ];
        if self.mode != SubscriptionMode::Static {
            for room in self.local.rooms().into_keys() {
                if self.has_own_channel(&room) {
                    channels.push(Subscription::Shard(self.dynamic_channel(&room)));
                }
            }
        }
        self.link.unsubscribe(channels);
    }

    /// `PUBSUB SHARDNUMSUB socket.io#<nsp>#`; 1 when Redis does not answer.
    fn server_count(&self) -> usize {
        self.link.server_count(&self.channel, true)
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

    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        self.local.broadcast(packet, opts);
        if !opts.flags.local {
            self.publish(MessageBody::Broadcast {
                packet: wire_packet(packet, None),
                request_id: None,
                opts: wire_options(opts, true),
            });
        }
    }

    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        if !opts.flags.local {
            let request_id = random_id(16, HEX_ALPHABET);
            let timeout = opts.flags.timeout.unwrap_or(Duration::ZERO);
            self.link
                .expect_acks(&request_id, timeout, client_count.clone(), ack.clone());
            self.publish(MessageBody::Broadcast {
                packet: wire_packet(packet, None),
                request_id: Some(request_id),
                opts: wire_options(opts, true),
            });
        }
        self.local.broadcast_with_ack(packet, opts, client_count, ack);
    }

    fn sockets(&self, rooms: &[String]) -> std::collections::HashSet<String> {
        self.local.sockets(rooms)
    }

    fn socket_rooms(&self, id: &str) -> Option<std::collections::HashSet<String>> {
        self.local.socket_rooms(id)
    }

    /// `FETCH_SOCKETS`, answered by each other server within the operator's timeout (else
    /// `requestsTimeout`); else the reference's error, without partial results.
    fn fetch_sockets(&self, opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError> {
        let mut sockets = self.local.fetch_sockets(opts)?;
        if opts.flags.local {
            return Ok(sockets);
        }
        let others = self
            .count_servers()
            .map_err(|e| TimeoutError { message: e })?
            .saturating_sub(1);
        if others == 0 {
            return Ok(sockets);
        }
        let request_id = random_id(16, HEX_ALPHABET);
        let answers = self
            .link
            .wait_for_answers(&request_id, FETCH_SOCKETS, others, self.timeout_of(opts), || {
                self.publish(MessageBody::FetchSockets {
                    opts: wire_options(opts, true),
                    request_id: request_id.clone(),
                })
            });
        match answers {
            Ok(answers) => {
                sockets.extend(remote_sockets(&self.nsp, answers));
                Ok(sockets)
            }
            Err(received) => Err(TimeoutError {
                message: format!(
                    "timeout reached: only {} responses received out of {others}",
                    received.len()
                ),
            }),
        }
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        if !opts.flags.local {
            self.publish(MessageBody::SocketsJoin {
                opts: wire_options(opts, true),
                rooms: rooms.to_vec(),
            });
        }
        self.local.add_sockets(opts, rooms);
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        if !opts.flags.local {
            self.publish(MessageBody::SocketsLeave {
                opts: wire_options(opts, true),
                rooms: rooms.to_vec(),
            });
        }
        self.local.del_sockets(opts, rooms);
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        if !opts.flags.local {
            self.publish(MessageBody::DisconnectSockets {
                opts: wire_options(opts, true),
                close,
            });
        }
        self.local.disconnect_sockets(opts, close);
    }

    fn server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideEmitCallback>) {
        let mut data = vec![Arg::from(event)];
        data.extend(args);
        let Some(ack) = ack else {
            self.publish(MessageBody::ServerSideEmit {
                request_id: None,
                args: data,
            });
            return;
        };
        let others = self.server_count().saturating_sub(1);
        let request_id = random_id(16, HEX_ALPHABET);
        let timeout = self.options.requests_timeout;
        self.link
            .server_side_emit_with_ack(others, request_id, timeout, ack, |request_id| {
                self.publish(MessageBody::ServerSideEmit {
                    request_id: Some(request_id),
                    args: data,
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
