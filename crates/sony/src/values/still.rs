//! What a still shot is written as (0xD253 file format on protocol 300, 0x5004 compression
//! setting on protocol 200) and whether the lens is focused by hand (0x500A focus mode).
//!
//! Layouts: 0xD253 is 1 RAW, 2 RAW+JPEG, 3 JPEG, 4 RAW+HEIF, 5 HEIF (Sony's Camera Remote SDK,
//! `sony-ptp.md` §6.2 row D253); 0x5004 is the JPEG quality in the low nibble and the kind in
//! the high one: 0x0q JPEG, 0x10 RAW, 0x1q RAW+JPEG, 0x3q HEIF, 0x4q RAW+HEIF (libgphoto2's
//! table, the real ILCE-6000 and ILCE-6400 lists). 0x500A: 1 MF, 0x8006 DMF, 0x8007 MF-R are
//! the modes in which the lens is driven by hand (and by 0xD2D1), every other value is an
//! autofocus mode.

use sonyctl_ptp::PropertyCode;

use crate::codes::prop;

/// What a still shot is written as.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StillFormat {
    /// RAW (ARW) only.
    Raw,
    /// RAW and JPEG: two files.
    RawJpeg,
    /// JPEG only.
    Jpeg,
    /// RAW and HEIF.
    RawHeif,
    /// HEIF only.
    Heif,
}

impl StillFormat {
    /// The format of a value of `code`: 0xD253 (file format) or 0x5004 (compression setting);
    /// `None` for another property or a value neither layout names.
    pub fn from_value(code: PropertyCode, raw: u64) -> Option<StillFormat> {
        match code {
            prop::FILE_FORMAT => match raw {
                1 => Some(StillFormat::Raw),
                2 => Some(StillFormat::RawJpeg),
                3 => Some(StillFormat::Jpeg),
                4 => Some(StillFormat::RawHeif),
                5 => Some(StillFormat::Heif),
                _ => None,
            },
            prop::COMPRESSION_SETTING => match raw {
                0x01..=0x04 => Some(StillFormat::Jpeg),
                0x10 => Some(StillFormat::Raw),
                0x11..=0x14 => Some(StillFormat::RawJpeg),
                0x31..=0x34 => Some(StillFormat::Heif),
                0x41..=0x44 => Some(StillFormat::RawHeif),
                _ => None,
            },
            _ => None,
        }
    }

    /// A RAW file is written.
    pub fn has_raw(self) -> bool {
        matches!(
            self,
            StillFormat::Raw | StillFormat::RawJpeg | StillFormat::RawHeif
        )
    }

    /// A JPEG file is written.
    pub fn has_jpeg(self) -> bool {
        matches!(self, StillFormat::RawJpeg | StillFormat::Jpeg)
    }
}

/// The property that says what a still is written as on a body with these properties: 0xD253
/// where the body has it (protocol 300), else 0x5004.
pub fn still_format_property(has: impl Fn(PropertyCode) -> bool) -> Option<PropertyCode> {
    [prop::FILE_FORMAT, prop::COMPRESSION_SETTING]
        .into_iter()
        .find(|&c| has(c))
}

/// A focus mode (0x500A).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FocusMode(pub u16);

impl FocusMode {
    /// MF.
    pub const MANUAL: FocusMode = FocusMode(0x0001);
    /// DMF: autofocus, then manual.
    pub const DIRECT_MANUAL: FocusMode = FocusMode(0x8006);
    /// MF-R.
    pub const MANUAL_R: FocusMode = FocusMode(0x8007);

    /// From a property value (`None`: not a u16).
    pub fn from_value(raw: u64) -> Option<FocusMode> {
        u16::try_from(raw).ok().map(FocusMode)
    }

    /// The lens is focused by hand (MF, DMF, MF-R): 0xD2D1's near/far steps move it.
    pub fn is_manual(self) -> bool {
        matches!(
            self,
            FocusMode::MANUAL | FocusMode::DIRECT_MANUAL | FocusMode::MANUAL_R
        )
    }
}

