//! USB/IP messages (the Linux kernel's `Documentation/usb/usbip_protocol.rst`) as types, with
//! `decode` and `encode` for both ends, read through the bounds-checked [`Reader`]. USB/IP is
//! big-endian on the wire, unlike PTP; the setup packet inside a submit is USB's little-endian.
//!
//! No I/O here: the server reads and writes the bytes, the gadget decides what they mean.

use sonyctl_ptp::{DecodeError, DecodeErrorKind, Reader};

/// The protocol version this end speaks (1.1.1).
pub const USBIP_VERSION: u16 = 0x0111;
/// Size of an operation header (`OP_REQ_*`, `OP_REP_*`).
pub const OP_HEADER_LEN: usize = 8;
/// Size of a `CMD_*` / `RET_*` header.
pub const URB_HEADER_LEN: usize = 48;
/// Size of `struct usbip_usb_device`.
pub const DEVICE_LEN: usize = 312;
/// Size of the bus id field.
pub const BUS_ID_LEN: usize = 32;

/// Ask for the exported devices.
pub const OP_REQ_DEVLIST: u16 = 0x8005;
/// The exported devices.
pub const OP_REP_DEVLIST: u16 = 0x0005;
/// Ask to import (attach) a device.
pub const OP_REQ_IMPORT: u16 = 0x8003;
/// The answer to an import.
pub const OP_REP_IMPORT: u16 = 0x0003;

const CMD_SUBMIT: u32 = 1;
const CMD_UNLINK: u32 = 2;
const RET_SUBMIT: u32 = 3;
const RET_UNLINK: u32 = 4;

fn be16(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
    r.u16().map(u16::swap_bytes)
}

fn be32(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    r.u32().map(u32::swap_bytes)
}

fn invalid(r: &Reader<'_>, at: usize, field: &'static str, value: u32) -> DecodeError {
    r.error_at(
        at,
        DecodeErrorKind::InvalidValue {
            field,
            value: value.into(),
        },
    )
}

/// A NUL-padded text field of `N` bytes (longer text is cut).
fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut a = [0u8; N];
    for (d, s) in a.iter_mut().zip(text.as_bytes()) {
        *d = *s;
    }
    a
}

/// The text of a NUL-padded field, up to its first NUL.
fn unpadded(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

/// The 8-byte header of the operations that come before a device is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpHeader {
    /// Protocol version.
    pub version: u16,
    /// `OP_REQ_*` or `OP_REP_*`.
    pub code: u16,
    /// 0 for success (replies); unused in requests.
    pub status: u32,
}

impl OpHeader {
    /// Decodes the header at the start of `r`.
    pub fn decode(r: &mut Reader<'_>) -> Result<OpHeader, DecodeError> {
        r.within("UsbIpOpHeader", |r| {
            Ok(OpHeader {
                version: be16(r)?,
                code: be16(r)?,
                status: be32(r)?,
            })
        })
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(&self.status.to_be_bytes());
    }
}

/// `struct usbip_usb_device`: how a device is listed and imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceBlock {
    /// The sysfs path on the exporting side (at most 255 bytes kept).
    pub path: String,
    /// The bus id (`1-1`; at most 31 bytes kept).
    pub bus_id: String,
    /// Bus number.
    pub bus_num: u32,
    /// Device number.
    pub dev_num: u32,
    /// `enum usb_device_speed`.
    pub speed: u32,
    /// Vendor id.
    pub vendor: u16,
    /// Product id.
    pub product: u16,
    /// Device release.
    pub bcd_device: u16,
    /// Device class, subclass, protocol.
    pub class: [u8; 3],
    /// The active configuration.
    pub configuration_value: u8,
    /// Configurations.
    pub num_configurations: u8,
    /// Interfaces of the active configuration.
    pub num_interfaces: u8,
}

impl DeviceBlock {
    /// Decodes a device block at the start of `r`.
    pub fn decode(r: &mut Reader<'_>) -> Result<DeviceBlock, DecodeError> {
        r.within("UsbIpDevice", |r| {
            let path = unpadded(r.take(256)?);
            let bus_id = unpadded(r.take(BUS_ID_LEN)?);
            Ok(DeviceBlock {
                path,
                bus_id,
                bus_num: be32(r)?,
                dev_num: be32(r)?,
                speed: be32(r)?,
                vendor: be16(r)?,
                product: be16(r)?,
                bcd_device: be16(r)?,
                class: [r.u8()?, r.u8()?, r.u8()?],
                configuration_value: r.u8()?,
                num_configurations: r.u8()?,
                num_interfaces: r.u8()?,
            })
        })
    }

    /// Appends the wire form (312 bytes) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // One byte is kept for the terminating NUL.
        let path: [u8; 256] = padded(self.path.get(..self.path.len().min(255)).unwrap_or(""));
        out.extend_from_slice(&path);
        out.extend_from_slice(&bus_id_field(&self.bus_id));
        for v in [self.bus_num, self.dev_num, self.speed] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for v in [self.vendor, self.product, self.bcd_device] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.class);
        out.extend_from_slice(&[
            self.configuration_value,
            self.num_configurations,
            self.num_interfaces,
        ]);
    }
}

