//! The task that owns the camera: runs commands in order, watches the camera when idle, and
//! keeps the status snapshot and the event ring fed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sonyctl_camera::save::Saver;
use sonyctl_camera::{
    Camera, CameraInfo, Cancel, CaptureOptions, CaptureSession, Downloaded, FocusState, LiveView,
    LiveViewOptions, Observer, SetOutcome, SharedError, ShotKind, Watch, WatchEvent,
};
use sonyctl_ptp::PropertyCode;
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::{BatteryRemaining, PendingImages};
use sonyctl_sony::{AllPropInfo, format_value};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::live_view::{Demand, Newest};
use crate::{
    CaptureReport, Event, ExposureState, ExposureStatus, Properties, Property, ServiceError,
    ServiceOptions, ShotOptions, Snapshot, Status,
};

type Reply<T> = oneshot::Sender<Result<T, ServiceError>>;

/// A capture waiting in the queue.
pub(crate) struct CaptureJob {
    pub(crate) kind: ShotKind,
    pub(crate) options: ShotOptions,
    pub(crate) cancel: Cancel,
    pub(crate) reply: Reply<CaptureReport>,
}

/// What a handle asks of the task.
pub(crate) enum Command {
    Properties(Reply<Properties>),
    Get(String, Reply<Property>),
    Set(String, String, Reply<SetOutcome>),
    SetRaw(String, i128, Reply<SetOutcome>),
    Info(Reply<CameraInfo>),
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
    /// Answers without reaching the camera: it is not connected. An inspection still runs
    /// (it looks at the camera object, not over the connection).
    fn refuse(self, error: SharedError, cam: &mut Camera) {
        let e = || ServiceError::Disconnected(error.clone());
        match self {
            Command::Properties(r) => answer(r, Err(e())),
            Command::Get(_, r) => answer(r, Err(e())),
            Command::Set(_, _, r) | Command::SetRaw(_, _, r) => answer(r, Err(e())),
            Command::Info(r) => answer(r, Err(e())),
            Command::Capture(job) => answer(job.reply, Err(e())),
            Command::Autofocus(r) => answer(r, Err(e())),
            Command::FocusStep { reply, .. } | Command::FocusPoint { reply, .. } => {
                answer(reply, Err(e()));
            }
            Command::ReleaseAll(r) => answer(r, Err(e())),
            Command::Movie { reply, .. } => answer(reply, Err(e())),
            Command::Download { reply, .. } => answer(reply, Err(e())),
            Command::WithCamera(f) => f(cam),
        }
    }

