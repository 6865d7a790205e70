//! The simulated camera on PTP/IP: a TCP server that speaks CIPA DC-X005 the way Sony bodies do.
//!
//! - One listening port serves both connections of a host: the first packet says which
//!   (Init Command Request opens a command/data connection; Init Event Request, carrying the
//!   connection number from the ack, attaches the event connection to it).
//! - Data from the camera goes as Start Data → one Data packet with the whole payload → an empty
//!   End Data, then the Operation Response. Data from the host is accepted in any chunking (Data
//!   packets and a non-empty End Data), and DataPhaseInfo 0, 1 or 2 is accepted.
//! - Probe Request is answered on either connection. Sockets use TCP_NODELAY: hosts send request,
//!   Start Data and End Data as separate small writes and the camera must not wait for more.
//! - A host that leaves, or sends garbage, is disconnected from the camera, which is then free
//!   for the next host.
//!
//! Camera time is wall-clock time since the server started, multiplied by `time_scale`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sonyctl_ptp::Operation;
use sonyctl_ptp::ptpip::{PROTOCOL_VERSION, Packet};
use sonyctl_sim::{ConnectionId, SimulatedCamera, WireFault, has_data_out};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

/// The largest data-out phase accepted from a host.
const MAX_HOST_DATA: u64 = 64 * 1024 * 1024;
/// How long a host may take to send the data phase it announced.
const DATA_TIMEOUT: Duration = Duration::from_secs(10);
/// How often pending camera work (delayed settings) is applied and events are flushed.
const TICK: Duration = Duration::from_millis(10);

/// Errors of one host connection. They end that connection only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The host sent bytes that are not PTP/IP.
    #[error("bad packet from host: {0}")]
    Decode(#[from] sonyctl_ptp::DecodeError),
    /// The host broke the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Reading a packet failed.
    #[error(transparent)]
    Transport(#[from] crate::TransportError),
}

/// Options of the PTP/IP server.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Camera seconds per wall-clock second (1.0 = real time).
    pub time_scale: f64,
    /// Log every packet (at `info` level through `tracing`).
    pub verbose: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            time_scale: 1.0,
            verbose: false,
        }
    }
}

struct Shared {
    cam: crate::clocked::ClockedCamera,
    verbose: bool,
    /// Event senders of the hosts whose event connection is attached.
    event_sinks: Mutex<HashMap<ConnectionId, mpsc::UnboundedSender<Packet>>>,
    guid: [u8; 16],
    name: String,
    /// Per host: woken when the owner pulls the cable, so the connection closes.
    unplug: Mutex<HashMap<ConnectionId, Arc<Notify>>>,
}

impl Shared {
    fn now(&self) -> Duration {
        self.cam.now()
    }

    fn camera(&self) -> std::sync::MutexGuard<'_, SimulatedCamera> {
        self.cam.camera()
    }

    /// Applies due camera work and forwards events to attached event connections.
    fn flush_events(&self) {
        let now = self.now();
        let mut cam = self.camera();
        cam.advance(now);
        for e in cam.take_action_errors() {
            tracing::warn!("{e}");
        }
        let unplugged = cam.take_unplugged();
        if !unplugged.is_empty() {
            let map = self.unplug.lock().unwrap_or_else(|e| e.into_inner());
            for id in unplugged {
                tracing::info!(connection = id.0, "cable pulled");
                if let Some(n) = map.get(&id) {
                    n.notify_one();
                }
            }
        }
        let sinks = self.event_sinks.lock().unwrap_or_else(|e| e.into_inner());
        for (id, tx) in sinks.iter() {
            for ev in cam.take_events(*id) {
                let _ = tx.send(Packet::Event {
                    code: ev.code,
                    transaction_id: ev.transaction_id,
                    params: ev.params,
                });
            }
        }
    }
}

/// Access to the served camera from outside the server (stats, owner actions).
#[derive(Clone)]
pub struct CameraHandle(Arc<Shared>);

