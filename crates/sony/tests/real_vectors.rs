//! The Sony layer against real camera bytes from `../shared/vectors`, read in place, checked

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! against the independent expectations in `../shared/vectors/decoded/*.json`.

use serde_json::{Value as Json, json};
use sonyctl_ptp::{Codec, DecodeErrorKind, PropertyCode, Reader, UsbContainer, Value};
use sonyctl_sony::{
    AllPropInfo, ExtDeviceInfo, LiveViewFrame, PropertyReport, SdioVersion, SonyDevicePropDesc,
    SonyEvent, SonyForm, format_value, parse_value, property_name,
};
use sonyctl_vectors as vectors;

fn values(v: &[Value]) -> Json {
    serde_json::to_value(v).unwrap()
}

/// Checks every descriptor against the JSON expectation: offset, code, type, GetSet, IsEnabled,
/// default, current, form and lists, and size; then that re-encoding gives the original bytes.
fn check_against_expectations(
    payload: &[u8],
    json_name: &str,
    version: SdioVersion,
) -> AllPropInfo {
    let expected = vectors::decoded_json(json_name);
    assert_eq!(
        expected["payload_len"].as_u64().unwrap() as usize,
        payload.len()
    );
    let info = AllPropInfo::decode(payload, version).unwrap();
    let auto = AllPropInfo::decode_any(payload, 0).unwrap();
    assert_eq!(
        auto.version, version,
        "auto-detection picks the right layout"
    );
    let props = expected["properties"].as_array().unwrap();
    assert_eq!(info.properties.len(), props.len());
    assert_eq!(expected["count"].as_u64().unwrap() as usize, props.len());

    let mut offset = 8;
    for (d, e) in info.properties.iter().zip(props) {
        let ctx = format!("{json_name} {:#06x}", d.code.0);
        let mut bytes = Vec::new();
        d.encode(&mut bytes, version).unwrap();
        assert_eq!(
            e["offset"].as_u64().unwrap() as usize,
            offset,
            "{ctx} offset"
        );
        assert_eq!(
            e["size"].as_u64().unwrap() as usize,
            bytes.len(),
            "{ctx} size"
        );
        assert_eq!(
            &payload[offset..offset + bytes.len()],
            &bytes[..],
            "{ctx} bytes"
        );
        offset += bytes.len();
        assert_eq!(e["code"], json!(format!("{:#06x}", d.code.0)), "{ctx}");
        assert_eq!(
            e["datatype"],
            json!(format!("{:#06x}", d.data_type.0)),
            "{ctx}"
        );
        assert_eq!(e["getset"], json!(d.get_set.0), "{ctx}");
        assert_eq!(e["is_enabled"], json!(d.enabled.0), "{ctx}");
        assert_eq!(
            e["default"],
            serde_json::to_value(&d.default).unwrap(),
            "{ctx} default"
        );
        assert_eq!(
            e["current"],
            serde_json::to_value(&d.current).unwrap(),
            "{ctx} current"
        );
        assert_eq!(e["form"], json!(d.form.flag()), "{ctx} form");
        match &d.form {
            SonyForm::None => {}
            SonyForm::Range { min, max, step } => {
                assert_eq!(
                    e["range"],
                    values(&[min.clone(), max.clone(), step.clone()]),
                    "{ctx}"
                );
            }
            SonyForm::Enumeration { settable, all } => {
                if version.has_two_lists() {
                    assert_eq!(e["enum_set"], values(settable), "{ctx} list 1");
                    assert_eq!(e["enum_getset"], values(all), "{ctx} list 2");
                } else {
                    assert_eq!(e["enum"], values(all), "{ctx} list");
                    assert_eq!(settable, all, "{ctx} one list fills both");
                }
            }
        }
    }
    assert_eq!(offset, payload.len(), "decoded to the last byte");
    assert_eq!(
        info.to_bytes().unwrap(),
        payload,
        "byte-identical re-encode"
    );
    info
}

