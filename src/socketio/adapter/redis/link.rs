//! A server's link to Redis, shared by the adapters of all its namespaces (node-redis's
//! `pubClient` and `subClient`, which every namespace's adapter shares in the reference): the two
//! connections, the routes from a channel to the namespace it serves, the requests waiting for
//! other servers' answers, and the thread that applies what other servers ask.
//!
//! ```text
//!  Redis ──> redis-sub thread ──(a request, a broadcast: a job)──> redis-apply thread
//!            (reads; routes by channel;                              (applies it to this server's
//!             an answer to our request                                sockets, runs listeners and
//!             goes to its waiting caller)                             the callbacks of our requests)
//!  callers (handlers, timers) ──> Publisher ──> Redis
//! ```
//!
//! Why a second thread: applying another server's request may run application code (a
//! `disconnect` handler after `disconnectSockets`, a `serverSideEmit` listener, the callback of
//! a broadcast with acks) and that code may ask the cluster something (`fetchSockets`), whose
//! answers only the `redis-sub` thread can read. Run on `redis-sub`, it would wait for itself
//! until `requestsTimeout`; run on `redis-apply`, the answers come in while it waits.
//!
//! Threads per server: these two, whatever the number of namespaces and clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use log::{debug, error};

use super::connection::{Message, MessageHandler, Publisher, Subscriber, Subscription};
use super::messages::WireSocket;
use crate::socketio::adapter::{ClientAckCallback, ClientCountCallback, ServerSideEmitCallback, TimeoutError};
use crate::socketio::namespace::WeakNamespace;
use crate::socketio::packet::Arg;
use crate::sync::{lock, run_guarded};
use crate::timer::{TimerId, Timers};

/// How long `init` waits for Redis to confirm a namespace's subscriptions.
pub const SUBSCRIBE_WAIT: Duration = Duration::from_secs(2);

/// Work for the `redis-apply` thread.
pub type Job = Box<dyn FnOnce() + Send>;

/// A namespace's adapter, as the link sees it: it gets the messages of its channels.
pub trait Receive: Send + Sync {
    /// A message on one of its channels (on the `redis-apply` thread).
    fn on_message(&self, channel: &str, payload: &[u8]);
    /// A message on its response channel (on the `redis-sub` thread: it must not block).
    fn on_response(&self, channel: &str, payload: &[u8]);
}

/// Where a channel's messages go.
#[derive(Clone)]
pub struct Route {
    pub adapter: Weak<dyn Receive>,
    /// An answer to one of our requests: handled at once on `redis-sub`.
    pub response: bool,
}

/// One server's answer to a request we wait for (`fetch_sockets`, `sockets`, `all_rooms`).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Sockets(Vec<WireSocket>),
    SocketIds(Vec<String>),
    Rooms(Vec<String>),
}

/// A request of ours that waits for other servers.
enum Pending {
    /// A caller thread waits on the other end of `answers` (`wait_for_answers`).
    Answers { request_type: u64, answers: Sender<Answer> },
    /// `server_side_emit` with an ack: the answers so far, until `expected` or the timer.
    ServerSideEmit {
        expected: usize,
        responses: Vec<Arg>,
        callback: ServerSideEmitCallback,
        timer: Option<TimerId>,
    },
    /// A broadcast with acks: until its timeout, every server's count and every client's ack.
    Acks {
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    },
}

