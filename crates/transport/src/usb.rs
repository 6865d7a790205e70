//! PTP over USB with nusb: finding Sony cameras, and transactions on a claimed still-image
//! interface.
//!
//! - Sony is vendor 0x054C. A still-image interface (class 6/1/1) is a camera that speaks PTP;
//!   whether it is in PC Remote mode (Sony's SDIO operations offered) or MTP mode is for the
//!   caller to tell from its DeviceInfo. A mass-storage interface (class 8) is a camera in Mass
//!   Storage mode.
//! - A container goes out as one bulk OUT transfer, followed by a zero-length packet when its
//!   length is an exact multiple of the endpoint's packet size. Bulk IN is read as a stream of
//!   transfers until the container's length (zero-length packets between containers are
//!   skipped); a data phase is handed to a sink in pieces, so memory stays bounded.
//! - Events arrive on the interrupt IN endpoint, with one request always pending.
//! - Every transfer has a time-out. A stall is cleared (CLEAR_FEATURE(ENDPOINT_HALT)); recovery
//!   is the class requests Cancel (0x64), Device Reset (0x66) and Get Device Status (0x67).
//! - A camera that is unplugged fails the transfer in progress with a clear error; `reconnect`
//!   finds it again by serial number once it is back.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use nusb::transfer::{
    Buffer, Bulk, ControlIn, ControlOut, ControlType, In, Interrupt, Out, Recipient, TransferError,
};
use nusb::{Endpoint, MaybeFuture};
use sonyctl_ptp::container::{HEADER_LEN, MAX_EVENT_PARAMS, UsbContainerHeader};
use sonyctl_ptp::{
    ContainerKind, Event, EventCode, Operation, Params, Reader, Response, ResponseCode,
};

use crate::{TransportError, UsbErrorKind};

/// Sony's USB vendor id.
pub const SONY_VENDOR: u16 = 0x054C;
/// Bulk IN request size: a multiple of every packet size.
const CHUNK: usize = 256 * 1024;
/// The largest control container accepted (a response or an event).
const MAX_CONTROL: usize = 1024;
/// Still Image class request: cancel a transaction (PIMA 15740 USB annex, D.5.2.1).
const CANCEL_REQUEST: u8 = 0x64;
/// Still Image class request: Device Reset.
const DEVICE_RESET_REQUEST: u8 = 0x66;
/// Still Image class request: Get Device Status.
const GET_DEVICE_STATUS_REQUEST: u8 = 0x67;
/// The Cancel request's cancellation code.
const CANCELLATION_CODE: u16 = 0x4001;

/// How a Sony USB device presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsbMode {
    /// A still-image (PTP) interface: PC Remote or MTP (the DeviceInfo tells).
    StillImage,
    /// A mass-storage interface: USB Connection is set to Mass Storage.
    MassStorage,
    /// Neither (another Sony product).
    Other,
}

/// A Sony USB device found on the bus.
#[derive(Clone, Debug)]
pub struct UsbDevice {
    /// Bus number.
    pub bus: u8,
    /// Device address on the bus.
    pub address: u8,
    /// Vendor id.
    pub vendor_id: u16,
    /// Product id.
    pub product_id: u16,
    /// Product string (untrusted).
    pub product: Option<String>,
    /// Serial number string (untrusted).
    pub serial: Option<String>,
    /// What its interfaces say.
    pub mode: UsbMode,
    info: nusb::DeviceInfo,
}

/// Time-outs of the USB link.
#[derive(Clone, Debug)]
pub struct UsbOptions {
    /// Every transfer.
    pub io_timeout: Duration,
    /// Record every container here (`--trace`).
    pub trace: Option<crate::Trace>,
}

impl Default for UsbOptions {
    fn default() -> Self {
        UsbOptions {
            io_timeout: Duration::from_secs(30),
            trace: None,
        }
    }
}

