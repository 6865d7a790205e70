//! FITS for a decoded frame, written as a stream (no copy of the image in memory).
//!
//! - RAW (Bayer u16): `BITPIX = 16`, `BZERO = 32768`, `BSCALE = 1`, `NAXIS = 2`, `NAXIS1` the
//!   width, `NAXIS2` the height; each sample stored as `sample − 32768`, a big-endian i16, rows
//!   top-down (`ROWORDER = 'TOP-DOWN'`); `BAYERPAT = 'RGGB'` with `XBAYROFF`/`YBAYROFF` where
//!   an RGGB reading starts in this frame.
//! - JPEG (RGB u8): `BITPIX = 8`, `NAXIS = 3`, `NAXIS3 = 3`, the R, G and B planes one after
//!   another.
//!
//! The header is 80-byte cards padded with spaces to a 2880-byte block, the data padded with
//! zeros to one (FITS Standard 4.0 §3.3, §4.1, §5.2.5). Keywords besides the mandatory ones
//! follow libindi's choice: `EXTEND`, `ROWORDER`, `INSTRUME`, `EXPTIME`, `DATE-OBS` (the UTC
//! start), `ISOSPEED` (a number; left out with a `COMMENT` saying why on ISO AUTO), `FRAME`, `IMAGETYP`, `XBINNING`/`YBINNING`, pixel sizes when known.

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use sonyctl_astro::{Frame, Pixels, Row};
use sonyctl_sony::values::Iso;

/// The FITS block size.
pub const BLOCK: usize = 2880;

/// What the header says besides the frame itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeaderInfo {
    /// `INSTRUME` (empty: the frame's model).
    pub instrument: String,
    /// `FRAME`: `Light`, `Bias`, `Dark` or `Flat`.
    pub frame_type: String,
    /// The pixel pitch in µm (`PIXSIZE1/2`, `XPIXSZ/YPIXSZ`), when known.
    pub pixel_size_um: Option<f64>,
}

/// One header card: `KEYWORD = value / comment`, 80 bytes, printable ASCII.
fn card(keyword: &str, value: &str, comment: &str) -> [u8; 80] {
    let mut c = [b' '; 80];
    let mut text = format!("{keyword:<8}= {value:>20}");
    if !comment.is_empty() {
        text.push_str(" / ");
        text.push_str(comment);
    }
    for (dst, b) in c.iter_mut().zip(text.bytes()) {
        *dst = if (0x20..0x7f).contains(&b) { b } else { b'?' };
    }
    c
}

/// A `COMMENT` card: the text in bytes 9–80, printable ASCII, cut at 72 characters.
fn comment(text: &str) -> [u8; 80] {
    let mut c = [b' '; 80];
    for (dst, b) in c
        .iter_mut()
        .zip(b"COMMENT ".iter().copied().chain(text.bytes()))
    {
        *dst = if (0x20..0x7f).contains(&b) { b } else { b'?' };
    }
    c
}

/// A string value: printable, `'` doubled, at most 68 characters between the quotes (a card's
/// value holds 70) with no doubled quote cut in two, padded to 8 as CFITSIO does.
fn string(s: &str) -> String {
    let mut clean = String::new();
    for c in s.chars() {
        let add = match c {
            '\'' => "''".to_string(),
            ' '..='~' => c.to_string(),
            _ => "?".to_string(),
        };
        if clean.len() + add.len() > 68 {
            break;
        }
        clean.push_str(&add);
    }
    format!("'{clean:<8}'")
}

/// A string card: the value starts at byte 11, left-justified.
fn string_card(keyword: &str, value: &str, comment: &str) -> [u8; 80] {
    let mut c = [b' '; 80];
    let mut text = format!("{keyword:<8}= {}", string(value));
    if !comment.is_empty() {
        text.push_str(" / ");
        text.push_str(comment);
    }
    for (dst, b) in c.iter_mut().zip(text.bytes()) {
        *dst = b;
    }
    c
}

/// A real in a form FITS readers parse (`1.0`, `0.001`, `1.5E-05`).
fn real(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        let s = format!("{v}");
        if s.contains('e') { format!("{v:E}") } else { s }
    }
}

/// `yyyy-mm-ddThh:mm:ss.sss` in UTC (FITS `DATE-OBS` has no zone letter).
pub fn utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut s = sonyctl_ptp::date::rfc3339(d.as_secs(), d.subsec_millis());
    s.pop();
    s
}

