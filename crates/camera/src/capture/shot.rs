//! Shot modes: single, bulb (timed by the host) and burst (S2 held in continuous drive).

use sonyctl_ptp::Value;
use sonyctl_sony::codes::{control, prop};

use super::download::{Fetch, HELD_BACK};
use super::*;

/// What [`CaptureSession::keep_or_discard`] took from the camera.
struct Taken {
    /// The files saved.
    kept: Vec<Downloaded>,
    /// Files read and dropped (an aborted capture).
    dropped: usize,
    /// The camera held the next object back while writing another frame: more is coming, ask
    /// again once 0xD215 reads ready.
    held_back: bool,
}

impl<'a> CaptureSession<'a> {
    /// Takes one shot of `kind` and downloads its files (none if it was aborted), reporting
    /// its exposure state to `observer` and ending idle (or in error).
    pub async fn shoot(
        &mut self,
        kind: ShotKind,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        let mut track = Tracker::new(observer);
        // Refused before leftovers are saved or a button is pressed.
        let result = match kind.check() {
            Ok(()) => self.shoot_tracked(kind, &mut track).await,
            Err(e) => Err(e),
        };
        track.end(&result, true);
        result
    }

    async fn shoot_tracked(
        &mut self,
        kind: ShotKind,
        observer: &mut Tracker<'_>,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        // Leftovers (an earlier shot the camera finished late) are saved first, so the files of
        // this shot are its own.
        let mut out = self.drain(self.shots.max(1), observer).await?;
        let mut props = self.props(observer).await?;
        match kind {
            ShotKind::Bulb(_)
                if props
                    .get(prop::SHUTTER_SPEED)
                    .and_then(|d| d.current.as_u64())
                    != Some(0) =>
            {
                self.set_for_session(prop::SHUTTER_SPEED, Value::U32(0), "for bulb", observer)
                    .await
                    .map_err(|e| {
                        CaptureError::Unsupported(format!(
                            "bulb needs the shutter at BULB in mode M, and it could not be set \
                             ({e})"
                        ))
                    })?;
                props = self.props(observer).await?;
            }
            ShotKind::Burst(_) => {
                let drive = props.get(prop::DRIVE_MODE);
                let current = drive.and_then(|d| d.current.as_u64());
                if !current.is_some_and(is_continuous) {
                    let target = drive.and_then(|d| {
                        d.settable_values()
                            .unwrap_or_default()
                            .iter()
                            .find(|v| v.as_u64().is_some_and(is_continuous))
                            .cloned()
                    });
                    let Some(target) = target else {
                        return Err(CaptureError::Unsupported(
                            "this camera offers no continuous drive mode now, so it cannot burst"
                                .into(),
                        ));
                    };
                    self.set_for_session(prop::DRIVE_MODE, target, "for the burst", observer)
                        .await?;
                    props = self.props(observer).await?;
                }
            }
            _ => {}
        }
        self.shots += 1;
        let shot = self.shots;
        let settings = ShotSettings::from_props(&props);
        let exposure = match kind {
            ShotKind::Bulb(d) => d,
            _ => shutter_time(&props).unwrap_or(Duration::from_secs(30)),
        };
        let length = match kind {
            ShotKind::Bulb(d) | ShotKind::Burst(d) => Some(d),
            ShotKind::Single => shutter_time(&props),
        };
        observer.shot_started(shot, self.cam.link().now());

        // Half press and focus.
        let want_af = self.options.autofocus && !manual_focus(&props);
        if want_af {
            let timeout = self.options.focus_timeout;
            observer.waiting_for(
                "focus",
                Duration::ZERO,
                timeout,
                Some(self.cam.link().now()),
            );
            let focused = {
                let mut on_wait = |now: Duration, waited: Duration| {
                    observer.waiting_for("focus", waited, timeout, Some(now));
                };
                self.cam.half_press_reporting(timeout, &mut on_wait).await
            };
            let state = match focused {
                Ok(s) => s,
                Err(e) => {
                    self.recover(e, observer).await?;
                    return Err(CaptureError::ConnectionDropped(
                        "while focusing; no picture was taken",
                    ));
                }
            };
            if matches!(state, FocusState::Failed | FocusState::TimedOut) {
                self.press(control::S1_BUTTON, false, observer).await?;
                return Err(CaptureError::FocusFailed);
            }
        } else if !self.press(control::S1_BUTTON, true, observer).await? {
            return Err(CaptureError::ConnectionDropped(
                "before the shutter was pressed; no picture was taken",
            ));
        }
        if self.cancel.is_aborted() {
            self.press(control::S1_BUTTON, false, observer).await?;
            observer.notice("aborted before the shutter opened; no picture was taken");
            return Ok(out);
        }

        // Full press, hold, release. The exposure is timed from the press the camera took.
        let pressed = match self.cam.button_timed(control::S2_BUTTON, true).await {
            Ok(t) => Some(t),
            Err(e) => {
                self.recover(e, observer).await?;
                None
            }
        };
        let Some(pressed_at) = pressed else {
            return Err(CaptureError::ConnectionDropped(
                "as the shutter was pressed; a picture may have been taken and is saved when \
                 the camera delivers it",
            ));
        };
        observer.exposure_started(pressed_at, length);
        let released_ok = match kind {
            ShotKind::Single => {
                self.cam.link_mut().sleep(self.options.hold).await;
                true
            }
            ShotKind::Bulb(d) => {
                self.hold_for(pressed_at.saturating_add(d), observer).await;
                true
            }
            ShotKind::Burst(d) => {
                self.burst(
                    pressed_at.saturating_add(d),
                    shot,
                    &settings,
                    &mut out,
                    observer,
                )
                .await?
            }
        };
        // A bulb or burst exposes while the button is held; a timed shot for its shutter speed.
        let held = !matches!(kind, ShotKind::Single);
        if released_ok {
            match self.cam.button_timed(control::S2_BUTTON, false).await {
                Ok(at) => {
                    observer.released(at, held);
                    self.press(control::S1_BUTTON, false, observer).await?;
                }
                Err(e) => {
                    observer.released(self.cam.link().now(), held);
                    self.recover(e, observer).await?;
                }
            }
        } else {
            // The connection dropped mid-burst: the camera let go of the button itself.
            observer.released(self.cam.link().now(), true);
        }

        // Wait for the image(s) and download them.
        let limit = exposure
            .saturating_mul(2)
            .saturating_add(self.options.ready_margin);
        if matches!(kind, ShotKind::Burst(_)) {
            // The last frames may still be exposing or writing: keep fetching until 0xD215 has
            // stayed at 0 for a while.
            let settle = exposure
                .saturating_mul(2)
                .max(Duration::from_secs(1))
                .saturating_add(Duration::from_millis(500));
            let started = self.cam.link().now();
            let mut quiet_since = started;
            // The camera's last answer was to hold a frame back (for the time-out's message).
            let mut held_back = false;
            loop {
                let now = self.cam.link().now();
                if now.saturating_sub(started) > limit {
                    let what = if held_back {
                        HELD_BACK
                    } else {
                        "the last frames of the burst"
                    };
                    return Err(CaptureError::Timeout(limit, what));
                }
                let p = self.props(observer).await?;
                let now_pending = pending(&p);
                if now_pending.may_read_object_info() {
                    let taken = self.keep_or_discard(shot, None, observer).await?;
                    let got = taken.kept.len().saturating_add(taken.dropped);
                    out.extend(taken.kept);
                    held_back = taken.held_back;
                    if held_back {
                        // The camera is writing another frame: not quiet; ask again later.
                        if got > 0 {
                            quiet_since = self.cam.link().now();
                        }
                        self.cam.wait_events(self.options.poll).await;
                    } else if got == 0 {
                        // 0xD215 claims images that are not there: that counts as quiet.
                        if now.saturating_sub(quiet_since) >= settle {
                            self.reconnects = 0;
                            return Ok(out);
                        }
                        self.cam.wait_events(self.options.poll).await;
                    } else {
                        quiet_since = self.cam.link().now();
                    }
                } else if matches!(now_pending, PendingImages::Writing(_))
                    || now.saturating_sub(quiet_since) < settle
                {
                    held_back = false;
                    self.cam.wait_events(self.options.poll).await;
                } else {
                    self.reconnects = 0;
                    return Ok(out);
                }
            }
        }
        observer.wait_from(self.cam.link().now());
        let deadline = self.cam.link().now().saturating_add(limit);
        let mut dropped = 0;
        loop {
            let left = deadline.saturating_sub(self.cam.link().now());
            if !self.wait_ready(left, observer).await? {
                return Err(CaptureError::Timeout(
                    limit,
                    "the camera to deliver the image",
                ));
            }
            let taken = self
                .keep_or_discard(shot, Some(&settings), observer)
                .await?;
            out.extend(taken.kept);
            dropped += taken.dropped;
            if !taken.held_back {
                break;
            }
            // The camera is writing another frame (continuous drive, or the owner's button):
            // the rest of this shot is fetched once 0xD215 reads ready again.
            if self.cam.link().now() >= deadline {
                return Err(CaptureError::Timeout(limit, HELD_BACK));
            }
            self.cam.wait_events(self.options.poll).await;
        }
        if self.cancel.is_aborted() {
            observer.notice(&format!(
                "aborted: {dropped} file(s) of the shot read from the camera and discarded"
            ));
        }
        Ok(out)
    }

