//! The [`Transport`] trait: what the camera facade needs from any way of reaching a camera
//! (PTP/IP, USB, the simulated camera in this process), and nothing about how each does it.
//!
//! Methods a transport cannot carry out have defaults that answer
//! [`TransportError::NotSupported`], so a new transport starts from the few it must provide.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sonyctl_ptp::{Event, Operation, Response};

use crate::{Trace, TransportError};

/// A boxed future borrowing the transport: what makes [`Transport`] usable as `dyn Transport`
/// without a macro crate.
pub type TransportFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A transaction's response and its whole data phase (`None`: there was none).
pub type Collected = (Response, Option<Vec<u8>>);

/// Called once with the data phase's total size before the first piece.
pub type SizeSink<'a> = dyn FnMut(u64) -> Result<(), TransportError> + Send + 'a;

/// Called with each piece of a data phase as it arrives; an error stops the transfer.
pub type DataSink<'a> = dyn FnMut(&[u8]) -> Result<(), TransportError> + Send + 'a;

/// The wall-clock origin of [`Transport::now`] for transports without a clock of their own.
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// One way of carrying PTP transactions and events between this host and a camera.
pub trait Transport: Send {
    /// A short name for messages (`"PTP/IP"`, `"USB"`, …).
    fn name(&self) -> &'static str;

    /// One transaction whose data (at most `max_data` bytes) is handed to `sink` in pieces as
    /// it arrives, after its total size is given to `on_size`. A sink that fails stops the
    /// transfer; the connection must then be renewed ([`Transport::reconnect`]).
    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<Response, TransportError>>;

    /// One transaction; the camera's data (at most `max_data` bytes) is returned whole, or
    /// `None` when there was no data phase.
    fn transact<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
    ) -> TransportFuture<'a, Result<Collected, TransportError>> {
        Box::pin(async move {
            let mut data: Option<Vec<u8>> = None;
            let response = {
                let sized = &mut data;
                // The buffer starts when the size arrives, so "no data phase" and "an empty
                // one" stay apart.
                let mut on_size = |_: u64| -> Result<(), TransportError> {
                    sized.get_or_insert_with(Vec::new);
                    Ok(())
                };
                let mut buf = Vec::new();
                let r = self
                    .transact_streaming(op, data_out, max_data, &mut on_size, &mut |piece| {
                        buf.extend_from_slice(piece);
                        Ok(())
                    })
                    .await?;
                if let Some(d) = data.as_mut() {
                    *d = buf;
                }
                r
            };
            Ok((response, data))
        })
    }

    /// The next event, if one has arrived (does not wait).
    fn try_event(&mut self) -> Option<Event> {
        None
    }

    /// Waits up to `limit` for the next event. A transport without events just waits, so
    /// callers that poll in loops do not spin.
    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<Event>> {
        Box::pin(async move {
            self.sleep(limit).await;
            None
        })
    }

    /// Connects again after the link failed or was closed (the session handshake is the
    /// caller's).
    fn reconnect(&mut self) -> TransportFuture<'_, Result<(), TransportError>> {
        let name = self.name();
        Box::pin(async move { Err(TransportError::NotSupported(name, "reconnecting")) })
    }

    /// Records the traffic from now on into `trace` (`None` stops recording).
    fn set_trace(&mut self, trace: Option<Trace>) -> Result<(), TransportError> {
        let _ = trace;
        Err(TransportError::NotSupported(
            self.name(),
            "recording a trace",
        ))
    }

    /// The current time on the transport's clock: the wall clock, unless the transport keeps
    /// its own (the simulated camera on virtual time).
    fn now(&self) -> Duration {
        EPOCH.get_or_init(Instant::now).elapsed()
    }

    /// Time since `start` on this transport's clock.
    fn elapsed_since(&self, start: Instant) -> Duration {
        start.elapsed()
    }

    /// Waits `d` on this transport's clock.
    fn sleep(&mut self, d: Duration) -> TransportFuture<'_, ()> {
        Box::pin(tokio::time::sleep(d))
    }

    /// The simulated camera behind this transport, if it is one (tests look inside it).
    #[cfg(feature = "sim")]
    fn simulated(&self) -> Option<&sonyctl_sim::SimulatedCamera> {
        None
    }

    /// The simulated camera behind this transport, brought up to its clock's time, to act as
    /// its owner (press its shutter button…).
    #[cfg(feature = "sim")]
    fn simulated_mut(&mut self) -> Option<&mut sonyctl_sim::SimulatedCamera> {
        None
    }
}
