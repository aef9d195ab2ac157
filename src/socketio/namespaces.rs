//! The server's namespaces, and dynamic ones: `io.of(regex)`, `io.of_fn(...)` (the reference's
//! `_nsps`, `parentNsps`, `of()` and `_checkNamespace` in `index.ts`, and `createChild` in
//! `parent-namespace.ts`).
//!
//! A CONNECT names a namespace; `Client::connect` asks `for_connect` for it:
//!
//! ```text
//! 40/custom,          made by io.of("/custom")                     -> that namespace
//! 40/dynamic-7,       none yet; io.of(Regex::new(r"^/dynamic-\d+$")) matches
//!                                                                  -> a new child of that parent,
//!                     with a copy of its `connection` handler and middlewares; the server's
//!                     `new_namespace` handlers run; the next CONNECT finds "/dynamic-7" by name
//! 40/fn-x,{"k":1}     io.of_fn(|name, auth| ...) answers true      -> the same
//! 40/nothing,         nothing matches                              -> None: the client answers
//!                                                                     44/nothing,{"message":"Invalid namespace"}
//! ```
//!
//! Parents are asked in the order they were made; the first that says yes makes the child. A
//! function that panics says no (as the reference's `next(err)` does) and the panic is logged.
//!
//! With `cleanupEmptyChildNamespaces` a child whose last socket has left is removed from here
//! and from its parent; the next CONNECT that matches makes it anew (and `new_namespace` runs
//! again).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use log::{debug, error};
use regex::Regex;
use serde_json::Value;

use super::adapter::AdapterFactory;
use super::namespace::Namespace;
use super::parser::Parser;
use super::server::ConnectionStateRecovery;
use crate::sync::{lock, panic_message};
use crate::timer::Timers;

/// A dynamic namespace's function: `(name, auth) -> bool`, where `auth` is the CONNECT payload
/// (`{}` when there was none). The reference's `(name, auth, next) => next(null, bool)`.
pub type NamespaceFn = Arc<dyn Fn(&str, &Value) -> bool + Send + Sync>;

/// `io.on('new_namespace', (namespace) => ...)`.
pub type NewNamespaceHandler = Arc<dyn Fn(&Namespace) + Send + Sync>;

/// What `io.of()` takes: a name, a regular expression or a function.
pub enum NamespaceName {
    /// `io.of("/custom")` (`"custom"` means `"/custom"`).
    Static(String),
    /// `io.of(/^\/dynamic-\d+$/)`: a parent namespace whose children are the names it matches.
    Regex(Regex),
    /// `io.of((name, auth, next) => ...)`: a parent namespace whose children are the names the
    /// function accepts (`io.of_fn` is the short way to write it).
    Function(NamespaceFn),
}

impl From<&str> for NamespaceName {
    fn from(name: &str) -> NamespaceName {
        NamespaceName::Static(name.to_string())
    }
}

impl From<String> for NamespaceName {
    fn from(name: String) -> NamespaceName {
        NamespaceName::Static(name)
    }
}

impl From<Regex> for NamespaceName {
    fn from(regex: Regex) -> NamespaceName {
        NamespaceName::Regex(regex)
    }
}

/// What a name must match to become a parent's child.
enum Matcher {
    Regex(Regex),
    Function(NamespaceFn),
}

/// One parent namespace and its matcher.
struct Parent {
    matcher: Matcher,
    namespace: Namespace,
}

impl Parent {
    /// Whether a CONNECT to `name` with `auth` makes a child of this parent.
    fn matches(&self, name: &str, auth: &Value) -> bool {
        let function = match &self.matcher {
            Matcher::Regex(regex) => return regex.is_match(name),
            Matcher::Function(function) => function,
        };
        match catch_unwind(AssertUnwindSafe(|| function(name, auth))) {
            Ok(answer) => answer,
            Err(panic) => {
                error!(
                    "the function of parent namespace {} panicked on {name:?}: {}",
                    self.namespace.name(),
                    panic_message(&*panic)
                );
                false
            }
        }
    }
}

