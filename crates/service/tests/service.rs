//! The camera service on the in-process simulated camera with virtual time: status reads during
//! a bulb, commands never inside a capture, a client that goes away, a slow event consumer,
//! stop against abort (an aborted frame is never written), set errors keeping their kind, and
//! a connection lost and restored while idle (by the facade's watch).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use sonyctl_camera::save::Saver;
use sonyctl_camera::{Camera, CameraOptions, Link, SetErrorKind, ShotKind, SimClock};
use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_service::{
    CameraService, Event, ExposureState, ServiceHandle, ServiceOptions, ShotOptions,
};
use sonyctl_sim::{OwnerAction, Profile, SimOptions, SimulatedCamera};

const S1: PropertyCode = PropertyCode(0xD2C1);
const S2: PropertyCode = PropertyCode(0xD2C2);

/// The ILCE-6000 reports its buttons as properties, so the tests can see them pressed.
const BODY: &str = "ilce-6000";

async fn service(clock: SimClock, options: ServiceOptions) -> ServiceHandle {
    let sim = SimulatedCamera::new(Profile::builtin(BODY).unwrap(), SimOptions::default());
    let cam = Camera::open(Link::sim(sim, clock), CameraOptions::default())
        .await
        .unwrap();
    CameraService::spawn(cam, options)
}

fn virtual_clock() -> SimClock {
    SimClock::Virtual(Duration::ZERO)
}

fn saver() -> (tempfile::TempDir, ShotOptions) {
    let dir = tempfile::tempdir().unwrap();
    let saver = Saver::new(dir.path().join("out"), None).unwrap();
    (dir, ShotOptions::new(saver))
}

/// Buttons the simulated camera holds pressed, read through its descriptors, with the produced
/// exposures and the shots left in its buffer.
async fn camera_state(h: &ServiceHandle) -> (Vec<PropertyCode>, Vec<Duration>, usize) {
    h.with_camera(|cam| {
        let sim = cam.link().simulated().unwrap();
        let pressed = [S1, S2]
            .into_iter()
            .filter(|c| sim.value(*c).and_then(Value::as_u64) == Some(2))
            .collect();
        let exposures = sim.produced().iter().map(|p| p.exposure).collect();
        (pressed, exposures, sim.pending_shots())
    })
    .await
    .unwrap()
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// 50 readers of status and properties while a 30 s bulb runs. The status is answered from the
/// snapshot without queueing; `properties()` is a command, so it queues behind the capture and
/// is read after it (its `read_at` is after the exposure's end): nothing reaches the camera in
/// the middle of the exposure, whose length stays within 20 ms of 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_readers_during_a_bulb_never_reach_the_camera_inside_it() {
    let h = service(virtual_clock(), ServiceOptions::default()).await;
    let (dir, shot) = saver();
    // The body under test must show its buttons, or "nothing pressed" would prove nothing.
    assert_eq!(h.get("0xD2C2").await.unwrap().value().as_u64(), Some(1));
    let mut events = h.events();
    let capture = h
        .capture(ShotKind::Bulb(Duration::from_secs(30)), shot)
        .await
        .unwrap();
    let mut readers = Vec::new();
    for _ in 0..50 {
        let h = h.clone();
        readers.push(tokio::spawn(async move {
            let mut statuses = 0;
            for _ in 0..20 {
                let s = h.status();
                assert_eq!(s.model, "ILCE-6000");
                statuses += 1;
            }
            let p = h.properties().await.unwrap();
            (statuses, p.read_at)
        }));
    }
    let report = capture.wait().await.unwrap();
    assert_eq!(report.files.len(), 1);
    let (pressed, exposures, pending) = camera_state(&h).await;
    let exposure = exposures[0];
    assert!(
        exposure.abs_diff(Duration::from_secs(30)) <= Duration::from_millis(20),
        "{exposure:?}"
    );
    assert!(pressed.is_empty() && pending == 0);
    // Where the exposure started and ended, from the service's own events.
    let mut started = None;
    let mut states = Vec::new();
    let mut exposing = Vec::new();
    while let Some(e) = events.try_next() {
        if let Event::Exposure(s) = e {
            started = started.or(s.started);
            if states.last() != Some(&s.state) {
                states.push(s.state);
            }
            if s.state == ExposureState::Exposing {
                assert_eq!(s.length, Some(Duration::from_secs(30)));
                exposing.push(s.progress);
            }
        }
    }
    // The facade reports an exposure at least once a second, its progress only going up.
    assert!(exposing.len() >= 30, "{} exposing reports", exposing.len());
    assert!(exposing.windows(2).all(|w| w[0] <= w[1]), "{exposing:?}");
    assert!(exposing.last().is_some_and(|p| *p >= 0.99), "{exposing:?}");
    let ended = started.unwrap() + exposure;
    for r in readers {
        let (statuses, read_at) = r.await.unwrap();
        assert_eq!(statuses, 20);
        assert!(
            read_at >= ended,
            "properties read at {read_at:?}, exposure ended {ended:?}"
        );
    }
    assert_eq!(
        states,
        [
            ExposureState::Waiting,
            ExposureState::Exposing,
            ExposureState::Processing,
            ExposureState::Downloading,
            ExposureState::Idle
        ]
    );
    assert_eq!(h.status().exposure.state, ExposureState::Idle);
    assert_eq!(files_in(&dir.path().join("out")), 1);
}

