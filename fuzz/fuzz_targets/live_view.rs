//! The live-view dataset: the JPEG found always lies inside the input and ends with EOI.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_sony::LiveViewFrame;

fuzz_target!(|data: &[u8]| {
    if let Ok(lv) = LiveViewFrame::decode(data) {
        let jpeg = lv.jpeg(data);
        assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
    }
});
