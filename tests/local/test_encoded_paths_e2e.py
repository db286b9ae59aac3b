"""Percent-encoded paths through the synthesized stack, served locally, in every authorizer mode (issue 10).

API Gateway decodes the path once before it matches routes: ``POST /ord%65rs`` is the route ``POST /orders``, its
rule applies, though the route ARN the authorizer sees may still read ``ord%65rs``. Each request here follows one
that the same token was allowed on, so a cached answer reused on another route would show as a wrong 200.
"""

from __future__ import annotations

import io

import pytest

from local.stack import LocalStack, synthesize_in_process
from tests.local.raw_http import call

pytestmark = pytest.mark.slow

ROUTES = [
    {"method": "GET", "path": "/hello"},
    {"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
    {"method": "POST", "path": "/orders", "scopes": ["orders:write"]},
    {"method": "GET", "path": "/orders/{id}", "scopes": ["orders:read"]},
    {"method": "GET", "path": "/files/{proxy+}", "scopes": ["orders:write"]},
]
MODES = {
    "lambda-iam": ("lambda", {"lambdaResponse": "iam"}),
    "lambda-simple": ("lambda", {"lambdaResponse": "simple"}),
    "jwt": ("jwt", {}),
}


@pytest.fixture(scope="module", params=list(MODES))
def stack(request):
    mode, extra = MODES[request.param]
    with LocalStack(mode, synthesizer=synthesize_in_process, log_sink=io.StringIO(), context={"routes": ROUTES, "cacheTtlSeconds": 300, **extra}) as s:
        yield s




def test_an_encoded_path_is_held_to_the_rule_of_the_route_it_selects(stack):
    reader = stack.client_token("orders-oidc-reader")
    writer = stack.client_token("orders-oidc", scope="orders:write")
    assert call(stack, "GET", "/orders", reader).status_code == 200  # an Allow now cached for this token
    assert call(stack, "POST", "/ord%65rs", reader).status_code == 403
    allowed = call(stack, "POST", "/ord%65rs", writer)
    assert allowed.status_code == 200
    assert (allowed.json()["route"], allowed.json()["path"]) == ("POST /orders", "/ord%65rs")


def test_an_encoded_first_segment_selects_the_parameter_route(stack):
    reader = stack.client_token("orders-oidc-reader")
    writer = stack.client_token("orders-oidc", scope="orders:write")
    assert call(stack, "POST", "/orders", writer).status_code == 200
    assert call(stack, "GET", "/%6frders/42", writer).status_code == 403
    allowed = call(stack, "GET", "/%6frders/42", reader)
    assert allowed.status_code == 200 and allowed.json()["route"] == "GET /orders/{id}"


def test_an_encoded_slash_in_a_parameter_is_a_slash(stack):
    reader = stack.client_token("orders-oidc-reader")
    writer = stack.client_token("orders-oidc", scope="orders:write")
    # /orders/1%2F2 is /orders/1/2 once decoded: no route has that many segments
    assert call(stack, "GET", "/orders/1%2F2", reader).status_code == 404
    assert call(stack, "GET", "/orders/1", reader).status_code == 200
    # ...and /files/a%2Fb is the greedy route, with its own rule
    assert call(stack, "GET", "/files/a%2Fb", reader).status_code == 403
    allowed = call(stack, "GET", "/files/a%2Fb", writer)
    assert allowed.status_code == 200 and allowed.json()["route"] == "GET /files/{proxy+}"
