//! The mDNS gateway (spec §3.1): REST on the agent's control API for apps and containers that
//! cannot multicast.
//!
//! - `GET  /v1/mdns/services[?type=_http._tcp]`  snapshot of live services
//! - `GET  /v1/mdns/browse[?type=_http._tcp]`    the snapshot, then live changes, as NDJSON
//! - `GET  /v1/mdns/status`                      announced services, counts, interfaces
//! - `POST /v1/mdns/announce`  `{"instance","type","port","txt":[..],"host","ips":[..]}`
//! - `POST /v1/mdns/withdraw`  `{"instance","type"}`
//! - `POST /v1/mdns/reflect`   `{"between":["eth0","eth1"]}` (empty list stops it)
//!
//! Writes are authenticated by the control API before they get here.

use super::json::{
    AnnounceReply, AnnounceRequest, ReflectRequest, ServiceJson, StatusJson, WithdrawRequest,
};
use super::registry::RegistryEvent;
use super::service::Mdns;
use super::types::{LinkInfo, ServiceType};
use crate::agent::{Capability, CapabilityStatus, ResponseFuture};
use crate::http::{Request, Response};
use futures_lite::{stream, StreamExt};
use miniserde::{json, Deserialize};

/// The mDNS capability as the agent sees it.
pub struct MdnsApi {
    mdns: Mdns,
}

impl MdnsApi {
    /// Wraps a running mDNS layer.
    pub fn new(mdns: Mdns) -> MdnsApi {
        MdnsApi { mdns }
    }
}

impl Capability for MdnsApi {
    fn name(&self) -> &'static str {
        "mdns"
    }

    fn status(&self) -> CapabilityStatus {
        let s = self.mdns.snapshot();
        let live = s.discovered - s.stale;
        let ifaces = {
            let mut names: Vec<&str> = s.links.iter().map(|l| l.name.as_str()).collect();
            names.dedup();
            names.len()
        };
        CapabilityStatus {
            name: "mdns".into(),
            state: "running".into(),
            summary: format!(
                "{live} services discovered, {} stale; {} announced on {ifaces} interface{}",
                s.stale,
                s.announced.len(),
                if ifaces == 1 { "" } else { "s" }
            ),
        }
    }

    fn handle(&self, req: Request) -> Option<ResponseFuture> {
        let mdns = self.mdns.clone();
        let method = req.head.method.clone();
        let resp = match (method.as_str(), req.path()) {
            ("GET", "/v1/mdns/services") => services(&mdns, &req),
            ("GET", "/v1/mdns/browse") => browse(&mdns, &req),
            ("GET", "/v1/mdns/status") => Response::json(
                200,
                json::to_string(&StatusJson::from_snapshot(&mdns.snapshot())),
            ),
            ("POST", "/v1/mdns/announce") => announce(&mdns, &req.body),
            ("POST", "/v1/mdns/withdraw") => withdraw(&mdns, &req.body),
            ("POST", "/v1/mdns/reflect") => reflect(&mdns, &req.body),
            (_, "/v1/mdns/services" | "/v1/mdns/browse" | "/v1/mdns/status") => {
                Response::error(405, "use GET")
            }
            (_, "/v1/mdns/announce" | "/v1/mdns/withdraw" | "/v1/mdns/reflect") => {
                Response::error(405, "use POST")
            }
            _ => return None,
        };
        Some(Box::pin(async move { resp }))
    }
}

fn type_param(req: &Request) -> Result<Option<ServiceType>, Response> {
    match req.query("type") {
        None | Some("") => Ok(None),
        Some(t) => ServiceType::parse(t)
            .map(Some)
            .map_err(|e| Response::error(400, &e.to_string())),
    }
}

fn body<T: Deserialize>(bytes: &[u8], shape: &str) -> Result<T, Response> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| json::from_str(t).ok())
        .ok_or_else(|| Response::error(400, &format!("expected a JSON body like {shape}")))
}

