"""What the sample MCP server refuses before the SDK sees a request, each refusal as data (status, headers, body).

The checks run in this order, first refusal wins; all are pure functions of the request and the settings:

==========================  ======  ================================================================================
check                       status  why
==========================  ======  ================================================================================
``method_refusal``          405     2026-07-28 has no GET stream and no sessions: GET and DELETE (anything but POST)
                                    are answered ``405 Method Not Allowed`` with ``Allow: POST``, as the spec asks
                                    of a server receiving older clients' traffic. (Handed to the SDK's legacy
                                    stateless path, a GET would open an SSE stream that never ends: in Lambda, a
                                    hung invocation until its timeout.)
``origin_refusal``          403     "Servers MUST validate the Origin header … If the Origin header is present and
                                    invalid, servers MUST respond with HTTP 403 Forbidden": present and not one of
                                    ``MCP_ALLOWED_ORIGINS``. No Origin (every non-browser client) passes.
``parse_body``              400     not JSON (or not UTF-8, or Base64 that does not decode): JSON-RPC ``-32700``.
``header_mismatch``         400     the MCP headers disagree with the body: JSON-RPC ``-32020`` (HeaderMismatch),
                                    ``authorizer.mcp_headers.header_mismatch``, the same check the authorizer uses.
``caller_refusal``          401     no authorizer ran for this request (a route left public by mistake): the bearer
                                    challenge with ``resource_metadata``, so a client can discover how to authorize.
``scope_refusal``           403     a ``tools/call`` of a tool whose scope the caller lacks: ``WWW-Authenticate: Bearer
                                    error="insufficient_scope", scope="…", resource_metadata="…"`` (the MCP
                                    authorization spec's step-up challenge). The gateway decides per tool too; this
                                    is the server's own check of the same rule (defence in depth), decided on the
                                    body's tool name, which the header check has already tied to ``Mcp-Name``.
==========================  ======  ================================================================================

Whether API Gateway HTTP APIs pass a backend's ``WWW-Authenticate`` through unchanged is not documented by AWS
(REST APIs and Lambda function URLs are reported to rename it ``x-amzn-Remapped-WWW-Authenticate``); only a
deployed test settles it. The local stack passes it through.

    >>> method_refusal("GET").status, method_refusal("GET").headers
    (405, {'Allow': 'POST'})
    >>> origin_refusal("https://evil.example", frozenset({"https://app.example"})).status
    403
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authorizer.mcp_headers import header_mismatch as _header_mismatch
from authorizer.mcp_headers import header_mismatch_error

PARSE_ERROR = -32700
#: Reason codes of refusals, stable for logs and tests.
METHOD_NOT_ALLOWED, ORIGIN_NOT_ALLOWED, NOT_JSON, HEADER_MISMATCH, UNAUTHENTICATED, INSUFFICIENT_SCOPE = (
    "method_not_allowed", "origin_not_allowed", "not_json", "header_mismatch", "unauthenticated",
    "insufficient_scope")


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer given instead of the SDK's: ``reason`` (a code above), ``status``, ``headers``, and a JSON
    ``body`` (None: no body)."""

    reason: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def response(self) -> dict[str, Any]:
        """The payload 2.0 integration response (``ensure_ascii`` JSON: whatever a client sent, the answer is
        encodable)."""
        headers = dict(self.headers)
        answer: dict[str, Any] = {"statusCode": self.status, "headers": headers}
        if self.body is not None:
            headers["content-type"] = "application/json"
            answer["body"] = json.dumps(self.body, separators=(",", ":"))
        return answer


def method_refusal(method: str) -> Refusal | None:
    """405 for anything but POST."""
    if method == "POST":
        return None
    return Refusal(METHOD_NOT_ALLOWED, 405, {"Allow": "POST"})


def origin_refusal(origin: str | None, allowed: frozenset[str]) -> Refusal | None:
    """403 when an ``Origin`` is present and not exactly one of ``allowed`` (the body may be a JSON-RPC error
    without an id, per the spec)."""
    if origin is None or origin in allowed:
        return None
    return Refusal(ORIGIN_NOT_ALLOWED, 403, body={
        "jsonrpc": "2.0", "error": {"code": -32600, "message": "Origin not allowed"}})


def parse_body(body: str | None, is_base64: bool) -> tuple[Any, Refusal | None]:
    """The event's body as JSON, or the parse error to send (``id`` null: a body that does not parse has none)."""
    try:
        raw = base64.b64decode(body or "", validate=True) if is_base64 else (body or "").encode("utf-8")
        return json.loads(raw.decode("utf-8")), None
    except (binascii.Error, UnicodeError, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None, Refusal(NOT_JSON, 400, body={
            "jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error"}})


def header_refusal(headers: Mapping[str, str], body: Any,
                   tool_param_headers: Mapping[str, Mapping[str, str | tuple[str, ...]]]) -> Refusal | None:
    """400 with the JSON-RPC ``HeaderMismatch`` error when the MCP headers disagree with the body."""
    mismatch = _header_mismatch(headers, body, tool_param_headers)
    if mismatch is None:
        return None
    return Refusal(HEADER_MISMATCH, 400, body=header_mismatch_error(mismatch, body))


def caller_refusal(authenticated: bool, resource_metadata: str) -> Refusal | None:
    """401 with the bearer challenge when no authorizer established a caller."""
    if authenticated:
        return None
    return Refusal(UNAUTHENTICATED, 401, {"WWW-Authenticate": f'Bearer resource_metadata="{resource_metadata}"'},
                   {"error": "invalid_token", "error_description": "no authorizer established a caller"})


def scope_refusal(body: Any, scopes: Iterable[str], tool_scopes: Mapping[str, str],
                  resource_metadata: str) -> Refusal | None:
    """403 ``insufficient_scope`` for a ``tools/call`` of a tool in ``tool_scopes`` whose scope the caller lacks.
    Other methods, and tools not listed (the SDK answers an unknown tool), need no scope here."""
    if not isinstance(body, dict) or body.get("method") != "tools/call":
        return None
    params = body.get("params")
    tool = params.get("name") if isinstance(params, dict) else None
    needed = tool_scopes.get(tool) if isinstance(tool, str) else None
    if needed is None or needed in set(scopes):
        return None
    challenge = (f'Bearer error="insufficient_scope", scope="{needed}", resource_metadata="{resource_metadata}", '
                 f'error_description="{tool} needs the scope {needed}"')
    # An OAuth (RFC 6750) error body, not a JSON-RPC one: no JSON-RPC or MCP error code means "forbidden", and the
    # status with its challenge is what a client acts on (the SDKs' step-up reads the header).
    return Refusal(INSUFFICIENT_SCOPE, 403, {"WWW-Authenticate": challenge}, {
        "error": "insufficient_scope", "error_description": f"{tool} needs the scope {needed}", "scope": needed})
