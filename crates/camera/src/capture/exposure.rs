//! The exposure state a shot is in (for front ends that show it, such as an ASCOM camera's
//! state), and reading an aborted frame out of the camera without keeping it.
//!
//! A [`Tracker`] wraps the caller's [`Observer`] for the length of one call: it hears the
//! capture's own callbacks (waits, countdowns, downloads) and turns them, with what the shot
//! tells it (the shutter pressed and released), into [`ExposureStatus`] reports.

use sonyctl_ptp::OperationCode;
use sonyctl_sony::codes::handle;

use crate::save::{DiscardSink, Sink};

use super::*;

/// What the camera is doing for the shot in hand.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExposureState {
    /// Nothing is being shot or downloaded.
    Idle,
    /// Before the exposure: focusing, or the camera's start-up lock-out.
    Waiting,
    /// The shutter is open.
    Exposing,
    /// The shutter closed and the camera is writing the image (long-exposure noise reduction
    /// included), until 0xD215 reads ready.
    Processing,
    /// An image is coming to this computer.
    Downloading,
    /// An aborted exposure's image is read out of the camera and dropped.
    Discarding,
    /// The shot failed (`detail` says why).
    Error,
}

/// Where a shot stands.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ExposureStatus {
    /// The state.
    pub state: ExposureState,
    /// How far the state has come, 0 to 1: exposing, the time elapsed over the exposure's
    /// length; downloading and discarding, the bytes over the size; waiting, the time waited
    /// over the longest wait. 0 when the state has no measure (processing, idle, error).
    pub progress: f64,
    /// When the exposure started, on the link's clock (`None` before the shutter opened).
    pub started: Option<Duration>,
    /// The exposure's length: the shutter speed of a timed shot when known, the planned length
    /// of a bulb or burst, and the actual length once a bulb was stopped early.
    pub length: Option<Duration>,
    /// What is waited for, the file being downloaded, or the error.
    pub detail: Option<String>,
}

/// Reports again within a state when progress moved at least this much …
const PROGRESS_STEP: f64 = 0.01;
/// … or this much time passed.
const REPEAT: Duration = Duration::from_secs(1);

/// The last report sent.
struct Sent {
    state: ExposureState,
    progress: f64,
    detail: Option<String>,
    at: Option<Duration>,
}

/// Turns a shot's callbacks into exposure reports, forwarding every callback to the caller's
/// observer.
pub(super) struct Tracker<'o> {
    inner: &'o mut dyn Observer,
    last: Option<Sent>,
    started: Option<Duration>,
    length: Option<Duration>,
    /// Set once the shutter button is up: waits are then for the image, not before the shot.
    exposing_until: Option<Duration>,
    /// The link time the current `waiting` callbacks count their elapsed time from.
    wait_base: Option<Duration>,
    /// Size of the object being downloaded, if announced.
    size: Option<u64>,
}

