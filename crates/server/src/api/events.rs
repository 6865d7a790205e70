//! `GET …/events`: what the camera does, as Server-Sent Events.
//!
//! Each stream is one consumer of the camera service's event ring ([`EventStream`]) and of the
//! camera's job updates: the service never waits for it, so a slow client only falls behind
//! itself, and is told so (`lagged`, with the status now) instead of being sent history; after
//! missing job updates it is sent the state of every job the camera has (a `job` event each),
//! so a job whose end it missed is not left running for it. The
//! stream opens with the status, so that a page can draw at once without polling, sends a
//! keep-alive comment when it has been silent for [`Limits::event_keep_alive`] (15 s), holds
//! one of the server's event-stream permits, and ends when the server shuts down.
//!
//! Events (`event:` name, `data:` one JSON object):
//! - `status`: the status snapshot, first, in the shape of `GET …/cameras/{id}`'s `status`;
//! - `property` `{code, name, old, new, old_raw, new_raw, time}`: a setting changed (displayed
//!   and raw values; `time` when the server heard it, RFC 3339 in UTC);
//! - `image` `{name, size, format}`: an image was saved (already listed by `…/images`);
//! - `exposure` `{state, progress, detail?}`: the shot in hand (`progress` 0 to 1);
//! - `connection` `{connected, error?}`: the connection was lost or is back;
//! - `job` `{job, state, progress}`: a capture job changed;
//! - `lagged` `{missed, status}`: this client fell behind and `missed` events are lost to it
//!   (when they were job updates, a `job` event for every job the camera has follows).
//!
//! [`Limits::event_keep_alive`]: crate::config::Limits::event_keep_alive

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use sonyctl_service::{Event, EventStream, ExposureState, Status};
use tokio::sync::{OwnedSemaphorePermit, broadcast, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::cameras::{StatusView, fraction};
use crate::api::images::rfc3339;
use crate::api::jobs::JobUpdate;
use crate::api::{ApiPath, CameraPath};
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
                progress: fraction(s.progress),
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
    /// What goes before anything else: the status first; after a lag on the job updates, the
    /// state of every job.
    queued: VecDeque<SseEvent>,
    _permit: OwnedSemaphorePermit,
}

impl Feed {
    /// The next event to send; `None` ends the stream (the server shuts down, the service
    /// ended).
    async fn next(&mut self) -> Option<SseEvent> {
        if let Some(e) = self.queued.pop_front() {
            return Some(e);
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
                        Ok(j) => job_event(j.job, j.state, j.progress),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            // The updates missed may hold a job's end: every job's state now
                            // follows (oldest first), then the updates still in the channel.
                            self.queued.extend(
                                entry
                                    .jobs
                                    .list()
                                    .iter()
                                    .rev()
                                    .filter_map(|j| job_event(j.job, j.state.as_str(), j.progress)),
                            );
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

/// The `job` event of a job's state.
fn job_event(job: u64, state: &str, progress: f64) -> Option<SseEvent> {
    sse(
        "job",
        &JobData {
            job,
            state,
            progress: fraction(progress),
        },
    )
}

impl Feed {
    /// A stream of `entry`'s events from now on, opening with the status; it holds `permit`.
    fn open(
        entry: Arc<CameraEntry>,
        shutdown: watch::Receiver<bool>,
        permit: OwnedSemaphorePermit,
    ) -> Feed {
        // Subscribed before the status is read: what changes in between is sent twice rather
        // than never.
        let events = entry.service.events();
        let jobs = entry.jobs.subscribe();
        let status = entry.service.status_changes();
        let first = sse("status", &StatusView::new(&entry.service.status()));
        Feed {
            entry,
            events,
            jobs: Some(jobs),
            status,
            shutdown,
            queued: first.into_iter().collect(),
            _permit: permit,
        }
    }

    /// The response that sends this stream, with a comment after `keep_alive` of silence.
    fn into_response(self, keep_alive: Duration) -> Response {
        let stream = futures_util::stream::unfold(self, |mut feed| async move {
            let event = feed.next().await?;
            Some((Ok::<_, Infallible>(event), feed))
        });
        let keep_alive = KeepAlive::new().interval(keep_alive).text("keep-alive");
        (
            // Proxies that buffer responses (nginx) pass this one through as it comes.
            [(
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            )],
            Sse::new(stream).keep_alive(keep_alive),
        )
            .into_response()
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
/// status} for a client that fell behind (after missed job updates, a `job` event for every
/// job the camera has follows it). A comment (`: keep-alive`) every 15 s of silence.
#[utoipa::path(
    get,
    path = "/cameras/{id}/events",
    tag = "events",
    params(CameraPath),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`too_many_streams`: every event-stream permit is taken", body = ErrorBody),
    )
)]
async fn events(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
) -> Result<Response, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let permit = state
        .event_streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| too_many_streams("event", state.config.limits.event_streams))?;
    let feed = Feed::open(entry, state.shutdown.clone(), permit);
    Ok(feed.into_response(state.config.limits.event_keep_alive))
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::api::jobs::{JobSummary, Plan, launch};
    use crate::registry::Registry;
    use http_body_util::BodyExt;
    use sonyctl_camera::save::Saver;
    use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
    use sonyctl_service::{CameraService, ServiceOptions, ShotOptions};
    use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
    use sonyctl_transport::SimLink;
    use tokio::sync::Semaphore;

