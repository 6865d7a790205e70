//! Parsing: what a user typed into the wire value, using the camera's descriptor when given.

use sonyctl_ptp::{DataType, PropertyCode, Value};

use super::labels::*;
use super::{ParseError, ValueKind, format_value, value_kind};
use crate::prop_info::SonyDevicePropDesc;

/// Lower case without white space, underscores, or hyphens between letters, so
/// `"Fluorescent  Warm-White"` and `"fluorescent warm white"` compare equal but `-0.3` keeps its sign.
pub(super) fn normalise(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        // A hyphen between letters is spelling ("AF-S", "Self-timer"); elsewhere it is a sign.
        let between_letters = c == '-'
            && i > 0
            && chars.get(i - 1).is_some_and(|p| p.is_alphabetic())
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        // A dot is punctuation in labels ("Cont. Hi") but a decimal point between digits.
        let dot_in_text = c == '.'
            && !(i > 0
                && chars.get(i - 1).is_some_and(char::is_ascii_digit)
                && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if c.is_whitespace() || c == '_' || between_letters || dot_in_text {
            continue;
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

pub(super) fn invalid(text: &str, what: &'static str) -> ParseError {
    ParseError::Invalid {
        text: text.to_string(),
        what,
    }
}

/// Parses `0x1A2B` or a decimal (possibly negative) integer.
pub(super) fn parse_integer(text: &str) -> Option<i128> {
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i128::from_str_radix(h, 16).ok();
    }
    t.parse::<i128>().ok()
}

/// Parses a decimal number or a fraction `a/b` into `(numerator, denominator)` in lowest terms.
pub(super) fn parse_rational(text: &str) -> Option<(u64, u64)> {
    let t = text.trim();
    if let Some((a, b)) = t.split_once('/') {
        let (a, b) = (a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?);
        if b == 0 {
            return None;
        }
        return Some(reduce(a, b));
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if frac.len() > 6 || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let den = 10u64.pow(frac.len() as u32);
    Some(reduce(int.checked_mul(den)?.checked_add(frac_v)?, den))
}

pub(super) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

pub(super) fn reduce(a: u64, b: u64) -> (u64, u64) {
    let g = gcd(a, b).max(1);
    (a / g, b / g)
}

/// Parses a signed decimal (`+0.7`, `-1`, `1/3`, `-2/3`) into thousandths.
pub(super) fn parse_thousandths(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (n, d) = parse_rational(body)?;
    let v = i64::try_from(n.checked_mul(1000)? / d).ok()?;
    Some(if neg { -v } else { v })
}

pub(super) fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> &'a str {
    let t = s.trim_end();
    if t.len() >= suffix.len() && t.is_char_boundary(t.len() - suffix.len()) {
        let (head, tail) = t.split_at(t.len() - suffix.len());
        if tail.eq_ignore_ascii_case(suffix) {
            return head.trim_end();
        }
    }
    t
}

pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> &'a str {
    let t = s.trim_start();
    match t.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => {
            t.get(prefix.len()..).unwrap_or("").trim_start()
        }
        _ => t,
    }
}

/// Picks the value from the descriptor's lists that `matches`, preferring values settable now.
pub(super) fn from_lists(
    desc: Option<&SonyDevicePropDesc>,
    matches: impl Fn(&Value) -> bool,
) -> Option<&Value> {
    let d = desc?;
    let settable = d.settable_values().unwrap_or(&[]);
    let all = d.all_values().unwrap_or(&[]);
    settable
        .iter()
        .chain(all)
        .chain(std::iter::once(&d.current))
        .find(|v| matches(v))
}

pub(super) fn seconds_of(v: &Value, shift: u32) -> Option<(u64, u64)> {
    let raw = v.as_u64()?;
    let mask = (1u64 << shift) - 1;
    let (n, d) = (raw >> shift, raw & mask);
    (d != 0).then(|| reduce(n, d))
}

