//! Capture jobs (bulb, burst, timelapse): `GET /cameras/{id}/jobs`, `GET` and
//! `DELETE /cameras/{id}/jobs/{job}`, and the runners that `POST …/capture` starts: a job, or
//! one shot.
//!
//! A job runs in its own task, so it goes on when the client that started it goes away. Each
//! change of its state or progress is published on [`Jobs::subscribe`] as a small
//! [`JobUpdate`] (the `job` event); its images stay in the table, of which `GET …/jobs` lists
//! the jobs without their images and `GET …/jobs/{job}` one job with them. A bulb or burst is
//! one capture of the camera service from start to end. A timelapse is `count` single shots on
//! a fixed grid from the job's start (shot `k` at `start + k × interval`, so a slow shot never
//! shifts the later ones), each a capture of its own: other commands run between shots. While
//! a job has a capture in the service, the busy rule ([`crate::api::not_while_a_job_shoots`])
//! refuses what would queue behind it.
//!
//! One shot (`POST …/capture {}`) is held in the same table from the moment it is accepted
//! until its images are recorded, so that `release` and the server's end reach it: one still
//! queued in the service takes no picture, one in progress ends as the camera ends it and keeps
//! its image. While a release runs ([`Jobs::stop_for_release`]) and once the server ends
//! ([`Jobs::shutdown`]), no capture starts: a job or shot accepted just after the stop could
//! otherwise outlive the release.
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
use tokio::sync::{broadcast, oneshot, watch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::images::ImageView;
use crate::api::{ApiPath, ApiQuery};
use crate::error::{ApiError, ErrorBody};
use crate::registry::CameraEntry;
use crate::state::AppState;

/// Finished jobs kept for `GET …/jobs` (running ones are always kept).
pub(crate) const KEEP_FINISHED: usize = 100;

/// The image views a job keeps, its newest: `image_count` counts them all, and
/// `GET …/images` lists every file saved. A job's record stays small however long it shoots.
pub(crate) const JOB_IMAGES_KEPT: usize = 1000;

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
    /// It could not go on (`error` says why): a timelapse that ended with fewer shots than
    /// planned without being stopped, a bulb or burst that delivered no image, or a job whose
    /// capture could not be queued.
    Failed,
}

impl JobState {
    /// The name the API gives it.
    pub(crate) fn as_str(self) -> &'static str {
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

/// A capture job without its images, as `GET …/jobs` lists it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobSummary {
    /// The job's id (unique per camera for the server's life).
    pub(crate) job: u64,
    /// What it shoots.
    pub(crate) kind: JobKind,
    /// Where it stands.
    pub(crate) state: JobState,
    /// 0 to 1: a bulb's or burst's exposure time elapsed over its length (1 once done); a
    /// timelapse's shots taken over its count.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub(crate) progress: f64,
    /// Shots finished so far (a failed shot counts).
    pub(crate) shots: u32,
    /// Shots planned (1 for a bulb or burst).
    pub(crate) count: u32,
    /// Images saved so far.
    pub(crate) image_count: u64,
    /// Why the job failed, or the last shot of a timelapse that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

/// A capture job with its images (`GET …/jobs/{job}`, `DELETE …/jobs/{job}`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    /// The job.
    #[serde(flatten)]
    pub(crate) summary: JobSummary,
    /// The images saved, oldest first: the newest 1000 when there are more (`image_count`
    /// counts them all; `GET …/images` lists every file).
    pub(crate) images: Vec<ImageView>,
}

/// A change of a job's state or progress: what [`Jobs::subscribe`] publishes (the `job`
/// event). Small whatever the job has shot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct JobUpdate {
    /// The job's id.
    pub(crate) job: u64,
    /// Its state, named as the API names it (`running`, `done`, …).
    pub(crate) state: &'static str,
    /// 0 to 1.
    pub(crate) progress: f64,
}

/// One job's record.
#[derive(Debug)]
struct Job {
    summary: JobSummary,
    /// The newest [`JOB_IMAGES_KEPT`] images, oldest first.
    images: VecDeque<ImageView>,
    /// Stop or abort asked for the whole job.
    control: Cancel,
    /// True while the job has a capture in the camera service (the busy rule).
    shooting: bool,
    /// That capture's own stop and abort.
    capture: Option<Cancel>,
}

