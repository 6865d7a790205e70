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

impl DriveMode {
    /// A mode that keeps shooting while S2 is held: 2 (continuous) and the continuous
    /// speeds 0x8010..=0x8017 (Hi+, Hi, Mid, Lo, and their variants).
    pub fn is_continuous(self) -> bool {
        matches!(self.code(), 2 | 0x8010..=0x8017)
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
