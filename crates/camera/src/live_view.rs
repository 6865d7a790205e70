//! The live-view stream: GetObject(0xFFFFC002) paced to the camera's own frame rate.
//!
//! - **One request, GetObject only.** One request is in flight at a time, and it is
//!   GetObject(0xFFFFC002) alone, never GetObjectInfo first: the ObjectInfo of 0xFFFFC002 says
//!   nothing a host needs (the dataset's header gives the JPEG's place and size). libgphoto2
//!   sends both for every frame and retries AccessDenied every 20 ms, which costs a camera
//!   about 3.9 requests per frame. Requests go through the facade's transaction path, without
//!   its DeviceBusy retries (the stream has its own back-off for each refusal), and a frame may
//!   be at most 4 MiB.
//! - **Pacing.** The next request is timed to the camera's frame interval, learnt from when
//!   frames arrive and when the camera says "not yet" (AccessDenied), and aimed just after the
//!   next frame exists: about one request per frame at 24, 30 or 60 fps, with jitter in the
//!   answer times (the rule is in `live_view/pacer.rs`). [`LiveViewOptions::max_fps`] lowers
//!   the request rate.
//! - **Back-off.** AccessDenied: retried after an eighth of the interval, less and less often
//!   (up to every 250 ms) while it lasts (an exposure, a full buffer). InvalidObjectHandle
//!   (some bodies answer it for up to a second after connecting): retried every
//!   [`NOT_READY_RETRY`], reported after [`NOT_READY_TRIES`] in a row. DeviceBusy: 10 ms,
//!   doubling up to 500 ms. None of these ends the stream.
//! - **Frames** are decoded by `sonyctl_sony::LiveViewFrame` (header, focal-frame info, the
//!   JPEG found by walking its markers); the focal frames come in the 640×480 live-view space
//!   ([`FrameGroup::rect`](sonyctl_sony::live_view::FrameGroup::rect)), the focus state from
//!   0xD213 as the facade's property cache holds it (no request per frame). A frame that does
//!   not decode is counted and skipped; one whose focal-frame info alone does not decode comes
//!   without AF frames (counted in `bad_focal_frames`, warned about once).

use std::time::Duration;

use sonyctl_ptp::{OperationCode, ResponseCode};
use sonyctl_sony::LiveViewFrame;
use sonyctl_sony::codes::{handle, prop};
use sonyctl_sony::live_view::{FrameGroupKind, Rect};
use sonyctl_sony::values::FocusIndication;

use crate::{Camera, CameraError};

mod pacer;

pub use pacer::MIN_FPS;
use pacer::Pacer;

/// The longest [`LiveView::next`] sleeps before asking again, whatever the stream's due time.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// The largest live-view dataset accepted (real frames are tens of kilobytes).
const MAX_FRAME: u64 = 4 << 20;
/// Retry spacing while the camera answers InvalidObjectHandle (live view not ready: some bodies
/// answer so for up to a second after connecting; libgphoto2 also retries every 50 ms).
pub const NOT_READY_RETRY: Duration = Duration::from_millis(50);
/// InvalidObjectHandle answers in a row before the stream reports it (3 s at 50 ms).
pub const NOT_READY_TRIES: u32 = 60;
/// First pause after DeviceBusy; it doubles up to [`BUSY_MAX`].
const BUSY_FIRST: Duration = Duration::from_millis(10);
/// Longest pause after DeviceBusy.
const BUSY_MAX: Duration = Duration::from_millis(500);
/// How long the stream waits after a failure [`LiveView::poll`] reports (a refusal the stream
/// has no back-off for, live view that never got ready) before it asks again; it doubles with
/// each such failure in a row, up to [`FAILURE_HOLD_MAX`].
pub const FAILURE_HOLD: Duration = Duration::from_secs(1);
/// The longest wait after failures in a row.
pub const FAILURE_HOLD_MAX: Duration = Duration::from_secs(30);

/// One live-view frame as the stream delivers it.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveFrame {
    /// 1, 2, …: the distinct frames this stream received.
    pub sequence: u64,
    /// When the frame had arrived, on the link's clock.
    pub received_at: Duration,
    /// The JPEG, from SOI to EOI (the camera's padding dropped).
    pub jpeg: Vec<u8>,
    /// Every frame of every group of the focal-frame info, in the 640×480 live-view space.
    pub af_frames: Vec<AfFrame>,
    /// 0xD213 as the camera's property cache last saw it (no request is made for it).
    pub focus: Option<FocusIndication>,
}

