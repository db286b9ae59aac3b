"""The sample MCP server's Lambda handler, ``sample_mcp.server.handler``: one API Gateway payload 2.0 event in, one
integration response out, no sessions, on the official MCP Python SDK.

How the SDK runs in Lambda (found by experiment with ``mcp`` 2.3.0 and ``mangum`` 0.22.0):

- The SDK has no ``handler(event) -> response`` entry. Its stateless 2026-07-28 path is ASGI:
  ``StreamableHTTPSessionManager(server, json_response=True, stateless=True).handle_request``, which needs the
  manager's ``run()`` context around it. Mangum (the ASGI adapter for Lambda kept by Starlette's maintainer) turns
  the event into an ASGI request and the ASGI answer into the integration response, on one event loop it keeps for
  the execution environment, so warm invocations reuse it.
- The documented recipe, ``Mangum(mcp.streamable_http_app(stateless_http=True, json_response=True))``, fails on the
  second invocation: Mangum runs the ASGI lifespan once per invocation, and a session manager's ``run()`` may be
  entered once per instance ("StreamableHTTPSessionManager .run() can only be called once per instance"), so every
  warm invocation is a ``LifespanFailure`` (a 500). It also rejects API Gateway's ``Host`` with a 421 (the SDK's DNS
  rebinding protection allows only localhost by default).
- So ``_serve_mcp`` is the ASGI app Mangum runs, with Mangum's lifespan off: per request it makes a fresh manager
  (cheap: no I/O, no threads), enters ``run()``, hands it the request, and leaves — nothing of one request outlives
  it. 2026-07-28 requests (``MCP-Protocol-Version: 2026-07-28``) take the SDK's modern single-exchange path; earlier
  clients (``initialize`` handshake, 2025-11-25) take its stateless legacy path, no session id minted.
- Before the SDK, ``sample_mcp.admission`` answers what must not reach it (GET/DELETE: 405 — given to the legacy
  path, a GET opens an SSE stream that never ends, a Lambda hung until its timeout; a foreign ``Origin``: 403; not
  JSON: 400; headers that disagree with the body: 400/-32020; no caller: 401; a tool without its scope: 403).

The token is never passed on: the ``Authorization`` and ``Cookie`` headers are removed from what the SDK (and so
any tool) sees, and nothing here calls out.

Configuration (environment, read once per cold start):

=============================  =======================================================================  =========
variable                       meaning                                                                  default
=============================  =======================================================================  =========
``MCP_ALLOWED_ORIGINS``        JSON list (or comma-separated) of ``Origin`` values browsers may call    none
                               from; a request with any other ``Origin`` is refused (403)
``MCP_RESOURCE_METADATA_URL``  the RFC 9728 metadata URL for ``resource_metadata`` in challenges        from the
                                                                                                        event
=============================  =======================================================================  =========

Without ``MCP_RESOURCE_METADATA_URL`` the challenge names
``https://<requestContext.domainName>/.well-known/oauth-protected-resource<rawPath>`` (where DESIGN.md serves it);
``http://`` when the request's ``X-Forwarded-Proto`` says so (the local stack serves plain HTTP on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from mangum import Mangum
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from sample_backend.handler import caller_from
from sample_mcp import admission
from sample_mcp.tools import PARAM_HEADERS, TOOL_SCOPES, build_server, caller_scopes

logger = Logger(service="sample-mcp")
# The SDK logs every manager start and stop, Mangum every request line: one request, four lines. Ours says it all.
for _chatty in ("mcp.server.streamable_http_manager", "mcp.server.streamable_http", "mangum", "mangum.http",
                "mangum.lifespan"):
    logging.getLogger(_chatty).setLevel(logging.WARNING)

#: Headers that carry credentials: never handed to the SDK or a tool.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class Settings:
    allowed_origins: frozenset[str]
    resource_metadata_url: str | None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Read once at cold start; a malformed ``MCP_ALLOWED_ORIGINS`` fails it, naming the variable."""
        raw = environ.get("MCP_ALLOWED_ORIGINS", "").strip()
        if raw.startswith("["):
            try:
                origins = json.loads(raw)
            except ValueError as error:
                raise ValueError(f"MCP_ALLOWED_ORIGINS: not a JSON list: {error}") from None
            if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
                raise ValueError("MCP_ALLOWED_ORIGINS: must be a JSON list of strings")
        else:
            origins = [part.strip() for part in raw.split(",") if part.strip()]
        return cls(frozenset(origins), environ.get("MCP_RESOURCE_METADATA_URL") or None)


