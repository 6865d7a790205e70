//! The links a camera can be reached through: the simulated camera in this process, or PTP/IP.
//! (USB comes with the nusb transport.)

use std::time::{Duration, Instant};

use sonyctl_ptp::UsbContainer;
use sonyctl_ptp::{Event, Operation, Response};
use sonyctl_sim::{ConnectionId, SimulatedCamera, WireFault};
use sonyctl_transport::{Direction, PtpIpClient, Trace, TransportError, UsbClient};

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

/// The wall-clock origin of [`Link::now`] for real links.
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// The simulated camera in this process.
pub struct SimLink {
    camera: SimulatedCamera,
    connection: Option<ConnectionId>,
    clock: SimClock,
    trace: Option<Trace>,
}

impl SimLink {
    /// Logs and records a USB container as a real cable would carry it.
    fn note(&self, dir: Direction, c: &UsbContainer) {
        use sonyctl_sony::codes::{describe, operation_name, response_name};
        let name = match c.kind {
            sonyctl_ptp::ContainerKind::Response => describe(response_name(c.code.into()), c.code),
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
}

/// A way to reach a camera.
pub enum Link {
    /// The simulated camera, in this process.
    Sim(Box<SimLink>),
    /// A camera (or `sonyctl simulate`) over PTP/IP.
    PtpIp(Box<PtpIpClient>),
    /// A camera on USB.
    Usb(Box<UsbClient>),
}

fn gone(why: &str) -> TransportError {
    TransportError::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        why.to_string(),
    ))
}

impl Link {
    /// The simulated `camera`, connected, on `clock`.
    pub fn sim(mut camera: SimulatedCamera, clock: SimClock) -> Link {
        let connection = Some(camera.connect());
        Link::Sim(Box::new(SimLink {
            camera,
            connection,
            clock,
            trace: None,
        }))
    }

    /// Records the simulated camera's traffic as USB containers (a PTP/IP link records through
    /// its `ConnectOptions`).
    pub fn with_trace(mut self, trace: Option<Trace>) -> Link {
        if let Link::Sim(s) = &mut self {
            s.trace = trace;
        }
        self
    }

    /// One transaction; the camera's data (at most `max_data` bytes) is returned whole.
    pub async fn transact(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
        max_data: u64,
    ) -> Result<(Response, Option<Vec<u8>>), TransportError> {
        let mut buf: Option<Vec<u8>> = None;
        let mut sized = false;
        let resp = {
            let buf = &mut buf;
            let sized = &mut sized;
            self.transact_streaming(
                op,
                data_out,
                max_data,
                &mut |_| {
                    *sized = true;
                    Ok(())
                },
                &mut |piece| {
                    buf.get_or_insert_with(Vec::new).extend_from_slice(piece);
                    Ok(())
                },
            )
            .await?
        };
        Ok((
            resp,
            if sized {
                Some(buf.unwrap_or_default())
            } else {
                None
            },
        ))
    }

