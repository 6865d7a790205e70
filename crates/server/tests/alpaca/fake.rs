//! A scripted camera and focuser behind the Alpaca ports: the test moves the exposure on by
//! hand (no clock), and every call the layer makes is recorded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sonyctl_server::alpaca::{
    AlpacaCamera, AlpacaDevice, AlpacaError, AlpacaFocuser, AlpacaFrame, AlpacaFuture, CameraSetup,
    CameraSetupChange, CameraState, DeviceIdentity, ExposureRequest, ExposureStatus, FocusMove,
    FocuserStatus, FrameKind, FrameRow, LastExposure, SensorInfo, SensorType,
};

/// The sample a fake Bayer frame has at (x, y): known to the test without the server.
pub fn mono_sample(x: u32, y: u32) -> u16 {
    ((x * 7 + y * 131) % 65_521) as u16
}

/// The fake RGB frame's sample at (x, y, plane).
pub fn rgb_sample(x: u32, y: u32, plane: u32) -> u8 {
    ((x * 3 + y * 5 + plane * 100) % 256) as u8
}

/// A frame held row-major, as a decoder delivers it.
pub struct FakeFrame {
    width: u32,
    height: u32,
    mono: Vec<u16>,
    rgb: Vec<u8>,
    kind: FrameKind,
}

impl FakeFrame {
    pub fn mono(width: u32, height: u32) -> FakeFrame {
        let mut mono = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            for x in 0..width {
                mono.push(mono_sample(x, y));
            }
        }
        FakeFrame {
            width,
            height,
            mono,
            rgb: Vec::new(),
            kind: FrameKind::Mono16,
        }
    }

    pub fn rgb(width: u32, height: u32) -> FakeFrame {
        let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height {
            for x in 0..width {
                for p in 0..3 {
                    rgb.push(rgb_sample(x, y, p));
                }
            }
        }
        FakeFrame {
            width,
            height,
            mono: Vec::new(),
            rgb,
            kind: FrameKind::Rgb8,
        }
    }
}

impl AlpacaFrame for FakeFrame {
    fn width(&self) -> u32 {
        self.width
    }
    fn height(&self) -> u32 {
        self.height
    }
    fn kind(&self) -> FrameKind {
        self.kind
    }
    fn row(&self, y: u32) -> FrameRow<'_> {
        let w = self.width as usize;
        let y = y as usize;
        match self.kind {
            FrameKind::Mono16 => FrameRow::Mono16(&self.mono[y * w..(y + 1) * w]),
            FrameKind::Rgb8 => FrameRow::Rgb8(&self.rgb[y * w * 3..(y + 1) * w * 3]),
        }
    }
}

/// What the fake camera is and does.
pub struct CameraScript {
    pub width: u32,
    pub height: u32,
    pub gains: Vec<String>,
    pub gain: i32,
    pub readout_mode: i32,
    pub state: CameraState,
    pub percent: u8,
    pub image_ready: bool,
    pub last: Option<LastExposure>,
    pub frame: Option<Arc<dyn AlpacaFrame>>,
    pub started: Vec<ExposureRequest>,
    pub stopped: usize,
    pub aborted: usize,
    pub bulb_above: f64,
    pub connects: usize,
    /// False: a body whose size and white level are known after its first exposure.
    pub size_known: bool,
    /// The JPEG's size when it differs from the RAW's (`width` × `height`).
    pub jpeg_size: Option<(u32, u32)>,
}

pub struct FakeCamera {
    pub serial: String,
    pub connected: AtomicBool,
    /// A connect waits for this lock: a test holding it keeps a connect under way.
    pub connect_gate: tokio::sync::Mutex<()>,
    pub script: Mutex<CameraScript>,
}

impl FakeCamera {
    pub fn new(serial: &str, width: u32, height: u32) -> Arc<FakeCamera> {
        Arc::new(FakeCamera {
            serial: serial.into(),
            connected: AtomicBool::new(false),
            connect_gate: tokio::sync::Mutex::new(()),
            script: Mutex::new(CameraScript {
                width,
                height,
                gains: ["ISO 100", "ISO 200", "ISO 400", "ISO 800", "ISO 1600"]
                    .map(String::from)
                    .to_vec(),
                gain: 0,
                readout_mode: 0,
                state: CameraState::Idle,
                percent: 0,
                image_ready: false,
                last: None,
                frame: None,
                started: Vec::new(),
                stopped: 0,
                aborted: 0,
                bulb_above: 30.0,
                connects: 0,
                size_known: true,
                jpeg_size: None,
            }),
        })
    }

