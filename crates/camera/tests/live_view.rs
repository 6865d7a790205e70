//! The live-view stream on the simulated camera with virtual time: pacing at 24, 30 and 60 fps
//! (with and without jitter in the answer times), the request cap, the back-off on each
//! refusal, frames that do not decode, and AF frames equal to what the camera drew.
//!
//! Rates and requests are counted by the simulated camera itself (`Stats::live_view`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonyctl_camera::{Camera, CameraOptions, Link, LiveView, LiveViewOptions, SimClock};
use sonyctl_ptp::{Event, Operation, OperationCode, Response, ResponseCode};
use sonyctl_sim::{Fault, LiveViewStats, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::{handle, prop};
use sonyctl_sony::live_view::FrameGroupKind;
use sonyctl_sony::values::FocusIndication;
use sonyctl_transport::{DataSink, SimLink, SizeSink, Transport, TransportError, TransportFuture};

const BODY: &str = "ilce-7sm3";

/// The simulated `BODY` making `fps` frames a second, with `faults`.
fn sim_at(fps: u32, faults: &[Fault]) -> SimulatedCamera {
    let mut profile = Profile::builtin(BODY).unwrap();
    profile.live_view_fps = fps;
    let options = SimOptions {
        faults: faults.iter().copied().collect(),
        ..SimOptions::default()
    };
    SimulatedCamera::new(profile, options)
}

async fn open(link: Link) -> Camera {
    Camera::open(link, CameraOptions::default()).await.unwrap()
}

/// The live-view counters of the camera's current host.
fn stats(cam: &Camera) -> LiveViewStats {
    let sim = cam.link().simulated().unwrap();
    sim.all_stats().last().unwrap().1.live_view.clone()
}

/// Takes frames for `seconds` of the link's clock.
async fn run(cam: &mut Camera, lv: &mut LiveView, seconds: u64) -> u64 {
    let end = cam.link().now() + Duration::from_secs(seconds);
    let mut frames = 0;
    while cam.link().now() < end {
        let f = lv.next(cam).await.unwrap();
        assert_eq!(f.sequence, lv.counters().frames - lv.counters().bad_frames);
        frames += 1;
    }
    frames
}

/// What the camera saw: frames sent over frames produced, requests per frame sent.
fn figures(s: &LiveViewStats) -> (f64, f64) {
    (
        s.frames_sent as f64 / s.frames_produced as f64,
        s.requests() as f64 / s.frames_sent as f64,
    )
}

/// The simulated camera behind a wire whose each way takes a pseudo-random 0 to `max`, on the
/// virtual clock; `answer` may replace the camera's answer to a live-view request.
struct Wire {
    inner: SimLink,
    max: Duration,
    seed: u64,
    answer: Arc<Mutex<Option<Answer>>>,
}

/// An answer the wire gives instead of the camera's.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// This response code, without data.
    Code(ResponseCode),
    /// The camera's frame with its bytes from `at` on zeroed (a frame that does not decode).
    Garbled(usize),
}

impl Wire {
    fn delay(&mut self) -> Duration {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.max.mul_f64((self.seed % 1000) as f64 / 1000.0)
    }
}

impl Transport for Wire {
    fn name(&self) -> &'static str {
        "simulated camera behind a jittery wire"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<Response, TransportError>> {
        let (there, back) = (self.delay(), self.delay());
        let live =
            op.code == OperationCode::GET_OBJECT && op.params.get(0) == Some(handle::LIVE_VIEW);
        let answer = if live {
            *self.answer.lock().unwrap()
        } else {
            None
        };
        Box::pin(async move {
            self.inner.sleep(there).await;
            let r = match answer {
                None => {
                    self.inner
                        .transact_streaming(op, data_out, max_data, on_size, sink)
                        .await
                }
                Some(Answer::Code(code)) => Ok(Response {
                    code,
                    transaction_id: op.transaction_id,
                    params: Default::default(),
                }),
                Some(Answer::Garbled(at)) => {
                    let (resp, data) = self.inner.transact(op, data_out, max_data).await?;
                    if let Some(mut d) = data {
                        d.iter_mut().skip(at).for_each(|b| *b = 0);
                        on_size(d.len() as u64)?;
                        sink(&d)?;
                    }
                    Ok(resp)
                }
            };
            self.inner.sleep(back).await;
            r
        })
    }