/// A client that drops its capture mid-exposure stops it: the shutter closes early, the image
/// is kept, and no button stays pressed. The camera runs on a real clock, 60 camera seconds a
/// second, so that the drop lands inside the exposure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropped_mid_capture_leaves_no_button_pressed() {
    let h = service(SimClock::real(60.0), ServiceOptions::default()).await;
    let (dir, shot) = saver();
    let mut status = h.status_changes();
    let capture = h
        .capture(ShotKind::Bulb(Duration::from_secs(30)), shot)
        .await
        .unwrap();
    status
        .wait_for(|s| s.exposure.state == ExposureState::Exposing)
        .await
        .unwrap();
    drop(capture);
    status
        .wait_for(|s| s.busy.is_none() && s.exposure.state == ExposureState::Idle)
        .await
        .unwrap();
    let (pressed, exposures, pending) = camera_state(&h).await;
    assert!(pressed.is_empty(), "{pressed:?}");
    assert_eq!(pending, 0);
    assert_eq!(exposures.len(), 1);
    assert!(exposures[0] < Duration::from_secs(29), "{:?}", exposures[0]);
    assert_eq!(files_in(&dir.path().join("out")), 1);
}

/// A consumer that reads nothing while others keep up is told how much it missed, with the
/// status; the others see every event and the commands are never held up.
#[tokio::test]
async fn a_slow_consumer_lags_and_is_told_so() {
    let options = ServiceOptions {
        events: 4,
        ..ServiceOptions::default()
    };
    let h = service(virtual_clock(), options).await;
    let mut slow = h.events();
    let mut fast = h.events();
    let mut seen = Vec::new();
    for i in 0..12 {
        let iso = if i % 2 == 0 { "200" } else { "100" };
        h.set("iso", iso).await.unwrap();
        loop {
            match fast.next().await.unwrap() {
                Event::PropertyChanged {
                    new_display,
                    code: PropertyCode(0xD21E),
                    ..
                } => {
                    seen.push(new_display);
                    break;
                }
                Event::Lagged { .. } => panic!("the fast consumer lagged"),
                _ => {}
            }
        }
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(seen[0], "200");
    assert_eq!(seen[1], "100");
    match slow.next().await.unwrap() {
        Event::Lagged { missed, status } => {
            assert!(missed >= 8, "missed {missed}");
            assert!(status.connected);
            assert_eq!(status.busy, None);
        }
        other => panic!("expected Lagged, got {other:?}"),
    }
    // After the lag report it reads what is still in the ring.
    assert!(matches!(
        slow.try_next(),
        Some(Event::PropertyChanged { .. })
    ));
}

/// Stop closes the shutter and keeps the image; abort closes it and drops the frame, which is
/// still read out of the camera (so that the next capture does not take it for an image
/// already waiting) but never written: the aborted capture's folder is not even touched. The
/// camera runs on a real clock, 60 camera seconds a second, so that both land inside the
/// exposure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_keeps_the_image_and_abort_discards_it() {
    let h = service(SimClock::real(60.0), ServiceOptions::default()).await;
    let (dir, shot) = saver();
    let mut status = h.status_changes();
    let exposing = |s: &sonyctl_service::Status| s.exposure.state == ExposureState::Exposing;

    let stopped = h
        .capture(ShotKind::Bulb(Duration::from_secs(30)), shot.clone())
        .await
        .unwrap();
    status.wait_for(exposing).await.unwrap();
    stopped.stop();
    let report = stopped.wait().await.unwrap();
    assert!(report.stopped && !report.aborted);
    assert_eq!(report.files.len(), 1);
    assert!(report.files[0].file.path.exists());
    assert_eq!(report.discarded, 0);

    let aborted_dir = dir.path().join("aborted");
    let to_nowhere = ShotOptions::new(Saver::new(&aborted_dir, None).unwrap());
    // Creating and removing a file changes its folder's modification time.
    let untouched = std::fs::metadata(&aborted_dir).unwrap().modified().unwrap();
    let mut events = h.events();
    let aborted = h
        .capture(ShotKind::Bulb(Duration::from_secs(30)), to_nowhere)
        .await
        .unwrap();
    status.wait_for(exposing).await.unwrap();
    aborted.abort();
    let report = aborted.wait().await.unwrap();
    assert!(report.aborted && !report.stopped);
    assert!(report.files.is_empty());
    assert_eq!(report.discarded, 1);
    let mut seen = Vec::new();
    while let Some(e) = events.try_next() {
        match e {
            Event::NewImage(d) => panic!("aborted frame announced: {d:?}"),
            Event::Exposure(s) if seen.last() != Some(&s.state) => seen.push(s.state),
            _ => {}
        }
    }
    // The facade's states, as the service passed them on: the frame is discarded, never
    // downloaded.
    assert!(seen.contains(&ExposureState::Discarding), "{seen:?}");
    assert!(!seen.contains(&ExposureState::Downloading), "{seen:?}");
    assert_eq!(seen.last(), Some(&ExposureState::Idle));
    assert_eq!(files_in(&aborted_dir), 0);
    assert_eq!(
        std::fs::metadata(&aborted_dir).unwrap().modified().unwrap(),
        untouched,
        "a file was created in the aborted capture's folder"
    );
    assert_eq!(files_in(&dir.path().join("out")), 1);

    // The next capture finds nothing waiting.
    let next = h.capture(ShotKind::Single, shot).await.unwrap();
    let report = next.wait().await.unwrap();
    assert!(report.waiting.is_empty());
    assert_eq!(report.files.len(), 1);
    let (pressed, exposures, pending) = camera_state(&h).await;
    assert!(pressed.is_empty() && pending == 0);
    assert_eq!(exposures.len(), 3);
    assert!(exposures[1] < Duration::from_secs(29), "{:?}", exposures[1]);
}