#[test]
fn a7s3_9209_usb_v300() {
    let container =
        vectors::hex("ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex");
    assert_eq!(container.len(), 9361);
    let c = UsbContainer::decode(&container).unwrap();
    assert_eq!(c.code, 0x9209);
    assert_eq!(
        c.payload,
        vectors::hex("ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.payload.hex")
    );
    let info = check_against_expectations(
        &c.payload,
        "ilce7sm3_fw300_usb_9209.json",
        SdioVersion::V300,
    );
    assert_eq!(info.properties.len(), 320);

    // Its property codes, in order, are the first list of its 0x9202 reply.
    let ext = ExtDeviceInfo::decode_exact(&vectors::hex(
        "ilce7sm3_fw300_usb_9202_getextdeviceinfo_reply_v300.payload.hex",
    ))
    .unwrap();
    let codes: Vec<PropertyCode> = info.properties.iter().map(|p| p.code).collect();
    assert_eq!(codes, ext.properties);

    // Values seen in the capture, formatted.
    let show = |code: u16| {
        let d = info.get(PropertyCode(code)).unwrap();
        format_value(d.code, &d.current)
    };
    assert_eq!(show(0x5005), "Auto");
    assert_eq!(show(0x500A), "AF-A");
    assert_eq!(show(0xD218), "71%");
    let shutter = info.get(PropertyCode(0xD20D)).unwrap();
    let shutter_text = format_value(shutter.code, &shutter.current);
    assert_eq!(
        parse_value(
            shutter.code,
            &shutter_text,
            shutter.data_type,
            Some(shutter)
        )
        .unwrap(),
        shutter.current,
        "the current shutter speed {shutter_text} parses back"
    );
    let ext_shutter = info.get(PropertyCode(0xD19F)).unwrap();
    assert_eq!(
        format_value(ext_shutter.code, &ext_shutter.current),
        "1/250"
    );
}

#[test]
fn rx100m7_9209_ptpip_v300() {
    let payload =
        vectors::hex("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex");
    assert_eq!(payload.len(), 3521);
    let info = check_against_expectations(
        &payload,
        "dscrx100m7_fw100_ptpip_9209.json",
        SdioVersion::V300,
    );
    assert_eq!(info.properties.len(), 78);
    // Lists differ where the fact sheet says they do: list 1 ⊂ list 2.
    let flash = info.get(PropertyCode(0x500C)).unwrap();
    assert_eq!(flash.settable_values().unwrap().len(), 4);
    assert_eq!(flash.all_values().unwrap().len(), 5);
    let program = info.get(PropertyCode(0x500E)).unwrap();
    assert!(program.settable_values().unwrap().is_empty());
    assert_eq!(program.all_values().unwrap().len(), 28);
    for d in &info.properties {
        if let (Some(s), Some(a)) = (d.settable_values(), d.all_values()) {
            assert!(
                s.iter().all(|v| a.contains(v)),
                "{:?}: list 1 is a subset of list 2",
                d.code
            );
        }
    }
    let url = info.get(PropertyCode(0xD278)).unwrap();
    assert!(
        url.current
            .as_str()
            .unwrap()
            .starts_with("http://192.168.122.1:60152/")
    );
}

#[test]
fn a6000_9209_usb_v200() {
    let container = vectors::hex("ilce6000_usb_9209_getallextdevicepropinfo_reply.container.hex");
    let c = UsbContainer::decode(&container).unwrap();
    let info = check_against_expectations(&c.payload, "ilce6000_usb_9209.json", SdioVersion::V200);
    assert_eq!(info.properties.len(), 34);
    // Protocol 200: the exposure program is a u16, controls come as descriptors (GetSet 0x8x).
    let program = info.get(PropertyCode(0x500E)).unwrap();
    assert_eq!(program.data_type, sonyctl_ptp::DataType::UINT16);
    assert_eq!(format_value(program.code, &program.current), "iAuto");
    let s1 = info.get(PropertyCode(0xD2C1)).unwrap();
    assert!(s1.get_set.is_control());
    assert_eq!(s1.get_set.label(), "button");
    assert_eq!(
        info.get(PropertyCode(0xD2C5)).unwrap().get_set.label(),
        "lock"
    );
    let shutter = info.get(PropertyCode(0xD20D)).unwrap();
    assert_eq!(format_value(shutter.code, &shutter.current), "1/100");
    let f = info.get(PropertyCode(0x5007)).unwrap();
    assert_eq!(format_value(f.code, &f.current), "f/5.0");
}

