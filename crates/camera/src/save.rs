//! Saving downloaded images.
//!
//! An image is streamed to a hidden temporary file in its destination folder and renamed into
//! place when complete, never overwriting an existing file (`DSC00001.JPG`, then
//! `DSC00001-1.JPG`, `DSC00001-2.JPG`, …).
//!
//! Everything the camera says (file names, sizes, dates, model) is untrusted: names are
//! sanitized ([`sanitize_file_name`]), every path is built from normal components only and
//! checked to stay inside the output folder, writes are streamed through a bounded buffer, and
//! nothing panics on any input.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Longest sanitized camera file name, in bytes.
const MAX_NAME: usize = 200;
/// Longest sanitized model string, in bytes.
const MAX_MODEL: usize = 64;
/// Longest path component produced by a template, in bytes; leaves room for a collision
/// suffix (`-9999`) and `.size-mismatch` under the usual 255-byte limit.
const MAX_COMPONENT: usize = 230;
/// Collision suffixes tried before giving up.
const MAX_SUFFIXES: u32 = 10_000;
/// Write buffer of a file being saved.
const BUFFER: usize = 1 << 20;
/// Appended to the name of a file whose size differs from the announced one.
const MISMATCH_SUFFIX: &str = ".size-mismatch";
/// The placeholders a `--name` template may use, for error messages.
const PLACEHOLDERS: &str = "{model} {seq} {date} {time} {ext} {name}";

/// Numbers the temporary files of this process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What the camera said about an object (from its ObjectInfo) plus the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The camera's file name (untrusted).
    pub filename: String,
    /// The PTP object format (0x3801 JPEG, 0xB101 ARW, 0xB110 HEIF, 0xB301 MPO, 0xB982 MP4, …).
    pub format: u16,
    /// ObjectCompressedSize; `None` when unknown (the camera sent 0xFFFFFFFF: 4 GiB or more).
    pub size: Option<u64>,
    /// The PTP capture date, `YYYYMMDDThhmmss` possibly followed by `.s` and/or a zone
    /// (untrusted, may be empty).
    pub capture_date: String,
    /// The camera model (untrusted).
    pub model: String,
}

/// A file saved completely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFile {
    /// The final path (inside the output folder).
    pub path: PathBuf,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex (empty if the saver was told not to hash).
    pub sha256: String,
    /// The PTP object format.
    pub format: u16,
    /// The camera's original file name, as sent (for logs; callers escape it).
    pub camera_name: String,
}

/// Why a file could not be saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// I/O on `path` failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A bad `--name` template (unknown placeholder, absolute path, `..`, empty component,
    /// unbalanced brace); the message explains and lists the placeholders.
    #[error("{0}")]
    Template(String),
    /// The camera sent a different number of bytes than its ObjectInfo announced; the bytes
    /// are kept at `kept` (never deleted: they may be the user's only copy).
    #[error(
        "the camera announced {expected} bytes but sent {got}; the data is kept at {}",
        kept.display()
    )]
    SizeMismatch {
        /// The size announced in the ObjectInfo.
        expected: u64,
        /// The bytes received.
        got: u64,
        /// Where the received bytes are.
        kept: PathBuf,
    },
}

fn io_error(path: &Path, source: io::Error) -> SaveError {
    SaveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A `--name` placeholder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    Model,
    Seq,
    Date,
    Time,
    Ext,
    Name,
}

impl Placeholder {
    fn parse(name: &str) -> Option<Placeholder> {
        Some(match name {
            "model" => Placeholder::Model,
            "seq" => Placeholder::Seq,
            "date" => Placeholder::Date,
            "time" => Placeholder::Time,
            "ext" => Placeholder::Ext,
            "name" => Placeholder::Name,
            _ => return None,
        })
    }
}

/// A piece of a template path component.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Value(Placeholder),
}

/// A parsed `--name` template: path components, each a list of pieces.
type Template = Vec<Vec<Piece>>;

fn template_error(template: &str, reason: &str) -> SaveError {
    SaveError::Template(format!(
        "bad --name template {template:?}: {reason}; use the placeholders {PLACEHOLDERS} and \
         '/' between subfolder names (a relative path without empty, '.' or '..' parts)"
    ))
}

fn parse_template(template: &str) -> Result<Template, SaveError> {
    let err = |reason: &str| Err(template_error(template, reason));
    if template.is_empty() {
        return err("it is empty");
    }
    if template.starts_with('/') {
        return err("it is an absolute path");
    }
    if template.contains('\\') {
        return err("it contains a backslash");
    }
    if template.chars().any(is_unwanted_char) {
        return err("it contains a control character");
    }
    let mut components: Template = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut literal = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return err("a '{' is not closed by '}'"),
                        Some(c) => name.push(c),
                    }
                }
                let Some(p) = Placeholder::parse(&name) else {
                    return err(&format!("unknown placeholder {{{name}}}"));
                };
                if !literal.is_empty() {
                    current.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                current.push(Piece::Value(p));
            }
            '}' => return err("a '}' has no matching '{'"),
            '/' => {
                if !literal.is_empty() {
                    current.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                components.push(std::mem::take(&mut current));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        current.push(Piece::Literal(literal));
    }
    components.push(current);
    for component in &components {
        if component.is_empty() {
            return err("it has an empty path component (\"//\" or a '/' at the end)");
        }
        // With every placeholder standing for a plain name, the component must be one plain
        // name too (this also rejects "." and "..", and drive prefixes on Windows).
        let sample: String = component
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.as_str(),
                Piece::Value(_) => "x",
            })
            .collect();
        if sample == "." || sample == ".." {
            return err(&format!("it has a {sample:?} path component"));
        }
        if !is_single_normal(&sample) {
            return err(&format!("{sample:?} is not a plain file or folder name"));
        }
    }
    Ok(components)
}

