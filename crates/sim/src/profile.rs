//! Camera model profiles: everything that makes one simulated body differ from another, as data.
//!
//! A profile is a TOML file (see `crates/sim/models/`): USB ids, the DeviceInfo strings and
//! lists, the SDIO version, the buffer depth, the control codes of the 0x9202 reply, and the full
//! property table in the camera's order (code, data type, GetSet and IsEnabled bytes, default,
//! current value, and the range or the two enumeration lists). The built-in profiles are compiled
//! into the binary, so the simulator works where no captures exist; adding a body means adding a
//! file to `crates/sim/models/` (a build script lists them in [`BUILTIN`]). Comments in a profile
//! say where a value was invented.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::Deserialize;
use sonyctl_ptp::{
    DataType, DeviceInfo, EventCode, ObjectFormatCode, OperationCode, PropertyCode, Value,
};
use sonyctl_sony::{Enabled, GetSet, SdioVersion, SonyDevicePropDesc, SonyForm};

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// A profile that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not valid TOML, or a field of the wrong shape.
    #[error("{0}")]
    Syntax(String),
    /// A property entry that does not make sense.
    #[error("property {code:#06X}: {why}")]
    Property {
        /// The property code.
        code: u16,
        /// What is wrong.
        why: String,
    },
    /// Something else that is inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// No built-in profile has that name.
    #[error("no built-in camera model {0:?} (known: {1})")]
    UnknownModel(String, String),
}

/// A simulated camera body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Short name, e.g. `ilce-7sm3`.
    pub name: String,
    /// USB vendor id (0x054C).
    pub usb_vendor: u16,
    /// USB product id in PC-remote mode.
    pub usb_product: u16,
    /// The newest SDIO protocol version the body speaks.
    pub sdio_version: SdioVersion,
    /// How many shots the camera's buffer holds before it stops shooting.
    pub buffer_depth: usize,
    /// Sensor size in pixels (sets the RAW's size).
    pub sensor: (u32, u32),
    /// How the body writes RAW files (ARW).
    pub raw: RawFormat,
    /// Live-view frames a second. No source gives a figure for any body (fact sheet §8.1), so
    /// the built-in profiles say 30 and mark it unverified; a profile that omits it gets 30.
    pub live_view_fps: u32,
    /// The GetDeviceInfo reply.
    pub device_info: DeviceInfo,
    /// The second list of the 0x9202 reply (control codes), in the camera's order.
    pub controls: Vec<PropertyCode>,
    /// The first list of the 0x9202 reply, when it differs from the property table's codes
    /// (protocol-200 bodies list controls as descriptors but not as properties, and may name a
    /// property they never describe).
    pub ext_properties: Option<Vec<PropertyCode>>,
    /// The property table at power-on, in the camera's order.
    pub properties: Vec<SonyDevicePropDesc>,
    /// For properties changed by 0x9207 steps: the values a step moves through, in order (+1 is
    /// the next entry). These may differ from the reported list, which can hold values that are
    /// not selectable, or be a dummy range.
    pub steps: Vec<(PropertyCode, Vec<Value>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    usb_vendor: u16,
    usb_product: u16,
    sdio_version: u16,
    buffer_depth: usize,
    sensor: [u32; 2],
    #[serde(default = "default_live_view_fps")]
    live_view_fps: u32,
    raw: RawRawFormat,
    device_info: RawDeviceInfo,
    controls: Vec<u16>,
    #[serde(default)]
    ext_properties: Option<Vec<u16>>,
    #[serde(default, rename = "property")]
    properties: Vec<RawProperty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeviceInfo {
    standard_version: u16,
    vendor_extension_id: u32,
    vendor_extension_version: u16,
    vendor_extension_desc: String,
    functional_mode: u16,
    operations: Vec<u16>,
    events: Vec<u16>,
    device_properties: Vec<u16>,
    capture_formats: Vec<u16>,
    image_formats: Vec<u16>,
    manufacturer: String,
    model: String,
    device_version: String,
    serial_number: String,
}

/// How a body writes its RAW files (ARW 2.3): the stored raster, its active area, the levels,
/// and, for bodies with a choice, the 0xD288 values that select compressed or uncompressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFormat {
    /// The stored raster, width × height (a multiple of 32 wide: compressed rows are runs of 32).
    pub raster: (u32, u32),
    /// The active area within it.
    pub active: sonyctl_raw::Area,
    /// The black level.
    pub black_level: u16,
    /// The white level.
    pub white_level: u16,
    /// The RAW file type property (0xD288) values, if the body offers both kinds; a body
    /// without writes compressed files.
    pub file_type: Option<RawFileTypeValues>,
}

