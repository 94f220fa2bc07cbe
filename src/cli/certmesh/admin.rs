//! The CA-side commands that talk to the running agent (unlock, windows, approve/deny,
//! revoke, rotate-secret) and the ones that read the state directory (status, compliance,
//! log).

use super::out::{done, passphrase, qr, stdout_tty, Obj};
use crate::base::{format_utc, now_unix, parse_duration};
use crate::certmesh::audit::AuditLog;
use crate::certmesh::files::{load_member, MeshPaths};
use crate::certmesh::roster::Roster;
use crate::certmesh::trust;
use crate::cli::client::AgentClient;
use crate::cli::common::{Common, EXIT_NO_AGENT};
use miniserde::json::{self, Number, Object, Value};
use std::process::ExitCode;

fn call(common: &Common, path: &str, body: Option<String>) -> Result<Object, ExitCode> {
    let client = AgentClient::find(&common.state).map_err(|e| {
        common.fail(
            &format!("{e}; the CA's commands need its agent (`koi agent`)"),
            EXIT_NO_AGENT,
        )
    })?;
    let r = match body {
        Some(b) => client.post(path, &b),
        None => client.get(path),
    };
    let text = r.map_err(|e| common.fail(&e.to_string(), 1))?;
    match json::from_str::<Value>(&text) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(common.fail("the agent sent an unreadable reply", 1)),
    }
}

