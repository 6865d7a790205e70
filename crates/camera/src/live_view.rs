//! The live-view stream: GetObject(0xFFFFC002) paced to the camera's own frame rate.
//!
//! Only GetObject is sent, never GetObjectInfo first: the ObjectInfo of 0xFFFFC002 says
//! nothing a host needs (the dataset's header gives the JPEG's place and size), and libgphoto2,
//! which sends both and retries AccessDenied every 20 ms, costs a camera about 3.9 requests per
//! frame. One request is in flight at a time, sent through the facade's transaction path but
//! without its DeviceBusy retries: the stream has its own back-off for each refusal.

use std::time::Duration;

use sonyctl_ptp::{OperationCode, ResponseCode};
use sonyctl_sony::LiveViewFrame;
use sonyctl_sony::codes::{handle, prop};
use sonyctl_sony::live_view::{FrameGroupKind, Rect};
use sonyctl_sony::values::FocusIndication;

use crate::{Camera, CameraError};

/// The largest live-view dataset accepted (real frames are tens of kilobytes).
const MAX_FRAME: u64 = 4 << 20;

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
    /// request rate, not just what is delivered.
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
}

/// The pacing state of one live-view stream.
#[derive(Debug)]
pub struct LiveView {
    options: LiveViewOptions,
    counters: LiveViewCounters,
    sequence: u64,
    due: Duration,
    /// When the last new frame's request was sent, on the link's clock.
    last_frame_sent: Option<Duration>,
    /// The camera's frame interval as learnt so far.
    interval: Option<Duration>,
}

impl LiveView {
    /// A stream that has not asked for anything yet.
    pub fn new(options: LiveViewOptions) -> LiveView {
        LiveView {
            options,
            counters: LiveViewCounters::default(),
            sequence: 0,
            due: Duration::ZERO,
            last_frame_sent: None,
            interval: None,
        }
    }

    /// Changes the request cap.
    pub fn set_max_fps(&mut self, max: Option<f64>) {
        self.options.max_fps = max;
    }

    /// Link-clock time at which the next request should be sent.
    pub fn due(&self) -> Duration {
        self.due
    }

    /// What the stream has done so far.
    pub fn counters(&self) -> LiveViewCounters {
        self.counters
    }

    /// Forgets the learnt timing after a pause (a capture, a reconnection); the next request
    /// is due at once.
    pub fn restart(&mut self) {
        self.due = Duration::ZERO;
        self.last_frame_sent = None;
        self.interval = None;
    }

    /// Sends one GetObject(0xFFFFC002) now and interprets the answer: `Ok(Some(frame))` for a
    /// new frame, `Ok(None)` after AccessDenied, InvalidObjectHandle or DeviceBusy (the back-off
    /// is folded into [`LiveView::due`]), `Err` for connection failures and anything else.
    pub async fn poll(&mut self, cam: &mut Camera) -> Result<Option<LiveFrame>, CameraError> {
        let sent = cam.link().now();
        self.counters.requests += 1;
        let (code, data) = cam
            .conn
            .call_once(OperationCode::GET_OBJECT, &[handle::LIVE_VIEW], MAX_FRAME)
            .await?;
        let now = cam.link().now();
        match code {
            ResponseCode::OK => {}
            ResponseCode::ACCESS_DENIED => {
                self.counters.access_denied += 1;
                self.due = now + Duration::from_millis(5);
                return Ok(None);
            }
            ResponseCode::INVALID_OBJECT_HANDLE => {
                self.counters.invalid_handle += 1;
                self.due = now + Duration::from_millis(50);
                return Ok(None);
            }
            ResponseCode::DEVICE_BUSY => {
                self.counters.busy += 1;
                self.due = now + Duration::from_millis(20);
                return Ok(None);
            }
            code => {
                return Err(CameraError::Response {
                    operation: OperationCode::GET_OBJECT,
                    code,
                });
            }
        }
        self.counters.frames += 1;
        if let Some(prev) = self.last_frame_sent {
            self.interval = Some(sent.saturating_sub(prev));
        }
        self.last_frame_sent = Some(sent);
        self.due = sent + self.interval.unwrap_or(Duration::ZERO);
        let bytes = data.unwrap_or_default();
        match decode(&bytes, now, cam) {
            Ok(mut frame) => {
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
    pub async fn next(&mut self, cam: &mut Camera) -> Result<LiveFrame, CameraError> {
        loop {
            cam.link_mut().sleep_until(self.due).await;
            if let Some(frame) = self.poll(cam).await? {
                return Ok(frame);
            }
        }
    }
}

/// A frame from the dataset's bytes (sequence number left 0 for the stream to fill in).
fn decode(bytes: &[u8], now: Duration, cam: &Camera) -> Result<LiveFrame, CameraError> {
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
    Ok(LiveFrame {
        sequence: 0,
        received_at: now,
        jpeg: lv.jpeg(bytes).to_vec(),
        af_frames,
        focus,
    })
}
