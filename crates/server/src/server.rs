//! Binding, the accept loop, the limits on every connection, and graceful shutdown.
//!
//! Each request passes, outermost first: the Host, Origin and body-size checks
//! (`security::guard`, which also closes the connection after a 401, 403 or 413), CORS for the
//! allowed origins only, the token (`security::token`), the request-body time-out, then the
//! routes. Each connection (HTTP/1.1, keep-alive) has:
//! - a place under `limits.connections` (a semaphore taken before `accept`, so further
//!   connections wait in the kernel's backlog rather than in memory here);
//! - a place under `limits.connections_per_client` for its client's address, taken as soon as
//!   it is accepted and before anything is read from it: without one, it is closed at once (so
//!   one address cannot hold every place; it gives the place above back at once);
//! - `limits.header_timeout` to send each request head, counted from the start or the end of
//!   the previous response (so an idle keep-alive connection gives its place back), and
//!   `limits.header_bytes` for it (431 beyond);
//! - `limits.write_timeout` on every write: a client that stops reading is dropped, with any
//!   stream it was sent (`write_timeout`).
//!
//! None of it touches the camera: a stalled client costs its own connection only.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use sonyctl_camera::save::Saver;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::{Limits, MIN_STREAMS, ServerConfig};
use crate::error::ApiError;
use crate::openapi::{Access, ApiDoc};
use crate::registry::Registry;
use crate::security::{self, ConnInfo, Security};
use crate::state::AppState;
use crate::write_timeout::WriteTimeout;

/// The HTTP/1 parser refuses a smaller head buffer.
const MIN_HEADER_BYTES: usize = 8192;

/// At shutdown, once the captures have ended ([`Registry::close`]), how long the requests that
/// waited for them have to send their answers when the shutdown time-out has passed already.
const ANSWER_AFTER_CLOSE: std::time::Duration = std::time::Duration::from_secs(2);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The output folder is unusable.
    #[error("the output folder: {0}")]
    Output(#[from] sonyctl_camera::save::SaveError),
    /// A configuration that would be unsafe (a non-loopback address without a token).
    #[error("{0}")]
    Unsafe(String),
    /// A configuration that does not parse: a token that is not URL-safe, an allowed host or
    /// origin that is not one.
    #[error("{0}")]
    Config(String),
}

/// The server, before it is bound.
#[derive(Debug)]
pub struct Server;

/// A bound server: it knows its address and serves once [`BoundServer::serve`] runs.
pub struct BoundServer {
    listener: TcpListener,
    /// The routes, without the checks and limits (added in `serve`, after any
    /// [`BoundServer::with_routes`]).
    router: Router,
    local_addr: SocketAddr,
    /// The URL to open (with the token, so kept out of `Debug`).
    url: String,
    security: Arc<Security>,
    cors: Option<tower_http::cors::CorsLayer>,
    limits: Limits,
    registry: Registry,
    stopping: watch::Sender<bool>,
}

impl std::fmt::Debug for BoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundServer")
            .field("local_addr", &self.local_addr)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `config.listen` and builds the routes over `registry`.
    ///
    /// Refuses an address other than loopback without a token (the caller generates one:
    /// [`generate_token`](crate::generate_token)), a token that is not URL-safe, and allowed
    /// hosts or origins that do not parse. Limits below their floors count as the floors
    /// ([`Limits`] says which).
    pub async fn bind(
        mut config: ServerConfig,
        registry: Registry,
    ) -> Result<BoundServer, StartError> {
        apply_floors(&mut config.limits);
        if !config.listen.ip().is_loopback() && config.token.is_none() {
            return Err(StartError::Unsafe(format!(
                "{} is not a loopback address: a token is required",
                config.listen
            )));
        }
        security::check_config(&config).map_err(StartError::Config)?;
        let saver = Arc::new(Saver::new(&config.output, None)?);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let url = url_for(local_addr, config.token.as_deref());
        let security = Arc::new(Security::new(&config, local_addr));
        let cors = security::cors(&config);
        let limits = config.limits.clone();
        let (stopping, shutdown) = watch::channel(false);
        {
            let saver = saver.clone();
            let shutdown = shutdown.clone();
            registry.on_join(Arc::new(move |entry| {
                camera_joined(entry, &saver, &shutdown);
            }));
        }
        let access = Access {
            cookie: security::cookie_name(local_addr.port()),
            token: config.token.is_some(),
            body_bytes: config.limits.body_bytes,
            header_bytes: config.limits.header_bytes,
        };
        let state = AppState {
            registry: registry.clone(),
            live_streams: Arc::new(Semaphore::new(config.limits.live_streams)),
            event_streams: Arc::new(Semaphore::new(config.limits.event_streams)),
            config: Arc::new(config),
            saver,
            shutdown,
        };
        Ok(BoundServer {
            listener,
            router: router(state, &access),
            local_addr,
            url,
            security,
            cors,
            limits,
            registry,
            stopping,
        })
    }
}