/// Whether 0xD2D1's near/far steps move the lens now, from the current values `current`
/// gives: 0xD235 (1: stepping possible now) where the body reports it, and the focus mode
/// (0x500A, [`FocusMode::is_manual`]). Yes when either says so, no when those reported say
/// no, `None` when the body reports neither (a caller may then try).
pub fn lens_steppable(current: impl Fn(PropertyCode) -> Option<u64>) -> Option<bool> {
    let stepping = current(prop::NEAR_FAR_ENABLED).map(|v| v == 1);
    let manual = current(prop::FOCUS_MODE)
        .map(|v| FocusMode::from_value(v).is_some_and(FocusMode::is_manual));
    match (stepping, manual) {
        (None, None) => None,
        (a, b) => Some(a == Some(true) || b == Some(true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_lens_steps() {
        let at = |d235: Option<u64>, mode: Option<u64>| {
            lens_steppable(|c| match c {
                prop::NEAR_FAR_ENABLED => d235,
                prop::FOCUS_MODE => mode,
                _ => None,
            })
        };
        // MF, DMF and MF-R step; AF-S (2) does not; 0xD235 decides where reported.
        assert_eq!(at(None, Some(1)), Some(true));
        assert_eq!(at(None, Some(0x8006)), Some(true));
        assert_eq!(at(None, Some(0x8007)), Some(true));
        assert_eq!(at(None, Some(2)), Some(false));
        assert_eq!(at(Some(0), Some(2)), Some(false));
        assert_eq!(at(Some(1), Some(2)), Some(true));
        assert_eq!(at(Some(0), None), Some(false));
        assert_eq!(at(Some(0), Some(0x8006)), Some(true));
        assert_eq!(at(None, None), None);
        assert_eq!(at(None, Some(1 << 20)), Some(false));
    }

    #[test]
    fn both_layouts() {
        let d253 = |v| StillFormat::from_value(prop::FILE_FORMAT, v);
        assert_eq!(d253(1), Some(StillFormat::Raw));
        assert_eq!(d253(2), Some(StillFormat::RawJpeg));
        assert_eq!(d253(3), Some(StillFormat::Jpeg));
        assert_eq!(d253(9), None);
        let c = |v| StillFormat::from_value(prop::COMPRESSION_SETTING, v);
        assert_eq!(c(0x03), Some(StillFormat::Jpeg));
        assert_eq!(c(0x10), Some(StillFormat::Raw));
        assert_eq!(c(0x13), Some(StillFormat::RawJpeg));
        assert_eq!(c(0x33), Some(StillFormat::Heif));
        assert_eq!(c(0x42), Some(StillFormat::RawHeif));
        assert_eq!(c(0x20), None);
        assert_eq!(StillFormat::from_value(prop::ISO, 1), None);
        assert!(StillFormat::RawJpeg.has_raw() && StillFormat::RawJpeg.has_jpeg());
        assert!(!StillFormat::Heif.has_jpeg() && !StillFormat::Jpeg.has_raw());
        // The labels say the same.
        for v in [0x02u64, 0x10, 0x13, 0x34, 0x41] {
            let label =
                crate::format_value(prop::COMPRESSION_SETTING, &sonyctl_ptp::Value::U8(v as u8));
            let f = c(v).unwrap_or(StillFormat::Jpeg);
            assert_eq!(label.contains("RAW"), f.has_raw(), "{label}");
            assert_eq!(
                label.contains("HEIF"),
                !f.has_jpeg() && f != StillFormat::Raw,
                "{label}"
            );
        }
    }

    #[test]
    fn manual_focus_modes() {
        assert!(FocusMode(1).is_manual());
        assert!(FocusMode(0x8006).is_manual());
        assert!(FocusMode(0x8007).is_manual());
        assert!(!FocusMode(2).is_manual());
        assert!(!FocusMode(0x8005).is_manual());
        assert_eq!(FocusMode::from_value(0x1_0000), None);
        let label =
            |m: FocusMode| crate::format_value(prop::FOCUS_MODE, &sonyctl_ptp::Value::U16(m.0));
        assert_eq!(label(FocusMode::MANUAL), "MF");
        assert_eq!(label(FocusMode::DIRECT_MANUAL), "DMF");
        assert_eq!(label(FocusMode::MANUAL_R), "MF-R");
    }
}
