//! PIMA 15740 datasets: DeviceInfo, StorageInfo, ObjectInfo and the standard DevicePropDesc.

use crate::codec::{Codec, Reader, Writer};
use crate::codes::{EventCode, ObjectFormatCode, OperationCode, PropertyCode};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::value::{DataType, Value};

/// The reply to GetDeviceInfo (0x1001).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    /// PTP version ×100 (100).
    pub standard_version: u16,
    /// 0x11 for Sony's extension; 0xFFFFFFFF (MTP) on old Sony PTP/IP servers.
    pub vendor_extension_id: u32,
    /// Extension version ×100.
    pub vendor_extension_version: u16,
    /// "Sony PTP Extensions".
    pub vendor_extension_desc: String,
    /// Functional mode.
    pub functional_mode: u16,
    /// Operations the camera supports.
    pub operations: Vec<OperationCode>,
    /// Events the camera may send.
    pub events: Vec<EventCode>,
    /// Properties (empty on SDIO bodies: theirs come from 0x9202).
    pub device_properties: Vec<PropertyCode>,
    /// Formats InitiateCapture can produce.
    pub capture_formats: Vec<ObjectFormatCode>,
    /// Formats of objects on the camera.
    pub image_formats: Vec<ObjectFormatCode>,
    /// "Sony Corporation".
    pub manufacturer: String,
    /// e.g. "ILCE-7SM3".
    pub model: String,
    /// Firmware version, e.g. "3.00".
    pub device_version: String,
    /// Serial number (32 digits on Sony bodies).
    pub serial_number: String,
}

fn codes<T: From<u16>>(r: &mut Reader<'_>) -> Result<Vec<T>, DecodeError> {
    Ok(r.u16_array()?.into_iter().map(T::from).collect())
}

fn put_codes<T: Copy>(
    out: &mut Vec<u8>,
    items: &[T],
    raw: impl Fn(T) -> u16,
) -> Result<(), EncodeError> {
    let raw: Vec<u16> = items.iter().map(|&c| raw(c)).collect();
    out.put_u16_array(&raw)
}

impl Codec for DeviceInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("DeviceInfo", |r| {
            Ok(DeviceInfo {
                standard_version: r.u16()?,
                vendor_extension_id: r.u32()?,
                vendor_extension_version: r.u16()?,
                vendor_extension_desc: r.ptp_string()?,
                functional_mode: r.u16()?,
                operations: codes(r)?,
                events: codes(r)?,
                device_properties: codes(r)?,
                capture_formats: codes(r)?,
                image_formats: codes(r)?,
                manufacturer: r.ptp_string()?,
                model: r.ptp_string()?,
                device_version: r.ptp_string()?,
                serial_number: r.ptp_string()?,
            })
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u16(self.standard_version);
        out.put_u32(self.vendor_extension_id);
        out.put_u16(self.vendor_extension_version);
        out.put_ptp_string(&self.vendor_extension_desc)?;
        out.put_u16(self.functional_mode);
        put_codes(out, &self.operations, |c| c.0)?;
        put_codes(out, &self.events, |c| c.0)?;
        put_codes(out, &self.device_properties, |c| c.0)?;
        put_codes(out, &self.capture_formats, |c| c.0)?;
        put_codes(out, &self.image_formats, |c| c.0)?;
        out.put_ptp_string(&self.manufacturer)?;
        out.put_ptp_string(&self.model)?;
        out.put_ptp_string(&self.device_version)?;
        out.put_ptp_string(&self.serial_number)
    }
}

impl DeviceInfo {
    /// True if the camera lists `op`.
    pub fn supports(&self, op: OperationCode) -> bool {
        self.operations.contains(&op)
    }
}

/// The reply to GetStorageInfo (0x1005).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StorageInfo {
    /// 1 fixed ROM … 4 removable RAM.
    pub storage_type: u16,
    /// 1 generic flat, 2 generic hierarchical, 3 DCF.
    pub filesystem_type: u16,
    /// 0 read-write, 1 read-only, 2 read-only with deletion.
    pub access_capability: u16,
    /// Bytes.
    pub max_capacity: u64,
    /// Bytes.
    pub free_space_in_bytes: u64,
    /// Images that still fit (0xFFFFFFFF unknown).
    pub free_space_in_images: u32,
    /// Description.
    pub storage_description: String,
    /// Volume label.
    pub volume_label: String,
}

impl Codec for StorageInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("StorageInfo", |r| {
            Ok(StorageInfo {
                storage_type: r.u16()?,
                filesystem_type: r.u16()?,
                access_capability: r.u16()?,
                max_capacity: r.u64()?,
                free_space_in_bytes: r.u64()?,
                free_space_in_images: r.u32()?,
                storage_description: r.ptp_string()?,
                volume_label: r.ptp_string()?,
            })
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u16(self.storage_type);
        out.put_u16(self.filesystem_type);
        out.put_u16(self.access_capability);
        out.put_u64(self.max_capacity);
        out.put_u64(self.free_space_in_bytes);
        out.put_u32(self.free_space_in_images);
        out.put_ptp_string(&self.storage_description)?;
        out.put_ptp_string(&self.volume_label)
    }
}

