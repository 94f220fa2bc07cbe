//! Which stores this machine has, judged from files under a root directory (`/` in real use,
//! a temporary tree in tests).

use crate::Store;
use std::path::Path;

/// The stores present under `root`, given the user's `home` (relative to `root`).
pub fn detect(root: &Path, home: Option<&Path>) -> Vec<Store> {
    let has = |p: &str| root.join(p.trim_start_matches('/')).exists();
    let mut stores = Vec::new();
    if has("/etc/alpine-release") || has("/etc/openwrt_release") {
        stores.push(Store::Alpine);
    } else if has("/usr/sbin/update-ca-certificates") || has("/etc/debian_version") {
        stores.push(Store::DebianCaCertificates);
    }
    if has("/usr/bin/update-ca-trust") && has("/etc/pki/ca-trust/source/anchors") {
        stores.push(Store::FedoraCaTrust);
    }
    if has("/usr/bin/trust") && has("/etc/arch-release") {
        stores.push(Store::ArchTrust);
    }
    if let Some(home) = home {
        let home = root.join(home.strip_prefix("/").unwrap_or(home));
        let nssdb = home.join(".pki/nssdb");
        if nssdb.join("cert9.db").exists() {
            stores.push(Store::Nss(nssdb));
        }
        for profiles in [".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"] {
            stores.extend(firefox_profiles(&home.join(profiles)));
        }
    }
    if cfg!(target_os = "macos") {
        stores.push(Store::MacosKeychain);
    }
    if cfg!(windows) {
        stores.push(Store::WindowsRoot);
    }
    stores
}

fn firefox_profiles(dir: &Path) -> Vec<Store> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<Store> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("cert9.db").exists())
        .map(Store::Nss)
        .collect();
    found.sort_by_key(Store::name);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(files: &[&str]) -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("vendor-certs-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for f in files {
            let p = root.join(f.trim_start_matches('/'));
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).ok();
            }
            if f.ends_with('/') {
                fs::create_dir_all(&p).ok();
            } else {
                fs::write(&p, b"").ok();
            }
        }
        root
    }

    #[test]
    fn finds_debian_and_nss_and_firefox_profiles() {
        let root = tree(&[
            "/etc/debian_version",
            "/home/u/.pki/nssdb/cert9.db",
            "/home/u/.mozilla/firefox/abc.default/cert9.db",
            "/home/u/snap/firefox/common/.mozilla/firefox/x.default/cert9.db",
            "/home/u/.mozilla/firefox/empty/",
        ]);
        let names: Vec<String> = detect(&root, Some(Path::new("/home/u")))
            .iter()
            .map(Store::name)
            .collect();
        assert_eq!(names[0], "debian");
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names.iter().any(|n| n.ends_with(".pki/nssdb")));
        assert!(names.iter().any(|n| n.contains("snap/firefox")));
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn alpine_wins_over_the_debian_tool_and_fedora_needs_its_anchor_dir() {
        let root = tree(&[
            "/etc/alpine-release",
            "/usr/sbin/update-ca-certificates",
            "/usr/bin/update-ca-trust",
        ]);
        assert_eq!(detect(&root, None), vec![Store::Alpine]);
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn an_empty_machine_has_no_linux_stores() {
        let root = tree(&["/etc/hostname"]);
        assert!(detect(&root, None)
            .iter()
            .all(|s| matches!(s, Store::MacosKeychain | Store::WindowsRoot)));
        let _ = fs::remove_dir_all(root);
    }
}
