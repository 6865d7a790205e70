//! # ASCOM Alpaca: the camera as an astronomy camera and its lens as a focuser
//!
//! A second HTTP server (separate from [`Server`](crate::Server), default `127.0.0.1:11111`)
//! speaking the ASCOM Alpaca API (reference version 11): `/api/v1/camera/{n}/…` (ICameraV4),
//! `/api/v1/focuser/{n}/…` (IFocuserV4), `/management/…`, the `/setup` pages, and UDP
//! discovery. It runs on this crate's accept loop with the same limits, time-outs and
//! Host/Origin/token checks as `serve` (an Alpaca client sends the token as the HTTP Basic
//! password).
//!
//! The layer knows the protocol only. It reaches the devices through the ports in [`ports`]
//! ([`AlpacaCamera`], [`AlpacaFocuser`]), which an adapter implements over a camera service.
//!
//! ```no_run
//! # async fn run(camera: std::sync::Arc<dyn sonyctl_server::alpaca::AlpacaCamera>,
//! #              focuser: std::sync::Arc<dyn sonyctl_server::alpaca::AlpacaFocuser>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use sonyctl_server::alpaca::{AlpacaConfig, AlpacaDevices, AlpacaServer};
//! let mut devices = AlpacaDevices::new();
//! devices.add_body(camera, focuser); // camera 0 and focuser 0
//! let bound = AlpacaServer::bind(AlpacaConfig::default(), devices).await?;
//! println!("Alpaca on {}, discovery on {:?}", bound.local_addr(), bound.discovery_port());
//! bound.run(std::future::pending()).await?; // or a shutdown signal
//! # Ok(()) }
//! ```

pub mod astro;
mod devices;
mod discovery;
mod image;
mod management;
mod params;
pub mod ports;
mod reply;

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use ports::{
    AlpacaCamera, AlpacaDevice, AlpacaError, AlpacaFocuser, AlpacaFrame, AlpacaFuture, CameraSetup,
    CameraSetupChange, CameraState, DeviceIdentity, ExposureRequest, ExposureStatus, FocusMove,
    FocuserStatus, FrameKind, FrameRow, LastExposure, SensorInfo, SensorType, Subframe,
};

use crate::config::{Limits, ServerConfig};
use crate::security::{self, Security};
use crate::server::StartError;
use devices::{CameraSlot, FocuserSlot};
use params::{BadRequest, Params};
use reply::{Counter, Ids};

/// The default address: loopback, port 11111 (the Alpaca custom).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:11111";

/// The default discovery port (reference §5.8.1).
pub const DEFAULT_DISCOVERY_PORT: u16 = 32227;

/// How the Alpaca server runs.
#[derive(Clone)]
pub struct AlpacaConfig {
    /// Where to listen (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The access token, as for `serve` ([`ServerConfig::token`]): required beyond loopback;
    /// Alpaca clients send it as the HTTP Basic password. Never logged.
    pub token: Option<String>,
    /// Host names accepted in `Host` besides the usual ones ([`ServerConfig::allow_hosts`]).
    pub allow_hosts: Vec<String>,
    /// Origins accepted besides the server's own ([`ServerConfig::allow_origins`]).
    pub allow_origins: Vec<String>,
    /// The UDP discovery port: `Some(32227)` by default, `Some(0)` for a free port, `None`
    /// for no discovery.
    pub discovery_port: Option<u16>,
    /// The user asked for [`discovery_port`](Self::discovery_port) explicitly: a port that
    /// cannot be bound refuses the server. Otherwise (the default port) the server starts
    /// without discovery and says why ([`AlpacaBound::discovery_warning`]).
    pub discovery_required: bool,
    /// Bounds on what clients may use (those of `serve`; the stream limits do not apply).
    pub limits: Limits,
    /// The management description's `ServerName`.
    pub server_name: String,
    /// The management description's `Location` (this machine's host name by default).
    pub location: String,
}

