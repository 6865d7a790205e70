//! The hex-dump reader on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = sonyctl_ptp::hexdump::parse(text) {
            assert!(bytes.len() * 2 <= text.len());
        }
    }
});
