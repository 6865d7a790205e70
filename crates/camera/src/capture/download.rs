//! Downloading from 0xFFFFC001 into any [`Sink`] (a file, memory, nowhere) on one code path,
//! and recovering from a lost connection: the camera keeps an image until it was read
//! completely, so a drop means reconnect and fetch it again.

use sonyctl_ptp::{Codec, ObjectInfo, OperationCode, PropertyCode, ResponseCode};
use sonyctl_sony::AllPropInfo;
use sonyctl_sony::codes::handle;

use super::*;
use crate::save::{Sink, from_io};

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

    /// GetObject of 0xFFFFC001 into `sink`.
    pub(super) async fn fetch_object(
        &mut self,
        sink: &mut dyn Sink,
        total: Option<u64>,
        observer: &mut dyn Observer,
    ) -> Result<(), CaptureError> {
        let mut write_error: Option<std::io::Error> = None;
        let result = {
            let write_error = &mut write_error;
            let mut on_size = |_: u64| Ok(());
            let mut pieces = |piece: &[u8]| match sink.write(piece) {
                Ok(()) => {
                    observer.download_progress(sink.written(), total);
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
                    &mut pieces,
                )
                .await
        };
        match (result, write_error) {
            (_, Some(e)) => Err(from_io(e).into()),
            (Err(e), None) => Err(e.into()),
            (Ok(()), None) => Ok(()),
        }
    }
}

/// True when the camera refused to hand over the object at 0xFFFFC001 with InvalidObjectHandle.
/// Before any byte arrived this means "not now": the camera began writing another frame after
/// it described this one (0xD215 then reads 1, and a body must not be touched while it writes,
/// fact sheet §7). It keeps the object and hands it over once 0xD215 reads ready again.
pub(super) fn held_back(error: &CameraError) -> bool {
    match error {
        CameraError::Response { code, .. } => *code == ResponseCode::INVALID_OBJECT_HANDLE,
        _ => false,
    }
}

/// What a capture's waits say when the camera kept holding an image back until they ran out.
pub(super) const HELD_BACK: &str = "the camera to hand over an image it reported ready (it kept \
     answering InvalidObjectHandle; the image stays in the camera)";

/// True when finishing failed only because the camera sent another size than it announced:
/// every byte it sent is kept, and fetching again would bring the same.
fn kept_as_sent(error: &CaptureError) -> bool {
    matches!(error, CaptureError::Save(SaveError::SizeMismatch { .. }))
}

/// How fetching an object into a sink ended: what the caller must do with the sink.
pub(super) enum Ending {
    /// Every byte arrived: finish the sink. `in_camera`: the transfer ended with nothing sent
    /// since, so the camera still holds the object until the next request; if finishing
    /// fails, a new connection leaves it there.
    Complete { in_camera: bool },
    /// Part arrived and the camera no longer has the object (or may not): keep what arrived.
    Partial,
    /// What arrived is worthless (the camera keeps the object): abandon the sink.
    Discard,
    /// The camera held the object back before sending a byte ([`held_back`]): abandon the
    /// sink and ask again once 0xD215 reads ready.
    HeldBack,
}

