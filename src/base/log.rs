//! A tiny leveled logger to stderr.
//!
//! Messages carry a UTC timestamp, a level and a module tag. Secrets never reach it: callers log
//! what happened, not the values (no tokens, keys, codes or DNS query names above debug).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something failed.
    Error = 1,
    /// Something is wrong but koi carries on.
    Warn = 2,
    /// Normal operation worth a line.
    Info = 3,
    /// Detail for diagnosing (may include DNS query names).
    Debug = 4,
}

impl Level {
    /// Parses `error|warn|info|debug`.
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "error" => Some(Level::Error),
            "warn" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }

    /// The level's name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the most detailed level that is printed.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// The current level.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Error,
        2 => Level::Warn,
        4 => Level::Debug,
        _ => Level::Info,
    }
}

/// True if messages at `level` are printed.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

#[doc(hidden)]
pub fn write(level: Level, tag: &str, args: std::fmt::Arguments<'_>) {
    let ts = super::format_utc(super::now_unix());
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{ts} {:5} {tag}: {args}", level.name());
}

/// Logs at a level with a module tag: `log!(Info, "agent", "listening on {addr}")`.
#[macro_export]
macro_rules! log {
    ($level:ident, $tag:expr, $($arg:tt)+) => {
        if $crate::base::log::enabled($crate::base::log::Level::$level) {
            $crate::base::log::write($crate::base::log::Level::$level, $tag, format_args!($($arg)+));
        }
    };
}
