//! Dates: the PTP capture date, and the host's clock as a civil UTC date.

use std::time::{SystemTime, UNIX_EPOCH};

/// A civil date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DateTime {
    pub(super) year: i64,
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
}

pub(super) fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub(super) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Decimal value of ASCII digits; `None` if any is not a digit.
pub(super) fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |v, &b| {
        b.is_ascii_digit()
            .then(|| v.saturating_mul(10).saturating_add(u32::from(b - b'0')))
    })
}

/// Parses a PTP date `YYYYMMDDThhmmss`, optionally followed by `.s` (tenths, or more digits)
/// and a zone (`Z`, `±hh`, `±hhmm`, `±hh:mm`; ignored), checking that it is a real date and
/// time.
pub(super) fn parse_ptp_date(s: &str) -> Option<DateTime> {
    let b = s.trim().as_bytes();
    let (main, mut rest) = (b.get(..15)?, b.get(15..)?);
    let [
        y0,
        y1,
        y2,
        y3,
        mo0,
        mo1,
        d0,
        d1,
        b'T',
        h0,
        h1,
        mi0,
        mi1,
        s0,
        s1,
    ] = *main
    else {
        return None;
    };
    let year = i64::from(digits(&[y0, y1, y2, y3])?);
    let month = digits(&[mo0, mo1])?;
    let day = digits(&[d0, d1])?;
    let hour = digits(&[h0, h1])?;
    let minute = digits(&[mi0, mi1])?;
    let second = digits(&[s0, s1])?;
    let valid = year >= 1
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    if !valid {
        return None;
    }
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = tail.get(n..)?;
    }
    let zone_ok = match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', hh @ ..] => match hh {
            [h0, h1] => digits(&[*h0, *h1]).is_some_and(|h| h <= 23),
            [h0, h1, m0, m1] | [h0, h1, b':', m0, m1] => {
                digits(&[*h0, *h1]).is_some_and(|h| h <= 23)
                    && digits(&[*m0, *m1]).is_some_and(|m| m <= 59)
            }
            _ => false,
        },
        _ => false,
    };
    zone_ok.then_some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// A time given in seconds since 1970 (UTC) as a civil date and time.
pub(super) fn utc_from_unix(secs: u64) -> DateTime {
    let (year, month, day, hour, minute, second) = sonyctl_ptp::date::utc_from_unix(secs);
    DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    }
}

/// The host's current time (UTC).
pub(super) fn host_utc_now() -> DateTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    #[test]
    fn ptp_dates_parse_strictly() {
        let dt = |y, mo, d, h, mi, s| DateTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        };
        assert_eq!(
            parse_ptp_date("20240229T235959"),
            Some(dt(2024, 2, 29, 23, 59, 59))
        );
        assert_eq!(
            parse_ptp_date("20000229T000000.5Z"),
            Some(dt(2000, 2, 29, 0, 0, 0))
        );
        for ok in [
            "20240101T120000.0",
            "20240101T120000+0900",
            "20240101T120000-05:30",
            "20240101T120000+09",
            "20240101T120000.123-0800",
            " 20240101T120000 ",
        ] {
            assert!(parse_ptp_date(ok).is_some(), "{ok}");
        }
        for bad in [
            "20230229T120000",
            "19000229T120000",
            "20240001T120000",
            "20240100T120000",
            "20240431T120000",
            "20240101T126000",
            "20240101T120060",
            "20240101 120000",
            "2024010T1200000",
            "20240101T120000.",
            "20240101T120000+2500",
            "20240101T120000+09:",
            "20240101T120000ZZ",
            "２０２４0101T120000",
            "",
        ] {
            assert_eq!(parse_ptp_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_from_unix_time() {
        let t = utc_from_unix(1_709_251_199);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2024, 2, 29, 23, 59, 59)
        );
        let now = host_utc_now();
        assert!(now.year >= 2024 && (1..=12).contains(&now.month));
    }
}
