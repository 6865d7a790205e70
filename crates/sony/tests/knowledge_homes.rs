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
        what: HALVES_WHAT,
        needles: &[">> 16"],
        // 16-bit lanes of a u64 (the Alpaca layer's 4×4 transpose of samples): not a u32 value.
        unless: &["even16", "u64::from("],
        homes: HALVES,
    },
    Rule {
        what: HALVES_WHAT,
        needles: &["<< 16"],
        unless: &["even16", "u64::from("],
        homes: HALVES,
    },
    Rule {
        what: HALVES_WHAT,
        needles: &["& 0xffff"],
        unless: &["& 0xffff_", "& 0xffffffff"],
        homes: HALVES,
    },
    Rule {
        what: "ISO base / AUTO mask (home: Iso)",
        needles: &["0x00ff_ffff"],
        unless: &[],
        homes: &["crates/sony/src/values/iso.rs"],
    },
    Rule {
        what: "ISO base / AUTO mask (home: Iso)",
        needles: &["0xffffff"],
        unless: &["0xffffffff", "0xffffff0"],
        homes: &["crates/sony/src/values/iso.rs"],
    },
    Rule {
        what: PENDING_WHAT,
        needles: &[">= 0x8000"],
        unless: &[],
        homes: PENDING,
    },
    Rule {
        what: PENDING_WHAT,
        needles: &["& 0x8000"],
        unless: &[],
        homes: PENDING,
    },
    Rule {
        what: PENDING_WHAT,
        needles: &["0x8000..0x8100"],
        unless: &[],
        homes: PENDING,
    },
    Rule {
        what: PENDING_WHAT,
        needles: &["0x8000..=0x80ff"],
        unless: &[],
        homes: PENDING,
    },
    Rule {
        what: PENDING_WHAT,
        needles: &["0x8000 |"],
        unless: &["0x8000 | 0x"],
        homes: PENDING,
    },
    Rule {
        what: PENDING_WHAT,
        needles: &["| 0x8000"],
        unless: &["0x8000 | 0x", "| 0x8000 |", "| 0x8000 =>"],
        homes: PENDING,
    },
    Rule {
        what: EXTENSIONS_WHAT,
        needles: &["=> \"arw\""],
        unless: &[],
        homes: EXTENSIONS,
    },
    Rule {
        what: EXTENSIONS_WHAT,
        needles: &["=> \"jpg\""],
        unless: &[],
        homes: EXTENSIONS,
    },
    Rule {
        what: EXTENSIONS_WHAT,
        needles: &[", \"arw\""],
        unless: &[],
        homes: EXTENSIONS,
    },
    Rule {
        what: EXTENSIONS_WHAT,
        needles: &[", \"jpg\""],
        unless: &[],
        homes: EXTENSIONS,
    },
    Rule {
        what: CALENDAR_WHAT,
        needles: &["719_468"],
        unless: &[],
        homes: CALENDAR,
    },
    Rule {
        what: CALENDAR_WHAT,
        needles: &["719468"],
        unless: &[],
        homes: CALENDAR,
    },
    Rule {
        what: CALENDAR_WHAT,
        needles: &["fn civil_from_days"],
        unless: &[],
        homes: CALENDAR,
    },
    Rule {
        what: "button range (home: values::is_button)",
        needles: &["0xd2c1..="],
        unless: &[],
        homes: &["crates/sony/src/values/buttons.rs"],
    },
    Rule {
        what: "slow-starting bodies (home: values::quirks)",
        needles: &["\"zv-e10\""],
        unless: &[],
        homes: &[
            "crates/sony/src/values/quirks.rs",
            "crates/sony/src/catalogue_names.rs",
        ],
    },
    Rule {
        what: "the SR2 cipher's keystream (home: sonyctl-raw's sr2 module)",
        needles: &["48_828_125"],
        unless: &[],
        homes: &["crates/raw/src/sr2.rs"],
    },
    Rule {
        what: "the SR2 cipher's keystream (home: sonyctl-raw's sr2 module)",
        needles: &["48828125"],
        unless: &[],
        homes: &["crates/raw/src/sr2.rs"],
    },
    Rule {
        what: "the SR2 tags (home: sonyctl-raw's sr2 module)",
        needles: &["0x7221"],
        unless: &[],
        homes: &["crates/raw/src/sr2.rs"],
    },
    Rule {
        what: "the ARW media type (home: values::media_type)",
        needles: &["\"image/x-sony-arw\""],
        // The OpenAPI attributes list media types as literals (no call is possible there).
        unless: &["binary ="],
        homes: &["crates/sony/src/values/object_format.rs"],
    },
];

