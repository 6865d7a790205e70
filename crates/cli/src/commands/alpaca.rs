//! `sonyctl alpaca`: the cameras as ASCOM Alpaca cameras and focusers, for astronomy software
//! (N.I.N.A., SharpCap, APT, Voyager), through `sonyctl-server`'s Alpaca layer and its adapter
//! over `sonyctl-astro`.
//!
//! As `serve`: the cameras named by `--camera` (each opened and handed to a camera service,
//! kept in a [`Registry`]), the token (made for an address other than loopback, or read from
//! `--token-file`), Host and Origin checks, and the end at Ctrl-C or SIGTERM (requests in
//! flight finish, each body's session ends with its file format restored, the services release
//! the camera). Alpaca's device list is fixed once the server runs, so `--camera usb` serves
//! the bodies on USB at start-up; a body unplugged later is found again by its service.
//!
//! Standard output: the URL of the setup pages, then `discovery port N` (or `discovery off`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use sonyctl_astro::DeviceOptions;
use sonyctl_server::alpaca::astro::AstroBody;
use sonyctl_server::alpaca::{AlpacaConfig, AlpacaDevices, AlpacaServer};
use sonyctl_server::{Registry, StartError};

use super::serve::{Discovery, read_token, register, usage};
use crate::open::{self, CameraSpec};
use crate::signals::Signals;
use crate::text::sanitize;

/// Arguments of `alpaca`.
#[derive(Args, Debug)]
pub struct AlpacaArgs {
    /// Where to listen (IPv6 as `[::1]:PORT`); port 0 picks a free one. Any address other than
    /// loopback requires a token: one is generated (printed on standard error) unless
    /// --token-file gives it. Alpaca clients send it as the password (HTTP Basic).
    #[arg(long, value_name = "ADDR:PORT", default_value = sonyctl_server::alpaca::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Keep the original ARW/JPEG of every exposure in DIR (by default they are deleted once
    /// decoded).
    #[arg(long, short, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Exposures longer than SECS are timed by this computer in BULB; shorter ones use the
    /// body's own listed shutter speed (BULB also between listed speeds above 1 s).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = positive_seconds)]
    bulb_above: f64,
    /// The UDP port Alpaca discovery answers on (default 32227); 0 picks a free one
    /// (printed). A port given here that cannot be bound stops the server; the default port
    /// held by another program only turns discovery off, with a warning.
    #[arg(long, value_name = "N", conflicts_with = "no_discovery")]
    discovery_port: Option<u16>,
    /// No Alpaca discovery: clients are given the host and port by hand.
    #[arg(long)]
    no_discovery: bool,
    /// Read the access token from FILE (letters, digits, `-` and `_`; white space around it is
    /// ignored). Once there is a token, every request needs it, on loopback too.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Also answer requests for this host name (a DNS alias, a reverse proxy's name).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
    /// Also accept requests from pages of this origin (`http://host:port`), with CORS headers.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
}

/// A number of seconds above 0.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds above 0 (at most a day)"
        )),
    }
}

/// `sonyctl alpaca`: serves `cameras` over Alpaca until Ctrl-C or SIGTERM.
pub fn run(cameras: &[CameraSpec], trace: Option<&Path>, args: &AlpacaArgs) -> Result<()> {
    if trace.is_some() {
        return Err(usage(
            "--trace records one camera's session: use it with another command \
             (`sonyctl --trace FILE props`)",
        ));
    }
    if cameras.is_empty() {
        bail!(
            "no camera given: use --camera usb for the cameras on USB{}; --camera may be repeated",
            if cfg!(feature = "sim") {
                ", --camera ip:HOST for one on Wi-Fi or Ethernet, or --camera sim to try the \
                 simulated camera"
            } else {
                " or --camera ip:HOST for one on Wi-Fi or Ethernet"
            }
        );
    }
    let token = match &args.token_file {
        Some(path) => Some(read_token(path)?),
        None if !args.listen.ip().is_loopback() => Some(
            sonyctl_server::generate_token()
                .map_err(|e| anyhow::anyhow!("cannot make a token: no random numbers: {e}"))?,
        ),
        None => None,
    };
    let generated = token.is_some() && args.token_file.is_none();
    if let Some(dir) = &args.output {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    }
    let config = AlpacaConfig {
        listen: args.listen,
        token,
        allow_hosts: args.allow_host.clone(),
        allow_origins: args.allow_origin.clone(),
        discovery_port: (!args.no_discovery).then_some(
            args.discovery_port
                .unwrap_or(sonyctl_server::alpaca::DEFAULT_DISCOVERY_PORT),
        ),
        discovery_required: args.discovery_port.is_some(),
        ..AlpacaConfig::default()
    };
    let options = DeviceOptions {
        bulb_above: Duration::from_secs_f64(args.bulb_above),
        output: args.output.clone(),
        ..DeviceOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(cameras, config, options, generated))
}

