//! The server that exports the simulated camera as a USB device over USB/IP (the Linux kernel's
//! `Documentation/usb/usbip_protocol.rst`), so that `usbip attach` on any Linux machine with
//! `vhci-hcd` makes it an ordinary USB camera there: the kernel enumerates it, and libgphoto2,
//! nusb or any PTP application talks to it through usbfs.
//!
//! - The device has the body's real vendor and product ids, a still-image interface (class
//!   6/1/1) with bulk IN 0x81, bulk OUT 0x02 and interrupt IN 0x83, at high speed (512-byte bulk
//!   packets), and strings for manufacturer, product and serial number.
//! - PTP containers go over the bulk endpoints; a container whose length is a multiple of 512
//!   is followed by a zero-length packet, as on a real cable. Events go over interrupt IN, and an
//!   interrupt request is held until an event exists (no busy loop). Bulk IN requests are held
//!   until the camera has something to say.
//! - Class requests: Cancel (0x64), Device Reset (0x66, ends the PTP session), Get Device Status
//!   (0x67). CLEAR_FEATURE(ENDPOINT_HALT) clears a stall. Unknown requests stall, as devices do.
//! - CMD_UNLINK removes a held request. A link cut halfway through a data phase (the
//!   `disconnect-mid-data` fault) is a short data phase followed by a stalled bulk IN endpoint,
//!   which the host clears and resets; the owner pulling the cable (`unplug`) ends the USB/IP
//!   connection, which is what a pulled cable is to the kernel.
//!
//! This module owns the sockets and the clock; what the messages are is
//! [`crate::usbip_codec`]'s, and what the device does with them is the gadget's
//! (`usbip_gadget`), which is given the time and tested in memory.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonyctl_ptp::Reader;
use sonyctl_sim::SimulatedCamera;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::usbip_codec::{
    BUS_ID_LEN, Command, DeviceBlock, OP_HEADER_LEN, OP_REP_DEVLIST, OP_REP_IMPORT, OP_REQ_DEVLIST,
    OP_REQ_IMPORT, OpHeader, URB_HEADER_LEN, USBIP_VERSION,
};
pub use crate::usbip_gadget::BULK_PACKET;
use crate::usbip_gadget::Gadget;

/// The bus id the device is exported as.
pub const BUS_ID: &str = "1-1";
const BUS_NUM: u32 = 1;
const DEV_NUM: u32 = 2;
/// USB high speed, as `enum usb_device_speed` counts.
const SPEED_HIGH: u32 = 3;

/// The largest transfer a host may ask for in one request.
const MAX_URB: usize = 64 * 1024 * 1024;
/// How often held requests are looked at again (camera work, events).
const TICK: Duration = Duration::from_millis(5);

/// Options of the USB/IP server.
#[derive(Clone, Debug)]
pub struct UsbIpOptions {
    /// Camera seconds per wall-clock second.
    pub time_scale: f64,
    /// Log every container.
    pub verbose: bool,
}

impl Default for UsbIpOptions {
    fn default() -> Self {
        UsbIpOptions {
            time_scale: 1.0,
            verbose: false,
        }
    }
}

struct Shared {
    cam: crate::clocked::ClockedCamera,
    verbose: bool,
    /// A host has imported the device (one at a time, like one cable).
    attached: Mutex<bool>,
}

impl Shared {
    fn now(&self) -> Duration {
        self.cam.now()
    }
    fn camera(&self) -> std::sync::MutexGuard<'_, SimulatedCamera> {
        self.cam.camera()
    }
}

/// Access to the exported camera from outside the server (stats).
#[derive(Clone)]
pub struct UsbIpCamera(Arc<Shared>);

impl UsbIpCamera {
    /// Runs `f` on the camera, at the current camera time.
    pub fn with<R>(&self, f: impl FnOnce(&mut SimulatedCamera) -> R) -> R {
        self.0.cam.with(f)
    }
}

