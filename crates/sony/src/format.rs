//! Human formatting **and parsing** of property values: `1/250`, `2.5"`, `BULB`, `f/5.6`, `AUTO`,
//! `+0.7 EV`, `Daylight`, `RAW+JPEG`, …
//!
//! [`format_value`] shows any value of any property; codes without a special form print as plain
//! numbers (or hex labels for enumerated codes the tables do not know). [`parse_value`] turns what
//! a user typed into the wire value, using the camera's own descriptor when given: its data type,
//! and its value lists to pick the exact encoding (the camera lists 30" as 300/10, ISO 50 with the
//! extended flag, exposure program with its v300 category).

use sonyctl_ptp::{DataType, PropertyCode, Value};

use crate::prop_info::SonyDevicePropDesc;

/// A value a user typed that cannot be turned into a property value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text means nothing for this property.
    #[error("{text:?} is not a valid {what}")]
    Invalid {
        /// What the user typed.
        text: String,
        /// What kind of value was expected.
        what: &'static str,
    },
    /// The number does not fit the property's data type.
    #[error("{text:?} does not fit the property's data type {data_type}")]
    OutOfRange {
        /// What the user typed.
        text: String,
        /// The data type.
        data_type: DataType,
    },
}

/// How a property's values are shown and read.
#[derive(Copy, Clone, Debug)]
#[non_exhaustive]
pub enum ValueKind {
    /// 0xD20D: u32 `numerator << 16 | denominator`; 0 = BULB.
    ShutterSpeed,
    /// 0xD19F: u64 `numerator << 32 | denominator`.
    ExtendedShutterSpeed,
    /// 0x5007: f × 100.
    FNumber,
    /// 0xD21E: 24-bit ISO (0xFFFFFF AUTO), multi-frame NR in bits 24–27, extended in bits 28–31.
    Iso,
    /// EV × 1000 (exposure and flash compensation).
    Compensation,
    /// Kelvin.
    ColorTemperature,
    /// Percent, −1 unknown.
    BatteryPercent,
    /// 0xD215: 0 none, 1 processing, 0x8000 | n ready.
    PendingImages,
    /// A table of labels matched on the full value.
    Table(&'static [(u32, &'static str)]),
    /// A table of labels matched on the low 16 bits (protocol 300 puts a category above them).
    CategorisedTable(&'static [(u32, &'static str)], fn(u16) -> u16),
    /// 0x5013 drive mode: a table plus bracketing codes `0x8Nss`.
    DriveMode,
    /// Plain numbers or strings.
    Plain,
}

const WHITE_BALANCE: &[(u32, &str)] = &[
    (0x0001, "Manual"),
    (0x0002, "Auto"),
    (0x0003, "One-push auto"),
    (0x0004, "Daylight"),
    (0x0005, "Fluorescent"),
    (0x0006, "Incandescent"),
    (0x0007, "Flash"),
    (0x8001, "Fluorescent warm white"),
    (0x8002, "Fluorescent cool white"),
    (0x8003, "Fluorescent day white"),
    (0x8004, "Fluorescent daylight"),
    (0x8010, "Cloudy"),
    (0x8011, "Shade"),
    (0x8012, "Color temperature"),
    (0x8020, "Custom 1"),
    (0x8021, "Custom 2"),
    (0x8022, "Custom 3"),
    (0x8023, "Custom"),
    (0x8030, "Underwater auto"),
];

const FOCUS_MODE: &[(u32, &str)] = &[
    (0x0001, "MF"),
    (0x0002, "AF-S"),
    (0x0003, "AF-Macro"),
    (0x8004, "AF-C"),
    (0x8005, "AF-A"),
    (0x8006, "DMF"),
    (0x8007, "MF-R"),
    (0x8008, "AF-D"),
    (0x8009, "Preset focus"),
];

const METERING: &[(u32, &str)] = &[
    (0x0001, "Average"),
    (0x0002, "Center-weighted"),
    (0x0003, "Multi-spot"),
    (0x0004, "Center-spot"),
    (0x8001, "Multi"),
    (0x8002, "Center"),
    (0x8003, "Entire screen average"),
    (0x8004, "Spot"),
    (0x8005, "Spot large"),
    (0x8006, "Highlight"),
];

const FLASH_MODE: &[(u32, &str)] = &[
    (0x0001, "Auto"),
    (0x0002, "Off"),
    (0x0003, "Fill"),
    (0x0004, "Auto red-eye"),
    (0x0005, "Red-eye fill"),
    (0x0006, "External sync"),
    (0x8001, "Slow sync"),
    (0x8003, "Rear sync"),
    (0x8004, "Wireless"),
    (0x8021, "HSS auto"),
    (0x8022, "HSS fill"),
    (0x8024, "HSS wireless"),
    (0x8031, "Slow sync red-eye on"),
    (0x8032, "Slow sync red-eye off"),
];

