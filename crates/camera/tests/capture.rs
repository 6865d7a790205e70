//! Shooting and downloading through the facade on the simulated camera, with virtual time:
//! every image the simulated camera delivers arrives exactly once, byte-identical (SHA-256), and
//! nothing is written outside the output folder — for each kind of shot and each fault.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::Digest;
use sonyctl_camera::save::Saver;
use sonyctl_camera::{
    Camera, Cancel, CaptureError, CaptureOptions, CaptureSession, Downloaded, ExposureState,
    ExposureStatus, FocusState, Observer, Quiet, ShotKind,
};
use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sim::{Fault, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::prop;

const SHUTTER: PropertyCode = prop::SHUTTER_SPEED;
const FOCUS_MODE: PropertyCode = prop::FOCUS_MODE;
const FILE_FORMAT: PropertyCode = prop::FILE_FORMAT;
const SAVE_DEST: PropertyCode = prop::SAVE_DESTINATION;
const DRIVE: PropertyCode = prop::DRIVE_MODE;

mod common;
use common::{open, open_wired};

fn sim(model: &str, faults: &[Fault]) -> SimulatedCamera {
    common::sim(model, faults, &[])
}

fn owner(cam: &mut Camera) -> &mut SimulatedCamera {
    cam.link_mut().simulated_mut().unwrap()
}

fn sha(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Every file the simulated camera delivered was saved exactly once, byte-identical, inside
/// `root/out`, and nothing else exists under `root` (no temporary files, nothing outside).
fn assert_exactly_once(cam: &Camera, saved: &[Downloaded], root: &Path) {
    let produced = cam.link().simulated().unwrap().produced();
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for p in produced {
        *want.entry(sha(&p.file.bytes())).or_default() += 1;
    }
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for d in saved {
        let bytes = std::fs::read(&d.file.path).unwrap();
        assert_eq!(sha(&bytes), d.file.sha256, "{}", d.file.path.display());
        assert_eq!(bytes.len() as u64, d.file.size);
        assert!(
            d.file.path.starts_with(root.join("out")),
            "{:?}",
            d.file.path
        );
        *got.entry(d.file.sha256.clone()).or_default() += 1;
    }
    assert_eq!(got, want, "saved vs produced");
    let mut on_disk = Vec::new();
    walk(root, &mut on_disk);
    let mut expected: Vec<_> = saved.iter().map(|d| d.file.path.clone()).collect();
    expected.sort();
    on_disk.sort();
    assert_eq!(on_disk, expected, "files under the root");
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Records what the capture reported.
#[derive(Default)]
struct Log {
    notices: Vec<String>,
    starts: Vec<Duration>,
    countdowns: usize,
    cancel_at: Option<(Duration, Cancel)>,
    /// With `cancel_at`: abort rather than stop.
    abort: bool,
    statuses: Vec<ExposureStatus>,
}

impl Observer for Log {
    fn notice(&mut self, m: &str) {
        self.notices.push(m.to_string());
    }
    fn shot_started(&mut self, _shot: u32, at: Duration) {
        self.starts.push(at);
    }
    fn exposure(&mut self, status: &ExposureStatus) {
        self.statuses.push(status.clone());
    }
    fn countdown(&mut self, left: Duration) {
        self.countdowns += 1;
        if let Some((at, c)) = &self.cancel_at {
            if left <= *at {
                if self.abort {
                    c.abort();
                } else {
                    c.cancel();
                }
            }
        }
    }
}

/// Runs `shots` of `kind` in a fresh session on `cam`; returns everything saved.
async fn shoot(
    cam: &mut Camera,
    saver: &Saver,
    options: CaptureOptions,
    kinds: &[ShotKind],
    log: &mut Log,
) -> Result<Vec<Downloaded>, CaptureError> {
    let cancel = log
        .cancel_at
        .as_ref()
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let (mut s, mut all) = CaptureSession::begin(cam, saver, options, cancel, log).await?;
    let mut result = Ok(());
    for &k in kinds {
        match s.shoot(k, log).await {
            Ok(files) => all.extend(files),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    s.finish(log).await?;
    result.map(|()| all)
}

fn dirs() -> (tempfile::TempDir, Saver) {
    let root = tempfile::tempdir().unwrap();
    let saver = Saver::new(root.path().join("out"), None).unwrap();
    (root, saver)
}

#[tokio::test]
async fn single_shot_arrives_once() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let mut log = Log::default();
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single],
        &mut log,
    )
    .await
    .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].shot, 1);
    assert_eq!(files[0].file.path, root.path().join("out/DSC00001.JPG"));
    let settings: BTreeMap<_, _> = files[0].settings.0.iter().cloned().collect();
    assert_eq!(settings["shutter"], "1/250");
    assert_exactly_once(&cam, &files, root.path());
    // The buttons are up and the buffer is empty.
    assert_eq!(cam.link().simulated().unwrap().pending_shots(), 0);
}

