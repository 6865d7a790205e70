//! Parsing: what a user typed into the wire value, using the camera's descriptor when given.

use sonyctl_ptp::{DataType, PropertyCode, Value};

use super::labels::*;
use super::{ParseError, ValueKind, format_value, value_kind};
use crate::prop_info::SonyDevicePropDesc;
use crate::values::shutter::{
    ShutterText, camera_fraction, encode_fraction, fraction_of, no_value, parse_text,
};
use crate::values::{
    BatteryRemaining, DriveMode, ExposureCompensation, FNumber, Iso, PendingImages,
};

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
pub(crate) fn parse_rational(text: &str) -> Option<(u64, u64)> {
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

/// The duration of a listed shutter value in lowest terms (`None` for BULB and no value).
pub(super) fn seconds_of(v: &Value, wide: bool) -> Option<(u64, u64)> {
    let (n, d) = fraction_of(v.as_u64()?, wide)?;
    Some(reduce(n, d))
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
        ValueKind::FNumber => match FNumber::parse_hundredths(text) {
            Some(special) if special >= u64::from(FNumber::CLOSED.0) => Some(fit(special.into())?),
            Some(hundredths) => {
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
        ValueKind::Iso => parse_iso(text, desc).map(|v| fit(v.into())).transpose()?,
        ValueKind::Compensation => match ExposureCompensation::parse_text(text) {
            Some((v, exact)) => {
                let near = from_lists(desc, |x| x.as_i64().is_some_and(|x| x.abs_diff(v) < 50));
                Some(match near {
                    Some(x) => x.clone(),
                    None => fit(ExposureCompensation::camera_thousandths(v, exact))?,
                })
            }
            None => None,
        },
        ValueKind::ColorTemperature if want == "n/a" => Some(fit(0)?),
        ValueKind::ColorTemperature => parse_integer(strip_suffix_ci(text, "k"))
            .map(fit)
            .transpose()?,
        ValueKind::BatteryPercent => match want.as_str() {
            "unknown" => Some(fit(BatteryRemaining::unknown_raw(data_type).into())?),
            _ => parse_integer(strip_suffix_ci(text, "%"))
                .map(fit)
                .transpose()?,
        },
        ValueKind::PendingImages => PendingImages::parse(text)
            .map(|p| fit(p.to_raw().into()))
            .transpose()?,
        ValueKind::Table(t) => table_code(t, &want).map(|c| fit(c.into())).transpose()?,
        ValueKind::CategorisedTable(t, v300) => table_code(t, &want)
            .map(|c| categorised(c, v300, data_type, desc))
            .map(|c| fit(c.into()))
            .transpose()?,
        ValueKind::DriveMode => table_code(DRIVE_MODE, &want)
            .or_else(|| {
                (0x8200..0x8A00u32)
                    .find(|&c| bracket_label(c as u16).is_some_and(|l| normalise(&l) == want))
            })
            .map(|c| categorised(c, |c| DriveMode::with_v300_category(c).0, data_type, desc))
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
    v300: fn(u16) -> u32,
    data_type: DataType,
    desc: Option<&SonyDevicePropDesc>,
) -> u32 {
    if data_type.size().unwrap_or(0) < 4 {
        return low;
    }
    // Exposure program and drive mode share the layout: the code in the low half.
    let code_of = |x: u64| DriveMode::from_value(x).map(DriveMode::code);
    if let Some(v) = from_lists(desc, |v| {
        v.as_u64().and_then(code_of).map(u32::from) == Some(low)
    }) {
        if let Some(x) = v.as_u64().and_then(|x| u32::try_from(x).ok()) {
            return x;
        }
    }
    u16::try_from(low).map_or(low, v300)
}

pub(super) fn parse_iso(text: &str, desc: Option<&SonyDevicePropDesc>) -> Option<u32> {
    let (iso, named_ext) = Iso::parse_text(text)?;
    let v = iso.0;
    if !named_ext {
        // The camera may list this ISO only as an extended value: take that one.
        let listed = from_lists(desc, |x| x.as_u64() == Some(u64::from(v)));
        if listed.is_none() {
            if let Some(x) = from_lists(desc, |x| {
                Iso::from_value(x.as_u64().unwrap_or(u64::MAX))
                    .is_some_and(|x| x.without_extension() == iso)
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
    let wide = matches!(kind, ValueKind::ExtendedShutterSpeed);
    let fit = |v: u64| {
        Value::from_integer(data_type, v.into()).ok_or_else(|| ParseError::OutOfRange {
            text: text.to_string(),
            data_type,
        })
    };
    let (n, d) = match parse_text(text) {
        Some(ShutterText::Bulb) => return fit(0).map(Some),
        Some(ShutterText::NoValue) => return fit(no_value(wide)).map(Some),
        Some(ShutterText::Seconds(n, d)) => (n, d),
        None => return Ok(None),
    };
    if let Some(v) = from_lists(desc, |v| seconds_of(v, wide) == Some((n, d))) {
        return Ok(Some(v.clone()));
    }
    let (num, den) = camera_fraction(n, d);
    let Some(raw) = encode_fraction(num, den, wide) else {
        return Err(ParseError::OutOfRange {
            text: text.to_string(),
            data_type,
        });
    };
    fit(raw).map(Some)
}
