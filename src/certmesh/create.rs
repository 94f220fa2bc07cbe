//! `koi certmesh create`, the work after the questions are answered: the root, the envelope,
//! the roster, the first audit entry, and the CA host's own enrollment (self-certification).
//! Refuses to overwrite an existing CA. Prompting lives in the CLI; this is non-interactive.

use super::audit::AuditLog;
use super::authority::secret_hash;
use super::ca::scope::{Cidr, Scope};
use super::ca::{create_root, fingerprint, keygen, member_key_and_csr, Ca, LeafRequest};
use super::envelope::{Envelope, KdfParams};
use super::files::{write_cert_set, MeshPaths};
use super::payload;
use super::profile::Profile;
use super::roster::{Member, Metadata, Roster};
use crate::base::{format_utc, RandomSource, Secret};
use ring::digest::{Context, SHA256};
use std::net::IpAddr;
use std::path::PathBuf;

/// Everything `create` needs, already answered.
#[derive(Debug)]
pub struct CreateOptions {
    /// Trust profile.
    pub profile: Profile,
    /// Operator attribution.
    pub operator: Option<String>,
    /// `--domain`.
    pub domain: Option<String>,
    /// `--subnet`.
    pub subnet: Option<Cidr>,
    /// `--permit-domain`.
    pub permit_domains: Vec<String>,
    /// The local zone.
    pub zone: String,
    /// The unlock passphrase.
    pub passphrase: Secret,
    /// Operator entropy (empty for `--entropy os`).
    pub extra_entropy: Secret,
    /// This machine's host name.
    pub hostname: String,
    /// This machine's LAN addresses (for its own cert).
    pub ips: Vec<IpAddr>,
    /// Approval required (default from the profile).
    pub approval_required: bool,
    /// Auto-unlock slot (default from the profile).
    pub auto_unlock: bool,
    /// Argon2id parameters.
    pub kdf: KdfParams,
}

/// What `create` made.
#[derive(Debug)]
pub struct Created {
    /// Hex SHA-256 of the root DER.
    pub ca_fingerprint: String,
    /// The TOTP secret (shown once).
    pub totp_secret: Secret,
    /// `otpauth://` URI.
    pub totp_uri: String,
    /// The CA host's cert directory.
    pub cert_dir: PathBuf,
    /// The CA host's SANs.
    pub sans: Vec<String>,
}

