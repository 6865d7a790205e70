//! The simulated camera in this process as a [`Transport`]: no socket, no thread, and, on a
//! virtual clock, no real time either, so tests of whole shooting sessions run instantly and
//! repeat exactly.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sonyctl_ptp::{ContainerKind, Event, Operation, Response, UsbContainer};
use sonyctl_sim::{ConnectionId, Reply, SimulatedCamera, WireFault};

use crate::transport::{DataSink, SizeSink, TransportFuture};
use crate::{Direction, Trace, Transport, TransportError};

/// Where the in-process simulated camera gets its time.
#[derive(Clone, Debug)]
pub enum SimClock {
    /// Wall-clock time since the link opened, times `scale`.
    Real {
        /// When the link opened.
        start: Instant,
        /// Camera seconds per real second.
        scale: f64,
    },
    /// Time that moves only when the host waits (tests: instant and repeatable).
    Virtual(Duration),
}

impl SimClock {
    /// A real clock starting now.
    pub fn real(scale: f64) -> SimClock {
        SimClock::Real {
            start: Instant::now(),
            scale,
        }
    }

    fn now(&self) -> Duration {
        match self {
            SimClock::Real { start, scale } => start.elapsed().mul_f64(scale.max(0.0)),
            SimClock::Virtual(t) => *t,
        }
    }
}

/// Pieces in which the in-process simulated camera's data reaches a sink.
const SIM_CHUNK: usize = 64 * 1024;

/// The simulated camera in this process, reached without a wire.
pub struct SimLink {
    camera: SimulatedCamera,
    connection: Option<ConnectionId>,
    clock: SimClock,
    trace: Option<Trace>,
    /// Events taken from the camera and not yet handed out.
    events: VecDeque<Event>,
}

impl std::fmt::Debug for SimLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLink")
            .field("connection", &self.connection)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

fn gone(why: &str) -> TransportError {
    TransportError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        why.to_string(),
    ))
}

impl SimLink {
    /// The simulated `camera`, connected, on `clock`.
    pub fn new(mut camera: SimulatedCamera, clock: SimClock) -> SimLink {
        let connection = Some(camera.connect());
        SimLink {
            camera,
            connection,
            clock,
            trace: None,
            events: VecDeque::new(),
        }
    }

    /// Logs and records a USB container as a real cable would carry it.
    fn note(&self, dir: Direction, c: &UsbContainer) {
        use sonyctl_sony::codes::{describe, operation_name, response_name};
        let name = match c.kind {
            ContainerKind::Response => describe(response_name(c.code.into()), c.code),
            _ => describe(operation_name(c.code.into()), c.code),
        };
        let arrow = if dir == Direction::ToCamera {
            "host → camera"
        } else {
            "camera → host"
        };
        tracing::info!(
            "{arrow} usb: {:?} {name} tid {:#x} {} byte(s)",
            c.kind,
            c.transaction_id,
            c.payload.len()
        );
        if let (Some(t), Ok(bytes)) = (&self.trace, c.encode()) {
            t.record(dir, "usb", &bytes);
        }
    }

    /// Hands the request to the camera; returns its reply, the connection, and how long to
    /// wait in real time before the reply arrives (a virtual clock moves at once instead).
    fn ask(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
    ) -> Result<(Reply, ConnectionId, Duration), TransportError> {
        let id = self
            .connection
            .ok_or_else(|| gone("the simulated camera's link is closed"))?;
        let now = self.clock.now();
        self.note(Direction::ToCamera, &UsbContainer::command(op));
        if let Some(d) = data_out {
            self.note(
                Direction::ToCamera,
                &UsbContainer::data(op.code, op.transaction_id, d.to_vec()),
            );
        }
        let reply = self.camera.handle(id, now, op, data_out);
        if self.camera.take_unplugged().contains(&id) {
            self.connection = None;
            return Err(gone("the simulated camera was unplugged"));
        }
        let mut wait = Duration::ZERO;
        if !reply.delay.is_zero() {
            match &mut self.clock {
                SimClock::Real { scale, .. } => wait = reply.delay.div_f64(scale.max(1e-6)),
                SimClock::Virtual(t) => *t += reply.delay,
            }
        }
        Ok((reply, id, wait))
    }

    /// Delivers the camera's reply: its data to the sink, or the wire fault it asked for.
    fn deliver(
        &mut self,
        op: &Operation,
        reply: Reply,
        id: ConnectionId,
        max_data: u64,
        on_size: &mut SizeSink<'_>,
        sink: &mut DataSink<'_>,
    ) -> Result<Response, TransportError> {
        if let Some(fault) = reply.wire {
            // The in-process link has no wire to break; it fails like one would.
            self.camera.disconnect(id);
            self.connection = None;
            return Err(match fault {
                WireFault::CutDataAfter(n) => {
                    if let Some(d) = &reply.data {
                        on_size(d.len() as u64)?;
                        for piece in d.get(..n).unwrap_or_default().chunks(SIM_CHUNK) {
                            sink(piece)?;
                        }
                    }
                    gone("the connection dropped in a data phase")
                }
                WireFault::GarbageFirst => {
                    TransportError::Protocol("the camera sent a malformed packet".into())
                }
            });
        }
        if let Some(d) = &reply.data {
            if d.len() as u64 > max_data {
                return Err(TransportError::TooLarge(d.len() as u64, max_data));
            }
        }
        let response = Response {
            code: reply.code,
            transaction_id: op.transaction_id,
            params: reply.params,
        };
        if self.trace.is_some() || tracing::enabled!(tracing::Level::INFO) {
            if let Some(d) = &reply.data {
                self.note(
                    Direction::ToHost,
                    &UsbContainer::data(op.code, op.transaction_id, d.clone()),
                );
            }
            self.note(Direction::ToHost, &UsbContainer::response(&response));
        }
        if let Some(d) = &reply.data {
            on_size(d.len() as u64)?;
            for piece in d.chunks(SIM_CHUNK) {
                sink(piece)?;
            }
        }
        Ok(response)
    }

