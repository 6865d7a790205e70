//! The astronomy camera: one per served body, over the camera service. The ASCOM Alpaca
//! server and the INDI driver are thin adapters over [`AstroCamera`] (and its [`Focuser`]).
//!
//! - **Session**: [`AstroCamera::connect`] checks the camera is there, reads its properties and
//!   remembers the still file format, which [`AstroCamera::disconnect`] restores (and, where a
//!   tokio runtime still runs, dropping the last clone does too).
//! - **Exposure**: [`AstroCamera::start_exposure`] validates, plans ([`exposure::plan`]), and
//!   returns at once; a task sets the file format and the shutter speed when they differ,
//!   shoots through the service (`Single` at a listed speed, `Bulb` timed by the host), waits
//!   for the file, and decodes it once into a shared [`Frame`]. [`AstroCamera::state`] follows
//!   the service's exposure status ([`AstroState`]).
//! - **Gain** is the ISO ([`GainList`]), **the focuser** the lens's near/far steps
//!   ([`Focuser`]).
//!
//! Nothing here touches bytes, a transport or a timer of the camera's: the service does.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use sonyctl_camera::save::Saver;
use sonyctl_camera::{Cancel, CaptureOptions, ShotKind};
use sonyctl_ptp::{ObjectFormatCode, PropertyCode, Value};
use sonyctl_service::{Event, ExposureState, Properties, ServiceHandle, ShotOptions};
use sonyctl_sony::bodies;
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::{ExposureProgram, StillFormat, still_format_property};

use crate::drive::{Focuser, FocuserOptions};
use crate::error::AstroError;
use crate::exposure::{self, DEFAULT_BULB_ABOVE, ListedSpeeds, Plan};
use crate::frame::{self, Frame, ReadoutMode, Subframe};
use crate::gain::GainList;
use crate::state::AstroState;

/// How a device behaves (command-line and setup options).
#[derive(Clone, Debug)]
pub struct DeviceOptions {
    /// BULB timed by the host above this length (`--bulb-above`, default 30 s).
    pub bulb_above: Duration,
    /// Keep every ARW/JPEG here (`--output DIR`); `None`: a private temporary folder, each
    /// file deleted once decoded.
    pub output: Option<PathBuf>,
    /// How the service shoots. Autofocus is off by default (stars defeat it, and a failed
    /// focus would refuse the shot); the rest is the facade's default.
    pub capture: CaptureOptions,
    /// The focuser's mode and range.
    pub focuser: FocuserOptions,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        DeviceOptions {
            bulb_above: DEFAULT_BULB_ABOVE,
            output: None,
            capture: CaptureOptions {
                autofocus: false,
                ..CaptureOptions::default()
            },
            focuser: FocuserOptions::default(),
        }
    }
}

/// One exposure as a client asks for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExposureRequest {
    /// Seconds (Alpaca's Duration); 0 is a bias frame at the fastest speed.
    pub duration: f64,
    /// Alpaca's Light: recorded, otherwise ignored (the body has no shutter to keep closed;
    /// covering the lens for darks is the user's job).
    pub light: bool,
    /// The part of the frame to send; `None`: the whole frame, whatever its size (a body the
    /// table does not know, before its first frame).
    pub subframe: Option<Subframe>,
    /// Binning across and down: 1 only.
    pub bin: (u32, u32),
    /// RAW or JPEG.
    pub readout: ReadoutMode,
}

/// The sensor as known now: from the body table once connected, from the last frame of each
/// readout mode once one exists.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorInfo {
    /// The camera's model (DeviceInfo).
    pub model: String,
    /// The sensor's name and size (body table), `None` for a body the table does not know.
    pub sensor_name: Option<String>,
    /// Width and height of the RAW active area (the body table's, then the last RAW file's);
    /// `None` until known.
    pub raw_size: Option<(u32, u32)>,
    /// Width and height of the JPEG: the body table's effective pixels (its largest JPEG),
    /// then the last JPEG's (a smaller image size or another aspect ratio set on the body is
    /// learnt from the first JPEG); `None` until known.
    pub jpeg_size: Option<(u32, u32)>,
    /// The RAW white level (MaxADU); `None` until known.
    pub max_adu: Option<u32>,
    /// Pixel pitch in µm (PixelSizeX/Y), `None` for a body the table does not know.
    pub pixel_size_um: Option<f64>,
    /// True once the RAW size and white level come from a decoded file.
    pub from_frame: bool,
}

impl SensorInfo {
    /// The frame's size in a readout mode (CameraXSize/YSize, FITS NAXIS1/2), if known.
    pub fn size_for(&self, mode: ReadoutMode) -> Option<(u32, u32)> {
        match mode {
            ReadoutMode::Raw => self.raw_size,
            ReadoutMode::Jpeg => self.jpeg_size,
        }
    }

