//! The adapter of a parent namespace (`io.of(regex)`, `io.of_fn(...)`): the reference's
//! `ParentBroadcastAdapter` (`parent-namespace.ts`).
//!
//! No client joins a parent, so it has no sockets and no rooms of its own. A broadcast on it
//! goes to each child's adapter, which sets the child's name in the packet:
//!
//! ```text
//! io.of(regex).to("room1").emit("hi")   ->  /dynamic-1's adapter: 42/dynamic-1,["hi"] to its room1
//!                                           /dynamic-2's adapter: 42/dynamic-2,["hi"] to its room1
//! ```
//!
//! Everything else acts on the parent's own, empty, rooms, as in the reference: a broadcast with
//! acks asks nobody and completes at once, `sockets_join` finds nobody; `fetch_sockets`, which the
//! reference refuses with an error ("fetchSockets() is not supported on parent namespaces"),
//! logs that and finds nobody.

use std::collections::{HashMap, HashSet};

use log::warn;

use super::{
    Adapter, AdapterEvents, BroadcastOptions, ClientAckCallback, ClientCountCallback, MemoryAdapter,
    ServerSideEmitCallback, TimeoutError,
};
use crate::socketio::broadcast::RemoteSocket;
use crate::socketio::namespace::WeakNamespace;
use crate::socketio::packet::{Arg, Packet};

/// The adapter of one parent namespace.
pub struct ParentAdapter {
    /// The parent's own rooms: empty.
    own: MemoryAdapter,
}

impl ParentAdapter {
    /// The adapter of the parent namespace `nsp`.
    pub fn new(nsp: WeakNamespace) -> ParentAdapter {
        ParentAdapter {
            own: MemoryAdapter::new(nsp),
        }
    }
}

impl Adapter for ParentAdapter {
    fn server_count(&self) -> usize {
        self.own.server_count()
    }

    fn add_all(&self, id: &str, rooms: &[String]) {
        self.own.add_all(id, rooms)
    }

    fn del(&self, id: &str, room: &str) {
        self.own.del(id, room)
    }

    fn del_all(&self, id: &str) {
        self.own.del_all(id)
    }

    /// To each child's adapter, as the children are now.
    fn broadcast(&self, packet: &Packet, opts: &BroadcastOptions) {
        let Some(parent) = self.own.nsp().upgrade() else {
            return;
        };
        for child in parent.children() {
            child.adapter().broadcast(packet, opts);
        }
    }

    fn broadcast_with_ack(
        &self,
        packet: &Packet,
        opts: &BroadcastOptions,
        client_count: ClientCountCallback,
        ack: ClientAckCallback,
    ) {
        self.own.broadcast_with_ack(packet, opts, client_count, ack)
    }

    fn sockets(&self, rooms: &[String]) -> HashSet<String> {
        self.own.sockets(rooms)
    }

    fn socket_rooms(&self, id: &str) -> Option<HashSet<String>> {
        self.own.socket_rooms(id)
    }

    fn fetch_sockets(&self, _opts: &BroadcastOptions) -> Result<Vec<RemoteSocket>, TimeoutError> {
        warn!(
            "{}: fetchSockets() is not supported on parent namespaces",
            self.own.nsp().name()
        );
        Ok(Vec::new())
    }

    fn add_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.own.add_sockets(opts, rooms)
    }

    fn del_sockets(&self, opts: &BroadcastOptions, rooms: &[String]) {
        self.own.del_sockets(opts, rooms)
    }

    fn disconnect_sockets(&self, opts: &BroadcastOptions, close: bool) {
        self.own.disconnect_sockets(opts, close)
    }

    fn server_side_emit(&self, event: &str, args: Vec<Arg>, ack: Option<ServerSideEmitCallback>) {
        self.own.server_side_emit(event, args, ack)
    }

    fn rooms(&self) -> HashMap<String, HashSet<String>> {
        self.own.rooms()
    }

    fn room_size(&self, room: &str) -> usize {
        self.own.room_size(room)
    }

    fn events(&self) -> &AdapterEvents {
        self.own.events()
    }
}