    pub fn s(&self) -> std::sync::MutexGuard<'_, CameraScript> {
        self.script.lock().unwrap()
    }

    /// The exposure moves on.
    pub fn progress(&self, state: CameraState, percent: u8) {
        let mut s = self.s();
        s.state = state;
        s.percent = percent;
    }

    /// The exposure ends with `frame` (the full frame).
    pub fn finish(&self, frame: FakeFrame) {
        let mut s = self.s();
        s.state = CameraState::Idle;
        s.percent = 100;
        s.image_ready = true;
        s.frame = Some(Arc::new(frame));
    }
}

fn ok<T: Send + 'static>(v: T) -> AlpacaFuture<'static, T> {
    Box::pin(async move { Ok(v) })
}

impl AlpacaDevice for FakeCamera {
    fn identity(&self) -> DeviceIdentity {
        DeviceIdentity {
            name: "Fake ILCE-7M3".into(),
            description: "a scripted camera".into(),
            driver_info: "sonyctl test fake".into(),
            driver_version: "0.1".into(),
            unique_id: format!("sonyctl-camera-{}", self.serial),
        }
    }
    fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
    fn connect(&self) -> AlpacaFuture<'_, ()> {
        Box::pin(async move {
            let _gate = self.connect_gate.lock().await;
            self.connected.store(true, Ordering::SeqCst);
            self.s().connects += 1;
            Ok(())
        })
    }
    fn disconnect(&self) -> AlpacaFuture<'_, ()> {
        self.connected.store(false, Ordering::SeqCst);
        ok(())
    }
    fn supported_actions(&self) -> Vec<String> {
        vec!["getproperty".into()]
    }
    fn action(&self, action: String, parameters: String) -> AlpacaFuture<'_, String> {
        Box::pin(async move {
            if action == "getproperty" {
                Ok(format!("value of {parameters}"))
            } else {
                Err(AlpacaError::action_not_implemented(format!("no {action}")))
            }
        })
    }
}

impl AlpacaCamera for FakeCamera {
    fn sensor(&self) -> AlpacaFuture<'_, SensorInfo> {
        let s = self.s();
        let rgb = s.readout_mode == 1;
        ok(SensorInfo {
            size: match s.jpeg_size {
                Some(size) if rgb => Some(size),
                _ => Some((s.width, s.height)),
            }
            .filter(|_| s.size_known),
            max_adu: Some(if rgb { 255 } else { 16383 }).filter(|_| s.size_known),
            pixel_size_x: 5.93,
            pixel_size_y: 5.93,
            sensor_name: "IMX410".into(),
            sensor_type: if rgb {
                SensorType::Color
            } else {
                SensorType::Rggb
            },
            bayer_offset: (!rgb).then_some((0, 0)),
            exposure_min: 1.0 / 8000.0,
            exposure_max: 3600.0,
            exposure_resolution: 0.0,
        })
    }
    fn exposure(&self) -> AlpacaFuture<'_, ExposureStatus> {
        let s = self.s();
        ok(ExposureStatus {
            state: s.state,
            percent_completed: s.percent,
            image_ready: s.image_ready,
            last: s.last.clone(),
            error: None,
        })
    }
    fn start_exposure(&self, request: ExposureRequest) -> AlpacaFuture<'_, ()> {
        let mut s = self.s();
        if matches!(s.state, CameraState::Exposing | CameraState::Waiting) {
            return Box::pin(async { Err(AlpacaError::invalid_operation("already exposing")) });
        }
        s.started.push(request);
        s.state = CameraState::Exposing;
        s.percent = 0;
        s.image_ready = false;
        s.frame = None;
        s.last = Some(LastExposure {
            duration: request.duration,
            started: SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_034_187_903),
        });
        ok(())
    }
    fn stop_exposure(&self) -> AlpacaFuture<'_, ()> {
        self.s().stopped += 1;
        ok(())
    }
    fn abort_exposure(&self) -> AlpacaFuture<'_, ()> {
        let mut s = self.s();
        s.aborted += 1;
        s.state = CameraState::Idle;
        s.image_ready = false;
        s.frame = None;
        ok(())
    }
    fn gains(&self) -> AlpacaFuture<'_, Vec<String>> {
        ok(self.s().gains.clone())
    }
    fn gain(&self) -> AlpacaFuture<'_, i32> {
        ok(self.s().gain)
    }
    fn set_gain(&self, index: i32) -> AlpacaFuture<'_, ()> {
        self.s().gain = index;
        ok(())
    }
    fn readout_modes(&self) -> AlpacaFuture<'_, Vec<String>> {
        ok(vec!["RAW (RGGB)".into(), "JPEG (RGB)".into()])
    }
    fn readout_mode(&self) -> AlpacaFuture<'_, i32> {
        ok(self.s().readout_mode)
    }
    fn set_readout_mode(&self, index: i32) -> AlpacaFuture<'_, ()> {
        self.s().readout_mode = index;
        ok(())
    }
    fn image(&self) -> AlpacaFuture<'_, Option<Arc<dyn AlpacaFrame>>> {
        ok(self.s().frame.clone())
    }
    fn setup(&self) -> CameraSetup {
        CameraSetup {
            bulb_above: self.s().bulb_above,
            output: Some("/tmp/<kept>".into()),
        }
    }
    fn apply_setup(&self, change: CameraSetupChange) -> AlpacaFuture<'_, ()> {
        self.s().bulb_above = change.bulb_above;
        ok(())
    }
}

