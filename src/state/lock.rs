//! The agent's exclusive hold on a state directory.
//!
//! An advisory `flock` on `<state>/agent.lock`. The kernel drops it when the holder dies, so a
//! lock file left by a killed agent never blocks the next one; the pid written inside is only
//! for the error message.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it.
    Held {
        /// The lock file.
        path: PathBuf,
        /// The holder's pid, if it wrote one.
        pid: Option<u32>,
    },
    /// The lock file could not be opened or locked.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held { path, pid } => {
                let dir = path.parent().unwrap_or(path).display();
                match pid {
                    Some(pid) => write!(
                        f,
                        "another koi agent (pid {pid}) is already running on {dir}; stop it or pass a different --state-dir"
                    ),
                    None => write!(
                        f,
                        "another koi agent is already running on {dir}; stop it or pass a different --state-dir"
                    ),
                }
            }
            LockError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for LockError {}

/// Held for the agent's lifetime; dropping it releases the lock.
#[derive(Debug)]
pub struct AgentLock {
    file: File,
    path: PathBuf,
}

impl AgentLock {
    /// Takes the lock or reports who holds it.
    pub fn acquire(path: &Path) -> Result<AgentLock, LockError> {
        let io_err = |e| LockError::Io(path.to_path_buf(), e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io_err)?;
        // SAFETY: flock on a valid, owned file descriptor has no memory-safety preconditions.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut text = String::new();
                let _ = (&file).take(32).read_to_string(&mut text);
                let pid = text.trim().parse().ok();
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    pid,
                });
            }
            return Err(io_err(err));
        }
        file.set_len(0).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        writeln!(file, "{}", std::process::id()).map_err(io_err)?;
        Ok(AgentLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AgentLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}
