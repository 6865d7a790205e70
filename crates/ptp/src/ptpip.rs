//! PTP/IP packets (CIPA DC-X005): every packet is `u32 length (incl. these 8 bytes), u32 type,
//! payload`. Two TCP connections carry them: command/data and events.

use crate::codec::{Reader, Writer};
use crate::codes::{EventCode, OperationCode, ResponseCode};
use crate::container::{MAX_EVENT_PARAMS, MAX_PARAMS, Params};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// Size of the packet header.
pub const HEADER_LEN: usize = 8;
/// The PTP/IP protocol version hosts and cameras send (major 1, minor 0).
pub const PROTOCOL_VERSION: u32 = 0x0001_0000;
/// The largest packet this codec accepts from a peer: a Data packet with 64 MiB of payload. A
/// length field above this is treated as garbage rather than buffered.
pub const MAX_PACKET_LEN: u32 = 64 * 1024 * 1024 + 12;

/// Data phase announced in an Operation Request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DataPhase(pub u32);

impl DataPhase {
    /// No data, or data from the camera (libgphoto2's 1).
    pub const NONE_OR_IN: Self = Self(1);
    /// Data from the host.
    pub const OUT: Self = Self(2);
}

/// A packet type code. Open, like the PTP code spaces: a peer may send a type nobody knows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PacketType(pub u32);

impl PacketType {
    /// Host opens the command connection.
    pub const INIT_COMMAND_REQUEST: Self = Self(1);
    /// Camera accepts the command connection.
    pub const INIT_COMMAND_ACK: Self = Self(2);
    /// Host opens the event connection.
    pub const INIT_EVENT_REQUEST: Self = Self(3);
    /// Camera accepts the event connection.
    pub const INIT_EVENT_ACK: Self = Self(4);
    /// Camera refuses a connection.
    pub const INIT_FAIL: Self = Self(5);
    /// An operation.
    pub const OPERATION_REQUEST: Self = Self(6);
    /// The answer to an operation.
    pub const OPERATION_RESPONSE: Self = Self(7);
    /// An event.
    pub const EVENT: Self = Self(8);
    /// A data phase starts.
    pub const START_DATA: Self = Self(9);
    /// A chunk of the data phase.
    pub const DATA: Self = Self(10);
    /// Cancel a transaction.
    pub const CANCEL: Self = Self(11);
    /// The last chunk of the data phase.
    pub const END_DATA: Self = Self(12);
    /// Are you there?
    pub const PROBE_REQUEST: Self = Self(13);
    /// Yes.
    pub const PROBE_RESPONSE: Self = Self(14);

    /// True for the packets that carry a data phase's bytes (Data, End Data), which a transport
    /// streams rather than reads whole.
    pub fn carries_data(self) -> bool {
        self == Self::DATA || self == Self::END_DATA
    }
}

/// The 8-byte header alone, for transports that read a header and then stream the body.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PacketHeader {
    /// Total packet length including the header. At least [`HEADER_LEN`]; the upper bound is
    /// the caller's, since a streamed Data packet may be larger than [`MAX_PACKET_LEN`].
    pub length: u32,
    /// The packet type.
    pub packet_type: PacketType,
}

impl PacketHeader {
    /// Decodes the header at the start of `r` (which may hold more).
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("PtpIpPacket", |r| {
            let start = r.offset();
            let length = r.u32()?;
            let packet_type = PacketType(r.u32()?);
            if (length as usize) < HEADER_LEN {
                return Err(r.error_at(
                    start,
                    DecodeErrorKind::InvalidValue {
                        field: "packet length",
                        value: length.into(),
                    },
                ));
            }
            Ok(Self {
                length,
                packet_type,
            })
        })
    }
}

