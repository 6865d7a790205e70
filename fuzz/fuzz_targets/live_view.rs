//! The live-view dataset: the JPEG found always lies inside the input and ends with EOI, and the
//! focal-frame info found encodes back to something that decodes the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_sony::LiveViewFrame;
use sonyctl_sony::live_view::FocalFrameInfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(lv) = LiveViewFrame::decode(data) {
        let jpeg = lv.jpeg(data);
        assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
        if let Some(ffi) = lv.focal_frames {
            let bytes = ffi.encode().expect("a decoded focal-frame info encodes");
            assert_eq!(FocalFrameInfo::decode_bytes(&bytes).ok(), Some(ffi));
        }
    }
});