/// Every 0x9202 reply decodes to the last byte, with the counts the independent decoder found.
#[test]
fn every_9202_reply() {
    for (name, version, props, controls) in [
        (
            "ilce7sm3_fw300_usb_9202_getextdeviceinfo_reply_v300.payload.hex",
            300,
            320,
            47,
        ),
        (
            "dscrx100m7_fw100_ptpip_9202_getextdeviceinfo_reply_v300.payload.hex",
            300,
            78,
            23,
        ),
        (
            "ilce9_fw600_ptpip_9202_getextdeviceinfo_reply_v300.payload.hex",
            300,
            72,
            22,
        ),
        (
            "ilce7rm4_fw100_usb_9202_getextdeviceinfo_reply_v200.payload.hex",
            200,
            65,
            16,
        ),
        (
            "ilce5000_usb_9202_getextdeviceinfo_reply_v200.payload.hex",
            200,
            29,
            6,
        ),
        (
            "ilce5100_usb_9202_getextdeviceinfo_reply_v200.payload.hex",
            200,
            31,
            6,
        ),
    ] {
        let bytes = vectors::hex(name);
        let info = ExtDeviceInfo::decode_exact(&bytes).unwrap();
        assert_eq!(info.version, SdioVersion(version), "{name}");
        assert_eq!(
            (info.properties.len(), info.controls.len()),
            (props, controls),
            "{name}"
        );
        assert_eq!(info.to_bytes().unwrap(), bytes, "{name}");
    }
    // Duplicates and a non-D2xx code are kept.
    let a7s3 = ExtDeviceInfo::decode_exact(&vectors::hex(
        "ilce7sm3_fw300_usb_9202_getextdeviceinfo_reply_v300.payload.hex",
    ))
    .unwrap();
    assert_eq!(a7s3.controls.iter().filter(|c| c.0 == 0xD2C7).count(), 2);
    assert!(a7s3.controls.contains(&PropertyCode(0xF002)));

    let a850 = vectors::hex("dslra850_usb_9202_reply_PARTIAL_first16of88_v101.payload.hex");
    let err = ExtDeviceInfo::decode_exact(&a850).unwrap_err();
    assert!(
        matches!(err.kind, DecodeErrorKind::Truncated { .. }),
        "{err}"
    );
    assert_eq!((err.structure, err.offset), ("SdioExtDeviceInfo", 2));
}

/// Cut replies fail inside the descriptor where they were cut, naming it.
#[test]
fn partial_9209_replies_fail_where_they_were_cut() {
    for (name, code, descriptor) in [
        (
            "ilce5000_usb_9209_reply_PARTIAL_first240of1016.payload.hex",
            "0x5010",
            8,
        ),
        (
            "ilce5100_usb_9209_reply_PARTIAL_first144of1012.payload.hex",
            "",
            0,
        ),
    ] {
        let bytes = vectors::hex(name);
        for version in [SdioVersion::V200, SdioVersion::V300] {
            assert!(AllPropInfo::decode(&bytes, version).is_err(), "{name}");
        }
        let err = AllPropInfo::decode(&bytes, SdioVersion::V200).unwrap_err();
        assert!(
            matches!(
                err.kind,
                DecodeErrorKind::Truncated { .. } | DecodeErrorKind::CountTooLarge { .. }
            ),
            "{name}: {err}"
        );
        assert_eq!(err.structure, "SonyDevicePropDesc", "{name}: {err}");
        if descriptor > 0 {
            let msg = err.to_string();
            assert!(
                msg.contains(code) && msg.contains(&format!("descriptor {descriptor} of 34")),
                "{msg}"
            );
        }
    }
}

/// The ILCE-9 reply was edited in its source after offset 0x6BE: a descriptor with data type 0.
#[test]
fn corrupt_ilce9_9209_reports_the_undef_data_type() {
    let bytes = vectors::hex("ilce9_fw600_ptpip_9209_reply_CORRUPT_AFTER_0x6be.payload.hex");
    let err = AllPropInfo::decode(&bytes, SdioVersion::V300).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::InvalidDataType(0), "{err}");
    // The data type field of the 27th descriptor (0xD221, starting at 0x759).
    assert_eq!(err.offset, 0x75B, "{err}");
    assert!(
        err.to_string().contains("0xD221 (descriptor 27 of 72"),
        "{err}"
    );
    let any = AllPropInfo::decode_any(&bytes, 0).unwrap_err();
    assert_eq!(
        any, err,
        "the two-list layout gets further, so its error is reported"
    );
}

