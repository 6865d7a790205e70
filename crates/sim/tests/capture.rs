//! Shooting on the simulated camera, in memory with virtual time: autofocus, exposure, bulb,
//! noise reduction, the buffer at 0xFFFFC001, RAW+JPEG, bursts, a full buffer, save destination.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use sonyctl_ptp::{Codec, ObjectInfo, PropertyCode, ResponseCode, Value};
use sonyctl_sony::{SdioRequest, SonyEvent};

const S1: PropertyCode = PropertyCode(0xD2C1);
const S2: PropertyCode = PropertyCode(0xD2C2);
const PENDING: PropertyCode = PropertyCode(0xD215);

use common::Host;

impl Host {
    /// 0xD215 as the host sees it on its next request (a file read to its end leaves the
    /// buffer when the host asks for anything else).
    fn pending(&mut self) -> u64 {
        self.op(0x1001, &[]);
        self.value(0xD215).as_u64().unwrap()
    }

    /// GetObjectInfo then GetObject on 0xFFFFC001.
    fn download(&mut self) -> (ObjectInfo, Vec<u8>) {
        let r = self.op(0x1008, &[0xFFFF_C001]);
        assert_eq!(r.code, ResponseCode::OK);
        let info = ObjectInfo::decode_exact(&r.data.unwrap()).unwrap();
        let r = self.op(0x1009, &[0xFFFF_C001]);
        assert_eq!(r.code, ResponseCode::OK);
        let data = r.data.unwrap();
        assert_eq!(
            data.len() as u32,
            info.object_compressed_size,
            "size as ObjectInfo says"
        );
        (info, data)
    }

    /// Half press, full press, release both (the libgphoto2 sequence).
    fn shoot(&mut self) {
        self.button(S1, true);
        self.button(S2, true);
        self.wait(Duration::from_millis(250));
        self.button(S2, false);
        self.button(S1, false);
    }
}

fn is_jpeg(b: &[u8]) -> bool {
    b.starts_with(&[0xFF, 0xD8]) && b.ends_with(&[0xFF, 0xD9])
}

#[test]
fn single_shot_af_then_jpeg_at_c001() {
    let mut h = Host::new("ilce-7sm3");
    assert_eq!(
        h.op(0x1008, &[0xFFFF_C001]).code,
        ResponseCode::INVALID_OBJECT_HANDLE,
        "nothing yet"
    );
    h.cam.take_events(h.id);
    h.button(S1, true);
    h.button(S2, true);
    h.wait(Duration::from_millis(199));
    assert_eq!(h.value(0xD213), Value::U8(1), "still focusing");
    h.wait(Duration::from_millis(1));
    assert_eq!(h.value(0xD213), Value::U8(2), "focused");
    // 1/250 s exposure, then writing: 0xD215 reads 1 and the handle is refused.
    h.wait(Duration::from_millis(5));
    assert_eq!(h.pending(), 1);
    assert_eq!(
        h.op(0x1008, &[0xFFFF_C001]).code,
        ResponseCode::INVALID_OBJECT_HANDLE
    );
    h.button(S2, false);
    h.button(S1, false);
    h.wait(Duration::from_millis(300));
    assert_eq!(h.pending(), 0x8001);
    let events: Vec<SonyEvent> = h
        .cam
        .take_events(h.id)
        .iter()
        .map(SonyEvent::from_event)
        .collect();
    assert!(events.contains(&SonyEvent::ObjectAdded {
        handle: 0xFFFF_C001
    }));
    assert!(events.contains(&SonyEvent::PropertyChanged {
        property: Some(PENDING)
    }));
    let (info, data) = h.download();
    assert_eq!(info.filename, "DSC00001.JPG");
    assert_eq!(info.object_format.0, 0x3801);
    assert!(is_jpeg(&data));
    assert!(
        data.windows(5).any(|w| w == b"1/250"),
        "settings in the image's EXIF"
    );
    assert_eq!(h.pending(), 0);
    assert_eq!(
        h.op(0x1009, &[0xFFFF_C001]).code,
        ResponseCode::INVALID_OBJECT_HANDLE
    );
}

