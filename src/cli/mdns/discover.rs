//! `koi mdns discover [TYPE] [--timeout SECS]`: through the agent's browse stream, or by
//! itself when no agent runs.

use super::local::{interrupted, timeout, with_local_mdns};
use super::render::event_line;
use super::Discover;
use crate::cli::common::{Common, HasCommon};
use crate::cli::{AgentCallError, AgentClient};
use crate::mdns::json::ServiceJson;
use crate::mdns::registry::RegistryEvent;
use crate::mdns::{MdnsConfig, ServiceType};
use futures_lite::future;
use miniserde::json;
use std::process::ExitCode;
use std::time::Duration;

pub(super) fn run(cmd: &Discover) -> ExitCode {
    let common = cmd.common();
    let ty = match cmd
        .service_type
        .as_deref()
        .map(ServiceType::parse)
        .transpose()
    {
        Ok(t) => t,
        Err(e) => return common.fail(&e.to_string(), 2),
    };
    match AgentClient::find(&common.state) {
        Ok(client) => match via_agent(&client, &common, ty.as_ref(), cmd.timeout) {
            Err(AgentCallError::NotAnswering(_)) => by_itself(&common, ty, cmd.timeout),
            Err(e) => common.fail(&e.to_string(), 1),
            Ok(()) => ExitCode::SUCCESS,
        },
        Err(AgentCallError::NoAgent) => by_itself(&common, ty, cmd.timeout),
        Err(e) => common.fail(&e.to_string(), 1),
    }
}

fn print(json_line: &str, as_json: bool) {
    if as_json {
        println!("{json_line}");
    } else if let Ok(s) = json::from_str::<ServiceJson>(json_line) {
        println!("{}", event_line(&s));
    }
}

fn via_agent(
    client: &AgentClient,
    common: &Common,
    ty: Option<&ServiceType>,
    secs: Option<u64>,
) -> Result<(), AgentCallError> {
    let path = match ty {
        Some(t) => format!("/v1/mdns/browse?type={t}"),
        None => "/v1/mdns/browse".to_string(),
    };
    client.stream_lines(&path, secs.map(Duration::from_secs), |line| {
        print(line, common.json);
        true
    })
}

fn by_itself(common: &Common, ty: Option<ServiceType>, secs: Option<u64>) -> ExitCode {
    if !common.json {
        eprintln!("koi: no agent running; browsing from this process (Ctrl-C to stop)");
    }
    let config = MdnsConfig {
        browse_all: ty.is_none(),
        ..MdnsConfig::default()
    };
    let as_json = common.json;
    let result = with_local_mdns(config, |mdns| async move {
        let _guard = ty.as_ref().map(|t| mdns.browse(t));
        let events = mdns.subscribe();
        let links = mdns.snapshot().links;
        let printing = async {
            while let Ok(ev) = events.recv().await {
                let (entry, name) = match ev {
                    RegistryEvent::Added(e) => (e, "found"),
                    RegistryEvent::Updated(e) => (e, "updated"),
                    RegistryEvent::Stale(e) => (e, "removed"),
                    _ => continue,
                };
                if ty
                    .as_ref()
                    .is_some_and(|t| t != entry.service.service_type())
                {
                    continue;
                }
                let mut j = ServiceJson::from_entry(&entry, &links);
                j.event = Some(name.into());
                print(&json::to_string(&j), as_json);
            }
        };
        future::or(printing, future::or(interrupted(), timeout(secs))).await;
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common.fail(&e, 1),
    }
}
