//! The server's streams and images against the simulated camera in this process, over real
//! HTTP on loopback: Server-Sent Events (a dial turned by the camera's owner, a client that
//! does not read, the keep-alive), MJPEG live view (the parts, their numbers, the newest frame
//! sent again while a bulb or a refused live view stops the frames, two clients, a cap on
//! streams, the end at shutdown), the newest frame and its focal frames, and the images (a shot
//! taken with the camera's own button listed and announced, ranges, thumbnails, deletion, names
//! that are not in the store). Nothing here asserts a duration: every wait ends on what the
//! server sends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use sonyctl_camera::save::Saver;
use sonyctl_camera::{Camera, CameraOptions, Link, ShotKind, SimClock};
use sonyctl_ptp::{Event as PtpEvent, Operation, OperationCode, Params, Response, ResponseCode};
use sonyctl_server::{Limits, Registry, Server, ServerConfig};
use sonyctl_service::{CameraService, ExposureState, ServiceHandle, ServiceOptions, ShotOptions};
use sonyctl_sim::{Fault, OwnerAction, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::codes::{handle, op};
use sonyctl_transport::{DataSink, SimLink, SizeSink, Transport, TransportError, TransportFuture};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The simulated camera, whose live view can be refused on demand (GeneralError to every
/// live-view request, a body whose live view fails), and its buttons too (GeneralError to every
/// press: a shot fails at once).
struct Refusing {
    inner: SimLink,
    refuse: Arc<AtomicBool>,
    refuse_buttons: Arc<AtomicBool>,
}

impl Transport for Refusing {
    fn name(&self) -> &'static str {
        "simulated camera refusing live view on demand"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut SizeSink<'_>,
        sink: &'a mut DataSink<'_>,
    ) -> TransportFuture<'a, Result<Response, TransportError>> {
        let live_view =
            op.code == OperationCode::GET_OBJECT && op.params.get(0) == Some(handle::LIVE_VIEW);
        let button = op.code == op::SDIO_CONTROL_DEVICE;
        if (live_view && self.refuse.load(Ordering::Relaxed))
            || (button && self.refuse_buttons.load(Ordering::Relaxed))
        {
            let response = Response {
                code: ResponseCode::GENERAL_ERROR,
                transaction_id: op.transaction_id,
                params: Params::NONE,
            };
            return Box::pin(async move { Ok(response) });
        }
        self.inner
            .transact_streaming(op, data_out, max_data, on_size, sink)
    }

    fn try_event(&mut self) -> Option<PtpEvent> {
        self.inner.try_event()
    }

    fn next_event(&mut self, limit: Duration) -> TransportFuture<'_, Option<PtpEvent>> {
        self.inner.next_event(limit)
    }

    fn reconnect(&mut self) -> TransportFuture<'_, Result<(), TransportError>> {
        self.inner.reconnect()
    }

    fn now(&self) -> Duration {
        self.inner.now()
    }

    fn elapsed_since(&self, start: std::time::Instant) -> Duration {
        self.inner.elapsed_since(start)
    }

    fn sleep(&mut self, d: Duration) -> TransportFuture<'_, ()> {
        self.inner.sleep(d)
    }

    fn simulated(&self) -> Option<&SimulatedCamera> {
        self.inner.simulated()
    }

    fn simulated_mut(&mut self) -> Option<&mut SimulatedCamera> {
        self.inner.simulated_mut()
    }
}

/// How a test's server and camera are set up.
struct Setup {
    limits: Limits,
    service: ServiceOptions,
    sim: SimOptions,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            limits: Limits::default(),
            service: ServiceOptions::default(),
            sim: SimOptions {
                // Small RAW files: the tests read whole files.
                raw_size: Some(300_000),
                ..SimOptions::default()
            },
        }
    }
}

/// A server on loopback serving one simulated ILCE-6000 on the real clock.
struct Harness {
    /// `http://127.0.0.1:PORT/api/v1/cameras/ID`.
    camera_url: String,
    addr: std::net::SocketAddr,
    id: String,
    /// The camera service, as the server has it.
    camera: ServiceHandle,
    /// While true, the camera refuses live view.
    refuse_live_view: Arc<AtomicBool>,
    /// While true, the camera refuses every button press.
    refuse_buttons: Arc<AtomicBool>,
    /// Holds the output folder (`images`) and what is beside it.
    dir: tempfile::TempDir,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(setup: Setup) -> Harness {
    let sim = SimulatedCamera::new(Profile::builtin("ilce-6000").unwrap(), setup.sim);
    let refuse_live_view = Arc::new(AtomicBool::new(false));
    let refuse_buttons = Arc::new(AtomicBool::new(false));
    let link = Link::new(Refusing {
        inner: SimLink::new(sim, SimClock::real(1.0)),
        refuse: refuse_live_view.clone(),
        refuse_buttons: refuse_buttons.clone(),
    });
    let cam = Camera::open(link, CameraOptions::default()).await.unwrap();
    let camera = CameraService::spawn(cam, setup.service);
    let registry = Registry::new();
    let entry = registry.add(camera.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("images"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.limits = setup.limits;
    let bound = Server::bind(config, registry).await.unwrap();
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    Harness {
        camera_url: format!("http://{addr}/api/v1/cameras/{}", entry.id),
        addr,
        id: entry.id.clone(),
        camera,
        refuse_live_view,
        refuse_buttons,
        dir,
        client: reqwest::Client::new(),
        stop: Some(stop),
        server,
    }
}

impl Harness {
    /// The server's output folder.
    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("images")
    }

    fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.camera_url)
    }

