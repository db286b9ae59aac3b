"""Overlapping routes decide as API Gateway routes, through the synthesized stack served locally with the result
cache on (issue 17): the docs' example — ``GET /tenants/{tenantId}/{section}`` for viewers beside
``GET /tenants/{tenantId}/orders`` for admins — and a route under a wider one whose rule the token does not meet.

Each request is made twice: the second may be answered from API Gateway's cache. Tokens are Descope-shaped session
tokens minted by the development issuer.
"""

from __future__ import annotations

import dataclasses
import io

import pytest

from local.stack import LocalStack, synthesize_in_process
from tests.local.raw_http import call

pytestmark = pytest.mark.slow

ROUTES = [
    {"method": "GET", "path": "/tenants/{tenantId}/{section}", "tenant": {"param": "tenantId", "roles": ["viewer"]}},
    {"method": "GET", "path": "/tenants/{tenantId}/orders", "tenant": {"param": "tenantId", "roles": ["admin"]}},
    {"method": "GET", "path": "/orders/{id}", "scopes": ["orders:read"]},
    {"method": "GET", "path": "/orders/{id}/items"},
]
MODES = {"iam": {"lambdaResponse": "iam"}, "simple": {"lambdaResponse": "simple"},
         "iam-cached": {"lambdaResponse": "iam"}}


@pytest.fixture(scope="module", params=list(MODES))
def stack(request):
    with LocalStack("lambda", synthesizer=synthesize_in_process, log_sink=io.StringIO(),
                    context={"routes": ROUTES, "cacheTtlSeconds": 300, **MODES[request.param]}) as s:
        if request.param == "iam-cached":  # the tenant routes' answers cached per route too (not per request)
            authorizers = s.api.api.authorizers  # type: ignore[union-attr]
            [key] = [k for k, a in authorizers.items() if a.result_ttl_s == 0]
            authorizers[key] = dataclasses.replace(
                authorizers[key], result_ttl_s=300,
                identity_sources=tuple(i for i in authorizers[key].identity_sources if i != "$context.requestId"))
        yield s


def twice(stack: LocalStack, path: str, token: str) -> list[int]:
    return [call(stack, "GET", path, token).status_code for _ in range(2)]


def test_an_admin_who_is_no_viewer_reads_her_tenants_orders_and_no_other_section(stack):
    admin = stack.dev_issuer.mint("descope", claims={"tenants": {"T2acme": {"roles": ["admin"]}}})
    assert twice(stack, "/tenants/T2acme/orders", admin) == [200, 200]
    assert twice(stack, "/tenants/T2acme/summary", admin) == [403, 403]
    assert twice(stack, "/tenants/T2globex/orders", admin) == [403, 403]


def test_a_viewer_who_is_no_admin_reads_the_sections_but_not_the_orders(stack):
    viewer = stack.dev_issuer.mint("descope", claims={"tenants": {"T2acme": {"roles": ["viewer"]}}})
    assert twice(stack, "/tenants/T2acme/summary", viewer) == [200, 200]
    assert twice(stack, "/tenants/T2acme/orders", viewer) == [403, 403]


def test_a_route_under_a_wider_route_whose_rule_the_token_misses_is_decided_by_its_own_rule(stack):
    token = stack.dev_issuer.mint("descope", claims={"scope": "profile"})
    assert twice(stack, "/orders/7/items", token) == [200, 200]
    assert twice(stack, "/orders/7", token) == [403, 403]
    reader = stack.dev_issuer.mint("descope", claims={"scope": "orders:read"})
    assert twice(stack, "/orders/7", reader) == [200, 200]
