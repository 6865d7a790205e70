//! The adapter: the Alpaca ports over the astronomy device of `sonyctl-astro`.
//!
//! [`AstroCamera`] decides everything about the camera (which shutter speed or bulb an
//! exposure uses, the state it is in, the gains, the sizes, what is refused and why) and its
//! [`Focuser`](sonyctl_astro::Focuser) everything about the lens; this module only translates
//! between them and the ports: [`AstroError`] to the Alpaca numbers, [`AstroState`] to
//! CameraState, the shared [`Frame`] to [`AlpacaFrame`] rows (borrowed, never copied).
//!
//! The one thing it keeps is what Alpaca has and the device does not: the readout mode a
//! client chose (the device takes it with each exposure). The camera and the focuser of a
//! body connect and disconnect on their own ([`AstroCamera::connect`],
//! [`Focuser::connect`](sonyctl_astro::Focuser::connect)): the focuser never starts or ends
//! the camera's session or exposure, nor the camera the focuser's count or move.
//!
//! ```no_run
//! # async fn run(service: sonyctl_service::ServiceHandle) -> Result<(), Box<dyn std::error::Error>> {
//! use sonyctl_astro::DeviceOptions;
//! use sonyctl_server::alpaca::astro::AstroBody;
//! use sonyctl_server::alpaca::{AlpacaConfig, AlpacaDevices, AlpacaServer};
//! let body = AstroBody::new(service, DeviceOptions::default()).await?;
//! let mut devices = AlpacaDevices::new();
//! body.add_to(&mut devices); // camera n and focuser n
//! let bound = AlpacaServer::bind(AlpacaConfig::default(), devices).await?;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sonyctl_astro::state::AstroState;
use sonyctl_astro::{AstroCamera, AstroError, DeviceOptions, Frame, Pixels, ReadoutMode};
use sonyctl_service::{ServiceError, ServiceHandle};

use super::ports::{
    AlpacaCamera, AlpacaDevice, AlpacaError, AlpacaFocuser, AlpacaFrame, AlpacaFuture, CameraSetup,
    CameraSetupChange, CameraState, DeviceIdentity, ExposureRequest, ExposureStatus, FocusMove,
    FocuserStatus, FrameKind, FrameRow, LastExposure, SensorInfo, SensorType,
};

/// The actions `SupportedActions` lists (matched without regard to case).
pub const ACTIONS: [&str; 2] = ["getproperty", "setproperty"];

/// An [`AstroError`] as the Alpaca error of the same kind (the device's failures are driver
/// error 0x500).
fn alpaca(e: AstroError) -> AlpacaError {
    let message = e.to_string();
    match e {
        AstroError::NotConnected => AlpacaError::not_connected(message),
        AstroError::InvalidValue(_) => AlpacaError::invalid_value(message),
        AstroError::ValueNotSet(_) => AlpacaError::value_not_set(message),
        AstroError::InvalidOperation(_) => AlpacaError::invalid_operation(message),
        AstroError::NotImplemented(_) => AlpacaError::not_implemented(message),
        // `AstroError` is non-exhaustive: a kind added later is the device's failure.
        _ => AlpacaError::driver(0, message),
    }
}

/// One body served over Alpaca: its camera and its focuser, sharing one [`AstroCamera`].
#[derive(Clone)]
pub struct AstroBody {
    /// The camera device (ICameraV4).
    pub camera: Arc<AstroCameraPort>,
    /// The focuser device (IFocuserV4).
    pub focuser: Arc<AstroFocuserPort>,
}

impl std::fmt::Debug for AstroBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AstroBody")
            .field("camera", &self.camera.identity.unique_id)
            .finish_non_exhaustive()
    }
}

