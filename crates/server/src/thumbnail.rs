//! Thumbnails: a small JPEG made from a saved JPEG, within a [`MAX_SIDE`]-pixel square, and
//! the cache of those made ([`ThumbnailCache`]).
//!
//! The image is decoded already scaled down (the decoder's DCT scaling reads a 6000-pixel-wide
//! JPEG at an eighth of its size for about the cost of an eighth), averaged down to the final
//! size and encoded again. Nothing here trusts the file: its size is bounded before anything
//! is decoded (what the decoder would hold, by the way the file is coded), and every failure is
//! an error, never a panic. The EXIF orientation is not applied (the thumbnail is the picture
//! as stored).

use std::collections::VecDeque;
use std::io::Read;

use bytes::Bytes;
use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};
use jpeg_encoder::{ColorType, Encoder};

/// The widest and tallest thumbnail, in pixels.
pub(crate) const MAX_SIDE: u16 = 320;

/// The largest picture decoded, in pixels (a 61-megapixel body makes 9504 × 6336), when the
/// decoder scales it down as it goes (sequential DCT, what cameras write): what it holds at
/// once is this over 64 at the smallest scale.
const MAX_PIXELS: u64 = 200_000_000;

/// The largest progressive or lossless picture decoded, in pixels: the decoder holds such a
/// picture whole (every DCT coefficient of a progressive one, two bytes each; every sample of
/// a lossless one), about 100 MB at this size.
const MAX_WHOLE_PIXELS: u64 = 16_000_000;

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

