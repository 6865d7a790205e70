//! `sonyctl info` and `props` end to end: on the simulated camera in process and over PTP/IP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Simulator, ok, sonyctl};

use serde_json::Value as Json;

#[test]
fn props_on_the_simulated_camera() {
    let table = ok(&["--camera", "sim", "props"]);
    assert!(
        table.starts_with("ILCE-7SM3 (firmware 3.00, protocol 300): 320 settings"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("0xD20D") && l.contains("1/250"))
    );
    // The option also works after the subcommand, and JSON carries the decode fields.
    let json: Json =
        serde_json::from_str(&ok(&["props", "--camera", "sim:ilce-6000", "--json"])).unwrap();
    assert_eq!(
        (json["model"].as_str(), json["sdio"].as_u64()),
        (Some("ILCE-6000"), Some(200))
    );
    let props = json["properties"].as_array().unwrap();
    let iso = props.iter().find(|p| p["code"] == 0xD21E).unwrap();
    for field in [
        "name", "aliases", "datatype", "get_set", "enabled", "current", "display", "settable",
        "all",
    ] {
        assert!(iso.get(field).is_some(), "{field}");
    }
    assert_eq!(iso["display"], "AUTO");
    assert_eq!(iso["aliases"], serde_json::json!(["iso"]));
}

#[test]
fn info_on_the_simulated_camera() {
    let json: Json =
        serde_json::from_str(&ok(&["--camera", "sim:dsc-rx100m7", "info", "--json"])).unwrap();
    assert_eq!(json["model"], "DSC-RX100M7");
    assert_eq!(json["protocol"], "300");
    assert_eq!(json["serial"], "00000000000000008081886002895251");
    assert!(json["battery"].as_str().unwrap().ends_with('%'));
}

