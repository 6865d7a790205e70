//! What to tell the person at the camera: the libraries report what went wrong as data
//! ([`UsbErrorKind`]), and this module turns it into something to do about it.

use sonyctl_camera::{CameraError, CaptureError, SetError, TransportError, UsbErrorKind};

/// What to do when a camera is seen in a mode that cannot be controlled.
pub const SET_PC_REMOTE: &str = "set USB Connection to PC Remote to control it";

/// What to do about a USB failure of `kind`, if there is anything.
pub fn for_usb(kind: UsbErrorKind) -> Option<&'static str> {
    Some(match kind {
        UsbErrorKind::PermissionDenied => {
            "this user may not open the camera: install the udev rules \
             (sudo cp packaging/60-sonyctl.rules /etc/udev/rules.d/ && sudo udevadm control \
             --reload && sudo udevadm trigger), then unplug and plug the camera in again"
        }
        UsbErrorKind::Busy => {
            "another program holds the camera (gphoto2, a file manager or gvfs-gphoto2-volume-\
             monitor, Imaging Edge): close it, or unplug and plug the camera in again"
        }
        UsbErrorKind::WrongMode => "set the camera's USB Connection to PC Remote",
        UsbErrorKind::Disconnected => "check the cable and that the camera is switched on",
        _ => return None,
    })
}

/// The transport failure at the root of `e`, looking through the facade's error types.
fn transport_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a TransportError> {
    let camera = |c: &'a CameraError| c.transport();
    let set = |s: &'a SetError| match s {
        SetError::Camera(c) => camera(c),
        _ => None,
    };
    if let Some(t) = e.downcast_ref::<TransportError>() {
        return Some(t);
    }
    if let Some(c) = e.downcast_ref::<CameraError>() {
        return camera(c);
    }
    if let Some(s) = e.downcast_ref::<SetError>() {
        return set(s);
    }
    match e.downcast_ref::<CaptureError>()? {
        CaptureError::Camera(c) => camera(c),
        CaptureError::Set(s) => set(s),
        _ => None,
    }
}

/// `e` and its sources, outermost first.
fn chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |c| c.source())
}

/// What to do about `e`, if anything is known.
pub fn for_error(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    chain(e)
        .filter_map(transport_error)
        .find_map(TransportError::usb_kind)
        .and_then(for_usb)
}

/// `message` followed by what to do about `e`, when there is advice.
pub fn with_advice(e: &(dyn std::error::Error + 'static), message: &str) -> String {
    match for_error(e) {
        Some(a) => format!("{message}; {a}"),
        None => message.to_string(),
    }
}

/// `e` on one line: its chain of causes joined with `: `, each said once (error types often
/// repeat their source in their own text).
pub fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = String::new();
    for cause in chain(e).map(|c| c.to_string()) {
        if !msg.contains(&cause) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&cause);
        }
    }
    msg
}

/// How every error is printed: the whole chain of causes on one line, then what to do about
/// it, if anything is known.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    with_advice(e, &chain_text(e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn usb(kind: UsbErrorKind) -> anyhow::Error {
        TransportError::usb(kind, "cannot open the camera: some OS text").into()
    }

    #[test]
    fn each_usb_kind_gets_its_own_advice() {
        let permission = with_advice(usb(UsbErrorKind::PermissionDenied).as_ref(), "x");
        assert!(
            permission.contains("packaging/60-sonyctl.rules"),
            "{permission}"
        );
        let busy = with_advice(usb(UsbErrorKind::Busy).as_ref(), "x");
        assert!(busy.contains("gphoto2") && busy.contains("gvfs"), "{busy}");
        let mode = with_advice(usb(UsbErrorKind::WrongMode).as_ref(), "x");
        assert!(mode.contains("PC Remote"), "{mode}");
        assert_eq!(for_usb(UsbErrorKind::Other), None);
        assert_eq!(for_usb(UsbErrorKind::Stalled), None);
        assert_eq!(for_usb(UsbErrorKind::NotFound), None);
    }

    #[test]
    fn advice_is_found_through_the_facade_and_context() {
        let inner = TransportError::usb(UsbErrorKind::Busy, "cannot claim the camera");
        let wrapped: anyhow::Error = CaptureError::Camera(CameraError::Transport(inner)).into();
        let wrapped = wrapped.context("cannot start the capture");
        assert_eq!(for_error(wrapped.as_ref()), for_usb(UsbErrorKind::Busy));
        let set: anyhow::Error = SetError::Camera(CameraError::Transport(TransportError::usb(
            UsbErrorKind::PermissionDenied,
            "x",
        )))
        .into();
        assert_eq!(
            for_error(set.as_ref()),
            for_usb(UsbErrorKind::PermissionDenied)
        );
    }

    #[test]
    fn advice_is_found_through_a_shared_error() {
        // As `watch` reports a lost connection: the event's SharedError, alone or wrapped.
        let lost = sonyctl_camera::SharedError(std::sync::Arc::new(CameraError::Transport(
            TransportError::usb(UsbErrorKind::Busy, "cannot claim the camera"),
        )));
        assert_eq!(for_error(&lost), for_usb(UsbErrorKind::Busy));
        let wrapped = CameraError::Shared(lost.clone());
        assert_eq!(for_error(&wrapped), for_usb(UsbErrorKind::Busy));
        let text = describe(&wrapped);
        assert_eq!(text.matches("cannot claim the camera").count(), 1, "{text}");
    }

    #[test]
    fn describe_gives_the_whole_chain_once_then_the_advice() {
        let busy = || TransportError::usb(UsbErrorKind::Busy, "cannot claim the camera");
        // As `capture` reports one shot of a series: the error itself, not an anyhow chain.
        let shot = CaptureError::Camera(CameraError::Transport(busy()));
        let text = describe(&shot);
        assert!(text.starts_with(&busy().to_string()), "{text}");
        assert!(
            text.ends_with(for_usb(UsbErrorKind::Busy).unwrap()),
            "{text}"
        );
        assert_eq!(text.matches(&busy().to_string()).count(), 1, "{text}");
        // As `list` and `main` report: the outer context and every cause below it.
        let wrapped = anyhow::Error::from(CameraError::Transport(busy())).context("cannot probe");
        let text = describe(wrapped.as_ref());
        assert!(
            text.starts_with(&format!("cannot probe: {}", busy())),
            "{text}"
        );
        assert!(text.contains("gphoto2"), "{text}");
    }

    #[test]
    fn errors_without_advice_are_left_as_they_are() {
        let e: anyhow::Error = TransportError::Protocol("short container".into()).into();
        assert_eq!(for_error(e.as_ref()), None);
        assert_eq!(
            with_advice(e.as_ref(), "usb: short container"),
            "usb: short container"
        );
        assert_eq!(for_error(anyhow::anyhow!("plain").as_ref()), None);
    }
}
