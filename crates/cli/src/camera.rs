//! Choosing and opening the camera (`--camera`), and the commands that read it: `info`, `props`.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use sonyctl_camera::{Camera, CameraOptions, Link, SimClock};
use sonyctl_sim::{SimOptions, SimulatedCamera};
use sonyctl_sony::codes::prop;
use sonyctl_sony::format_value;
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
            Link::new(client)
        }
        Some(CameraSpec::Sim(model)) => {
            let profile = crate::simulate::load_profile(model)?;
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
            eprintln!(
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

/// Arguments of `list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// One JSON object per camera per line.
    #[arg(long)]
    json: bool,
}

/// `sonyctl list`: Sony cameras on USB, with their mode and what to do about it.
pub fn list(args: &ListArgs) -> Result<()> {
    use sonyctl_transport::UsbMode;
    let devices = sonyctl_transport::usb::list_sony()?;
    runtime()?.block_on(async {
        let mut out = std::io::stdout().lock();
        if devices.is_empty() && !args.json {
            writeln!(
                out,
                "no Sony camera on USB (a camera must be on, with USB Connection set to PC Remote)"
            )?;
        }
        for d in &devices {
            let (mode, model, advice) = match d.mode {
                UsbMode::MassStorage => (
                    "mass storage",
                    d.product.clone().unwrap_or_default(),
                    Some(crate::advice::SET_PC_REMOTE),
                ),
                UsbMode::Other => (
                    "not a camera interface",
                    d.product.clone().unwrap_or_default(),
                    None,
                ),
                UsbMode::StillImage => match probe(d).await {
                    Ok((model, true)) => ("PC Remote", model, None),
                    Ok((model, false)) => ("MTP", model, Some(crate::advice::SET_PC_REMOTE)),
                    Err(e) => {
                        let reason = crate::advice::with_advice(&e, &e.to_string());
                        writeln!(
                            std::io::stderr(),
                            "sonyctl: {}:{}: {}",
                            d.bus,
                            d.address,
                            sanitize(&reason)
                        )?;
                        (
                            "unknown (cannot open)",
                            d.product.clone().unwrap_or_default(),
                            None,
                        )
                    }
                },
            };
            let serial = d.serial.clone().unwrap_or_default();
            if args.json {
                let v = serde_json::json!({
                    "model": model, "serial": serial, "mode": mode,
                    "bus": d.bus, "address": d.address,
                    "vendor_id": d.vendor_id, "product_id": d.product_id,
                    "camera": format!("usb:{serial}"),
                });
                writeln!(out, "{v}")?;
            } else {
                writeln!(
                    out,
                    "{:<14} serial {:<34} {:<11} bus {:03} address {:03}{}",
                    sanitize(&model),
                    sanitize(&serial),
                    mode,
                    d.bus,
                    d.address,
                    advice.map(|a| format!("  ({a})")).unwrap_or_default()
                )?;
            }
        }
        Ok(())
    })
}

/// The model, and whether the camera offers Sony's remote operations (PC Remote) or not (MTP).
async fn probe(d: &sonyctl_transport::UsbDevice) -> Result<(String, bool)> {
    // A camera that does not answer must not hold `list` up for long.
    let options = sonyctl_transport::UsbOptions {
        io_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let mut c = sonyctl_transport::UsbClient::open(d, &options).await?;
    let op = sonyctl_ptp::Operation {
        code: sonyctl_ptp::OperationCode::GET_DEVICE_INFO,
        transaction_id: 0,
        params: sonyctl_ptp::Params::NONE,
    };
    let mut data = Vec::new();
    let resp = c
        .transact_streaming(&op, None, 1 << 20, &mut |_| Ok(()), &mut |p| {
            data.extend_from_slice(p);
            Ok(())
        })
        .await?;
    if resp.code != sonyctl_ptp::ResponseCode::OK {
        bail!("GetDeviceInfo answered {:#06X}", resp.code.0);
    }
    use sonyctl_ptp::Codec;
    let info = sonyctl_ptp::DeviceInfo::decode_exact(&data)?;
    Ok((
        info.model.clone(),
        info.supports(sonyctl_sony::codes::op::SDIO_CONNECT),
    ))
}

/// Arguments of `info` and `props`.
#[derive(Args, Debug)]
pub struct ReadArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `sonyctl info`: model, firmware, serial, protocol, battery, lens, save destination.
pub fn info(g: &Globals, args: &ReadArgs) -> Result<()> {
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let props = cam.properties().await?;
        let di = cam.device_info().clone();
        let show = |code| {
            props
                .get(code)
                .map(|d| format_value(code, &d.current))
                .unwrap_or_else(|| "n/a".into())
        };
        let lens = props
            .get(sonyctl_ptp::PropertyCode(0xD07B))
            .and_then(|d| d.current.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(
                || match props.get(prop::F_NUMBER).and_then(|d| d.current.as_u64()) {
                    Some(0xFFFE) | None => "none reported".into(),
                    Some(_) => "attached".into(),
                },
            );
        let fields = [
            ("model", di.model.clone()),
            ("manufacturer", di.manufacturer.clone()),
            ("firmware", di.device_version.clone()),
            ("serial", di.serial_number.clone()),
            ("protocol", cam.protocol().to_string()),
            ("battery", show(prop::BATTERY_REMAINING)),
            ("lens", lens),
            (
                "save_destination",
                if props.get(prop::SAVE_DESTINATION).is_some() {
                    show(prop::SAVE_DESTINATION)
                } else {
                    "PC (this body always delivers to the host)".into()
                },
            ),
            ("exposure_program", show(prop::EXPOSURE_PROGRAM)),
            ("pending_images", show(prop::PENDING_IMAGES)),
        ];
        let mut out = std::io::stdout().lock();
        if args.json {
            let map: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v.clone())))
                .collect();
            serde_json::to_writer_pretty(&mut out, &map)?;
            writeln!(out)?;
        } else {
            for (k, v) in fields {
                writeln!(out, "{:<17} {}", k.replace('_', " "), sanitize(&v))?;
            }
        }
        cam.close().await?;
        Ok(())
    })
}