/// The link (see the module's doc). Adapters hold it in an `Arc`; it holds them weakly (in its
/// routes), so that dropping the last adapter ends the threads.
pub struct Link {
    /// The random id of this server in the cluster (the reference makes one per namespace; one
    /// per server is the same on the wire).
    pub uid: String,
    pub publisher: Publisher,
    /// The server's `timers` thread (set by the first namespace's `init`): the timeouts of
    /// server-side emits and of broadcasts with acks.
    timers: OnceLock<Timers>,
    routes: Mutex<Routes>,
    requests: Mutex<HashMap<String, Pending>>,
    subscriber: Mutex<Option<Subscriber>>,
    jobs: Mutex<Option<Sender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

/// Channel → route, and pattern → route.
#[derive(Default)]
struct Routes {
    channels: HashMap<String, Route>,
    patterns: HashMap<String, Route>,
}

impl Link {
    /// Connects both connections (an unreachable Redis is an error naming `url`), starts the
    /// `redis-sub` and `redis-apply` threads.
    pub fn start(url: &str, uid: String) -> Result<Arc<Link>, String> {
        let publisher = Publisher::connect(url)?;
        let (jobs, work) = crossbeam_channel::unbounded::<Job>();
        let worker = crate::threads::spawn("redis-apply".to_string(), move || run_jobs(work))
            .map_err(|e| format!("cannot start the redis-apply thread: {e}"))?;
        let link = Arc::new(Link {
            uid,
            publisher,
            timers: OnceLock::new(),
            routes: Mutex::new(Routes::default()),
            requests: Mutex::new(HashMap::new()),
            subscriber: Mutex::new(None),
            jobs: Mutex::new(Some(jobs)),
            worker: Mutex::new(Some(worker)),
        });
        let weak = Arc::downgrade(&link);
        let handler: MessageHandler = Box::new(move |message| {
            if let Some(link) = weak.upgrade() {
                link.on_redis_message(message);
            }
        });
        let subscriber = Subscriber::start(url, "redis-sub", handler)?;
        *lock(&link.subscriber) = Some(subscriber);
        Ok(link)
    }

    /// Takes the server's `timers` from a namespace (the first `init` does it).
    pub fn init_timers(&self, nsp: &WeakNamespace) {
        if let Some(nsp) = nsp.upgrade() {
            let _ = self.timers.set(nsp.timers().clone());
        }
    }

    /// `setTimeout(callback, delay)` on the server's `timers` thread.
    fn set_timeout(&self, delay: Duration, callback: impl FnOnce() + Send + 'static) -> Option<TimerId> {
        match self.timers.get() {
            Some(timers) => Some(timers.set_timeout(delay, callback)),
            None => {
                error!("redis: no timers yet (no namespace initialised): a timeout is lost");
                None
            }
        }
    }

    /// Routes `subscriptions` to `route`, subscribes, and waits for Redis to confirm (at most
    /// [`SUBSCRIBE_WAIT`]; later, the subscriber still subscribes, and logs).
    pub fn subscribe(&self, subscriptions: Vec<Subscription>, route: Route, wait: bool) {
        {
            let mut routes = lock(&self.routes);
            for subscription in &subscriptions {
                match subscription {
                    Subscription::Pattern(pattern) => routes.patterns.insert(pattern.clone(), route.clone()),
                    Subscription::Channel(name) | Subscription::Shard(name) => {
                        routes.channels.insert(name.clone(), route.clone())
                    }
                };
            }
        }
        let subscriber = lock(&self.subscriber);
        let Some(subscriber) = subscriber.as_ref() else {
            return;
        };
        if !wait {
            subscriber.subscribe_later(subscriptions);
        } else if !subscriber.subscribe(subscriptions, SUBSCRIBE_WAIT) {
            log::warn!("redis: a subscription was not confirmed within {SUBSCRIBE_WAIT:?}");
        }
    }

    /// Unsubscribes and forgets the routes.
    pub fn unsubscribe(&self, subscriptions: Vec<Subscription>) {
        {
            let mut routes = lock(&self.routes);
            for subscription in &subscriptions {
                match subscription {
                    Subscription::Pattern(pattern) => routes.patterns.remove(pattern),
                    Subscription::Channel(name) | Subscription::Shard(name) => routes.channels.remove(name),
                };
            }
        }
        if let Some(subscriber) = lock(&self.subscriber).as_ref() {
            subscriber.unsubscribe(subscriptions);
        }
    }

    /// Runs `job` on the `redis-apply` thread, after the jobs before it.
    pub fn run_later(&self, job: Job) {
        let jobs = lock(&self.jobs);
        match jobs.as_ref() {
            Some(jobs) => {
                let _ = jobs.send(job);
            }
            None => debug!("redis: closed, a job is dropped"),
        }
    }

