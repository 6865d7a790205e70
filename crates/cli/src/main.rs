//! `sonyctl`: remote-control Sony Alpha cameras over PTP from the command line.
//!
//! This binary owns argument parsing and output; the protocol work is in `sonyctl-ptp` and
//! `sonyctl-sony`. Exit codes: 0 success, 1 an error (one line on standard error), 2 a usage
//! error (from clap).

mod advice;
mod camera;
mod capture;
mod decode;
mod props;
mod simulate;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Remote-control Sony Alpha cameras over PTP (USB, PTP/IP).
#[derive(Parser, Debug)]
#[command(name = "sonyctl", version, about, long_about = None)]
struct Cli {
    /// The camera: `sim[:MODEL]` (the built-in simulated camera), `ip:HOST[:PORT]` (PTP/IP; IPv6
    /// as `ip:[::1]:PORT`) or `usb[:SERIAL]`.
    #[arg(long, global = true, env = "SONYCTL_CAMERA", value_name = "CAMERA")]
    camera: Option<camera::CameraSpec>,
    /// Record the raw traffic to FILE for a bug report (`sonyctl decode FILE` reads it back).
    #[arg(long, global = true, value_name = "FILE")]
    trace: Option<std::path::PathBuf>,
    /// Log the decoded PTP traffic to standard error.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode PTP / PTP/IP / Sony SDIO bytes (hex dump or raw binary) into a table or JSON.
    Decode(decode::DecodeArgs),
    /// Run a simulated Sony camera (reachable over PTP/IP) until Ctrl-C.
    Simulate(simulate::SimulateArgs),
    /// Sony cameras on USB: model, serial, mode (PC Remote, MTP, mass storage), bus and address.
    List(camera::ListArgs),
    /// Model, firmware, serial, protocol version, battery, lens and save destination.
    Info(camera::ReadArgs),
    /// Every setting the camera reports: name, value, access, settable values.
    Props(camera::ReadArgs),
    /// Print settings, each value on its own line: `sonyctl get iso shutter`.
    Get(camera::GetArgs),
    /// Change settings and wait until the camera reports them: `sonyctl set iso 800 shutter 1/250`.
    Set(camera::SetArgs),
    /// Log every change of a setting, new images and a lost connection, until Ctrl-C or --for.
    Watch(camera::WatchArgs),
    /// Take pictures and download them: single, --count/--interval (timelapse), --bulb, --burst.
    Capture(capture::CaptureArgs),
    /// Studio tethering: save every image shot with the camera's own button, as it appears.
    Tether(capture::TetherArgs),
    /// Half-press autofocus only; prints `focused` or `not focused` (exit 1).
    Af,
    /// Drive the lens in manual focus: `sonyctl focus near 3 --steps 5`.
    Focus(capture::FocusArgs),
    /// Move the AF point, in the 640×480 live-view space: `sonyctl focus-point 320 240`.
    FocusPoint(capture::FocusPointArgs),
    /// Start or stop movie recording.
    Movie(capture::MovieArgs),
    /// Release every shutter and focus button (after something went wrong).
    Release,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init();
    let g = camera::Globals {
        camera: cli.camera,
        trace: cli.trace,
    };
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Simulate(args) => simulate::run(&args, cli.verbose),
        Command::List(args) => camera::list(&args),
        Command::Info(args) => camera::info(&g, &args),
        Command::Props(args) => camera::props(&g, &args),
        Command::Get(args) => camera::get(&g, &args),
        Command::Set(args) => camera::set(&g, &args),
        Command::Watch(args) => camera::watch(&g, &args),
        Command::Capture(args) => capture::capture(&g, &args),
        Command::Tether(args) => capture::tether(&g, &args),
        Command::Af => capture::af(&g),
        Command::Focus(args) => capture::focus(&g, &args),
        Command::FocusPoint(args) => capture::focus_point(&g, &args),
        Command::Movie(args) => capture::movie(&g, &args),
        Command::Release => capture::release(&g),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`sonyctl decode … | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // Already said on standard output (`af`: not focused).
        Err(e) if e.downcast_ref::<capture::Reported>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            // One line: the chain of causes joined, so scripts can log it.
            let mut msg = String::new();
            for cause in e.chain().map(|c| c.to_string()) {
                // Error types often repeat their source in their own text: print it once.
                if !msg.contains(&cause) {
                    if !msg.is_empty() {
                        msg.push_str(": ");
                    }
                    msg.push_str(&cause);
                }
            }
            eprintln!(
                "sonyctl: {}",
                text::sanitize(&advice::with_advice(&e, &msg))
            );
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}
