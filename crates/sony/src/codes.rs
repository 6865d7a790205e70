//! Sony's vendor codes: SDIO operations, responses, events, object formats, property and control
//! codes, and the names of everything (standard names from `sonyctl-ptp`, Sony's on top).

use sonyctl_ptp::ptpip::Packet;
use sonyctl_ptp::{EventCode, ObjectFormatCode, OperationCode, PropertyCode, ResponseCode};

use crate::catalogue_names::{
    CONTROL_NAMES, PROPERTY_NAMES, SONY_EVENT_NAMES, SONY_OPERATION_NAMES,
};

/// SDIO operation codes.
pub mod op {
    use sonyctl_ptp::OperationCode;
    /// 0x9201 SDIO_Connect(phase 1/2/3, 0, 0): 8 zero bytes in, then OK.
    pub const SDIO_CONNECT: OperationCode = OperationCode(0x9201);
    /// 0x9202 SDIO_GetExtDeviceInfo(version): version + property codes + control codes.
    pub const SDIO_GET_EXT_DEVICE_INFO: OperationCode = OperationCode(0x9202);
    /// 0x9203 old single GetDevicePropdesc (standard layout).
    pub const GET_DEVICE_PROP_DESC_OLD: OperationCode = OperationCode(0x9203);
    /// 0x9205 SDIO_SetExtDevicePropValue(code) + value: absolute set.
    pub const SDIO_SET_EXT_DEVICE_PROP_VALUE: OperationCode = OperationCode(0x9205);
    /// 0x9207 SDIO_ControlDevice(code) + value: buttons and steps.
    pub const SDIO_CONTROL_DEVICE: OperationCode = OperationCode(0x9207);
    /// 0x9209 SDIO_GetAllExtDevicePropInfo: every descriptor.
    pub const SDIO_GET_ALL_EXT_DEVICE_PROP_INFO: OperationCode = OperationCode(0x9209);
    /// 0x9251 SDIO_GetExtDeviceProp(code): one descriptor.
    pub const SDIO_GET_EXT_DEVICE_PROP: OperationCode = OperationCode(0x9251);
}

/// Sony vendor response codes.
pub mod response {
    use sonyctl_ptp::ResponseCode;
    /// 0xA101: SDIOConnect(1) refused because another client holds the camera.
    pub const AUTHENTICATION_FAILED: ResponseCode = ResponseCode(0xA101);
    /// 0xA102
    pub const PASSWORD_LENGTH_OVER_MAX: ResponseCode = ResponseCode(0xA102);
    /// 0xA103
    pub const PASSWORD_INCLUDES_INVALID_CHAR: ResponseCode = ResponseCode(0xA103);
    /// 0xA104
    pub const FEATURE_VERSION_INVALID_VALUE: ResponseCode = ResponseCode(0xA104);
    /// 0xA105
    pub const TEMPORARY_STORAGE_FULL: ResponseCode = ResponseCode(0xA105);
    /// 0xA106
    pub const CAMERA_STATUS_ERROR: ResponseCode = ResponseCode(0xA106);
}

/// Sony event codes.
pub mod event {
    use sonyctl_ptp::EventCode;
    /// 0xC201: an object is ready (p1 = handle, 0xFFFFC001 for a shot).
    pub const OBJECT_ADDED: EventCode = EventCode(0xC201);
    /// 0xC202: object removed.
    pub const OBJECT_REMOVED: EventCode = EventCode(0xC202);
    /// 0xC203: a property changed (p1 = its code; some bodies send 0).
    pub const DEVICE_PROP_CHANGED: EventCode = EventCode(0xC203);
}

/// Sony object handles.
pub mod handle {
    /// The shot waiting in the camera's buffer.
    pub const CAPTURED_IMAGE: u32 = 0xFFFF_C001;
    /// The live-view frame.
    pub const LIVE_VIEW: u32 = 0xFFFF_C002;
}

/// Sony object formats.
pub mod format {
    use sonyctl_ptp::ObjectFormatCode;
    /// Sony ARW raw.
    pub const ARW: ObjectFormatCode = ObjectFormatCode(0xB101);
    /// Sony HEIF.
    pub const HEIF: ObjectFormatCode = ObjectFormatCode(0xB110);
    /// Sony MPO.
    pub const MPO: ObjectFormatCode = ObjectFormatCode(0xB301);
    /// MP4 movie (listed by newer bodies).
    pub const MP4: ObjectFormatCode = ObjectFormatCode(0xB982);
}