fn usb_error(what: &str, e: nusb::Error) -> TransportError {
    TransportError::usb(UsbErrorKind::from_nusb(e.kind()), format!("{what}: {e}"))
}

fn transfer_error(what: &str, e: TransferError) -> TransportError {
    let kind = UsbErrorKind::from_transfer(e);
    let detail = match e {
        TransferError::Disconnected => {
            format!("the camera was unplugged (or switched off) during {what}")
        }
        TransferError::Stall => format!("the camera stalled {what}"),
        other => format!("{what} failed: {other}"),
    };
    TransportError::usb(kind, detail)
}

/// Cancels an endpoint's transfers and collects them, so no stale completion is mistaken for
/// a later transfer's (nusb keeps cancelled transfers until they are collected).
async fn settle<T: nusb::transfer::BulkOrInterrupt, D: nusb::transfer::EndpointDirection>(
    ep: &mut Endpoint<T, D>,
) {
    ep.cancel_all();
    while ep.pending() > 0 {
        if tokio::time::timeout(Duration::from_secs(1), ep.next_complete())
            .await
            .is_err()
        {
            break;
        }
    }
}

/// An interrupt request size: at least 64 bytes, a whole number of packets.
fn interrupt_len(packet: usize) -> usize {
    let p = packet.max(1);
    64_usize.div_ceil(p) * p
}

/// Every Sony device on the USB buses (none where the machine has no USB).
pub fn list_sony() -> Result<Vec<UsbDevice>, TransportError> {
    // A Linux machine without a USB subsystem (a container, a VM without USB) has no devices.
    if cfg!(target_os = "linux") && !std::path::Path::new("/sys/bus/usb/devices").exists() {
        return Ok(Vec::new());
    }
    let devices = match nusb::list_devices().wait() {
        Ok(d) => d,
        Err(e) if e.kind() == nusb::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(usb_error("cannot list USB devices", e)),
    };
    let mut out: Vec<UsbDevice> = devices
        .filter(|d| d.vendor_id() == SONY_VENDOR)
        .map(|d| {
            let mode = if d
                .interfaces()
                .any(|i| (i.class(), i.subclass(), i.protocol()) == (6, 1, 1))
            {
                UsbMode::StillImage
            } else if d.interfaces().any(|i| i.class() == 8) {
                UsbMode::MassStorage
            } else {
                UsbMode::Other
            };
            UsbDevice {
                bus: d.busnum(),
                address: d.device_address(),
                vendor_id: d.vendor_id(),
                product_id: d.product_id(),
                product: d.product_string().map(str::to_string),
                serial: d.serial_number().map(str::to_string),
                mode,
                info: d,
            }
        })
        .collect();
    out.sort_by_key(|d| (d.bus, d.address));
    Ok(out)
}

/// A claimed still-image interface.
pub struct UsbClient {
    /// The claimed interface; `None` once released to open the camera again.
    claimed: Option<Claimed>,
    /// Bytes read from bulk IN beyond the last container.
    leftover: Vec<u8>,
    events: VecDeque<Event>,
    options: UsbOptions,
    /// The camera this client talks to (for reconnecting).
    pub camera: UsbDevice,
}

/// An open camera with its still-image interface claimed.
struct Claimed {
    /// Kept open for as long as the interface is claimed.
    _device: nusb::Device,
    interface: nusb::Interface,
    number: u8,
    ep_out: Endpoint<Bulk, Out>,
    ep_in: Endpoint<Bulk, In>,
    ep_int: Option<Endpoint<Interrupt, In>>,
    out_packet: usize,
    /// The interrupt endpoint reported the device gone: no request is armed any more.
    int_gone: bool,
}

fn not_connected() -> TransportError {
    TransportError::usb(
        UsbErrorKind::Disconnected,
        "the camera is not connected (waiting for it to be plugged in again)",
    )
}

impl std::fmt::Debug for UsbClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbClient")
            .field("camera", &self.camera)
            .finish_non_exhaustive()
    }
}

