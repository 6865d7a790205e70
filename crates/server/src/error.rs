//! The one error shape of the API, `{"error": {"code", "message", …}}`, and the mapping of
//! camera-service failures to HTTP statuses and codes. Every handler fails with [`ApiError`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sonyctl_camera::SetErrorKind;
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
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code: `unknown_camera`, `unknown_property`, `unknown_image`,
    /// `unknown_job`, `invalid_request`, `value_not_accepted` (with `settable`),
    /// `not_settable_now`, `read_only`, `busy`, `not_possible_now`, `camera_disconnected`,
    /// `camera_error`, `body_too_large`, `unauthorized`, `forbidden_host`, `forbidden_origin`,
    /// `too_many_streams`, `internal`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// For `value_not_accepted`: the display texts of the values settable now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settable: Option<Vec<String>>,
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

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        let message = e.to_string();
        if let ServiceError::Set(sonyctl_camera::SetError::NotAccepted { accepted, .. }) = &e {
            return ApiError::new(StatusCode::BAD_REQUEST, "value_not_accepted", message)
                .with("settable", accepted.clone());
        }
        match e.set_kind() {
            Some(SetErrorKind::UnknownName) => {
                return ApiError::new(StatusCode::NOT_FOUND, "unknown_property", message);
            }
            Some(SetErrorKind::InvalidValue) => {
                return ApiError::new(StatusCode::BAD_REQUEST, "value_not_accepted", message)
                    .with("settable", Vec::<String>::new());
            }
            Some(SetErrorKind::NotNow) => {
                return ApiError::new(StatusCode::CONFLICT, "not_settable_now", message);
            }
            Some(SetErrorKind::ReadOnly) => {
                return ApiError::new(StatusCode::CONFLICT, "read_only", message);
            }
            Some(SetErrorKind::Busy) => return ApiError::busy(message),
            _ => {}
        }
        match e {
            ServiceError::Disconnected(_) | ServiceError::Ended => ApiError::disconnected(message),
            _ => ApiError::new(StatusCode::BAD_GATEWAY, "camera_error", message),
        }
    }
}
