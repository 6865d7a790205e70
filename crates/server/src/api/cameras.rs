//! `GET /cameras` and `GET /cameras/{id}`: the cameras served, and one camera's description
//! and status. Both answer from what the service already knows (its status and its last read
//! of the properties): they never queue behind a capture and never reach the camera.

use axum::Json;
use axum::extract::State;
use sonyctl_service::{CameraInfo, ExposureStatus, Status};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{ApiPath, CameraPath};
use crate::error::{ApiError, ErrorBody};
use crate::registry::CameraEntry;
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cameras))
        .routes(routes!(get_camera))
}

/// The cameras served.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CameraList {
    /// In the order they were found.
    pub(crate) cameras: Vec<CameraSummary>,
}

/// One camera in the list.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CameraSummary {
    /// Stable id: the model and the serial's last 6 characters (`ilce-7sm3-000001`).
    pub(crate) id: String,
    /// The model, from its DeviceInfo.
    pub(crate) model: String,
    /// The serial number, from its DeviceInfo.
    pub(crate) serial: String,
    /// The SDIO protocol version negotiated (200, 300).
    pub(crate) protocol: u16,
    /// False while the connection is lost (the server keeps trying).
    pub(crate) connected: bool,
}

/// One camera: what it is and how it stands.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CameraDetail {
    /// The object `sonyctl info --json` prints, from the last successful read of the
    /// camera's properties (while disconnected, what it said last).
    #[schema(value_type = CameraInfoSchema)]
    pub(crate) info: CameraInfo,
    /// The status now.
    pub(crate) status: StatusView,
}

/// The object `sonyctl info --json` prints (`sonyctl_camera::CameraInfo`): every field as the
/// camera displays it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CameraInfo)]
pub(crate) struct CameraInfoSchema {
    /// The battery level as displayed (`71%`, `unknown`, `n/a`).
    battery: String,
    /// The exposure program as displayed (`M`, `P`, …).
    exposure_program: String,
    /// The firmware version.
    firmware: String,
    /// The lens model, `attached`, or `none reported`.
    lens: String,
    /// The manufacturer.
    manufacturer: String,
    /// The model.
    model: String,
    /// Images waiting in the camera as displayed (`none`, `1 ready`, …).
    pending_images: String,
    /// The SDIO protocol version negotiated (`200`, `300`).
    protocol: String,
    /// Where shots go as displayed.
    save_destination: String,
    /// The serial number.
    serial: String,
}

/// The camera's status, from the service's snapshot.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct StatusView {
    /// False while the connection is lost and being restored.
    pub(crate) connected: bool,
    /// The command the camera service is running (`capture bulb 30.000 s`, `set iso 800`),
    /// or null when idle.
    pub(crate) busy: Option<String>,
    /// The current or last exposure.
    pub(crate) exposure: ExposureView,
    /// Images ready in the camera's buffer (a lower bound).
    pub(crate) pending_images: u16,
    /// The battery level in percent, or null when the camera does not report one.
    #[schema(maximum = 100)]
    pub(crate) battery_percent: Option<u8>,
}

/// Where the current or last shot stands.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ExposureView {
    /// The state.
    pub(crate) state: ExposureStateName,
    /// 0 to 1 within the state: exposing, the time elapsed over the exposure's length;
    /// downloading and discarding, the bytes over the size; waiting, the time waited over the
    /// longest wait; 0 otherwise.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub(crate) progress: f64,
    /// When the exposure started, in seconds on the camera link's clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) started: Option<f64>,
    /// The exposure's length in seconds, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) length: Option<f64>,
    /// What is waited for, the file being downloaded, or the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

/// The exposure states of the camera service (`docs/architecture.md`, "Exposure state").
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExposureStateName {
    /// Nothing is being shot or downloaded.
    Idle,
    /// Focusing, or the camera's start-up lock-out.
    Waiting,
    /// The shutter is open.
    Exposing,
    /// The camera writes the image.
    Processing,
    /// An image comes to the server.
    Downloading,
    /// An aborted shot's frame is read out and dropped.
    Discarding,
    /// The shot failed.
    Error,
}