struct State {
    /// `_nsps`: the namespaces clients join, by name (`/`, `/custom`, `/dynamic-7`; no parent).
    by_name: HashMap<String, Namespace>,
    /// Their names in the order they were made (a JavaScript `Map` iterates so: `/` first).
    order: Vec<String>,
    /// `parentNsps`, in the order they were made.
    parents: Vec<Arc<Parent>>,
}

/// Every namespace of one server.
pub(super) struct Namespaces {
    state: Mutex<State>,
    new_namespace_handlers: Mutex<Vec<NewNamespaceHandler>>,
    timers: Timers,
    /// `cleanupEmptyChildNamespaces`.
    cleanup_empty_child_namespaces: bool,
    /// The server's `adapter` option: makes the adapter of each namespace clients join.
    adapter: AdapterFactory,
    /// `connectionStateRecovery`, which every namespace reads.
    recovery: Option<ConnectionStateRecovery>,
    /// `parser`, which every namespace encodes with.
    parser: Arc<dyn Parser>,
}

impl Namespaces {
    /// The namespaces of a new server: `/` alone.
    pub fn new(
        timers: Timers,
        cleanup_empty_child_namespaces: bool,
        adapter: AdapterFactory,
        recovery: Option<ConnectionStateRecovery>,
        parser: Arc<dyn Parser>,
    ) -> Namespaces {
        let mut by_name = HashMap::new();
        let root = Namespace::new("/", timers.clone(), &adapter, recovery.clone(), parser.clone());
        root.adapter().init();
        by_name.insert("/".to_string(), root);
        Namespaces {
            state: Mutex::new(State {
                by_name,
                order: vec!["/".to_string()],
                parents: Vec::new(),
            }),
            new_namespace_handlers: Mutex::new(Vec::new()),
            timers,
            cleanup_empty_child_namespaces,
            adapter,
            recovery,
            parser,
        }
    }

    /// The server's `parser`.
    pub fn parser(&self) -> &dyn Parser {
        self.parser.as_ref()
    }

    /// Every namespace: those clients join, then the parents (for `io.close()`).
    pub fn all(&self) -> Vec<Namespace> {
        let mut all = self.joinable();
        for parent in &lock(&self.state).parents {
            all.push(parent.namespace.clone());
        }
        all
    }

    /// `io.of(name | regex | function)`.
    pub fn of(&self, name: NamespaceName) -> Namespace {
        match name {
            NamespaceName::Static(name) => self.of_name(&name),
            NamespaceName::Regex(regex) => self.add_parent(Matcher::Regex(regex)),
            NamespaceName::Function(function) => self.add_parent(Matcher::Function(function)),
        }
    }

    /// `io.of("/custom")`: the namespace, made on first use. A name that a regular expression
    /// of a parent matches becomes that parent's child (not a function's: the reference asks
    /// functions only on a CONNECT).
    fn of_name(&self, name: &str) -> Namespace {
        let name = if name.starts_with('/') {
            name.to_string()
        } else {
            format!("/{name}")
        };
        let made = {
            let mut state = lock(&self.state);
            if let Some(namespace) = state.by_name.get(&name) {
                return namespace.clone();
            }
            let parent = state
                .parents
                .iter()
                .find(|parent| matches!(&parent.matcher, Matcher::Regex(regex) if regex.is_match(&name)))
                .cloned();
            let namespace = match parent {
                Some(parent) => {
                    debug!(
                        "attaching namespace {name} to parent namespace {}",
                        parent.namespace.name()
                    );
                    parent.namespace.new_child(&name, &self.adapter)
                }
                None => Namespace::new(
                    &name,
                    self.timers.clone(),
                    &self.adapter,
                    self.recovery.clone(),
                    self.parser.clone(),
                ),
            };
            state.by_name.insert(name.clone(), namespace.clone());
            state.order.push(name.clone());
            namespace
        };
        debug!("initializing namespace {name}");
        // The adapter's `init` (a cluster adapter subscribes) with no lock held.
        made.adapter().init();
        self.emit_new_namespace(&made);
        made
    }

    /// `io._nsps.get(name)`: the namespace of that name if it exists (made by `of`, or a child
    /// made by a CONNECT); never makes one.
    pub fn get(&self, name: &str) -> Option<Namespace> {
        lock(&self.state).by_name.get(name).cloned()
    }