#[test]
fn autofocus_fails_in_the_dark_and_manual_focus_shoots_without_it() {
    let mut h = Host::new("ilce-7sm3");
    h.cam.owner_scene_dark(true);
    h.shoot();
    h.wait(Duration::from_secs(2));
    assert_eq!(h.value(0xD213), Value::U8(1), "released after the failure");
    assert_eq!(h.pending(), 0, "no picture without focus");
    h.set(0x500A, Value::U16(1));
    h.shoot();
    h.wait(Duration::from_secs(1));
    assert_eq!(h.pending(), 0x8001);
}

#[test]
fn bulb_lasts_until_release_and_noise_reduction_doubles_it() {
    let mut h = Host::new("ilce-7sm3");
    h.set(0xD20D, Value::U32(0));
    h.set(0x500A, Value::U16(1));
    h.cam.owner_long_exposure_nr(true);
    h.button(S1, true);
    h.button(S2, true);
    h.wait(Duration::from_secs(30));
    h.button(S2, false);
    h.button(S1, false);
    let (exposing, _) = h.cam.camera_time();
    assert_eq!(exposing, Duration::from_secs(30));
    h.wait(Duration::from_secs(30));
    assert_eq!(
        h.pending(),
        1,
        "still writing: noise reduction as long as the exposure"
    );
    h.wait(Duration::from_millis(300));
    assert_eq!(h.pending(), 0x8001);
}

#[test]
fn raw_and_jpeg_are_two_files_of_one_shot() {
    let mut h = Host::new("ilce-7sm3");
    h.set(0xD253, Value::U8(2));
    h.shoot();
    h.wait(Duration::from_secs(1));
    assert_eq!(h.pending(), 0x8001, "one shot, as real bodies count it");
    let (jpeg_info, jpeg) = h.download();
    assert!(is_jpeg(&jpeg));
    assert_eq!(h.pending(), 0x8001, "the RAW is still waiting");
    let (raw_info, raw) = h.download();
    assert_eq!(raw_info.filename, "DSC00001.ARW");
    assert_eq!(raw_info.object_format.0, 0xB101);
    assert_eq!(&raw[..4], b"II*\0");
    let image = sonyctl_raw::decode(&raw).expect("an ARW");
    assert_eq!((image.width, image.height), (4240, 2832));
    assert_eq!(image.info.kind, sonyctl_raw::RawKind::Compressed);
    assert_eq!(raw_info.object_compressed_size as usize, raw.len());
    assert_eq!(jpeg_info.filename, "DSC00001.JPG");
    assert_eq!(h.pending(), 0);
}

#[test]
fn the_raw_file_type_property_chooses_uncompressed_or_compressed() {
    let mut kinds = Vec::new();
    for value in [0x05, 0x01] {
        let mut h = Host::new("ilce-7sm3");
        h.set(0xD253, Value::U8(1));
        // The owner picks the RAW file type in the menu (the host cannot set 0xD288).
        h.cam
            .owner_set(PropertyCode(0xD288), Value::U8(value))
            .unwrap();
        h.shoot();
        h.wait(Duration::from_secs(1));
        let (_, raw) = h.download();
        let image = sonyctl_raw::decode(&raw).expect("an ARW");
        assert_eq!((image.width, image.height), (4240, 2832));
        kinds.push((image.info.kind, raw.len()));
    }
    assert_eq!(kinds[0].0, sonyctl_raw::RawKind::Uncompressed);
    assert_eq!(kinds[1].0, sonyctl_raw::RawKind::Compressed);
    assert!(kinds[0].1 > 2 * 4256 * 2848 && kinds[1].1 < 4256 * 2848 + 200_000);
}

