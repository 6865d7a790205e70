//! ImageArray, streamed: as JSON (`Type`, `Rank`, then `Value` as `[x][y]` or `[x][y][plane]`)
//! or as ImageBytes (reference §8: a 44-byte header, then the elements x-major, y fastest,
//! little-endian). Both are made a few columns at a time from the shared frame, on a blocking
//! thread that stays two chunks ahead of the socket: a few chunks exist at a time, never a
//! second copy of the frame nor the whole JSON text.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

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

/// Bytes per ImageBytes chunk of a Mono16 frame (whole columns, at least one): wide enough
/// that each row's part is a few hundred contiguous bytes.
const CHUNK_BYTES_16: usize = 1024 * 1024;

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
    /// ImageBytes chunks come back here once written, to be filled again: no allocation, no
    /// zeroing and no fresh pages for each chunk.
    spare: (Sender<Vec<u8>>, Receiver<Vec<u8>>),
}

/// A chunk's bytes, returned to [`Columns::spare`] when the body is done with them.
struct Recycled {
    bytes: Vec<u8>,
    back: Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        // Gone when the columns are done: the buffer is freed instead.
        let _ = self.back.send(std::mem::take(&mut self.bytes));
    }
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
        let elements = match (encoding, kind) {
            (Encoding::ImageBytes, FrameKind::Mono16) => CHUNK_BYTES_16 / 2,
            _ => CHUNK_ELEMENTS,
        };
        let per_chunk = (elements / column).clamp(1, u32::MAX as usize) as u32;
        Columns {
            frame,
            window,
            kind,
            encoding,
            next: 0,
            per_chunk,
            head: Some(head),
            tail: (encoding == Encoding::Json).then_some(b"]}".as_slice()),
            spare: std::sync::mpsc::channel(),
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

    /// As [`Columns::gather16`], written straight as little-endian bytes (ImageBytes). The
    /// window's rows are read four at a time: four samples of each of the four rows (one
    /// 64-bit word a row) are turned into four columns' runs of four samples (one 8-byte
    /// write each), so each row's part is one contiguous read and the chunk's columns stay in
    /// the cache while the strips go down the frame.
    /// `out` is overwritten whole (a buffer used before is fine).
    fn gather16_le(&self, first: u32, count: u32, out: &mut Vec<u8>) {
        let h = self.window.height as usize;
        let count = count as usize;
        let column_bytes = (h * 2).max(1);
        out.resize(count * h * 2, 0);
        let from = (self.window.x + first) as usize;
        let part = |y: usize| match self.frame.row(self.window.y + y as u32) {
            FrameRow::Mono16(row) => row.get(from..from + count).unwrap_or(&[]),
            FrameRow::Rgb8(_) => &[],
        };
        if (0..h).any(|y| part(y).len() < count) {
            // Not met after check_frame; the samples a short row lacks are sent as zeros.
            out.fill(0);
        }
        let mut y0 = 0;
        while y0 + 4 <= h {
            let rows: [&[u16]; 4] = std::array::from_fn(|i| part(y0 + i));
            let at = y0 * 2..y0 * 2 + 8;
            let mut columns = out.chunks_exact_mut(column_bytes);
            let [r0, r1, r2, r3] = rows.map(|r| r.chunks_exact(4));
            for (((a, b), c), d) in r0.zip(r1).zip(r2).zip(r3) {
                for run in transpose4([word(a), word(b), word(c), word(d)]) {
                    if let Some(slot) = columns.next().and_then(|col| col.get_mut(at.clone())) {
                        slot.copy_from_slice(&run.to_le_bytes());
                    }
                }
            }
            // The last count % 4 columns, a sample at a time.
            for (c, column) in columns.enumerate().map(|(i, col)| (count / 4 * 4 + i, col)) {
                for (y, row) in (y0..).zip(rows) {
                    if let (Some(v), Some(slot)) = (row.get(c), column.get_mut(y * 2..y * 2 + 2)) {
                        slot.copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
            y0 += 4;
        }
        for y in y0..h {
            for (column, v) in out.chunks_exact_mut(column_bytes).zip(part(y)) {
                if let Some(slot) = column.get_mut(y * 2..y * 2 + 2) {
                    slot.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
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
    fn chunk(&self, first: u32, count: u32) -> Bytes {
        let h = self.window.height as usize;
        Bytes::from(match (self.encoding, self.kind) {
            (Encoding::ImageBytes, FrameKind::Mono16) => {
                let mut bytes = self.spare.1.try_recv().unwrap_or_default();
                self.gather16_le(first, count, &mut bytes);
                return Bytes::from_owner(Recycled {
                    bytes,
                    back: self.spare.0.clone(),
                });
            }
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
        })
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
            return Some(Ok(chunk));
        }
        self.tail.take().map(|t| Ok(Bytes::from_static(t)))
    }
}

/// Four samples as one word, the first in the low bits (so the word's little-endian bytes
/// are the samples' little-endian bytes in order).
fn word(samples: &[u16]) -> u64 {
    match samples {
        [a, b, c, d, ..] => {
            u64::from(*a) | u64::from(*b) << 16 | u64::from(*c) << 32 | u64::from(*d) << 48
        }
        _ => 0,
    }
}

/// The 4×4 transpose of 16-bit samples held as four words (rows in, columns out).
fn transpose4([a, b, c, d]: [u64; 4]) -> [u64; 4] {
    const EVEN16: u64 = 0x0000_FFFF_0000_FFFF;
    const LOW32: u64 = 0x0000_0000_FFFF_FFFF;
    // Pairs: [a0 b0 a2 b2], [a1 b1 a3 b3], and the same of c and d.
    let ab0 = (a & EVEN16) | ((b & EVEN16) << 16);
    let ab1 = ((a >> 16) & EVEN16) | (b & !EVEN16);
    let cd0 = (c & EVEN16) | ((d & EVEN16) << 16);
    let cd1 = ((c >> 16) & EVEN16) | (d & !EVEN16);
    [
        (ab0 & LOW32) | (cd0 << 32),
        (ab1 & LOW32) | (cd1 << 32),
        (ab0 >> 32) | (cd0 & !LOW32),
        (ab1 >> 32) | (cd1 & !LOW32),
    ]
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

/// Chunks made ahead of the socket: the next is gathered while the last is written.
const CHUNKS_AHEAD: usize = 2;

/// The columns as a body, made on a blocking thread at most [`CHUNKS_AHEAD`] chunks ahead of
/// the writes, so gathering and sending overlap. When the client goes, the body and its
/// receiver are dropped and the thread stops at its next chunk.
fn stream(columns: Columns) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        for chunk in columns {
            if tx.blocking_send(chunk).is_err() {
                break;
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
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
    let mut response = stream(columns).into_response();
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
    let response = stream(columns).into_response();
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

    #[test]
    fn four_by_four_transpose() {
        let rows: Vec<[u16; 4]> = (0..4u16)
            .map(|r| std::array::from_fn(|c| 0x1000 * (r + 1) + 0x0101 * c as u16))
            .collect();
        let words: Vec<u64> = rows.iter().map(|r| word(r)).collect();
        let columns = transpose4(words.clone().try_into().unwrap());
        for (c, column) in columns.iter().enumerate() {
            let samples: Vec<u16> = column
                .to_le_bytes()
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect();
            let expected: Vec<u16> = rows.iter().map(|r| r[c]).collect();
            assert_eq!(samples, expected, "column {c}");
        }
        assert_eq!(word(&[1, 2, 3]), 0);
    }

    struct Plain {
        width: u32,
        samples: Vec<u16>,
    }

    impl AlpacaFrame for Plain {
        fn width(&self) -> u32 {
            self.width
        }
        fn height(&self) -> u32 {
            (self.samples.len() / self.width as usize) as u32
        }
        fn kind(&self) -> FrameKind {
            FrameKind::Mono16
        }
        fn row(&self, y: u32) -> FrameRow<'_> {
            let w = self.width as usize;
            FrameRow::Mono16(&self.samples[y as usize * w..(y as usize + 1) * w])
        }
    }

    /// The ImageBytes columns of windows whose sides are not multiples of four, in chunks of
    /// every width, equal the frame's samples taken x-major.
    #[test]
    fn image_bytes_columns() {
        let (w, h) = (23u32, 19u32);
        let samples: Vec<u16> = (0..w * h)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u16)
            .collect();
        let frame: Arc<dyn AlpacaFrame> = Arc::new(Plain { width: w, samples });
        for window in [
            Window {
                x: 0,
                y: 0,
                width: w,
                height: h,
            },
            Window {
                x: 3,
                y: 2,
                width: 17,
                height: 13,
            },
            Window {
                x: 5,
                y: 6,
                width: 2,
                height: 3,
            },
        ] {
            let columns = Columns::new(frame.clone(), window, Encoding::ImageBytes, vec![]);
            for per_chunk in 1..=window.width {
                let mut got = Vec::new();
                // A buffer used before, longer than the chunk: overwritten whole.
                let mut chunk = vec![0xA5; 2 * per_chunk as usize * window.height as usize + 7];
                let mut first = 0;
                while first < window.width {
                    let count = per_chunk.min(window.width - first);
                    columns.gather16_le(first, count, &mut chunk);
                    got.extend_from_slice(&chunk);
                    first += count;
                }
                let mut expected = Vec::new();
                for x in window.x..window.x + window.width {
                    for y in window.y..window.y + window.height {
                        let FrameRow::Mono16(row) = frame.row(y) else {
                            unreachable!()
                        };
                        expected.extend(row[x as usize].to_le_bytes());
                    }
                }
                assert_eq!(got, expected, "{window:?}, {per_chunk} columns a chunk");
            }
        }
    }
}