impl CameraHandle {
    /// Runs `f` on the camera, at the current camera time.
    pub fn with<R>(&self, f: impl FnOnce(&mut SimulatedCamera) -> R) -> R {
        self.0.cam.with(f)
    }
}

/// A running PTP/IP server.
pub struct PtpIpServer {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl PtpIpServer {
    /// Binds `addr` (port 0 picks a free port) for `camera`.
    pub async fn bind(
        addr: SocketAddr,
        camera: SimulatedCamera,
        options: ServerOptions,
    ) -> std::io::Result<PtpIpServer> {
        let listener = TcpListener::bind(addr).await?;
        let info = &camera.profile().device_info;
        let mut guid = [0u8; 16];
        for (slot, b) in guid.iter_mut().zip(info.serial_number.bytes().rev()) {
            *slot = b;
        }
        let name = info.model.clone();
        Ok(PtpIpServer {
            listener,
            shared: Arc::new(Shared {
                cam: crate::clocked::ClockedCamera::new(camera, options.time_scale),
                verbose: options.verbose,
                event_sinks: Mutex::new(HashMap::new()),
                guid,
                name,
                unplug: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// A handle on the camera that stays valid while the server runs.
    pub fn camera(&self) -> CameraHandle {
        CameraHandle(self.shared.clone())
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves hosts until the task is dropped.
    pub async fn run(self) -> std::io::Result<()> {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tick.tick().await;
                shared.flush_events();
            }
        });
        loop {
            let (stream, peer) = self.listener.accept().await?;
            let shared = self.shared.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_connection(stream, shared).await {
                    tracing::info!(%peer, "connection ended: {e}");
                }
            });
        }
    }
}

/// The largest packet a host may send: the largest accepted data phase in one piece.
const MAX_HOST_PACKET: usize = MAX_HOST_DATA as usize + 64;

async fn read_packet(r: &mut OwnedReadHalf) -> Result<Option<Packet>, ServerError> {
    Ok(crate::framing::read_packet(r, MAX_HOST_PACKET).await?)
}

async fn write_packet(
    w: &mut OwnedWriteHalf,
    p: &Packet,
    verbose: bool,
) -> Result<(), ServerError> {
    if verbose {
        tracing::info!("camera → host {}", describe(p));
    }
    let bytes = p
        .to_bytes()
        .map_err(|e| ServerError::Protocol(format!("cannot encode {p:?}: {e}")))?;
    w.write_all(&bytes).await?;
    Ok(())
}

fn describe(p: &Packet) -> String {
    sonyctl_sony::codes::describe_packet(p)
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) -> Result<(), ServerError> {
    stream.set_nodelay(true)?;
    let (mut r, mut w) = stream.into_split();
    let first = match read_packet(&mut r).await? {
        Some(p) => p,
        None => return Ok(()),
    };
    if shared.verbose {
        tracing::info!("host → camera {}", describe(&first));
    }
    match first {
        Packet::InitCommandRequest { friendly_name, .. } => {
            let id = shared.camera().connect();
            tracing::info!(host = %friendly_name, connection = id.0, "host connected");
            let ack = Packet::InitCommandAck {
                connection_number: id.0,
                guid: shared.guid,
                friendly_name: shared.name.clone(),
                protocol_version: Some(PROTOCOL_VERSION),
            };
            write_packet(&mut w, &ack, shared.verbose).await?;
            let unplug = Arc::new(Notify::new());
            shared
                .unplug
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, unplug.clone());
            let result = tokio::select! {
                r = command_loop(&mut r, &mut w, &shared, id) => r,
                () = unplug.notified() => Ok(()),
            };
            shared
                .unplug
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            shared.camera().disconnect(id);
            shared
                .event_sinks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            tracing::info!(connection = id.0, "host left");
            result
        }
        Packet::InitEventRequest { connection_number } => {
            let id = ConnectionId(connection_number);
            let (tx, mut rx) = mpsc::unbounded_channel();
            shared
                .event_sinks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, tx);
            write_packet(&mut w, &Packet::InitEventAck, shared.verbose).await?;
            // Events out; probes answered; the connection ends with the host's.
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Some(p) => write_packet(&mut w, &p, shared.verbose).await?,
                        None => return Ok(()),
                    },
                    p = read_packet(&mut r) => match p? {
                        Some(Packet::ProbeRequest) => {
                            write_packet(&mut w, &Packet::ProbeResponse, shared.verbose).await?;
                        }
                        Some(_) => {}
                        None => return Ok(()),
                    },
                }
            }
        }
        Packet::ProbeRequest => write_packet(&mut w, &Packet::ProbeResponse, shared.verbose).await,
        other => {
            write_packet(&mut w, &Packet::InitFail { reason: 1 }, shared.verbose).await?;
            Err(ServerError::Protocol(format!(
                "expected an Init Command or Init Event Request, got {other:?}"
            )))
        }
    }
}

