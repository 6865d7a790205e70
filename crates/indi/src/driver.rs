//! The INDI device: its properties, what a client's command does, and what the camera's
//! changes send back. One device with the CCD and focuser interfaces over one
//! [`AstroCamera`]; nothing here decides an exposure, a gain or a focus step (the astronomy
//! layer does), it only maps them to INDI's standard properties.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use sonyctl_astro::state::AstroState;
use sonyctl_astro::{AstroCamera, DeviceOptions, ExposureRequest, Frame, ReadoutMode, Subframe};
use sonyctl_open::CameraSpec;
use sonyctl_ptp::PropertyCode;
use sonyctl_service::{CameraService, Event, ServiceOptions};
use tokio::task::JoinHandle;

use crate::fits::{self, HeaderInfo};
use crate::props::{self, Kind, Member, NumberSpec, Perm, Rule, State, Value, Vector};
use crate::xml::{Element, ParseError};

/// DRIVER_INTERFACE: CCD (2) | FOCUSER (8).
pub const INTERFACE: u32 = 2 | 8;

/// The device's name when `INDIDEV` does not give one.
pub const DEFAULT_DEVICE: &str = "Sony Camera";

/// The Sony settings offered as extra properties: (INDI name, label, the name the service
/// takes).
const EXTRAS: &[(&str, &str, &str)] = &[
    ("SONY_SHUTTER", "Shutter speed", "shutter"),
    ("SONY_APERTURE", "Aperture", "aperture"),
    ("SONY_WHITE_BALANCE", "White balance", "white-balance"),
    ("SONY_FILE_FORMAT", "File format", "file-format"),
    (
        "SONY_LONG_EXPOSURE_NR",
        "Long exposure NR",
        "LongExposureNR",
    ),
    (
        "SONY_SAVE_DESTINATION",
        "Save destination",
        "save-destination",
    ),
    ("SONY_FOCUS_MODE", "Focus mode", "focus-mode"),
    ("SONY_EXPOSURE_PROGRAM", "Exposure mode", "program"),
    ("SONY_ISO", "ISO (as the body shows it)", "iso"),
];

/// How the driver starts: from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// The device's name (`INDIDEV`, else `Sony Camera`).
    pub device: String,
    /// DEVICE_PORT's first value (`SONYCTL_CAMERA`, else `usb`).
    pub port: String,
    /// BULB above this many seconds (`SONYCTL_BULB_ABOVE`, else 30).
    pub bulb_above: f64,
    /// Keep the camera's files here (`SONYCTL_OUTPUT`), else they are deleted once sent.
    pub keep: String,
    /// Where local uploads go first (`HOME`).
    pub upload_dir: String,
    /// The one simulated-camera profile file DEVICE_PORT may name (`SONYCTL_SIM_PROFILE`, set
    /// by whoever starts the driver); otherwise `sim:` takes built-in model names only.
    pub sim_profile: Option<String>,
}

impl Config {
    /// From the environment.
    pub fn from_env() -> Config {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Config {
            device: var("INDIDEV").unwrap_or_else(|| DEFAULT_DEVICE.to_string()),
            port: var("SONYCTL_CAMERA").unwrap_or_else(|| "usb".to_string()),
            bulb_above: var("SONYCTL_BULB_ABOVE")
                .and_then(|v| v.parse().ok())
                .filter(|v: &f64| v.is_finite() && *v > 0.0)
                .unwrap_or(30.0),
            keep: var("SONYCTL_OUTPUT").unwrap_or_default(),
            upload_dir: var("HOME").unwrap_or_else(|| "/tmp".to_string()),
            sim_profile: var("SONYCTL_SIM_PROFILE"),
        }
    }
}

/// Where the driver writes: standard output, shared by every task; a message is written whole.
pub type Output = Box<dyn Write + Send>;

struct Session {
    astro: AstroCamera,
    /// The tasks following the camera (events, the focuser).
    tasks: Vec<JoinHandle<()>>,
    /// The extra properties the body has: (INDI name, service name, code).
    extras: Vec<(&'static str, &'static str, Option<PropertyCode>)>,
}

#[derive(Default)]
struct Exposure {
    /// Counts exposures: a watcher of an older one stops.
    generation: u64,
    /// The length asked for, in seconds.
    length: f64,
}

struct Inner {
    device: String,
    sim_profile: Option<String>,
    out: Mutex<Output>,
    base: Mutex<Vec<Vector>>,
    connected: Mutex<Vec<Vector>>,
    session: Mutex<Option<Session>>,
    exposure: Mutex<Exposure>,
    /// Files not kept are saved here and deleted once sent.
    temp: tempfile::TempDir,
}

/// The INDI device. Cheap to clone.
#[derive(Clone)]
pub struct Driver {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn num(format: &'static str, min: f64, max: f64, step: f64) -> NumberSpec {
    NumberSpec {
        format,
        min,
        max,
        step,
    }
}

/// The properties defined from the start.
fn base_properties(config: &Config) -> Vec<Vector> {
    let mut connection = Vector::new(
        Kind::Switch,
        "CONNECTION",
        "Connection",
        "Main Control",
        vec![
            Member::switch("CONNECT", "Connect", false),
            Member::switch("DISCONNECT", "Disconnect", true),
        ],
    );
    connection.state = State::Idle;
    let mut info = Vector::new(
        Kind::Text,
        "DRIVER_INFO",
        "Driver Info",
        "General Info",
        vec![
            Member::text("DRIVER_NAME", "Name", "Sony Camera (sonyctl)"),
            Member::text("DRIVER_EXEC", "Exec", "indi_sonyctl"),
            Member::text("DRIVER_VERSION", "Version", env!("CARGO_PKG_VERSION")),
            Member::text("DRIVER_INTERFACE", "Interface", &INTERFACE.to_string()),
        ],
    )
    .perm(Perm::Ro);
    info.state = State::Idle;
    vec![
        connection,
        info,
        Vector::new(
            Kind::Text,
            "DEVICE_PORT",
            "Camera (usb, usb:SERIAL, ip:HOST, sim:MODEL)",
            "Main Control",
            vec![Member::text("PORT", "Camera", &config.port)],
        ),
        Vector::new(
            Kind::Number,
            "SONY_BULB_ABOVE",
            "BULB above (s)",
            "Options",
            vec![Member::number(
                "BULB_ABOVE",
                "Seconds",
                config.bulb_above,
                num("%.3f", 0.001, 86_400.0, 1.0),
            )],
        ),
        Vector::new(
            Kind::Text,
            "SONY_KEEP",
            "Keep camera files",
            "Options",
            vec![Member::text(
                "KEEP_DIR",
                "Folder (empty: not kept)",
                &config.keep,
            )],
        ),
        Vector::new(
            Kind::Switch,
            "UPLOAD_MODE",
            "Upload",
            "Options",
            vec![
                Member::switch("UPLOAD_CLIENT", "Client", true),
                Member::switch("UPLOAD_LOCAL", "Local", false),
                Member::switch("UPLOAD_BOTH", "Both", false),
            ],
        ),
        Vector::new(
            Kind::Text,
            "UPLOAD_SETTINGS",
            "Upload Settings",
            "Options",
            vec![
                Member::text("UPLOAD_DIR", "Dir", &config.upload_dir),
                Member::text("UPLOAD_PREFIX", "Prefix", "IMAGE_XXX"),
            ],
        ),
    ]
}

impl Driver {
    /// A driver writing to `out`.
    pub fn new(config: &Config, out: Output) -> io::Result<Driver> {
        let temp = tempfile::Builder::new().prefix("indi-sonyctl-").tempdir()?;
        Ok(Driver {
            inner: Arc::new(Inner {
                device: config.device.clone(),
                sim_profile: config.sim_profile.clone(),
                out: Mutex::new(out),
                base: Mutex::new(base_properties(config)),
                connected: Mutex::new(Vec::new()),
                session: Mutex::new(None),
                exposure: Mutex::new(Exposure::default()),
                temp,
            }),
        })
    }

