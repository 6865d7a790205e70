//! `sonyctl alpaca` end to end: the built binary serving the simulated camera on loopback
//! prints its URL and discovery port, answers the management API and a discovery datagram
//! sent unicast to 127.0.0.1, and ends with exit 0 on SIGTERM. Waits have generous bounds;
//! nothing is timed.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const HANG: Duration = Duration::from_secs(60);

fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(HANG)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    (status, body.to_string())
}

#[test]
fn alpaca_on_the_simulated_camera() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
        .args([
            "alpaca",
            "--camera",
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--discovery-port",
            "0",
        ])
        .current_dir(dir.path())
        .env_remove("SONYCTL_CAMERA")
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for _ in 0..2 {
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
        }
    });
    let url = rx.recv_timeout(HANG).expect("alpaca prints its URL");
    let discovery = rx.recv_timeout(HANG).expect("and its discovery port");
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/setup"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not the URL: {url:?}"));
    let udp: u16 = discovery
        .strip_prefix("discovery port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not the discovery port: {discovery:?}"));
    assert_ne!(udp, 0);

    let (status, body) = get(port, "/management/v1/configureddevices");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let devices = v["Value"].as_array().unwrap();
    let types: Vec<&str> = devices
        .iter()
        .map(|d| d["DeviceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Camera", "Focuser"]);
    let (status, body) = get(port, "/api/v1/camera/0/name?ClientTransactionID=7");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ClientTransactionID"], 7);
    assert!(v["Value"].as_str().unwrap().starts_with("Sony "), "{v}");

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(HANG)).unwrap();
    socket
        .send_to(b"alpacadiscovery1", ("127.0.0.1", udp))
        .unwrap();
    let mut buf = [0u8; 256];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
    assert_eq!(reply["AlpacaPort"], port);

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let until = Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("alpaca did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}
