"""Requests that reproduce the ones behind AWS's samples, sent to the local API exactly as written.

``http.client`` sends only the headers given (plus ``Host``, and ``Content-Length`` with a body), in order and with
their case, as ``curl`` does; a pooled client would add its own. ``expected_v2``/``expected_v1`` say what API
Gateway derives from such a request for each payload version, for ``shapes.compare``.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.cloudformation.intrinsics import ACCOUNT_ID


@dataclass(frozen=True)
class SampleRequest:
    method: str
    target: str  # path and query, as sent
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass
class Sent:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    host: str = ""

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def send(url: str, request: SampleRequest) -> Sent:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.putrequest(request.method, request.target, skip_accept_encoding=True)
        for name, value in request.headers:
            connection.putheader(name, value)
        if request.body:
            connection.putheader("Content-Length", str(len(request.body)))
        connection.endheaders(request.body or None)
        response = connection.getresponse()
        return Sent(response.status, response.getheaders(), response.read(), f"{parts.hostname}:{parts.port}")
    finally:
        connection.close()


def _query_v2(query: str) -> dict[str, str]:
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(name, []).append(value)
    return {name: ",".join(found) for name, found in values.items()}


def expected_v2(request: SampleRequest, host: str, route_key: str, *, path_parameters: dict[str, str] | None,
                stage_variables: dict[str, str] | None) -> dict[str, Any]:
    """What a payload 2.0 event (authorizer or integration) holds for ``request`` on the ``$default`` stage."""
    values: dict[str, Any] = {
        "version": "2.0", "routeKey": route_key, "rawPath": request.path, "rawQueryString": request.query,
        "requestContext.accountId": ACCOUNT_ID, "requestContext.domainName": host,
        "requestContext.http.method": request.method, "requestContext.http.path": request.path,
        "requestContext.http.protocol": "HTTP/1.1", "requestContext.http.sourceIp": "127.0.0.1",
        "requestContext.http.userAgent": request.header("user-agent") or "",
        "requestContext.routeKey": route_key, "requestContext.stage": "$default",
        "headers.host": host, "headers.x-forwarded-for": "127.0.0.1", "headers.x-forwarded-proto": "http",
        "headers.content-length": str(len(request.body)),
    }
    for name, _ in request.headers:
        if name.lower() != "cookie":
            values[f"headers.{name.lower()}"] = request.header(name)
    cookies = [c.strip() for c in (request.header("cookie") or "").replace(",", ";").split(";") if c.strip()]
    if cookies:
        values["cookies"] = cookies
    if request.query:
        values["queryStringParameters"] = _query_v2(request.query)
    if path_parameters:
        values["pathParameters"] = path_parameters
    if stage_variables:
        values["stageVariables"] = stage_variables
    return values


def expected_v1(request: SampleRequest, host: str, route_key: str, *, path_parameters: dict[str, str] | None,
                stage_variables: dict[str, str] | None) -> dict[str, Any]:
    """What a payload 1.0 event (authorizer or integration) holds for ``request`` on the ``$default`` stage."""
    resource = route_key.split(" ", 1)[1] if " " in route_key else route_key
    values: dict[str, Any] = {
        "version": "1.0", "resource": resource, "path": request.path, "httpMethod": request.method,
        "requestContext.accountId": ACCOUNT_ID, "requestContext.domainName": host,
        "requestContext.httpMethod": request.method, "requestContext.path": request.path,
        "requestContext.protocol": "HTTP/1.1", "requestContext.resourceId": route_key,
        "requestContext.resourcePath": resource, "requestContext.stage": "$default",
        "requestContext.identity.sourceIp": "127.0.0.1",
        "requestContext.identity.userAgent": request.header("user-agent") or "",
        "pathParameters": path_parameters, "stageVariables": stage_variables,
    }
    for name, value in request.headers:  # a repeated header: its last value (the docs' 1.0 sample: "header2")
        values[f"headers.{name}"] = value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):  # its first value ("parameter1")
        query.setdefault(name, value)
    values["queryStringParameters"] = query or None
    return values
