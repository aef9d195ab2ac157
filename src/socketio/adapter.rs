//! Rooms of one namespace (the reference's in-memory `Adapter`, `socket.io-adapter`).
//!
//! Two maps kept in step: room -> socket ids, and socket id -> rooms. Every socket is in the
//! room named after its own id, which is how `io.to(socketId).emit(...)` reaches one socket.

use std::collections::{HashMap, HashSet};

/// The rooms of a namespace.
#[derive(Debug, Default)]
pub struct Adapter {
    /// `rooms`: room name -> ids of the sockets in it.
    rooms: HashMap<String, HashSet<String>>,
    /// `sids`: socket id -> the rooms it is in.
    sids: HashMap<String, HashSet<String>>,
}

impl Adapter {
    /// `addAll`: puts socket `id` in `room`.
    pub fn add(&mut self, id: &str, room: &str) {
        self.sids.entry(id.to_string()).or_default().insert(room.to_string());
        self.rooms.entry(room.to_string()).or_default().insert(id.to_string());
    }

    /// `del`: takes socket `id` out of `room`; an empty room disappears.
    pub fn del(&mut self, id: &str, room: &str) {
        if let Some(rooms) = self.sids.get_mut(id) {
            rooms.remove(room);
        }
        if let Some(ids) = self.rooms.get_mut(room) {
            ids.remove(id);
            if ids.is_empty() {
                self.rooms.remove(room);
            }
        }
    }

    /// `delAll`: takes socket `id` out of every room.
    pub fn del_all(&mut self, id: &str) {
        let rooms = match self.sids.remove(id) {
            Some(rooms) => rooms,
            None => return,
        };
        for room in rooms {
            if let Some(ids) = self.rooms.get_mut(&room) {
                ids.remove(id);
                if ids.is_empty() {
                    self.rooms.remove(&room);
                }
            }
        }
    }

    /// The rooms socket `id` is in.
    pub fn rooms_of(&self, id: &str) -> HashSet<String> {
        self.sids.get(id).cloned().unwrap_or_default()
    }

    /// The sockets a broadcast reaches (the reference's `apply`): those in any of `rooms` (every
    /// socket when `rooms` is empty), minus those in any of `except`.
    pub fn targets(&self, rooms: &[String], except: &[String]) -> Vec<String> {
        let mut excluded: HashSet<&str> = HashSet::new();
        for room in except {
            if let Some(ids) = self.rooms.get(room) {
                for id in ids {
                    excluded.insert(id.as_str());
                }
            }
        }
        let mut chosen: Vec<String> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        if rooms.is_empty() {
            for id in self.sids.keys() {
                if !excluded.contains(id.as_str()) {
                    chosen.push(id.clone());
                }
            }
            return chosen;
        }
        for room in rooms {
            if let Some(ids) = self.rooms.get(room) {
                for id in ids {
                    if !excluded.contains(id.as_str()) && seen.insert(id.as_str()) {
                        chosen.push(id.clone());
                    }
                }
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut ids: Vec<String>) -> Vec<String> {
        ids.sort();
        ids
    }

    #[test]
    fn rooms_and_targets() {
        let mut adapter = Adapter::default();
        for id in ["a", "b", "c"] {
            adapter.add(id, id);
        }
        adapter.add("a", "room");
        adapter.add("b", "room");
        assert_eq!(sorted(adapter.targets(&[], &[])), vec!["a", "b", "c"]);
        assert_eq!(sorted(adapter.targets(&["room".into()], &[])), vec!["a", "b"]);
        assert_eq!(sorted(adapter.targets(&["room".into()], &["a".into()])), vec!["b"]);
        assert_eq!(sorted(adapter.targets(&[], &["room".into()])), vec!["c"]);
        adapter.del("a", "room");
        assert_eq!(sorted(adapter.targets(&["room".into()], &[])), vec!["b"]);
        adapter.del_all("b");
        assert!(adapter.targets(&["room".into()], &[]).is_empty());
        assert_eq!(sorted(adapter.targets(&[], &[])), vec!["a", "c"]);
    }
}

pub mod redis;
