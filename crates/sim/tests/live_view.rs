//! Live view on the simulated camera, in memory with virtual time: the frame rate, AccessDenied
//! before the next frame, during an exposure and with a full buffer, flooding, quality, the
//! padding after the JPEG, the AF frame, manual focus, the picture's focus, `lv-not-ready`,
//! and the counters a host's transport fills in.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use sonyctl_ptp::{Operation, OperationCode, Params, PropertyCode, ResponseCode, Value};
use sonyctl_sim::live_view::{STRIP_WIDTH, STRIPS, TEXTURE_ROWS, strip_depth};
use sonyctl_sim::{Fault, Profile};
use sonyctl_sony::live_view::{FocalFrameInfo, LiveViewFrame};
use sonyctl_sony::{SdioRequest, values::AfPoint};

const S1: PropertyCode = PropertyCode(0xD2C1);
const S2: PropertyCode = PropertyCode(0xD2C2);
const LIVE_VIEW: u32 = 0xFFFF_C002;
const GET_OBJECT_INFO: u16 = 0x1008;
const GET_OBJECT: u16 = 0x1009;

use common::Host;

impl Host {
    /// GetObject(0xFFFFC002), the way a host that trusts no header reads it; the transport's
    /// note that the data left follows at once.
    fn frame(&mut self) -> Result<Vec<u8>, ResponseCode> {
        let r = self.op(GET_OBJECT, &[LIVE_VIEW]);
        match r.data {
            Some(d) if r.code == ResponseCode::OK => {
                self.cam.data_phase_sent(self.id, self.now);
                Ok(d)
            }
            _ => Err(r.code),
        }
    }

    fn control(&mut self, code: u16, data: Vec<u8>) -> ResponseCode {
        self.sdio(&SdioRequest::ControlDevice {
            code: PropertyCode(code),
            data,
        })
    }

    fn manual_focus(&mut self) {
        self.set(0x500A, Value::U16(1));
    }

    /// Waits until the next frame exists.
    fn next_frame(&mut self) -> Vec<u8> {
        let interval = self.cam.live_view_interval();
        self.wait(interval);
        self.frame().unwrap()
    }

    fn stats(&self) -> sonyctl_sim::LiveViewStats {
        self.cam.stats(self.id).unwrap().live_view.clone()
    }
}

fn decode(frame: &[u8]) -> LiveViewFrame {
    LiveViewFrame::decode(frame).unwrap()
}

/// Decodes the JPEG: its size from the frame header, and its RGB pixels.
fn pixels(frame: &[u8]) -> ((u16, u16), Vec<u8>) {
    let lv = decode(frame);
    let mut d = jpeg_decoder::Decoder::new(lv.jpeg(frame));
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    ((info.width, info.height), px)
}

#[test]
fn frames_come_at_the_profiles_rate_and_each_once() {
    for fps in [30u32, 24] {
        let mut profile = Profile::builtin("ilce-7sm3").unwrap();
        assert_eq!(profile.live_view_fps, 30, "the built-in rate");
        let text = profile
            .to_toml()
            .replace("live_view_fps = 30", &format!("live_view_fps = {fps}"));
        profile = Profile::from_toml(&text).unwrap();
        let mut h = Host::with(profile, &[]);
        let interval = h.cam.live_view_interval();
        assert_eq!(interval, Duration::from_secs(1) / fps);
        // A host that polls every millisecond for a second.
        let mut numbers = Vec::new();
        while h.now < Duration::from_secs(1) {
            if h.frame().is_ok() {
                let drawn = h.cam.last_live_view().unwrap();
                assert!(drawn.produced_at <= h.now && h.now < drawn.produced_at + interval);
                numbers.push(drawn.frame);
            }
            h.wait(Duration::from_millis(1));
        }
        let expected: Vec<u64> = (0..u64::from(fps)).collect();
        assert_eq!(numbers, expected, "{fps} fps: every frame once, in order");
        let s = h.stats();
        assert_eq!(s.frames_sent, u64::from(fps));
        assert_eq!(s.frames_produced, u64::from(fps));
        assert_eq!(s.get_object, 1000);
        assert_eq!(s.access_denied, 1000 - u64::from(fps));
        assert_eq!(s.frame_interval, interval);
        assert_eq!(s.frame_ages.len() as u64, s.frames_sent);
        assert!(s.frame_ages.iter().all(|a| *a < interval));
    }
}

