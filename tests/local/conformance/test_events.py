"""The events the local stack sends, field by field against AWS's own samples (sources: ``SOURCES.md``).

Each case sends the request behind a sample to a route that reproduces it (``conftest.py``), takes the event the
authorizer or the backend received, and compares it with the sample (``shapes.compare``): the same keys, the same
JSON types, the request's values, API Gateway's formats for ids and times. Every difference the local stack keeps
on purpose is listed with its reason in ``deliberate.py``; a listed difference that no longer occurs fails too, so
the list (and docs/local-stack.md, which repeats it) stays true.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.local.conftest import Issuer, Served, new_nonce

from . import deliberate
from .conftest import sample
from .sample_requests import SampleRequest, Sent, expected_v1, expected_v2, send
from .shapes import API_ID, EPOCH_MS, REQUEST_ID, REQUEST_TIME, ROUTE_ARN, TRACE_ID, compare, json_type, value_at

pytestmark = pytest.mark.slow

V2_MAPS = {"headers", "queryStringParameters", "pathParameters", "stageVariables", "requestContext.authorizer.jwt.claims"}
V1_MAPS = {"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
           "stageVariables", "requestContext.authorizer.claims"}
OPAQUE = {"requestContext.authorizer.lambda", "requestContext.authentication", "requestContext.identity.clientCert"}
V2_FORMATS = {"requestContext.requestId": REQUEST_ID, "requestContext.time": REQUEST_TIME,
              "requestContext.timeEpoch": EPOCH_MS, "requestContext.apiId": API_ID, "requestContext.domainPrefix": API_ID,
              "headers.x-amzn-trace-id": TRACE_ID, "routeArn": ROUTE_ARN}
V1_FORMATS = {"requestContext.requestId": REQUEST_ID, "requestContext.extendedRequestId": REQUEST_ID,
              "requestContext.requestTime": REQUEST_TIME, "requestContext.requestTimeEpoch": EPOCH_MS,
              "requestContext.apiId": API_ID, "requestContext.domainPrefix": API_ID, "methodArn": ROUTE_ARN,
              "headers.X-Amzn-Trace-Id": TRACE_ID}
STAGE_VARIABLES = {"stageVariable1": "value1", "stageVariable2": "value2"}
QUERY = "parameter1=value1&parameter1=value2&parameter2=value"


@dataclass(frozen=True)
class Case:
    """One sample and the request that reproduces it on a local route."""

    id: str
    sample: str
    receiver: str  # "authorizer" | "integration": whose event the sample shows
    api: str  # "sample" | "plain"
    request: SampleRequest
    route_key: str
    version: str
    path_parameters: dict[str, str] | None = None
    stage_variables: dict[str, str] | None = None
    token: str | None = None  # "lambda" | "jwt": which Authorization header the request carries
    expected: dict[str, Any] = field(default_factory=dict)


V2_AUTHORIZED = SampleRequest("POST", f"/my/path?{QUERY}", (
    ("Header1", "value1"), ("Header2", "value2"), ("Cookie", "cookie1; cookie2"), ("User-Agent", "agent"),
    ("Content-Type", "application/json")), b'{\r\n\t"a": 1\r\n}')
V1_AUTHORIZED = SampleRequest("GET", "/request?QueryString1=queryValue1", (
    ("X-AMZ-Date", "20170718T062915Z"), ("Accept", "*/*"), ("HeaderAuth1", "headerValue1"),
    ("CloudFront-Viewer-Country", "US"), ("CloudFront-Forwarded-Proto", "https"),
    ("CloudFront-Is-Tablet-Viewer", "false"), ("CloudFront-Is-Mobile-Viewer", "false"), ("User-Agent", "...")))
JWT_V2 = SampleRequest("POST", f"/jwt/my/path?{QUERY}", (
    ("header1", "value1"), ("header2", "value1"), ("header2", "value2"), ("Cookie", "cookie1; cookie2"),
    ("User-Agent", "agent"), ("Content-Type", "text/plain")), b"Hello from Lambda")
JWT_V1 = SampleRequest("GET", f"/v1/my/path?{QUERY}", (
    ("header1", "value1"), ("header2", "value1"), ("header2", "value2"), ("User-Agent", "user-agent"),
    ("Content-Type", "text/plain")), b"Hello from Lambda!")
CURL_GET_ROOT = SampleRequest("GET", "/", (("accept", "*/*"), ("user-agent", "curl/7.58.0")))
CURL_POST_V2 = SampleRequest("POST", "/handler/pero", (("accept", "*/*"), ("user-agent", "curl/7.77.0")))
CURL_POST_V1 = SampleRequest("POST", "/v1/handler/", (("User-Agent", "curl/7.77.0"), ("accept", "*/*")))

_V2_AUTH = dict(receiver="authorizer", api="sample", request=V2_AUTHORIZED, route_key="ANY /my/{proxy+}", version="2.0",
                path_parameters={"proxy": "path"}, stage_variables=STAGE_VARIABLES, token="lambda")
_V1_AUTH = dict(receiver="authorizer", api="sample", request=V1_AUTHORIZED, route_key="ANY /request", version="1.0",
                stage_variables=STAGE_VARIABLES, token="lambda")
_JWT_V2 = dict(receiver="integration", api="sample", request=JWT_V2, route_key="ANY /jwt/{proxy+}", version="2.0",
               path_parameters={"proxy": "my/path"}, stage_variables=STAGE_VARIABLES, token="jwt")

CASES = [
    # Lambda authorizer events
    Case("docs-authorizer-2.0", "aws_docs/http-api-lambda-authorizer/authorizer-event-2.0.json", **_V2_AUTH),
    Case("go-authorizer-2.0", "corpus:aws_lambda_go/apigw-v2-custom-authorizer-v2-request.json", **_V2_AUTH),
    Case("powertools-authorizer-2.0", "corpus:powertools_lambda_python/apiGatewayAuthorizerV2Event.json", **_V2_AUTH),
    Case("powertools-authorizer-2.0-merchants", "corpus:powertools_lambda_python/apiGatewayAuthorizerV2.json",
         **_V2_AUTH),
    Case("docs-authorizer-1.0", "aws_docs/http-api-lambda-authorizer/authorizer-event-1.0.json", **_V1_AUTH),
    Case("go-authorizer-1.0", "corpus:aws_lambda_go/apigw-v2-custom-authorizer-v1-request.json", **_V1_AUTH),
    Case("powertools-authorizer-1.0", "corpus:powertools_lambda_python/apiGatewayAuthorizerRequestEvent.json",
         **_V1_AUTH),
    # Lambda proxy integration events
    Case("docs-integration-2.0", "aws_docs/http-api-develop-integrations-lambda/integration-event-2.0.json", **_JWT_V2),
    Case("go-integration-2.0-jwt", "aws_lambda_go/apigw-v2-request-jwt-authorizer.json", **_JWT_V2),
    Case("go-integration-2.0-lambda", "aws_lambda_go/apigw-v2-request-lambda-authorizer.json",
         **{**_V2_AUTH, "receiver": "integration"}),
    Case("go-integration-2.0-captured", "aws_lambda_go/apigw-v2-request-no-authorizer.json", "integration", "plain",
         CURL_GET_ROOT, "$default", "2.0"),
    Case("mantil-integration-2.0-captured", "mantil_go_lambda_examples/http-api-integration-event-2.0.json",
         "integration", "plain", CURL_POST_V2, "ANY /handler/{proxy+}", "2.0", {"proxy": "pero"}),
    Case("docs-integration-1.0", "aws_docs/http-api-develop-integrations-lambda/integration-event-1.0.json",
         "integration", "plain", JWT_V1, "GET /v1/my/path", "1.0", token="jwt"),
    Case("mantil-integration-1.0-captured", "mantil_go_lambda_examples/http-api-integration-event-1.0.json",
         "integration", "plain", CURL_POST_V1, "ANY /v1/handler/{proxy+}", "1.0", {"proxy": ""}),
]


def _authorization(case: Case, jwks_issuer: Issuer) -> tuple[str, str | None]:
    if case.token == "lambda":
        token = f"allow:{new_nonce()}"
        return token, token
    if case.token == "jwt":
        claims = jwks_issuer.claims(scope="scope1 scope2", claim1="value1", claim2="value2")
        return f"Bearer {jwks_issuer.sign(claims)}", None
    return "", None


def produce(case: Case, served: Served, jwks_issuer: Issuer) -> tuple[dict[str, Any], Sent, str]:
    """Send the case's request; the event its receiver got, the response, and the Authorization value sent."""
    authorization, lambda_token = _authorization(case, jwks_issuer)
    request = case.request
    if authorization:
        request = SampleRequest(request.method, request.target, (*request.headers, ("Authorization", authorization)),
                                request.body)
    sent = send(served.url, request)
    assert sent.status == 200, (sent.status, sent.body)
    if case.receiver == "integration":
        return sent.json()["event"], sent, authorization
    assert lambda_token is not None
    (call,) = served.authorizer_calls(lambda_token)
    return call["event"], sent, authorization