    /// Moves the camera to the clock's time and queues the events it produced.
    fn collect_events(&mut self) {
        let now = self.clock.now();
        self.camera.advance(now);
        if let Some(id) = self.connection {
            self.events.extend(self.camera.take_events(id));
        }
    }
}

impl Transport for SimLink {
    fn name(&self) -> &'static str {
        "simulated camera"
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
            let (reply, id, wait) = self.ask(op, data_out)?;
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let response = self.deliver(op, reply, id, max_data, on_size, sink)?;
            // Every byte is in the host's hands when the sink has taken it.
            let now = self.clock.now();
            self.camera.data_phase_sent(id, now);
            Ok(response)
        })
    }

    fn try_event(&mut self) -> Option<Event> {
        if self.events.is_empty() {
            self.collect_events();
        }
        self.events.pop_front()
    }

    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<Event>> {
        Box::pin(async move {
            if let Some(e) = self.try_event() {
                return Some(e);
            }
            self.sleep(limit).await;
            self.try_event()
        })
    }

    /// A new host connection to the same body, so its buffer and settings are still there, as
    /// on a real camera.
    fn reconnect(&mut self) -> TransportFuture<'_, Result<(), TransportError>> {
        if let Some(old) = self.connection.take() {
            self.camera.disconnect(old);
        }
        self.events.clear();
        self.connection = Some(self.camera.connect());
        Box::pin(async { Ok(()) })
    }

    /// Records the traffic as USB containers, as a real cable would carry it.
    fn set_trace(&mut self, trace: Option<Trace>) -> Result<(), TransportError> {
        self.trace = trace;
        Ok(())
    }

    fn now(&self) -> Duration {
        self.clock.now()
    }

    fn elapsed_since(&self, start: Instant) -> Duration {
        match &self.clock {
            SimClock::Virtual(t) => *t,
            SimClock::Real { scale, .. } => start.elapsed().mul_f64(scale.max(0.0)),
        }
    }

    fn sleep(&mut self, d: Duration) -> TransportFuture<'_, ()> {
        match &mut self.clock {
            SimClock::Virtual(t) => {
                *t += d;
                let now = *t;
                self.camera.advance(now);
                Box::pin(async {})
            }
            SimClock::Real { scale, .. } => {
                Box::pin(tokio::time::sleep(d.div_f64(scale.max(1e-6))))
            }
        }
    }

    fn simulated(&self) -> Option<&SimulatedCamera> {
        Some(&self.camera)
    }

    fn simulated_mut(&mut self) -> Option<&mut SimulatedCamera> {
        let now = self.clock.now();
        self.camera.advance(now);
        Some(&mut self.camera)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sonyctl_ptp::{OperationCode, Params, ResponseCode};
    use sonyctl_sim::{Profile, SimOptions};

    fn op(code: u16, tid: u32, params: &[u32]) -> Operation {
        Operation {
            code: OperationCode(code),
            transaction_id: tid,
            params: Params::new(params).unwrap(),
        }
    }

    /// In process, the frame is in the host's hands when the link answers: its age is taken
    /// on the virtual clock then.
    #[tokio::test]
    async fn a_live_view_frame_is_aged_when_answered() {
        let cam = SimulatedCamera::new(
            Profile::builtin("ilce-7sm3").unwrap(),
            SimOptions::default(),
        );
        let mut link = SimLink::new(cam, SimClock::Virtual(Duration::ZERO));
        let (r, _) = link
            .transact(&op(0x1002, 0, &[1]), None, 1 << 20)
            .await
            .unwrap();
        assert_eq!(r.code, ResponseCode::OK);
        link.sleep(Duration::from_millis(50)).await;
        let (r, data) = link
            .transact(&op(0x1009, 1, &[0xFFFF_C002]), None, 1 << 20)
            .await
            .unwrap();
        assert_eq!(r.code, ResponseCode::OK);
        assert!(data.is_some());
        let cam = link.simulated().unwrap();
        let produced = cam.last_live_view().unwrap().produced_at;
        assert_eq!(produced, cam.live_view_interval());
        let id = link.connection.unwrap();
        let lv = &cam.stats(id).unwrap().live_view;
        assert_eq!(lv.frame_ages, [Duration::from_millis(50) - produced]);
    }
}
