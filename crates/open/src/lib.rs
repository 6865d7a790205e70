//! Choosing and opening the camera by name: the camera specification every front end takes
//! (`sonyctl --camera`, the INDI driver's `DEVICE_PORT`, `SONYCTL_CAMERA`) — `usb[:SERIAL]`,
//! `ip:HOST[:PORT]`, `sim[:MODEL]` — the PTP/IP host id, and finding the USB camera meant (with
//! what to do when there is none). One home, so every program opens a camera the same way.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
#[cfg(feature = "sim")]
use sonyctl_camera::SimClock;
use sonyctl_camera::{Camera, CameraOptions, Link};
#[cfg(feature = "sim")]
use sonyctl_sim::{Profile, SimOptions, SimulatedCamera};
use sonyctl_transport::{ConnectOptions, PtpIpClient};

/// The PTP/IP port cameras listen on.
pub const PTPIP_PORT: u16 = 15740;

/// What `--camera` accepts in this build.
#[cfg(feature = "sim")]
const KINDS: &str = "sim[:MODEL], ip:HOST[:PORT] or usb[:SERIAL]";
#[cfg(not(feature = "sim"))]
const KINDS: &str = "ip:HOST[:PORT] or usb[:SERIAL]";

/// Why `--camera sim` is refused by a build without the simulated camera.
#[cfg(not(feature = "sim"))]
pub const NO_SIM: &str = "this sonyctl was built without the simulated camera (feature `sim`)";

/// Which camera, as `--camera` (or `SONYCTL_CAMERA`) names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSpec {
    /// The simulated camera in this process: `sim` or `sim:MODEL`.
    #[cfg(feature = "sim")]
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
            #[cfg(feature = "sim")]
            "sim" => Ok(CameraSpec::Sim(if rest.is_empty() {
                "ilce-7sm3".into()
            } else {
                rest.to_ascii_lowercase()
            })),
            // Known but left out of this build: said so, rather than "expected ip or usb".
            #[cfg(not(feature = "sim"))]
            "sim" => Err(NO_SIM.into()),
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
            _ => Err(format!("{s:?}: expected {KINDS}")),
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

/// Opens the camera `spec` names (or says how to name one), recording to `trace`.
pub async fn open_camera(
    spec: Option<&CameraSpec>,
    trace: Option<sonyctl_transport::Trace>,
) -> Result<Camera> {
    let link = match spec {
        None => bail!(
            "no camera given: use --camera usb for a camera on USB (`sonyctl list` shows them){}",
            if cfg!(feature = "sim") {
                ", --camera ip:HOST for one on Wi-Fi or Ethernet, or --camera sim to try the \
                 simulated camera"
            } else {
                " or --camera ip:HOST for one on Wi-Fi or Ethernet"
            }
        ),
        Some(CameraSpec::Usb(serial)) => {
            let device = find_usb(serial.as_deref())?;
            return open_usb(&device, trace).await;
        }
        #[cfg(feature = "sim")]
        Some(CameraSpec::Sim(model)) => {
            let profile = load_profile(model)?;
            Link::sim(
                SimulatedCamera::new(profile, SimOptions::default()),
                SimClock::real(1.0),
            )
            .with_trace(trace)?
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
            stderr_line(format_args!(
                "sonyctl: connecting to {addr}; if the camera asks, confirm the connection on it"
            ));
            let client = PtpIpClient::connect(addr, &options)
                .await
                .with_context(|| format!("cannot connect to the camera at {addr}"))?;
            Link::new(client)
        }
    };
    Ok(Camera::open(link, CameraOptions::default()).await?)
}

/// Opens the USB camera `device` (found by `sonyctl_transport::usb::list_sony`).
pub async fn open_usb(
    device: &sonyctl_transport::UsbDevice,
    trace: Option<sonyctl_transport::Trace>,
) -> Result<Camera> {
    let options = sonyctl_transport::UsbOptions {
        trace,
        ..Default::default()
    };
    let client = sonyctl_transport::UsbClient::open(device, &options).await?;
    Ok(Camera::open(Link::new(client), CameraOptions::default()).await?)
}

/// What to do about a body whose USB connection is set to mass storage.
pub const MASS_STORAGE_ADVICE: &str = "set its USB Connection (or PC Remote / USB Connection \
     Mode) to PC Remote, then plug it in again";

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
        0 if all.iter().any(|d| d.mode == UsbMode::MassStorage) && serial.is_none() => {
            bail!("the Sony camera on USB is in Mass Storage mode: {MASS_STORAGE_ADVICE}")
        }
        0 => match serial {
            Some(s) => bail!(
                "no Sony camera with serial number {s:?} on USB (`sonyctl list` shows what is \
                 connected)"
            ),
            None => bail!(
                "no Sony camera found on USB: connect it, switch it on, and set its USB \
                 Connection to PC Remote (or use --camera ip:HOST{})",
                if cfg!(feature = "sim") {
                    ", or --camera sim"
                } else {
                    ""
                }
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

/// True for the simulated camera.
pub fn is_sim(spec: &CameraSpec) -> bool {
    #[cfg(feature = "sim")]
    if let CameraSpec::Sim(_) = spec {
        return true;
    }
    let _ = spec;
    false
}

/// The profile file a `sim:` spec names (what [`load_profile`] reads as a file), if it names
/// one rather than a built-in model.
pub fn sim_profile_path(spec: &CameraSpec) -> Option<&str> {
    #[cfg(feature = "sim")]
    if let CameraSpec::Sim(name) = spec {
        return is_profile_path(name).then_some(name.as_str());
    }
    let _ = spec;
    None
}

#[cfg(feature = "sim")]
fn is_profile_path(name: &str) -> bool {
    name.ends_with(".toml") || name.contains(std::path::MAIN_SEPARATOR) || name.contains('/')
}

/// The simulated camera's profile: a built-in model's name, or a profile file (`.toml`, or a
/// path).
#[cfg(feature = "sim")]
pub fn load_profile(name: &str) -> Result<Profile> {
    if is_profile_path(name) {
        let text = std::fs::read_to_string(name).with_context(|| format!("cannot read {name}"))?;
        return Profile::from_toml(&text)
            .with_context(|| format!("{name} is not a usable profile"));
    }
    Ok(Profile::builtin(name)?)
}

/// Text from a camera or a user, with control characters escaped, fit for one line (so it
/// cannot move a terminal's cursor or rewrite the screen). The CLI prints through it too.
pub fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// One line to standard error, dropped if it cannot be written (never a panic).
fn stderr_line(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "sim"))]
    #[test]
    fn sim_is_refused_by_name_without_the_simulated_camera() {
        for spec in ["sim", "SIM", "sim:ilce-6000"] {
            assert_eq!(
                spec.parse::<CameraSpec>(),
                Err(NO_SIM.to_string()),
                "{spec}"
            );
        }
        let other = "tcp:x".parse::<CameraSpec>().unwrap_err();
        assert!(!other.contains("sim"), "{other}");
    }

    #[test]
    fn camera_specs() {
        let p = |s: &str| s.parse::<CameraSpec>();
        #[cfg(feature = "sim")]
        {
            assert_eq!(p("sim").unwrap(), CameraSpec::Sim("ilce-7sm3".into()));
            assert_eq!(
                p("sim:ILCE-6000").unwrap(),
                CameraSpec::Sim("ilce-6000".into())
            );
        }
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
