"""The sample backend, ``sample_backend.handler.handler``: answers every route with the caller it was given.

The caller comes from the authorizer, whichever mode ran:

- ``lambda``: ``requestContext.authorizer.lambda`` holds every claim; lists and objects arrive as compact JSON
  strings (the authorizer's contract), decoded back here.
- ``jwt`` (native): ``requestContext.authorizer.jwt.claims`` (values as API Gateway gives them, strings) and
  ``.scopes``.
- public routes: no authorizer, no caller.

    >>> caller_from({"jwt": {"claims": {"sub": "u1", "scope": "orders:read"}, "scopes": ["orders:read"]}}).principal
    'u1'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

logger = Logger(service="sample-backend")


@dataclass(frozen=True)
class Caller:
    authorizer: str | None  # "lambda", "jwt", or None on a public route
    principal: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    scopes: list[str] | None = None


def caller_from(authorizer_context: dict[str, Any] | None) -> Caller:
    """``requestContext.authorizer`` of a payload 2.0 event → the caller."""
    if not authorizer_context:
        return Caller(authorizer=None)
    if isinstance(authorizer_context.get("lambda"), dict):
        context = authorizer_context["lambda"]
        claims = {name: decode_context_value(value) for name, value in context.items()}
        principal = authorizer_context.get("principalId") or claims.get("sub") or claims.get("client_id")
        return Caller(authorizer="lambda", principal=_text(principal), claims=claims)
    if isinstance(authorizer_context.get("jwt"), dict):
        jwt = authorizer_context["jwt"]
        claims = dict(jwt.get("claims") or {})
        return Caller(authorizer="jwt", principal=_text(claims.get("sub") or claims.get("client_id")),
                      claims=claims, scopes=jwt.get("scopes"))
    return Caller(authorizer="other", claims=dict(authorizer_context))


def decode_context_value(value: Any) -> Any:
    """The authorizer sends lists and objects as compact JSON strings; anything else is passed as it is."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, (list, dict)):
            return decoded
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = APIGatewayProxyEventV2(event)
    caller = caller_from(event.get("requestContext", {}).get("authorizer"))
    logger.info("request", route=request.route_key, principal=caller.principal, authorizer=caller.authorizer)
    body: dict[str, Any] = {
        "route": request.route_key,
        "method": request.request_context.http.method,
        "path": request.raw_path,
        "authorizer": caller.authorizer,
        "principal": caller.principal,
        "claims": caller.claims,
    }
    if caller.scopes is not None:
        body["scopes"] = caller.scopes
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
