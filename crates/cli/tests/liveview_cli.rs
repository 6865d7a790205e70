//! `sonyctl liveview` end to end: the built binary against the simulated camera (in process, or
//! `sonyctl simulate` over PTP/IP). The motion-JPEG output is split into its JPEGs by walking
//! their markers, each checked against the `--frames` file and the `--json` line of the same
//! frame, and decoded by Debian's ffmpeg (which `scripts/test` installs; on CI a missing ffmpeg
//! fails the test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Simulator, ok, sonyctl};
use serde_json::Value as Json;

/// The longest a run may take before the test calls it hung (a guard, not a measurement).
const HANG: Duration = Duration::from_secs(120);

/// The built binary, with a private HOME and no `SONYCTL_CAMERA`.
fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sonyctl"));
    c.args(args).env_remove("SONYCTL_CAMERA").env(
        "HOME",
        std::env::temp_dir().join(format!("sonyctl-home-{}", std::process::id())),
    );
    c
}

/// Runs `sonyctl args`, killing it if it hangs.
fn run(args: &[&str]) -> Output {
    let mut child = command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        stdout.read_to_end(&mut b).unwrap();
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        stderr.read_to_end(&mut b).unwrap();
        b
    });
    let status = wait_or_kill(&mut child, args);
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn wait_or_kill(child: &mut std::process::Child, what: &[&str]) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sonyctl {what:?} did not end within {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `sonyctl args` must succeed; its output.
fn succeed(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {:?} {}",
        out.status,
        text(&out.stderr)
    );
    out
}

/// The JPEGs of a motion-JPEG stream, each found by walking its markers to EOI; the stream must
/// be nothing else (no partial frame, no bytes between frames).
fn split_jpegs(mut stream: &[u8]) -> Vec<&[u8]> {
    let mut jpegs = Vec::new();
    while !stream.is_empty() {
        let len = sonyctl_sony::live_view::jpeg_end(stream).unwrap_or_else(|(at, why)| {
            panic!(
                "frame {}: not a whole JPEG at byte {at}: {why}",
                jpegs.len() + 1
            )
        });
        let (jpeg, rest) = stream.split_at(len);
        jpegs.push(jpeg);
        stream = rest;
    }
    jpegs
}

/// `ffmpeg`, if it can be run. On CI (`CI=true`) a missing ffmpeg fails the test; elsewhere the
/// ffmpeg half of a test is skipped, saying so.
fn ffmpeg() -> bool {
    let found = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "ffmpeg is missing: scripts/test installs it from Debian's packages (apt-get install \
             ffmpeg), and on CI the live-view tests need it"
        );
        eprintln!("ffmpeg not found: decoding with ffmpeg SKIPPED (install Debian's ffmpeg)");
    }
    found
}

/// Frames ffmpeg decodes from the motion JPEG on its standard input, with its own errors
/// (`-v error`) required empty. Returns one MD5 per decoded frame.
fn ffmpeg_decode(input: Stdio) -> Vec<String> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "mjpeg", "-i", "-"])
        .args(["-f", "framemd5", "-"])
        .stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg: {}", text(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "ffmpeg found errors: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.rsplit(',').next().unwrap().trim().to_string())
        .collect()
}

