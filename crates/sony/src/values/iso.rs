//! ISO (0xD21E): a 24-bit sensitivity (0xFFFFFF AUTO), multi-frame noise reduction in bits
//! 24–27 and the extended-range flag in bits 28–31 (Sony's Camera Remote SDK and libgphoto2,
//! `sony-ptp.md` §6.2 row D21E).

use std::fmt;
use std::str::FromStr;

use crate::format::ParseError;

/// Multi-frame noise reduction, bits 24–27 of an ISO value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IsoNoiseReduction {
    /// 0: a single frame.
    Off,
    /// 1: multi-frame NR.
    Normal,
    /// 2: multi-frame NR, high.
    High,
    /// Anything else (3..=15).
    Other(u8),
}

/// An ISO value (0xD21E) with its flags.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Iso(pub u32);

impl Iso {
    /// Automatic ISO.
    pub const AUTO: Iso = Iso(0x00FF_FFFF);
    const BASE: u32 = 0x00FF_FFFF;
    const EXTENDED: u32 = 0x1000_0000;

    /// From a property value of any integer type.
    pub fn from_value(raw: u64) -> Option<Iso> {
        u32::try_from(raw).ok().map(Iso)
    }

    /// The 24-bit base: the sensitivity, or 0xFFFFFF for AUTO.
    pub fn base(self) -> u32 {
        self.0 & Self::BASE
    }

    /// The sensitivity, or `None` for AUTO.
    pub fn value(&self) -> Option<u32> {
        let base = self.base();
        (base != Self::BASE).then_some(base)
    }

    /// AUTO (whatever the flags).
    pub fn is_auto(self) -> bool {
        self.base() == Self::BASE
    }

    /// Multi-frame noise reduction.
    pub fn noise_reduction(self) -> IsoNoiseReduction {
        match (self.0 >> 24) & 0xF {
            0 => IsoNoiseReduction::Off,
            1 => IsoNoiseReduction::Normal,
            2 => IsoNoiseReduction::High,
            n => IsoNoiseReduction::Other(n as u8),
        }
    }

    /// The extended-range flag (bits 28–31 equal to 1).
    pub fn is_extended(self) -> bool {
        self.0 >> 28 == 1
    }

    /// The same value with the extended-range flag cleared (bits 28–31).
    pub fn without_extension(self) -> Iso {
        Iso(self.0 & 0x0FFF_FFFF)
    }

    /// Reads `AUTO`, `800`, `ISO 800`, `MFNR 3200`, `MFNR High 800`, `50 (ext)`, `50ext`. The
    /// second value says whether the text named the extended flag (`ext`): without it, a
    /// caller with the camera's list may pick the extended value the camera lists.
    pub(crate) fn parse_text(text: &str) -> Option<(Iso, bool)> {
        let lower = text.trim().to_ascii_lowercase();
        let mut t = lower.strip_prefix("iso").unwrap_or(&lower).trim();
        let mut mode = 0u32;
        if let Some(rest) = t.strip_prefix("mfnr high") {
            mode = 2;
            t = rest.trim();
        } else if let Some(rest) = t.strip_prefix("mfnr") {
            mode = 1;
            t = rest.trim();
        }
        let (body, ext) = match t.strip_suffix("(ext)").or_else(|| t.strip_suffix("ext")) {
            Some(b) => (b.trim(), true),
            None => (t, false),
        };
        let base: u32 = if body == "auto" {
            Self::BASE
        } else {
            let n: u32 = body.parse().ok()?;
            if n == 0 || n >= Self::BASE {
                return None;
            }
            n
        };
        let flag = if ext { Self::EXTENDED } else { 0 };
        Some((Iso((mode << 24) | base | flag), ext))
    }
}

impl fmt::Display for Iso {
    /// `AUTO`, `800`, `MFNR 3200`, `MFNR High 800`, `50 (ext)`; values with flags nobody knows
    /// in hex (`0x30000320`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.noise_reduction() {
            IsoNoiseReduction::Off => "",
            IsoNoiseReduction::Normal => "MFNR ",
            IsoNoiseReduction::High => "MFNR High ",
            IsoNoiseReduction::Other(_) => return write!(f, "{:#010X}", self.0),
        };
        let ext = match self.0 >> 28 {
            0 => "",
            1 => " (ext)",
            _ => return write!(f, "{:#010X}", self.0),
        };
        match self.value() {
            None => write!(f, "{prefix}AUTO{ext}"),
            Some(v) => write!(f, "{prefix}{v}{ext}"),
        }
    }
}

impl FromStr for Iso {
    type Err = ParseError;
    /// The notation [`Display`](fmt::Display) writes, and a raw value in hex.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .trim()
            .strip_prefix("0x")
            .or_else(|| s.trim().strip_prefix("0X"));
        hex.and_then(|h| u32::from_str_radix(h, 16).ok())
            .map(Iso)
            .or_else(|| Iso::parse_text(s).map(|(iso, _)| iso))
            .ok_or_else(|| ParseError::Invalid {
                text: s.to_string(),
                what: "ISO (AUTO, 800)",
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_values() {
        assert_eq!(Iso(800).to_string(), "800");
        assert_eq!(Iso::AUTO.to_string(), "AUTO");
        assert_eq!(Iso(0x1000_0032).to_string(), "50 (ext)");
        assert_eq!(Iso(0x0100_0C80).to_string(), "MFNR 3200");
        assert_eq!(Iso(0x0200_0320).to_string(), "MFNR High 800");
        assert_eq!(Iso(0x0300_0320).to_string(), "0x03000320");
        assert_eq!(Iso(0x2000_0320).to_string(), "0x20000320");
        assert!(Iso(0x1000_0032).is_extended());
        assert_eq!(Iso(0x1000_0032).value(), Some(50));
        assert_eq!(
            Iso(0x0100_0C80).noise_reduction(),
            IsoNoiseReduction::Normal
        );
        assert_eq!("ISO 800".parse::<Iso>().unwrap(), Iso(800));
        assert_eq!("50ext".parse::<Iso>().unwrap(), Iso(0x1000_0032));
        assert_eq!("auto".parse::<Iso>().unwrap(), Iso::AUTO);
        assert!("0".parse::<Iso>().is_err());
        assert!("16777215".parse::<Iso>().is_err());
        assert!("many".parse::<Iso>().is_err());
    }

    proptest! {
        #[test]
        fn every_raw_value_round_trips_through_text(raw in any::<u32>()) {
            let iso = Iso(raw);
            let text = iso.to_string();
            // A zero base is no sensitivity: it shows as 0 and is read only in hex.
            if iso.base() != 0 {
                prop_assert_eq!(text.parse::<Iso>().unwrap(), iso, "{}", text);
            }
            prop_assert_eq!(format!("{raw:#010X}").parse::<Iso>().unwrap(), iso);
        }
    }
}
