//! Live view through the camera service, on the in-process simulated camera with virtual time:
//! one camera stream for any number of consumers, which start and stop it; a slow consumer that
//! skips frames without slowing the others; the request cap; live view across a capture and
//! across a lost connection; the end of the service.
//!
//! Requests and frames are counted by the simulated camera (`Stats::live_view`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonyctl_camera::save::Saver;
use sonyctl_camera::{Camera, CameraOptions, FocusState, Link, ShotKind, SimClock};
use sonyctl_ptp::{Event as PtpEvent, Operation, OperationCode, Response};
use sonyctl_service::{
    CameraService, Event, LiveFrame, LiveViewOptions, LiveViewSubscription, ServiceError,
    ServiceHandle, ServiceOptions, ShotOptions,
};
use sonyctl_sim::{LiveViewStats, OwnerAction, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::handle;
use sonyctl_sony::values::FocusIndication;
use sonyctl_transport::{DataSink, SimLink, SizeSink, Transport, TransportError, TransportFuture};

const BODY: &str = "ilce-7sm3";

/// Every request the camera received: the link's time, the operation, its first parameter.
type Log = Arc<Mutex<Vec<(Duration, OperationCode, Option<u32>)>>>;

/// The simulated camera, with every request logged.
struct Logged {
    inner: SimLink,
    log: Log,
    /// While set, live-view requests are answered GeneralError (a body whose live view fails).
    refuse: Arc<std::sync::atomic::AtomicBool>,
}

impl Transport for Logged {
    fn name(&self) -> &'static str {
        "logged simulated camera"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<Response, TransportError>> {
        self.log
            .lock()
            .unwrap()
            .push((self.inner.now(), op.code, op.params.get(0)));
        if is_live_view(op.code, op.params.get(0))
            && self.refuse.load(std::sync::atomic::Ordering::Relaxed)
        {
            let response = Response {
                code: sonyctl_ptp::ResponseCode::GENERAL_ERROR,
                transaction_id: op.transaction_id,
                params: sonyctl_ptp::Params::NONE,
            };
            return Box::pin(async move { Ok(response) });
        }
        self.inner
            .transact_streaming(op, data_out, max_data, on_size, sink)
    }

    fn try_event(&mut self) -> Option<PtpEvent> {
        self.inner.try_event()
    }

    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<PtpEvent>> {
        self.inner.next_event(limit)
    }

    fn reconnect(&mut self) -> TransportFuture<'_, Result<(), TransportError>> {
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

    fn simulated(&self) -> Option<&SimulatedCamera> {
        self.inner.simulated()
    }

    fn simulated_mut(&mut self) -> Option<&mut SimulatedCamera> {
        self.inner.simulated_mut()
    }
}

/// The service over the simulated camera on a virtual clock, with a short idle poll (the idle
/// watch waits that long in real time), and the log of the camera's requests.
async fn service() -> (ServiceHandle, Log) {
    let sim = SimulatedCamera::new(Profile::builtin(BODY).unwrap(), SimOptions::default());
    let log = Log::default();
    let link = Link::new(Logged {
        inner: SimLink::new(sim, SimClock::Virtual(Duration::ZERO)),
        log: log.clone(),
        refuse: Arc::default(),
    });
    let cam = Camera::open(link, CameraOptions::default()).await.unwrap();
    let options = ServiceOptions {
        poll: Duration::from_millis(20),
        ..ServiceOptions::default()
    };
    (CameraService::spawn(cam, options), log)
}

/// The camera's live-view counters, over every host that connected.
async fn camera_stats(h: &ServiceHandle) -> LiveViewStats {
    h.with_camera(|cam| {
        let sim = cam.link().simulated().unwrap();
        sim.all_stats()
            .into_iter()
            .fold(LiveViewStats::default(), |mut all, (_, s)| {
                let lv = s.live_view;
                all.frames_produced += lv.frames_produced;
                all.frames_sent += lv.frames_sent;
                all.get_object += lv.get_object;
                all.get_object_info += lv.get_object_info;
                all.access_denied += lv.access_denied;
                all.flooding += lv.flooding;
                all
            })
    })
    .await
    .unwrap()
}

/// The link's time now.
async fn now(h: &ServiceHandle) -> Duration {
    h.with_camera(|cam| cam.link().now()).await.unwrap()
}

/// Frames from `sub` until one received `seconds` after the first.
async fn frames_for(sub: &mut LiveViewSubscription, seconds: u64) -> Vec<Arc<LiveFrame>> {
    let first = sub.next().await.unwrap();
    let end = first.received_at + Duration::from_secs(seconds);
    let mut frames = vec![first];
    while frames.last().unwrap().received_at < end {
        frames.push(sub.next().await.unwrap());
    }
    frames
}

fn consecutive(frames: &[Arc<LiveFrame>]) -> bool {
    frames
        .windows(2)
        .all(|w| w[1].sequence == w[0].sequence + 1)
}

fn is_live_view(code: OperationCode, param: Option<u32>) -> bool {
    code == OperationCode::GET_OBJECT && param == Some(handle::LIVE_VIEW)
}

/// Three consumers share one camera stream: each gets every frame, and the camera sees about
/// one request per frame, as for one consumer.
#[tokio::test]
async fn three_consumers_share_one_stream() {
    let (h, _) = service().await;
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let mut sub = h.live_view(LiveViewOptions::default());
        tasks.push(tokio::spawn(async move {
            let frames = frames_for(&mut sub, 5).await;
            (frames, sub.skipped())
        }));
    }
    let mut firsts = Vec::new();
    for t in tasks {
        let (frames, skipped) = t.await.unwrap();
        assert!(consecutive(&frames));
        assert_eq!(skipped, 0);
        assert!(frames.len() >= 145, "{} frames", frames.len());
        firsts.push(frames[0].sequence);
    }
    let s = camera_stats(&h).await;
    assert!(
        s.frames_sent as f64 >= 0.95 * s.frames_produced as f64,
        "{s:?}"
    );
    assert!(s.get_object as f64 <= 1.1 * s.frames_sent as f64, "{s:?}");
    assert_eq!((s.get_object_info, s.flooding), (0, 0));
    eprintln!(
        "3 consumers: {} of {} frames, {:.3} requests per frame",
        s.frames_sent,
        s.frames_produced,
        s.get_object as f64 / s.frames_sent as f64
    );
}

