//! `vendor-certs`: putting a root CA into (and taking it out of) the trust stores of the
//! operating systems and browsers koi runs beside.
//!
//! This crate owns two things: detecting which stores a machine has, and the exact commands
//! and file placements each store needs. Plans are plain data ([`Plan`]) so they can be unit
//! tested on every platform, including the macOS and Windows ones that never run here.
//!
//! It must never touch a store it cannot restore: every install plan has an uninstall plan
//! that removes exactly what it added, and nothing here edits a store's existing entries.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod detect;
mod plan;

pub use detect::detect;
pub use plan::{install_plan, uninstall_plan, Plan, Step};

/// A trust store koi knows how to manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Debian/Ubuntu: `/usr/local/share/ca-certificates` + `update-ca-certificates`.
    DebianCaCertificates,
    /// Fedora/RHEL: `/etc/pki/ca-trust/source/anchors` + `update-ca-trust`.
    FedoraCaTrust,
    /// Arch (p11-kit): `trust anchor`.
    ArchTrust,
    /// Alpine and OpenWrt: `/usr/local/share/ca-certificates` + `update-ca-certificates`
    /// from the `ca-certificates` package, or appending is refused (not restorable).
    Alpine,
    /// An NSS database directory (`~/.pki/nssdb`, a Firefox profile), managed with `certutil`.
    Nss(std::path::PathBuf),
    /// The macOS system keychain, managed with `security`.
    MacosKeychain,
    /// The Windows machine Root store, managed with `certutil -addstore Root`.
    WindowsRoot,
}

impl Store {
    /// A short name for status output, e.g. `debian`, `nss:/root/.pki/nssdb`.
    pub fn name(&self) -> String {
        match self {
            Store::DebianCaCertificates => "debian".into(),
            Store::FedoraCaTrust => "fedora".into(),
            Store::ArchTrust => "arch".into(),
            Store::Alpine => "alpine".into(),
            Store::Nss(p) => format!("nss:{}", p.display()),
            Store::MacosKeychain => "macos".into(),
            Store::WindowsRoot => "windows".into(),
        }
    }
}
