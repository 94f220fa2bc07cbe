//! Spare upstream sockets: a helper thread opens UDP sockets connected to the first upstream
//! ahead of need and closes used ones, so a forwarded query's own path is only send and
//! receive (opening, registering and closing a socket is about a fifth of the resolver's CPU
//! per forwarded query on loopback).
//!
//! Each socket gets its own kernel-chosen random source port when it is connected and serves
//! exactly one upstream query; it is then handed back to be closed, never reused. At most
//! [`SPARE`] sockets wait; the thread opens one more each time a used one comes back, and a
//! caller that finds none ready opens its own. The thread ends when [`Spares`] is dropped.
//! It holds no query and no protocol logic.

use async_io::Async;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::time::Duration;

/// Sockets kept open and waiting.
pub const SPARE: usize = 32;

/// A fresh UDP socket connected to `up`: `connect` binds it to a random ephemeral port the
/// kernel picks, and the kernel drops datagrams from any other address or port. Three system
/// calls (socket, connect, epoll registration) instead of six (no separate bind, no
/// non-blocking switch after the fact).
pub fn upstream_socket(up: SocketAddr) -> io::Result<Async<UdpSocket>> {
    use socket2::{Domain, Protocol, Socket, Type};
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let s = Socket::new(
        Domain::for_address(up),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let s = {
        let s = Socket::new(Domain::for_address(up), Type::DGRAM, Some(Protocol::UDP))?;
        s.set_nonblocking(true)?;
        s
    };
    s.connect(&up.into())?;
    Async::new_nonblocking(UdpSocket::from(s))
}

/// The main thread's end of the spare sockets of one upstream.
pub struct Spares {
    up: SocketAddr,
    ready: Receiver<Async<UdpSocket>>,
    used: Sender<Async<UdpSocket>>,
}

impl Spares {
    /// Starts the helper thread for `up`; `None` if no thread can be started (callers then
    /// open every socket themselves).
    pub fn start(up: SocketAddr) -> Option<Spares> {
        let (ready_tx, ready) = mpsc::sync_channel(SPARE);
        let (used, used_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("koi-dns-sockets".into())
            .stack_size(64 * 1024)
            .spawn(move || keep_ready(up, &ready_tx, &used_rx))
            .ok()?;
        Some(Spares { up, ready, used })
    }

    /// A ready socket connected to `up`, if one is waiting.
    pub fn take(&self, up: SocketAddr) -> Option<Async<UdpSocket>> {
        (up == self.up)
            .then(|| self.ready.try_recv().ok())
            .flatten()
    }

    /// Hands a used socket back to be closed off this thread.
    pub fn retire(&self, sock: Async<UdpSocket>) {
        // If the thread is gone the socket comes back in the error and is closed here.
        let _ = self.used.send(sock);
    }
}

/// The helper thread: keeps up to [`SPARE`] sockets ready, closes used ones, and ends when
/// the main thread's [`Spares`] is gone.
fn keep_ready(
    up: SocketAddr,
    ready: &SyncSender<Async<UdpSocket>>,
    used: &Receiver<Async<UdpSocket>>,
) {
    let mut next = None;
    loop {
        if next.is_none() {
            next = upstream_socket(up).ok();
        }
        if let Some(sock) = next.take() {
            match ready.try_send(sock) {
                Ok(()) => continue,
                Err(TrySendError::Full(sock)) => next = Some(sock),
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        // Full, or the socket could not be opened: wait for a used one (or a second).
        match used.recv_timeout(Duration::from_secs(1)) {
            Ok(sock) => drop(sock),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(sock) = used.try_recv() {
            drop(sock);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_are_fresh_connected_and_used_once() {
        let up = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = up.local_addr().unwrap();
        let spares = Spares::start(addr).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut taken = Vec::new();
        while taken.len() < 4 && std::time::Instant::now() < deadline {
            match spares.take(addr) {
                Some(s) => taken.push(s),
                None => std::thread::yield_now(),
            }
        }
        let ports: std::collections::HashSet<u16> = taken
            .iter()
            .map(|s| s.get_ref().local_addr().unwrap().port())
            .collect();
        assert_eq!(ports.len(), 4, "each socket has its own source port");
        for s in &taken {
            assert_eq!(s.get_ref().peer_addr().unwrap(), addr);
        }
        let other: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert!(
            spares.take(other).is_none(),
            "only for the upstream it serves"
        );
        for s in taken {
            spares.retire(s);
        }
    }
}
