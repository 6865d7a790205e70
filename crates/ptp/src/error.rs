//! Decode and encode errors. A decode error always names the structure and the absolute offset.

use std::fmt;

/// Bytes that do not form the structure they were decoded as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{structure}{} at offset {offset:#x}: {kind}", context.as_deref().unwrap_or(""))]
pub struct DecodeError {
    /// The structure being decoded, e.g. `"DeviceInfo"` or `"SonyDevicePropDesc"`.
    pub structure: &'static str,
    /// Which item of a list, when the structure repeats (e.g. ` 0x5010 (from offset 0xd3)`).
    pub context: Option<String>,
    /// Absolute offset in the input where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// Adds which item of a list failed.
    pub fn with_context(mut self, context: String) -> Self {
        self.context = Some(context);
        self
    }
}

/// What was wrong with the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended inside the structure.
    Truncated {
        /// Bytes the field needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The structure ended but bytes were left over.
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A count claims more items than the remaining bytes can hold.
    CountTooLarge {
        /// The count as read.
        count: u64,
        /// Bytes that were left.
        available: usize,
    },
    /// A length field disagrees with the bytes actually present.
    LengthMismatch {
        /// What the length field says.
        declared: u64,
        /// What the input holds.
        actual: u64,
    },
    /// A data type code that is UNDEF (0x0000) or not a PTP data type.
    InvalidDataType(u16),
    /// A property code that appears twice where each must be unique.
    DuplicateProperty(u16),
    /// A field holds a value the structure does not allow.
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value as read.
        value: u64,
    },
    /// Anything else, described.
    Invalid(String),
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => write!(
                f,
                "truncated: needs {needed} more byte(s), only {available} left"
            ),
            Self::TrailingBytes { count } => {
                write!(
                    f,
                    "{count} unexpected byte(s) after the end of the structure"
                )
            }
            Self::CountTooLarge { count, available } => write!(
                f,
                "count {count} cannot fit in the {available} byte(s) that are left"
            ),
            Self::LengthMismatch { declared, actual } => write!(
                f,
                "length field says {declared} byte(s) but the input has {actual} ({})",
                if declared > actual {
                    "truncated"
                } else {
                    "oversized"
                }
            ),
            Self::InvalidDataType(code) => write!(f, "invalid data type {code:#06x}"),
            Self::DuplicateProperty(code) => {
                write!(f, "property {code:#06X} appears more than once")
            }
            Self::InvalidValue { field, value } => write!(f, "invalid {field} {value:#x}"),
            Self::Invalid(why) => f.write_str(why),
        }
    }
}

/// A value that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A PTP string holds at most 254 UTF-16 code units plus the NUL.
    #[error("string of {0} UTF-16 units is longer than the 254 a PTP string can hold")]
    StringTooLong(usize),
    /// An array or list holds more items than its count field can express.
    #[error("{0} items do not fit the count field")]
    TooManyItems(usize),
    /// A value does not have the data type the structure declares.
    #[error("value does not match data type {0:#06x}")]
    TypeMismatch(u16),
    /// A container or packet is larger than its length field can express.
    #[error("{0} bytes do not fit a 32-bit length field")]
    TooLarge(usize),
    /// More parameters than the container allows.
    #[error("{0} parameters, at most {1} allowed")]
    TooManyParams(usize, usize),
    /// A part is larger than the room its layout gives it, or parts overlap.
    #[error("{what}: {len} bytes do not fit the {room} bytes the layout gives it")]
    DoesNotFit {
        /// The part, e.g. `focal-frame info`.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The room it has.
        room: usize,
    },
}
