//! A decoded exposure, shared by the front ends without a copy.
//!
//! The saved file is decoded once into a [`Frame`] behind an `Arc`: a RAW file into the u16
//! Bayer samples of its active area (`sonyctl_raw::decode`), a JPEG into RGB bytes. The
//! subframe the exposure asked for is a view ([`Frame::subframe`]): the front ends read it in
//! Alpaca's order ([`Frame::alpaca_order`], x outer, y fastest) or row by row for FITS
//! ([`Frame::rows`], top-down), both straight from the one copy of the samples.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sonyctl_raw::CfaPattern;

use crate::error::AstroError;
use crate::exposure::Plan;

/// How an exposure is read out: the body's RAW file or its JPEG.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReadoutMode {
    /// The ARW, decoded to the Bayer samples of its active area (Alpaca SensorType 2, rank 2).
    Raw,
    /// The JPEG, decoded to 8-bit RGB (Alpaca SensorType 1, rank 3).
    Jpeg,
}

impl ReadoutMode {
    /// The name clients show (Alpaca's ReadoutModes): `RAW (RGGB)`, `JPEG (RGB)`.
    pub fn label(self) -> &'static str {
        match self {
            ReadoutMode::Raw => "RAW (RGGB)",
            ReadoutMode::Jpeg => "JPEG (RGB)",
        }
    }
}

/// A rectangle of the frame, in pixels: Alpaca's StartX, StartY, NumX, NumY.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subframe {
    /// Left column.
    pub start_x: u32,
    /// Top row.
    pub start_y: u32,
    /// Columns.
    pub num_x: u32,
    /// Rows.
    pub num_y: u32,
}

impl Subframe {
    /// The whole of a `width` × `height` frame.
    pub fn full(width: u32, height: u32) -> Subframe {
        Subframe {
            start_x: 0,
            start_y: 0,
            num_x: width,
            num_y: height,
        }
    }

    /// Checks it lies inside a `width` × `height` frame and is not empty.
    pub fn check(&self, width: u32, height: u32) -> Result<(), AstroError> {
        let fits = |start: u32, num: u32, size: u32| {
            num >= 1 && u64::from(start) + u64::from(num) <= u64::from(size)
        };
        if !fits(self.start_x, self.num_x, width) || !fits(self.start_y, self.num_y, height) {
            return Err(AstroError::InvalidValue(format!(
                "the subframe {}×{} at ({}, {}) does not lie inside the {width}×{height} frame",
                self.num_x, self.num_y, self.start_x, self.start_y
            )));
        }
        Ok(())
    }

    /// The part of it inside a `width` × `height` frame (empty when none is).
    pub fn clamped(&self, width: u32, height: u32) -> Subframe {
        let start_x = self.start_x.min(width);
        let start_y = self.start_y.min(height);
        Subframe {
            start_x,
            start_y,
            num_x: self.num_x.min(width - start_x),
            num_y: self.num_y.min(height - start_y),
        }
    }
}

/// The decoded samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// RAW: one u16 a pixel, row by row, black level included (as decoded).
    Bayer(Vec<u16>),
    /// JPEG: three bytes (R, G, B) a pixel, row by row.
    Rgb(Vec<u8>),
}

