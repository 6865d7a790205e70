//! The streamed atomic file: a hidden temporary file written through a bounded buffer (hashed
//! on a thread of its own), renamed into place without overwriting.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::sanitize::split_extension;
use super::{SaveError, SavedFile, Sink, io_error};

/// Collision suffixes tried before giving up.
pub(super) const MAX_SUFFIXES: u32 = 10_000;
/// Write buffer of a file being saved.
pub(super) const BUFFER: usize = 1 << 20;
/// Appended to the name of a file whose size differs from the announced one.
pub(super) const MISMATCH_SUFFIX: &str = ".size-mismatch";
/// Numbers the temporary files of this process.
pub(super) static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a new hidden temporary file in `folder`.
pub(super) fn create_temp(folder: &Path) -> Result<(PathBuf, File), SaveError> {
    let pid = std::process::id();
    let mut tries = 0;
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = folder.join(format!(".sonyctl-{pid}-{n}.part"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            // A leftover of an earlier process with the same id.
            Err(e) if e.kind() == ErrorKind::AlreadyExists && tries < 100 => tries += 1,
            Err(e) => return Err(io_error(&path, e)),
        }
    }
}

/// Gives the complete file `temp` the name `target` (in the same folder), never replacing
/// anything already there: a hard link to `target`, which fails if the name is taken, then
/// `temp` removed. Where the file system has no hard links (FAT, some network shares), `temp`
/// is renamed after checking that the name is free (a file appearing between the check and the
/// rename is the one case left). An error of kind [`ErrorKind::AlreadyExists`] when `target`
/// is taken (a dangling symbolic link included); `temp` is then left as it was.
pub fn place_without_overwriting(temp: &Path, target: &Path) -> io::Result<()> {
    place_new(temp, target, &mut true)
}

