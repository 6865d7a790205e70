//! The ports: what the Alpaca layer asks of a camera and of its lens (the focuser). An adapter
//! implements them over the real device; the layer never reaches a camera any other way.
//!
//! Every method that may touch the device returns an [`AlpacaFuture`] (a boxed future, so the
//! traits stay object-safe on Rust 1.85: the layer holds `Arc<dyn AlpacaCamera>`). Write them
//! as `Box::pin(async move { … })`. Quick, cached facts (identity, connected, setup values) are
//! plain methods and must not block.
//!
//! What the layer does itself, so that the adapter does not have to:
//! - refuses every device member with `NotConnected` (0x407) while
//!   [`AlpacaDevice::connected`] is false (the common members work unconnected);
//! - runs `connect`/`disconnect` in the background for the asynchronous `connect` and
//!   `disconnect` members and reports `connecting` while they run;
//! - keeps NumX/NumY/StartX/StartY/BinX/BinY, validates them at StartExposure (0x401) and cuts
//!   the subframe out of the frame the port returns (the port always returns the full frame);
//! - checks an index against [`AlpacaCamera::gains`] / [`AlpacaCamera::readout_modes`] before
//!   [`AlpacaCamera::set_gain`] / [`AlpacaCamera::set_readout_mode`] (0x401);
//! - clamps a focuser move to 0…MaxStep (absolute) or ±MaxIncrement (relative), as ConformU
//!   expects, and answers `Position` with NotImplemented for a relative focuser;
//! - answers every member the device does not have (cooler, pulse guide, offsets, …).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

/// The future every port method that may touch the device returns.
pub type AlpacaFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AlpacaError>> + Send + 'a>>;

/// An ASCOM error: its number (sent as `ErrorNumber`) and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (ASCOM error 0x{number:X})")]
pub struct AlpacaError {
    /// The Alpaca error number: one of the constants of this type, or 0x500…0xFFF for a
    /// driver error ([`AlpacaError::driver`]).
    pub number: u32,
    /// What went wrong, for people (never empty).
    pub message: String,
}

impl AlpacaError {
    /// 0x400: the member is not implemented.
    pub const NOT_IMPLEMENTED: u32 = 0x400;
    /// 0x401: a value out of range or not accepted.
    pub const INVALID_VALUE: u32 = 0x401;
    /// 0x402: the value has not been set yet (LastExposureDuration before any exposure).
    pub const VALUE_NOT_SET: u32 = 0x402;
    /// 0x407: the device is not connected.
    pub const NOT_CONNECTED: u32 = 0x407;
    /// 0x40B: the operation is not possible in the device's present state.
    pub const INVALID_OPERATION: u32 = 0x40B;
    /// 0x40C: the action named is not one the device supports.
    pub const ACTION_NOT_IMPLEMENTED: u32 = 0x40C;
    /// 0x500: the first driver-specific number.
    pub const DRIVER_BASE: u32 = 0x500;

    /// An error with `number`.
    pub fn new(number: u32, message: impl Into<String>) -> AlpacaError {
        let mut message = message.into();
        if message.is_empty() {
            message = format!("error 0x{number:X}");
        }
        AlpacaError { number, message }
    }

    /// 0x400 NotImplemented.
    pub fn not_implemented(message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::NOT_IMPLEMENTED, message)
    }

    /// 0x401 InvalidValue.
    pub fn invalid_value(message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::INVALID_VALUE, message)
    }

    /// 0x402 ValueNotSet.
    pub fn value_not_set(message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::VALUE_NOT_SET, message)
    }

    /// 0x407 NotConnected.
    pub fn not_connected(message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::NOT_CONNECTED, message)
    }

    /// 0x40B InvalidOperation.
    pub fn invalid_operation(message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::INVALID_OPERATION, message)
    }

    /// 0x40C ActionNotImplemented.
    pub fn action_not_implemented(message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::ACTION_NOT_IMPLEMENTED, message)
    }

    /// A driver error: 0x500 + `offset` (at most 0xFFF).
    pub fn driver(offset: u32, message: impl Into<String>) -> AlpacaError {
        AlpacaError::new(Self::DRIVER_BASE.saturating_add(offset).min(0xFFF), message)
    }
}

