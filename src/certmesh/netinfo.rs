//! This machine's host name and LAN addresses, for the SANs of its own cert.
//! Owns one `getifaddrs` call; never sends a packet.

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ptr;

/// The kernel's host name, first label, lowercase.
pub fn hostname() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let first = text.trim().split('.').next()?.to_ascii_lowercase();
    (!first.is_empty()).then_some(first)
}

/// True for addresses worth putting in a member cert: private IPv4 and IPv6 ULA.
pub fn is_lan(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The private IPv4 and ULA IPv6 addresses of every interface.
pub fn lan_addrs() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = all_addrs().into_iter().filter(is_lan).collect();
    out.sort();
    out.dedup();
    out
}

fn all_addrs() -> Vec<IpAddr> {
    let mut head: *mut libc::ifaddrs = ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`, freed below exactly once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        let sa = ifa.ifa_addr;
        if sa.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let _ = unsafe { CStr::from_ptr(ifa.ifa_name) };
        // SAFETY: `sa` is non-null; its family field is always readable.
        let family = i32::from(unsafe { ptr::read_unaligned(ptr::addr_of!((*sa).sa_family)) });
        match family {
            libc::AF_INET => {
                // SAFETY: a full sockaddr_in is stored when the family is AF_INET.
                let sin = unsafe { ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            }
            libc::AF_INET6 => {
                // SAFETY: a full sockaddr_in6 is stored when the family is AF_INET6.
                let sin6 = unsafe { ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
                out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
            _ => {}
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}