    /// One transaction whose data (at most `max_data` bytes) is handed to `sink` in pieces as it
    /// arrives, after its total size is given to `on_size`. A sink that fails stops the transfer
    /// ([`TransportError::Aborted`]); the connection must then be renewed ([`Link::reconnect`]).
    pub async fn transact_streaming(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
        max_data: u64,
        on_size: &mut (dyn FnMut(u64) -> Result<(), TransportError> + Send),
        sink: &mut (dyn FnMut(&[u8]) -> Result<(), TransportError> + Send),
    ) -> Result<Response, TransportError> {
        match self {
            Link::PtpIp(c) => {
                c.transact_streaming(op, data_out, max_data, on_size, sink)
                    .await
            }
            Link::Usb(c) => {
                c.transact_streaming(op, data_out, max_data, on_size, sink)
                    .await
            }
            Link::Sim(s) => {
                let id = s
                    .connection
                    .ok_or_else(|| gone("the simulated camera's link is closed"))?;
                let now = s.clock.now();
                s.note(Direction::ToCamera, &UsbContainer::command(op));
                if let Some(d) = data_out {
                    s.note(
                        Direction::ToCamera,
                        &UsbContainer::data(op.code, op.transaction_id, d.to_vec()),
                    );
                }
                let reply = s.camera.handle(id, now, op, data_out);
                if s.camera.take_unplugged().contains(&id) {
                    s.connection = None;
                    return Err(gone("the simulated camera was unplugged"));
                }
                if !reply.delay.is_zero() {
                    match &mut s.clock {
                        SimClock::Real { scale, .. } => {
                            tokio::time::sleep(reply.delay.div_f64(scale.max(1e-6))).await;
                        }
                        SimClock::Virtual(t) => *t += reply.delay,
                    }
                }
                if let Some(fault) = reply.wire {
                    // The in-process link has no wire to break; it fails like one would.
                    s.camera.disconnect(id);
                    s.connection = None;
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
                if s.trace.is_some() || tracing::enabled!(tracing::Level::INFO) {
                    if let Some(d) = &reply.data {
                        s.note(
                            Direction::ToHost,
                            &UsbContainer::data(op.code, op.transaction_id, d.clone()),
                        );
                    }
                    s.note(Direction::ToHost, &UsbContainer::response(&response));
                }
                if let Some(d) = &reply.data {
                    on_size(d.len() as u64)?;
                    for piece in d.chunks(SIM_CHUNK) {
                        sink(piece)?;
                    }
                }
                Ok(response)
            }
        }
    }

    /// Connects again after the link failed or was closed (the session handshake is the
    /// caller's). For the simulated camera this is a new host connection to the same body, so
    /// its buffer and settings are still there, as on a real camera.
    pub async fn reconnect(&mut self) -> Result<(), TransportError> {
        match self {
            Link::PtpIp(c) => c.reconnect().await,
            Link::Usb(c) => c.reconnect().await,
            Link::Sim(s) => {
                if let Some(old) = s.connection.take() {
                    s.camera.disconnect(old);
                }
                s.connection = Some(s.camera.connect());
                Ok(())
            }
        }
    }

    /// The simulated camera behind this link, if it is one (tests look inside it).
    pub fn simulated(&self) -> Option<&SimulatedCamera> {
        match self {
            Link::Sim(s) => Some(&s.camera),
            Link::PtpIp(_) | Link::Usb(_) => None,
        }
    }

    /// The simulated camera behind this link, to act as its owner (press its shutter button…).
    pub fn simulated_mut(&mut self) -> Option<&mut SimulatedCamera> {
        match self {
            Link::Sim(s) => {
                let now = s.clock.now();
                s.camera.advance(now);
                Some(&mut s.camera)
            }
            Link::PtpIp(_) | Link::Usb(_) => None,
        }
    }

    /// The current time on the link's clock (virtual for a simulated camera on virtual time).
    pub fn now(&self) -> Duration {
        match self {
            Link::Sim(s) => s.clock.now(),
            Link::PtpIp(_) | Link::Usb(_) => EPOCH.get_or_init(Instant::now).elapsed(),
        }
    }

    /// Time since `start` on this link's clock (the simulated camera's clock for a simulated
    /// link, the wall clock otherwise).
    pub fn elapsed_since(&self, start: Instant) -> Duration {
        match self {
            Link::Sim(s) => match &s.clock {
                SimClock::Virtual(t) => *t,
                SimClock::Real { scale, .. } => start.elapsed().mul_f64(scale.max(0.0)),
            },
            Link::PtpIp(_) | Link::Usb(_) => start.elapsed(),
        }
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
        match self {
            Link::Sim(s) => match &mut s.clock {
                SimClock::Virtual(t) => {
                    *t += d;
                    let now = *t;
                    s.camera.advance(now);
                }
                SimClock::Real { scale, .. } => {
                    tokio::time::sleep(d.div_f64(scale.max(1e-6))).await
                }
            },
            Link::PtpIp(_) | Link::Usb(_) => tokio::time::sleep(d).await,
        }
    }

    /// Waits up to `limit` for events; returns those that arrived (possibly none).
    pub async fn wait_events(&mut self, limit: Duration) -> Vec<Event> {
        let first = self.take_events();
        if !first.is_empty() {
            return first;
        }
        match self {
            Link::PtpIp(c) => match c.next_event(limit).await {
                Some(ev) => std::iter::once(ev)
                    .chain(std::iter::from_fn(|| c.try_event()))
                    .collect(),
                None => Vec::new(),
            },
            Link::Usb(c) => match c.next_event(limit).await {
                Some(ev) => std::iter::once(ev)
                    .chain(std::iter::from_fn(|| c.try_event()))
                    .collect(),
                None => Vec::new(),
            },
            Link::Sim(_) => {
                self.sleep(limit).await;
                self.take_events()
            }
        }
    }

    /// Events that have arrived, oldest first (does not wait).
    pub fn take_events(&mut self) -> Vec<Event> {
        match self {
            Link::Sim(s) => {
                let now = s.clock.now();
                s.camera.advance(now);
                match s.connection {
                    Some(id) => s.camera.take_events(id),
                    None => Vec::new(),
                }
            }
            Link::PtpIp(c) => std::iter::from_fn(|| c.try_event()).collect(),
            Link::Usb(c) => std::iter::from_fn(|| c.try_event()).collect(),
        }
    }
}
