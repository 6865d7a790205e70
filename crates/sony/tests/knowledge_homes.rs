//! Each piece of camera knowledge has one home; this check fails when a layout is decoded
//! again somewhere else in the workspace's sources.

use std::path::{Path, PathBuf};

/// A layout, how a copy of it looks, and the files allowed to hold it.
struct Rule {
    what: &'static str,
    /// Every needle must be on the same line.
    needles: &'static [&'static str],
    /// A line holding any of these is something else (a match arm listing codes).
    unless: &'static [&'static str],
    homes: &'static [&'static str],
}

/// Where a u32 is split into 16-bit halves on purpose.
const HALVES: &[&str] = &[
    "crates/sony/src/values/shutter.rs",
    "crates/sony/src/values/mode.rs",
    "crates/sony/src/values/af_point.rs",
];

const RULES: &[Rule] = &[
    Rule {
        what: "two 16-bit halves in a u32: shutter num<<16|den, mode category<<16|code, AF point x<<16|y (homes: ShutterSpeed, DriveMode/ExposureProgram, AfPoint)",
        needles: &[">> 16"],
        unless: &[],
        homes: HALVES,
    },
    Rule {
        what: "two 16-bit halves in a u32: shutter num<<16|den, mode category<<16|code, AF point x<<16|y (homes: ShutterSpeed, DriveMode/ExposureProgram, AfPoint)",
        needles: &["<< 16"],
        unless: &[],
        homes: HALVES,
    },
    Rule {
        what: "ISO base / AUTO mask (home: Iso)",
        needles: &["0x00FF_FFFF"],
        unless: &[],
        homes: &["crates/sony/src/values/iso.rs"],
    },
    Rule {
        what: "ISO base / AUTO mask (home: Iso)",
        needles: &["0xFFFFFF"],
        unless: &["0xFFFFFFFF", "0xFFFFFF0", "0xFFFFFFF"],
        homes: &["crates/sony/src/values/iso.rs"],
    },
    Rule {
        what: "0xD215 ready test (home: PendingImages)",
        needles: &[">= 0x8000"],
        unless: &[],
        homes: &["crates/sony/src/values/pending.rs"],
    },
    Rule {
        what: "0xD215 ready range (home: PendingImages)",
        needles: &["0x8000..0x8100"],
        unless: &[],
        homes: &["crates/sony/src/values/pending.rs"],
    },
    Rule {
        what: "0xD215 ready value (home: PendingImages)",
        needles: &["0x8000 |"],
        unless: &["0x8000 | 0x"],
        homes: &["crates/sony/src/values/pending.rs"],
    },
    Rule {
        what: "object format → extension table (home: values::object_format)",
        needles: &["=> \"ARW\""],
        unless: &[],
        homes: &["crates/sony/src/values/object_format.rs"],
    },
    Rule {
        what: "object format → extension table (home: values::object_format)",
        needles: &["=> \"JPG\""],
        unless: &[],
        homes: &["crates/sony/src/values/object_format.rs"],
    },
    Rule {
        what: "days → civil date (home: sonyctl_ptp::date)",
        needles: &["719_468"],
        unless: &[],
        homes: &["crates/ptp/src/date.rs"],
    },
    Rule {
        what: "days → civil date (home: sonyctl_ptp::date)",
        needles: &["fn civil_from_days"],
        unless: &[],
        homes: &["crates/ptp/src/date.rs"],
    },
    Rule {
        what: "button range (home: values::is_button)",
        needles: &["0xD2C1..="],
        unless: &[],
        homes: &["crates/sony/src/values/buttons.rs"],
    },
    Rule {
        what: "slow-starting bodies (home: values::quirks)",
        needles: &["\"ZV-E10\""],
        unless: &[],
        homes: &[
            "crates/sony/src/values/quirks.rs",
            "crates/sony/src/catalogue_names.rs",
        ],
    },
];

/// Findings in one source text: `(line number, what)`.
fn check(path: &str, text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for rule in RULES {
            if rule.homes.contains(&path) {
                continue;
            }
            if rule.needles.iter().all(|n| code.contains(n))
                && !rule.unless.iter().any(|n| code.contains(n))
            {
                found.push((i + 1, rule.what));
            }
        }
    }
    found
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_layout_is_decoded_in_its_home_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    let crates = std::fs::read_dir(root.join("crates")).map(|d| d.flatten().collect::<Vec<_>>());
    for c in crates.unwrap_or_default() {
        sources(&c.path().join("src"), &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut report = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (line, what) in check(&rel, &text) {
            report.push(format!("{rel}:{line}: {what}"));
        }
    }
    assert!(
        report.is_empty(),
        "decoded outside its home:\n{}",
        report.join("\n")
    );
}

#[test]
fn a_planted_copy_is_reported() {
    let planted = r#"
fn shutter(raw: u64) -> (u64, u64) {
    (raw >> 16, raw & 0xFFFF) // a second decoder
}
fn ready(raw: u16) -> bool {
    raw >= 0x8000
}
fn ext(f: u16) -> &'static str {
    match f { 0xB101 => "ARW", _ => "BIN" }
}
fn civil_from_days(days: i64) {}
fn pending(n: u16) -> u16 { 0x8000 | n }
fn af(x: u32, y: u32) -> u32 { x << 16 | y }
fn auto(iso: u32) -> bool { iso & 0x00FF_FFFF == 0x00FF_FFFF }
"#;
    let found = check("crates/camera/src/planted.rs", planted);
    let whats: Vec<&str> = found.iter().map(|&(_, w)| w).collect();
    assert_eq!(
        found.iter().map(|&(l, _)| l).collect::<Vec<_>>(),
        [3, 6, 9, 11, 12, 13, 14]
    );
    assert!(whats.iter().any(|w| w.starts_with("two 16-bit halves")));
    assert!(whats.iter().any(|w| w.starts_with("ISO")));
    assert!(whats.iter().any(|w| w.starts_with("0xD215")));
    assert!(whats.iter().any(|w| w.starts_with("object format")));
    assert!(whats.iter().any(|w| w.starts_with("days")));
    // The same text in its home is fine, and a comment mentioning a layout is not code.
    assert!(
        check(
            "crates/sony/src/values/shutter.rs",
            "(raw >> 16, raw & 0xFFFF)"
        )
        .is_empty()
    );
    assert!(check("crates/x.rs", "// raw >= 0x8000 is ready").is_empty());
    assert!(check("crates/x.rs", "0x8000 | 0x8001 => 4,").is_empty());
}
