//! The slot table (`unlock-slots.json`): its in-memory model and its JSON form.
//!
//! ```json
//! {"schema":1,"version":1,"slots":[
//!   {"type":"passphrase",
//!    "kdf":{"algorithm":"argon2id","version":19,"m_cost_kib":65536,"t_cost":3,"p_cost":1},
//!    "wrapped_master_key":{"ciphertext":"<b64>","nonce":"<b64>","salt":"<b64>"}},
//!   {"type":"auto_unlock"},
//!   {"type":"totp","shared_secret_hex":"<hex>",
//!    "wrapped_master_key":{"ciphertext":"<b64>","nonce":"<b64>"}},
//!   {"type":"fido2","credential_id":"<b64>","rp_id":"koi","hmac_secret_salt":"<b64>",
//!    "wrapped_master_key":{"ciphertext":"<b64>","nonce":"<b64>"}}]}
//! ```
//!
//! Parsing is strict: every field is checked for type and size, a slot of an unknown type is an
//! error naming the type, and there must be at least one passphrase slot. Unknown extra fields
//! are ignored (and not written back).

use super::codec::{b64_decode, b64_encode, hex_decode};
use super::kdf::KdfParams;
use super::seal::{Sealed, NONCE_LEN, WRAPPED_LEN};
use super::totp::{MAX_TOTP_SECRET, MIN_TOTP_SECRET};
use super::EnvelopeError;
use crate::base::{hex, Secret};
use crate::state::{StateError, StateErrorKind};
use miniserde::json::{self, Array, Number, Object, Value};
use std::path::Path;

/// The slot table format this build reads and writes.
pub(super) const SLOTS_VERSION: u32 = 1;
/// Most slots a table may hold (each passphrase slot costs an Argon2 run to try).
pub(super) const MAX_SLOTS: usize = 16;
/// Argon2 version 1.3, as stored.
const ARGON2_VERSION: u64 = 0x13;
/// Salt bounds for a passphrase slot.
const SALT_LEN: std::ops::RangeInclusive<usize> = 8..=64;
/// Bytes of salt new passphrase slots get.
pub(super) const NEW_SALT_LEN: usize = 16;

/// A passphrase slot: Argon2id(passphrase, salt) → KEK → wrapped master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PassphraseSlot {
    pub(super) params: KdfParams,
    pub(super) salt: Vec<u8>,
    pub(super) wrapped: Sealed,
}

/// A TOTP slot: HKDF(shared secret) → KEK → wrapped master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TotpSlot {
    pub(super) secret: Secret,
    pub(super) wrapped: Sealed,
}

/// A FIDO2 slot, kept so the table round-trips; this build cannot use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fido2Slot {
    pub(super) credential_id: Vec<u8>,
    pub(super) rp_id: String,
    pub(super) hmac_secret_salt: Vec<u8>,
    pub(super) wrapped: Sealed,
}

/// One way to unlock the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Slot {
    Passphrase(PassphraseSlot),
    /// Marker: the master key is in `ca-master.key`.
    AutoUnlock,
    Totp(TotpSlot),
    Fido2(Fido2Slot),
}

impl Slot {
    /// The slot's type as written in the file, which is also the unlock method's name.
    pub(super) fn method(&self) -> &'static str {
        match self {
            Slot::Passphrase(_) => "passphrase",
            Slot::AutoUnlock => "auto_unlock",
            Slot::Totp(_) => "totp",
            Slot::Fido2(_) => "fido2",
        }
    }
}

/// The parsed `unlock-slots.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SlotTable {
    pub(super) slots: Vec<Slot>,
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn number(n: u64) -> Value {
    Value::Number(Number::U64(n))
}

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut o = Object::new();
    for (k, v) in fields {
        o.insert(k.to_owned(), v);
    }
    Value::Object(o)
}

fn wrapped_json(w: &Sealed, salt: Option<&[u8]>) -> Value {
    let mut o = Object::new();
    o.insert("ciphertext".into(), string(&b64_encode(&w.ciphertext)));
    o.insert("nonce".into(), string(&b64_encode(&w.nonce)));
    if let Some(salt) = salt {
        o.insert("salt".into(), string(&b64_encode(salt)));
    }
    Value::Object(o)
}

