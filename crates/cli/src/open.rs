//! Choosing and opening the camera (`--camera`): the camera specification, the PTP/IP host id,
//! finding the USB camera meant (with what to do when there is none), and the one way every
//! command opens, uses and closes the camera.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_sim::{SimOptions, SimulatedCamera};
use sonyctl_transport::{ConnectOptions, PtpIpClient};

use crate::text::sanitize;

/// The PTP/IP port cameras listen on.
const PTPIP_PORT: u16 = 15740;

/// Which camera, as `--camera` (or `SONYCTL_CAMERA`) names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSpec {
    /// The simulated camera in this process: `sim` or `sim:MODEL`.
    Sim(String),
    /// PTP/IP: `ip:HOST`, `ip:HOST:PORT`, `ip:[IPV6]:PORT`.
    Ip(String, u16),
    /// USB: `usb` or `usb:SERIAL`.
    Usb(Option<String>),
}

impl std::str::FromStr for CameraSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<CameraSpec, String> {
        let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
        match kind.to_ascii_lowercase().as_str() {
            "sim" => Ok(CameraSpec::Sim(if rest.is_empty() {
                "ilce-7sm3".into()
            } else {
                rest.to_ascii_lowercase()
            })),
            "usb" => Ok(CameraSpec::Usb(
                (!rest.is_empty()).then(|| rest.to_string()),
            )),
            "ip" => {
                if rest.is_empty() {
                    return Err("ip needs a host: ip:HOST[:PORT] (IPv6 as ip:[::1]:PORT)".into());
                }
                // [v6]:port, [v6], host:port, host
                if let Some(inner) = rest.strip_prefix('[') {
                    let (host, after) = inner
                        .split_once(']')
                        .ok_or_else(|| format!("{s:?}: missing ] after the IPv6 address"))?;
                    let port = match after.strip_prefix(':') {
                        Some(p) => p.parse().map_err(|_| format!("{s:?}: bad port {p:?}"))?,
                        None if after.is_empty() => PTPIP_PORT,
                        None => return Err(format!("{s:?}: expected :PORT after ]")),
                    };
                    return Ok(CameraSpec::Ip(host.to_string(), port));
                }
                match rest.rsplit_once(':') {
                    Some((host, port)) if !host.contains(':') => Ok(CameraSpec::Ip(
                        host.to_string(),
                        port.parse()
                            .map_err(|_| format!("{s:?}: bad port {port:?}"))?,
                    )),
                    Some(_) => Err(format!(
                        "{s:?}: write IPv6 addresses in brackets: ip:[::1]:15740"
                    )),
                    None => Ok(CameraSpec::Ip(rest.to_string(), PTPIP_PORT)),
                }
            }
            _ => Err(format!(
                "{s:?}: expected sim[:MODEL], ip:HOST[:PORT] or usb[:SERIAL]"
            )),
        }
    }
}

/// The host GUID for PTP/IP, created once and kept: cameras remember it, and a new one each run
/// would make them ask for pairing every time.
fn host_guid() -> Result<[u8; 16]> {
    let dir = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("sonyctl"));
    let Some(dir) = dir else {
        bail!("no home directory to keep the PTP/IP host id in (set HOME or XDG_CONFIG_HOME)");
    };
    let path = dir.join("ptpip-guid");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(bytes) = sonyctl_ptp::hexdump::parse(&text) {
            if let Ok(guid) = <[u8; 16]>::try_from(bytes.as_slice()) {
                return Ok(guid);
            }
        }
    }
    let mut guid = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut guid));
    if random.is_err() {
        // No random device: time and process id still give a stable, distinct id once stored.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            ^ u128::from(std::process::id());
        guid.copy_from_slice(&seed.to_le_bytes());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let text: String = guid.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(guid)
}

/// Options every camera command shares.
#[derive(Debug, Default)]
pub struct Globals {
    /// `--camera`.
    pub camera: Option<CameraSpec>,
    /// `--trace FILE`.
    pub trace: Option<PathBuf>,
}

