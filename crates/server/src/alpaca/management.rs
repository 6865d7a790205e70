//! The management API (`/management/apiversions`, `/management/v1/description`,
//! `/management/v1/configureddevices`) and the HTML setup pages (`/setup`,
//! `/setup/v1/{camera|focuser}/{n}/setup`).
//!
//! A setup form is sent back by POST (or PUT) to its own URL. Besides the server's Host,
//! Origin and token checks, a change is taken only from a same-origin page: the request must
//! carry an `Origin` (which the Origin check has accepted) or `Sec-Fetch-Site: same-origin`;
//! a form posted from another site, or a request with neither header, is refused (403).

use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};

use super::AlpacaState;
use super::params::{BadRequest, Params, parse_urlencoded};
use super::ports::{AlpacaError, CameraSetupChange};
use super::reply::{self, Ids};

/// A management JSON reply.
pub(crate) fn management(state: &AlpacaState, path: &str, params: &Params) -> Option<Response> {
    let ids = Ids {
        client: params.client_transaction_id(),
        server: state.counter.next(),
    };
    let value = match path {
        "/management/apiversions" => json!([1]),
        "/management/v1/description" => json!({
            "ServerName": state.info.server_name,
            "Manufacturer": state.info.manufacturer,
            "ManufacturerVersion": state.info.manufacturer_version,
            "Location": state.info.location,
        }),
        "/management/v1/configureddevices" => Value::Array(configured_devices(state)),
        _ => return None,
    };
    Some(reply::json(ids, Ok(Some(value))))
}

fn configured_devices(state: &AlpacaState) -> Vec<Value> {
    let cameras = state.cameras.iter().enumerate().map(|(n, slot)| {
        let id = slot.port.identity();
        json!({"DeviceName": id.name, "DeviceType": "Camera", "DeviceNumber": n, "UniqueID": id.unique_id})
    });
    let focusers = state.focusers.iter().enumerate().map(|(n, slot)| {
        let id = slot.port.identity();
        json!({"DeviceName": id.name, "DeviceType": "Focuser", "DeviceNumber": n, "UniqueID": id.unique_id})
    });
    cameras.chain(focusers).collect()
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
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

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title></head><body><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = esc(title)
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// `GET /setup`: the server, who makes it, and its devices.
pub(crate) fn server_page(state: &AlpacaState) -> Response {
    let mut list = String::new();
    for (kind, path, names) in [
        (
            "Camera",
            "camera",
            state
                .cameras
                .iter()
                .map(|s| s.port.identity().name)
                .collect::<Vec<_>>(),
        ),
        (
            "Focuser",
            "focuser",
            state
                .focusers
                .iter()
                .map(|s| s.port.identity().name)
                .collect(),
        ),
    ] {
        for (n, name) in names.iter().enumerate() {
            list.push_str(&format!(
                "<li><a href=\"/setup/v1/{path}/{n}/setup\">{kind} {n}: {}</a></li>\n",
                esc(name)
            ));
        }
    }
    let info = &state.info;
    page(
        &info.server_name,
        &format!(
            "<p>{} {} — ASCOM Alpaca server for Sony cameras. \
             <a href=\"https://github.com/sonyctl/sonyctl\">sonyctl on GitHub</a>.</p>\n\
             <p>Location: {}</p>\n<h2>Devices</h2>\n<ul>\n{list}</ul>",
            esc(&info.manufacturer),
            esc(&info.manufacturer_version),
            esc(&info.location),
        ),
    )
}

/// True when a change may be taken: the request comes from a page of this server.
fn same_origin(headers: &HeaderMap) -> bool {
    // An Origin present has passed the server's Origin check already.
    headers.contains_key(header::ORIGIN)
        || headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("same-origin"))
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "setup changes are taken from this server's own setup page only",
    )
        .into_response()
}