/// No request before the first consumer joins or after the last leaves; a consumer that joins
/// again restarts the stream, with sequence numbers going on.
#[tokio::test]
async fn the_stream_runs_only_while_somebody_watches() {
    let (h, log) = service().await;
    let live_requests = || {
        log.lock()
            .unwrap()
            .iter()
            .filter(|(_, c, p)| is_live_view(*c, *p))
            .count()
    };
    // Idle polls pass (the camera's time moves on); nobody asked for live view.
    let before = now(&h).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(now(&h).await > before);
    assert_eq!(live_requests(), 0);

    let mut a = h.live_view(LiveViewOptions::default());
    let mut b = h.live_view(LiveViewOptions::default());
    let first = frames_for(&mut a, 1).await;
    b.next().await.unwrap();
    drop(a);
    // One consumer left: the stream goes on.
    let more = frames_for(&mut b, 1).await;
    assert!(more[0].sequence > first.last().unwrap().sequence);
    drop(b);
    // The task sees the last one leave before its next command at the latest.
    let stopped = camera_stats(&h).await.get_object;
    let at = now(&h).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(now(&h).await > at, "the camera's time stood still");
    assert_eq!(camera_stats(&h).await.get_object, stopped);

    let mut c = h.live_view(LiveViewOptions::default());
    let f = c.next().await.unwrap();
    assert!(f.sequence > more.last().unwrap().sequence);
    assert!(camera_stats(&h).await.get_object > stopped);
}

/// A consumer that stops reading for two seconds gets the newest frame when it reads again and
/// counts what it skipped; the fast one keeps every frame and the camera its pace.
#[tokio::test]
async fn a_slow_consumer_skips_frames_without_slowing_the_others() {
    let (h, _) = service().await;
    let mut fast = h.live_view(LiveViewOptions::default());
    let mut slow = h.live_view(LiveViewOptions::default());
    let (woke, wake) = tokio::sync::oneshot::channel();
    let fast = tokio::spawn(async move {
        let frames = frames_for(&mut fast, 1).await;
        let _ = woke.send(frames.last().unwrap().sequence);
        let rest = frames_for(&mut fast, 3).await;
        (frames, rest, fast.skipped())
    });
    let first = slow.next().await.unwrap();
    // Busy elsewhere until the fast consumer has had a second of frames.
    let newest = wake.await.unwrap();
    let next = slow.next().await.unwrap();
    assert!(next.sequence >= newest, "{} < {newest}", next.sequence);
    assert_eq!(slow.skipped(), next.sequence - first.sequence - 1);
    assert!(slow.skipped() >= 28, "{}", slow.skipped());
    let (frames, rest, skipped) = fast.await.unwrap();
    assert!(consecutive(&frames) && consecutive(&rest));
    assert_eq!(rest[0].sequence, frames.last().unwrap().sequence + 1);
    assert_eq!(skipped, 0);
    let s = camera_stats(&h).await;
    assert!(
        s.frames_sent as f64 >= 0.95 * s.frames_produced as f64,
        "{s:?}"
    );
}

