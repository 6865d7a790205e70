//! ImageArray, streamed: as JSON (`Type`, `Rank`, then `Value` as `[x][y]` or `[x][y][plane]`)
//! or as ImageBytes (reference §8: a 44-byte header, then the elements x-major, y fastest,
//! little-endian). Both are made a few columns at a time from the shared frame while the
//! client reads: one chunk exists at a time, never a second copy of the frame nor the whole
//! JSON text.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::ports::{AlpacaError, AlpacaFrame, FrameKind, FrameRow};
use super::reply::Ids;

/// The ImageBytes media type.
pub(crate) const IMAGE_BYTES: &str = "application/imagebytes";

/// Elements gathered per chunk (about 512 KB of UInt16 ImageBytes).
const CHUNK_ELEMENTS: usize = 256 * 1024;

/// Rows read together when a Mono16 frame is turned into columns for ImageBytes.
const TILE_ROWS: usize = 64;

/// ImageBytes element type codes (reference §8.7).
const INT32: u32 = 2;
const BYTE: u32 = 6;
const UINT16: u32 = 8;

/// The part of the frame served: the subframe, clamped to the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// True when the `Accept` header lists `application/imagebytes` with a q above 0.
pub(crate) fn wants_image_bytes(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            if !media.eq_ignore_ascii_case(IMAGE_BYTES) {
                return false;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f64>().ok())
                .next()
                .unwrap_or(1.0);
            q > 0.0
        })
}

/// Checks that every row the window needs has the frame's kind and is long enough, so that
/// streaming never meets a short row half-way (a reply cannot turn into an error there).
pub(crate) fn check_frame(frame: &dyn AlpacaFrame, window: Window) -> Result<(), AlpacaError> {
    let kind = frame.kind();
    let needed = (window.x as usize + window.width as usize) * planes(kind);
    for y in window.y..window.y.saturating_add(window.height) {
        let ok = match (kind, frame.row(y)) {
            (FrameKind::Mono16, FrameRow::Mono16(r)) => r.len() >= needed,
            (FrameKind::Rgb8, FrameRow::Rgb8(r)) => r.len() >= needed,
            _ => false,
        };
        if !ok {
            return Err(AlpacaError::driver(
                0,
                format!("the frame's row {y} is not a full row of its kind"),
            ));
        }
    }
    Ok(())
}

fn planes(kind: FrameKind) -> usize {
    match kind {
        FrameKind::Mono16 => 1,
        FrameKind::Rgb8 => 3,
    }
}

/// The 44-byte ImageBytes header.
fn header_bytes(error: u32, ids: Ids, transmission: u32, rank: u32, dims: [u32; 3]) -> [u8; 44] {
    let image_type = if error == 0 { INT32 } else { 0 };
    let fields = [
        1, // MetadataVersion
        error,
        ids.client,
        ids.server,
        44, // DataStart
        image_type,
        transmission,
        rank,
        dims[0],
        dims[1],
        dims[2],
    ];
    let mut out = [0u8; 44];
    for (slot, field) in out.chunks_exact_mut(4).zip(fields) {
        slot.copy_from_slice(&field.to_le_bytes());
    }
    out
}

/// An error in ImageBytes form (HTTP 200): the header with the error number, then the message.
pub(crate) fn image_bytes_error(ids: Ids, error: &AlpacaError) -> Response {
    let mut body = header_bytes(error.number, ids, 0, 0, [0; 3]).to_vec();
    body.extend_from_slice(error.message.as_bytes());
    with_type((StatusCode::OK, body).into_response(), IMAGE_BYTES)
}

fn with_type(mut response: Response, content_type: &'static str) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// How the chunks are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    ImageBytes,
    Json,
}

/// The frame's window, a few columns at a time.
struct Columns {
    frame: Arc<dyn AlpacaFrame>,
    window: Window,
    kind: FrameKind,
    encoding: Encoding,
    /// The next column, counted in the window.
    next: u32,
    per_chunk: u32,
    /// The bytes before the first column (the ImageBytes header, the JSON head).
    head: Option<Vec<u8>>,
    /// The JSON tail, once the columns are done.
    tail: Option<&'static [u8]>,
}