/// `/setup/v1/{kind}/{n}/setup`: the page (GET) or a change (POST/PUT).
pub(crate) async fn device_page(
    state: Arc<AlpacaState>,
    kind: &str,
    number: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, BadRequest> {
    let n = super::parse_number(number)
        .ok_or_else(|| BadRequest(format!("{number:?} is not a device number")))?;
    let change = match *method {
        Method::GET | Method::HEAD => None,
        Method::POST | Method::PUT => {
            if !same_origin(headers) {
                return Ok(refused());
            }
            Some(parse_urlencoded(body))
        }
        _ => return Err(BadRequest(format!("the setup page does not take {method}"))),
    };
    let field = |pairs: &[(String, String)], key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let mut message = String::new();
    match kind {
        "camera" => {
            let slot = state
                .cameras
                .get(n)
                .ok_or_else(|| BadRequest(format!("camera device {n} does not exist")))?;
            if let Some(pairs) = change {
                let result = match field(&pairs, "BulbAbove").map(|v| v.parse::<f64>()) {
                    Some(Ok(s)) if s > 0.0 && s <= CameraSetupChange::BULB_ABOVE_MAX => {
                        slot.port
                            .apply_setup(CameraSetupChange { bulb_above: s })
                            .await
                    }
                    _ => Err(AlpacaError::invalid_value(
                        "the bulb threshold must be a number of seconds above 0, at most a day \
                         (86400)",
                    )),
                };
                message = outcome(result);
            }
            let setup = slot.port.setup();
            let name = slot.port.identity().name;
            let output = setup
                .output
                .map(|o| esc(&o))
                .unwrap_or_else(|| "(not kept)".into());
            Ok(page(
                &format!("{name}: camera setup"),
                &format!(
                    "{message}<form method=\"post\">\n\
                     <p><label>Timed in BULB above (seconds): <input name=\"BulbAbove\" \
                     type=\"number\" min=\"0.001\" max=\"86400\" step=\"any\" value=\"{}\"></label></p>\n\
                     <p>Original files kept in: <code>{output}</code> (set with \
                     <code>--output</code> when the server starts)</p>\n\
                     <p><button type=\"submit\">Save</button></p>\n</form>\n\
                     <p><a href=\"/setup\">All devices</a></p>",
                    setup.bulb_above
                ),
            ))
        }
        "focuser" => {
            let slot = state
                .focusers
                .get(n)
                .ok_or_else(|| BadRequest(format!("focuser device {n} does not exist")))?;
            if let Some(pairs) = change {
                let result = match field(&pairs, "Mode").as_deref() {
                    Some("absolute") => slot.port.set_absolute_mode(true).await,
                    Some("relative") => slot.port.set_absolute_mode(false).await,
                    _ => Err(AlpacaError::invalid_value(
                        "the focuser mode is absolute or relative",
                    )),
                };
                message = outcome(result);
            }
            let absolute = slot.port.absolute_mode();
            let checked = |on: bool| if on { " checked" } else { "" };
            let name = slot.port.identity().name;
            Ok(page(
                &format!("{name}: focuser setup"),
                &format!(
                    "{message}<form method=\"post\">\n<fieldset><legend>Focuser mode</legend>\n\
                     <label><input type=\"radio\" name=\"Mode\" value=\"absolute\"{}> Absolute \
                     (a position counted in steps from where the lens was at connection; \
                     needed by autofocus)</label><br>\n\
                     <label><input type=\"radio\" name=\"Mode\" value=\"relative\"{}> \
                     Relative</label>\n</fieldset>\n\
                     <p><button type=\"submit\">Save</button></p>\n</form>\n\
                     <p><a href=\"/setup\">All devices</a></p>",
                    checked(absolute),
                    checked(!absolute)
                ),
            ))
        }
        _ => Err(BadRequest(format!("{kind:?} is not a device type"))),
    }
}

fn outcome(result: Result<(), AlpacaError>) -> String {
    match result {
        Ok(()) => "<p role=\"status\">Saved.</p>\n".into(),
        Err(e) => format!("<p role=\"alert\">Not saved: {}</p>\n", esc(&e.message)),
    }
}