/// `sonyctl props`: every setting the camera reports.
pub fn props(g: &Globals, args: &ReadArgs) -> Result<()> {
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let props = cam.properties().await?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        if args.json {
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                model: &'a str,
                sdio: u16,
                properties: crate::props::Reports<'a>,
            }
            let doc = Doc {
                model: &cam.device_info().model,
                sdio: cam.protocol().0,
                properties: crate::props::Reports(&props.properties),
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{} (firmware {}, protocol {}): {} settings",
                sanitize(&cam.device_info().model),
                sanitize(&cam.device_info().device_version),
                cam.protocol(),
                props.properties.len()
            )?;
            out.write_all(crate::props::table(&props.properties).as_bytes())?;
        }
        out.flush()?;
        cam.close().await?;
        Ok(())
    })
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

/// Arguments of `get`.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// Settings: iso, shutter, aperture, ev, wb, focus-mode, drive, format, … or a name from
    /// `sonyctl props`, or a hex code such as 0xD21E.
    #[arg(required = true)]
    names: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `set`.
#[derive(Args, Debug)]
pub struct SetArgs {
    /// NAME VALUE pairs: `iso 800`, `shutter 1/250`, `aperture f/5.6`, `ev +0.7`, `wb daylight`.
    #[arg(required = true, num_args = 2.., value_names = ["NAME", "VALUE"])]
    pairs: Vec<String>,
}

fn resolve(name: &str) -> Result<sonyctl_ptp::PropertyCode> {
    sonyctl_sony::codes::property_by_name(name).with_context(|| {
        format!("no setting called {name:?}: try iso, shutter, aperture, ev, wb, a name from `sonyctl props`, or a hex code")
    })
}

/// `sonyctl get`: each value alone on its own line (human form), or a JSON object.
pub fn get(g: &Globals, args: &GetArgs) -> Result<()> {
    let codes: Vec<_> = args
        .names
        .iter()
        .map(|n| resolve(n))
        .collect::<Result<_>>()?;
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let props = cam.properties().await?;
        let mut out = std::io::stdout().lock();
        let mut json = serde_json::Map::new();
        for (name, code) in args.names.iter().zip(&codes) {
            let d = props.get(*code).with_context(|| {
                format!(
                    "{} has no {name} ({:#06X})",
                    cam.device_info().model,
                    code.0
                )
            })?;
            let display = format_value(*code, &d.current);
            if args.json {
                json.insert(
                    name.clone(),
                    serde_json::json!({
                        "code": code.0,
                        "name": sonyctl_sony::property_name(*code),
                        "value": d.current,
                        "display": display,
                    }),
                );
            } else {
                writeln!(out, "{}", sanitize(&display))?;
            }
        }
        if args.json {
            serde_json::to_writer_pretty(&mut out, &json)?;
            writeln!(out)?;
        }
        cam.close().await?;
        Ok(())
    })
}

