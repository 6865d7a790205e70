//! Capture jobs (bulb, burst, timelapse): `GET /cameras/{id}/jobs`, `GET` and
//! `DELETE /cameras/{id}/jobs/{job}`, and the runner that `POST …/capture` starts.
//!
//! A job runs in its own task, so it goes on when the client that started it goes away; every
//! change of a job (state, progress, shots, images) goes to [`Jobs::subscribe`]. A bulb or
//! burst is one capture of the camera service from start to end. A timelapse is `count`
//! single shots on a fixed grid from the job's start (shot `k` at `start + k × interval`, so
//! a slow shot never shifts the later ones), each a capture of its own: other commands run
//! between shots. While a job has a capture in the service, the busy rule
//! ([`crate::api::not_while_a_job_shoots`]) refuses what would queue behind it.
//!
//! Stopping a job (`DELETE`) closes the shutter now and keeps what was shot; `?discard=true`
//! aborts, and the shot in hand is read out of the camera and dropped (a timelapse keeps the
//! shots it finished before). Images are saved by the server's `Saver`, as `sonyctl capture`
//! saves them, and recorded in the camera's image store.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sonyctl_camera::{Cancel, ShotKind};
use sonyctl_service::{CaptureReport, ExposureState, ServiceError, ShotOptions};
use tokio::sync::{broadcast, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::images::ImageView;
use crate::api::{ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::registry::CameraEntry;
use crate::state::AppState;

/// Finished jobs kept for `GET …/jobs` (running ones are always kept).
pub(crate) const KEEP_FINISHED: usize = 100;

/// What a job shoots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobKind {
    /// One exposure with the shutter held open for a time.
    Bulb,
    /// Continuous shooting for a time.
    Burst,
    /// Single shots on a fixed schedule.
    Timelapse,
}

impl JobKind {
    fn as_str(self) -> &'static str {
        match self {
            JobKind::Bulb => "bulb",
            JobKind::Burst => "burst",
            JobKind::Timelapse => "timelapse",
        }
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum JobState {
    /// Accepted, not started yet.
    Queued,
    /// Shooting, or waiting for its next shot.
    Running,
    /// Every shot was taken.
    Done,
    /// Stopped early; what was shot is kept.
    Stopped,
    /// Aborted; the shot in hand was dropped.
    Aborted,
    /// It could not go on (`error` says why).
    Failed,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Stopped => "stopped",
            JobState::Aborted => "aborted",
            JobState::Failed => "failed",
        }
    }

    fn is_finished(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// A capture job as the API shows it (`GET …/jobs/{job}`, and the `job` event).
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    /// The job's id (unique per camera for the server's life).
    pub(crate) job: u64,
    /// `bulb`, `burst` or `timelapse`.
    #[schema(value_type = JobKind)]
    pub(crate) kind: String,
    /// `queued`, `running`, `done`, `stopped`, `aborted`, `failed`.
    #[schema(value_type = JobState)]
    pub(crate) state: String,
    /// 0 to 1: a bulb's or burst's exposure time elapsed over its length (1 once done); a
    /// timelapse's shots taken over its count.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub(crate) progress: f64,
    /// Shots finished so far (a failed shot counts).
    pub(crate) shots: u32,
    /// Shots planned (1 for a bulb or burst).
    pub(crate) count: u32,
    /// The images saved, oldest first.
    pub(crate) images: Vec<ImageView>,
    /// Why the job failed, or the last shot of a timelapse that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// One job's record.
#[derive(Debug)]
struct Job {
    view: JobView,
    state: JobState,
    /// Stop or abort asked for the whole job.
    control: Cancel,
    /// True while the job has a capture in the camera service (the busy rule).
    shooting: bool,
    /// That capture's own stop and abort.
    capture: Option<Cancel>,
}

#[derive(Debug, Default)]
struct Table {
    /// The last id given.
    last: u64,
    /// Oldest first.
    jobs: VecDeque<Job>,
}

impl Table {
    fn get_mut(&mut self, id: u64) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.view.job == id)
    }

    /// Forgets the oldest finished jobs beyond [`KEEP_FINISHED`].
    fn prune(&mut self) {
        let mut finished = self.jobs.iter().filter(|j| j.state.is_finished()).count();
        self.jobs.retain(|j| {
            if finished > KEEP_FINISHED && j.state.is_finished() {
                finished -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// The capture jobs of one camera.
#[derive(Debug)]
pub(crate) struct Jobs {
    updates: broadcast::Sender<JobView>,
    table: Mutex<Table>,
    /// Counts changes, so that waiters wake.
    changes: watch::Sender<u64>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            updates: broadcast::channel(64).0,
            table: Mutex::new(Table::default()),
            changes: watch::channel(0).0,
        }
    }
}

/// 409 `busy` naming the job that shoots.
pub(crate) fn busy_with(job: u64) -> ApiError {
    ApiError::busy(format!(
        "capture job {job} is shooting: wait for it to end, or stop it with DELETE …/jobs/{job}"
    ))
    .with("job", job)
}

fn unknown_job(job: u64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_job",
        format!("no capture job {job} on this camera: GET …/jobs lists them"),
    )
}

impl Jobs {
    /// Every change of a job's state or progress from now on (the `job` event).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<JobView> {
        self.updates.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere leaves the table as it was between two whole updates.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells subscribers and waiters about `view`.
    fn publish(&self, view: JobView) {
        let _ = self.updates.send(view);
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes job `id` with `f`, and publishes it if its view changed.
    fn update(&self, id: u64, f: impl FnOnce(&mut Job)) {
        let changed = {
            let mut table = self.lock();
            let Some(job) = table.get_mut(id) else {
                return;
            };
            let before = job.view.clone();
            f(job);
            job.view.state = job.state.as_str().to_string();
            (job.view != before).then(|| job.view.clone())
        };
        if let Some(view) = changed {
            self.publish(view);
        }
    }

    /// The job that has a capture in the camera service now, if any.
    pub(crate) fn shooting(&self) -> Option<u64> {
        self.lock()
            .jobs
            .iter()
            .find(|j| j.shooting)
            .map(|j| j.view.job)
    }

    /// Registers a new job, unless one is still going (409 `busy` naming it). `shooting`:
    /// whether it has a capture in the service from the start (a bulb, a burst). Returns its
    /// id and its stop-and-abort token.
    fn start(&self, kind: JobKind, count: u32, shooting: bool) -> Result<(u64, Cancel), ApiError> {
        let (view, control) = {
            let mut table = self.lock();
            if let Some(j) = table.jobs.iter().find(|j| !j.state.is_finished()) {
                return Err(busy_with(j.view.job));
            }
            table.last += 1;
            let control = Cancel::new();
            let view = JobView {
                job: table.last,
                kind: kind.as_str().to_string(),
                state: JobState::Queued.as_str().to_string(),
                progress: 0.0,
                shots: 0,
                count,
                images: Vec::new(),
                error: None,
            };
            table.jobs.push_back(Job {
                view: view.clone(),
                state: JobState::Queued,
                control: control.clone(),
                shooting,
                capture: None,
            });
            table.prune();
            (view, control)
        };
        let id = view.job;
        self.publish(view);
        Ok((id, control))
    }

    /// Forgets a job whose capture could not even be queued (its client hears why).
    fn forget(&self, id: u64) {
        self.lock().jobs.retain(|j| j.view.job != id);
    }

    /// A timelapse shot is about to be queued: false when the job was stopped (no more
    /// shots); otherwise the job counts as shooting from now.
    fn shot_starting(&self, id: u64) -> bool {
        let mut table = self.lock();
        match table.get_mut(id) {
            Some(job) if !job.control.is_cancelled() => {
                job.shooting = true;
                true
            }
            _ => false,
        }
    }

    /// The capture in the service for job `id`: a stop or abort already asked for reaches it.
    fn capture_queued(&self, id: u64, capture: Cancel) {
        let mut table = self.lock();
        if let Some(job) = table.get_mut(id) {
            if job.control.is_aborted() {
                capture.abort();
            } else if job.control.is_cancelled() {
                capture.cancel();
            }
            job.capture = Some(capture);
        }
    }

    /// Job `id`'s capture has ended.
    fn shot_ended(&self, id: u64) {
        let mut table = self.lock();
        if let Some(job) = table.get_mut(id) {
            job.shooting = false;
            job.capture = None;
        }
    }

    /// The job called `id`.
    pub(crate) fn get(&self, id: u64) -> Option<JobView> {
        self.lock()
            .jobs
            .iter()
            .find(|j| j.view.job == id)
            .map(|j| j.view.clone())
    }

    /// Every job kept, newest first.
    pub(crate) fn list(&self) -> Vec<JobView> {
        self.lock()
            .jobs
            .iter()
            .rev()
            .map(|j| j.view.clone())
            .collect()
    }

    /// Stops job `id` (`discard`: aborts it). A finished job is left as it is.
    pub(crate) fn stop(&self, id: u64, discard: bool) -> Result<(), ApiError> {
        let mut table = self.lock();
        let job = table.get_mut(id).ok_or_else(|| unknown_job(id))?;
        if job.state.is_finished() {
            return Ok(());
        }
        let end = |c: &Cancel| if discard { c.abort() } else { c.cancel() };
        end(&job.control);
        if let Some(c) = &job.capture {
            end(c);
        }
        Ok(())
    }

    /// Waits until job `id` has finished and returns it (`None`: no such job).
    pub(crate) async fn wait(&self, id: u64) -> Option<JobView> {
        let mut changes = self.changes.subscribe();
        loop {
            let (view, finished) = {
                let table = self.lock();
                let job = table.jobs.iter().find(|j| j.view.job == id)?;
                (job.view.clone(), job.state.is_finished())
            };
            if finished {
                return Some(view);
            }
            // The sender lives as long as `self`.
            if changes.changed().await.is_err() {
                return self.get(id);
            }
        }
    }

    /// Stops every job that is still going (images taken are kept and saved), waits for them
    /// to end, and returns their ids.
    pub(crate) async fn stop_all(&self) -> Vec<u64> {
        let going: Vec<u64> = self
            .lock()
            .jobs
            .iter()
            .filter(|j| !j.state.is_finished())
            .map(|j| j.view.job)
            .collect();
        for id in &going {
            let _ = self.stop(*id, false);
        }
        for id in &going {
            self.wait(*id).await;
        }
        going
    }

    /// Stops every job (the images taken are kept and saved) and waits for them to end.
    pub(crate) async fn shutdown(&self) {
        self.stop_all().await;
    }
}

/// What `POST …/capture` asked for, beyond one shot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Plan {
    /// The shutter held open this long (BULB).
    Bulb(Duration),
    /// Continuous shooting this long.
    Burst(Duration),
    /// `count` single shots, one every `interval` from the start.
    Timelapse {
        /// Shots.
        count: u32,
        /// Between the starts of two shots.
        interval: Duration,
    },
}

/// Records what a capture saved in the camera's image store; the views of the shot's own
/// files (images that were waiting in the camera are recorded too, not returned).
pub(crate) fn record(entry: &CameraEntry, report: &CaptureReport) -> Vec<ImageView> {
    for d in &report.waiting {
        entry.images.record(d);
    }
    report
        .files
        .iter()
        .map(|d| entry.images.record(d))
        .collect()
}

/// Starts a job on `entry` as `plan` says, shooting with `options`; returns its id once its
/// first capture is queued (a bulb or burst) or its task runs (a timelapse).
pub(crate) async fn launch(
    entry: &Arc<CameraEntry>,
    plan: Plan,
    options: ShotOptions,
) -> Result<u64, ApiError> {
    match plan {
        Plan::Bulb(d) | Plan::Burst(d) => {
            let (kind, shot) = match plan {
                Plan::Bulb(_) => (JobKind::Bulb, ShotKind::Bulb(d)),
                _ => (JobKind::Burst, ShotKind::Burst(d)),
            };
            let (id, _control) = entry.jobs.start(kind, 1, true)?;
            let handle = match entry.service.capture(shot, options).await {
                Ok(h) => h,
                Err(e) => {
                    entry.jobs.forget(id);
                    return Err(e.into());
                }
            };
            entry.jobs.capture_queued(id, handle.canceller());
            let entry = entry.clone();
            tokio::spawn(async move {
                entry.jobs.update(id, |j| j.state = JobState::Running);
                let result = held(&entry, id, d, handle).await;
                entry.jobs.shot_ended(id);
                finish_held(&entry, id, result);
            });
            Ok(id)
        }
        Plan::Timelapse { count, interval } => {
            let (id, control) = entry.jobs.start(JobKind::Timelapse, count, false)?;
            let entry = entry.clone();
            tokio::spawn(async move {
                entry.jobs.update(id, |j| j.state = JobState::Running);
                timelapse(&entry, id, control, count, interval, options).await;
            });
            Ok(id)
        }
    }
}

/// Waits for a bulb's or burst's capture, following its exposure as the job's progress.
async fn held(
    entry: &CameraEntry,
    id: u64,
    length: Duration,
    handle: sonyctl_service::CaptureHandle,
) -> Result<CaptureReport, ServiceError> {
    let mut status = entry.service.status_changes();
    let wait = handle.wait();
    tokio::pin!(wait);
    loop {
        tokio::select! {
            r = &mut wait => return r,
            Ok(()) = status.changed() => {
                let e = status.borrow_and_update().exposure.clone();
                // This job's exposure: the service reports the planned length while exposing.
                if e.state == ExposureState::Exposing && e.length == Some(length) && e.progress.is_finite() {
                    // 1 only once the image is saved.
                    let p = e.progress.clamp(0.0, 0.99);
                    entry.jobs.update(id, |j| {
                        if p > j.view.progress {
                            j.view.progress = p;
                        }
                    });
                }
            }
        }
    }
}

/// The end of a bulb or burst.
fn finish_held(entry: &CameraEntry, id: u64, result: Result<CaptureReport, ServiceError>) {
    match result {
        Ok(report) => {
            let images = record(entry, &report);
            entry.jobs.update(id, |j| {
                j.state = if report.aborted {
                    JobState::Aborted
                } else if images.is_empty() && !report.stopped {
                    j.view.error = Some("the camera delivered no image".into());
                    JobState::Failed
                } else if report.stopped {
                    JobState::Stopped
                } else {
                    j.view.progress = 1.0;
                    JobState::Done
                };
                j.view.shots = u32::from(!images.is_empty());
                j.view.images = images;
            });
        }
        Err(e) => entry.jobs.update(id, |j| {
            j.state = JobState::Failed;
            j.view.error = Some(e.to_string());
        }),
    }
}

/// Runs a timelapse: shot `k` at `start + k × interval`, until `count` shots or a stop.
async fn timelapse(
    entry: &CameraEntry,
    id: u64,
    control: Cancel,
    count: u32,
    interval: Duration,
    options: ShotOptions,
) {
    let start = tokio::time::Instant::now();
    let mut saved = 0usize;
    let mut failed = None;
    for k in 0..count {
        let slot = start + interval.saturating_mul(k);
        tokio::select! {
            _ = tokio::time::sleep_until(slot) => {}
            _ = control.cancelled() => break,
        }
        if !entry.jobs.shot_starting(id) {
            break;
        }
        let result = match entry
            .service
            .capture(ShotKind::Single, options.clone())
            .await
        {
            Ok(handle) => {
                entry.jobs.capture_queued(id, handle.canceller());
                handle.wait().await
            }
            Err(e) => Err(e),
        };
        entry.jobs.shot_ended(id);
        let shots = k + 1;
        let ended = matches!(result, Err(ServiceError::Ended));
        let (images, error) = match result {
            Ok(report) => {
                let images = record(entry, &report);
                let error = (images.is_empty() && !report.stopped && !report.aborted)
                    .then(|| format!("shot {shots}: the camera delivered no image"));
                (images, error)
            }
            Err(e) => (Vec::new(), Some(format!("shot {shots}: {e}"))),
        };
        saved += images.len();
        if error.is_some() {
            failed.clone_from(&error);
        }
        entry.jobs.update(id, |j| {
            j.view.shots = shots;
            j.view.progress = f64::from(shots) / f64::from(count.max(1));
            j.view.images.extend(images);
            if error.is_some() {
                j.view.error = error;
            }
        });
        if ended {
            break;
        }
    }
    entry.jobs.update(id, |j| {
        j.state = if control.is_aborted() {
            JobState::Aborted
        } else if control.is_cancelled() {
            JobState::Stopped
        } else if saved == 0 && failed.is_some() {
            JobState::Failed
        } else {
            JobState::Done
        };
    });
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_jobs))
        .routes(routes!(get_job, stop_job))
}

