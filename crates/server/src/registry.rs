//! The cameras the server serves: each with a stable id, its service handle, and the server's
//! own records of it (images saved, capture jobs).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use sonyctl_service::ServiceHandle;

use crate::api::images::ImageStore;
use crate::api::jobs::Jobs;
use crate::error::ApiError;

/// One camera served.
#[derive(Debug)]
pub struct CameraEntry {
    /// Stable id: the model and the serial's last 6 characters (`ilce-7sm3-000001`), `-2`,
    /// `-3` on a collision.
    pub id: String,
    /// The model, from its DeviceInfo.
    pub model: String,
    /// The serial number, from its DeviceInfo (untrusted text from the camera).
    pub serial: String,
    /// The SDIO protocol version negotiated (200, 300).
    pub protocol: u16,
    /// The camera service: the only way to the camera.
    pub service: ServiceHandle,
    /// Images this server saved from this camera.
    pub(crate) images: ImageStore,
    /// Capture jobs (bulb, burst, timelapse) and single shots in flight.
    pub(crate) jobs: Jobs,
}

impl CameraEntry {
    /// True while the connection is up (from the service's status, without asking the camera).
    pub fn connected(&self) -> bool {
        self.service.status().connected
    }

    /// Single shots (`POST …/capture {}`) accepted and not yet over: waiting in the camera
    /// service's queue or shooting. [`Registry::close`] waits for them.
    pub fn shots_in_flight(&self) -> usize {
        self.jobs.shots_in_flight()
    }
}

/// The cameras served, shared by every request. Cameras are added while the server runs (a
/// body plugged in later) and never removed: one unplugged shows as disconnected and comes
/// back under the same id. At the end, [`Registry::close`] stops the captures (jobs and single
/// shots) and [`Registry::release`] lets the services go.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    cameras: Vec<Arc<CameraEntry>>,
    /// Set by `close`: no camera is added after it.
    closed: bool,
    /// What the server starts for each camera that joins (see `Registry::on_join`).
    joined: Option<JoinHook>,
}

