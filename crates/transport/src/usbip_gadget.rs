//! The simulated camera's USB device for one attached host, with no I/O and no clock of its
//! own: the server hands it decoded USB/IP commands and the time, and sends the replies it
//! returns. It owns the device's state machine: EP0 standard and class requests, PTP containers
//! on bulk OUT and IN, bulk IN and interrupt IN requests held until there is something to send,
//! unlinking, and faults as short transfers and stalls.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sonyctl_ptp::{ContainerKind, Event, Operation, OperationCode, Params, Reader, ResponseCode};
use sonyctl_sim::{ConnectionId, SimulatedCamera, WireFault, has_data_out};

use crate::usbip_codec::{Command, Ret};

/// `-EPIPE`: the endpoint stalled.
pub(crate) const EPIPE: i32 = -32;
/// `-EOVERFLOW`: the device sent more than the request had room for (babble).
pub(crate) const EOVERFLOW: i32 = -75;
/// `-ECONNRESET`: the request was unlinked.
pub(crate) const ECONNRESET: i32 = -104;

/// Bulk endpoints' max packet size at high speed.
pub const BULK_PACKET: usize = 512;
pub(crate) const EP_BULK_IN: u32 = 1;
pub(crate) const EP_BULK_OUT: u32 = 2;
pub(crate) const EP_INTERRUPT_IN: u32 = 3;
const INTERRUPT_PACKET: u16 = 64;

/// The largest data phase accepted from a host.
const MAX_HOST_DATA: usize = 64 * 1024 * 1024;

/// Still Image class requests (PIMA 15740 USB annex).
const CANCEL_REQUEST: u8 = 0x64;
const DEVICE_RESET_REQUEST: u8 = 0x66;
const GET_DEVICE_STATUS_REQUEST: u8 = 0x67;

/// A little-endian u32 at `at` (0 where `b` is too short: lengths are checked by the callers).
fn le32(b: &[u8], at: usize) -> u32 {
    let mut r = Reader::new(b.get(at..).unwrap_or_default());
    r.u32().unwrap_or(0)
}

/// A request held until the device has something for it.
struct Held {
    seqnum: u32,
    length: usize,
}

/// What the device sends on bulk IN: whole transfers (containers), each ended by a short
/// packet or, when its length is a multiple of the packet size, a zero-length packet.
pub(crate) struct InTransfer {
    bytes: Vec<u8>,
    at: usize,
    /// Ready to go at this instant (the `slow` fault delays replies).
    ready: Instant,
    /// A data-phase container: the camera hears when its last byte went out.
    data_phase: bool,
}

/// The USB side of the simulated camera for one attached host (sans-IO apart from the clock).
pub(crate) struct Gadget {
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
    /// Bulk IN requests waiting for bytes.
    held_in: VecDeque<Held>,
    /// Interrupt IN requests waiting for an event.
    held_int: VecDeque<Held>,
    /// Bulk OUT requests waiting for the camera to finish what came before.
    held_out: VecDeque<(u32, Vec<u8>)>,
    /// The last byte of a data phase went out and the camera has not been told yet.
    data_phase_done: bool,
}

