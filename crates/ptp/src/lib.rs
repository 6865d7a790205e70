//! # sonyctl-ptp: the PTP protocol core, with no I/O
//!
//! Bytes in, typed messages out, and back. This crate owns:
//! - the bounds-checked [`Reader`] and the [`Codec`] trait every dataset implements;
//! - PTP data types and values ([`DataType`], [`Value`]), PTP strings;
//! - open code spaces ([`OperationCode`], [`ResponseCode`], [`EventCode`], [`PropertyCode`],
//!   [`ObjectFormatCode`]) whose unknown members still decode and print as hex;
//! - USB container framing ([`UsbContainer`]) and PTP/IP packets ([`ptpip::Packet`]);
//! - the standard datasets ([`DeviceInfo`], [`StorageInfo`], [`ObjectInfo`], [`DevicePropDesc`]).
//!
//! It must not touch sockets, USB, files, clocks or threads, and knows nothing of any vendor:
//! Sony's extension lives in `sonyctl-sony`, on top of this crate. Nothing here panics on input:
//! every malformed byte sequence is a [`DecodeError`] naming the structure and offset.

pub mod codec;
pub mod codes;
pub mod container;
pub mod dataset;
pub mod date;
pub mod error;
pub mod hexdump;
pub mod ptpip;
pub mod value;

pub use codec::{Codec, Reader, Writer};
pub use codes::{EventCode, ObjectFormatCode, OperationCode, PropertyCode, ResponseCode};
pub use container::{ContainerKind, Event, Operation, Params, Response, UsbContainer};
pub use dataset::{DeviceInfo, DevicePropDesc, Form, ObjectInfo, StorageInfo};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use value::{DataType, Value};
