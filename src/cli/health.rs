//! `koi health ...`: present-tense health (spec §6).

use super::common::{not_yet_available, with_capability, HasCommon};
use crate::leaf;
use argh::FromArgs;
use std::process::ExitCode;

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
        let (common, name) = match &self.cmd {
            HealthSub::Status(c) => (c.common(), "health status"),
            HealthSub::Watch(c) => (c.common(), "health watch"),
            HealthSub::Add(c) => (c.common(), "health add"),
            HealthSub::Remove(c) => (c.common(), "health remove"),
            HealthSub::Log(c) => (c.common(), "health log"),
        };
        with_capability("health", &common, || not_yet_available(&common, name))
    }
}
