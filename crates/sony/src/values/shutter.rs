//! Shutter speed: 0xD20D (u32 `numerator << 16 | denominator`, 0 = BULB) and 0xD19F (u64
//! `numerator << 32 | denominator`).
//!
//! Layout from Sony's Camera Remote SDK and libgphoto2 (`sony-ptp.md` §6.2): the camera lists
//! 30" as 300/10 and 1/250 as 1/250; all ones means the body shows no value (movie mode, for
//! example).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::format::ParseError;

/// What shutter text says, before it is encoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum ShutterText {
    /// `BULB`.
    Bulb,
    /// `--`: no value.
    NoValue,
    /// A duration of `numerator / denominator` seconds, in lowest terms, not zero.
    Seconds(u64, u64),
}

/// Reads `BULB`, `--`, `1/250`, `2.5"`, `30s`, `0.5 sec`.
pub(crate) fn parse_text(text: &str) -> Option<ShutterText> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "bulb" {
        return Some(ShutterText::Bulb);
    }
    if lower == "--" {
        return Some(ShutterText::NoValue);
    }
    let body = lower
        .trim_end_matches(['"', 's', '\''])
        .trim_end_matches("sec")
        .trim();
    let (n, d) = crate::format::parse_rational(body)?;
    (n != 0).then_some(ShutterText::Seconds(n, d))
}

/// A raw shutter value of either layout: 0xD20D (`wide` false, 16 + 16 bits) or 0xD19F
/// (`wide` true, 32 + 32 bits).
pub(crate) fn fraction_of(raw: u64, wide: bool) -> Option<(u64, u64)> {
    let (n, d) = if wide {
        let (n, d) = ExtendedShutterSpeed(raw).fraction()?;
        (u64::from(n), u64::from(d))
    } else {
        let (n, d) = ShutterSpeed::from_value(raw)?.fraction()?;
        (u64::from(n), u64::from(d))
    };
    (d != 0).then_some((n, d))
}

/// The length of a raw shutter value of either layout: 0xD20D (`wide` false) or 0xD19F
/// (`wide` true); `None` for BULB, "no value" (movie mode, automatic exposure showing nothing)
/// and a fraction that is no duration (a zero part).
///
/// Exact to the nanosecond: every speed a body lists is a whole number of nanoseconds except
/// the thirds and sixths (1/3, 1/6, 1/15 is exact), which are rounded to the nearest one.
pub fn shutter_duration(raw: u64, wide: bool) -> Option<Duration> {
    let (n, d) = fraction_of(raw, wide)?;
    duration_of(n, d)
}

/// `n / d` seconds rounded to the nearest nanosecond; `None` for a zero part or a length
/// `Duration` cannot hold (it can hold any u32 fraction).
fn duration_of(n: u64, d: u64) -> Option<Duration> {
    if n == 0 || d == 0 {
        return None;
    }
    const NANOS: u128 = 1_000_000_000;
    let (n, d) = (u128::from(n), u128::from(d));
    let nanos = (n * NANOS * 2 + d) / (d * 2);
    let secs = u64::try_from(nanos / NANOS).ok()?;
    let sub = u32::try_from(nanos % NANOS).ok()?;
    Some(Duration::new(secs, sub))
}

/// `num / den` seconds in the layout of 0xD20D (`wide` false) or 0xD19F (`wide` true);
/// `None` when a part does not fit its half.
pub(crate) fn encode_fraction(num: u64, den: u64, wide: bool) -> Option<u64> {
    if wide {
        let (n, d) = (u32::try_from(num).ok()?, u32::try_from(den).ok()?);
        Some(ExtendedShutterSpeed::from_fraction(n, d).0)
    } else {
        let (numerator, denominator) = (u16::try_from(num).ok()?, u16::try_from(den).ok()?);
        let s = ShutterSpeed::Seconds {
            numerator,
            denominator,
        };
        Some(u64::from(s.to_raw()))
    }
}

/// The raw "no value" of 0xD20D (`wide` false) or 0xD19F (`wide` true).
pub(crate) fn no_value(wide: bool) -> u64 {
    if wide {
        ExtendedShutterSpeed::NO_VALUE
    } else {
        u64::from(ShutterSpeed::NO_VALUE)
    }
}

