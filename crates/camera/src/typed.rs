//! Typed access to the settings people change most, and a blocking wrapper of the async API.

use std::fmt;

use sonyctl_ptp::{DataType, DecodeError, DecodeErrorKind, PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::format_value;

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

pub use sonyctl_sony::values::{ExposureCompensation, FNumber, Iso, ShutterSpeed};

impl Setting for ShutterSpeed {
    const CODE: PropertyCode = prop::SHUTTER_SPEED;
    fn from_value(v: &Value) -> Option<Self> {
        ShutterSpeed::from_value(v.as_u64()?)
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.to_raw().into())
    }
}

impl Setting for FNumber {
    const CODE: PropertyCode = prop::F_NUMBER;
    fn from_value(v: &Value) -> Option<Self> {
        FNumber::from_value(v.as_u64()?)
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.0.into())
    }
}

impl Setting for Iso {
    const CODE: PropertyCode = prop::ISO;
    fn from_value(v: &Value) -> Option<Self> {
        Iso::from_value(v.as_u64()?)
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.0.into())
    }
}

impl Setting for ExposureCompensation {
    const CODE: PropertyCode = prop::EXPOSURE_COMPENSATION;
    fn from_value(v: &Value) -> Option<Self> {
        ExposureCompensation::from_value(v.as_i64()?)
    }
    fn to_value(&self, data_type: DataType) -> Option<Value> {
        Value::from_integer(data_type, self.0.into())
    }
}

impl Camera {
    /// A typed setting, freshly read.
    pub async fn setting<S: Setting>(&mut self) -> Result<S, SetError> {
        let d = self.get(S::CODE).await?;
        // A value the type cannot hold is the camera's data at fault, not the caller's request.
        S::from_value(&d.current).ok_or_else(|| {
            SetError::Camera(CameraError::Decode {
                what: "setting",
                source: DecodeError {
                    structure: "SonyDevicePropDesc",
                    context: Some(format!(" {:#06X}", S::CODE.0)),
                    offset: 0,
                    kind: DecodeErrorKind::Invalid(format!(
                        "current value {} has no typed form",
                        format_value(S::CODE, &d.current)
                    )),
                },
            })
        })
    }

    /// Sets a typed setting and waits until the camera reports it.
    pub async fn set_setting<S: Setting>(&mut self, value: &S) -> Result<SetOutcome, SetError> {
        let d = self.get(S::CODE).await?;
        let Some(v) = value.to_value(d.data_type) else {
            return Err(SetError::NotAccepted {
                name: sonyctl_sony::codes::describe(
                    sonyctl_sony::property_name(S::CODE),
                    S::CODE.0,
                ),
                value: value.to_string(),
                accepted: d
                    .settable_values()
                    .unwrap_or(&[])
                    .iter()
                    .map(|v| format_value(S::CODE, v))
                    .collect(),
            });
        };
        self.set_described(d, &v).await
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

        /// Sets a setting by name to a value as a person writes it ([`Camera::set_text`]).
        pub fn set_text(&mut self, name: &str, text: &str) -> Result<SetOutcome, SetError> {
            self.runtime.block_on(self.camera.set_text(name, text))
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
