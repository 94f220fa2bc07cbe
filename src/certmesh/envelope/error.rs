//! The envelope's error: it names files and slots, never keys, passphrases or secrets.

use crate::state::StateError;
use koi_wire::totp::TotpError;
use std::fmt;
use std::path::PathBuf;

/// Why an envelope operation failed. Carries file names and fixed reasons only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Reading or writing a file failed, or a file is corrupt (the error names it).
    State(StateError),
    /// `create` found an existing envelope file and left it alone.
    AlreadyExists(PathBuf),
    /// A slot in the slot table is malformed.
    BadSlot {
        /// The slot table.
        path: PathBuf,
        /// Index of the slot in `slots`.
        slot: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// A slot has a type this build does not know.
    UnknownSlotType {
        /// The slot table.
        path: PathBuf,
        /// Index of the slot in `slots`.
        slot: usize,
        /// The type as written (shortened).
        slot_type: String,
    },
    /// There is no slot of the kind asked for.
    NoSlot {
        /// The slot table.
        path: PathBuf,
        /// The unlock method (`"passphrase"`, `"auto_unlock"`, `"totp"`, `"fido2"`).
        method: &'static str,
    },
    /// No passphrase slot opened with this passphrase.
    WrongPassphrase {
        /// The slot table.
        path: PathBuf,
    },
    /// No TOTP slot opened with this shared secret.
    WrongTotpSecret {
        /// The slot table.
        path: PathBuf,
    },
    /// A TOTP code was refused.
    Totp(TotpError),
    /// The auto-unlock key file does not decrypt the CA key.
    AutoUnlockRejected {
        /// The master key file.
        key: PathBuf,
        /// The encrypted CA key.
        ca_key: PathBuf,
    },
    /// The master key given to add a slot does not decrypt the CA key.
    WrongMasterKey,
    /// FIDO2 slots are kept but cannot be used by this build.
    Fido2Unavailable,
    /// Argon2 parameters out of bounds.
    InvalidKdfParams(&'static str),
    /// An argument was refused (empty passphrase, secret of the wrong size...).
    InvalidInput(&'static str),
    /// The random source failed.
    Random(std::io::ErrorKind),
    /// A cryptographic primitive failed where it cannot normally fail.
    Crypto(&'static str),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::State(e) => fmt::Display::fmt(e, f),
            EnvelopeError::AlreadyExists(p) => write!(
                f,
                "{} already exists; koi does not overwrite a CA key",
                p.display()
            ),
            EnvelopeError::BadSlot { path, slot, why } => write!(
                f,
                "{} is corrupt (slot {slot}: {why}); koi left it untouched: move it aside or \
                 restore it",
                path.display()
            ),
            EnvelopeError::UnknownSlotType {
                path,
                slot,
                slot_type,
            } => write!(
                f,
                "{}: slot {slot} has type {slot_type:?}, which this koi does not know (it knows \
                 passphrase, auto_unlock, totp and fido2); upgrade koi",
                path.display()
            ),
            EnvelopeError::NoSlot { path, method } => {
                write!(f, "{} has no {method} slot", path.display())
            }
            EnvelopeError::WrongPassphrase { path } => write!(
                f,
                "the passphrase is wrong (or the passphrase slot in {} was altered)",
                path.display()
            ),
            EnvelopeError::WrongTotpSecret { path } => write!(
                f,
                "the TOTP secret does not open the totp slot in {}",
                path.display()
            ),
            EnvelopeError::Totp(e) => fmt::Display::fmt(e, f),
            EnvelopeError::AutoUnlockRejected { key, ca_key } => write!(
                f,
                "{} does not decrypt {}: one of them is damaged or they belong to different CAs",
                key.display(),
                ca_key.display()
            ),
            EnvelopeError::WrongMasterKey => {
                f.write_str("the master key given does not decrypt this CA key")
            }
            EnvelopeError::Fido2Unavailable => {
                f.write_str("FIDO2 unlock is not available in this build")
            }
            EnvelopeError::InvalidKdfParams(why) => write!(f, "invalid Argon2 parameters: {why}"),
            EnvelopeError::InvalidInput(why) => f.write_str(why),
            EnvelopeError::Random(kind) => write!(
                f,
                "the random source failed: {}",
                std::io::Error::from(*kind)
            ),
            EnvelopeError::Crypto(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for EnvelopeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EnvelopeError::State(e) => Some(e),
            EnvelopeError::Totp(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StateError> for EnvelopeError {
    fn from(e: StateError) -> Self {
        EnvelopeError::State(e)
    }
}
