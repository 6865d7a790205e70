//! The built-in profiles against the real captures they were made from, read in place: at their
//! initial state they must give back the camera's own bytes, except where a profile says it
//! changed something.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sonyctl_ptp::{Codec, DeviceInfo, PropertyCode, UsbContainer, Value};
use sonyctl_sim::Profile;
use sonyctl_sony::{AllPropInfo, Enabled, ExtDeviceInfo, SdioVersion};
use sonyctl_vectors as vectors;

fn payload(name: &str) -> Vec<u8> {
    let bytes = vectors::hex(name);
    match UsbContainer::decode(&bytes) {
        Ok(c) => c.payload,
        Err(_) => bytes,
    }
}

fn table(profile: &Profile) -> AllPropInfo {
    AllPropInfo {
        version: profile.sdio_version,
        properties: profile.properties.clone(),
    }
}

#[test]
fn ilce_7sm3_matches_its_usb_capture_byte_for_byte() {
    let p = Profile::builtin("ilce-7sm3").unwrap();
    assert_eq!(p.sdio_version, SdioVersion::V300);
    assert_eq!(
        table(&p).to_bytes().unwrap(),
        payload("ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex"),
        "0x9209 at the initial state: same 320 codes, order, types, forms and values"
    );
    let ext = ExtDeviceInfo::decode_exact(&payload(
        "ilce7sm3_fw300_usb_9202_getextdeviceinfo_reply_v300.container.hex",
    ))
    .unwrap();
    assert_eq!(p.ext_property_codes(), ext.properties);
    assert_eq!(p.controls, ext.controls);
    assert_eq!(p.usb_product, 0x0D18);
    assert_eq!(p.device_info.model, "ILCE-7SM3");
}

#[test]
fn dsc_rx100m7_matches_its_ptpip_capture_byte_for_byte() {
    let p = Profile::builtin("dsc-rx100m7").unwrap();
    assert_eq!(
        table(&p).to_bytes().unwrap(),
        payload("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex")
    );
    let ext = ExtDeviceInfo::decode_exact(&payload(
        "dscrx100m7_fw100_ptpip_9202_getextdeviceinfo_reply_v300.payload.hex",
    ))
    .unwrap();
    assert_eq!(
        (p.ext_property_codes(), p.controls.clone()),
        (ext.properties, ext.controls)
    );
    assert_eq!(
        p.device_info.to_bytes().unwrap(),
        payload("dscrx100m7_fw100_ptpip_1001_deviceinfo.payload.hex"),
        "DeviceInfo byte for byte"
    );
}

