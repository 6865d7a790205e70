//! Sony ARW files, without I/O: the one home of the format's knowledge in this project.
//!
//! - [`decode`] reads an ARW (untrusted bytes) into a [`BayerImage`]: the samples of the
//!   active area, the CFA pattern, black and white levels, the embedded JPEG preview, the
//!   model and the [`RawKind`]. [`identify`] reads the same description without the samples
//!   (for a preview or a summary), and [`preview`] just the preview's bytes.
//! - [`encode`] writes one from samples; [`ArwWriter`] writes the file's head and then its
//!   raster row by row, so a large file can be produced lazily (the simulated camera does).
//!
//! What is read and written: the TIFF structure (TIFF 6.0); IFD0 with Make, Model and the
//! preview JPEG (0x0201/0x0202), its SubIFD (0x014A) with the raster (size, BitsPerSample,
//! Compression 1 or 32767, one strip whose size tells the kind, the CFA pattern
//! 0x828D/0x828E, `SonyRawFileType` 0x7000, `SonyToneCurve` 0x7010, the active area as
//! DefaultCropOrigin/DefaultCropSize 0xC61F/0xC620); and the SR2 private data with its
//! encrypted SR2SubIFD (black level 0x7310, white level 0x787F, white balance 0x7313). Tag
//! meanings follow ExifTool's tag documentation (<https://exiftool.org/TagNames/EXIF.html>,
//! <https://exiftool.org/TagNames/Sony.html>); the `sr2` module gives the cipher's source and
//! the `arw2` module the compressed block layout's and tone curve's. Rasters: uncompressed
//! 16-bit words (12- or 14-bit samples), and ARW 2.x compressed. Sony's lossless (JPEG)
//! compression of ARW 4 is refused as unsupported.
//!
//! A file whose preview or SR2 block is broken still decodes: the preview is then absent and
//! the levels unknown, each with its reason ([`ArwInfo::preview_problem`], [`ArwInfo::levels`]).
//!
//! Nothing here panics on input: every offset and length is checked against the file, and the
//! raster's size is bounded ([`MAX_PIXELS`]) before anything is allocated for it.

mod arw2;
mod sr2;
mod tiff;

use std::ops::Range;

pub use arw2::ToneCurve;
use tiff::{Entry, Field, Tiff, find};

/// The most pixels a raster may have: more than any camera writes (the largest Sony sensor
/// has 61 million), small enough that a hostile file cannot make the decoder allocate more
/// than about 400 MB.
pub const MAX_PIXELS: u64 = 200_000_000;

/// The widest or tallest raster accepted.
pub const MAX_SIDE: u32 = 32_768;

/// What can be wrong with an ARW file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArwError {
    /// The file does not start with a TIFF header.
    #[error("not a TIFF-based file (no II*/MM* header)")]
    NotTiff,
    /// A structure runs past the end of the file.
    #[error("the file ends inside its {0}")]
    Truncated(&'static str),
    /// No directory describes a raw raster.
    #[error("no raw image in the file (no SubIFD with a CFA raster)")]
    NoRaster,
    /// The raster is of a kind this decoder does not read.
    #[error("unsupported raster: {0}")]
    Unsupported(String),
    /// The raster's size is zero or beyond the bound.
    #[error(
        "a raster of {width} × {height} pixels (at most {MAX_SIDE} a side and {MAX_PIXELS} pixels are read)"
    )]
    TooLarge {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// The SR2 private data, where the black and white levels are, cannot be read (absent,
    /// out of the file, or not a directory once decrypted). The raster may still decode.
    #[error("the black and white levels are unknown: {0}")]
    Sr2(String),
    /// A value that makes no sense (a tag of the wrong type, an area outside the raster, …).
    #[error("{0}")]
    Invalid(String),
}

/// How the raster is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RawKind {
    /// One little-endian 16-bit word per sample.
    Uncompressed,
    /// Sony's lossy ARW 2.x compression, one byte per sample.
    Compressed,
}

impl RawKind {
    /// A short name: `uncompressed` or `compressed`.
    pub fn name(self) -> &'static str {
        match self {
            RawKind::Uncompressed => "uncompressed",
            RawKind::Compressed => "compressed",
        }
    }
}

/// The colour filter over the first two rows and columns of an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CfaPattern {
    /// Red, green / green, blue.
    Rggb,
    /// Green, red / blue, green.
    Grbg,
    /// Green, blue / red, green.
    Gbrg,
    /// Blue, green / green, red.
    Bggr,
}

impl CfaPattern {
    /// The pattern's name as FITS' `BAYERPAT` and most tools write it, e.g. `RGGB`.
    pub fn name(self) -> &'static str {
        match self {
            CfaPattern::Rggb => "RGGB",
            CfaPattern::Grbg => "GRBG",
            CfaPattern::Gbrg => "GBRG",
            CfaPattern::Bggr => "BGGR",
        }
    }

    /// The TIFF/EP colour codes (0 red, 1 green, 2 blue) of the four positions, row by row.
    pub fn colours(self) -> [u8; 4] {
        match self {
            CfaPattern::Rggb => [0, 1, 1, 2],
            CfaPattern::Grbg => [1, 0, 2, 1],
            CfaPattern::Gbrg => [1, 2, 0, 1],
            CfaPattern::Bggr => [2, 1, 1, 0],
        }
    }

    fn from_colours(c: [u8; 4]) -> Option<CfaPattern> {
        [
            CfaPattern::Rggb,
            CfaPattern::Grbg,
            CfaPattern::Gbrg,
            CfaPattern::Bggr,
        ]
        .into_iter()
        .find(|p| p.colours() == c)
    }

    /// The pattern seen from `(x, y)` (an area starting there).
    pub fn shifted(self, x: u32, y: u32) -> CfaPattern {
        let [a, b, c, d] = self.colours();
        let (a, b, c, d) = match (x % 2, y % 2) {
            (0, 0) => (a, b, c, d),
            (1, 0) => (b, a, d, c),
            (0, _) => (c, d, a, b),
            _ => (d, c, b, a),
        };
        CfaPattern::from_colours([a, b, c, d]).unwrap_or(self)
    }
}

