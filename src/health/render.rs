//! Text for `koi health status`, `watch` and `log` (spec §6.4, §6.5).
//!
//! Pure: takes the status document (whose `now` is the agent's clock) and a [`Style`]; never
//! writes to the terminal itself. With a TTY, ✓/✗ and colour; otherwise plain words.

use super::json::{MachineJson, ServiceJson, StatusJson};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RESET: &str = "\x1b[0m";

/// How to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// No symbols, no escape codes.
    Plain,
    /// ✓/✗ in colour.
    Tty,
    /// ✓/✗, and each whole line red when down, green when up (the watch view).
    Watch,
}

/// `12s`, `4m`, `4h`, `3d`.
pub fn ago(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn mark(state: &str, label: &str, style: Style) -> String {
    match style {
        Style::Plain => format!("{state:<7} {label:<7}"),
        Style::Tty | Style::Watch => {
            let (sym, colour) = match state {
                "up" => ("✓", GREEN),
                "down" => ("✗", RED),
                _ => ("?", ""),
            };
            let cell = format!("{sym} {label:<7}");
            if style == Style::Tty && !colour.is_empty() {
                format!("{colour}{cell}{RESET}")
            } else {
                cell
            }
        }
    }
}

fn paint(line: String, state: &str, style: Style) -> String {
    match (style, state) {
        (Style::Watch, "down") => format!("{RED}{line}{RESET}"),
        (Style::Watch, "up") => format!("{GREEN}{line}{RESET}"),
        _ => line,
    }
}

fn machine_line(m: &MachineJson, now: u64, style: Style) -> String {
    let seen = m.last_seen.map_or("never".to_string(), |t| {
        format!("{} ago", ago(now.saturating_sub(t)))
    });
    let mut line = format!(
        "  {:<12} {} last seen: {:<10}",
        m.name,
        mark(&m.state, &m.state, style),
        seen
    );
    if let Some(d) = m.cert_days {
        line.push_str(&format!(" cert: {d}d remaining"));
    }
    if m.state == "down" {
        line.push_str(&format!("  ({})", m.reason));
    }
    paint(line.trim_end().to_string(), &m.state, style)
}

fn service_line(s: &ServiceJson, now: u64, style: Style) -> String {
    let checked = s.checked_at.map_or("not yet".to_string(), |t| {
        format!("{} ago", ago(now.saturating_sub(t)))
    });
    let mut line = format!(
        "  {:<12} {} checked: {:<10} {}",
        s.name,
        mark(&s.state, &s.label, style),
        checked,
        s.target
    );
    if s.state == "down" {
        line.push_str(&format!("  ({})", s.reason));
    }
    paint(line, &s.state, style)
}

/// The spec §6.4 layout.
pub fn status(s: &StatusJson, style: Style) -> String {
    let mut out = String::from("\n  Machines\n  ────────\n");
    if s.machines.is_empty() {
        out.push_str("  (none seen over mDNS yet)\n");
    }
    for m in &s.machines {
        out.push_str(&machine_line(m, s.now, style));
        out.push('\n');
    }
    out.push_str("\n  Services\n  ────────\n");
    if s.services.is_empty() {
        out.push_str("  (no checks: add one with `koi health add NAME --http URL`)\n");
    }
    for c in &s.services {
        out.push_str(&service_line(c, s.now, style));
        out.push('\n');
    }
    out
}

/// One watch frame for a terminal: cursor home, each line cleared to its end, the rest of the
/// screen cleared, so it redraws in place without flicker.
pub fn watch_frame(title: &str, s: &StatusJson) -> String {
    let body = status(s, Style::Watch);
    let mut out = String::from("\x1b[H");
    for line in std::iter::once(title).chain(body.lines()) {
        out.push_str(line);
        out.push_str("\x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

/// What to write when watch ends: colours off, cursor shown, a fresh line.
pub const WATCH_RESTORE: &str = "\x1b[0m\x1b[?25h\n";
/// What to write when watch starts: cursor hidden, screen cleared.
pub const WATCH_START: &str = "\x1b[?25l\x1b[2J\x1b[H";

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> StatusJson {
        StatusJson {
            now: 100_000,
            machines: vec![MachineJson {
                name: "stone-09".into(),
                state: "down".into(),
                reason: "mDNS: not seen for 4h".into(),
                last_seen: Some(100_000 - 4 * 3600),
                cert_days: Some(24),
                since: 0,
            }],
            services: vec![ServiceJson {
                name: "grafana".into(),
                state: "up".into(),
                label: "200".into(),
                reason: "HTTP 200".into(),
                checked_at: Some(99_970),
                since: Some(900),
                target: "stone-05:3000".into(),
                url: "https://stone-05:3000/health".into(),
                kind: "http".into(),
                interval_ms: 30_000,
                max_drift_ms: 0,
                runs: 3,
            }],
        }
    }

    #[test]
    fn plain_has_words_and_no_escapes() {
        let t = status(&doc(), Style::Plain);
        assert!(!t.contains('\x1b') && !t.contains('✓'), "{t}");
        assert!(t.contains("  stone-09     down    down    last seen: 4h ago     cert: 24d remaining  (mDNS: not seen for 4h)"), "{t}");
        assert!(
            t.contains("  grafana      up      200     checked: 30s ago    stone-05:3000"),
            "{t}"
        );
    }

    #[test]
    fn tty_has_marks_and_watch_paints_lines() {
        let t = status(&doc(), Style::Tty);
        assert!(t.contains("\x1b[32m✓ 200    \x1b[0m"), "{t}");
        assert!(t.contains("\x1b[31m✗ down   \x1b[0m"), "{t}");
        let w = watch_frame("title", &doc());
        assert!(w.starts_with("\x1b[Htitle\x1b[K\n"));
        assert!(w.contains("\x1b[31m  stone-09     ✗ down"), "{w}");
        assert!(w.contains("\x1b[32m  grafana      ✓ 200"), "{w}");
        assert!(w.ends_with("\x1b[J"));
    }

    #[test]
    fn ages_are_compact() {
        assert_eq!(
            [ago(12), ago(60), ago(4 * 3600 + 5), ago(3 * 86_400)],
            ["12s", "1m", "4h", "3d"]
        );
    }
}