#[tokio::test]
async fn autofocus_failure_takes_no_picture() {
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_scene_dark(true);
    let mut cam = open(s).await;
    let err = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single],
        &mut Log::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CaptureError::FocusFailed), "{err}");
    assert!(cam.link().simulated().unwrap().produced().is_empty());
    assert_exactly_once(&cam, &[], root.path());
    // The half press alone reports the same.
    assert_eq!(
        cam.autofocus(Duration::from_secs(5)).await.unwrap(),
        FocusState::Failed
    );
}

#[tokio::test]
async fn manual_focus_shoots_without_autofocus() {
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_scene_dark(true);
    s.owner_set(FOCUS_MODE, Value::U16(1)).unwrap();
    let mut cam = open(s).await;
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single],
        &mut Log::default(),
    )
    .await
    .unwrap();
    assert_eq!(files.len(), 1);
    assert_exactly_once(&cam, &files, root.path());
    assert_eq!(
        cam.autofocus(Duration::from_secs(5)).await.unwrap(),
        FocusState::Manual
    );
}

#[tokio::test]
async fn bulb_of_30_seconds_is_timed_to_the_millisecond() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let mut log = Log::default();
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Bulb(Duration::from_secs(30))],
        &mut log,
    )
    .await
    .unwrap();
    assert_eq!(files.len(), 1);
    let produced = cam.link().simulated().unwrap().produced();
    let exposure = produced[0].exposure;
    let error = exposure.abs_diff(Duration::from_secs(30));
    assert!(error <= Duration::from_millis(20), "exposure {exposure:?}");
    assert!(log.countdowns >= 30, "{} countdown ticks", log.countdowns);
    // The shutter was set to BULB for the shot and put back.
    assert!(
        log.notices.iter().any(|n| n.contains("BULB")),
        "{:?}",
        log.notices
    );
    assert_eq!(
        cam.get(SHUTTER).await.unwrap().current,
        Value::U32(0x0001_00FA)
    );
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn ctrl_c_during_bulb_closes_the_shutter_and_saves_the_image() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let cancel = Cancel::new();
    let mut log = Log {
        // Ctrl-C when 20 s are left: 10 s into a 30 s exposure.
        cancel_at: Some((Duration::from_secs(20), cancel.clone())),
        ..Log::default()
    };
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Bulb(Duration::from_secs(30))],
        &mut log,
    )
    .await
    .unwrap();
    assert!(cancel.is_cancelled());
    assert_eq!(files.len(), 1);
    let exposure = cam.link().simulated().unwrap().produced()[0].exposure;
    assert!(
        exposure >= Duration::from_secs(10) && exposure < Duration::from_secs(11),
        "{exposure:?}"
    );
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn raw_plus_jpeg_gives_two_files_for_one_shot() {
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_set(FILE_FORMAT, Value::U8(2)).unwrap();
    let mut cam = open(s).await;
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single],
        &mut Log::default(),
    )
    .await
    .unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|d| {
            d.file
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["DSC00001.JPG", "DSC00001.ARW"]);
    assert!(files.iter().all(|d| d.shot == 1));
    assert!(
        files[1].file.size > 1_000_000,
        "RAW of {} bytes",
        files[1].file.size
    );
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn a_burst_of_ten_frames_arrives_once_each() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let mut log = Log::default();
    // Continuous Hi: one frame per 300 ms write; the drive mode is set for the burst.
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Burst(Duration::from_millis(3_050))],
        &mut log,
    )
    .await
    .unwrap();
    assert!(files.len() >= 10, "{} frames", files.len());
    assert!(
        log.notices.iter().any(|n| n.contains("for the burst")),
        "{:?}",
        log.notices
    );
    assert_eq!(cam.get(DRIVE).await.unwrap().current, Value::U32(1));
    assert_exactly_once(&cam, &files, root.path());
}

