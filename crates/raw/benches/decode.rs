//! Decode time of a 24-megapixel ARW, compressed and uncompressed (time per megapixel is the
//! reported time divided by 24.3).

#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sonyctl_raw::{Area, ArwSpec, RawKind, decode, encode};

fn file(kind: RawKind) -> Vec<u8> {
    let (w, h) = (6048u32, 4024u32);
    let samples: Vec<u16> = (0..w * h)
        .map(|i| 512 + ((i % w) * 3 + (i / w) * 2) as u16 % 12000)
        .collect();
    let spec = ArwSpec {
        make: "SONY".into(),
        model: "ILCE-6400".into(),
        description: String::new(),
        software: String::new(),
        date_time: String::new(),
        kind,
        bits_per_sample: if kind == RawKind::Compressed { 12 } else { 14 },
        raw_width: w,
        raw_height: h,
        active: Area {
            x: 0,
            y: 0,
            width: 6024,
            height: 4024,
        },
        black_level: 512,
        white_level: 16383,
        wb_rggb: [2400, 1024, 1024, 1700],
        tone_curve: [8000, 10400, 12900, 14100],
        preview: vec![0xFF, 0xD8, 0xFF, 0xD9],
        padding: 0,
    };
    // The bench's own input: a failure here is a bug in the bench.
    encode(spec, &samples).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("arw_decode_24mp");
    g.sample_size(10);
    for kind in [RawKind::Compressed, RawKind::Uncompressed] {
        let f = file(kind);
        g.throughput(Throughput::Elements(6048 * 4024));
        g.bench_function(kind.name(), |b| {
            b.iter(|| decode(&f).map(|i| i.samples.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
