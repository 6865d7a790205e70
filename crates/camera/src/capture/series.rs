//! Series and tethering: timelapse on a fixed grid, and waiting for shots taken on the camera.

use super::*;

impl<'a> CaptureSession<'a> {
    /// A timelapse: `count` shots of `kind`, shot `k` starting at `start + k × interval` on a
    /// fixed grid (a slow shot never shifts the later ones). Ctrl-C stops before the next shot.
    /// `on_shot` hears each shot's result; an error ends the series unless it returns `true`
    /// (go on).
    pub async fn series(
        &mut self,
        kind: ShotKind,
        count: u32,
        interval: Duration,
        observer: &mut dyn Observer,
        on_shot: &mut (dyn FnMut(u32, &ShotResult) -> bool + Send),
    ) -> Result<(), CaptureError> {
        let start = self.cam.link().now();
        for k in 0..count {
            if self.cancel.is_cancelled() {
                break;
            }
            let slot = start + interval * k;
            let now = self.cam.link().now();
            if now > slot + interval && !interval.is_zero() {
                observer.notice(&format!(
                    "shot {} is {:.1} s late (the previous one took longer than the interval)",
                    k + 1,
                    (now - slot).as_secs_f64()
                ));
            }
            if slot > now {
                let cancel = self.cancel.clone();
                let link = self.cam.link_mut();
                tokio::select! {
                    _ = link.sleep_until(slot) => {}
                    _ = cancel.cancelled() => break,
                }
            }
            let result = self.shoot(kind, observer).await;
            let go_on = on_shot(k + 1, &result);
            if let Err(e) = result {
                if !go_on {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Waits up to `limit` for images shot with the camera's own button and downloads them
    /// (tethering). Returns what arrived (possibly nothing).
    pub async fn tether_once(
        &mut self,
        limit: Duration,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        let mut track = Tracker::new(observer);
        let result = self.tether_once_tracked(limit, &mut track).await;
        track.end(&result, false);
        result
    }

    async fn tether_once_tracked(
        &mut self,
        limit: Duration,
        observer: &mut Tracker<'_>,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        let p = self.props(observer).await?;
        if pending(&p).may_read_object_info() {
            let got = self.drain(0, observer).await?;
            if !got.is_empty() {
                self.reconnects = 0;
                return Ok(got);
            }
        }
        let cancel = self.cancel.clone();
        let poll = limit.min(self.options.poll.max(Duration::from_millis(10)));
        tokio::select! {
            _ = self.cam.wait_events(poll) => {}
            _ = cancel.cancelled() => return Ok(Vec::new()),
        }
        Ok(Vec::new())
    }
}
