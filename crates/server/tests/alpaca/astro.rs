//! End to end: the Alpaca server over the real adapter, the astronomy device and the camera
//! service, on the simulated camera in this process. Planning on the virtual clock; the state
//! sequences (Exposing, Reading, stop, abort) on a fast real clock (60 camera seconds a
//! second) so that a client's poll lands inside the exposure. Replies are read as in the rest
//! of these tests: JSON as `serde_json::Value` (the large ImageArray with the number reader
//! below), ImageBytes with the test's own header parser.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sonyctl_astro::DeviceOptions;
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_server::alpaca::astro::AstroBody;
use sonyctl_server::alpaca::{AlpacaConfig, AlpacaDevices, AlpacaServer};
use sonyctl_service::{CameraService, ExposureState, ServiceHandle, ServiceOptions};
use sonyctl_sim::{OwnerAction, Profile, ScheduledAction, SimOptions, SimulatedCamera};
use sonyctl_sony::bodies;
use tokio::sync::oneshot;

use super::{Http, config, start};

const CAM: &str = "/api/v1/camera/0";
const FOC: &str = "/api/v1/focuser/0";

struct Sim {
    http: Http,
    service: ServiceHandle,
    output: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

impl std::ops::Deref for Sim {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

/// The ILCE-7SM3 simulated in this process, its lens in manual focus as at the telescope,
/// served over Alpaca with its files kept (`--output`); `tune` changes the device options.
async fn sim(clock: SimClock, sim: SimOptions, tune: impl FnOnce(&mut DeviceOptions)) -> Sim {
    sim_of(Profile::builtin("ilce-7sm3").unwrap(), clock, sim, tune).await
}

/// As [`sim`], of the body `profile` describes.
async fn sim_of(
    profile: Profile,
    clock: SimClock,
    sim: SimOptions,
    tune: impl FnOnce(&mut DeviceOptions),
) -> Sim {
    let camera = SimulatedCamera::new(profile, sim);
    let cam = Camera::open(Link::sim(camera, clock), CameraOptions::default())
        .await
        .unwrap();
    let service = CameraService::spawn(cam, ServiceOptions::default());
    if service.get("0x500A").await.unwrap().desc.is_settable() {
        service.set("0x500A", "MF").await.unwrap();
    }
    let output = tempfile::tempdir().unwrap();
    let mut options = DeviceOptions {
        output: Some(output.path().to_path_buf()),
        ..DeviceOptions::default()
    };
    tune(&mut options);
    let body = AstroBody::new(service.clone(), options).await.unwrap();
    let mut devices = AlpacaDevices::new();
    body.add_to(&mut devices);
    let config: AlpacaConfig = config();
    let bound = AlpacaServer::bind(config, devices).await.unwrap();
    let (stop, port) = start(bound).await;
    Sim {
        http: Http {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        },
        service,
        output,
        _stop: stop,
    }
}

fn virtual_clock() -> SimClock {
    SimClock::Virtual(Duration::ZERO)
}

/// Waits (bounded) until `done` holds of the value at `path`; every distinct value seen.
async fn poll(http: &Http, path: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let wait = async {
        loop {
            let v = http.value(path).await;
            if seen.last() != Some(&v) {
                seen.push(v.clone());
            }
            if done(&v) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .is_err()
    {
        panic!("{path} never came; saw {seen:?}");
    }
    seen
}

impl Sim {
    async fn connect(&self, kind: &str) {
        self.ok(&format!("/api/v1/{kind}/0/connect"), "").await;
        poll(self, &format!("/api/v1/{kind}/0/connecting"), |v| {
            v == false
        })
        .await;
        assert_eq!(
            self.value(&format!("/api/v1/{kind}/0/connected")).await,
            true
        );
    }

    /// StartExposure, then the CameraStates seen until Idle (or Error).
    async fn expose(&self, seconds: f64) -> Vec<i64> {
        self.ok(
            &format!("{CAM}/startexposure"),
            &format!("Duration={seconds}&Light=true"),
        )
        .await;
        // The device is busy (Waiting at least) once the start is accepted.
        let seen = poll(self, &format!("{CAM}/camerastate"), |v| v == 0 || v == 5).await;
        seen.iter().map(|v| v.as_i64().unwrap()).collect()
    }

    /// Waits for ImageReady after an exposure that must succeed.
    async fn until_ready(&self) {
        poll(self, &format!("{CAM}/imageready"), |v| v == true).await;
        assert_eq!(self.value(&format!("{CAM}/camerastate")).await, 0);
    }

    /// The newest file kept, of extension `ext`.
    fn newest(&self, ext: &str) -> PathBuf {
        newest(self.output.path(), ext)
    }
}

fn newest(dir: &Path, ext: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap_or_else(|| panic!("no .{ext} kept in {}", dir.display()))
}

/// `Value` of an ImageArray JSON reply as `[x][y]` numbers, read by hand (a 12-megapixel
/// frame as `serde_json::Value` would take gigabytes): the dimensions and the values in
/// order. `Type` and `Rank` are checked to come first.
async fn image_json_flat(http: &Http, path: &str) -> (i64, Vec<usize>, Vec<u32>) {
    let r = http
        .client
        .get(format!("{}{path}", http.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    let rank: i64 = match text.as_bytes().get(..20) {
        Some(b) if b.starts_with(br#"{"Type":2,"Rank":2,"#) => 2,
        Some(b) if b.starts_with(br#"{"Type":2,"Rank":3,"#) => 3,
        _ => panic!("{}", &text[..80.min(text.len())]),
    };
    let at = text.find(r#""Value":"#).unwrap() + 8;
    let mut depth = 0usize;
    // The length of each dimension, from the first array of each depth.
    let mut dims: Vec<usize> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut values = Vec::new();
    let mut number: Option<u32> = None;
    for b in text[at..].bytes() {
        match b {
            b'[' => {
                depth += 1;
                counts.push(0);
            }
            b'0'..=b'9' => number = Some(number.unwrap_or(0) * 10 + u32::from(b - b'0')),
            b',' | b']' => {
                if let Some(n) = number.take() {
                    values.push(n);
                    *counts.last_mut().unwrap() += 1;
                }
                if b == b']' {
                    let n = counts.pop().unwrap();
                    if dims.len() < depth {
                        dims.resize(depth, 0);
                    }
                    if dims[depth - 1] == 0 {
                        dims[depth - 1] = n;
                    }
                    assert_eq!(dims[depth - 1], n, "ragged array at depth {depth}");
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    *counts.last_mut().unwrap() += 1;
                }
            }
            _ => panic!("unexpected {:?} in the array", b as char),
        }
    }
    (rank, dims, values)
}

/// The kept ARW, decoded.
fn decoded(path: &Path) -> sonyctl_raw::BayerImage {
    sonyctl_raw::decode(&std::fs::read(path).unwrap()).unwrap()
}

/// Connection, sizes before any exposure, gains, a listed speed, the RAW frame against the
/// decoder in both forms, subframes, JPEG readout and the property actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_session_on_the_simulated_body() {
    let s = sim(virtual_clock(), SimOptions::default(), |_| {}).await;
    let body = bodies::body("ILCE-7SM3").unwrap();
    assert_eq!(s.get_error(&format!("{CAM}/cameraxsize")).await, 0x407);
    s.connect("camera").await;

    // Known from the body before any exposure.
    assert_eq!(
        s.value(&format!("{CAM}/cameraxsize")).await,
        u64::from(body.active.0)
    );
    assert_eq!(
        s.value(&format!("{CAM}/cameraysize")).await,
        u64::from(body.active.1)
    );
    assert_eq!(s.value(&format!("{CAM}/numx")).await, body.active.0);
    assert_eq!(
        s.value(&format!("{CAM}/maxadu")).await,
        u64::from(body.white_level)
    );
    let pixel = s
        .value(&format!("{CAM}/pixelsizex"))
        .await
        .as_f64()
        .unwrap();
    assert!((pixel - body.pixel_size_um()).abs() < 1e-9, "{pixel}");
    assert_eq!(
        s.value(&format!("{CAM}/sensorname")).await,
        body.sensor_name
    );
    assert_eq!(s.value(&format!("{CAM}/sensortype")).await, 2);
    assert_eq!(
        s.value(&format!("{CAM}/readoutmodes")).await,
        serde_json::json!(["RAW (RGGB)", "JPEG (RGB)"])
    );
    assert_eq!(s.value(&format!("{CAM}/readoutmode")).await, 0);
    assert_eq!(s.value(&format!("{CAM}/hasshutter")).await, false);
    let min = s
        .value(&format!("{CAM}/exposuremin"))
        .await
        .as_f64()
        .unwrap();
    let max = s
        .value(&format!("{CAM}/exposuremax"))
        .await
        .as_f64()
        .unwrap();
    assert!(min > 0.0 && min < max, "{min} {max}");
    assert_eq!(
        s.get_error(&format!("{CAM}/lastexposureduration")).await,
        0x402
    );
    assert_eq!(
        s.get_error(&format!("{CAM}/lastexposurestarttime")).await,
        0x402
    );
    assert_eq!(s.value(&format!("{CAM}/imageready")).await, false);
    assert_eq!(s.get_error(&format!("{CAM}/imagearray")).await, 0x40B);

    // The body starts on ISO AUTO: Gain and Gains both say there is no gain (ConformU: every
    // gain member fails when Gain does), until an ISO is set.
    assert_eq!(s.get_error(&format!("{CAM}/gain")).await, 0x402);
    assert_eq!(s.get_error(&format!("{CAM}/gains")).await, 0x402);
    s.service.set("iso", "400").await.unwrap();

    // Gains: the ISO list without AUTO; setting one changes the body's ISO.
    let gains: Vec<String> =
        serde_json::from_value(s.value(&format!("{CAM}/gains")).await).unwrap();
    assert!(gains.len() > 5, "{gains:?}");
    assert!(gains.iter().all(|g| g.starts_with("ISO ")), "{gains:?}");
    assert!(!gains.iter().any(|g| g.contains("AUTO")), "{gains:?}");
    let i1600 = gains.iter().position(|g| g == "ISO 1600").unwrap();
    s.ok(&format!("{CAM}/gain"), &format!("Gain={i1600}")).await;
    assert_eq!(s.service.get("iso").await.unwrap().display, "1600");
    assert_eq!(s.value(&format!("{CAM}/gain")).await, i1600);
    assert_eq!(
        s.put_error(&format!("{CAM}/gain"), &format!("Gain={}", gains.len()))
            .await,
        0x401
    );
    assert_eq!(s.get_error(&format!("{CAM}/gainmin")).await, 0x400);
    assert_eq!(s.get_error(&format!("{CAM}/offset")).await, 0x400);

    // Any property by name.
    let actions = s.value(&format!("{CAM}/supportedactions")).await;
    assert_eq!(actions, serde_json::json!(["getproperty", "setproperty"]));
    let (_, got) = s
        .put(
            &format!("{CAM}/action"),
            "Action=GetProperty&Parameters=iso",
        )
        .await;
    assert_eq!(got["Value"], "1600", "{got}");
    let (_, set) = s
        .put(
            &format!("{CAM}/action"),
            "Action=setproperty&Parameters=iso%3D800",
        )
        .await;
    assert_eq!(set["ErrorNumber"], 0, "{set}");
    assert_eq!(set["Value"], "800", "{set}");
    let i800 = gains.iter().position(|g| g == "ISO 800").unwrap();
    assert_eq!(s.value(&format!("{CAM}/gain")).await, i800);
    assert_eq!(
        s.put_error(&format!("{CAM}/action"), "Action=reboot&Parameters=")
            .await,
        0x40C
    );

    // A listed speed: 2 s is the body's 2".
    let states = s.expose(2.0).await;
    s.until_ready().await;
    assert_eq!(states.last(), Some(&0), "{states:?}");
    assert_eq!(s.value(&format!("{CAM}/lastexposureduration")).await, 2.0);
    let start = s.value(&format!("{CAM}/lastexposurestarttime")).await;
    let start = start.as_str().unwrap();
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")
            .unwrap()
            .is_match(start),
        "{start}"
    );
    let state = s.value(&format!("{CAM}/devicestate")).await;
    let names: Vec<&str> = state
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"CameraState") && names.contains(&"ImageReady"));

    // The frame, element for element the decoder's output of the kept ARW.
    let raw = decoded(&s.newest("arw"));
    let (w, h) = (raw.width as usize, raw.height as usize);
    assert_eq!((raw.width, raw.height), body.active);
    let (bytes, _) = s.image_bytes(&format!("{CAM}/imagearray")).await;
    assert_eq!(bytes.metadata_version, 1);
    assert_eq!(bytes.error, 0);
    assert_eq!(bytes.data_start, 44);
    assert_eq!((bytes.image_type, bytes.transmission_type), (2, 8));
    assert_eq!(bytes.rank, 2);
    assert_eq!(bytes.dims, [w as i32, h as i32, 0]);
    assert_eq!(bytes.data.len(), w * h * 2);
    for x in 0..w {
        for y in 0..h {
            assert_eq!(
                bytes.u16_at(x * h + y),
                raw.samples[y * w + x],
                "ImageBytes ({x}, {y})"
            );
        }
    }
    let (rank, dims, values) = image_json_flat(&s, &format!("{CAM}/imagearray")).await;
    assert_eq!((rank, dims), (2, vec![w, h]));
    for x in 0..w {
        for y in 0..h {
            assert_eq!(
                values[x * h + y],
                u32::from(raw.samples[y * w + x]),
                "JSON ({x}, {y})"
            );
        }
    }
    // BayerOffsetX/Y: where RGGB starts in the decoder's pattern.
    let (bx, by) = [(0, 0), (1, 0), (0, 1), (1, 1)]
        .into_iter()
        .find(|&(x, y)| raw.info.cfa.shifted(x, y) == sonyctl_raw::CfaPattern::Rggb)
        .unwrap();
    assert_eq!(s.value(&format!("{CAM}/bayeroffsetx")).await, bx);
    assert_eq!(s.value(&format!("{CAM}/bayeroffsety")).await, by);

    // A subframe, cut from the next frame.
    for (k, v) in [("StartX", 10), ("StartY", 7), ("NumX", 33), ("NumY", 21)] {
        s.ok(
            &format!("{CAM}/{}", k.to_ascii_lowercase()),
            &format!("{k}={v}"),
        )
        .await;
    }
    s.expose(0.25).await;
    s.until_ready().await;
    let raw = decoded(&s.newest("arw"));
    let (bytes, _) = s.image_bytes(&format!("{CAM}/imagearray")).await;
    assert_eq!(bytes.dims, [33, 21, 0]);
    for x in 0..33 {
        for y in 0..21 {
            assert_eq!(
                bytes.u16_at(x * 21 + y),
                raw.samples[(7 + y) * w + 10 + x],
                "subframe ({x}, {y})"
            );
        }
    }
    // Outside the frame: refused.
    s.ok(&format!("{CAM}/numx"), &format!("NumX={}", w - 9))
        .await;
    assert_eq!(
        s.put_error(&format!("{CAM}/startexposure"), "Duration=0.25&Light=true")
            .await,
        0x401
    );

    // JPEG readout: colour, rank 3, bytes.
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    assert_eq!(s.value(&format!("{CAM}/sensortype")).await, 1);
    assert_eq!(s.value(&format!("{CAM}/maxadu")).await, 255);
    assert_eq!(s.get_error(&format!("{CAM}/bayeroffsetx")).await, 0x400);
    s.ok(&format!("{CAM}/numx"), "NumX=16").await;
    s.ok(&format!("{CAM}/numy"), "NumY=8").await;
    s.expose(2.0).await;
    s.until_ready().await;
    let (bytes, _) = s.image_bytes(&format!("{CAM}/imagearray")).await;
    assert_eq!((bytes.rank, bytes.dims), (3, [16, 8, 3]));
    assert_eq!((bytes.image_type, bytes.transmission_type), (2, 6));
    let (rank, dims, values) = image_json_flat(&s, &format!("{CAM}/imagearray")).await;
    assert_eq!((rank, dims), (3, vec![16, 8, 3]));
    assert_eq!(values.len(), bytes.data.len());
    assert!(
        values
            .iter()
            .zip(&bytes.data)
            .all(|(a, b)| *a == u32::from(*b))
    );
}

/// A bulb above the threshold and one between listed speeds: the body exposes as long as
/// asked (no autofocus before the shot: the device shoots without it), and
/// LastExposureDuration says what was used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulbs_as_planned() {
    assert!(!DeviceOptions::default().capture.autofocus);
    let s = sim(virtual_clock(), SimOptions::default(), |_| {}).await;
    s.connect("camera").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    // 0.3 s is no listed speed and below 1 s: the nearest, 1/3.
    for (asked, used) in [(45.0, 45.0), (1.5, 1.5), (0.3, 1.0 / 3.0)] {
        s.expose(asked).await;
        s.until_ready().await;
        let last = s.value(&format!("{CAM}/lastexposureduration")).await;
        let last = last.as_f64().unwrap();
        assert!((last - used).abs() < 1e-6, "{asked} s: {last}");
        let exposed = s
            .service
            .with_camera(|cam| {
                let sim = cam.link().simulated().unwrap();
                sim.produced().last().unwrap().exposure
            })
            .await
            .unwrap();
        assert!(
            exposed.abs_diff(Duration::from_secs_f64(used)) <= Duration::from_millis(20),
            "{asked} s: the body exposed {exposed:?}"
        );
    }
}

/// Exposing then Idle; stop keeps the image, abort discards it; noise reduction is Reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_stop_abort_and_noise_reduction() {
    let s = sim(SimClock::real(60.0), SimOptions::default(), |_| {}).await;
    s.connect("camera").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    let cam_state = format!("{CAM}/camerastate");

    let states = s.expose(2.0).await;
    s.until_ready().await;
    let exposing = states.iter().position(|&n| n == 2);
    assert!(exposing.is_some(), "{states:?}");
    assert_eq!(states.last(), Some(&0));

    // Stop: the image is kept, shorter than asked (600 camera seconds are 10 s here: time
    // enough for the stop to land, however loaded the machine).
    s.ok(&format!("{CAM}/startexposure"), "Duration=600&Light=true")
        .await;
    poll(&s, &cam_state, |v| v == 2).await;
    s.ok(&format!("{CAM}/stopexposure"), "").await;
    s.until_ready().await;
    let last = s.value(&format!("{CAM}/lastexposureduration")).await;
    assert!(last.as_f64().unwrap() < 599.0, "{last}");

    // Abort: no image, Idle.
    s.ok(&format!("{CAM}/startexposure"), "Duration=600&Light=true")
        .await;
    assert_eq!(s.value(&format!("{CAM}/imageready")).await, false);
    poll(&s, &cam_state, |v| v == 2).await;
    s.ok(&format!("{CAM}/abortexposure"), "").await;
    poll(&s, &cam_state, |v| v == 0).await;
    assert_eq!(s.value(&format!("{CAM}/imageready")).await, false);
    assert_eq!(s.get_error(&format!("{CAM}/imagearray")).await, 0x40B);
    // Abort and stop while idle: no error.
    s.ok(&format!("{CAM}/abortexposure"), "").await;
    s.ok(&format!("{CAM}/stopexposure"), "").await;

    // Long-exposure noise reduction: Reading (3) after Exposing (2).
    s.service
        .with_camera(|cam| {
            cam.link_mut()
                .simulated_mut()
                .unwrap()
                .owner(&OwnerAction::Set("lenr".into(), "on".into()))
                .unwrap();
        })
        .await
        .unwrap();
    s.service.properties().await.unwrap();
    let states = s.expose(40.0).await;
    s.until_ready().await;
    let exposing = states.iter().position(|&n| n == 2).unwrap();
    let reading = states.iter().position(|&n| n == 3);
    assert!(reading.is_some_and(|r| r > exposing), "{states:?}");
}

/// The cable pulled mid-bulb: CameraState Error with the reason; after the service
/// reconnects the next exposure works. The mode dial off M is refused with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_and_the_mode_dial() {
    let unplug = SimOptions {
        actions: vec![ScheduledAction {
            delay: Duration::from_secs(30),
            action: OwnerAction::Unplug,
        }],
        ..SimOptions::default()
    };
    let s = sim(virtual_clock(), unplug, |o| {
        // The capture gives up at once rather than reconnecting inside the shot.
        o.capture.reconnect_for = Duration::ZERO;
        o.capture.max_reconnects = 0;
    })
    .await;
    s.connect("camera").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    let states = s.expose(120.0).await;
    assert_eq!(states.last(), Some(&5), "{states:?}");
    assert_eq!(s.value(&format!("{CAM}/imageready")).await, false);
    let (_, body) = s.get(&format!("{CAM}/imagearray")).await;
    let message = body["ErrorMessage"].as_str().unwrap();
    assert!(message.contains("connection"), "{message}");
    let mut status = s.service.status_changes();
    tokio::time::timeout(Duration::from_secs(60), status.wait_for(|st| st.connected))
        .await
        .unwrap()
        .unwrap();
    s.expose(2.0).await;
    s.until_ready().await;

    s.service
        .with_camera(|cam| {
            cam.link_mut()
                .simulated_mut()
                .unwrap()
                .owner(&OwnerAction::Mode("A".into()))
                .unwrap();
        })
        .await
        .unwrap();
    s.service.properties().await.unwrap();
    let (_, refused) = s
        .put(&format!("{CAM}/startexposure"), "Duration=2&Light=true")
        .await;
    assert_eq!(refused["ErrorNumber"], 0x40B, "{refused}");
    assert_eq!(refused["ErrorMessage"], "set the mode dial to M");
}

/// The focuser: absolute moves, clamps at 0 and MaxStep, halt, relative mode from the setup
/// page, and refusal outside manual focus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lens_as_a_focuser() {
    let s = sim(virtual_clock(), SimOptions::default(), |_| {}).await;
    assert_eq!(s.get_error(&format!("{FOC}/position")).await, 0x407);
    s.connect("focuser").await;
    // The camera device is another client's: not connected by the focuser.
    assert_eq!(s.value(&format!("{CAM}/connected")).await, false);
    let lens = || async {
        s.service
            .with_camera(|cam| cam.link().simulated().unwrap().focus_position())
            .await
            .unwrap()
    };
    assert_eq!(s.value(&format!("{FOC}/absolute")).await, true);
    assert_eq!(s.value(&format!("{FOC}/ismoving")).await, false);
    let max = s.value(&format!("{FOC}/maxstep")).await.as_i64().unwrap();
    assert_eq!(s.value(&format!("{FOC}/position")).await, max / 2);
    let at_start = lens().await;
    let moving = format!("{FOC}/ismoving");

