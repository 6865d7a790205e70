//! One module per subcommand: its arguments and the `run` function `main` calls. What several
//! commands share (setting names, durations, a failure already reported) is here.

pub mod af;
pub mod capture;
pub mod decode;
pub mod focus;
pub mod focus_point;
pub mod get;
pub mod info;
pub mod list;
pub mod movie;
pub mod props;
pub mod release;
pub mod set;
#[cfg(feature = "sim")]
pub mod simulate;
pub mod tether;
pub mod watch;

use std::time::Duration;

use anyhow::{Context, Result};

/// A failure already reported on standard output: exit 1 without another message.
#[derive(Debug)]
pub struct Reported;
impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("failed")
    }
}
impl std::error::Error for Reported {}

/// A duration on the command line: 250ms, 30s, 5m, 1h30m, 1.5s. The same syntax as the
/// simulated camera's `--act` delays; this copy lets builds without the simulator parse it too.
fn parse_duration(text: &str) -> Result<Duration, String> {
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

/// The property a setting's name (`iso`, a name from `sonyctl props`, or a hex code) means.
fn resolve(name: &str) -> Result<sonyctl_ptp::PropertyCode> {
    sonyctl_sony::codes::property_by_name(name).with_context(|| {
        format!("no setting called {name:?}: try iso, shutter, aperture, ev, wb, a name from `sonyctl props`, or a hex code")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration(" 5min "), Ok(ms(300_000)));
        assert_eq!(parse_duration("1h30m"), Ok(ms(5_400_000)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        for bad in ["", "3", "s", "1x", "-1s", "1e9h", "1..5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        // The simulated camera's `--act` delays use the same syntax: both parsers agree.
        #[cfg(feature = "sim")]
        for s in [
            "250ms",
            "3s",
            "2m",
            "5min",
            "1h30m",
            "1.5s",
            " 10s ",
            "0s",
            "",
            "3",
            "s",
            "1x",
            "1..5s",
            "-1s",
            "1e9h",
            "1.5.5s",
            "99999999999h",
        ] {
            assert_eq!(parse_duration(s), sonyctl_sim::parse_duration(s), "{s:?}");
        }
    }
}
