"""The local HTTP API's message framing over raw sockets to a real server on 127.0.0.1 (RFC 9112 §6).

A request whose body length cannot be determined — an invalid or ambiguous ``Content-Length``, ``Transfer-Encoding``
with it or other than ``chunked``, a bad chunk-size line, a body cut short — is answered ``400
{"message":"Bad Request"}`` with ``Connection: close``, and the connection is closed (§6.3: an unrecoverable framing
error). The server keeps serving other clients and writes no traceback to its log. Valid framing (whitespace around
the value, a repeated identical length, chunk extensions and trailers) still reads the body exactly: the next request
on the same connection is answered.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.apigateway.model import HttpApi, Stage
from local.apigateway.service import LocalHttpApi

BAD_REQUEST = b'{"message":"Bad Request"}'
NOT_FOUND = b'{"message":"Not Found"}'  # the API has no route: every well-framed request is answered 404


@dataclass
class Gateway:
    port: int
    log: Path


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    log = tmp_path_factory.mktemp("framing") / "gateway.log"
    api = HttpApi(logical_id="Api", api_id="frame1", name="framing", stack_name="FramingStack",
                  stages=[Stage("$default")], routes=[], integrations={}, authorizers={}, functions={})
    local = LocalHttpApi(api, log_sink=log, access_log=True)
    local.start()
    yield Gateway(local.port, log)
    local.close()


def exchange(port: int, raw: bytes, *, half_close: bool = False) -> bytes:
    """Send ``raw`` on a new connection and read until the server closes it (a server that keeps it open fails the
    test by the socket timeout). ``half_close``: then end the request stream, as a client whose body ran short."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(raw)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


class _Kept(io.BytesIO):
    def close(self) -> None:  # HTTPResponse closes its file after each body: the next response follows in it
        pass


class _Received:
    """What ``http.client.HTTPResponse`` reads responses from: the bytes the server sent."""

    def __init__(self, data: bytes) -> None:
        self.file = _Kept(data)

    def makefile(self, *args: object, **kwargs: object) -> io.BytesIO:
        return self.file


def responses(received: bytes) -> list[tuple[int, http.client.HTTPMessage, bytes]]:
    """Every response in ``received``, each read as a client reads it (its Content-Length delimits it)."""
    source = _Received(received)
    answers = []
    while source.file.tell() < len(received):
        response = http.client.HTTPResponse(source)  # type: ignore[arg-type]
        response.begin()
        answers.append((response.status, response.msg, response.read()))
    return answers


def assert_bad_request_and_closed(received: bytes) -> None:
    assert received, "the server closed the connection without an answer"
    [(status, headers, body)] = responses(received)  # and the connection was closed after it (exchange read EOF)
    assert (status, body) == (400, BAD_REQUEST)
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert headers["apigw-requestid"]


def request(*header_lines: str, body: bytes = b"", method: str = "POST", version: str = "HTTP/1.1") -> bytes:
    head = "".join(f"{line}\r\n" for line in (f"{method} /orders {version}", "Host: 127.0.0.1", *header_lines))
    return head.encode("latin-1") + b"\r\n" + body


def assert_no_traceback(gateway: Gateway) -> None:
    log = gateway.log.read_text()
    assert "Traceback" not in log and "error serving" not in log, log


@pytest.mark.parametrize("value", ["-5", "abc", "1e3", "+5", "0x10", "1_0", "1 2", "\x0b12", "12\x0c", "", "\xb2",
                                   "5, 6", "5,", "18446744073709551616a"])
def test_an_invalid_content_length_is_400_and_the_connection_is_closed(gateway, value):
    assert_bad_request_and_closed(exchange(gateway.port, request(f"Content-Length: {value}")))
    assert_no_traceback(gateway)


def test_a_content_length_beyond_any_body_is_413_and_the_connection_is_closed(gateway):
    received = exchange(gateway.port, request(f"Content-Length: {'9' * 5000}"))
    [(status, headers, body)] = responses(received)
    assert (status, body, headers["connection"]) == (413, b'{"message":"Request Entity Too Large"}', "close")
    assert_no_traceback(gateway)


def test_two_differing_content_lengths_are_400_and_the_connection_is_closed(gateway):
    received = exchange(gateway.port, request("Content-Length: 5", "Content-Length: 6", body=b"hello"))
    assert_bad_request_and_closed(received)
    assert_no_traceback(gateway)


def test_a_content_length_folded_onto_a_second_line_is_400(gateway):
    assert_bad_request_and_closed(exchange(gateway.port, request("Content-Length:", " 12")))


def test_a_content_length_with_space_before_the_colon_is_400(gateway):
    # RFC 9112 §5.1: the parser would drop the field, and the body would be read as the next request
    assert_bad_request_and_closed(exchange(gateway.port, request("Content-Length : 5", body=b"GET /")))


@pytest.mark.parametrize("transfer_encoding", ["chunked", "Chunked", "gzip, chunked"])
def test_content_length_with_transfer_encoding_is_400_and_the_connection_is_closed(gateway, transfer_encoding):
    received = exchange(gateway.port, request("Content-Length: 5", f"Transfer-Encoding: {transfer_encoding}",
                                         body=b"0\r\n\r\n"))
    assert_bad_request_and_closed(received)
    assert_no_traceback(gateway)


