//! `GET …/events`: what the camera does, as Server-Sent Events.
//!
//! Each stream is one consumer of the camera service's event ring ([`EventStream`]) and of the
//! camera's job updates: the service never waits for it, so a slow client only falls behind
//! itself, and is told so (`lagged`, with the status now) instead of being sent history. The
//! stream opens with the status, so that a page can draw at once without polling, sends a
//! keep-alive comment when it has been silent for [`Limits::event_keep_alive`] (15 s), holds
//! one of the server's event-stream permits, and ends when the server shuts down.
//!
//! Events (`event:` name, `data:` one JSON object):
//! - `status`: the status snapshot, first, in the shape of `GET …/cameras/{id}`'s `status`;
//! - `property` `{code, name, old, new, old_raw, new_raw, time}`: a setting changed (displayed
//!   and raw values; `time` when the server heard it, RFC 3339 in UTC);
//! - `image` `{name, size, format}`: an image was saved (already listed by `…/images`);
//! - `exposure` `{state, progress, detail?}`: the shot in hand;
//! - `connection` `{connected, error?}`: the connection was lost or is back;
//! - `job` `{job, state, progress}`: a capture job changed;
//! - `lagged` `{missed, status}`: this client fell behind and `missed` events are lost to it.
//!
//! [`Limits::event_keep_alive`]: crate::config::Limits::event_keep_alive

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use sonyctl_service::{Event, EventStream, ExposureState, Status};

use crate::api::cameras::StatusView;
use tokio::sync::{OwnedSemaphorePermit, broadcast, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::images::rfc3339;
use crate::api::jobs::JobUpdate;
use crate::error::{ApiError, ErrorBody};
use crate::registry::CameraEntry;
use crate::state::AppState;

/// 503 `too_many_streams`: every permit of this kind of stream is taken.
pub(crate) fn too_many_streams(kind: &str, limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_streams",
        format!("{limit} {kind} streams are open already, the most this server serves at once"),
    )
}

/// `property`.
#[derive(serde::Serialize)]
struct PropertyData<'a> {
    code: u16,
    name: &'a str,
    old: &'a str,
    new: &'a str,
    old_raw: &'a sonyctl_ptp::Value,
    new_raw: &'a sonyctl_ptp::Value,
    time: String,
}

/// `image`.
#[derive(serde::Serialize)]
struct ImageData<'a> {
    name: &'a str,
    size: u64,
    format: &'a str,
}

/// `exposure`.
#[derive(serde::Serialize)]
struct ExposureData<'a> {
    state: ExposureState,
    progress: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// `connection`.
#[derive(serde::Serialize)]
struct ConnectionData {
    connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `job`.
#[derive(serde::Serialize)]
struct JobData<'a> {
    job: u64,
    state: &'a str,
    progress: f64,
}

/// `lagged`.
#[derive(serde::Serialize)]
struct LaggedData {
    missed: u64,
    status: StatusView,
}

/// An event named `name` with `data` as JSON (`None` if it does not serialise, which the
/// types above cannot do).
fn sse(name: &'static str, data: &impl serde::Serialize) -> Option<SseEvent> {
    match SseEvent::default().event(name).json_data(data) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!("an event {name} did not serialise: {e}");
            None
        }
    }
}

/// The stream's event for `event`, if clients hear of it. An image saved is recorded in the
/// camera's store first, so that the file can be fetched as soon as its event arrives.
fn translate(entry: &CameraEntry, event: Event) -> Option<SseEvent> {
    match event {
        Event::PropertyChanged {
            code,
            name,
            old,
            new,
            old_display,
            new_display,
        } => sse(
            "property",
            &PropertyData {
                code: code.0,
                name: &name,
                old: &old_display,
                new: &new_display,
                old_raw: &old,
                new_raw: &new,
                time: rfc3339(SystemTime::now()),
            },
        ),
        Event::NewImage(d) => {
            let view = entry.images.record(&d);
            sse(
                "image",
                &ImageData {
                    name: &view.name,
                    size: view.size,
                    format: &view.format,
                },
            )
        }
        Event::Exposure(s) => sse(
            "exposure",
            &ExposureData {
                state: s.state,
                progress: s.progress,
                detail: s.detail.as_deref(),
            },
        ),
        Event::ConnectionLost(e) => sse(
            "connection",
            &ConnectionData {
                connected: false,
                error: Some(e.to_string()),
            },
        ),
        Event::ConnectionRestored => sse(
            "connection",
            &ConnectionData {
                connected: true,
                error: None,
            },
        ),
        Event::Lagged { missed, status } => sse(
            "lagged",
            &LaggedData {
                missed,
                status: StatusView::new(&status),
            },
        ),
        // Images waiting in the camera: the tether task downloads them, and `image` follows.
        _ => None,
    }
}

