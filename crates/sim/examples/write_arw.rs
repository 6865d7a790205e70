//! Writes the RAW files the simulated bodies make, one per body and kind:
//! `write_arw OUT_DIR [--small]` writes `OUT_DIR/<body>-<kind>.arw`. With `--small` the raster is
//! 64 × 16 and the preview a 17-byte JPEG frame header (the same structures, samples and levels
//! otherwise), for fuzzing seeds: mutations then land mostly on what the decoder reads, not
//! inside a 20 KB preview it only locates. Without, the body's own size (benchmarks, and
//! LibRaw by hand).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sonyctl_raw::{Area, ArwSpec, RawKind};
use sonyctl_sim::image::{RAW_TONE_CURVE, RAW_WB_RGGB, RawShot, ShotInfo, raw_file};
use sonyctl_sim::profile::{BUILTIN, Profile};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(args.first().map_or("arw", String::as_str));
    let small = args.iter().any(|a| a == "--small");
    std::fs::create_dir_all(&dir).expect("create the folder");
    for (name, _) in BUILTIN {
        let profile = Profile::builtin(name).expect("a built-in profile");
        let mut format = profile.raw.clone();
        if small {
            format.raster = (64, 16);
            format.active = Area {
                x: 0,
                y: 0,
                width: 64,
                height: 16,
            };
        }
        let kinds = if format.file_type.is_some() {
            vec![RawKind::Compressed, RawKind::Uncompressed]
        } else {
            vec![RawKind::Compressed]
        };
        for kind in kinds {
            let info = ShotInfo {
                model: profile.device_info.model.clone(),
                number: 1,
                settings: "1/250 f/5.6 ISO 800".into(),
                capture_date: "20260101T120000".into(),
                raw_size: None,
            };
            let file = raw_file(
                &info,
                &RawShot {
                    format: format.clone(),
                    kind,
                },
            );
            let path = dir.join(format!("{name}-{}.arw", kind.name()));
            let mut bytes = file.bytes();
            if small {
                bytes = with_tiny_preview(&bytes, &profile.device_info.model);
            }
            std::fs::write(&path, bytes).expect("write the file");
            println!("{}", path.display());
        }
    }
}

/// The same file with a minimal preview: SOI, a baseline frame header of 40 × 30, EOI.
fn with_tiny_preview(arw: &[u8], model: &str) -> Vec<u8> {
    let image = sonyctl_raw::decode(arw).expect("the simulated file decodes");
    let info = &image.info;
    let levels = info.levels.clone().expect("the simulated file has levels");
    let spec = ArwSpec {
        make: info.make.clone(),
        model: model.to_string(),
        description: String::new(),
        software: String::new(),
        date_time: String::new(),
        kind: info.kind,
        bits_per_sample: info.bits_per_sample,
        raw_width: image.width,
        raw_height: image.height,
        active: Area {
            x: 0,
            y: 0,
            width: image.width,
            height: image.height,
        },
        black_level: levels.black,
        white_level: levels.white,
        wb_rggb: RAW_WB_RGGB,
        tone_curve: RAW_TONE_CURVE,
        preview: vec![
            0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 30, 0, 40, 1, 1, 0x11, 0, 0xFF, 0xD9,
        ],
        padding: 0,
    };
    sonyctl_raw::encode(spec, &image.samples).expect("re-encodes")
}
