//! Live view over HTTP: a motion-JPEG stream (`liveview.mjpg`), the newest frame
//! (`liveview.jpg`) and what the camera draws over it (`liveview/info`).
//!
//! Every request is its own [`LiveViewSubscription`]: the service runs one camera stream for
//! all of them (started by the first, stopped after the last) and hands each the newest frame,
//! so a slow client skips frames without slowing the camera or anyone else. Frames are the
//! service's; nothing here decodes a live-view dataset.
//!
//! The MJPEG stream (`multipart/x-mixed-replace`) writes the boundary right after each frame,
//! so that a browser shows a frame as soon as it arrives instead of when the next one begins.
//! It opens with the newest frame the service has, at once (a client joining during an
//! exposure or while live view is refused has a picture). While no new frame comes (an
//! exposure, live view refused, a lost connection), or none is due yet under `?fps=`, it sends
//! the newest again about once a second with the same `X-Frame-Number`, which keeps the
//! connection and the picture alive; those repeats never hold back a new frame. `?fps=` spaces
//! this client's new frames (counted from when each was due, so the rate is the one asked for)
//! and lowers the camera's request rate when every client asks for less. A stream holds one of
//! the server's live-view permits, outlives live-view failures (they are logged and it waits
//! for frames), and ends when the server shuts down or the camera service ends.
//!
//! `liveview.jpg` and `liveview/info` answer the newest frame at once while the stream runs for
//! someone else (also during an exposure: the frame from before it); when nobody watched, the
//! frame left from then may be old, so they wait for a new one, and answer the old one (its
//! age in `X-Frame-Age-Ms`) only when none comes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sonyctl_service::{LiveFrame, LiveViewOptions, LiveViewSubscription, ServiceError};
use sonyctl_sony::live_view::{FrameGroupKind, LIVE_VIEW_HEIGHT, LIVE_VIEW_WIDTH};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::events::too_many_streams;
use crate::api::images::Binary;
use crate::api::{ApiPath, ApiQuery, CameraPath};
use crate::error::{ApiError, ErrorBody};
use crate::registry::CameraEntry;
use crate::state::AppState;

/// The multipart boundary (a literal, for `concat!`).
macro_rules! boundary {
    () => {
        "sonyctl-live-view"
    };
}

/// The stream's `Content-Type`.
const STREAM_TYPE: &str = concat!("multipart/x-mixed-replace; boundary=", boundary!());
/// What opens the first part.
const FIRST_DELIMITER: &[u8] = concat!("--", boundary!(), "\r\n").as_bytes();
/// What ends each part and opens the next, written with the part.
const DELIMITER: &[u8] = concat!("\r\n--", boundary!(), "\r\n").as_bytes();

/// The newest frame goes again after this long without a new one.
const RESEND_AFTER: Duration = Duration::from_secs(1);
/// How long `liveview.jpg` and `liveview/info` wait for a frame.
const FRAME_WAIT: Duration = Duration::from_secs(5);
/// The range of `?fps=`.
const MIN_CLIENT_FPS: f64 = 0.01;
const MAX_CLIENT_FPS: f64 = 120.0;

/// `X-Frame-Number`: the frame's number in the camera's stream (1, 2, …; a frame sent again
/// keeps its number).
static FRAME_NUMBER: HeaderName = HeaderName::from_static("x-frame-number");
/// `X-Frame-Age-Ms`: how long ago, in milliseconds, the service had the frame.
static FRAME_AGE: HeaderName = HeaderName::from_static("x-frame-age-ms");

/// `?fps=`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// The most new frames a second this client is sent (0.01 to 120; the newest is still
    /// sent again about once a second while no new one is due); without it, every frame the
    /// camera makes.
    #[param(minimum = 0.01, maximum = 120.0)]
    fps: Option<f64>,
}

/// The JPEG of a frame as the body of a part, without a copy: every client's parts share the
/// frame's bytes.
struct Jpeg(Arc<LiveFrame>);

impl AsRef<[u8]> for Jpeg {
    fn as_ref(&self) -> &[u8] {
        &self.0.jpeg
    }
}