/// The cameras' own encoding of `n / d` seconds: 1/n for 1/3 s and shorter, tenths of a second
/// for the rest (1" is 10/10, 0.5" is 5/10), the fraction itself when tenths cannot say it.
pub(crate) fn camera_fraction(n: u64, d: u64) -> (u64, u64) {
    let tenths = n.checked_mul(10).filter(|t| t % d == 0).map(|t| t / d);
    match tenths {
        _ if n == 1 && d >= 3 => (1, d),
        Some(t) => (t, 10),
        None => (n, d),
    }
}

/// Shows `num/den` seconds as `1/250`, `2.5"`, `30"`, `2/3"`; `None` for a zero numerator or
/// denominator (no duration: the caller shows the raw value).
pub fn format_seconds(num: u64, den: u64) -> Option<String> {
    if den == 0 || num == 0 {
        return None;
    }
    if num == 1 && den > 1 {
        return Some(format!("1/{den}"));
    }
    if num % den == 0 {
        return Some(format!("{}\"", num / den));
    }
    if (num * 10) % den == 0 {
        let tenths = num * 10 / den;
        return Some(format!("{}.{}\"", tenths / 10, tenths % 10));
    }
    Some(format!("{num}/{den}\""))
}

/// A 0xD20D shutter speed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShutterSpeed {
    /// Open as long as the button is held (raw 0).
    Bulb,
    /// A fraction of seconds, as the camera encodes it (30" is 300/10).
    Seconds {
        /// Numerator.
        numerator: u16,
        /// Denominator.
        denominator: u16,
    },
}

impl ShutterSpeed {
    /// The raw value of "no shutter speed shown".
    pub const NO_VALUE: u32 = 0xFFFF_FFFF;

    /// From the raw 0xD20D value; `None` for [`NO_VALUE`](ShutterSpeed::NO_VALUE).
    pub fn from_raw(raw: u32) -> Option<ShutterSpeed> {
        let [d0, d1, n0, n1] = raw.to_le_bytes();
        match raw {
            0 => Some(ShutterSpeed::Bulb),
            Self::NO_VALUE => None,
            _ => Some(ShutterSpeed::Seconds {
                numerator: u16::from_le_bytes([n0, n1]),
                denominator: u16::from_le_bytes([d0, d1]),
            }),
        }
    }

    /// From a property value of any integer type (`None`: no value, or not a u32).
    pub fn from_value(raw: u64) -> Option<ShutterSpeed> {
        u32::try_from(raw).ok().and_then(ShutterSpeed::from_raw)
    }

    /// The raw 0xD20D value.
    pub fn to_raw(self) -> u32 {
        match self {
            ShutterSpeed::Bulb => 0,
            ShutterSpeed::Seconds {
                numerator,
                denominator,
            } => (u32::from(numerator) << 16) | u32::from(denominator),
        }
    }

    /// BULB.
    pub fn is_bulb(self) -> bool {
        self == ShutterSpeed::Bulb
    }

    /// `(numerator, denominator)`, or `None` for BULB.
    pub fn fraction(self) -> Option<(u16, u16)> {
        match self {
            ShutterSpeed::Bulb => None,
            ShutterSpeed::Seconds {
                numerator,
                denominator,
            } => Some((numerator, denominator)),
        }
    }

    /// Seconds, or `None` for BULB and a zero denominator.
    pub fn seconds(self) -> Option<f64> {
        let (n, d) = self.fraction()?;
        (d != 0).then(|| f64::from(n) / f64::from(d))
    }

    /// The length, exact to the nanosecond (see [`shutter_duration`]), or `None` for BULB and a
    /// fraction that is no duration.
    pub fn duration(self) -> Option<Duration> {
        let (n, d) = self.fraction()?;
        duration_of(n.into(), d.into())
    }

    /// Whole microseconds (exact integer arithmetic, for ordering), or `None` for BULB and a
    /// zero denominator.
    pub fn micros(self) -> Option<u64> {
        let (n, d) = self.fraction()?;
        (d != 0).then(|| u64::from(n) * 1_000_000 / u64::from(d))
    }

