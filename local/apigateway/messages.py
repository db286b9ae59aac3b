"""The request as API Gateway sees it, and the responses the local gateway answers with.

``GatewayRequest`` is one HTTP request with API Gateway's views of it (merged headers, cookies, the query by name,
a request id); ``GatewayResponse`` is what goes back. ``message_response`` builds API Gateway's error bodies, e.g.
``403 {"message":"Forbidden"}``, for the error classes of ``errors.py``.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qsl


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def message_response(status: int, message: str, *headers: tuple[str, str]) -> GatewayResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("content-type", "application/json"), *headers], body)


def new_request_id() -> str:
    """An id shaped like API Gateway's: 11 random bytes in base64url, 16 characters (``LV7fzho-PHcEJPw=``, from a
    captured event; ``-`` and ``_``, never ``+`` or ``/``)."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


class GatewayRequest:
    """One HTTP request as API Gateway sees it."""

    def __init__(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        source_ip: str = "127.0.0.1",
        protocol: str = "HTTP/1.1",
        now: float | None = None,
    ) -> None:
        self.method = method.upper()
        raw_path, _, raw_query = target.partition("?")
        self.raw_path = raw_path or "/"
        self.raw_query = raw_query
        self.header_list = list(headers)
        self.body = body
        self.source_ip = source_ip
        self.protocol = protocol
        self.request_id = new_request_id()
        self.time = time.time() if now is None else now

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @cached_property
    def headers(self) -> dict[str, str]:
        """Lower-case names; a repeated header's values joined with commas (cookies with ``; ``)."""
        merged: dict[str, str] = {}
        for name, value in self.header_list:
            key = name.lower()
            if key in merged:
                merged[key] += ("; " if key == "cookie" else ",") + value
            else:
                merged[key] = value
        return merged

    @cached_property
    def cookies(self) -> list[str]:
        return [part.strip() for part in (self.header("cookie") or "").split(";") if part.strip()]

    @cached_property
    def query(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for name, value in parse_qsl(self.raw_query, keep_blank_values=True):
            values.setdefault(name, []).append(value)
        return values

    @property
    def user_agent(self) -> str:
        return self.header("user-agent") or ""
