"""The local API Gateway's HTTP server: reads each request off the socket (bodies up to API Gateway's 10 MB quota,
chunked or not), adds the headers API Gateway adds on the way in, and hands it to the request pipeline
(:meth:`LocalHttpApi.handle <local.apigateway.service.LocalHttpApi.handle>`).

A request whose body cannot be delimited is an unrecoverable framing error (RFC 9112 §6.3): an invalid or ambiguous
``Content-Length``, ``Transfer-Encoding`` beside one or other than ``chunked``, a bad chunk-size line, a body the client
cut short. It is answered ``400 {"message":"Bad Request"}`` and the connection is closed, since the next request's
first byte is unknown. ``content_length`` is the one reading of that header, shared with the development issuer's
server.
"""

from __future__ import annotations

import os
import re
import sys
import time
import traceback
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from local.apigateway.errors import BadRequest, GatewayError, RequestEntityTooLarge
from local.apigateway.messages import GatewayRequest, GatewayResponse, message_response, new_request_id

if TYPE_CHECKING:
    from local.apigateway.service import LocalHttpApi

# API Gateway's quota for a request body.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")
_OWS = " \t"  # the only whitespace around a field value (RFC 9110 §5.6.3); int() would also skip \v, \f and more
_BEYOND_ANY_BODY = 10**18  # a length with more digits is read as this: over every quota, and int() stays cheap
_CHUNK_LINE_LIMIT = 4096  # a chunk-size line (with its extensions) or a trailer field longer than this is refused
_MAX_TRAILER_FIELDS = 100


class InvalidFraming(ValueError):
    """The request's body length cannot be determined; the message says why (for the log, never parsed)."""


def content_length(headers: Message) -> int | None:
    """The body length ``Content-Length`` declares (RFC 9110 §8.6), or None without the header.

    One length: decimal digits, optionally repeated identically (``5, 5`` or two fields), whitespace (SP, HTAB)
    around it allowed. Anything else (``-5``, ``+5``, ``1e3``, ``0x10``, ``1_0``, two lengths that differ) raises
    ``InvalidFraming``."""
    fields = headers.get_all("content-length")
    if fields is None:
        return None
    values = {value.strip(_OWS) for field in fields for value in field.split(",")}
    if len(values) != 1:
        raise InvalidFraming(f"Content-Length holds {len(values)} different values")
    [value] = values
    if not _DIGITS.fullmatch(value):
        raise InvalidFraming(f"Content-Length {value[:40]!r} is not a decimal number of bytes")
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _BEYOND_ANY_BODY


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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's own refusals (a request line or header it cannot read, an unknown method) in API
        Gateway's JSON, like every other error of the gateway, instead of an HTML page."""
        if self.request_version == "HTTP/0.9":  # the line did not parse: the default would suppress the status line
            self.request_version = "HTTP/1.0"
        self._send(message_response(code, HTTPStatus(code).phrase, ("apigw-requestid", new_request_id()),
                                    ("connection", "close")))

    def _read_body(self) -> bytes:
        """The request body, delimited as RFC 9112 §6.3 says; ``BadRequest`` or ``RequestEntityTooLarge`` when it
        cannot be read."""
        if self.headers.defects:  # e.g. "Content-Length : 5": the parser dropped a field, maybe the framing one
            raise BadRequest("a header field the server cannot read")
        try:
            chunked = self._chunked()
            length = content_length(self.headers)
            if chunked:
                if length is not None:
                    raise InvalidFraming("both Content-Length and Transfer-Encoding")
                return self._read_chunked()
        except InvalidFraming as problem:
            raise BadRequest(str(problem)) from None
        if not length:
            return b""
        if length > MAX_REQUEST_BODY_BYTES:
            raise RequestEntityTooLarge()
        body = self.rfile.read(length)
        if len(body) < length:
            raise BadRequest(f"the body ended after {len(body)} of {length} bytes")
        return body

    def _chunked(self) -> bool:
        """Whether the body is chunked: ``Transfer-Encoding: chunked``; any other transfer coding is refused."""
        fields = self.headers.get_all("transfer-encoding")
        if fields is None:
            return False
        if self.request_version == "HTTP/1.0":  # RFC 9112 §6.1: its framing is faulty
            raise InvalidFraming("Transfer-Encoding in an HTTP/1.0 request")
        codings = [c.strip(_OWS).lower() for field in fields for c in field.split(",") if c.strip(_OWS)]
        # chunked must be the last coding and API Gateway applies no other: anything else leaves the length unknown
        if codings != ["chunked"]:
            raise InvalidFraming(f"Transfer-Encoding {', '.join(codings)[:60]!r} is not chunked")
        return True

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size = self._chunk_size()
            if size == 0:
                break
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                raise RequestEntityTooLarge()
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise InvalidFraming("a chunk's data is not followed by CRLF")
            chunks.append(data)
        for _ in range(_MAX_TRAILER_FIELDS):  # the trailer section: fields until an empty line, dropped
            line = self.rfile.readline(_CHUNK_LINE_LIMIT + 1)
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
            if not line.endswith(b"\n"):
                raise InvalidFraming("the trailer section ends early or holds a line too long")
        raise InvalidFraming(f"more than {_MAX_TRAILER_FIELDS} trailer fields")

    def _chunk_size(self) -> int:
        line = self.rfile.readline(_CHUNK_LINE_LIMIT + 1)
        if not line.endswith(b"\n"):
            raise InvalidFraming("the chunked body ended" if len(line) <= _CHUNK_LINE_LIMIT
                                 else "a chunk-size line is too long")
        size = line.rstrip(b"\r\n").split(b";", 1)[0].rstrip(b" \t")  # BWS may precede an extension
        if not _HEX_DIGITS.fullmatch(size):
            raise InvalidFraming(f"chunk size {size[:20]!r} is not hexadecimal digits")
        return int(size, 16)

    def _serve(self) -> None:
        api = self.server.api
        refusal: GatewayError | None = None
        try:
            body = self._read_body()
        except (BadRequest, RequestEntityTooLarge) as problem:
            body, refusal = b"", problem
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
            self.command, self.path, headers, body, source_ip=source_ip, protocol=self.request_version, now=now
        )
        if refusal is None:
            response = api.handle(request, domain_name=self.headers.get("host") or f"127.0.0.1:{api.port}")
        else:  # the body's end is unknown, so is the next request's start: answer, then close
            if refusal.log:
                api.log(f"{request.request_id} {refusal.status}: {refusal.log}")
            response = refusal.response()
            response.headers += [("apigw-requestid", request.request_id), ("connection", "close")]
        api.log_access(request, response)
        self._send(response)

    def _send(self, response: GatewayResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)  # "connection: close" also ends the connection after this response
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve
