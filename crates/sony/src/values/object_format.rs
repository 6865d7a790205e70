//! Object formats as files: the extension a saved file gets, the short name hosts show, and the
//! media type a file is served with.

use sonyctl_ptp::ObjectFormatCode;

/// `(format, extension, short name)`: the PTP standard formats (PIMA 15740) and Sony's
/// (0xB101 ARW, 0xB110 HEIF, 0xB301 MPO, 0xB982 MP4; `sony-ptp.md` §5).
const FORMATS: &[(u16, &str, Option<&str>)] = &[
    (0x3801, "JPG", Some("JPEG")),
    (0x3808, "JPG", None),
    (0x3802, "TIF", None),
    (0x380D, "TIF", Some("TIFF")),
    (0x380E, "TIF", None),
    (0x3804, "BMP", None),
    (0x3807, "GIF", None),
    (0x380B, "PNG", None),
    (0x380F, "JP2", None),
    (0x3810, "JPX", None),
    (0x3008, "WAV", None),
    (0x3009, "MP3", None),
    (0x300A, "AVI", None),
    (0x300B, "MPG", None),
    (0x300D, "MOV", None),
    (0xB101, "ARW", Some("ARW")),
    (0xB110, "HIF", Some("HEIF")),
    (0xB301, "MPO", Some("MPO")),
    (0xB982, "MP4", Some("MP4")),
];

/// Other spellings of an extension that name the same format.
const ALIASES: &[(&str, &[&str])] = &[
    ("JPG", &["JPEG", "JPE"]),
    ("TIF", &["TIFF"]),
    ("HIF", &["HEIF", "HEIC"]),
    ("MPG", &["MPEG"]),
];

/// True when `extension` (any case) names files of `format`: its usual extension or another
/// spelling of it (`jpeg` for a JPEG, `tiff` for a TIFF, `heic` for a HEIF).
pub fn is_extension_of(format: ObjectFormatCode, extension: &str) -> bool {
    let Some(usual) = known_extension(format) else {
        return false;
    };
    extension.eq_ignore_ascii_case(usual)
        || ALIASES
            .iter()
            .filter(|&&(ext, _)| ext == usual)
            .flat_map(|&(_, others)| others.iter())
            .any(|other| extension.eq_ignore_ascii_case(other))
}

/// The extension given to files of a format nobody here knows.
pub const UNKNOWN_EXTENSION: &str = "BIN";

/// The usual extension for a PTP object format: JPG, ARW, HIF, MPO, MP4, TIF, …; `None` for a
/// format nobody here knows.
pub fn known_extension(format: ObjectFormatCode) -> Option<&'static str> {
    FORMATS
        .iter()
        .find(|&&(code, _, _)| code == format.0)
        .map(|&(_, ext, _)| ext)
}

/// The extension for a PTP object format; [`UNKNOWN_EXTENSION`] (BIN) for anything unknown.
pub fn format_extension(format: ObjectFormatCode) -> &'static str {
    known_extension(format).unwrap_or(UNKNOWN_EXTENSION)
}

/// The short name of the formats a Sony body sends (JPEG, ARW, HEIF, MPO, MP4, TIFF);
/// "other" for the rest.
pub fn format_label(format: ObjectFormatCode) -> &'static str {
    FORMATS
        .iter()
        .find(|&&(code, _, _)| code == format.0)
        .and_then(|&(_, _, label)| label)
        .unwrap_or("other")
}