/// One PTP/IP packet.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum Packet {
    /// 1: host opens the command connection.
    InitCommandRequest {
        /// The host's GUID (cameras remember it for pairing).
        guid: [u8; 16],
        /// Shown on the camera's pairing prompt.
        friendly_name: String,
        /// Usually 0x00010000.
        protocol_version: u32,
    },
    /// 2: camera accepts the command connection.
    InitCommandAck {
        /// Passed back in the Init Event Request.
        connection_number: u32,
        /// The camera's GUID.
        guid: [u8; 16],
        /// The camera's name.
        friendly_name: String,
        /// Sony's DSC-RX100M7 omits it; the ILCE-9 sends it.
        protocol_version: Option<u32>,
    },
    /// 3: host opens the event connection.
    InitEventRequest {
        /// From the Init Command Ack.
        connection_number: u32,
    },
    /// 4: camera accepts the event connection.
    InitEventAck,
    /// 5: camera refuses a connection.
    InitFail {
        /// 1 rejected, 2 busy, 3 unspecified.
        reason: u32,
    },
    /// 6: operation request.
    OperationRequest {
        /// 1 = no data or data-in, 2 = data-out.
        data_phase: DataPhase,
        /// The operation.
        code: OperationCode,
        /// Transaction id.
        transaction_id: u32,
        /// Up to five parameters.
        params: Params,
    },
    /// 7: operation response.
    OperationResponse {
        /// The outcome.
        code: ResponseCode,
        /// Transaction id.
        transaction_id: u32,
        /// Up to five parameters.
        params: Params,
    },
    /// 8: event (on the event connection).
    Event {
        /// What happened.
        code: EventCode,
        /// Transaction id (0xFFFFFFFF on Sony bodies).
        transaction_id: u32,
        /// Up to three parameters.
        params: Params,
    },
    /// 9: a data phase begins.
    StartData {
        /// Transaction id.
        transaction_id: u32,
        /// Total bytes that Data and End Data will carry.
        total_length: u64,
    },
    /// 10: a chunk of the data phase.
    Data {
        /// Transaction id.
        transaction_id: u32,
        /// The chunk.
        #[serde(serialize_with = "serialize_len")]
        payload: Vec<u8>,
    },
    /// 11: cancel a transaction.
    Cancel {
        /// Transaction id.
        transaction_id: u32,
    },
    /// 12: the last chunk of the data phase (may be empty).
    EndData {
        /// Transaction id.
        transaction_id: u32,
        /// The last chunk.
        #[serde(serialize_with = "serialize_len")]
        payload: Vec<u8>,
    },
    /// 13: are you there?
    ProbeRequest,
    /// 14: yes.
    ProbeResponse,
}

fn serialize_len<S: serde::Serializer>(payload: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Payload", 1)?;
    st.serialize_field("length", &payload.len())?;
    st.end()
}

/// Reads the packet length from the first 4 bytes of a stream buffer: `Ok(None)` if fewer than 8
/// bytes are there, an error if the length is impossible (below 8 or above [`MAX_PACKET_LEN`]).
pub fn peek_packet_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let mut r = Reader::new(head);
    let len = r.u32()?;
    if (len as usize) < HEADER_LEN || len > MAX_PACKET_LEN {
        return Err(DecodeError {
            structure: "PtpIpPacket",
            context: None,
            offset: 0,
            kind: DecodeErrorKind::InvalidValue {
                field: "packet length",
                value: len.into(),
            },
        });
    }
    Ok(Some(len as usize))
}