    /// On `redis-sub`: finds the channel's adapter; an answer is handled at once, anything else
    /// goes to `redis-apply`.
    fn on_redis_message(&self, message: Message) {
        let route = {
            let routes = lock(&self.routes);
            match &message.pattern {
                Some(pattern) => routes.patterns.get(pattern).cloned(),
                None => routes.channels.get(&message.channel).cloned(),
            }
        };
        let Some(route) = route else {
            debug!("redis: ignored a message on {} (no namespace of ours)", message.channel);
            return;
        };
        let Some(adapter) = route.adapter.upgrade() else {
            return;
        };
        if route.response {
            adapter.on_response(&message.channel, &message.payload);
        } else {
            self.run_later(Box::new(move || adapter.on_message(&message.channel, &message.payload)));
        }
    }

    // ----- requests that wait for answers ------------------------------------------------------

    /// Registers request `request_id`, publishes it with `publish`, and waits until `expected`
    /// servers have answered or `timeout` has passed. Either way the request is forgotten before
    /// this returns. `Err(answers so far)` on timeout.
    pub fn wait_for_answers(
        &self,
        request_id: &str,
        request_type: u64,
        expected: usize,
        timeout: Duration,
        publish: impl FnOnce() -> bool,
    ) -> Result<Vec<Answer>, Vec<Answer>> {
        let (answers, received) = crossbeam_channel::unbounded();
        lock(&self.requests).insert(request_id.to_string(), Pending::Answers { request_type, answers });
        let mut collected = Vec::new();
        if publish() {
            debug!("redis: request {request_id} out, waiting for {expected} answers (at most {timeout:?})");
            let deadline = Instant::now() + timeout;
            while collected.len() < expected {
                let left = deadline.saturating_duration_since(Instant::now());
                match received.recv_timeout(left) {
                    Ok(answer) => collected.push(answer),
                    Err(_) => break,
                }
            }
        }
        let pending = {
            let mut requests = lock(&self.requests);
            requests.remove(request_id);
            requests.len()
        };
        if collected.len() < expected {
            log::warn!(
                "redis: request {request_id}: {} of {expected} answers within {timeout:?}; forgotten (pending requests: {pending})",
                collected.len()
            );
            return Err(collected);
        }
        Ok(collected)
    }

    /// The type of our request `request_id`, if it is one that waits for answers.
    pub fn request_type(&self, request_id: &str) -> Option<u64> {
        match lock(&self.requests).get(request_id) {
            Some(Pending::Answers { request_type, .. }) => Some(*request_type),
            Some(_) => None,
            None => None,
        }
    }

    /// Whether `request_id` is one of ours (the reference ignores its own requests by id).
    pub fn is_ours(&self, request_id: &str) -> bool {
        lock(&self.requests).contains_key(request_id)
    }

    /// An answer to a request a caller waits for. False if no one waits for it (any more).
    pub fn answer(&self, request_id: &str, answer: Answer) -> bool {
        match lock(&self.requests).get(request_id) {
            Some(Pending::Answers { answers, .. }) => answers.send(answer).is_ok(),
            _ => false,
        }
    }

    /// `PUBSUB NUMSUB channel` (or `SHARDNUMSUB` when `sharded`): how many servers; 1 (this
    /// one) when Redis does not answer.
    pub fn server_count(&self, channel: &str, sharded: bool) -> usize {
        match self.publisher.count_subscribers(channel, sharded) {
            Ok(count) => count,
            Err(e) => {
                log::warn!("redis: cannot count the servers: {e}");
                1
            }
        }
    }

    /// `serverSideEmitWithAck` to `others` servers: with none, `callback(None, [])` at once;
    /// else request `request_id` is sent by `publish`, and the callback gets one answer per
    /// server, or after `timeout` the reference's error with the answers that came (on
    /// `redis-apply` or `timers`; the request is forgotten then).
    pub fn server_side_emit_with_ack(
        self: &Arc<Self>,
        others: usize,
        request_id: String,
        timeout: Duration,
        callback: ServerSideEmitCallback,
        publish: impl FnOnce(String) -> bool,
    ) {
        if others == 0 {
            return callback(None, Vec::new());
        }
        self.expect_server_side_emit_answers(&request_id, others, timeout, callback);
        publish(request_id);
    }

