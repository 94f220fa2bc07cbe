//! On-disk state: where it lives, how it is written, and who may hold it.
//!
//! Owns the state directory layout, atomic writes (temp file, fsync, rename, fsync of the
//! directory), owner-only permissions for secrets, schema-versioned JSON files and the agent's
//! exclusive lock. It never overwrites a file it could not parse: a corrupt or truncated file is
//! reported with its path and left for the operator to inspect.

mod atomic;
mod error;
mod json;
mod lock;
mod paths;

pub use atomic::{read_bounded, remove_if_exists, write_atomic, Secrecy};
pub use error::{StateError, StateErrorKind};
pub use json::{read_versioned, write_versioned, Versioned};
pub use lock::{AgentLock, LockError};
pub use paths::{default_root, resolve_root, StateDir, STATE_DIR_ENV};
