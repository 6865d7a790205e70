//! A display-ready view of a property descriptor: name, raw and human values, settable values.
//! `sonyctl decode --json` prints these, and so will `sonyctl props --json`.

use sonyctl_ptp::Value;

use crate::codes::property_name;
use crate::format::format_value;
use crate::prop_info::{SonyDevicePropDesc, SonyForm};

/// A value both raw (as on the wire) and as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Shown {
    /// The raw value.
    pub value: Value,
    /// The human form.
    pub display: String,
}

/// Range form of a property.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RangeReport {
    /// Smallest value.
    pub min: Shown,
    /// Largest value.
    pub max: Shown,
    /// Step (raw).
    pub step: Value,
}

/// Everything about one property, ready to print or serialise.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PropertyReport {
    /// Property code.
    pub code: u16,
    /// Public name, or `None` (shown as hex).
    pub name: Option<&'static str>,
    /// PTP data type name (`UINT16`, `STR`, …).
    pub datatype: String,
    /// GetSet byte.
    pub get_set: u8,
    /// IsEnabled byte.
    pub enabled: u8,
    /// True when the host can set it now with 0x9205.
    pub writable: bool,
    /// Current value (raw).
    pub current: Value,
    /// Current value (human).
    pub display: String,
    /// Range form, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeReport>,
    /// Values settable now (enumeration list 1; a protocol-200 list fills both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settable: Option<Vec<Shown>>,
    /// Every value the property can take (enumeration list 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all: Option<Vec<Shown>>,
}

impl PropertyReport {
    /// Builds the report for one descriptor.
    pub fn new(d: &SonyDevicePropDesc) -> PropertyReport {
        let show = |v: &Value| Shown {
            value: v.clone(),
            display: format_value(d.code, v),
        };
        let (range, settable, all) = match &d.form {
            SonyForm::None => (None, None, None),
            SonyForm::Range { min, max, step } => (
                Some(RangeReport {
                    min: show(min),
                    max: show(max),
                    step: step.clone(),
                }),
                None,
                None,
            ),
            SonyForm::Enumeration { settable, all } => (
                None,
                Some(settable.iter().map(show).collect()),
                Some(all.iter().map(show).collect()),
            ),
        };
        PropertyReport {
            code: d.code.0,
            name: property_name(d.code),
            datatype: d.data_type.to_string(),
            get_set: d.get_set.0,
            enabled: d.enabled.0,
            writable: d.is_settable(),
            current: d.current.clone(),
            display: format_value(d.code, &d.current),
            range,
            settable,
            all,
        }
    }

    /// The name, or the code in hex.
    pub fn label(&self) -> String {
        crate::codes::describe(self.name, self.code)
    }
}
