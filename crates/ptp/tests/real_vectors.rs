//! The PTP core against real camera bytes from `../shared/vectors`, read in place.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use sonyctl_ptp::ptpip::{Packet, peek_packet_len};
use sonyctl_ptp::{
    Codec, ContainerKind, DataType, DecodeErrorKind, DeviceInfo, DevicePropDesc, Form,
    OperationCode, Reader, ResponseCode, UsbContainer, Value,
};
use sonyctl_vectors as vectors;

/// Every complete `.container.hex` decodes as one container whose length field equals its size,
/// and re-encodes to the same bytes; every cut one (PARTIAL) is reported as truncated.
#[test]
fn every_usb_container_frames_exactly() {
    let names = vectors::list(".container.hex");
    assert!(names.len() >= 30, "only {} containers found", names.len());
    for name in names {
        let bytes = vectors::hex(&name);
        match UsbContainer::decode(&bytes) {
            Ok(c) => {
                assert!(!name.contains("PARTIAL"), "{name} should be cut");
                assert_eq!(c.encode().unwrap(), bytes, "{name} re-encodes");
                let payload_name = name.replace(".container.", ".payload.");
                if vectors::path(&payload_name).exists() {
                    assert_eq!(
                        c.payload,
                        vectors::hex(&payload_name),
                        "{name}: payload agrees"
                    );
                }
            }
            Err(e) => {
                assert!(name.contains("PARTIAL"), "{name}: {e}");
                assert!(
                    matches!(e.kind, DecodeErrorKind::LengthMismatch { declared, actual } if declared > actual),
                    "{name}: {e}"
                );
                assert!(e.to_string().contains("truncated"), "{e}");
            }
        }
    }
}

#[test]
fn sdio_requests_responses_and_events() {
    let c = UsbContainer::decode(&vectors::hex(
        "ilce7sm3_fw300_usb_9202_response.container.hex",
    ))
    .unwrap();
    let r = c.to_response().unwrap();
    assert_eq!(r.code, ResponseCode::OK);
    assert_eq!(
        r.params.as_slice(),
        [0x136],
        "A7S III answers 0x9202 with parameter 310"
    );

    let op = UsbContainer::decode(&vectors::hex(
        "ilce5100_usb_9201_sdioconnect_phase2_request.container.hex",
    ))
    .unwrap()
    .to_operation()
    .unwrap();
    assert_eq!(op.code, OperationCode(0x9201));
    assert_eq!(op.params.as_slice(), [2, 0, 0]);

    let op = UsbContainer::decode(&vectors::hex(
        "ilce7sm3_fw300_usb_9209_request.container.hex",
    ))
    .unwrap()
    .to_operation()
    .unwrap();
    assert_eq!(op.code, OperationCode(0x9209));
    assert!(op.params.is_empty(), "0x9209 is sent with no parameter");

    let op = UsbContainer::decode(&vectors::hex("ilce5000_usb_9202_request_c8.container.hex"))
        .unwrap()
        .to_operation()
        .unwrap();
    assert_eq!(op.params.as_slice(), [0xC8]);

    let data = UsbContainer::decode(&vectors::hex(
        "ilce7sm3_fw300_usb_9205_setextdevicepropvalue_d25a_data.container.hex",
    ))
    .unwrap();
    assert_eq!(data.kind, ContainerKind::Data);
    assert_eq!(data.payload, [1]);

    for (name, p1) in [
        (
            "ilce6000_usb_event_c203_propchanged_d21d.container.hex",
            0xD21D,
        ),
        (
            "ilce6400_usb_event_c203_propchanged_5004.container.hex",
            0x5004,
        ),
    ] {
        let ev = UsbContainer::decode(&vectors::hex(name))
            .unwrap()
            .to_event()
            .unwrap();
        assert_eq!(ev.code.0, 0xC203);
        assert_eq!(ev.transaction_id, 0xFFFF_FFFF);
        assert_eq!(ev.params.as_slice(), [p1]);
    }

    let ids = vectors::hex("ilce7sm3_fw300_usb_1004_getstorageids_data.payload.hex");
    let mut r = Reader::new(&ids);
    assert!(r.u16_array().is_ok());
    r.finish().unwrap();
}

