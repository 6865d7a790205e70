//! The cameras the server serves: each with a stable id, its service handle, and the server's
//! own records of it (images saved, capture jobs).

use std::sync::{Arc, OnceLock, RwLock};

use sonyctl_camera::save::Saver;
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
    /// Capture jobs (bulb, burst, timelapse).
    pub(crate) jobs: Jobs,
}

impl CameraEntry {
    /// True while the connection is up (from the service's status, without asking the camera).
    pub fn connected(&self) -> bool {
        self.service.status().connected
    }
}

/// The cameras served, shared by every request. Cameras are added while the server runs (a
/// body plugged in later) and never removed: one unplugged shows as disconnected and comes
/// back under the same id.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    cameras: Arc<RwLock<Vec<Arc<CameraEntry>>>>,
    /// Where shots taken with a camera's own button go, once a server serves the registry
    /// ([`Registry::tether_into`]): every camera then gets its tether task.
    tether: Arc<OnceLock<Arc<Saver>>>,
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
        let mut cameras = self
            .cameras
            .write()
            .map_err(|_| ApiError::internal("the camera list is unusable"))?;
        let taken: Vec<&str> = cameras.iter().map(|c| c.id.as_str()).collect();
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
        cameras.push(entry.clone());
        // Under the lock, so that `tether_into` starts each camera's task exactly once.
        if let Some(saver) = self.tether.get() {
            crate::tether::spawn_tether(&entry, saver.clone());
        }
        Ok(entry)
    }

    /// Downloads the shots taken with each camera's own button into `saver` from now on, for
    /// the cameras served and those added later (the server calls it once; later calls do
    /// nothing).
    pub(crate) fn tether_into(&self, saver: Arc<Saver>) {
        let Ok(cameras) = self.cameras.write() else {
            return;
        };
        if self.tether.set(saver.clone()).is_ok() {
            for entry in cameras.iter() {
                crate::tether::spawn_tether(entry, saver.clone());
            }
        }
    }

    /// Every camera, in the order they were added.
    pub fn list(&self) -> Vec<Arc<CameraEntry>> {
        self.cameras.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// The camera with this id.
    pub fn get(&self, id: &str) -> Option<Arc<CameraEntry>> {
        self.list().into_iter().find(|c| c.id == id)
    }

    /// The camera with this id, or 404 `unknown_camera`.
    pub fn find(&self, id: &str) -> Result<Arc<CameraEntry>, ApiError> {
        self.get(id).ok_or_else(|| ApiError::unknown_camera(id))
    }

    /// Ends serving: stops every capture job (images taken are still saved) and waits for
    /// them. The services end when the last handle is dropped.
    pub async fn close(&self) {
        for c in self.list() {
            c.jobs.shutdown().await;
        }
    }

    /// True when a camera with this serial number is served already.
    pub fn has_serial(&self, serial: &str) -> bool {
        self.list().iter().any(|c| c.serial == serial)
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