#[test]
fn asked_again_before_a_new_frame_exists_access_denied() {
    let mut h = Host::new("ilce-7sm3");
    let interval = h.cam.live_view_interval();
    h.wait(interval / 2);
    assert!(h.frame().is_ok());
    assert_eq!(h.frame(), Err(ResponseCode::ACCESS_DENIED));
    h.wait(interval / 3);
    assert_eq!(
        h.frame(),
        Err(ResponseCode::ACCESS_DENIED),
        "still the same frame"
    );
    // GetObjectInfo is always answered (libgphoto2 asks it before every frame).
    assert_eq!(h.op(GET_OBJECT_INFO, &[LIVE_VIEW]).code, ResponseCode::OK);
    h.wait(interval / 6 + Duration::from_micros(1));
    assert!(h.frame().is_ok(), "the next frame");
    let s = h.stats();
    assert_eq!(
        (
            s.frames_sent,
            s.get_object,
            s.get_object_info,
            s.access_denied
        ),
        (2, 4, 1, 2)
    );
    assert_eq!(s.requests(), 5);
    assert_eq!(s.frames_produced, 2);
}

/// A 2 s exposure with long-exposure noise reduction (another 2 s of writing): no frames from
/// the shutter press until the shot is written, and 0xD221 reads 1 throughout.
#[test]
fn no_frames_during_an_exposure_or_while_the_camera_writes() {
    let mut h = Host::new("ilce-7sm3");
    h.manual_focus();
    h.set(0xD20D, Value::U32(0x0014_000A));
    h.cam.owner_long_exposure_nr(true);
    assert!(h.next_frame().len() > 1000);
    h.button(S1, true);
    h.button(S2, true);
    h.button(S2, false);
    h.button(S1, false);
    let interval = h.cam.live_view_interval();
    let mut denied = 0;
    for _ in 0..40 {
        h.wait(Duration::from_millis(100));
        assert_eq!(
            h.value(0xD221),
            Value::U8(1),
            "0xD221 as the body reports it"
        );
        match h.frame() {
            Err(code) => {
                assert_eq!(code, ResponseCode::ACCESS_DENIED);
                denied += 1;
            }
            Ok(_) => panic!("a frame at {:?}, inside the exposure", h.now),
        }
    }
    // 2 s of exposure and 2.3 s of writing: 4 s in, still writing.
    assert_eq!(denied, 40);
    h.wait(Duration::from_millis(400));
    assert!(h.frame().is_ok(), "the shot is written");
    assert_eq!(h.op(0x1001, &[]).code, ResponseCode::OK);
    assert_eq!(h.value(0xD215), Value::U16(0x8001));
    h.wait(interval);
    assert!(h.frame().is_ok());
    assert_eq!(h.stats().access_denied, 40);
}

#[test]
fn no_frames_while_the_buffer_is_full() {
    let mut h = Host::new("dsc-rx100m7");
    h.manual_focus();
    let depth = h.cam.profile().buffer_depth;
    for _ in 0..depth {
        h.button(S1, true);
        h.button(S2, true);
        h.wait(Duration::from_millis(250));
        h.button(S2, false);
        h.button(S1, false);
        h.wait(Duration::from_secs(1));
    }
    assert_eq!(h.cam.pending_shots(), depth);
    h.wait(Duration::from_secs(1));
    assert_eq!(h.frame(), Err(ResponseCode::ACCESS_DENIED), "full");
    assert_eq!(h.value(0xD221), Value::U8(1));
    // One shot read out: room again, and frames again.
    assert_eq!(h.op(0x1008, &[0xFFFF_C001]).code, ResponseCode::OK);
    assert_eq!(h.op(0x1009, &[0xFFFF_C001]).code, ResponseCode::OK);
    h.wait(Duration::from_millis(100));
    assert!(h.frame().is_ok());
    assert_eq!(h.cam.pending_shots(), depth - 1);
}

