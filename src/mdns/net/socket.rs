//! The two mDNS sockets: one IPv4 (`0.0.0.0:5353`) and one IPv6 (`[::]:5353`, v6-only).
//!
//! Invariants:
//! - Both sockets set `SO_REUSEADDR` and `SO_REUSEPORT`, so koi binds next to avahi, a
//!   browser's resolver or any other mDNS stack, whichever of the two options that stack set.
//!   Multicast loop is on, so those stacks see what koi sends (koi recognises its own
//!   datagrams higher up).
//! - `IP_MULTICAST_ALL` stays on, so a socket also receives the group on interfaces where only
//!   another socket joined it. Turning it off would be worse: on Linux, when exactly one
//!   socket of a `SO_REUSEPORT` group matches a multicast datagram, the kernel may hand it to
//!   any member of the group, so a koi socket that had not joined a link could swallow another
//!   stack's datagrams there. The caller therefore drops datagrams (multicast or unicast)
//!   whose [`Link`] it does not use.
//! - Every datagram is sent with an explicit outgoing interface (`IP_PKTINFO` /
//!   `IPV6_PKTINFO`), and every datagram read reports its arrival interface and destination.
//! - Nothing here allocates per packet; datagrams that do not fit the caller's buffer are
//!   dropped, never returned cut short.

use std::collections::BTreeSet;
use std::error::Error;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use async_io::Async;
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use super::sys;
use crate::mdns::types::{Destination, Family, Link, LinkInfo, Transmit, MDNS_V4, MDNS_V6};

/// Neither mDNS socket could be opened; carries both reasons.
#[derive(Debug)]
pub struct SocketsError {
    /// Why the IPv4 socket failed.
    pub v4: io::Error,
    /// Why the IPv6 socket failed.
    pub v6: io::Error,
}

impl fmt::Display for SocketsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot open an mDNS socket: IPv4: {}; IPv6: {}",
            self.v4, self.v6
        )
    }
}

impl Error for SocketsError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.v4)
    }
}

/// koi's mDNS sockets and the links whose group they joined.
#[derive(Debug)]
pub struct MdnsSockets {
    v4: Result<Async<Socket>, io::Error>,
    v6: Result<Async<Socket>, io::Error>,
    joined: BTreeSet<Link>,
    /// Which socket `recv` tries first, alternated so one busy family cannot starve the other.
    v6_first: AtomicBool,
}

impl MdnsSockets {
    /// Opens both sockets on `port` (5353 in production). A family that cannot be opened is
    /// left out and reported by [`MdnsSockets::error`]; fails only if neither opens, with a
    /// [`SocketsError`] inside the `io::Error`.
    pub fn new(port: u16) -> io::Result<MdnsSockets> {
        let v4 = open(Family::V4, port);
        let v6 = open(Family::V6, port);
        match (v4, v6) {
            (Err(v4), Err(v6)) => Err(io::Error::new(v4.kind(), SocketsError { v4, v6 })),
            (v4, v6) => Ok(MdnsSockets {
                v4,
                v6,
                joined: BTreeSet::new(),
                v6_first: AtomicBool::new(false),
            }),
        }
    }

    /// Why the socket of `family` could not be opened, or None if it is open.
    pub fn error(&self, family: Family) -> Option<&io::Error> {
        self.slot(family).as_ref().err()
    }

    /// True if the socket of `family` is open.
    pub fn has(&self, family: Family) -> bool {
        self.slot(family).is_ok()
    }