fn json_lines(stdout: &[u8]) -> Vec<Json> {
    text(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Milliseconds since midnight of an RFC 3339 time `…THH:MM:SS.mmmZ`.
fn millis_of_day(time: &str) -> u64 {
    assert!(time.len() == 24 && time.ends_with('Z'), "{time}");
    let clock = &time[11..23];
    let (h, m, s, ms) = (&clock[0..2], &clock[3..5], &clock[6..8], &clock[9..12]);
    let n = |t: &str| t.parse::<u64>().unwrap();
    ((n(h) * 60 + n(m)) * 60 + n(s)) * 1000 + n(ms)
}

/// Milliseconds from `earlier` to `later` (both from `millis_of_day`), across midnight too; a
/// step backwards shows as nearly a whole day.
fn elapsed_ms(earlier: u64, later: u64) -> u64 {
    const DAY: i64 = 86_400_000;
    (later as i64 - earlier as i64).rem_euclid(DAY) as u64
}

/// The `N frames …` closing line on standard error.
fn summary(stderr: &[u8]) -> String {
    text(stderr)
        .lines()
        .find(|l| l.contains(" skipped by --fps"))
        .unwrap_or_else(|| panic!("no closing line: {}", text(stderr)))
        .to_string()
}

#[test]
fn motion_jpeg_frames_and_json_agree_frame_by_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let mjpeg = tmp.path().join("lv.mjpeg");
    let dir = tmp.path().join("frames/new");
    let out = succeed(&[
        "--camera",
        "sim",
        "liveview",
        "--count",
        "10",
        "-o",
        mjpeg.to_str().unwrap(),
        "--frames",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let stream = std::fs::read(&mjpeg).unwrap();
    let jpegs = split_jpegs(&stream);
    assert_eq!(jpegs.len(), 10);
    // The picture changes every frame: no frame is written twice.
    assert!(jpegs.windows(2).all(|w| w[0] != w[1]));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 10);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let expected: Vec<String> = (1..=10).map(|n| format!("{n:06}.jpg")).collect();
    assert_eq!(names, expected, "only the frames, no temporary files");
    let mut last_time = 0;
    for (i, (jpeg, line)) in jpegs.iter().zip(&lines).enumerate() {
        let n = i + 1;
        assert_eq!(
            std::fs::read(dir.join(format!("{n:06}.jpg"))).unwrap(),
            *jpeg,
            "frame {n}"
        );
        assert_eq!(line["frame"], n, "{line}");
        assert_eq!(line["size"], jpeg.len(), "{line}");
        let time = millis_of_day(line["time"].as_str().unwrap());
        assert!(
            n == 1 || elapsed_ms(last_time, time) < 60_000,
            "{line} after {last_time}"
        );
        last_time = time;
        // 0xD213 as the Sony layer names it; the simulated camera reports it.
        assert!(line["focus"].is_string(), "{line}");
        let af = line["af_frames"].as_array().unwrap();
        let focus = af
            .iter()
            .find(|f| f["group"] == "focus")
            .unwrap_or_else(|| panic!("no focus frame: {line}"));
        let (x, y, w, h) = (
            focus["x"].as_f64().unwrap(),
            focus["y"].as_f64().unwrap(),
            focus["w"].as_f64().unwrap(),
            focus["h"].as_f64().unwrap(),
        );
        assert!(
            x >= 0.0 && y >= 0.0 && w > 0.0 && h > 0.0 && x + w <= 640.0 && y + h <= 480.0,
            "{line}"
        );
        assert!(focus["state"].is_u64(), "{line}");
    }
    let closing = summary(&out.stderr);
    assert!(closing.starts_with("sonyctl: 10 frames in "), "{closing}");
    if ffmpeg() {
        let md5s = ffmpeg_decode(Stdio::from(std::fs::File::open(&mjpeg).unwrap()));
        assert_eq!(md5s.len(), 10, "ffmpeg decoded {} frames", md5s.len());
        let mut distinct = md5s.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 10, "every decoded picture differs");
    }
}

#[test]
fn standard_output_feeds_ffmpeg_directly() {
    let decode = ffmpeg();
    let mut child = command(&["--camera", "sim", "liveview", "--count", "6", "-o", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    if decode {
        // sonyctl … -o - | ffmpeg -f mjpeg -i - …, as the README's recipe.
        let md5s = ffmpeg_decode(Stdio::from(stdout));
        assert_eq!(md5s.len(), 6);
        assert!(wait_or_kill(&mut child, &["-o", "-"]).success());
    } else {
        let mut stream = Vec::new();
        let mut stdout = stdout;
        stdout.read_to_end(&mut stream).unwrap();
        assert!(wait_or_kill(&mut child, &["-o", "-"]).success());
        assert_eq!(split_jpegs(&stream).len(), 6);
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // sonyctl … -o - | head -c 100000: no --count, so only the closed pipe ends it.
    let mut child = command(&["--camera", "sim", "liveview", "-o", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0u8; 100_000];
    stdout.read_exact(&mut head).unwrap();
    drop(stdout);
    let status = wait_or_kill(&mut child, &["-o", "-", "| head -c 100000"]);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The closing line and nothing else: no error about the pipe.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(" skipped by --fps"), "{stderr}");
    assert_eq!(&head[..2], [0xFF, 0xD8]);
}

/// `sonyctl args 2>&1 | head HEAD_ARGS`: both of sonyctl's outputs on the one pipe `head` reads
/// and closes early. What head printed and sonyctl's exit status.
#[cfg(unix)]
fn both_outputs_into_head(
    args: &[&str],
    head_args: &[&str],
) -> (Vec<u8>, std::process::ExitStatus) {
    use std::os::fd::OwnedFd;
    let mut head = Command::new("head")
        .args(head_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = OwnedFd::from(head.stdin.take().unwrap());
    let mut child = command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(pipe.try_clone().unwrap()))
        .stderr(Stdio::from(pipe))
        .spawn()
        .unwrap();
    // The test's own copies of the write end are gone (moved into `child`'s Command, dropped with
    // it after the spawn): once head exits, sonyctl is the pipe's only writer and has no reader.
    let mut shown = Vec::new();
    head.stdout.take().unwrap().read_to_end(&mut shown).unwrap();
    head.wait().unwrap();
    let status = wait_or_kill(&mut child, args);
    (shown, status)
}

#[cfg(unix)]
#[test]
fn standard_error_on_a_closed_pipe_is_no_panic() {
    // sonyctl … --json 2>&1 | head -1: the first JSON line, then nothing can be written to
    // either output; the closing line has nowhere to go and is dropped.
    let (shown, status) =
        both_outputs_into_head(&["--camera", "sim", "liveview", "--json"], &["-n", "1"]);
    let shown = text(&shown);
    assert_eq!(status.code(), Some(0), "{shown}");
    let line: Json =
        serde_json::from_str(shown.trim_end()).unwrap_or_else(|e| panic!("{e}: {shown}"));
    assert_eq!(line["frame"], 1);
    // The same with motion JPEG on standard output: head takes 100 bytes of the first frame.
    let (shown, status) =
        both_outputs_into_head(&["--camera", "sim", "liveview", "-o", "-"], &["-c", "100"]);
    assert_eq!(status.code(), Some(0));
    assert_eq!(shown.len(), 100);
    assert_eq!(&shown[..2], [0xFF, 0xD8]);
}

#[test]
fn usage_errors_are_refused_before_the_camera() {
    // No camera is given: these fail on the command line alone.
    for (args, says) in [
        (&["liveview", "--json", "-o", "-"][..], "--json and -o -"),
        (&["liveview"][..], "required"),
        (&["liveview", "--json", "--fps", "0"][..], "from 0.01"),
        (&["liveview", "--json", "--fps", "1e-310"][..], "from 0.01"),
        (&["liveview", "--json", "--fps", "NaN"][..], "from 0.01"),
        (&["liveview", "--json", "--count", "0"][..], "0"),
        (&["liveview", "--json", "--for", "0s"][..], "above zero"),
    ] {
        let out = sonyctl(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn existing_files_are_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let mjpeg = tmp.path().join("old.mjpeg");
    std::fs::write(&mjpeg, b"keep me").unwrap();
    let out = sonyctl(&["--camera", "sim", "liveview", "-o", mjpeg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("never overwrites"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&mjpeg).unwrap(), b"keep me");

    let dir = tmp.path().join("frames");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("000001.jpg"), b"keep me too").unwrap();
    let out = sonyctl(&[
        "--camera",
        "sim",
        "liveview",
        "--frames",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("already holds frames"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dir.join("000001.jpg")).unwrap(),
        b"keep me too"
    );
}

#[test]
fn for_counts_from_the_first_frame_and_fps_spaces_the_output() {
    let out = succeed(&["--camera", "sim", "liveview", "--for", "400ms", "--json"]);
    let lines = json_lines(&out.stdout);
    // The simulated camera sends 30 frames a second: about 12 in 400 ms. At least 40 % of them
    // (a bound a loaded machine keeps, not a measurement) shows the run lasted the duration
    // rather than ending at the first frame.
    let at_least = (0.4_f64 * 30.0 * 0.4).ceil() as usize;
    assert!(
        lines.len() >= at_least,
        "{} frames in 400 ms: {}",
        lines.len(),
        text(&out.stderr)
    );
    let numbers: Vec<u64> = lines.iter().map(|l| l["frame"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=lines.len() as u64).collect::<Vec<_>>());
    assert!(
        summary(&out.stderr).starts_with(&format!("sonyctl: {} frames in ", lines.len())),
        "{}",
        text(&out.stderr)
    );
    let times: Vec<u64> = lines
        .iter()
        .map(|l| millis_of_day(l["time"].as_str().unwrap()))
        .collect();
    // Every frame arrived less than 400 ms after the first (times are cut to the millisecond).
    assert!(
        elapsed_ms(*times.first().unwrap(), *times.last().unwrap()) <= 400,
        "{times:?}"
    );

    let out = succeed(&[
        "--camera", "sim", "liveview", "--fps", "10", "--count", "5", "--json",
    ]);
    let times: Vec<u64> = json_lines(&out.stdout)
        .iter()
        .map(|l| millis_of_day(l["time"].as_str().unwrap()))
        .collect();
    assert_eq!(times.len(), 5);
    // Never two frames within half of 1/10 s (times are rounded to the millisecond).
    assert!(
        times
            .windows(2)
            .all(|w| (49..60_000).contains(&elapsed_ms(w[0], w[1]))),
        "{times:?}"
    );
}

#[test]
fn quality_on_a_body_without_it_is_a_clear_error() {
    // The ILCE-6000's profile has no 0xD26A (the ILCE-7SM3 and the DSC-RX100M7 have it).
    let out = run(&[
        "--camera",
        "sim:ilce-6000",
        "liveview",
        "--quality",
        "low",
        "--json",
        "--count",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("ILCE-6000") && err.contains("0xD26A"), "{err}");
}

#[test]
fn quality_is_set_for_the_run_and_put_back() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = tmp.path().join("stats.json");
    let sim = Simulator::start("ilce-7sm3", &["--stats", stats.to_str().unwrap()]);
    let spec = sim.spec();
    let get = || ok(&["--camera", &spec, "get", "live-view-quality"]);
    assert_eq!(get(), "High\n");
    let sizes = |quality: &str| -> Vec<u64> {
        let run = ["liveview", "--quality", quality, "--count", "5", "--json"];
        let out = succeed(&[&["--camera", spec.as_str()][..], &run[..]].concat());
        json_lines(&out.stdout)
            .iter()
            .map(|l| l["size"].as_u64().unwrap())
            .collect()
    };
    let low = sizes("low");
    assert_eq!(get(), "High\n", "put back after the run");
    // Already high: nothing to set, nothing to put back.
    let high = sizes("high");
    assert_eq!(get(), "High\n");
    // The camera encodes at the quality asked for: low-quality frames are smaller.
    let mean = |v: &[u64]| v.iter().sum::<u64>() / v.len() as u64;
    assert!(mean(&low) < mean(&high), "low {low:?}, high {high:?}");
    sim.stop();
    // Protocol 300 sets absolutely (0x9205): once to low and once back, by the first run only.
    let stats: Json = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let sets: Vec<u64> = stats["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["operations"]["0x9205"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(sets.iter().sum::<u64>(), 2, "{sets:?}");
    // Every host ended its session, the live-view runs (through the service) as well as `get`:
    // none was found left open (which would show as a second OpenSession or a CloseSession
    // before it).
    for host in stats["hosts"].as_array().unwrap() {
        let ops = &host["operations"];
        let count = |code: &str| ops[code].as_u64().unwrap_or(0);
        assert_eq!((count("0x1002"), count("0x1003")), (1, 1), "{host}");
    }
}

#[test]
fn af_frames_follow_the_af_point() {
    let sim = Simulator::start("ilce-7sm3", &[]);
    let spec = sim.spec();
    ok(&["--camera", &spec, "focus-point", "100", "120"]);
    let out = succeed(&["--camera", &spec, "liveview", "--count", "2", "--json"]);
    for line in json_lines(&out.stdout) {
        let focus = line["af_frames"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["group"] == "focus")
            .cloned()
            .unwrap_or_else(|| panic!("{line}"));
        let f = |k: &str| focus[k].as_f64().unwrap();
        let (cx, cy) = (f("x") + f("w") / 2.0, f("y") + f("h") / 2.0);
        assert!(
            (cx - 100.0).abs() <= 1.0 && (cy - 120.0).abs() <= 1.0,
            "{line}"
        );
    }
}

#[test]
fn ctrl_c_ends_with_whole_frames_the_closing_line_and_the_quality_put_back() {
    let tmp = tempfile::tempdir().unwrap();
    let mjpeg = tmp.path().join("lv.mjpeg");
    let sim = Simulator::start("ilce-7sm3", &[]);
    let spec = sim.spec();
    let mut child = command(&[
        "--camera",
        &spec,
        "liveview",
        "--quality",
        "low",
        "-o",
        mjpeg.to_str().unwrap(),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Interrupted once frames flow (a guard against hanging, not a measurement).
    let start = Instant::now();
    while std::fs::metadata(&mjpeg).map_or(0, |m| m.len()) < 100_000 {
        assert!(start.elapsed() < HANG, "no frames written");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = wait_or_kill(&mut child, &["liveview", "then Ctrl-C"]);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    let closing = summary(stderr.as_bytes());
    let stream = std::fs::read(&mjpeg).unwrap();
    let n = split_jpegs(&stream).len();
    assert!(
        closing.starts_with(&format!("sonyctl: {n} frames in ")),
        "{closing}, {n} in the file"
    );
    assert_eq!(
        ok(&["--camera", &spec, "get", "live-view-quality"]),
        "High\n"
    );
}

/// A body whose live view never gets ready: the run does not wait for ever but ends with the
/// camera's error, non-zero, and the quality it set put back.
#[test]
fn a_body_without_live_view_is_a_clear_error() {
    let sim = Simulator::start("ilce-7sm3", &["--fault", "lv-off"]);
    let spec = sim.spec();
    let out = run(&[
        "--camera",
        &spec,
        "liveview",
        "--quality",
        "low",
        "--count",
        "1",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("no live view") && err.contains("InvalidObjectHandle"),
        "{err}"
    );
    assert_eq!(
        ok(&["--camera", &spec, "get", "live-view-quality"]),
        "High\n",
        "put back after the run"
    );
    sim.stop();
}