/// A running USB/IP server exporting one simulated camera.
pub struct UsbIpServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl UsbIpServer {
    /// Binds `addr` (port 0 picks a free port; USB/IP's usual port is 3240).
    pub async fn bind(
        addr: SocketAddr,
        camera: SimulatedCamera,
        options: UsbIpOptions,
    ) -> std::io::Result<UsbIpServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(UsbIpServer {
            listener,
            shared: Arc::new(Shared {
                cam: crate::clocked::ClockedCamera::new(camera, options.time_scale),
                verbose: options.verbose,
                attached: Mutex::new(false),
            }),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle on the camera.
    pub fn camera(&self) -> UsbIpCamera {
        UsbIpCamera(self.shared.clone())
    }

    /// Serves until the task is dropped.
    pub async fn run(self) -> std::io::Result<()> {
        loop {
            let (stream, peer) = self.listener.accept().await?;
            let shared = self.shared.clone();
            tokio::spawn(async move {
                match serve(stream, shared).await {
                    Ok(()) => tracing::info!(%peer, "usbip connection closed"),
                    Err(e) => tracing::info!(%peer, "usbip connection ended: {e}"),
                }
            });
        }
    }
}

/// `struct usbip_usb_device` for the camera.
fn device_block(cam: &SimulatedCamera) -> DeviceBlock {
    let p = cam.profile();
    DeviceBlock {
        path: "/sys/devices/platform/sonyctl-sim/usb1/1-1".into(),
        bus_id: BUS_ID.into(),
        bus_num: BUS_NUM,
        dev_num: DEV_NUM,
        speed: SPEED_HIGH,
        vendor: p.usb_vendor,
        product: p.usb_product,
        bcd_device: 0x0100,
        class: [0, 0, 0],
        configuration_value: 1,
        num_configurations: 1,
        num_interfaces: 1,
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) -> Result<(), crate::TransportError> {
    stream.set_nodelay(true)?;
    let mut head = [0u8; OP_HEADER_LEN];
    stream.read_exact(&mut head).await?;
    let request = OpHeader::decode(&mut Reader::new(&head))?;
    if request.version != USBIP_VERSION {
        tracing::info!(
            "usbip: host speaks version {:#06x}; answering anyway",
            request.version
        );
    }
    let reply = |code: u16, status: u32, out: &mut Vec<u8>| {
        OpHeader {
            version: USBIP_VERSION,
            code,
            status,
        }
        .encode(out)
    };
    match request.code {
        OP_REQ_DEVLIST => {
            let block = device_block(&shared.camera());
            let mut out = Vec::new();
            reply(OP_REP_DEVLIST, 0, &mut out);
            out.extend_from_slice(&1u32.to_be_bytes());
            block.encode(&mut out);
            // The one interface: still image (class, subclass, protocol, padding).
            out.extend_from_slice(&[6, 1, 1, 0]);
            stream.write_all(&out).await?;
            Ok(())
        }
        OP_REQ_IMPORT => {
            let mut busid = [0u8; BUS_ID_LEN];
            stream.read_exact(&mut busid).await?;
            let wanted: Vec<u8> = busid.iter().copied().take_while(|&c| c != 0).collect();
            let free = {
                let mut a = shared.attached.lock().unwrap_or_else(|e| e.into_inner());
                let free = !*a && wanted == BUS_ID.as_bytes();
                if free {
                    *a = true;
                }
                free
            };
            let mut out = Vec::new();
            reply(OP_REP_IMPORT, u32::from(!free), &mut out);
            if free {
                device_block(&shared.camera()).encode(&mut out);
            }
            stream.write_all(&out).await?;
            if !free {
                return Ok(());
            }
            let result = urbs(stream, shared.clone()).await;
            *shared.attached.lock().unwrap_or_else(|e| e.into_inner()) = false;
            result
        }
        other => Err(crate::TransportError::Protocol(format!(
            "unknown USB/IP request {other:#06x}"
        ))),
    }
}

/// One command from the host, with the data of an OUT submit.
async fn read_command(
    r: &mut tokio::net::tcp::OwnedReadHalf,
) -> Result<(Command, Vec<u8>), crate::TransportError> {
    let mut h = [0u8; URB_HEADER_LEN];
    r.read_exact(&mut h).await?;
    let command = Command::decode(&mut Reader::new(&h))?;
    let mut data = Vec::new();
    if let Command::Submit {
        dir_in,
        length,
        number_of_packets,
        ..
    } = command
    {
        let length = length as usize;
        if length > MAX_URB {
            return Err(crate::TransportError::Protocol(format!(
                "a request of {length} bytes"
            )));
        }
        // 0 or 0xFFFFFFFF: not isochronous (this device has no isochronous endpoint).
        if number_of_packets != 0 && number_of_packets != u32::MAX {
            return Err(crate::TransportError::Protocol(format!(
                "an isochronous request ({number_of_packets} packets) to a device without one"
            )));
        }
        if !dir_in && length > 0 {
            data = vec![0u8; length];
            r.read_exact(&mut data).await?;
        }
    }
    Ok((command, data))
}

async fn urbs(stream: TcpStream, shared: Arc<Shared>) -> Result<(), crate::TransportError> {
    let (mut r, mut w) = stream.into_split();
    // Few requests read ahead: each may carry up to MAX_URB bytes.
    let (tx, mut rx) = mpsc::channel::<Result<(Command, Vec<u8>), crate::TransportError>>(4);
    let reader = tokio::spawn(async move {
        loop {
            let u = read_command(&mut r).await;
            let stop = u.is_err();
            if tx.send(u).await.is_err() || stop {
                return;
            }
        }
    });
    let mut gadget = {
        let mut cam = shared.camera();
        let now = shared.now();
        cam.advance(now);
        Gadget::new(&mut cam)
    };
    tracing::info!(connection = gadget.connection().0, "usb: host attached");
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        let command = tokio::select! {
            u = rx.recv() => match u {
                Some(Ok(u)) => Some(u),
                Some(Err(e)) if e.is_disconnect() => break Ok(()),
                Some(Err(e)) => break Err(e),
                None => break Ok(()),
            },
            _ = tick.tick() => None,
        };
        let replies = {
            let now = shared.now();
            let mut cam = shared.camera();
            gadget.step(
                &mut cam,
                command,
                now,
                shared.cam.time_scale,
                Instant::now(),
                shared.verbose,
            )
        };
        let mut out: Vec<u8> = Vec::new();
        for r in &replies {
            r.encode(&mut out);
        }
        if !out.is_empty() {
            if let Err(e) = w.write_all(&out).await {
                break Err(e.into());
            }
        }
        if gadget.is_gone() {
            tracing::info!(connection = gadget.connection().0, "usb: cable pulled");
            break Ok(());
        }
    };
    reader.abort();
    gadget.detach(&mut shared.camera());
    result
}
