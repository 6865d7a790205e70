//! The task that owns the camera: runs commands in order, watches the camera when idle, and
//! keeps the status snapshot and the event ring fed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sonyctl_camera::save::{ObjectMeta, Saver};
use sonyctl_camera::{
    Camera, Cancel, CaptureError, CaptureOptions, CaptureSession, Downloaded, FocusState, Observer,
    SetOutcome, ShotKind, Watch, WatchEvent,
};
use sonyctl_ptp::PropertyCode;
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::{PendingImages, ShutterSpeed};
use sonyctl_sony::{AllPropInfo, format_value, parse_value};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::{
    CaptureReport, Event, ExposureState, ExposureStatus, Properties, Property, ServiceError,
    ServiceOptions, ShotOptions, Status,
};

type Reply<T> = oneshot::Sender<Result<T, ServiceError>>;

/// A capture waiting in the queue.
pub(crate) struct CaptureJob {
    pub(crate) kind: ShotKind,
    pub(crate) options: ShotOptions,
    pub(crate) cancel: Cancel,
    pub(crate) aborted: Arc<AtomicBool>,
    pub(crate) reply: Reply<CaptureReport>,
}

/// What a handle asks of the task.
pub(crate) enum Command {
    Properties(Reply<Properties>),
    Get(String, Reply<Property>),
    Set(String, String, Reply<SetOutcome>),
    Capture(Box<CaptureJob>),
    Autofocus(Reply<FocusState>),
    FocusStep {
        size: i32,
        steps: u32,
        reply: Reply<()>,
    },
    FocusPoint {
        x: u16,
        y: u16,
        reply: Reply<()>,
    },
    Movie {
        start: bool,
        reply: Reply<bool>,
    },
    ReleaseAll(Reply<()>),
    Download {
        saver: Arc<Saver>,
        reply: Reply<Vec<Downloaded>>,
    },
    WithCamera(Box<dyn FnOnce(&mut Camera) + Send>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label().as_str())
    }
}

impl Command {
    /// What the status shows while the command runs.
    fn label(&self) -> String {
        match self {
            Command::Properties(_) => "properties".into(),
            Command::Get(n, _) => format!("get {n}"),
            Command::Set(n, t, _) => format!("set {n} {t}"),
            Command::Capture(job) => match job.kind {
                ShotKind::Single => "capture".into(),
                ShotKind::Bulb(d) => format!("capture bulb {:.3} s", d.as_secs_f64()),
                ShotKind::Burst(d) => format!("capture burst {:.3} s", d.as_secs_f64()),
            },
            Command::Autofocus(_) => "autofocus".into(),
            Command::FocusStep { .. } => "focus step".into(),
            Command::FocusPoint { .. } => "focus point".into(),
            Command::Movie { start, .. } => {
                format!("movie {}", if *start { "start" } else { "stop" })
            }
            Command::ReleaseAll(_) => "release".into(),
            Command::Download { .. } => "download".into(),
            Command::WithCamera(_) => "inspect".into(),
        }
    }
}

fn name_of(code: PropertyCode) -> String {
    sonyctl_sony::codes::describe(sonyctl_sony::property_name(code), code.0)
}

fn resolve(name: &str) -> Result<PropertyCode, ServiceError> {
    sonyctl_sony::codes::property_by_name(name)
        .ok_or_else(|| ServiceError::UnknownName(name.to_string()))
}

/// Setting from text: resolve the name, read the descriptor, parse against it, set. The one
/// place to switch to the facade's own set-by-text.
async fn set_by_text(cam: &mut Camera, name: &str, text: &str) -> Result<SetOutcome, ServiceError> {
    let code = resolve(name)?;
    let d = cam.get(code).await?;
    let value =
        parse_value(code, text, d.data_type, Some(&d)).map_err(|source| ServiceError::Parse {
            name: name.to_string(),
            source,
        })?;
    Ok(cam.set(code, &value).await?)
}

