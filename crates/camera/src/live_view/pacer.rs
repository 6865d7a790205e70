//! When to ask for the next live-view frame: the pacing rule, with no I/O and no clock (times
//! on the link's clock go in, the time of the next request comes out).
//!
//! A body makes a frame every `T` (its frame interval, learnt here, never assumed) and answers
//! AccessDenied when asked again before the next one exists. A frame can be fetched at any time
//! during its life (until the next boundary), so each request goes just after the latest the
//! predicted boundary may be: the frame is fresh and the camera never answers "not yet".
//!
//! - **Sightings.** A new frame whose request came less than the shortest possible interval
//!   after the previous request (an AccessDenied, or the frame before) shows exactly one
//!   boundary between the two: a *sighting*, an interval `(lo, hi]` as narrow as the requests
//!   were close, widened by the jitter of the time the camera looks (estimated from the spread
//!   of the AccessDenied round trips). The first come from polling every third of a 24 fps
//!   frame (shorter than one frame of a 60 fps body; see `bootstrap_poll`). One wider than the
//!   window the request aimed at is not kept (a request on time just after a late one).
//! - **The interval** is bounded by every pair of sightings: `n` boundaries apart, it lies
//!   between `(b.lo − a.hi)/n` and `(b.hi − a.lo)/n`. `n` is counted exactly along a chain of
//!   sightings joined by requests that could not have missed a frame; otherwise it is the one
//!   whole number the current bounds allow (a pair that allows several is left out). The bounds
//!   narrow as the baseline grows. Sightings that allow no interval at all contradict each other
//!   (the body changed its rate, or the jitter was underestimated): learning starts over.
//! - **Aiming.** From the newest sighting and the bounds, boundary `k` lies in a window that
//!   widens with `k`. The request goes just after the window's end, as long as it still reaches
//!   the camera before the earliest the next boundary may come. Once the window is too wide for
//!   that, the stream *looks*: it asks in the window's middle (a frame there puts the boundary in
//!   the first half; AccessDenied in the second, and it retries every eighth of an interval
//!   until the frame comes). Either way that is a new sighting. With a long baseline this
//!   happens every few hundred frames, so the camera sees little more than one request a frame.
//! - **Probes.** A body that became faster never answers AccessDenied, so every
//!   [`PROBE_EVERY`] frames one request goes half the shortest interval after a frame: a new
//!   frame there contradicts the model. (A slower one shows by itself, in AccessDenied.)
//! - **AccessDenied** otherwise (an exposure, a full buffer) is retried every eighth of the
//!   interval, slowing down to [`DENIED_MAX`] once it lasts longer than a few frames.
//! - **A cap** (`max_fps`) spaces frame requests on a fixed grid; requests further apart than
//!   the longest possible interval always find a new frame, so they are not aimed.

use std::collections::VecDeque;
use std::time::Duration;

/// The frame interval of the slowest body the learning plans for (24 fps): while the interval
/// is unknown, three polls span at least this, so no such body sees a fourth request within
/// one of its frames.
const SLOWEST: Duration = Duration::from_nanos(41_666_667);
/// Longest pause between AccessDenied retries once a refusal lasts (an exposure, a full
/// buffer).
pub(crate) const DENIED_MAX: Duration = Duration::from_millis(250);
/// The widest gap between two requests that still pins a boundary before the interval is
/// known: below one frame of a 60 fps body, so it cannot hold two boundaries.
const BOOTSTRAP_SIGHTING: Duration = Duration::from_millis(16);
/// Sightings kept for the interval's estimate.
const SIGHTINGS: usize = 16;
/// Look again at least after this many frames (a body that changed its rate is noticed).
const MAX_FRAMES_UNSEEN: f64 = 600.0;
/// Frames between two probes for a body that became faster (see [`Pacer`]).
const PROBE_EVERY: u64 = 128;
/// The least jitter assumed, for a link whose answer times have not varied yet.
const JITTER_FLOOR: Duration = Duration::from_millis(1);
/// The most requests within one frame interval: a fourth is flooding (the simulated camera
/// counts it so; request floods have locked real bodies until a power cycle).
const MOST_PER_INTERVAL: usize = 3;
/// The lowest request cap, frames a second: a lower, zero, negative or undefined cap is this.
pub const MIN_FPS: f64 = 0.01;
/// Answer times kept for the jitter estimate.
const RTTS: usize = 16;

