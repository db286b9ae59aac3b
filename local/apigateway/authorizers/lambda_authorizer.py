"""Lambda REQUEST authorizers as API Gateway runs them: the event, the response it accepts, the result cache.

``authorizer_event_v2``/``authorizer_event_v1`` build the event for the authorizer's payload format version;
``parse_authorizer_response`` validates the answer (simple or IAM, ``MalformedAuthorizerResponse`` → 500) into a
``LambdaAuthorizerResult``, which ``AuthorizerResultCache`` keeps for the authorizer's TTL under a hash of the
identity-source values. A cached IAM policy is evaluated again for each request's route (``local/apigateway/iam.py``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from local.apigateway.errors import MalformedAuthorizerResponse
from local.apigateway.iam import policy_allows, validate_policy_document
from local.apigateway.model import Authorizer
from local.apigateway.route_call import RouteCall, omit_empty

# API Gateway's quota for an authorizer's answer.
AUTHORIZER_TIMEOUT_SECONDS = 10.0


def authorizer_event_v2(call: RouteCall, identity: list[str] | None) -> dict[str, Any]:
    request = call.request
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": call.route_arn,
        "identitySource": identity,
        "routeKey": call.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "cookies": request.cookies,
        "headers": call.headers_v2(),
        "queryStringParameters": call.query_v2(),
        "requestContext": call.request_context_v2(),
        "pathParameters": call.path_parameters,
        "stageVariables": call.stage_variables,
    }
    return omit_empty(event, "cookies", "queryStringParameters", "pathParameters", "stageVariables")


def authorizer_event_v1(call: RouteCall, identity: list[str] | None) -> dict[str, Any]:
    """The REST-like 1.0 event, as AWS's samples of it have it: ``pathParameters`` is ``{}`` when the route has
    none, there is no ``multiValueQueryStringParameters`` (neither sample has it, unlike the 1.0 integration
    event), and ``identity`` has an ``apiKey`` (``null``: HTTP APIs have no API keys)."""
    joined = ",".join(identity) if identity else None
    parts = call.multi_value_parts_v1()
    del parts["multiValueQueryStringParameters"]
    parts["pathParameters"] = call.path_parameters or {}
    context = call.request_context_v1()
    context["identity"] = {"apiKey": None, **context["identity"]}
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": call.route_arn,
        "identitySource": joined,
        "authorizationToken": joined,
        "resource": call.resource,
        "path": call.request.raw_path,
        "httpMethod": call.request.method,
        **parts,
        "requestContext": context,
    }


@dataclass(frozen=True)
class LambdaAuthorizerResult:
    """What a Lambda authorizer answered, kept as is so a cached IAM policy is evaluated per request."""

    simple: bool
    is_authorized: bool = False
    statements: tuple[Mapping[str, Any], ...] = ()
    principal_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    def allows(self, route_arn: str) -> bool:
        return self.is_authorized if self.simple else policy_allows(self.statements, route_arn)


def parse_authorizer_response(payload: Any, authorizer: Authorizer) -> LambdaAuthorizerResult:
    """Validate a Lambda authorizer's response the way API Gateway does (MalformedAuthorizerResponse → 500).

    With simple responses enabled (payload 2.0), ``{"isAuthorized": bool, "context"?: {...}}``; an IAM policy is
    accepted too. Otherwise ``{"principalId": str, "policyDocument": {...}, "context"?: {...}}``. Payload 1.0
    context values must be strings, numbers or booleans (as in REST APIs); ``claims`` is a reserved key.
    """
    if not isinstance(payload, dict):
        raise MalformedAuthorizerResponse("the response is not a JSON object")
    context = payload.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise MalformedAuthorizerResponse("context is not an object")
    if "claims" in context:
        raise MalformedAuthorizerResponse("context uses the reserved key 'claims'")
    if authorizer.payload_format_version == "1.0":
        for key, value in context.items():
            if isinstance(value, (dict, list)):
                raise MalformedAuthorizerResponse(f"context value {key!r} is an object or array (payload 1.0)")
    if authorizer.enable_simple_responses and "policyDocument" not in payload:
        if not isinstance(payload.get("isAuthorized"), bool):
            raise MalformedAuthorizerResponse("isAuthorized is missing or not a boolean")
        return LambdaAuthorizerResult(simple=True, is_authorized=payload["isAuthorized"], context=context)
    principal_id = payload.get("principalId")
    if not isinstance(principal_id, str):
        raise MalformedAuthorizerResponse("principalId is missing or not a string")
    statements = validate_policy_document(payload.get("policyDocument"))
    return LambdaAuthorizerResult(simple=False, statements=tuple(statements), principal_id=principal_id, context=context)


class AuthorizerResultCache:
    """Authorizer results by (authorizer, identity-source values) for the authorizer's TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, LambdaAuthorizerResult]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(authorizer: Authorizer, identity: Sequence[str]) -> tuple[str, str]:
        # Hashed: the cache never holds a token.
        return authorizer.logical_id, hashlib.sha256("\x00".join(identity).encode()).hexdigest()

    def get(self, key: tuple[str, str]) -> LambdaAuthorizerResult | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[0]:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, str], result: LambdaAuthorizerResult, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + ttl_s, result)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