/// The stream's cap is the highest of the consumers' caps, none if any has none.
#[tokio::test]
async fn the_highest_cap_sets_the_request_rate() {
    let (h, _) = service().await;
    let rate = |frames: &[Arc<LiveFrame>]| {
        let span = frames.last().unwrap().received_at - frames[0].received_at;
        (frames.len() - 1) as f64 / span.as_secs_f64()
    };
    let mut ten = h.live_view(LiveViewOptions {
        max_fps: Some(10.0),
    });
    let mut five = h.live_view(LiveViewOptions { max_fps: Some(5.0) });
    let start = camera_stats(&h).await;
    let frames = frames_for(&mut ten, 5).await;
    let end = camera_stats(&h).await;
    assert!((rate(&frames) - 10.0).abs() < 0.5, "{}", rate(&frames));
    // The cap lowers the requests, not just what consumers see.
    let requests = end.get_object - start.get_object;
    assert!(requests <= frames.len() as u64 + 3, "{requests} requests");
    drop(ten);
    let frames = frames_for(&mut five, 5).await;
    assert!((rate(&frames) - 5.0).abs() < 0.5, "{}", rate(&frames));
    let _all = h.live_view(LiveViewOptions::default());
    let frames = frames_for(&mut five, 5).await;
    assert!(rate(&frames) > 28.5, "{}", rate(&frames));
}

