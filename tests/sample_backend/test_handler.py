"""The sample backend answers with the caller the authorizer handed over, in either mode, and on public routes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from sample_backend.handler import caller_from, decode_context_value, handler


@dataclass
class LambdaContext:
    function_name: str = "sample-backend"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:sample-backend"
    aws_request_id: str = "req-1"


def http_event(route_key: str, authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    method, path = route_key.split(" ", 1)
    context: dict[str, Any] = {
        "accountId": "123456789012", "apiId": "api1", "domainName": "api1.execute-api.eu-west-1.amazonaws.com",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "t"},
        "requestId": "r-1", "routeKey": route_key, "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 1767225600000,
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {"version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
            "headers": {"host": "api1.execute-api.eu-west-1.amazonaws.com"}, "requestContext": context,
            "isBase64Encoded": False}


def call(event: dict[str, Any]) -> dict[str, Any]:
    response = handler(event, LambdaContext())
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    return json.loads(response["body"])


def test_lambda_mode_caller_has_principal_and_decoded_claims() -> None:
    claims = {
        "sub": "user-1",
        "iss": "https://api.descope.com/P2abc",
        "roles": '["admin","viewer"]',
        "tenants": '{"t1":{"roles":["admin"]}}',
        "exp": 1767229200,
        "email_verified": True,
    }
    body = call(http_event("GET /orders", {"lambda": claims}))
    assert body["route"] == "GET /orders"
    assert body["authorizer"] == "lambda"
    assert body["principal"] == "user-1"
    assert body["claims"]["roles"] == ["admin", "viewer"]
    assert body["claims"]["tenants"] == {"t1": {"roles": ["admin"]}}
    assert body["claims"]["exp"] == 1767229200
    assert body["claims"]["email_verified"] is True


def test_lambda_mode_machine_token_uses_client_id_as_principal() -> None:
    body = call(http_event("POST /orders", {"lambda": {"client_id": "m2m-app", "scope": "orders:write"}}))
    assert body["principal"] == "m2m-app"
    assert body["route"] == "POST /orders"


def test_jwt_mode_caller_comes_from_native_claims_and_scopes() -> None:
    jwt = {"claims": {"sub": "user-2", "scope": "orders:read", "aud": "[P2abc]"}, "scopes": ["orders:read"]}
    body = call(http_event("GET /orders", {"jwt": jwt}))
    assert body["authorizer"] == "jwt"
    assert body["principal"] == "user-2"
    assert body["claims"]["aud"] == "[P2abc]"  # as API Gateway gives it: not JSON, left alone
    assert body["scopes"] == ["orders:read"]


def test_public_route_answers_without_a_caller() -> None:
    body = call(http_event("GET /health"))
    assert body == {"route": "GET /health", "method": "GET", "path": "/health", "authorizer": None,
                    "principal": None, "claims": {}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('["a","b"]', ["a", "b"]),
        ('{"k":1}', {"k": 1}),
        ("[not json", "[not json"),
        ("plain", "plain"),
        ("42", "42"),  # a string claim stays a string, even when it looks like a number
        (42, 42),
        (True, True),
    ],
)
def test_context_values_decode_only_json_lists_and_objects(value: Any, expected: Any) -> None:
    assert decode_context_value(value) == expected


def test_unknown_authorizer_shape_is_reported_not_guessed() -> None:
    caller = caller_from({"iam": {"userArn": "arn:aws:iam::123456789012:user/x"}})
    assert caller.authorizer == "other"
    assert caller.principal is None
