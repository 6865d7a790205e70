//! The AF point (control 0xD2DC): `x << 16 | y` as a u32, in the 640×480 live-view space
//! (`sony-ptp.md` §6.3 row D2DC: Sony's Camera Remote SDK and alpha-fairy).

/// A point in the 640×480 space the camera places its AF point in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AfPoint {
    /// 0 (left) ..= 639.
    pub x: u16,
    /// 0 (top) ..= 479.
    pub y: u16,
}

impl AfPoint {
    /// The width of the space.
    pub const WIDTH: u16 = 640;
    /// The height of the space.
    pub const HEIGHT: u16 = 480;

    /// The point, if it lies inside the 640×480 space.
    pub fn new(x: u16, y: u16) -> Option<AfPoint> {
        (x < Self::WIDTH && y < Self::HEIGHT).then_some(AfPoint { x, y })
    }

    /// From the raw control value; `None` outside the space.
    pub fn from_raw(raw: u32) -> Option<AfPoint> {
        let [y0, y1, x0, x1] = raw.to_le_bytes();
        AfPoint::new(u16::from_le_bytes([x0, x1]), u16::from_le_bytes([y0, y1]))
    }

    /// The raw control value.
    pub fn to_raw(self) -> u32 {
        (u32::from(self.x) << 16) | u32::from(self.y)
    }

    /// The control's data: the raw value, little-endian.
    pub fn to_bytes(self) -> [u8; 4] {
        self.to_raw().to_le_bytes()
    }

    /// From the control's data; `None` when it is not four bytes of a point inside the space.
    pub fn from_bytes(data: &[u8]) -> Option<AfPoint> {
        let raw = <[u8; 4]>::try_from(data).ok()?;
        AfPoint::from_raw(u32::from_le_bytes(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre() {
        let p = AfPoint::new(320, 240).expect("inside");
        assert_eq!(p.to_raw(), 0x0140_00F0);
        assert_eq!(AfPoint::from_bytes(&[0xF0, 0, 0x40, 0x01]), Some(p));
    }

    #[test]
    fn every_point_round_trips_and_nothing_outside_decodes() {
        let mut inside = 0u32;
        for x in (0..=u16::MAX).step_by(7).chain([639, 640]) {
            for y in (0..=u16::MAX).step_by(11).chain([479, 480]) {
                let raw = (u32::from(x) << 16) | u32::from(y);
                match AfPoint::from_raw(raw) {
                    Some(p) => {
                        inside += 1;
                        assert_eq!((p.x, p.y, p.to_raw()), (x, y, raw));
                    }
                    None => assert!(x >= 640 || y >= 480, "{x},{y}"),
                }
            }
        }
        assert!(inside > 0);
        assert_eq!(AfPoint::from_bytes(&[1, 2, 3]), None);
        assert_eq!(AfPoint::from_bytes(&[1, 2, 3, 4, 5]), None);
    }
}
