//! The ARW 2.x compressed raster ("cRAW"). Public descriptions of the layout: Alex Tutubalin's
//! summary of how LibRaw unpacks it (<https://www.dpreview.com/forums/post/50577431>),
//! RawDigger's article on its artefacts
//! (<https://www.rawdigger.com/howtouse/sony-craw-arw2-posterization-detection>) and L. Clévy's
//! Sony RAW notes (<https://github.com/lclevy/sony_raw>). In our words:
//!
//! - A row of `width` pixels takes `width` bytes: each run of 32 pixels is two 16-byte blocks,
//!   the first for its even pixels, the second for its odd ones (one colour each).
//! - A block, read as a 128-bit little-endian number: an 11-bit maximum, an 11-bit minimum, the
//!   4-bit positions (0–15) of the pixels that hold them, then fourteen 7-bit deltas for the
//!   other pixels in order. A delta is scaled by `2^shift`, the smallest shift (0 to 4) whose
//!   step `128 << shift` exceeds maximum − minimum, added to the minimum and capped at 0x7FF.
//!   A block whose values span less than 128 is lossless.
//! - A block whose two positions agree is described nowhere; it is read as storing its one
//!   extreme there, the fourteen deltas (added to the minimum, as in any block) for the next
//!   fourteen pixels and the minimum for the last, rather than refused, since one odd block
//!   must not cost a whole file. Only a block whose deltas are all zero is thereby flat. Other
//!   decoders may read that last pixel differently (LibRaw's output for such a block is not
//!   compared: our encoder never writes one, and no file in the tests holds one), so the one
//!   pixel can differ from theirs.
//! - The 11-bit value `v` becomes a sample through the tone curve: "shifted 1 bit to the left
//!   and rendered through [the] decompression curve" (the summary above), i.e. the curve at
//!   `2v`. The curve's four inner knots are tag 0x7010 (`SonyToneCurve`, ExifTool: "only the
//!   middle 4 points are stored", <https://exiftool.org/TagNames/EXIF.html>), on the 14-bit
//!   scale; divided by four they split the 12-bit range into five segments whose slopes double,
//!   1, 2, 4, 8 and 16 (the 11-to-14-bit curve RawDigger describes). Without the tag the curve
//!   is the identity.

use crate::ArwError;

/// Pixels per block.
const BLOCK: usize = 16;

/// The tone curve of a compressed file: the sample for each 12-bit index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToneCurve {
    table: Vec<u16>,
}

impl ToneCurve {
    /// The curve described by the four values of tag 0x7010.
    pub fn from_knots(knots: [u16; 4]) -> ToneCurve {
        let mut table: Vec<u32> = (0..4096u32).collect();
        let mut points = [0usize; 6];
        for (p, k) in points.iter_mut().skip(1).zip(knots) {
            *p = usize::from((k >> 2) & 0xFFF);
        }
        points[5] = 4095;
        for (i, seg) in points.windows(2).enumerate() {
            let (from, to) = (
                seg.first().map_or(0, |p| p + 1),
                seg.get(1).copied().unwrap_or(0),
            );
            for j in from..=to {
                let prev = table.get(j - 1).copied().unwrap_or(0);
                if let Some(t) = table.get_mut(j) {
                    *t = prev + (1 << i);
                }
            }
        }
        ToneCurve {
            table: table
                .into_iter()
                .map(|v| v.min(u32::from(u16::MAX)) as u16)
                .collect(),
        }
    }

    /// The identity (no 0x7010 tag).
    pub fn identity() -> ToneCurve {
        ToneCurve {
            table: (0..4096u16).collect(),
        }
    }

    /// The sample an 11-bit value stands for.
    pub fn sample(&self, v: u16) -> u16 {
        self.table
            .get(usize::from(v & 0x7FF) << 1)
            .copied()
            .unwrap_or(0)
    }
}

/// Decodes one compressed row (`src` is `dst.len()` bytes) into samples through `curve`.
pub(crate) fn decode_row(src: &[u8], dst: &mut [u16], curve: &ToneCurve) -> Result<(), ArwError> {
    let mut values = [0u16; BLOCK];
    for (bytes, out) in src.chunks_exact(32).zip(dst.chunks_exact_mut(32)) {
        for half in 0..2 {
            let block: [u8; 16] = bytes
                .get(half * 16..half * 16 + 16)
                .and_then(|b| b.try_into().ok())
                .ok_or(ArwError::Truncated("compressed block"))?;
            decode_block(u128::from_le_bytes(block), &mut values);
            for (i, v) in values.iter().enumerate() {
                if let Some(o) = out.get_mut(2 * i + half) {
                    *o = curve.sample(*v);
                }
            }
        }
    }
    Ok(())
}

