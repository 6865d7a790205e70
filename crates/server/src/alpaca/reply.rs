//! The JSON replies: `ClientTransactionID`, `ServerTransactionID`, `ErrorNumber`,
//! `ErrorMessage` and `Value`, keys cased as the reference writes them, and the UTC date
//! formats the members use.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::ports::AlpacaError;

/// The transaction ids of one reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ids {
    /// Echoed, 0 when the client sent none (or one that is not a u32).
    pub(crate) client: u32,
    /// This reply's, from the server's counter.
    pub(crate) server: u32,
}

/// The server's transaction counter: 1, 2, 3, … (0 is skipped when it wraps).
#[derive(Debug)]
pub(crate) struct Counter(AtomicU32);

impl Counter {
    pub(crate) fn new() -> Counter {
        Counter(AtomicU32::new(1))
    }

    /// The next id.
    pub(crate) fn next(&self) -> u32 {
        loop {
            let id = self.0.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }
}

/// A JSON reply (HTTP 200): `Value` when the member returns one, or the error.
pub(crate) fn json(ids: Ids, result: Result<Option<Value>, AlpacaError>) -> Response {
    let mut body = Map::new();
    body.insert("ClientTransactionID".into(), ids.client.into());
    body.insert("ServerTransactionID".into(), ids.server.into());
    match result {
        Ok(value) => {
            body.insert("ErrorNumber".into(), 0.into());
            body.insert("ErrorMessage".into(), "".into());
            if let Some(value) = value {
                body.insert("Value".into(), value);
            }
        }
        Err(e) => {
            body.insert("ErrorNumber".into(), e.number.into());
            body.insert("ErrorMessage".into(), e.message.into());
        }
    }
    json_body(&Value::Object(body))
}

/// `value` as an `application/json` response (HTTP 200).
pub(crate) fn json_body(value: &Value) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Seconds and milliseconds since 1970 (times before count as 1970).
fn since_epoch(t: SystemTime) -> (u64, u32) {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    (since.as_secs(), since.subsec_millis())
}

/// `yyyy-mm-ddThh:mm:ss.fff` in UTC, without a zone (LastExposureStartTime, the FITS
/// `date-time` the reference asks for).
pub(crate) fn fits_time(t: SystemTime) -> String {
    let (secs, millis) = since_epoch(t);
    let (y, mo, d, h, mi, s) = sonyctl_ptp::date::utc_from_unix(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{millis:03}")
}

/// RFC 3339 in UTC with `Z` (the DeviceState `TimeStamp`): how sonyctl writes a time.
pub(crate) fn iso_time(t: SystemTime) -> String {
    let (secs, millis) = since_epoch(t);
    sonyctl_ptp::date::rfc3339(secs, millis)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_034_187_903);
        // date -u -d @1795034187.903 +%FT%T.%3N
        assert_eq!(fits_time(t), "2026-11-18T20:36:27.903");
        assert_eq!(iso_time(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(fits_time(leap), "2000-02-29T00:00:00.000");
    }

    #[test]
    fn the_counter_starts_at_one_and_skips_zero() {
        let c = Counter::new();
        assert_eq!((c.next(), c.next()), (1, 2));
        c.0.store(u32::MAX, Ordering::Relaxed);
        assert_eq!((c.next(), c.next()), (u32::MAX, 1));
    }
}
