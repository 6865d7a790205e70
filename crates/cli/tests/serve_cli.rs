//! `sonyctl serve` end to end: the built binary serving simulated cameras on loopback. The
//! URL on standard output, camera ids (model, the serial's last 6, `-2` for the same body
//! twice), SIGTERM ending it with exit 0, a token made for an address other than loopback and
//! required then, `--token-file` checked, and `--camera` more than once refused by every other
//! command. Waits have generous bounds; nothing is timed.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The longest a step may take before the test counts it as hanging.
const HANG: Duration = Duration::from_secs(60);

/// A running `sonyctl serve`, killed if the test fails before it stops it.
struct Serving {
    child: Child,
    url: String,
    port: u16,
    /// What it wrote to standard error, shown when the test fails.
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Serving {
    /// Starts `sonyctl` with `args` in a scratch folder and waits for the URL.
    fn start(args: &[&str]) -> Serving {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("SONYCTL_CAMERA")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut from = child.stderr.take().unwrap();
        let into = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(HANG).expect("serve prints its URL");
        let url = line.trim().to_string();
        let port = url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|host| host.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no URL on standard output: {line:?}"));
        Serving {
            child,
            url,
            port,
            stderr,
            _dir: dir,
        }
    }

    /// Sends `GET path` to 127.0.0.1 with `headers`; the status and the body.
    fn get(&self, path: &str, headers: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(HANG)).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n{headers}\r\n",
            self.port
        )
        .unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        (status, body.to_string())
    }

    /// SIGTERM, and the exit status once it ends.
    fn stop(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let until = Instant::now() + HANG;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < until, "serve did not end after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "sonyctl serve said:\n{}",
                self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The id a body gets: its model in lower case and the last 6 characters of its serial, as
/// `sonyctl info --json` reports them.
fn expected_id(camera: &str) -> String {
    let info: serde_json::Value =
        serde_json::from_str(&common::ok(&["--camera", camera, "info", "--json"])).unwrap();
    let model = info["model"].as_str().unwrap().to_ascii_lowercase();
    let serial = info["serial"].as_str().unwrap();
    format!("{model}-{}", &serial[serial.len() - 6..])
}

#[test]
fn serves_each_camera_under_its_id_and_ends_on_sigterm() {
    let first = expected_id("sim");
    let second = expected_id("sim:ilce-6000");
    assert_ne!(first, second);
    let serving = Serving::start(&[
        "serve",
        "--camera",
        "sim",
        "--camera",
        "sim:ilce-6000",
        "--camera",
        "sim",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(serving.url, format!("http://127.0.0.1:{}/", serving.port));
    let ids = [first.clone(), second, format!("{first}-2")];
    // The page is served, with the module it starts from.
    let (status, page) = serving.get("/", "");
    assert_eq!(status, 200);
    assert!(page.contains("/assets/js/main.js"), "{page}");
    let (status, script) = serving.get("/assets/js/main.js", "");
    assert_eq!(status, 200);
    assert!(script.contains("import"), "{script}");
    // The API lists them in the order given.
    let (status, body) = serving.get("/api/v1/cameras", "");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let listed: Vec<&str> = list["cameras"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    let (status, _) = serving.get("/api/v1/openapi.json", "");
    assert_eq!(status, 200);
    let exit = serving.stop();
    assert_eq!(exit.code(), Some(0), "{exit:?}");
}

#[test]
fn on_every_address_a_token_is_made_and_required() {
    let serving = Serving::start(&["serve", "--camera", "sim", "--listen", "0.0.0.0:0"]);
    let token = serving
        .url
        .split_once("/?token=")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("no token in {}", serving.url));
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{token}"
    );
    for path in ["/", "/api/v1/openapi.json"] {
        let (status, _) = serving.get(path, "");
        assert_eq!(status, 401, "{path}");
        let (status, _) = serving.get(path, "Authorization: Bearer wrong\r\n");
        assert_eq!(status, 401, "{path}");
        let (status, _) = serving.get(path, &format!("Authorization: Bearer {token}\r\n"));
        assert_eq!(status, 200, "{path}");
    }
    let (status, _) = serving.get(&format!("/?token={token}"), "");
    assert_eq!(status, 303);
    let exit = serving.stop();
    assert_eq!(exit.code(), Some(0), "{exit:?}");
}

#[test]
fn a_token_file_is_read_trimmed_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, "  my-Token_42\n").unwrap();
    let serving = Serving::start(&[
        "serve",
        "--camera",
        "sim",
        "--listen",
        "127.0.0.1:0",
        "--token-file",
        good.to_str().unwrap(),
    ]);
    assert!(
        serving.url.ends_with("/?token=my-Token_42"),
        "{}",
        serving.url
    );
    // On loopback too, once there is a token.
    let (status, _) = serving.get("/api/v1/openapi.json", "");
    assert_eq!(status, 401);
    let (status, _) = serving.get(
        "/api/v1/openapi.json",
        "Authorization: Bearer my-Token_42\r\n",
    );
    assert_eq!(status, 200);
    assert_eq!(serving.stop().code(), Some(0));

    for (name, text) in [
        ("spaces", "two words"),
        ("plus", "abc+def"),
        ("slash", "abc/def"),
        ("quote", "abc\"def"),
        ("empty", " \n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = common::sonyctl(&[
            "serve",
            "--camera",
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("token"), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}");
    }
}

#[test]
fn bad_allowed_origins_are_usage_errors() {
    let out = common::sonyctl(&[
        "serve",
        "--camera",
        "sim",
        "--listen",
        "127.0.0.1:0",
        "--allow-origin",
        "page.example",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("origin"));
}

#[test]
fn only_serve_takes_more_than_one_camera() {
    for args in [
        &["--camera", "sim", "--camera", "sim", "props"][..],
        &["--camera", "sim", "--camera", "sim:ilce-6000", "info"],
        &["get", "iso", "--camera", "sim", "--camera", "sim"],
    ] {
        let out = common::sonyctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("serve"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // One is still fine.
    common::ok(&["--camera", "sim", "get", "iso"]);
}
