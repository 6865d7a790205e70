//! # sonyctl-sim: a simulated Sony camera
//!
//! The responder half of the protocol, built on the same codec as the host side
//! (`sonyctl-ptp`, `sonyctl-sony`). Camera bodies are data ([`Profile`], TOML files in
//! `crates/sim/models/`), derived from real captures.
//!
//! This crate must not do I/O: transports (in-memory, PTP/IP, USB/IP) drive it from outside.

pub mod camera;
mod capture;
pub mod image;
pub mod live_view;
pub mod profile;
pub mod script;
mod v200;

pub use camera::{ConnectionId, Reply, SimOptions, SimulatedCamera, Stats, has_data_out};
pub use capture::Produced;
pub use live_view::{LiveViewDrawing, LiveViewStats};
pub use profile::{Profile, ProfileError};
pub use script::{Fault, OwnerAction, ScheduledAction, WireFault};
pub use sonyctl_sony::parse_duration;