    /// What the status shows while the command runs.
    fn label(&self) -> String {
        match self {
            Command::Properties(_) => "properties".into(),
            Command::Get(n, _) => format!("get {n}"),
            Command::Set(n, t, _) => format!("set {n} {t}"),
            Command::SetRaw(n, v, _) => format!("set {n} {v} (raw)"),
            Command::Info(_) => "info".into(),
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

/// Feeds the facade's exposure reports and saved files into the status and the event ring.
struct Progress<'a> {
    status: &'a watch::Sender<Status>,
    events: &'a broadcast::Sender<Event>,
    /// Files the capture reported discarding (a new file name in state `discarding`).
    discarded: usize,
}

impl<'a> Progress<'a> {
    fn new(status: &'a watch::Sender<Status>, events: &'a broadcast::Sender<Event>) -> Self {
        Progress {
            status,
            events,
            discarded: 0,
        }
    }
}

impl Observer for Progress<'_> {
    fn notice(&mut self, message: &str) {
        tracing::info!("{message}");
    }
    fn saved(&mut self, image: &Downloaded) {
        let _ = self.events.send(Event::NewImage(image.clone()));
    }
    fn exposure(&mut self, now: &ExposureStatus) {
        let mut last = None;
        self.status.send_modify(|s| {
            last = Some(std::mem::replace(&mut s.exposure, now.clone()));
        });
        let next_file =
            last.is_none_or(|l| l.state != ExposureState::Discarding || l.detail != now.detail);
        if now.state == ExposureState::Discarding && next_file {
            self.discarded += 1;
        }
        let _ = self.events.send(Event::Exposure(now.clone()));
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

/// The camera's one live-view stream and the subscriptions' demand for it.
pub(crate) struct LiveFeed {
    demand: watch::Receiver<Demand>,
    frames: watch::Sender<Newest>,
    stream: LiveView,
    /// True while the stream runs (somebody watches).
    running: bool,
}

impl LiveFeed {
    pub(crate) fn new(demand: watch::Receiver<Demand>, frames: watch::Sender<Newest>) -> Self {
        LiveFeed {
            demand,
            frames,
            stream: LiveView::new(LiveViewOptions::default()),
            running: false,
        }
    }

    /// Starts or stops the stream as the subscriptions ask, and takes their cap.
    fn follow_demand(&mut self) {
        let (wanted, cap) = {
            let d = self.demand.borrow_and_update();
            (d.wanted(), d.max_fps())
        };
        if wanted && !self.running {
            // Started again: the timing, the failures and their hold from before start over,
            // and so does any trouble published then.
            self.stream.reset();
            self.frames.send_if_modified(|f| f.trouble.take().is_some());
        }
        self.running = wanted;
        self.stream.set_max_fps(cap);
    }

    /// How soon after its last read the watch reads the camera again for events that came in
    /// while live view runs: a frame interval, and no less than [`EVENT_READ_GAP`].
    fn event_gap(&self) -> Duration {
        self.stream
            .interval()
            .unwrap_or(EVENT_READ_GAP)
            .max(EVENT_READ_GAP)
    }

    /// When the next request is due, if the stream runs.
    fn due(&self) -> Option<Duration> {
        self.running.then(|| self.stream.due())
    }
}

/// The task's state.
pub(crate) struct Actor {
    cam: Camera,
    rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<Event>,
    status: watch::Sender<Status>,
    /// The last read, for readers that must not queue.
    cache: watch::Sender<Option<Arc<Snapshot>>>,
    /// The facade's read the cache was made from (a new read is a new `Arc`).
    cached_from: Option<Arc<AllPropInfo>>,
    options: ServiceOptions,
    watch: Option<Watch>,
    /// What lost the connection, while it is lost.
    lost: Option<SharedError>,
    live: LiveFeed,
    /// When the watch reads the camera next while live view runs, on the link's clock.
    next_poll: Duration,
    /// When the watch last read the camera, on the link's clock.
    last_refresh: Duration,
    /// The camera sent events the watch has not read yet (while live view runs, they are read
    /// soon, not at once).
    events_pending: bool,
}

/// What woke the task.
enum Wake {
    Command(Command),
    Closed,
    Tick,
    /// The subscriptions changed.
    Demand,
    /// A live-view request is due.
    Frame,
}

impl Actor {
    pub(crate) fn new(
        cam: Camera,
        rx: mpsc::Receiver<Command>,
        events: broadcast::Sender<Event>,
        status: watch::Sender<Status>,
        cache: watch::Sender<Option<Arc<Snapshot>>>,
        options: ServiceOptions,
        live: LiveFeed,
    ) -> Actor {
        Actor {
            cam,
            rx,
            events,
            status,
            cache,
            cached_from: None,
            options,
            watch: None,
            lost: None,
            live,
            next_poll: Duration::ZERO,
            last_refresh: Duration::ZERO,
            events_pending: false,
        }
    }

    pub(crate) async fn run(mut self) {
        self.refresh().await;
        loop {
            self.live.follow_demand();
            let wake = {
                let connected = self.status.borrow().connected;
                let poll = self.options.poll;
                // Live view runs between commands while connected and watched.
                let live = self
                    .live
                    .due()
                    .filter(|_| self.lost.is_none() && self.watch.is_some())
                    .map(|due| LiveWait {
                        due,
                        next_poll: self.next_poll,
                        soon: self.last_refresh + self.live.event_gap(),
                    });
                let (rx, cam, demand) = (&mut self.rx, &mut self.cam, &mut self.live.demand);
                let pending = &mut self.events_pending;
                tokio::select! {
                    biased;
                    c = rx.recv() => c.map_or(Wake::Closed, Wake::Command),
                    // Every handle holds the sender, so an error here means the queue has
                    // closed too, which the first branch reports.
                    Ok(()) = demand.changed() => Wake::Demand,
                    w = wait(cam, poll, connected, live, pending) => w,
                }
            };
            match wake {
                Wake::Command(c) => self.command(c).await,
                Wake::Tick => self.refresh().await,
                Wake::Demand => {}
                Wake::Frame => self.live_frame().await,
                Wake::Closed => break,
            }
        }
        // Nobody is left to release anything: leave the camera as a person would find it, and
        // end the session so that the next host finds it closed (unless the link is gone).
        if self.lost.is_some() {
            return;
        }
        if let Err(e) = self.cam.release_all().await {
            tracing::warn!("releasing the buttons as the service ends: {e}");
        }
        if let Err(e) = self.cam.close().await {
            tracing::warn!("closing the session as the service ends: {e}");
        }
    }

    /// One live-view request, its frame published to every subscription.
    async fn live_frame(&mut self) {
        match self.live.stream.poll(&mut self.cam).await {
            Ok(Some(frame)) => {
                let frame = Arc::new(frame);
                // The failure episode, if any, is over.
                self.live.frames.send_modify(|f| f.publish(frame));
                // Consumers waiting for this frame run before the next request is prepared
                // (on a virtual clock the next one is due at once).
                tokio::task::yield_now().await;
            }
            Ok(None) => {}
            Err(e) if e.is_connection_lost() => {
                // The watch reports the loss (an event, the status); this is the stream's view.
                tracing::debug!("live view: {e}");
                // The watch notices the loss and restores the connection; the stream waits.
                self.refresh().await;
            }
            Err(e) => {
                // The stream's policy: a camera without live view is asked less and less often.
                let hold = self.live.stream.failed(self.cam.link().now());
                tracing::warn!("live view: {e}; trying again in {hold:?}");
                // The subscriptions hear it once per run of failures (until a frame comes).
                let error = SharedError(Arc::new(e));
                self.live.frames.send_if_modified(|f| {
                    if f.trouble.is_some() {
                        return false;
                    }
                    f.episodes += 1;
                    f.trouble = Some((f.episodes, error));
                    true
                });
                // Those waiting hear it before the next request (on a virtual clock the hold ends
                // at once).
                tokio::task::yield_now().await;
            }
        }
    }

    fn busy(&self, what: Option<String>) {
        self.status.send_modify(|s| s.busy = what);
    }

    async fn command(&mut self, c: Command) {
        if self.lost.is_some() && !matches!(c, Command::WithCamera(_)) {
            // One attempt of the watch's before telling the client the camera is away.
            self.refresh().await;
            if let Some(error) = self.lost.clone() {
                c.refuse(error, &mut self.cam);
                return;
            }
        }
        self.busy(Some(c.label()));
        match c {
            Command::Properties(reply) => {
                let r = self.properties().await;
                self.publish();
                answer(reply, r);
            }
            Command::Get(name, reply) => {
                let r = self.get(&name).await;
                self.publish();
                answer(reply, r);
            }
            Command::Set(name, text, reply) => {
                let r = self.cam.set_text(&name, &text).await;
                // The read that confirmed the value is in the snapshot before the client
                // hears the answer.
                self.publish();
                answer(reply, r.map_err(Into::into));
            }
            Command::SetRaw(name, raw, reply) => {
                let r = self.cam.set_raw(&name, raw).await;
                self.publish();
                answer(reply, r.map_err(Into::into));
            }
            Command::Info(reply) => {
                let r = self.info().await;
                self.publish();
                answer(reply, r);
            }
            Command::Capture(job) => {
                self.capture(*job).await;
                // The stream paused for the capture: its timing starts over.
                self.live.stream.restart();
            }
            Command::Autofocus(reply) => {
                let r = self.cam.autofocus(self.options.focus_timeout).await;
                answer(reply, r.map_err(Into::into));
            }
            Command::FocusStep { size, steps, reply } => {
                let r = self.cam.focus_step(size, steps).await;
                answer(reply, r.map_err(Into::into));
            }
            Command::FocusPoint { x, y, reply } => {
                let r = self.cam.focus_point(x, y).await;
                answer(reply, r.map_err(Into::into));
            }
            Command::Movie { start, reply } => {
                let r = self.cam.movie(start).await;
                answer(reply, r.map_err(Into::into));
            }
            Command::ReleaseAll(reply) => {
                let r = self.cam.release_all().await;
                answer(reply, r.map_err(Into::into));
            }
            Command::Download { saver, reply } => {
                let r = self.download(&saver).await;
                answer(reply, r);
                self.live.stream.restart();
            }
            Command::WithCamera(f) => f(&mut self.cam),
        }
        self.busy(None);
        // What the command changed shows at once, not a poll later; a connection the command
        // found gone is noticed here, by the watch.
        self.refresh().await;
    }

    async fn properties(&mut self) -> Result<Properties, ServiceError> {
        let all = self.cam.cached_properties(self.options.poll).await?.clone();
        Ok(Properties {
            all,
            read_at: self.cam.link().now(),
        })
    }

    async fn info(&mut self) -> Result<CameraInfo, ServiceError> {
        let all = self.cam.cached_properties(self.options.poll).await?.clone();
        Ok(CameraInfo::new(
            self.cam.device_info(),
            self.cam.protocol(),
            &all,
        ))
    }

    /// Replaces the snapshot when the facade has read the properties since it was made.
    fn publish(&mut self) {
        let Some(all) = self.cam.last_properties_shared() else {
            return;
        };
        if self
            .cached_from
            .as_ref()
            .is_some_and(|from| Arc::ptr_eq(from, &all))
        {
            return;
        }
        let info = CameraInfo::new(self.cam.device_info(), self.cam.protocol(), &all);
        let snapshot = Snapshot {
            properties: Arc::new(Properties {
                all: all.as_ref().clone(),
                read_at: self.cam.link().now(),
            }),
            info: Arc::new(info),
        };
        self.cached_from = Some(all);
        self.cache.send_replace(Some(Arc::new(snapshot)));
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

    /// Runs a whole capture: begin, the shot, finish (always).
    async fn capture(&mut self, job: CaptureJob) {
        let CaptureJob {
            kind,
            options,
            cancel,
            reply,
        } = job;
        if cancel.is_cancelled() {
            // Stopped, aborted or dropped while queued: nobody wants this picture any more.
            answer(
                reply,
                Ok(CaptureReport {
                    waiting: Vec::new(),
                    files: Vec::new(),
                    stopped: !cancel.is_aborted(),
                    aborted: cancel.is_aborted(),
                    discarded: 0,
                }),
            );
            return;
        }
        let mut progress = Progress::new(&self.status, &self.events);
        let result = shoot(
            &mut self.cam,
            &options.saver,
            options.capture,
            kind,
            cancel.clone(),
            &mut progress,
        )
        .await;
        if let Err(e) = &result {
            // The facade reports a failed shot itself; a failure in `begin` or `finish` after
            // a good shot must show too.
            let last = progress.status.borrow().exposure.clone();
            if last.state != ExposureState::Error {
                progress.exposure(&ExposureStatus {
                    state: ExposureState::Error,
                    detail: Some(e.to_string()),
                    ..last
                });
            }
        }
        let discarded = progress.discarded;
        let result = result.map(|(waiting, files)| CaptureReport {
            waiting,
            files,
            stopped: cancel.is_cancelled() && !cancel.is_aborted(),
            aborted: cancel.is_aborted(),
            discarded,
        });
        answer(reply, result);
    }

    async fn download(&mut self, saver: &Saver) -> Result<Vec<Downloaded>, ServiceError> {
        let mut observer = Progress::new(&self.status, &self.events);
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
        Ok(waiting)
    }

    /// One step of the watch: reads the camera and reports what changed since the last read,
    /// or, while the connection is lost, one reconnection attempt (the watch's).
    async fn refresh(&mut self) {
        self.next_poll = self.cam.link().now() + self.options.poll;
        self.last_refresh = self.cam.link().now();
        self.events_pending = false;
        let changes = match self.watch.as_mut() {
            Some(w) => w.next(&mut self.cam, Duration::ZERO).await,
            None => self.start_watch().await.map(|()| Vec::new()),
        };
        let changes = match changes {
            Ok(c) => c,
            Err(e) => {
                // The budget ran out (the watch starts a new one on the next call), or the
                // first read failed: either way the next idle poll tries again.
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
                    let first = self.lost.replace(error.clone()).is_none();
                    self.status
                        .send_if_modified(|s| std::mem::replace(&mut s.connected, false));
                    if !first {
                        // The watch's budget ran out and it started over: still the same loss.
                        continue;
                    }
                    Event::ConnectionLost(error)
                }
                WatchEvent::ConnectionRestored => {
                    self.lost = None;
                    // Live view resumes on the new connection with its timing learnt afresh.
                    self.live.stream.restart();
                    self.status.send_modify(|s| s.connected = true);
                    Event::ConnectionRestored
                }
            };
            let _ = self.events.send(event);
        }
        if self.lost.is_some() {
            return;
        }
        // The watch has just read everything, so this is its copy (events that came in since
        // stay queued for the next read: taking them here would read everything again).
        if let Some(p) = self.cam.last_properties() {
            let pending = ready_count(p);
            let battery = p.get(prop::BATTERY_REMAINING);
            let percent = battery
                .and_then(|d| BatteryRemaining::from_value(&d.current))
                .and_then(BatteryRemaining::percent);
            let battery = battery.map(|d| format_value(prop::BATTERY_REMAINING, &d.current));
            self.status.send_if_modified(|s| {
                let changed = s.pending_images != pending
                    || s.battery != battery
                    || s.battery_percent != percent;
                s.pending_images = pending;
                s.battery = battery;
                s.battery_percent = percent;
                changed
            });
        }
        self.publish();
    }

    /// Starts the watch. Before it runs, nothing restores a lost connection but this: a
    /// camera lost before the first read gets the same short attempts the watch makes.
    async fn start_watch(&mut self) -> Result<(), sonyctl_camera::CameraError> {
        if self.lost.is_some() {
            self.cam.reconnect(RECONNECT_ATTEMPT).await?;
            self.lost = None;
            self.status.send_modify(|s| s.connected = true);
            let _ = self.events.send(Event::ConnectionRestored);
        }
        match Watch::start(&mut self.cam).await {
            Ok(w) => {
                self.watch = Some(w.with_reconnect_budget(self.options.reconnect_for));
                Ok(())
            }
            Err(e) => {
                if e.is_connection_lost() && self.lost.is_none() {
                    let error = SharedError(Arc::new(e));
                    self.lost = Some(error.clone());
                    self.status.send_modify(|s| s.connected = false);
                    let _ = self.events.send(Event::ConnectionLost(error.clone()));
                    return Err(sonyctl_camera::CameraError::Shared(error));
                }
                Err(e)
            }
        }
    }
}

/// While live view runs, the shortest time between two reads of the camera's properties
/// (0x9209) for events that came in: each read delays the next frame request.
const EVENT_READ_GAP: Duration = Duration::from_millis(100);

/// How long the service's own reconnection attempt before the watch runs may take (the watch's
/// attempts take about as long).
const RECONNECT_ATTEMPT: Duration = Duration::from_secs(2);

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

/// When the live-view stream and the watch want the camera next, on the link's clock.
struct LiveWait {
    /// The next live-view request.
    due: Duration,
    /// The watch's next regular read.
    next_poll: Duration,
    /// The earliest the watch reads the camera for events that came in.
    soon: Duration,
}

/// Waits for what comes first: the next idle poll, or, while live view runs (`live`), the next
/// live-view request or the watch's next read. While live view runs, an event from the camera
/// (noted in `pending`) brings the watch's read forward to [`LiveWait::soon`], not to now: each
/// read is a whole 0x9209, and a camera that sends events all the time would otherwise get no
/// frame requests at all. A due frame goes before a read that became due later. Cancelled when
/// a command arrives.
async fn wait(
    cam: &mut Camera,
    poll: Duration,
    connected: bool,
    live: Option<LiveWait>,
    pending: &mut bool,
) -> Wake {
    let Some(live) = live else {
        idle(cam, poll, connected).await;
        return Wake::Tick;
    };
    loop {
        let read_at = if *pending {
            live.next_poll.min(live.soon)
        } else {
            live.next_poll
        };
        let now = cam.link().now();
        let frame_due = now >= live.due;
        let read_due = now >= read_at;
        if frame_due && (!read_due || live.due <= read_at) {
            return Wake::Frame;
        }
        if read_due {
            return Wake::Tick;
        }
        let until = live.due.min(read_at);
        if !cam.wait_events(until.saturating_sub(now)).await.is_empty() {
            *pending = true;
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

/// Sends `r` to a client that may have gone: a client that went away does not undo what was
/// done.
fn answer<T>(reply: Reply<T>, r: Result<T, ServiceError>) {
    let _ = reply.send(r);
}