/// GetObject requests the camera answered, over every host.
fn get_objects(cam: &Camera) -> u64 {
    let sim = cam.link().simulated().unwrap();
    sim.all_stats()
        .iter()
        .map(|(_, s)| s.operations.get(&0x1009).copied().unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn a_burst_frame_held_back_while_the_next_is_written_is_saved_once() {
    // The ILCE-6000 in continuous drive at 1/4 s: a frame is ready while the next exposes.
    // Once, that exposure ends between the ObjectInfo and the GetObject of the waiting frame,
    // and the camera, writing, answers the GetObject with InvalidObjectHandle.
    let (root, saver) = dirs();
    let mut s = sim("ilce-6000", &[Fault::NextFrameWriting]);
    s.owner_set(SHUTTER, Value::U32(0x0001_0004)).unwrap();
    let mut cam = open(s).await;
    let mut log = Log::default();
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Burst(Duration::from_secs(2))],
        &mut log,
    )
    .await
    .unwrap();
    assert!(files.len() >= 3, "{} frames", files.len());
    assert!(files.iter().all(|d| d.shot == 1));
    // The camera refused one GetObject: one more than the frames saved.
    assert_eq!(get_objects(&cam), files.len() as u64 + 1);
    assert_eq!(owner(&mut cam).pending_shots(), 0);
    // Every frame once, byte-identical, and nothing else on disk (no `.incomplete`).
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn an_interval_series_keeps_a_drift_free_schedule() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let mut log = Log::default();
    let cancel = Cancel::new();
    let (mut s, _) = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        cancel,
        &mut log,
    )
    .await
    .unwrap();
    let mut all = Vec::new();
    s.series(
        ShotKind::Single,
        5,
        Duration::from_secs(2),
        &mut log,
        &mut |_, r| {
            all.extend(r.as_ref().unwrap().iter().cloned());
            true
        },
    )
    .await
    .unwrap();
    s.finish(&mut log).await.unwrap();
    assert_eq!(all.len(), 5);
    // Shots start exactly on the 2 s grid, and so do the camera's exposures.
    let t0 = log.starts[0];
    for (k, t) in log.starts.iter().enumerate() {
        assert_eq!(
            *t - t0,
            Duration::from_secs(2) * k as u32,
            "{:?}",
            log.starts
        );
    }
    let produced = cam.link().simulated().unwrap().produced();
    let e0 = produced[0].exposure_start;
    for (k, p) in produced.iter().enumerate() {
        assert_eq!(p.exposure_start - e0, Duration::from_secs(2) * k as u32);
    }
    assert_exactly_once(&cam, &all, root.path());
}

#[tokio::test]
async fn a_full_buffer_is_saved_before_shooting() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    // The owner shoots until the buffer is full: the camera then refuses more.
    for _ in 0..12 {
        owner(&mut cam).owner_shutter();
        cam.link_mut().sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(cam.link().simulated().unwrap().pending_shots(), 8);
    let mut log = Log::default();
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single],
        &mut log,
    )
    .await
    .unwrap();
    assert_eq!(files.len(), 9);
    assert_eq!(files.iter().filter(|d| d.shot == 0).count(), 8);
    assert!(
        log.notices.iter().any(|n| n.contains("already waiting")),
        "{:?}",
        log.notices
    );
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn card_only_destination_is_switched_to_host_and_restored() {
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_set(SAVE_DEST, Value::U16(0x10)).unwrap();
    let mut cam = open(s).await;
    let mut log = Log::default();
    let options = CaptureOptions {
        keep_on_card: true,
        ..CaptureOptions::default()
    };
    let files = shoot(&mut cam, &saver, options, &[ShotKind::Single], &mut log)
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    assert!(
        log.notices
            .iter()
            .any(|n| n.contains("save destination changed")),
        "{:?}",
        log.notices
    );
    assert_eq!(cam.get(SAVE_DEST).await.unwrap().current, Value::U16(0x10));
    assert_exactly_once(&cam, &files, root.path());
}

/// Several shots, RAW+JPEG, under `fault`: everything arrives once.
async fn under_fault(fault: Fault) -> (Camera, Vec<Downloaded>, tempfile::TempDir, Log) {
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[fault]);
    s.owner_set(FILE_FORMAT, Value::U8(2)).unwrap();
    let mut cam = open(s).await;
    let mut log = Log::default();
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single, ShotKind::Single, ShotKind::Single],
        &mut log,
    )
    .await
    .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
    assert_eq!(files.len(), 6, "{fault:?}");
    assert_exactly_once(&cam, &files, root.path());
    (cam, files, root, log)
}

#[tokio::test]
async fn fault_busy() {
    under_fault(Fault::Busy).await;
}

#[tokio::test]
async fn fault_slow() {
    under_fault(Fault::Slow).await;
}

#[tokio::test]
async fn fault_disconnect_mid_data_refetches_the_image() {
    let (_, _, _, log) = under_fault(Fault::DisconnectMidData).await;
    assert!(
        log.notices.iter().any(|n| n.contains("reconnected")),
        "{:?}",
        log.notices
    );
}

