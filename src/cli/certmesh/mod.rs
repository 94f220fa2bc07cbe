//! `koi certmesh ...`: the certificate mesh (spec §4).

mod admin;
mod create;
mod join;
mod out;

use super::common::{not_yet_available, with_capability, HasCommon};
use crate::leaf;
use argh::FromArgs;
use std::process::ExitCode;

/// Run a private CA and enroll machines with TOTP codes.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(
    subcommand,
    name = "certmesh",
    example = "koi certmesh create --profile personal",
    example = "koi certmesh join --code 123456"
)]
pub struct CertmeshCmd {
    #[argh(subcommand)]
    cmd: CertmeshSub,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum CertmeshSub {
    Create(Create),
    Join(Join),
    Promote(Promote),
    Status(Status),
    Revoke(Revoke),
    Backup(Backup),
    Restore(Restore),
    RotateSecret(RotateSecret),
    OpenEnrollment(OpenEnrollment),
    CloseEnrollment(CloseEnrollment),
    Approve(Approve),
    Deny(Deny),
    Compliance(Compliance),
    Log(Log),
    Unlock(Unlock),
    SetHook(SetHook),
}

leaf! {
    /// Create the CA and TOTP enrollment secret on this machine.
    #[argh(subcommand, name = "create", example = "koi certmesh create --profile team --operator \"Maria Santos\" --subnet 192.168.1.0/24")]
    pub struct Create {
        /// who the network is for: personal, team or organization
        #[argh(option)]
        pub profile: Option<String>,
        /// operator name for the audit log
        #[argh(option)]
        pub operator: Option<String>,
        /// domain scope, e.g. lincoln-elementary.local
        #[argh(option)]
        pub domain: Option<String>,
        /// subnet scope, e.g. 192.168.1.0/24
        #[argh(option)]
        pub subnet: Option<String>,
        /// extra domain the CA may issue for (repeatable)
        #[argh(option)]
        pub permit_domain: Vec<String>,
        /// read the unlock passphrase from this file
        #[argh(option)]
        pub passphrase_file: Option<String>,
        /// entropy source: os, keyboard, passphrase or manual
        #[argh(option)]
        pub entropy: Option<String>,
        /// this machine's host name (default: the system's)
        #[argh(option)]
        pub hostname: Option<String>,
        /// require approval at the CA for every join
        #[argh(switch)]
        pub require_approval: bool,
        /// do not install the CA in this machine's trust stores
        #[argh(switch)]
        pub no_trust_store: bool,
        /// accept the defaults without asking
        #[argh(switch)]
        pub yes: bool,
    }
}

leaf! {
    /// Enroll this machine with the mesh's CA using a TOTP code.
    #[argh(subcommand, name = "join", example = "koi certmesh join --ca 192.168.1.10:5642 --code 123456")]
    pub struct Join {
        /// CA address HOST:PORT (default: found over mDNS)
        #[argh(option)]
        pub ca: Option<String>,
        /// the six-digit TOTP code
        #[argh(option)]
        pub code: Option<String>,
        /// expected CA fingerprint (hex SHA-256)
        #[argh(option)]
        pub ca_fingerprint: Option<String>,
        /// this machine's host name (default: the system's)
        #[argh(option)]
        pub hostname: Option<String>,
        /// do not install the CA in this machine's trust stores
        #[argh(switch)]
        pub no_trust_store: bool,
    }
}

leaf! {
    /// Become the standby CA.
    #[argh(subcommand, name = "promote", example = "koi certmesh promote")]
    pub struct Promote {}
}

leaf! {
    /// Show role, members and their expiry, enrollment and lock state, trust stores.
    #[argh(subcommand, name = "status", example = "koi certmesh status --json")]
    pub struct Status {}
}

leaf! {
    /// Remove a machine from the mesh.
    #[argh(subcommand, name = "revoke", example = "koi certmesh revoke stone-03")]
    pub struct Revoke {
        /// host name
        #[argh(positional)]
        pub host: String,
        /// reason recorded in the audit log
        #[argh(option)]
        pub reason: Option<String>,
    }
}

leaf! {
    /// Export the CA key, TOTP secret, roster and audit log, encrypted.
    #[argh(subcommand, name = "backup", example = "koi certmesh backup --out /media/usb/koi.backup")]
    pub struct Backup {
        /// output file
        #[argh(option)]
        pub out: Option<String>,
    }
}

leaf! {
    /// Rebuild the CA from a backup file.
    #[argh(subcommand, name = "restore", example = "koi certmesh restore /media/usb/koi.backup")]
    pub struct Restore {
        /// backup file
        #[argh(positional)]
        pub file: String,
    }
}

leaf! {
    /// Replace the TOTP secret and show the new one.
    #[argh(subcommand, name = "rotate-secret", example = "koi certmesh rotate-secret")]
    pub struct RotateSecret {}
}

leaf! {
    /// Open the enrollment window.
    #[argh(subcommand, name = "open-enrollment", example = "koi certmesh open-enrollment --duration 2h")]
    pub struct OpenEnrollment {
        /// how long it stays open, e.g. 30m or 2h
        #[argh(option)]
        pub duration: Option<String>,
    }
}

leaf! {
    /// Close the enrollment window.
    #[argh(subcommand, name = "close-enrollment", example = "koi certmesh close-enrollment")]
    pub struct CloseEnrollment {}
}

leaf! {
    /// Approve a waiting enrollment request.
    #[argh(subcommand, name = "approve", example = "koi certmesh approve stone-05")]
    pub struct Approve {
        /// request id or host name
        #[argh(positional)]
        pub request: String,
    }
}

leaf! {
    /// Deny a waiting enrollment request.
    #[argh(subcommand, name = "deny", example = "koi certmesh deny stone-05")]
    pub struct Deny {
        /// request id or host name
        #[argh(positional)]
        pub request: String,
    }
}

leaf! {
    /// Security summary for this trust profile.
    #[argh(subcommand, name = "compliance", example = "koi certmesh compliance")]
    pub struct Compliance {}
}

leaf! {
    /// Show (and verify) the audit log.
    #[argh(subcommand, name = "log", example = "koi certmesh log --verify")]
    pub struct Log {
        /// check the hash chain and signatures
        #[argh(switch)]
        pub verify: bool,
    }
}

leaf! {
    /// Decrypt the CA key after a reboot.
    #[argh(subcommand, name = "unlock", example = "koi certmesh unlock --passphrase-file /root/ca.pass")]
    pub struct Unlock {
        /// read the passphrase from this file
        #[argh(option)]
        pub passphrase_file: Option<String>,
    }
}

leaf! {
    /// Set the command run after this machine's cert is renewed.
    #[argh(subcommand, name = "set-hook", example = "koi certmesh set-hook --reload \"systemctl reload nginx\"")]
    pub struct SetHook {
        /// the reload command
        #[argh(option)]
        pub reload: String,
    }
}

impl CertmeshCmd {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let (common, name) = match &self.cmd {
            CertmeshSub::Create(c) => (c.common(), "certmesh create"),
            CertmeshSub::Join(c) => (c.common(), "certmesh join"),
            CertmeshSub::Promote(c) => (c.common(), "certmesh promote"),
            CertmeshSub::Status(c) => (c.common(), "certmesh status"),
            CertmeshSub::Revoke(c) => (c.common(), "certmesh revoke"),
            CertmeshSub::Backup(c) => (c.common(), "certmesh backup"),
            CertmeshSub::Restore(c) => (c.common(), "certmesh restore"),
            CertmeshSub::RotateSecret(c) => (c.common(), "certmesh rotate-secret"),
            CertmeshSub::OpenEnrollment(c) => (c.common(), "certmesh open-enrollment"),
            CertmeshSub::CloseEnrollment(c) => (c.common(), "certmesh close-enrollment"),
            CertmeshSub::Approve(c) => (c.common(), "certmesh approve"),
            CertmeshSub::Deny(c) => (c.common(), "certmesh deny"),
            CertmeshSub::Compliance(c) => (c.common(), "certmesh compliance"),
            CertmeshSub::Log(c) => (c.common(), "certmesh log"),
            CertmeshSub::Unlock(c) => (c.common(), "certmesh unlock"),
            CertmeshSub::SetHook(c) => (c.common(), "certmesh set-hook"),
        };
        with_capability("certmesh", &common, || match &self.cmd {
            CertmeshSub::Create(c) => create::run(c, &common),
            CertmeshSub::Join(c) => join::run(c, &common),
            CertmeshSub::Status(_) => admin::status(&common),
            CertmeshSub::Revoke(c) => admin::revoke(&common, &c.host, c.reason.clone()),
            CertmeshSub::RotateSecret(_) => admin::rotate_secret(&common),
            CertmeshSub::OpenEnrollment(c) => {
                admin::open_enrollment(&common, c.duration.as_deref())
            }
            CertmeshSub::CloseEnrollment(_) => admin::close_enrollment(&common),
            CertmeshSub::Approve(c) => admin::decide(&common, "approve", &c.request),
            CertmeshSub::Deny(c) => admin::decide(&common, "deny", &c.request),
            CertmeshSub::Compliance(_) => admin::compliance(&common),
            CertmeshSub::Log(c) => admin::log(&common, c.verify),
            CertmeshSub::Unlock(c) => admin::unlock(&common, c.passphrase_file.as_deref()),
            CertmeshSub::Promote(_)
            | CertmeshSub::Backup(_)
            | CertmeshSub::Restore(_)
            | CertmeshSub::SetHook(_) => not_yet_available(&common, name),
        })
    }
}