/// The reply to GetObjectInfo (0x1008). On Sony bodies the shot waiting at 0xFFFFC001.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectInfo {
    /// Storage id (Sony in-RAM shot: 0x00010000 or 0).
    pub storage_id: u32,
    /// 0x3801 JPEG, 0xB101 ARW, …
    pub object_format: ObjectFormatCode,
    /// Protection status.
    pub protection_status: u16,
    /// File size in bytes (untrusted: the download checks it).
    pub object_compressed_size: u32,
    /// Thumbnail format.
    pub thumb_format: ObjectFormatCode,
    /// Thumbnail size.
    pub thumb_compressed_size: u32,
    /// Thumbnail width.
    pub thumb_pix_width: u32,
    /// Thumbnail height.
    pub thumb_pix_height: u32,
    /// Image width.
    pub image_pix_width: u32,
    /// Image height.
    pub image_pix_height: u32,
    /// Bits per pixel.
    pub image_bit_depth: u32,
    /// Parent object handle.
    pub parent_object: u32,
    /// Association type.
    pub association_type: u16,
    /// Association description.
    pub association_desc: u32,
    /// Sequence number.
    pub sequence_number: u32,
    /// File name, e.g. "DSC01234.ARW" (untrusted: never use as a path unchecked).
    pub filename: String,
    /// "YYYYMMDDThhmmss".
    pub capture_date: String,
    /// "YYYYMMDDThhmmss".
    pub modification_date: String,
    /// Keywords.
    pub keywords: String,
}

impl Codec for ObjectInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("ObjectInfo", |r| {
            Ok(ObjectInfo {
                storage_id: r.u32()?,
                object_format: ObjectFormatCode(r.u16()?),
                protection_status: r.u16()?,
                object_compressed_size: r.u32()?,
                thumb_format: ObjectFormatCode(r.u16()?),
                thumb_compressed_size: r.u32()?,
                thumb_pix_width: r.u32()?,
                thumb_pix_height: r.u32()?,
                image_pix_width: r.u32()?,
                image_pix_height: r.u32()?,
                image_bit_depth: r.u32()?,
                parent_object: r.u32()?,
                association_type: r.u16()?,
                association_desc: r.u32()?,
                sequence_number: r.u32()?,
                filename: r.ptp_string()?,
                capture_date: r.ptp_string()?,
                modification_date: r.ptp_string()?,
                keywords: r.ptp_string()?,
            })
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u32(self.storage_id);
        out.put_u16(self.object_format.0);
        out.put_u16(self.protection_status);
        out.put_u32(self.object_compressed_size);
        out.put_u16(self.thumb_format.0);
        out.put_u32(self.thumb_compressed_size);
        out.put_u32(self.thumb_pix_width);
        out.put_u32(self.thumb_pix_height);
        out.put_u32(self.image_pix_width);
        out.put_u32(self.image_pix_height);
        out.put_u32(self.image_bit_depth);
        out.put_u32(self.parent_object);
        out.put_u16(self.association_type);
        out.put_u32(self.association_desc);
        out.put_u32(self.sequence_number);
        out.put_ptp_string(&self.filename)?;
        out.put_ptp_string(&self.capture_date)?;
        out.put_ptp_string(&self.modification_date)?;
        out.put_ptp_string(&self.keywords)
    }
}

/// The form of a property's allowed values.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// No form (0).
    None,
    /// Range (1): min, max, step, each of the property's type.
    Range {
        /// Smallest value.
        min: Value,
        /// Largest value.
        max: Value,
        /// Step.
        step: Value,
    },
    /// Enumeration (2): u16 count and values.
    Enumeration(Vec<Value>),
}

impl Form {
    /// The form flag byte.
    pub fn flag(&self) -> u8 {
        match self {
            Form::None => 0,
            Form::Range { .. } => 1,
            Form::Enumeration(_) => 2,
        }
    }
}

/// Decodes an enumeration: u16 count then values of type `dt`, allocation bounded by the input.
pub fn decode_enum_list(r: &mut Reader<'_>, dt: DataType) -> Result<Vec<Value>, DecodeError> {
    let n = r.count_u16(dt.min_wire_size())?;
    (0..n).map(|_| Value::decode(r, dt)).collect()
}

/// Encodes an enumeration list.
pub fn encode_enum_list(
    out: &mut Vec<u8>,
    dt: DataType,
    values: &[Value],
) -> Result<(), EncodeError> {
    let n = u16::try_from(values.len()).map_err(|_| EncodeError::TooManyItems(values.len()))?;
    out.put_u16(n);
    for v in values {
        v.encode_as(dt, out)?;
    }
    Ok(())
}

