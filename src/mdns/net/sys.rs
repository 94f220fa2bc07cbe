//! Every `unsafe` call of the network layer: `getifaddrs`, `gethostname`, `if_nametoindex`,
//! the rtnetlink socket, `setsockopt` for the options socket2 lacks, and `recvmsg`/`sendmsg`
//! with `IP_PKTINFO`/`IPV6_PKTINFO` control messages.
//!
//! Each function takes and returns plain Rust values; no raw pointer leaves this file.

use std::ffi::{CStr, CString};
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;

/// One entry of `getifaddrs`: an address of an interface with the interface's flags.
#[derive(Clone, Debug)]
pub(super) struct RawIfAddr {
    /// The interface name as reported (IPv4 labels look like `eth0:1`).
    pub(super) name: String,
    /// `IFF_*` flags of the interface.
    pub(super) flags: u32,
    /// The address.
    pub(super) addr: IpAddr,
    /// The netmask, if the kernel reported one in the same family.
    pub(super) netmask: Option<IpAddr>,
}

/// What `recvmsg` learned about one datagram.
#[derive(Clone, Copy, Debug)]
pub(super) struct RecvMeta {
    /// Its source.
    pub(super) src: SocketAddr,
    /// Its destination address (the group, or one of ours).
    pub(super) dst: IpAddr,
    /// The interface it arrived on.
    pub(super) ifindex: u32,
    /// Its length (it fitted in the buffer).
    pub(super) len: usize,
}

/// Bytes of control data koi reads or writes per datagram: one PKTINFO message.
const CMSG_BUF: usize = 64;

/// Room for one `in6_pktinfo` (the larger of the two) control message, with slack; aligned
/// for `cmsghdr`.
#[repr(C, align(8))]
struct CmsgBuf([u8; CMSG_BUF]);

// SAFETY: CMSG_SPACE is pure arithmetic.
const _: () = assert!(
    unsafe { libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) } as usize <= CMSG_BUF
        && unsafe { libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) } as usize <= CMSG_BUF
);