impl AstroBody {
    /// The devices of the body behind `service` (read for its model and serial; not
    /// connected yet).
    pub async fn new(
        service: ServiceHandle,
        options: DeviceOptions,
    ) -> Result<AstroBody, ServiceError> {
        let (model, serial) = service
            .with_camera(|cam| {
                let di = cam.device_info();
                (di.model.clone(), di.serial_number.clone())
            })
            .await?;
        let device = AstroCamera::new(service, options);
        let model = printable(&model);
        let version = env!("CARGO_PKG_VERSION");
        let driver_version = version.split('.').take(2).collect::<Vec<_>>().join(".");
        let identity = |kind: &str, what: &str| DeviceIdentity {
            name: format!(
                "Sony {model}{}",
                if kind == "camera" { "" } else { " lens" }
            ),
            description: format!("{what} of the Sony {model}, through sonyctl"),
            driver_info: format!(
                "sonyctl {version}: the camera service and its astronomy device over ASCOM Alpaca"
            ),
            driver_version: driver_version.clone(),
            unique_id: unique_id(kind, &model, &serial),
        };
        Ok(AstroBody {
            camera: Arc::new(AstroCameraPort {
                identity: identity("camera", "The camera"),
                device: device.clone(),
                readout: Mutex::new(None),
            }),
            focuser: Arc::new(AstroFocuserPort {
                identity: identity("focuser", "The lens's manual focus, counted in steps,"),
                device,
            }),
        })
    }

    /// Adds the camera and the focuser to `devices` (one number each, in order).
    pub fn add_to(&self, devices: &mut super::AlpacaDevices) {
        devices.add_body(self.camera.clone(), self.focuser.clone());
    }

    /// The astronomy device both share.
    pub fn device(&self) -> &AstroCamera {
        &self.camera.device
    }

    /// Ends the session (aborts an exposure, halts a move, restores the file format) whatever
    /// the clients connected: for a server that is stopping.
    pub async fn close(&self) -> Result<(), AstroError> {
        let device = &self.camera.device;
        device.focuser().disconnect();
        device.disconnect().await
    }
}

/// Text from the camera with control characters left out.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// `sonyctl-{kind}-{model}-{serial}` in lower-case letters and digits: the same for a body
/// and a device type on every run, different between the camera and the focuser.
pub fn unique_id(kind: &str, model: &str, serial: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let mut id = format!("sonyctl-{kind}-{}", clean(model));
    let serial = clean(serial);
    if !serial.is_empty() {
        id.push('-');
        id.push_str(&serial);
    }
    id
}

/// The camera device of a body.
pub struct AstroCameraPort {
    identity: DeviceIdentity,
    device: AstroCamera,
    /// The readout mode a client chose; `None`: the device's first (RAW where offered).
    readout: Mutex<Option<ReadoutMode>>,
}

impl AstroCameraPort {
    fn device(&self) -> &AstroCamera {
        &self.device
    }

    /// The readout mode now: the client's choice while the body offers it, else the first.
    fn readout(&self) -> Result<ReadoutMode, AlpacaError> {
        let modes = self.device().readout_modes().map_err(alpaca)?;
        let chosen = *self.readout.lock().unwrap_or_else(|p| p.into_inner());
        Ok(chosen
            .filter(|m| modes.contains(m))
            .or_else(|| modes.first().copied())
            .unwrap_or(ReadoutMode::Jpeg))
    }
}

impl AlpacaDevice for AstroCameraPort {
    fn identity(&self) -> DeviceIdentity {
        self.identity.clone()
    }

    fn connected(&self) -> bool {
        self.device().connected()
    }