/// The header of `frame`'s subframe, padded to whole blocks.
pub fn header(frame: &Frame, info: &HeaderInfo) -> Vec<u8> {
    let s = frame.subframe;
    let rgb = matches!(frame.pixels, Pixels::Rgb(_));
    let mut cards: Vec<[u8; 80]> = vec![
        card("SIMPLE", "T", "file conforms to FITS standard"),
        card(
            "BITPIX",
            if rgb { "8" } else { "16" },
            "number of bits per data pixel",
        ),
        card("NAXIS", if rgb { "3" } else { "2" }, "number of data axes"),
        card("NAXIS1", &s.num_x.to_string(), "length of data axis 1"),
        card("NAXIS2", &s.num_y.to_string(), "length of data axis 2"),
    ];
    if rgb {
        cards.push(card("NAXIS3", "3", "length of data axis 3 (R, G, B)"));
    }
    cards.push(card("EXTEND", "T", "FITS dataset may contain extensions"));
    if !rgb {
        cards.push(card(
            "BZERO",
            "32768",
            "offset data range to that of unsigned short",
        ));
        cards.push(card("BSCALE", "1", "default scaling factor"));
    }
    cards.push(string_card("ROWORDER", "TOP-DOWN", "first row is the top"));
    let instrument = if info.instrument.is_empty() {
        &frame.model
    } else {
        &info.instrument
    };
    cards.push(string_card("INSTRUME", instrument, "CCD name"));
    cards.push(card(
        "EXPTIME",
        &real(frame.duration.as_secs_f64()),
        "total exposure time (s)",
    ));
    cards.push(string_card(
        "DATE-OBS",
        &utc(frame.started),
        "UTC start of the exposure",
    ));
    // ISOSPEED is a number; the ISO is read as the camera showed it (`800`, `MFNR 3200`,
    // `AUTO`). On AUTO the frame knows only the setting, not the sensitivity the camera chose,
    // so the keyword is left out and a comment says why.
    if let Some(text) = frame.iso.as_deref() {
        match text.parse::<Iso>().map(|iso| iso.value()) {
            Ok(Some(n)) => cards.push(card("ISOSPEED", &n.to_string(), "ISO")),
            Ok(None) => cards.push(comment(
                "ISO AUTO: the sensitivity the camera chose is not reported; no ISOSPEED",
            )),
            Err(_) => cards.push(comment(&format!("ISO {text}: not a number; no ISOSPEED"))),
        }
    }
    if !info.frame_type.is_empty() {
        cards.push(string_card("FRAME", &info.frame_type, "frame type"));
        cards.push(string_card(
            "IMAGETYP",
            &format!("{} Frame", info.frame_type),
            "frame type",
        ));
    }
    cards.push(card("XBINNING", "1", "binning factor used on X axis"));
    cards.push(card("YBINNING", "1", "binning factor used on Y axis"));
    if let Some(p) = info.pixel_size_um {
        let p = real((p * 100.0).round() / 100.0);
        cards.push(card("PIXSIZE1", &p, "pixel size (microns)"));
        cards.push(card("PIXSIZE2", &p, "pixel size (microns)"));
        cards.push(card("XPIXSZ", &p, "X binned pixel size (microns)"));
        cards.push(card("YPIXSZ", &p, "Y binned pixel size (microns)"));
    }
    if !rgb {
        cards.push(card("DATAMAX", &frame.max_adu.to_string(), "white level"));
        if let Some((x, y)) = frame
            .subframe_cfa()
            .and_then(sonyctl_astro::frame::bayer_offset)
        {
            cards.push(card("XBAYROFF", &x.to_string(), "X offset of Bayer array"));
            cards.push(card("YBAYROFF", &y.to_string(), "Y offset of Bayer array"));
            cards.push(string_card("BAYERPAT", "RGGB", "Bayer color pattern"));
        }
    }
    cards.push(card("END", "", ""));
    let mut out: Vec<u8> = cards.iter().flatten().copied().collect();
    // END has no `=`: bytes 9–80 are spaces.
    let end = out.len() - 80;
    if let Some(rest) = out.get_mut(end + 3..) {
        rest.fill(b' ');
    }
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, b' ');
    out
}

/// Bytes of the data without padding.
pub fn data_len(frame: &Frame) -> u64 {
    let s = frame.subframe;
    let per = match frame.pixels {
        Pixels::Bayer(_) => 2,
        Pixels::Rgb(_) => 3,
    };
    u64::from(s.num_x) * u64::from(s.num_y) * per
}

/// The whole file's size: the header and the data, each padded to blocks.
pub fn file_len(frame: &Frame, info: &HeaderInfo) -> u64 {
    header(frame, info).len() as u64 + data_len(frame).div_ceil(BLOCK as u64) * BLOCK as u64
}