    /// Downloads the files waiting in the camera (while 0xD215 reads ready) as part of `shot`,
    /// with `settings` (or those read before the first file), one object at a time: once the
    /// capture is aborted, even halfway, the rest is read out and dropped instead of saved.
    /// Stops when the camera holds an object back; the caller waits and asks again.
    async fn keep_or_discard(
        &mut self,
        shot: u32,
        settings: Option<&ShotSettings>,
        observer: &mut Tracker<'_>,
    ) -> Result<Taken, CaptureError> {
        let mut kept = Vec::new();
        let mut settings = settings.cloned();
        loop {
            if self.cancel.is_aborted() {
                let (dropped, held_back) = self.discard_waiting(observer).await?;
                return Ok(Taken {
                    kept,
                    dropped: usize::try_from(dropped).unwrap_or(usize::MAX),
                    held_back,
                });
            }
            let props = self.props(observer).await?;
            // An invalid count is asked too: download_one stops on an empty ObjectInfo.
            let held_back = if !pending(&props).may_read_object_info() {
                false
            } else {
                let settings = settings
                    .get_or_insert_with(|| ShotSettings::from_props(&props))
                    .clone();
                match self.download_one(shot, settings, observer).await? {
                    Fetch::Saved(d) => {
                        kept.push(d);
                        continue;
                    }
                    // 0xD215 claims an object but there is none: stop rather than loop.
                    Fetch::Nothing => false,
                    Fetch::HeldBack => true,
                }
            };
            return Ok(Taken {
                kept,
                dropped: 0,
                held_back,
            });
        }
    }