/// `{id}` and `{job}`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct JobPath {
    /// The camera's id.
    #[param(pattern = "^[a-z0-9][a-z0-9-]{0,63}$", max_length = 64)]
    id: String,
    /// The job's id, as `POST …/capture` gave it.
    job: u64,
}

/// How to stop.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StopQuery {
    /// `true`: abort, dropping the shot in hand (nothing of it is saved); `false` (default):
    /// stop and keep it.
    #[serde(default)]
    discard: bool,
}

/// The jobs of a camera.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobList {
    /// Newest first: every job still going and the last 100 finished.
    jobs: Vec<JobView>,
}

/// The capture jobs of a camera.
#[utoipa::path(
    get,
    path = "/cameras/{id}/jobs",
    tag = "jobs",
    params(crate::api::CameraPath),
    responses(
        (status = 200, description = "The jobs, newest first", body = JobList),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
    )
)]
pub(crate) async fn list_jobs(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<crate::api::CameraPath>,
) -> Result<Json<JobList>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    Ok(Json(JobList {
        jobs: entry.jobs.list(),
    }))
}

/// One capture job: its state, progress and images.
#[utoipa::path(
    get,
    path = "/cameras/{id}/jobs/{job}",
    tag = "jobs",
    params(JobPath),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 400, description = "A path parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_job`", body = ErrorBody),
    )
)]
pub(crate) async fn get_job(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<JobPath>,
) -> Result<Json<JobView>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    entry
        .jobs
        .get(path.job)
        .map(Json)
        .ok_or_else(|| unknown_job(path.job))
}