/// One focal frame drawn over the live view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AfFrame {
    /// Which group it belongs to.
    pub group: FrameGroupKind,
    /// Where, in the 640×480 live-view space.
    pub rect: Rect,
    /// The frame's type as the camera sent it (no source documents the values).
    pub frame_type: u16,
    /// The frame's state as the camera sent it (no source documents the values; take the focus
    /// state from [`LiveFrame::focus`]).
    pub state: u16,
}

/// How a stream runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveViewOptions {
    /// The most frames a second to ask for (`None`: as many as the camera makes). It lowers the
    /// request rate, not just what is delivered. A cap below [`MIN_FPS`] (a frame every 100 s),
    /// zero, negative or not a number is [`MIN_FPS`]; an infinite one is no cap.
    pub max_fps: Option<f64>,
}

/// What a stream has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveViewCounters {
    /// GetObject(0xFFFFC002) requests sent.
    pub requests: u64,
    /// New frames received (decoded or not).
    pub frames: u64,
    /// AccessDenied answers (no new frame yet, or none now).
    pub access_denied: u64,
    /// InvalidObjectHandle answers (live view not ready yet).
    pub invalid_handle: u64,
    /// DeviceBusy answers.
    pub busy: u64,
    /// Frames that did not decode and were skipped.
    pub bad_frames: u64,
    /// Frames delivered without their focal frames, whose info did not decode (the JPEG did).
    pub bad_focal_frames: u64,
}

/// The pacing state of one live-view stream: when to ask next (see the module's pacing rule),
/// the back-off after each refusal, and what the stream has done.
#[derive(Debug)]
pub struct LiveView {
    pacer: Pacer,
    counters: LiveViewCounters,
    /// Frames returned so far (the last sequence number).
    sequence: u64,
    /// InvalidObjectHandle answers in a row, while live view is not ready.
    not_ready: u32,
    /// DeviceBusy answers in a row.
    busy: u32,
    /// Failures reported in a row (see [`LiveView::failed`]).
    failures: u32,
    /// No request before this link-clock time, after a failure.
    held_until: Duration,
}

impl LiveView {
    /// A stream that has not asked for anything yet.
    pub fn new(options: LiveViewOptions) -> LiveView {
        let mut pacer = Pacer::default();
        pacer.set_max_fps(options.max_fps);
        LiveView {
            pacer,
            counters: LiveViewCounters::default(),
            sequence: 0,
            not_ready: 0,
            busy: 0,
            failures: 0,
            held_until: Duration::ZERO,
        }
    }

    /// Changes the request cap (`None`: as fast as the camera makes frames).
    pub fn set_max_fps(&mut self, max: Option<f64>) {
        self.pacer.set_max_fps(max);
    }

    /// Link-clock time at which the next request should be sent (never before the hold after
    /// a failure).
    pub fn due(&self) -> Duration {
        self.pacer.due().max(self.held_until)
    }

    /// The caller saw [`LiveView::poll`] fail (not a lost connection) at `now`, link clock:
    /// the stream starts over, and its next request waits [`FAILURE_HOLD`], doubling with each
    /// failure in a row up to [`FAILURE_HOLD_MAX`] (a camera without live view is asked less
    /// and less often). Returns the wait. A frame ends the run of failures.
    pub fn failed(&mut self, now: Duration) -> Duration {
        let hold = FAILURE_HOLD
            .saturating_mul(1 << self.failures.min(5))
            .min(FAILURE_HOLD_MAX);
        self.failures = self.failures.saturating_add(1);
        self.restart();
        self.held_until = now.saturating_add(hold);
        hold
    }

    /// Failures in a row so far (0 after a frame).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Starts afresh after the stream stopped (nobody watched): the learnt timing, the run of
    /// failures and the hold after them are forgotten, and the next request is due at once.
    pub fn reset(&mut self) {
        self.restart();
        self.failures = 0;
        self.held_until = Duration::ZERO;
    }

    /// The camera's frame interval as learnt so far.
    pub fn interval(&self) -> Option<Duration> {
        self.pacer.interval()
    }

    /// What the stream has done so far.
    pub fn counters(&self) -> LiveViewCounters {
        self.counters
    }

    /// Forgets the learnt timing after a pause (a capture, a reconnection): the next request
    /// is due at once, and the InvalidObjectHandle grace starts again. Counters and sequence
    /// numbers go on.
    pub fn restart(&mut self) {
        self.pacer.restart();
        self.not_ready = 0;
        self.busy = 0;
    }

