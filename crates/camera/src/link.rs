//! The facade's handle on a [`Transport`]: whichever way the camera is reached (PTP/IP, USB,
//! or the simulated camera in this process), the facade asks the same things of it, and waits
//! on the transport's clock so that virtual time stays virtual.

use std::time::{Duration, Instant};

use sonyctl_ptp::{Event, Operation, Response};
#[cfg(feature = "sim")]
use sonyctl_sim::SimulatedCamera;
#[cfg(feature = "sim")]
pub use sonyctl_transport::SimClock;
use sonyctl_transport::{DataSink, SizeSink, Trace, Transport, TransportError};

/// A way to reach a camera.
pub struct Link(Box<dyn Transport>);

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Link").field(&self.0.name()).finish()
    }
}

impl Link {
    /// A link over `transport`.
    pub fn new(transport: impl Transport + 'static) -> Link {
        Link(Box::new(transport))
    }

    /// The simulated `camera` in this process, connected, on `clock`.
    #[cfg(feature = "sim")]
    pub fn sim(camera: SimulatedCamera, clock: SimClock) -> Link {
        Link::new(sonyctl_transport::SimLink::new(camera, clock))
    }

    /// Records the traffic into `trace`. A transport that cannot record says so; a PTP/IP or
    /// USB link is usually given its trace when it connects.
    pub fn with_trace(mut self, trace: Option<Trace>) -> Result<Link, TransportError> {
        if trace.is_some() {
            self.0.set_trace(trace)?;
        }
        Ok(self)
    }

    /// A short name of the transport (`"USB"`, `"PTP/IP"`, …).
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// One transaction; the camera's data (at most `max_data` bytes) is returned whole.
    pub async fn transact(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
        max_data: u64,
    ) -> Result<(Response, Option<Vec<u8>>), TransportError> {
        self.0.transact(op, data_out, max_data).await
    }

    /// One transaction whose data (at most `max_data` bytes) is handed to `sink` in pieces as it
    /// arrives, after its total size is given to `on_size`. A sink that fails stops the transfer
    /// ([`TransportError::Aborted`]); the connection must then be renewed ([`Link::reconnect`]).
    pub async fn transact_streaming(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
        max_data: u64,
        on_size: &mut SizeSink<'_>,
        sink: &mut DataSink<'_>,
    ) -> Result<Response, TransportError> {
        self.0
            .transact_streaming(op, data_out, max_data, on_size, sink)
            .await
    }

    /// Connects again after the link failed or was closed (the session handshake is the
    /// caller's). For the simulated camera this is a new host connection to the same body, so
    /// its buffer and settings are still there, as on a real camera.
    pub async fn reconnect(&mut self) -> Result<(), TransportError> {
        self.0.reconnect().await
    }

    /// The simulated camera behind this link, if it is one (tests look inside it).
    #[cfg(feature = "sim")]
    pub fn simulated(&self) -> Option<&SimulatedCamera> {
        self.0.simulated()
    }

    /// The simulated camera behind this link, to act as its owner (press its shutter button…).
    #[cfg(feature = "sim")]
    pub fn simulated_mut(&mut self) -> Option<&mut SimulatedCamera> {
        self.0.simulated_mut()
    }

    /// The current time on the link's clock (virtual for a simulated camera on virtual time).
    pub fn now(&self) -> Duration {
        self.0.now()
    }

    /// Time since `start` on this link's clock (the simulated camera's clock for a simulated
    /// link, the wall clock otherwise).
    pub fn elapsed_since(&self, start: Instant) -> Duration {
        self.0.elapsed_since(start)
    }

    /// Waits until `at` on [`Link::now`]'s clock (at once if it has passed).
    pub async fn sleep_until(&mut self, at: Duration) {
        let now = self.now();
        if at > now {
            self.sleep(at - now).await;
        }
    }

    /// Waits (for the simulated camera on a virtual clock, time just moves on).
    pub async fn sleep(&mut self, d: Duration) {
        self.0.sleep(d).await
    }

    /// Waits up to `limit` for events; returns those that arrived (possibly none).
    pub async fn wait_events(&mut self, limit: Duration) -> Vec<Event> {
        let first = self.take_events();
        if !first.is_empty() {
            return first;
        }
        match self.0.next_event(limit).await {
            Some(ev) => std::iter::once(ev)
                .chain(std::iter::from_fn(|| self.0.try_event()))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Events that have arrived, oldest first (does not wait).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.0.try_event()).collect()
    }
}
