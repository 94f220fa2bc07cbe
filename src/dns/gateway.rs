//! The DNS capability on the agent's control API (spec §5.3):
//!
//! - `GET  /v1/dns/status`                     running, zone, names, listen, upstream, stats
//! - `POST /v1/dns/serve`  `{"zone","port","listen":[..],"upstream":[..],"service_aliases","rate_limit"}`
//! - `POST /v1/dns/stop`
//! - `POST /v1/dns/add`    `{"name":"nas","ip":"192.168.1.20"}` (the zone is appended)
//! - `POST /v1/dns/remove` `{"name":"nas"}`
//! - `GET  /v1/dns/list`                       every name: type, value, source, TTL
//! - `GET  /v1/dns/lookup?name=grafana.lan&type=A`  the answer and its source
//! - `GET  /v1/dns/names[?ip=10.0.0.5,fd00::5]`     names generated for a machine (SANs)
//!
//! Writes are authenticated by the control API before they get here.

use super::answer::{handle, Context, Outcome};
use super::config::{
    parse_listen, parse_on_off, parse_upstream, parse_zone, static_ip, static_name, DnsConfig,
};
use super::forward::ask_upstreams;
use super::service::Dns;
use crate::agent::{Capability, CapabilityStatus, ResponseFuture};
use crate::http::{Request, Response};
use koi_wire::dns::{Class, Header, Message, Name, Question, RData, Record, RecordType};
use miniserde::{json, Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// The DNS capability as the agent sees it.
pub struct DnsApi {
    dns: Dns,
}

impl DnsApi {
    /// Wraps a resolver handle.
    pub fn new(dns: Dns) -> DnsApi {
        DnsApi { dns }
    }
}

/// The status JSON.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct StatusJson {
    /// Serving now.
    pub running: bool,
    /// The zone.
    pub zone: String,
    /// Names answered.
    pub names: u64,
    /// Static entries.
    pub statics: u64,
    /// Listening sockets.
    pub listen: Vec<String>,
    /// Upstreams.
    pub upstream: Vec<String>,
    /// Rate limit per client network (0: off).
    pub rate_limit: u32,
    /// Service aliases on.
    pub service_aliases: bool,
    /// Query counters.
    pub queries: QueriesJson,
}

/// Query statistics.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct QueriesJson {
    /// All queries.
    pub total: u64,
    /// Answered locally.
    pub local: u64,
    /// Forwarded.
    pub forwarded: u64,
    /// REFUSED.
    pub refused: u64,
    /// Rate-limited.
    pub rate_limited: u64,
    /// Errors (FORMERR, NOTIMP, SERVFAIL...).
    pub errors: u64,
    /// Median latency in microseconds.
    pub p50_us: Option<u64>,
    /// 99th percentile latency in microseconds.
    pub p99_us: Option<u64>,
}

/// One record in `list` and `lookup`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct RecordJson {
    /// Owner name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Value.
    pub value: String,
    /// Source: static, certmesh, mdns, or upstream.
    pub source: String,
    /// TTL.
    pub ttl: u32,
}

/// The `lookup` JSON.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct LookupJson {
    /// Name asked.
    pub name: String,
    /// Type asked.
    #[serde(rename = "type")]
    pub rtype: String,
    /// RCODE.
    pub rcode: String,
    /// Who answered: static, certmesh, mdns, zone, upstream.
    pub source: String,
    /// Answer records.
    pub answers: Vec<RecordJson>,
}

#[derive(Deserialize)]
struct ServeRequest {
    zone: Option<String>,
    port: Option<u16>,
    listen: Option<Vec<String>>,
    upstream: Option<Vec<String>>,
    service_aliases: Option<String>,
    rate_limit: Option<u32>,
}

#[derive(Deserialize)]
struct AddRequest {
    name: String,
    ip: String,
}

#[derive(Deserialize)]
struct RemoveRequest {
    name: String,
}

