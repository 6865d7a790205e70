//! How a protocol-300 body answers a host that asks for protocol 200 (libgphoto2 before 2.5.34
//! does): the reduced table of libgphoto2's "mode 2" dumps of newer bodies (the ILCE-7RM5 dump in
//! `../shared/vectors/gphoto2_summaries/sony-a7r5.txt`, whose order the real ILCE-7RM5 0x9209 tail
//! fragment confirms), with
//! - one enumeration list (the list of every possible value),
//! - exposure program and drive mode as UINT16 (the low half of the protocol-300 code),
//! - shutter speed and aperture as ranges (fastest..30/1, smallest..largest f-number),
//! - 0x5004 CompressionSetting, derived from 0xD253 file format and 0xD252 JPEG quality,
//! - the buttons as 0x9209 descriptors (GetSet 0x81) after the battery level, as protocol-200
//!   bodies list them.

use sonyctl_ptp::{DataType, PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::{DriveMode, FNumber, ShutterSpeed};
use sonyctl_sony::{Enabled, GetSet, SonyDevicePropDesc, SonyForm};

/// Property order of the protocol-200 view (ILCE-7RM5 mode-2 dump).
const ORDER: &[u16] = &[
    0x5005, 0x500A, 0x500B, 0x500C, 0x5010, 0xD200, 0xD201, 0xD20D, 0xD20F, 0xD211, 0xD213, 0xD217,
    0xD221, 0xD21E, 0xD222, 0xD20E, 0xD218, 0x5013, 0xD203, 0xD21F, 0x5004, 0x5007, 0x500E, 0xD214,
    0xD215,
];

/// Buttons listed as descriptors, inserted after 0xD218 (as the ILCE-6000 lists them).
const BUTTONS: &[u16] = &[0xD2C1, 0xD2C2, 0xD2C3, 0xD2C8, 0xD2C7];

/// The mode's code without its protocol-300 category (exposure program and drive mode share
/// the layout).
fn low16(v: &Value) -> Value {
    Value::U16(
        v.as_u64()
            .and_then(DriveMode::from_value)
            .map_or(0, DriveMode::code),
    )
}

fn narrow(d: &SonyDevicePropDesc) -> SonyDevicePropDesc {
    let mut out = d.clone();
    if let SonyForm::Enumeration { all, .. } = &d.form {
        out.form = SonyForm::Enumeration {
            settable: all.clone(),
            all: all.clone(),
        };
    }
    if matches!(d.code, prop::EXPOSURE_PROGRAM | prop::DRIVE_MODE)
        && d.data_type == DataType::UINT32
    {
        out.data_type = DataType::UINT16;
        out.default = low16(&d.default);
        out.current = low16(&d.current);
        if let SonyForm::Enumeration { all, .. } = &d.form {
            let mut seen = Vec::new();
            for v in all.iter().map(low16) {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            out.form = SonyForm::Enumeration {
                settable: seen.clone(),
                all: seen,
            };
        }
    }
    let as_range = |values: &[Value], key: fn(&Value) -> u64| {
        let mut known: Vec<&Value> = values.iter().filter(|v| key(v) != 0).collect();
        known.sort_by_key(|v| key(v));
        Some((
            known.first()?.to_owned().clone(),
            known.last()?.to_owned().clone(),
        ))
    };
    if d.code == prop::SHUTTER_SPEED {
        // Seconds as a sortable key (BULB and values without a duration: 0, left out).
        let key = |v: &Value| {
            v.as_u64()
                .and_then(ShutterSpeed::from_value)
                .and_then(ShutterSpeed::micros)
                .unwrap_or(0)
        };
        if let Some((min, _)) = d.all_values().and_then(|a| as_range(a, key)) {
            out.form = SonyForm::Range {
                min,
                max: Value::U32(
                    ShutterSpeed::Seconds {
                        numerator: 30,
                        denominator: 1,
                    }
                    .to_raw(),
                ),
                step: Value::U32(1),
            };
        }
    }
    if d.code == prop::F_NUMBER {
        let key = |v: &Value| {
            v.as_u64()
                .and_then(FNumber::from_value)
                .filter(|f| f.is_aperture())
                .map_or(0, |f| u64::from(f.0))
        };
        if let Some((min, max)) = d.all_values().and_then(|a| as_range(a, key)) {
            out.form = SonyForm::Range {
                min,
                max,
                step: Value::U16(1),
            };
        }
    }
    out
}

/// 0x5004 from file format (0xD253: 1 RAW, 2 RAW+JPEG, 3 JPEG, 4 RAW+HEIF, 5 HEIF) and JPEG
/// quality (0xD252: 1 extra fine, 2 fine, 3 standard, 4 light).
pub fn compression_from(format: u64, quality: u64) -> u8 {
    let q = match quality {
        1 => 4,
        2 => 3,
        3 => 2,
        4 => 1,
        _ => 3,
    };
    match format {
        1 => 0x10,
        2 => 0x10 | q,
        4 => 0x40 | q,
        5 => 0x30 | q,
        _ => q,
    }
}

/// The inverse of [`compression_from`]: (file format, JPEG quality).
pub fn compression_to(v: u8) -> (u8, Option<u8>) {
    let q = |x: u8| match x & 0x0F {
        4 => 1,
        3 => 2,
        2 => 3,
        _ => 4,
    };
    match v {
        0x10 => (1, None),
        0x11..=0x14 => (2, Some(q(v))),
        0x31..=0x34 => (5, Some(q(v))),
        0x41..=0x44 => (4, Some(q(v))),
        _ => (3, Some(q(v))),
    }
}

/// The protocol-200 table of a protocol-300 property table.
pub fn view(props: &[SonyDevicePropDesc]) -> Vec<SonyDevicePropDesc> {
    let find = |c: PropertyCode| props.iter().find(|p| p.code == c);
    let mut out = Vec::new();
    for &code in ORDER {
        let code = PropertyCode(code);
        if code == prop::COMPRESSION_SETTING {
            if let (Some(f), Some(q)) = (find(prop::FILE_FORMAT), find(prop::JPEG_QUALITY)) {
                let cur = compression_from(
                    f.current.as_u64().unwrap_or(3),
                    q.current.as_u64().unwrap_or(2),
                );
                let mut list: Vec<Value> = Vec::new();
                for fv in f.all_values().unwrap_or(&[]) {
                    for qv in q.all_values().unwrap_or(&[]) {
                        let c = Value::U8(compression_from(
                            fv.as_u64().unwrap_or(0),
                            qv.as_u64().unwrap_or(0),
                        ));
                        if !list.contains(&c) {
                            list.push(c);
                        }
                    }
                }
                out.push(SonyDevicePropDesc {
                    code: prop::COMPRESSION_SETTING,
                    data_type: DataType::UINT8,
                    get_set: GetSet::READ_WRITE,
                    enabled: f.enabled,
                    default: Value::U8(cur),
                    current: Value::U8(cur),
                    form: SonyForm::Enumeration {
                        settable: list.clone(),
                        all: list,
                    },
                });
            }
            continue;
        }
        if let Some(p) = find(code) {
            out.push(narrow(p));
        }
        if code == prop::BATTERY_REMAINING {
            for &b in BUTTONS {
                out.push(SonyDevicePropDesc {
                    code: PropertyCode(b),
                    data_type: DataType::UINT16,
                    get_set: GetSet::BUTTON,
                    enabled: Enabled::ENABLED,
                    default: Value::U16(1),
                    current: Value::U16(1),
                    form: SonyForm::Enumeration {
                        settable: vec![Value::U16(1), Value::U16(2)],
                        all: vec![Value::U16(1), Value::U16(2)],
                    },
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_codes_round_trip() {
        for format in 1..=5u64 {
            for quality in 1..=4u64 {
                let c = compression_from(format, quality);
                let (f, q) = compression_to(c);
                assert_eq!(u64::from(f), format);
                if format != 1 {
                    assert_eq!(q.map(u64::from), Some(quality));
                }
            }
        }
        assert_eq!(compression_from(2, 2), 0x13, "RAW+JPEG fine");
    }
}
