//! Decode time of the simulated camera's RAW files (the JPEG's scene as a mosaic with noise, so
//! compressed blocks carry real deltas): a compressed ILCE-6400 file (24.3 MP) and an
//! uncompressed ILCE-7SM3 one (12.1 MP), the same files `scripts/bench --arw` times next to
//! LibRaw. Throughput is in raster pixels.

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sonyctl_raw::{RawKind, decode};
use sonyctl_sim::image::{RawShot, ShotInfo, raw_file};
use sonyctl_sim::profile::Profile;

fn file(body: &str, kind: RawKind) -> (Vec<u8>, u64) {
    // The bench's own input: a failure here is a bug in the bench.
    let Ok(profile) = Profile::builtin(body) else {
        return (Vec::new(), 1);
    };
    let info = ShotInfo {
        model: profile.device_info.model.clone(),
        number: 1,
        settings: "1/250 f/5.6 ISO 800".into(),
        capture_date: "20260101T120000".into(),
        raw_size: None,
    };
    let (w, h) = profile.raw.raster;
    let bytes = raw_file(
        &info,
        &RawShot {
            format: profile.raw,
            kind,
        },
    )
    .bytes();
    (bytes, u64::from(w) * u64::from(h))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("arw_decode");
    g.sample_size(10);
    for (body, kind) in [
        ("ilce-6400", RawKind::Compressed),
        ("ilce-7sm3", RawKind::Uncompressed),
    ] {
        let (f, pixels) = file(body, kind);
        g.throughput(Throughput::Elements(pixels));
        g.bench_function(format!("{body}-{}", kind.name()), |b| {
            b.iter(|| decode(&f).map(|i| i.samples.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
