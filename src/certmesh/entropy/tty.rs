//! The terminal side of entropy collection: raw keystrokes with a live progress bar, and
//! hidden passphrase entry.
//!
//! Owns termios state: every mode change is undone by a guard's `Drop`, on success, error
//! and Ctrl-C alike, so the operator's terminal is never left raw. It never echoes or logs
//! what is typed.

use super::pool::{progress_bar, Pool};
use crate::base::Secret;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::time::Instant;

const STDIN: RawFd = 0;

/// Whether `fd` is a terminal.
pub fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// A terminal mode change that is undone when dropped.
struct ModeGuard {
    fd: RawFd,
    saved: libc::termios,
}

impl ModeGuard {
    /// Applies `change` to `fd`'s current mode.
    fn enter(fd: RawFd, change: impl FnOnce(&mut libc::termios)) -> io::Result<ModeGuard> {
        // SAFETY: termios is plain old data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `saved` is a valid, writable termios.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut mode = saved;
        change(&mut mode);
        // SAFETY: `mode` is a termios derived from the current one.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &mode) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(ModeGuard { fd, saved })
    }
}

impl Drop for ModeGuard {
    fn drop(&mut self) {
        // SAFETY: restores the mode read in `enter`.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

/// Reads what is available on `fd` (at least one byte; 0 means end of input).
fn read_some(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Keyboard mashing on the controlling terminal until the pool is full, redrawing a
/// progress bar on `out`. Ctrl-C, Ctrl-D or end of input cancel.
pub(super) fn mash(out: &mut dyn Write) -> Result<Secret, String> {
    if !is_tty(STDIN) {
        return Err(
            "keyboard entropy needs a terminal; use --entropy os, passphrase or manual".into(),
        );
    }
    let guard = ModeGuard::enter(STDIN, |m| {
        m.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN);
        m.c_iflag &= !(libc::IXON | libc::ICRNL);
        m.c_cc[libc::VMIN] = 1;
        m.c_cc[libc::VTIME] = 0;
    })
    .map_err(|e| format!("cannot read the keyboard: {e}"))?;
    let _ = write!(out, "Mash your keyboard randomly... GO!\r\n\r\n");
    let start = Instant::now();
    let mut pool = Pool::new();
    let mut buf = [0u8; 64];
    while !pool.full() {
        let _ = write!(out, "\r{}", progress_bar(pool.bits(), 20));
        let _ = out.flush();
        let n = read_some(STDIN, &mut buf).map_err(|e| format!("cannot read the keyboard: {e}"))?;
        let now = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if n == 0 {
            return Err("entropy collection cancelled (end of input)".into());
        }
        for &b in buf.iter().take(n) {
            if b == 0x03 || b == 0x04 {
                drop(guard);
                let _ = write!(out, "\r\n");
                return Err("entropy collection cancelled".into());
            }
            pool.key(b, now);
        }
    }
    drop(guard);
    let _ = write!(
        out,
        "\r{}\r\n\r\n✓ Collected {} bits of entropy\r\n",
        progress_bar(pool.bits(), 20),
        pool.bits()
    );
    let _ = out.flush();
    // The rest of the burst must not spill into the next prompt.
    // SAFETY: discards unread terminal input; harmless on any descriptor.
    unsafe {
        libc::tcflush(STDIN, libc::TCIFLUSH);
    }
    Ok(pool.finish())
}

/// Prompts on `out` and reads one line from the terminal without echo.
pub fn read_hidden_line(prompt: &str, out: &mut dyn Write) -> Result<Secret, String> {
    if !is_tty(STDIN) {
        return Err("a passphrase prompt needs a terminal; use --passphrase-file".into());
    }
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let guard = ModeGuard::enter(STDIN, |m| {
        m.c_lflag &= !libc::ECHO;
        m.c_lflag |= libc::ICANON | libc::ECHONL;
    })
    .map_err(|e| format!("cannot read the terminal: {e}"))?;
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = read_some(STDIN, &mut buf).map_err(|e| format!("cannot read the terminal: {e}"))?;
        if n == 0 {
            break;
        }
        line.extend_from_slice(buf.get(..n).unwrap_or_default());
        if line.ends_with(b"\n") || line.len() > 4096 {
            break;
        }
    }
    drop(guard);
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Secret::new(line))
}
