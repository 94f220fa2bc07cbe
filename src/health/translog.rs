//! The transition log (spec §6.5): a flat append-only text file of state changes only.
//!
//! ```text
//! 2026-02-10 14:30:00 | stone-09   | up → down    | mDNS: not seen for 60s
//! ```
//!
//! Owns `health.log` in the state directory and its one rotated predecessor `health.log.1`:
//! when a line would take the file past the cap (1 MiB by default) the file becomes
//! `health.log.1` (replacing the older one) and a new one starts, so the log never holds more
//! than two caps. It must never record a check that did not change, and never grow beyond
//! that bound. Times are UTC. Lines that do not parse (edited by hand, torn) are skipped.

use crate::base::UnixTime;
use crate::state::read_bounded;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Default size cap of one log file.
pub const DEFAULT_CAP: u64 = 1024 * 1024;

/// One state change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// When, in Unix seconds.
    pub at: UnixTime,
    /// The machine or check.
    pub name: String,
    /// The label it had (`up`, `200`, `unknown`, ...).
    pub from: String,
    /// The label it has now.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// `|` and line breaks would break the format; they become `/` and spaces.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_time(at: UnixTime) -> String {
    let iso = crate::base::format_utc(at);
    iso.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Parses [`format_time`]'s output back.
pub fn parse_time(s: &str) -> Option<UnixTime> {
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if y < 1970 || !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60
    {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

impl Transition {
    /// The spec §6.5 line, without its newline.
    pub fn line(&self) -> String {
        let change = format!("{} → {}", clean(&self.from), clean(&self.to));
        format!(
            "{} | {:<10} | {:<12} | {}",
            format_time(self.at),
            clean(&self.name),
            change,
            clean(&self.reason)
        )
    }

    /// Parses a line written by [`Transition::line`].
    pub fn parse(line: &str) -> Option<Transition> {
        if line.chars().any(char::is_control) {
            return None;
        }
        let mut parts = line.splitn(4, " | ");
        let at = parse_time(parts.next()?)?;
        let name = parts.next()?.trim().to_string();
        let (from, to) = parts.next()?.trim().split_once(" → ")?;
        let reason = parts.next()?.trim_end().to_string();
        if name.is_empty() {
            return None;
        }
        Some(Transition {
            at,
            name,
            from: from.to_string(),
            to: to.to_string(),
            reason,
        })
    }
}

/// The log file and its cap.
#[derive(Debug)]
pub struct TransLog {
    path: PathBuf,
    cap: u64,
}

impl TransLog {
    /// The log at `path` (created on first append), rotating at `cap` bytes.
    pub fn new(path: PathBuf, cap: u64) -> TransLog {
        TransLog {
            path,
            cap: cap.max(256),
        }
    }

    /// The rotated predecessor's path.
    pub fn rotated(path: &Path) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(".1");
        PathBuf::from(p)
    }

    /// Appends one line, rotating first if it would pass the cap.
    pub fn append(&mut self, t: &Transition) -> std::io::Result<()> {
        let mut line = t.line();
        line.push('\n');
        let size = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size > 0 && size + line.len() as u64 > self.cap {
            std::fs::rename(&self.path, Self::rotated(&self.path))?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(line.as_bytes())
    }

    /// Every transition at or after `since`, oldest first, from both files.
    pub fn read_since(&self, since: UnixTime) -> Vec<Transition> {
        let mut out = Vec::new();
        for p in [Self::rotated(&self.path), self.path.clone()] {
            let Ok(bytes) = read_bounded(&p, self.cap.saturating_mul(2)) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            out.extend(
                text.lines()
                    .filter_map(Transition::parse)
                    .filter(|t| t.at >= since),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(at: u64, name: &str, from: &str, to: &str) -> Transition {
        Transition {
            at,
            name: name.into(),
            from: from.into(),
            to: to.into(),
            reason: "mDNS: not seen for 60s".into(),
        }
    }

    #[test]
    fn lines_have_the_spec_layout_and_round_trip() {
        let x = t(1_770_733_800, "stone-09", "up", "down");
        assert_eq!(
            x.line(),
            "2026-02-10 14:30:00 | stone-09   | up → down    | mDNS: not seen for 60s"
        );
        assert_eq!(Transition::parse(&x.line()), Some(x));
        let odd = Transition {
            reason: "a|b\nc".into(),
            ..t(0, "n", "200", "502")
        };
        assert_eq!(Transition::parse(&odd.line()).unwrap().reason, "a/b c");
    }

    #[test]
    fn times_round_trip_and_junk_is_refused() {
        for at in [0, 59, 86_399, 951_782_400, 1_770_733_800, 4_102_444_799] {
            assert_eq!(parse_time(&format_time(at)), Some(at), "{at}");
        }
        for bad in [
            "",
            "2026-02-10T14:30:00",
            "2026-13-10 14:30:00",
            "20x6-02-10 14:30:00",
            "1969-12-31 23:59:59",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(Transition::parse("garbage | x"), None);
    }

    #[test]
    fn rotates_at_the_cap_keeping_two_files() {
        let dir = std::env::temp_dir().join(format!("koi-translog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("health.log");
        let mut log = TransLog::new(path.clone(), 1000);
        for i in 0..100 {
            log.append(&t(1_770_000_000 + i, &format!("m{i}"), "up", "down"))
                .unwrap();
        }
        let cur = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(TransLog::rotated(&path)).unwrap().len();
        assert!(cur <= 1000 && old <= 1000, "{cur} {old}");
        let all = log.read_since(0);
        assert!(all.len() >= 2 && all.len() < 30, "{}", all.len());
        assert_eq!(all.last().unwrap().name, "m99");
        assert!(all.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(log.read_since(1_770_000_099).len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