#[tokio::test]
async fn fault_garbage_reconnects() {
    let (_, _, _, log) = under_fault(Fault::Garbage).await;
    assert!(
        log.notices.iter().any(|n| n.contains("reconnected")),
        "{:?}",
        log.notices
    );
}

#[tokio::test]
async fn fault_drop_events() {
    under_fault(Fault::DropEvents).await;
}

#[tokio::test]
async fn fault_hostile_filename_stays_inside_the_folder() {
    let (_, files, root, _) = under_fault(Fault::HostileFilename).await;
    for d in &files {
        let rel = d.file.path.strip_prefix(root.path().join("out")).unwrap();
        assert_eq!(rel.components().count(), 1, "{rel:?}");
        let name = rel.to_string_lossy();
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(!name.starts_with('.'), "{name:?}");
    }
}

#[tokio::test]
async fn tethering_saves_owner_shots_once() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let (mut s, _) = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        Cancel::new(),
        &mut Quiet,
    )
    .await
    .unwrap();
    let mut all = Vec::new();
    for i in 0..30 {
        if i % 10 == 3 {
            owner(s.camera()).owner_shutter();
        }
        all.extend(
            s.tether_once(Duration::from_millis(200), &mut Quiet)
                .await
                .unwrap(),
        );
    }
    s.finish(&mut Quiet).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|d| d.shot == 0));
    assert_exactly_once(&cam, &all, root.path());
}

#[tokio::test]
async fn protocol_200_body_shoots_too() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-6000", &[])).await;
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single, ShotKind::Single],
        &mut Log::default(),
    )
    .await
    .unwrap();
    assert_eq!(files.len(), 2);
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn fault_disconnect_after_data_keeps_the_complete_image() {
    let (_, _, _, log) = under_fault(Fault::DisconnectAfterData).await;
    assert!(
        log.notices.iter().any(|n| n.contains("reconnected")),
        "{:?}",
        log.notices
    );
}

#[tokio::test]
async fn fault_phantom_pending_never_loops() {
    under_fault(Fault::PhantomPending).await;
    // A burst and tethering end too, though 0xD215 claims an image that is not there.
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[Fault::PhantomPending])).await;
    let files = shoot(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        &[ShotKind::Single, ShotKind::Burst(Duration::from_secs(1))],
        &mut Log::default(),
    )
    .await
    .unwrap();
    assert!(files.len() >= 3, "{} files", files.len());
    let (mut s, _) = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        Cancel::new(),
        &mut Quiet,
    )
    .await
    .unwrap();
    let before = s.camera().link().now();
    for _ in 0..5 {
        assert!(
            s.tether_once(Duration::from_millis(100), &mut Quiet)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let waited = s.camera().link().now() - before;
    assert!(
        waited >= Duration::from_millis(400),
        "tethering must wait: {waited:?}"
    );
    s.finish(&mut Quiet).await.unwrap();
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn bulb_stays_within_20_ms_when_the_camera_answers_busy() {
    for seed in [1, 2, 3, 4, 5] {
        let (root, saver) = dirs();
        let options = SimOptions {
            faults: [Fault::Busy].into_iter().collect(),
            seed,
            ..SimOptions::default()
        };
        let s = SimulatedCamera::new(Profile::builtin("ilce-7sm3").unwrap(), options);
        let mut cam = open(s).await;
        let files = shoot(
            &mut cam,
            &saver,
            CaptureOptions::default(),
            &[ShotKind::Bulb(Duration::from_secs(30))],
            &mut Log::default(),
        )
        .await
        .unwrap();
        let exposure = cam.link().simulated().unwrap().produced()[0].exposure;
        assert!(
            exposure.abs_diff(Duration::from_secs(30)) <= Duration::from_millis(20),
            "seed {seed}: {exposure:?}"
        );
        assert_exactly_once(&cam, &files, root.path());
    }
}

#[tokio::test]
async fn a_failed_start_still_restores_the_save_destination() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // A file where the template wants a folder: saving the waiting image fails.
    std::fs::write(out.join("ILCE-7SM3"), b"in the way").unwrap();
    let saver = Saver::new(&out, Some("{model}/{name}.{ext}")).unwrap();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    owner(&mut cam).owner_shutter();
    cam.link_mut().sleep(Duration::from_secs(1)).await;
    owner(&mut cam)
        .owner_set(SAVE_DEST, Value::U16(0x10))
        .unwrap();
    let err = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        Cancel::new(),
        &mut Quiet,
    )
    .await
    .err()
    .expect("the start fails");
    assert!(matches!(err, CaptureError::Save(_)), "{err}");
    assert_eq!(cam.get(SAVE_DEST).await.unwrap().current, Value::U16(0x10));
    // The image is still in the camera, for the next try.
    assert_eq!(cam.link().simulated().unwrap().pending_shots(), 1);
}