impl Default for AlpacaConfig {
    fn default() -> Self {
        AlpacaConfig {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 11111))),
            token: None,
            allow_hosts: Vec::new(),
            allow_origins: Vec::new(),
            discovery_port: Some(DEFAULT_DISCOVERY_PORT),
            discovery_required: false,
            limits: Limits::default(),
            server_name: "sonyctl".into(),
            location: gethostname::gethostname().into_string().unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for AlpacaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .field("allow_hosts", &self.allow_hosts)
            .field("allow_origins", &self.allow_origins)
            .field("discovery_port", &self.discovery_port)
            .field("discovery_required", &self.discovery_required)
            .field("limits", &self.limits)
            .field("server_name", &self.server_name)
            .field("location", &self.location)
            .finish()
    }
}

impl AlpacaConfig {
    /// The same security settings in `serve`'s shape, for the shared checks.
    fn as_server_config(&self) -> ServerConfig {
        let mut c = ServerConfig::new("");
        c.listen = self.listen;
        c.token = self.token.clone();
        c.allow_hosts = self.allow_hosts.clone();
        c.allow_origins = self.allow_origins.clone();
        c.limits = self.limits.clone();
        c
    }
}

/// The devices served, numbered from 0 per type in the order added.
#[derive(Default, Clone)]
pub struct AlpacaDevices {
    cameras: Vec<Arc<dyn AlpacaCamera>>,
    focusers: Vec<Arc<dyn AlpacaFocuser>>,
}

impl std::fmt::Debug for AlpacaDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaDevices")
            .field("cameras", &self.cameras.len())
            .field("focusers", &self.focusers.len())
            .finish()
    }
}

impl AlpacaDevices {
    /// No devices.
    pub fn new() -> AlpacaDevices {
        AlpacaDevices::default()
    }

    /// Adds a camera; its device number.
    pub fn add_camera(&mut self, camera: Arc<dyn AlpacaCamera>) -> usize {
        self.cameras.push(camera);
        self.cameras.len() - 1
    }

    /// Adds a focuser; its device number.
    pub fn add_focuser(&mut self, focuser: Arc<dyn AlpacaFocuser>) -> usize {
        self.focusers.push(focuser);
        self.focusers.len() - 1
    }

    /// Adds one body's camera and focuser (the same number for both when every body is added
    /// this way).
    pub fn add_body(&mut self, camera: Arc<dyn AlpacaCamera>, focuser: Arc<dyn AlpacaFocuser>) {
        self.add_camera(camera);
        self.add_focuser(focuser);
    }
}

/// What the management description says.
#[derive(Debug, Clone)]
pub(crate) struct ServerInfo {
    pub(crate) server_name: String,
    pub(crate) manufacturer: String,
    pub(crate) manufacturer_version: String,
    pub(crate) location: String,
}

/// What the handlers share.
pub(crate) struct AlpacaState {
    pub(crate) cameras: Vec<CameraSlot>,
    pub(crate) focusers: Vec<FocuserSlot>,
    pub(crate) counter: Counter,
    pub(crate) info: ServerInfo,
}

/// The Alpaca server, before it is bound.
#[derive(Debug)]
pub struct AlpacaServer;

/// A bound Alpaca server: it knows its addresses and serves once [`AlpacaBound::run`] runs.
pub struct AlpacaBound {
    listener: TcpListener,
    app: Router,
    local_addr: SocketAddr,
    limits: Limits,
    discovery: Option<discovery::Discovery>,
    discovery_addrs: Vec<SocketAddr>,
    discovery_warning: Option<String>,
}

impl std::fmt::Debug for AlpacaBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlpacaBound")
            .field("local_addr", &self.local_addr)
            .field("discovery_addrs", &self.discovery_addrs)
            .finish_non_exhaustive()
    }
}