    /// `io._nsps`: every namespace clients can join, in the order they were made (`/` first;
    /// parents are not in it, their children are).
    pub fn joinable(&self) -> Vec<Namespace> {
        let state = lock(&self.state);
        let mut all = Vec::with_capacity(state.order.len());
        for name in &state.order {
            if let Some(namespace) = state.by_name.get(name) {
                all.push(namespace.clone());
            }
        }
        all
    }

    /// A parent namespace, named `/_0`, `/_1`, ... in the order they were made.
    fn add_parent(&self, matcher: Matcher) -> Namespace {
        let mut state = lock(&self.state);
        let name = format!("/_{}", state.parents.len());
        debug!("initializing parent namespace {name}");
        let namespace = Namespace::new_parent(&name, self.timers.clone(), self.recovery.clone(), self.parser.clone());
        // (A parent's adapter only hands broadcasts to its children: its `init` does nothing.)
        state.parents.push(Arc::new(Parent {
            matcher,
            namespace: namespace.clone(),
        }));
        namespace
    }

    /// `io.on('new_namespace', handler)`: runs for each namespace made from now on, by
    /// `io.of(name)` or by a CONNECT that a parent matched (never for `/`).
    pub fn on_new_namespace(&self, handler: NewNamespaceHandler) {
        lock(&self.new_namespace_handlers).push(handler);
    }

    fn emit_new_namespace(&self, namespace: &Namespace) {
        let handlers = lock(&self.new_namespace_handlers).clone();
        for handler in handlers {
            handler(namespace);
        }
    }

    /// The namespace a CONNECT to `name` joins (the reference's `connect` and
    /// `_checkNamespace`), or `None`: "Invalid namespace". The namespace counts the CONNECT as
    /// on its way in until `connect_finished`, so that it is not cleaned up meanwhile.
    pub fn for_connect(&self, name: &str, auth: &Value) -> Option<Namespace> {
        let parents = {
            let state = lock(&self.state);
            if let Some(namespace) = state.by_name.get(name) {
                namespace.begin_connect();
                return Some(namespace.clone());
            }
            state.parents.clone()
        };
        // The parents' functions are user code: no lock is held while they run.
        for parent in parents {
            if !parent.matches(name, auth) {
                continue;
            }
            let made = {
                let mut state = lock(&self.state);
                if let Some(namespace) = state.by_name.get(name) {
                    // made by another client's CONNECT in the meantime
                    debug!("dynamic namespace {name} already exists");
                    namespace.begin_connect();
                    return Some(namespace.clone());
                }
                let child = parent.namespace.new_child(name, &self.adapter);
                child.begin_connect();
                state.by_name.insert(name.to_string(), child.clone());
                state.order.push(name.to_string());
                child
            };
            debug!("dynamic namespace {name} was created");
            made.adapter().init();
            self.emit_new_namespace(&made);
            return Some(made);
        }
        debug!("creation of namespace {name} was denied");
        None
    }

    /// The CONNECT counted by `for_connect` is done (connected or refused).
    pub fn connect_finished(&self, namespace: &Namespace) {
        namespace.end_connect();
        self.socket_left(namespace);
    }

    /// A socket left `namespace` (or was refused): with `cleanupEmptyChildNamespaces`, a child
    /// left empty is removed (the reference's `_remove` as `createChild` wraps it).
    pub fn socket_left(&self, namespace: &Namespace) {
        if !self.cleanup_empty_child_namespaces {
            return;
        }
        let parent = match namespace.parent() {
            Some(parent) => parent,
            None => return,
        };
        {
            let mut state = lock(&self.state);
            if !namespace.is_empty() {
                return;
            }
            let registered = state
                .by_name
                .get(namespace.name())
                .is_some_and(|each| each.same(namespace));
            if registered {
                state.by_name.remove(namespace.name());
                state.order.retain(|name| name != namespace.name());
            }
            parent.remove_child(namespace);
        }
        debug!("closing child namespace {}", namespace.name());
        // As the reference's `_remove`: `namespace.adapter.close()`, with no lock held.
        namespace.adapter().close();
    }
}
