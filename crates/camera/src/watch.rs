//! Watching a camera: which settings changed, and when images arrive.
//!
//! Events (0xC203 and friends) are hints: some bodies never send them. So a watch waits up to a
//! poll interval for an event, then reads every property (0x9209) and compares it with what it
//! saw last. The starting values are the baseline, not changes.
//!
//! A watch outlives the connection: when a read fails it reports the loss, reconnects on its
//! next calls (a camera plugged in again, back in range), reports the return, and shows what
//! changed meanwhile as changes. It gives up only when the camera stayed away longer than its
//! reconnection budget.

use std::time::Duration;

use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::PendingImages;

use crate::{Camera, CameraError, SharedError};

/// Something a watch noticed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// A property changed.
    Changed {
        /// Which.
        code: PropertyCode,
        /// Before.
        old: Value,
        /// Now.
        new: Value,
    },
    /// More images are waiting in the camera's buffer (count now).
    NewImages(u16),
    /// Reading the camera failed (the connection dropped, or the camera answered nonsense):
    /// the next calls reconnect.
    ConnectionLost {
        /// Why, as a message.
        error: SharedError,
    },
    /// The camera is back; changes made while it was away follow as [`WatchEvent::Changed`].
    ConnectionRestored,
}

/// How long one reconnection attempt may take, so that a caller's own deadline and Ctrl-C
/// are looked at in between.
const ATTEMPT: Duration = Duration::from_secs(2);

/// How long a watch waits for a lost camera unless told otherwise.
const DEFAULT_BUDGET: Duration = Duration::from_secs(30);

/// A lost connection.
#[derive(Debug)]
struct Lost {
    error: SharedError,
    /// When it was lost, on the link's clock.
    since: Duration,
}

/// A property watch (holds the last values seen).
#[derive(Debug)]
pub struct Watch {
    last: Vec<(PropertyCode, Value)>,
    ready: u16,
    lost: Option<Lost>,
    budget: Duration,
}

fn ready_count(v: Option<&Value>) -> u16 {
    v.and_then(Value::as_u64)
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| PendingImages::from_raw(n).ready_count())
        .map_or(0, u16::from)
}

impl Watch {
    /// Reads the starting values.
    pub async fn start(cam: &mut Camera) -> Result<Watch, CameraError> {
        let props = cam.properties().await?;
        let last: Vec<(PropertyCode, Value)> = props
            .properties
            .into_iter()
            .map(|d| (d.code, d.current))
            .collect();
        let ready = ready_count(
            last.iter()
                .find(|(c, _)| *c == prop::PENDING_IMAGES)
                .map(|(_, v)| v),
        );
        Ok(Watch {
            last,
            ready,
            lost: None,
            budget: DEFAULT_BUDGET,
        })
    }

    /// How long to keep reconnecting after the connection was lost (30 s unless set;
    /// `Duration::MAX` waits for as long as the caller goes on calling).
    pub fn with_reconnect_budget(mut self, budget: Duration) -> Watch {
        self.budget = budget;
        self
    }

    /// False from a [`WatchEvent::ConnectionLost`] until the [`WatchEvent::ConnectionRestored`].
    pub fn is_connected(&self) -> bool {
        self.lost.is_none()
    }

    /// The error that lost the connection, if it is lost now (for a caller that stops
    /// watching while the camera is away).
    pub fn into_lost_error(self) -> Option<CameraError> {
        self.lost.map(|l| CameraError::Shared(l.error))
    }

    /// Waits up to `poll` for an event, then reads the properties and returns what changed.
    ///
    /// While the connection is lost, a call instead tries to reconnect for about 2 s and
    /// returns nothing if the camera is not back yet. It fails, with the error that lost the
    /// connection, once the camera stayed away longer than the reconnection budget; a call
    /// after that starts over.
    pub async fn next(
        &mut self,
        cam: &mut Camera,
        poll: Duration,
    ) -> Result<Vec<WatchEvent>, CameraError> {
        let mut out = Vec::new();
        if let Some(lost) = &self.lost {
            let away = cam.link().now().saturating_sub(lost.since);
            if away >= self.budget {
                return match self.lost.take() {
                    Some(l) => Err(CameraError::Shared(l.error)),
                    None => Ok(out),
                };
            }
            if cam
                .reconnect(ATTEMPT.min(self.budget - away))
                .await
                .is_err()
            {
                return Ok(out);
            }
            self.lost = None;
            out.push(WatchEvent::ConnectionRestored);
        } else {
            cam.wait_events(poll).await;
        }
        match cam.properties().await {
            Ok(props) => self.compare(props, &mut out),
            // A busy or refusing camera is still connected: keep the link and read again next
            // time (a reconnection would cost a handshake for nothing).
            Err(error)
                if !(error.is_connection_lost() || matches!(error, CameraError::Decode { .. })) =>
            {
                tracing::warn!("reading the camera's settings: {error}; trying again");
            }
            Err(error) => {
                let error = SharedError(std::sync::Arc::new(error));
                out.push(WatchEvent::ConnectionLost {
                    error: error.clone(),
                });
                self.lost = Some(Lost {
                    error,
                    since: cam.link().now(),
                });
            }
        }
        Ok(out)
    }

    /// Adds what changed since the last read to `out`, and remembers the new values.
    fn compare(&mut self, props: sonyctl_sony::AllPropInfo, out: &mut Vec<WatchEvent>) {
        for d in props.properties {
            match self.last.iter_mut().find(|(c, _)| *c == d.code) {
                Some((_, old)) if *old != d.current => {
                    out.push(WatchEvent::Changed {
                        code: d.code,
                        old: std::mem::replace(old, d.current.clone()),
                        new: d.current.clone(),
                    });
                }
                Some(_) => {}
                None => self.last.push((d.code, d.current.clone())),
            }
            if d.code == prop::PENDING_IMAGES {
                let ready = ready_count(Some(&d.current));
                if ready > self.ready {
                    out.push(WatchEvent::NewImages(ready));
                }
                self.ready = ready;
            }
        }
    }
}

impl Camera {
    /// Waits up to `limit` for the camera to send an event (returns at once if one is waiting).
    pub async fn wait_events(&mut self, limit: Duration) -> Vec<sonyctl_ptp::Event> {
        let events = self.conn.link.wait_events(limit).await;
        if !events.is_empty() {
            // Something changed: the cached properties are stale.
            self.invalidate_cache();
        }
        events
    }
}