/// One client's MJPEG stream.
struct Mjpeg {
    sub: LiveViewSubscription,
    shutdown: watch::Receiver<bool>,
    /// The least time between two new frames (`?fps=`).
    spacing: Option<Duration>,
    /// The newest frame sent.
    newest: Option<Arc<LiveFrame>>,
    /// When the last new frame was due (or went out, when it came late): the next is due
    /// `spacing` after it. `None` before the first, which goes at once.
    paced_from: Option<Instant>,
    /// When the last part went out, new or again.
    sent_at: Instant,
    /// The pieces of the part being sent.
    pieces: VecDeque<Bytes>,
    /// True once the first part's opening delimiter was sent.
    opened: bool,
    _permit: OwnedSemaphorePermit,
}

impl Mjpeg {
    /// The next piece of the body; `None` ends it.
    async fn next_piece(&mut self) -> Option<Bytes> {
        if self.pieces.is_empty() {
            let frame = self.next_frame().await?;
            self.queue_part(frame);
        }
        self.pieces.pop_front()
    }

    /// A new frame once one is due, or the newest again when no part went out for
    /// [`RESEND_AFTER`]. A repeat never moves when the next new frame is due: that is counted
    /// from the last new one only.
    async fn next_frame(&mut self) -> Option<Arc<LiveFrame>> {
        loop {
            let resend_at = self.newest.as_ref().map(|_| self.sent_at + RESEND_AFTER);
            let due = self.paced_from.zip(self.spacing).map(|(t, s)| t + s);
            let Mjpeg {
                sub,
                shutdown,
                newest,
                spacing,
                paced_from,
                ..
            } = self;
            let new_frame = async {
                if let Some(t) = due {
                    tokio::time::sleep_until(t).await;
                }
                sub.next().await
            };
            let resend = async {
                match resend_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => return None,
                frame = new_frame => match frame {
                    Ok(f) => {
                        *newest = Some(f.clone());
                        *paced_from = Some(next_pace(due, *spacing, Instant::now()));
                        return Some(f);
                    }
                    // The service keeps trying, less and less often; the client keeps the
                    // newest frame, sent again each second.
                    Err(ServiceError::LiveView(e)) => tracing::debug!("live view over HTTP: {e}"),
                    Err(_) => return None,
                },
                () = resend => {
                    if let Some(f) = newest.clone() {
                        return Some(f);
                    }
                }
            }
        }
    }

    /// Opens the stream with the newest frame the service has, if any. A frame of the
    /// stream's current run counts as this client's first new frame; one left from an earlier
    /// run (nobody watched) does not, so the first new frame follows it at once.
    fn open_with_newest(&mut self) {
        if let Some(n) = self.sub.newest() {
            if n.watched {
                self.paced_from = Some(Instant::now());
            }
            self.newest = Some(n.frame.clone());
            self.queue_part(n.frame);
        }
    }

    /// Queues the part of `frame`: its headers, its JPEG and the delimiter after it.
    fn queue_part(&mut self, frame: Arc<LiveFrame>) {
        let mut head = Vec::with_capacity(FIRST_DELIMITER.len() + 96);
        if !self.opened {
            head.extend_from_slice(FIRST_DELIMITER);
            self.opened = true;
        }
        head.extend_from_slice(
            format!(
                "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame-Number: {}\r\n\r\n",
                frame.jpeg.len(),
                frame.sequence
            )
            .as_bytes(),
        );
        self.pieces.push_back(Bytes::from(head));
        self.pieces.push_back(Bytes::from_owner(Jpeg(frame)));
        self.pieces.push_back(Bytes::from_static(DELIMITER));
        self.sent_at = Instant::now();
    }
}