impl AlpacaServer {
    /// Binds `config.listen` (and the discovery port) for `devices`.
    ///
    /// Refuses, as `serve` does, an address other than loopback without a token, a token that
    /// is not URL-safe and allowed hosts or origins that do not parse; and two devices of one
    /// type with the same unique id.
    pub async fn bind(
        mut config: AlpacaConfig,
        devices: AlpacaDevices,
    ) -> Result<AlpacaBound, StartError> {
        crate::server::apply_floors(&mut config.limits);
        if !config.listen.ip().is_loopback() && config.token.is_none() {
            return Err(StartError::Unsafe(format!(
                "{} is not a loopback address: a token is required",
                config.listen
            )));
        }
        let server_config = config.as_server_config();
        security::check_config(&server_config).map_err(StartError::Config)?;
        for (kind, ids) in [
            (
                "camera",
                devices
                    .cameras
                    .iter()
                    .map(|c| c.identity().unique_id)
                    .collect::<Vec<_>>(),
            ),
            (
                "focuser",
                devices
                    .focusers
                    .iter()
                    .map(|f| f.identity().unique_id)
                    .collect(),
            ),
        ] {
            let mut seen = HashSet::new();
            if let Some(dup) = ids.iter().find(|id| !seen.insert(*id)) {
                return Err(StartError::Config(format!(
                    "two {kind}s have the unique id {dup:?}"
                )));
            }
        }
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
        // A `[::]` listener that takes IPv4 too (Linux's default) is found over IPv4 as well.
        let dual_stack = local_addr.is_ipv6()
            && socket2::SockRef::from(&listener)
                .only_v6()
                .is_ok_and(|only| !only);
        let mut discovery_warning = None;
        let discovery = match config.discovery_port {
            None => None,
            Some(port) => match discovery::Discovery::bind(local_addr.ip(), dual_stack, port) {
                Ok(d) => Some(d),
                Err(source) if config.discovery_required => {
                    return Err(StartError::Bind {
                        addr: SocketAddr::new(local_addr.ip(), port),
                        source,
                    });
                }
                Err(e) => {
                    let warning = format!(
                        "discovery is off: UDP port {port} cannot be bound ({e}); clients need \
                         this server's address and port, or choose another --discovery-port"
                    );
                    tracing::warn!("{warning}");
                    discovery_warning = Some(warning);
                    None
                }
            },
        };
        let discovery_addrs = discovery
            .as_ref()
            .map(discovery::Discovery::addrs)
            .unwrap_or_default();
        let state = Arc::new(AlpacaState {
            cameras: devices.cameras.into_iter().map(CameraSlot::new).collect(),
            focusers: devices.focusers.into_iter().map(FocuserSlot::new).collect(),
            counter: Counter::new(),
            info: ServerInfo {
                server_name: config.server_name.clone(),
                manufacturer: "sonyctl".into(),
                manufacturer_version: env!("CARGO_PKG_VERSION").into(),
                location: config.location.clone(),
            },
        });
        let security = Arc::new(Security::new(&server_config, local_addr));
        let cors = security::cors(&server_config);
        let app = crate::server::guarded(router(state), security, cors, &config.limits);
        Ok(AlpacaBound {
            listener,
            app,
            local_addr,
            limits: config.limits,
            discovery,
            discovery_addrs,
            discovery_warning,
        })
    }
}

impl AlpacaBound {
    /// The address the HTTP server listens on (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The first address discovery listens on (IPv4 when it listens on IPv4), if it is on.
    pub fn discovery_addr(&self) -> Option<SocketAddr> {
        self.discovery_addrs.first().copied()
    }

    /// Every address discovery listens on (e.g. 127.0.0.1 and ::1 on the same port).
    pub fn discovery_addrs(&self) -> &[SocketAddr] {
        &self.discovery_addrs
    }

    /// Why discovery is off although it was asked for (its default port could not be
    /// bound), for the user.
    pub fn discovery_warning(&self) -> Option<&str> {
        self.discovery_warning.as_deref()
    }

    /// The discovery port (the one chosen when 0 was asked for), if discovery is on.
    pub fn discovery_port(&self) -> Option<u16> {
        self.discovery_addr().map(|a| a.port())
    }

    /// Serves HTTP and discovery until `shutdown` completes; then stops accepting, lets
    /// requests in flight finish (at most `limits.shutdown_timeout`) and stops discovery. The
    /// devices are left as they are (the caller disconnects them).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let AlpacaBound {
            listener,
            app,
            local_addr,
            limits,
            discovery,
            ..
        } = self;
        let (stopping, stopped) = watch::channel(false);
        let responder = discovery.map(|d| tokio::spawn(d.run(local_addr.port(), stopped)));
        crate::server::accept_loop(
            listener,
            app,
            local_addr,
            &limits,
            shutdown,
            stopping,
            async {},
        )
        .await;
        if let Some(responder) = responder {
            let _ = responder.await;
        }
        Ok(())
    }
}

