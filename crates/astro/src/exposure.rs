//! Which shutter speed an exposure of a requested length really uses.
//!
//! Astronomy clients ask for a length in seconds; a Sony body times only the speeds it lists
//! (30" down to 1/8000 in thirds on most bodies), and anything else needs BULB with the host
//! holding the shutter. [`plan`] decides, the same way for every front end, and
//! [`Plan::actual`] is the length really used, which Alpaca reports as LastExposureDuration and
//! INDI writes as EXPTIME. [`ListedSpeeds`] reads the body's list from its shutter property
//! (each value's length comes from the Sony layer's one home of the layout).

use std::time::Duration;

use sonyctl_ptp::Value;
use sonyctl_sony::codes::prop::{EXTENDED_SHUTTER_SPEED, SHUTTER_SPEED};
use sonyctl_sony::values::{DEFAULT_FASTEST_SHUTTER, shutter_duration, third_stop_scale};
use sonyctl_sony::{SonyDevicePropDesc, SonyForm, bodies};

/// Host-timed BULB above this length by default (`--bulb-above`).
pub const DEFAULT_BULB_ABOVE: Duration = Duration::from_secs(30);

/// Between listed speeds, BULB only above this length: shorter, the host cannot time the
/// shutter better than the nearest speed the body times itself.
pub const BULB_MIN: Duration = Duration::from_secs(1);

/// How an exposure is made.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The body times it at one of its listed speeds.
    Listed(Duration),
    /// BULB, the shutter held by the host for this long.
    Bulb(Duration),
}

impl Plan {
    /// The length really used: the listed speed, or the bulb's planned length.
    pub fn actual(self) -> Duration {
        match self {
            Plan::Listed(speed) | Plan::Bulb(speed) => speed,
        }
    }

    /// A BULB exposure timed by the host.
    pub fn is_bulb(self) -> bool {
        matches!(self, Plan::Bulb(_))
    }
}

/// Why no plan could be made.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The body lists no shutter speed (none read yet, or a body that gives a range instead).
    #[error("the camera lists no shutter speed to choose from")]
    NoListedSpeeds,
}

/// Chooses how to expose for `requested`, given the body's `listed` speeds (any order, repeats
/// allowed) and the BULB threshold `bulb_above` ([`DEFAULT_BULB_ABOVE`] by default). In order:
///
/// 1. zero, or shorter than the fastest listed speed (a bias frame): the fastest;
/// 2. within 1 % of a listed speed (inclusive, relative to that speed): that speed, the
///    nearest when two are;
/// 3. longer than `bulb_above`: BULB for `requested`;
/// 4. longer than [`BULB_MIN`] and shorter than the slowest listed speed, so between two
///    listed speeds: BULB for `requested`;
/// 5. otherwise the nearest listed speed (the longer one on a tie).
///
/// A listed speed longer than `bulb_above` is still used when asked for within 1 % (rule 2
/// before rule 3): the body times it better than the host.
pub fn plan(
    requested: Duration,
    listed: &[Duration],
    bulb_above: Duration,
) -> Result<Plan, PlanError> {
    let mut speeds: Vec<Duration> = listed.iter().copied().filter(|d| !d.is_zero()).collect();
    speeds.sort_unstable();
    speeds.dedup();
    let (Some(&fastest), Some(&slowest)) = (speeds.first(), speeds.last()) else {
        return Err(PlanError::NoListedSpeeds);
    };
    if requested < fastest {
        return Ok(Plan::Listed(fastest));
    }
    let nearest_within = speeds
        .iter()
        .copied()
        .filter(|&s| within_one_percent(requested, s))
        .min_by_key(|&s| (s.abs_diff(requested), std::cmp::Reverse(s)));
    if let Some(speed) = nearest_within {
        return Ok(Plan::Listed(speed));
    }
    if requested > bulb_above || (requested > BULB_MIN && requested < slowest) {
        return Ok(Plan::Bulb(requested));
    }
    let nearest = speeds
        .iter()
        .copied()
        .min_by_key(|&s| (s.abs_diff(requested), std::cmp::Reverse(s)))
        .unwrap_or(fastest);
    Ok(Plan::Listed(nearest))
}

/// `|requested − speed| ≤ 1 % of speed`, in whole nanoseconds (no rounding at the edge).
fn within_one_percent(requested: Duration, speed: Duration) -> bool {
    requested.abs_diff(speed).as_nanos() * 100 <= speed.as_nanos()
}

/// The body's listed shutter speeds with the raw values that set them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedSpeeds {
    /// `(length, raw value)`, in the camera's order; BULB and values without a length left out.
    pub speeds: Vec<(Duration, u64)>,
}