/// Abort before the shutter opens takes no picture at all.
#[tokio::test]
async fn abort_before_the_shutter_opens_takes_no_picture() {
    let h = service(virtual_clock(), ServiceOptions::default()).await;
    let (dir, shot) = saver();
    let aborted = h
        .capture(ShotKind::Bulb(Duration::from_secs(30)), shot)
        .await
        .unwrap();
    // Queued: the service has not started it yet.
    aborted.abort();
    let report = aborted.wait().await.unwrap();
    assert!(report.aborted);
    assert!(report.files.is_empty());
    assert_eq!(report.discarded, 0);
    let (pressed, exposures, pending) = camera_state(&h).await;
    assert!(pressed.is_empty() && pending == 0);
    assert!(exposures.is_empty(), "{exposures:?}");
    assert_eq!(files_in(&dir.path().join("out")), 0);
}

/// A capture whose handle is dropped (or stopped) while it waits behind another takes no
/// picture: the service answers it without touching the camera.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_dropped_or_stopped_while_queued_takes_no_picture() {
    let h = service(SimClock::real(60.0), ServiceOptions::default()).await;
    let (dir, shot) = saver();
    let mut status = h.status_changes();
    let first = h
        .capture(ShotKind::Bulb(Duration::from_secs(10)), shot.clone())
        .await
        .unwrap();
    status
        .wait_for(|s| s.exposure.state == ExposureState::Exposing)
        .await
        .unwrap();
    // The service is inside the first capture: these two wait in the queue.
    let dropped = h.capture(ShotKind::Single, shot.clone()).await.unwrap();
    let stopped = h.capture(ShotKind::Single, shot).await.unwrap();
    drop(dropped);
    stopped.stop();
    let report = first.wait().await.unwrap();
    assert_eq!(report.files.len(), 1);
    let report = stopped.wait().await.unwrap();
    assert!(report.stopped && !report.aborted);
    assert!(report.files.is_empty() && report.waiting.is_empty());
    let (pressed, exposures, pending) = camera_state(&h).await;
    assert!(pressed.is_empty() && pending == 0);
    assert_eq!(exposures.len(), 1, "{exposures:?}");
    assert_eq!(files_in(&dir.path().join("out")), 1);
}

