//! Open code spaces: operations, responses, events, device properties, object formats.
//!
//! Each is a `struct Code(pub u16)` with named constants for the codes PIMA 15740 defines. A code
//! nobody knows yet is still a valid value and prints as hex (`0xF002`); vendor layers (the Sony
//! crate) add their own constants and names on top without touching this module.

use std::fmt;

macro_rules! code_space {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $konst:ident = $val:literal => $label:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u16);

        impl $name {
            $(
                #[doc = $label]
                pub const $konst: Self = Self($val);
            )*

            /// Every code this module names, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$konst),*];

            /// The standard name of this code, if PIMA 15740 defines one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($label), )*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({:#06X})", n, self.0),
                    None => write!(f, "{}({:#06X})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{:#06X}", self.0),
                }
            }
        }

        impl From<u16> for $name {
            fn from(v: u16) -> Self {
                Self(v)
            }
        }
    };
}

code_space! {
    /// A PTP operation code (command container code).
    OperationCode {
        GET_DEVICE_INFO = 0x1001 => "GetDeviceInfo",
        OPEN_SESSION = 0x1002 => "OpenSession",
        CLOSE_SESSION = 0x1003 => "CloseSession",
        GET_STORAGE_IDS = 0x1004 => "GetStorageIDs",
        GET_STORAGE_INFO = 0x1005 => "GetStorageInfo",
        GET_NUM_OBJECTS = 0x1006 => "GetNumObjects",
        GET_OBJECT_HANDLES = 0x1007 => "GetObjectHandles",
        GET_OBJECT_INFO = 0x1008 => "GetObjectInfo",
        GET_OBJECT = 0x1009 => "GetObject",
        GET_THUMB = 0x100A => "GetThumb",
        DELETE_OBJECT = 0x100B => "DeleteObject",
        SEND_OBJECT_INFO = 0x100C => "SendObjectInfo",
        SEND_OBJECT = 0x100D => "SendObject",
        INITIATE_CAPTURE = 0x100E => "InitiateCapture",
        FORMAT_STORE = 0x100F => "FormatStore",
        RESET_DEVICE = 0x1010 => "ResetDevice",
        SELF_TEST = 0x1011 => "SelfTest",
        SET_OBJECT_PROTECTION = 0x1012 => "SetObjectProtection",
        POWER_DOWN = 0x1013 => "PowerDown",
        GET_DEVICE_PROP_DESC = 0x1014 => "GetDevicePropDesc",
        GET_DEVICE_PROP_VALUE = 0x1015 => "GetDevicePropValue",
        SET_DEVICE_PROP_VALUE = 0x1016 => "SetDevicePropValue",
        RESET_DEVICE_PROP_VALUE = 0x1017 => "ResetDevicePropValue",
        TERMINATE_OPEN_CAPTURE = 0x1018 => "TerminateOpenCapture",
        MOVE_OBJECT = 0x1019 => "MoveObject",
        COPY_OBJECT = 0x101A => "CopyObject",
        GET_PARTIAL_OBJECT = 0x101B => "GetPartialObject",
        INITIATE_OPEN_CAPTURE = 0x101C => "InitiateOpenCapture",
    }
}

