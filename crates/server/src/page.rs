//! The web page: `GET /` and `GET /assets/{path}`, files embedded in the binary at build time
//! (`build.rs` lists every file under `crates/server/web/`), so nothing is read from disk or
//! fetched from elsewhere at run time. The page is a client of the public API like any other.
//!
//! Every answer carries a Content-Security-Policy that lets the page load scripts, styles,
//! images and connections from this server only (`blob:` and `data:` images for frames and
//! thumbnails drawn in the page), no inline script or style, and no framing; an `ETag` (a
//! hash of the file) with `Cache-Control: no-cache`, so a browser revalidates and gets a 304
//! until the binary changes.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The policy every page answer carries.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; font-src 'self'; \
    manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file, ready to answer.
struct Asset {
    /// Its path under `web/`.
    name: &'static str,
    /// Its bytes.
    bytes: &'static [u8],
    /// `Content-Type`, from the file's extension.
    content_type: &'static str,
    /// `ETag`: a strong tag from the file's hash.
    etag: HeaderValue,
}

/// The embedded files, tagged once.
static TAGGED: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|&(name, bytes)| {
            let hash = Sha256::digest(bytes);
            let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
            Asset {
                name,
                bytes,
                content_type: content_type(name),
                etag: HeaderValue::from_str(&format!("\"{hex}\""))
                    .unwrap_or(HeaderValue::from_static("\"0\"")),
            }
        })
        .collect()
});

/// The `Content-Type` of an embedded file, from its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("woff2") => "font/woff2",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The embedded file `name`, if there is one.
fn find(name: &str) -> Option<&'static Asset> {
    TAGGED.iter().find(|a| a.name == name)
}

/// Answers `asset`: 304 when the request's `If-None-Match` names its tag, else the file.
fn answer(asset: &'static Asset, request: &HeaderMap) -> Response {
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t.as_bytes() == asset.etag.as_bytes());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, asset.etag.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// `GET /`: the page.
pub(crate) async fn index(request: HeaderMap) -> Result<Response, ApiError> {
    let asset = find("index.html").ok_or_else(|| missing("/"))?;
    Ok(answer(asset, &request))
}

/// `GET /assets/{path}`: a file of the page.
pub(crate) async fn asset(
    Path(path): Path<String>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    // `index.html` is the page itself, at `/`.
    match find(&path).filter(|a| a.name != "index.html") {
        Some(asset) => Ok(answer(asset, &request)),
        None => Err(missing(&format!("/assets/{path}"))),
    }
}

/// 404 `not_found` for a page file that is not embedded.
fn missing(path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("the page has no file at {path}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_type_and_a_tag() {
        assert!(find("index.html").is_some(), "web/index.html is embedded");
        for a in TAGGED.iter() {
            assert_ne!(a.content_type, "application/octet-stream", "{}", a.name);
            assert_eq!(a.etag.len(), 26, "{}", a.name);
        }
    }

    #[test]
    fn if_none_match_answers_304_only_for_the_files_tag() {
        let a = find("index.html").unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(answer(a, &h).status(), StatusCode::OK);
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(answer(a, &h).status(), StatusCode::OK);
        h.insert(header::IF_NONE_MATCH, a.etag.clone());
        let r = answer(a, &h);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[header::ETAG], a.etag);
    }
}
