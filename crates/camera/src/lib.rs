//! # sonyctl-camera: the camera facade
//!
//! Opens a Sony camera over a [`Link`] (any [`Transport`]: USB, PTP/IP, or with the `sim`
//! feature the simulated camera in this process), runs Sony's handshake (OpenSession,
//! GetDeviceInfo, SDIOConnect 1 and 2, 0x9202 asking for protocol 300 and falling back to 200,
//! SDIOConnect 3), and reads the settings. Every operation retries
//! DeviceBusy with a bounded back-off, and every wait has a time-out (in the transport).
//!
//! This layer decides *what* to ask the camera; bytes are the protocol crates' business and
//! sockets the transport's.

pub mod capture;
mod info;
mod link;
pub mod live_view;
pub mod save;
mod set;
mod typed;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use sonyctl_ptp::{Codec, DecodeError, DeviceInfo, Operation, OperationCode, Params, ResponseCode};
use sonyctl_sony::{AllPropInfo, ExtDeviceInfo, SdioRequest, SdioVersion, response_name};

pub use capture::{
    Cancel, CaptureError, CaptureOptions, CaptureSession, Downloaded, FocusState, Observer, Quiet,
    ShotKind, ShotSettings,
};
pub use capture::{ExposureState, ExposureStatus};
pub use info::CameraInfo;
pub use link::Link;
#[cfg(feature = "sim")]
pub use link::SimClock;
pub use live_view::{AfFrame, LiveFrame, LiveView, LiveViewCounters, LiveViewOptions};
pub use set::{SetError, SetErrorKind, SetOutcome};
pub use sonyctl_transport::{Transport, TransportError, UsbErrorKind};
pub use typed::{ExposureCompensation, FNumber, Iso, Setting, ShutterSpeed, blocking};
pub use watch::{Watch, WatchEvent};

/// The largest dataset (not object) this facade accepts from a camera.
const MAX_DATASET: u64 = 16 << 20;

/// What went wrong with the camera.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CameraError {
    /// The link failed (connection lost, time-out, bad packet).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The camera answered an operation with an error code (kept as sent).
    #[error("{operation} answered {}", describe_response(*.code))]
    Response {
        /// The operation.
        operation: OperationCode,
        /// The camera's response code.
        code: ResponseCode,
    },
    /// The camera sent data that does not decode.
    #[error("the camera sent a bad {what}: {source}")]
    Decode {
        /// Which dataset.
        what: &'static str,
        /// Why.
        source: DecodeError,
    },
    /// The camera is not a Sony body in PC Remote mode.
    #[error("{0}")]
    NotRemote(String),
    /// Another application controls the camera (SDIOConnect answered 0xA101).
    #[error(
        "another application is controlling the camera (Imaging Edge, a phone app, gphoto2, …): \
         close it, or reconnect the camera, and try again"
    )]
    InUse,
    /// An operation expected data and got none.
    #[error("{0} sent no data")]
    NoData(OperationCode),
    /// An error that was also reported to others (a watch's lost connection), with its kind.
    #[error(transparent)]
    Shared(SharedError),
}

/// A camera error several parties see (an event can be cloned; the error keeps its kind, so a
/// USB failure is still a USB failure where it is shown).
#[derive(Clone, Debug)]
pub struct SharedError(pub std::sync::Arc<CameraError>);

