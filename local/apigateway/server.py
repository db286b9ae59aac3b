"""The local API Gateway's HTTP server: reads each request off the socket (bodies up to API Gateway's 10 MB quota,
chunked or not), adds the headers API Gateway adds on the way in, and hands it to the request pipeline
(:meth:`LocalHttpApi.handle <local.apigateway.service.LocalHttpApi.handle>`)."""

from __future__ import annotations

import os
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from local.apigateway.errors import RequestEntityTooLarge
from local.apigateway.messages import GatewayRequest

if TYPE_CHECKING:
    from local.apigateway.service import LocalHttpApi

# API Gateway's quota for a request body.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024


class GatewayHTTPServer(ThreadingHTTPServer):
    """The socket side of one :class:`~local.apigateway.service.LocalHttpApi`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: LocalHttpApi) -> None:
        self.api = api
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is not worth a line; anything else goes to the log sink, not stderr."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.api.log(f"error serving {client_address[0]}:\n{traceback.format_exc()}")


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the client's
    # delayed ACK hold every kept-alive response ~40 ms.
    disable_nagle_algorithm = True
    server_version = "LocalHttpApi"
    server: GatewayHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no line per request on stderr
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        """The status line and ``Date``, without http.server's ``Server`` header: API Gateway sends none (the
        response on the JWT troubleshooting page, tests/local/conformance)."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_REQUEST_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        api = self.server.api
        body = self._read_body()
        source_ip = self.client_address[0]
        headers = [(name, value) for name, value in self.headers.items() if name.lower() != "transfer-encoding"]
        present = {name.lower() for name, _ in headers}
        now = time.time()
        # What API Gateway adds on the way in; the integration sees these.
        added = [
            ("x-forwarded-for", source_ip),
            ("x-forwarded-port", str(self.server.server_address[1])),
            ("x-forwarded-proto", "http"),
            ("x-amzn-trace-id", f"Root=1-{int(now):08x}-{os.urandom(12).hex()}"),
        ]
        headers.extend((name, value) for name, value in added if name not in present)
        request = GatewayRequest(
            self.command, self.path, headers, body or b"", source_ip=source_ip, protocol=self.request_version, now=now
        )
        if body is None:
            response = RequestEntityTooLarge().response()
            response.headers.append(("apigw-requestid", request.request_id))
            self.close_connection = True
        else:
            response = api.handle(request, domain_name=self.headers.get("host") or f"127.0.0.1:{api.port}")
        api.log_access(request, response)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve
