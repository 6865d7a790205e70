//! TODO(skeleton): the job routes and the job runner (bulb, burst, timelapse).

use tokio::sync::broadcast;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// A capture job as the API shows it (`GET …/jobs/{job}`, and the `job` event).
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct JobView {
    /// The job's id (unique per camera for the server's life).
    pub(crate) job: u64,
    /// `queued`, `running`, `done`, `stopped`, `aborted`, `failed`.
    pub(crate) state: String,
    /// 0 to 1.
    pub(crate) progress: f64,
}

/// The capture jobs of one camera.
#[derive(Debug)]
pub(crate) struct Jobs {
    updates: broadcast::Sender<JobView>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            updates: broadcast::channel(64).0,
        }
    }
}

impl Jobs {
    /// Every change of a job's state or progress from now on (the `job` event).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<JobView> {
        self.updates.subscribe()
    }

    /// Stops every job (the images taken are kept and saved) and waits for them to end.
    pub(crate) async fn shutdown(&self) {}
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
