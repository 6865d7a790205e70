//! Live view (GetObject 0xFFFFC002), manual focus drive (0xD2D1) and the AF point (0xD2DC).
//!
//! What the camera sends, and where each choice comes from (fact sheet §8; what no source gives
//! is marked *unverified*):
//!
//! - **Frames** are produced at the profile's `live_view_fps` (30 on every built-in body,
//!   unverified: no source gives a rate), frame `n` at camera time `n` × the interval. A host
//!   gets each frame at most once: asked again before the next frame exists, the camera answers
//!   AccessDenied (0x200F), as libgphoto2 and indigo expect when they poll too fast.
//! - **During an exposure** (shutter open, bulb, and while the camera writes the shot,
//!   long-exposure noise reduction included) and **while the buffer is full**, GetObject answers
//!   AccessDenied. 0xD221 keeps the value the body reports; only an owner who sets it to
//!   something other than 1 takes live view away (AccessDenied too).
//! - **The `lv-not-ready` fault** answers InvalidObjectHandle (0x2009) for 0xFFFFC002 during
//!   the first second after a host's session opens, as libgphoto2 reports of the ZV-1.
//! - **The dataset** is written by the sony crate's encoder in the USB layout
//!   (`DatasetLayout::USB`: focal-frame info at 0x1F4 declared 0x200 bytes long, the JPEG at
//!   0x3F4). The declared image size is rounded up to a multiple of 128 with at least 15 bytes
//!   of junk after the JPEG's end marker, as in the four real frames (15 to 127 bytes); every
//!   other frame's junk holds an `FF D9`, so a host that takes the last `FF D9` for the end
//!   gets a broken picture, as it would from a real body whose junk happens to hold one.
//! - **The picture** is 640×480 whatever 0xD26A says; 0xD26A (1 low, 2 high; fact sheet §6.2
//!   from CrCmd.tab5) sets the JPEG quality ([`LOW_QUALITY`], [`HIGH_QUALITY`]; a body without
//!   it gets the low one). The scene is ten vertical strips at depths 0 (left) to 100 (right)
//!   of the focus scale; each is blurred by how far its depth lies from the focus position
//!   (0xD24C, or the camera's own position that 0xD2D1 moves on bodies without it), so the
//!   strip nearest the focus position is the sharpest ([`strip_depth`], [`blur_radius`]). The
//!   colours change every frame, and a caption gives model, frame number and focus position.
//! - **The focal-frame info** is version 1.04 (the CrCmd.tab5 sample) with four groups. The
//!   focus group holds one 64×64 frame centred on the AF point (0xD2DC), moved inside the
//!   picture at its edges, unless the focus mode is MF (0x500A = 1): then the camera is not
//!   focusing and draws no AF frame (unverified: no source shows MF frames). The frame's
//!   `state` is the 0xD213 value (unverified: the state values are undocumented); its `type`
//!   and `priority` are 1 (invented). Face, tracking and framing groups are empty.
//!
//! Each host's requests for 0xFFFFC002 are counted in its [`LiveViewStats`]. A transport tells
//! the camera when the last byte of a frame left ([`SimulatedCamera::data_phase_sent`]), which
//! gives the frame's age then.

use std::collections::VecDeque;
use std::time::Duration;

use sonyctl_ptp::{
    Codec, ObjectFormatCode, ObjectInfo, Operation, OperationCode, PropertyCode, ResponseCode,
    Value,
};
use sonyctl_sony::codes::{handle, prop};
use sonyctl_sony::live_view::{
    DatasetLayout, FocalFrameInfo, Frame, FrameGroup, UNITS_PER_PIXEL, encode_dataset,
};
use sonyctl_sony::values::{AfPoint, FocusIndication};

use crate::camera::{ConnectionId, Reply, SimulatedCamera};
use crate::script::Fault;

