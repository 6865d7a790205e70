//! HTTP benchmark client for `sonyctl serve`: what `scripts/bench` measures against a running
//! server, from the outside, as a browser or a script would reach it.
//!
//! ```text
//! cargo run --release -p sonyctl-server --example http_bench -- props --url http://127.0.0.1:8377 --n 200
//! http_bench set   --url URL [--camera ID] [--property iso] --values 800,1600 --n 20
//! http_bench mjpeg --url URL [--camera ID] --clients 50 --seconds 10
//! http_bench sse   --url URL [--camera ID] --clients 50 --owner FIFO --turns 10 [--values 800,1600]
//! ```
//!
//! Modes (each prints one JSON object on standard output and exits 1 with a line on standard
//! error when the server answers what the contract does not allow):
//! - `props`: `N` sequential `GET …/properties/{property}` (a cached read) on one kept-alive
//!   connection, after 5 that are not counted; the median, 95th percentile, least and most, in ms.
//! - `set`: `N` sequential `PUT …/properties/{property}` with `{"value": V}`, the values taking
//!   turns (starting with one the camera does not show now, so every PUT is a change); each
//!   answer must show the value put. Same figures.
//! - `mjpeg`: `K` concurrent readers of `…/liveview.mjpg` for `S` seconds. Per reader: the
//!   distinct frames (a new, higher `X-Frame-Number`; a number seen again is a re-send and does
//!   not count), frames a second from its own first frame to the end, re-sends, numbers skipped,
//!   bytes of JPEG. A reader whose stream fails or ends early is counted in `failed`.
//! - `sse`: `K` event streams open on `…/events`; then `T` times, `--gap` ms apart, the line
//!   `set {property} V` (values taking turns) is written to `--owner` (the simulated camera's
//!   standard input: a FIFO, or a file it reads), and each stream's time from the write to its
//!   `property` event carrying that value is taken. The median, 95th percentile and most over
//!   every stream and turn; `missed` counts the events that did not come within 5 s.
//!
//! `--camera` defaults to the first camera `GET /api/v1/cameras` lists; `--token T` is sent as
//! `Authorization: Bearer T`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

/// Which measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Props,
    Set,
    Mjpeg,
    Sse,
}

struct Args {
    mode: Mode,
    url: String,
    camera: Option<String>,
    token: Option<String>,
    property: String,
    values: Vec<String>,
    n: usize,
    clients: usize,
    seconds: f64,
    owner: Option<PathBuf>,
    turns: usize,
    gap: Duration,
}

const USAGE: &str = "usage: http_bench props|set|mjpeg|sse --url URL [--camera ID] [--token T] \
                     [--property iso] [--values 800,1600] [--n N] [--clients K] [--seconds S] \
                     [--owner FIFO] [--turns T] [--gap MS]";

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = match it.next().as_deref() {
        Some("props") => Mode::Props,
        Some("set") => Mode::Set,
        Some("mjpeg") => Mode::Mjpeg,
        Some("sse") => Mode::Sse,
        _ => return Err(USAGE.into()),
    };
    let mut args = Args {
        mode,
        url: String::new(),
        camera: None,
        token: None,
        property: "iso".into(),
        values: vec!["800".into(), "1600".into()],
        n: 100,
        clients: 1,
        seconds: 10.0,
        owner: None,
        turns: 10,
        gap: Duration::from_millis(300),
    };
    let whole = |flag: &str, v: &str| -> Result<usize, String> {
        v.parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{flag} takes a whole number above 0, not {v:?}"))
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.url = value.trim_end_matches('/').to_owned(),
            "--camera" => args.camera = Some(value),
            "--token" => args.token = Some(value),
            "--property" => args.property = value,
            "--values" => {
                args.values = value
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                if args.values.len() < 2 {
                    return Err("--values takes at least two values, e.g. 800,1600".into());
                }
            }
            "--n" => args.n = whole(&flag, &value)?,
            "--clients" => args.clients = whole(&flag, &value)?,
            "--turns" => args.turns = whole(&flag, &value)?,
            "--gap" => args.gap = Duration::from_millis(whole(&flag, &value)? as u64),
            "--seconds" => {
                args.seconds = value
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or("--seconds takes a positive number")?;
            }
            "--owner" => args.owner = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if args.url.is_empty() {
        return Err(format!("--url is required\n{USAGE}"));
    }
    if args.mode == Mode::Sse && args.owner.is_none() {
        return Err("sse needs --owner: the simulated camera's standard input (a FIFO)".into());
    }
    Ok(args)
}

