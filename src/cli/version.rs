//! `koi version`.

use crate::build_info;
use crate::leaf;
use miniserde::{json, Serialize};
use std::process::ExitCode;

leaf! {
    /// Show the version, git commit and compiled-in capabilities.
    #[argh(subcommand, name = "version", example = "koi version --json")]
    pub struct VersionCmd {}
}

#[derive(Serialize)]
struct VersionInfo {
    version: &'static str,
    commit: &'static str,
    features: Vec<&'static str>,
}

impl VersionCmd {
    /// Runs the command.
    pub fn run(self) -> ExitCode {
        let info = VersionInfo {
            version: build_info::VERSION,
            commit: build_info::COMMIT,
            features: build_info::features(),
        };
        if self.json {
            println!("{}", json::to_string(&info));
        } else {
            println!(
                "koi {} (commit {}; capabilities: {})",
                info.version,
                info.commit,
                info.features.join(", ")
            );
        }
        ExitCode::SUCCESS
    }
}
