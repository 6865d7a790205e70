//! `sonyctl decode` end to end: the built binary on real camera bytes, files and standard input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;
use sonyctl_vectors as vectors;

fn sonyctl(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // sonyctl stops reading an oversized input early: a broken pipe here is expected.
    let _ = input.write_all(stdin.unwrap_or(&[]));
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = sonyctl(args, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Fails with exit code 1 and exactly one line on standard error, which is returned.
fn fails(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = sonyctl(args, stdin);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    assert!(err.starts_with("sonyctl: "), "{err}");
    err
}

fn vec_path(name: &str) -> String {
    vectors::path(name).to_str().unwrap().to_string()
}

#[test]
fn a7s3_reply_as_table_and_json() {
    let file = vec_path("ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex");
    let table = ok(&["decode", &file]);
    assert!(
        table.contains("320 properties, protocol 300 layout"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("0xD20D") && l.contains("ShutterSpeed") && l.contains("1/250"))
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("0xD21E") && l.contains("AUTO"))
    );

    let json: Json = serde_json::from_str(&ok(&["decode", "--json", &file])).unwrap();
    assert_eq!(json["sdio"], 300);
    assert_eq!(json["container"]["code"], 0x9209);
    let props = json["properties"].as_array().unwrap();
    let expected = vectors::decoded_json("ilce7sm3_fw300_usb_9209.json");
    let expected = expected["properties"].as_array().unwrap();
    assert_eq!(props.len(), expected.len());
    for (p, e) in props.iter().zip(expected) {
        assert_eq!(
            format!("{:#06x}", p["code"].as_u64().unwrap()),
            e["code"].as_str().unwrap()
        );
        assert_eq!(p["current"], e["current"]);
        assert_eq!(p["get_set"], e["getset"]);
        assert_eq!(p["enabled"], e["is_enabled"]);
        assert!(p["display"].is_string());
        if let Some(list) = e.get("enum_set") {
            let raw: Vec<&Json> = p["settable"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| &v["value"])
                .collect();
            assert_eq!(raw, list.as_array().unwrap().iter().collect::<Vec<_>>());
            assert_eq!(
                p["all"].as_array().unwrap().len(),
                e["enum_getset"].as_array().unwrap().len()
            );
        }
        if let Some(r) = e.get("range") {
            assert_eq!(p["range"]["min"]["value"], r[0]);
            assert_eq!(p["range"]["max"]["value"], r[1]);
            assert_eq!(p["range"]["step"], r[2]);
        }
    }
    let shutter = props.iter().find(|p| p["code"] == 0xD20D).unwrap();
    assert_eq!(shutter["name"], "ShutterSpeed");
    assert_eq!(shutter["display"], "1/250");
    assert_eq!(shutter["datatype"], "UINT32");
    let unnamed = props.iter().filter(|p| p["name"].is_null()).count();
    assert!(unnamed < props.len() / 4, "{unnamed} unnamed");
}

#[test]
fn payload_files_need_a_kind_and_sdio_can_be_forced() {
    let payload = vec_path("ilce6000_usb_9209_getallextdevicepropinfo_reply.payload.hex");
    let err = fails(&["decode", &payload], None);
    assert!(err.contains("--as"), "{err}");
    let json: Json = serde_json::from_str(&ok(&[
        "decode",
        "--as",
        "sony-all-prop-info",
        "--json",
        &payload,
    ]))
    .unwrap();
    assert_eq!(json["sdio"], 200);
    let p = &json["properties"][0];
    assert_eq!(p["settable"], p["all"], "a protocol-200 list fills both");
    // Forcing the wrong layout is an error naming the place.
    let err = fails(
        &[
            "decode",
            "--as",
            "sony-all-prop-info",
            "--sdio",
            "300",
            &payload,
        ],
        None,
    );
    assert!(err.contains("SonyDevicePropDesc"), "{err}");
    let rx = vec_path("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex");
    let err = fails(
        &["decode", "--as", "sony-all-prop-info", "--sdio", "200", &rx],
        None,
    );
    assert!(err.contains("offset"), "{err}");
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let partial = vec_path("ilce5000_usb_9209_reply_PARTIAL_first240of1016.container.hex");
    let err = fails(&["decode", &partial], None);
    assert!(err.contains("1016") && err.contains("truncated"), "{err}");
    let corrupt = vec_path("ilce9_fw600_ptpip_9209_reply_CORRUPT_AFTER_0x6be.payload.hex");
    let err = fails(&["decode", "--as", "sony-all-prop-info", &corrupt], None);
    assert!(
        err.contains("invalid data type 0x0000") && err.contains("0x75b"),
        "{err}"
    );
    let err = fails(&["decode", "/nonexistent/file.hex"], None);
    assert!(err.contains("cannot open"), "{err}");
    let err = fails(&["decode", "-"], Some(b""));
    assert!(err.contains("empty"), "{err}");
    let err = fails(&["decode"], Some(b"0c 00 00 00 01 00 0g"));
    assert!(err.contains("not a hex digit"), "{err}");
    let err = fails(&["decode"], Some(b"0c 00 00 00 01 00 0"));
    assert!(err.contains("odd number"), "{err}");
    // A container with one byte more than its length field.
    let err = fails(&["decode"], Some(b"0c 00 00 00 01 00 01 10 00 00 00 00 ff"));
    assert!(err.contains("oversized"), "{err}");
}

#[test]
fn binary_stdin_and_other_kinds() {
    let bytes = vectors::hex("ilce7sm3_fw300_usb_9202_getextdeviceinfo_reply_v300.container.hex");
    let out = sonyctl(&["decode", "-"], Some(&bytes));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("protocol version 300") && text.contains("320 property codes"),
        "{text}"
    );
    assert!(
        text.contains("0xF002"),
        "an unnamed control prints as hex: {text}"
    );

    let di = ok(&[
        "decode",
        "--as",
        "device-info",
        &vec_path("dscrx100m7_fw100_ptpip_1001_deviceinfo.payload.hex"),
    ]);
    assert!(
        di.contains("DSC-RX100M7") && di.contains("SDIOConnect"),
        "{di}"
    );

    let ack = ok(&[
        "decode",
        &vec_path("ilce9_fw600_ptpip_initcommandack_packet.hex"),
    ]);
    assert!(
        ack.contains("InitCommandAck") && ack.contains("\"ILCE-9\""),
        "{ack}"
    );
    let json: Json = serde_json::from_str(&ok(&[
        "decode",
        "--as",
        "ptpip",
        "--json",
        &vec_path("sony_ptpip_event_c207_packet_ilce9_or_rx100m7.hex"),
    ]))
    .unwrap();
    assert_eq!(json["packets"][0]["type"], "Event");

    let ev = ok(&[
        "decode",
        &vec_path("ilce6000_usb_event_c203_propchanged_d21d.container.hex"),
    ]);
    assert!(ev.contains("DevicePropChanged MovieRecordingState"), "{ev}");
    let ev = ok(&[
        "decode",
        "--as",
        "event",
        &vec_path("ilce9_fw600_ptpip_event_c203_packet.hex"),
    ]);
    assert!(ev.contains("(unspecified)"), "{ev}");

    let lv = ok(&[
        "decode",
        "--as",
        "live-view",
        &vec_path("dscrx100m7_fw100_http_liveview_dataset_singleimage_frame0.payload.hex"),
    ]);
    assert!(
        lv.contains("38783 bytes to EOI") || lv.contains("bytes to EOI"),
        "{lv}"
    );

    let a850 = ok(&[
        "decode",
        &vec_path("dslra850_usb_9203_getdevicepropdesc_5004_reply.container.hex"),
    ]);
    assert!(a850.contains("CompressionSetting"), "{a850}");

    let cmd = ok(&[
        "decode",
        &vec_path("ilce5100_usb_9201_sdioconnect_phase2_request.container.hex"),
    ]);
    assert!(
        cmd.contains("SDIOConnect") && cmd.contains("0x2, 0x0, 0x0"),
        "{cmd}"
    );
}