/// [`place_without_overwriting`]; `links` turns false once the file system refused a hard
/// link, so a caller trying several names does not try one for each.
fn place_new(temp: &Path, target: &Path, links: &mut bool) -> io::Result<()> {
    if *links {
        match fs::hard_link(temp, target) {
            Ok(()) => {
                if let Err(e) = fs::remove_file(temp) {
                    tracing::warn!("cannot remove {}: {e}", temp.display());
                }
                return Ok(());
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(e),
            Err(e) => {
                tracing::debug!("hard link failed ({e}); renaming instead");
                *links = false;
            }
        }
    }
    // `symlink_metadata` also sees dangling symbolic links.
    if fs::symlink_metadata(target).is_ok() {
        return Err(io::Error::new(
            ErrorKind::AlreadyExists,
            format!("{} exists", target.display()),
        ));
    }
    fs::rename(temp, target)
}

/// A file being written; dropped without [`finish`](PartialFile::finish) it removes its
/// temporary file.
pub struct PartialFile {
    pub(super) writer: Option<Worker>,
    pub(super) temp: PathBuf,
    pub(super) folder: PathBuf,
    pub(super) file_name: String,
    pub(super) sha256: Option<String>,
    pub(super) written: u64,
    pub(super) expected: Option<u64>,
    pub(super) format: u16,
    pub(super) camera_name: String,
    pub(super) fsync: bool,
    pub(super) hash: bool,
    pub(super) done: bool,
    /// Set by [`Sink::finish`], which cannot return it.
    pub(super) saved: Option<SavedFile>,
}

impl std::fmt::Debug for PartialFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialFile")
            .field("temp", &self.temp)
            .field("folder", &self.folder)
            .field("file_name", &self.file_name)
            .field("written", &self.written)
            .field("expected", &self.expected)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl PartialFile {
    /// Appends `bytes` (buffered). The piece that completes the announced size is not
    /// buffered: it returns once every byte is written (and synced if asked), so that a disk
    /// error shows while the camera still holds the image.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SaveError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(io_error(
                &self.temp,
                io::Error::other("the file is already closed"),
            ));
        };
        let before = self.written;
        let after = before.saturating_add(bytes.len() as u64);
        let last = self
            .expected
            .is_some_and(|size| before < size && after >= size);
        if writer.send(bytes).is_err() || (last && writer.flush().is_err()) {
            // The writer stopped on an error: say which.
            let error = self
                .writer
                .take()
                .map(Worker::join)
                .and_then(|(r, _)| r.err())
                .unwrap_or_else(|| io::Error::other("the writer stopped"));
            return Err(io_error(&self.temp, error));
        }
        self.written = after;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The temporary file's path (hidden, in the destination folder).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Waits for every byte to be written, notes the hash, and trims the file to what arrived
    /// (the reserved room may be larger).
    fn close(&mut self) -> Result<File, SaveError> {
        let Some(writer) = self.writer.take() else {
            return Err(io_error(
                &self.temp,
                io::Error::other("the file is already closed"),
            ));
        };
        let (file, sha256) = writer.join();
        self.sha256 = Some(sha256);
        let file = file.map_err(|e| io_error(&self.temp, e))?;
        file.set_len(self.written)
            .map_err(|e| io_error(&self.temp, e))?;
        Ok(file)
    }

    /// Keeps what arrived of an image that could not be completed, under the final name plus
    /// `.incomplete` (never overwriting), and returns where: bytes the camera may no longer
    /// have are never deleted.
    pub fn keep_incomplete(mut self) -> Result<PathBuf, SaveError> {
        self.keep_partial()
    }

    fn keep_partial(&mut self) -> Result<PathBuf, SaveError> {
        drop(self.close()?);
        let file_name = self.file_name.clone();
        self.place(|n| format!("{}.incomplete", with_suffix(&file_name, n)))
    }

    /// Flushes (and fsyncs if asked), checks the size against the announced one when known,
    /// and renames into place without overwriting: `DSC00001.JPG`, then `DSC00001-1.JPG`,
    /// `DSC00001-2.JPG`, … (`README-1` for a name without extension). On a size mismatch the
    /// data is kept under the final name plus `.size-mismatch` (never overwriting either) and
    /// [`SaveError::SizeMismatch`] is returned. If writing or syncing fails here, what the
    /// file holds is kept under the final name plus `.incomplete` when possible.
    pub fn finish(mut self) -> Result<SavedFile, SaveError> {
        self.complete()
    }

    /// The file put into place by [`Sink::finish`].
    pub fn saved(&self) -> Option<&SavedFile> {
        self.saved.as_ref()
    }

    fn complete(&mut self) -> Result<SavedFile, SaveError> {
        let closed = self.close().and_then(|file| {
            if self.fsync {
                file.sync_all().map_err(|e| io_error(&self.temp, e))?;
            }
            Ok(())
        });
        if let Err(e) = closed {
            return Err(self.kept_after(e));
        }
        let sha256 = self.sha256.take().unwrap_or_default();
        let file_name = self.file_name.clone();
        match self.expected {
            Some(expected) if expected != self.written => {
                let kept =
                    self.place(|n| format!("{}{MISMATCH_SUFFIX}", with_suffix(&file_name, n)))?;
                Err(SaveError::SizeMismatch {
                    expected,
                    got: self.written,
                    kept,
                })
            }
            _ => {
                let path = match self.place(|n| with_suffix(&file_name, n)) {
                    Ok(p) => p,
                    Err(e) => {
                        // Every byte arrived: never delete them, say where they are.
                        self.done = true;
                        return Err(io_error(
                            &self.temp,
                            io::Error::other(format!(
                                "{e}; the complete image is kept as {}",
                                self.temp.display()
                            )),
                        ));
                    }
                };
                Ok(SavedFile {
                    path,
                    size: self.written,
                    sha256,
                    format: self.format,
                    camera_name: std::mem::take(&mut self.camera_name),
                })
            }
        }
    }

    /// `error` (writing, trimming or syncing failed at the end), after keeping what is on disk
    /// under the final name plus `.incomplete`: the bytes are never deleted silently.
    fn kept_after(&mut self, error: SaveError) -> SaveError {
        let SaveError::Io { source, .. } = &error else {
            return error;
        };
        let file_name = self.file_name.clone();
        match self.place(|n| format!("{}.incomplete", with_suffix(&file_name, n))) {
            Ok(kept) => io_error(
                &self.temp,
                io::Error::new(
                    source.kind(),
                    format!("{source}; what was written is kept as {}", kept.display()),
                ),
            ),
            Err(e) => {
                tracing::warn!("cannot keep {}: {e}", self.temp.display());
                error
            }
        }
    }

    /// Stops the writer and hands its file to `job` (nothing may have been written since the
    /// last start, or everything is forgotten: `job` truncates), then starts writing again
    /// from the file's first byte.
    fn rewrite(&mut self, job: impl FnOnce(&mut File) -> io::Result<()>) -> Result<(), SaveError> {
        let Some(writer) = self.writer.take() else {
            return Err(io_error(
                &self.temp,
                io::Error::other("the file is already closed"),
            ));
        };
        let mut file = writer.join().0.map_err(|e| io_error(&self.temp, e))?;
        job(&mut file).map_err(|e| io_error(&self.temp, e))?;
        self.writer = Some(Worker::start(file, self.hash, self.fsync));
        Ok(())
    }

    /// Moves the temporary file to the first free name `name(0)`, `name(1)`, … in its folder.
    fn place(&mut self, name: impl Fn(u32) -> String) -> Result<PathBuf, SaveError> {
        let mut links = true;
        for n in 0..MAX_SUFFIXES {
            let candidate = self.folder.join(name(n));
            match place_new(&self.temp, &candidate, &mut links) {
                Ok(()) => {
                    self.done = true;
                    self.sync_folder();
                    return Ok(candidate);
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error(&candidate, e)),
            }
        }
        Err(io_error(
            &self.folder.join(name(0)),
            io::Error::new(
                ErrorKind::AlreadyExists,
                format!("no free name after {MAX_SUFFIXES} tries"),
            ),
        ))
    }

    /// Fsyncs the folder (so that the new name is durable) if asked; best effort.
    fn sync_folder(&self) {
        if !self.fsync {
            return;
        }
        #[cfg(unix)]
        if let Err(e) = File::open(&self.folder).and_then(|d| d.sync_all()) {
            tracing::debug!("cannot fsync {}: {e}", self.folder.display());
        }
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(writer) = self.writer.take() {
            drop(writer.join());
        }
        let _ = fs::remove_file(&self.temp);
    }
}