/// How fetching the next object to disk ended.
pub(super) enum Fetch {
    /// Saved.
    Saved(Downloaded),
    /// The camera had no object after all.
    Nothing,
    /// The camera held the object back ([`held_back`]); it is still at 0xFFFFC001 and nothing
    /// is left on disk. Ask again once 0xD215 reads ready (after a wait: never at once).
    HeldBack,
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
        let mut held_since = None;
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
                Fetch::Saved(d) => {
                    held_since = None;
                    out.push(d);
                }
                // 0xD215 claims an object but there is none (seen on an ILCE-6400): stop
                // rather than loop.
                Fetch::Nothing => return Ok(out),
                // The camera is writing another frame: 0xD215 tells when to ask again.
                Fetch::HeldBack => {
                    let now = self.cam.link().now();
                    let since = *held_since.get_or_insert(now);
                    let limit = self.options.ready_margin;
                    if now.saturating_sub(since) >= limit {
                        return Err(CaptureError::Timeout(limit, HELD_BACK));
                    }
                    self.cam.wait_events(self.options.poll).await;
                }
            }
        }
    }

    /// Fetches the next object waiting in the camera into `sink`, if 0xD215 allows reading it
    /// and the camera has one (`None`: nothing waits, or the camera held the object back
    /// because it began writing another frame: ask again once 0xD215 reads ready; the sink
    /// is then [abandoned](Sink::abandon)). A lost connection is recovered from as
    /// for a file: the object is fetched again from its first byte (the sink is
    /// [abandoned](Sink::abandon) first) while the camera still has it, and bytes the camera
    /// no longer has are kept ([`Sink::keep_incomplete`]). The sink is
    /// [finished](Sink::finish) when every byte arrived.
    pub async fn download_waiting_to(
        &mut self,
        sink: &mut dyn Sink,
        observer: &mut dyn Observer,
    ) -> Result<Option<ObjectMeta>, CaptureError> {
        if !pending(&self.props(observer).await?).may_read_object_info() {
            return Ok(None);
        }
        let Some(meta) = self.next_object(observer).await? else {
            return Ok(None);
        };
        if let Some(size) = meta.size {
            // Refused here, the object stays in the camera.
            sink.reserve(size).map_err(from_io)?;
        }
        observer.download_started(&meta);
        let (ending, error) = self.fetch_into(&meta, sink, observer).await;
        match ending {
            Ending::Complete { in_camera } => {
                if let Err(e) = sink.finish() {
                    let e = CaptureError::from(from_io(e));
                    if in_camera && !kept_as_sent(&e) {
                        self.keep_in_camera(&e, observer).await;
                    }
                    return Err(e);
                }
            }
            Ending::Partial => {
                let kept = sink.keep_incomplete();
                if let Some(e) = error {
                    return Err(e);
                }
                let got = sink.written();
                return Err(match kept.map_err(from_io)? {
                    Some(path) => CaptureError::Incomplete {
                        path,
                        got,
                        expected: meta.size,
                    },
                    None => SaveError::Incomplete {
                        got,
                        expected: meta.size,
                    }
                    .into(),
                });
            }
            Ending::Discard => {
                if let Err(e) = sink.abandon() {
                    tracing::debug!("cannot abandon the download: {e}");
                }
            }
            Ending::HeldBack => {
                sink.abandon().map_err(from_io)?;
                return Ok(None);
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(Some(meta)),
        }
    }

    /// The ObjectInfo at 0xFFFFC001 (0xD215 said it may be read), reconnecting if needed;
    /// `None` if the camera has no object after all.
    pub(super) async fn next_object(
        &mut self,
        observer: &mut dyn Observer,
    ) -> Result<Option<ObjectMeta>, CaptureError> {
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
            return Ok(Some(meta));
        }
    }

    /// Fetches object `meta` into `sink`, again from the start after a lost connection while
    /// the camera still has it. Returns how it ended, and the error to report after the sink
    /// was dealt with.
    async fn fetch_into(
        &mut self,
        meta: &ObjectMeta,
        sink: &mut dyn Sink,
        observer: &mut dyn Observer,
    ) -> (Ending, Option<CaptureError>) {
        loop {
            match self.cam.fetch_object(sink, meta.size, observer).await {
                Ok(()) => {
                    self.reconnects = 0;
                    return (Ending::Complete { in_camera: true }, None);
                }
                Err(CaptureError::Camera(e)) if e.is_connection_lost() => {
                    if let Err(gone) = self.recover(e, observer).await {
                        // The camera is gone. A whole image is kept; a partial one is not:
                        // the camera keeps an image it has not finished sending (even across
                        // power cycles), so the next run fetches it.
                        let ending = if meta.size == Some(sink.written()) {
                            Ending::Complete { in_camera: false }
                        } else {
                            Ending::Discard
                        };
                        return (ending, Some(gone));
                    }
                    // Is the same object still waiting? Then fetch it again from the start.
                    let same = match self.props(observer).await {
                        Ok(p) if pending(&p).is_ready() => {
                            matches!(self.cam.waiting_object().await, Ok(m) if m == *meta)
                        }
                        Ok(_) => false,
                        Err(e) => return (Ending::Partial, Some(e)),
                    };
                    if same {
                        if let Err(e) = sink.abandon() {
                            return (Ending::Discard, Some(from_io(e).into()));
                        }
                        continue;
                    }
                    // The camera counted it as read: never throw away what arrived.
                    if meta.size == Some(sink.written()) {
                        return (Ending::Complete { in_camera: false }, None);
                    }
                    return (Ending::Partial, None);
                }
                Err(CaptureError::Camera(e)) if held_back(&e) && sink.written() == 0 => {
                    tracing::debug!(
                        "{} held back ({e}): the camera is writing another frame",
                        meta.filename
                    );
                    return (Ending::HeldBack, None);
                }
                Err(e @ CaptureError::Save(_)) => {
                    // The sink stopped the transfer halfway through its data phase: the rest is
                    // still on the wire.
                    self.keep_in_camera(&e, observer).await;
                    return (Ending::Discard, Some(e));
                }
                Err(e) => return (Ending::Discard, Some(e)),
            }
        }
    }

    /// After saving failed (`error`) while the camera still holds the object: a camera takes
    /// the host's next request as proof that the image arrived, so a new connection, which
    /// leaves the image in the camera, is the next thing it sees.
    async fn keep_in_camera(&mut self, error: &CaptureError, observer: &mut dyn Observer) {
        observer.notice(&format!(
            "{error}; reconnecting so that the image stays in the camera"
        ));
        let budget = self.options.reconnect_for.min(Duration::from_secs(10));
        if let Err(r) = self.cam.reconnect(budget).await {
            tracing::warn!("reconnecting after the failed download failed: {r}");
        }
    }

    /// One object from 0xFFFFC001 to disk (0xD215 said one is ready). Retries after a lost
    /// connection; [`Fetch::Nothing`] if the camera has no object after all,
    /// [`Fetch::HeldBack`] if it would not hand it over now.
    pub(super) async fn download_one(
        &mut self,
        shot: u32,
        settings: ShotSettings,
        observer: &mut dyn Observer,
    ) -> Result<Fetch, CaptureError> {
        let Some(meta) = self.next_object(observer).await? else {
            return Ok(Fetch::Nothing);
        };
        observer.download_started(&meta);
        let mut file: PartialFile = self.saver.begin(&meta, shot.max(1))?;
        let (ending, error) = self.fetch_into(&meta, &mut file, observer).await;
        match (ending, error) {
            (Ending::Complete { in_camera }, None) => {
                let file = match file.finish() {
                    Ok(f) => f,
                    Err(e) => {
                        // What was written is kept as `.incomplete` by `finish`.
                        let e = CaptureError::from(e);
                        if in_camera && !kept_as_sent(&e) {
                            self.keep_in_camera(&e, observer).await;
                        }
                        return Err(e);
                    }
                };
                let d = Downloaded {
                    file,
                    shot,
                    settings,
                };
                observer.saved(&d);
                Ok(Fetch::Saved(d))
            }
            (Ending::Complete { .. }, Some(error)) => {
                if let Ok(saved) = file.finish() {
                    observer.saved(&Downloaded {
                        file: saved,
                        shot,
                        settings,
                    });
                }
                Err(error)
            }
            (Ending::Partial, Some(error)) => {
                let _ = file.keep_incomplete();
                Err(error)
            }
            (Ending::Partial, None) => {
                let got = file.written();
                let path = file.keep_incomplete()?;
                Err(CaptureError::Incomplete {
                    path,
                    got,
                    expected: meta.size,
                })
            }
            // Dropping the file deletes it.
            (Ending::HeldBack, _) => Ok(Fetch::HeldBack),
            (Ending::Discard, error) => Err(error.unwrap_or(CaptureError::ConnectionDropped(
                "and the image stays in the camera",
            ))),
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
