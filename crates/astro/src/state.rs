//! The one exposure state both front ends show, from the camera service's
//! [`ExposureStatus`]: Alpaca's CameraState, PercentCompleted and ImageReady, and INDI's
//! `CCD_EXPOSURE` (Busy counting down, Ok, Alert) derive from [`AstroState`]. The numbers a
//! protocol sends are its front end's (the Alpaca adapter maps each variant to its CameraState).

use std::time::Duration;

use sonyctl_service::{ExposureState, ExposureStatus};

/// Where an exposure stands, as astronomy clients see it.
#[derive(Clone, Debug, PartialEq)]
pub enum AstroState {
    /// Nothing under way.
    Idle,
    /// Before the shutter opens (focusing, the body's start-up lock-out).
    Waiting,
    /// The shutter is open.
    Exposing {
        /// Elapsed over the exposure's length, 0 to 1.
        progress: f64,
    },
    /// The shutter closed; the body is writing the frame, long-exposure noise reduction
    /// included.
    Reading,
    /// The frame is coming to this computer, or an aborted frame is read out of the camera and
    /// dropped (the camera is busy either way).
    Downloading {
        /// Bytes received over the size, 0 to 1.
        progress: f64,
    },
    /// The exposure failed.
    Error(String),
}

impl AstroState {
    /// The state for the service's status.
    pub fn from_status(status: &ExposureStatus) -> AstroState {
        let progress = unit(status.progress);
        match status.state {
            ExposureState::Idle => AstroState::Idle,
            ExposureState::Waiting => AstroState::Waiting,
            ExposureState::Exposing => AstroState::Exposing { progress },
            ExposureState::Processing => AstroState::Reading,
            ExposureState::Downloading | ExposureState::Discarding => {
                AstroState::Downloading { progress }
            }
            ExposureState::Error => AstroState::Error(
                status
                    .detail
                    .clone()
                    .unwrap_or_else(|| "the exposure failed".to_string()),
            ),
            // A state the service learns later: busy, with nothing more to say.
            _ => AstroState::Waiting,
        }
    }

    /// How far the exposure has come, 0 to 100 (Alpaca's PercentCompleted): the exposure's
    /// own progress while exposing, 100 once the shutter closed, 0 before and when idle.
    pub fn percent_completed(&self) -> u8 {
        match self {
            AstroState::Exposing { progress } => (progress * 100.0).round() as u8,
            AstroState::Reading | AstroState::Downloading { .. } => 100,
            AstroState::Idle | AstroState::Waiting | AstroState::Error(_) => 0,
        }
    }

    /// The camera is busy with an exposure (not idle, not failed).
    pub fn is_busy(&self) -> bool {
        !matches!(self, AstroState::Idle | AstroState::Error(_))
    }

    /// What is left of the exposure's `length` (INDI's countdown): all of it while waiting,
    /// the rest while exposing, nothing after; `None` when idle or failed.
    pub fn remaining(&self, length: Duration) -> Option<Duration> {
        match self {
            AstroState::Waiting => Some(length),
            AstroState::Exposing { progress } => Some(length.mul_f64(1.0 - progress)),
            AstroState::Reading | AstroState::Downloading { .. } => Some(Duration::ZERO),
            AstroState::Idle | AstroState::Error(_) => None,
        }
    }
}

/// A progress clamped to 0..=1 (NaN is 0), whatever the service sent.
fn unit(progress: f64) -> f64 {
    if progress.is_nan() {
        0.0
    } else {
        progress.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: ExposureState, progress: f64, detail: Option<&str>) -> ExposureStatus {
        ExposureStatus {
            state,
            progress,
            started: None,
            length: None,
            detail: detail.map(str::to_string),
        }
    }

    #[test]
    fn every_service_state_maps() {
        let cases = [
            (ExposureState::Idle, 0.0, AstroState::Idle, 0),
            (ExposureState::Waiting, 0.3, AstroState::Waiting, 0),
            (
                ExposureState::Exposing,
                0.25,
                AstroState::Exposing { progress: 0.25 },
                25,
            ),
            (ExposureState::Processing, 0.0, AstroState::Reading, 100),
            (
                ExposureState::Downloading,
                0.5,
                AstroState::Downloading { progress: 0.5 },
                100,
            ),
            (
                ExposureState::Discarding,
                0.1,
                AstroState::Downloading { progress: 0.1 },
                100,
            ),
        ];
        for (state, progress, astro, percent) in cases {
            let mapped = AstroState::from_status(&status(state, progress, None));
            assert_eq!(mapped, astro, "{state:?}");
            assert_eq!(mapped.percent_completed(), percent, "{state:?}");
        }
    }

    #[test]
    fn an_error_keeps_its_detail() {
        let e =
            AstroState::from_status(&status(ExposureState::Error, 0.0, Some("connection lost")));
        assert_eq!(e, AstroState::Error("connection lost".into()));
        assert!(!e.is_busy());
        assert_eq!(e.remaining(Duration::from_secs(1)), None);
        let bare = AstroState::from_status(&status(ExposureState::Error, 0.0, None));
        assert_eq!(bare, AstroState::Error("the exposure failed".into()));
    }

    #[test]
    fn progress_out_of_range_is_clamped() {
        let at = |p| AstroState::from_status(&status(ExposureState::Exposing, p, None));
        assert_eq!(at(f64::NAN), AstroState::Exposing { progress: 0.0 });
        assert_eq!(at(-1.0), AstroState::Exposing { progress: 0.0 });
        assert_eq!(at(1.5), AstroState::Exposing { progress: 1.0 });
        assert_eq!(at(1.5).percent_completed(), 100);
        assert_eq!(at(0.994).percent_completed(), 99);
    }

    #[test]
    fn the_countdown() {
        let ten = Duration::from_secs(10);
        assert_eq!(AstroState::Waiting.remaining(ten), Some(ten));
        assert_eq!(
            AstroState::Exposing { progress: 0.25 }.remaining(ten),
            Some(Duration::from_millis(7500))
        );
        assert_eq!(AstroState::Reading.remaining(ten), Some(Duration::ZERO));
        assert_eq!(AstroState::Idle.remaining(ten), None);
        assert!(AstroState::Reading.is_busy());
        assert!(!AstroState::Idle.is_busy());
    }
}