/// The 2009 DSLR-A700 host capture: every container frames, and the ops are what the file says.
#[test]
fn dslr_a700_host_requests() {
    let text =
        std::fs::read_to_string(vectors::path("dslra700_usb_host_requests_alphamote.txt")).unwrap();
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let _origin = parts.next().unwrap();
        let kind: u16 = parts
            .next()
            .unwrap()
            .trim_start_matches("type=")
            .parse()
            .unwrap();
        let op =
            u16::from_str_radix(parts.next().unwrap().trim_start_matches("op=0x"), 16).unwrap();
        let _tid = parts.next().unwrap();
        let hex: String = parts.collect::<Vec<_>>().join(" ");
        let bytes = sonyctl_ptp::hexdump::parse(&hex).unwrap();
        let c = UsbContainer::decode(&bytes).unwrap();
        assert_eq!((c.kind.code(), c.code), (kind, op), "{line}");
        if c.kind == ContainerKind::Command {
            c.to_operation().unwrap();
        }
        n += 1;
    }
    assert_eq!(n, 25);
}

fn device_info_facts(name: &str) -> DeviceInfo {
    let bytes = vectors::hex(name);
    let di = DeviceInfo::decode_exact(&bytes).unwrap();
    assert_eq!(
        di.to_bytes().unwrap(),
        bytes,
        "{name}: byte-identical re-encode"
    );
    di
}

#[test]
fn device_info_rx100m7_and_ilce9() {
    let di = device_info_facts("dscrx100m7_fw100_ptpip_1001_deviceinfo.payload.hex");
    assert_eq!(di.vendor_extension_id, 0x11);
    assert_eq!(di.vendor_extension_desc, "Sony PTP Extensions");
    assert_eq!(di.model, "DSC-RX100M7");
    assert_eq!(di.device_version, "1.00");
    assert_eq!(di.serial_number, "00000000000000008081886002895251");
    assert_eq!(di.operations.len(), 27);
    assert_eq!(di.events.len(), 12);
    assert!(di.device_properties.is_empty());
    assert_eq!(
        di.image_formats.iter().map(|f| f.0).collect::<Vec<_>>(),
        [0x3801, 0xB301, 0xB101]
    );
    assert!(di.supports(OperationCode(0x9209)));

    let di = device_info_facts("ilce9_fw600_ptpip_1001_deviceinfo.payload.hex");
    assert_eq!(
        (di.model.as_str(), di.device_version.as_str()),
        ("ILCE-9", "6.00")
    );
    assert_eq!(di.operations.len(), 24);
    assert_eq!(di.events.len(), 7);
    // Compare with the independent decoder's listing.
    let listing = vectors::decoded_text("ilce9_fw600_ptpip_1001_deviceinfo.decoded.txt");
    let ops: Vec<String> = di
        .operations
        .iter()
        .map(|o| format!("{:04x}", o.0))
        .collect();
    assert!(listing.contains(&ops.join(" ")));
}

#[test]
fn device_info_cut_inside_the_serial_is_truncated() {
    let bytes = vectors::hex("ilce7rm2_fw30_usb_1001_deviceinfo_PARTIAL_first224of259.payload.hex");
    let err = DeviceInfo::decode_exact(&bytes).unwrap_err();
    assert_eq!(err.structure, "DeviceInfo");
    assert!(
        matches!(err.kind, DecodeErrorKind::Truncated { .. }),
        "{err}"
    );
    assert!(err.offset > 150 && err.offset <= bytes.len(), "{err}");
}

