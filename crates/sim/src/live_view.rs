//! Live view (GetObject 0xFFFFC002), manual focus drive (0xD2D1) and the AF point (0xD2DC).
//!
//! A frame uses the USB layout of the fact sheet: a 16-byte header giving the offsets, the
//! focal-frame info at 0x1F4 (version 1.04, four groups; the focus group holds the AF frame), and
//! a 640×480 JPEG at 0x3F4 whose declared size is rounded up to a multiple of 128 with junk after
//! its end marker, as real frames are, so hosts must find FF D9 rather than trust the size. The
//! picture changes every frame. Polling again within one frame interval answers AccessDenied.

use std::time::Duration;

use sonyctl_ptp::{Codec, ObjectFormatCode, ObjectInfo, PropertyCode, ResponseCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::FocusIndication;

use crate::camera::{Reply, SimulatedCamera};
use crate::image::render;

/// Live-view frames per second.
pub const FRAME_RATE: u32 = 30;
/// 0xD24C FocalPosition (0..100).
const FOCAL_POSITION: PropertyCode = prop::FOCAL_POSITION;
const FFI_OFFSET: usize = 0x1F4;
const FFI_SIZE: usize = 0x200;
const JPEG_OFFSET: usize = 0x3F4;
const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

/// Live-view state.
#[derive(Debug, Default)]
pub(crate) struct LiveViewState {
    /// The last frame number handed out.
    last_frame: Option<u64>,
    /// AF point in the 640×480 live-view space.
    pub(crate) af_point: (u16, u16),
    /// Manual focus position 0..=100 when the body has no 0xD24C.
    focus_position: u8,
}

impl LiveViewState {
    pub(crate) fn new() -> LiveViewState {
        LiveViewState {
            last_frame: None,
            af_point: (320, 240),
            focus_position: 50,
        }
    }
}

fn frame_interval() -> Duration {
    Duration::from_secs(1) / FRAME_RATE
}

impl SimulatedCamera {
    fn frame_number(&self) -> u64 {
        (self.now.as_nanos() / frame_interval().as_nanos().max(1)) as u64
    }

    fn live_view_available(&self) -> bool {
        self.value(prop::LIVE_VIEW_STATUS)
            .and_then(Value::as_u64)
            .is_none_or(|v| v == 1)
    }

    /// GetObjectInfo(0xFFFFC002): what hosts ask before every frame.
    pub(crate) fn live_view_info(&self) -> Reply {
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
            image_pix_width: WIDTH,
            image_pix_height: HEIGHT,
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

    /// GetObject(0xFFFFC002): the next frame, or AccessDenied when there is no new one yet.
    pub(crate) fn live_view_frame(&mut self) -> Reply {
        if !self.live_view_available() {
            return Reply::code(ResponseCode::ACCESS_DENIED);
        }
        let n = self.frame_number();
        if self.live_view.last_frame == Some(n) {
            return Reply::code(ResponseCode::ACCESS_DENIED);
        }
        self.live_view.last_frame = Some(n);
        let caption = format!(
            "LIVE {} FRAME {n} FOCUS {}",
            self.profile.device_info.model,
            self.focus_position()
        );
        let pixels = render(WIDTH, HEIGHT, n as u32, &caption);
        let mut jpeg = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut jpeg, 60);
        // The buffer matches 640×480 RGB, so encoding cannot fail.
        let _ = encoder.encode(
            &pixels,
            WIDTH as u16,
            HEIGHT as u16,
            jpeg_encoder::ColorType::Rgb,
        );
        let declared = jpeg.len().div_ceil(128) * 128;
        let mut out = vec![0u8; JPEG_OFFSET];
        let header = [
            JPEG_OFFSET as u32,
            declared as u32,
            FFI_OFFSET as u32,
            FFI_SIZE as u32,
        ];
        for (i, v) in header.iter().enumerate() {
            if let Some(slot) = out.get_mut(i * 4..i * 4 + 4) {
                slot.copy_from_slice(&v.to_le_bytes());
            }
        }
        let ffi = self.focal_frame_info();
        if let Some(slot) = out.get_mut(FFI_OFFSET..FFI_OFFSET + ffi.len()) {
            slot.copy_from_slice(&ffi);
        }
        out.extend_from_slice(&jpeg);
        // Junk after the end marker up to the declared size, as on real bodies.
        out.extend((jpeg.len()..declared).map(|i| (i as u8).wrapping_mul(31) | 1));
        Reply::data(out)
    }

    /// Focal-frame info v1.04: four groups (focus, face, tracking, framing); the focus group has
    /// the AF frame at the AF point, focused when 0xD213 says so.
    fn focal_frame_info(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(FFI_SIZE);
        f.extend_from_slice(&104u16.to_le_bytes());
        f.resize(56, 0);
        let focused = self
            .value(prop::FOCUS_INDICATION)
            .and_then(Value::as_u64)
            .and_then(FocusIndication::from_value)
            == Some(FocusIndication::Focused);
        for group in 0..4 {
            f.extend_from_slice(&(640u32 * 1024).to_le_bytes());
            f.extend_from_slice(&(480u32 * 1024).to_le_bytes());
            let frames: u16 = u16::from(group == 0);
            f.extend_from_slice(&frames.to_le_bytes());
            f.extend_from_slice(&[0; 6]);
            if group == 0 {
                let (x, y) = self.live_view.af_point;
                f.extend_from_slice(&1u16.to_le_bytes()); // type: AF frame
                f.extend_from_slice(&(if focused { 2u16 } else { 1 }).to_le_bytes());
                f.extend_from_slice(&[1, 0, 0, 0]);
                let size = 64 * 1024;
                // The frame's corner, clamped at the picture's edge (the AF point may be at 0).
                f.extend_from_slice(&(u32::from(x) * 1024).saturating_sub(size / 2).to_le_bytes());
                f.extend_from_slice(&(u32::from(y) * 1024).saturating_sub(size / 2).to_le_bytes());
                f.extend_from_slice(&size.to_le_bytes());
                f.extend_from_slice(&size.to_le_bytes());
            }
        }
        f.resize(FFI_SIZE, 0);
        f
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
        let mf = self.value(prop::FOCUS_MODE).and_then(Value::as_u64) == Some(1)
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
        let Some(raw) = data.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_FORMAT);
        };
        let Some(p) = sonyctl_sony::values::AfPoint::from_raw(u32::from_le_bytes(raw)) else {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_VALUE);
        };
        self.live_view.af_point = (p.x, p.y);
        Reply::ok()
    }
}