def expectations(case: Case, sent: Sent, authorization: str) -> tuple[dict[str, Any], dict[str, str], set[str]]:
    request = case.request
    if authorization:
        request = SampleRequest(request.method, request.target, (*request.headers, ("Authorization", authorization)),
                                request.body)
    build = expected_v2 if case.version == "2.0" else expected_v1
    expected = build(request, sent.host, case.route_key, path_parameters=case.path_parameters,
                     stage_variables=case.stage_variables)
    formats = dict(V2_FORMATS if case.version == "2.0" else V1_FORMATS)
    if case.receiver == "authorizer":
        expected["type"] = "REQUEST"
        identity = [authorization, "value" if case.version == "2.0" else "queryValue1"]
        if case.version == "2.0":
            expected["identitySource"] = identity
        else:
            expected["identitySource"] = expected["authorizationToken"] = ",".join(identity)
            expected["pathParameters"] = case.path_parameters or {}  # {} in all three 1.0 authorizer samples
        for key in ("body", "isBase64Encoded"):
            expected.pop(key, None)
    else:
        formats.pop("routeArn", None)
        formats.pop("methodArn", None)
        if request.body:
            expected["body"] = request.body.decode()
        expected["isBase64Encoded"] = False
    return expected, formats, V2_MAPS if case.version == "2.0" else V1_MAPS


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_event_has_the_shape_of_the_aws_sample(case: Case, sample_api: Served, plain_api: Served,
                                                   jwks_issuer: Issuer) -> None:
    served = sample_api if case.api == "sample" else plain_api
    ours, sent, authorization = produce(case, served, jwks_issuer)
    expected, formats, maps = expectations(case, sent, authorization)
    found = compare(sample(case.sample), ours, maps=maps, opaque=OPAQUE, formats=formats, expected=expected)
    listed = deliberate.for_sample(case.id)
    unexplained = [f"{d.path} ({d.kind}): {d.detail}" for d in found if d.key not in listed]
    assert not unexplained, "differences no deliberate.py entry explains:\n" + "\n".join(unexplained)
    no_longer = sorted(set(listed) - {d.key for d in found})
    assert not no_longer, f"deliberate.py lists differences that no longer occur (remove them, and from the docs): {no_longer}"


