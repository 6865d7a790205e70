//! The encoder and the decoder agree: what is written reads back as the writer says it will
//! (exactly for uncompressed rasters and for blocks that span less than 128 values, within a
//! block's step otherwise), and damaged files are refused with errors, never panics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use sonyctl_raw::{
    Area, ArwError, ArwSpec, ArwWriter, CfaPattern, RawKind, decode, encode, identify, preview,
};

const PREVIEW: &[u8] = &[0xFF, 0xD8, 0xFF, 0xD9];

fn spec(kind: RawKind, w: u32, h: u32, active: Area) -> ArwSpec {
    ArwSpec {
        make: "SONY".into(),
        model: "ILCE-7SM3".into(),
        description: "test".into(),
        software: "sonyctl".into(),
        date_time: "2026:01:01 12:00:00".into(),
        kind,
        bits_per_sample: if kind == RawKind::Compressed { 12 } else { 14 },
        raw_width: w,
        raw_height: h,
        active,
        black_level: 512,
        white_level: 16383,
        wb_rggb: [2400, 1024, 1024, 1700],
        tone_curve: [8000, 10400, 12900, 14100],
        preview: PREVIEW.to_vec(),
        padding: 0,
    }
}

/// Writes `samples` and returns the file with what the writer says the decoder will read.
fn write(spec: ArwSpec, samples: &[u16]) -> (Vec<u8>, Vec<u16>) {
    let w = spec.raw_width as usize;
    let writer = ArwWriter::new(spec).expect("a valid spec");
    let mut file = writer.head().to_vec();
    let mut expected = vec![0u16; samples.len()];
    for (row, back) in samples.chunks(w).zip(expected.chunks_mut(w)) {
        writer.row(row, &mut file, Some(back));
    }
    (file, expected)
}

fn crop(samples: &[u16], w: u32, a: Area) -> Vec<u16> {
    (a.y..a.y + a.height)
        .flat_map(|y| {
            let start = (y * w + a.x) as usize;
            samples[start..start + a.width as usize].to_vec()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn uncompressed_round_trips_exactly(
        spans in 1u32..4, h in 1u32..12, seed in any::<u64>(), x in 0u32..3, y in 0u32..3,
    ) {
        let w = spans * 32;
        let samples: Vec<u16> = (0..w * h)
            .map(|i| (seed.wrapping_mul(u64::from(i) + 1) >> 40) as u16 % 16384)
            .collect();
        let a = Area { x, y: y.min(h - 1), width: w - x, height: h - y.min(h - 1) };
        let (file, expected) = write(spec(RawKind::Uncompressed, w, h, a), &samples);
        prop_assert_eq!(&expected, &samples);
        let image = decode(&file).expect("decodes");
        prop_assert_eq!(image.samples, crop(&samples, w, a));
        prop_assert_eq!(image.info.cfa, CfaPattern::Rggb.shifted(a.x, a.y));
        prop_assert_eq!(image.info.kind, RawKind::Uncompressed);
        prop_assert_eq!((image.info.black_level, image.info.white_level), (512, 16383));
    }

    #[test]
    fn compressed_reads_back_what_the_writer_promised(
        spans in 1u32..4, h in 1u32..8, seed in any::<u64>(), noise in 1u64..4000,
    ) {
        let w = spans * 32;
        let samples: Vec<u16> = (0..w * h)
            .map(|i| 512 + ((seed ^ u64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as u16 % noise as u16)
            .collect();
        let a = Area { x: 0, y: 0, width: w, height: h };
        let (file, expected) = write(spec(RawKind::Compressed, w, h, a), &samples);
        let image = decode(&file).expect("decodes");
        prop_assert_eq!(&image.samples, &expected);
        prop_assert_eq!(image.info.kind, RawKind::Compressed);
        prop_assert!(image.samples.iter().all(|&s| s <= 16383));
    }

    #[test]
    fn damaged_files_are_errors_not_panics(cut in 0usize..2000, flip in 0usize..2000, byte in any::<u8>()) {
        let samples = vec![1000u16; 64 * 4];
        let a = Area { x: 0, y: 0, width: 64, height: 4 };
        let file = encode(spec(RawKind::Compressed, 64, 4, a), &samples).expect("encodes");
        let mut damaged = file.clone();
        if let Some(b) = damaged.get_mut(flip % file.len()) {
            *b ^= byte;
        }
        let _ = decode(&damaged);
        let _ = decode(&file[..cut.min(file.len())]);
    }
}

#[test]
fn a_smooth_compressed_raster_is_lossless_through_the_curve() {
    // Within the curve's first segment (slope 1 at 2v) every even sample is reachable, and a
    // block spanning less than 128 values keeps them all.
    let (w, h) = (64u32, 2u32);
    let samples: Vec<u16> = (0..w * h).map(|i| 1000 + 2 * (i % 50) as u16).collect();
    let a = Area {
        x: 0,
        y: 0,
        width: w,
        height: h,
    };
    let image = decode(&encode(spec(RawKind::Compressed, w, h, a), &samples).expect("encodes"))
        .expect("decodes");
    assert_eq!(image.samples, samples);
}

#[test]
fn identify_and_preview_read_the_head() {
    let a = Area {
        x: 2,
        y: 1,
        width: 60,
        height: 3,
    };
    let file = encode(spec(RawKind::Compressed, 64, 4, a), &[700; 256]).expect("encodes");
    let info = identify(&file).expect("identifies");
    assert_eq!(
        (info.make.as_str(), info.model.as_str()),
        ("SONY", "ILCE-7SM3")
    );
    assert_eq!((info.raw_width, info.raw_height, info.active), (64, 4, a));
    assert_eq!(info.cfa, CfaPattern::Gbrg);
    assert_eq!(preview(&file).expect("reads"), Some(PREVIEW));
    assert_eq!(info.raster.len(), 256);
}

#[test]
fn refusals_name_the_problem() {
    assert_eq!(decode(b"hello"), Err(ArwError::NotTiff));
    let a = Area {
        x: 0,
        y: 0,
        width: 64,
        height: 4,
    };
    let file = encode(spec(RawKind::Uncompressed, 64, 4, a), &[700; 256]).expect("encodes");
    assert_eq!(
        decode(&file[..file.len() - 1]),
        Err(ArwError::Truncated("raster"))
    );
    let bad = spec(RawKind::Compressed, 48, 4, Area { width: 48, ..a });
    assert!(matches!(ArwWriter::new(bad), Err(ArwError::Invalid(_))));
    // A raster that claims to be enormous is refused before anything is allocated.
    let mut huge = file.clone();
    let at = find_u32(&huge, 64, 0x0100).expect("the width entry");
    huge[at..at + 4].copy_from_slice(&100_000u32.to_le_bytes());
    assert!(matches!(
        decode(&huge),
        Err(ArwError::TooLarge { width: 100_000, .. })
    ));
}

/// The value field of the first entry with `tag` whose value is `value` (a test helper).
fn find_u32(file: &[u8], value: u32, tag: u16) -> Option<usize> {
    (0..file.len().saturating_sub(12))
        .find(|&i| {
            file[i..i + 2] == tag.to_le_bytes() && file[i + 8..i + 12] == value.to_le_bytes()
        })
        .map(|i| i + 8)
}