    fn device(&self) -> &str {
        &self.inner.device
    }

    /// Writes one whole message (dropped when standard output is gone: the end of standard
    /// input follows).
    fn send(&self, text: &str) {
        let mut out = lock(&self.inner.out);
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Sends a `<message>`.
    pub fn message(&self, text: &str) {
        self.send(&props::message(self.device(), text));
    }

    /// Says why a client's message was refused.
    pub fn refused(&self, error: &ParseError) {
        self.message(&error.to_string());
    }

    /// Changes property `name` (base or connected) and sends it with `message`.
    fn update(&self, name: &str, message: Option<&str>, f: impl FnOnce(&mut Vector)) {
        let text = {
            let mut base = lock(&self.inner.base);
            let mut conn = lock(&self.inner.connected);
            let Some(v) = base
                .iter_mut()
                .chain(conn.iter_mut())
                .find(|v| v.name == name)
            else {
                return;
            };
            f(v);
            v.set(self.device(), message)
        };
        self.send(&text);
    }

    /// A copy of property `name`.
    fn get(&self, name: &str) -> Option<Vector> {
        let base = lock(&self.inner.base);
        let conn = lock(&self.inner.connected);
        base.iter()
            .chain(conn.iter())
            .find(|v| v.name == name)
            .cloned()
    }

    fn state(&self, name: &str, state: State, message: Option<&str>) {
        self.update(name, message, |v| v.state = state);
    }

    fn astro(&self) -> Option<AstroCamera> {
        lock(&self.inner.session).as_ref().map(|s| s.astro.clone())
    }

    /// One element from the client.
    pub async fn handle(&self, e: Element) {
        if e.name == "getProperties" {
            return self.get_properties(&e);
        }
        if !e.name.starts_with("new") || e.attr("device") != Some(self.device()) {
            // enableBLOB (for indiserver), snooped messages, other devices: ignored.
            return;
        }
        let Some(name) = e.attr("name").map(str::to_string) else {
            return;
        };
        let Some(current) = self.get(&name) else {
            return;
        };
        let kind = match e.name.as_str() {
            "newTextVector" => Kind::Text,
            "newNumberVector" => Kind::Number,
            "newSwitchVector" => Kind::Switch,
            _ => return,
        };
        if kind != current.kind || current.perm == Perm::Ro {
            return self.message(&format!("{name} cannot be written that way"));
        }
        // The new values, on a copy of the property: members the client left out keep theirs.
        let mut new = current.clone();
        for one in &e.children {
            let Some(m) = one.attr("name").and_then(|n| new.member_mut(n)) else {
                continue;
            };
            let text = one.text.trim();
            match &mut m.value {
                // libindi's clients put the text on a line of its own, indented.
                Value::Text(t) => *t = text.to_string(),
                Value::Number(v, _) => match parse_number(text) {
                    Some(n) => *v = n,
                    None => {
                        return self.state(
                            &name,
                            State::Alert,
                            Some(&format!("{text:?} is not a number")),
                        );
                    }
                },
                Value::Switch(on) => *on = text == "On",
                Value::Blob => {}
            }
        }
        if kind == Kind::Switch && new.rule == Rule::OneOfMany {
            // The client may send only the switch turned on.
            let turned_on = e
                .children
                .iter()
                .find(|o| o.text.trim() == "On")
                .and_then(|o| o.attr("name"));
            match turned_on {
                Some(on) => {
                    new.select(on);
                }
                None => return self.state(&name, current.state, None),
            }
        }
        self.command(&name, new).await;
    }

    fn get_properties(&self, e: &Element) {
        if e.attr("device").is_some_and(|d| d != self.device()) {
            return;
        }
        let defs: Vec<String> = {
            let base = lock(&self.inner.base);
            let conn = lock(&self.inner.connected);
            base.iter()
                .chain(conn.iter())
                .filter(|v| e.attr("name").is_none_or(|n| n == v.name))
                .map(|v| v.def(self.device()))
                .collect()
        };
        for d in defs {
            self.send(&d);
        }
    }

    /// A client's new values for property `name`.
    async fn command(&self, name: &str, new: Vector) {
        match name {
            "CONNECTION" => {
                if new.on() == Some("CONNECT") {
                    self.connect().await;
                } else {
                    self.disconnect().await;
                    self.update("CONNECTION", None, |v| {
                        v.select("DISCONNECT");
                        v.state = State::Idle;
                    });
                }
            }
            "DEVICE_PORT" => {
                let port = new.text("PORT").unwrap_or_default().trim().to_string();
                match self.port_spec(&port) {
                    Ok(_) => self.update(name, None, |v| {
                        v.set_text("PORT", &port);
                        v.state = State::Ok;
                    }),
                    Err(e) => self.state(name, State::Alert, Some(&e)),
                }
            }
            "SONY_BULB_ABOVE" => {
                let secs = new.number("BULB_ABOVE").unwrap_or(30.0);
                if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
                    return self.state(name, State::Alert, Some("BULB above: 0 to 86400 s"));
                }
                if let Some(a) = self.astro() {
                    a.set_bulb_above(Duration::from_secs_f64(secs));
                }
                self.update(name, None, |v| {
                    v.set_number("BULB_ABOVE", secs);
                    v.state = State::Ok;
                });
            }
            "SONY_KEEP" => {
                let dir = new.text("KEEP_DIR").unwrap_or_default().trim().to_string();
                if !dir.is_empty() && !Path::new(&dir).is_dir() {
                    return self.state(name, State::Alert, Some(&format!("{dir} is not a folder")));
                }
                self.update(name, None, |v| {
                    v.set_text("KEEP_DIR", &dir);
                    v.state = State::Ok;
                });
                if let Some(a) = self.astro() {
                    a.set_output(Some(self.output_dir()));
                }
            }
            "UPLOAD_MODE"
            | "CCD_FRAME_TYPE"
            | "CCD_TRANSFER_FORMAT"
            | "FOCUS_MOTION"
            | "UPLOAD_SETTINGS"
            | "CCD_CAPTURE_FORMAT" => {
                self.update(name, None, |v| {
                    *v = Vector {
                        state: State::Ok,
                        ..new
                    }
                });
            }
            "CCD_COMPRESSION" => {
                if new.on() == Some("INDI_ENABLED") {
                    self.update(name, Some("compression is not offered"), |v| {
                        v.state = State::Alert;
                    });
                } else {
                    self.state(name, State::Ok, None);
                }
            }
            "CCD_FRAME" => self.frame(new),
            "CCD_BINNING" => {
                if new.number("HOR_BIN") != Some(1.0) || new.number("VER_BIN") != Some(1.0) {
                    self.state(name, State::Alert, Some("binning 1×1 only"));
                } else {
                    self.state(name, State::Ok, None);
                }
            }
            "CCD_EXPOSURE" => {
                self.expose(new.number("CCD_EXPOSURE_VALUE").unwrap_or(0.0))
                    .await
            }
            "CCD_ABORT_EXPOSURE" => self.abort(),
            "CCD_ISO" => self.set_iso(new).await,
            "REL_FOCUS_POSITION" | "ABS_FOCUS_POSITION" => self.focus(name, new).await,
            "FOCUS_ABORT_MOTION" => {
                if let Some(a) = self.astro() {
                    a.focuser().halt();
                }
                self.update(name, None, |v| {
                    v.state = State::Ok;
                    for m in &mut v.members {
                        m.value = Value::Switch(false);
                    }
                });
            }
            _ if name.starts_with("SONY_") => self.set_extra(name, new).await,
            _ => {}
        }
    }

