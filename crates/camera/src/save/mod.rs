//! Saving downloaded images, and the [`Sink`] a download writes to.
//!
//! A download goes to any [`Sink`]: a file ([`PartialFile`]), memory ([`MemorySink`]) or
//! nowhere ([`DiscardSink`]). An image is streamed to a hidden temporary file in its destination folder and renamed into
//! place when complete, never overwriting an existing file (`DSC00001.JPG`, then
//! `DSC00001-1.JPG`, `DSC00001-2.JPG`, …).
//!
//! Everything the camera says (file names, sizes, dates, model) is untrusted: names are
//! sanitized ([`sanitize_file_name`]), every path is built from normal components only and
//! checked to stay inside the output folder, writes are streamed through a bounded buffer, and
//! nothing panics on any input.

mod date;
mod file;
mod sanitize;
mod sink;
mod template;

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};

use date::{host_utc_now, parse_ptp_date};
pub(crate) use file::from_io;
pub use file::{PartialFile, place_without_overwriting};
use file::{Worker, create_temp, reserve_room};
pub use sanitize::sanitize_file_name;
use sanitize::{
    is_plain_extension, safe_component, sanitize_model, split_extension, with_format_extension,
};
pub use sink::{DiscardSink, MemorySink, Sink};
use template::{Piece, Placeholder, Template, parse_template};

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
    /// A [`Sink`] other than a file failed (a [`MemorySink`] over its limit, or one of the
    /// caller's).
    #[error("the download's destination failed: {0}")]
    Sink(io::Error),
    /// An object could not be completed and the camera no longer has it: the bytes that
    /// arrived are left in the [`Sink`] (a file says where with
    /// `CaptureError::Incomplete` instead).
    #[error(
        "the image was cut off after {got} of {} bytes and the camera no longer has it; what \
         arrived is left in the destination", expected.map_or("?".to_string(), |e| e.to_string())
    )]
    Incomplete {
        /// Bytes that arrived.
        got: u64,
        /// Bytes announced, if known.
        expected: Option<u64>,
    },
}

