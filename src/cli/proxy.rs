//! `koi proxy ...`: the TLS-terminating pipe (spec §7).

use super::common::{not_yet_available, with_capability, HasCommon};
use crate::leaf;
use argh::FromArgs;
use std::process::ExitCode;

/// Serve a plain-HTTP service over HTTPS with this machine's mesh cert.
#[derive(FromArgs, Debug, PartialEq)]
#[argh(
    subcommand,
    name = "proxy",
    example = "koi proxy add grafana --listen 443 --backend http://localhost:3000"
)]
pub struct ProxyCmd {
    #[argh(subcommand)]
    cmd: ProxySub,
}

#[derive(FromArgs, Debug, PartialEq)]
#[argh(subcommand)]
enum ProxySub {
    Add(Add),
    Remove(Remove),
    Status(Status),
    List(List),
}

leaf! {
    /// Add a proxy entry.
    #[argh(subcommand, name = "add", example = "koi proxy add grafana --listen 443 --backend http://localhost:3000")]
    pub struct Add {
        /// entry name
        #[argh(positional)]
        pub name: String,
        /// HTTPS port to listen on
        #[argh(option)]
        pub listen: u16,
        /// backend URL, e.g. http://localhost:3000
        #[argh(option)]
        pub backend: String,
        /// allow a backend on another machine (unencrypted hop)
        #[argh(switch)]
        pub backend_remote: bool,
        /// cert directory (default: <state>/certs/<hostname>/)
        #[argh(option)]
        pub cert_path: Option<String>,
    }
}

leaf! {
    /// Remove a proxy entry.
    #[argh(subcommand, name = "remove", example = "koi proxy remove grafana")]
    pub struct Remove {
        /// entry name
        #[argh(positional)]
        pub name: String,
    }
}

leaf! {
    /// Active proxies, cert sources and backend health.
    #[argh(subcommand, name = "status", example = "koi proxy status --json")]
    pub struct Status {}
}

leaf! {
    /// Configured proxy entries.
    #[argh(subcommand, name = "list", example = "koi proxy list")]
    pub struct List {}
}

impl ProxyCmd {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let (common, name) = match &self.cmd {
            ProxySub::Add(c) => (c.common(), "proxy add"),
            ProxySub::Remove(c) => (c.common(), "proxy remove"),
            ProxySub::Status(c) => (c.common(), "proxy status"),
            ProxySub::List(c) => (c.common(), "proxy list"),
        };
        with_capability("proxy", &common, || not_yet_available(&common, name))
    }
}