/// Well-known property codes.
pub mod prop {
    use sonyctl_ptp::PropertyCode;
    /// 0x5004 CompressionSetting (protocol 200).
    pub const COMPRESSION_SETTING: PropertyCode = PropertyCode(0x5004);
    /// 0x5005 WhiteBalance.
    pub const WHITE_BALANCE: PropertyCode = PropertyCode(0x5005);
    /// 0x5007 FNumber (f × 100).
    pub const F_NUMBER: PropertyCode = PropertyCode(0x5007);
    /// 0x500A FocusMode.
    pub const FOCUS_MODE: PropertyCode = PropertyCode(0x500A);
    /// 0x500B ExposureMeteringMode.
    pub const METERING_MODE: PropertyCode = PropertyCode(0x500B);
    /// 0x500C FlashMode.
    pub const FLASH_MODE: PropertyCode = PropertyCode(0x500C);
    /// 0x500E ExposureProgramMode (u16 on 200, u32 with category on 300).
    pub const EXPOSURE_PROGRAM: PropertyCode = PropertyCode(0x500E);
    /// 0x5010 ExposureBiasCompensation (EV × 1000).
    pub const EXPOSURE_COMPENSATION: PropertyCode = PropertyCode(0x5010);
    /// 0x5013 StillCaptureMode (drive; u16 on 200, u32 on 300).
    pub const DRIVE_MODE: PropertyCode = PropertyCode(0x5013);
    /// 0xD07B LensModelName (a string).
    pub const LENS_MODEL_NAME: PropertyCode = PropertyCode(0xD07B);
    /// 0xD19F ExtendedShutterSpeed (u64 num<<32|den).
    pub const EXTENDED_SHUTTER_SPEED: PropertyCode = PropertyCode(0xD19F);
    /// 0xD200 FlashCompensation (EV × 1000).
    pub const FLASH_COMPENSATION: PropertyCode = PropertyCode(0xD200);
    /// 0xD201 DRangeOptimize.
    pub const DRO: PropertyCode = PropertyCode(0xD201);
    /// 0xD203 ImageSize.
    pub const IMAGE_SIZE: PropertyCode = PropertyCode(0xD203);
    /// 0xD20D ShutterSpeed (u32 num<<16|den).
    pub const SHUTTER_SPEED: PropertyCode = PropertyCode(0xD20D);
    /// 0xD20E BatteryLevelIndicator.
    pub const BATTERY_LEVEL_INDICATOR: PropertyCode = PropertyCode(0xD20E);
    /// 0xD20F ColorTemperature (K).
    pub const COLOR_TEMPERATURE: PropertyCode = PropertyCode(0xD20F);
    /// 0xD211 AspectRatio.
    pub const ASPECT_RATIO: PropertyCode = PropertyCode(0xD211);
    /// 0xD213 FocusIndication.
    pub const FOCUS_INDICATION: PropertyCode = PropertyCode(0xD213);
    /// 0xD215 pending images in the buffer ([`crate::values::PendingImages`]).
    pub const PENDING_IMAGES: PropertyCode = PropertyCode(0xD215);
    /// 0xD218 BatteryRemaining (%; −1 unknown).
    pub const BATTERY_REMAINING: PropertyCode = PropertyCode(0xD218);
    /// 0xD21D MovieRecordingState.
    pub const MOVIE_RECORDING_STATE: PropertyCode = PropertyCode(0xD21D);
    /// 0xD21E ISO.
    pub const ISO: PropertyCode = PropertyCode(0xD21E);
    /// 0xD221 LiveViewStatus.
    pub const LIVE_VIEW_STATUS: PropertyCode = PropertyCode(0xD221);
    /// 0xD222 StillImageSaveDestination.
    pub const SAVE_DESTINATION: PropertyCode = PropertyCode(0xD222);
    /// 0xD252 JpegQuality (protocol 300).
    pub const JPEG_QUALITY: PropertyCode = PropertyCode(0xD252);
    /// 0xD253 FileFormat (protocol 300).
    pub const FILE_FORMAT: PropertyCode = PropertyCode(0xD253);
    /// 0xD288 RAWFileType (compressed or uncompressed; the values are body data, see the
    /// simulated camera's profiles).
    pub const RAW_FILE_TYPE: PropertyCode = PropertyCode(0xD288);
    /// 0xD25A PriorityKeySetting (0 camera, 1 PC).
    pub const PRIORITY_KEY: PropertyCode = PropertyCode(0xD25A);
    /// 0xD21B PictureEffect.
    pub const PICTURE_EFFECT: PropertyCode = PropertyCode(0xD21B);
    /// 0xD235 NearFarEnableStatus: 1 while the lens can be driven (manual focus).
    pub const NEAR_FAR_ENABLED: PropertyCode = PropertyCode(0xD235);
    /// 0xD24C FocalPosition.
    pub const FOCAL_POSITION: PropertyCode = PropertyCode(0xD24C);
    /// 0xD26A LiveViewImageQuality.
    pub const LIVE_VIEW_QUALITY: PropertyCode = PropertyCode(0xD26A);
}

