//! The server's safety, in process over real loopback TCP: the token (missing, wrong, Bearer,
//! Basic, the cookie `GET /?token=` sets, `?token=` elsewhere), the Host check (a foreign name
//! as DNS rebinding sends it, a missing Host, two of them), the Origin check (behind a TLS
//! proxy too) and CORS for allowed origins, bounded bodies and heads, clients that stall (half
//! a request head, a body that stops, a response nobody reads) costing only their own
//! connection, refused clients losing their connection, the connection caps (in all and per
//! client address), what the OpenAPI document says of all this, and the shutdown (requests in
//! flight finish, the cameras' services end).
//!
//! Limits are made small so that each time-out passes quickly; nothing is timed beyond "it
//! ends" (every wait has a generous bound, so a failure shows instead of hanging). Where a
//! connection must be shown closed by one cause, the others (the head time-out) are made
//! longer than that bound.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::{get, post};
use reqwest::StatusCode;
use sha2::Digest;
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_server::{Registry, Server, ServerConfig};
use sonyctl_service::{CameraService, ServiceOptions};
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Notify, oneshot};

const TOKEN: &str = "Test-token_0123456789";
/// The longest any single wait in these tests may take before it counts as hanging.
const HANG: Duration = Duration::from_secs(30);
/// A time-out no test reaches (longer than `HANG`): for the time-outs that must not be what
/// ends a connection.
const NEVER: Duration = Duration::from_secs(600);

/// A server running in this process.
struct Running {
    addr: SocketAddr,
    url: String,
    registry: Registry,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    fn at(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts it down and waits for `serve` to return.
    async fn stop(mut self) -> Registry {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(HANG, &mut self.done)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
        self.registry.clone()
    }
}

/// What the test routes report.
#[derive(Clone, Default)]
struct Probe {
    /// An endless response's body was dropped (its connection is gone).
    endless_dropped: Arc<Notify>,
    /// Lets `/test/held` answer.
    release: Arc<Notify>,
    /// `/test/held` was entered.
    held: Arc<Notify>,
    /// What `/test/gate` answers: `open` once set.
    gate: Arc<AtomicBool>,
}

/// Routes only the tests serve (through `BoundServer::with_routes`, behind the same checks).
fn test_routes(probe: Probe) -> Router {
    async fn endless(State(p): State<Probe>) -> Body {
        struct Dropped(Arc<Notify>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.notify_one();
            }
        }
        let guard = Dropped(p.endless_dropped.clone());
        let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
        Body::from_stream(futures_util::stream::unfold(guard, move |g| {
            let chunk = chunk.clone();
            async move {
                tokio::task::yield_now().await;
                Some((Ok::<_, Infallible>(chunk), g))
            }
        }))
    }
    async fn held(State(p): State<Probe>) -> &'static str {
        p.held.notify_one();
        p.release.notified().await;
        "done"
    }
    async fn echo(body: Bytes) -> String {
        body.len().to_string()
    }
    async fn gate(State(p): State<Probe>) -> &'static str {
        if p.gate.load(Ordering::SeqCst) {
            "open"
        } else {
            "shut"
        }
    }
    /// Reads the body: its length, or 408 when reading it timed out (the server's body
    /// time-out, recognised by its error type).
    async fn read(body: Body) -> (axum::http::StatusCode, String) {
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => (axum::http::StatusCode::OK, bytes.len().to_string()),
            Err(e) => {
                let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
                while let Some(c) = cause {
                    if c.is::<tower_http::timeout::TimeoutError>() {
                        return (
                            axum::http::StatusCode::REQUEST_TIMEOUT,
                            "the body timed out".into(),
                        );
                    }
                    cause = c.source();
                }
                (axum::http::StatusCode::BAD_REQUEST, e.to_string())
            }
        }
    }
    Router::new()
        .route("/test/endless", get(endless))
        .route("/test/held", get(held))
        .route("/test/echo", post(echo))
        .route("/test/gate", get(gate))
        .route("/test/read", post(read))
        .with_state(probe)
}