/// A bulb too long to time is refused before it is queued; nothing reaches the camera.
#[tokio::test]
async fn a_bulb_of_duration_max_is_refused_and_presses_nothing() {
    let h = service(virtual_clock(), ServiceOptions::default()).await;
    let (dir, shot) = saver();
    let err = h
        .capture(ShotKind::Bulb(Duration::MAX), shot)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            sonyctl_service::ServiceError::Capture(sonyctl_camera::CaptureError::Unsupported(_))
        ),
        "{err}"
    );
    let (pressed, exposures, pending) = camera_state(&h).await;
    assert!(pressed.is_empty() && pending == 0);
    assert!(exposures.is_empty(), "{exposures:?}");
    assert_eq!(files_in(&dir.path().join("out")), 0);
}

/// The camera unplugged while the service watches: it reports the loss, reconnects, reports
/// the return, and goes on answering.
#[tokio::test]
async fn connection_lost_and_restored_while_watching() {
    let options = ServiceOptions {
        poll: Duration::from_millis(20),
        ..ServiceOptions::default()
    };
    let h = service(virtual_clock(), options).await;
    let mut events = h.events();
    h.with_camera(|cam| {
        cam.link_mut()
            .simulated_mut()
            .unwrap()
            .owner(&OwnerAction::Unplug)
            .unwrap();
    })
    .await
    .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .unwrap()
            .unwrap()
        {
            Event::ConnectionLost(e) => {
                // The watch's error, with its kind.
                assert!(e.error().is_connection_lost(), "{e}");
                seen.push("lost");
            }
            Event::ConnectionRestored => seen.push("restored"),
            _ => {}
        }
    }
    assert_eq!(seen, ["lost", "restored"]);
    assert!(h.status().connected);
    assert_eq!(h.get("iso").await.unwrap().code, PropertyCode(0xD21E));
}

/// A set goes through the facade's set by text, and its failures keep their kind so that a
/// front end maps them without reading messages; a get of an unknown name is of the same kind.
#[tokio::test]
async fn set_errors_keep_their_kind() {
    let h = service(virtual_clock(), ServiceOptions::default()).await;
    let outcome = h.set("iso", "800").await.unwrap();
    assert_eq!(outcome.code, PropertyCode(0xD21E));
    assert_eq!(h.get("iso").await.unwrap().display, "800");
    let kind = |r: Result<_, sonyctl_service::ServiceError>| r.err().and_then(|e| e.set_kind());
    assert_eq!(
        kind(h.set("iso", "banana").await.map(drop)),
        Some(SetErrorKind::InvalidValue)
    );
    assert_eq!(
        kind(h.set("no such thing", "1").await.map(drop)),
        Some(SetErrorKind::UnknownName)
    );
    assert_eq!(
        kind(h.get("no such thing").await.map(drop)),
        Some(SetErrorKind::UnknownName)
    );
}

/// A command that arrives while the connection is lost lets the watch reconnect first (the
/// service's one reconnection policy), then runs: the client sees no error.
#[tokio::test]
async fn a_command_after_a_loss_waits_for_the_watch_to_reconnect() {
    let options = ServiceOptions {
        // No idle poll comes between the loss and the command.
        poll: Duration::from_secs(3600),
        ..ServiceOptions::default()
    };
    let h = service(virtual_clock(), options).await;
    let mut events = h.events();
    h.with_camera(|cam| {
        cam.link_mut()
            .simulated_mut()
            .unwrap()
            .owner(&OwnerAction::Unplug)
            .unwrap();
    })
    .await
    .unwrap();
    assert_eq!(h.get("iso").await.unwrap().code, PropertyCode(0xD21E));
    let mut seen = Vec::new();
    while let Some(e) = events.try_next() {
        match e {
            Event::ConnectionLost(_) => seen.push("lost"),
            Event::ConnectionRestored => seen.push("restored"),
            _ => {}
        }
    }
    assert_eq!(seen, ["lost", "restored"]);
    assert!(h.status().connected);
}