/// True when `e` means the connection is gone.
fn lost(e: &ServiceError) -> bool {
    match e {
        ServiceError::Camera(c) => c.is_connection_lost(),
        ServiceError::Set(sonyctl_camera::SetError::Camera(c)) => c.is_connection_lost(),
        ServiceError::Capture(CaptureError::Camera(c)) => c.is_connection_lost(),
        ServiceError::Capture(CaptureError::TooManyReconnects(_)) => true,
        _ => false,
    }
}

/// What the capture observer hears, reduced to what the exposure state needs.
#[derive(Clone, Copy, Debug)]
enum Signal {
    Preparing,
    ShotStarted(Duration),
    Countdown(Duration),
    WaitingForImage,
    Download { done: u64, total: Option<u64> },
    Finished { failed: bool },
}

/// The exposure state from what the service knows of the capture it runs. The one place to
/// switch to the facade's exposure callback.
fn derive_exposure(
    last: &ExposureStatus,
    signal: Signal,
    length: Option<Duration>,
    discarding: bool,
) -> ExposureStatus {
    let mut s = last.clone();
    match signal {
        Signal::Preparing => {
            s = ExposureStatus {
                state: ExposureState::Waiting,
                length,
                ..ExposureStatus::idle()
            };
        }
        Signal::ShotStarted(at) => {
            s.state = ExposureState::Exposing;
            s.started = Some(at);
            s.length = length;
            s.progress = 0.0;
            s.detail = None;
        }
        Signal::Countdown(left) => {
            s.state = ExposureState::Exposing;
            if let Some(l) = length.filter(|l| !l.is_zero()) {
                s.progress = (1.0 - left.as_secs_f64() / l.as_secs_f64()).clamp(0.0, 1.0);
            }
        }
        Signal::WaitingForImage => {
            if s.state == ExposureState::Exposing {
                s.state = ExposureState::Processing;
                s.progress = 0.0;
            }
        }
        Signal::Download { done, total } => {
            s.state = if discarding {
                ExposureState::Discarding
            } else {
                ExposureState::Downloading
            };
            s.progress = total
                .filter(|t| *t > 0)
                .map_or(0.0, |t| (done as f64 / t as f64).clamp(0.0, 1.0));
        }
        Signal::Finished { failed } => {
            s.state = if failed {
                ExposureState::Error
            } else {
                ExposureState::Idle
            };
            s.progress = if failed { s.progress } else { 1.0 };
        }
    }
    s
}

/// Feeds the capture's progress into the status and the event ring.
struct Progress<'a> {
    status: &'a watch::Sender<Status>,
    events: &'a broadcast::Sender<Event>,
    length: Option<Duration>,
    aborted: Arc<AtomicBool>,
    /// State and tenth of progress last sent as an event (downloads report every piece).
    sent: Option<(ExposureState, u32)>,
}

impl Progress<'_> {
    fn signal(&mut self, signal: Signal) {
        let discarding = self.aborted.load(Ordering::SeqCst);
        let mut now = ExposureStatus::idle();
        self.status.send_modify(|s| {
            s.exposure = derive_exposure(&s.exposure, signal, self.length, discarding);
            now = s.exposure.clone();
        });
        let key = (now.state, (now.progress * 10.0) as u32);
        let tick = matches!(signal, Signal::Countdown(_));
        if tick || self.sent != Some(key) {
            self.sent = Some(key);
            let _ = self.events.send(Event::Exposure(now));
        }
    }

    fn detail(&mut self, text: String) {
        self.status.send_modify(|s| s.exposure.detail = Some(text));
    }
}