/// `sonyctl set`: sets each value and waits until the camera reports it.
pub fn set(g: &Globals, args: &SetArgs) -> Result<()> {
    if args.pairs.len() % 2 != 0 {
        bail!(
            "set takes NAME VALUE pairs; {:?} has no value",
            args.pairs.last().map_or("", String::as_str)
        );
    }
    let pairs: Vec<(String, sonyctl_ptp::PropertyCode, String)> = args
        .pairs
        .chunks_exact(2)
        .filter_map(|p| match p {
            [name, value] => Some((name, value)),
            _ => None,
        })
        .map(|(name, value)| Ok((name.clone(), resolve(name)?, value.clone())))
        .collect::<Result<_>>()?;
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let mut out = std::io::stdout().lock();
        for (name, code, text) in &pairs {
            let d = cam.get(*code).await?;
            let value = sonyctl_sony::parse_value(*code, text, d.data_type, Some(&d))
                .with_context(|| name.clone())?;
            let outcome = cam.set(*code, &value).await?;
            writeln!(
                out,
                "{}: {} -> {}",
                name,
                sanitize(&format_value(*code, &outcome.before)),
                sanitize(&format_value(*code, &outcome.after))
            )?;
        }
        cam.close().await?;
        Ok(())
    })
}

/// Arguments of `watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Stop after this long (250ms, 30s, 5m, 1h30m); without it, run until Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<std::time::Duration>,
    /// How often to read every setting when the camera sends no events.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    poll: std::time::Duration,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    sonyctl_sim::parse_duration(s)
}

fn emit(out: &mut impl Write, json: bool, value: serde_json::Value, text: String) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", sanitize(&text))?;
    }
    out.flush()?;
    Ok(())
}

/// `sonyctl watch`: logs every change as it happens. It only reads.
pub fn watch(g: &Globals, args: &WatchArgs) -> Result<()> {
    use sonyctl_camera::{Watch, WatchEvent};
    runtime()?.block_on(async {
        let mut cam = open(g).await?;
        let mut watch = Watch::start(&mut cam).await?;
        let mut out = std::io::stdout().lock();
        let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
        let poll = args.poll.max(std::time::Duration::from_millis(20));
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                break;
            }
            let step = tokio::select! {
                r = watch.next(&mut cam, poll) => r,
                _ = &mut ctrl_c => break,
            };
            let time = crate::text::rfc3339_now();
            let events = match step {
                Ok(events) => events,
                Err(e) => {
                    emit(
                        &mut out,
                        args.json,
                        serde_json::json!({ "time": time, "event": "connection", "state": "lost", "reason": e.to_string() }),
                        format!("{time}  connection lost: {e}; waiting for the camera"),
                    )?;
                    // Wait for the camera to come back (plugged in again, back in range) until
                    // --for ends or Ctrl-C; changes made meanwhile show up as changes.
                    loop {
                        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                            return Err(anyhow::anyhow!(e).context("the connection to the camera was lost"));
                        }
                        let back = tokio::select! {
                            r = cam.reconnect(std::time::Duration::from_secs(2)) => r.is_ok(),
                            _ = &mut ctrl_c => {
                                return Err(anyhow::anyhow!(e).context("the connection to the camera was lost"));
                            }
                        };
                        if back {
                            break;
                        }
                    }
                    let time = crate::text::rfc3339_now();
                    emit(
                        &mut out,
                        args.json,
                        serde_json::json!({ "time": time, "event": "connection", "state": "restored" }),
                        format!("{time}  connection restored"),
                    )?;
                    continue;
                }
            };
            for ev in events {
                match ev {
                    WatchEvent::Changed { code, old, new } => {
                        let name = sonyctl_sony::codes::describe(sonyctl_sony::property_name(code), code.0);
                        let (old, new) = (format_value(code, &old), format_value(code, &new));
                        emit(
                            &mut out,
                            args.json,
                            serde_json::json!({ "time": time, "code": code.0, "name": name, "old": old, "new": new }),
                            format!("{time}  {name}  {old} → {new}"),
                        )?;
                    }
                    WatchEvent::NewImages(n) => emit(
                        &mut out,
                        args.json,
                        serde_json::json!({ "time": time, "event": "image", "pending": n }),
                        format!("{time}  new image in the camera's buffer ({n} waiting)"),
                    )?,
                }
            }
        }
        let _ = cam.close().await;
        Ok(())
    })
}
