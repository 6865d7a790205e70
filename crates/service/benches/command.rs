//! What a command costs through the service handle, on the in-process simulated camera with
//! virtual time: a status read (the snapshot, no queue) and a `properties()` round trip (queue,
//! the task, the facade's cache, the answer).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_service::{CameraService, ServiceHandle, ServiceOptions};
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};

fn open(rt: &tokio::runtime::Runtime) -> ServiceHandle {
    rt.block_on(async {
        let sim = SimulatedCamera::new(
            Profile::builtin("ilce-7sm3").expect("a built-in body"),
            SimOptions::default(),
        );
        let cam = Camera::open(
            Link::sim(sim, SimClock::Virtual(Duration::ZERO)),
            CameraOptions::default(),
        )
        .await
        .expect("the simulated camera opens");
        CameraService::spawn(cam, ServiceOptions::default())
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let h = open(&rt);
    c.bench_function("status read", |b| b.iter(|| h.status()));
    c.bench_function("properties round trip", |b| {
        b.iter(|| rt.block_on(h.properties()).expect("properties"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
