//! Actions: `POST /cameras/{id}/capture`, `…/af`, `…/release`, `…/focus`, `…/focus-point`,
//! `…/movie`. Each goes through the camera service; what would queue behind a capture job's
//! shot is refused with 409 `busy` naming the job (`release` stops the jobs and the shots in
//! flight first instead). The captures themselves are run by [`crate::api::jobs`].

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sonyctl_camera::{CaptureOptions, FocusState};
use sonyctl_service::ShotOptions;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::images::ImageView;
use crate::api::jobs::{self, Plan};
use crate::api::{
    ApiJson, ApiPath, CameraPath, DURATION_PATTERN, POSITIVE_DURATION_PATTERN, http_duration,
    not_while_a_job_shoots,
};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(capture))
        .routes(routes!(autofocus))
        .routes(routes!(release))
        .routes(routes!(focus))
        .routes(routes!(focus_point))
        .routes(routes!(movie))
}

/// The most shots a timelapse takes.
pub(crate) const MAX_COUNT: u32 = 10_000;
/// The most focus steps one request moves.
pub(crate) const MAX_STEPS: u32 = 100;

/// What to shoot. `{}` (or no body) is one shot; at most one of `bulb`, `burst` and `count` is
/// given, and `interval` only with `count`. Durations are written as on the command line
/// (`30s`, `1m30s`, `500ms`, `1.5s`, `2min`, `1h`): at most an hour. A field given as `null`
/// is refused like any value of the wrong type.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaptureRequest {
    /// A bulb exposure of this length: a job.
    #[serde(default, deserialize_with = "present")]
    bulb: Option<String>,
    /// Continuous shooting for this long: a job.
    #[serde(default, deserialize_with = "present")]
    burst: Option<String>,
    /// A timelapse of this many single shots: a job.
    #[serde(default, deserialize_with = "present")]
    count: Option<u32>,
    /// Between the starts of two timelapse shots.
    #[serde(default, deserialize_with = "present")]
    interval: Option<String>,
    /// Focus first (default).
    #[serde(default, deserialize_with = "present")]
    af: Option<bool>,
}

/// A field that may be left out but not given as `null`.
fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The schema: one of four shapes, so that a generator never combines two kinds of shot.
impl utoipa::PartialSchema for CaptureRequest {
    fn schema() -> RefOr<Schema> {
        let af =
            || {
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                "Focus first and refuse to shoot when focus fails (default true; skipped in \
                 manual focus); false shoots without waiting for focus",
            ))
            };
        let duration = |pattern: &str, description: &str, example: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .max_length(Some(24))
                .description(Some(description))
                .examples([serde_json::json!(example)])
        };
        let shape = |title: &str, description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .title(Some(title))
                .description(Some(description))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .property("af", af())
        };
        let bulb = duration(
            POSITIVE_DURATION_PATTERN,
            "The length, timed by the server (the shutter is set to BULB if needed, in mode M)",
            "30s",
        );
        let burst = duration(
            POSITIVE_DURATION_PATTERN,
            "How long to shoot (the drive mode is set to continuous if needed)",
            "2s",
        );
        let interval = duration(
            DURATION_PATTERN,
            "Between the starts of two shots (default 0s: one after the other)",
            "10s",
        );
        let count = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_COUNT))
            .description(Some("Shots"));
        OneOfBuilder::new()
            .item(shape("single", "One shot, answered with its images (200)"))
            .item(
                shape("bulb", "A bulb exposure: a job (202)")
                    .property("bulb", bulb)
                    .required("bulb"),
            )
            .item(
                shape("burst", "Continuous shooting: a job (202)")
                    .property("burst", burst)
                    .required("burst"),
            )
            .item(
                shape("timelapse", "Single shots on a fixed schedule: a job (202)")
                    .property("count", count)
                    .property("interval", interval)
                    .required("count"),
            )
            .description(Some(
                "What to shoot: {} is one shot; bulb, burst or count (with interval) start a job",
            ))
            .into()
    }
}

impl utoipa::ToSchema for CaptureRequest {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("CaptureRequest")
    }
}