impl SharedError {
    /// The error.
    pub fn error(&self) -> &CameraError {
        &self.0
    }
}

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {
    /// The shared error itself, so a walk down the chain of causes meets its kind (a
    /// `CameraError` over a USB failure); its text repeats this one's, which printers skip.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Two reports of an error are equal when they say the same.
impl PartialEq for SharedError {
    fn eq(&self, other: &SharedError) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for SharedError {}

impl CameraError {
    /// True for DeviceBusy: the same request may succeed a little later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CameraError::Response { code, .. } if code.is_retryable())
    }

    /// True when the connection is gone (dropped, timed out, or out of step) and a new one is
    /// needed: [`Camera::reconnect`].
    pub fn is_connection_lost(&self) -> bool {
        match self {
            CameraError::Transport(t) => t.is_disconnect(),
            CameraError::Shared(s) => s.error().is_connection_lost(),
            _ => false,
        }
    }

    /// The transport's error behind this one, if a transport failed.
    pub fn transport(&self) -> Option<&TransportError> {
        match self {
            CameraError::Transport(t) => Some(t),
            CameraError::Shared(s) => s.error().transport(),
            _ => None,
        }
    }
}

fn describe_response(code: ResponseCode) -> String {
    match response_name(code) {
        Some(n) => format!("{n} ({:#06X})", code.0),
        None => format!("{:#06X}", code.0),
    }
}

/// How patient to be.
#[derive(Clone, Debug)]
pub struct CameraOptions {
    /// Tries of an operation answered DeviceBusy before giving up.
    pub busy_retries: u32,
    /// First back-off after DeviceBusy; it doubles up to `busy_backoff_max`.
    pub busy_backoff: Duration,
    /// Longest back-off after DeviceBusy.
    pub busy_backoff_max: Duration,
}

impl Default for CameraOptions {
    fn default() -> Self {
        CameraOptions {
            busy_retries: 30,
            busy_backoff: Duration::from_millis(10),
            busy_backoff_max: Duration::from_millis(200),
        }
    }
}

/// A link with transaction numbering and DeviceBusy retries.
struct Connection {
    link: Link,
    options: CameraOptions,
    next_tid: u32,
}

impl Connection {
    fn tid(&mut self, code: OperationCode) -> u32 {
        // OpenSession uses transaction id 0; the counter then starts at 1.
        if code == OperationCode::OPEN_SESSION {
            self.next_tid = 1;
            return 0;
        }
        let t = self.next_tid;
        self.next_tid = self.next_tid.wrapping_add(1).max(1);
        t
    }

    /// One operation, retrying DeviceBusy with a bounded back-off; the camera's data (a dataset,
    /// at most `MAX_DATASET` bytes) is returned whole.
    async fn call(
        &mut self,
        code: OperationCode,
        params: &[u32],
        data_out: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, CameraError> {
        let mut sized = false;
        let mut buf = Vec::new();
        {
            let (sized, buf) = (&mut sized, &mut buf);
            self.call_streaming(
                code,
                params,
                data_out,
                MAX_DATASET,
                &mut |_| {
                    *sized = true;
                    Ok(())
                },
                &mut |piece| {
                    buf.extend_from_slice(piece);
                    Ok(())
                },
            )
            .await?;
        }
        Ok(sized.then_some(buf))
    }

    /// One operation without data, retrying DeviceBusy quickly (every 5 ms, then every 50 ms,
    /// for up to 10 s), returning the link time just before the attempt that succeeded: what
    /// times a bulb exposure.
    async fn call_timed(
        &mut self,
        code: OperationCode,
        params: &[u32],
        data_out: Option<&[u8]>,
    ) -> Result<Duration, CameraError> {
        let params = Params::new(params).map_err(|_| CameraError::NoData(code))?;
        let start = self.link.now();
        loop {
            let op = Operation {
                code,
                transaction_id: self.tid(code),
                params,
            };
            let sent = self.link.now();
            let (resp, _) = self.link.transact(&op, data_out, MAX_DATASET).await?;
            if resp.code == ResponseCode::OK {
                return Ok(sent);
            }
            let waited = self.link.now().saturating_sub(start);
            if resp.code.is_retryable() && waited < Duration::from_secs(10) {
                let pause = if waited < Duration::from_millis(200) {
                    5
                } else {
                    50
                };
                self.link.sleep(Duration::from_millis(pause)).await;
                continue;
            }
            return Err(CameraError::Response {
                operation: code,
                code: resp.code,
            });
        }
    }

    /// One operation whose data goes to `sink` in pieces, retrying DeviceBusy with a bounded
    /// back-off (but never once data has reached the sink).
    async fn call_streaming(
        &mut self,
        code: OperationCode,
        params: &[u32],
        data_out: Option<&[u8]>,
        max_data: u64,
        on_size: &mut (dyn FnMut(u64) -> Result<(), TransportError> + Send),
        sink: &mut (dyn FnMut(&[u8]) -> Result<(), TransportError> + Send),
    ) -> Result<(), CameraError> {
        let params = Params::new(params).map_err(|_| CameraError::NoData(code))?;
        let mut backoff = self.options.busy_backoff;
        let mut tries = 0;
        loop {
            let op = Operation {
                code,
                transaction_id: self.tid(code),
                params,
            };
            let mut delivered = false;
            let resp = {
                let delivered = &mut delivered;
                let mut counted = |piece: &[u8]| {
                    *delivered |= !piece.is_empty();
                    sink(piece)
                };
                self.link
                    .transact_streaming(&op, data_out, max_data, on_size, &mut counted)
                    .await?
            };
            if resp.code == ResponseCode::OK {
                return Ok(());
            }
            tries += 1;
            // Data already written must not be written again: only an answer without data is
            // retried.
            if resp.code.is_retryable() && !delivered && tries < self.options.busy_retries {
                tracing::debug!(?code, "device busy, retrying in {backoff:?}");
                self.link.sleep(backoff).await;
                backoff = (backoff * 2).min(self.options.busy_backoff_max);
                continue;
            }
            return Err(CameraError::Response {
                operation: code,
                code: resp.code,
            });
        }
    }

    /// One operation sent once, whatever the answer: the camera's response code and its data
    /// (at most `max_data` bytes), for callers with their own policy for DeviceBusy and the
    /// other refusals (the live-view stream paces itself).
    async fn call_once(
        &mut self,
        code: OperationCode,
        params: &[u32],
        max_data: u64,
    ) -> Result<(ResponseCode, Option<Vec<u8>>), CameraError> {
        let params = Params::new(params).map_err(|_| CameraError::NoData(code))?;
        let op = Operation {
            code,
            transaction_id: self.tid(code),
            params,
        };
        let (resp, data) = self.link.transact(&op, None, max_data).await?;
        Ok((resp.code, data))
    }

    async fn data(
        &mut self,
        code: OperationCode,
        params: &[u32],
        data_out: Option<&[u8]>,
    ) -> Result<Vec<u8>, CameraError> {
        self.call(code, params, data_out)
            .await?
            .ok_or(CameraError::NoData(code))
    }

    async fn sdio(&mut self, r: &SdioRequest) -> Result<Option<Vec<u8>>, CameraError> {
        let op = r.operation(0);
        self.call(op.code, op.params.as_slice(), r.data()).await
    }

    /// Sony's handshake; returns the DeviceInfo and the 0x9202 reply.
    async fn handshake(&mut self) -> Result<(DeviceInfo, ExtDeviceInfo), CameraError> {
        match self.call(OperationCode::OPEN_SESSION, &[1], None).await {
            Ok(_) => {}
            Err(CameraError::Response { code, .. })
                if code == ResponseCode::SESSION_ALREADY_OPEN =>
            {
                // A session left open by a host that crashed: close it and open ours.
                self.call(OperationCode::CLOSE_SESSION, &[], None).await?;
                self.call(OperationCode::OPEN_SESSION, &[1], None).await?;
            }
            Err(e) => return Err(e),
        }
        let data = self.data(OperationCode::GET_DEVICE_INFO, &[], None).await?;
        let device_info =
            DeviceInfo::decode_exact(&data).map_err(|source| CameraError::Decode {
                what: "DeviceInfo",
                source,
            })?;
        if !device_info.supports(sonyctl_sony::codes::op::SDIO_CONNECT) {
            return Err(CameraError::NotRemote(format!(
                "{} does not offer Sony's remote-control operations: set its USB Connection (or \
                 network function) to PC Remote",
                device_info.model
            )));
        }
        for phase in [1, 2] {
            match self.sdio(&SdioRequest::Connect { phase }).await {
                Err(CameraError::Response { code, .. })
                    if code == sonyctl_sony::codes::response::AUTHENTICATION_FAILED =>
                {
                    return Err(CameraError::InUse);
                }
                other => other?,
            };
        }
        // Ask for protocol 300; a pre-2020 body answers 200.
        let data = self
            .sdio(&SdioRequest::GetExtDeviceInfo {
                version: SdioVersion::V300,
            })
            .await?
            .ok_or(CameraError::NoData(
                sonyctl_sony::codes::op::SDIO_GET_EXT_DEVICE_INFO,
            ))?;
        let ext_info =
            ExtDeviceInfo::decode_exact(&data).map_err(|source| CameraError::Decode {
                what: "0x9202 reply",
                source,
            })?;
        self.sdio(&SdioRequest::Connect { phase: 3 }).await?;
        Ok((device_info, ext_info))
    }
}

/// An open Sony camera after the SDIO handshake.
pub struct Camera {
    conn: Connection,
    device_info: DeviceInfo,
    ext_info: ExtDeviceInfo,
    /// The last full read and when it was taken (on the link's clock). Shared, so that a
    /// caller keeping the latest read (the camera service's snapshot) holds it without a copy
    /// and tells a new read from the same one by identity.
    cache: Option<(Arc<AllPropInfo>, Duration)>,
    opened: std::time::Instant,
    /// When the handshake finished, on the link's clock.
    opened_on_link: Duration,
}

impl Camera {
    /// Opens the camera on `link` and runs the handshake.
    pub async fn open(link: Link, options: CameraOptions) -> Result<Camera, CameraError> {
        let mut conn = Connection {
            link,
            options,
            next_tid: 0,
        };
        let (device_info, ext_info) = conn.handshake().await?;
        let opened_on_link = conn.link.now();
        Ok(Camera {
            opened_on_link,
            conn,
            device_info,
            ext_info,
            cache: None,
            opened: std::time::Instant::now(),
        })
    }

    /// The camera's DeviceInfo.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.device_info
    }

    /// The protocol version negotiated with 0x9202.
    pub fn protocol(&self) -> SdioVersion {
        self.ext_info.version
    }

    /// The 0x9202 reply (property and control codes).
    pub fn ext_info(&self) -> &ExtDeviceInfo {
        &self.ext_info
    }

    /// Every property, from the cache when no event arrived since it was read and it is younger
    /// than `max_age`; otherwise freshly read. Events are hints (some bodies send none), so the
    /// age bound is the safety net.
    pub async fn cached_properties(
        &mut self,
        max_age: Duration,
    ) -> Result<&AllPropInfo, CameraError> {
        let now = self.conn.link.elapsed_since(self.opened);
        let hinted = !self.conn.link.take_events().is_empty();
        let fresh = matches!(&self.cache, Some((_, at)) if now.saturating_sub(*at) < max_age);
        if hinted || !fresh {
            self.properties().await?;
        }
        self.cache
            .as_ref()
            .map(|(p, _)| p.as_ref())
            .ok_or(CameraError::NoData(
                sonyctl_sony::codes::op::SDIO_GET_ALL_EXT_DEVICE_PROP_INFO,
            ))
    }

    /// The properties as last read, without reading anything or taking the camera's events
    /// (`None` when an event made them stale, or before the first read). What a caller that must
    /// not cost a request gets: the live-view stream's focus state.
    pub fn last_properties(&self) -> Option<&AllPropInfo> {
        self.cache.as_ref().map(|(p, _)| p.as_ref())
    }

    /// The properties as last read, shared ([`last_properties`](Camera::last_properties)
    /// without a copy): each read makes a new `Arc`, so `Arc::ptr_eq` tells whether the
    /// camera was read since.
    pub fn last_properties_shared(&self) -> Option<Arc<AllPropInfo>> {
        self.cache.as_ref().map(|(p, _)| p.clone())
    }

    /// Forgets the cached properties (the next `cached_properties` reads them).
    pub fn invalidate_cache(&mut self) {
        self.cache = None;
    }

    /// Every property, freshly read (0x9209); the cache is refreshed too.
    pub async fn properties(&mut self) -> Result<AllPropInfo, CameraError> {
        let info = self.read_properties().await?;
        let now = self.conn.link.elapsed_since(self.opened);
        self.cache = Some((Arc::new(info.clone()), now));
        Ok(info)
    }

    async fn read_properties(&mut self) -> Result<AllPropInfo, CameraError> {
        let data = self
            .conn
            .sdio(&SdioRequest::GetAllExtDevicePropInfo {
                only_changed: false,
            })
            .await?
            .ok_or(CameraError::NoData(
                sonyctl_sony::codes::op::SDIO_GET_ALL_EXT_DEVICE_PROP_INFO,
            ))?;
        AllPropInfo::decode(&data, self.protocol()).map_err(|source| CameraError::Decode {
            what: "0x9209 reply",
            source,
        })
    }

    /// Connects again after the connection was lost and runs the handshake, trying for up to
    /// `budget` with a growing pause between tries. The camera keeps its settings and the
    /// images waiting in its buffer across this.
    pub async fn reconnect(&mut self, budget: Duration) -> Result<(), CameraError> {
        let start = self.conn.link.now();
        let mut pause = Duration::from_millis(100);
        loop {
            let attempt = match self.conn.link.reconnect().await {
                Ok(()) => self.conn.handshake().await,
                Err(e) => Err(e.into()),
            };
            match attempt {
                Ok((device_info, ext_info)) => {
                    self.device_info = device_info;
                    self.ext_info = ext_info;
                    self.cache = None;
                    self.opened_on_link = self.conn.link.now();
                    return Ok(());
                }
                Err(e) if self.conn.link.now().saturating_sub(start) < budget => {
                    tracing::info!("reconnecting failed ({e}); trying again in {pause:?}");
                    self.conn.link.sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// When the handshake finished, on [`Link::now`]'s clock.
    pub fn opened_at(&self) -> Duration {
        self.opened_on_link
    }

    /// The link to the camera (tests reach the simulated camera through it).
    pub fn link(&self) -> &Link {
        &self.conn.link
    }

    /// The link to the camera, mutable.
    pub fn link_mut(&mut self) -> &mut Link {
        &mut self.conn.link
    }

    /// Ends the session politely.
    pub async fn close(mut self) -> Result<(), CameraError> {
        self.conn
            .call(OperationCode::CLOSE_SESSION, &[], None)
            .await
            .map(|_| ())
    }
}
