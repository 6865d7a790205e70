//! Sony's extended property descriptors and the 0x9209 SDIO_GetAllExtDevicePropInfo reply.
//!
//! ```text
//! reply:      u32 count, u32 0, count × descriptor
//! descriptor: u16 code, u16 datatype, u8 GetSet, u8 IsEnabled, default, current, u8 form flag, form
//! enum form:  v200: u16 n, n values            v300: u16 n1, n1 values (settable now), u16 n2, n2 values (all)
//! ```
//! The data type comes from each descriptor, never from a table. The layout of an enumeration
//! depends on the SDIO version negotiated with 0x9202, which the reply itself does not carry.

use std::collections::HashSet;

use sonyctl_ptp::dataset::{decode_data_type, decode_enum_list, decode_range, encode_enum_list};
use sonyctl_ptp::{
    Codec, DataType, DecodeError, DecodeErrorKind, EncodeError, Form, PropertyCode, Reader, Value,
    Writer,
};

/// The SDIO protocol version negotiated with 0x9202 (200 for pre-2020 bodies, 300 after).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SdioVersion(pub u16);

impl SdioVersion {
    /// Protocol 2.00: one enumeration list, controls as descriptors, stepping with 0x9207.
    pub const V200: Self = Self(200);
    /// Protocol 3.00: two enumeration lists, absolute values with 0x9205.
    pub const V300: Self = Self(300);

    /// True when enumerations carry two lists.
    pub fn has_two_lists(self) -> bool {
        self.0 >= 300
    }
}

impl std::fmt::Display for SdioVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The GetSet byte: 0 read-only, 1 settable with 0x9205, 0x81–0x84 a control driven with 0x9207.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct GetSet(pub u8);

/// What kind of control a GetSet byte ≥ 0x80 declares.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlKind {
    /// 0x81: a button (1 up, 2 down).
    Button,
    /// 0x82: a notch (step ±n).
    Notch,
    /// 0x83: a lock.
    Lock,
    /// 0x84: a variable.
    Variable,
}

impl GetSet {
    /// Read-only.
    pub const READ_ONLY: Self = Self(0);
    /// Settable with 0x9205.
    pub const READ_WRITE: Self = Self(1);
    /// Button control.
    pub const BUTTON: Self = Self(0x81);
    /// Notch control.
    pub const NOTCH: Self = Self(0x82);
    /// Lock control.
    pub const LOCK: Self = Self(0x83);
    /// Variable control.
    pub const VARIABLE: Self = Self(0x84);

    /// The control kind, for 0x81–0x84.
    pub fn control(self) -> Option<ControlKind> {
        Some(match self.0 {
            0x81 => ControlKind::Button,
            0x82 => ControlKind::Notch,
            0x83 => ControlKind::Lock,
            0x84 => ControlKind::Variable,
            _ => return None,
        })
    }

    /// True for any control (bit 7 set).
    pub fn is_control(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// A short label: `ro`, `rw`, `button`, …, or hex.
    pub fn label(self) -> String {
        match (self.0, self.control()) {
            (0, _) => "ro".into(),
            (1, _) => "rw".into(),
            (_, Some(ControlKind::Button)) => "button".into(),
            (_, Some(ControlKind::Notch)) => "notch".into(),
            (_, Some(ControlKind::Lock)) => "lock".into(),
            (_, Some(ControlKind::Variable)) => "variable".into(),
            (v, None) => format!("{v:#04x}"),
        }
    }
}

/// Sony's extra IsEnabled byte: 0 disabled, 1 enabled, 2 display only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Enabled(pub u8);

impl Enabled {
    /// Greyed out: cannot be set in the current state.
    pub const DISABLED: Self = Self(0);
    /// Enabled.
    pub const ENABLED: Self = Self(1);
    /// Shown but not settable.
    pub const DISPLAY_ONLY: Self = Self(2);

    /// A short label.
    pub fn label(self) -> String {
        match self.0 {
            0 => "disabled".into(),
            1 => "enabled".into(),
            2 => "display-only".into(),
            v => format!("{v:#04x}"),
        }
    }
}

/// The allowed values of a Sony property.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SonyForm {
    /// No form.
    None,
    /// Range: min, max, step (one in both protocol versions).
    Range {
        /// Smallest value.
        min: Value,
        /// Largest value.
        max: Value,
        /// Step.
        step: Value,
    },
    /// Enumeration. On protocol 300 `settable` is list 1 (what can be set now) and `all` is list 2
    /// (every value the property can take). A protocol-200 reply has one list, which fills both.
    Enumeration {
        /// Values settable now.
        settable: Vec<Value>,
        /// Every value the property can report.
        all: Vec<Value>,
    },
}

