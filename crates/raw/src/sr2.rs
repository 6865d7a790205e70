//! Sony's SR2 private data: IFD0's DNGPrivateData (0xC634) holds the offset of the
//! SR2Private directory, whose tags 0x7200 (offset), 0x7201 (length) and 0x7221 (key) locate
//! the SR2SubIFD, a directory stored encrypted (ExifTool's Sony tags, "SR2Private Tags" and
//! "SR2SubIFD Tags", <https://exiftool.org/TagNames/Sony.html#SR2Private>). The SR2SubIFD holds
//! the black level (0x7310, four values in CFA order), the white level (0x787F) and the white
//! balance (0x7313, RGGB levels).
//!
//! The cipher (the `Decrypt` routine of ExifTool's `lib/Image/ExifTool/Sony.pm`,
//! <https://github.com/exiftool/exiftool/blob/master/lib/Image/ExifTool/Sony.pm>, whose
//! reference is dcraw) XORs the data, taken as 32-bit words, with a keystream: a 127-word
//! pad whose first four words are successive states of the linear congruential step
//! `k·48828125 + 1` from the key, the rest grown by a shift-register rule, then run as a
//! lagged-XOR generator (lags 1 and 65 of 127); each keystream word is applied in big-endian
//! byte order. XOR makes encryption and decryption the same operation.

/// The SR2Private directory's tags.
pub(crate) const SR2_SUB_IFD_OFFSET: u16 = 0x7200;
pub(crate) const SR2_SUB_IFD_LENGTH: u16 = 0x7201;
pub(crate) const SR2_SUB_IFD_KEY: u16 = 0x7221;
/// The SR2SubIFD's tags this crate reads and writes.
pub(crate) const BLACK_LEVEL: u16 = 0x7310;
pub(crate) const WB_RGGB_LEVELS: u16 = 0x7313;
pub(crate) const WHITE_LEVEL: u16 = 0x787F;

/// The largest SR2SubIFD decrypted (real ones are a few kilobytes).
pub(crate) const MAX_LENGTH: u32 = 1 << 20;

/// Words in the cipher's pad, and the lags of its generator.
const PAD_WORDS: usize = 127;
const LONG_LAG: usize = 65;

/// Encrypts or decrypts `data` in place with `key`; a trailing partial word is left as is.
pub(crate) fn crypt(data: &mut [u8], key: u32) {
    // One spare word: indices are taken modulo 128 so that no lookup can fail.
    let mut pad = [0u32; 128];
    let word_at = |pad: &[u32; 128], i: usize| pad.get(i & 127).copied().unwrap_or(0);
    let mut state = key;
    for word in pad.iter_mut().take(4) {
        state = state.wrapping_mul(48_828_125).wrapping_add(1);
        *word = state;
    }
    let fourth = (word_at(&pad, 3) << 1) | ((word_at(&pad, 0) ^ word_at(&pad, 2)) >> 31);
    if let Some(w) = pad.get_mut(3) {
        *w = fourth;
    }
    for filled in 4..PAD_WORDS {
        let grown = ((word_at(&pad, filled - 4) ^ word_at(&pad, filled - 2)) << 1)
            | ((word_at(&pad, filled - 3) ^ word_at(&pad, filled - 1)) >> 31);
        if let Some(w) = pad.get_mut(filled) {
            *w = grown;
        }
    }
    for (i, chunk) in data.chunks_exact_mut(4).enumerate() {
        let slot = (PAD_WORDS + i) & 127;
        let keystream = word_at(&pad, slot + 1) ^ word_at(&pad, slot + LONG_LAG);
        if let Some(w) = pad.get_mut(slot) {
            *w = keystream;
        }
        for (byte, k) in chunk.iter_mut().zip(keystream.to_be_bytes()) {
            *byte ^= k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypt_twice_is_the_identity_and_once_changes_every_word() {
        let plain: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut data = plain.clone();
        crypt(&mut data, 0x1234_5678);
        assert!(
            data.chunks(4)
                .zip(plain.chunks(4))
                .filter(|(a, b)| a == b)
                .count()
                < 4
        );
        crypt(&mut data, 0x1234_5678);
        assert_eq!(data, plain);
        let mut other = plain.clone();
        crypt(&mut other, 0x1234_5679);
        crypt(&mut other, 0x1234_5678);
        assert_ne!(other, plain);
    }
}
