//! PTP data types (INT8 … UINT128, their arrays, strings) and the values they carry.
//!
//! The data type of a property always comes from the descriptor on the wire, never from a table:
//! the same property is a u16 on one body and a u32 on another.

use std::fmt;

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// A PTP data type code (PIMA 15740 §5.3). Open: any `u16` is representable, but only the
/// codes with a [`DataType::size`] or [`DataType::STR`] can be decoded.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct DataType(pub u16);

impl DataType {
    /// Undefined; never valid in a descriptor.
    pub const UNDEF: Self = Self(0x0000);
    /// Signed 8-bit.
    pub const INT8: Self = Self(0x0001);
    /// Unsigned 8-bit.
    pub const UINT8: Self = Self(0x0002);
    /// Signed 16-bit.
    pub const INT16: Self = Self(0x0003);
    /// Unsigned 16-bit.
    pub const UINT16: Self = Self(0x0004);
    /// Signed 32-bit.
    pub const INT32: Self = Self(0x0005);
    /// Unsigned 32-bit.
    pub const UINT32: Self = Self(0x0006);
    /// Signed 64-bit.
    pub const INT64: Self = Self(0x0007);
    /// Unsigned 64-bit.
    pub const UINT64: Self = Self(0x0008);
    /// Signed 128-bit.
    pub const INT128: Self = Self(0x0009);
    /// Unsigned 128-bit.
    pub const UINT128: Self = Self(0x000A);
    /// Array flag: `0x4000 | element type`.
    pub const ARRAY_FLAG: u16 = 0x4000;
    /// PTP string (u8 count + UTF-16LE).
    pub const STR: Self = Self(0xFFFF);

    /// Every scalar and array type, and STR.
    pub fn all() -> impl Iterator<Item = DataType> {
        (1..=10u16)
            .map(DataType)
            .chain((1..=10u16).map(|t| DataType(t | Self::ARRAY_FLAG)))
            .chain(std::iter::once(Self::STR))
    }

    /// Size in bytes of a scalar of this type; `None` for arrays, strings and invalid codes.
    pub fn size(self) -> Option<usize> {
        Some(match self.0 {
            0x0001 | 0x0002 => 1,
            0x0003 | 0x0004 => 2,
            0x0005 | 0x0006 => 4,
            0x0007 | 0x0008 => 8,
            0x0009 | 0x000A => 16,
            _ => return None,
        })
    }

    /// The element type if this is an array type (0x4001 … 0x400A).
    pub fn element(self) -> Option<DataType> {
        let e = DataType(self.0 & !Self::ARRAY_FLAG);
        (self.0 & Self::ARRAY_FLAG != 0 && self.0 != Self::STR.0 && e.size().is_some()).then_some(e)
    }

    /// True for a type that can be decoded: a scalar, an array of scalars, or STR.
    pub fn is_valid(self) -> bool {
        self.size().is_some() || self.element().is_some() || self == Self::STR
    }

    /// True for the signed integer types.
    pub fn is_signed(self) -> bool {
        matches!(self.0, 0x0001 | 0x0003 | 0x0005 | 0x0007 | 0x0009)
    }

    /// The smallest number of bytes a value of this type takes on the wire.
    pub fn min_wire_size(self) -> usize {
        match self.size() {
            Some(n) => n,
            None if self == Self::STR => 1,
            None => 4,
        }
    }

    /// The PIMA name: `UINT16`, `AINT8`, `STR`, or hex for anything else.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 10] = [
            "INT8", "UINT8", "INT16", "UINT16", "INT32", "UINT32", "INT64", "UINT64", "INT128",
            "UINT128",
        ];
        const ARRAY_NAMES: [&str; 10] = [
            "AINT8", "AUINT8", "AINT16", "AUINT16", "AINT32", "AUINT32", "AINT64", "AUINT64",
            "AINT128", "AUINT128",
        ];
        match self.0 {
            0x0000 => Some("UNDEF"),
            0xFFFF => Some("STR"),
            n @ 1..=10 => NAMES.get(usize::from(n) - 1).copied(),
            n @ 0x4001..=0x400A => ARRAY_NAMES.get(usize::from(n - 0x4001)).copied(),
            _ => None,
        }
    }
}

