//! 0xD215, the images waiting in the camera's buffer at handle 0xFFFFC001.

use std::fmt;

/// What 0xD215 says about the camera's buffer.
///
/// The rule, from the protocol fact sheet (`sony-ptp.md` §6.2 row D215, §7.3, §11 rows 4, 7,
/// 10) and the hosts it cites:
///
/// - `0`: nothing waits.
/// - `1` (and any value below 0x8000): an image is being written. It is **not** downloadable:
///   reading 0xFFFFC001 then crashes the firmware (libgphoto2: "this variable also turns to 1,
///   but downloading then will crash the firmware").
/// - `0x8000 ..= 0x80FF`: ready at 0xFFFFC001, the low byte counting what waits (0x8001 one,
///   0x8002 two; libgphoto2, indigo, Sony's Remote SDK). The count is a lower bound: a RAW+JPEG
///   pair reads as one (alpha-fairy), so a host keeps fetching while the value stays ready.
/// - `0x8100` and above: not a count any host has seen for real images. The ILCE-6400 reads
///   0xFFFB with an empty ObjectInfo behind it (libgphoto2 issue #1058), so bit 15 alone does
///   not say an image waits. Bit 15 is still set, and only values below 0x8000 are reported to
///   crash firmware when 0xFFFFC001 is read (libgphoto2 read the 0xFFFB ObjectInfo without
///   harm), so a host may ask for the ObjectInfo ([`may_read_object_info`]): an empty one means
///   nothing waits, anything else is downloaded. No source gives a buffer depth, so an image
///   is never stranded behind a count this rule does not know.
///
/// [`may_read_object_info`]: PendingImages::may_read_object_info
///
/// Real bodies buffer far fewer than 256 shots, so the byte-wide count loses nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PendingImages {
    /// 0: the buffer is empty.
    Empty,
    /// 1 ..= 0x7FFF (the raw value): an image is being written; do not read it yet.
    Writing(u16),
    /// 0x8000 | count: objects wait at 0xFFFFC001 (at least `count` of them; 0 still means one
    /// or more may wait).
    Ready(u8),
    /// 0x8100 ..= 0xFFFF (the raw value): not a valid count, nothing to download.
    Invalid(u16),
}

impl PendingImages {
    /// The lowest raw value that means "ready".
    const READY: u16 = 0x8000;
    /// The highest count a ready value carries.
    pub const MAX_COUNT: u8 = 0xFF;

    /// From the raw 0xD215 value.
    pub fn from_raw(raw: u16) -> PendingImages {
        match raw {
            0 => PendingImages::Empty,
            1..=0x7FFF => PendingImages::Writing(raw),
            0x8000..=0x80FF => PendingImages::Ready(raw.to_le_bytes()[0]),
            _ => PendingImages::Invalid(raw),
        }
    }

    /// What a camera with `waiting` objects in its buffer reports: the count capped at
    /// [`MAX_COUNT`](PendingImages::MAX_COUNT), which stays ready (a lower bound) however
    /// many wait.
    pub fn waiting(waiting: usize) -> PendingImages {
        match waiting {
            0 => PendingImages::Empty,
            n => PendingImages::Ready(u8::try_from(n).unwrap_or(Self::MAX_COUNT)),
        }
    }

    /// The raw 0xD215 value.
    pub fn to_raw(self) -> u16 {
        match self {
            PendingImages::Empty => 0,
            PendingImages::Writing(raw) | PendingImages::Invalid(raw) => raw,
            PendingImages::Ready(n) => Self::READY | u16::from(n),
        }
    }

    /// Objects wait at 0xFFFFC001 and may be read.
    pub fn is_ready(self) -> bool {
        matches!(self, PendingImages::Ready(_))
    }