/// 0xD24C FocalPosition (0..100).
const FOCAL_POSITION: PropertyCode = prop::FOCAL_POSITION;
const WIDTH: usize = AfPoint::WIDTH as usize;
const HEIGHT: usize = AfPoint::HEIGHT as usize;
/// Focal-frame info version × 100 (the CrCmd.tab5 sample of the fact sheet, §8.2).
const FOCAL_FRAME_VERSION: u16 = 104;
/// Side of the AF frame in pixels (invented).
const AF_FRAME_SIZE: u32 = 64;
/// JPEG quality for 0xD26A = 1 (low), and for bodies without 0xD26A.
pub const LOW_QUALITY: u8 = 60;
/// JPEG quality for 0xD26A = 2 (high).
pub const HIGH_QUALITY: u8 = 85;
/// The fewest junk bytes after the JPEG's end marker (the least of the real frames).
const MIN_PADDING: usize = 15;
/// Depth strips of the scene, left to right.
pub const STRIPS: usize = 10;
/// Width of one strip in pixels.
pub const STRIP_WIDTH: usize = WIDTH / STRIPS;
/// Rows of the scene's textured band (the caption is above it).
pub const TEXTURE_ROWS: std::ops::Range<usize> = 96..416;
/// The longest time a host's `lv-not-ready` lasts after its session opens.
const NOT_READY_FOR: Duration = Duration::from_secs(1);
/// More requests than this within one frame interval count as flooding.
const FLOOD_LIMIT: usize = 3;

/// The depth of strip `i` on the focus scale (0 near … 100 far).
pub fn strip_depth(i: usize) -> u8 {
    (i.min(STRIPS - 1) * 100 / (STRIPS - 1)) as u8
}

/// The box-blur radius, in pixels, of a strip at `depth` when the focus is at `focus`: 0 within
/// 5 of the focus position, one more for every further 10.
pub fn blur_radius(depth: u8, focus: u8) -> usize {
    (usize::from(depth.abs_diff(focus)) + 5) / 10
}

/// What the camera drew for one frame, as [`SimulatedCamera::last_live_view`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveViewDrawing {
    /// The frame number: frames since power-on, frame 0 at camera time 0.
    pub frame: u64,
    /// When the camera produced it (camera time).
    pub produced_at: Duration,
    /// The focal-frame info in the dataset.
    pub focal_frames: FocalFrameInfo,
    /// The focus position (0..=100) the picture is drawn at.
    pub focus_position: u8,
    /// The JPEG quality (0xD26A).
    pub jpeg_quality: u8,
    /// Length of the JPEG, SOI to EOI.
    pub jpeg_len: usize,
    /// Junk bytes after the JPEG, inside the declared size.
    pub padding_len: usize,
    /// The junk holds an `FF D9`.
    pub end_marker_in_padding: bool,
}

/// One host's live view, for `--stats` and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveViewStats {
    /// Frames the camera produced from this host's first request for 0xFFFFC002 to its last
    /// (including those withheld during an exposure): what it could have received.
    pub frames_produced: u64,
    /// Frames sent to this host (each at most once).
    pub frames_sent: u64,
    /// GetObject requests for 0xFFFFC002.
    pub get_object: u64,
    /// GetObjectInfo requests for 0xFFFFC002.
    pub get_object_info: u64,
    /// Of those, answered AccessDenied (too early, an exposure, a full buffer).
    pub access_denied: u64,
    /// Of those, answered InvalidObjectHandle (the `lv-not-ready` fault).
    pub invalid_handle: u64,
    /// Requests that were the fourth or later within one frame interval.
    pub flooding: u64,
    /// Per frame whose last byte left (as its transport reported): its age then, from when the
    /// camera produced it.
    pub frame_ages: Vec<Duration>,
    /// The camera's frame interval.
    pub frame_interval: Duration,
}

impl LiveViewStats {
    /// Requests for 0xFFFFC002: GetObject and GetObjectInfo.
    pub fn requests(&self) -> u64 {
        self.get_object + self.get_object_info
    }
}

