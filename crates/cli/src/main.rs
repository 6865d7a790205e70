//! `sonyctl`: remote-control Sony Alpha cameras over PTP from the command line.
//!
//! This binary owns argument parsing and output; the protocol work is in `sonyctl-ptp` and
//! `sonyctl-sony`. Exit codes: 0 success, 1 an error (one line on standard error), 2 a usage
//! error (from clap, or found by a command before it opens the camera).
//!
//! Messages to standard error go through `stderr_line!`, never `eprintln!`, and one-line
//! answers on standard output through `stdout_line!`, never `println!`: either may be a pipe
//! whose reader has gone (`sonyctl … 2>&1 | head -1`), and a line that cannot be written is
//! dropped rather than a panic.

#![deny(clippy::print_stderr, clippy::print_stdout)]

/// `eprintln!` that never panics: one line to standard error, dropped if it cannot be written
/// (standard error closed, or a pipe whose reader has gone).
macro_rules! stderr_line {
    ($($arg:tt)*) => {
        $crate::text::write_stderr_line(format_args!($($arg)*))
    };
}

/// `println!` that never panics: one line to standard output (flushed), dropped if it cannot
/// be written.
macro_rules! stdout_line {
    ($($arg:tt)*) => {
        $crate::text::write_stdout_line(format_args!($($arg)*))
    };
}

mod advice;
mod commands;
mod open;
mod props;
mod signals;
mod text;

use std::process::ExitCode;

use clap::{ArgAction, CommandFactory, Parser, Subcommand};

#[cfg(feature = "sim")]
use commands::simulate;
use commands::{
    af, alpaca, capture, decode, focus, focus_point, get, info, list, liveview, movie,
    props as props_cmd, release, serve, set, tether, watch,
};

/// Remote-control Sony Alpha cameras over PTP (USB, PTP/IP).
#[derive(Parser, Debug)]
#[command(name = "sonyctl", version, about, long_about = None)]
struct Cli {
    #[cfg_attr(
        feature = "sim",
        doc = "The camera: `sim[:MODEL]` (the built-in simulated camera), `ip:HOST[:PORT]` \
               (PTP/IP; IPv6 as `ip:[::1]:PORT`) or `usb[:SERIAL]`. Only `serve` and \
               `alpaca` take it more than once."
    )]
    #[cfg_attr(
        not(feature = "sim"),
        doc = "The camera: `ip:HOST[:PORT]` (PTP/IP; IPv6 as `ip:[::1]:PORT`) or `usb[:SERIAL]`. \
               Only `serve` and `alpaca` take it more than once."
    )]
    #[arg(
        long,
        global = true,
        env = "SONYCTL_CAMERA",
        value_name = "CAMERA",
        action = ArgAction::Append
    )]
    camera: Vec<open::CameraSpec>,
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
    /// Run a simulated Sony camera (reachable over PTP/IP or USB/IP) until Ctrl-C or SIGTERM.
    ///
    /// Standard input takes the owner's actions, one a line, in `--act`'s syntax without the
    /// delay (`set iso 800`, `mode a`, `shutter`, `unplug`, `battery 15`, `set lenr on`,
    /// `set scene dark`). Each is done when its line arrives, at the camera's time then, and
    /// answered with one line on standard error: `stdin line N: ACTION: done at camera time
    /// T s`, or `not done` and why (nothing changed; the camera goes on). Blank lines and lines
    /// starting with `#` are skipped. The end of standard input, or none (/dev/null), changes
    /// nothing. A terminal is not read (a background job reading its terminal is stopped, and
    /// the camera with it): to type actions, pipe them in, e.g. `cat | sonyctl simulate …`.
    ///
    /// Ctrl-C and SIGTERM both end it in order, writing `--stats` first.
    #[cfg(feature = "sim")]
    Simulate(simulate::SimulateArgs),
    /// Sony cameras on USB: model, serial, mode (PC Remote, MTP, mass storage), bus and address.
    List(list::ListArgs),
    /// Model, firmware, serial, protocol version, battery, lens and save destination.
    Info(info::InfoArgs),
    /// Every setting the camera reports: name, value, access, settable values.
    Props(props_cmd::PropsArgs),
    /// Print settings, each value on its own line: `sonyctl get iso shutter`.
    Get(get::GetArgs),
    /// Change settings and wait until the camera reports them: `sonyctl set iso 800 shutter 1/250`.
    Set(set::SetArgs),
    /// Log every change of a setting, new images and a lost connection, until Ctrl-C or --for.
    Watch(watch::WatchArgs),
    /// Take pictures and download them: single, --count/--interval (timelapse), --bulb, --burst.
    Capture(capture::CaptureArgs),
    /// Studio tethering: save every image shot with the camera's own button, as it appears.
    Tether(tether::TetherArgs),
    /// Live view as motion JPEG (-o FILE|-), numbered JPEGs (--frames DIR) or JSON lines (--json).
    Liveview(liveview::LiveViewArgs),
    /// Half-press autofocus only; prints `focused` or `not focused` (exit 1).
    Af,
    /// Drive the lens in manual focus: `sonyctl focus near 3 --steps 5`.
    Focus(focus::FocusArgs),
    /// Move the AF point, in the 640×480 live-view space: `sonyctl focus-point 320 240`.
    FocusPoint(focus_point::FocusPointArgs),
    /// Start or stop movie recording.
    Movie(movie::MovieArgs),
    /// Release every shutter and focus button (after something went wrong).
    Release,
    /// Serve cameras over HTTP (JSON API, events, live view) until Ctrl-C; prints the URL.
    Serve(serve::ServeArgs),
    /// Serve cameras to astronomy software over ASCOM Alpaca (camera and focuser) until Ctrl-C.
    ///
    /// Each `--camera` becomes Alpaca camera N and focuser N, in the order given (N.I.N.A.,
    /// SharpCap, APT, Voyager find them by Alpaca discovery, or at the printed host:port).
    /// Gain is the ISO, exposures use the body's own shutter speeds or BULB timed by this
    /// computer, the image is the decoded RAW (or JPEG); the focuser is the lens's manual focus.
    /// Put the mode dial on M and the lens on MF. Prints the URL of the setup pages, then the
    /// discovery port, on standard output.
    Alpaca(alpaca::AlpacaArgs),
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
        // Otherwise a log line standard error cannot take is reported with `eprintln!`, which
        // panics on the same closed pipe.
        .log_internal_errors(false)
        .with_max_level(level)
        .try_init();
    finish(run(cli.command, cli.camera, cli.trace, cli.verbose))
}

