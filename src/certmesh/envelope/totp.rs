//! The TOTP slot's key derivation and the HMAC-SHA-1 that `koi_wire::totp` needs.
//!
//! The KEK is HKDF-SHA256 of the TOTP shared secret with a fixed salt and info. The secret is
//! stored in the slot (as the spec's table shows), because the agent must check codes against
//! it: so a TOTP slot gates unlocking on a person holding the authenticator, and protects
//! against nobody who can read `unlock-slots.json` (which is why that file is 0600).

use super::seal::{Key, KEY_LEN};
use super::EnvelopeError;
use ring::hkdf;

/// Shortest TOTP shared secret accepted (RFC 4226 §4: at least 128 bits).
pub const MIN_TOTP_SECRET: usize = 16;
/// Longest TOTP shared secret accepted.
pub const MAX_TOTP_SECRET: usize = 64;

const HKDF_SALT: &[u8] = b"koi totp slot v1";
const HKDF_INFO: &[u8] = b"koi slot totp kek v1";

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        KEY_LEN
    }
}

/// Derives the TOTP slot's key-encryption key from the shared secret.
pub(super) fn derive_kek(secret: &[u8]) -> Result<Key, EnvelopeError> {
    if !(MIN_TOTP_SECRET..=MAX_TOTP_SECRET).contains(&secret.len()) {
        return Err(EnvelopeError::InvalidInput(
            "a TOTP shared secret is 16 to 64 bytes",
        ));
    }
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(secret);
    let info = [HKDF_INFO];
    let okm = prk
        .expand(&info, KeyLen)
        .map_err(|_| EnvelopeError::Crypto("HKDF refused the output length"))?;
    let mut kek = Key::zero();
    okm.fill(kek.bytes_mut())
        .map_err(|_| EnvelopeError::Crypto("HKDF refused the output length"))?;
    Ok(kek)
}

/// HMAC-SHA-1 from `ring`, for [`koi_wire::totp`]. Infallible for any key length.
#[derive(Debug, Clone, Copy, Default)]
pub struct RingHmacSha1;

impl koi_wire::totp::HmacSha1 for RingHmacSha1 {
    fn mac(&self, key: &[u8], msg: &[u8]) -> [u8; 20] {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
        let tag = ring::hmac::sign(&key, msg);
        let mut out = [0u8; 20];
        for (o, b) in out.iter_mut().zip(tag.as_ref()) {
            *o = *b;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use koi_wire::totp::{format_code, hotp};

    #[test]
    fn ring_hmac_passes_the_rfc4226_vectors() {
        let want = [755224, 287082, 359152];
        for (c, w) in want.into_iter().enumerate() {
            assert_eq!(hotp(&RingHmacSha1, b"12345678901234567890", c as u64), w);
        }
        assert_eq!(
            format_code(hotp(&RingHmacSha1, b"12345678901234567890", 0)),
            "755224"
        );
    }

    #[test]
    fn kek_depends_on_the_secret_and_refuses_short_ones() {
        let a = derive_kek(&[1; 20]).unwrap();
        let b = derive_kek(&[2; 20]).unwrap();
        assert_ne!(a.bytes(), b.bytes());
        assert_eq!(derive_kek(&[1; 20]).unwrap().bytes(), a.bytes());
        assert!(derive_kek(&[1; 15]).is_err());
        assert!(derive_kek(&[1; 65]).is_err());
    }
}