impl ExposureStateName {
    fn of(state: sonyctl_service::ExposureState) -> ExposureStateName {
        use sonyctl_service::ExposureState as S;
        match state {
            S::Idle => ExposureStateName::Idle,
            S::Waiting => ExposureStateName::Waiting,
            S::Exposing => ExposureStateName::Exposing,
            S::Processing => ExposureStateName::Processing,
            S::Downloading => ExposureStateName::Downloading,
            S::Discarding => ExposureStateName::Discarding,
            // A state added to the service later shows as an error until it is named here.
            _ => ExposureStateName::Error,
        }
    }
}

/// A progress as the API shows it: within 0 to 1, and 0 for what is not a number.
pub(crate) fn fraction(progress: f64) -> f64 {
    if progress.is_finite() {
        progress.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

impl ExposureView {
    pub(crate) fn new(e: &ExposureStatus) -> ExposureView {
        ExposureView {
            state: ExposureStateName::of(e.state),
            progress: fraction(e.progress),
            started: e.started.map(|d| d.as_secs_f64()),
            length: e.length.map(|d| d.as_secs_f64()),
            detail: e.detail.clone(),
        }
    }
}

impl StatusView {
    pub(crate) fn new(s: &Status) -> StatusView {
        StatusView {
            connected: s.connected,
            busy: s.busy.clone(),
            exposure: ExposureView::new(&s.exposure),
            pending_images: s.pending_images,
            battery_percent: s.battery_percent,
        }
    }
}

fn summary(c: &CameraEntry) -> CameraSummary {
    CameraSummary {
        id: c.id.clone(),
        model: c.model.clone(),
        serial: c.serial.clone(),
        protocol: c.protocol,
        connected: c.connected(),
    }
}

/// The cameras served.
#[utoipa::path(
    get,
    path = "/cameras",
    tag = "cameras",
    responses((status = 200, description = "The cameras served", body = CameraList))
)]
pub(crate) async fn list_cameras(State(state): State<AppState>) -> Json<CameraList> {
    Json(CameraList {
        cameras: state.registry.list().iter().map(|c| summary(c)).collect(),
    })
}

/// One camera: its description (as `sonyctl info --json`) and its status.
#[utoipa::path(
    get,
    path = "/cameras/{id}",
    tag = "cameras",
    params(CameraPath),
    responses(
        (status = 200, description = "The camera", body = CameraDetail),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`: never read yet", body = ErrorBody),
    )
)]
pub(crate) async fn get_camera(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
) -> Result<Json<CameraDetail>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let info = entry.service.cached_info().ok_or_else(|| {
        ApiError::disconnected("the camera's settings have not been read yet; try again shortly")
    })?;
    Ok(Json(CameraDetail {
        info: info.as_ref().clone(),
        status: StatusView::new(&entry.service.status()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonyctl_service::ExposureState;

    #[test]
    fn progress_is_a_fraction() {
        for (p, want) in [
            (0.25, 0.25),
            (-0.5, 0.0),
            (1.5, 1.0),
            (f64::NAN, 0.0),
            (f64::INFINITY, 0.0),
            (f64::NEG_INFINITY, 0.0),
        ] {
            assert_eq!(fraction(p), want, "{p}");
        }
    }

    /// The document's names are the service's.
    #[test]
    fn exposure_state_names_are_the_services() {
        for s in [
            ExposureState::Idle,
            ExposureState::Waiting,
            ExposureState::Exposing,
            ExposureState::Processing,
            ExposureState::Downloading,
            ExposureState::Discarding,
            ExposureState::Error,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                serde_json::to_value(ExposureStateName::of(s)).ok()
            );
        }
    }

    /// The schema names every field the facade's `CameraInfo` serialises, and no other.
    #[test]
    fn the_info_schema_is_the_facades_shape() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(CameraInfoSchema::schema()).unwrap_or_default();
        let mut documented: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let info = CameraInfo {
            battery: String::new(),
            exposure_program: String::new(),
            firmware: String::new(),
            lens: String::new(),
            manufacturer: String::new(),
            model: String::new(),
            pending_images: String::new(),
            protocol: String::new(),
            save_destination: String::new(),
            serial: String::new(),
        };
        let mut served: Vec<String> = serde_json::to_value(&info)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default();
        documented.sort();
        served.sort();
        assert!(!served.is_empty());
        assert_eq!(documented, served);
    }
}