    /// The camera's encoding of text such as `1/250` or `30"` (without a descriptor to pick
    /// from: 30" becomes 300/10, as the cameras list it).
    pub fn parse(text: &str) -> Option<ShutterSpeed> {
        match parse_text(text)? {
            ShutterText::Bulb => Some(ShutterSpeed::Bulb),
            ShutterText::NoValue => None,
            ShutterText::Seconds(n, d) => {
                // The cameras' encoding when it fits 16 bits, else the fraction in lowest terms.
                let fit = |(n, d): (u64, u64)| {
                    Some(ShutterSpeed::Seconds {
                        numerator: u16::try_from(n).ok()?,
                        denominator: u16::try_from(d).ok()?,
                    })
                };
                fit(camera_fraction(n, d)).or_else(|| fit((n, d)))
            }
        }
    }
}

impl fmt::Display for ShutterSpeed {
    /// `BULB`, `1/250`, `2.5"`, `30"`; a fraction that is no duration in hex (`0x00050000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fraction() {
            None => f.write_str("BULB"),
            Some((n, d)) => match format_seconds(n.into(), d.into()) {
                Some(s) => f.write_str(&s),
                None => write!(f, "{:#010X}", self.to_raw()),
            },
        }
    }
}

impl FromStr for ShutterSpeed {
    type Err = ParseError;
    /// The notation [`Display`](fmt::Display) writes, and `30s`, `1/3 sec`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ShutterSpeed::parse(s).ok_or_else(|| ParseError::Invalid {
            text: s.to_string(),
            what: "shutter speed (1/250, 2.5\", 30\", BULB)",
        })
    }
}

/// A 0xD19F shutter speed: u64 `numerator << 32 | denominator`, 0 = BULB, all ones = no value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtendedShutterSpeed(pub u64);

impl ExtendedShutterSpeed {
    /// The raw value of "no shutter speed shown".
    pub const NO_VALUE: u64 = u64::MAX;

    /// BULB.
    pub fn is_bulb(self) -> bool {
        self.0 == 0
    }

    /// `(numerator, denominator)`, or `None` for BULB and no value.
    pub fn fraction(self) -> Option<(u32, u32)> {
        let [d0, d1, d2, d3, n0, n1, n2, n3] = self.0.to_le_bytes();
        (self.0 != 0 && self.0 != Self::NO_VALUE).then(|| {
            (
                u32::from_le_bytes([n0, n1, n2, n3]),
                u32::from_le_bytes([d0, d1, d2, d3]),
            )
        })
    }

    /// From `numerator / denominator` seconds.
    pub fn from_fraction(numerator: u32, denominator: u32) -> ExtendedShutterSpeed {
        ExtendedShutterSpeed((u64::from(numerator) << 32) | u64::from(denominator))
    }

    /// Seconds, or `None` for BULB, no value and a zero denominator.
    pub fn seconds(self) -> Option<f64> {
        let (n, d) = self.fraction()?;
        (d != 0).then(|| f64::from(n) / f64::from(d))
    }

    /// The length, exact to the nanosecond (see [`shutter_duration`]), or `None` for BULB, no
    /// value and a fraction that is no duration.
    pub fn duration(self) -> Option<Duration> {
        let (n, d) = self.fraction()?;
        duration_of(n.into(), d.into())
    }
}

impl fmt::Display for ExtendedShutterSpeed {
    /// `BULB`, `--`, `1/8000`, `30"`; a fraction that is no duration in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fraction() {
            None if self.is_bulb() => f.write_str("BULB"),
            None => f.write_str("--"),
            Some((n, d)) => match format_seconds(n.into(), d.into()) {
                Some(s) => f.write_str(&s),
                None => write!(f, "{:#018X}", self.0),
            },
        }
    }
}

/// The fastest speed a body lists when nothing says otherwise: every body Sony made in the
/// PC-remote era reaches 1/4000.
pub const DEFAULT_FASTEST_SHUTTER: Duration = Duration::from_micros(250);

