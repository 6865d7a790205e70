//! `sonyctl simulate`: runs a simulated camera body in the foreground, reachable over PTP/IP, so
//! any PTP/IP host (libgphoto2's `gphoto2`, sonyctl itself) can connect to it.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use clap::Args;
use sonyctl_sim::{Fault, Profile, ScheduledAction, SimOptions, SimulatedCamera};
use sonyctl_transport::usbip_server::BUS_ID;
use sonyctl_transport::{PtpIpServer, ServerOptions, UsbIpOptions, UsbIpServer};

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
    /// drop-events, hostile-filename, disconnect-after-data, phantom-pending, lv-not-ready, lv-off.
    #[arg(long = "fault", value_name = "NAME", value_parser = parse_fault)]
    faults: Vec<Fault>,
    /// The owner's action at a time after the first host's SDIO handshake (repeatable):
    /// `2s:set iso 800`, `5s:mode a`, `1m:shutter`, `90s:unplug`, `10s:battery 15`,
    /// `0s:set lenr on`, `0s:set scene dark`.
    #[arg(long = "act", value_name = "DELAY:ACTION", value_parser = parse_action)]
    actions: Vec<ScheduledAction>,
    /// Size of the RAW files shots produce, for large downloads: 200MB, 64MiB, 5000000.
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
        let mut stop = Stop::listen()?;
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
            let result = tokio::select! {
                r = server.run() => r.context("the USB/IP server stopped"),
                r = stop.wait() => r,
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
        let result = tokio::select! {
            r = server.run() => r.context("the PTP/IP server stopped"),
            r = stop.wait() => r,
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

/// What ends the camera: Ctrl-C or SIGTERM.
struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    /// Starts listening for the signals (within the runtime). Until this returns, either one
    /// ends the process at once.
    #[cfg(unix)]
    fn listen() -> Result<Stop> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Stop {
            interrupt: signal(SignalKind::interrupt()).context("cannot wait for Ctrl-C")?,
            terminate: signal(SignalKind::terminate()).context("cannot wait for SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    fn listen() -> Result<Stop> {
        Ok(Stop {})
    }

    /// Resolves when one of the signals arrives.
    #[cfg(unix)]
    async fn wait(&mut self) -> Result<()> {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        Ok(())
    }

    #[cfg(not(unix))]
    async fn wait(&mut self) -> Result<()> {
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")
    }
}

/// A built-in profile by name, or a profile file when `name` is a path to a `.toml` file.
pub fn load_profile(name: &str) -> Result<Profile> {
    if name.ends_with(".toml") || name.contains(std::path::MAIN_SEPARATOR) || name.contains('/') {
        let text = std::fs::read_to_string(name).with_context(|| format!("cannot read {name}"))?;
        return Profile::from_toml(&text)
            .with_context(|| format!("{name} is not a usable profile"));
    }
    Ok(Profile::builtin(name)?)
}