/// A rectangle of the raster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Area {
    /// Its left column.
    pub x: u32,
    /// Its top row.
    pub y: u32,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
}

/// What an ARW file says about itself, without its samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArwInfo {
    /// The maker (IFD0's Make, `SONY`).
    pub make: String,
    /// The body (IFD0's Model, e.g. `ILCE-7SM3`).
    pub model: String,
    /// How the raster is stored.
    pub kind: RawKind,
    /// Bits per sample the raster declares (12 or 14).
    pub bits_per_sample: u16,
    /// The stored raster's width.
    pub raw_width: u32,
    /// The stored raster's height.
    pub raw_height: u32,
    /// The active area within the raster (the whole raster when the file names none).
    pub active: Area,
    /// The colour filter at the active area's top-left corner.
    pub cfa: CfaPattern,
    /// The black and white levels from the SR2SubIFD, or why they are unknown
    /// ([`ArwError::Sr2`]): the samples decode either way, and a guess would mislead anyone
    /// calibrating with them.
    pub levels: Result<Levels, ArwError>,
    /// Where the embedded JPEG preview lies in the file (`None` when the file has none or it
    /// is unusable; [`ArwInfo::preview_problem`] then says why).
    pub preview: Option<Range<usize>>,
    /// Why the preview the file names cannot be used (outside the file, not a JPEG); the
    /// raster is read regardless.
    pub preview_problem: Option<ArwError>,
    /// Where the raster lies in the file.
    pub raster: Range<usize>,
    /// The tone curve of a compressed raster.
    tone_curve: Option<[u16; 4]>,
}

/// The black and white levels of a raster (SR2SubIFD tags 0x7310 and 0x787F).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Levels {
    /// The black level (the first of the four, in CFA order, Sony writes).
    pub black: u16,
    /// The white level (the first of those Sony writes).
    pub white: u16,
}

/// A decoded ARW: [`ArwInfo`] and the samples of the active area, row by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BayerImage {
    /// Width of the active area.
    pub width: u32,
    /// Height of the active area.
    pub height: u32,
    /// `width × height` samples, black level included, row by row.
    pub samples: Vec<u16>,
    /// Everything else the file says.
    pub info: ArwInfo,
}

impl BayerImage {
    /// The sample at `(x, y)` of the active area.
    pub fn get(&self, x: u32, y: u32) -> Option<u16> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.samples
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }
}

// Tags (TIFF 6.0, TIFF/EP, DNG and ExifTool's Sony documentation).
const NEW_SUBFILE_TYPE: u16 = 0x00FE;
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_LENGTH: u16 = 0x0101;
const BITS_PER_SAMPLE: u16 = 0x0102;
const COMPRESSION: u16 = 0x0103;
const PHOTOMETRIC: u16 = 0x0106;
const IMAGE_DESCRIPTION: u16 = 0x010E;
const MAKE: u16 = 0x010F;
const MODEL: u16 = 0x0110;
const STRIP_OFFSETS: u16 = 0x0111;
const SAMPLES_PER_PIXEL: u16 = 0x0115;
const ROWS_PER_STRIP: u16 = 0x0116;
const STRIP_BYTE_COUNTS: u16 = 0x0117;
const TILE_OFFSETS: u16 = 0x0144;
const PLANAR_CONFIGURATION: u16 = 0x011C;
const SOFTWARE: u16 = 0x0131;
const DATE_TIME: u16 = 0x0132;
const SUB_IFDS: u16 = 0x014A;
const JPEG_OFFSET: u16 = 0x0201;
const JPEG_LENGTH: u16 = 0x0202;
const CFA_REPEAT_PATTERN_DIM: u16 = 0x828D;
const CFA_PATTERN: u16 = 0x828E;
const DNG_PRIVATE_DATA: u16 = 0xC634;
const DEFAULT_CROP_ORIGIN: u16 = 0xC61F;
const DEFAULT_CROP_SIZE: u16 = 0xC620;
/// `SonyRawFileType` (ExifTool's EXIF tags, <https://exiftool.org/TagNames/EXIF.html>, tag
/// 0x7000): 0 uncompressed 14-bit, 1 uncompressed 12-bit, 2 compressed, 3 and 4 lossless
/// compressed, 6 "Compressed RAW 2".
const SONY_RAW_FILE_TYPE: u16 = 0x7000;
const RAW_FILE_TYPE_UNCOMPRESSED_14: u32 = 0;
const RAW_FILE_TYPE_UNCOMPRESSED_12: u32 = 1;
const RAW_FILE_TYPE_COMPRESSED: u32 = 2;
const RAW_FILE_TYPE_LOSSLESS: u32 = 3;
const RAW_FILE_TYPE_LOSSLESS_2: u32 = 4;
const RAW_FILE_TYPE_COMPRESSED_2: u32 = 6;
const SONY_TONE_CURVE: u16 = 0x7010;