/// One host's live-view state.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostLiveView {
    /// The frame current at this host's first request.
    first_frame: Option<u64>,
    /// The last frame sent to this host.
    last_sent: Option<u64>,
    /// Times of this host's requests within the last frame interval.
    recent: VecDeque<Duration>,
    /// A frame handed to the transport whose last byte has not been reported: when it was
    /// produced.
    pub(crate) in_flight: Option<Duration>,
}

/// The camera's live-view state.
#[derive(Debug)]
pub(crate) struct LiveViewState {
    /// AF point in the 640×480 live-view space.
    pub(crate) af_point: AfPoint,
    /// Manual focus position 0..=100 when the body has no 0xD24C.
    focus_position: u8,
    /// The last frame drawn and its dataset, shared by every host that asks for it.
    drawn: Option<(LiveViewDrawing, Vec<u8>)>,
    /// The last frame sent to any host.
    last_sent: Option<LiveViewDrawing>,
}

impl LiveViewState {
    pub(crate) fn new() -> LiveViewState {
        LiveViewState {
            af_point: AfPoint { x: 320, y: 240 },
            focus_position: 50,
            drawn: None,
            last_sent: None,
        }
    }
}

/// True for GetObject or GetObjectInfo on the live-view handle.
pub(crate) fn is_live_view_request(op: &Operation) -> bool {
    matches!(
        op.code,
        OperationCode::GET_OBJECT | OperationCode::GET_OBJECT_INFO
    ) && op.params.get(0) == Some(handle::LIVE_VIEW)
}

impl SimulatedCamera {
    /// The time between two live-view frames (the profile's rate).
    pub fn live_view_interval(&self) -> Duration {
        Duration::from_secs(1) / self.profile.live_view_fps.max(1)
    }

    /// What the camera drew for the last live-view frame it sent to any host.
    pub fn last_live_view(&self) -> Option<&LiveViewDrawing> {
        self.live_view.last_sent.as_ref()
    }

    fn frame_number(&self) -> u64 {
        (self.now.as_nanos() / self.live_view_interval().as_nanos().max(1)) as u64
    }

    fn produced_at(&self, frame: u64) -> Duration {
        let ns = self.live_view_interval().as_nanos() as u64;
        Duration::from_nanos(ns.saturating_mul(frame))
    }

    fn live_view_available(&self) -> bool {
        self.value(prop::LIVE_VIEW_STATUS)
            .and_then(Value::as_u64)
            .is_none_or(|v| v == 1)
    }

    /// The `lv-not-ready` fault: this host's session opened less than a second ago; the
    /// `lv-off` fault: always.
    fn live_view_not_ready(&self, id: ConnectionId) -> bool {
        self.has_fault(Fault::LiveViewOff)
            || self.has_fault(Fault::LiveViewNotReady)
                && self
                    .session_opened(id)
                    .is_some_and(|t| self.now < t + NOT_READY_FOR)
    }

    /// GetObjectInfo(0xFFFFC002): what libgphoto2 asks before every frame.
    pub(crate) fn live_view_info(&self, id: ConnectionId) -> Reply {
        if self.live_view_not_ready(id) {
            return Reply::code(ResponseCode::INVALID_OBJECT_HANDLE);
        }
        if !self.live_view_available() {
            return Reply::code(ResponseCode::ACCESS_DENIED);
        }
        let info = ObjectInfo {
            storage_id: 0,
            object_format: ObjectFormatCode::EXIF_JPEG,
            protection_status: 0,
            object_compressed_size: 0,
            thumb_format: ObjectFormatCode(0),
            thumb_compressed_size: 0,
            thumb_pix_width: 0,
            thumb_pix_height: 0,
            image_pix_width: WIDTH as u32,
            image_pix_height: HEIGHT as u32,
            image_bit_depth: 24,
            parent_object: 0,
            association_type: 0,
            association_desc: 0,
            sequence_number: 0,
            filename: String::new(),
            capture_date: String::new(),
            modification_date: String::new(),
            keywords: String::new(),
        };
        match info.to_bytes() {
            Ok(b) => Reply::data(b),
            Err(_) => Reply::code(ResponseCode::GENERAL_ERROR),
        }
    }

