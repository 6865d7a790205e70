//! Faults and the owner's actions: what can go wrong on purpose, and what the person holding the
//! camera does, both scriptable (`sonyctl simulate --fault NAME --act DELAY:ACTION`) and available
//! to tests in code.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A fault the simulated camera can be told to show.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Random DeviceBusy answers (hosts must retry).
    Busy,
    /// Delayed responses.
    Slow,
    /// Refuses to shoot for 3 s after the SDIO handshake, as some real bodies do.
    SlowStart,
    /// Drops the connection in the middle of one data phase (once); the image stays pending.
    DisconnectMidData,
    /// One malformed packet (once).
    Garbage,
    /// Sends no events (hosts must poll).
    DropEvents,
    /// Shot file names that try to escape a folder or carry control characters.
    HostileFilename,
    /// Drops the connection right after one complete data phase of an image (once): the
    /// camera counts the image as read.
    DisconnectAfterData,
    /// With nothing waiting, 0xD215 reads 0xFFFB and ObjectInfo is empty, as an ILCE-6400 was
    /// seen to do (libgphoto2 issue 1058).
    PhantomPending,
    /// Live view (0xFFFFC002) answers InvalidObjectHandle during the first second after a
    /// host's session opens, as libgphoto2 reports of the ZV-1.
    LiveViewNotReady,
    /// Live view (0xFFFFC002) never gets ready: it always answers InvalidObjectHandle.
    LiveViewOff,
    /// Once, in continuous drive, the frame exposing ends right after a GetObjectInfo of
    /// 0xFFFFC001 was answered, so the camera is writing it (0xD215 reads 1) and refuses the
    /// GetObject that follows with InvalidObjectHandle: the moment a real body may choose.
    NextFrameWriting,
}

impl Fault {
    /// Every fault, with its name.
    pub const ALL: [(Fault, &'static str); 12] = [
        (Fault::Busy, "busy"),
        (Fault::Slow, "slow"),
        (Fault::SlowStart, "slow-start"),
        (Fault::DisconnectMidData, "disconnect-mid-data"),
        (Fault::Garbage, "garbage"),
        (Fault::DropEvents, "drop-events"),
        (Fault::HostileFilename, "hostile-filename"),
        (Fault::DisconnectAfterData, "disconnect-after-data"),
        (Fault::PhantomPending, "phantom-pending"),
        (Fault::LiveViewNotReady, "lv-not-ready"),
        (Fault::LiveViewOff, "lv-off"),
        (Fault::NextFrameWriting, "next-frame-writing"),
    ];
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Fault, String> {
        Fault::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = Fault::ALL.iter().map(|(_, n)| *n).collect();
                format!("unknown fault {s:?} (known: {})", names.join(", "))
            })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Fault::ALL
            .iter()
            .find(|(x, _)| x == self)
            .map_or("?", |(_, n)| n);
        f.write_str(name)
    }
}

/// What a transport must do on the wire for one reply (the camera decides, the transport does).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WireFault {
    /// Send only this many bytes of the data phase, then drop the connection.
    CutDataAfter(usize),
    /// Send one malformed packet before the reply.
    GarbageFirst,
}

/// Something the camera's owner does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerAction {
    /// Turns a dial or changes a menu setting: property name (or hex code) and value, in the
    /// notation `sonyctl` uses (`set iso 800`); `set lenr on|off` switches long-exposure noise
    /// reduction and `set scene dark|bright` the light autofocus gets.
    Set(String, String),
    /// The mode dial (`mode m`, `mode iauto`).
    Mode(String),
    /// The body's shutter button.
    Shutter,
    /// The cable is pulled: every host is disconnected.
    Unplug,
    /// The battery level, in percent.
    Battery(u8),
}

impl FromStr for OwnerAction {
    type Err = String;
    fn from_str(s: &str) -> Result<OwnerAction, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        match words.as_slice() {
            ["set", name, value @ ..] if !value.is_empty() => {
                Ok(OwnerAction::Set(name.to_string(), value.join(" ")))
            }
            ["mode", name] => Ok(OwnerAction::Mode(name.to_string())),
            ["shutter"] => Ok(OwnerAction::Shutter),
            ["unplug"] => Ok(OwnerAction::Unplug),
            ["battery", pct] => {
                let pct = pct.trim_end_matches('%');
                match pct.parse::<u8>() {
                    Ok(p) if p <= 100 => Ok(OwnerAction::Battery(p)),
                    _ => Err(format!("battery needs a percentage 0..100, not {pct:?}")),
                }
            }
            _ => Err(format!(
                "unknown action {s:?} (set NAME VALUE, mode NAME, shutter, unplug, battery PERCENT)"
            )),
        }
    }
}

/// An owner action at a time counted from the end of the first host's SDIO handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledAction {
    /// When, after SDIOConnect 3 of the first host.
    pub delay: Duration,
    /// What.
    pub action: OwnerAction,
}

impl FromStr for ScheduledAction {
    type Err = String;
    /// `DELAY:ACTION`, e.g. `2s:set iso 800`, `500ms:shutter`.
    fn from_str(s: &str) -> Result<ScheduledAction, String> {
        let (delay, action) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected DELAY:ACTION, e.g. 2s:shutter"))?;
        Ok(ScheduledAction {
            delay: sonyctl_sony::parse_duration(delay)?,
            action: action.trim().parse()?,
        })
    }
}

/// A small deterministic random source (SplitMix64), so faults repeat for a given seed.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// File names for the `hostile-filename` fault, in turn.
pub(crate) const HOSTILE_NAMES: &[&str] = &[
    "../../x.JPG",
    "DSC\u{1b}[2J01.JPG",
    "",
    "sub/dir\\DSC00003.JPG",
    "/etc/passwd",
    "..",
    "DSC\u{0}00007.JPG",
    "COM1.JPG",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_faults_parse() {
        let a: ScheduledAction = "2s:set iso 800".parse().unwrap();
        assert_eq!(a.delay, Duration::from_secs(2));
        assert_eq!(a.action, OwnerAction::Set("iso".into(), "800".into()));
        let a: ScheduledAction = "0s:set shutter 1/250".parse().unwrap();
        assert_eq!(a.action, OwnerAction::Set("shutter".into(), "1/250".into()));
        assert_eq!(
            "1m:unplug".parse::<ScheduledAction>().unwrap().action,
            OwnerAction::Unplug
        );
        assert_eq!(
            "1s:battery 20%".parse::<ScheduledAction>().unwrap().action,
            OwnerAction::Battery(20)
        );
        assert!("1s:battery 200".parse::<ScheduledAction>().is_err());
        assert!("shutter".parse::<ScheduledAction>().is_err());
        // However many parts, a delay stays in range (later arithmetic cannot overflow).
        let long = format!("{}:shutter", "900000000s".repeat(3));
        assert!(long.parse::<ScheduledAction>().is_err());
        assert!("1s:dance".parse::<ScheduledAction>().is_err());
        for (f, n) in Fault::ALL {
            assert_eq!(n.parse::<Fault>().unwrap(), f);
            assert_eq!(f.to_string(), n);
        }
        assert!("explode".parse::<Fault>().is_err());
    }
}