    /// MaxADU of a readout mode: the RAW white level, 255 for 8-bit JPEG.
    pub fn max_adu_for(&self, mode: ReadoutMode) -> Option<u32> {
        match mode {
            ReadoutMode::Raw => self.max_adu,
            ReadoutMode::Jpeg => Some(255),
        }
    }
}

/// One reading of the exposure, taken under one lock (the state and ImageReady agree).
#[derive(Clone, Debug, PartialEq)]
pub struct ExposureSnapshot {
    /// Where the exposure stands.
    pub state: AstroState,
    /// An image is ready.
    pub image_ready: bool,
    /// 0 to 100: the state's progress, and 100 once an image is ready (the exposure is
    /// complete).
    pub percent_completed: u8,
    /// When the last exposure's shutter opened (UTC) and how long it really was.
    pub last: Option<(SystemTime, Duration)>,
}

/// The longest exposure the device takes: the service's limit on a held shutter.
pub const EXPOSURE_MAX: Duration = ShotKind::MAX_HELD;

/// The exposure's timing resolution: 1 ms. A bulb is timed by the host with tokio's timer,
/// whose resolution is a millisecond; listed speeds are exact.
pub const EXPOSURE_RESOLUTION: f64 = 0.001;

/// Where a running exposure is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Setting the file format and the shutter speed.
    Preparing,
    /// The service shoots; `true` once the shutter was seen open.
    Capturing(bool),
    /// The file is being decoded.
    Decoding,
}

struct Running {
    id: u64,
    phase: Phase,
    plan: Plan,
    cancel: Option<Cancel>,
    aborted: bool,
    stopped: bool,
    /// When StopExposure came (this computer's clock).
    stop_at: Option<SystemTime>,
}

struct Shared {
    options: DeviceOptions,
    connected: bool,
    /// The still format at connection: `(property, raw value)`.
    format_at_connect: Option<(PropertyCode, u64)>,
    /// Whether an exposure changed the format since.
    format_changed: bool,
    sensor: Option<SensorInfo>,
    running: Option<Running>,
    /// The task of the last exposure started (awaited by a disconnect before the file format
    /// is restored).
    task: Option<tokio::task::JoinHandle<()>>,
    next_id: u64,
    error: Option<String>,
    last: Option<Arc<Frame>>,
    image_ready: bool,
    /// The UTC start and the length of the last exposure that opened the shutter.
    last_exposure: Option<(SystemTime, Duration)>,
    temp: Option<Arc<tempfile::TempDir>>,
}

struct Inner {
    service: ServiceHandle,
    focuser: Focuser,
    shared: Mutex<Shared>,
}

impl Drop for Inner {
    /// Restores the file format when the last clone goes while connected, if a runtime is
    /// there to send it.
    fn drop(&mut self) {
        let shared = lock(&self.shared);
        if !shared.connected || !shared.format_changed {
            return;
        }
        let Some((code, raw)) = shared.format_at_connect else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let service = self.service.clone();
            rt.spawn(async move {
                let _ = service.set_raw(&hex(code), i128::from(raw)).await;
            });
        }
    }
}

/// An astronomy camera over one body. Cheap to clone; every clone is the same device.
#[derive(Clone)]
pub struct AstroCamera {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AstroCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AstroCamera")
            .field("connected", &self.connected())
            .finish()
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Every update under the lock is a few assignments: a panic cannot leave it half-made.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A property's name for the service: its code in hex.
fn hex(code: PropertyCode) -> String {
    format!("0x{:04X}", code.0)
}

fn current(props: &Properties, code: PropertyCode) -> Option<u64> {
    props.all.get(code).and_then(|d| d.current.as_u64())
}

impl AstroCamera {
    /// A device over `service`, not connected yet.
    pub fn new(service: ServiceHandle, options: DeviceOptions) -> AstroCamera {
        let focuser = Focuser::new(service.clone(), options.focuser.clone());
        AstroCamera {
            inner: Arc::new(Inner {
                service,
                focuser,
                shared: Mutex::new(Shared {
                    options,
                    connected: false,
                    format_at_connect: None,
                    format_changed: false,
                    sensor: None,
                    running: None,
                    task: None,
                    next_id: 1,
                    error: None,
                    last: None,
                    image_ready: false,
                    last_exposure: None,
                    temp: None,
                }),
            }),
        }
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        lock(&self.inner.shared)
    }

    fn connected_shared(&self) -> Result<MutexGuard<'_, Shared>, AstroError> {
        let s = self.shared();
        if !s.connected {
            return Err(AstroError::NotConnected);
        }
        Ok(s)
    }

    fn check_connected(&self) -> Result<(), AstroError> {
        self.connected_shared().map(drop)
    }

    /// The service this device runs over.
    pub fn service(&self) -> &ServiceHandle {
        &self.inner.service
    }

    /// The focuser (the same for every clone).
    pub fn focuser(&self) -> &Focuser {
        &self.inner.focuser
    }

    /// The options now.
    pub fn options(&self) -> DeviceOptions {
        self.shared().options.clone()
    }

