//! Batched UDP I/O for the resolver on Linux: `recvmmsg` reads up to [`BATCH`] queries in one
//! system call and `sendmmsg` sends their answers in one, which the benchmark
//! (`tests/bench/dns.sh`) showed to raise local-zone throughput.
//!
//! The only `unsafe` of the DNS capability lives here: building the `mmsghdr` arrays the two
//! calls read and write. Every pointer handed to the kernel points into buffers owned by
//! [`Batch`] or by the caller's slice, which outlive the call; lengths come from those
//! buffers. Datagrams longer than [`BUF`] are reported truncated by the kernel (MSG_TRUNC)
//! and dropped here. The UDP worker blocks in `recvmmsg` ([`Batch::recv_wait`]); sends never
//! block.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// The largest query read (a larger datagram is dropped).
pub const BUF: usize = 4096;

/// Buffers for one `recvmmsg`.
pub struct Batch {
    bufs: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    lens: [usize; BATCH],
    count: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Batch::new()
    }
}

impl Batch {
    /// Empty buffers.
    pub fn new() -> Batch {
        Batch {
            bufs: vec![0; BATCH * BUF],
            // SAFETY: sockaddr_storage is plain data; all zeroes is a valid (AF_UNSPEC) value.
            addrs: vec![unsafe { zeroed() }; BATCH],
            lens: [0; BATCH],
            count: 0,
        }
    }

    /// Waits for at least one datagram (the socket must be in blocking mode), then reads what
    /// is waiting, up to [`BATCH`]; `Ok(0)` once the socket is shut down for reading.
    pub fn recv_wait(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: iovec and mmsghdr are plain C structs for which all zeroes is valid.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, (iov, hdr)) in iovs.iter_mut().zip(hdrs.iter_mut()).enumerate() {
            let Some(chunk) = self.bufs.get_mut(i * BUF..(i + 1) * BUF) else {
                break;
            };
            iov.iov_base = chunk.as_mut_ptr().cast();
            iov.iov_len = BUF;
            if let Some(addr) = self.addrs.get_mut(i) {
                hdr.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
                hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            }
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs` holds BATCH headers whose name and iovec pointers point into
        // `self.addrs`, `iovs` and `self.bufs`, all alive and unaliased for the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE as _,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            self.count = 0;
            return if e.kind() == io::ErrorKind::WouldBlock {
                Ok(0)
            } else {
                Err(e)
            };
        }
        self.count = usize::try_from(n).unwrap_or(0).min(BATCH);
        for (len, hdr) in self.lens.iter_mut().zip(hdrs.iter()).take(self.count) {
            *len = if hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                0
            } else {
                (hdr.msg_len as usize).min(BUF)
            };
        }
        Ok(self.count)
    }

    /// Datagram `i` of the last read and its sender (`None` for a dropped one).
    pub fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        if i >= self.count {
            return None;
        }
        let len = *self.lens.get(i)?;
        if len == 0 {
            return None;
        }
        let data = self.bufs.get(i * BUF..i * BUF + len)?;
        Some((data, to_socket_addr(self.addrs.get(i)?)?))
    }
}

/// The answers to one batch, packed in one buffer so answering allocates nothing: each is the
/// index of the datagram it answers (whose sender it goes back to) and its bytes.
#[derive(Debug, Default)]
pub struct Replies {
    /// The answers' bytes, back to back.
    pub data: Vec<u8>,
    items: Vec<(usize, usize, usize)>,
}

impl Replies {
    /// Forgets every answer, keeping the buffers.
    pub fn clear(&mut self) {
        self.data.clear();
        self.items.clear();
    }

    /// The number of answers.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is no answer.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Records the bytes appended to `data` since `start` as the answer to datagram `i`.
    pub fn commit(&mut self, i: usize, start: usize) {
        if start < self.data.len() && i < BATCH {
            self.items.push((i, start, self.data.len() - start));
        }
    }
}

impl Batch {
    /// Sends each answer back to the sender of the datagram it answers, in as few `sendmmsg`
    /// calls as it takes, without blocking (what the socket cannot take now is dropped, as a
    /// lost datagram would be).
    pub fn send(&self, fd: RawFd, replies: &Replies) {
        // SAFETY: plain C structs, valid when zeroed.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let mut count = 0;
        for &(i, start, len) in &replies.items {
            let (Some(bytes), Some(addr)) = (
                replies.data.get(start..start + len),
                self.addrs.get(i).filter(|_| i < self.count),
            ) else {
                continue;
            };
            let namelen = match i32::from(addr.ss_family) {
                libc::AF_INET => size_of::<libc::sockaddr_in>(),
                libc::AF_INET6 => size_of::<libc::sockaddr_in6>(),
                _ => continue,
            };
            let (Some(iov), Some(hdr)) = (iovs.get_mut(count), hdrs.get_mut(count)) else {
                break;
            };
            iov.iov_base = bytes.as_ptr() as *mut libc::c_void;
            iov.iov_len = bytes.len();
            hdr.msg_hdr.msg_name =
                (addr as *const libc::sockaddr_storage as *mut libc::sockaddr_storage).cast();
            hdr.msg_hdr.msg_namelen = namelen as libc::socklen_t;
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
            count += 1;
        }
        let mut sent = 0;
        while sent < count {
            // SAFETY: headers `sent..count` point at `replies.data` and `self.addrs` (read only
            // by the kernel) and at `iovs`, all alive and unchanged for the call.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    hdrs.as_mut_ptr().add(sent),
                    (count - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT as _,
                )
            };
            if n <= 0 {
                break;
            }
            sent += n as usize;
        }
    }
}

fn to_socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in here (family AF_INET); sockaddr_storage is
            // large and aligned enough for it.
            let a: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a: &libc::sockaddr_in6 = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                u32::from_be(a.sin6_flowinfo),
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Sends each `(bytes, peer)` with as few `sendmmsg` calls as it takes, without blocking;
/// what the socket cannot take now is dropped (as a lost datagram would be).
pub fn send_all(fd: RawFd, out: &[(Vec<u8>, SocketAddr)]) {
    for chunk in out.chunks(BATCH) {
        let addrs: Vec<socket2::SockAddr> = chunk.iter().map(|(_, a)| (*a).into()).collect();
        // SAFETY: plain C structs, valid when zeroed.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        // SAFETY: as above.
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (((iov, hdr), (bytes, _)), addr) in
            iovs.iter_mut().zip(hdrs.iter_mut()).zip(chunk).zip(&addrs)
        {
            iov.iov_base = bytes.as_ptr() as *mut libc::c_void;
            iov.iov_len = bytes.len();
            hdr.msg_hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            hdr.msg_hdr.msg_namelen = addr.len();
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
        }
        let mut sent = 0;
        while sent < chunk.len() {
            // SAFETY: headers `sent..chunk.len()` point at `chunk`'s bytes (read only by the
            // kernel), `addrs` and `iovs`, all alive for the call.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    hdrs.as_mut_ptr().add(sent),
                    (chunk.len() - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT as _,
                )
            };
            if n <= 0 {
                break;
            }
            sent += n as usize;
        }
    }
}