impl Columns {
    fn new(
        frame: Arc<dyn AlpacaFrame>,
        window: Window,
        encoding: Encoding,
        head: Vec<u8>,
    ) -> Columns {
        let kind = frame.kind();
        let column = (window.height as usize).max(1) * planes(kind);
        let per_chunk = (CHUNK_ELEMENTS / column).clamp(1, u32::MAX as usize) as u32;
        Columns {
            frame,
            window,
            kind,
            encoding,
            next: 0,
            per_chunk,
            head: Some(head),
            tail: (encoding == Encoding::Json).then_some(b"]}".as_slice()),
        }
    }

    /// Columns `first..first + count` of the window, column-major, y fastest (planes inside).
    fn gather16(&self, first: u32, count: u32) -> Vec<u16> {
        let h = self.window.height as usize;
        let mut out = vec![0u16; count as usize * h];
        for y in 0..h {
            let FrameRow::Mono16(row) = self.frame.row(self.window.y + y as u32) else {
                continue;
            };
            let from = (self.window.x + first) as usize;
            let Some(part) = row.get(from..from + count as usize) else {
                continue;
            };
            for (c, &v) in part.iter().enumerate() {
                if let Some(slot) = out.get_mut(c * h + y) {
                    *slot = v;
                }
            }
        }
        out
    }

    /// As [`Columns::gather16`], written straight as little-endian bytes (ImageBytes), in
    /// tiles of [`TILE_ROWS`] rows: each column's run of a tile is written in one place, and
    /// the tile's rows stay in the cache while it is read across.
    fn gather16_le(&self, first: u32, count: u32) -> Vec<u8> {
        let h = self.window.height as usize;
        let mut out = vec![0u8; count as usize * h * 2];
        let from = (self.window.x + first) as usize;
        let mut rows: Vec<&[u16]> = Vec::with_capacity(TILE_ROWS);
        for y0 in (0..h).step_by(TILE_ROWS) {
            rows.clear();
            let y1 = (y0 + TILE_ROWS).min(h);
            for y in y0..y1 {
                let part = match self.frame.row(self.window.y + y as u32) {
                    FrameRow::Mono16(row) => row.get(from..from + count as usize),
                    FrameRow::Rgb8(_) => None,
                };
                rows.push(part.unwrap_or(&[]));
            }
            for c in 0..count as usize {
                let at = (c * h + y0) * 2;
                let Some(run) = out.get_mut(at..at + (y1 - y0) * 2) else {
                    continue;
                };
                for (slot, row) in run.chunks_exact_mut(2).zip(&rows) {
                    if let Some(v) = row.get(c) {
                        slot.copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        out
    }

    fn gather8(&self, first: u32, count: u32) -> Vec<u8> {
        let h = self.window.height as usize;
        let mut out = vec![0u8; count as usize * h * 3];
        for y in 0..h {
            let FrameRow::Rgb8(row) = self.frame.row(self.window.y + y as u32) else {
                continue;
            };
            let from = (self.window.x + first) as usize * 3;
            let Some(part) = row.get(from..from + count as usize * 3) else {
                continue;
            };
            for (c, rgb) in part.chunks_exact(3).enumerate() {
                if let Some(slot) = out.get_mut((c * h + y) * 3..(c * h + y) * 3 + 3) {
                    slot.copy_from_slice(rgb);
                }
            }
        }
        out
    }

    /// The encoded chunk for columns `first..first + count`.
    fn chunk(&self, first: u32, count: u32) -> Vec<u8> {
        let h = self.window.height as usize;
        match (self.encoding, self.kind) {
            (Encoding::ImageBytes, FrameKind::Mono16) => self.gather16_le(first, count),
            (Encoding::ImageBytes, FrameKind::Rgb8) => self.gather8(first, count),
            (Encoding::Json, FrameKind::Mono16) => {
                let values = self.gather16(first, count);
                let mut out = Vec::with_capacity(values.len() * 6 + 4);
                for (c, column) in values.chunks(h.max(1)).enumerate() {
                    if first > 0 || c > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    for (i, &v) in column.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        push_decimal(&mut out, u32::from(v));
                    }
                    out.push(b']');
                }
                out
            }
            (Encoding::Json, FrameKind::Rgb8) => {
                let values = self.gather8(first, count);
                let mut out = Vec::with_capacity(values.len() * 5 + 4);
                for (c, column) in values.chunks((h * 3).max(1)).enumerate() {
                    if first > 0 || c > 0 {
                        out.push(b',');
                    }
                    out.push(b'[');
                    for (i, rgb) in column.chunks_exact(3).enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.push(b'[');
                        for (p, &v) in rgb.iter().enumerate() {
                            if p > 0 {
                                out.push(b',');
                            }
                            push_decimal(&mut out, u32::from(v));
                        }
                        out.push(b']');
                    }
                    out.push(b']');
                }
                out
            }
        }
    }
}

impl Iterator for Columns {
    type Item = Result<Bytes, std::io::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(head) = self.head.take() {
            return Some(Ok(Bytes::from(head)));
        }
        if self.next < self.window.width {
            let count = self.per_chunk.min(self.window.width - self.next);
            let chunk = self.chunk(self.next, count);
            self.next += count;
            return Some(Ok(Bytes::from(chunk)));
        }
        self.tail.take().map(|t| Ok(Bytes::from_static(t)))
    }
}

/// Appends `v` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or(&[]));
}