#[test]
fn more_than_three_requests_in_one_frame_interval_is_flooding() {
    let mut h = Host::new("ilce-7sm3");
    let interval = h.cam.live_view_interval();
    let ms = Duration::from_millis(1);
    // Three requests within an interval: GetObjectInfo, GetObject, one retry.
    h.op(GET_OBJECT_INFO, &[LIVE_VIEW]);
    assert!(h.frame().is_ok());
    h.wait(ms);
    assert!(h.frame().is_err());
    assert_eq!(h.stats().flooding, 0);
    // A fourth and a fifth within the same interval.
    h.wait(ms);
    h.frame().unwrap_err();
    h.wait(ms);
    h.op(GET_OBJECT_INFO, &[LIVE_VIEW]);
    assert_eq!(h.stats().flooding, 2);
    // An interval after the first request, the window has moved on: three are inside it.
    h.now = interval + ms;
    h.cam.advance(h.now);
    assert!(h.frame().is_ok());
    assert_eq!(h.stats().flooding, 2);
    h.frame().unwrap_err();
    assert_eq!(h.stats().flooding, 3);
    assert_eq!(h.stats().requests(), 7);
}

/// 0xD26A changes the JPEG's quality: smaller at low, and the same 640×480 either way.
#[test]
fn quality_changes_the_bytes_not_the_picture_size() {
    let mut h = Host::new("ilce-7sm3");
    assert_eq!(
        h.value(0xD26A),
        Value::U8(2),
        "the captured body is at high"
    );
    let high = h.next_frame();
    let high_quality = h.cam.last_live_view().unwrap().jpeg_quality;
    h.set(0xD26A, Value::U8(1));
    let low = h.next_frame();
    let low_quality = h.cam.last_live_view().unwrap().jpeg_quality;
    assert!(low_quality < high_quality);
    let (high_jpeg, low_jpeg) = (decode(&high).jpeg_len, decode(&low).jpeg_len);
    assert!(
        low_jpeg * 5 < high_jpeg * 4,
        "low {low_jpeg} bytes, high {high_jpeg} bytes"
    );
    assert_eq!(pixels(&high).0, (640, 480));
    assert_eq!(pixels(&low).0, (640, 480));
    // A body without 0xD26A gets the low quality.
    let mut old = Host::new("ilce-6000");
    assert!(old.cam.value(PropertyCode(0xD26A)).is_none());
    let frame = old.next_frame();
    assert_eq!(pixels(&frame).0, (640, 480));
    assert_eq!(old.cam.last_live_view().unwrap().jpeg_quality, low_quality);
}

/// The declared size is a multiple of 128 with junk after the end marker; some frames' junk
/// holds FF D9, which fools a host that takes the last FF D9 for the JPEG's end.
#[test]
fn the_declared_size_is_padded_and_the_padding_may_hold_an_end_marker() {
    let mut h = Host::new("ilce-7sm3");
    let mut with_marker = 0;
    for _ in 0..10 {
        let frame = h.next_frame();
        let lv = decode(&frame);
        assert_eq!(lv.image_size % 128, 0);
        let jpeg = lv.jpeg(&frame);
        let junk = lv.image_size as usize - jpeg.len();
        assert!((15..128 + 15).contains(&junk), "{junk} bytes of junk");
        let drawn = h.cam.last_live_view().unwrap().clone();
        assert_eq!((drawn.jpeg_len, drawn.padding_len), (jpeg.len(), junk));
        // What the decoder found is the whole picture.
        assert_eq!(pixels(&frame).1.len(), 640 * 480 * 3);
        let declared = &frame[lv.image_offset as usize..][..lv.image_size as usize];
        let naive_end = declared
            .windows(2)
            .rposition(|w| w == [0xFF, 0xD9])
            .unwrap()
            + 2;
        assert_eq!(drawn.end_marker_in_padding, naive_end > jpeg.len());
        if drawn.end_marker_in_padding {
            with_marker += 1;
        }
    }
    assert!((3..=7).contains(&with_marker), "{with_marker} of 10 frames");
}

