//! Human formatting **and parsing** of property values: `1/250`, `2.5"`, `BULB`, `f/5.6`, `AUTO`,
//! `+0.7 EV`, `Daylight`, `RAW+JPEG`, …
//!
//! [`format_value`] shows any value of any property; codes without a special form print as plain
//! numbers (or hex labels for enumerated codes the tables do not know). [`parse_value`] turns what
//! a user typed into the wire value, using the camera's own descriptor when given: its data type,
//! and its value lists to pick the exact encoding (the camera lists 30" as 300/10, ISO 50 with the
//! extended flag, exposure program with its v300 category).

mod display;
mod duration;
mod labels;
mod parse;

use sonyctl_ptp::{DataType, PropertyCode};

pub use display::format_value;
pub use duration::parse_duration;
use labels::*;
pub(crate) use parse::parse_rational;
pub use parse::parse_value;

/// A value a user typed that cannot be turned into a property value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text means nothing for this property.
    #[error("{text:?} is not a valid {what}")]
    Invalid {
        /// What the user typed.
        text: String,
        /// What kind of value was expected.
        what: &'static str,
    },
    /// The number does not fit the property's data type.
    #[error("{text:?} does not fit the property's data type {data_type}")]
    OutOfRange {
        /// What the user typed.
        text: String,
        /// The data type.
        data_type: DataType,
    },
}

/// How a property's values are shown and read.
#[derive(Copy, Clone, Debug)]
#[non_exhaustive]
pub enum ValueKind {
    /// 0xD20D: u32 `numerator << 16 | denominator`; 0 = BULB.
    ShutterSpeed,
    /// 0xD19F: u64 `numerator << 32 | denominator`.
    ExtendedShutterSpeed,
    /// 0x5007: f × 100.
    FNumber,
    /// 0xD21E: 24-bit ISO (0xFFFFFF AUTO), multi-frame NR in bits 24–27, extended in bits 28–31.
    Iso,
    /// EV × 1000 (exposure and flash compensation).
    Compensation,
    /// Kelvin.
    ColorTemperature,
    /// Percent, −1 unknown.
    BatteryPercent,
    /// 0xD215: [`PendingImages`](crate::values::PendingImages).
    PendingImages,
    /// A table of labels matched on the full value.
    Table(&'static [(u32, &'static str)]),
    /// A table of labels matched on the low 16 bits (protocol 300 puts a category above them).
    CategorisedTable(&'static [(u32, &'static str)], fn(u16) -> u32),
    /// 0x5013 drive mode: a table plus bracketing codes `0x8Nss`.
    DriveMode,
    /// Plain numbers or strings.
    Plain,
}

/// The label of a 0xD213 focus indication.
pub(crate) fn focus_label(raw: u8) -> Option<&'static str> {
    display::table_label(FOCUS_INDICATION, raw.into())
}