/// TIFF Compression values: 1 none; 32767 is Sony's ("Sony ARW Compressed" in ExifTool's
/// list), written for the compressed raster and found on uncompressed ones too (the strip's
/// size tells them apart); 7 is the lossless JPEG of ARW 4.
const COMPRESSION_NONE: u32 = 1;
const COMPRESSION_SONY: u32 = 32767;
const COMPRESSION_JPEG: u32 = 7;

/// The directories and SR2 blocks followed at most (a loop or a deep chain is refused).
const MAX_DIRECTORIES: usize = 32;

/// Reads the description of an ARW without decoding its raster.
///
/// A broken preview or SR2 block does not stop it: the raster is what a decoder is for, so
/// those are reported in [`ArwInfo::preview_problem`] and [`ArwInfo::levels`] instead.
pub fn identify(bytes: &[u8]) -> Result<ArwInfo, ArwError> {
    let (tiff, first) = Tiff::open(bytes)?;
    let (ifd0, _) = tiff.directory(first)?;
    let text = |tag| -> Result<String, ArwError> {
        find(&ifd0, tag).map_or(Ok(String::new()), |e| tiff.ascii(e))
    };
    let make = text(MAKE)?;
    let model = text(MODEL)?;
    let (preview, preview_problem) = match preview_range(&tiff, &ifd0) {
        Ok(p) => (p, None),
        Err(e) => (None, Some(e)),
    };

    // The raster: the first SubIFD of IFD0 that is a full-resolution image in strips or tiles.
    let sub_offsets = match find(&ifd0, SUB_IFDS) {
        Some(e) => tiff.uints(e, MAX_DIRECTORIES)?,
        None => Vec::new(),
    };
    let mut raster_ifd = None;
    for &off in &sub_offsets {
        let (entries, _) = tiff.directory(off)?;
        let full = find(&entries, NEW_SUBFILE_TYPE).map_or(Ok(0), |e| tiff.uint(e))? & 1 == 0;
        let stored =
            find(&entries, STRIP_OFFSETS).is_some() || find(&entries, TILE_OFFSETS).is_some();
        if full && stored {
            raster_ifd = Some(entries);
            break;
        }
    }
    let raster = raster_ifd.ok_or(ArwError::NoRaster)?;
    let get = |tag: u16, what: &str| -> Result<u32, ArwError> {
        find(&raster, tag)
            .ok_or_else(|| ArwError::Invalid(format!("the raw image has no {what}")))
            .and_then(|e| tiff.uint(e))
    };
    let compression = get(COMPRESSION, "Compression")?;
    let file_type = find(&raster, SONY_RAW_FILE_TYPE)
        .map(|e| tiff.uint(e))
        .transpose()?;
    // Lossless ARW (ARW 4) is a tiled lossless JPEG: refused by name before anything looks
    // for the strips it does not have.
    if compression == COMPRESSION_JPEG
        || find(&raster, TILE_OFFSETS).is_some()
        || matches!(
            file_type,
            Some(RAW_FILE_TYPE_LOSSLESS | RAW_FILE_TYPE_LOSSLESS_2)
        )
    {
        return Err(ArwError::Unsupported(format!(
            "lossless compressed ARW (ARW 4: Compression {compression}, tiles, \
             SonyRawFileType {})",
            file_type.map_or("absent".to_string(), |t| t.to_string())
        )));
    }
    if file_type == Some(RAW_FILE_TYPE_COMPRESSED_2) {
        return Err(ArwError::Unsupported(
            "Sony Compressed RAW 2 (SonyRawFileType 6)".into(),
        ));
    }
    let raw_width = get(IMAGE_WIDTH, "width")?;
    let raw_height = get(IMAGE_LENGTH, "height")?;
    if raw_width == 0
        || raw_height == 0
        || raw_width > MAX_SIDE
        || raw_height > MAX_SIDE
        || u64::from(raw_width) * u64::from(raw_height) > MAX_PIXELS
    {
        return Err(ArwError::TooLarge {
            width: raw_width,
            height: raw_height,
        });
    }
    let bits = get(BITS_PER_SAMPLE, "BitsPerSample")?;
    let offsets = tiff.uints(find(&raster, STRIP_OFFSETS).ok_or(ArwError::NoRaster)?, 2)?;
    let counts = match find(&raster, STRIP_BYTE_COUNTS) {
        Some(e) => tiff.uints(e, 2)?,
        None => Vec::new(),
    };
    if offsets.len() != 1 || counts.len() > 1 {
        return Err(ArwError::Unsupported(
            "a raster in several strips (Sony writes one)".into(),
        ));
    }
    let pixels = u64::from(raw_width) * u64::from(raw_height);
    let count = counts.first().map(|&c| u64::from(c));
    let kind = raster_kind(compression, count, pixels, file_type)?;
    let need = match kind {
        RawKind::Uncompressed => {
            if !(9..=16).contains(&bits) {
                return Err(ArwError::Unsupported(format!(
                    "uncompressed samples of {bits} bits (16-bit words of 9 to 16 bits are read)"
                )));
            }
            pixels * 2
        }
        RawKind::Compressed => {
            if raw_width % 32 != 0 {
                return Err(ArwError::Invalid(format!(
                    "a compressed raster {raw_width} pixels wide (rows are runs of 32)"
                )));
            }
            pixels
        }
    };
    let start = u64::from(offsets.first().copied().unwrap_or(0));
    if let Some(count) = count {
        if count < need {
            return Err(ArwError::Invalid(format!(
                "the raster's strip holds {count} bytes; {need} are needed"
            )));
        }
    }
    let end = start + need;
    if end > bytes.len() as u64 {
        return Err(ArwError::Truncated("raster"));
    }
    let raster_range = start as usize..end as usize;

    let cfa = cfa_pattern(&tiff, &raster)?;
    let active = active_area(&tiff, &raster, raw_width, raw_height)?;
    let tone_curve = match find(&raster, SONY_TONE_CURVE) {
        Some(e) if kind == RawKind::Compressed => {
            let v = tiff.uints(e, 4)?;
            let mut k = [0u16; 4];
            for (k, v) in k.iter_mut().zip(&v) {
                *k = (*v).min(u32::from(u16::MAX)) as u16;
            }
            Some(k)
        }
        _ => None,
    };
    let levels = match find(&ifd0, DNG_PRIVATE_DATA) {
        Some(e) => sr2_levels(&tiff, e),
        None => Err(ArwError::Sr2(
            "the file has no SR2 private data (IFD0 has no DNGPrivateData, 0xC634)".into(),
        )),
    };
    Ok(ArwInfo {
        make,
        model,
        kind,
        bits_per_sample: bits as u16,
        raw_width,
        raw_height,
        active,
        cfa: cfa.shifted(active.x, active.y),
        levels,
        preview,
        preview_problem,
        raster: raster_range,
        tone_curve,
    })
}