impl Capability for DnsApi {
    fn name(&self) -> &'static str {
        "dns"
    }

    fn status(&self) -> CapabilityStatus {
        let s = self.dns.status();
        CapabilityStatus {
            name: "dns".into(),
            state: if s.running { "running" } else { "not_running" }.into(),
            summary: if s.running {
                format!(
                    "zone {} ({} names) on {}; {} queries",
                    s.zone,
                    s.names,
                    s.listen
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.stats.total
                )
            } else {
                format!(
                    "not running ({} static names); start with `koi dns serve`",
                    s.statics
                )
            },
        }
    }

    fn handle(&self, req: Request) -> Option<ResponseFuture> {
        let dns = self.dns.clone();
        let method = req.head.method.clone();
        let resp = match (method.as_str(), req.path()) {
            ("GET", "/v1/dns/status") => Response::json(200, json::to_string(&status_json(&dns))),
            ("POST", "/v1/dns/serve") => serve(&dns, &req.body),
            ("POST", "/v1/dns/stop") => match dns.stop() {
                Ok(was) => Response::json(200, format!("{{\"stopped\":{was}}}")),
                Err(e) => Response::error(500, &e.to_string()),
            },
            ("POST", "/v1/dns/add") => add(&dns, &req.body),
            ("POST", "/v1/dns/remove") => remove(&dns, &req.body),
            ("GET", "/v1/dns/list") => list(&dns),
            ("GET", "/v1/dns/names") => names(&dns, &req),
            ("GET", "/v1/dns/lookup") => {
                let name = req.query("name").unwrap_or("").to_string();
                let ty = req.query("type").unwrap_or("A").to_string();
                return Some(Box::pin(async move { lookup(&dns, &name, &ty).await }));
            }
            (_, "/v1/dns/status" | "/v1/dns/list" | "/v1/dns/lookup" | "/v1/dns/names") => {
                Response::error(405, "use GET")
            }
            (_, "/v1/dns/serve" | "/v1/dns/stop" | "/v1/dns/add" | "/v1/dns/remove") => {
                Response::error(405, "use POST")
            }
            _ => return None,
        };
        Some(Box::pin(async move { resp }))
    }
}

/// The status as JSON.
pub fn status_json(dns: &Dns) -> StatusJson {
    let s = dns.status();
    StatusJson {
        running: s.running,
        zone: s.zone,
        names: s.names as u64,
        statics: s.statics as u64,
        listen: s.listen.iter().map(ToString::to_string).collect(),
        upstream: s.upstream.iter().map(ToString::to_string).collect(),
        rate_limit: s.rate_limit,
        service_aliases: s.service_aliases,
        queries: QueriesJson {
            total: s.stats.total,
            local: s.stats.local,
            forwarded: s.stats.forwarded,
            refused: s.stats.refused,
            rate_limited: s.stats.rate_limited,
            errors: s.stats.errors,
            p50_us: s.stats.percentile(50.0),
            p99_us: s.stats.percentile(99.0),
        },
    }
}

fn body<T: Deserialize>(bytes: &[u8], shape: &str) -> Result<T, Response> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| json::from_str(t).ok())
        .ok_or_else(|| Response::error(400, &format!("expected a JSON body like {shape}")))
}

fn serve_config(req: ServeRequest) -> Result<DnsConfig, String> {
    let mut c = DnsConfig::default();
    if let Some(z) = &req.zone {
        c.zone = parse_zone(z).map_err(|e| e.0)?;
    }
    if let Some(p) = req.port {
        c.port = p;
    }
    for l in req.listen.unwrap_or_default() {
        c.listen.push(parse_listen(&l).map_err(|e| e.0)?);
    }
    for u in req.upstream.unwrap_or_default() {
        c.upstream.push(parse_upstream(&u).map_err(|e| e.0)?);
    }
    if let Some(a) = &req.service_aliases {
        c.service_aliases = parse_on_off(a).map_err(|e| e.0)?;
    }
    if let Some(r) = req.rate_limit {
        c.rate_limit = r;
    }
    Ok(c)
}

