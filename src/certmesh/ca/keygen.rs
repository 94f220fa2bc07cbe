//! ECDSA P-256 key generation that mixes operator entropy into the OS RNG, never replacing it.
//!
//! ring's `SecureRandom` is sealed, so the mix goes through ring's fixed-output source: the
//! 32-byte scalar candidate is SHA-256(`"koi keygen v1"` ‖ 32 OS bytes ‖ counter ‖ operator
//! bytes). With empty operator bytes it is a hash of the OS bytes alone, so the key is never
//! weaker than the OS RNG. The signing nonces of later signatures come from ring's own RNG.
//! Never stores or logs key bytes.

use crate::base::{RandomSource, Secret};
use ring::digest::{Context, SHA256};
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

/// Generates a P-256 key as PKCS#8 DER from 32 bytes of `rng` mixed with `extra_entropy`.
pub fn generate_p256(extra_entropy: &[u8], rng: &mut dyn RandomSource) -> Result<Secret, String> {
    let mut buf = vec![0u8; 32];
    let filled = rng.fill(&mut buf);
    let os = Secret::new(buf);
    filled.map_err(|e| format!("the OS random generator failed: {e}"))?;
    // A scalar candidate ≥ the group order is vanishingly rare; retry with a new counter.
    for counter in 0u32..8 {
        let mut ctx = Context::new(&SHA256);
        ctx.update(b"koi keygen v1");
        ctx.update(os.expose());
        ctx.update(&counter.to_be_bytes());
        ctx.update(extra_entropy);
        let seed = ctx.finish();
        #[allow(deprecated)]
        let fixed = ring::test::rand::FixedSliceRandom {
            bytes: seed.as_ref(),
        };
        if let Ok(doc) = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &fixed) {
            return Ok(Secret::new(doc.as_ref().to_vec()));
        }
    }
    Err("could not generate a P-256 key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl RandomSource for Fixed {
        fn fill(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
            buf.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn operator_entropy_changes_the_key_and_os_bytes_still_count() {
        let a = generate_p256(b"", &mut Fixed(1)).unwrap();
        let b = generate_p256(b"mash", &mut Fixed(1)).unwrap();
        let c = generate_p256(b"mash", &mut Fixed(2)).unwrap();
        let a2 = generate_p256(b"", &mut Fixed(1)).unwrap();
        assert_ne!(a.expose(), b.expose(), "operator entropy is mixed in");
        assert_ne!(b.expose(), c.expose(), "the OS bytes are never replaced");
        assert_eq!(a.expose(), a2.expose(), "deterministic in its inputs");
        assert!(rcgen::KeyPair::try_from(a.expose()).is_ok());
        let real = generate_p256(b"", &mut crate::base::OsRandom).unwrap();
        assert_ne!(real.expose(), a.expose());
    }
}