async fn serve(
    cameras: &[CameraSpec],
    config: AlpacaConfig,
    options: DeviceOptions,
    generated: bool,
) -> Result<()> {
    let mut signals = Signals::new()?;
    let registry = Registry::new();
    let opened = open_all(cameras, &registry).await;
    let bodies = match opened {
        Ok(()) => bodies(&registry, &options).await,
        Err(e) => Err(e),
    };
    let bodies = match bodies {
        Ok(bodies) => bodies,
        Err(e) => {
            registry.release(open::SERVICE_END).await;
            return Err(e);
        }
    };
    let mut devices = AlpacaDevices::new();
    for body in &bodies {
        body.add_to(&mut devices);
    }
    let token = config.token.clone();
    let listen = config.listen;
    let bound = match AlpacaServer::bind(config, devices).await {
        Ok(bound) => bound,
        Err(e) => {
            drop(bodies);
            registry.release(open::SERVICE_END).await;
            return Err(match e {
                StartError::Config(message) => usage(&message),
                e => anyhow::Error::new(e),
            });
        }
    };
    stdout_line!("http://{}/setup", bound.local_addr());
    match bound.discovery_port() {
        Some(port) => stdout_line!("discovery port {port}"),
        None => stdout_line!("discovery off"),
    }
    if let Some(warning) = bound.discovery_warning() {
        stderr_line!("sonyctl: warning: {warning}");
    }
    stderr_line!(
        "sonyctl: serving {} camera{} over ASCOM Alpaca on {} (Ctrl-C stops); camera N and \
         focuser N are the N-th --camera",
        bodies.len(),
        if bodies.len() == 1 { "" } else { "s" },
        bound.local_addr()
    );
    if let (true, Some(token)) = (generated, &token) {
        stderr_line!(
            "sonyctl: {} is not a loopback address, so a token was made; give it to the \
             Alpaca client as the password (any user name): {token}",
            listen.ip()
        );
    }
    let stop = async move {
        let _ = signals.next().await;
        stderr_line!(
            "sonyctl: stopping: finishing requests, ending the exposures, then releasing the \
             cameras (again: quit at once)"
        );
        tokio::spawn(async move {
            let _ = signals.next().await;
            std::process::exit(130);
        });
    };
    let served = bound.run(stop).await;
    for body in &bodies {
        // The exposure under way is aborted and the body's file format restored.
        match tokio::time::timeout(open::SERVICE_END, body.close()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => stderr_line!("sonyctl: ending the session: {}", sanitize(&e.to_string())),
            Err(_) => stderr_line!("sonyctl: a camera did not end its session in time"),
        }
    }
    drop(bodies);
    served.context("the server failed")?;
    if !registry.release(open::SERVICE_END).await {
        stderr_line!(
            "sonyctl: a camera did not end its session within {} s",
            open::SERVICE_END.as_secs()
        );
    }
    Ok(())
}

/// Opens every camera named, in order (the USB bodies present now for `usb`).
async fn open_all(cameras: &[CameraSpec], registry: &Registry) -> Result<()> {
    for spec in cameras {
        match spec {
            CameraSpec::Usb(serial) => {
                let before = registry.list().len();
                let mut discovery = Discovery::new(registry.clone(), vec![serial.clone()]);
                discovery.pass().await;
                if registry.list().len() == before {
                    bail!(
                        "no Sony camera in PC Remote mode on USB{}: connect it, switch it on and \
                         start again (Alpaca clients expect the devices when they connect)",
                        serial
                            .as_deref()
                            .map(|s| format!(" with serial number {}", sanitize(s)))
                            .unwrap_or_default()
                    );
                }
            }
            spec => {
                let camera = open::open_camera(Some(spec), None).await?;
                register(registry, camera).await?;
            }
        }
    }
    Ok(())
}

/// The Alpaca devices of every camera registered, in order.
async fn bodies(registry: &Registry, options: &DeviceOptions) -> Result<Vec<AstroBody>> {
    let mut bodies = Vec::new();
    for entry in registry.list() {
        let body = AstroBody::new(entry.service.clone(), options.clone())
            .await
            .with_context(|| format!("cannot read {}", sanitize(&entry.model)))?;
        bodies.push(body);
    }
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulb_thresholds() {
        assert_eq!(positive_seconds("30"), Ok(30.0));
        assert_eq!(positive_seconds("0.5"), Ok(0.5));
        for bad in ["0", "-1", "nan", "inf", "1e9", "ten"] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
    }
}