/// The window as ImageBytes, streamed (the length is known, so it is declared).
pub(crate) fn image_bytes(frame: Arc<dyn AlpacaFrame>, window: Window, ids: Ids) -> Response {
    let kind = frame.kind();
    let (transmission, rank, dim3, size) = match kind {
        FrameKind::Mono16 => (UINT16, 2, 0, 2u64),
        FrameKind::Rgb8 => (BYTE, 3, 3, 3u64),
    };
    let head = header_bytes(
        0,
        ids,
        transmission,
        rank,
        [window.width, window.height, dim3],
    );
    let length = 44 + u64::from(window.width) * u64::from(window.height) * size;
    let columns = Columns::new(frame, window, Encoding::ImageBytes, head.to_vec());
    let mut response = Body::from_stream(futures_util::stream::iter(columns)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    with_type(response, IMAGE_BYTES)
}

/// The window as JSON, streamed: `Type` and `Rank` first (clients read them with a regular
/// expression before parsing), `Value` last.
pub(crate) fn image_json(frame: Arc<dyn AlpacaFrame>, window: Window, ids: Ids) -> Response {
    let rank = match frame.kind() {
        FrameKind::Mono16 => 2,
        FrameKind::Rgb8 => 3,
    };
    let head = format!(
        "{{\"Type\":2,\"Rank\":{rank},\"ClientTransactionID\":{},\"ServerTransactionID\":{},\
         \"ErrorNumber\":0,\"ErrorMessage\":\"\",\"Value\":[",
        ids.client, ids.server
    );
    let columns = Columns::new(frame, window, Encoding::Json, head.into_bytes());
    let response = Body::from_stream(futures_util::stream::iter(columns)).into_response();
    with_type(response, "application/json")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        let h = |v: &'static str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT, HeaderValue::from_static(v));
            m
        };
        assert!(wants_image_bytes(&h("application/imagebytes")));
        assert!(wants_image_bytes(&h(
            "application/json;q=0.9, Application/ImageBytes; q=1"
        )));
        assert!(!wants_image_bytes(&h("application/imagebytes;q=0")));
        assert!(!wants_image_bytes(&h("application/json")));
        assert!(!wants_image_bytes(&HeaderMap::new()));
    }

    #[test]
    fn decimals() {
        let mut out = Vec::new();
        for v in [0, 7, 10, 65535, u32::MAX] {
            push_decimal(&mut out, v);
            out.push(b' ');
        }
        assert_eq!(out, b"0 7 10 65535 4294967295 ");
    }
}