/// Who a device is: fixed for the life of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// `Name` and the management `DeviceName` (e.g. "Sony ILCE-7M3").
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `DriverInfo`.
    pub driver_info: String,
    /// `DriverVersion`, "n.n".
    pub driver_version: String,
    /// The management `UniqueID`: ASCII, from a space of at least 48 bits, stable across runs
    /// (made from the body's serial), and different for the camera and the focuser of one
    /// body (e.g. `sonyctl-camera-SERIAL` and `sonyctl-focuser-SERIAL`). The layer refuses
    /// to start with two devices of one type sharing an id.
    pub unique_id: String,
}

/// What the camera and the focuser have in common (the members every Alpaca device has).
pub trait AlpacaDevice: Send + Sync + 'static {
    /// Who it is.
    fn identity(&self) -> DeviceIdentity;

    /// True while connected (a cheap read: the layer calls it before every device member).
    fn connected(&self) -> bool;

    /// Connects; resolves once connected (or failed). The layer runs it in the background for
    /// the asynchronous `connect` member and awaits it for `Connected=true`. Connecting an
    /// already connected device succeeds.
    fn connect(&self) -> AlpacaFuture<'_, ()>;

    /// Disconnects (the layer as for [`AlpacaDevice::connect`]). Disconnecting a device that
    /// is not connected succeeds.
    fn disconnect(&self) -> AlpacaFuture<'_, ()>;

    /// The names `SupportedActions` lists (none by default).
    fn supported_actions(&self) -> Vec<String> {
        Vec::new()
    }

    /// Runs the action `action` (one of [`AlpacaDevice::supported_actions`], matched as the
    /// adapter likes) with its `parameters`; the string is `Action`'s `Value`. An unknown
    /// action: [`AlpacaError::action_not_implemented`] (the default).
    fn action(&self, action: String, parameters: String) -> AlpacaFuture<'_, String> {
        let _ = parameters;
        Box::pin(async move {
            Err(AlpacaError::action_not_implemented(format!(
                "the action {action:?} is not supported"
            )))
        })
    }
}

/// ASCOM SensorType.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SensorType {
    /// 0: monochrome.
    Monochrome,
    /// 1: colour, full RGB at every pixel (a JPEG).
    Color,
    /// 2: a Bayer matrix, RGGB counted from BayerOffsetX/Y (a RAW).
    Rggb,
}

impl SensorType {
    /// The number Alpaca sends.
    pub fn number(self) -> i32 {
        match self {
            SensorType::Monochrome => 0,
            SensorType::Color => 1,
            SensorType::Rggb => 2,
        }
    }
}

/// What the camera's sensor and exposures are, in the current readout mode (sizes can differ
/// between RAW and JPEG). Known from the body data once connected; the file's values once a
/// frame exists. A body without such data knows its size and white level only after its
/// first exposure: the layer then answers CameraXSize/YSize, NumX/NumY and MaxADU with
/// ValueNotSet (0x402) and takes a StartExposure of the full frame.
#[derive(Clone, Debug, PartialEq)]
pub struct SensorInfo {
    /// CameraXSize and CameraYSize: the size of the frame delivered in the current readout
    /// mode, in pixels; `None` until known.
    pub size: Option<(u32, u32)>,
    /// MaxADU (≥ 1): the white level of the samples; `None` until known.
    pub max_adu: Option<u32>,
    /// PixelSizeX in µm.
    pub pixel_size_x: f64,
    /// PixelSizeY in µm.
    pub pixel_size_y: f64,
    /// SensorName.
    pub sensor_name: String,
    /// SensorType.
    pub sensor_type: SensorType,
    /// BayerOffsetX/Y, for [`SensorType::Rggb`] (NotImplemented is answered without one).
    pub bayer_offset: Option<(u32, u32)>,
    /// ExposureMin in seconds.
    pub exposure_min: f64,
    /// ExposureMax in seconds.
    pub exposure_max: f64,
    /// ExposureResolution in seconds (0 = any duration).
    pub exposure_resolution: f64,
}

/// ASCOM CameraState.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CameraState {
    /// 0: idle (also once an image is ready).
    Idle,
    /// 1: waiting to start (the shutter not yet open).
    Waiting,
    /// 2: exposing.
    Exposing,
    /// 3: reading the sensor (the body's noise reduction counts here).
    Reading,
    /// 4: downloading the image.
    Download,
    /// 5: the exposure failed (the message is in [`ExposureStatus::error`]).
    Error,
}