    /// GetObject(0xFFFFC002): the next frame, or AccessDenied when there is none for this host.
    pub(crate) fn live_view_frame(&mut self, id: ConnectionId) -> Reply {
        if self.live_view_not_ready(id) {
            return Reply::code(ResponseCode::INVALID_OBJECT_HANDLE);
        }
        let buffer_full = self.capture.buffer.len() >= self.profile.buffer_depth;
        if !self.live_view_available() || self.capture.exposing_now() || buffer_full {
            return Reply::code(ResponseCode::ACCESS_DENIED);
        }
        let n = self.frame_number();
        let Some(host) = self.host_live_view(id) else {
            return Reply::code(ResponseCode::GENERAL_ERROR);
        };
        if host.last_sent == Some(n) {
            return Reply::code(ResponseCode::ACCESS_DENIED);
        }
        let (drawing, bytes) = match self.draw(n) {
            Ok(d) => d,
            Err(_) => return Reply::code(ResponseCode::GENERAL_ERROR),
        };
        let produced = drawing.produced_at;
        self.live_view.last_sent = Some(drawing);
        if let Some(host) = self.host_live_view(id) {
            host.last_sent = Some(n);
            host.in_flight = Some(produced);
        }
        if let Some(s) = self.live_view_stats(id) {
            s.frames_sent += 1;
        }
        Reply::data(bytes)
    }

    /// Counts one request for 0xFFFFC002 from host `id` and its answer.
    pub(crate) fn count_live_view_request(
        &mut self,
        id: ConnectionId,
        op: &Operation,
        code: ResponseCode,
    ) {
        let now = self.now;
        let interval = self.live_view_interval();
        let n = self.frame_number();
        let Some(host) = self.host_live_view(id) else {
            return;
        };
        let first = *host.first_frame.get_or_insert(n);
        while host.recent.front().is_some_and(|&t| t + interval <= now) {
            host.recent.pop_front();
        }
        host.recent.push_back(now);
        let flooding = host.recent.len() > FLOOD_LIMIT;
        let Some(s) = self.live_view_stats(id) else {
            return;
        };
        s.frames_produced = n.saturating_sub(first).saturating_add(1);
        if op.code == OperationCode::GET_OBJECT {
            s.get_object += 1;
        } else {
            s.get_object_info += 1;
        }
        if code == ResponseCode::ACCESS_DENIED {
            s.access_denied += 1;
        }
        if code == ResponseCode::INVALID_OBJECT_HANDLE {
            s.invalid_handle += 1;
        }
        if flooding {
            s.flooding += 1;
        }
    }

    /// A transport's note that the last byte of the data phase it last carried for host `id`
    /// left at camera time `now`. For a live-view frame this records the frame's age then;
    /// for anything else it does nothing.
    pub fn data_phase_sent(&mut self, id: ConnectionId, now: Duration) {
        let Some(produced) = self.host_live_view(id).and_then(|h| h.in_flight.take()) else {
            return;
        };
        if let Some(s) = self.live_view_stats(id) {
            s.frame_ages.push(now.saturating_sub(produced));
        }
    }

