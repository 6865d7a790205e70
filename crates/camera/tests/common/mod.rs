//! Test support shared by the camera tests: the simulated camera in this process, on a
//! virtual clock (instant and repeatable).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_sim::{Fault, Profile, SimOptions, SimulatedCamera};

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
