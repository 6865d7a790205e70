//! Test support shared by the CLI tests: a `sonyctl simulate` in the background.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `sonyctl simulate` on a free loopback port, killed when dropped.
pub struct Simulator {
    /// The process.
    pub child: Child,
    /// Its PTP/IP port.
    pub port: u16,
    /// Its standard input, for the owner's actions (`start_with_owner`).
    owner: Option<ChildStdin>,
    /// Its standard error, line by line (`start_with_owner`).
    stderr: Option<mpsc::Receiver<String>>,
}

impl Simulator {
    /// Starts `model` with `extra` arguments (`--act`, `--fault`, `--stats`, …), without
    /// standard input, as scripts start it.
    pub fn start(model: &str, extra: &[&str]) -> Simulator {
        Simulator::spawn(model, extra, false)
    }

    /// Starts `model` with `extra` arguments, its standard input a pipe for the owner's actions
    /// (`owner`) and its standard error read line by line (`wait_stderr`).
    pub fn start_with_owner(model: &str, extra: &[&str]) -> Simulator {
        Simulator::spawn(model, extra, true)
    }

    fn spawn(model: &str, extra: &[&str], owner: bool) -> Simulator {
        let pipe = |yes: bool| if yes { Stdio::piped() } else { Stdio::null() };
        let mut child = Command::new(env!("CARGO_BIN_EXE_sonyctl"))
            .args(["simulate", "--model", model, "--ptpip", "127.0.0.1:0"])
            .args(extra)
            .stdin(pipe(owner))
            .stdout(Stdio::piped())
            .stderr(pipe(owner))
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().map(lines);
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
        Simulator {
            port,
            owner: child.stdin.take(),
            stderr,
            child,
        }
    }

    /// Writes one line to the simulated camera's standard input.
    pub fn owner(&mut self, line: &str) {
        let stdin = self.owner.as_mut().expect("started with start_with_owner");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the simulated camera's standard input.
    pub fn close_owner(&mut self) {
        drop(self.owner.take());
    }

    /// Waits (up to a minute) for a line of its standard error that contains `text`, and
    /// returns it; lines before it are passed over.
    pub fn wait_stderr(&self, text: &str) -> String {
        let rx = self.stderr.as_ref().expect("started with start_with_owner");
        wait_line(rx, |l| l.contains(text), Duration::from_secs(60))
            .unwrap_or_else(|seen| panic!("no line with {text:?} on stderr; seen: {seen:#?}"))
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

/// The lines of `from`, read on a thread of their own, as they come.
pub fn lines(from: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The first line from `rx` that `wanted` accepts within `limit`, or the lines seen instead.
pub fn wait_line(
    rx: &mpsc::Receiver<String>,
    wanted: impl Fn(&str) -> bool,
    limit: Duration,
) -> Result<String, Vec<String>> {
    let end = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return Ok(line),
            Ok(line) => seen.push(line),
            Err(_) => return Err(seen),
        }
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
