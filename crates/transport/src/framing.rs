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
    read_rest(r, head, max)
        .await
        .map(|(packet, _)| Some(packet))
}

/// Reads the rest of a packet of at most `max` bytes whose header `head` is already read;
/// returns the packet and all its bytes. The length comes from the peer, so it is checked
/// before anything is allocated.
pub(crate) async fn read_rest<R: AsyncRead + Unpin>(
    r: &mut R,
    head: [u8; HEADER_LEN],
    max: usize,
) -> Result<(Packet, Vec<u8>), TransportError> {
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
    let packet = Packet::decode(&mut Reader::new(&buf))?;
    Ok((packet, buf))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A peer's length is checked against the limit before a buffer of that size is made.
    #[tokio::test]
    async fn an_oversized_length_is_refused_before_allocating() {
        // An Operation Response (7) claiming 64 KiB, where 1 KiB is the limit.
        let head = [0x00, 0x00, 0x01, 0x00, 7, 0, 0, 0];
        let err = read_packet(&mut &head[..], 1024).await.unwrap_err();
        assert!(
            matches!(&err, TransportError::Protocol(m) if m.contains("65536-byte")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_clean_close_between_packets_is_none_and_a_whole_packet_decodes() {
        assert!(read_packet(&mut &[][..], 1024).await.unwrap().is_none());
        let bytes = Packet::ProbeRequest.to_bytes().unwrap();
        let (packet, raw) = read_rest(
            &mut &bytes[HEADER_LEN..],
            bytes[..HEADER_LEN].try_into().unwrap(),
            1024,
        )
        .await
        .unwrap();
        assert_eq!((packet, raw), (Packet::ProbeRequest, bytes));
    }
}