/// Control codes (sent with 0x9207).
pub mod control {
    use sonyctl_ptp::PropertyCode;
    /// S1: half press.
    pub const S1_BUTTON: PropertyCode = PropertyCode(0xD2C1);
    /// S2: full press.
    pub const S2_BUTTON: PropertyCode = PropertyCode(0xD2C2);
    /// AE lock.
    pub const AEL_BUTTON: PropertyCode = PropertyCode(0xD2C3);
    /// Request one shooting.
    pub const REQUEST_ONE_SHOOTING: PropertyCode = PropertyCode(0xD2C7);
    /// Movie record (2 start, 1 stop).
    pub const MOVIE_REC: PropertyCode = PropertyCode(0xD2C8);
    /// FEL lock (the AF-ON button on the bodies that list it as AF_LOCK).
    pub const FEL_BUTTON: PropertyCode = PropertyCode(0xD2C9);
    /// Manual focus near/far step (i16 ±1/3/7).
    pub const NEAR_FAR: PropertyCode = PropertyCode(0xD2D1);
    /// AF area position (u32 x<<16|y).
    pub const AF_AREA_POSITION: PropertyCode = PropertyCode(0xD2DC);
    /// Button value: pressed.
    pub const PRESS: u16 = 2;
    /// Button value: released.
    pub const RELEASE: u16 = 1;
}

fn lookup(table: &[(u16, &'static str)], code: u16) -> Option<&'static str> {
    table
        .binary_search_by_key(&code, |&(c, _)| c)
        .ok()
        .and_then(|i| table.get(i))
        .map(|&(_, n)| n)
}

/// The public name of a property code (standard or Sony), if it has one.
pub fn property_name(code: PropertyCode) -> Option<&'static str> {
    lookup(PROPERTY_NAMES, code.0)
        .or_else(|| code.name())
        .or_else(|| control_name(code))
}

/// The public name of a control code, if it has one.
pub fn control_name(code: PropertyCode) -> Option<&'static str> {
    lookup(CONTROL_NAMES, code.0)
}

/// The name of an operation code, standard or Sony.
pub fn operation_name(code: OperationCode) -> Option<&'static str> {
    code.name().or_else(|| lookup(SONY_OPERATION_NAMES, code.0))
}

/// The name of an event code, standard or Sony.
pub fn event_name(code: EventCode) -> Option<&'static str> {
    code.name().or_else(|| lookup(SONY_EVENT_NAMES, code.0))
}

/// The name of a response code, standard or Sony.
pub fn response_name(code: ResponseCode) -> Option<&'static str> {
    code.name().or(match code.0 {
        0xA101 => Some("AuthenticationFailed"),
        0xA102 => Some("PasswordLengthOverMax"),
        0xA103 => Some("PasswordIncludesInvalidChar"),
        0xA104 => Some("FeatureVersionInvalidValue"),
        0xA105 => Some("TemporaryStorageFull"),
        0xA106 => Some("CameraStatusError"),
        _ => None,
    })
}