impl CaptureRequest {
    /// One shot (`None`) or a job's plan.
    fn plan(&self) -> Result<Option<Plan>, ApiError> {
        let given = [
            self.bulb.is_some(),
            self.burst.is_some(),
            self.count.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ApiError::invalid(
                "give at most one of bulb, burst and count",
            ));
        }
        if self.interval.is_some() && self.count.is_none() {
            return Err(ApiError::invalid("interval goes with count"));
        }
        if let Some(text) = &self.bulb {
            return Ok(Some(Plan::Bulb(http_duration(text, "bulb", false)?)));
        }
        if let Some(text) = &self.burst {
            return Ok(Some(Plan::Burst(http_duration(text, "burst", false)?)));
        }
        if let Some(count) = self.count {
            if !(1..=MAX_COUNT).contains(&count) {
                return Err(ApiError::invalid(format!(
                    "count: from 1 to {MAX_COUNT} shots"
                )));
            }
            let interval = match &self.interval {
                Some(text) => http_duration(text, "interval", true)?,
                None => std::time::Duration::ZERO,
            };
            return Ok(Some(Plan::Timelapse { count, interval }));
        }
        Ok(None)
    }
}

/// The images of one shot.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct CaptureImages {
    /// The shot's files (RAW+JPEG is two).
    images: Vec<ImageView>,
}

/// A capture job was started.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobCreated {
    /// Its id: `GET …/jobs/{job}` follows it, `DELETE …/jobs/{job}` stops it.
    job: u64,
}

fn shot_options(state: &AppState, af: Option<bool>) -> ShotOptions {
    ShotOptions {
        capture: CaptureOptions {
            autofocus: af.unwrap_or(true),
            ..CaptureOptions::default()
        },
        saver: state.saver.clone(),
    }
}

/// Takes a picture: `{}` one shot, answered with its images once they are saved; `bulb`,
/// `burst` or `count` start a capture job, answered at once with its id (`Location` names it).
/// A release (or the server's end) stops a shot that waits in the camera's queue: it takes no
/// picture and is answered 409 `busy` (503 `shutting_down`).
#[utoipa::path(
    post,
    path = "/cameras/{id}/capture",
    tag = "actions",
    params(CameraPath),
    request_body = Option<CaptureRequest>,
    responses(
        (status = 200, description = "One shot, saved", body = CaptureImages),
        (status = 202, description = "A capture job started", body = JobCreated,
            headers(("Location" = String, description = "The job: /api/v1/cameras/{id}/jobs/{job}"))),
        (status = 400, description = "`invalid_request` (a duration above an hour, two kinds of shot at once, …)", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 409, description = "`busy` (a capture job is going, `job` names it; a release is in progress, or stopped this shot before it was taken), `not_possible_now` (no focus, no bulb on this body), `not_settable_now`", body = ErrorBody),
        (status = 415, description = "`invalid_request`: the body is not JSON", body = ErrorBody),
        (status = 500, description = "`internal`: the image could not be written", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`, `shutting_down` (the server is stopping: no capture starts)", body = ErrorBody),
    )
)]
pub(crate) async fn capture(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
    ApiJson(request): ApiJson<CaptureRequest>,
) -> Result<Response, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let plan = request.plan()?;
    let options = shot_options(&state, request.af);
    let Some(plan) = plan else {
        not_while_a_job_shoots(&entry)?;
        let images = jobs::single(&entry, options).await?;
        return Ok(Json(CaptureImages { images }).into_response());
    };
    let job = jobs::launch(&entry, plan, options).await?;
    let mut response = (StatusCode::ACCEPTED, Json(JobCreated { job })).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/cameras/{}/jobs/{job}", entry.id))
    {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// What autofocus found.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct FocusResult {
    /// `focused`, `failed`, `manual` (the lens is in manual focus: nothing was done) or
    /// `timed_out`.
    focus: FocusName,
}

/// Autofocus results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FocusName {
    /// Focus locked.
    Focused,
    /// The camera could not focus.
    Failed,
    /// The lens is in manual focus.
    Manual,
    /// Focus did not settle in time.
    TimedOut,
}

/// Half-presses the shutter, waits for focus and releases.
#[utoipa::path(
    post,
    path = "/cameras/{id}/af",
    tag = "actions",
    params(CameraPath),
    responses(
        (status = 200, description = "What autofocus found", body = FocusResult),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 409, description = "`busy`, `not_possible_now`", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`", body = ErrorBody),
    )
)]
pub(crate) async fn autofocus(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
) -> Result<Json<FocusResult>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    not_while_a_job_shoots(&entry)?;
    let focus = match entry.service.autofocus().await? {
        FocusState::Focused => FocusName::Focused,
        FocusState::Failed => FocusName::Failed,
        FocusState::Manual => FocusName::Manual,
        FocusState::TimedOut => FocusName::TimedOut,
    };
    Ok(Json(FocusResult { focus }))
}