/// Which 0xD288 value means which kind of file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawFileTypeValues {
    /// The value for compressed files.
    pub compressed: u8,
    /// The value for uncompressed files.
    pub uncompressed: u8,
}

impl RawFormat {
    /// The kind of file written while 0xD288 reads `value` (`None`: the body has no such
    /// property).
    pub fn kind(&self, value: Option<u64>) -> sonyctl_raw::RawKind {
        match (self.file_type, value) {
            (Some(t), Some(v)) if v == u64::from(t.uncompressed) => {
                sonyctl_raw::RawKind::Uncompressed
            }
            _ => sonyctl_raw::RawKind::Compressed,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRawFormat {
    raster: [u32; 2],
    active: [u32; 4],
    black: u16,
    white: u16,
    #[serde(default)]
    file_type: Option<RawRawFileType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRawFileType {
    compressed: u8,
    uncompressed: u8,
}

/// A value as written in TOML: an integer, or a string (a PTP string, or an integer too large
/// for TOML's i64 written as `"0x…"`).
#[derive(Deserialize, Clone, Debug)]
#[serde(untagged)]
enum RawValue {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperty {
    code: u16,
    #[serde(rename = "type")]
    data_type: String,
    get_set: u8,
    enabled: u8,
    default: RawValue,
    current: RawValue,
    range: Option<Vec<RawValue>>,
    settable: Option<Vec<RawValue>>,
    all: Option<Vec<RawValue>>,
    steps: Option<Vec<RawValue>>,
}

/// The live-view rate of a profile that gives none.
pub const DEFAULT_LIVE_VIEW_FPS: u32 = 30;

fn default_live_view_fps() -> u32 {
    DEFAULT_LIVE_VIEW_FPS
}

fn data_type_by_name(name: &str) -> Option<DataType> {
    DataType::all().find(|d| d.name() == Some(name))
}

fn value(raw: &RawValue, dt: DataType) -> Result<Value, String> {
    match (raw, dt) {
        (RawValue::Text(s), DataType::STR) => {
            if s.encode_utf16().count() > 254 {
                return Err(format!("string {s:?} is longer than a PTP string can be"));
            }
            Ok(Value::Str(s.clone()))
        }
        (RawValue::Int(_), DataType::STR) => Err("a STR property needs string values".into()),
        (RawValue::Int(i), _) => {
            Value::from_integer(dt, i128::from(*i)).ok_or_else(|| format!("{i} does not fit {dt}"))
        }
        (RawValue::Text(s), _) => {
            let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(h) => u128::from_str_radix(h, 16)
                    .ok()
                    .and_then(|v| i128::try_from(v).ok()),
                None => s.parse::<i128>().ok(),
            };
            parsed
                .and_then(|v| Value::from_integer(dt, v))
                .ok_or_else(|| format!("{s:?} is not a {dt} value"))
        }
    }
}

fn values(raw: &[RawValue], dt: DataType) -> Result<Vec<Value>, String> {
    raw.iter().map(|r| value(r, dt)).collect()
}

impl Profile {
    /// Reads a profile from TOML text.
    pub fn from_toml(text: &str) -> Result<Profile, ProfileError> {
        let raw: RawProfile =
            toml::from_str(text).map_err(|e| ProfileError::Syntax(e.to_string()))?;
        let mut seen = HashSet::new();
        let mut properties = Vec::with_capacity(raw.properties.len());
        let mut steps = Vec::new();
        for p in &raw.properties {
            let err = |why: String| ProfileError::Property { code: p.code, why };
            if !seen.insert(p.code) {
                return Err(err("listed twice".into()));
            }
            let dt = data_type_by_name(&p.data_type)
                .ok_or_else(|| err(format!("unknown type {:?}", p.data_type)))?;
            let form = match (&p.range, &p.settable, &p.all) {
                (None, None, None) => SonyForm::None,
                (Some(r), None, None) => match values(r, dt).map_err(err)?.as_slice() {
                    [min, max, step] => SonyForm::Range {
                        min: min.clone(),
                        max: max.clone(),
                        step: step.clone(),
                    },
                    _ => return Err(err("range needs [min, max, step]".into())),
                },
                (None, Some(s), Some(a)) => SonyForm::Enumeration {
                    settable: values(s, dt).map_err(err)?,
                    all: values(a, dt).map_err(err)?,
                },
                _ => {
                    return Err(err(
                        "give either range, or both settable and all, or neither".into(),
                    ));
                }
            };
            if dt == DataType::STR && form != SonyForm::None {
                return Err(err("a STR property has no range or list".into()));
            }
            if let Some(list) = &p.steps {
                let list = values(list, dt).map_err(err)?;
                if list.is_empty() {
                    return Err(err("steps must not be empty".into()));
                }
                steps.push((PropertyCode(p.code), list));
            }
            properties.push(SonyDevicePropDesc {
                code: PropertyCode(p.code),
                data_type: dt,
                get_set: GetSet(p.get_set),
                enabled: Enabled(p.enabled),
                default: value(&p.default, dt).map_err(err)?,
                current: value(&p.current, dt).map_err(err)?,
                form,
            });
        }
        if raw.buffer_depth == 0 {
            return Err(ProfileError::Invalid(
                "buffer_depth must be at least 1".into(),
            ));
        }
        if !(1..=240).contains(&raw.live_view_fps) {
            return Err(ProfileError::Invalid(format!(
                "live_view_fps must be 1..=240, not {}",
                raw.live_view_fps
            )));
        }
        // Every profile says how its body writes RAW files: levels have one home, the profile.
        let raw_format = {
            let r = raw.raw;
            let [x, y, width, height] = r.active;
            let f = RawFormat {
                raster: (r.raster[0], r.raster[1]),
                active: sonyctl_raw::Area {
                    x,
                    y,
                    width,
                    height,
                },
                black_level: r.black,
                white_level: r.white,
                file_type: r.file_type.map(|t| RawFileTypeValues {
                    compressed: t.compressed,
                    uncompressed: t.uncompressed,
                }),
            };
            let fits = |at: u32, len: u32, max: u32| {
                len > 0 && at.checked_add(len).is_some_and(|e| e <= max)
            };
            if f.raster.0 % 32 != 0
                || !fits(x, width, f.raster.0)
                || !fits(y, height, f.raster.1)
                || f.black_level >= f.white_level
            {
                return Err(ProfileError::Invalid(format!(
                    "raw: a raster a multiple of 32 wide with the active area inside it \
                     and black below white is needed, not {:?}",
                    f
                )));
            }
            f
        };
        let d = raw.device_info;
        for s in [
            &d.vendor_extension_desc,
            &d.manufacturer,
            &d.model,
            &d.device_version,
            &d.serial_number,
        ] {
            if s.encode_utf16().count() > 254 {
                return Err(ProfileError::Invalid(format!(
                    "device_info string {s:?} is too long"
                )));
            }
        }
        Ok(Profile {
            name: raw.name,
            usb_vendor: raw.usb_vendor,
            usb_product: raw.usb_product,
            sdio_version: SdioVersion(raw.sdio_version),
            buffer_depth: raw.buffer_depth,
            sensor: (raw.sensor[0], raw.sensor[1]),
            raw: raw_format,
            live_view_fps: raw.live_view_fps,
            device_info: DeviceInfo {
                standard_version: d.standard_version,
                vendor_extension_id: d.vendor_extension_id,
                vendor_extension_version: d.vendor_extension_version,
                vendor_extension_desc: d.vendor_extension_desc,
                functional_mode: d.functional_mode,
                operations: d.operations.into_iter().map(OperationCode).collect(),
                events: d.events.into_iter().map(EventCode).collect(),
                device_properties: d.device_properties.into_iter().map(PropertyCode).collect(),
                capture_formats: d
                    .capture_formats
                    .into_iter()
                    .map(ObjectFormatCode)
                    .collect(),
                image_formats: d.image_formats.into_iter().map(ObjectFormatCode).collect(),
                manufacturer: d.manufacturer,
                model: d.model,
                device_version: d.device_version,
                serial_number: d.serial_number,
            },
            controls: raw.controls.into_iter().map(PropertyCode).collect(),
            ext_properties: raw
                .ext_properties
                .map(|v| v.into_iter().map(PropertyCode).collect()),
            properties,
            steps,
        })
    }

    /// A built-in profile by name (`ilce-7sm3`, `dsc-rx100m7`, `ilce-6000`, …).
    pub fn builtin(name: &str) -> Result<Profile, ProfileError> {
        let wanted = name.to_ascii_lowercase();
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == wanted).ok_or_else(|| {
            ProfileError::UnknownModel(
                name.to_string(),
                BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
        Profile::from_toml(text)
    }

    /// The first list of the 0x9202 reply: [`Profile::ext_properties`], or else every property
    /// of the table that is not a control.
    pub fn ext_property_codes(&self) -> Vec<PropertyCode> {
        match &self.ext_properties {
            Some(list) => list.clone(),
            None => self
                .properties
                .iter()
                .filter(|p| !p.get_set.is_control())
                .map(|p| p.code)
                .collect(),
        }
    }

    /// The values a 0x9207 step moves `code` through, if the profile gives them.
    pub fn step_list(&self, code: PropertyCode) -> Option<&[Value]> {
        self.steps
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    /// The property at power-on.
    pub fn property(&self, code: PropertyCode) -> Option<&SonyDevicePropDesc> {
        self.properties.iter().find(|p| p.code == code)
    }

    /// Writes the profile as TOML in the layout of the built-in files (codes in hex).
    pub fn to_toml(&self) -> String {
        let mut s = String::new();
        let hex_list = |v: &[u16]| {
            let items: Vec<String> = v.iter().map(|c| format!("0x{c:04X}")).collect();
            format!("[{}]", items.join(", "))
        };
        let _ = writeln!(s, "name = {:?}", self.name);
        let _ = writeln!(s, "usb_vendor = 0x{:04X}", self.usb_vendor);
        let _ = writeln!(s, "usb_product = 0x{:04X}", self.usb_product);
        let _ = writeln!(s, "sdio_version = {}", self.sdio_version.0);
        let _ = writeln!(s, "buffer_depth = {}", self.buffer_depth);
        let _ = writeln!(s, "sensor = [{}, {}]", self.sensor.0, self.sensor.1);
        let _ = writeln!(s, "live_view_fps = {}", self.live_view_fps);
        let raw_table = {
            let r = &self.raw;
            let mut t = format!(
                "\n[raw]\nraster = [{}, {}]\nactive = [{}, {}, {}, {}]\nblack = {}\nwhite = {}\n",
                r.raster.0,
                r.raster.1,
                r.active.x,
                r.active.y,
                r.active.width,
                r.active.height,
                r.black_level,
                r.white_level
            );
            if let Some(f) = r.file_type {
                let _ = writeln!(
                    t,
                    "file_type = {{ compressed = 0x{:02X}, uncompressed = 0x{:02X} }}",
                    f.compressed, f.uncompressed
                );
            }
            t
        };
        let d = &self.device_info;
        let _ = writeln!(
            s,
            "controls = {}",
            hex_list(&self.controls.iter().map(|c| c.0).collect::<Vec<_>>())
        );
        if let Some(ext) = &self.ext_properties {
            let _ = writeln!(
                s,
                "ext_properties = {}",
                hex_list(&ext.iter().map(|c| c.0).collect::<Vec<_>>())
            );
        }
        s.push_str(&raw_table);
        let _ = writeln!(s, "\n[device_info]");
        let _ = writeln!(s, "standard_version = {}", d.standard_version);
        let _ = writeln!(s, "vendor_extension_id = 0x{:X}", d.vendor_extension_id);
        let _ = writeln!(
            s,
            "vendor_extension_version = {}",
            d.vendor_extension_version
        );
        let _ = writeln!(s, "vendor_extension_desc = {:?}", d.vendor_extension_desc);
        let _ = writeln!(s, "functional_mode = {}", d.functional_mode);
        let codes = |v: Vec<u16>| hex_list(&v);
        let _ = writeln!(
            s,
            "operations = {}",
            codes(d.operations.iter().map(|c| c.0).collect())
        );
        let _ = writeln!(
            s,
            "events = {}",
            codes(d.events.iter().map(|c| c.0).collect())
        );
        let _ = writeln!(
            s,
            "device_properties = {}",
            codes(d.device_properties.iter().map(|c| c.0).collect())
        );
        let _ = writeln!(
            s,
            "capture_formats = {}",
            codes(d.capture_formats.iter().map(|c| c.0).collect())
        );
        let _ = writeln!(
            s,
            "image_formats = {}",
            codes(d.image_formats.iter().map(|c| c.0).collect())
        );
        let _ = writeln!(s, "manufacturer = {:?}", d.manufacturer);
        let _ = writeln!(s, "model = {:?}", d.model);
        let _ = writeln!(s, "device_version = {:?}", d.device_version);
        let _ = writeln!(s, "serial_number = {:?}", d.serial_number);
        for p in &self.properties {
            let name = sonyctl_sony::property_name(p.code).unwrap_or("");
            let _ = writeln!(s, "\n[[property]] # {name}");
            let _ = writeln!(s, "code = 0x{:04X}", p.code.0);
            let _ = writeln!(s, "type = {:?}", p.data_type.name().unwrap_or("UNDEF"));
            let _ = writeln!(s, "get_set = 0x{:02X}", p.get_set.0);
            let _ = writeln!(s, "enabled = {}", p.enabled.0);
            let _ = writeln!(s, "default = {}", toml_value(&p.default));
            let _ = writeln!(s, "current = {}", toml_value(&p.current));
            match &p.form {
                SonyForm::None => {}
                SonyForm::Range { min, max, step } => {
                    let _ = writeln!(
                        s,
                        "range = [{}, {}, {}]",
                        toml_value(min),
                        toml_value(max),
                        toml_value(step)
                    );
                }
                SonyForm::Enumeration { settable, all } => {
                    let _ = writeln!(s, "settable = {}", toml_list(settable));
                    let _ = writeln!(s, "all = {}", toml_list(all));
                }
            }
            if let Some(list) = self.step_list(p.code) {
                let _ = writeln!(s, "steps = {}", toml_list(list));
            }
        }
        s
    }
}

/// A value in TOML: signed types in decimal, unsigned in hex, and anything beyond i64 quoted.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        v if v.data_type().is_signed() => match v.as_i64() {
            Some(i) => i.to_string(),
            None => format!("\"{}\"", v),
        },
        v => match v.as_u64() {
            Some(u) if u <= i64::MAX as u64 => format!("0x{u:X}"),
            Some(u) => format!("\"0x{u:X}\""),
            None => format!("\"{v}\""),
        },
    }
}

fn toml_list(vs: &[Value]) -> String {
    let items: Vec<String> = vs.iter().map(toml_value).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_without_a_raw_table_is_refused_rather_than_given_invented_levels() {
        let (_, text) = BUILTIN
            .iter()
            .find(|(n, _)| *n == "ilce-6000")
            .expect("a built-in profile");
        assert!(Profile::from_toml(text).is_ok());
        let start = text.find("\n[raw]").expect("a [raw] table");
        let end = start + 1 + text[start + 1..].find("\n[").expect("a table after it");
        let without = format!("{}{}", &text[..start], &text[end..]);
        let err = Profile::from_toml(&without).expect_err("no [raw] table");
        assert!(err.to_string().contains("raw"), "{err}");
    }

    #[test]
    fn every_builtin_profile_loads_and_writes_back_the_same() {
        for (name, _) in BUILTIN {
            let p = Profile::builtin(name).unwrap();
            assert_eq!(&p.name, name);
            let again = Profile::from_toml(&p.to_toml()).unwrap();
            assert_eq!(again, p, "{name}");
        }
        assert!(matches!(
            Profile::builtin("ilce-9999"),
            Err(ProfileError::UnknownModel(..))
        ));
    }

    /// The Sony layer's body table is the one home of each body's sensor: every built-in
    /// profile's RAW active area, white level and effective pixels agree with its row.
    #[test]
    fn every_builtin_body_agrees_with_the_body_table() {
        for (name, _) in BUILTIN {
            let p = Profile::builtin(name).unwrap();
            let model = &p.device_info.model;
            let body = sonyctl_sony::bodies::body(model)
                .unwrap_or_else(|| panic!("{model} has no row in sonyctl_sony::bodies"));
            assert_eq!(
                (p.raw.active.width, p.raw.active.height),
                body.active,
                "{model}: active area"
            );
            assert_eq!(p.raw.white_level, body.white_level, "{model}: white level");
            assert_eq!(p.sensor, body.effective, "{model}: effective pixels");
        }
    }

    #[test]
    fn bad_profiles_are_explained() {
        let base = Profile::builtin("ilce-6000").unwrap().to_toml();
        let dup = format!(
            "{base}\n[[property]]\ncode = 0x5004\ntype = \"UINT8\"\nget_set = 1\nenabled = 1\ndefault = 1\ncurrent = 1\n"
        );
        assert!(matches!(
            Profile::from_toml(&dup),
            Err(ProfileError::Property { code: 0x5004, .. })
        ));
        let bad_type = format!(
            "{base}\n[[property]]\ncode = 0xD999\ntype = \"UINT7\"\nget_set = 1\nenabled = 1\ndefault = 1\ncurrent = 1\n"
        );
        assert!(
            Profile::from_toml(&bad_type)
                .unwrap_err()
                .to_string()
                .contains("UINT7")
        );
        let too_big = format!(
            "{base}\n[[property]]\ncode = 0xD999\ntype = \"UINT8\"\nget_set = 1\nenabled = 1\ndefault = 1\ncurrent = 300\n"
        );
        assert!(
            Profile::from_toml(&too_big)
                .unwrap_err()
                .to_string()
                .contains("300")
        );
        assert!(matches!(
            Profile::from_toml("name = 1"),
            Err(ProfileError::Syntax(_))
        ));
    }
}