/// A boundary between two frames, seen between two requests: it lies in `(lo, hi]`
/// (seconds on the link's clock).
#[derive(Clone, Copy, Debug)]
struct Sighting {
    lo: f64,
    hi: f64,
    /// Frames received up to this sighting.
    frames: u64,
    /// Sightings of one chain were joined by requests closer than any frame interval, so no
    /// frame was missed between them and the frames received count the boundaries.
    chain: u64,
}

/// Where the boundary aimed at may be (seconds on the link's clock).
#[derive(Clone, Copy, Debug)]
struct Aim {
    start: f64,
    end: f64,
    safe_until: f64,
}

/// Bounds on the camera's frame interval, seconds.
#[derive(Clone, Copy, Debug)]
struct Interval {
    lo: f64,
    hi: f64,
}

impl Interval {
    fn t(&self) -> f64 {
        (self.lo + self.hi) / 2.0
    }
}

/// The pacing state.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    sightings: VecDeque<Sighting>,
    interval: Option<Interval>,
    /// Send time of the last request the camera looked for a frame for (answered with a frame
    /// or AccessDenied).
    last_request: Option<f64>,
    /// Frames received.
    frames: u64,
    /// Frames taken since the newest sighting (its own frame is 0).
    taken: u64,
    /// The current chain of sightings, and whether it is still unbroken since the newest one.
    chain: u64,
    unbroken: bool,
    /// Retry spacing while looking for a boundary.
    step: Option<f64>,
    /// The boundary aimed at: the earliest and the latest it may be, and the latest request
    /// that still reaches the camera before the next boundary may come (a frame asked for by
    /// then is this boundary's).
    aim: Option<Aim>,
    /// Frames since the last probe, and where to go on when the probe is refused.
    since_probe: u64,
    probe_resume: Option<f64>,
    /// Times the sightings contradicted each other and the learning started over.
    relearned: u64,
    /// Send times of the last [`MOST_PER_INTERVAL`] requests.
    recent: VecDeque<f64>,
    /// How late the last requests went out after they were due (timers, a busy task).
    lateness: VecDeque<f64>,
    /// When the first AccessDenied since the last frame was sent.
    denied_since: Option<f64>,
    /// Answer times of requests without data (AccessDenied), for the jitter.
    rtts: VecDeque<f64>,
    /// Minimum spacing of frame requests (from the request cap), seconds.
    cap: Option<f64>,
    /// The cap's grid: when the last capped frame request was due.
    cap_last: Option<f64>,
    due: f64,
}

