//! `indi_sonyctl`: an INDI driver for Sony cameras. INDI clients (KStars/Ekos, PHD2, CCDciel)
//! reach a driver through `indiserver`, which starts it and speaks the INDI XML protocol on its
//! standard input and output; no libindi is needed.
//!
//! - [`xml`]: the bounded incremental reader of what clients send, and escaping;
//! - [`props`]: INDI properties and the messages that define, set and delete them;
//! - [`fits`]: the FITS file of a decoded frame, streamed;
//! - [`driver`]: the device (`Sony Camera`, CCD and focuser) over the astronomy layer's
//!   [`AstroCamera`](sonyctl_astro::AstroCamera).

pub mod driver;
pub mod fits;
pub mod props;
pub mod xml;

pub use driver::{Config, Driver};