/// Creates the CA in `paths`.
pub fn create(
    paths: &MeshPaths,
    o: &CreateOptions,
    now: u64,
    rng: &mut dyn RandomSource,
) -> Result<Created, String> {
    if paths.has_ca() || paths.ca_dir().join(super::envelope::CA_KEY_FILE).exists() {
        return Err(format!(
            "a CA already exists in {}; refusing to overwrite it",
            paths.ca_dir().display()
        ));
    }
    if o.profile.operator_required() && o.operator.as_deref().is_none_or(str::is_empty) {
        return Err("the organization profile requires --operator".into());
    }
    if o.profile.scope_required() && (o.domain.is_none() || o.subnet.is_none()) {
        return Err("the organization profile requires --domain and --subnet".into());
    }
    let scope = Scope {
        zone: o.zone.clone(),
        domain: o.domain.clone(),
        subnet: o.subnet,
        permit_domains: o.permit_domains.clone(),
    };
    for d in scope.permitted_dns() {
        if !super::ca::scope::valid_dns_name(&d) {
            return Err(format!("`{d}` is not a valid domain"));
        }
    }
    let key = keygen::generate_p256(o.extra_entropy.expose(), rng)?;
    let cn = format!("koi certmesh CA ({})", o.hostname);
    let ca_der = create_root(&scope, &cn, &key, now, rng)?;
    let ca = Ca::load(&ca_der, &key)?;
    let totp = totp_secret(o.extra_entropy.expose(), rng)?;
    let packed = payload::pack(&key, &totp)?;
    let mut env = Envelope::create(&paths.ca_dir(), packed.expose(), &o.passphrase, o.kdf, rng)
        .map_err(|e| e.to_string())?;
    if o.auto_unlock {
        let master = env
            .unwrap_master_with_passphrase(&o.passphrase)
            .map_err(|e| e.to_string())?;
        env.add_auto_unlock(&master).map_err(|e| e.to_string())?;
    }
    crate::state::write_atomic(
        &paths.ca_cert(),
        super::ca::cert_pem(&ca_der).as_bytes(),
        crate::state::Secrecy::Public,
    )
    .map_err(|e| e.to_string())?;

    let fp = fingerprint(&ca_der);
    let mut roster = Roster::new(Metadata {
        created: format_utc(now),
        trust_profile: o.profile.name().into(),
        operator: o.operator.clone(),
        domain_scope: o.domain.clone(),
        subnet_scope: o.subnet.map(|s| s.to_string()),
        zone: o.zone.clone(),
        permit_domains: o.permit_domains.clone(),
        approval_required: o.approval_required,
        totp_secret_hash: secret_hash(&totp),
        totp_rotated_at: format_utc(now),
        enrollment_state: if o.profile.enrollment_open_by_default() {
            "open"
        } else {
            "closed"
        }
        .into(),
        enrollment_closes_at: None,
        enrollment_closes_unix: None,
        totp_last_step: None,
        enrollment_last_opened: o
            .profile
            .enrollment_open_by_default()
            .then(|| format_utc(now)),
        ca_fingerprint: fp.clone(),
    });
    let audit = AuditLog::new(&paths.root());
    let op = o.operator.as_deref();
    audit.append(
        &ca,
        now,
        op,
        "created",
        &format!("profile {} fingerprint {fp}", o.profile.name()),
    )?;

    // Self-certification: the CA host enrolls itself, with a key born here like any member's.
    let (member_key, csr) = member_key_and_csr(&o.hostname)?;
    // Only this machine's addresses inside the scope go into its own cert.
    let mut ips: Vec<IpAddr> = o
        .ips
        .iter()
        .copied()
        .filter(|ip| scope.check_ip(*ip).is_ok())
        .collect();
    ips.push(IpAddr::from([127, 0, 0, 1]));
    let req = LeafRequest {
        hostname: o.hostname.clone(),
        fqdn: None,
        ips,
    };
    let leaf = ca.issue(&csr, &req, &scope, now, rng)?;
    let cert_dir = write_cert_set(paths, &o.hostname, &leaf.der, &member_key, &ca_der, now)?;
    roster.members.push(Member {
        hostname: o.hostname.clone(),
        role: "primary".into(),
        enrolled_at: format_utc(now),
        enrolled_by: o.operator.clone(),
        cert_fingerprint: fingerprint(&leaf.der),
        cert_expires: format_utc(leaf.expires),
        cert_expires_unix: leaf.expires,
        cert_sans: leaf.sans.clone(),
        cert_path: cert_dir.display().to_string(),
        pinned_ca_fingerprint: fp.clone(),
        last_seen: Some(format_utc(now)),
        status: "active".into(),
        reload_hook: None,
    });
    roster.save(&paths.roster(), &ca)?;
    audit.append(
        &ca,
        now,
        op,
        "enrolled",
        &format!("{} (self) {}", o.hostname, leaf.sans.join(", ")),
    )?;
    let uri =
        koi_wire::totp::otpauth_uri("koi", &format!("certmesh@{}", o.hostname), totp.expose());
    Ok(Created {
        ca_fingerprint: fp,
        totp_secret: totp,
        totp_uri: uri,
        cert_dir,
        sans: leaf.sans,
    })
}

/// A 160-bit TOTP secret from the OS RNG mixed with the operator's entropy.
fn totp_secret(extra: &[u8], rng: &mut dyn RandomSource) -> Result<Secret, String> {
    let mut os = vec![0u8; 32];
    let r = rng.fill(&mut os);
    let os = Secret::new(os);
    r.map_err(|e| format!("no randomness: {e}"))?;
    let mut ctx = Context::new(&SHA256);
    ctx.update(b"koi totp secret v1");
    ctx.update(os.expose());
    ctx.update(extra);
    Ok(Secret::new(ctx.finish().as_ref()[..20].to_vec()))
}
