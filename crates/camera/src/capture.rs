//! Taking pictures the way Sony bodies want it, and downloading every image exactly once.
//!
//! - A [`CaptureSession`] first makes sure shots reach the host (0xD222 must include the PC; it
//!   is set and restored at the end if not) and saves the images already waiting in the camera's
//!   buffer: they are the user's photos, and otherwise the next "new" image would be an old one.
//! - A shot is S1 pressed → focus (0xD213, unless manual focus or `autofocus: false`) → S2
//!   pressed and held → S2, S1 released; then the host waits for 0xD215 ≥ 0x8000 with a
//!   time-out scaled to the exposure, and downloads objects from handle 0xFFFFC001 while 0xD215
//!   says more are waiting (RAW+JPEG is two files even when the count says one). 0xFFFFC001 is
//!   never touched while 0xD215 reads less than 0x8000: real firmware crashes.
//! - Bulb is timed by the host; burst holds S2 in continuous drive; timelapse shoots on a fixed
//!   grid (no drift), whatever each shot took.
//! - Every download streams to a temporary file (bounded memory) and is renamed into place when
//!   complete ([`crate::save`]). If the connection drops, the session reconnects and fetches
//!   the image again: the camera keeps it until it was read completely.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sonyctl_ptp::{Codec, ObjectInfo, OperationCode, PropertyCode, ResponseCode, Value};
use sonyctl_sony::codes::{control, handle, prop};
use sonyctl_sony::{AllPropInfo, SdioRequest, format_value};

use crate::save::{ObjectMeta, PartialFile, SaveError, SavedFile, Saver};
use crate::{Camera, CameraError, SetError, TransportError};

/// What went wrong while shooting or downloading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The camera failed or refused.
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// A setting the capture needs could not be made.
    #[error(transparent)]
    Set(#[from] SetError),
    /// Writing the image failed.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// Autofocus did not lock; nothing was shot.
    #[error(
        "the camera could not focus, so no picture was taken (use --no-af to shoot anyway, or \
         switch to manual focus)"
    )]
    FocusFailed,
    /// A wait ran out.
    #[error("gave up after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The camera cannot do what was asked.
    #[error("{0}")]
    Unsupported(String),
    /// The connection dropped while the shutter was being worked; the shot may or may not
    /// have been taken (if it was, the next shot or the end of the session saves it).
    #[error("the connection dropped {0}")]
    ConnectionDropped(&'static str),
    /// An image could not be completed and the camera no longer has it: what arrived is kept.
    #[error(
        "the image was cut off after {got} of {} bytes and the camera no longer has it; what \
         arrived is kept in {}", expected.map_or("?".to_string(), |e| e.to_string()), path.display()
    )]
    Incomplete {
        /// Where the bytes are.
        path: std::path::PathBuf,
        /// Bytes that arrived.
        got: u64,
        /// Bytes announced, if known.
        expected: Option<u64>,
    },
    /// The connection was lost too often to go on.
    #[error(
        "the connection to the camera was lost {0} times; giving up (images not yet downloaded \
         stay in the camera's buffer: run the command again to fetch them)"
    )]
    TooManyReconnects(u32),
}

/// Ctrl-C for the library: once cancelled, a bulb exposure ends now, a burst stops, and a
/// timelapse takes no further shots, but images already taken are still downloaded.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<(AtomicBool, tokio::sync::Notify)>);

impl Cancel {
    /// A token not yet cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels (any thread, any number of times).
    pub fn cancel(&self) {
        self.0.0.store(true, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    /// True once cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.0.load(Ordering::SeqCst)
    }

    /// Resolves when cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.1.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// How to shoot.
#[derive(Clone, Debug)]
pub struct CaptureOptions {
    /// Focus before shooting and refuse to shoot blind when focus fails (`--no-af`: false).
    /// Ignored in manual focus.
    pub autofocus: bool,
    /// Keep a copy on the camera's card too (save destination host + card).
    pub keep_on_card: bool,
    /// Longest wait for autofocus.
    pub focus_timeout: Duration,
    /// How long S2 stays pressed for a normal shot (some bodies ignore shorter presses).
    pub hold: Duration,
    /// Waiting for an image beyond the exposure (and its noise reduction).
    pub ready_margin: Duration,
    /// Polling interval while waiting (events shorten it).
    pub poll: Duration,
    /// How long to keep trying to reconnect after the connection dropped.
    pub reconnect_for: Duration,
    /// Most reconnections in one session before giving up.
    pub max_reconnects: u32,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            autofocus: true,
            keep_on_card: false,
            focus_timeout: Duration::from_secs(5),
            hold: Duration::from_millis(200),
            ready_margin: Duration::from_secs(30),
            poll: Duration::from_millis(100),
            reconnect_for: Duration::from_secs(30),
            max_reconnects: 20,
        }
    }
}

