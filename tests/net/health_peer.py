#!/usr/bin/env python3
"""Servers the health tests point checks at, on loopback. Prints "ready PORT" once listening.

  health_peer.py status FILE        HTTP; answers with the status code written in FILE
  health_peer.py silent             accepts and never answers
  health_peer.py flood COUNTFILE    answers 200 with a 1 GB body, streamed; writes the bytes
                                    it managed to send per connection to COUNTFILE
  health_peer.py slow               answers one byte per second
  health_peer.py tls CERT KEY       HTTPS 200 with this certificate
"""
import http.server
import socket
import ssl
import sys
import threading
import time


def listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def ready(port):
    print(f"ready {port}", flush=True)


def serve_raw(handler):
    s = listener()
    ready(s.getsockname()[1])
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def main():
    mode = sys.argv[1]
    if mode == "status":
        path = sys.argv[2]

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with open(path) as f:
                    code = int(f.read().strip())
                body = f"status {code}\n".encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ready(srv.server_address[1])
        srv.serve_forever()
    elif mode == "silent":
        held = []

        def hold(c):
            held.append(c)
        serve_raw(hold)
    elif mode == "flood":
        out = sys.argv[2]

        def flood(c):
            sent = 0
            try:
                c.recv(4096)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
                chunk = b"x" * 65536
                while sent < 1 << 30:
                    sent += c.send(chunk)
            except OSError:
                pass
            with open(out, "a") as f:
                f.write(f"{sent}\n")
            c.close()
        serve_raw(flood)
    elif mode == "slow":
        def slow(c):
            try:
                c.recv(4096)
                for b in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                    c.sendall(bytes([b]))
                    time.sleep(1)
            except OSError:
                pass
            c.close()
        serve_raw(slow)
    elif mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            def get_request(self):
                c, a = super().get_request()
                return ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False), a

            def handle_error(self, *a):
                pass

        srv = S(("127.0.0.1", 0), H)
        ready(srv.server_address[1])
        srv.serve_forever()
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
