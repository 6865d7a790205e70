//! # sonyctl-transport: moving PTP between a host and a camera
//!
//! This crate owns sockets, timing of transfers and framing on the wire; what the bytes mean is
//! `sonyctl-ptp`'s and `sonyctl-sony`'s business, and the camera's behaviour is `sonyctl-sim`'s.
//!
//! Every way of reaching a camera implements [`Transport`]: the PTP/IP client, the USB client,
//! and (with the `sim` feature) the simulated camera in this process. The `sim` feature also
//! brings the servers that put the simulated camera on the network (PTP/IP) or on a USB bus
//! (USB/IP); without it this crate does not depend on `sonyctl-sim` at all.

#[cfg(feature = "sim")]
mod clocked;
mod error;
mod framing;
pub mod ptpip_client;
#[cfg(feature = "sim")]
pub mod ptpip_server;
#[cfg(feature = "sim")]
pub mod sim_link;
pub mod trace;
pub mod transport;
pub mod usb;
pub mod usbip_codec;
#[cfg(feature = "sim")]
mod usbip_gadget;
#[cfg(feature = "sim")]
pub mod usbip_server;

pub use error::{TransportError, UsbErrorKind};
pub use ptpip_client::{ConnectOptions, PtpIpClient};
#[cfg(feature = "sim")]
pub use ptpip_server::{CameraHandle, PtpIpServer, ServerError, ServerOptions};
#[cfg(feature = "sim")]
pub use sim_link::{SimClock, SimLink};
pub use trace::{Direction, Trace};
pub use transport::{DataSink, SizeSink, Transport, TransportFuture};
pub use usb::{UsbClient, UsbDevice, UsbMode, UsbOptions};
#[cfg(feature = "sim")]
pub use usbip_server::{UsbIpCamera, UsbIpOptions, UsbIpServer};