impl SonyForm {
    /// The form flag byte.
    pub fn flag(&self) -> u8 {
        match self {
            SonyForm::None => 0,
            SonyForm::Range { .. } => 1,
            SonyForm::Enumeration { .. } => 2,
        }
    }
}

/// One property as Sony describes it inside 0x9209 (and 0x9251).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SonyDevicePropDesc {
    /// Property (or control) code.
    pub code: PropertyCode,
    /// Data type of every value in this descriptor.
    pub data_type: DataType,
    /// How it is written.
    pub get_set: GetSet,
    /// Whether it can be used now.
    pub enabled: Enabled,
    /// Factory default (meaningless on protocol 300 bodies).
    pub default: Value,
    /// Current value.
    pub current: Value,
    /// Allowed values.
    pub form: SonyForm,
}

/// Minimum size of a descriptor on the wire: code, type, two bytes, two 1-byte values, flag.
const MIN_DESCRIPTOR_LEN: usize = 9;

impl SonyDevicePropDesc {
    /// Decodes one descriptor with the enumeration layout of `version`.
    pub fn decode(r: &mut Reader<'_>, version: SdioVersion) -> Result<Self, DecodeError> {
        r.within("SonyDevicePropDesc", |r| {
            let code = PropertyCode(r.u16()?);
            let data_type = decode_data_type(r)?;
            let get_set = GetSet(r.u8()?);
            let enabled = Enabled(r.u8()?);
            let default = Value::decode(r, data_type)?;
            let current = Value::decode(r, data_type)?;
            let at = r.offset();
            let form = match r.u8()? {
                0 => SonyForm::None,
                1 => match decode_range(r, data_type)? {
                    Form::Range { min, max, step } => SonyForm::Range { min, max, step },
                    _ => SonyForm::None,
                },
                2 => {
                    let first = decode_enum_list(r, data_type)?;
                    if version.has_two_lists() {
                        let all = decode_enum_list(r, data_type)?;
                        SonyForm::Enumeration {
                            settable: first,
                            all,
                        }
                    } else {
                        SonyForm::Enumeration {
                            settable: first.clone(),
                            all: first,
                        }
                    }
                }
                f => {
                    return Err(r.error_at(
                        at,
                        DecodeErrorKind::InvalidValue {
                            field: "form flag",
                            value: f.into(),
                        },
                    ));
                }
            };
            Ok(SonyDevicePropDesc {
                code,
                data_type,
                get_set,
                enabled,
                default,
                current,
                form,
            })
        })
    }

    /// Appends the wire form with the enumeration layout of `version`. On protocol 200 only the
    /// `all` list is written (it is the list a protocol-200 body reports).
    pub fn encode(&self, out: &mut Vec<u8>, version: SdioVersion) -> Result<(), EncodeError> {
        out.put_u16(self.code.0);
        out.put_u16(self.data_type.0);
        out.put_u8(self.get_set.0);
        out.put_u8(self.enabled.0);
        self.default.encode_as(self.data_type, out)?;
        self.current.encode_as(self.data_type, out)?;
        out.put_u8(self.form.flag());
        match &self.form {
            SonyForm::None => {}
            SonyForm::Range { min, max, step } => {
                for v in [min, max, step] {
                    v.encode_as(self.data_type, out)?;
                }
            }
            SonyForm::Enumeration { settable, all } => {
                if version.has_two_lists() {
                    encode_enum_list(out, self.data_type, settable)?;
                }
                encode_enum_list(out, self.data_type, all)?;
            }
        }
        Ok(())
    }

    /// True if the host may write this property right now with 0x9205: enabled and GetSet 1.
    pub fn is_settable(&self) -> bool {
        self.enabled == Enabled::ENABLED && self.get_set == GetSet::READ_WRITE
    }

    /// Values settable now (enumeration list 1), if the form is an enumeration.
    pub fn settable_values(&self) -> Option<&[Value]> {
        match &self.form {
            SonyForm::Enumeration { settable, .. } => Some(settable),
            _ => None,
        }
    }

    /// Every value the property can take (enumeration list 2), if the form is an enumeration.
    pub fn all_values(&self) -> Option<&[Value]> {
        match &self.form {
            SonyForm::Enumeration { all, .. } => Some(all),
            _ => None,
        }
    }
}

/// The decoded 0x9209 reply: every property descriptor, in the camera's order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AllPropInfo {
    /// The enumeration layout the reply was decoded with.
    pub version: SdioVersion,
    /// Descriptors in wire order; each code appears once.
    pub properties: Vec<SonyDevicePropDesc>,
}

