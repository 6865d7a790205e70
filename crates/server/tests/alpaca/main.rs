//! The Alpaca server over HTTP and UDP, against a scripted camera and focuser. Replies are
//! read independently of the server's code: JSON as `serde_json::Value`, ImageBytes with the
//! header parser below.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod astro;
mod fake;

use std::sync::Arc;

use fake::{FakeCamera, FakeFocuser, FakeFrame, MAX_INCREMENT, MAX_STEP, mono_sample, rgb_sample};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use sonyctl_server::alpaca::{
    AlpacaBound, AlpacaConfig, AlpacaDevices, AlpacaServer, CameraState, FocusMove,
};
use tokio::sync::oneshot;

/// An Alpaca server's address and a client for it.
struct Http {
    base: String,
    client: reqwest::Client,
}

struct Served {
    http: Http,
    camera: Arc<FakeCamera>,
    focuser: Arc<FakeFocuser>,
    discovery: Vec<std::net::SocketAddr>,
    port: u16,
    _stop: oneshot::Sender<()>,
}

fn config() -> AlpacaConfig {
    AlpacaConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        discovery_port: None,
        ..AlpacaConfig::default()
    }
}

async fn start(bound: AlpacaBound) -> (oneshot::Sender<()>, u16) {
    let port = bound.local_addr().port();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(bound.run(async move {
        let _ = stopped.await;
    }));
    (stop, port)
}

async fn serve_with(config: AlpacaConfig, width: u32, height: u32) -> Served {
    let camera = FakeCamera::new("4711", width, height);
    let focuser = FakeFocuser::new("4711");
    let mut devices = AlpacaDevices::new();
    devices.add_body(camera.clone(), focuser.clone());
    let bound = AlpacaServer::bind(config, devices).await.unwrap();
    let discovery = bound.discovery_addrs().to_vec();
    let (stop, port) = start(bound).await;
    Served {
        http: Http {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        },
        camera,
        focuser,
        discovery,
        port,
        _stop: stop,
    }
}

async fn serve() -> Served {
    serve_with(config(), 60, 40).await
}

impl std::ops::Deref for Served {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Http {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        if status == StatusCode::OK {
            assert_eq!(
                r.headers()["content-type"],
                "application/json",
                "GET {path}"
            );
            (status, r.json().await.unwrap())
        } else {
            (status, Value::String(r.text().await.unwrap()))
        }
    }

    async fn put(&self, path: &str, form: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .put(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        if status == StatusCode::OK {
            (status, r.json().await.unwrap())
        } else {
            (status, Value::String(r.text().await.unwrap()))
        }
    }

    /// A GET that must succeed: its `Value`.
    async fn value(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["ErrorNumber"], 0, "{path}: {body}");
        assert_eq!(body["ErrorMessage"], "", "{path}: {body}");
        body["Value"].clone()
    }

    /// A PUT that must succeed.
    async fn ok(&self, path: &str, form: &str) {
        let (status, body) = self.put(path, form).await;
        assert_eq!(status, StatusCode::OK, "{path} {form}: {body}");
        assert_eq!(body["ErrorNumber"], 0, "{path} {form}: {body}");
    }

    /// The Alpaca error number of a GET (HTTP 200).
    async fn get_error(&self, path: &str) -> u64 {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.get("Value").is_none(), "{path}: {body}");
        assert_ne!(body["ErrorMessage"], "", "{path}: {body}");
        body["ErrorNumber"].as_u64().unwrap()
    }

    async fn put_error(&self, path: &str, form: &str) -> u64 {
        let (status, body) = self.put(path, form).await;
        assert_eq!(status, StatusCode::OK, "{path} {form}: {body}");
        assert_ne!(body["ErrorMessage"], "", "{path}: {body}");
        body["ErrorNumber"].as_u64().unwrap()
    }

    async fn connect(&self) {
        for kind in ["camera", "focuser"] {
            self.ok(&format!("/api/v1/{kind}/0/connect"), "").await;
            // The fake connects at once; the background task ends soon after.
            while self.value(&format!("/api/v1/{kind}/0/connecting")).await == true {
                tokio::task::yield_now().await;
            }
            assert_eq!(
                self.value(&format!("/api/v1/{kind}/0/connected")).await,
                true
            );
        }
    }

    async fn image_bytes(&self, path: &str) -> (ImageBytes, usize) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("accept", "application/imagebytes, application/json;q=0.5")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/imagebytes");
        let mut stream = r.bytes_stream();
        let mut body = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        (ImageBytes::parse(&body), chunks)
    }
}

/// An ImageBytes reply, parsed by the test's own reading of reference §8.
#[derive(Debug)]
struct ImageBytes {
    metadata_version: i32,
    error: i32,
    client_id: u32,
    server_id: u32,
    data_start: i32,
    image_type: i32,
    transmission_type: i32,
    rank: i32,
    dims: [i32; 3],
    data: Vec<u8>,
}

