//! The TIFF structure an ARW is built on (TIFF 6.0, section 2): a header, image file
//! directories (IFDs) of 12-byte entries, and values stored in the entry or at an offset.
//!
//! Reading is bounds-checked against the file and never follows an offset outside it; only
//! the integer and ASCII types are interpreted, which is all an ARW needs. Writing lays out
//! little-endian directories whose out-of-line values follow each directory, as cameras do.

use crate::ArwError;

/// TIFF field types (TIFF 6.0 section 2, "Types"), with their sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldType(pub u16);

impl FieldType {
    pub(crate) const BYTE: FieldType = FieldType(1);
    pub(crate) const ASCII: FieldType = FieldType(2);
    pub(crate) const SHORT: FieldType = FieldType(3);
    pub(crate) const LONG: FieldType = FieldType(4);
    pub(crate) const UNDEFINED: FieldType = FieldType(7);

    /// Bytes per value; `None` for a type TIFF 6.0 does not define.
    fn size(self) -> Option<u64> {
        match self.0 {
            1 | 2 | 6 | 7 => Some(1),
            3 | 8 => Some(2),
            4 | 9 | 11 | 13 => Some(4),
            5 | 10 | 12 => Some(8),
            _ => None,
        }
    }
}

/// The most entries read from one directory: real ARW directories hold a few dozen to about
/// two hundred; more is a damaged or hostile file.
const MAX_ENTRIES: u16 = 1024;

/// One directory entry, its value still in the file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub tag: u16,
    pub field_type: FieldType,
    pub count: u32,
    /// Where the value starts in the file (in the entry itself when it fits in four bytes).
    pub value_at: usize,
}

/// A file being read: its bytes and byte order.
#[derive(Clone, Copy)]
pub(crate) struct Tiff<'a> {
    pub bytes: &'a [u8],
    little_endian: bool,
    /// The file offset of `bytes[0]`: 0 for the whole file, the block's offset for a block
    /// read on its own (the SR2SubIFD, decrypted apart from the file).
    base: u64,
}

impl<'a> Tiff<'a> {
    /// Reads the header; returns the file and the offset of the first directory.
    pub(crate) fn open(bytes: &'a [u8]) -> Result<(Tiff<'a>, u32), ArwError> {
        let little_endian = match bytes.get(..4) {
            Some(b"II*\0") => true,
            Some(b"MM\0*") => false,
            _ => return Err(ArwError::NotTiff),
        };
        let tiff = Tiff {
            bytes,
            little_endian,
            base: 0,
        };
        let first = tiff.u32_at(4, "TIFF header")?;
        Ok((tiff, first))
    }

