//! `sonyctl capture`, `tether` and the focus, movie and release commands with the real binary:
//! over PTP/IP against `sonyctl simulate` (whose `--stats` lists every file it produced, with its
//! SHA-256) and on the simulated camera in process. Every image arrives exactly once and
//! byte-identical, under every fault, and nothing is written outside the output folder.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Simulator, ok, sonyctl};
use serde_json::Value as Json;

fn json_lines(text: &str) -> Vec<Json> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The JSON lines name exactly the files under `root` (all inside `root/out`), each file's bytes
/// hash as reported, and the multiset of hashes equals what the simulated camera produced.
fn check(lines: &[Json], root: &Path, stats: &Path) {
    let stats: Json = serde_json::from_str(&std::fs::read_to_string(stats).unwrap()).unwrap();
    let mut want: BTreeMap<String, u32> = BTreeMap::new();
    for img in stats["images"].as_array().unwrap() {
        *want
            .entry(img["sha256"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let mut got: BTreeMap<String, u32> = BTreeMap::new();
    let mut paths = Vec::new();
    for l in lines {
        let path = PathBuf::from(l["path"].as_str().unwrap());
        assert!(path.starts_with(root.join("out")), "{path:?}");
        assert_eq!(sha256_of(&path), l["sha256"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            l["size"].as_u64().unwrap()
        );
        *got.entry(l["sha256"].as_str().unwrap().to_string())
            .or_default() += 1;
        paths.push(path);
    }
    assert_eq!(got, want, "saved vs produced");
    paths.sort();
    let on_disk: Vec<_> = all_files(root)
        .into_iter()
        .filter(|p| !p.ends_with("stats.json"))
        .collect();
    assert_eq!(on_disk, paths, "files under the root");
}

/// Runs `capture ARGS --json` against `sonyctl simulate --model MODEL SIM_ARGS`, then checks.
fn capture_over_ptpip(model: &str, sim_args: &[&str], args: &[&str]) -> Vec<Json> {
    let root = tempfile::tempdir().unwrap();
    let stats = root.path().join("stats.json");
    let mut sim_all = vec!["--stats", stats.to_str().unwrap()];
    sim_all.extend_from_slice(sim_args);
    let sim = Simulator::start(model, &sim_all);
    let out_dir = root.path().join("out/a/b");
    let spec = sim.spec();
    let mut all = vec![
        "--camera",
        &spec,
        "capture",
        "--json",
        "-o",
        out_dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let lines = json_lines(&ok(&all));
    sim.stop();
    check(&lines, root.path(), &stats);
    lines
}

#[test]
fn capture_over_ptpip_with_settings_in_json() {
    let lines = capture_over_ptpip(
        "ilce-7sm3",
        &["--act", "0s:set format raw+jpeg"],
        &["-n", "2"],
    );
    assert_eq!(lines.len(), 4);
    let formats: Vec<_> = lines
        .iter()
        .map(|l| l["format"].as_str().unwrap())
        .collect();
    assert_eq!(formats, ["JPEG", "ARW", "JPEG", "ARW"]);
    assert_eq!(lines[0]["settings"]["shutter"], "1/250");
    assert_eq!(lines[0]["settings"]["aperture"], "f/4.5");
    assert_eq!(
        (lines[1]["shot"].as_u64(), lines[2]["shot"].as_u64()),
        (Some(1), Some(2))
    );
}

#[test]
fn capture_over_ptpip_on_a_protocol_200_body() {
    let lines = capture_over_ptpip("ilce-6000", &[], &[]);
    assert_eq!(lines.len(), 1);
}

#[test]
fn capture_over_ptpip_under_every_fault() {
    for fault in [
        "busy",
        "slow",
        "disconnect-mid-data",
        "garbage",
        "drop-events",
        "hostile-filename",
    ] {
        let lines = capture_over_ptpip(
            "ilce-7sm3",
            &["--fault", fault, "--act", "0s:set format raw+jpeg"],
            &["-n", "2"],
        );
        assert_eq!(lines.len(), 4, "{fault}");
    }
}

#[test]
fn bulb_over_ptpip_and_ctrl_c() {
    let root = tempfile::tempdir().unwrap();
    let stats = root.path().join("stats.json");
    let sim = Simulator::start("ilce-7sm3", &["--stats", stats.to_str().unwrap()]);
    let out_dir = root.path().join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
        .args([
            "--camera",
            &sim.spec(),
            "capture",
            "--json",
            "--bulb",
            "1h",
            "-o",
        ])
        .arg(&out_dir)
        .env(
            "HOME",
            std::env::temp_dir().join(format!("sonyctl-home-{}", std::process::id())),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C a couple of seconds into a one-hour exposure (this body gets 3 s after the
    // handshake before its first shot): the shutter closes and the image is saved.
    std::thread::sleep(std::time::Duration::from_secs(5));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("restored"), "{stderr}");
    let lines = json_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(lines.len(), 1);
    sim.stop();
    check(&lines, root.path(), &stats);
    let stats: Json = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let exposure = stats["images"][0]["exposure_s"].as_f64().unwrap();
    assert!((1.0..10.0).contains(&exposure), "exposure {exposure} s");
}

#[test]
fn tether_saves_every_owner_shot_once() {
    let root = tempfile::tempdir().unwrap();
    let stats = root.path().join("stats.json");
    let sim = Simulator::start(
        "ilce-7sm3",
        &[
            "--stats",
            stats.to_str().unwrap(),
            "--act",
            "1s:shutter",
            "--act",
            "2s:shutter",
            "--act",
            "2500ms:shutter",
        ],
    );
    let out_dir = root.path().join("out");
    let lines = json_lines(&ok(&[
        "--camera",
        &sim.spec(),
        "tether",
        "--for",
        "4s",
        "--json",
        "-o",
        out_dir.to_str().unwrap(),
    ]));
    sim.stop();
    assert_eq!(lines.len(), 3);
    check(&lines, root.path(), &stats);
}

#[test]
fn names_never_overwrite_and_templates_apply() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let o = out.to_str().unwrap();
    // Each run of the in-process simulated camera starts again at DSC00001.
    ok(&["--camera", "sim", "capture", "-o", o]);
    let text = ok(&["--camera", "sim", "capture", "-o", o]);
    assert!(text.contains("DSC00001-1.JPG"), "{text}");
    let lines = json_lines(&ok(&[
        "--camera",
        "sim",
        "capture",
        "--json",
        "-o",
        o,
        "--name",
        "{model}/{seq}-{date}.{ext}",
    ]));
    let path = lines[0]["path"].as_str().unwrap();
    let rel = Path::new(path)
        .strip_prefix(&out)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(rel.starts_with("ILCE-7SM3/0001-20"), "{rel}");
    assert!(rel.ends_with(".JPG"), "{rel}");
    assert_eq!(all_files(root.path()).len(), 3);
}

#[test]
fn bad_capture_arguments_are_refused() {
    for (args, needle) in [
        (&["capture", "--bulb", "0s"][..], "above zero"),
        (&["capture", "--name", "{nope}.jpg"][..], "{nope}"),
        (&["capture", "--name", "../x.jpg"][..], "template"),
        (&["capture", "--count", "0"][..], "0"),
        (
            &["capture", "--bulb", "1s", "--burst", "1s"][..],
            "cannot be used",
        ),
        (&["focus", "sideways"][..], "sideways"),
        (&["focus", "near", "2"][..], "1, 3 or 7"),
        (&["focus-point", "640", "0"][..], "640"),
    ] {
        let mut all = vec!["--camera", "sim"];
        all.extend_from_slice(args);
        let out = sonyctl(&all);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn focus_movie_and_release_commands() {
    assert_eq!(ok(&["--camera", "sim", "af"]).trim(), "focused");
    assert_eq!(
        ok(&["--camera", "sim", "focus-point", "320", "240"]).trim(),
        "focus point at 320 240"
    );
    assert_eq!(ok(&["--camera", "sim", "release"]).trim(), "released");
    // Against one simulated camera over PTP/IP: state carries across commands.
    let sim = Simulator::start(
        "ilce-7sm3",
        &[
            "--act",
            "0s:set scene dark",
            "--act",
            "0s:set focus-mode mf",
        ],
    );
    let spec = sim.spec();
    assert_eq!(
        ok(&["--camera", &spec, "movie", "start"]).trim(),
        "recording"
    );
    assert_eq!(
        ok(&["--camera", &spec, "movie", "start"]).trim(),
        "already recording"
    );
    assert_eq!(ok(&["--camera", &spec, "movie", "stop"]).trim(), "stopped");
    assert_eq!(
        ok(&["--camera", &spec, "focus", "far", "7", "--steps", "3"]).trim(),
        "moved far 3 step(s) of 7"
    );
    assert_eq!(
        ok(&["--camera", &spec, "af"]).trim(),
        "manual focus (no autofocus to run)"
    );
    ok(&["--camera", &spec, "set", "focus-mode", "AF-S"]);
    let out = sonyctl(&["--camera", &spec, "af"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "not focused");
    // Said once, on standard output; no error line besides the connection notice.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| !l.contains("connecting to"))
            .count(),
        0,
        "{stderr}"
    );
}
