//! Atomic, durable file replacement and bounded reads.

use super::StateError;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Whether a file holds a secret (mode 0600) or public data (mode 0644).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrecy {
    /// Readable by the owner only.
    Secret,
    /// World-readable.
    Public,
}

impl Secrecy {
    fn mode(self) -> u32 {
        match self {
            Secrecy::Secret => 0o600,
            Secrecy::Public => 0o644,
        }
    }
}

/// Replaces `path` with `bytes` so that a crash or power cut leaves either the old file or the
/// new one, never a mix: write a temp file beside it, fsync, rename over, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], secrecy: Secrecy) -> Result<(), StateError> {
    let dir = path
        .parent()
        .ok_or_else(|| StateError::corrupt(path, "path has no parent directory"))?;
    let name = path
        .file_name()
        .ok_or_else(|| StateError::corrupt(path, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = write_then_rename(&tmp, path, bytes, secrecy);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| StateError::io(path, &e))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8], secrecy: Secrecy) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(secrecy.mode())
        .open(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, path)
}

/// Reads a whole file, refusing anything over `max` bytes so a hostile or damaged file cannot
/// exhaust memory.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, StateError> {
    let f = File::open(path).map_err(|e| StateError::io(path, &e))?;
    let mut out = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| StateError::io(path, &e))?;
    if out.len() as u64 > max {
        return Err(StateError {
            path: path.to_path_buf(),
            kind: super::StateErrorKind::TooLarge,
        });
    }
    Ok(out)
}

/// Removes a file, treating "already gone" as success.
pub fn remove_if_exists(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StateError::io(path, &e)),
    }
}