/// How the raster is stored, from its Compression, its strip's size and `SonyRawFileType`,
/// which must agree. Sony's Compression 32767 is followed by uncompressed rasters too, told
/// apart by their size: one byte a pixel (up to two, for a padded strip) is the compressed
/// raster, two or more the uncompressed one.
fn raster_kind(
    compression: u32,
    count: Option<u64>,
    pixels: u64,
    file_type: Option<u32>,
) -> Result<RawKind, ArwError> {
    let by_type = match file_type {
        Some(RAW_FILE_TYPE_UNCOMPRESSED_14 | RAW_FILE_TYPE_UNCOMPRESSED_12) => {
            Some(RawKind::Uncompressed)
        }
        Some(RAW_FILE_TYPE_COMPRESSED) => Some(RawKind::Compressed),
        // A value ExifTool does not list: nothing to check against.
        _ => None,
    };
    let kind = match (compression, count) {
        (COMPRESSION_NONE, _) => RawKind::Uncompressed,
        // A strip may be padded beyond its raster (no source says Sony never pads): two bytes
        // a pixel or more is the uncompressed raster, one byte a pixel up to two the
        // compressed one.
        (COMPRESSION_SONY, Some(c)) if c >= 2 * pixels => RawKind::Uncompressed,
        (COMPRESSION_SONY, Some(c)) if c >= pixels => RawKind::Compressed,
        (COMPRESSION_SONY, Some(c)) => {
            return Err(ArwError::Invalid(format!(
                "a Sony raster of {pixels} pixels in a strip of {c} bytes (one byte a pixel \
                 is compressed, two uncompressed)"
            )));
        }
        (COMPRESSION_SONY, None) => by_type.unwrap_or(RawKind::Compressed),
        (other, _) => return Err(ArwError::Unsupported(format!("compression {other}"))),
    };
    match (by_type, file_type) {
        (Some(said), Some(t)) if said != kind => Err(ArwError::Invalid(format!(
            "the raster is stored {} (Compression {compression}, {} bytes), but \
             SonyRawFileType {t} says {}",
            kind.name(),
            count.map_or("no byte count".to_string(), |c| c.to_string()),
            said.name()
        ))),
        _ => Ok(kind),
    }
}

/// The embedded JPEG preview's bytes, if the file has one.
pub fn preview(bytes: &[u8]) -> Result<Option<&[u8]>, ArwError> {
    let (tiff, first) = Tiff::open(bytes)?;
    let (ifd0, _) = tiff.directory(first)?;
    Ok(preview_range(&tiff, &ifd0)?.and_then(|r| bytes.get(r)))
}

/// Where IFD0 says the embedded preview lies, from the file's first bytes alone (its head: the
/// header and IFD0), whether or not `head` reaches that far; for a reader that fetches the
/// preview's range itself. `None` when IFD0 names no preview.
pub fn preview_location(head: &[u8]) -> Result<Option<Range<u64>>, ArwError> {
    let (tiff, first) = Tiff::open(head)?;
    let (ifd0, _) = tiff.directory(first)?;
    preview_place(&tiff, &ifd0)
}

fn preview_place(tiff: &Tiff<'_>, ifd0: &[Entry]) -> Result<Option<Range<u64>>, ArwError> {
    let (Some(o), Some(l)) = (find(ifd0, JPEG_OFFSET), find(ifd0, JPEG_LENGTH)) else {
        return Ok(None);
    };
    let (start, len) = (u64::from(tiff.uint(o)?), u64::from(tiff.uint(l)?));
    if len < 4 {
        return Err(ArwError::Invalid(format!(
            "a preview of {len} bytes (a JPEG has at least 4)"
        )));
    }
    Ok(Some(start..start + len))
}

