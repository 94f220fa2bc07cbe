#!/usr/bin/env python3
"""Loopback targets for tests/bench/health.sh: one HTTP port answering 200 to any path, and
N TCP ports that accept and close. Every arrival is logged as "KEY MONOTONIC_SECONDS" (KEY is
the HTTP path or "tcp:PORT") to LOGFILE, so the bench measures each check's schedule from the
outside. Prints "ready HTTP_PORT TCP_PORT1,TCP_PORT2,..." once listening.

  health_targets.py LOGFILE N_TCP_PORTS
"""
import asyncio
import sys
import time

LOG = open(sys.argv[1], "w", buffering=1 << 16)
N_TCP = int(sys.argv[2])
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"


async def http(reader, writer):
    try:
        line = await reader.readline()
        t = time.monotonic()
        parts = line.split()
        path = parts[1].decode() if len(parts) > 1 else "?"
        LOG.write(f"{path} {t:.6f}\n")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(RESP)
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    srv = await asyncio.start_server(http, "127.0.0.1", 0, backlog=1024)
    http_port = srv.sockets[0].getsockname()[1]
    ports = []
    servers = [srv]
    for _ in range(N_TCP):
        holder = {}

        async def handle(reader, writer, holder=holder):
            LOG.write(f"tcp:{holder['port']} {time.monotonic():.6f}\n")
            writer.close()
        s = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        holder["port"] = s.sockets[0].getsockname()[1]
        ports.append(holder["port"])
        servers.append(s)
    print(f"ready {http_port} {','.join(map(str, ports))}", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    import signal
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    await stop
    LOG.flush()


asyncio.run(main())
