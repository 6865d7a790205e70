//! Test support shared by the camera tests: the simulated camera in this process, on a
//! virtual clock (instant and repeatable), directly or behind a [`Wire`] that delays requests
//! and refuses downloads.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_ptp::{Event, Operation, OperationCode, Response, ResponseCode};
use sonyctl_sim::{Fault, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::handle;
use sonyctl_transport::{DataSink, SimLink, SizeSink, Transport, TransportError, TransportFuture};

/// A simulated `model` with `faults` on and the owner's `acts` scheduled (`2s:set iso 800`).
pub fn sim(model: &str, faults: &[Fault], acts: &[&str]) -> SimulatedCamera {
    let options = SimOptions {
        faults: faults.iter().copied().collect(),
        actions: acts.iter().map(|a| a.parse().unwrap()).collect(),
        ..SimOptions::default()
    };
    SimulatedCamera::new(Profile::builtin(model).unwrap(), options)
}

/// `sim` opened as a camera on a virtual clock starting at 0.
pub async fn open(sim: SimulatedCamera) -> Camera {
    Camera::open(
        Link::sim(sim, SimClock::Virtual(Duration::ZERO)),
        CameraOptions::default(),
    )
    .await
    .unwrap()
}

/// The simulated camera behind a link on the virtual clock: each request takes a pseudo-random
/// 0 to `jitter` before the camera sees it (a busy host, a real cable), and while `refuse` is
/// above 0 the link answers a GetObject of 0xFFFFC001 itself with InvalidObjectHandle, as a
/// camera that is writing another frame does (counting down; `u64::MAX`: for ever).
pub struct Wire {
    inner: SimLink,
    jitter: Duration,
    seed: u64,
    refuse: Arc<AtomicU64>,
}

impl Wire {
    fn delay(&mut self) -> Duration {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.jitter.mul_f64((self.seed % 1000) as f64 / 1000.0)
    }
}

impl Transport for Wire {
    fn name(&self) -> &'static str {
        "simulated camera behind a wire"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<Response, TransportError>> {
        let delay = self.delay();
        let refused = op.code == OperationCode::GET_OBJECT
            && op.params.get(0) == Some(handle::CAPTURED_IMAGE)
            && self
                .refuse
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match n {
                    0 => None,
                    u64::MAX => Some(n),
                    n => Some(n - 1),
                })
                .is_ok();
        Box::pin(async move {
            self.inner.sleep(delay).await;
            if refused {
                return Ok(Response {
                    code: ResponseCode::INVALID_OBJECT_HANDLE,
                    transaction_id: op.transaction_id,
                    params: Default::default(),
                });
            }
            self.inner
                .transact_streaming(op, data_out, max_data, on_size, sink)
                .await
        })
    }

    fn try_event(&mut self) -> Option<Event> {
        self.inner.try_event()
    }

    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<Event>> {
        self.inner.next_event(limit)
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

/// `sim` opened behind a [`Wire`] with `jitter` and `seed`; the switch for its refusals.
pub async fn open_wired(
    sim: SimulatedCamera,
    jitter: Duration,
    seed: u64,
) -> (Camera, Arc<AtomicU64>) {
    let refuse = Arc::new(AtomicU64::new(0));
    let wire = Wire {
        inner: SimLink::new(sim, SimClock::Virtual(Duration::ZERO)),
        jitter,
        seed,
        refuse: refuse.clone(),
    };
    let cam = Camera::open(Link::new(wire), CameraOptions::default())
        .await
        .unwrap();
    (cam, refuse)
}
