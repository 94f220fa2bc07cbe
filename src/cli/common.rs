//! What every leaf command shares: `--state-dir`, `--json`, and how results and errors print.

use crate::state::{resolve_root, StateDir};
use miniserde::json::{self, Object, Value};
use std::process::ExitCode;

/// Exit code for "this command or capability is not available in this build".
pub const EXIT_UNAVAILABLE: u8 = 2;
/// Exit code for "no agent is running".
pub const EXIT_NO_AGENT: u8 = 3;

/// The options every leaf command takes.
#[derive(Debug, Clone)]
pub struct Common {
    /// The resolved state directory.
    pub state: StateDir,
    /// Print JSON instead of text.
    pub json: bool,
}

/// Implemented by every leaf command (through [`leaf!`](crate::leaf)).
pub trait HasCommon {
    /// The shared options.
    fn common(&self) -> Common;
}

/// Declares a leaf command struct with the shared `--state-dir` and `--json` options appended.
///
/// Field types are written as `Name` or `Name<Inner>` and passed through as raw tokens, because
/// argh recognises `Option`, `Vec` and `bool` by their spelling.
#[macro_export]
macro_rules! leaf {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ident $(<$inner:ident>)?),* $(,)? }) => {
        #[derive(argh::FromArgs, Debug, PartialEq)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty $(<$inner>)?,)*
            /// state directory (default ~/.koi, or /var/lib/koi as root; env KOI_STATE_DIR)
            #[argh(option)]
            pub state_dir: Option<String>,
            /// print JSON instead of text
            #[argh(switch)]
            pub json: bool,
        }
        impl $crate::cli::common::HasCommon for $name {
            fn common(&self) -> $crate::cli::common::Common {
                $crate::cli::common::Common {
                    state: $crate::state::StateDir::new($crate::state::resolve_root(self.state_dir.as_deref())),
                    json: self.json,
                }
            }
        }
    };
}

impl Common {
    /// Shared options for callers outside argh (tests).
    pub fn new(state_dir: Option<&str>, json: bool) -> Common {
        Common {
            state: StateDir::new(resolve_root(state_dir)),
            json,
        }
    }

    /// Prints an error (stderr as text, or stdout as `{"error": ...}`) and returns `code`.
    pub fn fail(&self, message: &str, code: u8) -> ExitCode {
        if self.json {
            let mut obj = Object::new();
            obj.insert("error".into(), Value::String(message.to_string()));
            println!("{}", json::to_string(&obj));
        } else {
            eprintln!("koi: {message}");
        }
        ExitCode::from(code)
    }
}

/// The answer of a command whose capability is compiled in but not built yet.
pub fn not_yet_available(common: &Common, command: &str) -> ExitCode {
    if common.json {
        let mut obj = Object::new();
        obj.insert(
            "error".into(),
            Value::String("not yet available".to_string()),
        );
        obj.insert("command".into(), Value::String(command.to_string()));
        println!("{}", json::to_string(&obj));
    } else {
        eprintln!(
            "koi {command}: not yet available in koi {}",
            crate::build_info::VERSION
        );
    }
    ExitCode::from(EXIT_UNAVAILABLE)
}

/// The answer of a command whose capability was left out of this build.
pub fn not_built(common: &Common, capability: &str) -> ExitCode {
    common.fail(
        &format!(
            "this koi was built without the `{capability}` capability (cargo feature `{capability}`)"
        ),
        EXIT_UNAVAILABLE,
    )
}

/// Runs `f` if `capability` is compiled in, else reports that it is not.
pub fn with_capability(
    capability: &str,
    common: &Common,
    f: impl FnOnce() -> ExitCode,
) -> ExitCode {
    if crate::build_info::compiled(capability) {
        f()
    } else {
        not_built(common, capability)
    }
}