/// Writes a download on a thread of its own, hashing it there when asked, so that receiving
/// the next piece from the camera overlaps with writing (and hashing) the last ones. Pieces are
/// gathered into buffers of [`BUFFER`] bytes that go back and forth between the two threads:
/// one copy per byte, no allocation per piece, and at most [`QUEUE`] buffers waiting, one being
/// written and one being filled (bounded memory).
pub(super) struct Worker {
    filling: Vec<u8>,
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// Buffers the thread has written, for reuse.
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    /// One message per [`flush`](Worker::flush) the thread completed.
    flushed: std::sync::mpsc::Receiver<()>,
    handle: std::thread::JoinHandle<(io::Result<File>, String)>,
}

/// Buffers waiting for the writer thread.
pub(super) const QUEUE: usize = 4;

impl Worker {
    /// `sync`: a [`flush`](Worker::flush) also syncs the file's data to the disk.
    pub(super) fn start(file: File, hash: bool, sync: bool) -> Worker {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUE);
        // Never full: fewer than QUEUE + 3 buffers exist at any time.
        let (back, empty) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUE + 3);
        // Never full: the other side waits for each message before the next flush.
        let (done, flushed) = std::sync::mpsc::sync_channel::<()>(1);
        let handle = std::thread::spawn(move || {
            let mut file = file;
            let mut hasher = hash.then(Sha256::new);
            for mut buffer in rx {
                // Full buffers only are handed over; an empty one asks for a flush.
                if buffer.is_empty() {
                    if let Err(e) = if sync { file.sync_data() } else { Ok(()) } {
                        return (Err(e), String::new());
                    }
                    let _ = done.send(());
                    continue;
                }
                if let Some(h) = hasher.as_mut() {
                    h.update(&buffer);
                }
                if let Err(e) = file.write_all(&buffer) {
                    return (Err(e), String::new());
                }
                buffer.clear();
                // The other side may be gone or have enough: then the buffer is freed here.
                let _ = back.try_send(buffer);
            }
            let sha256 = hasher.map(|h| hex(&h.finalize())).unwrap_or_default();
            (Ok(file), sha256)
        });
        Worker {
            filling: Vec::with_capacity(BUFFER),
            tx,
            empty,
            flushed,
            handle,
        }
    }

    /// Hands over what is being filled and waits until the thread wrote it; `Err` once
    /// writing has failed (`join` says why).
    fn flush(&mut self) -> Result<(), ()> {
        if !self.filling.is_empty() {
            self.hand_over()?;
        }
        self.tx.send(Vec::new()).map_err(|_| ())?;
        self.flushed.recv().map_err(|_| ())
    }

    /// Hands over a piece; `Err` once writing has failed (`join` says why).
    fn send(&mut self, mut bytes: &[u8]) -> Result<(), ()> {
        while !bytes.is_empty() {
            let room = BUFFER.saturating_sub(self.filling.len());
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.filling.extend_from_slice(now);
            bytes = rest;
            if self.filling.len() >= BUFFER {
                self.hand_over()?;
            }
        }
        Ok(())
    }

    /// Sends the buffer being filled to the thread and takes an empty one.
    fn hand_over(&mut self) -> Result<(), ()> {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER));
        let full = std::mem::replace(&mut self.filling, next);
        self.tx.send(full).map_err(|_| ())
    }

    /// Waits for every piece to be written: the file and the SHA-256 of the bytes (empty
    /// without hashing).
    fn join(mut self) -> (io::Result<File>, String) {
        let sent = if self.filling.is_empty() {
            Ok(())
        } else {
            let last = std::mem::take(&mut self.filling);
            self.tx.send(last).map_err(|_| ())
        };
        drop(self.tx);
        let (file, sha256) = self.handle.join().unwrap_or_else(|_| {
            (
                Err(io::Error::other("the writer thread failed")),
                String::new(),
            )
        });
        match (file, sent) {
            (Err(e), _) => (Err(e), sha256),
            (Ok(_), Err(())) => (
                Err(io::Error::other("the writer thread stopped early")),
                String::new(),
            ),
            (Ok(f), Ok(())) => (Ok(f), sha256),
        }
    }
}