/// What the fake focuser is and did.
pub struct FocuserScript {
    pub absolute: bool,
    pub position: u32,
    pub moving: bool,
    pub moves: Vec<FocusMove>,
    pub halts: usize,
}

pub struct FakeFocuser {
    pub serial: String,
    pub connected: AtomicBool,
    pub script: Mutex<FocuserScript>,
}

pub const MAX_STEP: u32 = 900;
pub const MAX_INCREMENT: u32 = 300;

impl FakeFocuser {
    pub fn new(serial: &str) -> Arc<FakeFocuser> {
        Arc::new(FakeFocuser {
            serial: serial.into(),
            connected: AtomicBool::new(false),
            script: Mutex::new(FocuserScript {
                absolute: true,
                position: MAX_STEP / 2,
                moving: false,
                moves: Vec::new(),
                halts: 0,
            }),
        })
    }

    pub fn s(&self) -> std::sync::MutexGuard<'_, FocuserScript> {
        self.script.lock().unwrap()
    }
}

impl AlpacaDevice for FakeFocuser {
    fn identity(&self) -> DeviceIdentity {
        DeviceIdentity {
            name: "Fake lens".into(),
            description: "a scripted focuser".into(),
            driver_info: "sonyctl test fake".into(),
            driver_version: "0.1".into(),
            unique_id: format!("sonyctl-focuser-{}", self.serial),
        }
    }
    fn connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }
    fn connect(&self) -> AlpacaFuture<'_, ()> {
        self.connected.store(true, Ordering::SeqCst);
        ok(())
    }
    fn disconnect(&self) -> AlpacaFuture<'_, ()> {
        self.connected.store(false, Ordering::SeqCst);
        ok(())
    }
}

impl AlpacaFocuser for FakeFocuser {
    fn status(&self) -> AlpacaFuture<'_, FocuserStatus> {
        let s = self.s();
        ok(FocuserStatus {
            absolute: s.absolute,
            is_moving: s.moving,
            max_step: MAX_STEP,
            max_increment: MAX_INCREMENT,
            position: s.position,
        })
    }
    fn move_focus(&self, target: FocusMove) -> AlpacaFuture<'_, ()> {
        let mut s = self.s();
        s.moves.push(target);
        s.moving = true;
        if let FocusMove::To(p) = target {
            s.position = p;
        }
        ok(())
    }
    fn halt(&self) -> AlpacaFuture<'_, ()> {
        let mut s = self.s();
        s.halts += 1;
        s.moving = false;
        ok(())
    }
    fn absolute_mode(&self) -> bool {
        self.s().absolute
    }
    fn set_absolute_mode(&self, absolute: bool) -> AlpacaFuture<'_, ()> {
        self.s().absolute = absolute;
        ok(())
    }
}
