//! One module per subcommand: its arguments and the `run` function `main` calls. What several
//! commands share (setting names, durations, a failure already reported) is here.

pub mod af;
pub mod alpaca;
pub mod capture;
pub mod decode;
pub mod focus;
pub mod focus_point;
pub mod get;
pub mod info;
pub mod list;
pub mod liveview;
pub mod movie;
pub mod props;
pub mod release;
pub mod serve;
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

/// A duration on the command line: 250ms, 30s, 5m, 1h30m, 1.5s.
fn parse_duration(text: &str) -> Result<Duration, String> {
    sonyctl_sony::parse_duration(text)
}

/// The property a setting's name (`iso`, a name from `sonyctl props`, or a hex code) means.
fn resolve(name: &str) -> Result<sonyctl_ptp::PropertyCode> {
    sonyctl_sony::codes::property_by_name(name).with_context(|| {
        format!("no setting called {name:?}: try iso, shutter, aperture, ev, wb, a name from `sonyctl props`, or a hex code")
    })
}
