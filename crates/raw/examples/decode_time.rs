//! Times `sonyctl_raw::decode` on ARW files: `decode_time RUNS FILE...` prints, per file, one
//! JSON line with the median milliseconds of RUNS decodes (the file read once, beforehand) and
//! the megapixels of its raster (`scripts/bench --arw`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args
        .first()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    for path in args.iter().skip(1) {
        let bytes = std::fs::read(path).expect("read the file");
        let mut times = Vec::with_capacity(runs);
        let mut image = None;
        for _ in 0..runs {
            let t = Instant::now();
            image = Some(sonyctl_raw::decode(&bytes).expect("an ARW"));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let info = image.expect("decoded at least once").info;
        let mp = f64::from(info.raw_width) * f64::from(info.raw_height) / 1e6;
        println!(
            "{{\"file\": {path:?}, \"kind\": {:?}, \"megapixels\": {mp:.2}, \"ms\": {:.2}}}",
            info.kind.name(),
            times[times.len() / 2]
        );
    }
}
