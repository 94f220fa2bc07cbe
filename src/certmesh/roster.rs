//! The roster (spec §9): the CA's source of truth, with every design-time field of §9.2 from
//! day one, signed by the CA.
//!
//! The signature covers the JSON encoding of the roster with `signature` empty; miniserde
//! writes struct fields in declaration order, so the encoding is canonical. A roster whose
//! signature does not verify against the CA cert is refused by name, never used.
//! Owns the schema and signing; never decides policy.

use super::ca::{verify_signature, Ca};
use crate::base::hex;
use crate::state::{read_bounded, write_atomic, Secrecy, StateError};
use miniserde::{json, Deserialize, Serialize};
use std::path::Path;

/// Schema number of `roster.json`.
pub const ROSTER_SCHEMA: u32 = 1;

/// Mesh-wide settings.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Metadata {
    /// ISO time the CA was created.
    pub created: String,
    /// `personal`, `team` or `organization`.
    pub trust_profile: String,
    /// Operator attribution (not authentication).
    pub operator: Option<String>,
    /// `--domain`.
    pub domain_scope: Option<String>,
    /// `--subnet`.
    pub subnet_scope: Option<String>,
    /// The local zone (default `lan`).
    pub zone: String,
    /// `--permit-domain` values written into the root's name constraints.
    pub permit_domains: Vec<String>,
    /// Whether joins wait for `approve`.
    pub approval_required: bool,
    /// Hex SHA-256 of the TOTP secret, for rotation detection.
    pub totp_secret_hash: String,
    /// ISO time of the last TOTP secret change.
    pub totp_rotated_at: String,
    /// `open` or `closed`.
    pub enrollment_state: String,
    /// ISO time an open window closes by itself, or null for no deadline.
    pub enrollment_closes_at: Option<String>,
    /// The same deadline in Unix seconds (what the code compares).
    pub enrollment_closes_unix: Option<u64>,
    /// The last TOTP step accepted, so a code stays used across agent restarts.
    pub totp_last_step: Option<u64>,
    /// ISO time of the last window opening, for the compliance summary.
    pub enrollment_last_opened: Option<String>,
    /// Hex SHA-256 of the root DER.
    pub ca_fingerprint: String,
}

/// One enrolled machine.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Member {
    /// Host name.
    pub hostname: String,
    /// `primary`, `standby` or `member`.
    pub role: String,
    /// ISO enrollment time.
    pub enrolled_at: String,
    /// Operator at the time of enrollment.
    pub enrolled_by: Option<String>,
    /// Hex SHA-256 of the member's current cert.
    pub cert_fingerprint: String,
    /// ISO expiry of the current cert.
    pub cert_expires: String,
    /// Expiry in Unix seconds.
    pub cert_expires_unix: u64,
    /// SANs of the current cert.
    pub cert_sans: Vec<String>,
    /// Where the member keeps its cert files.
    pub cert_path: String,
    /// CA fingerprint the member pinned.
    pub pinned_ca_fingerprint: String,
    /// ISO time the CA last heard from it.
    pub last_seen: Option<String>,
    /// `active` or `revoked`.
    pub status: String,
    /// Post-renewal command (set-hook, later).
    pub reload_hook: Option<String>,
}

/// A revoked host: never issued or renewed again.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Revocation {
    /// Host name.
    pub hostname: String,
    /// ISO time.
    pub revoked_at: String,
    /// Operator.
    pub revoked_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// A proxy entry (used by the proxy capability later).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProxyEntry {
    /// Name.
    pub name: String,
    /// Port the proxy listens on.
    pub listen_port: u16,
    /// Backend URL.
    pub backend: String,
    /// Whether the backend is on another machine.
    pub backend_remote: bool,
    /// `auto` uses the hostname cert.
    pub cert_source: String,
}

/// The signed roster file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Roster {
    /// Schema number.
    pub schema: u32,
    /// Mesh settings.
    pub metadata: Metadata,
    /// Members.
    pub members: Vec<Member>,
    /// Revoked hosts.
    pub revocation_list: Vec<Revocation>,
    /// Proxy entries.
    pub proxy_entries: Vec<ProxyEntry>,
    /// Hex CA signature over the roster with this field empty.
    pub signature: String,
}

impl Roster {
    /// An empty roster for `metadata`.
    pub fn new(metadata: Metadata) -> Roster {
        Roster {
            schema: ROSTER_SCHEMA,
            metadata,
            members: Vec::new(),
            revocation_list: Vec::new(),
            proxy_entries: Vec::new(),
            signature: String::new(),
        }
    }

    fn signed_bytes(&self) -> Vec<u8> {
        let mut copy = self.clone();
        copy.signature.clear();
        json::to_string(&copy).into_bytes()
    }

