//! The simulated camera's RAW files are ARWs that an independent decoder reads as that body's:
//! LibRaw (Debian's `libraw-bin`) names make, model, size and loader, dumps the same samples as
//! `sonyctl-raw` decodes, one for one, and extracts the preview, which is a JPEG. Every body and
//! every kind it writes. The tools are installed by `scripts/test`; without them these tests
//! fail on CI (`CI=true`) and say loudly that they did not run elsewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sonyctl_raw::RawKind;
use sonyctl_sim::image::{JPEG_HEIGHT, JPEG_WIDTH, RawShot, ShotInfo, raw_file};
use sonyctl_sim::profile::{BUILTIN, Profile};

/// Whether LibRaw's tools are here; on CI their absence is a failure.
fn tools() -> bool {
    let here = ["raw-identify", "unprocessed_raw", "simple_dcraw"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if !here {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("LibRaw's tools (Debian libraw-bin) are missing: scripts/test installs them");
        }
        eprintln!(
            "\n*** NOT RUN: LibRaw's tools (raw-identify, unprocessed_raw, simple_dcraw from \
             Debian's libraw-bin) are missing; scripts/test installs them ***\n"
        );
    }
    here
}

fn run(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 16-bit binary PGM: width, height and samples.
fn pgm(path: &Path) -> (usize, usize, Vec<u16>) {
    let data = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&data[start..at]).unwrap().to_string());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let body = &data[at + 1..];
    assert_eq!(body.len(), w * h * 2);
    let samples = body
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    (w, h, samples)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sonyctl-arw-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every body and kind: (profile, kind, 0xD288 value that selects it if the body has one).
fn cases() -> Vec<(Profile, RawKind)> {
    let mut out = Vec::new();
    for (name, _) in BUILTIN {
        let p = Profile::builtin(name).unwrap();
        let kinds: &[RawKind] = match p.raw.file_type {
            Some(_) => &[RawKind::Compressed, RawKind::Uncompressed],
            None => &[RawKind::Compressed],
        };
        for &k in kinds {
            out.push((p.clone(), k));
        }
    }
    out
}

#[test]
fn libraw_reads_every_body_and_kind_as_we_do() {
    if !tools() {
        return;
    }
    let mut seen = 0;
    for (profile, kind) in cases() {
        let dir = scratch(&format!("{}-{}", profile.name, kind.name()));
        let info = ShotInfo {
            model: profile.device_info.model.clone(),
            number: 7,
            settings: "1/250 f/5.6 ISO 800".into(),
            capture_date: "20260101T120000".into(),
            raw_size: None,
        };
        let bytes = raw_file(
            &info,
            &RawShot {
                format: profile.raw.clone(),
                kind,
            },
        )
        .bytes();
        std::fs::write(dir.join("shot.arw"), &bytes).unwrap();
        let ours = sonyctl_raw::decode(&bytes).unwrap();
        let what = format!("{} {}", profile.name, kind.name());

        let v = run(&dir, "raw-identify", &["-v", "shot.arw"]);
        let (rw, rh) = profile.raw.raster;
        assert!(
            v.contains(&format!("Camera: Sony {}", info.model)),
            "{what}: {v}"
        );
        assert!(
            v.contains(&format!("Full size:   {rw} x {rh}")),
            "{what}: {v}"
        );
        assert!(
            v.contains(&format!("black: {}", ours.info.black_level)),
            "{what}: {v}"
        );
        assert!(v.contains("Filter pattern: RGGB"), "{what}: {v}");
        let loader = match kind {
            RawKind::Compressed => "sony_arw2_load_raw()",
            RawKind::Uncompressed => "unpacked_load_raw()",
        };
        let u = run(&dir, "raw-identify", &["-u", "shot.arw"]);
        assert!(u.contains(loader), "{what}: {u}");

        run(&dir, "unprocessed_raw", &["-q", "shot.arw"]);
        let (w, h, theirs) = pgm(&dir.join("shot.arw.pgm"));
        assert_eq!((w as u32, h as u32), (rw, rh), "{what}");
        let a = ours.info.active;
        let mut differ = 0usize;
        for y in 0..a.height {
            for x in 0..a.width {
                let t = theirs[((a.y + y) as usize) * w + (a.x + x) as usize];
                if ours.get(x, y) != Some(t) {
                    differ += 1;
                }
            }
        }
        assert_eq!(differ, 0, "{what}: samples that differ from LibRaw's");
        // The samples are a picture, not a constant: LibRaw and we agree on a varied raster.
        let (lo, hi) = (
            ours.samples.iter().min().unwrap(),
            ours.samples.iter().max().unwrap(),
        );
        assert!(hi - lo > 4000, "{what}: samples from {lo} to {hi}");

        run(&dir, "simple_dcraw", &["-e", "shot.arw"]);
        let thumb = std::fs::read(dir.join("shot.arw.thumb.jpg")).unwrap();
        let mut decoder = jpeg_decoder::Decoder::new(thumb.as_slice());
        let pixels = decoder.decode().unwrap();
        let meta = decoder.info().unwrap();
        assert_eq!(
            (u32::from(meta.width), u32::from(meta.height)),
            (JPEG_WIDTH, JPEG_HEIGHT)
        );
        assert_eq!(pixels.len(), (JPEG_WIDTH * JPEG_HEIGHT * 3) as usize);
        std::fs::remove_dir_all(&dir).unwrap();
        seen += 1;
    }
    assert_eq!(seen, 5, "four bodies, the ILCE-7SM3 in two kinds");
}
