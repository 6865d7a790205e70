//! # sonyctl-sim: a simulated Sony camera
//!
//! The responder half of the protocol, built on the same codec as the host side
//! (`sonyctl-ptp`, `sonyctl-sony`). Camera bodies are data ([`Profile`], TOML files in
//! `crates/sim/models/`), derived from real captures.
//!
//! This crate must not do I/O: transports (in-memory, PTP/IP, USB/IP) drive it from outside.

pub mod profile;

pub use profile::{Profile, ProfileError};
