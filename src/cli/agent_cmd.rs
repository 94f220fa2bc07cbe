//! `koi agent`: run the long-lived process in the foreground.

use super::common::HasCommon;
use crate::agent::{self, AgentOptions, DEFAULT_CONTROL};
use crate::base::log::{self, Level};
use crate::leaf;
use std::process::ExitCode;

/// The port koi announces itself on as `_koi._tcp`: the certmesh API's LAN port (spec §8.3).
#[cfg(feature = "mdns")]
const SELF_PORT: u16 = 5642;

leaf! {
    /// Run the koi agent in the foreground (Ctrl-C or SIGTERM stops it).
    #[argh(subcommand, name = "agent", example = "koi agent --control 127.0.0.1:0 --state-dir /tmp/koi-a")]
    pub struct AgentCmd {
        /// control API address on loopback (default 127.0.0.1:5640; port 0 picks a free one)
        #[argh(option)]
        pub control: Option<String>,
        /// most control connections served at once (default 64)
        #[argh(option)]
        pub max_connections: Option<usize>,
        /// log level: error, warn, info or debug (default info)
        #[argh(option)]
        pub log_level: Option<String>,
        /// run without mDNS (no multicast at all)
        #[argh(switch)]
        pub no_mdns: bool,
        /// interfaces mDNS uses, comma-separated (default: every up, multicast one)
        #[argh(option)]
        pub interfaces: Option<String>,
        /// mDNS host name without .local (default: the system's)
        #[argh(option)]
        pub hostname: Option<String>,
        /// how long a machine may go unseen before health calls it down (default 60s)
        #[argh(option)]
        pub health_grace: Option<String>,
    }
}

impl AgentCmd {
    #[cfg(feature = "mdns")]
    fn mdns_config(&self) -> Option<crate::mdns::MdnsConfig> {
        if self.no_mdns {
            return None;
        }
        let interfaces = self
            .interfaces
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let version = format!("v={}", crate::build_info::VERSION);
        let caps = format!("caps={}", crate::build_info::features().join(","));
        Some(crate::mdns::MdnsConfig {
            interfaces,
            host: self.hostname.clone(),
            announce_self: Some((SELF_PORT, vec![version.into_bytes(), caps.into_bytes()])),
            ..crate::mdns::MdnsConfig::default()
        })
    }

    /// Runs the agent until it is stopped.
    pub fn run(self) -> ExitCode {
        let common = self.common();
        let control = self.control.as_deref().unwrap_or(DEFAULT_CONTROL);
        let Ok(control) = control.parse() else {
            return common.fail(
                &format!("--control {control:?} is not IP:PORT, e.g. 127.0.0.1:5640"),
                2,
            );
        };
        if let Some(l) = &self.log_level {
            match Level::parse(l) {
                Some(level) => log::set_level(level),
                None => {
                    return common.fail(
                        &format!("--log-level {l:?}: use error, warn, info or debug"),
                        2,
                    )
                }
            }
        }
        let health_grace = match self
            .health_grace
            .as_deref()
            .map(crate::base::parse_duration)
        {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => return common.fail(&format!("--health-grace: {e}"), 2),
        };
        let opts = AgentOptions {
            health_grace,
            state: common.state.clone(),
            control,
            max_connections: self.max_connections.unwrap_or(64).max(1),
            #[cfg(feature = "mdns")]
            mdns: self.mdns_config(),
        };
        match agent::run(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => common.fail(&e.to_string(), 1),
        }
    }
}
