//! USB bulk/interrupt container framing (PIMA 15740 USB still-image class).
//!
//! ```text
//! u32 length (12 + payload) | u16 type (1 command, 2 data, 3 response, 4 event) | u16 code | u32 transaction id | payload
//! ```
//! Command, response and event payloads are up to five (events: three) u32 parameters.

use crate::codec::{Reader, Writer};
use crate::codes::{EventCode, OperationCode, ResponseCode};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// Size of the container header.
pub const HEADER_LEN: usize = 12;
/// Most parameters a command or response carries.
pub const MAX_PARAMS: usize = 5;
/// Most parameters an event carries.
pub const MAX_EVENT_PARAMS: usize = 3;
/// The transaction id Sony bodies put in every event.
pub const EVENT_TRANSACTION_ID: u32 = 0xFFFF_FFFF;

/// The four kinds of USB container.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerKind {
    /// Host → camera: operation request.
    Command,
    /// Either direction: the data phase.
    Data,
    /// Camera → host: response to an operation.
    Response,
    /// Camera → host on the interrupt endpoint.
    Event,
}

impl ContainerKind {
    /// The wire value.
    pub fn code(self) -> u16 {
        match self {
            Self::Command => 1,
            Self::Data => 2,
            Self::Response => 3,
            Self::Event => 4,
        }
    }

    /// From the wire value.
    pub fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            1 => Self::Command,
            2 => Self::Data,
            3 => Self::Response,
            4 => Self::Event,
            _ => return None,
        })
    }
}

/// Up to five u32 parameters, stored inline.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params {
    len: u8,
    values: [u32; MAX_PARAMS],
}

impl Params {
    /// No parameters.
    pub const NONE: Params = Params {
        len: 0,
        values: [0; MAX_PARAMS],
    };

    /// From a slice of at most five values.
    pub fn new(values: &[u32]) -> Result<Params, EncodeError> {
        if values.len() > MAX_PARAMS {
            return Err(EncodeError::TooManyParams(values.len(), MAX_PARAMS));
        }
        let mut p = Params::NONE;
        for (slot, v) in p.values.iter_mut().zip(values) {
            *slot = *v;
        }
        p.len = values.len() as u8;
        Ok(p)
    }

    /// The parameters as a slice.
    pub fn as_slice(&self) -> &[u32] {
        self.values.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Parameter `i`, if present.
    pub fn get(&self, i: usize) -> Option<u32> {
        self.as_slice().get(i).copied()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads all remaining bytes as u32 parameters (at most `max`).
    pub fn decode_rest(r: &mut Reader<'_>, max: usize) -> Result<Params, DecodeError> {
        let at = r.offset();
        let n = r.remaining();
        if n % 4 != 0 || n / 4 > max {
            return Err(r.error_at(
                at,
                DecodeErrorKind::Invalid(format!(
                    "{n} parameter bytes: expected a multiple of 4, at most {} bytes",
                    max * 4
                )),
            ));
        }
        let mut p = Params::NONE;
        for slot in p.values.iter_mut().take(n / 4) {
            *slot = r.u32()?;
        }
        p.len = (n / 4) as u8;
        Ok(p)
    }

    /// Appends the parameters.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for &v in self.as_slice() {
            out.put_u32(v);
        }
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.as_slice().iter().map(|v| format!("{v:#x}")))
            .finish()
    }
}

impl serde::Serialize for Params {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

/// An operation request (command phase).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Operation {
    /// What to do.
    pub code: OperationCode,
    /// Transaction id; OpenSession uses 0.
    pub transaction_id: u32,
    /// Up to five parameters.
    pub params: Params,
}

/// A response to an operation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Response {
    /// Outcome.
    pub code: ResponseCode,
    /// The transaction it answers.
    pub transaction_id: u32,
    /// Up to five parameters (e.g. the negotiated SDIO version after 0x9202).
    pub params: Params,
}

/// An asynchronous event from the camera.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// What happened.
    pub code: EventCode,
    /// Sony bodies send 0xFFFFFFFF.
    pub transaction_id: u32,
    /// Up to three parameters (e.g. the property that changed).
    pub params: Params,
}

/// A whole USB container as one buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsbContainer {
    /// Command, data, response or event.
    pub kind: ContainerKind,
    /// Operation, response or event code (a data container repeats the operation code).
    pub code: u16,
    /// Transaction id.
    pub transaction_id: u32,
    /// Everything after the 12-byte header.
    pub payload: Vec<u8>,
}

/// The 12-byte header alone, for transports that read a header and then the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsbContainerHeader {
    /// Total container length including the header (0xFFFFFFFF: "until a short packet").
    pub length: u32,
    /// Command, data, response or event.
    pub kind: ContainerKind,
    /// Operation, response or event code.
    pub code: u16,
    /// Transaction id.
    pub transaction_id: u32,
}

impl UsbContainerHeader {
    /// Decodes the header at the start of `bytes` (which may hold more).
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("UsbContainer", |r| {
            let length = r.u32()?;
            let at = r.offset();
            let kind_code = r.u16()?;
            let kind = ContainerKind::from_code(kind_code).ok_or_else(|| {
                r.error_at(
                    at,
                    DecodeErrorKind::InvalidValue {
                        field: "container type",
                        value: kind_code.into(),
                    },
                )
            })?;
            let code = r.u16()?;
            let transaction_id = r.u32()?;
            if (length as usize) < HEADER_LEN {
                return Err(r.error_at(
                    0,
                    DecodeErrorKind::InvalidValue {
                        field: "container length",
                        value: length.into(),
                    },
                ));
            }
            Ok(Self {
                length,
                kind,
                code,
                transaction_id,
            })
        })
    }
}

