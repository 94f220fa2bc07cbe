//! The CA's enrollment policy and its in-memory state: lock state, the enrollment window,
//! one-time TOTP codes, the failure rate limit, and requests waiting for approval.
//!
//! A join is checked in this order: CA unlocked; host not revoked; enrollment window (spec
//! §4.7); the rate-limit lockout (a locked-out CA refuses even a right code, so guessing
//! gains nothing); the TOTP code, once only; the scope; approval (team/organization). Every
//! refusal past the lock check is written to the audit log. Time is always passed in.
//! Owns no sockets; `api` and the control routes call it.

use super::audit::AuditLog;
use super::ca::scope::{Cidr, Scope};
use super::ca::{cert_pem, fingerprint, Ca, LeafRequest};
use super::envelope::{Envelope, RingHmacSha1};
use super::files::MeshPaths;
use super::payload;
use super::roster::{Member, Revocation, Roster};
use crate::base::{format_utc, hex, RandomSource, Secret};
use std::net::IpAddr;

mod types;

pub use types::*;

struct Unlocked {
    ca: Ca,
    key: Secret,
    totp: Secret,
    master: Secret,
}

/// The CA: its roster, log and lock state.
pub struct Authority {
    paths: MeshPaths,
    ca_der: Vec<u8>,
    roster: Roster,
    audit: AuditLog,
    unlocked: Option<Unlocked>,
    last_step: Option<u64>,
    rate: RateLimit,
    pending: Vec<Pending>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Authority({}, unlocked: {})",
            fingerprint(&self.ca_der),
            self.unlocked.is_some()
        )
    }
}

impl Authority {
    /// Loads the CA cert and the signed roster; the CA starts locked.
    pub fn open(paths: &MeshPaths) -> Result<Authority, String> {
        let ca_der = paths.read_ca_der()?;
        let roster = Roster::load(&paths.roster(), &ca_der)?;
        Ok(Authority {
            paths: paths.clone(),
            audit: AuditLog::new(&paths.root()),
            ca_der,
            last_step: roster.metadata.totp_last_step,
            roster,
            unlocked: None,
            rate: RateLimit::default(),
            pending: Vec::new(),
        })
    }

    /// The root's DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The roster.
    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Whether the CA key is decrypted.
    pub fn is_unlocked(&self) -> bool {
        self.unlocked.is_some()
    }

    /// The scope from the roster metadata.
    pub fn scope(&self) -> Scope {
        let m = &self.roster.metadata;
        Scope {
            zone: m.zone.clone(),
            domain: m.domain_scope.clone(),
            subnet: m.subnet_scope.as_deref().and_then(|s| Cidr::parse(s).ok()),
            permit_domains: m.permit_domains.clone(),
        }
    }

    fn operator(&self) -> Option<String> {
        self.roster.metadata.operator.clone()
    }

    /// Unlocks with a master key from any slot.
    pub fn unlock_with_master(&mut self, master: Secret) -> Result<(), String> {
        let env = Envelope::open(&self.paths.ca_dir()).map_err(|e| e.to_string())?;
        let payload = env.decrypt_ca_key(&master).map_err(|e| e.to_string())?;
        let (key, totp) = payload::unpack(&payload)?;
        let ca = Ca::load(&self.ca_der, &key)?;
        self.unlocked = Some(Unlocked {
            ca,
            key,
            totp,
            master,
        });
        Ok(())
    }

    /// Unlocks with the passphrase.
    pub fn unlock_with_passphrase(&mut self, passphrase: &Secret) -> Result<(), String> {
        let env = Envelope::open(&self.paths.ca_dir()).map_err(|e| e.to_string())?;
        let master = env
            .unwrap_master_with_passphrase(passphrase)
            .map_err(|e| e.to_string())?;
        self.unlock_with_master(master)
    }

    /// Unlocks with the auto-unlock key file, if that slot exists.
    pub fn unlock_auto(&mut self) -> Result<(), String> {
        let env = Envelope::open(&self.paths.ca_dir()).map_err(|e| e.to_string())?;
        let master = env.unwrap_master_with_auto().map_err(|e| e.to_string())?;
        self.unlock_with_master(master)
    }