/// The states in the order they came, each run of one state once.
fn state_runs(statuses: &[ExposureStatus]) -> Vec<ExposureState> {
    let mut runs: Vec<ExposureState> = Vec::new();
    for s in statuses {
        if runs.last() != Some(&s.state) {
            runs.push(s.state);
        }
    }
    runs
}

/// Within each run of one state (and one detail), progress never goes back, and stays in 0..=1.
fn assert_progress_monotonic(statuses: &[ExposureStatus]) {
    for pair in statuses.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!((0.0..=1.0).contains(&b.progress), "{b:?}");
        if a.state == b.state && a.detail == b.detail {
            assert!(b.progress >= a.progress, "{a:?} then {b:?}");
        }
    }
}

/// Opens a session on `cam`, forgets what the start reported, and takes one shot of `kind`.
async fn one_shot(
    cam: &mut Camera,
    saver: &Saver,
    kind: ShotKind,
    cancel: Cancel,
    log: &mut Log,
) -> Vec<Downloaded> {
    let (mut s, waiting) =
        CaptureSession::begin(cam, saver, CaptureOptions::default(), cancel, log)
            .await
            .unwrap();
    assert!(waiting.is_empty(), "{waiting:?}");
    log.statuses.clear();
    let files = s.shoot(kind, log).await.unwrap();
    s.finish(log).await.unwrap();
    files
}

