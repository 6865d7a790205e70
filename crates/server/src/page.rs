//! `GET /`: a minimal page listing the cameras with links to their live view and to the
//! OpenAPI document (the web page is built on the same API later).

use axum::extract::State;
use axum::response::Html;

use crate::state::AppState;

/// Escapes text for HTML (camera strings are untrusted).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page.
pub(crate) async fn index(State(state): State<AppState>) -> Html<String> {
    let mut rows = String::new();
    for c in state.registry.list() {
        let id = escape(&c.id);
        rows.push_str(&format!(
            "<li><b>{id}</b> ({}, {}) — <a href=\"/api/v1/cameras/{id}/liveview.mjpg\">live view</a> · \
             <a href=\"/api/v1/cameras/{id}\">status</a></li>\n",
            escape(&c.model),
            if c.connected() { "connected" } else { "disconnected" },
        ));
    }
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>sonyctl</title></head><body><h1>sonyctl</h1><ul>\n{rows}</ul>\
         <p><a href=\"/api/v1/openapi.json\">API (OpenAPI 3)</a></p></body></html>\n"
    ))
}
