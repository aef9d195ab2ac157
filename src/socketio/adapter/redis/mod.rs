//! The Redis adapters: several servers, one set of clients. A server started with `--redis URL`
//! publishes its broadcasts and cluster requests on Redis and applies the others': Node servers
//! with `@socket.io/redis-adapter` 8.x and ours, in any mix, and `@socket.io/redis-emitter`.
//!
//! | file                  | what                                                        | reference                      |
//! |-----------------------|-------------------------------------------------------------|--------------------------------|
//! | `mod.rs`              | `RedisOptions`, the adapter factory, our types ↔ the wire's  | `createAdapter(pub, sub, opts)`|
//! | `classic.rs`          | `ClassicAdapter`: `PUBLISH`/`PSUBSCRIBE`, requests by type   | `lib/index.ts`                 |
//! | `classic_messages.rs` | its channels and messages, and the emitter's                | `lib/index.ts`, the emitter's  |
//! | `sharded.rs`          | `ShardedAdapter`: `SPUBLISH`/`SSUBSCRIBE`, subscription modes| `lib/sharded-adapter.ts`, `ClusterAdapter` |
//! | `cluster_messages.rs` | its `{type, data, uid, nsp}` messages                        | socket.io-adapter's `cluster-adapter.ts` |
//! | `messages.rs`         | what both put in messages (options, packet, socket), JSON or msgpack | |
//! | `link.rs`             | the server's link: routes, waiting requests, two threads    | node-redis's two clients       |
//! | `connection.rs`       | the publishing and the subscribed connection, reconnection  | node-redis                     |
//!
//! Each namespace gets its own adapter (as in the reference); all of a server's adapters share
//! one [`link::Link`]: one publishing connection, one subscribed connection read by the
//! `redis-sub` thread, and the `redis-apply` thread. That is two threads per server, none per
//! namespace or client.
//!
//! ```text
//! let options = RedisOptions::new("redis://127.0.0.1:6379");     // --redis URL
//! let adapter = redis::adapter_factory(options)?;                 // connects now: Err names the URL
//! let io = Server::new(ServerOptions { adapter, ..ServerOptions::default() })?;
//! ```

mod classic;
pub mod classic_messages;
pub mod cluster_messages;
pub mod connection;
pub mod link;
pub mod messages;
mod sharded;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value as Json};

pub use classic::ClassicAdapter;
pub use sharded::ShardedAdapter;

use self::link::{Answer, HEX_ALPHABET, Link, UID2_ALPHABET, random_id};
use self::messages::{WireHandshake, WireOptions, WirePacket};
use super::{AdapterFactory, BroadcastFlags, BroadcastOptions, SocketDetails};
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::namespace::WeakNamespace;
use crate::socketio::packet::{Arg, Packet, PacketData, PacketType};

/// The tests' `redis-server` (shared with the integration tests).
#[cfg(test)]
#[path = "../../../../tests/support/redis_server.rs"]
mod redis_server;

/// The sharded adapter's `subscriptionMode`: which channels a server subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionMode {
    /// `static`: the namespace's channel and the server's own only; every broadcast goes to
    /// the namespace's channel.
    Static,
    /// `dynamic` (the default): also one channel per public room (not a socket's own) this
    /// server has.
    #[default]
    Dynamic,
    /// `dynamic-private`: one channel per room, private ones too.
    DynamicPrivate,
}

impl SubscriptionMode {
    /// `static`, `dynamic`, `dynamic-private`.
    pub fn parse(text: &str) -> Option<SubscriptionMode> {
        match text {
            "static" => Some(SubscriptionMode::Static),
            "dynamic" => Some(SubscriptionMode::Dynamic),
            "dynamic-private" => Some(SubscriptionMode::DynamicPrivate),
            _ => None,
        }
    }
}

