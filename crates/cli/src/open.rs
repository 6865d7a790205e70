//! Choosing and opening the camera (`--camera`): the camera specification, the PTP/IP host id,
//! finding the USB camera meant (with what to do when there is none), and the one way every
//! command opens, uses and closes the camera.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
#[cfg(feature = "sim")]
use sonyctl_camera::SimClock;
use sonyctl_camera::{
    Camera, CameraError, CameraOptions, Cancel, CaptureError, Link, SetError, TransportError,
};
use sonyctl_service::{CameraService, ServiceHandle, ServiceOptions};
#[cfg(feature = "sim")]
use sonyctl_sim::{SimOptions, SimulatedCamera};
use sonyctl_transport::{ConnectOptions, PtpIpClient};

use crate::text::sanitize;

/// The PTP/IP port cameras listen on.
const PTPIP_PORT: u16 = 15740;

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

/// Options every camera command shares.
#[derive(Debug, Default)]
pub struct Globals {
    /// `--camera`.
    pub camera: Option<CameraSpec>,
    /// `--trace FILE`.
    pub trace: Option<PathBuf>,
}

/// Opens the camera `g.camera` names (or says how to name one), recording to `g.trace`.
async fn open(g: &Globals) -> Result<Camera> {
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
    open_camera(g.camera.as_ref(), trace).await
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
            let profile = crate::commands::simulate::load_profile(model)?;
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
            stderr_line!(
                "sonyctl: connecting to {addr}; if the camera asks, confirm the connection on it"
            );
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

/// The async runtime a command runs on: one thread, as every command talks to one camera.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// What a failed CloseSession means for a command whose work succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// The command fails with it: what `info`, `props`, `get` and `set` print is only trusted
    /// once the camera has ended the session cleanly.
    Checked,
    /// It is ignored: the command's work is done (for shooting, already saved), and a camera
    /// that drops the connection as the session ends must not turn that into a failure.
    Lenient,
}

/// What Ctrl-C does while the camera is open.
#[derive(Clone, Copy, Debug)]
pub enum CtrlC {
    /// The process ends at once: for commands with nothing to finish, and for `watch`, which
    /// listens for Ctrl-C itself.
    Exits,
    /// The first Ctrl-C prints this notice and cancels the `Cancel` the command gets, so that
    /// it ends what it started (releases the shutter, saves what was shot) and the camera is
    /// closed; a second Ctrl-C quits at once (exit 130).
    Cancels(&'static str),
}

/// How long ending the session may take after the command failed.
const CLOSE_AFTER_ERROR: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the camera `g` names, runs `body` with it, and ends the session whatever `body` did.
///
/// On success the session is closed as `close` says. On an error it is closed too (the
/// command's error is what is reported), waiting at most 5 s for the camera, unless the error
/// says the connection is gone: then there is no session to end, and trying would only wait
/// for a time-out.
pub fn with_camera<T>(
    g: &Globals,
    close: Close,
    ctrl_c: CtrlC,
    body: impl AsyncFnOnce(&mut Camera, &Cancel) -> Result<T>,
) -> Result<T> {
    runtime()?.block_on(async {
        // Listening before the camera is opened: a Ctrl-C while connecting still ends cleanly.
        let cancel = match ctrl_c {
            CtrlC::Exits => Cancel::new(),
            CtrlC::Cancels(notice) => cancel_on_ctrl_c(notice),
        };
        let mut cam = open(g).await?;
        match body(&mut cam, &cancel).await {
            Ok(value) => {
                let closed = cam.close().await;
                if close == Close::Checked {
                    closed?;
                }
                Ok(value)
            }
            Err(e) => {
                if !connection_lost(&e) {
                    // A camera that is there but not answering would hold the command's error
                    // back for the whole transport time-out; the close is a courtesy here.
                    let _ = tokio::time::timeout(CLOSE_AFTER_ERROR, cam.close()).await;
                }
                Err(e)
            }
        }
    })
}

/// How long the service may take to end (release the buttons, close the session) once the
/// command is done.
pub const SERVICE_END: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the camera `g` names, hands it to the camera service, and runs `body` with a handle on
/// it: for commands that use the service rather than the camera itself (`liveview`).
///
/// When `body` returns, its handles are gone and the service ends, waited for up to 5 s: it
/// releases every button and closes the session (CloseSession), as the other commands leave
/// the camera, unless the connection is already lost. Should it not finish in time, a body on
/// USB that still has the session open answers the next OpenSession with SessionAlreadyOpen,
/// which opening handles.
pub fn with_service<T>(
    g: &Globals,
    ctrl_c: CtrlC,
    body: impl AsyncFnOnce(&ServiceHandle, &Cancel) -> Result<T>,
) -> Result<T> {
    runtime()?.block_on(async {
        let cancel = match ctrl_c {
            CtrlC::Exits => Cancel::new(),
            CtrlC::Cancels(notice) => cancel_on_ctrl_c(notice),
        };
        let cam = open(g).await?;
        let service = CameraService::spawn(cam, ServiceOptions::default());
        let mut ended = service.status_changes();
        let result = body(&service, &cancel).await;
        drop(service);
        // The status sender goes with the service task: `changed` fails once the task is over.
        let _ = tokio::time::timeout(SERVICE_END, async {
            while ended.changed().await.is_ok() {}
        })
        .await;
        result
    })
}

/// A `Cancel` that the first Ctrl-C cancels (after printing `notice`); a second quits at once.
fn cancel_on_ctrl_c(notice: &'static str) -> Cancel {
    let cancel = Cancel::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stderr_line!("sonyctl: {notice}");
            c.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    cancel
}

/// True when `e` says the connection to the camera is gone (lost, timed out, dropped mid-shot).
fn connection_lost(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        if let Some(c) = cause.downcast_ref::<CameraError>() {
            return c.is_connection_lost();
        }
        if let Some(t) = cause.downcast_ref::<TransportError>() {
            return t.is_disconnect();
        }
        if let Some(SetError::Camera(c)) = cause.downcast_ref::<SetError>() {
            return c.is_connection_lost();
        }
        match cause.downcast_ref::<CaptureError>() {
            Some(CaptureError::Camera(c)) => c.is_connection_lost(),
            Some(CaptureError::Set(SetError::Camera(c))) => c.is_connection_lost(),
            Some(CaptureError::ConnectionDropped(_) | CaptureError::TooManyReconnects(_)) => true,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_connection_skips_closing() {
        let timeout = || {
            CameraError::Transport(TransportError::Timeout(
                std::time::Duration::from_secs(30),
                "the response",
            ))
        };
        let lost = [
            anyhow::Error::from(timeout()),
            anyhow::Error::from(timeout()).context("the connection to the camera was lost"),
            anyhow::Error::from(CaptureError::Camera(timeout())),
            anyhow::Error::from(CaptureError::ConnectionDropped(
                "while pressing the shutter",
            )),
            anyhow::Error::from(CaptureError::TooManyReconnects(20)),
            anyhow::Error::from(SetError::Camera(timeout())),
        ];
        for e in &lost {
            assert!(connection_lost(e), "{e:#}");
        }
        let alive = [
            anyhow::anyhow!("the lens can be driven only in manual focus"),
            anyhow::Error::from(CaptureError::FocusFailed),
            anyhow::Error::from(TransportError::Refused(1)),
            anyhow::Error::from(SetError::UnknownName("iso".into())),
        ];
        for e in &alive {
            assert!(!connection_lost(e), "{e:#}");
        }
    }

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
