//! TODO(skeleton): the image routes. The store itself is shared: capture handlers and the
//! event-driven download of shots taken on the camera both record what was saved here.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use sonyctl_camera::Downloaded;
use sonyctl_ptp::ObjectFormatCode;
use sonyctl_sony::values::format_label;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// One saved image as the API shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ImageView {
    /// The file name inside the output folder (the id in `…/images/{name}`).
    pub(crate) name: String,
    /// Bytes.
    pub(crate) size: u64,
    /// The file format (`JPEG`, `ARW`, …).
    pub(crate) format: String,
    /// When it was saved, RFC 3339 in UTC.
    pub(crate) time: String,
    /// The exposure settings read just before the shot, as displayed (`iso`: `800`, …).
    #[schema(value_type = Object)]
    pub(crate) settings: serde_json::Map<String, serde_json::Value>,
}

/// One image the server saved: what the API shows and where the file is.
#[derive(Clone, Debug)]
pub(crate) struct ImageRecord {
    pub(crate) view: ImageView,
    pub(crate) path: PathBuf,
    pub(crate) saved: SystemTime,
}

/// The images this server saved from one camera, oldest first. Recording is idempotent by
/// path: a capture's report and the service's `NewImage` event may both record one file.
#[derive(Debug, Default)]
pub(crate) struct ImageStore {
    records: Mutex<Vec<ImageRecord>>,
}

impl ImageStore {
    /// Records a saved file (once) and returns its view.
    pub(crate) fn record(&self, d: &Downloaded) -> ImageView {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = records.iter().find(|r| r.path == d.file.path) {
            return r.view.clone();
        }
        let saved = SystemTime::now();
        let view = ImageView {
            name: d
                .file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: d.file.size,
            format: format_label(ObjectFormatCode(d.file.format)).to_string(),
            time: rfc3339(saved),
            settings: d
                .settings
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone())))
                .collect(),
        };
        records.push(ImageRecord {
            view: view.clone(),
            path: d.file.path.clone(),
            saved,
        });
        view
    }

    /// Every record, newest first.
    pub(crate) fn newest_first(&self) -> Vec<ImageRecord> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.iter().rev().cloned().collect()
    }

    /// The record of the file called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<ImageRecord> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.iter().find(|r| r.view.name == name).cloned()
    }

    /// Forgets the file called `name`; returns its record.
    pub(crate) fn remove(&self, name: &str) -> Option<ImageRecord> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let i = records.iter().position(|r| r.view.name == name)?;
        Some(records.remove(i))
    }
}

/// `t` as RFC 3339 in UTC, to the millisecond.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let (y, mo, d, h, mi, s) = sonyctl_ptp::date::utc_from_unix((ms / 1000) as u64);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