/// The adapters' options, named after the reference's.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// `--redis`: `redis://[:password@]host[:port][/db]`.
    pub url: String,
    /// `key` (classic) or `channelPrefix` (sharded): `socket.io`.
    pub key: String,
    /// `createShardedAdapter` with this `subscriptionMode`, instead of `createAdapter`.
    pub sharded: Option<SubscriptionMode>,
    /// `requestsTimeout`: how long `fetch_sockets` and `server_side_emit` with an ack wait for
    /// the other servers: 5 s.
    pub requests_timeout: Duration,
    /// `publishOnSpecificResponseChannel` (classic): answer on the requester's own channel.
    pub publish_on_specific_response_channel: bool,
}

impl RedisOptions {
    /// The classic adapter at `url`, with the reference's defaults.
    pub fn new(url: &str) -> RedisOptions {
        RedisOptions {
            url: url.to_string(),
            key: "socket.io".to_string(),
            sharded: None,
            requests_timeout: Duration::from_secs(5),
            publish_on_specific_response_channel: false,
        }
    }
}

/// The values of the `--redis` rows of `cli` (`cli::REDIS` and those after it), as a `main`
/// reads them.
pub struct RedisFlags<'a> {
    /// `--redis URL`; none: one server alone.
    pub url: Option<&'a str>,
    /// `--redis-key PREFIX`.
    pub key: Option<&'a str>,
    /// `--redis-sharded`.
    pub sharded: bool,
    /// `--redis-subscription-mode MODE`.
    pub subscription_mode: Option<&'a str>,
    /// `--redis-requests-timeout MS`.
    pub requests_timeout: Duration,
    /// `--redis-specific-response-channel`.
    pub specific_response_channel: bool,
}

impl RedisFlags<'_> {
    /// The options they ask for; `None` without `--redis`.
    pub fn options(&self) -> Result<Option<RedisOptions>, String> {
        let Some(url) = self.url else {
            return Ok(None);
        };
        let mode = self.subscription_mode.unwrap_or("dynamic");
        let Some(mode) = SubscriptionMode::parse(mode) else {
            return Err(format!(
                "--redis-subscription-mode {mode}: static, dynamic or dynamic-private"
            ));
        };
        Ok(Some(RedisOptions {
            url: url.to_string(),
            key: self.key.unwrap_or("socket.io").to_string(),
            sharded: self.sharded.then_some(mode),
            requests_timeout: self.requests_timeout,
            publish_on_specific_response_channel: self.specific_response_channel,
        }))
    }

    /// The server's `adapter` option: the Redis adapter with `--redis` (an unreachable Redis is
    /// an error naming the URL), else the in-memory one.
    pub fn adapter(&self) -> Result<AdapterFactory, String> {
        match self.options()? {
            Some(options) => adapter_factory(options),
            None => Ok(AdapterFactory::in_memory()),
        }
    }
}

/// The server's `adapter` option for `options`: connects to Redis now (an unreachable Redis is
/// an error naming the URL: a server must not run alone when it was asked to join a cluster),
/// starts the link's two threads, and makes one adapter per namespace. The sharded adapter
/// needs Redis 7 (`PUBSUB SHARDNUMSUB` is tried first).
pub fn adapter_factory(options: RedisOptions) -> Result<AdapterFactory, String> {
    let uid = match options.sharded {
        Some(_) => random_id(16, HEX_ALPHABET),
        None => random_id(6, UID2_ALPHABET),
    };
    let link = Link::start(&options.url, uid)?;
    if options.sharded.is_some() {
        link.publisher
            .count_subscribers(&format!("{}#/#", options.key), true)
            .map_err(|e| format!("--redis-sharded needs sharded pub/sub (Redis 7 or newer): {e}"))?;
    }
    log::info!(
        "redis: {} adapter, uid {}, key {:?}",
        if options.sharded.is_some() {
            "sharded"
        } else {
            "classic"
        },
        link.uid,
        options.key
    );
    let options = Arc::new(options);
    Ok(AdapterFactory::new(move |nsp| {
        let link = link.clone();
        match options.sharded {
            Some(mode) => ShardedAdapter::new(nsp, link, options.clone(), mode),
            None => ClassicAdapter::new(nsp, link, options.clone()),
        }
    }))
}

