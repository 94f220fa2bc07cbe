//! Where certmesh keeps things, and the member's cert files.
//!
//! `<state>/certmesh/ca/` holds the envelope (`ca-key.enc`, `unlock-slots.json`,
//! `ca-master.key`) and `ca-cert.pem`; `<state>/certmesh/` the roster, the audit log and, on a
//! member, `member.json` (the pinned CA). `<state>/certs/<host>/` is a symlink to a
//! directory holding `cert.pem`, `key.pem` (0600), `ca.pem` and `fullchain.pem`; a new set is
//! written beside it and the symlink is swapped with one `rename`, so readers see the old set
//! or the new one, never a mix.

use super::ca::{cert_pem, pem_encode};
use crate::base::Secret;
use crate::state::{read_versioned, write_atomic, write_versioned, Secrecy, StateDir, Versioned};
use miniserde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Paths of one state directory's certmesh files.
#[derive(Debug, Clone)]
pub struct MeshPaths {
    state: PathBuf,
}

impl MeshPaths {
    /// The certmesh paths under `state`.
    pub fn new(state: &StateDir) -> MeshPaths {
        MeshPaths {
            state: state.root().to_path_buf(),
        }
    }

    /// `<state>/certmesh`.
    pub fn root(&self) -> PathBuf {
        self.state.join("certmesh")
    }

    /// The envelope directory.
    pub fn ca_dir(&self) -> PathBuf {
        self.root().join("ca")
    }

    /// The root cert.
    pub fn ca_cert(&self) -> PathBuf {
        self.ca_dir().join("ca-cert.pem")
    }

    /// The signed roster.
    pub fn roster(&self) -> PathBuf {
        self.root().join("roster.json")
    }

    /// The member's pin file.
    pub fn member(&self) -> PathBuf {
        self.root().join("member.json")
    }

    /// `<state>/certs/<host>`.
    pub fn certs(&self, host: &str) -> PathBuf {
        self.state.join("certs").join(host)
    }

    /// True if this state directory holds a CA.
    pub fn has_ca(&self) -> bool {
        self.ca_cert().exists()
    }

    /// Reads the root cert's DER.
    pub fn read_ca_der(&self) -> Result<Vec<u8>, String> {
        let path = self.ca_cert();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (no CA here; run `koi certmesh create`)",
                path.display()
            )
        })?;
        super::ca::pem_decode(&text, "CERTIFICATE")
            .ok_or_else(|| format!("{}: not a PEM certificate", path.display()))
    }
}

/// What a member remembers about its CA (spec §4.8 pinning).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MemberInfo {
    /// Schema number.
    pub schema: u32,
    /// This machine's name in the mesh.
    pub hostname: String,
    /// The CA's API address.
    pub ca_addr: String,
    /// The pinned CA fingerprint.
    pub ca_fingerprint: String,
    /// Unix time of enrollment.
    pub enrolled_at: u64,
    /// Where the cert files are.
    pub cert_path: String,
    /// Leaf expiry, Unix seconds.
    pub cert_expires: u64,
    /// Trust stores the CA was installed in.
    pub trust_stores: Vec<String>,
}

impl Versioned for MemberInfo {
    const SCHEMA: u32 = 1;
}

/// Writes `member.json`.
pub fn save_member(paths: &MeshPaths, info: &MemberInfo) -> Result<(), String> {
    std::fs::create_dir_all(paths.root()).map_err(|e| e.to_string())?;
    write_versioned(&paths.member(), info, Secrecy::Public).map_err(|e| e.to_string())
}

/// Reads `member.json`.
pub fn load_member(paths: &MeshPaths) -> Result<MemberInfo, String> {
    read_versioned(&paths.member()).map_err(|e| e.to_string())
}

/// Writes the four cert files for `host` as one set and returns the `certs/<host>` path.
pub fn write_cert_set(
    paths: &MeshPaths,
    host: &str,
    leaf_der: &[u8],
    key_pkcs8: &Secret,
    ca_der: &[u8],
    stamp: u64,
) -> Result<PathBuf, String> {
    let link = paths.certs(host);
    let parent = link
        .parent()
        .ok_or_else(|| "bad cert path".to_string())?
        .to_path_buf();
    std::fs::create_dir_all(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let name = format!(".{host}.{stamp}.{}", std::process::id());
    let dir = parent.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let leaf = cert_pem(leaf_der);
    let ca = cert_pem(ca_der);
    let key = Secret::new(pem_encode("PRIVATE KEY", key_pkcs8.expose()).into_bytes());
    let io = |p: &Path, e: crate::state::StateError| format!("{}: {e}", p.display());
    write_atomic(&dir.join("cert.pem"), leaf.as_bytes(), Secrecy::Public)
        .map_err(|e| io(&dir, e))?;
    write_atomic(&dir.join("key.pem"), key.expose(), Secrecy::Secret).map_err(|e| io(&dir, e))?;
    write_atomic(&dir.join("ca.pem"), ca.as_bytes(), Secrecy::Public).map_err(|e| io(&dir, e))?;
    write_atomic(
        &dir.join("fullchain.pem"),
        format!("{leaf}{ca}").as_bytes(),
        Secrecy::Public,
    )
    .map_err(|e| io(&dir, e))?;
    let old = std::fs::read_link(&link).ok();
    let tmp = parent.join(format!(".{host}.link.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&name, &tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if link.is_dir() && std::fs::symlink_metadata(&link).is_ok_and(|m| !m.is_symlink()) {
        // A plain directory from elsewhere: move it aside rather than lose it.
        let aside = parent.join(format!(".{host}.replaced.{stamp}"));
        std::fs::rename(&link, &aside).map_err(|e| format!("{}: {e}", link.display()))?;
    }
    std::fs::rename(&tmp, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    if let Some(old) = old {
        if old != Path::new(&name) {
            let _ = std::fs::remove_dir_all(parent.join(old));
        }
    }
    Ok(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn cert_set_is_written_and_replaced_whole() {
        let root = std::env::temp_dir().join(format!("koi-certset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let paths = MeshPaths::new(&StateDir::new(root.clone()));
        let key = Secret::new(vec![1, 2, 3]);
        let dir = write_cert_set(&paths, "h", b"leaf1", &key, b"ca", 1).unwrap();
        let mode = std::fs::metadata(dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let first = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
        write_cert_set(&paths, "h", b"leaf2", &key, b"ca", 2).unwrap();
        let second = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
        assert_ne!(first, second);
        let full = std::fs::read_to_string(dir.join("fullchain.pem")).unwrap();
        assert!(full.starts_with(&second));
        let entries = std::fs::read_dir(root.join("certs")).unwrap().count();
        assert_eq!(entries, 2, "the link and one set; the old set is gone");
        let _ = std::fs::remove_dir_all(&root);
    }
}