    /// True for a job's last state.
    fn finished(state: &str) -> bool {
        !["queued", "running"].contains(&state)
    }

    /// Runs a timelapse of `count` shots, one right after the other, to its end; its last view.
    async fn timelapse(entry: &Arc<CameraEntry>, count: u32, shot: &ShotOptions) -> JobSummary {
        let mut updates = entry.jobs.subscribe();
        let plan = Plan::Timelapse {
            count,
            interval: Duration::ZERO,
        };
        let id = launch(entry, plan, shot.clone()).await.unwrap();
        loop {
            if let Some(v) = entry
                .jobs
                .get(id)
                .filter(|v| finished(v.summary.state.as_str()))
            {
                return v.summary;
            }
            match updates.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the jobs ended"),
            }
        }
    }

    /// A stream that was not read while one job ended and another made more updates than the
    /// job channel holds (64) lost the first job's updates, its end among them: after its
    /// `lagged` it is sent every job's state, so it hears that end once, as it is.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_that_missed_job_updates_is_sent_every_jobs_state() {
        let sim = SimulatedCamera::new(
            Profile::builtin("ilce-6000").unwrap(),
            SimOptions::default(),
        );
        let link = Link::new(SimLink::new(sim, SimClock::Virtual(Duration::ZERO)));
        let cam = Camera::open(link, CameraOptions::default()).await.unwrap();
        let registry = Registry::new();
        let entry = registry
            .add(CameraService::spawn(cam, ServiceOptions::default()))
            .await
            .unwrap();
        let (_stop, shutdown) = watch::channel(false);
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        let feed = Feed::open(entry.clone(), shutdown, permit);

        let dir = tempfile::tempdir().unwrap();
        let shot = ShotOptions::new(Saver::new(dir.path().join("out"), None).unwrap());
        let first = timelapse(&entry, 1, &shot).await;
        assert_eq!(first.state.as_str(), "done");
        let second = timelapse(&entry, 80, &shot).await;
        assert!(finished(second.state.as_str()));

        // Read now: until both ends are heard.
        let mut body = feed.into_response(Duration::from_secs(3600)).into_body();
        let mut text = String::new();
        let ends = |text: &str| {
            let jobs = events_named(text, "job");
            [&first, &second].map(|v| {
                jobs.iter()
                    .filter(|j| j["job"] == v.job && j["state"] == v.state.as_str())
                    .count()
            })
        };
        tokio::time::timeout(Duration::from_secs(60), async {
            while ends(&text).contains(&0) {
                let frame = body.frame().await.expect("the stream ended").unwrap();
                if let Ok(data) = frame.into_data() {
                    text.push_str(&String::from_utf8_lossy(&data));
                }
            }
        })
        .await
        .expect("a job's end never came");
        let jobs = events_named(&text, "job");
        let of_first: Vec<&serde_json::Value> =
            jobs.iter().filter(|j| j["job"] == first.job).collect();
        // Its `queued` and `running` were lost with its end; what it heard is its state now.
        assert_eq!(
            of_first,
            [&serde_json::json!({"job": first.job, "state": "done", "progress": 1.0})]
        );
        let lagged = text.find("event: lagged\n").expect("no lagged");
        let end = text
            .find(&format!("data: {{\"job\":{},", first.job))
            .unwrap();
        assert!(lagged < end);
    }

    /// The data of the events called `name` in an event stream's text.
    fn events_named(text: &str, name: &str) -> Vec<serde_json::Value> {
        let head = format!("event: {name}\ndata: ");
        text.split("\n\n")
            .filter_map(|block| block.trim_start_matches('\n').strip_prefix(&head))
            .filter_map(|data| serde_json::from_str(data.lines().next()?).ok())
            .collect()
    }
}