    /// Frame `n` as it looks now, and its dataset; drawn once, then shared by every host that
    /// asks for the same frame while nothing it shows has changed.
    fn draw(&mut self, n: u64) -> Result<(LiveViewDrawing, Vec<u8>), sonyctl_ptp::EncodeError> {
        let focus_position = self.focus_position();
        let jpeg_quality = match self.value(prop::LIVE_VIEW_QUALITY).and_then(Value::as_u64) {
            Some(2) => HIGH_QUALITY,
            _ => LOW_QUALITY,
        };
        let focal_frames = self.focal_frame_info();
        if let Some((d, bytes)) = &self.live_view.drawn {
            if d.frame == n
                && d.focus_position == focus_position
                && d.jpeg_quality == jpeg_quality
                && d.focal_frames == focal_frames
            {
                return Ok((d.clone(), bytes.clone()));
            }
        }
        let caption = format!(
            "LIVE {} #{n} FOCUS {focus_position}",
            self.profile.device_info.model
        );
        let pixels = render_scene(n, focus_position, &caption);
        let mut jpeg = Vec::with_capacity(64 * 1024);
        let encoder = jpeg_encoder::Encoder::new(&mut jpeg, jpeg_quality);
        // The buffer holds 640×480 RGB pixels, so encoding cannot fail.
        let _ = encoder.encode(
            &pixels,
            WIDTH as u16,
            HEIGHT as u16,
            jpeg_encoder::ColorType::Rgb,
        );
        let padding = padding(n, jpeg.len());
        let end_marker_in_padding = padding.windows(2).any(|w| w == [0xFF, 0xD9]);
        let bytes = encode_dataset(&DatasetLayout::USB, Some(&focal_frames), &jpeg, &padding)?;
        let drawing = LiveViewDrawing {
            frame: n,
            produced_at: self.produced_at(n),
            focal_frames,
            focus_position,
            jpeg_quality,
            jpeg_len: jpeg.len(),
            padding_len: padding.len(),
            end_marker_in_padding,
        };
        self.live_view.drawn = Some((drawing.clone(), bytes.clone()));
        Ok((drawing, bytes))
    }

    /// Focal-frame info v1.04: four groups (focus, face, tracking, framing); the focus group has
    /// the AF frame at the AF point unless the focus mode is MF.
    fn focal_frame_info(&self) -> FocalFrameInfo {
        let mut focus = Vec::new();
        if !self.manual_focus() {
            let state = self
                .value(prop::FOCUS_INDICATION)
                .and_then(Value::as_u64)
                .map_or(u16::from(FocusIndication::NotFocused.to_raw()), |v| {
                    v.min(u64::from(u16::MAX)) as u16
                });
            let p = self.live_view.af_point;
            let size = AF_FRAME_SIZE;
            // Centred on the AF point, moved inside the picture at its edges.
            let left = u32::from(p.x)
                .saturating_sub(size / 2)
                .min(WIDTH as u32 - size);
            let top = u32::from(p.y)
                .saturating_sub(size / 2)
                .min(HEIGHT as u32 - size);
            focus.push(Frame {
                frame_type: 1,
                state,
                priority: 1,
                x: left * UNITS_PER_PIXEL,
                y: top * UNITS_PER_PIXEL,
                height: size * UNITS_PER_PIXEL,
                width: size * UNITS_PER_PIXEL,
            });
        }
        let mut groups = vec![FrameGroup::new(focus)];
        groups.extend((0..3).map(|_| FrameGroup::new(Vec::new())));
        FocalFrameInfo {
            version: FOCAL_FRAME_VERSION,
            groups,
        }
    }

    /// The focus position 0..=100 (0xD24C when the body reports it).
    pub fn focus_position(&self) -> u8 {
        self.value(FOCAL_POSITION)
            .and_then(Value::as_u64)
            .map_or(self.live_view.focus_position, |v| v.min(100) as u8)
    }

    /// 0xD2D1: moves the focus by ±1/3/7 steps (other amounts are refused, as alpha-fairy found
    /// on real bodies) when manual focus is possible.
    pub(crate) fn near_far(&mut self, n: i32) -> Reply {
        if !matches!(n.abs(), 1 | 3 | 7) {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_VALUE);
        }
        let mf = self.manual_focus()
            || self.value(prop::NEAR_FAR_ENABLED).and_then(Value::as_u64) == Some(1);
        if !mf {
            return Reply::ok();
        }
        let pos = (i32::from(self.focus_position()) + n).clamp(0, 100) as u8;
        self.live_view.focus_position = pos;
        if let Some(d) = self.descriptor(FOCAL_POSITION) {
            if let Some(v) = Value::from_integer(d.data_type, i128::from(pos)) {
                self.set_now(FOCAL_POSITION, v);
            }
        }
        Reply::ok()
    }

    /// 0xD2DC: the AF point (`AfPoint`).
    pub(crate) fn af_point(&mut self, data: &[u8]) -> Reply {
        if data.len() < 4 {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_FORMAT);
        }
        let Some(p) = data.get(..4).and_then(AfPoint::from_bytes) else {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_VALUE);
        };
        self.live_view.af_point = p;
        Reply::ok()
    }
}

