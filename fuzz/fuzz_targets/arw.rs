//! ARW files: decoding never panics; what decodes has as many samples as its active area, each
//! area inside the raster, the preview inside the input and a JPEG; identify and preview agree
//! with decode.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let info = sonyctl_raw::identify(data);
    let preview = sonyctl_raw::preview(data);
    if let Ok(image) = sonyctl_raw::decode(data) {
        let a = image.info.active;
        assert_eq!(image.samples.len(), a.width as usize * a.height as usize);
        assert!(a.x + a.width <= image.info.raw_width && a.y + a.height <= image.info.raw_height);
        assert!(image.info.raster.end <= data.len());
        assert_eq!(info.as_ref().ok(), Some(&image.info));
        if let Some(r) = &image.info.preview {
            let p = &data[r.clone()];
            assert!(p.starts_with(&[0xFF, 0xD8]));
            assert_eq!(preview.ok().flatten(), Some(p));
            let _ = sonyctl_raw::jpeg_dimensions(p);
        }
    }
});