/// The name of an object format, standard or Sony.
pub fn format_name(code: ObjectFormatCode) -> Option<&'static str> {
    code.name().or(match code.0 {
        0xB101 => Some("Sony ARW"),
        0xB110 => Some("Sony HEIF"),
        0xB301 => Some("Sony MPO"),
        0xB982 => Some("MP4"),
        _ => None,
    })
}

/// Every property code with a public Sony or PIMA name, with that name, sorted by code.
pub fn known_properties() -> impl Iterator<Item = (PropertyCode, &'static str)> {
    PROPERTY_NAMES.iter().map(|&(c, n)| (PropertyCode(c), n))
}

/// Every control code (0x9207) with a public name, sorted by code.
pub fn known_controls() -> impl Iterator<Item = (PropertyCode, &'static str)> {
    CONTROL_NAMES.iter().map(|&(c, n)| (PropertyCode(c), n))
}

/// Every Sony operation code with a public name, sorted by code.
pub fn known_operations() -> impl Iterator<Item = (OperationCode, &'static str)> {
    SONY_OPERATION_NAMES
        .iter()
        .map(|&(c, n)| (OperationCode(c), n))
}

/// Every Sony event code with a public name, sorted by code.
pub fn known_events() -> impl Iterator<Item = (EventCode, &'static str)> {
    SONY_EVENT_NAMES.iter().map(|&(c, n)| (EventCode(c), n))
}

/// Short names for the settings people change most, as `sonyctl get/set` accept them.
pub const ALIASES: &[(&str, u16)] = &[
    ("iso", 0xD21E),
    ("shutter", 0xD20D),
    ("shutter-speed", 0xD20D),
    ("aperture", 0x5007),
    ("f", 0x5007),
    ("f-number", 0x5007),
    ("ev", 0x5010),
    ("exposure-compensation", 0x5010),
    ("flash-compensation", 0xD200),
    ("wb", 0x5005),
    ("white-balance", 0x5005),
    ("color-temperature", 0xD20F),
    ("focus-mode", 0x500A),
    ("focus-area", 0xD22C),
    ("metering", 0x500B),
    ("flash", 0x500C),
    ("program", 0x500E),
    ("mode", 0x500E),
    ("drive", 0x5013),
    ("format", 0xD253),
    ("file-format", 0xD253),
    ("quality", 0xD252),
    ("jpeg-quality", 0xD252),
    ("compression", 0x5004),
    ("image-size", 0xD203),
    ("aspect", 0xD211),
    ("aspect-ratio", 0xD211),
    ("battery", 0xD218),
    ("destination", 0xD222),
    ("save-destination", 0xD222),
    ("priority", 0xD25A),
    ("pending", 0xD215),
    ("focus", 0xD213),
    ("movie", 0xD21D),
    ("live-view-quality", 0xD26A),
    ("dro", 0xD201),
];

