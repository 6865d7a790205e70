//! Encode then decode gives back the same value: for generated values of every dataset and
//! packet, and for every code this project knows a name for, through every carrier.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use sonyctl_ptp::container::Params;
use sonyctl_ptp::ptpip::{DataPhase, Packet};
use sonyctl_ptp::{
    Codec, DataType, DeviceInfo, DevicePropDesc, Event, EventCode, Form, ObjectFormatCode,
    ObjectInfo, Operation, OperationCode, PropertyCode, Response, ResponseCode, StorageInfo,
    UsbContainer, Value,
};
use sonyctl_sony::codes::{known_controls, known_events, known_operations, known_properties};
use sonyctl_sony::{
    AllPropInfo, Enabled, ExtDeviceInfo, GetSet, SdioVersion, SonyDevicePropDesc, SonyEvent,
    SonyForm,
};

fn ptp_string() -> impl Strategy<Value = String> {
    // Any text of at most 254 UTF-16 units without NUL (what a PTP string can carry).
    prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..40)
        .prop_map(|cs| cs.into_iter().collect::<String>())
        .prop_filter("fits", |s| s.encode_utf16().count() <= 254)
}

fn scalar_type() -> impl Strategy<Value = DataType> {
    (1u16..=10).prop_map(DataType)
}

fn value_of(dt: DataType) -> BoxedStrategy<Value> {
    match dt.0 {
        0x0001 => any::<i8>().prop_map(Value::I8).boxed(),
        0x0002 => any::<u8>().prop_map(Value::U8).boxed(),
        0x0003 => any::<i16>().prop_map(Value::I16).boxed(),
        0x0004 => any::<u16>().prop_map(Value::U16).boxed(),
        0x0005 => any::<i32>().prop_map(Value::I32).boxed(),
        0x0006 => any::<u32>().prop_map(Value::U32).boxed(),
        0x0007 => any::<i64>().prop_map(Value::I64).boxed(),
        0x0008 => any::<u64>().prop_map(Value::U64).boxed(),
        0x0009 => any::<i128>().prop_map(Value::I128).boxed(),
        0x000A => any::<u128>().prop_map(Value::U128).boxed(),
        _ => ptp_string().prop_map(Value::Str).boxed(),
    }
}

fn codes<T: From<u16> + std::fmt::Debug>() -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec(any::<u16>().prop_map(T::from), 0..20)
}

fn device_info() -> impl Strategy<Value = DeviceInfo> {
    (
        (
            any::<u16>(),
            any::<u32>(),
            any::<u16>(),
            ptp_string(),
            any::<u16>(),
        ),
        (codes(), codes(), codes(), codes(), codes()),
        (ptp_string(), ptp_string(), ptp_string(), ptp_string()),
    )
        .prop_map(
            |((sv, vid, vv, desc, fm), (ops, evs, props, cf, imf), (man, model, ver, serial))| {
                DeviceInfo {
                    standard_version: sv,
                    vendor_extension_id: vid,
                    vendor_extension_version: vv,
                    vendor_extension_desc: desc,
                    functional_mode: fm,
                    operations: ops,
                    events: evs,
                    device_properties: props,
                    capture_formats: cf,
                    image_formats: imf,
                    manufacturer: man,
                    model,
                    device_version: ver,
                    serial_number: serial,
                }
            },
        )
}

fn object_info() -> impl Strategy<Value = ObjectInfo> {
    (
        prop::array::uniform12(any::<u32>()),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
        (ptp_string(), ptp_string(), ptp_string(), ptp_string()),
    )
        .prop_map(
            |(n, (fmt, prot, thumb, assoc), (name, cap, modif, kw))| ObjectInfo {
                storage_id: n[0],
                object_format: ObjectFormatCode(fmt),
                protection_status: prot,
                object_compressed_size: n[1],
                thumb_format: ObjectFormatCode(thumb),
                thumb_compressed_size: n[2],
                thumb_pix_width: n[3],
                thumb_pix_height: n[4],
                image_pix_width: n[5],
                image_pix_height: n[6],
                image_bit_depth: n[7],
                parent_object: n[8],
                association_type: assoc,
                association_desc: n[9],
                sequence_number: n[10],
                filename: name,
                capture_date: cap,
                modification_date: modif,
                keywords: kw,
            },
        )
}