    s.ok(
        &format!("{FOC}/move"),
        &format!("Position={}", max / 2 + 20),
    )
    .await;
    poll(&s, &moving, |v| v == false).await;
    assert_eq!(s.value(&format!("{FOC}/position")).await, max / 2 + 20);
    assert_eq!(lens().await, at_start + 20);
    s.ok(&format!("{FOC}/move"), "Position=-50").await;
    poll(&s, &moving, |v| v == false).await;
    assert_eq!(s.value(&format!("{FOC}/position")).await, 0);
    s.ok(&format!("{FOC}/move"), &format!("Position={}", max + 100))
        .await;
    poll(&s, &moving, |v| v == false).await;
    assert_eq!(s.value(&format!("{FOC}/position")).await, max);

    // Halt mid-way.
    s.ok(&format!("{FOC}/move"), "Position=0").await;
    poll(&s, &format!("{FOC}/position"), |v| v.as_i64() < Some(max)).await;
    s.ok(&format!("{FOC}/halt"), "").await;
    poll(&s, &moving, |v| v == false).await;
    let halted = s.value(&format!("{FOC}/position")).await.as_i64().unwrap();
    assert!(halted > 0 && halted < max, "{halted}");

    // Relative, from the setup page.
    let page = format!("{}/setup/v1/focuser/0/setup", s.base);
    let r = s
        .client
        .post(&page)
        .header("origin", s.base.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Mode=relative")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(s.value(&format!("{FOC}/absolute")).await, false);
    assert_eq!(s.get_error(&format!("{FOC}/position")).await, 0x400);
    s.ok(&format!("{FOC}/move"), "Position=-7").await;
    poll(&s, &moving, |v| v == false).await;
    let r = s
        .client
        .post(&page)
        .header("origin", s.base.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Mode=absolute")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(s.value(&format!("{FOC}/position")).await, halted - 7);

    // Not in manual focus.
    s.service.set("0x500A", "AF-A").await.unwrap();
    let (_, refused) = s.put(&format!("{FOC}/move"), "Position=10").await;
    assert_eq!(refused["ErrorNumber"], 0x40B, "{refused}");
    assert!(
        refused["ErrorMessage"]
            .as_str()
            .unwrap()
            .contains("manual focus"),
        "{refused}"
    );

    // Disconnecting the focuser ends the body's session (no client holds the camera).
    s.ok(&format!("{FOC}/disconnect"), "").await;
    poll(&s, &format!("{FOC}/connecting"), |v| v == false).await;
    assert_eq!(s.value(&format!("{FOC}/connected")).await, false);
}

/// The management API names both devices of the body with ids from its serial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_devices_from_the_body() {
    let s = sim(virtual_clock(), SimOptions::default(), |_| {}).await;
    let list = s.value("/management/v1/configureddevices").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let serial = s
        .service
        .with_camera(|cam| cam.device_info().serial_number.clone())
        .await
        .unwrap();
    let digits: String = serial.chars().filter(char::is_ascii_alphanumeric).collect();
    let ids: Vec<&str> = list
        .iter()
        .map(|d| d["UniqueID"].as_str().unwrap())
        .collect();
    assert_ne!(ids[0], ids[1]);
    for (d, kind) in list.iter().zip(["Camera", "Focuser"]) {
        assert_eq!(d["DeviceType"], kind);
        assert_eq!(d["DeviceNumber"], 0);
        let id = d["UniqueID"].as_str().unwrap();
        assert!(id.ends_with(&digits.to_ascii_lowercase()), "{id} {serial}");
    }
}

/// A body the table does not know (the ILCE-7SM3's simulation under another model name):
/// size and white level are ValueNotSet before the first frame, a full-frame exposure is
/// taken (a subframe is not: it cannot be checked), and the file's values come after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_body_takes_its_first_exposure() {
    let mut profile = Profile::builtin("ilce-7sm3").unwrap();
    profile.device_info.model = "ILCE-0000".into();
    assert!(bodies::body("ILCE-0000").is_none());
    let s = sim_of(profile, virtual_clock(), SimOptions::default(), |_| {}).await;
    s.connect("camera").await;
    for member in ["cameraxsize", "cameraysize", "numx", "numy", "maxadu"] {
        assert_eq!(
            s.get_error(&format!("{CAM}/{member}")).await,
            0x402,
            "{member}"
        );
    }
    s.ok(&format!("{CAM}/startx"), "StartX=4").await;
    assert_eq!(
        s.put_error(&format!("{CAM}/startexposure"), "Duration=2&Light=true")
            .await,
        0x401
    );
    s.ok(&format!("{CAM}/startx"), "StartX=0").await;
    s.expose(2.0).await;
    s.until_ready().await;
    let raw = decoded(&s.newest("arw"));
    assert_eq!(s.value(&format!("{CAM}/cameraxsize")).await, raw.width);
    assert_eq!(s.value(&format!("{CAM}/cameraysize")).await, raw.height);
    assert_eq!(s.value(&format!("{CAM}/numx")).await, raw.width);
    assert!(s.value(&format!("{CAM}/maxadu")).await.as_u64().unwrap() > 0);
    let (bytes, _) = s.image_bytes(&format!("{CAM}/imagearray")).await;
    assert_eq!(bytes.dims, [raw.width as i32, raw.height as i32, 0]);
}

/// The ILCE-6000's JPEG is narrower than its RAW area (6000 against 6024): CameraXSize
/// follows the readout mode, a change of mode puts NumX/NumY back on the new full frame, and
/// the image is exactly NumX × NumY (once the JPEG's own size is known: the simulated body
/// writes a small JPEG whatever its image size, a surprise the first frame corrects).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_follow_the_readout_mode() {
    let profile = Profile::builtin("ilce-6000").unwrap();
    let body = bodies::body("ILCE-6000").unwrap();
    assert_ne!(body.effective, body.active);
    let s = sim_of(profile, virtual_clock(), SimOptions::default(), |_| {}).await;
    s.connect("camera").await;
    assert_eq!(s.value(&format!("{CAM}/cameraxsize")).await, body.active.0);
    s.ok(&format!("{CAM}/numx"), "NumX=100").await;
    s.ok(&format!("{CAM}/startx"), "StartX=3").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    assert_eq!(
        s.value(&format!("{CAM}/cameraxsize")).await,
        body.effective.0
    );
    assert_eq!(
        s.value(&format!("{CAM}/cameraysize")).await,
        body.effective.1
    );
    assert_eq!(s.value(&format!("{CAM}/numx")).await, body.effective.0);
    assert_eq!(s.value(&format!("{CAM}/startx")).await, 0);
    // The same mode again changes nothing.
    s.ok(&format!("{CAM}/numy"), "NumY=50").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    assert_eq!(s.value(&format!("{CAM}/numy")).await, 50);
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=0").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    s.expose(2.0).await;
    s.until_ready().await;
    // From now on the JPEG's own size.
    let (x, y) = (
        s.value(&format!("{CAM}/cameraxsize")).await,
        s.value(&format!("{CAM}/cameraysize")).await,
    );
    assert_eq!(s.value(&format!("{CAM}/numx")).await, x);
    s.expose(2.0).await;
    s.until_ready().await;
    let (bytes, _) = s.image_bytes(&format!("{CAM}/imagearray")).await;
    assert_eq!(
        bytes.dims,
        [x.as_i64().unwrap() as i32, y.as_i64().unwrap() as i32, 3]
    );
    // Back to RAW: the RAW area again.
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=0").await;
    assert_eq!(s.value(&format!("{CAM}/numx")).await, body.active.0);
}

