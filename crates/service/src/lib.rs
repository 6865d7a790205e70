//! # sonyctl-service: one task owns one camera
//!
//! [`CameraService::spawn`] moves a [`Camera`] into a tokio task and returns a
//! [`ServiceHandle`]: cheap to clone, `Send + Sync`, and the only way front ends (the CLI, an
//! HTTP server, ASCOM Alpaca, INDI) reach the camera. The task ends, releasing every button,
//! when the last handle is dropped.
//!
//! - **Commands** go over a bounded queue, each with its own one-shot answer, and run one at a
//!   time in the order they arrived. A capture runs to its end before the next command starts:
//!   nothing is ever sent to the camera in the middle of an exposure.
//! - **The status snapshot** ([`Status`], a `tokio::sync::watch`) is read without queueing and
//!   without touching the camera, also during a 30-minute bulb. The task keeps it fresh from
//!   the capture's progress and, when idle, from the camera's events with a bounded poll.
//! - **The property snapshot** ([`ServiceHandle::cached_properties`],
//!   [`ServiceHandle::cached_info`]) is the last read of the camera's properties, replaced
//!   after every read the task makes (idle polls, the read after each command, a set's
//!   confirmation), and read like the status: never queued, also during a capture.
//! - **Events** ([`Event`]) go to every [`EventStream`] on a bounded broadcast ring; a consumer
//!   that falls behind is told how much it missed and given the status, and never slows the
//!   camera or the other consumers.
//! - **A lost connection** is the facade's [`Watch`](sonyctl_camera::Watch)'s to restore: see
//!   [`ServiceOptions::reconnect_for`] for the one reconnection policy.
//! - **A client that goes away** (its future dropped) leaves nothing pressed: a command already
//!   queued runs to its end, a capture whose [`CaptureHandle`] is dropped is stopped (shutter
//!   closed, image kept), and every capture ends with the session's `finish`, which releases the
//!   buttons and restores only what the capture changed by itself.
//!
//! Front ends never see a transport, bytes or a timing policy: what they need is here or in the
//! facade.

mod actor;
mod events;
mod live_view;
mod status;

use std::sync::Arc;
use std::time::Duration;

use sonyctl_camera::save::Saver;
use sonyctl_camera::{
    Camera, CameraError, Cancel, CaptureError, CaptureOptions, Downloaded, FocusState, SetError,
    SetErrorKind, SetOutcome, SharedError, ShotKind,
};
use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sony::{AllPropInfo, SonyDevicePropDesc};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

pub use events::{Event, EventStream};
pub use live_view::{LiveViewSubscription, NewestFrame};
pub use sonyctl_camera::capture::{ExposureState, ExposureStatus};
pub use sonyctl_camera::{AfFrame, CameraInfo, LiveFrame, LiveViewOptions};
pub use status::Status;

use actor::{Actor, CaptureJob, Command};

