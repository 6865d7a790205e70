//! `/api/v1/{camera|focuser}/{n}/{member}`: the members of ICameraV4 and IFocuserV4 and the
//! members common to both, each mapped to the ports.
//!
//! Order of the checks, as ConformU expects: the path (400 text for an unknown type, number or
//! member, or the wrong verb), the required parameters (400 text when missing, wrongly cased
//! in a PUT, or not parseable), then the member: NotImplemented (0x400) for what the device
//! does not have, NotConnected (0x407) while not connected, InvalidValue (0x401) for a value
//! out of range, then the port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::image::{self, Window};
use super::params::{BadRequest, Params};
use super::ports::{
    AlpacaCamera, AlpacaDevice, AlpacaError, AlpacaFocuser, ExposureRequest, FocusMove, Subframe,
};
use super::reply::{self, Ids};

/// The interface version of both devices: ICameraV4, IFocuserV4.
pub(crate) const INTERFACE_VERSION: i32 = 4;

/// The members every device has: answered when not connected too.
const COMMON: &[(&str, Verb)] = &[
    ("action", Verb::Put),
    ("commandblind", Verb::Put),
    ("commandbool", Verb::Put),
    ("commandstring", Verb::Put),
    ("connect", Verb::Put),
    ("connected", Verb::Both),
    ("connecting", Verb::Get),
    ("description", Verb::Get),
    ("devicestate", Verb::Get),
    ("disconnect", Verb::Put),
    ("driverinfo", Verb::Get),
    ("driverversion", Verb::Get),
    ("interfaceversion", Verb::Get),
    ("name", Verb::Get),
    ("supportedactions", Verb::Get),
];

/// ICameraV4's own members and their verbs (reference / Swagger).
const CAMERA: &[(&str, Verb)] = &[
    ("bayeroffsetx", Verb::Get),
    ("bayeroffsety", Verb::Get),
    ("binx", Verb::Both),
    ("biny", Verb::Both),
    ("camerastate", Verb::Get),
    ("cameraxsize", Verb::Get),
    ("cameraysize", Verb::Get),
    ("canabortexposure", Verb::Get),
    ("canasymmetricbin", Verb::Get),
    ("canfastreadout", Verb::Get),
    ("cangetcoolerpower", Verb::Get),
    ("canpulseguide", Verb::Get),
    ("cansetccdtemperature", Verb::Get),
    ("canstopexposure", Verb::Get),
    ("ccdtemperature", Verb::Get),
    ("cooleron", Verb::Both),
    ("coolerpower", Verb::Get),
    ("electronsperadu", Verb::Get),
    ("exposuremax", Verb::Get),
    ("exposuremin", Verb::Get),
    ("exposureresolution", Verb::Get),
    ("fastreadout", Verb::Both),
    ("fullwellcapacity", Verb::Get),
    ("gain", Verb::Both),
    ("gainmax", Verb::Get),
    ("gainmin", Verb::Get),
    ("gains", Verb::Get),
    ("hasshutter", Verb::Get),
    ("heatsinktemperature", Verb::Get),
    ("imagearray", Verb::Get),
    ("imagearrayvariant", Verb::Get),
    ("imageready", Verb::Get),
    ("ispulseguiding", Verb::Get),
    ("lastexposureduration", Verb::Get),
    ("lastexposurestarttime", Verb::Get),
    ("maxadu", Verb::Get),
    ("maxbinx", Verb::Get),
    ("maxbiny", Verb::Get),
    ("numx", Verb::Both),
    ("numy", Verb::Both),
    ("offset", Verb::Both),
    ("offsetmax", Verb::Get),
    ("offsetmin", Verb::Get),
    ("offsets", Verb::Get),
    ("percentcompleted", Verb::Get),
    ("pixelsizex", Verb::Get),
    ("pixelsizey", Verb::Get),
    ("readoutmode", Verb::Both),
    ("readoutmodes", Verb::Get),
    ("sensorname", Verb::Get),
    ("sensortype", Verb::Get),
    ("setccdtemperature", Verb::Both),
    ("startx", Verb::Both),
    ("starty", Verb::Both),
    ("subexposureduration", Verb::Both),
    ("abortexposure", Verb::Put),
    ("pulseguide", Verb::Put),
    ("startexposure", Verb::Put),
    ("stopexposure", Verb::Put),
];

