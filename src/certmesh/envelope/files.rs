//! Byte formats of `ca-key.enc` and `ca-master.key`.
//!
//! `ca-key.enc` is `KOICAK1\n`, a 12-byte nonce, then the AES-256-GCM ciphertext and tag of the
//! CA key under the master key (associated data `koi ca-key v1`). `ca-master.key` (auto-unlock
//! only) is `KOIMK01\n` followed by the 32-byte master key, nothing else.

use super::seal::{Key, Sealed, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::base::Secret;
use crate::state::StateError;
use std::path::Path;

const CA_KEY_MAGIC: &[u8; 8] = b"KOICAK1\n";
const MASTER_MAGIC: &[u8; 8] = b"KOIMK01\n";

/// Largest `ca-key.enc` accepted (a P-256 PKCS#8 key is about 140 bytes).
pub(super) const MAX_CA_KEY_FILE: u64 = 64 * 1024;
/// Largest `unlock-slots.json` accepted.
pub(super) const MAX_SLOTS_FILE: u64 = 256 * 1024;
/// Size of `ca-master.key`.
pub(super) const MASTER_FILE_LEN: u64 = (MASTER_MAGIC.len() + KEY_LEN) as u64;

/// The bytes of `ca-key.enc` for a sealed CA key.
pub(super) fn encode_ca_key(sealed: &Sealed) -> Vec<u8> {
    let mut out = Vec::with_capacity(CA_KEY_MAGIC.len() + NONCE_LEN + sealed.ciphertext.len());
    out.extend_from_slice(CA_KEY_MAGIC);
    out.extend_from_slice(&sealed.nonce);
    out.extend_from_slice(&sealed.ciphertext);
    out
}

/// Parses `ca-key.enc`; checks framing only (authentication happens on unlock).
pub(super) fn decode_ca_key(path: &Path, bytes: &[u8]) -> Result<Sealed, StateError> {
    let rest = bytes
        .strip_prefix(CA_KEY_MAGIC)
        .ok_or_else(|| StateError::corrupt_file(path, "not a koi encrypted CA key"))?;
    let (nonce, ciphertext) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or_else(|| StateError::corrupt_file(path, "truncated"))?;
    if ciphertext.len() <= TAG_LEN {
        return Err(StateError::corrupt_file(path, "truncated"));
    }
    Ok(Sealed {
        nonce: *nonce,
        ciphertext: ciphertext.to_vec(),
    })
}

/// The bytes of `ca-master.key`.
pub(super) fn encode_master(master: &Key) -> Secret {
    let mut out = Vec::with_capacity(MASTER_FILE_LEN as usize);
    out.extend_from_slice(MASTER_MAGIC);
    out.extend_from_slice(master.bytes());
    Secret::new(out)
}

/// Parses `ca-master.key`.
pub(super) fn decode_master(path: &Path, bytes: &[u8]) -> Result<Key, StateError> {
    let key = bytes
        .strip_prefix(MASTER_MAGIC)
        .ok_or_else(|| StateError::corrupt_file(path, "not a koi master key file"))?;
    Key::from_secret(&Secret::new(key.to_vec()))
        .ok_or_else(|| StateError::corrupt_file(path, "not 32 key bytes"))
}
