//! Test support shared by the CLI tests: a `sonyctl simulate` in the background.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};

/// A running `sonyctl simulate` on a free loopback port, killed when dropped.
pub struct Simulator {
    /// The process.
    pub child: Child,
    /// Its PTP/IP port.
    pub port: u16,
}

impl Simulator {
    /// Starts `model` with `extra` arguments (`--act`, `--fault`, `--stats`, …), without
    /// standard input, as scripts start it.
    pub fn start(model: &str, extra: &[&str]) -> Simulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
            .args(["simulate", "--model", model, "--ptpip", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Simulator { child, port }
    }

    /// `--camera` for sonyctl.
    pub fn spec(&self) -> String {
        format!("ip:127.0.0.1:{}", self.port)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Simulator {
    /// Stops the simulated camera the way Ctrl-C would (SIGTERM), so it writes its `--stats`.
    pub fn stop(self) {
        let _ = self.terminate();
    }

    /// Sends SIGTERM and returns how the process ended.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

/// Runs the built `sonyctl` with `args`, without `SONYCTL_CAMERA`, with a private HOME.
pub fn sonyctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sonyctl"))
        .args(args)
        .env_remove("SONYCTL_CAMERA")
        .env(
            "HOME",
            std::env::temp_dir().join(format!("sonyctl-home-{}", std::process::id())),
        )
        .output()
        .unwrap()
}

/// Runs `sonyctl` with `args`; it must succeed; returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = sonyctl(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