/// Turns what a user typed into a value for property `code`. With the camera's descriptor the
/// result has the descriptor's data type and, where the lists hold an equivalent value, exactly
/// that value; without one, `data_type` decides.
pub fn parse_value(
    code: PropertyCode,
    text: &str,
    data_type: DataType,
    desc: Option<&SonyDevicePropDesc>,
) -> Result<Value, ParseError> {
    let data_type = desc.map_or(data_type, |d| d.data_type);
    let text = text.trim();
    let want = normalise(text);
    if data_type == DataType::STR {
        return Ok(Value::Str(text.to_string()));
    }
    // 1. Anything the camera lists, matched by its displayed form.
    if let Some(v) = from_lists(desc, |v| normalise(&format_value(code, v)) == want) {
        return Ok(v.clone());
    }
    let fit = |v: i128| {
        Value::from_integer(data_type, v).ok_or_else(|| ParseError::OutOfRange {
            text: text.to_string(),
            data_type,
        })
    };
    // 2. The property's own notation.
    let kind = value_kind(code);
    let parsed = match kind {
        ValueKind::ShutterSpeed | ValueKind::ExtendedShutterSpeed => {
            parse_shutter(code, text, data_type, desc, kind)?
        }
        ValueKind::FNumber => {
            let t = strip_prefix_ci(strip_prefix_ci(text, "f/"), "f");
            match if text == "--" { text } else { want.as_str() } {
                "--" => Some(fit(0xFFFE)?),
                "closed" => Some(fit(0xFFFD)?),
                "n/a" => Some(fit(0xFFFF)?),
                _ => match parse_rational(t) {
                    Some((n, d)) => {
                        // u128: no typed number can overflow this.
                        let hundredths = ((u128::from(n) * 100 + u128::from(d / 2)) / u128::from(d))
                            .min(u128::from(u64::MAX))
                            as u64;
                        let near = from_lists(desc, |v| {
                            v.as_u64().is_some_and(|x| x.abs_diff(hundredths) <= 5)
                        });
                        Some(match near {
                            Some(v) => v.clone(),
                            None => fit(hundredths.into())?,
                        })
                    }
                    None => None,
                },
            }
        }
        ValueKind::Iso => parse_iso(text, desc).map(|v| fit(v.into())).transpose()?,
        ValueKind::Compensation => {
            let t = strip_suffix_ci(text, "ev");
            match parse_thousandths(t) {
                Some(v) => {
                    let near = from_lists(desc, |x| x.as_i64().is_some_and(|x| x.abs_diff(v) < 50));
                    Some(match near {
                        Some(x) => x.clone(),
                        None => {
                            // "+1/3" or "0.33" mean the 1/3 stop the cameras encode as 300; a
                            // value typed to the thousandth ("+0.001") is taken as typed.
                            let exact = t.split_once('.').is_some_and(|(_, f)| f.trim().len() >= 3);
                            let tenths =
                                (i128::from(v) + if v >= 0 { 50 } else { -50 }) / 100 * 100;
                            fit(if exact { v.into() } else { tenths })?
                        }
                    })
                }
                None => None,
            }
        }
        ValueKind::ColorTemperature if want == "n/a" => Some(fit(0)?),
        ValueKind::ColorTemperature => parse_integer(strip_suffix_ci(text, "k"))
            .map(fit)
            .transpose()?,
        ValueKind::BatteryPercent => match want.as_str() {
            "unknown" => Some(fit(if data_type == DataType::UINT8 {
                255
            } else {
                -1
            })?),
            _ => parse_integer(strip_suffix_ci(text, "%"))
                .map(fit)
                .transpose()?,
        },
        ValueKind::PendingImages => match want.as_str() {
            "none" => Some(fit(0)?),
            "processing" => Some(fit(1)?),
            _ => match parse_integer(strip_suffix_ci(text, "ready")) {
                Some(n)
                    if (0..0x8000).contains(&n) && text.to_ascii_lowercase().ends_with("ready") =>
                {
                    Some(fit(n + 0x8000)?)
                }
                _ => None,
            },
        },
        ValueKind::Table(t) => table_code(t, &want).map(|c| fit(c.into())).transpose()?,
        ValueKind::CategorisedTable(t, category) => table_code(t, &want)
            .map(|c| categorised(c, category, data_type, desc))
            .map(|c| fit(c.into()))
            .transpose()?,
        ValueKind::DriveMode => table_code(DRIVE_MODE, &want)
            .or_else(|| {
                (0x8200..0x8A00u32)
                    .find(|&c| bracket_label(c as u16).is_some_and(|l| normalise(&l) == want))
            })
            .map(|c| categorised(c, drive_category, data_type, desc))
            .map(|c| fit(c.into()))
            .transpose()?,
        ValueKind::Plain => None,
    };
    if let Some(v) = parsed {
        return Ok(v);
    }
    // 3. A raw number in the property's data type. For ISO only in hex: a decimal number is an
    // ISO value, and one that does not fit 24 bits is not an ISO.
    if matches!(kind, ValueKind::Iso) && !text.to_ascii_lowercase().starts_with("0x") {
        return Err(invalid(text, kind_name(kind)));
    }
    match parse_integer(text) {
        Some(v) => fit(v),
        None => Err(invalid(text, kind_name(kind))),
    }
}

pub(super) fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::ShutterSpeed | ValueKind::ExtendedShutterSpeed => {
            "shutter speed (1/250, 2.5\", 30\", BULB)"
        }
        ValueKind::FNumber => "f-number (f/5.6)",
        ValueKind::Iso => "ISO (AUTO, 800)",
        ValueKind::Compensation => "compensation (+0.7 EV)",
        ValueKind::ColorTemperature => "colour temperature (5500 K)",
        _ => "value",
    }
}

