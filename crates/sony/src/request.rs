//! Sony SDIO requests, typed: what a host sends (operation + optional data-out phase) and what a
//! camera makes of it. Hosts build bytes with [`SdioRequest::operation`] and
//! [`SdioRequest::data`]; the simulated camera reads them back with
//! [`SdioRequest::from_operation`].
//!
//! Hosts disagree on data lengths (a u8 property sent as 2 bytes, an i16 step as i32, F-number
//! as u32), and real cameras accept them, so the camera side takes a payload at least as long as
//! the property's type and uses its low bytes.

use sonyctl_ptp::{DataType, Operation, OperationCode, Params, PropertyCode, Reader, Value};

use crate::codes::op;
use crate::prop_info::SdioVersion;

/// A host → camera SDIO request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdioRequest {
    /// 0x9201 SDIO_Connect(phase, 0, 0); the camera answers 8 zero bytes.
    Connect {
        /// 1, 2 or 3.
        phase: u32,
    },
    /// 0x9202 SDIO_GetExtDeviceInfo(version).
    GetExtDeviceInfo {
        /// The protocol version the host asks for (200 or 300).
        version: SdioVersion,
    },
    /// 0x9205 SDIO_SetExtDevicePropValue(code) + the value: an absolute set.
    SetExtDevicePropValue {
        /// The property.
        code: PropertyCode,
        /// The data phase as sent.
        data: Vec<u8>,
    },
    /// 0x9207 SDIO_ControlDevice(code) + the value: a button or a step.
    ControlDevice {
        /// The control or property.
        code: PropertyCode,
        /// The data phase as sent.
        data: Vec<u8>,
    },
    /// 0x9209 SDIO_GetAllExtDevicePropInfo, optionally "only what changed".
    GetAllExtDevicePropInfo {
        /// p1 = 1: only properties changed since the last call.
        only_changed: bool,
    },
    /// 0x9251 SDIO_GetExtDeviceProp(code): one descriptor.
    GetExtDeviceProp {
        /// The property.
        code: PropertyCode,
    },
}

/// An operation that is not a well-formed SDIO request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not an SDIO operation this module knows.
    #[error("operation {0:#06X} is not an SDIO request")]
    NotSdio(u16),
    /// A required parameter is missing or out of range.
    #[error("operation {op:#06X}: bad parameter {index}: {why}")]
    BadParameter {
        /// The operation.
        op: u16,
        /// Parameter index (0-based).
        index: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// The operation needs a data phase and none came.
    #[error("operation {0:#06X} needs a data phase")]
    MissingData(u16),
    /// The data is shorter than the property's type.
    #[error("{len} data byte(s) are too few for a {data_type} value")]
    DataTooShort {
        /// Bytes received.
        len: usize,
        /// The property's type.
        data_type: DataType,
    },
}

impl SdioRequest {
    /// The request as an operation with transaction id `transaction_id`. Parameter counts follow
    /// what libgphoto2 and real cameras use: three for Connect, one elsewhere, none for 0x9209
    /// unless only changes are asked for.
    pub fn operation(&self, transaction_id: u32) -> Operation {
        let (code, params): (OperationCode, &[u32]) = match self {
            SdioRequest::Connect { phase } => (op::SDIO_CONNECT, &[*phase, 0, 0]),
            SdioRequest::GetExtDeviceInfo { version } => {
                (op::SDIO_GET_EXT_DEVICE_INFO, &[u32::from(version.0)])
            }
            SdioRequest::SetExtDevicePropValue { code, .. } => {
                (op::SDIO_SET_EXT_DEVICE_PROP_VALUE, &[u32::from(code.0)])
            }
            SdioRequest::ControlDevice { code, .. } => {
                (op::SDIO_CONTROL_DEVICE, &[u32::from(code.0)])
            }
            SdioRequest::GetAllExtDevicePropInfo {
                only_changed: false,
            } => (op::SDIO_GET_ALL_EXT_DEVICE_PROP_INFO, &[]),
            SdioRequest::GetAllExtDevicePropInfo { only_changed: true } => {
                (op::SDIO_GET_ALL_EXT_DEVICE_PROP_INFO, &[1])
            }
            SdioRequest::GetExtDeviceProp { code } => {
                (op::SDIO_GET_EXT_DEVICE_PROP, &[u32::from(code.0)])
            }
        };
        Operation {
            code,
            transaction_id,
            // At most three parameters above, within the five a container carries.
            params: Params::new(params).unwrap_or_default(),
        }
    }

