//! DeviceInfo: decode, and every decoded value re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::{Codec, DeviceInfo};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = DeviceInfo::decode_exact(data) {
        let bytes = v.to_bytes().expect("a decoded value encodes");
        assert_eq!(DeviceInfo::decode_exact(&bytes).expect("re-decodes"), v);
    }
});
