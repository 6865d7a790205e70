//! A display-ready view of a property descriptor: name, raw and human values, settable values.
//! `sonyctl decode --json` prints these, and so will `sonyctl props --json`.

use sonyctl_ptp::Value;

use crate::codes::{ALIASES, property_name};
use crate::format::format_value;
use crate::prop_info::{SonyDevicePropDesc, SonyForm};

/// Every alias of property `code`, in [`ALIASES`]'s order.
fn aliases_of(code: u16) -> Vec<&'static str> {
    ALIASES
        .iter()
        .filter(|&&(_, c)| c == code)
        .map(|&(a, _)| a)
        .collect()
}

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
    /// The short names `sonyctl get/set` accept for it ([`crate::codes::ALIASES`]), in that
    /// table's order; empty (and left out of JSON) for a property without one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<&'static str>,
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
            aliases: aliases_of(d.code.0),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prop_info::{Enabled, GetSet};
    use sonyctl_ptp::{DataType, PropertyCode};

    fn report(code: u16) -> PropertyReport {
        PropertyReport::new(&SonyDevicePropDesc {
            code: PropertyCode(code),
            data_type: DataType::UINT16,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U16(0),
            current: Value::U16(0),
            form: SonyForm::None,
        })
    }

    /// A report names the aliases that resolve to its code, and only those; JSON leaves the
    /// field out for a property without one.
    #[test]
    fn a_report_carries_the_aliases_of_its_code() {
        let shutter = report(0xD20D);
        assert_eq!(shutter.aliases, ["shutter", "shutter-speed"]);
        for alias in &shutter.aliases {
            assert_eq!(
                crate::codes::property_by_name(alias),
                Some(PropertyCode(0xD20D))
            );
        }
        assert_eq!(report(0x500E).aliases, ["program", "mode"]);
        let json = serde_json::to_value(report(0xD20D)).unwrap_or_default();
        assert_eq!(
            json["aliases"],
            serde_json::json!(["shutter", "shutter-speed"])
        );
        let none = report(0xD2FE);
        assert!(none.aliases.is_empty());
        let json = serde_json::to_value(none).unwrap_or_default();
        assert!(json.get("aliases").is_none(), "{json}");
    }
}
