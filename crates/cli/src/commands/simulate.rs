//! `sonyctl simulate`: runs a simulated camera body in the foreground, reachable over PTP/IP, so
//! any PTP/IP host (libgphoto2's `gphoto2`, sonyctl itself) can connect to it.
//!
//! The owner's actions come from `--act` (at a time after the first host's handshake) and from
//! standard input, one a line, done when the line arrives: a test makes "the owner turns a dial"
//! happen at the moment it chooses. Both are parsed by `OwnerAction`'s `FromStr`, the one
//! parser of that syntax.

use std::io::{BufRead, IsTerminal, Read};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use sonyctl_sim::{Fault, OwnerAction, ScheduledAction, SimOptions, SimulatedCamera};
use sonyctl_transport::usbip_server::BUS_ID;
use sonyctl_transport::{PtpIpServer, ServerOptions, UsbIpOptions, UsbIpServer};

use crate::signals::Signals;

/// Arguments of `sonyctl simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Camera model (ilce-7sm3, dsc-rx100m7, ilce-6000, ilce-6400), or a profile file (.toml).
    #[arg(long, default_value = "ilce-7sm3")]
    model: String,
    /// Serve PTP/IP on ADDR:PORT (port 0 picks a free port; the chosen address is printed).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "usbip")]
    ptpip: Option<SocketAddr>,
    /// Export the camera as a USB device over USB/IP on ADDR:PORT (usually port 3240); attach it
    /// on a Linux machine with `usbip attach -r HOST -b 1-1` (module vhci-hcd).
    #[arg(long, value_name = "ADDR:PORT")]
    usbip: Option<SocketAddr>,
    /// Camera seconds per real second (2 runs the camera twice as fast).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Show a fault (repeatable): busy, slow, slow-start, disconnect-mid-data, garbage,
    /// drop-events, hostile-filename, disconnect-after-data, phantom-pending, lv-not-ready, lv-off,
    /// next-frame-writing.
    #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault)]
    faults: Vec<Fault>,
    /// The owner's action at a time after the first host's SDIO handshake (repeatable):
    /// `2s:set iso 800`, `5s:mode a`, `1m:shutter`, `90s:unplug`, `10s:battery 15`,
    /// `0s:set lenr on`, `0s:set scene dark`. Standard input takes the same actions without
    /// the delay, done when each line arrives.
    #[arg(long = "act", value_name = "DELAY:ACTION", value_parser = parse_action)]
    actions: Vec<ScheduledAction>,
    /// Size of the RAW files shots produce, for large downloads: 200MB, 64MiB, 5000000.
    /// Without it a RAW is the body's real-sized ARW (about 1 byte a pixel compressed, 2
    /// uncompressed). A size above the ARW's pads it with zeros after the raster (still a valid
    /// ARW); a size below it gives a TIFF header and filler bytes instead (not an ARW).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    raw_size: Option<u64>,
    /// Seed for everything random (faults).
    #[arg(long, default_value_t = 0x5EED)]
    seed: u64,
    /// Write what each host did (operations, bytes, live view, camera time) to FILE as JSON on
    /// exit (Ctrl-C or SIGTERM).
    #[arg(long, value_name = "FILE")]
    stats: Option<std::path::PathBuf>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size such as 200MB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        other => {
            return Err(format!(
                "{s:?}: unknown unit {other:?} (B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    let size = n
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    // A PTP object's size is 32-bit (ObjectInfo, USB containers): stay below 4 GiB.
    if !(1024..=u64::from(u32::MAX) - 4096).contains(&size) {
        return Err(format!("{s:?}: a RAW size between 1 KiB and 4 GiB"));
    }
    Ok(size)
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    s.parse()
}

fn parse_action(s: &str) -> Result<ScheduledAction, String> {
    s.parse()
}

/// The `--stats` file: per host, operations by code, bytes, and the camera's own time.
fn stats_json(cam: &SimulatedCamera) -> serde_json::Value {
    {
        let (exposing, processing) = cam.camera_time();
        let hosts: Vec<serde_json::Value> = cam
            .all_stats()
            .into_iter()
            .map(|(id, s)| {
                let ops: serde_json::Map<String, serde_json::Value> = s
                    .operations
                    .iter()
                    .map(|(code, n)| (format!("{code:#06X}"), serde_json::Value::from(*n)))
                    .collect();
                serde_json::json!({
                    "connection": id.0,
                    "round_trips": s.round_trips(),
                    "operations": ops,
                    "steps": s.steps,
                    "bytes_in": s.bytes_in,
                    "bytes_out": s.bytes_out,
                    "transfers": s.transfers.iter().map(|(b, d)| serde_json::json!({
                        "bytes": b, "seconds": d.as_secs_f64(),
                    })).collect::<Vec<_>>(),
                    "live_view": live_view_json(&s.live_view),
                })
            })
            .collect();
        let images: Vec<serde_json::Value> = cam
            .produced()
            .iter()
            .map(|p| {
                serde_json::json!({
                    "shot": p.shot,
                    "name": p.file.filename,
                    "format": p.file.format,
                    "size": p.file.size(),
                    "sha256": sha256_hex(&p.file),
                    "exposure_start_s": p.exposure_start.as_secs_f64(),
                    "exposure_s": p.exposure.as_secs_f64(),
                })
            })
            .collect();
        serde_json::json!({
            "model": cam.profile().device_info.model,
            "images": images,
            "camera_time": {
                "exposing_s": exposing.as_secs_f64(),
                "processing_s": processing.as_secs_f64(),
                "focusing_s": cam.focusing_time().as_secs_f64(),
            },
            "hosts": hosts,
        })
    }
}

/// One host's live view: requests for 0xFFFFC002 and their answers, frames, and each frame's
/// age (camera time from when it was produced to when its last byte left).
fn live_view_json(lv: &sonyctl_sim::LiveViewStats) -> serde_json::Value {
    let ms = |d: &std::time::Duration| d.as_secs_f64() * 1000.0;
    serde_json::json!({
        "frames_produced": lv.frames_produced,
        "frames_sent": lv.frames_sent,
        "get_object": lv.get_object,
        "get_object_info": lv.get_object_info,
        "requests": lv.requests(),
        "access_denied": lv.access_denied,
        "invalid_handle": lv.invalid_handle,
        "flooding": lv.flooding,
        "frame_ages_ms": lv.frame_ages.iter().map(ms).collect::<Vec<_>>(),
        "frame_interval_ms": ms(&lv.frame_interval),
    })
}

/// SHA-256 of a simulated file, read in pieces.
fn sha256_hex(f: &sonyctl_sim::image::ShotFile) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut at = 0;
    while at < f.size() {
        let piece = f.read(at, 1 << 20);
        if piece.is_empty() {
            break;
        }
        at += piece.len() as u64;
        h.update(&piece);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `sonyctl simulate` until Ctrl-C or SIGTERM.
pub fn run(args: &SimulateArgs, verbose: bool) -> Result<()> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!(
            "--time-scale must be a positive number, not {}",
            args.time_scale
        );
    }
    if args.ptpip.is_none() && args.usbip.is_none() {
        bail!(
            "say where to serve the camera: --ptpip ADDR:PORT (e.g. --ptpip 127.0.0.1:15740) or \
             --usbip ADDR:PORT (e.g. --usbip 127.0.0.1:3240)"
        );
    }
    let profile = load_profile(&args.model)?;
    let model = profile.device_info.model.clone();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // Listening before the address is printed: a signal sent as soon as a script has read
        // the address still ends the camera in order, with its --stats.
        let mut stop = Signals::new()?;
        let options = SimOptions {
            seed: args.seed,
            faults: args.faults.iter().copied().collect(),
            actions: args.actions.clone(),
            raw_size: args.raw_size,
            ..SimOptions::default()
        };
        let camera = SimulatedCamera::new(profile, options);
        for a in &args.actions {
            camera
                .check_action(&a.action)
                .map_err(|e| anyhow::anyhow!("--act {:?}: {e}", a.action))?;
        }
        if let Some(addr) = args.usbip {
            let server = UsbIpServer::bind(
                addr,
                camera,
                UsbIpOptions {
                    time_scale: args.time_scale,
                    verbose,
                },
            )
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
            let bound = server.local_addr()?;
            stdout_line!("simulated {model} on usbip {bound} busid {BUS_ID}");
            stderr_line!(
                "sonyctl: simulated {model} exported over USB/IP on {bound}; Ctrl-C stops it. On \
                 Linux: sudo modprobe vhci-hcd && sudo usbip --tcp-port {} attach -r {} -b {BUS_ID}",
                bound.port(),
                bound.ip()
            );
            let handle = server.camera();
            let owner = handle.clone();
            start_owner_input(move |a| owner.with(|c| c.owner(a).map(|()| c.now())))?;
            let result = tokio::select! {
                r = server.run() => r.context("the USB/IP server stopped"),
                r = stop.next() => r,
            };
            write_stats(args, handle.with(|c| stats_json(c)))?;
            return result;
        }
        let Some(addr) = args.ptpip else {
            bail!("say where to serve the camera: --ptpip ADDR:PORT or --usbip ADDR:PORT");
        };
        let server = PtpIpServer::bind(
            addr,
            camera,
            ServerOptions {
                time_scale: args.time_scale,
                verbose,
            },
        )
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = server.local_addr()?;
        stdout_line!("simulated {model} on ptpip {bound}");
        stderr_line!(
            "sonyctl: simulated {model} listening on {bound} (PTP/IP); Ctrl-C stops it. gphoto2: --port ptpip:{}:{}:{}",
            bound.ip(),
            bound.port(),
            bound.port()
        );
        let handle = server.camera();
        let owner = handle.clone();
        start_owner_input(move |a| owner.with(|c| c.owner(a).map(|()| c.now())))?;
        let result = tokio::select! {
            r = server.run() => r.context("the PTP/IP server stopped"),
            r = stop.next() => r,
        };
        write_stats(args, handle.with(|c| stats_json(c)))?;
        result
    })
}