/// What a release did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Released {
    /// The capture jobs stopped first (their images are kept).
    stopped_jobs: Vec<u64>,
    /// The single shots (`POST …/capture {}`) stopped first: those still queued took no
    /// picture, one in progress kept its image.
    stopped_shots: u64,
}

/// Stops every capture job and every single shot queued or in progress (what was shot is
/// kept: a shot in progress ends as the camera ends it, after its exposure), waits for them,
/// then releases every shutter and focus button. No capture starts on the camera until the
/// release has answered (409 `busy`).
#[utoipa::path(
    post,
    path = "/cameras/{id}/release",
    tag = "actions",
    params(CameraPath),
    responses(
        (status = 200, description = "Released", body = Released),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 409, description = "`busy`, `not_possible_now`", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`", body = ErrorBody),
    )
)]
pub(crate) async fn release(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
) -> Result<Json<Released>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let (hold, stopped) = entry.jobs.stop_for_release().await;
    entry.service.release_all().await?;
    drop(hold);
    Ok(Json(Released {
        stopped_jobs: stopped.jobs,
        stopped_shots: u64::try_from(stopped.shots).unwrap_or(u64::MAX),
    }))
}

/// Which way to focus.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Direction {
    /// Nearer.
    Near,
    /// Farther.
    Far,
}

/// Manual focus steps.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FocusRequest {
    /// Which way.
    direction: Direction,
    /// The step size: 1 (fine), 3 or 7 (coarse). Default 1.
    #[serde(default = "one_u8")]
    #[schema(schema_with = step_size_schema)]
    size: u8,
    /// How many steps, 1 to 100 (about 50 ms each). Default 1.
    #[serde(default = "one_u32")]
    #[schema(minimum = 1, maximum = 100)]
    steps: u32,
}

fn one_u8() -> u8 {
    1
}

fn one_u32() -> u32 {
    1
}

fn step_size_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some([1, 3, 7]))
        .default(Some(serde_json::json!(1)))
        .description(Some("The step size: 1 (fine), 3 or 7 (coarse)"))
}

/// Moves the focus of a lens in manual focus (or DMF) by steps; answers with what was done.
#[utoipa::path(
    post,
    path = "/cameras/{id}/focus",
    tag = "actions",
    params(CameraPath),
    request_body = FocusRequest,
    responses(
        (status = 200, description = "The steps made", body = FocusRequest),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 409, description = "`busy`, `not_possible_now`", body = ErrorBody),
        (status = 415, description = "`invalid_request`: the body is not JSON", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`", body = ErrorBody),
    )
)]
pub(crate) async fn focus(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
    ApiJson(request): ApiJson<FocusRequest>,
) -> Result<Json<FocusRequest>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    if ![1, 3, 7].contains(&request.size) {
        return Err(ApiError::invalid("size: 1, 3 or 7"));
    }
    if !(1..=MAX_STEPS).contains(&request.steps) {
        return Err(ApiError::invalid(format!("steps: from 1 to {MAX_STEPS}")));
    }
    not_while_a_job_shoots(&entry)?;
    let size = match request.direction {
        Direction::Near => -i32::from(request.size),
        Direction::Far => i32::from(request.size),
    };
    entry.service.focus_step(size, request.steps).await?;
    Ok(Json(request))
}

/// A point in the 640×480 live-view space.
#[derive(Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FocusPoint {
    /// 0 (left) to 639.
    #[schema(minimum = 0, maximum = 639)]
    x: u16,
    /// 0 (top) to 479.
    #[schema(minimum = 0, maximum = 479)]
    y: u16,
}

