//! The one error both front ends map: the Alpaca adapter to its error numbers (kind by kind),
//! INDI to Alert messages.

use sonyctl_camera::SetErrorKind;
use sonyctl_service::ServiceError;

/// Why an astronomy device's call failed. The kinds are Alpaca's; INDI shows the message.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AstroError {
    /// The device is not connected (Alpaca 0x407): `connect` first.
    #[error("the device is not connected")]
    NotConnected,
    /// A value out of range or malformed (Alpaca 0x401).
    #[error("{0}")]
    InvalidValue(String),
    /// No value yet: before the first exposure, an ISO on AUTO (Alpaca 0x402).
    #[error("{0}")]
    ValueNotSet(String),
    /// Not possible in the present state: exposing already, the mode dial not on M, the lens
    /// not in manual focus (Alpaca 0x40B).
    #[error("{0}")]
    InvalidOperation(String),
    /// This device does not do that (Alpaca 0x400).
    #[error("{0}")]
    NotImplemented(String),
    /// The camera or its connection failed (Alpaca 0x500, a driver error).
    #[error("{0}")]
    Camera(String),
}

impl From<ServiceError> for AstroError {
    /// A set's refusal keeps its kind (a value the setting does not take is InvalidValue, one
    /// it cannot take now InvalidOperation); everything else is the camera's failure.
    fn from(e: ServiceError) -> AstroError {
        let text = e.to_string();
        match e.set_kind() {
            Some(SetErrorKind::InvalidValue | SetErrorKind::UnknownName) => {
                AstroError::InvalidValue(text)
            }
            Some(SetErrorKind::NotNow | SetErrorKind::ReadOnly | SetErrorKind::Busy) => {
                AstroError::InvalidOperation(text)
            }
            _ => AstroError::Camera(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_the_text() {
        assert_eq!(AstroError::InvalidValue("bad".into()).to_string(), "bad");
        assert_eq!(
            AstroError::NotConnected.to_string(),
            "the device is not connected"
        );
    }

    #[test]
    fn service_errors_keep_their_kind() {
        let unknown = AstroError::from(ServiceError::UnknownName("nope".into()));
        assert!(
            matches!(unknown, AstroError::InvalidValue(_)),
            "{unknown:?}"
        );
        let ended = AstroError::from(ServiceError::Ended);
        assert!(matches!(ended, AstroError::Camera(_)), "{ended:?}");
    }
}