impl ImageBytes {
    fn parse(body: &[u8]) -> ImageBytes {
        assert!(body.len() >= 44, "{} bytes", body.len());
        let i = |at: usize| i32::from_le_bytes(body[at..at + 4].try_into().unwrap());
        let u = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap());
        let data_start = i(16);
        ImageBytes {
            metadata_version: i(0),
            error: i(4),
            client_id: u(8),
            server_id: u(12),
            data_start,
            image_type: i(20),
            transmission_type: i(24),
            rank: i(28),
            dims: [i(32), i(36), i(40)],
            data: body[data_start as usize..].to_vec(),
        }
    }

    /// Element `n` of UInt16 data.
    fn u16_at(&self, n: usize) -> u16 {
        u16::from_le_bytes([self.data[2 * n], self.data[2 * n + 1]])
    }
}

/// `Value` of an ImageArray JSON reply, with `Type` and `Rank` checked to come first.
async fn image_json(s: &Http, path: &str) -> (Value, bool) {
    let r = s
        .client
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    let chunked = r.headers().get("content-length").is_none();
    let text = r.text().await.unwrap();
    assert!(
        regex::Regex::new(r#"^\{"Type":2,"Rank":[23],"#)
            .unwrap()
            .is_match(&text),
        "{}",
        &text[..60.min(text.len())]
    );
    (serde_json::from_str(&text).unwrap(), chunked)
}

#[tokio::test]
async fn a_nina_style_sequence() {
    let s = serve().await;
    s.connect().await;
    let cam = "/api/v1/camera/0";
    assert_eq!(s.value(&format!("{cam}/interfaceversion")).await, 4);
    assert_eq!(s.value(&format!("{cam}/name")).await, "Fake ILCE-7M3");
    assert_eq!(s.value(&format!("{cam}/driverversion")).await, "0.1");
    assert_eq!(s.value(&format!("{cam}/cameraxsize")).await, 60);
    assert_eq!(s.value(&format!("{cam}/cameraysize")).await, 40);
    assert_eq!(s.value(&format!("{cam}/numx")).await, 60);
    assert_eq!(s.value(&format!("{cam}/numy")).await, 40);
    assert_eq!(s.value(&format!("{cam}/maxadu")).await, 16383);
    assert_eq!(s.value(&format!("{cam}/pixelsizex")).await, 5.93);
    assert_eq!(s.value(&format!("{cam}/sensortype")).await, 2);
    assert_eq!(s.value(&format!("{cam}/sensorname")).await, "IMX410");
    assert_eq!(s.value(&format!("{cam}/bayeroffsetx")).await, 0);
    assert_eq!(s.value(&format!("{cam}/exposuremax")).await, 3600.0);
    assert_eq!(s.value(&format!("{cam}/maxbinx")).await, 1);
    assert_eq!(s.value(&format!("{cam}/binx")).await, 1);
    assert_eq!(s.value(&format!("{cam}/hasshutter")).await, false);
    assert_eq!(s.value(&format!("{cam}/canabortexposure")).await, true);
    assert_eq!(s.value(&format!("{cam}/canstopexposure")).await, true);
    assert_eq!(s.value(&format!("{cam}/canasymmetricbin")).await, false);
    assert_eq!(s.value(&format!("{cam}/canpulseguide")).await, false);
    assert_eq!(s.value(&format!("{cam}/ispulseguiding")).await, false);
    assert_eq!(
        s.value(&format!("{cam}/readoutmodes")).await,
        serde_json::json!(["RAW (RGGB)", "JPEG (RGB)"])
    );
    assert_eq!(s.value(&format!("{cam}/readoutmode")).await, 0);
    let gains = s.value(&format!("{cam}/gains")).await;
    assert_eq!(gains[3], "ISO 800");
    s.ok(&format!("{cam}/gain"), "Gain=3&ClientID=1").await;
    assert_eq!(s.value(&format!("{cam}/gain")).await, 3);
    assert_eq!(s.camera.s().gain, 3);
    // Before any exposure (ConformU's first-use checks).
    assert_eq!(s.value(&format!("{cam}/imageready")).await, false);
    assert_eq!(
        s.get_error(&format!("{cam}/lastexposureduration")).await,
        0x402
    );
    assert_eq!(
        s.get_error(&format!("{cam}/lastexposurestarttime")).await,
        0x402
    );
    assert_eq!(s.get_error(&format!("{cam}/imagearray")).await, 0x40B);

    s.ok(&format!("{cam}/startexposure"), "Duration=2.0&Light=true")
        .await;
    let started = s.camera.s().started.clone();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].duration, 2.0);
    assert!(started[0].light);
    assert_eq!(
        {
            let sub = started[0].subframe.unwrap();
            (sub.num_x, sub.num_y)
        },
        (60, 40)
    );
    assert_eq!(s.value(&format!("{cam}/camerastate")).await, 2);
    s.camera.progress(CameraState::Exposing, 50);
    assert_eq!(s.value(&format!("{cam}/percentcompleted")).await, 50);
    s.camera.progress(CameraState::Reading, 99);
    assert_eq!(s.value(&format!("{cam}/camerastate")).await, 3);
    assert_eq!(s.value(&format!("{cam}/imageready")).await, false);
    let state = s.value(&format!("{cam}/devicestate")).await;
    let item = |name: &str| {
        state
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["Name"] == name)
            .map(|i| i["Value"].clone())
    };
    assert_eq!(item("CameraState"), Some(3.into()));
    assert_eq!(item("PercentCompleted"), Some(99.into()));
    assert_eq!(item("ImageReady"), Some(false.into()));
    assert_eq!(item("IsPulseGuiding"), Some(false.into()));
    assert!(item("TimeStamp").unwrap().as_str().unwrap().ends_with('Z'));
    assert_eq!(item("CCDTemperature"), None);

    s.camera.finish(FakeFrame::mono(60, 40));
    assert_eq!(s.value(&format!("{cam}/imageready")).await, true);
    assert_eq!(s.value(&format!("{cam}/camerastate")).await, 0);
    assert_eq!(s.value(&format!("{cam}/lastexposureduration")).await, 2.0);
    assert_eq!(
        s.value(&format!("{cam}/lastexposurestarttime")).await,
        "2026-11-18T20:36:27.903"
    );

    let (json, _) = image_json(&s, &format!("{cam}/imagearray?ClientTransactionID=9")).await;
    assert_eq!(json["Type"], 2);
    assert_eq!(json["Rank"], 2);
    assert_eq!(json["ErrorNumber"], 0);
    assert_eq!(json["ClientTransactionID"], 9);
    let columns = json["Value"].as_array().unwrap();
    assert_eq!(columns.len(), 60, "outer index is x");
    assert_eq!(columns[0].as_array().unwrap().len(), 40);
    let (bytes, _) = s
        .image_bytes(&format!("{cam}/imagearray?ClientTransactionID=10"))
        .await;
    assert_eq!(bytes.metadata_version, 1);
    assert_eq!(bytes.error, 0);
    assert_eq!(bytes.client_id, 10);
    assert!(bytes.server_id > json["ServerTransactionID"].as_u64().unwrap() as u32);
    assert_eq!(bytes.data_start, 44);
    assert_eq!(bytes.image_type, 2, "Int32");
    assert_eq!(bytes.transmission_type, 8, "UInt16");
    assert_eq!(bytes.rank, 2);
    assert_eq!(bytes.dims, [60, 40, 0]);
    assert_eq!(bytes.data.len(), 60 * 40 * 2);
    for x in 0..60u32 {
        for y in 0..40u32 {
            let from_json = columns[x as usize][y as usize].as_u64().unwrap() as u16;
            let from_bytes = bytes.u16_at((x * 40 + y) as usize);
            assert_eq!(from_json, mono_sample(x, y), "JSON ({x}, {y})");
            assert_eq!(from_bytes, mono_sample(x, y), "ImageBytes ({x}, {y})");
        }
    }
    // The variant serves the same.
    let (variant, _) = image_json(&s, &format!("{cam}/imagearrayvariant")).await;
    assert_eq!(variant["Value"], json["Value"]);

    s.ok(&format!("{cam}/stopexposure"), "").await;
    s.ok(&format!("{cam}/abortexposure"), "").await;
    assert_eq!(s.camera.s().stopped, 1);
    assert_eq!(s.camera.s().aborted, 1);
    assert_eq!(s.value(&format!("{cam}/imageready")).await, false);

    s.ok(&format!("{cam}/disconnect"), "").await;
    while s.value(&format!("{cam}/connecting")).await == true {
        tokio::task::yield_now().await;
    }
    assert_eq!(s.value(&format!("{cam}/connected")).await, false);
    assert_eq!(s.get_error(&format!("{cam}/camerastate")).await, 0x407);
}