    /// Changes the BULB threshold (setup).
    pub fn set_bulb_above(&self, bulb_above: Duration) {
        self.shared().options.bulb_above = bulb_above;
    }

    /// Changes where files are kept (setup), from the next exposure.
    pub fn set_output(&self, output: Option<PathBuf>) {
        self.shared().options.output = output;
    }

    /// Starts the camera's session: the camera must be connected to the service; its
    /// properties are read, the still file format remembered (restored by
    /// [`disconnect`](Self::disconnect)) and the sensor taken from the body table. The
    /// focuser connects on its own ([`Focuser::connect`]). Connecting again is harmless.
    pub async fn connect(&self) -> Result<(), AstroError> {
        if self.connected() {
            return Ok(());
        }
        let service = &self.inner.service;
        if !service.status().connected {
            return Err(AstroError::Camera(
                "the camera is not connected (the service is reconnecting)".into(),
            ));
        }
        let props = service.properties().await?;
        let model = service.status().model;
        let format = still_format_property(|c| props.all.get(c).is_some())
            .and_then(|code| Some((code, props.all.get(code)?.current.as_u64()?)));
        let body = bodies::body(&model);
        let sensor = SensorInfo {
            model: model.clone(),
            sensor_name: body.map(|b| b.sensor_name.to_string()),
            raw_size: body.map(|b| b.active),
            jpeg_size: body.map(|b| b.effective),
            max_adu: body.map(|b| u32::from(b.white_level)),
            pixel_size_um: body.map(|b| b.pixel_size_um()),
            from_frame: false,
        };
        {
            let mut s = self.shared();
            s.format_at_connect = format;
            s.format_changed = false;
            s.sensor = Some(sensor);
            s.error = None;
            s.connected = true;
        }
        Ok(())
    }

    /// Ends the camera's session: an exposure under way is aborted and its task awaited, then
    /// the file format restored if an exposure changed it (so that no setting of the task's
    /// lands after the restore). The focuser is not touched. Harmless when not connected.
    pub async fn disconnect(&self) -> Result<(), AstroError> {
        let (restore, task, temp) = {
            let mut s = self.shared();
            if !s.connected {
                return Ok(());
            }
            if let Some(r) = s.running.as_mut() {
                r.aborted = true;
                if let Some(c) = &r.cancel {
                    c.abort();
                }
            }
            s.connected = false;
            let restore = s.format_at_connect.filter(|_| s.format_changed);
            s.format_changed = false;
            (restore, s.task.take(), s.temp.take())
        };
        if let Some(task) = task {
            // The task checks the abort before each setting and before the shot; a capture
            // under way ends with the abort.
            let _ = task.await;
        }
        drop(temp);
        if let Some((code, raw)) = restore {
            self.inner
                .service
                .set_raw(&hex(code), i128::from(raw))
                .await?;
        }
        Ok(())
    }

    /// The session is on.
    pub fn connected(&self) -> bool {
        self.shared().connected
    }

    /// The sensor as known now.
    pub fn sensor(&self) -> Result<SensorInfo, AstroError> {
        let s = self.connected_shared()?;
        s.sensor.clone().ok_or(AstroError::NotConnected)
    }

    /// CameraXSize/YSize in a readout mode: the RAW active area or the JPEG's size
    /// (ValueNotSet for a body the table does not know, before its first frame in that mode).
    pub fn camera_size(&self, mode: ReadoutMode) -> Result<(u32, u32), AstroError> {
        self.sensor()?.size_for(mode).ok_or_else(|| {
            AstroError::ValueNotSet("the frame size is known after the first exposure".into())
        })
    }

    /// The readout modes the body offers now: RAW (first) only when its file-format property
    /// lists a RAW value, then JPEG.
    pub fn readout_modes(&self) -> Result<Vec<ReadoutMode>, AstroError> {
        self.check_connected()?;
        let props = self.props()?;
        let mut modes = Vec::new();
        if format_choice(&props, ReadoutMode::Raw).is_some() {
            modes.push(ReadoutMode::Raw);
        }
        modes.push(ReadoutMode::Jpeg);
        Ok(modes)
    }

    fn props(&self) -> Result<Arc<Properties>, AstroError> {
        self.inner.service.cached_properties().ok_or_else(|| {
            AstroError::Camera("the camera's settings have not been read yet".into())
        })
    }

    /// The shutter speeds the body lists now (0xD20D, or 0xD19F), with the property that sets
    /// them.
    fn listed_speeds(&self, props: &Properties) -> (ListedSpeeds, PropertyCode) {
        let model = self.inner.service.status().model;
        for code in [prop::SHUTTER_SPEED, prop::EXTENDED_SHUTTER_SPEED] {
            if let Some(d) = props.all.get(code) {
                let listed = ListedSpeeds::for_model(d, &model);
                if !listed.speeds.is_empty() {
                    return (listed, code);
                }
            }
        }
        (ListedSpeeds::default(), prop::SHUTTER_SPEED)
    }

