//! StorageInfo: decode, and every decoded value re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::{Codec, StorageInfo};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = StorageInfo::decode_exact(data) {
        let bytes = v.to_bytes().expect("a decoded value encodes");
        assert_eq!(StorageInfo::decode_exact(&bytes).expect("re-decodes"), v);
    }
});
