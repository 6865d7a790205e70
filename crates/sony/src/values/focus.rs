//! 0xD213, the focus indication.

use std::fmt;

/// What 0xD213 says about focus (`sony-ptp.md` §6.2 row D213; indigo waits for ≠ 1 and treats
/// 3 as no focus; Sony's Camera Remote SDK names the tracking states).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FocusIndication {
    /// 1: not focused (yet).
    NotFocused,
    /// 2: focus locked.
    Focused,
    /// 3: the camera could not focus.
    Failed,
    /// 5: tracking.
    Tracking,
    /// 6: tracking, in focus.
    TrackingFocused,
    /// 7: tracking failed.
    TrackingFailed,
    /// 8: unpaused.
    Unpaused,
    /// 9: paused.
    Paused,
    /// Any other value.
    Other(u8),
}

/// The raw value of each named state (the labels are `format_value`'s table).
const VALUES: &[(u8, FocusIndication)] = &[
    (1, FocusIndication::NotFocused),
    (2, FocusIndication::Focused),
    (3, FocusIndication::Failed),
    (5, FocusIndication::Tracking),
    (6, FocusIndication::TrackingFocused),
    (7, FocusIndication::TrackingFailed),
    (8, FocusIndication::Unpaused),
    (9, FocusIndication::Paused),
];

impl FocusIndication {
    /// From the raw u8 value.
    pub fn from_raw(raw: u8) -> FocusIndication {
        VALUES
            .iter()
            .find(|&&(v, _)| v == raw)
            .map_or(FocusIndication::Other(raw), |&(_, f)| f)
    }

    /// From a property value of any integer type (values above 0xFF are no indication).
    pub fn from_value(raw: u64) -> Option<FocusIndication> {
        u8::try_from(raw).ok().map(FocusIndication::from_raw)
    }

    /// The raw u8 value.
    pub fn to_raw(self) -> u8 {
        match self {
            FocusIndication::Other(v) => v,
            known => VALUES
                .iter()
                .find(|&&(_, f)| f == known)
                .map_or(0, |&(v, _)| v),
        }
    }

    /// Focus is locked (2, or 6 when tracking).
    pub fn is_focused(self) -> bool {
        matches!(
            self,
            FocusIndication::Focused | FocusIndication::TrackingFocused
        )
    }

    /// The camera gave up focusing (3, or 7 when tracking).
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            FocusIndication::Failed | FocusIndication::TrackingFailed
        )
    }
}

impl fmt::Display for FocusIndication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = self.to_raw();
        match crate::format::focus_label(raw) {
            Some(label) => f.write_str(label),
            None => write!(f, "{raw:#04X}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_raw_value_round_trips() {
        for raw in 0..=u8::MAX {
            let f = FocusIndication::from_raw(raw);
            assert_eq!(f.to_raw(), raw);
            assert_eq!(f.is_focused(), matches!(raw, 2 | 6));
            assert_eq!(f.is_failed(), matches!(raw, 3 | 7));
            assert_eq!(
                matches!(f, FocusIndication::Other(_)),
                !matches!(raw, 1..=3 | 5..=9)
            );
        }
        assert_eq!(FocusIndication::from_value(0x102), None);
        assert_eq!(FocusIndication::from_raw(2).to_string(), "Focused");
        assert_eq!(FocusIndication::from_raw(4).to_string(), "0x04");
    }
}
