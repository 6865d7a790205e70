//! The streamed atomic file: a hidden temporary file written through a bounded buffer (hashed
//! on a thread of its own), renamed into place without overwriting.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::sanitize::split_extension;
use super::{SaveError, SavedFile, io_error};

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
    pub(super) done: bool,
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
    /// Appends `bytes` (buffered).
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), SaveError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(io_error(
                &self.temp,
                io::Error::other("the file is already closed"),
            ));
        };
        if writer.send(bytes).is_err() {
            // The writer stopped on an error: say which.
            let error = self
                .writer
                .take()
                .map(Worker::join)
                .and_then(|(r, _)| r.err())
                .unwrap_or_else(|| io::Error::other("the writer stopped"));
            return Err(io_error(&self.temp, error));
        }
        self.written = self.written.saturating_add(bytes.len() as u64);
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
        drop(self.close()?);
        let file_name = self.file_name.clone();
        self.place(|n| format!("{}.incomplete", with_suffix(&file_name, n)))
    }

    /// Flushes (and fsyncs if asked), checks the size against the announced one when known,
    /// and renames into place without overwriting: `DSC00001.JPG`, then `DSC00001-1.JPG`,
    /// `DSC00001-2.JPG`, … (`README-1` for a name without extension). On a size mismatch the
    /// data is kept under the final name plus `.size-mismatch` (never overwriting either) and
    /// [`SaveError::SizeMismatch`] is returned.
    pub fn finish(mut self) -> Result<SavedFile, SaveError> {
        let file = self.close()?;
        if self.fsync {
            file.sync_all().map_err(|e| io_error(&self.temp, e))?;
        }
        drop(file);
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

    /// Moves the temporary file to the first free name `name(0)`, `name(1)`, … in its folder.
    fn place(&mut self, name: impl Fn(u32) -> String) -> Result<PathBuf, SaveError> {
        let mut links = true;
        for n in 0..MAX_SUFFIXES {
            let candidate = self.folder.join(name(n));
            if links {
                match fs::hard_link(&self.temp, &candidate) {
                    Ok(()) => {
                        self.done = true;
                        if let Err(e) = fs::remove_file(&self.temp) {
                            tracing::warn!("cannot remove {}: {e}", self.temp.display());
                        }
                        self.sync_folder();
                        return Ok(candidate);
                    }
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                    // No hard links here (FAT, some network shares): rename if free.
                    Err(e) => {
                        tracing::debug!("hard link failed ({e}); renaming instead");
                        links = false;
                    }
                }
            }
            // `symlink_metadata` also sees dangling symbolic links.
            if fs::symlink_metadata(&candidate).is_ok() {
                continue;
            }
            fs::rename(&self.temp, &candidate).map_err(|e| io_error(&candidate, e))?;
            self.done = true;
            self.sync_folder();
            return Ok(candidate);
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

/// Writes a download. With hashing, the hash and the writes run on a thread of their own, so
/// receiving the next piece from the camera overlaps with hashing the last one (at most a few
/// pieces wait in between: bounded memory). Without, pieces go straight to the file, with no
/// copy.
pub(super) enum Worker {
    Inline {
        out: BufWriter<File>,
        error: Option<io::Error>,
    },
    Threaded {
        tx: std::sync::mpsc::SyncSender<Vec<u8>>,
        handle: std::thread::JoinHandle<(io::Result<File>, String)>,
    },
}

/// Pieces waiting for the writer thread.
pub(super) const QUEUE: usize = 4;

impl Worker {
    pub(super) fn start(file: File, hash: bool) -> Worker {
        if !hash {
            return Worker::Inline {
                out: BufWriter::with_capacity(BUFFER, file),
                error: None,
            };
        }
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(QUEUE);
        let handle = std::thread::spawn(move || {
            let mut out = BufWriter::with_capacity(BUFFER, file);
            let mut hasher = Sha256::new();
            for piece in rx {
                hasher.update(&piece);
                if let Err(e) = out.write_all(&piece) {
                    return (Err(e), String::new());
                }
            }
            let file = out.into_inner().map_err(|e| e.into_error());
            (file, hex(&hasher.finalize()))
        });
        Worker::Threaded { tx, handle }
    }

    /// Hands over a piece; `Err` once writing has failed (`join` says why).
    fn send(&mut self, bytes: &[u8]) -> Result<(), ()> {
        match self {
            Worker::Inline { out, error } => {
                if error.is_some() {
                    return Err(());
                }
                out.write_all(bytes).map_err(|e| {
                    *error = Some(e);
                })
            }
            Worker::Threaded { tx, .. } => tx.send(bytes.to_vec()).map_err(|_| ()),
        }
    }

    /// Waits for every piece to be written: the file (flushed) and the SHA-256 of the bytes
    /// (empty without hashing).
    fn join(self) -> (io::Result<File>, String) {
        match self {
            Worker::Inline { out, error } => match error {
                Some(e) => (Err(e), String::new()),
                None => (out.into_inner().map_err(|e| e.into_error()), String::new()),
            },
            Worker::Threaded { tx, handle } => {
                drop(tx);
                handle.join().unwrap_or_else(|_| {
                    (
                        Err(io::Error::other("the writer thread failed")),
                        String::new(),
                    )
                })
            }
        }
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