    /// ExposureMin: the fastest listed speed, in seconds; while the body lists none (the mode
    /// dial off M), its fastest shutter from the body table, so that the sensor's facts stay
    /// readable and the exposure itself says what is wrong.
    pub fn exposure_min(&self) -> Result<f64, AstroError> {
        self.check_connected()?;
        let props = self.props()?;
        let (listed, _) = self.listed_speeds(&props);
        listed
            .bounds()
            .map(|(min, _)| min)
            .or_else(|| bodies::body(&self.inner.service.status().model).map(|b| b.fastest_shutter))
            .map(|min| min.as_secs_f64())
            .ok_or_else(|| AstroError::ValueNotSet("the camera lists no shutter speed".into()))
    }

    /// ExposureMax: the longest bulb the service holds ([`EXPOSURE_MAX`], 24 h), in seconds.
    pub fn exposure_max(&self) -> Result<f64, AstroError> {
        self.check_connected()?;
        Ok(EXPOSURE_MAX.as_secs_f64())
    }

    /// ExposureResolution ([`EXPOSURE_RESOLUTION`]), in seconds.
    pub fn exposure_resolution(&self) -> Result<f64, AstroError> {
        self.check_connected()?;
        Ok(EXPOSURE_RESOLUTION)
    }

    /// Starts an exposure and returns at once (the capture runs in a task this device owns).
    ///
    /// InvalidValue: a negative, NaN or too long duration, binning other than 1, a subframe
    /// outside the frame. InvalidOperation: an exposure under way, the mode dial not on M, a
    /// RAW readout the body cannot give now.
    pub async fn start_exposure(&self, req: ExposureRequest) -> Result<(), AstroError> {
        if !req.duration.is_finite() || req.duration < 0.0 {
            return Err(AstroError::InvalidValue(format!(
                "the exposure's duration must be 0 or more seconds, not {}",
                req.duration
            )));
        }
        if req.duration > EXPOSURE_MAX.as_secs_f64() {
            return Err(AstroError::InvalidValue(format!(
                "the exposure's duration must be at most {} s",
                EXPOSURE_MAX.as_secs()
            )));
        }
        if req.bin != (1, 1) {
            return Err(AstroError::InvalidValue(format!(
                "binning {}×{} is not offered: 1 only",
                req.bin.0, req.bin.1
            )));
        }
        let (size, options) = {
            let s = self.connected_shared()?;
            if s.running.is_some() {
                return Err(AstroError::InvalidOperation(
                    "an exposure is under way".into(),
                ));
            }
            (
                s.sensor.as_ref().and_then(|x| x.size_for(req.readout)),
                s.options.clone(),
            )
        };
        match (req.subframe, size) {
            (Some(sub), Some((w, h))) => sub.check(w, h)?,
            (Some(sub), None) if sub.start_x != 0 || sub.start_y != 0 => {
                return Err(AstroError::InvalidValue(
                    "the frame size is known after the first exposure: take a full frame first"
                        .into(),
                ));
            }
            _ => {}
        }
        let service = &self.inner.service;
        if !service.status().connected {
            return Err(AstroError::Camera(
                "the camera's connection is lost; the service is reconnecting".into(),
            ));
        }
        // Read now, not the service's snapshot: the speed to set is decided from it, and a
        // stale snapshot would skip a setting the body does not have.
        let props = service.properties().await?;
        let program = current(&props, prop::EXPOSURE_PROGRAM).and_then(ExposureProgram::from_value);
        if program.is_some_and(|p| !p.is_manual()) {
            return Err(AstroError::InvalidOperation(
                "set the mode dial to M".into(),
            ));
        }
        let format_change = match format_choice(&props, req.readout) {
            Some(change) => change,
            None => {
                return Err(AstroError::InvalidOperation(format!(
                    "the camera cannot write {} now (its file format offers none)",
                    req.readout.label()
                )));
            }
        };
        let (listed, shutter_code) = self.listed_speeds(&props);
        let requested = Duration::try_from_secs_f64(req.duration).map_err(|_| {
            AstroError::InvalidValue(format!("{} s is not a duration", req.duration))
        })?;
        let plan = exposure::plan(requested, &listed.durations(), options.bulb_above)
            .map_err(|e| AstroError::InvalidOperation(e.to_string()))?;
        let shutter = match plan {
            Plan::Listed(speed) => {
                let raw = listed.raw_for(speed).ok_or_else(|| {
                    AstroError::Camera("the planned shutter speed is not listed".into())
                })?;
                (current(&props, shutter_code) != Some(raw)).then_some((shutter_code, raw))
            }
            Plan::Bulb(_) => None,
        };
        let iso = props
            .all
            .get(prop::ISO)
            .map(|d| sonyctl_sony::format_value(prop::ISO, &d.current));
        let (dir, keep) = self.output_dir(&options)?;
        let saver = Saver::new(&dir, None)
            .map_err(|e| AstroError::Camera(format!("the output folder: {e}")))?;
        let id = {
            let mut s = self.connected_shared()?;
            if s.running.is_some() {
                return Err(AstroError::InvalidOperation(
                    "an exposure is under way".into(),
                ));
            }
            let id = s.next_id;
            s.next_id += 1;
            s.running = Some(Running {
                id,
                phase: Phase::Preparing,
                plan,
                cancel: None,
                aborted: false,
                stopped: false,
                stop_at: None,
            });
            s.error = None;
            s.image_ready = false;
            // The previous frame goes now, not when the next is decoded: a server holds one
            // frame, not two (a front end still sending it keeps its own `Arc`).
            s.last = None;
            if format_change.is_some() {
                s.format_changed = true;
            }
            id
        };
        let job = Job {
            id,
            req,
            plan,
            format_change,
            shutter,
            iso,
            model: service.status().model,
            saver,
            keep,
            capture: options.capture,
        };
        let task = tokio::spawn(run(self.inner.clone(), job));
        self.shared().task = Some(task);
        Ok(())
    }

