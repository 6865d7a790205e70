//! Alpaca discovery (reference §5): a UDP responder that answers a datagram starting with
//! `alpacadiscovery1` with `{"AlpacaPort": N}`, sent by unicast to its sender, and ignores
//! anything else.
//!
//! Where it listens follows the HTTP server, address family included (it never announces a
//! port the server does not serve on that family): on 127.0.0.1, 127.0.0.1 only; on ::1, ::1
//! only; on 0.0.0.0, 0.0.0.0 (IPv4 broadcasts reach it); on `[::]`, `[::]` (IPv6 only) joined
//! to the multicast group `ff12::a1:9aca` on the default interface, and 0.0.0.0 as well when
//! the HTTP socket takes IPv4 too (dual stack, Linux's default); on one specific address,
//! that address only (IPv4 broadcasts then do not arrive on Linux: listen on the wildcard to
//! be found by broadcast). Port 0 picks one free port, the same for IPv4 and IPv6 when
//! possible.
//!
//! Another Alpaca server on the machine may hold the same port (32227 is every server's
//! default): the sockets are bound with `SO_REUSEADDR`, and on Linux a wildcard socket with
//! `SO_REUSEPORT` too, so that both can listen. Broadcasts and multicasts then reach every
//! server; a unicast datagram reaches one of them (Linux spreads them over the sockets
//! sharing the port), which is what a client sending to one address expects anyway.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// The discovery message's first 16 bytes.
pub(crate) const MESSAGE: &[u8; 16] = b"alpacadiscovery1";

/// The IPv6 discovery multicast group.
pub(crate) const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff12, 0, 0, 0, 0, 0, 0xa1, 0x9aca);

/// The bound responder sockets.
#[derive(Debug)]
pub(crate) struct Discovery {
    sockets: Vec<Arc<UdpSocket>>,
}

/// How many times a free port is sought for IPv4 and IPv6 together.
const PAIR_ATTEMPTS: usize = 16;

impl Discovery {
    /// Binds the responder for an HTTP server on `server`, on `port` (0 = a free one);
    /// `dual_stack`: the server's `[::]` socket takes IPv4 too.
    pub(crate) fn bind(server: IpAddr, dual_stack: bool, port: u16) -> io::Result<Discovery> {
        let (v4, v6) = families(server, dual_stack);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let first_ip = v4.or(v6).unwrap_or(server);
            let first = udp(SocketAddr::new(first_ip, port))?;
            let chosen = first.local_addr()?.port();
            let mut sockets = vec![first];
            if let (Some(_), Some(ip6)) = (v4, v6) {
                match udp(SocketAddr::new(ip6, chosen)) {
                    Ok(s) => sockets.push(s),
                    // The IPv4 port is taken on IPv6: try another when the port was free to
                    // choose.
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse && port == 0 => {
                        if attempts < PAIR_ATTEMPTS {
                            continue;
                        }
                        tracing::warn!("discovery: no port free on both IPv4 and IPv6: IPv4 only");
                    }
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                    Err(e) => tracing::info!("discovery: no IPv6 ({e}): IPv4 only"),
                }
            }
            let sockets = sockets
                .into_iter()
                .map(|s| {
                    if let Ok(SocketAddr::V6(a)) = s.local_addr() {
                        if a.ip().is_unspecified() {
                            if let Err(e) = s.join_multicast_v6(&MULTICAST_V6, 0) {
                                tracing::info!("discovery: cannot join {MULTICAST_V6}: {e}");
                            }
                        }
                    }
                    UdpSocket::from_std(s).map(Arc::new)
                })
                .collect::<io::Result<Vec<_>>>()?;
            return Ok(Discovery { sockets });
        }
    }

    /// Where it listens.
    pub(crate) fn addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Answers until `stop` turns true.
    pub(crate) async fn run(self, alpaca_port: u16, stop: watch::Receiver<bool>) {
        let reply = format!("{{\"AlpacaPort\":{alpaca_port}}}");
        let mut tasks = tokio::task::JoinSet::new();
        for socket in self.sockets {
            let reply = reply.clone();
            let mut stop = stop.clone();
            tasks.spawn(async move {
                tokio::select! {
                    () = answer(&socket, reply.as_bytes()) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// Answers discovery messages on `socket` for ever.
async fn answer(socket: &UdpSocket, reply: &[u8]) {
    // The message is 16 bytes; reserved bytes may follow (reference §5.5): only the first 16
    // are read, the rest of a longer datagram is dropped by the kernel.
    let mut buf = [0u8; 64];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if n >= MESSAGE.len() && buf.get(..MESSAGE.len()) == Some(&MESSAGE[..]) {
                    if let Err(e) = socket.send_to(reply, from).await {
                        tracing::debug!("discovery: no answer to {from}: {e}");
                    }
                }
            }
            // An ICMP error from an earlier answer, and the like: keep listening.
            Err(e) => {
                tracing::debug!("discovery: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// The IPv4 and IPv6 addresses discovery listens on for an HTTP server on `server`.
fn families(server: IpAddr, dual_stack: bool) -> (Option<IpAddr>, Option<IpAddr>) {
    match server {
        IpAddr::V6(ip) if ip.is_unspecified() => (
            dual_stack.then_some(Ipv4Addr::UNSPECIFIED.into()),
            Some(server),
        ),
        IpAddr::V4(_) => (Some(server), None),
        IpAddr::V6(_) => (None, Some(server)),
    }
}

/// A non-blocking UDP socket bound to `addr` (IPv6 sockets IPv6 only, so that IPv4 and IPv6
/// can share the port), sharing the port with another server's (see the module's notes).
fn udp(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    #[cfg(target_os = "linux")]
    if addr.ip().is_unspecified() {
        socket.set_reuse_port(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_family_per_server_address() {
        let v4 = |s: &str| -> IpAddr { s.parse().unwrap() };
        let none = None;
        assert_eq!(
            families(v4("127.0.0.1"), false),
            (Some(v4("127.0.0.1")), none)
        );
        assert_eq!(families(v4("::1"), false), (none, Some(v4("::1"))));
        assert_eq!(families(v4("0.0.0.0"), true), (Some(v4("0.0.0.0")), none));
        assert_eq!(families(v4("::"), false), (none, Some(v4("::"))));
        assert_eq!(
            families(v4("::"), true),
            (Some(v4("0.0.0.0")), Some(v4("::")))
        );
        assert_eq!(
            families(v4("192.168.1.2"), false),
            (Some(v4("192.168.1.2")), none)
        );
    }
}