/// Writes the FITS file of `frame`'s subframe to `w`, a row (or plane row) at a time.
pub fn write(frame: &Frame, info: &HeaderInfo, w: &mut (impl Write + ?Sized)) -> io::Result<()> {
    w.write_all(&header(frame, info))?;
    let mut buf = Vec::with_capacity(frame.subframe.num_x as usize * 2);
    match frame.pixels {
        Pixels::Bayer(_) => {
            for row in frame.rows() {
                if let Row::Bayer(samples) = row {
                    buf.clear();
                    for &v in samples {
                        buf.extend_from_slice(&(v ^ 0x8000).to_be_bytes());
                    }
                    w.write_all(&buf)?;
                }
            }
        }
        Pixels::Rgb(_) => {
            for plane in 0..3 {
                for row in frame.rows() {
                    if let Row::Rgb(bytes) = row {
                        buf.clear();
                        buf.extend(bytes.iter().skip(plane).step_by(3));
                        w.write_all(&buf)?;
                    }
                }
            }
        }
    }
    let pad = (BLOCK as u64 - data_len(frame) % BLOCK as u64) % BLOCK as u64;
    w.write_all(&vec![0u8; pad as usize])?;
    Ok(())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use std::time::Duration;

    use sonyctl_astro::Subframe;
    use sonyctl_astro::exposure::Plan;
    use sonyctl_astro::frame::ReadoutMode;
    use sonyctl_raw::CfaPattern;

    use super::*;

    fn frame(pixels: Pixels, w: u32, h: u32, sub: Subframe) -> Frame {
        Frame {
            width: w,
            height: h,
            pixels,
            subframe: sub,
            cfa: Some(CfaPattern::Rggb),
            black_level: Some(512),
            max_adu: 16383,
            started: UNIX_EPOCH + Duration::from_millis(1_796_380_587_903),
            duration: Duration::from_millis(2500),
            plan: Plan::Listed(Duration::from_millis(2500)),
            iso: Some("800".into()),
            model: "ILCE-7SM3".into(),
            path: None,
            light: true,
            readout: ReadoutMode::Raw,
        }
    }

    /// The header's cards as (keyword, value text) by an independent reading of the bytes.
    fn cards(bytes: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in bytes.chunks(80) {
            let text = std::str::from_utf8(c).unwrap();
            let key = text[..8].trim().to_string();
            if key == "END" {
                assert!(text[3..].bytes().all(|b| b == b' '));
                out.push((key, String::new()));
                break;
            }
            if key == "COMMENT" {
                out.push((key, text[8..].trim_end().to_string()));
                continue;
            }
            assert_eq!(&text[8..10], "= ", "{text}");
            let v = text[10..].split(" / ").next().unwrap().trim();
            // Trailing spaces inside a string are not significant.
            let v = match v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Some(inner) => format!("'{}'", inner.trim_end()),
                None => v.to_string(),
            };
            out.push((key, v));
        }
        out
    }

    fn value<'a>(cards: &'a [(String, String)], key: &str) -> &'a str {
        &cards.iter().find(|(k, _)| k == key).unwrap().1
    }

    #[test]
    fn a_bayer_subframe_is_big_endian_offset_by_32768_in_blocks() {
        let (w, h) = (6u32, 5u32);
        let samples: Vec<u16> = (0..w * h).map(|i| (i * 2000 % 65536) as u16).collect();
        let sub = Subframe {
            start_x: 1,
            start_y: 1,
            num_x: 4,
            num_y: 3,
        };
        let f = frame(Pixels::Bayer(samples.clone()), w, h, sub);
        let info = HeaderInfo {
            instrument: "Sony Camera".into(),
            frame_type: "Light".into(),
            pixel_size_um: Some(8.4),
        };
        let mut out = Vec::new();
        write(&f, &info, &mut out).unwrap();
        assert_eq!(out.len() % BLOCK, 0);
        assert_eq!(out.len() as u64, file_len(&f, &info));
        let c = cards(&out);
        let keys: Vec<&str> = c.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys[..5], ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2"]);
        assert_eq!(value(&c, "SIMPLE"), "T");
        assert_eq!(value(&c, "BITPIX"), "16");
        assert_eq!(value(&c, "NAXIS1"), "4");
        assert_eq!(value(&c, "NAXIS2"), "3");
        assert_eq!(value(&c, "BZERO"), "32768");
        assert_eq!(value(&c, "BSCALE"), "1");
        assert_eq!(value(&c, "ROWORDER"), "'TOP-DOWN'");
        assert_eq!(value(&c, "INSTRUME"), "'Sony Camera'");
        assert_eq!(value(&c, "EXPTIME"), "2.5");
        assert_eq!(value(&c, "ISOSPEED"), "800");
        assert_eq!(value(&c, "DATE-OBS"), "'2026-12-04T10:36:27.903'");
        assert_eq!(value(&c, "BAYERPAT"), "'RGGB'");
        // The subframe starts at (1, 1): a BGGR corner, so RGGB starts at (1, 1).
        assert_eq!(value(&c, "XBAYROFF"), "1");
        assert_eq!(value(&c, "YBAYROFF"), "1");
        assert_eq!(value(&c, "PIXSIZE1"), "8.4");
        // Padding: spaces after END, zeros after the data.
        let header_len = out.len() - BLOCK;
        assert_eq!(header_len, BLOCK);
        let data = &out[header_len..];
        for y in 0..3 {
            for x in 0..4 {
                let i = (y * 4 + x) * 2;
                let stored = i16::from_be_bytes([data[i], data[i + 1]]);
                let physical = (i32::from(stored) + 32768) as u16;
                assert_eq!(physical, samples[(y + 1) * 6 + x + 1]);
            }
        }
        assert!(data[24..].iter().all(|&b| b == 0));
        let end = out[..header_len]
            .chunks(80)
            .position(|c| c.starts_with(b"END "))
            .unwrap();
        assert!(out[(end + 1) * 80..header_len].iter().all(|&b| b == b' '));
    }

    #[test]
    fn an_rgb_frame_has_three_planes() {
        let (w, h) = (2u32, 2u32);
        let rgb: Vec<u8> = (0..12).collect();
        let mut f = frame(Pixels::Rgb(rgb), w, h, Subframe::full(w, h));
        f.cfa = None;
        f.readout = ReadoutMode::Jpeg;
        let mut out = Vec::new();
        write(&f, &HeaderInfo::default(), &mut out).unwrap();
        let c = cards(&out);
        assert_eq!(value(&c, "BITPIX"), "8");
        assert_eq!(value(&c, "NAXIS"), "3");
        assert_eq!(value(&c, "NAXIS3"), "3");
        assert_eq!(value(&c, "INSTRUME"), "'ILCE-7SM3'");
        assert!(c.iter().all(|(k, _)| k != "BZERO" && k != "BAYERPAT"));
        let data = &out[BLOCK..BLOCK + 12];
        assert_eq!(data, [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
        assert_eq!(out.len(), 2 * BLOCK);
    }

    #[test]
    fn isospeed_is_a_number_or_left_out_with_a_comment() {
        let full = Subframe::full(2, 2);
        let header_of = |iso: Option<&str>| {
            let mut f = frame(Pixels::Bayer(vec![0; 4]), 2, 2, full);
            f.iso = iso.map(str::to_string);
            cards(&header(&f, &HeaderInfo::default()))
        };
        for (shown, number) in [("800", "800"), ("MFNR 3200", "3200"), ("50 (ext)", "50")] {
            let c = header_of(Some(shown));
            assert_eq!(value(&c, "ISOSPEED"), number, "{shown}");
            assert!(c.iter().all(|(k, _)| k != "COMMENT"), "{shown}");
        }
        for shown in ["AUTO", "MFNR AUTO"] {
            let c = header_of(Some(shown));
            assert!(c.iter().all(|(k, _)| k != "ISOSPEED"), "{shown}");
            let comments: Vec<&str> = c
                .iter()
                .filter(|(k, _)| k == "COMMENT")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(comments.len(), 1, "{shown}");
            assert!(comments[0].starts_with("ISO AUTO:"), "{comments:?}");
        }
        let c = header_of(Some("soon"));
        assert!(c.iter().all(|(k, _)| k != "ISOSPEED"));
        assert!(c.iter().any(|(k, v)| k == "COMMENT" && v.contains("soon")));
        // Not read: neither.
        let c = header_of(None);
        assert!(c.iter().all(|(k, _)| k != "ISOSPEED" && k != "COMMENT"));
    }

    #[test]
    fn strings_are_quoted_and_printable() {
        assert_eq!(string("O'Neil"), "'O''Neil '");
        assert_eq!(string("a\u{1}é"), "'a??     '");
        let c = string_card("INSTRUME", &"x".repeat(200), "c");
        assert!(c.iter().all(|b| (0x20..0x7f).contains(b)));
        // Quotes doubled before the cut: the value ends with its closing quote inside the
        // card, and no doubled quote is split.
        for text in [
            "'".repeat(60),
            format!("x{}", "'".repeat(60)),
            "x".repeat(70),
        ] {
            let v = string(&text);
            assert!(v.len() <= 70, "{v}");
            let inner = &v[1..v.len() - 1];
            assert_eq!(inner.trim_end().replace("''", "").find('\''), None, "{v}");
            let c = string_card("INSTRUME", &text, "");
            assert_eq!(&c[10..10 + v.len()], v.as_bytes());
        }
        assert_eq!(real(0.001), "0.001");
        assert_eq!(real(30.0), "30.0");
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00.000");
    }
}
