//! Codec tests: packets captured from real mDNS peers decode to what the peer meant and
//! re-encode byte for byte; hand-built messages exercise compression, EDNS, NSEC bitmaps,
//! the size cap and truncation.
//!
//! The python-zeroconf packets come from `tests/net/capture/zeroconf_packets.py` (python-zeroconf's
//! own `DNSOutgoing` writer, offline); the avahi packets were recorded on a private netns test
//! bed by `tests/net/capture/avahi_capture.sh` (avahi-daemon 0.8, Debian). Both scripts print or
//! save the same bytes, which are also the seed corpus in `fuzz/corpus/dns_message/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use koi_wire::dns::{
    Class, DecodeError, Edns, EncodeError, Header, Message, Name, NameError, Opcode, Question,
    RData, Rcode, Record, RecordType, MAX_MESSAGE_LEN,
};

// python-zeroconf 0.154.0: zeroconf_announce (167 bytes), from tests/net/capture/zeroconf_packets.py
const ZEROCONF_ANNOUNCE: &[u8] = &[
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x05, 0x5f, 0x68, 0x74,
    0x74, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c,
    0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x14, 0x11, 0x43, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0x47,
    0x72, 0x61, 0x66, 0x61, 0x6e, 0x61, 0x20, 0x28, 0x32, 0x29, 0xc0, 0x0c, 0xc0, 0x28, 0x00, 0x21,
    0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x0b, 0xb8, 0x0c, 0x67,
    0x72, 0x61, 0x66, 0x61, 0x6e, 0x61, 0x2d, 0x68, 0x6f, 0x73, 0x74, 0xc0, 0x17, 0xc0, 0x28, 0x00,
    0x10, 0x80, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x12, 0x06, 0x70, 0x61, 0x74, 0x68, 0x3d, 0x2f,
    0x05, 0x6b, 0x6f, 0x69, 0x3d, 0x31, 0x04, 0x66, 0x6c, 0x61, 0x67, 0xc0, 0x4e, 0x00, 0x01, 0x80,
    0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0x0a, 0xe7, 0x00, 0x01, 0xc0, 0x4e, 0x00, 0x1c, 0x80,
    0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x10, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
];

// python-zeroconf 0.154.0: zeroconf_announce_v4_nsec (142 bytes), from tests/net/capture/zeroconf_packets.py
const ZEROCONF_ANNOUNCE_V4_NSEC: &[u8] = &[
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x04, 0x5f, 0x69, 0x70,
    0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c, 0x00,
    0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x0d, 0x0a, 0x70, 0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x2d,
    0x68, 0x31, 0xc0, 0x0c, 0xc0, 0x27, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x13,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x77, 0x0a, 0x70, 0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x2d, 0x68,
    0x31, 0xc0, 0x16, 0xc0, 0x27, 0x00, 0x10, 0x80, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x0e, 0x0d,
    0x72, 0x70, 0x3d, 0x70, 0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x73, 0x2f, 0x78, 0xc0, 0x46, 0x00,
    0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0x0a, 0xe7, 0x00, 0x01, 0xc0, 0x46, 0x00,
    0x2f, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x05, 0xc0, 0x46, 0x00, 0x01, 0x40,
];

// python-zeroconf 0.154.0: zeroconf_probe (66 bytes), from tests/net/capture/zeroconf_packets.py
const ZEROCONF_PROBE: &[u8] = &[
    0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x05, 0x5f, 0x68, 0x74,
    0x74, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c,
    0x80, 0x01, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x14, 0x11, 0x43,
    0x61, 0x66, 0xc3, 0xa9, 0x20, 0x47, 0x72, 0x61, 0x66, 0x61, 0x6e, 0x61, 0x20, 0x28, 0x32, 0x29,
    0xc0, 0x0c,
];

// python-zeroconf 0.154.0: zeroconf_browse_known_answers (85 bytes), from tests/net/capture/zeroconf_packets.py
const ZEROCONF_BROWSE_KNOWN_ANSWERS: &[u8] = &[
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x5f, 0x68, 0x74,
    0x74, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c,
    0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x0d, 0x0a, 0x70,
    0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x2d, 0x68, 0x33, 0xc0, 0x0c, 0xc0, 0x0c, 0x00, 0x0c, 0x00,
    0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x0e, 0x0b, 0x4b, 0x69, 0x74, 0x63, 0x68, 0x65, 0x6e, 0x20,
    0xe2, 0x98, 0x95, 0xc0, 0x0c,
];

