#!/usr/bin/env python3
"""Publish COUNT DNS-SD services with python-zeroconf and keep them until killed.

usage: zc_publish.py TYPE PREFIX FIRST COUNT IPV4 [BATCH=100]

Registers PREFIX-FIRST .. PREFIX-(FIRST+COUNT-1) of TYPE (e.g. _bench._tcp.local.; a "{k}"
in TYPE becomes N % 10, spreading the services over ten types), each on its own host PREFIX-N.local at IPV4, port 8000 + N % 1000, TXT "n=N", BATCH at a time (each
batch probes and announces concurrently). Prints "T0 <t>" just before the first registration
and "DONE <count> <t>" when every announcement went out (<t>: time.time()), then holds until
SIGTERM or SIGINT. Exits without goodbyes, so a bench can stop it quickly.
"""
import asyncio
import os
import signal
import socket
import sys
import time

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

stype, prefix, first, count, ip = sys.argv[1:6]
first, count = int(first), int(count)
batch = int(sys.argv[6]) if len(sys.argv) > 6 else 100
if not stype.endswith("."):
    stype += "."


def info(n):
    ty = stype.replace("{k}", str(n % 10))
    return ServiceInfo(
        ty,
        f"{prefix}-{n}.{ty}",
        addresses=[socket.inet_aton(ip)],
        port=8000 + n % 1000,
        properties={"n": str(n)},
        server=f"{prefix}-{n}.local.",
    )


async def main():
    azc = AsyncZeroconf(ip_version=IPVersion.V4Only, interfaces=[ip])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"T0 {time.time():.6f}", flush=True)
    for start in range(first, first + count, batch):
        end = min(start + batch, first + count)
        tasks = await asyncio.gather(
            *(azc.async_register_service(info(n)) for n in range(start, end))
        )
        await asyncio.gather(*tasks)
    print(f"DONE {count} {time.time():.6f}", flush=True)
    await stop.wait()
    os._exit(0)  # no goodbyes: the bench removes the namespace anyway


asyncio.run(main())