code_space! {
    /// A PTP response code.
    ResponseCode {
        UNDEFINED = 0x2000 => "Undefined",
        OK = 0x2001 => "OK",
        GENERAL_ERROR = 0x2002 => "GeneralError",
        SESSION_NOT_OPEN = 0x2003 => "SessionNotOpen",
        INVALID_TRANSACTION_ID = 0x2004 => "InvalidTransactionID",
        OPERATION_NOT_SUPPORTED = 0x2005 => "OperationNotSupported",
        PARAMETER_NOT_SUPPORTED = 0x2006 => "ParameterNotSupported",
        INCOMPLETE_TRANSFER = 0x2007 => "IncompleteTransfer",
        INVALID_STORAGE_ID = 0x2008 => "InvalidStorageID",
        INVALID_OBJECT_HANDLE = 0x2009 => "InvalidObjectHandle",
        DEVICE_PROP_NOT_SUPPORTED = 0x200A => "DevicePropNotSupported",
        INVALID_OBJECT_FORMAT_CODE = 0x200B => "InvalidObjectFormatCode",
        STORE_FULL = 0x200C => "StoreFull",
        OBJECT_WRITE_PROTECTED = 0x200D => "ObjectWriteProtected",
        STORE_READ_ONLY = 0x200E => "StoreReadOnly",
        ACCESS_DENIED = 0x200F => "AccessDenied",
        NO_THUMBNAIL_PRESENT = 0x2010 => "NoThumbnailPresent",
        SELF_TEST_FAILED = 0x2011 => "SelfTestFailed",
        PARTIAL_DELETION = 0x2012 => "PartialDeletion",
        STORE_NOT_AVAILABLE = 0x2013 => "StoreNotAvailable",
        SPECIFICATION_BY_FORMAT_UNSUPPORTED = 0x2014 => "SpecificationByFormatUnsupported",
        NO_VALID_OBJECT_INFO = 0x2015 => "NoValidObjectInfo",
        INVALID_CODE_FORMAT = 0x2016 => "InvalidCodeFormat",
        UNKNOWN_VENDOR_CODE = 0x2017 => "UnknownVendorCode",
        CAPTURE_ALREADY_TERMINATED = 0x2018 => "CaptureAlreadyTerminated",
        DEVICE_BUSY = 0x2019 => "DeviceBusy",
        INVALID_PARENT_OBJECT = 0x201A => "InvalidParentObject",
        INVALID_DEVICE_PROP_FORMAT = 0x201B => "InvalidDevicePropFormat",
        INVALID_DEVICE_PROP_VALUE = 0x201C => "InvalidDevicePropValue",
        INVALID_PARAMETER = 0x201D => "InvalidParameter",
        SESSION_ALREADY_OPEN = 0x201E => "SessionAlreadyOpen",
        TRANSACTION_CANCELLED = 0x201F => "TransactionCancelled",
        SPECIFICATION_OF_DESTINATION_UNSUPPORTED = 0x2020 => "SpecificationOfDestinationUnsupported",
    }
}

impl ResponseCode {
    /// True for DeviceBusy: the same request may succeed if sent again a little later.
    pub fn is_retryable(self) -> bool {
        self == Self::DEVICE_BUSY
    }
}

code_space! {
    /// A PTP event code.
    EventCode {
        UNDEFINED = 0x4000 => "Undefined",
        CANCEL_TRANSACTION = 0x4001 => "CancelTransaction",
        OBJECT_ADDED = 0x4002 => "ObjectAdded",
        OBJECT_REMOVED = 0x4003 => "ObjectRemoved",
        STORE_ADDED = 0x4004 => "StoreAdded",
        STORE_REMOVED = 0x4005 => "StoreRemoved",
        DEVICE_PROP_CHANGED = 0x4006 => "DevicePropChanged",
        OBJECT_INFO_CHANGED = 0x4007 => "ObjectInfoChanged",
        DEVICE_INFO_CHANGED = 0x4008 => "DeviceInfoChanged",
        REQUEST_OBJECT_TRANSFER = 0x4009 => "RequestObjectTransfer",
        STORE_FULL = 0x400A => "StoreFull",
        DEVICE_RESET = 0x400B => "DeviceReset",
        STORAGE_INFO_CHANGED = 0x400C => "StorageInfoChanged",
        CAPTURE_COMPLETE = 0x400D => "CaptureComplete",
        UNREPORTED_STATUS = 0x400E => "UnreportedStatus",
    }
}

