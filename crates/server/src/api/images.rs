//! The images this server saved: the list, each file (with ranges), a thumbnail, deletion.
//!
//! Only names in the camera's [`ImageStore`] are served: a name from a request is compared with
//! the names the store holds and never becomes a path, so nothing outside the output folder, and
//! nothing in it the server did not save from this camera, can be reached. The store is shared:
//! capture handlers, the event streams and the download of shots taken on the camera
//! ([`crate::tether`]) all record what was saved here.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sonyctl_camera::Downloaded;
use sonyctl_ptp::ObjectFormatCode;
use sonyctl_sony::values::{format_label, media_type};
use tokio::sync::Semaphore;
use tower_http::services::ServeFile;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{ApiPath, CameraPath};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::thumbnail::{ThumbnailCache, thumbnail};

/// One saved image as the API shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ImageView {
    /// The file name inside the output folder (the id in `…/images/{name}`).
    pub(crate) name: String,
    /// Bytes.
    pub(crate) size: u64,
    /// The file format (`JPEG`, `ARW`, …).
    pub(crate) format: String,
    /// When it was saved, RFC 3339 in UTC.
    pub(crate) time: String,
    /// The exposure settings read just before the shot, as displayed (`iso`: `800`, …).
    #[schema(value_type = Object)]
    pub(crate) settings: serde_json::Map<String, serde_json::Value>,
}

/// One image the server saved: what the API shows and where the file is.
#[derive(Clone, Debug)]
pub(crate) struct ImageRecord {
    pub(crate) view: ImageView,
    pub(crate) path: PathBuf,
    /// The PTP object format (what the file is served as).
    pub(crate) format: ObjectFormatCode,
    /// SHA-256 of the content, lowercase hex (empty when the saver did not hash): the ETag.
    pub(crate) sha256: String,
}

/// Thumbnails made at once per camera (each decodes a JPEG on a blocking thread).
const THUMBNAILS_AT_ONCE: usize = 2;

/// The images this server saved from one camera, oldest first. Recording is idempotent by
/// path: a capture's report, the service's `NewImage` event (heard by the event streams and
/// the tether task) and a download may all record one file.
#[derive(Debug)]
pub(crate) struct ImageStore {
    records: Mutex<Vec<ImageRecord>>,
    /// Thumbnails made, by image name.
    thumbnails: Mutex<ThumbnailCache>,
    thumbnailing: Semaphore,
}

impl Default for ImageStore {
    fn default() -> Self {
        ImageStore {
            records: Mutex::default(),
            thumbnails: Mutex::default(),
            thumbnailing: Semaphore::new(THUMBNAILS_AT_ONCE),
        }
    }
}

impl ImageStore {
    /// Records a saved file (once) and returns its view. A file no longer on disk (deleted
    /// before a late report of it arrived) is not recorded again.
    pub(crate) fn record(&self, d: &Downloaded) -> ImageView {
        let on_disk = d.file.path.is_file();
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = records.iter().find(|r| r.path == d.file.path) {
            return r.view.clone();
        }
        let saved = SystemTime::now();
        let format = ObjectFormatCode(d.file.format);
        let view = ImageView {
            name: d
                .file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size: d.file.size,
            format: format_label(format).to_string(),
            time: rfc3339(saved),
            settings: d
                .settings
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone())))
                .collect(),
        };
        if on_disk {
            records.push(ImageRecord {
                view: view.clone(),
                path: d.file.path.clone(),
                format,
                sha256: d.file.sha256.clone(),
            });
        }
        view
    }

    /// Every record, newest first.
    pub(crate) fn newest_first(&self) -> Vec<ImageRecord> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.iter().rev().cloned().collect()
    }

    /// The record of the file called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<ImageRecord> {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        records.iter().find(|r| r.view.name == name).cloned()
    }

    /// Forgets the file called `name` and its thumbnail; returns its record.
    pub(crate) fn remove(&self, name: &str) -> Option<ImageRecord> {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let i = records.iter().position(|r| r.view.name == name)?;
        let mut thumbnails = self.thumbnails.lock().unwrap_or_else(|p| p.into_inner());
        thumbnails.forget(name);
        Some(records.remove(i))
    }

    /// The thumbnail of `name`, if one was made.
    fn thumbnail(&self, name: &str) -> Option<Bytes> {
        let thumbnails = self.thumbnails.lock().unwrap_or_else(|p| p.into_inner());
        thumbnails.get(name)
    }

    /// Keeps the thumbnail of `name` (the cache is bounded by count and bytes), unless the
    /// image was deleted meanwhile.
    fn keep_thumbnail(&self, name: &str, jpeg: Bytes) {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        if !records.iter().any(|r| r.view.name == name) {
            return;
        }
        let mut thumbnails = self.thumbnails.lock().unwrap_or_else(|p| p.into_inner());
        thumbnails.keep(name, jpeg);
    }
}

