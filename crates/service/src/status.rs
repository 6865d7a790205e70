//! The status snapshot: what a front end shows without asking the camera anything.

use sonyctl_camera::capture::{ExposureState, ExposureStatus};

/// Nothing is being shot (the snapshot before the first capture).
pub(crate) fn idle_exposure() -> ExposureStatus {
    ExposureStatus {
        state: ExposureState::Idle,
        progress: 0.0,
        started: None,
        length: None,
        detail: None,
    }
}

/// Everything a front end polls, kept fresh by the service task.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Status {
    /// The camera's model, from its DeviceInfo.
    pub model: String,
    /// False while the connection is lost and being restored.
    pub connected: bool,
    /// The command the service is running (`None`: idle, watching the camera).
    pub busy: Option<String>,
    /// The current or last exposure, as the facade's capture reports it.
    pub exposure: ExposureStatus,
    /// Images ready in the camera's buffer (0xD215's count: a lower bound).
    pub pending_images: u16,
    /// The battery level as the camera displays it (0xD218), when the body reports it.
    pub battery: Option<String>,
    /// The battery level in percent (0xD218 read by
    /// [`BatteryRemaining`](sonyctl_sony::values::BatteryRemaining)), when the body reports
    /// one from 0 to 100.
    pub battery_percent: Option<u8>,
}
