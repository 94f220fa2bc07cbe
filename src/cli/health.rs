//! `koi health ...`: present-tense health (spec §6).

use super::client::{AgentCallError, AgentClient};
use super::common::{with_capability, Common, HasCommon, EXIT_NO_AGENT};
use crate::base::signals::Signals;
use crate::base::{format_duration, now_unix, parse_duration};
use crate::health::gateway::spec_from;
use crate::health::json::{AddRequest, LogJson, RemoveRequest, StatusJson};
use crate::health::render::{self, Style};
use crate::health::translog::format_time;
use crate::leaf;
use argh::FromArgs;
use async_io::Timer;
use futures_lite::future;
use miniserde::json;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Is everything up right now?
#[derive(FromArgs, Debug, PartialEq)]
#[argh(
    subcommand,
    name = "health",
    example = "koi health add grafana --http https://stone-05:3000/health",
    example = "koi health watch"
)]
pub struct HealthCmd {
    #[argh(subcommand)]
    cmd: HealthSub,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum HealthSub {
    Status(Status),
    Watch(Watch),
    Add(Add),
    Remove(Remove),
    Log(Log),
}

leaf! {
    /// Machines and services, up or down.
    #[argh(subcommand, name = "status", example = "koi health status --json")]
    pub struct Status {}
}

leaf! {
    /// Live view that redraws in place.
    #[argh(subcommand, name = "watch", example = "koi health watch --every 2s")]
    pub struct Watch {
        /// redraw interval (default: 2s)
        #[argh(option)]
        pub every: Option<String>,
    }
}

leaf! {
    /// Add an HTTP or TCP service check.
    #[argh(subcommand, name = "add", example = "koi health add postgres --tcp stone-05:5432 --interval 30s")]
    pub struct Add {
        /// check name
        #[argh(positional)]
        pub name: String,
        /// URL to GET
        #[argh(option)]
        pub http: Option<String>,
        /// HOST:PORT to connect to
        #[argh(option)]
        pub tcp: Option<String>,
        /// check interval (default: 30s)
        #[argh(option)]
        pub interval: Option<String>,
        /// check timeout (default: 5s)
        #[argh(option)]
        pub timeout: Option<String>,
        /// accepted HTTP statuses (default: 200-399)
        #[argh(option)]
        pub expect: Option<String>,
    }
}

leaf! {
    /// Remove a service check.
    #[argh(subcommand, name = "remove", example = "koi health remove postgres")]
    pub struct Remove {
        /// check name
        #[argh(positional)]
        pub name: String,
    }
}

leaf! {
    /// State transitions.
    #[argh(subcommand, name = "log", example = "koi health log --since 2h")]
    pub struct Log {
        /// only transitions newer than this, e.g. 2h
        #[argh(option)]
        pub since: Option<String>,
    }
}

impl HealthCmd {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let common = match &self.cmd {
            HealthSub::Status(c) => c.common(),
            HealthSub::Watch(c) => c.common(),
            HealthSub::Add(c) => c.common(),
            HealthSub::Remove(c) => c.common(),
            HealthSub::Log(c) => c.common(),
        };
        with_capability("health", &common, || match self.cmd {
            HealthSub::Status(_) => status(&common),
            HealthSub::Watch(c) => watch(&common, c.every.as_deref()),
            HealthSub::Add(c) => add(&common, &c),
            HealthSub::Remove(c) => remove(&common, &c.name),
            HealthSub::Log(c) => log(&common, c.since.as_deref()),
        })
    }
}

fn client(common: &Common) -> Result<AgentClient, ExitCode> {
    AgentClient::find(&common.state).map_err(|e| call_failed(common, &e))
}

fn call_failed(common: &Common, e: &AgentCallError) -> ExitCode {
    match e {
        AgentCallError::NoAgent | AgentCallError::NotAnswering(_) => common.fail(
            &format!(
                "{e}; start one with `koi agent --state-dir {}`",
                common.state.root().display()
            ),
            EXIT_NO_AGENT,
        ),
        AgentCallError::Api(_, msg) => common.fail(msg, 1),
        _ => common.fail(&e.to_string(), 1),
    }
}

fn get_status(common: &Common, c: &AgentClient) -> Result<(String, StatusJson), ExitCode> {
    let text = c
        .get("/v1/health/status")
        .map_err(|e| call_failed(common, &e))?;
    let doc = json::from_str::<StatusJson>(&text)
        .map_err(|_| common.fail("the agent's health reply is not what this koi expects", 1))?;
    Ok((text, doc))
}