const EXPOSURE_PROGRAM: &[(u32, &str)] = &[
    (0x0001, "M"),
    (0x0002, "P"),
    (0x0003, "A"),
    (0x0004, "S"),
    (0x0005, "Creative"),
    (0x0006, "Action"),
    (0x0007, "Portrait"),
    (0x8000, "iAuto"),
    (0x8001, "Superior auto"),
    (0x8011, "Sports"),
    (0x8012, "Sunset"),
    (0x8013, "Night scene"),
    (0x8014, "Landscape"),
    (0x8015, "Macro"),
    (0x8016, "Handheld twilight"),
    (0x8017, "Night portrait"),
    (0x8018, "Anti motion blur"),
    (0x8031, "Tele-zoom cont. priority AE"),
    (0x8032, "Tele-zoom cont. priority AE 2"),
    (0x8040, "3D"),
    (0x8041, "Sweep panorama"),
    (0x8050, "Movie P"),
    (0x8051, "Movie A"),
    (0x8052, "Movie S"),
    (0x8053, "Movie M"),
    (0x8054, "Movie scene"),
    (0x8059, "S&Q P"),
    (0x805A, "S&Q A"),
    (0x805B, "S&Q S"),
    (0x805C, "S&Q M"),
    (0x8060, "iAuto flash off"),
    (0x8070, "Picture effect"),
    (0x8080, "HFR P"),
    (0x8081, "HFR A"),
    (0x8082, "HFR S"),
    (0x8083, "HFR M"),
    (0x8084, "S&Q P 2"),
    (0x8085, "S&Q A 2"),
    (0x8086, "S&Q S 2"),
    (0x8087, "S&Q M 2"),
    (0x8088, "Movie"),
    (0x8089, "Still"),
];

/// The protocol-300 category (high 16 bits) of an exposure program code.
fn program_category(low: u16) -> u16 {
    match low {
        1 => 0,
        2 => 1,
        3 => 2,
        4 => 3,
        0x8000 | 0x8001 | 0x8060 => 4,
        0x8011..=0x8018 | 0x8031 | 0x8032 | 0x8070 => 5,
        0x8040 | 0x8041 => 6,
        0x8050..=0x8054 => 7,
        0x8080..=0x8087 => 8,
        0x8059..=0x805C => 9,
        0x8088 | 0x8089 => 0xA,
        0x8090..=0x809F => 0xC,
        _ => 0,
    }
}

/// The protocol-300 category of a drive-mode code.
fn drive_category(low: u16) -> u16 {
    match low {
        1 => 0,
        2 | 0x8010..=0x8017 => 1,
        3 => 2,
        0x8003..=0x8005 => 3,
        0x8008..=0x800F => 8,
        0x8018 | 0x8028 => 6,
        0x8019 | 0x8029 | 0x801A => 7,
        0x8030..=0x803F => 9,
        0x8040..=0x804F => 0xA,
        l if is_bracket(l) => {
            if l & 1 == 1 {
                4
            } else {
                5
            }
        }
        _ => 0,
    }
}

const DRIVE_MODE: &[(u32, &str)] = &[
    (0x0001, "Single"),
    (0x0002, "Cont. Hi"),
    (0x0003, "Timelapse"),
    (0x8003, "Self-timer 5s"),
    (0x8004, "Self-timer 10s"),
    (0x8005, "Self-timer 2s"),
    (0x8008, "Self-timer 10s x3"),
    (0x8009, "Self-timer 10s x5"),
    (0x800C, "Self-timer 5s x3"),
    (0x800D, "Self-timer 5s x5"),
    (0x800E, "Self-timer 2s x3"),
    (0x800F, "Self-timer 2s x5"),
    (0x8010, "Cont. Hi+"),
    (0x8011, "Cont. Hi Live"),
    (0x8012, "Cont. Lo"),
    (0x8013, "Cont."),
    (0x8014, "Cont. speed priority"),
    (0x8015, "Cont. Mid"),
    (0x8016, "Cont. Mid Live"),
    (0x8017, "Cont. Lo Live"),
    (0x8018, "WB bracket Lo"),
    (0x8028, "WB bracket Hi"),
    (0x8019, "DRO bracket Lo"),
    (0x8029, "DRO bracket Hi"),
    (0x801A, "LPF bracket"),
    (0x8040, "Focus bracket"),
];

