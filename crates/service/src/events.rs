//! Events for any number of front ends, and what a consumer that fell behind is told.
//!
//! Events go out on a bounded `tokio::sync::broadcast` ring: the service never waits for a
//! consumer. One that falls more than the ring's capacity behind loses the oldest events and is
//! told how many, together with the current [`Status`], so it can redraw from the snapshot
//! instead of replaying history.
//!
//! ## Live view
//!
//! Live-view frames (tens of kilobytes each, many a second) do not travel on this ring: a burst
//! of frames would push property changes and exposure updates out of every slow consumer's
//! reach. They have their own channel ([`ServiceHandle::live_view`](crate::ServiceHandle::live_view),
//! a `tokio::sync::watch` holding only the newest frame), fed by the service task between
//! commands; a consumer that lags skips to the newest frame and counts what it missed
//! ([`LiveViewSubscription::skipped`](crate::LiveViewSubscription::skipped)).

use sonyctl_camera::Downloaded;
use sonyctl_ptp::{PropertyCode, Value};
use tokio::sync::{broadcast, watch};

use crate::status::Status;
use sonyctl_camera::SharedError;
use sonyctl_camera::capture::ExposureStatus;

/// Something the camera or the service did.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A property changed (seen by a watch poll, an event, or after a command).
    PropertyChanged {
        /// Which.
        code: PropertyCode,
        /// Its name, or its code in hex.
        name: String,
        /// Before, raw.
        old: Value,
        /// Now, raw.
        new: Value,
        /// Before, as displayed.
        old_display: String,
        /// Now, as displayed.
        new_display: String,
    },
    /// More images wait in the camera's buffer (the count now).
    ImagesWaiting(u16),
    /// An image was saved, complete.
    NewImage(Downloaded),
    /// The exposure state or progress changed (the facade's report, as it came).
    Exposure(ExposureStatus),
    /// The connection was lost; the service's watch is reconnecting. The error keeps its kind
    /// (a USB failure is still one), so a front end can advise.
    ConnectionLost(SharedError),
    /// The connection is back (the handshake ran again).
    ConnectionRestored,
    /// This consumer fell behind and `missed` events were dropped for it; `status` is the
    /// snapshot now.
    Lagged {
        /// Events this consumer will never see.
        missed: u64,
        /// The status when the lag was noticed.
        status: Status,
    },
}

/// One consumer's view of the events.
#[derive(Debug)]
pub struct EventStream {
    rx: broadcast::Receiver<Event>,
    status: watch::Receiver<Status>,
}

impl EventStream {
    pub(crate) fn new(rx: broadcast::Receiver<Event>, status: watch::Receiver<Status>) -> Self {
        EventStream { rx, status }
    }

    /// The next event; [`Event::Lagged`] when this consumer fell behind; `None` once the
    /// service has ended and every event was read.
    pub async fn next(&mut self) -> Option<Event> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(Event::Lagged {
                missed,
                status: self.status.borrow().clone(),
            }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting (never waits); lag is reported as by [`next`](Self::next).
    pub fn try_next(&mut self) -> Option<Event> {
        match self.rx.try_recv() {
            Ok(e) => Some(e),
            Err(broadcast::error::TryRecvError::Lagged(missed)) => Some(Event::Lagged {
                missed,
                status: self.status.borrow().clone(),
            }),
            Err(_) => None,
        }
    }
}
