//! Property test on stable Rust: real camera replies, mutated (bytes flipped, counts set to
//! huge values, cut, spliced), fed to every decoder. Nothing may panic or hang; anything that
//! decodes must re-encode to the same bytes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use sonyctl_ptp::ptpip::Packet;
use sonyctl_ptp::{Codec, DeviceInfo, DevicePropDesc, ObjectInfo, StorageInfo, UsbContainer};
use sonyctl_sony::{AllPropInfo, ExtDeviceInfo, LiveViewFrame, PropertyReport, SdioVersion};
use sonyctl_vectors as vectors;

/// Every complete vector (payload and container files, PTP/IP packets), read once.
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut all: Vec<Vec<u8>> = vectors::list(".hex")
            .into_iter()
            .filter(|n| !n.contains("PARTIAL") && !n.contains("CORRUPT") && !n.contains("liveview"))
            .map(|n| vectors::hex(&n))
            .collect();
        // One live-view frame, cut down to keep cases fast (its JPEG is then incomplete).
        let lv =
            vectors::hex("dscrx100m7_fw100_http_liveview_dataset_singleimage_frame0.payload.hex");
        all.push(lv[..2048].to_vec());
        assert!(all.len() > 50);
        all
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Huge { at: usize, value: u32 },
    Cut { len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        (
            any::<usize>(),
            prop_oneof![
                Just(0x7FFF_FFFFu32),
                Just(u32::MAX),
                Just(0xFFFF),
                any::<u32>()
            ]
        )
            .prop_map(|(at, value)| Mutation::Huge { at, value }),
        any::<usize>().prop_map(|len| Mutation::Cut { len }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Remove { at, len }),
    ]
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = data.len().max(1);
        match m {
            Mutation::Flip { at, xor } => {
                if let Some(b) = data.get_mut(at % n) {
                    *b ^= xor;
                }
            }
            Mutation::Huge { at, value } => {
                let at = at % n;
                for (i, b) in value.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = data.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            Mutation::Cut { len } => data.truncate(len % n),
            Mutation::Insert { at, bytes } => {
                let at = at % n;
                let at = at.min(data.len());
                data.splice(at..at, bytes.iter().copied());
            }
            Mutation::Remove { at, len } => {
                let at = (at % n).min(data.len());
                let end = (at + len).min(data.len());
                data.drain(at..end);
            }
        }
    }
    data
}

/// Runs every decoder on `data` (and on the payload, when it frames as a USB container).
fn decode_everything(data: &[u8]) {
    let mut inputs = vec![data.to_vec()];
    if let Ok(c) = UsbContainer::decode(data) {
        assert_eq!(c.encode().unwrap(), data);
        let _ = (c.to_operation(), c.to_response(), c.to_event());
        inputs.push(c.payload);
    }
    for input in &inputs {
        for version in [SdioVersion::V200, SdioVersion::V300] {
            if let Ok(info) = AllPropInfo::decode(input, version) {
                // Lone UTF-16 surrogates decode to U+FFFD, so compare values, not bytes.
                let bytes = info.to_bytes().unwrap();
                assert_eq!(AllPropInfo::decode(&bytes, version).unwrap(), info);
                for d in &info.properties {
                    let _ = PropertyReport::new(d);
                }
            }
        }
        let _ = AllPropInfo::decode_any(input, 0);
        if let Ok(v) = ExtDeviceInfo::decode_exact(input) {
            assert_eq!(&v.to_bytes().unwrap(), input);
        }
        if let Ok(v) = DeviceInfo::decode_exact(input) {
            assert_eq!(DeviceInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
        }
        if let Ok(v) = ObjectInfo::decode_exact(input) {
            assert_eq!(ObjectInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(), v);
        }
        if let Ok(v) = StorageInfo::decode_exact(input) {
            assert_eq!(
                StorageInfo::decode_exact(&v.to_bytes().unwrap()).unwrap(),
                v
            );
        }
        if let Ok(v) = DevicePropDesc::decode_exact(input) {
            assert_eq!(
                DevicePropDesc::decode_exact(&v.to_bytes().unwrap()).unwrap(),
                v
            );
        }
        if let Ok(packets) = Packet::decode_stream(input) {
            for p in packets {
                assert_eq!(Packet::decode_exact(&p.to_bytes().unwrap()).unwrap(), p);
            }
        }
        if let Ok(lv) = LiveViewFrame::decode(input) {
            assert!(lv.jpeg(input).ends_with(&[0xFF, 0xD9]));
            if let Some(ffi) = lv.focal_frames {
                let bytes = ffi.encode().unwrap();
                assert_eq!(
                    sonyctl_sony::live_view::FocalFrameInfo::decode_bytes(&bytes).unwrap(),
                    ffi
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_vectors_never_panic(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let original = pick.get(corpus()).clone();
        decode_everything(&apply(original, &mutations));
    }
}

#[test]
fn unmutated_corpus_decodes() {
    for v in corpus() {
        decode_everything(v);
    }
}