/// The A850's 0x9203 reply is a standard DevicePropDesc (no IsEnabled byte): 17 bytes exactly.
#[test]
fn dslr_a850_standard_prop_desc() {
    let bytes = vectors::hex("dslra850_usb_9203_getdevicepropdesc_5004_reply.payload.hex");
    let d = DevicePropDesc::decode_exact(&bytes).unwrap();
    assert_eq!(d.code.0, 0x5004);
    assert_eq!(d.data_type, DataType::UINT8);
    assert_eq!(
        (d.get_set, d.default.clone(), d.current.clone()),
        (1, Value::U8(3), Value::U8(3))
    );
    assert_eq!(
        d.form,
        Form::Enumeration(
            [0x10, 0x20, 0x13, 0x23, 0x04, 0x03, 0x02]
                .map(Value::U8)
                .to_vec()
        )
    );
    assert_eq!(d.to_bytes().unwrap(), bytes);
}

#[test]
fn ptpip_packets() {
    let ack =
        Packet::decode_exact(&vectors::hex("ilce9_fw600_ptpip_initcommandack_packet.hex")).unwrap();
    match &ack {
        Packet::InitCommandAck {
            connection_number,
            friendly_name,
            protocol_version,
            ..
        } => {
            assert_eq!(*connection_number, 0xF419_AC6D);
            assert_eq!(friendly_name, "ILCE-9");
            assert_eq!(*protocol_version, Some(0x0001_0000));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ack.to_bytes().unwrap(),
        vectors::hex("ilce9_fw600_ptpip_initcommandack_packet.hex")
    );

    // The RX100M7 ack (hand-edited in its source) has no protocol version.
    let bytes = vectors::hex("dscrx100m7_fw100_ptpip_initcommandack_packet_EDITED.hex");
    match Packet::decode_exact(&bytes).unwrap() {
        Packet::InitCommandAck {
            friendly_name,
            protocol_version,
            ..
        } => assert_eq!(
            (friendly_name.as_str(), protocol_version),
            ("DSC-RX100M7", None)
        ),
        other => panic!("{other:?}"),
    }

    for (name, code, params) in [
        ("ilce9_fw600_ptpip_event_c203_packet.hex", 0xC203, vec![0]),
        (
            "sony_ptpip_event_c207_packet_ilce9_or_rx100m7.hex",
            0xC207,
            vec![],
        ),
        (
            "sony_ptpip_event_c20c_packet_ilce9_or_rx100m7.hex",
            0xC20C,
            vec![],
        ),
    ] {
        let bytes = vectors::hex(name);
        assert_eq!(peek_packet_len(&bytes).unwrap(), Some(bytes.len()));
        match Packet::decode_exact(&bytes).unwrap() {
            Packet::Event {
                code: c,
                transaction_id,
                params: p,
            } => {
                assert_eq!((c.0, transaction_id), (code, 0xFFFF_FFFF), "{name}");
                assert_eq!(p.as_slice(), params.as_slice(), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// The ILCE-9 TCP capture starts with the ack and InitEventAck; later the two sockets interleave
/// in the capture, and decoding reports where the stream stops making sense instead of guessing.
#[test]
fn ilce9_connect_stream_decodes_until_the_interleaving() {
    let text = std::fs::read_to_string(vectors::root().join(
        "raw_logs/rocc/ilce9_fw600_ptpip_connect_stream_from_PTPPacketParsingTests_line126.hex",
    ))
    .unwrap();
    let bytes = sonyctl_ptp::hexdump::parse(&text).unwrap();
    let mut r = Reader::new(&bytes);
    assert!(matches!(
        Packet::decode(&mut r).unwrap(),
        Packet::InitCommandAck { .. }
    ));
    assert_eq!(Packet::decode(&mut r).unwrap(), Packet::InitEventAck);
    let mut decoded = 2;
    while !r.is_empty() {
        if Packet::decode(&mut r).is_err() {
            break;
        }
        decoded += 1;
    }
    assert!(decoded >= 2);
}
