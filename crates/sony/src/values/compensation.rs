//! Exposure compensation (0x5010, and flash compensation 0xD200 in the same form): signed
//! thousandths of a stop (`sony-ptp.md` §6.2; the cameras list +1/3 EV as 300, not 333).

use std::fmt;
use std::str::FromStr;

use crate::format::ParseError;

/// Exposure compensation in thousandths of a stop: `ExposureCompensation(700)` is +0.7 EV.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExposureCompensation(pub i32);

impl ExposureCompensation {
    /// From a property value of any signed integer type.
    pub fn from_value(raw: i64) -> Option<ExposureCompensation> {
        i32::try_from(raw).ok().map(ExposureCompensation)
    }

    /// Stops.
    pub fn stops(self) -> f64 {
        f64::from(self.0) / 1000.0
    }

    /// `v` thousandths as text: `+0.7 EV`, `-1.0 EV`, `+0.33 EV`, `0.0 EV`.
    pub(crate) fn format_thousandths(v: i64) -> String {
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

    /// Reads `+0.7`, `-1 EV`, `+1/3`, `0.333`: thousandths, and whether they were typed to the
    /// thousandth (`0.333`, taken as typed) rather than meaning the camera's tenths (`+1/3`,
    /// `0.33`: 300).
    pub(crate) fn parse_text(text: &str) -> Option<(i64, bool)> {
        let t = text.trim();
        let t = match t.len().checked_sub(2).and_then(|i| t.get(i..)) {
            Some(tail) if tail.eq_ignore_ascii_case("ev") => t.get(..t.len() - 2).unwrap_or(t),
            _ => t,
        }
        .trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (n, d) = crate::format::parse_rational(body)?;
        let v = i64::try_from(n.checked_mul(1000)? / d).ok()?;
        let exact = t.split_once('.').is_some_and(|(_, f)| f.trim().len() >= 3);
        Some((if neg { -v } else { v }, exact))
    }

    /// The value the cameras use for typed thousandths: as typed when `exact`, else rounded to
    /// the nearest tenth of a stop (the cameras encode a third of a stop as 300).
    pub(crate) fn camera_thousandths(v: i64, exact: bool) -> i128 {
        if exact {
            v.into()
        } else {
            (i128::from(v) + if v >= 0 { 50 } else { -50 }) / 100 * 100
        }
    }
}

impl fmt::Display for ExposureCompensation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Self::format_thousandths(self.0.into()))
    }
}

impl FromStr for ExposureCompensation {
    type Err = ParseError;
    /// `+0.7`, `-1 EV`, `+1/3` (300, as the cameras list it), `+0.001`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExposureCompensation::parse_text(s)
            .and_then(|(v, exact)| i32::try_from(Self::camera_thousandths(v, exact)).ok())
            .map(ExposureCompensation)
            .ok_or_else(|| ParseError::Invalid {
                text: s.to_string(),
                what: "compensation (+0.7 EV)",
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
        let t = |v| ExposureCompensation(v).to_string();
        assert_eq!(t(0), "0.0 EV");
        assert_eq!(t(700), "+0.7 EV");
        assert_eq!(t(-1000), "-1.0 EV");
        assert_eq!(t(-300), "-0.3 EV");
        assert_eq!(t(330), "+0.33 EV");
        assert_eq!(t(5000), "+5.0 EV");
        let p = |s: &str| s.parse::<ExposureCompensation>().unwrap().0;
        assert_eq!(p("+1/3"), 300);
        assert_eq!(p("-2/3"), -700);
        assert_eq!(p("+0.7"), 700);
        assert_eq!(p("0.333"), 333);
        assert_eq!(p("-1 EV"), -1000);
        assert!("up".parse::<ExposureCompensation>().is_err());
    }

    proptest! {
        #[test]
        fn every_value_round_trips_through_text(v in any::<i32>()) {
            let e = ExposureCompensation(v);
            // The text of a value that is not whole tenths has three decimals or two
            // (+0.33 EV): what parses back is the same thousandths or the camera's tenth.
            let back = e.to_string().parse::<ExposureCompensation>().unwrap();
            if v % 100 == 0 || v.unsigned_abs() % 10 != 0 {
                prop_assert_eq!(back, e);
            } else {
                prop_assert!((back.0 - v).abs() <= 50);
            }
        }
    }
}
