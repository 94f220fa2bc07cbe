//! P-256 keys as rcgen signers, on ring directly. rcgen's own `KeyPair` parses and signs with
//! every algorithm it knows (RSA, Ed25519, P-384), and all of that code would be linked; koi
//! only ever holds ECDSA P-256 keys, so only that code is.
//!
//! Owns: loading a PKCS#8 P-256 key and signing with it. Never logs, prints or stores key
//! bytes (the PKCS#8 stays in the caller's `Secret`).

use crate::base::Secret;
use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};

/// A P-256 private key that signs with ECDSA SHA-256 (ASN.1 signatures).
pub struct P256Signer {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for P256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P256Signer([redacted])")
    }
}

impl P256Signer {
    /// Loads a PKCS#8 P-256 key; any other key is an error.
    pub fn from_pkcs8(pkcs8: &Secret) -> Result<P256Signer, String> {
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.expose(),
            &SystemRandom::new(),
        )
        .map(|pair| P256Signer { pair })
        .map_err(|_| "not a PKCS#8 ECDSA P-256 key".to_string())
    }
}

impl PublicKeyData for P256Signer {
    fn der_bytes(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for P256Signer {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| rcgen::Error::RingUnspecified)
    }
}