/// Raises the limits that are below their floors to them.
pub(crate) fn apply_floors(limits: &mut Limits) {
    limits.header_bytes = limits.header_bytes.max(MIN_HEADER_BYTES);
    limits.connections = limits.connections.max(1);
    limits.connections_per_client = limits.connections_per_client.max(1);
    limits.live_streams = limits.live_streams.max(MIN_STREAMS);
    limits.event_streams = limits.event_streams.max(MIN_STREAMS);
}

/// What the server starts for each camera it serves, as the camera joins (at bind for those
/// registered before, at `Registry::add` for those plugged in later).
///
/// The hook for the per-camera background work: the download of shots taken with the
/// camera's own button starts here. Whatever it spawns must end when `shutdown` turns true
/// (or when the service ends), or it keeps the camera's service alive past
/// [`Registry::release`].
fn camera_joined(
    entry: &Arc<crate::registry::CameraEntry>,
    saver: &Arc<Saver>,
    shutdown: &watch::Receiver<bool>,
) {
    tracing::debug!("serving {}", entry.id);
    // The tether task holds the camera's entry only while it downloads and ends with the
    // service, so it never keeps a camera from being released at shutdown.
    let _ = shutdown;
    crate::tether::spawn_tether(entry, saver.clone());
}

/// The whole router: the page, the API and its OpenAPI document (with what `access` adds to
/// every operation).
pub(crate) fn router(state: AppState, access: &Access) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", crate::api::router())
        .split_for_parts();
    access.modify(&mut doc);
    // Written once: the document does not change while the server runs.
    let doc = bytes::Bytes::from(serde_json::to_vec(&doc).unwrap_or_default());
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
        }),
    )
    .route("/", get(crate::page::index))
    .route("/assets/{*path}", get(crate::page::asset))
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .with_state(state)
}

/// Any path the server does not serve: 404 `not_found`, in the API's error shape.
async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "nothing is served at {}: GET /api/v1/openapi.json lists the API",
            uri.path()
        ),
    )
}

/// A path served, with a method it does not take: 405 `method_not_allowed`.
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}", uri.path()),
    )
}