async fn start_with(
    edit: impl FnOnce(&mut ServerConfig),
    registry: Registry,
    probe: Probe,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("images"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.token = Some(TOKEN.into());
    edit(&mut config);
    let bound = Server::bind(config, registry.clone())
        .await
        .unwrap()
        .with_routes(test_routes(probe));
    let addr = bound.local_addr();
    let url = bound.url();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(bound.serve(async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        url,
        registry,
        stop: Some(stop),
        done,
        _dir: dir,
    }
}

async fn start(edit: impl FnOnce(&mut ServerConfig)) -> Running {
    start_with(edit, Registry::new(), Probe::default()).await
}

/// The `WWW-Authenticate` challenges of a response.
fn challenges(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `error.code` of a JSON error response.
async fn code(r: reqwest::Response) -> String {
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    body["error"]["code"].as_str().unwrap().to_string()
}

/// Sends `request` as it is on a new connection and reads until the server closes it.
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(HANG, s.read_to_end(&mut out))
        .await
        .expect("the server answers and closes")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// A connection to `addr` from the loopback address `from` (`127.0.0.2`: Linux answers every
/// 127/8 address).
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// `GET path` with the token on the kept-alive connection `s`, and its whole answer (head and
/// body, by `Content-Length`); empty when the server closed the connection instead.
async fn ask(s: &mut TcpStream, path: &str) -> String {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    // Writing to a connection the server closed may fail: it shows as no answer.
    if s.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    tokio::time::timeout(HANG, async {
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|n| n.trim().parse().unwrap())
                    .unwrap_or(0);
                if got.len() >= end + 4 + length {
                    break;
                }
            }
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server answers or closes");
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads from `s` until the server closes the connection (or resets it).
async fn until_closed(s: &mut TcpStream) {
    let mut buf = vec![0u8; 1 << 16];
    tokio::time::timeout(HANG, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection");
}

#[tokio::test]
async fn without_the_token_nothing_is_served() {
    let srv = start(|_| {}).await;
    let c = client();
    for path in [
        "/api/v1/openapi.json",
        "/api/v1/cameras",
        "/assets/app.css",
        "/no/such/path",
    ] {
        let r = c.get(srv.at(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        let challenges = challenges(&r);
        assert!(
            challenges.iter().any(|c| c.starts_with("Bearer")),
            "{challenges:?}"
        );
        assert!(
            challenges.iter().any(|c| c.starts_with("Basic")),
            "{challenges:?}"
        );
        assert_eq!(code(r).await, "unauthorized");
    }
    // The web page's own requests are challenged with Bearer only: a Basic challenge would
    // hold them behind the browser's password dialog. A navigation still gets both.
    for (mode, basic) in [
        ("cors", false),
        ("no-cors", false),
        ("same-origin", false),
        ("navigate", true),
    ] {
        let r = c
            .get(srv.at("/api/v1/cameras"))
            .header("Sec-Fetch-Mode", mode)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{mode}");
        let challenges = challenges(&r);
        assert!(
            challenges.iter().any(|c| c.starts_with("Bearer")),
            "{mode}: {challenges:?}"
        );
        assert_eq!(
            challenges.iter().any(|c| c.starts_with("Basic")),
            basic,
            "{mode}: {challenges:?}"
        );
        assert_eq!(code(r).await, "unauthorized");
    }
    // The page says what to do, for a person.
    let r = c.get(srv.at("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("printed"), "{page}");
    assert!(!page.contains(TOKEN));
    // The endless route is never reached either.
    let r = c.get(srv.at("/test/endless")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.stop().await;
}

#[tokio::test]
async fn a_wrong_token_is_refused_however_it_comes() {
    let srv = start(|_| {}).await;
    let c = client();
    let url = srv.at("/api/v1/openapi.json");
    let wrong = [
        c.get(&url).bearer_auth("nope"),
        c.get(&url).bearer_auth(format!("{TOKEN}x")),
        c.get(&url).bearer_auth(&TOKEN[..TOKEN.len() - 1]),
        c.get(&url).basic_auth("sonyctl", Some("nope")),
        c.get(&url).basic_auth(TOKEN, Some("")),
        c.get(&url).header("authorization", TOKEN),
        c.get(&url)
            .header("cookie", format!("sonyctl-token-{}=nope", srv.addr.port())),
        // The right token in another server's cookie.
        c.get(&url)
            .header("cookie", format!("sonyctl-token-1={TOKEN}")),
        // The token itself as the cookie: the cookie holds a value made from it.
        c.get(&url).header(
            "cookie",
            format!("sonyctl-token-{}={TOKEN}", srv.addr.port()),
        ),
    ];
    for request in wrong {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(code(r).await, "unauthorized");
    }
    srv.stop().await;
}

#[tokio::test]
async fn bearer_and_basic_with_any_user_name_are_accepted() {
    let srv = start(|_| {}).await;
    let c = client();
    let url = srv.at("/api/v1/openapi.json");
    for request in [
        c.get(&url).bearer_auth(TOKEN),
        c.get(&url)
            .header("authorization", format!("bearer {TOKEN}")),
        c.get(&url).basic_auth("", Some(TOKEN)),
        c.get(&url).basic_auth("alpaca", Some(TOKEN)),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let doc: serde_json::Value = r.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    }
    srv.stop().await;
}

#[tokio::test]
async fn the_printed_url_sets_a_cookie_and_leaves_the_address_bar() {
    let srv = start(|_| {}).await;
    assert_eq!(
        srv.url,
        format!("http://127.0.0.1:{}/?token={TOKEN}", srv.addr.port())
    );
    let c = client();
    let r = c.get(&srv.url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let (pair, attributes) = set.split_once(';').unwrap();
    // The value is SHA-256 of `NAME=TOKEN` in hex, not the token: the cookie also goes to
    // other ports of this host.
    let name = format!("sonyctl-token-{}", srv.addr.port());
    let value: String = sha2::Sha256::digest(format!("{name}={TOKEN}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(pair, format!("{name}={value}"));
    assert!(!set.contains(TOKEN), "{set}");
    let attributes: Vec<&str> = attributes.split(';').map(str::trim).collect();
    // Kept 30 days, not only until the browser closes.
    for a in ["Max-Age=2592000", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&a), "{set}");
    }
    // Whoever receives the cookie cannot use its value as the token.
    for request in [
        c.get(srv.at("/api/v1/openapi.json")).bearer_auth(&value),
        c.get(srv.at("/api/v1/openapi.json"))
            .basic_auth("x", Some(&value)),
    ] {
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // The cookie then opens the page and the API.
    for path in ["/", "/api/v1/openapi.json"] {
        let r = c
            .get(srv.at(path))
            .header("cookie", format!("theme=dark; {pair}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // A wrong token in the URL: the page that says what to do, and no cookie.
    let r = c.get(srv.at("/?token=wrong")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("set-cookie").is_none());
    srv.stop().await;
}

#[tokio::test]
async fn the_token_in_a_query_counts_only_on_the_page() {
    let srv = start(|_| {}).await;
    let c = client();
    for path in [
        format!("/api/v1/openapi.json?token={TOKEN}"),
        format!("/test/echo?token={TOKEN}"),
    ] {
        let r = c.get(srv.at(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Nor on the page by another method.
    let r = c
        .post(srv.at(&format!("/?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.stop().await;
}

#[tokio::test]
async fn without_a_token_on_loopback_requests_pass() {
    let srv = start(|c| c.token = None).await;
    assert_eq!(srv.url, format!("http://127.0.0.1:{}/", srv.addr.port()));
    let r = client().get(srv.at("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    srv.stop().await;
}

#[tokio::test]
async fn foreign_host_names_are_refused_before_the_token() {
    let srv = start(|c| c.allow_hosts = vec!["camera.lan".into()]).await;
    let port = srv.addr.port();
    let ask = |host: String| {
        let request = format!(
            "GET /api/v1/openapi.json HTTP/1.1\r\nHost: {host}\r\n\
             Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        );
        async move { raw(srv.addr, &request).await }
    };
    // DNS rebinding: the attacker's name now resolves to this machine.
    for host in [
        format!("evil.example:{port}"),
        "evil.example".into(),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.2:{port}"),
        format!("[::2]:{port}"),
        "".into(),
        "a b".into(),
    ] {
        let answer = ask(host.clone()).await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{host:?}: {answer}");
        assert!(answer.contains("forbidden_host"), "{host:?}: {answer}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("LOCALHOST.:{port}"),
        format!("127.0.0.1:{port}"),
        "127.0.0.1".into(),
        format!("[::1]:{port}"),
        format!("camera.lan:{port}"),
    ] {
        let answer = ask(host.clone()).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{host:?}: {answer}");
    }
    if let Ok(name) = gethostname_for_test() {
        let answer = ask(format!("{name}:{port}")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{name}: {answer}");
    }
    // HTTP/1.0 without a Host header.
    let answer = raw(
        srv.addr,
        &format!("GET /api/v1/openapi.json HTTP/1.0\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.0 403"), "{answer}");
    assert!(answer.contains("forbidden_host"), "{answer}");
    // An absolute request target naming another host.
    let answer = raw(
        srv.addr,
        &format!(
            "GET http://evil.example/api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    srv.stop().await;
}

/// This machine's host name as the server reads it (the `hostname` program, when there is one
/// and it answers a plain name).
fn gethostname_for_test() -> Result<String, ()> {
    let out = std::process::Command::new("hostname")
        .output()
        .map_err(|_| ())?;
    let name = String::from_utf8(out.stdout).map_err(|_| ())?;
    let name = name.trim();
    if out.status.success()
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        Ok(name.to_string())
    } else {
        Err(())
    }
}

#[tokio::test]
async fn only_the_servers_own_origin_may_send_requests() {
    let srv = start(|_| {}).await;
    let c = client();
    let url = srv.at("/api/v1/openapi.json");
    let own = format!("http://127.0.0.1:{}", srv.addr.port());
    for origin in [
        "http://evil.example",
        "null",
        &format!("http://localhost:{}", srv.addr.port()),
        &format!("http://127.0.0.1:{}", srv.addr.port() ^ 1),
        &format!("https://127.0.0.1:{}", srv.addr.port() ^ 1),
        "https://127.0.0.1",
    ] {
        let r = c
            .get(&url)
            .bearer_auth(TOKEN)
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(code(r).await, "forbidden_origin");
    }
    // A preflight from a foreign page is refused too, and gets no CORS headers.
    let r = c
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // The page's own requests pass, with no CORS headers (none are needed); `https://` with
    // the same host and port too (the page behind a TLS proxy that keeps the port).
    for origin in [own.clone(), own.replace("http://", "https://")] {
        let r = c
            .get(&url)
            .bearer_auth(TOKEN)
            .header("origin", &origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{origin}");
        assert!(r.headers().get("access-control-allow-origin").is_none());
    }
    srv.stop().await;
}

#[tokio::test]
async fn behind_a_tls_reverse_proxy_the_pages_writes_pass() {
    // The proxy answers https://cam.example and passes `Host: cam.example` on.
    let srv = start(|c| c.allow_hosts = vec!["cam.example".into()]).await;
    let ask = |host: &str, origin: &str| {
        let request = format!(
            "POST /test/echo HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n\
             Authorization: Bearer {TOKEN}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        );
        async move { raw(srv.addr, &request).await }
    };
    for (host, origin) in [
        ("cam.example", "https://cam.example"),
        ("cam.example:443", "https://cam.example"),
        ("cam.example", "https://cam.example:443"),
        ("cam.example", "http://cam.example"),
    ] {
        let answer = ask(host, origin).await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "{host} {origin}: {answer}"
        );
    }
    // Another port, another host, another scheme's port.
    for (host, origin) in [
        ("cam.example", "https://cam.example:8443"),
        ("cam.example", "https://evil.example"),
        ("cam.example:80", "https://cam.example"),
    ] {
        let answer = ask(host, origin).await;
        assert!(
            answer.starts_with("HTTP/1.1 403"),
            "{host} {origin}: {answer}"
        );
        assert!(answer.contains("forbidden_origin"), "{answer}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn two_host_headers_are_a_bad_request() {
    let srv = start(|_| {}).await;
    let port = srv.addr.port();
    for (first, second) in [
        ("localhost".to_string(), "evil.example".to_string()),
        ("evil.example".into(), "localhost".into()),
        (format!("127.0.0.1:{port}"), format!("127.0.0.1:{port}")),
    ] {
        let answer = raw(
            srv.addr,
            &format!(
                "GET /api/v1/openapi.json HTTP/1.1\r\nHost: {first}\r\nHost: {second}\r\n\
                 Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 400"),
            "{first} {second}: {answer}"
        );
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "invalid_request", "{answer}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn a_refused_request_closes_its_connection() {
    // The head time-out is out of reach: only the refusal can end these connections.
    let srv = start(|c| {
        c.limits.header_timeout = NEVER;
        c.limits.body_bytes = 16;
    })
    .await;
    let port = srv.addr.port();
    for (why, request, status) in [
        (
            "no token",
            format!("GET /api/v1/cameras HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
            "401",
        ),
        (
            "a wrong token",
            format!(
                "GET /api/v1/cameras HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Authorization: Bearer nope\r\n\r\n"
            ),
            "401",
        ),
        (
            "the page without the token",
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
            "401",
        ),
        (
            "a foreign host",
            format!(
                "GET /api/v1/cameras HTTP/1.1\r\nHost: evil.example\r\n\
                 Authorization: Bearer {TOKEN}\r\n\r\n"
            ),
            "403",
        ),
        (
            "a foreign origin",
            format!(
                "GET /api/v1/cameras HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Origin: http://evil.example\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
            ),
            "403",
        ),
        (
            "a body too large",
            format!(
                "POST /test/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
                 Authorization: Bearer {TOKEN}\r\nContent-Length: 17\r\n\r\n"
            ),
            "413",
        ),
    ] {
        // `raw` reads until the server closes the connection: here that is the answer's doing.
        let answer = raw(srv.addr, &request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{why}: {answer}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("\r\nconnection: close\r\n"),
            "{why}: {answer}"
        );
    }
    // An accepted request keeps its connection: two answers on one.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    for _ in 0..2 {
        let answer = ask(&mut s, "/test/gate").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(!answer.to_ascii_lowercase().contains("connection: close"));
    }
    srv.stop().await;
}

#[tokio::test]
async fn allowed_origins_get_cors() {
    let page = "http://page.example:8080";
    let srv = start(|c| c.allow_origins = vec![format!("{page}/")]).await;
    let c = client();
    let url = srv.at("/api/v1/openapi.json");
    // The preflight carries no credentials, and is answered.
    let r = c
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", page)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], page);
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("PUT"), "{methods}");
    let headers = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    // The request itself still needs the token.
    let r = c.get(&url).header("origin", page).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .get(&url)
        .bearer_auth(TOKEN)
        .header("origin", page)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["access-control-allow-origin"], page);
    // Others stay out.
    let r = c
        .get(&url)
        .bearer_auth(TOKEN)
        .header("origin", "http://other.example:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    srv.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_the_error_shape() {
    let srv = start(|c| c.limits.body_bytes = 1024).await;
    let c = client();
    // Declared too large: refused before any handler, read or not.
    for path in ["/api/v1/cameras", "/test/echo", "/"] {
        let r = c
            .post(srv.at(path))
            .bearer_auth(TOKEN)
            .body(vec![b'{'; 1025])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(code(r).await, "body_too_large");
    }
    // Streamed without a length: it stops at the limit, in the same shape.
    let chunks = futures_util::stream::iter(
        (0..8).map(|_| Ok::<_, Infallible>(Bytes::from(vec![b'a'; 256]))),
    );
    let r = c
        .post(srv.at("/test/echo"))
        .bearer_auth(TOKEN)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(r).await, "body_too_large");
    // At the limit it passes.
    let r = c
        .post(srv.at("/test/echo"))
        .bearer_auth(TOKEN)
        .body(vec![b'a'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "1024");
    srv.stop().await;
}

#[tokio::test]
async fn an_oversized_request_head_is_refused() {
    let srv = start(|c| c.limits.header_bytes = 8192).await;
    let answer = raw(
        srv.addr,
        &format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(20_000)
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    srv.stop().await;
}

#[tokio::test]
async fn a_client_that_stalls_in_its_request_head_blocks_nobody_and_is_dropped() {
    let srv = start(|c| c.limits.header_timeout = Duration::from_millis(300)).await;
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0")
        .await
        .unwrap();
    // Another client is served meanwhile.
    let r = client()
        .get(srv.at("/api/v1/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // And the slow one is let go.
    until_closed(&mut slow).await;
    // So is a connection that never sends anything.
    let mut idle = TcpStream::connect(srv.addr).await.unwrap();
    until_closed(&mut idle).await;
    srv.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_coming_ends_the_request_and_its_connection() {
    // The head time-out is out of reach: what ends the request is the body time-out.
    let srv = start(|c| {
        c.limits.body_timeout = Duration::from_millis(300);
        c.limits.header_timeout = NEVER;
    })
    .await;
    let head = format!(
        "POST /test/read HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 100\r\n\r\n"
    );
    // Ten bytes of a hundred, then nothing; the client keeps its side open.
    let mut slow = TcpStream::connect(srv.addr).await.unwrap();
    slow.write_all(format!("{head}0123456789").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(HANG, slow.read_to_end(&mut answer))
        .await
        .expect("the server gives up on the body and closes the connection")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    // The handler saw its body end in the time-out's error, answered, and the connection
    // (with the rest of the body unread) was closed.
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.ends_with("the body timed out"), "{answer}");
    // A whole body, on a fresh connection, is read as ever.
    let answer = raw(
        srv.addr,
        &format!(
            "{}{}",
            head.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"),
            "x".repeat(100)
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n100"), "{answer}");
    srv.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_an_endless_response_is_dropped() {
    let probe = Probe::default();
    let srv = start_with(
        |c| c.limits.write_timeout = Duration::from_millis(300),
        Registry::new(),
        probe.clone(),
    )
    .await;
    let mut reader = TcpStream::connect(srv.addr).await.unwrap();
    reader
        .write_all(
            format!(
                "GET /test/endless HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                 Authorization: Bearer {TOKEN}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // It reads nothing: the buffers fill, the server's write waits, and gives up.
    tokio::time::timeout(HANG, probe.endless_dropped.notified())
        .await
        .expect("the stream is dropped");
    // Others are still served.
    let r = client()
        .get(srv.at("/api/v1/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    until_closed(&mut reader).await;
    srv.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let probe = Probe::default();
    let srv = start_with(
        |c| {
            c.limits.connections = 2;
            c.limits.header_timeout = NEVER;
        },
        Registry::new(),
        probe.clone(),
    )
    .await;
    // Two kept-alive connections, each answered once: both hold a place.
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        let answer = ask(&mut s, "/test/gate").await;
        assert!(answer.ends_with("shut"), "{answer}");
        open.push(s);
    }
    // The third is accepted by the kernel and sends its request.
    let mut third = TcpStream::connect(srv.addr).await.unwrap();
    third
        .write_all(
            format!(
                "GET /test/gate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Connection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Meanwhile the two are served (giving a server without the cap every chance to serve
    // the third too)...
    for _ in 0..3 {
        let answer = ask(&mut open[1], "/test/gate").await;
        assert!(answer.ends_with("shut"), "{answer}");
    }
    // ...then the gate opens and one of the two closes. The third is served after both: it
    // sees the gate open. (Had it been served past the cap, it would have seen it shut.)
    probe.gate.store(true, Ordering::SeqCst);
    drop(open.remove(0));
    let mut answer = Vec::new();
    tokio::time::timeout(HANG, third.read_to_end(&mut answer))
        .await
        .expect("the third connection is served once a place is free")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("open"), "{answer}");
    srv.stop().await;
}

#[tokio::test]
async fn one_client_address_cannot_take_every_place() {
    let srv = start(|c| {
        c.limits.connections = 8;
        c.limits.connections_per_client = 4;
        c.limits.header_timeout = NEVER;
    })
    .await;
    // Four kept-alive connections from 127.0.0.1: its cap.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = connect_from("127.0.0.1", srv.addr).await;
        let answer = ask(&mut s, "/test/gate").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(s);
    }
    // A fifth from the same address is closed without an answer.
    let mut fifth = connect_from("127.0.0.1", srv.addr).await;
    assert_eq!(ask(&mut fifth, "/test/gate").await, "");
    until_closed(&mut fifth).await;
    // A client from another address is served meanwhile, with places to spare.
    for _ in 0..4 {
        let mut other = connect_from("127.0.0.2", srv.addr).await;
        let answer = ask(&mut other, "/test/gate").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        held.push(other);
    }
    // Once one of the first four closes, the address is served again (as soon as the server
    // has seen it close).
    drop(held.remove(0));
    tokio::time::timeout(HANG, async {
        loop {
            let mut again = connect_from("127.0.0.1", srv.addr).await;
            if ask(&mut again, "/test/gate")
                .await
                .starts_with("HTTP/1.1 200")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a place for 127.0.0.1 comes free");
    srv.stop().await;
}

#[tokio::test]
async fn the_openapi_document_says_what_the_checks_answer() {
    let srv = start(|_| {}).await;
    let doc: serde_json::Value = client()
        .get(srv.at("/api/v1/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["basic"]["type"], "http");
    assert_eq!(schemes["basic"]["scheme"], "basic");
    assert_eq!(schemes["cookie"]["type"], "apiKey");
    assert_eq!(schemes["cookie"]["in"], "cookie");
    assert_eq!(
        schemes["cookie"]["name"],
        format!("sonyctl-token-{}", srv.addr.port())
    );
    let declared: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| !t["description"].as_str().unwrap_or("").is_empty())
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let error_body = serde_json::json!({"$ref": "#/components/schemas/ErrorBody"});
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{method} {path}");
            let security: Vec<String> = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no security"))
                .iter()
                .map(|r| r.as_object().unwrap().keys().cloned().collect())
                .collect();
            assert_eq!(security, ["bearer", "basic", "cookie"], "{at}");
            let responses = &op["responses"];
            for code in ["400", "401", "403", "413"] {
                assert_eq!(
                    responses[code]["content"]["application/json"]["schema"], error_body,
                    "{at} {code}"
                );
            }
            assert!(responses["431"]["description"].is_string(), "{at}");
            assert!(responses["431"].get("content").is_none(), "{at}");
            for tag in op["tags"].as_array().unwrap() {
                let tag = tag.as_str().unwrap();
                assert!(declared.contains(&tag), "{at}: tag {tag} not declared");
            }
        }
    }
    assert!(operations > 15, "{operations}");
    srv.stop().await;
    // Without a token nothing is required (the schemes are still described).
    let srv = start(|c| c.token = None).await;
    let doc: serde_json::Value = client()
        .get(srv.at("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(op.get("security").is_none(), "{method} {path}");
        }
    }
    srv.stop().await;
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish_and_stops_accepting() {
    let probe = Probe::default();
    let srv = start_with(|_| {}, Registry::new(), probe.clone()).await;
    let addr = srv.addr;
    let c = client();
    let in_flight = tokio::spawn(c.get(srv.at("/test/held")).bearer_auth(TOKEN).send());
    tokio::time::timeout(HANG, probe.held.notified())
        .await
        .unwrap();
    let stopping = tokio::spawn(srv.stop());
    // New connections are refused once it stops accepting.
    tokio::time::timeout(HANG, async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server stops accepting");
    probe.release.notify_one();
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "done");
    tokio::time::timeout(HANG, stopping).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_end_the_cameras_services_end() {
    let registry = Registry::new();
    let mut ended = Vec::new();
    for model in ["ilce-6000", "ilce-6000"] {
        let sim = SimulatedCamera::new(Profile::builtin(model).unwrap(), SimOptions::default());
        let cam = Camera::open(
            Link::sim(sim, SimClock::real(1.0)),
            CameraOptions::default(),
        )
        .await
        .unwrap();
        let service = CameraService::spawn(cam, ServiceOptions::default());
        ended.push(service.status_changes());
        registry.add(service).await.unwrap();
    }
    let ids: Vec<String> = registry.list().iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids[1], format!("{}-2", ids[0]));
    let srv = start_with(|c| c.token = None, registry, Probe::default()).await;
    let page = client()
        .get(srv.at("/api/v1/cameras"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in &ids {
        assert!(page.contains(id.as_str()), "{page}");
    }
    let registry = srv.stop().await;
    // Closed: no camera joins any more.
    let sim = SimulatedCamera::new(
        Profile::builtin("ilce-6000").unwrap(),
        SimOptions::default(),
    );
    let cam = Camera::open(
        Link::sim(sim, SimClock::real(1.0)),
        CameraOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        registry
            .add(CameraService::spawn(cam, ServiceOptions::default()))
            .await
            .is_err()
    );
    assert!(registry.release(Duration::from_secs(5)).await);
    assert!(registry.list().is_empty());
    for mut rx in ended {
        // The service task is over: its status sender is gone (after any last changes).
        tokio::time::timeout(HANG, async { while rx.changed().await.is_ok() {} })
            .await
            .expect("the service has ended");
    }
}