/// The property a person means by `name`: an alias (`iso`, `shutter`, `wb`, …), a catalogue
/// name (`ShutterSpeed`, `FNumber`), or a hex code (`0xD21E`); case, `-` and `_` do not matter.
pub fn property_by_name(name: &str) -> Option<PropertyCode> {
    let fold = |s: &str| {
        s.chars()
            .filter(|c| *c != '-' && *c != '_')
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    let want = fold(name.trim());
    if let Some(hex) = want.strip_prefix("0x") {
        return u16::from_str_radix(hex, 16).ok().map(PropertyCode);
    }
    ALIASES
        .iter()
        .find(|(a, _)| fold(a) == want)
        .map(|&(_, c)| PropertyCode(c))
        .or_else(|| {
            PROPERTY_NAMES
                .iter()
                .chain(CONTROL_NAMES)
                .find(|(_, n)| fold(n) == want)
                .map(|&(c, _)| PropertyCode(c))
        })
        .or_else(|| {
            PropertyCode::KNOWN
                .iter()
                .copied()
                .find(|c| c.name().is_some_and(|n| fold(n) == want))
        })
}

/// One line for a PTP/IP packet, with operation, response and event names (Sony's too). Strings
/// from the peer are shown with `{:?}`, so control characters come out escaped.
pub fn describe_packet(p: &Packet) -> String {
    let guid_hex = |g: &[u8; 16]| g.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let detail = match p {
        Packet::InitCommandRequest {
            guid,
            friendly_name,
            protocol_version,
        } => format!(
            "guid {} name {friendly_name:?} version {protocol_version:#010x}",
            guid_hex(guid)
        ),
        Packet::InitCommandAck {
            connection_number,
            guid,
            friendly_name,
            protocol_version,
        } => {
            format!(
                "connection {connection_number:#x} guid {} name {friendly_name:?} version {}",
                guid_hex(guid),
                protocol_version.map_or("(none)".into(), |v| format!("{v:#010x}"))
            )
        }
        Packet::InitEventRequest { connection_number } => {
            format!("connection {connection_number:#x}")
        }
        Packet::InitFail { reason } => format!("reason {reason}"),
        Packet::OperationRequest {
            data_phase,
            code,
            transaction_id,
            params,
        } => format!(
            "{} tid {transaction_id:#x} data phase {} params {:x?}",
            describe(operation_name(*code), code.0),
            data_phase.0,
            params.as_slice()
        ),
        Packet::OperationResponse {
            code,
            transaction_id,
            params,
        } => format!(
            "{} tid {transaction_id:#x} params {:x?}",
            describe(response_name(*code), code.0),
            params.as_slice()
        ),
        Packet::Event {
            code,
            transaction_id,
            params,
        } => format!(
            "{} tid {transaction_id:#x} params {:x?}",
            describe(event_name(*code), code.0),
            params.as_slice()
        ),
        Packet::StartData {
            transaction_id,
            total_length,
        } => {
            format!("tid {transaction_id:#x} total {total_length} byte(s)")
        }
        Packet::Data {
            transaction_id,
            payload,
        }
        | Packet::EndData {
            transaction_id,
            payload,
        } => {
            format!("tid {transaction_id:#x} {} byte(s)", payload.len())
        }
        Packet::Cancel { transaction_id } => format!("tid {transaction_id:#x}"),
        _ => String::new(),
    };
    format!("{:<18} {detail}", p.name()).trim_end().to_string()
}

/// `Name` or `0xABCD` for a code with no public name.
pub fn describe(name: Option<&'static str>, code: u16) -> String {
    match name {
        Some(n) => n.to_string(),
        None => format!("{code:#06X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for table in [
            PROPERTY_NAMES,
            CONTROL_NAMES,
            SONY_OPERATION_NAMES,
            SONY_EVENT_NAMES,
        ] {
            assert!(
                table.windows(2).all(|w| w[0].0 < w[1].0),
                "sorted, unique codes"
            );
            let names: std::collections::HashSet<_> = table.iter().map(|e| e.1).collect();
            assert_eq!(names.len(), table.len(), "unique names");
        }
    }

    #[test]
    fn names_people_type() {
        let p = |s| property_by_name(s).map(|c| c.0);
        assert_eq!(p("ISO"), Some(0xD21E));
        assert_eq!(p("shutter"), Some(0xD20D));
        assert_eq!(p("Focus_Mode"), Some(0x500A));
        assert_eq!(p("ShutterSpeed"), Some(0xD20D));
        assert_eq!(p("fnumber"), Some(0x5007));
        assert_eq!(p("0xd26c"), Some(0xD26C));
        assert_eq!(p("S1Button"), Some(0xD2C1));
        assert_eq!(p("0xZZ"), None);
        assert_eq!(p("no-such-setting"), None);
        for (a, c) in ALIASES {
            assert_eq!(p(a), Some(*c));
        }
    }

    #[test]
    fn names_cover_standard_and_sony() {
        assert!(operation_name(OperationCode(0x9209)).is_some());
        assert_eq!(operation_name(OperationCode(0x1001)), Some("GetDeviceInfo"));
        assert_eq!(property_name(PropertyCode(0xD20D)), Some("ShutterSpeed"));
        assert_eq!(property_name(PropertyCode(0x5007)), Some("FNumber"));
        assert_eq!(
            response_name(ResponseCode(0xA101)),
            Some("AuthenticationFailed")
        );
        assert_eq!(describe(None, 0xD26C), "0xD26C");
        assert_eq!(describe(None, 0xF002), "0xF002");
    }
}
