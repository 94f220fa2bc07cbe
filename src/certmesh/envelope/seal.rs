//! Keys and AES-256-GCM sealing with role-bound associated data.
//!
//! Every ciphertext is sealed under a fresh random 96-bit nonce and with associated data that
//! names its role, so a ciphertext moved to another role (the CA key into a slot, one slot's
//! wrapped key into another slot type) fails authentication.

use super::EnvelopeError;
use crate::base::{RandomSource, Secret};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use std::sync::atomic::{compiler_fence, Ordering};

/// Bytes in a master key or a key-encryption key.
pub(super) const KEY_LEN: usize = 32;
/// Bytes in an AES-GCM nonce.
pub(super) const NONCE_LEN: usize = 12;
/// Bytes in an AES-GCM tag.
pub(super) const TAG_LEN: usize = 16;
/// Bytes in a wrapped master key (the key and its tag).
pub(super) const WRAPPED_LEN: usize = KEY_LEN + TAG_LEN;

/// A 256-bit key, wiped on drop.
pub(super) struct Key([u8; KEY_LEN]);

impl Key {
    /// A zero key to be filled in place.
    pub(super) fn zero() -> Key {
        Key([0; KEY_LEN])
    }

    /// A fresh random key.
    pub(super) fn random(rng: &mut dyn RandomSource) -> Result<Key, EnvelopeError> {
        let mut k = Key::zero();
        fill(rng, &mut k.0)?;
        Ok(k)
    }

    /// The key held by `secret`, if it is exactly 32 bytes.
    pub(super) fn from_secret(secret: &Secret) -> Option<Key> {
        let bytes = secret.expose();
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut k = Key::zero();
        k.0.copy_from_slice(bytes);
        Some(k)
    }

    /// A copy as a [`Secret`] for callers outside this module.
    pub(super) fn to_secret(&self) -> Secret {
        Secret::new(self.0.to_vec())
    }

    pub(super) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    pub(super) fn bytes_mut(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.0
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.0 = [0; KEY_LEN];
        compiler_fence(Ordering::SeqCst);
        std::hint::black_box(&self.0);
    }
}

/// What a ciphertext is for; its label is the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The CA private key under the master key (`ca-key.enc`).
    CaKey,
    /// The master key under a passphrase-derived KEK.
    PassphraseSlot,
    /// The master key under a TOTP-secret-derived KEK.
    TotpSlot,
}

impl Role {
    fn aad(self) -> &'static [u8] {
        match self {
            Role::CaKey => b"koi ca-key v1",
            Role::PassphraseSlot => b"koi slot passphrase v1",
            Role::TotpSlot => b"koi slot totp v1",
        }
    }
}

/// A nonce and the ciphertext (with its tag) it sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sealed {
    pub(super) nonce: [u8; NONCE_LEN],
    pub(super) ciphertext: Vec<u8>,
}

pub(super) fn fill(rng: &mut dyn RandomSource, buf: &mut [u8]) -> Result<(), EnvelopeError> {
    rng.fill(buf).map_err(|e| EnvelopeError::Random(e.kind()))
}

/// Seals `plaintext` for `role` under `key` with a fresh random nonce.
pub(super) fn seal(
    key: &Key,
    role: Role,
    plaintext: &[u8],
    rng: &mut dyn RandomSource,
) -> Result<Sealed, EnvelopeError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill(rng, &mut nonce)?;
    let mut buf = plaintext.to_vec();
    let sealed = cipher(key)?.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(role.aad()),
        &mut buf,
    );
    if sealed.is_err() {
        drop(Secret::new(buf)); // wipes the plaintext copy
        return Err(EnvelopeError::Crypto("AES-GCM refused to seal"));
    }
    Ok(Sealed {
        nonce,
        ciphertext: buf,
    })
}

/// AES-256-GCM under `key` (ring's, the same code TLS uses).
fn cipher(key: &Key) -> Result<LessSafeKey, EnvelopeError> {
    UnboundKey::new(&AES_256_GCM, key.bytes())
        .map(LessSafeKey::new)
        .map_err(|_| EnvelopeError::Crypto("AES-GCM refused the key"))
}

/// Opens a ciphertext sealed for `role`; `None` if it, its nonce, its role or the key differ.
pub(super) fn open(key: &Key, role: Role, sealed: &Sealed) -> Option<Secret> {
    // Decrypted in place inside a Secret: a failed open may leave bytes there, wiped on drop.
    let mut buf = Secret::new(sealed.ciphertext.clone());
    let len = cipher(key)
        .ok()?
        .open_in_place(
            Nonce::assume_unique_for_key(sealed.nonce),
            Aad::from(role.aad()),
            buf.expose_mut(),
        )
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// Wraps a master key for a slot.
pub(super) fn wrap(
    kek: &Key,
    role: Role,
    master: &Key,
    rng: &mut dyn RandomSource,
) -> Result<Sealed, EnvelopeError> {
    seal(kek, role, master.bytes(), rng)
}

/// Unwraps a slot's master key; `None` if the KEK or anything stored is wrong.
pub(super) fn unwrap(kek: &Key, role: Role, wrapped: &Sealed) -> Option<Key> {
    open(kek, role, wrapped).and_then(|s| Key::from_secret(&s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::OsRandom;

    #[test]
    fn a_wrapped_key_does_not_open_under_another_role() {
        let kek = Key::random(&mut OsRandom).unwrap();
        let master = Key::random(&mut OsRandom).unwrap();
        let w = wrap(&kek, Role::PassphraseSlot, &master, &mut OsRandom).unwrap();
        assert_eq!(w.ciphertext.len(), WRAPPED_LEN);
        let back = unwrap(&kek, Role::PassphraseSlot, &w).unwrap();
        assert_eq!(back.bytes(), master.bytes());
        for other in [Role::CaKey, Role::TotpSlot] {
            assert!(unwrap(&kek, other, &w).is_none(), "{other:?}");
        }
    }

    #[test]
    fn every_seal_draws_a_new_nonce() {
        let key = Key::random(&mut OsRandom).unwrap();
        let a = seal(&key, Role::CaKey, b"same", &mut OsRandom).unwrap();
        let b = seal(&key, Role::CaKey, b"same", &mut OsRandom).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }
}