/// Stops a capture job (the shutter closes now, what was shot is saved), or with
/// `?discard=true` aborts it (the shot in hand is dropped), and answers once it has ended. A
/// job that has ended already is answered as it is.
#[utoipa::path(
    delete,
    path = "/cameras/{id}/jobs/{job}",
    tag = "jobs",
    params(JobPath, StopQuery),
    responses(
        (status = 200, description = "The job once it has ended", body = JobView),
        (status = 400, description = "A path or query parameter does not parse", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_job`", body = ErrorBody),
    )
)]
pub(crate) async fn stop_job(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<JobPath>,
    ApiQuery(query): ApiQuery<StopQuery>,
) -> Result<Json<JobView>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    entry.jobs.stop(path.job, query.discard)?;
    entry
        .jobs
        .wait(path.job)
        .await
        .map(Json)
        .ok_or_else(|| unknown_job(path.job))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_job_at_a_time_and_a_bounded_history() {
        let jobs = Jobs::default();
        let mut updates = jobs.subscribe();
        let (first, _) = jobs.start(JobKind::Bulb, 1, true).unwrap_or_default();
        assert_eq!(jobs.shooting(), Some(first));
        let busy = jobs.start(JobKind::Timelapse, 3, false).err();
        assert_eq!(busy.as_ref().map(|e| e.code), Some("busy"));
        assert_eq!(
            busy.and_then(|e| e.extra.get("job").cloned()),
            Some(serde_json::json!(first))
        );
        jobs.shot_ended(first);
        jobs.update(first, |j| j.state = JobState::Done);
        assert_eq!(jobs.shooting(), None);
        let seen: Vec<String> = std::iter::from_fn(|| updates.try_recv().ok())
            .map(|v| v.state)
            .collect();
        assert_eq!(seen, ["queued", "done"]);
        for _ in 0..KEEP_FINISHED + 10 {
            let (id, _) = jobs.start(JobKind::Burst, 1, false).unwrap_or_default();
            jobs.update(id, |j| j.state = JobState::Stopped);
        }
        let (going, _) = jobs.start(JobKind::Timelapse, 2, false).unwrap_or_default();
        let list = jobs.list();
        assert_eq!(list.len(), KEEP_FINISHED + 1);
        assert_eq!(list.first().map(|v| v.job), Some(going));
        assert!(
            jobs.get(first).is_none(),
            "the oldest finished are forgotten"
        );
    }

    #[test]
    fn a_stop_reaches_a_capture_queued_after_it() {
        let jobs = Jobs::default();
        let (id, control) = jobs.start(JobKind::Timelapse, 5, false).unwrap_or_default();
        assert!(jobs.shot_starting(id));
        jobs.stop(id, true).unwrap_or_default();
        assert!(control.is_aborted());
        let capture = Cancel::new();
        jobs.capture_queued(id, capture.clone());
        assert!(capture.is_aborted());
        jobs.shot_ended(id);
        assert!(!jobs.shot_starting(id), "no shot after a stop");
        assert_eq!(
            jobs.stop(99, false).err().map(|e| e.code),
            Some("unknown_job")
        );
    }
}
