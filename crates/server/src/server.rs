//! Binding, the accept loop and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use sonyctl_camera::save::Saver;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::ServerConfig;
use crate::openapi::ApiDoc;
use crate::registry::Registry;
use crate::state::AppState;

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
}

/// The server, before it is bound.
#[derive(Debug)]
pub struct Server;

/// A bound server: it knows its address and serves once [`BoundServer::serve`] runs.
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
    token: Option<String>,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Binds `config.listen` and builds the routes over `registry`.
    pub async fn bind(config: ServerConfig, registry: Registry) -> Result<BoundServer, StartError> {
        if !config.listen.ip().is_loopback() && config.token.is_none() {
            return Err(StartError::Unsafe(format!(
                "{} is not a loopback address: a token is required",
                config.listen
            )));
        }
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
        // Shots taken with a camera's own button are saved from now on.
        registry.tether_into(saver.clone());
        let token = config.token.clone();
        let (stopping, shutdown) = tokio::sync::watch::channel(false);
        let state = AppState {
            registry,
            live_streams: Arc::new(Semaphore::new(config.limits.live_streams)),
            event_streams: Arc::new(Semaphore::new(config.limits.event_streams)),
            config: Arc::new(config),
            saver,
            shutdown,
        };
        Ok(BoundServer {
            listener,
            router: router(state),
            local_addr,
            token,
            stopping,
        })
    }
}

/// The whole router: the page, the API and its OpenAPI document.
pub(crate) fn router(state: AppState) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", crate::api::router())
        .split_for_parts();
    let doc = Arc::new(doc);
    api.route(
        "/api/v1/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .route("/", get(crate::page::index))
    .with_state(state)
}

impl BoundServer {
    /// The address it listens on (the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL to open: `http://HOST:PORT/`, with `?token=…` when a token is set.
    pub fn url(&self) -> String {
        let host = match self.local_addr {
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
            SocketAddr::V4(a) => a.to_string(),
        };
        match &self.token {
            Some(t) => format!("http://{host}/?token={t}"),
            None => format!("http://{host}/"),
        }
    }

    /// Serves until `shutdown` completes, then stops accepting and lets open requests finish.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stopping = self.stopping;
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // Open streams see it and end, so the shutdown does not wait for them.
                let _ = stopping.send(true);
            })
            .await
    }
}
