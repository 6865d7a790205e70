//! Shots taken with the camera's own button: one task per camera downloads them as they appear
//! and records them in the camera's image store.
//!
//! The task listens to the camera service's events. When the camera says images wait
//! (`Event::ImagesWaiting(n)`, n > 0, a status showing some after a lag, or a reconnection)
//! it asks the service to download them into the server's saver, exactly as `sonyctl capture`
//! saves; every `Event::NewImage` (a capture's files too) is recorded, which is idempotent. It
//! never fights a capture: the service runs one command at a time, and a capture saves what
//! waits before it shoots, so a download queued behind one finds nothing left and saves
//! nothing. The task holds the camera's entry only while it downloads, so it never keeps a
//! service alive; it ends when the service ends.

use std::sync::{Arc, Weak};

use sonyctl_camera::save::Saver;
use sonyctl_service::Event;
use tokio::task::JoinHandle;

use crate::registry::CameraEntry;

/// Starts downloading the shots taken with `entry`'s own button into `saver`, and recording
/// them (and every image the service saves) in `entry.images`. One task per camera: the
/// registry starts it when the camera is added to a running server.
pub(crate) fn spawn_tether(entry: &Arc<CameraEntry>, saver: Arc<Saver>) -> JoinHandle<()> {
    // Subscribed before the task starts, so nothing after this call is missed.
    let events = entry.service.events();
    // Images already waiting when the server starts are saved too.
    let waiting = entry.service.status().pending_images > 0;
    let weak = Arc::downgrade(entry);
    tokio::spawn(tether(weak, events, saver, waiting))
}

async fn tether(
    entry: Weak<CameraEntry>,
    mut events: sonyctl_service::EventStream,
    saver: Arc<Saver>,
    mut want: bool,
) {
    loop {
        if want {
            let Some(entry) = entry.upgrade() else {
                return;
            };
            download(&entry, &saver).await;
        }
        let Some(first) = events.next().await else {
            return;
        };
        let Some(strong) = entry.upgrade() else {
            return;
        };
        want = hear(&strong, first);
        // What else is waiting already: one download for a run of notices.
        while let Some(e) = events.try_next() {
            want |= hear(&strong, e);
        }
    }
}

/// Records what `event` saved; true when it says images wait in the camera.
fn hear(entry: &CameraEntry, event: Event) -> bool {
    match event {
        Event::NewImage(d) => {
            entry.images.record(&d);
            false
        }
        Event::ImagesWaiting(n) => n > 0,
        // Notices of images may have been among the events missed: the status says whether
        // any wait.
        Event::Lagged { status, .. } => status.pending_images > 0,
        // A download the lost connection cut short left its images in the camera, where the
        // count the watch compares with did not grow: one attempt (it saves nothing when
        // nothing waits).
        Event::ConnectionRestored => true,
        _ => false,
    }
}

async fn download(entry: &CameraEntry, saver: &Arc<Saver>) {
    match entry.service.download(saver.clone()).await {
        Ok(files) => {
            for d in &files {
                entry.images.record(d);
            }
            if !files.is_empty() {
                tracing::info!(
                    "{}: saved {} image(s) shot on the camera",
                    entry.id,
                    files.len()
                );
            }
        }
        Err(e) => tracing::warn!("{}: downloading images shot on the camera: {e}", entry.id),
    }
}