/// One row of the subframe.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Row<'a> {
    /// `num_x` samples.
    Bayer(&'a [u16]),
    /// `num_x` × 3 bytes, R G B.
    Rgb(&'a [u8]),
}

/// A decoded exposure and what is known of it. Not `Clone`: there is one copy of the
/// samples, shared behind an `Arc`.
#[derive(Debug, PartialEq)]
pub struct Frame {
    /// Width of the decoded image (the RAW active area, or the JPEG's width).
    pub width: u32,
    /// Height of the decoded image.
    pub height: u32,
    /// The samples of the whole image.
    pub pixels: Pixels,
    /// The part the exposure asked for, inside the image (what the front ends send).
    pub subframe: Subframe,
    /// The colour filter at the image's top-left pixel (RAW only).
    pub cfa: Option<CfaPattern>,
    /// The black level the file gives (RAW only, when it gives one).
    pub black_level: Option<u16>,
    /// The largest sample value: the file's white level (RAW; the body table's when the file
    /// gives none), 255 for JPEG.
    pub max_adu: u32,
    /// When the shutter opened (UTC).
    pub started: SystemTime,
    /// How long it stayed open: the listed speed used, the bulb's length, or less when it was
    /// stopped early.
    pub duration: Duration,
    /// How the exposure was made.
    pub plan: Plan,
    /// The ISO as the camera displayed it (`800`), if read.
    pub iso: Option<String>,
    /// The camera's model.
    pub model: String,
    /// Where the original file is kept (`--output`); `None` when it was deleted after decoding.
    pub path: Option<PathBuf>,
    /// Alpaca's Light flag as the client sent it (recorded only: the body has no shutter
    /// control besides its own).
    pub light: bool,
    /// RAW or JPEG.
    pub readout: ReadoutMode,
}

impl Frame {
    /// 2 for Bayer samples, 3 for RGB.
    pub fn rank(&self) -> u8 {
        match self.pixels {
            Pixels::Bayer(_) => 2,
            Pixels::Rgb(_) => 3,
        }
    }

    /// Planes a pixel: 1 (Bayer) or 3 (RGB).
    pub fn planes(&self) -> u32 {
        match self.pixels {
            Pixels::Bayer(_) => 1,
            Pixels::Rgb(_) => 3,
        }
    }

    /// Alpaca's BayerOffsetX/Y: where an RGGB reading of the image starts, counted from the
    /// image's top-left pixel (not the subframe's, as the reference says). `None` for RGB.
    pub fn bayer_offset(&self) -> Option<(u32, u32)> {
        bayer_offset(self.cfa?)
    }

    /// The colour filter at the subframe's top-left pixel (FITS `BAYERPAT` of a subframe).
    pub fn subframe_cfa(&self) -> Option<CfaPattern> {
        Some(
            self.cfa?
                .shifted(self.subframe.start_x, self.subframe.start_y),
        )
    }

    /// The sample at (`x`, `y`) of the subframe, plane `plane` (0 for Bayer; 0 R, 1 G, 2 B).
    pub fn get(&self, x: u32, y: u32, plane: u32) -> Option<u32> {
        let s = &self.subframe;
        if x >= s.num_x || y >= s.num_y || plane >= self.planes() {
            return None;
        }
        let (x, y) = ((s.start_x + x) as usize, (s.start_y + y) as usize);
        let w = self.width as usize;
        match &self.pixels {
            Pixels::Bayer(v) => v.get(y * w + x).map(|&p| u32::from(p)),
            Pixels::Rgb(v) => v
                .get((y * w + x) * 3 + plane as usize)
                .map(|&p| u32::from(p)),
        }
    }

    /// The subframe's values in Alpaca's order (`[x][y]`, then the plane: y changes fastest
    /// after the plane), read from the shared samples without a copy: NumX × NumY × planes
    /// values.
    pub fn alpaca_order(&self) -> impl Iterator<Item = u32> + '_ {
        let s = self.subframe;
        let planes = self.planes();
        (0..s.num_x).flat_map(move |x| {
            (0..s.num_y).flat_map(move |y| (0..planes).map(move |p| self.get(x, y, p).unwrap_or(0)))
        })
    }

    /// Column `x` of the subframe (Alpaca's `[x]`), y from the top, as Bayer samples; `None`
    /// for RGB or past the subframe. For writing one `[x]` at a time.
    pub fn bayer_column(&self, x: u32) -> Option<impl Iterator<Item = u16> + '_> {
        let s = self.subframe;
        let Pixels::Bayer(v) = &self.pixels else {
            return None;
        };
        if x >= s.num_x {
            return None;
        }
        let w = self.width as usize;
        let col = (s.start_x + x) as usize;
        Some(
            (s.start_y..s.start_y + s.num_y)
                .map(move |y| v.get(y as usize * w + col).copied().unwrap_or(0)),
        )
    }

    /// The subframe's rows, top-down (FITS `ROWORDER = 'TOP-DOWN'`), each a slice of the
    /// shared samples.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        let s = self.subframe;
        let w = self.width as usize;
        (s.start_y..s.start_y + s.num_y).filter_map(move |y| {
            let y = y as usize;
            let (x0, x1) = (s.start_x as usize, (s.start_x + s.num_x) as usize);
            match &self.pixels {
                Pixels::Bayer(v) => v.get(y * w + x0..y * w + x1).map(Row::Bayer),
                Pixels::Rgb(v) => v.get((y * w + x0) * 3..(y * w + x1) * 3).map(Row::Rgb),
            }
        })
    }
}

/// Where an RGGB reading starts in an image whose top-left pixel is `cfa`.
pub fn bayer_offset(cfa: CfaPattern) -> Option<(u32, u32)> {
    [(0, 0), (1, 0), (0, 1), (1, 1)]
        .into_iter()
        .find(|&(x, y)| cfa.shifted(x, y) == CfaPattern::Rggb)
}

/// What decoding a file gives, before the exposure's facts are added.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pixels: Pixels,
    pub(crate) cfa: Option<CfaPattern>,
    pub(crate) black_level: Option<u16>,
    pub(crate) white_level: Option<u16>,
}

