//! The command line: argh command structs and their output, for people and (`--json`) scripts.
//!
//! Owns parsing, dispatch and rendering. It never holds capability logic: a command either
//! runs in-process through a capability's API or calls the agent's control API.

pub mod absent;
pub mod agent_cmd;
#[cfg(feature = "certmesh")]
pub mod certmesh;
mod client;
pub mod common;
#[cfg(feature = "dns")]
pub mod dns;
#[cfg(feature = "health")]
pub mod health;
#[cfg(feature = "mdns")]
pub mod mdns;
#[cfg(feature = "proxy")]
pub mod proxy;
pub mod status;
pub mod version;

pub use client::{AgentCallError, AgentClient};

use argh::FromArgs;
use std::process::ExitCode;

/// koi: discover, trust, name, watch and serve a local network's services.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(
    example = "koi agent",
    example = "koi status",
    example = "koi mdns discover _http._tcp",
    note = "Every command takes --state-dir DIR (env KOI_STATE_DIR) and --json."
)]
pub struct Koi {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum Command {
    #[cfg(feature = "mdns")]
    Mdns(mdns::MdnsCmd),
    #[cfg(not(feature = "mdns"))]
    Mdns(absent::Mdns),
    #[cfg(feature = "certmesh")]
    Certmesh(certmesh::CertmeshCmd),
    #[cfg(not(feature = "certmesh"))]
    Certmesh(absent::Certmesh),
    #[cfg(feature = "dns")]
    Dns(dns::DnsCmd),
    #[cfg(not(feature = "dns"))]
    Dns(absent::Dns),
    #[cfg(feature = "health")]
    Health(health::HealthCmd),
    #[cfg(not(feature = "health"))]
    Health(absent::Health),
    #[cfg(feature = "proxy")]
    Proxy(proxy::ProxyCmd),
    #[cfg(not(feature = "proxy"))]
    Proxy(absent::Proxy),
    Status(status::StatusCmd),
    Version(version::VersionCmd),
    Agent(agent_cmd::AgentCmd),
}

/// Runs a parsed command line.
pub fn run(koi: Koi) -> ExitCode {
    match koi.command {
        Command::Mdns(c) => c.run(),
        Command::Certmesh(c) => c.run(),
        Command::Dns(c) => c.run(),
        Command::Health(c) => c.run(),
        Command::Proxy(c) => c.run(),
        Command::Status(c) => c.run(),
        Command::Version(c) => c.run(),
        Command::Agent(c) => c.run(),
    }
}

/// Rewrites the deprecated spellings `koi discover` and `koi announce` (spec §1.4) to
/// `koi mdns ...`, with a notice on stderr.
pub fn rewrite_deprecated(mut args: Vec<String>) -> Vec<String> {
    if let Some(first) = args.get(1) {
        if first == "discover" || first == "announce" {
            eprintln!(
                "koi: `koi {first}` is deprecated and will be removed; use `koi mdns {first}`"
            );
            args.insert(1, "mdns".to_string());
        }
    }
    args
}

/// Parses `args` (including the program name) and runs the command; argh's help and errors
/// are printed here.
pub fn main_with_args(args: Vec<String>) -> ExitCode {
    let args = rewrite_deprecated(args);
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    match Koi::from_args(&["koi"], &rest) {
        Ok(koi) => run(koi),
        Err(early) => match early.status {
            Ok(()) => {
                println!("{}", early.output);
                ExitCode::SUCCESS
            }
            Err(()) => {
                eprintln!("{}\nRun `koi help` to see the commands.", early.output);
                ExitCode::from(common::EXIT_UNAVAILABLE)
            }
        },
    }
}