    /// The folder the camera's files go to: the kept folder, else the private one.
    fn output_dir(&self) -> PathBuf {
        let keep = self
            .get("SONY_KEEP")
            .and_then(|v| v.text("KEEP_DIR").map(str::to_string))
            .unwrap_or_default();
        if keep.is_empty() {
            self.inner.temp.path().to_path_buf()
        } else {
            PathBuf::from(keep)
        }
    }

    fn keeping(&self) -> bool {
        self.get("SONY_KEEP")
            .and_then(|v| v.text("KEEP_DIR").map(|t| !t.is_empty()))
            .unwrap_or(false)
    }

    /// DEVICE_PORT's value as a camera. Any client may set it, so a simulated camera's profile
    /// file is refused unless it is the one `SONYCTL_SIM_PROFILE` names: the driver never reads
    /// a file a client chose.
    fn port_spec(&self, port: &str) -> Result<CameraSpec, String> {
        let spec = port.trim().parse::<CameraSpec>()?;
        if let Some(name) = sonyctl_open::sim_profile_path(&spec) {
            // CameraSpec keeps the name in lower case.
            let allowed = self
                .inner
                .sim_profile
                .as_deref()
                .map(str::to_ascii_lowercase);
            if allowed.as_deref() != Some(name) {
                return Err(format!(
                    "sim: takes a built-in model's name here; a profile file only as \
                     SONYCTL_SIM_PROFILE ({} characters refused)",
                    name.chars().count()
                ));
            }
        }
        Ok(spec)
    }

    async fn connect(&self) {
        if self.astro().is_some() {
            return self.state("CONNECTION", State::Ok, None);
        }
        let port = self
            .get("DEVICE_PORT")
            .and_then(|v| v.text("PORT").map(str::to_string))
            .unwrap_or_default();
        let spec = match self.port_spec(&port) {
            Ok(s) => s,
            Err(e) => return self.connect_failed(&e),
        };
        self.update("CONNECTION", None, |v| v.state = State::Busy);
        let camera = match sonyctl_open::open_camera(Some(&spec), None).await {
            Ok(c) => c,
            // A profile file's parser quotes the file: only the outer context goes to clients.
            Err(e) if sonyctl_open::is_sim(&spec) => return self.connect_failed(&format!("{e}")),
            Err(e) => return self.connect_failed(&format!("{e:#}")),
        };
        let service = CameraService::spawn(camera, ServiceOptions::default());
        let bulb = self
            .get("SONY_BULB_ABOVE")
            .and_then(|v| v.number("BULB_ABOVE"))
            .unwrap_or(30.0);
        let options = DeviceOptions {
            bulb_above: Duration::from_secs_f64(bulb),
            output: Some(self.output_dir()),
            ..DeviceOptions::default()
        };
        let astro = AstroCamera::new(service, options);
        if let Err(e) = astro.connect().await {
            return self.connect_failed(&e.to_string());
        }
        let (vectors, extras) = self.connected_properties(&astro).await;
        let defs: Vec<String> = vectors.iter().map(|v| v.def(self.device())).collect();
        *lock(&self.inner.connected) = vectors;
        let tasks = vec![
            tokio::spawn(self.clone().follow_events(astro.clone())),
            tokio::spawn(self.clone().follow_focuser(astro.clone())),
        ];
        *lock(&self.inner.session) = Some(Session {
            astro: astro.clone(),
            tasks,
            extras,
        });
        self.update("CONNECTION", None, |v| {
            v.select("CONNECT");
            v.state = State::Ok;
        });
        let model = astro.sensor().map(|s| s.model).unwrap_or_default();
        self.update("DRIVER_INFO", None, |v| {
            v.set_text("DRIVER_NAME", &format!("Sony {model} (sonyctl)"));
            v.state = State::Ok;
        });
        for d in defs {
            self.send(&d);
        }
        self.message(&format!("{model} connected ({port})"));
    }

    fn connect_failed(&self, why: &str) {
        self.update("CONNECTION", Some(why), |v| {
            v.select("DISCONNECT");
            v.state = State::Alert;
        });
    }

    /// Ends the session: the exposure aborted, a focus move halted, the buttons released, the
    /// file format restored, the camera service ended (it closes the session), the camera's
    /// properties deleted. Waits at most `budget`.
    pub async fn disconnect_within(&self, budget: Duration) {
        let Some(session) = lock(&self.inner.session).take() else {
            return;
        };
        lock(&self.inner.exposure).generation += 1;
        for t in &session.tasks {
            t.abort();
        }
        let astro = session.astro;
        let _ = astro.abort_exposure();
        astro.focuser().halt();
        let service = astro.service().clone();
        let mut ended = service.status_changes();
        let start = tokio::time::Instant::now();
        let _ = tokio::time::timeout(budget.mul_f64(0.6), async {
            let _ = service.release_all().await;
            let _ = astro.disconnect().await;
        })
        .await;
        drop(astro);
        drop(service);
        let names: Vec<String> = lock(&self.inner.connected)
            .drain(..)
            .map(|v| v.name)
            .collect();
        for n in names {
            self.send(&props::delete(self.device(), &n));
        }
        self.update("DRIVER_INFO", None, |v| {
            v.set_text("DRIVER_NAME", "Sony Camera (sonyctl)");
        });
        // The status sender goes with the service task: `changed` fails once it is over.
        let left = budget.saturating_sub(start.elapsed());
        let _ = tokio::time::timeout(left, async { while ended.changed().await.is_ok() {} }).await;
    }

