//! What the astronomy front ends share, so the ASCOM Alpaca server and the INDI driver behave
//! alike and neither decides anything the other could decide differently.
//!
//! - [`exposure`]: which shutter speed an exposure of a requested length really uses (the
//!   body's own listed speed, or BULB timed by the host), and the body's listed speeds;
//! - [`gain`]: the body's ISO values as the gains a client picks from;
//! - [`focuser`]: the lens's near/far steps as a focuser with a counted position, and moves
//!   planned in chunks that can be halted between;
//! - [`state`]: the service's exposure state as the one state both front ends show;
//! - [`device`]: [`AstroCamera`], the camera device both front ends adapt (session, exposures,
//!   frames, gain, exposure limits, property actions), with [`Focuser`] ([`drive`]) and the
//!   decoded [`Frame`] ([`frame`]); [`AstroError`] is the one error they map.
//!
//! No HTTP, no XML, no timing: the front ends own their protocols, the camera service owns the
//! camera, and the Sony layer owns every value's layout (this crate decodes none).

pub mod device;
pub mod drive;
pub mod error;
pub mod exposure;
pub mod focuser;
pub mod frame;
pub mod gain;
pub mod state;

pub use device::{AstroCamera, DeviceOptions, ExposureRequest, ExposureSnapshot, SensorInfo};
pub use drive::{Focuser, FocuserOptions, FocuserStatus};
pub use error::AstroError;
pub use frame::{Frame, Pixels, ReadoutMode, Row, Subframe};