/// Called with each camera once it is registered.
pub(crate) type JoinHook = Arc<dyn Fn(&Arc<CameraEntry>) + Send + Sync>;

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("cameras", &self.cameras)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// No cameras yet.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Serves the camera behind `service` and returns its entry (its id made unique).
    pub async fn add(&self, service: ServiceHandle) -> Result<Arc<CameraEntry>, ApiError> {
        let (model, serial, protocol) = service
            .with_camera(|cam| {
                let di = cam.device_info();
                (di.model.clone(), di.serial_number.clone(), cam.protocol().0)
            })
            .await?;
        let mut inner = self
            .inner
            .write()
            .map_err(|_| ApiError::internal("the camera list is unusable"))?;
        if inner.closed {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                "the server is shutting down",
            ));
        }
        let taken: Vec<&str> = inner.cameras.iter().map(|c| c.id.as_str()).collect();
        let id = camera_id(&model, &serial, &taken);
        let entry = Arc::new(CameraEntry {
            id,
            model,
            serial,
            protocol,
            service,
            images: ImageStore::default(),
            jobs: Jobs::default(),
        });
        inner.cameras.push(entry.clone());
        let joined = inner.joined.clone();
        drop(inner);
        if let Some(joined) = joined {
            joined(&entry);
        }
        Ok(entry)
    }

    /// Runs `hook` for every camera served now and for each one added later (the server
    /// starts its per-camera work this way, whichever came first: the camera or the server).
    pub(crate) fn on_join(&self, hook: JoinHook) {
        let cameras = match self.inner.write() {
            Ok(mut inner) => {
                inner.joined = Some(hook.clone());
                inner.cameras.clone()
            }
            Err(_) => return,
        };
        for c in &cameras {
            hook(c);
        }
    }

    /// Every camera, in the order they were added.
    pub fn list(&self) -> Vec<Arc<CameraEntry>> {
        self.inner
            .read()
            .map(|i| i.cameras.clone())
            .unwrap_or_default()
    }

    /// The camera with this id.
    pub fn get(&self, id: &str) -> Option<Arc<CameraEntry>> {
        self.list().into_iter().find(|c| c.id == id)
    }

    /// The camera with this id, or 404 `unknown_camera`.
    pub fn find(&self, id: &str) -> Result<Arc<CameraEntry>, ApiError> {
        self.get(id).ok_or_else(|| ApiError::unknown_camera(id))
    }

    /// Ends serving (the server calls it when it shuts down): no camera is added and no
    /// capture starts from now on (503 `shutting_down`), and every capture is stopped and
    /// waited for, all cameras at once: a job closes its shutter now; a single shot still
    /// queued in the service takes no picture, one in progress ends when the camera delivers
    /// its image (after its exposure: up to the shutter time). The images taken are saved, and
    /// a client still connected gets its answer. Then nothing holds a camera's service but its
    /// handles, and [`Registry::release`] ends each within its time. The cameras stay listed
    /// until then.
    pub async fn close(&self) {
        if let Ok(mut inner) = self.inner.write() {
            inner.closed = true;
        }
        let cameras = self.list();
        futures_util::future::join_all(cameras.iter().map(|c| c.jobs.shutdown())).await;
    }

    /// Lets go of every camera's service and waits up to `within` for the services to end
    /// (each finishes its command, releases the buttons and closes the session, unless the
    /// connection is gone). Call it after [`Registry::close`] and once the server has
    /// stopped: a service ends only when nothing else holds a handle on it. True when every
    /// service ended in time.
    pub async fn release(&self, within: Duration) -> bool {
        let cameras = match self.inner.write() {
            Ok(mut inner) => {
                inner.closed = true;
                std::mem::take(&mut inner.cameras)
            }
            Err(_) => return false,
        };
        // The status sender lives in the service task: `changed` fails once the task is over.
        let mut ended: Vec<_> = cameras.iter().map(|c| c.service.status_changes()).collect();
        drop(cameras);
        let all = futures_util::future::join_all(
            ended
                .iter_mut()
                .map(|rx| async move { while rx.changed().await.is_ok() {} }),
        );
        tokio::time::timeout(within, all).await.is_ok()
    }
}

/// The id of a camera: its model in lower case and the last 6 characters of its serial
/// (letters and digits only), `-2`, `-3`, … when `taken` holds it already. Only `a`–`z`,
/// `0`–`9` and `-` survive from the camera's text.
pub fn camera_id(model: &str, serial: &str, taken: &[&str]) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter_map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_alphanumeric() {
                    Some(c)
                } else if c == '-' || c == '_' || c == ' ' {
                    Some('-')
                } else {
                    None
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .to_string()
    };
    let mut model = clean(model);
    model.truncate(32);
    if model.is_empty() {
        model = "camera".into();
    }
    let serial: String = clean(serial).chars().filter(|c| *c != '-').collect();
    let tail: String = serial
        .chars()
        .skip(serial.chars().count().saturating_sub(6))
        .collect();
    let base = if tail.is_empty() {
        model
    } else {
        format!("{model}-{tail}")
    };
    if !taken.contains(&base.as_str()) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(&id.as_str()))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_model_and_the_serials_last_six() {
        let serial = "00000000000000000000000000000001";
        assert_eq!(camera_id("ILCE-7SM3", serial, &[]), "ilce-7sm3-000001");
        assert_eq!(
            camera_id("ILCE-7SM3", serial, &["ilce-7sm3-000001"]),
            "ilce-7sm3-000001-2"
        );
        assert_eq!(
            camera_id(
                "ILCE-7SM3",
                serial,
                &["ilce-7sm3-000001", "ilce-7sm3-000001-2"]
            ),
            "ilce-7sm3-000001-3"
        );
        assert_eq!(camera_id("DSC-RX100M7", "12", &[]), "dsc-rx100m7-12");
        assert_eq!(camera_id("", "", &[]), "camera");
        assert_eq!(camera_id("../<x>", "/../", &[]), "x");
    }
}