// python-zeroconf 0.154.0: zeroconf_goodbye (167 bytes), from tests/net/capture/zeroconf_packets.py
const ZEROCONF_GOODBYE: &[u8] = &[
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x05, 0x5f, 0x68, 0x74,
    0x74, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x11, 0x43, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0x47,
    0x72, 0x61, 0x66, 0x61, 0x6e, 0x61, 0x20, 0x28, 0x32, 0x29, 0xc0, 0x0c, 0xc0, 0x28, 0x00, 0x21,
    0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x00, 0x0b, 0xb8, 0x0c, 0x67,
    0x72, 0x61, 0x66, 0x61, 0x6e, 0x61, 0x2d, 0x68, 0x6f, 0x73, 0x74, 0xc0, 0x17, 0xc0, 0x28, 0x00,
    0x10, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x06, 0x70, 0x61, 0x74, 0x68, 0x3d, 0x2f,
    0x05, 0x6b, 0x6f, 0x69, 0x3d, 0x31, 0x04, 0x66, 0x6c, 0x61, 0x67, 0xc0, 0x4e, 0x00, 0x01, 0x80,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x0a, 0xe7, 0x00, 0x01, 0xc0, 0x4e, 0x00, 0x1c, 0x80,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
];

// avahi-daemon 0.8 (Debian), host-name probe: 3 ANY questions, PTR/A/AAAA in authority (207 bytes); captured by tests/net/capture/avahi_capture.sh
const AVAHI_HOST_PROBE: &[u8] = &[
    0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x37, 0x01, 0x31,
    0x01, 0x63, 0x01, 0x62, 0x01, 0x65, 0x01, 0x31, 0x01, 0x65, 0x01, 0x66, 0x01, 0x66, 0x01, 0x66,
    0x01, 0x36, 0x01, 0x64, 0x01, 0x64, 0x01, 0x63, 0x01, 0x38, 0x01, 0x38, 0x01, 0x30, 0x01, 0x30,
    0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x30,
    0x01, 0x30, 0x01, 0x30, 0x01, 0x30, 0x01, 0x38, 0x01, 0x65, 0x01, 0x66, 0x03, 0x69, 0x70, 0x36,
    0x04, 0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0xff, 0x00, 0x01, 0x01, 0x32, 0x01, 0x30, 0x03, 0x32,
    0x33, 0x31, 0x02, 0x31, 0x30, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72, 0xc0, 0x50, 0x00,
    0xff, 0x00, 0x01, 0x08, 0x61, 0x76, 0x61, 0x68, 0x69, 0x2d, 0x68, 0x32, 0x05, 0x6c, 0x6f, 0x63,
    0x61, 0x6c, 0x00, 0x00, 0xff, 0x00, 0x01, 0xc0, 0x5a, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x78, 0x00, 0x02, 0xc0, 0x73, 0xc0, 0x73, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00,
    0x04, 0x0a, 0xe7, 0x00, 0x02, 0xc0, 0x73, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00,
    0x10, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88, 0xcd, 0xd6, 0xff, 0xfe, 0x1e, 0xbc,
    0x17, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x02, 0xc0, 0x73,
];

// avahi-daemon 0.8 (Debian), service probe: ANY question, SRV/TXT in authority (126 bytes); captured by tests/net/capture/avahi_capture.sh
const AVAHI_SERVICE_PROBE: &[u8] = &[
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x15, 0x42, 0xc3, 0xbc,
    0x72, 0x6f, 0x20, 0x44, 0x72, 0x75, 0x63, 0x6b, 0x65, 0x72, 0x20, 0xe2, 0x98, 0x95, 0x20, 0x28,
    0x32, 0x29, 0x04, 0x5f, 0x69, 0x70, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63,
    0x61, 0x6c, 0x00, 0x00, 0xff, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x78, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x02, 0x77, 0x08, 0x61, 0x76, 0x61, 0x68, 0x69, 0x2d,
    0x68, 0x32, 0xc0, 0x2c, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x1e,
    0x0d, 0x72, 0x70, 0x3d, 0x70, 0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x73, 0x2f, 0x78, 0x0f, 0x6e,
    0x6f, 0x74, 0x65, 0x3d, 0x4b, 0x61, 0x66, 0x66, 0x65, 0x65, 0x20, 0xe2, 0x98, 0x95,
];

// avahi-daemon 0.8 (Debian), service announce: TXT, PTR, SRV, AAAA, A, _services PTR (215 bytes); captured by tests/net/capture/avahi_capture.sh
const AVAHI_ANNOUNCE: &[u8] = &[
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x15, 0x42, 0xc3, 0xbc,
    0x72, 0x6f, 0x20, 0x44, 0x72, 0x75, 0x63, 0x6b, 0x65, 0x72, 0x20, 0xe2, 0x98, 0x95, 0x20, 0x28,
    0x32, 0x29, 0x04, 0x5f, 0x69, 0x70, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63,
    0x61, 0x6c, 0x00, 0x00, 0x10, 0x80, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x1e, 0x0d, 0x72, 0x70,
    0x3d, 0x70, 0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x73, 0x2f, 0x78, 0x0f, 0x6e, 0x6f, 0x74, 0x65,
    0x3d, 0x4b, 0x61, 0x66, 0x66, 0x65, 0x65, 0x20, 0xe2, 0x98, 0x95, 0xc0, 0x22, 0x00, 0x0c, 0x00,
    0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x02, 0xc0, 0x0c, 0xc0, 0x0c, 0x00, 0x21, 0x80, 0x01, 0x00,
    0x00, 0x00, 0x78, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x02, 0x77, 0x08, 0x61, 0x76, 0x61, 0x68,
    0x69, 0x2d, 0x68, 0x32, 0xc0, 0x2c, 0xc0, 0x7b, 0x00, 0x1c, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78,
    0x00, 0x10, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88, 0xcd, 0xd6, 0xff, 0xfe, 0x1e,
    0xbc, 0x17, 0xc0, 0x7b, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0x0a, 0xe7,
    0x00, 0x02, 0x09, 0x5f, 0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x73, 0x07, 0x5f, 0x64, 0x6e,
    0x73, 0x2d, 0x73, 0x64, 0x04, 0x5f, 0x75, 0x64, 0x70, 0xc0, 0x2c, 0x00, 0x0c, 0x00, 0x01, 0x00,
    0x00, 0x11, 0x94, 0x00, 0x02, 0xc0, 0x22,
];