impl CameraState {
    /// The number Alpaca sends.
    pub fn number(self) -> i32 {
        match self {
            CameraState::Idle => 0,
            CameraState::Waiting => 1,
            CameraState::Exposing => 2,
            CameraState::Reading => 3,
            CameraState::Download => 4,
            CameraState::Error => 5,
        }
    }
}

/// The exposure now.
#[derive(Clone, Debug, PartialEq)]
pub struct ExposureStatus {
    /// CameraState.
    pub state: CameraState,
    /// PercentCompleted, 0…100 (clamped by the layer).
    pub percent_completed: u8,
    /// ImageReady: the frame of the last exposure can be read ([`AlpacaCamera::image`]).
    pub image_ready: bool,
    /// The last exposure started, if any (LastExposureDuration and LastExposureStartTime
    /// answer ValueNotSet without one).
    pub last: Option<LastExposure>,
    /// Why the state is [`CameraState::Error`], if it is.
    pub error: Option<String>,
}

/// What the last exposure really was.
#[derive(Clone, Debug, PartialEq)]
pub struct LastExposure {
    /// LastExposureDuration: the duration really used (the listed speed chosen, the bulb
    /// time), in seconds.
    pub duration: f64,
    /// LastExposureStartTime: when the exposure started (sent in UTC).
    pub started: SystemTime,
}

/// The subframe: the window of the full frame an exposure delivers (binning is always 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subframe {
    /// StartX.
    pub start_x: u32,
    /// StartY.
    pub start_y: u32,
    /// NumX.
    pub num_x: u32,
    /// NumY.
    pub num_y: u32,
}

/// A StartExposure, as validated by the layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExposureRequest {
    /// Duration in seconds: ≥ 0 and ≤ ExposureMax (0 is a bias frame: use the fastest).
    pub duration: f64,
    /// Light: false for a dark or bias frame (without a shutter the camera cannot close).
    pub light: bool,
    /// The window the client will read (for the adapter's records; the layer cuts it);
    /// `None`: the full frame, whose size is not known yet ([`SensorInfo::size`]).
    pub subframe: Option<Subframe>,
}

/// The camera's setup page values, owned by the device.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraSetup {
    /// Exposures longer than this are timed by the computer in BULB, in seconds.
    pub bulb_above: f64,
    /// Where the original files are kept, if anywhere (shown, not changed from the page:
    /// a folder chosen by a web form would let any page holding the token write anywhere).
    pub output: Option<String>,
}

/// A change asked for from the camera's setup page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CameraSetupChange {
    /// A new bulb threshold in seconds (> 0 and at most
    /// [`CameraSetupChange::BULB_ABOVE_MAX`]: checked by the layer).
    pub bulb_above: f64,
}

impl CameraSetupChange {
    /// The largest bulb threshold the setup page takes, in seconds: a day, the longest
    /// exposure a camera held by the computer takes (ExposureMax).
    pub const BULB_ABOVE_MAX: f64 = 86_400.0;
}

/// An ASCOM camera (ICameraV4).
pub trait AlpacaCamera: AlpacaDevice {
    /// Sizes, sensor and exposure limits in the current readout mode.
    fn sensor(&self) -> AlpacaFuture<'_, SensorInfo>;

    /// The exposure now (CameraState, PercentCompleted, ImageReady, the last exposure).
    fn exposure(&self) -> AlpacaFuture<'_, ExposureStatus>;

    /// Starts an exposure and returns as soon as it is under way (asynchronous: the client
    /// polls [`AlpacaCamera::exposure`]). An exposure already running:
    /// InvalidOperation. A camera that cannot expose now (mode dial not on M):
    /// InvalidOperation saying what to do.
    fn start_exposure(&self, request: ExposureRequest) -> AlpacaFuture<'_, ()>;

    /// Ends the exposure early and keeps the image. When idle: no error.
    fn stop_exposure(&self) -> AlpacaFuture<'_, ()>;

    /// Ends the exposure and discards the image. When idle: no error; InvalidOperation when
    /// it cannot be aborted now (e.g. during the download).
    fn abort_exposure(&self) -> AlpacaFuture<'_, ()>;