/// Live view pauses for a capture (nothing asks for a frame between the first button press and
/// the download) and resumes by itself.
#[tokio::test]
async fn live_view_pauses_for_a_capture_and_resumes() {
    let (h, log) = service().await;
    let mut sub = h.live_view(LiveViewOptions::default());
    let before = frames_for(&mut sub, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let saver = Saver::new(dir.path().join("out"), None).unwrap();
    let capture = h
        .capture(ShotKind::Single, ShotOptions::new(saver))
        .await
        .unwrap();
    let report = capture.wait().await.unwrap();
    assert_eq!(report.files.len(), 1);
    let after = frames_for(&mut sub, 1).await;
    assert!(
        after.len() >= 29,
        "{} frames after the capture",
        after.len()
    );
    assert!(after[0].sequence > before.last().unwrap().sequence);
    let log = log.lock().unwrap();
    let press = log
        .iter()
        .position(|(_, c, _)| *c == OperationCode(0x9207))
        .unwrap();
    let download = log
        .iter()
        .rposition(|(_, c, p)| *c == OperationCode::GET_OBJECT && *p == Some(0xFFFF_C001))
        .unwrap();
    assert!(log[..press].iter().any(|(_, c, p)| is_live_view(*c, *p)));
    assert!(
        !log[press..=download]
            .iter()
            .any(|(_, c, p)| is_live_view(*c, *p)),
        "live view asked for during the capture"
    );
    assert!(log[download..].iter().any(|(_, c, p)| is_live_view(*c, *p)));
    let (started, ended) = (log[press].0, log[download].0);
    assert!(before.last().unwrap().received_at <= started);
    assert!(after[0].received_at >= ended);
}

/// The camera unplugged during live view: the service reports the loss, reconnects, and the
/// stream resumes on the new connection by itself; the consumer just waits.
#[tokio::test]
async fn live_view_resumes_after_a_lost_connection() {
    let (h, _) = service().await;
    let mut events = h.events();
    let mut sub = h.live_view(LiveViewOptions::default());
    let before = frames_for(&mut sub, 1).await;
    let unplugged = h
        .with_camera(|cam| {
            cam.link_mut()
                .simulated_mut()
                .unwrap()
                .owner(&OwnerAction::Unplug)
                .unwrap();
            cam.link().now()
        })
        .await
        .unwrap();
    // The newest frame from before the loss may still be waiting; then new ones come.
    let mut next = sub.next().await.unwrap();
    while next.received_at < unplugged {
        next = sub.next().await.unwrap();
    }
    assert!(next.sequence > before.last().unwrap().sequence);
    let after = frames_for(&mut sub, 1).await;
    assert!(after.len() >= 29, "{} frames after the loss", after.len());
    assert!(consecutive(&after));
    let mut seen = Vec::new();
    while let Some(e) = events.try_next() {
        match e {
            Event::ConnectionLost(_) => seen.push("lost"),
            Event::ConnectionRestored => seen.push("restored"),
            _ => {}
        }
    }
    assert_eq!(seen, ["lost", "restored"]);
    // The new host asked for frames; the first got none after the cable was pulled.
    let hosts = h
        .with_camera(|cam| cam.link().simulated().unwrap().all_stats())
        .await
        .unwrap();
    assert_eq!(hosts.len(), 2);
    assert!(hosts[1].1.live_view.frames_sent >= 29);
}

/// Frames carry the focus state the service's watch last read (0xD213), without a request of
/// their own; a subscription hears the end of the service.
#[tokio::test]
async fn frames_carry_the_watched_focus_state_and_the_end_is_heard() {
    let (h, _) = service().await;
    let mut sub = h.live_view(LiveViewOptions::default());
    let f = sub.next().await.unwrap();
    assert_eq!(f.focus, Some(FocusIndication::NotFocused));
    assert!(!f.af_frames.is_empty());
    // Autofocus focuses, and releases the half press (the body shows "not focused" again);
    // a focus the body keeps (the owner's half press, here 0xD213 set on the body) shows in
    // later frames once the watch has read it.
    assert_eq!(h.autofocus().await.unwrap(), FocusState::Focused);
    h.with_camera(|cam| {
        let sim = cam.link_mut().simulated_mut().unwrap();
        sim.owner(&OwnerAction::Set("0xD213".into(), "2".into()))
            .unwrap();
    })
    .await
    .unwrap();
    let mut later = sub.next().await.unwrap();
    for _ in 0..30 {
        if later.focus == Some(FocusIndication::Focused) {
            break;
        }
        later = sub.next().await.unwrap();
    }
    assert_eq!(later.focus, Some(FocusIndication::Focused));
    assert!(later.sequence > f.sequence);
    drop(h);
    loop {
        match sub.next().await {
            Ok(_) => continue,
            Err(ServiceError::Ended) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

/// The simulated camera with a body whose owner changes the battery level every 10 ms (each a
/// 0xC203 event) and whose GetAllExtDevicePropInfo (0x9209) takes 12 ms; the newest link time
/// is shared so that a test can bound itself on the camera's clock without asking the service.
struct Eventful {
    inner: SimLink,
    next_change: Duration,
    level: u8,
    /// 0x9209 requests, and the link's time in nanoseconds, as last seen.
    reads: Arc<std::sync::atomic::AtomicU64>,
    clock: Arc<std::sync::atomic::AtomicU64>,
}

impl Eventful {
    const EVERY: Duration = Duration::from_millis(10);
    const READ: Duration = Duration::from_millis(12);

    /// Runs the owner's changes that are due.
    fn act(&mut self) {
        let now = self.inner.now();
        self.clock.store(
            u64::try_from(now.as_nanos()).unwrap(),
            std::sync::atomic::Ordering::Relaxed,
        );
        if now < self.next_change {
            return;
        }
        // A new level each time (1 to 100, round): every read sees a change.
        self.level = self.level % 100 + 1;
        let level = self.level;
        if let Some(sim) = self.inner.simulated_mut() {
            sim.owner(&OwnerAction::Battery(level)).unwrap();
        }
        while self.next_change <= now {
            self.next_change += Self::EVERY;
        }
    }
}

impl Transport for Eventful {
    fn name(&self) -> &'static str {
        "simulated camera with busy owner"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<Response, TransportError>> {
        Box::pin(async move {
            self.act();
            if op.code == OperationCode(0x9209) {
                self.reads
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.inner.sleep(Self::READ).await;
            }
            let r = self
                .inner
                .transact_streaming(op, data_out, max_data, on_size, sink)
                .await;
            self.act();
            r
        })
    }

    fn try_event(&mut self) -> Option<PtpEvent> {
        self.act();
        self.inner.try_event()
    }

    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<PtpEvent>> {
        Box::pin(async move {
            let end = self.inner.now() + limit;
            loop {
                if let Some(e) = self.try_event() {
                    return Some(e);
                }
                let now = self.inner.now();
                if now >= end {
                    return None;
                }
                let step = self.next_change.max(now).min(end) - now;
                self.inner.sleep(step).await;
            }
        })
    }

    fn reconnect(&mut self) -> TransportFuture<'_, Result<(), TransportError>> {
        self.inner.reconnect()
    }

    fn now(&self) -> Duration {
        self.inner.now()
    }

    fn elapsed_since(&self, start: Instant) -> Duration {
        self.inner.elapsed_since(start)
    }

    fn sleep(&mut self, d: Duration) -> TransportFuture<'_, ()> {
        Box::pin(async move {
            self.inner.sleep(d).await;
            self.act();
        })
    }

    fn simulated(&self) -> Option<&SimulatedCamera> {
        self.inner.simulated()
    }

    fn simulated_mut(&mut self) -> Option<&mut SimulatedCamera> {
        self.inner.simulated_mut()
    }
}

/// A camera that sends an event every 10 ms, with a property read (0x9209) of 12 ms, still
/// gives live view at its own rate: a due frame goes before the watch, and while live view
/// runs an event means "read soon", not "read now". The changes still reach the event stream.
#[tokio::test]
async fn camera_events_do_not_starve_live_view() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let sim = SimulatedCamera::new(Profile::builtin(BODY).unwrap(), SimOptions::default());
    let (reads, clock) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let link = Link::new(Eventful {
        inner: SimLink::new(sim, SimClock::Virtual(Duration::ZERO)),
        next_change: Duration::ZERO,
        level: 80,
        reads: reads.clone(),
        clock: clock.clone(),
    });
    let cam = Camera::open(link, CameraOptions::default()).await.unwrap();
    let h = CameraService::spawn(cam, ServiceOptions::default());
    let mut events = h.events();
    let mut sub = h.live_view(LiveViewOptions::default());
    let camera_now = || Duration::from_nanos(clock.load(Ordering::Relaxed));
    let start = camera_now();
    let reads_before = reads.load(Ordering::Relaxed);
    // Bounded on the camera's clock: no frame within 4 s of it is a failure, not a hang.
    let mut frames = Vec::new();
    let deadline = start + Duration::from_secs(4);
    while frames.len() < 91 {
        tokio::select! {
            f = sub.next() => frames.push(f.unwrap()),
            () = async {
                while camera_now() < deadline {
                    tokio::task::yield_now().await;
                }
            } => break,
        }
    }
    let span = camera_now() - start;
    assert!(
        frames.len() > 90,
        "{} frames in {span:?} of camera time",
        frames.len()
    );
    let first = frames.first().unwrap().received_at;
    let last = frames.last().unwrap().received_at;
    let rate = (frames.len() - 1) as f64 / (last - first).as_secs_f64();
    assert!(rate > 28.5, "{rate} frames a second");
    // The watch read the camera about every 100 ms, not after every event.
    let reads = reads.load(Ordering::Relaxed) - reads_before;
    let per_second = reads as f64 / span.as_secs_f64();
    assert!(per_second <= 12.0, "{reads} reads in {span:?}");
    let mut battery = 0;
    while let Some(e) = events.try_next() {
        if let Event::PropertyChanged { name, .. } = e {
            battery += usize::from(name.to_lowercase().contains("battery"));
        }
    }
    // A change the watch saw about every tenth of a second.
    assert!(
        battery as f64 >= 5.0 * span.as_secs_f64(),
        "{battery} changes in {span:?}"
    );
}

/// A body whose live view fails: each subscription hears it once per run of failures
/// (`ServiceError::LiveView`) and then waits for frames; the stream asks less and less often
/// (1 s, doubling up to 30 s); frames come when the camera gives them, and a new run of
/// failures is heard again.
#[tokio::test]
async fn a_failing_live_view_is_heard_once_and_asked_less_and_less_often() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let sim = SimulatedCamera::new(Profile::builtin(BODY).unwrap(), SimOptions::default());
    let refuse = Arc::new(AtomicBool::new(true));
    let log = Log::default();
    let link = Link::new(Logged {
        inner: SimLink::new(sim, SimClock::Virtual(Duration::ZERO)),
        log: log.clone(),
        refuse: refuse.clone(),
    });
    // The link's time of every live-view request.
    let asked = || -> Vec<Duration> {
        let log = log.lock().unwrap();
        log.iter()
            .filter(|(_, code, param)| is_live_view(*code, *param))
            .map(|(at, _, _)| *at)
            .collect()
    };
    let cam = Camera::open(link, CameraOptions::default()).await.unwrap();
    let h = CameraService::spawn(cam, ServiceOptions::default());
    let mut sub = h.live_view(LiveViewOptions::default());
    match sub.next().await {
        Err(ServiceError::LiveView(e)) => assert!(e.to_string().contains("GeneralError"), "{e}"),
        other => panic!("{other:?}"),
    }
    // The next call waits for a frame, while the stream keeps asking, less and less often.
    let count = || asked().len();
    tokio::select! {
        r = sub.next() => panic!("{r:?} while the camera refuses"),
        () = async {
            while count() < 9 {
                tokio::task::yield_now().await;
            }
        } => {}
    }
    let times = asked();
    let gaps: Vec<u64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis() as u64)
        .collect();
    for (gap, want) in gaps
        .iter()
        .zip([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000])
    {
        assert!(
            (want..want + 50).contains(gap),
            "gaps {gaps:?} (ms), wanted {want}"
        );
    }
    // Frames come once the camera gives them; a new run of failures is heard again.
    refuse.store(false, Ordering::Relaxed);
    let f = sub.next().await.unwrap();
    assert!(f.sequence >= 1);
    refuse.store(true, Ordering::Relaxed);
    loop {
        match sub.next().await {
            Ok(_) => continue,
            Err(ServiceError::LiveView(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

/// A consumer that joins late has the newest frame at once (`newest`): while others watch,
/// also while live view is refused and no frame comes; after the stream stopped, marked as left
/// from an earlier run. Each frame is given once, and `next` then gives only newer frames.
#[tokio::test]
async fn a_late_consumer_has_the_newest_frame_at_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let sim = SimulatedCamera::new(Profile::builtin(BODY).unwrap(), SimOptions::default());
    let refuse = Arc::new(AtomicBool::new(false));
    let link = Link::new(Logged {
        inner: SimLink::new(sim, SimClock::Virtual(Duration::ZERO)),
        log: Log::default(),
        refuse: refuse.clone(),
    });
    let cam = Camera::open(link, CameraOptions::default()).await.unwrap();
    let h = CameraService::spawn(cam, ServiceOptions::default());
    let mut first = h.live_view(LiveViewOptions::default());
    assert!(
        first.newest().is_none(),
        "a frame before the stream's first"
    );
    let mut newest = first.next().await.unwrap();
    // Live view refused: frames stop, and the one watching hears it.
    refuse.store(true, Ordering::Relaxed);
    loop {
        match first.next().await {
            Ok(f) => newest = f,
            Err(ServiceError::LiveView(_)) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let mut late = h.live_view(LiveViewOptions::default());
    let given = late.newest().expect("the newest frame at once");
    assert!(given.watched);
    assert_eq!(given.frame.sequence, newest.sequence);
    assert_eq!(given.frame.jpeg, newest.jpeg);
    assert!(late.newest().is_none(), "the same frame given twice");
    refuse.store(false, Ordering::Relaxed);
    let next = loop {
        match late.next().await {
            Ok(f) => break f,
            // The run of failures going on when it joined.
            Err(ServiceError::LiveView(_)) => {}
            Err(e) => panic!("{e}"),
        }
    };
    assert!(next.sequence > given.frame.sequence);
    // Only a frame newer than what it returned, if one came since.
    if let Some(n) = late.newest() {
        assert!(n.frame.sequence > next.sequence);
    }
    // Nobody watches: the stream stops, and its newest frame is left from that run.
    drop(first);
    drop(late);
    let mut again = h.live_view(LiveViewOptions::default());
    let old = again.newest().expect("the frame left from the last run");
    assert!(!old.watched);
    assert!(old.frame.sequence >= next.sequence);
    let fresh = again.next().await.unwrap();
    assert!(fresh.sequence > old.frame.sequence);
    assert_eq!(again.skipped(), fresh.sequence - old.frame.sequence - 1);
    // A frame that came after it joined is of this run.
    let later = loop {
        if let Some(n) = again.newest() {
            break n;
        }
        tokio::task::yield_now().await;
    };
    assert!(later.watched && later.frame.sequence > fresh.sequence);
}
