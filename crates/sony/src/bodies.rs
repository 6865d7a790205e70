//! What a body's sensor is: the one home of each model's sensor name, effective pixels, sensor
//! size, the RAW active area the decoder delivers, the white level and the fastest shutter
//! speed.
//!
//! Astronomy clients want the frame's size, pixel size and white level (Alpaca's CameraXSize,
//! PixelSizeX, MaxADU; INDI's `CCD_INFO`) as soon as the camera is connected, before any frame
//! exists; once a frame is decoded, the file's own values replace these.
//!
//! Sources per row: the sensor's type and size and the effective pixels are Sony's published
//! specifications of the body; the pixel pitch is the sensor's width over the effective pixels
//! across ([`Body::pixel_size_um`]). The RAW active area (what the decoder delivers) is LibRaw
//! 0.20's for the bodies it knows, else unverified; the simulated camera's `[raw]` tables must
//! agree with it (a test of `sonyctl-sim`). An unknown model has no row: front ends then learn
//! the size from the first frame.

use std::time::Duration;

/// One body's sensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Body {
    /// The DeviceInfo model, e.g. `ILCE-7SM3`.
    pub model: &'static str,
    /// The sensor as Sony names it, with its size.
    pub sensor_name: &'static str,
    /// The sensor's width and height in millimetres (Sony's specification).
    pub sensor_mm: (f64, f64),
    /// Effective pixels across and down (Sony's specification, the largest still image).
    pub effective: (u32, u32),
    /// The RAW active area's width and height: what `sonyctl_raw::decode` delivers.
    pub active: (u32, u32),
    /// The white level of the RAW samples (14-bit scale).
    pub white_level: u16,
    /// The fastest shutter speed the body lists (for protocol-200 bodies, whose shutter
    /// descriptor is a range without a list: see
    /// [`third_stop_scale`](crate::values::third_stop_scale)).
    pub fastest_shutter: Duration,
}

impl Body {
    /// The pixel pitch in micrometres: the sensor's width over the effective pixels across.
    pub fn pixel_size_um(&self) -> f64 {
        self.sensor_mm.0 * 1000.0 / f64::from(self.effective.0.max(1))
    }
}

/// 1/`n` of a second.
const fn per_second(n: u64) -> Duration {
    Duration::from_nanos(1_000_000_000 / n)
}

/// The bodies known, by model.
pub const BODIES: &[Body] = &[
    // Sony ILCE-7SM3 specifications: "35mm full frame (35.6 x 23.8 mm), Exmor R CMOS sensor",
    // approx. 12.1 effective megapixels, 4240 x 2832 (L 3:2); shutter 1/8000 to 30".
    // Active area unverified (LibRaw 0.20 does not know the body); white level unverified.
    Body {
        model: "ILCE-7SM3",
        sensor_name: "Exmor R CMOS 35.6 x 23.8 mm (full frame)",
        sensor_mm: (35.6, 23.8),
        effective: (4240, 2832),
        active: (4240, 2832),
        white_level: 16383,
        fastest_shutter: per_second(8000),
    },
    // Sony ILCE-6000 specifications: "APS-C type (23.5 x 15.6 mm), Exmor APS HD CMOS sensor",
    // approx. 24.3 effective megapixels, 6000 x 4000 (L 3:2); shutter 1/4000 to 30". Active
    // area 6024 x 4024: LibRaw 0.20 (raw-identify); white level unverified.
    Body {
        model: "ILCE-6000",
        sensor_name: "Exmor APS HD CMOS 23.5 x 15.6 mm (APS-C)",
        sensor_mm: (23.5, 15.6),
        effective: (6000, 4000),
        active: (6024, 4024),
        white_level: 16383,
        fastest_shutter: per_second(4000),
    },
    // Sony ILCE-6400 specifications: "APS-C type (23.5 x 15.6 mm), Exmor CMOS sensor",
    // approx. 24.2 effective megapixels, 6000 x 4000 (L 3:2); shutter 1/4000 to 30". Active
    // area as the ILCE-6000's (unverified); white level unverified.
    Body {
        model: "ILCE-6400",
        sensor_name: "Exmor CMOS 23.5 x 15.6 mm (APS-C)",
        sensor_mm: (23.5, 15.6),
        effective: (6000, 4000),
        active: (6024, 4024),
        white_level: 16383,
        fastest_shutter: per_second(4000),
    },
    // Sony DSC-RX100M7 specifications: "1.0-type (13.2 x 8.8 mm) Exmor RS CMOS sensor",
    // approx. 20.1 effective megapixels, 5472 x 3648 (L 3:2); shutter to 1/32000 (electronic,
    // as the body's real 0xD20D list ends). Active area 5496 x 3672: LibRaw 0.20
    // (raw-identify); white level unverified.
    Body {
        model: "DSC-RX100M7",
        sensor_name: "Exmor RS CMOS 13.2 x 8.8 mm (1.0-type)",
        sensor_mm: (13.2, 8.8),
        effective: (5472, 3648),
        active: (5496, 3672),
        white_level: 16383,
        fastest_shutter: per_second(32000),
    },
];

/// The body of a DeviceInfo model (exact, ignoring ASCII case); `None` when unknown.
pub fn body(model: &str) -> Option<&'static Body> {
    BODIES
        .iter()
        .find(|b| b.model.eq_ignore_ascii_case(model.trim()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pixel_pitch_is_width_over_pixels() {
        let a7s3 = body("ILCE-7SM3").unwrap();
        assert!((a7s3.pixel_size_um() - 8.396).abs() < 0.001);
        let a6000 = body("ilce-6000").unwrap();
        assert!((a6000.pixel_size_um() - 3.917).abs() < 0.001);
        assert!((body("DSC-RX100M7").unwrap().pixel_size_um() - 2.412).abs() < 0.001);
        assert_eq!(body("ILCE-9999"), None);
    }

    #[test]
    fn every_row_is_sane() {
        for b in BODIES {
            // The active area is at least the effective image, and not far beyond it.
            assert!(b.active.0 >= b.effective.0 && b.active.0 <= b.effective.0 + 64);
            assert!(b.active.1 >= b.effective.1 && b.active.1 <= b.effective.1 + 64);
            // The aspect ratio of the sensor matches the pixels within 1 %.
            let mm = b.sensor_mm.0 / b.sensor_mm.1;
            let px = f64::from(b.effective.0) / f64::from(b.effective.1);
            assert!((mm / px - 1.0).abs() < 0.01, "{}", b.model);
            assert!(b.pixel_size_um() >= 1.0);
            assert!(b.fastest_shutter < Duration::from_millis(1));
        }
    }
}