fn write_stats(args: &SimulateArgs, stats: serde_json::Value) -> Result<()> {
    if let Some(path) = &args.stats {
        let text = serde_json::to_string_pretty(&stats)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the stats to {}", path.display()))?;
    }
    Ok(())
}

/// Reads the owner's actions from standard input on a thread of its own, each done by `apply`
/// (which answers the camera time it was done at) when its line arrives. The thread is never
/// joined: a read cannot be cancelled, and the process ends without waiting for it.
///
/// A terminal is not read: a `sonyctl simulate … &` started from an interactive shell would be
/// stopped (SIGTTIN) at its first read of the terminal, and the camera with it. Type actions
/// through a pipe instead (`cat | sonyctl simulate …`).
fn start_owner_input(
    apply: impl FnMut(&OwnerAction) -> Result<Duration, String> + Send + 'static,
) -> Result<()> {
    if std::io::stdin().is_terminal() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("owner-input".into())
        .spawn(move || {
            read_owner_actions(std::io::stdin().lock(), apply, |line| {
                stderr_line!("sonyctl: {line}")
            });
        })
        .context("cannot start reading the owner's actions from standard input")?;
    Ok(())
}

/// The longest owner line read; a longer one is reported and skipped.
const MAX_OWNER_LINE: usize = 4096;

