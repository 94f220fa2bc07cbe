//! Operator entropy collection (spec §4.5). STUB: the lead engineer's keyboard-mashing,
//! XKCD-passphrase and manual collectors replace this file at merge; only `Os` works here.
//! Whatever is collected is mixed with the OS RNG by the caller and never replaces it.

use crate::base::Secret;

/// Where the operator's extra entropy comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntropyMode {
    /// The OS RNG alone.
    Os,
    /// Keyboard mashing on a raw TTY.
    Keyboard,
    /// An XKCD-style passphrase.
    Passphrase,
    /// Manual entry.
    Manual,
}

impl std::str::FromStr for EntropyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "os" => Ok(EntropyMode::Os),
            "keyboard" => Ok(EntropyMode::Keyboard),
            "passphrase" => Ok(EntropyMode::Passphrase),
            "manual" => Ok(EntropyMode::Manual),
            other => Err(format!(
                "unknown entropy source `{other}`; use os, keyboard, passphrase or manual"
            )),
        }
    }
}

/// Operator entropy to mix with the OS RNG; empty for Os. Never replaces the OS RNG.
pub fn collect(mode: &EntropyMode) -> Result<Secret, String> {
    match mode {
        EntropyMode::Os => Ok(Secret::new(Vec::new())),
        _ => Err("not yet available".into()),
    }
}
