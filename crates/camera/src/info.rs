//! What a camera is and how it stands, in words: model, firmware, serial, protocol, battery,
//! lens, save destination, exposure program and pending images. `sonyctl info` prints it and
//! the HTTP server's camera resource shows it; both build it here, from the DeviceInfo, the
//! protocol negotiated and one read of the properties.

use sonyctl_ptp::{DeviceInfo, PropertyCode};
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::FNumber;
use sonyctl_sony::{AllPropInfo, SdioVersion, format_value};

use crate::{Camera, CameraError};

/// A camera in words, every field as displayed (text from the camera is untrusted: a front
/// end escapes it for its medium).
///
/// The fields are declared in alphabetical order, so the JSON object has its keys in the
/// order `sonyctl info --json` always printed them; [`CameraInfo::fields`] gives the order
/// people read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CameraInfo {
    /// 0xD218 as displayed (`71%`, `unknown`), `n/a` when the body has none.
    pub battery: String,
    /// 0x500E as displayed (`M`, `P`, …), `n/a` when the body has none.
    pub exposure_program: String,
    /// The DeviceInfo's device version.
    pub firmware: String,
    /// The lens model (0xD24B), else `attached` when an aperture is reported, else
    /// `none reported`.
    pub lens: String,
    /// The DeviceInfo's manufacturer.
    pub manufacturer: String,
    /// The DeviceInfo's model.
    pub model: String,
    /// 0xD215 as displayed (`none`, `1 ready`, …), `n/a` when the body has none.
    pub pending_images: String,
    /// The SDIO protocol version negotiated (`200`, `300`).
    pub protocol: String,
    /// 0xD222 as displayed; a body without it always delivers to the host.
    pub save_destination: String,
    /// The DeviceInfo's serial number.
    pub serial: String,
}

impl CameraInfo {
    /// The camera described by its DeviceInfo, the protocol negotiated and its properties.
    pub fn new(device_info: &DeviceInfo, protocol: SdioVersion, props: &AllPropInfo) -> Self {
        let show = |code: PropertyCode| {
            props
                .get(code)
                .map(|d| format_value(code, &d.current))
                .unwrap_or_else(|| "n/a".into())
        };
        let lens = props
            .get(prop::LENS_MODEL_NAME)
            .and_then(|d| d.current.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                match props
                    .get(prop::F_NUMBER)
                    .and_then(|d| d.current.as_u64())
                    .and_then(FNumber::from_value)
                {
                    Some(FNumber::NO_VALUE) | None => "none reported".into(),
                    Some(_) => "attached".into(),
                }
            });
        CameraInfo {
            battery: show(prop::BATTERY_REMAINING),
            exposure_program: show(prop::EXPOSURE_PROGRAM),
            firmware: device_info.device_version.clone(),
            lens,
            manufacturer: device_info.manufacturer.clone(),
            model: device_info.model.clone(),
            pending_images: show(prop::PENDING_IMAGES),
            protocol: protocol.to_string(),
            save_destination: if props.get(prop::SAVE_DESTINATION).is_some() {
                show(prop::SAVE_DESTINATION)
            } else {
                "PC (this body always delivers to the host)".into()
            },
            serial: device_info.serial_number.clone(),
        }
    }

    /// Every field with its JSON name, in the order people read them: model, manufacturer,
    /// firmware, serial, protocol, battery, lens, save destination, exposure program, pending
    /// images.
    pub fn fields(&self) -> [(&'static str, &str); 10] {
        [
            ("model", &self.model),
            ("manufacturer", &self.manufacturer),
            ("firmware", &self.firmware),
            ("serial", &self.serial),
            ("protocol", &self.protocol),
            ("battery", &self.battery),
            ("lens", &self.lens),
            ("save_destination", &self.save_destination),
            ("exposure_program", &self.exposure_program),
            ("pending_images", &self.pending_images),
        ]
    }
}

impl Camera {
    /// The camera in words, from a fresh read of its properties.
    pub async fn info(&mut self) -> Result<CameraInfo, CameraError> {
        let props = self.properties().await?;
        Ok(CameraInfo::new(&self.device_info, self.protocol(), &props))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_every_json_key_once() {
        let info = CameraInfo {
            battery: "71%".into(),
            exposure_program: "M".into(),
            firmware: "1.0".into(),
            lens: "attached".into(),
            manufacturer: "Sony Corporation".into(),
            model: "ILCE-7SM3".into(),
            pending_images: "none".into(),
            protocol: "300".into(),
            save_destination: "PC".into(),
            serial: "1".into(),
        };
        let json = serde_json::to_value(&info).unwrap_or_default();
        let object = json.as_object().cloned().unwrap_or_default();
        assert_eq!(object.len(), info.fields().len());
        for (key, value) in info.fields() {
            assert_eq!(
                object.get(key).and_then(|v| v.as_str()),
                Some(value),
                "{key}"
            );
        }
        // The JSON keys come out sorted, as `sonyctl info --json` printed them before.
        let keys: Vec<&String> = object.keys().collect();
        let text = serde_json::to_string(&info).unwrap_or_default();
        let mut positions: Vec<usize> = keys
            .iter()
            .filter_map(|k| text.find(&format!("\"{k}\"")))
            .collect();
        assert_eq!(positions.len(), keys.len());
        let sorted = positions.clone();
        positions.sort_unstable();
        assert_eq!(positions, sorted);
    }
}
