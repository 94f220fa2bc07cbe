//! `koi mdns announce NAME TYPE PORT`: registered with the agent (which keeps it until it is
//! withdrawn or the agent stops), or kept in the foreground until Ctrl-C, with goodbyes then.

use super::local::{interrupted, with_local_mdns};
use super::Announce;
use crate::cli::common::{Common, HasCommon, EXIT_NO_AGENT};
use crate::cli::{AgentCallError, AgentClient};
use crate::mdns::json::{state_name, AnnounceReply, AnnounceRequest, StatusJson};
use crate::mdns::responder::ServiceState;
use crate::mdns::MdnsConfig;
use async_io::Timer;
use futures_lite::future;
use miniserde::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How long `announce` waits for probing and the first announcement before it returns.
const SETTLE: Duration = Duration::from_secs(5);

pub(super) fn run(cmd: &Announce) -> ExitCode {
    let common = cmd.common();
    let req = AnnounceRequest {
        instance: cmd.name.clone(),
        service_type: cmd.service_type.clone(),
        port: cmd.port,
        txt: Some(cmd.txt.clone()),
        host: cmd.host.clone(),
        ips: Some(cmd.ip.clone()),
    };
    if let Err(e) = req.to_spec() {
        return common.fail(&e, 2);
    }
    match AgentClient::find(&common.state) {
        Ok(client) => match via_agent(&client, &common, &req) {
            Err(AgentCallError::NotAnswering(_)) => in_foreground(&common, req),
            Err(e) => common.fail(&e.to_string(), 1),
            Ok(code) => code,
        },
        Err(AgentCallError::NoAgent) => in_foreground(&common, req),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

fn via_agent(
    client: &AgentClient,
    common: &Common,
    req: &AnnounceRequest,
) -> Result<ExitCode, AgentCallError> {
    let text = client.post("/v1/mdns/announce", &json::to_string(req))?;
    let reply: AnnounceReply =
        json::from_str(&text).map_err(|_| AgentCallError::Api(200, "unexpected reply".into()))?;
    // Wait (bounded) until probing is over, so the name printed is the one in use.
    let deadline = Instant::now() + SETTLE;
    let mut last = None;
    while Instant::now() < deadline {
        let status: Option<StatusJson> = client
            .get("/v1/mdns/status")
            .ok()
            .and_then(|t| json::from_str(&t).ok());
        let mine = status.and_then(|s| {
            s.announced
                .into_iter()
                .find(|a| a.original == req.instance && a.service_type == reply.service_type)
        });
        if let Some(a) = mine {
            let done = a.state == "announced";
            last = Some(a);
            if done {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(a) = last else {
        return Ok(common.fail("the agent accepted the service but does not list it", 1));
    };
    if common.json {
        println!("{}", json::to_string(&a));
    } else {
        println!(
            "{} {}.{}.local on port {} (kept by the agent until `koi mdns withdraw {}`)",
            if a.state == "announced" {
                "announced"
            } else {
                "announcing"
            },
            a.instance,
            a.service_type,
            a.port,
            req.instance
        );
        if let Some(from) = &a.renamed_from {
            println!("  renamed from {from:?}: another host on the network uses that name");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn in_foreground(common: &Common, req: AnnounceRequest) -> ExitCode {
    let Ok(spec) = req.to_spec() else {
        return ExitCode::from(2);
    };
    if !common.json {
        eprintln!("koi: no agent running; announcing from this process until Ctrl-C");
    }
    let config = MdnsConfig {
        browse_all: false,
        ..MdnsConfig::default()
    };
    let as_json = common.json;
    let result = with_local_mdns(config, |mdns| async move {
        if let Err(e) = mdns.announce(spec) {
            return Err(e.to_string());
        }
        let watching = async {
            let mut reported = None;
            loop {
                if let Some(s) = mdns.snapshot().announced.into_iter().next() {
                    let now = (s.instance.clone(), s.state);
                    if reported.as_ref() != Some(&now) {
                        report(
                            &s.instance,
                            &s.service_type.to_string(),
                            s.port,
                            s.state,
                            s.renamed_from.as_deref(),
                            as_json,
                        );
                        reported = Some(now);
                    }
                }
                Timer::after(Duration::from_millis(100)).await;
            }
        };
        future::or(watching, interrupted()).await;
        Ok(())
    });
    match result {
        Ok(Ok(())) => {
            if !as_json {
                eprintln!("koi: withdrawn (goodbyes sent)");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e)) | Err(e) => common.fail(&e, 1),
    }
}

fn report(
    instance: &str,
    ty: &str,
    port: u16,
    state: ServiceState,
    renamed: Option<&str>,
    as_json: bool,
) {
    if as_json {
        let mut obj = json::Object::new();
        obj.insert("instance".into(), json::Value::String(instance.into()));
        obj.insert("type".into(), json::Value::String(ty.into()));
        obj.insert(
            "port".into(),
            json::Value::Number(json::Number::U64(u64::from(port))),
        );
        obj.insert(
            "state".into(),
            json::Value::String(state_name(state).into()),
        );
        if let Some(r) = renamed {
            obj.insert("renamed_from".into(), json::Value::String(r.into()));
        }
        println!("{}", json::to_string(&obj));
    } else {
        println!("{} {instance}.{ty}.local on port {port}", state_name(state));
        if let Some(r) = renamed {
            println!("  renamed from {r:?}: another host on the network uses that name");
        }
    }
}

/// `koi mdns withdraw NAME`: only an agent keeps services to withdraw.
pub(super) fn withdraw(common: &Common, name: &str) -> ExitCode {
    let client = match AgentClient::find(&common.state) {
        Ok(c) => c,
        Err(AgentCallError::NoAgent) => {
            return common.fail(
                "no agent is running, so nothing is announced to withdraw (a foreground `koi mdns announce` withdraws on Ctrl-C)",
                EXIT_NO_AGENT,
            )
        }
        Err(e) => return common.fail(&e.to_string(), 1),
    };
    let mut body = json::Object::new();
    body.insert("instance".into(), json::Value::String(name.into()));
    match client.post("/v1/mdns/withdraw", &json::to_string(&body)) {
        Ok(text) => {
            if common.json {
                println!("{text}");
            } else {
                println!("withdrew {name:?} (goodbyes sent)");
            }
            ExitCode::SUCCESS
        }
        Err(AgentCallError::Api(404, msg)) => common.fail(&msg, 1),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}