// avahi-daemon 0.8 (Debian), avahi-browse _http._tcp PTR query (34 bytes); captured by tests/net/capture/avahi_capture.sh
const AVAHI_BROWSE_QUERY: &[u8] = &[
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x5f, 0x68, 0x74,
    0x74, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c,
    0x00, 0x01,
];

// avahi-daemon 0.8 (Debian), avahi-publish exit: TTL 0 goodbye (215 bytes); captured by tests/net/capture/avahi_capture.sh
const AVAHI_GOODBYE: &[u8] = &[
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x73, 0x65,
    0x72, 0x76, 0x69, 0x63, 0x65, 0x73, 0x07, 0x5f, 0x64, 0x6e, 0x73, 0x2d, 0x73, 0x64, 0x04, 0x5f,
    0x75, 0x64, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x0c, 0x04, 0x5f, 0x69, 0x70, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0xc0, 0x23,
    0xc0, 0x34, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x15, 0x42, 0xc3, 0xbc,
    0x72, 0x6f, 0x20, 0x44, 0x72, 0x75, 0x63, 0x6b, 0x65, 0x72, 0x20, 0xe2, 0x98, 0x95, 0x20, 0x28,
    0x32, 0x29, 0xc0, 0x34, 0xc0, 0x4c, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x77, 0x08, 0x61, 0x76, 0x61, 0x68, 0x69, 0x2d, 0x68, 0x32, 0xc0,
    0x23, 0xc0, 0x76, 0x00, 0x1c, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x10, 0xfe, 0x80, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x88, 0xcd, 0xd6, 0xff, 0xfe, 0x1e, 0xbc, 0x17, 0xc0, 0x76, 0x00,
    0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0x0a, 0xe7, 0x00, 0x02, 0xc0, 0x4c, 0x00,
    0x10, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e, 0x0d, 0x72, 0x70, 0x3d, 0x70, 0x72, 0x69,
    0x6e, 0x74, 0x65, 0x72, 0x73, 0x2f, 0x78, 0x0f, 0x6e, 0x6f, 0x74, 0x65, 0x3d, 0x4b, 0x61, 0x66,
    0x66, 0x65, 0x65, 0x20, 0xe2, 0x98, 0x95,
];

/// One line per entry, in a form that can be checked against what the peer's own tools showed.
fn describe(m: &Message) -> Vec<String> {
    let mut out = vec![format!(
        "header id={} flags={:#06x}",
        m.header.id, m.header.flags
    )];
    for q in &m.questions {
        let qu = if q.unicast_response() { " QU" } else { "" };
        out.push(format!("question {} {} {}{qu}", q.name, q.qtype, q.class()));
    }
    let sections = [
        ("answer", &m.answers),
        ("authority", &m.authorities),
        ("additional", &m.additionals),
    ];
    for (section, records) in sections {
        for r in records {
            let flush = if r.cache_flush() { " flush" } else { "" };
            let data = match &r.rdata {
                RData::A(ip) => ip.to_string(),
                RData::Aaaa(ip) => ip.to_string(),
                RData::Ptr(n) | RData::Cname(n) | RData::Ns(n) => n.to_string(),
                RData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => format!("{priority} {weight} {port} {target}"),
                RData::Txt(strings) => strings
                    .iter()
                    .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
                    .collect::<Vec<_>>()
                    .join(" "),
                RData::Nsec { next, types } => {
                    let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
                    format!("{next} {}", types.join(" "))
                }
                other => format!("{other:?}"),
            };
            let (name, rtype, class, ttl) = (&r.name, r.rtype, r.class(), r.ttl);
            out.push(format!(
                "{section} {name} {rtype} {class}{flush} ttl={ttl} {data}"
            ));
        }
    }
    out
}

const ZC_INSTANCE: &str = "Caf\u{e9} Grafana (2)._http._tcp.local";
const AVAHI_INSTANCE: &str = "B\u{fc}ro Drucker \u{2615} (2)._ipp._tcp.local";