fn str_of(o: &Object, k: &str) -> String {
    match o.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn json_str(s: &str) -> String {
    json::to_string(&Value::String(s.to_string()))
}

/// `unlock`.
pub(super) fn unlock(common: &Common, file: Option<&str>) -> ExitCode {
    let pass = match passphrase(file) {
        Ok(p) => p,
        Err(e) => return common.fail(&e, 1),
    };
    let text = String::from_utf8_lossy(pass.expose()).to_string();
    match call(
        common,
        "/v1/certmesh/unlock",
        Some(format!("{{\"passphrase\":{}}}", json_str(&text))),
    ) {
        Ok(o) => done(common, Obj(o), "CA unlocked: it can sign again."),
        Err(c) => c,
    }
}

/// `open-enrollment [--duration D]`.
pub(super) fn open_enrollment(common: &Common, duration: Option<&str>) -> ExitCode {
    let secs = match duration.map(parse_duration).transpose() {
        Ok(d) => d.map(|d| d.as_secs()),
        Err(e) => return common.fail(&format!("--duration: {e}"), 1),
    };
    let body = match secs {
        Some(s) => format!("{{\"duration_secs\":{s}}}"),
        None => "{\"duration_secs\":null}".to_string(),
    };
    match call(common, "/v1/certmesh/open-enrollment", Some(body)) {
        Ok(o) => {
            let until = str_of(&o, "closes_at");
            let text = if until.is_empty() {
                "Enrollment window open (until `koi certmesh close-enrollment`).".to_string()
            } else {
                format!("Enrollment window open until {until}.")
            };
            done(common, Obj(o), &text)
        }
        Err(c) => c,
    }
}

/// `close-enrollment`.
pub(super) fn close_enrollment(common: &Common) -> ExitCode {
    match call(common, "/v1/certmesh/close-enrollment", Some("{}".into())) {
        Ok(o) => done(common, Obj(o), "Enrollment window closed."),
        Err(c) => c,
    }
}

/// `approve|deny <request>`.
pub(super) fn decide(common: &Common, verb: &str, which: &str) -> ExitCode {
    let body = format!("{{\"request\":{}}}", json_str(which));
    match call(common, &format!("/v1/certmesh/{verb}"), Some(body)) {
        Ok(o) => {
            let text = if verb == "approve" {
                format!("Approved {which}: its cert is issued.")
            } else {
                format!("Denied {which}.")
            };
            done(common, Obj(o), &text)
        }
        Err(c) => c,
    }
}

/// `revoke <host>`.
pub(super) fn revoke(common: &Common, host: &str, reason: Option<String>) -> ExitCode {
    let reason = reason.map_or("null".to_string(), |r| json_str(&r));
    let body = format!("{{\"host\":{},\"reason\":{reason}}}", json_str(host));
    match call(common, "/v1/certmesh/revoke", Some(body)) {
        Ok(o) => done(
            common,
            Obj(o),
            &format!("{host} revoked: it will never be issued or renewed again."),
        ),
        Err(c) => c,
    }
}

/// `rotate-secret`.
pub(super) fn rotate_secret(common: &Common) -> ExitCode {
    match call(common, "/v1/certmesh/rotate-secret", Some("{}".into())) {
        Ok(o) => {
            let uri = str_of(&o, "totp_uri");
            let mut text = String::from("New TOTP secret; the old one no longer works.\n");
            if stdout_tty() {
                text.push_str(&qr(&uri));
            }
            text.push_str(&format!("TOTP URI (shown once): {uri}"));
            done(common, Obj(o), &text)
        }
        Err(c) => c,
    }
}

fn members_text(o: &Object) -> String {
    let mut out = String::new();
    if let Some(Value::Array(ms)) = o.get("members") {
        for m in ms {
            if let Value::Object(m) = m {
                out.push_str(&format!(
                    "  {:<20} {:<8} {:<8} expires {} ({} days)\n",
                    str_of(m, "hostname"),
                    str_of(m, "role"),
                    str_of(m, "status"),
                    str_of(m, "cert_expires"),
                    str_of(m, "expires_in_days")
                ));
            }
        }
    }
    out
}

/// `status`.
pub(super) fn status(common: &Common) -> ExitCode {
    let paths = MeshPaths::new(&common.state);
    if paths.has_ca() {
        let ca_der = match paths.read_ca_der() {
            Ok(d) => d,
            Err(e) => return common.fail(&e, 1),
        };
        let fp = crate::certmesh::ca::fingerprint(&ca_der);
        let stores = trust::trusted_in(&fp);
        let mut o =
            match AgentClient::find(&common.state).and_then(|c| c.get("/v1/certmesh/status")) {
                Ok(text) => match json::from_str::<Value>(&text) {
                    Ok(Value::Object(o)) => o,
                    _ => return common.fail("the agent sent an unreadable status", 1),
                },
                Err(_) => {
                    let roster = match Roster::load(&paths.roster(), &ca_der) {
                        Ok(r) => r,
                        Err(e) => return common.fail(&e, 1),
                    };
                    let now = now_unix();
                    let mut o = Object::new();
                    o.insert("role".into(), Value::String("ca".into()));
                    o.insert("locked".into(), Value::Bool(true));
                    o.insert("agent".into(), Value::String("not running".into()));
                    o.insert(
                        "profile".into(),
                        Value::String(roster.metadata.trust_profile.clone()),
                    );
                    o.insert("ca_fingerprint".into(), Value::String(fp.clone()));
                    o.insert(
                        "enrollment".into(),
                        Value::String(roster.metadata.enrollment_state.clone()),
                    );
                    let members = roster
                        .members
                        .iter()
                        .map(|m| {
                            let mut e = Object::new();
                            e.insert("hostname".into(), Value::String(m.hostname.clone()));
                            e.insert("role".into(), Value::String(m.role.clone()));
                            e.insert("status".into(), Value::String(m.status.clone()));
                            e.insert("cert_expires".into(), Value::String(m.cert_expires.clone()));
                            e.insert(
                                "expires_in_days".into(),
                                Value::Number(Number::I64(
                                    (m.cert_expires_unix as i64 - now as i64) / 86_400,
                                )),
                            );
                            Value::Object(e)
                        })
                        .collect();
                    o.insert("members".into(), Value::Array(members));
                    o
                }
            };
        o.insert(
            "trust_stores".into(),
            Value::Array(stores.iter().cloned().map(Value::String).collect()),
        );
        let text = format!(
            "certmesh: CA ({} profile), {}\n  fingerprint {}\n  enrollment {}\n  trust stores: {}\nmembers:\n{}",
            str_of(&o, "profile"),
            if str_of(&o, "locked") == "true" { "LOCKED (run `koi certmesh unlock`)" } else { "unlocked" },
            str_of(&o, "ca_fingerprint"),
            str_of(&o, "enrollment"),
            if stores.is_empty() { "none".to_string() } else { stores.join(", ") },
            members_text(&o)
        );
        return done(common, Obj(o), text.trim_end());
    }
    match load_member(&paths) {
        Ok(m) => {
            let stores = trust::trusted_in(&m.ca_fingerprint);
            let obj = Obj::new()
                .s("role", "member")
                .s("hostname", m.hostname.clone())
                .s("ca", m.ca_addr.clone())
                .s("ca_fingerprint", m.ca_fingerprint.clone())
                .s("cert_dir", m.cert_path.clone())
                .s("cert_expires", format_utc(m.cert_expires))
                .list("trust_stores", &stores);
            let text = format!(
                "certmesh: member {} of the CA at {}\n  pinned fingerprint {}\n  cert {} expires {}\n  trust stores: {}",
                m.hostname,
                m.ca_addr,
                m.ca_fingerprint,
                m.cert_path,
                format_utc(m.cert_expires),
                if stores.is_empty() { "none".to_string() } else { stores.join(", ") }
            );
            done(common, obj, &text)
        }
        Err(_) => done(
            common,
            Obj::new().s("role", "none"),
            "certmesh: not part of a mesh (`koi certmesh create` or `koi certmesh join`)",
        ),
    }
}

/// `log [--verify]`.
pub(super) fn log(common: &Common, verify: bool) -> ExitCode {
    let paths = MeshPaths::new(&common.state);
    let log = AuditLog::new(&paths.root());
    if verify {
        let ca_der = match paths.read_ca_der() {
            Ok(d) => d,
            Err(e) => return common.fail(&e, 1),
        };
        return match log.verify(&ca_der) {
            Ok(n) => done(
                common,
                Obj::new()
                    .v("verified", Value::Bool(true))
                    .v("entries", Value::Number(Number::U64(n))),
                &format!("audit log intact: {n} entries, chain and signatures verified"),
            ),
            Err(e) => common.fail(&format!("audit log verification FAILED: {e}"), 1),
        };
    }
    let entries = match log.entries() {
        Ok(e) => e,
        Err(e) => return common.fail(&e, 1),
    };
    if common.json {
        for e in &entries {
            println!("{}", json::to_string(e));
        }
        return ExitCode::SUCCESS;
    }
    for e in &entries {
        println!(
            "{:>4} {} {:<16} {:<15} {}",
            e.seq, e.at, e.operator, e.event, e.detail
        );
    }
    ExitCode::SUCCESS
}

/// `compliance`: output depends on the trust profile (spec §4.7).
pub(super) fn compliance(common: &Common) -> ExitCode {
    let paths = MeshPaths::new(&common.state);
    let ca_der = match paths.read_ca_der() {
        Ok(d) => d,
        Err(e) => return common.fail(&e, 1),
    };
    let r = match Roster::load(&paths.roster(), &ca_der) {
        Ok(r) => r,
        Err(e) => return common.fail(&e, 1),
    };
    let now = now_unix();
    let log = AuditLog::new(&paths.root());
    let audit_ok = log.verify(&ca_der).is_ok();
    let active: Vec<_> = r.members.iter().filter(|m| m.status == "active").collect();
    let valid = active.iter().filter(|m| m.cert_expires_unix > now).count();
    let soon = active
        .iter()
        .filter(|m| m.cert_expires_unix <= now + 7 * 86_400)
        .count();
    let next_renewal = active
        .iter()
        .map(|m| m.cert_expires_unix.saturating_sub(10 * 86_400))
        .min()
        .map(|t| t.saturating_sub(now) / 86_400);
    let m = &r.metadata;
    let healthy = valid == active.len() && audit_ok;
    let last = log.entries().ok().and_then(|e| {
        e.last()
            .map(|e| format!("{} {} {}", e.at, e.event, e.detail))
    });
    let protection = match crate::certmesh::envelope::Envelope::open(&paths.ca_dir()) {
        Ok(env) => env.available_methods().join(" + "),
        Err(_) => "unknown".into(),
    };
    let obj = Obj::new()
        .s("profile", m.trust_profile.clone())
        .s("health", if healthy { "healthy" } else { "attention" })
        .v(
            "members_active",
            Value::Number(Number::U64(active.len() as u64)),
        )
        .v(
            "members_revoked",
            Value::Number(Number::U64(r.revocation_list.len() as u64)),
        )
        .v("certs_valid", Value::Number(Number::U64(valid as u64)))
        .v("certs_expiring_7d", Value::Number(Number::U64(soon as u64)))
        .v("audit_log_intact", Value::Bool(audit_ok))
        .s("created", m.created.clone())
        .s("operator", m.operator.clone().unwrap_or_default())
        .s("ca_protection", protection.clone())
        .s("totp_rotated_at", m.totp_rotated_at.clone())
        .s("enrollment", m.enrollment_state.clone())
        .v("approval_required", Value::Bool(m.approval_required))
        .s(
            "scope",
            format!(
                "{} / {}",
                m.domain_scope.clone().unwrap_or("-".into()),
                m.subnet_scope.clone().unwrap_or("-".into())
            ),
        );
    let renewal = next_renewal.map_or("none".to_string(), |d| format!("{d} days"));
    let text = if m.trust_profile == "personal" {
        format!(
            "certmesh: {}\n  {} members, {}\n  Next renewal: {renewal}",
            if healthy {
                "healthy"
            } else {
                "needs attention"
            },
            active.len(),
            if valid == active.len() {
                "all certs valid".to_string()
            } else {
                format!("{} certs expired", active.len() - valid)
            }
        )
    } else {
        let mut t = format!(
            "Certmesh Security Summary\n─────────────────────────\nCreated:          {}{}\nProfile:          {}\nCA protection:    {protection}\nTOTP secret:      Last rotated {}\nEnrollment:       {}{}\nApproval mode:    {}\nCert lifetime:    30 days (renews at day 20)\nScope:            {} / {}\nMembers:          {} active, {} revoked\nCerts expiring:   {soon} within 7 days\nAudit log:        {}",
            m.created,
            m.operator.as_ref().map(|o| format!(" by {o}")).unwrap_or_default(),
            m.trust_profile,
            m.totp_rotated_at,
            if m.enrollment_state == "open" { "Open" } else { "Closed" },
            m.enrollment_last_opened.as_ref().map(|t| format!(" (last opened {t})")).unwrap_or_default(),
            if m.approval_required { "Required" } else { "Not required" },
            m.domain_scope.as_deref().unwrap_or("-"),
            m.subnet_scope.as_deref().unwrap_or("-"),
            active.len(),
            r.revocation_list.len(),
            if audit_ok { "intact (chain and signatures verified)" } else { "VERIFICATION FAILED" }
        );
        if m.trust_profile == "organization" {
            t.push_str(&format!(
                "\nLast audit event: {}",
                last.unwrap_or_else(|| "none".into())
            ));
        }
        t
    };
    done(common, obj, &text)
}