    fn ca(&self) -> Result<&Ca, Refused> {
        self.unlocked.as_ref().map(|u| &u.ca).ok_or(Refused::Locked)
    }

    /// Appends to the audit log (needs the CA unlocked to sign).
    pub fn log(&self, now: u64, event: &str, detail: &str) {
        let Some(u) = &self.unlocked else {
            crate::log!(
                Warn,
                "certmesh",
                "not audited (CA locked): {event} {detail}"
            );
            return;
        };
        if let Err(e) = self
            .audit
            .append(&u.ca, now, self.operator().as_deref(), event, detail)
        {
            crate::log!(Error, "certmesh", "audit log write failed: {e}");
        }
        crate::log!(Info, "certmesh", "{event}: {detail}");
    }

    fn save_roster(&mut self) -> Result<(), Refused> {
        let u = self.unlocked.as_ref().ok_or(Refused::Locked)?;
        self.roster
            .save(&self.paths.roster(), &u.ca)
            .map_err(Refused::Internal)
    }

    /// True while a window is open at `now` (closes by itself at its deadline).
    pub fn enrollment_open(&self, now: u64) -> bool {
        let m = &self.roster.metadata;
        m.enrollment_state == "open" && m.enrollment_closes_unix.is_none_or(|t| now < t)
    }

    /// Persists a window that expired by itself (and logs it). Called on every request and
    /// by the agent's timer.
    pub fn tick(&mut self, now: u64) {
        let m = &self.roster.metadata;
        if m.enrollment_state == "open" && !self.enrollment_open(now) && self.is_unlocked() {
            self.roster.metadata.enrollment_state = "closed".into();
            self.roster.metadata.enrollment_closes_at = None;
            self.roster.metadata.enrollment_closes_unix = None;
            if self.save_roster().is_ok() {
                self.log(now, "window_closed", "deadline reached");
            }
        }
    }

    /// Opens the window, for `duration` seconds or until closed.
    pub fn open_enrollment(
        &mut self,
        now: u64,
        duration: Option<u64>,
    ) -> Result<Option<u64>, Refused> {
        self.ca()?;
        let until = duration.map(|d| now + d);
        let m = &mut self.roster.metadata;
        m.enrollment_state = "open".into();
        m.enrollment_closes_unix = until;
        m.enrollment_closes_at = until.map(format_utc);
        m.enrollment_last_opened = Some(format_utc(now));
        self.save_roster()?;
        let detail = until.map_or_else(
            || "no deadline".to_string(),
            |t| format!("until {}", format_utc(t)),
        );
        self.log(now, "window_opened", &detail);
        Ok(until)
    }

    /// Closes the window.
    pub fn close_enrollment(&mut self, now: u64) -> Result<(), Refused> {
        self.ca()?;
        let m = &mut self.roster.metadata;
        m.enrollment_state = "closed".into();
        m.enrollment_closes_at = None;
        m.enrollment_closes_unix = None;
        self.save_roster()?;
        self.log(now, "window_closed", "by operator");
        Ok(())
    }