impl ListedSpeeds {
    /// The speeds settable now from a 0xD20D or 0xD19F descriptor; empty for another
    /// property. A 0xD20D range instead of a list (protocol-200 bodies, which step the
    /// shutter) gives the Sony layer's third-stop scale down to
    /// [`DEFAULT_FASTEST_SHUTTER`] (see [`ListedSpeeds::for_model`]).
    pub fn from_desc(desc: &SonyDevicePropDesc) -> ListedSpeeds {
        ListedSpeeds::with_fastest(desc, DEFAULT_FASTEST_SHUTTER)
    }

    /// As [`from_desc`](Self::from_desc), a range giving the scale down to the fastest speed
    /// of `model` in the Sony layer's body table (1/4000 for a body it does not know).
    pub fn for_model(desc: &SonyDevicePropDesc, model: &str) -> ListedSpeeds {
        let fastest = bodies::body(model).map_or(DEFAULT_FASTEST_SHUTTER, |b| b.fastest_shutter);
        ListedSpeeds::with_fastest(desc, fastest)
    }

    fn with_fastest(desc: &SonyDevicePropDesc, fastest: Duration) -> ListedSpeeds {
        let wide = match desc.code {
            SHUTTER_SPEED => false,
            EXTENDED_SHUTTER_SPEED => true,
            _ => return ListedSpeeds::default(),
        };
        if !wide && matches!(desc.form, SonyForm::Range { .. }) {
            let speeds = third_stop_scale(fastest)
                .into_iter()
                .filter_map(|s| Some((s.duration()?, u64::from(s.to_raw()))))
                .collect();
            return ListedSpeeds { speeds };
        }
        let speeds = desc
            .settable_values()
            .unwrap_or(&[])
            .iter()
            .filter_map(Value::as_u64)
            .filter_map(|raw| Some((shutter_duration(raw, wide)?, raw)))
            .collect();
        ListedSpeeds { speeds }
    }

    /// The lengths, for [`plan`].
    pub fn durations(&self) -> Vec<Duration> {
        self.speeds.iter().map(|&(d, _)| d).collect()
    }

    /// The raw value that sets `speed` (a [`Plan::Listed`] speed), if listed.
    pub fn raw_for(&self, speed: Duration) -> Option<u64> {
        self.speeds
            .iter()
            .find(|&&(d, _)| d == speed)
            .map(|&(_, raw)| raw)
    }

