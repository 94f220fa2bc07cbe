#!/usr/bin/env python3
"""Register one DNS-SD service with python-zeroconf until stdin closes or SIGTERM, then
unregister it (goodbyes). For tests/mdns_interop.rs.

usage: zc_register.py NAME TYPE PORT SERVER v4|v6 ADDR[,ADDR...] [key=value ...]
e.g.   zc_register.py zc-web _http._tcp.local. 8080 zc-host.local. v4 10.1.2.2 path=/zc

Prints one JSON line {"event":"registered","name":...} once probing is over, or
{"event":"error",...} and exits 1 if the name is taken.
"""
import ipaddress, json, signal, sys, threading
from zeroconf import IPVersion, NonUniqueNameException, ServiceInfo, Zeroconf

name, stype, port, server, family, addrs = sys.argv[1:7]
props = dict(kv.split("=", 1) for kv in sys.argv[7:])
version = {"v4": IPVersion.V4Only, "v6": IPVersion.V6Only}[family]
packed = [ipaddress.ip_address(a.split("%")[0]).packed for a in addrs.split(",")]
info = ServiceInfo(stype, f"{name}.{stype}", addresses=packed, port=int(port),
                   properties=props, server=server)
zc = Zeroconf(ip_version=version)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
try:
    zc.register_service(info)
except NonUniqueNameException:
    print(json.dumps({"event": "error", "error": "name taken", "name": info.name}), flush=True)
    zc.close()
    sys.exit(1)
print(json.dumps({"event": "registered", "name": info.name}), flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
stop.wait()
zc.unregister_service(info)
zc.close()
print(json.dumps({"event": "unregistered", "name": info.name}), flush=True)