    /// The answers of a `server_side_emit` with an ack, as `server_side_emit_with_ack` says.
    fn expect_server_side_emit_answers(
        self: &Arc<Self>,
        request_id: &str,
        expected: usize,
        timeout: Duration,
        callback: ServerSideEmitCallback,
    ) {
        let weak = Arc::downgrade(self);
        let id = request_id.to_string();
        let timer = self.set_timeout(timeout, move || {
            let Some(link) = weak.upgrade() else {
                return;
            };
            let (pending, left) = {
                let mut requests = lock(&link.requests);
                (requests.remove(&id), requests.len())
            };
            if let Some(Pending::ServerSideEmit {
                expected,
                responses,
                callback,
                ..
            }) = pending
            {
                let message = format!(
                    "timeout reached: only {} responses received out of {expected}",
                    responses.len()
                );
                log::warn!("redis: serverSideEmit {id}: {message}; forgotten (pending requests: {left})");
                run_guarded("a serverSideEmitWithAck callback", move || {
                    callback(Some(TimeoutError { message }), responses)
                });
            }
        });
        lock(&self.requests).insert(
            request_id.to_string(),
            Pending::ServerSideEmit {
                expected,
                responses: Vec::new(),
                callback,
                timer,
            },
        );
    }

    /// One server's answer to our `server_side_emit` with an ack; the last one runs the
    /// callback (on `redis-apply`).
    pub fn server_side_emit_answer(&self, request_id: &str, response: Arg) {
        let mut requests = lock(&self.requests);
        let Some(Pending::ServerSideEmit {
            expected, responses, ..
        }) = requests.get_mut(request_id)
        else {
            debug!("redis: an answer to serverSideEmit {request_id}, which waits for none");
            return;
        };
        responses.push(response);
        if responses.len() < *expected {
            return;
        }
        let Some(Pending::ServerSideEmit {
            responses,
            callback,
            timer,
            ..
        }) = requests.remove(request_id)
        else {
            return;
        };
        drop(requests);
        if let (Some(timers), Some(timer)) = (self.timers.get(), timer) {
            timers.clear_timeout(timer);
        }
        self.run_later(Box::new(move || callback(None, responses)));
    }

    /// A broadcast with acks, once published: the other servers' counts and their clients' acks
    /// go to the callbacks until `timeout` (the operator's), then the request is forgotten.
    pub fn expect_acks(
        self: &Arc<Self>,
        request_id: &str,
        timeout: Duration,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        lock(&self.requests).insert(request_id.to_string(), Pending::Acks { client_count, ack });
        let weak = Arc::downgrade(self);
        let id = request_id.to_string();
        self.set_timeout(timeout, move || {
            if let Some(link) = weak.upgrade() {
                lock(&link.requests).remove(&id);
            }
        });
    }

    /// Another server's client count for our broadcast with acks (`BROADCAST_CLIENT_COUNT`).
    pub fn client_count_answer(&self, request_id: &str, count: usize) {
        let callback = match lock(&self.requests).get(request_id) {
            Some(Pending::Acks { client_count, .. }) => client_count.clone(),
            _ => return debug!("redis: a client count for {request_id}, which waits for none"),
        };
        self.run_later(Box::new(move || callback(count)));
    }

    /// One of its clients' ack (`BROADCAST_ACK`).
    pub fn ack_answer(&self, request_id: &str, response: Arg) {
        let callback = match lock(&self.requests).get(request_id) {
            Some(Pending::Acks { ack, .. }) => ack.clone(),
            _ => return debug!("redis: an ack for {request_id}, which waits for none"),
        };
        self.run_later(Box::new(move || callback(response)));
    }

    /// How many requests wait now (the fault tests check that a timed-out one is gone).
    pub fn pending_requests(&self) -> usize {
        lock(&self.requests).len()
    }