/// Moves the AF point; answers with the point.
#[utoipa::path(
    post,
    path = "/cameras/{id}/focus-point",
    tag = "actions",
    params(CameraPath),
    request_body = FocusPoint,
    responses(
        (status = 200, description = "The AF point now", body = FocusPoint),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 409, description = "`busy`, `not_possible_now`", body = ErrorBody),
        (status = 415, description = "`invalid_request`: the body is not JSON", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`", body = ErrorBody),
    )
)]
pub(crate) async fn focus_point(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
    ApiJson(point): ApiJson<FocusPoint>,
) -> Result<Json<FocusPoint>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    if point.x > 639 || point.y > 479 {
        return Err(ApiError::invalid(
            "the point is outside the 640×480 live-view space (x 0 to 639, y 0 to 479)",
        ));
    }
    not_while_a_job_shoots(&entry)?;
    entry.service.focus_point(point.x, point.y).await?;
    Ok(Json(point))
}

/// Start or stop movie recording.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MovieRequest {
    /// `true` starts recording, `false` stops it.
    record: bool,
}

/// Movie recording now.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct MovieState {
    /// True while recording.
    recording: bool,
    /// False when it already was so (nothing was sent).
    changed: bool,
}

/// Starts or stops movie recording.
#[utoipa::path(
    post,
    path = "/cameras/{id}/movie",
    tag = "actions",
    params(CameraPath),
    request_body = MovieRequest,
    responses(
        (status = 200, description = "Recording now", body = MovieState),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 409, description = "`busy`, `not_possible_now` (the body does not record movies remotely)", body = ErrorBody),
        (status = 415, description = "`invalid_request`: the body is not JSON", body = ErrorBody),
        (status = 502, description = "`camera_error`", body = ErrorBody),
        (status = 503, description = "`camera_disconnected`", body = ErrorBody),
    )
)]
pub(crate) async fn movie(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
    ApiJson(request): ApiJson<MovieRequest>,
) -> Result<Json<MovieState>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    not_while_a_job_shoots(&entry)?;
    let changed = entry.service.movie(request.record).await?;
    Ok(Json(MovieState {
        recording: request.record,
        changed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn plan(json: &str) -> Result<Option<Plan>, &'static str> {
        let request: CaptureRequest = serde_json::from_str(json).map_err(|_| "json")?;
        request.plan().map_err(|e| e.code)
    }

    #[test]
    fn what_a_capture_asks_for() {
        assert_eq!(plan("{}"), Ok(None));
        assert_eq!(plan(r#"{"af":false}"#), Ok(None));
        assert_eq!(
            plan(r#"{"bulb":"30s"}"#),
            Ok(Some(Plan::Bulb(Duration::from_secs(30))))
        );
        assert_eq!(
            plan(r#"{"burst":"500ms"}"#),
            Ok(Some(Plan::Burst(Duration::from_millis(500))))
        );
        assert_eq!(
            plan(r#"{"count":3,"interval":"1m30s"}"#),
            Ok(Some(Plan::Timelapse {
                count: 3,
                interval: Duration::from_secs(90)
            }))
        );
        assert_eq!(
            plan(r#"{"count":2}"#),
            Ok(Some(Plan::Timelapse {
                count: 2,
                interval: Duration::ZERO
            }))
        );
        for bad in [
            r#"{"bulb":"2h"}"#,
            r#"{"bulb":"0s"}"#,
            r#"{"bulb":"1s","burst":"1s"}"#,
            r#"{"interval":"1s"}"#,
            r#"{"count":0}"#,
            r#"{"count":10001}"#,
            r#"{"count":2,"interval":"61m"}"#,
        ] {
            assert_eq!(plan(bad), Err("invalid_request"), "{bad}");
        }
        assert_eq!(plan(r#"{"shutter":"1s"}"#), Err("json"));
        for null in [r#"{"bulb":null}"#, r#"{"count":null}"#, r#"{"af":null}"#] {
            assert_eq!(plan(null), Err("json"), "{null}");
        }
    }
}
