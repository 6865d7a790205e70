//! `sonyctl serve`: the cameras on the local network (HTTP API, events, live view) through
//! `sonyctl-server`.
//!
//! This module owns the command's side: which cameras are served (each `--camera`; `usb` is
//! every PC-Remote body on USB, now and plugged in later, found by a discovery loop), the
//! token (generated for an address other than loopback, or read from `--token-file`), the URL
//! printed on standard output once the server listens, and the end: Ctrl-C or SIGTERM stops
//! looking for new cameras, stops accepting, stops the captures (jobs, and single shots: one
//! still queued takes no picture, one in progress ends after its exposure with its image saved)
//! while requests finish, then lets every camera's service release its buttons and close its
//! session (at most 5 s, which nothing holds up any more). What is checked on each request and
//! the limits are the server crate's.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use sonyctl_camera::Camera;
use sonyctl_server::{CameraEntry, Registry, Server, ServerConfig, StartError};
use sonyctl_service::{CameraService, ServiceOptions};
use sonyctl_transport::{UsbDevice, UsbMode};

use crate::advice::describe;
use crate::open::{self, CameraSpec};
use crate::signals::Signals;
use crate::text::sanitize;

/// How often the bus is looked at for bodies plugged in (or switched to PC Remote) later.
const DISCOVERY_EVERY: Duration = Duration::from_secs(2);

/// Arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where to listen (IPv6 as `[::1]:PORT`); port 0 picks a free one. Any address other than
    /// loopback requires a token: one is generated (it is in the printed URL) unless
    /// --token-file gives it.
    #[arg(long, value_name = "ADDR:PORT", default_value = sonyctl_server::config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Where images are saved, as `sonyctl capture` saves them.
    #[arg(long, short, value_name = "DIR", default_value = "sonyctl-images")]
    output: PathBuf,
    /// Read the access token from FILE (letters, digits, `-` and `_`; white space around it is
    /// ignored). Once there is a token, every request needs it, on loopback too.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Also answer requests for this host name (a DNS alias, a reverse proxy's name); by
    /// default only `localhost`, `127.0.0.1`, `[::1]`, the listen address and this machine's name.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
    /// Also accept requests from pages of this origin (`http://host:port`), with CORS headers.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
}

/// A usage error: printed by clap, exit status 2.
pub(crate) fn usage(message: &str) -> anyhow::Error {
    anyhow::Error::new(clap::Error::raw(
        clap::error::ErrorKind::ValueValidation,
        format!("{message}\n"),
    ))
}

