//! The simulated camera as both servers hold it: behind a lock, on a clock that is wall-clock
//! time since the server started, times a scale.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sonyctl_sim::SimulatedCamera;

pub(crate) struct ClockedCamera {
    camera: Mutex<SimulatedCamera>,
    start: Instant,
    /// Camera seconds per wall-clock second.
    pub(crate) time_scale: f64,
}

impl ClockedCamera {
    pub(crate) fn new(camera: SimulatedCamera, time_scale: f64) -> ClockedCamera {
        ClockedCamera {
            camera: Mutex::new(camera),
            start: Instant::now(),
            time_scale,
        }
    }

    /// Camera time now.
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed().mul_f64(self.time_scale.max(0.0))
    }

    pub(crate) fn camera(&self) -> MutexGuard<'_, SimulatedCamera> {
        // A panic while holding the lock would be a bug; the camera state is still usable.
        self.camera.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the camera, brought up to the current camera time.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut SimulatedCamera) -> R) -> R {
        let now = self.now();
        let mut cam = self.camera();
        cam.advance(now);
        f(&mut cam)
    }
}
