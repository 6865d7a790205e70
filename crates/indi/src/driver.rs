//! The INDI device: its properties, what a client's command does, and what the camera's
//! changes send back. One device with the CCD and focuser interfaces over one
//! [`AstroCamera`]; nothing here decides an exposure, a gain or a focus step (the astronomy
//! layer does), it only maps them to INDI's standard properties.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use sonyctl_astro::state::AstroState;
use sonyctl_astro::{AstroCamera, DeviceOptions, ExposureRequest, Frame, ReadoutMode, Subframe};
use sonyctl_open::CameraSpec;
use sonyctl_ptp::PropertyCode;
use sonyctl_service::{CameraService, Event, ServiceOptions};
use tokio::io::{AsyncRead, AsyncReadExt};
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
                .filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= 86_400.0)
                .unwrap_or(30.0),
            keep: var("SONYCTL_OUTPUT").unwrap_or_default(),
            upload_dir: var("HOME").unwrap_or_else(|| "/tmp".to_string()),
            sim_profile: var("SONYCTL_SIM_PROFILE"),
        }
    }
}

/// Where the driver writes: standard output, owned by the writer thread; a message is written
/// whole.
pub type Output = Box<dyn Write + Send>;

/// Whole messages waiting for the writer thread at most. When the reader of standard output
/// stalls, what does not fit is dropped (and counted on standard error): the driver, its
/// camera and its tasks never wait for standard output.
pub const QUEUE: usize = 4096;

/// Clients' commands waiting for the one under way at most.
pub const COMMANDS: usize = 256;

