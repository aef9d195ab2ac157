//! The two Redis connections of a server, on the `redis` crate's blocking API (node-redis's
//! `pubClient` and `subClient` in the reference's set-up):
//!
//! - [`Publisher`]: one connection that every thread publishing a message uses in turn (under a
//!   lock: a `PUBLISH` on a local Redis takes tens of microseconds). It also asks
//!   `PUBSUB NUMSUB` / `PUBSUB SHARDNUMSUB`, how the adapters count the servers.
//! - [`Subscriber`]: one connection in subscribed mode, read by its own thread, `redis-sub`.
//!   The thread waits for a message at most [`POLL_INTERVAL`], then looks at its commands
//!   (subscribe to a new namespace's channels, unsubscribe, stop), so that the one connection
//!   can change its subscriptions while it waits. It speaks RESP3, where every message and
//!   every subscription's confirmation is a push: `SSUBSCRIBE`'s `smessage` arrives like
//!   `message` (the crate's RESP2 `PubSub` has no `SSUBSCRIBE` and drops `smessage`).
//!
//! ```text
//! > SUBSCRIBE socket.io-request#/#          < >3 subscribe socket.io-request#/# 1
//! > PSUBSCRIBE socket.io#/#*                < >3 psubscribe socket.io#/#* 2
//! > SSUBSCRIBE socket.io#/#                 < >3 ssubscribe socket.io#/# 1
//!                                           < >4 pmessage socket.io#/#* socket.io#/#room1# <bytes>
//!                                           < >3 smessage socket.io#/# <bytes>
//! ```
//!
//! When Redis goes away, both reconnect with node-redis's default backoff (50 ms more per
//! attempt, at most 500 ms); the subscriber subscribes again to everything it had. Redis
//! pub/sub delivers at most once: what was published while a connection was down is gone.
//! The publisher logs each message it could not publish, the subscriber logs how long it was
//! away (whatever others published then, it missed).

use std::collections::BTreeSet;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use log::{debug, error, info, warn};
use redis::{PushKind, Value};

use crate::sync::lock;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the publisher waits for Redis's answer to one command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the subscriber thread waits for a message before it looks at its commands.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Messages not published during one outage that are logged one by one (the rest are counted).
const LOST_MESSAGES_LOGGED: u64 = 20;

/// node-redis's default `reconnectStrategy`: `Math.min(retries * 50, 500)` ms.
pub fn reconnect_delay(attempt: u32) -> Duration {
    Duration::from_millis(u64::from(attempt.min(10)) * 50)
}

/// `redis://:secret@host:6379/0` → `redis://host:6379/0`, for logs and errors.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}{}", &url[..scheme_end + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// The crate's client for `url`, speaking RESP3 when `resp3`.
fn open_client(url: &str, resp3: bool) -> Result<redis::Client, String> {
    let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL {}: {e}", redacted(url)))?;
    if !resp3 {
        return Ok(client);
    }
    let info = client.get_connection_info().clone();
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(redis::ProtocolVersion::RESP3);
    redis::Client::open(info.set_redis_settings(settings))
        .map_err(|e| format!("invalid Redis URL {}: {e}", redacted(url)))
}

/// A connection, or the error that names the URL.
fn connect(client: &redis::Client, url: &str) -> Result<redis::Connection, String> {
    client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(|e| format!("cannot connect to Redis at {}: {e}", redacted(url)))
}

/// Whether an error means the connection is gone (rather than Redis refusing one command).
fn connection_lost(error: &redis::RedisError) -> bool {
    error.is_io_error() || error.is_connection_dropped() || error.is_timeout() || error.is_unrecoverable_error()
}

// ----- the publisher ------------------------------------------------------------------------

/// The publishing connection, shared by every thread that publishes.
pub struct Publisher {
    client: redis::Client,
    /// For logs, without a password.
    url: String,
    state: std::sync::Mutex<PublisherState>,
}

struct PublisherState {
    /// `None` while Redis is unreachable.
    connection: Option<redis::Connection>,
    /// When the connection was lost; `None` while it works.
    down_since: Option<Instant>,
    /// Failed attempts to connect again since then.
    attempts: u32,
    /// No attempt to connect before this (the backoff).
    next_attempt: Instant,
    /// Messages not published since `down_since`.
    lost: u64,
}

