//! `koi certmesh create`: the questions (or their flags), then `certmesh::create`.

use super::out::{ask, done, interactive, qr, read_passphrase_file, stdout_tty, Obj};
use super::Create;
use crate::base::{now_unix, OsRandom};
use crate::certmesh::ca::scope::Cidr;
use crate::certmesh::create::{create, CreateOptions};
use crate::certmesh::entropy::{self, EntropyMode};
use crate::certmesh::envelope::KdfParams;
use crate::certmesh::files::MeshPaths;
use crate::certmesh::netinfo;
use crate::certmesh::profile::Profile;
use crate::certmesh::trust;
use crate::cli::common::Common;
use std::process::ExitCode;

fn answers(c: &Create) -> Result<CreateOptions, String> {
    let profile = match (&c.profile, c.yes) {
        (Some(p), _) => Profile::parse(p)?,
        (None, true) => Profile::Personal,
        (None, false) => {
            let a = ask(
                "Who's this network for?\n  1. Just me          (homelab, personal projects)\n  2. My team          (small office, studio, lab)\n  3. My organization  (school, library, clinic)\nChoice [1]: ",
                "--profile",
            )?;
            if a.is_empty() {
                Profile::Personal
            } else {
                Profile::parse(&a)?
            }
        }
    };
    let operator = match &c.operator {
        Some(o) => Some(o.clone()),
        None if profile == Profile::Personal || c.yes && !profile.operator_required() => None,
        None => {
            let a = ask("Operator name (for the audit log): ", "--operator")?;
            (!a.is_empty()).then_some(a)
        }
    };
    let mut domain = c.domain.clone();
    let mut subnet = c.subnet.as_deref().map(Cidr::parse).transpose()?;
    if profile.scope_required() {
        if domain.is_none() {
            domain = Some(ask("Domain scope (e.g. school.internal): ", "--domain")?);
        }
        if subnet.is_none() {
            subnet = Some(Cidr::parse(&ask(
                "Subnet scope (e.g. 192.168.1.0/24): ",
                "--subnet",
            )?)?);
        }
    } else if profile == Profile::Team && subnet.is_none() {
        // Team: scope inferred from the current subnet (spec §4.3).
        subnet = netinfo::lan_addrs()
            .into_iter()
            .find(|a| a.is_ipv4())
            .and_then(|a| Cidr::parse(&format!("{a}/24")).ok());
    }
    let mode: EntropyMode = match (&c.entropy, c.yes || !interactive()) {
        (Some(e), _) => e.parse()?,
        (None, true) => EntropyMode::Os,
        (None, false) => {
            let a = ask(
                "Entropy: keyboard (mash keys), passphrase (generated words), manual (type your own) or os [keyboard]: ",
                "--entropy",
            )?;
            if a.is_empty() {
                EntropyMode::Keyboard
            } else {
                a.parse()?
            }
        }
    };
    let chooses_passphrase = matches!(mode, EntropyMode::Passphrase | EntropyMode::Manual);
    if chooses_passphrase && c.passphrase_file.is_some() {
        return Err(format!(
            "--entropy {mode} chooses the CA passphrase itself; drop --passphrase-file or use --entropy os or keyboard"
        ));
    }
    let collected =
        entropy::gather(mode, &mut std::io::stderr()).map_err(|e| format!("--entropy: {e}"))?;
    let extra_entropy = collected.pool;
    let passphrase = match collected.passphrase {
        Some(p) => p,
        None => match c.passphrase_file.as_deref() {
            Some(f) => read_passphrase_file(f)?,
            None if interactive() => entropy::ask_new_passphrase(&mut std::io::stderr())?,
            None => return Err("missing --passphrase-file (no terminal to ask)".into()),
        },
    };
    let hostname = match &c.hostname {
        Some(h) => h.to_ascii_lowercase(),
        None => {
            netinfo::hostname().ok_or("cannot read this machine's host name; pass --hostname")?
        }
    };
    if !crate::certmesh::ca::scope::valid_dns_name(&hostname) || hostname.contains('.') {
        return Err(format!(
            "--hostname `{hostname}` must be a single DNS label"
        ));
    }
    Ok(CreateOptions {
        profile,
        operator,
        domain,
        subnet,
        permit_domains: c.permit_domain.clone(),
        zone: "lan".into(),
        passphrase,
        extra_entropy,
        hostname,
        ips: netinfo::lan_addrs(),
        approval_required: c.require_approval || profile.approval_required(),
        auto_unlock: profile.auto_unlock_by_default(),
        kdf: KdfParams::recommended(),
    })
}

/// Runs `koi certmesh create`.
pub(super) fn run(c: &Create, common: &Common) -> ExitCode {
    let o = match answers(c) {
        Ok(o) => o,
        Err(e) => return common.fail(&e, 1),
    };
    let paths = MeshPaths::new(&common.state);
    let made = match create(&paths, &o, now_unix(), &mut OsRandom) {
        Ok(m) => m,
        Err(e) => return common.fail(&e, 1),
    };
    let mut stores = Vec::new();
    let mut store_errors = Vec::new();
    if !c.no_trust_store {
        for (name, r) in trust::install(&paths.ca_cert(), &made.ca_fingerprint) {
            match r {
                Ok(()) => stores.push(name),
                Err(e) => store_errors.push(format!("{name}: {e}")),
            }
        }
    }
    let obj = Obj::new()
        .s("ca_fingerprint", made.ca_fingerprint.clone())
        .s("totp_uri", made.totp_uri.clone())
        .s("profile", o.profile.name())
        .s("hostname", o.hostname.clone())
        .s("cert_dir", made.cert_dir.display().to_string())
        .list("sans", &made.sans)
        .list("trust_stores", &stores)
        .list("trust_store_errors", &store_errors);
    let mut text = format!(
        "Certmesh CA created ({} profile).\n\nCA fingerprint (SHA-256): {}\n",
        o.profile.name(),
        made.ca_fingerprint
    );
    if stdout_tty() {
        text.push_str("\nScan this with your authenticator app (shown once):\n\n");
        text.push_str(&qr(&made.totp_uri));
    }
    text.push_str(&format!(
        "\nTOTP URI (shown once): {}\n\nThis machine's cert: {}\nTrust stores: {}\n\nOn another machine: koi certmesh join --ca <this-ip>:5642 --ca-fingerprint {}\nStart the CA API with: koi agent",
        made.totp_uri,
        made.cert_dir.display(),
        if c.no_trust_store { "skipped (--no-trust-store)".to_string() } else if stores.is_empty() { "none found".to_string() } else { stores.join(", ") },
        made.ca_fingerprint
    ));
    for e in &store_errors {
        text.push_str(&format!("\nwarning: trust store {e}"));
    }
    done(common, obj, &text)
}
