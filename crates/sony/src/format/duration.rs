//! Durations as people type them (bulb lengths, intervals, time limits, scripted delays):
//! `250ms`, `3s`, `2m`, `1h30m`, `1.5s`.

use std::time::Duration;

/// Parses a duration written as numbers with units: `250ms`, `3s`, `2m`, `1h30m`, `1.5s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration (use e.g. 250ms, 3s, 2m, 1h30m)".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("{t:?}: {num:?} is not a number (use e.g. 250ms, 3s, 1h30m)"))?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("{t:?}: a unit is needed (ms, s, m, h)")),
            other => return Err(format!("{t:?}: unknown unit {other:?} (ms, s, m, h)")),
        };
        let secs = value * scale;
        if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
            return Err(format!("{t:?} is out of range"));
        }
        total += Duration::from_secs_f64(secs);
        if total > Duration::from_secs(1_000_000_000) {
            return Err(format!("{t:?} is out of range"));
        }
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("3s"), Ok(ms(3000)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration(" 5min "), Ok(ms(300_000)));
        assert_eq!(parse_duration("1h30m"), Ok(ms(5_400_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_input_is_an_error() {
        for bad in [
            "",
            "3",
            "s",
            "1x",
            "3x",
            "-1s",
            "1e9h",
            "1e400s",
            "ms250",
            "1..5s",
            "1.5.5s",
            "99999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_duration(&"900000000s".repeat(3)).is_err());
    }
}
