//! What a service check is (its target, interval, timeout and accepted statuses) and what one
//! run of it found, with the parsing of `--http URL`, `--tcp HOST:PORT` and `--expect 200-399`.
//!
//! Pure: no sockets, no clock. Every parser returns an error for bad input, never panics.

use crate::base::{format_duration, UnixTime};
use std::fmt;
use std::time::Duration;

/// Longest check name.
pub const MAX_NAME: usize = 64;
/// Default check interval (spec §6.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// Default check timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Shortest interval and timeout accepted.
pub const MIN_PERIOD: Duration = Duration::from_millis(100);
/// Longest interval and timeout accepted.
pub const MAX_PERIOD: Duration = Duration::from_secs(24 * 3600);

/// Up, down, or not known yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Working.
    Up,
    /// Not working.
    Down,
    /// Not checked yet (or not seen long enough to say).
    Unknown,
}

impl State {
    /// `up`, `down` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
            State::Unknown => "unknown",
        }
    }

    /// The inverse of [`State::as_str`].
    pub fn parse(s: &str) -> State {
        match s {
            "up" => State::Up,
            "down" => State::Down,
            _ => State::Unknown,
        }
    }
}

/// An `http://` or `https://` URL to GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTarget {
    /// `https`.
    pub tls: bool,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 or 443).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Where a check points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// GET a URL, expect a status in range.
    Http(HttpTarget),
    /// Connect to a port.
    Tcp {
        /// Host name or IP literal.
        host: String,
        /// Port.
        port: u16,
    },
}

/// A configured service check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSpec {
    /// Its name, e.g. `grafana`.
    pub name: String,
    /// What it probes.
    pub probe: Probe,
    /// How often.
    pub interval: Duration,
    /// How long one run may take.
    pub timeout: Duration,
    /// Accepted HTTP statuses, inclusive.
    pub expect: (u16, u16),
    /// The text it was added with (`https://...` or `host:port`).
    pub target: String,
}

/// A bad check definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(msg: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(msg.into()))
}

/// Checks a check name: 1 to 64 of `A-Z a-z 0-9 - _ .`.
pub fn check_name(name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        err(format!(
            "check name {name:?}: use 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"
        ))
    }
}

/// Splits `host:port` (`[v6]:port` for IPv6).
pub fn parse_host_port(text: &str) -> Result<(String, u16), SpecError> {
    let bad = || SpecError(format!("{text:?} is not HOST:PORT, e.g. stone-05:5432"));
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, p) = rest.split_once("]:").ok_or_else(bad)?;
        (h, p)
    } else {
        text.rsplit_once(':').ok_or_else(bad)?
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 || host.contains(':') && !text.starts_with('[') {
        return Err(bad());
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':' | b'%'))
    {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// Parses an `http://` or `https://` URL (no user info, no fragment).
pub fn parse_url(text: &str) -> Result<HttpTarget, SpecError> {
    let (tls, rest) = if let Some(r) = text.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = text.strip_prefix("https://") {
        (true, r)
    } else {
        return err(format!(
            "{text:?}: the URL must start with http:// or https://"
        ));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    if authority.contains('@') || path.contains('#') || !path.bytes().all(|b| b.is_ascii_graphic())
    {
        return err(format!(
            "{text:?}: no user info, fragments or spaces in a check URL"
        ));
    }
    let default = if tls { 443 } else { 80 };
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(h, _)| !h.contains(':') || h.ends_with(']'));
    let (host, port) = if has_port {
        parse_host_port(authority)?
    } else {
        let h = authority.trim_start_matches('[').trim_end_matches(']');
        parse_host_port(&format!("[{h}]:{default}"))?
    };
    Ok(HttpTarget {
        tls,
        host,
        port,
        path,
    })
}

/// Parses `200-399` or a single `200`.
pub fn parse_expect(text: &str) -> Result<(u16, u16), SpecError> {
    let bad = || {
        SpecError(format!(
            "--expect {text:?}: write a status or a range, e.g. 200-399"
        ))
    };
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
    if !(100..=999).contains(&lo) || !(100..=999).contains(&hi) || lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// Checks an interval or timeout is within 100ms..24h.
pub fn check_period(what: &str, d: Duration) -> Result<(), SpecError> {
    if d < MIN_PERIOD || d > MAX_PERIOD {
        return err(format!("{what} {}: use 100ms to 24h", format_duration(d)));
    }
    Ok(())
}

impl CheckSpec {
    /// Builds a check from the `koi health add` fields.
    pub fn new(
        name: &str,
        http: Option<&str>,
        tcp: Option<&str>,
        interval: Duration,
        timeout: Duration,
        expect: (u16, u16),
    ) -> Result<CheckSpec, SpecError> {
        check_name(name)?;
        check_period("--interval", interval)?;
        check_period("--timeout", timeout)?;
        let (probe, target) = match (http, tcp) {
            (Some(u), None) => (Probe::Http(parse_url(u)?), u.to_string()),
            (None, Some(t)) => {
                let (host, port) = parse_host_port(t)?;
                (Probe::Tcp { host, port }, t.to_string())
            }
            _ => return err("give exactly one of --http URL or --tcp HOST:PORT"),
        };
        Ok(CheckSpec {
            name: name.to_string(),
            probe,
            interval,
            timeout,
            expect,
            target,
        })
    }

    /// `http` or `tcp`.
    pub fn kind(&self) -> &'static str {
        match self.probe {
            Probe::Http(_) => "http",
            Probe::Tcp { .. } => "tcp",
        }
    }

    /// The target as status shows it: `host:port`.
    pub fn shown_target(&self) -> String {
        let (host, port) = match &self.probe {
            Probe::Http(h) => (&h.host, h.port),
            Probe::Tcp { host, port } => (host, *port),
        };
        if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        }
    }
}

