//! The handlers under `/api/v1`, one module per resource. Each module gives its routes as an
//! `OpenApiRouter`, so the OpenAPI document is generated from the handlers themselves.
//!
//! What the handlers share is here: the extractors whose rejections are [`ApiError`]s (a body
//! that is not JSON, too large, or not of the request's shape; a path or query parameter that
//! does not parse), the path parameters as the document describes them, durations as the CLI
//! writes them, and the rule that keeps a capture job's shutter to itself.

use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::registry::CameraEntry;
use crate::state::AppState;

pub(crate) mod actions;
pub(crate) mod cameras;
pub(crate) mod events;
pub(crate) mod images;
pub(crate) mod jobs;
pub(crate) mod liveview;
pub(crate) mod properties;

/// Every route under `/api/v1`.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(cameras::routes())
        .merge(properties::routes())
        .merge(actions::routes())
        .merge(jobs::routes())
        .merge(images::routes())
        .merge(events::routes())
        .merge(liveview::routes())
}

/// A JSON request body of type `T`. Its failures are the API's:
///
/// - a body longer than the server's limit (`Limits::body_bytes`): 413 `body_too_large`;
/// - a body sent with a `Content-Type` other than `application/json` (or a `+json` type):
///   415 with the code `invalid_request`;
/// - JSON that does not parse, is not an object, or is not of the request's shape (a field
///   missing, unknown or of the wrong type): 400 `invalid_request`, the message saying which.
///
/// An empty body with no `Content-Type`, and the JSON `null`, read as `{}`, so
/// `curl -X POST …/capture` shoots.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().map(str::to_ascii_lowercase));
        let limit = state.config.limits.body_bytes;
        let body = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|e| {
                if is_length_limit(&e) {
                    ApiError::body_too_large(limit)
                } else {
                    ApiError::invalid(format!("the request body could not be read: {e}"))
                }
            })?;
        let bytes: &[u8] = match &content_type {
            None if body.is_empty() => b"{}",
            None => return Err(not_json()),
            Some(Ok(t)) if is_json(t) => &body,
            Some(_) => return Err(not_json()),
        };
        let mut value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::invalid(format!("the request body is not JSON: {e}")))?;
        whole_numbers_as_integers(&mut value);
        // `null` is no body, as an empty one is.
        if value.is_null() {
            value = serde_json::Value::Object(serde_json::Map::new());
        }
        // Every body of this API is an object (serde would also read a struct from an array).
        if !value.is_object() {
            return Err(ApiError::invalid("the request body must be a JSON object"));
        }
        T::deserialize(value)
            .map(ApiJson)
            .map_err(|e| ApiError::invalid(format!("the request body: {e}")))
    }
}

/// Writes every number with no fraction (`46.0`) as an integer: JSON Schema counts it as one,
/// so a field documented as an integer takes it.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let Some(f) = n.as_f64() else { return };
            if f.fract() != 0.0 {
                return;
            }
            // The casts are exact: `f` is whole and inside the target's range.
            // `i64::MAX as f64` and `u64::MAX as f64` are 2^63 and 2^64, just out of range.
            if f >= i64::MIN as f64 && f < i64::MAX as f64 {
                *value = Value::from(f as i64);
            } else if f >= 0.0 && f < u64::MAX as f64 {
                *value = Value::from(f as u64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// True for `application/json` and `application/…+json`, parameters (`charset`) aside.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// True when reading a body stopped at the length limit (this one or a layer's).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// 415, code `invalid_request`.
fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        "send the request body as JSON (Content-Type: application/json)",
    )
}

/// Path parameters of type `T`; one that does not parse (a job id that is no number) is
/// 400 `invalid_request`.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::invalid(format!("the path: {}", e.body_text())))
    }
}

/// Query parameters of type `T`; a query that does not parse is 400 `invalid_request`.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::invalid(format!("the query: {}", e.body_text())))
    }
}

/// `{id}`: a camera.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CameraPath {
    /// The camera's id, as `GET /api/v1/cameras` lists it (`ilce-7sm3-000001`; the pattern is
    /// what [`crate::registry::camera_id`] makes).
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$", max_length = 64)]
    pub(crate) id: String,
}

/// The longest bulb, burst or timelapse interval the HTTP API takes (the facade allows longer:
/// a request that outlives any client is a mistake here).
pub(crate) const MAX_HTTP_DURATION: Duration = Duration::from_secs(3600);