@pytest.mark.parametrize("transfer_encoding", ["gzip", "chunked, gzip", "chunked, chunked", "xchunkedx", ""])
def test_a_transfer_encoding_other_than_chunked_is_400(gateway, transfer_encoding):
    assert_bad_request_and_closed(exchange(gateway.port, request(f"Transfer-Encoding: {transfer_encoding}",
                                                            body=b"0\r\n\r\n")))


def test_transfer_encoding_in_an_http_1_0_request_is_400(gateway):
    # RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing
    received = exchange(gateway.port, request("Transfer-Encoding: chunked", body=b"0\r\n\r\n", version="HTTP/1.0"))
    assert_bad_request_and_closed(received)


@pytest.mark.parametrize("size_line", [b"zz", b"-1", b"0x5", b" 5", b"+5", b"5_0", b"", b"5 5", b"\xff",
                                       b"0" * 5000 + b"5"])
def test_an_invalid_chunk_size_line_is_400_and_the_connection_is_closed(gateway, size_line):
    received = exchange(gateway.port, request("Transfer-Encoding: chunked", body=size_line + b"\r\nhello\r\n0\r\n\r\n"))
    assert_bad_request_and_closed(received)
    assert_no_traceback(gateway)


def test_chunk_data_not_followed_by_crlf_is_400(gateway):
    received = exchange(gateway.port, request("Transfer-Encoding: chunked", body=b"5\r\nhelloXX\r\n0\r\n\r\n"))
    assert_bad_request_and_closed(received)


@pytest.mark.parametrize("headers, body", [(["Content-Length: 10"], b"abc"),
                                           (["Transfer-Encoding: chunked"], b"5\r\nhel"),
                                           (["Transfer-Encoding: chunked"], b"5\r\nhello\r\n")])
def test_a_body_cut_short_by_the_client_is_400_not_a_truncated_request(gateway, headers, body):
    assert_bad_request_and_closed(exchange(gateway.port, request(*headers, body=body), half_close=True))
    assert_no_traceback(gateway)


def test_a_request_line_the_server_cannot_read_gets_api_gateways_json_400(gateway):
    assert_bad_request_and_closed(exchange(gateway.port, b"GET /orders HTTP/1.1 extra\r\nHost: x\r\n\r\n"))


def test_a_client_that_sends_a_body_after_an_invalid_content_length_reads_the_400(gateway):
    received = exchange(gateway.port, request("Content-Length: abc", body=b"x" * 256 * 1024))
    assert_bad_request_and_closed(received)


def test_after_framing_errors_the_server_keeps_serving_and_logs_no_traceback(gateway):
    for raw in (request("Content-Length: -5"), request("Content-Length: abc"),
                request("Transfer-Encoding: chunked", body=b"zz\r\n")):
        assert_bad_request_and_closed(exchange(gateway.port, raw))
    [(status, _, body)] = responses(exchange(gateway.port, request("Connection: close", method="GET")))
    assert (status, body) == (404, NOT_FOUND)
    log = gateway.log.read_text()
    assert "Traceback" not in log
    assert '"POST /orders" 400' in log  # the access log line of a refused request, as of any other


# --- valid framing is still read exactly: the next request on the same connection is answered --------------------
@pytest.mark.parametrize("first", [
    request("Content-Length:  5 ", body=b"hello"),  # optional whitespace around the value (RFC 9110 §5.5)
    request("Content-Length: 5, 5", body=b"hello"),  # one length, repeated (RFC 9110 §8.6)
    request("Content-Length: 5", "Content-Length: 5", body=b"hello"),
    request("Content-Length: 0005", body=b"hello"),
    request("Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
    request("Transfer-Encoding: Chunked", body=b"5 ;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\n"
                                                b"X-Trailer: 1\r\n\r\n"),
])
def test_valid_framing_reads_the_body_exactly_and_keeps_the_connection(gateway, first):
    received = exchange(gateway.port, first + request("Connection: close", method="GET"))
    assert [(status, body) for status, _, body in responses(received)] == [(404, NOT_FOUND), (404, NOT_FOUND)]


# --- the development issuer reads Content-Length with the same function ------------------------------------------
@pytest.mark.parametrize("value", ["+5", " \x0b5", "1_0"])
def test_the_development_issuer_refuses_the_same_content_lengths(value):
    from urllib.parse import urlsplit

    from local.idp.issuer import DevIssuer

    with DevIssuer() as issuer:
        token_url = urlsplit(issuer.token_url("oidc"))
        raw = (f"POST {token_url.path} HTTP/1.1\r\nHost: {token_url.netloc}\r\nContent-Length: {value}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n\r\ngrant").encode("latin-1")
        received = exchange(token_url.port or 80, raw)
    [(status, headers, body)] = responses(received)
    assert (status, headers["connection"]) == (400, "close")
    assert json.loads(body) == {"error": "invalid_request", "error_description": "bad Content-Length"}
