//! Health on the agent's control API (writes are authenticated before they get here):
//!
//! - `GET  /v1/health/status`          `{"now","machines":[...],"services":[...]}`
//! - `GET  /v1/health/log[?since=UNIX]` `{"transitions":[...]}`, oldest first
//! - `POST /v1/health/add`     `{"name","http"|"tcp","interval","timeout","expect"}`
//! - `POST /v1/health/remove`  `{"name"}`

use super::json::{AddRequest, LogJson, RemoveRequest, StatusJson};
use super::model::{parse_expect, CheckSpec, DEFAULT_INTERVAL, DEFAULT_TIMEOUT};
use super::Health;
use crate::agent::{Capability, CapabilityStatus, ResponseFuture};
use crate::base::{format_duration, parse_duration};
use crate::http::{Request, Response};
use miniserde::{json, Deserialize};
use std::time::Duration;

/// The health capability as the agent sees it.
pub struct HealthApi {
    health: Health,
}

impl HealthApi {
    /// Wraps a running health capability.
    pub fn new(health: Health) -> HealthApi {
        HealthApi { health }
    }
}

/// The `koi status` line (spec §2): `11 up, 1 down (stone-09: 4h ago)`.
pub fn summary(s: &StatusJson) -> String {
    let states = s
        .machines
        .iter()
        .map(|m| (m.name.as_str(), m.state.as_str(), Some(m.since)))
        .chain(
            s.services
                .iter()
                .map(|c| (c.name.as_str(), c.state.as_str(), c.since)),
        );
    let (mut up, mut down, mut unknown) = (0, 0, 0);
    let mut first_down: Option<(&str, u64)> = None;
    for (name, state, since) in states {
        match state {
            "up" => up += 1,
            "down" => {
                down += 1;
                let since = since.unwrap_or(s.now);
                if first_down.is_none_or(|(_, t)| since < t) {
                    first_down = Some((name, since));
                }
            }
            _ => unknown += 1,
        }
    }
    if up + down + unknown == 0 {
        return "not configured: no machines seen, no checks (add one with `koi health add`)"
            .to_string();
    }
    let mut out = format!("{up} up, {down} down");
    if let Some((name, since)) = first_down {
        let ago = format_duration(Duration::from_secs(s.now.saturating_sub(since).max(1)));
        out.push_str(&format!(" ({name}: {ago} ago)"));
    }
    if unknown > 0 {
        out.push_str(&format!(", {unknown} pending"));
    }
    out
}

impl Capability for HealthApi {
    fn name(&self) -> &'static str {
        "health"
    }

    fn status(&self) -> CapabilityStatus {
        let s = self.health.status();
        let state = if s.machines.is_empty() && s.services.is_empty() {
            "not_configured"
        } else {
            "running"
        };
        CapabilityStatus {
            name: "health".into(),
            state: state.into(),
            summary: summary(&s),
        }
    }

    fn handle(&self, req: Request) -> Option<ResponseFuture> {
        let h = &self.health;
        let resp = match (req.head.method.as_str(), req.path()) {
            ("GET", "/v1/health/status") => Response::json(200, json::to_string(&h.status())),
            ("GET", "/v1/health/log") => log(h, &req),
            ("POST", "/v1/health/add") => add(h, &req.body),
            ("POST", "/v1/health/remove") => remove(h, &req.body),
            (_, "/v1/health/status" | "/v1/health/log") => Response::error(405, "use GET"),
            (_, "/v1/health/add" | "/v1/health/remove") => Response::error(405, "use POST"),
            _ => return None,
        };
        Some(Box::pin(async move { resp }))
    }
}

fn body<T: Deserialize>(bytes: &[u8], shape: &str) -> Result<T, Response> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| json::from_str(t).ok())
        .ok_or_else(|| Response::error(400, &format!("expected a JSON body like {shape}")))
}

fn log(h: &Health, req: &Request) -> Response {
    let since = match req.query("since") {
        None | Some("") => 0,
        Some(s) => match s.parse::<u64>() {
            Ok(n) => n,
            Err(_) => return Response::error(400, "since must be Unix seconds"),
        },
    };
    let out = LogJson {
        transitions: h.log_since(since),
    };
    Response::json(200, json::to_string(&out))
}

/// Builds a check from an add request.
pub fn spec_from(r: &AddRequest) -> Result<CheckSpec, String> {
    let dur = |v: &Option<String>, d: Duration| match v {
        None => Ok(d),
        Some(t) => parse_duration(t).map_err(|e| e.to_string()),
    };
    let interval = dur(&r.interval, DEFAULT_INTERVAL)?;
    let timeout = dur(&r.timeout, DEFAULT_TIMEOUT)?;
    let expect = match &r.expect {
        None => (200, 399),
        Some(e) => parse_expect(e).map_err(|e| e.to_string())?,
    };
    CheckSpec::new(
        &r.name,
        r.http.as_deref(),
        r.tcp.as_deref(),
        interval,
        timeout,
        expect,
    )
    .map_err(|e| e.to_string())
}

fn add(h: &Health, bytes: &[u8]) -> Response {
    let r: AddRequest = match body(bytes, r#"{"name":"web","http":"http://host/"}"#) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let spec = match spec_from(&r) {
        Ok(s) => s,
        Err(e) => return Response::error(400, &e),
    };
    let name = spec.name.clone();
    match h.add(spec) {
        Ok(true) => {
            let mut obj = json::Object::new();
            obj.insert("added".into(), json::Value::String(name));
            Response::json(200, json::to_string(&obj))
        }
        Ok(false) => Response::error(
            409,
            &format!("a check named {name:?} exists; remove it first (koi health remove {name})"),
        ),
        Err(e) => Response::error(500, &e.to_string()),
    }
}

fn remove(h: &Health, bytes: &[u8]) -> Response {
    let r: RemoveRequest = match body(bytes, r#"{"name":"web"}"#) {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match h.remove(&r.name) {
        Ok(true) => {
            let mut obj = json::Object::new();
            obj.insert("removed".into(), json::Value::String(r.name));
            Response::json(200, json::to_string(&obj))
        }
        Ok(false) => Response::error(404, &format!("no check named {:?}", r.name)),
        Err(e) => Response::error(500, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::json::MachineJson;

    fn machine(name: &str, state: &str, since: u64) -> MachineJson {
        MachineJson {
            name: name.into(),
            state: state.into(),
            reason: String::new(),
            last_seen: None,
            cert_days: None,
            since,
        }
    }

    #[test]
    fn the_status_line_names_the_longest_down() {
        let mut s = StatusJson {
            now: 20_000,
            machines: vec![],
            services: vec![],
        };
        assert!(summary(&s).starts_with("not configured"));
        s.machines = vec![
            machine("stone-01", "up", 0),
            machine("stone-09", "down", 20_000 - 4 * 3600),
            machine("stone-10", "down", 19_990),
            machine("new", "unknown", 19_999),
        ];
        assert_eq!(summary(&s), "1 up, 2 down (stone-09: 4h ago), 1 pending");
    }
}