impl UsbClient {
    /// Opens `camera` and claims its still-image interface.
    pub async fn open(
        camera: &UsbDevice,
        options: &UsbOptions,
    ) -> Result<UsbClient, TransportError> {
        if camera.mode == UsbMode::MassStorage {
            return Err(TransportError::usb(
                UsbErrorKind::WrongMode,
                "the camera is in Mass Storage mode",
            ));
        }
        let device = camera
            .info
            .open()
            .await
            .map_err(|e| usb_error("cannot open the camera", e))?;
        let config = device.active_configuration().map_err(|e| {
            TransportError::usb(
                UsbErrorKind::NotFound,
                format!("the camera has no active configuration: {e}"),
            )
        })?;
        let alt = config
            .interface_alt_settings()
            .find(|i| (i.class(), i.subclass(), i.protocol()) == (6, 1, 1))
            .ok_or_else(|| {
                TransportError::usb(
                    UsbErrorKind::WrongMode,
                    "the camera has no still-image (PTP) interface",
                )
            })?;
        let number = alt.interface_number();
        let mut bulk_in = None;
        let mut bulk_out = None;
        let mut int_in = None;
        for ep in alt.endpoints() {
            use nusb::descriptors::TransferType;
            let is_in = ep.address() & 0x80 != 0;
            match (ep.transfer_type(), is_in) {
                (TransferType::Bulk, true) => bulk_in = bulk_in.or(Some(ep.address())),
                (TransferType::Bulk, false) => {
                    bulk_out = bulk_out.or(Some((ep.address(), ep.max_packet_size())))
                }
                (TransferType::Interrupt, true) => int_in = int_in.or(Some(ep.address())),
                _ => {}
            }
        }
        let (Some(in_addr), Some((out_addr, out_packet))) = (bulk_in, bulk_out) else {
            return Err(TransportError::usb(
                UsbErrorKind::NotFound,
                "the camera's PTP interface lacks its bulk endpoints",
            ));
        };
        let interface = match device.claim_interface(number).await {
            Ok(i) => i,
            // A kernel driver (rare for PTP) holds it: take it over.
            Err(e) if e.kind() == nusb::ErrorKind::Busy => device
                .detach_and_claim_interface(number)
                .await
                .map_err(|e| usb_error("cannot claim the camera", e))?,
            Err(e) => return Err(usb_error("cannot claim the camera", e)),
        };
        let ep_in = interface
            .endpoint::<Bulk, In>(in_addr)
            .map_err(|e| usb_error("cannot open bulk IN", e))?;
        let ep_out = interface
            .endpoint::<Bulk, Out>(out_addr)
            .map_err(|e| usb_error("cannot open bulk OUT", e))?;
        let mut ep_int = int_in.and_then(|a| interface.endpoint::<Interrupt, In>(a).ok());
        if let Some(ep) = &mut ep_int {
            let b = ep.allocate(interrupt_len(ep.max_packet_size()));
            ep.submit(b);
        }
        Ok(UsbClient {
            claimed: Some(Claimed {
                _device: device,
                interface,
                number,
                ep_out,
                ep_in,
                ep_int,
                out_packet: out_packet.max(1),
                int_gone: false,
            }),
            leftover: Vec::new(),
            events: VecDeque::new(),
            options: options.clone(),
            camera: camera.clone(),
        })
    }

    fn record(&self, dir: crate::Direction, bytes: &[u8]) {
        if let Some(t) = &self.options.trace {
            t.record(dir, "usb", bytes);
        }
    }

