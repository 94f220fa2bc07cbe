//! `koi dns ...`: the local resolver (spec §5).

mod run;

use super::common::{with_capability, HasCommon};
use crate::leaf;
use argh::FromArgs;
use std::process::ExitCode;

/// Answer the local zone (.lan) and forward everything else.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(
    subcommand,
    name = "dns",
    example = "koi dns serve --zone lan --port 53",
    example = "koi dns add nas 192.168.1.20"
)]
pub struct DnsCmd {
    #[argh(subcommand)]
    cmd: DnsSub,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum DnsSub {
    Serve(Serve),
    Stop(Stop),
    Status(Status),
    Lookup(Lookup),
    Add(Add),
    Remove(Remove),
    List(List),
}

leaf! {
    /// Start the local DNS resolver.
    #[argh(subcommand, name = "serve", example = "koi dns serve --zone lan --upstream 192.168.1.1")]
    pub struct Serve {
        /// local zone (default: lan)
        #[argh(option)]
        pub zone: Option<String>,
        /// port (default: 53)
        #[argh(option)]
        pub port: Option<u16>,
        /// address to listen on (repeatable; default: LAN interface addresses)
        #[argh(option)]
        pub listen: Vec<String>,
        /// upstream resolver (default: from /etc/resolv.conf)
        #[argh(option)]
        pub upstream: Option<String>,
        /// generate grafana.lan from _grafana._tcp: on or off (default: on)
        #[argh(option)]
        pub service_aliases: Option<String>,
        /// answers per second per client /24 or /56; 0 turns limiting off (default: 1000)
        #[argh(option)]
        pub rate_limit: Option<u32>,
    }
}

leaf! {
    /// Stop the resolver.
    #[argh(subcommand, name = "stop", example = "koi dns stop")]
    pub struct Stop {}
}

leaf! {
    /// Names, upstream, listen addresses and query statistics.
    #[argh(subcommand, name = "status", example = "koi dns status --json")]
    pub struct Status {}
}

leaf! {
    /// Query a name and show which source answered.
    #[argh(subcommand, name = "lookup", example = "koi dns lookup grafana.lan AAAA")]
    pub struct Lookup {
        /// name to look up
        #[argh(positional)]
        pub name: String,
        /// record type (default: A)
        #[argh(positional)]
        pub rtype: Option<String>,
    }
}

leaf! {
    /// Add a static name (the zone is appended when missing).
    #[argh(subcommand, name = "add", example = "koi dns add nas 192.168.1.20")]
    pub struct Add {
        /// name, e.g. nas or nas.lan
        #[argh(positional)]
        pub name: String,
        /// private IPv4 or IPv6 address
        #[argh(positional)]
        pub ip: String,
    }
}

leaf! {
    /// Remove a static name.
    #[argh(subcommand, name = "remove", example = "koi dns remove nas")]
    pub struct Remove {
        /// name
        #[argh(positional)]
        pub name: String,
    }
}

leaf! {
    /// List every resolvable name with its type, value, source and TTL.
    #[argh(subcommand, name = "list", example = "koi dns list --json")]
    pub struct List {}
}

impl DnsCmd {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let common = match &self.cmd {
            DnsSub::Serve(c) => c.common(),
            DnsSub::Stop(c) => c.common(),
            DnsSub::Status(c) => c.common(),
            DnsSub::Lookup(c) => c.common(),
            DnsSub::Add(c) => c.common(),
            DnsSub::Remove(c) => c.common(),
            DnsSub::List(c) => c.common(),
        };
        with_capability("dns", &common, || match &self.cmd {
            DnsSub::Serve(c) => run::serve(&common, c),
            DnsSub::Stop(_) => run::stop(&common),
            DnsSub::Status(_) => run::status(&common),
            DnsSub::Lookup(c) => run::lookup(&common, &c.name, c.rtype.as_deref().unwrap_or("A")),
            DnsSub::Add(c) => run::add(&common, &c.name, &c.ip),
            DnsSub::Remove(c) => run::remove(&common, &c.name),
            DnsSub::List(_) => run::list(&common),
        })
    }
}