/// (name, packet, expected entries, whether our encoding is byte-identical to the peer's).
fn captured() -> Vec<(&'static str, &'static [u8], Vec<String>, bool)> {
    let zc = ZC_INSTANCE;
    let av = AVAHI_INSTANCE;
    let rev6 = "7.1.c.b.e.1.e.f.f.f.6.d.d.c.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa";
    let zc_announce = |ttl_host: u32, ttl_other: u32| {
        vec![
            "header id=0 flags=0x8400".to_string(),
            format!("answer _http._tcp.local PTR IN ttl={ttl_other} {zc}"),
            format!("answer {zc} SRV IN flush ttl={ttl_host} 0 0 3000 grafana-host.local"),
            format!(r#"answer {zc} TXT IN flush ttl={ttl_other} "path=/" "koi=1" "flag""#),
            format!("answer grafana-host.local A IN flush ttl={ttl_host} 10.231.0.1"),
            format!("answer grafana-host.local AAAA IN flush ttl={ttl_host} fd00::1"),
        ]
    };
    let avahi_txt = r#""rp=printers/x" "note=Kaffee ☕""#;
    vec![
        (
            "zeroconf announce",
            ZEROCONF_ANNOUNCE,
            zc_announce(120, 4500),
            true,
        ),
        (
            "zeroconf goodbye",
            ZEROCONF_GOODBYE,
            zc_announce(0, 0),
            true,
        ),
        (
            "zeroconf announce with NSEC (compressed next name)",
            ZEROCONF_ANNOUNCE_V4_NSEC,
            vec![
                "header id=0 flags=0x8400".into(),
                "answer _ipp._tcp.local PTR IN ttl=4500 printer-h1._ipp._tcp.local".into(),
                "answer printer-h1._ipp._tcp.local SRV IN flush ttl=120 0 0 631 printer-h1.local"
                    .into(),
                r#"answer printer-h1._ipp._tcp.local TXT IN flush ttl=4500 "rp=printers/x""#.into(),
                "answer printer-h1.local A IN flush ttl=120 10.231.0.1".into(),
                "answer printer-h1.local NSEC IN flush ttl=120 printer-h1.local A".into(),
            ],
            // We write the NSEC next name uncompressed (RFC 4034 §4.1.1).
            false,
        ),
        (
            "zeroconf probe (QU question, proposed record in authority)",
            ZEROCONF_PROBE,
            vec![
                "header id=0 flags=0x0400".into(),
                "question _http._tcp.local PTR IN QU".into(),
                format!("authority _http._tcp.local PTR IN ttl=4500 {zc}"),
            ],
            true,
        ),
        (
            "zeroconf browse with known answers",
            ZEROCONF_BROWSE_KNOWN_ANSWERS,
            vec![
                "header id=0 flags=0x0000".into(),
                "question _http._tcp.local PTR IN".into(),
                "answer _http._tcp.local PTR IN ttl=4500 printer-h3._http._tcp.local".into(),
                "answer _http._tcp.local PTR IN ttl=4500 Kitchen \u{2615}._http._tcp.local".into(),
            ],
            true,
        ),
        (
            "avahi host-name probe",
            AVAHI_HOST_PROBE,
            vec![
                "header id=0 flags=0x0000".into(),
                format!("question {rev6} ANY IN"),
                "question 2.0.231.10.in-addr.arpa ANY IN".into(),
                "question avahi-h2.local ANY IN".into(),
                "authority 2.0.231.10.in-addr.arpa PTR IN ttl=120 avahi-h2.local".into(),
                "authority avahi-h2.local A IN ttl=120 10.231.0.2".into(),
                "authority avahi-h2.local AAAA IN ttl=120 fe80::88cd:d6ff:fe1e:bc17".into(),
                format!("authority {rev6} PTR IN ttl=120 avahi-h2.local"),
            ],
            true,
        ),
        (
            "avahi service probe",
            AVAHI_SERVICE_PROBE,
            vec![
                "header id=0 flags=0x0000".into(),
                format!("question {av} ANY IN"),
                format!("authority {av} SRV IN ttl=120 0 0 631 avahi-h2.local"),
                format!("authority {av} TXT IN ttl=4500 {avahi_txt}"),
            ],
            true,
        ),
        (
            "avahi announce",
            AVAHI_ANNOUNCE,
            vec![
                "header id=0 flags=0x8400".into(),
                format!("answer {av} TXT IN flush ttl=4500 {avahi_txt}"),
                format!("answer _ipp._tcp.local PTR IN ttl=4500 {av}"),
                format!("answer {av} SRV IN flush ttl=120 0 0 631 avahi-h2.local"),
                "answer avahi-h2.local AAAA IN flush ttl=120 fe80::88cd:d6ff:fe1e:bc17".into(),
                "answer avahi-h2.local A IN flush ttl=120 10.231.0.2".into(),
                "answer _services._dns-sd._udp.local PTR IN ttl=4500 _ipp._tcp.local".into(),
            ],
            true,
        ),
        (
            "avahi browse query",
            AVAHI_BROWSE_QUERY,
            vec![
                "header id=0 flags=0x0000".into(),
                "question _http._tcp.local PTR IN".into(),
            ],
            true,
        ),
        (
            "avahi goodbye",
            AVAHI_GOODBYE,
            vec![
                "header id=0 flags=0x8400".into(),
                "answer _services._dns-sd._udp.local PTR IN ttl=0 _ipp._tcp.local".into(),
                format!("answer _ipp._tcp.local PTR IN ttl=0 {av}"),
                format!("answer {av} SRV IN flush ttl=0 0 0 631 avahi-h2.local"),
                "answer avahi-h2.local AAAA IN flush ttl=120 fe80::88cd:d6ff:fe1e:bc17".into(),
                "answer avahi-h2.local A IN flush ttl=120 10.231.0.2".into(),
                format!("answer {av} TXT IN flush ttl=0 {avahi_txt}"),
            ],
            true,
        ),
    ]
}

#[test]
fn captured_packets_decode_as_the_peer_meant() {
    for (name, packet, expected, _) in captured() {
        let msg = Message::parse(packet).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(describe(&msg), expected, "{name}");
    }
}

#[test]
fn captured_packets_reencode_to_the_same_message_and_bytes() {
    for (name, packet, _, identical) in captured() {
        let msg = Message::parse(packet).unwrap();
        let ours = msg.encode(MAX_MESSAGE_LEN).unwrap();
        assert_eq!(Message::parse(&ours).as_ref(), Ok(&msg), "{name}");
        assert_eq!(ours == packet, identical, "{name}");
        koi_wire::fuzzing::dns::dns_message(packet);
    }
}

#[test]
fn captured_names_keep_utf8_spaces_and_case() {
    let msg = Message::parse(AVAHI_ANNOUNCE).unwrap();
    let ptr = msg
        .answers
        .iter()
        .find(|r| r.rtype == RecordType::PTR)
        .unwrap();
    let RData::Ptr(instance) = &ptr.rdata else {
        panic!("not a PTR: {ptr:?}")
    };
    assert_eq!(
        instance.first_label(),
        Some("B\u{fc}ro Drucker \u{2615} (2)".as_bytes())
    );
    assert_eq!(
        instance.parent(),
        Some(Name::from_dotted("_IPP._tcp.local").unwrap())
    );
    assert!(instance.ends_with(&Name::from_dotted("_ipp._tcp.local").unwrap()));
}

#[test]
fn mdns_class_bits_are_read_through_accessors() {
    let probe = Message::parse(ZEROCONF_PROBE).unwrap();
    let q = &probe.questions[0];
    assert_eq!(
        (q.qclass, q.unicast_response(), q.class()),
        (0x8001, true, Class::IN)
    );
    let announce = Message::parse(ZEROCONF_ANNOUNCE).unwrap();
    let (ptr, srv) = (&announce.answers[0], &announce.answers[1]);
    assert_eq!(
        (ptr.rclass, ptr.cache_flush(), ptr.class()),
        (0x0001, false, Class::IN)
    );
    assert_eq!(
        (srv.rclass, srv.cache_flush(), srv.class()),
        (0x8001, true, Class::IN)
    );

    let mut q = Question::new(
        Name::from_dotted("a.local").unwrap(),
        RecordType::A,
        Class::IN,
    );
    q.set_unicast_response(true);
    assert_eq!(q.qclass, 0x8001);
    q.set_unicast_response(false);
    assert_eq!(q.qclass, 0x0001);
}

fn name(s: &str) -> Name {
    Name::from_dotted(s).unwrap()
}

fn record(owner: &str, ttl: u32, rdata: RData) -> Record {
    let rtype = rdata.rtype().unwrap();
    Record::new(name(owner), rtype, Class::IN, ttl, rdata)
}

#[test]
fn labels_with_dots_round_trip_and_compress() {
    let service = name("_http._tcp.local");
    let instance = service.prepend_label("v1.2 dashboard").unwrap();
    assert_eq!(instance.to_string(), "v1\\.2 dashboard._http._tcp.local");
    let mut msg = Message::default();
    msg.header.set(Header::QR | Header::AA, true);
    msg.answers.push(Record::new(
        service.clone(),
        RecordType::PTR,
        Class::IN,
        4500,
        RData::Ptr(instance.clone()),
    ));
    let bytes = msg.encode(512).unwrap();
    // header, "_http._tcp.local" in full (18), PTR fixed part (10), "v1.2 dashboard" + pointer.
    assert_eq!(bytes.len(), 12 + 18 + 10 + 15 + 2);
    assert_eq!(&bytes[bytes.len() - 17..], b"\x0ev1.2 dashboard\xc0\x0c");
    let back = Message::parse(&bytes).unwrap();
    assert_eq!(back, msg);
    assert_eq!(back.answers[0].rdata, RData::Ptr(instance));
}

#[test]
fn compression_matches_exact_bytes_so_case_survives() {
    let mut msg = Message::default();
    msg.answers.push(record(
        "Host.LOCAL",
        120,
        RData::A(Ipv4Addr::new(10, 0, 0, 1)),
    ));
    msg.answers.push(record(
        "host.local",
        120,
        RData::A(Ipv4Addr::new(10, 0, 0, 2)),
    ));
    let bytes = msg.encode(512).unwrap();
    let back = Message::parse(&bytes).unwrap();
    assert_eq!(back.answers[1].name.to_string(), "host.local");
    assert_eq!(back.answers[0].name.to_string(), "Host.LOCAL");
    assert_eq!(back.encode(512).unwrap(), bytes);
}

#[test]
fn nsec_type_bitmaps_both_directions() {
    // (types as given, RDATA after the uncompressed next name "h.local")
    let cases: &[(&[u16], &[u8])] = &[
        (&[], &[]),
        (&[1], &[0, 1, 0x40]),
        (&[28, 1], &[0, 4, 0x40, 0, 0, 0x08]),
        (&[33, 16, 47, 16], &[0, 6, 0, 0, 0x80, 0, 0x40, 0x01]),
        (&[1, 65280, 256], &[0, 1, 0x40, 1, 1, 0x80, 0xff, 1, 0x80]),
    ];
    for (types, bitmap) in cases {
        let rdata = RData::Nsec {
            next: name("h.local"),
            types: types.iter().map(|&t| RecordType(t)).collect(),
        };
        let mut msg = Message::default();
        msg.answers.push(record("h.local", 120, rdata));
        let bytes = msg.encode(512).unwrap();
        let rdata_start = 12 + 9 + 10;
        assert_eq!(&bytes[rdata_start..rdata_start + 9], b"\x01h\x05local\x00");
        assert_eq!(&bytes[rdata_start + 9..], *bitmap, "{types:?}");
        let back = Message::parse(&bytes).unwrap();
        let mut sorted: Vec<RecordType> = types.iter().map(|&t| RecordType(t)).collect();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            back.answers[0].rdata,
            RData::Nsec {
                next: name("h.local"),
                types: sorted
            }
        );
    }
}