/// Every complete vector decodes without error through the CLI.
#[test]
fn every_complete_container_decodes() {
    for name in vectors::list(".container.hex") {
        if name.contains("PARTIAL") {
            fails(&["decode", &vec_path(&name)], None);
        } else {
            ok(&["decode", &vec_path(&name)]);
            ok(&["decode", "--json", &vec_path(&name)]);
        }
    }
}

/// A reader that stops early (`| head -1`) ends the output quietly, with success.
#[test]
fn closed_stdout_is_not_a_crash() {
    let file = vec_path("ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex");
    for json in [false, true] {
        let mut args = vec!["decode", file.as_str()];
        if json {
            args.push("--json");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Inputs a review found: 128-bit values in JSON, a BOM and non-ASCII comments, the "until a
/// short packet" length, a container whose length disagrees even with --as, an oversized file.
#[test]
fn review_findings_stay_fixed() {
    // A 0x9209 reply with one UINT128 property of all-ones values.
    let mut reply = vec![1, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xD2, 0x0A, 0x00, 0x00, 0x01];
    reply.extend([0xFF; 32]);
    reply.push(0);
    let out = sonyctl(
        &["decode", "--as", "sony-all-prop-info", "--json", "-"],
        Some(&reply),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["properties"][0]["current"], u128::MAX.to_string());

    let text = "\u{feff}# café, captured by hand\n0c 00 00 00 01 00 01 10 00 00 00 00\n";
    let out = sonyctl(&["decode"], Some(text.as_bytes()));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("GetDeviceInfo"),
        "{out:?}"
    );

    let mut until_short = vec![0xFF, 0xFF, 0xFF, 0xFF, 2, 0, 0x01, 0x10, 1, 0, 0, 0];
    until_short.extend(vectors::hex(
        "dscrx100m7_fw100_ptpip_1001_deviceinfo.payload.hex",
    ));
    let out = sonyctl(&["decode", "-"], Some(&until_short));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("DSC-RX100M7"),
        "{out:?}"
    );

    let cut = vectors::hex("ilce7rm2_fw30_usb_1001_deviceinfo_PARTIAL_first224of259.container.hex");
    let err = fails(&["decode", "--as", "device-info", "-"], Some(&cut));
    assert!(err.contains("truncated") && err.contains("259"), "{err}");

    let big = vec![0u8; 5 * 1024 * 1024];
    let err = fails(&["decode", "-"], Some(&big));
    assert!(err.contains("larger than 4 MiB"), "{err}");
}