/// True if `s` is exactly one normal path component.
fn is_single_normal(s: &str) -> bool {
    let mut parts = Path::new(s).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(n)), None) if n == s
    )
}

/// Where and how files are saved.
#[derive(Clone, Debug)]
pub struct Saver {
    dir: PathBuf,
    template: Option<Template>,
    fsync: bool,
    hash: bool,
}

impl Saver {
    /// `dir` is created with any missing parents. `template` (the `--name` option) may use
    /// `{model}` `{seq}` `{date}` `{time}` `{ext}` `{name}` and `/` between subfolders; `None`
    /// keeps the camera's file name.
    pub fn new(dir: impl Into<PathBuf>, template: Option<&str>) -> Result<Saver, SaveError> {
        let dir = dir.into();
        let template = template.map(parse_template).transpose()?;
        fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(Saver {
            dir,
            template,
            fsync: false,
            hash: true,
        })
    }

    /// Fsync each file (and its folder) when it is put into place. Default off.
    pub fn with_fsync(self, on: bool) -> Saver {
        Saver { fsync: on, ..self }
    }

    /// Compute each file's SHA-256 while writing it (the default). Off, downloads are limited
    /// by the link and the disk instead of by hashing.
    pub fn with_sha256(self, on: bool) -> Saver {
        Saver { hash: on, ..self }
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The name (relative path under [`dir`](Saver::dir)) a file would get before collision
    /// suffixes; for tests and previews. It is made of normal components only.
    pub fn planned_name(&self, meta: &ObjectMeta, seq: u32) -> PathBuf {
        self.plan(meta, seq).iter().collect()
    }

    /// The path components of a file's name, each a single normal component.
    fn plan(&self, meta: &ObjectMeta, seq: u32) -> Vec<String> {
        let seq_text = format!("{seq:04}");
        let sanitized = sanitize_file_name(&meta.filename);
        let Some(template) = &self.template else {
            let name =
                sanitized.unwrap_or_else(|| format!("{seq_text}.{}", extension_for(meta.format)));
            return vec![safe_component(name, &seq_text)];
        };
        let (stem, ext) = match &sanitized {
            Some(name) => match split_extension(name) {
                Some((stem, ext)) if is_plain_extension(ext) => (stem.to_owned(), ext.to_owned()),
                _ => (name.clone(), extension_for(meta.format).to_owned()),
            },
            None => (seq_text.clone(), extension_for(meta.format).to_owned()),
        };
        let mut when: Option<(String, String)> = None;
        let mut date_time = || {
            when.get_or_insert_with(|| {
                let t = parse_ptp_date(&meta.capture_date).unwrap_or_else(host_utc_now);
                (
                    format!("{:04}-{:02}-{:02}", t.year, t.month, t.day),
                    format!("{:02}{:02}{:02}", t.hour, t.minute, t.second),
                )
            })
            .clone()
        };
        let mut model: Option<String> = None;
        template
            .iter()
            .map(|component| {
                let mut text = String::new();
                for piece in component {
                    match piece {
                        Piece::Literal(s) => text.push_str(s),
                        Piece::Value(Placeholder::Seq) => text.push_str(&seq_text),
                        Piece::Value(Placeholder::Ext) => text.push_str(&ext),
                        Piece::Value(Placeholder::Name) => text.push_str(&stem),
                        Piece::Value(Placeholder::Date) => text.push_str(&date_time().0),
                        Piece::Value(Placeholder::Time) => text.push_str(&date_time().1),
                        Piece::Value(Placeholder::Model) => {
                            text.push_str(model.get_or_insert_with(|| sanitize_model(&meta.model)))
                        }
                    }
                }
                safe_component(text, &seq_text)
            })
            .collect()
    }

    /// Starts a file for object `meta`, shot number `seq` (the files of one shot, e.g.
    /// RAW+JPEG, share a seq). Creates the file's subfolders and its temporary file.
    pub fn begin(&self, meta: &ObjectMeta, seq: u32) -> Result<PartialFile, SaveError> {
        let mut components = self.plan(meta, seq);
        let file_name = components.pop().unwrap_or_else(|| format!("{seq:04}"));
        let mut folder = self.dir.clone();
        for c in &components {
            folder.push(c);
        }
        // Belt and braces: the names were built to be plain, but check rather than trust.
        let relative: PathBuf = components.iter().chain([&file_name]).collect();
        let inside = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
            && relative.components().count() == components.len() + 1
            && self.dir.join(&relative).starts_with(&self.dir);
        if !inside {
            return Err(io_error(
                &self.dir.join(&relative),
                io::Error::new(ErrorKind::InvalidInput, "unsafe file name"),
            ));
        }
        fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
        let (temp, file) = create_temp(&folder)?;
        if let Some(size) = meta.size.filter(|&s| s > 0) {
            // Reserve the room now: a full disk is found before the camera hands the image
            // over (it stays in the camera), not halfway through writing it.
            if let Err(e) = fs4::FileExt::allocate(&file, size) {
                if !matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::InvalidInput) {
                    drop(file);
                    let _ = fs::remove_file(&temp);
                    return Err(io_error(
                        &temp,
                        io::Error::new(
                            e.kind(),
                            format!(
                                "cannot reserve {size} bytes for the image ({e}); it stays in \
                                 the camera"
                            ),
                        ),
                    ));
                }
            }
        }
        Ok(PartialFile {
            writer: Some(Worker::start(file, self.hash)),
            sha256: None,
            temp,
            folder,
            file_name,
            written: 0,
            expected: meta.size,
            format: meta.format,
            camera_name: meta.filename.clone(),
            fsync: self.fsync,
            done: false,
        })
    }
}