/// Bracketing steps: the low byte of `0x8Nss` with bit 0 cleared, and the step in tenths of EV.
const BRACKET_STEPS: &[(u16, &str)] = &[
    (0x36, "0.3"),
    (0x56, "0.5"),
    (0x76, "0.7"),
    (0x10, "1.0"),
    (0x20, "2.0"),
    (0x30, "3.0"),
];

fn is_bracket(low: u16) -> bool {
    let n = (low >> 8) & 0xF;
    low & 0xF000 == 0x8000
        && matches!(n, 2 | 3 | 5 | 7 | 9)
        && BRACKET_STEPS.iter().any(|&(b, _)| b == (low & 0xFE))
}

fn bracket_label(low: u16) -> Option<String> {
    if !is_bracket(low) {
        return None;
    }
    let n = (low >> 8) & 0xF;
    let step = BRACKET_STEPS.iter().find(|&&(b, _)| b == (low & 0xFE))?.1;
    let kind = if low & 1 == 1 { "cont." } else { "single" };
    Some(format!("Bracket {kind} {n} x {step} EV"))
}

static COMPRESSION: &[(u32, &str)] = &[
    (0x01, "Light"),
    (0x02, "Standard"),
    (0x03, "Fine"),
    (0x04, "Extra fine"),
    (0x10, "RAW"),
    (0x11, "RAW+JPEG Light"),
    (0x12, "RAW+JPEG Standard"),
    (0x13, "RAW+JPEG Fine"),
    (0x14, "RAW+JPEG Extra fine"),
    (0x31, "HEIF Light"),
    (0x32, "HEIF Standard"),
    (0x33, "HEIF Fine"),
    (0x34, "HEIF Extra fine"),
    (0x41, "RAW+HEIF Light"),
    (0x42, "RAW+HEIF Standard"),
    (0x43, "RAW+HEIF Fine"),
    (0x44, "RAW+HEIF Extra fine"),
];

const FILE_FORMAT: &[(u32, &str)] = &[
    (1, "RAW"),
    (2, "RAW+JPEG"),
    (3, "JPEG"),
    (4, "RAW+HEIF"),
    (5, "HEIF"),
];

const JPEG_QUALITY: &[(u32, &str)] = &[
    (0, "n/a"),
    (1, "Extra fine"),
    (2, "Fine"),
    (3, "Standard"),
    (4, "Light"),
];

const IMAGE_SIZE: &[(u32, &str)] = &[(1, "L"), (2, "M"), (3, "S")];

const ASPECT_RATIO: &[(u32, &str)] = &[(1, "3:2"), (2, "16:9"), (3, "4:3"), (4, "1:1")];

const FOCUS_INDICATION: &[(u32, &str)] = &[
    (1, "Not focused"),
    (2, "Focused"),
    (3, "Focus failed"),
    (5, "Tracking"),
    (6, "Tracking focused"),
    (7, "Tracking failed"),
    (8, "Unpaused"),
    (9, "Paused"),
];

const BATTERY_INDICATOR: &[(u32, &str)] = &[
    (1, "Dummy"),
    (2, "Unusable"),
    (3, "Pre-end"),
    (4, "1/4"),
    (5, "2/4"),
    (6, "3/4"),
    (7, "4/4"),
    (8, "1/3"),
    (9, "2/3"),
    (10, "3/3"),
    (0x10, "USB power"),
];

const SAVE_DESTINATION: &[(u32, &str)] = &[(0x01, "PC"), (0x10, "Camera"), (0x11, "PC+Camera")];

const PRIORITY_KEY: &[(u32, &str)] = &[(0, "Camera"), (1, "PC remote")];

const LIVE_VIEW_STATUS: &[(u32, &str)] = &[(0, "Unavailable"), (1, "Available")];

const LIVE_VIEW_QUALITY: &[(u32, &str)] = &[(1, "Low"), (2, "High")];

const MOVIE_STATE: &[(u32, &str)] = &[(0, "Not recording"), (1, "Recording")];

const LOCK_INDICATION: &[(u32, &str)] = &[(1, "Unlocked"), (2, "Locked")];

const BUTTON: &[(u32, &str)] = &[(1, "Released"), (2, "Pressed")];

const ON_OFF_12: &[(u32, &str)] = &[(1, "Off"), (2, "On")];

const SHUTTER_TYPE: &[(u32, &str)] = &[(1, "Auto"), (2, "Mechanical"), (3, "Electronic")];

const LIVE_VIEW_EFFECT: &[(u32, &str)] = &[(1, "On"), (2, "Off")];