/// The API's base and the client, shared by every mode.
struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    fn new(args: &Args) -> Result<Api, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Api {
            client,
            base: format!("{}/api/v1", args.url),
            token: args.token.clone(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// A JSON answer, or an error naming the request and what came back.
    async fn json(&self, r: reqwest::RequestBuilder, what: &str) -> Result<Value, String> {
        let resp = r.send().await.map_err(|e| format!("{what}: {e}"))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("{what}: reading the answer: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "{what}: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{what}: the answer is not JSON: {e}"))
    }

    /// The camera asked for, or the first one the server lists.
    async fn camera(&self, asked: Option<&str>) -> Result<String, String> {
        if let Some(id) = asked {
            return Ok(id.to_owned());
        }
        let list = self
            .json(
                self.request(reqwest::Method::GET, "/cameras"),
                "GET /cameras",
            )
            .await?;
        list.get("cameras")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("GET /cameras lists no camera: {list}"))
    }

    /// The property's entry (`code`, `display`, …).
    async fn property(&self, camera: &str, name: &str) -> Result<Value, String> {
        let path = format!("/cameras/{camera}/properties/{name}");
        self.json(
            self.request(reqwest::Method::GET, &path),
            &format!("GET {path}"),
        )
        .await
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The value at fraction `q` of sorted `v` (nearest rank), or 0 when empty.
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v.get(rank - 1).copied().unwrap_or(0.0)
}

fn median(v: &[f64]) -> f64 {
    let n = v.len();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        at(n / 2)
    } else {
        (at(n / 2 - 1) + at(n / 2)) / 2.0
    }
}

/// Median, 95th percentile, least and most of latencies in ms.
fn summary(mut v: Vec<f64>) -> Value {
    v.sort_by(f64::total_cmp);
    json!({
        "median_ms": median(&v),
        "p95_ms": quantile(&v, 0.95),
        "min_ms": v.first().copied().unwrap_or(0.0),
        "max_ms": v.last().copied().unwrap_or(0.0),
    })
}

/// The values in turn, starting with one that differs from what the camera shows now.
fn values_from(values: &[String], current: &str) -> Vec<String> {
    let mut v = values.to_vec();
    if v.first().is_some_and(|f| f == current) {
        v.rotate_left(1);
    }
    v
}

fn display_of(entry: &Value) -> String {
    entry
        .get("display")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `props`: sequential cached reads.
async fn props(args: &Args, api: &Api, camera: &str) -> Result<Value, String> {
    let path = format!("/cameras/{camera}/properties/{}", args.property);
    let what = format!("GET {path}");
    let first = api
        .json(api.request(reqwest::Method::GET, &path), &what)
        .await?;
    if first.get("display").is_none() {
        return Err(format!("{what}: no display in {first}"));
    }
    let mut took = Vec::with_capacity(args.n);
    for i in 0..args.n + 5 {
        let t = Instant::now();
        let resp = api
            .request(reqwest::Method::GET, &path)
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("{what}: {e}"))?;
        let d = t.elapsed();
        if !status.is_success() || body.is_empty() {
            return Err(format!(
                "{what}: {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        if i >= 5 {
            took.push(ms(d));
        }
    }
    let mut out = json!({"mode": "props", "property": args.property, "n": args.n});
    merge(&mut out, summary(took));
    Ok(out)
}

/// `set`: sequential changes, each answered once the camera reports it.
async fn set(args: &Args, api: &Api, camera: &str) -> Result<Value, String> {
    let path = format!("/cameras/{camera}/properties/{}", args.property);
    let what = format!("PUT {path}");
    let current = display_of(&api.property(camera, &args.property).await?);
    let values = values_from(&args.values, &current);
    let mut took = Vec::with_capacity(args.n);
    for v in values.iter().cycle().take(args.n) {
        let t = Instant::now();
        let answer = api
            .json(
                api.request(reqwest::Method::PUT, &path)
                    .json(&json!({"value": v})),
                &what,
            )
            .await?;
        took.push(ms(t.elapsed()));
        let shown = display_of(&answer);
        if shown != *v {
            return Err(format!("{what} {v:?}: the answer shows {shown:?}"));
        }
    }
    let mut out = json!({"mode": "set", "property": args.property, "n": args.n, "values": values});
    merge(&mut out, summary(took));
    Ok(out)
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// A part of a `multipart/x-mixed-replace` stream: its frame number and JPEG length.
#[derive(Debug, PartialEq)]
struct Part {
    frame: u64,
    len: usize,
}

/// Where the multipart reader is.
#[derive(Debug)]
enum PartState {
    /// Looking for the boundary line.
    Boundary,
    /// Reading a part's headers up to the empty line.
    Headers,
    /// Reading `left` bytes of body; the JPEG's first two bytes not yet checked.
    Body {
        frame: u64,
        len: usize,
        left: usize,
        checked: bool,
    },
}

/// Reads parts out of a multipart stream as its bytes arrive, whether the boundary comes
/// before each part or right after it.
struct Multipart {
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    state: PartState,
}

/// The longest a part's headers may be.
const MAX_PART_HEADERS: usize = 16 * 1024;

impl Multipart {
    fn new(boundary: &str) -> Multipart {
        Multipart {
            delimiter: format!("--{boundary}").into_bytes(),
            buf: Vec::new(),
            state: PartState::Boundary,
        }
    }

    /// Feeds bytes; returns the parts completed by them.
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Part>, String> {
        self.buf.extend_from_slice(bytes);
        let mut parts = Vec::new();
        let mut at = 0;
        loop {
            let rest = self.buf.get(at..).unwrap_or_default();
            match &mut self.state {
                PartState::Boundary => {
                    let Some(i) = find(rest, &self.delimiter) else {
                        // Keep what could be the start of a delimiter.
                        at += rest.len().saturating_sub(self.delimiter.len());
                        break;
                    };
                    let after = rest.get(i + self.delimiter.len()..).unwrap_or_default();
                    let Some(eol) = find(after, b"\n") else {
                        at += i;
                        break;
                    };
                    at += i + self.delimiter.len() + eol + 1;
                    self.state = PartState::Headers;
                }
                PartState::Headers => {
                    let Some(end) = find(rest, b"\r\n\r\n") else {
                        if rest.len() > MAX_PART_HEADERS {
                            return Err("a part's headers are longer than 16 KiB".into());
                        }
                        break;
                    };
                    let head = String::from_utf8_lossy(rest.get(..end).unwrap_or_default());
                    let mut len = None;
                    let mut frame = None;
                    let mut jpeg = false;
                    for line in head.lines() {
                        let Some((name, value)) = line.split_once(':') else {
                            continue;
                        };
                        let value = value.trim();
                        match name.trim().to_ascii_lowercase().as_str() {
                            "content-length" => len = value.parse::<usize>().ok(),
                            "x-frame-number" => frame = value.parse::<u64>().ok(),
                            "content-type" => jpeg = value.eq_ignore_ascii_case("image/jpeg"),
                            _ => {}
                        }
                    }
                    let (Some(len), Some(frame), true) = (len, frame, jpeg) else {
                        return Err(format!(
                            "a part without Content-Type: image/jpeg, Content-Length and \
                             X-Frame-Number: {head:?}"
                        ));
                    };
                    at += end + 4;
                    self.state = PartState::Body {
                        frame,
                        len,
                        left: len,
                        checked: false,
                    };
                }
                PartState::Body {
                    frame,
                    len,
                    left,
                    checked,
                } => {
                    if !*checked {
                        if rest.len() < 2.min(*left) {
                            break;
                        }
                        if rest.get(..2) != Some(&[0xFF, 0xD8][..]) {
                            return Err(format!("frame {frame} is not a JPEG"));
                        }
                        *checked = true;
                    }
                    let take = rest.len().min(*left);
                    at += take;
                    *left -= take;
                    if *left > 0 {
                        break;
                    }
                    parts.push(Part {
                        frame: *frame,
                        len: *len,
                    });
                    self.state = PartState::Boundary;
                }
            }
        }
        self.buf.drain(..at.min(self.buf.len()));
        Ok(parts)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One MJPEG reader's figures.
#[derive(Debug, Default)]
struct Viewer {
    frames: u64,
    resends: u64,
    skipped: u64,
    bytes: u64,
    fps: f64,
    error: Option<String>,
}

async fn viewer(api: &Api, path: &str, end: Instant) -> Viewer {
    let mut v = Viewer::default();
    if let Err(e) = watch(api, path, end, &mut v).await {
        v.error = Some(e);
    }
    v
}

async fn watch(api: &Api, path: &str, end: Instant, v: &mut Viewer) -> Result<(), String> {
    let resp = api
        .request(reqwest::Method::GET, path)
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET {path}: {}", resp.status()));
    }
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let boundary = ctype
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned())
        .filter(|_| ctype.starts_with("multipart/x-mixed-replace"))
        .ok_or_else(|| format!("GET {path}: Content-Type {ctype:?}"))?;
    let mut parts = Multipart::new(&boundary);
    let mut stream = resp.bytes_stream();
    let mut first: Option<Instant> = None;
    let mut newest: Option<u64> = None;
    loop {
        let chunk = match tokio::time::timeout_at(end.into(), stream.next()).await {
            Err(_) => break,
            Ok(None) => return Err("the stream ended before the time was up".into()),
            Ok(Some(Err(e))) => return Err(format!("the stream failed: {e}")),
            Ok(Some(Ok(c))) => c,
        };
        let now = Instant::now();
        for p in parts.feed(&chunk)? {
            v.bytes += p.len as u64;
            match newest {
                Some(n) if p.frame <= n => v.resends += 1,
                _ => {
                    v.skipped += newest.map_or(0, |n| p.frame - n - 1);
                    newest = Some(p.frame);
                    v.frames += 1;
                    first.get_or_insert(now);
                }
            }
        }
    }
    // Frames a second from this reader's first frame to the end of the run.
    v.fps = first.map_or(0.0, |f| {
        v.frames.saturating_sub(1) as f64 / end.saturating_duration_since(f).as_secs_f64().max(1e-9)
    });
    Ok(())
}

/// `mjpeg`: `K` readers of the live view at once.
async fn mjpeg(args: &Args, api: std::sync::Arc<Api>, camera: &str) -> Result<Value, String> {
    let path = format!("/cameras/{camera}/liveview.mjpg");
    let end = Instant::now() + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| {
            let api = api.clone();
            let path = path.clone();
            tokio::spawn(async move { viewer(&api, &path, end).await })
        })
        .collect();
    let mut viewers = Vec::new();
    for t in tasks {
        viewers.push(t.await.map_err(|e| e.to_string())?);
    }
    let ok: Vec<&Viewer> = viewers.iter().filter(|v| v.error.is_none()).collect();
    let mut fps: Vec<f64> = ok.iter().map(|v| v.fps).collect();
    fps.sort_by(f64::total_cmp);
    let errors: Vec<&str> = viewers.iter().filter_map(|v| v.error.as_deref()).collect();
    Ok(json!({
        "mode": "mjpeg",
        "clients": args.clients,
        "seconds": args.seconds,
        "failed": errors.len(),
        "errors": errors.iter().take(5).collect::<Vec<_>>(),
        "fps_min": fps.first().copied().unwrap_or(0.0),
        "fps_median": median(&fps),
        "fps_max": fps.last().copied().unwrap_or(0.0),
        "frames_total": ok.iter().map(|v| v.frames).sum::<u64>(),
        "resends_total": ok.iter().map(|v| v.resends).sum::<u64>(),
        "skipped_total": ok.iter().map(|v| v.skipped).sum::<u64>(),
        "bytes_total": ok.iter().map(|v| v.bytes).sum::<u64>(),
        "per_client": viewers.iter().map(|v| json!({
            "fps": v.fps, "frames": v.frames, "resends": v.resends, "skipped": v.skipped,
            "bytes": v.bytes, "error": v.error,
        })).collect::<Vec<_>>(),
    }))
}

/// One server-sent event.
#[derive(Debug, Default, PartialEq)]
struct Event {
    name: String,
    data: String,
}

/// Reads events out of a `text/event-stream` as its bytes arrive.
#[derive(Default)]
struct EventReader {
    line: Vec<u8>,
    current: Event,
}

/// The longest line of an event stream accepted.
const MAX_EVENT_LINE: usize = 1 << 20;

impl EventReader {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, String> {
        let mut events = Vec::new();
        for &b in bytes {
            if b != b'\n' {
                self.line.push(b);
                if self.line.len() > MAX_EVENT_LINE {
                    return Err("an event line longer than 1 MiB".into());
                }
                continue;
            }
            let line = String::from_utf8_lossy(&self.line)
                .trim_end_matches('\r')
                .to_owned();
            self.line.clear();
            if line.is_empty() {
                if !self.current.data.is_empty() || !self.current.name.is_empty() {
                    events.push(std::mem::take(&mut self.current));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.current.name = value.to_owned(),
                "data" => {
                    if !self.current.data.is_empty() {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                }
                _ => {}
            }
        }
        Ok(events)
    }
}

/// What an event stream reports to the turn-taker.
enum Heard {
    /// The stream is open.
    Open,
    /// A `property` event for the watched code, with its new value shown.
    Value(usize, String, Instant),
    /// A `lagged` event.
    Lagged,
    /// The stream failed or ended.
    Failed(usize, String),
}

async fn listen(
    api: std::sync::Arc<Api>,
    path: String,
    client: usize,
    code: u64,
    tx: tokio::sync::mpsc::UnboundedSender<Heard>,
) {
    let failed = |e: String| Heard::Failed(client, e);
    let resp = match api
        .request(reqwest::Method::GET, &path)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let _ = tx.send(failed(format!("GET {path}: {}", r.status())));
            return;
        }
        Err(e) => {
            let _ = tx.send(failed(format!("GET {path}: {e}")));
            return;
        }
    };
    let _ = tx.send(Heard::Open);
    let mut stream = resp.bytes_stream();
    let mut reader = EventReader::default();
    while let Some(chunk) = stream.next().await {
        let now = Instant::now();
        let events = match chunk
            .map_err(|e| e.to_string())
            .and_then(|c| reader.feed(&c))
        {
            Ok(e) => e,
            Err(e) => {
                let _ = tx.send(failed(e));
                return;
            }
        };
        for e in events {
            match e.name.as_str() {
                "property" => {
                    let Ok(data) = serde_json::from_str::<Value>(&e.data) else {
                        let _ = tx.send(failed(format!("a property event not in JSON: {e:?}")));
                        return;
                    };
                    if data.get("code").and_then(Value::as_u64) == Some(code) {
                        let new = match data.get("new") {
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => String::new(),
                        };
                        let _ = tx.send(Heard::Value(client, new, now));
                    }
                }
                "lagged" => {
                    let _ = tx.send(Heard::Lagged);
                }
                _ => {}
            }
        }
    }
    let _ = tx.send(failed("the event stream ended".into()));
}

/// `sse`: the owner turns a dial; how long until each event stream hears it.
async fn sse(args: &Args, api: std::sync::Arc<Api>, camera: &str) -> Result<Value, String> {
    let entry = api.property(camera, &args.property).await?;
    let code = entry
        .get("code")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("the {} entry has no code: {entry}", args.property))?;
    let values = values_from(&args.values, &display_of(&entry));
    let path = format!("/cameras/{camera}/events");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let tasks: Vec<_> = (0..args.clients)
        .map(|i| tokio::spawn(listen(api.clone(), path.clone(), i, code, tx.clone())))
        .collect();
    drop(tx);
    let mut open = 0;
    let mut lagged = 0u64;
    let wait_open = Instant::now() + Duration::from_secs(10);
    while open < args.clients {
        match tokio::time::timeout_at(wait_open.into(), rx.recv()).await {
            Ok(Some(Heard::Open)) => open += 1,
            Ok(Some(Heard::Failed(i, e))) => return Err(format!("event stream {i}: {e}")),
            Ok(Some(Heard::Lagged)) => lagged += 1,
            Ok(Some(Heard::Value(..))) => {}
            Ok(None) | Err(_) => {
                return Err(format!("{open} of {} event streams opened", args.clients));
            }
        }
    }
    // Let every stream's subscription settle before the first turn.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let owner_path = args.owner.clone().unwrap_or_default();
    let mut owner = std::fs::OpenOptions::new()
        .append(true)
        .open(&owner_path)
        .map_err(|e| format!("cannot open {}: {e}", owner_path.display()))?;
    let mut latencies = Vec::new();
    let mut per_turn = Vec::new();
    let mut missed = 0usize;
    for value in values.iter().cycle().take(args.turns) {
        let line = format!("set {} {value}\n", args.property);
        let wrote = Instant::now();
        owner
            .write_all(line.as_bytes())
            .and_then(|()| owner.flush())
            .map_err(|e| format!("writing to {}: {e}", owner_path.display()))?;
        let mut heard: HashMap<usize, f64> = HashMap::new();
        let deadline = wrote + Duration::from_secs(5);
        while heard.len() < args.clients {
            match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
                Ok(Some(Heard::Value(i, new, at))) if new == *value && at >= wrote => {
                    heard.entry(i).or_insert_with(|| ms(at - wrote));
                }
                Ok(Some(Heard::Failed(i, e))) => return Err(format!("event stream {i}: {e}")),
                Ok(Some(Heard::Lagged)) => lagged += 1,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        missed += args.clients - heard.len();
        let mut turn: Vec<f64> = heard.into_values().collect();
        turn.sort_by(f64::total_cmp);
        per_turn.push(median(&turn));
        latencies.extend(turn);
        tokio::time::sleep(args.gap).await;
    }
    for t in tasks {
        t.abort();
    }
    let mut out = json!({
        "mode": "sse",
        "clients": args.clients,
        "turns": args.turns,
        "values": values,
        "missed": missed,
        "lagged": lagged,
        "per_turn_median_ms": per_turn,
    });
    merge(&mut out, summary(latencies));
    Ok(out)
}

#[tokio::main]
async fn main() {
    let result = async {
        let args = parse()?;
        let api = std::sync::Arc::new(Api::new(&args)?);
        let camera = api.camera(args.camera.as_deref()).await?;
        let out = match args.mode {
            Mode::Props => props(&args, &api, &camera).await?,
            Mode::Set => set(&args, &api, &camera).await?,
            Mode::Mjpeg => mjpeg(&args, api.clone(), &camera).await?,
            Mode::Sse => sse(&args, api.clone(), &camera).await?,
        };
        let mut out = out;
        merge(&mut out, json!({"camera": camera}));
        Ok::<Value, String>(out)
    }
    .await;
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{out}");
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "http_bench: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_anywhere() {
        let stream = b"--b\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\nX-Frame-Number: 7\r\n\r\n\xFF\xD8xy\r\n--b\r\nContent-Type: image/jpeg\r\nContent-Length: 3\r\nX-Frame-Number: 7\r\n\r\n\xFF\xD8z\r\n--b\r\n";
        for cut in 1..stream.len() {
            let mut m = Multipart::new("b");
            let (a, b) = stream.split_at(cut);
            let mut parts = m.feed(a).unwrap();
            parts.extend(m.feed(b).unwrap());
            assert_eq!(
                parts,
                vec![Part { frame: 7, len: 4 }, Part { frame: 7, len: 3 }],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn events_with_comments() {
        let mut r = EventReader::default();
        let e = r
            .feed(b": keep-alive\n\nevent: property\ndata: {\"code\":1}\r\n\r\nevent: lagged\ndata: {}\n")
            .unwrap();
        assert_eq!(
            e,
            vec![Event {
                name: "property".into(),
                data: "{\"code\":1}".into()
            }]
        );
        assert_eq!(r.feed(b"\n").unwrap().len(), 1);
    }

    #[test]
    fn quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.95), 95.0);
        assert_eq!(median(&v), 50.5);
        assert_eq!(
            values_from(&["800".into(), "1600".into()], "800"),
            ["1600", "800"]
        );
    }
}