impl Publisher {
    /// Connects at once: an unreachable Redis is an error naming the URL (the server then
    /// refuses to start).
    pub fn connect(url: &str) -> Result<Publisher, String> {
        let client = open_client(url, false)?;
        let connection = connect(&client, url)?;
        set_command_timeouts(&connection);
        info!("redis: publishing to {}", redacted(url));
        Ok(Publisher {
            client,
            url: redacted(url),
            state: std::sync::Mutex::new(PublisherState {
                connection: Some(connection),
                down_since: None,
                attempts: 0,
                next_attempt: Instant::now(),
                lost: 0,
            }),
        })
    }

    /// `PUBLISH channel payload`. False (and a log line) when it could not be published: the
    /// message is lost for the other servers (local delivery does not depend on it).
    pub fn publish(&self, channel: &str, payload: &[u8]) -> bool {
        self.send_message("PUBLISH", channel, payload)
    }

    /// `SPUBLISH channel payload`: sharded pub/sub (Redis 7).
    pub fn spublish(&self, channel: &str, payload: &[u8]) -> bool {
        self.send_message("SPUBLISH", channel, payload)
    }

    /// How many connections subscribe to `channel`: `PUBSUB NUMSUB channel` (or
    /// `PUBSUB SHARDNUMSUB` when `sharded`), answered `[channel, count]`. The adapters count the
    /// servers so (each server has one subscriber connection).
    pub fn count_subscribers(&self, channel: &str, sharded: bool) -> Result<usize, String> {
        let subcommand = if sharded { "SHARDNUMSUB" } else { "NUMSUB" };
        let mut command = redis::cmd("PUBSUB");
        command.arg(subcommand).arg(channel);
        let answer = self.query(&command)?;
        let count = match &answer {
            Value::Array(items) if items.len() == 2 => match &items[1] {
                Value::Int(count) => usize::try_from(*count).ok(),
                _ => None,
            },
            _ => None,
        };
        count.ok_or_else(|| format!("unexpected answer to PUBSUB {subcommand}: {answer:?}"))
    }

    fn send_message(&self, command_name: &str, channel: &str, payload: &[u8]) -> bool {
        let mut command = redis::cmd(command_name);
        command.arg(channel).arg(payload);
        match self.query(&command) {
            Ok(_) => true,
            Err(reason) => {
                let lost = {
                    let mut state = lock(&self.state);
                    state.lost += 1;
                    state.lost
                };
                if lost <= LOST_MESSAGES_LOGGED {
                    warn!(
                        "redis: not published, {} bytes to {channel} lost for the other servers ({reason})",
                        payload.len()
                    );
                } else {
                    debug!("redis: not published, {} bytes to {channel} ({reason})", payload.len());
                }
                false
            }
        }
    }