/// Opens the camera `g.camera` names (or says how to name one), recording to `g.trace`.
pub async fn open(g: &Globals) -> Result<Camera> {
    let trace = match &g.trace {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create the trace file {}", path.display()))?;
            Some(sonyctl_transport::Trace::new(Box::new(
                std::io::BufWriter::new(file),
            )))
        }
        None => None,
    };
    let link = match g.camera.as_ref() {
        None => bail!(
            "no camera given: use --camera usb for a camera on USB (`sonyctl list` shows them), \
             --camera ip:HOST for one on Wi-Fi or Ethernet, or --camera sim to try the simulated \
             camera"
        ),
        Some(CameraSpec::Usb(serial)) => {
            let device = find_usb(serial.as_deref())?;
            let options = sonyctl_transport::UsbOptions {
                trace,
                ..Default::default()
            };
            let client = sonyctl_transport::UsbClient::open(&device, &options).await?;
            Link::Usb(Box::new(client))
        }
        Some(CameraSpec::Sim(model)) => {
            let profile = crate::commands::simulate::load_profile(model)?;
            Link::sim(
                SimulatedCamera::new(profile, SimOptions::default()),
                SimClock::real(1.0),
            )
            .with_trace(trace)
        }
        Some(CameraSpec::Ip(host, port)) => {
            let addr: SocketAddr = (host.as_str(), *port)
                .to_socket_addrs()
                .with_context(|| format!("cannot resolve {host}"))?
                .next()
                .with_context(|| format!("{host} has no address"))?;
            let options = ConnectOptions {
                guid: host_guid()?,
                friendly_name: "sonyctl".into(),
                trace,
                ..ConnectOptions::default()
            };
            eprintln!(
                "sonyctl: connecting to {addr}; if the camera asks, confirm the connection on it"
            );
            let client = PtpIpClient::connect(addr, &options)
                .await
                .with_context(|| format!("cannot connect to the camera at {addr}"))?;
            Link::PtpIp(Box::new(client))
        }
    };
    Ok(Camera::open(link, CameraOptions::default()).await?)
}

/// The USB camera `--camera usb[:SERIAL]` means.
fn find_usb(serial: Option<&str>) -> Result<sonyctl_transport::UsbDevice> {
    use sonyctl_transport::UsbMode;
    let all = sonyctl_transport::usb::list_sony()?;
    let mut ptp: Vec<_> = all
        .iter()
        .filter(|d| d.mode == UsbMode::StillImage)
        .filter(|d| serial.is_none_or(|s| d.serial.as_deref() == Some(s)))
        .cloned()
        .collect();
    match ptp.len() {
        1 => Ok(ptp.remove(0)),
        0 if all.iter().any(|d| d.mode == UsbMode::MassStorage) && serial.is_none() => bail!(
            "the Sony camera on USB is in Mass Storage mode: set its USB Connection (or \
             PC Remote / USB Connection Mode) to PC Remote, then plug it in again"
        ),
        0 => match serial {
            Some(s) => bail!(
                "no Sony camera with serial number {s:?} on USB (`sonyctl list` shows what is \
                 connected)"
            ),
            None => bail!(
                "no Sony camera found on USB: connect it, switch it on, and set its USB \
                 Connection to PC Remote (or use --camera ip:HOST, or --camera sim)"
            ),
        },
        _ => bail!(
            "{} Sony cameras are connected: choose one with --camera usb:SERIAL ({})",
            ptp.len(),
            ptp.iter()
                .map(|d| d.serial.clone().unwrap_or_else(|| "no serial".into()))
                .map(|s| sanitize(&s))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_specs() {
        let p = |s: &str| s.parse::<CameraSpec>();
        assert_eq!(p("sim").unwrap(), CameraSpec::Sim("ilce-7sm3".into()));
        assert_eq!(
            p("sim:ILCE-6000").unwrap(),
            CameraSpec::Sim("ilce-6000".into())
        );
        assert_eq!(
            p("ip:192.168.122.1").unwrap(),
            CameraSpec::Ip("192.168.122.1".into(), 15740)
        );
        assert_eq!(
            p("ip:cam.local:1234").unwrap(),
            CameraSpec::Ip("cam.local".into(), 1234)
        );
        assert_eq!(
            p("ip:[::1]:15741").unwrap(),
            CameraSpec::Ip("::1".into(), 15741)
        );
        assert_eq!(
            p("ip:[fe80::1]").unwrap(),
            CameraSpec::Ip("fe80::1".into(), 15740)
        );
        assert_eq!(p("usb").unwrap(), CameraSpec::Usb(None));
        assert_eq!(p("usb:1234").unwrap(), CameraSpec::Usb(Some("1234".into())));
        for bad in [
            "ip",
            "ip:",
            "ip:::1",
            "ip:[::1",
            "ip:host:port",
            "tcp:x",
            "",
        ] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