    /// The folder the next exposure saves into, and whether its files are kept.
    fn output_dir(&self, options: &DeviceOptions) -> Result<(PathBuf, bool), AstroError> {
        if let Some(dir) = &options.output {
            return Ok((dir.clone(), true));
        }
        let mut s = self.shared();
        if s.temp.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("sonyctl-astro-")
                .tempdir()
                .map_err(|e| AstroError::Camera(format!("a temporary folder: {e}")))?;
            s.temp = Some(Arc::new(dir));
        }
        let dir = s
            .temp
            .as_ref()
            .map(|t| t.path().to_path_buf())
            .ok_or_else(|| AstroError::Camera("no temporary folder".into()))?;
        Ok((dir, false))
    }

    /// Stops the exposure now and keeps the image (a bulb is closed early; a listed speed runs
    /// to its end: the body times it, and cancelling it before the shutter opened would lose
    /// the image). Nothing when none runs.
    pub fn stop_exposure(&self) -> Result<(), AstroError> {
        let mut s = self.connected_shared()?;
        if let Some(r) = s.running.as_mut() {
            r.stopped = true;
            r.stop_at.get_or_insert_with(SystemTime::now);
            if let (Some(c), Plan::Bulb(_)) = (&r.cancel, r.plan) {
                c.cancel();
            }
        }
        Ok(())
    }

    /// Aborts the exposure: closes the shutter and discards the frame; back to Idle. Nothing
    /// (and no error) when none runs.
    pub fn abort_exposure(&self) -> Result<(), AstroError> {
        let mut s = self.connected_shared()?;
        if let Some(r) = s.running.as_mut() {
            r.aborted = true;
            if let Some(c) = &r.cancel {
                c.abort();
            }
        }
        s.error = None;
        Ok(())
    }

    /// Where the exposure stands.
    pub fn state(&self) -> Result<AstroState, AstroError> {
        let s = self.connected_shared()?;
        Ok(self.state_of(&s))
    }

    fn state_of(&self, s: &Shared) -> AstroState {
        match s.running.as_ref().map(|r| r.phase) {
            Some(Phase::Preparing) => AstroState::Waiting,
            Some(Phase::Decoding) => AstroState::Downloading { progress: 1.0 },
            Some(Phase::Capturing(opened)) => {
                match AstroState::from_status(&self.inner.service.status().exposure) {
                    // The service's state from before this capture, or its end.
                    AstroState::Idle | AstroState::Error(_) if opened => {
                        AstroState::Downloading { progress: 1.0 }
                    }
                    AstroState::Idle | AstroState::Error(_) => AstroState::Waiting,
                    busy => busy,
                }
            }
            None => match &s.error {
                Some(e) => AstroState::Error(e.clone()),
                None => AstroState::Idle,
            },
        }
    }

    /// The state, ImageReady, PercentCompleted and the last exposure, read together.
    pub fn exposure(&self) -> Result<ExposureSnapshot, AstroError> {
        let s = self.connected_shared()?;
        let state = self.state_of(&s);
        let percent_completed = if s.image_ready && state == AstroState::Idle {
            100
        } else {
            state.percent_completed()
        };
        Ok(ExposureSnapshot {
            state,
            image_ready: s.image_ready,
            percent_completed,
            last: s.last_exposure,
        })
    }

    /// An image is ready ([`last_frame`](Self::last_frame)); false again when the next
    /// exposure starts.
    pub fn image_ready(&self) -> Result<bool, AstroError> {
        Ok(self.connected_shared()?.image_ready)
    }

    /// The last exposure's failure, if it failed.
    pub fn last_error(&self) -> Option<String> {
        self.shared().error.clone()
    }

    /// The last decoded frame, until the next exposure starts (also after a disconnect).
    pub fn last_frame(&self) -> Option<Arc<Frame>> {
        self.shared().last.clone()
    }

    /// The image of the last exposure: ValueNotSet when there is none ready.
    pub fn image(&self) -> Result<Arc<Frame>, AstroError> {
        let s = self.connected_shared()?;
        match (&s.last, s.image_ready) {
            (Some(f), true) => Ok(f.clone()),
            _ => Err(AstroError::ValueNotSet("no image has been taken".into())),
        }
    }

    /// LastExposureDuration: the length really used, in seconds (ValueNotSet before any).
    pub fn last_exposure_duration(&self) -> Result<f64, AstroError> {
        let s = self.connected_shared()?;
        s.last_exposure
            .map(|(_, d)| d.as_secs_f64())
            .ok_or_else(|| AstroError::ValueNotSet("no exposure has been taken".into()))
    }

    /// LastExposureStartTime: when the shutter opened (UTC; ValueNotSet before any).
    pub fn last_exposure_start(&self) -> Result<SystemTime, AstroError> {
        let s = self.connected_shared()?;
        s.last_exposure
            .map(|(t, _)| t)
            .ok_or_else(|| AstroError::ValueNotSet("no exposure has been taken".into()))
    }

    /// The ISO values as gains (Alpaca's Gains, INDI's `CCD_ISO`).
    pub fn gains(&self) -> Result<GainList, AstroError> {
        self.check_connected()?;
        let props = self.props()?;
        Ok(props
            .all
            .get(prop::ISO)
            .map(GainList::from_desc)
            .unwrap_or_default())
    }

    /// The index of the current ISO in [`gains`](Self::gains); ValueNotSet on AUTO or a value
    /// not in the list.
    pub fn gain(&self) -> Result<usize, AstroError> {
        let gains = self.gains()?;
        let props = self.props()?;
        current(&props, prop::ISO)
            .and_then(|v| u32::try_from(v).ok())
            .and_then(|raw| gains.index_of(raw))
            .ok_or_else(|| {
                AstroError::ValueNotSet("the ISO is on AUTO or not one of the gains".into())
            })
    }

    /// Sets the ISO to gain `index`: out of range is InvalidValue, a camera that cannot take
    /// it now InvalidOperation.
    pub async fn set_gain(&self, index: i64) -> Result<(), AstroError> {
        let gains = self.gains()?;
        let Some(gain) = gains.get(index) else {
            return Err(AstroError::InvalidValue(format!(
                "gain {index} is not one of the {} listed",
                gains.gains.len()
            )));
        };
        let props = self.props()?;
        if let Some(d) = props.all.get(prop::ISO) {
            if d.enabled != sonyctl_sony::Enabled::ENABLED {
                return Err(AstroError::InvalidOperation(
                    "the ISO cannot be set now (the camera shows it only)".into(),
                ));
            }
        }
        self.inner
            .service
            .set_raw("iso", i128::from(gain.raw))
            .await?;
        Ok(())
    }

    /// Any camera property by name (`iso`, `shutter`, a name of the property list, a hex
    /// code), as the camera displays it (Alpaca actions, INDI extra properties).
    pub async fn get_property(&self, name: &str) -> Result<String, AstroError> {
        self.check_connected()?;
        Ok(self.inner.service.get(name).await?.display)
    }

    /// Sets any camera property from text, as `sonyctl set` does; returns the value displayed
    /// once the camera reports it.
    pub async fn set_property(&self, name: &str, text: &str) -> Result<String, AstroError> {
        self.check_connected()?;
        let outcome = self.inner.service.set(name, text).await?;
        Ok(sonyctl_sony::format_value(outcome.code, &outcome.after))
    }
}

