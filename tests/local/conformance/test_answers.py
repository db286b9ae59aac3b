"""The answers, against AWS's documented ones: what the local API accepts from functions and what it sends back.

- Lambda authorizer responses (the docs' IAM 1.0, IAM 2.0 and simple samples) are accepted and decide as documented;
- Lambda proxy responses (the docs' 1.0 and 2.0 formats, cookies included) become those HTTP responses;
- the native JWT authorizer's refusal is the troubleshooting page's, header for header and byte for byte; its
  scopes are split as RFC 6749 §3.3 (which the page cites) delimits them: on spaces only;
- errors have the status and body the pages state: a missing identity source 401, a failing or throttled function
  500 ``{"message":"Internal Server Error"}``.

The samples are vendored verbatim (``SOURCES.md``); where a sample is a template (``"Allow|Deny"``,
``true/false``, ``{apiId}``, ``// comments``), ``instantiate`` fills it in, and says how.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local.apigateway.authorizers.lambda_authorizer import parse_authorizer_response
from local.apigateway.errors import InternalServerError, LambdaThrottled, Unauthorized
from local.apigateway.integration import integration_response
from local.apigateway.model import Authorizer
from local.awslambda.worker import Invocation
from tests.local.conftest import Issuer, Served

from .conftest import sample_text
from .sample_requests import SampleRequest, send
from .shapes import REQUEST_ID

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/$default/GET/request"
AUTHORIZER_DOCS = "aws_docs/http-api-lambda-authorizer/"
INTEGRATION_DOCS = "aws_docs/http-api-develop-integrations-lambda/"


def instantiate(template: str, **choices: str) -> Any:
    """A documented response template as JSON: ``//`` comments dropped, each ``a|b`` or ``a/b`` alternative and
    each ``{placeholder}`` replaced by ``choices``, ``[optional]`` parts of the ARN kept, ``...`` elisions dropped."""
    text = re.sub(r"\s//[^\n]*", "", template)
    text = text.replace(', ... }', ' }').replace(', ...]', ']')
    for placeholder, value in choices.items():
        text = text.replace(placeholder, value)
    text = re.sub(r"\[\{resource\}/\[\{child-resources\}\]\]", "request", text)
    return json.loads(text)


def _invocation(payload: Any) -> Invocation:
    text = json.dumps(payload)
    return Invocation(payload, text, "request-id", 1, False, 1.0, None)


# --- Lambda authorizer responses --------------------------------------------------------------------------------

ARN_CHOICES = {"{regionId}": "us-east-1", "{accountId}": "123456789012", "{apiId}": "abcdef1234", "{stage}": "$default",
               "{httpVerb}": "GET"}
V1_IAM = Authorizer("A1", "a1", "v1", "REQUEST", ("$request.header.Authorization",), payload_format_version="1.0")
V2_IAM = Authorizer("A2", "a2", "v2", "REQUEST", ("$request.header.Authorization",), payload_format_version="2.0")
V2_SIMPLE = Authorizer("A3", "a3", "v2s", "REQUEST", ("$request.header.Authorization",), payload_format_version="2.0",
                       enable_simple_responses=True)


@pytest.mark.parametrize(("name", "authorizer"), [("authorizer-response-1.0-iam.txt", V1_IAM),
                                                  ("authorizer-response-2.0-iam.txt", V2_IAM)])
@pytest.mark.parametrize("effect", ["Allow", "Deny"])
def test_the_documented_iam_policy_answers_decide_the_route(name: str, authorizer: Authorizer, effect: str) -> None:
    answer = instantiate(sample_text(AUTHORIZER_DOCS + name), **ARN_CHOICES, **{"Allow|Deny": effect})
    result = parse_authorizer_response(answer, authorizer)
    assert result.allows(ARN) is (effect == "Allow")
    assert not result.allows(ARN.replace("/GET/request", "/POST/request"))  # the statement names GET /request only
    assert (result.principal_id, dict(result.context)) == ("abcdef", {"exampleKey": "exampleValue"})


@pytest.mark.parametrize("decision", ["true", "false"])
def test_the_documented_simple_answer_decides_alone(decision: str) -> None:
    answer = instantiate(sample_text(AUTHORIZER_DOCS + "authorizer-response-2.0-simple.txt"), **{"true/false": decision})
    result = parse_authorizer_response(answer, V2_SIMPLE)
    assert result.allows(ARN) is (decision == "true") and result.allows("arn:anything") is (decision == "true")
    assert dict(result.context) == {"exampleKey": "exampleValue"}


# --- Lambda proxy responses -------------------------------------------------------------------------------------


def test_the_documented_2_0_response_sets_status_headers_cookies_and_body() -> None:
    answer = instantiate(sample_text(INTEGRATION_DOCS + "integration-response-2.0.txt"),
                         **{"true|false": "false", "httpStatusCode": "201"})
    response = integration_response("2.0", _invocation(answer))
    assert (response.status, response.body) == (201, b"Hello from Lambda!")
    assert response.header("headername") == "headervalue"
    assert [value for name, value in response.headers if name == "set-cookie"] == ["cookie1", "cookie2"]


def test_the_documented_1_0_response_joins_single_and_multi_value_headers() -> None:
    answer = instantiate(sample_text(INTEGRATION_DOCS + "integration-response-1.0.txt"),
                         **{"true|false": "false", "httpStatusCode": "202"})
    response = integration_response("1.0", _invocation(answer))
    assert (response.status, response.body) == (202, b"...")
    # multiValueHeaders wins for a name in both, as in REST APIs' Lambda proxy responses.
    assert [value for name, value in response.headers if name == "headername"] == ["headervalue", "headervalue2"]


@pytest.mark.parametrize("output", ["Hello from Lambda!", {"message": "Hello from Lambda!"}])
def test_a_2_0_answer_without_status_code_is_inferred_as_the_docs_table_says(output: Any) -> None:
    """The docs' table: ``isBase64Encoded`` false, ``statusCode`` 200, ``content-type: application/json``, the
    function's response as the body."""
    response = integration_response("2.0", _invocation(output))
    assert (response.status, response.header("content-type")) == (200, "application/json")
    assert json.loads(response.body) == output


