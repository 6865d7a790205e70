//! Typed camera values: one home for each layout the camera uses on the wire.
//!
//! Each type says where its layout comes from, converts raw ↔ typed losslessly (every raw value
//! of the property's width maps to a value that encodes back to the same raw), and shows and
//! reads the text `format_value` and `parse_value` use. Everything that decodes one of these
//! layouts (formatting, setting, capture, watching, the simulated camera) goes through here.

mod af_point;
mod battery;
mod buttons;
mod compensation;
mod f_number;
mod focus;
mod iso;
mod mode;
mod object_format;
mod pending;
mod quirks;
pub(crate) mod shutter;
mod still;

pub use af_point::AfPoint;
pub use battery::BatteryRemaining;
pub use buttons::is_button;
pub use compensation::ExposureCompensation;
pub use f_number::FNumber;
pub use focus::FocusIndication;
pub use iso::{Iso, IsoNoiseReduction};
pub use mode::{Bracket, DriveMode, ExposureProgram};
pub use object_format::{
    UNKNOWN_EXTENSION, UNKNOWN_MEDIA_TYPE, format_extension, format_label, is_extension_of,
    known_extension, media_type,
};
pub use pending::PendingImages;
pub use quirks::{STARTUP_SETTLE, startup_settle};
pub use shutter::{
    DEFAULT_FASTEST_SHUTTER, ExtendedShutterSpeed, ShutterSpeed, format_seconds, shutter_duration,
    third_stop_scale,
};
pub use still::{FocusMode, StillFormat, lens_steppable, still_format_property};
