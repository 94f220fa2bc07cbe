//! The exact steps to install or remove a root CA in each store, as data.

use crate::Store;
use std::path::PathBuf;

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Copy the CA's PEM to this path (mode 0644).
    WriteFile(PathBuf),
    /// Remove this file if it exists.
    RemoveFile(PathBuf),
    /// Run this program with these arguments.
    Run(Vec<String>),
}

/// Steps that together install or uninstall one CA in one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The store.
    pub store: Store,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

fn run(args: &[&str]) -> Step {
    Step::Run(args.iter().map(|s| s.to_string()).collect())
}

/// File name used for the CA in file-based stores, e.g. `koi-<fingerprint prefix>.crt`.
fn file_name(label: &str) -> String {
    format!("{label}.crt")
}

/// How to install the CA at `pem` (a file path) labelled `label` into `store`.
pub fn install_plan(store: &Store, pem: &str, label: &str) -> Plan {
    let steps = match store {
        Store::DebianCaCertificates | Store::Alpine => vec![
            Step::WriteFile(
                PathBuf::from("/usr/local/share/ca-certificates").join(file_name(label)),
            ),
            run(&["update-ca-certificates"]),
        ],
        Store::FedoraCaTrust => vec![
            Step::WriteFile(
                PathBuf::from("/etc/pki/ca-trust/source/anchors").join(file_name(label)),
            ),
            run(&["update-ca-trust", "extract"]),
        ],
        Store::ArchTrust => vec![run(&["trust", "anchor", "--store", pem])],
        Store::Nss(db) => {
            let db = format!("sql:{}", db.display());
            vec![run(&[
                "certutil", "-A", "-d", &db, "-t", "C,,", "-n", label, "-i", pem,
            ])]
        }
        Store::MacosKeychain => vec![run(&[
            "security",
            "add-trusted-cert",
            "-d",
            "-r",
            "trustRoot",
            "-k",
            "/Library/Keychains/System.keychain",
            pem,
        ])],
        Store::WindowsRoot => vec![run(&["certutil", "-addstore", "-f", "Root", pem])],
    };
    Plan {
        store: store.clone(),
        steps,
    }
}

/// How to remove exactly what [`install_plan`] added. `sha1_hex` is the CA's SHA-1
/// fingerprint, which Windows uses to name certificates.
pub fn uninstall_plan(store: &Store, pem: &str, label: &str, sha1_hex: &str) -> Plan {
    let steps = match store {
        Store::DebianCaCertificates | Store::Alpine => vec![
            Step::RemoveFile(
                PathBuf::from("/usr/local/share/ca-certificates").join(file_name(label)),
            ),
            run(&["update-ca-certificates", "--fresh"]),
        ],
        Store::FedoraCaTrust => vec![
            Step::RemoveFile(
                PathBuf::from("/etc/pki/ca-trust/source/anchors").join(file_name(label)),
            ),
            run(&["update-ca-trust", "extract"]),
        ],
        Store::ArchTrust => vec![run(&["trust", "anchor", "--remove", pem])],
        Store::Nss(db) => {
            let db = format!("sql:{}", db.display());
            vec![run(&["certutil", "-D", "-d", &db, "-n", label])]
        }
        Store::MacosKeychain => vec![run(&["security", "remove-trusted-cert", "-d", pem])],
        Store::WindowsRoot => vec![run(&["certutil", "-delstore", "Root", sha1_hex])],
    };
    Plan {
        store: store.clone(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "/var/lib/koi/certs/ca.pem";

    #[test]
    fn debian_copies_then_updates_and_uninstall_removes_the_same_file() {
        let i = install_plan(&Store::DebianCaCertificates, PEM, "koi-ab12");
        let u = uninstall_plan(&Store::DebianCaCertificates, PEM, "koi-ab12", "");
        let path = PathBuf::from("/usr/local/share/ca-certificates/koi-ab12.crt");
        assert_eq!(i.steps[0], Step::WriteFile(path.clone()));
        assert_eq!(i.steps[1], run(&["update-ca-certificates"]));
        assert_eq!(u.steps[0], Step::RemoveFile(path));
    }

    #[test]
    fn nss_uses_certutil_with_a_ca_trust_flag_and_the_same_nickname() {
        let db = PathBuf::from("/home/u/.pki/nssdb");
        let i = install_plan(&Store::Nss(db.clone()), PEM, "koi-ab12");
        assert_eq!(
            i.steps,
            vec![run(&[
                "certutil",
                "-A",
                "-d",
                "sql:/home/u/.pki/nssdb",
                "-t",
                "C,,",
                "-n",
                "koi-ab12",
                "-i",
                PEM
            ])]
        );
        let u = uninstall_plan(&Store::Nss(db), PEM, "koi-ab12", "");
        assert_eq!(
            u.steps,
            vec![run(&[
                "certutil",
                "-D",
                "-d",
                "sql:/home/u/.pki/nssdb",
                "-n",
                "koi-ab12"
            ])]
        );
    }

    #[test]
    fn macos_and_windows_build_their_native_commands() {
        let mac = install_plan(&Store::MacosKeychain, PEM, "koi");
        assert_eq!(
            mac.steps,
            vec![run(&[
                "security",
                "add-trusted-cert",
                "-d",
                "-r",
                "trustRoot",
                "-k",
                "/Library/Keychains/System.keychain",
                PEM
            ])]
        );
        let win = install_plan(&Store::WindowsRoot, PEM, "koi");
        assert_eq!(
            win.steps,
            vec![run(&["certutil", "-addstore", "-f", "Root", PEM])]
        );
        let win_u = uninstall_plan(&Store::WindowsRoot, PEM, "koi", "0a1b");
        assert_eq!(
            win_u.steps,
            vec![run(&["certutil", "-delstore", "Root", "0a1b"])]
        );
    }

    #[test]
    fn fedora_and_arch_use_their_tools() {
        let f = install_plan(&Store::FedoraCaTrust, PEM, "koi");
        assert_eq!(f.steps[1], run(&["update-ca-trust", "extract"]));
        let a = install_plan(&Store::ArchTrust, PEM, "koi");
        assert_eq!(a.steps, vec![run(&["trust", "anchor", "--store", PEM])]);
    }
}
