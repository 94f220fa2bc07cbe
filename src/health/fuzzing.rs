//! Entry points for `fuzz/` (not API): every health parser of untrusted text, which must return
//! an error and never panic, and must round-trip what it accepts.

use super::model::{parse_expect, parse_host_port, parse_url};
use super::translog::{format_time, parse_time, Transition};

/// Feeds `data` (as text) to the URL, host:port, expect-range, log-line and time parsers.
pub fn health_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = parse_url(text) {
        assert!(u.port != 0 && u.path.starts_with('/'));
    }
    if let Ok((h, p)) = parse_host_port(text) {
        assert!(!h.is_empty() && p != 0);
    }
    if let Ok((lo, hi)) = parse_expect(text) {
        assert!(lo <= hi);
    }
    if let Some(at) = parse_time(text) {
        assert_eq!(parse_time(&format_time(at)), Some(at));
    }
    for line in text.lines() {
        if let Some(t) = Transition::parse(line) {
            let again = Transition::parse(&t.line());
            assert_eq!(again.map(|a| a.at), Some(t.at));
        }
    }
}