/// The cached snapshot: there after the first read, holding a set's value when the set
/// returns, following the owner's dial at the idle poll, read during a bulb without queueing
/// (it is the read from before the capture), and the camera in words from the same read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_snapshot_follows_every_read_and_never_queues() {
    let options = ServiceOptions {
        poll: Duration::from_millis(20),
        ..ServiceOptions::default()
    };
    let h = service(virtual_clock(), options).await;
    // The first read happens before the first command runs.
    h.with_camera(|_| ()).await.unwrap();
    let iso = |h: &ServiceHandle| {
        h.cached_properties()
            .and_then(|p| p.all.get(PropertyCode(0xD21E)).map(|d| d.current.clone()))
    };
    assert!(iso(&h).is_some());
    let info = h.cached_info().unwrap();
    assert_eq!(info.model, "ILCE-6000");
    assert_eq!(info.protocol, "200");
    assert_eq!(*info, h.info().await.unwrap());

    h.set("iso", "800").await.unwrap();
    assert_eq!(iso(&h), Some(Value::U32(800)));
    h.set_raw("iso", 1600).await.unwrap();
    assert_eq!(iso(&h), Some(Value::U32(1600)));

    // The owner turns the dial: the idle poll reads it into the snapshot.
    let before = h.cached_properties().unwrap().read_at;
    h.with_camera(|cam| {
        let sim = cam.link_mut().simulated_mut().unwrap();
        sim.owner(&OwnerAction::Set("iso".into(), "400".into()))
            .unwrap();
        sim.owner(&OwnerAction::Battery(42)).unwrap();
    })
    .await
    .unwrap();
    // Polls of 20 ms: a few of them at most.
    for _ in 0..500 {
        if iso(&h) == Some(Value::U32(400)) && h.status().battery_percent == Some(42) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(iso(&h), Some(Value::U32(400)));
    assert!(h.cached_properties().unwrap().read_at >= before);
    assert_eq!(h.status().battery_percent, Some(42));
    assert_eq!(h.status().battery.as_deref(), Some("42%"));
    assert_eq!(h.cached_info().unwrap().battery, "42%");

    // During a bulb the snapshot answers at once with the read from before the capture.
    let (_dir, shot) = saver();
    let snapshot = h.cached_properties().unwrap();
    let capture = h
        .capture(ShotKind::Bulb(Duration::from_secs(30)), shot)
        .await
        .unwrap();
    let cancel = capture.canceller();
    let mut changes = h.status_changes();
    while h.status().exposure.state != ExposureState::Exposing {
        tokio::time::timeout(Duration::from_secs(10), changes.changed())
            .await
            .unwrap()
            .unwrap();
    }
    let started = h.status().exposure.started.unwrap();
    for _ in 0..100 {
        let during = h.cached_properties().unwrap();
        assert!(during.read_at >= snapshot.read_at && during.read_at <= started);
    }
    cancel.cancel();
    let report = capture.wait().await.unwrap();
    assert!(report.stopped);
    assert_eq!(report.files.len(), 1);
}

/// A raw value is taken in the descriptor's type; refusals keep their kind.
#[tokio::test]
async fn set_raw_refusals_keep_their_kind() {
    let h = service(virtual_clock(), ServiceOptions::default()).await;
    let kind = |r: Result<_, sonyctl_service::ServiceError>| r.err().and_then(|e| e.set_kind());
    assert_eq!(
        kind(h.set_raw("iso", 801).await.map(drop)),
        Some(SetErrorKind::InvalidValue)
    );
    assert_eq!(
        kind(h.set_raw("iso", -1).await.map(drop)),
        Some(SetErrorKind::InvalidValue)
    );
    assert_eq!(
        kind(h.set_raw("battery", 50).await.map(drop)),
        Some(SetErrorKind::ReadOnly)
    );
    assert_eq!(
        kind(h.set_raw("no such thing", 1).await.map(drop)),
        Some(SetErrorKind::UnknownName)
    );
}
