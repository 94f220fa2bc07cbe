#!/usr/bin/env python3
"""Record every mDNS datagram seen on 224.0.0.251:5353 for SECONDS, one file per datagram.

Run it inside a test-bed network namespace (see avahi_capture.sh), never on a real network.
usage: mdns_sniff.py OUTDIR SECONDS IFACE_ADDR
Writes OUTDIR/NNN.bin and prints one summary line per packet (parsed with python-zeroconf).
"""
import os
import socket
import struct
import sys
import time

from zeroconf._protocol.incoming import DNSIncoming

outdir, seconds, iface = sys.argv[1], float(sys.argv[2]), sys.argv[3]
os.makedirs(outdir, exist_ok=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton(iface)))
deadline = time.monotonic() + seconds
n = 0
while (left := deadline - time.monotonic()) > 0:
    s.settimeout(left)
    try:
        data, src = s.recvfrom(9000)
    except socket.timeout:
        break
    with open(f"{outdir}/{n:03}.bin", "wb") as f:
        f.write(data)
    msg = DNSIncoming(data)
    kind = "response" if msg.is_response() else "query"
    print(f"{n:03} {src[0]} {len(data)}B {kind} q={[str(q) for q in msg.questions]} "
          f"a={[str(a) for a in msg.answers()]}", flush=True)
    n += 1