/// The routes (the checks and limits are added around them in `bind`).
fn router(state: Arc<AlpacaState>) -> Router {
    Router::new()
        .route("/api/{*rest}", any(api))
        .route("/management/{*rest}", any(management))
        .route("/setup", any(setup_server))
        .route("/setup/{*rest}", any(setup_device))
        .fallback(unknown)
        .with_state(state)
}

/// A device number: decimal digits only (no sign, no spaces), within `usize`.
pub(crate) fn parse_number(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `/api/v1/{type}/{n}/{member}`.
async fn api(
    State(state): State<Arc<AlpacaState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match api_request(&state, &method, &uri, &headers, &body).await {
        Ok(response) => response,
        Err(bad) => bad.into_response(),
    }
}

async fn api_request(
    state: &AlpacaState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, BadRequest> {
    let rest = uri.path().strip_prefix("/api/").unwrap_or("");
    let parts: Vec<&str> = rest.split('/').collect();
    let [version, kind, number, member] = parts.as_slice() else {
        return Err(BadRequest(format!(
            "{} is not an Alpaca device path: /api/v1/{{camera|focuser}}/{{n}}/{{member}}",
            uri.path()
        )));
    };
    if *version != "v1" {
        return Err(BadRequest(format!(
            "API version {version:?} is not supported: /management/apiversions lists them"
        )));
    }
    if *method != Method::GET && *method != Method::PUT {
        return Err(BadRequest(format!(
            "Alpaca members take GET or PUT, not {method}"
        )));
    }
    let n = parse_number(number)
        .ok_or_else(|| BadRequest(format!("{number:?} is not a device number")))?;
    let params = Params::parse(method, uri.query(), body);
    let ids = || Ids {
        client: params.client_transaction_id(),
        server: state.counter.next(),
    };
    match *kind {
        "camera" => {
            let slot = state
                .cameras
                .get(n)
                .ok_or_else(|| BadRequest(format!("camera device {n} does not exist")))?;
            devices::camera(slot, member, method, &params, headers, ids()).await
        }
        "focuser" => {
            let slot = state
                .focusers
                .get(n)
                .ok_or_else(|| BadRequest(format!("focuser device {n} does not exist")))?;
            devices::focuser(slot, member, method, &params, ids()).await
        }
        other => Err(BadRequest(format!(
            "{other:?} is not a device type served here (camera, focuser)"
        ))),
    }
}

/// `/management/…`.
async fn management(State(state): State<Arc<AlpacaState>>, method: Method, uri: Uri) -> Response {
    if method != Method::GET {
        return BadRequest(format!("the management API takes GET, not {method}")).into_response();
    }
    let params = Params::parse(&method, uri.query(), b"");
    management::management(&state, uri.path(), &params).unwrap_or_else(|| {
        BadRequest(format!("{} is not a management path", uri.path())).into_response()
    })
}

/// `/setup`.
async fn setup_server(State(state): State<Arc<AlpacaState>>, method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return BadRequest(format!("/setup takes GET, not {method}")).into_response();
    }
    management::server_page(&state)
}

/// `/setup/v1/{type}/{n}/setup`.
async fn setup_device(
    State(state): State<Arc<AlpacaState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rest = uri.path().strip_prefix("/setup/").unwrap_or("");
    let parts: Vec<&str> = rest.split('/').collect();
    let result = match parts.as_slice() {
        ["v1", kind, number, "setup"] => {
            management::device_page(state.clone(), kind, number, &method, &headers, &body).await
        }
        _ => Err(BadRequest(format!(
            "{} is not a setup page: /setup lists them",
            uri.path()
        ))),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Anything else: 400 with a text body (reference §2.5).
async fn unknown(uri: Uri) -> Response {
    BadRequest(format!("{} is not an Alpaca path", uri.path())).into_response()
}