const DRO: &[(u32, &str)] = &[
    (0x01, "Off"),
    (0x02, "DRO"),
    (0x10, "DRO+"),
    (0x11, "DRO Lv1"),
    (0x12, "DRO Lv2"),
    (0x13, "DRO Lv3"),
    (0x14, "DRO Lv4"),
    (0x15, "DRO Lv5"),
    (0x1F, "DRO Auto"),
    (0x20, "HDR Auto"),
    (0x21, "HDR 1.0 EV"),
    (0x22, "HDR 2.0 EV"),
    (0x23, "HDR 3.0 EV"),
    (0x24, "HDR 4.0 EV"),
    (0x25, "HDR 5.0 EV"),
    (0x26, "HDR 6.0 EV"),
];

const FOCUS_AREA: &[(u32, &str)] = &[
    (0x001, "Wide"),
    (0x002, "Zone"),
    (0x003, "Center"),
    (0x101, "Flexible spot S"),
    (0x102, "Flexible spot M"),
    (0x103, "Flexible spot L"),
    (0x104, "Expand flexible spot"),
    (0x201, "Tracking wide"),
    (0x202, "Tracking zone"),
    (0x203, "Tracking center"),
    (0x204, "Tracking flexible spot S"),
    (0x205, "Tracking flexible spot M"),
    (0x206, "Tracking flexible spot L"),
    (0x207, "Tracking expand flexible spot"),
];

const PC_SAVE_IMAGE_SIZE: &[(u32, &str)] = &[(1, "Original"), (2, "2M")];

const PC_SAVE_IMAGE_FORMAT: &[(u32, &str)] = &[
    (0, "Disabled"),
    (1, "RAW+JPEG"),
    (2, "JPEG only"),
    (3, "RAW only"),
    (4, "RAW+HEIF"),
    (5, "HEIF only"),
];

/// How the values of `code` are shown and read.
pub fn value_kind(code: PropertyCode) -> ValueKind {
    use ValueKind::*;
    match code.0 {
        0xD20D => ShutterSpeed,
        0xD19F => ExtendedShutterSpeed,
        0x5007 => FNumber,
        0xD21E => Iso,
        0x5010 | 0xD200 => Compensation,
        0xD20F => ColorTemperature,
        0xD218 => BatteryPercent,
        0xD215 => PendingImages,
        0x5005 => Table(WHITE_BALANCE),
        0x500A => Table(FOCUS_MODE),
        0x500B => Table(METERING),
        0x500C => Table(FLASH_MODE),
        0x500E => CategorisedTable(EXPOSURE_PROGRAM, program_category),
        0x5013 => DriveMode,
        0x5004 => Table(COMPRESSION),
        0xD253 => Table(FILE_FORMAT),
        0xD252 => Table(JPEG_QUALITY),
        0xD203 => Table(IMAGE_SIZE),
        0xD211 => Table(ASPECT_RATIO),
        0xD213 => Table(FOCUS_INDICATION),
        0xD20E => Table(BATTERY_INDICATOR),
        0xD222 => Table(SAVE_DESTINATION),
        0xD25A => Table(PRIORITY_KEY),
        0xD221 => Table(LIVE_VIEW_STATUS),
        0xD26A => Table(LIVE_VIEW_QUALITY),
        0xD21D => Table(MOVIE_STATE),
        0xD217 | 0xD21F | 0xD24E => Table(LOCK_INDICATION),
        0xD2C1..=0xD2C4 | 0xD2C7..=0xD2C9 | 0xD2D9 | 0xD2E6 => Table(BUTTON),
        0xD0D9 | 0xD0DB => Table(ON_OFF_12),
        0xD0DF => Table(SHUTTER_TYPE),
        0xD231 => Table(LIVE_VIEW_EFFECT),
        0xD201 => Table(DRO),
        0xD22C => Table(FOCUS_AREA),
        0xD268 => Table(PC_SAVE_IMAGE_SIZE),
        0xD269 => Table(PC_SAVE_IMAGE_FORMAT),
        _ => Plain,
    }
}