/// A container as bytes; `kind` is raw so that a fault can send a type that does not exist.
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
    /// A new host connection to `cam`.
    pub(crate) fn new(cam: &mut SimulatedCamera) -> Gadget {
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
            held_in: VecDeque::new(),
            held_int: VecDeque::new(),
            held_out: VecDeque::new(),
            data_phase_done: false,
        }
    }

    /// The camera's connection for this host.
    pub(crate) fn connection(&self) -> ConnectionId {
        self.id
    }

    /// True once the owner pulled the cable: the server ends the USB/IP connection.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone
    }

    /// When the host leaves: a whole data phase timed to its last byte is recorded, and the
    /// camera's connection closed.
    pub(crate) fn detach(mut self, cam: &mut SimulatedCamera) {
        if let Some((size, Some(started), Some(done))) = self.timing.take() {
            cam.record_transfer(self.id, size, done.duration_since(started));
        }
        cam.disconnect(self.id);
    }

    /// One turn of the device: `command` (with the data of an OUT submit), if one arrived,
    /// then every held request that can now be answered. `now` is camera time, `at` the
    /// instant it corresponds to (replies the camera delays wait for it), `scale` camera
    /// seconds per second.
    pub(crate) fn step(
        &mut self,
        cam: &mut SimulatedCamera,
        command: Option<(Command, Vec<u8>)>,
        now: Duration,
        scale: f64,
        at: Instant,
        verbose: bool,
    ) -> Vec<Ret> {
        let mut out = Vec::new();
        let done = |seqnum: u32, status: i32, data: Vec<u8>, actual: usize| Ret::Submit {
            seqnum,
            status,
            actual_length: actual as u32,
            data,
        };
        cam.advance(now);
        for e in cam.take_action_errors() {
            tracing::warn!("{e}");
        }
        if cam.take_unplugged().contains(&self.id) {
            self.gone = true;
        }
        match command {
            Some((
                Command::Submit {
                    seqnum,
                    dir_in,
                    ep,
                    length,
                    setup,
                    ..
                },
                data,
            )) => match (ep, dir_in) {
                (0, _) => match self.control(cam, setup, &data) {
                    Ok(reply) if dir_in => {
                        let n = reply.len();
                        out.push(done(seqnum, 0, reply, n));
                    }
                    Ok(_) => out.push(done(seqnum, 0, Vec::new(), data.len())),
                    Err(()) => out.push(done(seqnum, EPIPE, Vec::new(), 0)),
                },
                // Taken when the camera has answered what came before, as a real device
                // NAKs bulk OUT while it is busy.
                (EP_BULK_OUT, false) => self.held_out.push_back((seqnum, data)),
                (EP_BULK_IN, true) => self.held_in.push_back(Held {
                    seqnum,
                    length: length as usize,
                }),
                (EP_INTERRUPT_IN, true) => self.held_int.push_back(Held {
                    seqnum,
                    length: length as usize,
                }),
                _ => out.push(done(seqnum, EPIPE, Vec::new(), 0)),
            },
            Some((Command::Unlink { seqnum, victim, .. }, _)) => {
                let before = self.held_in.len() + self.held_int.len() + self.held_out.len();
                self.held_in.retain(|h| h.seqnum != victim);
                self.held_int.retain(|h| h.seqnum != victim);
                self.held_out.retain(|(n, _)| *n != victim);
                let removed =
                    self.held_in.len() + self.held_int.len() + self.held_out.len() < before;
                out.push(Ret::Unlink {
                    seqnum,
                    status: if removed { ECONNRESET } else { 0 },
                });
            }
            None => {}
        }
        while self.bulk_in.is_empty() && !self.zlp {
            let Some((seqnum, data)) = self.held_out.pop_front() else {
                break;
            };
            if verbose {
                tracing::info!("host → camera usb: {} byte(s)", data.len());
            }
            self.bulk_out(cam, &data, now, scale, at);
            out.push(done(seqnum, 0, Vec::new(), data.len()));
        }
        while let Some(h) = self.held_in.front() {
            let (seqnum, length) = (h.seqnum, h.length);
            match self.bulk_in(length, at) {
                None => break,
                Some(Ok(bytes)) => {
                    let n = bytes.len();
                    out.push(done(seqnum, 0, bytes, n));
                    self.held_in.pop_front();
                    if std::mem::take(&mut self.data_phase_done) {
                        // A live-view frame's age is taken when its last byte leaves.
                        cam.data_phase_sent(self.id, now);
                    }
                }
                Some(Err(status)) => {
                    out.push(done(seqnum, status, Vec::new(), 0));
                    self.held_in.pop_front();
                }
            }
        }
        while let Some(h) = self.held_int.front() {
            let (seqnum, length) = (h.seqnum, h.length);
            match self.interrupt_in(cam, length) {
                Some(bytes) => {
                    let n = bytes.len();
                    out.push(done(seqnum, 0, bytes, n));
                    self.held_int.pop_front();
                }
                None => break,
            }
        }
        out
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
            (0x21, CANCEL_REQUEST) => {
                tracing::info!("usb: Cancel transaction {:#x}", le32(data, 2));
                self.cancel();
                Vec::new()
            }
            (0x21, DEVICE_RESET_REQUEST) => {
                tracing::info!("usb: Device Reset");
                self.cancel();
                self.in_halted = false;
                cam.disconnect(self.id);
                self.id = cam.connect();
                Vec::new()
            }
            (0xA1, GET_DEVICE_STATUS_REQUEST) => {
                let code = if self.in_halted {
                    ResponseCode::DEVICE_BUSY
                } else {
                    ResponseCode::OK
                };
                let mut d = vec![4, 0];
                d.extend_from_slice(&code.0.to_le_bytes());
                d
            }
            _ => return Err(()),
        };
        Ok(reply.into_iter().take(length).collect())
    }

    /// Bytes the host sent on bulk OUT.
    fn bulk_out(
        &mut self,
        cam: &mut SimulatedCamera,
        bytes: &[u8],
        now: Duration,
        scale: f64,
        at: Instant,
    ) {
        // The host sends again: it has the whole of the last data phase.
        if let Some((size, Some(started), Some(_))) = self.timing.take() {
            cam.record_transfer(self.id, size, at.saturating_duration_since(started));
        }
        self.out.extend_from_slice(bytes);
        loop {
            if self.out.len() < 12 {
                return;
            }
            let mut r = Reader::new(&self.out);
            let len = r.u32().unwrap_or(0) as usize;
            let kind = r.u16().unwrap_or(0);
            if !(12..=MAX_HOST_DATA + 12).contains(&len) {
                tracing::info!("usb: bad container length {len}; dropping what the host sent");
                self.out.clear();
                return;
            }
            if self.out.len() < len {
                return;
            }
            let c: Vec<u8> = self.out.drain(..len).collect();
            let mut r = Reader::new(c.get(6..).unwrap_or_default());
            let code = OperationCode(r.u16().unwrap_or(0));
            let tid = r.u32().unwrap_or(0);
            match ContainerKind::from_code(kind) {
                Some(ContainerKind::Command) => {
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
                        self.execute(cam, &op, None, now, scale, at);
                    }
                }
                Some(ContainerKind::Data) => match self.pending.take() {
                    Some(op) => {
                        let data = c.get(12..).unwrap_or(&[]);
                        self.execute(cam, &op, Some(data), now, scale, at);
                    }
                    None => tracing::info!("usb: data container without a command; ignored"),
                },
                _ => tracing::info!("usb: container type {kind} from the host; ignored"),
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
        at: Instant,
    ) {
        let reply = cam.handle(self.id, now, op, data);
        if cam.take_unplugged().contains(&self.id) {
            self.gone = true;
            return;
        }
        let ready = at + reply.delay.div_f64(scale.max(1e-6));
        let tid = op.transaction_id;
        let push = |bytes: Vec<u8>, q: &mut VecDeque<InTransfer>, data_phase: bool| {
            q.push_back(InTransfer {
                bytes,
                at: 0,
                ready,
                data_phase,
            });
        };
        match reply.wire {
            Some(WireFault::GarbageFirst) => {
                // A container of an unknown type: the host must recover (reset).
                push(
                    container(0x7F7F, 0xFFFF, tid, &[0xAA; 8]),
                    &mut self.bulk_in,
                    false,
                );
            }
            Some(WireFault::CutDataAfter(n)) => {
                let mut c = container(
                    ContainerKind::Data.code(),
                    op.code.0,
                    tid,
                    reply.data.as_deref().unwrap_or(&[]),
                );
                c.truncate(12 + n);
                // A short packet ends the transfer early, then the endpoint stalls.
                if c.len() % BULK_PACKET == 0 {
                    c.pop();
                }
                push(c, &mut self.bulk_in, false);
                self.bulk_in.push_back(InTransfer {
                    bytes: Vec::new(),
                    at: usize::MAX,
                    ready,
                    data_phase: false,
                });
                return;
            }
            None => {}
        }
        if let Some(d) = &reply.data {
            if d.len() >= 1024 * 1024 {
                self.timing = Some((d.len() as u64, None, None));
            }
            push(
                container(ContainerKind::Data.code(), op.code.0, tid, d),
                &mut self.bulk_in,
                true,
            );
        }
        let mut params = Vec::new();
        for p in reply.params.as_slice() {
            params.extend_from_slice(&p.to_le_bytes());
        }
        push(
            container(ContainerKind::Response.code(), reply.code.0, tid, &params),
            &mut self.bulk_in,
            false,
        );
        if reply.code != ResponseCode::OK {
            tracing::debug!("usb: {:?} answered {:?}", op.code, reply.code);
        }
    }

    /// Up to `max` bytes for a bulk IN request, `None` to hold it, `Some(Err(status))` to fail
    /// it (a stall, or an overflow).
    fn bulk_in(&mut self, max: usize, at: Instant) -> Option<Result<Vec<u8>, i32>> {
        if self.in_halted {
            return Some(Err(EPIPE));
        }
        if self.zlp {
            self.zlp = false;
            return Some(Ok(Vec::new()));
        }
        let t = self.bulk_in.front_mut()?;
        if at < t.ready {
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
                *start = Some(at);
            }
            if t.at + n >= t.bytes.len() {
                *done = Some(at);
            }
        }
        let piece = t.bytes.get(t.at..t.at + n).unwrap_or(&[]).to_vec();
        t.at += n;
        if t.at >= t.bytes.len() {
            self.data_phase_done |= t.data_phase;
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
        let mut c = container(
            ContainerKind::Event.code(),
            e.code.0,
            e.transaction_id,
            &params,
        );
        c.truncate(max);
        Some(c)
    }
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

    fn le16(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn command(code: u16, tid: u32, params: &[u32]) -> Vec<u8> {
        let mut p = Vec::new();
        for v in params {
            p.extend_from_slice(&v.to_le_bytes());
        }
        container(ContainerKind::Command.code(), code, tid, &p)
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
        assert!(g.bulk_in(512, Instant::now()).is_none());
        g.bulk_out(
            &mut cam,
            &command(0x1002, 0, &[1]),
            Duration::ZERO,
            1.0,
            Instant::now(),
        );
        let r = g.bulk_in(512, Instant::now()).unwrap().unwrap();
        assert_eq!((le16(&r, 4), le16(&r, 6)), (3, 0x2001));
        // GetDeviceInfo: a data container, then the response.
        g.bulk_out(
            &mut cam,
            &command(0x1001, 1, &[]),
            Duration::ZERO,
            1.0,
            Instant::now(),
        );
        let first = g.bulk_in(BULK_PACKET, Instant::now()).unwrap().unwrap();
        let total = le32(&first, 0) as usize;
        let mut got = first.len();
        while got < total {
            got += g
                .bulk_in(BULK_PACKET, Instant::now())
                .unwrap()
                .unwrap()
                .len();
        }
        assert_eq!(got, total);
        if total % BULK_PACKET == 0 {
            assert!(
                g.bulk_in(BULK_PACKET, Instant::now())
                    .unwrap()
                    .unwrap()
                    .is_empty()
            );
        }
        let r = g.bulk_in(BULK_PACKET, Instant::now()).unwrap().unwrap();
        assert_eq!(le16(&r, 6), 0x2001);
    }

    #[test]
    fn an_exact_multiple_gets_a_zero_length_packet() {
        let (_, mut g) = gadget();
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 1024],
            at: 0,
            ready: Instant::now(),
            data_phase: false,
        });
        assert_eq!(
            g.bulk_in(1024, Instant::now()).unwrap().unwrap().len(),
            1024
        );
        assert!(g.bulk_in(1024, Instant::now()).unwrap().unwrap().is_empty());
        assert!(g.bulk_in(1024, Instant::now()).is_none());
        // A larger request takes the whole transfer: the short end is implicit.
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 1024],
            at: 0,
            ready: Instant::now(),
            data_phase: false,
        });
        assert_eq!(
            g.bulk_in(4096, Instant::now()).unwrap().unwrap().len(),
            1024
        );
        assert!(g.bulk_in(4096, Instant::now()).is_none());
    }

    #[test]
    fn a_request_that_is_not_whole_packets_overflows_like_hardware() {
        let (_, mut g) = gadget();
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 2000],
            at: 0,
            ready: Instant::now(),
            data_phase: false,
        });
        assert_eq!(g.bulk_in(100, Instant::now()), Some(Err(EOVERFLOW)));
        // Whole packets are fine, and so is a short request that takes the rest.
        assert_eq!(
            g.bulk_in(1024, Instant::now()).unwrap().unwrap().len(),
            1024
        );
        assert_eq!(g.bulk_in(1000, Instant::now()).unwrap().unwrap().len(), 976);
    }

    #[test]
    fn class_requests_status_cancel_and_reset() {
        let (mut cam, mut g) = gadget();
        let s = g
            .control(&mut cam, [0xA1, 0x67, 0, 0, 0, 0, 4, 0], &[])
            .unwrap();
        assert_eq!(s, [4, 0, 0x01, 0x20]);
        g.bulk_out(
            &mut cam,
            &command(0x1002, 0, &[1]),
            Duration::ZERO,
            1.0,
            Instant::now(),
        );
        g.control(
            &mut cam,
            [0x21, 0x64, 0, 0, 0, 0, 6, 0],
            &[1, 0x40, 0, 0, 0, 0],
        )
        .unwrap();
        assert!(
            g.bulk_in(512, Instant::now()).is_none(),
            "cancel drops the queued reply"
        );
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
        g.bulk_out(&mut cam, &bad, Duration::ZERO, 1.0, Instant::now());
        assert!(g.out.is_empty());
        g.bulk_out(&mut cam, &[1, 2, 3], Duration::ZERO, 1.0, Instant::now());
        assert!(g.bulk_in(512, Instant::now()).is_none());
    }

    fn submit(seqnum: u32, ep: u32, dir_in: bool, length: u32, setup: [u8; 8]) -> Command {
        Command::Submit {
            seqnum,
            devid: 0x0001_0002,
            dir_in,
            ep,
            transfer_flags: 0,
            length,
            start_frame: 0,
            number_of_packets: u32::MAX,
            interval: 0,
            setup,
        }
    }

    /// A live-view frame's age is taken when the last packet of its data container goes out,
    /// on the camera time of that step.
    #[test]
    fn a_live_view_frame_is_aged_when_its_last_packet_leaves() {
        let (mut cam, mut g) = gadget();
        let t0 = Instant::now();
        let out = |seqnum: u32, bytes: Vec<u8>| {
            let n = bytes.len() as u32;
            Some((submit(seqnum, EP_BULK_OUT, false, n, [0; 8]), bytes))
        };
        let input = |seqnum: u32| Some((submit(seqnum, EP_BULK_IN, true, 4096, [0; 8]), vec![]));
        let at = |ms: u64| Duration::from_millis(ms);
        g.step(
            &mut cam,
            out(1, command(0x1002, 0, &[1])),
            at(0),
            1.0,
            t0,
            false,
        );
        assert_eq!(g.step(&mut cam, input(2), at(0), 1.0, t0, false).len(), 1);
        // Frame 1 (produced at 33.3 ms), asked for at 40 ms.
        g.step(
            &mut cam,
            out(3, command(0x1009, 1, &[0xFFFF_C002])),
            at(40),
            1.0,
            t0,
            false,
        );
        let mut seqnum = 4;
        let mut got = 0;
        while cam
            .stats(g.connection())
            .unwrap()
            .live_view
            .frame_ages
            .is_empty()
        {
            assert!(got < 1 << 20, "the frame never finished");
            let r = g.step(
                &mut cam,
                input(seqnum),
                at(40 + u64::from(seqnum)),
                1.0,
                t0,
                false,
            );
            for ret in r {
                if let Ret::Submit { actual_length, .. } = ret {
                    got += actual_length as usize;
                }
            }
            seqnum += 1;
        }
        let s = &cam.stats(g.connection()).unwrap().live_view;
        let frame = cam.last_live_view().unwrap();
        assert_eq!(got, 12 + 0x3F4 + frame.jpeg_len + frame.padding_len);
        let last_step = at(40 + u64::from(seqnum - 1));
        assert_eq!(s.frame_ages, [last_step - frame.produced_at]);
        assert_eq!(s.frames_sent, 1);
    }

    /// The whole device in memory: requests held until there is something to send, answered
    /// in order, unlinked on request, with time given rather than read.
    #[test]
    fn held_requests_are_answered_in_order_and_can_be_unlinked() {
        let (mut cam, mut g) = gadget();
        let t0 = Instant::now();
        let mut step = |g: &mut Gadget, c: Option<(Command, Vec<u8>)>| {
            g.step(&mut cam, c, Duration::ZERO, 1.0, t0, false)
        };
        // GET_DESCRIPTOR(device) on EP0 is answered at once.
        let r = step(
            &mut g,
            Some((submit(1, 0, true, 18, [0x80, 6, 0, 1, 0, 0, 18, 0]), vec![])),
        );
        assert!(matches!(
            &r[..],
            [Ret::Submit {
                seqnum: 1,
                status: 0,
                actual_length: 18,
                ..
            }]
        ));
        // Bulk IN and interrupt IN with nothing to say are held.
        assert!(
            step(
                &mut g,
                Some((submit(2, EP_BULK_IN, true, 512, [0; 8]), vec![]))
            )
            .is_empty()
        );
        assert!(
            step(
                &mut g,
                Some((submit(3, EP_INTERRUPT_IN, true, 64, [0; 8]), vec![]))
            )
            .is_empty()
        );
        // OpenSession on bulk OUT: taken, and the held bulk IN gets the response.
        let r = step(
            &mut g,
            Some((
                submit(4, EP_BULK_OUT, false, 16, [0; 8]),
                command(0x1002, 0, &[1]),
            )),
        );
        assert_eq!(r.len(), 2);
        assert!(matches!(
            &r[0],
            Ret::Submit {
                seqnum: 4,
                status: 0,
                actual_length: 16,
                ..
            }
        ));
        let Ret::Submit {
            seqnum: 2, data, ..
        } = &r[1]
        else {
            panic!("{r:?}")
        };
        assert_eq!((le16(data, 4), le16(data, 6)), (3, 0x2001));
        // The interrupt request is still held; unlinking it says it was taken back.
        let unlink = Command::Unlink {
            seqnum: 5,
            devid: 0,
            dir_in: false,
            ep: 0,
            victim: 3,
        };
        assert_eq!(
            step(&mut g, Some((unlink, vec![]))),
            [Ret::Unlink {
                seqnum: 5,
                status: ECONNRESET
            }]
        );
        let again = Command::Unlink {
            seqnum: 6,
            devid: 0,
            dir_in: false,
            ep: 0,
            victim: 3,
        };
        assert_eq!(
            step(&mut g, Some((again, vec![]))),
            [Ret::Unlink {
                seqnum: 6,
                status: 0
            }]
        );
        // An endpoint the device does not have stalls.
        let r = step(&mut g, Some((submit(7, 5, true, 64, [0; 8]), vec![])));
        assert!(matches!(
            &r[..],
            [Ret::Submit {
                seqnum: 7,
                status: EPIPE,
                ..
            }]
        ));
    }

    /// A reply the camera delays is held until the time given says it is ready.
    #[test]
    fn a_delayed_reply_waits_for_the_time_it_is_given() {
        let (mut cam, mut g) = gadget();
        let t0 = Instant::now();
        g.bulk_in.push_back(InTransfer {
            bytes: vec![7; 100],
            at: 0,
            ready: t0 + Duration::from_secs(2),
            data_phase: false,
        });
        assert!(g.bulk_in(512, t0 + Duration::from_secs(1)).is_none());
        assert_eq!(
            g.bulk_in(512, t0 + Duration::from_secs(2))
                .unwrap()
                .unwrap()
                .len(),
            100
        );
        let r = g.step(&mut cam, None, Duration::ZERO, 1.0, t0, false);
        assert!(r.is_empty());
    }
}