#[tokio::test]
async fn a_single_shot_reports_its_states_in_order() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let mut log = Log::default();
    let files = one_shot(&mut cam, &saver, ShotKind::Single, Cancel::new(), &mut log).await;
    assert_eq!(files.len(), 1);
    assert_eq!(
        state_runs(&log.statuses),
        [
            ExposureState::Waiting,
            ExposureState::Exposing,
            ExposureState::Processing,
            ExposureState::Downloading,
            ExposureState::Idle,
        ],
        "{:#?}",
        log.statuses
    );
    assert_progress_monotonic(&log.statuses);
    assert_eq!(log.statuses[0].detail.as_deref(), Some("focus"));
    let produced = &cam.link().simulated().unwrap().produced()[0];
    let exposing = log
        .statuses
        .iter()
        .find(|s| s.state == ExposureState::Exposing)
        .unwrap();
    // A normal shot's length is its shutter speed (1/250 s).
    assert_eq!(exposing.length, Some(Duration::from_millis(4)));
    let started = exposing.started.unwrap();
    assert!(
        started.abs_diff(produced.exposure_start) <= Duration::from_millis(20),
        "{started:?} vs {:?}",
        produced.exposure_start
    );
    let downloads: Vec<_> = log
        .statuses
        .iter()
        .filter(|s| s.state == ExposureState::Downloading)
        .collect();
    assert_eq!(downloads.last().unwrap().progress, 1.0);
    assert_eq!(
        downloads[0].detail.as_deref(),
        Some(produced.file.filename.as_str())
    );
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn a_bulb_reports_its_start_length_and_progress() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let mut log = Log::default();
    let bulb = Duration::from_secs(30);
    let files = one_shot(
        &mut cam,
        &saver,
        ShotKind::Bulb(bulb),
        Cancel::new(),
        &mut log,
    )
    .await;
    assert_eq!(files.len(), 1);
    assert_eq!(
        state_runs(&log.statuses),
        [
            ExposureState::Waiting,
            ExposureState::Exposing,
            ExposureState::Processing,
            ExposureState::Downloading,
            ExposureState::Idle,
        ],
        "{:#?}",
        log.statuses
    );
    assert_progress_monotonic(&log.statuses);
    let produced = &cam.link().simulated().unwrap().produced()[0];
    let exposing: Vec<_> = log
        .statuses
        .iter()
        .filter(|s| s.state == ExposureState::Exposing)
        .collect();
    // At least once a second of the exposure, from 0 to 1.
    assert!(exposing.len() >= 30, "{} reports", exposing.len());
    for pair in exposing.windows(2) {
        assert!(
            pair[1].progress - pair[0].progress <= 1.0 / 30.0 + 1e-9,
            "{:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    assert_eq!(exposing[0].progress, 0.0);
    assert_eq!(exposing.last().unwrap().progress, 1.0);
    for s in &exposing {
        assert_eq!(s.length, Some(bulb));
        let started = s.started.unwrap();
        assert!(
            started.abs_diff(produced.exposure_start) <= Duration::from_millis(20),
            "{started:?} vs {:?}",
            produced.exposure_start
        );
    }
    // The last report still says which exposure the image came from.
    let idle = log.statuses.last().unwrap();
    assert_eq!(idle.length, Some(bulb));
    assert_eq!(idle.started, exposing[0].started);
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn a_bulb_stopped_at_5_seconds_saves_its_image() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let cancel = Cancel::new();
    let mut log = Log {
        cancel_at: Some((Duration::from_secs(25), cancel.clone())),
        ..Log::default()
    };
    let files = one_shot(
        &mut cam,
        &saver,
        ShotKind::Bulb(Duration::from_secs(30)),
        cancel.clone(),
        &mut log,
    )
    .await;
    assert!(cancel.is_cancelled() && !cancel.is_aborted());
    assert_eq!(files.len(), 1);
    let exposure = cam.link().simulated().unwrap().produced()[0].exposure;
    assert!(
        exposure >= Duration::from_secs(5) && exposure < Duration::from_secs(6),
        "{exposure:?}"
    );
    // Once the shutter closed, the length is the one the exposure had.
    let processing = log
        .statuses
        .iter()
        .find(|s| s.state == ExposureState::Processing)
        .unwrap();
    let length = processing.length.unwrap();
    assert!(
        length.abs_diff(exposure) <= Duration::from_millis(20),
        "{length:?}"
    );
    assert!(!state_runs(&log.statuses).contains(&ExposureState::Discarding));
    assert_exactly_once(&cam, &files, root.path());
}

#[tokio::test]
async fn a_bulb_aborted_at_5_seconds_saves_nothing_and_leaves_nothing_behind() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let cancel = Cancel::new();
    let mut log = Log {
        cancel_at: Some((Duration::from_secs(25), cancel.clone())),
        abort: true,
        ..Log::default()
    };
    let files = one_shot(
        &mut cam,
        &saver,
        ShotKind::Bulb(Duration::from_secs(30)),
        cancel.clone(),
        &mut log,
    )
    .await;
    assert!(cancel.is_aborted() && cancel.is_cancelled());
    assert!(files.is_empty(), "{files:?}");
    // The camera took the frame (5 s of it) and it was read out of its buffer.
    let sim = cam.link().simulated().unwrap();
    assert_eq!(sim.produced().len(), 1);
    let exposure = sim.produced()[0].exposure;
    assert!(
        exposure >= Duration::from_secs(5) && exposure < Duration::from_secs(6),
        "{exposure:?}"
    );
    assert_eq!(sim.pending_shots(), 0);
    let mut on_disk = Vec::new();
    walk(root.path(), &mut on_disk);
    assert!(on_disk.is_empty(), "{on_disk:?}");
    let runs = state_runs(&log.statuses);
    assert_eq!(
        runs,
        [
            ExposureState::Waiting,
            ExposureState::Exposing,
            ExposureState::Processing,
            ExposureState::Discarding,
            ExposureState::Idle,
        ],
        "{:#?}",
        log.statuses
    );
    assert_progress_monotonic(&log.statuses);
    assert_eq!(
        log.statuses
            .iter()
            .rfind(|s| s.state == ExposureState::Discarding)
            .unwrap()
            .progress,
        1.0
    );
    assert!(
        log.notices.iter().any(|n| n.contains("discard")),
        "{:?}",
        log.notices
    );

    // The next capture saves its own image only: no stale frame counts as already waiting.
    let mut next = Log::default();
    let files = one_shot(&mut cam, &saver, ShotKind::Single, Cancel::new(), &mut next).await;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].shot, 1);
    assert!(
        !next.notices.iter().any(|n| n.contains("already waiting")),
        "{:?}",
        next.notices
    );
    let produced = cam.link().simulated().unwrap().produced();
    assert_eq!(produced.len(), 2);
    assert_eq!(files[0].file.sha256, sha(&produced[1].file.bytes()));
    let mut on_disk = Vec::new();
    walk(root.path(), &mut on_disk);
    assert_eq!(on_disk, [files[0].file.path.clone()]);
}

#[tokio::test]
async fn an_abort_before_the_shutter_opens_takes_no_picture() {
    let (root, saver) = dirs();
    let mut cam = open(sim("ilce-7sm3", &[])).await;
    let cancel = Cancel::new();
    cancel.abort();
    let mut log = Log::default();
    let files = one_shot(&mut cam, &saver, ShotKind::Single, cancel, &mut log).await;
    assert!(files.is_empty());
    assert!(cam.link().simulated().unwrap().produced().is_empty());
    assert_eq!(log.statuses.last().unwrap().state, ExposureState::Idle);
    assert_exactly_once(&cam, &[], root.path());
}