/// `sonyctl serve`: serves `cameras` until Ctrl-C or SIGTERM.
pub fn run(cameras: &[CameraSpec], trace: Option<&Path>, args: &ServeArgs) -> Result<()> {
    if trace.is_some() {
        return Err(usage(
            "--trace records one camera's session: use it with another command \
             (`sonyctl --trace FILE props`)",
        ));
    }
    if cameras.is_empty() {
        bail!(
            "no camera given: use --camera usb for every camera on USB, now and plugged in \
             later{}; --camera may be repeated",
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
    let mut config = ServerConfig::new(&args.output);
    config.listen = args.listen;
    config.token = token;
    config.allow_hosts = args.allow_host.clone();
    config.allow_origins = args.allow_origin.clone();
    // Several cameras and many clients: every core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(cameras, config, generated))
}

/// The token in `path`: trimmed, URL-safe, not empty (else a usage error).
pub(crate) fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.trim();
    if !sonyctl_server::is_url_safe_token(token) {
        return Err(usage(&format!(
            "the token file {} must hold one token of letters, digits, `-` and `_` only{}",
            path.display(),
            if token.is_empty() {
                " (it is empty)"
            } else {
                ""
            }
        )));
    }
    Ok(token.to_string())
}

async fn serve(cameras: &[CameraSpec], config: ServerConfig, generated: bool) -> Result<()> {
    // Listening for the signals before anything is printed: a SIGTERM right after the URL
    // still ends the server cleanly.
    let mut signals = Signals::new()?;
    let registry = Registry::new();
    let listen = config.listen;
    let bound = Server::bind(config, registry.clone())
        .await
        .map_err(|e| match e {
            StartError::Config(message) => usage(&message),
            e => anyhow::Error::new(e),
        })?;
    let mut usb = Vec::new();
    for spec in cameras {
        match spec {
            CameraSpec::Usb(serial) => usb.push(serial.clone()),
            spec => {
                let opened = match open::open_camera(Some(spec), None).await {
                    Ok(camera) => register(&registry, camera).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = opened {
                    // The cameras opened already end their sessions before the error is told.
                    registry.release(open::SERVICE_END).await;
                    return Err(e);
                }
            }
        }
    }
    let discovery = if usb.is_empty() {
        None
    } else {
        let mut discovery = Discovery::new(registry.clone(), usb);
        discovery.pass().await;
        if discovery.served.is_empty() {
            stderr_line!(
                "sonyctl: no camera on USB yet; those plugged in (in PC Remote mode) are served \
                 as they come"
            );
        }
        Some(tokio::spawn(discovery.run()))
    };
    let stop_discovery = discovery
        .as_ref()
        .map(tokio::task::JoinHandle::abort_handle);
    stdout_line!("{}", bound.url());
    let count = registry.list().len();
    stderr_line!(
        "sonyctl: serving {count} camera{} on {} (Ctrl-C stops){}",
        if count == 1 { "" } else { "s" },
        bound.local_addr(),
        if generated {
            format!(
                "; {} is not a loopback address, so a token was made: it is in the URL above",
                listen.ip()
            )
        } else {
            String::new()
        }
    );
    let stop = async move {
        let _ = signals.next().await;
        // First: no camera is opened while the captures end (the registry would refuse it).
        if let Some(discovery) = stop_discovery {
            discovery.abort();
        }
        stderr_line!(
            "sonyctl: stopping: finishing requests and shots in progress, then releasing the \
             cameras (again: quit at once)"
        );
        tokio::spawn(async move {
            let _ = signals.next().await;
            std::process::exit(130);
        });
    };
    let served = bound.serve(stop).await;
    if let Some(discovery) = discovery {
        // A camera being opened is dropped with it (aborted at the signal already, unless the
        // server ended by itself).
        discovery.abort();
        let _ = discovery.await;
    }
    served.context("the server failed")?;
    if !registry.release(open::SERVICE_END).await {
        stderr_line!(
            "sonyctl: a camera did not end its session within {} s",
            open::SERVICE_END.as_secs()
        );
    }
    Ok(())
}

/// Hands `camera` to a new service and serves it.
pub(crate) async fn register(registry: &Registry, camera: Camera) -> Result<Arc<CameraEntry>> {
    let service = CameraService::spawn(camera, ServiceOptions::default());
    let entry = registry.add(service).await?;
    stderr_line!(
        "sonyctl: serving {} as {}",
        sanitize(&entry.model),
        entry.id
    );
    Ok(entry)
}

/// `--camera usb[:SERIAL]`: every PC-Remote body on USB (or those with the serials given),
/// opened as it appears. A body once served is the service's from then on: unplugged, it shows
/// as disconnected, and its service finds it again when it comes back (see [`body_key`]).
pub(crate) struct Discovery {
    registry: Registry,
    /// `None`: every body; otherwise the serial numbers wanted.
    wanted: Vec<Option<String>>,
    /// Bodies served, by [`body_key`].
    pub(crate) served: HashSet<String>,
    /// Bodies that could not be opened, with the last error said (each said once).
    failed: HashMap<String, String>,
    /// Bodies in mass-storage mode already told about.
    told: HashSet<String>,
    /// The last failure to list the bus, said once.
    list_failed: Option<String>,
}

impl Discovery {
    pub(crate) fn new(registry: Registry, wanted: Vec<Option<String>>) -> Discovery {
        Discovery {
            registry,
            wanted,
            served: HashSet::new(),
            failed: HashMap::new(),
            told: HashSet::new(),
            list_failed: None,
        }
    }

    /// Looks again every 2 s, until the task is aborted.
    async fn run(mut self) {
        loop {
            tokio::time::sleep(DISCOVERY_EVERY).await;
            self.pass().await;
        }
    }

    fn wants(&self, d: &UsbDevice) -> bool {
        self.wanted
            .iter()
            .any(|w| w.is_none() || w.as_deref() == d.serial.as_deref())
    }

    /// One look at the bus: opens and serves the bodies not served yet.
    pub(crate) async fn pass(&mut self) {
        let devices = match tokio::task::spawn_blocking(sonyctl_transport::usb::list_sony).await {
            Ok(Ok(devices)) => {
                self.list_failed = None;
                devices
            }
            Ok(Err(e)) => {
                let text = sanitize(&describe(&e));
                if self.list_failed.as_ref() != Some(&text) {
                    stderr_line!("sonyctl: cannot list the USB devices: {text}; trying again");
                    self.list_failed = Some(text);
                }
                return;
            }
            Err(_) => return,
        };
        for d in &devices {
            if !self.wants(d) {
                continue;
            }
            let key = body_key(d.serial.as_deref(), d.vendor_id, d.product_id);
            match d.mode {
                UsbMode::StillImage if !self.served.contains(&key) => self.open(d, key).await,
                UsbMode::MassStorage if self.told.insert(key.clone()) => {
                    stderr_line!(
                        "sonyctl: the Sony camera on USB ({key}) is in Mass Storage mode: {}",
                        open::MASS_STORAGE_ADVICE
                    );
                }
                _ => {}
            }
        }
    }

    async fn open(&mut self, d: &UsbDevice, key: String) {
        let opened = match open::open_usb(d, None).await {
            Ok(camera) => register(&self.registry, camera).await,
            Err(e) => Err(e),
        };
        match opened {
            Ok(_) => {
                self.failed.remove(&key);
                self.served.insert(key);
            }
            Err(e) => {
                let text = sanitize(&describe(e.as_ref()));
                if self.failed.get(&key) != Some(&text) {
                    stderr_line!(
                        "sonyctl: cannot open the camera on USB ({key}): {text}; trying again \
                         every {} s",
                        DISCOVERY_EVERY.as_secs()
                    );
                    self.failed.insert(key, text);
                }
            }
        }
    }
}

/// How the discovery knows a body from one look at the bus to the next: by its USB serial
/// number, or, for a body without one, by its vendor and product ids, which is how its service
/// finds it again after an unplug (`UsbClient::reconnect`). Never by the bus address: that
/// changes at every plug, and a body without a serial plugged in again would be opened a second
/// time, as a second camera, next to its own service trying to reconnect to it. Of two bodies
/// of one model without serial numbers, only the first is served.
fn body_key(serial: Option<&str>, vendor_id: u16, product_id: u16) -> String {
    match serial {
        Some(s) => format!("serial {}", sanitize(s)),
        None => format!("USB id {vendor_id:04x}:{product_id:04x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_known_again_when_plugged_in_again() {
        // By serial number when it has one.
        assert_eq!(
            body_key(Some("D2F5034A"), 0x054c, 0x0c34),
            "serial D2F5034A"
        );
        assert_ne!(
            body_key(Some("00000001"), 0x054c, 0x0c34),
            body_key(Some("00000002"), 0x054c, 0x0c34)
        );
        // Without one, by what its service reconnects by: the same key at any bus address.
        assert_eq!(body_key(None, 0x054c, 0x0c34), "USB id 054c:0c34");
        assert_ne!(
            body_key(None, 0x054c, 0x0c34),
            body_key(None, 0x054c, 0x0994)
        );
    }
}
