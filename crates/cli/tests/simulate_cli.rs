//! `sonyctl simulate` end to end: `--stats` (a host polls live view over PTP/IP and the file
//! says, for that host, what it asked and what it got; SIGTERM writes it), and the owner's
//! actions on standard input reaching a host at the moment a test chooses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{Simulator, lines, ok, wait_line};
use serde_json::Value as Json;
use sonyctl_ptp::{Operation, OperationCode, Params, ResponseCode};
use sonyctl_transport::{ConnectOptions, PtpIpClient, Transport};

/// Opens a session and asks for 0xFFFFC002 `polls` times (GetObjectInfo before every second
/// GetObject), 10 ms apart; returns the frames received.
async fn poll_live_view(port: u16, polls: u32) -> u64 {
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut client = PtpIpClient::connect(addr, &ConnectOptions::default())
        .await
        .unwrap();
    let mut tid = 0;
    let mut ask = async |client: &mut PtpIpClient, code: u16, params: &[u32]| {
        tid += 1;
        let op = Operation {
            code: OperationCode(code),
            transaction_id: tid,
            params: Params::new(params).unwrap(),
        };
        client.transact(&op, None, 1 << 24).await.unwrap()
    };
    assert_eq!(
        ask(&mut client, 0x1002, &[1]).await.0.code,
        ResponseCode::OK
    );
    let mut frames = 0;
    for i in 0..polls {
        if i % 2 == 0 {
            let (r, _) = ask(&mut client, 0x1008, &[0xFFFF_C002]).await;
            assert_eq!(r.code, ResponseCode::OK);
        }
        let (r, data) = ask(&mut client, 0x1009, &[0xFFFF_C002]).await;
        if r.code == ResponseCode::OK {
            sonyctl_sony::LiveViewFrame::decode(&data.unwrap()).unwrap();
            frames += 1;
        } else {
            assert_eq!(r.code, ResponseCode::ACCESS_DENIED);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ask(&mut client, 0x1003, &[]).await;
    frames
}

#[test]
fn stats_count_each_hosts_live_view() {
    let root = tempfile::tempdir().unwrap();
    let stats = root.path().join("stats.json");
    let sim = Simulator::start("ilce-7sm3", &["--stats", stats.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let frames = runtime.block_on(poll_live_view(sim.port, 30));
    sim.stop();
    let stats: Json = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let lv = &stats["hosts"][0]["live_view"];
    let n = |key: &str| lv[key].as_u64().unwrap_or_else(|| panic!("{key} in {lv}"));
    assert_eq!(n("frames_sent"), frames);
    assert_eq!((n("get_object"), n("get_object_info")), (30, 15));
    assert_eq!(n("requests"), 45);
    assert_eq!(n("access_denied"), 30 - frames);
    assert_eq!(n("invalid_handle"), 0);
    assert!(n("frames_produced") >= frames);
    let _ = n("flooding");
    let ages = lv["frame_ages_ms"].as_array().unwrap();
    assert_eq!(ages.len() as u64, frames);
    assert!(ages.iter().all(|a| a.as_f64().unwrap() >= 0.0));
    let interval = lv["frame_interval_ms"].as_f64().unwrap();
    assert!((interval - 1000.0 / 30.0).abs() < 0.001, "{interval}");
    // Polls at least 10 ms apart, frames 33.3 ms apart: one in four polls at least.
    assert!(frames >= 7, "{frames} frames in 30 polls");
}

/// `sonyctl get iso` against the simulated camera.
fn get_iso(sim: &Simulator) -> String {
    ok(&["--camera", &sim.spec(), "get", "iso"])
        .trim()
        .to_string()
}

#[test]
fn an_owner_action_on_standard_input_reaches_a_host() {
    let mut sim = Simulator::start_with_owner("ilce-7sm3", &[]);
    let before = get_iso(&sim);
    assert_ne!(before, "800");
    sim.owner("set iso 800");
    let done = sim.wait_stderr("stdin line 1: ");
    assert!(
        done.starts_with("sonyctl: stdin line 1: set iso 800: done at camera time "),
        "{done}"
    );
    assert_eq!(get_iso(&sim), "800");

    // A host watching hears the owner turn the dial. The watch's first reading of the
    // settings is its baseline, and nothing says when it has taken it, so the dial turns
    // until the watch reports a turn.
    let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_sonyctl"))
        .args(["--camera", &sim.spec(), "watch", "--json"])
        .env_remove("SONYCTL_CAMERA")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let changes = lines(watch.stdout.take().unwrap());
    let mut set = vec!["800".to_string()];
    let mut heard = None;
    for turn in 0..60 {
        let value = if turn % 2 == 0 { "1600" } else { "800" };
        sim.owner(&format!("set iso {value}"));
        sim.wait_stderr(&format!("stdin line {}: set iso {value}: done", turn + 2));
        set.push(value.to_string());
        let iso = |l: &str| serde_json::from_str::<Json>(l).is_ok_and(|j| j["name"] == "ISO");
        if let Ok(line) = wait_line(&changes, iso, Duration::from_secs(1)) {
            heard = Some(line);
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let heard: Json =
        serde_json::from_str(&heard.expect("the watch heard no turn of the dial")).unwrap();
    let (old, new) = (
        heard["old"].as_str().unwrap(),
        heard["new"].as_str().unwrap(),
    );
    assert_ne!(old, new);
    assert!(
        set.windows(2).any(|w| w[0] == old && w[1] == new),
        "{heard} is not a turn the owner made ({set:?})"
    );
}

#[test]
fn bad_owner_lines_are_reported_and_the_camera_goes_on() {
    let mut sim = Simulator::start_with_owner("ilce-7sm3", &[]);
    let before = get_iso(&sim);
    sim.owner("dance");
    let line = sim.wait_stderr("stdin line 1: ");
    assert!(
        line.starts_with("sonyctl: stdin line 1: dance: not done: unknown action"),
        "{line}"
    );
    sim.owner("set iso loud");
    let line = sim.wait_stderr("stdin line 2: ");
    assert!(
        line.starts_with("sonyctl: stdin line 2: set iso loud: not done: "),
        "{line}"
    );
    sim.owner("set nosuchsetting 3");
    let line = sim.wait_stderr("stdin line 3: ");
    assert!(line.contains(": not done: "), "{line}");
    // Nothing was done, and the camera still answers.
    assert_eq!(get_iso(&sim), before);

    // Blank lines and comments are passed over; the next action is done.
    sim.owner("");
    sim.owner("# the owner turns the dial");
    sim.owner("  set iso 1600  ");
    let line = sim.wait_stderr("stdin line 6: ");
    assert!(
        line.starts_with("sonyctl: stdin line 6: set iso 1600: done"),
        "{line}"
    );
    assert_eq!(get_iso(&sim), "1600");

    // The end of standard input changes nothing: the camera answers as before.
    sim.close_owner();
    sim.wait_stderr("standard input ended");
    assert_eq!(get_iso(&sim), "1600");
    assert!(sim.child.try_wait().unwrap().is_none());
    assert!(sim.terminate().success());
}

/// Starts `sonyctl simulate --stats STATS` from bash without standard input and sends it
/// SIGTERM with bash's own `kill` the moment its address line is read, as a script would;
/// returns its exit status as bash reports it.
fn terminated_at_once(stats: &std::path::Path) -> String {
    let script = r#"coproc SIM ( exec "$0" simulate --ptpip 127.0.0.1:0 --stats "$1" </dev/null 2>/dev/null )
read -r -u "${SIM[0]}" line || exit 99
kill -TERM "$SIM_PID"
wait "$SIM_PID"
echo "$?""#;
    let out = std::process::Command::new("bash")
        .args(["-c", script, env!("CARGO_BIN_EXE_sonyctl")])
        .arg(stats)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn sigterm_writes_the_stats_and_exits_0() {
    let root = tempfile::tempdir().unwrap();
    // Without standard input, as scripts start it; SIGTERM the moment the address is out.
    for run in 0..5 {
        let stats = root.path().join(format!("stats-{run}.json"));
        assert_eq!(terminated_at_once(&stats), "0", "run {run}");
        let stats: Json = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
        assert_eq!(stats["model"], "ILCE-7SM3");
        assert_eq!(stats["hosts"], serde_json::json!([]));
    }
    // After a host has been.
    let stats = root.path().join("stats.json");
    let sim = Simulator::start("ilce-7sm3", &["--stats", stats.to_str().unwrap()]);
    get_iso(&sim);
    let status = sim.terminate();
    assert!(status.success(), "{status}");
    let stats: Json = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(stats["hosts"].as_array().unwrap().len(), 1, "{stats}");
}