#[test]
fn edns_lives_in_class_and_ttl_of_opt() {
    let mut query = Message::default();
    query.header.id = 0xbeef;
    query.header.set(Header::RD, true);
    query.questions.push(Question::new(
        name("example.com"),
        RecordType::AAAA,
        Class::IN,
    ));
    let edns = Edns {
        udp_payload_size: 0xffff,
        extended_rcode: 1,
        version: 0,
        flags: Edns::DO,
    };
    query
        .additionals
        .push(edns.to_record(vec![(10, vec![1, 2, 3, 4, 5, 6, 7, 8])]));
    query.header.set_rcode(Rcode(0x7));
    let bytes = query.encode(512).unwrap();
    let back = Message::parse(&bytes).unwrap();
    assert_eq!(back, query);
    assert_eq!(back.edns(), Some(edns));
    assert!(back.edns().unwrap().dnssec_ok());
    assert_eq!(back.rcode(), Rcode(0x17));
    let opt = back.opt().unwrap();
    // The top bit of an OPT class is payload size, not cache-flush.
    assert!(!opt.cache_flush());
    assert_eq!(opt.class(), Class(0xffff));
    let mut opt = opt.clone();
    opt.set_cache_flush(false);
    assert_eq!(opt.rclass, 0xffff);
    assert_eq!(Edns::from_record(&opt), Some(edns));
    let a = record("a.local", 1, RData::A(Ipv4Addr::LOCALHOST));
    assert_eq!(Edns::from_record(&a), None);
    assert_eq!(Message::default().edns(), None);
}