# --- the native JWT authorizer's refusal ------------------------------------------------------------------------


def _documented_refusal() -> tuple[int, dict[str, str], bytes]:
    lines = sample_text("aws_docs/http-api-troubleshooting-jwt/jwt-unauthorized-response.txt").splitlines()
    status = int(next(line for line in lines if line.startswith("< HTTP/1.1")).split()[2])
    headers = {}
    for line in lines:
        if line.startswith("< ") and ": " in line:
            name, _, value = line[2:].partition(": ")
            headers[name.lower()] = value
    # The page's body line reads {"message":"Unauthorized"}} — a stray brace: its own Content-Length (26) ends it.
    body = lines[-1].encode()[: int(headers["content-length"])]
    return status, headers, body


@pytest.mark.slow
def test_a_refused_token_gets_the_troubleshooting_pages_answer_header_for_header(sample_api: Served,
                                                                                 jwks_issuer: Issuer) -> None:
    token = jwks_issuer.sign(jwks_issuer.claims(aud="someone-else", scope="scope1"))
    sent = send(sample_api.url, SampleRequest("GET", "/jwt/route", (("Authorization", token),)))
    status, documented, body = _documented_refusal()
    ours = {name.lower(): value for name, value in sent.headers}
    assert (sent.status, sent.body) == (status, body) == (401, b'{"message":"Unauthorized"}')
    assert ours["www-authenticate"] == documented["www-authenticate"]
    assert ours["content-length"] == documented["content-length"] == "26"
    assert re.fullmatch(REQUEST_ID, ours["apigw-requestid"]) and re.fullmatch(REQUEST_ID, documented["apigw-requestid"])
    assert "date" in ours
    # The documented answer has exactly these headers; the local one leaves out "Connection: keep-alive", which
    # HTTP/1.1 implies (docs/local-stack.md), and adds none: no content-type, no server.
    assert set(ours) == set(documented) - {"connection"}


@pytest.mark.slow
@pytest.mark.parametrize("claim", ["scope", "scp"])
@pytest.mark.parametrize(("scope", "status"), [
    ("other scope1", 200),       # space-delimited: scope1 is one of them
    ("  scope2  other", 200),    # runs of spaces delimit too
    ("other\tscope1", 403),      # a tab delimits nothing: one scope "other\tscope1"
    ("scope1\nscope2", 403),
    ("other", 403),
])
def test_scopes_are_delimited_by_spaces_only(sample_api: Served, jwks_issuer: Issuer, scope: str, status: int,
                                              claim: str) -> None:
    """In ``scope`` and in ``scp`` when it is one string (Entra's form) alike."""
    token = jwks_issuer.sign(jwks_issuer.claims(**{claim: scope}))
    sent = send(sample_api.url, SampleRequest("GET", "/jwt/route", (("Authorization", f"Bearer {token}"),)))
    assert sent.status == status, sent.body
    if status == 403:
        assert sent.json() == {"message": "Forbidden"}


# --- error answers ----------------------------------------------------------------------------------------------


def _documented_internal_error() -> bytes:
    heading = sample_text("aws_docs/http-api-troubleshooting-lambda/internal-server-error-heading.txt")
    return re.search(r"`(\{.*?\})`", heading).group(1).encode()  # type: ignore[union-attr]


def test_function_and_throttling_errors_answer_500_with_the_http_api_body() -> None:
    statements = sample_text("aws_lambda_developer_guide/services-apigateway-errors.txt")
    assert "If the Lambda API rejects the invocation request, API Gateway returns a 500 error code" in statements
    authorizer_statements = sample_text(AUTHORIZER_DOCS + "error-statements.txt")
    assert "If API Gateway can't invoke your Lambda authorizer" in authorizer_statements
    body = _documented_internal_error()
    assert body == b'{"message":"Internal Server Error"}'
    for error in (InternalServerError("function error"), LambdaThrottled("throttled")):
        response = error.response()
        assert (response.status, response.body) == (500, body)


@pytest.mark.slow
def test_a_missing_identity_source_is_the_documented_401(sample_api: Served) -> None:
    assert "the client receives a `401` error" in sample_text(AUTHORIZER_DOCS + "error-statements.txt")
    sent = send(sample_api.url, SampleRequest("GET", "/my/path?parameter2=value"))
    assert (sent.status, sent.body) == (401, Unauthorized().response().body) == (401, b'{"message":"Unauthorized"}')
