//! Making untrusted names safe: camera file names, models and template results become single
//! normal path components.

use super::template::is_single_normal;

/// Longest sanitized camera file name, in bytes.
pub(super) const MAX_NAME: usize = 200;
/// Longest sanitized model string, in bytes.
pub(super) const MAX_MODEL: usize = 64;
/// Longest path component produced by a template, in bytes; leaves room for a collision
/// suffix (`-9999`) and `.size-mismatch` under the usual 255-byte limit.
pub(super) const MAX_COMPONENT: usize = 230;

/// Splits `name` at its last dot into a non-empty stem and a non-empty extension.
pub(super) fn split_extension(name: &str) -> Option<(&str, &str)> {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Some((stem, ext)),
        _ => None,
    }
}

/// 1 to 5 ASCII letters and digits.
pub(super) fn is_plain_extension(ext: &str) -> bool {
    (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A template component after substitution, made a single safe path component.
pub(super) fn safe_component(text: String, seq: &str) -> String {
    let mut text = truncate_keeping_extension(text, MAX_COMPONENT);
    if text.is_empty() {
        text = seq.to_owned();
    }
    if text.chars().all(|c| c == '.') {
        text = "_".to_owned();
    }
    if is_reserved_device(&text) {
        text.insert(0, '_');
    }
    if is_single_normal(&text) {
        text
    } else {
        // Unreachable with sanitized values and a checked template; stay safe anyway.
        let cleaned: String = text
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || is_unwanted_char(c) {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        if is_single_normal(&cleaned) {
            cleaned
        } else {
            seq.to_owned()
        }
    }
}

/// Control characters (C0, DEL, C1) and Unicode direction overrides (which make names
/// display differently from what they are).
pub(super) fn is_unwanted_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also with superscript digits,
/// CONIN$, CONOUT$), whatever the extension, in any case.
pub(super) fn is_reserved_device(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = base.to_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let rest = upper
                .strip_prefix("COM")
                .or_else(|| upper.strip_prefix("LPT"));
            matches!(rest, Some(d) if d.len() <= 2 && d.chars().count() == 1
                && matches!(d.chars().next(), Some('0'..='9' | '¹' | '²' | '³')))
        }
    }
}

/// Truncates `name` to at most `max` bytes at a char boundary, keeping a short extension.
pub(super) fn truncate_keeping_extension(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let (stem, ext) = match split_extension(&name) {
        Some((stem, ext)) if ext.len() <= 16 => (stem, Some(ext)),
        _ => (name.as_str(), None),
    };
    let budget = max.saturating_sub(ext.map_or(0, |e| e.len() + 1));
    let mut end = budget.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    let stem = stem.get(..end).unwrap_or("").trim_end_matches(is_trimmed);
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_owned(),
    }
}

/// Dots and white space are trimmed at both ends of names.
pub(super) fn is_trimmed(c: char) -> bool {
    c == '.' || c.is_whitespace()
}

/// The cleaning shared by file names and models: no control characters, Windows-invalid
/// characters replaced, no leading or trailing dots or spaces, no device names, at most `max`
/// bytes.
pub(super) fn clean(name: &str, max: usize) -> Option<String> {
    let replaced: String = name
        .chars()
        .filter(|&c| !is_unwanted_char(c))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' | '/' | '\\' => '_',
            c => c,
        })
        .collect();
    let trimmed = replaced.trim_matches(is_trimmed);
    if trimmed.is_empty() {
        return None;
    }
    let reserved = is_reserved_device(trimmed);
    let budget = if reserved { max.saturating_sub(1) } else { max };
    let mut out = truncate_keeping_extension(trimmed.to_owned(), budget);
    if out.is_empty() {
        return None;
    }
    if reserved {
        out.insert(0, '_');
    }
    Some(out)
}

/// A camera file name made safe: last path component only (split on `/` and `\`), control
/// characters (including NUL, ESC, DEL, C1) and Unicode direction overrides removed, characters
/// invalid on Windows (`<>:"|?*`) replaced by `_`, leading dots and spaces removed (so no `..`,
/// no hidden files), trailing dots and spaces removed, Windows device names (CON, PRN, AUX, NUL,
/// COM1-9, LPT1-9, with any extension, in any case) prefixed with `_`, at most 200 bytes (the
/// stem truncated at a char boundary, the extension kept). `None` if nothing is left.
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    clean(last, MAX_NAME)
}

/// The model for `{model}`: separators replaced, cleaned like a file name, "camera" if empty.
pub(super) fn sanitize_model(model: &str) -> String {
    clean(model, MAX_MODEL).unwrap_or_else(|| "camera".to_owned())
}