/// What a shot does with the shutter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShotKind {
    /// One picture at the camera's shutter speed.
    Single,
    /// The shutter held open (BULB) for this long, timed by the host.
    Bulb(Duration),
    /// Continuous drive with the shutter held for this long.
    Burst(Duration),
}

/// Autofocus result of a half press.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FocusState {
    /// Focus locked (0xD213 = 2, or 6 when tracking).
    Focused,
    /// The camera could not focus (0xD213 = 3 or 7).
    Failed,
    /// The lens is in manual focus: there is nothing to do.
    Manual,
    /// 0xD213 did not settle in time.
    TimedOut,
}

/// The exposure settings in effect for a shot, as displayed (`"1/250"`, `"f/5.6"`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShotSettings(pub Vec<(&'static str, String)>);

impl ShotSettings {
    fn from_props(p: &AllPropInfo) -> ShotSettings {
        let fields: [(&'static str, PropertyCode); 7] = [
            ("shutter", prop::SHUTTER_SPEED),
            ("aperture", prop::F_NUMBER),
            ("iso", prop::ISO),
            ("exposure_compensation", prop::EXPOSURE_COMPENSATION),
            ("exposure_program", prop::EXPOSURE_PROGRAM),
            ("focus_mode", prop::FOCUS_MODE),
            ("white_balance", prop::WHITE_BALANCE),
        ];
        ShotSettings(
            fields
                .iter()
                .filter_map(|&(k, c)| p.get(c).map(|d| (k, format_value(c, &d.current))))
                .collect(),
        )
    }
}

/// One downloaded image and the shot it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// The file on disk.
    pub file: SavedFile,
    /// Shot number in this session (files of one shot share it); 0 for images that were already
    /// waiting in the camera, or were shot with the camera's own button.
    pub shot: u32,
    /// The exposure settings read just before the shot (or the download).
    pub settings: ShotSettings,
}

