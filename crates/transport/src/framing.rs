//! Reading whole PTP/IP packets from a byte stream, for both ends.

use sonyctl_ptp::Reader;
use sonyctl_ptp::ptpip::{HEADER_LEN, Packet, peek_packet_len};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::TransportError;

/// Reads one packet of at most `max` bytes; `None` when the peer closed the stream cleanly
/// between packets.
pub(crate) async fn read_packet<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Packet>, TransportError> {
    let mut head = [0u8; HEADER_LEN];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = peek_packet_len(&head)?.unwrap_or(HEADER_LEN);
    if len > max {
        return Err(TransportError::Protocol(format!(
            "a {len}-byte packet where at most {max} fit"
        )));
    }
    let mut buf = vec![0u8; len];
    buf.get_mut(..HEADER_LEN)
        .ok_or_else(|| TransportError::Protocol("short packet".into()))?
        .copy_from_slice(&head);
    if let Some(body) = buf.get_mut(HEADER_LEN..) {
        r.read_exact(body).await?;
    }
    Ok(Some(Packet::decode(&mut Reader::new(&buf))?))
}
