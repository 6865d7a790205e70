//! Exposure program (0x500E) and drive mode (0x5013): a 16-bit code, which protocol 300 widens
//! to 32 bits with a category in the high half (`category << 16 | code`, `sony-ptp.md` §6.2
//! rows 500E and 5013). The code alone says what the mode is, so everything matches on the low
//! 16 bits and keeps the category only to send the value back the way the camera lists it.

macro_rules! categorised_mode {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// From a property value of any integer type (u16 on protocol 200, u32 on 300).
            pub fn from_value(raw: u64) -> Option<$name> {
                u32::try_from(raw).ok().map($name)
            }

            /// The mode's code, without the protocol-300 category.
            pub fn code(self) -> u16 {
                let [lo0, lo1, _, _] = self.0.to_le_bytes();
                u16::from_le_bytes([lo0, lo1])
            }

            /// The protocol-300 category (0 on protocol 200).
            pub fn category(self) -> u16 {
                let [_, _, hi0, hi1] = self.0.to_le_bytes();
                u16::from_le_bytes([hi0, hi1])
            }

            /// `code` in `category`.
            pub fn with_category(code: u16, category: u16) -> $name {
                $name((u32::from(category) << 16) | u32::from(code))
            }

            /// The same mode: the codes are equal whatever the categories.
            pub fn same_mode(self, other: $name) -> bool {
                self.code() == other.code()
            }
        }
    };
}

categorised_mode!(
    /// An exposure program (0x500E): 1 M, 2 P, 3 A, 4 S, 0x8000 iAuto, scenes, movie modes.
    ExposureProgram
);

categorised_mode!(
    /// A drive mode (0x5013): 1 single, 2 and 0x8010..=0x8017 continuous, timers, brackets.
    DriveMode
);

impl ExposureProgram {
    /// Manual exposure (code 1, M): the shutter speed is the one set, and BULB is there.
    pub fn is_manual(self) -> bool {
        self.code() == 1
    }

    /// `code` in the category protocol 300 lists it under (Sony's Camera Remote SDK tables,
    /// as the real protocol-300 replies show them: P is 0x00010002, iAuto 0x00048000).
    pub fn with_v300_category(code: u16) -> ExposureProgram {
        let category = match code {
            2 => 1,
            3 => 2,
            4 => 3,
            0x8000 | 0x8001 | 0x8060 => 4,
            0x8011..=0x8018 | 0x8031 | 0x8032 | 0x8070 => 5,
            0x8040 | 0x8041 => 6,
            0x8050..=0x8054 => 7,
            0x8080..=0x8087 => 8,
            0x8059..=0x805C => 9,
            0x8088 | 0x8089 => 0xA,
            0x8090..=0x809F => 0xC,
            _ => 0,
        };
        ExposureProgram::with_category(code, category)
    }
}

/// An exposure bracket drive mode: `0x8Nss`, N frames, `ss` the step (bit 0: continuous).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Bracket {
    /// Frames in the bracket (2, 3, 5, 7 or 9).
    pub frames: u8,
    /// The step in EV as the camera's menu shows it (`0.3`, `1.0`, …).
    pub step: &'static str,
    /// Shot while S2 is held (bit 0 set), rather than one frame per press.
    pub continuous: bool,
}

/// Bracketing steps: the low byte of `0x8Nss` with bit 0 cleared, and the step in EV.
const BRACKET_STEPS: &[(u8, &str)] = &[
    (0x36, "0.3"),
    (0x56, "0.5"),
    (0x76, "0.7"),
    (0x10, "1.0"),
    (0x20, "2.0"),
    (0x30, "3.0"),
];

impl DriveMode {
    /// A mode that keeps shooting while S2 is held: 2 (continuous) and the continuous
    /// speeds 0x8010..=0x8017 (Hi+, Hi, Mid, Lo, and their variants).
    pub fn is_continuous(self) -> bool {
        matches!(self.code(), 2 | 0x8010..=0x8017)
    }

