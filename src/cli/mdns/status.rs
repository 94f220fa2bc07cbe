//! `koi mdns status` and `koi mdns reflect`.

use super::local::{interrupted, with_local_mdns};
use super::render;
use crate::cli::common::{Common, EXIT_NO_AGENT};
use crate::cli::{AgentCallError, AgentClient};
use crate::mdns::json::StatusJson;
use crate::mdns::MdnsConfig;
use miniserde::json;
use std::process::ExitCode;

fn no_agent(common: &Common) -> ExitCode {
    common.fail(
        &format!(
            "no koi agent is running (state: {}); start one with `koi agent`",
            common.state.root().display()
        ),
        EXIT_NO_AGENT,
    )
}

pub(super) fn status(common: &Common) -> ExitCode {
    let text = match AgentClient::find(&common.state).and_then(|c| c.get("/v1/mdns/status")) {
        Ok(t) => t,
        Err(AgentCallError::NoAgent | AgentCallError::NotAnswering(_)) => return no_agent(common),
        Err(e) => return common.fail(&e.to_string(), 1),
    };
    if common.json {
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    match json::from_str::<StatusJson>(&text) {
        Ok(s) => {
            print!("{}", render::status(&s));
            ExitCode::SUCCESS
        }
        Err(_) => common.fail("the agent's mDNS status is not what this koi expects", 1),
    }
}

pub(super) fn reflect(common: &Common, between: &str, off: bool) -> ExitCode {
    let names: Vec<String> = if off {
        Vec::new()
    } else {
        between
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    if !off && names.len() < 2 {
        return common.fail(
            "name two or more interfaces: --between eth0,eth1 (or --off)",
            2,
        );
    }
    let mut body = json::Object::new();
    let list = names
        .iter()
        .map(|n| json::Value::String(n.clone()))
        .collect::<json::Array>();
    body.insert("between".into(), json::Value::Array(list));
    match AgentClient::find(&common.state) {
        Ok(client) => match client.post("/v1/mdns/reflect", &json::to_string(&body)) {
            Ok(text) => {
                if common.json {
                    println!("{text}");
                } else if off {
                    println!("reflector off");
                } else {
                    println!("reflecting mDNS between {}", names.join(", "));
                }
                ExitCode::SUCCESS
            }
            Err(e) => common.fail(&e.to_string(), 1),
        },
        Err(AgentCallError::NoAgent) if !off => reflect_in_foreground(common, names),
        Err(AgentCallError::NoAgent) => no_agent(common),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

fn reflect_in_foreground(common: &Common, names: Vec<String>) -> ExitCode {
    if !common.json {
        eprintln!(
            "koi: no agent running; reflecting between {} from this process until Ctrl-C",
            names.join(", ")
        );
    }
    let config = MdnsConfig {
        interfaces: names.clone(),
        browse_all: false,
        ..MdnsConfig::default()
    };
    let result = with_local_mdns(config, |mdns| async move {
        mdns.set_reflector(names);
        interrupted().await;
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common.fail(&e, 1),
    }
}
