//! Thumbnails: a small JPEG made from a saved JPEG, no wider than [`MAX_WIDTH`].
//!
//! The image is decoded already scaled down (the decoder's DCT scaling reads a 6000-pixel-wide
//! JPEG at an eighth of its size for about the cost of an eighth), averaged down to the final
//! size and encoded again. Nothing here trusts the file: its size is bounded before anything
//! is decoded, and every failure is an error, never a panic. The EXIF orientation is not
//! applied (the thumbnail is the picture as stored).

use std::io::Read;

use jpeg_decoder::{Decoder, PixelFormat};
use jpeg_encoder::{ColorType, Encoder};

/// The widest thumbnail, in pixels.
pub(crate) const MAX_WIDTH: u16 = 320;

/// The largest picture decoded, in pixels (a 61-megapixel body makes 9504 × 6336); what the
/// decoder holds at once is this over 64 at the smallest scale.
const MAX_PIXELS: u64 = 200_000_000;

/// The thumbnail's JPEG quality.
const QUALITY: u8 = 80;

/// Why no thumbnail could be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ThumbnailError {
    /// The file is not a JPEG this decoder reads.
    #[error("the image does not decode as a JPEG: {0}")]
    Decode(#[from] jpeg_decoder::Error),
    /// The picture is larger than the server decodes.
    #[error("the image is {width} × {height} pixels, more than a thumbnail is made from")]
    TooLarge {
        /// Its width.
        width: u16,
        /// Its height.
        height: u16,
    },
    /// The picture has no pixels, or the decoder returned fewer than it announced.
    #[error("the image's pixels are missing")]
    Empty,
    /// The thumbnail did not encode.
    #[error("the thumbnail does not encode: {0}")]
    Encode(#[from] jpeg_encoder::EncodingError),
}

/// A JPEG at most [`MAX_WIDTH`] pixels wide (and never wider than the picture) made from the
/// JPEG `reader` gives.
pub(crate) fn thumbnail(reader: impl Read) -> Result<Vec<u8>, ThumbnailError> {
    let mut decoder = Decoder::new(reader);
    decoder.read_info()?;
    let info = decoder.info().ok_or(ThumbnailError::Empty)?;
    let (width, height) = (info.width, info.height);
    if width == 0 || height == 0 {
        return Err(ThumbnailError::Empty);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ThumbnailError::TooLarge { width, height });
    }
    let (out_w, out_h) = fit(width, height);
    // The smallest DCT scale that still gives at least the thumbnail's size.
    let (w, h) = decoder.scale(out_w, out_h)?;
    let pixels = decoder.decode()?;
    let (channels, color) = match info.pixel_format {
        PixelFormat::L8 => (1, ColorType::Luma),
        PixelFormat::RGB24 => (3, ColorType::Rgb),
        // 16-bit grey (lossless JPEG), encoded from its high bytes.
        PixelFormat::L16 => (2, ColorType::Luma),
        PixelFormat::CMYK32 => (4, ColorType::Cmyk),
    };
    let (w, h) = (usize::from(w), usize::from(h));
    if w == 0 || h == 0 || pixels.len() < w * h * channels {
        return Err(ThumbnailError::Empty);
    }
    let (pixels, channels) = if channels == 2 {
        // The decoder gives 16-bit samples in the machine's byte order.
        let high = |p: &[u8]| match p {
            [a, b] => (u16::from_ne_bytes([*a, *b]) >> 8) as u8,
            _ => 0,
        };
        (pixels.chunks_exact(2).map(high).collect(), 1)
    } else {
        (pixels, channels)
    };
    // The DCT scale leaves the picture up to twice the thumbnail's size: average it down.
    let (out_w, out_h) = fit_within(w, h, out_w, out_h);
    let small = shrink(&pixels, (w, h), channels, (out_w, out_h));
    let mut out = Vec::new();
    Encoder::new(&mut out, QUALITY).encode(&small, out_w as u16, out_h as u16, color)?;
    Ok(out)
}

/// The thumbnail's size for a `width` × `height` picture: [`MAX_WIDTH`] wide at most, the
/// aspect ratio kept, at least one pixel each way.
fn fit(width: u16, height: u16) -> (u16, u16) {
    if width <= MAX_WIDTH {
        return (width, height);
    }
    let h = (u64::from(height) * u64::from(MAX_WIDTH) + u64::from(width) / 2) / u64::from(width);
    (MAX_WIDTH, u16::try_from(h.max(1)).unwrap_or(u16::MAX))
}

/// The wanted size, or the decoded size where that is smaller (the decoder may stop short on
/// one axis).
fn fit_within(w: usize, h: usize, want_w: u16, want_h: u16) -> (usize, usize) {
    (w.min(usize::from(want_w)), h.min(usize::from(want_h)))
}

