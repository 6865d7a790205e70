//! ObjectInfo: decode, and every decoded value re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::{Codec, ObjectInfo};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = ObjectInfo::decode_exact(data) {
        let bytes = v.to_bytes().expect("a decoded value encodes");
        assert_eq!(ObjectInfo::decode_exact(&bytes).expect("re-decodes"), v);
    }
});