impl Sink for PartialFile {
    fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        PartialFile::write(self, piece).map_err(into_io)
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn reserve(&mut self, size: u64) -> io::Result<()> {
        if self.written > 0 {
            return Err(io::Error::other("room is reserved before the first byte"));
        }
        self.expected = Some(size);
        let temp = self.temp.clone();
        self.rewrite(|file| reserve_room(file, &temp, size).map_err(into_io))
            .map_err(into_io)
    }

    fn finish(&mut self) -> io::Result<()> {
        let saved = self.complete().map_err(into_io)?;
        self.saved = Some(saved);
        Ok(())
    }

    fn abandon(&mut self) -> io::Result<()> {
        let (temp, expected) = (self.temp.clone(), self.expected);
        self.rewrite(|file| {
            file.set_len(0)?;
            file.rewind()?;
            match expected {
                Some(size) => reserve_room(file, &temp, size).map_err(into_io),
                None => Ok(()),
            }
        })
        .map_err(into_io)?;
        self.written = 0;
        self.sha256 = None;
        Ok(())
    }

    fn keep_incomplete(&mut self) -> io::Result<Option<PathBuf>> {
        self.keep_partial().map(Some).map_err(into_io)
    }
}

/// Reserves `size` bytes for `file` (at `path`): a full disk is found before the camera hands
/// the image over (it stays in the camera), not halfway through writing it. File systems that
/// cannot reserve are not an error.
pub(super) fn reserve_room(file: &File, path: &Path, size: u64) -> Result<(), SaveError> {
    if size == 0 {
        return Ok(());
    }
    match fs4::FileExt::allocate(file, size) {
        Err(e) if !matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::InvalidInput) => {
            Err(io_error(
                path,
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot reserve {size} bytes for the image ({e}); it stays in the camera"
                    ),
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A save error as the [`Sink`] trait's error, kept whole (kind and all) so that
/// [`from_io`] gets it back.
pub(crate) fn into_io(e: SaveError) -> io::Error {
    let kind = match &e {
        SaveError::Io { source, .. } => source.kind(),
        _ => ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// The save error inside a sink's error, or the sink's error itself.
pub(crate) fn from_io(e: io::Error) -> SaveError {
    if !e.get_ref().is_some_and(|inner| inner.is::<SaveError>()) {
        return SaveError::Sink(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<SaveError>()) {
        Some(Ok(save)) => *save,
        _ => SaveError::Sink(io::Error::other("the download's destination failed")),
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 0x0F));
    }
    s
}

/// `name` with collision suffix `n` before its extension (`n` 0: unchanged).
pub(super) fn with_suffix(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match split_extension(name) {
        Some((stem, ext)) => format!("{stem}-{n}.{ext}"),
        None => format!("{name}-{n}"),
    }
}
