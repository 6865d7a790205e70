//! What a user types, parsed for every property kind and data type; a parsed value formats.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::{DataType, PropertyCode};
use sonyctl_sony::{format_value, parse_value};

const CODES: &[u16] = &[
    0xD20D, 0xD19F, 0x5007, 0xD21E, 0x5010, 0xD20F, 0xD218, 0xD215, 0x5005, 0x500E, 0x5013, 0xD222,
    0xD26C,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let code = PropertyCode(CODES[usize::from(selector) % CODES.len()]);
    for dt in DataType::all().filter(|d| d.size().is_some()) {
        if let Ok(v) = parse_value(code, text, dt, None) {
            assert_eq!(v.data_type(), dt);
            let _ = format_value(code, &v);
        }
    }
});