async fn command_loop(
    r: &mut OwnedReadHalf,
    w: &mut OwnedWriteHalf,
    shared: &Shared,
    id: ConnectionId,
) -> Result<(), ServerError> {
    // A large data phase being timed: bytes, and when its first byte went out. It ends when
    // the host asks for anything else (it has the whole object then) or leaves.
    let mut timing: Option<(u64, Instant)> = None;
    let record = |timing: &mut Option<(u64, Instant)>| {
        if let Some((bytes, started)) = timing.take() {
            shared
                .camera()
                .record_transfer(id, bytes, started.elapsed());
        }
    };
    loop {
        let packet = read_packet(r).await;
        record(&mut timing);
        let Some(packet) = packet? else {
            return Ok(());
        };
        if shared.verbose {
            tracing::info!("host → camera {}", describe(&packet));
        }
        match packet {
            Packet::OperationRequest {
                data_phase,
                code,
                transaction_id,
                params,
            } => {
                let op = Operation {
                    code,
                    transaction_id,
                    params,
                };
                let data = if has_data_out(code) || data_phase == sonyctl_ptp::ptpip::DataPhase::OUT
                {
                    Some(
                        tokio::time::timeout(DATA_TIMEOUT, read_data_out(r, transaction_id))
                            .await
                            .map_err(|_| {
                                ServerError::Protocol(format!(
                                    "no data phase for {code} within {DATA_TIMEOUT:?}"
                                ))
                            })??,
                    )
                } else {
                    None
                };
                let reply = {
                    let now = shared.now();
                    shared.camera().handle(id, now, &op, data.as_deref())
                };
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay.div_f64(shared.cam.time_scale.max(1e-6))).await;
                }
                if reply.wire == Some(WireFault::GarbageFirst) {
                    // A packet of a type that does not exist.
                    w.write_all(&[12, 0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE, 1, 2, 3, 4])
                        .await?;
                }
                if let Some(payload) = reply.data {
                    let cut = match reply.wire {
                        Some(WireFault::CutDataAfter(n)) => Some(n),
                        _ => None,
                    };
                    if payload.len() >= TIMED_TRANSFER && cut.is_none() {
                        timing = Some((payload.len() as u64, Instant::now()));
                    }
                    send_data_phase(w, transaction_id, payload, cut, shared.verbose).await?;
                    if cut.is_some() {
                        return Err(ServerError::Protocol(
                            "fault disconnect-mid-data: connection dropped in a data phase".into(),
                        ));
                    }
                    // The whole data phase is written (a live-view frame's age is taken now).
                    let now = shared.now();
                    shared.camera().data_phase_sent(id, now);
                }
                write_packet(
                    w,
                    &Packet::OperationResponse {
                        code: reply.code,
                        transaction_id,
                        params: reply.params,
                    },
                    shared.verbose,
                )
                .await?;
                shared.flush_events();
            }
            Packet::ProbeRequest => write_packet(w, &Packet::ProbeResponse, shared.verbose).await?,
            Packet::Cancel { .. } => {}
            other => {
                return Err(ServerError::Protocol(format!(
                    "unexpected packet on the command connection: {other:?}"
                )));
            }
        }
    }
}