impl SlotTable {
    /// The JSON text written to `unlock-slots.json`.
    pub(super) fn to_json(&self) -> String {
        let mut slots = Array::new();
        for slot in &self.slots {
            slots.push(match slot {
                Slot::Passphrase(p) => object([
                    ("type", string("passphrase")),
                    (
                        "kdf",
                        object([
                            ("algorithm", string("argon2id")),
                            ("version", number(ARGON2_VERSION)),
                            ("m_cost_kib", number(u64::from(p.params.m_cost_kib))),
                            ("t_cost", number(u64::from(p.params.t_cost))),
                            ("p_cost", number(u64::from(p.params.p_cost))),
                        ]),
                    ),
                    (
                        "wrapped_master_key",
                        wrapped_json(&p.wrapped, Some(&p.salt)),
                    ),
                ]),
                Slot::AutoUnlock => object([("type", string("auto_unlock"))]),
                Slot::Totp(t) => object([
                    ("type", string("totp")),
                    ("shared_secret_hex", string(&hex(t.secret.expose()))),
                    ("wrapped_master_key", wrapped_json(&t.wrapped, None)),
                ]),
                Slot::Fido2(f) => object([
                    ("type", string("fido2")),
                    ("credential_id", string(&b64_encode(&f.credential_id))),
                    ("rp_id", string(&f.rp_id)),
                    ("hmac_secret_salt", string(&b64_encode(&f.hmac_secret_salt))),
                    ("wrapped_master_key", wrapped_json(&f.wrapped, None)),
                ]),
            });
        }
        let top = object([
            ("schema", number(u64::from(SLOTS_VERSION))),
            ("version", number(u64::from(SLOTS_VERSION))),
            ("slots", Value::Array(slots)),
        ]);
        let mut text = json::to_string(&top);
        text.push('\n');
        text
    }

    /// Parses the bytes of `unlock-slots.json` read from `path`.
    pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<SlotTable, EnvelopeError> {
        let corrupt = |why| EnvelopeError::State(StateError::corrupt_file(path, why));
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text"))?;
        let value: Value = json::from_str(text).map_err(|_| corrupt("not valid JSON"))?;
        let Value::Object(top) = &value else {
            return Err(corrupt("not a JSON object"));
        };
        let unsupported = |found| {
            EnvelopeError::State(StateError {
                path: path.to_path_buf(),
                kind: StateErrorKind::UnsupportedSchema {
                    found,
                    expected: SLOTS_VERSION,
                },
            })
        };
        match top.get("version") {
            Some(Value::Number(Number::U64(v))) if *v == u64::from(SLOTS_VERSION) => {}
            Some(Value::Number(Number::U64(v))) => return Err(unsupported(*v)),
            _ => return Err(corrupt("no version number")),
        }
        match top.get("schema") {
            None => {}
            Some(Value::Number(Number::U64(v))) if *v == u64::from(SLOTS_VERSION) => {}
            Some(Value::Number(Number::U64(v))) => return Err(unsupported(*v)),
            Some(_) => return Err(corrupt("schema is not a number")),
        }
        let Some(Value::Array(items)) = top.get("slots") else {
            return Err(corrupt("no slots array"));
        };
        if items.len() > MAX_SLOTS {
            return Err(corrupt("more than 16 slots"));
        }
        let mut slots = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let cx = SlotCx {
                path,
                slot: index,
                obj: match item {
                    Value::Object(o) => o,
                    _ => return Err(bad_slot(path, index, "not a JSON object")),
                },
            };
            slots.push(cx.parse()?);
        }
        if !slots.iter().any(|s| matches!(s, Slot::Passphrase(_))) {
            return Err(corrupt("no passphrase slot"));
        }
        Ok(SlotTable { slots })
    }
}

fn bad_slot(path: &Path, slot: usize, why: &'static str) -> EnvelopeError {
    EnvelopeError::BadSlot {
        path: path.to_path_buf(),
        slot,
        why,
    }
}

/// One slot being parsed, for errors that name the file and the slot.
struct SlotCx<'a> {
    path: &'a Path,
    slot: usize,
    obj: &'a Object,
}