    /// Bit 15 is set, so asking 0xFFFFC001 for its ObjectInfo is safe: [`Ready`], or
    /// [`Invalid`], where only the ObjectInfo tells whether an image waits (an empty one: no).
    /// Never below 0x8000, where reading 0xFFFFC001 crashes firmware.
    ///
    /// [`Ready`]: PendingImages::Ready
    /// [`Invalid`]: PendingImages::Invalid
    pub fn may_read_object_info(self) -> bool {
        matches!(self, PendingImages::Ready(_) | PendingImages::Invalid(_))
    }

    /// The count a ready value carries (a lower bound), `None` when not ready.
    pub fn ready_count(self) -> Option<u8> {
        match self {
            PendingImages::Ready(n) => Some(n),
            _ => None,
        }
    }

    /// Reads the text [`Display`](fmt::Display) writes: `none`, `processing`, `3 ready`, or a
    /// raw value in hex (`0x0002`, `0xFFFB (invalid)`).
    pub fn parse(text: &str) -> Option<PendingImages> {
        let t = text.trim().to_ascii_lowercase();
        match t.as_str() {
            "none" => return Some(PendingImages::Empty),
            "processing" => return Some(PendingImages::Writing(1)),
            _ => {}
        }
        if let Some(n) = t.strip_suffix("ready") {
            return n.trim().parse::<u8>().ok().map(PendingImages::Ready);
        }
        let hex = t.strip_suffix("(invalid)").unwrap_or(&t).trim();
        let digits = hex.strip_prefix("0x")?;
        u16::from_str_radix(digits, 16)
            .ok()
            .map(PendingImages::from_raw)
    }
}

impl fmt::Display for PendingImages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PendingImages::Empty => f.write_str("none"),
            PendingImages::Writing(1) => f.write_str("processing"),
            PendingImages::Writing(raw) => write!(f, "{raw:#06X}"),
            PendingImages::Ready(n) => write!(f, "{n} ready"),
            PendingImages::Invalid(raw) => write!(f, "{raw:#06X} (invalid)"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_raw_value_round_trips_through_type_and_text() {
        for raw in 0..=u16::MAX {
            let p = PendingImages::from_raw(raw);
            assert_eq!(p.to_raw(), raw);
            assert_eq!(PendingImages::parse(&p.to_string()), Some(p), "{raw:#06X}");
            assert_eq!(p.is_ready(), (0x8000..=0x80FF).contains(&raw), "{raw:#06X}");
            assert_eq!(p.may_read_object_info(), raw >= 0x8000, "{raw:#06X}");
        }
    }

    #[test]
    fn values_seen_on_real_bodies() {
        assert_eq!(PendingImages::from_raw(0), PendingImages::Empty);
        assert_eq!(PendingImages::from_raw(1).to_string(), "processing");
        assert!(!PendingImages::from_raw(1).is_ready());
        assert_eq!(PendingImages::from_raw(0x8001).ready_count(), Some(1));
        assert_eq!(PendingImages::from_raw(0x8002).to_string(), "2 ready");
        assert!(PendingImages::from_raw(0x8000).is_ready());
        // ILCE-6400, libgphoto2 #1058.
        let a6400 = PendingImages::from_raw(0xFFFB);
        assert!(!a6400.is_ready());
        assert_eq!(a6400.to_string(), "0xFFFB (invalid)");
        assert!(!PendingImages::from_raw(0x8100).is_ready());
    }

    #[test]
    fn a_full_buffer_stays_ready_within_the_rule() {
        assert_eq!(PendingImages::waiting(0), PendingImages::Empty);
        assert_eq!(PendingImages::waiting(3).to_raw(), 0x8003);
        for n in [255, 256, 1000, usize::MAX] {
            let p = PendingImages::waiting(n);
            assert_eq!(p.to_raw(), 0x80FF);
            assert!(p.is_ready());
        }
    }

    #[test]
    fn text_that_is_no_value_is_refused() {
        for bad in [
            "",
            "256 ready",
            "-1 ready",
            "ready",
            "0x",
            "0x1FFFF",
            "12",
            "lots",
        ] {
            assert_eq!(PendingImages::parse(bad), None, "{bad}");
        }
    }
}
