#!/usr/bin/env python3
"""Produce real python-zeroconf mDNS packets offline, for koi-wire's DNS codec tests.

No sockets: each packet is built by python-zeroconf's own DNSOutgoing writer exactly as its
Zeroconf instance would send it (announce, probe, browse with known answers, goodbye).
Needs `pip install zeroconf` (captured with 0.154.0).

usage: zeroconf_packets.py [CORPUS_DIR]
  prints each packet as a Rust byte-array literal; with CORPUS_DIR, also writes NAME.bin there.
"""
import socket
import sys

import zeroconf
from zeroconf import ServiceInfo
from zeroconf._dns import DNSPointer, DNSQuestion
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.const import _CLASS_IN, _CLASS_UNIQUE, _FLAGS_AA, _FLAGS_QR_QUERY, _FLAGS_QR_RESPONSE, _TYPE_PTR

STYPE = "_http._tcp.local."
# A UTF-8 instance name with spaces and parentheses (RFC 6763 §4.3).
INFO = ServiceInfo(
    STYPE,
    f"Caf\u00e9 Grafana (2).{STYPE}",
    addresses=[socket.inet_aton("10.231.0.1"), socket.inet_pton(socket.AF_INET6, "fd00::1")],
    port=3000,
    properties={"path": "/", "koi": "1", "flag": None},
    server="grafana-host.local.",
)

# IPv4 only: zeroconf adds an NSEC saying no AAAA exists (RFC 6762 §6.1).
INFO_V4 = ServiceInfo(
    "_ipp._tcp.local.",
    "printer-h1._ipp._tcp.local.",
    addresses=[socket.inet_aton("10.231.0.1")],
    port=631,
    properties={"rp": "printers/x"},
    server="printer-h1.local.",
)


def announce(ttl=None, info=INFO):
    """Zeroconf.generate_service_broadcast: QR|AA, PTR, SRV, TXT, A, AAAA (+ NSEC when needed)."""
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
    out.add_answer_at_time(info.dns_pointer(override_ttl=ttl), 0)
    out.add_answer_at_time(info.dns_service(override_ttl=ttl), 0)
    out.add_answer_at_time(info.dns_text(override_ttl=ttl), 0)
    for record in sorted(info.get_address_and_nsec_records(override_ttl=ttl), key=lambda r: r.type):
        out.add_answer_at_time(record, 0)
    return out


def probe():
    """Zeroconf.generate_service_query: a QU question with the proposed PTR in authority."""
    out = DNSOutgoing(_FLAGS_QR_QUERY | _FLAGS_AA)
    out.add_question(DNSQuestion(INFO.type, _TYPE_PTR, _CLASS_IN | _CLASS_UNIQUE))
    out.add_authorative_answer(INFO.dns_pointer())
    return out


def browse_with_known_answers():
    """What ServiceBrowser sends: a QM PTR question plus the PTRs already cached (RFC 6762 §7.1)."""
    out = DNSOutgoing(_FLAGS_QR_QUERY)
    out.add_question(DNSQuestion(STYPE, _TYPE_PTR, _CLASS_IN))
    for inst in ("printer-h3", "Kitchen \u2615"):
        out.add_answer_at_time(DNSPointer(STYPE, _TYPE_PTR, _CLASS_IN, 4500, f"{inst}.{STYPE}"), 0)
    return out


PACKETS = [
    ("zeroconf_announce", announce()),
    ("zeroconf_announce_v4_nsec", announce(info=INFO_V4)),
    ("zeroconf_probe", probe()),
    ("zeroconf_browse_known_answers", browse_with_known_answers()),
    ("zeroconf_goodbye", announce(ttl=0)),
]


def rust_literal(name, data):
    lines = [f"// python-zeroconf {zeroconf.__version__}: {name} ({len(data)} bytes), "
             "from tests/net/capture/zeroconf_packets.py",
             f"const {name.upper()}: &[u8] = &["]
    for i in range(0, len(data), 16):
        lines.append("    " + " ".join(f"0x{b:02x}," for b in data[i:i + 16]))
    lines.append("];")
    return "\n".join(lines)


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else None
    for name, out in PACKETS:
        packets = out.packets()
        assert len(packets) == 1, name
        data = packets[0]
        print(rust_literal(name, data))
        print()
        if corpus:
            with open(f"{corpus}/{name}.bin", "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
