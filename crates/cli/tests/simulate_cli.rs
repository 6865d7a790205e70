//! `sonyctl simulate` end to end: `--stats` (a host polls live view over PTP/IP and the file
//! says, for that host, what it asked and what it got; SIGTERM writes it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{Simulator, ok};
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
