//! Writes the RAW files the simulated bodies make, one per body and kind:
//! `write_arw OUT_DIR [--small]` writes `OUT_DIR/<body>-<kind>.arw`. With `--small` the raster is
//! 64 × 16 (the head and preview as usual), for fuzzing seeds; without, the body's own size
//! (benchmarks, and LibRaw by hand).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sonyctl_raw::{Area, RawKind};
use sonyctl_sim::image::{RawShot, ShotInfo, raw_file};
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
            std::fs::write(&path, file.bytes()).expect("write the file");
            println!("{}", path.display());
        }
    }
}
