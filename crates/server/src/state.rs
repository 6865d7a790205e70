//! What every handler shares.

use std::sync::Arc;

use sonyctl_camera::save::Saver;
use tokio::sync::Semaphore;

use crate::config::ServerConfig;
use crate::registry::Registry;

/// The handlers' shared state (cheap to clone).
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) registry: Registry,
    pub(crate) config: Arc<ServerConfig>,
    /// Where images go, exactly as `sonyctl capture` saves them.
    pub(crate) saver: Arc<Saver>,
    /// One permit per open MJPEG stream.
    pub(crate) live_streams: Arc<Semaphore>,
    /// One permit per open event stream.
    pub(crate) event_streams: Arc<Semaphore>,
    /// Turns true when the server shuts down: open streams end, so that the shutdown does
    /// not wait for them.
    pub(crate) shutdown: tokio::sync::watch::Receiver<bool>,
}
