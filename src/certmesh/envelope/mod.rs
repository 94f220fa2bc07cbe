//! Envelope encryption of the CA private key (spec `envelope-encryption.md`), LUKS-style.
//!
//! A random 256-bit master key encrypts the CA key (opaque bytes: the caller's PKCS#8 DER)
//! with AES-256-GCM into `ca-key.enc`. `unlock-slots.json` holds slots that each wrap the
//! master key independently, so any one slot unlocks the CA:
//!
//! - `passphrase`: Argon2id with the parameters stored in the slot → KEK → AES-256-GCM wrap.
//!   Always present.
//! - `auto_unlock`: a marker; the master key itself is in `ca-master.key` (0600), for
//!   unattended boot.
//! - `totp`: HKDF-SHA256 of the TOTP shared secret → KEK → wrap; the secret is stored in the
//!   slot so codes can be checked (see [`RingHmacSha1`] and the `totp` module docs).
//! - `fido2`: parsed and kept, but unlocking with it fails with
//!   [`EnvelopeError::Fido2Unavailable`] (DESIGN departure 5).
//!
//! Invariants: every ciphertext has a fresh random 96-bit nonce and associated data naming its
//! role (`koi ca-key v1`, `koi slot passphrase v1`, ...), so nothing sealed for one role opens
//! in another; every write is atomic and every file is 0600; a file that does not parse is an
//! error naming it and is never rewritten; keys live in [`Secret`]s or wiped buffers;
//! [`EnvelopeError`] carries file names and fixed reasons, never key material. `Envelope`
//! never holds the master key: each operation that needs it takes it, or unwraps it and drops
//! it before returning.
//!
//! Refused: the spec's migration from pre-envelope keys (koi never wrote any), FIDO2 unlocking,
//! and slot types this build does not know (an error naming the type and the file, rather than
//! a rewrite that would drop them).

pub(crate) mod codec;
mod error;
mod files;
mod kdf;
mod seal;
mod slots;
mod totp;

#[cfg(test)]
mod tests;

pub use error::EnvelopeError;
pub use kdf::{parse_mem_available_kib, read_mem_available_kib, KdfParams};
pub use totp::{RingHmacSha1, MAX_TOTP_SECRET, MIN_TOTP_SECRET};

use crate::base::{RandomSource, Secret};
use crate::state::{read_bounded, remove_if_exists, write_atomic, Secrecy, StateError};
use seal::{Key, Role, Sealed};
use slots::{PassphraseSlot, Slot, SlotTable, TotpSlot};
use std::path::{Path, PathBuf};

/// The master-key-encrypted CA key.
pub const CA_KEY_FILE: &str = "ca-key.enc";
/// The slot table.
pub const SLOTS_FILE: &str = "unlock-slots.json";
/// The master key in the clear, present only while auto-unlock is on.
pub const MASTER_KEY_FILE: &str = "ca-master.key";

/// An envelope on disk: the encrypted CA key and its slot table, without the master key.
#[derive(Debug)]
pub struct Envelope {
    dir: PathBuf,
    slots: SlotTable,
    ca_key: Sealed,
}

impl Envelope {
    /// Creates a new envelope in `dir` (made 0700 if missing) holding `ca_key_der` under a
    /// fresh master key, with one passphrase slot using `params`. Refuses to touch a directory
    /// that already holds any envelope file.
    pub fn create(
        dir: &Path,
        ca_key_der: &[u8],
        passphrase: &Secret,
        params: KdfParams,
        rng: &mut dyn RandomSource,
    ) -> Result<Envelope, EnvelopeError> {
        if ca_key_der.is_empty() {
            return Err(EnvelopeError::InvalidInput("the CA key is empty"));
        }
        if passphrase.expose().is_empty() {
            return Err(EnvelopeError::InvalidInput("the passphrase is empty"));
        }
        params.validate()?;
        create_private_dir(dir)?;
        for name in [CA_KEY_FILE, SLOTS_FILE, MASTER_KEY_FILE] {
            let path = dir.join(name);
            if std::fs::symlink_metadata(&path).is_ok() {
                return Err(EnvelopeError::AlreadyExists(path));
            }
        }
        let master = Key::random(rng)?;
        let ca_key = seal::seal(&master, Role::CaKey, ca_key_der, rng)?;
        let slot = new_passphrase_slot(&master, passphrase, params, rng)?;
        let env = Envelope {
            dir: dir.to_path_buf(),
            slots: SlotTable {
                slots: vec![Slot::Passphrase(slot)],
            },
            ca_key,
        };
        write_atomic(
            &env.ca_key_path(),
            &files::encode_ca_key(&env.ca_key),
            Secrecy::Secret,
        )?;
        write_atomic(
            &env.slots_path(),
            env.slots.to_json().as_bytes(),
            Secrecy::Secret,
        )?;
        Ok(env)
    }