#[tokio::test]
async fn subframes_and_binning() {
    let s = serve().await;
    s.connect().await;
    let cam = "/api/v1/camera/0";
    assert_eq!(s.put_error(&format!("{cam}/binx"), "BinX=2").await, 0x401);
    assert_eq!(s.put_error(&format!("{cam}/biny"), "BinY=0").await, 0x401);
    s.ok(&format!("{cam}/binx"), "BinX=1").await;
    // Out of the frame: refused at StartExposure.
    s.ok(&format!("{cam}/numx"), "NumX=61").await;
    assert_eq!(
        s.put_error(&format!("{cam}/startexposure"), "Duration=0.1&Light=true")
            .await,
        0x401
    );
    s.ok(&format!("{cam}/numx"), "NumX=20").await;
    s.ok(&format!("{cam}/startx"), "StartX=41").await;
    assert_eq!(
        s.put_error(&format!("{cam}/startexposure"), "Duration=0.1&Light=true")
            .await,
        0x401
    );
    assert!(s.camera.s().started.is_empty());
    assert_eq!(s.put_error(&format!("{cam}/numy"), "NumY=-1").await, 0x401);
    s.ok(&format!("{cam}/startx"), "StartX=10").await;
    s.ok(&format!("{cam}/starty"), "StartY=5").await;
    s.ok(&format!("{cam}/numy"), "NumY=30").await;
    assert_eq!(s.value(&format!("{cam}/numx")).await, 20);
    assert_eq!(s.value(&format!("{cam}/starty")).await, 5);
    s.ok(&format!("{cam}/startexposure"), "Duration=0&Light=false")
        .await;
    let sub = s.camera.s().started[0].subframe.unwrap();
    assert_eq!(
        (sub.start_x, sub.start_y, sub.num_x, sub.num_y),
        (10, 5, 20, 30)
    );
    s.camera.finish(FakeFrame::mono(60, 40));
    let (json, _) = image_json(&s, &format!("{cam}/imagearray")).await;
    let columns = json["Value"].as_array().unwrap();
    assert_eq!(columns.len(), 20);
    let (bytes, _) = s.image_bytes(&format!("{cam}/imagearray")).await;
    assert_eq!(bytes.dims, [20, 30, 0]);
    for x in 0..20u32 {
        for y in 0..30u32 {
            assert_eq!(
                columns[x as usize][y as usize],
                u64::from(mono_sample(x + 10, y + 5))
            );
            assert_eq!(
                bytes.u16_at((x * 30 + y) as usize),
                mono_sample(x + 10, y + 5)
            );
        }
    }
    // Negative durations are refused; a second exposure while one runs is the device's call.
    assert_eq!(
        s.put_error(&format!("{cam}/startexposure"), "Duration=-1.0&Light=true")
            .await,
        0x401
    );
}