#[tokio::test]
async fn a_failed_shot_ends_in_the_error_state() {
    let (_root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_scene_dark(true);
    let mut cam = open(s).await;
    let mut log = Log::default();
    let (mut session, _) = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        Cancel::new(),
        &mut log,
    )
    .await
    .unwrap();
    let err = session.shoot(ShotKind::Single, &mut log).await.unwrap_err();
    session.finish(&mut log).await.unwrap();
    let last = log.statuses.last().unwrap();
    assert_eq!(last.state, ExposureState::Error);
    assert_eq!(last.detail.as_deref(), Some(err.to_string().as_str()));
}

#[tokio::test]
async fn a_bulb_or_burst_too_long_is_refused_before_any_button_is_pressed() {
    let (root, saver) = dirs();
    // The ILCE-6000 reports its buttons as properties, so the test can see them.
    let mut cam = open(sim("ilce-6000", &[])).await;
    let shutter_before = owner(&mut cam).value(SHUTTER).cloned();
    let too_long = ShotKind::MAX_HELD + Duration::from_secs(1);
    for kind in [
        ShotKind::Bulb(Duration::MAX),
        ShotKind::Burst(Duration::MAX),
        ShotKind::Bulb(too_long),
    ] {
        let mut log = Log::default();
        let err = shoot(
            &mut cam,
            &saver,
            CaptureOptions::default(),
            &[kind],
            &mut log,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CaptureError::Unsupported(_)), "{err}");
        assert_eq!(log.statuses.last().unwrap().state, ExposureState::Error);
        let sim = owner(&mut cam);
        for button in [PropertyCode(0xD2C1), PropertyCode(0xD2C2)] {
            assert_ne!(
                sim.value(button).and_then(Value::as_u64),
                Some(2),
                "{button:?} left pressed"
            );
        }
        assert!(sim.produced().is_empty());
        assert_eq!(sim.value(SHUTTER).cloned(), shutter_before);
    }
    assert!(ShotKind::Bulb(ShotKind::MAX_HELD).check().is_ok());
    assert_exactly_once(&cam, &[], root.path());
}

/// Aborts the capture once the first file is saved (and then has the link refuse the next
/// `refuse_then` GetObject requests, if given).
struct AbortAfterFirstFile {
    cancel: Cancel,
    saved: usize,
    states: Vec<ExposureState>,
    refuse_then: Option<(Arc<AtomicU64>, u64)>,
}

impl Observer for AbortAfterFirstFile {
    fn saved(&mut self, _image: &Downloaded) {
        self.saved += 1;
        self.cancel.abort();
        if let Some((refuse, n)) = self.refuse_then.take() {
            refuse.store(n, Ordering::SeqCst);
        }
    }
    fn exposure(&mut self, status: &ExposureStatus) {
        self.states.push(status.state);
    }
}

#[tokio::test]
async fn an_abort_during_the_download_discards_the_files_not_yet_saved() {
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_set(FILE_FORMAT, Value::U8(2)).unwrap();
    let mut cam = open(s).await;
    let cancel = Cancel::new();
    let mut obs = AbortAfterFirstFile {
        cancel: cancel.clone(),
        saved: 0,
        states: Vec::new(),
        refuse_then: None,
    };
    let (mut session, waiting) = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        cancel.clone(),
        &mut obs,
    )
    .await
    .unwrap();
    assert!(waiting.is_empty());
    let files = session.shoot(ShotKind::Single, &mut obs).await.unwrap();
    session.finish(&mut obs).await.unwrap();
    // The JPEG was saved before the abort; the RAW that followed was read out and dropped.
    assert_eq!(obs.saved, 1);
    let names: Vec<_> = files
        .iter()
        .map(|d| {
            d.file
                .path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["DSC00001.JPG"]);
    assert!(
        obs.states.contains(&ExposureState::Discarding),
        "{:?}",
        obs.states
    );
    let sim = cam.link().simulated().unwrap();
    assert_eq!(sim.produced().len(), 2);
    assert_eq!(sim.pending_shots(), 0);
    let mut on_disk = Vec::new();
    walk(root.path(), &mut on_disk);
    assert_eq!(on_disk, [files[0].file.path.clone()]);
}