/// Reads owner actions from `input` until its end, one a line in `--act`'s syntax without the
/// delay; blank lines and lines starting with `#` are skipped. Each action is handed to `apply`
/// as its line arrives; `report` gets one line per action: done (with the camera time `apply`
/// answered), or not done and why (a line that does not parse, is not UTF-8 or is too long,
/// or an action the camera refuses: then nothing was done). The end of the input is reported
/// when there was any; a read error ends the input as its end does, with a report.
fn read_owner_actions(
    mut input: impl BufRead,
    mut apply: impl FnMut(&OwnerAction) -> Result<Duration, String>,
    mut report: impl FnMut(String),
) {
    let mut number: u64 = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut input)
            .take(MAX_OWNER_LINE as u64 + 1)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) => {
                // Said only after some input, so a camera started without any stays quiet.
                if number > 0 {
                    report(
                        "standard input ended; the camera goes on until Ctrl-C or SIGTERM".into(),
                    );
                }
                return;
            }
            Ok(_) => {}
            Err(e) => {
                report(format!(
                    "cannot read the owner's actions from standard input any more ({e}); the \
                     camera goes on"
                ));
                return;
            }
        }
        number += 1;
        if line.len() > MAX_OWNER_LINE && line.last() != Some(&b'\n') {
            report(format!(
                "stdin line {number}: longer than {MAX_OWNER_LINE} bytes: not done"
            ));
            // The rest of the line, in pieces.
            loop {
                line.clear();
                match (&mut input)
                    .take(MAX_OWNER_LINE as u64)
                    .read_until(b'\n', &mut line)
                {
                    Ok(0) | Err(_) => return,
                    Ok(_) if line.last() == Some(&b'\n') => break,
                    Ok(_) => {}
                }
            }
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            report(format!("stdin line {number}: not UTF-8: not done"));
            continue;
        };
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let shown = crate::text::sanitize(text);
        let done = text.parse::<OwnerAction>().and_then(|a| apply(&a));
        report(match done {
            Ok(at) => format!(
                "stdin line {number}: {shown}: done at camera time {:.3} s",
                at.as_secs_f64()
            ),
            Err(e) => format!("stdin line {number}: {shown}: not done: {e}"),
        });
    }
}

