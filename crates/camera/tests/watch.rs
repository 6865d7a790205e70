//! Watching on the simulated camera with virtual time: a connection lost and restored in the
//! middle of a watch, and a camera that stays away longer than the reconnection budget.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sonyctl_camera::{Camera, CameraOptions, Link, SimClock, Watch, WatchEvent};
use sonyctl_ptp::{Event, Operation, PropertyCode, Value};
use sonyctl_sim::{OwnerAction, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::prop;
use sonyctl_transport::{DataSink, SimLink, SizeSink, Transport, TransportError, TransportFuture};

const SHUTTER: PropertyCode = prop::SHUTTER_SPEED;
const POLL: Duration = Duration::from_millis(100);

fn sim() -> SimulatedCamera {
    SimulatedCamera::new(
        Profile::builtin("ilce-7sm3").unwrap(),
        SimOptions::default(),
    )
}

async fn open(link: Link) -> Camera {
    Camera::open(link, CameraOptions::default()).await.unwrap()
}

fn lost(events: &[WatchEvent]) -> bool {
    matches!(events, [WatchEvent::ConnectionLost { .. }])
}

#[tokio::test]
async fn a_connection_lost_and_restored_is_reported_and_the_watch_carries_on() {
    let mut cam = open(Link::sim(sim(), SimClock::Virtual(Duration::ZERO))).await;
    let mut watch = Watch::start(&mut cam).await.unwrap();
    assert!(watch.next(&mut cam, POLL).await.unwrap().is_empty());

    // The owner pulls the cable, then changes the shutter speed while the host is away.
    let owner = cam.link_mut().simulated_mut().unwrap();
    owner.owner(&OwnerAction::Unplug).unwrap();
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert!(lost(&events), "{events:?}");
    let WatchEvent::ConnectionLost { error } = &events[0] else {
        unreachable!()
    };
    assert!(error.to_string().contains("unplugged"), "{error}");
    assert!(error.error().is_connection_lost(), "{error:?}");
    assert!(!watch.is_connected());
    let owner = cam.link_mut().simulated_mut().unwrap();
    owner.owner_set(SHUTTER, Value::U32(0x0001_00C8)).unwrap();

    // The next call reconnects; the change made meanwhile shows up as a change.
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert_eq!(
        events,
        [
            WatchEvent::ConnectionRestored,
            WatchEvent::Changed {
                code: SHUTTER,
                old: Value::U32(0x0001_00FA),
                new: Value::U32(0x0001_00C8),
            },
        ]
    );
    assert!(watch.is_connected());

    // And it goes on watching.
    let owner = cam.link_mut().simulated_mut().unwrap();
    owner.owner_set(SHUTTER, Value::U32(0x0001_00FA)).unwrap();
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert_eq!(
        events,
        [WatchEvent::Changed {
            code: SHUTTER,
            old: Value::U32(0x0001_00C8),
            new: Value::U32(0x0001_00FA),
        }]
    );
    assert!(watch.into_lost_error().is_none());
}

/// The simulated camera behind a switch: while `away` is set, every transaction and every
/// reconnection fails as on a camera that is switched off.
struct Switched {
    inner: SimLink,
    away: Arc<AtomicBool>,
}

fn gone() -> TransportError {
    TransportError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        "the camera is switched off",
    ))
}

impl Transport for Switched {
    fn name(&self) -> &'static str {
        "switched simulated camera"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<sonyctl_ptp::Response, TransportError>> {
        if self.away.load(Ordering::SeqCst) {
            return Box::pin(async { Err(gone()) });
        }
        self.inner
            .transact_streaming(op, data_out, max_data, on_size, sink)
    }

    fn try_event(&mut self) -> Option<Event> {
        self.inner.try_event()
    }

    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<Event>> {
        self.inner.next_event(limit)
    }

    fn reconnect(&mut self) -> TransportFuture<'_, Result<(), TransportError>> {
        if self.away.load(Ordering::SeqCst) {
            return Box::pin(async { Err(gone()) });
        }
        self.inner.reconnect()
    }

    fn now(&self) -> Duration {
        self.inner.now()
    }

    fn elapsed_since(&self, start: Instant) -> Duration {
        self.inner.elapsed_since(start)
    }

    fn sleep(&mut self, d: Duration) -> TransportFuture<'_, ()> {
        self.inner.sleep(d)
    }
}

fn switched() -> (Link, Arc<AtomicBool>) {
    let away = Arc::new(AtomicBool::new(false));
    let link = Link::new(Switched {
        inner: SimLink::new(sim(), SimClock::Virtual(Duration::ZERO)),
        away: away.clone(),
    });
    (link, away)
}

#[tokio::test]
async fn a_camera_back_within_the_budget_is_reconnected() {
    let (link, away) = switched();
    let mut cam = open(link).await;
    let mut watch = Watch::start(&mut cam)
        .await
        .unwrap()
        .with_reconnect_budget(Duration::from_secs(60));
    away.store(true, Ordering::SeqCst);
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert!(lost(&events), "{events:?}");
    let since = cam.link().now();
    // Away for 10 s: each call tries for about 2 s (the last pause may run over) and reports
    // nothing, so a caller sees its own deadline in between.
    let mut calls = 0;
    while cam.link().now() - since < Duration::from_secs(10) {
        let before = cam.link().now();
        assert!(watch.next(&mut cam, POLL).await.unwrap().is_empty());
        let took = cam.link().now() - before;
        assert!(took <= Duration::from_secs(4), "one call took {took:?}");
        assert!(!watch.is_connected());
        calls += 1;
    }
    assert!(calls >= 3, "{calls} calls");
    away.store(false, Ordering::SeqCst);
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert_eq!(events, [WatchEvent::ConnectionRestored]);
    assert!(watch.is_connected());
}

#[tokio::test]
async fn a_camera_away_longer_than_the_budget_ends_the_watch_with_the_error() {
    let (link, away) = switched();
    let mut cam = open(link).await;
    let budget = Duration::from_secs(10);
    let mut watch = Watch::start(&mut cam)
        .await
        .unwrap()
        .with_reconnect_budget(budget);
    away.store(true, Ordering::SeqCst);
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert!(lost(&events), "{events:?}");
    let since = cam.link().now();
    let error = loop {
        match watch.next(&mut cam, POLL).await {
            Ok(events) => assert!(events.is_empty(), "{events:?}"),
            Err(e) => break e,
        }
        assert!(
            cam.link().now() - since <= budget + Duration::from_secs(3),
            "still trying after {:?}",
            cam.link().now() - since
        );
    };
    assert!(error.is_connection_lost(), "{error}");
    assert!(error.to_string().contains("switched off"), "{error}");
    let away_for = cam.link().now() - since;
    assert!(away_for >= budget, "gave up after {away_for:?}");
    // A caller that goes on starts over: the camera is still away.
    let events = watch.next(&mut cam, POLL).await.unwrap();
    assert!(lost(&events), "{events:?}");
    assert!(watch.into_lost_error().is_some());
}
