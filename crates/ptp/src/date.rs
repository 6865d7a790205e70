//! The calendar PTP dates are written in: civil dates from day numbers.

/// Seconds in a day.
pub const SECONDS_PER_DAY: u64 = 86_400;

/// The civil date `(year, month, day)` of a day number counted from 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`). Defined for every `i64` whose year fits:
/// ±25 000 000 000 000 years around 1970 at least.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year; saturating keeps
    // days near i64's ends from overflowing (they name no real date anyway).
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // doy < 366 and mp < 12: both casts are exact.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe
        .saturating_add(era.saturating_mul(400))
        .saturating_add(i64::from(month <= 2));
    (year, month, day)
}

/// The UTC date and time of `secs` seconds since 1970: `(year, month, day, hour, minute,
/// second)`.
pub fn utc_from_unix(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    // secs / 86 400 < 2^48: the cast is exact; the rest of a day fits u32.
    let days = (secs / SECONDS_PER_DAY) as i64;
    let in_day = (secs % SECONDS_PER_DAY) as u32;
    let (year, month, day) = civil_from_days(days);
    (
        year,
        month,
        day,
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
    )
}

/// `secs` seconds and `millis` milliseconds since 1970 as RFC 3339 in UTC, to the millisecond
/// (`2026-11-24T04:44:36.123Z`): how sonyctl writes a time in JSON.
pub fn rfc3339(secs: u64, millis: u32) -> String {
    let (year, month, day, hour, minute, second) = utc_from_unix(secs);
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:03}Z",
        millis % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(utc_from_unix(1_709_251_199), (2024, 2, 29, 23, 59, 59));
        // Nothing panics at the ends.
        let _ = civil_from_days(i64::MAX);
        let _ = civil_from_days(i64::MIN);
        let _ = utc_from_unix(u64::MAX);
    }

    proptest! {
        #[test]
        fn consecutive_days_are_consecutive_dates(days in -100_000_000i64..100_000_000) {
            let (y, m, d) = civil_from_days(days);
            let (y2, m2, d2) = civil_from_days(days + 1);
            prop_assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            let next = if d2 == 1 {
                (m2 == m % 12 + 1) && (if m == 12 { y2 == y + 1 } else { y2 == y })
            } else {
                d2 == d + 1 && m2 == m && y2 == y
            };
            prop_assert!(next, "{days}: {y}-{m}-{d} then {y2}-{m2}-{d2}");
        }
    }
}

#[cfg(test)]
mod rfc3339_tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        // Checked against Python: datetime.utcfromtimestamp(1795495476).
        assert_eq!(rfc3339(1_795_495_476, 123), "2026-11-24T04:44:36.123Z");
    }
}