    fn try_event(&mut self) -> Option<Event> {
        self.inner.try_event()
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

/// `sim` behind a wire taking up to `jitter` each way, and the switch for its answers.
fn wired(sim: SimulatedCamera, jitter: Duration) -> (Link, Arc<Mutex<Option<Answer>>>) {
    let answer = Arc::new(Mutex::new(None));
    let wire = Wire {
        inner: SimLink::new(sim, SimClock::Virtual(Duration::ZERO)),
        max: jitter,
        seed: 0x2545_F491_4F6C_DD1D,
        answer: answer.clone(),
    };
    (Link::new(wire), answer)
}

/// 10 s at 24, 30 and 60 fps, with up to 0 and 1 ms each way on the wire (and 3 ms at 30 fps):
/// at least 95 % of the frames the camera made, with at most 1.1 requests for 0xFFFFC002 per
/// frame, no GetObjectInfo, no flooding (see below), and the interval learnt.
#[tokio::test]
async fn paces_to_the_camera_with_about_one_request_per_frame() {
    let cases = [
        (24, 0),
        (24, 1),
        (30, 0),
        (30, 1),
        (30, 3),
        (60, 0),
        (60, 1),
    ];
    for (fps, jitter_ms) in cases {
        {
            let (link, _) = wired(sim_at(fps, &[]), Duration::from_millis(jitter_ms));
            let mut cam = open(link).await;
            let mut lv = LiveView::new(LiveViewOptions::default());
            let frames = run(&mut cam, &mut lv, 10).await;
            let s = stats(&cam);
            let (share, per_frame) = figures(&s);
            let what = format!("{fps} fps, jitter {jitter_ms} ms: {s:?}");
            assert_eq!(s.frames_sent, frames, "{what}");
            assert!(share >= 0.95, "{what}: {share}");
            assert!(per_frame <= 1.1, "{what}: {per_frame}");
            assert_eq!(s.get_object_info, 0, "{what}");
            // No fourth request within one frame, except while learning with the answer
            // times varying by a millisecond or more (the pacer's own tests bound it).
            let flooding = match jitter_ms {
                0 => 0,
                1 => 1,
                _ => s.requests() / 20,
            };
            assert!(s.flooding <= flooding, "{what}");
            assert_eq!(s.requests(), lv.counters().requests, "{what}");
            eprintln!(
                "{fps} fps, jitter {jitter_ms} ms: {:.1} % of the frames, {per_frame:.3} \
                 requests per frame, {} AccessDenied, {} flooding",
                share * 100.0,
                s.access_denied,
                s.flooding
            );
            let t = lv.interval().unwrap();
            let expected = Duration::from_secs(1) / fps;
            assert!(
                t.abs_diff(expected) < expected / 100,
                "{what}: learnt {t:?}"
            );
        }
    }
}

/// A cap of 10 fps on a 30 fps body: about 10 requests a second, each bringing a frame.
#[tokio::test]
async fn a_cap_lowers_the_request_rate() {
    let mut cam = common::open(sim_at(30, &[])).await;
    let mut lv = LiveView::new(LiveViewOptions {
        max_fps: Some(10.0),
    });
    let frames = run(&mut cam, &mut lv, 10).await;
    let s = stats(&cam);
    assert!((99..=102).contains(&frames), "{frames} frames: {s:?}");
    assert!(s.requests() <= frames + 5, "{s:?}");
    // Lifting the cap brings the camera's rate back.
    lv.set_max_fps(None);
    let frames = run(&mut cam, &mut lv, 10).await;
    assert!(frames >= 285, "{frames} frames");
}

/// Live view not ready (InvalidObjectHandle for the first second, the `lv-not-ready` fault):
/// retried every 50 ms, then frames come; nothing fails.
#[tokio::test]
async fn invalid_object_handle_is_retried_every_50_ms_until_live_view_is_ready() {
    let mut cam = common::open(sim_at(30, &[Fault::LiveViewNotReady])).await;
    let opened = cam.opened_at();
    let mut lv = LiveView::new(LiveViewOptions::default());
    let first = lv.next(&mut cam).await.unwrap();
    let waited = first.received_at - opened;
    let c = lv.counters();
    let s = stats(&cam);
    assert_eq!(c.invalid_handle, s.invalid_handle);
    // About a second of refusals at one every 50 ms.
    assert!((15..=21).contains(&c.invalid_handle), "{c:?}");
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_millis(1100),
        "{waited:?}"
    );
    let frames = run(&mut cam, &mut lv, 5).await;
    assert!(frames >= 140, "{frames} frames");
}

/// A camera that never gets ready is reported after the limit, not waited for forever, and a
/// restart gives it the grace again.
#[tokio::test]
async fn invalid_object_handle_for_too_long_is_reported() {
    let (link, answer) = wired(sim_at(30, &[]), Duration::ZERO);
    let mut cam = open(link).await;
    *answer.lock().unwrap() = Some(Answer::Code(ResponseCode::INVALID_OBJECT_HANDLE));
    let mut lv = LiveView::new(LiveViewOptions::default());
    let start = cam.link().now();
    let e = lv.next(&mut cam).await.unwrap_err();
    assert!(
        matches!(e, sonyctl_camera::CameraError::Response { code, .. } if code == ResponseCode::INVALID_OBJECT_HANDLE),
        "{e}"
    );
    let tries = u64::from(sonyctl_camera::live_view::NOT_READY_TRIES);
    assert_eq!(lv.counters().invalid_handle, tries);
    let took = cam.link().now() - start;
    let expected = sonyctl_camera::live_view::NOT_READY_RETRY
        * (sonyctl_camera::live_view::NOT_READY_TRIES - 1);
    assert!(
        took.abs_diff(expected) < Duration::from_millis(10),
        "{took:?}"
    );
    *answer.lock().unwrap() = None;
    lv.restart();
    assert_eq!(lv.next(&mut cam).await.unwrap().sequence, 1);
}

/// AccessDenied while live view is away (0xD221 taken away by the owner, as during an
/// exposure): asked less and less often, at most every 250 ms once it lasts; frames come back
/// by themselves.
#[tokio::test]
async fn access_denied_backs_off_while_it_lasts() {
    let mut cam = common::open(sim_at(30, &[])).await;
    let mut lv = LiveView::new(LiveViewOptions::default());
    run(&mut cam, &mut lv, 2).await;
    let before = (lv.counters(), stats(&cam));
    let owner = cam.link_mut().simulated_mut().unwrap();
    owner
        .owner_set(prop::LIVE_VIEW_STATUS, sonyctl_ptp::Value::U8(2))
        .unwrap();
    let away_from = cam.link().now();
    // Five seconds of refusals.
    while cam.link().now() < away_from + Duration::from_secs(5) {
        let due = lv.due();
        cam.link_mut().sleep_until(due).await;
        assert!(lv.poll(&mut cam).await.unwrap().is_none());
    }
    let denied = lv.counters().access_denied - before.0.access_denied;
    assert_eq!(lv.counters().frames, before.0.frames);
    assert_eq!(stats(&cam).access_denied - before.1.access_denied, denied);
    // Quick retries at first, then every 250 ms at most: far fewer than libgphoto2's 20 ms.
    assert!((20..=60).contains(&denied), "{denied} AccessDenied in 5 s");
    assert!(lv.due() - cam.link().now() <= Duration::from_millis(250));
    let owner = cam.link_mut().simulated_mut().unwrap();
    owner
        .owner_set(prop::LIVE_VIEW_STATUS, sonyctl_ptp::Value::U8(1))
        .unwrap();
    let back = cam.link().now();
    let f = lv.next(&mut cam).await.unwrap();
    assert!(f.received_at - back <= Duration::from_millis(260));
    // And the pace is the camera's again.
    let start = stats(&cam);
    run(&mut cam, &mut lv, 5).await;
    let end = stats(&cam);
    let frames = end.frames_sent - start.frames_sent;
    let requests = end.requests() - start.requests();
    assert!(frames >= 145, "{frames} frames");
    assert!(
        requests as f64 / frames as f64 <= 1.1,
        "{requests} requests"
    );
}

/// DeviceBusy (the `busy` fault answers about one request in seven): backed off and retried,
/// never an error, and the stream keeps most of the camera's frames.
#[tokio::test]
async fn device_busy_is_retried_after_a_pause() {
    let mut cam = common::open(sim_at(30, &[Fault::Busy])).await;
    let mut lv = LiveView::new(LiveViewOptions::default());
    let frames = run(&mut cam, &mut lv, 10).await;
    let c = lv.counters();
    assert!(c.busy > 10, "{c:?}");
    assert_eq!(
        c.requests,
        c.frames + c.busy + c.access_denied + c.invalid_handle
    );
    let (share, _) = figures(&stats(&cam));
    assert!(share >= 0.8, "{share}, {frames} frames, {c:?}");
}

/// DeviceBusy in a row: the pause after each doubles from 10 ms up to 500 ms, and a frame ends
/// the run (the next DeviceBusy waits 10 ms again).
#[tokio::test]
async fn device_busy_pauses_double_from_10_ms_to_500_ms() {
    let (link, answer) = wired(sim_at(30, &[]), Duration::ZERO);
    let mut cam = open(link).await;
    let mut lv = LiveView::new(LiveViewOptions::default());
    run(&mut cam, &mut lv, 1).await;
    let busy = || Some(Answer::Code(ResponseCode::DEVICE_BUSY));
    /// The pause after each of `n` refusals, in ms.
    async fn pauses(lv: &mut LiveView, cam: &mut Camera, n: usize) -> Vec<u128> {
        let mut out = Vec::new();
        for _ in 0..n {
            cam.link_mut().sleep_until(lv.due()).await;
            let sent = cam.link().now();
            assert!(lv.poll(cam).await.unwrap().is_none());
            out.push((lv.due() - sent).as_millis());
        }
        out
    }
    *answer.lock().unwrap() = busy();
    let seen = pauses(&mut lv, &mut cam, 9).await;
    assert_eq!(seen, [10, 20, 40, 80, 160, 320, 500, 500, 500]);
    *answer.lock().unwrap() = None;
    lv.next(&mut cam).await.unwrap();
    *answer.lock().unwrap() = busy();
    // (The second may wait a little longer: no more than three requests within a frame.)
    let again = pauses(&mut lv, &mut cam, 2).await;
    assert!(again[0] == 10 && (20..40).contains(&again[1]), "{again:?}");
}

/// A frame that does not decode is counted and skipped; the stream goes on.
#[tokio::test]
async fn a_frame_that_does_not_decode_is_skipped() {
    let (link, answer) = wired(sim_at(30, &[]), Duration::ZERO);
    let mut cam = open(link).await;
    let mut lv = LiveView::new(LiveViewOptions::default());
    run(&mut cam, &mut lv, 1).await;
    let before = lv.counters();
    // The JPEG's bytes zeroed: no start marker where the header says.
    *answer.lock().unwrap() = Some(Answer::Garbled(0x3F4));
    for _ in 0..5 {
        let due = lv.due();
        cam.link_mut().sleep_until(due).await;
        assert!(lv.poll(&mut cam).await.unwrap().is_none());
    }
    let c = lv.counters();
    assert_eq!(c.bad_frames - before.bad_frames, c.frames - before.frames);
    assert!(c.bad_frames >= 3, "{c:?}");
    *answer.lock().unwrap() = None;
    let f = lv.next(&mut cam).await.unwrap();
    // Sequence numbers count the frames delivered.
    assert_eq!(f.sequence, before.frames + 1);
}

/// The AF frame follows the AF point: the decoded rectangle is what the simulated camera drew,
/// in the 640×480 space, centred on the point; the JPEG is the one it encoded; the focus state
/// is 0xD213 from the property cache.
#[tokio::test]
async fn decoded_af_frames_are_what_the_camera_drew() {
    let mut cam = common::open(sim_at(30, &[])).await;
    let mut lv = LiveView::new(LiveViewOptions::default());
    for (x, y) in [(320, 240), (100, 80), (600, 400), (0, 0)] {
        cam.focus_point(x, y).await.unwrap();
        let f = lv.next(&mut cam).await.unwrap();
        let drawn = cam
            .link()
            .simulated()
            .unwrap()
            .last_live_view()
            .unwrap()
            .clone();
        assert_eq!(f.jpeg.len(), drawn.jpeg_len);
        let mut expected = Vec::new();
        for (i, g) in drawn.focal_frames.groups.iter().enumerate() {
            for fr in &g.frames {
                expected.push((
                    FrameGroupKind::from_index(i).unwrap(),
                    g.rect(fr).unwrap(),
                    fr.state,
                ));
            }
        }
        let got: Vec<_> = f
            .af_frames
            .iter()
            .map(|a| (a.group, a.rect, a.state))
            .collect();
        // The camera drew a focus frame (two empty lists would compare equal too).
        assert!(
            expected.iter().any(|(g, _, _)| *g == FrameGroupKind::Focus),
            "AF point ({x}, {y}): no focus frame drawn"
        );
        assert_eq!(got, expected, "AF point ({x}, {y})");
        let focus = got
            .iter()
            .find(|(g, _, _)| *g == FrameGroupKind::Focus)
            .unwrap()
            .1;
        // 64×64, centred on the point unless the picture's edge is in the way.
        assert_eq!((focus.w, focus.h), (64.0, 64.0));
        let centre = (focus.x + focus.w / 2.0, focus.y + focus.h / 2.0);
        let inside = |v: u16, max: f32| f32::from(v).clamp(32.0, max - 32.0);
        assert_eq!(
            centre,
            (inside(x, 640.0), inside(y, 480.0)),
            "AF point ({x}, {y})"
        );
    }
    // The focus state is the cached 0xD213: no request of its own.
    let props = cam.properties().await.unwrap();
    let cached = props
        .get(prop::FOCUS_INDICATION)
        .and_then(|d| d.current.as_u64())
        .and_then(FocusIndication::from_value);
    let before = stats(&cam).requests();
    let ops_before = cam
        .link()
        .simulated()
        .unwrap()
        .all_stats()
        .last()
        .unwrap()
        .1
        .round_trips();
    let f = lv.next(&mut cam).await.unwrap();
    assert_eq!(f.focus, cached);
    let ops_after = cam
        .link()
        .simulated()
        .unwrap()
        .all_stats()
        .last()
        .unwrap()
        .1
        .round_trips();
    assert_eq!(ops_after - ops_before, stats(&cam).requests() - before);
}

/// A stream whose polls keep failing is asked less and less often: the hold after each failure
/// doubles from 1 s up to 30 s; a reset (the stream stopped and started again) forgets it.
#[test]
fn a_failing_live_view_is_asked_less_and_less_often() {
    let mut lv = LiveView::new(LiveViewOptions::default());
    let mut now = Duration::from_secs(5);
    let mut holds = Vec::new();
    for _ in 0..8 {
        let hold = lv.failed(now);
        assert_eq!(lv.due(), now + hold);
        holds.push(hold.as_secs());
        now = lv.due();
    }
    assert_eq!(holds, [1, 2, 4, 8, 16, 30, 30, 30]);
    assert_eq!(lv.failures(), 8);
    lv.reset();
    assert_eq!(lv.failures(), 0);
    assert!(lv.due() <= now, "the hold outlived the reset");
    assert_eq!(lv.failed(now).as_secs(), 1);
}
