//! The one error shape of the API, `{"error": {"code", "message", …}}`, and the mapping of
//! camera-service failures to HTTP statuses and codes. Every handler fails with [`ApiError`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sonyctl_camera::{CameraError, CaptureError, SetError, SetErrorKind};
use sonyctl_service::ServiceError;

/// An API failure: an HTTP status, a stable machine-readable `code`, a message for people and
/// any further fields (`settable` for a value not accepted).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (`unknown_property`, `busy`, …).
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// Further fields of the `error` object.
    pub extra: Map<String, Value>,
}

/// The body of every error response, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` object.
///
/// The codes and their statuses:
///
/// | code | status | when |
/// |---|---|---|
/// | `invalid_request` | 400 (415 when the body is not sent as JSON) | the request itself is wrong: JSON that does not parse or has the wrong shape, a parameter out of range, a duration above an hour, two `Host` headers |
/// | `unauthorized` | 401 | no token, or a wrong one (the connection is closed after the answer) |
/// | `forbidden_host`, `forbidden_origin` | 403 | a `Host` or `Origin` this server does not answer (the connection is closed after the answer) |
/// | `unknown_camera`, `unknown_property`, `unknown_image`, `unknown_job` | 404 | no such thing |
/// | `no_thumbnail` | 404 | the image has no thumbnail (a HEIF file, a RAW without a preview) |
/// | `not_found` | 404 | nothing is served at that path |
/// | `method_not_allowed` | 405 | the path is served, not with that method (`Allow` lists those it takes) |
/// | `value_not_accepted` | 400 | a value the camera does not take now (`settable` lists those it does) |
/// | `not_settable_now` | 409 | the setting cannot change in the camera's present state |
/// | `read_only` | 409 | the setting is never set by value |
/// | `busy` | 409 | a capture job shoots (`job` names it), a release is in progress or stopped the shot before it was taken, or the camera stayed busy |
/// | `not_possible_now` | 409 | the camera refused or cannot do it (no focus, no bulb on this body, an operation it answered with an error) |
/// | `body_too_large` | 413 | the request body is over the limit (the connection is closed after the answer) |
/// | `range_not_satisfiable` | 416 | an image's `Range` is outside the file or does not parse (`Content-Range: bytes */SIZE` gives the size) |
/// | `internal` | 500 | the server's own failure (an image it could not write) |
/// | `camera_error` | 502 | the camera failed (bad data, no image delivered, a time-out) |
/// | `camera_disconnected` | 503 | the connection is lost (the server keeps trying), or not read yet |
/// | `too_many_streams` | 503 | every live-view or event stream is taken |
/// | `live_view_unavailable` | 503 | no live-view frame came in time (live view refused, or an exposure in progress) |
/// | `shutting_down` | 503 | the server is stopping: it takes no new camera and starts no capture |
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (see the table above).
    #[schema(example = "value_not_accepted")]
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// For `value_not_accepted`: the display texts of the values settable now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settable: Option<Vec<String>>,
    /// For `busy` because of a capture job: the job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<u64>,
}

impl ApiError {
    /// An error with no further fields.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    /// Adds a field to the `error` object.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// 400 `invalid_request`: the request itself is wrong (bad JSON, a value out of range).
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `unknown_camera`.
    pub fn unknown_camera(id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_camera",
            format!("no camera with the id {id:?}: GET /api/v1/cameras lists them"),
        )
    }

    /// 409 `busy`: the camera is doing something that must finish first.
    pub fn busy(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "busy", message)
    }

    /// 503 `camera_disconnected`.
    pub fn disconnected(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "camera_disconnected",
            message,
        )
    }

    /// 500 `internal`: the server's own failure (a file it could not write).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 409 `not_possible_now`: the camera refused, or cannot do it.
    pub fn not_possible(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "not_possible_now", message)
    }

    /// 413 `body_too_large`: the request body is longer than `limit` bytes. (The connection
    /// is closed after it: `security::guard` says so on every 413.)
    pub fn body_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// 502 `camera_error`: the camera failed.
    pub fn camera_error(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_GATEWAY, "camera_error", message)
    }

    /// A failure of the camera or of the connection to it.
    fn of_camera(e: &CameraError, message: String) -> ApiError {
        if e.is_connection_lost() {
            return ApiError::disconnected(message);
        }
        if e.is_retryable() {
            return ApiError::busy(message);
        }
        match e {
            // The camera said no (an operation answered with an error code, another
            // application in control, a body without the feature): its state, not a failure.
            CameraError::Response { .. } | CameraError::NotRemote(_) | CameraError::InUse => {
                ApiError::not_possible(message)
            }
            CameraError::Shared(s) => ApiError::of_camera(s.error(), message),
            _ => ApiError::camera_error(message),
        }
    }

    /// A setting that could not be made.
    fn of_set(e: &SetError, message: String) -> ApiError {
        match e {
            SetError::NotAccepted { accepted, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "value_not_accepted", message)
                    .with("settable", accepted.clone())
            }
            SetError::Camera(c) => ApiError::of_camera(c, message),
            _ => match e.kind() {
                SetErrorKind::UnknownName => {
                    ApiError::new(StatusCode::NOT_FOUND, "unknown_property", message)
                }
                SetErrorKind::InvalidValue => {
                    ApiError::new(StatusCode::BAD_REQUEST, "value_not_accepted", message)
                        .with("settable", Vec::<String>::new())
                }
                SetErrorKind::NotNow => {
                    ApiError::new(StatusCode::CONFLICT, "not_settable_now", message)
                }
                SetErrorKind::ReadOnly => ApiError::new(StatusCode::CONFLICT, "read_only", message),
                SetErrorKind::Busy => ApiError::busy(message),
                _ => ApiError::camera_error(message),
            },
        }
    }

    /// A capture or download that failed.
    fn of_capture(e: &CaptureError, message: String) -> ApiError {
        match e {
            CaptureError::Camera(c) => ApiError::of_camera(c, message),
            CaptureError::Set(s) => ApiError::of_set(s, message),
            CaptureError::Save(_) => ApiError::internal(message),
            CaptureError::FocusFailed | CaptureError::Unsupported(_) => {
                ApiError::not_possible(message)
            }
            CaptureError::ConnectionDropped(_) | CaptureError::TooManyReconnects(_) => {
                ApiError::disconnected(message)
            }
            _ => ApiError::camera_error(message),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = Map::new();
        error.insert("code".into(), Value::from(self.code));
        error.insert("message".into(), Value::from(self.message));
        error.extend(self.extra);
        let mut body = Map::new();
        body.insert("error".into(), Value::Object(error));
        (self.status, axum::Json(Value::Object(body))).into_response()
    }
}

