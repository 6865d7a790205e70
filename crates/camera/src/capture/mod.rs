//! Taking pictures the way Sony bodies want it, and downloading every image exactly once.
//!
//! - A [`CaptureSession`] first makes sure shots reach the host (0xD222 must include the PC; it
//!   is set and restored at the end if not) and saves the images already waiting in the camera's
//!   buffer: they are the user's photos, and otherwise the next "new" image would be an old one.
//! - A shot is S1 pressed → focus (0xD213, unless manual focus or `autofocus: false`) → S2
//!   pressed and held → S2, S1 released; then the host waits for 0xD215 to read ready with a
//!   time-out scaled to the exposure, and downloads objects from handle 0xFFFFC001 while 0xD215
//!   says more are waiting (RAW+JPEG is two files even when the count says one). 0xFFFFC001 is
//!   never touched unless 0xD215 reads ready ([`PendingImages`]): real firmware crashes.
//! - Bulb is timed by the host; burst holds S2 in continuous drive; timelapse shoots on a fixed
//!   grid (no drift), whatever each shot took.
//! - Each shot reports where it stands ([`ExposureStatus`]: waiting, exposing, processing,
//!   downloading, discarding, idle, error) to [`Observer::exposure`]. [`Cancel::cancel`] stops
//!   and keeps the images; [`Cancel::abort`] stops and reads the shot in hand out of the camera
//!   without keeping it.
//! - Every download streams to a temporary file (bounded memory) and is renamed into place when
//!   complete ([`crate::save`]). If the connection drops, the session reconnects and fetches
//!   the image again: the camera keeps it until it was read completely.

mod controls;
mod download;
mod exposure;
mod series;
mod session;
mod shot;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sonyctl_ptp::PropertyCode;
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::{DriveMode, PendingImages, ShutterSpeed};
use sonyctl_sony::{AllPropInfo, format_value};

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
    /// 0xD215 stayed at a value that counts no images (0xFFFB on an ILCE-6400) and 0xFFFFC001
    /// held no image until the wait ran out.
    #[error(
        "gave up after {0:?}: the camera's pending-images value stayed at {1}, which counts no \
         images, and it offered no image (reconnecting the camera clears it)"
    )]
    InvalidPending(Duration, PendingImages),
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

/// Ctrl-C for the library, in two strengths.
///
/// - [`cancel`](Cancel::cancel) stops: a bulb exposure ends now (the shutter closes), a burst
///   stops, and a timelapse takes no further shots, but images already taken are still
///   downloaded and saved.
/// - [`abort`](Cancel::abort) stops the same way and throws the shot in hand away: its frame is
///   read out of the camera and dropped (the buffer only empties by reading, and an unread frame
///   would be saved by the next capture as already waiting), so nothing of it is saved.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    aborted: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Cancel {
    /// A token not yet cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Stops, keeping the images (any thread, any number of times).
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Stops and discards the shot in hand (any thread, any number of times). An aborted token
    /// is cancelled too.
    pub fn abort(&self) {
        self.0.aborted.store(true, Ordering::SeqCst);
        self.cancel();
    }

    /// True once cancelled or aborted.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// True once aborted.
    pub fn is_aborted(&self) -> bool {
        self.0.aborted.load(Ordering::SeqCst)
    }

    /// Resolves when cancelled (or aborted).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
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

impl ShotKind {
    /// The longest bulb or burst a shot holds the shutter for: longer is a mistake (no
    /// battery lasts it), and the host's timers would overflow near [`Duration::MAX`].
    pub const MAX_HELD: Duration = Duration::from_secs(24 * 60 * 60);

    /// Refuses a bulb or burst longer than [`ShotKind::MAX_HELD`], before anything reaches the
    /// camera.
    pub fn check(&self) -> Result<(), CaptureError> {
        match *self {
            ShotKind::Bulb(d) | ShotKind::Burst(d) if d > ShotKind::MAX_HELD => {
                Err(CaptureError::Unsupported(format!(
                    "a shutter held for {d:?} is longer than the {} h this library allows",
                    ShotKind::MAX_HELD.as_secs() / 3600
                )))
            }
            _ => Ok(()),
        }
    }
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
    /// Where the shot stands: called at every change of state, and as a state moves on (at
    /// least once a second of a wait or an exposure, and every 1 % of a download).
    fn exposure(&mut self, _status: &ExposureStatus) {}
}

/// The files of one shot, or why it failed.
pub type ShotResult = Result<Vec<Downloaded>, CaptureError>;

/// An observer that does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;
impl Observer for Quiet {}

/// The largest object this library downloads (far above any still image or clip).
const MAX_OBJECT: u64 = 1 << 40;

/// 0xD215 (empty when the body has none; a value wider than 16 bits is no count).
fn pending(p: &AllPropInfo) -> PendingImages {
    p.get(prop::PENDING_IMAGES)
        .and_then(|d| d.current.as_u64())
        .map_or(PendingImages::Empty, |v| {
            u16::try_from(v).map_or(PendingImages::Invalid(u16::MAX), PendingImages::from_raw)
        })
}

fn manual_focus(p: &AllPropInfo) -> bool {
    p.get(prop::FOCUS_MODE).and_then(|d| d.current.as_u64()) == Some(1)
}

/// The shutter time (`None`: BULB or unknown).
fn shutter_time(p: &AllPropInfo) -> Option<Duration> {
    let raw = p.get(prop::SHUTTER_SPEED)?.current.as_u64()?;
    ShutterSpeed::from_value(raw)?.duration()
}

/// Drive-mode values that shoot continuously.
fn is_continuous(drive: u64) -> bool {
    DriveMode::from_value(drive).is_some_and(DriveMode::is_continuous)
}

pub use exposure::{ExposureState, ExposureStatus};
pub use session::CaptureSession;

use exposure::Tracker;