/// `t` as RFC 3339 in UTC, to the millisecond.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    sonyctl_ptp::date::rfc3339(since.as_secs(), since.subsec_millis())
}

/// Bytes of a file, for the OpenAPI document: never built, it only names the schema.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub(crate) struct Binary(Vec<u8>);

/// `GET …/images`: every image saved from this camera.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ImageList {
    /// Newest first.
    pub(crate) images: Vec<ImageView>,
}

/// 404 `unknown_image`.
fn unknown_image(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_image",
        format!(
            "no image called {:?} was saved from this camera: GET …/images lists them",
            name.chars().take(80).collect::<String>()
        ),
    )
}

/// The ETag of an image: its SHA-256 (none when the saver did not hash).
fn etag(record: &ImageRecord, suffix: &str) -> Option<HeaderValue> {
    if record.sha256.is_empty() {
        return None;
    }
    HeaderValue::from_str(&format!("\"{}{suffix}\"", record.sha256)).ok()
}

/// True when the request's `If-None-Match` names `etag` (or `*`).
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// 304 with the ETag.
fn not_modified_response(etag: HeaderValue) -> Response {
    (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response()
}

/// `inline; filename="…"` for a name that needs no quoting (the saver's names are plain).
fn disposition(name: &str) -> Option<HeaderValue> {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b' '));
    plain
        .then(|| HeaderValue::from_str(&format!("inline; filename=\"{name}\"")).ok())
        .flatten()
}

