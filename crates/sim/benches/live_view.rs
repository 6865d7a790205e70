//! What one live-view frame costs the simulated camera: drawing the scene, the JPEG and the
//! dataset (a new frame each time), and handing the same frame to another host (a copy).
//! `cargo bench -p sonyctl-sim --bench live_view`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sonyctl_ptp::{Operation, OperationCode, Params, PropertyCode, Value};
use sonyctl_sim::{ConnectionId, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::SdioRequest;

fn op(code: u16, tid: u32, params: &[u32]) -> Operation {
    Operation {
        code: OperationCode(code),
        transaction_id: tid,
        params: Params::new(params).unwrap(),
    }
}

/// A camera with a host through the handshake.
fn camera() -> (SimulatedCamera, ConnectionId) {
    let mut cam = SimulatedCamera::new(
        Profile::builtin("ilce-7sm3").unwrap(),
        SimOptions::default(),
    );
    let id = cam.connect();
    let t = Duration::ZERO;
    cam.handle(id, t, &op(0x1002, 1, &[1]), None);
    for (tid, (code, p)) in [(0x9201, 1), (0x9201, 2), (0x9202, 300), (0x9201, 3)]
        .into_iter()
        .enumerate()
    {
        let params: &[u32] = if code == 0x9201 { &[p, 0, 0] } else { &[p] };
        cam.handle(id, t, &op(code, tid as u32 + 2, params), None);
    }
    (cam, id)
}

fn frames(c: &mut Criterion) {
    for (quality, name) in [(1u8, "low"), (2, "high")] {
        let (mut cam, id) = camera();
        let set = SdioRequest::set(PropertyCode(0xD26A), &Value::U8(quality)).unwrap();
        cam.handle(id, Duration::ZERO, &set.operation(10), set.data());
        let interval = cam.live_view_interval();
        let mut now = Duration::from_secs(1);
        let mut tid = 100;
        c.bench_function(&format!("new frame ({name} quality)"), |b| {
            b.iter(|| {
                now += interval;
                tid += 1;
                let r = cam.handle(id, now, &op(0x1009, tid, &[0xFFFF_C002]), None);
                assert!(r.data.is_some());
                r
            })
        });
        let bytes = cam.last_live_view().map(|d| d.jpeg_len).unwrap_or(0);
        eprintln!("{name} quality: JPEG of {bytes} bytes");
    }
    let (mut cam, _) = camera();
    let now = Duration::from_secs(1);
    let mut tid = 0;
    c.bench_function("the same frame to another host", |b| {
        b.iter(|| {
            // A host that has not had this frame yet: the camera hands out the one it drew.
            tid += 1;
            let host = cam.connect();
            cam.handle(host, now, &op(0x1002, tid, &[1]), None);
            let r = cam.handle(host, now, &op(0x1009, tid, &[0xFFFF_C002]), None);
            assert!(r.data.is_some());
            cam.disconnect(host);
            r
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = frames
}
criterion_main!(benches);
