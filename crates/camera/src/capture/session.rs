//! The capture session: the save destination made right and restored, the waiting images saved
//! first, and everything released and restored by `finish`.

use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::format_value;

use sonyctl_sony::values::startup_settle;

use super::*;

/// A capture session: the save destination made right, the buffer drained, shots, and the
/// settings it changed restored by [`CaptureSession::finish`].
pub struct CaptureSession<'a> {
    pub(super) cam: &'a mut Camera,
    pub(super) saver: &'a Saver,
    pub(super) options: CaptureOptions,
    pub(super) cancel: Cancel,
    /// Settings changed for the capture, with their value before.
    pub(super) restore: Vec<(PropertyCode, Value)>,
    pub(super) shots: u32,
    pub(super) reconnects: u32,
}

impl<'a> CaptureSession<'a> {
    /// Prepares `cam` for shooting into `saver`: makes sure images reach the host, then saves
    /// the images already waiting in the camera's buffer (returned).
    pub async fn begin(
        cam: &'a mut Camera,
        saver: &'a Saver,
        options: CaptureOptions,
        cancel: Cancel,
        observer: &mut dyn Observer,
    ) -> Result<(CaptureSession<'a>, Vec<Downloaded>), CaptureError> {
        let mut track = Tracker::new(observer);
        let result = Self::begin_tracked(cam, saver, options, cancel, &mut track).await;
        track.end(&result, false);
        result
    }

    async fn begin_tracked(
        cam: &'a mut Camera,
        saver: &'a Saver,
        options: CaptureOptions,
        cancel: Cancel,
        observer: &mut Tracker<'_>,
    ) -> Result<(CaptureSession<'a>, Vec<Downloaded>), CaptureError> {
        let mut s = CaptureSession {
            cam,
            saver,
            options,
            cancel,
            restore: Vec::new(),
            shots: 0,
            reconnects: 0,
        };
        s.ensure_destination(observer).await?;
        observer.wait_from(s.cam.opened_at());
        s.settle_after_connect(observer).await;
        let waiting = match s.drain(0, observer).await {
            Ok(w) => w,
            Err(e) => {
                // Put back what was changed before saying why.
                let _ = s.finish(observer).await;
                return Err(e);
            }
        };
        if !waiting.is_empty() {
            observer.notice(&format!(
                "saved {} image(s) that were already waiting in the camera",
                waiting.len()
            ));
        }
        Ok((s, waiting))
    }

    /// The camera.
    pub fn camera(&mut self) -> &mut Camera {
        self.cam
    }

    /// 0xD222 must include the host: set it to host (host + card with `keep_on_card`) if not.
    pub(super) async fn ensure_destination(
        &mut self,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        let props = self.props(observer).await?;
        let Some(d) = props.get(prop::SAVE_DESTINATION) else {
            // Bodies without 0xD222 always deliver to the host.
            return Ok(());
        };
        let current = d.current.as_u64().unwrap_or(0);
        let want = if self.options.keep_on_card {
            0x11
        } else if current & 0x01 != 0 {
            current
        } else {
            0x01
        };
        if want == current {
            return Ok(());
        }
        let describe = |v: u64| format_value(prop::SAVE_DESTINATION, &Value::U16(v as u16));
        let before = d.current.clone();
        self.cam
            .set(prop::SAVE_DESTINATION, &Value::U16(want as u16))
            .await
            .map_err(|e| {
                CaptureError::Unsupported(format!(
                    "images must go to this computer, but the save destination could not be \
                     changed from {} ({e}): set it on the camera (Still Img. Save Dest.)",
                    describe(current)
                ))
            })?;
        observer.notice(&format!(
            "save destination changed from {} to {} for this capture (restored at the end)",
            describe(current),
            describe(want)
        ));
        self.restore.push((prop::SAVE_DESTINATION, before));
        Ok(())
    }

    /// Some bodies ignore the shutter for about 3 s after the handshake ("2.5 s were reported
    /// not enough", libgphoto2): on those, wait until 3 s have passed since the camera opened.
    pub(super) async fn settle_after_connect(&mut self, observer: &mut dyn Observer) {
        let Some(settle) = startup_settle(&self.cam.device_info().model) else {
            return;
        };
        let ready = self.cam.opened_at() + settle;
        loop {
            let now = self.cam.link().now();
            if now >= ready {
                observer.wait_done();
                return;
            }
            observer.waiting(
                "the camera to get ready",
                now.saturating_sub(self.cam.opened_at()),
                settle,
            );
            let step = (ready - now).min(self.options.poll.max(Duration::from_millis(10)));
            self.cam.wait_events(step).await;
        }
    }

    /// Changes `code` to `value` for the session (restored by `finish`).
    pub(super) async fn set_for_session(
        &mut self,
        code: PropertyCode,
        value: Value,
        why: &str,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        let outcome = self.cam.set(code, &value).await?;
        if outcome.before != outcome.after {
            observer.notice(&format!(
                "{} changed from {} to {} {why} (restored at the end)",
                sonyctl_sony::codes::describe(sonyctl_sony::property_name(code), code.0),
                format_value(code, &outcome.before),
                format_value(code, &outcome.after)
            ));
            if !self.restore.iter().any(|(c, _)| *c == code) {
                self.restore.push((code, outcome.before));
            }
        }
        Ok(())
    }

    /// Releases the buttons and restores the settings changed for the capture. Call it whatever
    /// happened before; it reports the first failure after trying everything.
    pub async fn finish(self, observer: &mut dyn Observer) -> Result<(), CaptureError> {
        let mut track = Tracker::new(observer);
        let result = self.finish_tracked(&mut track).await;
        track.end(&result, false);
        result
    }

    async fn finish_tracked(mut self, observer: &mut Tracker<'_>) -> Result<(), CaptureError> {
        let mut first: Option<CaptureError> = None;
        if let Err(e) = self.cam.release_all().await {
            if e.is_connection_lost() {
                if let Err(e) = self.recover(e, observer).await {
                    first.get_or_insert(e);
                }
            }
        }
        // An image the camera took anyway (a shot whose connection dropped) is the user's.
        if first.is_none() {
            if let Err(e) = self.drain(0, observer).await {
                first.get_or_insert(e);
            }
        }
        for (code, value) in std::mem::take(&mut self.restore).into_iter().rev() {
            let mut result = self.cam.set(code, &value).await;
            if let Err(SetError::Camera(e)) = &result {
                if e.is_connection_lost() {
                    let e = match result {
                        Err(SetError::Camera(e)) => e,
                        _ => continue,
                    };
                    result = match self.recover(e, observer).await {
                        Ok(()) => self.cam.set(code, &value).await,
                        Err(e) => {
                            first.get_or_insert(e);
                            continue;
                        }
                    };
                }
            }
            match result {
                Ok(_) => observer.notice(&format!(
                    "{} restored to {}",
                    sonyctl_sony::codes::describe(sonyctl_sony::property_name(code), code.0),
                    format_value(code, &value)
                )),
                Err(e) => {
                    first.get_or_insert(e.into());
                }
            }
        }
        first.map_or(Ok(()), Err)
    }
}