fn io_error(path: &Path, source: io::Error) -> SaveError {
    SaveError::Io {
        path: path.to_path_buf(),
        source,
    }
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
        let sanitized =
            sanitize_file_name(&meta.filename).map(|n| with_format_extension(n, meta.format));
        // For a name the camera did not give, or gave without an extension.
        let format_ext =
            sonyctl_sony::values::format_extension(sonyctl_ptp::ObjectFormatCode(meta.format));
        let Some(template) = &self.template else {
            let name = sanitized.unwrap_or_else(|| format!("{seq_text}.{format_ext}"));
            return vec![safe_component(name, &seq_text)];
        };
        let (stem, ext) = match &sanitized {
            Some(name) => match split_extension(name) {
                Some((stem, ext)) if is_plain_extension(ext) => (stem.to_owned(), ext.to_owned()),
                _ => (name.clone(), format_ext.to_owned()),
            },
            None => (seq_text.clone(), format_ext.to_owned()),
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
        if let Err(e) = reserve_room(&file, &temp, meta.size.unwrap_or(0)) {
            drop(file);
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
        Ok(PartialFile {
            writer: Some(Worker::start(file, self.hash, self.fsync)),
            sha256: None,
            temp,
            folder,
            file_name,
            written: 0,
            expected: meta.size,
            format: meta.format,
            camera_name: meta.filename.clone(),
            fsync: self.fsync,
            hash: self.hash,
            done: false,
            saved: None,
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::file::{hex, with_suffix};
    use super::sanitize::{MAX_NAME, is_reserved_device, is_unwanted_char};
    use super::template::{PLACEHOLDERS, is_single_normal};
    use super::*;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

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
            ("/etc/passwd", Some("passwd.JPG")),
            ("..", Some("0003.JPG")),
            ("", Some("0004.JPG")),
            ("DSC\u{1b}[31m0\u{0}0005.JPG", Some("DSC[31m00005.JPG")),
            ("sub/dir\\DSC00003.JPG", Some("DSC00003.JPG")),
            ("COM1.JPG", Some("_COM1.JPG")),
            (&long, None),
            ("..\\..\\..\\Windows\\win.ini", Some("win.ini.JPG")),
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
    fn a_file_is_placed_only_under_a_free_name() {
        let dir = tempfile::tempdir().unwrap();
        let temp = dir.path().join(".new.part");
        let taken = dir.path().join("taken.jpg");
        fs::write(&temp, b"new").unwrap();
        fs::write(&taken, b"theirs").unwrap();
        let e = place_without_overwriting(&temp, &taken).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&taken).unwrap(), b"theirs");
        assert_eq!(fs::read(&temp).unwrap(), b"new");
        // A dangling symbolic link takes the name too (nothing is written through it).
        #[cfg(unix)]
        {
            let link = dir.path().join("link.jpg");
            std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
            let e = place_without_overwriting(&temp, &link).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlreadyExists);
            assert!(!dir.path().join("nowhere").exists());
        }
        let free = dir.path().join("free.jpg");
        place_without_overwriting(&temp, &free).unwrap();
        assert_eq!(fs::read(&free).unwrap(), b"new");
        assert!(!temp.exists());
    }

    #[test]
    fn a_name_without_extension_gets_a_plain_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap();
        // A format with no known extension keeps the name as it is.
        let m = ObjectMeta {
            format: 0x3000,
            ..meta("README")
        };
        let a = save(&saver, &m, 1, b"1");
        let b = save(&saver, &m, 1, b"2");
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
    fn the_piece_that_completes_the_announced_size_is_on_disk_when_write_returns() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap().with_fsync(true);
        let m = ObjectMeta {
            size: Some(5),
            ..meta("DSC00001.JPG")
        };
        let mut f = saver.begin(&m, 1).unwrap();
        f.write(b"ab").unwrap();
        f.write(b"cde").unwrap();
        // Far below the write buffer, yet written: a disk error would have shown here.
        let on_disk = fs::read(f.temp_path()).unwrap();
        assert_eq!(on_disk.get(..5), Some(&b"abcde"[..]));
        let s = f.finish().unwrap();
        assert_eq!(fs::read(&s.path).unwrap(), b"abcde");
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
        let m = ObjectMeta {
            format: 0xB101,
            ..meta("big.ARW")
        };
        let mut f = saver.begin(&m, 1).unwrap();
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

    /// Drives a file through the [`Sink`] trait only, as a download does.
    fn sink_of(file: &mut PartialFile) -> &mut dyn Sink {
        file
    }

    #[test]
    fn a_file_as_a_sink_starts_over_and_finishes() {
        let dir = tempfile::tempdir().unwrap();
        for hash in [true, false] {
            let saver = Saver::new(dir.path(), None).unwrap().with_sha256(hash);
            let m = ObjectMeta {
                size: Some(3),
                ..meta("abc.JPG")
            };
            let mut f = saver.begin(&m, 1).unwrap();
            let temp = f.temp_path().to_path_buf();
            let sink = sink_of(&mut f);
            sink.reserve(3).unwrap();
            sink.write(b"xy").unwrap();
            assert_eq!(sink.written(), 2);
            // Room is reserved before the first byte, not after.
            assert!(sink.reserve(3).is_err());
            sink.abandon().unwrap();
            assert_eq!(sink.written(), 0);
            sink.write(b"a").unwrap();
            sink.write(b"bc").unwrap();
            sink.finish().unwrap();
            let saved = f.saved().unwrap().clone();
            let expected_name = if hash { "abc.JPG" } else { "abc-1.JPG" };
            assert_eq!(saved.path, dir.path().join(expected_name));
            assert_eq!(fs::read(&saved.path).unwrap(), b"abc");
            assert_eq!(saved.size, 3);
            let sha = if hash {
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            } else {
                ""
            };
            assert_eq!(saved.sha256, sha);
            drop(f);
            // Finished: dropping it leaves the file alone, and no temporary file remains.
            assert!(saved.path.exists());
            assert!(!temp.exists());
        }
        assert_eq!(names(dir.path()), ["abc-1.JPG", "abc.JPG"]);
    }

    #[test]
    fn a_file_as_a_sink_is_abandoned_or_kept_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let saver = Saver::new(dir.path(), None).unwrap();
        let m = ObjectMeta {
            size: Some(10),
            ..meta("DSC00001.JPG")
        };
        // Abandoned and dropped: nothing stays.
        let mut f = saver.begin(&m, 1).unwrap();
        sink_of(&mut f).write(b"abc").unwrap();
        sink_of(&mut f).abandon().unwrap();
        drop(f);
        assert!(names(dir.path()).is_empty());
        // Kept: the bytes that arrived, under a name that says so.
        let mut f = saver.begin(&m, 1).unwrap();
        sink_of(&mut f).write(b"abcd").unwrap();
        let kept = sink_of(&mut f).keep_incomplete().unwrap().unwrap();
        assert_eq!(kept, dir.path().join("DSC00001.JPG.incomplete"));
        drop(f);
        assert_eq!(fs::read(&kept).unwrap(), b"abcd");
        assert_eq!(names(dir.path()), ["DSC00001.JPG.incomplete"]);
        // A size that does not match is still reported as such through the sink.
        let mut f = saver.begin(&m, 2).unwrap();
        sink_of(&mut f).write(b"ab").unwrap();
        let e = sink_of(&mut f).finish().unwrap_err();
        assert!(matches!(
            from_io(e),
            SaveError::SizeMismatch {
                expected: 10,
                got: 2,
                ..
            }
        ));
        // Closed: more writes fail instead of vanishing.
        assert!(sink_of(&mut f).write(b"c").is_err());
    }

    #[test]
    fn large_pieces_and_small_ones_arrive_in_order_on_the_writer_thread() {
        let dir = tempfile::tempdir().unwrap();
        for hash in [true, false] {
            let saver = Saver::new(dir.path(), None).unwrap().with_sha256(hash);
            let data: Vec<u8> = (0..(7 << 20) + 13u32).map(|i| (i % 253) as u8).collect();
            let mut f = saver.begin(&meta("big.ARW"), 1).unwrap();
            // Pieces that straddle the writer's buffers, of every size from 1 byte to 3 MiB.
            let mut rest = data.as_slice();
            let mut n = 1usize;
            while !rest.is_empty() {
                let (piece, tail) = rest.split_at(n.min(rest.len()));
                f.write(piece).unwrap();
                rest = tail;
                n = (n * 7 + 1) % (3 << 20);
            }
            let s = f.finish().unwrap();
            assert_eq!(fs::read(&s.path).unwrap(), data);
            if hash {
                assert_eq!(s.sha256, hex(&Sha256::digest(&data)));
            }
        }
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