    /// Reads the slot table and the encrypted CA key from `dir`. Files that do not parse are
    /// errors naming them; nothing is written.
    pub fn open(dir: &Path) -> Result<Envelope, EnvelopeError> {
        let slots_path = dir.join(SLOTS_FILE);
        let bytes = read_bounded(&slots_path, files::MAX_SLOTS_FILE)?;
        let slots = SlotTable::parse(&slots_path, &bytes)?;
        let ca_path = dir.join(CA_KEY_FILE);
        let bytes = read_bounded(&ca_path, files::MAX_CA_KEY_FILE)?;
        let ca_key = files::decode_ca_key(&ca_path, &bytes)?;
        Ok(Envelope {
            dir: dir.to_path_buf(),
            slots,
            ca_key,
        })
    }

    /// The directory holding the envelope.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of `ca-key.enc`.
    pub fn ca_key_path(&self) -> PathBuf {
        self.dir.join(CA_KEY_FILE)
    }

    /// Path of `unlock-slots.json`.
    pub fn slots_path(&self) -> PathBuf {
        self.dir.join(SLOTS_FILE)
    }

    /// Path of the auto-unlock master key file.
    pub fn master_key_path(&self) -> PathBuf {
        self.dir.join(MASTER_KEY_FILE)
    }

    /// The slot types present, in the order passphrase, auto_unlock, totp, fido2.
    pub fn available_methods(&self) -> Vec<&'static str> {
        ["passphrase", "auto_unlock", "totp", "fido2"]
            .into_iter()
            .filter(|m| self.slots.slots.iter().any(|s| s.method() == *m))
            .collect()
    }

    /// The Argon2 parameters stored in the first passphrase slot.
    pub fn passphrase_params(&self) -> Option<KdfParams> {
        self.slots.slots.iter().find_map(|s| match s {
            Slot::Passphrase(p) => Some(p.params),
            _ => None,
        })
    }

    /// Unwraps the master key with a passphrase (one Argon2 run per passphrase slot).
    pub fn unwrap_master_with_passphrase(
        &self,
        passphrase: &Secret,
    ) -> Result<Secret, EnvelopeError> {
        Ok(self.master_from_passphrase(passphrase)?.to_secret())
    }

    /// Decrypts the CA key with a passphrase.
    pub fn unlock_with_passphrase(&self, passphrase: &Secret) -> Result<Secret, EnvelopeError> {
        let master = self.master_from_passphrase(passphrase)?;
        self.open_ca_key(&master)
    }

    /// Reads the auto-unlock master key and checks that it decrypts the CA key.
    pub fn unwrap_master_with_auto(&self) -> Result<Secret, EnvelopeError> {
        let master = self.master_from_auto()?;
        drop(self.open_with_auto_key(&master)?);
        Ok(master.to_secret())
    }

    /// Decrypts the CA key with the auto-unlock master key file.
    pub fn unlock_with_auto(&self) -> Result<Secret, EnvelopeError> {
        let master = self.master_from_auto()?;
        self.open_with_auto_key(&master)
    }

    /// Unwraps the master key with a TOTP shared secret.
    pub fn unwrap_master_with_totp_secret(&self, secret: &Secret) -> Result<Secret, EnvelopeError> {
        Ok(self.master_from_totp_secret(secret)?.to_secret())
    }

    /// Decrypts the CA key with a TOTP shared secret.
    pub fn unlock_with_totp_secret(&self, secret: &Secret) -> Result<Secret, EnvelopeError> {
        let master = self.master_from_totp_secret(secret)?;
        self.open_ca_key(&master)
    }

    /// Checks a 6-digit code against the TOTP slot's secret (see [`koi_wire::totp::verify`])
    /// and decrypts the CA key. Returns the key and the step matched, which the caller must
    /// store and pass back as `last_used_step` so the code is never accepted again.
    pub fn unlock_with_totp_code(
        &self,
        code: &str,
        now_unix: u64,
        last_used_step: Option<u64>,
    ) -> Result<(Secret, u64), EnvelopeError> {
        let mut err = self.no_slot("totp");
        for slot in self.totp_slots() {
            match koi_wire::totp::verify(
                &RingHmacSha1,
                slot.secret.expose(),
                code,
                now_unix,
                last_used_step,
            ) {
                Ok(step) => {
                    let master = self.master_from_totp_secret(&slot.secret)?;
                    return Ok((self.open_ca_key(&master)?, step));
                }
                Err(e) => err = EnvelopeError::Totp(e),
            }
        }
        Err(err)
    }

    /// Always fails: with no FIDO2 slot, [`EnvelopeError::NoSlot`]; with one,
    /// [`EnvelopeError::Fido2Unavailable`].
    pub fn unlock_with_fido2(&self) -> Result<Secret, EnvelopeError> {
        if self.slots.slots.iter().any(|s| matches!(s, Slot::Fido2(_))) {
            Err(EnvelopeError::Fido2Unavailable)
        } else {
            Err(self.no_slot("fido2"))
        }
    }

    /// Decrypts the CA key with an already unwrapped master key; a key that does not decrypt
    /// it is [`EnvelopeError::WrongMasterKey`].
    pub fn decrypt_ca_key(&self, master: &Secret) -> Result<Secret, EnvelopeError> {
        let key = Key::from_secret(master).ok_or(EnvelopeError::WrongMasterKey)?;
        seal::open(&key, Role::CaKey, &self.ca_key).ok_or(EnvelopeError::WrongMasterKey)
    }

    /// Re-encrypts `ca-key.enc` with new contents under the same master key (used when the
    /// TOTP secret stored alongside the CA key is rotated). Refuses a wrong master key.
    pub fn replace_ca_key(
        &mut self,
        master: &Secret,
        ca_key_der: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<(), EnvelopeError> {
        if ca_key_der.is_empty() {
            return Err(EnvelopeError::InvalidInput("the CA key is empty"));
        }
        let key = self.check_master(master)?;
        let sealed = seal::seal(&key, Role::CaKey, ca_key_der, rng)?;
        write_atomic(
            &self.ca_key_path(),
            &files::encode_ca_key(&sealed),
            Secrecy::Secret,
        )?;
        self.ca_key = sealed;
        Ok(())
    }

    /// Turns on auto-unlock: writes the master key to `ca-master.key` (0600), then adds the
    /// marker slot. Refuses a master key that does not decrypt the CA key.
    pub fn add_auto_unlock(&mut self, master: &Secret) -> Result<(), EnvelopeError> {
        let key = self.check_master(master)?;
        write_atomic(
            &self.master_key_path(),
            files::encode_master(&key).expose(),
            Secrecy::Secret,
        )?;
        if !self.slots.slots.contains(&Slot::AutoUnlock) {
            let mut table = self.slots.clone();
            table.slots.push(Slot::AutoUnlock);
            self.write_slots(table)?;
        }
        Ok(())
    }

    /// Turns off auto-unlock: deletes `ca-master.key` first (so a crash never leaves the key
    /// behind without its marker), then removes the marker slot. Idempotent.
    pub fn remove_auto_unlock(&mut self) -> Result<(), EnvelopeError> {
        remove_if_exists(&self.master_key_path())?;
        if self.slots.slots.contains(&Slot::AutoUnlock) {
            let mut table = self.slots.clone();
            table.slots.retain(|s| *s != Slot::AutoUnlock);
            self.write_slots(table)?;
        }
        Ok(())
    }

    /// Adds a TOTP slot for `secret` (16 to 64 bytes), replacing any existing one. Refuses a
    /// master key that does not decrypt the CA key.
    pub fn add_totp_slot(
        &mut self,
        master: &Secret,
        secret: &Secret,
        rng: &mut dyn RandomSource,
    ) -> Result<(), EnvelopeError> {
        let key = self.check_master(master)?;
        let kek = totp::derive_kek(secret.expose())?;
        let wrapped = seal::wrap(&kek, Role::TotpSlot, &key, rng)?;
        let mut table = self.slots.clone();
        table.slots.retain(|s| !matches!(s, Slot::Totp(_)));
        table.slots.push(Slot::Totp(TotpSlot {
            secret: secret.clone(),
            wrapped,
        }));
        self.write_slots(table)
    }

    /// Removes the TOTP slot, if any.
    pub fn remove_totp_slot(&mut self) -> Result<(), EnvelopeError> {
        let mut table = self.slots.clone();
        table.slots.retain(|s| !matches!(s, Slot::Totp(_)));
        if table != self.slots {
            self.write_slots(table)?;
        }
        Ok(())
    }

    fn write_slots(&mut self, table: SlotTable) -> Result<(), EnvelopeError> {
        write_atomic(
            &self.slots_path(),
            table.to_json().as_bytes(),
            Secrecy::Secret,
        )?;
        self.slots = table;
        Ok(())
    }

    fn no_slot(&self, method: &'static str) -> EnvelopeError {
        EnvelopeError::NoSlot {
            path: self.slots_path(),
            method,
        }
    }

    fn totp_slots(&self) -> impl Iterator<Item = &TotpSlot> {
        self.slots.slots.iter().filter_map(|s| match s {
            Slot::Totp(t) => Some(t),
            _ => None,
        })
    }

    fn master_from_passphrase(&self, passphrase: &Secret) -> Result<Key, EnvelopeError> {
        for slot in &self.slots.slots {
            let Slot::Passphrase(p) = slot else { continue };
            let kek = kdf::derive(p.params, &p.salt, passphrase.expose())?;
            if let Some(master) = seal::unwrap(&kek, Role::PassphraseSlot, &p.wrapped) {
                return Ok(master);
            }
        }
        Err(EnvelopeError::WrongPassphrase {
            path: self.slots_path(),
        })
    }

    fn master_from_auto(&self) -> Result<Key, EnvelopeError> {
        if !self.slots.slots.contains(&Slot::AutoUnlock) {
            return Err(self.no_slot("auto_unlock"));
        }
        let path = self.master_key_path();
        let bytes = Secret::new(read_bounded(&path, files::MASTER_FILE_LEN)?);
        Ok(files::decode_master(&path, bytes.expose())?)
    }

    fn open_with_auto_key(&self, master: &Key) -> Result<Secret, EnvelopeError> {
        seal::open(master, Role::CaKey, &self.ca_key).ok_or_else(|| {
            EnvelopeError::AutoUnlockRejected {
                key: self.master_key_path(),
                ca_key: self.ca_key_path(),
            }
        })
    }

    fn master_from_totp_secret(&self, secret: &Secret) -> Result<Key, EnvelopeError> {
        let mut slots = self.totp_slots().peekable();
        if slots.peek().is_none() {
            return Err(self.no_slot("totp"));
        }
        let kek = totp::derive_kek(secret.expose())?;
        slots
            .find_map(|t| seal::unwrap(&kek, Role::TotpSlot, &t.wrapped))
            .ok_or_else(|| EnvelopeError::WrongTotpSecret {
                path: self.slots_path(),
            })
    }

    /// Decrypts `ca-key.enc` with a master key that a slot authenticated: failure here means
    /// the file itself is damaged or belongs to another slot table.
    fn open_ca_key(&self, master: &Key) -> Result<Secret, EnvelopeError> {
        seal::open(master, Role::CaKey, &self.ca_key).ok_or_else(|| {
            EnvelopeError::State(StateError::corrupt_file(
                &self.ca_key_path(),
                "failed authentication: damaged, altered, or not this slot table's CA key",
            ))
        })
    }

    fn check_master(&self, master: &Secret) -> Result<Key, EnvelopeError> {
        drop(self.decrypt_ca_key(master)?);
        Key::from_secret(master).ok_or(EnvelopeError::WrongMasterKey)
    }
}

fn new_passphrase_slot(
    master: &Key,
    passphrase: &Secret,
    params: KdfParams,
    rng: &mut dyn RandomSource,
) -> Result<PassphraseSlot, EnvelopeError> {
    let mut salt = vec![0u8; slots::NEW_SALT_LEN];
    seal::fill(rng, &mut salt)?;
    let kek = kdf::derive(params, &salt, passphrase.expose())?;
    let wrapped = seal::wrap(&kek, Role::PassphraseSlot, master, rng)?;
    Ok(PassphraseSlot {
        params,
        salt,
        wrapped,
    })
}

fn create_private_dir(dir: &Path) -> Result<(), EnvelopeError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| EnvelopeError::State(StateError::io(dir, &e)))
}
