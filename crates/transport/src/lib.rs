//! # sonyctl-transport: moving PTP between a host and a camera
//!
//! This crate owns sockets, timing of transfers and framing on the wire; what the bytes mean is
//! `sonyctl-ptp`'s and `sonyctl-sony`'s business, and the camera's behaviour is `sonyctl-sim`'s.
//! It holds PTP/IP on both ends: the host's client and the server that puts the simulated camera
//! on the network.

mod clocked;
mod framing;
pub mod ptpip_client;
pub mod ptpip_server;
pub mod trace;
pub mod usb;
pub mod usbip_server;

pub use ptpip_client::{ConnectOptions, PtpIpClient, TransportError};
pub use ptpip_server::{CameraHandle, PtpIpServer, ServerError, ServerOptions};
pub use trace::{Direction, Trace};
pub use usb::{UsbClient, UsbDevice, UsbMode, UsbOptions};
pub use usbip_server::{UsbIpCamera, UsbIpOptions, UsbIpServer};