/// The focus group's one frame is centred on the AF point (moved inside the picture at its
/// edges), its state is 0xD213, and what a host decodes is what the camera drew.
#[test]
fn the_af_frame_follows_the_af_point_and_the_focus_state() {
    let mut h = Host::new("ilce-7sm3");
    for (x, y) in [(320u16, 240u16), (100, 200), (600, 60), (0, 479), (639, 0)] {
        let p = AfPoint::new(x, y).unwrap();
        assert_eq!(h.control(0xD2DC, p.to_bytes().to_vec()), ResponseCode::OK);
        let frame = h.next_frame();
        let ffi = decode(&frame).focal_frames.unwrap();
        assert_eq!(&ffi, &h.cam.last_live_view().unwrap().focal_frames);
        assert_eq!((ffi.version, ffi.groups.len()), (104, 4));
        assert!(ffi.groups[1..].iter().all(|g| g.frames.is_empty()));
        let g = &ffi.groups[0];
        assert_eq!((g.x_denominator, g.y_denominator), (640 * 1024, 480 * 1024));
        let [f] = g.frames.as_slice() else {
            panic!("one AF frame, not {:?}", g.frames);
        };
        let (w, hh) = (f.width / 1024, f.height / 1024);
        let (left, top) = (f.x / 1024, f.y / 1024);
        assert!(left + w <= 640 && top + hh <= 480, "inside the picture");
        let centre = |p: u16, size: u32, limit: u32| {
            (u32::from(p).saturating_sub(size / 2)).min(limit - size)
        };
        assert_eq!((left, top), (centre(x, w, 640), centre(y, hh, 480)));
        assert_eq!(f.state, 1, "not focused");
    }
    h.button(S1, true);
    h.wait(Duration::from_millis(500));
    assert_eq!(h.value(0xD213), Value::U8(2));
    let frame = h.next_frame();
    let f = &decode(&frame).focal_frames.unwrap().groups[0].frames[0];
    assert_eq!(f.state, 2, "focused, as 0xD213 says");
    h.button(S1, false);
    let frame = h.next_frame();
    assert_eq!(
        decode(&frame).focal_frames.unwrap().groups[0].frames[0].state,
        1
    );
}

#[test]
fn in_manual_focus_there_is_no_af_frame() {
    let mut h = Host::new("ilce-7sm3");
    h.manual_focus();
    let frame = h.next_frame();
    let ffi: FocalFrameInfo = decode(&frame).focal_frames.unwrap();
    assert_eq!(ffi.groups.len(), 4);
    assert!(ffi.groups.iter().all(|g| g.frames.is_empty()));
    assert_eq!(ffi, h.cam.last_live_view().unwrap().focal_frames);
    // Back to AF-S: the frame is back.
    h.set(0x500A, Value::U16(2));
    let frame = h.next_frame();
    assert_eq!(
        decode(&frame).focal_frames.unwrap().groups[0].frames.len(),
        1
    );
}

/// High-frequency energy of each depth strip of the picture: the sum of luma differences
/// between neighbouring pixels inside the strip's textured band.
fn strip_energy(frame: &[u8]) -> Vec<u64> {
    let (_, px) = pixels(frame);
    let luma = |x: usize, y: usize| {
        let p = &px[(y * 640 + x) * 3..][..3];
        (299 * i64::from(p[0]) + 587 * i64::from(p[1]) + 114 * i64::from(p[2])) / 1000
    };
    (0..STRIPS)
        .map(|s| {
            let xs = s * STRIP_WIDTH + 2..(s + 1) * STRIP_WIDTH - 3;
            let ys = TEXTURE_ROWS.start + 2..TEXTURE_ROWS.end - 3;
            let mut e = 0;
            for y in ys.clone() {
                for x in xs.clone() {
                    e += (luma(x + 1, y) - luma(x, y)).unsigned_abs();
                    e += (luma(x, y + 1) - luma(x, y)).unsigned_abs();
                }
            }
            e
        })
        .collect()
}

/// The strip whose depth is nearest `focus`.
fn nearest_strip(focus: u8) -> usize {
    (0..STRIPS)
        .min_by_key(|&s| strip_depth(s).abs_diff(focus))
        .unwrap()
}

