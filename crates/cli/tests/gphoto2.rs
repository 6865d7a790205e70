//! libgphoto2's `gphoto2`, a client nobody here wrote, against `sonyctl simulate` over PTP/IP on
//! loopback. `scripts/test` installs gphoto2 (Debian package); without it these tests fail with
//! a message saying so, never skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `sonyctl simulate` plus a private HOME for gphoto2 (it keeps its PTP/IP GUID and last port
/// in `$HOME/.gphoto`).
struct Simulator {
    sim: common::Simulator,
    port: u16,
    home: std::path::PathBuf,
}

impl Simulator {
    fn start(model: &str) -> Simulator {
        Simulator::start_with(model, &[])
    }

    fn start_with(model: &str, extra: &[&str]) -> Simulator {
        let sim = common::Simulator::start(model, extra);
        let port = sim.port;
        let home =
            std::env::temp_dir().join(format!("sonyctl-gphoto2-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        Simulator { sim, port, home }
    }

    fn gphoto2(&self, args: &[&str]) -> Output {
        let port = format!("ptpip:127.0.0.1:{0}:{0}", self.port);
        let mut cmd = Command::new("gphoto2");
        cmd.env("HOME", &self.home)
            .current_dir(&self.home)
            .args(["--camera", "PTP/IP Camera", "--port", &port])
            .args(args);
        let out = run_with_timeout(cmd, Duration::from_secs(120));
        assert!(
            out.status.success(),
            "gphoto2 {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8(self.gphoto2(args).stdout).unwrap()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let which = Command::new("sh")
        .args(["-c", "command -v gphoto2"])
        .output()
        .unwrap();
    assert!(
        which.status.success(),
        "gphoto2 is not installed: run scripts/test (it installs the Debian package) or \
         apt-get install gphoto2"
    );
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("gphoto2 did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn current(config: &str) -> String {
    config
        .lines()
        .find_map(|l| l.strip_prefix("Current: "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn summary_reports_a_sony_camera() {
    for (model, name) in [
        ("ilce-7sm3", "ILCE-7SM3"),
        ("ilce-6000", "ILCE-6000"),
        ("dsc-rx100m7", "DSC-RX100M7"),
        ("ilce-6400", "ILCE-6400"),
    ] {
        let sim = Simulator::start(model);
        let summary = sim.stdout(&["--summary"]);
        assert!(
            summary.contains("Manufacturer: Sony Corporation"),
            "{summary}"
        );
        assert!(summary.contains(&format!("Model: {name}")), "{summary}");
        assert!(
            summary.contains("Vendor Extension Description: Sony PTP Extensions"),
            "{summary}"
        );
        assert!(
            summary.contains("Sony Capture"),
            "libgphoto2 treats it as a Sony body: {summary}"
        );
        assert!(summary.contains("ISO(0xd21e)"), "{summary}");
    }
}

#[test]
fn list_all_config_lists_iso_and_shutter_speed() {
    for model in ["ilce-7sm3", "ilce-6000"] {
        let sim = Simulator::start(model);
        let all = sim.stdout(&["--list-all-config"]);
        for key in [
            "/main/imgsettings/iso",
            "/main/capturesettings/shutterspeed",
            "/main/capturesettings/f-number",
        ] {
            assert!(all.lines().any(|l| l == key), "{model}: {key} missing");
        }
    }
}

/// On the protocol-200 body gphoto2 jumps by the distance in the reported list, then steps by
/// one and reads back; the value must stick.
#[test]
fn set_config_sticks_on_the_protocol_200_body() {
    let sim = Simulator::start("ilce-6000");
    assert_eq!(current(&sim.stdout(&["--get-config", "iso"])), "Auto ISO");
    sim.gphoto2(&["--set-config", "iso=800"]);
    assert_eq!(current(&sim.stdout(&["--get-config", "iso"])), "800");
    sim.gphoto2(&["--set-config", "shutterspeed=1/250"]);
    assert_eq!(
        current(&sim.stdout(&["--get-config", "shutterspeed"])),
        "1/250"
    );
    sim.gphoto2(&["--set-config", "iso=1600"]);
    assert_eq!(current(&sim.stdout(&["--get-config", "iso"])), "1600");
}

#[test]
fn set_config_sticks_on_the_protocol_300_body() {
    let sim = Simulator::start("ilce-7sm3");
    sim.gphoto2(&["--set-config", "iso=800"]);
    assert_eq!(current(&sim.stdout(&["--get-config", "iso"])), "800");
}

/// gphoto2's own Sony capture sequence (S1, S2, wait for 0xD215, GetObjectInfo, GetObject on
/// 0xFFFFC001) gets a valid JPEG of this shot.
#[test]
fn capture_image_and_download_writes_a_valid_jpeg() {
    for (model, name) in [("ilce-7sm3", "ILCE-7SM3"), ("ilce-6000", "ILCE-6000")] {
        let sim = Simulator::start(model);
        let out = sim.stdout(&["--capture-image-and-download", "--filename", "shot.%C"]);
        assert!(out.contains("Saving file as shot.jpg"), "{model}: {out}");
        let jpeg = std::fs::read(sim.home.join("shot.jpg")).unwrap();
        assert!(
            jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]),
            "{model}"
        );
        assert!(
            jpeg.windows(name.len()).any(|w| w == name.as_bytes()),
            "{model}: shot caption"
        );
    }
}

/// The owner's action runs after the handshake and gphoto2 sees it; on SIGTERM the simulator
/// writes what the host did to the --stats file.
#[test]
fn owner_action_and_stats_file() {
    let stats = std::env::temp_dir().join(format!("sonyctl-stats-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&stats);
    let mut sim = Simulator::start_with(
        "ilce-6000",
        &[
            "--act",
            "0s:set iso 1600",
            "--stats",
            stats.to_str().unwrap(),
        ],
    );
    assert_eq!(current(&sim.stdout(&["--get-config", "iso"])), "1600");
    let pid = sim.sim.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = sim.sim.child.wait().unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(json["model"], "ILCE-6000");
    let host = &json["hosts"][0];
    assert!(
        host["operations"]["0x9209"].as_u64().unwrap() >= 1,
        "{json}"
    );
    assert_eq!(
        host["operations"]["0x9201"].as_u64().unwrap() % 3,
        0,
        "{json}"
    );
    assert!(host["bytes_out"].as_u64().unwrap() > 1000);
    let _ = std::fs::remove_file(&stats);
}
