//! # sonyctl-sony: Sony's "SDIO" PTP extension, with no I/O
//!
//! Built on `sonyctl-ptp`, this crate owns everything Sony-specific that is pure data:
//! - vendor codes and the names of every code with a public name ([`codes`], the catalogue);
//! - the 0x9202 reply ([`ExtDeviceInfo`]) and the 0x9209 reply ([`AllPropInfo`]) in both the
//!   protocol-200 (one enumeration list) and protocol-300 (two lists) layouts;
//! - Sony events ([`SonyEvent`]) and the live-view dataset ([`LiveViewFrame`]);
//! - human formatting and parsing of setting values ([`format_value`], [`parse_value`]);
//! - typed SDIO requests for both sides of the wire ([`SdioRequest`]);
//! - a display-ready view of a property ([`PropertyReport`]);
//! - each body's sensor: size, pixels, RAW active area ([`bodies`]).
//!
//! It must not do I/O, keep time, or hold camera state: sessions, the handshake's timing and the
//! simulated camera's behaviour live in the layers above.

pub mod bodies;
pub mod codes;
#[rustfmt::skip]
mod catalogue_names;
pub mod event;
pub mod ext_device_info;
pub mod format;
pub mod live_view;
pub mod prop_info;
pub mod report;
pub mod request;
pub mod values;

pub use codes::{
    control_name, event_name, format_name, operation_name, property_name, response_name,
};
pub use event::SonyEvent;
pub use ext_device_info::ExtDeviceInfo;
pub use format::{ParseError, ValueKind, format_value, parse_duration, parse_value, value_kind};
pub use live_view::LiveViewFrame;
pub use prop_info::{
    AllPropInfo, ControlKind, Enabled, GetSet, SdioVersion, SonyDevicePropDesc, SonyForm,
};
pub use report::PropertyReport;
pub use request::{RequestError, SdioRequest};
