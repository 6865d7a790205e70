//! The 0x9202 SDIO_GetExtDeviceInfo reply: the protocol version the camera speaks, the property
//! codes it has and the control codes it accepts.
//!
//! ```text
//! u16 version | u32 n, n × u16 property codes | u32 m, m × u16 control codes
//! ```
//! Codes may repeat (the A7S III lists 0xD2C7 twice) and need not be in 0xD2xx (0xF002).

use sonyctl_ptp::{Codec, DecodeError, EncodeError, PropertyCode, Reader, Writer};

use crate::prop_info::SdioVersion;

/// The decoded 0x9202 reply.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExtDeviceInfo {
    /// The protocol version the camera answers with (200, 300; 101 on the DSLR-A850).
    pub version: SdioVersion,
    /// Property codes, in the camera's order; duplicates kept.
    pub properties: Vec<PropertyCode>,
    /// Control codes (for 0x9207), in the camera's order; duplicates kept.
    pub controls: Vec<PropertyCode>,
}

impl Codec for ExtDeviceInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.within("SdioExtDeviceInfo", |r| {
            let version = SdioVersion(r.u16()?);
            let properties = r.u16_array()?.into_iter().map(PropertyCode).collect();
            let controls = r.u16_array()?.into_iter().map(PropertyCode).collect();
            Ok(ExtDeviceInfo {
                version,
                properties,
                controls,
            })
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u16(self.version.0);
        let props: Vec<u16> = self.properties.iter().map(|c| c.0).collect();
        out.put_u16_array(&props)?;
        let controls: Vec<u16> = self.controls.iter().map(|c| c.0).collect();
        out.put_u16_array(&controls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_duplicates() {
        let info = ExtDeviceInfo {
            version: SdioVersion::V300,
            properties: vec![PropertyCode(0x5005), PropertyCode(0xD20D)],
            controls: vec![
                PropertyCode(0xD2C7),
                PropertyCode(0xF002),
                PropertyCode(0xD2C7),
            ],
        };
        let bytes = info.to_bytes().unwrap();
        assert_eq!(ExtDeviceInfo::decode_exact(&bytes).unwrap(), info);
        for cut in 0..bytes.len() {
            assert!(ExtDeviceInfo::decode_exact(&bytes[..cut]).is_err());
        }
    }
}
