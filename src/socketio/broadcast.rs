//! `io.to(room).emit(...)`, `io.except(room)`, `socket.broadcast.emit(...)`: one emit to many
//! sockets (the reference's `BroadcastOperator`).
//!
//! The packet is encoded once, then its Engine.IO messages are queued on each target's session:
//!
//! ```text
//! io.to("room1").emit("hi", 1)   ->   42["hi",1] queued for every socket in room1
//! parent.to("room1").emit("hi")  ->   42/dynamic-1,["hi"] to room1 of /dynamic-1,
//!                                     42/dynamic-2,["hi"] to room1 of /dynamic-2, ...
//! ```
//!
//! On a parent namespace (`io.of(regex)`) the same broadcast is made in each child, with the
//! child's name in the packet (the reference's `ParentBroadcastAdapter`).

use super::namespace::Namespace;
use super::packet::{self, Arg};
use super::socket::{EmitError, event_packet, send_encoded};

/// A broadcast being built: which rooms, which not.
#[derive(Clone)]
pub struct BroadcastOperator {
    nsp: Namespace,
    rooms: Vec<String>,
    except: Vec<String>,
}

impl BroadcastOperator {
    /// To every socket of `nsp`.
    pub(super) fn new(nsp: Namespace) -> BroadcastOperator {
        BroadcastOperator {
            nsp,
            rooms: Vec::new(),
            except: Vec::new(),
        }
    }

    /// `.to(room)`: only sockets in `room` (several `to`s add up).
    pub fn to(mut self, room: &str) -> BroadcastOperator {
        self.rooms.push(room.to_string());
        self
    }

    /// `.except(room)`: not the sockets in `room` (a socket id is a room too).
    pub fn except(mut self, room: &str) -> BroadcastOperator {
        self.except.push(room.to_string());
        self
    }

    /// `.emit(event, ...args)`: returns how many sockets it was queued for. A socket whose
    /// client does not read is skipped (and disconnected by its full buffer), not waited for.
    pub fn emit(&self, event: &str, args: Vec<Arg>) -> Result<usize, EmitError> {
        if self.nsp.is_parent() {
            return self.emit_to_children(event, args);
        }
        let packet = event_packet(self.nsp.name(), event, args, None)?;
        let messages = packet::encode(&packet);
        let targets = self.nsp.broadcast_targets(&self.rooms, &self.except);
        let mut sent = 0;
        for socket in targets {
            socket.notify_outgoing_listeners(&packet);
            if send_encoded(socket.conn(), messages.clone()).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// A parent namespace's broadcast: the same rooms and exceptions in each child.
    fn emit_to_children(&self, event: &str, args: Vec<Arg>) -> Result<usize, EmitError> {
        if packet::RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent(event.to_string()));
        }
        let mut sent = 0;
        for child in self.nsp.children() {
            let in_child = BroadcastOperator {
                nsp: child,
                rooms: self.rooms.clone(),
                except: self.except.clone(),
            };
            sent += in_child.emit(event, args.clone())?;
        }
        Ok(sent)
    }
}