    /// The fastest and slowest listed lengths (ExposureMin and, without BULB, ExposureMax).
    pub fn bounds(&self) -> Option<(Duration, Duration)> {
        let min = self.speeds.iter().map(|&(d, _)| d).min()?;
        let max = self.speeds.iter().map(|&(d, _)| d).max()?;
        Some((min, max))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use sonyctl_ptp::{DataType, PropertyCode};
    use sonyctl_sony::values::ShutterSpeed;
    use sonyctl_sony::{Enabled, GetSet, SonyForm};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// A body's thirds from 30" to 1/8000, as lengths (what an ILCE-7M4 lists).
    fn thirds() -> Vec<Duration> {
        let mut v: Vec<Duration> = [
            300, 250, 200, 150, 130, 100, 80, 60, 50, 40, 32, 25, 20, 16, 13, 10, 8, 6, 5, 4,
        ]
        .iter()
        .map(|&t| Duration::from_millis(t * 100))
        .collect();
        for d in [
            3, 4, 5, 6, 8, 10, 13, 15, 20, 25, 30, 40, 50, 60, 80, 100, 125, 160, 200, 250, 320,
            400, 500, 640, 800, 1000, 1250, 1600, 2000, 2500, 3200, 4000, 5000, 6400, 8000,
        ] {
            v.push(Duration::from_nanos((1_000_000_000 + d / 2) / d));
        }
        v
    }

    fn plan30(requested: Duration) -> Plan {
        plan(requested, &thirds(), DEFAULT_BULB_ABOVE).unwrap()
    }

    #[test]
    fn a_listed_speed_is_used_as_it_is() {
        assert_eq!(plan30(s(2)), Plan::Listed(s(2)));
        assert_eq!(plan30(s(30)), Plan::Listed(s(30)));
        assert_eq!(plan30(ms(2500)), Plan::Listed(ms(2500)));
        assert_eq!(
            plan30(Duration::from_micros(125)),
            Plan::Listed(Duration::from_micros(125))
        );
    }

    #[test]
    fn within_one_percent_inclusive_uses_the_listed_speed() {
        // 1 % of 2 s is 20 ms: 1.98 s and 2.02 s are in, a nanosecond further is out.
        assert_eq!(plan30(ms(1980)), Plan::Listed(s(2)));
        assert_eq!(plan30(ms(2020)), Plan::Listed(s(2)));
        assert_eq!(
            plan30(ms(2020) + Duration::from_nanos(1)),
            Plan::Bulb(ms(2020) + Duration::from_nanos(1))
        );
        assert_eq!(
            plan30(ms(1980) - Duration::from_nanos(1)),
            Plan::Bulb(ms(1980) - Duration::from_nanos(1))
        );
        // 1 % of 30 s: 30.3 s is the listed 30", above the threshold or not.
        assert_eq!(plan30(ms(30_300)), Plan::Listed(s(30)));
        assert_eq!(plan30(ms(30_301)), Plan::Bulb(ms(30_301)));
        // Relative to the listed speed, not the request: 1/100 ± 100 µs.
        assert_eq!(plan30(Duration::from_micros(10_100)), Plan::Listed(ms(10)));
        assert_eq!(plan30(Duration::from_micros(9_900)), Plan::Listed(ms(10)));
    }

    #[test]
    fn above_the_threshold_is_bulb() {
        assert_eq!(plan30(s(31)), Plan::Bulb(s(31)));
        assert_eq!(plan30(s(300)), Plan::Bulb(s(300)));
        assert_eq!(plan30(s(300)).actual(), s(300));
        // Exactly the threshold is not above it: with no speed there, the nearest listed one.
        let no_30 = [s(1), s(20), s(25)];
        assert_eq!(plan(s(30), &no_30, s(30)).unwrap(), Plan::Listed(s(25)));
        let just_above = s(30) + Duration::from_nanos(1);
        let p = plan(just_above, &no_30, s(30)).unwrap();
        assert!(p.is_bulb());
        assert_eq!(p.actual(), just_above);
        // A lower threshold: a listed speed still wins, an unlisted one is bulb.
        assert_eq!(plan(s(15), &thirds(), s(10)).unwrap(), Plan::Listed(s(15)));
        assert_eq!(plan(s(12), &thirds(), s(10)).unwrap(), Plan::Bulb(s(12)));
    }

    #[test]
    fn between_listed_speeds_above_one_second_is_bulb() {
        assert_eq!(plan30(ms(1100)), Plan::Bulb(ms(1100)));
        assert_eq!(plan30(ms(7000)), Plan::Bulb(ms(7000)));
        assert_eq!(plan30(ms(27_000)), Plan::Bulb(ms(27_000)));
        // Exactly 1 s is not above 1 s: the nearest listed (1" itself here).
        assert_eq!(plan30(s(1)), Plan::Listed(s(1)));
        let no_1s = [ms(800), ms(1300), s(2)];
        assert_eq!(
            plan(s(1), &no_1s, DEFAULT_BULB_ABOVE).unwrap(),
            Plan::Listed(ms(800))
        );
        assert_eq!(
            plan(ms(1100), &no_1s, DEFAULT_BULB_ABOVE).unwrap(),
            Plan::Bulb(ms(1100))
        );
    }

    #[test]
    fn short_and_beyond_the_list_take_the_nearest() {
        // 1/7 s: between 1/6 and 1/8, nearer 1/8 (0.125 vs 0.1667).
        let plan_7 = plan30(Duration::from_nanos(142_857_143));
        assert_eq!(plan_7, Plan::Listed(Duration::from_nanos(125_000_000)));
        assert_eq!(plan_7.actual(), ms(125));
        // Above the slowest listed speed but not above the threshold: the slowest.
        let short_list = [ms(100), s(10)];
        assert_eq!(
            plan(s(20), &short_list, s(30)).unwrap(),
            Plan::Listed(s(10))
        );
        // A tie goes to the longer speed.
        let pair = [ms(200), ms(400)];
        assert_eq!(plan(ms(300), &pair, s(30)).unwrap(), Plan::Listed(ms(400)));
    }

    #[test]
    fn zero_and_below_the_fastest_take_the_fastest() {
        let fastest = Duration::from_micros(125);
        assert_eq!(plan30(Duration::ZERO), Plan::Listed(fastest));
        assert_eq!(plan30(Duration::from_micros(50)), Plan::Listed(fastest));
        assert_eq!(plan30(Duration::from_nanos(1)).actual(), fastest);
    }

    #[test]
    fn no_listed_speed_is_an_error() {
        assert_eq!(
            plan(s(2), &[], DEFAULT_BULB_ABOVE),
            Err(PlanError::NoListedSpeeds)
        );
        // BULB's zero length is not a speed.
        assert_eq!(
            plan(s(2), &[Duration::ZERO], DEFAULT_BULB_ABOVE),
            Err(PlanError::NoListedSpeeds)
        );
    }

    #[test]
    fn listed_speeds_from_a_descriptor() {
        let raw = |n: u16, d: u16| {
            u64::from(
                ShutterSpeed::Seconds {
                    numerator: n,
                    denominator: d,
                }
                .to_raw(),
            )
        };
        let list = vec![
            Value::U32(0),
            Value::U32(raw(300, 10) as u32),
            Value::U32(raw(25, 10) as u32),
            Value::U32(raw(1, 250) as u32),
        ];
        let desc = SonyDevicePropDesc {
            code: SHUTTER_SPEED,
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(0),
            current: Value::U32(raw(1, 250) as u32),
            form: SonyForm::Enumeration {
                settable: list.clone(),
                all: list,
            },
        };
        let listed = ListedSpeeds::from_desc(&desc);
        assert_eq!(
            listed.durations(),
            vec![s(30), ms(2500), Duration::from_millis(4)]
        );
        assert_eq!(listed.raw_for(ms(2500)), Some(raw(25, 10)));
        assert_eq!(listed.raw_for(s(3)), None);
        assert_eq!(listed.bounds(), Some((ms(4), s(30))));
        let other = SonyDevicePropDesc {
            code: PropertyCode(0x5007),
            ..desc
        };
        assert_eq!(ListedSpeeds::from_desc(&other), ListedSpeeds::default());
        assert_eq!(ListedSpeeds::default().bounds(), None);
    }

    /// A protocol-200 body's 0xD20D is a dummy range (the real ILCE-6000 reply's, read in
    /// place): the speeds are the third-stop scale down to the body's fastest, and plan on it.
    #[test]
    fn a_range_gives_the_third_stop_scale() {
        use sonyctl_ptp::UsbContainer;
        use sonyctl_sony::{AllPropInfo, SdioVersion};
        let container =
            sonyctl_vectors::hex("ilce6000_usb_9209_getallextdevicepropinfo_reply.container.hex");
        let payload = UsbContainer::decode(&container).unwrap().payload;
        let info = AllPropInfo::decode(&payload, SdioVersion::V200).unwrap();
        let desc = info.get(SHUTTER_SPEED).unwrap();
        assert!(matches!(desc.form, SonyForm::Range { .. }));
        let listed = ListedSpeeds::for_model(desc, "ILCE-6000");
        assert_eq!(listed.bounds(), Some((Duration::from_micros(250), s(30))));
        assert_eq!(listed.speeds.len(), 52);
        assert_eq!(listed.raw_for(s(2)), Some(0x0014_000A));
        assert_eq!(
            plan(s(2), &listed.durations(), DEFAULT_BULB_ABOVE).unwrap(),
            Plan::Listed(s(2))
        );
        // A body the table does not know: down to 1/4000 too.
        assert_eq!(ListedSpeeds::from_desc(desc), listed);
        // The ILCE-7SM3 reaches 1/8000.
        let a7s3 = ListedSpeeds::for_model(desc, "ILCE-7SM3");
        assert_eq!(a7s3.bounds().unwrap().0, Duration::from_micros(125));
    }

    proptest! {
        #[test]
        fn a_plan_keeps_its_promises(
            requested_us in 0u64..400_000_000,
            bulb_above_s in 1u64..120,
        ) {
            let requested = Duration::from_micros(requested_us);
            let bulb_above = s(bulb_above_s);
            let listed = thirds();
            let p = plan(requested, &listed, bulb_above).unwrap();
            let fastest = *listed.iter().min().unwrap();
            let slowest = *listed.iter().max().unwrap();
            match p {
                Plan::Listed(speed) => {
                    prop_assert!(listed.contains(&speed));
                    // Never bulb-worthy: not above the threshold unless listed within 1 %.
                    prop_assert!(requested <= bulb_above || within_one_percent(requested, speed));
                    // No listed speed is nearer.
                    let gap = speed.abs_diff(requested);
                    prop_assert!(listed.iter().all(|l| l.abs_diff(requested) >= gap) || requested < fastest);
                }
                Plan::Bulb(length) => {
                    prop_assert_eq!(length, requested);
                    prop_assert!(requested > BULB_MIN);
                    prop_assert!(requested > bulb_above || requested < slowest);
                    prop_assert!(listed.iter().all(|&l| !within_one_percent(requested, l)));
                }
            }
            // Within 1 % of a listed speed is always that listed speed.
            if let Some(&l) = listed.iter().find(|&&l| within_one_percent(requested, l)) {
                prop_assert!(matches!(p, Plan::Listed(x) if within_one_percent(requested, x)), "{:?} {:?}", p, l);
            }
        }

        #[test]
        fn the_order_of_the_list_does_not_matter(requested_us in 0u64..60_000_000, seed in any::<u64>()) {
            let requested = Duration::from_micros(requested_us);
            let mut shuffled = thirds();
            // A deterministic shuffle with repeats.
            let n = shuffled.len();
            for i in 0..n {
                let j = (seed.wrapping_mul(i as u64 + 1) % n as u64) as usize;
                shuffled.swap(i, j);
            }
            shuffled.push(shuffled[0]);
            prop_assert_eq!(
                plan(requested, &shuffled, DEFAULT_BULB_ABOVE),
                plan(requested, &thirds(), DEFAULT_BULB_ABOVE)
            );
        }
    }
}
