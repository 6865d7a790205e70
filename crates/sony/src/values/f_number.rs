//! Aperture (0x5007): the f-number × 100, with three special values.

use std::fmt;
use std::str::FromStr;

use crate::format::ParseError;

/// Aperture as f-number × 100 (0x5007): `FNumber(560)` is f/5.6. 0xFFFD means closed, 0xFFFE no
/// value ("--", no lens), 0xFFFF not applicable (Sony's Camera Remote SDK, `sony-ptp.md` §6.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FNumber(pub u16);

impl FNumber {
    /// The iris is closed.
    pub const CLOSED: FNumber = FNumber(0xFFFD);
    /// No value (no lens, or a lens without electronic aperture).
    pub const NO_VALUE: FNumber = FNumber(0xFFFE);
    /// Not applicable.
    pub const NOT_APPLICABLE: FNumber = FNumber(0xFFFF);

    /// From a property value of any integer type.
    pub fn from_value(raw: u64) -> Option<FNumber> {
        u16::try_from(raw).ok().map(FNumber)
    }

    /// True for an aperture, false for the special values (closed, no value, not applicable).
    pub fn is_aperture(self) -> bool {
        self.0 < Self::CLOSED.0
    }

    /// The f-number, or `None` for the special values.
    pub fn value(self) -> Option<f64> {
        (self.0 < Self::CLOSED.0).then(|| f64::from(self.0) / 100.0)
    }

    /// The hundredths nearest to a typed f-number (`5.6`, `f/8`, `F11`), or a special value
    /// (`closed`, `--`, `n/a`); `None` if the text is none of these. The result may not fit
    /// 16 bits: the caller decides what to do with it.
    pub(crate) fn parse_hundredths(text: &str) -> Option<u64> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        match lower.as_str() {
            "--" => return Some(Self::NO_VALUE.0.into()),
            "closed" => return Some(Self::CLOSED.0.into()),
            "n/a" => return Some(Self::NOT_APPLICABLE.0.into()),
            _ => {}
        }
        let body = lower.strip_prefix("f/").or_else(|| lower.strip_prefix('f'));
        let (n, d) = crate::format::parse_rational(body.unwrap_or(&lower).trim())?;
        // u128: no typed number can overflow this.
        let hundredths = (u128::from(n) * 100 + u128::from(d / 2)) / u128::from(d);
        Some(hundredths.min(u128::from(u64::MAX)) as u64)
    }
}

impl fmt::Display for FNumber {
    /// `f/5.6`, `f/11`, `f/1.25`; `closed`, `--`, `n/a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0xFFFD => f.write_str("closed"),
            0xFFFE => f.write_str("--"),
            0xFFFF => f.write_str("n/a"),
            v if v < 1000 || v % 100 != 0 => {
                write!(f, "f/{}.{}", v / 100, (v % 100) / 10)?;
                if v % 10 != 0 {
                    write!(f, "{}", v % 10)?;
                }
                Ok(())
            }
            v => write!(f, "f/{}", v / 100),
        }
    }
}

impl FromStr for FNumber {
    type Err = ParseError;
    /// `f/5.6`, `5.6`, `F8`, `closed`, `--`, `n/a`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FNumber::parse_hundredths(s)
            .and_then(|v| u16::try_from(v).ok())
            .map(FNumber)
            .ok_or_else(|| ParseError::Invalid {
                text: s.to_string(),
                what: "f-number (f/5.6)",
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_raw_value_round_trips_through_text() {
        for raw in 0..=u16::MAX {
            let f = FNumber(raw);
            assert_eq!(f.to_string().parse::<FNumber>().unwrap(), f, "{raw}");
        }
    }

    #[test]
    fn real_values() {
        assert_eq!(FNumber(560).to_string(), "f/5.6");
        assert_eq!(FNumber(1100).to_string(), "f/11");
        assert_eq!(FNumber(350).to_string(), "f/3.5");
        assert_eq!(FNumber(125).to_string(), "f/1.25");
        assert_eq!(FNumber(0xFFFE).to_string(), "--");
        assert_eq!("f/5.6".parse::<FNumber>().unwrap(), FNumber(560));
        assert_eq!("F8".parse::<FNumber>().unwrap(), FNumber(800));
        assert_eq!(FNumber(560).value(), Some(5.6));
        assert_eq!(FNumber::CLOSED.value(), None);
        assert!("f/700".parse::<FNumber>().is_err());
        assert!("wide".parse::<FNumber>().is_err());
    }
}