/// The sharpest part of the picture is where the focus position is: 0xD24C on a body that
/// reports it, the camera's own position on one that does not, both moved by 0xD2D1.
#[test]
fn the_picture_is_sharpest_at_the_focus_position() {
    for model in ["ilce-7sm3", "ilce-6000"] {
        let mut h = Host::new(model);
        // The owner turns the body's focus switch to MF (the ILCE-6000 takes no 0x500A from a
        // host).
        h.cam
            .owner_set(PropertyCode(0x500A), Value::U16(1))
            .unwrap();
        let mut energy_at = Vec::new();
        for target in [0u8, 50, 100] {
            while h.cam.focus_position() != target {
                let step: i16 = if h.cam.focus_position() < target {
                    1
                } else {
                    -1
                };
                let far = target.abs_diff(h.cam.focus_position()) >= 7;
                let n = if far { step * 7 } else { step };
                assert_eq!(
                    h.control(0xD2D1, n.to_le_bytes().to_vec()),
                    ResponseCode::OK
                );
            }
            if model == "ilce-7sm3" {
                assert_eq!(h.value(0xD24C), Value::U8(target), "0xD24C reports it");
            }
            let frame = h.next_frame();
            assert_eq!(h.cam.last_live_view().unwrap().focus_position, target);
            let e = strip_energy(&frame);
            let sharpest = (0..STRIPS).max_by_key(|&s| e[s]).unwrap();
            assert_eq!(
                sharpest,
                nearest_strip(target),
                "{model} at {target}: {e:?}"
            );
            energy_at.push(e);
        }
        // The near strip is sharp at 0 and blurred at 100, the far strip the other way round.
        let (near, far) = (0, STRIPS - 1);
        assert!(energy_at[0][near] > 3 * energy_at[2][near], "{model}");
        assert!(energy_at[2][far] > 3 * energy_at[0][far], "{model}");
        assert!(energy_at[1][nearest_strip(50)] > 3 * energy_at[0][nearest_strip(50)]);
    }
}

#[test]
fn lv_not_ready_answers_invalid_object_handle_for_a_second() {
    let profile = Profile::builtin("ilce-7sm3").unwrap();
    let mut h = Host::with(profile.clone(), &[Fault::LiveViewNotReady]);
    let ms = Duration::from_millis(50);
    while h.now < Duration::from_secs(1) {
        assert_eq!(
            h.op(GET_OBJECT_INFO, &[LIVE_VIEW]).code,
            ResponseCode::INVALID_OBJECT_HANDLE
        );
        assert_eq!(h.frame(), Err(ResponseCode::INVALID_OBJECT_HANDLE));
        h.wait(ms);
    }
    assert_eq!(h.op(GET_OBJECT_INFO, &[LIVE_VIEW]).code, ResponseCode::OK);
    assert!(h.frame().is_ok());
    let s = h.stats();
    assert_eq!((s.invalid_handle, s.frames_sent), (40, 1));
    assert_eq!(s.access_denied, 0);
    // Counted from each host's session: a second host waits its own second.
    let second = h.cam.connect();
    let open = Operation {
        code: OperationCode(0x1002),
        transaction_id: 1,
        params: Params::new(&[1]).unwrap(),
    };
    assert_eq!(
        h.cam.handle(second, h.now, &open, None).code,
        ResponseCode::OK
    );
    let get = Operation {
        code: OperationCode(GET_OBJECT),
        transaction_id: 2,
        params: Params::new(&[LIVE_VIEW]).unwrap(),
    };
    assert_eq!(
        h.cam.handle(second, h.now, &get, None).code,
        ResponseCode::INVALID_OBJECT_HANDLE
    );
    // Without the fault, frames from the start.
    let mut ready = Host::with(profile, &[]);
    assert!(ready.frame().is_ok());
}

/// Each frame's age is taken when its transport reports the last byte gone; a frame whose
/// transport never does gets none.
#[test]
fn frame_ages_are_taken_when_the_last_byte_leaves() {
    let mut h = Host::new("ilce-7sm3");
    let interval = h.cam.live_view_interval();
    h.wait(interval * 3 + Duration::from_millis(10));
    let r = h.op(GET_OBJECT, &[LIVE_VIEW]);
    assert_eq!(r.code, ResponseCode::OK);
    let produced = h.cam.last_live_view().unwrap().produced_at;
    assert_eq!(produced, interval * 3);
    h.cam
        .data_phase_sent(h.id, h.now + Duration::from_millis(5));
    // A second note for the same frame changes nothing.
    h.cam
        .data_phase_sent(h.id, h.now + Duration::from_millis(9));
    assert_eq!(
        h.stats().frame_ages,
        [Duration::from_millis(15)],
        "10 ms into the frame, 5 ms on the wire"
    );
    // Sent, but the host asked again before its transport said the last byte left.
    h.wait(interval);
    assert_eq!(h.op(GET_OBJECT, &[LIVE_VIEW]).code, ResponseCode::OK);
    h.op(0x1001, &[]);
    h.cam.data_phase_sent(h.id, h.now);
    let s = h.stats();
    assert_eq!((s.frames_sent, s.frame_ages.len()), (2, 1));
}
