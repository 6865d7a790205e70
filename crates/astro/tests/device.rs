//! The astronomy camera device through the camera service on the in-process simulated camera:
//! listed speeds and bulbs on the virtual clock, stop and abort and noise reduction on a fast
//! real clock (60 camera seconds a second, so a client's call lands inside the exposure), a
//! connection lost mid-exposure, the refusals, gain, frames against the decoder, the focuser,
//! and the file format set for the exposures and restored.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::time::{Duration, SystemTime};

use sonyctl_astro::exposure::Plan;
use sonyctl_astro::state::AstroState;
use sonyctl_astro::{
    AstroCamera, AstroError, DeviceOptions, ExposureRequest, Pixels, ReadoutMode, Subframe,
};
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_ptp::PropertyCode;
use sonyctl_service::{CameraService, ServiceHandle, ServiceOptions};
use sonyctl_sim::{OwnerAction, Profile, ScheduledAction, SimOptions, SimulatedCamera};
use sonyctl_sony::bodies;

const FILE_FORMAT: PropertyCode = PropertyCode(0xD253);
const COMPRESSION: PropertyCode = PropertyCode(0x5004);

async fn service(body: &str, clock: SimClock, sim: SimOptions) -> ServiceHandle {
    let sim = SimulatedCamera::new(Profile::builtin(body).unwrap(), sim);
    let cam = Camera::open(Link::sim(sim, clock), CameraOptions::default())
        .await
        .unwrap();
    CameraService::spawn(cam, ServiceOptions::default())
}

fn virtual_clock() -> SimClock {
    SimClock::Virtual(Duration::ZERO)
}