/// `name` ending with the extension of `format`: kept if its own extension already is that
/// (compared case-insensitively: `DSC0001.jpg` stays), else the format's is appended
/// (`passwd` → `passwd.JPG`, `x.ARW` holding a JPEG → `x.ARW.JPG`), so a file's name never
/// claims another format than its content. Names of formats nobody here knows stay as they are.
pub(super) fn with_format_extension(name: String, format: u16) -> String {
    let format = sonyctl_ptp::ObjectFormatCode(format);
    let Some(ext) = sonyctl_sony::values::known_extension(format) else {
        return name;
    };
    match split_extension(&name) {
        Some((_, own)) if sonyctl_sony::values::is_extension_of(format, own) => name,
        _ => format!("{name}.{ext}"),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_controls_and_windows_characters() {
        assert_eq!(
            sanitize_file_name("DSC\u{1b}[2J0\u{0}0\u{7f}1\u{9b}.JPG").as_deref(),
            Some("DSC[2J001.JPG")
        );
        assert_eq!(
            sanitize_file_name("a<b>c:d\"e|f?g*h.JPG").as_deref(),
            Some("a_b_c_d_e_f_g_h.JPG")
        );
        assert_eq!(sanitize_file_name(". .x.JPG. . ").as_deref(), Some("x.JPG"));
        assert_eq!(
            sanitize_file_name("a\u{202E}GPJ.exe").as_deref(),
            Some("aGPJ.exe")
        );
        assert_eq!(sanitize_file_name(".."), None);
        assert_eq!(sanitize_file_name("."), None);
        assert_eq!(sanitize_file_name(""), None);
        assert_eq!(sanitize_file_name("dir/"), None);
        assert_eq!(sanitize_file_name("\u{0}\u{1b}"), None);
        assert_eq!(
            sanitize_file_name("DSC00001.JPG").as_deref(),
            Some("DSC00001.JPG")
        );
        assert_eq!(
            sanitize_file_name("my photo.jpg").as_deref(),
            Some("my photo.jpg")
        );
    }

    #[test]
    fn sanitize_prefixes_device_names() {
        for (name, expected) in [
            ("COM1.JPG", "_COM1.JPG"),
            ("con", "_con"),
            ("Lpt9.txt", "_Lpt9.txt"),
            ("nul.tar.gz", "_nul.tar.gz"),
            ("AUX .JPG", "_AUX .JPG"),
            ("prn", "_prn"),
        ] {
            assert_eq!(
                sanitize_file_name(name).as_deref(),
                Some(expected),
                "{name}"
            );
        }
        for name in ["CONSOLE.JPG", "COM10.JPG", "LPT.JPG", "XCON.JPG"] {
            assert_eq!(sanitize_file_name(name).as_deref(), Some(name));
        }
    }

    #[test]
    fn sanitize_truncates_keeping_the_extension() {
        let long = format!("{}.JPG", "A".repeat(1000));
        let s = sanitize_file_name(&long).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.ends_with(".JPG"));
        assert!(s.starts_with("AAAA"));

        let wide = format!("{}.JPG", "é".repeat(500));
        let s = sanitize_file_name(&wide).unwrap();
        assert!(s.len() <= 200);
        assert!(s.ends_with(".JPG"));
        assert!(s.starts_with('é'));

        let long_ext = format!("a.{}", "b".repeat(500));
        let s = sanitize_file_name(&long_ext).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.starts_with("a.bbb"));

        let reserved = format!("CON.{}.JPG", "x".repeat(500));
        let s = sanitize_file_name(&reserved).unwrap();
        assert!(s.len() <= 200);
        assert!(s.starts_with("_CON.xxx") && s.ends_with(".JPG"));
    }

    #[test]
    fn names_end_with_the_extension_of_their_format() {
        let jpeg = 0x3801;
        for (name, format, expected) in [
            ("passwd", jpeg, "passwd.JPG"),
            ("x.ARW", jpeg, "x.ARW.JPG"),
            ("DSC0001.JPG", jpeg, "DSC0001.JPG"),
            ("DSC0001.jpg", jpeg, "DSC0001.jpg"),
            ("x.jpeg", jpeg, "x.jpeg"),
            ("scan.tiff", 0x380D, "scan.tiff"),
            ("x.jpeg", 0xB101, "x.jpeg.ARW"),
            ("DSC0001.ARW", 0xB101, "DSC0001.ARW"),
            ("DSC0001.JPG", 0xB101, "DSC0001.JPG.ARW"),
            ("clip.mp4", 0xB982, "clip.mp4"),
            ("a.", jpeg, "a..JPG"),
            ("mystery.dat", 0x1234, "mystery.dat"),
            ("mystery", 0x1234, "mystery"),
        ] {
            assert_eq!(
                with_format_extension(name.to_owned(), format),
                expected,
                "{name}"
            );
        }
    }
}
