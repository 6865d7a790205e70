//! The host side of PTP/IP: connects to a camera (or `sonyctl simulate`), runs the Init
//! handshake on the command and event connections, and carries transactions.
//!
//! - Data from the camera is streamed to a sink in chunks as it arrives, whatever the packet
//!   sizes: Sony sends a whole object in one Data packet, which can be hundreds of megabytes, and
//!   nothing here holds it in memory.
//! - Data to the camera goes as Start Data, then End Data carrying the payload (in 64 KiB Data
//!   packets first when larger).
//! - Every read has a time-out; the Init Command Ack may take as long as the camera shows its
//!   pairing prompt (`ack_timeout`).
//! - Events arrive on their own connection and are queued by a background task.

use std::net::SocketAddr;
use std::time::Duration;

use sonyctl_ptp::Reader;
use sonyctl_ptp::ptpip::{
    DataPhase, HEADER_LEN, PROTOCOL_VERSION, Packet, PacketHeader, PacketType, peek_packet_len,
};
use sonyctl_ptp::{Event, Operation, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use crate::TransportError;

/// Largest non-data packet accepted (Init Acks, responses, events are tiny).
const MAX_CONTROL_PACKET: usize = 1 << 20;
/// Chunk size for sending data phases.
const CHUNK: usize = 64 * 1024;
/// Piece size for receiving data phases (what a sink gets at a time; memory stays bounded).
const READ_CHUNK: usize = 1024 * 1024;

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The host's GUID; cameras remember it for pairing, so keep it stable.
    pub guid: [u8; 16],
    /// Shown on the camera's pairing prompt.
    pub friendly_name: String,
    /// Connecting a socket.
    pub connect_timeout: Duration,
    /// Waiting for the Init Command Ack (the camera may show a pairing prompt first).
    pub ack_timeout: Duration,
    /// Waiting for any later packet.
    pub io_timeout: Duration,
    /// The port of the event connection (cameras use the same port as commands).
    pub event_port: Option<u16>,
    /// Record every packet here (`--trace`).
    pub trace: Option<crate::Trace>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            guid: [0x50; 16],
            friendly_name: "sonyctl".into(),
            connect_timeout: Duration::from_secs(5),
            ack_timeout: Duration::from_secs(300),
            io_timeout: Duration::from_secs(30),
            event_port: None,
            trace: None,
        }
    }
}

/// A PTP/IP connection to a camera.
pub struct PtpIpClient {
    r: OwnedReadHalf,
    w: OwnedWriteHalf,
    events: mpsc::UnboundedReceiver<Event>,
    io_timeout: Duration,
    /// The camera's name from the Init Command Ack.
    pub camera_name: String,
    /// The connection number from the ack.
    pub connection_number: u32,
    trace: Option<crate::Trace>,
    /// Where and how it connected, to connect again.
    addr: SocketAddr,
    options: ConnectOptions,
}

/// Logs (at `info`, shown with `-v`) and records a packet.
fn note(
    trace: Option<&crate::Trace>,
    dir: crate::Direction,
    channel: &str,
    p: &Packet,
    bytes: &[u8],
) {
    let arrow = if dir == crate::Direction::ToCamera {
        "host → camera"
    } else {
        "camera → host"
    };
    tracing::info!(
        "{arrow} {channel}: {}",
        sonyctl_sony::codes::describe_packet(p)
    );
    if let Some(t) = trace {
        t.record(dir, channel, bytes);
    }
}

/// Reads a control packet, then logs and records it.
async fn read_noted<R: AsyncRead + Unpin>(
    r: &mut R,
    trace: Option<&crate::Trace>,
    channel: &str,
) -> Result<Packet, TransportError> {
    let p = read_packet(r, MAX_CONTROL_PACKET).await?;
    if let Ok(bytes) = p.to_bytes() {
        note(trace, crate::Direction::ToHost, channel, &p, &bytes);
    }
    Ok(p)
}

async fn timed<T>(
    limit: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, TransportError>>,
) -> Result<T, TransportError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| TransportError::Timeout(limit, what))?
}

