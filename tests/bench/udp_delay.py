#!/usr/bin/env python3
"""A UDP link with a fixed delay each way, for tests/bench/dns.sh: listens on 127.0.0.1:LISTEN,
holds each datagram DELAY_MS/2, passes it to 127.0.0.1:TARGET from a socket of its own per
client address and port, and holds each reply DELAY_MS/2 on the way back. So a DNS server on
TARGET looks DELAY_MS of round trip away (netem is not available in every kernel).

    udp_delay.py LISTEN TARGET DELAY_MS
"""
import asyncio
import sys
import time


class Back(asyncio.DatagramProtocol):
    def __init__(self, link, client):
        self.link, self.client, self.transport, self.seen = link, client, None, time.monotonic()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.seen = time.monotonic()
        self.link.later(lambda: self.link.transport.sendto(data, self.client))


class Link(asyncio.DatagramProtocol):
    def __init__(self, target, half):
        self.target, self.half, self.transport, self.clients = target, half, None, {}

    def connection_made(self, transport):
        self.transport = transport

    def later(self, fn):
        asyncio.get_running_loop().call_later(self.half, fn)

    def datagram_received(self, data, addr):
        self.later(lambda: asyncio.ensure_future(self.forward(data, addr)))

    async def forward(self, data, addr):
        back = self.clients.get(addr)
        if back is None:
            loop = asyncio.get_running_loop()
            _, back = await loop.create_datagram_endpoint(
                lambda: Back(self, addr), remote_addr=("127.0.0.1", self.target))
            self.clients[addr] = back
        back.seen = time.monotonic()
        back.transport.sendto(data)

    async def sweep(self):
        while True:
            await asyncio.sleep(2)
            old = [a for a, b in self.clients.items() if time.monotonic() - b.seen > 5]
            for a in old:
                self.clients.pop(a).transport.close()


async def main():
    listen, target, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    loop = asyncio.get_running_loop()
    _, link = await loop.create_datagram_endpoint(
        lambda: Link(target, delay_ms / 2000), local_addr=("127.0.0.1", listen))
    await link.sweep()


asyncio.run(main())