fn preview_range(tiff: &Tiff<'_>, ifd0: &[Entry]) -> Result<Option<Range<usize>>, ArwError> {
    let Some(place) = preview_place(tiff, ifd0)? else {
        return Ok(None);
    };
    if place.end > tiff.bytes.len() as u64 {
        return Err(ArwError::Truncated("preview"));
    }
    let (start, end) = (place.start as usize, place.end as usize);
    // A JPEG starts with SOI (FF D8); anything else is not a preview this crate hands out.
    if tiff.bytes.get(start..start + 2) != Some(&[0xFF, 0xD8]) {
        return Err(ArwError::Invalid("the preview is not a JPEG".into()));
    }
    Ok(Some(start..end))
}

fn cfa_pattern(tiff: &Tiff<'_>, raster: &[Entry]) -> Result<CfaPattern, ArwError> {
    let Some(e) = find(raster, CFA_PATTERN) else {
        // Every Sony body is RGGB; a file without the tag is read as one.
        return Ok(CfaPattern::Rggb);
    };
    if let Some(d) = find(raster, CFA_REPEAT_PATTERN_DIM) {
        let dims = tiff.uints(d, 2)?;
        if dims != [2, 2] {
            return Err(ArwError::Unsupported(format!(
                "a CFA pattern of {dims:?} (2 × 2 is read)"
            )));
        }
    }
    let c = tiff.uints(e, 4)?;
    let colours: [u8; 4] = match c.as_slice() {
        [a, b, c, d] => [*a as u8, *b as u8, *c as u8, *d as u8],
        _ => {
            return Err(ArwError::Invalid(
                "a CFA pattern of fewer than 4 colours".into(),
            ));
        }
    };
    CfaPattern::from_colours(colours).ok_or_else(|| {
        ArwError::Unsupported(format!("CFA pattern {colours:?} (a Bayer pattern is read)"))
    })
}

fn active_area(
    tiff: &Tiff<'_>,
    raster: &[Entry],
    width: u32,
    height: u32,
) -> Result<Area, ArwError> {
    let whole = Area {
        x: 0,
        y: 0,
        width,
        height,
    };
    let (Some(o), Some(s)) = (
        find(raster, DEFAULT_CROP_ORIGIN),
        find(raster, DEFAULT_CROP_SIZE),
    ) else {
        return Ok(whole);
    };
    let (o, s) = (tiff.uints(o, 2)?, tiff.uints(s, 2)?);
    let (&[x, y], &[w, h]) = (o.as_slice(), s.as_slice()) else {
        return Err(ArwError::Invalid(
            "a crop origin or size without two values".into(),
        ));
    };
    let fits =
        |at: u32, len: u32, max: u32| len > 0 && at.checked_add(len).is_some_and(|e| e <= max);
    if !fits(x, w, width) || !fits(y, h, height) {
        return Err(ArwError::Invalid(format!(
            "an active area of {w} × {h} at ({x}, {y}) outside the {width} × {height} raster"
        )));
    }
    Ok(Area {
        x,
        y,
        width: w,
        height: h,
    })
}

/// The levels from the encrypted SR2SubIFD that DNGPrivateData leads to; every failure is an
/// [`ArwError::Sr2`] naming the step that failed.
fn sr2_levels(tiff: &Tiff<'_>, private: &Entry) -> Result<Levels, ArwError> {
    let sr2 = |why: String| ArwError::Sr2(why);
    let at = match private.field_type {
        tiff::FieldType::LONG => tiff.uint(private),
        // Sony writes the offset as four bytes of type BYTE or UNDEFINED in the file's order.
        _ if private.count == 4 => tiff.u32_at(private.value_at as u64, "SR2Private offset"),
        _ => {
            return Err(sr2(format!(
                "DNGPrivateData is {} values of type {}, not an offset",
                private.count, private.field_type.0
            )));
        }
    }
    .map_err(|e| sr2(format!("DNGPrivateData: {e}")))?;
    let (sr2_private, _) = tiff
        .directory(at)
        .map_err(|e| sr2(format!("the SR2Private directory at {at}: {e}")))?;
    let (Some(o), Some(l), Some(k)) = (
        find(&sr2_private, sr2::SR2_SUB_IFD_OFFSET),
        find(&sr2_private, sr2::SR2_SUB_IFD_LENGTH),
        find(&sr2_private, sr2::SR2_SUB_IFD_KEY),
    ) else {
        return Err(sr2(
            "the SR2Private directory lacks the SR2SubIFD's offset, length or key".into(),
        ));
    };
    let place = || -> Result<(u32, u32, u32), ArwError> {
        Ok((
            tiff.uint(o)?,
            tiff.uint(l)?,
            tiff.u32_at(k.value_at as u64, "SR2 key")?,
        ))
    };
    let (offset, length, key) = place().map_err(|e| sr2(format!("SR2Private: {e}")))?;
    if length > sr2::MAX_LENGTH {
        return Err(sr2(format!(
            "an SR2SubIFD of {length} bytes (at most {} are read)",
            sr2::MAX_LENGTH
        )));
    }
    let mut block = usize::try_from(offset)
        .ok()
        .and_then(|start| tiff.bytes.get(start..start.checked_add(length as usize)?))
        .ok_or_else(|| {
            sr2(format!(
                "the SR2SubIFD ({length} bytes at {offset}) lies outside the file"
            ))
        })?
        .to_vec();
    sr2::crypt(&mut block, key);
    // The SR2SubIFD's own offsets are file offsets: read the decrypted block where it lies.
    let inner = tiff.block(&block, u64::from(offset));
    let (entries, _) = inner.directory(offset).map_err(|e| {
        // The directory reader's own words ("a directory with 29136 entries") would describe
        // noise: what is known is that the block is not what the key should have revealed.
        let _ = e;
        sr2("the SR2SubIFD does not decrypt to a directory (a wrong key or a damaged block)".into())
    })?;
    let first = |tag, name: &str| -> Result<u16, ArwError> {
        let e = find(&entries, tag)
            .ok_or_else(|| sr2(format!("the SR2SubIFD has no {name} ({tag:#06X})")))?;
        inner
            .uints(e, 1)
            .map_err(|err| sr2(format!("the SR2SubIFD's {name}: {err}")))?
            .first()
            .map(|&v| v.min(0xFFFF) as u16)
            .ok_or_else(|| sr2(format!("the SR2SubIFD's {name} has no value")))
    };
    Ok(Levels {
        black: first(sr2::BLACK_LEVEL, "black level")?,
        white: first(sr2::WHITE_LEVEL, "white level")?,
    })
}