/// The A7R V tail: seven whole protocol-200 descriptors that end exactly at the data's end.
#[test]
fn a7r5_tail_fragment_descriptors() {
    let bytes = vectors::hex("ilce7rm5_usb_9209_reply_TAIL_fragment_last5descriptors.payload.hex");
    let mut r = Reader::new(&bytes);
    let mut n = 0;
    while !r.is_empty() {
        SonyDevicePropDesc::decode(&mut r, SdioVersion::V200).unwrap();
        n += 1;
    }
    assert_eq!(n, 7);
}

#[test]
fn live_view_frames_end_at_eoi() {
    for name in [
        "dscrx100m7_fw100_http_liveview_dataset_singleimage_frame0.payload.hex",
        "dscrx100m7_fw100_http_liveview_dataset_multipleimages_frame1.payload.hex",
        "ilce9m2_http_liveview_dataset_dechunked_frame0.payload.hex",
        "ilce9m2_http_liveview_dataset_dechunked_frame1.payload.hex",
    ] {
        let bytes = vectors::hex(name);
        let lv = LiveViewFrame::decode(&bytes).unwrap();
        assert_eq!(
            (lv.image_offset, lv.focal_frame_offset),
            (0x88, 0x10),
            "{name}"
        );
        assert_eq!(lv.image_size % 128, 0, "{name}");
        let jpeg = lv.jpeg(&bytes);
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "{name}");
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9], "{name}");
        let junk = lv.image_size as usize - jpeg.len();
        assert!((15..=127).contains(&junk), "{name}: {junk} bytes after EOI");
        let ffi = lv.focal_frames.unwrap();
        // The encoder writes the groups as the camera did (the reserved bytes it zeroes).
        let real = &bytes[lv.focal_frame_offset as usize..][..lv.focal_frame_size as usize];
        let again = ffi.encode().unwrap();
        assert_eq!(again.len(), real.len(), "{name}");
        assert_eq!(
            (&again[..2], &again[56..]),
            (&real[..2], &real[56..]),
            "{name}"
        );
        assert!(matches!(ffi.version, 100 | 101), "{name}");
        assert_eq!(ffi.groups.len(), 4, "{name}");
        assert!(
            ffi.groups
                .iter()
                .all(|g| g.x_denominator == 640 * 1024 && g.y_denominator == 480 * 1024)
        );
    }
}

#[test]
fn usb_events_as_sony_events() {
    let c = UsbContainer::decode(&vectors::hex(
        "ilce6000_usb_event_c203_propchanged_d21d.container.hex",
    ))
    .unwrap();
    let ev = SonyEvent::from_event(&c.to_event().unwrap());
    assert_eq!(
        ev,
        SonyEvent::PropertyChanged {
            property: Some(PropertyCode(0xD21D))
        }
    );
    assert_eq!(ev.describe(), "DevicePropChanged MovieRecordingState");
}

/// Every value and list entry of every real reply formats, and a formatted list entry parses back
/// to the same raw value (with the descriptor, as `sonyctl set` uses it).
#[test]
fn every_real_value_formats_and_parses_back() {
    let a7s3 = UsbContainer::decode(&vectors::hex(
        "ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex",
    ))
    .unwrap()
    .payload;
    let replies = [
        AllPropInfo::decode(&a7s3, SdioVersion::V300).unwrap(),
        AllPropInfo::decode(
            &vectors::hex("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex"),
            SdioVersion::V300,
        )
        .unwrap(),
    ];
    let mut checked = 0;
    let mut named = 0;
    for info in &replies {
        for d in &info.properties {
            let report = PropertyReport::new(d);
            assert!(!report.display.is_empty() || d.current.as_str() == Some(""));
            named += usize::from(property_name(d.code).is_some());
            for v in d.all_values().unwrap_or(&[]) {
                let text = format_value(d.code, v);
                let back = parse_value(d.code, &text, d.data_type, Some(d))
                    .unwrap_or_else(|e| panic!("{:?} {text:?}: {e}", d.code));
                // Lists may hold the same value twice (0xD213); compare the displayed form.
                assert_eq!(format_value(d.code, &back), text, "{:?}", d.code);
                checked += 1;
            }
        }
    }
    assert!(checked >= 1300, "{checked}");
    assert!(named >= 360, "{named} of 398 properties named");
}

