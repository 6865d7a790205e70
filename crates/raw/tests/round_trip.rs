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
    Area, ArwError, ArwSpec, ArwWriter, CfaPattern, Levels, RawKind, ToneCurve, decode, encode,
    identify, preview,
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
        prop_assert_eq!(image.info.levels, Ok(Levels { black: 512, white: 16383 }));
    }

    #[test]
    fn compressed_reads_back_what_the_writer_promised_and_stays_near_the_input(
        spans in 1u32..4, h in 1u32..8, seed in any::<u64>(), noise in 1u64..4000,
    ) {
        let w = spans * 32;
        let samples: Vec<u16> = (0..w * h)
            .map(|i| 512 + ((seed ^ u64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as u16 % noise as u16)
            .collect();
        let a = Area { x: 0, y: 0, width: w, height: h };
        let s = spec(RawKind::Compressed, w, h, a);
        let curve = ToneCurve::from_knots(s.tone_curve);
        let (file, expected) = write(s, &samples);
        let image = decode(&file).expect("decodes");
        prop_assert_eq!(&image.samples, &expected);
        prop_assert_eq!(image.info.kind, RawKind::Compressed);
        prop_assert!(image.samples.iter().all(|&s| s <= 16383));
        // Against the input itself, not the writer's prediction: each sample is within the
        // block's step (in 11-bit values, the scale of its deltas) of the value nearest the
        // input, which is within half the curve's local slope of the input.
        for (row_in, row_out) in samples.chunks(w as usize).zip(image.samples.chunks(w as usize)) {
            for (run_in, run_out) in row_in.chunks(32).zip(row_out.chunks(32)) {
                for half in 0..2 {
                    let nearest: Vec<u16> =
                        (0..16).map(|i| nearest_value(&curve, run_in[2 * i + half])).collect();
                    let (max, min) = (nearest.iter().max().unwrap(), nearest.iter().min().unwrap());
                    let step = (0..=4u16).map(|s| 1u16 << s).find(|&st| 128 * st > max - min).unwrap_or(16);
                    for (i, &v) in nearest.iter().enumerate() {
                        let (input, output) = (run_in[2 * i + half], run_out[2 * i + half]);
                        let (lo, hi) = (v.saturating_sub(step), (v + step).min(2047));
                        let slope = (lo..hi).map(|x| curve.sample(x + 1) - curve.sample(x)).max().unwrap_or(0);
                        let bound = i32::from(step) * i32::from(slope) + i32::from(slope) / 2 + 1;
                        let error = (i32::from(output) - i32::from(input)).abs();
                        prop_assert!(error <= bound, "input {} read back as {} (step {}, slope {})", input, output, step, slope);
                    }
                }
            }
        }
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
        // The raster is the file's last part (no padding), so every cut shortens it or the
        // head before it: no truncation decodes.
        let cut = cut % file.len();
        prop_assert!(decode(&file[..cut]).is_err(), "a file cut at {} of {} decoded", cut, file.len());
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

/// The 11-bit value whose curve sample is nearest `sample` (a brute-force inverse).
fn nearest_value(curve: &ToneCurve, sample: u16) -> u16 {
    (0..2048u16)
        .min_by_key(|&v| (i32::from(curve.sample(v)) - i32::from(sample)).abs())
        .unwrap()
}

/// The value field of the first entry with `tag`, of TIFF type `field_type` and one value.
fn find_entry(file: &[u8], tag: u16, field_type: u16) -> Option<usize> {
    (0..file.len().saturating_sub(12))
        .find(|&i| {
            file[i..i + 2] == tag.to_le_bytes()
                && file[i + 2..i + 4] == field_type.to_le_bytes()
                && file[i + 4..i + 8] == 1u32.to_le_bytes()
        })
        .map(|i| i + 8)
}

fn whole(w: u32, h: u32) -> Area {
    Area {
        x: 0,
        y: 0,
        width: w,
        height: h,
    }
}

#[test]
fn a_broken_preview_leaves_the_raster_readable() {
    let file =
        encode(spec(RawKind::Compressed, 64, 4, whole(64, 4)), &[700; 256]).expect("encodes");
    let mut broken = file.clone();
    let at = find_entry(&broken, 0x0201, 4).expect("JPEGInterchangeFormat");
    broken[at..at + 4].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
    let image = decode(&broken).expect("the raster decodes");
    assert_eq!(image.samples, decode(&file).expect("decodes").samples);
    assert_eq!(image.info.preview, None);
    assert_eq!(
        image.info.preview_problem,
        Some(ArwError::Truncated("preview"))
    );
    assert!(image.info.levels.is_ok());
    // The preview alone is still an error when asked for.
    assert!(preview(&broken).is_err());
}

#[test]
fn a_wrong_sr2_key_leaves_the_raster_readable_and_the_levels_unknown() {
    let file = encode(
        spec(RawKind::Uncompressed, 64, 4, whole(64, 4)),
        &[700; 256],
    )
    .expect("encodes");
    let mut broken = file.clone();
    let at = find_u32(&broken, 0x4152_5732, 0x7221).expect("the SR2 key");
    broken[at] ^= 0x55;
    let image = decode(&broken).expect("the raster decodes");
    assert_eq!(image.samples, vec![700; 256]);
    let Err(ArwError::Sr2(why)) = &image.info.levels else {
        panic!("levels {:?}", image.info.levels);
    };
    assert!(why.contains("does not decrypt to a directory"), "{why}");
    assert!(!why.contains("entries"), "{why}");
    assert!(image.info.preview.is_some());
}

#[test]
fn a_file_without_sr2_data_has_unknown_levels() {
    let file = encode(
        spec(RawKind::Uncompressed, 64, 4, whole(64, 4)),
        &[700; 256],
    )
    .expect("encodes");
    let mut bare = file.clone();
    // DNGPrivateData: tag 0xC634, four BYTEs; renamed to a tag nothing reads.
    let at = (0..bare.len() - 8)
        .find(|&i| bare[i..i + 8] == [0x34, 0xC6, 1, 0, 4, 0, 0, 0])
        .expect("DNGPrivateData");
    bare[at..at + 2].copy_from_slice(&0xC635u16.to_le_bytes());
    let image = decode(&bare).expect("the raster decodes");
    assert!(
        matches!(image.info.levels, Err(ArwError::Sr2(_))),
        "{:?}",
        image.info.levels
    );
}

#[test]
fn an_unusual_black_level_is_what_the_file_says() {
    let s = ArwSpec {
        black_level: 508,
        white_level: 15000,
        ..spec(RawKind::Compressed, 64, 4, whole(64, 4))
    };
    let image = decode(&encode(s, &[700; 256]).expect("encodes")).expect("decodes");
    assert_eq!(
        image.info.levels,
        Ok(Levels {
            black: 508,
            white: 15000
        })
    );
}

#[test]
fn lossless_arw_is_unsupported_by_name_not_a_missing_raster() {
    let file =
        encode(spec(RawKind::Compressed, 64, 4, whole(64, 4)), &[700; 256]).expect("encodes");
    // Compression 7 (lossless JPEG) with its strips still there.
    let mut jpeg = file.clone();
    let at = find_u32(&jpeg, 32767, 0x0103).expect("Compression");
    jpeg[at..at + 2].copy_from_slice(&7u16.to_le_bytes());
    // Tiles instead of strips, as ARW 4 stores them.
    let mut tiled = jpeg.clone();
    let at = find_entry(&tiled, 0x0111, 4).expect("StripOffsets") - 8;
    tiled[at..at + 2].copy_from_slice(&0x0144u16.to_le_bytes());
    for file in [jpeg, tiled] {
        let Err(ArwError::Unsupported(why)) = decode(&file) else {
            panic!("{:?}", decode(&file).map(|i| i.info));
        };
        assert!(why.starts_with("lossless"), "{why}");
    }
}

#[test]
fn the_kind_comes_from_the_strip_size_and_agrees_with_sony_raw_file_type() {
    let samples: Vec<u16> = (0..256).map(|i| 600 + i as u16 * 7).collect();
    let file = encode(spec(RawKind::Uncompressed, 64, 4, whole(64, 4)), &samples).expect("encodes");
    // Sony's Compression 32767 on a strip of two bytes a pixel: an uncompressed raster.
    let mut sony = file.clone();
    let at = find_u32(&sony, 1, 0x0103).expect("Compression");
    sony[at..at + 2].copy_from_slice(&32767u16.to_le_bytes());
    let image = decode(&sony).expect("decodes");
    assert_eq!(image.info.kind, RawKind::Uncompressed);
    assert_eq!(image.samples, samples);
    // A compressed raster whose SonyRawFileType says uncompressed (0) is contradictory.
    let compressed =
        encode(spec(RawKind::Compressed, 64, 4, whole(64, 4)), &samples).expect("encodes");
    let mut contradictory = compressed.clone();
    let at = find_u32(&contradictory, 2, 0x7000).expect("SonyRawFileType");
    contradictory[at..at + 2].copy_from_slice(&0u16.to_le_bytes());
    assert!(
        matches!(decode(&contradictory), Err(ArwError::Invalid(ref why)) if why.contains("SonyRawFileType 0")),
        "{:?}",
        decode(&contradictory).map(|i| i.info)
    );
    // A padded strip under Compression 32767 (more than one byte a pixel, less than two) is
    // still the compressed raster; one shorter than a byte a pixel is refused.
    let mut padded = compressed.clone();
    let at = find_u32(&padded, 256, 0x0117).expect("StripByteCounts");
    padded[at..at + 4].copy_from_slice(&300u32.to_le_bytes());
    let image = decode(&padded).expect("decodes");
    assert_eq!(image.info.kind, RawKind::Compressed);
    assert_eq!(image.samples, decode(&compressed).expect("decodes").samples);
    let mut short = compressed.clone();
    short[at..at + 4].copy_from_slice(&200u32.to_le_bytes());
    assert!(matches!(decode(&short), Err(ArwError::Invalid(_))));
}

#[test]
fn an_active_area_past_u32_is_refused_not_an_overflow() {
    let s = spec(
        RawKind::Uncompressed,
        64,
        4,
        Area {
            x: u32::MAX - 2,
            y: 0,
            width: 8,
            height: 4,
        },
    );
    assert!(matches!(ArwWriter::new(s), Err(ArwError::Invalid(_))));
}

/// The value field of the first entry with `tag` whose value is `value` (a test helper).
fn find_u32(file: &[u8], value: u32, tag: u16) -> Option<usize> {
    (0..file.len().saturating_sub(12))
        .find(|&i| {
            file[i..i + 2] == tag.to_le_bytes() && file[i + 8..i + 12] == value.to_le_bytes()
        })
        .map(|i| i + 8)
}
