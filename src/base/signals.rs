//! SIGINT/SIGTERM as an async stream, through a self-pipe.
//!
//! The handler only writes one byte to a non-blocking socket (async-signal-safe); the agent's
//! executor reads it like any other socket. No extra thread.

use async_io::Async;
use futures_lite::AsyncReadExt;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};

static PIPE_WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = PIPE_WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local byte.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Termination signals delivered to the agent.
pub struct Signals {
    rx: Async<UnixStream>,
    _tx: UnixStream,
}

impl Signals {
    /// Installs handlers for SIGINT and SIGTERM (one `Signals` per process).
    pub fn install() -> io::Result<Signals> {
        let (rx, tx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        PIPE_WRITE_FD.store(tx.as_raw_fd(), Ordering::Relaxed);
        for sig in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction is a valid starting value; the handler is an
            // `extern "C" fn(c_int)` that only performs async-signal-safe work.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(Signals {
            rx: Async::new(rx)?,
            _tx: tx,
        })
    }

    /// Waits for the next signal and returns its number.
    pub async fn recv(&mut self) -> io::Result<i32> {
        let mut byte = [0u8; 1];
        self.rx.read_exact(&mut byte).await?;
        Ok(i32::from(byte[0]))
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        PIPE_WRITE_FD.store(-1, Ordering::Relaxed);
    }
}