#[tokio::test]
async fn an_rgb_frame_is_rank_3_bytes() {
    let s = serve().await;
    s.connect().await;
    let cam = "/api/v1/camera/0";
    s.ok(&format!("{cam}/readoutmode"), "ReadoutMode=1").await;
    assert_eq!(s.value(&format!("{cam}/sensortype")).await, 1);
    assert_eq!(s.get_error(&format!("{cam}/bayeroffsetx")).await, 0x400);
    assert_eq!(
        s.put_error(&format!("{cam}/readoutmode"), "ReadoutMode=2")
            .await,
        0x401
    );
    s.ok(&format!("{cam}/startexposure"), "Duration=1&Light=true")
        .await;
    s.camera.finish(FakeFrame::rgb(60, 40));
    let (json, _) = image_json(&s, &format!("{cam}/imagearray")).await;
    assert_eq!(json["Rank"], 3);
    let (bytes, _) = s.image_bytes(&format!("{cam}/imagearray")).await;
    assert_eq!(bytes.image_type, 2);
    assert_eq!(bytes.transmission_type, 6, "Byte");
    assert_eq!(bytes.rank, 3);
    assert_eq!(bytes.dims, [60, 40, 3]);
    assert_eq!(bytes.data.len(), 60 * 40 * 3);
    for x in 0..60u32 {
        for y in 0..40u32 {
            for p in 0..3u32 {
                let want = rgb_sample(x, y, p);
                assert_eq!(json["Value"][x as usize][y as usize][p as usize], want);
                assert_eq!(bytes.data[((x * 40 + y) * 3 + p) as usize], want);
            }
        }
    }
}

#[tokio::test]
async fn a_large_frame_streams_in_chunks() {
    let s = serve_with(config(), 6000, 4000).await;
    s.connect().await;
    let cam = "/api/v1/camera/0";
    s.ok(&format!("{cam}/startexposure"), "Duration=1&Light=true")
        .await;
    s.camera.finish(FakeFrame::mono(6000, 4000));
    let (bytes, _) = s.image_bytes(&format!("{cam}/imagearray")).await;
    assert_eq!(bytes.dims, [6000, 4000, 0]);
    assert_eq!(bytes.data.len(), 6000 * 4000 * 2);
    for (x, y) in [
        (0, 0),
        (1, 0),
        (0, 1),
        (5999, 3999),
        (1234, 2345),
        (5999, 0),
    ] {
        assert_eq!(bytes.u16_at(x * 4000 + y), mono_sample(x as u32, y as u32));
    }
    // JSON is streamed too: no length declared (how the bytes are cut into chunks is the
    // HTTP stack's business).
    let r = s
        .client
        .get(format!("{}{cam}/imagearray", s.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("content-length").is_none());
    let mut stream = r.bytes_stream();
    let mut open = 0i64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        open += chunk.iter().filter(|&&b| b == b'[').count() as i64;
        open -= chunk.iter().filter(|&&b| b == b']').count() as i64;
    }
    assert_eq!(open, 0, "brackets balance");
}

#[tokio::test]
async fn image_errors_in_both_forms() {
    let s = serve().await;
    let cam = "/api/v1/camera/0";
    // Not connected.
    let (bytes, _) = s
        .image_bytes(&format!("{cam}/imagearray?ClientTransactionID=4"))
        .await;
    assert_eq!(bytes.metadata_version, 1);
    assert_eq!(bytes.error, 0x407);
    assert_eq!(bytes.client_id, 4);
    assert_eq!(bytes.data_start, 44);
    assert!(!String::from_utf8(bytes.data).unwrap().is_empty());
    s.connect().await;
    let (bytes, _) = s.image_bytes(&format!("{cam}/imagearray")).await;
    assert_eq!(bytes.error, 0x40B);
    assert!(
        String::from_utf8(bytes.data)
            .unwrap()
            .contains("no image is ready")
    );
    assert_eq!(s.get_error(&format!("{cam}/imagearray")).await, 0x40B);
}

