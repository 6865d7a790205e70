//! Downloading from 0xFFFFC001 and recovering from a lost connection: the camera keeps an
//! image until it was read completely, so a drop means reconnect and fetch it again.

use sonyctl_ptp::{Codec, ObjectInfo, OperationCode, PropertyCode, ResponseCode};
use sonyctl_sony::AllPropInfo;
use sonyctl_sony::codes::handle;

use super::*;

impl Camera {
    /// GetObjectInfo of the object waiting at 0xFFFFC001.
    pub(super) async fn waiting_object(&mut self) -> Result<ObjectMeta, CameraError> {
        let data = self
            .conn
            .data(
                OperationCode::GET_OBJECT_INFO,
                &[handle::CAPTURED_IMAGE],
                None,
            )
            .await?;
        let info = ObjectInfo::decode_exact(&data).map_err(|source| CameraError::Decode {
            what: "ObjectInfo",
            source,
        })?;
        Ok(ObjectMeta {
            filename: info.filename,
            format: info.object_format.0,
            size: (info.object_compressed_size != u32::MAX)
                .then_some(u64::from(info.object_compressed_size)),
            capture_date: info.capture_date,
            model: self.device_info.model.clone(),
        })
    }

    /// GetObject of 0xFFFFC001 into `file`.
    pub(super) async fn fetch_object(
        &mut self,
        file: &mut PartialFile,
        total: Option<u64>,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        let mut write_error: Option<SaveError> = None;
        let result = {
            let write_error = &mut write_error;
            let mut announced = total;
            let mut on_size = |n: u64| {
                announced = Some(n);
                Ok(())
            };
            let mut sink = |piece: &[u8]| match file.write(piece) {
                Ok(()) => {
                    observer.download_progress(file.written(), total);
                    Ok(())
                }
                Err(e) => {
                    let text = e.to_string();
                    *write_error = Some(e);
                    Err(TransportError::Aborted(text))
                }
            };
            self.conn
                .call_streaming(
                    OperationCode::GET_OBJECT,
                    &[handle::CAPTURED_IMAGE],
                    None,
                    MAX_OBJECT,
                    &mut on_size,
                    &mut sink,
                )
                .await
        };
        match (result, write_error) {
            (_, Some(e)) => Err(e.into()),
            (Err(e), None) => Err(e.into()),
            (Ok(()), None) => Ok(()),
        }
    }
}

impl<'a> CaptureSession<'a> {
    /// After a lost connection: reconnect (or give up); other errors pass through.
    pub(super) async fn recover(
        &mut self,
        error: CameraError,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        if !error.is_connection_lost() {
            return Err(error.into());
        }
        self.reconnects += 1;
        if self.reconnects > self.options.max_reconnects {
            return Err(CaptureError::TooManyReconnects(self.reconnects - 1));
        }
        observer.notice(&format!(
            "connection lost ({error}); reconnecting (for up to {} s)",
            self.options.reconnect_for.as_secs()
        ));
        let budget = self.options.reconnect_for;
        if self.cancel.is_cancelled() {
            // Finishing after Ctrl-C: a short try to save and restore what is left.
            self.cam
                .reconnect(budget.min(Duration::from_secs(10)))
                .await?;
        } else {
            let cancel = self.cancel.clone();
            tokio::select! {
                r = self.cam.reconnect(budget) => r?,
                _ = cancel.cancelled() => {
                    return Err(CaptureError::ConnectionDropped(
                        "and the wait for the camera was interrupted",
                    ));
                }
            }
        }
        observer.notice("reconnected");
        Ok(())
    }

    /// Every property, freshly read, reconnecting if needed.
    pub(super) async fn props(
        &mut self,
        observer: &mut dyn Observer,
    ) -> Result<AllPropInfo, CaptureError> {
        loop {
            match self.cam.properties().await {
                Ok(p) => return Ok(p),
                Err(e) => self.recover(e, observer).await?,
            }
        }
    }

    /// A button, reconnecting if needed. `Ok(false)`: the connection was lost and renewed
    /// (the camera released every button when it went).
    pub(super) async fn press(
        &mut self,
        code: PropertyCode,
        pressed: bool,
        observer: &mut dyn Observer,
    ) -> Result<bool, CaptureError> {
        match self.cam.button(code, pressed).await {
            Ok(()) => Ok(true),
            Err(e) => {
                self.recover(e, observer).await?;
                Ok(false)
            }
        }
    }