code_space! {
    /// A device property code.
    PropertyCode {
        BATTERY_LEVEL = 0x5001 => "BatteryLevel",
        FUNCTIONAL_MODE = 0x5002 => "FunctionalMode",
        IMAGE_SIZE = 0x5003 => "ImageSize",
        COMPRESSION_SETTING = 0x5004 => "CompressionSetting",
        WHITE_BALANCE = 0x5005 => "WhiteBalance",
        RGB_GAIN = 0x5006 => "RGBGain",
        F_NUMBER = 0x5007 => "FNumber",
        FOCAL_LENGTH = 0x5008 => "FocalLength",
        FOCUS_DISTANCE = 0x5009 => "FocusDistance",
        FOCUS_MODE = 0x500A => "FocusMode",
        EXPOSURE_METERING_MODE = 0x500B => "ExposureMeteringMode",
        FLASH_MODE = 0x500C => "FlashMode",
        EXPOSURE_TIME = 0x500D => "ExposureTime",
        EXPOSURE_PROGRAM_MODE = 0x500E => "ExposureProgramMode",
        EXPOSURE_INDEX = 0x500F => "ExposureIndex",
        EXPOSURE_BIAS_COMPENSATION = 0x5010 => "ExposureBiasCompensation",
        DATE_TIME = 0x5011 => "DateTime",
        CAPTURE_DELAY = 0x5012 => "CaptureDelay",
        STILL_CAPTURE_MODE = 0x5013 => "StillCaptureMode",
        CONTRAST = 0x5014 => "Contrast",
        SHARPNESS = 0x5015 => "Sharpness",
        DIGITAL_ZOOM = 0x5016 => "DigitalZoom",
        EFFECT_MODE = 0x5017 => "EffectMode",
        BURST_NUMBER = 0x5018 => "BurstNumber",
        BURST_INTERVAL = 0x5019 => "BurstInterval",
        TIMELAPSE_NUMBER = 0x501A => "TimelapseNumber",
        TIMELAPSE_INTERVAL = 0x501B => "TimelapseInterval",
        FOCUS_METERING_MODE = 0x501C => "FocusMeteringMode",
        UPLOAD_URL = 0x501D => "UploadURL",
        ARTIST = 0x501E => "Artist",
        COPYRIGHT_INFO = 0x501F => "CopyrightInfo",
    }
}

code_space! {
    /// An object format code.
    ObjectFormatCode {
        UNDEFINED = 0x3000 => "Undefined",
        ASSOCIATION = 0x3001 => "Association",
        SCRIPT = 0x3002 => "Script",
        EXECUTABLE = 0x3003 => "Executable",
        TEXT = 0x3004 => "Text",
        HTML = 0x3005 => "HTML",
        DPOF = 0x3006 => "DPOF",
        AIFF = 0x3007 => "AIFF",
        WAV = 0x3008 => "WAV",
        MP3 = 0x3009 => "MP3",
        AVI = 0x300A => "AVI",
        MPEG = 0x300B => "MPEG",
        ASF = 0x300C => "ASF",
        UNDEFINED_IMAGE = 0x3800 => "UndefinedImage",
        EXIF_JPEG = 0x3801 => "EXIF/JPEG",
        TIFF_EP = 0x3802 => "TIFF/EP",
        FLASHPIX = 0x3803 => "FlashPix",
        BMP = 0x3804 => "BMP",
        CIFF = 0x3805 => "CIFF",
        GIF = 0x3807 => "GIF",
        JFIF = 0x3808 => "JFIF",
        PCD = 0x3809 => "PCD",
        PICT = 0x380A => "PICT",
        PNG = 0x380B => "PNG",
        TIFF = 0x380D => "TIFF",
        TIFF_IT = 0x380E => "TIFF/IT",
        JP2 = 0x380F => "JP2",
        JPX = 0x3810 => "JPX",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_print_as_hex() {
        assert_eq!(OperationCode(0xF002).to_string(), "0xF002");
        assert_eq!(OperationCode::GET_DEVICE_INFO.to_string(), "GetDeviceInfo");
        assert_eq!(format!("{:?}", ResponseCode(0x2019)), "DeviceBusy(0x2019)");
        assert!(ResponseCode::DEVICE_BUSY.is_retryable());
        assert!(!ResponseCode::OK.is_retryable());
    }

    #[test]
    fn every_known_code_has_a_unique_value_and_name() {
        fn check<T: Copy + Eq + std::hash::Hash>(
            known: &[T],
            name: impl Fn(T) -> Option<&'static str>,
        ) {
            let mut seen = std::collections::HashSet::new();
            let mut names = std::collections::HashSet::new();
            for &c in known {
                assert!(seen.insert(c), "duplicate code");
                assert!(names.insert(name(c).unwrap()), "duplicate name");
            }
        }
        check(OperationCode::KNOWN, OperationCode::name);
        check(ResponseCode::KNOWN, ResponseCode::name);
        check(EventCode::KNOWN, EventCode::name);
        check(PropertyCode::KNOWN, PropertyCode::name);
        check(ObjectFormatCode::KNOWN, ObjectFormatCode::name);
    }
}
