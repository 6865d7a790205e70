//! Formatting: any value of any property as text.

use sonyctl_ptp::{DataType, PropertyCode, Value};

use super::labels::*;
use super::{ValueKind, value_kind};

pub(super) fn table_label(table: &[(u32, &'static str)], v: u32) -> Option<&'static str> {
    table.iter().find(|&&(c, _)| c == v).map(|&(_, l)| l)
}

/// Shows a rational `num/den` seconds value as `1/250`, `2.5"`, `30"`.
pub(super) fn format_seconds(num: u64, den: u64) -> Option<String> {
    if den == 0 {
        return None;
    }
    if num == 1 && den > 1 {
        return Some(format!("1/{den}"));
    }
    if num % den == 0 {
        return Some(format!("{}\"", num / den));
    }
    if (num * 10) % den == 0 {
        let tenths = num * 10 / den;
        return Some(format!("{}.{}\"", tenths / 10, tenths % 10));
    }
    Some(format!("{num}/{den}\""))
}

pub(super) fn format_compensation(v: i64) -> String {
    let sign = match v {
        0 => "",
        v if v > 0 => "+",
        _ => "-",
    };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 1000, a % 1000);
    let frac = if frac % 100 == 0 {
        format!("{}", frac / 100)
    } else if frac % 10 == 0 {
        format!("{:02}", frac / 10)
    } else {
        format!("{frac:03}")
    };
    format!("{sign}{int}.{frac} EV")
}

pub(super) fn format_iso(v: u32) -> String {
    let base = v & 0x00FF_FFFF;
    let mode = (v >> 24) & 0xF;
    let ext = v >> 28;
    let value = if base == 0x00FF_FFFF {
        "AUTO".to_string()
    } else {
        base.to_string()
    };
    let prefix = match mode {
        0 => "",
        1 => "MFNR ",
        2 => "MFNR High ",
        _ => return format!("{v:#010X}"),
    };
    match ext {
        0 => format!("{prefix}{value}"),
        1 => format!("{prefix}{value} (ext)"),
        _ => format!("{v:#010X}"),
    }
}

pub(super) fn format_f_number(v: u16) -> String {
    match v {
        0xFFFD => "closed".into(),
        0xFFFE => "--".into(),
        0xFFFF => "n/a".into(),
        v if v < 1000 || v % 100 != 0 => {
            format!("f/{}.{}", v / 100, (v % 100) / 10)
                + &if v % 10 != 0 {
                    format!("{}", v % 10)
                } else {
                    String::new()
                }
        }
        v => format!("f/{}", v / 100),
    }
}

pub(super) fn hex_label(v: u64, dt: DataType) -> String {
    let width = dt.size().unwrap_or(2) * 2 + 2;
    format!("{v:#0width$X}")
}

/// The human form of `value` for property `code`.
pub fn format_value(code: PropertyCode, value: &Value) -> String {
    let raw = value.as_u64();
    let dt = value.data_type();
    match (value_kind(code), value) {
        (_, Value::Str(s)) => s.clone(),
        (ValueKind::ShutterSpeed, _) => match raw {
            Some(0) => "BULB".into(),
            Some(0xFFFF_FFFF) => "--".into(),
            Some(v) if v <= u64::from(u32::MAX) => {
                format_seconds(v >> 16, v & 0xFFFF).unwrap_or_else(|| hex_label(v, dt))
            }
            _ => value.to_string(),
        },
        (ValueKind::ExtendedShutterSpeed, _) => match raw {
            Some(0) => "BULB".into(),
            Some(u64::MAX) => "--".into(),
            Some(v) => format_seconds(v >> 32, v & 0xFFFF_FFFF).unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::FNumber, _) => match raw.and_then(|v| u16::try_from(v).ok()) {
            Some(v) => format_f_number(v),
            None => value.to_string(),
        },
        (ValueKind::Iso, _) => match raw.and_then(|v| u32::try_from(v).ok()) {
            Some(v) => format_iso(v),
            None => value.to_string(),
        },
        (ValueKind::Compensation, _) => match value.as_i64() {
            Some(v) => format_compensation(v),
            None => value.to_string(),
        },
        (ValueKind::ColorTemperature, _) => match raw {
            Some(0) => "n/a".into(),
            Some(v) => format!("{v} K"),
            None => value.to_string(),
        },
        (ValueKind::BatteryPercent, _) => match value.as_i64() {
            Some(-1) | Some(255) if dt == DataType::UINT8 || dt == DataType::INT8 => {
                "unknown".into()
            }
            Some(v) => format!("{v}%"),
            None => value.to_string(),
        },
        (ValueKind::PendingImages, _) => match raw {
            Some(0) => "none".into(),
            Some(1) => "processing".into(),
            Some(v) if (0x8000..0x8100).contains(&v) => format!("{} ready", v - 0x8000),
            Some(v) => hex_label(v, dt),
            None => value.to_string(),
        },
        (ValueKind::Table(t), _) => match raw {
            Some(v) => u32::try_from(v)
                .ok()
                .and_then(|v| table_label(t, v))
                .map(str::to_string)
                .unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::CategorisedTable(t, _), _) => match raw {
            Some(v) => table_label(t, (v & 0xFFFF) as u32)
                .map(str::to_string)
                .unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::DriveMode, _) => match raw {
            Some(v) => {
                let low = (v & 0xFFFF) as u16;
                table_label(DRIVE_MODE, low.into())
                    .map(str::to_string)
                    .or_else(|| bracket_label(low))
                    .unwrap_or_else(|| hex_label(v, dt))
            }
            None => value.to_string(),
        },
        (ValueKind::Plain, _) => value.to_string(),
    }
}