/// `(extension, media type)` for each extension of [`FORMATS`]: what a file of that kind is
/// served as over HTTP.
const MEDIA_TYPES: &[(&str, &str)] = &[
    ("JPG", "image/jpeg"),
    ("TIF", "image/tiff"),
    ("BMP", "image/bmp"),
    ("GIF", "image/gif"),
    ("PNG", "image/png"),
    ("JP2", "image/jp2"),
    ("JPX", "image/jpx"),
    ("WAV", "audio/wav"),
    ("MP3", "audio/mpeg"),
    ("AVI", "video/x-msvideo"),
    ("MPG", "video/mpeg"),
    ("MOV", "video/quicktime"),
    ("ARW", "image/x-sony-arw"),
    ("HIF", "image/heif"),
    // A multi-picture file begins with a complete JPEG (CIPA DC-007), which is what a viewer
    // that knows no MPO shows; no media type for MPO is registered.
    ("MPO", "image/jpeg"),
    ("MP4", "video/mp4"),
];

/// The media type a file would get without a known format.
pub const UNKNOWN_MEDIA_TYPE: &str = "application/octet-stream";

/// The media type (MIME type) of files of a PTP object format: `image/jpeg`,
/// `image/x-sony-arw`, `image/heif`, `video/mp4`, …; [`UNKNOWN_MEDIA_TYPE`] for a format nobody
/// here knows.
pub fn media_type(format: ObjectFormatCode) -> &'static str {
    known_extension(format)
        .and_then(|ext| MEDIA_TYPES.iter().find(|&&(e, _)| e == ext))
        .map_or(UNKNOWN_MEDIA_TYPE, |&(_, media)| media)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_labels() {
        let e = |c| format_extension(ObjectFormatCode(c));
        assert_eq!(e(0x3801), "JPG");
        assert_eq!(e(0xB101), "ARW");
        assert_eq!(e(0xB110), "HIF");
        assert_eq!(e(0xB301), "MPO");
        assert_eq!(e(0xB982), "MP4");
        assert_eq!(e(0x380D), "TIF");
        assert_eq!(e(0x1234), "BIN");
        assert_eq!(known_extension(ObjectFormatCode(0x1234)), None);
        let l = |c| format_label(ObjectFormatCode(c));
        assert_eq!(l(0x3801), "JPEG");
        assert_eq!(l(0xB110), "HEIF");
        assert_eq!(l(0x3808), "other");
        assert_eq!(l(0x1234), "other");
    }

    #[test]
    fn media_types() {
        let m = |c| media_type(ObjectFormatCode(c));
        assert_eq!(m(0x3801), "image/jpeg");
        assert_eq!(m(0x3808), "image/jpeg");
        assert_eq!(m(0xB101), "image/x-sony-arw");
        assert_eq!(m(0xB110), "image/heif");
        assert_eq!(m(0xB982), "video/mp4");
        assert_eq!(m(0x1234), UNKNOWN_MEDIA_TYPE);
        // Every extension has one, and each media type is `type/subtype`.
        for &(_, ext, _) in FORMATS {
            let media = MEDIA_TYPES.iter().find(|&&(e, _)| e == ext);
            assert!(
                media.is_some_and(|(_, t)| t.split('/').count() == 2),
                "{ext}"
            );
        }
    }

    #[test]
    fn other_spellings_of_an_extension() {
        let jpeg = ObjectFormatCode(0x3801);
        for ext in ["JPG", "jpg", "jpeg", "JPE"] {
            assert!(is_extension_of(jpeg, ext), "{ext}");
        }
        assert!(!is_extension_of(jpeg, "ARW"));
        assert!(!is_extension_of(jpeg, "TIFF"));
        assert!(is_extension_of(ObjectFormatCode(0x380D), "tiff"));
        assert!(is_extension_of(ObjectFormatCode(0xB110), "HEIC"));
        assert!(!is_extension_of(ObjectFormatCode(0x1234), "BIN"));
        for &(usual, _) in ALIASES {
            assert!(FORMATS.iter().any(|&(_, ext, _)| ext == usual), "{usual}");
        }
    }

    #[test]
    fn each_format_once_and_every_extension_plain() {
        for (i, &(code, ext, _)) in FORMATS.iter().enumerate() {
            assert!(FORMATS.iter().skip(i + 1).all(|&(c, _, _)| c != code));
            assert!(ext.len() == 3 && ext.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
}