/// The camera's live view as motion JPEG (`multipart/x-mixed-replace`), for an `<img>` element
/// or a player.
///
/// Each part has `Content-Type: image/jpeg`, `Content-Length` and `X-Frame-Number`; the
/// boundary follows each part at once. The newest frame the server has goes first, at once.
/// While no new frame comes, or none is due yet under `fps`, the newest is sent again about
/// once a second with the same number.
#[utoipa::path(
    get,
    path = "/cameras/{id}/liveview.mjpg",
    tag = "live view",
    params(CameraPath, StreamQuery),
    responses(
        (status = 200, description = "The stream", content_type = "multipart/x-mixed-replace", body = Binary),
        (status = 400, description = "`invalid_request`: `fps` out of range, or a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`too_many_streams`: every live-view permit is taken", body = ErrorBody),
    )
)]
async fn live_view_stream(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Response, ApiError> {
    let spacing = match query.fps {
        None => None,
        Some(fps) if (MIN_CLIENT_FPS..=MAX_CLIENT_FPS).contains(&fps) => {
            Some(Duration::from_secs_f64(1.0 / fps))
        }
        Some(fps) => {
            return Err(ApiError::invalid(format!(
                "fps {fps} is outside {MIN_CLIENT_FPS} to {MAX_CLIENT_FPS}"
            )));
        }
    };
    let entry = state.registry.find(&path.id)?;
    let permit = state
        .live_streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| too_many_streams("live-view", state.config.limits.live_streams))?;
    let sub = entry
        .service
        .live_view(LiveViewOptions { max_fps: query.fps });
    let mut stream = Mjpeg {
        sub,
        shutdown: state.shutdown.clone(),
        spacing,
        newest: None,
        paced_from: None,
        sent_at: Instant::now(),
        pieces: VecDeque::new(),
        opened: false,
        _permit: permit,
    };
    stream.open_with_newest();
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let piece = s.next_piece().await?;
        Some((Ok::<_, Infallible>(piece), s))
    });
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(STREAM_TYPE)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-cache, no-store"),
            ),
            (
                HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// 503 `live_view_unavailable`.
fn unavailable(message: String) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "live_view_unavailable",
        message,
    )
}

/// Where the pacing of a new frame sent at `now` counts from: when it was `due`, so that the
/// client gets the rate it asked for, unless it came a whole spacing late or more (an exposure
/// held it): then from `now`.
fn next_pace(due: Option<Instant>, spacing: Option<Duration>, now: Instant) -> Instant {
    match (due, spacing) {
        (Some(due), Some(s)) if now.saturating_duration_since(due) < s => due,
        _ => now,
    }
}

/// A frame and how long ago the service had it.
struct Aged {
    frame: Arc<LiveFrame>,
    age: Duration,
}

impl Aged {
    /// `X-Frame-Age-Ms`.
    fn age_ms(&self) -> u64 {
        u64::try_from(self.age.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The newest frame of the camera's live view. While the stream runs for someone else, the
/// newest it has, at once (during an exposure, the frame from before it). Otherwise the stream
/// starts, and the next frame is waited for up to [`FRAME_WAIT`]; when none comes (an exposure,
/// live view refused), the frame left from when somebody last watched, if there is one.
async fn newest_frame(entry: &CameraEntry) -> Result<Aged, ApiError> {
    if !entry.connected() {
        return Err(ApiError::disconnected(
            "the camera is not connected; live view resumes when it is back",
        ));
    }
    let mut sub = entry.service.live_view(LiveViewOptions::default());
    let left = match sub.newest() {
        Some(n) if n.watched => {
            return Ok(Aged {
                frame: n.frame,
                age: n.age,
            });
        }
        left => left,
    };
    let waited = Instant::now();
    let failure = match tokio::time::timeout(FRAME_WAIT, sub.next()).await {
        Ok(Ok(frame)) => {
            return Ok(Aged {
                frame,
                age: Duration::ZERO,
            });
        }
        Ok(Err(ServiceError::LiveView(e))) => format!("live view fails: {e}"),
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => format!(
            "no live-view frame came within {} s (an exposure or a download in progress, or \
             live view is off on the camera)",
            FRAME_WAIT.as_secs()
        ),
    };
    match left {
        Some(n) => Ok(Aged {
            frame: n.frame,
            age: n.age + waited.elapsed(),
        }),
        None => Err(unavailable(failure)),
    }
}

/// The newest live-view frame as a JPEG.
///
/// While someone watches the live view, the newest frame at once (during an exposure, the
/// frame from before it). Otherwise the next one the camera makes, waiting up to 5 s; when none
/// comes, the frame left from when somebody last watched, if there is one. `X-Frame-Number` is
/// the frame's number, `X-Frame-Age-Ms` how long ago, in milliseconds, the server had it.
#[utoipa::path(
    get,
    path = "/cameras/{id}/liveview.jpg",
    tag = "live view",
    params(CameraPath),
    responses(
        (status = 200, description = "The frame; `X-Frame-Number` is its number, `X-Frame-Age-Ms` its age in milliseconds", content_type = "image/jpeg", body = Binary,
            headers(
                ("X-Frame-Number" = u64, description = "The frame's number in the camera's stream"),
                ("X-Frame-Age-Ms" = u64, description = "How long ago, in milliseconds, the server had the frame"),
            )),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`live_view_unavailable`: no frame yet and none within 5 s, or live view fails before the first; `camera_disconnected`", body = ErrorBody),
    )
)]
async fn live_view_frame(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
) -> Result<Response, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let newest = newest_frame(&entry).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                FRAME_NUMBER.clone(),
                HeaderValue::from(newest.frame.sequence),
            ),
            (FRAME_AGE.clone(), HeaderValue::from(newest.age_ms())),
        ],
        Bytes::from_owner(Jpeg(newest.frame)),
    )
        .into_response())
}