/// The shutter speeds real bodies list, as lengths: BULB is none, the rest run from 30" down to
/// the fastest without a repeat, and 0xD19F's list names the same lengths as 0xD20D's.
#[test]
fn listed_shutter_speeds_as_durations() {
    use sonyctl_sony::values::shutter_duration;
    use std::time::Duration;

    let a7s3 = UsbContainer::decode(&vectors::hex(
        "ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex",
    ))
    .unwrap()
    .payload;
    let rx100 =
        vectors::hex("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex");
    for (name, payload, fastest) in [
        ("ILCE-7SM3", &a7s3, Duration::from_micros(125)),
        ("DSC-RX100M7", &rx100, Duration::from_nanos(31_250)),
    ] {
        let info = AllPropInfo::decode(payload, SdioVersion::V300).unwrap();
        let lengths = |code: u16, wide: bool| -> Vec<Option<Duration>> {
            let d = info.get(PropertyCode(code)).unwrap();
            d.settable_values()
                .unwrap()
                .iter()
                .map(|v| shutter_duration(v.as_u64().unwrap(), wide))
                .collect()
        };
        let narrow = lengths(0xD20D, false);
        assert_eq!(narrow.first(), Some(&None), "{name}: BULB comes first");
        let listed: Vec<Duration> = narrow.iter().flatten().copied().collect();
        assert_eq!(
            listed.len(),
            narrow.len() - 1,
            "{name}: only BULB has no length"
        );
        assert_eq!(listed.first(), Some(&Duration::from_secs(30)), "{name}");
        assert_eq!(listed.last(), Some(&fastest), "{name}");
        assert!(
            listed.windows(2).all(|w| w[0] > w[1]),
            "{name}: slowest to fastest, no repeat: {listed:?}"
        );
        // Each length is what the displayed text says.
        let d = info.get(PropertyCode(0xD20D)).unwrap();
        for (v, length) in d.settable_values().unwrap().iter().zip(&narrow) {
            let text = format_value(d.code, v);
            if let Some(length) = length {
                let secs = match text.strip_prefix("1/") {
                    Some(den) => 1.0 / den.parse::<f64>().unwrap(),
                    None => text.trim_end_matches('"').parse::<f64>().unwrap(),
                };
                assert!((length.as_secs_f64() - secs).abs() < 1e-9, "{name} {text}");
            } else {
                assert_eq!(text, "BULB");
            }
        }
        if info.get(PropertyCode(0xD19F)).is_some() {
            assert_eq!(
                lengths(0xD19F, true),
                narrow,
                "{name}: 0xD19F names the same"
            );
        }
    }
}

/// The third-stop scale is what real bodies list: the DSC-RX100M7's whole list, the
/// ILCE-7SM3's down to its 1/8000; and the ILCE-6000, whose 0xD20D is a dummy range, gets the
/// scale down to its 1/4000 from the body table.
#[test]
fn the_third_stop_scale_is_what_real_bodies_list() {
    use sonyctl_sony::bodies;
    use sonyctl_sony::values::{ShutterSpeed, third_stop_scale};

    let a7s3 = UsbContainer::decode(&vectors::hex(
        "ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex",
    ))
    .unwrap()
    .payload;
    let rx100 =
        vectors::hex("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex");
    for (model, payload) in [("ILCE-7SM3", &a7s3), ("DSC-RX100M7", &rx100)] {
        let info = AllPropInfo::decode(payload, SdioVersion::V300).unwrap();
        let listed: Vec<ShutterSpeed> = info
            .get(PropertyCode(0xD20D))
            .unwrap()
            .settable_values()
            .unwrap()
            .iter()
            .filter_map(|v| ShutterSpeed::from_value(v.as_u64().unwrap()))
            .filter(|s| !s.is_bulb())
            .collect();
        let fastest = bodies::body(model).unwrap().fastest_shutter;
        assert_eq!(third_stop_scale(fastest), listed, "{model}");
    }
    let container = vectors::hex("ilce6000_usb_9209_getallextdevicepropinfo_reply.container.hex");
    let c = UsbContainer::decode(&container).unwrap();
    let info = AllPropInfo::decode(&c.payload, SdioVersion::V200).unwrap();
    let shutter = info.get(PropertyCode(0xD20D)).unwrap();
    assert!(matches!(shutter.form, SonyForm::Range { .. }));
    let scale = third_stop_scale(bodies::body("ILCE-6000").unwrap().fastest_shutter);
    assert_eq!(scale.len(), 52);
    assert_eq!(scale.first().unwrap().to_raw(), 0x012C_000A);
    assert_eq!(
        format_value(shutter.code, &Value::U32(scale.last().unwrap().to_raw())),
        "1/4000"
    );
}
