"""A loopback HTTP peer that stalls in one way per path (``tests/authorizer/conftest.py``'s ``peer``): the IdP of
the deadline tests (``test_fetch_deadline.py``, ``test_remote_config_bounds.py``)."""

from __future__ import annotations

import json
import socket
import socketserver
import threading

#: The JWKS deadline (``AUTH_JWKS_TIMEOUT_SECONDS``) the tests give the fetcher, which ``/slow`` is timed against.
TIMEOUT = 0.5

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"


class StallingPeer:
    """A loopback HTTP peer that misbehaves in one way per path, until the test ends."""

    #: How long ``/slow`` takes to send its discovery document: within a deadline with 0.3 s to spare, so a busy
    #: machine still sends it in time, and long enough that one deadline shared by both exchanges (answered at
    #: ``TIMEOUT``) is told from one each (``TIMEOUT + DISCOVERY_DELAY`` at least) by 0.2 s.
    DISCOVERY_DELAY = 0.4 * TIMEOUT

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.connections = 0
        self.paths: list[str] = []
        peer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                peer.connections += 1
                request = self.request.recv(65536).decode("latin-1")
                path = request.split(" ", 2)[1] if request.count(" ") >= 2 else ""
                while path.startswith("/ok"):  # a well-behaved peer that keeps the connection alive
                    self.request.sendall(HEADERS + b'{"keys": []}')
                    request = self.request.recv(65536).decode("latin-1")
                    path = request.split(" ", 2)[1] if request.count(" ") >= 2 else ""
                peer.paths.append(path)
                if path == "/slow/.well-known/openid-configuration":  # a slow discovery, whose JWKS is silent
                    if not peer.stop.wait(peer.DISCOVERY_DELAY):
                        body = json.dumps({"issuer": peer.root + "/slow", "jwks_uri": peer.root + "/silent/jwks"})
                        self.request.sendall(HEADERS.replace(b"12", str(len(body)).encode()) + body.encode())
                        following = self.request.recv(65536).decode("latin-1")  # the JWKS, on this kept-alive link
                        if following.count(" ") >= 2:
                            peer.paths.append(following.split(" ", 2)[1])
                    peer.stop.wait(60)
                elif path.startswith("/silent"):
                    peer.stop.wait(60)  # accepts, reads the request, never answers
                elif path.startswith("/status"):
                    peer.drip(self.request, HEADERS + b'{"keys": []}')
                elif path.startswith("/headers"):
                    self.request.sendall(b"HTTP/1.1 200 OK\r\n")
                    peer.drip(self.request, b"X-Padding: " + b"a" * 400 + b"\r\n" + HEADERS[17:] + b'{"keys": []}')
                elif path.startswith("/body"):
                    self.request.sendall(HEADERS.replace(b"12", b"400"))
                    peer.drip(self.request, b" " * 400)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"

    def drip(self, sock: socket.socket, data: bytes) -> None:
        """One byte every 0.05 s: each read returns well within any read timeout, and the whole takes 20 s+."""
        for byte in data:
            if self.stop.wait(0.05):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up, as it should

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