/// Reads a NUL-terminated UTF-16LE name from the remaining bytes (no count byte).
fn utf16z(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let mut units = Vec::new();
    loop {
        let u = r.u16()?;
        if u == 0 {
            break;
        }
        units.push(u);
    }
    Ok(char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

fn put_utf16z(out: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16().filter(|&u| u != 0) {
        out.put_u16(u);
    }
    out.put_u16(0);
}

impl Packet {
    /// The packet type.
    pub fn packet_type(&self) -> PacketType {
        PacketType(self.type_code())
    }

    /// The packet type code.
    pub fn type_code(&self) -> u32 {
        match self {
            Packet::InitCommandRequest { .. } => 1,
            Packet::InitCommandAck { .. } => 2,
            Packet::InitEventRequest { .. } => 3,
            Packet::InitEventAck => 4,
            Packet::InitFail { .. } => 5,
            Packet::OperationRequest { .. } => 6,
            Packet::OperationResponse { .. } => 7,
            Packet::Event { .. } => 8,
            Packet::StartData { .. } => 9,
            Packet::Data { .. } => 10,
            Packet::Cancel { .. } => 11,
            Packet::EndData { .. } => 12,
            Packet::ProbeRequest => 13,
            Packet::ProbeResponse => 14,
        }
    }

    /// The packet type's name (`OperationRequest`, `StartData`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Packet::InitCommandRequest { .. } => "InitCommandRequest",
            Packet::InitCommandAck { .. } => "InitCommandAck",
            Packet::InitEventRequest { .. } => "InitEventRequest",
            Packet::InitEventAck => "InitEventAck",
            Packet::InitFail { .. } => "InitFail",
            Packet::OperationRequest { .. } => "OperationRequest",
            Packet::OperationResponse { .. } => "OperationResponse",
            Packet::Event { .. } => "Event",
            Packet::StartData { .. } => "StartData",
            Packet::Data { .. } => "Data",
            Packet::Cancel { .. } => "Cancel",
            Packet::EndData { .. } => "EndData",
            Packet::ProbeRequest => "ProbeRequest",
            Packet::ProbeResponse => "ProbeResponse",
        }
    }

    /// Decodes the first packet in `r`; its length field decides how many bytes it takes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Packet, DecodeError> {
        r.within("PtpIpPacket", |r| {
            let start = r.offset();
            let len = r.u32()?;
            if (len as usize) < HEADER_LEN || len > MAX_PACKET_LEN {
                return Err(r.error_at(
                    start,
                    DecodeErrorKind::InvalidValue {
                        field: "packet length",
                        value: len.into(),
                    },
                ));
            }
            let body_len = len as usize - 4;
            if body_len > r.remaining() {
                return Err(r.error_at(
                    start,
                    DecodeErrorKind::LengthMismatch {
                        declared: len.into(),
                        actual: (r.remaining() + 4) as u64,
                    },
                ));
            }
            let body = r.take(body_len)?;
            let mut b = Reader::with_base(body, start + 4);
            let p = b.within("PtpIpPacket", Self::decode_body)?;
            b.finish()?;
            Ok(p)
        })
    }

    fn decode_body(b: &mut Reader<'_>) -> Result<Packet, DecodeError> {
        let at = b.offset();
        let ty = b.u32()?;
        Ok(match ty {
            1 => b.within("InitCommandRequest", |b| {
                let guid = guid(b)?;
                let friendly_name = utf16z(b)?;
                let protocol_version = b.u32()?;
                Ok(Packet::InitCommandRequest {
                    guid,
                    friendly_name,
                    protocol_version,
                })
            })?,
            2 => b.within("InitCommandAck", |b| {
                let connection_number = b.u32()?;
                let guid = guid(b)?;
                let friendly_name = utf16z(b)?;
                let protocol_version = if b.is_empty() { None } else { Some(b.u32()?) };
                Ok(Packet::InitCommandAck {
                    connection_number,
                    guid,
                    friendly_name,
                    protocol_version,
                })
            })?,
            3 => Packet::InitEventRequest {
                connection_number: b.within("InitEventRequest", Reader::u32)?,
            },
            4 => Packet::InitEventAck,
            5 => Packet::InitFail {
                reason: b.within("InitFail", Reader::u32)?,
            },
            6 => b.within("OperationRequest", |b| {
                Ok(Packet::OperationRequest {
                    data_phase: DataPhase(b.u32()?),
                    code: OperationCode(b.u16()?),
                    transaction_id: b.u32()?,
                    params: Params::decode_rest(b, MAX_PARAMS)?,
                })
            })?,
            7 => b.within("OperationResponse", |b| {
                Ok(Packet::OperationResponse {
                    code: ResponseCode(b.u16()?),
                    transaction_id: b.u32()?,
                    params: Params::decode_rest(b, MAX_PARAMS)?,
                })
            })?,
            8 => b.within("Event", |b| {
                Ok(Packet::Event {
                    code: EventCode(b.u16()?),
                    transaction_id: b.u32()?,
                    params: Params::decode_rest(b, MAX_EVENT_PARAMS)?,
                })
            })?,
            9 => b.within("StartData", |b| {
                Ok(Packet::StartData {
                    transaction_id: b.u32()?,
                    total_length: b.u64()?,
                })
            })?,
            10 => Packet::Data {
                transaction_id: b.within("Data", Reader::u32)?,
                payload: b.rest().to_vec(),
            },
            11 => Packet::Cancel {
                transaction_id: b.within("Cancel", Reader::u32)?,
            },
            12 => Packet::EndData {
                transaction_id: b.within("EndData", Reader::u32)?,
                payload: b.rest().to_vec(),
            },
            13 => Packet::ProbeRequest,
            14 => Packet::ProbeResponse,
            other => {
                return Err(b.error_at(
                    at,
                    DecodeErrorKind::InvalidValue {
                        field: "packet type",
                        value: other.into(),
                    },
                ));
            }
        })
    }

    /// Decodes `bytes` as exactly one packet.
    pub fn decode_exact(bytes: &[u8]) -> Result<Packet, DecodeError> {
        let mut r = Reader::new(bytes);
        let p = Packet::decode(&mut r)?;
        r.finish()?;
        Ok(p)
    }

    /// Decodes a stream of back-to-back packets that must end exactly at a packet boundary.
    pub fn decode_stream(bytes: &[u8]) -> Result<Vec<Packet>, DecodeError> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(Packet::decode(&mut r)?);
        }
        Ok(out)
    }

    /// Appends the wire form.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        out.put_u32(0); // length, patched below
        out.put_u32(self.type_code());
        match self {
            Packet::InitCommandRequest {
                guid,
                friendly_name,
                protocol_version,
            } => {
                out.extend_from_slice(guid);
                put_utf16z(out, friendly_name);
                out.put_u32(*protocol_version);
            }
            Packet::InitCommandAck {
                connection_number,
                guid,
                friendly_name,
                protocol_version,
            } => {
                out.put_u32(*connection_number);
                out.extend_from_slice(guid);
                put_utf16z(out, friendly_name);
                if let Some(v) = protocol_version {
                    out.put_u32(*v);
                }
            }
            Packet::InitEventRequest { connection_number } => out.put_u32(*connection_number),
            Packet::InitEventAck | Packet::ProbeRequest | Packet::ProbeResponse => {}
            Packet::InitFail { reason } => out.put_u32(*reason),
            Packet::OperationRequest {
                data_phase,
                code,
                transaction_id,
                params,
            } => {
                out.put_u32(data_phase.0);
                out.put_u16(code.0);
                out.put_u32(*transaction_id);
                params.encode(out);
            }
            Packet::OperationResponse {
                code,
                transaction_id,
                params,
            } => {
                out.put_u16(code.0);
                out.put_u32(*transaction_id);
                params.encode(out);
            }
            Packet::Event {
                code,
                transaction_id,
                params,
            } => {
                if params.len() > MAX_EVENT_PARAMS {
                    return Err(EncodeError::TooManyParams(params.len(), MAX_EVENT_PARAMS));
                }
                out.put_u16(code.0);
                out.put_u32(*transaction_id);
                params.encode(out);
            }
            Packet::StartData {
                transaction_id,
                total_length,
            } => {
                out.put_u32(*transaction_id);
                out.put_u64(*total_length);
            }
            Packet::Data {
                transaction_id,
                payload,
            }
            | Packet::EndData {
                transaction_id,
                payload,
            } => {
                out.put_u32(*transaction_id);
                out.extend_from_slice(payload);
            }
            Packet::Cancel { transaction_id } => out.put_u32(*transaction_id),
        }
        let total = out.len() - start;
        let len = u32::try_from(total)
            .ok()
            .filter(|&l| l <= MAX_PACKET_LEN)
            .ok_or(EncodeError::TooLarge(total))?;
        if let Some(slot) = out.get_mut(start..start + 4) {
            slot.copy_from_slice(&len.to_le_bytes());
        }
        Ok(())
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

