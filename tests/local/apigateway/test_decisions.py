"""The gateway's pure decisions: IAM policy evaluation, authorizer and proxy response shapes, JWT claim strings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.apigateway.authorizers.jwt_authorizer import bearer_token, claim_as_string, token_scopes
from local.apigateway.authorizers.lambda_authorizer import LambdaAuthorizerResult, parse_authorizer_response
from local.apigateway.cors import add_cors_headers, cors_preflight
from local.apigateway.errors import (
    Forbidden,
    InsufficientScope,
    JwtRejected,
    MalformedAuthorizerResponse,
    MalformedIntegrationResponse,
    NotFound,
    RequestEntityTooLarge,
    ServiceUnavailable,
    Unauthorized,
)
from local.apigateway.iam import policy_allows
from local.apigateway.integration import integration_response
from local.apigateway.messages import GatewayRequest, GatewayResponse
from local.apigateway.model import Authorizer
from local.awslambda.worker import Invocation

API = "arn:aws:execute-api:us-east-1:123456789012:abc123"


def statement(effect: str, resource: Any, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource}


# --- IAM evaluation -----------------------------------------------------------------------------------------------


def test_an_allow_on_the_stage_allows_every_route() -> None:
    statements = [statement("Allow", f"{API}/$default/*")]
    assert policy_allows(statements, f"{API}/$default/GET/orders")
    assert policy_allows(statements, f"{API}/$default/DELETE/orders/1/items")
    assert not policy_allows(statements, f"{API}/prod/GET/orders")


def test_an_explicit_deny_wins_over_an_allow() -> None:
    statements = [statement("Allow", f"{API}/$default/*"), statement("Deny", f"{API}/$default/DELETE/orders/*")]
    assert policy_allows(statements, f"{API}/$default/GET/orders/1")
    assert not policy_allows(statements, f"{API}/$default/DELETE/orders/1")
    assert not policy_allows(statements, f"{API}/$default/DELETE/orders/1/items")  # * spans slashes


def test_nothing_matching_means_deny() -> None:
    assert not policy_allows([statement("Allow", f"{API}/$default/GET/orders")], f"{API}/$default/GET/orders/1")
    assert not policy_allows([statement("Deny", f"{API}/*")], f"{API}/$default/GET/x")


def test_question_mark_matches_exactly_one_character() -> None:
    statements = [statement("Allow", f"{API}/$default/GET/v?")]
    assert policy_allows(statements, f"{API}/$default/GET/v1")
    assert not policy_allows(statements, f"{API}/$default/GET/v10")
    assert not policy_allows(statements, f"{API}/$default/GET/v")


def test_action_wildcards_lists_and_other_actions() -> None:
    arn = f"{API}/$default/GET/x"
    assert policy_allows([statement("Allow", arn, "execute-api:*")], arn)
    assert policy_allows([statement("Allow", [arn], ["s3:GetObject", "execute-api:invoke"])], arn)
    assert not policy_allows([statement("Allow", arn, "s3:*")], arn)


def test_statements_with_conditions_do_not_apply() -> None:
    arn = f"{API}/$default/GET/x"
    assert not policy_allows([{**statement("Allow", arn), "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}], arn)


# --- authorizer responses -----------------------------------------------------------------------------------------

IAM_V2 = Authorizer("A", "a1", "iam", "REQUEST", ("$request.header.Authorization",), "F", "2.0", False, 300)
SIMPLE = Authorizer("S", "s1", "simple", "REQUEST", ("$request.header.Authorization",), "F", "2.0", True, 300)
IAM_V1 = Authorizer("V", "v1", "v1", "REQUEST", ("$request.header.Authorization",), "F", "1.0", False, 0)

POLICY = {"Version": "2012-10-17", "Statement": [statement("Allow", f"{API}/*")]}


def test_a_simple_response_is_a_boolean_with_context() -> None:
    result = parse_authorizer_response({"isAuthorized": True, "context": {"sub": "u", "roles": ["a"]}}, SIMPLE)
    assert result.allows(f"{API}/$default/DELETE/anything")
    assert result.context == {"sub": "u", "roles": ["a"]}
    assert not parse_authorizer_response({"isAuthorized": False}, SIMPLE).allows(f"{API}/$default/GET/x")


def test_an_iam_response_is_evaluated_per_route() -> None:
    result = parse_authorizer_response({"principalId": "u", "policyDocument": POLICY}, IAM_V2)
    assert isinstance(result, LambdaAuthorizerResult) and not result.simple
    assert result.principal_id == "u" and result.context == {}
    assert result.allows(f"{API}/$default/GET/x")


@pytest.mark.parametrize(("payload", "authorizer"), [
    ({"isAuthorized": "yes"}, SIMPLE),
    ({"isAuthorized": True, "context": "not an object"}, SIMPLE),
    ({"isAuthorized": True}, IAM_V2),  # simple responses are not enabled
    ({"policyDocument": POLICY}, IAM_V2),  # no principalId
    ({"principalId": "u", "policyDocument": {"Version": "2012-10-17", "Statement": []}}, IAM_V2),
    ({"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}, IAM_V2),
    ({"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Allow", "Resource": "*"}]}}, IAM_V2),
    ({"principalId": "u", "policyDocument": POLICY, "context": {"claims": "reserved"}}, IAM_V2),
    ({"principalId": "u", "policyDocument": POLICY, "context": {"roles": ["a", "b"]}}, IAM_V1),
    (["not", "an", "object"], IAM_V2),
    (None, SIMPLE),
])
def test_malformed_authorizer_responses_are_rejected(payload: Any, authorizer: Authorizer) -> None:
    with pytest.raises(MalformedAuthorizerResponse):
        parse_authorizer_response(payload, authorizer)


# --- Lambda proxy responses ---------------------------------------------------------------------------------------


def invocation(payload: Any) -> Invocation:
    return Invocation(payload, json.dumps(payload), "r", 1, False, 1.0, None)


def test_a_full_response_maps_status_headers_cookies_and_body() -> None:
    response = integration_response("2.0", invocation({
        "statusCode": 202, "headers": {"x-a": "1", "x-both": "single", "x-bool": True},
        "multiValueHeaders": {"x-both": ["m1", "m2"]}, "cookies": ["a=1", "b=2"], "body": "ok",
    }))
    assert response.status == 202 and response.body == b"ok"
    assert ("x-a", "1") in response.headers and ("x-bool", "true") in response.headers
    assert [v for k, v in response.headers if k == "x-both"] == ["m1", "m2"]
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]


def test_a_base64_body_is_decoded() -> None:
    response = integration_response("2.0", invocation({"statusCode": 200, "body": "AAH/", "isBase64Encoded": True}))
    assert response.body == bytes([0, 1, 255])


@pytest.mark.parametrize("payload", [{"hello": "world"}, "text", 42, [1, 2], None, {"body": "no status"}])
def test_anything_without_a_status_code_is_a_json_body_with_200(payload: Any) -> None:
    response = integration_response("2.0", invocation(payload))
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert json.loads(response.body) == payload


@pytest.mark.parametrize("payload", [
    {"statusCode": "abc"},
    {"statusCode": 99},
    {"statusCode": True},
    {"statusCode": 200, "body": {"not": "a string"}},
    {"statusCode": 200, "headers": ["x"]},
    {"statusCode": 200, "cookies": "a=1"},
    {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
])
def test_malformed_proxy_responses_are_rejected(payload: Any) -> None:
    with pytest.raises(MalformedIntegrationResponse):
        integration_response("2.0", invocation(payload))


def test_payload_1_0_needs_a_status_code_and_has_no_cookies_field() -> None:
    with pytest.raises(MalformedIntegrationResponse):
        integration_response("1.0", invocation({"hello": "world"}))
    response = integration_response("1.0", invocation({"statusCode": 200, "body": "x", "cookies": ["a=1"]}))
    assert response.header("set-cookie") is None


# --- JWT pieces ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    ("plain", "plain"), (1700000000, "1700000000"), (1.5, "1.5"), (2.0, "2"), (True, "true"),
    (["a", "b"], "[a b]"), ([], "[]"), ({"b": 1, "a": "x"}, "map[a:x b:1]"),
])
def test_claims_reach_the_integration_as_strings(value: Any, text: str) -> None:
    assert claim_as_string(value) == text


def test_scopes_come_from_scope_and_scp() -> None:
    assert token_scopes({"scope": "a b", "scp": ["c"]}) == ["a", "b", "c"]
    assert token_scopes({"scp": "d e"}) == ["d", "e"]
    assert token_scopes({}) == []


def test_scopes_are_delimited_by_spaces_only_as_rfc_6749_says() -> None:
    assert token_scopes({"scope": "a\tb"}) == ["a\tb"]  # one scope: a tab delimits nothing
    assert token_scopes({"scope": "a\nb c"}) == ["a\nb", "c"]
    assert token_scopes({"scope": "  a   b "}) == ["a", "b"]
    assert token_scopes({"scp": ["a", 1, None, ["b"]]}) == ["a"]  # only strings are scopes


def test_the_token_is_taken_with_or_without_the_bearer_prefix() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer   abc") == "abc"
    assert bearer_token("abc.def.ghi") == "abc.def.ghi"


# --- CORS ---------------------------------------------------------------------------------------------------------

CORS = {"AllowOrigins": ["https://app.example.test"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["authorization"],
        "MaxAge": 600}


def test_a_preflight_is_answered_by_the_gateway_for_an_allowed_origin() -> None:
    request = GatewayRequest("OPTIONS", "/orders", [("Origin", "https://app.example.test"),
                                                    ("Access-Control-Request-Method", "POST")])
    response = cors_preflight(CORS, request)
    assert response is not None and response.status == 204
    assert response.header("access-control-allow-origin") == "https://app.example.test"
    assert response.header("access-control-allow-methods") == "GET,POST"
    assert response.header("access-control-allow-headers") == "authorization"
    assert response.header("access-control-max-age") == "600"


def test_a_preflight_from_another_origin_gets_no_cors_headers() -> None:
    request = GatewayRequest("OPTIONS", "/orders", [("Origin", "https://evil.example.test"),
                                                    ("Access-Control-Request-Method", "GET")])
    response = cors_preflight(CORS, request)
    assert response is not None and response.header("access-control-allow-origin") is None


def test_options_without_preflight_headers_goes_to_the_routes() -> None:
    assert cors_preflight(CORS, GatewayRequest("OPTIONS", "/orders", [("Origin", "https://app.example.test")])) is None


def test_responses_to_an_allowed_origin_carry_the_gateways_cors_headers() -> None:
    response = GatewayResponse(200, [("access-control-allow-origin", "*")])
    add_cors_headers(CORS, GatewayRequest("GET", "/x", [("Origin", "https://app.example.test")]), response)
    assert [v for k, v in response.headers if k == "access-control-allow-origin"] == ["https://app.example.test"]


# --- errors carry their status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "status", "body"), [
    (NotFound(), 404, b'{"message":"Not Found"}'),
    (Unauthorized(), 401, b'{"message":"Unauthorized"}'),
    (Forbidden(), 403, b'{"message":"Forbidden"}'),
    (RequestEntityTooLarge(), 413, b'{"message":"Request Entity Too Large"}'),
    (MalformedAuthorizerResponse("context is not an object"), 500, b'{"message":"Internal Server Error"}'),
    (MalformedIntegrationResponse("body is not a string"), 500, b'{"message":"Internal Server Error"}'),
    (ServiceUnavailable("route GET /slow: timed out"), 503, b'{"message":"Service Unavailable"}'),
])
def test_each_gateway_error_answers_with_api_gateways_status_and_body(error, status, body) -> None:
    response = error.response()
    assert (response.status, response.body) == (status, body)
    assert response.header("content-type") == "application/json"


def test_a_rejected_jwt_answers_401_with_its_description_in_www_authenticate() -> None:
    response = JwtRejected("expired", "the token has expired").response()
    assert response.status == 401
    assert response.header("content-type") is None  # as in the troubleshooting page's answer
    assert response.header("www-authenticate") == (
        'Bearer scope="" error="invalid_token" error_description="the token has expired"')


def test_missing_scopes_answer_403_naming_the_route_scopes() -> None:
    response = InsufficientScope(("orders:read", "orders:write")).response()
    assert response.status == 403
    assert 'scope="orders:read orders:write" error="insufficient_scope"' in (response.header("www-authenticate") or "")