const _: () = {
    fn assert_send<T: Send>() {}
    fn assert_sync<T: Sync>() {}
    fn checks() {
        assert_send::<Camera>();
        assert_send::<ServiceHandle>();
        assert_sync::<ServiceHandle>();
        assert_send::<CaptureHandle>();
        assert_send::<EventStream>();
        assert_send::<LiveViewSubscription>();
    }
    let _ = checks;
};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The service task has ended (the runtime is shutting down).
    #[error("the camera service has ended")]
    Ended,
    /// No property has that name (from [`ServiceHandle::get`]; a set says so as
    /// [`SetError::UnknownName`]).
    #[error(
        "no setting called {0:?}: try iso, shutter, aperture, ev, wb, a name from the property \
         list, or a hex code"
    )]
    UnknownName(String),
    /// The camera's live-view stream fails (live view refused or never ready); the service
    /// keeps trying, less and less often. A subscription returns it once per run of failures.
    #[error("live view fails: {0}")]
    LiveView(SharedError),
    /// The connection is lost and the service is restoring it (see
    /// [`ServiceOptions::reconnect_for`]); the command did not reach the camera.
    #[error("the camera is not connected ({0}); reconnecting")]
    Disconnected(SharedError),
    /// The camera failed.
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// A setting could not be made ([`ServiceError::set_kind`] says what kind of failure).
    #[error(transparent)]
    Set(#[from] SetError),
    /// A capture or download failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

impl ServiceError {
    /// What kind of failure this is in the terms of a set ([`SetErrorKind`]), for front ends
    /// that map failures to their own codes: every [`ServiceError::Set`] has one, a name
    /// [`get`](ServiceHandle::get) does not know is [`SetErrorKind::UnknownName`], and a
    /// camera not connected is [`SetErrorKind::Camera`]. `None` for failures of other commands.
    pub fn set_kind(&self) -> Option<SetErrorKind> {
        match self {
            ServiceError::Set(e) => Some(e.kind()),
            ServiceError::UnknownName(_) => Some(SetErrorKind::UnknownName),
            ServiceError::Disconnected(_) => Some(SetErrorKind::Camera),
            _ => None,
        }
    }
}

/// How the service runs.
#[derive(Clone, Debug)]
pub struct ServiceOptions {
    /// When idle, the longest time between two reads of the camera's properties (events
    /// shorten it). It bounds how stale the status and the event stream can be.
    pub poll: Duration,
    /// Commands that may wait in the queue before senders wait too.
    pub queue: usize,
    /// Events kept for consumers; one further behind gets [`Event::Lagged`].
    pub events: usize,
    /// The reconnection budget of the service's [`Watch`](sonyctl_camera::Watch), which alone
    /// restores a connection lost between commands: it reports the loss
    /// ([`Event::ConnectionLost`], `connected: false`), tries again at each idle poll (an
    /// attempt takes at most about 2 s) and reports the return ([`Event::ConnectionRestored`]).
    /// Once the camera stayed away this long the service logs it and starts a new budget
    /// without a second `ConnectionLost`: it never gives its camera up; a front end decides
    /// from `connected` when to stop waiting. A command that arrives while the connection is
    /// lost first gives the watch one attempt, then fails with [`ServiceError::Disconnected`]
    /// without reaching the camera. Inside a capture, the capture's own recovery
    /// ([`CaptureOptions::reconnect_for`]) keeps the shot alive.
    pub reconnect_for: Duration,
    /// The longest wait for autofocus.
    pub focus_timeout: Duration,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            poll: Duration::from_secs(1),
            queue: 64,
            events: 256,
            reconnect_for: Duration::from_secs(30),
            focus_timeout: Duration::from_secs(5),
        }
    }
}

/// Every property, and when it was read on the link's clock.
#[derive(Clone, Debug)]
pub struct Properties {
    /// The camera's properties (0x9209).
    pub all: AllPropInfo,
    /// When they were read, on the link's clock.
    pub read_at: Duration,
}

/// One property, named and displayed.
#[derive(Clone, Debug, PartialEq)]
pub struct Property {
    /// Its code.
    pub code: PropertyCode,
    /// Its name, or its code in hex.
    pub name: String,
    /// The current value as displayed.
    pub display: String,
    /// The camera's descriptor (current value, what is settable, whether it is writable).
    pub desc: SonyDevicePropDesc,
}

impl Property {
    /// The current raw value.
    pub fn value(&self) -> &Value {
        &self.desc.current
    }
}

/// What to shoot with and where the files go.
#[derive(Clone, Debug)]
pub struct ShotOptions {
    /// How to shoot (focus, patience, reconnection).
    pub capture: CaptureOptions,
    /// Where the files go.
    pub saver: Arc<Saver>,
}

impl ShotOptions {
    /// Default capture options into `saver`.
    pub fn new(saver: Saver) -> ShotOptions {
        ShotOptions {
            capture: CaptureOptions::default(),
            saver: Arc::new(saver),
        }
    }
}

/// What a capture did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaptureReport {
    /// Images that were already waiting in the camera, saved before the shot (the user's).
    pub waiting: Vec<Downloaded>,
    /// The shot's files: what was saved before an abort arrived, if anything (a file whose
    /// download had not started when the abort came is read and dropped).
    pub files: Vec<Downloaded>,
    /// True when the capture was stopped early (the image is kept).
    pub stopped: bool,
    /// True when the capture was aborted (its frame was not kept).
    pub aborted: bool,
    /// Files of an aborted shot read out of the camera and dropped, as the capture reported
    /// them (exposure state `discarding`).
    pub discarded: usize,
}

/// The service: spawns the task that owns the camera.
#[derive(Debug)]
pub struct CameraService;

impl CameraService {
    /// Moves `camera` into a new task on the current tokio runtime and returns the first handle.
    pub fn spawn(camera: Camera, options: ServiceOptions) -> ServiceHandle {
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let (events, _) = broadcast::channel(options.events.max(1));
        let (status_tx, status_rx) = watch::channel(Status {
            model: camera.device_info().model.clone(),
            connected: true,
            busy: None,
            exposure: status::idle_exposure(),
            pending_images: 0,
            battery: None,
            battery_percent: None,
        });
        let (cache_tx, cache_rx) = watch::channel(None);
        let (demand, demand_rx) = watch::channel(live_view::Demand::default());
        let (frames, frames_rx) = watch::channel(live_view::Newest::default());
        let actor = Actor::new(
            camera,
            rx,
            events.clone(),
            status_tx,
            cache_tx,
            options,
            actor::LiveFeed::new(demand_rx, frames),
        );
        tokio::spawn(actor.run());
        ServiceHandle {
            tx,
            events,
            status: status_rx,
            cache: cache_rx,
            live: live_view::Hub {
                demand: Arc::new(demand),
                frames: frames_rx,
            },
        }
    }
}

