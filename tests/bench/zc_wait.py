#!/usr/bin/env python3
"""Wait, with python-zeroconf, for one DNS-SD instance to appear; print when (wall clock).

usage: zc_wait.py TYPE INSTANCE TIMEOUT_SECS

Prints "READY <t>" once browsing (its first queries out and answered), then "SEEN <t>" when
INSTANCE.TYPE is added and "RESOLVED <t>" when its SRV, TXT and address are known; <t> is
time.time(), comparable with `date +%s.%N` on the same machine. Exit 0 if resolved, 1 if the
timeout passed first.
"""
import sys
import threading
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceStateChange, Zeroconf

stype, instance, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
if not stype.endswith("."):
    stype += "."
wanted = f"{instance}.{stype}"
resolved = threading.Event()


def on_change(zeroconf, service_type, name, state_change):
    if name.lower() != wanted.lower() or state_change is not ServiceStateChange.Added:
        return
    print(f"SEEN {time.time():.6f}", flush=True)
    info = zeroconf.get_service_info(service_type, name, timeout=3000)
    if info and info.port and info.parsed_addresses():
        print(f"RESOLVED {time.time():.6f}", flush=True)
        resolved.set()


zc = Zeroconf(ip_version=IPVersion.V4Only)
try:
    ServiceBrowser(zc, stype, handlers=[on_change])
    time.sleep(0.5)  # its first query and the answers to it are behind us
    print(f"READY {time.time():.6f}", flush=True)
    ok = resolved.wait(timeout)
finally:
    zc.close()
sys.exit(0 if ok else 1)