/// Sony's shutter speeds in thirds of a stop, slowest first, as the cameras encode them: 30" to
/// 0.4" in tenths of a second (300/10 … 4/10), then 1/3 to 1/32000. Every body that lists its
/// speeds lists a run of these (the real ILCE-7SM3 list is 30" to 1/8000, the DSC-RX100M7's
/// the whole scale); protocol-200 bodies give a dummy range instead of a list, and their speeds
/// are this scale down to the body's fastest.
#[rustfmt::skip]
const THIRDS: [(u16, u16); 61] = [
    (300, 10), (250, 10), (200, 10), (150, 10), (130, 10), (100, 10), (80, 10), (60, 10),
    (50, 10), (40, 10), (32, 10), (25, 10), (20, 10), (16, 10), (13, 10), (10, 10), (8, 10),
    (6, 10), (5, 10), (4, 10), (1, 3), (1, 4), (1, 5), (1, 6), (1, 8), (1, 10), (1, 13),
    (1, 15), (1, 20), (1, 25), (1, 30), (1, 40), (1, 50), (1, 60), (1, 80), (1, 100),
    (1, 125), (1, 160), (1, 200), (1, 250), (1, 320), (1, 400), (1, 500), (1, 640), (1, 800),
    (1, 1000), (1, 1250), (1, 1600), (1, 2000), (1, 2500), (1, 3200), (1, 4000), (1, 5000),
    (1, 6400), (1, 8000), (1, 10000), (1, 12800), (1, 16000), (1, 20000), (1, 25600),
    (1, 32000),
];