/// Decodes an ARW file into the samples of its active area.
pub fn decode(bytes: &[u8]) -> Result<BayerImage, ArwError> {
    let info = identify(bytes)?;
    let raster = bytes
        .get(info.raster.clone())
        .ok_or(ArwError::Truncated("raster"))?;
    let (rw, a) = (info.raw_width as usize, info.active);
    let mut samples = Vec::with_capacity(a.width as usize * a.height as usize);
    let mut row = vec![0u16; rw];
    let curve = match info.tone_curve {
        Some(k) => ToneCurve::from_knots(k),
        None => ToneCurve::identity(),
    };
    for y in a.y as usize..(a.y + a.height) as usize {
        match info.kind {
            RawKind::Uncompressed => {
                let src = raster
                    .get(y * rw * 2..(y + 1) * rw * 2)
                    .ok_or(ArwError::Truncated("raster"))?;
                for (o, b) in row.iter_mut().zip(src.chunks_exact(2)) {
                    *o = u16::from_le_bytes([
                        b.first().copied().unwrap_or(0),
                        b.get(1).copied().unwrap_or(0),
                    ]);
                }
            }
            RawKind::Compressed => {
                let src = raster
                    .get(y * rw..(y + 1) * rw)
                    .ok_or(ArwError::Truncated("raster"))?;
                arw2::decode_row(src, &mut row, &curve)?;
            }
        }
        samples.extend_from_slice(
            row.get(a.x as usize..(a.x + a.width) as usize)
                .ok_or(ArwError::Truncated("raster row"))?,
        );
    }
    Ok(BayerImage {
        width: a.width,
        height: a.height,
        samples,
        info,
    })
}

/// What an ARW to write is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArwSpec {
    /// IFD0's Make (`SONY` on real files).
    pub make: String,
    /// IFD0's Model.
    pub model: String,
    /// IFD0's ImageDescription.
    pub description: String,
    /// IFD0's Software.
    pub software: String,
    /// IFD0's DateTime, `YYYY:MM:DD hh:mm:ss`.
    pub date_time: String,
    /// How the raster is stored.
    pub kind: RawKind,
    /// Bits per sample the raster declares: 14 for an uncompressed 14-bit raster; Sony writes
    /// 12 for its compressed one.
    pub bits_per_sample: u16,
    /// The raster's width (a multiple of 32 when compressed).
    pub raw_width: u32,
    /// The raster's height.
    pub raw_height: u32,
    /// The active area.
    pub active: Area,
    /// The black level.
    pub black_level: u16,
    /// The white level.
    pub white_level: u16,
    /// White balance levels (R, G, G, B) for the SR2SubIFD.
    pub wb_rggb: [u16; 4],
    /// The tone curve of a compressed raster (tag 0x7010's four values).
    pub tone_curve: [u16; 4],
    /// The embedded preview (a JPEG).
    pub preview: Vec<u8>,
    /// Bytes after the raster, to reach a given file size (the format reads nothing there).
    pub padding: u64,
}

/// The SR2 key written: any value works; this one spells "ARW2".
const SR2_KEY: u32 = 0x4152_5732;

/// Writes an ARW: [`ArwWriter::head`] (every structure, the preview, up to the raster), then
/// the raster a row at a time with [`ArwWriter::row`], then [`ArwSpec::padding`] zero bytes.
#[derive(Clone, Debug)]
pub struct ArwWriter {
    spec: ArwSpec,
    head: Vec<u8>,
    quantizer: Option<arw2::Quantizer>,
}

impl ArwWriter {
    /// Lays the file out.
    pub fn new(spec: ArwSpec) -> Result<ArwWriter, ArwError> {
        let (w, h) = (spec.raw_width, spec.raw_height);
        if w == 0
            || h == 0
            || w > MAX_SIDE
            || h > MAX_SIDE
            || u64::from(w) * u64::from(h) > MAX_PIXELS
        {
            return Err(ArwError::TooLarge {
                width: w,
                height: h,
            });
        }
        if spec.kind == RawKind::Compressed && w % 32 != 0 {
            return Err(ArwError::Invalid(format!(
                "a compressed raster must be a multiple of 32 pixels wide, not {w}"
            )));
        }
        let a = spec.active;
        let fits =
            |at: u32, len: u32, max: u32| len > 0 && at.checked_add(len).is_some_and(|e| e <= max);
        if !fits(a.x, a.width, w) || !fits(a.y, a.height, h) {
            return Err(ArwError::Invalid(
                "the active area is outside the raster".into(),
            ));
        }
        let head = layout(&spec)?;
        let quantizer = (spec.kind == RawKind::Compressed).then(|| {
            arw2::Quantizer::new(ToneCurve::from_knots(spec.tone_curve), spec.white_level)
        });
        Ok(ArwWriter {
            spec,
            head,
            quantizer,
        })
    }