fn serve(dns: &Dns, bytes: &[u8]) -> Response {
    let req: ServeRequest = match body(bytes, r#"{"zone":"lan","port":53}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let config = match serve_config(req) {
        Ok(c) => c,
        Err(e) => return Response::error(400, &e),
    };
    match dns.start(config, true) {
        Ok(_) => Response::json(200, json::to_string(&status_json(dns))),
        Err(e) => Response::error(409, &e.to_string()),
    }
}

fn add(dns: &Dns, bytes: &[u8]) -> Response {
    let req: AddRequest = match body(bytes, r#"{"name":"nas","ip":"192.168.1.20"}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let zone = dns.zone_name();
    let name = match static_name(&req.name, &zone) {
        Ok(n) => n,
        Err(e) => return Response::error(400, &e.0),
    };
    let ip = match static_ip(&req.ip) {
        Ok(ip) => ip,
        Err(e) => return Response::error(400, &e.0),
    };
    match dns.add_static(&name, ip) {
        Ok(()) => {
            let mut o = json::Object::new();
            o.insert("name".into(), json::Value::String(name.to_string()));
            o.insert("ip".into(), json::Value::String(ip.to_string()));
            Response::json(200, json::to_string(&o))
        }
        Err(e) => Response::error(500, &e.to_string()),
    }
}

fn remove(dns: &Dns, bytes: &[u8]) -> Response {
    let req: RemoveRequest = match body(bytes, r#"{"name":"nas"}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let name = match static_name(&req.name, &dns.zone_name()) {
        Ok(n) => n,
        Err(e) => return Response::error(400, &e.0),
    };
    match dns.remove_static(&name) {
        Ok(true) => Response::json(200, format!("{{\"removed\":{:?}}}", name.to_string())),
        Ok(false) => Response::error(404, &format!("{name} is not a static entry")),
        Err(e) => Response::error(500, &e.to_string()),
    }
}

/// Every name of the zone (or the statics when stopped).
pub fn list_records(dns: &Dns) -> Vec<RecordJson> {
    let entries = dns.with_zone(|z| z.entries()).unwrap_or_else(|| {
        dns.statics()
            .into_iter()
            .map(|(n, d)| (n, super::zone::Source::Static, d))
            .collect()
    });
    let mut out = Vec::new();
    for (name, source, data) in entries {
        for d in data {
            out.push(RecordJson {
                name: name.to_string(),
                rtype: d.type_name().into(),
                value: d.value(),
                source: source.as_str().into(),
                ttl: source.ttl(),
            });
        }
    }
    out
}

fn list(dns: &Dns) -> Response {
    let mut o = json::Object::new();
    let v = json::from_str::<json::Value>(&json::to_string(&list_records(dns)))
        .unwrap_or(json::Value::Null);
    o.insert("records".into(), v);
    Response::json(200, json::to_string(&o))
}

fn names(dns: &Dns, req: &Request) -> Response {
    let mut o = json::Object::new();
    match req.query("ip") {
        Some(ips) if !ips.is_empty() => {
            let addrs: Vec<IpAddr> = ips.split(',').filter_map(|s| s.parse().ok()).collect();
            let names = dns.names_for_machine(&addrs);
            let v = names.into_iter().map(json::Value::String).collect();
            o.insert("names".into(), json::Value::Array(v));
        }
        _ => {
            let mut m = json::Object::new();
            for (host, names) in dns.recorded_names() {
                let v = names.into_iter().map(json::Value::String).collect();
                m.insert(host, json::Value::Array(v));
            }
            o.insert("machines".into(), json::Value::Object(m));
        }
    }
    Response::json(200, json::to_string(&o))
}

/// A record's value in presentation form.
pub fn rdata_text(r: &RData) -> String {
    match r {
        RData::A(a) => a.to_string(),
        RData::Aaaa(a) => a.to_string(),
        RData::Ns(n) | RData::Cname(n) | RData::Ptr(n) => n.to_string(),
        RData::Mx {
            preference,
            exchange,
        } => format!("{preference} {exchange}"),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => format!("{priority} {weight} {port} {target}"),
        RData::Txt(t) => t
            .iter()
            .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
            .collect::<Vec<_>>()
            .join(" "),
        RData::Soa {
            mname,
            rname,
            serial,
            ..
        } => format!("{mname} {rname} {serial}"),
        other => format!("{other:?}"),
    }
}

/// Parses a record type mnemonic (A, AAAA, SRV, TXT, PTR, ...) or `TYPEnnn`.
pub fn parse_type(text: &str) -> Option<RecordType> {
    let up = text.trim().to_ascii_uppercase();
    for t in [
        RecordType::A,
        RecordType::AAAA,
        RecordType::SRV,
        RecordType::TXT,
        RecordType::PTR,
        RecordType::SOA,
        RecordType::NS,
        RecordType::MX,
        RecordType::CNAME,
        RecordType::ANY,
        RecordType::HINFO,
    ] {
        if t.to_string() == up {
            return Some(t);
        }
    }
    up.strip_prefix("TYPE")
        .and_then(|n| n.parse().ok())
        .map(RecordType)
}

fn records_json(records: &[Record], source: &str) -> Vec<RecordJson> {
    records
        .iter()
        .map(|r| RecordJson {
            name: r.name.to_string(),
            rtype: r.rtype.to_string(),
            value: rdata_text(&r.rdata),
            source: source.into(),
            ttl: r.ttl,
        })
        .collect()
}

async fn lookup(dns: &Dns, name: &str, ty: &str) -> Response {
    let Some(qtype) = parse_type(ty) else {
        return Response::error(400, &format!("unknown record type {ty:?}"));
    };
    let Ok(mut qname) = Name::from_dotted(name.trim()) else {
        return Response::error(400, &format!("{name:?} is not a DNS name"));
    };
    if qname.label_count() == 1 {
        // `grafana` means `grafana.lan`.
        if let Ok(n) = qname.concat(&dns.zone_name()) {
            qname = n;
        }
    }
    let mut q = Message::default();
    q.header.set(Header::RD, true);
    q.questions
        .push(Question::new(qname.clone(), qtype, Class::IN));
    let Ok(packet) = q.encode(512) else {
        return Response::error(400, "cannot encode the query");
    };
    let outcome = dns.with_zone(|z| {
        let source = z.lookup(&qname).map(|(s, _)| s.as_str()).or_else(|| {
            super::zone::parse_reverse(&qname)
                .and_then(|ip| z.reverse(ip))
                .map(|(s, _)| s.as_str())
        });
        let ctx = Context {
            tcp: true,
            allowed: true,
            rotate: 0,
        };
        (handle(z, &packet, ctx), source.unwrap_or("zone"))
    });
    let Some((outcome, source)) = outcome else {
        return Response::error(
            409,
            "the resolver is not running; start it with `koi dns serve`",
        );
    };
    let reply = match outcome {
        Outcome::Reply(bytes, _) => match Message::parse(&bytes) {
            Ok(m) => (m, source.to_string()),
            Err(_) => return Response::error(500, "unreadable answer"),
        },
        Outcome::Forward(query, _) => {
            let upstreams = dns.upstreams();
            let Some(question) = query.questions.first() else {
                return Response::error(500, "no question");
            };
            match ask_upstreams(&upstreams, question, Duration::from_secs(2)).await {
                Some(m) => (m, "upstream".to_string()),
                None => return Response::error(504, "no upstream answered"),
            }
        }
        Outcome::Drop => return Response::error(500, "no answer"),
    };
    let (m, source) = reply;
    let out = LookupJson {
        name: qname.to_string(),
        rtype: qtype.to_string(),
        rcode: m.rcode().to_string(),
        source: source.clone(),
        answers: records_json(&m.answers, &source),
    };
    Response::json(200, json::to_string(&out))
}
