//! Operator entropy for `koi certmesh create` (spec §4.5): keyboard mashing with a live
//! progress bar, an XKCD-style generated passphrase, or a passphrase typed by hand.
//!
//! Owns collecting and condensing that entropy into 32 bytes. What it returns is only ever
//! mixed with the OS RNG by the CA key generation, never used instead of it, so a dull
//! operator can weaken nothing. It never logs or stores what it collects; generated
//! passphrases are shown once, to the operator, and handed back to be used as the CA's
//! unlock passphrase.

pub mod pool;
mod tty;
pub mod words;

pub use tty::{is_tty, read_hidden_line};

use crate::base::{OsRandom, Secret};
use std::fmt;
use std::io::Write;

/// The shortest passphrase accepted by hand.
pub const MIN_MANUAL_LEN: usize = 12;

/// Where the operator's entropy comes from (`--entropy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntropyMode {
    /// The OS RNG alone: no operator input (scripts, containers).
    Os,
    /// Keyboard mashing on the terminal (the interactive default).
    Keyboard,
    /// A generated XKCD-style passphrase, shown once, which also becomes the unlock passphrase.
    Passphrase,
    /// A passphrase typed twice without echo (for password-manager users), which also becomes
    /// the unlock passphrase.
    Manual,
}

impl std::str::FromStr for EntropyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<EntropyMode, String> {
        match s.to_ascii_lowercase().as_str() {
            "os" => Ok(EntropyMode::Os),
            "keyboard" => Ok(EntropyMode::Keyboard),
            "passphrase" => Ok(EntropyMode::Passphrase),
            "manual" => Ok(EntropyMode::Manual),
            _ => Err(format!(
                "unknown entropy source {s:?}: use os, keyboard, passphrase or manual"
            )),
        }
    }
}

impl fmt::Display for EntropyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntropyMode::Os => "os",
            EntropyMode::Keyboard => "keyboard",
            EntropyMode::Passphrase => "passphrase",
            EntropyMode::Manual => "manual",
        })
    }
}

/// What collection produced.
#[derive(Debug)]
pub struct Collected {
    /// 32 bytes of operator entropy to mix with the OS RNG; empty for [`EntropyMode::Os`].
    pub pool: Secret,
    /// The passphrase chosen on the way ([`EntropyMode::Passphrase`] and
    /// [`EntropyMode::Manual`]), to protect the CA key with.
    pub passphrase: Option<Secret>,
}

/// Operator entropy to mix with the OS RNG; empty for [`EntropyMode::Os`]. Prompts go to
/// stderr. Never replaces the OS RNG.
pub fn collect(mode: &EntropyMode) -> Result<Secret, String> {
    gather(*mode, &mut std::io::stderr()).map(|c| c.pool)
}

/// Collects entropy as `mode` says, talking to the operator on `out`.
pub fn gather(mode: EntropyMode, out: &mut dyn Write) -> Result<Collected, String> {
    match mode {
        EntropyMode::Os => Ok(Collected {
            pool: Secret::new(Vec::new()),
            passphrase: None,
        }),
        EntropyMode::Keyboard => Ok(Collected {
            pool: tty::mash(out)?,
            passphrase: None,
        }),
        EntropyMode::Passphrase => {
            let phrase = words::passphrase(words::DEFAULT_WORDS, &mut OsRandom)
                .map_err(|e| format!("cannot read the OS RNG: {e}"))?;
            show_once(&phrase, out)?;
            Ok(Collected {
                pool: pool::digest_passphrase(&phrase),
                passphrase: Some(phrase),
            })
        }
        EntropyMode::Manual => {
            let phrase = ask_twice(out)?;
            Ok(Collected {
                pool: pool::digest_passphrase(&phrase),
                passphrase: Some(phrase),
            })
        }
    }
}

/// Shows a generated passphrase once.
fn show_once(phrase: &Secret, out: &mut dyn Write) -> Result<(), String> {
    let text = String::from_utf8_lossy(phrase.expose());
    writeln!(
        out,
        "Your CA passphrase ({:.0} bits; write it down, it is shown only this once):\n\n    {text}\n",
        words::bits(words::DEFAULT_WORDS)
    )
    .map_err(|e| format!("cannot show the passphrase: {e}"))
}

/// Reads a hand-typed passphrase twice and checks the two agree and are long enough.
fn ask_twice(out: &mut dyn Write) -> Result<Secret, String> {
    let first = read_hidden_line("CA passphrase: ", out)?;
    check_manual(&first)?;
    let again = read_hidden_line("Again: ", out)?;
    if !crate::base::ct_eq(first.expose(), again.expose()) {
        return Err("the two passphrases differ".into());
    }
    Ok(first)
}

/// A hand-typed passphrase must have at least [`MIN_MANUAL_LEN`] characters.
pub fn check_manual(phrase: &Secret) -> Result<(), String> {
    let chars = String::from_utf8_lossy(phrase.expose()).chars().count();
    if chars < MIN_MANUAL_LEN {
        return Err(format!(
            "the passphrase is too short ({chars} characters; at least {MIN_MANUAL_LEN})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_parses_and_prints_back() {
        for m in [
            EntropyMode::Os,
            EntropyMode::Keyboard,
            EntropyMode::Passphrase,
            EntropyMode::Manual,
        ] {
            assert_eq!(m.to_string().parse::<EntropyMode>(), Ok(m));
        }
        assert_eq!("KEYBOARD".parse::<EntropyMode>(), Ok(EntropyMode::Keyboard));
        let e = "dice".parse::<EntropyMode>().unwrap_err();
        assert!(e.contains("dice") && e.contains("keyboard"), "{e}");
    }

    #[test]
    fn os_mode_adds_nothing_and_asks_nothing() {
        let mut out = Vec::new();
        let c = gather(EntropyMode::Os, &mut out).unwrap();
        assert!(c.pool.expose().is_empty() && c.passphrase.is_none() && out.is_empty());
    }

    #[test]
    fn a_generated_passphrase_is_shown_once_and_becomes_the_pool() {
        let mut out = Vec::new();
        let c = gather(EntropyMode::Passphrase, &mut out).unwrap();
        let phrase = c.passphrase.unwrap();
        let shown = String::from_utf8(out).unwrap();
        let text = std::str::from_utf8(phrase.expose()).unwrap();
        assert_eq!(shown.matches(text).count(), 1, "{shown}");
        assert_eq!(c.pool, pool::digest_passphrase(&phrase));
    }

    #[test]
    fn short_hand_typed_passphrases_are_refused_with_the_minimum() {
        let e = check_manual(&Secret::new(b"hunter2".to_vec())).unwrap_err();
        assert!(e.contains("12"), "{e}");
        assert!(check_manual(&Secret::new("pässwörd-ünd-mehr".as_bytes().to_vec())).is_ok());
    }
}