/// One client's stream.
struct Feed {
    entry: Arc<CameraEntry>,
    events: EventStream,
    /// `None` once the job updates have ended.
    jobs: Option<broadcast::Receiver<JobUpdate>>,
    /// Closed when the service ends.
    status: watch::Receiver<Status>,
    shutdown: watch::Receiver<bool>,
    /// The status, sent first.
    first: Option<SseEvent>,
    _permit: OwnedSemaphorePermit,
}

impl Feed {
    /// The next event to send; `None` ends the stream (the server shuts down, the service
    /// ended).
    async fn next(&mut self) -> Option<SseEvent> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            let Feed {
                entry,
                events,
                jobs,
                status,
                shutdown,
                ..
            } = self;
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return None,
                event = events.next() => match event {
                    Some(event) => {
                        if let Some(e) = translate(entry, event) {
                            return Some(e);
                        }
                    }
                    None => return None,
                },
                job = next_job(jobs) => {
                    let e = match job {
                        Ok(j) => sse(
                            "job",
                            &JobData {
                                job: j.job,
                                state: j.state,
                                progress: j.progress,
                            },
                        ),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            let now = StatusView::new(&entry.service.status());
                            sse("lagged", &LaggedData { missed, status: now })
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            *jobs = None;
                            None
                        }
                    };
                    if e.is_some() {
                        return e;
                    }
                }
                changed = status.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

/// The next job update, or never once they have ended.
async fn next_job(
    jobs: &mut Option<broadcast::Receiver<JobUpdate>>,
) -> Result<JobUpdate, broadcast::error::RecvError> {
    match jobs {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The camera's events as they happen (Server-Sent Events, `text/event-stream`).
///
/// First `status` (the status snapshot), then `property` {code, name, old, new, old_raw,
/// new_raw, time}, `image` {name, size, format}, `exposure` {state, progress, detail?},
/// `connection` {connected, error?}, `job` {job, state, progress}, and `lagged` {missed,
/// status} for a client that fell behind. A comment (`: keep-alive`) every 15 s of silence.
#[utoipa::path(
    get,
    path = "/cameras/{id}/events",
    tag = "events",
    params(("id" = String, Path, description = "The camera's id", max_length = 64)),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`too_many_streams`: every event-stream permit is taken", body = ErrorBody),
    )
)]
async fn events(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(|e| ApiError::invalid(e.body_text()))?;
    let entry = state.registry.find(&id)?;
    let permit = state
        .event_streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| too_many_streams("event", state.config.limits.event_streams))?;
    // Subscribed before the status is read: what changes in between is sent twice rather
    // than never.
    let events = entry.service.events();
    let jobs = entry.jobs.subscribe();
    let status = entry.service.status_changes();
    let first = sse("status", &StatusView::new(&entry.service.status()));
    let feed = Feed {
        entry,
        events,
        jobs: Some(jobs),
        status,
        shutdown: state.shutdown.clone(),
        first,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok::<_, Infallible>(event), feed))
    });
    let keep_alive = KeepAlive::new()
        .interval(state.config.limits.event_keep_alive)
        .text("keep-alive");
    Ok((
        // Proxies that buffer responses (nginx) pass this one through as it comes.
        [(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        )],
        Sse::new(stream).keep_alive(keep_alive),
    )
        .into_response())
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}