#[tokio::test]
async fn transaction_ids() {
    let s = serve().await;
    let (_, a) = s
        .get("/api/v1/camera/0/connected?ClientTransactionID=77&ClientID=3")
        .await;
    assert_eq!(a["ClientTransactionID"], 77);
    let (_, b) = s.get("/api/v1/camera/0/connected").await;
    assert_eq!(b["ClientTransactionID"], 0);
    let (_, c) = s
        .get("/api/v1/camera/0/connected?ClientTransactionID=-5")
        .await;
    assert_eq!(c["ClientTransactionID"], 0);
    let (_, d) = s
        .get("/api/v1/camera/0/connected?ClientTransactionID=abc")
        .await;
    assert_eq!(d["ClientTransactionID"], 0);
    let ids: Vec<u64> = [&a, &b, &c, &d]
        .iter()
        .map(|r| r["ServerTransactionID"].as_u64().unwrap())
        .collect();
    assert!(ids[0] >= 1);
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "{ids:?}");
    for r in [&a, &b, &c, &d] {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        for k in [
            "ClientTransactionID",
            "ServerTransactionID",
            "ErrorNumber",
            "ErrorMessage",
            "Value",
        ] {
            assert!(keys.iter().any(|key| *key == k), "{k} in {r}");
        }
    }
    let (_, m) = s.get("/management/apiversions?ClientTransactionID=5").await;
    assert_eq!(m["ClientTransactionID"], 5);
    assert!(m["ServerTransactionID"].as_u64().unwrap() > ids[3]);
}

