"""Fetching discovery and JWKS documents: bounded in time and size, https only (http on loopback).

The limits mirror API Gateway's native authorizer (1.5 s, 150000 bytes). The time limit is **one deadline for the
whole exchange** — connect, TLS, status line, headers and body together. ``requests`` alone bounds each socket read,
so an IdP that sends its headers a byte every 0.3 s could hold a fetch for as long as it liked; here a watchdog
shuts down the exchange's socket when the deadline passes, whatever the read in progress, and the body loop checks
the deadline too. Redirects are not followed: a redirect could lead off https.

    fetcher = JsonFetcher(timeout=1.5)
    document = fetcher.get_json("https://idp.example.com/.well-known/jwks.json")   # or FetchError
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as TransportError

from .config import check_fetch_url
from .errors import ConfigError, FetchError

MAX_DOCUMENT_BYTES = 150_000
USER_AGENT = "apigw-jwt-authorizer/1.0"  # Passage answers 403 to clients without one


class Exchange:
    """One fetch's deadline: the sockets it uses, shut down the moment it passes (from the watchdog's thread)."""

    def __init__(self) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        _shut(sock)  # the deadline passed while this socket was being opened

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)  # a blocked recv returns at once; requests then fails the exchange


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to cut


_current = threading.local()  # the Exchange of the fetch running on this thread, if any


def _watch(sock: socket.socket | None) -> None:
    exchange: Exchange | None = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)  # before TLS: a handshake dripped byte by byte is cut too
        return sock


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _watch(getattr(conn, "sock", None))  # a kept-alive connection: its socket is this exchange's now
        return conn


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        _watch(getattr(conn, "sock", None))
        return conn


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter, its pools opening connections the current ``Exchange`` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


class JsonFetcher:
    """GETs a JSON object. One instance per process keeps a connection pool across warm invocations."""

    def __init__(self, timeout: float = 1.5, max_bytes: int = MAX_DOCUMENT_BYTES,
                 session: requests.Session | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        adapter = _WatchedAdapter()
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def get_json(self, url: str, ca_bundle: str | None = None) -> dict[str, Any]:
        try:
            check_fetch_url(url, "url")
        except ConfigError as problem:
            raise FetchError(url, problem.problem) from None
        body = self._get(url, ca_bundle)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError(url, "response is not JSON") from None
        if not isinstance(document, dict):
            raise FetchError(url, "response is not a JSON object")
        return document

    def _get(self, url: str, ca_bundle: str | None) -> bytes:
        exchange = Exchange()
        watchdog = threading.Timer(self.timeout, exchange.expire)
        watchdog.name, watchdog.daemon = "fetch-deadline", True
        deadline = time.monotonic() + self.timeout
        _current.exchange = exchange
        watchdog.start()
        try:
            return self._exchange(url, ca_bundle, deadline, exchange)
        # TransportError: urllib3's own, raised by the body's reads; OSError: e.g. a ca_bundle that is not there.
        except (requests.RequestException, TransportError, OSError) as problem:
            # The sockets' own timeouts equal the deadline, so under load one can fire before the watchdog's thread
            # runs: either way the fetch ran out of time.
            if exchange.expired or isinstance(problem, requests.Timeout) or time.monotonic() >= deadline:
                raise FetchError(url, self._late) from None
            raise FetchError(url, f"{type(problem).__name__}: request failed") from None
        finally:
            watchdog.cancel()
            _current.exchange = None

    @property
    def _late(self) -> str:
        return f"no complete response within {self.timeout:g} s"

    def _exchange(self, url: str, ca_bundle: str | None, deadline: float, exchange: Exchange) -> bytes:
        with self.session.get(url, timeout=(self.timeout, self.timeout), stream=True,
                              allow_redirects=False, verify=ca_bundle or True) as response:
            if exchange.expired:  # a cut socket also ends the headers early: nothing read here is the IdP's answer
                raise FetchError(url, self._late)
            if response.status_code != 200:
                raise FetchError(url, f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(url, f"response of {declared} bytes exceeds {self.max_bytes}")
            chunks: list[bytes] = []
            size = 0
            while True:
                # read1 returns after one socket read, so the deadline is checked however slowly the body drips
                # (the watchdog cuts a read that never returns).
                if time.monotonic() > deadline:
                    raise FetchError(url, self._late)
                chunk = response.raw.read1(16384, decode_content=True)
                if not chunk:
                    if exchange.expired:  # a cut socket reads as the end of the body: not a whole document
                        raise FetchError(url, self._late)
                    return b"".join(chunks)
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(url, f"response exceeds {self.max_bytes} bytes")
                chunks.append(chunk)
