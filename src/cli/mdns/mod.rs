//! `koi mdns ...`: service discovery (spec §3).

mod announce;
mod discover;
mod local;
mod render;
mod status;

use super::common::HasCommon;
use crate::leaf;
use argh::FromArgs;
use std::process::ExitCode;

/// Discover and announce services with mDNS/DNS-SD.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(
    subcommand,
    name = "mdns",
    example = "koi mdns discover _http._tcp --timeout 5",
    example = "koi mdns announce grafana _http._tcp 3000 --txt path=/"
)]
pub struct MdnsCmd {
    #[argh(subcommand)]
    cmd: MdnsSub,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum MdnsSub {
    Discover(Discover),
    Announce(Announce),
    Withdraw(Withdraw),
    Status(Status),
    Reflect(Reflect),
}

leaf! {
    /// Find services on the local network (browses by itself when no agent runs).
    #[argh(subcommand, name = "discover", example = "koi mdns discover _http._tcp --timeout 5")]
    pub struct Discover {
        /// service type, e.g. _http._tcp (default: every type)
        #[argh(positional)]
        pub service_type: Option<String>,
        /// stop after this many seconds (default: run until Ctrl-C)
        #[argh(option)]
        pub timeout: Option<u64>,
    }
}

leaf! {
    /// Advertise a service (kept by the agent, or in the foreground until Ctrl-C).
    #[argh(subcommand, name = "announce", example = "koi mdns announce grafana _http._tcp 3000 --txt path=/")]
    pub struct Announce {
        /// instance name, e.g. grafana
        #[argh(positional)]
        pub name: String,
        /// service type, e.g. _http._tcp
        #[argh(positional)]
        pub service_type: String,
        /// port
        #[argh(positional)]
        pub port: u16,
        /// TXT entry KEY=VALUE (repeatable)
        #[argh(option)]
        pub txt: Vec<String>,
        /// host name to advertise (default: this machine's)
        #[argh(option)]
        pub host: Option<String>,
        /// address to advertise (repeatable; default: the interface's own)
        #[argh(option)]
        pub ip: Vec<String>,
    }
}

leaf! {
    /// Stop advertising a service (sends goodbyes).
    #[argh(subcommand, name = "withdraw", example = "koi mdns withdraw grafana")]
    pub struct Withdraw {
        /// instance name
        #[argh(positional)]
        pub name: String,
    }
}

leaf! {
    /// Show announced and discovered services and per-interface state.
    #[argh(subcommand, name = "status", example = "koi mdns status --json")]
    pub struct Status {}
}

leaf! {
    /// Reflect mDNS between named interfaces (opt-in).
    #[argh(subcommand, name = "reflect", example = "koi mdns reflect --between eth0,eth1")]
    pub struct Reflect {
        /// comma-separated interfaces, e.g. eth0,eth1
        #[argh(option)]
        pub between: Option<String>,
        /// stop reflecting
        #[argh(switch)]
        pub off: bool,
    }
}

impl MdnsCmd {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let common = match &self.cmd {
            MdnsSub::Discover(c) => c.common(),
            MdnsSub::Announce(c) => c.common(),
            MdnsSub::Withdraw(c) => c.common(),
            MdnsSub::Status(c) => c.common(),
            MdnsSub::Reflect(c) => c.common(),
        };
        self.dispatch(&common)
    }

    fn dispatch(&self, common: &super::common::Common) -> ExitCode {
        match &self.cmd {
            MdnsSub::Discover(c) => discover::run(c),
            MdnsSub::Announce(c) => announce::run(c),
            MdnsSub::Withdraw(c) => announce::withdraw(common, &c.name),
            MdnsSub::Status(_) => status::status(common),
            MdnsSub::Reflect(c) => {
                status::reflect(common, c.between.as_deref().unwrap_or(""), c.off)
            }
        }
    }
}
