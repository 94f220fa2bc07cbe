//! The UDP worker (Linux): one thread per UDP listening socket. It blocks in `recvmmsg` until
//! queries arrive, answers the local ones itself against the shared zone, sends those answers
//! with one `sendmmsg`, and passes queries for the upstream to the executor thread's forwarder
//! through a bounded channel.
//!
//! Why a thread: on the executor a local answer paid for the reactor (re-arming the socket,
//! `epoll_wait`, a failed read) and, now and then, a hand-off between the executor and
//! async-io's own thread, which `tests/bench/dns.sh` showed in p50/p99 latency. Here a batch
//! costs two system calls and no other thread is woken for a local answer.
//!
//! Owns its thread, its batch buffers and its answer cache. It must never block on anything
//! but its own socket's receive, hold the zone's read guard beyond one batch, or panic on a
//! datagram. Dropping the [`Worker`] shuts the socket down for reading, which wakes the
//! thread, and waits for it to finish its batch.

use super::batch::{Batch, Replies};
use super::lane::{Lane, Reader};
use super::server::Upstream;
use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The worker's stack: answers are built on the heap; this is ample.
const STACK: usize = 256 * 1024;

/// A running worker; dropping it stops the thread.
pub(super) struct Worker {
    sock: Arc<UdpSocket>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts serving `sock` (in blocking mode) on a thread of its own; queries for the
    /// upstream go to `upstream`.
    pub(super) fn spawn(
        sock: Arc<UdpSocket>,
        lane: Arc<Lane>,
        upstream: async_channel::Sender<Upstream>,
    ) -> io::Result<Worker> {
        sock.set_nonblocking(false)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (sock.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("dns-udp".into())
            .stack_size(STACK)
            .spawn(move || run(&s, &lane, &upstream, &st))?;
        Ok(Worker {
            sock,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // SAFETY: shutdown takes no pointers; the descriptor stays open (we hold the socket).
        // On an unconnected UDP socket it reports ENOTCONN but still wakes a blocked reader,
        // whose recvmmsg then returns 0.
        unsafe {
            libc::shutdown(self.sock.as_raw_fd(), libc::SHUT_RD);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    sock: &Arc<UdpSocket>,
    lane: &Lane,
    upstream: &async_channel::Sender<Upstream>,
    stop: &AtomicBool,
) {
    let fd = sock.as_raw_fd();
    let mut batch = Batch::new();
    let mut out = Replies::default();
    let mut reader = Reader::default();
    let mut errors: u32 = 0;
    while !stop.load(Ordering::SeqCst) {
        let n = match batch.recv_wait(fd) {
            Ok(0) => continue,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // An ICMP error queued on the socket: read on, pausing if errors persist.
            Err(_) => {
                errors = errors.wrapping_add(1);
                if errors % 64 == 0 {
                    std::thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
        };
        let started = Instant::now();
        let zone = lane.zone.read();
        for i in 0..n {
            let Some((packet, peer)) = batch.get(i) else {
                continue;
            };
            let start = out.data.len();
            let ask = lane.on_datagram(&mut reader, &zone, packet, peer, started, &mut out.data);
            out.commit(i, start);
            if let Some((query, cap)) = ask {
                let job = Upstream {
                    query,
                    cap,
                    peer,
                    started,
                    sock: sock.clone(),
                };
                // A full queue means the forwarder is swamped: the query is lost (counted as
                // dropped), as a datagram would be, and the client asks again.
                if upstream.try_send(job).is_err() {
                    lane.stats.write().dropped += 1;
                }
            }
        }
        drop(zone);
        batch.send(fd, &out);
        lane.count_batch(&mut reader, out.len(), started.elapsed());
        out.clear();
    }
}
