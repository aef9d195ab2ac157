//! `io.to(room).emit(...)`, `io.except(room)`, `socket.broadcast.emit(...)`: one emit to many
//! sockets (the reference's `BroadcastOperator`).
//!
//! The packet is encoded once, then its Engine.IO messages are queued on each target's session:
//!
//! ```text
//! io.to("room1").emit("hi", 1)   ->   42["hi",1] queued for every socket in room1
//! ```

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
        let packet = event_packet(self.nsp.name(), event, args, None)?;
        let messages = packet::encode(&packet);
        let targets = self.nsp.broadcast_targets(&self.rooms, &self.except);
        let mut sent = 0;
        for socket in targets {
            if send_encoded(socket.conn(), messages.clone()).is_ok() {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
