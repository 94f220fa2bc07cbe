//! `koi status`: the one-screen summary across capabilities (spec §2).

use super::client::{AgentCallError, AgentClient};
use super::common::{HasCommon, EXIT_NO_AGENT};
use crate::agent::AgentStatus;
use crate::leaf;
use miniserde::json::{self, Object, Value};
use std::process::ExitCode;

leaf! {
    /// One line per capability, from the running agent.
    #[argh(subcommand, name = "status", example = "koi status --json")]
    pub struct StatusCmd {}
}

impl StatusCmd {
    /// Runs the command. Exit 3 when no agent runs.
    pub fn run(self) -> ExitCode {
        let common = self.common();
        let client = AgentClient::find(&common.state);
        let body = client.and_then(|c| c.get("/v1/status"));
        let text = match body {
            Ok(text) => text,
            Err(AgentCallError::NoAgent) | Err(AgentCallError::NotAnswering(_)) => {
                return no_agent(&common);
            }
            Err(e) => return common.fail(&e.to_string(), 1),
        };
        let Ok(status) = json::from_str::<AgentStatus>(&text) else {
            return common.fail("the agent's status reply is not what this koi expects", 1);
        };
        if common.json {
            println!("{}", status_json(&text));
        } else {
            print!("{}", render(&status));
        }
        ExitCode::SUCCESS
    }
}

fn status_json(agent_text: &str) -> String {
    let mut obj = match json::from_str::<Value>(agent_text) {
        Ok(Value::Object(o)) => o,
        _ => Object::new(),
    };
    obj.insert("agent".into(), Value::String("running".into()));
    json::to_string(&obj)
}

fn no_agent(common: &super::common::Common) -> ExitCode {
    let dir = common.state.root().display().to_string();
    if common.json {
        let mut obj = Object::new();
        obj.insert("agent".into(), Value::String("not running".into()));
        obj.insert("state_dir".into(), Value::String(dir.clone()));
        obj.insert(
            "start_with".into(),
            Value::String(format!("koi agent --state-dir {dir}")),
        );
        println!("{}", json::to_string(&obj));
    } else {
        println!(
            "koi {} — no agent is running (state: {dir})",
            crate::build_info::VERSION
        );
        println!();
        println!("  start one with:  koi agent --state-dir {dir}");
    }
    ExitCode::from(EXIT_NO_AGENT)
}

/// The spec §2 layout: a title line, then one aligned line per capability.
pub(crate) fn render(status: &AgentStatus) -> String {
    let mut out = format!("koi v{} — local network toolkit\n\n", status.version);
    for cap in &status.capabilities {
        out.push_str(&format!("  {:<10} {}\n", cap.name, cap.summary));
    }
    out
}