impl AllPropInfo {
    /// Decodes a whole 0x9209 payload with the layout of `version`. Every byte must be used; a
    /// duplicate property code is an error.
    pub fn decode(bytes: &[u8], version: SdioVersion) -> Result<Self, DecodeError> {
        Self::decode_at(bytes, 0, version)
    }

    /// As [`AllPropInfo::decode`] for a payload that starts at `base` in the caller's input.
    pub fn decode_at(bytes: &[u8], base: usize, version: SdioVersion) -> Result<Self, DecodeError> {
        let mut r = Reader::with_base(bytes, base);
        let properties = r.within("SdioGetAllExtDevicePropInfo", |r| {
            let at = r.offset();
            let count = r.u32()?;
            let reserved = r.u32()?;
            // The header is a u64 count in effect; a non-zero high half is an impossible count.
            let count = u64::from(count) | (u64::from(reserved) << 32);
            if reserved != 0 {
                r.check_count(at, count, MIN_DESCRIPTOR_LEN)?;
            }
            // Allocation is bounded by what the input can hold; the loop itself stops at the first
            // descriptor that does not fit, so a cut reply reports where it was cut.
            let cap = (r.remaining() / MIN_DESCRIPTOR_LEN).min(count as usize);
            let mut seen = HashSet::with_capacity(cap);
            let mut props = Vec::with_capacity(cap);
            for index in 0..count {
                let start = r.offset();
                let code = r
                    .peek(2)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map(u16::from_le_bytes);
                let d = SonyDevicePropDesc::decode(r, version).map_err(|e| {
                    let code = code.map_or_else(String::new, |c| format!(" {c:#06X}"));
                    e.with_context(format!(
                        "{code} (descriptor {} of {count}, from offset {start:#x})",
                        index + 1
                    ))
                })?;
                if !seen.insert(d.code) {
                    return Err(r.error_at(start, DecodeErrorKind::DuplicateProperty(d.code.0)));
                }
                props.push(d);
            }
            r.finish()?;
            Ok(props)
        })?;
        Ok(AllPropInfo {
            version,
            properties,
        })
    }

    /// True if `bytes` is a well-formed 0x9209 reply in the layout of `version`, checked by
    /// walking it without allocating (duplicates are not checked here).
    pub fn fits_layout(bytes: &[u8], version: SdioVersion) -> bool {
        fn skip_value(r: &mut Reader<'_>, dt: DataType) -> Result<(), DecodeError> {
            match dt.size() {
                Some(n) => r.take(n).map(|_| ()),
                None if dt == DataType::STR => {
                    let n = usize::from(r.u8()?);
                    r.take(n * 2).map(|_| ())
                }
                None => {
                    let e = dt
                        .element()
                        .ok_or_else(|| r.error(DecodeErrorKind::InvalidDataType(dt.0)))?;
                    let n = r.count_u32(e.min_wire_size())?;
                    r.take(n * e.size().unwrap_or(1)).map(|_| ())
                }
            }
        }
        fn skip_list(r: &mut Reader<'_>, dt: DataType) -> Result<(), DecodeError> {
            let n = r.count_u16(dt.min_wire_size())?;
            match dt.size() {
                Some(size) => r.take(n * size).map(|_| ()),
                None => (0..n).try_for_each(|_| skip_value(r, dt)),
            }
        }
        let walk = || -> Result<(), DecodeError> {
            let mut r = Reader::new(bytes);
            let count = r.u32()?;
            if r.u32()? != 0 {
                return Err(r.error(DecodeErrorKind::Invalid("count above 32 bits".into())));
            }
            for _ in 0..count {
                r.take(2)?;
                let dt = decode_data_type(&mut r)?;
                r.take(2)?;
                skip_value(&mut r, dt)?;
                skip_value(&mut r, dt)?;
                match r.u8()? {
                    0 => {}
                    1 => (0..3).try_for_each(|_| skip_value(&mut r, dt))?,
                    2 => {
                        skip_list(&mut r, dt)?;
                        if version.has_two_lists() {
                            skip_list(&mut r, dt)?;
                        }
                    }
                    _ => return Err(r.error(DecodeErrorKind::Invalid("form flag".into()))),
                }
            }
            r.finish()
        };
        walk().is_ok()
    }