fn storage_info() -> impl Strategy<Value = StorageInfo> {
    (
        (any::<u16>(), any::<u16>(), any::<u16>()),
        (any::<u64>(), any::<u64>(), any::<u32>()),
        (ptp_string(), ptp_string()),
    )
        .prop_map(|((t, f, a), (max, free, imgs), (d, l))| StorageInfo {
            storage_type: t,
            filesystem_type: f,
            access_capability: a,
            max_capacity: max,
            free_space_in_bytes: free,
            free_space_in_images: imgs,
            storage_description: d,
            volume_label: l,
        })
}

fn sony_desc() -> impl Strategy<Value = SonyDevicePropDesc> {
    (
        prop_oneof![scalar_type(), Just(DataType::STR)],
        any::<u16>(),
        any::<u8>(),
        0u8..3,
    )
        .prop_flat_map(|(dt, code, gs, en)| {
            let v = value_of(dt);
            let form = if dt == DataType::STR {
                Just(SonyForm::None).boxed()
            } else {
                prop_oneof![
                    Just(SonyForm::None),
                    (value_of(dt), value_of(dt), value_of(dt))
                        .prop_map(|(min, max, step)| SonyForm::Range { min, max, step }),
                    (
                        prop::collection::vec(value_of(dt), 0..6),
                        prop::collection::vec(value_of(dt), 0..6)
                    )
                        .prop_map(|(settable, all)| SonyForm::Enumeration { settable, all }),
                ]
                .boxed()
            };
            (Just(dt), Just(code), Just(gs), Just(en), v.clone(), v, form)
        })
        .prop_map(
            |(dt, code, gs, en, default, current, form)| SonyDevicePropDesc {
                code: PropertyCode(code),
                data_type: dt,
                get_set: GetSet(gs),
                enabled: Enabled(en),
                default,
                current,
                form,
            },
        )
}

fn params(max: usize) -> impl Strategy<Value = Params> {
    prop::collection::vec(any::<u32>(), 0..=max).prop_map(|p| Params::new(&p).unwrap())
}

fn packet() -> impl Strategy<Value = Packet> {
    let guid = prop::array::uniform16(any::<u8>());
    prop_oneof![
        (guid, ptp_string(), any::<u32>()).prop_map(|(guid, friendly_name, protocol_version)| {
            Packet::InitCommandRequest {
                guid,
                friendly_name,
                protocol_version,
            }
        }),
        (any::<u32>(), guid, ptp_string(), any::<Option<u32>>()).prop_map(
            |(connection_number, guid, friendly_name, protocol_version)| Packet::InitCommandAck {
                connection_number,
                guid,
                friendly_name,
                protocol_version,
            }
        ),
        any::<u32>().prop_map(|connection_number| Packet::InitEventRequest { connection_number }),
        Just(Packet::InitEventAck),
        any::<u32>().prop_map(|reason| Packet::InitFail { reason }),
        (any::<u32>(), any::<u16>(), any::<u32>(), params(5)).prop_map(|(d, c, t, p)| {
            Packet::OperationRequest {
                data_phase: DataPhase(d),
                code: OperationCode(c),
                transaction_id: t,
                params: p,
            }
        }),
        (any::<u16>(), any::<u32>(), params(5)).prop_map(|(c, t, p)| Packet::OperationResponse {
            code: ResponseCode(c),
            transaction_id: t,
            params: p,
        }),
        (any::<u16>(), any::<u32>(), params(3)).prop_map(|(c, t, p)| Packet::Event {
            code: EventCode(c),
            transaction_id: t,
            params: p,
        }),
        (any::<u32>(), any::<u64>()).prop_map(|(transaction_id, total_length)| Packet::StartData {
            transaction_id,
            total_length
        }),
        (any::<u32>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(transaction_id, payload)| Packet::Data {
                transaction_id,
                payload
            }
        ),
        any::<u32>().prop_map(|transaction_id| Packet::Cancel { transaction_id }),
        (any::<u32>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(transaction_id, payload)| Packet::EndData {
                transaction_id,
                payload
            }
        ),
        Just(Packet::ProbeRequest),
        Just(Packet::ProbeResponse),
    ]
}