    /// Signs the roster with the CA.
    pub fn sign(&mut self, ca: &Ca) -> Result<(), String> {
        self.signature = hex(&ca.sign(&self.signed_bytes())?);
        Ok(())
    }

    /// True if the signature verifies with the CA cert.
    pub fn verify(&self, ca_der: &[u8]) -> bool {
        let Some(sig) = unhex(&self.signature) else {
            return false;
        };
        verify_signature(ca_der, &self.signed_bytes(), &sig)
    }

    /// Signs and writes atomically.
    pub fn save(&mut self, path: &Path, ca: &Ca) -> Result<(), String> {
        self.sign(ca)?;
        let mut text = json::to_string(&*self);
        text.push('\n');
        write_atomic(path, text.as_bytes(), Secrecy::Public).map_err(|e| e.to_string())
    }

    /// Reads and verifies against the CA cert.
    pub fn load(path: &Path, ca_der: &[u8]) -> Result<Roster, String> {
        let r = Self::load_unverified(path)?;
        if !r.verify(ca_der) {
            return Err(format!(
                "{}: the CA signature does not verify (edited or not this CA's roster)",
                path.display()
            ));
        }
        Ok(r)
    }

    /// Reads without checking the signature (for `status` when no CA cert is at hand).
    pub fn load_unverified(path: &Path) -> Result<Roster, String> {
        let bytes = read_bounded(path, 16 * 1024 * 1024).map_err(|e: StateError| e.to_string())?;
        let text =
            std::str::from_utf8(&bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        let r: Roster = json::from_str(text)
            .map_err(|_| format!("{}: not a koi roster (bad JSON or fields)", path.display()))?;
        if r.schema != ROSTER_SCHEMA {
            return Err(format!(
                "{}: roster schema {} is not {ROSTER_SCHEMA}; written by another koi version",
                path.display(),
                r.schema
            ));
        }
        Ok(r)
    }

    /// The active member named `host`.
    pub fn member(&self, host: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.hostname.eq_ignore_ascii_case(host))
    }

    /// True if `host` is on the revocation list.
    pub fn is_revoked(&self, host: &str) -> bool {
        self.revocation_list
            .iter()
            .any(|r| r.hostname.eq_ignore_ascii_case(host))
    }
}

/// Decodes lowercase/uppercase hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests_support {
    use crate::base::OsRandom;
    use crate::certmesh::ca::{create_root, keygen, scope::Scope, Ca};

    /// A fresh CA for tests.
    pub(crate) fn test_ca() -> Ca {
        let key = keygen::generate_p256(b"", &mut OsRandom).unwrap();
        let scope = Scope {
            zone: "lan".into(),
            domain: None,
            subnet: None,
            permit_domains: vec![],
        };
        let der = create_root(&scope, "t", &key, 1_700_000_000, &mut OsRandom).unwrap();
        Ca::load(&der, &key).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::test_ca;
    use super::*;

    fn meta() -> Metadata {
        Metadata {
            created: "2026-01-01T00:00:00Z".into(),
            trust_profile: "team".into(),
            operator: Some("Maria".into()),
            domain_scope: None,
            subnet_scope: None,
            zone: "lan".into(),
            permit_domains: vec![],
            approval_required: true,
            totp_secret_hash: "00".into(),
            totp_rotated_at: "2026-01-01T00:00:00Z".into(),
            enrollment_state: "open".into(),
            enrollment_closes_at: None,
            enrollment_closes_unix: None,
            totp_last_step: None,
            enrollment_last_opened: None,
            ca_fingerprint: "ab".into(),
        }
    }

    #[test]
    fn signed_roster_round_trips_and_edits_are_refused() {
        let ca = test_ca();
        let dir = std::env::temp_dir().join(format!("koi-roster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("roster.json");
        let mut r = Roster::new(meta());
        r.revocation_list.push(Revocation {
            hostname: "old".into(),
            revoked_at: "x".into(),
            revoked_by: None,
            reason: Some("gone".into()),
        });
        r.save(&path, &ca).unwrap();
        let back = Roster::load(&path, ca.cert_der()).unwrap();
        assert_eq!(back, r);
        assert!(back.is_revoked("OLD"));
        let text = std::fs::read_to_string(&path).unwrap();
        for field in [
            "trust_profile",
            "operator",
            "domain_scope",
            "subnet_scope",
            "enrollment_state",
            "enrollment_closes_at",
            "totp_rotated_at",
            "proxy_entries",
            "totp_secret_hash",
        ] {
            assert!(text.contains(field), "{field}");
        }
        std::fs::write(&path, text.replace("\"team\"", "\"personal\"")).unwrap();
        assert!(Roster::load(&path, ca.cert_der())
            .unwrap_err()
            .contains("signature"));
        std::fs::write(&path, "{").unwrap();
        assert!(Roster::load(&path, ca.cert_der()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