    /// Everything before the raster.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Bytes per row of the raster.
    pub fn row_len(&self) -> usize {
        match self.spec.kind {
            RawKind::Uncompressed => self.spec.raw_width as usize * 2,
            RawKind::Compressed => self.spec.raw_width as usize,
        }
    }

    /// The whole file's size.
    pub fn len(&self) -> u64 {
        self.head.len() as u64
            + self.row_len() as u64 * u64::from(self.spec.raw_height)
            + self.spec.padding
    }

    /// Never empty (a file has at least its head); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends one row of the raster (`raw_width` samples, black level included, at most the
    /// white level) to `out`. If `decoded` is given, it receives the samples a decoder will
    /// read back (compression is lossy).
    pub fn row(&self, samples: &[u16], out: &mut Vec<u8>, decoded: Option<&mut [u16]>) {
        let w = self.spec.raw_width as usize;
        let white = self.spec.white_level;
        match &self.quantizer {
            None => {
                for i in 0..w {
                    let s = samples.get(i).copied().unwrap_or(0).min(white);
                    out.extend_from_slice(&s.to_le_bytes());
                }
                if let Some(d) = decoded {
                    for (o, s) in d.iter_mut().zip(samples) {
                        *o = (*s).min(white);
                    }
                }
            }
            Some(q) => {
                if samples.len() >= w {
                    q.encode_row(samples.get(..w).unwrap_or(&[]), out, decoded);
                } else {
                    let mut padded = samples.to_vec();
                    padded.resize(w, 0);
                    q.encode_row(&padded, out, decoded);
                }
            }
        }
    }
}

/// Writes a whole ARW from `samples` (`raw_width × raw_height`, row by row).
pub fn encode(spec: ArwSpec, samples: &[u16]) -> Result<Vec<u8>, ArwError> {
    let writer = ArwWriter::new(spec)?;
    let need = writer.spec.raw_width as usize * writer.spec.raw_height as usize;
    if samples.len() != need {
        return Err(ArwError::Invalid(format!(
            "{} samples for a raster of {need}",
            samples.len()
        )));
    }
    let mut out = Vec::with_capacity(writer.len() as usize);
    out.extend_from_slice(writer.head());
    for row in samples.chunks_exact(writer.spec.raw_width as usize) {
        writer.row(row, &mut out, None);
    }
    out.resize(writer.len() as usize, 0);
    Ok(out)
}

