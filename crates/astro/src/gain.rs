//! The body's ISO values as the gains an astronomy client picks from: Alpaca's `Gains` (and
//! `Gain` as an index into them), INDI's `CCD_ISO` switch.
//!
//! Only single-frame sensitivities a client can choose: AUTO is left out (a gain must be
//! known), and so are the multi-frame noise-reduction values (the body stacks several frames
//! into a JPEG, no raw frame comes out). Extended values stay (`ISO 50 (ext)`). The text of
//! each value is the Sony layer's ([`Iso`]'s display).

use sonyctl_ptp::Value;
use sonyctl_sony::SonyDevicePropDesc;
use sonyctl_sony::codes::prop::ISO;
use sonyctl_sony::values::{Iso, IsoNoiseReduction};

/// One gain: an ISO value the body lists as settable now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gain {
    /// The value as the camera sends and takes it (0xD21E).
    pub raw: u32,
    /// The Sony layer's text of it: `800`, `50 (ext)`.
    pub value: String,
    /// The label a client shows: `ISO 800`.
    pub label: String,
}

/// The gains, in the camera's order (lowest first on every body seen).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GainList {
    /// The gains; a client's index is a position here.
    pub gains: Vec<Gain>,
}

impl GainList {
    /// The settable values of an ISO (0xD21E) descriptor, without AUTO and multi-frame noise
    /// reduction; empty for another property or a descriptor without a list.
    pub fn from_desc(desc: &SonyDevicePropDesc) -> GainList {
        if desc.code != ISO {
            return GainList::default();
        }
        let gains = desc
            .settable_values()
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_u64)
            .filter_map(Iso::from_value)
            .filter(|iso| !iso.is_auto() && iso.noise_reduction() == IsoNoiseReduction::Off)
            .map(|iso| Gain {
                raw: iso.0,
                value: iso.to_string(),
                label: format!("ISO {iso}"),
            })
            .collect();
        GainList { gains }
    }

    /// The labels (Alpaca's `Gains`).
    pub fn labels(&self) -> Vec<String> {
        self.gains.iter().map(|g| g.label.clone()).collect()
    }

    /// The index of a raw value (the current ISO), or `None` when it is not a gain (AUTO).
    pub fn index_of(&self, raw: u32) -> Option<usize> {
        self.gains.iter().position(|g| g.raw == raw)
    }

    /// The gain at a client's index; `None` out of range (Alpaca's InvalidValue).
    pub fn get(&self, index: i64) -> Option<&Gain> {
        usize::try_from(index).ok().and_then(|i| self.gains.get(i))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sonyctl_ptp::{DataType, PropertyCode};
    use sonyctl_sony::{Enabled, GetSet, SonyForm};

    fn desc(code: PropertyCode, settable: &[u32]) -> SonyDevicePropDesc {
        let list: Vec<Value> = settable.iter().map(|&v| Value::U32(v)).collect();
        SonyDevicePropDesc {
            code,
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(Iso::AUTO.0),
            current: Value::U32(800),
            form: SonyForm::Enumeration {
                settable: list.clone(),
                all: list,
            },
        }
    }

    #[test]
    fn auto_and_multi_frame_values_are_left_out() {
        // The start of an ILCE-7SM3's list: AUTO, three extended, then plain values; then
        // multi-frame NR AUTO and MFNR 100.
        let list = desc(
            ISO,
            &[
                Iso::AUTO.0,
                0x1000_0028,
                0x1000_0032,
                80,
                100,
                800,
                102_400,
                0x01FF_FFFF,
                0x0100_0064,
                0x0200_0064,
            ],
        );
        let gains = GainList::from_desc(&list);
        assert_eq!(
            gains.labels(),
            [
                "ISO 40 (ext)",
                "ISO 50 (ext)",
                "ISO 80",
                "ISO 100",
                "ISO 800",
                "ISO 102400"
            ]
        );
        assert_eq!(gains.gains[4].raw, 800);
        assert_eq!(gains.gains[4].value, "800");
        assert_eq!(gains.gains[1].raw, 0x1000_0032);
        assert_eq!(gains.index_of(800), Some(4));
        assert_eq!(gains.index_of(Iso::AUTO.0), None);
        assert_eq!(gains.get(0).unwrap().raw, 0x1000_0028);
        assert_eq!(gains.get(6), None);
        assert_eq!(gains.get(-1), None);
    }

    #[test]
    fn another_property_or_no_list_gives_no_gains() {
        assert_eq!(
            GainList::from_desc(&desc(PropertyCode(0x5007), &[100])),
            GainList::default()
        );
        let mut range = desc(ISO, &[]);
        range.form = SonyForm::None;
        assert!(GainList::from_desc(&range).gains.is_empty());
        assert!(
            GainList::from_desc(&desc(ISO, &[Iso::AUTO.0]))
                .gains
                .is_empty()
        );
    }
}
