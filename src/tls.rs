//! The one rustls crypto provider every koi TLS endpoint uses (the certmesh API, health's HTTPS
//! checks, and later the proxy): ring, trimmed to what a LAN needs, because every algorithm
//! kept here is code in a binary that must fit small routers.
//!
//! Kept: the AES-GCM and ChaCha20-Poly1305 suites of TLS 1.3, and TLS 1.2 with ECDHE (health
//! checks meet old appliances); ChaCha20 stays for CPUs without AES instructions (Raspberry
//! Pi 4, Bay Trail Celerons). Key exchange over P-256 and P-384 only: TLS 1.3 requires every
//! peer to support P-256 (RFC 8446 §9.1), so leaving out X25519 costs at most one
//! HelloRetryRequest round trip with a peer that guessed X25519, and saves its code and its
//! 24 KiB table. Our own keys are ECDSA (certmesh issues only P-256), so only ECDSA private
//! keys load; peers' RSA, ECDSA and Ed25519 signatures all still verify.
//!
//! Never builds configs (each endpoint owns its own roots and verifiers).

use crate::base::{OsRandom, RandomSource};
use rustls::crypto::ring::{cipher_suite as cs, kx_group, sign};
use rustls::crypto::{
    CryptoProvider, GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms,
};
use rustls::pki_types::PrivateKeyDer;
use rustls::SignatureScheme as Scheme;
use std::sync::Arc;
use webpki::ring as alg;

/// Loads ECDSA private keys only.
#[derive(Debug)]
struct EcdsaKeys;

impl KeyProvider for EcdsaKeys {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        sign::any_ecdsa_type(&key_der)
    }
}

/// The OS random generator (getrandom), as rustls wants it.
#[derive(Debug)]
struct OsRng;

impl SecureRandom for OsRng {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        OsRandom.fill(buf).map_err(|_| GetRandomFailed)
    }
}

/// Every signature webpki can verify with ring, so any peer's chain and handshake verify
/// (the same table rustls's ring provider uses; written out so that provider, with its
/// X25519 and RSA-signing code, is never referenced).
static VERIFY: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        alg::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    ],
    mapping: &[
        // TLS 1.2 does not tie an ECDSA scheme to a curve; TLS 1.3 does.
        (
            Scheme::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (
            Scheme::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (Scheme::ED25519, &[alg::ED25519]),
        (
            Scheme::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            Scheme::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            Scheme::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (Scheme::RSA_PKCS1_SHA512, &[alg::RSA_PKCS1_2048_8192_SHA512]),
        (Scheme::RSA_PKCS1_SHA384, &[alg::RSA_PKCS1_2048_8192_SHA384]),
        (Scheme::RSA_PKCS1_SHA256, &[alg::RSA_PKCS1_2048_8192_SHA256]),
    ],
};

/// koi's provider; see the module docs for what it keeps and why.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS13_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        kx_groups: vec![kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: VERIFY,
        secure_random: &OsRng,
        key_provider: &EcdsaKeys,
    })
}

#[cfg(all(test, feature = "certmesh"))]
mod tests {
    use super::*;

    #[test]
    fn only_ecdsa_keys_load_and_x25519_is_not_offered() {
        let p = provider();
        assert!(p
            .kx_groups
            .iter()
            .all(|g| g.name() != rustls::NamedGroup::X25519));
        let ecdsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let der = PrivateKeyDer::Pkcs8(ecdsa.serialize_der().into());
        assert!(p.key_provider.load_private_key(der).is_ok());
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let der = PrivateKeyDer::Pkcs8(ed.serialize_der().into());
        assert!(p.key_provider.load_private_key(der).is_err());
    }
}