    /// The enrollment checks and, when they pass, issuance or a waiting request.
    pub fn join(
        &mut self,
        req: JoinRequest,
        now: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<Joined, Refused> {
        self.ca()?;
        self.tick(now);
        let host = req.hostname.to_ascii_lowercase();
        let from = format!("{host} ({})", join_ips(&req.ips));
        if self.roster.is_revoked(&host) {
            self.log(now, "enroll_refused", &format!("{from}: revoked"));
            return Err(Refused::Revoked(host));
        }
        if !self.enrollment_open(now) {
            self.log(now, "enroll_refused", &format!("{from}: enrollment closed"));
            return Err(Refused::Closed);
        }
        if let Some(t) = self.rate.locked_until(now) {
            self.log(now, "enroll_failed", &format!("{from}: during lockout"));
            return Err(Refused::LockedOut(t));
        }
        let secret = &self.unlocked.as_ref().ok_or(Refused::Locked)?.totp;
        match koi_wire::totp::verify(
            &RingHmacSha1,
            secret.expose(),
            &req.code,
            now,
            self.last_step,
        ) {
            Ok(step) => {
                self.last_step = Some(step);
                self.rate.succeed();
                // Persisted before anything else, so the code stays used across restarts.
                self.roster.metadata.totp_last_step = Some(step);
                self.save_roster()?;
            }
            Err(e) => {
                let lock = self.rate.fail(now);
                let why = format!("{e}");
                self.log(now, "enroll_failed", &format!("{from}: {why}"));
                if let Some(t) = lock {
                    self.log(now, "lockout", &format!("until {}", format_utc(t)));
                }
                return Err(Refused::BadCode(why));
            }
        }
        let leaf_req = LeafRequest {
            hostname: host.clone(),
            fqdn: req.fqdn.clone(),
            ips: req.ips.clone(),
        };
        let scope = self.scope();
        if let Err(why) = check_scope(&leaf_req, &scope) {
            self.log(now, "enroll_refused", &format!("{from}: scope: {why}"));
            return Err(Refused::Scope(why));
        }
        if self.roster.metadata.approval_required {
            let mut id = [0u8; 12];
            rng.fill(&mut id)
                .map_err(|e| Refused::Internal(e.to_string()))?;
            let id = hex(&id);
            self.pending
                .retain(|p| now.saturating_sub(p.created) < 3600);
            self.pending.push(Pending {
                id: id.clone(),
                created: now,
                request: req,
                state: PendingState::Waiting,
            });
            self.log(now, "enroll_waiting", &format!("{from}: request {id}"));
            return Ok(Joined::Waiting(id));
        }
        self.issue(&req, now, rng).map(Joined::Issued)
    }

    fn issue(
        &mut self,
        req: &JoinRequest,
        now: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<Issued, Refused> {
        let host = req.hostname.to_ascii_lowercase();
        let leaf_req = LeafRequest {
            hostname: host.clone(),
            fqdn: req.fqdn.clone(),
            ips: req.ips.clone(),
        };
        let scope = self.scope();
        let leaf = self
            .ca()?
            .issue(&req.csr, &leaf_req, &scope, now, rng)
            .map_err(Refused::Bad)?;
        let member = Member {
            hostname: host.clone(),
            role: "member".into(),
            enrolled_at: format_utc(now),
            enrolled_by: self.operator(),
            cert_fingerprint: fingerprint(&leaf.der),
            cert_expires: format_utc(leaf.expires),
            cert_expires_unix: leaf.expires,
            cert_sans: leaf.sans.clone(),
            cert_path: req.cert_path.clone(),
            pinned_ca_fingerprint: fingerprint(&self.ca_der),
            last_seen: Some(format_utc(now)),
            status: "active".into(),
            reload_hook: None,
        };
        self.upsert_member(member);
        self.save_roster()?;
        self.log(
            now,
            "enrolled",
            &format!(
                "{host} ({}) until {}",
                leaf.sans.join(", "),
                format_utc(leaf.expires)
            ),
        );
        Ok(Issued {
            cert_pem: cert_pem(&leaf.der),
            ca_pem: cert_pem(&self.ca_der),
            sans: leaf.sans,
            expires: leaf.expires,
        })
    }

    /// Adds or replaces a member entry (keeping a primary's role).
    pub fn upsert_member(&mut self, mut m: Member) {
        if let Some(old) = self
            .roster
            .members
            .iter_mut()
            .find(|x| x.hostname == m.hostname)
        {
            if old.role != "member" {
                m.role = old.role.clone();
            }
            m.reload_hook = old.reload_hook.take();
            *old = m;
        } else {
            self.roster.members.push(m);
        }
    }

    /// The state of a waiting request.
    pub fn poll(&self, id: &str) -> Option<PendingState> {
        self.pending
            .iter()
            .find(|p| crate::base::ct_eq(p.id.as_bytes(), id.as_bytes()))
            .map(|p| p.state.clone())
    }

    /// Waiting requests.
    pub fn pending(&self) -> impl Iterator<Item = &Pending> {
        self.pending
            .iter()
            .filter(|p| p.state == PendingState::Waiting)
    }

    fn find_waiting(&self, which: &str) -> Result<usize, Refused> {
        self.pending
            .iter()
            .position(|p| {
                p.state == PendingState::Waiting
                    && (p.id == which || p.request.hostname.eq_ignore_ascii_case(which))
            })
            .ok_or_else(|| Refused::Bad(format!("no waiting request `{which}`")))
    }

    /// Approves a waiting request (by id or host name) and issues its cert.
    pub fn approve(
        &mut self,
        which: &str,
        now: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<Issued, Refused> {
        self.ca()?;
        let i = self.find_waiting(which)?;
        let req = self.pending[i].request.clone();
        self.log(now, "approved", &req.hostname);
        let result = self.issue(&req, now, rng);
        self.pending[i].state = match &result {
            Ok(iss) => PendingState::Issued(iss.clone()),
            Err(e) => PendingState::Refused(e.clone()),
        };
        result
    }

    /// Denies a waiting request.
    pub fn deny(&mut self, which: &str, now: u64) -> Result<String, Refused> {
        self.ca()?;
        let i = self.find_waiting(which)?;
        self.pending[i].state = PendingState::Refused(Refused::Denied);
        let host = self.pending[i].request.hostname.clone();
        self.log(now, "denied", &host);
        Ok(host)
    }

    /// Puts `host` on the revocation list.
    pub fn revoke(&mut self, host: &str, reason: Option<String>, now: u64) -> Result<(), Refused> {
        self.ca()?;
        let host = host.to_ascii_lowercase();
        if !self.roster.is_revoked(&host) {
            self.roster.revocation_list.push(Revocation {
                hostname: host.clone(),
                revoked_at: format_utc(now),
                revoked_by: self.operator(),
                reason: reason.clone(),
            });
        }
        for m in self
            .roster
            .members
            .iter_mut()
            .filter(|m| m.hostname == host)
        {
            m.status = "revoked".into();
        }
        self.save_roster()?;
        self.log(
            now,
            "revoked",
            &format!(
                "{host}: {}",
                reason.unwrap_or_else(|| "no reason given".into())
            ),
        );
        Ok(())
    }

    /// Replaces the TOTP secret (re-encrypting it with the CA key); returns the new secret.
    pub fn rotate_secret(
        &mut self,
        now: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<Secret, Refused> {
        let u = self.unlocked.as_ref().ok_or(Refused::Locked)?;
        let mut buf = vec![0u8; 20];
        rng.fill(&mut buf)
            .map_err(|e| Refused::Internal(e.to_string()))?;
        let secret = Secret::new(buf);
        let payload = payload::pack(&u.key, &secret).map_err(Refused::Internal)?;
        let mut env =
            Envelope::open(&self.paths.ca_dir()).map_err(|e| Refused::Internal(e.to_string()))?;
        env.replace_ca_key(&u.master, payload.expose(), rng)
            .map_err(|e| Refused::Internal(e.to_string()))?;
        if let Some(u) = self.unlocked.as_mut() {
            u.totp = secret.clone();
        }
        self.last_step = None;
        self.roster.metadata.totp_last_step = None;
        self.roster.metadata.totp_secret_hash = secret_hash(&secret);
        self.roster.metadata.totp_rotated_at = format_utc(now);
        self.save_roster()?;
        self.log(now, "secret_rotated", "new TOTP secret");
        Ok(secret)
    }
}

/// Hex SHA-256 of a TOTP secret (the roster's rotation marker).
pub fn secret_hash(s: &Secret) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, s.expose()).as_ref())
}

fn join_ips(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_scope(req: &LeafRequest, scope: &Scope) -> Result<(), String> {
    if !super::ca::scope::valid_dns_name(&req.hostname) || req.hostname.contains('.') {
        return Err(format!(
            "`{}` is not a single-label host name",
            req.hostname
        ));
    }
    for s in super::ca::leaf_sans(req, scope) {
        match s.parse::<IpAddr>() {
            Ok(ip) => scope.check_ip(ip)?,
            Err(_) => scope.check_name(&s)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