impl fmt::Debug for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{:#06X}", self.0),
        }
    }
}

/// A decoded PTP value. Integers keep their wire type so they encode back identically.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Value {
    /// INT8
    I8(i8),
    /// UINT8
    U8(u8),
    /// INT16
    I16(i16),
    /// UINT16
    U16(u16),
    /// INT32
    I32(i32),
    /// UINT32
    U32(u32),
    /// INT64
    I64(i64),
    /// UINT64
    U64(u64),
    /// INT128
    I128(i128),
    /// UINT128
    U128(u128),
    /// An array; every element has the array's element type.
    Array(DataType, Vec<Value>),
    /// STR
    Str(String),
}

impl Value {
    /// Decodes one value of type `dt`.
    pub fn decode(r: &mut Reader<'_>, dt: DataType) -> Result<Value, DecodeError> {
        Ok(match dt.0 {
            0x0001 => Value::I8(r.i8()?),
            0x0002 => Value::U8(r.u8()?),
            0x0003 => Value::I16(r.i16()?),
            0x0004 => Value::U16(r.u16()?),
            0x0005 => Value::I32(r.i32()?),
            0x0006 => Value::U32(r.u32()?),
            0x0007 => Value::I64(r.i64()?),
            0x0008 => Value::U64(r.u64()?),
            0x0009 => Value::I128(r.i128()?),
            0x000A => Value::U128(r.u128()?),
            0xFFFF => Value::Str(r.ptp_string()?),
            _ => match dt.element() {
                Some(e) => {
                    let n = r.count_u32(e.min_wire_size())?;
                    let items = (0..n)
                        .map(|_| Value::decode(r, e))
                        .collect::<Result<Vec<_>, _>>()?;
                    Value::Array(e, items)
                }
                None => return Err(r.error(DecodeErrorKind::InvalidDataType(dt.0))),
            },
        })
    }

    /// The data type this value encodes as.
    pub fn data_type(&self) -> DataType {
        match self {
            Value::I8(_) => DataType::INT8,
            Value::U8(_) => DataType::UINT8,
            Value::I16(_) => DataType::INT16,
            Value::U16(_) => DataType::UINT16,
            Value::I32(_) => DataType::INT32,
            Value::U32(_) => DataType::UINT32,
            Value::I64(_) => DataType::INT64,
            Value::U64(_) => DataType::UINT64,
            Value::I128(_) => DataType::INT128,
            Value::U128(_) => DataType::UINT128,
            Value::Array(e, _) => DataType(e.0 | DataType::ARRAY_FLAG),
            Value::Str(_) => DataType::STR,
        }
    }

    /// Appends the wire form. Arrays must hold only elements of their element type.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Value::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U8(v) => out.push(*v),
            Value::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::I128(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::U128(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Str(s) => out.put_ptp_string(s)?,
            Value::Array(e, items) => {
                let n = u32::try_from(items.len())
                    .map_err(|_| EncodeError::TooManyItems(items.len()))?;
                out.put_u32(n);
                for item in items {
                    if item.data_type() != *e {
                        return Err(EncodeError::TypeMismatch(e.0));
                    }
                    item.encode(out)?;
                }
            }
        }
        Ok(())
    }

    /// Encodes checking that the value has type `dt`.
    pub fn encode_as(&self, dt: DataType, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if self.data_type() != dt {
            return Err(EncodeError::TypeMismatch(dt.0));
        }
        self.encode(out)
    }

