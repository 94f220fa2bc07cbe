//! The one error type for state files; its message always names the file.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong with a state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateErrorKind {
    /// The operating system refused (permission, disk full, missing directory...).
    Io(io::ErrorKind),
    /// The file exists but its contents are not what koi wrote.
    Corrupt(&'static str),
    /// The file was written by a koi with a schema this one does not understand.
    UnsupportedSchema {
        /// Schema number found in the file.
        found: u64,
        /// Schema number this build reads.
        expected: u32,
    },
    /// The file is larger than any file koi writes there.
    TooLarge,
}

/// An error reading or writing one state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    /// The file concerned.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: StateErrorKind,
}

impl StateError {
    pub(crate) fn io(path: &Path, err: &io::Error) -> Self {
        StateError {
            path: path.to_path_buf(),
            kind: StateErrorKind::Io(err.kind()),
        }
    }

    pub(crate) fn corrupt(path: &Path, why: &'static str) -> Self {
        Self::corrupt_file(path, why)
    }

    /// A file whose contents are not what koi wrote.
    pub fn corrupt_file(path: &Path, why: &'static str) -> Self {
        StateError {
            path: path.to_path_buf(),
            kind: StateErrorKind::Corrupt(why),
        }
    }

    /// True when the file simply does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == StateErrorKind::Io(io::ErrorKind::NotFound)
    }
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            StateErrorKind::Io(kind) => write!(f, "{p}: {}", io::Error::from(*kind)),
            StateErrorKind::Corrupt(why) => write!(
                f,
                "{p} is corrupt ({why}); koi left it untouched: move it aside or restore it"
            ),
            StateErrorKind::UnsupportedSchema { found, expected } => write!(
                f,
                "{p} has schema version {found}, this koi reads version {expected}; upgrade koi"
            ),
            StateErrorKind::TooLarge => write!(f, "{p} is larger than any file koi writes there"),
        }
    }
}

impl std::error::Error for StateError {}