    fn connect(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move { self.device().connect().await.map_err(alpaca) })
    }

    fn disconnect(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move { self.device().disconnect().await.map_err(alpaca) })
    }

    fn supported_actions(&self) -> Vec<String> {
        ACTIONS.iter().map(|a| (*a).to_string()).collect()
    }

    /// `getproperty` with `Parameters` a property's name (`iso`, `shutter`, `0x500E`): its
    /// value as the camera displays it. `setproperty` with `name=value`: the value displayed
    /// once the camera took it.
    fn action(&self, action: String, parameters: String) -> AlpacaFuture<'_, String> {
        Box::pin(async move {
            let device = self.device();
            match action.to_ascii_lowercase().as_str() {
                "getproperty" => device.get_property(parameters.trim()).await.map_err(alpaca),
                "setproperty" => {
                    let Some((name, value)) = parameters.split_once('=') else {
                        return Err(AlpacaError::invalid_value(
                            "setproperty takes Parameters as name=value (e.g. iso=800)",
                        ));
                    };
                    device
                        .set_property(name.trim(), value.trim())
                        .await
                        .map_err(alpaca)
                }
                _ => Err(AlpacaError::action_not_implemented(format!(
                    "the action {action:?} is not supported: {}",
                    ACTIONS.join(", ")
                ))),
            }
        })
    }
}

impl AlpacaCamera for AstroCameraPort {
    fn sensor(&self) -> AlpacaFuture<'_, SensorInfo> {
        Box::pin(async move {
            let device = self.device();
            let sensor = device.sensor().map_err(alpaca)?;
            let mode = self.readout()?;
            let pixel = sensor.pixel_size_um.unwrap_or(0.0);
            let bayer_offset = match mode {
                ReadoutMode::Raw => device
                    .last_frame()
                    .filter(|f| f.readout == ReadoutMode::Raw)
                    .and_then(|f| f.bayer_offset()),
                ReadoutMode::Jpeg => None,
            };
            Ok(SensorInfo {
                size: sensor.size_for(mode),
                max_adu: sensor.max_adu_for(mode),
                pixel_size_x: pixel,
                pixel_size_y: pixel,
                sensor_name: sensor.sensor_name.unwrap_or(sensor.model),
                sensor_type: match mode {
                    ReadoutMode::Raw => SensorType::Rggb,
                    ReadoutMode::Jpeg => SensorType::Color,
                },
                bayer_offset,
                exposure_min: device.exposure_min().map_err(alpaca)?,
                exposure_max: device.exposure_max().map_err(alpaca)?,
                exposure_resolution: device.exposure_resolution().map_err(alpaca)?,
            })
        })
    }

    fn exposure(&self) -> AlpacaFuture<'_, ExposureStatus> {
        Box::pin(async move {
            let e = self.device().exposure().map_err(alpaca)?;
            Ok(ExposureStatus {
                state: camera_state(&e.state),
                percent_completed: e.percent_completed,
                image_ready: e.image_ready,
                last: e.last.map(|(started, duration)| LastExposure {
                    duration: duration.as_secs_f64(),
                    started,
                }),
                error: match e.state {
                    AstroState::Error(message) => Some(message),
                    _ => None,
                },
            })
        })
    }

    fn start_exposure(&self, request: ExposureRequest) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            let readout = self.readout()?;
            self.device()
                .start_exposure(sonyctl_astro::ExposureRequest {
                    duration: request.duration,
                    light: request.light,
                    subframe: request.subframe.map(|s| sonyctl_astro::Subframe {
                        start_x: s.start_x,
                        start_y: s.start_y,
                        num_x: s.num_x,
                        num_y: s.num_y,
                    }),
                    bin: (1, 1),
                    readout,
                })
                .await
                .map_err(alpaca)
        })
    }

    fn stop_exposure(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move { self.device().stop_exposure().map_err(alpaca) })
    }

    fn abort_exposure(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move { self.device().abort_exposure().map_err(alpaca) })
    }

    /// Gains, and ValueNotSet like Gain while the body's ISO is AUTO (or another value not
    /// in the list): ConformU requires every gain member to fail when Gain does, and a gain
    /// the camera does not use would be a lie. Set the ISO on the body or with the
    /// `setproperty` action (`iso=800`) to leave AUTO.
    fn gains(&self) -> AlpacaFuture<'_, Vec<String>> {
        Box::pin(async move {
            let device = self.device();
            let gains = device.gains().map_err(alpaca)?;
            device.gain().map_err(alpaca)?;
            Ok(gains.labels())
        })
    }

    fn gain(&self) -> AlpacaFuture<'_, i32> {
        Box::pin(async move {
            let index = self.device().gain().map_err(alpaca)?;
            i32::try_from(index).map_err(|_| AlpacaError::driver(0, "the gain index is too large"))
        })
    }

    fn set_gain(&self, index: i32) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            self.device()
                .set_gain(i64::from(index))
                .await
                .map_err(alpaca)
        })
    }

    fn readout_modes(&self) -> AlpacaFuture<'_, Vec<String>> {
        Box::pin(async move {
            let modes = self.device().readout_modes().map_err(alpaca)?;
            Ok(modes.iter().map(|m| m.label().to_string()).collect())
        })
    }

    fn readout_mode(&self) -> AlpacaFuture<'_, i32> {
        Box::pin(async move {
            let modes = self.device().readout_modes().map_err(alpaca)?;
            let now = self.readout()?;
            let index = modes.iter().position(|m| *m == now).unwrap_or(0);
            i32::try_from(index).map_err(|_| AlpacaError::driver(0, "too many readout modes"))
        })
    }

    fn set_readout_mode(&self, index: i32) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            let modes = self.device().readout_modes().map_err(alpaca)?;
            let mode = usize::try_from(index)
                .ok()
                .and_then(|i| modes.get(i).copied())
                .ok_or_else(|| {
                    AlpacaError::invalid_value(format!("readout mode {index} is not offered"))
                })?;
            *self.readout.lock().unwrap_or_else(|p| p.into_inner()) = Some(mode);
            Ok(())
        })
    }

    fn image(&self) -> AlpacaFuture<'_, Option<Arc<dyn AlpacaFrame>>> {
        Box::pin(async move {
            match self.device().image() {
                Ok(frame) => Ok(Some(Arc::new(SharedFrame(frame)) as Arc<dyn AlpacaFrame>)),
                Err(AstroError::ValueNotSet(_)) => Ok(None),
                Err(e) => Err(alpaca(e)),
            }
        })
    }

    fn setup(&self) -> CameraSetup {
        let options = self.device().options();
        CameraSetup {
            bulb_above: options.bulb_above.as_secs_f64(),
            output: options.output.as_ref().map(|p| p.display().to_string()),
        }
    }

    fn apply_setup(&self, change: CameraSetupChange) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            let bulb_above = Duration::try_from_secs_f64(change.bulb_above).map_err(|_| {
                AlpacaError::invalid_value(format!(
                    "{} s is not a bulb threshold",
                    change.bulb_above
                ))
            })?;
            self.device().set_bulb_above(bulb_above);
            Ok(())
        })
    }
}

