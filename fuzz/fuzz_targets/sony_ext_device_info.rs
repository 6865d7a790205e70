//! The 0x9202 reply.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::Codec;
use sonyctl_sony::ExtDeviceInfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = ExtDeviceInfo::decode_exact(data) {
        assert_eq!(v.to_bytes().expect("encodes"), data);
    }
});
