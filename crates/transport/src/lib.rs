//! # sonyctl-transport: moving PTP between a host and a camera
//!
//! This crate owns sockets, timing of transfers and framing on the wire; what the bytes mean is
//! `sonyctl-ptp`'s and `sonyctl-sony`'s business, and the camera's behaviour is `sonyctl-sim`'s.
//! Today it holds the PTP/IP server side that puts the simulated camera on the network.

pub mod ptpip_server;

pub use ptpip_server::{CameraHandle, PtpIpServer, ServerError, ServerOptions};
