//! The property table and its JSON form, shared by `decode` (a 0x9209 reply from a file) and
//! `props` (a camera's live settings).

use sonyctl_sony::codes::describe;
use sonyctl_sony::{PropertyReport, SonyDevicePropDesc, SonyForm, format_value, property_name};

use crate::text::Table;

/// At most this many values are listed per row of the table; JSON has them all.
const TABLE_VALUES: usize = 12;

/// Serialises one [`PropertyReport`] per descriptor as it goes, never all of them at once.
pub struct Reports<'a>(pub &'a [SonyDevicePropDesc]);

impl serde::Serialize for Reports<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(PropertyReport::new))
    }
}

/// The table: code, name, value, access, type, the values settable now.
pub fn table(properties: &[SonyDevicePropDesc]) -> String {
    let mut table = Table::new(&["CODE", "NAME", "VALUE", "ACCESS", "TYPE", "SETTABLE VALUES"]);
    for d in properties {
        let show = |v: &sonyctl_ptp::Value| format_value(d.code, v);
        let access = if d.get_set.is_control() {
            d.get_set.label()
        } else if d.is_settable() {
            "rw".into()
        } else {
            format!("ro ({})", d.enabled.label())
        };
        // Only the values shown are formatted: a list can hold 65535 of them.
        let values = match &d.form {
            SonyForm::None => String::new(),
            SonyForm::Range { min, max, step } => {
                format!("{} .. {} step {step}", show(min), show(max))
            }
            SonyForm::Enumeration { settable, all } => {
                let mut s: Vec<String> = settable.iter().take(TABLE_VALUES).map(show).collect();
                if settable.len() > TABLE_VALUES {
                    s.push(format!("… ({} in all)", settable.len()));
                }
                let mut s = s.join(", ");
                if settable.len() != all.len() {
                    s += &format!(" [{} of {} possible]", settable.len(), all.len());
                }
                s
            }
        };
        table.row(vec![
            format!("{:#06X}", d.code.0),
            describe(property_name(d.code), d.code.0),
            show(&d.current),
            access,
            d.data_type.to_string(),
            values,
        ]);
    }
    table.render()
}