/// A bus id as its 32-byte field.
pub fn bus_id_field(bus_id: &str) -> [u8; BUS_ID_LEN] {
    padded(bus_id.get(..bus_id.len().min(BUS_ID_LEN - 1)).unwrap_or(""))
}

/// A request from the host once the device is attached: the 48-byte header. The data of an
/// OUT submit follows it on the wire; its length is `length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `CMD_SUBMIT`: a transfer request.
    Submit {
        /// The host's number for this request.
        seqnum: u32,
        /// The device id (bus and device number).
        devid: u32,
        /// True for IN (device to host).
        dir_in: bool,
        /// Endpoint number (0 to 15).
        ep: u32,
        /// URB transfer flags.
        transfer_flags: u32,
        /// Bytes asked for (IN) or sent (OUT).
        length: u32,
        /// Isochronous start frame.
        start_frame: u32,
        /// Isochronous packets: 0 or 0xFFFFFFFF when not isochronous.
        number_of_packets: u32,
        /// Polling interval.
        interval: u32,
        /// The setup packet of a control request.
        setup: [u8; 8],
    },
    /// `CMD_UNLINK`: take back an earlier request.
    Unlink {
        /// The host's number for this request.
        seqnum: u32,
        /// The device id.
        devid: u32,
        /// True for IN.
        dir_in: bool,
        /// Endpoint number.
        ep: u32,
        /// The request to take back.
        victim: u32,
    },
}

impl Command {
    /// Decodes a command header at the start of `r` (the data of an OUT submit is not read).
    pub fn decode(r: &mut Reader<'_>) -> Result<Command, DecodeError> {
        r.within("UsbIpCommand", |r| {
            let at = r.offset();
            let command = be32(r)?;
            let seqnum = be32(r)?;
            let devid = be32(r)?;
            let direction = be32(r)?;
            let ep = be32(r)?;
            let c = match command {
                CMD_SUBMIT => {
                    let transfer_flags = be32(r)?;
                    let length = be32(r)?;
                    let start_frame = be32(r)?;
                    let number_of_packets = be32(r)?;
                    let interval = be32(r)?;
                    let mut setup = [0u8; 8];
                    setup.copy_from_slice(r.take(8)?);
                    Command::Submit {
                        seqnum,
                        devid,
                        dir_in: direction == 1,
                        ep,
                        transfer_flags,
                        length,
                        start_frame,
                        number_of_packets,
                        interval,
                        setup,
                    }
                }
                CMD_UNLINK => {
                    let victim = be32(r)?;
                    r.take(24)?;
                    Command::Unlink {
                        seqnum,
                        devid,
                        dir_in: direction == 1,
                        ep,
                        victim,
                    }
                }
                other => return Err(invalid(r, at, "USB/IP command", other)),
            };
            Ok(c)
        })
    }

    /// Appends the 48-byte header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Command::Submit {
                seqnum,
                devid,
                dir_in,
                ep,
                transfer_flags,
                length,
                start_frame,
                number_of_packets,
                interval,
                setup,
            } => {
                for v in [
                    CMD_SUBMIT,
                    seqnum,
                    devid,
                    u32::from(dir_in),
                    ep,
                    transfer_flags,
                    length,
                    start_frame,
                    number_of_packets,
                    interval,
                ] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&setup);
            }
            Command::Unlink {
                seqnum,
                devid,
                dir_in,
                ep,
                victim,
            } => {
                for v in [CMD_UNLINK, seqnum, devid, u32::from(dir_in), ep, victim] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&[0u8; 24]);
            }
        }
    }
}

/// The device's answer to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ret {
    /// `RET_SUBMIT`: a request is done.
    Submit {
        /// The request's number.
        seqnum: u32,
        /// 0, or a negative errno (`-EPIPE` for a stall).
        status: i32,
        /// Bytes transferred (for OUT, what was taken).
        actual_length: u32,
        /// The data of an IN request.
        data: Vec<u8>,
    },
    /// `RET_UNLINK`: an unlink is done.
    Unlink {
        /// The unlink's number.
        seqnum: u32,
        /// `-ECONNRESET` when the request was taken back, 0 when it had already completed.
        status: i32,
    },
}

