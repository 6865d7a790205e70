//! 0xD218, the battery level in percent.

use std::fmt;

use sonyctl_ptp::{DataType, Value};

/// What 0xD218 says about the battery (`sony-ptp.md` §6.2 row D218, §11 row 25): percent
/// 0 to 100, or −1 when the camera does not know. Most bodies send INT8; some protocol-200
/// bodies in mode 2 send UINT8, where the same byte reads 255. The data type is the
/// descriptor's, never assumed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BatteryRemaining {
    /// −1 (INT8) or 255 (UINT8): the camera does not know.
    Unknown,
    /// Any other value, as sent (a body outside 0 to 100 is shown as it says, not clamped).
    Level(i64),
}

impl BatteryRemaining {
    /// From the property's value; `None` for a value that is no integer (or does not fit 64
    /// bits).
    pub fn from_value(value: &Value) -> Option<BatteryRemaining> {
        let raw = value.as_i64()?;
        let unknown = match value.data_type() {
            DataType::INT8 | DataType::UINT8 => raw == Self::unknown_raw(value.data_type()),
            _ => false,
        };
        Some(if unknown {
            BatteryRemaining::Unknown
        } else {
            BatteryRemaining::Level(raw)
        })
    }

    /// The raw value meaning "unknown" in data type `data_type`: 255 in UINT8, −1 otherwise.
    pub fn unknown_raw(data_type: DataType) -> i64 {
        if data_type == DataType::UINT8 {
            255
        } else {
            -1
        }
    }

    /// The level as a percentage when it is one (0 to 100); `None` when unknown or out of
    /// range.
    pub fn percent(self) -> Option<u8> {
        match self {
            BatteryRemaining::Level(v) => u8::try_from(v).ok().filter(|p| *p <= 100),
            BatteryRemaining::Unknown => None,
        }
    }
}

impl fmt::Display for BatteryRemaining {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatteryRemaining::Unknown => f.write_str("unknown"),
            BatteryRemaining::Level(v) => write!(f, "{v}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_minus_one_in_its_data_type() {
        assert_eq!(
            BatteryRemaining::from_value(&Value::I8(-1)),
            Some(BatteryRemaining::Unknown)
        );
        assert_eq!(
            BatteryRemaining::from_value(&Value::U8(255)),
            Some(BatteryRemaining::Unknown)
        );
        // Wider types have no "unknown" byte: the value is shown as sent.
        assert_eq!(
            BatteryRemaining::from_value(&Value::I16(-1)),
            Some(BatteryRemaining::Level(-1))
        );
        assert_eq!(
            BatteryRemaining::from_value(&Value::U16(255)),
            Some(BatteryRemaining::Level(255))
        );
        assert_eq!(BatteryRemaining::from_value(&Value::Str("71".into())), None);
    }

    #[test]
    fn percent_only_within_0_to_100() {
        let p = |v: Value| BatteryRemaining::from_value(&v).and_then(BatteryRemaining::percent);
        assert_eq!(p(Value::I8(71)), Some(71));
        assert_eq!(p(Value::U8(0)), Some(0));
        assert_eq!(p(Value::U8(100)), Some(100));
        assert_eq!(p(Value::U8(101)), None);
        assert_eq!(p(Value::I8(-1)), None);
        assert_eq!(p(Value::U8(255)), None);
        assert_eq!(p(Value::I16(-5)), None);
    }

    #[test]
    fn shown_as_percent_or_unknown() {
        let show = |v: Value| BatteryRemaining::from_value(&v).map(|b| b.to_string());
        assert_eq!(show(Value::I8(71)).as_deref(), Some("71%"));
        assert_eq!(show(Value::U8(255)).as_deref(), Some("unknown"));
        assert_eq!(show(Value::I8(-1)).as_deref(), Some("unknown"));
        assert_eq!(show(Value::I16(-1)).as_deref(), Some("-1%"));
    }
}
