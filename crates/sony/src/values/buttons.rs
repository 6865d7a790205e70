//! Which controls (0x9207 codes) are buttons: u16 2 = press, 1 = release.

use sonyctl_ptp::PropertyCode;

/// `code` is a button, pressed with 2 and released with 1 (`sony-ptp.md` §6.3: S1, S2, AEL,
/// AFL, Request One Shooting, Movie Rec, FEL, focus magnifier and its cancel, the remote keys
/// up/down/left/right, AF/MF hold, AWBL, remote touch cancel, S1&S2). 0xD2C5 Release Lock and
/// 0xD2C6 are not: the fact sheet gives them no 2/1 values.
pub fn is_button(code: PropertyCode) -> bool {
    matches!(
        code.0,
        0xD2C1..=0xD2C4 | 0xD2C7..=0xD2C9 | 0xD2CB..=0xD2D0 | 0xD2D2 | 0xD2D9 | 0xD2E5 | 0xD2E6
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::control;

    #[test]
    fn the_buttons_of_the_fact_sheet() {
        for b in [control::S1_BUTTON, control::S2_BUTTON, control::MOVIE_REC] {
            assert!(is_button(b), "{b:?}");
        }
        let all: Vec<u16> = (0..=u16::MAX)
            .filter(|&c| is_button(PropertyCode(c)))
            .collect();
        assert_eq!(all.len(), 17);
        for not in [
            0xD2C5, 0xD2C6, 0xD2CA, 0xD2D1, 0xD2DC, 0xD2DD, 0xD2E4, 0xD215,
        ] {
            assert!(!is_button(PropertyCode(not)), "{not:#06X}");
        }
    }
}