/// The junk after frame `n`'s JPEG of `jpeg_len` bytes: up to a multiple of 128, at least
/// [`MIN_PADDING`] bytes, pseudo-random, with an `FF D9` in the middle on odd frames.
fn padding(n: u64, jpeg_len: usize) -> Vec<u8> {
    let declared = (jpeg_len + MIN_PADDING).div_ceil(128) * 128;
    let len = declared - jpeg_len;
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ jpeg_len as u64;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect();
    if n % 2 == 1 {
        let at = len / 2;
        if let Some(slot) = out.get_mut(at..at + 2) {
            slot.copy_from_slice(&[0xFF, 0xD9]);
        }
    }
    out
}

/// The scene of frame `n` with the focus at `focus`: colours that shift with the frame, a
/// checkered band of ten strips at increasing depth, each blurred by its distance from the
/// focus position, and `caption` above it.
///
/// The blur is a box blur of the checker pattern worked out per row and per column: the pattern
/// is the product of two square waves, one along x and one along y, and a box blur of such a
/// product is the product of the blurred waves, so a frame costs one pass over its pixels
/// (the JPEG encoder is the larger part of a frame's cost).
fn render_scene(n: u64, focus: u8, caption: &str) -> Vec<u8> {
    let mut px = vec![0u8; WIDTH * HEIGHT * 3];
    let shift = ((n * 3) % 256) as u8;
    // Per column: its blur radius and the blurred square wave along x (a sum of ±1 over the
    // box, so in -(2r+1)..=2r+1).
    let radius: Vec<usize> = (0..WIDTH)
        .map(|x| blur_radius(strip_depth(x / STRIP_WIDTH), focus))
        .collect();
    let wave_x: Vec<i32> = (0..WIDTH)
        .zip(&radius)
        .map(|(x, &r)| box_sum(x, r))
        .collect();
    let largest = radius.iter().copied().max().unwrap_or(0);
    for (y, row) in px.chunks_exact_mut(WIDTH * 3).enumerate() {
        let g = 30 + (y * 150 / HEIGHT) as u8;
        let textured = TEXTURE_ROWS.contains(&y);
        // The blurred wave along y for each radius a column may have.
        let wave_y: Vec<i32> = (0..=largest).map(|r| box_sum(y, r)).collect();
        for (x, p) in row.chunks_exact_mut(3).enumerate() {
            let r = 30 + (x * 150 / WIDTH) as u8;
            let b = shift.wrapping_add((x / 4 + y / 4) as u8) / 2 + 40;
            let lift = match (textured, radius.get(x), wave_x.get(x)) {
                (true, Some(&rad), Some(&wx)) => {
                    let wy = wave_y.get(rad).copied().unwrap_or(0);
                    let area = ((2 * rad + 1) * (2 * rad + 1)) as i32;
                    // (1 - wave_x·wave_y) / 2 of the light squares' 70 levels.
                    (70 * (area - wx * wy) / (2 * area)).clamp(0, 70) as u8
                }
                _ => 0,
            };
            p.copy_from_slice(&[
                r.saturating_add(lift),
                g.saturating_add(lift),
                b.saturating_add(lift),
            ]);
        }
    }
    crate::image::draw_text(&mut px, WIDTH, HEIGHT, (16, 40), 3, caption);
    px
}

/// The checker's square wave (+1, then -1, every 4 pixels) summed over `i - r ..= i + r`.
fn box_sum(i: usize, r: usize) -> i32 {
    let wave = |j: isize| if (j.rem_euclid(8)) < 4 { 1 } else { -1 };
    let (i, r) = (i as isize, r as isize);
    (i - r..=i + r).map(wave).sum()
}
