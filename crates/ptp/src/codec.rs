//! The bounds-checked byte reader and the writer helpers every decoder and encoder uses.
//!
//! Decoders never index a slice directly: they pull bytes through [`Reader`], which knows the
//! absolute offset of every byte in the original input and the name of the structure being
//! decoded, so an error can say "DeviceInfo at offset 0x1c: truncated". Counts read from the
//! input are checked against the bytes that are left *before* anything is allocated, so a count
//! of 0x7FFFFFFF costs nothing.

use crate::error::{DecodeError, DecodeErrorKind, EncodeError};

/// A cursor over untrusted bytes. Every read is bounds-checked; nothing panics.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Absolute offset of `bytes[0]` in the caller's original input, for error messages.
    base: usize,
    structure: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`; offsets in errors start at 0.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::with_base(bytes, 0)
    }

    /// A reader over `bytes` whose first byte is at `base` in the caller's input (e.g. a payload
    /// after a 12-byte USB container header), so error offsets point into the whole input.
    pub fn with_base(bytes: &'a [u8], base: usize) -> Self {
        Reader {
            bytes,
            pos: 0,
            base,
            structure: "input",
        }
    }

    /// Runs `f` with errors attributed to `structure`, then restores the previous name.
    pub fn within<T>(
        &mut self,
        structure: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let saved = std::mem::replace(&mut self.structure, structure);
        let out = f(self);
        self.structure = saved;
        out
    }

    /// Name of the structure currently being decoded.
    pub fn structure(&self) -> &'static str {
        self.structure
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error of `kind` at the current offset, naming the current structure.
    pub fn error(&self, kind: DecodeErrorKind) -> DecodeError {
        self.error_at(self.offset(), kind)
    }

    /// An error of `kind` at an absolute `offset`, naming the current structure.
    pub fn error_at(&self, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            structure: self.structure,
            context: None,
            offset,
            kind,
        }
    }

    /// Consumes exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        if n > available {
            return Err(self.error(DecodeErrorKind::Truncated {
                needed: n,
                available,
            }));
        }
        let start = self.pos;
        self.pos += n;
        self.bytes.get(start..start + n).ok_or_else(|| {
            self.error(DecodeErrorKind::Truncated {
                needed: n,
                available,
            })
        })
    }

    /// Consumes every remaining byte.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.bytes.get(self.pos..).unwrap_or(&[]);
        self.pos = self.bytes.len();
        out
    }

    /// Looks at the next `n` bytes without consuming them.
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.bytes.get(self.pos..self.pos.checked_add(n)?)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a `u8`.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    /// Reads an `i8`.
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(i8::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `u16`.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `i16`.
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `i32`.
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `i64`.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `u128`.
    pub fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian `i128`.
    pub fn i128(&mut self) -> Result<i128, DecodeError> {
        Ok(i128::from_le_bytes(self.array()?))
    }

    /// Reads a count of items that are each at least `min_item_size` bytes long, and fails before
    /// any allocation when the input cannot possibly hold that many.
    pub fn count_u32(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let at = self.offset();
        let count = self.u32()?;
        self.check_count(at, u64::from(count), min_item_size)
    }

    /// As [`Reader::count_u32`] for a 16-bit count.
    pub fn count_u16(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let at = self.offset();
        let count = self.u16()?;
        self.check_count(at, u64::from(count), min_item_size)
    }

    /// Checks that `count` items of at least `min_item_size` bytes fit in what is left.
    pub fn check_count(
        &self,
        at: usize,
        count: u64,
        min_item_size: usize,
    ) -> Result<usize, DecodeError> {
        let needed = count.saturating_mul(min_item_size.max(1) as u64);
        if needed > self.remaining() as u64 {
            return Err(self.error_at(
                at,
                DecodeErrorKind::CountTooLarge {
                    count,
                    available: self.remaining(),
                },
            ));
        }
        // `needed <= remaining` so `count` fits in usize.
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Reads a PTP array of `u16` (u32 count + items).
    pub fn u16_array(&mut self) -> Result<Vec<u16>, DecodeError> {
        let n = self.count_u32(2)?;
        (0..n).map(|_| self.u16()).collect()
    }

    /// Reads a PTP string: u8 character count including the terminating NUL, then UTF-16LE code
    /// units. The empty string is the single byte 0. A string whose last unit is not NUL is an
    /// error (the count and the text disagree); unpaired surrogates become U+FFFD.
    pub fn ptp_string(&mut self) -> Result<String, DecodeError> {
        let at = self.offset();
        let n = usize::from(self.u8()?);
        let bytes = self.take(n * 2)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .filter_map(|c| <[u8; 2]>::try_from(c).ok().map(u16::from_le_bytes))
            .collect();
        let text = match units.split_last() {
            None => &[][..],
            Some((0, head)) => head,
            Some(_) => {
                return Err(self.error_at(
                    at,
                    DecodeErrorKind::Invalid(format!(
                        "string of {n} characters does not end with NUL"
                    )),
                ));
            }
        };
        Ok(char::decode_utf16(text.iter().copied())
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect())
    }

    /// Fails with [`DecodeErrorKind::TrailingBytes`] unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(DecodeErrorKind::TrailingBytes { count })),
        }
    }
}

/// Little-endian writer helpers over a `Vec<u8>`.
pub trait Writer {
    /// Appends a `u8`.
    fn put_u8(&mut self, v: u8);
    /// Appends a little-endian `u16`.
    fn put_u16(&mut self, v: u16);
    /// Appends a little-endian `u32`.
    fn put_u32(&mut self, v: u32);
    /// Appends a little-endian `u64`.
    fn put_u64(&mut self, v: u64);
    /// Appends a PTP array of `u16` (u32 count + items).
    fn put_u16_array(&mut self, items: &[u16]) -> Result<(), EncodeError>;
    /// Appends a PTP string (u8 count incl. NUL + UTF-16LE). Fails if it needs more than 255
    /// code units.
    fn put_ptp_string(&mut self, s: &str) -> Result<(), EncodeError>;
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u16_array(&mut self, items: &[u16]) -> Result<(), EncodeError> {
        let n = u32::try_from(items.len()).map_err(|_| EncodeError::TooManyItems(items.len()))?;
        self.put_u32(n);
        for &i in items {
            self.put_u16(i);
        }
        Ok(())
    }
    fn put_ptp_string(&mut self, s: &str) -> Result<(), EncodeError> {
        if s.is_empty() {
            self.push(0);
            return Ok(());
        }
        let units: Vec<u16> = s.encode_utf16().collect();
        let count =
            u8::try_from(units.len() + 1).map_err(|_| EncodeError::StringTooLong(units.len()))?;
        self.push(count);
        for u in units.into_iter().chain(std::iter::once(0)) {
            self.put_u16(u);
        }
        Ok(())
    }
}

/// A dataset or message that has one wire form: decodes from a [`Reader`], encodes to bytes.
pub trait Codec: Sized {
    /// Decodes one value, consuming exactly its bytes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// Appends the wire form.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Decodes `bytes`, which must hold exactly one value and nothing more.
    fn decode_exact(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }

    /// The wire form as a new vector.
    fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_round_trip_and_empty() {
        let mut out = Vec::new();
        out.put_ptp_string("1.00").unwrap();
        assert_eq!(
            out,
            [0x05, 0x31, 0, 0x2e, 0, 0x30, 0, 0x30, 0, 0, 0],
            "fact sheet example"
        );
        assert_eq!(Reader::new(&out).ptp_string().unwrap(), "1.00");
        let mut empty = Vec::new();
        empty.put_ptp_string("").unwrap();
        assert_eq!(empty, [0]);
        assert_eq!(Reader::new(&empty).ptp_string().unwrap(), "");
    }

    #[test]
    fn unterminated_string_is_an_error() {
        // 255 units and no NUL: it could never be written back.
        let mut bytes = vec![255u8];
        bytes.extend(std::iter::repeat_n(0x41, 510));
        let err = Reader::new(&bytes).ptp_string().unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(err.to_string().contains("does not end with NUL"), "{err}");
        assert!(Reader::new(&[2, 0x41, 0, 0x42, 0]).ptp_string().is_err());
        assert_eq!(Reader::new(&[2, 0x41, 0, 0, 0]).ptp_string().unwrap(), "A");
    }

    #[test]
    fn string_too_long_is_an_error() {
        let s = "x".repeat(255);
        assert!(matches!(
            Vec::new().put_ptp_string(&s),
            Err(EncodeError::StringTooLong(255))
        ));
        let ok = "x".repeat(254);
        assert!(Vec::new().put_ptp_string(&ok).is_ok());
    }

    #[test]
    fn huge_count_fails_before_allocating() {
        let bytes = [0xff, 0xff, 0xff, 0x7f, 1, 0];
        let err = Reader::new(&bytes).u16_array().unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(matches!(
            err.kind,
            DecodeErrorKind::CountTooLarge {
                count: 0x7fff_ffff,
                available: 2
            }
        ));
    }

    #[test]
    fn truncation_names_structure_and_absolute_offset() {
        let bytes = [1, 2, 3];
        let mut r = Reader::with_base(&bytes, 12);
        let err = r.within("Thing", |r| r.u32()).unwrap_err();
        assert_eq!(err.structure, "Thing");
        assert_eq!(err.offset, 12);
        assert_eq!(r.structure(), "input");
        assert!(err.to_string().contains("Thing at offset 0xc"));
    }
}