/// Creates a new hidden temporary file in `folder`.
fn create_temp(folder: &Path) -> Result<(PathBuf, File), SaveError> {
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
    writer: Option<Worker>,
    temp: PathBuf,
    folder: PathBuf,
    file_name: String,
    sha256: Option<String>,
    written: u64,
    expected: Option<u64>,
    format: u16,
    camera_name: String,
    fsync: bool,
    done: bool,
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
enum Worker {
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
const QUEUE: usize = 4;

impl Worker {
    fn start(file: File, hash: bool) -> Worker {
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

fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 0x0F));
    }
    s
}

/// `name` with collision suffix `n` before its extension (`n` 0: unchanged).
fn with_suffix(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match split_extension(name) {
        Some((stem, ext)) => format!("{stem}-{n}.{ext}"),
        None => format!("{name}-{n}"),
    }
}

/// Splits `name` at its last dot into a non-empty stem and a non-empty extension.
fn split_extension(name: &str) -> Option<(&str, &str)> {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Some((stem, ext)),
        _ => None,
    }
}

/// 1 to 5 ASCII letters and digits.
fn is_plain_extension(ext: &str) -> bool {
    (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A template component after substitution, made a single safe path component.
fn safe_component(text: String, seq: &str) -> String {
    let mut text = truncate_keeping_extension(text, MAX_COMPONENT);
    if text.is_empty() {
        text = seq.to_owned();
    }
    if text.chars().all(|c| c == '.') {
        text = "_".to_owned();
    }
    if is_reserved_device(&text) {
        text.insert(0, '_');
    }
    if is_single_normal(&text) {
        text
    } else {
        // Unreachable with sanitized values and a checked template; stay safe anyway.
        let cleaned: String = text
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || is_unwanted_char(c) {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        if is_single_normal(&cleaned) {
            cleaned
        } else {
            seq.to_owned()
        }
    }
}

/// Control characters (C0, DEL, C1) and Unicode direction overrides (which make names
/// display differently from what they are).
fn is_unwanted_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, also with superscript digits,
/// CONIN$, CONOUT$), whatever the extension, in any case.
fn is_reserved_device(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = base.to_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" => true,
        _ => {
            let rest = upper
                .strip_prefix("COM")
                .or_else(|| upper.strip_prefix("LPT"));
            matches!(rest, Some(d) if d.len() <= 2 && d.chars().count() == 1
                && matches!(d.chars().next(), Some('0'..='9' | '¹' | '²' | '³')))
        }
    }
}

/// Truncates `name` to at most `max` bytes at a char boundary, keeping a short extension.
fn truncate_keeping_extension(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let (stem, ext) = match split_extension(&name) {
        Some((stem, ext)) if ext.len() <= 16 => (stem, Some(ext)),
        _ => (name.as_str(), None),
    };
    let budget = max.saturating_sub(ext.map_or(0, |e| e.len() + 1));
    let mut end = budget.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    let stem = stem.get(..end).unwrap_or("").trim_end_matches(is_trimmed);
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem.to_owned(),
    }
}

/// Dots and white space are trimmed at both ends of names.
fn is_trimmed(c: char) -> bool {
    c == '.' || c.is_whitespace()
}

/// The cleaning shared by file names and models: no control characters, Windows-invalid
/// characters replaced, no leading or trailing dots or spaces, no device names, at most `max`
/// bytes.
fn clean(name: &str, max: usize) -> Option<String> {
    let replaced: String = name
        .chars()
        .filter(|&c| !is_unwanted_char(c))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' | '/' | '\\' => '_',
            c => c,
        })
        .collect();
    let trimmed = replaced.trim_matches(is_trimmed);
    if trimmed.is_empty() {
        return None;
    }
    let reserved = is_reserved_device(trimmed);
    let budget = if reserved { max.saturating_sub(1) } else { max };
    let mut out = truncate_keeping_extension(trimmed.to_owned(), budget);
    if out.is_empty() {
        return None;
    }
    if reserved {
        out.insert(0, '_');
    }
    Some(out)
}