impl Job {
    /// Records images the job saved.
    fn keep(&mut self, images: Vec<ImageView>) {
        let n = u64::try_from(images.len()).unwrap_or(u64::MAX);
        self.summary.image_count = self.summary.image_count.saturating_add(n);
        self.images.extend(images);
        while self.images.len() > JOB_IMAGES_KEPT {
            self.images.pop_front();
        }
    }

    fn update(&self) -> JobUpdate {
        JobUpdate {
            job: self.summary.job,
            state: self.summary.state.as_str(),
            progress: self.summary.progress,
        }
    }

    fn view(&self) -> JobView {
        JobView {
            summary: self.summary.clone(),
            images: self.images.iter().cloned().collect(),
        }
    }

    fn is_finished(&self) -> bool {
        self.summary.state.is_finished()
    }
}

/// One shot (`POST …/capture {}`) accepted and not yet over.
#[derive(Debug)]
struct Shot {
    id: u64,
    /// Stop asked for (a release, the server's end) before or after it was queued.
    control: Cancel,
    /// Its capture in the service, once queued.
    capture: Option<Cancel>,
}

#[derive(Debug, Default)]
struct Table {
    /// The last job id given.
    last: u64,
    /// Oldest first.
    jobs: VecDeque<Job>,
    /// The last shot id given (shots are not shown; the id tells them apart).
    last_shot: u64,
    /// Shots accepted and not yet over.
    shots: Vec<Shot>,
    /// Releases in progress: no capture starts meanwhile.
    releasing: usize,
    /// The server is ending: no capture starts any more.
    closed: bool,
}

impl Table {
    fn get_mut(&mut self, id: u64) -> Option<&mut Job> {
        self.jobs.iter_mut().find(|j| j.summary.job == id)
    }

    /// Forgets the oldest finished jobs beyond [`KEEP_FINISHED`].
    fn prune(&mut self) {
        let mut finished = self.jobs.iter().filter(|j| j.is_finished()).count();
        self.jobs.retain(|j| {
            if finished > KEEP_FINISHED && j.is_finished() {
                finished -= 1;
                false
            } else {
                true
            }
        });
    }

    /// Refuses a new capture while a release runs or once the server ends.
    fn admit(&self) -> Result<(), ApiError> {
        if self.closed {
            return Err(shutting_down());
        }
        if self.releasing > 0 {
            return Err(ApiError::busy(
                "the camera is being released (POST …/release): try again once that has \
                 answered",
            ));
        }
        Ok(())
    }

    /// Stops every job still going and every shot (images taken are kept); returns their
    /// ids.
    fn stop_going(&mut self) -> (Vec<u64>, Vec<u64>) {
        let mut jobs = Vec::new();
        for job in self.jobs.iter().filter(|j| !j.is_finished()) {
            job.control.cancel();
            if let Some(c) = &job.capture {
                c.cancel();
            }
            jobs.push(job.summary.job);
        }
        let mut shots = Vec::new();
        for shot in &self.shots {
            shot.control.cancel();
            if let Some(c) = &shot.capture {
                c.cancel();
            }
            shots.push(shot.id);
        }
        (jobs, shots)
    }
}

/// 503 `shutting_down`.
fn shutting_down() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting_down",
        "the server is shutting down and starts no capture",
    )
}

/// The capture jobs of one camera, and its shots in flight.
#[derive(Debug)]
pub(crate) struct Jobs {
    updates: broadcast::Sender<JobUpdate>,
    table: Mutex<Table>,
    /// Counts changes (a job's update, a shot that ends), so that waiters wake.
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

/// What a release or the server's end stopped.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Stopped {
    /// The jobs that were going.
    pub(crate) jobs: Vec<u64>,
    /// The shots that were queued or in progress.
    pub(crate) shots: usize,
}

/// While it lives, a release runs on the camera and no capture starts there (409 `busy`).
#[derive(Debug)]
pub(crate) struct ReleaseHold<'a> {
    jobs: &'a Jobs,
}

impl Drop for ReleaseHold<'_> {
    fn drop(&mut self) {
        let mut table = self.jobs.lock();
        table.releasing = table.releasing.saturating_sub(1);
    }
}