/// Runs `command`.
fn run(
    command: Command,
    cameras: Vec<open::CameraSpec>,
    trace: Option<std::path::PathBuf>,
    verbose: bool,
) -> anyhow::Result<()> {
    // `serve` and `alpaca` are the commands that take several cameras.
    if cameras.len() > 1 && !matches!(command, Command::Serve(_) | Command::Alpaca(_)) {
        return Err(Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--camera is given {} times: only `sonyctl serve` and `sonyctl alpaca` take several cameras",
                    cameras.len()
                ),
            )
            .into());
    }
    let g = open::Globals {
        camera: cameras.first().cloned(),
        trace,
    };
    #[cfg(not(feature = "sim"))]
    let _ = verbose;
    match command {
        Command::Decode(args) => decode::run(&args),
        #[cfg(feature = "sim")]
        Command::Simulate(args) => simulate::run(&args, verbose),
        Command::List(args) => list::run(&args),
        Command::Info(args) => info::run(&g, &args),
        Command::Props(args) => props_cmd::run(&g, &args),
        Command::Get(args) => get::run(&g, &args),
        Command::Set(args) => set::run(&g, &args),
        Command::Watch(args) => watch::run(&g, &args),
        Command::Capture(args) => capture::run(&g, &args),
        Command::Tether(args) => tether::run(&g, &args),
        Command::Liveview(args) => liveview::run(&g, &args),
        Command::Af => af::run(&g),
        Command::Focus(args) => focus::run(&g, &args),
        Command::FocusPoint(args) => focus_point::run(&g, &args),
        Command::Movie(args) => movie::run(&g, &args),
        Command::Release => release::run(&g),
        Command::Serve(args) => serve::run(&cameras, g.trace.as_deref(), &args),
        Command::Alpaca(args) => alpaca::run(&cameras, g.trace.as_deref(), &args),
    }
}

/// The exit code for a command's result, with its error reported.
fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`sonyctl decode … | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // Already said on standard output (`af`: not focused).
        Err(e) if e.downcast_ref::<commands::Reported>().is_some() => ExitCode::FAILURE,
        Err(e) => match e.downcast::<clap::Error>() {
            // A usage error found after parsing (`liveview --json -o -`): as clap reports its own.
            Ok(usage) => {
                let _ = usage.print();
                ExitCode::from(2)
            }
            Err(e) => {
                // One line, so scripts can log it.
                stderr_line!("sonyctl: {}", text::sanitize(&advice::describe(e.as_ref())));
                ExitCode::FAILURE
            }
        },
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