    /// The exposure bracket this mode is, if it is one.
    pub fn bracket(self) -> Option<Bracket> {
        let [low, high] = self.code().to_le_bytes();
        let frames = high & 0x0F;
        if high & 0xF0 != 0x80 || !matches!(frames, 2 | 3 | 5 | 7 | 9) {
            return None;
        }
        let step = BRACKET_STEPS.iter().find(|&&(b, _)| b == low & 0xFE)?.1;
        Some(Bracket {
            frames,
            step,
            continuous: low & 1 == 1,
        })
    }

    /// `code` in the category protocol 300 lists it under (Sony's Camera Remote SDK tables).
    pub fn with_v300_category(code: u16) -> DriveMode {
        let category = match code {
            2 | 0x8010..=0x8017 => 1,
            3 => 2,
            0x8003..=0x8005 => 3,
            0x8008..=0x800F => 8,
            0x8018 | 0x8028 => 6,
            0x8019 | 0x8029 | 0x801A => 7,
            0x8030..=0x803F => 9,
            0x8040..=0x804F => 0xA,
            _ => match DriveMode(u32::from(code)).bracket() {
                Some(b) if b.continuous => 4,
                Some(_) => 5,
                None => 0,
            },
        };
        DriveMode::with_category(code, category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn v300_values_keep_their_category() {
        let p = ExposureProgram(0x0001_0002);
        assert_eq!((p.code(), p.category()), (2, 1));
        assert!(p.same_mode(ExposureProgram(2)));
        assert_eq!(ExposureProgram::with_category(0x8000, 4).0, 0x0004_8000);
        assert!(DriveMode(0x0001_8010).is_continuous());
        assert!(DriveMode(2).is_continuous());
        assert!(!DriveMode(1).is_continuous());
        assert!(!DriveMode(0x8018).is_continuous());
        assert_eq!(DriveMode::from_value(1 << 32), None);
    }

    #[test]
    fn v300_categories_of_real_values() {
        // As the ILCE-7SM3's protocol-300 reply lists them.
        assert_eq!(ExposureProgram::with_v300_category(2).0, 0x0001_0002);
        assert_eq!(ExposureProgram::with_v300_category(1).0, 0x0000_0001);
        assert_eq!(ExposureProgram::with_v300_category(0x8000).0, 0x0004_8000);
        assert_eq!(DriveMode::with_v300_category(1).0, 0x0000_0001);
        assert_eq!(DriveMode::with_v300_category(0x8010).0, 0x0001_8010);
        assert_eq!(DriveMode::with_v300_category(0x8337).0, 0x0004_8337);
        assert_eq!(DriveMode::with_v300_category(0x8336).0, 0x0005_8336);
    }

    #[test]
    fn brackets() {
        let b = DriveMode(0x0004_8337).bracket();
        assert_eq!(
            b,
            Some(Bracket {
                frames: 3,
                step: "0.3",
                continuous: true
            })
        );
        assert_eq!(DriveMode(0x8956).bracket().map(|b| b.frames), Some(9));
        assert_eq!(DriveMode(0x8437).bracket(), None, "4 frames is no bracket");
        assert_eq!(DriveMode(0x8311).bracket().map(|b| b.step), Some("1.0"));
        assert_eq!(DriveMode(0x8340).bracket(), None, "no such step");
        assert_eq!(DriveMode(0x0337).bracket(), None);
        let all = (0..=u16::MAX)
            .filter(|&c| DriveMode(u32::from(c)).bracket().is_some())
            .count();
        assert_eq!(all, 5 * 6 * 2);
    }

    proptest! {
        #[test]
        fn every_raw_value_round_trips(raw in any::<u32>()) {
            let d = DriveMode(raw);
            prop_assert_eq!(DriveMode::with_category(d.code(), d.category()), d);
            let p = ExposureProgram(raw);
            prop_assert_eq!(ExposureProgram::with_category(p.code(), p.category()), p);
            prop_assert_eq!(d.is_continuous(), DriveMode(u32::from(d.code())).is_continuous());
        }
    }
}
