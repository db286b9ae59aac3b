"""Fetching discovery and JWKS documents: bounded in time and size, https only (http on loopback).

The limits mirror API Gateway's native authorizer (1.5 s, 150000 bytes). ``requests`` enforces connect and
per-read timeouts; the read loop below also enforces a total deadline, checked after every socket read, so a server
that drips bytes holds a fetch at most one read timeout past it. Redirects are not followed: a redirect could lead
off https.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from .config import check_fetch_url
from .errors import ConfigError, FetchError

MAX_DOCUMENT_BYTES = 150_000
USER_AGENT = "apigw-jwt-authorizer/1.0"  # Passage answers 403 to clients without one


class JsonFetcher:
    """GETs a JSON object. One instance per process keeps a connection pool across warm invocations."""

    def __init__(self, timeout: float = 1.5, max_bytes: int = MAX_DOCUMENT_BYTES,
                 session: requests.Session | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})

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
        deadline = time.monotonic() + self.timeout
        try:
            with self.session.get(url, timeout=(self.timeout, self.timeout), stream=True,
                                  allow_redirects=False, verify=ca_bundle or True) as response:
                if response.status_code != 200:
                    raise FetchError(url, f"HTTP {response.status_code}")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(url, f"response of {declared} bytes exceeds {self.max_bytes}")
                chunks: list[bytes] = []
                size = 0
                while True:
                    # read1 returns after one socket read, so the deadline is checked however slowly the body
                    # drips (iter_content would wait for a whole chunk, each read with its own timeout).
                    if time.monotonic() > deadline:
                        raise FetchError(url, f"no complete response within {self.timeout:g} s")
                    chunk = response.raw.read1(16384, decode_content=True)
                    if not chunk:
                        return b"".join(chunks)
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(url, f"response exceeds {self.max_bytes} bytes")
                    chunks.append(chunk)
        except (requests.RequestException, OSError) as problem:  # OSError: e.g. a ca_bundle that is not there
            raise FetchError(url, f"{type(problem).__name__}: request failed") from None