/// Decodes a saved ARW (`mode` RAW) or JPEG file. Runs on a blocking thread: a 61-megapixel
/// ARW takes a while.
pub(crate) fn decode_file(path: &Path, mode: ReadoutMode) -> Result<Decoded, AstroError> {
    let bytes = std::fs::read(path)
        .map_err(|e| AstroError::Camera(format!("cannot read {}: {e}", path.display())))?;
    match mode {
        ReadoutMode::Raw => {
            let image = sonyctl_raw::decode(&bytes).map_err(|e| {
                AstroError::Camera(format!("cannot decode {}: {e}", path.display()))
            })?;
            drop(bytes);
            let levels = image.info.levels.as_ref().ok().copied();
            Ok(Decoded {
                width: image.width,
                height: image.height,
                cfa: Some(image.info.cfa),
                black_level: levels.map(|l| l.black),
                white_level: levels.map(|l| l.white),
                pixels: Pixels::Bayer(image.samples),
            })
        }
        ReadoutMode::Jpeg => decode_jpeg(&bytes)
            .map_err(|e| AstroError::Camera(format!("cannot decode {}: {e}", path.display()))),
    }
}

/// A JPEG as RGB bytes (greyscale spread over the three planes).
fn decode_jpeg(bytes: &[u8]) -> Result<Decoded, String> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    let data = decoder.decode().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("the JPEG has no frame header")?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data,
        jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&v| [v, v, v]).collect(),
        other => return Err(format!("JPEG pixels of {other:?} are not supported")),
    };
    if rgb.len() != width as usize * height as usize * 3 {
        return Err("the JPEG's pixels do not fill its size".into());
    }
    Ok(Decoded {
        width,
        height,
        pixels: Pixels::Rgb(rgb),
        cfa: None,
        black_level: None,
        white_level: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32, sub: Subframe) -> Frame {
        Frame {
            width,
            height,
            pixels: Pixels::Bayer((0..width * height).map(|v| v as u16).collect()),
            subframe: sub,
            cfa: Some(CfaPattern::Rggb),
            black_level: Some(512),
            max_adu: 16383,
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::from_secs(1),
            plan: Plan::Listed(Duration::from_secs(1)),
            iso: None,
            model: "X".into(),
            path: None,
            light: true,
            readout: ReadoutMode::Raw,
        }
    }

    #[test]
    fn subframes_are_checked_and_clamped() {
        assert!(Subframe::full(10, 8).check(10, 8).is_ok());
        let s = Subframe {
            start_x: 2,
            start_y: 3,
            num_x: 8,
            num_y: 5,
        };
        assert!(s.check(10, 8).is_ok());
        assert!(s.check(9, 8).is_err());
        assert!(Subframe { num_x: 0, ..s }.check(10, 8).is_err());
        assert!(
            Subframe {
                start_y: u32::MAX,
                ..s
            }
            .check(10, 8)
            .is_err()
        );
        assert_eq!(
            s.clamped(6, 4),
            Subframe {
                start_x: 2,
                start_y: 3,
                num_x: 4,
                num_y: 1
            }
        );
        assert_eq!(s.clamped(1, 1).num_x, 0);
    }

    #[test]
    fn orders_over_a_subframe() {
        let sub = Subframe {
            start_x: 1,
            start_y: 1,
            num_x: 2,
            num_y: 3,
        };
        let f = frame(4, 5, sub);
        // Pixel value = y * 4 + x of the whole image.
        let alpaca: Vec<u32> = f.alpaca_order().collect();
        assert_eq!(alpaca, [5, 9, 13, 6, 10, 14]);
        let rows: Vec<Vec<u16>> = f
            .rows()
            .map(|r| match r {
                Row::Bayer(s) => s.to_vec(),
                Row::Rgb(_) => unreachable!(),
            })
            .collect();
        assert_eq!(rows, [vec![5, 6], vec![9, 10], vec![13, 14]]);
        assert_eq!(f.bayer_column(1).unwrap().collect::<Vec<_>>(), [6, 10, 14]);
        assert!(f.bayer_column(2).is_none());
        assert_eq!(f.get(1, 2, 0), Some(14));
        assert_eq!(f.get(2, 0, 0), None);
        assert_eq!(f.rank(), 2);
        assert_eq!(f.subframe_cfa(), Some(CfaPattern::Bggr));
    }

    #[test]
    fn rgb_in_alpaca_order() {
        let mut f = frame(2, 2, Subframe::full(2, 2));
        f.pixels = Pixels::Rgb((0..12).collect());
        f.cfa = None;
        assert_eq!(f.rank(), 3);
        assert_eq!(f.bayer_offset(), None);
        let v: Vec<u32> = f.alpaca_order().collect();
        // [x][y][plane]: (0,0) (0,1) (1,0) (1,1).
        assert_eq!(v, [0, 1, 2, 6, 7, 8, 3, 4, 5, 9, 10, 11]);
        assert!(matches!(f.rows().next(), Some(Row::Rgb(r)) if r == [0, 1, 2, 3, 4, 5]));
    }

    #[test]
    fn bayer_offsets_of_every_pattern() {
        assert_eq!(bayer_offset(CfaPattern::Rggb), Some((0, 0)));
        assert_eq!(bayer_offset(CfaPattern::Grbg), Some((1, 0)));
        assert_eq!(bayer_offset(CfaPattern::Gbrg), Some((0, 1)));
        assert_eq!(bayer_offset(CfaPattern::Bggr), Some((1, 1)));
    }
}