/// Hears what a capture is doing (progress bars, JSON lines). Every method has a default that
/// does nothing.
pub trait Observer: Send {
    /// Something the user should know (a setting changed on their behalf, a reconnection).
    fn notice(&mut self, _message: &str) {}
    /// Still waiting for `what`, `elapsed` so far, at most `limit`.
    fn waiting(&mut self, _what: &'static str, _elapsed: Duration, _limit: Duration) {}
    /// The wait reported by `waiting` is over.
    fn wait_done(&mut self) {}
    /// A shot starts (the shutter is about to be pressed), at `at` on the link's clock.
    fn shot_started(&mut self, _shot: u32, _at: Duration) {}
    /// Time left of a bulb exposure.
    fn countdown(&mut self, _left: Duration) {}
    /// A download starts.
    fn download_started(&mut self, _meta: &ObjectMeta) {}
    /// Bytes of the current download so far.
    fn download_progress(&mut self, _done: u64, _total: Option<u64>) {}
    /// A file is saved, complete.
    fn saved(&mut self, _image: &Downloaded) {}
}

/// The files of one shot, or why it failed.
pub type ShotResult = Result<Vec<Downloaded>, CaptureError>;

/// An observer that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;
impl Observer for Quiet {}

/// Bodies that ignore the shutter for a while after the handshake (libgphoto2's list).
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
const STARTUP_SETTLE: Duration = Duration::from_secs(3);

/// The largest object this library downloads (far above any still image or clip).
const MAX_OBJECT: u64 = 1 << 40;

/// 0xD215 (0 when the body has none).
fn pending_raw(p: &AllPropInfo) -> u16 {
    p.get(prop::PENDING_IMAGES)
        .and_then(|d| d.current.as_u64())
        .map_or(0, |v| v as u16)
}

/// 0xD215 says objects wait at 0xFFFFC001.
fn images_ready(raw: u16) -> bool {
    raw >= 0x8000
}

fn manual_focus(p: &AllPropInfo) -> bool {
    p.get(prop::FOCUS_MODE).and_then(|d| d.current.as_u64()) == Some(1)
}

/// The shutter time in seconds (`None`: BULB or unknown).
fn shutter_time(p: &AllPropInfo) -> Option<Duration> {
    let raw = p.get(prop::SHUTTER_SPEED)?.current.as_u64()?;
    let (n, d) = (raw >> 16, raw & 0xFFFF);
    (raw != 0 && raw != 0xFFFF_FFFF && d != 0).then(|| Duration::from_secs_f64(n as f64 / d as f64))
}

/// Drive-mode values that shoot continuously (the low 16 bits of 0x5013).
fn is_continuous(drive: u64) -> bool {
    matches!(drive & 0xFFFF, 2 | 0x8010..=0x8017)
}

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
            PropertyCode(0xD2C9), // AF-ON
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
        if x >= 640 || y >= 480 {
            return Err(CameraError::NotRemote(format!(
                "the focus point ({x}, {y}) is outside the 640×480 live-view space"
            )));
        }
        let v = (u32::from(x) << 16) | u32::from(y);
        self.conn
            .sdio(&SdioRequest::ControlDevice {
                code: control::AF_AREA_POSITION,
                data: v.to_le_bytes().to_vec(),
            })
            .await
            .map(|_| ())
    }

    /// Half-presses the shutter and waits up to `timeout` for focus; S1 stays pressed (the caller
    /// releases it), so the focus stays locked for a shot.
    pub async fn half_press(&mut self, timeout: Duration) -> Result<FocusState, CameraError> {
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
            {
                Some(2 | 6) => return Ok(FocusState::Focused),
                Some(3 | 7) => return Ok(FocusState::Failed),
                None => {
                    return Err(CameraError::NotRemote(
                        "this camera does not report focus (no 0xD213)".into(),
                    ));
                }
                _ => {}
            }
            if self.conn.link.now().saturating_sub(start) >= timeout {
                return Ok(FocusState::TimedOut);
            }
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

    /// GetObjectInfo of the object waiting at 0xFFFFC001.
    async fn waiting_object(&mut self) -> Result<ObjectMeta, CameraError> {
        let data = self
            .conn
            .data(
                OperationCode::GET_OBJECT_INFO,
                &[handle::CAPTURED_IMAGE],
                None,
            )
            .await?;
        let info = ObjectInfo::decode_exact(&data).map_err(|source| CameraError::Decode {
            what: "ObjectInfo",
            source,
        })?;
        Ok(ObjectMeta {
            filename: info.filename,
            format: info.object_format.0,
            size: (info.object_compressed_size != u32::MAX)
                .then_some(u64::from(info.object_compressed_size)),
            capture_date: info.capture_date,
            model: self.device_info.model.clone(),
        })
    }

    /// GetObject of 0xFFFFC001 into `file`.
    async fn fetch_object(
        &mut self,
        file: &mut PartialFile,
        total: Option<u64>,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        let mut write_error: Option<SaveError> = None;
        let result = {
            let write_error = &mut write_error;
            let mut announced = total;
            let mut on_size = |n: u64| {
                announced = Some(n);
                Ok(())
            };
            let mut sink = |piece: &[u8]| match file.write(piece) {
                Ok(()) => {
                    observer.download_progress(file.written(), total);
                    Ok(())
                }
                Err(e) => {
                    let text = e.to_string();
                    *write_error = Some(e);
                    Err(TransportError::Aborted(text))
                }
            };
            self.conn
                .call_streaming(
                    OperationCode::GET_OBJECT,
                    &[handle::CAPTURED_IMAGE],
                    None,
                    MAX_OBJECT,
                    &mut on_size,
                    &mut sink,
                )
                .await
        };
        match (result, write_error) {
            (_, Some(e)) => Err(e.into()),
            (Err(e), None) => Err(e.into()),
            (Ok(()), None) => Ok(()),
        }
    }
}