/// Decodes a range form (min, max, step of type `dt`); strings and arrays have no range.
pub fn decode_range(r: &mut Reader<'_>, dt: DataType) -> Result<Form, DecodeError> {
    if dt.size().is_none() {
        return Err(r.error(DecodeErrorKind::Invalid(format!(
            "a range form needs an integer data type, not {dt}"
        ))));
    }
    Ok(Form::Range {
        min: Value::decode(r, dt)?,
        max: Value::decode(r, dt)?,
        step: Value::decode(r, dt)?,
    })
}

/// Reads and checks a descriptor's data type: UNDEF and non-PTP codes are errors.
pub fn decode_data_type(r: &mut Reader<'_>) -> Result<DataType, DecodeError> {
    let at = r.offset();
    let dt = DataType(r.u16()?);
    if !dt.is_valid() {
        return Err(r.error_at(at, DecodeErrorKind::InvalidDataType(dt.0)));
    }
    Ok(dt)
}

/// The standard DevicePropDesc (reply to 0x1014, and Sony's old 0x9203).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DevicePropDesc {
    /// Property code.
    pub code: PropertyCode,
    /// Data type of the values.
    pub data_type: DataType,
    /// 0 read-only, 1 read-write.
    pub get_set: u8,
    /// Factory default.
    pub default: Value,
    /// Current value.
    pub current: Value,
    /// Allowed values.
    pub form: Form,
}

impl Codec for DevicePropDesc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("DevicePropDesc", |r| {
            let code = PropertyCode(r.u16()?);
            let data_type = decode_data_type(r)?;
            let get_set = r.u8()?;
            let default = Value::decode(r, data_type)?;
            let current = Value::decode(r, data_type)?;
            let at = r.offset();
            let form = match r.u8()? {
                0 => Form::None,
                1 => decode_range(r, data_type)?,
                2 => Form::Enumeration(decode_enum_list(r, data_type)?),
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
            Ok(DevicePropDesc {
                code,
                data_type,
                get_set,
                default,
                current,
                form,
            })
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u16(self.code.0);
        out.put_u16(self.data_type.0);
        out.put_u8(self.get_set);
        self.default.encode_as(self.data_type, out)?;
        self.current.encode_as(self.data_type, out)?;
        encode_form(out, self.data_type, &self.form)
    }
}

/// Appends a form (flag byte and body).
pub fn encode_form(out: &mut Vec<u8>, dt: DataType, form: &Form) -> Result<(), EncodeError> {
    out.put_u8(form.flag());
    match form {
        Form::None => Ok(()),
        Form::Range { min, max, step } => {
            min.encode_as(dt, out)?;
            max.encode_as(dt, out)?;
            step.encode_as(dt, out)
        }
        Form::Enumeration(values) => encode_enum_list(out, dt, values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_info_round_trip() {
        let oi = ObjectInfo {
            storage_id: 0x0001_0000,
            object_format: ObjectFormatCode(0xB101),
            protection_status: 0,
            object_compressed_size: 24_000_000,
            thumb_format: ObjectFormatCode::EXIF_JPEG,
            thumb_compressed_size: 1000,
            thumb_pix_width: 160,
            thumb_pix_height: 120,
            image_pix_width: 4240,
            image_pix_height: 2832,
            image_bit_depth: 14,
            parent_object: 0,
            association_type: 0,
            association_desc: 0,
            sequence_number: 0,
            filename: "DSC01234.ARW".into(),
            capture_date: "20261124T035200".into(),
            modification_date: String::new(),
            keywords: String::new(),
        };
        let bytes = oi.to_bytes().unwrap();
        assert_eq!(&bytes[8..12], &24_000_000u32.to_le_bytes(), "size at +8");
        assert_eq!(ObjectInfo::decode_exact(&bytes).unwrap(), oi);
        for cut in 0..bytes.len() {
            assert!(ObjectInfo::decode_exact(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn storage_info_round_trip() {
        let si = StorageInfo {
            storage_type: 4,
            filesystem_type: 3,
            access_capability: 0,
            max_capacity: 64 << 30,
            free_space_in_bytes: 10 << 30,
            free_space_in_images: 1234,
            storage_description: "Memory Card".into(),
            volume_label: String::new(),
        };
        assert_eq!(
            StorageInfo::decode_exact(&si.to_bytes().unwrap()).unwrap(),
            si
        );
    }

    #[test]
    fn prop_desc_forms_round_trip_and_bad_flag() {
        for form in [
            Form::None,
            Form::Range {
                min: Value::U16(2500),
                max: Value::U16(9900),
                step: Value::U16(100),
            },
            Form::Enumeration(vec![Value::U16(1), Value::U16(2)]),
        ] {
            let d = DevicePropDesc {
                code: PropertyCode::WHITE_BALANCE,
                data_type: DataType::UINT16,
                get_set: 1,
                default: Value::U16(2),
                current: Value::U16(4),
                form,
            };
            assert_eq!(
                DevicePropDesc::decode_exact(&d.to_bytes().unwrap()).unwrap(),
                d
            );
        }
        let bad = [0x05, 0x50, 0x04, 0x00, 1, 2, 0, 4, 0, 3];
        let err = DevicePropDesc::decode_exact(&bad).unwrap_err();
        assert_eq!(err.offset, 9);
    }
}