    /// Gains: the ISO values settable, without AUTO ("ISO 800"); Gain is an index into it.
    fn gains(&self) -> AlpacaFuture<'_, Vec<String>>;

    /// Gain: the index of the current ISO in [`AlpacaCamera::gains`].
    fn gain(&self) -> AlpacaFuture<'_, i32>;

    /// Sets the ISO at `index` (checked against [`AlpacaCamera::gains`] by the layer); not
    /// settable now: InvalidOperation.
    fn set_gain(&self, index: i32) -> AlpacaFuture<'_, ()>;

    /// ReadoutModes ("RAW (RGGB)", "JPEG (RGB)").
    fn readout_modes(&self) -> AlpacaFuture<'_, Vec<String>>;

    /// ReadoutMode: the index of the current one.
    fn readout_mode(&self) -> AlpacaFuture<'_, i32>;

    /// Sets the readout mode at `index` (checked by the layer).
    fn set_readout_mode(&self, index: i32) -> AlpacaFuture<'_, ()>;

    /// The frame of the last exposure (the full frame; the layer cuts the subframe), once
    /// [`ExposureStatus::image_ready`]; `None` when there is none.
    fn image(&self) -> AlpacaFuture<'_, Option<Arc<dyn AlpacaFrame>>>;

    /// The setup page's values.
    fn setup(&self) -> CameraSetup;

    /// Applies a change from the setup page.
    fn apply_setup(&self, change: CameraSetupChange) -> AlpacaFuture<'_, ()>;
}

/// What a frame's samples are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// One u16 sample per pixel (a Bayer RAW): ImageArray rank 2, sent as UInt16.
    Mono16,
    /// Three u8 samples per pixel, R G B interleaved (a JPEG): rank 3, sent as Byte.
    Rgb8,
}

/// One row of a frame, left to right.
#[derive(Clone, Copy, Debug)]
pub enum FrameRow<'a> {
    /// `width` samples.
    Mono16(&'a [u16]),
    /// `width × 3` samples: R G B of pixel 0, of pixel 1, …
    Rgb8(&'a [u8]),
}

/// A decoded frame, shared read-only: the layer reads it row by row while it streams the
/// ImageArray and never copies it whole. Rows may live anywhere (a window of a larger buffer
/// is fine). A row of the wrong kind or length is answered as a driver error, never a panic.
pub trait AlpacaFrame: Send + Sync + 'static {
    /// Width in pixels.
    fn width(&self) -> u32;
    /// Height in pixels.
    fn height(&self) -> u32;
    /// The kind of every row.
    fn kind(&self) -> FrameKind;
    /// Row `y` (0 = top), for `y < height()`.
    fn row(&self, y: u32) -> FrameRow<'_>;
}

/// A focuser move, clamped by the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FocusMove {
    /// Absolute focuser: go to this position, 0…MaxStep.
    To(u32),
    /// Relative focuser: move by this many steps, −MaxIncrement…+MaxIncrement (positive =
    /// towards infinity).
    By(i32),
}

/// The focuser now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocuserStatus {
    /// Absolute: true when the position is counted (the default), false for a relative
    /// focuser (switched on the setup page).
    pub absolute: bool,
    /// IsMoving.
    pub is_moving: bool,
    /// MaxStep (≥ 1).
    pub max_step: u32,
    /// MaxIncrement, 1…MaxStep.
    pub max_increment: u32,
    /// Position (absolute only; counted, not measured), 0…MaxStep.
    pub position: u32,
}

/// An ASCOM focuser (IFocuserV4): the lens's focus, driven in steps.
pub trait AlpacaFocuser: AlpacaDevice {
    /// The focuser now.
    fn status(&self) -> AlpacaFuture<'_, FocuserStatus>;

    /// Starts a move and returns at once (asynchronous: the client polls IsMoving). Not
    /// possible now (autofocus on the body): InvalidOperation saying so.
    fn move_focus(&self, target: FocusMove) -> AlpacaFuture<'_, ()>;

    /// Halt: stops a move at the next step.
    fn halt(&self) -> AlpacaFuture<'_, ()>;

    /// The setup page's mode: true = absolute.
    fn absolute_mode(&self) -> bool;

    /// Switches between an absolute and a relative focuser (from the setup page).
    fn set_absolute_mode(&self, absolute: bool) -> AlpacaFuture<'_, ()>;
}
