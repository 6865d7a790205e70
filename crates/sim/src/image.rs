//! The files a simulated shot produces.
//!
//! - The JPEG is a real, decodable image that differs per shot: a colour field that changes with
//!   the shot number, with the model, shot number and exposure settings drawn into it, and the
//!   same text in its EXIF ImageDescription. It ends with its FF D9 marker.
//! - The RAW is a deterministic blob of realistic size: a valid little-endian TIFF header (Make,
//!   Model, ImageDescription, sensor size) followed by pseudo-random bytes generated on demand
//!   from a seed, so a 20 MB file never has to sit in memory.

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
    /// Sensor size for the RAW.
    pub sensor: (u32, u32),
    /// Approximate RAW size in bytes.
    pub raw_size: u64,
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

/// The RAW file of a shot.
pub fn raw_file(info: &ShotInfo) -> ShotFile {
    let text = format!("{} #{} {}", info.model, info.number, info.settings);
    let head = tiff_header(info, &text);
    let len = info.raw_size.max(head.len() as u64);
    ShotFile {
        format: 0xB101,
        filename: format!("DSC{:05}.ARW", info.number % 100_000),
        width: info.sensor.0,
        height: info.sensor.1,
        capture_date: info.capture_date.clone(),
        content: Content::Generated {
            head,
            len,
            seed: u64::from(info.number).wrapping_mul(0x1000_0000_0000_0001),
        },
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

fn tiff_header(info: &ShotInfo, text: &str) -> Vec<u8> {
    tiff(&[
        (0x0100, TagValue::Long(info.sensor.0)),
        (0x0101, TagValue::Long(info.sensor.1)),
        (0x010E, TagValue::Ascii(text.to_string())),
        (0x010F, TagValue::Ascii("SONY".into())),
        (0x0110, TagValue::Ascii(info.model.clone())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(n: u32) -> ShotInfo {
        ShotInfo {
            model: "ILCE-7SM3".into(),
            number: n,
            settings: "1/250 f/5.6 ISO 800".into(),
            capture_date: "20261124T120000".into(),
            sensor: (4240, 2832),
            raw_size: 12_000_000,
        }
    }

    #[test]
    fn jpeg_is_a_jpeg_that_differs_per_shot() {
        let a = jpeg_file(&info(1)).bytes();
        let b = jpeg_file(&info(2)).bytes();
        assert_ne!(a, b);
        for j in [&a, &b] {
            assert_eq!(&j[..2], &[0xFF, 0xD8]);
            assert_eq!(&j[j.len() - 2..], &[0xFF, 0xD9]);
            assert!(j.windows(4).any(|w| w == b"Exif"));
            assert!(j.windows(9).any(|w| w == b"ILCE-7SM3"));
        }
    }

    #[test]
    fn raw_reads_consistently_in_any_pieces() {
        let raw = raw_file(&info(3));
        assert_eq!(raw.size(), 12_000_000);
        let head = raw.read(0, 64);
        assert_eq!(&head[..4], b"II*\0");
        let whole = raw.read(1_000_000, 100_003);
        let mut pieces = Vec::new();
        let mut off = 1_000_000;
        for step in [1, 7, 8, 13, 99_974] {
            pieces.extend(raw.read(off, step));
            off += step;
        }
        assert_eq!(whole, pieces);
        assert_eq!(raw.read(raw.size() - 3, 100).len(), 3);
        assert!(raw.read(raw.size(), 10).is_empty());
        assert_ne!(raw_file(&info(4)).read(5000, 64), raw.read(5000, 64));
    }
}
