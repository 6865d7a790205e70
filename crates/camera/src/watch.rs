//! Watching a camera: which settings changed, and when images arrive.
//!
//! Events (0xC203 and friends) are hints: some bodies never send them. So a watch waits up to a
//! poll interval for an event, then reads every property (0x9209) and compares it with what it
//! saw last. The starting values are the baseline, not changes.

use std::time::Duration;

use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::PendingImages;

use crate::{Camera, CameraError};

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
}

/// A property watch (holds the last values seen).
#[derive(Debug)]
pub struct Watch {
    last: Vec<(PropertyCode, Value)>,
    ready: u16,
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
        Ok(Watch { last, ready })
    }

    /// Waits up to `poll` for an event, then reads the properties and returns what changed.
    pub async fn next(
        &mut self,
        cam: &mut Camera,
        poll: Duration,
    ) -> Result<Vec<WatchEvent>, CameraError> {
        cam.wait_events(poll).await;
        let props = cam.properties().await?;
        let mut out = Vec::new();
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
        Ok(out)
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
