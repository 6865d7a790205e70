//! # sonyctl-server: the camera on the local network
//!
//! An HTTP server (axum) in front of one or more camera services ([`sonyctl_service`]): a JSON
//! API under `/api/v1` (cameras, properties, actions, capture jobs, images), Server-Sent Events,
//! MJPEG live view and an OpenAPI 3 document generated from the handlers
//! (`/api/v1/openapi.json`). It is a front end: it reaches a camera only through its
//! [`ServiceHandle`](sonyctl_service::ServiceHandle), never a transport, bytes or timing policy.
//!
//! Safe by default: it listens on loopback; on any other address a token is required (Bearer,
//! HTTP Basic password, or the cookie `GET /?token=…` sets); the `Host` header must name this
//! machine and an `Origin` must be the server's own; bodies, headers, connections and streams
//! are bounded, and a slow client never stalls the camera or the other clients.
//!
//! The modules, by job:
//! - [`config`]: what the server is told (listen address, token, allowed hosts and origins,
//!   output folder, limits);
//! - [`registry`]: the cameras served, their stable ids, their images and jobs;
//! - [`error`]: the one error shape `{"error": {"code", "message", …}}` and the mapping of
//!   service failures to HTTP statuses;
//! - `security`: token, Host and Origin checks, the bound on request bodies;
//! - `api`: the handlers, one module per resource;
//! - `tether`: per camera, the download of shots taken with the camera's own button;
//! - `thumbnail`: small JPEGs of the images saved;
//! - `page`: `GET /`;
//! - [`alpaca`]: the ASCOM Alpaca server (camera and focuser over HTTP, discovery), a
//!   separate server on the same accept loop and checks;
//! - [`server`]: binding, the accept loop, the limits on each connection, graceful shutdown
//!   (`write_timeout`: the socket whose writes give up on a client that stopped reading).

pub mod alpaca;
pub mod config;
pub mod error;
pub mod registry;
pub mod server;

mod api;
mod openapi;
mod page;
mod security;
mod state;
mod tether;
mod thumbnail;
mod write_timeout;

pub use config::{Limits, ServerConfig};
pub use error::ApiError;
pub use registry::{CameraEntry, Registry};
pub use security::{generate_token, is_url_safe_token};
pub use server::{BoundServer, Server, StartError};