    async fn disconnect(&self) {
        self.disconnect_within(Duration::from_secs(5)).await;
    }

    /// The CCD and focuser properties of a connected camera.
    async fn connected_properties(
        &self,
        astro: &AstroCamera,
    ) -> (
        Vec<Vector>,
        Vec<(&'static str, &'static str, Option<PropertyCode>)>,
    ) {
        let sensor = astro.sensor().ok();
        let (w, h) = sensor.as_ref().and_then(|s| s.size).unwrap_or((0, 0));
        let pixel = sensor.as_ref().and_then(|s| s.pixel_size_um).unwrap_or(0.0);
        let min = astro.exposure_min().unwrap_or(0.001);
        let max = astro.exposure_max().unwrap_or(86_400.0);
        let modes = astro
            .readout_modes()
            .unwrap_or_else(|_| vec![ReadoutMode::Jpeg]);
        let raw = modes.contains(&ReadoutMode::Raw);
        let mut v = vec![
            Vector::new(
                Kind::Number,
                "CCD_EXPOSURE",
                "Expose",
                "Main Control",
                vec![Member::number(
                    "CCD_EXPOSURE_VALUE",
                    "Duration (s)",
                    1.0,
                    num("%5.2f", min, max, 1.0),
                )],
            ),
            Vector::new(
                Kind::Switch,
                "CCD_ABORT_EXPOSURE",
                "Abort",
                "Main Control",
                vec![Member::switch("ABORT", "Abort", false)],
            )
            .rule(Rule::AtMostOne),
            Vector::new(
                Kind::Number,
                "CCD_FRAME",
                "Frame",
                "Image Settings",
                vec![
                    Member::number("X", "Left", 0.0, num("%4.0f", 0.0, f64::from(w), 1.0)),
                    Member::number("Y", "Top", 0.0, num("%4.0f", 0.0, f64::from(h), 1.0)),
                    Member::number(
                        "WIDTH",
                        "Width",
                        f64::from(w),
                        num("%4.0f", 1.0, f64::from(w), 1.0),
                    ),
                    Member::number(
                        "HEIGHT",
                        "Height",
                        f64::from(h),
                        num("%4.0f", 1.0, f64::from(h), 1.0),
                    ),
                ],
            ),
            Vector::new(
                Kind::Number,
                "CCD_BINNING",
                "Binning",
                "Image Settings",
                vec![
                    Member::number("HOR_BIN", "X", 1.0, num("%2.0f", 1.0, 1.0, 1.0)),
                    Member::number("VER_BIN", "Y", 1.0, num("%2.0f", 1.0, 1.0, 1.0)),
                ],
            ),
            Vector::new(
                Kind::Switch,
                "CCD_FRAME_TYPE",
                "Frame Type",
                "Image Settings",
                vec![
                    Member::switch("FRAME_LIGHT", "Light", true),
                    Member::switch("FRAME_BIAS", "Bias", false),
                    Member::switch("FRAME_DARK", "Dark", false),
                    Member::switch("FRAME_FLAT", "Flat", false),
                ],
            ),
            Vector::new(
                Kind::Number,
                "CCD_INFO",
                "CCD Information",
                "Image Info",
                vec![
                    Member::number(
                        "CCD_MAX_X",
                        "Max. Width",
                        f64::from(w),
                        num("%.f", 1.0, 16000.0, 0.0),
                    ),
                    Member::number(
                        "CCD_MAX_Y",
                        "Max. Height",
                        f64::from(h),
                        num("%.f", 1.0, 16000.0, 0.0),
                    ),
                    Member::number(
                        "CCD_PIXEL_SIZE",
                        "Pixel size (um)",
                        pixel,
                        num("%.2f", 1.0, 40.0, 0.0),
                    ),
                    Member::number(
                        "CCD_PIXEL_SIZE_X",
                        "Pixel size X",
                        pixel,
                        num("%.2f", 1.0, 40.0, 0.0),
                    ),
                    Member::number(
                        "CCD_PIXEL_SIZE_Y",
                        "Pixel size Y",
                        pixel,
                        num("%.2f", 1.0, 40.0, 0.0),
                    ),
                    Member::number(
                        "CCD_BITSPERPIXEL",
                        "Bits per pixel",
                        16.0,
                        num("%.f", 8.0, 64.0, 0.0),
                    ),
                ],
            )
            .perm(Perm::Ro),
            Vector::new(
                Kind::Text,
                "CCD_CFA",
                "Bayer Info",
                "Image Info",
                vec![
                    Member::text("CFA_OFFSET_X", "X Offset", "0"),
                    Member::text("CFA_OFFSET_Y", "Y Offset", "0"),
                    Member::text("CFA_TYPE", "Filter", "RGGB"),
                ],
            )
            .perm(Perm::Ro),
        ];
        let mut formats = Vec::new();
        if raw {
            formats.push(Member::switch(
                "FORMAT_RAW",
                "RAW (Bayer FITS, or the ARW)",
                true,
            ));
            formats.push(Member::switch(
                "FORMAT_JPEG",
                "JPEG (RGB FITS, or the JPEG)",
                false,
            ));
        } else {
            formats.push(Member::switch(
                "FORMAT_JPEG",
                "JPEG (no RAW on this body: the FITS is RGB)",
                true,
            ));
        }
        v.push(Vector::new(
            Kind::Switch,
            "CCD_CAPTURE_FORMAT",
            "Format",
            "Image Settings",
            formats,
        ));
        v.push(Vector::new(
            Kind::Switch,
            "CCD_TRANSFER_FORMAT",
            "Encode",
            "Image Settings",
            vec![
                Member::switch("FORMAT_FITS", "FITS", true),
                Member::switch("FORMAT_NATIVE", "Native (ARW or JPEG)", false),
            ],
        ));
        v.push(Vector::new(
            Kind::Switch,
            "CCD_COMPRESSION",
            "Compression",
            "Image Settings",
            vec![
                Member::switch("INDI_ENABLED", "Enabled", false),
                Member::switch("INDI_DISABLED", "Disabled", true),
            ],
        ));
        v.push(
            Vector::new(
                Kind::Text,
                "CCD_FILE_PATH",
                "Filename",
                "Image Info",
                vec![Member::text("FILE_PATH", "Path", "")],
            )
            .perm(Perm::Ro),
        );
        v.push(
            Vector::new(
                Kind::Blob,
                "CCD1",
                "Image Data",
                "Image Info",
                vec![Member {
                    name: "CCD1".into(),
                    label: "Image".into(),
                    value: Value::Blob,
                }],
            )
            .perm(Perm::Ro),
        );
        // ISO, as indi_gphoto names it: ISO0, ISO1, … labelled with the value.
        let gains = astro.gains().unwrap_or_default();
        if !gains.gains.is_empty() {
            let current = astro.gain().ok();
            let members = gains
                .gains
                .iter()
                .enumerate()
                .map(|(i, g)| Member::switch(&format!("ISO{i}"), &g.value, current == Some(i)))
                .collect();
            let mut iso = Vector::new(Kind::Switch, "CCD_ISO", "ISO", "Image Settings", members);
            iso.state = State::Ok;
            v.push(iso);
        }
        // The focuser: near/far steps counted from the middle.
        let f = astro.focuser();
        let (max_step, max_inc) = (f64::from(f.max_step()), f64::from(f.max_increment()));
        v.push(Vector::new(
            Kind::Switch,
            "FOCUS_MOTION",
            "Direction",
            "Main Control",
            vec![
                Member::switch("FOCUS_INWARD", "Focus In (near)", true),
                Member::switch("FOCUS_OUTWARD", "Focus Out (far)", false),
            ],
        ));
        v.push(Vector::new(
            Kind::Number,
            "REL_FOCUS_POSITION",
            "Relative Position",
            "Main Control",
            vec![Member::number(
                "FOCUS_RELATIVE_POSITION",
                "Steps",
                0.0,
                num("%.f", 0.0, max_inc, 10.0),
            )],
        ));
        v.push(Vector::new(
            Kind::Number,
            "ABS_FOCUS_POSITION",
            "Absolute Position",
            "Main Control",
            vec![Member::number(
                "FOCUS_ABSOLUTE_POSITION",
                "Steps",
                f64::from(f.counted_position()),
                num("%.f", 0.0, max_step, 10.0),
            )],
        ));
        v.push(
            Vector::new(
                Kind::Number,
                "FOCUS_MAX",
                "Max. Position",
                "Main Control",
                vec![Member::number(
                    "FOCUS_MAX_VALUE",
                    "Steps",
                    max_step,
                    num("%.f", max_step, max_step, 0.0),
                )],
            )
            .perm(Perm::Ro),
        );
        v.push(
            Vector::new(
                Kind::Switch,
                "FOCUS_ABORT_MOTION",
                "Abort Motion",
                "Main Control",
                vec![Member::switch("ABORT", "Abort", false)],
            )
            .rule(Rule::AtMostOne),
        );
        // The Sony settings the body has.
        let mut extras = Vec::new();
        for &(name, label, alias) in EXTRAS {
            if let Ok(value) = astro.get_property(alias).await {
                let mut x = Vector::new(
                    Kind::Text,
                    name,
                    label,
                    "Sony",
                    vec![Member::text("VALUE", label, &value)],
                );
                x.state = State::Ok;
                v.push(x);
                extras.push((name, alias, sonyctl_sony::codes::property_by_name(alias)));
            }
        }
        (v, extras)
    }

