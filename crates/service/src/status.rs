//! The status snapshot: what a front end shows without asking the camera anything.

use std::time::Duration;

/// Where an exposure is. The same shape as the facade's exposure state, which the service
/// will take from the capture observer once the facade reports it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExposureState {
    /// Nothing is being shot.
    Idle,
    /// A capture is preparing (save destination, focus) or waiting for the camera.
    Waiting,
    /// The shutter is open.
    Exposing,
    /// The shutter closed; the camera is writing the image.
    Processing,
    /// An image is coming to the host.
    Downloading,
    /// An aborted frame is being fetched and dropped.
    Discarding,
    /// The last capture failed.
    Error,
}

/// An exposure's progress, on the link's clock.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ExposureStatus {
    /// The state.
    pub state: ExposureState,
    /// 0..=1 through the current state (exposure time, bytes downloaded).
    pub progress: f64,
    /// When the shutter opened, on the link's clock.
    pub started: Option<Duration>,
    /// The exposure's length, when known.
    pub length: Option<Duration>,
    /// What the state is about (the error of a failed capture, the file being fetched).
    pub detail: Option<String>,
}

impl ExposureStatus {
    /// Nothing is being shot.
    pub fn idle() -> ExposureStatus {
        ExposureStatus {
            state: ExposureState::Idle,
            progress: 0.0,
            started: None,
            length: None,
            detail: None,
        }
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
    /// The current or last exposure.
    pub exposure: ExposureStatus,
    /// Images ready in the camera's buffer (0xD215's count: a lower bound).
    pub pending_images: u16,
    /// The battery level as the camera displays it (0xD218), when the body reports it.
    pub battery: Option<String>,
}