// ----- our types and the wire's ---------------------------------------------------------------

/// `opts` as the reference sends it: rooms, except and, for a broadcast (`with_flags`), the
/// flags that are set (`{}`, `{"volatile":true}`, `{"timeout":2000}`). `local` is never sent: a
/// local operation is not published.
fn wire_options(opts: &BroadcastOptions, with_flags: bool) -> WireOptions {
    let flags = with_flags.then(|| {
        let mut flags = Map::new();
        if opts.flags.volatile {
            flags.insert("volatile".to_string(), Json::Bool(true));
        }
        if let Some(compress) = opts.flags.compress {
            flags.insert("compress".to_string(), Json::Bool(compress));
        }
        if opts.flags.broadcast {
            flags.insert("broadcast".to_string(), Json::Bool(true));
        }
        if opts.flags.binary {
            flags.insert("binary".to_string(), Json::Bool(true));
        }
        if let Some(timeout) = opts.flags.timeout {
            flags.insert("timeout".to_string(), Json::from(timeout.as_millis() as u64));
        }
        flags
    });
    WireOptions {
        rooms: opts.rooms.clone(),
        except: opts.except.clone(),
        flags,
    }
}

/// The options of another server's broadcast or operator, for this server's sockets.
fn options_from_wire(opts: &WireOptions) -> BroadcastOptions {
    let flag = |name: &str| opts.flag(name) == Some(&Json::Bool(true));
    BroadcastOptions {
        rooms: opts.rooms.clone(),
        except: opts.except.clone(),
        flags: BroadcastFlags {
            volatile: flag("volatile"),
            compress: opts.flag("compress").and_then(Json::as_bool),
            local: false,
            broadcast: flag("broadcast"),
            binary: flag("binary"),
            timeout: opts.flag("timeout").and_then(Json::as_u64).map(Duration::from_millis),
        },
    }
}

/// `{type: 2, data: [event, ...args], nsp?}` of an EVENT packet.
fn wire_packet(packet: &Packet, nsp: Option<&str>) -> WirePacket {
    let data = match &packet.data {
        PacketData::Args(args) => args.clone(),
        _ => Vec::new(),
    };
    WirePacket {
        data,
        nsp: nsp.map(str::to_string),
    }
}

/// The EVENT packet another server broadcast, for this namespace.
fn packet_from_wire(packet: &WirePacket, nsp: &str, id: Option<u64>) -> Packet {
    Packet {
        packet_type: PacketType::Event,
        nsp: nsp.to_string(),
        id,
        data: PacketData::Args(packet.data.clone()),
    }
}

/// `[event, ...args]` of a server-side emit: the name and the rest (`None` without a name).
fn arg_event(mut data: Vec<Arg>) -> Option<(String, Vec<Arg>)> {
    if data.is_empty() {
        return None;
    }
    match data.remove(0) {
        Arg::Json(Json::String(event)) => Some((event, data)),
        _ => None,
    }
}

/// The other servers' sockets of a `fetch_sockets`, as handles that act through the adapter.
fn remote_sockets(nsp: &WeakNamespace, answers: Vec<Answer>) -> Vec<RemoteSocket> {
    let Some(nsp) = nsp.upgrade() else {
        return Vec::new();
    };
    let mut sockets = Vec::new();
    for answer in answers {
        let Answer::Sockets(list) = answer else {
            continue;
        };
        for socket in list {
            let remote = match socket.handshake {
                WireHandshake::Text(text) => {
                    RemoteSocket::remote_with_handshake_text(nsp.clone(), socket.id, text, socket.rooms, socket.data)
                }
                WireHandshake::Tree(json) => {
                    let details = SocketDetails::from_wire(socket.id, &json, socket.rooms, socket.data);
                    RemoteSocket::remote(nsp.clone(), details)
                }
            };
            sockets.push(remote);
        }
    }
    sockets
}
