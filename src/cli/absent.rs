//! Stand-ins for the commands of capabilities left out of this build: each takes any
//! arguments and says the capability is not built in, so the full argument parsers (tens of
//! KiB) are not linked into small builds.

#![allow(unused_imports)]
use super::common::{not_built, Common};
use argh::FromArgs;
use std::process::ExitCode;

#[allow(unused_macros)]
macro_rules! absent {
    ($name:ident, $cmd:literal) => {
        /// Not in this build.
        #[derive(FromArgs, Debug, PartialEq)]
        #[argh(subcommand, name = $cmd)]
        pub struct $name {
            /// ignored
            #[argh(positional, greedy)]
            pub rest: Vec<String>,
        }

        impl $name {
            /// Reports that the capability is not built in (exit 2).
            pub fn run(self) -> ExitCode {
                report(&self.rest, $cmd)
            }
        }
    };
}

#[allow(dead_code)]
fn report(rest: &[String], capability: &str) -> ExitCode {
    let json = rest.iter().any(|a| a == "--json");
    let state_dir = rest
        .iter()
        .position(|a| a == "--state-dir")
        .and_then(|i| rest.get(i + 1))
        .map(String::as_str);
    not_built(&Common::new(state_dir, json), capability)
}

#[cfg(not(feature = "mdns"))]
absent!(Mdns, "mdns");
#[cfg(not(feature = "certmesh"))]
absent!(Certmesh, "certmesh");
#[cfg(not(feature = "dns"))]
absent!(Dns, "dns");
#[cfg(not(feature = "health"))]
absent!(Health, "health");
#[cfg(not(feature = "proxy"))]
absent!(Proxy, "proxy");