/// A camera file name made safe: last path component only (split on `/` and `\`), control
/// characters (including NUL, ESC, DEL, C1) and Unicode direction overrides removed, characters
/// invalid on Windows (`<>:"|?*`) replaced by `_`, leading dots and spaces removed (so no `..`,
/// no hidden files), trailing dots and spaces removed, Windows device names (CON, PRN, AUX, NUL,
/// COM1-9, LPT1-9, with any extension, in any case) prefixed with `_`, at most 200 bytes (the
/// stem truncated at a char boundary, the extension kept). `None` if nothing is left.
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    clean(last, MAX_NAME)
}

/// The model for `{model}`: separators replaced, cleaned like a file name, "camera" if empty.
fn sanitize_model(model: &str) -> String {
    clean(model, MAX_MODEL).unwrap_or_else(|| "camera".to_owned())
}

/// The usual extension for a PTP object format: JPG, ARW, HIF, MPO, MP4, TIF, …; BIN for
/// anything else.
pub fn extension_for(format: u16) -> &'static str {
    match format {
        0x3801 | 0x3808 => "JPG",
        0x3802 | 0x380D | 0x380E => "TIF",
        0x3804 => "BMP",
        0x3807 => "GIF",
        0x380B => "PNG",
        0x380F => "JP2",
        0x3810 => "JPX",
        0x3008 => "WAV",
        0x3009 => "MP3",
        0x300A => "AVI",
        0x300B => "MPG",
        0x300D => "MOV",
        0xB101 => "ARW",
        0xB110 => "HIF",
        0xB301 => "MPO",
        0xB982 => "MP4",
        _ => "BIN",
    }
}

/// A civil date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Decimal value of ASCII digits; `None` if any is not a digit.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |v, &b| {
        b.is_ascii_digit()
            .then(|| v.saturating_mul(10).saturating_add(u32::from(b - b'0')))
    })
}

/// Parses a PTP date `YYYYMMDDThhmmss`, optionally followed by `.s` (tenths, or more digits)
/// and a zone (`Z`, `±hh`, `±hhmm`, `±hh:mm`; ignored), checking that it is a real date and
/// time.
fn parse_ptp_date(s: &str) -> Option<DateTime> {
    let b = s.trim().as_bytes();
    let (main, mut rest) = (b.get(..15)?, b.get(15..)?);
    let [
        y0,
        y1,
        y2,
        y3,
        mo0,
        mo1,
        d0,
        d1,
        b'T',
        h0,
        h1,
        mi0,
        mi1,
        s0,
        s1,
    ] = *main
    else {
        return None;
    };
    let year = i64::from(digits(&[y0, y1, y2, y3])?);
    let month = digits(&[mo0, mo1])?;
    let day = digits(&[d0, d1])?;
    let hour = digits(&[h0, h1])?;
    let minute = digits(&[mi0, mi1])?;
    let second = digits(&[s0, s1])?;
    let valid = year >= 1
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && hour <= 23
        && minute <= 59
        && second <= 59;
    if !valid {
        return None;
    }
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = tail.get(n..)?;
    }
    let zone_ok = match rest {
        [] | [b'Z'] => true,
        [b'+' | b'-', hh @ ..] => match hh {
            [h0, h1] => digits(&[*h0, *h1]).is_some_and(|h| h <= 23),
            [h0, h1, m0, m1] | [h0, h1, b':', m0, m1] => {
                digits(&[*h0, *h1]).is_some_and(|h| h <= 23)
                    && digits(&[*m0, *m1]).is_some_and(|m| m <= 59)
            }
            _ => false,
        },
        _ => false,
    };
    zone_ok.then_some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// The civil date of a day number counted from 1970-01-01 (proleptic Gregorian; Howard
/// Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A time given in seconds since 1970 (UTC) as a civil date and time.
fn utc_from_unix(secs: u64) -> DateTime {
    let days = (secs / 86_400) as i64;
    let in_day = (secs % 86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    DateTime {
        year,
        month,
        day,
        hour: in_day / 3600,
        minute: in_day / 60 % 60,
        second: in_day % 60,
    }
}

/// The host's current time (UTC).
fn host_utc_now() -> DateTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn meta(filename: &str) -> ObjectMeta {
        ObjectMeta {
            filename: filename.to_owned(),
            format: 0x3801,
            size: None,
            capture_date: String::new(),
            model: "ILCE-7M4".to_owned(),
        }
    }

    fn save(saver: &Saver, meta: &ObjectMeta, seq: u32, data: &[u8]) -> SavedFile {
        let mut f = saver.begin(meta, seq).unwrap();
        f.write(data).unwrap();
        f.finish().unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn is_sane(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME
            && !name.starts_with(['.', ' '])
            && !name.ends_with(['.', ' '])
            && !name.chars().any(|c| {
                is_unwanted_char(c)
                    || matches!(c, '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*')
            })
            && !is_reserved_device(name)
            && is_single_normal(name)
    }

    fn is_date(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 10
            && b.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    }

    fn is_time(s: &str) -> bool {
        s.len() == 6 && s.bytes().all(|c| c.is_ascii_digit())
    }

    #[test]
    fn hostile_names_stay_inside_with_sane_names() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let saver = Saver::new(&dir, None).unwrap();
        let long = format!("{}.JPG", "A".repeat(1000));
        let cases: [(&str, Option<&str>); 9] = [
            ("../../x.JPG", Some("x.JPG")),
            ("/etc/passwd", Some("passwd")),
            ("..", Some("0003.JPG")),
            ("", Some("0004.JPG")),
            ("DSC\u{1b}[31m0\u{0}0005.JPG", Some("DSC[31m00005.JPG")),
            ("sub/dir\\DSC00003.JPG", Some("DSC00003.JPG")),
            ("COM1.JPG", Some("_COM1.JPG")),
            (&long, None),
            ("..\\..\\..\\Windows\\win.ini", Some("win.ini")),
        ];
        for (i, (name, expected)) in cases.iter().enumerate() {
            let seq = i as u32 + 1;
            let content = format!("content {i}");
            let saved = save(&saver, &meta(name), seq, content.as_bytes());
            assert_eq!(saved.path.parent(), Some(dir.as_path()), "{name:?}");
            assert!(saved.path.starts_with(&dir));
            let file_name = saved.path.file_name().unwrap().to_str().unwrap();
            assert!(is_sane(file_name), "{file_name:?}");
            if let Some(expected) = expected {
                assert_eq!(file_name, *expected, "{name:?}");
            }
            assert_eq!(fs::read(&saved.path).unwrap(), content.as_bytes());
            assert_eq!(saved.camera_name, *name);
        }
        assert_eq!(names(root.path()), ["out"]);
        assert_eq!(names(&dir).len(), cases.len());
        assert!(names(&dir).iter().all(|n| !n.starts_with('.')));
    }

    #[test]
    fn sanitize_removes_controls_and_windows_characters() {
        assert_eq!(
            sanitize_file_name("DSC\u{1b}[2J0\u{0}0\u{7f}1\u{9b}.JPG").as_deref(),
            Some("DSC[2J001.JPG")
        );
        assert_eq!(
            sanitize_file_name("a<b>c:d\"e|f?g*h.JPG").as_deref(),
            Some("a_b_c_d_e_f_g_h.JPG")
        );
        assert_eq!(sanitize_file_name(". .x.JPG. . ").as_deref(), Some("x.JPG"));
        assert_eq!(
            sanitize_file_name("a\u{202E}GPJ.exe").as_deref(),
            Some("aGPJ.exe")
        );
        assert_eq!(sanitize_file_name(".."), None);
        assert_eq!(sanitize_file_name("."), None);
        assert_eq!(sanitize_file_name(""), None);
        assert_eq!(sanitize_file_name("dir/"), None);
        assert_eq!(sanitize_file_name("\u{0}\u{1b}"), None);
        assert_eq!(
            sanitize_file_name("DSC00001.JPG").as_deref(),
            Some("DSC00001.JPG")
        );
        assert_eq!(
            sanitize_file_name("my photo.jpg").as_deref(),
            Some("my photo.jpg")
        );
    }

    #[test]
    fn sanitize_prefixes_device_names() {
        for (name, expected) in [
            ("COM1.JPG", "_COM1.JPG"),
            ("con", "_con"),
            ("Lpt9.txt", "_Lpt9.txt"),
            ("nul.tar.gz", "_nul.tar.gz"),
            ("AUX .JPG", "_AUX .JPG"),
            ("prn", "_prn"),
        ] {
            assert_eq!(
                sanitize_file_name(name).as_deref(),
                Some(expected),
                "{name}"
            );
        }
        for name in ["CONSOLE.JPG", "COM10.JPG", "LPT.JPG", "XCON.JPG"] {
            assert_eq!(sanitize_file_name(name).as_deref(), Some(name));
        }
    }

    #[test]
    fn sanitize_truncates_keeping_the_extension() {
        let long = format!("{}.JPG", "A".repeat(1000));
        let s = sanitize_file_name(&long).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.ends_with(".JPG"));
        assert!(s.starts_with("AAAA"));

        let wide = format!("{}.JPG", "é".repeat(500));
        let s = sanitize_file_name(&wide).unwrap();
        assert!(s.len() <= 200);
        assert!(s.ends_with(".JPG"));
        assert!(s.starts_with('é'));

        let long_ext = format!("a.{}", "b".repeat(500));
        let s = sanitize_file_name(&long_ext).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.starts_with("a.bbb"));

        let reserved = format!("CON.{}.JPG", "x".repeat(500));
        let s = sanitize_file_name(&reserved).unwrap();
        assert!(s.len() <= 200);
        assert!(s.starts_with("_CON.xxx") && s.ends_with(".JPG"));
    }

    #[test]
    fn collisions_get_suffixes_and_leave_the_original_alone() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap();
        let m = meta("DSC00001.JPG");
        let a = save(&saver, &m, 1, b"first");
        let b = save(&saver, &m, 1, b"second");
        let c = save(&saver, &m, 1, b"third");
        assert_eq!(a.path, dir.path().join("DSC00001.JPG"));
        assert_eq!(b.path, dir.path().join("DSC00001-1.JPG"));
        assert_eq!(c.path, dir.path().join("DSC00001-2.JPG"));
        assert_eq!(fs::read(&a.path).unwrap(), b"first");
        assert_eq!(fs::read(&b.path).unwrap(), b"second");
        assert_eq!(fs::read(&c.path).unwrap(), b"third");
        assert_eq!(
            names(dir.path()),
            ["DSC00001-1.JPG", "DSC00001-2.JPG", "DSC00001.JPG"]
        );
    }

    #[test]
    fn existing_user_files_are_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("DSC00009.ARW"), b"mine").unwrap();
        let saver = Saver::new(dir.path(), None).unwrap();
        let mut m = meta("DSC00009.ARW");
        m.format = 0xB101;
        let s = save(&saver, &m, 9, b"camera");
        assert_eq!(s.path, dir.path().join("DSC00009-1.ARW"));
        assert_eq!(fs::read(dir.path().join("DSC00009.ARW")).unwrap(), b"mine");
    }

    #[test]
    fn a_name_without_extension_gets_a_plain_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap();
        let a = save(&saver, &meta("README"), 1, b"1");
        let b = save(&saver, &meta("README"), 1, b"2");
        assert_eq!(a.path, dir.path().join("README"));
        assert_eq!(b.path, dir.path().join("README-1"));
        assert_eq!(with_suffix("archive.tar.gz", 3), "archive.tar-3.gz");
    }

    #[test]
    fn template_placeholders_expand() {
        let dir = tempfile::tempdir().unwrap();
        let saver =
            Saver::new(dir.path(), Some("{model}-{seq}-{date}-{time}-{name}.{ext}")).unwrap();
        let m = ObjectMeta {
            filename: "DSC00042.ARW".into(),
            format: 0xB101,
            size: Some(4),
            capture_date: "20240131T235959.0+0100".into(),
            model: "ILCE-7M4".into(),
        };
        assert_eq!(
            saver.planned_name(&m, 7),
            PathBuf::from("ILCE-7M4-0007-2024-01-31-235959-DSC00042.ARW")
        );
        assert_eq!(
            saver.planned_name(&m, 123_456),
            PathBuf::from("ILCE-7M4-123456-2024-01-31-235959-DSC00042.ARW")
        );
        let s = save(&saver, &m, 7, b"data");
        assert_eq!(
            s.path,
            dir.path()
                .join("ILCE-7M4-0007-2024-01-31-235959-DSC00042.ARW")
        );

        // No name: {name} is the seq and {ext} comes from the format; empty model: "camera".
        let m2 = ObjectMeta {
            filename: "../..".into(),
            format: 0xB110,
            model: " ".into(),
            ..m.clone()
        };
        assert_eq!(
            saver.planned_name(&m2, 3),
            PathBuf::from("camera-0003-2024-01-31-235959-0003.HIF")
        );
        // A model with separators and controls stays one name.
        let m3 = ObjectMeta {
            model: "../ILCE/7\u{1b}M4".into(),
            ..m.clone()
        };
        assert_eq!(
            saver.planned_name(&m3, 1),
            PathBuf::from("_ILCE_7M4-0001-2024-01-31-235959-DSC00042.ARW")
        );
        // An odd extension is replaced by the format's.
        let m4 = ObjectMeta {
            filename: "photo.v2 final".into(),
            format: 0x3801,
            ..m
        };
        assert_eq!(
            saver.planned_name(&m4, 1),
            PathBuf::from("ILCE-7M4-0001-2024-01-31-235959-photo.v2 final.JPG")
        );
    }

    #[test]
    fn a_garbage_date_falls_back_to_host_time() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), Some("{date}_{time}")).unwrap();
        for date in [
            "",
            "20240231T120000",
            "20241301T120000",
            "20240101T240000",
            "20240101T120000junk",
            "00000000T000000",
            "2024-01-01T12:00:00",
            "\u{1b}[2J",
        ] {
            let m = ObjectMeta {
                capture_date: date.into(),
                ..meta("x.JPG")
            };
            let planned = saver.planned_name(&m, 1);
            let s = planned.to_str().unwrap();
            let (d, t) = s.split_once('_').unwrap();
            assert!(is_date(d), "{date:?} gave {s:?}");
            assert!(is_time(t), "{date:?} gave {s:?}");
            // The host's year, not anything from the garbage.
            assert!(d.as_bytes()[0] >= b'2', "{s}");
        }
    }

    #[test]
    fn ptp_dates_parse_strictly() {
        let dt = |y, mo, d, h, mi, s| DateTime {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
        };
        assert_eq!(
            parse_ptp_date("20240229T235959"),
            Some(dt(2024, 2, 29, 23, 59, 59))
        );
        assert_eq!(
            parse_ptp_date("20000229T000000.5Z"),
            Some(dt(2000, 2, 29, 0, 0, 0))
        );
        for ok in [
            "20240101T120000.0",
            "20240101T120000+0900",
            "20240101T120000-05:30",
            "20240101T120000+09",
            "20240101T120000.123-0800",
            " 20240101T120000 ",
        ] {
            assert!(parse_ptp_date(ok).is_some(), "{ok}");
        }
        for bad in [
            "20230229T120000",
            "19000229T120000",
            "20240001T120000",
            "20240100T120000",
            "20240431T120000",
            "20240101T126000",
            "20240101T120060",
            "20240101 120000",
            "2024010T1200000",
            "20240101T120000.",
            "20240101T120000+2500",
            "20240101T120000+09:",
            "20240101T120000ZZ",
            "２０２４0101T120000",
            "",
        ] {
            assert_eq!(parse_ptp_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_dates_from_unix_time() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let t = utc_from_unix(1_709_251_199);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2024, 2, 29, 23, 59, 59)
        );
        let now = host_utc_now();
        assert!(now.year >= 2024 && (1..=12).contains(&now.month));
    }

    #[test]
    fn bad_templates_are_rejected_with_help() {
        for (template, reason) in [
            ("{foo}", "unknown placeholder {foo}"),
            ("/abs", "absolute"),
            ("../x", "\"..\""),
            ("./x", "\".\""),
            ("a//b", "empty path component"),
            ("a/", "empty path component"),
            ("{seq", "not closed"),
            ("{se{q}", "not closed"),
            ("seq}", "no matching"),
            ("a\\b", "backslash"),
            ("", "empty"),
            ("a\u{0}b", "control"),
        ] {
            match Saver::new(std::env::temp_dir(), Some(template)) {
                Err(SaveError::Template(msg)) => {
                    assert!(msg.contains(reason), "{template:?}: {msg}");
                    assert!(msg.contains(PLACEHOLDERS), "{template:?}: {msg}");
                }
                other => panic!("{template:?} gave {other:?}"),
            }
        }
        for ok in [
            "{seq}",
            "{date}/{model}-{seq}.{ext}",
            "photos/{name}",
            "a.b/.{name}",
            "...{name}",
        ] {
            assert!(Saver::new(std::env::temp_dir(), Some(ok)).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn subfolder_template_creates_folders_inside() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let saver = Saver::new(&dir, Some("{date}/{model}/{model}-{seq}.{ext}")).unwrap();
        let m = ObjectMeta {
            filename: "/etc/DSC00001.JPG".into(),
            format: 0x3801,
            size: Some(3),
            capture_date: "20240615T101112".into(),
            model: "..".into(),
        };
        let s = save(&saver, &m, 12, b"abc");
        assert_eq!(
            s.path,
            dir.join("2024-06-15")
                .join("camera")
                .join("camera-0012.JPG")
        );
        assert_eq!(fs::read(&s.path).unwrap(), b"abc");
        assert_eq!(names(root.path()), ["out"]);
        assert_eq!(
            names(&dir.join("2024-06-15").join("camera")),
            ["camera-0012.JPG"]
        );
    }

    #[test]
    fn dropping_a_partial_file_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), Some("sub/{name}.{ext}")).unwrap();
        let mut f = saver.begin(&meta("DSC00001.JPG"), 1).unwrap();
        f.write(&[7u8; 3 << 20]).unwrap();
        assert_eq!(f.written(), 3 << 20);
        let temp = f.temp_path().to_path_buf();
        assert!(temp.exists());
        assert_eq!(temp.parent(), Some(dir.path().join("sub").as_path()));
        let temp_name = temp.file_name().unwrap().to_str().unwrap();
        assert!(temp_name.starts_with(".sonyctl-") && temp_name.ends_with(".part"));
        drop(f);
        assert!(!temp.exists());
        assert!(names(&dir.path().join("sub")).is_empty());
    }

    #[test]
    fn size_mismatch_keeps_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap();
        let m = ObjectMeta {
            size: Some(10),
            ..meta("DSC00001.JPG")
        };
        for (i, expected_name) in ["DSC00001.JPG.size-mismatch", "DSC00001-1.JPG.size-mismatch"]
            .iter()
            .enumerate()
        {
            let mut f = saver.begin(&m, 1).unwrap();
            f.write(b"abc").unwrap();
            match f.finish() {
                Err(SaveError::SizeMismatch {
                    expected,
                    got,
                    kept,
                }) => {
                    assert_eq!((expected, got), (10, 3), "{i}");
                    assert_eq!(kept, dir.path().join(expected_name));
                    assert_eq!(fs::read(&kept).unwrap(), b"abc");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            names(dir.path()),
            ["DSC00001-1.JPG.size-mismatch", "DSC00001.JPG.size-mismatch"]
        );
        // The announced size, exactly: fine.
        let m = ObjectMeta { size: Some(3), ..m };
        let s = save(&saver, &m, 1, b"abc");
        assert_eq!(s.path, dir.path().join("DSC00001.JPG"));
        assert_eq!(s.size, 3);
    }

    #[test]
    fn sha256_is_computed_while_writing() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap().with_fsync(true);
        let mut f = saver.begin(&meta("abc.JPG"), 1).unwrap();
        f.write(b"a").unwrap();
        f.write(b"").unwrap();
        f.write(b"bc").unwrap();
        let s = f.finish().unwrap();
        assert_eq!(
            s.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.size, 3);
        assert_eq!(s.format, 0x3801);
        assert_eq!(s.camera_name, "abc.JPG");
    }

    #[test]
    fn large_files_stream_through() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path().join("a/b"), None).unwrap();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        let mut f = saver.begin(&meta("big.ARW"), 1).unwrap();
        for _ in 0..10 {
            f.write(&chunk).unwrap();
        }
        let s = f.finish().unwrap();
        assert_eq!(s.size, 3_000_000);
        assert_eq!(fs::metadata(&s.path).unwrap().len(), 3_000_000);
        let mut h = Sha256::new();
        for _ in 0..10 {
            h.update(&chunk);
        }
        assert_eq!(s.sha256, hex(&h.finalize()));
        assert_eq!(names(saver.dir()), ["big.ARW"]);
    }

    #[test]
    fn errors_read_well() {
        let e = io_error(Path::new("/x/y"), io::Error::other("disk full"));
        assert_eq!(e.to_string(), "cannot write /x/y: disk full");
        let e = SaveError::SizeMismatch {
            expected: 10,
            got: 3,
            kept: PathBuf::from("/x/DSC.JPG.size-mismatch"),
        };
        assert!(e.to_string().contains("announced 10 bytes but sent 3"));
        // A file where the folder should be.
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), b"").unwrap();
        let e = Saver::new(dir.path().join("f"), None).unwrap_err();
        assert!(e.to_string().starts_with("cannot write "), "{e}");
    }

    #[test]
    fn extensions_for_formats() {
        assert_eq!(extension_for(0x3801), "JPG");
        assert_eq!(extension_for(0xB101), "ARW");
        assert_eq!(extension_for(0xB110), "HIF");
        assert_eq!(extension_for(0xB301), "MPO");
        assert_eq!(extension_for(0xB982), "MP4");
        assert_eq!(extension_for(0x380D), "TIF");
        assert_eq!(extension_for(0x1234), "BIN");
    }

    fn hostile_string() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[./\\\\a-zA-Z0-9 :*?<>|\"\u{0}\u{1b}\u{7f}\u{85}\u{202e}é]{0,40}",
            "(\\.\\./|/|\\\\|\\.|CON|com1|LPT9|nul)*[A-Z]{0,3}(\\.[A-Za-z]{0,4})?",
            "[0-9T.Z+:-]{0,24}",
            ".{190,260}",
        ]
    }

    #[test]
    fn without_hashing_the_bytes_are_the_same_and_no_hash_is_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap().with_sha256(false);
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut m = meta("RAW.ARW");
        m.size = Some(data.len() as u64);
        let mut f = saver.begin(&m, 1).unwrap();
        for piece in data.chunks(1 << 20) {
            f.write(piece).unwrap();
        }
        let saved = f.finish().unwrap();
        assert_eq!(saved.sha256, "");
        assert_eq!(std::fs::read(&saved.path).unwrap(), data);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn sanitized_names_are_sane(name in hostile_string()) {
            if let Some(s) = sanitize_file_name(&name) {
                prop_assert!(is_sane(&s), "{:?} -> {:?}", name, s);
            }
        }

        #[test]
        fn files_stay_inside(
            filename in hostile_string(),
            model in hostile_string(),
            capture_date in hostile_string(),
            template in prop::sample::select(vec![
                None,
                Some("{name}.{ext}"),
                Some("{date}/{model}-{seq}.{ext}"),
                Some("{model}/{name}"),
                Some("{model}{name}{ext}/{date}{time}/.{name}"),
                Some("..{model}"),
            ]),
            seq in any::<u32>(),
            size in prop::option::of(0u64..4),
        ) {
            let root = tempfile::tempdir().unwrap();
            let dir = root.path().join("out");
            let saver = Saver::new(&dir, template).unwrap();
            let m = ObjectMeta { filename, format: 0x3801, size, capture_date, model };
            let planned = saver.planned_name(&m, seq);
            prop_assert!(planned.components().count() >= 1);
            prop_assert!(planned.components().all(|c| matches!(c, Component::Normal(_))));
            let mut f = saver.begin(&m, seq).unwrap();
            prop_assert!(f.temp_path().starts_with(&dir));
            f.write(b"xy").unwrap();
            let path = match f.finish() {
                Ok(s) => s.path,
                Err(SaveError::SizeMismatch { kept, .. }) => kept,
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            };
            prop_assert!(path.starts_with(&dir));
            prop_assert_eq!(path.strip_prefix(&dir).unwrap().components().count(),
                planned.components().count());
            prop_assert_eq!(fs::read(&path).unwrap(), b"xy");
            prop_assert_eq!(names(root.path()), ["out"]);
            // Nothing else: no temporary files, one file.
            let mut files = Vec::new();
            let mut stack = vec![dir.clone()];
            while let Some(d) = stack.pop() {
                for e in fs::read_dir(&d).unwrap() {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_dir() {
                        stack.push(e.path());
                    } else {
                        files.push(e.path());
                    }
                }
            }
            prop_assert_eq!(files, vec![path]);
        }
    }
}