fn stdout_is_tty() -> bool {
    // SAFETY: isatty(3) only inspects the descriptor.
    unsafe { libc::isatty(1) == 1 }
}

fn status(common: &Common) -> ExitCode {
    let c = match client(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (text, doc) = match get_status(common, &c) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if common.json {
        println!("{}", text.trim());
    } else {
        let style = if stdout_is_tty() {
            Style::Tty
        } else {
            Style::Plain
        };
        print!("{}", render::status(&doc, style));
    }
    ExitCode::SUCCESS
}

fn watch(common: &Common, every: Option<&str>) -> ExitCode {
    let every = match every.map(parse_duration).transpose() {
        Ok(d) => d.unwrap_or(Duration::from_secs(2)),
        Err(e) => return common.fail(&format!("--every: {e}"), 2),
    };
    if every < Duration::from_millis(100) {
        return common.fail("--every: use at least 100ms", 2);
    }
    let c = match client(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => return common.fail(&format!("cannot install signal handlers: {e}"), 1),
    };
    let tty = stdout_is_tty() && !common.json;
    let mut out = std::io::stdout();
    if tty {
        let _ = out.write_all(render::WATCH_START.as_bytes());
        let _ = out.flush();
    }
    let every_text = format_duration(every);
    let redraw = async {
        loop {
            let (text, doc) = match get_status(common, &c) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let title = format!(
                "koi health watch: every {every_text}, {} UTC (Ctrl-C to stop)",
                format_time(doc.now)
            );
            let frame = if common.json {
                format!("{}\n", text.trim())
            } else if tty {
                render::watch_frame(&title, &doc)
            } else {
                format!("{title}\n{}\n", render::status(&doc, Style::Plain))
            };
            if out
                .write_all(frame.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::SUCCESS;
            }
            Timer::after(every).await;
        }
    };
    let code = async_io::block_on(future::or(redraw, async {
        let _ = signals.recv().await;
        ExitCode::SUCCESS
    }));
    if tty {
        let _ = out.write_all(render::WATCH_RESTORE.as_bytes());
        let _ = out.flush();
    }
    code
}

fn add(common: &Common, a: &Add) -> ExitCode {
    let req = AddRequest {
        name: a.name.clone(),
        http: a.http.clone(),
        tcp: a.tcp.clone(),
        interval: a.interval.clone(),
        timeout: a.timeout.clone(),
        expect: a.expect.clone(),
    };
    // Validate here too, so a typo is named before any agent is needed.
    let spec = match spec_from(&req) {
        Ok(s) => s,
        Err(e) => return common.fail(&e, 2),
    };
    let c = match client(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match c.post("/v1/health/add", &json::to_string(&req)) {
        Ok(text) if common.json => println!("{}", text.trim()),
        Ok(_) => println!(
            "added {} ({} {}, every {}, timeout {})",
            spec.name,
            spec.kind(),
            spec.target,
            format_duration(spec.interval),
            format_duration(spec.timeout)
        ),
        Err(e) => return call_failed(common, &e),
    }
    ExitCode::SUCCESS
}

fn remove(common: &Common, name: &str) -> ExitCode {
    let c = match client(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let body = json::to_string(&RemoveRequest {
        name: name.to_string(),
    });
    match c.post("/v1/health/remove", &body) {
        Ok(text) if common.json => println!("{}", text.trim()),
        Ok(_) => println!("removed {name}"),
        Err(e) => return call_failed(common, &e),
    }
    ExitCode::SUCCESS
}

fn log(common: &Common, since: Option<&str>) -> ExitCode {
    let since = match since.map(parse_duration).transpose() {
        Ok(d) => d
            .map(|d| now_unix().saturating_sub(d.as_secs()))
            .unwrap_or(0),
        Err(e) => return common.fail(&format!("--since: {e}"), 2),
    };
    let c = match client(common) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let text = match c.get(&format!("/v1/health/log?since={since}")) {
        Ok(t) => t,
        Err(e) => return call_failed(common, &e),
    };
    if common.json {
        println!("{}", text.trim());
        return ExitCode::SUCCESS;
    }
    let Ok(doc) = json::from_str::<LogJson>(&text) else {
        return common.fail("the agent's log reply is not what this koi expects", 1);
    };
    if doc.transitions.is_empty() {
        println!("no transitions");
    }
    for t in &doc.transitions {
        println!("{}", t.to_transition().line());
    }
    ExitCode::SUCCESS
}