/// The still-format change a readout needs: `Some(None)` when the present format gives it,
/// `Some(Some((code, raw)))` for the value to set, `None` when the body cannot give it now.
/// RAW takes RAW alone, else RAW+JPEG; JPEG takes JPEG alone (the highest quality offered).
fn format_choice(props: &Properties, mode: ReadoutMode) -> Option<Option<(PropertyCode, u64)>> {
    let Some(code) = still_format_property(|c| props.all.get(c).is_some()) else {
        // No format property: the body writes what it writes; JPEG is assumed.
        return (mode == ReadoutMode::Jpeg).then_some(None);
    };
    let desc = props.all.get(code)?;
    let now = desc
        .current
        .as_u64()
        .and_then(|v| StillFormat::from_value(code, v));
    let settable: Vec<(u64, StillFormat)> = desc
        .settable_values()
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_u64)
        .filter_map(|v| Some((v, StillFormat::from_value(code, v)?)))
        .collect();
    let best = |kind: StillFormat| {
        settable
            .iter()
            .filter(|(_, f)| *f == kind)
            .map(|&(v, _)| v)
            .max()
    };
    let wanted = match mode {
        ReadoutMode::Raw => [StillFormat::Raw, StillFormat::RawJpeg]
            .into_iter()
            .find(|&k| best(k).is_some() || now == Some(k))?,
        ReadoutMode::Jpeg => StillFormat::Jpeg,
    };
    if now == Some(wanted) {
        return Some(None);
    }
    best(wanted).map(|v| Some((code, v)))
}