impl Observer for Progress<'_> {
    fn notice(&mut self, message: &str) {
        tracing::info!("{message}");
    }
    fn waiting(&mut self, what: &'static str, _elapsed: Duration, _limit: Duration) {
        let started = self.status.borrow().exposure.started.is_some();
        if started {
            self.signal(Signal::WaitingForImage);
        }
        self.detail(what.to_string());
    }
    fn shot_started(&mut self, _shot: u32, at: Duration) {
        self.signal(Signal::ShotStarted(at));
    }
    fn countdown(&mut self, left: Duration) {
        self.signal(Signal::Countdown(left));
    }
    fn download_started(&mut self, meta: &ObjectMeta) {
        self.signal(Signal::Download {
            done: 0,
            total: meta.size,
        });
        self.detail(meta.filename.clone());
    }
    fn download_progress(&mut self, done: u64, total: Option<u64>) {
        self.signal(Signal::Download { done, total });
    }
    fn saved(&mut self, image: &Downloaded) {
        if !self.aborted.load(Ordering::SeqCst) {
            let _ = self.events.send(Event::NewImage(image.clone()));
        }
    }
}

/// Ready images counted by 0xD215.
fn ready_count(p: &AllPropInfo) -> u16 {
    p.get(prop::PENDING_IMAGES)
        .and_then(|d| d.current.as_u64())
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| PendingImages::from_raw(n).ready_count())
        .map_or(0, u16::from)
}

