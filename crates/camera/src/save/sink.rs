//! Where a download's bytes go: the [`Sink`] trait, and the sinks that keep an object in memory
//! ([`MemorySink`]) or only count it ([`DiscardSink`]). The file on disk is
//! [`PartialFile`](super::PartialFile).

use std::io;
use std::path::PathBuf;

/// The destination of one object being downloaded.
///
/// The download calls [`reserve`](Sink::reserve) when the camera announced the size, then
/// [`write`](Sink::write) for every piece in order, then exactly one of:
/// - [`finish`](Sink::finish): every byte arrived;
/// - [`abandon`](Sink::abandon): what arrived is worthless, because the camera still has the
///   object and it is fetched again from its first byte into the same sink (after which
///   `reserve` and `write` are called again), or because the camera still has it and the
///   download gives up;
/// - [`keep_incomplete`](Sink::keep_incomplete): the object cannot be completed and the camera
///   no longer has it, so the bytes that arrived must not be lost.
///
/// An error from `write` stops the transfer at once (nothing more is read into memory) and the
/// object stays in the camera; so does an error from `finish` right after the transfer (the
/// connection is renewed before the camera sees another request).
pub trait Sink: Send {
    /// Appends the next piece of the object.
    fn write(&mut self, piece: &[u8]) -> io::Result<()>;

    /// Bytes accepted since the object started (or since the last [`abandon`](Sink::abandon)).
    fn written(&self) -> u64;

    /// The camera announced `size` bytes: make room, or refuse while the object is still in the
    /// camera. The default accepts any size.
    fn reserve(&mut self, _size: u64) -> io::Result<()> {
        Ok(())
    }

    /// Every byte arrived: complete the object (a file is flushed, checked against its
    /// announced size and moved into place).
    fn finish(&mut self) -> io::Result<()>;

    /// Forgets what arrived; the sink is then ready for the object's first byte again.
    fn abandon(&mut self) -> io::Result<()>;

    /// Keeps what arrived of an object that cannot be completed. Returns where the bytes went
    /// when that is a path; the default leaves them in the sink and returns `None`.
    fn keep_incomplete(&mut self) -> io::Result<Option<PathBuf>> {
        Ok(None)
    }
}

/// Keeps an object in memory, up to a limit given at creation: an object announced larger is
/// refused before any byte is fetched (it stays in the camera), and a write beyond the limit
/// fails, so a camera cannot make the host allocate more than the limit.
#[derive(Clone, Debug)]
pub struct MemorySink {
    bytes: Vec<u8>,
    limit: u64,
    finished: bool,
}

impl MemorySink {
    /// An empty sink that holds at most `limit` bytes.
    pub fn new(limit: u64) -> MemorySink {
        MemorySink {
            bytes: Vec::new(),
            limit,
            finished: false,
        }
    }

    /// The most bytes this sink holds.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The bytes so far (the whole object once [`is_finished`](MemorySink::is_finished)).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// True once every byte of the object arrived.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Takes the bytes out, leaving the sink empty and ready for another object.
    pub fn take(&mut self) -> Vec<u8> {
        self.finished = false;
        std::mem::take(&mut self.bytes)
    }

    /// The bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn too_large(&self, size: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "the object needs {size} bytes, more than this memory sink's limit of {} bytes",
                self.limit
            ),
        )
    }
}

impl Sink for MemorySink {
    fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        if self.finished {
            return Err(io::Error::other(
                "the object in this memory sink is already complete",
            ));
        }
        let after = self.written().saturating_add(piece.len() as u64);
        if after > self.limit {
            return Err(self.too_large(after));
        }
        self.bytes.extend_from_slice(piece);
        Ok(())
    }

    fn written(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn reserve(&mut self, size: u64) -> io::Result<()> {
        if size > self.limit {
            return Err(self.too_large(size));
        }
        let more = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.bytes.len());
        self.bytes
            .try_reserve_exact(more)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.finished = true;
        Ok(())
    }

    fn abandon(&mut self) -> io::Result<()> {
        self.bytes.clear();
        self.finished = false;
        Ok(())
    }
}

/// Counts an object's bytes and drops them: for measuring a link, or for taking an image out
/// of the camera's buffer without keeping it.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardSink {
    written: u64,
    finished: bool,
}

impl DiscardSink {
    /// A sink that has counted nothing.
    pub fn new() -> DiscardSink {
        DiscardSink::default()
    }

    /// True once every byte of the object arrived.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

impl Sink for DiscardSink {
    fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        self.written = self.written.saturating_add(piece.len() as u64);
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn finish(&mut self) -> io::Result<()> {
        self.finished = true;
        Ok(())
    }

    fn abandon(&mut self) -> io::Result<()> {
        *self = DiscardSink::default();
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn memory_keeps_the_bytes_in_order() {
        let mut m = MemorySink::new(10);
        m.reserve(6).unwrap();
        m.write(b"abc").unwrap();
        m.write(b"").unwrap();
        m.write(b"def").unwrap();
        assert_eq!(m.written(), 6);
        assert!(!m.is_finished());
        m.finish().unwrap();
        assert!(m.is_finished());
        assert_eq!(m.bytes(), b"abcdef");
        // Complete: nothing more is appended until the bytes are taken.
        assert!(m.write(b"g").is_err());
        assert_eq!(m.take(), b"abcdef");
        assert_eq!((m.written(), m.is_finished()), (0, false));
        m.write(b"g").unwrap();
        assert_eq!(m.into_bytes(), b"g");
    }

    #[test]
    fn memory_refuses_more_than_its_limit() {
        let mut m = MemorySink::new(5);
        assert_eq!(m.limit(), 5);
        // Announced too large: refused before anything arrives.
        let e = m.reserve(6).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("limit of 5 bytes"), "{e}");
        // A camera that announces nothing, or less than it sends, is stopped by the writes.
        m.write(b"abcde").unwrap();
        let e = m.write(b"f").unwrap_err();
        assert!(e.to_string().contains("needs 6 bytes"), "{e}");
        assert_eq!(m.bytes(), b"abcde");
        // A size near u64::MAX neither overflows nor allocates.
        assert!(MemorySink::new(u64::MAX).reserve(u64::MAX).is_err());
    }

    #[test]
    fn memory_abandon_starts_over() {
        let mut m = MemorySink::new(4);
        m.write(b"abcd").unwrap();
        m.abandon().unwrap();
        assert_eq!(m.written(), 0);
        m.write(b"wxyz").unwrap();
        m.finish().unwrap();
        assert_eq!(m.keep_incomplete().unwrap(), None);
        assert_eq!(m.bytes(), b"wxyz");
    }

    #[test]
    fn discard_counts_and_forgets() {
        let mut d = DiscardSink::new();
        d.reserve(u64::MAX).unwrap();
        d.write(&[0; 1000]).unwrap();
        d.write(&[1; 24]).unwrap();
        assert_eq!(d.written(), 1024);
        d.abandon().unwrap();
        assert_eq!(d.written(), 0);
        d.write(&[2; 7]).unwrap();
        d.finish().unwrap();
        assert!(d.is_finished());
        assert_eq!(d.written(), 7);
    }
}
