"""Tenant isolation through the synthesized stack, served locally, with the authorizer's result cache on (issue 13).

Tokens are Descope-shaped session tokens from the development issuer (``tenants``: tenant ID → roles/permissions,
``dct``). The construct decides tenant routes per request (a second authorizer without a result cache) and keeps
the cache for the other routes; the ``iam-cached`` variant also turns the cache on for the tenant routes' authorizer,
keyed per route (without ``$context.requestId``), to show that a cached allow-list reused on another tenant's path
still answers exactly (its context then names no tenant).
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.stack import LocalStack, SynthError, synthesize_in_process
from tests.local.raw_http import call

pytestmark = pytest.mark.slow

ORDERS = "GET /tenants/{tenantId}/orders"
DELETE = "DELETE /tenants/{tenantId}/orders/{id}"
ROUTES = [
    {"method": "GET", "path": "/hello"},
    {"method": "GET", "path": "/tenants/{tenantId}/orders", "tenant": {"param": "tenantId", "roles": ["admin"]}},
    {"method": "DELETE", "path": "/tenants/{tenantId}/orders/{id}",
     "tenant": {"param": "tenantId", "permissions": ["orders:delete"]}},
    {"method": "ANY", "path": "/{proxy+}"},
]
MODES = {"iam": {"lambdaResponse": "iam"}, "simple": {"lambdaResponse": "simple"}, "iam-cached": {"lambdaResponse": "iam"}}



@pytest.fixture(scope="module", params=list(MODES))
def stack(request):
    context = {"routes": ROUTES, "cacheTtlSeconds": 300, **MODES[request.param]}
    with LocalStack("lambda", synthesizer=synthesize_in_process, log_sink=io.StringIO(), context=context) as s:
        authorizers = s.api.api.authorizers  # type: ignore[union-attr]
        per_request = [key for key, a in authorizers.items() if a.authorizer_type == "REQUEST" and a.result_ttl_s == 0]
        assert len(per_request) == 1, "the construct decides tenant routes with an authorizer of their own, uncached"
        tenant_authorizer = authorizers[per_request[0]]
        assert "$context.requestId" in tenant_authorizer.identity_sources  # it tells the function: never reused
        if request.param == "iam-cached":  # cached per route instead: answers reused across the token's tenants
            authorizers[per_request[0]] = dataclasses.replace(
                tenant_authorizer, result_ttl_s=300,
                identity_sources=tuple(s for s in tenant_authorizer.identity_sources if s != "$context.requestId"))
        CACHED_TENANT_ROUTES[id(s)] = request.param == "iam-cached"
        yield s


#: Whether a stack caches tenant routes' answers (per route): then the context names no tenant.
CACHED_TENANT_ROUTES: dict[int, bool] = {}



def descope_token(stack: LocalStack, tenants: dict[str, Any], **claims: Any) -> str:
    current = next(iter(tenants), None)
    return stack.dev_issuer.mint("descope", claims={"tenants": tenants, **({"dct": current} if current else {}),
                                                    **claims})


def test_an_admin_of_tenant_a_reads_as_orders_and_is_refused_bs(stack):
    token = descope_token(stack, {"A": {"roles": ["admin"], "permissions": ["orders:read"]}, "B": {"roles": ["viewer"]}})
    for _ in range(2):  # the second round may be answered from a cache
        on_a = call(stack, "GET", "/tenants/A/orders", token)
        assert on_a.status_code == 200
        body = on_a.json()
        assert body["route"] == ORDERS
        if CACHED_TENANT_ROUTES[id(stack)]:  # an answer that may be reused on another tenant names none
            assert "authorized_tenant" not in body["claims"]
        else:
            assert body["claims"]["authorized_tenant"] == "A"
            assert body["claims"]["authorized_tenant_roles"] == ["admin"]
            assert body["claims"]["authorized_tenant_permissions"] == ["orders:read"]
        assert call(stack, "GET", "/tenants/B/orders", token).status_code == 403  # a viewer there
        assert call(stack, "GET", "/tenants/C/orders", token).status_code == 403  # not a member
        assert call(stack, "GET", "/hello", token).status_code == 200


def test_a_token_without_tenants_is_refused_on_tenant_routes_only(stack):
    token = descope_token(stack, {})
    assert call(stack, "GET", "/hello", token).status_code == 200
    assert call(stack, "GET", "/tenants/A/orders", token).status_code == 403
    assert call(stack, "GET", "/anything/else", token).status_code == 200  # the catch-all has no tenant rule


@pytest.mark.parametrize("path", ["/tenants/%42/orders", "/tenants/B%2FA/orders", "/tenants/%2A/orders",
                                  "/tenants/*/orders", "/tenants/A%3F/orders", "/tenants/%C3%A9/orders",
                                  "/tenants/" + "A" * 1000 + "/orders", "/tenants/A/../B/orders"])
def test_no_spelling_of_a_path_reaches_another_tenants_orders(stack, path):
    token = descope_token(stack, {"A": {"roles": ["admin"]}})
    assert call(stack, "GET", "/tenants/A/orders", token).status_code == 200  # an answer now cached for this token
    reply = call(stack, "GET", path, token)
    assert reply.status_code in (403, 404, 414) or reply.json()["route"] != ORDERS, (path, reply)
    assert reply.status_code != 500


TENANTS = ["A", "B", "C", "t-1", "org_9"]
grants = st.fixed_dictionaries({}, optional={"roles": st.lists(st.sampled_from(["admin", "viewer"]), unique=True),
                                              "permissions": st.lists(st.just("orders:delete"), unique=True)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tenants=st.dictionaries(st.sampled_from(TENANTS), grants, max_size=4),
       requests=st.lists(st.tuples(st.sampled_from([ORDERS, DELETE]), st.sampled_from(TENANTS)), min_size=1,
                         max_size=4))
def test_each_request_is_allowed_exactly_when_its_tenant_is_the_tokens_with_the_role(stack, tenants, requests):
    token = descope_token(stack, tenants)
    for route_key, tenant in requests:
        grant = tenants.get(tenant, {})
        needed = ("roles", "admin") if route_key == ORDERS else ("permissions", "orders:delete")
        expected = needed[1] in grant.get(needed[0], [])
        method, _, path = route_key.partition(" ")
        reply = call(stack, method, path.replace("{tenantId}", tenant).replace("{id}", "7"), token)
        assert reply.status_code == (200 if expected else 403), (route_key, tenant, tenants)
        if expected:
            assert reply.json()["claims"].get("authorized_tenant") == (
                None if CACHED_TENANT_ROUTES[id(stack)] else tenant)


def test_jwt_mode_refuses_tenant_rules_at_synthesis():
    with pytest.raises(SynthError, match=r"routes\[1\]\.tenant"), \
            LocalStack("jwt", synthesizer=synthesize_in_process, log_sink=io.StringIO(), context={"routes": ROUTES[:2]}):
        pass