/// The CameraState of the device's state (the device decides the state; Alpaca numbers it).
fn camera_state(state: &AstroState) -> CameraState {
    match state {
        AstroState::Idle => CameraState::Idle,
        AstroState::Waiting => CameraState::Waiting,
        AstroState::Exposing { .. } => CameraState::Exposing,
        AstroState::Reading => CameraState::Reading,
        AstroState::Downloading { .. } => CameraState::Download,
        AstroState::Error(_) => CameraState::Error,
    }
}

/// The device's frame, read by the layer row by row from the one shared copy. The layer cuts
/// the subframe itself, so this is always the whole image.
struct SharedFrame(Arc<Frame>);

impl AlpacaFrame for SharedFrame {
    fn width(&self) -> u32 {
        self.0.width
    }

    fn height(&self) -> u32 {
        self.0.height
    }

    fn kind(&self) -> FrameKind {
        match self.0.pixels {
            Pixels::Bayer(_) => FrameKind::Mono16,
            Pixels::Rgb(_) => FrameKind::Rgb8,
        }
    }

    fn row(&self, y: u32) -> FrameRow<'_> {
        let w = self.0.width as usize;
        let y = y as usize;
        // Out of range gives an empty row, which the layer answers as a driver error.
        match &self.0.pixels {
            Pixels::Bayer(v) => FrameRow::Mono16(v.get(y * w..(y + 1) * w).unwrap_or(&[])),
            Pixels::Rgb(v) => FrameRow::Rgb8(v.get(y * w * 3..(y + 1) * w * 3).unwrap_or(&[])),
        }
    }
}