#[test]
fn partial_reads_give_the_same_bytes() {
    let mut one = Host::new("ilce-6000");
    let mut two = Host::new("ilce-6000");
    for h in [&mut one, &mut two] {
        h.shoot();
        h.wait(Duration::from_secs(1));
    }
    let (_, whole) = one.download();
    let info = ObjectInfo::decode_exact(&two.op(0x1008, &[0xFFFF_C001]).data.unwrap()).unwrap();
    let mut parts = Vec::new();
    while parts.len() < info.object_compressed_size as usize {
        let r = two.op(0x101B, &[0xFFFF_C001, parts.len() as u32, 4000]);
        assert_eq!(r.code, ResponseCode::OK);
        assert_eq!(r.params.as_slice(), [r.data.as_ref().unwrap().len() as u32]);
        parts.extend(r.data.unwrap());
    }
    assert_eq!(parts, whole);
    assert_eq!(two.pending(), 0, "consumed with its last byte");
}

#[test]
fn a_full_buffer_stops_the_camera_until_drained() {
    let mut h = Host::new("dsc-rx100m7");
    let depth = h.cam.profile().buffer_depth as u64;
    for _ in 0..depth + 2 {
        h.shoot();
        h.wait(Duration::from_secs(1));
    }
    assert_eq!(
        h.pending(),
        0x8000 | depth,
        "no more shots than the buffer holds"
    );
    h.download();
    h.shoot();
    h.wait(Duration::from_secs(1));
    assert_eq!(h.pending(), 0x8000 | depth);
    for _ in 0..depth {
        h.download();
    }
    assert_eq!(h.pending(), 0);
}

#[test]
fn continuous_drive_shoots_while_s2_is_held() {
    let mut h = Host::new("ilce-7sm3");
    h.set(0x5013, Value::U32(0x0001_0002));
    h.button(S1, true);
    h.button(S2, true);
    h.wait(Duration::from_millis(1000));
    h.button(S2, false);
    h.button(S1, false);
    h.wait(Duration::from_secs(1));
    let shots = h.pending() & 0x7FFF;
    assert!(
        (3..=8).contains(&shots),
        "{shots} shots in a second of Cont. Hi"
    );
}

#[test]
fn card_only_destination_delivers_nothing_to_the_host() {
    let mut h = Host::new("ilce-7sm3");
    h.set(0xD222, Value::U16(0x10));
    h.shoot();
    h.wait(Duration::from_secs(1));
    assert_eq!(h.pending(), 0);
    h.set(0xD222, Value::U16(0x11));
    h.shoot();
    h.wait(Duration::from_secs(1));
    assert_eq!(h.pending(), 0x8001);
}

#[test]
fn owner_shutter_and_movie_button() {
    let mut h = Host::new("ilce-6000");
    h.cam.owner_shutter();
    h.wait(Duration::from_secs(1));
    assert_eq!(h.pending(), 0x8001);
    h.button(PropertyCode(0xD2C8), true);
    assert_eq!(h.value(0xD21D), Value::U8(1));
    h.button(PropertyCode(0xD2C8), false);
    assert_eq!(h.value(0xD21D), Value::U8(0));
}

