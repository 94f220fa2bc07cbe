//! What each `koi dns` command does: call the agent's `/v1/dns/...` API, or with no agent,
//! run the resolver in the foreground (`serve`) or edit `dns.json` (`add`, `remove`, `stop`).

use crate::base::shutdown_pair;
use crate::base::signals::Signals;
use crate::cli::common::{Common, EXIT_NO_AGENT};
use crate::cli::{AgentCallError, AgentClient};
use crate::dns::config::{
    parse_listen, parse_on_off, parse_upstream, parse_zone, static_ip, static_name, DnsConfig,
    DnsFile, StaticJson,
};
use crate::dns::gateway::{LookupJson, RecordJson, StatusJson};
use crate::dns::Dns;
use async_executor::LocalExecutor;
use miniserde::json::{self, Array, Object, Value};
use std::process::ExitCode;
use std::rc::Rc;

fn no_agent(common: &Common) -> ExitCode {
    common.fail(
        &format!(
            "no koi agent is running (state: {}); start one with `koi agent`",
            common.state.root().display()
        ),
        EXIT_NO_AGENT,
    )
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect::<Array>())
}

/// `koi dns serve`.
pub(super) fn serve(common: &Common, c: &super::Serve) -> ExitCode {
    let mut config = DnsConfig::default();
    let mut body = Object::new();
    let parsed = (|| -> Result<(), String> {
        if let Some(z) = &c.zone {
            config.zone = parse_zone(z).map_err(|e| e.0)?;
            body.insert("zone".into(), Value::String(z.clone()));
        }
        if let Some(p) = c.port {
            config.port = p;
            body.insert(
                "port".into(),
                Value::Number(json::Number::U64(u64::from(p))),
            );
        }
        for l in &c.listen {
            config.listen.push(parse_listen(l).map_err(|e| e.0)?);
        }
        body.insert("listen".into(), strings(&c.listen));
        if let Some(u) = &c.upstream {
            for part in u.split(',').filter(|s| !s.trim().is_empty()) {
                config.upstream.push(parse_upstream(part).map_err(|e| e.0)?);
            }
            let ups: Vec<String> = config.upstream.iter().map(ToString::to_string).collect();
            body.insert("upstream".into(), strings(&ups));
        }
        if let Some(a) = &c.service_aliases {
            config.service_aliases = parse_on_off(a).map_err(|e| e.0)?;
            body.insert("service_aliases".into(), Value::String(a.clone()));
        }
        if let Some(r) = c.rate_limit {
            config.rate_limit = r;
            body.insert(
                "rate_limit".into(),
                Value::Number(json::Number::U64(u64::from(r))),
            );
        }
        Ok(())
    })();
    if let Err(e) = parsed {
        return common.fail(&e, 2);
    }
    match AgentClient::find(&common.state) {
        Ok(client) => match client.post("/v1/dns/serve", &json::to_string(&body)) {
            Ok(text) => {
                if common.json {
                    println!("{text}");
                } else if let Ok(s) = json::from_str::<StatusJson>(&text) {
                    println!(
                        "serving zone {} on {} (upstream: {})",
                        s.zone,
                        s.listen.join(", "),
                        if s.upstream.is_empty() {
                            "none".into()
                        } else {
                            s.upstream.join(", ")
                        }
                    );
                }
                ExitCode::SUCCESS
            }
            Err(AgentCallError::NotAnswering(_)) => no_agent(common),
            Err(e) => common.fail(&e.to_string(), 1),
        },
        Err(AgentCallError::NoAgent) => foreground(common, config),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

/// Runs the resolver in this process until Ctrl-C (no mDNS source: that needs the agent).
fn foreground(common: &Common, config: DnsConfig) -> ExitCode {
    let ex = Rc::new(LocalExecutor::new());
    let dns = match Dns::new(&ex, Some(common.state.clone()), None) {
        Ok(d) => d,
        Err(e) => return common.fail(&e.to_string(), 1),
    };
    let listen = match dns.start(config, false) {
        Ok(l) => l,
        Err(e) => return common.fail(&e.to_string(), 1),
    };
    let s = crate::dns::gateway::status_json(&dns);
    if common.json {
        println!("{}", json::to_string(&s));
    } else {
        println!(
            "no agent running: serving zone {} on {} from this process until Ctrl-C (upstream: {})",
            s.zone,
            listen
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if s.upstream.is_empty() {
                "none".into()
            } else {
                s.upstream.join(", ")
            }
        );
    }
    let (_stop, _stopping) = shutdown_pair();
    async_io::block_on(ex.run(async {
        match Signals::install() {
            Ok(mut sig) => {
                let _ = sig.recv().await;
            }
            Err(_) => futures_lite::future::pending::<()>().await,
        }
    }));
    ExitCode::SUCCESS
}

/// `koi dns stop`.
pub(super) fn stop(common: &Common) -> ExitCode {
    match AgentClient::find(&common.state) {
        Ok(client) => match client.post("/v1/dns/stop", "{}") {
            Ok(text) => {
                if common.json {
                    println!("{text}");
                } else if text.contains("true") {
                    println!("resolver stopped");
                } else {
                    println!("the resolver was not running");
                }
                ExitCode::SUCCESS
            }
            Err(e) => common.fail(&e.to_string(), 1),
        },
        Err(AgentCallError::NoAgent) => {
            let result = DnsFile::load(&common.state).and_then(|mut f| {
                f.running = false;
                f.save(&common.state)
            });
            match result {
                Ok(()) => {
                    if common.json {
                        println!("{{\"stopped\":false}}");
                    } else {
                        println!(
                            "no agent running; the resolver will not start with the next agent"
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => common.fail(&e.to_string(), 1),
            }
        }
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

fn micros(v: Option<u64>) -> String {
    match v {
        None => "-".into(),
        Some(us) if us >= 10_000 => format!("{} ms", us / 1000),
        Some(us) => format!("{us} µs"),
    }
}

/// GETs `path` from the agent for a command that shows it. `Ok(None)`: the reply was printed
/// as it came (`--json`); `Err`: the failure is reported, naming `what` if the reply does not
/// parse.
fn get_view<T: miniserde::Deserialize>(
    common: &Common,
    path: &str,
    what: &str,
) -> Result<Option<T>, ExitCode> {
    let text = match AgentClient::find(&common.state).and_then(|c| c.get(path)) {
        Ok(t) => t,
        Err(AgentCallError::NoAgent | AgentCallError::NotAnswering(_)) => {
            return Err(no_agent(common))
        }
        Err(e) => return Err(common.fail(&e.to_string(), 1)),
    };
    if common.json {
        println!("{text}");
        return Ok(None);
    }
    json::from_str::<T>(&text).map(Some).map_err(|_| {
        common.fail(
            &format!("the agent's {what} is not what this koi expects"),
            1,
        )
    })
}

/// `koi dns status`.
pub(super) fn status(common: &Common) -> ExitCode {
    let s: StatusJson = match get_view(common, "/v1/dns/status", "DNS status") {
        Ok(Some(s)) => s,
        Ok(None) => return ExitCode::SUCCESS,
        Err(code) => return code,
    };
    let q = &s.queries;
    println!(
        "dns: {}, zone {}, {} names ({} static), service aliases {}",
        if s.running { "running" } else { "stopped" },
        s.zone,
        s.names,
        s.statics,
        if s.service_aliases { "on" } else { "off" }
    );
    println!(
        "listen:    {}",
        if s.listen.is_empty() {
            "-".into()
        } else {
            s.listen.join(", ")
        }
    );
    println!(
        "upstream:  {}",
        if s.upstream.is_empty() {
            "-".into()
        } else {
            s.upstream.join(", ")
        }
    );
    println!(
        "queries:   {} total, {} local, {} forwarded, {} refused, {} rate-limited, {} errors",
        q.total, q.local, q.forwarded, q.refused, q.rate_limited, q.errors
    );
    println!(
        "latency:   p50 {}, p99 {}",
        micros(q.p50_us),
        micros(q.p99_us)
    );
    let limit = if s.rate_limit == 0 {
        "off".to_string()
    } else {
        format!("{}/s per /24 or /56", s.rate_limit)
    };
    println!("rate limit: {limit}");
    ExitCode::SUCCESS
}

fn safe_query_value(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// `koi dns lookup NAME [TYPE]`.
pub(super) fn lookup(common: &Common, name: &str, ty: &str) -> ExitCode {
    if !safe_query_value(name) || !safe_query_value(ty) {
        return common.fail(
            &format!("{name:?} {ty:?}: use a host name and a type like A or AAAA"),
            2,
        );
    }
    let path = format!("/v1/dns/lookup?name={name}&type={ty}");
    let l: LookupJson = match get_view(common, &path, "answer") {
        Ok(Some(l)) => l,
        Ok(None) => return ExitCode::SUCCESS,
        Err(code) => return code,
    };
    println!("{} {}: {} (from {})", l.name, l.rtype, l.rcode, l.source);
    for r in &l.answers {
        println!("  {}\t{}\t{}\t{}", r.name, r.ttl, r.rtype, r.value);
    }
    ExitCode::SUCCESS
}

fn edit_file(common: &Common, f: impl FnOnce(&mut DnsFile) -> Result<String, String>) -> ExitCode {
    let mut file = match DnsFile::load(&common.state) {
        Ok(f) => f,
        Err(e) => return common.fail(&e.to_string(), 1),
    };
    let msg = match f(&mut file) {
        Ok(m) => m,
        Err(e) => return common.fail(&e, 1),
    };
    match file.save(&common.state) {
        Ok(()) => {
            if common.json {
                println!("{msg}");
            } else {
                println!(
                    "{} (no agent running: saved for the next start)",
                    msg_text(&msg)
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

fn msg_text(json_msg: &str) -> String {
    json_msg.replace(['{', '}', '"'], "").replace(',', ", ")
}

/// `koi dns add NAME IP`.
pub(super) fn add(common: &Common, name: &str, ip: &str) -> ExitCode {
    let ip = match static_ip(ip) {
        Ok(ip) => ip,
        Err(e) => return common.fail(&e.0, 2),
    };
    let mut body = Object::new();
    body.insert("name".into(), Value::String(name.to_string()));
    body.insert("ip".into(), Value::String(ip.to_string()));
    match AgentClient::find(&common.state) {
        Ok(client) => match client.post("/v1/dns/add", &json::to_string(&body)) {
            Ok(text) => {
                if common.json {
                    println!("{text}");
                } else {
                    let shown =
                        json::from_str::<AddReply>(&text).map_or(name.to_string(), |r| r.name);
                    println!("added {shown} -> {ip}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => common.fail(&e.to_string(), 1),
        },
        Err(AgentCallError::NoAgent) => edit_file(common, |f| {
            let zone = parse_zone(&f.zone).map_err(|e| e.0)?;
            let name = static_name(name, &zone).map_err(|e| e.0)?;
            let entry = StaticJson {
                name: name.to_string(),
                ip: ip.to_string(),
            };
            if !f.statics.contains(&entry) {
                f.statics.push(entry);
            }
            Ok(format!("{{\"name\":\"{name}\",\"ip\":\"{ip}\"}}"))
        }),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

/// `koi dns remove NAME`.
pub(super) fn remove(common: &Common, name: &str) -> ExitCode {
    let mut body = Object::new();
    body.insert("name".into(), Value::String(name.to_string()));
    match AgentClient::find(&common.state) {
        Ok(client) => match client.post("/v1/dns/remove", &json::to_string(&body)) {
            Ok(text) => {
                if common.json {
                    println!("{text}");
                } else {
                    println!("removed {}", msg_text(&text).trim_start_matches("removed:"));
                }
                ExitCode::SUCCESS
            }
            Err(e) => common.fail(&e.to_string(), 1),
        },
        Err(AgentCallError::NoAgent) => edit_file(common, |f| {
            let zone = parse_zone(&f.zone).map_err(|e| e.0)?;
            let name = static_name(name, &zone).map_err(|e| e.0)?;
            let before = f.statics.len();
            let shown = name.to_string();
            f.statics.retain(|s| !s.name.eq_ignore_ascii_case(&shown));
            if f.statics.len() == before {
                return Err(format!("{name} is not a static entry"));
            }
            Ok(format!("{{\"removed\":\"{name}\"}}"))
        }),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

#[derive(miniserde::Deserialize)]
struct AddReply {
    name: String,
}

#[derive(miniserde::Deserialize)]
struct ListJson {
    records: Vec<RecordJson>,
}

/// `koi dns list`.
pub(super) fn list(common: &Common) -> ExitCode {
    let records = match AgentClient::find(&common.state).and_then(|c| c.get("/v1/dns/list")) {
        Ok(text) => match json::from_str::<ListJson>(&text) {
            Ok(l) => l.records,
            Err(_) => return common.fail("the agent's list is not what this koi expects", 1),
        },
        Err(AgentCallError::NoAgent) => match DnsFile::load(&common.state) {
            Ok(f) => f
                .statics
                .into_iter()
                .map(|s| RecordJson {
                    rtype: if s.ip.contains(':') { "AAAA" } else { "A" }.into(),
                    name: s.name,
                    value: s.ip,
                    source: "static".into(),
                    ttl: crate::dns::zone::Source::Static.ttl(),
                })
                .collect(),
            Err(e) => return common.fail(&e.to_string(), 1),
        },
        Err(e) => return common.fail(&e.to_string(), 1),
    };
    if common.json {
        for r in &records {
            println!("{}", json::to_string(r));
        }
        return ExitCode::SUCCESS;
    }
    if records.is_empty() {
        println!("no names yet; add one with `koi dns add nas 192.168.1.20`");
    }
    for r in &records {
        println!(
            "{:<32} {:<5} {:<28} {:<9} {}",
            r.name, r.rtype, r.value, r.source, r.ttl
        );
    }
    ExitCode::SUCCESS
}
