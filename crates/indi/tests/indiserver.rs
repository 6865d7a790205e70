//! indi_sonyctl under Debian's `indiserver`, driven by `indi_getprop`, `indi_setprop` and
//! `indi_eval` (package `indi-bin`) on the simulated camera: the properties, ISO, a listed
//! 2 s exposure and a host-timed bulb each delivering a FITS BLOB (and a local upload) whose
//! header and pixels match `sonyctl_raw::decode` of the kept ARW, abort, focus moves,
//! disconnect; a CCD_FRAME subframe cut from the decoded ARW, the native transfer format (the
//! ARW byte for byte) and the JPEG capture format (an RGB FITS whose planes are the JPEG as
//! `jpeg-decoder` decodes it). The BLOB is received by a small Python client and the FITS read by a Python
//! reader, both independent of the driver's code (`tests/indi_client.py`, `tests/fits_read.py`).
//! The properties' kind, permission and rule as libindi defines them; ISOSPEED against the
//! label of the CCD_ISO switch chosen. Straight on the driver's standard input: refused input
//! answered with a message, the end of input ending the session (idle, and during an
//! exposure, whose file format a next instance finds restored), a new exposure over a busy
//! one, an abort read before the exposure it follows has started, and a new instance taking
//! over a stale PTP/IP session.
//!
//! Without `indiserver` the tests say so and pass, except on CI (`CI=true`), where they fail.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEVICE: &str = "Sony Camera";
const DRIVER: &str = env!("CARGO_BIN_EXE_indi_sonyctl");