    async fn write(&mut self, bytes: Vec<u8>) -> Result<(), TransportError> {
        let timeout = self.options.io_timeout;
        let c = self.claimed.as_mut().ok_or_else(not_connected)?;
        let zlp = !bytes.is_empty() && bytes.len() % c.out_packet == 0;
        let mut pieces: Vec<Vec<u8>> = bytes.chunks(CHUNK).map(<[u8]>::to_vec).collect();
        if zlp {
            pieces.push(Vec::new());
        }
        for p in pieces {
            c.ep_out.submit(Buffer::from(p));
            let done = match tokio::time::timeout(timeout, c.ep_out.next_complete()).await {
                Ok(c) => c,
                Err(_) => {
                    c.ep_out.cancel_all();
                    return Err(TransportError::Timeout(
                        timeout,
                        "the camera to take a request",
                    ));
                }
            };
            if let Err(e) = done.status {
                if e == TransferError::Stall {
                    let _ = c.ep_out.clear_halt().await;
                }
                return Err(transfer_error("sending to the camera", e));
            }
        }
        Ok(())
    }

    /// One bulk IN transfer (zero-length packets skipped).
    async fn read_some(&mut self) -> Result<Vec<u8>, TransportError> {
        self.read_some_within(self.options.io_timeout).await
    }

    /// One bulk IN transfer within `timeout`.
    async fn read_some_within(&mut self, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        let c = self.claimed.as_mut().ok_or_else(not_connected)?;
        loop {
            let b = c.ep_in.allocate(CHUNK);
            c.ep_in.submit(b);
            let done = match tokio::time::timeout(timeout, c.ep_in.next_complete()).await {
                Ok(c) => c,
                Err(_) => {
                    c.ep_in.cancel_all();
                    // The cancelled request completes; collect it so nothing stays pending.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), c.ep_in.next_complete()).await;
                    return Err(TransportError::Timeout(
                        timeout,
                        "an answer from the camera",
                    ));
                }
            };
            match done.status {
                Ok(()) if done.actual_len == 0 => continue,
                Ok(()) => {
                    let mut v = done.buffer.into_vec();
                    v.truncate(done.actual_len);
                    return Ok(v);
                }
                Err(e) => {
                    if e == TransferError::Stall {
                        let _ = c.ep_in.clear_halt().await;
                    }
                    return Err(transfer_error("reading from the camera", e));
                }
            }
        }
    }

    async fn fill(&mut self, n: usize) -> Result<(), TransportError> {
        while self.leftover.len() < n {
            let more = self.read_some().await?;
            self.leftover.extend_from_slice(&more);
        }
        Ok(())
    }

