//! The default parser: `socket.io-parser`'s text packets and binary attachments, which
//! `packet.rs` writes and reads (`42["news","Hello Socket.IO"]`, `451-["file",{"_placeholder":true,"num":0}]`
//! then the bytes).

use super::{PacketDecoder, Parser};
use crate::engineio::Message;
use crate::socketio::adapter::Offset;
use crate::socketio::packet::{self, Decoder, Packet, ParseError};

/// `socket.io-parser` (the reference's default `parser`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonParser;

impl Parser for JsonParser {
    fn name(&self) -> &'static str {
        "json"
    }

    fn encode(&self, packet: &Packet) -> Vec<Message> {
        packet::encode(packet)
    }

    /// The offset written straight into the text (`packet::encode_with_offset`).
    fn encode_logged(&self, packet: &Packet, offset: Offset) -> Vec<Message> {
        packet::encode_with_offset(packet, Some(offset))
    }

    fn decoder(&self) -> Box<dyn PacketDecoder> {
        Box::new(Decoder::new())
    }
}

impl PacketDecoder for Decoder {
    fn add(&mut self, message: Message) -> Result<Option<Packet>, ParseError> {
        Decoder::add(self, message)
    }

    fn destroy(&mut self) {
        Decoder::destroy(self)
    }
}