/// The camera and the focuser of a body connect on their own: the focuser's connection
/// neither starts nor ends the camera's, the camera's disconnection ends its exposure but not
/// the focuser's count, and PercentCompleted is 100 once an image is ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_and_focuser_connect_on_their_own() {
    let s = sim(SimClock::real(60.0), SimOptions::default(), |_| {}).await;
    s.connect("focuser").await;
    assert_eq!(s.value(&format!("{CAM}/connected")).await, false);
    assert_eq!(s.get_error(&format!("{CAM}/camerastate")).await, 0x407);
    s.ok(&format!("{FOC}/move"), "Position=1510").await;
    poll(&s, &format!("{FOC}/ismoving"), |v| v == false).await;

    s.connect("camera").await;
    s.ok(&format!("{CAM}/readoutmode"), "ReadoutMode=1").await;
    let cam_state = format!("{CAM}/camerastate");
    s.ok(&format!("{CAM}/startexposure"), "Duration=1200&Light=true")
        .await;
    poll(&s, &cam_state, |v| v == 2).await;
    // The focuser goes: the exposure goes on.
    s.ok(&format!("{FOC}/connected"), "Connected=false").await;
    assert_eq!(s.value(&cam_state).await, 2);
    assert_eq!(s.value(&format!("{CAM}/connected")).await, true);
    // Connected again, it counts from the middle again (the lens may have been turned).
    s.connect("focuser").await;
    assert_eq!(s.value(&format!("{FOC}/position")).await, 1500);
    // The camera goes: its exposure ends; the focuser stays, with its count.
    s.ok(&format!("{CAM}/connected"), "Connected=false").await;
    let after = s.service.status().exposure.state;
    assert!(
        matches!(after, ExposureState::Idle | ExposureState::Error),
        "{after:?}"
    );
    let exposed = s
        .service
        .with_camera(|cam| {
            let sim = cam.link().simulated().unwrap();
            sim.produced()
                .iter()
                .map(|p| p.exposure)
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
    assert!(
        exposed.iter().all(|e| *e < Duration::from_secs(1200)),
        "{exposed:?}"
    );
    assert_eq!(s.value(&format!("{FOC}/connected")).await, true);
    assert_eq!(s.value(&format!("{FOC}/position")).await, 1500);

    // The count goes on while the camera is away.
    s.ok(&format!("{FOC}/move"), "Position=1490").await;
    poll(&s, &format!("{FOC}/ismoving"), |v| v == false).await;
    s.connect("camera").await;
    assert_eq!(s.value(&format!("{FOC}/position")).await, 1490);
    assert_eq!(s.value(&cam_state).await, 0);
    s.expose(2.0).await;
    s.until_ready().await;
    assert_eq!(s.value(&format!("{CAM}/percentcompleted")).await, 100);
}