fn table_label(table: &[(u32, &'static str)], v: u32) -> Option<&'static str> {
    table.iter().find(|&&(c, _)| c == v).map(|&(_, l)| l)
}

/// Shows a rational `num/den` seconds value as `1/250`, `2.5"`, `30"`.
fn format_seconds(num: u64, den: u64) -> Option<String> {
    if den == 0 {
        return None;
    }
    if num == 1 && den > 1 {
        return Some(format!("1/{den}"));
    }
    if num % den == 0 {
        return Some(format!("{}\"", num / den));
    }
    if (num * 10) % den == 0 {
        let tenths = num * 10 / den;
        return Some(format!("{}.{}\"", tenths / 10, tenths % 10));
    }
    Some(format!("{num}/{den}\""))
}

fn format_compensation(v: i64) -> String {
    let sign = match v {
        0 => "",
        v if v > 0 => "+",
        _ => "-",
    };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 1000, a % 1000);
    let frac = if frac % 100 == 0 {
        format!("{}", frac / 100)
    } else if frac % 10 == 0 {
        format!("{:02}", frac / 10)
    } else {
        format!("{frac:03}")
    };
    format!("{sign}{int}.{frac} EV")
}

fn format_iso(v: u32) -> String {
    let base = v & 0x00FF_FFFF;
    let mode = (v >> 24) & 0xF;
    let ext = v >> 28;
    let value = if base == 0x00FF_FFFF {
        "AUTO".to_string()
    } else {
        base.to_string()
    };
    let prefix = match mode {
        0 => "",
        1 => "MFNR ",
        2 => "MFNR High ",
        _ => return format!("{v:#010X}"),
    };
    match ext {
        0 => format!("{prefix}{value}"),
        1 => format!("{prefix}{value} (ext)"),
        _ => format!("{v:#010X}"),
    }
}

fn format_f_number(v: u16) -> String {
    match v {
        0xFFFD => "closed".into(),
        0xFFFE => "--".into(),
        0xFFFF => "n/a".into(),
        v if v < 1000 || v % 100 != 0 => {
            format!("f/{}.{}", v / 100, (v % 100) / 10)
                + &if v % 10 != 0 {
                    format!("{}", v % 10)
                } else {
                    String::new()
                }
        }
        v => format!("f/{}", v / 100),
    }
}

fn hex_label(v: u64, dt: DataType) -> String {
    let width = dt.size().unwrap_or(2) * 2 + 2;
    format!("{v:#0width$X}")
}

/// The human form of `value` for property `code`.
pub fn format_value(code: PropertyCode, value: &Value) -> String {
    let raw = value.as_u64();
    let dt = value.data_type();
    match (value_kind(code), value) {
        (_, Value::Str(s)) => s.clone(),
        (ValueKind::ShutterSpeed, _) => match raw {
            Some(0) => "BULB".into(),
            Some(0xFFFF_FFFF) => "--".into(),
            Some(v) if v <= u64::from(u32::MAX) => {
                format_seconds(v >> 16, v & 0xFFFF).unwrap_or_else(|| hex_label(v, dt))
            }
            _ => value.to_string(),
        },
        (ValueKind::ExtendedShutterSpeed, _) => match raw {
            Some(0) => "BULB".into(),
            Some(u64::MAX) => "--".into(),
            Some(v) => format_seconds(v >> 32, v & 0xFFFF_FFFF).unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::FNumber, _) => match raw.and_then(|v| u16::try_from(v).ok()) {
            Some(v) => format_f_number(v),
            None => value.to_string(),
        },
        (ValueKind::Iso, _) => match raw.and_then(|v| u32::try_from(v).ok()) {
            Some(v) => format_iso(v),
            None => value.to_string(),
        },
        (ValueKind::Compensation, _) => match value.as_i64() {
            Some(v) => format_compensation(v),
            None => value.to_string(),
        },
        (ValueKind::ColorTemperature, _) => match raw {
            Some(0) => "n/a".into(),
            Some(v) => format!("{v} K"),
            None => value.to_string(),
        },
        (ValueKind::BatteryPercent, _) => match value.as_i64() {
            Some(-1) | Some(255) if dt == DataType::UINT8 || dt == DataType::INT8 => {
                "unknown".into()
            }
            Some(v) => format!("{v}%"),
            None => value.to_string(),
        },
        (ValueKind::PendingImages, _) => match raw {
            Some(0) => "none".into(),
            Some(1) => "processing".into(),
            Some(v) if (0x8000..0x8100).contains(&v) => format!("{} ready", v - 0x8000),
            Some(v) => hex_label(v, dt),
            None => value.to_string(),
        },
        (ValueKind::Table(t), _) => match raw {
            Some(v) => u32::try_from(v)
                .ok()
                .and_then(|v| table_label(t, v))
                .map(str::to_string)
                .unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::CategorisedTable(t, _), _) => match raw {
            Some(v) => table_label(t, (v & 0xFFFF) as u32)
                .map(str::to_string)
                .unwrap_or_else(|| hex_label(v, dt)),
            None => value.to_string(),
        },
        (ValueKind::DriveMode, _) => match raw {
            Some(v) => {
                let low = (v & 0xFFFF) as u16;
                table_label(DRIVE_MODE, low.into())
                    .map(str::to_string)
                    .or_else(|| bracket_label(low))
                    .unwrap_or_else(|| hex_label(v, dt))
            }
            None => value.to_string(),
        },
        (ValueKind::Plain, _) => value.to_string(),
    }
}

/// Lower case without white space, underscores, or hyphens between letters, so
/// `"Fluorescent  Warm-White"` and `"fluorescent warm white"` compare equal but `-0.3` keeps its sign.
fn normalise(s: &str) -> String {
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

fn invalid(text: &str, what: &'static str) -> ParseError {
    ParseError::Invalid {
        text: text.to_string(),
        what,
    }
}

/// Parses `0x1A2B` or a decimal (possibly negative) integer.
fn parse_integer(text: &str) -> Option<i128> {
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i128::from_str_radix(h, 16).ok();
    }
    t.parse::<i128>().ok()
}

/// Parses a decimal number or a fraction `a/b` into `(numerator, denominator)` in lowest terms.
fn parse_rational(text: &str) -> Option<(u64, u64)> {
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

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn reduce(a: u64, b: u64) -> (u64, u64) {
    let g = gcd(a, b).max(1);
    (a / g, b / g)
}

/// Parses a signed decimal (`+0.7`, `-1`, `1/3`, `-2/3`) into thousandths.
fn parse_thousandths(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (n, d) = parse_rational(body)?;
    let v = i64::try_from(n.checked_mul(1000)? / d).ok()?;
    Some(if neg { -v } else { v })
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> &'a str {
    let t = s.trim_end();
    if t.len() >= suffix.len() && t.is_char_boundary(t.len() - suffix.len()) {
        let (head, tail) = t.split_at(t.len() - suffix.len());
        if tail.eq_ignore_ascii_case(suffix) {
            return head.trim_end();
        }
    }
    t
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> &'a str {
    let t = s.trim_start();
    match t.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => {
            t.get(prefix.len()..).unwrap_or("").trim_start()
        }
        _ => t,
    }
}

/// Picks the value from the descriptor's lists that `matches`, preferring values settable now.
fn from_lists(
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

fn seconds_of(v: &Value, shift: u32) -> Option<(u64, u64)> {
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

fn kind_name(kind: ValueKind) -> &'static str {
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

fn table_code(table: &[(u32, &str)], want: &str) -> Option<u32> {
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
fn categorised(
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

fn parse_iso(text: &str, desc: Option<&SonyDevicePropDesc>) -> Option<u32> {
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

fn parse_shutter(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prop_info::{Enabled, GetSet, SonyForm};

    fn f(code: u16, v: Value) -> String {
        format_value(PropertyCode(code), &v)
    }

    #[test]
    fn shutter_speed_forms() {
        assert_eq!(f(0xD20D, Value::U32(0)), "BULB");
        assert_eq!(f(0xD20D, Value::U32(0x012C_000A)), "30\"");
        assert_eq!(f(0xD20D, Value::U32(0x0019_000A)), "2.5\"");
        assert_eq!(f(0xD20D, Value::U32(0x0008_000A)), "0.8\"");
        assert_eq!(f(0xD20D, Value::U32(0x0001_00FA)), "1/250");
        assert_eq!(f(0xD20D, Value::U32(0x0001_0003)), "1/3");
        assert_eq!(f(0xD20D, Value::U32(0xFFFF_FFFF)), "--");
        assert_eq!(f(0xD19F, Value::U64(0x12C_0000_000A)), "30\"");
        assert_eq!(f(0xD19F, Value::U64((1 << 32) | 8000)), "1/8000");
        let p = |t| parse_value(PropertyCode(0xD20D), t, DataType::UINT32, None).unwrap();
        assert_eq!(p("1/250"), Value::U32(0x0001_00FA));
        assert_eq!(p("2.5\""), Value::U32(0x0019_000A));
        assert_eq!(p("30\""), Value::U32(0x012C_000A));
        assert_eq!(p("30"), Value::U32(0x012C_000A));
        assert_eq!(p("bulb"), Value::U32(0));
        let p64 = parse_value(PropertyCode(0xD19F), "30\"", DataType::UINT64, None).unwrap();
        assert_eq!(p64, Value::U64(0x12C_0000_000A));
        assert!(parse_value(PropertyCode(0xD20D), "fast", DataType::UINT32, None).is_err());
        // Huge numbers are out of range, never an overflow.
        for huge in [
            "18446744073709551615",
            "18446744073709551615/7",
            "1844674407370955161.5",
        ] {
            assert!(parse_value(PropertyCode(0xD20D), huge, DataType::UINT32, None).is_err());
            assert!(parse_value(PropertyCode(0x5007), huge, DataType::UINT16, None).is_err());
            assert!(parse_value(PropertyCode(0x5010), huge, DataType::INT16, None).is_err());
        }
        let ready = "170141183460469231731687303715884105727 ready";
        assert!(parse_value(PropertyCode(0xD215), ready, DataType::UINT16, None).is_err());
        assert!(parse_value(PropertyCode(0xD215), "-5 ready", DataType::UINT16, None).is_err());
        for huge in [
            "9223372036854775.5",
            "18446744073709551/2",
            "-9223372036854775.5",
        ] {
            assert!(parse_value(PropertyCode(0x5010), huge, DataType::INT16, None).is_err());
        }
        // Seconds use tenths, as the cameras encode them.
        let p = |t| parse_value(PropertyCode(0xD20D), t, DataType::UINT32, None).unwrap();
        assert_eq!(p("1\""), Value::U32(0x000A_000A));
        assert_eq!(p("0.5\""), Value::U32(0x0005_000A));
        assert_eq!(p("1/2"), Value::U32(0x0005_000A));
        assert_eq!(p("1/3"), Value::U32(0x0001_0003));
    }

    #[test]
    fn f_number_iso_ev() {
        assert_eq!(f(0x5007, Value::U16(560)), "f/5.6");
        assert_eq!(f(0x5007, Value::U16(500)), "f/5.0");
        assert_eq!(f(0x5007, Value::U16(1100)), "f/11");
        assert_eq!(f(0x5007, Value::U16(0xFFFE)), "--");
        assert_eq!(f(0xD21E, Value::U32(0x00FF_FFFF)), "AUTO");
        assert_eq!(f(0xD21E, Value::U32(800)), "800");
        assert_eq!(f(0xD21E, Value::U32(0x1000_0032)), "50 (ext)");
        assert_eq!(f(0xD21E, Value::U32(0x01FF_FFFF)), "MFNR AUTO");
        assert_eq!(f(0xD21E, Value::U32(0x0200_0064)), "MFNR High 100");
        assert_eq!(f(0x5010, Value::I16(700)), "+0.7 EV");
        assert_eq!(f(0x5010, Value::I16(-300)), "-0.3 EV");
        assert_eq!(f(0x5010, Value::I16(0)), "0.0 EV");
        assert_eq!(f(0x5010, Value::I16(1)), "+0.001 EV");
        let p = |c: u16, t, dt| parse_value(PropertyCode(c), t, dt, None).unwrap();
        assert_eq!(p(0x5007, "f/5.6", DataType::UINT16), Value::U16(560));
        assert_eq!(p(0x5007, "F11", DataType::UINT16), Value::U16(1100));
        assert_eq!(p(0x5007, "--", DataType::UINT16), Value::U16(0xFFFE));
        assert_eq!(p(0xD21E, "auto", DataType::UINT32), Value::U32(0x00FF_FFFF));
        assert_eq!(p(0xD21E, "ISO 800", DataType::UINT32), Value::U32(800));
        assert_eq!(
            p(0xD21E, "50 (ext)", DataType::UINT32),
            Value::U32(0x1000_0032)
        );
        assert_eq!(
            p(0xD21E, "MFNR High AUTO", DataType::UINT32),
            Value::U32(0x02FF_FFFF)
        );
        assert_eq!(p(0x5010, "+0.7", DataType::INT16), Value::I16(700));
        assert_eq!(p(0x5010, "-1/3 EV", DataType::INT16), Value::I16(-300));
        assert_eq!(p(0x5010, "+2", DataType::INT16), Value::I16(2000));
        assert_eq!(p(0x5010, "+0.33", DataType::INT16), Value::I16(300));
        assert_eq!(p(0x5010, "+0.001 EV", DataType::INT16), Value::I16(1));
        assert_eq!(p(0x5007, "n/a", DataType::UINT16), Value::U16(0xFFFF));
        assert_eq!(p(0xD20F, "n/a", DataType::UINT16), Value::U16(0));
        assert_eq!(p(0x5013, "cont hi", DataType::UINT16), Value::U16(2));
        assert_eq!(p(0x5004, "RAW+JPEG", DataType::UINT8), Value::U8(0x13));
        assert_eq!(p(0x5004, "jpeg", DataType::UINT8), Value::U8(0x03));
        assert!(parse_value(PropertyCode(0xD21E), "20000000", DataType::UINT32, None).is_err());
        assert_eq!(
            p(0xD21E, "0x01000064", DataType::UINT32),
            Value::U32(0x0100_0064)
        );
    }

    #[test]
    fn every_table_label_parses_back() {
        for code in (0x5000..=0x50FFu16).chain(0xD000..=0xD3FF) {
            let kind = value_kind(PropertyCode(code));
            let (table, dt) = match kind {
                ValueKind::Table(t) => (t, DataType::UINT32),
                ValueKind::CategorisedTable(t, _) => (t, DataType::UINT16),
                ValueKind::DriveMode => (DRIVE_MODE, DataType::UINT16),
                _ => continue,
            };
            for &(raw, label) in table {
                let v = Value::U32(raw);
                assert_eq!(f(code, v.clone()), label);
                let back = parse_value(PropertyCode(code), label, dt, None).unwrap();
                assert_eq!(back.as_u64(), Some(raw.into()), "{code:#x} {label}");
            }
        }
    }

    #[test]
    fn v300_program_and_drive_keep_their_category() {
        let desc = SonyDevicePropDesc {
            code: PropertyCode(0x500E),
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(1),
            current: Value::U32(1),
            form: SonyForm::Enumeration {
                settable: vec![Value::U32(0x0001_0002), Value::U32(1)],
                all: vec![
                    Value::U32(0x0001_0002),
                    Value::U32(1),
                    Value::U32(0x0004_8000),
                ],
            },
        };
        assert_eq!(f(0x500E, Value::U32(0x0002_0003)), "A");
        let p = parse_value(PropertyCode(0x500E), "p", DataType::UINT32, Some(&desc)).unwrap();
        assert_eq!(p, Value::U32(0x0001_0002));
        let p = parse_value(PropertyCode(0x500E), "iauto", DataType::UINT32, Some(&desc)).unwrap();
        assert_eq!(p, Value::U32(0x0004_8000));
        let p = parse_value(PropertyCode(0x500E), "S", DataType::UINT32, None).unwrap();
        assert_eq!(p, Value::U32(0x0003_0004));
        assert_eq!(
            parse_value(PropertyCode(0x500E), "S", DataType::UINT16, None).unwrap(),
            Value::U16(4)
        );
        assert_eq!(
            f(0x5013, Value::U32(0x0004_8337)),
            "Bracket cont. 3 x 0.3 EV"
        );
        let p = parse_value(
            PropertyCode(0x5013),
            "Bracket cont. 3 x 0.3 EV",
            DataType::UINT32,
            None,
        )
        .unwrap();
        assert_eq!(p, Value::U32(0x0004_8337));
        assert_eq!(f(0x5013, Value::U32(0x0003_8005)), "Self-timer 2s");
    }

    #[test]
    fn descriptor_lists_decide_encoding_and_unknowns_are_hex() {
        let desc = SonyDevicePropDesc {
            code: PropertyCode(0xD21E),
            data_type: DataType::UINT32,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U32(0),
            current: Value::U32(0x00FF_FFFF),
            form: SonyForm::Enumeration {
                settable: vec![Value::U32(0x1000_0032), Value::U32(100)],
                all: vec![Value::U32(0x1000_0032), Value::U32(100)],
            },
        };
        let p = parse_value(PropertyCode(0xD21E), "50", DataType::UINT32, Some(&desc)).unwrap();
        assert_eq!(p, Value::U32(0x1000_0032));
        assert_eq!(f(0x5005, Value::U16(0x8099)), "0x8099");
        assert_eq!(f(0xD26C, Value::U8(3)), "3");
        assert_eq!(f(0xD215, Value::U16(0x8002)), "2 ready");
        assert_eq!(f(0xD215, Value::U16(0xFFFB)), "0xFFFB");
        assert_eq!(f(0xD218, Value::I8(-1)), "unknown");
        assert_eq!(f(0xD218, Value::I8(71)), "71%");
        assert_eq!(f(0xD20F, Value::U16(5500)), "5500 K");
        assert_eq!(
            parse_value(PropertyCode(0xD222), "pc+camera", DataType::UINT16, None).unwrap(),
            Value::U16(0x11)
        );
        assert!(matches!(
            parse_value(PropertyCode(0xD26C), "300", DataType::UINT8, None),
            Err(ParseError::OutOfRange { .. })
        ));
        assert_eq!(
            parse_value(PropertyCode(0xD26C), "0x10", DataType::UINT8, None).unwrap(),
            Value::U8(16)
        );
    }
}