#[tokio::test]
async fn casing_rules() {
    let s = serve().await;
    // GET keys in any casing.
    let (status, r) = s
        .get("/api/v1/camera/0/connected?clienttransactionid=12&clientid=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["ClientTransactionID"], 12);
    // PUT keys exactly: a wrongly cased required parameter is a 400.
    let (status, _) = s.put("/api/v1/camera/0/connected", "connected=true").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .put(
            "/api/v1/camera/0/connected",
            "Connected=TRUE&clienttransactionid=3",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(s.camera.connected.load(std::sync::atomic::Ordering::SeqCst));
    // ...and a wrongly cased optional one is ignored.
    let (_, r) = s
        .put(
            "/api/v1/camera/0/connected",
            "Connected=false&clienttransactionid=3",
        )
        .await;
    assert_eq!(r["ClientTransactionID"], 0);
    // Values ConformU sends for Connected.
    for bad in ["Connected=", "Connected=123456", "Connected=asdqwe"] {
        let (status, body) = s.put("/api/v1/camera/0/connected", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(!body.as_str().unwrap().is_empty());
    }
    // Numbers with a comma are not numbers.
    s.ok("/api/v1/camera/0/connect", "").await;
    let (status, _) = s
        .put("/api/v1/camera/0/startexposure", "Duration=1,5&Light=true")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.put("/api/v1/camera/0/startexposure", "Duration=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_paths_are_400_with_text() {
    let s = serve().await;
    for path in [
        "/api/v1/telescope/0/connected",
        "/api/v1/camera/1/connected",
        "/api/v1/focuser/1/connected",
        "/api/v1/camera/-1/connected",
        "/api/v1/camera/x/connected",
        "/api/v1/camera/0/notamember",
        "/api/v1/camera/0/Connected",
        "/api/v1/Camera/0/connected",
        "/api/v2/camera/0/connected",
        "/api/v1/camera/0/connected/",
        "/api/v1/camera/0",
        "/api/v1/focuser/0/gains",
        "/management/v2/description",
        "/nothing",
    ] {
        let r = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
            "{path}"
        );
        assert!(!r.text().await.unwrap().is_empty(), "{path}");
    }
    // A member with the wrong verb.
    let (status, _) = s.put("/api/v1/camera/0/cameraxsize", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s.get("/api/v1/camera/0/startexposure").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn members_not_implemented() {
    let s = serve().await;
    s.connect().await;
    for member in [
        "ccdtemperature",
        "cooleron",
        "coolerpower",
        "electronsperadu",
        "fastreadout",
        "fullwellcapacity",
        "gainmax",
        "gainmin",
        "heatsinktemperature",
        "offset",
        "offsetmax",
        "offsetmin",
        "offsets",
        "setccdtemperature",
        "subexposureduration",
    ] {
        assert_eq!(
            s.get_error(&format!("/api/v1/camera/0/{member}")).await,
            0x400,
            "{member}"
        );
    }
    for (member, form) in [
        ("cooleron", "CoolerOn=true"),
        ("fastreadout", "FastReadout=false"),
        ("offset", "Offset=1"),
        ("setccdtemperature", "SetCCDTemperature=-10.5"),
        ("subexposureduration", "SubExposureDuration=1"),
        ("pulseguide", "Direction=0&Duration=100"),
        ("commandblind", "Command=x&Raw=true"),
    ] {
        assert_eq!(
            s.put_error(&format!("/api/v1/camera/0/{member}"), form)
                .await,
            0x400,
            "{member}"
        );
    }
    for member in ["stepsize", "temperature"] {
        assert_eq!(
            s.get_error(&format!("/api/v1/focuser/0/{member}")).await,
            0x400
        );
    }
    // Actions.
    assert_eq!(
        s.value("/api/v1/camera/0/supportedactions").await,
        serde_json::json!(["getproperty"])
    );
    let (_, r) = s
        .put(
            "/api/v1/camera/0/action",
            "Action=getproperty&Parameters=iso",
        )
        .await;
    assert_eq!(r["Value"], "value of iso");
    assert_eq!(
        s.put_error("/api/v1/camera/0/action", "Action=nope&Parameters=")
            .await,
        0x40C
    );
}

#[tokio::test]
async fn the_focuser() {
    let s = serve().await;
    let foc = "/api/v1/focuser/0";
    assert_eq!(s.get_error(&format!("{foc}/position")).await, 0x407);
    s.connect().await;
    assert_eq!(s.value(&format!("{foc}/interfaceversion")).await, 4);
    assert_eq!(s.value(&format!("{foc}/absolute")).await, true);
    assert_eq!(s.value(&format!("{foc}/ismoving")).await, false);
    assert_eq!(s.value(&format!("{foc}/maxstep")).await, MAX_STEP);
    assert_eq!(s.value(&format!("{foc}/maxincrement")).await, MAX_INCREMENT);
    assert_eq!(s.value(&format!("{foc}/position")).await, MAX_STEP / 2);
    assert_eq!(s.value(&format!("{foc}/tempcomp")).await, false);
    assert_eq!(s.value(&format!("{foc}/tempcompavailable")).await, false);
    assert_eq!(
        s.put_error(&format!("{foc}/tempcomp"), "TempComp=true")
            .await,
        0x400
    );
    s.ok(&format!("{foc}/tempcomp"), "TempComp=false").await;
    // Clamped, never refused.
    s.ok(&format!("{foc}/move"), "Position=-10").await;
    s.ok(&format!("{foc}/move"), "Position=100000").await;
    s.ok(&format!("{foc}/move"), "Position=450").await;
    assert_eq!(s.value(&format!("{foc}/ismoving")).await, true);
    let state = s.value(&format!("{foc}/devicestate")).await;
    let names: Vec<&str> = state
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["IsMoving", "Position", "TimeStamp"]);
    s.ok(&format!("{foc}/halt"), "").await;
    assert_eq!(s.focuser.s().halts, 1);
    // Relative, as switched on the setup page.
    s.focuser.s().absolute = false;
    assert_eq!(s.value(&format!("{foc}/absolute")).await, false);
    assert_eq!(s.get_error(&format!("{foc}/position")).await, 0x400);
    s.ok(&format!("{foc}/move"), "Position=-5000").await;
    s.ok(&format!("{foc}/move"), "Position=7").await;
    assert_eq!(
        s.focuser.s().moves,
        [
            FocusMove::To(0),
            FocusMove::To(MAX_STEP),
            FocusMove::To(450),
            FocusMove::By(-(MAX_INCREMENT as i32)),
            FocusMove::By(7)
        ]
    );
    let (status, _) = s.put(&format!("{foc}/move"), "position=7").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn management() {
    let s = serve().await;
    assert_eq!(
        s.value("/management/apiversions").await,
        serde_json::json!([1])
    );
    let d = s.value("/management/v1/description").await;
    assert_eq!(d["ServerName"], "sonyctl");
    assert_eq!(d["Manufacturer"], "sonyctl");
    assert!(d["ManufacturerVersion"].is_string());
    assert!(d["Location"].is_string());
    let devices = s.value("/management/v1/configureddevices").await;
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["DeviceType"], "Camera");
    assert_eq!(devices[0]["DeviceNumber"], 0);
    assert_eq!(devices[0]["DeviceName"], "Fake ILCE-7M3");
    assert_eq!(devices[1]["DeviceType"], "Focuser");
    assert_eq!(devices[1]["DeviceNumber"], 0);
    assert_ne!(devices[0]["UniqueID"], devices[1]["UniqueID"]);
    assert_eq!(devices[0]["UniqueID"], "sonyctl-camera-4711");
}

#[tokio::test]
async fn two_devices_of_a_type_with_one_id_are_refused() {
    let mut devices = AlpacaDevices::new();
    devices.add_camera(FakeCamera::new("1", 10, 10));
    devices.add_camera(FakeCamera::new("1", 10, 10));
    let e = AlpacaServer::bind(config(), devices).await.unwrap_err();
    assert!(e.to_string().contains("unique id"), "{e}");
}

#[tokio::test]
async fn setup_pages() {
    let s = serve().await;
    let page = s
        .client
        .get(format!("{}/setup", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("/setup/v1/camera/0/setup"));
    assert!(text.contains("/setup/v1/focuser/0/setup"));
    assert!(text.contains("sonyctl"));
    let url = format!("{}/setup/v1/camera/0/setup", s.base);
    let text = s
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("name=\"BulbAbove\""));
    assert!(text.contains("value=\"30\""));
    // Escaped.
    assert!(text.contains("/tmp/&lt;kept&gt;"));
    // A form posted from this server's page.
    let own = s.base.clone();
    let r = s
        .client
        .post(&url)
        .header("origin", &own)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("BulbAbove=12.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Saved."));
    assert_eq!(s.camera.s().bulb_above, 12.5);
    // From another site, or with no sign of where it comes from: refused.
    for origin in [Some("http://evil.example"), None] {
        let mut req = s
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("BulbAbove=1");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    assert_eq!(s.camera.s().bulb_above, 12.5);
    // A bad value is reported, not applied.
    let r = s
        .client
        .post(&url)
        .header("sec-fetch-site", "same-origin")
        .body("BulbAbove=-3")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Not saved"));
    assert_eq!(s.camera.s().bulb_above, 12.5);
    // Beyond a day (ExposureMax), or not finite: refused by the layer, never passed on.
    for too_long in ["86400.5", "1e300", "inf", "NaN"] {
        let r = s
            .client
            .post(&url)
            .header("sec-fetch-site", "same-origin")
            .body(format!("BulbAbove={too_long}"))
            .send()
            .await
            .unwrap();
        assert!(r.text().await.unwrap().contains("Not saved"), "{too_long}");
        assert_eq!(s.camera.s().bulb_above, 12.5, "{too_long}");
    }
    // The focuser's mode.
    let url = format!("{}/setup/v1/focuser/0/setup", s.base);
    let r = s
        .client
        .post(&url)
        .header("origin", &own)
        .body("Mode=relative")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!s.focuser.s().absolute);
    let r = s
        .client
        .get(format!("{}/setup/v1/focuser/3/setup", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn host_origin_and_token() {
    let s = serve().await;
    let r = s
        .client
        .get(format!("{}/management/apiversions", s.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .client
        .put(format!("{}/api/v1/camera/0/connect", s.base))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(!s.camera.connected.load(std::sync::atomic::Ordering::SeqCst));

    // Beyond loopback, a token is required...
    let mut c = config();
    c.listen = "0.0.0.0:0".parse().unwrap();
    let e = AlpacaServer::bind(c.clone(), AlpacaDevices::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("token"), "{e}");
    // ...and taken as the HTTP Basic password.
    c.token = Some("s3cret-token".into());
    let t = serve_with(c, 10, 10).await;
    let url = format!("http://127.0.0.1:{}/api/v1/camera/0/name", t.port);
    let r = t.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .client
        .get(&url)
        .basic_auth("anyone", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = t
        .client
        .get(&url)
        .basic_auth("anyone", Some("s3cret-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["Value"], "Fake ILCE-7M3");
}

/// Sends `message` from `client` to `to` and, when `answered`, reads the answer.
async fn discover(client: &tokio::net::UdpSocket, to: std::net::SocketAddr) -> Value {
    client.send_to(b"alpacadiscovery1", to).await.unwrap();
    let mut buf = [0u8; 256];
    let (n, from) = client.recv_from(&mut buf).await.unwrap();
    assert_eq!(from, to);
    serde_json::from_slice(&buf[..n]).unwrap()
}

#[tokio::test]
async fn discovery_on_loopback() {
    let mut c = config();
    c.discovery_port = Some(0);
    let s = serve_with(c, 10, 10).await;
    let v4 = *s.discovery.iter().find(|a| a.is_ipv4()).unwrap();
    assert_eq!(v4.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert_ne!(v4.port(), 0);

    let a = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Anything else is ignored: `a`'s wrong messages are read before `b`'s right one, and
    // once `b` has its answer, `a` has none waiting.
    for wrong in [&b"alpacadiscovery"[..], b"alpacadiscovery2", b"hello", b""] {
        a.send_to(wrong, v4).await.unwrap();
    }
    let answer = discover(&b, v4).await;
    assert_eq!(answer, serde_json::json!({"AlpacaPort": s.port}));
    let mut buf = [0u8; 64];
    assert_eq!(
        a.try_recv_from(&mut buf).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
    // Reserved bytes after the 16 are allowed.
    a.send_to(b"alpacadiscovery1 and more", v4).await.unwrap();
    let (n, _) = a.recv_from(&mut buf).await.unwrap();
    assert_eq!(
        &buf[..n],
        format!("{{\"AlpacaPort\":{}}}", s.port).as_bytes()
    );

    // A server on 127.0.0.1 announces itself on IPv4 only: it serves nothing on ::1.
    assert_eq!(s.discovery, [v4]);

    match tokio::net::UdpSocket::bind("[::1]:0").await {
        Err(e) => println!("skipped the IPv6 half: this machine has no ::1 ({e})"),
        Ok(client) => {
            let mut c = config();
            c.listen = "[::1]:0".parse().unwrap();
            c.discovery_port = Some(0);
            let camera = FakeCamera::new("4712", 10, 10);
            let focuser = FakeFocuser::new("4712");
            let mut devices = AlpacaDevices::new();
            devices.add_body(camera, focuser);
            let bound = AlpacaServer::bind(c, devices).await.unwrap();
            let v6 = bound.discovery_addrs().to_vec();
            assert_eq!(v6.len(), 1, "{v6:?}");
            assert_eq!(v6[0].ip(), std::net::Ipv6Addr::LOCALHOST);
            let (_stop, port) = start(bound).await;
            let answer = discover(&client, v6[0]).await;
            assert_eq!(answer["AlpacaPort"], port);
        }
    }
}

/// Another server holding the discovery port: a second one shares it (both bind with
/// SO_REUSEADDR); a port held without sharing turns discovery off with a warning, unless the
/// port was asked for explicitly.
#[tokio::test]
async fn discovery_beside_another_server() {
    let mut c = config();
    c.discovery_port = Some(0);
    let first = serve_with(c.clone(), 10, 10).await;
    let port = first.discovery[0].port();
    c.discovery_port = Some(port);
    c.discovery_required = true;
    let camera = FakeCamera::new("4713", 10, 10);
    let mut devices = AlpacaDevices::new();
    devices.add_body(camera, FakeFocuser::new("4713"));
    let second = AlpacaServer::bind(c.clone(), devices.clone())
        .await
        .unwrap();
    assert_eq!(second.discovery_port(), Some(port));
    assert_eq!(second.discovery_warning(), None);
    drop(second);

    // Held by a socket that does not share it.
    let holder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    c.discovery_port = Some(held);
    c.discovery_required = false;
    let bound = AlpacaServer::bind(c.clone(), devices.clone())
        .await
        .unwrap();
    assert_eq!(bound.discovery_port(), None);
    let warning = bound.discovery_warning().unwrap();
    assert!(warning.contains(&held.to_string()), "{warning}");
    drop(bound);
    c.discovery_required = true;
    assert!(AlpacaServer::bind(c, devices).await.is_err());
}

#[tokio::test]
async fn discovery_off() {
    let s = serve().await;
    assert!(s.discovery.is_empty());
}

/// Connect and disconnect calls of one device run in the order asked for: a disconnect asked
/// while a connect is still under way comes after it.
#[tokio::test]
async fn connection_changes_in_order() {
    let s = serve().await;
    let cam = "/api/v1/camera/0";
    let gate = s.camera.connect_gate.lock().await;
    s.ok(&format!("{cam}/connect"), "").await;
    s.ok(&format!("{cam}/disconnect"), "").await;
    assert_eq!(s.value(&format!("{cam}/connecting")).await, true);
    drop(gate);
    while s.value(&format!("{cam}/connecting")).await == true {
        tokio::task::yield_now().await;
    }
    assert_eq!(s.camera.s().connects, 1);
    assert_eq!(s.value(&format!("{cam}/connected")).await, false);
    // Connected=true waits for its turn too.
    s.ok(&format!("{cam}/connected"), "Connected=true").await;
    assert_eq!(s.value(&format!("{cam}/connected")).await, true);
}

/// A size not known yet: CameraXSize, NumX and MaxADU are ValueNotSet, a full frame is
/// started without a window, a subframe is refused. A readout mode of another size: NumX and
/// StartX go back to its full frame when the mode changes.
#[tokio::test]
async fn sizes_unknown_and_per_readout_mode() {
    let s = serve().await;
    s.connect().await;
    let cam = "/api/v1/camera/0";
    s.camera.s().size_known = false;
    for member in ["cameraxsize", "cameraysize", "numx", "numy", "maxadu"] {
        assert_eq!(
            s.get_error(&format!("{cam}/{member}")).await,
            0x402,
            "{member}"
        );
    }
    s.ok(&format!("{cam}/numx"), "NumX=10").await;
    assert_eq!(
        s.put_error(&format!("{cam}/startexposure"), "Duration=1&Light=true")
            .await,
        0x401
    );
    s.ok(&format!("{cam}/readoutmode"), "ReadoutMode=1").await;
    s.ok(&format!("{cam}/readoutmode"), "ReadoutMode=0").await;
    s.ok(&format!("{cam}/startexposure"), "Duration=1&Light=true")
        .await;
    assert_eq!(s.camera.s().started.last().unwrap().subframe, None);
    s.camera.finish(FakeFrame::mono(60, 40));
    let (json, _) = image_json(&s, &format!("{cam}/imagearray")).await;
    assert_eq!(json["Value"].as_array().unwrap().len(), 60);

    s.camera.s().size_known = true;
    s.camera.s().jpeg_size = Some((50, 30));
    s.ok(&format!("{cam}/numx"), "NumX=10").await;
    s.ok(&format!("{cam}/startx"), "StartX=2").await;
    s.ok(&format!("{cam}/readoutmode"), "ReadoutMode=1").await;
    assert_eq!(s.value(&format!("{cam}/cameraxsize")).await, 50);
    assert_eq!(s.value(&format!("{cam}/numx")).await, 50);
    assert_eq!(s.value(&format!("{cam}/numy")).await, 30);
    assert_eq!(s.value(&format!("{cam}/startx")).await, 0);
}