/// A front end's handle on the camera service. Clone it freely; the service ends when the last
/// clone is dropped: it finishes the command it is running, releases the buttons and closes the
/// camera's session (unless the connection is gone).
#[derive(Clone, Debug)]
pub struct ServiceHandle {
    tx: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    status: watch::Receiver<Status>,
    cache: watch::Receiver<Option<Arc<Snapshot>>>,
    live: live_view::Hub,
}

/// The camera as last read: its properties and what they say in words. The service task
/// replaces it after every read of the camera's properties it makes (the idle poll, the read
/// after each command, a set's confirmation), so it is at most about a poll interval old
/// while the service is idle; during a capture it is the read from before the capture.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub(crate) properties: Arc<Properties>,
    pub(crate) info: Arc<CameraInfo>,
}

type Answer<T> = oneshot::Receiver<Result<T, ServiceError>>;

impl ServiceHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, ServiceError>>) -> Command,
    ) -> Result<T, ServiceError> {
        let (reply, answer): (_, Answer<T>) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| ServiceError::Ended)?;
        answer.await.map_err(|_| ServiceError::Ended)?
    }

    /// The status now: never queues, never touches the camera.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// A receiver that wakes when the status changes.
    pub fn status_changes(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// The properties as the service last read them: never queues, never touches the camera
    /// (a capture in progress does not delay it). `None` before the first successful read.
    /// The snapshot is replaced after every read the service makes (the idle poll, the read
    /// after each command, a set's confirmation: a [`set`](Self::set) that returned is in
    /// it); `read_at` says when it was taken. What [`properties`](Self::properties) answers
    /// after queueing.
    pub fn cached_properties(&self) -> Option<Arc<Properties>> {
        self.cache.borrow().as_ref().map(|s| s.properties.clone())
    }

    /// The camera in words ([`CameraInfo`]) from the same last read as
    /// [`cached_properties`](Self::cached_properties): never queues. While the connection is
    /// lost it is what the last successful read said.
    pub fn cached_info(&self) -> Option<Arc<CameraInfo>> {
        self.cache.borrow().as_ref().map(|s| s.info.clone())
    }

    /// The camera in words from a read no older than the idle poll interval (the facade's
    /// cache): queued like any command.
    pub async fn info(&self) -> Result<CameraInfo, ServiceError> {
        self.ask(Command::Info).await
    }

    /// A new consumer of the events from now on.
    pub fn events(&self) -> EventStream {
        EventStream::new(self.events.subscribe(), self.status.clone())
    }

    /// Joins the camera's one live-view stream. Cheap and synchronous; the stream starts with
    /// the first subscription and stops after the last is dropped. Its request cap is the
    /// highest `max_fps` of the subscriptions (none if any has none). The newest frame already
    /// published is there at once ([`LiveViewSubscription::newest`]).
    pub fn live_view(&self, options: LiveViewOptions) -> LiveViewSubscription {
        self.live.join(options)
    }

    /// Every property. Queued like any command: during a capture it answers when the capture
    /// has ended. A read younger than the idle poll interval is answered from the facade's
    /// cache, which the camera's change events invalidate.
    pub async fn properties(&self) -> Result<Properties, ServiceError> {
        self.ask(Command::Properties).await
    }

    /// One property by name (`iso`, `shutter`, a name from the property list, or a hex code).
    pub async fn get(&self, name: &str) -> Result<Property, ServiceError> {
        let name = name.to_string();
        self.ask(|r| Command::Get(name, r)).await
    }

    /// Sets a property from text (`set("iso", "800")`) and returns once the camera reports it.
    pub async fn set(&self, name: &str, text: &str) -> Result<SetOutcome, ServiceError> {
        let (name, text) = (name.to_string(), text.to_string());
        self.ask(|r| Command::Set(name, text, r)).await
    }

    /// Sets a property to a raw value as on the wire (`set_raw("iso", 800)`), in the type the
    /// camera's descriptor gives, and returns once the camera reports it. Refusals are those of
    /// [`set`](Self::set); a number that does not fit the type is not accepted.
    pub async fn set_raw(&self, name: &str, raw: i128) -> Result<SetOutcome, ServiceError> {
        let name = name.to_string();
        self.ask(|r| Command::SetRaw(name, raw, r)).await
    }

    /// Queues a capture of `kind`. The returned handle stops or aborts it and gives its result;
    /// dropping the handle before the result stops the capture (the image is kept). A capture
    /// stopped, aborted or dropped while still queued takes no picture. A bulb or burst longer
    /// than [`ShotKind::MAX_HELD`] is refused here ([`CaptureError::Unsupported`]).
    pub async fn capture(
        &self,
        kind: ShotKind,
        options: ShotOptions,
    ) -> Result<CaptureHandle, ServiceError> {
        kind.check()?;
        let (reply, result) = oneshot::channel();
        let cancel = Cancel::new();
        let job = CaptureJob {
            kind,
            options,
            cancel: cancel.clone(),
            reply,
        };
        self.tx
            .send(Command::Capture(Box::new(job)))
            .await
            .map_err(|_| ServiceError::Ended)?;
        Ok(CaptureHandle {
            cancel,
            result: Some(result),
        })
    }

    /// Half-presses, waits for focus, and releases.
    pub async fn autofocus(&self) -> Result<FocusState, ServiceError> {
        self.ask(Command::Autofocus).await
    }

    /// Manual focus: `steps` steps of size `size` (1, 3 or 7; negative = nearer).
    pub async fn focus_step(&self, size: i32, steps: u32) -> Result<(), ServiceError> {
        self.ask(|reply| Command::FocusStep { size, steps, reply })
            .await
    }

    /// Moves the AF point to (`x`, `y`) in the 640×480 live-view space.
    pub async fn focus_point(&self, x: u16, y: u16) -> Result<(), ServiceError> {
        self.ask(|reply| Command::FocusPoint { x, y, reply }).await
    }

    /// Starts (`true`) or stops movie recording; `false` when it already was so.
    pub async fn movie(&self, start: bool) -> Result<bool, ServiceError> {
        self.ask(|reply| Command::Movie { start, reply }).await
    }

    /// Releases every shutter and focus button.
    pub async fn release_all(&self) -> Result<(), ServiceError> {
        self.ask(Command::ReleaseAll).await
    }

    /// Downloads every image waiting in the camera's buffer into `saver`.
    pub async fn download(&self, saver: Arc<Saver>) -> Result<Vec<Downloaded>, ServiceError> {
        self.ask(|reply| Command::Download { saver, reply }).await
    }

    /// Runs `f` on the camera between two commands, for what the service does not cover
    /// (DeviceInfo, the simulated camera behind the link in tests). `f` cannot wait: anything
    /// that talks to the camera belongs in a command.
    pub async fn with_camera<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Camera) -> R + Send + 'static,
    ) -> Result<R, ServiceError> {
        self.ask(|reply| {
            Command::WithCamera(Box::new(move |cam: &mut Camera| {
                let _ = reply.send(Ok(f(cam)));
            }))
        })
        .await
    }
}