    /// Ends both threads (the server is closing): the subscriber first, then `redis-apply`
    /// once it has run the jobs already queued.
    pub fn close(&self) {
        let subscriber = lock(&self.subscriber).take();
        if let Some(mut subscriber) = subscriber {
            subscriber.stop();
        }
        drop(lock(&self.jobs).take());
        let worker = lock(&self.worker).take();
        if let Some(worker) = worker {
            if worker.thread().id() != std::thread::current().id() {
                let _ = worker.join();
            }
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.close();
    }
}

/// The `redis-apply` thread: runs jobs in order until the link closes. A job that panics (an
/// application listener) is logged; the thread goes on.
fn run_jobs(jobs: Receiver<Job>) {
    debug!("redis: redis-apply thread started");
    for job in jobs.iter() {
        run_guarded("a job from Redis", job);
    }
    debug!("redis: redis-apply thread stops");
}

/// `length` random characters from `alphabet` (the reference's `uid2` and `randomId`).
pub fn random_id(length: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; length];
    let read =
        std::fs::File::open("/dev/urandom").and_then(|mut file| std::io::Read::read_exact(&mut file, &mut bytes));
    if let Err(e) = read {
        // Never seen on Linux; an id must still be unique enough: the clock's nanoseconds.
        error!("redis: cannot read /dev/urandom for an id: {e}");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (nanos >> ((i % 16) * 8)) as u8;
        }
    }
    bytes
        .iter()
        .map(|byte| alphabet[usize::from(*byte) % alphabet.len()] as char)
        .collect()
}

/// `uid2`'s alphabet: 6 of these make a classic adapter's uid and request ids (`9ZVN0m`).
pub const UID2_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Hexadecimal: 16 of these make a cluster adapter's uid and request ids (`001768e133baf464`).
pub const HEX_ALPHABET: &[u8] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::super::redis_server::RedisServer;
    use super::*;

    #[test]
    fn a_request_is_forgotten_whether_its_answers_come_or_not() {
        let redis = RedisServer::start();
        let link = Link::start(&redis.url(), "tester".to_string()).unwrap();
        // Nobody answers: after the timeout, the answers so far (none), and nothing pending.
        let started = Instant::now();
        let result = link.wait_for_answers("r1", 5, 1, Duration::from_millis(200), || true);
        assert_eq!(result, Err(Vec::new()));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(link.pending_requests(), 0);
        // Answers (here given while "publishing") reach the caller, then it is forgotten too.
        let result = link.wait_for_answers("r2", 5, 2, Duration::from_secs(5), || {
            assert_eq!(link.request_type("r2"), Some(5));
            assert!(link.answer("r2", Answer::Rooms(vec!["a".to_string()])));
            assert!(link.answer("r2", Answer::SocketIds(Vec::new())));
            true
        });
        assert_eq!(
            result,
            Ok(vec![
                Answer::Rooms(vec!["a".to_string()]),
                Answer::SocketIds(Vec::new())
            ])
        );
        assert_eq!(link.pending_requests(), 0);
        assert!(
            !link.answer("r2", Answer::Rooms(Vec::new())),
            "a late answer finds nobody"
        );
        // A request that could not be published waits for nothing.
        let started = Instant::now();
        assert_eq!(
            link.wait_for_answers("r3", 5, 1, Duration::from_secs(5), || false),
            Err(Vec::new())
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        link.close();
    }

    #[test]
    fn redis_apply_survives_a_job_that_panics() {
        let redis = RedisServer::start();
        let link = Link::start(&redis.url(), "tester".to_string()).unwrap();
        let (done, finished) = crossbeam_channel::bounded(1);
        link.run_later(Box::new(|| panic!("an application listener panics")));
        link.run_later(Box::new(move || done.send(()).unwrap()));
        assert!(finished.recv_timeout(Duration::from_secs(5)).is_ok());
        // close() ends both threads (it joins them): the subscriber's connection is gone.
        let nobody: Weak<dyn Receive> = Weak::<Nobody>::new();
        let route = Route {
            adapter: nobody,
            response: false,
        };
        link.subscribe(vec![Subscription::Channel("x".to_string())], route, true);
        redis.wait_for_subscribers("x", 1, false, Duration::from_secs(5));
        link.close();
        redis.wait_for_subscribers("x", 0, false, Duration::from_secs(5));
    }

    /// An adapter that is never there.
    struct Nobody;

    impl Receive for Nobody {
        fn on_message(&self, _channel: &str, _payload: &[u8]) {}
        fn on_response(&self, _channel: &str, _payload: &[u8]) {}
    }
}