/// What one run of a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Up or down.
    pub state: State,
    /// Short form for status and the log: `200`, `502`, `open`, `refused`, `timeout`, `tls`.
    pub label: String,
    /// Why, in words: `HTTP 502, expected 200-399`, `TLS: certificate expired`, ...
    pub reason: String,
}

impl Outcome {
    /// An up outcome.
    pub fn up(label: impl Into<String>, reason: impl Into<String>) -> Outcome {
        Outcome {
            state: State::Up,
            label: label.into(),
            reason: reason.into(),
        }
    }

    /// A down outcome.
    pub fn down(label: impl Into<String>, reason: impl Into<String>) -> Outcome {
        Outcome {
            state: State::Down,
            label: label.into(),
            reason: reason.into(),
        }
    }
}

/// A check's current view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceView {
    /// The check.
    pub spec: CheckSpec,
    /// Its latest outcome (None before the first run ends).
    pub last: Option<Outcome>,
    /// When the latest run ended.
    pub checked_at: Option<UnixTime>,
    /// When its label last changed.
    pub since: Option<UnixTime>,
    /// The largest lateness of a run against its schedule so far, in milliseconds.
    pub max_drift_ms: u64,
    /// Runs so far.
    pub runs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_reject_junk() {
        let u = parse_url("https://stone-05:3000/health?x=1").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "stone-05", 3000, "/health?x=1")
        );
        let u = parse_url("http://127.0.0.1").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = parse_url("https://[::1]/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 443));
        let u = parse_url("http://[::1]:8080").unwrap();
        assert_eq!(u.port, 8080);
        for bad in [
            "ftp://x",
            "http://",
            "http://a:0/",
            "http://u@h/",
            "http://h/a b",
            "http://h:99999/",
            "http://h/#f",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_ports_and_expect_ranges() {
        assert_eq!(parse_host_port("db:5432").unwrap(), ("db".into(), 5432));
        assert_eq!(parse_host_port("[::1]:22").unwrap(), ("::1".into(), 22));
        for bad in ["db", ":1", "db:", "::1:22", "a b:1", "db:x"] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_expect("200-399").unwrap(), (200, 399));
        assert_eq!(parse_expect("204").unwrap(), (204, 204));
        for bad in ["", "399-200", "50", "200-1000", "x"] {
            assert!(parse_expect(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn specs_need_one_target_a_good_name_and_sane_periods() {
        let s = Duration::from_secs;
        assert!(CheckSpec::new("pg", None, Some("db:5432"), s(30), s(5), (200, 399)).is_ok());
        assert!(CheckSpec::new(
            "pg",
            Some("http://a/"),
            Some("db:1"),
            s(30),
            s(5),
            (200, 399)
        )
        .is_err());
        assert!(CheckSpec::new("pg", None, None, s(30), s(5), (200, 399)).is_err());
        assert!(CheckSpec::new("a|b", None, Some("db:1"), s(30), s(5), (200, 399)).is_err());
        assert!(CheckSpec::new(
            "pg",
            None,
            Some("db:1"),
            Duration::from_millis(10),
            s(5),
            (200, 399)
        )
        .is_err());
    }
}