impl SlotCx<'_> {
    fn bad(&self, why: &'static str) -> EnvelopeError {
        bad_slot(self.path, self.slot, why)
    }

    fn parse(&self) -> Result<Slot, EnvelopeError> {
        let ty = match self.obj.get("type") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(self.bad("no type")),
        };
        match ty {
            "passphrase" => self.passphrase(),
            "auto_unlock" => Ok(Slot::AutoUnlock),
            "totp" => self.totp(),
            "fido2" => self.fido2(),
            other => Err(EnvelopeError::UnknownSlotType {
                path: self.path.to_path_buf(),
                slot: self.slot,
                slot_type: other.chars().take(40).collect(),
            }),
        }
    }

    fn passphrase(&self) -> Result<Slot, EnvelopeError> {
        let Some(Value::Object(kdf)) = self.obj.get("kdf") else {
            return Err(self.bad("no kdf object"));
        };
        if !matches!(kdf.get("algorithm"), Some(Value::String(a)) if a == "argon2id") {
            return Err(self.bad("kdf.algorithm is not argon2id"));
        }
        if !matches!(
            kdf.get("version"),
            Some(Value::Number(Number::U64(ARGON2_VERSION)))
        ) {
            return Err(self.bad("kdf.version is not 19"));
        }
        let field = |name, why| match kdf.get(name) {
            Some(Value::Number(Number::U64(n))) => u32::try_from(*n).map_err(|_| self.bad(why)),
            _ => Err(self.bad(why)),
        };
        let params = KdfParams {
            m_cost_kib: field("m_cost_kib", "kdf.m_cost_kib missing or too large")?,
            t_cost: field("t_cost", "kdf.t_cost missing or too large")?,
            p_cost: field("p_cost", "kdf.p_cost missing or too large")?,
        };
        if params.validate().is_err() {
            return Err(self.bad("kdf parameters out of bounds"));
        }
        let (wrapped, w) = self.wrapped()?;
        let salt = self.b64(w, "salt", "wrapped_master_key.salt missing or not base64")?;
        if !SALT_LEN.contains(&salt.len()) {
            return Err(self.bad("wrapped_master_key.salt is not 8 to 64 bytes"));
        }
        Ok(Slot::Passphrase(PassphraseSlot {
            params,
            salt,
            wrapped,
        }))
    }

    fn totp(&self) -> Result<Slot, EnvelopeError> {
        let secret = match self.obj.get("shared_secret_hex") {
            Some(Value::String(s)) => hex_decode(s).map(Secret::new),
            _ => None,
        }
        .ok_or_else(|| self.bad("shared_secret_hex missing or not hex"))?;
        if !(MIN_TOTP_SECRET..=MAX_TOTP_SECRET).contains(&secret.expose().len()) {
            return Err(self.bad("shared_secret_hex is not 16 to 64 bytes"));
        }
        let (wrapped, _) = self.wrapped()?;
        Ok(Slot::Totp(TotpSlot { secret, wrapped }))
    }

    fn fido2(&self) -> Result<Slot, EnvelopeError> {
        let credential_id = self.b64(
            self.obj,
            "credential_id",
            "credential_id missing or not base64",
        )?;
        if credential_id.is_empty() || credential_id.len() > 1023 {
            return Err(self.bad("credential_id is not 1 to 1023 bytes"));
        }
        let rp_id = match self.obj.get("rp_id") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 253 => s.clone(),
            _ => return Err(self.bad("rp_id missing or not 1 to 253 bytes")),
        };
        let hmac_secret_salt = self.b64(
            self.obj,
            "hmac_secret_salt",
            "hmac_secret_salt missing or not base64",
        )?;
        if hmac_secret_salt.len() != 32 {
            return Err(self.bad("hmac_secret_salt is not 32 bytes"));
        }
        let (wrapped, _) = self.wrapped()?;
        Ok(Slot::Fido2(Fido2Slot {
            credential_id,
            rp_id,
            hmac_secret_salt,
            wrapped,
        }))
    }

    fn b64(&self, obj: &Object, name: &str, why: &'static str) -> Result<Vec<u8>, EnvelopeError> {
        match obj.get(name) {
            Some(Value::String(s)) => b64_decode(s).ok_or_else(|| self.bad(why)),
            _ => Err(self.bad(why)),
        }
    }

    /// The `wrapped_master_key` object, decoded, and the object itself for extra fields.
    fn wrapped(&self) -> Result<(Sealed, &Object), EnvelopeError> {
        let Some(Value::Object(w)) = self.obj.get("wrapped_master_key") else {
            return Err(self.bad("no wrapped_master_key object"));
        };
        let ciphertext = self.b64(
            w,
            "ciphertext",
            "wrapped_master_key.ciphertext missing or not base64",
        )?;
        if ciphertext.len() != WRAPPED_LEN {
            return Err(self.bad("wrapped_master_key.ciphertext is not 48 bytes"));
        }
        let nonce = self.b64(w, "nonce", "wrapped_master_key.nonce missing or not base64")?;
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| self.bad("wrapped_master_key.nonce is not 12 bytes"))?;
        Ok((Sealed { nonce, ciphertext }, w))
    }
}