proptest! {
    #[test]
    fn device_info_round_trips(v in device_info()) {
        prop_assert_eq!(DeviceInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
    }

    #[test]
    fn object_info_round_trips(v in object_info()) {
        prop_assert_eq!(ObjectInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
    }

    #[test]
    fn storage_info_round_trips(v in storage_info()) {
        prop_assert_eq!(StorageInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
    }

    #[test]
    fn standard_prop_desc_round_trips(d in sony_desc()) {
        let form = match d.form.clone() {
            SonyForm::None => Form::None,
            SonyForm::Range { min, max, step } => Form::Range { min, max, step },
            SonyForm::Enumeration { all, .. } => Form::Enumeration(all),
        };
        let v = DevicePropDesc {
            code: d.code, data_type: d.data_type, get_set: d.get_set.0,
            default: d.default, current: d.current, form,
        };
        prop_assert_eq!(DevicePropDesc::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
    }

    #[test]
    fn sony_replies_round_trip_in_both_layouts(descs in prop::collection::vec(sony_desc(), 0..12)) {
        let mut seen = std::collections::HashSet::new();
        let mut props: Vec<_> = descs.into_iter().filter(|d| seen.insert(d.code)).collect();
        let v300 = AllPropInfo { version: SdioVersion::V300, properties: props.clone() };
        prop_assert_eq!(AllPropInfo::decode(&v300.to_bytes().unwrap(), SdioVersion::V300).unwrap(), v300);
        // Protocol 200 carries one list: it comes back in both.
        for d in &mut props {
            if let SonyForm::Enumeration { settable, all } = &mut d.form {
                *settable = all.clone();
            }
        }
        let v200 = AllPropInfo { version: SdioVersion::V200, properties: props };
        prop_assert_eq!(AllPropInfo::decode(&v200.to_bytes().unwrap(), SdioVersion::V200).unwrap(), v200);
    }

    #[test]
    fn ext_device_info_round_trips(version in any::<u16>(), p in codes(), c in codes()) {
        let v = ExtDeviceInfo { version: SdioVersion(version), properties: p, controls: c };
        prop_assert_eq!(ExtDeviceInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
    }

    #[test]
    fn ptpip_packets_round_trip(p in packet()) {
        prop_assert_eq!(Packet::decode_exact(&p.to_bytes().unwrap()).unwrap(), p);
    }
}

/// Every operation, response, event, property and format code with a name goes through the
/// container, the PTP/IP packet and the datasets that carry it, and comes back unchanged.
#[test]
fn every_known_code_round_trips() {
    let ops = OperationCode::KNOWN
        .iter()
        .copied()
        .chain(known_operations().map(|(c, _)| c));
    for code in ops {
        let op = Operation {
            code,
            transaction_id: 7,
            params: Params::new(&[1, 2]).unwrap(),
        };
        let c = UsbContainer::decode(&UsbContainer::command(&op).encode().unwrap()).unwrap();
        assert_eq!(c.to_operation().unwrap(), op);
        let p = Packet::OperationRequest {
            data_phase: DataPhase::NONE_OR_IN,
            code,
            transaction_id: 7,
            params: op.params,
        };
        assert_eq!(Packet::decode_exact(&p.to_bytes().unwrap()).unwrap(), p);
        let data = UsbContainer::data(code, 7, vec![1, 2, 3]);
        assert_eq!(UsbContainer::decode(&data.encode().unwrap()).unwrap(), data);
    }
    let responses = ResponseCode::KNOWN
        .iter()
        .copied()
        .chain((0xA101..=0xA106).map(ResponseCode));
    for code in responses {
        let r = Response {
            code,
            transaction_id: 9,
            params: Params::new(&[0x12C]).unwrap(),
        };
        let c = UsbContainer::decode(&UsbContainer::response(&r).encode().unwrap()).unwrap();
        assert_eq!(c.to_response().unwrap(), r);
    }
    let events = EventCode::KNOWN
        .iter()
        .copied()
        .chain(known_events().map(|(c, _)| c));
    for code in events {
        let e = Event {
            code,
            transaction_id: 0xFFFF_FFFF,
            params: Params::new(&[0xD213]).unwrap(),
        };
        let c = UsbContainer::decode(&UsbContainer::event(&e).encode().unwrap()).unwrap();
        assert_eq!(c.to_event().unwrap(), e);
        let s = SonyEvent::from_event(&e);
        assert_eq!(s.to_event(), e);
    }
    let props: Vec<PropertyCode> = PropertyCode::KNOWN
        .iter()
        .copied()
        .chain(known_properties().map(|(c, _)| c))
        .chain(known_controls().map(|(c, _)| c))
        .collect();
    assert!(props.len() > 900);
    let descs: Vec<SonyDevicePropDesc> = props
        .iter()
        .map(|&code| SonyDevicePropDesc {
            code,
            data_type: DataType::UINT16,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U16(0),
            current: Value::U16(1),
            form: SonyForm::Enumeration {
                settable: vec![Value::U16(1)],
                all: vec![Value::U16(1), Value::U16(2)],
            },
        })
        .collect();
    let mut unique = descs.clone();
    unique.sort_by_key(|d| d.code);
    unique.dedup_by_key(|d| d.code);
    let info = AllPropInfo {
        version: SdioVersion::V300,
        properties: unique,
    };
    assert_eq!(
        AllPropInfo::decode(&info.to_bytes().unwrap(), SdioVersion::V300).unwrap(),
        info
    );
    let ext = ExtDeviceInfo {
        version: SdioVersion::V300,
        properties: props.clone(),
        controls: props,
    };
    assert_eq!(
        ExtDeviceInfo::decode_exact(&ext.to_bytes().unwrap()).unwrap(),
        ext
    );
    let formats: Vec<ObjectFormatCode> = ObjectFormatCode::KNOWN
        .iter()
        .copied()
        .chain([0xB101, 0xB110, 0xB301, 0xB982].map(ObjectFormatCode))
        .collect();
    for f in &formats {
        let mut oi = ObjectInfo::decode_exact(&[0u8; 56]).unwrap();
        oi.object_format = *f;
        assert_eq!(
            ObjectInfo::decode_exact(&oi.to_bytes().unwrap()).unwrap(),
            oi
        );
    }
}

mod live_view {
    //! The live-view dataset: what the simulated camera writes with the encoder, hosts decode.

    use proptest::prelude::*;
    use sonyctl_ptp::EncodeError;
    use sonyctl_sony::live_view::{
        DatasetLayout, FocalFrameInfo, Frame, FrameGroup, LiveViewFrame, encode_dataset,
    };

    fn frame() -> impl Strategy<Value = Frame> {
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(|(frame_type, state, priority, x, y, height, width)| Frame {
                frame_type,
                state,
                priority,
                x,
                y,
                height,
                width,
            })
    }

    fn group(max_frames: usize) -> impl Strategy<Value = FrameGroup> {
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(frame(), 0..=max_frames),
        )
            .prop_map(|(x_denominator, y_denominator, frames)| FrameGroup {
                x_denominator,
                y_denominator,
                frames,
            })
    }

    fn focal_frames(
        groups: std::ops::RangeInclusive<usize>,
    ) -> impl Strategy<Value = FocalFrameInfo> {
        (any::<u16>(), prop::collection::vec(group(4), groups))
            .prop_map(|(version, groups)| FocalFrameInfo { version, groups })
    }

    /// A JPEG the marker walk accepts: SOI, an APP segment, a scan with stuffed data, EOI.
    fn jpeg() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..256),
        )
            .prop_map(|(app, scan)| {
                let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1];
                j.extend_from_slice(&((app.len() + 2) as u16).to_be_bytes());
                j.extend_from_slice(&app);
                j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
                for b in scan {
                    j.push(b);
                    if b == 0xFF {
                        j.push(0x00);
                    }
                }
                j.extend_from_slice(&[0xFF, 0xD9]);
                j
            })
    }

    proptest! {
        #[test]
        fn focal_frame_info_round_trips(ffi in focal_frames(0..=4)) {
            let bytes = ffi.encode().unwrap();
            prop_assert_eq!(bytes.len(), ffi.encoded_len());
            prop_assert_eq!(FocalFrameInfo::decode_bytes(&bytes).unwrap(), ffi);
        }

        /// The USB layout, with padding that may hold FF D9: the decoder finds the JPEG the
        /// encoder wrote, and the focal-frame info (four groups fill the declared 0x200 bytes
        /// with zeros after them, which the decoder reads as padding).
        #[test]
        fn usb_dataset_round_trips(
            ffi in focal_frames(4..=4),
            jpeg in jpeg(),
            padding in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let bytes = encode_dataset(&DatasetLayout::USB, Some(&ffi), &jpeg, &padding).unwrap();
            let lv = LiveViewFrame::decode(&bytes).unwrap();
            prop_assert_eq!(
                (lv.image_offset, lv.focal_frame_offset, lv.focal_frame_size),
                (0x3F4, 0x1F4, 0x200)
            );
            prop_assert_eq!(lv.image_size as usize, jpeg.len() + padding.len());
            prop_assert_eq!(lv.jpeg(&bytes), &jpeg[..]);
            prop_assert_eq!(lv.focal_frames, Some(ffi));
            prop_assert_eq!(bytes.len(), 0x3F4 + jpeg.len() + padding.len());
        }
    }

    #[test]
    fn a_dataset_without_focal_frame_info_says_so_in_its_header() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
        let bytes = encode_dataset(&DatasetLayout::USB, None, &jpeg, &[0xFF, 0xD9]).unwrap();
        assert_eq!(&bytes[8..16], &[0; 8]);
        let lv = LiveViewFrame::decode(&bytes).unwrap();
        assert_eq!((&lv.focal_frames, lv.jpeg(&bytes)), (&None, &jpeg[..]));
    }

    #[test]
    fn what_does_not_fit_is_refused() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
        let five = FocalFrameInfo {
            version: 104,
            groups: vec![FrameGroup::new(Vec::new()); 5],
        };
        assert_eq!(five.encode(), Err(EncodeError::TooManyItems(5)));
        let frame = Frame {
            frame_type: 1,
            state: 2,
            priority: 1,
            x: 0,
            y: 0,
            height: 1,
            width: 1,
        };
        // 56 + 16 + 24·19 = 528 bytes: more than the 0x200 the USB layout declares.
        let crowded = FocalFrameInfo {
            version: 104,
            groups: vec![FrameGroup::new(vec![frame; 19])],
        };
        assert!(matches!(
            encode_dataset(&DatasetLayout::USB, Some(&crowded), &jpeg, &[]),
            Err(EncodeError::DoesNotFit {
                len: 528,
                room: 0x200,
                ..
            })
        ));
        let overlapping = DatasetLayout {
            focal_frame_offset: 0x10,
            focal_frame_size: 0x200,
            image_offset: 0x100,
        };
        let small = FocalFrameInfo {
            version: 104,
            groups: Vec::new(),
        };
        assert!(encode_dataset(&overlapping, Some(&small), &jpeg, &[]).is_err());
        let no_header = DatasetLayout {
            image_offset: 8,
            ..DatasetLayout::USB
        };
        assert!(encode_dataset(&no_header, None, &jpeg, &[]).is_err());
    }

    /// Focal-frame info whose count claims more frames than the block holds, in its first group
    /// or its `n`-th, with the frames' JPEG after it.
    fn dataset_with_bad_group(version: u16, bad_group: usize) -> (Vec<u8>, Vec<u8>) {
        let jpeg = vec![0xFF, 0xD8, 0xFF, 0xD9];
        let ffi = FocalFrameInfo {
            version,
            groups: vec![FrameGroup::new(Vec::new()); 4],
        };
        let mut bytes = encode_dataset(&DatasetLayout::USB, Some(&ffi), &jpeg, &[]).unwrap();
        // The count of group `bad_group` (after its two denominators): more than fit.
        let at = 0x1F4 + 56 + 16 * bad_group + 8;
        bytes[at..at + 2].copy_from_slice(&500_u16.to_le_bytes());
        (bytes, jpeg)
    }

    /// Bad focal-frame info costs the AF frames, not the picture: the JPEG is found and the
    /// error said.
    #[test]
    fn bad_focal_frame_info_keeps_the_jpeg() {
        let (bytes, jpeg) = dataset_with_bad_group(104, 0);
        let lv = LiveViewFrame::decode(&bytes).unwrap();
        assert_eq!(lv.jpeg(&bytes), &jpeg[..]);
        assert_eq!(lv.focal_frames, None);
        let why = lv.focal_frame_error.unwrap();
        assert!(why.contains("FocalFrameInfo"), "{why}");
    }

    /// The groups a version defines must decode (101, 102: three; 103, 104: four); past them,
    /// and for versions no source describes, the groups end quietly at what does not decode.
    #[test]
    fn the_version_says_which_groups_must_decode() {
        use sonyctl_sony::live_view::groups_for_version;
        assert_eq!(
            [100, 101, 102, 103, 104, 105].map(groups_for_version),
            [None, Some(3), Some(3), Some(4), Some(4), None]
        );
        for (version, bad, groups) in [
            (101, 2, None),
            (101, 3, Some(3)),
            (104, 3, None),
            (100, 0, Some(0)),
            (999, 2, Some(2)),
        ] {
            let (bytes, _) = dataset_with_bad_group(version, bad);
            let lv = LiveViewFrame::decode(&bytes).unwrap();
            let found = lv.focal_frames.as_ref().map(|f| f.groups.len());
            assert_eq!(found, groups, "version {version}, group {bad} bad");
            assert_eq!(lv.focal_frame_error.is_some(), groups.is_none());
            if let Some(ffi) = lv.focal_frames {
                // What was found encodes to something that decodes the same.
                let again = FocalFrameInfo::decode_bytes(&ffi.encode().unwrap()).unwrap();
                assert_eq!(again, ffi);
            }
        }
    }
}
