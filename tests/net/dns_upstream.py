#!/usr/bin/env python3
"""A scripted DNS upstream on loopback for koi's forwarding tests (UDP and TCP, one port).

Names it knows (any other gets REFUSED):
  good.example.test   first three bad replies (wrong ID 6.6.6.1, wrong question 6.6.6.2,
                      from another port 6.6.6.3), then the right one (10.9.9.9) 200 ms later
  slow.example.test   the right answer (10.9.9.8) after 500 ms; counts queries (coalescing)
  silent.example.test never answers
  tc.example.test     UDP: an empty reply with TC set; TCP: 10.9.9.7
Prints "port N" once listening, then "query NAME" for every UDP query it receives.
Usage: dns_upstream.py  (stops on SIGTERM or stdin EOF)
"""
import socket, struct, sys, threading, time

def parse_q(pkt):
    qid, flags, qd = struct.unpack(">HHH", pkt[:6])
    i, labels = 12, []
    while pkt[i]:
        l = pkt[i]; labels.append(pkt[i+1:i+1+l].decode()); i += 1 + l
    qtype, qclass = struct.unpack(">HH", pkt[i+1:i+5])
    return qid, flags, ".".join(labels), pkt[12:i+5], qtype

def reply(qid, qsection, ip=None, tc=False, rcode=0):
    flags = 0x8180 | rcode | (0x0200 if tc else 0)
    an = 1 if ip else 0
    out = struct.pack(">HHHHHH", qid, flags, 1, an, 0, 0) + qsection
    if ip:
        out += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
    return out

def main():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("127.0.0.1", port)); t.listen(16)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); other.bind(("127.0.0.1", 0))
    print("port", port, flush=True)

    def tcp_loop():
        while True:
            c, _ = t.accept()
            try:
                n = struct.unpack(">H", c.recv(2))[0]; pkt = b""
                while len(pkt) < n: pkt += c.recv(n - len(pkt))
                qid, _, name, qs, _ = parse_q(pkt)
                ip = "10.9.9.7" if name == "tc.example.test" else None
                r = reply(qid, qs, ip, rcode=0 if ip else 5)
                c.sendall(struct.pack(">H", len(r)) + r)
            finally:
                c.close()
    threading.Thread(target=tcp_loop, daemon=True).start()
    threading.Thread(target=lambda: (sys.stdin.read(), sys.exit(0)), daemon=True).start()

    while True:
        pkt, src = u.recvfrom(4096)
        try:
            qid, flags, name, qs, qtype = parse_q(pkt)
        except Exception:
            continue
        print("query", name, flush=True)
        if name == "good.example.test":
            u.sendto(reply(qid ^ 0x5555, qs, "6.6.6.1"), src)
            wrong = qs.replace(b"good", b"gooe")
            u.sendto(reply(qid, wrong, "6.6.6.2"), src)
            other.sendto(reply(qid, qs, "6.6.6.3"), src)
            def later(qid=qid, qs=qs, src=src):
                time.sleep(0.2); u.sendto(reply(qid, qs, "10.9.9.9"), src)
            threading.Thread(target=later, daemon=True).start()
        elif name == "slow.example.test":
            def later(qid=qid, qs=qs, src=src):
                time.sleep(0.5); u.sendto(reply(qid, qs, "10.9.9.8"), src)
            threading.Thread(target=later, daemon=True).start()
        elif name == "silent.example.test":
            pass
        elif name == "tc.example.test":
            u.sendto(reply(qid, qs, None, tc=True), src)
        else:
            u.sendto(reply(qid, qs, None, rcode=5), src)

if __name__ == "__main__":
    main()