/// Boundaries from sighting `a` to sighting `b`: counted along a chain, else the one whole
/// number the interval's bounds allow, and no fewer than the frames received between them
/// (`Some(None)` when several are possible, `None` when none is: the bounds are wrong).
fn frames_between(a: &Sighting, b: &Sighting, bounds: Option<Interval>) -> Option<Option<f64>> {
    let n = if a.chain == b.chain {
        b.frames.saturating_sub(a.frames) as f64
    } else {
        let Some(i) = bounds else {
            return Some(None);
        };
        let received = b.frames.saturating_sub(a.frames) as f64;
        let fewest = ((b.lo - a.hi) / i.hi).ceil().max(received).max(1.0);
        let most = ((b.hi - a.lo) / i.lo).floor();
        if fewest > most {
            return None;
        }
        if fewest < most {
            return Some(None);
        }
        fewest
    };
    Some((n >= 1.0).then_some(n))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The latest link-clock time a due time may be (about 31 years): a time the pacer computed
/// out of range never becomes a `Duration` no clock can wait for.
const LATEST: f64 = 1e9;

fn duration(s: f64) -> Duration {
    // NaN stays NaN through `clamp`, which `try_from_secs_f64` refuses: 0.
    Duration::try_from_secs_f64(s.clamp(0.0, LATEST)).unwrap_or(Duration::ZERO)
}

impl Pacer {
    /// When the next request should be sent, on the link's clock.
    pub(crate) fn due(&self) -> Duration {
        duration(self.due)
    }

    /// The learnt frame interval, if known.
    pub(crate) fn interval(&self) -> Option<Duration> {
        self.interval.map(|i| duration(i.t()))
    }

    /// Sets the request cap (`None` or an infinite rate: no cap). A rate below [`MIN_FPS`],
    /// zero, negative or not a number is [`MIN_FPS`].
    pub(crate) fn set_max_fps(&mut self, max_fps: Option<f64>) {
        self.cap = max_fps
            .filter(|f| *f != f64::INFINITY)
            .map(|f| 1.0 / if f >= MIN_FPS { f } else { MIN_FPS });
        if self.cap.is_none() {
            self.cap_last = None;
        }
    }

    /// Forgets everything learnt (after a pause: a capture, a reconnection); the next request
    /// is due at once.
    pub(crate) fn restart(&mut self) {
        let cap = self.cap;
        *self = Pacer::default();
        self.cap = cap;
    }

    /// The request sent at `sent` was refused without looking for a frame (DeviceBusy, live
    /// view not ready yet): no request before `at`, and the last request tells nothing about
    /// boundaries.
    pub(crate) fn hold(&mut self, sent: Duration, at: Duration) {
        self.note_sent(secs(sent));
        self.last_request = None;
        self.unbroken = false;
        if self.interval.is_none() {
            // Learning needs frames counted between sightings, which a pause may skip.
            self.sightings.clear();
        }
        self.due = self.spaced(secs(at));
    }

    fn note_sent(&mut self, sent: f64) {
        // Lateness is a timer's or a busy task's; the first request had no due time, and one
        // much later than due waited for something else (a command).
        let late = sent - self.due;
        if !self.recent.is_empty() && late < secs(BOOTSTRAP_SIGHTING) / 2.0 {
            if self.lateness.len() == RTTS {
                self.lateness.pop_front();
            }
            self.lateness.push_back(late.max(0.0));
        }
        if self.recent.len() == MOST_PER_INTERVAL {
            self.recent.pop_front();
        }
        self.recent.push_back(sent);
    }

    /// How late requests go out after they are due, at most, recently.
    fn late(&self) -> f64 {
        self.lateness.iter().copied().fold(0.0, f64::max)
    }

    /// `due`, or later if it would be one request too many within one frame interval (the
    /// longest it may be, or before the interval is known the span of three bootstrap polls).
    fn spaced(&self, due: f64) -> f64 {
        if self.recent.len() < MOST_PER_INTERVAL {
            return due;
        }
        // The camera may look at the oldest late and at the next early, by the jitter. While
        // learning, the polls keep their own spacing (three of them span the interval of a
        // 24 fps body when the answer times do not vary; a wider margin would cost the
        // sightings learning needs).
        let span = self
            .model()
            .map_or(self.bootstrap_poll() * MOST_PER_INTERVAL as f64, |i| {
                i.hi + self.jitter()
            });
        let oldest = self.recent.front().copied().unwrap_or(f64::MIN);
        due.max(oldest + span)
    }

    /// The interval's bounds once they are narrow enough to aim by (within about a quarter of
    /// it); until then the stream polls densely, which keeps counting frames exactly.
    fn model(&self) -> Option<Interval> {
        self.interval.filter(|i| i.hi - i.lo <= i.lo / 4.0)
    }

    /// The smallest interval the camera may have: the learnt lower bound, and no less than one
    /// frame of a 60 fps body.
    fn shortest(&self) -> f64 {
        self.interval
            .map_or(0.0, |i| i.lo)
            .max(secs(BOOTSTRAP_SIGHTING))
    }

    /// How much later than its request the camera may look: three quarters of the spread of
    /// the recent AccessDenied round trips (which carry no data; the request's way is about
    /// half of it, and a margin costs less than a contradiction), and never less than
    /// [`JITTER_FLOOR`]. Too low an estimate shows as sightings that contradict each other, and
    /// the learning starts over.
    fn jitter(&self) -> f64 {
        let max = self.rtts.iter().copied().fold(0.0, f64::max);
        let min = self.rtts.iter().copied().fold(max, f64::min);
        ((max - min) * 0.75).max(secs(JITTER_FLOOR))
    }

    /// Poll spacing while the interval is unknown: three polls span [`SLOWEST`] plus the
    /// jitter, so a 24 fps body never sees a fourth request within one frame; but when that
    /// would let two boundaries of a 60 fps body fit between two polls as they really go out
    /// (more than about 1.5 ms of jitter and lateness together), closer, so that learning
    /// still works, at the cost of an extra request within a slow body's first few frames.
    fn bootstrap_poll(&self) -> f64 {
        let jitter = self.jitter();
        let spread = (secs(SLOWEST) + jitter) / MOST_PER_INTERVAL as f64;
        let fits = (secs(BOOTSTRAP_SIGHTING) - jitter) * 0.95 - self.late();
        spread.min(fits).max(0.005)
    }

    /// The camera answered AccessDenied to a request sent at `sent`, answered at `answered`.
    pub(crate) fn denied(&mut self, sent: Duration, answered: Duration) {
        let (sent, answered) = (secs(sent), secs(answered));
        if self.rtts.len() == RTTS {
            self.rtts.pop_front();
        }
        self.rtts.push_back((answered - sent).max(0.0));
        self.note_sent(sent);
        if let Some(resume) = self.probe_resume.take() {
            // The probe found nothing new, as it should: on to the frame it went before. (The
            // boundary it would pin lies within half an interval, looser than the model's.)
            self.last_request = None;
            self.due = self.spaced(answered.max(resume));
            return;
        }
        self.last_request = Some(sent);
        let since = *self.denied_since.get_or_insert(sent);
        let step = self.step.unwrap_or_else(|| self.bootstrap_poll());
        // Refused for longer than a few frames: the camera has no live view now (an exposure,
        // a full buffer); ask less often.
        let long = self.interval.map_or(0.25, |i| 4.0 * i.t());
        let pause = if sent - since > long {
            (step * (sent - since) / long).min(secs(DENIED_MAX))
        } else {
            step
        };
        self.due = self.spaced(answered.max(sent + pause));
    }

    /// A new frame arrived for a request sent at `sent`, answered at `answered`.
    pub(crate) fn frame(&mut self, sent: Duration, answered: Duration) {
        let (sent, answered) = (secs(sent), secs(answered));
        self.note_sent(sent);
        self.frames += 1;
        self.taken += 1;
        self.since_probe += 1;
        self.probe_resume = None;
        let previous = self.last_request.replace(sent);
        self.denied_since = None;
        // The boundaries since the last frame lie after the previous request (which found
        // none, or took that frame); when it was closer than the shortest interval there is
        // one, a sighting. A frame asked for before the next boundary could come is the one
        // aimed at. Otherwise a frame may have been missed: the chain breaks.
        let jitter = self.jitter();
        let aimed = self.aim.take().filter(|a| sent <= a.safe_until);
        match (previous, aimed) {
            // Not when the window aimed at is narrower: after a request that went out late
            // (a timer, a busy task), the next one, on time, may come just under the shortest
            // interval after it, and a sighting nearly a frame wide would become the newest
            // one the next window is drawn from (and the stream would look again at once).
            (Some(r), a)
                if sent - r + jitter < self.shortest()
                    && a.is_none_or(|a| sent + jitter - r < a.end - a.start) =>
            {
                self.sight(r, sent)
            }
            // The boundary aimed at lies after the previous request (which found none) and
            // the earliest it could be; a sighting when that narrows the window.
            (_, Some(a)) => {
                let lo = previous.map_or(a.start, |r| r.max(a.start));
                if sent + jitter - lo < a.end - a.start {
                    self.sight(lo, sent);
                }
            }
            _ => self.unbroken = false,
        }
        let next = answered.max(self.next_frame_due(sent));
        let next = self.spaced(next);
        // Now and then, ask again after half the shortest interval: a body that became faster
        // answers with a frame, which contradicts the model (a slower one shows by itself, in
        // AccessDenied answers).
        let probe = self.spaced(sent + self.shortest() / 2.0);
        if self.since_probe >= PROBE_EVERY
            && self.step.is_none()
            && probe > answered
            && probe < next
        {
            self.since_probe = 0;
            self.probe_resume = Some(next);
            self.due = probe;
        } else {
            self.due = next;
        }
    }

    /// One boundary lies between the requests sent at `r` and `s` (the first found no new
    /// frame or took the one before, the second a new one, and they were closer than the
    /// shortest interval).
    fn sight(&mut self, r: f64, s: f64) {
        let jitter = self.jitter();
        if !self.unbroken {
            self.chain += 1;
        }
        self.unbroken = true;
        // The camera looks at a request a little after it was sent, by up to the jitter.
        let seen = Sighting {
            lo: r,
            hi: s + jitter,
            frames: self.frames,
            chain: self.chain,
        };
        if self.sightings.len() == SIGHTINGS {
            // Keep the oldest (the longest baseline); drop the one after it.
            self.sightings.remove(1);
        }
        self.sightings.push_back(seen);
        self.taken = 0;
        if !self.learn() {
            tracing::debug!("live view: a frame boundary off the learnt interval; learning again");
            self.sightings.clear();
            self.relearned += 1;
            self.sightings.push_back(seen);
            self.interval = None;
        }
    }

    /// Bounds the interval by every pair of sightings; false when they contradict each other
    /// (the body changed its rate, or the jitter was underestimated).
    fn learn(&mut self) -> bool {
        self.bound().is_some()
    }

    /// [`Pacer::learn`]'s work; `None` on a contradiction.
    fn bound(&mut self) -> Option<()> {
        let mut bounds = self.interval;
        // Twice: bounds from the first pass make more frame counts unambiguous.
        for _ in 0..2 {
            let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
            for (i, a) in self.sightings.iter().enumerate() {
                for b in self.sightings.iter().skip(i + 1) {
                    let Some(n) = frames_between(a, b, bounds)? else {
                        continue;
                    };
                    lo = lo.max((b.lo - a.hi) / n);
                    hi = hi.min((b.hi - a.lo) / n);
                }
            }
            if hi.is_infinite() {
                return Some(());
            }
            if lo > hi {
                return None;
            }
            bounds = Some(Interval { lo, hi });
        }
        self.interval = bounds;
        Some(())
    }

    /// When to ask for the frame after the one asked for at `sent`.
    fn next_frame_due(&mut self, sent: f64) -> f64 {
        let capped = self.cap.map(|c| {
            let next = self.cap_last.map_or(sent + c, |n| n + c);
            // Fallen behind (a command, a pause): the grid starts again from here.
            let next = if next < sent { sent + c } else { next };
            self.cap_last = Some(next);
            next
        });
        let (Some(i), Some(last)) = (self.model(), self.sightings.back().copied()) else {
            // Still learning: poll densely for the next boundary (the cap still applies).
            self.aim = None;
            let poll = sent + self.bootstrap_poll();
            return capped.map_or(poll, |c| c.max(poll));
        };
        let jitter = self.jitter();
        if let Some(at) = capped {
            // Requests further apart than a frame always find a new one: no need to aim.
            if at - sent >= i.hi + jitter {
                self.aim = None;
                return at;
            }
        }
        // Where boundary `k` after the newest sighting may be.
        let window = |k: f64| (last.lo + k * i.lo, last.hi + k * i.hi);
        // The next boundary not taken yet; one that surely passed before `sent` was taken
        // (this frame is at least that one).
        let mut k = self.taken as f64 + 1.0;
        while window(k).1 <= sent && k < MAX_FRAMES_UNSEEN {
            k += 1.0;
            // A frame went by unseen.
            self.unbroken = false;
        }
        self.taken = (k - 1.0) as u64;
        let (start, end) = window(k);
        self.aim = Some(Aim {
            start,
            end,
            safe_until: window(k + 1.0).0 - jitter,
        });
        let t = i.t();
        // Aimed just after the latest the boundary may be, the request still reaches the camera
        // before the earliest the next boundary may be, with an eighth of an interval to spare.
        let fits = (end - start) + jitter + t / 8.0 < i.lo;
        let aim = if fits && k < MAX_FRAMES_UNSEEN {
            // Just after the latest the boundary may be.
            self.step = None;
            end + t / 32.0
        } else {
            // Too uncertain: look. Ask in the middle of the window: a frame there puts the
            // boundary in its first half; AccessDenied in its second, and the stream retries
            // every eighth of an interval until the frame comes (the new sighting is that
            // precise).
            self.step = Some((t / 8.0).max(0.001));
            // Never so late that the next boundary may have come too.
            let latest = window(k + 1.0).0 - jitter - t / 32.0;
            ((start + end) / 2.0).min(latest).max(start)
        };
        capped.map_or(aim, |c| c.max(aim))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A model camera: a frame every `t` from `phase`; a request the camera looks at when
    /// `at` gets a new frame unless it already had that one. Jitter comes from a fixed
    /// pseudo-random sequence.
    struct Model {
        t: f64,
        phase: f64,
        last: Option<i64>,
        seed: u64,
        /// Requests go out up to this late after they are due (a timer, a busy task).
        late: f64,
    }

    impl Model {
        fn new(fps: f64) -> Model {
            Model {
                t: 1.0 / fps,
                phase: 0.0123,
                last: None,
                seed: 0x2545_F491_4F6C_DD1D,
                late: 0.0,
            }
        }

        fn rand(&mut self) -> f64 {
            self.seed ^= self.seed << 13;
            self.seed ^= self.seed >> 7;
            self.seed ^= self.seed << 17;
            (self.seed % 10_000) as f64 / 10_000.0
        }

        fn serve(&mut self, at: f64) -> bool {
            let n = ((at - self.phase) / self.t).floor() as i64;
            if self.last == Some(n) {
                false
            } else {
                self.last = Some(n);
                true
            }
        }
    }

    /// What a run did.
    struct Run {
        /// Requests the camera would count as flooding.
        flooding: u32,
        requests: u32,
        /// Frames received over frames the camera made from the first one received.
        share: f64,
        requests_per_frame: f64,
        interval: Option<Duration>,
    }

    /// Runs the pacer against `cam` for `seconds`, each way of a request taking up to `jitter`
    /// and a frame `transfer` more.
    fn run(cam: &mut Model, p: &mut Pacer, jitter: f64, transfer: f64, seconds: f64) -> Run {
        let (mut now, mut frames, mut requests) = (secs(p.due()), 0_u64, 0_u32);
        let mut served_at: VecDeque<f64> = VecDeque::new();
        let mut flooding = 0;
        let mut first = None;
        let end = now + seconds;
        while now < end {
            now = now.max(secs(p.due()));
            if cam.late > 0.0 {
                now += cam.late * cam.rand();
            }
            let sent = now;
            let served = sent + jitter * cam.rand();
            requests += 1;
            // A fourth request within one frame interval is flooding.
            served_at.push_back(served);
            if served_at.len() > MOST_PER_INTERVAL {
                let fourth_back = served_at.pop_front().unwrap();
                flooding += u32::from(served - fourth_back < cam.t);
            }
            if cam.serve(served) {
                frames += 1;
                first.get_or_insert(served);
                now = served + transfer + jitter * cam.rand();
                p.frame(duration(sent), duration(now));
            } else {
                now = served + jitter * cam.rand();
                p.denied(duration(sent), duration(now));
            }
        }
        let made = (end - first.unwrap()) / cam.t;
        Run {
            flooding,
            requests,
            share: frames as f64 / made.floor(),
            requests_per_frame: requests as f64 / frames as f64,
            interval: p.interval(),
        }
    }

    /// 24 to 60 fps, no jitter to 3 ms each way, 20 phases each: every frame the camera makes
    /// from the first one received, with at most 1.1 requests a frame, the interval learnt to
    /// 0.5 %, no flooding, and never a contradiction without jitter.
    #[test]
    fn follows_24_to_60_fps_with_about_one_request_per_frame() {
        for fps in [24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0] {
            for jitter in [0.0, 0.0005, 0.001, 0.002, 0.003] {
                for n in 0..20_u64 {
                    let mut cam = Model::new(fps);
                    cam.phase = 0.0017 * n as f64;
                    cam.seed ^= n * 7919;
                    let mut p = Pacer::default();
                    let r = run(&mut cam, &mut p, jitter, 0.002, 10.0);
                    let what = format!("{fps} fps, jitter {jitter} s, phase {n}");
                    assert!(r.share >= 0.99, "{what}: {}", r.share);
                    assert!(
                        r.requests_per_frame <= 1.1,
                        "{what}: {}",
                        r.requests_per_frame
                    );
                    let t = r.interval.unwrap().as_secs_f64();
                    assert!((t * fps - 1.0).abs() < 0.005, "{what}: learnt {t}");
                    if jitter == 0.0 {
                        assert_eq!(p.relearned, 0, "{what}");
                    }
                    // No fourth request within one frame interval, unless the camera may look at
                    // requests over a millisecond late: then while the interval is being
                    // learnt (the first frames, or again after a contradiction).
                    let most = match jitter {
                        j if j <= 0.0005 => 0,
                        j if j <= 0.001 => 1,
                        _ => r.requests / 20,
                    };
                    assert!(r.flooding <= most, "{what}: {} flooding", r.flooding);
                }
            }
        }
    }

    /// Requests that go out up to 4 ms after they are due (a timer's granularity, a busy
    /// machine) cost no more: a frame asked for on time just after a late request pins its
    /// boundary less closely than the window aimed at, and is not taken for the newest
    /// sighting (which would widen the next window and make the stream look again at once).
    #[test]
    fn requests_that_go_out_late_cost_about_one_request_per_frame() {
        for fps in [24.0, 30.0, 60.0] {
            for late in [0.001, 0.002, 0.004] {
                for n in 0..20_u64 {
                    let mut cam = Model::new(fps);
                    cam.phase = 0.0017 * n as f64;
                    cam.seed ^= n * 7919;
                    cam.late = late;
                    let mut p = Pacer::default();
                    // The camera's own time to answer with a frame: drawing it takes a few ms.
                    let r = run(&mut cam, &mut p, 0.0005, 0.005, 10.0);
                    let what = format!("{fps} fps, up to {late} s late, phase {n}");
                    assert!(r.share >= 0.99, "{what}: {}", r.share);
                    assert!(
                        r.requests_per_frame <= 1.1,
                        "{what}: {}",
                        r.requests_per_frame
                    );
                }
            }
        }
    }

    #[test]
    fn a_slow_link_gets_what_it_can() {
        // Frames take longer to arrive than the camera takes to make them: every request
        // brings a new frame, one every transfer time.
        let r = run(
            &mut Model::new(60.0),
            &mut Pacer::default(),
            0.001,
            0.025,
            10.0,
        );
        assert!(r.requests_per_frame <= 1.05, "{}", r.requests_per_frame);
        assert!(r.share > 0.6, "{}", r.share);
    }

    #[test]
    fn a_body_that_changes_its_rate_is_followed() {
        let mut p = Pacer::default();
        let mut cam = Model::new(30.0);
        run(&mut cam, &mut p, 0.001, 0.002, 10.0);
        for fps in [60.0, 24.0] {
            let (phase, last, seed) = (cam.phase + 0.004, None, cam.seed);
            cam = Model {
                t: 1.0 / fps,
                phase,
                last,
                seed,
                late: 0.0,
            };
            // Within 10 s of the change (probes run every 128 frames).
            run(&mut cam, &mut p, 0.001, 0.002, 10.0);
            let r = run(&mut cam, &mut p, 0.001, 0.002, 10.0);
            assert!(r.share >= 0.99, "{fps} fps: {}", r.share);
            assert!(
                r.requests_per_frame <= 1.1,
                "{fps} fps: {}",
                r.requests_per_frame
            );
        }
    }

    #[test]
    fn a_cap_lowers_the_request_rate() {
        let mut p = Pacer::default();
        p.set_max_fps(Some(10.0));
        let r = run(&mut Model::new(30.0), &mut p, 0.001, 0.002, 10.0);
        // 10 of the camera's 30 frames a second, one request each.
        assert!((r.share - 1.0 / 3.0).abs() < 0.01, "{}", r.share);
        assert!(r.requests_per_frame <= 1.01, "{}", r.requests_per_frame);
    }

    /// An absurd cap is the lowest one (a request every 100 s), and no due time leaves the
    /// range a clock can wait for.
    #[test]
    fn absurd_caps_are_the_lowest_and_due_times_stay_sane() {
        for cap in [1e-310, 0.0, -5.0, f64::NAN, f64::NEG_INFINITY] {
            let mut p = Pacer::default();
            p.set_max_fps(Some(cap));
            p.frame(Duration::from_secs(10), Duration::from_secs(10));
            p.frame(Duration::from_secs(110), Duration::from_secs(110));
            let due = p.due();
            assert!(
                due <= Duration::from_secs(210) && due >= Duration::from_secs(200),
                "cap {cap}: due {due:?}"
            );
        }
        let mut p = Pacer::default();
        p.set_max_fps(Some(f64::INFINITY));
        assert_eq!(p.cap, None);
        assert_eq!(duration(f64::INFINITY), duration(LATEST));
        assert_eq!(duration(f64::NAN), Duration::ZERO);
    }

    #[test]
    fn a_long_refusal_is_asked_less_and_less_often() {
        let mut p = Pacer::default();
        let r = run(&mut Model::new(30.0), &mut p, 0.0, 0.002, 2.0);
        assert!(r.interval.is_some());
        // An exposure: 5 s of AccessDenied.
        let start = secs(p.due());
        let mut now = start;
        let mut asked = 0;
        while now < start + 5.0 {
            asked += 1;
            p.denied(duration(now), duration(now + 0.001));
            now = secs(p.due());
        }
        // Every 250 ms at most once it lasts: about 20 in 5 s, plus the first quick retries.
        assert!(asked < 60, "{asked} requests");
        assert!(secs(p.due()) - now <= secs(DENIED_MAX));
    }
}