impl Jobs {
    /// Every change of a job's state or progress from now on (the `job` event).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<JobUpdate> {
        self.updates.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere leaves the table as it was between two whole updates.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the waiters (`wait`, the stops); `update`, when a job's state or progress
    /// changed, goes to the subscribers first. Called with the table locked, so that updates
    /// go out in the order they were made.
    fn publish(&self, update: Option<JobUpdate>) {
        if let Some(update) = update {
            let _ = self.updates.send(update);
        }
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes job `id` with `f`, and publishes it if its state or progress changed.
    fn update(&self, id: u64, f: impl FnOnce(&mut Job)) {
        let table = &mut *self.lock();
        let Some(job) = table.get_mut(id) else {
            return;
        };
        let before = job.update();
        f(job);
        let after = job.update();
        if after != before {
            self.publish(Some(after));
        }
    }

    /// The job that has a capture in the camera service now, if any.
    pub(crate) fn shooting(&self) -> Option<u64> {
        self.lock()
            .jobs
            .iter()
            .find(|j| j.shooting)
            .map(|j| j.summary.job)
    }

    /// Shots accepted and not yet over (queued in the service or shooting).
    pub(crate) fn shots_in_flight(&self) -> usize {
        self.lock().shots.len()
    }

    /// True once the server is ending.
    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Registers a new job, unless one is still going (409 `busy` naming it), a release runs
    /// (409 `busy`) or the server ends (503 `shutting_down`). `shooting`: whether it has a
    /// capture in the service from the start (a bulb, a burst). Returns its id and its
    /// stop-and-abort token.
    fn start(&self, kind: JobKind, count: u32, shooting: bool) -> Result<(u64, Cancel), ApiError> {
        let mut table = self.lock();
        table.admit()?;
        if let Some(j) = table.jobs.iter().find(|j| !j.is_finished()) {
            return Err(busy_with(j.summary.job));
        }
        table.last += 1;
        let control = Cancel::new();
        let job = Job {
            summary: JobSummary {
                job: table.last,
                kind,
                state: JobState::Queued,
                progress: 0.0,
                shots: 0,
                count,
                image_count: 0,
                error: None,
            },
            images: VecDeque::new(),
            control: control.clone(),
            shooting,
            capture: None,
        };
        let (id, update) = (job.summary.job, job.update());
        table.jobs.push_back(job);
        table.prune();
        self.publish(Some(update));
        Ok((id, control))
    }

    /// Forgets a job whose capture could not even be queued (its client hears why): it ends
    /// `failed` with `error` first, so that whoever heard it `queued` hears it end.
    fn forget(&self, id: u64, error: String) {
        self.update(id, |j| {
            j.shooting = false;
            j.summary.state = JobState::Failed;
            j.summary.error = Some(error);
        });
        self.lock().jobs.retain(|j| j.summary.job != id);
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
            forward(&job.control, &capture);
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

    /// The job called `id`, with its images.
    pub(crate) fn get(&self, id: u64) -> Option<JobView> {
        self.lock()
            .jobs
            .iter()
            .find(|j| j.summary.job == id)
            .map(Job::view)
    }

    /// Every job kept, newest first, without their images.
    pub(crate) fn list(&self) -> Vec<JobSummary> {
        self.lock()
            .jobs
            .iter()
            .rev()
            .map(|j| j.summary.clone())
            .collect()
    }

    /// Stops job `id` (`discard`: aborts it). A finished job is left as it is.
    pub(crate) fn stop(&self, id: u64, discard: bool) -> Result<(), ApiError> {
        let mut table = self.lock();
        let job = table.get_mut(id).ok_or_else(|| unknown_job(id))?;
        if job.is_finished() {
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
            {
                let table = self.lock();
                let job = table.jobs.iter().find(|j| j.summary.job == id)?;
                if job.is_finished() {
                    return Some(job.view());
                }
            }
            // The sender lives as long as `self`.
            if changes.changed().await.is_err() {
                return self.get(id);
            }
        }
    }

    /// Waits until the jobs `jobs` have finished and the shots `shots` are over.
    async fn wait_all(&self, jobs: &[u64], shots: &[u64]) {
        for id in jobs {
            self.wait(*id).await;
        }
        let mut changes = self.changes.subscribe();
        loop {
            if !self.lock().shots.iter().any(|s| shots.contains(&s.id)) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// For `release`: stops every job still going and every shot, queued or in progress
    /// (images taken are kept and saved), and waits for them to end. The hold returned keeps
    /// any capture from starting on this camera until it is dropped, once the buttons are
    /// released: a job or shot accepted after the stop cannot outlive the release.
    pub(crate) async fn stop_for_release(&self) -> (ReleaseHold<'_>, Stopped) {
        let (jobs, shots) = {
            let mut table = self.lock();
            table.releasing += 1;
            table.stop_going()
        };
        let hold = ReleaseHold { jobs: self };
        self.wait_all(&jobs, &shots).await;
        (
            hold,
            Stopped {
                jobs,
                shots: shots.len(),
            },
        )
    }

    /// The server ends: from now on no capture starts (503 `shutting_down`); every job and
    /// shot is stopped (images taken are kept and saved) and waited for. A shot in progress
    /// ends when the camera delivers its image, after its exposure.
    pub(crate) async fn shutdown(&self) -> Stopped {
        let (jobs, shots) = {
            let mut table = self.lock();
            table.closed = true;
            table.stop_going()
        };
        self.wait_all(&jobs, &shots).await;
        Stopped {
            jobs,
            shots: shots.len(),
        }
    }

    /// Registers a shot, unless a release runs (409 `busy`) or the server ends (503
    /// `shutting_down`).
    fn begin_shot(&self) -> Result<(u64, Cancel), ApiError> {
        let mut table = self.lock();
        table.admit()?;
        table.last_shot += 1;
        let (id, control) = (table.last_shot, Cancel::new());
        table.shots.push(Shot {
            id,
            control: control.clone(),
            capture: None,
        });
        Ok((id, control))
    }

    /// Shot `id`'s capture is in the service: a stop already asked for reaches it.
    fn shot_queued(&self, id: u64, capture: Cancel) {
        let mut table = self.lock();
        if let Some(shot) = table.shots.iter_mut().find(|s| s.id == id) {
            forward(&shot.control, &capture);
            shot.capture = Some(capture);
        }
    }

    /// Shot `id` is over.
    fn end_shot(&self, id: u64) {
        let mut table = self.lock();
        table.shots.retain(|s| s.id != id);
        self.publish(None);
    }
}

/// Passes a stop or abort asked for on `control` to `capture`.
fn forward(control: &Cancel, capture: &Cancel) {
    if control.is_aborted() {
        capture.abort();
    } else if control.is_cancelled() {
        capture.cancel();
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

/// A shot's place in its camera's table, from the moment it is accepted until its images are
/// recorded; dropping it ends the shot there.
struct ShotTicket {
    entry: Arc<CameraEntry>,
    id: u64,
}

impl Drop for ShotTicket {
    fn drop(&mut self) {
        self.entry.jobs.end_shot(self.id);
    }
}

/// One shot (`POST …/capture {}`): its images, saved and recorded even if the client goes away
/// before the answer. A release or the server's end stops it: still queued, it takes no
/// picture (409 `busy`, or 503 `shutting_down` at the end); in progress, it ends as the camera
/// ends it and keeps its image.
pub(crate) async fn single(
    entry: &Arc<CameraEntry>,
    options: ShotOptions,
) -> Result<Vec<ImageView>, ApiError> {
    let (id, control) = entry.jobs.begin_shot()?;
    let ticket = ShotTicket {
        entry: entry.clone(),
        id,
    };
    // A client gone before the capture is queued takes no picture (the ticket ends the shot).
    let handle = entry.service.capture(ShotKind::Single, options).await?;
    entry.jobs.shot_queued(id, handle.canceller());
    let (answer, result) = oneshot::channel();
    tokio::spawn(async move {
        let r = handle
            .wait()
            .await
            .map(|report| record(&ticket.entry, &report))
            .map_err(ApiError::from);
        // The answer goes first: whoever waits for the shot to end (a release, the server's
        // end) lets the client's connection go only after that.
        let _ = answer.send(r);
        drop(ticket);
    });
    let images = result
        .await
        .map_err(|_| ApiError::internal("the capture's result was lost"))??;
    if !images.is_empty() {
        return Ok(images);
    }
    if control.is_cancelled() {
        return Err(if entry.jobs.is_closed() {
            shutting_down()
        } else {
            ApiError::busy(
                "the shot was stopped by a release (POST …/release) before it was taken: no \
                 picture",
            )
        });
    }
    Err(ApiError::new(
        StatusCode::BAD_GATEWAY,
        "camera_error",
        "the camera delivered no image",
    ))
}

/// Starts a job on `entry` as `plan` says, shooting with `options`; returns its id once its
/// first capture is queued (a bulb or burst) or its task runs (a timelapse). The job's task
/// queues the capture, so a client that goes away meanwhile leaves no job behind that never
/// ends.
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
            let (queued, answer) = oneshot::channel();
            let entry = entry.clone();
            tokio::spawn(async move {
                let handle = match entry.service.capture(shot, options).await {
                    Ok(h) => h,
                    Err(e) => {
                        entry
                            .jobs
                            .forget(id, format!("the capture could not be queued: {e}"));
                        let _ = queued.send(Err(ApiError::from(e)));
                        return;
                    }
                };
                entry.jobs.capture_queued(id, handle.canceller());
                let _ = queued.send(Ok(()));
                entry
                    .jobs
                    .update(id, |j| j.summary.state = JobState::Running);
                let result = held(&entry, id, d, handle).await;
                entry.jobs.shot_ended(id);
                finish_held(&entry, id, result);
            });
            answer
                .await
                .map_err(|_| ApiError::internal("the job ended before its capture was queued"))??;
            Ok(id)
        }
        Plan::Timelapse { count, interval } => {
            let (id, control) = entry.jobs.start(JobKind::Timelapse, count, false)?;
            let entry = entry.clone();
            tokio::spawn(async move {
                entry
                    .jobs
                    .update(id, |j| j.summary.state = JobState::Running);
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
                        if p > j.summary.progress {
                            j.summary.progress = p;
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
                let s = &mut j.summary;
                s.state = if report.aborted {
                    JobState::Aborted
                } else if images.is_empty() && !report.stopped {
                    s.error = Some("the camera delivered no image".into());
                    JobState::Failed
                } else if report.stopped {
                    JobState::Stopped
                } else {
                    s.progress = 1.0;
                    JobState::Done
                };
                s.shots = u32::from(!images.is_empty());
                j.keep(images);
            });
        }
        Err(e) => entry.jobs.update(id, |j| {
            j.summary.state = JobState::Failed;
            j.summary.error = Some(e.to_string());
        }),
    }
}

/// Runs a timelapse: shot `k` at `start + k × interval`, until `count` shots or a stop. One
/// that ends with fewer shots than planned without a stop (the camera service ended) is
/// `failed`, never `done`.
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
    let mut taken = 0u32;
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
        taken = k + 1;
        let ended = matches!(result, Err(ServiceError::Ended));
        let (images, error) = match result {
            Ok(report) => {
                let images = record(entry, &report);
                let error = (images.is_empty() && !report.stopped && !report.aborted)
                    .then(|| format!("shot {taken}: the camera delivered no image"));
                (images, error)
            }
            Err(e) => (Vec::new(), Some(format!("shot {taken}: {e}"))),
        };
        saved += images.len();
        if error.is_some() {
            failed.clone_from(&error);
        }
        entry.jobs.update(id, |j| {
            j.summary.shots = taken;
            j.summary.progress = f64::from(taken) / f64::from(count.max(1));
            j.keep(images);
            if error.is_some() {
                j.summary.error = error;
            }
        });
        if ended {
            break;
        }
    }
    entry.jobs.update(id, |j| {
        j.summary.state = if control.is_aborted() {
            JobState::Aborted
        } else if control.is_cancelled() {
            JobState::Stopped
        } else if taken < count {
            if j.summary.error.is_none() {
                j.summary.error = Some(format!("it ended after {taken} of {count} shots"));
            }
            JobState::Failed
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
    /// Newest first: every job still going and the last 100 finished, without their images
    /// (`GET …/jobs/{job}` gives a job's images).
    jobs: Vec<JobSummary>,
}

/// The capture jobs of a camera, without their images.
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

    fn image(n: usize) -> ImageView {
        ImageView {
            name: format!("DSC{n:05}.JPG"),
            size: 1,
            format: "JPEG".into(),
            time: String::new(),
            settings: serde_json::Map::new(),
        }
    }

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
        jobs.update(first, |j| j.summary.state = JobState::Done);
        assert_eq!(jobs.shooting(), None);
        let seen: Vec<&str> = std::iter::from_fn(|| updates.try_recv().ok())
            .map(|v| v.state)
            .collect();
        assert_eq!(seen, ["queued", "done"]);
        for _ in 0..KEEP_FINISHED + 10 {
            let (id, _) = jobs.start(JobKind::Burst, 1, false).unwrap_or_default();
            jobs.update(id, |j| j.summary.state = JobState::Stopped);
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
    fn a_job_keeps_its_newest_images_and_counts_them_all() {
        let jobs = Jobs::default();
        let mut updates = jobs.subscribe();
        let (id, _) = jobs
            .start(JobKind::Timelapse, 5000, false)
            .unwrap_or_default();
        let total = JOB_IMAGES_KEPT + 250;
        for n in 0..total {
            jobs.update(id, |j| j.keep(vec![image(n)]));
        }
        let view = jobs.get(id).expect("the job is kept");
        assert_eq!(view.summary.image_count, total as u64);
        assert_eq!(view.images.len(), JOB_IMAGES_KEPT);
        assert_eq!(view.images.first(), Some(&image(total - JOB_IMAGES_KEPT)));
        assert_eq!(view.images.last(), Some(&image(total - 1)));
        // Images alone change neither state nor progress: nothing is published for them.
        let seen: Vec<JobUpdate> = std::iter::from_fn(|| updates.try_recv().ok()).collect();
        assert_eq!(
            seen,
            [JobUpdate {
                job: id,
                state: "queued",
                progress: 0.0
            }]
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

    /// A camera whose service's task has ended (a panic in it stands for any end).
    async fn camera_with_an_ended_service() -> Arc<CameraEntry> {
        let sim = sonyctl_sim::SimulatedCamera::new(
            sonyctl_sim::Profile::builtin("ilce-6000").expect("a built-in model"),
            sonyctl_sim::SimOptions::default(),
        );
        let link = sonyctl_camera::Link::sim(sim, sonyctl_camera::SimClock::real(1.0));
        let cam = sonyctl_camera::Camera::open(link, sonyctl_camera::CameraOptions::default())
            .await
            .expect("the simulated camera opens");
        let service = sonyctl_service::CameraService::spawn(cam, Default::default());
        let entry = crate::Registry::new()
            .add(service.clone())
            .await
            .expect("the camera is served");
        let ended = service
            .with_camera(|_| panic!("the camera service's task ends here"))
            .await;
        assert!(ended.is_err());
        entry
    }

    #[tokio::test]
    async fn a_burst_whose_camera_held_a_frame_back_ends_done_with_every_frame() {
        // The ILCE-6000 at 1/4 s on the virtual clock; once, the next frame starts writing
        // between the ObjectInfo and the GetObject of the frame waiting.
        let mut sim = sonyctl_sim::SimulatedCamera::new(
            sonyctl_sim::Profile::builtin("ilce-6000").expect("a built-in model"),
            sonyctl_sim::SimOptions {
                faults: [sonyctl_sim::Fault::NextFrameWriting].into(),
                ..Default::default()
            },
        );
        sim.owner_set(
            sonyctl_sony::codes::prop::SHUTTER_SPEED,
            sonyctl_ptp::Value::U32(0x0001_0004),
        )
        .expect("1/4 s");
        let link =
            sonyctl_camera::Link::sim(sim, sonyctl_camera::SimClock::Virtual(Duration::ZERO));
        let cam = sonyctl_camera::Camera::open(link, sonyctl_camera::CameraOptions::default())
            .await
            .expect("the simulated camera opens");
        let service = sonyctl_service::CameraService::spawn(cam, Default::default());
        let entry = crate::Registry::new()
            .add(service.clone())
            .await
            .expect("the camera is served");
        let dir = tempfile::tempdir().expect("a folder");
        let saver = sonyctl_camera::save::Saver::new(dir.path(), None).expect("a saver");
        let mut updates = entry.jobs.subscribe();
        let id = launch(
            &entry,
            Plan::Burst(Duration::from_secs(2)),
            ShotOptions::new(saver),
        )
        .await
        .expect("the burst starts");
        loop {
            let u = updates.recv().await.expect("the job goes on");
            if u.job == id && !matches!(u.state, "queued" | "running") {
                break;
            }
        }
        let job = entry.jobs.list().into_iter().find(|j| j.job == id);
        let (state, images, error) = job.map_or((JobState::Queued, 0, None), |j| {
            (j.state, j.image_count, j.error)
        });
        assert_eq!(state, JobState::Done, "{error:?}");
        let (produced, get_objects) = service
            .with_camera(|cam| {
                let Some(sim) = cam.link().simulated() else {
                    return (0, 0);
                };
                let get_objects: u64 = sim
                    .all_stats()
                    .iter()
                    .map(|(_, st)| st.operations.get(&0x1009).copied().unwrap_or(0))
                    .sum();
                (sim.produced().len() as u64, get_objects)
            })
            .await
            .expect("the service runs");
        assert!(produced >= 3, "{produced} frames");
        assert_eq!(images, produced, "every frame of the burst is the job's");
        assert_eq!(get_objects, produced + 1, "one GetObject was refused");
    }

    #[tokio::test]
    async fn a_job_whose_capture_cannot_be_queued_ends_failed_before_it_is_forgotten() {
        let entry = camera_with_an_ended_service().await;
        let mut updates = entry.jobs.subscribe();
        let dir = tempfile::tempdir().expect("a folder");
        let saver = sonyctl_camera::save::Saver::new(dir.path(), None).expect("a saver");
        let refused = launch(
            &entry,
            Plan::Bulb(Duration::from_secs(1)),
            ShotOptions::new(saver),
        )
        .await;
        assert_eq!(refused.err().map(|e| e.code), Some("camera_disconnected"));
        let seen: Vec<JobUpdate> = std::iter::from_fn(|| updates.try_recv().ok()).collect();
        let states: Vec<(u64, &str)> = seen.iter().map(|u| (u.job, u.state)).collect();
        assert_eq!(states, [(1, "queued"), (1, "failed")]);
        assert!(entry.jobs.list().is_empty(), "the job is forgotten");
        assert_eq!(entry.jobs.shooting(), None);
    }

    #[tokio::test]
    async fn a_release_stops_every_shot_and_admits_none_until_it_ends() {
        let jobs = Jobs::default();
        let (queued, queued_control) = jobs.begin_shot().unwrap_or_default();
        let (running, _) = jobs.begin_shot().unwrap_or_default();
        let capture = Cancel::new();
        jobs.shot_queued(running, capture.clone());
        let release = jobs.stop_for_release();
        tokio::pin!(release);
        // The release waits for both shots to end.
        tokio::select! {
            biased;
            _ = &mut release => unreachable!("two shots are still in flight"),
            () = std::future::ready(()) => {}
        }
        assert!(queued_control.is_cancelled() && capture.is_cancelled());
        let refused = jobs.begin_shot().err().map(|e| e.code);
        assert_eq!(refused, Some("busy"), "no shot starts during a release");
        let refused = jobs.start(JobKind::Bulb, 1, true).err().map(|e| e.code);
        assert_eq!(refused, Some("busy"), "no job starts during a release");
        // A capture queued after the stop hears it at once.
        let late = Cancel::new();
        jobs.shot_queued(queued, late.clone());
        assert!(late.is_cancelled());
        jobs.end_shot(queued);
        jobs.end_shot(running);
        let (hold, stopped) = release.await;
        assert_eq!(
            stopped,
            Stopped {
                jobs: Vec::new(),
                shots: 2
            }
        );
        assert_eq!(jobs.begin_shot().err().map(|e| e.code), Some("busy"));
        drop(hold);
        let (third, _) = jobs.begin_shot().expect("the release is over");
        jobs.end_shot(third);
        assert_eq!(jobs.shutdown().await, Stopped::default());
        let refused = jobs.begin_shot().err().map(|e| e.code);
        assert_eq!(
            refused,
            Some("shutting_down"),
            "no shot starts once the server ends"
        );
    }
}