/// Where the fields of a block start, in bits from its least significant end.
const MIN_AT_BIT: u32 = 11;
const MAX_POSITION_AT_BIT: u32 = 22;
const MIN_POSITION_AT_BIT: u32 = 26;
const DELTAS_AT_BIT: u32 = 30;
const DELTA_BITS: u32 = 7;

/// The sixteen 11-bit values of a block.
fn decode_block(bits: u128, out: &mut [u16; BLOCK]) {
    let max = (bits & 0x7FF) as u16;
    let min = ((bits >> MIN_AT_BIT) & 0x7FF) as u16;
    let max_position = ((bits >> MAX_POSITION_AT_BIT) & 0xF) as usize;
    let min_position = ((bits >> MIN_POSITION_AT_BIT) & 0xF) as usize;
    let shift = delta_shift(max, min);
    let mut next_delta = DELTAS_AT_BIT;
    for (i, o) in out.iter_mut().enumerate() {
        *o = if i == max_position {
            max
        } else if i == min_position || next_delta >= 128 {
            // The second test only holds when both positions agree (see the module's notes):
            // the fourteen deltas are spent and the last pixel takes the minimum.
            min
        } else {
            let delta = ((bits >> next_delta) & 0x7F) as u16;
            next_delta += DELTA_BITS;
            ((delta << shift) + min).min(0x7FF)
        };
    }
}

/// The scale of a block's deltas: the smallest shift (at most 4) whose step `0x80 << shift`
/// exceeds maximum − minimum.
fn delta_shift(max: u16, min: u16) -> u32 {
    let span = i32::from(max) - i32::from(min);
    (0..4).find(|&shift| (0x80 << shift) > span).unwrap_or(4)
}

/// Encodes sixteen 11-bit values as a block; what the decoder gives back is in `decoded`.
fn encode_block(values: &[u16; BLOCK], decoded: &mut [u16; BLOCK]) -> u128 {
    let (mut max_position, mut min_position) = (0, 0);
    let (mut max, mut min) = (values[0], values[0]);
    for (i, &x) in values.iter().enumerate() {
        if x > max {
            (max_position, max) = (i, x);
        }
        if x < min {
            (min_position, min) = (i, x);
        }
    }
    if max_position == min_position {
        // A flat block: any other pixel may carry the minimum.
        min_position = (max_position + 1) % BLOCK;
    }
    let (max, min) = (max & 0x7FF, min & 0x7FF);
    let shift = delta_shift(max, min);
    let mut bits = u128::from(max) | u128::from(min) << MIN_AT_BIT;
    bits |= (max_position as u128) << MAX_POSITION_AT_BIT
        | (min_position as u128) << MIN_POSITION_AT_BIT;
    let mut next_delta = DELTAS_AT_BIT;
    for (i, (&x, out)) in values.iter().zip(decoded.iter_mut()).enumerate() {
        *out = if i == max_position {
            max
        } else if i == min_position {
            min
        } else {
            // Rounded to the nearest step.
            let half_step = (1u16 << shift) >> 1;
            let delta = ((x.min(0x7FF).saturating_sub(min) + half_step) >> shift).min(0x7F);
            bits |= u128::from(delta) << next_delta;
            next_delta += DELTA_BITS;
            ((delta << shift) + min).min(0x7FF)
        };
    }
    bits
}

/// Turns samples into 11-bit values and back: the inverse of a [`ToneCurve`] up to a white
/// level.
#[derive(Clone, Debug)]
pub(crate) struct Quantizer {
    curve: ToneCurve,
    /// For each sample up to the white level, the 11-bit value whose curve sample is nearest.
    inverse: Vec<u16>,
}

impl Quantizer {
    pub(crate) fn new(curve: ToneCurve, white: u16) -> Quantizer {
        // The values whose samples do not pass the white level, in increasing sample order
        // (the curve never falls).
        let top = (0..2048u16)
            .take_while(|&v| curve.sample(v) <= white)
            .last()
            .unwrap_or(0);
        let mut inverse = Vec::with_capacity(usize::from(white) + 1);
        let mut v = 0u16;
        for s in 0..=white {
            while v < top && curve.sample(v + 1) <= s {
                v += 1;
            }
            let below = curve.sample(v);
            let pick = if v < top && curve.sample(v + 1) - s < s - below {
                v + 1
            } else {
                v
            };
            inverse.push(pick);
        }
        Quantizer { curve, inverse }
    }