/// True when the INDI tools are there; on CI their absence fails.
fn have_tools() -> bool {
    let found = ["indiserver", "indi_getprop", "indi_setprop", "indi_eval"]
        .iter()
        .all(|t| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t}"))
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "indiserver, indi_getprop, indi_setprop and indi_eval are needed (apt-get install \
             indi-bin)"
        );
        eprintln!("indiserver tests skipped: install indi-bin (Debian) to run them");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// indiserver running the driver on a private port and socket; killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(bulb_above: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keep")).unwrap();
        std::fs::create_dir(dir.path().join("up")).unwrap();
        let port = free_port();
        let bin_dir = Path::new(DRIVER).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let child = Command::new("indiserver")
            .args(["-p", &port.to_string(), "-u"])
            .arg(dir.path().join("indi.sock"))
            .arg("indi_sonyctl")
            .env("PATH", path)
            .env("SONYCTL_CAMERA", "sim:ilce-7sm3")
            .env("SONYCTL_BULB_ABOVE", bulb_above)
            .env("SONYCTL_OUTPUT", dir.path().join("keep"))
            .env("HOME", dir.path())
            .env_remove("INDIDEV")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, port, dir };
        // Ready once the driver answers.
        let start = Instant::now();
        while server
            .try_get(&format!("{DEVICE}.CONNECTION.CONNECT"))
            .is_none()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "indiserver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn try_get(&self, spec: &str) -> Option<String> {
        let out = Command::new("indi_getprop")
            .args(["-p", &self.port.to_string(), "-t", "2", "-1", spec])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn get(&self, element: &str) -> String {
        let spec = format!("{DEVICE}.{element}");
        self.try_get(&spec)
            .unwrap_or_else(|| panic!("indi_getprop {spec} found nothing"))
    }

    /// Every `device.property.element=value` line.
    fn all(&self) -> Vec<(String, String)> {
        let out = Command::new("indi_getprop")
            .args([
                "-p",
                &self.port.to_string(),
                "-t",
                "2",
                &format!("{DEVICE}.*.*"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn set(&self, spec: &str) {
        let status = Command::new("indi_setprop")
            .args(["-p", &self.port.to_string(), &format!("{DEVICE}.{spec}")])
            .status()
            .unwrap();
        assert!(status.success(), "indi_setprop {spec}");
    }

    /// Waits (at most `secs`) for `expr` to hold; false if it never did.
    fn eval(&self, expr: &str, secs: u32) -> bool {
        Command::new("indi_eval")
            .args([
                "-p",
                &self.port.to_string(),
                "-t",
                &secs.to_string(),
                "-w",
                expr,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    fn keep(&self) -> PathBuf {
        self.dir.path().join("keep")
    }
}

fn state(prop: &str, value: u8) -> String {
    format!("\"{DEVICE}.{prop}._STATE\"=={value}")
}

/// A client listening for the next CCD1 BLOB.
struct BlobClient {
    child: Child,
    out: PathBuf,
}

impl BlobClient {
    fn start(server: &Server, name: &str) -> BlobClient {
        let out = server.dir.path().join(name);
        let mut child = Command::new("python3")
            .arg(manifest().join("tests/indi_client.py"))
            .arg(server.port.to_string())
            .arg(DEVICE)
            .arg(&out)
            .arg("90")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        // Said once the device's definitions came back: its enableBLOB is in force.
        assert_eq!(line.trim(), "ready");
        BlobClient { child, out }
    }

    /// The client's report: the BLOB's format, the CCD_EXPOSURE updates.
    fn finish(mut self) -> (serde_like::Report, PathBuf) {
        let mut text = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(self.child.wait().unwrap().success());
        (serde_like::parse(&text), self.out)
    }
}

/// Just enough reading of the client's one JSON line.
mod serde_like {
    #[derive(Debug)]
    pub struct Report {
        pub format: Option<String>,
        /// (state, value) of CCD_EXPOSURE before the BLOB.
        pub exposure: Vec<(String, f64)>,
        /// … and after it.
        pub after_blob: Vec<(String, f64)>,
        /// The definitions seen, `Kind:NAME`.
        pub defined: String,
        /// The client's whole report.
        pub raw: String,
    }

    impl Report {
        /// The label CCD_ISO's member `name` was defined with.
        pub fn iso_label(&self, name: &str) -> Option<&str> {
            let key = format!("\"{name}\": \"");
            let at = self.raw.find("\"iso\": {")?;
            let rest = &self.raw[at..];
            let i = rest.find(&key)? + key.len();
            rest[i..].split('"').next()
        }
    }

    fn pairs(text: &str, key: &str) -> Vec<(String, f64)> {
        let Some(start) = text.find(&format!("\"{key}\": [")) else {
            return Vec::new();
        };
        let rest = &text[start + key.len() + 4..];
        let end = rest.find("]]").map_or(0, |e| e + 1);
        rest[..end]
            .split('[')
            .filter_map(|p| {
                let p = p.trim_end_matches([']', ',', ' ']);
                let (s, v) = p.split_once(", ")?;
                Some((s.trim_matches('"').to_string(), v.parse().ok()?))
            })
            .collect()
    }

    pub fn parse(text: &str) -> Report {
        let format = text
            .find("\"format\": \"")
            .map(|i| &text[i + 11..])
            .and_then(|r| r.split('"').next())
            .map(str::to_string);
        Report {
            format,
            exposure: pairs(text, "exposure"),
            after_blob: pairs(text, "after_blob"),
            defined: text
                .find("\"defined\": [")
                .map(|i| text[i..].to_string())
                .unwrap_or_default(),
            raw: text.to_string(),
        }
    }
}

/// Reads a FITS file with the independent reader: (header as JSON text, pixel values file).
fn read_fits(path: &Path) -> (String, Vec<u8>) {
    let values = path.with_extension("values");
    let out = Command::new("python3")
        .arg(manifest().join("tests/fits_read.py"))
        .arg(path)
        .arg(&values)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fits_read.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        std::fs::read(values).unwrap(),
    )
}

/// A header value as the reader printed it (`"KEY": value`).
fn header<'a>(json: &'a str, key: &str) -> &'a str {
    let i = json
        .find(&format!("\"{key}\": "))
        .unwrap_or_else(|| panic!("{key} not in {json}"));
    let rest = &json[i + key.len() + 4..];
    rest.split([',', '}']).next().unwrap().trim()
}

/// The files kept with extension `ext`, in the camera's order (its names count up).
fn kept(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)))
        .collect();
    v.sort();
    v
}

fn arws(dir: &Path) -> Vec<PathBuf> {
    kept(dir, "arw")
}

/// Asks for an exposure of `seconds` and receives its BLOB: (the client's report, the file).
fn blob_of(server: &Server, seconds: &str, blob_name: &str) -> (serde_like::Report, PathBuf) {
    let client = BlobClient::start(server, blob_name);
    server.set(&format!("CCD_EXPOSURE.CCD_EXPOSURE_VALUE={seconds}"));
    client.finish()
}