    /// A block of the same file held apart (`bytes` is what lies at file offset `base`), read
    /// with file offsets as its directories give them.
    pub(crate) fn block<'b>(&self, bytes: &'b [u8], base: u64) -> Tiff<'b> {
        Tiff {
            bytes,
            little_endian: self.little_endian,
            base,
        }
    }

    fn slice(&self, at: u64, len: u64, what: &'static str) -> Result<&'a [u8], ArwError> {
        let at = at.checked_sub(self.base).ok_or(ArwError::Truncated(what))?;
        let end = at.checked_add(len).ok_or(ArwError::Truncated(what))?;
        if end > self.bytes.len() as u64 {
            return Err(ArwError::Truncated(what));
        }
        self.bytes
            .get(at as usize..end as usize)
            .ok_or(ArwError::Truncated(what))
    }

    pub(crate) fn u16_at(&self, at: u64, what: &'static str) -> Result<u16, ArwError> {
        let b = self.slice(at, 2, what)?;
        let b = [b.first().copied(), b.get(1).copied()];
        match b {
            [Some(x), Some(y)] if self.little_endian => Ok(u16::from_le_bytes([x, y])),
            [Some(x), Some(y)] => Ok(u16::from_be_bytes([x, y])),
            _ => Err(ArwError::Truncated(what)),
        }
    }

    pub(crate) fn u32_at(&self, at: u64, what: &'static str) -> Result<u32, ArwError> {
        let b: [u8; 4] = self
            .slice(at, 4, what)?
            .try_into()
            .map_err(|_| ArwError::Truncated(what))?;
        Ok(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// The directory at `at`: its entries and the offset of the next directory (0 for none).
    pub(crate) fn directory(&self, at: u32) -> Result<(Vec<Entry>, u32), ArwError> {
        let at = u64::from(at);
        let n = self.u16_at(at, "IFD entry count")?;
        if n > MAX_ENTRIES {
            return Err(ArwError::Invalid(format!(
                "a directory with {n} entries (at most {MAX_ENTRIES} are read)"
            )));
        }
        let mut entries = Vec::with_capacity(usize::from(n));
        for i in 0..u64::from(n) {
            let e = at + 2 + 12 * i;
            let tag = self.u16_at(e, "IFD entry")?;
            let field_type = FieldType(self.u16_at(e + 2, "IFD entry")?);
            let count = self.u32_at(e + 4, "IFD entry")?;
            let Some(size) = field_type.size() else {
                // An unknown type: TIFF readers skip such entries.
                continue;
            };
            let len = size * u64::from(count);
            let value_at = if len <= 4 {
                e + 8
            } else {
                u64::from(self.u32_at(e + 8, "IFD entry")?)
            };
            // The value must lie in the file; an entry pointing outside it is skipped only if
            // nothing reads it, so refuse it when it is asked for (see `value`).
            entries.push(Entry {
                tag,
                field_type,
                count,
                value_at: usize::try_from(value_at).unwrap_or(usize::MAX),
            });
        }
        let next = self.u32_at(at + 2 + 12 * u64::from(n), "next IFD offset")?;
        Ok((entries, next))
    }

    /// The raw bytes of an entry's value.
    pub(crate) fn value(&self, e: &Entry) -> Result<&'a [u8], ArwError> {
        let size = e.field_type.size().unwrap_or(1);
        self.slice(e.value_at as u64, size * u64::from(e.count), "tag value")
    }

    /// An entry's values as unsigned integers (BYTE, SHORT, LONG or UNDEFINED bytes), at most
    /// `max` of them.
    pub(crate) fn uints(&self, e: &Entry, max: usize) -> Result<Vec<u32>, ArwError> {
        let bytes = self.value(e)?;
        let n = (e.count as usize).min(max);
        let mut out = Vec::with_capacity(n);
        match e.field_type {
            FieldType::BYTE | FieldType::UNDEFINED => {
                out.extend(bytes.iter().take(n).map(|&b| u32::from(b)));
            }
            FieldType::SHORT => {
                for i in 0..n {
                    out.push(u32::from(
                        self.u16_at(e.value_at as u64 + 2 * i as u64, "SHORT")?,
                    ));
                }
            }
            FieldType::LONG => {
                for i in 0..n {
                    out.push(self.u32_at(e.value_at as u64 + 4 * i as u64, "LONG")?);
                }
            }
            other => {
                return Err(ArwError::Invalid(format!(
                    "tag {:#06X} has type {}, where an integer is expected",
                    e.tag, other.0
                )));
            }
        }
        Ok(out)
    }

    /// An entry's first value as an unsigned integer.
    pub(crate) fn uint(&self, e: &Entry) -> Result<u32, ArwError> {
        self.uints(e, 1)?
            .first()
            .copied()
            .ok_or_else(|| ArwError::Invalid(format!("tag {:#06X} has no value", e.tag)))
    }

    /// An ASCII entry as text, up to its first NUL, invalid UTF-8 replaced.
    pub(crate) fn ascii(&self, e: &Entry) -> Result<String, ArwError> {
        let bytes = self.value(e)?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[]))
            .trim()
            .to_string())
    }
}

/// Finds the entry for `tag`.
pub(crate) fn find(entries: &[Entry], tag: u16) -> Option<&Entry> {
    entries.iter().find(|e| e.tag == tag)
}

/// A value to write.
#[derive(Clone, Debug)]
pub(crate) enum Field {
    Ascii(String),
    Short(Vec<u16>),
    Long(Vec<u32>),
    Byte(Vec<u8>),
    Undefined(Vec<u8>),
}

impl Field {
    fn encode(&self) -> (FieldType, u32, Vec<u8>) {
        match self {
            Field::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (FieldType::ASCII, b.len() as u32, b)
            }
            Field::Short(v) => (
                FieldType::SHORT,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Field::Long(v) => (
                FieldType::LONG,
                v.len() as u32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Field::Byte(v) => (FieldType::BYTE, v.len() as u32, v.clone()),
            Field::Undefined(v) => (FieldType::UNDEFINED, v.len() as u32, v.clone()),
        }
    }
}

/// The size in bytes of a little-endian directory of `entries` with its out-of-line values.
pub(crate) fn directory_len(entries: &[(u16, Field)]) -> usize {
    let data: usize = entries
        .iter()
        .map(|(_, f)| {
            let len = f.encode().2.len();
            if len <= 4 { 0 } else { len + len % 2 }
        })
        .sum();
    2 + 12 * entries.len() + 4 + data
}

/// A little-endian directory placed at file offset `at`, entries sorted by tag as TIFF asks,
/// each value longer than four bytes after the directory (word aligned), `next` the offset of
/// the next directory.
pub(crate) fn directory(entries: &[(u16, Field)], at: u32, next: u32) -> Vec<u8> {
    let mut sorted: Vec<&(u16, Field)> = entries.iter().collect();
    sorted.sort_by_key(|(tag, _)| *tag);
    let head = 2 + 12 * sorted.len() + 4;
    let mut out = Vec::with_capacity(directory_len(entries));
    let mut data = Vec::new();
    out.extend_from_slice(&(sorted.len() as u16).to_le_bytes());
    for (tag, field) in sorted {
        let (field_type, count, mut bytes) = field.encode();
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&field_type.0.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if bytes.len() <= 4 {
            bytes.resize(4, 0);
            out.extend_from_slice(&bytes);
        } else {
            let offset = at as usize + head + data.len();
            out.extend_from_slice(&(offset as u32).to_le_bytes());
            data.extend_from_slice(&bytes);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    out.extend_from_slice(&next.to_le_bytes());
    out.extend_from_slice(&data);
    out
}