#[tokio::test]
async fn bursts_behind_a_slow_link_save_every_frame_once() {
    // The race as real time makes it. At 1/25 s a frame waits while the next one exposes for
    // 40 ms; with up to 10 ms before each request reaches the camera, that exposure now and
    // then ends (and the writing starts) between the ObjectInfo and the GetObject of the frame
    // waiting, and the camera refuses the GetObject. (Eight links: five see the race.)
    let mut refused = 0;
    for seed in 1..=8 {
        let (root, saver) = dirs();
        let mut s = sim("ilce-6000", &[]);
        s.owner_set(SHUTTER, Value::U32(0x0001_0019)).unwrap();
        let (mut cam, _) = open_wired(s, Duration::from_millis(10), seed).await;
        let files = shoot(
            &mut cam,
            &saver,
            CaptureOptions::default(),
            &[ShotKind::Burst(Duration::from_secs(2))],
            &mut Log::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(files.len() >= 3, "seed {seed}: {} frames", files.len());
        refused += get_objects(&cam) - files.len() as u64;
        assert_exactly_once(&cam, &files, root.path());
    }
    assert!(
        refused > 0,
        "no GetObject was refused: the race never happened"
    );
}

#[tokio::test]
async fn a_camera_that_never_hands_an_image_over_ends_each_wait_with_a_clear_error() {
    for kind in [ShotKind::Single, ShotKind::Burst(Duration::from_secs(1))] {
        let (root, saver) = dirs();
        let (mut cam, refuse) = open_wired(sim("ilce-6000", &[]), Duration::ZERO, 1).await;
        refuse.store(u64::MAX, Ordering::SeqCst);
        let mut log = Log::default();
        let (mut s, waiting) = CaptureSession::begin(
            &mut cam,
            &saver,
            CaptureOptions::default(),
            Cancel::new(),
            &mut log,
        )
        .await
        .unwrap();
        assert!(waiting.is_empty());
        let held_back = |e: &CaptureError| matches!(e, CaptureError::Timeout(_, what) if what.contains("InvalidObjectHandle"));
        // The shot's own wait for its image (twice 1/100 s, plus 30 s) bounds it.
        let start = s.camera().link().now();
        let err = s.shoot(kind, &mut log).await.unwrap_err();
        let took = s.camera().link().now() - start;
        assert!(held_back(&err), "{kind:?}: {err}");
        assert!(
            took >= Duration::from_secs(30) && took < Duration::from_secs(35),
            "{kind:?}: {took:?}"
        );
        // The session's end asks for the images left for as long again, and says why it
        // gave up.
        let err = s.finish(&mut log).await.unwrap_err();
        assert!(held_back(&err), "{kind:?}: {err}");
        // Never asked in a hot loop: about one ObjectInfo per 100 ms poll of the waits.
        let waited = cam.link().now().as_secs_f64();
        let infos: u64 = cam
            .link()
            .simulated()
            .unwrap()
            .all_stats()
            .iter()
            .map(|(_, s)| s.operations.get(&0x1008).copied().unwrap_or(0))
            .sum();
        assert!(
            infos > 100 && (infos as f64) < waited * 11.0,
            "{kind:?}: {infos} ObjectInfo in {waited} s"
        );
        // Nothing on disk, not even a temporary file; the images stay in the camera.
        let mut on_disk = Vec::new();
        walk(root.path(), &mut on_disk);
        assert!(on_disk.is_empty(), "{kind:?}: {on_disk:?}");
        assert!(owner(&mut cam).pending_shots() > 0, "{kind:?}");
    }
}

#[tokio::test]
async fn an_abort_saves_nothing_more_when_the_camera_holds_the_next_file_back() {
    // RAW+JPEG: the JPEG is saved, then the capture is aborted and the camera refuses the
    // GetObject of the RAW once; it is read out and dropped when it is handed over.
    let (root, saver) = dirs();
    let mut s = sim("ilce-7sm3", &[]);
    s.owner_set(FILE_FORMAT, Value::U8(2)).unwrap();
    let (mut cam, refuse) = open_wired(s, Duration::ZERO, 1).await;
    let cancel = Cancel::new();
    let mut obs = AbortAfterFirstFile {
        cancel: cancel.clone(),
        saved: 0,
        states: Vec::new(),
        refuse_then: Some((refuse.clone(), 1)),
    };
    let (mut session, _) = CaptureSession::begin(
        &mut cam,
        &saver,
        CaptureOptions::default(),
        cancel.clone(),
        &mut obs,
    )
    .await
    .unwrap();
    let files = session.shoot(ShotKind::Single, &mut obs).await.unwrap();
    session.finish(&mut obs).await.unwrap();
    assert_eq!(refuse.load(Ordering::SeqCst), 0, "the refusal was used");
    assert_eq!(files.len(), 1);
    assert!(obs.states.contains(&ExposureState::Discarding));
    let sim = cam.link().simulated().unwrap();
    assert_eq!(sim.produced().len(), 2);
    assert_eq!(sim.pending_shots(), 0, "the RAW was read out");
    let mut on_disk = Vec::new();
    walk(root.path(), &mut on_disk);
    assert_eq!(on_disk, [files[0].file.path.clone()]);
}
