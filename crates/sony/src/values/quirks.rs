//! Behaviour of particular bodies, keyed by model, that hosts must allow for.

use std::time::Duration;

/// Bodies that ignore the shutter for a while after the handshake: libgphoto2's list
/// (`sony-ptp.md` §7.1 step 3; "2.5 s were reported not enough"). An `A` suffix (ILCE-7RM4A)
/// counts as the same body.
const SLOW_STARTERS: &[&str] = &[
    "ZV-E10",
    "ZV-1",
    "DSC-RX100M7",
    "ILCE-7RM4",
    "DSC-RX0M2",
    "ILCE-7M3",
    "ILCE-7SM3",
    "ILCE-7M4",
    "ILCE-7M5",
    "ILCE-9M2",
    "ILCE-1",
    "ILCE-7C",
];

/// How long those bodies need after the handshake.
pub const STARTUP_SETTLE: Duration = Duration::from_secs(3);

/// How long the body `model` (DeviceInfo's model string) ignores the shutter after the
/// handshake, or `None` if it does not.
pub fn startup_settle(model: &str) -> Option<Duration> {
    let model = model.trim().to_ascii_uppercase();
    SLOW_STARTERS
        .iter()
        .any(|m| model == *m || model.strip_prefix(m).is_some_and(|r| r == "A"))
        .then_some(STARTUP_SETTLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_starters_by_model() {
        for slow in ["ILCE-7M4", "ilce-7rm4a", "ZV-E10", "ILCE-1"] {
            assert_eq!(startup_settle(slow), Some(STARTUP_SETTLE), "{slow}");
        }
        for other in ["ILCE-6400", "ILCE-7M4B", "ILCE-10", "", "ILCE-7"] {
            assert_eq!(startup_settle(other), None, "{other}");
        }
    }
}
