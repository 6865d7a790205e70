//! The files a simulated shot produces.
//!
//! - The JPEG is a real, decodable image that differs per shot: a colour field that changes with
//!   the shot number, with the model, shot number and exposure settings drawn into it, and the
//!   same text in its EXIF ImageDescription. It ends with its FF D9 marker.
//! - The RAW is a real ARW 2.3 file written by `sonyctl-raw`: the same scene as the JPEG, drawn
//!   over the body's active area as a Bayer mosaic (RGGB) between its black and white levels,
//!   with a little deterministic noise (so compressed blocks carry real deltas), the margins at
//!   the black level; the shot's JPEG is its embedded preview. Only the head (structures and
//!   preview) and the scene (640 × 424) are held: the raster's rows are made when they are read,
//!   so a 48 MB file never sits in memory, and any piece reads the same whatever the order.
//! - With a RAW size asked for (`--raw-size`), an ARW shorter than that is padded with zeros
//!   after its raster (TIFF readers ignore bytes nothing points to); a size smaller than the ARW
//!   gives the old filler instead: a TIFF header followed by pseudo-random bytes.

/// A file waiting in the camera's buffer. Its bytes are read in pieces with [`ShotFile::read`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShotFile {
    /// PTP object format (0x3801 JPEG, 0xB101 ARW).
    pub format: u16,
    /// File name as the camera reports it.
    pub filename: String,
    /// Pixel size of the image.
    pub width: u32,
    /// Pixel size of the image.
    pub height: u32,
    /// Capture date, `YYYYMMDDThhmmss`.
    pub capture_date: String,
    content: Content,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Content {
    Bytes(Vec<u8>),
    /// A real ARW whose raster is made as it is read.
    Arw(std::sync::Arc<ArwSource>),
    /// `head`, then `len - head.len()` bytes of a SplitMix64 stream from `seed`.
    Generated {
        head: Vec<u8>,
        len: u64,
        seed: u64,
    },
}

