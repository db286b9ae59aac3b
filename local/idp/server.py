"""The development issuer's HTTP server: discovery, JWKS, the token endpoint and the admin mint endpoint, with JSON
errors, keep-alive, bounded bodies and the JWKS faults; and the authorization servers' endpoints (metadata,
authorize, token, register), handed to ``issuer.authorization`` as ``HttpExchange``s. It asks the issuer only
through its public methods (``serves``, ``discovery``, ``jwks_request``, ``jwks``, ``client_credentials_grant``,
``mint``, ``authorization``), and binds loopback addresses only.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import struct
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from local.apigateway.server import InvalidFraming, content_length
from local.idp.authorization_server import Answer, DevAuthorizationServer, HttpExchange
from local.idp.oauth import OAuthError, media_type, parse_form
from local.idp.profiles import MINT_OPTIONS, Route, route

if TYPE_CHECKING:
    from local.idp.issuer import DevIssuer

_log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_DRAINED_BYTES = 1024 * 1024
# The grants the oidc issuer's token endpoint hands to its authorization server (client_credentials stays here).
AUTHORIZATION_SERVER_GRANTS = ("authorization_code", "refresh_token")
POST_ENDPOINTS = ("token", "admin_mint", "as_token", "register")


class IssuerHTTPServer(ThreadingHTTPServer):
    """The development issuer's server: one thread per connection, every open connection tracked."""

    daemon_threads = True
    # Do not wait for handler threads on close: a held ("timeout") or idle keep-alive connection would block stop().
    block_on_close = False

    def __init__(self, address: tuple[str, int], issuer: DevIssuer) -> None:
        self.issuer = issuer
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Condition()
        self.connections_closed = 0
        super().__init__(address, IssuerRequestHandler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        # Called last for a connection, after handle_error: once counted, it has written all it ever will.
        super().shutdown_request(request)
        with self._connections_lock:
            self._connections.discard(request)
            self.connections_closed += 1
            self._connections_lock.notify_all()

    def wait_connections_closed(self, count: int, timeout: float) -> bool:
        with self._connections_lock:
            return self._connections_lock.wait_for(lambda: self.connections_closed >= count, timeout)

    def close_connections(self) -> None:
        """End open connections, so a stopped issuer does not keep answering on pooled keep-alive connections."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # Clients that hang up (timeouts, resets) are normal here; keep stderr quiet.
        _log.debug("dev issuer: connection error from %s", client_address, exc_info=True)


class IssuerRequestHandler(BaseHTTPRequestHandler):
    """Routes a request to discovery, JWKS, token or admin mint, through the issuer's public methods only."""

    server: IssuerHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as verifiers with a pooled session expect
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold every kept-alive response ~40 ms.
    disable_nagle_algorithm = True
    server_version = "DevIssuer"
    timeout = 30  # idle keep-alive connections end after this

    # -- quiet, JSON errors

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        """No per-request lines on stderr: tests and demos stay quiet."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own errors (malformed request line, unknown method) as JSON instead of HTML."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # A request line that did not parse leaves the 0.9 default, which would suppress the status line.
            self.request_version = "HTTP/1.0"
        status = HTTPStatus(code)
        self._send_json(code, {"error": status.phrase.lower().replace(" ", "_"),
                               "error_description": message or status.phrase})

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self._handle()
        except OSError:  # the client hung up or stalled mid-body: nothing to answer
            self.close_connection = True
        except Exception:  # a bug here must not reach the client as a traceback
            _log.exception("dev issuer: unexpected error on %s", self.command)
            self.close_connection = True
            try:
                self._send_json(500, {"error": "server_error", "error_description": "unexpected error"})
            except OSError:
                pass

    def _handle(self) -> None:
        issuer = self.server.issuer
        body = self._read_body()
        if body is None:
            return
        path = urllib.parse.urlsplit(self.path).path
        found = route(path)
        if found is None or (found.endpoint == "admin_mint" and not issuer.admin):
            self._send_json(404, {"error": "not_found", "error_description": "no such endpoint"})
            return
        if found.profile is not None and found.realm is not None and not issuer.serves(found.profile, found.realm):
            self._send_json(404, {"error": "not_found", "error_description": "no such issuer"})
            return
        allowed_method = "POST" if found.endpoint in POST_ENDPOINTS else "GET"
        if self.command != allowed_method:
            self._send_json(405, {"error": "method_not_allowed", "error_description": f"use {allowed_method}"},
                            {"Allow": allowed_method})
            return
        handler = {"discovery": self._discovery, "jwks": self._jwks, "token": self._token, "admin_mint": self._mint,
                   "as_metadata": self._as_metadata, "authorize": self._authorize, "as_token": self._as_token,
                   "register": self._register}
        handler[found.endpoint](found, body)

    def _read_body(self) -> bytes | None:
        """The request body (bounded); None when an error response was already sent."""
        if self.headers.get_all("Transfer-Encoding") is not None:  # no chunked bodies here: the length is unknown
            self.close_connection = True
            self._send_json(411, {"error": "invalid_request", "error_description": "send a Content-Length"})
            return None
        try:
            length = content_length(self.headers) or 0  # as the local API Gateway reads it: "+5" or "1e3" is no length
        except InvalidFraming:
            self.close_connection = True
            self._send_json(400, {"error": "invalid_request", "error_description": "bad Content-Length"})
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if length <= MAX_DRAINED_BYTES:
                # Read what the client is sending before answering: closing on unread data resets the connection,
                # and the client would see a reset instead of the 413.
                self.rfile.read(length)
            self._send_json(413, {"error": "invalid_request", "error_description": "request body too large"})
            return None
        return self.rfile.read(length) if length else b""

    # -- endpoints

    def _discovery(self, found: Route, body: bytes) -> None:
        assert found.profile is not None  # only the admin endpoint has no profile
        self._send_json(200, self.server.issuer.discovery(found.profile, found.realm, **dict(found.variant)))

    def _jwks(self, found: Route, body: bytes) -> None:
        assert found.profile is not None  # only the admin endpoint has no profile
        issuer = self.server.issuer
        mode, hold_seconds = issuer.jwks_request(found.profile, found.realm)
        if mode == "error":
            self._send_json(500, {"error": "server_error", "error_description": "simulated JWKS outage"})
            return
        if mode == "html":
            self._send(200, b"<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>", "text/html; charset=utf-8")
            return
        if mode == "reset":
            self._reset_connection()
            return
        if mode == "timeout" and issuer.stopped_within(hold_seconds):
            self.close_connection = True  # stopped while holding: just hang up
            return
        self._send_json(200, issuer.jwks(found.profile, found.realm), {"Cache-Control": "public, max-age=300"})

    def _token(self, found: Route, body: bytes) -> None:
        assert found.profile is not None  # only the admin endpoint has no profile
        issuer = self.server.issuer
        try:
            form = parse_form(self.headers.get("Content-Type"), body)
            if form.get("grant_type") in AUTHORIZATION_SERVER_GRANTS and found.profile == "oidc":
                self._as_token(found, body)
                return
            answer = issuer.client_credentials_grant(
                found.profile, found.realm, self.headers.get("Authorization"), form
            )
        except OAuthError as error:
            headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
            if error.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="dev-issuer"'
            self._send_json(error.status, {"error": error.error, "error_description": error.description}, headers)
            return
        self._send_json(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- the authorization servers (local/idp/authorization_server.py)

    def _authorization_server(self, found: Route) -> DevAuthorizationServer | None:
        server = self.server.issuer.authorization.for_route(found)
        if server is None:
            self._send_json(404, {"error": "not_found", "error_description": "no such authorization server"})
        return server

    def _exchange(self, body: bytes) -> HttpExchange:
        return HttpExchange(self.command, self.server.issuer.root + self.path, self.headers, body)

    def _as_metadata(self, found: Route, body: bytes) -> None:
        server = self._authorization_server(found)
        if server is not None:
            self._send_json(200, server.metadata(), {"Cache-Control": "public, max-age=300"})

    def _authorize(self, found: Route, body: bytes) -> None:
        server = self._authorization_server(found)
        if server is not None:
            self._send_answer(server.authorize(self._exchange(body)))

    def _as_token(self, found: Route, body: bytes) -> None:
        server = self._authorization_server(found)
        if server is not None:
            self._send_answer(server.token(self._exchange(body)))

    def _register(self, found: Route, body: bytes) -> None:
        server = self._authorization_server(found)
        if server is not None:
            self._send_answer(server.register(self._exchange(body)))

    def _send_answer(self, answer: Answer) -> None:
        headers = {name: value for name, value in answer.headers if name.lower() != "content-type"}
        if answer.body is None:
            self._send(answer.status, b"", "text/plain; charset=utf-8", headers)
        else:
            self._send_json(answer.status, answer.body, headers)

    def _mint(self, found: Route, body: bytes) -> None:
        issuer = self.server.issuer
        port = self.server.server_address[1]
        # Defence against DNS rebinding: a web page whose host name resolves to 127.0.0.1 sends its own Host.
        if self.headers.get("Host", "") not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            self._send_json(403, {"error": "access_denied", "error_description": "loopback Host required"})
            return
        # JSON only: a browser cannot send it cross-origin without a CORS preflight, which this server never grants.
        if media_type(self.headers.get("Content-Type")) != "application/json":
            self._send_json(415, {"error": "invalid_request", "error_description": "send application/json"})
            return
        try:
            options = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            options = None
        if not isinstance(options, dict):
            self._send_json(400, {"error": "invalid_request", "error_description": "body must be a JSON object"})
            return
        unknown = sorted(set(options) - MINT_OPTIONS)
        if unknown:
            self._send_json(400, {"error": "invalid_request", "error_description": f"unknown option(s): {unknown}"})
            return
        profile = options.pop("profile", "oidc")
        try:
            token = issuer.mint(profile, **options)
        except (TypeError, ValueError) as error:
            self._send_json(400, {"error": "invalid_request", "error_description": str(error)})
            return
        self._send_json(200, {"access_token": token, "token_type": "Bearer"}, {"Cache-Control": "no-store"})

    # -- writing

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode("utf-8"), "application/json", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout makes close() send a TCP RST instead of a FIN: "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def loopback_host(host: str) -> str:
    """The IPv4 loopback address to bind; anything else is refused (this server must never be reachable)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the dev issuer binds to 127.0.0.0/8 only, not {host!r}") from None
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"the dev issuer binds to 127.0.0.0/8 only, not {host!r}")
    return host
