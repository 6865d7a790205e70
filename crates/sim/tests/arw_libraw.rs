//! The simulated camera's RAW files are ARWs that an independent decoder reads as that body's:
//! LibRaw (Debian's `libraw-bin`) names make, model, size and loader, reads the levels and
//! white balance from the encrypted SR2 block (a file whose key is damaged loses them there
//! too), dumps the same samples as `sonyctl-raw` decodes, one for one, and extracts the
//! preview, which is a JPEG. Every body and every kind it writes, and one file with levels no
//! camera table holds. The tools are installed by `scripts/test`; without them these tests
//! fail, unless `SONYCTL_SKIP_LIBRAW=1` asks to skip them (never honoured when `CI=true`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sonyctl_raw::RawKind;
use sonyctl_sim::image::{JPEG_HEIGHT, JPEG_WIDTH, RAW_WB_RGGB, RawShot, ShotInfo, raw_file};
use sonyctl_sim::profile::{BUILTIN, Profile};

/// Whether to run: the tools must be here, unless `SONYCTL_SKIP_LIBRAW=1` says to skip (which
/// CI never may); a test that skips says so on stderr.
fn tools() -> bool {
    let here = ["raw-identify", "unprocessed_raw", "simple_dcraw"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if here {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let opt_out = std::env::var("SONYCTL_SKIP_LIBRAW").is_ok_and(|v| v == "1");
    if opt_out && !ci {
        eprintln!("NOT RUN: SONYCTL_SKIP_LIBRAW=1 and LibRaw's tools are missing");
        return false;
    }
    panic!(
        "LibRaw's tools (raw-identify, unprocessed_raw, simple_dcraw from Debian's libraw-bin) \
         are missing: scripts/test installs them; SONYCTL_SKIP_LIBRAW=1 skips these tests \
         (not on CI)"
    );
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

/// Every body and kind, then the ILCE-6000 with a black level of 508 and a white level of
/// 16000, which LibRaw's camera table does not hold, so it must read them from the file.
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
    let mut unusual = Profile::builtin("ilce-6000").unwrap();
    unusual.name = "ilce-6000-unusual-levels".into();
    unusual.raw.black_level = 508;
    unusual.raw.white_level = 16000;
    out.push((unusual, RawKind::Compressed));
    out
}

fn shot_info(model: &str) -> ShotInfo {
    ShotInfo {
        model: model.to_string(),
        number: 7,
        settings: "1/250 f/5.6 ISO 800".into(),
        capture_date: "20260101T120000".into(),
        raw_size: None,
    }
}

/// The lines of `raw-identify -v` that LibRaw fills from the SR2SubIFD: the white level
/// ("Highlight linearity limits") and the as-shot white balance coefficients, which it prints
/// R, G, B, G (the EV columns after them are its own arithmetic and left out).
fn sr2_lines(verbose: &str) -> (Option<String>, Option<String>) {
    let line = |start: &str, words: usize| {
        verbose
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .map(|l| {
                l.split_whitespace()
                    .take(words)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    (line("Highlight linearity limits:", 7), line("As shot", 6))
}

#[test]
fn libraw_reads_every_body_and_kind_as_we_do() {
    if !tools() {
        return;
    }
    let mut seen = 0;
    for (profile, kind) in cases() {
        let dir = scratch(&format!("{}-{}", profile.name, kind.name()));
        let info = shot_info(&profile.device_info.model);
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
        let levels = ours.info.levels.clone().unwrap();
        assert_eq!(
            (levels.black, levels.white),
            (profile.raw.black_level, profile.raw.white_level),
            "{what}"
        );
        assert!(
            v.contains(&format!("black: {}\n", levels.black)),
            "{what}: {v}"
        );
        let w = levels.white;
        let [r, g, _, b] = RAW_WB_RGGB;
        assert_eq!(
            sr2_lines(&v),
            (
                Some(format!("Highlight linearity limits: {w} {w} {w} {w}")),
                Some(format!("As shot {r} {g} {b} {g}")),
            ),
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
    assert_eq!(
        seen, 6,
        "four bodies, the ILCE-7SM3 in two kinds, unusual levels"
    );
}

/// The assertions above on the SR2 lines have teeth: with the SR2 key damaged, LibRaw prints
/// neither line (and `sonyctl-raw` reports the levels unknown, the raster intact).
#[test]
fn a_damaged_sr2_key_changes_what_libraw_reports() {
    if !tools() {
        return;
    }
    let profile = Profile::builtin("ilce-6000").unwrap();
    let dir = scratch("sr2-key");
    let good = raw_file(
        &shot_info(&profile.device_info.model),
        &RawShot {
            format: profile.raw.clone(),
            kind: RawKind::Compressed,
        },
    )
    .bytes();
    // The key: SR2Private's tag 0x7221, four UNDEFINED bytes held in the entry.
    let at = (0..good.len() - 12)
        .find(|&i| good[i..i + 8] == [0x21, 0x72, 7, 0, 4, 0, 0, 0])
        .unwrap()
        + 8;
    let mut bad = good.clone();
    bad[at] ^= 0x55;
    std::fs::write(dir.join("good.arw"), &good).unwrap();
    std::fs::write(dir.join("bad.arw"), &bad).unwrap();
    let (good_lines, bad_lines) = (
        sr2_lines(&run(&dir, "raw-identify", &["-v", "good.arw"])),
        sr2_lines(&run(&dir, "raw-identify", &["-v", "bad.arw"])),
    );
    assert!(
        good_lines.0.is_some() && good_lines.1.is_some(),
        "{good_lines:?}"
    );
    assert_eq!(bad_lines, (None, None));
    let ours = sonyctl_raw::decode(&bad).unwrap();
    assert!(
        matches!(ours.info.levels, Err(sonyctl_raw::ArwError::Sr2(_))),
        "{:?}",
        ours.info.levels
    );
    assert_eq!(ours.samples, sonyctl_raw::decode(&good).unwrap().samples);
    std::fs::remove_dir_all(&dir).unwrap();
}