/// A JPEG at most [`MAX_SIDE`] pixels wide and tall (and never larger than the picture),
/// the picture's shape kept, made from the JPEG `reader` gives.
pub(crate) fn thumbnail(reader: impl Read) -> Result<Vec<u8>, ThumbnailError> {
    let mut decoder = Decoder::new(reader);
    decoder.read_info()?;
    let info = decoder.info().ok_or(ThumbnailError::Empty)?;
    let (width, height) = (info.width, info.height);
    if width == 0 || height == 0 {
        return Err(ThumbnailError::Empty);
    }
    let limit = match info.coding_process {
        CodingProcess::DctSequential => MAX_PIXELS,
        CodingProcess::DctProgressive | CodingProcess::Lossless => MAX_WHOLE_PIXELS,
    };
    if u64::from(width) * u64::from(height) > limit {
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

/// The thumbnail's size for a `width` × `height` picture: within [`MAX_SIDE`] each way, the
/// aspect ratio kept (the longer side [`MAX_SIDE`]), at least one pixel each way.
fn fit(width: u16, height: u16) -> (u16, u16) {
    let long = width.max(height);
    if long <= MAX_SIDE {
        return (width, height);
    }
    let (long, side) = (u64::from(long), u64::from(MAX_SIDE));
    // At most `side`: `n <= long`.
    let scale = |n: u16| (u64::from(n) * side + long / 2) / long;
    let cap = |n: u64| u16::try_from(n.clamp(1, side)).unwrap_or(MAX_SIDE);
    (cap(scale(width)), cap(scale(height)))
}

/// Thumbnails kept per camera …
const CACHE_COUNT: usize = 256;
/// … and the most bytes they hold together (a thumbnail is about 15 KB; a noisy one, more).
const CACHE_BYTES: usize = 8 << 20;

/// The thumbnails made, by image name, oldest first, bounded by count and by bytes: the
/// oldest go first.
#[derive(Debug, Default)]
pub(crate) struct ThumbnailCache {
    entries: VecDeque<(String, Bytes)>,
    /// The bytes of every entry.
    bytes: usize,
}

impl ThumbnailCache {
    /// The thumbnail of `name`, if kept.
    pub(crate) fn get(&self, name: &str) -> Option<Bytes> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    /// Keeps the thumbnail of `name` (unless one is kept already), forgetting the oldest while
    /// the count or the bytes would go beyond their bounds. One larger than the whole bound is
    /// not kept.
    pub(crate) fn keep(&mut self, name: &str, jpeg: Bytes) {
        if jpeg.len() > CACHE_BYTES || self.entries.iter().any(|(n, _)| n == name) {
            return;
        }
        while self.entries.len() >= CACHE_COUNT || self.bytes + jpeg.len() > CACHE_BYTES {
            let Some((_, old)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.len();
        }
        self.bytes += jpeg.len();
        self.entries.push_back((name.to_string(), jpeg));
    }

    /// Forgets the thumbnail of `name`.
    pub(crate) fn forget(&mut self, name: &str) {
        let bytes = &mut self.bytes;
        self.entries.retain(|(n, t)| {
            let keep = n != name;
            if !keep {
                *bytes -= t.len();
            }
            keep
        });
    }
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
    fn large_pictures_fit_320_square_with_their_aspect() {
        for (w, h, want) in [
            (640, 424, (320, 212)),
            // Decoded at an eighth, then averaged from 325 to 320.
            (2600, 1733, (320, 213)),
            (1000, 3000, (107, 320)),
            (424, 640, (212, 320)),
            (321, 5, (320, 5)),
            (4000, 1, (320, 1)),
            (1, 4000, (1, 320)),
            (321, 4000, (26, 320)),
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

    #[test]
    fn the_box_holds_any_shape() {
        for (w, h) in [
            (321, 65535),
            (65535, 321),
            (65535, 65535),
            (1, 65535),
            (320, 320),
            (321, 321),
            (9504, 6336),
        ] {
            let (tw, th) = fit(w, h);
            assert!(
                (1..=MAX_SIDE).contains(&tw) && (1..=MAX_SIDE).contains(&th),
                "{w}×{h}"
            );
            assert!(tw <= w && th <= h, "{w}×{h}");
            assert!(tw == MAX_SIDE || th == MAX_SIDE, "{w}×{h}");
        }
        assert_eq!(fit(200, 100), (200, 100));
    }

    /// A progressive JPEG is decoded whole: above 16 megapixels it is refused before anything
    /// is decoded; a small one is made into a thumbnail.
    #[test]
    fn large_progressive_pictures_are_refused() {
        let mut progressive = Vec::new();
        let mut e = Encoder::new(&mut progressive, 90);
        e.set_progressive(true);
        e.encode(&[128u8; 64 * 48 * 3], 64, 48, ColorType::Rgb)
            .unwrap();
        assert_eq!(
            size_of(&thumbnail(progressive.as_slice()).unwrap()),
            (64, 48)
        );
        // The same file announcing 5000 × 5000 pixels (25 megapixels).
        let sof = progressive
            .windows(2)
            .position(|w| w == [0xFF, 0xC2])
            .unwrap();
        progressive[sof + 5..sof + 9].copy_from_slice(&[0x13, 0x88, 0x13, 0x88]);
        assert!(matches!(
            thumbnail(progressive.as_slice()),
            Err(ThumbnailError::TooLarge {
                width: 5000,
                height: 5000
            })
        ));
    }

    #[test]
    fn the_cache_is_bounded_by_count_and_by_bytes() {
        let mut cache = ThumbnailCache::default();
        for i in 0..CACHE_COUNT + 10 {
            cache.keep(&format!("{i}.jpg"), Bytes::from(vec![0u8; 10]));
        }
        assert_eq!(cache.entries.len(), CACHE_COUNT);
        assert!(cache.get("0.jpg").is_none());
        assert!(cache.get(&format!("{}.jpg", CACHE_COUNT + 9)).is_some());
        // Large ones: the oldest go until the new one fits the bytes.
        let big = CACHE_BYTES / 3;
        for i in 0..5 {
            cache.keep(&format!("big{i}.jpg"), Bytes::from(vec![0u8; big]));
            assert!(cache.bytes <= CACHE_BYTES);
            assert_eq!(
                cache.bytes,
                cache.entries.iter().map(|(_, t)| t.len()).sum::<usize>()
            );
        }
        assert!(cache.get("big4.jpg").is_some() && cache.get("big0.jpg").is_none());
        cache.keep("huge.jpg", Bytes::from(vec![0u8; CACHE_BYTES + 1]));
        assert!(cache.get("huge.jpg").is_none());
        cache.forget("big4.jpg");
        assert!(cache.get("big4.jpg").is_none());
        assert_eq!(
            cache.bytes,
            cache.entries.iter().map(|(_, t)| t.len()).sum::<usize>()
        );
    }
}