/// A message the writer thread streams (a BLOB).
type StreamJob = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// What the writer thread does, in order.
enum Job {
    /// One whole message.
    Text(String),
    /// A message the writer streams itself (a BLOB); it reports how it went on its own.
    Stream(StreamJob),
    /// Answered once everything queued before it is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The writer thread: owns standard output and writes the jobs in order. A write error (the
/// output gone) makes later writes fail fast; flushes are still answered.
fn writer(mut out: Output, jobs: Receiver<Job>) {
    for job in jobs {
        match job {
            Job::Text(t) => {
                let _ = out.write_all(t.as_bytes()).and_then(|()| out.flush());
            }
            Job::Stream(f) => {
                f(&mut *out);
                let _ = out.flush();
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

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
    /// The writer thread's queue.
    jobs: SyncSender<Job>,
    /// Messages dropped because the queue was full.
    dropped: AtomicU64,
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
        let (jobs, queued) = std::sync::mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("indi-out".into())
            .spawn(move || writer(out, queued))?;
        Ok(Driver {
            inner: Arc::new(Inner {
                device: config.device.clone(),
                sim_profile: config.sim_profile.clone(),
                jobs,
                dropped: AtomicU64::new(0),
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

    /// Queues one whole message for the writer thread; never waits (see [`QUEUE`]).
    fn send(&self, text: &str) {
        self.queue(Job::Text(text.to_string()));
    }

    /// Queues a job; false when it was dropped (the queue full, or the writer gone).
    fn queue(&self, job: Job) -> bool {
        match self.inner.jobs.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                let n = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    let _ = writeln!(
                        io::stderr().lock(),
                        "indi_sonyctl: standard output is not read: {n} messages dropped"
                    );
                }
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Waits until everything sent so far is written; false when the writer is gone, stalled
    /// past the queue, or not done within `budget`.
    pub async fn flush_within(&self, budget: Duration) -> bool {
        let (done, written) = tokio::sync::oneshot::channel();
        if !self.queue(Job::Flush(done)) {
            return false;
        }
        matches!(tokio::time::timeout(budget, written).await, Ok(Ok(())))
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
            | "CCD_CFA"
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
            bulb_above: Duration::try_from_secs_f64(bulb).unwrap_or(Duration::from_secs(30)),
            output: Some(self.output_dir()),
            ..DeviceOptions::default()
        };
        let astro = AstroCamera::new(service, options);
        if let Err(e) = astro.connect().await {
            return self.connect_failed(&e.to_string());
        }
        // One INDI device is both: the lens's focuser connects with the camera.
        if let Err(e) = astro.focuser().connect().await {
            let _ = astro.disconnect().await;
            return self.connect_failed(&e.to_string());
        }
        // The session is there at once: should the end of input drop this connect, the
        // shutdown still restores the file format and closes the camera.
        *lock(&self.inner.session) = Some(Session {
            astro: astro.clone(),
            tasks: Vec::new(),
            extras: Vec::new(),
        });
        let (vectors, extras) = self.connected_properties(&astro).await;
        let defs: Vec<String> = vectors.iter().map(|v| v.def(self.device())).collect();
        *lock(&self.inner.connected) = vectors;
        let tasks = vec![
            tokio::spawn(self.clone().follow_events(astro.clone())),
            tokio::spawn(self.clone().follow_focuser(astro.clone())),
        ];
        match lock(&self.inner.session).as_mut() {
            Some(session) => {
                session.tasks = tasks;
                session.extras = extras;
            }
            // Ended meanwhile.
            None => tasks.iter().for_each(JoinHandle::abort),
        }
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
        astro.focuser().disconnect();
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
        let pixel = sensor.as_ref().and_then(|s| s.pixel_size_um).unwrap_or(0.0);
        let min = astro.exposure_min().unwrap_or(0.001);
        let max = astro.exposure_max().unwrap_or(86_400.0);
        let modes = astro
            .readout_modes()
            .unwrap_or_else(|_| vec![ReadoutMode::Jpeg]);
        let raw = modes.contains(&ReadoutMode::Raw);
        // CCD_INFO: the RAW active area on a body that shoots RAW (FITS NAXIS1/2), else the JPEG's.
        let main_mode = if raw {
            ReadoutMode::Raw
        } else {
            ReadoutMode::Jpeg
        };
        let (w, h) = sensor
            .as_ref()
            .and_then(|s| s.size_for(main_mode))
            .unwrap_or((0, 0));
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
                        num("%.2f", 0.0, 40.0, 0.0),
                    ),
                    Member::number(
                        "CCD_PIXEL_SIZE_X",
                        "Pixel size X",
                        pixel,
                        num("%.2f", 0.0, 40.0, 0.0),
                    ),
                    Member::number(
                        "CCD_PIXEL_SIZE_Y",
                        "Pixel size Y",
                        pixel,
                        num("%.2f", 0.0, 40.0, 0.0),
                    ),
                    Member::number(
                        "CCD_BITSPERPIXEL",
                        "Bits per pixel",
                        // The FITS's BITPIX: 16-bit Bayer, or 8-bit RGB planes without RAW.
                        if raw { 16.0 } else { 8.0 },
                        num("%.f", 8.0, 64.0, 0.0),
                    ),
                ],
            )
            .perm(Perm::Ro),
        ];
        // Bayer information only when the readout is Bayer, writable as libindi defines it
        // (a client's values are kept, as libindi does); the offsets set from each frame.
        if raw {
            v.push(Vector::new(
                Kind::Text,
                "CCD_CFA",
                "Bayer Info",
                "Image Info",
                vec![
                    Member::text("CFA_OFFSET_X", "X Offset", "0"),
                    Member::text("CFA_OFFSET_Y", "Y Offset", "0"),
                    Member::text("CFA_TYPE", "Filter", "RGGB"),
                ],
            ));
        }
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
        // CCD_FRAME cuts RAW frames only.
        let (w, h) = astro
            .camera_size(ReadoutMode::Raw)
            .unwrap_or((u32::MAX, u32::MAX));
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
            // As libindi: the exposure under way is aborted, then the new one starts once the
            // camera is back to Idle (the abort closes the shutter and discards the frame).
            self.abort();
            if !wait_idle(&astro, ABORT_WAIT).await {
                return self.update(
                    "CCD_EXPOSURE",
                    Some("the exposure under way did not end in time: try again"),
                    |v| v.state = State::Alert,
                );
            }
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
        // None = the whole frame of the readout mode (also while its size is not known yet).
        let sub = match (readout, self.get("CCD_FRAME")) {
            (ReadoutMode::Raw, Some(f)) => {
                let n = |k: &str| f.number(k).unwrap_or(0.0).round().max(0.0) as u32;
                let sub = Subframe {
                    start_x: n("X"),
                    start_y: n("Y"),
                    num_x: n("WIDTH"),
                    num_y: n("HEIGHT"),
                };
                (sub.num_x > 0 && sub.num_y > 0).then_some(sub)
            }
            _ => None,
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
        let length = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO);
        let mut shown = seconds.ceil() as u64;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if !self.current(generation) {
                return;
            }
            let failed = |why: &str| {
                if self.current(generation) {
                    self.update("CCD_EXPOSURE", Some(why), |v| v.state = State::Alert);
                }
            };
            match astro.state() {
                Ok(AstroState::Idle) => {
                    if !astro.image_ready().unwrap_or(false) {
                        return failed("the exposure ended without an image");
                    }
                    return match astro.image() {
                        Ok(frame) => self.deliver(&astro, frame, frame_type, generation).await,
                        Err(e) => failed(&format!("the image is not there: {e}")),
                    };
                }
                Ok(AstroState::Error(why)) => return failed(&why),
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
                Err(e) => return failed(&format!("the exposure was lost: {e}")),
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
        let fits_path = self
            .inner
            .temp
            .path()
            .join(format!("frame-{generation}.fits"));
        let camera_file = frame.path.clone();
        // The source is made whole first (the FITS on disk beside the camera's file), so its
        // size is known and the BLOB cannot fail half-way.
        let local = mode == "UPLOAD_LOCAL" || mode == "UPLOAD_BOTH";
        let prepared = {
            let fits_path = fits_path.clone();
            let driver = self.clone();
            tokio::task::spawn_blocking(
                move || -> Result<(PathBuf, String, Option<PathBuf>), String> {
                    let (source, ext) = if native {
                        let path = frame
                            .path
                            .clone()
                            .ok_or("the camera's file is not there to send")?;
                        let ext = format!(
                            ".{}",
                            path.extension()
                                .and_then(|e| e.to_str())
                                .unwrap_or("bin")
                                .to_ascii_lowercase()
                        );
                        (path, ext)
                    } else {
                        std::fs::File::create(&fits_path)
                            .and_then(|f| {
                                let mut w = io::BufWriter::new(f);
                                fits::write(&frame, &info, &mut w)?;
                                w.flush()
                            })
                            .map_err(|e| format!("cannot write the FITS file: {e}"))?;
                        (fits_path, ".fits".to_string())
                    };
                    let mut saved = None;
                    // Aborted meanwhile: nothing saved (and nothing said).
                    if !driver.current(generation) {
                        return Err("aborted".into());
                    }
                    if local {
                        let path = local_path(Path::new(&dir), &prefix, &ext, SystemTime::now())?;
                        std::fs::copy(&source, &path)
                            .map_err(|e| format!("cannot save {}: {e}", path.display()))?;
                        saved = Some(path);
                    }
                    Ok((source, ext, saved))
                },
            )
            .await
            .unwrap_or_else(|_| Err("the image could not be made".into()))
        };
        let result = match prepared {
            Ok((source, ext, saved)) if mode != "UPLOAD_LOCAL" => self
                .send_blob(source, ext, generation)
                .await
                .map(|()| saved),
            other => other.map(|(_, _, saved)| saved),
        };
        // Neither the FITS made to be sent nor a camera file not kept outlives the delivery.
        let _ = std::fs::remove_file(&fits_path);
        if !keep {
            if let Some(p) = &camera_file {
                let _ = std::fs::remove_file(p);
            }
        }
        if !self.current(generation) {
            return;
        }
        match result {
            Ok(saved) => {
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
            Err(why) => self.update("CCD_EXPOSURE", Some(&why), |v| v.state = State::Alert),
        }
    }

    /// Sends file `source` as the CCD1 BLOB: one job of the writer thread, which stops between
    /// chunks once the exposure is superseded (aborted, a new one, the session ended), closing
    /// the element still. Not started when already superseded.
    async fn send_blob(&self, source: PathBuf, ext: String, generation: u64) -> Result<(), String> {
        if !self.current(generation) {
            return Ok(());
        }
        let (done, sent) = tokio::sync::oneshot::channel();
        let driver = self.clone();
        let job = Job::Stream(Box::new(move |out: &mut dyn Write| {
            let result = std::fs::File::open(&source).and_then(|mut f| {
                let size = f.metadata()?.len();
                blob(out, &driver.inner.device, &ext, size, &mut f, &|| {
                    !driver.current(generation)
                })
            });
            let _ = done.send(result);
        }));
        if !self.queue(job) {
            return Err("the image could not be sent: standard output is not read".into());
        }
        match sent.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("the image could not be sent: {e}")),
            Err(_) => Err("the image could not be sent".into()),
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
            let target = new.number("FOCUS_ABSOLUTE_POSITION").unwrap_or(0.0).round();
            // INDI drivers refuse a position out of range (Alpaca's clamp is Alpaca's).
            if !(0.0..=f64::from(f.max_step())).contains(&target) {
                return self.state(
                    name,
                    State::Alert,
                    Some(&format!("the position is 0 to {}", f.max_step())),
                );
            }
            f.move_to(target as i64).await
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

    /// Whether a client's element is answered at once, ahead of the commands waiting: asking
    /// for the properties and the aborts.
    fn at_once(&self, e: &Element) -> bool {
        e.name == "getProperties"
            || (e.name == "newSwitchVector"
                && matches!(
                    e.attr("name"),
                    Some("CCD_ABORT_EXPOSURE" | "FOCUS_ABORT_MOTION")
                ))
    }

    /// Runs the driver on `input` (standard input) until it ends, then ends the session and
    /// writes what is left within `budget`. Reading never waits for a command: the commands
    /// run in order on a task of their own (at most [`COMMANDS`] waiting; more are refused
    /// with a message), `getProperties` and the aborts at once; the end of input is seen at
    /// once and drops the command under way (a connect to a host that does not answer, a
    /// disconnect).
    pub async fn serve(&self, mut input: impl AsyncRead + Unpin, budget: Duration) {
        let (commands, mut waiting) = tokio::sync::mpsc::channel::<Element>(COMMANDS);
        // Commands queued or under way.
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let worker = {
            let driver = self.clone();
            let pending = pending.clone();
            tokio::spawn(async move {
                while let Some(e) = waiting.recv().await {
                    driver.handle(e).await;
                    pending.fetch_sub(1, Ordering::Relaxed);
                }
            })
        };
        let queue = |e: Element| {
            pending.fetch_add(1, Ordering::Relaxed);
            let sent = commands.try_send(e).is_ok();
            if !sent {
                pending.fetch_sub(1, Ordering::Relaxed);
            }
            sent
        };
        let mut reader = crate::xml::Reader::default();
        let mut buf = vec![0u8; 65_536];
        loop {
            let n = match input.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for item in reader.feed(buf.get(..n).unwrap_or_default()) {
                match item {
                    Ok(e) if self.at_once(&e) => {
                        // An abort also goes after the commands waiting or under way, so an
                        // exposure or a move asked just before it is aborted too, as the
                        // client meant.
                        if e.name != "getProperties" && pending.load(Ordering::Relaxed) > 0 {
                            queue(e.clone());
                        }
                        self.handle(e).await;
                    }
                    Ok(e) => {
                        if !queue(e) {
                            self.message("too many commands waiting: one was refused");
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(io::stderr().lock(), "indi_sonyctl: {e}");
                        self.refused(&e);
                    }
                }
            }
        }
        worker.abort();
        let start = tokio::time::Instant::now();
        self.shutdown(budget.mul_f64(0.8)).await;
        self.flush_within(budget.saturating_sub(start.elapsed()))
            .await;
    }
}

/// How long a new exposure waits for the one it aborts to end.
const ABORT_WAIT: Duration = Duration::from_secs(10);

/// Waits (at most `limit`) for the camera to be Idle (or failed) again; false when it is not.
async fn wait_idle(astro: &AstroCamera, limit: Duration) -> bool {
    tokio::time::timeout(limit, async {
        loop {
            match astro.state() {
                Ok(AstroState::Idle | AstroState::Error(_)) | Err(_) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
    .is_ok()
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

/// Where a local upload goes: `dir/prefix.ext`, with `XXX` in the prefix the highest
/// three-digit index already in `dir` plus one (from 001) and `ISO8601` the UTC time
/// (`2026-12-05T20-56-27`), as libindi expands them. `dir` is made when missing (clients such
/// as Ekos name a folder per target). A prefix that would leave `dir` (a `/`, a `\`, `..`) is
/// refused.
pub fn local_path(dir: &Path, prefix: &str, ext: &str, now: SystemTime) -> Result<PathBuf, String> {
    if prefix.is_empty() || prefix.contains(['/', '\\']) || prefix.contains("..") {
        return Err(format!(
            "UPLOAD_PREFIX {prefix:?}: a file name is needed (no /, \\ or ..)"
        ));
    }
    if dir.as_os_str().is_empty() {
        return Err("UPLOAD_DIR is empty".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let stamp = fits::utc(now)
        .get(..19)
        .unwrap_or_default()
        .replace(':', "-");
    let prefix = prefix.replace("ISO8601", &stamp);
    let Some((before, after)) = prefix.split_once("XXX") else {
        return Ok(dir.join(format!("{prefix}{ext}")));
    };
    let tail = format!("{after}{ext}");
    let highest = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let digits = name.strip_prefix(before)?.strip_suffix(tail.as_str())?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    Ok(dir.join(format!("{before}{:03}{tail}", highest.saturating_add(1))))
}

/// Writes a `setBLOBVector` of `CCD1` holding `source`'s `size` bytes, base64 encoded as it
/// goes: the file is never held whole, nor its base64. The base64 is in lines of 72
/// characters, as libindi's drivers write it inline: indiserver 1.9.9 relays it so (it never
/// delivered one unbroken line of a full frame, nor lines of 40 000), and libindi's clients
/// skip the line breaks. (`indi_getprop` 1.9.9 does not: the files it saves from any inline
/// BLOB with line breaks are wrong.)
///
/// The element is always closed, so the stream stays valid: when `cancelled` says so between
/// chunks, the BLOB ends there (`Ok(false)`); when `source` fails or ends early, the rest is
/// zeros and the error is returned. Only a failing `out` leaves it open.
pub fn blob(
    out: &mut dyn Write,
    device: &str,
    format: &str,
    size: u64,
    source: &mut dyn Read,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<bool> {
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
    let mut failed = None;
    let mut whole = true;
    {
        let mut lines = LineBreaks {
            out: &mut *out,
            column: 0,
            width: 72,
        };
        let mut enc = base64::write::EncoderWriter::new(&mut lines, &STANDARD);
        let mut buf = vec![0u8; 65_536];
        let mut left = size;
        while left > 0 {
            if cancelled() {
                whole = false;
                break;
            }
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let chunk = buf.get_mut(..want).unwrap_or_default();
            let n = if failed.is_some() {
                chunk.fill(0);
                want
            } else {
                match source.read(chunk) {
                    Ok(0) => {
                        failed = Some(io::Error::other(format!(
                            "{} bytes of the {size} announced",
                            size - left
                        )));
                        continue;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        failed = Some(e);
                        continue;
                    }
                }
            };
            enc.write_all(chunk.get(..n).unwrap_or_default())?;
            left -= n as u64;
        }
        enc.finish()?;
    }
    out.write_all(b"\n</oneBLOB>\n</setBLOBVector>\n")?;
    out.flush()?;
    match failed {
        Some(e) => Err(e),
        None => Ok(whole),
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
        /// What the driver wrote, once its writer thread wrote all it was given.
        async fn take(&self, d: &Driver) -> Vec<Element> {
            assert!(d.flush_within(Duration::from_secs(30)).await);
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
        let defs = out.take(&d).await;
        let names: Vec<&str> = defs.iter().filter_map(|e| e.attr("name")).collect();
        assert_eq!(names[..3], ["CONNECTION", "DRIVER_INFO", "DEVICE_PORT"]);
        assert!(defs.iter().all(|e| e.name.starts_with("def")));
        // Another device's, or one property.
        d.handle(element("<getProperties version='1.7' device='Other'/>"))
            .await;
        assert!(out.take(&d).await.is_empty());
        d.handle(element("<getProperties version='1.7' name='DEVICE_PORT'/>"))
            .await;
        assert_eq!(out.take(&d).await.len(), 1);
        // libindi's clients indent the text: it is trimmed.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DEVICE_PORT'>\n  <oneText \
             name='PORT'>\n      ip:[::1]:15741\n  </oneText>\n</newTextVector>",
        ))
        .await;
        let set = out.take(&d).await;
        assert_eq!(set[0].name, "setTextVector");
        assert_eq!(set[0].attr("state"), Some("Ok"));
        assert_eq!(set[0].children[0].text, "ip:[::1]:15741");
        // A camera spec sonyctl refuses: Alert with why.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DEVICE_PORT'><oneText \
             name='PORT'>tcp:x</oneText></newTextVector>",
        ))
        .await;
        let set = out.take(&d).await;
        assert_eq!(set[0].attr("state"), Some("Alert"));
        assert!(set[0].attr("message").unwrap().contains("tcp:x"));
        // A file named as the simulated camera's profile: refused, never read nor quoted.
        d.handle(element(
            "<newTextVector device='Sony Camera' name='DEVICE_PORT'><oneText \
             name='PORT'>sim:/etc/passwd</oneText></newTextVector>",
        ))
        .await;
        let set = out.take(&d).await;
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
        assert_eq!(out.take(&d).await[0].name, "message");
        d.handle(element(
            "<newSwitchVector device='Sony Camera' name='NOPE'/>",
        ))
        .await;
        assert!(out.take(&d).await.is_empty());
        // A number that is none: Alert.
        d.handle(element(
            "<newNumberVector device='Sony Camera' name='SONY_BULB_ABOVE'><oneNumber \
             name='BULB_ABOVE'>soon</oneNumber></newNumberVector>",
        ))
        .await;
        assert_eq!(out.take(&d).await[0].attr("state"), Some("Alert"));
        // Exposing while not connected: Alert, not a crash.
        d.handle(element(
            "<newNumberVector device='Sony Camera' name='CCD_EXPOSURE'><oneNumber \
             name='CCD_EXPOSURE_VALUE'>1</oneNumber></newNumberVector>",
        ))
        .await;
        assert!(
            out.take(&d).await.is_empty(),
            "CCD_EXPOSURE is not defined before connecting"
        );
    }

    /// An output whose reader stopped reading: every write waits until `open` is sent.
    struct Stalled(std::sync::mpsc::Receiver<()>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.0.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_stalled_reader_of_the_output_never_stops_the_driver() {
        let (open, gate) = std::sync::mpsc::channel();
        let d = Driver::new(&config(), Box::new(Stalled(gate))).unwrap();
        // Far more than the queue holds: every call returns, the excess is dropped.
        let all = tokio::time::timeout(Duration::from_secs(60), async {
            for _ in 0..2 * QUEUE {
                d.handle(element("<getProperties version='1.7'/>")).await;
            }
        })
        .await;
        assert!(all.is_ok(), "the driver waited for its output");
        assert!(d.inner.dropped.load(Ordering::Relaxed) > 0);
        assert!(!d.flush_within(Duration::from_millis(50)).await);
        drop(open);
    }

    /// What `d` wrote until `done` holds for what was read so far (at most `limit`).
    async fn until(
        d: &Driver,
        out: &Shared,
        limit: Duration,
        done: impl Fn(&[Element]) -> bool,
    ) -> Vec<Element> {
        let mut seen = Vec::new();
        let _ = tokio::time::timeout(limit, async {
            loop {
                seen.extend(out.take(d).await);
                if done(&seen) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        seen
    }

    fn set_state<'a>(e: &'a Element, name: &str) -> Option<&'a str> {
        (e.name.starts_with("set") && e.attr("name") == Some(name))
            .then(|| e.attr("state"))
            .flatten()
    }

    #[tokio::test]
    async fn the_end_of_input_is_seen_during_a_connect() {
        // A PTP/IP "camera" that takes the connection and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let out = Shared::default();
        let d = Driver::new(
            &Config {
                port: format!("ip:127.0.0.1:{port}"),
                ..config()
            },
            Box::new(out.clone()),
        )
        .unwrap();
        let (mut client, input) = tokio::io::duplex(4096);
        let serving = tokio::spawn({
            let d = d.clone();
            async move { d.serve(input, Duration::from_millis(1500)).await }
        });
        use tokio::io::AsyncWriteExt;
        client
            .write_all(
                b"<newSwitchVector device='Sony Camera' name='CONNECTION'><oneSwitch \
                  name='CONNECT'>On</oneSwitch></newSwitchVector>",
            )
            .await
            .unwrap();
        let seen = until(&d, &out, Duration::from_secs(30), |s| {
            s.iter().any(|e| set_state(e, "CONNECTION") == Some("Busy"))
        })
        .await;
        assert!(
            seen.iter()
                .any(|e| set_state(e, "CONNECTION") == Some("Busy"))
        );
        // Answered while the connect waits.
        client
            .write_all(b"<getProperties version='1.7'/>")
            .await
            .unwrap();
        let seen = until(&d, &out, Duration::from_secs(30), |s| {
            s.iter().any(|e| e.name == "defTextVector")
        })
        .await;
        assert!(seen.iter().any(|e| e.name == "defTextVector"));
        // The end of input ends the driver (the 2 s the driver promises, with room for a
        // loaded machine; a connect awaited to its time-out would take far longer).
        drop(client);
        let ended = tokio::time::timeout(Duration::from_secs(4), serving).await;
        assert!(
            ended.is_ok(),
            "the end of input was not seen during a connect"
        );
        drop(silent);
    }

    #[test]
    fn the_driver_list_names_the_executable_once() {
        let items = crate::xml::Reader::default().feed(include_bytes!("../indi_sonyctl.xml"));
        let list = items[0].as_ref().unwrap();
        assert_eq!(list.name, "driversList");
        // Under CCDs only: listed twice, KStars could start it twice over one body.
        let groups: Vec<&str> = list
            .children
            .iter()
            .filter_map(|g| g.attr("group"))
            .collect();
        assert_eq!(groups, ["CCDs"]);
        let drivers: Vec<&Element> = list
            .children
            .iter()
            .flat_map(|g| &g.children)
            .flat_map(|d| &d.children)
            .filter(|d| d.name == "driver")
            .collect();
        assert_eq!(drivers.len(), 1);
        assert_eq!(drivers[0].text.trim(), "indi_sonyctl");
        assert_eq!(drivers[0].attr("name"), Some(DEFAULT_DEVICE));
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
    fn local_names_count_up_from_the_highest_and_stay_in_the_folder() {
        let root = tempfile::tempdir().unwrap();
        // A folder per target, made when missing.
        let dir = root.path().join("M31").join("Light");
        let t = SystemTime::UNIX_EPOCH;
        let first = local_path(&dir, "IMAGE_XXX", ".fits", t).unwrap();
        assert_eq!(first, dir.join("IMAGE_001.fits"));
        assert!(dir.is_dir());
        std::fs::write(&first, b"x").unwrap();
        assert_eq!(
            local_path(&dir, "IMAGE_XXX", ".fits", t).unwrap(),
            dir.join("IMAGE_002.fits")
        );
        // The highest in use plus one, as libindi counts, not the first gap.
        std::fs::write(dir.join("IMAGE_007.fits"), b"x").unwrap();
        std::fs::remove_file(&first).unwrap();
        assert_eq!(
            local_path(&dir, "IMAGE_XXX", ".fits", t).unwrap(),
            dir.join("IMAGE_008.fits")
        );
        assert_eq!(
            local_path(&dir, "M31_ISO8601", ".arw", t).unwrap(),
            dir.join("M31_1970-01-01T00-00-00.arw")
        );
        // A prefix leaving the folder is refused.
        for bad in ["../x_XXX", "/etc/x", "a/b", "a\\b", "..", ""] {
            assert!(local_path(&dir, bad, ".fits", t).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_blob_is_base64_in_lines_with_its_sizes() {
        let mut out = Vec::new();
        let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        let never = || false;
        assert!(blob(&mut out, "D<1>", ".fits", 100_000, &mut &data[..], &never).unwrap());
        let items = crate::xml::Reader::default().feed(&out);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.attr("device"), Some("D<1>"));
        let one = &e.children[0];
        assert_eq!(one.attr("size"), Some("100000"));
        assert_eq!(one.attr("enclen"), Some("133336"));
        assert_eq!(one.attr("format"), Some(".fits"));
        assert!(one.text.lines().all(|l| l.len() <= 72));
        assert_eq!(decode(&one.text), data);
        // A source that ends early: an error, the element closed and padded to its size, and
        // the stream still readable.
        let mut out = Vec::new();
        assert!(blob(&mut out, "D", ".fits", 10, &mut &b"abc"[..], &never).is_err());
        out.extend_from_slice(b"<message device='D' message='next'/>");
        let items = crate::xml::Reader::default().feed(&out);
        assert_eq!(items.len(), 2, "{items:?}");
        let one = &items[0].as_ref().unwrap().children[0];
        assert_eq!(decode(&one.text), b"abc\0\0\0\0\0\0\0");
        assert_eq!(items[1].as_ref().unwrap().name, "message");
        // Cancelled between chunks: ended early, still a whole element.
        let mut out = Vec::new();
        let calls = std::cell::Cell::new(0);
        let second = || {
            calls.set(calls.get() + 1);
            calls.get() > 1
        };
        let big = vec![7u8; 200_000];
        assert!(!blob(&mut out, "D", ".fits", 200_000, &mut &big[..], &second).unwrap());
        let items = crate::xml::Reader::default().feed(&out);
        let one = &items[0].as_ref().unwrap().children[0];
        assert_eq!(decode(&one.text), vec![7u8; 65_536]);
    }

    fn decode(text: &str) -> Vec<u8> {
        use base64::Engine;
        let b64: String = text.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }
}
