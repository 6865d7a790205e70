//! The simulated camera as a USB device, exported over USB/IP (the Linux kernel's
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

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonyctl_ptp::{Event, Operation, OperationCode, Params, ResponseCode};
use sonyctl_sim::{ConnectionId, SimulatedCamera, WireFault, has_data_out};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const USBIP_VERSION: u16 = 0x0111;
const OP_REQ_DEVLIST: u16 = 0x8005;
const OP_REP_DEVLIST: u16 = 0x0005;
const OP_REQ_IMPORT: u16 = 0x8003;
const OP_REP_IMPORT: u16 = 0x0003;
const CMD_SUBMIT: u32 = 1;
const CMD_UNLINK: u32 = 2;
const RET_SUBMIT: u32 = 3;
const RET_UNLINK: u32 = 4;

/// `-EPIPE`: the endpoint stalled.
const EPIPE: i32 = -32;
/// `-EOVERFLOW`: the device sent more than the request had room for (babble).
const EOVERFLOW: i32 = -75;
/// `-ECONNRESET`: the request was unlinked.
const ECONNRESET: i32 = -104;

/// The bus id the device is exported as.
pub const BUS_ID: &str = "1-1";
const BUS_NUM: u32 = 1;
const DEV_NUM: u32 = 2;
/// USB high speed, as `enum usb_device_speed` counts.
const SPEED_HIGH: u32 = 3;

/// Bulk endpoints' max packet size at high speed.
pub const BULK_PACKET: usize = 512;
const EP_BULK_IN: u32 = 1;
const EP_BULK_OUT: u32 = 2;
const EP_INTERRUPT_IN: u32 = 3;
const INTERRUPT_PACKET: u16 = 64;

/// The largest data phase accepted from a host.
const MAX_HOST_DATA: usize = 64 * 1024 * 1024;
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

/// `N` bytes of `b` at `at` (zeros where `b` is too short: lengths are checked by the callers).
fn field<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = b.get(at..at + N) {
        a.copy_from_slice(s);
    }
    a
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(field(b, at))
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(field(b, at))
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(field(b, at))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(field(b, at))
}