/// The shutter time the camera is set to (`None`: BULB or unknown).
fn shutter_time(p: &AllPropInfo) -> Option<Duration> {
    let raw = p.get(prop::SHUTTER_SPEED)?.current.as_u64()?;
    ShutterSpeed::from_value(raw)?
        .seconds()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The task's state.
pub(crate) struct Actor {
    cam: Camera,
    rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<Event>,
    status: watch::Sender<Status>,
    options: ServiceOptions,
    watch: Option<Watch>,
}

/// What woke the task.
enum Wake {
    Command(Command),
    Closed,
    Tick,
}

impl Actor {
    pub(crate) fn new(
        cam: Camera,
        rx: mpsc::Receiver<Command>,
        events: broadcast::Sender<Event>,
        status: watch::Sender<Status>,
        options: ServiceOptions,
    ) -> Actor {
        Actor {
            cam,
            rx,
            events,
            status,
            options,
            watch: None,
        }
    }

    pub(crate) async fn run(mut self) {
        self.refresh().await;
        loop {
            let wake = {
                let connected = self.status.borrow().connected;
                let poll = self.options.poll;
                let (rx, cam) = (&mut self.rx, &mut self.cam);
                tokio::select! {
                    biased;
                    c = rx.recv() => c.map_or(Wake::Closed, Wake::Command),
                    () = idle(cam, poll, connected) => Wake::Tick,
                }
            };
            match wake {
                Wake::Command(c) => self.command(c).await,
                Wake::Tick => self.refresh().await,
                Wake::Closed => break,
            }
        }
        // Nobody is left to release anything: leave the camera as a person would find it.
        if let Err(e) = self.cam.release_all().await {
            tracing::warn!("releasing the buttons as the service ends: {e}");
        }
    }

    fn busy(&self, what: Option<String>) {
        self.status.send_modify(|s| s.busy = what);
    }

    async fn command(&mut self, c: Command) {
        if !self.status.borrow().connected {
            self.reconnect().await;
        }
        self.busy(Some(c.label()));
        let was_lost = match c {
            Command::Properties(reply) => {
                let r = self.properties().await;
                answer(reply, r)
            }
            Command::Get(name, reply) => {
                let r = self.get(&name).await;
                answer(reply, r)
            }
            Command::Set(name, text, reply) => {
                let r = set_by_text(&mut self.cam, &name, &text).await;
                answer(reply, r)
            }
            Command::Capture(job) => self.capture(*job).await,
            Command::Autofocus(reply) => {
                let r = self.cam.autofocus(self.options.focus_timeout).await;
                answer(reply, r.map_err(Into::into))
            }
            Command::FocusStep { size, steps, reply } => {
                let r = self.cam.focus_step(size, steps).await;
                answer(reply, r.map_err(Into::into))
            }
            Command::FocusPoint { x, y, reply } => {
                let r = self.cam.focus_point(x, y).await;
                answer(reply, r.map_err(Into::into))
            }
            Command::Movie { start, reply } => {
                let r = self.cam.movie(start).await;
                answer(reply, r.map_err(Into::into))
            }
            Command::ReleaseAll(reply) => {
                let r = self.cam.release_all().await;
                answer(reply, r.map_err(Into::into))
            }
            Command::Download { saver, reply } => {
                let r = self.download(&saver).await;
                answer(reply, r)
            }
            Command::WithCamera(f) => {
                f(&mut self.cam);
                false
            }
        };
        self.busy(None);
        if was_lost {
            self.connection_lost("a command found the connection gone".into())
                .await;
        }
        // What the command changed shows at once, not a poll later.
        self.refresh().await;
    }

    async fn properties(&mut self) -> Result<Properties, ServiceError> {
        let all = self.cam.cached_properties(self.options.poll).await?.clone();
        Ok(Properties {
            all,
            read_at: self.cam.link().now(),
        })
    }

    async fn get(&mut self, name: &str) -> Result<Property, ServiceError> {
        let code = resolve(name)?;
        let desc = self.cam.get(code).await?;
        Ok(Property {
            code,
            name: name_of(code),
            display: format_value(code, &desc.current),
            desc,
        })
    }

    /// Runs a whole capture: begin, the shot, finish (always). Returns true when the connection
    /// was lost for good.
    async fn capture(&mut self, job: CaptureJob) -> bool {
        let CaptureJob {
            kind,
            options,
            cancel,
            aborted,
            reply,
        } = job;
        let length = match kind {
            ShotKind::Bulb(d) | ShotKind::Burst(d) => Some(d),
            ShotKind::Single => self
                .cam
                .cached_properties(self.options.poll)
                .await
                .ok()
                .and_then(shutter_time),
        };
        let mut progress = Progress {
            status: &self.status,
            events: &self.events,
            length,
            aborted: aborted.clone(),
            sent: None,
        };
        progress.signal(Signal::Preparing);
        let result = shoot(
            &mut self.cam,
            &options.saver,
            options.capture,
            kind,
            cancel.clone(),
            &mut progress,
        )
        .await;
        let result = result.map(|(waiting, files)| {
            let mut report = CaptureReport {
                waiting,
                files,
                stopped: cancel.is_cancelled(),
                discarded: 0,
            };
            if aborted.load(Ordering::SeqCst) {
                progress.signal(Signal::Download {
                    done: 0,
                    total: None,
                });
                report.discarded = discard_aborted(std::mem::take(&mut report.files));
            }
            report
        });
        progress.signal(Signal::Finished {
            failed: result.is_err(),
        });
        if let Err(e) = &result {
            progress.detail(e.to_string());
        }
        answer(reply, result)
    }

    async fn download(&mut self, saver: &Saver) -> Result<Vec<Downloaded>, ServiceError> {
        let mut observer = Progress {
            status: &self.status,
            events: &self.events,
            length: None,
            aborted: Arc::new(AtomicBool::new(false)),
            sent: None,
        };
        // The session saves what waits when it begins; `finish` restores the save destination.
        let (session, waiting) = CaptureSession::begin(
            &mut self.cam,
            saver,
            CaptureOptions::default(),
            Cancel::new(),
            &mut observer,
        )
        .await?;
        session.finish(&mut observer).await?;
        if !waiting.is_empty() {
            observer.signal(Signal::Finished { failed: false });
        }
        Ok(waiting)
    }

    /// Reads the camera and reports what changed since the last read.
    async fn refresh(&mut self) {
        if !self.status.borrow().connected {
            self.reconnect().await;
            return;
        }
        let changes = match self.watch.as_mut() {
            Some(w) => w.next(&mut self.cam, Duration::ZERO).await,
            None => match Watch::start(&mut self.cam).await {
                Ok(w) => {
                    self.watch = Some(w);
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            },
        };
        let changes = match changes {
            Ok(c) => c,
            Err(e) if e.is_connection_lost() => {
                self.connection_lost(e.to_string()).await;
                return;
            }
            Err(e) => {
                tracing::warn!("reading the camera while idle: {e}");
                return;
            }
        };
        for change in changes {
            let event = match change {
                WatchEvent::Changed { code, old, new } => Event::PropertyChanged {
                    code,
                    name: name_of(code),
                    old_display: format_value(code, &old),
                    new_display: format_value(code, &new),
                    old,
                    new,
                },
                WatchEvent::NewImages(n) => Event::ImagesWaiting(n),
                WatchEvent::ConnectionLost { error } => {
                    // The service reconnects on its own; a new watch starts afterwards.
                    self.watch = None;
                    self.connection_lost(error.to_string()).await;
                    return;
                }
                WatchEvent::ConnectionRestored => continue,
            };
            let _ = self.events.send(event);
        }
        // The watch has just read everything, so this is its copy.
        if let Ok(p) = self.cam.cached_properties(Duration::MAX).await {
            let pending = ready_count(p);
            let battery = p
                .get(prop::BATTERY_REMAINING)
                .map(|d| format_value(prop::BATTERY_REMAINING, &d.current));
            self.status.send_if_modified(|s| {
                let changed = s.pending_images != pending || s.battery != battery;
                s.pending_images = pending;
                s.battery = battery;
                changed
            });
        }
    }

    async fn connection_lost(&mut self, why: String) {
        if !self.status.borrow().connected {
            return;
        }
        self.status.send_modify(|s| s.connected = false);
        let _ = self.events.send(Event::ConnectionLost(why));
        self.reconnect().await;
    }

    /// Tries to reconnect for the configured budget; the next idle tick tries again if not.
    async fn reconnect(&mut self) {
        match self.cam.reconnect(self.options.reconnect_for).await {
            Ok(()) => {
                self.status.send_modify(|s| s.connected = true);
                let _ = self.events.send(Event::ConnectionRestored);
            }
            Err(e) => tracing::warn!("reconnecting: {e}"),
        }
    }
}

/// Waits for the next idle poll: up to `poll` for an event on the camera's clock, and no less
/// than `poll` of real time unless an event came, so that a camera on a virtual clock (whose
/// waits end at once) is not read in a busy loop. Cancelled when a command arrives.
async fn idle(cam: &mut Camera, poll: Duration, connected: bool) {
    let start = Instant::now();
    let events = if connected {
        cam.wait_events(poll).await
    } else {
        Vec::new()
    };
    if events.is_empty() {
        if let Some(rest) = poll.checked_sub(start.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
}

/// Begin, one shot, finish: `finish` runs whatever the shot did.
async fn shoot(
    cam: &mut Camera,
    saver: &Saver,
    options: CaptureOptions,
    kind: ShotKind,
    cancel: Cancel,
    observer: &mut dyn Observer,
) -> Result<(Vec<Downloaded>, Vec<Downloaded>), ServiceError> {
    let (mut session, waiting) =
        CaptureSession::begin(cam, saver, options, cancel, observer).await?;
    let shot = session.shoot(kind, observer).await;
    let finished = session.finish(observer).await;
    let files = shot?;
    finished?;
    Ok((waiting, files))
}

/// Drops the files of an aborted shot (they were fetched so that the camera's buffer is empty
/// and the next capture does not take them for waiting images). Returns how many.
fn discard_aborted(files: Vec<Downloaded>) -> usize {
    let mut n = 0;
    for f in files {
        match std::fs::remove_file(&f.file.path) {
            Ok(()) => n += 1,
            Err(e) => tracing::warn!("discarding {}: {e}", f.file.path.display()),
        }
    }
    n
}

/// Sends `r` to a client that may have gone; returns true when it says the connection is gone.
fn answer<T>(reply: Reply<T>, r: Result<T, ServiceError>) -> bool {
    let lost = r.as_ref().err().is_some_and(lost);
    // A client that went away does not undo what was done.
    let _ = reply.send(r);
    lost
}