    /// Sends one GetObject(0xFFFFC002) (no GetObjectInfo) now and interprets the answer:
    /// `Ok(Some(frame))` for a new frame, `Ok(None)` after AccessDenied, InvalidObjectHandle or
    /// DeviceBusy (the back-off is folded into [`LiveView::due`]) and for a frame that does not
    /// decode (counted in [`LiveViewCounters::bad_frames`] and skipped), `Err` for connection
    /// failures and anything else, including live view still not ready after
    /// [`NOT_READY_TRIES`] tries.
    pub async fn poll(&mut self, cam: &mut Camera) -> Result<Option<LiveFrame>, CameraError> {
        let sent = cam.link().now();
        self.counters.requests += 1;
        let (code, data) = cam
            .conn
            .call_once(OperationCode::GET_OBJECT, &[handle::LIVE_VIEW], MAX_FRAME)
            .await?;
        let answered = cam.link().now();
        if code != ResponseCode::DEVICE_BUSY {
            self.busy = 0;
        }
        if code != ResponseCode::INVALID_OBJECT_HANDLE {
            self.not_ready = 0;
        }
        match code {
            ResponseCode::OK => {}
            ResponseCode::ACCESS_DENIED => {
                self.counters.access_denied += 1;
                self.pacer.denied(sent, answered);
                return Ok(None);
            }
            ResponseCode::INVALID_OBJECT_HANDLE if self.not_ready + 1 < NOT_READY_TRIES => {
                self.counters.invalid_handle += 1;
                self.not_ready += 1;
                self.pacer.hold(sent, answered.max(sent + NOT_READY_RETRY));
                return Ok(None);
            }
            ResponseCode::DEVICE_BUSY => {
                self.counters.busy += 1;
                let pause = BUSY_FIRST
                    .saturating_mul(1 << self.busy.min(8))
                    .min(BUSY_MAX);
                self.busy += 1;
                self.pacer.hold(sent, answered.max(sent + pause));
                return Ok(None);
            }
            code => {
                if code == ResponseCode::INVALID_OBJECT_HANDLE {
                    self.counters.invalid_handle += 1;
                    self.not_ready = 0;
                }
                return Err(CameraError::Response {
                    operation: OperationCode::GET_OBJECT,
                    code,
                });
            }
        }
        self.counters.frames += 1;
        self.failures = 0;
        self.pacer.frame(sent, answered);
        let bytes = data.unwrap_or_default();
        match decode(&bytes, answered, cam) {
            Ok((mut frame, focal_error)) => {
                if let Some(e) = focal_error {
                    if self.counters.bad_focal_frames == 0 {
                        tracing::warn!(
                            "live-view focal-frame info does not decode ({e}); frames come \
                             without AF frames while it does not (warned once)"
                        );
                    }
                    self.counters.bad_focal_frames += 1;
                }
                self.sequence += 1;
                frame.sequence = self.sequence;
                Ok(Some(frame))
            }
            Err(e) => {
                self.counters.bad_frames += 1;
                tracing::warn!("skipping a live-view frame that does not decode: {e}");
                Ok(None)
            }
        }
    }

    /// Waits until [`LiveView::due`] on the link's clock and polls until a new frame arrives.
    /// A camera that refuses for a long time (an exposure on the body) is asked less and less
    /// often, up to every quarter of a second, and waited for.
    pub async fn next(&mut self, cam: &mut Camera) -> Result<LiveFrame, CameraError> {
        loop {
            let latest = cam.link().now().saturating_add(LONGEST_WAIT);
            cam.link_mut().sleep_until(self.due().min(latest)).await;
            if let Some(frame) = self.poll(cam).await? {
                return Ok(frame);
            }
        }
    }
}

/// A frame from the dataset's bytes (sequence number left 0 for the stream to fill in), and why
/// its focal-frame info did not decode, if it did not (the frame then has no AF frames).
fn decode(
    bytes: &[u8],
    now: Duration,
    cam: &Camera,
) -> Result<(LiveFrame, Option<String>), CameraError> {
    let lv = LiveViewFrame::decode(bytes).map_err(|source| CameraError::Decode {
        what: "live-view frame",
        source,
    })?;
    let af_frames = lv
        .focal_frames
        .iter()
        .flat_map(|f| f.groups.iter().enumerate())
        .filter_map(|(i, g)| FrameGroupKind::from_index(i).map(|k| (k, g)))
        .flat_map(|(group, g)| {
            g.frames.iter().filter_map(move |f| {
                g.rect(f).map(|rect| AfFrame {
                    group,
                    rect,
                    frame_type: f.frame_type,
                    state: f.state,
                })
            })
        })
        .collect();
    let focus = cam
        .last_properties()
        .and_then(|p| p.get(prop::FOCUS_INDICATION))
        .and_then(|d| d.current.as_u64())
        .and_then(FocusIndication::from_value);
    let frame = LiveFrame {
        sequence: 0,
        received_at: now,
        jpeg: lv.jpeg(bytes).to_vec(),
        af_frames,
        focus,
    };
    Ok((frame, lv.focal_frame_error))
}