fn guid(r: &mut Reader<'_>) -> Result<[u8; 16], DecodeError> {
    let mut g = [0u8; 16];
    g.copy_from_slice(r.take(16)?);
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds() -> Vec<Packet> {
        let p = Params::new(&[1, 2, 3]).unwrap();
        vec![
            Packet::InitCommandRequest {
                guid: *b"8810B99668841894",
                friendly_name: "sonyctl".into(),
                protocol_version: PROTOCOL_VERSION,
            },
            Packet::InitCommandAck {
                connection_number: 1,
                guid: [7; 16],
                friendly_name: "DSC-RX100M7".into(),
                protocol_version: None,
            },
            Packet::InitCommandAck {
                connection_number: 0xF419AC6D,
                guid: [1; 16],
                friendly_name: "ILCE-9".into(),
                protocol_version: Some(PROTOCOL_VERSION),
            },
            Packet::InitEventRequest {
                connection_number: 1,
            },
            Packet::InitEventAck,
            Packet::InitFail { reason: 2 },
            Packet::OperationRequest {
                data_phase: DataPhase::NONE_OR_IN,
                code: OperationCode(0x9201),
                transaction_id: 3,
                params: p,
            },
            Packet::OperationResponse {
                code: ResponseCode::OK,
                transaction_id: 5,
                params: Params::new(&[0x12C]).unwrap(),
            },
            Packet::Event {
                code: EventCode(0xC203),
                transaction_id: 0xFFFF_FFFF,
                params: Params::new(&[0xD213]).unwrap(),
            },
            Packet::StartData {
                transaction_id: 4,
                total_length: 3521,
            },
            Packet::Data {
                transaction_id: 4,
                payload: vec![1, 2, 3],
            },
            Packet::Cancel { transaction_id: 4 },
            Packet::EndData {
                transaction_id: 4,
                payload: vec![],
            },
            Packet::ProbeRequest,
            Packet::ProbeResponse,
        ]
    }

    /// Every packet's header names its own type, and only Data and End Data are streamed.
    #[test]
    fn headers_name_each_packet_type() {
        for p in all_kinds() {
            let bytes = p.to_bytes().unwrap();
            let h = PacketHeader::decode(&mut Reader::new(&bytes)).unwrap();
            assert_eq!(h.packet_type, p.packet_type(), "{}", p.name());
            assert_eq!(h.length as usize, bytes.len(), "{}", p.name());
            assert_eq!(
                h.packet_type.carries_data(),
                matches!(p, Packet::Data { .. } | Packet::EndData { .. }),
                "{}",
                p.name()
            );
        }
        let short = [4, 0, 0, 0, 10, 0, 0, 0];
        assert!(PacketHeader::decode(&mut Reader::new(&short)).is_err());
        assert!(PacketHeader::decode(&mut Reader::new(&short[..6])).is_err());
    }

    #[test]
    fn every_packet_type_round_trips_alone_and_in_a_stream() {
        let mut stream = Vec::new();
        for p in all_kinds() {
            let bytes = p.to_bytes().unwrap();
            assert_eq!(peek_packet_len(&bytes).unwrap(), Some(bytes.len()));
            assert_eq!(Packet::decode_exact(&bytes).unwrap(), p);
            stream.extend_from_slice(&bytes);
        }
        assert_eq!(Packet::decode_stream(&stream).unwrap(), all_kinds());
    }

    #[test]
    fn bad_lengths_and_types() {
        assert!(peek_packet_len(&[4, 0, 0, 0, 1, 0, 0, 0]).is_err());
        assert!(peek_packet_len(&[0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0]).is_err());
        assert_eq!(peek_packet_len(&[8, 0, 0]).unwrap(), None);
        assert!(Packet::decode_exact(&[8, 0, 0, 0, 99, 0, 0, 0]).is_err());
        // Declared 20 bytes, only 12 present.
        let err = Packet::decode_exact(&[20, 0, 0, 0, 8, 0, 0, 0, 3, 0xc2, 0, 0]).unwrap_err();
        assert!(
            matches!(err.kind, DecodeErrorKind::LengthMismatch { .. }),
            "{err}"
        );
        // An unterminated friendly name.
        let err = Packet::decode_exact(&[
            30, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            65, 0,
        ])
        .unwrap_err();
        assert_eq!(err.structure, "InitCommandAck");
    }
}
