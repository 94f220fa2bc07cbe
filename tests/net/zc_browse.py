#!/usr/bin/env python3
"""Browse one DNS-SD type with python-zeroconf and print every change as a JSON line, until
stdin closes or SIGTERM. For tests/mdns_interop.rs.

usage: zc_browse.py TYPE v4|v6 [WATCH]
  {"event":"Added"|"Updated","name":..,"addresses":[..],"port":..,"server":..,"txt":{..}}
  {"event":"Removed","name":..}                     the PTR went (a goodbye or its TTL)
  {"event":"cache","name":WATCH,"resolvable":bool}  whenever WATCH (a full instance name)
      becomes or stops being resolvable from the cache alone: SRV, TXT and an address, none
      expired. That is how records that expire by TTL (not the PTR) are observed.
"""
import json, signal, sys, threading
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

stype, family = sys.argv[1], sys.argv[2]
watch = sys.argv[3] if len(sys.argv) > 3 else None
version = {"v4": IPVersion.V4Only, "v6": IPVersion.V6Only}[family]
out = threading.Lock()


def emit(rec):
    with out:
        print(json.dumps(rec), flush=True)


def on_change(zeroconf, service_type, name, state_change):
    rec = {"event": state_change.name, "name": name}
    if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
        info = zeroconf.get_service_info(service_type, name, timeout=3000)
        if info:
            rec.update(addresses=info.parsed_scoped_addresses(), port=info.port,
                       server=info.server,
                       txt={k.decode(): (v.decode() if v is not None else None)
                            for k, v in info.properties.items()})
    emit(rec)


zc = Zeroconf(ip_version=version)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
browser = ServiceBrowser(zc, stype, handlers=[on_change])
emit({"event": "started"})
last = None
while not stop.wait(0.1):
    if watch:
        now = ServiceInfo(stype, watch).load_from_cache(zc)
        if now != last:
            emit({"event": "cache", "name": watch, "resolvable": now})
            last = now
browser.cancel()
zc.close()