#[test]
fn header_accessors() {
    let mut h = Header::default();
    h.set_opcode(Opcode::UPDATE);
    h.set_rcode(Rcode::NXDOMAIN);
    h.set(Header::QR | Header::AA | Header::TC, true);
    assert_eq!(h.flags, 0x8000 | (5 << 11) | 0x0400 | 0x0200 | 3);
    assert_eq!((h.opcode(), h.rcode()), (Opcode::UPDATE, Rcode::NXDOMAIN));
    assert!(h.qr() && h.aa() && h.tc() && !h.rd() && !h.ra());
    h.set(Header::TC, false);
    assert!(!h.tc());
}

#[test]
fn every_typed_rdata_round_trips() {
    let rdatas = vec![
        RData::A(Ipv4Addr::new(192, 0, 2, 1)),
        RData::Aaaa(Ipv6Addr::LOCALHOST),
        RData::Ns(name("ns1.example.com")),
        RData::Cname(name("www.example.com")),
        RData::Ptr(name("x._http._tcp.local")),
        RData::Mx {
            preference: 10,
            exchange: name("mail.example.com"),
        },
        RData::Srv {
            priority: 1,
            weight: 2,
            port: 8443,
            target: name("host.example.com"),
        },
        RData::Txt(vec![b"a=1".to_vec(), Vec::new(), vec![0xff; 255]]),
        RData::Txt(Vec::new()),
        RData::Hinfo {
            cpu: b"ARMV7".to_vec(),
            os: Vec::new(),
        },
        RData::Soa {
            mname: name("ns1.example.com"),
            rname: name("hostmaster.example.com"),
            serial: 2024010101,
            refresh: 7200,
            retry: 3600,
            expire: 1209600,
            minimum: 300,
        },
        RData::Opt(vec![(12, vec![0; 3]), (65001, Vec::new())]),
    ];
    for rdata in rdatas {
        let mut msg = Message::default();
        msg.answers.push(record("example.com", 300, rdata.clone()));
        let bytes = msg.encode(MAX_MESSAGE_LEN).unwrap();
        assert_eq!(Message::parse(&bytes), Ok(msg), "{rdata:?}");
    }
    // Unknown types keep raw bytes, even bytes that look like a compressed name.
    let mut msg = Message::default();
    let unknown = Record::new(
        name("example.com"),
        RecordType(65280),
        Class(42),
        1,
        RData::Unknown(vec![0xc0, 0x0c, 0, 1]),
    );
    msg.answers.push(unknown);
    let bytes = msg.encode(512).unwrap();
    assert_eq!(&bytes[bytes.len() - 6..], &[0, 4, 0xc0, 0x0c, 0, 1]);
    assert_eq!(Message::parse(&bytes), Ok(msg));
}