/// What the exposure task does.
struct Job {
    id: u64,
    req: ExposureRequest,
    plan: Plan,
    format_change: Option<(PropertyCode, u64)>,
    shutter: Option<(PropertyCode, u64)>,
    iso: Option<String>,
    model: String,
    saver: Saver,
    keep: bool,
    capture: CaptureOptions,
}

/// The exposure task: settings, the shot, the decode; its end is recorded in the shared state.
async fn run(inner: Arc<Inner>, job: Job) {
    let result = expose(&inner, &job).await;
    let mut s = lock(&inner.shared);
    let Some(running) = s.running.take_if(|r| r.id == job.id) else {
        return;
    };
    match result {
        Ok(Some(frame)) if !running.aborted => {
            let frame = Arc::new(frame);
            // A file's size (and a RAW's white level) replace the body table's, each in its
            // readout mode.
            if let Some(sensor) = s.sensor.as_mut() {
                let size = Some((frame.width, frame.height));
                match frame.readout {
                    ReadoutMode::Raw => {
                        sensor.raw_size = size;
                        sensor.max_adu = Some(frame.max_adu);
                        sensor.from_frame = true;
                    }
                    ReadoutMode::Jpeg => sensor.jpeg_size = size,
                }
            }
            s.last = Some(frame);
            s.image_ready = true;
        }
        Ok(_) => {}
        Err(_) if running.aborted => {}
        Err(e) => s.error = Some(e.to_string()),
    }
}

fn set_phase(inner: &Inner, id: u64, phase: Phase) {
    let mut s = lock(&inner.shared);
    if let Some(r) = s.running.as_mut().filter(|r| r.id == id) {
        r.phase = phase;
    }
}

fn is_aborted(inner: &Inner, id: u64) -> bool {
    let s = lock(&inner.shared);
    s.running.as_ref().is_none_or(|r| r.id != id || r.aborted)
}