/// Sony's third-stop scale from 30" down to `fastest` (inclusive), slowest first, as 0xD20D
/// values: 30" to 0.4" in tenths of a second, then 1/3 to 1/32000 (the real ILCE-7SM3 list is
/// this scale to 1/8000, the DSC-RX100M7's the whole of it).
pub fn third_stop_scale(fastest: Duration) -> Vec<ShutterSpeed> {
    let mut out: Vec<ShutterSpeed> = Vec::new();
    for &(numerator, denominator) in THIRDS.iter() {
        let speed = ShutterSpeed::Seconds {
            numerator,
            denominator,
        };
        match speed.duration() {
            Some(d) if d >= fastest => out.push(speed),
            _ => break,
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_values() {
        let s = |raw| ShutterSpeed::from_raw(raw).unwrap().to_string();
        assert_eq!(s(0), "BULB");
        assert_eq!(s(0x012C_000A), "30\"");
        assert_eq!(s(0x0019_000A), "2.5\"");
        assert_eq!(s(0x0001_00FA), "1/250");
        assert_eq!(s(0x0001_1F40), "1/8000");
        assert_eq!(ShutterSpeed::from_raw(0xFFFF_FFFF), None);
        assert_eq!(
            ShutterSpeed::from_raw(0x012C_000A).unwrap().seconds(),
            Some(30.0)
        );
        assert_eq!(ShutterSpeed::Bulb.seconds(), None);
        assert!(ShutterSpeed::from_raw(0).unwrap().is_bulb());
        assert_eq!(
            "30\"".parse::<ShutterSpeed>().unwrap().to_raw(),
            0x012C_000A
        );
        assert_eq!(
            "1/250".parse::<ShutterSpeed>().unwrap().to_raw(),
            0x0001_00FA
        );
        assert_eq!(
            "0.5s".parse::<ShutterSpeed>().unwrap().to_raw(),
            0x0005_000A
        );
        assert_eq!("bulb".parse::<ShutterSpeed>().unwrap(), ShutterSpeed::Bulb);
        assert!("--".parse::<ShutterSpeed>().is_err());
        assert!("0".parse::<ShutterSpeed>().is_err());
        assert!("70000\"".parse::<ShutterSpeed>().is_err());
        let x = |raw| ExtendedShutterSpeed(raw).to_string();
        assert_eq!(x(0), "BULB");
        assert_eq!(x(u64::MAX), "--");
        assert_eq!(x(0x12C_0000_000A), "30\"");
        assert_eq!(x((1 << 32) | 8000), "1/8000");
        assert_eq!(
            ExtendedShutterSpeed::from_fraction(1, 8000).0,
            (1 << 32) | 8000
        );
    }

    #[test]
    fn durations_are_exact() {
        let d = |raw| ShutterSpeed::from_raw(raw).and_then(ShutterSpeed::duration);
        assert_eq!(d(0), None, "BULB");
        assert_eq!(d(ShutterSpeed::NO_VALUE), None);
        assert_eq!(d(0x012C_000A), Some(Duration::from_secs(30)));
        assert_eq!(d(0x0019_000A), Some(Duration::from_millis(2500)));
        assert_eq!(d(0x000A_000A), Some(Duration::from_secs(1)));
        assert_eq!(d(0x0001_1F40), Some(Duration::from_micros(125)));
        assert_eq!(d(0x0001_0003), Some(Duration::from_nanos(333_333_333)));
        assert_eq!(d(0x0002_0003), Some(Duration::from_nanos(666_666_667)));
        assert_eq!(d(0x0005_0000), None, "a zero denominator");
        assert_eq!(d(0x0000_0005), None, "a zero numerator");
        let x = |raw| ExtendedShutterSpeed(raw).duration();
        assert_eq!(x(0), None);
        assert_eq!(x(u64::MAX), None);
        assert_eq!(x(0x12C_0000_000A), Some(Duration::from_secs(30)));
        assert_eq!(
            x((u64::from(u32::MAX) << 32) | 1),
            Some(Duration::from_secs(u64::from(u32::MAX)))
        );
        assert_eq!(shutter_duration(0x0019_000A, false), d(0x0019_000A));
        assert_eq!(shutter_duration(0x12C_0000_000A, true), x(0x12C_0000_000A));
        assert_eq!(shutter_duration(0x1_0000_0000, false), None, "not a u32");
    }

    #[test]
    fn the_cameras_list_parses_back_exactly() {
        // The 0xD20D list of an ILCE-7M4 (30" to 1/8000 in thirds).
        let mut list = vec![
            (300, 10),
            (250, 10),
            (200, 10),
            (150, 10),
            (130, 10),
            (100, 10),
        ];
        list.extend([
            (80, 10),
            (60, 10),
            (50, 10),
            (40, 10),
            (32, 10),
            (25, 10),
            (20, 10),
        ]);
        list.extend([
            (16, 10),
            (13, 10),
            (10, 10),
            (8, 10),
            (6, 10),
            (5, 10),
            (4, 10),
        ]);
        for d in [
            3, 4, 5, 6, 8, 10, 13, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 160,
        ] {
            list.push((1, d));
        }
        for d in [
            200, 250, 320, 400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500, 3200,
        ] {
            list.push((1, d));
        }
        list.extend([(1, 4000), (1, 5000), (1, 6400), (1, 8000)]);
        for (n, d) in list {
            let s = ShutterSpeed::Seconds {
                numerator: n,
                denominator: d,
            };
            assert_eq!(s.to_string().parse::<ShutterSpeed>().unwrap(), s, "{s}");
        }
    }

    proptest! {
        #[test]
        fn every_raw_value_round_trips(raw in any::<u32>()) {
            match ShutterSpeed::from_raw(raw) {
                Some(s) => {
                    prop_assert_eq!(s.to_raw(), raw);
                    // The text names the same duration (the camera's encoding may differ:
                    // 1/1 reads back as 10/10).
                    let text = s.to_string();
                    match s.seconds().filter(|&x| x > 0.0) {
                        Some(x) => {
                            let back = ShutterSpeed::parse(&text).and_then(ShutterSpeed::seconds);
                            if let Some(y) = back {
                                prop_assert!((x - y).abs() <= x * 1e-9, "{} {}", text, y);
                            } else {
                                prop_assert!(false, "{} does not parse", text);
                            }
                        }
                        None => prop_assert!(s.is_bulb() || text.starts_with("0x")),
                    }
                }
                None => prop_assert_eq!(raw, ShutterSpeed::NO_VALUE),
            }
        }

        #[test]
        fn durations_agree_with_the_fraction(n in 1..=u16::MAX, d in 1..=u16::MAX) {
            let s = ShutterSpeed::Seconds { numerator: n, denominator: d };
            let nanos = s.duration().map(|x| x.as_nanos());
            let exact = u128::from(n) * 1_000_000_000;
            let d = u128::from(d);
            // Within half a nanosecond of n / d seconds: |nanos × d − exact| ≤ d / 2.
            prop_assert!(nanos.is_some_and(|x| (x * d).abs_diff(exact) * 2 <= d), "{:?}", nanos);
            prop_assert_eq!(ExtendedShutterSpeed::from_fraction(n.into(), d as u32).duration(), s.duration());
        }

        #[test]
        fn extended_fractions_round_trip(n in any::<u32>(), d in any::<u32>()) {
            let x = ExtendedShutterSpeed::from_fraction(n, d);
            if x.0 != 0 && x.0 != u64::MAX {
                prop_assert_eq!(x.fraction(), Some((n, d)));
            }
        }
    }
}
