//! The one way every command opens, uses and closes the camera (`--camera`). The camera
//! specification and opening it by name are `sonyctl-open`'s, shared with the INDI driver.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sonyctl_camera::{Camera, CameraError, Cancel, CaptureError, SetError, TransportError};
pub use sonyctl_open::{CameraSpec, MASS_STORAGE_ADVICE, open_camera, open_usb};
use sonyctl_service::{CameraService, ServiceHandle, ServiceOptions};

/// Options every camera command shares.
#[derive(Debug, Default)]
pub struct Globals {
    /// `--camera`.
    pub camera: Option<CameraSpec>,
    /// `--trace FILE`.
    pub trace: Option<PathBuf>,
}

/// Opens the camera `g.camera` names (or says how to name one), recording to `g.trace`.
async fn open(g: &Globals) -> Result<Camera> {
    let trace = match &g.trace {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create the trace file {}", path.display()))?;
            Some(sonyctl_transport::Trace::new(Box::new(
                std::io::BufWriter::new(file),
            )))
        }
        None => None,
    };
    open_camera(g.camera.as_ref(), trace).await
}

/// The async runtime a command runs on: one thread, as every command talks to one camera.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// What a failed CloseSession means for a command whose work succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// The command fails with it: what `info`, `props`, `get` and `set` print is only trusted
    /// once the camera has ended the session cleanly.
    Checked,
    /// It is ignored: the command's work is done (for shooting, already saved), and a camera
    /// that drops the connection as the session ends must not turn that into a failure.
    Lenient,
}

/// What Ctrl-C does while the camera is open.
#[derive(Clone, Copy, Debug)]
pub enum CtrlC {
    /// The process ends at once: for commands with nothing to finish, and for `watch`, which
    /// listens for Ctrl-C itself.
    Exits,
    /// The first Ctrl-C prints this notice and cancels the `Cancel` the command gets, so that
    /// it ends what it started (releases the shutter, saves what was shot) and the camera is
    /// closed; a second Ctrl-C quits at once (exit 130).
    Cancels(&'static str),
}

/// How long ending the session may take after the command failed.
const CLOSE_AFTER_ERROR: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the camera `g` names, runs `body` with it, and ends the session whatever `body` did.
///
/// On success the session is closed as `close` says. On an error it is closed too (the
/// command's error is what is reported), waiting at most 5 s for the camera, unless the error
/// says the connection is gone: then there is no session to end, and trying would only wait
/// for a time-out.
pub fn with_camera<T>(
    g: &Globals,
    close: Close,
    ctrl_c: CtrlC,
    body: impl AsyncFnOnce(&mut Camera, &Cancel) -> Result<T>,
) -> Result<T> {
    runtime()?.block_on(async {
        // Listening before the camera is opened: a Ctrl-C while connecting still ends cleanly.
        let cancel = match ctrl_c {
            CtrlC::Exits => Cancel::new(),
            CtrlC::Cancels(notice) => cancel_on_ctrl_c(notice),
        };
        let mut cam = open(g).await?;
        match body(&mut cam, &cancel).await {
            Ok(value) => {
                let closed = cam.close().await;
                if close == Close::Checked {
                    closed?;
                }
                Ok(value)
            }
            Err(e) => {
                if !connection_lost(&e) {
                    // A camera that is there but not answering would hold the command's error
                    // back for the whole transport time-out; the close is a courtesy here.
                    let _ = tokio::time::timeout(CLOSE_AFTER_ERROR, cam.close()).await;
                }
                Err(e)
            }
        }
    })
}

/// How long the service may take to end (release the buttons, close the session) once the
/// command is done.
pub const SERVICE_END: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the camera `g` names, hands it to the camera service, and runs `body` with a handle on
/// it: for commands that use the service rather than the camera itself (`liveview`).
///
/// When `body` returns, its handles are gone and the service ends, waited for up to 5 s: it
/// releases every button and closes the session (CloseSession), as the other commands leave
/// the camera, unless the connection is already lost. Should it not finish in time, a body on
/// USB that still has the session open answers the next OpenSession with SessionAlreadyOpen,
/// which opening handles.
pub fn with_service<T>(
    g: &Globals,
    ctrl_c: CtrlC,
    body: impl AsyncFnOnce(&ServiceHandle, &Cancel) -> Result<T>,
) -> Result<T> {
    runtime()?.block_on(async {
        let cancel = match ctrl_c {
            CtrlC::Exits => Cancel::new(),
            CtrlC::Cancels(notice) => cancel_on_ctrl_c(notice),
        };
        let cam = open(g).await?;
        let service = CameraService::spawn(cam, ServiceOptions::default());
        let mut ended = service.status_changes();
        let result = body(&service, &cancel).await;
        drop(service);
        // The status sender goes with the service task: `changed` fails once the task is over.
        let _ = tokio::time::timeout(SERVICE_END, async {
            while ended.changed().await.is_ok() {}
        })
        .await;
        result
    })
}

/// A `Cancel` that the first Ctrl-C cancels (after printing `notice`); a second quits at once.
fn cancel_on_ctrl_c(notice: &'static str) -> Cancel {
    let cancel = Cancel::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stderr_line!("sonyctl: {notice}");
            c.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    cancel
}

/// True when `e` says the connection to the camera is gone (lost, timed out, dropped mid-shot).
fn connection_lost(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(c) = cause.downcast_ref::<CameraError>() {
            return c.is_connection_lost();
        }
        if let Some(t) = cause.downcast_ref::<TransportError>() {
            return t.is_disconnect();
        }
        if let Some(SetError::Camera(c)) = cause.downcast_ref::<SetError>() {
            return c.is_connection_lost();
        }
        match cause.downcast_ref::<CaptureError>() {
            Some(CaptureError::Camera(c)) => c.is_connection_lost(),
            Some(CaptureError::Set(SetError::Camera(c))) => c.is_connection_lost(),
            Some(CaptureError::ConnectionDropped(_) | CaptureError::TooManyReconnects(_)) => true,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_connection_skips_closing() {
        let timeout = || {
            CameraError::Transport(TransportError::Timeout(
                std::time::Duration::from_secs(30),
                "the response",
            ))
        };
        let lost = [
            anyhow::Error::from(timeout()),
            anyhow::Error::from(timeout()).context("the connection to the camera was lost"),
            anyhow::Error::from(CaptureError::Camera(timeout())),
            anyhow::Error::from(CaptureError::ConnectionDropped(
                "while pressing the shutter",
            )),
            anyhow::Error::from(CaptureError::TooManyReconnects(20)),
            anyhow::Error::from(SetError::Camera(timeout())),
        ];
        for e in &lost {
            assert!(connection_lost(e), "{e:#}");
        }
        let alive = [
            anyhow::anyhow!("the lens can be driven only in manual focus"),
            anyhow::Error::from(CaptureError::FocusFailed),
            anyhow::Error::from(TransportError::Refused(1)),
            anyhow::Error::from(SetError::UnknownName("iso".into())),
        ];
        for e in &alive {
            assert!(!connection_lost(e), "{e:#}");
        }
    }
}