/// Data phases at least this large are timed for `--stats` (download throughput).
const TIMED_TRANSFER: usize = 1024 * 1024;

/// The most payload one Data packet carries (a real body's files fit in one).
const MAX_DATA_PACKET: usize = 256 * 1024 * 1024;

/// Sends the camera's data as Sony does: Start Data, one Data with everything (several for an
/// object above 256 MiB), an empty End Data. The payload is written straight from the camera's
/// buffer, without a copy. With `cut`, only that many payload bytes go out (the
/// `disconnect-mid-data` fault).
async fn send_data_phase(
    w: &mut OwnedWriteHalf,
    transaction_id: u32,
    payload: Vec<u8>,
    cut: Option<usize>,
    verbose: bool,
) -> Result<(), ServerError> {
    let total_length = payload.len() as u64;
    write_packet(
        w,
        &Packet::StartData {
            transaction_id,
            total_length,
        },
        verbose,
    )
    .await?;
    let mut left = cut.unwrap_or(payload.len()).min(payload.len());
    let mut at = 0usize;
    let pieces = if payload.is_empty() {
        Vec::new()
    } else {
        payload.chunks(MAX_DATA_PACKET).collect::<Vec<_>>()
    };
    for piece in pieces {
        let mut head = Vec::with_capacity(12);
        head.extend_from_slice(&((12 + piece.len()) as u32).to_le_bytes());
        head.extend_from_slice(&10u32.to_le_bytes());
        head.extend_from_slice(&transaction_id.to_le_bytes());
        if verbose {
            tracing::info!(
                "camera → host Data tid {transaction_id:#x} {} byte(s)",
                piece.len()
            );
        }
        w.write_all(&head).await?;
        let n = piece.len().min(left);
        w.write_all(piece.get(..n).unwrap_or(piece)).await?;
        left -= n;
        at += n;
        if n < piece.len() {
            break;
        }
    }
    if cut.is_some() {
        // The 12-byte Data header, then part of the payload, and nothing more.
        w.flush().await?;
        tracing::debug!("data phase cut after {at} byte(s)");
        return Ok(());
    }
    let end = Packet::EndData {
        transaction_id,
        payload: Vec::new(),
    };
    write_packet(w, &end, verbose).await?;
    Ok(())
}

/// Reads Start Data, then Data and End Data until the announced length has arrived.
async fn read_data_out(r: &mut OwnedReadHalf, tid: u32) -> Result<Vec<u8>, ServerError> {
    let total = match read_packet(r).await? {
        Some(Packet::StartData {
            transaction_id,
            total_length,
        }) if transaction_id == tid => total_length,
        Some(other) => {
            return Err(ServerError::Protocol(format!(
                "expected Start Data for transaction {tid}, got {other:?}"
            )));
        }
        None => return Err(ServerError::Protocol("host left before its data".into())),
    };
    if total > MAX_HOST_DATA {
        return Err(ServerError::Protocol(format!(
            "host announced {total} bytes, more than the {MAX_HOST_DATA} accepted"
        )));
    }
    let mut data = Vec::with_capacity(total.min(1 << 20) as usize);
    loop {
        match read_packet(r).await? {
            Some(Packet::Data {
                transaction_id,
                payload,
            }) if transaction_id == tid => data.extend_from_slice(&payload),
            Some(Packet::EndData {
                transaction_id,
                payload,
            }) if transaction_id == tid => {
                data.extend_from_slice(&payload);
                break;
            }
            Some(other) => {
                return Err(ServerError::Protocol(format!(
                    "expected Data for transaction {tid}, got {other:?}"
                )));
            }
            None => return Err(ServerError::Protocol("host left in its data phase".into())),
        }
        if data.len() as u64 > total {
            return Err(ServerError::Protocol(format!(
                "host sent more than the {total} bytes it announced"
            )));
        }
    }
    if data.len() as u64 != total {
        return Err(ServerError::Protocol(format!(
            "host announced {total} bytes and sent {}",
            data.len()
        )));
    }
    Ok(data)
}