    /// The value as a signed 128-bit integer, for integer types.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::I8(v) => v.into(),
            Value::U8(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I64(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I128(v) => v,
            Value::U128(v) => i128::try_from(v).ok()?,
            Value::Array(..) | Value::Str(_) => return None,
        })
    }

    /// The value as `u64` if it is a non-negative integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_i128().and_then(|v| u64::try_from(v).ok())
    }

    /// The value as `i64` if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_i128().and_then(|v| i64::try_from(v).ok())
    }

    /// Builds an integer value of scalar type `dt` from `v`, if it fits.
    pub fn from_integer(dt: DataType, v: i128) -> Option<Value> {
        Some(match dt.0 {
            0x0001 => Value::I8(i8::try_from(v).ok()?),
            0x0002 => Value::U8(u8::try_from(v).ok()?),
            0x0003 => Value::I16(i16::try_from(v).ok()?),
            0x0004 => Value::U16(u16::try_from(v).ok()?),
            0x0005 => Value::I32(i32::try_from(v).ok()?),
            0x0006 => Value::U32(u32::try_from(v).ok()?),
            0x0007 => Value::I64(i64::try_from(v).ok()?),
            0x0008 => Value::U64(u64::try_from(v).ok()?),
            0x0009 => Value::I128(v),
            0x000A => Value::U128(u128::try_from(v).ok()?),
            _ => return None,
        })
    }

    /// The string, for STR values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Array(_, items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            v => match v.as_i128() {
                Some(n) => write!(f, "{n}"),
                None => match v {
                    Value::U128(n) => write!(f, "{n}"),
                    _ => Ok(()),
                },
            },
        }
    }
}

/// JSON form: integers as numbers (128-bit ones beyond 64 bits as decimal strings), strings as
/// strings, arrays as arrays.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::I8(v) => s.serialize_i8(*v),
            Value::U8(v) => s.serialize_u8(*v),
            Value::I16(v) => s.serialize_i16(*v),
            Value::U16(v) => s.serialize_u16(*v),
            Value::I32(v) => s.serialize_i32(*v),
            Value::U32(v) => s.serialize_u32(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::U64(v) => s.serialize_u64(*v),
            // JSON numbers beyond 64 bits are not portable (serde_json refuses them): a string.
            Value::I128(v) => match i64::try_from(*v) {
                Ok(small) => s.serialize_i64(small),
                Err(_) => s.serialize_str(&v.to_string()),
            },
            Value::U128(v) => match u64::try_from(*v) {
                Ok(small) => s.serialize_u64(small),
                Err(_) => s.serialize_str(&v.to_string()),
            },
            Value::Str(v) => s.serialize_str(v),
            Value::Array(_, items) => s.collect_seq(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        for dt in DataType::all() {
            let v = match dt.element() {
                Some(e) => Value::Array(e, vec![Value::from_integer(e, 1).unwrap(); 3]),
                None if dt == DataType::STR => Value::Str("ILCE-7SM3".into()),
                None => Value::from_integer(dt, -1)
                    .or_else(|| Value::from_integer(dt, 200))
                    .unwrap(),
            };
            let mut out = Vec::new();
            v.encode_as(dt, &mut out).unwrap();
            let mut r = Reader::new(&out);
            assert_eq!(Value::decode(&mut r, dt).unwrap(), v, "{dt}");
            r.finish().unwrap();
        }
    }

    #[test]
    fn undef_and_unknown_types_are_errors() {
        for code in [0x0000, 0x000B, 0x4000, 0x400B, 0x1234] {
            let err = Value::decode(&mut Reader::new(&[0; 16]), DataType(code)).unwrap_err();
            assert_eq!(err.kind, DecodeErrorKind::InvalidDataType(code));
        }
    }

    #[test]
    fn names() {
        assert_eq!(DataType::UINT16.to_string(), "UINT16");
        assert_eq!(DataType(0x4004).to_string(), "AUINT16");
        assert_eq!(DataType(0x1234).to_string(), "0x1234");
        assert!(DataType::INT8.is_signed());
    }
}