/// Sets the format and the speed, shoots, and decodes: `None` when aborted or stopped before
/// the shutter opened.
async fn expose(inner: &Arc<Inner>, job: &Job) -> Result<Option<Frame>, AstroError> {
    let service = &inner.service;
    // An abort (or a disconnect) while preparing: nothing more reaches the camera.
    if is_aborted(inner, job.id) {
        return Ok(None);
    }
    if let Some((code, raw)) = job.format_change {
        service
            .set_raw(&hex(code), i128::from(raw))
            .await
            .map_err(|e| AstroError::Camera(format!("setting the file format: {e}")))?;
    }
    if is_aborted(inner, job.id) {
        return Ok(None);
    }
    if let Some((code, raw)) = job.shutter {
        service
            .set_raw(&hex(code), i128::from(raw))
            .await
            .map_err(|e| AstroError::Camera(format!("setting the shutter speed: {e}")))?;
    }
    if is_aborted(inner, job.id) {
        return Ok(None);
    }
    let kind = match job.plan {
        Plan::Listed(_) => ShotKind::Single,
        Plan::Bulb(d) => ShotKind::Bulb(d),
    };
    let mut events = service.events();
    let pressed_at = SystemTime::now();
    let handle = service
        .capture(
            kind,
            ShotOptions {
                capture: job.capture.clone(),
                saver: Arc::new(job.saver.clone()),
            },
        )
        .await
        .map_err(|e| AstroError::Camera(e.to_string()))?;
    {
        let mut s = lock(&inner.shared);
        if let Some(r) = s.running.as_mut().filter(|r| r.id == job.id) {
            let cancel = handle.canceller();
            if r.aborted {
                cancel.abort();
            } else if r.stopped && matches!(r.plan, Plan::Bulb(_)) {
                // A listed speed stopped early runs to its end (see `stop_exposure`).
                cancel.cancel();
            }
            r.cancel = Some(cancel);
            r.phase = Phase::Capturing(false);
        }
    }
    let mut opened: Option<SystemTime> = None;
    let mut length: Option<Duration> = None;
    let wait = handle.wait();
    tokio::pin!(wait);
    let report = loop {
        tokio::select! {
            r = &mut wait => break r,
            e = events.next() => match e {
                Some(Event::Exposure(st)) => {
                    if st.state == ExposureState::Exposing && opened.is_none() {
                        opened = Some(SystemTime::now());
                        set_phase(inner, job.id, Phase::Capturing(true));
                    }
                    if st.started.is_some() {
                        length = st.length.or(length);
                    }
                }
                Some(_) => {}
                // The service ended: its answer comes on `wait`.
                None => break wait.await,
            }
        }
    };
    // Events the loop had no time to read (the capture's last reports).
    while let Some(e) = events.try_next() {
        if let Event::Exposure(st) = e {
            if st.started.is_some() {
                // Seen only after the shot: now would be after the shutter closed.
                opened = opened.or(Some(pressed_at));
                length = st.length.or(length);
            }
        }
    }
    let report = report.map_err(|e| {
        if service.status().connected {
            AstroError::Camera(format!("the exposure failed: {e}"))
        } else {
            AstroError::Camera(format!(
                "the connection to the camera was lost during the exposure: {e}"
            ))
        }
    })?;
    if report.aborted || is_aborted(inner, job.id) {
        return Ok(None);
    }
    let wanted = match job.req.readout {
        ReadoutMode::Raw => sonyctl_sony::codes::format::ARW,
        ReadoutMode::Jpeg => ObjectFormatCode::EXIF_JPEG,
    };
    let file = report
        .files
        .iter()
        .find(|d| ObjectFormatCode(d.file.format) == wanted);
    let Some(file) = file else {
        if report.stopped && report.files.is_empty() {
            // Stopped before the shutter opened (still focusing, in an autofocus mode): no
            // picture, no failure.
            return Ok(None);
        }
        return Err(AstroError::Camera(format!(
            "the camera delivered no {} file",
            job.req.readout.label()
        )));
    };
    let started = opened.unwrap_or(pressed_at);
    let stop_at = lock(&inner.shared)
        .running
        .as_ref()
        .filter(|r| r.id == job.id)
        .and_then(|r| r.stop_at);
    let duration = match job.plan {
        // A bulb stopped early reports the length it really had.
        Plan::Bulb(d) if report.stopped => stopped_bulb_length(d, length, opened, stop_at),
        // What the body really used, as the service read it at the shot, over the plan.
        Plan::Listed(_) => length.unwrap_or(job.plan.actual()),
        plan => plan.actual(),
    };
    {
        let mut s = lock(&inner.shared);
        s.last_exposure = Some((started, duration));
    }
    set_phase(inner, job.id, Phase::Decoding);
    let path = file.file.path.clone();
    let mode = job.req.readout;
    let decoded = tokio::task::spawn_blocking(move || frame::decode_file(&path, mode))
        .await
        .map_err(|e| AstroError::Camera(format!("decoding stopped: {e}")));
    let decoded = decoded.and_then(|r| r);
    // Files not asked to be kept go once decoded; one that failed to decode stays (the only
    // copy of that exposure), and the error says where.
    if decoded.is_ok() && !job.keep {
        for d in &report.files {
            let _ = std::fs::remove_file(&d.file.path);
        }
    }
    let decoded = decoded.map_err(|e| {
        AstroError::Camera(format!(
            "{e}; the file is kept: {}",
            file.file.path.display()
        ))
    })?;
    let body_white = bodies::body(&job.model).map(|b| u32::from(b.white_level));
    let max_adu = match mode {
        ReadoutMode::Raw => decoded
            .white_level
            .map(u32::from)
            .or(body_white)
            .unwrap_or(u32::from(u16::MAX)),
        ReadoutMode::Jpeg => 255,
    };
    Ok(Some(Frame {
        width: decoded.width,
        height: decoded.height,
        subframe: job
            .req
            .subframe
            .unwrap_or(Subframe::full(decoded.width, decoded.height))
            .clamped(decoded.width, decoded.height),
        pixels: decoded.pixels,
        cfa: decoded.cfa,
        black_level: decoded.black_level,
        max_adu,
        started,
        duration,
        plan: job.plan,
        iso: job.iso.clone(),
        model: job.model.clone(),
        path: job.keep.then(|| file.file.path.clone()),
        light: job.req.light,
        readout: mode,
    }))
}

/// How long a bulb stopped early was open: the service's length when it reports one shorter
/// than planned (the release less the opening, on the link's clock); else the opening to
/// the stop request on this computer's clock; the plan only when neither is known or the stop
/// came after the bulb's end.
fn stopped_bulb_length(
    planned: Duration,
    reported: Option<Duration>,
    opened: Option<SystemTime>,
    stop_at: Option<SystemTime>,
) -> Duration {
    if let Some(r) = reported.filter(|r| *r < planned) {
        return r;
    }
    let measured = opened
        .zip(stop_at)
        .and_then(|(o, s)| s.duration_since(o).ok());
    measured.unwrap_or(planned).min(planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_bulb_is_as_long_as_it_was_open() {
        let d = Duration::from_secs;
        let t0 = SystemTime::UNIX_EPOCH + d(1_000);
        // The service's shorter length first.
        assert_eq!(
            stopped_bulb_length(d(60), Some(d(12)), Some(t0), Some(t0 + d(13))),
            d(12)
        );
        // No length from the service, or only the planned one: the opening to the stop.
        assert_eq!(
            stopped_bulb_length(d(60), None, Some(t0), Some(t0 + d(5))),
            d(5)
        );
        assert_eq!(
            stopped_bulb_length(d(60), Some(d(60)), Some(t0), Some(t0 + d(5))),
            d(5)
        );
        // A stop after the end, or nothing known: the plan.
        assert_eq!(
            stopped_bulb_length(d(60), None, Some(t0), Some(t0 + d(70))),
            d(60)
        );
        assert_eq!(stopped_bulb_length(d(60), None, None, None), d(60));
    }
}