/// `struct usbip_usb_device` (312 bytes).
fn device_block(cam: &SimulatedCamera) -> Vec<u8> {
    let p = cam.profile();
    let mut b = Vec::with_capacity(312);
    let mut path = [0u8; 256];
    let text = b"/sys/devices/platform/sonyctl-sim/usb1/1-1";
    for (d, s) in path.iter_mut().zip(text) {
        *d = *s;
    }
    b.extend_from_slice(&path);
    let mut busid = [0u8; 32];
    for (d, s) in busid.iter_mut().zip(BUS_ID.as_bytes()) {
        *d = *s;
    }
    b.extend_from_slice(&busid);
    b.extend_from_slice(&BUS_NUM.to_be_bytes());
    b.extend_from_slice(&DEV_NUM.to_be_bytes());
    b.extend_from_slice(&SPEED_HIGH.to_be_bytes());
    b.extend_from_slice(&p.usb_vendor.to_be_bytes());
    b.extend_from_slice(&p.usb_product.to_be_bytes());
    b.extend_from_slice(&0x0100u16.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 1, 1, 1]);
    b
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) -> Result<(), crate::TransportError> {
    stream.set_nodelay(true)?;
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).await?;
    let (version, code) = (be16(&head, 0), be16(&head, 2));
    if version != USBIP_VERSION {
        tracing::info!("usbip: host speaks version {version:#06x}; answering anyway");
    }
    match code {
        OP_REQ_DEVLIST => {
            let block = device_block(&shared.camera());
            let mut out = Vec::new();
            out.extend_from_slice(&USBIP_VERSION.to_be_bytes());
            out.extend_from_slice(&OP_REP_DEVLIST.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&block);
            out.extend_from_slice(&[6, 1, 1, 0]);
            stream.write_all(&out).await?;
            Ok(())
        }
        OP_REQ_IMPORT => {
            let mut busid = [0u8; 32];
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
            out.extend_from_slice(&USBIP_VERSION.to_be_bytes());
            out.extend_from_slice(&OP_REP_IMPORT.to_be_bytes());
            out.extend_from_slice(&u32::from(!free).to_be_bytes());
            if free {
                out.extend_from_slice(&device_block(&shared.camera()));
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

/// A request from the host.
enum Urb {
    Submit {
        seqnum: u32,
        dir_in: bool,
        ep: u32,
        length: usize,
        setup: [u8; 8],
        data: Vec<u8>,
    },
    Unlink {
        seqnum: u32,
        victim: u32,
    },
}

async fn read_urb(r: &mut tokio::net::tcp::OwnedReadHalf) -> Result<Urb, crate::TransportError> {
    let mut h = [0u8; 48];
    r.read_exact(&mut h).await?;
    let command = be32(&h, 0);
    let seqnum = be32(&h, 4);
    let dir_in = be32(&h, 12) == 1;
    let ep = be32(&h, 16);
    match command {
        CMD_SUBMIT => {
            let length = be32(&h, 24) as usize;
            let packets = be32(&h, 32);
            if length > MAX_URB {
                return Err(crate::TransportError::Protocol(format!(
                    "a request of {length} bytes"
                )));
            }
            // 0 or 0xFFFFFFFF: not isochronous (this device has no isochronous endpoint).
            if packets != 0 && packets != u32::MAX {
                return Err(crate::TransportError::Protocol(format!(
                    "an isochronous request ({packets} packets) to a device without one"
                )));
            }
            let mut setup = [0u8; 8];
            setup.copy_from_slice(h.get(40..48).unwrap_or(&[0; 8]));
            let mut data = Vec::new();
            if !dir_in && length > 0 {
                data = vec![0u8; length];
                r.read_exact(&mut data).await?;
            }
            Ok(Urb::Submit {
                seqnum,
                dir_in,
                ep,
                length,
                setup,
                data,
            })
        }
        CMD_UNLINK => Ok(Urb::Unlink {
            seqnum,
            victim: be32(&h, 20),
        }),
        other => Err(crate::TransportError::Protocol(format!(
            "unknown USB/IP command {other}"
        ))),
    }
}

/// RET_SUBMIT: `data` for an IN request, `actual` bytes transferred (for OUT, what was taken).
fn ret_submit(seqnum: u32, status: i32, data: &[u8], actual: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + data.len());
    for v in [RET_SUBMIT, seqnum, 0, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&status.to_be_bytes());
    out.extend_from_slice(&(actual as u32).to_be_bytes());
    out.extend_from_slice(&[0u8; 4]); // start_frame
    out.extend_from_slice(&u32::MAX.to_be_bytes()); // number_of_packets: not isochronous
    out.extend_from_slice(&[0u8; 4]); // error_count
    out.extend_from_slice(&[0u8; 8]); // setup (unused)
    out.extend_from_slice(data);
    out
}

fn ret_unlink(seqnum: u32, status: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    for v in [RET_UNLINK, seqnum, 0, 0, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&status.to_be_bytes());
    out.extend_from_slice(&[0u8; 24]);
    out
}

/// What the device sends on bulk IN: whole transfers (containers), each ended by a short
/// packet or, when its length is a multiple of the packet size, a zero-length packet.
struct InTransfer {
    bytes: Vec<u8>,
    at: usize,
    /// Ready to go at this instant (the `slow` fault delays replies).
    ready: Instant,
}

/// The USB side of the simulated camera for one attached host (sans-IO apart from the clock).
struct Gadget {
    id: ConnectionId,
    out: Vec<u8>,
    /// A command waiting for its data-out container.
    pending: Option<Operation>,
    bulk_in: VecDeque<InTransfer>,
    /// A zero-length packet is owed before the next transfer.
    zlp: bool,
    /// Bulk IN stalls until the host clears the halt.
    in_halted: bool,
    events: VecDeque<Event>,
    /// The cable was pulled.
    gone: bool,
    /// A large data phase being timed: its size, when its first byte went out, and when its
    /// last did.
    timing: Option<(u64, Option<Instant>, Option<Instant>)>,
}

fn container(kind: u16, code: u16, tid: u32, payload: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(12 + payload.len());
    c.extend_from_slice(&((12 + payload.len()) as u32).to_le_bytes());
    c.extend_from_slice(&kind.to_le_bytes());
    c.extend_from_slice(&code.to_le_bytes());
    c.extend_from_slice(&tid.to_le_bytes());
    c.extend_from_slice(payload);
    c
}

fn utf16_descriptor(s: &str) -> Vec<u8> {
    let units: Vec<u16> = s.encode_utf16().take(126).collect();
    let mut d = vec![(2 + units.len() * 2) as u8, 3];
    for u in units {
        d.extend_from_slice(&u.to_le_bytes());
    }
    d
}

impl Gadget {
    fn new(cam: &mut SimulatedCamera) -> Gadget {
        Gadget {
            id: cam.connect(),
            out: Vec::new(),
            pending: None,
            bulk_in: VecDeque::new(),
            zlp: false,
            in_halted: false,
            events: VecDeque::new(),
            gone: false,
            timing: None,
        }
    }

    /// Forgets the transaction in progress (Cancel, Device Reset).
    fn cancel(&mut self) {
        self.out.clear();
        self.pending = None;
        self.bulk_in.clear();
        self.zlp = false;
    }

    /// EP0. `Err(())` stalls.
    fn control(
        &mut self,
        cam: &mut SimulatedCamera,
        setup: [u8; 8],
        data: &[u8],
    ) -> Result<Vec<u8>, ()> {
        let [request_type, request, v0, v1, i0, i1, l0, l1] = setup;
        let value = u16::from_le_bytes([v0, v1]);
        let index = u16::from_le_bytes([i0, i1]);
        let length = usize::from(u16::from_le_bytes([l0, l1]));
        let p = cam.profile();
        let reply = match (request_type, request) {
            // GET_DESCRIPTOR
            (0x80, 6) => match (value >> 8) as u8 {
                1 => {
                    let mut d = vec![18, 1, 0x00, 0x02, 0, 0, 0, 64];
                    d.extend_from_slice(&p.usb_vendor.to_le_bytes());
                    d.extend_from_slice(&p.usb_product.to_le_bytes());
                    d.extend_from_slice(&[0x00, 0x01, 1, 2, 3, 1]);
                    d
                }
                2 => {
                    let mut d = vec![9, 2, 39, 0, 1, 1, 0, 0xC0, 1];
                    d.extend_from_slice(&[9, 4, 0, 0, 3, 6, 1, 1, 0]);
                    let bulk = (BULK_PACKET as u16).to_le_bytes();
                    d.extend_from_slice(&[7, 5, 0x81, 2, bulk[0], bulk[1], 0]);
                    d.extend_from_slice(&[7, 5, 0x02, 2, bulk[0], bulk[1], 0]);
                    let int = INTERRUPT_PACKET.to_le_bytes();
                    d.extend_from_slice(&[7, 5, 0x83, 3, int[0], int[1], 8]);
                    d
                }
                // Device qualifier: the same device at the other speed.
                6 => vec![10, 6, 0x00, 0x02, 0, 0, 0, 64, 1, 0],
                3 => match value & 0xFF {
                    0 => vec![4, 3, 0x09, 0x04],
                    1 => utf16_descriptor(&p.device_info.manufacturer),
                    2 => utf16_descriptor(&p.device_info.model),
                    3 => utf16_descriptor(&p.device_info.serial_number),
                    _ => return Err(()),
                },
                _ => return Err(()),
            },
            // GET_STATUS (device, interface; an endpoint reports its halt)
            (0x82, 0) if index & 0x0F == EP_BULK_IN as u16 && self.in_halted => vec![1, 0],
            (0x80..=0x82, 0) => vec![0, 0],
            // GET_CONFIGURATION, GET_INTERFACE
            (0x80, 8) => vec![1],
            (0x81, 10) => vec![0],
            // SET_CONFIGURATION, SET_INTERFACE, SET_FEATURE
            (0x00, 9) | (0x01, 11) | (0x00, 3) => Vec::new(),
            // CLEAR_FEATURE(ENDPOINT_HALT)
            (0x02, 1) => {
                if index & 0x0F == EP_BULK_IN as u16 {
                    self.in_halted = false;
                    self.zlp = false;
                }
                Vec::new()
            }
            (0x00 | 0x01, 1) => Vec::new(),
            // PTP class requests on the interface.
            (0x21, 0x64) => {
                tracing::info!("usb: Cancel transaction {:#x}", le32(data, 2));
                self.cancel();
                Vec::new()
            }
            (0x21, 0x66) => {
                tracing::info!("usb: Device Reset");
                self.cancel();
                self.in_halted = false;
                cam.disconnect(self.id);
                self.id = cam.connect();
                Vec::new()
            }
            (0xA1, 0x67) => {
                let code = if self.in_halted { 0x2019u16 } else { 0x2001 };
                let mut d = vec![4, 0];
                d.extend_from_slice(&code.to_le_bytes());
                d
            }
            _ => return Err(()),
        };
        Ok(reply.into_iter().take(length).collect())
    }

    /// Bytes the host sent on bulk OUT.
    fn bulk_out(&mut self, cam: &mut SimulatedCamera, bytes: &[u8], now: Duration, scale: f64) {
        // The host sends again: it has the whole of the last data phase.
        if let Some((size, Some(started), Some(_))) = self.timing.take() {
            cam.record_transfer(self.id, size, started.elapsed());
        }
        self.out.extend_from_slice(bytes);
        loop {
            if self.out.len() < 12 {
                return;
            }
            let len = le32(&self.out, 0) as usize;
            let kind = le16(&self.out, 4);
            if !(12..=MAX_HOST_DATA + 12).contains(&len) {
                tracing::info!("usb: bad container length {len}; dropping what the host sent");
                self.out.clear();
                return;
            }
            if self.out.len() < len {
                return;
            }
            let c: Vec<u8> = self.out.drain(..len).collect();
            let code = OperationCode(le16(&c, 6));
            let tid = le32(&c, 8);
            match kind {
                1 => {
                    let params: Vec<u32> = (0..(len - 12) / 4)
                        .take(5)
                        .map(|i| le32(&c, 12 + 4 * i))
                        .collect();
                    let op = Operation {
                        code,
                        transaction_id: tid,
                        params: Params::new(&params).unwrap_or_default(),
                    };
                    if has_data_out(code) {
                        self.pending = Some(op);
                    } else {
                        self.execute(cam, &op, None, now, scale);
                    }
                }
                2 => match self.pending.take() {
                    Some(op) => {
                        let data = c.get(12..).unwrap_or(&[]);
                        self.execute(cam, &op, Some(data), now, scale);
                    }
                    None => tracing::info!("usb: data container without a command; ignored"),
                },
                other => tracing::info!("usb: container type {other} from the host; ignored"),
            }
        }
    }

    fn execute(
        &mut self,
        cam: &mut SimulatedCamera,
        op: &Operation,
        data: Option<&[u8]>,
        now: Duration,
        scale: f64,
    ) {
        let reply = cam.handle(self.id, now, op, data);
        if cam.take_unplugged().contains(&self.id) {
            self.gone = true;
            return;
        }
        let ready = Instant::now() + reply.delay.div_f64(scale.max(1e-6));
        let tid = op.transaction_id;
        let push = |bytes: Vec<u8>, q: &mut VecDeque<InTransfer>| {
            q.push_back(InTransfer {
                bytes,
                at: 0,
                ready,
            });
        };
        match reply.wire {
            Some(WireFault::GarbageFirst) => {
                // A container of an unknown type: the host must recover (reset).
                push(
                    container(0x7F7F, 0xFFFF, tid, &[0xAA; 8]),
                    &mut self.bulk_in,
                );
            }
            Some(WireFault::CutDataAfter(n)) => {
                let mut c = container(2, op.code.0, tid, reply.data.as_deref().unwrap_or(&[]));
                c.truncate(12 + n);
                // A short packet ends the transfer early, then the endpoint stalls.
                if c.len() % BULK_PACKET == 0 {
                    c.pop();
                }
                push(c, &mut self.bulk_in);
                self.bulk_in.push_back(InTransfer {
                    bytes: Vec::new(),
                    at: usize::MAX,
                    ready,
                });
                return;
            }
            None => {}
        }
        if let Some(d) = &reply.data {
            if d.len() >= 1024 * 1024 {
                self.timing = Some((d.len() as u64, None, None));
            }
            push(container(2, op.code.0, tid, d), &mut self.bulk_in);
        }
        let mut params = Vec::new();
        for p in reply.params.as_slice() {
            params.extend_from_slice(&p.to_le_bytes());
        }
        push(container(3, reply.code.0, tid, &params), &mut self.bulk_in);
        if reply.code != ResponseCode::OK {
            tracing::debug!("usb: {:?} answered {:?}", op.code, reply.code);
        }
    }

    /// Up to `max` bytes for a bulk IN request, `None` to hold it, `Some(Err(status))` to fail
    /// it (a stall, or an overflow).
    fn bulk_in(&mut self, max: usize) -> Option<Result<Vec<u8>, i32>> {
        if self.in_halted {
            return Some(Err(EPIPE));
        }
        if self.zlp {
            self.zlp = false;
            return Some(Ok(Vec::new()));
        }
        let t = self.bulk_in.front_mut()?;
        if Instant::now() < t.ready {
            return None;
        }
        if t.at == usize::MAX {
            // The stall marker after a cut data phase.
            self.bulk_in.pop_front();
            self.in_halted = true;
            return Some(Err(EPIPE));
        }
        let left = t.bytes.len() - t.at.min(t.bytes.len());
        if max % BULK_PACKET != 0 && left > max {
            // A real device sends whole packets: the last one overflows such a request
            // (babble). Hosts must ask for whole packets.
            return Some(Err(EOVERFLOW));
        }
        let n = left.min(max);
        let timed = matches!(&self.timing, Some((size, ..)) if t.bytes.len() as u64 == *size + 12);
        if let (true, Some((_, start, done))) = (timed, &mut self.timing) {
            if t.at == 0 {
                *start = Some(Instant::now());
            }
            if t.at + n >= t.bytes.len() {
                *done = Some(Instant::now());
            }
        }
        let piece = t.bytes.get(t.at..t.at + n).unwrap_or(&[]).to_vec();
        t.at += n;
        if t.at >= t.bytes.len() {
            // The transfer is done. A real device ends it with a short packet; if the last
            // packet was full and the request is full too, a zero-length packet follows.
            if n == max && t.bytes.len() % BULK_PACKET == 0 {
                self.zlp = true;
            }
            self.bulk_in.pop_front();
        }
        Some(Ok(piece))
    }

    /// One event container for an interrupt IN request, if one is waiting.
    fn interrupt_in(&mut self, cam: &mut SimulatedCamera, max: usize) -> Option<Vec<u8>> {
        self.events.extend(cam.take_events(self.id));
        let e = self.events.pop_front()?;
        let mut params = Vec::new();
        for p in e.params.as_slice() {
            params.extend_from_slice(&p.to_le_bytes());
        }
        let mut c = container(4, e.code.0, e.transaction_id, &params);
        c.truncate(max);
        Some(c)
    }
}

/// Held requests.
struct Held {
    seqnum: u32,
    length: usize,
}

async fn urbs(stream: TcpStream, shared: Arc<Shared>) -> Result<(), crate::TransportError> {
    let (mut r, mut w) = stream.into_split();
    // Few requests read ahead: each may carry up to MAX_URB bytes.
    let (tx, mut rx) = mpsc::channel::<Result<Urb, crate::TransportError>>(4);
    let reader = tokio::spawn(async move {
        loop {
            let u = read_urb(&mut r).await;
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
    tracing::info!(connection = gadget.id.0, "usb: host attached");
    let mut held_in: VecDeque<Held> = VecDeque::new();
    let mut held_int: VecDeque<Held> = VecDeque::new();
    let mut held_out: VecDeque<(u32, Vec<u8>)> = VecDeque::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        let urb = tokio::select! {
            u = rx.recv() => match u {
                Some(Ok(u)) => Some(u),
                Some(Err(e)) if e.is_disconnect() => break Ok(()),
                Some(Err(e)) => break Err(e),
                None => break Ok(()),
            },
            _ = tick.tick() => None,
        };
        let mut out: Vec<u8> = Vec::new();
        {
            let now = shared.now();
            let mut cam = shared.camera();
            cam.advance(now);
            for e in cam.take_action_errors() {
                tracing::warn!("{e}");
            }
            if cam.take_unplugged().contains(&gadget.id) {
                gadget.gone = true;
            }
            match urb {
                Some(Urb::Submit {
                    seqnum,
                    dir_in,
                    ep,
                    length,
                    setup,
                    data,
                }) => match (ep, dir_in) {
                    (0, _) => match gadget.control(&mut cam, setup, &data) {
                        Ok(reply) if dir_in => {
                            out.extend(ret_submit(seqnum, 0, &reply, reply.len()));
                        }
                        Ok(_) => out.extend(ret_submit(seqnum, 0, &[], data.len())),
                        Err(()) => out.extend(ret_submit(seqnum, EPIPE, &[], 0)),
                    },
                    // Taken when the camera has answered what came before, as a real device
                    // NAKs bulk OUT while it is busy.
                    (EP_BULK_OUT, false) => held_out.push_back((seqnum, data)),
                    (EP_BULK_IN, true) => held_in.push_back(Held { seqnum, length }),
                    (EP_INTERRUPT_IN, true) => held_int.push_back(Held { seqnum, length }),
                    _ => out.extend(ret_submit(seqnum, EPIPE, &[], 0)),
                },
                Some(Urb::Unlink { seqnum, victim }) => {
                    let before = held_in.len() + held_int.len() + held_out.len();
                    held_in.retain(|h| h.seqnum != victim);
                    held_int.retain(|h| h.seqnum != victim);
                    held_out.retain(|(n, _)| *n != victim);
                    let removed = held_in.len() + held_int.len() + held_out.len() < before;
                    out.extend(ret_unlink(seqnum, if removed { ECONNRESET } else { 0 }));
                }
                None => {}
            }
            while gadget.bulk_in.is_empty() && !gadget.zlp {
                let Some((seqnum, data)) = held_out.pop_front() else {
                    break;
                };
                if shared.verbose {
                    tracing::info!("host → camera usb: {} byte(s)", data.len());
                }
                gadget.bulk_out(&mut cam, &data, now, shared.cam.time_scale);
                out.extend(ret_submit(seqnum, 0, &[], data.len()));
            }
            while let Some(h) = held_in.front() {
                match gadget.bulk_in(h.length) {
                    None => break,
                    Some(Ok(bytes)) => {
                        out.extend(ret_submit(h.seqnum, 0, &bytes, bytes.len()));
                        held_in.pop_front();
                    }
                    Some(Err(status)) => {
                        out.extend(ret_submit(h.seqnum, status, &[], 0));
                        held_in.pop_front();
                    }
                }
            }
            while let Some(h) = held_int.front() {
                match gadget.interrupt_in(&mut cam, h.length) {
                    Some(bytes) => {
                        out.extend(ret_submit(h.seqnum, 0, &bytes, bytes.len()));
                        held_int.pop_front();
                    }
                    None => break,
                }
            }
        }
        if !out.is_empty() {
            if let Err(e) = w.write_all(&out).await {
                break Err(e.into());
            }
        }
        if gadget.gone {
            tracing::info!(connection = gadget.id.0, "usb: cable pulled");
            break Ok(());
        }
    };
    reader.abort();
    // A host that left right after a whole data phase: time it to its last byte.
    if let Some((size, Some(started), Some(done))) = gadget.timing.take() {
        shared
            .camera()
            .record_transfer(gadget.id, size, done.duration_since(started));
    }
    shared.camera().disconnect(gadget.id);
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use sonyctl_sim::{Profile, SimOptions};

    fn gadget() -> (SimulatedCamera, Gadget) {
        let mut cam = SimulatedCamera::new(
            Profile::builtin("ilce-7sm3").unwrap(),
            SimOptions::default(),
        );
        let g = Gadget::new(&mut cam);
        (cam, g)
    }

    fn command(code: u16, tid: u32, params: &[u32]) -> Vec<u8> {
        let mut p = Vec::new();
        for v in params {
            p.extend_from_slice(&v.to_le_bytes());
        }
        container(1, code, tid, &p)
    }

    #[test]
    fn descriptors_carry_the_profile_ids_and_a_still_image_interface() {
        let (mut cam, mut g) = gadget();
        let d = g
            .control(&mut cam, [0x80, 6, 0, 1, 0, 0, 18, 0], &[])
            .unwrap();
        assert_eq!((d[8], d[9], d[10], d[11]), (0x4C, 0x05, 0x18, 0x0D));
        let c = g
            .control(&mut cam, [0x80, 6, 0, 2, 0, 0, 255, 0], &[])
            .unwrap();
        assert_eq!(c.len(), 39);
        assert_eq!(&c[9 + 5..9 + 8], &[6, 1, 1]);
        // Truncated to wLength, as the kernel first asks for 9 bytes.
        assert_eq!(
            g.control(&mut cam, [0x80, 6, 0, 2, 0, 0, 9, 0], &[])
                .unwrap()
                .len(),
            9
        );
        let s = g
            .control(&mut cam, [0x80, 6, 2, 3, 9, 4, 255, 0], &[])
            .unwrap();
        assert_eq!(
            String::from_utf16_lossy(
                &s[2..]
                    .chunks(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>()
            ),
            "ILCE-7SM3"
        );
        assert!(
            g.control(&mut cam, [0x80, 6, 0, 0x0F, 0, 0, 5, 0], &[])
                .is_err()
        );
    }

    #[test]
    fn a_transaction_and_the_zero_length_packet_rule() {
        let (mut cam, mut g) = gadget();
        // Nothing to say yet: the request is held.
        assert!(g.bulk_in(512).is_none());
        g.bulk_out(&mut cam, &command(0x1002, 0, &[1]), Duration::ZERO, 1.0);
        let r = g.bulk_in(512).unwrap().unwrap();
        assert_eq!((le16(&r, 4), le16(&r, 6)), (3, 0x2001));
        // GetDeviceInfo: a data container, then the response.
        g.bulk_out(&mut cam, &command(0x1001, 1, &[]), Duration::ZERO, 1.0);
        let first = g.bulk_in(BULK_PACKET).unwrap().unwrap();
        let total = le32(&first, 0) as usize;
        let mut got = first.len();
        while got < total {
            got += g.bulk_in(BULK_PACKET).unwrap().unwrap().len();
        }
        assert_eq!(got, total);
        if total % BULK_PACKET == 0 {
            assert!(g.bulk_in(BULK_PACKET).unwrap().unwrap().is_empty());
        }
        let r = g.bulk_in(BULK_PACKET).unwrap().unwrap();
        assert_eq!(le16(&r, 6), 0x2001);
    }

    #[test]
    fn an_exact_multiple_gets_a_zero_length_packet() {
        let (_, mut g) = gadget();
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 1024],
            at: 0,
            ready: Instant::now(),
        });
        assert_eq!(g.bulk_in(1024).unwrap().unwrap().len(), 1024);
        assert!(g.bulk_in(1024).unwrap().unwrap().is_empty());
        assert!(g.bulk_in(1024).is_none());
        // A larger request takes the whole transfer: the short end is implicit.
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 1024],
            at: 0,
            ready: Instant::now(),
        });
        assert_eq!(g.bulk_in(4096).unwrap().unwrap().len(), 1024);
        assert!(g.bulk_in(4096).is_none());
    }

    #[test]
    fn a_request_that_is_not_whole_packets_overflows_like_hardware() {
        let (_, mut g) = gadget();
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 2000],
            at: 0,
            ready: Instant::now(),
        });
        assert_eq!(g.bulk_in(100), Some(Err(EOVERFLOW)));
        // Whole packets are fine, and so is a short request that takes the rest.
        assert_eq!(g.bulk_in(1024).unwrap().unwrap().len(), 1024);
        assert_eq!(g.bulk_in(1000).unwrap().unwrap().len(), 976);
    }

    #[test]
    fn class_requests_status_cancel_and_reset() {
        let (mut cam, mut g) = gadget();
        let s = g
            .control(&mut cam, [0xA1, 0x67, 0, 0, 0, 0, 4, 0], &[])
            .unwrap();
        assert_eq!(s, [4, 0, 0x01, 0x20]);
        g.bulk_out(&mut cam, &command(0x1002, 0, &[1]), Duration::ZERO, 1.0);
        g.control(
            &mut cam,
            [0x21, 0x64, 0, 0, 0, 0, 6, 0],
            &[1, 0x40, 0, 0, 0, 0],
        )
        .unwrap();
        assert!(g.bulk_in(512).is_none(), "cancel drops the queued reply");
        let before = g.id;
        g.control(&mut cam, [0x21, 0x66, 0, 0, 0, 0, 0, 0], &[])
            .unwrap();
        assert_ne!(g.id, before, "reset ends the PTP session");
        assert!(
            g.control(&mut cam, [0xA1, 0x65, 0, 0, 0, 0, 6, 0], &[])
                .is_err()
        );
    }

    #[test]
    fn hostile_container_lengths_are_dropped() {
        let (mut cam, mut g) = gadget();
        let mut bad = command(0x1002, 0, &[1]);
        bad[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        g.bulk_out(&mut cam, &bad, Duration::ZERO, 1.0);
        assert!(g.out.is_empty());
        g.bulk_out(&mut cam, &[1, 2, 3], Duration::ZERO, 1.0);
        assert!(g.bulk_in(512).is_none());
    }
}
