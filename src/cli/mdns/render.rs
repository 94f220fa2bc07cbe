//! How `koi mdns` prints services and status for people.

use crate::mdns::json::{ServiceJson, StatusJson};

/// One line per discovery event: `+ grafana  _http._tcp  stone-05.local  10.0.0.5  port 3000  path=/`.
pub(super) fn event_line(s: &ServiceJson) -> String {
    let mark = match s.event.as_deref() {
        Some("removed") => "-",
        Some("updated") => "~",
        _ => "+",
    };
    if mark == "-" {
        return format!("- {}  {}  (gone)", s.instance, s.service_type);
    }
    let mut line = format!(
        "{mark} {}  {}  {}  {}  port {}",
        s.instance,
        s.service_type,
        s.host,
        s.addresses.join(" "),
        s.port
    );
    if s.txt.iter().any(|t| !t.is_empty()) {
        line.push_str("  ");
        line.push_str(&s.txt.join(" "));
    }
    line
}

/// The `koi mdns status` page.
pub(super) fn status(s: &StatusJson) -> String {
    let mut out = format!("mdns on {}.local\n\n  Announced\n", s.host);
    if s.announced.is_empty() {
        out.push_str("    (none)\n");
    }
    for a in &s.announced {
        out.push_str(&format!(
            "    {:<24} {:<16} port {:<6} {}",
            a.instance, a.service_type, a.port, a.state
        ));
        if let Some(from) = &a.renamed_from {
            out.push_str(&format!(" (renamed from {from:?} after a conflict)"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "\n  Discovered: {} services, {} stale\n\n  Interfaces\n",
        s.discovered - s.stale,
        s.stale
    ));
    if s.interfaces.is_empty() {
        out.push_str("    (none: no interface is up and multicast-capable)\n");
    }
    for i in &s.interfaces {
        out.push_str(&format!(
            "    {:<10} {:<5} {}\n",
            i.name,
            i.family,
            i.addresses.join(" ")
        ));
    }
    for e in &s.socket_errors {
        out.push_str(&format!("    socket error: {e}\n"));
    }
    let c = &s.counters;
    out.push_str(&format!(
        "\n  Packets: {} received, {} sent, {} dropped (off-link or unknown link), {} malformed, {} own\n",
        c.received, c.sent, c.dropped, c.malformed, c.own
    ));
    if let Some(r) = &s.reflector {
        out.push_str(&format!(
            "  Reflecting between {}: {} forwarded, {} skipped\n",
            r.between.join(", "),
            r.forwarded,
            r.skipped
        ));
    }
    out
}
