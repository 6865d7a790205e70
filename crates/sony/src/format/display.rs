//! Formatting: any value of any property as text.

use sonyctl_ptp::{DataType, PropertyCode, Value};

use super::labels::*;
use super::{ValueKind, value_kind};
use crate::values::{
    BatteryRemaining, DriveMode, ExposureCompensation, ExposureProgram, ExtendedShutterSpeed,
    FNumber, Iso, PendingImages, ShutterSpeed,
};

pub(super) fn table_label(table: &[(u32, &'static str)], v: u32) -> Option<&'static str> {
    table.iter().find(|&&(c, _)| c == v).map(|&(_, l)| l)
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
        (ValueKind::ShutterSpeed, _) => match raw.map(u32::try_from) {
            Some(Ok(v)) => ShutterSpeed::from_raw(v).map_or_else(|| "--".into(), |s| s.to_string()),
            _ => value.to_string(),
        },
        (ValueKind::ExtendedShutterSpeed, _) => match raw {
            Some(v) => ExtendedShutterSpeed(v).to_string(),
            None => value.to_string(),
        },
        (ValueKind::FNumber, _) => match raw.and_then(FNumber::from_value) {
            Some(v) => v.to_string(),
            None => value.to_string(),
        },
        (ValueKind::Iso, _) => match raw.and_then(Iso::from_value) {
            Some(v) => v.to_string(),
            None => value.to_string(),
        },
        (ValueKind::Compensation, _) => match value.as_i64() {
            Some(v) => ExposureCompensation::format_thousandths(v),
            None => value.to_string(),
        },
        (ValueKind::ColorTemperature, _) => match raw {
            Some(0) => "n/a".into(),
            Some(v) => format!("{v} K"),
            None => value.to_string(),
        },
        (ValueKind::BatteryPercent, _) => match BatteryRemaining::from_value(value) {
            Some(b) => b.to_string(),
            None => value.to_string(),
        },
        (ValueKind::PendingImages, _) => match raw.map(u16::try_from) {
            Some(Ok(v)) => PendingImages::from_raw(v).to_string(),
            Some(Err(_)) => raw.map_or_else(String::new, |v| hex_label(v, dt)),
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
            Some(v) => ExposureProgram::from_value(v)
                .and_then(|p| table_label(t, p.code().into()))
                .map(str::to_string)
                .unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::DriveMode, _) => match raw {
            Some(v) => DriveMode::from_value(v)
                .and_then(|d| {
                    table_label(DRIVE_MODE, d.code().into())
                        .map(str::to_string)
                        .or_else(|| bracket_label(d.code()))
                })
                .unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::Plain, _) => value.to_string(),
    }
}