    fn value(&self, sample: u16) -> u16 {
        let at = usize::from(sample).min(self.inverse.len().saturating_sub(1));
        self.inverse.get(at).copied().unwrap_or(0)
    }

    /// Encodes one row of samples (its length a multiple of 32) into `out`, `samples.len()`
    /// bytes; returns nothing, and writes what a decoder reads back into `decoded` if given.
    pub(crate) fn encode_row(
        &self,
        samples: &[u16],
        out: &mut Vec<u8>,
        mut decoded: Option<&mut [u16]>,
    ) {
        let mut v = [0u16; BLOCK];
        let mut back = [0u16; BLOCK];
        for (span, chunk) in samples.chunks_exact(32).enumerate() {
            for half in 0..2 {
                for (i, x) in v.iter_mut().enumerate() {
                    *x = self.value(chunk.get(2 * i + half).copied().unwrap_or(0));
                }
                let bits = encode_block(&v, &mut back);
                out.extend_from_slice(&bits.to_le_bytes());
                if let Some(d) = decoded.as_deref_mut() {
                    for (i, b) in back.iter().enumerate() {
                        if let Some(o) = d.get_mut(span * 32 + 2 * i + half) {
                            *o = self.curve.sample(*b);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_from_knots_has_slopes_one_to_sixteen() {
        let c = ToneCurve::from_knots([8000, 10400, 12900, 14100]);
        // Knots at 2000, 2600, 3225, 3525 (12-bit).
        assert_eq!(c.sample(500), 1000);
        assert_eq!(c.sample(1000), 2000);
        assert_eq!(c.sample(1300), 2000 + 2 * 600);
        assert_eq!(c.sample(1500), 3200 + 4 * 400);
        assert_eq!(c.sample(2047), 3200 + 4 * 625 + 8 * 300 + 16 * 569);
        assert_eq!(ToneCurve::identity().sample(1000), 2000);
    }

    #[test]
    fn a_flat_block_with_one_position_for_both_is_that_value_everywhere() {
        let mut out = [0u16; BLOCK];
        let bits = 700u128 | 700 << 11 | 3 << 22 | 3 << 26;
        decode_block(bits, &mut out);
        assert_eq!(out, [700; BLOCK]);
    }

    #[test]
    fn a_block_with_one_position_for_both_spends_its_deltas_then_takes_the_minimum() {
        let mut out = [0u16; BLOCK];
        // Maximum 300 at 0, minimum 100, every delta 5 (span 200: shift 1, step 2).
        let mut bits = 300u128 | 100 << 11;
        for i in 0..14 {
            bits |= 5 << (30 + 7 * i);
        }
        decode_block(bits, &mut out);
        assert_eq!(out[0], 300);
        assert!(out[1..15].iter().all(|&v| v == 110), "{out:?}");
        assert_eq!(out[15], 100);
    }

    #[test]
    fn a_block_spanning_less_than_128_is_lossless() {
        let v: [u16; BLOCK] = core::array::from_fn(|i| 1000 + (i as u16 * 37) % 127);
        let mut back = [0u16; BLOCK];
        let bits = encode_block(&v, &mut back);
        assert_eq!(back, v);
        let mut out = [0u16; BLOCK];
        decode_block(bits, &mut out);
        assert_eq!(out, v);
    }

    #[test]
    fn a_wide_block_keeps_its_ends_exactly_and_the_rest_within_the_step() {
        let v: [u16; BLOCK] = core::array::from_fn(|i| (i as u16 * 131) % 2048);
        let mut back = [0u16; BLOCK];
        let bits = encode_block(&v, &mut back);
        let mut out = [0u16; BLOCK];
        decode_block(bits, &mut out);
        assert_eq!(out, back);
        let (max, min) = (*v.iter().max().unwrap_or(&0), *v.iter().min().unwrap_or(&0));
        let step = 1i32 << delta_shift(max, min);
        for (a, b) in v.iter().zip(out) {
            assert!(
                (i32::from(*a) - i32::from(b)).abs() <= step / 2 + 1,
                "{a} {b}"
            );
        }
    }
}