    async fn get(&self, rest: &str) -> reqwest::Response {
        self.client.get(self.url(rest)).send().await.unwrap()
    }

    /// Does what the camera's owner does (`set iso 800`, `shutter`).
    async fn owner(&self, action: &str) {
        let action: OwnerAction = action.parse().unwrap();
        self.camera
            .with_camera(move |cam| {
                cam.link_mut()
                    .simulated_mut()
                    .unwrap()
                    .owner(&action)
                    .unwrap()
            })
            .await
            .unwrap();
    }

    async fn events(&self) -> Sse {
        let r = self.get("/events").await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Sse::new(r)
    }

    async fn mjpeg(&self, query: &str) -> Mjpeg {
        let r = self.get(&format!("/liveview.mjpg{query}")).await;
        assert_eq!(r.status(), 200);
        Mjpeg::new(r)
    }

    /// POSTs `body` as JSON to `rest`; the status and the JSON answer.
    async fn post(&self, rest: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(rest))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Opens the event stream on a connection that holds little and is not read
    /// ([`slow_client`]; HTTP/1.0: the body is the event stream as it is, until the connection
    /// closes).
    async fn slow_events(&self) -> tokio::net::TcpStream {
        let mut slow = slow_client(self.addr);
        slow.write_all(
            format!(
                "GET /api/v1/cameras/{}/events HTTP/1.0\r\nHost: {}\r\n\r\n",
                self.id, self.addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        // Subscribed before anything is turned: its head and `status` have arrived.
        let mut head = Vec::new();
        while !String::from_utf8_lossy(&head).contains("event: status\ndata: ")
            || !head.ends_with(b"\n\n")
        {
            let mut b = [0u8; 512];
            let n = slow.read(&mut b).await.unwrap();
            assert!(n > 0, "the stream ended");
            head.extend_from_slice(&b[..n]);
        }
        assert!(
            head.starts_with(b"HTTP/1.0 200"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        slow
    }

    /// Turns the ISO dial `changes` times, each change heard by `reader` before the next:
    /// far more events than a connection that is not read and the service's ring hold.
    async fn turn_the_dial(&self, reader: &mut Sse, changes: usize) {
        let isos = ["800", "1600"];
        for i in 0..changes {
            self.owner(&format!("set iso {}", isos[i % 2])).await;
            loop {
                let p = reader.until("property").await;
                if p["code"] == 0xD21E {
                    assert_eq!(p["new"], isos[i % 2]);
                    break;
                }
            }
        }
    }

    /// Takes a shot with the camera's own button and returns the name of the image the server
    /// saved, from the `image` event of `events` (whose other events are skipped).
    async fn shoot_on_camera(&self, events: &mut Sse) -> String {
        self.owner("shutter").await;
        let image = events.until("image").await;
        let name = image["name"].as_str().unwrap().to_string();
        assert_eq!(image["format"], "JPEG");
        assert!(image["size"].as_u64().unwrap() > 0);
        name
    }

    /// Shuts the server down and waits for it to end.
    async fn shut_down(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.await.unwrap().unwrap();
    }
}

/// An error body's code.
async fn error_code(r: reqwest::Response) -> String {
    let body: Value = r.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_string()
}

/// What a Server-Sent Events stream carries.
#[derive(Debug)]
enum SseItem {
    Event { name: String, data: Value },
    Comment(String),
}

/// Reads Server-Sent Events from a response.
struct Sse {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: Vec<u8>,
}

impl Sse {
    fn new(r: reqwest::Response) -> Sse {
        Sse {
            body: r.bytes_stream().boxed(),
            buf: Vec::new(),
        }
    }

    /// The next event or comment; `None` when the stream ends.
    async fn next(&mut self) -> Option<SseItem> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(block).unwrap();
                let mut name = None;
                let mut data = String::new();
                for line in text.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        return Some(SseItem::Comment(c.trim().to_string()));
                    } else if let Some(n) = line.strip_prefix("event: ") {
                        name = Some(n.to_string());
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                return Some(SseItem::Event {
                    name: name.expect("every event is named"),
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
            match self.body.next().await {
                Some(chunk) => self.buf.extend_from_slice(&chunk.unwrap()),
                None => return None,
            }
        }
    }

    /// The next event (comments skipped).
    async fn event(&mut self) -> (String, Value) {
        loop {
            match self.next().await.expect("the stream goes on") {
                SseItem::Event { name, data } => return (name, data),
                SseItem::Comment(_) => {}
            }
        }
    }

    /// The data of the next event called `name`, skipping the others.
    async fn until(&mut self, name: &str) -> Value {
        loop {
            let (n, data) = self.event().await;
            if n == name {
                return data;
            }
        }
    }
}

/// One part of a multipart stream.
#[derive(Debug)]
struct Part {
    content_type: String,
    number: u64,
    jpeg: Vec<u8>,
}

/// Reads a `multipart/x-mixed-replace` stream, checking its framing: the boundary first, and
/// after each part the delimiter of the next.
struct Mjpeg {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: Vec<u8>,
    boundary: String,
    opened: bool,
}

impl Mjpeg {
    fn new(r: reqwest::Response) -> Mjpeg {
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        let (kind, boundary) = content_type.split_once("; boundary=").unwrap();
        assert_eq!(kind, "multipart/x-mixed-replace");
        Mjpeg {
            boundary: boundary.to_string(),
            body: r.bytes_stream().boxed(),
            buf: Vec::new(),
            opened: false,
        }
    }

    /// At least `n` bytes in the buffer; false when the stream ended first.
    async fn fill(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            match self.body.next().await {
                Some(chunk) => self.buf.extend_from_slice(&chunk.unwrap()),
                None => return false,
            }
        }
        true
    }

    /// Takes `text` from the front of the stream, which must be there.
    async fn expect(&mut self, text: &[u8]) -> bool {
        if !self.fill(text.len()).await {
            return false;
        }
        assert_eq!(
            &self.buf[..text.len()],
            text,
            "{:?}",
            String::from_utf8_lossy(&self.buf[..text.len()])
        );
        self.buf.drain(..text.len());
        true
    }

    /// The next part; `None` when the stream ends.
    async fn part(&mut self) -> Option<Part> {
        if !self.opened {
            let first = format!("--{}\r\n", self.boundary);
            if !self.expect(first.as_bytes()).await {
                return None;
            }
            self.opened = true;
        }
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let more = self.buf.len() + 1;
            if !self.fill(more).await {
                return None;
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end + 4).collect();
        let head = String::from_utf8(head).unwrap();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_else(|| panic!("no {name} in {head:?}"))
        };
        let length: usize = header("Content-Length").parse().unwrap();
        let number: u64 = header("X-Frame-Number").parse().unwrap();
        let content_type = header("Content-Type");
        assert!(self.fill(length).await, "the stream ended inside a part");
        let jpeg: Vec<u8> = self.buf.drain(..length).collect();
        let delimiter = format!("\r\n--{}\r\n", self.boundary);
        assert!(self.expect(delimiter.as_bytes()).await);
        Some(Part {
            content_type,
            number,
            jpeg,
        })
    }
}

/// The status and body of a GET of `path` sent as it is (no client resolves its dot segments).
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

/// A response's `X-Frame-Number`.
fn frame_number(r: &reqwest::Response) -> u64 {
    r.headers()["x-frame-number"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn assert_jpeg(bytes: &[u8]) {
    assert!(bytes.len() > 4);
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "SOI");
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9], "EOI");
}

/// The width and height of a JPEG, decoded whole.
fn jpeg_size(bytes: &[u8]) -> (u16, u16) {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.decode().unwrap();
    let info = d.info().unwrap();
    (info.width, info.height)
}

fn is_rfc3339_utc(t: &str) -> bool {
    // 2026-01-02T03:04:05.678Z
    let b = t.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && t.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owners_dial_turn_reaches_the_event_stream() {
    let h = start(Setup::default()).await;
    let mut events = h.events().await;
    // The status comes first, so that a page can draw at once.
    let (name, status) = events.event().await;
    assert_eq!(name, "status");
    // The same shape as the status of GET /api/v1/cameras/{id}.
    assert!(status["pending_images"].is_u64(), "{status}");
    assert!(status.get("battery_percent").is_some(), "{status}");
    assert_eq!(status["connected"], true);
    assert_eq!(status["exposure"]["state"], "idle");

    let before = h.camera.get("iso").await.unwrap();
    assert_ne!(before.display, "800");
    h.owner("set iso 800").await;
    let change = loop {
        let p = events.until("property").await;
        if p["code"] == 0xD21E {
            break p;
        }
    };
    assert_eq!(change["new"], "800");
    assert_eq!(change["old"], before.display.as_str());
    assert_eq!(change["new_raw"], 800);
    assert_eq!(
        change["old_raw"].as_u64(),
        before.value().as_u64(),
        "{change}"
    );
    assert_eq!(change["name"], "ISO");
    assert!(is_rfc3339_utc(change["time"].as_str().unwrap()), "{change}");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_event_stream_sends_keep_alive_comments() {
    let h = start(Setup {
        limits: Limits {
            event_keep_alive: Duration::from_millis(100),
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let mut events = h.events().await;
    let mut comments = 0;
    while comments < 2 {
        match events.next().await.unwrap() {
            SseItem::Comment(c) => {
                assert_eq!(c, "keep-alive");
                comments += 1;
            }
            SseItem::Event { .. } => {}
        }
    }
    h.shut_down().await;
}

/// A connection that holds little: a small receive buffer, and small segments, so that the
/// sender's buffer for it stays small too (on loopback a segment could be 64 KiB, and the
/// kernel sizes the sender's buffer by segments).
fn slow_client(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    #[cfg(unix)]
    socket.set_tcp_mss(536).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    tokio::net::TcpStream::from_std(socket.into()).unwrap()
}

/// A client that does not read: its connection fills, its stream stops reading the service's
/// ring (8 events here), and once it reads again it is told how many it missed, with the
/// status, and goes on. The service and the other client never waited for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_read_is_told_it_lagged() {
    let h = start(Setup {
        service: ServiceOptions {
            events: 8,
            ..ServiceOptions::default()
        },
        // The kernel may not grow the server's send buffer (it can reach 4 MiB): the connection
        // then holds a few hundred events at most, far fewer than the changes, under any load.
        limits: Limits {
            send_buffer: Some(4096),
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    // A reading client beside it.
    let mut reader = h.events().await;
    assert_eq!(reader.event().await.0, "status");
    let mut slow = h.slow_events().await;
    // Far more changes than the connection and the ring hold; the reading client hears each.
    const CHANGES: usize = 1500;
    h.turn_the_dial(&mut reader, CHANGES).await;
    // The last change, which the slow client must still get after its `lagged`.
    h.owner("set iso 3200").await;
    let mut text = String::new();
    let mut buf = vec![0u8; 1 << 16];
    let last = loop {
        let n = slow.read(&mut buf).await.unwrap();
        assert!(n > 0, "the stream ended");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if let Some(last) = text.find("\"new\":\"3200\"") {
            break last;
        }
    };
    let lagged = text
        .find("event: lagged\ndata: ")
        .expect("lagged comes before the change after it");
    assert!(lagged < last);
    let data = &text[lagged + "event: lagged\ndata: ".len()..];
    let data: Value = serde_json::from_str(&data[..data.find('\n').unwrap()]).unwrap();
    let missed = data["missed"].as_u64().unwrap();
    assert!(missed > 0 && missed < CHANGES as u64, "{data}");
    assert!(data["status"]["pending_images"].is_u64(), "{data}");
    assert_eq!(data["status"]["connected"], true);
    // Fewer property events reached it than were made: it was not sent history.
    let heard = text.matches("event: property\n").count();
    assert!(heard < CHANGES, "{heard} property events");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_parts_parse_and_their_numbers_increase() {
    let h = start(Setup::default()).await;
    let mut stream = h.mjpeg("").await;
    let mut numbers = Vec::new();
    for _ in 0..20 {
        let part = stream.part().await.unwrap();
        assert_eq!(part.content_type, "image/jpeg");
        assert_jpeg(&part.jpeg);
        numbers.push(part.number);
    }
    assert!(numbers[0] >= 1);
    // A frame sent again keeps its number; new ones are numbered up.
    assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{numbers:?}");
    assert!(numbers[19] > numbers[0], "{numbers:?}");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_frame_is_sent_again_while_a_bulb_stops_the_frames() {
    let h = start(Setup::default()).await;
    let mut stream = h.mjpeg("").await;
    let first = stream.part().await.unwrap();
    let saver = Saver::new(h.dir.path().join("bulb"), None).unwrap();
    let bulb = h
        .camera
        .capture(
            ShotKind::Bulb(Duration::from_secs(600)),
            ShotOptions::new(saver),
        )
        .await
        .unwrap();
    // No frame is asked for during the exposure: the stream sends its newest again, numbered
    // as before.
    let mut last = first.number;
    let repeated = loop {
        let part = stream.part().await.unwrap();
        assert_jpeg(&part.jpeg);
        assert!(part.number >= last);
        if part.number == last {
            break part;
        }
        last = part.number;
    };
    let again = stream.part().await.unwrap();
    assert_eq!(again.number, repeated.number);
    assert_eq!(again.jpeg, repeated.jpeg);
    bulb.stop();
    // The stream goes on with new frames once the exposure is over.
    loop {
        let part = stream.part().await.unwrap();
        if part.number > repeated.number {
            break;
        }
    }
    h.shut_down().await;
}

/// Two clients at once, one capped by `?fps=`, each with its own subscription of the service's
/// one camera stream (which `crates/service/tests/live_view.rs` counts on the camera's side).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_watch_at_once() {
    let h = start(Setup::default()).await;
    let mut a = h.mjpeg("").await;
    let mut b = h.mjpeg("?fps=5").await;
    // The uncapped client reads all along, so that the camera's stream runs at its full rate.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let all = tokio::spawn(async move {
        let mut numbers = Vec::new();
        loop {
            tokio::select! {
                _ = &mut stopped => return numbers,
                part = a.part() => {
                    let part = part.unwrap();
                    assert_jpeg(&part.jpeg);
                    numbers.push(part.number);
                }
            }
        }
    });
    let mut nb = Vec::new();
    for _ in 0..8 {
        let part = b.part().await.unwrap();
        assert_jpeg(&part.jpeg);
        nb.push(part.number);
    }
    let _ = stop.send(());
    let na = all.await.unwrap();
    assert!(na.len() >= 8, "{na:?}");
    for numbers in [&na, &nb] {
        assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{numbers:?}");
        assert!(numbers.last() > numbers.first(), "{numbers:?}");
    }
    // The capped client's new frames are spaced as it asked: at 5 of the camera's 30 frames a
    // second, about 6 numbers apart (never closer than 3 on average, however slow the machine).
    let mut distinct = nb.clone();
    distinct.dedup();
    let spacing = (distinct[distinct.len() - 1] - distinct[0]) as f64 / (distinct.len() - 1) as f64;
    assert!(spacing >= 3.0, "{nb:?}");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_limits_get_503_too_many_streams() {
    // Fewer than the floor count as the floor.
    let floor = sonyctl_server::config::MIN_STREAMS;
    let h = start(Setup {
        limits: Limits {
            live_streams: 1,
            event_streams: 1,
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let mut live = Vec::new();
    for _ in 0..floor {
        live.push(h.mjpeg("").await);
    }
    live[0].part().await.unwrap();
    let r = h.get("/liveview.mjpg").await;
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "too_many_streams");
    let mut events = Vec::new();
    for _ in 0..floor {
        events.push(h.events().await);
    }
    assert_eq!(events[0].event().await.0, "status");
    let r = h.get("/events").await;
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "too_many_streams");
    // What is not a stream is still served.
    assert_eq!(h.get("/liveview.jpg").await.status(), 200);
    assert_eq!(h.get("/images").await.status(), 200);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_fps_or_camera_is_refused() {
    let h = start(Setup::default()).await;
    for q in ["?fps=0", "?fps=-1", "?fps=1000", "?fps=NaN", "?fps=fast"] {
        let r = h.get(&format!("/liveview.mjpg{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(error_code(r).await, "invalid_request", "{q}");
    }
    for rest in [
        "/events",
        "/liveview.mjpg",
        "/liveview.jpg",
        "/liveview/info",
        "/images",
    ] {
        let url = format!("http://{}/api/v1/cameras/nobody{rest}", h.addr);
        let r = h.client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 404, "{rest}");
        assert_eq!(error_code(r).await, "unknown_camera", "{rest}");
    }
    // A path that does not decode (not UTF-8) is the API's 400, for the camera and the image.
    for rest in [
        "%FF/events",
        "%FF/liveview.mjpg",
        "%FF/liveview.jpg",
        "%FF/liveview/info",
        "%FF/images",
        "nobody/images/%FF",
        "nobody/images/%FF/thumbnail",
    ] {
        let url = format!("http://{}/api/v1/cameras/{rest}", h.addr);
        let r = h.client.get(url).send().await.unwrap();
        assert_eq!(r.status(), 400, "{rest}");
        assert_eq!(error_code(r).await, "invalid_request", "{rest}");
    }
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_frame_and_what_is_drawn_over_it() {
    let h = start(Setup::default()).await;
    let r = h.get("/liveview.jpg").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let number = frame_number(&r);
    assert!(number >= 1);
    // Its age, in milliseconds.
    let age: Result<u64, _> = r.headers()["x-frame-age-ms"].to_str().unwrap().parse();
    assert!(age.is_ok(), "{:?}", r.headers());
    let jpeg = r.bytes().await.unwrap();
    assert_jpeg(&jpeg);
    let (w, hgt) = jpeg_size(&jpeg);
    assert!(w > 0 && hgt > 0);

    let r = h.get("/liveview/info").await;
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.unwrap();
    // Nobody watched between the two: the frame left from the first is not answered, a new one is.
    assert!(info["frame"].as_u64().unwrap() > number, "{info}");
    assert!(info["age_ms"].is_u64(), "{info}");
    assert_eq!(info["width"], 640);
    assert_eq!(info["height"], 480);
    assert!(
        info["focus"].is_null() || info["focus"].is_string(),
        "{info}"
    );
    let frames = info["af_frames"].as_array().unwrap();
    // The simulated body draws its focus frame at the AF point.
    assert!(frames.iter().any(|f| f["group"] == "focus"), "{info}");
    for f in frames {
        assert!(["focus", "face", "tracking", "framing"].contains(&f["group"].as_str().unwrap()));
        let (x, y) = (f["x"].as_f64().unwrap(), f["y"].as_f64().unwrap());
        let (fw, fh) = (f["width"].as_f64().unwrap(), f["height"].as_f64().unwrap());
        assert!(x >= 0.0 && y >= 0.0 && fw > 0.0 && fh > 0.0, "{f}");
        assert!(x + fw <= 640.0 && y + fh <= 480.0, "{f}");
        assert!(f["frame_type"].is_u64() && f["state"].is_u64(), "{f}");
    }
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_without_live_view_answers_503() {
    let mut sim = Setup::default().sim;
    sim.faults.insert(Fault::LiveViewOff);
    let h = start(Setup {
        sim,
        ..Setup::default()
    })
    .await;
    let r = h.get("/liveview.jpg").await;
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "live_view_unavailable");
    let r = h.get("/liveview/info").await;
    assert_eq!(r.status(), 503);
    assert_eq!(error_code(r).await, "live_view_unavailable");
    h.shut_down().await;
}

/// Live view refused by the camera does not end a stream: it sends its newest frame again,
/// numbered as before, and goes on with new frames once the camera gives them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_live_view_keeps_the_stream_waiting() {
    let h = start(Setup::default()).await;
    let mut stream = h.mjpeg("").await;
    let mut newest = stream.part().await.unwrap();
    h.refuse_live_view.store(true, Ordering::Relaxed);
    // The stream sends its newest frame again, more than once.
    let mut repeats = 0;
    while repeats < 2 {
        let part = stream.part().await.unwrap();
        assert!(part.number >= newest.number);
        if part.number == newest.number {
            assert_eq!(part.jpeg, newest.jpeg);
            repeats += 1;
        }
        newest = part;
    }
    // A client that asks now has the newest frame at once, and so does a new stream.
    let r = h.get("/liveview.jpg").await;
    assert_eq!(r.status(), 200);
    assert_eq!(frame_number(&r), newest.number);
    assert_eq!(r.bytes().await.unwrap(), newest.jpeg);
    let mut late = h.mjpeg("").await;
    let first = late.part().await.unwrap();
    assert_eq!((first.number, &first.jpeg), (newest.number, &newest.jpeg));
    h.refuse_live_view.store(false, Ordering::Relaxed);
    for s in [&mut stream, &mut late] {
        loop {
            let part = s.part().await.unwrap();
            if part.number > newest.number {
                break;
            }
        }
    }
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_when_the_server_shuts_down() {
    let h = start(Setup::default()).await;
    let mut events = h.events().await;
    assert_eq!(events.event().await.0, "status");
    let mut live = h.mjpeg("").await;
    live.part().await.unwrap();
    h.shut_down().await;
    while events.next().await.is_some() {}
    while live.part().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shot_taken_on_the_camera_is_saved_listed_and_served() {
    let h = start(Setup::default()).await;
    let mut events = h.events().await;
    let name = h.shoot_on_camera(&mut events).await;
    let path = h.out().join(&name);
    let file = std::fs::read(&path).unwrap();
    assert_jpeg(&file);

    // Listed, newest first, with what the event said.
    let second = h.shoot_on_camera(&mut events).await;
    assert_ne!(second, name);
    let list: Value = h.get("/images").await.json().await.unwrap();
    let images = list["images"].as_array().unwrap();
    let names: Vec<&str> = images.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, [second.as_str(), name.as_str()]);
    let first = &images[1];
    assert_eq!(first["size"], file.len() as u64);
    assert_eq!(first["format"], "JPEG");
    assert!(is_rfc3339_utc(first["time"].as_str().unwrap()));
    assert!(first["settings"].is_object());

    // The whole file, as saved.
    let r = h.get(&format!("/images/{name}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(r.bytes().await.unwrap(), file);

    // A range: exactly those bytes.
    let r = h
        .client
        .get(h.url(&format!("/images/{name}")))
        .header("Range", "bytes=100-1123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes 100-1123/{}", file.len())
    );
    assert_eq!(r.bytes().await.unwrap(), &file[100..1124]);
    // From an offset to the end.
    let r = h
        .client
        .get(h.url(&format!("/images/{name}")))
        .header("Range", format!("bytes={}-", file.len() - 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap(), &file[file.len() - 10..]);
    // Beyond the end.
    let r = h
        .client
        .get(h.url(&format!("/images/{name}")))
        .header("Range", format!("bytes={}-", file.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"].to_str().unwrap(),
        format!("bytes */{}", file.len())
    );
    assert_eq!(error_code(r).await, "range_not_satisfiable");
    // Several ranges, or another unit: ignored, the whole file.
    for range in ["bytes=0-1,5-9", "items=0-1"] {
        let r = h
            .client
            .get(h.url(&format!("/images/{name}")))
            .header("Range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{range}");
        assert_eq!(r.bytes().await.unwrap(), file, "{range}");
    }
    // Unchanged: 304.
    let r = h
        .client
        .get(h.url(&format!("/images/{name}")))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    // The thumbnail: a JPEG at most 320 wide, the picture's shape kept.
    let (w, hgt) = jpeg_size(&file);
    for _ in 0..2 {
        let r = h.get(&format!("/images/{name}/thumbnail")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        let thumb = r.bytes().await.unwrap();
        assert_jpeg(&thumb);
        let (tw, th) = jpeg_size(&thumb);
        assert!(tw <= 320 && tw > 0 && tw <= w, "{tw}×{th}");
        let ratio = |a: u16, b: u16| f64::from(a) / f64::from(b);
        assert!(
            (ratio(tw, th) - ratio(w, hgt)).abs() < 0.02,
            "{tw}×{th} of {w}×{hgt}"
        );
    }

    // Deleted: the file and the record.
    let r = h
        .client
        .delete(h.url(&format!("/images/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(!path.exists());
    let list: Value = h.get("/images").await.json().await.unwrap();
    assert_eq!(list["images"].as_array().unwrap().len(), 1);
    for rest in [
        format!("/images/{name}"),
        format!("/images/{name}/thumbnail"),
    ] {
        let r = h.get(&rest).await;
        assert_eq!(r.status(), 404);
        assert_eq!(error_code(r).await, "unknown_image");
    }
    let r = h
        .client
        .delete(h.url(&format!("/images/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_names_in_the_store_are_served() {
    let h = start(Setup::default()).await;
    let mut events = h.events().await;
    let name = h.shoot_on_camera(&mut events).await;
    // A file in the output folder the server did not save, and one outside it.
    std::fs::write(h.out().join("stray.jpg"), b"\xFF\xD8 not saved here").unwrap();
    std::fs::write(h.dir.path().join("outside.jpg"), b"secret").unwrap();
    for rest in [
        "/images/stray.jpg".to_string(),
        "/images/..%2Foutside.jpg".to_string(),
        "/images/..%2F..%2F..%2Fetc%2Fpasswd".to_string(),
        format!("/images/.%2F{name}"),
        format!("/images/{}", name.to_lowercase()),
        "/images/..%2Fstray.jpg/thumbnail".to_string(),
    ] {
        let r = h.get(&rest).await;
        assert_eq!(r.status(), 404, "{rest}");
        assert_eq!(error_code(r).await, "unknown_image", "{rest}");
        let r = h.client.delete(h.url(&rest)).send().await.unwrap();
        assert!(r.status() == 404 || r.status() == 405, "{rest}");
    }
    // Dot segments as a client sends them unresolved: the server never resolves them either.
    for name in ["..", "%2E%2E", ".", "%2e%2e%2fimages%2fstray.jpg"] {
        let (status, body) =
            raw_get(h.addr, &format!("/api/v1/cameras/{}/images/{name}", h.id)).await;
        assert_eq!(status, 404, "{name}");
        assert!(body.contains("\"unknown_image\""), "{name}: {body}");
    }
    assert!(h.out().join("stray.jpg").exists());
    assert!(h.out().join(&name).exists());
    // A file removed behind the server's back is forgotten when asked for.
    std::fs::remove_file(h.out().join(&name)).unwrap();
    let r = h.get(&format!("/images/{name}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "unknown_image");
    let list: Value = h.get("/images").await.json().await.unwrap();
    assert_eq!(list["images"], serde_json::json!([]));
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_files_without_a_preview_have_no_thumbnail() {
    // `raw_size` below an ARW's size makes the camera write a TIFF header and filler: a RAW
    // file without a preview.
    let h = start(Setup::default()).await;
    let mut events = h.events().await;
    h.owner("set compression RAW+JPEG Fine").await;
    h.owner("shutter").await;
    let mut formats = BTreeSet::new();
    let mut raw = None;
    while formats.len() < 2 {
        let image = events.until("image").await;
        let format = image["format"].as_str().unwrap().to_string();
        if format == "ARW" {
            raw = Some(image["name"].as_str().unwrap().to_string());
        }
        formats.insert(format);
    }
    assert_eq!(
        formats,
        BTreeSet::from(["ARW".to_string(), "JPEG".to_string()])
    );
    let raw = raw.unwrap();
    let r = h.get(&format!("/images/{raw}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/x-sony-arw");
    assert_eq!(
        r.bytes().await.unwrap(),
        std::fs::read(h.out().join(&raw)).unwrap()
    );
    let r = h.get(&format!("/images/{raw}/thumbnail")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "no_thumbnail");
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_files_thumbnail_is_made_from_its_preview() {
    let h = start(Setup {
        sim: SimOptions::default(),
        ..Setup::default()
    })
    .await;
    let mut events = h.events().await;
    h.owner("set compression RAW").await;
    h.owner("shutter").await;
    let image = events.until("image").await;
    assert_eq!(image["format"], "ARW");
    let raw = image["name"].as_str().unwrap().to_string();
    let file = std::fs::read(h.out().join(&raw)).unwrap();
    let preview = sonyctl_raw::preview(&file).unwrap().unwrap();
    let r = h.get(&format!("/images/{raw}/thumbnail")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let thumb = r.bytes().await.unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&thumb[..]);
    decoder.decode().unwrap();
    let t = decoder.info().unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(preview);
    decoder.read_info().unwrap();
    let p = decoder.info().unwrap();
    // The preview's shape, within 320 × 320.
    assert_eq!(t.width, 320);
    assert_eq!(
        t.height,
        (u32::from(p.height) * 320 / u32::from(p.width)) as u16
    );
    h.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_streams_and_images() {
    let h = start(Setup::default()).await;
    let url = format!("http://{}/api/v1/openapi.json", h.addr);
    let doc: Value = h
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/cameras/{id}/events", "get"),
        ("/api/v1/cameras/{id}/liveview.mjpg", "get"),
        ("/api/v1/cameras/{id}/liveview.jpg", "get"),
        ("/api/v1/cameras/{id}/liveview/info", "get"),
        ("/api/v1/cameras/{id}/images", "get"),
        ("/api/v1/cameras/{id}/images/{name}", "get"),
        ("/api/v1/cameras/{id}/images/{name}", "delete"),
        ("/api/v1/cameras/{id}/images/{name}/thumbnail", "get"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path}");
        assert!(op["responses"]["404"].is_object(), "{method} {path}");
    }
    let fps = paths["/api/v1/cameras/{id}/liveview.mjpg"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "fps")
        .unwrap()
        .clone();
    assert_eq!(fps["in"], "query");
    assert_eq!(fps["schema"]["maximum"], 120.0);
    h.shut_down().await;
}

/// A generous bound on what must come at once: far less than what it would otherwise take
/// (a spacing of 100 s, a bulb of ten minutes).
const AT_ONCE: Duration = Duration::from_secs(30);

/// A client asking for fewer than a frame a second gets its first frame at once (not a spacing
/// later), the newest again about once a second after it, and new frames at its rate: the
/// repeats never hold them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_rate_gets_its_first_frame_at_once_and_new_ones_at_its_rate() {
    let h = start(Setup::default()).await;
    // One frame every 100 s: the first comes at once, and repeats follow it.
    let mut rare = h.mjpeg("?fps=0.01").await;
    let first = tokio::time::timeout(AT_ONCE, rare.part())
        .await
        .expect("the first frame a spacing late")
        .unwrap();
    assert_jpeg(&first.jpeg);
    let again = rare.part().await.unwrap();
    assert_eq!((again.number, &again.jpeg), (first.number, &first.jpeg));
    drop(rare);

    // One frame every 2 s: new frames keep coming, with repeats between them.
    let mut slow = h.mjpeg("?fps=0.5").await;
    let parts = tokio::time::timeout(Duration::from_secs(120), async {
        let mut parts: Vec<Part> = vec![slow.part().await.unwrap()];
        let mut distinct = 1;
        while distinct < 3 {
            let part = slow.part().await.unwrap();
            let last = parts.last().unwrap();
            assert!(part.number >= last.number);
            if part.number == last.number {
                assert_eq!(part.jpeg, last.jpeg);
            } else {
                distinct += 1;
            }
            parts.push(part);
        }
        parts
    })
    .await
    .expect("new frames at 0.5 fps");
    let numbers: Vec<u64> = parts.iter().map(|p| p.number).collect();
    assert!(numbers[0] >= first.number, "{numbers:?}");
    h.shut_down().await;
}

/// A client that joins during a bulb (no frame comes for minutes) has the newest frame at once,
/// from the stream and from `liveview.jpg` and `liveview/info`, and new frames after the bulb.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_joining_during_a_bulb_has_the_newest_frame_at_once() {
    let h = start(Setup::default()).await;
    let mut watching = h.mjpeg("").await;
    watching.part().await.unwrap();
    let saver = Saver::new(h.dir.path().join("bulb"), None).unwrap();
    let bulb = h
        .camera
        .capture(
            ShotKind::Bulb(Duration::from_secs(600)),
            ShotOptions::new(saver),
        )
        .await
        .unwrap();
    h.camera
        .status_changes()
        .wait_for(|s| s.exposure.state == ExposureState::Exposing)
        .await
        .unwrap();
    // No frame comes during the exposure: the watching stream repeats its newest.
    let newest = {
        let mut last = watching.part().await.unwrap();
        loop {
            let part = watching.part().await.unwrap();
            if part.number == last.number {
                break part;
            }
            last = part;
        }
    };
    let mut late = h.mjpeg("").await;
    let first = tokio::time::timeout(AT_ONCE, late.part())
        .await
        .expect("nothing before the bulb ends")
        .unwrap();
    assert_eq!((first.number, &first.jpeg), (newest.number, &newest.jpeg));
    let again = late.part().await.unwrap();
    assert_eq!(again.number, newest.number);

    let r = tokio::time::timeout(AT_ONCE, h.get("/liveview.jpg"))
        .await
        .expect("liveview.jpg waits for the bulb");
    assert_eq!(r.status(), 200);
    assert_eq!(frame_number(&r), newest.number);
    let age: u64 = r.headers()["x-frame-age-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // At least as old as the exposure's wait for it.
    assert!(age > 0);
    assert_eq!(r.bytes().await.unwrap(), newest.jpeg);
    let info: Value = h.get("/liveview/info").await.json().await.unwrap();
    assert_eq!(info["frame"], newest.number, "{info}");
    bulb.stop();
    loop {
        let part = late.part().await.unwrap();
        if part.number > newest.number {
            break;
        }
    }
    h.shut_down().await;
}

/// The data of the events called `name` in a raw event stream's text.
fn events_named(text: &str, name: &str) -> Vec<Value> {
    let head = format!("event: {name}\ndata: ");
    text.split("\n\n")
        .filter_map(|block| block.trim_start_matches('\n').strip_prefix(&head))
        .filter_map(|data| serde_json::from_str(data.lines().next()?).ok())
        .collect()
}

/// A client whose connection fills while one job ends and another makes more updates than the
/// job channel holds (64) hears how each ended, after its `lagged`. (How much the connection
/// holds is the kernel's to say, so whether this client read the first job's end before its
/// connection filled varies; `api::events`' own test has the stream miss it for certain.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_missed_job_updates_hears_how_every_job_stands() {
    let h = start(Setup {
        service: ServiceOptions {
            events: 8,
            ..ServiceOptions::default()
        },
        limits: Limits {
            // The jobs take longer than the default 30 s the server waits on a full connection.
            write_timeout: Duration::from_secs(3600),
            // As above: the connection holds far fewer events than the dial turns.
            send_buffer: Some(4096),
            ..Limits::default()
        },
        ..Setup::default()
    })
    .await;
    let mut reader = h.events().await;
    assert_eq!(reader.event().await.0, "status");
    let mut slow = h.slow_events().await;
    // Its connection fills up: it no longer reads the job updates.
    h.turn_the_dial(&mut reader, 1500).await;
    // One job that ends; then one whose updates (its start, each shot's, its end) push the
    // first one's out of the channel: its shots fail at once, the camera refusing its buttons.
    let mut ended = Vec::new();
    for (count, refuse) in [(1, false), (80, true)] {
        h.refuse_buttons.store(refuse, Ordering::Relaxed);
        let (status, body) = h.post("/capture", timelapse(count)).await;
        assert_eq!(status, 202, "{body}");
        let job = body["job"].as_u64().unwrap();
        let last = loop {
            let j = reader.until("job").await;
            if j["job"] == job && !["queued", "running"].contains(&j["state"].as_str().unwrap()) {
                break j;
            }
        };
        ended.push(last);
    }
    assert_eq!(ended[0]["state"], "done");
    // It reads again: `lagged`, then every job's state, the first job's end among them.
    let mut text = String::new();
    let mut buf = vec![0u8; 1 << 16];
    let heard = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let n = slow.read(&mut buf).await.unwrap();
            assert!(n > 0, "the stream ended");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            let jobs = events_named(&text, "job");
            if ended.iter().all(|end| jobs.contains(end)) {
                break jobs;
            }
        }
    })
    .await
    .expect("a job's end never came");
    assert!(!events_named(&text, "lagged").is_empty());
    // Every event it heard of the first job is one of its states, in order, ending with `done`
    // (heard as it happened, or after the lag as it stands).
    let first: Vec<&str> = heard
        .iter()
        .filter(|j| j["job"] == ended[0]["job"])
        .map(|j| j["state"].as_str().unwrap())
        .collect();
    assert_eq!(first.last(), Some(&"done"), "{first:?}");
    h.shut_down().await;
}

/// A timelapse of `count` shots as fast as the camera takes them.
fn timelapse(count: u32) -> Value {
    serde_json::json!({"count": count, "interval": "0s", "af": false})
}

/// Thumbnails fit a 320 × 320 box whatever the picture's shape, and a picture too large to
/// decode has none. (The simulated camera's pictures are 3:2: the saved file is replaced by a
/// tall one, as a camera held upright might make.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tall_picture_has_a_thumbnail_within_the_box() {
    let h = start(Setup::default()).await;
    let mut events = h.events().await;
    let tall = h.shoot_on_camera(&mut events).await;
    let (w, ht) = (240u16, 2400u16);
    let pixels: Vec<u8> = (0..usize::from(w) * usize::from(ht) * 3)
        .map(|i| (i % 253) as u8)
        .collect();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 85)
        .encode(&pixels, w, ht, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    std::fs::write(h.out().join(&tall), &jpeg).unwrap();
    let r = h.get(&format!("/images/{tall}/thumbnail")).await;
    assert_eq!(r.status(), 200);
    let (tw, th) = jpeg_size(&r.bytes().await.unwrap());
    assert_eq!((tw, th), (32, 320));

    // One announcing 60000 × 60000 pixels (3.6 gigapixels) is refused before it is decoded.
    let huge = h.shoot_on_camera(&mut events).await;
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    std::fs::write(h.out().join(&huge), &jpeg).unwrap();
    let r = h.get(&format!("/images/{huge}/thumbnail")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(error_code(r).await, "no_thumbnail");
    h.shut_down().await;
}