    /// What Ctrl-C does to an open shutter.
    fn stop_notice(&self) -> &'static str {
        if self.cancel.is_aborted() {
            "aborted: closing the shutter and discarding the image"
        } else {
            "interrupted: closing the shutter and saving the image"
        }
    }

    /// Holds the shutter until `until` (bulb), with a countdown; Ctrl-C ends it early.
    pub(super) async fn hold_for(&mut self, until: Duration, observer: &mut dyn Observer) {
        loop {
            let now = self.cam.link().now();
            if now >= until || self.cancel.is_cancelled() {
                return;
            }
            let left = until - now;
            observer.countdown(left);
            if self.cancel.is_cancelled() {
                observer.notice(self.stop_notice());
                return;
            }
            // Wake on whole seconds of the countdown, and exactly at the end.
            let frac = Duration::from_nanos((left.as_nanos() % 1_000_000_000) as u64);
            let step = if frac.is_zero() {
                Duration::from_secs(1)
            } else {
                frac
            }
            .min(left);
            let cancel = self.cancel.clone();
            tokio::select! {
                biased;
                _ = self.cam.link_mut().sleep(step) => {}
                _ = cancel.cancelled() => {
                    observer.notice(self.stop_notice());
                    return;
                }
            }
        }
    }

    /// Keeps S2 pressed until `until` (continuous drive), downloading frames as the camera
    /// makes them ready, so a small buffer never stalls the burst. `Ok(false)` if the
    /// connection dropped (the camera then released the shutter itself).
    pub(super) async fn burst(
        &mut self,
        until: Duration,
        shot: u32,
        settings: &ShotSettings,
        out: &mut Vec<Downloaded>,
        observer: &mut dyn Observer,
    ) -> Result<bool, CaptureError> {
        loop {
            let now = self.cam.link().now();
            if now >= until || self.cancel.is_cancelled() {
                return Ok(true);
            }
            observer.countdown(until - now);
            let p = match self.cam.properties().await {
                Ok(p) => p,
                Err(e) => {
                    self.recover(e, observer).await?;
                    return Ok(false);
                }
            };
            if pending(&p).may_read_object_info() {
                match self.download_one(shot, settings.clone(), observer).await? {
                    Fetch::Saved(d) => {
                        out.push(d);
                        continue;
                    }
                    // Held back: the camera began writing the next frame after describing
                    // this one. It hands it over once 0xD215 reads ready again, after the wait.
                    Fetch::Nothing | Fetch::HeldBack => {}
                }
            }
            let wait = self.options.poll.min(until.saturating_sub(now));
            self.cam.wait_events(wait).await;
        }
    }
}