    /// Runs one transaction; camera data goes to `sink` in pieces after `on_size`.
    pub async fn transact_streaming(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
        max_data: u64,
        on_size: &mut (dyn FnMut(u64) -> Result<(), TransportError> + Send),
        sink: &mut (dyn FnMut(&[u8]) -> Result<(), TransportError> + Send),
    ) -> Result<Response, TransportError> {
        self.poll_events();
        // Nothing from an earlier, failed transaction may still be in flight.
        let c = self.claimed.as_mut().ok_or_else(not_connected)?;
        if c.ep_in.pending() > 0 {
            settle(&mut c.ep_in).await;
        }
        if c.ep_out.pending() > 0 {
            settle(&mut c.ep_out).await;
        }
        let cmd = sonyctl_ptp::UsbContainer::command(op)
            .encode()
            .map_err(|e| TransportError::Protocol(e.to_string()))?;
        self.record(crate::Direction::ToCamera, &cmd);
        self.write(cmd).await?;
        if let Some(d) = data_out {
            let c = sonyctl_ptp::UsbContainer::data(op.code, op.transaction_id, d.to_vec())
                .encode()
                .map_err(|e| TransportError::Protocol(e.to_string()))?;
            self.record(crate::Direction::ToCamera, &c);
            self.write(c).await?;
        }
        loop {
            self.fill(HEADER_LEN).await?;
            let head: [u8; HEADER_LEN] = self
                .leftover
                .get(..HEADER_LEN)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| TransportError::Protocol("short container".into()))?;
            let header = UsbContainerHeader::decode(&mut Reader::new(&head))?;
            let len = u64::from(header.length);
            let tid = header.transaction_id;
            if tid != op.transaction_id && header.kind != ContainerKind::Event {
                return Err(TransportError::Protocol(format!(
                    "a container for transaction {tid} during {}",
                    op.transaction_id
                )));
            }
            match header.kind {
                ContainerKind::Data => {
                    if header.length == u32::MAX {
                        return Err(TransportError::Protocol(
                            "a data phase of 4 GiB or more is not supported".into(),
                        ));
                    }
                    let total = len - HEADER_LEN as u64;
                    if total > max_data {
                        return Err(TransportError::TooLarge(total, max_data));
                    }
                    on_size(total)?;
                    self.leftover.drain(..HEADER_LEN);
                    let mut left = total;
                    let mut recorded = head.to_vec();
                    loop {
                        let take = (self.leftover.len() as u64).min(left) as usize;
                        if take > 0 {
                            let piece: Vec<u8> = self.leftover.drain(..take).collect();
                            if self.options.trace.is_some()
                                && recorded.len() < crate::trace::MAX_RECORDED
                            {
                                recorded.extend_from_slice(&piece);
                            }
                            sink(&piece)?;
                            left -= take as u64;
                        }
                        if left == 0 {
                            break;
                        }
                        let more = self.read_some().await?;
                        self.leftover.extend_from_slice(&more);
                    }
                    if let Some(t) = &self.options.trace {
                        t.record_part(crate::Direction::ToHost, "usb", &recorded, len as usize);
                    }
                }
                ContainerKind::Response => {
                    if len as usize > MAX_CONTROL {
                        return Err(TransportError::Protocol(format!(
                            "a response of {len} bytes"
                        )));
                    }
                    self.fill(len as usize).await?;
                    let c: Vec<u8> = self.leftover.drain(..len as usize).collect();
                    self.record(crate::Direction::ToHost, &c);
                    let mut r = Reader::new(&c);
                    UsbContainerHeader::decode(&mut r)?;
                    // Cameras are known to pad a response; only the first five words count.
                    let params: Vec<u32> = r.rest().chunks_exact(4).take(5).map(le_word).collect();
                    return Ok(Response {
                        code: ResponseCode(header.code),
                        transaction_id: tid,
                        params: Params::new(&params).unwrap_or_default(),
                    });
                }
                other => {
                    return Err(TransportError::Protocol(format!(
                        "a {other:?} container from the camera during a transaction"
                    )));
                }
            }
        }
    }

    /// Takes events that completed on the interrupt endpoint, without waiting.
    fn poll_events(&mut self) {
        let Some(ep) = self.claimed.as_mut().and_then(|c| c.ep_int.as_mut()) else {
            return;
        };
        let mut cx = Context::from_waker(Waker::noop());
        while ep.pending() > 0 {
            match ep.poll_next_complete(&mut cx) {
                Poll::Ready(c) => {
                    if c.status.is_ok() {
                        if let Some(e) = decode_event(c.buffer.get(..c.actual_len).unwrap_or(&[])) {
                            self.events.push_back(e);
                        }
                    }
                    // Keep one request armed, whatever happened to the last one (a stall is
                    // cleared in `next_event`); only a camera that is gone ends it.
                    if c.status != Err(TransferError::Disconnected) {
                        let b = ep.allocate(interrupt_len(ep.max_packet_size()));
                        ep.submit(b);
                    }
                    if c.status.is_err() {
                        return;
                    }
                }
                Poll::Pending => return,
            }
        }
    }

    /// The next event, if one has arrived.
    pub fn try_event(&mut self) -> Option<Event> {
        self.poll_events();
        self.events.pop_front()
    }

    /// Waits up to `limit` for an event.
    pub async fn next_event(&mut self, limit: Duration) -> Option<Event> {
        if let Some(e) = self.try_event() {
            return Some(e);
        }
        let claimed = self.claimed.as_mut()?;
        let ep = claimed.ep_int.as_mut()?;
        if claimed.int_gone {
            tokio::time::sleep(limit).await;
            return None;
        }
        // This wait may be cancelled at any await (a caller's `select!`), also between a
        // completion and its re-arming: whatever left no request armed, arm one now, so events
        // are never silenced for good.
        if ep.pending() == 0 {
            let b = ep.allocate(interrupt_len(ep.max_packet_size()));
            ep.submit(b);
        }
        let c = tokio::time::timeout(limit, ep.next_complete()).await.ok()?;
        match c.status {
            Ok(()) => {
                if let Some(e) = decode_event(c.buffer.get(..c.actual_len).unwrap_or(&[])) {
                    self.events.push_back(e);
                }
                let b = ep.allocate(interrupt_len(ep.max_packet_size()));
                ep.submit(b);
            }
            Err(TransferError::Disconnected) => {
                claimed.int_gone = true;
                return None;
            }
            // Cleared before the next request is armed (at the next call, if this one is
            // cancelled meanwhile).
            Err(TransferError::Stall) => {
                let _ = ep.clear_halt().await;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        self.events.pop_front()
    }

    /// PTP class request Get Device Status (0x67): the response code the camera reports.
    pub async fn device_status(&self) -> Result<ResponseCode, TransportError> {
        let c = self.claimed.as_ref().ok_or_else(not_connected)?;
        let data = c
            .interface
            .control_in(
                ControlIn {
                    control_type: ControlType::Class,
                    recipient: Recipient::Interface,
                    request: GET_DEVICE_STATUS_REQUEST,
                    value: 0,
                    index: u16::from(c.number),
                    length: 64,
                },
                self.options.io_timeout,
            )
            .await
            .map_err(|e| transfer_error("Get Device Status", e))?;
        Ok(ResponseCode(u16::from_le_bytes([
            data.get(2).copied().unwrap_or(0),
            data.get(3).copied().unwrap_or(0),
        ])))
    }

    async fn class_out(&self, request: u8, data: &[u8]) -> Result<(), TransportError> {
        let c = self.claimed.as_ref().ok_or_else(not_connected)?;
        c.interface
            .control_out(
                ControlOut {
                    control_type: ControlType::Class,
                    recipient: Recipient::Interface,
                    request,
                    value: 0,
                    index: u16::from(c.number),
                    data,
                },
                self.options.io_timeout,
            )
            .await
            .map_err(|e| transfer_error("a class request", e))
    }

    /// Cancels transaction `tid` (class request 0x64).
    pub async fn cancel(&mut self, tid: u32) -> Result<(), TransportError> {
        let mut d = CANCELLATION_CODE.to_le_bytes().to_vec();
        d.extend_from_slice(&tid.to_le_bytes());
        self.class_out(CANCEL_REQUEST, &d).await
    }

    /// Brings the link back to a clean state on the same device: clears stalls, Device Reset
    /// (0x66, which ends the PTP session), and forgets buffered bytes. The session handshake is
    /// the caller's.
    pub async fn reset(&mut self) -> Result<(), TransportError> {
        {
            let c = self.claimed.as_mut().ok_or_else(not_connected)?;
            settle(&mut c.ep_in).await;
            settle(&mut c.ep_out).await;
            let _ = c.ep_in.clear_halt().await;
            let _ = c.ep_out.clear_halt().await;
        }
        self.class_out(DEVICE_RESET_REQUEST, &[]).await?;
        self.leftover.clear();
        // Whatever the camera still had queued is stale now; read it away (bounded).
        for _ in 0..64 {
            if self
                .read_some_within(Duration::from_millis(100))
                .await
                .is_err()
            {
                break;
            }
        }
        let status = self.device_status().await?;
        tracing::info!("usb: after reset the camera reports {:#06x}", status.0);
        Ok(())
    }

    /// Recovers after an error: a reset on the same device if it is still there, otherwise the
    /// same camera (by serial number) opened again once it is plugged back in.
    pub async fn reconnect(&mut self) -> Result<(), TransportError> {
        if self.reset().await.is_ok() {
            return Ok(());
        }
        // Let go of the old claim first: a camera that is still there could not be claimed
        // again while this process holds it.
        self.claimed = None;
        self.leftover.clear();
        let found = list_sony()?.into_iter().find(|d| {
            d.mode == UsbMode::StillImage
                && match &self.camera.serial {
                    Some(s) => d.serial.as_deref() == Some(s),
                    None => {
                        (d.vendor_id, d.product_id)
                            == (self.camera.vendor_id, self.camera.product_id)
                    }
                }
        });
        let Some(dev) = found else {
            return Err(not_connected());
        };
        *self = UsbClient::open(&dev, &self.options).await?;
        Ok(())
    }
}

impl crate::Transport for UsbClient {
    fn name(&self) -> &'static str {
        "USB"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut crate::SizeSink<'_>,
        sink: &'a mut crate::DataSink<'_>,
    ) -> crate::TransportFuture<'a, Result<Response, TransportError>> {
        Box::pin(UsbClient::transact_streaming(
            self, op, data_out, max_data, on_size, sink,
        ))
    }

    fn try_event(&mut self) -> Option<Event> {
        UsbClient::try_event(self)
    }

    fn next_event(&mut self, limit: Duration) -> crate::TransportFuture<'_, Option<Event>> {
        Box::pin(UsbClient::next_event(self, limit))
    }

    fn reconnect(&mut self) -> crate::TransportFuture<'_, Result<(), TransportError>> {
        Box::pin(UsbClient::reconnect(self))
    }

    fn set_trace(&mut self, trace: Option<crate::Trace>) -> Result<(), TransportError> {
        self.options.trace = trace;
        Ok(())
    }
}

