//! Writes the JPEG a simulated shot produces, to look at it: `render_shot OUT.jpg [NUMBER]`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sonyctl_sim::image::{ShotInfo, jpeg_file};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args.first().map_or("shot.jpg", String::as_str);
    let number = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(1);
    let info = ShotInfo {
        model: "ILCE-7SM3".into(),
        number,
        settings: "1/250 f/5.6 ISO 800".into(),
        capture_date: "20261124T120000".into(),
        raw_size: None,
    };
    std::fs::write(out, jpeg_file(&info).bytes()).expect("write the JPEG");
}
