//! Compiles every profile in `models/` into the binary: adding a body is adding a file there.

// A build script reports problems by panicking with a message: cargo shows it.
#![allow(clippy::expect_used)]

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut models: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("crates/sim/models is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            Some((name, p.to_str()?.to_string()))
        })
        .collect();
    models.sort();
    let mut out = String::from(
        "/// The built-in profiles (every file in `crates/sim/models/`): name and TOML text.\n",
    );
    out.push_str("pub const BUILTIN: &[(&str, &str)] = &[\n");
    for (name, path) in &models {
        println!("cargo:rerun-if-changed={path}");
        let _ = writeln!(out, "    ({name:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let target =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin.rs");
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