/// The connections open from each client address (IPv4-mapped IPv6 as IPv4).
#[derive(Debug, Default)]
struct Clients {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection's place under `limits.connections_per_client`, given back when dropped.
#[derive(Debug)]
struct ClientPlace {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    /// A place for one more connection from `ip`, unless `cap` are open from it already.
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<ClientPlace> {
        let ip = ip.to_canonical();
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(ClientPlace {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientPlace {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// `routes` behind the checks and limits, outermost last.
pub(crate) fn guarded(
    routes: Router,
    security: Arc<Security>,
    cors: Option<tower_http::cors::CorsLayer>,
    limits: &Limits,
) -> Router {
    let inner = routes
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            security.clone(),
            security::token,
        ));
    let inner = match cors {
        Some(cors) => inner.layer(cors),
        None => inner,
    };
    inner.layer(axum::middleware::from_fn_with_state(
        security,
        security::guard,
    ))
}

/// `http://HOST:PORT/`, with `?token=…` when a token is set. On a wildcard address, HOST is
/// the address this machine reaches the network from, or else its host name.
fn url_for(local: SocketAddr, token: Option<&str>) -> String {
    let ip = if local.ip().is_unspecified() {
        outward_address(local.ip())
    } else {
        Some(local.ip())
    };
    let host = match ip {
        Some(IpAddr::V6(a)) => format!("[{a}]"),
        Some(IpAddr::V4(a)) => a.to_string(),
        None => gethostname::gethostname()
            .into_string()
            .unwrap_or_else(|_| "localhost".into()),
    };
    let port = local.port();
    match token {
        Some(t) => format!("http://{host}:{port}/?token={t}"),
        None => format!("http://{host}:{port}/"),
    }
}

/// The address this machine would send from to the outside (a UDP "connection" to a
/// documentation address: nothing is sent, the routing table answers).
fn outward_address(wildcard: IpAddr) -> Option<IpAddr> {
    let probe = |bind: &str, to: &str| -> Option<IpAddr> {
        let socket = std::net::UdpSocket::bind(bind).ok()?;
        socket.connect(to).ok()?;
        let ip = socket.local_addr().ok()?.ip();
        (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
    };
    let v4 = || probe("0.0.0.0:0", "192.0.2.1:9");
    match wildcard {
        IpAddr::V6(_) => probe("[::]:0", "[2001:db8::1]:9").or_else(v4),
        IpAddr::V4(_) => v4(),
    }
}

impl BoundServer {
    /// The address it listens on (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL to open: `http://HOST:PORT/`, with `?token=…` when a token is set.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Serves `routes` too, behind the same checks and limits: another front end on the
    /// same port (and tests).
    ///
    /// # Panics
    /// If a path of `routes` is served already (axum's `Router::merge`).
    pub fn with_routes(mut self, routes: Router) -> BoundServer {
        self.router = self.router.merge(routes);
        self
    }

    /// Serves until `shutdown` completes. Then it stops accepting, tells open streams to end,
    /// stops the capture jobs ([`Registry::close`]) while requests in flight finish (keep-alive
    /// connections close after their current response), and after
    /// `limits.shutdown_timeout` drops the connections still open. The cameras' services are
    /// left to the caller ([`Registry::release`]).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let BoundServer {
            listener,
            router,
            local_addr,
            security,
            cors,
            limits,
            registry,
            stopping,
            ..
        } = self;
        let app = guarded(router, security, cors, &limits);
        accept_loop(
            listener,
            app,
            local_addr,
            &limits,
            shutdown,
            stopping,
            registry.close(),
        )
        .await;
        Ok(())
    }
}

/// Serves `app` on `listener` until `shutdown` completes, with `limits` on every connection
/// (the places under `connections` and `connections_per_client`, the head and write
/// time-outs). Then it stops accepting, sends `true` on `stopping` (streams end, keep-alive
/// connections close after their current response) and waits, at most
/// `limits.shutdown_timeout`, for the connections to finish while `closing` runs (what the
/// front end ends at shutdown); once `closing` is done, requests that waited for it have
/// [`ANSWER_AFTER_CLOSE`] more; the connections still open then are dropped.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    app: Router,
    local_addr: SocketAddr,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    stopping: watch::Sender<bool>,
    closing: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.header_bytes);
    let places = Arc::new(Semaphore::new(limits.connections));
    let clients = Arc::new(Clients::default());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let place = tokio::select! {
            () = &mut shutdown => break,
            place = places.clone().acquire_owned() => match place {
                Ok(place) => place,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(client_place) = clients.take(peer.ip(), limits.connections_per_client) else {
            // Closed before a byte is read; its place under `connections` goes back too.
            tracing::debug!("closed a connection beyond the cap for one client address");
            continue;
        };
        let local = stream.local_addr().unwrap_or(local_addr);
        // Live-view parts and events go out as they are written.
        let _ = stream.set_nodelay(true);
        if let Some(bytes) = limits.send_buffer {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(bytes);
        }
        let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnInfo { local });
                app.clone().oneshot(req)
            });
        let connection = http.serve_connection(io, service);
        let mut stop = stopping.subscribe();
        connections.spawn(async move {
            let _places = (place, client_place);
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = async { drop(stop.wait_for(|stopping| *stopping).await) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!("a connection ended: {e}");
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    let (mut drained, ()) = tokio::join!(
        tokio::time::timeout(limits.shutdown_timeout, drain),
        closing
    );
    if drained.is_err() {
        // A request that waited for a capture `close` ended (a shot in progress ends after
        // its exposure, maybe past the time-out) is answered now: a moment to write it.
        let drain = async { while connections.join_next().await.is_some() {} };
        drained = tokio::time::timeout(ANSWER_AFTER_CLOSE, drain).await;
    }
    if drained.is_err() {
        tracing::info!(
            "{} connections still busy at the shutdown time-out were dropped",
            connections.len()
        );
    }
    connections.shutdown().await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_client_address_has_its_own_cap() {
        let clients = Arc::new(Clients::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let first = clients.take(a, 2).unwrap();
        // The same address written as IPv4-mapped IPv6.
        let second = clients.take(mapped, 2).unwrap();
        assert!(clients.take(a, 2).is_none());
        assert!(clients.take(mapped, 2).is_none());
        let other = clients.take(b, 2).unwrap();
        drop(first);
        let third = clients.take(a, 2).unwrap();
        drop((second, third, other));
        // Nothing is kept for addresses with no connection.
        assert!(clients.open.lock().unwrap().is_empty());
    }
}