/// Every image saved from the camera, newest first.
#[utoipa::path(
    get,
    path = "/cameras/{id}/images",
    tag = "images",
    params(CameraPath),
    responses(
        (status = 200, description = "The images, newest first", body = ImageList),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`", body = ErrorBody),
    )
)]
async fn list_images(
    State(state): State<AppState>,
    ApiPath(CameraPath { id }): ApiPath<CameraPath>,
) -> Result<axum::Json<ImageList>, ApiError> {
    let entry = state.registry.find(&id)?;
    let images = entry
        .images
        .newest_first()
        .into_iter()
        .map(|r| r.view)
        .collect();
    Ok(axum::Json(ImageList { images }))
}

/// One image's file, as saved. A `Range` of one byte range gets 206 with those bytes, or 416
/// `range_not_satisfiable` when it is outside the file or does not parse; several ranges, or a
/// unit other than `bytes`, are ignored and the whole file is sent (RFC 9110, 14.2, lets a
/// server ignore `Range`). `If-None-Match` with the ETag (the file's SHA-256) gets 304.
#[utoipa::path(
    get,
    path = "/cameras/{id}/images/{name}",
    tag = "images",
    params(
        ("id" = String, Path, description = "The camera's id", max_length = 64),
        ("name" = String, Path, description = "The image's name, as listed", max_length = 255),
        ("Range" = Option<String>, Header, description = "One byte range: `bytes=0-1023`, `bytes=1024-` or `bytes=-512`. Anything else is no error: several ranges, or a unit other than `bytes`, are ignored and the whole file is sent; a byte range that does not parse is 416", example = "bytes=0-1023"),
    ),
    responses(
        (status = 200, description = "The file, as its format's media type (`values::media_type`); also for several ranges, or a unit other than `bytes`", content((Binary = "image/jpeg"), (Binary = "image/x-sony-arw"), (Binary = "image/heif"), (Binary = "video/mp4"), (Binary = "application/octet-stream"))),
        (status = 206, description = "The range asked for; `Content-Range` says where it lies", content((Binary = "image/jpeg"), (Binary = "image/x-sony-arw"), (Binary = "image/heif"), (Binary = "video/mp4"), (Binary = "application/octet-stream"))),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_image`", body = ErrorBody),
        (status = 416, description = "`range_not_satisfiable`: the byte range is outside the file, or does not parse; `Content-Range: bytes */SIZE` gives the file's size", body = ErrorBody),
        (status = 500, description = "`internal`: the file cannot be read", body = ErrorBody),
    )
)]
async fn get_image(
    State(state): State<AppState>,
    ApiPath((id, name)): ApiPath<(String, String)>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let entry = state.registry.find(&id)?;
    let record = entry
        .images
        .get(&name)
        .ok_or_else(|| unknown_image(&name))?;
    let etag = etag(&record, "");
    if let Some(etag) = &etag {
        if not_modified(request.headers(), etag) {
            return Ok(not_modified_response(etag.clone()));
        }
    }
    let range = one_byte_range(request.headers());
    match &range {
        Some(r) => {
            request.headers_mut().insert(header::RANGE, r.clone());
        }
        None => {
            request.headers_mut().remove(header::RANGE);
        }
    }
    let media: mime::Mime = media_type(record.format)
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let response = ServeFile::new_with_mime(&record.path, &media)
        .try_call(request)
        .await
        .map_err(|e| ApiError::internal(format!("reading {name}: {e}")))?;
    if response.status() == StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(range_not_satisfiable(response.headers(), range.as_ref()));
    }
    if response.status() == StatusCode::NOT_FOUND {
        if record.path.exists() {
            // ServeFile says so of a file it may not read too.
            return Err(ApiError::internal(format!("{name} cannot be read")));
        }
        // Removed from the output folder behind the server's back.
        entry.images.remove(&name);
        return Err(unknown_image(&name));
    }
    let mut response = response.map(Body::new);
    let headers = response.headers_mut();
    if let Some(etag) = etag {
        headers.insert(header::ETAG, etag);
    }
    if let Some(d) = disposition(&name) {
        headers.insert(header::CONTENT_DISPOSITION, d);
    }
    // A name can be used again after a deletion: ask before using a cached copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The request's `Range` as `ServeFile` is to see it, `bytes=` in lower case: `None` (the whole
/// file is sent) unless it is one header of the unit `bytes` (case aside) with no `,`. Several
/// ranges would be a `multipart/byteranges` answer, which is not made: RFC 9110 (14.2) lets a
/// server ignore `Range`, and it must ignore a unit it does not know.
fn one_byte_range(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut ranges = headers.get_all(header::RANGE).iter();
    let value = ranges.next()?.to_str().ok()?;
    if ranges.next().is_some() {
        return None;
    }
    let (unit, spec) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return None;
    }
    HeaderValue::from_str(&format!("bytes={}", spec.trim())).ok()
}

/// 416 `range_not_satisfiable`, in the one error shape, with `ServeFile`'s `Content-Range`
/// (`bytes */SIZE`).
fn range_not_satisfiable(served: &HeaderMap, range: Option<&HeaderValue>) -> Response {
    let asked = range.and_then(|r| r.to_str().ok()).unwrap_or_default();
    let mut response = ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
        format!(
            "the range {:?} is not one inside the file (`Content-Range` gives its size)",
            asked.chars().take(80).collect::<String>()
        ),
    )
    .into_response();
    if let Some(size) = served.get(header::CONTENT_RANGE) {
        response
            .headers_mut()
            .insert(header::CONTENT_RANGE, size.clone());
    }
    response
}