    /// The data-out phase, for 0x9205 and 0x9207.
    pub fn data(&self) -> Option<&[u8]> {
        match self {
            SdioRequest::SetExtDevicePropValue { data, .. }
            | SdioRequest::ControlDevice { data, .. } => Some(data),
            _ => None,
        }
    }

    /// A 0x9205 absolute set of `value` (encoded in its own type).
    pub fn set(code: PropertyCode, value: &Value) -> Result<SdioRequest, sonyctl_ptp::EncodeError> {
        let mut data = Vec::new();
        value.encode(&mut data)?;
        Ok(SdioRequest::SetExtDevicePropValue { code, data })
    }

    /// A 0x9207 button press (2) or release (1), sent as u16 as every host does.
    pub fn button(code: PropertyCode, pressed: bool) -> SdioRequest {
        let v: u16 = if pressed { 2 } else { 1 };
        SdioRequest::ControlDevice {
            code,
            data: v.to_le_bytes().to_vec(),
        }
    }

    /// A 0x9207 step of `steps` notches, sent as a signed byte like libgphoto2 (clamped to
    /// ±127; +1 on the shutter speed is one notch faster).
    pub fn step(code: PropertyCode, steps: i32) -> SdioRequest {
        let s = steps.clamp(-127, 127) as i8;
        SdioRequest::ControlDevice {
            code,
            data: s.to_le_bytes().to_vec(),
        }
    }

    /// The camera's reading of an operation and its data phase.
    pub fn from_operation(
        op: &Operation,
        data: Option<&[u8]>,
    ) -> Result<SdioRequest, RequestError> {
        let p = |index: usize, why| {
            op.params.get(index).ok_or(RequestError::BadParameter {
                op: op.code.0,
                index,
                why,
            })
        };
        let code16 = |index: usize| {
            let v = p(index, "property code missing")?;
            u16::try_from(v)
                .map(PropertyCode)
                .map_err(|_| RequestError::BadParameter {
                    op: op.code.0,
                    index,
                    why: "property code above 0xFFFF",
                })
        };
        let data = || {
            data.map(<[u8]>::to_vec)
                .ok_or(RequestError::MissingData(op.code.0))
        };
        Ok(match op.code {
            op::SDIO_CONNECT => SdioRequest::Connect {
                phase: p(0, "phase missing")?,
            },
            op::SDIO_GET_EXT_DEVICE_INFO => SdioRequest::GetExtDeviceInfo {
                version: SdioVersion(u16::try_from(p(0, "version missing")?).map_err(|_| {
                    RequestError::BadParameter {
                        op: op.code.0,
                        index: 0,
                        why: "version above 0xFFFF",
                    }
                })?),
            },
            op::SDIO_SET_EXT_DEVICE_PROP_VALUE => SdioRequest::SetExtDevicePropValue {
                code: code16(0)?,
                data: data()?,
            },
            op::SDIO_CONTROL_DEVICE => SdioRequest::ControlDevice {
                code: code16(0)?,
                data: data()?,
            },
            op::SDIO_GET_ALL_EXT_DEVICE_PROP_INFO => SdioRequest::GetAllExtDevicePropInfo {
                only_changed: op.params.get(0) == Some(1),
            },
            op::SDIO_GET_EXT_DEVICE_PROP => SdioRequest::GetExtDeviceProp { code: code16(0)? },
            other => return Err(RequestError::NotSdio(other.0)),
        })
    }
}

