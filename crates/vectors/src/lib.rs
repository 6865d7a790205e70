//! Test support: finds the real camera captures and reads them in place.
//!
//! The captures live in `../shared/vectors` beside the repository (resolved from the workspace
//! root, not from the package being tested) and are never copied into the repository. Set
//! `SONYCTL_VECTORS` to point elsewhere. A missing directory is a loud failure, not a skip.

#![allow(clippy::panic, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The vectors root (the directory holding `vectors/`, `decoded/`, `gphoto2_summaries/`).
pub fn root() -> PathBuf {
    let dir = match std::env::var_os("SONYCTL_VECTORS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"),
    };
    assert!(
        dir.join("vectors").is_dir(),
        "real camera vectors not found at {} (expected ../shared/vectors beside the repository, \
         or set SONYCTL_VECTORS)",
        dir.display()
    );
    dir
}

/// Path of a file under `vectors/`.
pub fn path(name: &str) -> PathBuf {
    root().join("vectors").join(name)
}

/// Reads a `.hex` vector as bytes.
pub fn hex(name: &str) -> Vec<u8> {
    let p = path(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    sonyctl_ptp::hexdump::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Reads a file under `decoded/` as JSON.
pub fn decoded_json(name: &str) -> serde_json::Value {
    let p = root().join("decoded").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Reads a file under `decoded/` as text.
pub fn decoded_text(name: &str) -> String {
    let p = root().join("decoded").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Names of every file under `vectors/` whose name ends with `suffix`, sorted.
pub fn list(suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("vectors"))
        .expect("vectors dir readable")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(suffix))
        .collect();
    out.sort();
    out
}
