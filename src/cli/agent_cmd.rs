//! `koi agent`: run the long-lived process in the foreground.

use super::common::HasCommon;
use crate::agent::{self, AgentOptions, DEFAULT_CONTROL};
use crate::base::log::{self, Level};
use crate::leaf;
use std::process::ExitCode;

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
    }
}

impl AgentCmd {
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
        let opts = AgentOptions {
            state: common.state.clone(),
            control,
            max_connections: self.max_connections.unwrap_or(64).max(1),
        };
        match agent::run(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => common.fail(&e.to_string(), 1),
        }
    }
}