/// Reads a value of type `dt` from a host's data phase, leniently: the payload may be longer
/// than the type (hosts pad or widen) and its low bytes are used; strings are read as PTP strings.
pub fn value_from_data(data: &[u8], dt: DataType) -> Result<Value, RequestError> {
    let too_short = RequestError::DataTooShort {
        len: data.len(),
        data_type: dt,
    };
    match dt.size() {
        Some(n) => {
            let head = data.get(..n).ok_or(too_short)?;
            Value::decode(&mut Reader::new(head), dt).map_err(|_| RequestError::DataTooShort {
                len: data.len(),
                data_type: dt,
            })
        }
        None => Value::decode(&mut Reader::new(data), dt).map_err(|_| too_short),
    }
}

/// Reads a 0x9207 step or button value: a signed integer as wide as the data (1, 2 or 4 bytes,
/// as libgphoto2, indigo and PTPWebcam send them respectively).
pub fn signed_from_data(data: &[u8]) -> Option<i32> {
    match *data {
        [a] => Some(i32::from(a as i8)),
        [a, b] => Some(i32::from(i16::from_le_bytes([a, b]))),
        [a, b, c, d, ..] => Some(i32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonyctl_ptp::UsbContainer;

    #[test]
    fn requests_round_trip_through_operations() {
        for r in [
            SdioRequest::Connect { phase: 3 },
            SdioRequest::GetExtDeviceInfo {
                version: SdioVersion::V300,
            },
            SdioRequest::set(PropertyCode(0xD25A), &Value::U8(1)).unwrap(),
            SdioRequest::button(PropertyCode(0xD2C1), true),
            SdioRequest::step(PropertyCode(0xD20D), -3),
            SdioRequest::GetAllExtDevicePropInfo {
                only_changed: false,
            },
            SdioRequest::GetAllExtDevicePropInfo { only_changed: true },
            SdioRequest::GetExtDeviceProp {
                code: PropertyCode(0x5007),
            },
        ] {
            let op = r.operation(5);
            assert_eq!(SdioRequest::from_operation(&op, r.data()).unwrap(), r);
        }
    }

    #[test]
    fn matches_the_real_request_bytes() {
        // A7S III: SDIOConnect(3,0,0) and 0x9209 with no parameter; A6000: 0x9207(0xD2C7) + u16 2.
        let op = SdioRequest::Connect { phase: 3 }.operation(4);
        assert_eq!(op.params.as_slice(), [3, 0, 0]);
        let op = SdioRequest::GetAllExtDevicePropInfo {
            only_changed: false,
        }
        .operation(10);
        assert_eq!(
            UsbContainer::command(&op).encode().unwrap(),
            [0x0c, 0, 0, 0, 1, 0, 0x09, 0x92, 0x0a, 0, 0, 0]
        );
        let press = SdioRequest::button(PropertyCode(0xD2C7), true);
        assert_eq!(press.data(), Some(&[2u8, 0][..]));
    }

    #[test]
    fn lenient_data_reading() {
        assert_eq!(
            value_from_data(&[1], DataType::UINT8).unwrap(),
            Value::U8(1)
        );
        assert_eq!(
            value_from_data(&[1, 0], DataType::UINT8).unwrap(),
            Value::U8(1)
        );
        assert_eq!(
            value_from_data(&[0x18, 0x01, 0, 0], DataType::UINT16).unwrap(),
            Value::U16(0x118)
        );
        assert!(value_from_data(&[1], DataType::UINT16).is_err());
        assert_eq!(signed_from_data(&[0xFF]), Some(-1));
        assert_eq!(signed_from_data(&[0xFD, 0xFF]), Some(-3));
        assert_eq!(signed_from_data(&[7, 0, 0, 0]), Some(7));
        assert_eq!(signed_from_data(&[]), None);
        let op = Operation {
            code: op::SDIO_SET_EXT_DEVICE_PROP_VALUE,
            transaction_id: 1,
            params: Params::NONE,
        };
        assert!(matches!(
            SdioRequest::from_operation(&op, Some(&[1])),
            Err(RequestError::BadParameter { .. })
        ));
    }
}