/// Deletes an image: its file and its record.
#[utoipa::path(
    delete,
    path = "/cameras/{id}/images/{name}",
    tag = "images",
    params(
        ("id" = String, Path, description = "The camera's id", max_length = 64),
        ("name" = String, Path, description = "The image's name, as listed", max_length = 255),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_image`", body = ErrorBody),
        (status = 500, description = "`internal`: the file could not be removed", body = ErrorBody),
    )
)]
async fn delete_image(
    State(state): State<AppState>,
    ApiPath((id, name)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let entry = state.registry.find(&id)?;
    let record = entry
        .images
        .get(&name)
        .ok_or_else(|| unknown_image(&name))?;
    match tokio::fs::remove_file(&record.path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ApiError::internal(format!("removing {name}: {e}"))),
    }
    entry.images.remove(&name);
    Ok(StatusCode::NO_CONTENT)
}

/// A small JPEG of the image, within 320 × 320 pixels, made from a JPEG (decoded scaled down),
/// or from the JPEG preview embedded in a RAW (ARW) file, and kept for the next request. Other
/// formats, and RAW files without a readable preview, have none: 404 `no_thumbnail`.
#[utoipa::path(
    get,
    path = "/cameras/{id}/images/{name}/thumbnail",
    tag = "images",
    params(
        ("id" = String, Path, description = "The camera's id", max_length = 64),
        ("name" = String, Path, description = "The image's name, as listed", max_length = 255),
    ),
    responses(
        (status = 200, description = "The thumbnail", content_type = "image/jpeg", body = Binary),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "`invalid_request`: a path that does not decode", body = ErrorBody),
        (status = 404, description = "`unknown_camera`, `unknown_image`, `no_thumbnail` (neither a JPEG nor a RAW with a preview, or one that does not decode)", body = ErrorBody),
        (status = 500, description = "`internal`: the file cannot be read, or the thumbnail could not be made", body = ErrorBody),
    )
)]
async fn image_thumbnail(
    State(state): State<AppState>,
    ApiPath((id, name)): ApiPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let entry = state.registry.find(&id)?;
    let record = entry
        .images
        .get(&name)
        .ok_or_else(|| unknown_image(&name))?;
    let source = match media_type(record.format) {
        m if m == mime::IMAGE_JPEG.essence_str() => Source::Jpeg,
        m if m == media_type(sonyctl_sony::codes::format::ARW) => Source::RawPreview,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_thumbnail",
                format!(
                    "{name} is {}: thumbnails are made from JPEGs and RAW previews",
                    record.view.format
                ),
            ));
        }
    };
    let etag = etag(&record, "-thumbnail");
    if let Some(etag) = &etag {
        if not_modified(&headers, etag) {
            return Ok(not_modified_response(etag.clone()));
        }
    }
    let jpeg = match entry.images.thumbnail(&name) {
        Some(jpeg) => jpeg,
        None => {
            // Decoding is CPU work: a few at a time, on blocking threads.
            let _turn = entry
                .images
                .thumbnailing
                .acquire()
                .await
                .map_err(|_| ApiError::internal("thumbnails are no longer made"))?;
            match entry.images.thumbnail(&name) {
                Some(jpeg) => jpeg,
                None => {
                    let jpeg = make_thumbnail(record.path.clone(), name.clone(), source).await?;
                    entry.images.keep_thumbnail(&name, jpeg.clone());
                    jpeg
                }
            }
        }
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        jpeg,
    )
        .into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// The most of a RAW file read to find where its preview lies: the TIFF structures come first
/// in ARW files, and the preview usually right after them.
const RAW_HEAD: u64 = 1 << 20;

/// The largest preview read (real ones are a few hundred kilobytes to a few megabytes).
const MAX_RAW_PREVIEW: u64 = 16 << 20;

/// What a thumbnail is made from.
#[derive(Clone, Copy)]
enum Source {
    /// The file is a JPEG.
    Jpeg,
    /// The JPEG preview inside a RAW file.
    RawPreview,
}

/// Why a RAW file gave no preview.
#[derive(Debug)]
enum PreviewError {
    /// Reading the file failed.
    Read(std::io::Error),
    /// The file has no usable preview: why, for people.
    None(String),
}

/// The JPEG preview inside the RAW file `file`: where it lies, from the file's first
/// [`RAW_HEAD`] bytes, then its own range, wherever that is (not only what the head holds), so
/// a late preview is found and a short file is named as such; at most [`MAX_RAW_PREVIEW`] bytes.
fn raw_preview(mut file: impl std::io::Read + std::io::Seek) -> Result<Vec<u8>, PreviewError> {
    use std::io::Read as _;
    let mut head = Vec::new();
    (&mut file)
        .take(RAW_HEAD)
        .read_to_end(&mut head)
        .map_err(PreviewError::Read)?;
    let place = sonyctl_raw::preview_location(&head)
        .map_err(|e| PreviewError::None(e.to_string()))?
        .ok_or_else(|| PreviewError::None("the RAW file has no preview".into()))?;
    let len = place.end - place.start;
    if len > MAX_RAW_PREVIEW {
        return Err(PreviewError::None(format!(
            "its preview is {len} bytes (at most {MAX_RAW_PREVIEW} are read)"
        )));
    }
    file.seek(std::io::SeekFrom::Start(place.start))
        .map_err(PreviewError::Read)?;
    let mut preview = Vec::new();
    file.take(len)
        .read_to_end(&mut preview)
        .map_err(PreviewError::Read)?;
    if (preview.len() as u64) < len {
        return Err(PreviewError::None(format!(
            "the file ends inside its preview ({len} bytes at {})",
            place.start
        )));
    }
    Ok(preview)
}

/// The thumbnail of the image at `path`, made on a blocking thread.
async fn make_thumbnail(path: PathBuf, name: String, source: Source) -> Result<Bytes, ApiError> {
    let made = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                unknown_image(&name)
            } else {
                ApiError::internal(format!("reading {name}: {e}"))
            }
        })?;
        let no_thumbnail = |why: String| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_thumbnail",
                format!("no thumbnail of {name}: {why}"),
            )
        };
        match source {
            Source::Jpeg => {
                thumbnail(std::io::BufReader::new(file)).map_err(|e| no_thumbnail(e.to_string()))
            }
            Source::RawPreview => match raw_preview(file) {
                Ok(preview) => {
                    thumbnail(preview.as_slice()).map_err(|e| no_thumbnail(e.to_string()))
                }
                Err(PreviewError::Read(e)) => {
                    Err(ApiError::internal(format!("reading {name}: {e}")))
                }
                Err(PreviewError::None(why)) => Err(no_thumbnail(why)),
            },
        }
    })
    .await
    .map_err(|e| ApiError::internal(format!("making a thumbnail: {e}")))??;
    Ok(Bytes::from(made))
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_images))
        .routes(routes!(get_image, delete_image))
        .routes(routes!(image_thumbnail))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A small ARW whose preview is `jpeg`, and where IFD0 keeps the preview's offset
    /// (JPEGInterchangeFormat, 0x0201) and length (0x0202).
    fn arw_with_preview(jpeg: &[u8]) -> (Vec<u8>, usize, usize) {
        use sonyctl_raw::{Area, ArwSpec, RawKind};
        let spec = ArwSpec {
            make: "SONY".into(),
            model: "ILCE-6000".into(),
            description: String::new(),
            software: "sonyctl".into(),
            date_time: "2026:01:01 12:00:00".into(),
            kind: RawKind::Compressed,
            bits_per_sample: 12,
            raw_width: 64,
            raw_height: 4,
            active: Area {
                x: 0,
                y: 0,
                width: 64,
                height: 4,
            },
            black_level: 512,
            white_level: 16383,
            wb_rggb: [2400, 1024, 1024, 1700],
            tone_curve: [8000, 10400, 12900, 14100],
            preview: jpeg.to_vec(),
            padding: 0,
        };
        let file = sonyctl_raw::encode(spec, &[700; 256]).unwrap();
        // IFD0's entries: their value fields, by tag.
        let u16_at = |at: usize| u16::from_le_bytes([file[at], file[at + 1]]) as usize;
        let u32_at = |at: usize| {
            u32::from_le_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]) as usize
        };
        let ifd0 = u32_at(4);
        let value = |tag: usize| {
            (0..u16_at(ifd0))
                .map(|i| ifd0 + 2 + 12 * i)
                .find(|&e| u16_at(e) == tag)
                .map(|e| e + 8)
                .unwrap()
        };
        let (offset, length) = (value(0x0201), value(0x0202));
        (file, offset, length)
    }

    /// A JPEG of `w` × `h` grey pixels.
    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 80)
            .encode(
                &vec![128u8; usize::from(w) * usize::from(h) * 3],
                w,
                h,
                jpeg_encoder::ColorType::Rgb,
            )
            .unwrap();
        out
    }

    #[test]
    fn a_raw_preview_is_read_from_its_own_range_wherever_it_lies() {
        let preview = jpeg(64, 48);
        let (mut file, offset, _) = arw_with_preview(&preview);
        assert_eq!(raw_preview(std::io::Cursor::new(&file)).unwrap(), preview);
        // Moved past the head that is read first (1 MiB): still found.
        let late = 3 << 20;
        file.resize(late, 0);
        file.extend_from_slice(&preview);
        file[offset..offset + 4].copy_from_slice(&(late as u32).to_le_bytes());
        let found = raw_preview(std::io::Cursor::new(&file)).unwrap();
        assert_eq!(found, preview);
        assert!(thumbnail(found.as_slice()).is_ok());
        // The file cut inside it: said so.
        file.truncate(late + preview.len() / 2);
        let Err(PreviewError::None(why)) = raw_preview(std::io::Cursor::new(&file)) else {
            panic!("a cut preview is no preview");
        };
        assert!(why.contains("ends inside its preview"), "{why}");
    }

    #[test]
    fn a_raw_preview_beyond_the_bound_is_not_read() {
        let (mut file, _, length) = arw_with_preview(&jpeg(16, 16));
        let huge = (MAX_RAW_PREVIEW + 1) as u32;
        file[length..length + 4].copy_from_slice(&huge.to_le_bytes());
        // Nothing that large is read, whatever the file holds.
        match raw_preview(std::io::Cursor::new(&file)) {
            Err(PreviewError::None(why)) => assert!(why.contains("at most"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_one_byte_range_is_served_as_a_range() {
        let range = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(header::RANGE, HeaderValue::from_str(v).unwrap());
            }
            one_byte_range(&h).map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(range(&["bytes=0-99"]).as_deref(), Some("bytes=0-99"));
        assert_eq!(range(&["Bytes = -5"]).as_deref(), Some("bytes=-5"));
        // Passed on to be refused (416) when it does not parse.
        assert_eq!(range(&["bytes=x"]).as_deref(), Some("bytes=x"));
        for ignored in [
            &["bytes=0-1,4-5"][..],
            &["bytes=0-1,"],
            &["items=0-1"],
            &["0-1"],
            &["bytes=0-1", "bytes=2-3"],
            &[],
        ] {
            assert_eq!(range(ignored), None, "{ignored:?}");
        }
    }
}