impl UsbContainer {
    /// Decodes `bytes` as exactly one container: the length field must equal `bytes.len()`.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let h = UsbContainerHeader::decode(&mut r)?;
        if h.length as usize != bytes.len() {
            return Err(DecodeError {
                structure: "UsbContainer",
                context: None,
                offset: 0,
                kind: DecodeErrorKind::LengthMismatch {
                    declared: h.length.into(),
                    actual: bytes.len() as u64,
                },
            });
        }
        Ok(Self {
            kind: h.kind,
            code: h.code,
            transaction_id: h.transaction_id,
            payload: r.rest().to_vec(),
        })
    }

    /// The wire form.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let total = HEADER_LEN + self.payload.len();
        let len = u32::try_from(total).map_err(|_| EncodeError::TooLarge(total))?;
        let mut out = Vec::with_capacity(total);
        out.put_u32(len);
        out.put_u16(self.kind.code());
        out.put_u16(self.code);
        out.put_u32(self.transaction_id);
        out.extend_from_slice(&self.payload);
        Ok(out)
    }

    fn params(&self, max: usize, structure: &'static str) -> Result<Params, DecodeError> {
        let mut r = Reader::with_base(&self.payload, HEADER_LEN);
        r.within(structure, |r| Params::decode_rest(r, max))
    }

    fn expect_kind(&self, kind: ContainerKind) -> Result<(), DecodeError> {
        if self.kind != kind {
            return Err(DecodeError {
                structure: "UsbContainer",
                context: None,
                offset: 4,
                kind: DecodeErrorKind::InvalidValue {
                    field: "container type",
                    value: self.kind.code().into(),
                },
            });
        }
        Ok(())
    }

    /// The command container as an [`Operation`].
    pub fn to_operation(&self) -> Result<Operation, DecodeError> {
        self.expect_kind(ContainerKind::Command)?;
        Ok(Operation {
            code: OperationCode(self.code),
            transaction_id: self.transaction_id,
            params: self.params(MAX_PARAMS, "Operation")?,
        })
    }

    /// The response container as a [`Response`].
    pub fn to_response(&self) -> Result<Response, DecodeError> {
        self.expect_kind(ContainerKind::Response)?;
        Ok(Response {
            code: ResponseCode(self.code),
            transaction_id: self.transaction_id,
            params: self.params(MAX_PARAMS, "Response")?,
        })
    }

    /// The event container as an [`Event`].
    pub fn to_event(&self) -> Result<Event, DecodeError> {
        self.expect_kind(ContainerKind::Event)?;
        Ok(Event {
            code: EventCode(self.code),
            transaction_id: self.transaction_id,
            params: self.params(MAX_EVENT_PARAMS, "Event")?,
        })
    }

    fn with_params(kind: ContainerKind, code: u16, transaction_id: u32, params: &Params) -> Self {
        let mut payload = Vec::with_capacity(params.len() * 4);
        params.encode(&mut payload);
        Self {
            kind,
            code,
            transaction_id,
            payload,
        }
    }

    /// A command container for `op`.
    pub fn command(op: &Operation) -> Self {
        Self::with_params(
            ContainerKind::Command,
            op.code.0,
            op.transaction_id,
            &op.params,
        )
    }

    /// A response container.
    pub fn response(resp: &Response) -> Self {
        Self::with_params(
            ContainerKind::Response,
            resp.code.0,
            resp.transaction_id,
            &resp.params,
        )
    }

    /// An event container.
    pub fn event(ev: &Event) -> Self {
        Self::with_params(
            ContainerKind::Event,
            ev.code.0,
            ev.transaction_id,
            &ev.params,
        )
    }

    /// A data container for operation `code`.
    pub fn data(code: OperationCode, transaction_id: u32, payload: Vec<u8>) -> Self {
        Self {
            kind: ContainerKind::Data,
            code: code.0,
            transaction_id,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_round_trip() {
        let op = Operation {
            code: OperationCode(0x9201),
            transaction_id: 3,
            params: Params::new(&[3, 0, 0]).unwrap(),
        };
        let bytes = UsbContainer::command(&op).encode().unwrap();
        assert_eq!(bytes.len(), 24);
        assert_eq!(
            UsbContainer::decode(&bytes)
                .unwrap()
                .to_operation()
                .unwrap(),
            op
        );
    }

    #[test]
    fn length_disagreement_is_reported() {
        let op = Operation {
            code: OperationCode::OPEN_SESSION,
            transaction_id: 0,
            params: Params::new(&[1]).unwrap(),
        };
        let mut bytes = UsbContainer::command(&op).encode().unwrap();
        bytes.push(0);
        let err = UsbContainer::decode(&bytes).unwrap_err();
        assert!(err.to_string().contains("oversized"), "{err}");
        bytes.truncate(10);
        let err = UsbContainer::decode(&bytes).unwrap_err();
        assert!(
            matches!(err.kind, DecodeErrorKind::Truncated { .. }),
            "{err}"
        );
    }

    #[test]
    fn bad_kind_and_too_many_params() {
        let bytes = [12, 0, 0, 0, 9, 0, 1, 0x10, 0, 0, 0, 0];
        assert!(UsbContainer::decode(&bytes).is_err());
        let mut c = UsbContainer::event(&Event {
            code: EventCode(0xC203),
            transaction_id: EVENT_TRANSACTION_ID,
            params: Params::new(&[1, 2, 3, 4]).unwrap(),
        });
        assert!(c.to_event().is_err());
        c.payload.truncate(3);
        assert!(c.to_event().is_err());
        assert!(Params::new(&[0; 6]).is_err());
    }
}
