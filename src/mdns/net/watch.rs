//! Wakes the caller when interfaces or their addresses change, so it can call
//! [`links`](super::links) again.
//!
//! Uses an rtnetlink socket subscribed to link, IPv4-address and IPv6-address events. The
//! messages are read and discarded, never parsed: the kernel's interface list is the only
//! source of truth. Where netlink is unavailable (or fails later), the watcher falls back to
//! waking every [`POLL_INTERVAL`], and the caller simply re-lists on each wake.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use async_io::{Async, Timer};

use super::sys;

/// How often a watcher without netlink wakes its caller.
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Bytes read per netlink message; longer messages are cut short, which is harmless since
/// they are discarded.
const READ_BUF: usize = 8192;

/// At most this many queued messages are discarded per wake; the rest wake the next call.
const MAX_DRAIN: usize = 256;

/// A source of "the interfaces may have changed" wake-ups.
#[derive(Debug)]
pub struct LinkWatcher {
    netlink: Option<Async<OwnedFd>>,
    buf: Box<[u8]>,
    /// When polling, the next wake-up. Kept here rather than in the future, so a caller that
    /// drops and re-creates `changed()` on every other wake-up still gets woken on time.
    next_poll: Instant,
}

impl LinkWatcher {
    /// Subscribes to interface changes; falls back to polling if netlink is unavailable.
    pub fn new() -> LinkWatcher {
        let groups =
            (libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32;
        let netlink = sys::netlink_socket(groups).and_then(Async::new).ok();
        LinkWatcher {
            netlink,
            buf: vec![0; READ_BUF].into_boxed_slice(),
            next_poll: Instant::now() + POLL_INTERVAL,
        }
    }

    /// True if this watcher wakes on a timer instead of on kernel events.
    pub fn is_polling(&self) -> bool {
        self.netlink.is_none()
    }

    /// Resolves once an interface or address changed (or, when polling, after
    /// [`POLL_INTERVAL`]). Several changes in a burst usually resolve one call.
    pub async fn changed(&mut self) {
        let Some(sock) = &self.netlink else {
            Timer::at(self.next_poll).await;
            self.next_poll = Instant::now() + POLL_INTERVAL;
            return;
        };
        loop {
            if sock.readable().await.is_err() {
                break;
            }
            let mut got = false;
            let mut failed = false;
            for _ in 0..MAX_DRAIN {
                match sys::recv_discard(sock.get_ref().as_fd(), &mut self.buf) {
                    Ok(_) => got = true,
                    Err(e) => match e.raw_os_error() {
                        // The socket overflowed: changes were lost, so something changed.
                        Some(libc::ENOBUFS) => got = true,
                        Some(libc::EINTR) => {}
                        _ if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        _ => {
                            failed = true;
                            break;
                        }
                    },
                }
            }
            if failed {
                break;
            }
            if got {
                return;
            }
        }
        // Netlink broke: poll from now on, and report this call as a change so the caller
        // re-lists at once.
        self.netlink = None;
    }
}

impl Default for LinkWatcher {
    fn default() -> LinkWatcher {
        LinkWatcher::new()
    }
}