/// The focuser device of a body: the lens's near/far steps.
pub struct AstroFocuserPort {
    identity: DeviceIdentity,
    device: AstroCamera,
}

impl AstroFocuserPort {
    fn focuser(&self) -> &sonyctl_astro::Focuser {
        self.device.focuser()
    }
}

impl AlpacaDevice for AstroFocuserPort {
    fn identity(&self) -> DeviceIdentity {
        self.identity.clone()
    }

    fn connected(&self) -> bool {
        self.focuser().is_connected()
    }

    fn connect(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move { self.focuser().connect().await.map_err(alpaca) })
    }

    fn disconnect(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            self.focuser().disconnect();
            Ok(())
        })
    }
}

impl AlpacaFocuser for AstroFocuserPort {
    fn status(&self) -> AlpacaFuture<'_, FocuserStatus> {
        Box::pin(async move {
            let f = self.focuser();
            Ok(FocuserStatus {
                absolute: f.absolute(),
                is_moving: f.is_moving(),
                max_step: f.max_step(),
                max_increment: f.max_increment(),
                position: f.counted_position(),
            })
        })
    }

    fn move_focus(&self, target: FocusMove) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            let f = self.focuser();
            match target {
                FocusMove::To(position) => f.move_to(i64::from(position)).await,
                FocusMove::By(steps) => f.move_by(i64::from(steps)).await,
            }
            .map_err(alpaca)
        })
    }

    fn halt(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            self.focuser().halt();
            Ok(())
        })
    }

    fn absolute_mode(&self) -> bool {
        self.focuser().absolute()
    }

    fn set_absolute_mode(&self, absolute: bool) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            self.focuser().set_absolute(absolute);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_differ_by_device_type_and_are_stable() {
        let camera = unique_id("camera", "ILCE-7M3", "00000001-3282");
        assert_eq!(camera, "sonyctl-camera-ilce7m3-000000013282");
        assert_eq!(camera, unique_id("camera", "ILCE-7M3", "00000001-3282"));
        assert_ne!(camera, unique_id("focuser", "ILCE-7M3", "00000001-3282"));
        assert_ne!(camera, unique_id("camera", "ILCE-7M3", "00000002-3282"));
        assert_eq!(unique_id("camera", "X\u{7}", ""), "sonyctl-camera-x");
    }

    #[test]
    fn every_state_has_its_number() {
        let cases = [
            (AstroState::Idle, 0),
            (AstroState::Waiting, 1),
            (AstroState::Exposing { progress: 0.5 }, 2),
            (AstroState::Reading, 3),
            (AstroState::Downloading { progress: 1.0 }, 4),
            (AstroState::Error("x".into()), 5),
        ];
        for (state, number) in cases {
            assert_eq!(camera_state(&state).number(), number, "{state:?}");
        }
    }

    #[test]
    fn errors_keep_their_numbers() {
        let e = alpaca(AstroError::InvalidOperation(
            "set the mode dial to M".into(),
        ));
        assert_eq!(e.number, AlpacaError::INVALID_OPERATION);
        assert_eq!(e.message, "set the mode dial to M");
        for (e, number) in [
            (AstroError::NotConnected, 0x407),
            (AstroError::InvalidValue("x".into()), 0x401),
            (AstroError::ValueNotSet("x".into()), 0x402),
            (AstroError::InvalidOperation("x".into()), 0x40B),
            (AstroError::NotImplemented("x".into()), 0x400),
            (AstroError::Camera("x".into()), 0x500),
        ] {
            assert_eq!(alpaca(e.clone()).number, number, "{e:?}");
        }
    }
}