const HALVES_WHAT: &str = "two 16-bit halves in a u32: shutter num<<16|den, mode category<<16|code, AF point x<<16|y (homes: ShutterSpeed, DriveMode/ExposureProgram, AfPoint)";
const PENDING_WHAT: &str = "0xD215 ready test (home: PendingImages)";
const PENDING: &[&str] = &["crates/sony/src/values/pending.rs"];
const EXTENSIONS_WHAT: &str = "object format → extension table (home: values::object_format)";
const EXTENSIONS: &[&str] = &["crates/sony/src/values/object_format.rs"];
const CALENDAR_WHAT: &str = "days → civil date (home: sonyctl_ptp::date)";
const CALENDAR: &[&str] = &["crates/ptp/src/date.rs"];

/// The code of a line: without a `//` comment (one that starts outside a string literal),
/// in lower case, so `0xFFFF` and `0xffff` are one needle.
fn code_of(line: &str) -> String {
    let mut in_string = false;
    let mut escaped = false;
    let mut prev = ' ';
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '/' && prev == '/' {
            end = i - 1;
            break;
        }
        prev = c;
    }
    line.get(..end).unwrap_or(line).to_ascii_lowercase()
}

/// Findings in one source text: `(line number, what)`.
fn check(path: &str, text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = code_of(line);
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
    let mut scanned = Vec::new();
    for c in crates.unwrap_or_default() {
        // Tests are left out on purpose: they state expected raw values independently of the
        // homes they check.
        for dir in ["src", "examples", "benches"] {
            sources(&c.path().join(dir), &mut files);
        }
        scanned.push(c.file_name().to_string_lossy().into_owned());
    }
    sources(&root.join("fuzz/fuzz_targets"), &mut files);
    scanned.sort();
    assert_eq!(
        scanned,
        [
            "astro",
            "camera",
            "cli",
            "indi",
            "open",
            "ptp",
            "raw",
            "server",
            "service",
            "sim",
            "sony",
            "transport",
            "vectors"
        ],
        "the workspace's crates changed: check this list"
    );
    assert!(
        files.iter().any(|f| f.starts_with(root.join("fuzz"))),
        "no fuzz target found"
    );
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
fn low(raw: u32) -> u32 { raw & 0xffff }
fn bit15(raw: u16) -> bool { raw & 0x8000 != 0 }
const EXT: &[(u16, &str)] = &[(0x3801, "JPG")];
fn url() -> &'static str { "http://x" } fn ready(v: u16) -> u16 { v | 0x8000 }
fn auto(iso: u32) -> bool { iso & 0x00FF_FFFF == 0x00FF_FFFF }
const ARW: &str = "image/x-sony-arw"; fn pad(k: u32) -> u32 { k.wrapping_mul(48_828_125) }
"#;
    let found = check("crates/camera/src/planted.rs", planted);
    let whats: Vec<&str> = found.iter().map(|&(_, w)| w).collect();
    assert_eq!(
        found.iter().map(|&(l, _)| l).collect::<Vec<_>>(),
        [3, 3, 6, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 19]
    );
    assert!(whats.iter().any(|w| w.starts_with("the ARW media type")));
    assert!(whats.iter().any(|w| w.starts_with("the SR2 cipher")));
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