impl ShotFile {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        match &self.content {
            Content::Bytes(b) => b.len() as u64,
            Content::Arw(a) => a.writer.len(),
            Content::Generated { len, .. } => *len,
        }
    }

    /// Up to `max` bytes from `offset` (fewer at the end).
    pub fn read(&self, offset: u64, max: u64) -> Vec<u8> {
        let end = self.size().min(offset.saturating_add(max));
        if offset >= end {
            return Vec::new();
        }
        match &self.content {
            Content::Bytes(b) => b.get(offset as usize..end as usize).unwrap_or(&[]).to_vec(),
            Content::Arw(a) => a.read(offset, end),
            Content::Generated { head, seed, .. } => {
                let mut out = Vec::with_capacity((end - offset) as usize);
                let mut pos = offset;
                while pos < end && (pos as usize) < head.len() {
                    out.push(head.get(pos as usize).copied().unwrap_or(0));
                    pos += 1;
                }
                // The filler is a stream of 8-byte words: word i is splitmix(seed + i).
                // A partial first word, then whole words in place, then a partial last word.
                while pos < end && pos % 8 != 0 {
                    let word = splitmix(seed.wrapping_add(pos / 8)).to_le_bytes();
                    out.push(word.get((pos % 8) as usize).copied().unwrap_or(0));
                    pos += 1;
                }
                let whole = ((end - pos) / 8) as usize;
                let at = out.len();
                out.resize(at + whole * 8, 0);
                let first = pos / 8;
                if let Some(area) = out.get_mut(at..) {
                    for (i, chunk) in area.chunks_exact_mut(8).enumerate() {
                        chunk.copy_from_slice(
                            &splitmix(seed.wrapping_add(first + i as u64)).to_le_bytes(),
                        );
                    }
                }
                pos += whole as u64 * 8;
                while pos < end {
                    let word = splitmix(seed.wrapping_add(pos / 8)).to_le_bytes();
                    out.push(word.get((pos % 8) as usize).copied().unwrap_or(0));
                    pos += 1;
                }
                out
            }
        }
    }

    /// The whole file (for small files and tests).
    pub fn bytes(&self) -> Vec<u8> {
        self.read(0, self.size())
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a shot records: who took it and with which settings, for the pixels and the metadata.
#[derive(Clone, Debug)]
pub struct ShotInfo {
    /// Camera model string.
    pub model: String,
    /// 1-based shot number since power-on.
    pub number: u32,
    /// Exposure settings as text, e.g. `1/250 f/5.6 ISO 800`.
    pub settings: String,
    /// `YYYYMMDDThhmmss`.
    pub capture_date: String,
    /// The RAW file's size asked for (`--raw-size`); `None` for the ARW's own size.
    pub raw_size: Option<u64>,
}

/// JPEG size drawn (a small preview-sized image keeps tests and memory light).
pub const JPEG_WIDTH: u32 = 640;
/// JPEG size drawn.
pub const JPEG_HEIGHT: u32 = 424;

/// The JPEG file of a shot.
pub fn jpeg_file(info: &ShotInfo) -> ShotFile {
    let text = format!("{} #{} {}", info.model, info.number, info.settings);
    let pixels = render(JPEG_WIDTH, JPEG_HEIGHT, info.number, &text);
    let bytes = encode_jpeg(&pixels, JPEG_WIDTH, JPEG_HEIGHT, &exif(info, &text));
    ShotFile {
        format: 0x3801,
        filename: format!("DSC{:05}.JPG", info.number % 100_000),
        width: JPEG_WIDTH,
        height: JPEG_HEIGHT,
        capture_date: info.capture_date.clone(),
        content: Content::Bytes(bytes),
    }
}

/// How the RAW file of a shot is written: the body's format and the kind chosen.
#[derive(Clone, Debug)]
pub struct RawShot {
    /// The body's RAW format.
    pub format: crate::profile::RawFormat,
    /// Compressed or uncompressed.
    pub kind: sonyctl_raw::RawKind,
}

/// The RAW file of a shot: an ARW (see the module documentation), or the filler when
/// `info.raw_size` is smaller than the ARW.
pub fn raw_file(info: &ShotInfo, raw: &RawShot) -> ShotFile {
    let text = format!("{} #{} {}", info.model, info.number, info.settings);
    let name = format!("DSC{:05}.ARW", info.number % 100_000);
    let seed = u64::from(info.number).wrapping_mul(0x1000_0000_0000_0001);
    let content = match ArwSource::new(info, raw, &text, seed) {
        Some(arw) => Content::Arw(std::sync::Arc::new(arw)),
        None => {
            let head = tiff_header(
                info,
                (raw.format.active.width, raw.format.active.height),
                &text,
            );
            let len = info.raw_size.unwrap_or(0).max(head.len() as u64);
            Content::Generated { head, len, seed }
        }
    };
    ShotFile {
        format: 0xB101,
        filename: name,
        width: raw.format.active.width,
        height: raw.format.active.height,
        capture_date: info.capture_date.clone(),
        content,
    }
}

/// The samples of a shot's raster, made on demand: the JPEG's scene (`JPEG_WIDTH` ×
/// `JPEG_HEIGHT` RGB) stretched over the active area, one colour per pixel (RGGB), plus noise.
#[derive(Debug)]
pub struct ArwSource {
    writer: sonyctl_raw::ArwWriter,
    format: crate::profile::RawFormat,
    scene: Vec<u8>,
    /// Sample above black for each 8-bit scene value (an sRGB-like curve).
    linear: Vec<u16>,
    seed: u64,
}

impl PartialEq for ArwSource {
    fn eq(&self, other: &Self) -> bool {
        self.writer.head() == other.writer.head()
            && self.seed == other.seed
            && self.format == other.format
    }
}

impl Eq for ArwSource {}

/// The white balance levels (R, G, G, B) written into every RAW's SR2SubIFD: daylight-like and
/// unverified (no body's own figures were read).
pub const RAW_WB_RGGB: [u16; 4] = [2400, 1024, 1024, 1700];

/// The tone curve (tag 0x7010) of every compressed RAW: compressive, its top past the 14-bit
/// white level.
pub const RAW_TONE_CURVE: [u16; 4] = [8000, 10400, 12900, 14100];

impl ArwSource {
    /// `None` when the RAW size asked for is smaller than the ARW (or the format is unusable).
    fn new(info: &ShotInfo, raw: &RawShot, text: &str, seed: u64) -> Option<ArwSource> {
        let f = &raw.format;
        let scene = render(JPEG_WIDTH, JPEG_HEIGHT, info.number, text);
        let preview = encode_jpeg(&scene, JPEG_WIDTH, JPEG_HEIGHT, &exif(info, text));
        let mut spec = sonyctl_raw::ArwSpec {
            make: "SONY".into(),
            model: info.model.clone(),
            description: text.to_string(),
            software: format!("{} (simulated)", info.model),
            date_time: exif_date(&info.capture_date),
            kind: raw.kind,
            // Sony declares 12 bits for its compressed raster (a real ILCE-6000 file).
            bits_per_sample: match raw.kind {
                sonyctl_raw::RawKind::Compressed => 12,
                sonyctl_raw::RawKind::Uncompressed => 14,
            },
            raw_width: f.raster.0,
            raw_height: f.raster.1,
            active: f.active,
            black_level: f.black_level,
            white_level: f.white_level,
            wb_rggb: RAW_WB_RGGB,
            tone_curve: RAW_TONE_CURVE,
            preview,
            padding: 0,
        };
        let natural = sonyctl_raw::ArwWriter::new(spec.clone()).ok()?.len();
        if let Some(want) = info.raw_size {
            spec.padding = want.checked_sub(natural)?;
        }
        let writer = sonyctl_raw::ArwWriter::new(spec).ok()?;
        let span = f32::from(f.white_level.saturating_sub(f.black_level)) * 0.9;
        let linear = (0..256)
            .map(|c| ((c as f32 / 255.0).powf(2.2) * span) as u16)
            .collect();
        Some(ArwSource {
            writer,
            format: f.clone(),
            scene,
            linear,
            seed,
        })
    }

    /// Row `y` of the raster's samples.
    pub fn samples(&self, y: u32, out: &mut Vec<u16>) {
        let f = &self.format;
        let a = f.active;
        out.clear();
        let inside_y = y >= a.y && y < a.y + a.height;
        let sy = if inside_y {
            ((y - a.y) as u64 * u64::from(JPEG_HEIGHT) / u64::from(a.height)) as usize
        } else {
            0
        };
        let row_seed = splitmix(self.seed ^ u64::from(y).wrapping_mul(0x9E37_79B9));
        for x in 0..f.raster.0 {
            let noise = (splitmix(row_seed.wrapping_add(u64::from(x))) & 15) as u16;
            let base = if inside_y && x >= a.x && x < a.x + a.width {
                let sx = ((x - a.x) as u64 * u64::from(JPEG_WIDTH) / u64::from(a.width)) as usize;
                // RGGB from the raster's corner: red on even rows and columns, blue on odd.
                let channel = match (y % 2, x % 2) {
                    (0, 0) => 0,
                    (1, 1) => 2,
                    _ => 1,
                };
                let c = self
                    .scene
                    .get((sy * JPEG_WIDTH as usize + sx) * 3 + channel)
                    .copied()
                    .unwrap_or(0);
                self.linear.get(usize::from(c)).copied().unwrap_or(0)
            } else {
                0
            };
            out.push(
                f.black_level
                    .saturating_add(base)
                    .saturating_add(noise)
                    .min(f.white_level),
            );
        }
    }

    /// The file's bytes from `offset` to `end`.
    fn read(&self, offset: u64, end: u64) -> Vec<u8> {
        let head = self.writer.head();
        let mut out = Vec::with_capacity((end - offset) as usize);
        let mut pos = offset;
        if pos < head.len() as u64 {
            let stop = end.min(head.len() as u64);
            out.extend_from_slice(head.get(pos as usize..stop as usize).unwrap_or(&[]));
            pos = stop;
        }
        let row_len = self.writer.row_len() as u64;
        let raster_end = head.len() as u64 + row_len * u64::from(self.format.raster.1);
        let mut samples = Vec::with_capacity(self.format.raster.0 as usize);
        let mut row = Vec::with_capacity(row_len as usize);
        while pos < end.min(raster_end) {
            let within = pos - head.len() as u64;
            let y = within / row_len;
            self.samples(y as u32, &mut samples);
            row.clear();
            self.writer.row(&samples, &mut row, None);
            let from = (within % row_len) as usize;
            let take = (end.min(raster_end) - pos).min(row_len - from as u64) as usize;
            out.extend_from_slice(row.get(from..from + take).unwrap_or(&[]));
            pos += take as u64;
        }
        // The padding after the raster is zeros.
        out.resize((end - offset) as usize, 0);
        out
    }
}

/// A file made of given bytes (used for hostile file names and tests).
pub fn file_from_bytes(format: u16, filename: String, bytes: Vec<u8>) -> ShotFile {
    ShotFile {
        format,
        filename,
        width: 0,
        height: 0,
        capture_date: String::new(),
        content: Content::Bytes(bytes),
    }
}

/// RGB pixels: a colour field that changes per shot, with `text` drawn large in white on a band.
pub fn render(width: u32, height: u32, seed: u32, text: &str) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let mut px = vec![0u8; w * h * 3];
    let hue = (seed.wrapping_mul(47) % 360) as f32;
    for y in 0..h {
        for x in 0..w {
            let t = (x + y) as f32 / (w + h) as f32;
            let (r, g, b) = hsv((hue + t * 90.0) % 360.0, 0.55, 0.35 + 0.5 * t);
            if let Some(p) = px.get_mut((y * w + x) * 3..(y * w + x) * 3 + 3) {
                p.copy_from_slice(&[r, g, b]);
            }
        }
    }
    // A dark band for the text.
    let scale = 3usize;
    let band_top = h / 2 - 6 * scale;
    for y in band_top..(band_top + 12 * scale).min(h) {
        for x in 0..w {
            if let Some(p) = px.get_mut((y * w + x) * 3..(y * w + x) * 3 + 3) {
                for c in p.iter_mut() {
                    *c /= 4;
                }
            }
        }
    }
    draw_text(&mut px, w, h, (8, band_top + 2 * scale), scale, text);
    px
}