/// How the values of `code` are shown and read.
pub fn value_kind(code: PropertyCode) -> ValueKind {
    use ValueKind::*;
    match code.0 {
        0xD20D => ShutterSpeed,
        0xD19F => ExtendedShutterSpeed,
        0x5007 => FNumber,
        0xD21E => Iso,
        0x5010 | 0xD200 => Compensation,
        0xD20F => ColorTemperature,
        0xD218 => BatteryPercent,
        0xD215 => PendingImages,
        0x5005 => Table(WHITE_BALANCE),
        0x500A => Table(FOCUS_MODE),
        0x500B => Table(METERING),
        0x500C => Table(FLASH_MODE),
        0x500E => CategorisedTable(EXPOSURE_PROGRAM, |c| {
            crate::values::ExposureProgram::with_v300_category(c).0
        }),
        0x5013 => DriveMode,
        0x5004 => Table(COMPRESSION),
        0xD253 => Table(FILE_FORMAT),
        0xD252 => Table(JPEG_QUALITY),
        0xD203 => Table(IMAGE_SIZE),
        0xD211 => Table(ASPECT_RATIO),
        0xD213 => Table(FOCUS_INDICATION),
        0xD20E => Table(BATTERY_INDICATOR),
        0xD222 => Table(SAVE_DESTINATION),
        0xD25A => Table(PRIORITY_KEY),
        0xD221 => Table(LIVE_VIEW_STATUS),
        0xD26A => Table(LIVE_VIEW_QUALITY),
        0xD21D => Table(MOVIE_STATE),
        0xD217 | 0xD21F | 0xD24E => Table(LOCK_INDICATION),
        c if crate::values::is_button(PropertyCode(c)) => Table(BUTTON),
        0xD0D9 | 0xD0DB => Table(ON_OFF_12),
        0xD0DF => Table(SHUTTER_TYPE),
        0xD231 => Table(LIVE_VIEW_EFFECT),
        0xD201 => Table(DRO),
        0xD22C => Table(FOCUS_AREA),
        0xD268 => Table(PC_SAVE_IMAGE_SIZE),
        0xD269 => Table(PC_SAVE_IMAGE_FORMAT),
        _ => Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prop_info::{Enabled, GetSet, SonyDevicePropDesc, SonyForm};
    use sonyctl_ptp::Value;

    fn f(code: u16, v: Value) -> String {
        format_value(PropertyCode(code), &v)
    }

    #[test]
    fn shutter_speed_forms() {
        assert_eq!(f(0xD20D, Value::U32(0)), "BULB");
        assert_eq!(f(0xD20D, Value::U32(0x012C_000A)), "30\"");
        assert_eq!(f(0xD20D, Value::U32(0x0019_000A)), "2.5\"");
        assert_eq!(f(0xD20D, Value::U32(0x0008_000A)), "0.8\"");
        assert_eq!(f(0xD20D, Value::U32(0x0001_00FA)), "1/250");
        assert_eq!(f(0xD20D, Value::U32(0x0001_0003)), "1/3");
        assert_eq!(f(0xD20D, Value::U32(0xFFFF_FFFF)), "--");
        assert_eq!(f(0xD19F, Value::U64(0x12C_0000_000A)), "30\"");
        assert_eq!(f(0xD19F, Value::U64((1 << 32) | 8000)), "1/8000");
        let p = |t| parse_value(PropertyCode(0xD20D), t, DataType::UINT32, None).unwrap();
        assert_eq!(p("1/250"), Value::U32(0x0001_00FA));
        assert_eq!(p("2.5\""), Value::U32(0x0019_000A));
        assert_eq!(p("30\""), Value::U32(0x012C_000A));
        assert_eq!(p("30"), Value::U32(0x012C_000A));
        assert_eq!(p("bulb"), Value::U32(0));
        let p64 = parse_value(PropertyCode(0xD19F), "30\"", DataType::UINT64, None).unwrap();
        assert_eq!(p64, Value::U64(0x12C_0000_000A));
        assert!(parse_value(PropertyCode(0xD20D), "fast", DataType::UINT32, None).is_err());
        // Huge numbers are out of range, never an overflow.
        for huge in [
            "18446744073709551615",
            "18446744073709551615/7",
            "1844674407370955161.5",
        ] {
            assert!(parse_value(PropertyCode(0xD20D), huge, DataType::UINT32, None).is_err());
            assert!(parse_value(PropertyCode(0x5007), huge, DataType::UINT16, None).is_err());
            assert!(parse_value(PropertyCode(0x5010), huge, DataType::INT16, None).is_err());
        }
        let ready = "170141183460469231731687303715884105727 ready";
        assert!(parse_value(PropertyCode(0xD215), ready, DataType::UINT16, None).is_err());
        assert!(parse_value(PropertyCode(0xD215), "-5 ready", DataType::UINT16, None).is_err());
        for huge in [
            "9223372036854775.5",
            "18446744073709551/2",
            "-9223372036854775.5",
        ] {
            assert!(parse_value(PropertyCode(0x5010), huge, DataType::INT16, None).is_err());
        }
        // Seconds use tenths, as the cameras encode them.
        let p = |t| parse_value(PropertyCode(0xD20D), t, DataType::UINT32, None).unwrap();
        assert_eq!(p("1\""), Value::U32(0x000A_000A));
        assert_eq!(p("0.5\""), Value::U32(0x0005_000A));
        assert_eq!(p("1/2"), Value::U32(0x0005_000A));
        assert_eq!(p("1/3"), Value::U32(0x0001_0003));
    }

    #[test]
    fn f_number_iso_ev() {
        assert_eq!(f(0x5007, Value::U16(560)), "f/5.6");
        assert_eq!(f(0x5007, Value::U16(500)), "f/5.0");
        assert_eq!(f(0x5007, Value::U16(1100)), "f/11");
        assert_eq!(f(0x5007, Value::U16(0xFFFE)), "--");
        assert_eq!(f(0xD21E, Value::U32(crate::values::Iso::AUTO.0)), "AUTO");
        assert_eq!(f(0xD21E, Value::U32(800)), "800");
        assert_eq!(f(0xD21E, Value::U32(0x1000_0032)), "50 (ext)");
        assert_eq!(f(0xD21E, Value::U32(0x01FF_FFFF)), "MFNR AUTO");
        assert_eq!(f(0xD21E, Value::U32(0x0200_0064)), "MFNR High 100");
        assert_eq!(f(0x5010, Value::I16(700)), "+0.7 EV");
        assert_eq!(f(0x5010, Value::I16(-300)), "-0.3 EV");
        assert_eq!(f(0x5010, Value::I16(0)), "0.0 EV");
        assert_eq!(f(0x5010, Value::I16(1)), "+0.001 EV");
        let p = |c: u16, t, dt| parse_value(PropertyCode(c), t, dt, None).unwrap();
        assert_eq!(p(0x5007, "f/5.6", DataType::UINT16), Value::U16(560));
        assert_eq!(p(0x5007, "F11", DataType::UINT16), Value::U16(1100));
        assert_eq!(p(0x5007, "--", DataType::UINT16), Value::U16(0xFFFE));
        assert_eq!(
            p(0xD21E, "auto", DataType::UINT32),
            Value::U32(crate::values::Iso::AUTO.0)
        );
        assert_eq!(p(0xD21E, "ISO 800", DataType::UINT32), Value::U32(800));
        assert_eq!(
            p(0xD21E, "50 (ext)", DataType::UINT32),
            Value::U32(0x1000_0032)
        );
        assert_eq!(
            p(0xD21E, "MFNR High AUTO", DataType::UINT32),
            Value::U32(0x02FF_FFFF)
        );
        assert_eq!(p(0x5010, "+0.7", DataType::INT16), Value::I16(700));
        assert_eq!(p(0x5010, "-1/3 EV", DataType::INT16), Value::I16(-300));
        assert_eq!(p(0x5010, "+2", DataType::INT16), Value::I16(2000));
        assert_eq!(p(0x5010, "+0.33", DataType::INT16), Value::I16(300));
        assert_eq!(p(0x5010, "+0.001 EV", DataType::INT16), Value::I16(1));
        assert_eq!(p(0x5007, "n/a", DataType::UINT16), Value::U16(0xFFFF));
        assert_eq!(p(0xD20F, "n/a", DataType::UINT16), Value::U16(0));
        assert_eq!(p(0x5013, "cont hi", DataType::UINT16), Value::U16(2));
        assert_eq!(p(0x5004, "RAW+JPEG", DataType::UINT8), Value::U8(0x13));
        assert_eq!(p(0x5004, "jpeg", DataType::UINT8), Value::U8(0x03));
        assert!(parse_value(PropertyCode(0xD21E), "20000000", DataType::UINT32, None).is_err());
        assert_eq!(
            p(0xD21E, "0x01000064", DataType::UINT32),
            Value::U32(0x0100_0064)
        );
    }

    #[test]
    fn every_table_label_parses_back() {
        for code in (0x5000..=0x50FFu16).chain(0xD000..=0xD3FF) {
            let kind = value_kind(PropertyCode(code));
            let (table, dt) = match kind {
                ValueKind::Table(t) => (t, DataType::UINT32),
                ValueKind::CategorisedTable(t, _) => (t, DataType::UINT16),
                ValueKind::DriveMode => (DRIVE_MODE, DataType::UINT16),
                _ => continue,
            };
            for &(raw, label) in table {
                let v = Value::U32(raw);
                assert_eq!(f(code, v.clone()), label);
                let back = parse_value(PropertyCode(code), label, dt, None).unwrap();
                assert_eq!(back.as_u64(), Some(raw.into()), "{code:#x} {label}");
            }
        }
    }

    #[test]
    fn v300_program_and_drive_keep_their_category() {
        let desc = SonyDevicePropDesc {
            code: PropertyCode(0x500E),
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(1),
            current: Value::U32(1),
            form: SonyForm::Enumeration {
                settable: vec![Value::U32(0x0001_0002), Value::U32(1)],
                all: vec![
                    Value::U32(0x0001_0002),
                    Value::U32(1),
                    Value::U32(0x0004_8000),
                ],
            },
        };
        assert_eq!(f(0x500E, Value::U32(0x0002_0003)), "A");
        let p = parse_value(PropertyCode(0x500E), "p", DataType::UINT32, Some(&desc)).unwrap();
        assert_eq!(p, Value::U32(0x0001_0002));
        let p = parse_value(PropertyCode(0x500E), "iauto", DataType::UINT32, Some(&desc)).unwrap();
        assert_eq!(p, Value::U32(0x0004_8000));
        let p = parse_value(PropertyCode(0x500E), "S", DataType::UINT32, None).unwrap();
        assert_eq!(p, Value::U32(0x0003_0004));
        assert_eq!(
            parse_value(PropertyCode(0x500E), "S", DataType::UINT16, None).unwrap(),
            Value::U16(4)
        );
        assert_eq!(
            f(0x5013, Value::U32(0x0004_8337)),
            "Bracket cont. 3 x 0.3 EV"
        );
        let p = parse_value(
            PropertyCode(0x5013),
            "Bracket cont. 3 x 0.3 EV",
            DataType::UINT32,
            None,
        )
        .unwrap();
        assert_eq!(p, Value::U32(0x0004_8337));
        assert_eq!(f(0x5013, Value::U32(0x0003_8005)), "Self-timer 2s");
    }

    #[test]
    fn descriptor_lists_decide_encoding_and_unknowns_are_hex() {
        let desc = SonyDevicePropDesc {
            code: PropertyCode(0xD21E),
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(0),
            current: Value::U32(crate::values::Iso::AUTO.0),
            form: SonyForm::Enumeration {
                settable: vec![Value::U32(0x1000_0032), Value::U32(100)],
                all: vec![Value::U32(0x1000_0032), Value::U32(100)],
            },
        };
        let p = parse_value(PropertyCode(0xD21E), "50", DataType::UINT32, Some(&desc)).unwrap();
        assert_eq!(p, Value::U32(0x1000_0032));
        assert_eq!(f(0x5005, Value::U16(0x8099)), "0x8099");
        assert_eq!(f(0xD26C, Value::U8(3)), "3");
        assert_eq!(f(0xD215, Value::U16(0x8002)), "2 ready");
        assert_eq!(f(0xD215, Value::U16(0xFFFB)), "0xFFFB (invalid)");
        assert_eq!(f(0xD218, Value::I8(-1)), "unknown");
        assert_eq!(f(0xD218, Value::I8(71)), "71%");
        assert_eq!(f(0xD20F, Value::U16(5500)), "5500 K");
        assert_eq!(
            parse_value(PropertyCode(0xD222), "pc+camera", DataType::UINT16, None).unwrap(),
            Value::U16(0x11)
        );
        assert!(matches!(
            parse_value(PropertyCode(0xD26C), "300", DataType::UINT8, None),
            Err(ParseError::OutOfRange { .. })
        ));
        assert_eq!(
            parse_value(PropertyCode(0xD26C), "0x10", DataType::UINT8, None).unwrap(),
            Value::U8(16)
        );
    }
}
