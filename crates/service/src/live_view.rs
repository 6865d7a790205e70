//! Live view for any number of consumers: one camera stream, the newest frame for each.
//!
//! The task runs one [`LiveView`](sonyctl_camera::LiveView) stream while at least one
//! [`LiveViewSubscription`] exists. Frames go out through a `tokio::sync::watch` holding only
//! the newest frame: the task replaces it and never waits for anyone, so a slow consumer skips
//! frames (and counts them in [`LiveViewSubscription::skipped`]) without slowing the camera or
//! the other consumers. A consumer that joins late (during an exposure, while live view is
//! refused) can have the newest frame the task already published at once
//! ([`LiveViewSubscription::newest`]), without waiting for the next.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sonyctl_camera::{LiveFrame, LiveViewOptions, SharedError};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::ServiceError;

/// Who wants live view, and how fast: what the subscriptions ask of the task.
#[derive(Debug, Default)]
pub(crate) struct Demand {
    /// Each subscription's cap, by its id.
    members: BTreeMap<u64, Option<f64>>,
    next_id: u64,
}

impl Demand {
    /// True while anybody watches.
    pub(crate) fn wanted(&self) -> bool {
        !self.members.is_empty()
    }

    /// The stream's request cap: the highest of the subscriptions' caps, none if any has none.
    pub(crate) fn max_fps(&self) -> Option<f64> {
        self.members
            .values()
            .try_fold(0.0_f64, |hi, cap| cap.map(|c| hi.max(c)))
    }
}

/// What the stream publishes: the newest frame, and the trouble it is in.
#[derive(Debug, Default)]
pub(crate) struct Newest {
    /// The newest frame the stream produced (`None` before the first).
    pub(crate) frame: Option<Arc<LiveFrame>>,
    /// When `frame` was published.
    pub(crate) published: Option<Instant>,
    /// The failure that began the current run of failures (numbered by `episodes`), until a
    /// frame comes or the stream starts again.
    pub(crate) trouble: Option<(u64, SharedError)>,
    /// Runs of failures so far.
    pub(crate) episodes: u64,
}

impl Newest {
    /// Publishes `frame`: the newest now, and the end of any run of failures.
    pub(crate) fn publish(&mut self, frame: Arc<LiveFrame>) {
        self.frame = Some(frame);
        self.published = Some(Instant::now());
        self.trouble = None;
    }
}

/// The newest frame a subscription can have at once ([`LiveViewSubscription::newest`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NewestFrame {
    /// The frame.
    pub frame: Arc<LiveFrame>,
    /// How long ago the service published it.
    pub age: Duration,
    /// True when the frame is of the stream's current run: it came after this subscription
    /// joined, or the stream already ran for others then (an exposure, a refused live view or
    /// a lost connection may keep a frame the newest for long). False when the stream was
    /// stopped when this subscription joined: the frame is left from an earlier run, and the
    /// next is on its way.
    pub watched: bool,
}

/// What the service's handles share to join the stream.
#[derive(Debug, Clone)]
pub(crate) struct Hub {
    pub(crate) demand: Arc<watch::Sender<Demand>>,
    pub(crate) frames: watch::Receiver<Newest>,
}

impl Hub {
    pub(crate) fn join(&self, options: LiveViewOptions) -> LiveViewSubscription {
        let mut id = 0;
        let mut watched = false;
        self.demand.send_modify(|d| {
            watched = d.wanted();
            id = d.next_id;
            d.next_id += 1;
            d.members.insert(id, options.max_fps);
        });
        let mut frames = self.frames.clone();
        // Frames produced before joining are neither returned by `next` nor counted as skipped.
        let last = frames
            .borrow_and_update()
            .frame
            .as_ref()
            .map_or(0, |f| f.sequence);
        LiveViewSubscription {
            frames,
            last,
            given: 0,
            joined: last,
            // Trouble going on when joining is heard (the stream is failing now).
            heard: 0,
            skipped: 0,
            watched,
            demand: self.demand.clone(),
            id,
        }
    }
}

/// One consumer of the camera's live view. Dropping it leaves; the camera's stream stops after
/// the last subscription is dropped.
#[derive(Debug)]
pub struct LiveViewSubscription {
    frames: watch::Receiver<Newest>,
    /// Sequence number of the last frame returned (or the newest when joining): `next`
    /// returns only newer ones.
    last: u64,
    /// Sequence number of the last frame returned by `next` or `newest` (0 before any).
    given: u64,
    /// The last run of failures returned.
    heard: u64,
    skipped: u64,
    /// The newest frame's sequence number when joining.
    joined: u64,
    /// The stream ran for others when this subscription joined.
    watched: bool,
    demand: Arc<watch::Sender<Demand>>,
    id: u64,
}

impl LiveViewSubscription {
    /// The newest frame newer than the last one this subscription returned (a slow consumer
    /// skips frames). `Err(ServiceError::LiveView)` once when the camera's stream starts failing
    /// (live view refused, never ready: the stream keeps trying, less and less often), and the
    /// next call waits for frames again; `Err(ServiceError::Ended)` when the service ends.
    pub async fn next(&mut self) -> Result<Arc<LiveFrame>, ServiceError> {
        loop {
            let (newest, trouble) = {
                let n = self.frames.borrow_and_update();
                (n.frame.clone(), n.trouble.clone())
            };
            if let Some(f) = newest {
                if f.sequence > self.last {
                    self.skipped += f.sequence - self.last - 1;
                    self.last = f.sequence;
                    self.given = f.sequence;
                    return Ok(f);
                }
            }
            if let Some((episode, error)) = trouble {
                if episode > self.heard {
                    self.heard = episode;
                    return Err(ServiceError::LiveView(error));
                }
            }
            self.frames
                .changed()
                .await
                .map_err(|_| ServiceError::Ended)?;
        }
    }

    /// The newest frame the stream has published, at once, whether it came before this
    /// subscription joined or not (`None` before the stream's first frame, or when it is not
    /// newer than the last one this subscription returned). [`next`](Self::next) then returns
    /// only frames newer than it. A client that joins during an exposure, or while live view
    /// is refused, has a picture at once this way; [`NewestFrame::watched`] and
    /// [`NewestFrame::age`] say how current it is.
    pub fn newest(&mut self) -> Option<NewestFrame> {
        let (frame, published) = {
            let n = self.frames.borrow();
            (n.frame.clone()?, n.published)
        };
        if frame.sequence <= self.given {
            return None;
        }
        self.given = frame.sequence;
        self.last = self.last.max(frame.sequence);
        Some(NewestFrame {
            watched: self.watched || frame.sequence > self.joined,
            age: published.map_or(Duration::ZERO, |t| t.elapsed()),
            frame,
        })
    }

    /// Frames the stream produced that this subscription never returned.
    pub fn skipped(&self) -> u64 {
        let newest = self
            .frames
            .borrow()
            .frame
            .as_ref()
            .map_or(self.last, |f| f.sequence);
        // The newest frame may still be returned; those between it and the last are lost.
        self.skipped + newest.saturating_sub(self.last).saturating_sub(1)
    }
}

impl Drop for LiveViewSubscription {
    fn drop(&mut self) {
        let id = self.id;
        self.demand.send_modify(|d| {
            d.members.remove(&id);
        });
    }
}