fn ip_of(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: `sa` is non-null and points to a sockaddr owned by the getifaddrs list; its
    // family field is always readable.
    let family = i32::from(unsafe { ptr::read_unaligned(ptr::addr_of!((*sa).sa_family)) });
    match family {
        libc::AF_INET => {
            // SAFETY: the kernel/libc stores a full sockaddr_in when the family is AF_INET.
            let sin = unsafe { ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel/libc stores a full sockaddr_in6 when the family is AF_INET6.
            let sin6 = unsafe { ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
            Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// Lists the IPv4 and IPv6 addresses of every interface (`getifaddrs`).
pub(super) fn interface_addrs() -> io::Result<Vec<RawIfAddr>> {
    let mut head: *mut libc::ifaddrs = ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`, which we free below exactly once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned, alive until
        // freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        let Some(addr) = ip_of(ifa.ifa_addr) else {
            continue;
        };
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a non-null NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) };
        let Ok(name) = name.to_str() else {
            continue;
        };
        let netmask = ip_of(ifa.ifa_netmask).filter(|m| m.is_ipv4() == addr.is_ipv4());
        out.push(RawIfAddr {
            name: name.to_string(),
            flags: ifa.ifa_flags,
            addr,
            netmask,
        });
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once; no reference into
    // the list outlives this point (names were copied).
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// The index of interface `name`, or None if there is no such interface.
pub(super) fn if_index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// The kernel's host name (`gethostname`), or None if it is unreadable or not UTF-8.
pub(super) fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is writable for `buf.len() - 1` bytes; the last byte stays 0 so the
    // result is NUL-terminated even if truncated.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return None;
    }
    let name = CStr::from_bytes_until_nul(&buf).ok()?;
    name.to_str().ok().map(str::to_string)
}

/// Opens a nonblocking rtnetlink socket subscribed to `groups` (`RTMGRP_*` bits).
pub(super) fn netlink_socket(groups: u32) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_nl = unsafe { zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = groups;
    // SAFETY: `sa` is a valid sockaddr_nl and the length passed is its size.
    let rc = unsafe {
        libc::bind(
            owned.as_raw_fd(),
            ptr::addr_of!(sa).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(owned)
}

/// One nonblocking `recv` into `buf`; returns the datagram's length (possibly truncated).
pub(super) fn recv_discard(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for `buf.len()` bytes for the duration of the call.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `setsockopt(fd, level, name, &value, sizeof(int))`.
pub(super) fn set_int_opt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            ptr::addr_of!(value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads one datagram with its arrival interface and destination address.
///
/// Returns `Ok(None)` for a datagram that was consumed but is unusable: truncated (it did not
/// fit `buf`), its control data truncated, or without a PKTINFO message or a known source
/// family. `WouldBlock` when nothing is queued.
pub(super) fn recv_pktinfo(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<RecvMeta>> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = CmsgBuf([0; CMSG_BUF]);
    // SAFETY: msghdr is plain data (with private padding on musl); all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = ptr::addr_of_mut!(name).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.0.len() as _;
    // SAFETY: every pointer in `msg` refers to a live local buffer of the stated length.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    let len = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    if msg.msg_flags & (libc::MSG_TRUNC | libc::MSG_CTRUNC) != 0 {
        return Ok(None);
    }
    let src = match i32::from(name.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET) into the storage, which
            // is larger and suitably aligned.
            let sin = unsafe { ptr::read(ptr::addr_of!(name).cast::<libc::sockaddr_in>()) };
            SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            ))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6 (family AF_INET6).
            let sin6 = unsafe { ptr::read(ptr::addr_of!(name).cast::<libc::sockaddr_in6>()) };
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            ))
        }
        _ => return Ok(None),
    };
    let mut found = None;
    // SAFETY: `msg` describes the control buffer the kernel just filled (msg_controllen was
    // updated to the bytes written); CMSG_FIRSTHDR/NXTHDR stay inside it or return null.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points inside `cbuf` at a complete header.
        let hdr = unsafe { ptr::read_unaligned(cmsg) };
        // SAFETY: CMSG_DATA only computes an address inside the same message; CMSG_LEN is
        // pure arithmetic.
        let (data, header_len) = unsafe { (libc::CMSG_DATA(cmsg), libc::CMSG_LEN(0)) };
        let data_len = (hdr.cmsg_len as usize).saturating_sub(header_len as usize);
        match (hdr.cmsg_level, hdr.cmsg_type) {
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if data_len >= size_of::<libc::in_pktinfo>() => {
                // SAFETY: the message carries at least size_of::<in_pktinfo>() data bytes.
                let info = unsafe { ptr::read_unaligned(data.cast::<libc::in_pktinfo>()) };
                let dst = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                found = u32::try_from(info.ipi_ifindex)
                    .ok()
                    .map(|i| (IpAddr::V4(dst), i));
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                if data_len >= size_of::<libc::in6_pktinfo>() =>
            {
                // SAFETY: the message carries at least size_of::<in6_pktinfo>() data bytes.
                let info = unsafe { ptr::read_unaligned(data.cast::<libc::in6_pktinfo>()) };
                let dst = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                found = Some((IpAddr::V6(dst), info.ipi6_ifindex));
            }
            _ => {}
        }
        // SAFETY: `cmsg` is a header inside the buffer described by `msg`.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(found.map(|(dst, ifindex)| RecvMeta {
        src,
        dst,
        ifindex,
        len,
    }))
}

/// `to` as a `sockaddr_storage` and its length.
fn sockaddr_of(to: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match to {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
            let mut sin: libc::sockaddr_in = unsafe { zeroed() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { ptr::write(ptr::addr_of_mut!(name).cast::<libc::sockaddr_in>(), sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_in6 is plain data; all-zero is a valid value.
            let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { ptr::write(ptr::addr_of_mut!(name).cast::<libc::sockaddr_in6>(), sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (name, len as libc::socklen_t)
}

/// Writes one control message (`level`, `kind`, `data`) at the start of `cbuf`; returns the
/// control length to pass to `sendmsg` (`InvalidInput` if it does not fit, which the const
/// assertion on [`CMSG_BUF`] rules out for the PKTINFO messages).
fn put_cmsg<T: Copy>(
    cbuf: &mut CmsgBuf,
    level: libc::c_int,
    kind: libc::c_int,
    data: T,
) -> io::Result<usize> {
    // SAFETY: CMSG_LEN/CMSG_SPACE are pure arithmetic.
    let (len, space) = unsafe {
        (
            libc::CMSG_LEN(size_of::<T>() as u32),
            libc::CMSG_SPACE(size_of::<T>() as u32),
        )
    };
    if space as usize > cbuf.0.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: cmsghdr is plain data; all-zero is a valid value.
    let mut hdr: libc::cmsghdr = unsafe { zeroed() };
    hdr.cmsg_len = len as _;
    hdr.cmsg_level = level;
    hdr.cmsg_type = kind;
    let base = cbuf.0.as_mut_ptr();
    // SAFETY: `cbuf` is 8-aligned and holds CMSG_SPACE(size_of::<T>()) bytes (checked
    // above): the header goes at offset 0 and the data at CMSG_LEN(0), both inside it.
    unsafe {
        ptr::write(base.cast::<libc::cmsghdr>(), hdr);
        let at = base.add(libc::CMSG_LEN(0) as usize);
        ptr::write_unaligned(at.cast::<T>(), data);
    }
    Ok(space as usize)
}

/// Sends `bytes` to `to` out of interface `ifindex` (`sendmsg` with a PKTINFO message).
pub(super) fn send_pktinfo(
    fd: BorrowedFd<'_>,
    bytes: &[u8],
    to: SocketAddr,
    ifindex: u32,
) -> io::Result<usize> {
    let (mut name, namelen) = sockaddr_of(to);
    let mut cbuf = CmsgBuf([0; CMSG_BUF]);
    let control_len = match to {
        SocketAddr::V4(_) => {
            let ifindex = libc::c_int::try_from(ifindex)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            let info = libc::in_pktinfo {
                ipi_ifindex: ifindex,
                ipi_spec_dst: libc::in_addr { s_addr: 0 },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            put_cmsg(&mut cbuf, libc::IPPROTO_IP, libc::IP_PKTINFO, info)?
        }
        SocketAddr::V6(_) => {
            let info = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr { s6_addr: [0; 16] },
                ipi6_ifindex: ifindex,
            };
            put_cmsg(&mut cbuf, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, info)?
        }
    };
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data (with private padding on musl); all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = ptr::addr_of_mut!(name).cast();
    msg.msg_namelen = namelen;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = control_len as _;
    // SAFETY: every pointer in `msg` refers to a live local buffer of the stated length; the
    // kernel only reads through iov_base although its type says *mut.
    let n = unsafe {
        libc::sendmsg(
            fd.as_raw_fd(),
            &msg,
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}