def test_2_0_header_names_are_lower_case_and_1_0_keeps_the_clients(sample_api: Served, plain_api: Served,
                                                                   jwks_issuer: Issuer) -> None:
    """The integration page: "Header names are lowercased" (2.0); the captured 1.0 event keeps the client's case
    and writes the headers API Gateway adds in their canonical case."""
    by_id = {case.id: case for case in CASES}
    v2, _, _ = produce(by_id["mantil-integration-2.0-captured"], plain_api, jwks_issuer)
    assert all(name == name.lower() for name in v2["headers"])
    v1, _, _ = produce(by_id["mantil-integration-1.0-captured"], plain_api, jwks_issuer)
    captured = sample("mantil_go_lambda_examples/http-api-integration-event-1.0.json")
    assert set(captured["headers"]) - {"accept", "User-Agent"} <= set(v1["headers"])
    assert v1["headers"]["accept"] == "*/*" and set(v1["multiValueHeaders"]) == set(v1["headers"])


CAPTURED = ["aws_lambda_go/apigw-v2-request-no-authorizer.json",
            "mantil_go_lambda_examples/http-api-integration-event-2.0.json",
            "mantil_go_lambda_examples/http-api-integration-event-1.0.json"]


@pytest.mark.parametrize("name", CAPTURED)
def test_formats_are_those_of_captured_events(name: str) -> None:
    """The formats ids and times are compared by are API Gateway's: each matches the captured events' values."""
    captured = sample(name)
    formats = V2_FORMATS if captured.get("version") == "2.0" else V1_FORMATS
    checked = 0
    for path, pattern in formats.items():
        try:
            value = value_at(captured, path)
        except KeyError:
            continue
        assert re.fullmatch(pattern, str(value)), (path, value)
        checked += 1
    assert checked >= 4


def test_the_comparison_finds_a_changed_event() -> None:
    """The comparison can fail: a missing key, an extra one, a type, a value and a format are each reported."""
    base = sample("mantil_go_lambda_examples/http-api-integration-event-2.0.json")
    changed = {**base, "isBase64Encoded": "false", "extra": 1}
    del changed["routeKey"]
    changed["requestContext"] = {**base["requestContext"], "requestId": "not an id", "stage": "prod"}
    found = compare(base, changed, maps={"headers"}, formats={"requestContext.requestId": REQUEST_ID},
                    expected={"requestContext.stage": "$default"})
    assert {d.key for d in found} == {("routeKey", "missing"), ("extra", "extra"), ("isBase64Encoded", "type"),
                                      ("requestContext.requestId", "format"), ("requestContext.stage", "value")}
    assert json_type(None) == "null" and json_type(True) == "boolean" and json_type(1) == "number"