    fn frame(&self, new: Vector) {
        let Some(astro) = self.astro() else { return };
        let (w, h) = astro.camera_size().unwrap_or((u32::MAX, u32::MAX));
        let n = |k: &str| new.number(k).unwrap_or(0.0).round().max(0.0) as u32;
        let sub = Subframe {
            start_x: n("X"),
            start_y: n("Y"),
            num_x: n("WIDTH"),
            num_y: n("HEIGHT"),
        };
        match sub.check(w, h) {
            Ok(()) => self.update("CCD_FRAME", None, |v| {
                *v = Vector {
                    state: State::Ok,
                    ..new
                }
            }),
            Err(e) => self.state("CCD_FRAME", State::Alert, Some(&e.to_string())),
        }
    }

    async fn expose(&self, seconds: f64) {
        let Some(astro) = self.astro() else {
            return self.state("CCD_EXPOSURE", State::Alert, Some("not connected"));
        };
        if self.get("CCD_EXPOSURE").map(|v| v.state) == Some(State::Busy) {
            self.abort();
        }
        let frame_type = self
            .get("CCD_FRAME_TYPE")
            .and_then(|v| v.on().map(str::to_string))
            .unwrap_or_default();
        let seconds = if frame_type == "FRAME_BIAS" {
            0.0
        } else {
            seconds
        };
        let readout = match self
            .get("CCD_CAPTURE_FORMAT")
            .and_then(|v| v.on().map(str::to_string))
        {
            Some(f) if f == "FORMAT_JPEG" => ReadoutMode::Jpeg,
            _ => ReadoutMode::Raw,
        };
        let sub = match (readout, self.get("CCD_FRAME")) {
            (ReadoutMode::Raw, Some(f)) => {
                let n = |k: &str| f.number(k).unwrap_or(0.0).round().max(0.0) as u32;
                Subframe {
                    start_x: n("X"),
                    start_y: n("Y"),
                    num_x: n("WIDTH"),
                    num_y: n("HEIGHT"),
                }
            }
            _ => {
                let (w, h) = astro.camera_size().unwrap_or((0, 0));
                Subframe::full(w, h)
            }
        };
        let req = ExposureRequest {
            duration: seconds,
            light: frame_type == "FRAME_LIGHT" || frame_type == "FRAME_FLAT",
            subframe: sub,
            bin: (1, 1),
            readout,
        };
        if let Err(e) = astro.start_exposure(req).await {
            return self.update("CCD_EXPOSURE", Some(&e.to_string()), |v| {
                v.state = State::Alert;
            });
        }
        let generation = {
            let mut x = lock(&self.inner.exposure);
            x.generation += 1;
            x.length = seconds;
            x.generation
        };
        self.update("CCD_EXPOSURE", None, |v| {
            v.set_number("CCD_EXPOSURE_VALUE", seconds);
            v.timeout = (seconds.ceil() as u32).saturating_add(60);
            v.state = State::Busy;
        });
        let frame_type = match frame_type.as_str() {
            "FRAME_BIAS" => "Bias",
            "FRAME_DARK" => "Dark",
            "FRAME_FLAT" => "Flat",
            _ => "Light",
        };
        tokio::spawn(
            self.clone()
                .watch_exposure(astro, generation, seconds, frame_type),
        );
    }

    fn current(&self, generation: u64) -> bool {
        lock(&self.inner.exposure).generation == generation
    }