/// The forms of a positive duration the OpenAPI document advertises, as a regular expression
/// (without anchors): the CLI's syntax (`30s`, `1m30s`, `500ms`, `1.5s`, `2min`, `1h`) in
/// canonical forms (no leading zeros, at most 3 decimals) whose value is above zero and at most
/// an hour: milliseconds to 3 600 000, seconds to 3600, minutes to 60, hours to 1, or minutes
/// and seconds below 60 each. A generator following the schema asks for nothing the server
/// refuses; the server itself reads the whole syntax (`sonyctl_sony::parse_duration`) and
/// refuses more than an hour with 400.
macro_rules! positive_duration_forms {
    () => {
        concat!(
            "([1-9][0-9]{0,5}|[12][0-9]{6}|3[0-5][0-9]{5}|3600000)ms",
            "|([1-9][0-9]{0,2}(\\.[0-9]{1,3})?|[12][0-9]{3}(\\.[0-9]{1,3})?|3[0-5][0-9]{2}(\\.[0-9]{1,3})?|3600(\\.0{1,3})?|0?\\.[0-9]{0,2}[1-9])s",
            "|([1-9](\\.[0-9]{1,3})?|[1-5][0-9](\\.[0-9]{1,3})?|60(\\.0{1,3})?|0?\\.[0-9]{0,2}[1-9])(m|min)",
            "|(1(\\.0{1,3})?|0?\\.[0-9]{0,2}[1-9])h",
            "|([1-9]|[1-5][0-9])m([0-9]|[1-5][0-9])(\\.[0-9]{1,3})?s",
        )
    };
}

/// A bulb's or burst's length in the OpenAPI document (see `positive_duration_forms`).
pub(crate) const POSITIVE_DURATION_PATTERN: &str = concat!("^(", positive_duration_forms!(), ")$");

/// A timelapse's interval in the OpenAPI document: a positive duration, or zero (`0s`).
pub(crate) const DURATION_PATTERN: &str =
    concat!("^(", positive_duration_forms!(), "|0(ms|s|m|min|h))$");

/// Reads a duration of the request (`what` names it in the message) in the CLI's syntax:
/// at most [`MAX_HTTP_DURATION`], above zero unless `zero_ok`.
pub(crate) fn http_duration(text: &str, what: &str, zero_ok: bool) -> Result<Duration, ApiError> {
    let d = sonyctl_sony::parse_duration(text)
        .map_err(|e| ApiError::invalid(format!("{what}: {e}")))?;
    if d > MAX_HTTP_DURATION {
        return Err(ApiError::invalid(format!(
            "{what}: {text:?} is longer than the hour this API allows"
        )));
    }
    if d.is_zero() && !zero_ok {
        return Err(ApiError::invalid(format!(
            "{what}: needs a length above zero"
        )));
    }
    Ok(d)
}

/// The busy rule: while a capture job has a capture in the camera service, what would queue
/// behind it (a capture, autofocus, focus, the focus point, movie, a property set) is refused
/// with 409 `busy` naming the job, instead of waiting for minutes.
pub(crate) fn not_while_a_job_shoots(entry: &CameraEntry) -> Result<(), ApiError> {
    match entry.jobs.shooting() {
        Some(job) => Err(jobs::busy_with(job)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for t in [
            "application/json",
            "application/json; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(t), "{t}");
        }
        for t in ["text/plain", "application/jsonx", "", "json"] {
            assert!(!is_json(t), "{t}");
        }
    }

    #[test]
    fn whole_numbers_are_integers() {
        let mut v = serde_json::json!({"steps": 46.0, "x": [327.0, 0.5], "n": -2.0, "big": 1e30});
        whole_numbers_as_integers(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"steps": 46, "x": [327, 0.5], "n": -2, "big": 1e30})
        );
        assert!(v["steps"].is_i64());
    }

    #[test]
    fn durations_of_an_hour_at_most() {
        assert_eq!(
            http_duration("1m30s", "bulb", false),
            Ok(Duration::from_secs(90))
        );
        assert_eq!(http_duration("1h", "bulb", false), Ok(MAX_HTTP_DURATION));
        assert_eq!(http_duration("0s", "interval", true), Ok(Duration::ZERO));
        for (text, zero_ok) in [("1h1ms", true), ("61m", true), ("0s", false), ("ten", true)] {
            let e = http_duration(text, "bulb", zero_ok).err();
            assert_eq!(e.map(|e| e.code), Some("invalid_request"), "{text}");
        }
    }
}