fn fraction(part: f64, whole: f64) -> f64 {
    if whole > 0.0 && part.is_finite() {
        (part / whole).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl<'o> Tracker<'o> {
    pub(super) fn new(inner: &'o mut dyn Observer) -> Tracker<'o> {
        Tracker {
            inner,
            last: None,
            started: None,
            length: None,
            exposing_until: None,
            wait_base: None,
            size: None,
        }
    }

    /// Reports `state` if it is news: a new state or detail, progress moved, or a second
    /// passed (when `now` is known).
    pub(super) fn report(
        &mut self,
        state: ExposureState,
        progress: f64,
        now: Option<Duration>,
        detail: Option<String>,
    ) {
        let progress = if progress.is_finite() {
            progress.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let news = match &self.last {
            None => true,
            Some(l) => {
                l.state != state
                    || l.detail != detail
                    || (progress - l.progress).abs() >= PROGRESS_STEP
                    || (progress >= 1.0 && l.progress < 1.0)
                    || now.is_some_and(|n| l.at.is_none_or(|a| n >= a + REPEAT))
            }
        };
        if !news {
            return;
        }
        let status = ExposureStatus {
            state,
            progress,
            started: self.started,
            length: self.length,
            detail: detail.clone(),
        };
        self.inner.exposure(&status);
        let at = now.or(self.last.as_ref().and_then(|l| l.at));
        self.last = Some(Sent {
            state,
            progress,
            detail,
            at,
        });
    }

    /// The waits that follow count from `base` on the link's clock.
    pub(super) fn wait_from(&mut self, base: Duration) {
        self.wait_base = Some(base);
    }

    /// Waiting before the shot for `what`, `elapsed` of at most `limit`, at `now`.
    pub(super) fn waiting_for(
        &mut self,
        what: &str,
        elapsed: Duration,
        limit: Duration,
        now: Option<Duration>,
    ) {
        self.report(
            ExposureState::Waiting,
            fraction(elapsed.as_secs_f64(), limit.as_secs_f64()),
            now,
            Some(what.to_string()),
        );
    }

    /// The shutter opened at `at` for `length` (if known).
    pub(super) fn exposure_started(&mut self, at: Duration, length: Option<Duration>) {
        self.started = Some(at);
        self.length = length;
        self.exposing_until = None;
        self.report(ExposureState::Exposing, 0.0, Some(at), None);
    }

    /// Exposing progress at `now`.
    fn exposing(&mut self, now: Duration) {
        let progress = match (self.started, self.length) {
            (Some(s), Some(l)) => fraction(now.saturating_sub(s).as_secs_f64(), l.as_secs_f64()),
            _ => 0.0,
        };
        self.report(ExposureState::Exposing, progress, Some(now), None);
    }

    /// The shutter button went up at `now`. A timed shot goes on exposing for its shutter
    /// speed; a bulb or burst (`held`) ended its exposure with the button.
    pub(super) fn released(&mut self, now: Duration, held: bool) {
        if held {
            self.exposing(now);
            if let Some(s) = self.started {
                let actual = now.saturating_sub(s);
                if self.length.is_none_or(|l| actual < l) {
                    self.length = Some(actual);
                }
            }
            self.exposing_until = Some(now);
        } else {
            self.exposing_until = Some(match (self.started, self.length) {
                (Some(s), Some(l)) => s.saturating_add(l),
                _ => now,
            });
        }
        self.after_release(now);
    }

    /// Exposing until the shutter time is over, then processing until the image is ready.
    fn after_release(&mut self, now: Duration) {
        if self.exposing_until.is_some_and(|u| now < u) {
            self.exposing(now);
        } else {
            self.report(ExposureState::Processing, 0.0, Some(now), None);
        }
    }

    /// Reading an aborted frame: `done` of `total` bytes of `name`.
    pub(super) fn discarding(&mut self, name: &str, done: u64, total: Option<u64>) {
        let progress = total.map_or(0.0, |t| fraction(done as f64, t as f64));
        self.report(
            ExposureState::Discarding,
            progress,
            None,
            Some(name.to_string()),
        );
    }

    /// The call ends: idle, or the error. `always`: report idle even if nothing was reported
    /// before.
    pub(super) fn end<T>(&mut self, result: &Result<T, CaptureError>, always: bool) {
        match result {
            Ok(_) if always || self.last.is_some() => {
                self.report(ExposureState::Idle, 0.0, None, None);
            }
            Ok(_) => {}
            Err(e) => self.report(ExposureState::Error, 0.0, None, Some(e.to_string())),
        }
    }
}

impl Observer for Tracker<'_> {
    fn notice(&mut self, message: &str) {
        self.inner.notice(message);
    }

    fn waiting(&mut self, what: &'static str, elapsed: Duration, limit: Duration) {
        self.inner.waiting(what, elapsed, limit);
        let now = self.wait_base.map(|b| b.saturating_add(elapsed));
        match (self.exposing_until, now) {
            (Some(_), Some(now)) => self.after_release(now),
            (Some(_), None) => self.report(ExposureState::Processing, 0.0, None, None),
            (None, _) => self.waiting_for(what, elapsed, limit, now),
        }
    }

    fn wait_done(&mut self) {
        self.inner.wait_done();
    }

    fn shot_started(&mut self, shot: u32, at: Duration) {
        self.inner.shot_started(shot, at);
    }

    fn countdown(&mut self, left: Duration) {
        self.inner.countdown(left);
        if let (Some(s), Some(l)) = (self.started, self.length) {
            self.exposing(s.saturating_add(l.saturating_sub(left)));
        }
    }

    fn download_started(&mut self, meta: &ObjectMeta) {
        self.inner.download_started(meta);
        self.size = meta.size;
        self.report(
            ExposureState::Downloading,
            0.0,
            None,
            Some(meta.filename.clone()),
        );
    }

    fn download_progress(&mut self, done: u64, total: Option<u64>) {
        self.inner.download_progress(done, total);
        let progress = total
            .or(self.size)
            .map_or(0.0, |t| fraction(done as f64, t as f64));
        let detail = self.last.as_ref().and_then(|l| l.detail.clone());
        self.report(ExposureState::Downloading, progress, None, detail);
    }

    fn saved(&mut self, image: &Downloaded) {
        self.inner.saved(image);
    }

    fn exposure(&mut self, status: &ExposureStatus) {
        self.inner.exposure(status);
    }
}

impl Camera {
    /// GetObject of 0xFFFFC001, read to the end and dropped; returns the bytes read.
    async fn discard_object(
        &mut self,
        on_progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64, CameraError> {
        let mut sink = DiscardSink::new();
        let mut on_size = |_: u64| Ok(());
        let mut pieces = |piece: &[u8]| {
            // Counting cannot fail.
            let _ = sink.write(piece);
            on_progress(sink.written());
            Ok(())
        };
        self.conn
            .call_streaming(
                OperationCode::GET_OBJECT,
                &[handle::CAPTURED_IMAGE],
                None,
                MAX_OBJECT,
                &mut on_size,
                &mut pieces,
            )
            .await?;
        Ok(sink.written())
    }
}

impl CaptureSession<'_> {
    /// Reads every image waiting in the camera (while 0xD215 reads ready) and drops it: the
    /// buffer only empties by reading, and an unread frame would be saved by the next capture.
    /// Returns how many were dropped, and whether the camera held the next one back (it is
    /// writing another frame: ask again once 0xD215 reads ready).
    pub(super) async fn discard_waiting(
        &mut self,
        track: &mut Tracker<'_>,
    ) -> Result<(u32, bool), CaptureError> {
        let mut dropped = 0;
        loop {
            let props = self.props(track).await?;
            if !pending(&props).may_read_object_info() {
                return Ok((dropped, false));
            }
            let Some(meta) = self.next_object(track).await? else {
                return Ok((dropped, false));
            };
            track.discarding(&meta.filename, 0, meta.size);
            let read = {
                let mut progress = |done: u64| track.discarding(&meta.filename, done, meta.size);
                self.cam.discard_object(&mut progress).await
            };
            match read {
                Ok(_) => {
                    dropped += 1;
                    self.reconnects = 0;
                }
                // Whatever arrived is dropped anyway; the frame stays in the camera.
                Err(e) if super::download::held_back(&e) => return Ok((dropped, true)),
                // A frame not read to the end stays in the camera: the loop asks again.
                Err(e) => self.recover(e, track).await?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_as_json_with_lowercase_states() -> Result<(), serde_json::Error> {
        let status = ExposureStatus {
            state: ExposureState::Discarding,
            progress: 0.5,
            started: Some(Duration::from_secs(3)),
            length: None,
            detail: Some("DSC00001.JPG".into()),
        };
        let json = serde_json::to_value(&status)?;
        assert_eq!(json["state"], "discarding");
        assert_eq!(json["progress"], 0.5);
        assert_eq!(json["started"]["secs"], 3);
        assert!(json["length"].is_null());
        assert_eq!(json["detail"], "DSC00001.JPG");
        Ok(())
    }
}