    /// Follows an exposure: the countdown once a second, then the frame out.
    async fn watch_exposure(
        self,
        astro: AstroCamera,
        generation: u64,
        seconds: f64,
        frame_type: &'static str,
    ) {
        let length = Duration::from_secs_f64(seconds);
        let mut shown = seconds.ceil() as u64;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if !self.current(generation) {
                return;
            }
            match astro.state() {
                Ok(AstroState::Idle) => {
                    if astro.image_ready().unwrap_or(false) {
                        if let Ok(frame) = astro.image() {
                            self.deliver(&astro, frame, frame_type, generation).await;
                        }
                    }
                    return;
                }
                Ok(AstroState::Error(why)) => {
                    return self.update("CCD_EXPOSURE", Some(&why), |v| v.state = State::Alert);
                }
                Ok(busy) => {
                    let left = busy
                        .remaining(length)
                        .map_or(0, |d| d.as_secs_f64().ceil() as u64);
                    if left != shown {
                        shown = left;
                        self.update("CCD_EXPOSURE", None, |v| {
                            v.set_number("CCD_EXPOSURE_VALUE", left as f64);
                        });
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Sends and/or saves the frame, then says the exposure is done.
    async fn deliver(
        &self,
        astro: &AstroCamera,
        frame: Arc<Frame>,
        frame_type: &str,
        generation: u64,
    ) {
        let native = self
            .get("CCD_TRANSFER_FORMAT")
            .and_then(|v| v.on().map(|o| o == "FORMAT_NATIVE"))
            .unwrap_or(false);
        let mode = self
            .get("UPLOAD_MODE")
            .and_then(|v| v.on().map(str::to_string))
            .unwrap_or_default();
        let upload = self.get("UPLOAD_SETTINGS");
        let dir = upload
            .as_ref()
            .and_then(|v| v.text("UPLOAD_DIR").map(str::to_string))
            .unwrap_or_default();
        let prefix = upload
            .as_ref()
            .and_then(|v| v.text("UPLOAD_PREFIX").map(str::to_string))
            .unwrap_or_default();
        let info = HeaderInfo {
            instrument: frame.model.clone(),
            frame_type: frame_type.to_string(),
            pixel_size_um: astro.sensor().ok().and_then(|s| s.pixel_size_um),
        };
        if let Some((x, y)) = frame
            .subframe_cfa()
            .and_then(sonyctl_astro::frame::bayer_offset)
        {
            self.update("CCD_CFA", None, |v| {
                v.set_text("CFA_OFFSET_X", &x.to_string());
                v.set_text("CFA_OFFSET_Y", &y.to_string());
                v.state = State::Ok;
            });
        }
        let keep = self.keeping();
        let driver = self.clone();
        let done = tokio::task::spawn_blocking(move || -> Result<Option<PathBuf>, String> {
            let source = if native {
                let path = frame
                    .path
                    .clone()
                    .ok_or("the camera's file is not there to send")?;
                Some(path)
            } else {
                None
            };
            let ext = match &source {
                Some(p) => format!(
                    ".{}",
                    p.extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or("bin")
                        .to_ascii_lowercase()
                ),
                None => ".fits".to_string(),
            };
            let mut saved = None;
            if mode == "UPLOAD_LOCAL" || mode == "UPLOAD_BOTH" {
                let path = local_path(Path::new(&dir), &prefix, &ext, SystemTime::now());
                let written = match &source {
                    Some(p) => std::fs::copy(p, &path).map(drop),
                    None => std::fs::File::create(&path).and_then(|f| {
                        let mut w = io::BufWriter::new(f);
                        fits::write(&frame, &info, &mut w)?;
                        w.flush()
                    }),
                };
                written.map_err(|e| format!("cannot save {}: {e}", path.display()))?;
                saved = Some(path);
            }
            if mode != "UPLOAD_LOCAL" {
                let mut out = lock(&driver.inner.out);
                let sent = match &source {
                    Some(p) => std::fs::File::open(p).and_then(|mut f| {
                        let size = f.metadata()?.len();
                        blob(&mut **out, &driver.inner.device, &ext, size, |w| {
                            io::copy(&mut f, w).map(drop)
                        })
                    }),
                    None => blob(
                        &mut **out,
                        &driver.inner.device,
                        &ext,
                        fits::file_len(&frame, &info),
                        |w| fits::write(&frame, &info, w),
                    ),
                };
                sent.map_err(|e| format!("the image could not be sent: {e}"))?;
            }
            if !keep {
                if let Some(p) = &frame.path {
                    let _ = std::fs::remove_file(p);
                }
            }
            Ok(saved)
        })
        .await;
        if !self.current(generation) {
            return;
        }
        match done {
            Ok(Ok(saved)) => {
                if let Some(path) = saved {
                    self.update("CCD_FILE_PATH", None, |v| {
                        v.set_text("FILE_PATH", &path.to_string_lossy());
                        v.state = State::Ok;
                    });
                }
                self.update("CCD_EXPOSURE", None, |v| {
                    v.set_number("CCD_EXPOSURE_VALUE", 0.0);
                    v.state = State::Ok;
                });
            }
            Ok(Err(why)) => self.update("CCD_EXPOSURE", Some(&why), |v| v.state = State::Alert),
            Err(_) => self.update("CCD_EXPOSURE", Some("the image could not be sent"), |v| {
                v.state = State::Alert;
            }),
        }
    }

    fn abort(&self) {
        lock(&self.inner.exposure).generation += 1;
        let result = self.astro().map(|a| a.abort_exposure());
        match result {
            Some(Err(e)) => self.state("CCD_ABORT_EXPOSURE", State::Alert, Some(&e.to_string())),
            _ => {
                self.update("CCD_ABORT_EXPOSURE", None, |v| {
                    v.state = State::Ok;
                    v.select("");
                    for m in &mut v.members {
                        m.value = Value::Switch(false);
                    }
                });
                self.update("CCD_EXPOSURE", Some("exposure aborted"), |v| {
                    v.set_number("CCD_EXPOSURE_VALUE", 0.0);
                    v.state = State::Idle;
                });
            }
        }
    }

    async fn set_iso(&self, new: Vector) {
        let Some(astro) = self.astro() else { return };
        let Some(index) = new
            .on()
            .and_then(|n| n.strip_prefix("ISO"))
            .and_then(|i| i.parse::<i64>().ok())
        else {
            return self.state("CCD_ISO", State::Alert, Some("no ISO chosen"));
        };
        self.state("CCD_ISO", State::Busy, None);
        match astro.set_gain(index).await {
            Ok(()) => self.refresh_iso(&astro),
            Err(e) => self.update("CCD_ISO", Some(&e.to_string()), |v| v.state = State::Alert),
        }
    }

    /// CCD_ISO from the camera's present ISO.
    fn refresh_iso(&self, astro: &AstroCamera) {
        let current = astro.gain().ok();
        self.update("CCD_ISO", None, |v| {
            for (i, m) in v.members.iter_mut().enumerate() {
                m.value = Value::Switch(current == Some(i));
            }
            v.state = State::Ok;
        });
    }

    async fn focus(&self, name: &str, new: Vector) {
        let Some(astro) = self.astro() else { return };
        let f = astro.focuser();
        let result = if name == "REL_FOCUS_POSITION" {
            let steps = new.number("FOCUS_RELATIVE_POSITION").unwrap_or(0.0).round() as i64;
            let inward = self
                .get("FOCUS_MOTION")
                .and_then(|v| v.on().map(|o| o == "FOCUS_INWARD"))
                .unwrap_or(true);
            f.move_by(if inward { -steps } else { steps }).await
        } else {
            let target = new.number("FOCUS_ABSOLUTE_POSITION").unwrap_or(0.0).round() as i64;
            f.move_to(target).await
        };
        match result {
            Ok(()) => {
                let value = new.clone();
                self.update(name, None, |v| {
                    *v = Vector {
                        state: State::Busy,
                        ..value
                    }
                });
                if !f.is_moving() {
                    self.focus_done(&astro);
                }
            }
            Err(e) => self.state(name, State::Alert, Some(&e.to_string())),
        }
    }

    fn focus_done(&self, astro: &AstroCamera) {
        let f = astro.focuser();
        let error = f.last_error();
        let state = if error.is_some() {
            State::Alert
        } else {
            State::Ok
        };
        let position = f64::from(f.counted_position());
        for name in ["REL_FOCUS_POSITION", "ABS_FOCUS_POSITION"] {
            let busy = self.get(name).map(|v| v.state) == Some(State::Busy);
            if name == "ABS_FOCUS_POSITION" || busy {
                self.update(name, if busy { error.as_deref() } else { None }, |v| {
                    if v.name == "ABS_FOCUS_POSITION" {
                        v.set_number("FOCUS_ABSOLUTE_POSITION", position);
                    }
                    if busy {
                        v.state = state;
                    }
                });
            }
        }
    }

    /// Follows the focuser: the position while moving, Ok (or Alert) at the end.
    async fn follow_focuser(self, astro: AstroCamera) {
        let mut changes = astro.focuser().changes();
        while changes.changed().await.is_ok() {
            let status = changes.borrow_and_update().clone();
            if status.moving {
                self.update("ABS_FOCUS_POSITION", None, |v| {
                    v.set_number("FOCUS_ABSOLUTE_POSITION", f64::from(status.position));
                });
            } else {
                self.focus_done(&astro);
            }
        }
    }

    /// Follows the camera's changes: the Sony settings and ISO as they change on the body.
    async fn follow_events(self, astro: AstroCamera) {
        let mut events = astro.service().events();
        while let Some(event) = events.next().await {
            match event {
                Event::PropertyChanged {
                    code, new_display, ..
                } => {
                    if code == sonyctl_sony::codes::prop::ISO {
                        self.refresh_iso(&astro);
                    }
                    let extras: Vec<&'static str> = lock(&self.inner.session)
                        .as_ref()
                        .map(|s| {
                            s.extras
                                .iter()
                                .filter(|(_, _, c)| *c == Some(code))
                                .map(|(n, _, _)| *n)
                                .collect()
                        })
                        .unwrap_or_default();
                    for name in extras {
                        self.update(name, None, |v| v.set_text("VALUE", &new_display));
                    }
                }
                Event::ConnectionLost(e) => {
                    self.message(&format!("the connection to the camera was lost: {e}"));
                }
                Event::ConnectionRestored => self.message("the camera is back"),
                _ => {}
            }
        }
    }

    async fn set_extra(&self, name: &str, new: Vector) {
        let Some(astro) = self.astro() else { return };
        let alias = lock(&self.inner.session).as_ref().and_then(|s| {
            s.extras
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, a, _)| *a)
        });
        let Some(alias) = alias else { return };
        let text = new.text("VALUE").unwrap_or_default().trim().to_string();
        self.state(name, State::Busy, None);
        match astro.set_property(alias, &text).await {
            Ok(shown) => self.update(name, None, |v| {
                v.set_text("VALUE", &shown);
                v.state = State::Ok;
            }),
            Err(e) => {
                let shown = astro.get_property(alias).await.ok();
                self.update(name, Some(&e.to_string()), |v| {
                    if let Some(s) = &shown {
                        v.set_text("VALUE", s);
                    }
                    v.state = State::Alert;
                });
            }
        }
    }

    /// Standard input closed: ends the session within `budget` (buttons released, the file
    /// format restored, the camera closed).
    pub async fn shutdown(&self, budget: Duration) {
        self.disconnect_within(budget).await;
    }
}

/// An INDI number: decimal, or sexagesimal (`-10:30:18`, `10 30.3`).
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(v) = t.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    let neg = t.starts_with('-');
    let mut total = 0.0;
    let mut scale = 1.0;
    let mut parts = 0;
    for p in t
        .trim_start_matches(['-', '+'])
        .split([':', ' '])
        .filter(|p| !p.is_empty())
    {
        let v: f64 = p.parse().ok()?;
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        total += v / scale;
        scale *= 60.0;
        parts += 1;
    }
    (parts > 1 && parts <= 3).then_some(if neg { -total } else { total })
}

/// Where a local upload goes: `dir/prefix.ext`, with `XXX` in the prefix the first free
/// three-digit index from 001 and `ISO8601` the UTC time (`2026-12-05T20-56-27`), as libindi
/// expands them.
pub fn local_path(dir: &Path, prefix: &str, ext: &str, now: SystemTime) -> PathBuf {
    let stamp = fits::utc(now)
        .get(..19)
        .unwrap_or_default()
        .replace(':', "-");
    let prefix = prefix.replace("ISO8601", &stamp);
    if !prefix.contains("XXX") {
        return dir.join(format!("{prefix}{ext}"));
    }
    let mut i = 1u32;
    loop {
        let path = dir.join(format!(
            "{}{ext}",
            prefix.replacen("XXX", &format!("{i:03}"), 1)
        ));
        if !path.exists() || i == u32::MAX {
            return path;
        }
        i += 1;
    }
}

/// Writes a `setBLOBVector` of `CCD1` whose content `body` writes (`size` bytes), base64
/// encoded as it goes: the file is never held whole, nor its base64. The base64 is in lines of
/// 72 characters, as libindi's drivers write it inline: indiserver 1.9.9 relays it so (it
/// never delivered one unbroken line of a full frame, nor lines of 40 000), and libindi's
/// clients skip the line breaks. (`indi_getprop` 1.9.9 does not: the files it saves from any
/// inline BLOB with line breaks are wrong.)
pub fn blob(
    out: &mut dyn Write,
    device: &str,
    format: &str,
    size: u64,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    use base64::engine::general_purpose::STANDARD;
    let enclen = size.div_ceil(3) * 4;
    write!(
        out,
        "<setBLOBVector device=\"{}\" name=\"CCD1\" state=\"Ok\" timeout=\"60\" \
         timestamp=\"{}\">\n<oneBLOB name=\"CCD1\" size=\"{size}\" enclen=\"{enclen}\" \
         format=\"{}\">\n",
        crate::xml::escape(device),
        props::timestamp(SystemTime::now()),
        crate::xml::escape(format)
    )?;
    {
        let mut lines = LineBreaks {
            out: &mut *out,
            column: 0,
            width: 72,
        };
        let mut enc = base64::write::EncoderWriter::new(&mut lines, &STANDARD);
        let mut counted = Counted {
            inner: &mut enc,
            n: 0,
        };
        body(&mut counted)?;
        if counted.n != size {
            return Err(io::Error::other(format!(
                "{} bytes written of the {size} announced",
                counted.n
            )));
        }
        enc.finish()?;
    }
    out.write_all(b"\n</oneBLOB>\n</setBLOBVector>\n")?;
    out.flush()
}

/// Counts what goes through.
struct Counted<'a> {
    inner: &'a mut dyn Write,
    n: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Breaks base64 into lines of `width` characters (a multiple of 4).
struct LineBreaks<'a> {
    out: &'a mut dyn Write,
    column: usize,
    width: usize,
}

impl Write for LineBreaks<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            let room = self.width - self.column;
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.out.write_all(now)?;
            self.column += now.len();
            if self.column == self.width {
                self.out.write_all(b"\n")?;
                self.column = 0;
            }
            rest = later;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("device", &self.inner.device)
            .finish()
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    /// What the driver writes, shared with the test.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn take(&self) -> Vec<Element> {
            let bytes = std::mem::take(&mut *lock(&self.0));
            crate::xml::Reader::default()
                .feed(&bytes)
                .into_iter()
                .map(Result::unwrap)
                .collect()
        }
    }

    fn config() -> Config {
        Config {
            device: "Sony Camera".into(),
            port: "usb".into(),
            bulb_above: 30.0,
            keep: String::new(),
            upload_dir: "/tmp".into(),
            sim_profile: None,
        }
    }

    fn element(xml: &str) -> Element {
        crate::xml::Reader::default()
            .feed(xml.as_bytes())
            .remove(0)
            .unwrap()
    }

    #[tokio::test]
    async fn properties_are_defined_and_written_as_clients_send_them() {
        let out = Shared::default();
        let d = Driver::new(&config(), Box::new(out.clone())).unwrap();
        d.handle(element("<getProperties version='1.7'/>")).await;
        let defs = out.take();
        let names: Vec<&str> = defs.iter().filter_map(|e| e.attr("name")).collect();
        assert_eq!(names[..3], ["CONNECTION", "DRIVER_INFO", "DEVICE_PORT"]);
        assert!(defs.iter().all(|e| e.name.starts_with("def")));
        // Another device's, or one property.
        d.handle(element("<getProperties version='1.7' device='Other'/>"))
            .await;
        assert!(out.take().is_empty());
        d.handle(element("<getProperties version='1.7' name='DEVICE_PORT'/>"))
            .await;
        assert_eq!(out.take().len(), 1);
        // libindi's clients indent the text: it is trimmed.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DEVICE_PORT'>\n  <oneText \
             name='PORT'>\n      ip:[::1]:15741\n  </oneText>\n</newTextVector>",
        ))
        .await;
        let set = out.take();
        assert_eq!(set[0].name, "setTextVector");
        assert_eq!(set[0].attr("state"), Some("Ok"));
        assert_eq!(set[0].children[0].text, "ip:[::1]:15741");
        // A camera spec sonyctl refuses: Alert with why.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DEVICE_PORT'><oneText \
             name='PORT'>tcp:x</oneText></newTextVector>",
        ))
        .await;
        let set = out.take();
        assert_eq!(set[0].attr("state"), Some("Alert"));
        assert!(set[0].attr("message").unwrap().contains("tcp:x"));
        // A file named as the simulated camera's profile: refused, never read nor quoted.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DEVICE_PORT'><oneText \
             name='PORT'>sim:/etc/passwd</oneText></newTextVector>",
        ))
        .await;
        let set = out.take();
        assert_eq!(set[0].attr("state"), Some("Alert"));
        assert!(!set[0].attr("message").unwrap().contains("passwd"));
        assert_eq!(
            d.get("DEVICE_PORT").unwrap().text("PORT"),
            Some("ip:[::1]:15741")
        );
        // Read-only, or unknown: refused or ignored, never changed.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DRIVER_INFO'><oneText \
             name='DRIVER_EXEC'>x</oneText></newTextVector>",
        ))
        .await;
        assert_eq!(out.take()[0].name, "message");
        d.handle(element(
            "<newSwitchVector device='Sony Camera' name='NOPE'/>",
        ))
        .await;
        assert!(out.take().is_empty());
        // A number that is none: Alert.
        d.handle(element(
            "<newNumberVector device='Sony Camera' name='SONY_BULB_ABOVE'><oneNumber \
             name='BULB_ABOVE'>soon</oneNumber></newNumberVector>",
        ))
        .await;
        assert_eq!(out.take()[0].attr("state"), Some("Alert"));
        // Exposing while not connected: Alert, not a crash.
        d.handle(element(
            "<newNumberVector device='Sony Camera' name='CCD_EXPOSURE'><oneNumber \
             name='CCD_EXPOSURE_VALUE'>1</oneNumber></newNumberVector>",
        ))
        .await;
        assert!(
            out.take().is_empty(),
            "CCD_EXPOSURE is not defined before connecting"
        );
    }

    #[test]
    fn numbers_decimal_and_sexagesimal() {
        assert_eq!(parse_number(" 2.5 "), Some(2.5));
        assert_eq!(
            parse_number("-10:30:18"),
            Some(-(10.0 + 30.0 / 60.0 + 18.0 / 3600.0))
        );
        assert_eq!(parse_number("10 30"), Some(10.5));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("1:2:3:4"), None);
    }

    #[test]
    fn local_names_count_up_from_001() {
        let dir = tempfile::tempdir().unwrap();
        let t = SystemTime::UNIX_EPOCH;
        let first = local_path(dir.path(), "IMAGE_XXX", ".fits", t);
        assert_eq!(first, dir.path().join("IMAGE_001.fits"));
        std::fs::write(&first, b"x").unwrap();
        assert_eq!(
            local_path(dir.path(), "IMAGE_XXX", ".fits", t),
            dir.path().join("IMAGE_002.fits")
        );
        assert_eq!(
            local_path(dir.path(), "M31_ISO8601", ".arw", t),
            dir.path().join("M31_1970-01-01T00-00-00.arw")
        );
    }

    #[test]
    fn a_blob_is_base64_in_lines_with_its_sizes() {
        let mut out = Vec::new();
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        blob(&mut out, "D<1>", ".fits", 1000, |w| w.write_all(&data)).unwrap();
        let items = crate::xml::Reader::default().feed(&out);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.attr("device"), Some("D<1>"));
        let one = &e.children[0];
        assert_eq!(one.attr("size"), Some("1000"));
        assert_eq!(one.attr("enclen"), Some("1336"));
        assert_eq!(one.attr("format"), Some(".fits"));
        assert!(one.text.lines().all(|l| l.len() <= 72));
        let b64: String = one.text.split_whitespace().collect();
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(decoded, data);
        // A body that writes less than announced is an error.
        let mut out = Vec::new();
        assert!(blob(&mut out, "D", ".fits", 10, |w| w.write_all(b"abc")).is_err());
    }
}
