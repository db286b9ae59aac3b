"""The Lambda proxy integration as API Gateway runs it: the event a route's function receives, and the mapping of
its answer to the HTTP response.

``integration_event_v2``/``integration_event_v1`` build the event for the integration's payload format version,
with what the route's authorizer established (``Authorization``) in ``requestContext.authorizer``;
``integration_response`` maps the function's result, raising ``MalformedIntegrationResponse`` (→ 500) where API
Gateway cannot.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local.apigateway.errors import MalformedIntegrationResponse
from local.apigateway.messages import GatewayResponse
from local.apigateway.route_call import RouteCall, omit_empty
from local.awslambda.worker import Invocation

# Lambda's quota for a synchronous response.
MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024

# The gateway frames the response itself; these from the function would contradict it.
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade"}


@dataclass
class Authorization:
    """What the route's authorizer established, for the integration event."""

    kind: str  # "lambda" | "jwt"
    context: Mapping[str, Any] = field(default_factory=dict)
    principal_id: str | None = None
    claims: Mapping[str, str] | None = None
    scopes: list[str] | None = None
    latency_ms: int = 0


def integration_event_v2(call: RouteCall, authorization: Authorization | None) -> dict[str, Any]:
    request = call.request
    context = call.request_context_v2()
    if authorization is not None:
        if authorization.kind == "jwt":
            context["authorizer"] = {"jwt": {"claims": dict(authorization.claims or {}), "scopes": authorization.scopes}}
        else:
            lambda_context = dict(authorization.context)
            if authorization.principal_id is not None:
                lambda_context["principalId"] = authorization.principal_id
            context["authorizer"] = {"lambda": lambda_context}
    body, is_base64 = call.body_fields()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": call.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "cookies": request.cookies,
        "headers": call.headers_v2(),
        "queryStringParameters": call.query_v2(),
        "requestContext": context,
        "body": body,
        "pathParameters": call.path_parameters,
        "isBase64Encoded": is_base64,
        "stageVariables": call.stage_variables,
    }
    return omit_empty(event, "cookies", "queryStringParameters", "body", "pathParameters", "stageVariables")


def integration_event_v1(call: RouteCall, authorization: Authorization | None) -> dict[str, Any]:
    context = call.request_context_v1()
    if authorization is not None:
        if authorization.kind == "jwt":
            context["authorizer"] = {"claims": dict(authorization.claims or {}), "scopes": authorization.scopes}
        else:
            context["authorizer"] = {
                **authorization.context,
                "principalId": authorization.principal_id,
                "integrationLatency": authorization.latency_ms,
            }
    body, is_base64 = call.body_fields()
    return {
        "version": "1.0",
        "resource": call.resource,
        "path": call.request.raw_path,
        "httpMethod": call.request.method,
        **call.multi_value_parts_v1(),
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedIntegrationResponse("a header value is not a string, number or boolean")


def _full_response(payload: Mapping[str, Any], *, cookies_allowed: bool) -> GatewayResponse:
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedIntegrationResponse("statusCode is not an HTTP status")
    headers_in = payload.get("headers") or {}
    multi_in = payload.get("multiValueHeaders") or {}
    if not isinstance(headers_in, dict) or not isinstance(multi_in, dict):
        raise MalformedIntegrationResponse("headers or multiValueHeaders is not an object")
    headers: list[tuple[str, str]] = []
    multi_names = {name.lower() for name in multi_in}
    for name, values in multi_in.items():
        if not isinstance(values, list):
            raise MalformedIntegrationResponse("a multiValueHeaders value is not a list")
        headers.extend((name, _header_value(v)) for v in values)
    headers.extend((name, _header_value(v)) for name, v in headers_in.items() if name.lower() not in multi_names)
    if cookies_allowed:
        cookies = payload.get("cookies") or []
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise MalformedIntegrationResponse("cookies is not a list of strings")
        headers.extend(("set-cookie", cookie) for cookie in cookies)
    headers = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    body = payload.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        if payload.get("isBase64Encoded") is True:
            try:
                data = base64.b64decode(body, validate=True)
            except ValueError:
                raise MalformedIntegrationResponse("isBase64Encoded is true but the body is not base64") from None
        else:
            data = body.encode()
    else:
        raise MalformedIntegrationResponse("body is not a string")
    return GatewayResponse(status, headers, data)


def integration_response(payload_format_version: str, invocation: Invocation) -> GatewayResponse:
    """Map a Lambda proxy result to the HTTP response, as API Gateway does for the payload version.

    2.0: an object with ``statusCode`` is a full response (``headers``, ``multiValueHeaders``, ``cookies``,
    ``body``, ``isBase64Encoded``); anything else that is JSON is the body of a 200 ``application/json`` response.
    1.0: the object must have ``statusCode``.
    """
    if len(invocation.payload_text.encode()) > MAX_LAMBDA_RESPONSE_BYTES:
        raise MalformedIntegrationResponse("the function's response is larger than Lambda's 6 MB limit")
    payload = invocation.payload
    if payload_format_version == "1.0":
        if not isinstance(payload, dict) or "statusCode" not in payload:
            raise MalformedIntegrationResponse("payload 1.0 responses need a statusCode")
        return _full_response(payload, cookies_allowed=False)
    if isinstance(payload, dict) and "statusCode" in payload:
        return _full_response(payload, cookies_allowed=True)
    return GatewayResponse(200, [("content-type", "application/json")], invocation.payload_text.encode())