/// The head of the file: header, IFD0, the raster's SubIFD, SR2Private, the encrypted
/// SR2SubIFD and the preview, in that order, the raster right after.
fn layout(spec: &ArwSpec) -> Result<Vec<u8>, ArwError> {
    let raster_len = match spec.kind {
        RawKind::Uncompressed => u64::from(spec.raw_width) * u64::from(spec.raw_height) * 2,
        RawKind::Compressed => u64::from(spec.raw_width) * u64::from(spec.raw_height),
    };
    let raster_len = u32::try_from(raster_len)
        .map_err(|_| ArwError::Invalid("a raster over 4 GB does not fit a TIFF".into()))?;
    let ifd0 = |sub: u32, private: u32, preview: u32| -> Vec<(u16, Field)> {
        vec![
            (NEW_SUBFILE_TYPE, Field::Long(vec![1])),
            (COMPRESSION, Field::Short(vec![6])),
            (IMAGE_DESCRIPTION, Field::Ascii(spec.description.clone())),
            (MAKE, Field::Ascii(spec.make.clone())),
            (MODEL, Field::Ascii(spec.model.clone())),
            (SOFTWARE, Field::Ascii(spec.software.clone())),
            (DATE_TIME, Field::Ascii(spec.date_time.clone())),
            (SUB_IFDS, Field::Long(vec![sub])),
            (JPEG_OFFSET, Field::Long(vec![preview])),
            (JPEG_LENGTH, Field::Long(vec![spec.preview.len() as u32])),
            (
                DNG_PRIVATE_DATA,
                Field::Byte(private.to_le_bytes().to_vec()),
            ),
        ]
    };
    let raw_ifd = |strip: u32| -> Vec<(u16, Field)> {
        let (compression, file_type) = match spec.kind {
            // Compression 1 for an uncompressed raster is unverified: no public source says
            // which value Sony's bodies write there (readers accept 1, and 32767 with two
            // bytes a pixel); LibRaw reads these files as uncompressed.
            RawKind::Uncompressed => (
                COMPRESSION_NONE,
                if spec.bits_per_sample == 12 { 1 } else { 0 },
            ),
            RawKind::Compressed => (COMPRESSION_SONY, 2),
        };
        let mut e = vec![
            (NEW_SUBFILE_TYPE, Field::Long(vec![0])),
            (IMAGE_WIDTH, Field::Long(vec![spec.raw_width])),
            (IMAGE_LENGTH, Field::Long(vec![spec.raw_height])),
            (BITS_PER_SAMPLE, Field::Short(vec![spec.bits_per_sample])),
            (COMPRESSION, Field::Short(vec![compression as u16])),
            (PHOTOMETRIC, Field::Short(vec![32803])),
            (STRIP_OFFSETS, Field::Long(vec![strip])),
            (SAMPLES_PER_PIXEL, Field::Short(vec![1])),
            (ROWS_PER_STRIP, Field::Long(vec![spec.raw_height])),
            (STRIP_BYTE_COUNTS, Field::Long(vec![raster_len])),
            (PLANAR_CONFIGURATION, Field::Short(vec![1])),
            (CFA_REPEAT_PATTERN_DIM, Field::Short(vec![2, 2])),
            (
                CFA_PATTERN,
                Field::Byte(CfaPattern::Rggb.colours().to_vec()),
            ),
            (SONY_RAW_FILE_TYPE, Field::Short(vec![file_type])),
            (
                DEFAULT_CROP_ORIGIN,
                Field::Long(vec![spec.active.x, spec.active.y]),
            ),
            (
                DEFAULT_CROP_SIZE,
                Field::Long(vec![spec.active.width, spec.active.height]),
            ),
        ];
        if spec.kind == RawKind::Compressed {
            e.push((SONY_TONE_CURVE, Field::Short(spec.tone_curve.to_vec())));
        }
        e
    };
    let private = |offset: u32, length: u32| -> Vec<(u16, Field)> {
        vec![
            (sr2::SR2_SUB_IFD_OFFSET, Field::Long(vec![offset])),
            (sr2::SR2_SUB_IFD_LENGTH, Field::Long(vec![length])),
            (
                sr2::SR2_SUB_IFD_KEY,
                Field::Undefined(SR2_KEY.to_le_bytes().to_vec()),
            ),
        ]
    };
    let sub = vec![
        (sr2::BLACK_LEVEL, Field::Short(vec![spec.black_level; 4])),
        (sr2::WB_RGGB_LEVELS, Field::Short(spec.wb_rggb.to_vec())),
        (sr2::WHITE_LEVEL, Field::Short(vec![spec.white_level; 3])),
    ];
    // Sizes do not depend on the offsets (all inline LONGs), so lay out once with zeros.
    let at_ifd0 = 8usize;
    let at_raw = at_ifd0 + tiff::directory_len(&ifd0(0, 0, 0));
    let at_private = at_raw + tiff::directory_len(&raw_ifd(0));
    let at_sub = at_private + tiff::directory_len(&private(0, 0));
    let sub_len = tiff::directory_len(&sub).next_multiple_of(4);
    let at_preview = at_sub + sub_len;
    // The raster starts on a 16-byte boundary after the preview.
    let at_raster = (at_preview + spec.preview.len()).next_multiple_of(16);
    let to32 = |v: usize| u32::try_from(v).map_err(|_| ArwError::Invalid("head over 4 GB".into()));

    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&(at_ifd0 as u32).to_le_bytes());
    out.extend(tiff::directory(
        &ifd0(to32(at_raw)?, to32(at_private)?, to32(at_preview)?),
        at_ifd0 as u32,
        0,
    ));
    out.extend(tiff::directory(
        &raw_ifd(to32(at_raster)?),
        at_raw as u32,
        0,
    ));
    out.extend(tiff::directory(
        &private(to32(at_sub)?, to32(sub_len)?),
        at_private as u32,
        0,
    ));
    let mut block = tiff::directory(&sub, at_sub as u32, 0);
    block.resize(sub_len, 0);
    sr2::crypt(&mut block, SR2_KEY);
    out.extend(block);
    debug_assert_eq!(out.len(), at_preview);
    out.extend_from_slice(&spec.preview);
    out.resize(at_raster, 0);
    Ok(out)
}

/// The width and height a JPEG declares (its first SOFn segment), for describing a preview
/// without decoding it; `None` if no frame header is found within its markers.
pub fn jpeg_dimensions(jpeg: &[u8]) -> Option<(u16, u16)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2usize;
    loop {
        let (&m0, &marker) = (jpeg.get(at)?, jpeg.get(at + 1)?);
        if m0 != 0xFF {
            return None;
        }
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]));
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([*jpeg.get(at + 5)?, *jpeg.get(at + 6)?]);
            let w = u16::from_be_bytes([*jpeg.get(at + 7)?, *jpeg.get(at + 8)?]);
            return Some((w, h));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        at = at.checked_add(2 + len)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sony_rasters_kind_follows_its_strips_size_padding_included() {
        let px = 6000 * 4000;
        let kind = |count, file_type| raster_kind(COMPRESSION_SONY, Some(count), px, file_type);
        assert_eq!(kind(px, None).ok(), Some(RawKind::Compressed));
        assert_eq!(kind(px + 4096, None).ok(), Some(RawKind::Compressed));
        assert_eq!(kind(2 * px, None).ok(), Some(RawKind::Uncompressed));
        assert_eq!(kind(2 * px + 4096, None).ok(), Some(RawKind::Uncompressed));
        // Too short for either: refused, saying why.
        assert!(matches!(kind(px - 1, None), Err(ArwError::Invalid(_))));
        // SonyRawFileType must agree with the size.
        assert_eq!(
            kind(px + 10, Some(RAW_FILE_TYPE_COMPRESSED)).ok(),
            Some(RawKind::Compressed)
        );
        assert!(matches!(
            kind(2 * px, Some(RAW_FILE_TYPE_COMPRESSED)),
            Err(ArwError::Invalid(_))
        ));
        assert!(matches!(
            kind(px, Some(RAW_FILE_TYPE_UNCOMPRESSED_14)),
            Err(ArwError::Invalid(_))
        ));
        // Compression 1 is uncompressed whatever the strip's size.
        assert_eq!(
            raster_kind(COMPRESSION_NONE, Some(px), px, None).ok(),
            Some(RawKind::Uncompressed)
        );
    }
}
