//! `sonyctl set` end to end against `sonyctl simulate` over PTP/IP: how many times it reads the
//! camera's properties (counted by the simulated camera's `--stats`), with and without change
//! events, and how it reports what cannot be set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Simulator, ok, sonyctl};
use serde_json::Value as Json;

/// Runs `set iso 800` against a simulated ILCE-7SM3 started with `extra`; returns the 0x9209
/// requests its `--stats` counted.
fn property_reads_for_set_iso(extra: &[&str]) -> u64 {
    let root = tempfile::tempdir().unwrap();
    let stats = root.path().join("stats.json");
    let mut args = vec!["--stats", stats.to_str().unwrap()];
    args.extend_from_slice(extra);
    let sim = Simulator::start("ilce-7sm3", &args);
    let spec = sim.spec();
    let out = ok(&["--camera", &spec, "set", "iso", "800"]);
    assert_eq!(out, "iso: AUTO -> 800\n", "{extra:?}");
    assert_eq!(ok(&["--camera", &spec, "get", "iso"]), "800\n", "{extra:?}");
    sim.stop();
    let stats: Json = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let hosts = stats["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "set, then get");
    assert_eq!(hosts[0]["operations"]["0x9205"], 1, "{extra:?}");
    hosts[0]["operations"]["0x9209"].as_u64().unwrap()
}

#[test]
fn set_reads_the_properties_at_most_three_times() {
    let reads = property_reads_for_set_iso(&[]);
    assert!(reads <= 3, "{reads} requests of 0x9209");
}

#[test]
fn set_without_events_polls_and_succeeds() {
    let reads = property_reads_for_set_iso(&["--fault", "drop-events"]);
    assert!(reads <= 3, "{reads} requests of 0x9209");
}

/// Each kind of refusal exits 1 with a message that says what is wrong.
#[test]
fn refusals_say_why() {
    for (camera, args, says) in [
        (
            "sim",
            &["nonsense", "1"][..],
            "no setting called \"nonsense\"",
        ),
        ("sim", &["0xD999", "1"], "no setting called \"0xD999\""),
        (
            "sim",
            &["iso", "fast"],
            "fast is not a value ISO can take now",
        ),
        ("sim", &["battery", "50"], "BatteryRemaining is read-only"),
        ("sim:ilce-6000", &["battery", "50"], "is read-only"),
        ("sim:ilce-6000", &["iso", "25"], "did not reach 25"),
    ] {
        let mut all = vec!["--camera", camera, "set"];
        all.extend_from_slice(args);
        let out = sonyctl(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