pub use sonyctl_open::load_profile;

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` to `read_owner_actions`; returns the actions applied and the reports.
    /// `apply` refuses `battery 7`, as a camera without that level would.
    fn feed(input: &[u8]) -> (Vec<OwnerAction>, Vec<String>) {
        let mut applied = Vec::new();
        let mut reports = Vec::new();
        read_owner_actions(
            input,
            |a| {
                if *a == OwnerAction::Battery(7) {
                    return Err("refused".into());
                }
                applied.push(a.clone());
                Ok(Duration::from_millis(1500 * applied.len() as u64))
            },
            |r| reports.push(r),
        );
        (applied, reports)
    }

    #[test]
    fn owner_lines_are_done_in_order_and_reported() {
        let (applied, reports) = feed(b"set iso 800\n\n  # a comment\r\n  shutter  \r\nunplug");
        assert_eq!(
            applied,
            [
                OwnerAction::Set("iso".into(), "800".into()),
                OwnerAction::Shutter,
                OwnerAction::Unplug
            ]
        );
        assert_eq!(
            reports,
            [
                "stdin line 1: set iso 800: done at camera time 1.500 s",
                "stdin line 4: shutter: done at camera time 3.000 s",
                "stdin line 5: unplug: done at camera time 4.500 s",
                "standard input ended; the camera goes on until Ctrl-C or SIGTERM",
            ]
        );
    }

    #[test]
    fn bad_owner_lines_are_reported_and_the_rest_goes_on() {
        let long = format!("set iso {}\n", "8".repeat(MAX_OWNER_LINE * 3));
        let mut input = b"dance\nbattery 7\nset iso\n\xff\xfe\n".to_vec();
        input.extend_from_slice(long.as_bytes());
        input.extend_from_slice(b"\x1b[2J\nbattery 15\n");
        let (applied, reports) = feed(&input);
        assert_eq!(applied, [OwnerAction::Battery(15)]);
        assert_eq!(reports.len(), 8, "{reports:#?}");
        let r = |i: usize| reports[i].as_str();
        assert!(r(0).starts_with("stdin line 1: dance: not done: unknown action"));
        assert_eq!(r(1), "stdin line 2: battery 7: not done: refused");
        assert!(r(2).starts_with("stdin line 3: set iso: not done: unknown action"));
        assert_eq!(r(3), "stdin line 4: not UTF-8: not done");
        assert_eq!(
            r(4),
            format!("stdin line 5: longer than {MAX_OWNER_LINE} bytes: not done")
        );
        // Control characters from the input do not reach the terminal.
        assert!(
            r(5).starts_with("stdin line 6: \\u{1b}[2J: not done"),
            "{}",
            r(5)
        );
        assert_eq!(
            r(6),
            "stdin line 7: battery 15: done at camera time 1.500 s"
        );
        assert!(r(7).starts_with("standard input ended"));
    }

    #[test]
    fn no_input_does_nothing() {
        assert_eq!(feed(b""), (vec![], vec![]));
        let (applied, reports) = feed(b"\n# only a comment\n");
        assert_eq!(applied, []);
        assert_eq!(
            reports,
            ["standard input ended; the camera goes on until Ctrl-C or SIGTERM"]
        );
    }

    #[test]
    fn a_line_of_the_longest_length_is_read() {
        let line = format!("set iso 800{}\n", " ".repeat(MAX_OWNER_LINE - 11));
        assert_eq!(line.len(), MAX_OWNER_LINE + 1);
        let (applied, reports) = feed(line.as_bytes());
        assert_eq!(applied.len(), 1, "{reports:?}");
    }
}