/// IFocuserV4's own members.
const FOCUSER: &[(&str, Verb)] = &[
    ("absolute", Verb::Get),
    ("ismoving", Verb::Get),
    ("maxincrement", Verb::Get),
    ("maxstep", Verb::Get),
    ("position", Verb::Get),
    ("stepsize", Verb::Get),
    ("tempcomp", Verb::Both),
    ("tempcompavailable", Verb::Get),
    ("temperature", Verb::Get),
    ("halt", Verb::Put),
    ("move", Verb::Put),
];

/// The verbs a member takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Get,
    Put,
    Both,
}

impl Verb {
    fn takes(self, method: &Method) -> bool {
        match self {
            Verb::Get => method == Method::GET,
            Verb::Put => method == Method::PUT,
            Verb::Both => method == Method::GET || method == Method::PUT,
        }
    }
}

/// Checks `member` of a device type with `own` members: known, and with a verb it takes.
fn check_member(
    own: &[(&str, Verb)],
    kind: &str,
    member: &str,
    method: &Method,
) -> Result<(), BadRequest> {
    let verb = COMMON
        .iter()
        .chain(own)
        .find(|(name, _)| *name == member)
        .map(|(_, verb)| *verb)
        .ok_or_else(|| BadRequest(format!("{member:?} is not a {kind} member")))?;
    if verb.takes(method) {
        Ok(())
    } else {
        Err(BadRequest(format!(
            "the {kind} member {member} does not take {method}"
        )))
    }
}