#[test]
fn writer_refuses_what_would_not_read_back() {
    let cases: Vec<(&str, Record, EncodeError)> = vec![
        (
            "TXT string over 255 bytes",
            record("t.local", 1, RData::Txt(vec![vec![b'x'; 256]])),
            EncodeError::FieldTooLong,
        ),
        (
            "HINFO string over 255 bytes",
            record(
                "t.local",
                1,
                RData::Hinfo {
                    cpu: vec![b'x'; 256],
                    os: Vec::new(),
                },
            ),
            EncodeError::FieldTooLong,
        ),
        (
            "OPT option over 65535 bytes",
            record("t.local", 1, RData::Opt(vec![(1, vec![0; 65536])])),
            EncodeError::FieldTooLong,
        ),
        (
            "rtype disagrees with rdata",
            Record::new(
                name("t.local"),
                RecordType::AAAA,
                Class::IN,
                1,
                RData::A(Ipv4Addr::LOCALHOST),
            ),
            EncodeError::TypeMismatch,
        ),
        (
            "raw bytes under a decoded type",
            Record::new(
                name("t.local"),
                RecordType::A,
                Class::IN,
                1,
                RData::Unknown(vec![1, 2, 3, 4]),
            ),
            EncodeError::TypeMismatch,
        ),
    ];
    for (what, rec, err) in cases {
        let mut msg = Message::default();
        msg.answers.push(rec);
        assert_eq!(msg.encode(MAX_MESSAGE_LEN), Err(err), "{what}");
        assert_eq!(
            msg.encode_truncating(MAX_MESSAGE_LEN).map(|_| ()),
            Err(err),
            "{what}"
        );
    }
    let mut msg = Message::default();
    let q = Question::new(Name::root(), RecordType::A, Class::IN);
    msg.questions = vec![q; 65536];
    assert_eq!(
        msg.encode(MAX_MESSAGE_LEN),
        Err(EncodeError::TooManyEntries)
    );
    // A label over 63 bytes never reaches the writer: no Name can hold it.
    assert_eq!(
        Name::from_labels([[b'x'; 64]]),
        Err(NameError::LabelTooLong)
    );
}

/// A response with `n` TXT records of about 100 bytes each.
fn big_response(n: usize) -> Message {
    let mut msg = Message::default();
    msg.header.set(Header::QR | Header::AA, true);
    msg.questions
        .push(Question::new(name("big.local"), RecordType::TXT, Class::IN));
    for i in 0..n {
        let owner = format!("r{i}.big.local");
        msg.answers.push(record(
            &owner,
            120,
            RData::Txt(vec![vec![b'a' + (i % 26) as u8; 90]]),
        ));
    }
    msg.additionals
        .push(record("big.local", 120, RData::A(Ipv4Addr::LOCALHOST)));
    msg
}

#[test]
fn cap_is_never_exceeded() {
    let msg = big_response(20);
    let full = msg.encode(MAX_MESSAGE_LEN).unwrap();
    assert!(full.len() > 512);
    for cap in [0, 11, 12, 100, 511, 512, full.len() - 1] {
        assert_eq!(msg.encode(cap), Err(EncodeError::CapExceeded), "cap {cap}");
    }
    assert_eq!(msg.encode(full.len()), Ok(full.clone()));
    assert_eq!(msg.encode(usize::MAX), Ok(full));
}