/// A connected device on `body`, keeping its files in a folder of the test's. The lens is in
/// manual focus, as at the telescope: in an autofocus mode the body focuses after the full
/// press before it opens the shutter, so a bulb would be short by the focusing time (the
/// simulated camera does so too).
async fn device(body: &str, clock: SimClock, sim: SimOptions) -> (AstroCamera, tempfile::TempDir) {
    let h = service(body, clock, sim).await;
    if h.get("0x500A").await.unwrap().desc.is_settable() {
        h.set("0x500A", "MF").await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let options = DeviceOptions {
        output: Some(dir.path().to_path_buf()),
        ..DeviceOptions::default()
    };
    let cam = AstroCamera::new(h, options);
    cam.connect().await.unwrap();
    (cam, dir)
}

fn request(duration: f64, readout: ReadoutMode, (w, h): (u32, u32)) -> ExposureRequest {
    ExposureRequest {
        duration,
        light: true,
        subframe: Some(Subframe::full(w, h)),
        bin: (1, 1),
        readout,
    }
}

/// The whole frame, whatever its size.
fn full(duration: f64, readout: ReadoutMode) -> ExposureRequest {
    ExposureRequest {
        subframe: None,
        ..request(duration, readout, (1, 1))
    }
}

/// Polls the device's state until `done` holds; every state seen, in order, without repeats.
async fn until(cam: &AstroCamera, done: impl Fn(&AstroState) -> bool) -> Vec<AstroState> {
    let mut seen: Vec<AstroState> = Vec::new();
    let mut changes = cam.service().status_changes();
    let wait = async {
        loop {
            let s = cam.state().unwrap();
            let kind = std::mem::discriminant(&s);
            if seen.last().map(std::mem::discriminant) != Some(kind) {
                seen.push(s.clone());
            }
            if done(&s) {
                return;
            }
            // Woken by the service's next report; the device's own phases (preparing,
            // decoding) are seen at the next tick.
            let woken = tokio::time::timeout(Duration::from_millis(20), changes.changed()).await;
            if let Ok(Err(_)) = woken {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .unwrap_or_else(|_| panic!("state never came; saw {seen:?}"));
    seen
}

async fn until_idle(cam: &AstroCamera) -> Vec<AstroState> {
    until(cam, |s| !s.is_busy()).await
}

/// The simulated camera's exposures so far.
async fn produced(h: &ServiceHandle) -> Vec<Duration> {
    h.with_camera(|cam| {
        let sim = cam.link().simulated().unwrap();
        sim.produced().iter().map(|p| p.exposure).collect()
    })
    .await
    .unwrap()
}

async fn owner(h: &ServiceHandle, action: OwnerAction) {
    h.with_camera(move |cam| {
        cam.link_mut()
            .simulated_mut()
            .unwrap()
            .owner(&action)
            .unwrap();
    })
    .await
    .unwrap();
    // The read after the command has the owner's change in the snapshot.
    h.properties().await.unwrap();
}

async fn value(h: &ServiceHandle, code: PropertyCode) -> Option<u64> {
    h.get(&format!("0x{:04X}", code.0))
        .await
        .unwrap()
        .value()
        .as_u64()
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A 2 s exposure on the ILCE-7SM3 uses its listed 2": it ends Idle with an image whose
/// samples are the decoder's of the kept ARW, the size the body table's; the body was put on
/// RAW for it and is back on JPEG after the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_speed_gives_the_decoded_raw_and_the_format_is_restored() {
    let (cam, dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    let body = bodies::body("ILCE-7SM3").unwrap();
    let sensor = cam.sensor().unwrap();
    assert_eq!(sensor.raw_size, Some(body.active));
    assert_eq!(sensor.jpeg_size, Some(body.effective));
    assert_eq!(sensor.max_adu, Some(16383));
    assert!((sensor.pixel_size_um.unwrap() - 8.396).abs() < 0.001);
    assert!(sensor.sensor_name.unwrap().contains("35.6"));
    assert_eq!(
        cam.readout_modes().unwrap(),
        [ReadoutMode::Raw, ReadoutMode::Jpeg]
    );
    assert_eq!(value(&h, FILE_FORMAT).await, Some(3), "JPEG at the start");
    // Before any exposure: no duration, no start, no image.
    assert!(matches!(
        cam.last_exposure_duration(),
        Err(AstroError::ValueNotSet(_))
    ));
    assert!(matches!(
        cam.last_exposure_start(),
        Err(AstroError::ValueNotSet(_))
    ));
    assert!(!cam.image_ready().unwrap());
    assert!(matches!(cam.image(), Err(AstroError::ValueNotSet(_))));

    let before = SystemTime::now();
    cam.start_exposure(request(2.0, ReadoutMode::Raw, body.active))
        .await
        .unwrap();
    let seen = until_idle(&cam).await;
    assert_eq!(seen.last(), Some(&AstroState::Idle), "{seen:?}");
    assert!(cam.image_ready().unwrap());
    assert_eq!(cam.last_exposure_duration().unwrap(), 2.0);
    let start = cam.last_exposure_start().unwrap();
    assert!(start >= before && start <= SystemTime::now());
    assert_eq!(produced(&h).await, [Duration::from_secs(2)]);
    assert_eq!(
        value(&h, FILE_FORMAT).await,
        Some(1),
        "RAW for the exposure"
    );

    let frame = cam.image().unwrap();
    assert_eq!(frame.plan, Plan::Listed(Duration::from_secs(2)));
    assert_eq!(frame.rank(), 2);
    assert_eq!((frame.width, frame.height), body.active);
    assert_eq!(frame.model, "ILCE-7SM3");
    let path = frame.path.clone().unwrap();
    assert_eq!(files(dir.path()), std::slice::from_ref(&path));
    let decoded = sonyctl_raw::decode(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(frame.pixels, Pixels::Bayer(decoded.samples.clone()));
    assert_eq!(frame.cfa, Some(decoded.info.cfa));
    assert_eq!(
        frame.max_adu,
        u32::from(decoded.info.levels.as_ref().unwrap().white)
    );
    assert_eq!(
        frame.black_level,
        Some(decoded.info.levels.as_ref().unwrap().black)
    );
    assert_eq!(frame.bayer_offset(), Some((0, 0)));
    // Alpaca's order: x outer, y fastest.
    let mut alpaca = frame.alpaca_order();
    assert_eq!(alpaca.next(), decoded.get(0, 0).map(u32::from));
    assert_eq!(alpaca.next(), decoded.get(0, 1).map(u32::from));
    assert!(cam.sensor().unwrap().from_frame);

    cam.disconnect().await.unwrap();
    assert_eq!(value(&h, FILE_FORMAT).await, Some(3), "restored");
    assert!(matches!(cam.state(), Err(AstroError::NotConnected)));
    // The frame stays for a client that reads it late.
    assert!(cam.last_frame().is_some());
}

/// A bulb of 45 s (above the 30 s threshold), 1.5 s (between listed speeds above 1 s) and a
/// listed 1/4 s, on the virtual clock: the body exposes each as planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulbs_and_listed_speeds_as_planned() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    for (seconds, plan) in [
        (45.0, Plan::Bulb(Duration::from_secs(45))),
        (1.5, Plan::Bulb(Duration::from_millis(1500))),
        (0.25, Plan::Listed(Duration::from_millis(250))),
        (0.0, Plan::Listed(Duration::from_micros(125))),
    ] {
        cam.start_exposure(full(seconds, ReadoutMode::Jpeg))
            .await
            .unwrap();
        until_idle(&cam).await;
        let frame = cam.image().unwrap();
        assert_eq!(frame.plan, plan, "{seconds} s");
        assert_eq!(
            cam.last_exposure_duration().unwrap(),
            plan.actual().as_secs_f64()
        );
        let exposed = *produced(&h).await.last().unwrap();
        assert!(
            exposed.abs_diff(plan.actual()) <= Duration::from_millis(20),
            "{seconds} s: exposed {exposed:?}"
        );
    }
    assert_eq!(produced(&h).await.len(), 4);
}

/// JPEG readout: rank 3, the JPEG's size, and the format left as it was (the body was on JPEG).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jpeg_frame_is_rgb() {
    let (cam, dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    let size = cam.camera_size(ReadoutMode::Raw).unwrap();
    cam.start_exposure(full(2.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    until_idle(&cam).await;
    let frame = cam.image().unwrap();
    assert_eq!(frame.rank(), 3);
    assert_eq!(frame.readout, ReadoutMode::Jpeg);
    assert_eq!(frame.max_adu, 255);
    assert_eq!(frame.cfa, None);
    let Pixels::Rgb(rgb) = &frame.pixels else {
        panic!("not RGB")
    };
    assert_eq!(rgb.len(), frame.width as usize * frame.height as usize * 3);
    // Clamped to the JPEG's size: the request was the RAW area.
    assert_eq!(frame.subframe, Subframe::full(frame.width, frame.height));
    assert!(frame.path.as_ref().unwrap().starts_with(dir.path()));
    assert_eq!(value(&h, FILE_FORMAT).await, Some(3));
    // The JPEG's size is now the file's; the RAW area stays.
    assert_eq!(
        cam.camera_size(ReadoutMode::Jpeg).unwrap(),
        (frame.width, frame.height)
    );
    assert_eq!(cam.camera_size(ReadoutMode::Raw).unwrap(), size);
}

/// Stop closes a bulb early and keeps the image; abort discards it and goes back to Idle; an
/// abort or stop while idle is no error. The bulbs are 600 camera seconds (10 s at 60 camera
/// seconds a second): a stop or abort has all that time to land, however loaded the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_keeps_the_image_and_abort_discards_it() {
    let (cam, _dir) = device("ilce-7sm3", SimClock::real(60.0), SimOptions::default()).await;
    let h = cam.service().clone();
    cam.abort_exposure().unwrap();
    cam.stop_exposure().unwrap();

    cam.start_exposure(full(600.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    until(&cam, |s| matches!(s, AstroState::Exposing { .. })).await;
    cam.stop_exposure().unwrap();
    until_idle(&cam).await;
    assert!(cam.image_ready().unwrap());
    let stopped = cam.image().unwrap();
    assert!(
        stopped.duration < Duration::from_secs(599),
        "{:?}",
        stopped.duration
    );
    assert_eq!(
        cam.last_exposure_duration().unwrap(),
        stopped.duration.as_secs_f64()
    );

    cam.start_exposure(full(600.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    assert!(
        !cam.image_ready().unwrap(),
        "a new exposure clears ImageReady"
    );
    until(&cam, |s| matches!(s, AstroState::Exposing { .. })).await;
    cam.abort_exposure().unwrap();
    let seen = until_idle(&cam).await;
    assert_eq!(cam.state().unwrap(), AstroState::Idle, "{seen:?}");
    assert!(!cam.image_ready().unwrap());
    assert!(cam.last_error().is_none());
    // The stopped frame went when the next exposure started; the aborted one never came.
    assert!(cam.last_frame().is_none());
    let exposures = produced(&h).await;
    assert_eq!(exposures.len(), 2, "{exposures:?} {seen:?}");
    assert!(exposures[1] < Duration::from_secs(599));
    cam.abort_exposure().unwrap();
}

/// Long-exposure noise reduction shows as Reading (CameraState 3) after the shutter closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noise_reduction_shows_as_reading() {
    let (cam, _dir) = device("ilce-7sm3", SimClock::real(60.0), SimOptions::default()).await;
    let h = cam.service().clone();
    owner(&h, OwnerAction::Set("lenr".into(), "on".into())).await;
    cam.start_exposure(full(40.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    let seen = until_idle(&cam).await;
    let exposing = seen
        .iter()
        .position(|s| matches!(s, AstroState::Exposing { .. }))
        .unwrap();
    let reading = seen.iter().position(|s| *s == AstroState::Reading).unwrap();
    assert!(exposing < reading, "{seen:?}");
    assert!(cam.image_ready().unwrap());
}

/// The cable pulled mid-bulb: the exposure ends in an error saying so; once the service has
/// reconnected, the next exposure works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_mid_exposure_is_an_error_and_the_next_works() {
    let sim = SimOptions {
        actions: vec![ScheduledAction {
            delay: Duration::from_secs(30),
            action: OwnerAction::Unplug,
        }],
        ..SimOptions::default()
    };
    let h = service("ilce-7sm3", virtual_clock(), sim).await;
    h.set("0x500A", "MF").await.unwrap();
    let mut options = DeviceOptions::default();
    // The capture gives up at once rather than reconnecting inside the shot.
    options.capture.reconnect_for = Duration::ZERO;
    options.capture.max_reconnects = 0;
    let cam = AstroCamera::new(h.clone(), options);
    cam.connect().await.unwrap();
    cam.start_exposure(full(120.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    let seen = until_idle(&cam).await;
    let AstroState::Error(message) = cam.state().unwrap() else {
        panic!("no error: {seen:?}")
    };
    assert!(message.contains("connection"), "{message}");
    assert_eq!(cam.last_error(), Some(message));
    assert!(!cam.image_ready().unwrap());
    // The service's watch reconnects.
    let mut status = h.status_changes();
    tokio::time::timeout(Duration::from_secs(60), status.wait_for(|s| s.connected))
        .await
        .unwrap()
        .unwrap();
    cam.start_exposure(full(2.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    until_idle(&cam).await;
    assert_eq!(cam.state().unwrap(), AstroState::Idle);
    assert!(cam.image_ready().unwrap());
}

/// What start_exposure refuses, before anything reaches the camera.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    let (w, hgt) = cam.camera_size(ReadoutMode::Raw).unwrap();
    let base = request(0.1, ReadoutMode::Raw, (w, hgt));
    let invalid = |r: Result<(), AstroError>| matches!(r, Err(AstroError::InvalidValue(_)));
    assert!(invalid(
        cam.start_exposure(ExposureRequest {
            duration: -1.0,
            ..base
        })
        .await
    ));
    assert!(invalid(
        cam.start_exposure(ExposureRequest {
            duration: f64::NAN,
            ..base
        })
        .await
    ));
    assert!(invalid(
        cam.start_exposure(ExposureRequest {
            duration: 1e9,
            ..base
        })
        .await
    ));
    assert!(invalid(
        cam.start_exposure(ExposureRequest {
            bin: (2, 2),
            ..base
        })
        .await
    ));
    for sub in [
        Subframe {
            num_x: w + 1,
            ..Subframe::full(w, hgt)
        },
        Subframe {
            num_y: hgt + 1,
            ..Subframe::full(w, hgt)
        },
        Subframe {
            start_x: w + 1,
            num_x: 1,
            ..Subframe::full(w, hgt)
        },
        Subframe {
            start_y: hgt + 1,
            num_y: 1,
            ..Subframe::full(w, hgt)
        },
        Subframe {
            num_x: 0,
            ..Subframe::full(w, hgt)
        },
    ] {
        assert!(
            invalid(
                cam.start_exposure(ExposureRequest {
                    subframe: Some(sub),
                    ..base
                })
                .await
            ),
            "{sub:?}"
        );
    }
    assert!(produced(&h).await.is_empty());

    // One at a time.
    cam.start_exposure(base).await.unwrap();
    assert!(matches!(
        cam.start_exposure(base).await,
        Err(AstroError::InvalidOperation(_))
    ));
    until_idle(&cam).await;

    // A subframe is a view of the frame.
    let sub = Subframe {
        start_x: 11,
        start_y: 20,
        num_x: 100,
        num_y: 50,
    };
    cam.start_exposure(ExposureRequest {
        subframe: Some(sub),
        ..base
    })
    .await
    .unwrap();
    until_idle(&cam).await;
    let frame = cam.image().unwrap();
    assert_eq!(frame.subframe, sub);
    assert_eq!((frame.width, frame.height), (w, hgt));
    let Pixels::Bayer(all) = &frame.pixels else {
        panic!()
    };
    let first: Vec<u32> = frame.alpaca_order().take(3).collect();
    let at = |x: usize, y: usize| u32::from(all[y * w as usize + x]);
    assert_eq!(first, [at(11, 20), at(11, 21), at(11, 22)]);
    assert_eq!(frame.rows().count(), 50);
    assert_eq!(frame.subframe_cfa(), Some(sonyctl_raw::CfaPattern::Grbg));

    // Not on M.
    owner(&h, OwnerAction::Mode("A".into())).await;
    match cam.start_exposure(base).await {
        Err(AstroError::InvalidOperation(m)) => assert_eq!(m, "set the mode dial to M"),
        other => panic!("{other:?}"),
    }
    assert_eq!(produced(&h).await.len(), 2);

    // Not connected.
    cam.disconnect().await.unwrap();
    assert_eq!(
        cam.start_exposure(base).await,
        Err(AstroError::NotConnected)
    );
    assert_eq!(cam.gains().unwrap_err(), AstroError::NotConnected);
}

/// Gain is the ISO: AUTO is no gain, a set gain reads back, out of range is refused, and a
/// body whose ISO is display-only (iAuto) refuses with InvalidOperation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gain_is_the_iso() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let gains = cam.gains().unwrap();
    assert!(!gains.gains.is_empty());
    assert!(gains.labels().iter().all(|l| l.starts_with("ISO ")));
    assert!(
        matches!(cam.gain(), Err(AstroError::ValueNotSet(_))),
        "AUTO"
    );
    let i800 = gains.labels().iter().position(|l| l == "ISO 800").unwrap();
    cam.set_gain(i800 as i64).await.unwrap();
    assert_eq!(cam.gain().unwrap(), i800);
    assert_eq!(cam.get_property("iso").await.unwrap(), "800");
    assert!(matches!(
        cam.set_gain(gains.gains.len() as i64).await,
        Err(AstroError::InvalidValue(_))
    ));
    assert!(matches!(
        cam.set_gain(-1).await,
        Err(AstroError::InvalidValue(_))
    ));
    assert_eq!(cam.set_property("iso", "1600").await.unwrap(), "1600");
    assert_eq!(cam.gain().unwrap(), gains.index_of(1600).unwrap());

    let (a6000, _dir) = device("ilce-6000", virtual_clock(), SimOptions::default()).await;
    let h = a6000.service().clone();
    let gains = a6000.gains().unwrap();
    let i = gains.index_of(400).unwrap();
    a6000.set_gain(i as i64).await.unwrap();
    assert_eq!(a6000.gain().unwrap(), i);
    owner(&h, OwnerAction::Mode("iAuto".into())).await;
    assert!(matches!(
        a6000.set_gain(0).await,
        Err(AstroError::InvalidOperation(_))
    ));
}

/// A protocol-200 body (ILCE-6000): its shutter is a range, so its speeds are the third-stop
/// scale; a listed 2 s is stepped to, RAW is set through 0x5004 and restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_200_body_steps_to_a_listed_speed_and_shoots_raw() {
    let (cam, _dir) = device("ilce-6000", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    assert_eq!(cam.exposure_min().unwrap(), 1.0 / 4000.0);
    assert_eq!(cam.exposure_max().unwrap(), 86_400.0);
    assert_eq!(cam.exposure_resolution().unwrap(), 0.001);
    assert_eq!(value(&h, COMPRESSION).await, Some(0x03));
    let size = cam.camera_size(ReadoutMode::Raw).unwrap();
    assert_eq!(size, (6024, 4024));
    cam.start_exposure(request(2.0, ReadoutMode::Raw, size))
        .await
        .unwrap();
    until_idle(&cam).await;
    assert_eq!(cam.last_error(), None);
    let frame = cam.image().unwrap();
    assert_eq!(frame.plan, Plan::Listed(Duration::from_secs(2)));
    assert_eq!((frame.width, frame.height), size);
    assert_eq!(produced(&h).await, [Duration::from_secs(2)]);
    assert_eq!(cam.get_property("shutter").await.unwrap(), "2\"");
    assert_eq!(value(&h, COMPRESSION).await, Some(0x10));
    cam.disconnect().await.unwrap();
    assert_eq!(value(&h, COMPRESSION).await, Some(0x03));
}

/// Without `--output`, files go to a private folder and are deleted once decoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_output_folder_nothing_is_kept() {
    let h = service("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let cam = AstroCamera::new(h, DeviceOptions::default());
    cam.connect().await.unwrap();
    let size = cam.camera_size(ReadoutMode::Raw).unwrap();
    cam.start_exposure(request(2.0, ReadoutMode::Raw, size))
        .await
        .unwrap();
    until_idle(&cam).await;
    let frame = cam.image().unwrap();
    assert_eq!(frame.path, None);
    assert_eq!(frame.rank(), 2);
}

/// Manual focus only; moves clamp, relative moves are bounded by MaxIncrement, the counted
/// position follows what was sent (the simulated lens moves as much), and halt stops a move
/// between step requests.
#[tokio::test]
async fn the_focuser() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    let f = cam.focuser().clone();
    assert!(f.absolute());
    assert_eq!(f.position(), Err(AstroError::NotConnected));
    f.connect().await.unwrap();
    assert_eq!(f.position().unwrap(), 1500);
    h.set("0x500A", "AF-A").await.unwrap();
    match f.move_to(10).await {
        Err(AstroError::InvalidOperation(m)) => assert!(m.contains("manual focus"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(!f.is_moving());
    h.set("0x500A", "MF").await.unwrap();

    let lens = |h: ServiceHandle| async move {
        h.with_camera(|cam| cam.link().simulated().unwrap().focus_position())
            .await
            .unwrap()
    };
    let start = lens(h.clone()).await;
    let mut changes = f.changes();
    f.move_by(13).await.unwrap();
    assert!(f.is_moving());
    changes.wait_for(|s| !s.moving).await.unwrap();
    assert_eq!(f.position().unwrap(), 1513);
    assert_eq!(lens(h.clone()).await, start + 13);
    f.move_by(-6).await.unwrap();
    changes.wait_for(|s| !s.moving).await.unwrap();
    assert_eq!(f.position().unwrap(), 1507);
    assert_eq!(lens(h.clone()).await, start + 7);

    // Out of range: clamped, never an error.
    f.move_to(-50).await.unwrap();
    changes.wait_for(|s| !s.moving).await.unwrap();
    assert_eq!(f.position().unwrap(), 0);
    f.move_to(i64::from(f.max_step()) + 100).await.unwrap();
    changes.wait_for(|s| !s.moving).await.unwrap();
    assert_eq!(f.position().unwrap(), f.max_step());
    assert!(matches!(
        f.move_by(i64::from(f.max_increment()) + 1).await,
        Err(AstroError::InvalidValue(_))
    ));

    // Halt between requests: the move ends short of its target.
    f.move_to(0).await.unwrap();
    changes
        .wait_for(|s| s.position < f.max_step())
        .await
        .unwrap();
    f.halt();
    changes.wait_for(|s| !s.moving).await.unwrap();
    let halted = f.position().unwrap();
    assert!(halted > 0 && halted < f.max_step(), "{halted}");
    assert!(!f.is_moving());
    assert_eq!(f.last_error(), None);

    // Relative: no position, moves by steps.
    f.set_absolute(false);
    assert!(matches!(f.position(), Err(AstroError::NotImplemented(_))));
    f.move_by(-7).await.unwrap();
    changes.wait_for(|s| !s.moving).await.unwrap();
    assert_eq!(f.counted_position(), halted - 7);

    // The camera's session is not the focuser's.
    cam.disconnect().await.unwrap();
    f.move_by(2).await.unwrap();
    changes.wait_for(|s| !s.moving).await.unwrap();
    assert_eq!(f.counted_position(), halted - 5);
    cam.connect().await.unwrap();
    assert_eq!(f.counted_position(), halted - 5);
    f.disconnect();
    assert_eq!(f.move_by(1).await, Err(AstroError::NotConnected));
    assert!(cam.connected());
    // A new connection counts from the middle again.
    f.set_absolute(true);
    f.connect().await.unwrap();
    assert_eq!(f.position().unwrap(), 1500);
}

/// Reading and setting any property by name goes through the service and keeps its kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_by_name() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    assert_eq!(cam.get_property("0x500E").await.unwrap(), "M");
    assert!(matches!(
        cam.get_property("no such thing").await,
        Err(AstroError::InvalidValue(_))
    ));
    assert!(matches!(
        cam.set_property("iso", "banana").await,
        Err(AstroError::InvalidValue(_))
    ));
}

/// A disconnect right after a start: the exposure task is stopped before it reaches the
/// camera or ended by the abort, and awaited, so the file format it set for RAW is restored
/// after it, never before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_while_preparing_restores_the_format_last() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    assert_eq!(value(&h, FILE_FORMAT).await, Some(3));
    for _ in 0..5 {
        cam.start_exposure(full(2.0, ReadoutMode::Raw))
            .await
            .unwrap();
        cam.disconnect().await.unwrap();
        assert_eq!(value(&h, FILE_FORMAT).await, Some(3), "JPEG again");
        cam.connect().await.unwrap();
    }
    // Nothing runs: the next exposure starts.
    cam.start_exposure(full(2.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    until_idle(&cam).await;
    assert!(cam.image_ready().unwrap());
}

/// An abort before the shutter opens: nothing is shot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abort_while_preparing_shoots_nothing() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    cam.start_exposure(full(2.0, ReadoutMode::Raw))
        .await
        .unwrap();
    cam.abort_exposure().unwrap();
    until_idle(&cam).await;
    assert_eq!(cam.state().unwrap(), AstroState::Idle);
    assert!(!cam.image_ready().unwrap());
    assert!(produced(&h).await.len() <= 1);
}

/// StopExposure at a listed speed, at once after the start: the body times it, so it runs to
/// its end and the image is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_speed_stopped_at_once_keeps_its_image() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    cam.start_exposure(full(2.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    cam.stop_exposure().unwrap();
    until_idle(&cam).await;
    assert_eq!(cam.state().unwrap(), AstroState::Idle);
    assert!(cam.image_ready().unwrap());
    assert_eq!(cam.last_exposure_duration().unwrap(), 2.0);
    assert_eq!(produced(&h).await, [Duration::from_secs(2)]);
    let e = cam.exposure().unwrap();
    assert!(e.image_ready);
    assert_eq!(e.percent_completed, 100, "complete once the image is ready");
}

/// The body's shutter speed turned on the camera just before the start, the service's
/// snapshot not yet read again: the speed the exposure needs is still set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_speed_changed_on_the_body_is_set_back() {
    let (cam, _dir) = device("ilce-7sm3", virtual_clock(), SimOptions::default()).await;
    let h = cam.service().clone();
    cam.start_exposure(full(2.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    until_idle(&cam).await;
    // The dial, without a read of the service's after it.
    h.with_camera(|c| {
        c.link_mut()
            .simulated_mut()
            .unwrap()
            .owner(&OwnerAction::Set("shutter".into(), "1/3".into()))
            .unwrap();
    })
    .await
    .unwrap();
    cam.start_exposure(full(2.0, ReadoutMode::Jpeg))
        .await
        .unwrap();
    until_idle(&cam).await;
    assert_eq!(
        produced(&h).await,
        [Duration::from_secs(2), Duration::from_secs(2)]
    );
    assert_eq!(cam.last_exposure_duration().unwrap(), 2.0);
}

/// A body the table does not know: no size before its first frame (ValueNotSet), a full
/// frame exposes, and the file's size and white level are known after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_body_learns_its_size_from_the_first_frame() {
    let mut profile = Profile::builtin("ilce-7sm3").unwrap();
    profile.device_info.model = "ILCE-0000".into();
    assert!(bodies::body("ILCE-0000").is_none());
    let sim = SimulatedCamera::new(profile, SimOptions::default());
    let cam = Camera::open(Link::sim(sim, virtual_clock()), CameraOptions::default())
        .await
        .unwrap();
    let h = CameraService::spawn(cam, ServiceOptions::default());
    h.set("0x500A", "MF").await.unwrap();
    let cam = AstroCamera::new(h, DeviceOptions::default());
    cam.connect().await.unwrap();
    assert!(matches!(
        cam.camera_size(ReadoutMode::Raw),
        Err(AstroError::ValueNotSet(_))
    ));
    assert_eq!(cam.sensor().unwrap().max_adu, None);
    cam.start_exposure(full(2.0, ReadoutMode::Raw))
        .await
        .unwrap();
    until_idle(&cam).await;
    let frame = cam.image().unwrap();
    assert_eq!(
        cam.camera_size(ReadoutMode::Raw).unwrap(),
        (frame.width, frame.height)
    );
    assert_eq!(cam.sensor().unwrap().max_adu, Some(frame.max_adu));
    assert!(cam.sensor().unwrap().from_frame);
}
