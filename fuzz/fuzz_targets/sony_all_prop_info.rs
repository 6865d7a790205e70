//! The 0x9209 reply in both layouts and with detection; decoded replies re-encode exactly, and
//! every value formats into a report without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_sony::{AllPropInfo, PropertyReport, SdioVersion};

fuzz_target!(|data: &[u8]| {
    for version in [SdioVersion::V200, SdioVersion::V300] {
        if let Ok(info) = AllPropInfo::decode(data, version) {
            // Not byte-identical: lone UTF-16 surrogates in strings decode to U+FFFD by design.
            let bytes = info.to_bytes().expect("encodes");
            assert_eq!(AllPropInfo::decode(&bytes, version).expect("re-decodes"), info);
            for d in &info.properties {
                let _ = PropertyReport::new(d);
            }
        }
    }
    let _ = AllPropInfo::decode_any(data, 0);
});