/// Reads one whole packet; a closed stream is an error here.
async fn read_packet<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Packet, TransportError> {
    crate::framing::read_packet(r, max).await?.ok_or_else(|| {
        TransportError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the camera closed the connection",
        ))
    })
}

impl PtpIpClient {
    /// Connects the command and event connections to `addr` and runs the Init handshake.
    pub async fn connect(
        addr: SocketAddr,
        options: &ConnectOptions,
    ) -> Result<PtpIpClient, TransportError> {
        let stream = timed(options.connect_timeout, "connecting", async {
            Ok(TcpStream::connect(addr).await?)
        })
        .await?;
        stream.set_nodelay(true)?;
        let (mut r, mut w) = stream.into_split();
        let request = Packet::InitCommandRequest {
            guid: options.guid,
            friendly_name: options.friendly_name.clone(),
            protocol_version: PROTOCOL_VERSION,
        };
        let bytes = request
            .to_bytes()
            .map_err(|e| TransportError::Protocol(e.to_string()))?;
        note(
            options.trace.as_ref(),
            crate::Direction::ToCamera,
            "command",
            &request,
            &bytes,
        );
        w.write_all(&bytes).await?;
        let ack = timed(
            options.ack_timeout,
            "Init Command Ack (confirm on the camera?)",
            read_noted(&mut r, options.trace.as_ref(), "command"),
        )
        .await?;
        let (connection_number, camera_name) = match ack {
            Packet::InitCommandAck {
                connection_number,
                friendly_name,
                ..
            } => (connection_number, friendly_name),
            Packet::InitFail { reason } => return Err(TransportError::Refused(reason)),
            other => {
                return Err(TransportError::Protocol(format!(
                    "expected Init Command Ack, got {other:?}"
                )));
            }
        };
        let event_addr = SocketAddr::new(addr.ip(), options.event_port.unwrap_or(addr.port()));
        let event_stream = timed(
            options.connect_timeout,
            "connecting the event channel",
            async { Ok(TcpStream::connect(event_addr).await?) },
        )
        .await?;
        event_stream.set_nodelay(true)?;
        let (mut er, mut ew) = event_stream.into_split();
        let req = Packet::InitEventRequest { connection_number };
        let bytes = req
            .to_bytes()
            .map_err(|e| TransportError::Protocol(e.to_string()))?;
        note(
            options.trace.as_ref(),
            crate::Direction::ToCamera,
            "event",
            &req,
            &bytes,
        );
        ew.write_all(&bytes).await?;
        match timed(
            options.io_timeout,
            "Init Event Ack",
            read_noted(&mut er, options.trace.as_ref(), "event"),
        )
        .await?
        {
            Packet::InitEventAck => {}
            Packet::InitFail { reason } => return Err(TransportError::Refused(reason)),
            other => {
                return Err(TransportError::Protocol(format!(
                    "expected Init Event Ack, got {other:?}"
                )));
            }
        }
        let (tx, events) = mpsc::unbounded_channel();
        let event_trace = options.trace.clone();
        tokio::spawn(async move {
            // Events until the camera closes the connection; probes are answered.
            loop {
                match read_noted(&mut er, event_trace.as_ref(), "event").await {
                    Ok(Packet::Event {
                        code,
                        transaction_id,
                        params,
                    }) => {
                        if tx
                            .send(Event {
                                code,
                                transaction_id,
                                params,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    Ok(Packet::ProbeRequest) => {
                        let Ok(bytes) = Packet::ProbeResponse.to_bytes() else {
                            return;
                        };
                        if ew.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // One packet that does not decode: the framing held, so read on.
                    Err(TransportError::Decode(e)) => {
                        tracing::info!("skipped a bad event packet: {e}");
                    }
                    Err(_) => return,
                }
            }
        });
        Ok(PtpIpClient {
            r,
            w,
            events,
            io_timeout: options.io_timeout,
            camera_name,
            connection_number,
            trace: options.trace.clone(),
            addr,
            options: options.clone(),
        })
    }

    /// Drops this connection and connects again to the same camera with the same options (the
    /// caller runs the session handshake again).
    pub async fn reconnect(&mut self) -> Result<(), TransportError> {
        let _ = self.w.shutdown().await;
        *self = PtpIpClient::connect(self.addr, &self.options).await?;
        Ok(())
    }

    /// The camera's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn send(&mut self, p: &Packet) -> Result<(), TransportError> {
        let bytes = p
            .to_bytes()
            .map_err(|e| TransportError::Protocol(e.to_string()))?;
        note(
            self.trace.as_ref(),
            crate::Direction::ToCamera,
            "command",
            p,
            &bytes,
        );
        self.w.write_all(&bytes).await?;
        Ok(())
    }

    /// Runs one transaction. Data the camera sends is passed to `sink` in pieces as it arrives
    /// (after the total size, via `on_size`); at most `max_data` bytes are accepted.
    pub async fn transact_streaming(
        &mut self,
        op: &Operation,
        data_out: Option<&[u8]>,
        max_data: u64,
        on_size: &mut (dyn FnMut(u64) -> Result<(), TransportError> + Send),
        sink: &mut (dyn FnMut(&[u8]) -> Result<(), TransportError> + Send),
    ) -> Result<Response, TransportError> {
        let tid = op.transaction_id;
        self.send(&Packet::OperationRequest {
            data_phase: if data_out.is_some() {
                DataPhase::OUT
            } else {
                DataPhase::NONE_OR_IN
            },
            code: op.code,
            transaction_id: tid,
            params: op.params,
        })
        .await?;
        if let Some(data) = data_out {
            self.send(&Packet::StartData {
                transaction_id: tid,
                total_length: data.len() as u64,
            })
            .await?;
            let mut chunks = data.chunks(CHUNK).peekable();
            if chunks.peek().is_none() {
                self.send(&Packet::EndData {
                    transaction_id: tid,
                    payload: Vec::new(),
                })
                .await?;
            }
            while let Some(chunk) = chunks.next() {
                let p = if chunks.peek().is_some() {
                    Packet::Data {
                        transaction_id: tid,
                        payload: chunk.to_vec(),
                    }
                } else {
                    Packet::EndData {
                        transaction_id: tid,
                        payload: chunk.to_vec(),
                    }
                };
                self.send(&p).await?;
            }
        }
        let limit = self.io_timeout;
        let mut expected: Option<u64> = None;
        let mut received: u64 = 0;
        loop {
            // Data and End Data are streamed, never read whole.
            let mut head = [0u8; HEADER_LEN];
            timed(limit, "a reply", async {
                Ok(self.r.read_exact(&mut head).await.map(|_| ())?)
            })
            .await?;
            let header = PacketHeader::decode(&mut Reader::new(&head))?;
            let streamed = header.packet_type.carries_data();
            // Data packets are streamed, so any length up to the announced total will do; the
            // whole-packet limit applies to the others.
            let len = if streamed {
                header.length as usize
            } else {
                peek_packet_len(&head)?.unwrap_or(HEADER_LEN)
            };
            if streamed {
                let mut tid_bytes = [0u8; 4];
                timed(limit, "data", async {
                    Ok(self.r.read_exact(&mut tid_bytes).await.map(|_| ())?)
                })
                .await?;
                if Reader::new(&tid_bytes).u32()? != tid {
                    return Err(TransportError::Protocol(
                        "data for another transaction".into(),
                    ));
                }
                let mut left = len
                    .checked_sub(HEADER_LEN + 4)
                    .ok_or_else(|| TransportError::Protocol("short data packet".into()))?;
                let total = expected
                    .ok_or_else(|| TransportError::Protocol("data before Start Data".into()))?;
                if received + left as u64 > total {
                    return Err(TransportError::Protocol(format!(
                        "the camera sent more than the {total} bytes it announced"
                    )));
                }
                let payload_len = left;
                let mut recorded: Vec<u8> = Vec::new();
                if self.trace.is_some() {
                    recorded.extend_from_slice(&head);
                    recorded.extend_from_slice(&tid_bytes);
                }
                let mut buf = vec![0u8; READ_CHUNK.min(left.max(1))];
                while left > 0 {
                    let n = left.min(buf.len());
                    let piece = buf.get_mut(..n).unwrap_or_default();
                    timed(limit, "data", async {
                        Ok(self.r.read_exact(piece).await.map(|_| ())?)
                    })
                    .await?;
                    let piece = buf.get(..n).unwrap_or_default();
                    if self.trace.is_some() && recorded.len() < crate::trace::MAX_RECORDED {
                        recorded.extend_from_slice(piece);
                    }
                    sink(piece)?;
                    received += n as u64;
                    left -= n;
                }
                let kind = if header.packet_type == PacketType::DATA {
                    "Data"
                } else {
                    "EndData"
                };
                tracing::info!(
                    "camera → host command: {kind:<18} tid {tid:#x} {payload_len} byte(s)"
                );
                if let Some(t) = &self.trace {
                    t.record_part(crate::Direction::ToHost, "command", &recorded, len);
                }
                continue;
            }
            let (packet, rest) = timed(
                limit,
                "a reply",
                crate::framing::read_rest(&mut self.r, head, MAX_CONTROL_PACKET),
            )
            .await?;
            note(
                self.trace.as_ref(),
                crate::Direction::ToHost,
                "command",
                &packet,
                &rest,
            );
            match packet {
                Packet::StartData {
                    transaction_id,
                    total_length,
                } if transaction_id == tid => {
                    if total_length > max_data {
                        return Err(TransportError::TooLarge(total_length, max_data));
                    }
                    on_size(total_length)?;
                    expected = Some(total_length);
                }
                Packet::OperationResponse {
                    code,
                    transaction_id,
                    params,
                } if transaction_id == tid => {
                    if let Some(total) = expected {
                        if received != total {
                            return Err(TransportError::Protocol(format!(
                                "data phase ended after {received} of {total} bytes"
                            )));
                        }
                    }
                    return Ok(Response {
                        code,
                        transaction_id,
                        params,
                    });
                }
                Packet::ProbeRequest => self.send(&Packet::ProbeResponse).await?,
                other => {
                    return Err(TransportError::Protocol(format!(
                        "unexpected packet during transaction {tid}: {other:?}"
                    )));
                }
            }
        }
    }

    /// The next event, if one has arrived (does not wait).
    pub fn try_event(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// Waits up to `limit` for the next event.
    pub async fn next_event(&mut self, limit: Duration) -> Option<Event> {
        let start = tokio::time::Instant::now();
        match tokio::time::timeout(limit, self.events.recv()).await {
            Ok(Some(e)) => Some(e),
            // The event connection is gone: no events will come, but the wait still lasts
            // (callers poll in loops and must not spin).
            Ok(None) => {
                tokio::time::sleep_until(start + limit).await;
                None
            }
            Err(_) => None,
        }
    }
}

impl crate::Transport for PtpIpClient {
    fn name(&self) -> &'static str {
        "PTP/IP"
    }

    fn transact_streaming<'a>(
        &'a mut self,
        op: &'a Operation,
        data_out: Option<&'a [u8]>,
        max_data: u64,
        on_size: &'a mut crate::SizeSink<'_>,
        sink: &'a mut crate::DataSink<'_>,
    ) -> crate::TransportFuture<'a, Result<Response, TransportError>> {
        Box::pin(PtpIpClient::transact_streaming(
            self, op, data_out, max_data, on_size, sink,
        ))
    }

    fn try_event(&mut self) -> Option<Event> {
        PtpIpClient::try_event(self)
    }

    fn next_event(&mut self, limit: Duration) -> crate::TransportFuture<'_, Option<Event>> {
        Box::pin(PtpIpClient::next_event(self, limit))
    }

    fn reconnect(&mut self) -> crate::TransportFuture<'_, Result<(), TransportError>> {
        Box::pin(PtpIpClient::reconnect(self))
    }

    /// Records the command connection from now on, and both connections after a reconnect.
    fn set_trace(&mut self, trace: Option<crate::Trace>) -> Result<(), TransportError> {
        self.options.trace = trace.clone();
        self.trace = trace;
        Ok(())
    }
}
