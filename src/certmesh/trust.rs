//! Running `vendor-certs` plans for real on Linux (Debian's `update-ca-certificates` and NSS
//! databases through `certutil`), and checking which stores trust the CA.
//! Only stores whose uninstall plan removes exactly what was added are touched; macOS and
//! Windows plans are built and tested in `vendor-certs` but never run here.

use std::path::Path;
use std::process::{Command, Stdio};
use vendor_certs::{detect, install_plan, Plan, Step, Store};

/// The label koi gives its CA in every store: `koi-<first 16 hex of the fingerprint>`.
pub fn label(fingerprint: &str) -> String {
    format!("koi-{}", fingerprint.get(..16).unwrap_or(fingerprint))
}

fn home() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(Into::into)
}

fn runnable(store: &Store) -> bool {
    matches!(store, Store::DebianCaCertificates | Store::Nss(_))
}

fn execute(plan: &Plan, pem_path: &Path) -> Result<(), String> {
    for step in &plan.steps {
        match step {
            Step::WriteFile(dest) => {
                if let Some(dir) = dest.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::copy(pem_path, dest).map_err(|e| format!("{}: {e}", dest.display()))?;
            }
            Step::RemoveFile(p) => match std::fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", p.display())),
            },
            Step::Run(args) => {
                let (prog, rest) = args.split_first().ok_or("empty command")?;
                let out = Command::new(prog)
                    .args(rest)
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| format!("{prog}: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "{prog} failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Installs the CA at `pem_path` in every store this machine has and koi can restore;
/// returns each store's name and outcome.
pub fn install(pem_path: &Path, fingerprint: &str) -> Vec<(String, Result<(), String>)> {
    install_into(
        detect(Path::new("/"), home().as_deref()),
        pem_path,
        fingerprint,
    )
}

/// [`install`] into the given stores (those koi can restore).
pub fn install_into(
    stores: Vec<Store>,
    pem_path: &Path,
    fingerprint: &str,
) -> Vec<(String, Result<(), String>)> {
    let label = label(fingerprint);
    let pem = pem_path.display().to_string();
    stores
        .into_iter()
        .filter(runnable)
        .map(|store| {
            let plan = install_plan(&store, &pem, &label);
            (store.name(), execute(&plan, pem_path))
        })
        .collect()
}

/// The stores that hold this CA now.
pub fn trusted_in(fingerprint: &str) -> Vec<String> {
    trusted_among(detect(Path::new("/"), home().as_deref()), fingerprint)
}

/// [`trusted_in`] among the given stores.
pub fn trusted_among(stores: Vec<Store>, fingerprint: &str) -> Vec<String> {
    let label = label(fingerprint);
    let mut out = Vec::new();
    for store in stores {
        let yes = match &store {
            Store::DebianCaCertificates | Store::Alpine => {
                Path::new("/usr/local/share/ca-certificates")
                    .join(format!("{label}.crt"))
                    .exists()
            }
            Store::Nss(db) => Command::new("certutil")
                .args(["-L", "-d", &format!("sql:{}", db.display()), "-n", &label])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
            _ => false,
        };
        if yes {
            out.push(store.name());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nss_database_install_is_real_and_checkable() {
        if Command::new("certutil")
            .arg("-H")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!("skipped: certutil missing (libnss3-tools)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("koi-nss-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = dir.join("nssdb");
        std::fs::create_dir_all(&db).unwrap();
        let dbarg = format!("sql:{}", db.display());
        let st = Command::new("certutil")
            .args(["-d", &dbarg, "-N", "--empty-password"])
            .status()
            .unwrap();
        assert!(st.success());
        let ca = crate::certmesh::roster::tests_support::test_ca();
        let pem = dir.join("ca.pem");
        std::fs::write(&pem, crate::certmesh::ca::cert_pem(ca.cert_der())).unwrap();
        let fp = ca.fingerprint();
        let store = Store::Nss(db.clone());
        assert!(trusted_among(vec![store.clone()], &fp).is_empty());
        let r = install_into(vec![store.clone(), Store::MacosKeychain], &pem, &fp);
        assert_eq!(r.len(), 1, "only restorable Linux stores are run: {r:?}");
        assert!(r[0].1.is_ok(), "{r:?}");
        assert_eq!(trusted_among(vec![store.clone()], &fp), [store.name()]);
        let plan =
            vendor_certs::uninstall_plan(&store, &pem.display().to_string(), &label(&fp), "");
        execute(&plan, &pem).unwrap();
        assert!(
            trusted_among(vec![store], &fp).is_empty(),
            "uninstall removes exactly it"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
