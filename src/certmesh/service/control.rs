//! The CA's loopback control routes under `/v1/certmesh/` (the agent checks the token for
//! writes): `status`, `unlock`, `open-enrollment`, `close-enrollment`, `approve`, `deny`,
//! `revoke`, `rotate-secret`; and the capability's `koi status` line.

use super::CertmeshService;
use crate::agent::{Capability, CapabilityStatus, ResponseFuture};
use crate::base::{now_unix, OsRandom, Secret};
use crate::http::{Request, Response};
use miniserde::json::{self, Number, Object, Value};
use miniserde::Deserialize;

#[derive(Deserialize)]
struct UnlockBody {
    passphrase: String,
}

#[derive(Deserialize)]
struct WindowBody {
    duration_secs: Option<u64>,
}

#[derive(Deserialize)]
struct WhichBody {
    request: String,
}

#[derive(Deserialize)]
struct RevokeBody {
    host: String,
    reason: Option<String>,
}

fn obj(pairs: Vec<(&str, Value)>) -> Response {
    let mut o = Object::new();
    for (k, v) in pairs {
        o.insert(k.to_string(), v);
    }
    Response::json(200, json::to_string(&o))
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn body<T: Deserialize>(req: &Request) -> Result<T, Response> {
    json::from_str(&String::from_utf8_lossy(&req.body))
        .map_err(|_| Response::error(400, "bad request body"))
}

impl CertmeshService {
    /// The status document (also used by `koi certmesh status`).
    pub fn status_json(&self) -> Object {
        let a = self.auth.borrow();
        let now = now_unix();
        let r = a.roster();
        let mut o = Object::new();
        o.insert("role".into(), s("ca"));
        o.insert("locked".into(), Value::Bool(!a.is_unlocked()));
        o.insert("profile".into(), s(r.metadata.trust_profile.clone()));
        o.insert(
            "ca_fingerprint".into(),
            s(r.metadata.ca_fingerprint.clone()),
        );
        o.insert("api".into(), s(self.addr.to_string()));
        o.insert(
            "enrollment".into(),
            s(if a.enrollment_open(now) {
                "open"
            } else {
                "closed"
            }),
        );
        o.insert(
            "enrollment_closes_at".into(),
            r.metadata
                .enrollment_closes_at
                .clone()
                .map_or(Value::Null, Value::String),
        );
        let members = r
            .members
            .iter()
            .map(|m| {
                let mut e = Object::new();
                e.insert("hostname".into(), s(m.hostname.clone()));
                e.insert("role".into(), s(m.role.clone()));
                e.insert("status".into(), s(m.status.clone()));
                e.insert("cert_expires".into(), s(m.cert_expires.clone()));
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
        let pending = a
            .pending()
            .map(|p| {
                let mut e = Object::new();
                e.insert("request".into(), s(p.id.clone()));
                e.insert("hostname".into(), s(p.request.hostname.clone()));
                Value::Object(e)
            })
            .collect();
        o.insert("pending".into(), Value::Array(pending));
        o.insert(
            "revoked".into(),
            Value::Array(
                r.revocation_list
                    .iter()
                    .map(|x| s(x.hostname.clone()))
                    .collect(),
            ),
        );
        o
    }

    fn control(&self, req: Request) -> Response {
        let now = now_unix();
        let path = req.path().trim_start_matches("/v1/certmesh/").to_string();
        let method = req.head.method.clone();
        let result: Result<Response, crate::certmesh::authority::Refused> =
            match (method.as_str(), path.as_str()) {
                ("GET", "status") => Ok(Response::json(200, json::to_string(&self.status_json()))),
                ("POST", "open-enrollment") => {
                    let b: WindowBody = match body(&req) {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    self.auth
                        .borrow_mut()
                        .open_enrollment(now, b.duration_secs)
                        .map(|until| {
                            obj(vec![
                                ("enrollment", s("open")),
                                (
                                    "closes_at",
                                    until.map_or(Value::Null, |t| s(crate::base::format_utc(t))),
                                ),
                            ])
                        })
                }
                ("POST", "close-enrollment") => self
                    .auth
                    .borrow_mut()
                    .close_enrollment(now)
                    .map(|()| obj(vec![("enrollment", s("closed"))])),
                ("POST", "approve") => {
                    let b: WhichBody = match body(&req) {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    self.auth
                        .borrow_mut()
                        .approve(&b.request, now, &mut OsRandom)
                        .map(|i| {
                            obj(vec![
                                ("approved", s(b.request.clone())),
                                ("sans", Value::Array(i.sans.into_iter().map(s).collect())),
                            ])
                        })
                }
                ("POST", "deny") => {
                    let b: WhichBody = match body(&req) {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    self.auth
                        .borrow_mut()
                        .deny(&b.request, now)
                        .map(|h| obj(vec![("denied", s(h))]))
                }
                ("POST", "revoke") => {
                    let b: RevokeBody = match body(&req) {
                        Ok(b) => b,
                        Err(r) => return r,
                    };
                    self.auth
                        .borrow_mut()
                        .revoke(&b.host, b.reason, now)
                        .map(|()| obj(vec![("revoked", s(b.host.clone()))]))
                }
                ("POST", "rotate-secret") => {
                    let mut a = self.auth.borrow_mut();
                    let host = a
                        .roster()
                        .members
                        .iter()
                        .find(|m| m.role == "primary")
                        .map_or_else(|| "ca".to_string(), |m| m.hostname.clone());
                    a.rotate_secret(now, &mut OsRandom).map(|secret| {
                        let uri = koi_wire::totp::otpauth_uri(
                            "koi",
                            &format!("certmesh@{host}"),
                            secret.expose(),
                        );
                        obj(vec![("totp_uri", s(uri))])
                    })
                }
                _ => return Response::error(404, "no such certmesh endpoint"),
            };
        match result {
            Ok(r) => r,
            Err(e) => Response::error(e.status(), &e.to_string()),
        }
    }

    async fn unlock(self, req: Request) -> Response {
        let b: UnlockBody = match body(&req) {
            Ok(b) => b,
            Err(r) => return r,
        };
        if self.auth.borrow().is_unlocked() {
            return obj(vec![("locked", Value::Bool(false))]);
        }
        let dir = self.paths.ca_dir();
        let (tx, rx) = async_channel::bounded(1);
        let pass = Secret::new(b.passphrase.into_bytes());
        std::thread::spawn(move || {
            let r = crate::certmesh::envelope::Envelope::open(&dir)
                .and_then(|env| env.unwrap_master_with_passphrase(&pass))
                .map_err(|e| e.to_string());
            let _ = tx.send_blocking(r);
        });
        let master = match rx.recv().await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Response::error(403, &e),
            Err(_) => return Response::error(500, "unlock thread failed"),
        };
        let r = self.auth.borrow_mut().unlock_with_master(master);
        match r {
            Ok(()) => {
                self.auth.borrow().log(now_unix(), "unlocked", "passphrase");
                obj(vec![("locked", Value::Bool(false))])
            }
            Err(e) => Response::error(403, &e),
        }
    }
}

impl Capability for CertmeshService {
    fn name(&self) -> &'static str {
        "certmesh"
    }

    fn status(&self) -> CapabilityStatus {
        let a = self.auth.borrow();
        let n = a
            .roster()
            .members
            .iter()
            .filter(|m| m.status == "active")
            .count();
        CapabilityStatus {
            name: "certmesh".into(),
            state: "running".into(),
            summary: format!(
                "CA {} on {}, {n} members, enrollment {}",
                if a.is_unlocked() {
                    "unlocked"
                } else {
                    "LOCKED"
                },
                self.addr,
                if a.enrollment_open(now_unix()) {
                    "open"
                } else {
                    "closed"
                }
            ),
        }
    }

    fn handle(&self, req: Request) -> Option<ResponseFuture> {
        if req.head.method == "POST" && req.path() == "/v1/certmesh/unlock" {
            return Some(Box::pin(self.clone().unlock(req)));
        }
        let resp = self.control(req);
        Some(Box::pin(async move { resp }))
    }
}