/// `pixels` (`size`, `channels` bytes each) averaged down to `out` (no larger than `size`):
/// each output pixel is the mean of the source pixels its area covers.
fn shrink(pixels: &[u8], size: (usize, usize), channels: usize, out: (usize, usize)) -> Vec<u8> {
    let ((w, h), (ow, oh)) = (size, out);
    if (ow, oh) == (w, h) {
        return pixels.to_vec();
    }
    let mut small = Vec::with_capacity(ow * oh * channels);
    let mut sum = vec![0u32; channels];
    for oy in 0..oh {
        let (y0, y1) = span(oy, oh, h);
        for ox in 0..ow {
            let (x0, x1) = span(ox, ow, w);
            sum.iter_mut().for_each(|s| *s = 0);
            for y in y0..y1 {
                let row = pixels.get((y * w + x0) * channels..(y * w + x1) * channels);
                for px in row.unwrap_or_default().chunks_exact(channels) {
                    for (s, &v) in sum.iter_mut().zip(px) {
                        *s += u32::from(v);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)).max(1) as u32;
            small.extend(sum.iter().map(|s| ((s + n / 2) / n) as u8));
        }
    }
    small
}

/// The source pixels `[from, to)` output pixel `i` of `out` covers on an axis of `len` pixels
/// (never empty).
fn span(i: usize, out: usize, len: usize) -> (usize, usize) {
    let from = i * len / out;
    let to = ((i + 1) * len / out).max(from + 1).min(len);
    (from.min(len.saturating_sub(1)), to)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn jpeg(w: u16, h: u16, color: ColorType, channels: usize) -> Vec<u8> {
        let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h) * channels)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut out = Vec::new();
        Encoder::new(&mut out, 90)
            .encode(&pixels, w, h, color)
            .unwrap();
        out
    }

    fn size_of(jpeg: &[u8]) -> (u16, u16) {
        let mut d = Decoder::new(jpeg);
        d.decode().unwrap();
        let info = d.info().unwrap();
        (info.width, info.height)
    }

    #[test]
    fn large_pictures_become_320_wide_with_their_aspect() {
        for (w, h, want) in [
            (640, 424, (320, 212)),
            // Decoded at an eighth, then averaged from 325 to 320.
            (2600, 1733, (320, 213)),
            (1000, 3000, (320, 960)),
            (321, 5, (320, 5)),
            (4000, 1, (320, 1)),
        ] {
            let t = thumbnail(jpeg(w, h, ColorType::Rgb, 3).as_slice()).unwrap();
            assert_eq!(size_of(&t), want, "{w}×{h}");
        }
    }

    #[test]
    fn small_and_grey_pictures_keep_their_size() {
        let t = thumbnail(jpeg(200, 100, ColorType::Rgb, 3).as_slice()).unwrap();
        assert_eq!(size_of(&t), (200, 100));
        let t = thumbnail(jpeg(800, 600, ColorType::Luma, 1).as_slice()).unwrap();
        assert_eq!(size_of(&t), (320, 240));
        let t = thumbnail(jpeg(1, 1, ColorType::Luma, 1).as_slice()).unwrap();
        assert_eq!(size_of(&t), (1, 1));
    }

    #[test]
    fn averaging_keeps_a_flat_colour() {
        let pixels = [10u8, 200, 30].repeat(7 * 5);
        let small = shrink(&pixels, (7, 5), 3, (3, 2));
        assert_eq!(small, [10u8, 200, 30].repeat(6));
        for out in 1..=9 {
            for len in out..=20 {
                let spans: Vec<_> = (0..out).map(|i| span(i, out, len)).collect();
                assert_eq!(spans[0].0, 0);
                assert_eq!(spans[out - 1].1, len);
                assert!(spans.iter().all(|(a, b)| a < b), "{out} of {len}");
            }
        }
    }

    #[test]
    fn what_is_not_a_jpeg_is_an_error() {
        assert!(thumbnail(&b""[..]).is_err());
        assert!(thumbnail(&b"not a jpeg at all"[..]).is_err());
        let good = jpeg(640, 424, ColorType::Rgb, 3);
        for cut in [2, 20, good.len() / 2] {
            assert!(thumbnail(&good[..cut]).is_err(), "cut at {cut}");
        }
        // A header announcing 65535 × 65535 pixels is refused before anything is decoded.
        let mut huge = jpeg(8, 8, ColorType::Rgb, 3);
        let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        huge[sof + 5..sof + 9].copy_from_slice(&[0xFF; 4]);
        assert!(matches!(
            thumbnail(huge.as_slice()),
            Err(ThumbnailError::TooLarge { .. })
        ));
    }
}
