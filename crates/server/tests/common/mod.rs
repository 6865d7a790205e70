//! Test support for the server's tests: simulated cameras in this process (on the real clock,
//! as an HTTP client sees them), each behind its camera service, served on a free loopback port,
//! and a small JSON client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_server::{Registry, ServerConfig};
use sonyctl_service::{CameraService, ServiceHandle, ServiceOptions};
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
use tokio::sync::oneshot;

/// A running server and what it serves.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client for it.
    pub client: reqwest::Client,
    /// Where the server saves images (removed at the end).
    pub output: tempfile::TempDir,
    /// The cameras served.
    pub registry: Registry,
    /// Each camera's service, in the order given.
    pub services: Vec<ServiceHandle>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A simulated `model` on the real clock, with the owner's `acts` scheduled (`0s:mode a`).
pub fn camera(model: &str, acts: &[&str]) -> SimulatedCamera {
    let options = SimOptions {
        actions: acts.iter().map(|a| a.parse().unwrap()).collect(),
        ..SimOptions::default()
    };
    SimulatedCamera::new(Profile::builtin(model).unwrap(), options)
}

/// Serves `cameras` (each opened and put behind a camera service) on 127.0.0.1, port 0.
pub async fn serve(cameras: Vec<SimulatedCamera>) -> Served {
    let registry = Registry::new();
    let mut services = Vec::new();
    for sim in cameras {
        let cam = Camera::open(
            Link::sim(sim, SimClock::real(1.0)),
            CameraOptions::default(),
        )
        .await
        .unwrap();
        let options = ServiceOptions {
            poll: Duration::from_millis(200),
            ..ServiceOptions::default()
        };
        let service = CameraService::spawn(cam, options);
        registry.add(service.clone()).await.unwrap();
        services.push(service);
    }
    let output = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(output.path().join("images"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    let bound = sonyctl_server::Server::bind(config, registry.clone())
        .await
        .unwrap();
    let base = format!("http://{}", bound.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    Served {
        base,
        client: reqwest::Client::new(),
        output,
        registry,
        services,
        stop: Some(stop),
        server: Some(server),
    }
}

/// Serves one simulated `model`.
pub async fn serve_one(model: &str) -> Served {
    serve(vec![camera(model, &[])]).await
}

impl Served {
    /// The URL of an API path (`/cameras`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// The first camera's id.
    pub fn id(&self) -> String {
        self.registry.list()[0].id.clone()
    }

    /// The URL of a path under the first camera (`/properties/iso`).
    pub fn cam(&self, path: &str) -> String {
        self.api(&format!("/cameras/{}{path}", self.id()))
    }

    /// A request with a JSON body (or none), answered with its status and JSON body (`Null`
    /// when the body is not JSON).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET url`.
    pub async fn get(&self, url: &str) -> (StatusCode, Value) {
        self.call(Method::GET, url, None).await
    }

    /// `POST url` with a JSON body.
    pub async fn post(&self, url: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, url, Some(body)).await
    }

    /// `PUT url` with a JSON body.
    pub async fn put(&self, url: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, url, Some(body)).await
    }

    /// `DELETE url`.
    pub async fn delete(&self, url: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, url, None).await
    }

    /// Asks `GET url` again (every 50 ms, for at most `limit`) until `done` holds for the
    /// answer, which is returned.
    pub async fn poll_until(
        &self,
        url: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = std::time::Instant::now();
        loop {
            let (status, body) = self.get(url).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            if done(&body) {
                return body;
            }
            assert!(
                start.elapsed() < limit,
                "{url}: still {body} after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Files saved in the output folder (names).
    pub fn saved_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.output.path().join("images"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Ends the capture jobs and the server.
    pub async fn stop(mut self) {
        self.registry.close().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// Asserts that `body` is the API's error shape with `code`.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
