//! `sonyctl`: remote-control Sony Alpha cameras over PTP from the command line.
//!
//! This binary owns argument parsing and output; the protocol work is in `sonyctl-ptp` and
//! `sonyctl-sony`. Exit codes: 0 success, 1 an error (one line on standard error), 2 a usage
//! error (from clap).

mod decode;
mod simulate;
mod text;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Remote-control Sony Alpha cameras over PTP (USB, PTP/IP).
#[derive(Parser, Debug)]
#[command(name = "sonyctl", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode PTP / PTP/IP / Sony SDIO bytes (hex dump or raw binary) into a table or JSON.
    Decode(decode::DecodeArgs),
    /// Run a simulated Sony camera (reachable over PTP/IP) until Ctrl-C.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Simulate(args) => simulate::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`sonyctl decode … | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes joined, so scripts can log it.
            let msg = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("sonyctl: {}", text::sanitize(&msg));
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