    /// Decodes without knowing the version: the two-list (300) layout first, then one list (200).
    /// The layout is chosen by a walk that allocates nothing, so a reply is decoded once. When
    /// neither layout fits, the error of the layout that got further is returned.
    pub fn decode_any(bytes: &[u8], base: usize) -> Result<Self, DecodeError> {
        for version in [SdioVersion::V300, SdioVersion::V200] {
            if Self::fits_layout(bytes, version) {
                return Self::decode_at(bytes, base, version);
            }
        }
        match Self::decode_at(bytes, base, SdioVersion::V300) {
            Ok(v) => Ok(v),
            Err(e300) => match Self::decode_at(bytes, base, SdioVersion::V200) {
                Ok(v) => Ok(v),
                Err(e200) => Err(if e200.offset > e300.offset {
                    e200
                } else {
                    e300
                }),
            },
        }
    }

    /// The wire form with this reply's version layout.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let n = u32::try_from(self.properties.len())
            .map_err(|_| EncodeError::TooManyItems(self.properties.len()))?;
        out.put_u32(n);
        out.put_u32(0);
        for p in &self.properties {
            p.encode(out, self.version)?;
        }
        Ok(())
    }

    /// The wire form as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// The descriptor for `code`.
    pub fn get(&self, code: PropertyCode) -> Option<&SonyDevicePropDesc> {
        self.properties.iter().find(|p| p.code == code)
    }
}

/// A single descriptor in a 0x9251 reply uses the same layout; this wraps it for [`Codec`]
/// users that know the version up front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SonyDevicePropDescV300(pub SonyDevicePropDesc);

impl Codec for SonyDevicePropDescV300 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        SonyDevicePropDesc::decode(r, SdioVersion::V300).map(Self)
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.0.encode(out, SdioVersion::V300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wb(settable: Vec<u16>, all: Vec<u16>) -> SonyDevicePropDesc {
        SonyDevicePropDesc {
            code: PropertyCode::WHITE_BALANCE,
            data_type: DataType::UINT16,
            get_set: GetSet::READ_WRITE,
            enabled: Enabled::ENABLED,
            default: Value::U16(0),
            current: Value::U16(2),
            form: SonyForm::Enumeration {
                settable: settable.into_iter().map(Value::U16).collect(),
                all: all.into_iter().map(Value::U16).collect(),
            },
        }
    }

    #[test]
    fn both_layouts_round_trip() {
        let v300 = AllPropInfo {
            version: SdioVersion::V300,
            properties: vec![wb(vec![2], vec![2, 4]), {
                let mut d = wb(vec![], vec![]);
                d.code = PropertyCode(0xD20F);
                d.form = SonyForm::Range {
                    min: Value::U16(2500),
                    max: Value::U16(9900),
                    step: Value::U16(100),
                };
                d
            }],
        };
        let bytes = v300.to_bytes().unwrap();
        assert_eq!(
            AllPropInfo::decode(&bytes, SdioVersion::V300).unwrap(),
            v300
        );
        assert_eq!(AllPropInfo::decode_any(&bytes, 0).unwrap(), v300);

        let v200 = AllPropInfo {
            version: SdioVersion::V200,
            properties: vec![wb(vec![2, 4], vec![2, 4])],
        };
        let bytes = v200.to_bytes().unwrap();
        assert_eq!(AllPropInfo::decode_any(&bytes, 0).unwrap(), v200);
    }

    #[test]
    fn duplicate_code_undef_type_and_huge_count_are_errors() {
        let dup = AllPropInfo {
            version: SdioVersion::V300,
            properties: vec![wb(vec![2], vec![2]), wb(vec![2], vec![2])],
        };
        let err = AllPropInfo::decode(&dup.to_bytes().unwrap(), SdioVersion::V300).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::DuplicateProperty(0x5005));

        let mut undef = AllPropInfo {
            version: SdioVersion::V300,
            properties: vec![wb(vec![], vec![])],
        }
        .to_bytes()
        .unwrap();
        undef[10] = 0;
        undef[11] = 0;
        let err = AllPropInfo::decode(&undef, SdioVersion::V300).unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::InvalidDataType(0));
        assert_eq!(err.offset, 10);

        // A count of 0x7FFFFFFF with three bytes behind it: no huge allocation, a truncation error
        // inside the first descriptor that names it.
        let huge = [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0x05, 0x50, 3];
        let err = AllPropInfo::decode(&huge, SdioVersion::V300).unwrap_err();
        assert!(matches!(err.kind, DecodeErrorKind::Truncated { .. }));
        assert!(
            err.to_string()
                .contains("0x5005 (descriptor 1 of 2147483647"),
            "{err}"
        );
        // A non-zero high half of the count is an impossible count.
        let huge = [1, 0, 0, 0, 1, 0, 0, 0, 0x05, 0x50, 3];
        let err = AllPropInfo::decode(&huge, SdioVersion::V300).unwrap_err();
        assert!(matches!(err.kind, DecodeErrorKind::CountTooLarge { .. }));
    }
}