#[test]
fn no_camera_and_usb_say_what_to_do() {
    for args in [&["props"][..], &["--camera", "usb", "info"]] {
        let out = sonyctl(args);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--camera sim"), "{err}");
        assert!(
            out.stdout.is_empty(),
            "never falls back to the simulated camera silently"
        );
    }
    let out = sonyctl(&["--camera", "sim:ilce-9999", "props"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ilce-7sm3"),
        "lists the known models"
    );
    let out = sonyctl(&["--camera", "ip:[::1", "props"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed --camera is a usage error"
    );
}

#[test]
fn props_over_ptpip_from_sonyctl_simulate() {
    let sim = Simulator::start("ilce-6000", &[]);
    let spec = sim.spec();
    let table = ok(&["--camera", &spec, "props"]);
    drop(sim);
    assert!(
        table.starts_with("ILCE-6000 (firmware 1.0, protocol 200): 34 settings"),
        "{table}"
    );
}

#[test]
fn get_prints_each_value_on_its_own_line() {
    let out = ok(&[
        "--camera",
        "sim",
        "get",
        "iso",
        "shutter",
        "ShutterSpeed",
        "0x5007",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["AUTO", "1/250", "1/250", "f/4.5"]
    );
    let json: Json =
        serde_json::from_str(&ok(&["--camera", "sim", "get", "--json", "iso"])).unwrap();
    assert_eq!(json["iso"]["code"], 0xD21E);
    assert_eq!(json["iso"]["display"], "AUTO");
    let out = sonyctl(&["--camera", "sim", "get", "nonsense"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn set_verifies_and_refuses_with_the_settable_values() {
    let out = ok(&[
        "--camera",
        "sim:ilce-6000",
        "set",
        "iso",
        "800",
        "shutter",
        "1/250",
    ]);
    assert_eq!(out, "iso: AUTO -> 800\nshutter: 1/100 -> 1/250\n");
    let out = sonyctl(&["--camera", "sim", "set", "iso", "333"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("settable now: AUTO") && err.contains("1600"),
        "{err}"
    );
    let out = sonyctl(&["--camera", "sim:ilce-6000", "set", "iso", "25"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not reach 25"),
        "reported, not selectable"
    );
    let out = sonyctl(&["--camera", "sim", "set", "iso"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a name without a value is a usage error"
    );
}

#[test]
fn set_then_get_over_ptpip() {
    let sim = Simulator::start("ilce-7sm3", &[]);
    let spec = sim.spec();
    ok(&["--camera", &spec, "set", "iso", "1600", "wb", "daylight"]);
    let values = ok(&["--camera", &spec, "get", "iso", "wb"]);
    drop(sim);
    assert_eq!(values, "1600\nDaylight\n");
}

/// watch reports the owner's dial changes on the simulated body, a new image, and the pulled
/// cable, as JSON lines; the starting values are not changes.
#[test]
fn watch_reports_dial_changes_images_and_a_pulled_cable() {
    let sim = Simulator::start(
        "ilce-7sm3",
        &[
            "--act",
            "500ms:set iso 800",
            "--act",
            "1s:mode a",
            "--act",
            "1500ms:shutter",
            "--act",
            "2500ms:unplug",
        ],
    );
    let spec = sim.spec();
    let out = sonyctl(&[
        "--camera", &spec, "watch", "--json", "--for", "5s", "--poll", "100ms",
    ]);
    drop(sim);
    // The cable comes back at once here (the simulated camera keeps listening): watch goes on.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Json> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let has = |f: &dyn Fn(&Json) -> bool| lines.iter().any(f);
    assert!(
        has(&|l| l["code"] == 0xD21E && l["old"] == "AUTO" && l["new"] == "800"),
        "{lines:?}"
    );
    assert!(
        has(&|l| l["name"] == "ExposureProgramMode" && l["new"] == "A"),
        "{lines:?}"
    );
    assert!(
        has(&|l| l["event"] == "image" && l["pending"] == 1),
        "{lines:?}"
    );
    let states: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "connection")
        .filter_map(|l| l["state"].as_str())
        .collect();
    assert_eq!(states, ["lost", "restored"], "{lines:?}");
    assert!(lines.iter().all(|l| {
        l["time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 24)
    }));
    assert!(
        !has(&|l| l["code"] == 0x5005),
        "starting values are not changes"
    );
}

/// A camera that does not come back ends watch with an error when --for runs out.
#[test]
fn watch_ends_with_an_error_when_the_camera_stays_away() {
    let sim = Simulator::start("ilce-7sm3", &[]);
    let spec = sim.spec();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_sonyctl"))
        .args([
            "--camera", &spec, "watch", "--json", "--for", "4s", "--poll", "100ms",
        ])
        .env(
            "HOME",
            std::env::temp_dir().join(format!("sonyctl-home-{}", std::process::id())),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(sim);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a lost connection ends watch with an error"
    );
    let lines: Vec<Json> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["state"].as_str()),
        (Some("connection"), Some("lost"))
    );
    assert_eq!(
        lines.iter().filter(|l| l["event"] == "connection").count(),
        1
    );
}

#[test]
fn watch_for_a_while_on_the_simulated_camera() {
    let out = ok(&["--camera", "sim", "watch", "--for", "300ms"]);
    assert_eq!(out, "", "nothing changes on a camera nobody touches");
}

/// --trace records every container or packet, and decode reads the file back in order.
#[test]
fn trace_files_record_the_traffic_and_decode_reads_them() {
    let dir = std::env::temp_dir().join(format!("sonyctl-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let usb = dir.join("sim.trace");
    ok(&[
        "--camera",
        "sim",
        "--trace",
        usb.to_str().unwrap(),
        "get",
        "iso",
    ]);
    let text = std::fs::read_to_string(&usb).unwrap();
    assert!(
        text.lines().next().unwrap().ends_with("host→camera usb"),
        "{text}"
    );
    let decoded = ok(&["decode", usb.to_str().unwrap()]);
    assert!(
        decoded.contains("OpenSession (0x1002)") && decoded.contains("SDIOGetAllExtDevicePropInfo"),
        "{decoded}"
    );

    let sim = Simulator::start("ilce-6000", &[]);
    let spec = sim.spec();
    let ip = dir.join("ip.trace");
    let out = sonyctl(&[
        "--camera",
        &spec,
        "--trace",
        ip.to_str().unwrap(),
        "-v",
        "info",
    ]);
    drop(sim);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("OperationRequest   SDIOConnect"),
        "-v logs decoded traffic"
    );
    let json: Json =
        serde_json::from_str(&ok(&["decode", "--json", ip.to_str().unwrap()])).unwrap();
    let records = json["records"].as_array().unwrap();
    assert_eq!(
        records[0]["description"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .next(),
        Some("InitCommandRequest")
    );
    assert!(records.iter().any(|r| r["channel"] == "event"));
    assert!(
        records
            .iter()
            .all(|r| !r["description"].as_str().unwrap().starts_with("not a"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn props_on_every_profile() {
    for (model, name, count) in [
        ("ilce-7sm3", "ILCE-7SM3", 320),
        ("dsc-rx100m7", "DSC-RX100M7", 78),
        ("ilce-6000", "ILCE-6000", 34),
        ("ilce-6400", "ILCE-6400", 50),
    ] {
        let json: Json = serde_json::from_str(&ok(&[
            "--camera",
            &format!("sim:{model}"),
            "props",
            "--json",
        ]))
        .unwrap();
        assert_eq!(json["model"], name);
        assert_eq!(
            json["properties"].as_array().unwrap().len(),
            count,
            "{model}"
        );
        let table = ok(&["--camera", &format!("sim:{model}"), "props"]);
        assert_eq!(
            table.lines().count(),
            count + 2,
            "{model}: header line, column line, one row each"
        );
    }
}
