//! Where the resolver listens and whom it serves: the default listen addresses (the LAN
//! interfaces' own, never 0.0.0.0), the subnets whose clients may ask, and binding the UDP and
//! TCP sockets. Touches the kernel's interface list and sockets; decides nothing else.

use super::server::Acl;
use super::service::DnsError;
use crate::mdns::IfAddr;
use async_io::Async;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};

/// The LAN interface addresses (IPv4 and routable IPv6; not link-local, which needs a scope).
pub(super) fn default_listen() -> Result<Vec<IpAddr>, DnsError> {
    let links = crate::mdns::net::links(&[]).map_err(|e| DnsError::Config(e.to_string()))?;
    let ips: Vec<IpAddr> = links
        .iter()
        .flat_map(|l| l.ips())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_unspecified(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80 && !v6.is_loopback(),
        })
        .collect();
    if ips.is_empty() {
        return Err(DnsError::NoAddress);
    }
    Ok(ips)
}

/// The subnets whose clients may ask, from the listen addresses.
pub(super) fn acl_for(ips: &[IpAddr]) -> Acl {
    let links = crate::mdns::net::links(&[]).unwrap_or_default();
    let all: Vec<IfAddr> = links.iter().flat_map(|l| l.addrs.iter().copied()).collect();
    let mut acl = Acl::default();
    for ip in ips {
        if ip.is_loopback() {
            acl.loopback = true;
        } else if ip.is_unspecified() {
            acl.loopback = true;
            acl.subnets.extend(all.iter().copied());
        } else {
            let mine: Vec<IfAddr> = all.iter().filter(|a| a.addr == *ip).copied().collect();
            if mine.is_empty() {
                acl.subnets.push(IfAddr {
                    addr: *ip,
                    prefix_len: if ip.is_ipv4() { 32 } else { 128 },
                });
            }
            acl.subnets.extend(mine);
        }
    }
    acl
}

pub(super) type Bound = (Vec<UdpSocket>, Vec<Async<TcpListener>>, Vec<SocketAddr>);

/// Binds UDP and TCP on each address; port 0 takes the port the first UDP socket got.
pub(super) fn bind_all(ips: &[IpAddr], port: u16) -> Result<Bound, DnsError> {
    let mut port = port;
    let (mut udp, mut tcp, mut listen) = (Vec::new(), Vec::new(), Vec::new());
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        let u = bind_udp(addr).map_err(|e| DnsError::Bind(addr, e))?;
        let actual = u.local_addr().map_err(|e| DnsError::Bind(addr, e))?;
        port = actual.port();
        let t = bind_tcp(actual).map_err(|e| DnsError::Bind(actual, e))?;
        udp.push(u);
        tcp.push(t);
        listen.push(actual);
    }
    Ok((udp, tcp, listen))
}

fn bind_udp(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    let _ = s.set_recv_buffer_size(1 << 20);
    s.bind(&addr.into())?;
    Ok(UdpSocket::from(s))
}

fn bind_tcp(addr: SocketAddr) -> io::Result<Async<TcpListener>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    Async::new(TcpListener::from(s))
}