/// A capture session: the save destination made right, the buffer drained, shots, and the
/// settings it changed restored by [`CaptureSession::finish`].
pub struct CaptureSession<'a> {
    cam: &'a mut Camera,
    saver: &'a Saver,
    options: CaptureOptions,
    cancel: Cancel,
    /// Settings changed for the capture, with their value before.
    restore: Vec<(PropertyCode, Value)>,
    shots: u32,
    reconnects: u32,
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
    async fn ensure_destination(
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
    async fn settle_after_connect(&mut self, observer: &mut dyn Observer) {
        let model = self.cam.device_info().model.to_ascii_uppercase();
        let slow = SLOW_STARTERS
            .iter()
            .any(|m| model == *m || model.strip_prefix(m).is_some_and(|r| r == "A"));
        if !slow {
            return;
        }
        let ready = self.cam.opened_at() + STARTUP_SETTLE;
        loop {
            let now = self.cam.link().now();
            if now >= ready {
                observer.wait_done();
                return;
            }
            observer.waiting(
                "the camera to get ready",
                now.saturating_sub(self.cam.opened_at()),
                STARTUP_SETTLE,
            );
            let step = (ready - now).min(self.options.poll.max(Duration::from_millis(10)));
            self.cam.wait_events(step).await;
        }
    }

    /// Changes `code` to `value` for the session (restored by `finish`).
    async fn set_for_session(
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

    /// After a lost connection: reconnect (or give up); other errors pass through.
    async fn recover(
        &mut self,
        error: CameraError,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        if !error.is_connection_lost() {
            return Err(error.into());
        }
        self.reconnects += 1;
        if self.reconnects > self.options.max_reconnects {
            return Err(CaptureError::TooManyReconnects(self.reconnects - 1));
        }
        observer.notice(&format!(
            "connection lost ({error}); reconnecting (for up to {} s)",
            self.options.reconnect_for.as_secs()
        ));
        let budget = self.options.reconnect_for;
        if self.cancel.is_cancelled() {
            // Finishing after Ctrl-C: a short try to save and restore what is left.
            self.cam
                .reconnect(budget.min(Duration::from_secs(10)))
                .await?;
        } else {
            let cancel = self.cancel.clone();
            tokio::select! {
                r = self.cam.reconnect(budget) => r?,
                _ = cancel.cancelled() => {
                    return Err(CaptureError::ConnectionDropped(
                        "and the wait for the camera was interrupted",
                    ));
                }
            }
        }
        observer.notice("reconnected");
        Ok(())
    }

    /// Every property, freshly read, reconnecting if needed.
    async fn props(&mut self, observer: &mut dyn Observer) -> Result<AllPropInfo, CaptureError> {
        loop {
            match self.cam.properties().await {
                Ok(p) => return Ok(p),
                Err(e) => self.recover(e, observer).await?,
            }
        }
    }

    /// A button, reconnecting if needed. `Ok(false)`: the connection was lost and renewed
    /// (the camera released every button when it went).
    async fn press(
        &mut self,
        code: PropertyCode,
        pressed: bool,
        observer: &mut dyn Observer,
    ) -> Result<bool, CaptureError> {
        match self.cam.button(code, pressed).await {
            Ok(()) => Ok(true),
            Err(e) => {
                self.recover(e, observer).await?;
                Ok(false)
            }
        }
    }

    /// Downloads every image waiting in the camera (while 0xD215 ≥ 0x8000) as part of `shot`.
    pub async fn drain(
        &mut self,
        shot: u32,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        let mut out = Vec::new();
        let mut settings = None;
        loop {
            let props = self.props(observer).await?;
            if !images_ready(pending_raw(&props)) {
                return Ok(out);
            }
            let settings = settings
                .get_or_insert_with(|| ShotSettings::from_props(&props))
                .clone();
            match self.download_one(shot, settings, observer).await? {
                Some(d) => out.push(d),
                // 0xD215 claims an object but there is none (seen on an ILCE-6400): stop
                // rather than loop.
                None => return Ok(out),
            }
        }
    }

    /// One object from 0xFFFFC001 to disk (0xD215 said one is ready). Retries after a lost
    /// connection; `None` if the camera has no object after all.
    async fn download_one(
        &mut self,
        shot: u32,
        settings: ShotSettings,
        observer: &mut dyn Observer,
    ) -> Result<Option<Downloaded>, CaptureError> {
        loop {
            let meta = match self.cam.waiting_object().await {
                Ok(m) => m,
                Err(CameraError::Response { code, .. })
                    if code == ResponseCode::INVALID_OBJECT_HANDLE =>
                {
                    return Ok(None);
                }
                Err(e) => {
                    self.recover(e, observer).await?;
                    if images_ready(pending_raw(&self.props(observer).await?)) {
                        continue;
                    }
                    return Ok(None);
                }
            };
            if meta.size == Some(0) && meta.filename.is_empty() {
                return Ok(None);
            }
            observer.download_started(&meta);
            let mut file = self.saver.begin(&meta, shot.max(1))?;
            match self.cam.fetch_object(&mut file, meta.size, observer).await {
                Ok(()) => {
                    let saved = file.finish()?;
                    self.reconnects = 0;
                    let d = Downloaded {
                        file: saved,
                        shot,
                        settings,
                    };
                    observer.saved(&d);
                    return Ok(Some(d));
                }
                Err(CaptureError::Camera(e)) if e.is_connection_lost() => {
                    if let Err(gone) = self.recover(e, observer).await {
                        // The camera is gone. A whole image is saved; a partial one is not:
                        // the camera keeps an image it has not finished sending (even across
                        // power cycles), so the next run fetches it.
                        if meta.size == Some(file.written()) {
                            if let Ok(saved) = file.finish() {
                                observer.saved(&Downloaded {
                                    file: saved,
                                    shot,
                                    settings,
                                });
                            }
                        }
                        return Err(gone);
                    }
                    // Is the same object still waiting? Then fetch it again from the start.
                    let same = match self.props(observer).await {
                        Ok(p) if images_ready(pending_raw(&p)) => {
                            matches!(self.cam.waiting_object().await, Ok(m) if m == meta)
                        }
                        Ok(_) => false,
                        Err(e) => {
                            let _ = file.keep_incomplete();
                            return Err(e);
                        }
                    };
                    if same {
                        drop(file);
                        continue;
                    }
                    // The camera counted it as read: never throw away what arrived.
                    let got = file.written();
                    if meta.size == Some(got) {
                        let saved = file.finish()?;
                        let d = Downloaded {
                            file: saved,
                            shot,
                            settings,
                        };
                        observer.saved(&d);
                        return Ok(Some(d));
                    }
                    let path = file.keep_incomplete()?;
                    return Err(CaptureError::Incomplete {
                        path,
                        got,
                        expected: meta.size,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until 0xD215 shows images ready (`true`), or `limit` passes (`false`).
    async fn wait_ready(
        &mut self,
        limit: Duration,
        observer: &mut dyn Observer,
    ) -> Result<bool, CaptureError> {
        let start = self.cam.link().now();
        loop {
            let p = self.props(observer).await?;
            if images_ready(pending_raw(&p)) {
                observer.wait_done();
                return Ok(true);
            }
            let elapsed = self.cam.link().now().saturating_sub(start);
            if elapsed >= limit {
                observer.wait_done();
                return Ok(false);
            }
            observer.waiting("the image", elapsed, limit);
            self.cam.wait_events(self.options.poll).await;
        }
    }

    /// Takes one shot of `kind` and downloads its files.
    pub async fn shoot(
        &mut self,
        kind: ShotKind,
        observer: &mut dyn Observer,
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
        observer.shot_started(shot, self.cam.link().now());

        // Half press and focus.
        let want_af = self.options.autofocus && !manual_focus(&props);
        if want_af {
            let state = match self.cam.half_press(self.options.focus_timeout).await {
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
        let released_ok = match kind {
            ShotKind::Single => {
                self.cam.link_mut().sleep(self.options.hold).await;
                true
            }
            ShotKind::Bulb(d) => {
                self.hold_for(pressed_at + d, observer).await;
                true
            }
            ShotKind::Burst(d) => {
                self.burst(pressed_at + d, shot, &settings, &mut out, observer)
                    .await?
            }
        };
        if released_ok {
            if let Err(e) = self.cam.button_timed(control::S2_BUTTON, false).await {
                self.recover(e, observer).await?;
            } else {
                self.press(control::S1_BUTTON, false, observer).await?;
            }
        }

        // Wait for the image(s) and download them.
        let limit = exposure * 2 + self.options.ready_margin;
        if matches!(kind, ShotKind::Burst(_)) {
            // The last frames may still be exposing or writing: keep fetching until 0xD215 has
            // stayed at 0 for a while.
            let settle = (exposure * 2).max(Duration::from_secs(1)) + Duration::from_millis(500);
            let started = self.cam.link().now();
            let mut quiet_since = started;
            loop {
                let now = self.cam.link().now();
                if now.saturating_sub(started) > limit {
                    return Err(CaptureError::Timeout(limit, "the last frames of the burst"));
                }
                let p = self.props(observer).await?;
                let raw = pending_raw(&p);
                if images_ready(raw) {
                    let got = self.drain(shot, observer).await?;
                    if got.is_empty() {
                        // 0xD215 claims images that are not there: that counts as quiet.
                        if now.saturating_sub(quiet_since) >= settle {
                            self.reconnects = 0;
                            return Ok(out);
                        }
                        self.cam.wait_events(self.options.poll).await;
                    } else {
                        out.extend(got);
                        quiet_since = self.cam.link().now();
                    }
                } else if raw != 0 || now.saturating_sub(quiet_since) < settle {
                    self.cam.wait_events(self.options.poll).await;
                } else {
                    self.reconnects = 0;
                    return Ok(out);
                }
            }
        }
        if !self.wait_ready(limit, observer).await? {
            return Err(CaptureError::Timeout(
                limit,
                "the camera to deliver the image",
            ));
        }
        let files = self.drain(shot, observer).await?;
        out.extend(files.into_iter().map(|mut d| {
            d.settings = settings.clone();
            d
        }));
        Ok(out)
    }

    /// Holds the shutter until `until` (bulb), with a countdown; Ctrl-C ends it early.
    async fn hold_for(&mut self, until: Duration, observer: &mut dyn Observer) {
        loop {
            let now = self.cam.link().now();
            if now >= until || self.cancel.is_cancelled() {
                return;
            }
            let left = until - now;
            observer.countdown(left);
            if self.cancel.is_cancelled() {
                observer.notice("interrupted: closing the shutter and saving the image");
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
                    observer.notice("interrupted: closing the shutter and saving the image");
                    return;
                }
            }
        }
    }

    /// Keeps S2 pressed until `until` (continuous drive), downloading frames as the camera
    /// makes them ready, so a small buffer never stalls the burst. `Ok(false)` if the
    /// connection dropped (the camera then released the shutter itself).
    async fn burst(
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
            if images_ready(pending_raw(&p)) {
                if let Some(d) = self.download_one(shot, settings.clone(), observer).await? {
                    out.push(d);
                    continue;
                }
            }
            let wait = self.options.poll.min(until.saturating_sub(now));
            self.cam.wait_events(wait).await;
        }
    }

    /// A timelapse: `count` shots of `kind`, shot `k` starting at `start + k × interval` on a
    /// fixed grid (a slow shot never shifts the later ones). Ctrl-C stops before the next shot.
    /// `on_shot` hears each shot's result; an error ends the series unless it returns `true`
    /// (go on).
    pub async fn series(
        &mut self,
        kind: ShotKind,
        count: u32,
        interval: Duration,
        observer: &mut dyn Observer,
        on_shot: &mut (dyn FnMut(u32, &ShotResult) -> bool + Send),
    ) -> Result<(), CaptureError> {
        let start = self.cam.link().now();
        for k in 0..count {
            if self.cancel.is_cancelled() {
                break;
            }
            let slot = start + interval * k;
            let now = self.cam.link().now();
            if now > slot + interval && !interval.is_zero() {
                observer.notice(&format!(
                    "shot {} is {:.1} s late (the previous one took longer than the interval)",
                    k + 1,
                    (now - slot).as_secs_f64()
                ));
            }
            if slot > now {
                let cancel = self.cancel.clone();
                let link = self.cam.link_mut();
                tokio::select! {
                    _ = link.sleep_until(slot) => {}
                    _ = cancel.cancelled() => break,
                }
            }
            let result = self.shoot(kind, observer).await;
            let go_on = on_shot(k + 1, &result);
            if let Err(e) = result {
                if !go_on {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Waits up to `limit` for images shot with the camera's own button and downloads them
    /// (tethering). Returns what arrived (possibly nothing).
    pub async fn tether_once(
        &mut self,
        limit: Duration,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        let p = self.props(observer).await?;
        if images_ready(pending_raw(&p)) {
            let got = self.drain(0, observer).await?;
            if !got.is_empty() {
                self.reconnects = 0;
                return Ok(got);
            }
        }
        let cancel = self.cancel.clone();
        let poll = limit.min(self.options.poll.max(Duration::from_millis(10)));
        tokio::select! {
            _ = self.cam.wait_events(poll) => {}
            _ = cancel.cancelled() => return Ok(Vec::new()),
        }
        Ok(Vec::new())
    }

    /// Releases the buttons and restores the settings changed for the capture. Call it whatever
    /// happened before; it reports the first failure after trying everything.
    pub async fn finish(mut self, observer: &mut dyn Observer) -> Result<(), CaptureError> {
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