/// A queued or running capture.
#[derive(Debug)]
pub struct CaptureHandle {
    cancel: Cancel,
    result: Option<Answer<CaptureReport>>,
}

impl CaptureHandle {
    /// A token that stops ([`Cancel::cancel`]) or aborts ([`Cancel::abort`]) this capture
    /// like [`stop`](Self::stop) and [`abort`](Self::abort), for a caller that gives the
    /// handle to [`wait`](Self::wait) and still wants to end the capture early.
    pub fn canceller(&self) -> Cancel {
        self.cancel.clone()
    }

    /// Stops: closes the shutter now and keeps the image.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    /// Aborts: closes the shutter now and discards the frame. The frame is still read out of
    /// the camera, so that the next capture does not take it for an image already waiting, but
    /// its bytes are dropped as they arrive: nothing is written.
    pub fn abort(&self) {
        self.cancel.abort();
    }

    /// The capture's result once it has ended (buttons released, settings restored).
    pub async fn wait(mut self) -> Result<CaptureReport, ServiceError> {
        let Some(result) = self.result.as_mut() else {
            return Err(ServiceError::Ended);
        };
        let r = result.await;
        // The capture is over: dropping the handle now must not cancel anything.
        self.result = None;
        r.map_err(|_| ServiceError::Ended)?
    }
}

impl Drop for CaptureHandle {
    fn drop(&mut self) {
        // Nobody will hear the result: end the exposure rather than leave it running.
        if self.result.is_some() {
            self.cancel.cancel();
        }
    }
}