/// Draws `text` in white into RGB pixels `w` wide and `h` high, its top-left corner at `at`,
/// each font pixel `scale` pixels square; what falls outside is cut off.
pub(crate) fn draw_text(
    px: &mut [u8],
    w: usize,
    h: usize,
    at: (usize, usize),
    scale: usize,
    text: &str,
) {
    let mut cx = at.0;
    for ch in text.chars() {
        let glyph = glyph(ch.to_ascii_uppercase());
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = cx + col * scale + dx;
                        let y = at.1 + row * scale + dy;
                        if x < w && y < h {
                            if let Some(p) = px.get_mut((y * w + x) * 3..(y * w + x) * 3 + 3) {
                                p.copy_from_slice(&[255, 255, 255]);
                            }
                        }
                    }
                }
            }
        }
        cx += 6 * scale;
    }
}

fn hsv(h: f32, s: f32, v: f32) -> (u8, u8, u8) {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let to = |f: f32| ((f + m) * 255.0).clamp(0.0, 255.0) as u8;
    (to(r), to(g), to(b))
}

/// A 5×7 bitmap font for the characters the captions use; anything else is blank.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        '"' => [0x0A, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00],
        _ => [0; 7],
    }
}

fn encode_jpeg(pixels: &[u8], width: u32, height: u32, exif: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
    // APP1 with the EXIF block; a segment of a few hundred bytes always fits.
    let _ = encoder.add_app_segment(1, exif.to_vec());
    // Width and height are at most 640×424 and the buffer matches them, so this cannot fail.
    let _ = encoder.encode(
        pixels,
        width as u16,
        height as u16,
        jpeg_encoder::ColorType::Rgb,
    );
    out
}

