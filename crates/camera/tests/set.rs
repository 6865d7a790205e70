//! Setting values through the facade on the simulated camera, with virtual time: absolute sets
//! verified by reading back, refusals, and stepping on a protocol-200 body that converges in few
//! round trips and never loops.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use sonyctl_camera::{Camera, CameraOptions, Link, SetError, SimClock};
use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::prop;

mod common;

async fn open(model: &str, acts: &[&str]) -> Camera {
    common::open(common::sim(model, &[], acts)).await
}

const ISO: PropertyCode = prop::ISO;
const SHUTTER: PropertyCode = prop::SHUTTER_SPEED;
const F: PropertyCode = prop::F_NUMBER;
const EV: PropertyCode = prop::EXPOSURE_COMPENSATION;

fn shutter(den: u32) -> Value {
    Value::U32(1 << 16 | den)
}

#[tokio::test]
async fn absolute_set_on_protocol_300_is_verified() {
    let mut cam = open("ilce-7sm3", &[]).await;
    let out = cam.set(ISO, &Value::U32(800)).await.unwrap();
    assert_eq!(
        (out.before, out.after, out.steps),
        (Value::U32(0x00FF_FFFF), Value::U32(800), 0)
    );
    assert!(out.round_trips <= 12, "{} round trips", out.round_trips);
    assert_eq!(cam.get(ISO).await.unwrap().current, Value::U32(800));
    // Already there: nothing sent.
    assert_eq!(cam.set(ISO, &Value::U32(800)).await.unwrap().round_trips, 1);
    match cam.set(ISO, &Value::U32(801)).await {
        Err(SetError::NotAccepted { accepted, .. }) => {
            assert!(accepted.iter().any(|a| a == "1600"), "{accepted:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_mode_dial_decides_what_can_be_set() {
    let mut cam = open("ilce-7sm3", &["0s:mode a"]).await;
    match cam.set(SHUTTER, &shutter(1000)).await {
        Err(SetError::NotSettableNow { why, .. }) => assert!(why.contains("display-only"), "{why}"),
        other => panic!("{other:?}"),
    }
    cam.set(F, &Value::U16(800)).await.unwrap();
    assert!(matches!(
        cam.set(PropertyCode(0xD999), &Value::U8(1)).await,
        Err(SetError::UnknownName(_))
    ));
}

#[tokio::test]
async fn stepping_on_protocol_200() {
    let mut cam = open("ilce-6000", &[]).await;
    // ISO from AUTO: the reported list holds 25, which cannot be selected, so the first jump
    // overshoots by one and a single step corrects it.
    let out = cam.set(ISO, &Value::U32(800)).await.unwrap();
    assert_eq!(out.after, Value::U32(800));
    assert!(out.steps <= 12, "{} notches", out.steps);
    // Shutter and aperture are dummy ranges: the distance is estimated from the 1/3-stop scale.
    for target in [
        shutter(250),
        shutter(1000),
        shutter(4000),
        Value::U32(300 << 16 | 10),
        Value::U32(0),
        shutter(60),
    ] {
        let out = cam.set(SHUTTER, &target).await.unwrap();
        assert_eq!(out.after, target);
        assert!(
            out.round_trips <= 40,
            "{target:?}: {} round trips",
            out.round_trips
        );
    }
    for f in [800u16, 350, 2200, 560] {
        assert_eq!(
            cam.set(F, &Value::U16(f)).await.unwrap().after,
            Value::U16(f)
        );
    }
    // EV: the reported list starts 0, 1, 2 and then runs +5.0 … -5.0.
    for ev in [700i16, -1300, 0, 5000] {
        let out = cam.set(EV, &Value::I16(ev)).await.unwrap();
        assert_eq!(out.after, Value::I16(ev));
        assert!(
            out.round_trips <= 30,
            "{ev}: {} round trips",
            out.round_trips
        );
    }
}

#[tokio::test]
async fn unreachable_values_end_with_an_error_not_a_loop() {
    let mut cam = open("ilce-6000", &[]).await;
    // Reported but not selectable.
    for iso in [25u32, 102_400] {
        match cam.set(ISO, &Value::U32(iso)).await {
            Err(SetError::NotReached { wanted, .. }) => assert_eq!(wanted, iso.to_string()),
            other => panic!("{iso}: {other:?}"),
        }
    }
    // Not even reported.
    assert!(matches!(
        cam.set(ISO, &Value::U32(333)).await,
        Err(SetError::NotAccepted { .. })
    ));
    // A shutter speed between two selectable ones.
    assert!(matches!(
        cam.set(SHUTTER, &shutter(7000)).await,
        Err(SetError::NotReached { .. })
    ));
}

#[tokio::test]
async fn nothing_changes_in_iauto() {
    let mut cam = open("ilce-6000", &["0s:mode iauto"]).await;
    assert!(matches!(
        cam.set(ISO, &Value::U32(800)).await,
        Err(SetError::NotSettableNow { .. })
    ));
}

/// A camera another host holds: the handshake says so plainly.
#[tokio::test]
async fn another_host_holds_the_camera() {
    use sonyctl_ptp::{Operation, OperationCode, Params};
    let mut sim = SimulatedCamera::new(
        Profile::builtin("ilce-7sm3").unwrap(),
        SimOptions::default(),
    );
    let other = sim.connect();
    let op = |code: u16, p: &[u32]| Operation {
        code: OperationCode(code),
        transaction_id: 1,
        params: Params::new(p).unwrap(),
    };
    sim.handle(other, Duration::ZERO, &op(0x1002, &[1]), None);
    sim.handle(other, Duration::ZERO, &op(0x9201, &[1, 0, 0]), None);
    let err = Camera::open(
        Link::sim(sim, SimClock::Virtual(Duration::ZERO)),
        CameraOptions::default(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, sonyctl_camera::CameraError::InUse), "{err}");
    assert!(err.to_string().contains("another application"));
}

/// Set then get, for the settings people change most, on a protocol-300 body (absolute) and a
/// protocol-200 body (steps for shutter, aperture, ISO and EV, counted; absolute for white balance
/// and drive).
#[tokio::test]
async fn round_trips_on_both_protocols() {
    const WB: PropertyCode = PropertyCode(0x5005);
    const DRIVE: PropertyCode = PropertyCode(0x5013);
    let mut v300 = open("ilce-7sm3", &[]).await;
    for (code, value) in [
        (SHUTTER, shutter(1000)),
        (F, Value::U16(800)),
        (ISO, Value::U32(1600)),
        (EV, Value::I16(700)),
        (WB, Value::U16(4)),
        (DRIVE, Value::U32(0x0001_0002)),
    ] {
        let out = v300.set(code, &value).await.unwrap();
        assert_eq!(
            (out.after.clone(), out.step_requests),
            (value.clone(), 0),
            "{code:?}"
        );
        assert_eq!(v300.get(code).await.unwrap().current, value);
    }

    let mut v200 = open("ilce-6000", &[]).await;
    // (property, target, most 0x9207 requests): a first jump and at most a couple of corrections.
    for (code, value, most) in [
        (SHUTTER, shutter(250), 1),
        (SHUTTER, shutter(1000), 1),
        (F, Value::U16(800), 2),
        (ISO, Value::U32(800), 2),
        (ISO, Value::U32(3200), 2),
        (EV, Value::I16(700), 3),
        (EV, Value::I16(-1300), 3),
    ] {
        let out = v200.set(code, &value).await.unwrap();
        assert_eq!(out.after, value, "{code:?}");
        assert!(
            out.step_requests <= most,
            "{code:?} {value:?}: {} requests",
            out.step_requests
        );
        assert_eq!(v200.get(code).await.unwrap().current, value);
    }
    for (code, value) in [(WB, Value::U16(4)), (DRIVE, Value::U16(2))] {
        let out = v200.set(code, &value).await.unwrap();
        assert_eq!(
            (out.after, out.step_requests),
            (value, 0),
            "{code:?} absolute"
        );
    }
}

/// Typed settings, async and blocking.
#[tokio::test]
async fn typed_settings() {
    use sonyctl_camera::{ExposureCompensation, FNumber, Iso, ShutterSpeed};
    let mut cam = open("ilce-6000", &[]).await;
    let s: ShutterSpeed = cam.setting().await.unwrap();
    assert_eq!(
        s,
        ShutterSpeed::Seconds {
            numerator: 1,
            denominator: 100
        }
    );
    assert_eq!(s.to_string(), "1/100");
    assert_eq!(s.seconds(), Some(0.01));
    cam.set_setting(&"1/250".parse::<ShutterSpeed>().unwrap())
        .await
        .unwrap();
    assert_eq!(
        cam.setting::<ShutterSpeed>().await.unwrap().to_string(),
        "1/250"
    );
    assert_eq!(cam.setting::<Iso>().await.unwrap(), Iso::AUTO);
    cam.set_setting(&Iso(800)).await.unwrap();
    assert_eq!(cam.setting::<Iso>().await.unwrap().value(), Some(800));
    cam.set_setting(&FNumber(800)).await.unwrap();
    assert_eq!(cam.setting::<FNumber>().await.unwrap().to_string(), "f/8.0");
    cam.set_setting(&"+0.7".parse::<ExposureCompensation>().unwrap())
        .await
        .unwrap();
    assert_eq!(
        cam.setting::<ExposureCompensation>().await.unwrap(),
        ExposureCompensation(700)
    );
    assert!("fast".parse::<ShutterSpeed>().is_err());
}

#[test]
fn blocking_api() {
    use sonyctl_camera::Iso;
    use sonyctl_camera::blocking::BlockingCamera;
    let sim = SimulatedCamera::new(
        Profile::builtin("ilce-7sm3").unwrap(),
        SimOptions::default(),
    );
    let mut cam = BlockingCamera::open(
        Link::sim(sim, SimClock::Virtual(Duration::ZERO)),
        CameraOptions::default(),
    )
    .unwrap();
    assert_eq!(cam.properties().unwrap().properties.len(), 320);
    cam.set_setting(&Iso(1600)).unwrap();
    assert_eq!(cam.setting::<Iso>().unwrap(), Iso(1600));
    cam.close().unwrap();
}

/// The property cache: events invalidate it; without events, its age bound is the safety net.
#[tokio::test]
async fn the_cache_follows_events_and_ages_out() {
    let iso = |p: &sonyctl_sony::AllPropInfo| p.get(ISO).unwrap().current.clone();
    let mut cam = open("ilce-7sm3", &["2s:set iso 800"]).await;
    assert_eq!(
        iso(cam
            .cached_properties(Duration::from_secs(60))
            .await
            .unwrap()),
        Value::U32(0x00FF_FFFF)
    );
    let events = cam.wait_events(Duration::from_secs(3)).await;
    assert!(!events.is_empty(), "the dial change raised 0xC203");
    assert_eq!(
        iso(cam
            .cached_properties(Duration::from_secs(60))
            .await
            .unwrap()),
        Value::U32(800)
    );

    // A body that sends no events: the cache serves until it is older than asked.
    let sim = SimulatedCamera::new(
        Profile::builtin("ilce-7sm3").unwrap(),
        SimOptions {
            faults: [sonyctl_sim::Fault::DropEvents].into(),
            actions: vec!["2s:set iso 800".parse().unwrap()],
            ..SimOptions::default()
        },
    );
    let mut cam = Camera::open(
        Link::sim(sim, SimClock::Virtual(Duration::ZERO)),
        CameraOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        iso(cam
            .cached_properties(Duration::from_secs(60))
            .await
            .unwrap()),
        Value::U32(0x00FF_FFFF)
    );
    assert!(cam.wait_events(Duration::from_secs(3)).await.is_empty());
    assert_eq!(
        iso(cam
            .cached_properties(Duration::from_secs(60))
            .await
            .unwrap()),
        Value::U32(0x00FF_FFFF),
        "still young"
    );
    assert_eq!(
        iso(cam.cached_properties(Duration::from_secs(1)).await.unwrap()),
        Value::U32(800),
        "aged out"
    );
}

async fn open_with(model: &str, faults: &[sonyctl_sim::Fault], acts: &[&str]) -> Camera {
    common::open(common::sim(model, faults, acts)).await
}

/// 0x9209 requests the simulated camera has answered so far, as its counters say.
fn prop_reads(cam: &Camera) -> u64 {
    cam.link()
        .simulated()
        .unwrap()
        .all_stats()
        .iter()
        .map(|(_, s)| s.operations.get(&0x9209).copied().unwrap_or(0))
        .sum()
}

/// Set by text on a protocol-300 body: one read before, one after the change event; a body
/// that sends no events is polled instead, and the value still arrives.
#[tokio::test]
async fn set_text_reads_once_and_confirms_on_the_event() {
    for faults in [&[][..], &[sonyctl_sim::Fault::DropEvents]] {
        let mut cam = open_with("ilce-7sm3", faults, &[]).await;
        let reads = prop_reads(&cam);
        let out = cam.set_text("iso", "800").await.unwrap();
        assert_eq!(
            (out.code, out.before, out.after.clone(), out.steps),
            (ISO, Value::U32(0x00FF_FFFF), Value::U32(800), 0),
            "{faults:?}"
        );
        assert_eq!(prop_reads(&cam) - reads, 2, "{faults:?}: 0x9209 requests");
        assert_eq!(out.round_trips, 3, "{faults:?}: read, set, read");
        assert_eq!(cam.get(ISO).await.unwrap().current, Value::U32(800));
    }
}

/// Names as `sonyctl set` takes them (aliases, catalogue names, hex codes) and text as people
/// write it, on both protocols.
#[tokio::test]
async fn set_text_takes_names_and_text_on_both_protocols() {
    const WB: PropertyCode = PropertyCode(0x5005);
    let mut v300 = open("ilce-7sm3", &[]).await;
    for (name, text, code, value) in [
        ("shutter", "1/1000", SHUTTER, shutter(1000)),
        ("F-Number", "f/8", F, Value::U16(800)),
        ("0xD21E", "1600", ISO, Value::U32(1600)),
        ("ev", "+0.7", EV, Value::I16(700)),
        ("WhiteBalance", "daylight", WB, Value::U16(4)),
    ] {
        let out = v300.set_text(name, text).await.unwrap();
        assert_eq!(
            (out.code, out.after),
            (code, value.clone()),
            "{name} {text}"
        );
        assert_eq!(v300.get(code).await.unwrap().current, value);
    }
    let mut v200 = open("ilce-6000", &[]).await;
    for (name, text, code, value) in [
        ("shutter", "1/250", SHUTTER, shutter(250)),
        ("aperture", "8", F, Value::U16(800)),
        ("iso", "800", ISO, Value::U32(800)),
        ("wb", "daylight", WB, Value::U16(4)),
    ] {
        let out = v200.set_text(name, text).await.unwrap();
        assert_eq!(
            (out.code, out.after),
            (code, value.clone()),
            "{name} {text}"
        );
        assert_eq!(v200.get(code).await.unwrap().current, value);
    }
}

/// Each refusal has its kind, so front ends map them mechanically.
#[tokio::test]
async fn set_errors_have_kinds() {
    use sonyctl_camera::SetErrorKind;
    let mut cam = open("ilce-7sm3", &[]).await;
    for name in ["nonsense", "0xD999"] {
        match cam.set_text(name, "1").await {
            Err(e @ SetError::UnknownName(_)) => {
                assert_eq!(e.kind(), SetErrorKind::UnknownName);
                assert!(e.to_string().contains(name), "{e}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    for text in ["fast", "333"] {
        match cam.set_text("iso", text).await {
            Err(e @ SetError::NotAccepted { .. }) => {
                assert_eq!(e.kind(), SetErrorKind::InvalidValue);
                let SetError::NotAccepted {
                    value, accepted, ..
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!(value, text);
                assert!(accepted.iter().any(|a| a == "AUTO"), "{accepted:?}");
                assert!(accepted.iter().any(|a| a == "1600"), "{accepted:?}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // A read-only property, whatever the text.
    for text in ["50", "lots"] {
        match cam.set_text("battery", text).await {
            Err(e @ SetError::ReadOnly { .. }) => assert_eq!(e.kind(), SetErrorKind::ReadOnly),
            other => panic!("{text}: {other:?}"),
        }
    }

    // Display-only in aperture priority.
    let mut cam = open("ilce-7sm3", &["0s:mode a"]).await;
    match cam.set_text("shutter", "1/1000").await {
        Err(e @ SetError::NotSettableNow { .. }) => assert_eq!(e.kind(), SetErrorKind::NotNow),
        other => panic!("{other:?}"),
    }

    // Protocol 200: the battery level is read-only there too; ISO 25 is listed but not
    // selectable.
    let mut cam = open("ilce-6000", &[]).await;
    match cam.set_text("battery", "50").await {
        Err(e @ SetError::ReadOnly { .. }) => assert_eq!(e.kind(), SetErrorKind::ReadOnly),
        other => panic!("{other:?}"),
    }
    match cam.set_text("iso", "25").await {
        Err(e @ SetError::NotReached { .. }) => assert_eq!(e.kind(), SetErrorKind::NotNow),
        other => panic!("{other:?}"),
    }
}

/// DeviceBusy until the retries run out is `Busy`, not a camera failure: here the owner is in
/// the middle of a 30-second exposure.
#[tokio::test]
async fn a_camera_busy_exposing_refuses_with_busy() {
    use sonyctl_camera::SetErrorKind;
    let mut cam = open("ilce-7sm3", &["0s:set shutter 30\"", "1s:shutter"]).await;
    cam.link_mut().sleep(Duration::from_secs(2)).await;
    match cam.set_text("iso", "800").await {
        Err(e @ SetError::Busy) => {
            assert_eq!(e.kind(), SetErrorKind::Busy);
            assert!(e.to_string().contains("busy"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Once the exposure is over, the same request goes through.
    cam.link_mut().sleep(Duration::from_secs(60)).await;
    assert_eq!(
        cam.set_text("iso", "800").await.unwrap().after,
        Value::U32(800)
    );
}

/// A raw number as on the wire, by name: taken in the descriptor's data type, refused with the
/// values settable now when the camera does not list it or it does not fit the type, and the
/// same refusals as by text for what cannot be set.
#[tokio::test]
async fn set_raw_takes_the_wire_value_in_the_descriptors_type() {
    let mut cam = open("ilce-7sm3", &[]).await;
    let out = cam.set_raw("iso", 800).await.unwrap();
    assert_eq!((out.code, out.after), (ISO, Value::U32(800)));
    let out = cam.set_raw("ev", -700).await.unwrap();
    assert_eq!((out.code, out.after), (EV, Value::I16(-700)));
    for raw in [801, -1, 1 << 40] {
        match cam.set_raw("iso", raw).await {
            Err(SetError::NotAccepted {
                value, accepted, ..
            }) => {
                assert_eq!(value, raw.to_string());
                assert!(accepted.iter().any(|a| a == "1600"), "{accepted:?}");
            }
            other => panic!("{raw}: {other:?}"),
        }
    }
    assert!(matches!(
        cam.set_raw("nonsense", 1).await,
        Err(SetError::UnknownName(n)) if n == "nonsense"
    ));
    assert!(matches!(
        cam.set_raw("battery", 1 << 40).await,
        Err(SetError::ReadOnly { .. })
    ));
}

/// The camera in words, from one read: what the simulated body reports.
#[tokio::test]
async fn info_describes_the_body() {
    let mut cam = open("ilce-7sm3", &[]).await;
    let info = cam.info().await.unwrap();
    assert_eq!(info.model, "ILCE-7SM3");
    assert_eq!(info.protocol, "300");
    assert_eq!(info.serial, cam.device_info().serial_number);
    let battery = cam.get(prop::BATTERY_REMAINING).await.unwrap();
    assert_eq!(
        info.battery,
        sonyctl_sony::format_value(battery.code, &battery.current)
    );
    assert_eq!(info.pending_images, "none");
}