#[test]
fn truncating_stops_at_the_last_whole_record_and_sets_tc() {
    let msg = big_response(20);
    for cap in [12, 40, 200, 512, 1232] {
        let enc = msg.encode_truncating(cap).unwrap();
        assert!(enc.bytes.len() <= cap, "cap {cap}");
        assert!(enc.truncated, "cap {cap}");
        let part = Message::parse(&enc.bytes).unwrap();
        assert!(part.header.tc());
        let [qd, an, ns, ar] = enc.counts.map(usize::from);
        assert_eq!(part.questions, msg.questions[..qd]);
        assert_eq!(part.answers, msg.answers[..an]);
        assert_eq!(
            (ns, ar),
            (0, 0),
            "nothing follows a record that did not fit"
        );
        // The next entry would not have fit.
        let mut one_more = part.clone();
        one_more.header = msg.header;
        match (qd, msg.answers.get(an)) {
            (0, _) => one_more.questions.push(msg.questions[0].clone()),
            (_, Some(next)) => one_more.answers.push(next.clone()),
            (_, None) => unreachable!(),
        }
        assert!(
            one_more.encode(MAX_MESSAGE_LEN).unwrap().len() > cap,
            "cap {cap}"
        );
    }
    assert_eq!(
        msg.encode_truncating(11).map(|_| ()),
        Err(EncodeError::CapExceeded)
    );
    let whole = msg.encode_truncating(MAX_MESSAGE_LEN).unwrap();
    assert!(!whole.truncated);
    assert_eq!(whole.counts, [1, 20, 0, 1]);
    assert_eq!(Message::parse(&whole.bytes), Ok(msg));
}

#[test]
fn decode_errors_are_small_and_displayable() {
    assert!(std::mem::size_of::<DecodeError>() <= 1);
    assert_eq!(DecodeError::Truncated.to_string(), "DNS message truncated");
}

#[test]
fn seed_corpus_goes_through_the_fuzz_door() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/dns_message");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let parsed = Message::parse(&bytes);
        let named_seed = ["zeroconf_", "avahi_", "unicast_"]
            .iter()
            .any(|prefix| file.starts_with(prefix));
        if file == "hinfo_rdlength0.bin" {
            assert_eq!(parsed, Err(DecodeError::BadRdata));
        } else if named_seed {
            let msg = parsed.unwrap_or_else(|e| panic!("{file}: {e}"));
            let again = Message::parse(&msg.encode(MAX_MESSAGE_LEN).unwrap());
            assert_eq!(again, Ok(msg), "{file}");
        }
        // Anything else (inputs a fuzzer run added) only has to pass the door.
        koi_wire::fuzzing::dns::dns_message(&bytes);
        seen += 1;
    }
    assert!(seen >= 13, "seed corpus has {seen} files");
}

#[test]
fn unicast_response_seed_decodes_every_section() {
    let bytes = include_bytes!("../../fuzz/corpus/dns_message/unicast_response_soa_mx_hinfo.bin");
    let msg = Message::parse(bytes).unwrap();
    assert_eq!(
        describe(&msg),
        [
            "header id=1 flags=0x8180",
            "question www.example.com A IN",
            "answer www.example.com CNAME IN ttl=300 web.example.com",
            "answer example.com MX IN ttl=300 Mx { preference: 10, exchange: Name(\"mail.example.com\") }",
            "answer example.com HINFO IN ttl=300 Hinfo { cpu: [65, 82, 77], os: [66, 83, 68] }",
            "authority example.com SOA IN ttl=3600 Soa { mname: Name(\"ns.example.com\"), \
             rname: Name(\"example.com\"), serial: 1, refresh: 7200, retry: 3600, \
             expire: 1209600, minimum: 300 }",
        ]
    );
    let query = Message::parse(include_bytes!(
        "../../fuzz/corpus/dns_message/unicast_query_edns.bin"
    ))
    .unwrap();
    let edns = query.edns().unwrap();
    assert_eq!((edns.udp_payload_size, edns.dnssec_ok()), (1232, true));
    assert_eq!(query.questions[0].qtype, RecordType::AAAA);
}

#[test]
fn prefix_mode_splits_an_mdns_response_without_tc() {
    let msg = big_response(20);
    let mut rest = msg.clone();
    rest.questions.clear();
    let mut received = Vec::new();
    let mut packets = 0;
    while !rest.answers.is_empty() || !rest.additionals.is_empty() {
        let enc = rest.encode_prefix(512).unwrap();
        assert!(enc.bytes.len() <= 512);
        let part = Message::parse(&enc.bytes).unwrap();
        assert!(!part.header.tc());
        assert_eq!(part.header, msg.header);
        let [_, an, _, ar] = enc.counts.map(usize::from);
        assert!(an + ar > 0, "no progress");
        received.extend(part.answers);
        received.extend(part.additionals);
        rest.answers.drain(..an);
        rest.additionals.drain(..ar);
        packets += 1;
    }
    assert!(packets > 1);
    let expected: Vec<Record> = msg
        .answers
        .iter()
        .chain(&msg.additionals)
        .cloned()
        .collect();
    assert_eq!(received, expected);
}