pub(super) fn table_code(table: &[(u32, &str)], want: &str) -> Option<u32> {
    table
        .iter()
        .find(|&&(_, l)| normalise(l) == want)
        .map(|&(c, _)| c)
        .or_else(|| {
            // The bare formats of 0x5004 mean their Fine quality, the cameras' usual default.
            if std::ptr::eq(table, COMPRESSION) {
                match want {
                    "jpeg" => Some(0x03),
                    "raw+jpeg" => Some(0x13),
                    "heif" => Some(0x33),
                    "raw+heif" => Some(0x43),
                    _ => None,
                }
            } else {
                None
            }
        })
}

/// Adds the protocol-300 category to a 16-bit code: from the descriptor's lists when a value
/// there has the same low half, else from the category table (only for 32-bit properties).
pub(super) fn categorised(
    low: u32,
    category: fn(u16) -> u16,
    data_type: DataType,
    desc: Option<&SonyDevicePropDesc>,
) -> u32 {
    if data_type.size().unwrap_or(0) < 4 {
        return low;
    }
    if let Some(v) = from_lists(desc, |v| {
        v.as_u64().is_some_and(|x| x & 0xFFFF == u64::from(low))
    }) {
        if let Some(x) = v.as_u64().and_then(|x| u32::try_from(x).ok()) {
            return x;
        }
    }
    (u32::from(category(low as u16)) << 16) | low
}

pub(super) fn parse_iso(text: &str, desc: Option<&SonyDevicePropDesc>) -> Option<u32> {
    let mut t = strip_prefix_ci(text, "iso").to_string();
    let mut mode = 0u32;
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("mfnr high") {
        mode = 2;
        t = rest.trim().to_string();
    } else if let Some(rest) = lower.strip_prefix("mfnr") {
        mode = 1;
        t = rest.trim().to_string();
    }
    let lower = t.to_ascii_lowercase();
    let (body, ext) = match lower
        .strip_suffix("(ext)")
        .or_else(|| lower.strip_suffix("ext"))
    {
        Some(b) => (b.trim().to_string(), Some(true)),
        None => (lower.trim().to_string(), None),
    };
    let base: u32 = if body == "auto" {
        0x00FF_FFFF
    } else {
        let n: u32 = body.parse().ok()?;
        if n == 0 || n >= 0x00FF_FFFF {
            return None;
        }
        n
    };
    let v = (mode << 24) | base | if ext == Some(true) { 0x1000_0000 } else { 0 };
    if ext.is_none() {
        // The camera may list this ISO only as an extended value: take that one.
        let listed = from_lists(desc, |x| x.as_u64() == Some(u64::from(v)));
        if listed.is_none() {
            if let Some(x) = from_lists(desc, |x| {
                x.as_u64().is_some_and(|x| x & 0x0FFF_FFFF == u64::from(v))
            }) {
                return x.as_u64().and_then(|x| u32::try_from(x).ok());
            }
        }
    }
    Some(v)
}

pub(super) fn parse_shutter(
    _code: PropertyCode,
    text: &str,
    data_type: DataType,
    desc: Option<&SonyDevicePropDesc>,
    kind: ValueKind,
) -> Result<Option<Value>, ParseError> {
    let shift = if matches!(kind, ValueKind::ExtendedShutterSpeed) {
        32
    } else {
        16
    };
    let fit = |v: u64| {
        Value::from_integer(data_type, v.into()).ok_or_else(|| ParseError::OutOfRange {
            text: text.to_string(),
            data_type,
        })
    };
    let lower = text.trim().to_ascii_lowercase();
    if lower == "bulb" {
        return fit(0).map(Some);
    }
    if lower == "--" {
        let all_ones = if shift == 32 { u64::MAX } else { 0xFFFF_FFFF };
        return fit(all_ones).map(Some);
    }
    let body = lower
        .trim_end_matches(['"', 's', '\''])
        .trim_end_matches("sec")
        .trim();
    let Some((n, d)) = parse_rational(body) else {
        return Ok(None);
    };
    if n == 0 {
        return Ok(None);
    }
    if let Some(v) = from_lists(desc, |v| seconds_of(v, shift) == Some((n, d))) {
        return Ok(Some(v.clone()));
    }
    // The cameras' own encoding: 1/n as 1/n, everything else in tenths of a second.
    // The cameras' own encoding: 1/n for 1/3 s and shorter, tenths of a second for the rest
    // (1" is 10/10, 0.5" is 5/10).
    let tenths = n.checked_mul(10).filter(|t| t % d == 0).map(|t| t / d);
    let (num, den) = match tenths {
        _ if n == 1 && d >= 3 => (1, d),
        Some(t) => (t, 10),
        None => (n, d),
    };
    let limit = (1u64 << shift) - 1;
    if num > limit || den > limit {
        return Err(ParseError::OutOfRange {
            text: text.to_string(),
            data_type,
        });
    }
    fit((num << shift) | den).map(Some)
}