fn services(mdns: &Mdns, req: &Request) -> Response {
    let ty = match type_param(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let links = mdns.snapshot().links;
    let list: Vec<ServiceJson> = mdns
        .services(ty.as_ref())
        .iter()
        .map(|e| ServiceJson::from_entry(e, &links))
        .collect();
    let mut obj = json::Object::new();
    let value = json::from_str::<json::Value>(&json::to_string(&list)).unwrap_or(json::Value::Null);
    obj.insert("services".into(), value);
    Response::json(200, json::to_string(&obj))
}

fn line(mut s: ServiceJson, event: &str) -> Vec<u8> {
    s.event = Some(event.to_string());
    let mut out = json::to_string(&s).into_bytes();
    out.push(b'\n');
    out
}

fn event_line(ev: RegistryEvent, ty: &Option<ServiceType>, links: &[LinkInfo]) -> Option<Vec<u8>> {
    let (entry, name) = match ev {
        RegistryEvent::Added(e) => (e, "found"),
        RegistryEvent::Updated(e) => (e, "updated"),
        RegistryEvent::Stale(e) => (e, "removed"),
        _ => return None,
    };
    if ty
        .as_ref()
        .is_some_and(|t| t != entry.service.service_type())
    {
        return None;
    }
    Some(line(ServiceJson::from_entry(&entry, links), name))
}

fn browse(mdns: &Mdns, req: &Request) -> Response {
    let ty = match type_param(req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let guard = ty.as_ref().map(|t| mdns.browse(t));
    let events = mdns.subscribe();
    let links = mdns.snapshot().links;
    let first: Vec<Vec<u8>> = mdns
        .services(ty.as_ref())
        .iter()
        .map(|e| line(ServiceJson::from_entry(e, &links), "found"))
        .collect();
    let live = stream::unfold((events, guard, ty, links), |state| async move {
        let (events, guard, ty, links) = state;
        loop {
            let ev = events.recv().await.ok()?;
            if let Some(l) = event_line(ev, &ty, &links) {
                return Some((l, (events, guard, ty, links)));
            }
        }
    });
    Response::json_lines(Box::pin(stream::iter(first).chain(live)))
}

fn announce(mdns: &Mdns, bytes: &[u8]) -> Response {
    let req: AnnounceRequest = match body(
        bytes,
        r#"{"instance":"grafana","type":"_http._tcp","port":3000,"txt":["path=/"]}"#,
    ) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let spec = match req.to_spec() {
        Ok(s) => s,
        Err(msg) => return Response::error(400, &msg),
    };
    let service_type = spec.service_type.to_string();
    match mdns.announce(spec) {
        Ok(instance) => {
            crate::log!(Info, "mdns", "announcing {instance:?} {service_type}");
            let reply = AnnounceReply {
                instance,
                service_type,
                state: "probing".into(),
            };
            Response::json(201, json::to_string(&reply))
        }
        Err(e) => Response::error(409, &e.to_string()),
    }
}

fn withdraw(mdns: &Mdns, bytes: &[u8]) -> Response {
    let req: WithdrawRequest = match body(bytes, r#"{"instance":"grafana"}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let ty = match req
        .service_type
        .as_deref()
        .map(ServiceType::parse)
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return Response::error(400, &e.to_string()),
    };
    if mdns.withdraw(&req.instance, ty.as_ref()) {
        crate::log!(Info, "mdns", "withdrew {:?}", req.instance);
        Response::json(200, r#"{"withdrawn":true}"#.into())
    } else {
        Response::error(
            404,
            &format!("no announced service is named {:?}", req.instance),
        )
    }
}

fn reflect(mdns: &Mdns, bytes: &[u8]) -> Response {
    let req: ReflectRequest = match body(bytes, r#"{"between":["eth0","eth1"]}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.between.len() == 1 {
        return Response::error(
            400,
            "reflect between two or more interfaces (or an empty list to stop)",
        );
    }
    let known: Vec<String> = mdns
        .snapshot()
        .links
        .iter()
        .map(|l| l.name.clone())
        .collect();
    if let Some(unknown) = req.between.iter().find(|n| !known.contains(n)) {
        return Response::error(
            400,
            &format!(
                "{unknown:?} is not an interface koi uses (known: {})",
                known.join(", ")
            ),
        );
    }
    crate::log!(Info, "mdns", "reflecting between {:?}", req.between);
    mdns.set_reflector(req.between.clone());
    Response::json(200, json::to_string(&req))
}
