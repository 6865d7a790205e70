//! Typed access to the settings people change most, and a blocking wrapper of the async API.

use std::fmt;
use std::str::FromStr;

use sonyctl_ptp::{DataType, PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::{format_value, parse_value};

use crate::{Camera, CameraError, Link, SetError, SetOutcome};

/// A setting with a Rust type: how it maps to the camera's value.
pub trait Setting: Sized + fmt::Display {
    /// The property.
    const CODE: PropertyCode;
    /// From the camera's value.
    fn from_value(v: &Value) -> Option<Self>;
    /// To a value of the descriptor's data type.
    fn to_value(&self, data_type: DataType) -> Option<Value>;
}

macro_rules! text_forms {
    ($t:ty, $dt:expr) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.to_value($dt) {
                    Some(v) => f.write_str(&format_value(<$t>::CODE, &v)),
                    None => f.write_str("?"),
                }
            }
        }
        impl FromStr for $t {
            type Err = sonyctl_sony::ParseError;
            /// The notation `sonyctl` uses (`1/250`, `f/5.6`, `800`, `+0.7`).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let v = parse_value(<$t>::CODE, s, $dt, None)?;
                <$t>::from_value(&v).ok_or(sonyctl_sony::ParseError::Invalid {
                    text: s.to_string(),
                    what: stringify!($t),
                })
            }
        }
    };
}

/// Shutter speed: BULB or `numerator/denominator` seconds (0xD20D).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShutterSpeed {
    /// Open as long as the button is held.
    Bulb,
    /// A fraction of seconds, as the camera encodes it (30" is 300/10).
    Seconds {
        /// Numerator.
        numerator: u16,
        /// Denominator.
        denominator: u16,
    },
}

impl ShutterSpeed {
    /// Seconds, or `None` for BULB.
    pub fn seconds(&self) -> Option<f64> {
        match self {
            ShutterSpeed::Bulb => None,
            ShutterSpeed::Seconds {
                numerator,
                denominator,
            } => (*denominator != 0).then(|| f64::from(*numerator) / f64::from(*denominator)),
        }
    }
}

impl Setting for ShutterSpeed {
    const CODE: PropertyCode = prop::SHUTTER_SPEED;
    fn from_value(v: &Value) -> Option<Self> {
        let raw = u32::try_from(v.as_u64()?).ok()?;
        match raw {
            0 => Some(ShutterSpeed::Bulb),
            0xFFFF_FFFF => None,
            r => Some(ShutterSpeed::Seconds {
                numerator: (r >> 16) as u16,
                denominator: (r & 0xFFFF) as u16,
            }),
        }
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        let raw = match self {
            ShutterSpeed::Bulb => 0,
            ShutterSpeed::Seconds {
                numerator,
                denominator,
            } => u32::from(*numerator) << 16 | u32::from(*denominator),
        };
        Value::from_integer(data_type, raw.into())
    }
}
text_forms!(ShutterSpeed, DataType::UINT32);

/// Aperture as f-number × 100 (0x5007): `FNumber(560)` is f/5.6.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FNumber(pub u16);

impl Setting for FNumber {
    const CODE: PropertyCode = prop::F_NUMBER;
    fn from_value(v: &Value) -> Option<Self> {
        Some(FNumber(u16::try_from(v.as_u64()?).ok()?))
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.0.into())
    }
}
text_forms!(FNumber, DataType::UINT16);

/// ISO (0xD21E), with the multi-frame NR and extended flags the camera encodes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Iso(pub u32);

impl Iso {
    /// Automatic ISO.
    pub const AUTO: Iso = Iso(0x00FF_FFFF);

    /// The sensitivity, or `None` for AUTO.
    pub fn value(&self) -> Option<u32> {
        let base = self.0 & 0x00FF_FFFF;
        (base != 0x00FF_FFFF).then_some(base)
    }
}

impl Setting for Iso {
    const CODE: PropertyCode = prop::ISO;
    fn from_value(v: &Value) -> Option<Self> {
        Some(Iso(u32::try_from(v.as_u64()?).ok()?))
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.0.into())
    }
}
text_forms!(Iso, DataType::UINT32);

/// Exposure compensation in thousandths of a stop (0x5010): `ExposureCompensation(700)` is +0.7 EV.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExposureCompensation(pub i32);

impl Setting for ExposureCompensation {
    const CODE: PropertyCode = prop::EXPOSURE_COMPENSATION;
    fn from_value(v: &Value) -> Option<Self> {
        Some(ExposureCompensation(i32::try_from(v.as_i64()?).ok()?))
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.0.into())
    }
}
text_forms!(ExposureCompensation, DataType::INT16);

impl Camera {
    /// A typed setting, freshly read.
    pub async fn setting<S: Setting>(&mut self) -> Result<S, SetError> {
        let d = self.get(S::CODE).await?;
        S::from_value(&d.current).ok_or_else(|| SetError::NotWritable {
            name: format!("{:?}", S::CODE),
            why: format!(
                "the camera reports {} for it",
                format_value(S::CODE, &d.current)
            ),
        })
    }

    /// Sets a typed setting and waits until the camera reports it.
    pub async fn set_setting<S: Setting>(&mut self, value: &S) -> Result<SetOutcome, SetError> {
        let d = self.get(S::CODE).await?;
        let v = value
            .to_value(d.data_type)
            .ok_or_else(|| SetError::NotSettable {
                name: format!("{:?}", S::CODE),
                value: value.to_string(),
                settable: format!("values of type {}", d.data_type),
            })?;
        self.set(S::CODE, &v).await
    }
}

/// The same camera API for code that does not use async: each call runs to completion on a
/// private single-threaded runtime.
pub mod blocking {
    use super::*;

    /// A camera driven synchronously.
    pub struct BlockingCamera {
        runtime: tokio::runtime::Runtime,
        camera: Camera,
    }

    impl BlockingCamera {
        /// Opens the camera on `link` and runs the handshake.
        pub fn open(
            link: Link,
            options: crate::CameraOptions,
        ) -> Result<BlockingCamera, CameraError> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CameraError::Transport(crate::TransportError::Io(e)))?;
            let camera = runtime.block_on(Camera::open(link, options))?;
            Ok(BlockingCamera { runtime, camera })
        }

        /// The async camera, for what this wrapper does not offer.
        pub fn inner(&mut self) -> &mut Camera {
            &mut self.camera
        }

        /// Every property, freshly read.
        pub fn properties(&mut self) -> Result<sonyctl_sony::AllPropInfo, CameraError> {
            self.runtime.block_on(self.camera.properties())
        }

        /// One property, freshly read.
        pub fn get(
            &mut self,
            code: PropertyCode,
        ) -> Result<sonyctl_sony::SonyDevicePropDesc, SetError> {
            self.runtime.block_on(self.camera.get(code))
        }

        /// Sets a property and waits until the camera reports it.
        pub fn set(&mut self, code: PropertyCode, value: &Value) -> Result<SetOutcome, SetError> {
            self.runtime.block_on(self.camera.set(code, value))
        }

        /// A typed setting.
        pub fn setting<S: Setting>(&mut self) -> Result<S, SetError> {
            self.runtime.block_on(self.camera.setting::<S>())
        }

        /// Sets a typed setting.
        pub fn set_setting<S: Setting>(&mut self, value: &S) -> Result<SetOutcome, SetError> {
            self.runtime.block_on(self.camera.set_setting(value))
        }

        /// Ends the session.
        pub fn close(self) -> Result<(), CameraError> {
            let BlockingCamera { runtime, camera } = self;
            runtime.block_on(camera.close())
        }
    }
}