/// A little-endian u32 from (up to) four bytes.
fn le_word(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u32::from_le_bytes(a)
}

/// An event container from the interrupt endpoint; a length beyond the bytes read is
/// tolerated (the parameters present are kept), anything that is not an event is not.
fn decode_event(b: &[u8]) -> Option<Event> {
    let mut r = Reader::new(b);
    let header = UsbContainerHeader::decode(&mut r).ok()?;
    if header.kind != ContainerKind::Event {
        return None;
    }
    let declared = (header.length as usize).saturating_sub(HEADER_LEN);
    let rest = r.rest();
    let params: Vec<u32> = rest
        .get(..declared.min(rest.len()))
        .unwrap_or_default()
        .chunks_exact(4)
        .take(MAX_EVENT_PARAMS)
        .map(le_word)
        .collect();
    Some(Event {
        code: EventCode(header.code),
        transaction_id: header.transaction_id,
        params: Params::new(&params).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn events_from_the_interrupt_endpoint() {
        let mut b = vec![16, 0, 0, 0, 4, 0, 0x03, 0xC2, 0xFF, 0xFF, 0xFF, 0xFF];
        b.extend_from_slice(&0xD21Eu32.to_le_bytes());
        let e = decode_event(&b).unwrap();
        assert_eq!(e.code, EventCode(0xC203));
        assert_eq!(e.params.as_slice(), &[0xD21E]);
        // Short, wrong type, or a length beyond the bytes: never a panic.
        assert!(decode_event(&b[..8]).is_none());
        let mut wrong = b.clone();
        wrong[4] = 3;
        assert!(decode_event(&wrong).is_none());
        let mut long = b.clone();
        long[0] = 200;
        assert_eq!(decode_event(&long).unwrap().params.as_slice(), &[0xD21E]);
    }

    #[test]
    fn listing_without_usb_is_not_an_error() {
        // These machines may have no USB subsystem at all; either way there is an answer.
        assert!(list_sony().is_ok());
    }
}