SETTINGS = Settings.from_environment(os.environ)
SERVER = build_server()
# DNS rebinding protection is this module's Origin check (the spec's rule); the SDK's own would also pin Host to
# localhost, which API Gateway's domain never is.
_TRANSPORT_SECURITY = TransportSecuritySettings(enable_dns_rebinding_protection=False)


async def _serve_mcp(scope: Scope, receive: Receive, send: Send) -> None:
    """One request through a session manager of its own (see the module docstring for why not one per process)."""
    manager = StreamableHTTPSessionManager(SERVER, json_response=True, stateless=True,
                                           security_settings=_TRANSPORT_SECURITY)
    async with manager.run():
        await manager.handle_request(scope, receive, send)


# Created at cold start, with the event loop every warm invocation of this environment reuses. The loop is ours, and
# made current before each call: Mangum takes asyncio's current loop, which anything else in the process that ran
# ``asyncio.run`` (an extension, a test) leaves unset.
_adapter = Mangum(_serve_mcp, lifespan="off")
_LOOP = asyncio.new_event_loop()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    http = request_context.get("http") if isinstance(request_context, dict) else None
    if not isinstance(http, dict) or not isinstance(http.get("method"), str):
        logger.warning("not an API Gateway payload 2.0 event")
        return {"statusCode": 400, "headers": {"content-type": "application/json"},
                "body": json.dumps({"message": "expected an API Gateway HTTP API payload 2.0 event"})}
    assert isinstance(request_context, dict)
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items() if isinstance(v, str)}
    caller = caller_from(request_context.get("authorizer"))
    refusal, body = _admit(http["method"], headers, event, request_context, caller.authorizer is not None,
                           caller_scopes(caller))
    fields = {"principal": caller.principal, "http_method": http["method"],
              "mcp_method": body.get("method") if isinstance(body, dict) else None}
    if refusal is not None:
        logger.info("refused", reason=refusal.reason, status=refusal.status, **fields)
        return refusal.response()
    asyncio.set_event_loop(_LOOP)
    answer = _adapter(_for_sdk(event, headers, request_context), context)
    answer["statusCode"] = int(answer["statusCode"])  # the SDK's legacy path gives an HTTPStatus
    logger.info("answered", status=answer.get("statusCode"), **fields)
    return answer


def _admit(method: str, headers: dict[str, str], event: dict[str, Any], request_context: dict[str, Any],
           authenticated: bool, scopes: frozenset[str]) -> tuple[admission.Refusal | None, Any]:
    """The first refusal of ``sample_mcp.admission``'s checks, in its order, and the parsed body (None before it is
    parsed or when it does not parse)."""
    refusal = admission.method_refusal(method) or admission.origin_refusal(headers.get("origin"),
                                                                           SETTINGS.allowed_origins)
    if refusal is not None:
        return refusal, None
    body, refusal = admission.parse_body(event.get("body"), event.get("isBase64Encoded") is True)
    if refusal is not None:
        return refusal, None
    metadata = SETTINGS.resource_metadata_url or _resource_metadata_url(event, request_context,
                                                                        headers.get("x-forwarded-proto"))
    return (admission.header_refusal(headers, body, PARAM_HEADERS)
            or admission.caller_refusal(authenticated, metadata)
            or admission.scope_refusal(body, scopes, TOOL_SCOPES, metadata)), body


def _resource_metadata_url(event: dict[str, Any], request_context: dict[str, Any], forwarded_proto: str | None) -> str:
    """On the API's own domain, with the scheme the client used: API Gateway says ``X-Forwarded-Proto: https``; a
    local gateway serving plain HTTP says ``http``, and an https URL there names a server no client can reach."""
    scheme = forwarded_proto if forwarded_proto in ("http", "https") else "https"
    domain = request_context.get("domainName")
    path = event.get("rawPath") if isinstance(event.get("rawPath"), str) else ""
    return f"{scheme}://{domain if isinstance(domain, str) and domain else 'localhost'}{WELL_KNOWN}{path}"


def _for_sdk(event: dict[str, Any], headers: dict[str, str], request_context: dict[str, Any]) -> dict[str, Any]:
    """The event as the SDK may see it: without credentials, and with ``Host`` the API's own domain and no
    forwarded port (the adapter parses both as ``host:port`` and would raise on a malformed one)."""
    kept = {name: value for name, value in headers.items()
            if name not in CREDENTIAL_HEADERS and name not in ("host", "x-forwarded-port")}
    domain = request_context.get("domainName")
    kept["host"] = domain.split(":")[0] if isinstance(domain, str) and domain else "localhost"
    return {**event, "headers": kept, "cookies": []}