/// A little-endian TIFF structure with one IFD of ASCII and LONG tags.
fn tiff(entries: &[(u16, TagValue)]) -> Vec<u8> {
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let n = entries.len();
    let ifd_len = 2 + n * 12 + 4;
    let mut data = Vec::new();
    let data_start = 8 + ifd_len;
    out.extend_from_slice(&(n as u16).to_le_bytes());
    for (tag, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        match value {
            TagValue::Ascii(s) => {
                let mut bytes = s.as_bytes().to_vec();
                bytes.push(0);
                out.extend_from_slice(&2u16.to_le_bytes());
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                if bytes.len() <= 4 {
                    bytes.resize(4, 0);
                    out.extend_from_slice(&bytes);
                } else {
                    out.extend_from_slice(&((data_start + data.len()) as u32).to_le_bytes());
                    data.extend_from_slice(&bytes);
                    if data.len() % 2 == 1 {
                        data.push(0);
                    }
                }
            }
            TagValue::Long(v) => {
                out.extend_from_slice(&4u16.to_le_bytes());
                out.extend_from_slice(&1u32.to_le_bytes());
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

enum TagValue {
    Ascii(String),
    Long(u32),
}

fn exif(info: &ShotInfo, text: &str) -> Vec<u8> {
    let mut out = b"Exif\0\0".to_vec();
    out.extend_from_slice(&tiff(&[
        (0x010E, TagValue::Ascii(text.to_string())),
        (0x010F, TagValue::Ascii("Sony".into())),
        (0x0110, TagValue::Ascii(info.model.clone())),
        (0x0132, TagValue::Ascii(exif_date(&info.capture_date))),
    ]));
    out
}

fn exif_date(ptp: &str) -> String {
    // YYYYMMDDThhmmss → YYYY:MM:DD hh:mm:ss
    let d: Vec<char> = ptp.chars().collect();
    if d.len() < 15 {
        return String::new();
    }
    let s = |a: usize, b: usize| {
        d.get(a..b)
            .map(|c| c.iter().collect::<String>())
            .unwrap_or_default()
    };
    format!(
        "{}:{}:{} {}:{}:{}",
        s(0, 4),
        s(4, 6),
        s(6, 8),
        s(9, 11),
        s(11, 13),
        s(13, 15)
    )
}

fn tiff_header(info: &ShotInfo, size: (u32, u32), text: &str) -> Vec<u8> {
    tiff(&[
        (0x0100, TagValue::Long(size.0)),
        (0x0101, TagValue::Long(size.1)),
        (0x010E, TagValue::Ascii(text.to_string())),
        (0x010F, TagValue::Ascii("SONY".into())),
        (0x0110, TagValue::Ascii(info.model.clone())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn info(n: u32, raw_size: Option<u64>) -> ShotInfo {
        ShotInfo {
            model: "ILCE-7SM3".into(),
            number: n,
            settings: "1/250 f/5.6 ISO 800".into(),
            capture_date: "20261124T120000".into(),
            raw_size,
        }
    }

    fn shot(kind: sonyctl_raw::RawKind) -> RawShot {
        RawShot {
            format: Profile::builtin("ilce-7sm3").expect("built in").raw,
            kind,
        }
    }

    #[test]
    fn jpeg_is_a_jpeg_that_differs_per_shot() {
        let a = jpeg_file(&info(1, None)).bytes();
        let b = jpeg_file(&info(2, None)).bytes();
        assert_ne!(a, b);
        for j in [&a, &b] {
            assert_eq!(&j[..2], &[0xFF, 0xD8]);
            assert_eq!(&j[j.len() - 2..], &[0xFF, 0xD9]);
            assert!(j.windows(4).any(|w| w == b"Exif"));
            assert!(j.windows(9).any(|w| w == b"ILCE-7SM3"));
        }
    }

    #[test]
    fn raw_is_an_arw_that_reads_the_same_in_any_pieces() {
        let raw = raw_file(&info(3, None), &shot(sonyctl_raw::RawKind::Compressed));
        let whole = raw.bytes();
        assert_eq!(whole.len() as u64, raw.size());
        let image = sonyctl_raw::decode(&whole).expect("an ARW");
        assert_eq!((image.width, image.height), (4240, 2832));
        assert_eq!(image.info.model, "ILCE-7SM3");
        let mut pieces = Vec::new();
        let mut off = 0;
        for step in [1, 7, 8, 13, 99_974, 4255, 4257, 1 << 20] {
            pieces.extend(raw.read(off, step));
            off += step;
        }
        pieces.extend(raw.read(off, raw.size()));
        assert_eq!(pieces, whole);
        assert!(raw.read(raw.size(), 10).is_empty());
        let other = raw_file(&info(4, None), &shot(sonyctl_raw::RawKind::Compressed));
        assert_ne!(other.read(100_000, 64), raw.read(100_000, 64));
    }

    #[test]
    fn the_raw_preview_is_the_shots_jpeg_and_the_mosaic_its_scene() {
        let n = 5;
        let raw = raw_file(&info(n, None), &shot(sonyctl_raw::RawKind::Uncompressed)).bytes();
        let preview = sonyctl_raw::preview(&raw)
            .expect("reads")
            .expect("a preview");
        assert_eq!(preview, jpeg_file(&info(n, None)).bytes().as_slice());
        let image = sonyctl_raw::decode(&raw).expect("an ARW");
        assert_eq!(image.info.kind, sonyctl_raw::RawKind::Uncompressed);
        // The caption band is white text on a dark band: its brightest green samples are near
        // white, its darkest near black, as in the JPEG.
        let text = format!("ILCE-7SM3 #{n} 1/250 f/5.6 ISO 800");
        let scene = render(JPEG_WIDTH, JPEG_HEIGHT, n, &text);
        let (sx, sy) = (100usize, 212usize);
        let g = scene[(sy * JPEG_WIDTH as usize + sx) * 3 + 1];
        let x = (sx as u32 * 4240).div_ceil(JPEG_WIDTH) | 1;
        let y = (sy as u32 * 2832).div_ceil(JPEG_HEIGHT) & !1;
        let s = image.get(x, y).expect("inside");
        let expect = 512 + ((f32::from(g) / 255.0).powf(2.2) * (16383.0 - 512.0) * 0.9) as u16;
        assert!(
            (i32::from(s) - i32::from(expect)).abs() <= 16,
            "{s} vs {expect}"
        );
    }

    #[test]
    fn a_raw_size_above_the_arw_pads_it_and_below_it_gives_the_filler() {
        let natural = raw_file(&info(3, None), &shot(sonyctl_raw::RawKind::Compressed)).size();
        let padded = raw_file(
            &info(3, Some(natural + 1000)),
            &shot(sonyctl_raw::RawKind::Compressed),
        );
        assert_eq!(padded.size(), natural + 1000);
        let bytes = padded.bytes();
        assert!(sonyctl_raw::decode(&bytes).is_ok());
        assert!(bytes[natural as usize..].iter().all(|&b| b == 0));
        let small = raw_file(
            &info(3, Some(300_000)),
            &shot(sonyctl_raw::RawKind::Compressed),
        );
        assert_eq!(small.size(), 300_000);
        let head = small.read(0, 64);
        assert_eq!(&head[..4], b"II*\0");
        assert!(sonyctl_raw::decode(&small.bytes()).is_err());
    }
}