    /// Downloads every image waiting in the camera (while 0xD215 reads ready) as part of `shot`.
    pub async fn drain(
        &mut self,
        shot: u32,
        observer: &mut dyn Observer,
    ) -> Result<Vec<Downloaded>, CaptureError> {
        let mut out = Vec::new();
        let mut settings = None;
        loop {
            let props = self.props(observer).await?;
            // An invalid count is asked too: download_one stops on an empty ObjectInfo.
            if !pending(&props).may_read_object_info() {
                return Ok(out);
            }
            let settings = settings
                .get_or_insert_with(|| ShotSettings::from_props(&props))
                .clone();
            match self.download_one(shot, settings, observer).await? {
                Some(d) => out.push(d),
                // 0xD215 claims an object but there is none (seen on an ILCE-6400): stop
                // rather than loop.
                None => return Ok(out),
            }
        }
    }

    /// One object from 0xFFFFC001 to disk (0xD215 said one is ready). Retries after a lost
    /// connection; `None` if the camera has no object after all.
    pub(super) async fn download_one(
        &mut self,
        shot: u32,
        settings: ShotSettings,
        observer: &mut dyn Observer,
    ) -> Result<Option<Downloaded>, CaptureError> {
        loop {
            let meta = match self.cam.waiting_object().await {
                Ok(m) => m,
                Err(CameraError::Response { code, .. })
                    if code == ResponseCode::INVALID_OBJECT_HANDLE =>
                {
                    return Ok(None);
                }
                Err(e) => {
                    self.recover(e, observer).await?;
                    if pending(&self.props(observer).await?).is_ready() {
                        continue;
                    }
                    return Ok(None);
                }
            };
            if meta.size == Some(0) && meta.filename.is_empty() {
                return Ok(None);
            }
            observer.download_started(&meta);
            let mut file = self.saver.begin(&meta, shot.max(1))?;
            match self.cam.fetch_object(&mut file, meta.size, observer).await {
                Ok(()) => {
                    let saved = file.finish()?;
                    self.reconnects = 0;
                    let d = Downloaded {
                        file: saved,
                        shot,
                        settings,
                    };
                    observer.saved(&d);
                    return Ok(Some(d));
                }
                Err(CaptureError::Camera(e)) if e.is_connection_lost() => {
                    if let Err(gone) = self.recover(e, observer).await {
                        // The camera is gone. A whole image is saved; a partial one is not:
                        // the camera keeps an image it has not finished sending (even across
                        // power cycles), so the next run fetches it.
                        if meta.size == Some(file.written()) {
                            if let Ok(saved) = file.finish() {
                                observer.saved(&Downloaded {
                                    file: saved,
                                    shot,
                                    settings,
                                });
                            }
                        }
                        return Err(gone);
                    }
                    // Is the same object still waiting? Then fetch it again from the start.
                    let same = match self.props(observer).await {
                        Ok(p) if pending(&p).is_ready() => {
                            matches!(self.cam.waiting_object().await, Ok(m) if m == meta)
                        }
                        Ok(_) => false,
                        Err(e) => {
                            let _ = file.keep_incomplete();
                            return Err(e);
                        }
                    };
                    if same {
                        drop(file);
                        continue;
                    }
                    // The camera counted it as read: never throw away what arrived.
                    let got = file.written();
                    if meta.size == Some(got) {
                        let saved = file.finish()?;
                        let d = Downloaded {
                            file: saved,
                            shot,
                            settings,
                        };
                        observer.saved(&d);
                        return Ok(Some(d));
                    }
                    let path = file.keep_incomplete()?;
                    return Err(CaptureError::Incomplete {
                        path,
                        got,
                        expected: meta.size,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until 0xD215 shows images ready (`true`), or `limit` passes (`false`; an error if
    /// 0xD215 then reads a value that counts no images).
    pub(super) async fn wait_ready(
        &mut self,
        limit: Duration,
        observer: &mut dyn Observer,
    ) -> Result<bool, CaptureError> {
        let start = self.cam.link().now();
        loop {
            let p = self.props(observer).await?;
            let now_pending = pending(&p);
            if now_pending.is_ready() {
                observer.wait_done();
                return Ok(true);
            }
            if let PendingImages::Invalid(_) = now_pending {
                // No count: the ObjectInfo tells whether an image waits after all.
                match self.cam.waiting_object().await {
                    Ok(m) if !(m.size == Some(0) && m.filename.is_empty()) => {
                        observer.wait_done();
                        return Ok(true);
                    }
                    Err(e) if e.is_connection_lost() => self.recover(e, observer).await?,
                    _ => {}
                }
            }
            let elapsed = self.cam.link().now().saturating_sub(start);
            if elapsed >= limit {
                observer.wait_done();
                if let PendingImages::Invalid(_) = now_pending {
                    return Err(CaptureError::InvalidPending(limit, now_pending));
                }
                return Ok(false);
            }
            observer.waiting("the image", elapsed, limit);
            self.cam.wait_events(self.options.poll).await;
        }
    }
}