/// Live view: the USB layout, a JPEG that ends with EOI before the declared size, a new picture
/// per frame, AccessDenied when polled faster than the frame rate, the AF frame at the AF point.
#[test]
fn live_view_frames() {
    let mut h = Host::new("ilce-7sm3");
    assert_eq!(h.op(0x1008, &[0xFFFF_C002]).code, ResponseCode::OK);
    let first = h.op(0x1009, &[0xFFFF_C002]).data.unwrap();
    assert_eq!(
        h.op(0x1009, &[0xFFFF_C002]).code,
        ResponseCode::ACCESS_DENIED,
        "same frame"
    );
    let lv = sonyctl_sony::LiveViewFrame::decode(&first).unwrap();
    assert_eq!(
        (lv.image_offset, lv.focal_frame_offset, lv.focal_frame_size),
        (0x3F4, 0x1F4, 0x200)
    );
    assert_eq!(lv.image_size % 128, 0);
    let jpeg = lv.jpeg(&first);
    assert!(is_jpeg(jpeg));
    assert!(jpeg.len() < lv.image_size as usize || lv.image_size as usize == jpeg.len());
    let ffi = lv.focal_frames.as_ref().unwrap();
    assert_eq!(
        (ffi.version, ffi.groups.len(), ffi.groups[0].frames.len()),
        (104, 4, 1)
    );
    let frame = &ffi.groups[0].frames[0];
    assert_eq!(
        frame.x + frame.width / 2,
        320 * 1024,
        "AF frame centred at (320, 240)"
    );

    // Move the AF point, wait a frame: a new picture with the frame at the new point.
    assert_eq!(
        h.sdio(&SdioRequest::ControlDevice {
            code: PropertyCode(0xD2DC),
            data: (100u32 << 16 | 200).to_le_bytes().to_vec()
        }),
        ResponseCode::OK
    );
    assert_eq!(
        h.sdio(&SdioRequest::ControlDevice {
            code: PropertyCode(0xD2DC),
            data: (700u32 << 16).to_le_bytes().to_vec()
        }),
        ResponseCode::INVALID_DEVICE_PROP_VALUE
    );
    h.wait(Duration::from_millis(34));
    let second = h.op(0x1009, &[0xFFFF_C002]).data.unwrap();
    let lv2 = sonyctl_sony::LiveViewFrame::decode(&second).unwrap();
    assert_ne!(lv2.jpeg(&second), jpeg, "the picture changes over time");
    let f2 = &lv2.focal_frames.as_ref().unwrap().groups[0].frames[0];
    assert_eq!(
        (f2.x + f2.width / 2, f2.y + f2.height / 2),
        (100 * 1024, 200 * 1024)
    );
}

#[test]
fn manual_focus_drive_moves_the_focus_position() {
    let mut h = Host::new("dsc-rx100m7");
    let near_far = |n: i16| SdioRequest::ControlDevice {
        code: PropertyCode(0xD2D1),
        data: n.to_le_bytes().to_vec(),
    };
    let start = h.cam.focus_position();
    assert_eq!(h.sdio(&near_far(7)), ResponseCode::OK);
    assert_eq!(h.cam.focus_position(), start, "no manual focus in AF");
    h.set(0x500A, Value::U16(1));
    let start = h.cam.focus_position();
    assert_eq!(h.sdio(&near_far(-3)), ResponseCode::OK);
    assert_eq!(h.cam.focus_position(), start - 3);
    assert_eq!(
        h.sdio(&near_far(2)),
        ResponseCode::INVALID_DEVICE_PROP_VALUE,
        "only 1, 3, 7"
    );
    for _ in 0..40 {
        h.sdio(&near_far(7));
    }
    assert_eq!(h.cam.focus_position(), 100, "clamped at infinity");
}

#[test]
fn settings_answer_device_busy_while_a_shot_is_written() {
    let mut h = Host::new("ilce-7sm3");
    h.set(0x500A, Value::U16(1));
    h.button(S1, true);
    h.button(S2, true);
    h.wait(Duration::from_millis(10));
    let r = h.sdio(&SdioRequest::set(PropertyCode(0xD21E), &Value::U32(800)).unwrap());
    assert_eq!(r, ResponseCode::DEVICE_BUSY);
    assert!(r.is_retryable());
    h.button(S2, false);
    h.button(S1, false);
    h.wait(Duration::from_secs(1));
    assert_eq!(
        h.sdio(&SdioRequest::set(PropertyCode(0xD21E), &Value::U32(800)).unwrap()),
        ResponseCode::OK
    );
}

/// An AF point on the picture's edge (host input) still gives a frame, its rectangle clamped.
#[test]
fn live_view_with_the_af_point_in_a_corner() {
    let mut h = Host::new("ilce-7sm3");
    let at_origin = SdioRequest::ControlDevice {
        code: PropertyCode(0xD2DC),
        data: 0u32.to_le_bytes().to_vec(),
    };
    assert_eq!(h.sdio(&at_origin), ResponseCode::OK);
    let frame = h.op(0x1009, &[0xFFFF_C002]).data.unwrap();
    let lv = sonyctl_sony::LiveViewFrame::decode(&frame).unwrap();
    let f = &lv.focal_frames.as_ref().unwrap().groups[0].frames[0];
    assert_eq!((f.x, f.y), (0, 0));
}