/// The FITS's pixels against the decoder's samples of the ARW kept for it.
fn check_against_arw(values: &[u8], arw: &Path, width: u32, height: u32) {
    let image = sonyctl_raw::decode(&std::fs::read(arw).unwrap()).unwrap();
    assert_eq!((image.width, image.height), (width, height));
    let expected: Vec<u8> = image.samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(values.len(), expected.len());
    assert!(
        values == expected.as_slice(),
        "the FITS pixels differ from the ARW's"
    );
}

/// One exposure through indiserver: the BLOB, its header and pixels against the ARW kept.
fn expose(server: &Server, seconds: &str, blob_name: &str) -> (String, serde_like::Report) {
    let before = arws(&server.keep()).len();
    let (report, path) = blob_of(server, seconds, blob_name);
    assert_eq!(report.format.as_deref(), Some(".fits"), "{report:?}");
    let (json, values) = read_fits(&path);
    let kept = arws(&server.keep());
    assert_eq!(kept.len(), before + 1, "one ARW kept for the exposure");
    let width: u32 = header(&json, "NAXIS1").parse().unwrap();
    let height: u32 = header(&json, "NAXIS2").parse().unwrap();
    check_against_arw(&values, kept.last().unwrap(), width, height);
    (json, report)
}

#[test]
fn the_driver_under_indiserver() {
    if !have_tools() {
        return;
    }
    let server = Server::start("2.5");
    // Before connecting.
    assert_eq!(server.get("DRIVER_INFO.DRIVER_INTERFACE"), "10");
    assert_eq!(server.get("DRIVER_INFO.DRIVER_EXEC"), "indi_sonyctl");
    assert_eq!(server.get("DEVICE_PORT.PORT"), "sim:ilce-7sm3");
    assert!(
        server
            .try_get(&format!("{DEVICE}.CCD_EXPOSURE.CCD_EXPOSURE_VALUE"))
            .is_none()
    );

    server.set("CONNECTION.CONNECT=On");
    assert!(server.eval(&state("CONNECTION", 1), 20), "connected");
    assert!(server.get("DRIVER_INFO.DRIVER_NAME").contains("ILCE-7SM3"));

    // Every standard property is defined.
    let all = server.all();
    let has = |p: &str| {
        all.iter()
            .any(|(k, _)| k.starts_with(&format!("{DEVICE}.{p}.")))
    };
    for p in [
        "CONNECTION",
        "DRIVER_INFO",
        "DEVICE_PORT",
        "CCD_EXPOSURE",
        "CCD_ABORT_EXPOSURE",
        "CCD_INFO",
        "CCD_FRAME",
        "CCD_BINNING",
        "CCD_FRAME_TYPE",
        "CCD_CFA",
        "CCD_CAPTURE_FORMAT",
        "CCD_TRANSFER_FORMAT",
        "CCD_COMPRESSION",
        "UPLOAD_MODE",
        "UPLOAD_SETTINGS",
        "CCD_FILE_PATH",
        "CCD_ISO",
        "FOCUS_MOTION",
        "REL_FOCUS_POSITION",
        "ABS_FOCUS_POSITION",
        "FOCUS_MAX",
        "FOCUS_ABORT_MOTION",
        "SONY_SHUTTER",
        "SONY_APERTURE",
        "SONY_WHITE_BALANCE",
        "SONY_FILE_FORMAT",
        "SONY_LONG_EXPOSURE_NR",
        "SONY_SAVE_DESTINATION",
    ] {
        assert!(has(p), "{p} is not defined");
    }
    // indi_getprop lists no BLOB: the client of the exposures below sees CCD1 defined.
    let body = sonyctl_sony::bodies::body("ILCE-7SM3").unwrap();
    assert_eq!(server.get("CCD_INFO.CCD_MAX_X"), body.active.0.to_string());
    assert_eq!(server.get("CCD_INFO.CCD_MAX_Y"), body.active.1.to_string());
    assert_eq!(server.get("CCD_INFO.CCD_BITSPERPIXEL"), "16");
    assert_eq!(server.get("CCD_CAPTURE_FORMAT.FORMAT_RAW"), "On");
    assert_eq!(server.get("CCD_TRANSFER_FORMAT.FORMAT_FITS"), "On");
    assert_eq!(server.get("CCD_CFA.CFA_TYPE"), "RGGB");

    // The focuser refuses to move unless the lens is in manual focus.
    server.set("REL_FOCUS_POSITION.FOCUS_RELATIVE_POSITION=10");
    assert!(
        server.eval(&state("REL_FOCUS_POSITION", 3), 10),
        "Alert in AF"
    );
    server.set("SONY_FOCUS_MODE.VALUE=MF");
    assert!(server.eval(&state("SONY_FOCUS_MODE", 1), 10));
    assert_eq!(server.get("SONY_FOCUS_MODE.VALUE"), "MF");

    // ISO: the switch, read back from the body.
    let before = server.get("SONY_ISO.VALUE");
    server.set("CCD_ISO.ISO5=On");
    assert!(server.eval(
        &format!(
            "{} && \"{DEVICE}.CCD_ISO.ISO5\"==1 && \"{DEVICE}.CCD_ISO.ISO4\"==0",
            state("CCD_ISO", 1)
        ),
        10
    ));
    // The body's ISO changed (the extra property follows the body's own report).
    assert!(server.eval(&format!("{} ", state("SONY_ISO", 1)), 10));
    let start = Instant::now();
    let iso = loop {
        let now = server.get("SONY_ISO.VALUE");
        if now != before {
            break now;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the ISO stayed {before}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // A listed 2 s exposure: a Bayer FITS whose pixels are the ARW's.
    let (json, report) = expose(&server, "2", "listed.fits");
    assert_eq!(header(&json, "BITPIX"), "16");
    assert_eq!(header(&json, "BZERO"), "32768");
    assert_eq!(header(&json, "NAXIS1"), body.active.0.to_string());
    assert_eq!(header(&json, "NAXIS2"), body.active.1.to_string());
    assert_eq!(header(&json, "ROWORDER"), "\"TOP-DOWN\"");
    assert_eq!(header(&json, "BAYERPAT"), "\"RGGB\"");
    assert_eq!(header(&json, "INSTRUME"), "\"ILCE-7SM3\"");
    assert_eq!(header(&json, "EXPTIME"), "2.0");
    // ISOSPEED is the sensitivity the client chose, as CCD_ISO labels it ("ISO 1600" or
    // "1600"), not only the body's own report of it.
    let chosen = report
        .iso_label("ISO5")
        .unwrap_or_else(|| panic!("{report:?}"));
    let digits: String = chosen.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(
        header(&json, "ISOSPEED"),
        digits,
        "CCD_ISO.ISO5 is {chosen:?}"
    );
    assert_eq!(header(&json, "ISOSPEED"), iso);
    assert!(header(&json, "DATE-OBS").starts_with("\"20"));
    assert!(
        report.exposure.iter().all(|(s, _)| s == "Busy"),
        "{report:?}"
    );
    assert_eq!(report.exposure.first().map(|e| e.1), Some(2.0));
    assert!(
        report.exposure.windows(2).all(|w| w[1].1 <= w[0].1),
        "counts down"
    );
    assert_eq!(report.after_blob.last(), Some(&("Ok".to_string(), 0.0)));
    assert!(report.defined.contains("\"BLOB:CCD1\""), "{report:?}");
    // Kind, permission and rule as libindi defines them.
    for (name, how) in [
        ("CONNECTION", "Switch rw OneOfMany"),
        ("DRIVER_INFO", "Text ro -"),
        ("DEVICE_PORT", "Text rw -"),
        ("CCD_EXPOSURE", "Number rw -"),
        ("CCD_ABORT_EXPOSURE", "Switch rw AtMostOne"),
        ("CCD_INFO", "Number ro -"),
        ("CCD_FRAME", "Number rw -"),
        ("CCD_BINNING", "Number rw -"),
        ("CCD_FRAME_TYPE", "Switch rw OneOfMany"),
        ("CCD_CFA", "Text rw -"),
        ("CCD_CAPTURE_FORMAT", "Switch rw OneOfMany"),
        ("CCD_TRANSFER_FORMAT", "Switch rw OneOfMany"),
        ("CCD_COMPRESSION", "Switch rw OneOfMany"),
        ("UPLOAD_MODE", "Switch rw OneOfMany"),
        ("UPLOAD_SETTINGS", "Text rw -"),
        ("CCD_FILE_PATH", "Text ro -"),
        ("CCD_ISO", "Switch rw OneOfMany"),
        ("CCD1", "BLOB ro -"),
        ("FOCUS_MOTION", "Switch rw OneOfMany"),
        ("REL_FOCUS_POSITION", "Number rw -"),
        ("ABS_FOCUS_POSITION", "Number rw -"),
        ("FOCUS_MAX", "Number ro -"),
        ("FOCUS_ABORT_MOTION", "Switch rw AtMostOne"),
    ] {
        let key = format!("\"{name}\": \"{how}\"");
        assert!(report.raw.contains(&key), "{key} in {}", report.raw);
    }

    // A bulb (above the 2.5 s threshold), uploaded locally too.
    server.set("UPLOAD_MODE.UPLOAD_BOTH=On");
    // Into a folder per target that is not there yet: made, as libindi does.
    let up = server.dir.path().join("up").join("M31").join("Light");
    assert!(!up.exists());
    server.set(&format!(
        "UPLOAD_SETTINGS.UPLOAD_DIR={};UPLOAD_PREFIX=M31_XXX",
        up.display()
    ));
    assert!(server.eval(&state("UPLOAD_SETTINGS", 1), 10));
    let (json, report) = expose(&server, "3", "bulb.fits");
    let exptime: f64 = header(&json, "EXPTIME").parse().unwrap();
    assert!((2.9..4.0).contains(&exptime), "bulb of {exptime} s");
    assert!(
        report.exposure.iter().any(|(_, v)| *v > 0.0 && *v < 3.0),
        "{report:?}"
    );
    let local = up.join("M31_001.fits");
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(server.dir.path().join("bulb.fits")).unwrap()
    );
    assert_eq!(
        server.get("CCD_FILE_PATH.FILE_PATH"),
        local.display().to_string()
    );
    server.set("UPLOAD_MODE.UPLOAD_CLIENT=On");

    // Abort: back to Idle, no image.
    let before = arws(&server.keep()).len();
    server.set("CCD_EXPOSURE.CCD_EXPOSURE_VALUE=20");
    assert!(server.eval(&state("CCD_EXPOSURE", 2), 10));
    server.set("CCD_ABORT_EXPOSURE.ABORT=On");
    assert!(
        server.eval(&state("CCD_EXPOSURE", 0), 10),
        "Idle after abort"
    );
    assert_eq!(server.get("CCD_ABORT_EXPOSURE._STATE"), "Ok");

    // Focus: relative moves in FOCUS_MOTION's direction, absolute moves.
    let start: i64 = server
        .get("ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION")
        .parse()
        .unwrap();
    server.set("FOCUS_MOTION.FOCUS_OUTWARD=On");
    server.set("REL_FOCUS_POSITION.FOCUS_RELATIVE_POSITION=20");
    assert!(server.eval(
        &format!(
            "\"{DEVICE}.ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION\"=={} && {}",
            start + 20,
            state("REL_FOCUS_POSITION", 1)
        ),
        20
    ));
    server.set("FOCUS_MOTION.FOCUS_INWARD=On");
    server.set("REL_FOCUS_POSITION.FOCUS_RELATIVE_POSITION=5");
    assert!(server.eval(
        &format!(
            "\"{DEVICE}.ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION\"=={} && {}",
            start + 15,
            state("REL_FOCUS_POSITION", 1)
        ),
        20
    ));
    server.set(&format!(
        "ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION={start}"
    ));
    assert!(server.eval(
        &format!(
            "\"{DEVICE}.ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION\"=={start} && {}",
            state("ABS_FOCUS_POSITION", 1)
        ),
        20
    ));
    // Out of range: Alert, not moved (INDI drivers refuse rather than clamp).
    let max: i64 = server.get("FOCUS_MAX.FOCUS_MAX_VALUE").parse().unwrap();
    server.set(&format!(
        "ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION={}",
        max + 1
    ));
    assert!(server.eval(&state("ABS_FOCUS_POSITION", 3), 10));
    assert_eq!(
        server.get("ABS_FOCUS_POSITION.FOCUS_ABSOLUTE_POSITION"),
        start.to_string()
    );
    server.set("FOCUS_ABORT_MOTION.ABORT=On");
    assert!(server.eval(&state("FOCUS_ABORT_MOTION", 1), 10));

    // The aborted exposure left no image behind.
    assert_eq!(arws(&server.keep()).len(), before);

    // Disconnect: the camera's properties go.
    server.set("CONNECTION.DISCONNECT=On");
    assert!(server.eval(&state("CONNECTION", 0), 10));
    assert!(
        server
            .try_get(&format!("{DEVICE}.CCD_EXPOSURE.CCD_EXPOSURE_VALUE"))
            .is_none()
    );
}

#[test]
fn a_subframe_the_native_file_and_a_jpeg_as_rgb_fits() {
    if !have_tools() {
        return;
    }
    let server = Server::start("30");
    server.set("CONNECTION.CONNECT=On");
    assert!(server.eval(&state("CONNECTION", 1), 20), "connected");
    let (max_x, max_y) = (
        server.get("CCD_INFO.CCD_MAX_X"),
        server.get("CCD_INFO.CCD_MAX_Y"),
    );

    // CCD_FRAME: the FITS is the subframe, its pixels the decoder's cut at the same place.
    let (x, y, w, h) = (101u32, 51u32, 300u32, 200u32);
    server.set(&format!("CCD_FRAME.X;Y;WIDTH;HEIGHT={x};{y};{w};{h}"));
    assert!(server.eval(&state("CCD_FRAME", 1), 10));
    let before = arws(&server.keep()).len();
    let (report, path) = blob_of(&server, "0.5", "subframe.fits");
    assert_eq!(report.format.as_deref(), Some(".fits"), "{report:?}");
    let (json, values) = read_fits(&path);
    assert_eq!(header(&json, "NAXIS1"), w.to_string());
    assert_eq!(header(&json, "NAXIS2"), h.to_string());
    let kept_arws = arws(&server.keep());
    assert_eq!(kept_arws.len(), before + 1, "one ARW kept for the exposure");
    let image = sonyctl_raw::decode(&std::fs::read(kept_arws.last().unwrap()).unwrap()).unwrap();
    assert_eq!(
        (image.width.to_string(), image.height.to_string()),
        (max_x.clone(), max_y.clone())
    );
    // RGGB at the image's corner: from an odd column and row, RGGB starts one pixel in.
    assert_eq!(image.info.cfa, sonyctl_raw::CfaPattern::Rggb);
    assert_eq!(header(&json, "XBAYROFF"), "1");
    assert_eq!(header(&json, "YBAYROFF"), "1");
    let expected: Vec<u8> = (y..y + h)
        .flat_map(|row| (x..x + w).map(move |col| (col, row)))
        .flat_map(|(col, row)| image.get(col, row).unwrap().to_le_bytes())
        .collect();
    assert_eq!(values.len(), expected.len());
    assert!(
        values == expected,
        "the subframe's pixels differ from the ARW's"
    );
    server.set(&format!("CCD_FRAME.X;Y;WIDTH;HEIGHT=0;0;{max_x};{max_y}"));
    assert!(server.eval(&state("CCD_FRAME", 1), 10));

    // Native transfer: CCD1 is the camera's ARW, byte for byte.
    server.set("CCD_TRANSFER_FORMAT.FORMAT_NATIVE=On");
    assert!(server.eval(&state("CCD_TRANSFER_FORMAT", 1), 10));
    let (report, path) = blob_of(&server, "0.5", "native.arw");
    assert_eq!(report.format.as_deref(), Some(".arw"), "{report:?}");
    let kept_arws = arws(&server.keep());
    assert_eq!(kept_arws.len(), before + 2, "one ARW kept for the exposure");
    assert!(
        std::fs::read(&path).unwrap() == std::fs::read(kept_arws.last().unwrap()).unwrap(),
        "the native BLOB is not the camera's ARW"
    );
    server.set("CCD_TRANSFER_FORMAT.FORMAT_FITS=On");
    assert!(server.eval(&state("CCD_TRANSFER_FORMAT", 1), 10));

    // JPEG capture format: an RGB FITS (three 8-bit planes) of the JPEG the camera wrote.
    server.set("CCD_CAPTURE_FORMAT.FORMAT_JPEG=On");
    assert!(server.eval(&state("CCD_CAPTURE_FORMAT", 1), 10));
    let (report, path) = blob_of(&server, "0.5", "jpeg.fits");
    assert_eq!(report.format.as_deref(), Some(".fits"), "{report:?}");
    let (json, values) = read_fits(&path);
    assert_eq!(header(&json, "BITPIX"), "8");
    assert_eq!(header(&json, "NAXIS"), "3");
    assert_eq!(header(&json, "NAXIS3"), "3");
    assert!(
        !json.contains("\"BZERO\"") && !json.contains("\"BAYERPAT\""),
        "{json}"
    );
    let jpegs = kept(&server.keep(), "jpg");
    assert_eq!(jpegs.len(), 1, "one JPEG kept for the exposure");
    let bytes = std::fs::read(&jpegs[0]).unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(bytes.as_slice());
    let rgb = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    assert_eq!(header(&json, "NAXIS1"), info.width.to_string());
    assert_eq!(header(&json, "NAXIS2"), info.height.to_string());
    let planes: Vec<u8> = (0..3)
        .flat_map(|plane| rgb.iter().skip(plane).step_by(3).copied())
        .collect();
    assert_eq!(values.len(), planes.len());
    assert!(values == planes, "the FITS planes differ from the JPEG's");
}

/// The driver on pipes, as indiserver runs it.
struct Direct {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Direct {
    fn start(camera: &str, home: &Path) -> Direct {
        let mut child = Command::new(DRIVER)
            .env("SONYCTL_CAMERA", camera)
            .env("HOME", home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("INDIDEV")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Direct { child, lines }
    }

    fn send(&mut self, text: &[u8]) {
        self.child.stdin.as_mut().unwrap().write_all(text).unwrap();
        self.child.stdin.as_mut().unwrap().flush().unwrap();
    }

    /// Waits for a line containing every one of `parts` (the driver writes one attribute
    /// list a line).
    fn expect(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with {parts:?}"));
            if parts.iter().all(|p| line.contains(p)) {
                return line;
            }
        }
    }

    fn connect(&mut self) {
        self.send(
            b"<getProperties version='1.7'/>\n<newSwitchVector device='Sony Camera' \
              name='CONNECTION'><oneSwitch name='CONNECT'>On</oneSwitch></newSwitchVector>\n",
        );
        self.expect(&["setSwitchVector", "CONNECTION", "state=\"Ok\""]);
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn refused_input_is_answered_and_the_end_of_input_ends_the_session() {
    let home = tempfile::tempdir().unwrap();
    let mut d = Direct::start("sim:ilce-7sm3", home.path());
    d.send(b"<getProperties version='1.7'/>");
    d.expect(&["defSwitchVector", "CONNECTION"]);
    // Malformed, then oversized (2 MiB), then too deep: each refused, the stream goes on.
    d.send(b"<newTextVector device='Sony Camera'></oops>");
    d.expect(&["<message", "malformed"]);
    let mut big =
        b"<newTextVector device='Sony Camera' name='DEVICE_PORT'><oneText name='PORT'>".to_vec();
    big.extend(std::iter::repeat_n(b'x', 2 << 20));
    big.extend(b"</oneText></newTextVector>");
    d.send(&big);
    d.expect(&["<message", "larger than"]);
    d.send(&("<a>".repeat(100) + &"</a>".repeat(100)).into_bytes());
    d.expect(&["<message", "deeper than"]);
    d.send(b"<getProperties version='1.7' name='DEVICE_PORT'/>");
    d.expect(&["defTextVector", "DEVICE_PORT"]);
    // Connected, then standard input closes: the driver ends the session and exits in 2 s.
    d.connect();
    d.close_and_wait();
}

#[test]
fn a_new_instance_takes_over_a_stale_session() {
    use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
    use sonyctl_transport::{PtpIpServer, ServerOptions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(async {
        let camera = SimulatedCamera::new(
            Profile::builtin("ilce-7sm3").unwrap(),
            SimOptions::default(),
        );
        let server = PtpIpServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            camera,
            ServerOptions::default(),
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(server.run());
        addr
    });
    let home = tempfile::tempdir().unwrap();
    let spec = format!("ip:127.0.0.1:{}", addr.port());
    // The PTP/IP host id is kept in the test's own home.
    let start = |spec: &str| Direct::start(spec, home.path());
    let mut first = start(&spec);
    first.connect();
    // Killed: its session stays open on the camera.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let mut second = start(&spec);
    second.connect();
    drop(second.child.stdin.take());
    assert!(second.child.wait().unwrap().success());
}

impl Direct {
    /// The one value of the text property in the next message with every one of `parts`
    /// (its member is the line after).
    fn text_after(&self, parts: &[&str]) -> String {
        self.expect(parts);
        let line = self.lines.recv_timeout(Duration::from_secs(20)).unwrap();
        let start = line.find('>').unwrap() + 1;
        let end = line.rfind("</").unwrap();
        line[start..end].trim().to_string()
    }

    /// Closes standard input; the driver must exit within 2 s (the bound; the driver
    /// gives the session 1.5 s and the runtime 0.2 s, so the margin is 0.3 s).
    fn close_and_wait(&mut self) {
        drop(self.child.stdin.take());
        let closed = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                closed.elapsed() < Duration::from_secs(2),
                "still running 2 s after EOF"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success());
    }
}

#[test]
fn the_end_of_input_during_an_exposure_ends_it_and_restores_the_file_format() {
    use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
    use sonyctl_transport::{PtpIpServer, ServerOptions};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr = rt.block_on(async {
        let camera = SimulatedCamera::new(
            Profile::builtin("ilce-7sm3").unwrap(),
            SimOptions::default(),
        );
        let server = PtpIpServer::bind(
            "127.0.0.1:0".parse().unwrap(),
            camera,
            ServerOptions::default(),
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(server.run());
        addr
    });
    let home = tempfile::tempdir().unwrap();
    let spec = format!("ip:127.0.0.1:{}", addr.port());
    let format_def = ["defTextVector", "SONY_FILE_FORMAT"];
    let mut first = Direct::start(&spec, home.path());
    first.connect();
    let before = first.text_after(&format_def);
    assert_eq!(before, "JPEG", "the simulated body starts on JPEG");
    // A RAW exposure: the driver sets the body's file format for it.
    first.send(
        b"<newNumberVector device='Sony Camera' name='CCD_EXPOSURE'><oneNumber \
          name='CCD_EXPOSURE_VALUE'>20</oneNumber></newNumberVector>\n",
    );
    first.expect(&["setNumberVector", "CCD_EXPOSURE", "state=\"Busy\""]);
    let during = first.text_after(&["setTextVector", "SONY_FILE_FORMAT"]);
    assert_ne!(during, before);
    // The end of input while exposing: the exposure ended, the format put back, in 2 s.
    first.close_and_wait();
    let mut second = Direct::start(&spec, home.path());
    second.connect();
    assert_eq!(second.text_after(&format_def), before);
    second.close_and_wait();
}

#[test]
fn a_new_exposure_over_a_busy_one_aborts_it_and_starts() {
    let home = tempfile::tempdir().unwrap();
    let mut d = Direct::start("sim:ilce-7sm3", home.path());
    d.connect();
    let expose = |d: &mut Direct, secs: &str| {
        d.send(
            format!(
                "<newNumberVector device='Sony Camera' name='CCD_EXPOSURE'><oneNumber \
                 name='CCD_EXPOSURE_VALUE'>{secs}</oneNumber></newNumberVector>\n"
            )
            .as_bytes(),
        );
    };
    expose(&mut d, "20");
    d.expect(&["setNumberVector", "CCD_EXPOSURE", "state=\"Busy\""]);
    // As libindi's clients do: a new exposure while one is under way replaces it.
    expose(&mut d, "1");
    d.expect(&[
        "setNumberVector",
        "CCD_EXPOSURE",
        "state=\"Idle\"",
        "aborted",
    ]);
    let next = d.expect(&["setNumberVector", "CCD_EXPOSURE", "state="]);
    assert!(next.contains("state=\"Busy\""), "{next}");
    d.expect(&["setBLOBVector", "CCD1"]);
    let done = d.expect(&["setNumberVector", "CCD_EXPOSURE", "state="]);
    assert!(done.contains("state=\"Ok\""), "{done}");
    d.close_and_wait();
}

#[test]
fn an_abort_right_after_an_exposure_aborts_it() {
    let home = tempfile::tempdir().unwrap();
    let mut d = Direct::start("sim:ilce-7sm3", home.path());
    d.connect();
    // In one write: the abort is read while the exposure is still to start.
    d.send(
        b"<newNumberVector device='Sony Camera' name='CCD_EXPOSURE'><oneNumber \
          name='CCD_EXPOSURE_VALUE'>20</oneNumber></newNumberVector>\n<newSwitchVector \
          device='Sony Camera' name='CCD_ABORT_EXPOSURE'><oneSwitch \
          name='ABORT'>On</oneSwitch></newSwitchVector>\n",
    );
    d.expect(&["setNumberVector", "CCD_EXPOSURE", "state=\"Busy\""]);
    d.expect(&[
        "setNumberVector",
        "CCD_EXPOSURE",
        "state=\"Idle\"",
        "aborted",
    ]);
    d.close_and_wait();
}
