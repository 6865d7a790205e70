//! Buttons and controls: S1/S2 and the other buttons, focus steps and point, autofocus, movie.

use sonyctl_ptp::PropertyCode;
use sonyctl_sony::SdioRequest;
use sonyctl_sony::codes::{control, prop};
use sonyctl_sony::values::FocusIndication;

use super::*;

impl Camera {
    /// Presses (`true`) or releases a button such as S1 (0xD2C1) or S2 (0xD2C2).
    pub async fn button(&mut self, code: PropertyCode, pressed: bool) -> Result<(), CameraError> {
        self.conn
            .sdio(&SdioRequest::button(code, pressed))
            .await
            .map(|_| ())
    }

    /// Presses or releases a button, retrying DeviceBusy quickly; returns the link time just
    /// before the request the camera accepted (for timing exposures).
    pub async fn button_timed(
        &mut self,
        code: PropertyCode,
        pressed: bool,
    ) -> Result<Duration, CameraError> {
        let r = SdioRequest::button(code, pressed);
        let op = r.operation(0);
        self.conn
            .call_timed(op.code, op.params.as_slice(), r.data())
            .await
    }

    /// Releases every shutter and focus button (S2, RequestOneShooting, S1, AEL, AF-ON), for
    /// when something went wrong. Movie recording is left as it is.
    pub async fn release_all(&mut self) -> Result<(), CameraError> {
        let mut first_error = None;
        for code in [
            control::S2_BUTTON,
            control::REQUEST_ONE_SHOOTING,
            control::S1_BUTTON,
            control::AEL_BUTTON,
            control::FEL_BUTTON,
        ] {
            if !self.ext_info.controls.contains(&code) && code != control::S1_BUTTON {
                continue;
            }
            if let Err(e) = self.button(code, false).await {
                if e.is_connection_lost() {
                    return Err(e);
                }
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A step of manual focus: `steps` of size `size` (1, 3 or 7), negative = nearer. Needs
    /// manual focus (or DMF).
    pub async fn focus_step(&mut self, size: i32, steps: u32) -> Result<(), CameraError> {
        for i in 0..steps {
            if i > 0 {
                // indigo leaves 50 ms between steps; bodies drop steps sent faster.
                self.conn.link.sleep(Duration::from_millis(50)).await;
            }
            // D2D1 goes as a 16-bit signed value.
            let v = size.clamp(-7, 7) as i16;
            self.conn
                .sdio(&SdioRequest::ControlDevice {
                    code: control::NEAR_FAR,
                    data: v.to_le_bytes().to_vec(),
                })
                .await?;
        }
        Ok(())
    }

    /// Moves the AF point to (`x`, `y`) in the 640×480 live-view space.
    pub async fn focus_point(&mut self, x: u16, y: u16) -> Result<(), CameraError> {
        let Some(point) = sonyctl_sony::values::AfPoint::new(x, y) else {
            return Err(CameraError::NotRemote(format!(
                "the focus point ({x}, {y}) is outside the 640×480 live-view space"
            )));
        };
        self.conn
            .sdio(&SdioRequest::ControlDevice {
                code: control::AF_AREA_POSITION,
                data: point.to_bytes().to_vec(),
            })
            .await
            .map(|_| ())
    }

    /// Half-presses the shutter and waits up to `timeout` for focus; S1 stays pressed (the caller
    /// releases it), so the focus stays locked for a shot.
    pub async fn half_press(&mut self, timeout: Duration) -> Result<FocusState, CameraError> {
        self.half_press_reporting(timeout, &mut |_, _| {}).await
    }

    /// [`half_press`](Camera::half_press), telling `on_wait` the link time and the time waited
    /// at each look at 0xD213.
    pub(super) async fn half_press_reporting(
        &mut self,
        timeout: Duration,
        on_wait: &mut (dyn FnMut(Duration, Duration) + Send),
    ) -> Result<FocusState, CameraError> {
        let props = self.properties().await?;
        if manual_focus(&props) {
            return Ok(FocusState::Manual);
        }
        self.button(control::S1_BUTTON, true).await?;
        let start = self.conn.link.now();
        loop {
            let p = self.properties().await?;
            match p
                .get(prop::FOCUS_INDICATION)
                .and_then(|d| d.current.as_u64())
                .map(FocusIndication::from_value)
            {
                Some(Some(f)) if f.is_focused() => return Ok(FocusState::Focused),
                Some(Some(f)) if f.is_failed() => return Ok(FocusState::Failed),
                None => {
                    return Err(CameraError::NotRemote(
                        "this camera does not report focus (no 0xD213)".into(),
                    ));
                }
                _ => {}
            }
            let now = self.conn.link.now();
            let waited = now.saturating_sub(start);
            if waited >= timeout {
                return Ok(FocusState::TimedOut);
            }
            on_wait(now, waited);
            self.wait_events(Duration::from_millis(50)).await;
        }
    }

    /// Autofocus only: half press, wait, release.
    pub async fn autofocus(&mut self, timeout: Duration) -> Result<FocusState, CameraError> {
        let state = self.half_press(timeout).await;
        let released = if matches!(state, Ok(FocusState::Manual)) {
            Ok(())
        } else {
            self.button(control::S1_BUTTON, false).await
        };
        let state = state?;
        released?;
        Ok(state)
    }

    /// Starts (`true`) or stops movie recording, checking 0xD21D first because a redundant
    /// command would toggle it.
    pub async fn movie(&mut self, start: bool) -> Result<bool, CameraError> {
        let p = self.properties().await?;
        let Some(state) = p
            .get(prop::MOVIE_RECORDING_STATE)
            .and_then(|d| d.current.as_u64())
        else {
            return Err(CameraError::NotRemote(
                "this camera does not report movie recording (no 0xD21D)".into(),
            ));
        };
        let recording = state == 1;
        if recording == start {
            return Ok(false);
        }
        self.button(control::MOVIE_REC, start).await?;
        Ok(true)
    }
}
