//! What can go wrong moving PTP between the host and a camera, as data: callers decide what to
//! do (retry, reconnect, advise the user) from the variant and the kind, never from the text.

use std::time::Duration;

/// What went wrong talking to the camera.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection failed or closed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The camera did not answer in time.
    #[error("no answer from the camera within {0:?} ({1})")]
    Timeout(Duration, &'static str),
    /// The camera refused the connection (Init Fail).
    #[error("the camera refused the connection (Init Fail, reason {0})")]
    Refused(u32),
    /// Bytes from the camera that are not PTP/IP.
    #[error("bad packet from the camera: {0}")]
    Decode(#[from] sonyctl_ptp::DecodeError),
    /// The camera broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The data phase is larger than the caller allows.
    #[error("the camera announced {0} bytes, more than the {1} allowed")]
    TooLarge(u64, u64),
    /// The USB link failed; `kind` says what kind of failure, for callers to act on.
    #[error("usb: {detail}")]
    Usb {
        /// What kind of failure.
        kind: UsbErrorKind,
        /// What failed, for people.
        detail: String,
    },
    /// The host stopped a data phase halfway (its sink failed); the connection must be renewed.
    #[error("transfer stopped: {0}")]
    Aborted(String),
    /// The transport (first) cannot do what was asked (second).
    #[error("the {0} link does not support {1}")]
    NotSupported(&'static str, &'static str),
}

/// The kinds of USB failure a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsbErrorKind {
    /// The camera was unplugged or switched off, or is not back yet.
    Disconnected,
    /// Another program or driver holds the camera.
    Busy,
    /// This user may not open the camera.
    PermissionDenied,
    /// The camera, or a configuration or interface it should have, is not there.
    NotFound,
    /// The camera is in a USB mode that does not speak PTP (Mass Storage, …).
    WrongMode,
    /// The camera refused a transfer (an endpoint stall).
    Stalled,
    /// Anything else.
    Other,
}

impl UsbErrorKind {
    /// The kind of a failure nusb reports opening or claiming a device.
    pub fn from_nusb(kind: nusb::ErrorKind) -> UsbErrorKind {
        match kind {
            nusb::ErrorKind::Disconnected => UsbErrorKind::Disconnected,
            nusb::ErrorKind::Busy => UsbErrorKind::Busy,
            nusb::ErrorKind::PermissionDenied => UsbErrorKind::PermissionDenied,
            nusb::ErrorKind::NotFound => UsbErrorKind::NotFound,
            _ => UsbErrorKind::Other,
        }
    }

    /// The kind of a failed transfer.
    pub fn from_transfer(e: nusb::transfer::TransferError) -> UsbErrorKind {
        use nusb::transfer::TransferError;
        match e {
            TransferError::Disconnected => UsbErrorKind::Disconnected,
            TransferError::Stall => UsbErrorKind::Stalled,
            _ => UsbErrorKind::Other,
        }
    }

    /// The kind of an operating-system error met on the USB device.
    pub fn from_io(kind: std::io::ErrorKind) -> UsbErrorKind {
        use std::io::ErrorKind;
        match kind {
            ErrorKind::PermissionDenied => UsbErrorKind::PermissionDenied,
            ErrorKind::NotFound => UsbErrorKind::NotFound,
            ErrorKind::ResourceBusy => UsbErrorKind::Busy,
            ErrorKind::NotConnected | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted => {
                UsbErrorKind::Disconnected
            }
            _ => UsbErrorKind::Other,
        }
    }
}

impl TransportError {
    /// A USB failure of `kind`.
    pub fn usb(kind: UsbErrorKind, detail: impl Into<String>) -> TransportError {
        TransportError::Usb {
            kind,
            detail: detail.into(),
        }
    }

    /// The kind of USB failure, if this is one.
    pub fn usb_kind(&self) -> Option<UsbErrorKind> {
        match self {
            TransportError::Usb { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// True when the connection is gone and a new one is needed.
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self,
            TransportError::Io(_)
                | TransportError::Protocol(_)
                | TransportError::Decode(_)
                | TransportError::Timeout(..)
                | TransportError::Aborted(_)
                | TransportError::Usb { .. }
                // The data phase that was refused is still on the wire.
                | TransportError::TooLarge(..)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nusb::transfer::TransferError;

    #[test]
    fn nusb_kinds_keep_their_meaning() {
        let cases = [
            (nusb::ErrorKind::Disconnected, UsbErrorKind::Disconnected),
            (nusb::ErrorKind::Busy, UsbErrorKind::Busy),
            (
                nusb::ErrorKind::PermissionDenied,
                UsbErrorKind::PermissionDenied,
            ),
            (nusb::ErrorKind::NotFound, UsbErrorKind::NotFound),
            (nusb::ErrorKind::Unsupported, UsbErrorKind::Other),
            (nusb::ErrorKind::Other, UsbErrorKind::Other),
        ];
        for (from, to) in cases {
            assert_eq!(UsbErrorKind::from_nusb(from), to, "{from:?}");
        }
    }

    #[test]
    fn transfer_failures_keep_their_meaning() {
        let cases = [
            (TransferError::Disconnected, UsbErrorKind::Disconnected),
            (TransferError::Stall, UsbErrorKind::Stalled),
            (TransferError::Cancelled, UsbErrorKind::Other),
            (TransferError::Fault, UsbErrorKind::Other),
            (TransferError::Unknown(5), UsbErrorKind::Other),
        ];
        for (from, to) in cases {
            assert_eq!(UsbErrorKind::from_transfer(from), to, "{from:?}");
        }
    }

    #[test]
    fn io_kinds_keep_their_meaning() {
        use std::io::ErrorKind;
        let cases = [
            (ErrorKind::PermissionDenied, UsbErrorKind::PermissionDenied),
            (ErrorKind::NotFound, UsbErrorKind::NotFound),
            (ErrorKind::ResourceBusy, UsbErrorKind::Busy),
            (ErrorKind::NotConnected, UsbErrorKind::Disconnected),
            (ErrorKind::InvalidData, UsbErrorKind::Other),
        ];
        for (from, to) in cases {
            assert_eq!(UsbErrorKind::from_io(from), to, "{from:?}");
        }
    }

    #[test]
    fn every_usb_failure_means_a_new_connection_and_keeps_its_kind() {
        let e = TransportError::usb(UsbErrorKind::Busy, "cannot claim the camera");
        assert!(e.is_disconnect());
        assert_eq!(e.usb_kind(), Some(UsbErrorKind::Busy));
        assert_eq!(e.to_string(), "usb: cannot claim the camera");
        let n = TransportError::NotSupported("USB", "reconnecting");
        assert!(!n.is_disconnect());
        assert_eq!(n.usb_kind(), None);
        assert_eq!(n.to_string(), "the USB link does not support reconnecting");
    }
}