/// The connect and disconnect calls of one device, run one after the other in the order
/// asked for (`Connecting` while any is pending), whether in the background (the `connect`
/// and `disconnect` members) or awaited (`Connected=true/false`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Link {
    running: Arc<AtomicUsize>,
    last: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Link {
    fn connecting(&self) -> bool {
        self.running.load(Ordering::SeqCst) > 0
    }

    /// Queues `task` after the calls queued before it; counted as connecting until it ends.
    /// Its result comes on the receiver.
    fn queue<F>(&self, task: F) -> tokio::sync::oneshot::Receiver<Result<(), AlpacaError>>
    where
        F: std::future::Future<Output = Result<(), AlpacaError>> + Send + 'static,
    {
        self.running.fetch_add(1, Ordering::SeqCst);
        let running = self.running.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let previous = last.take();
        *last = Some(tokio::spawn(async move {
            if let Some(previous) = previous {
                let _ = previous.await;
            }
            let _ = tx.send(task.await);
            running.fetch_sub(1, Ordering::SeqCst);
        }));
        rx
    }

    /// Runs `task` in the background, after those queued before it.
    fn spawn<F>(&self, what: &'static str, task: F)
    where
        F: std::future::Future<Output = Result<(), AlpacaError>> + Send + 'static,
    {
        let done = self.queue(task);
        tokio::spawn(async move {
            if let Ok(Err(e)) = done.await {
                tracing::warn!("{what} failed: {e}");
            }
        });
    }

    /// Runs `task` after those queued before it and answers its result.
    async fn run<F>(&self, task: F) -> Result<(), AlpacaError>
    where
        F: std::future::Future<Output = Result<(), AlpacaError>> + Send + 'static,
    {
        self.queue(task).await.unwrap_or_else(|_| {
            Err(AlpacaError::driver(
                0,
                "the connection change stopped before it ended",
            ))
        })
    }
}

/// A served camera and what the layer keeps for it.
pub(crate) struct CameraSlot {
    pub(crate) port: Arc<dyn AlpacaCamera>,
    pub(crate) link: Link,
    frame: Mutex<FrameSettings>,
}

/// NumX/NumY (None = the full frame), StartX/StartY, and the window of the exposure started
/// last.
#[derive(Debug, Default, Clone, Copy)]
struct FrameSettings {
    num_x: Option<u32>,
    num_y: Option<u32>,
    start_x: u32,
    start_y: u32,
    exposed: Option<Subframe>,
}

impl CameraSlot {
    pub(crate) fn new(port: Arc<dyn AlpacaCamera>) -> CameraSlot {
        CameraSlot {
            port,
            link: Link::default(),
            frame: Mutex::new(FrameSettings::default()),
        }
    }

    fn settings(&self) -> FrameSettings {
        *self.frame.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut FrameSettings)) {
        f(&mut self.frame.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// A served focuser.
pub(crate) struct FocuserSlot {
    pub(crate) port: Arc<dyn AlpacaFocuser>,
    pub(crate) link: Link,
}

impl FocuserSlot {
    pub(crate) fn new(port: Arc<dyn AlpacaFocuser>) -> FocuserSlot {
        FocuserSlot {
            port,
            link: Link::default(),
        }
    }
}

/// What a member answers.
type Answer = Result<Option<Value>, AlpacaError>;

fn value(v: impl Into<Value>) -> Answer {
    Ok(Some(v.into()))
}

fn not_implemented(member: &str) -> Answer {
    Err(AlpacaError::not_implemented(format!(
        "{member} is not implemented by this device"
    )))
}

fn not_connected<D: AlpacaDevice + ?Sized>(port: &D) -> AlpacaError {
    AlpacaError::not_connected(format!("{} is not connected", port.identity().name))
}

/// A common member, or `None` when `member` is not one.
async fn common<D>(
    port: &Arc<D>,
    link: &Link,
    member: &str,
    method: &Method,
    params: &Params,
    state: impl std::future::Future<Output = Result<Vec<(&'static str, Value)>, AlpacaError>>,
) -> Result<Option<Answer>, BadRequest>
where
    D: AlpacaDevice + ?Sized,
{
    let identity = || port.identity();
    let answer = match member {
        "action" => {
            let action = params.required("Action")?.to_string();
            let parameters = params.required("Parameters")?.to_string();
            port.action(action, parameters)
                .await
                .map(|s| Some(s.into()))
        }
        "commandblind" | "commandbool" | "commandstring" => {
            params.required("Command")?;
            params.bool("Raw")?;
            not_implemented(member)
        }
        "connect" => {
            let p = port.clone();
            link.spawn("connecting", async move { p.connect().await });
            Ok(None)
        }
        "disconnect" => {
            let p = port.clone();
            link.spawn("disconnecting", async move { p.disconnect().await });
            Ok(None)
        }
        "connected" if method == Method::PUT => {
            let p = port.clone();
            if params.bool("Connected")? {
                link.run(async move { p.connect().await })
                    .await
                    .map(|()| None)
            } else {
                link.run(async move { p.disconnect().await })
                    .await
                    .map(|()| None)
            }
        }
        "connected" => value(port.connected()),
        "connecting" => value(link.connecting()),
        "description" => value(identity().description),
        "driverinfo" => value(identity().driver_info),
        "driverversion" => value(identity().driver_version),
        "interfaceversion" => value(INTERFACE_VERSION),
        "name" => value(identity().name),
        "supportedactions" => value(port.supported_actions()),
        "devicestate" => {
            let mut items = if port.connected() {
                state.await.unwrap_or_default()
            } else {
                Vec::new()
            };
            items.push(("TimeStamp", reply::iso_time(SystemTime::now()).into()));
            value(
                items
                    .into_iter()
                    .map(|(name, value)| json!({"Name": name, "Value": value}))
                    .collect::<Vec<_>>(),
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(answer))
}

/// A camera member.
pub(crate) async fn camera(
    slot: &CameraSlot,
    member: &str,
    method: &Method,
    params: &Params,
    headers: &HeaderMap,
    ids: Ids,
) -> Result<Response, BadRequest> {
    check_member(CAMERA, "camera", member, method)?;
    let port = &slot.port;
    let state = async {
        let e = port.exposure().await?;
        Ok(vec![
            ("CameraState", e.state.number().into()),
            ("ImageReady", e.image_ready.into()),
            ("IsPulseGuiding", false.into()),
            ("PercentCompleted", e.percent_completed.min(100).into()),
        ])
    };
    if let Some(answer) = common(port, &slot.link, member, method, params, state).await? {
        return Ok(reply::json(ids, answer));
    }
    if matches!(member, "imagearray" | "imagearrayvariant") {
        return Ok(image_array(slot, headers, ids).await);
    }
    let answer = camera_member(slot, member, method, params).await?;
    Ok(reply::json(ids, answer))
}

/// A camera member other than the common ones and the image.
async fn camera_member(
    slot: &CameraSlot,
    member: &str,
    method: &Method,
    params: &Params,
) -> Result<Answer, BadRequest> {
    let port = &slot.port;
    let put = method == Method::PUT;
    // Parameters first: a malformed request is a 400 whatever the member does.
    let int_param = match (put, member) {
        (true, "binx") => Some(params.int("BinX")?),
        (true, "biny") => Some(params.int("BinY")?),
        (true, "gain") => Some(params.int("Gain")?),
        (true, "numx") => Some(params.int("NumX")?),
        (true, "numy") => Some(params.int("NumY")?),
        (true, "offset") => Some(params.int("Offset")?),
        (true, "readoutmode") => Some(params.int("ReadoutMode")?),
        (true, "startx") => Some(params.int("StartX")?),
        (true, "starty") => Some(params.int("StartY")?),
        _ => None,
    };
    match (put, member) {
        (true, "cooleron") => drop(params.bool("CoolerOn")?),
        (true, "fastreadout") => drop(params.bool("FastReadout")?),
        (true, "setccdtemperature") => drop(params.number("SetCCDTemperature")?),
        (true, "subexposureduration") => drop(params.number("SubExposureDuration")?),
        (true, "pulseguide") => {
            params.int("Direction")?;
            params.int("Duration")?;
        }
        _ => {}
    }
    let exposure_request = if put && member == "startexposure" {
        Some((params.number("Duration")?, params.bool("Light")?))
    } else {
        None
    };

    // What this device never has: the same answer connected or not.
    match member {
        "ccdtemperature"
        | "cooleron"
        | "coolerpower"
        | "electronsperadu"
        | "fastreadout"
        | "fullwellcapacity"
        | "gainmax"
        | "gainmin"
        | "heatsinktemperature"
        | "offset"
        | "offsetmax"
        | "offsetmin"
        | "offsets"
        | "pulseguide"
        | "setccdtemperature"
        | "subexposureduration" => return Ok(not_implemented(member)),
        _ => {}
    }
    if !port.connected() {
        return Ok(Err(not_connected(port.as_ref())));
    }
    let answer = match (member, int_param, exposure_request) {
        ("canabortexposure" | "canstopexposure", ..) => value(true),
        (
            "canasymmetricbin"
            | "canfastreadout"
            | "cangetcoolerpower"
            | "canpulseguide"
            | "cansetccdtemperature"
            | "hasshutter"
            | "ispulseguiding",
            ..,
        ) => value(false),
        ("maxbinx" | "maxbiny", ..) => value(1),
        ("binx" | "biny", Some(bin), _) => {
            if bin == 1 {
                Ok(None)
            } else {
                Err(AlpacaError::invalid_value(format!(
                    "binning {bin} is not available: this camera bins 1×1 only"
                )))
            }
        }
        ("binx" | "biny", None, _) => value(1),
        ("readoutmode", Some(index), _) => set_readout_mode(slot, index).await,
        ("startx" | "starty" | "numx" | "numy", Some(n), _) => match u32::try_from(n) {
            Ok(n) => {
                slot.update(|s| match member {
                    "startx" => s.start_x = n,
                    "starty" => s.start_y = n,
                    "numx" => s.num_x = Some(n),
                    _ => s.num_y = Some(n),
                });
                Ok(None)
            }
            Err(_) => Err(AlpacaError::invalid_value(format!(
                "{member} cannot be negative ({n})"
            ))),
        },
        ("startx", None, _) => value(slot.settings().start_x),
        ("starty", None, _) => value(slot.settings().start_y),
        ("numx" | "numy", None, _) => match slot.settings() {
            FrameSettings { num_x: Some(n), .. } if member == "numx" => value(n),
            FrameSettings { num_y: Some(n), .. } if member == "numy" => value(n),
            _ => port.sensor().await.and_then(|s| match s.size {
                Some((x, y)) => value(if member == "numx" { x } else { y }),
                None => Err(size_not_set()),
            }),
        },
        (
            "bayeroffsetx" | "bayeroffsety" | "cameraxsize" | "cameraysize" | "exposuremax"
            | "exposuremin" | "exposureresolution" | "maxadu" | "pixelsizex" | "pixelsizey"
            | "sensorname" | "sensortype",
            ..,
        ) => port.sensor().await.and_then(|s| match member {
            "bayeroffsetx" | "bayeroffsety" => match s.bayer_offset {
                Some((x, y)) => value(if member == "bayeroffsetx" { x } else { y }),
                None => not_implemented(member),
            },
            "cameraxsize" | "cameraysize" => match s.size {
                Some((x, _)) if member == "cameraxsize" => value(x),
                Some((_, y)) => value(y),
                None => Err(size_not_set()),
            },
            "exposuremax" => value(s.exposure_max),
            "exposuremin" => value(s.exposure_min),
            "exposureresolution" => value(s.exposure_resolution),
            "maxadu" => match s.max_adu {
                Some(adu) => value(adu),
                None => Err(AlpacaError::value_not_set(
                    "the white level is known after the first exposure",
                )),
            },
            "pixelsizex" => value(s.pixel_size_x),
            "pixelsizey" => value(s.pixel_size_y),
            "sensorname" => value(s.sensor_name),
            _ => value(s.sensor_type.number()),
        }),
        (
            "camerastate"
            | "percentcompleted"
            | "imageready"
            | "lastexposureduration"
            | "lastexposurestarttime",
            ..,
        ) => port.exposure().await.and_then(|e| match member {
            "camerastate" => value(e.state.number()),
            "percentcompleted" => value(e.percent_completed.min(100)),
            "imageready" => value(e.image_ready),
            _ => match e.last {
                None => Err(AlpacaError::value_not_set(
                    "no exposure has been taken since the camera connected",
                )),
                Some(last) if member == "lastexposureduration" => value(last.duration),
                Some(last) => value(reply::fits_time(last.started)),
            },
        }),
        ("gains", ..) => port.gains().await.map(|g| Some(g.into())),
        ("gain", None, _) => port.gain().await.map(|g| Some(g.into())),
        ("gain", Some(index), _) => match port.gains().await {
            Ok(gains) if index_in(index, gains.len()) => port.set_gain(index).await.map(|()| None),
            Ok(gains) => Err(AlpacaError::invalid_value(format!(
                "Gain {index} is not an index of Gains (0…{})",
                gains.len().saturating_sub(1)
            ))),
            Err(e) => Err(e),
        },
        ("readoutmodes", ..) => port.readout_modes().await.map(|m| Some(m.into())),
        ("readoutmode", None, _) => port.readout_mode().await.map(|m| Some(m.into())),
        ("startexposure", _, Some((duration, light))) => {
            start_exposure(slot, duration, light).await
        }
        ("stopexposure", ..) => port.stop_exposure().await.map(|()| None),
        ("abortexposure", ..) => port.abort_exposure().await.map(|()| None),
        _ => not_implemented(member),
    };
    Ok(answer)
}

/// CameraXSize/YSize and NumX/NumY while the size is not known.
fn size_not_set() -> AlpacaError {
    AlpacaError::value_not_set("the frame size is known after the first exposure")
}

/// ReadoutMode: checked against ReadoutModes; a change of mode puts NumX/NumY/StartX/StartY
/// back on the full frame of the new mode (its size may differ: a client sets ReadoutMode,
/// then reads CameraXSize and exposes).
async fn set_readout_mode(slot: &CameraSlot, index: i32) -> Answer {
    let port = &slot.port;
    let modes = port.readout_modes().await?;
    if !index_in(index, modes.len()) {
        return Err(AlpacaError::invalid_value(format!(
            "ReadoutMode {index} is not an index of ReadoutModes (0…{})",
            modes.len().saturating_sub(1)
        )));
    }
    let before = port.readout_mode().await?;
    port.set_readout_mode(index).await?;
    if before != index {
        slot.update(|s| {
            s.num_x = None;
            s.num_y = None;
            s.start_x = 0;
            s.start_y = 0;
        });
    }
    Ok(None)
}

fn index_in(index: i32, len: usize) -> bool {
    usize::try_from(index).is_ok_and(|i| i < len)
}

/// StartExposure: the duration and the subframe checked against the sensor, then the port.
/// While the frame size is not known, only the full frame (NumX/NumY never set, StartX/StartY
/// 0) is taken.
async fn start_exposure(slot: &CameraSlot, duration: f64, light: bool) -> Answer {
    let sensor = slot.port.sensor().await?;
    if !(0.0..=sensor.exposure_max).contains(&duration) {
        return Err(AlpacaError::invalid_value(format!(
            "Duration {duration} s is outside 0…{} s",
            sensor.exposure_max
        )));
    }
    let s = slot.settings();
    let subframe = match sensor.size {
        Some((width, height)) => {
            let subframe = Subframe {
                start_x: s.start_x,
                start_y: s.start_y,
                num_x: s.num_x.unwrap_or(width),
                num_y: s.num_y.unwrap_or(height),
            };
            let fits = |start: u32, num: u32, size: u32| {
                num >= 1 && start.checked_add(num).is_some_and(|end| end <= size)
            };
            if !fits(subframe.start_x, subframe.num_x, width)
                || !fits(subframe.start_y, subframe.num_y, height)
            {
                return Err(AlpacaError::invalid_value(format!(
                    "the subframe StartX {} NumX {} StartY {} NumY {} does not fit the {}×{} \
                     frame",
                    subframe.start_x,
                    subframe.num_x,
                    subframe.start_y,
                    subframe.num_y,
                    width,
                    height
                )));
            }
            Some(subframe)
        }
        None if s.num_x.is_none() && s.num_y.is_none() && s.start_x == 0 && s.start_y == 0 => None,
        None => {
            return Err(AlpacaError::invalid_value(
                "the frame size is known after the first exposure: take a full frame first \
                 (NumX, NumY, StartX and StartY unset)",
            ));
        }
    };
    slot.port
        .start_exposure(ExposureRequest {
            duration,
            light,
            subframe,
        })
        .await?;
    slot.update(|s| s.exposed = subframe);
    Ok(None)
}

/// ImageArray / ImageArrayVariant: ImageBytes when asked for, else JSON; errors in the form
/// asked for.
async fn image_array(slot: &CameraSlot, headers: &HeaderMap, ids: Ids) -> Response {
    let bytes = image::wants_image_bytes(headers);
    let frame = async {
        if !slot.port.connected() {
            return Err(not_connected(slot.port.as_ref()));
        }
        let no_image = || AlpacaError::invalid_operation("no image is ready: take an exposure");
        let status = slot.port.exposure().await?;
        if !status.image_ready {
            // CameraState Error: the reason is told here, where the client wanted the image.
            return Err(match status.error {
                Some(why) => AlpacaError::invalid_operation(format!(
                    "no image: the last exposure failed: {why}"
                )),
                None => no_image(),
            });
        }
        let frame = slot.port.image().await?.ok_or_else(no_image)?;
        let (fw, fh) = (frame.width(), frame.height());
        let sub = slot.settings().exposed.unwrap_or(Subframe {
            start_x: 0,
            start_y: 0,
            num_x: fw,
            num_y: fh,
        });
        let x = sub.start_x.min(fw);
        let y = sub.start_y.min(fh);
        let window = Window {
            x,
            y,
            width: sub.num_x.min(fw - x),
            height: sub.num_y.min(fh - y),
        };
        if window.width == 0 || window.height == 0 {
            return Err(no_image());
        }
        image::check_frame(frame.as_ref(), window)?;
        Ok((frame, window))
    };
    match (frame.await, bytes) {
        (Ok((frame, window)), true) => image::image_bytes(frame, window, ids),
        (Ok((frame, window)), false) => image::image_json(frame, window, ids),
        (Err(e), true) => image::image_bytes_error(ids, &e),
        (Err(e), false) => reply::json(ids, Err(e)),
    }
}

/// A focuser member.
pub(crate) async fn focuser(
    slot: &FocuserSlot,
    member: &str,
    method: &Method,
    params: &Params,
    ids: Ids,
) -> Result<Response, BadRequest> {
    check_member(FOCUSER, "focuser", member, method)?;
    let port = &slot.port;
    let state = async {
        let s = port.status().await?;
        let mut items = vec![("IsMoving", s.is_moving.into())];
        if s.absolute {
            items.push(("Position", s.position.into()));
        }
        Ok(items)
    };
    if let Some(answer) = common(port, &slot.link, member, method, params, state).await? {
        return Ok(reply::json(ids, answer));
    }
    let put = method == Method::PUT;
    let temp_comp = if put && member == "tempcomp" {
        Some(params.bool("TempComp")?)
    } else {
        None
    };
    let target = if put && member == "move" {
        Some(params.int("Position")?)
    } else {
        None
    };
    let answer = match member {
        "stepsize" | "temperature" => not_implemented(member),
        _ if !port.connected() => Err(not_connected(port.as_ref())),
        "tempcomp" => match temp_comp {
            Some(true) => Err(AlpacaError::not_implemented(
                "temperature compensation is not available",
            )),
            Some(false) => Ok(None),
            None => value(false),
        },
        "tempcompavailable" => value(false),
        "halt" => port.halt().await.map(|()| None),
        _ => match port.status().await {
            Err(e) => Err(e),
            Ok(s) => match (member, target) {
                ("absolute", _) => value(s.absolute),
                ("ismoving", _) => value(s.is_moving),
                ("maxstep", _) => value(s.max_step),
                ("maxincrement", _) => value(s.max_increment),
                ("position", _) if s.absolute => value(s.position),
                ("position", _) => Err(AlpacaError::not_implemented(
                    "Position is not available on a relative focuser (see /setup)",
                )),
                ("move", Some(target)) => {
                    let to = if s.absolute {
                        FocusMove::To(u32::try_from(target.max(0)).unwrap_or(0).min(s.max_step))
                    } else {
                        let max = i32::try_from(s.max_increment).unwrap_or(i32::MAX);
                        FocusMove::By(target.clamp(-max, max))
                    };
                    port.move_focus(to).await.map(|()| None)
                }
                _ => not_implemented(member),
            },
        },
    };
    Ok(reply::json(ids, answer))
}