/// One focal frame drawn over the live view, in the 640×480 live-view space.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct AfFrameView {
    /// `focus`, `face`, `tracking` or `framing`.
    #[schema(value_type = String)]
    group: FrameGroupKind,
    /// Left edge.
    x: f32,
    /// Top edge.
    y: f32,
    /// Width.
    width: f32,
    /// Height.
    height: f32,
    /// The frame's type as the camera sent it (undocumented values).
    frame_type: u16,
    /// The frame's state as the camera sent it (undocumented values; `focus` says whether
    /// the camera is in focus).
    state: u16,
}

/// What the camera draws over a live-view frame.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct LiveViewInfo {
    /// The frame's number (as `X-Frame-Number`).
    frame: u64,
    /// How long ago, in milliseconds, the server had the frame (as `X-Frame-Age-Ms`).
    age_ms: u64,
    /// The live-view space's width (640): the frames' coordinates are in it.
    width: u32,
    /// The live-view space's height (480).
    height: u32,
    /// The focus state (`Focused`, `Not focused`, …) as the camera last reported it, or null.
    focus: Option<String>,
    /// Every focal frame (focus, face, tracking and framing frames).
    af_frames: Vec<AfFrameView>,
}

/// The focal frames and focus state of the newest live-view frame (the frame
/// `liveview.jpg` answers).
#[utoipa::path(
    get,
    path = "/cameras/{id}/liveview/info",
    tag = "live view",
    params(CameraPath),
    responses(
        (status = 200, description = "The frame's focal frames and focus", body = LiveViewInfo),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
        (status = 503, description = "`live_view_unavailable`: no frame yet and none within 5 s, or live view fails before the first; `camera_disconnected`", body = ErrorBody),
    )
)]
async fn live_view_info(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CameraPath>,
) -> Result<axum::Json<LiveViewInfo>, ApiError> {
    let entry = state.registry.find(&path.id)?;
    let newest = newest_frame(&entry).await?;
    let age_ms = newest.age_ms();
    let frame = newest.frame;
    Ok(axum::Json(LiveViewInfo {
        frame: frame.sequence,
        age_ms,
        width: LIVE_VIEW_WIDTH,
        height: LIVE_VIEW_HEIGHT,
        focus: frame.focus.map(|f| f.to_string()),
        af_frames: frame
            .af_frames
            .iter()
            .map(|f| AfFrameView {
                group: f.group,
                x: f.rect.x,
                y: f.rect.y,
                width: f.rect.w,
                height: f.rect.h,
                frame_type: f.frame_type,
                state: f.state,
            })
            .collect(),
    }))
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live_view_stream))
        .routes(routes!(live_view_frame))
        .routes(routes!(live_view_info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiters_name_the_boundary_of_the_content_type() {
        let boundary = STREAM_TYPE.split("boundary=").nth(1).unwrap_or_default();
        assert!(!boundary.is_empty());
        assert_eq!(FIRST_DELIMITER, format!("--{boundary}\r\n").as_bytes());
        assert_eq!(DELIMITER, format!("\r\n--{boundary}\r\n").as_bytes());
    }

    /// The next frame is due a spacing after the last was due, so repeats and a slow write do
    /// not lower the rate; after a frame that came a whole spacing late, from when it went.
    #[test]
    fn pacing_counts_from_when_a_frame_was_due() {
        let t0 = Instant::now();
        let s = Duration::from_secs(2);
        let ms = Duration::from_millis;
        assert_eq!(next_pace(None, Some(s), t0), t0);
        assert_eq!(next_pace(Some(t0), None, t0 + ms(5)), t0 + ms(5));
        assert_eq!(next_pace(Some(t0), Some(s), t0 + ms(30)), t0);
        assert_eq!(next_pace(Some(t0), Some(s), t0 + ms(1999)), t0);
        assert_eq!(next_pace(Some(t0), Some(s), t0 + s), t0 + s);
        assert_eq!(next_pace(Some(t0), Some(s), t0 + ms(9000)), t0 + ms(9000));
    }
}
