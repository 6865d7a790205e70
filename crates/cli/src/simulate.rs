//! `sonyctl simulate`: runs a simulated camera body in the foreground, reachable over PTP/IP, so
//! any PTP/IP host (libgphoto2's `gphoto2`, sonyctl itself) can connect to it.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use clap::Args;
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
use sonyctl_transport::{PtpIpServer, ServerOptions};

/// Arguments of `sonyctl simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Camera model: ilce-7sm3, dsc-rx100m7 or ilce-6000.
    #[arg(long, default_value = "ilce-7sm3")]
    model: String,
    /// Serve PTP/IP on ADDR:PORT (port 0 picks a free port; the chosen address is printed).
    #[arg(long, value_name = "ADDR:PORT")]
    ptpip: Option<SocketAddr>,
    /// Camera seconds per real second (2 runs the camera twice as fast).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Log every PTP/IP packet to standard error.
    #[arg(short, long)]
    verbose: bool,
}

/// Runs `sonyctl simulate` until Ctrl-C.
pub fn run(args: &SimulateArgs) -> Result<()> {
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        bail!(
            "--time-scale must be a positive number, not {}",
            args.time_scale
        );
    }
    let Some(addr) = args.ptpip else {
        bail!("say where to serve the camera: --ptpip ADDR:PORT (e.g. --ptpip 127.0.0.1:15740)");
    };
    let profile = Profile::builtin(&args.model)?;
    let model = profile.device_info.model.clone();
    let level = if args.verbose {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let camera = SimulatedCamera::new(profile, SimOptions::default());
        let server = PtpIpServer::bind(
            addr,
            camera,
            ServerOptions {
                time_scale: args.time_scale,
                verbose: args.verbose,
            },
        )
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = server.local_addr()?;
        println!("simulated {model} on ptpip {bound}");
        eprintln!(
            "sonyctl: simulated {model} listening on {bound} (PTP/IP); Ctrl-C stops it. gphoto2: --port ptpip:{}:{}:{}",
            bound.ip(),
            bound.port(),
            bound.port()
        );
        tokio::select! {
            r = server.run() => r.context("the PTP/IP server stopped")?,
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
        }
        Ok(())
    })
}