/// Every failure of the camera service by kind, never by its text: what was asked wrongly is
/// 4xx, a camera that says no for now is 409, a lost connection 503, a camera that fails 502,
/// the server's own disk 500.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let message = e.to_string();
        match &e {
            ServiceError::UnknownName(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_property", message)
            }
            ServiceError::Set(s) => ApiError::of_set(s, message),
            ServiceError::Capture(c) => ApiError::of_capture(c, message),
            ServiceError::Camera(c) => ApiError::of_camera(c, message),
            ServiceError::Disconnected(_) | ServiceError::Ended => ApiError::disconnected(message),
            _ => ApiError::camera_error(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sonyctl_camera::TransportError;
    use sonyctl_ptp::{OperationCode, ResponseCode};

    use super::*;

    fn response(code: ResponseCode) -> CameraError {
        CameraError::Response {
            operation: OperationCode(0x9207),
            code,
        }
    }

    #[test]
    fn service_failures_map_by_kind() {
        let lost = || CameraError::Transport(TransportError::Timeout(Duration::from_secs(5), "x"));
        let cases: Vec<(ServiceError, u16, &str)> = vec![
            (
                ServiceError::UnknownName("x".into()),
                404,
                "unknown_property",
            ),
            (
                ServiceError::Set(SetError::NotAccepted {
                    name: "ISO".into(),
                    value: "333".into(),
                    accepted: vec!["800".into()],
                }),
                400,
                "value_not_accepted",
            ),
            (
                ServiceError::Set(SetError::NotSettableNow {
                    name: "ISO".into(),
                    why: "disabled".into(),
                }),
                409,
                "not_settable_now",
            ),
            (
                ServiceError::Set(SetError::ReadOnly { name: "x".into() }),
                409,
                "read_only",
            ),
            (ServiceError::Set(SetError::Busy), 409, "busy"),
            (
                ServiceError::Camera(response(ResponseCode::DEVICE_BUSY)),
                409,
                "busy",
            ),
            (
                ServiceError::Camera(response(ResponseCode::ACCESS_DENIED)),
                409,
                "not_possible_now",
            ),
            (
                ServiceError::Camera(CameraError::NotRemote("no movie".into())),
                409,
                "not_possible_now",
            ),
            (ServiceError::Camera(lost()), 503, "camera_disconnected"),
            (
                ServiceError::Set(SetError::Camera(lost())),
                503,
                "camera_disconnected",
            ),
            (ServiceError::Ended, 503, "camera_disconnected"),
            (
                ServiceError::Capture(CaptureError::FocusFailed),
                409,
                "not_possible_now",
            ),
            (
                ServiceError::Capture(CaptureError::Timeout(Duration::from_secs(30), "x")),
                502,
                "camera_error",
            ),
            (
                ServiceError::Capture(CaptureError::ConnectionDropped("x")),
                503,
                "camera_disconnected",
            ),
        ];
        for (e, status, code) in cases {
            let text = e.to_string();
            let api = ApiError::from(e);
            assert_eq!((api.status.as_u16(), api.code), (status, code), "{text}");
            assert_eq!(api.message, text);
        }
    }

    #[test]
    fn not_accepted_lists_what_is_settable() {
        let api = ApiError::from(ServiceError::Set(SetError::NotAccepted {
            name: "ISO".into(),
            value: "333".into(),
            accepted: vec!["AUTO".into(), "800".into()],
        }));
        assert_eq!(
            api.extra.get("settable"),
            Some(&serde_json::json!(["AUTO", "800"]))
        );
    }
}