impl Ret {
    /// Decodes a reply at the start of `r`; an IN submit's data is `actual_length` bytes, which
    /// the caller says by `dir_in` (the reply itself does not carry the direction).
    pub fn decode(r: &mut Reader<'_>, dir_in: bool) -> Result<Ret, DecodeError> {
        r.within("UsbIpRet", |r| {
            let at = r.offset();
            let command = be32(r)?;
            let seqnum = be32(r)?;
            r.take(12)?;
            let status = be32(r)? as i32;
            match command {
                RET_SUBMIT => {
                    let actual_length = be32(r)?;
                    r.take(20)?;
                    let data = if dir_in {
                        r.take(actual_length as usize)?.to_vec()
                    } else {
                        Vec::new()
                    };
                    Ok(Ret::Submit {
                        seqnum,
                        status,
                        actual_length,
                        data,
                    })
                }
                RET_UNLINK => {
                    r.take(24)?;
                    Ok(Ret::Unlink { seqnum, status })
                }
                other => Err(invalid(r, at, "USB/IP reply", other)),
            }
        })
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Ret::Submit {
                seqnum,
                status,
                actual_length,
                data,
            } => {
                for v in [RET_SUBMIT, *seqnum, 0, 0, 0] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&status.to_be_bytes());
                out.extend_from_slice(&actual_length.to_be_bytes());
                out.extend_from_slice(&[0u8; 4]); // start_frame
                out.extend_from_slice(&u32::MAX.to_be_bytes()); // not isochronous
                out.extend_from_slice(&[0u8; 4]); // error_count
                out.extend_from_slice(&[0u8; 8]); // setup (unused)
                out.extend_from_slice(data);
            }
            Ret::Unlink { seqnum, status } => {
                for v in [RET_UNLINK, *seqnum, 0, 0, 0] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&status.to_be_bytes());
                out.extend_from_slice(&[0u8; 24]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bytes(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut v);
        v
    }

    #[test]
    fn an_op_header_round_trips_big_endian() {
        let h = OpHeader {
            version: USBIP_VERSION,
            code: OP_REQ_IMPORT,
            status: 0,
        };
        let b = bytes(|o| h.encode(o));
        assert_eq!(b, [0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0]);
        assert_eq!(OpHeader::decode(&mut Reader::new(&b)).unwrap(), h);
        assert!(OpHeader::decode(&mut Reader::new(&b[..5])).is_err());
    }

    #[test]
    fn a_device_block_is_312_bytes_and_round_trips() {
        let d = DeviceBlock {
            path: "/sys/devices/platform/x/usb1/1-1".into(),
            bus_id: "1-1".into(),
            bus_num: 1,
            dev_num: 2,
            speed: 3,
            vendor: 0x054C,
            product: 0x0D18,
            bcd_device: 0x0100,
            class: [0, 0, 0],
            configuration_value: 1,
            num_configurations: 1,
            num_interfaces: 1,
        };
        let b = bytes(|o| d.encode(o));
        assert_eq!(b.len(), DEVICE_LEN);
        assert_eq!(&b[288..300], &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        assert_eq!(DeviceBlock::decode(&mut Reader::new(&b)).unwrap(), d);
    }

    #[test]
    fn commands_round_trip_and_unknown_ones_are_errors() {
        let submit = Command::Submit {
            seqnum: 7,
            devid: 0x0001_0002,
            dir_in: true,
            ep: 1,
            transfer_flags: 0x200,
            length: 512,
            start_frame: 0,
            number_of_packets: u32::MAX,
            interval: 0,
            setup: [0x80, 6, 0, 1, 0, 0, 18, 0],
        };
        let unlink = Command::Unlink {
            seqnum: 8,
            devid: 0x0001_0002,
            dir_in: false,
            ep: 0,
            victim: 7,
        };
        for c in [submit, unlink] {
            let b = bytes(|o| c.encode(o));
            assert_eq!(b.len(), URB_HEADER_LEN);
            assert_eq!(Command::decode(&mut Reader::new(&b)).unwrap(), c);
            assert!(Command::decode(&mut Reader::new(&b[..47])).is_err());
        }
        let mut bad = bytes(|o| submit.encode(o));
        bad[3] = 9;
        let e = Command::decode(&mut Reader::new(&bad)).unwrap_err();
        assert_eq!(e.offset, 0);
    }

    #[test]
    fn replies_round_trip() {
        let with_data = Ret::Submit {
            seqnum: 3,
            status: 0,
            actual_length: 4,
            data: vec![1, 2, 3, 4],
        };
        let b = bytes(|o| with_data.encode(o));
        assert_eq!(b.len(), URB_HEADER_LEN + 4);
        assert_eq!(Ret::decode(&mut Reader::new(&b), true).unwrap(), with_data);
        let stall = Ret::Submit {
            seqnum: 4,
            status: -32,
            actual_length: 0,
            data: Vec::new(),
        };
        let b = bytes(|o| stall.encode(o));
        assert_eq!(Ret::decode(&mut Reader::new(&b), false).unwrap(), stall);
        let unlink = Ret::Unlink {
            seqnum: 5,
            status: -104,
        };
        let b = bytes(|o| unlink.encode(o));
        assert_eq!(b.len(), URB_HEADER_LEN);
        assert_eq!(Ret::decode(&mut Reader::new(&b), false).unwrap(), unlink);
    }
}