    /// Runs one command, connecting again first if the connection was lost (and the backoff
    /// allows); a connection that fails under a command is replaced and the command tried once
    /// more (Redis may have restarted since the last command).
    fn query(&self, command: &redis::Cmd) -> Result<Value, String> {
        let mut state = lock(&self.state);
        let mut tries = 0;
        loop {
            tries += 1;
            if state.connection.is_none() {
                self.reconnect(&mut state)?;
            }
            let Some(connection) = state.connection.as_mut() else {
                return Err("not connected".to_string());
            };
            match command.query::<Value>(connection) {
                Ok(answer) => return Ok(answer),
                Err(e) if connection_lost(&e) => {
                    state.connection = None;
                    if state.down_since.is_none() {
                        warn!("redis: the publishing connection to {} is lost: {e}", self.url);
                        state.down_since = Some(Instant::now());
                        state.next_attempt = Instant::now();
                    }
                    if tries >= 2 {
                        return Err(format!("connection lost: {e}"));
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// One attempt to connect again, unless the backoff says not yet.
    fn reconnect(&self, state: &mut PublisherState) -> Result<(), String> {
        let now = Instant::now();
        if now < state.next_attempt {
            return Err(format!("Redis at {} is unreachable", self.url));
        }
        match connect(&self.client, &self.url) {
            Ok(connection) => {
                set_command_timeouts(&connection);
                state.connection = Some(connection);
                let away = state.down_since.take().map(|since| since.elapsed()).unwrap_or_default();
                warn!(
                    "redis: publishing to {} again after {:.1} s; {} messages were not published meanwhile",
                    self.url,
                    away.as_secs_f64(),
                    state.lost
                );
                state.attempts = 0;
                state.lost = 0;
                Ok(())
            }
            Err(e) => {
                state.attempts += 1;
                state.next_attempt = now + reconnect_delay(state.attempts);
                if state.down_since.is_none() {
                    state.down_since = Some(now);
                }
                Err(e)
            }
        }
    }
}

fn set_command_timeouts(connection: &redis::Connection) {
    let _ = connection.set_read_timeout(Some(COMMAND_TIMEOUT));
    let _ = connection.set_write_timeout(Some(COMMAND_TIMEOUT));
}

// ----- the subscriber -----------------------------------------------------------------------

/// One subscription of the subscriber connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subscription {
    /// `SUBSCRIBE socket.io-request#/#`
    Channel(String),
    /// `PSUBSCRIBE socket.io#/#*`
    Pattern(String),
    /// `SSUBSCRIBE socket.io#/#` (sharded pub/sub)
    Shard(String),
}

impl Subscription {
    fn name(&self) -> &str {
        match self {
            Subscription::Channel(name) | Subscription::Pattern(name) | Subscription::Shard(name) => name,
        }
    }

    fn subscribe_command(&self) -> &'static str {
        match self {
            Subscription::Channel(_) => "SUBSCRIBE",
            Subscription::Pattern(_) => "PSUBSCRIBE",
            Subscription::Shard(_) => "SSUBSCRIBE",
        }
    }

    fn unsubscribe_command(&self) -> &'static str {
        match self {
            Subscription::Channel(_) => "UNSUBSCRIBE",
            Subscription::Pattern(_) => "PUNSUBSCRIBE",
            Subscription::Shard(_) => "SUNSUBSCRIBE",
        }
    }

    /// The subscription a confirmation push (`subscribe ch 1`) confirms.
    fn confirmed_by(kind: &PushKind, name: String) -> Option<Subscription> {
        match kind {
            PushKind::Subscribe => Some(Subscription::Channel(name)),
            PushKind::PSubscribe => Some(Subscription::Pattern(name)),
            PushKind::SSubscribe => Some(Subscription::Shard(name)),
            _ => None,
        }
    }
}

/// A message from Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published on: `socket.io#/#room1#`.
    pub channel: String,
    /// The pattern that matched it, for a `PSUBSCRIBE`: `socket.io#/#*`.
    pub pattern: Option<String>,
    /// The bytes published.
    pub payload: Vec<u8>,
}

/// What the subscriber thread calls with each message (on that thread).
pub type MessageHandler = Box<dyn FnMut(Message) + Send>;

/// What the adapter asks of the subscriber thread.
enum Command {
    /// Subscribe; tell `confirmed` once Redis has confirmed every one.
    Subscribe(Vec<Subscription>, Option<Sender<()>>),
    Unsubscribe(Vec<Subscription>),
}

/// The subscriber connection and its thread. Dropping it (or [`Subscriber::stop`]) ends the
/// thread: the channel of commands closes, the thread sees it within [`POLL_INTERVAL`].
pub struct Subscriber {
    commands: Option<Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl Subscriber {
    /// Connects at once (an unreachable Redis is an error naming the URL), then starts the
    /// thread `thread_name` that reads messages and calls `handler` with each.
    pub fn start(url: &str, thread_name: &str, handler: MessageHandler) -> Result<Subscriber, String> {
        let client = open_client(url, true)?;
        let connection = connect(&client, url)?;
        let _ = connection.set_read_timeout(Some(POLL_INTERVAL));
        let _ = connection.set_write_timeout(Some(COMMAND_TIMEOUT));
        let (commands, receiver) = crossbeam_channel::unbounded();
        let reader = SubscriberThread {
            client,
            url: redacted(url),
            connection: Some(connection),
            subscriptions: BTreeSet::new(),
            waiting: Vec::new(),
            commands: receiver,
            handler,
            down_since: None,
            attempts: 0,
        };
        let thread = crate::threads::spawn(thread_name.to_string(), move || reader.run())
            .map_err(|e| format!("cannot start the {thread_name} thread: {e}"))?;
        info!("redis: subscribing at {} ({thread_name} thread)", redacted(url));
        Ok(Subscriber {
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    /// Subscribes, and waits at most `wait` for Redis to confirm (so that a message published
    /// right after this returns reaches us). False if the confirmation did not come in time.
    pub fn subscribe(&self, subscriptions: Vec<Subscription>, wait: Duration) -> bool {
        let (confirmed, confirmation) = crossbeam_channel::bounded(1);
        let Some(commands) = &self.commands else {
            return false;
        };
        if commands
            .send(Command::Subscribe(subscriptions, Some(confirmed)))
            .is_err()
        {
            return false;
        }
        confirmation.recv_timeout(wait).is_ok()
    }

    /// Subscribes without waiting.
    pub fn subscribe_later(&self, subscriptions: Vec<Subscription>) {
        if let Some(commands) = &self.commands {
            let _ = commands.send(Command::Subscribe(subscriptions, None));
        }
    }

    /// Unsubscribes (without waiting).
    pub fn unsubscribe(&self, subscriptions: Vec<Subscription>) {
        if let Some(commands) = &self.commands {
            let _ = commands.send(Command::Unsubscribe(subscriptions));
        }
    }

    /// Ends the thread and waits for it (at most [`POLL_INTERVAL`] and one message's handling).
    pub fn stop(&mut self) {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            // Dropped by its own thread (a handler held the last reference): it ends by itself.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the `redis-sub` thread owns.
struct SubscriberThread {
    client: redis::Client,
    url: String,
    /// `None` while Redis is unreachable.
    connection: Option<redis::Connection>,
    /// Everything we are subscribed to (again, after a reconnection).
    subscriptions: BTreeSet<Subscription>,
    /// Callers waiting for confirmations: what is still unconfirmed, and whom to tell.
    waiting: Vec<(BTreeSet<Subscription>, Sender<()>)>,
    commands: Receiver<Command>,
    handler: MessageHandler,
    /// When the connection was lost; `None` while it works.
    down_since: Option<Instant>,
    attempts: u32,
}

impl SubscriberThread {
    fn run(mut self) {
        debug!("redis: subscriber thread started");
        loop {
            // 1. What the adapter asked for (and whether it is gone).
            loop {
                match self.commands.try_recv() {
                    Ok(command) => self.apply(command),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        debug!("redis: subscriber thread stops");
                        return;
                    }
                }
            }
            // 2. A connection, else wait (the backoff) and try again.
            if self.connection.is_none() {
                if !self.reconnect() {
                    let delay = reconnect_delay(self.attempts);
                    match self.commands.recv_timeout(delay) {
                        Ok(command) => self.apply(command),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                continue;
            }
            // 3. One message, or nothing within POLL_INTERVAL.
            self.read_one();
        }
    }

    /// Records a command and, when connected, sends it to Redis.
    fn apply(&mut self, command: Command) {
        match command {
            Command::Subscribe(subscriptions, confirmed) => {
                let mut unconfirmed = BTreeSet::new();
                for subscription in subscriptions {
                    self.subscriptions.insert(subscription.clone());
                    self.send(subscription.subscribe_command(), subscription.name());
                    unconfirmed.insert(subscription);
                }
                if let Some(confirmed) = confirmed {
                    if unconfirmed.is_empty() {
                        let _ = confirmed.send(());
                    } else {
                        self.waiting.push((unconfirmed, confirmed));
                    }
                }
            }
            Command::Unsubscribe(subscriptions) => {
                for subscription in subscriptions {
                    if self.subscriptions.remove(&subscription) {
                        self.send(subscription.unsubscribe_command(), subscription.name());
                    }
                }
            }
        }
    }

    /// Writes one command without reading its answer (a push, read by `read_one`). A failure
    /// means the connection is lost: the subscription is kept and sent again on reconnection.
    fn send(&mut self, command_name: &str, name: &str) {
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        let packed = redis::cmd(command_name).arg(name).get_packed_command();
        debug!("redis: {command_name} {name}");
        if let Err(e) = connection.send_packed_command(&packed) {
            self.lost(&e.to_string());
        }
    }

    /// Reads one push. A read that times out is no error: `recv_response` then waits for
    /// one more reply to skip, but pushes are never skipped (and this connection gets nothing
    /// else), and its parser keeps a half-read message for the next read.
    fn read_one(&mut self) {
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        match connection.recv_response() {
            Ok(Value::Push { kind, data }) => self.on_push(kind, data),
            Ok(other) => debug!("redis: subscriber connection: unexpected {other:?}"),
            Err(e) if e.is_timeout() => {}
            Err(e) => self.lost(&e.to_string()),
        }
    }

    fn on_push(&mut self, kind: PushKind, data: Vec<Value>) {
        let mut fields = data.into_iter();
        match kind {
            PushKind::Message | PushKind::SMessage => {
                let channel = text_of(fields.next());
                let payload = bytes_of(fields.next());
                (self.handler)(Message {
                    channel,
                    pattern: None,
                    payload,
                });
            }
            PushKind::PMessage => {
                let pattern = text_of(fields.next());
                let channel = text_of(fields.next());
                let payload = bytes_of(fields.next());
                (self.handler)(Message {
                    channel,
                    pattern: Some(pattern),
                    payload,
                });
            }
            PushKind::Subscribe | PushKind::PSubscribe | PushKind::SSubscribe => {
                let name = text_of(fields.next());
                if let Some(subscription) = Subscription::confirmed_by(&kind, name) {
                    debug!("redis: subscribed to {}", subscription.name());
                    self.confirmed(&subscription);
                }
            }
            other => debug!("redis: subscriber connection: {other:?}"),
        }
    }

    /// Tells the callers whose subscriptions are now all confirmed.
    fn confirmed(&mut self, subscription: &Subscription) {
        let mut still_waiting = Vec::new();
        for (mut unconfirmed, waiter) in self.waiting.drain(..) {
            unconfirmed.remove(subscription);
            if unconfirmed.is_empty() {
                let _ = waiter.send(());
            } else {
                still_waiting.push((unconfirmed, waiter));
            }
        }
        self.waiting = still_waiting;
    }

    fn lost(&mut self, reason: &str) {
        if self.connection.take().is_some() {
            error!(
                "redis: the subscriber connection to {} is lost ({reason}); \
                 messages published until it is back will not reach this server",
                self.url
            );
            self.down_since = Some(Instant::now());
            self.attempts = 0;
        }
    }

    /// One attempt to connect and subscribe again to everything. True on success.
    fn reconnect(&mut self) -> bool {
        let connection = match connect(&self.client, &self.url) {
            Ok(connection) => connection,
            Err(e) => {
                self.attempts += 1;
                if self.attempts == 1 || self.attempts.is_multiple_of(20) {
                    warn!("redis: {e} (attempt {})", self.attempts);
                }
                return false;
            }
        };
        let _ = connection.set_read_timeout(Some(POLL_INTERVAL));
        let _ = connection.set_write_timeout(Some(COMMAND_TIMEOUT));
        self.connection = Some(connection);
        let subscriptions: Vec<Subscription> = self.subscriptions.iter().cloned().collect();
        for subscription in &subscriptions {
            self.send(subscription.subscribe_command(), subscription.name());
        }
        if self.connection.is_none() {
            return false;
        }
        let away = self.down_since.take().map(|since| since.elapsed()).unwrap_or_default();
        warn!(
            "redis: the subscriber is back at {} after {:.1} s ({} attempts), subscribed again to {} channels; \
             what was published meanwhile did not reach this server (Redis pub/sub delivers at most once)",
            self.url,
            away.as_secs_f64(),
            self.attempts + 1,
            subscriptions.len()
        );
        self.attempts = 0;
        true
    }
}

/// A channel name from a push field.
fn text_of(field: Option<Value>) -> String {
    match field {
        Some(Value::BulkString(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Some(Value::SimpleString(text)) => text,
        _ => String::new(),
    }
}

/// A payload from a push field.
fn bytes_of(field: Option<Value>) -> Vec<u8> {
    match field {
        Some(Value::BulkString(bytes)) => bytes,
        Some(Value::SimpleString(text)) => text.into_bytes(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::redis_server::RedisServer;

    const WAIT: Duration = Duration::from_secs(5);

    /// A subscriber whose messages come out of a channel.
    fn subscriber(url: &str) -> (Subscriber, Receiver<Message>) {
        let (sender, messages) = crossbeam_channel::unbounded();
        let handler: MessageHandler = Box::new(move |message| {
            let _ = sender.send(message);
        });
        (Subscriber::start(url, "redis-sub-test", handler).unwrap(), messages)
    }

    #[test]
    fn unreachable_redis_is_an_error_naming_the_url() {
        let redis = RedisServer::start();
        let url = format!("redis://user:secret@127.0.0.1:{}", redis.port);
        drop(redis);
        let error = Publisher::connect(&url).err().unwrap();
        assert!(
            error.starts_with("cannot connect to Redis at redis://127.0.0.1:"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
        let handler: MessageHandler = Box::new(|_| {});
        let error = Subscriber::start(&url, "redis-sub-test", handler).err().unwrap();
        assert!(error.starts_with("cannot connect to Redis at"), "{error}");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn channels_patterns_and_shards_arrive_with_their_names() {
        let redis = RedisServer::start();
        let publisher = Publisher::connect(&redis.url()).unwrap();
        let (mut subscriber, messages) = subscriber(&redis.url());
        assert!(subscriber.subscribe(
            vec![
                Subscription::Channel("socket.io-request#/#".into()),
                Subscription::Pattern("socket.io#/#*".into()),
                Subscription::Shard("socket.io#/custom#".into()),
            ],
            WAIT
        ));
        assert_eq!(publisher.count_subscribers("socket.io-request#/#", false), Ok(1));
        assert_eq!(publisher.count_subscribers("socket.io#/custom#", true), Ok(1));
        assert_eq!(publisher.count_subscribers("nobody", false), Ok(0));

        assert!(publisher.publish("socket.io-request#/#", b"{\"type\":6}"));
        assert!(publisher.publish("socket.io#/#room1#", &[0x93, 0xc0, 0xff]));
        assert!(publisher.spublish("socket.io#/custom#", b"sharded"));
        let first = messages.recv_timeout(WAIT).unwrap();
        assert_eq!(first.channel, "socket.io-request#/#");
        assert_eq!(first.pattern, None);
        assert_eq!(first.payload, b"{\"type\":6}");
        let second = messages.recv_timeout(WAIT).unwrap();
        assert_eq!(second.channel, "socket.io#/#room1#");
        assert_eq!(second.pattern.as_deref(), Some("socket.io#/#*"));
        assert_eq!(second.payload, [0x93, 0xc0, 0xff]);
        let third = messages.recv_timeout(WAIT).unwrap();
        assert_eq!(
            (third.channel.as_str(), third.payload.as_slice()),
            ("socket.io#/custom#", &b"sharded"[..])
        );

        // A big message spans many reads of POLL_INTERVAL: it arrives whole.
        let big = vec![7u8; 4 << 20];
        assert!(publisher.publish("socket.io#/#", &big));
        assert_eq!(messages.recv_timeout(WAIT).unwrap().payload, big);

        subscriber.unsubscribe(vec![Subscription::Pattern("socket.io#/#*".into())]);
        redis.wait_for_subscribers("socket.io-request#/#", 1, false, WAIT);
        let deadline = Instant::now() + WAIT;
        while redis.publish("socket.io#/#x#", b"gone") != 0 {
            assert!(Instant::now() < deadline, "still subscribed to the pattern");
            std::thread::sleep(Duration::from_millis(10));
        }
        subscriber.stop();
        assert_eq!(publisher.count_subscribers("socket.io-request#/#", false), Ok(0));
    }

    #[test]
    fn both_connections_come_back_after_redis_restarts() {
        let mut redis = RedisServer::start();
        let publisher = Publisher::connect(&redis.url()).unwrap();
        let (_subscriber, messages) = {
            let (subscriber, messages) = subscriber(&redis.url());
            assert!(subscriber.subscribe(vec![Subscription::Channel("ch".into())], WAIT));
            (subscriber, messages)
        };
        redis.kill();
        // Down: the publisher says so at once, nothing hangs.
        let started = Instant::now();
        assert!(!publisher.publish("ch", b"lost"));
        assert!(started.elapsed() < CONNECT_TIMEOUT, "{:?}", started.elapsed());
        redis.restart();
        // Back: the subscriber subscribes again by itself, the publisher reconnects on use.
        redis.wait_for_subscribers("ch", 1, false, WAIT);
        let deadline = Instant::now() + WAIT;
        while !publisher.publish("ch", b"back") {
            assert!(Instant::now() < deadline, "the publisher did not come back");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(messages.recv_timeout(WAIT).unwrap().payload, b"back");
        assert!(
            messages.try_recv().is_err(),
            "'lost' was published while Redis was down"
        );
    }
}