    /// The links whose group is joined now.
    pub fn joined(&self) -> impl Iterator<Item = Link> + '_ {
        self.joined.iter().copied()
    }

    /// Joins the mDNS group on every link of `links` not yet joined and leaves it on every
    /// joined link that is no longer listed. Links of a family without a socket are skipped.
    /// Returns the links that could not be joined (they are retried on the next call); a
    /// failed leave is ignored (the interface is usually gone, and the kernel dropped the
    /// membership with it).
    pub fn sync_links(&mut self, links: &[LinkInfo]) -> Vec<(Link, io::Error)> {
        let wanted: BTreeSet<Link> = links
            .iter()
            .map(|l| l.link)
            .filter(|l| self.has(l.family))
            .collect();
        let gone: Vec<Link> = self.joined.difference(&wanted).copied().collect();
        for link in gone {
            let _ = self.membership(link, false);
            self.joined.remove(&link);
        }
        let mut failed = Vec::new();
        for link in wanted {
            if self.joined.contains(&link) {
                continue;
            }
            match self.membership(link, true) {
                Err(e) if e.raw_os_error() != Some(libc::EADDRINUSE) => failed.push((link, e)),
                _ => {
                    self.joined.insert(link);
                }
            }
        }
        failed
    }

    /// Waits for the next datagram on either socket and reads it into `buf`: its arrival
    /// link, source, destination address (the group or one of ours) and length.
    ///
    /// An IPv6 link-local source carries the arrival interface as its scope id. A datagram
    /// longer than `buf` is dropped and the wait goes on; mDNS datagrams are at most 9000
    /// bytes (RFC 6762 §17), so a 9000-byte buffer loses nothing valid.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(Link, SocketAddr, IpAddr, usize)> {
        loop {
            let v6_first = self.v6_first.fetch_xor(true, Ordering::Relaxed);
            let order = if v6_first {
                [Family::V6, Family::V4]
            } else {
                [Family::V4, Family::V6]
            };
            for family in order {
                let Ok(sock) = self.slot(family) else {
                    continue;
                };
                // Drain datagrams we drop (truncated, no PKTINFO) without waiting again.
                loop {
                    match sys::recv_pktinfo(sock.get_ref().as_fd(), buf) {
                        Ok(Some(meta)) => return Ok(received(family, meta)),
                        Ok(None) => continue,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            match (&self.v4, &self.v6) {
                (Ok(a), Ok(b)) => futures_lite::future::or(a.readable(), b.readable()).await?,
                (Ok(s), Err(_)) | (Err(_), Ok(s)) => s.readable().await?,
                (Err(_), Err(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "no mDNS socket",
                    ))
                }
            }
        }
    }

    /// Sends one datagram out of the link its destination names: to the mDNS group of that
    /// link, or unicast to an address through that link.
    ///
    /// Fails with `InvalidInput` if the destination address's family is not the link's, and
    /// with `Unsupported` if that family has no socket.
    pub async fn send(&self, t: &Transmit) -> io::Result<()> {
        let (link, to) = match t.dest {
            Destination::Multicast(link) => (link, link.group()),
            Destination::Unicast { link, to } => (link, scoped(to, link.ifindex)),
        };
        let family_ok = matches!(
            (link.family, to),
            (Family::V4, SocketAddr::V4(_)) | (Family::V6, SocketAddr::V6(_))
        );
        if !family_ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "destination address is not in the link's family",
            ));
        }
        let Ok(sock) = self.slot(link.family) else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no mDNS socket for this address family",
            ));
        };
        sock.write_with(|s| sys::send_pktinfo(s.as_fd(), &t.bytes, to, link.ifindex))
            .await
            .map(|_| ())
    }

    fn slot(&self, family: Family) -> &Result<Async<Socket>, io::Error> {
        match family {
            Family::V4 => &self.v4,
            Family::V6 => &self.v6,
        }
    }

    fn membership(&self, link: Link, join: bool) -> io::Result<()> {
        let Ok(sock) = self.slot(link.family) else {
            return Ok(());
        };
        let s = sock.get_ref();
        match (link.family, join) {
            (Family::V4, join) => {
                let iface = InterfaceIndexOrAddress::Index(link.ifindex);
                if join {
                    s.join_multicast_v4_n(&MDNS_V4, &iface)
                } else {
                    s.leave_multicast_v4_n(&MDNS_V4, &iface)
                }
            }
            (Family::V6, true) => s.join_multicast_v6(&MDNS_V6, link.ifindex),
            (Family::V6, false) => s.leave_multicast_v6(&MDNS_V6, link.ifindex),
        }
    }
}

/// Opens, configures and binds the socket of one family (see the module invariants).
fn open(family: Family, port: u16) -> io::Result<Async<Socket>> {
    let domain = match family {
        Family::V4 => Domain::IPV4,
        Family::V6 => Domain::IPV6,
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    let bind: SocketAddr = match family {
        Family::V4 => {
            sys::set_int_opt(s.as_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
            s.set_multicast_loop_v4(true)?;
            s.set_multicast_ttl_v4(255)?;
            s.set_ttl_v4(255)?;
            // On by default; see the module docs for why it must stay on.
            let _ = s.set_multicast_all_v4(true);
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into()
        }
        Family::V6 => {
            s.set_only_v6(true)?;
            sys::set_int_opt(s.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
            s.set_multicast_loop_v6(true)?;
            s.set_multicast_hops_v6(255)?;
            s.set_unicast_hops_v6(255)?;
            // IPV6_MULTICAST_ALL exists since Linux 4.20 (on by default; older kernels behave
            // as if on).
            let _ = s.set_multicast_all_v6(true);
            SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0).into()
        }
    };
    s.bind(&bind.into())?;
    Async::new(s)
}

/// Gives an IPv6 link-local address without a scope the link's interface.
fn scoped(addr: SocketAddr, ifindex: u32) -> SocketAddr {
    match addr {
        SocketAddr::V6(mut a) if a.scope_id() == 0 && is_link_local(a.ip()) => {
            a.set_scope_id(ifindex);
            SocketAddr::V6(a)
        }
        other => other,
    }
}

fn is_link_local(ip: &Ipv6Addr) -> bool {
    (ip.segments()[0] & 0xffc0) == 0xfe80
}

fn received(family: Family, meta: sys::RecvMeta) -> (Link, SocketAddr, IpAddr, usize) {
    let link = Link {
        ifindex: meta.ifindex,
        family,
    };
    let src = match meta.src {
        SocketAddr::V6(mut a) if is_link_local(a.ip()) => {
            a.set_scope_id(meta.ifindex);
            SocketAddr::V6(a)
        }
        other => other,
    };
    (link, src, meta.dst, meta.len)
}