/// The A6000 profile is the capture with the documented changes: M instead of iAuto, the four
/// exposure settings enabled for stepping, and the settings iAuto takes away enabled.
#[test]
fn ilce_6000_is_its_capture_moved_to_m() {
    let p = Profile::builtin("ilce-6000").unwrap();
    assert_eq!(p.sdio_version, SdioVersion::V200);
    let mut captured = AllPropInfo::decode(
        &payload("ilce6000_usb_9209_getallextdevicepropinfo_reply.container.hex"),
        SdioVersion::V200,
    )
    .unwrap();
    for d in &mut captured.properties {
        match d.code.0 {
            0x500E => {
                assert_eq!(d.current, Value::U16(0x8000), "captured in iAuto");
                d.current = Value::U16(1);
            }
            0x5007 | 0xD20D | 0xD21E | 0x5010 => {
                assert_eq!((d.enabled, d.get_set.0), (Enabled::DISPLAY_ONLY, 0));
                d.enabled = Enabled::ENABLED;
            }
            // White balance, metering, DRO, picture effect: iAuto takes them away, M gives them
            // back.
            0x5005 | 0x500B | 0xD201 | 0xD21B => {
                assert_eq!(d.enabled, Enabled::DISABLED);
                d.enabled = Enabled::ENABLED;
            }
            _ => {}
        }
    }
    assert_eq!(table(&p), captured);
    assert!(
        p.property(PropertyCode(0xD222)).is_none(),
        "no save destination"
    );

    // DeviceInfo lists and the 0x9202 lists as libgphoto2's summary of this body shows them.
    let root = vectors::root();
    let parsed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("gphoto2_summaries_parsed.json")).unwrap(),
    )
    .unwrap();
    let a6000 = parsed
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["file"] == "sony-a6000.txt")
        .unwrap();
    let codes = |key: &str| -> Vec<u64> {
        a6000[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    let ops: Vec<u64> = p
        .device_info
        .operations
        .iter()
        .map(|o| u64::from(o.0))
        .collect();
    assert_eq!(ops, codes("operations"));
    let events: Vec<u64> = p
        .device_info
        .events
        .iter()
        .map(|o| u64::from(o.0))
        .collect();
    assert_eq!(events, codes("events"));
    let merged: Vec<u64> = p
        .ext_property_codes()
        .iter()
        .chain(&p.controls)
        .map(|c| u64::from(c.0))
        .collect();
    assert_eq!(
        merged,
        codes("device_props"),
        "0x9202 lists, merged as libgphoto2 shows them"
    );
}

/// What every profile promises hosts and tests: ISO 800 and 1600 and shutter 1/250 and 1/1000 are
/// selectable in M (in list 1 on protocol 300, in the step lists on protocol 200), and every step
/// list holds the current value.
#[test]
fn common_values_are_selectable_in_m_on_every_profile() {
    let iso = |v: u32| Value::U32(v);
    let shutter = |den: u32| Value::U32(1 << 16 | den);
    for (name, _) in sonyctl_sim::profile::BUILTIN {
        let p = Profile::builtin(name).unwrap();
        for (code, want) in [
            (0xD21E, vec![iso(800), iso(1600)]),
            (0xD20D, vec![shutter(250), shutter(1000)]),
        ] {
            let code = PropertyCode(code);
            let d = p.property(code).unwrap();
            let selectable = match p.step_list(code) {
                Some(list) => list.to_vec(),
                None => d.settable_values().unwrap().to_vec(),
            };
            for v in want {
                assert!(
                    selectable.contains(&v),
                    "{name}: {v:?} selectable for {code:?}"
                );
            }
        }
        for (code, list) in &p.steps {
            let d = p.property(*code).unwrap();
            assert!(
                list.contains(&d.current),
                "{name}: {code:?} steps hold the current value"
            );
            assert!(list.iter().all(|v| v.data_type() == d.data_type));
        }
    }
}

/// Profiles written back out read in again unchanged (the generator's format is the files').
#[test]
fn device_info_of_every_profile_round_trips() {
    for (name, _) in sonyctl_sim::profile::BUILTIN {
        let p = Profile::builtin(name).unwrap();
        let bytes = p.device_info.to_bytes().unwrap();
        assert_eq!(DeviceInfo::decode_exact(&bytes).unwrap(), p.device_info);
    }
}

/// The ILCE-6400 profile against libgphoto2's dump of that body (no raw bytes exist): its
/// `/main/other/<code>` entries give the 0x9202 codes in order, each current value and each
/// enumeration list as raw numbers.
#[test]
fn ilce_6400_matches_libgphoto2s_dump() {
    let p = Profile::builtin("ilce-6400").unwrap();
    assert_eq!(p.sdio_version, SdioVersion::V200);
    let text =
        std::fs::read_to_string(vectors::root().join("gphoto2_summaries/sony-a6400.txt")).unwrap();
    // (code, current, choices) for every /main/other entry, in order.
    let mut entries: Vec<(u16, Option<f64>, Vec<f64>)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(hex) = line.strip_prefix("/main/other/") else {
            continue;
        };
        let code = u16::from_str_radix(hex, 16).unwrap();
        let mut current = None;
        let mut choices = Vec::new();
        for l in lines.by_ref() {
            if l == "END" {
                break;
            }
            if let Some(v) = l.strip_prefix("Current: ") {
                current = v.trim().parse::<f64>().ok();
            }
            if let Some(v) = l.strip_prefix("Choice: ") {
                if let Some(x) = v
                    .split_whitespace()
                    .nth(1)
                    .and_then(|x| x.parse::<f64>().ok())
                {
                    choices.push(x);
                }
            }
        }
        entries.push((code, current, choices));
    }
    let codes: Vec<u16> = entries.iter().map(|e| e.0).collect();
    let merged: Vec<u16> = p
        .ext_property_codes()
        .iter()
        .chain(&p.controls)
        .map(|c| c.0)
        .collect();
    assert_eq!(merged, codes, "0x9202 lists in libgphoto2's merged order");
    let mut checked = 0;
    for (code, current, choices) in &entries {
        let Some(d) = p.property(PropertyCode(*code)) else {
            continue;
        };
        if let (Some(dumped), Some(ours)) = (current, d.current.as_i64()) {
            // The dump prints large numbers in 6 significant digits (3.44975e+07).
            let tolerance = dumped.abs() * 1e-5;
            assert!(
                (*dumped - ours as f64).abs() <= tolerance,
                "{code:#06x}: {dumped} vs {ours}"
            );
            checked += 1;
        }
        if let (false, Some(all)) = (choices.is_empty(), d.all_values()) {
            let ours: Vec<f64> = all.iter().map(|v| v.as_i64().unwrap() as f64).collect();
            assert_eq!(&ours, choices, "{code:#06x} list");
        }
    }
    assert!(checked >= 40, "{checked} current values compared");
}

/// The mode dial back to iAuto returns the ILCE-6000 to the state it was captured in: its
/// 0x9209 reply is then the real one, byte for byte.
#[test]
fn ilce_6000_in_iauto_answers_the_captured_bytes() {
    use sonyctl_sim::{OwnerAction, SimOptions, SimulatedCamera};
    let mut cam = SimulatedCamera::new(
        Profile::builtin("ilce-6000").unwrap(),
        SimOptions::default(),
    );
    cam.owner(&OwnerAction::Mode("iauto".into())).unwrap();
    let id = cam.connect();
    let op = |code: u16, params: &[u32]| sonyctl_ptp::Operation {
        code: sonyctl_ptp::OperationCode(code),
        transaction_id: 1,
        params: sonyctl_ptp::Params::new(params).unwrap(),
    };
    let t = std::time::Duration::ZERO;
    for (code, params) in [
        (0x1002, &[1][..]),
        (0x9201, &[1, 0, 0]),
        (0x9201, &[2, 0, 0]),
        (0x9202, &[200]),
        (0x9201, &[3, 0, 0]),
    ] {
        assert_eq!(
            cam.handle(id, t, &op(code, params), None).code,
            sonyctl_ptp::ResponseCode::OK
        );
    }
    let reply = cam.handle(id, t, &op(0x9209, &[]), None).data.unwrap();
    assert_eq!(
        reply,
        payload("ilce6000_usb_9209_getallextdevicepropinfo_reply.container.hex")
    );
}
