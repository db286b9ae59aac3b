"""Tenant routes that overlap other routes: which routes cover a tenant route, where IAM's ``*`` spans ``/``, and
overlapping tenant routes decided as API Gateway routes them (docs/security.md's example). Found by the security
reviews; policies are judged with the local stack's IAM evaluator."""

from __future__ import annotations

import pytest

from authorizer.config import parse_routes
from authorizer.errors import ConfigError
from authorizer.overlaps import globs_intersect
from authorizer.tenancy import TenantPlan

from .support import http_v2_event, rest_request_event
from .tenant_support import DELETE, ORDERS, ROUTES, STAGE, allows, orders_arn, per_route, tenant_event


def test_tenant_plan_leaves_out_routes_that_cover_tenant_routes():
    plan = TenantPlan(parse_routes({**ROUTES, "GET /tenants/{x}/{proxy+}": [], "$default": [],
                                    "GET /tenants": [], "POST /tenants/{tenantId}/orders": []}))
    assert plan.covers_tenants == {"ANY /{proxy+}", "GET /tenants/{x}/{proxy+}", "$default"}
    assert plan.nested == {ORDERS: (), DELETE: ()}


@pytest.mark.parametrize("a, b, meet", [
    ("/GET/orders", "/GET/orders", True), ("/GET/orders/*", "/GET/tenants/*/orders", False),
    ("/*/*", "/GET/tenants/*/orders", True), ("/GET/a*c", "/GET/*b*", True), ("/GET/a*", "/GET/b*", False),
    ("/GET/?", "/GET/ab", False), ("/GET/?b", "/GET/a?", True), ("/GET/x*", "/POST/x*", False),
])
def test_globs_intersect(a, b, meet):
    assert globs_intersect(a, b) is meet and globs_intersect(b, a) is meet


# --- from the security review: where IAM's * spans "/" -------------------------------------------------------
def test_an_any_tenant_route_lists_each_verb_so_no_star_spans_into_another_tenants_path(make_authorizer, token):
    """``.../*/tenants/A/*`` would match ``.../GET/tenants/B/tenants/A/x``: ANY is written verb by verb."""
    route = "ANY /tenants/{tenantId}/{proxy+}"
    authorizer = make_authorizer(routes={route: {"tenant": {"param": "tenantId"}}})
    t = token(tenants=["A"])
    for tenant, raw in (("A", "A"), ("B", "B/tenants/A")):
        decided_on = tenant_event(t, tenant, route, raw=raw, per_request=False)  # an answer that may be reused
        decided_on["routeArn"] = decided_on["routeArn"].replace("/ANY/", "/GET/")  # ARNs name the request's verb
        answer = authorizer.authorize(decided_on)
        for verb in ("GET", "DELETE", "PATCH"):
            assert allows(answer, f"{STAGE}/{verb}/tenants/A/x")
            assert not allows(answer, f"{STAGE}/{verb}/tenants/B/tenants/A/x")
            assert not allows(answer, f"{STAGE}/{verb}/tenants/B/x/A/y")
        resources = [r for st in answer["policyDocument"]["Statement"] if st["Effect"] == "Allow" for r in st["Resource"]]
        assert not any("$default/*/" in r for r in resources)


def test_a_parameter_before_the_tenant_is_refused_naming_the_route():
    with pytest.raises(ConfigError) as raised:
        parse_routes({"GET /{region}/{tenantId}/orders": {"tenant": {"param": "tenantId"}}})
    assert raised.value.field == "AUTH_ROUTES['GET /{region}/{tenantId}/orders'].tenant.param"
    assert "{region} before {tenantId}" in raised.value.problem


@pytest.mark.parametrize("claims", [
    {"org_id": "B", "tenants": {"A": {"roles": ["admin"]}}},  # the routes read different claims
    {"org_id": [f"T{n:03d}" for n in range(60)][::-1], "tenants": {}},  # more tenants than a policy carries
])
def test_a_covering_tenant_route_never_opens_a_nested_one_in_an_answer_reused_anywhere(make_authorizer, token, claims):
    """Cached by the token alone, the answer decided on ``/tenants/T/summary`` may be evaluated on
    ``/tenants/T/orders``: a tenant granted on the covering route is denied on the nested one it does not qualify for."""
    outer, inner = "GET /tenants/{tenantId}/{section}", ORDERS
    authorizer = make_authorizer(routes={outer: {"tenant": {"param": "tenantId", "claim": "org_id"}},
                                         inner: {"tenant": {"param": "tenantId", "roles": ["admin"]}}})
    t = token(**claims)
    tenants = claims["org_id"] if isinstance(claims["org_id"], list) else [claims["org_id"]]
    for tenant in tenants[:3]:
        event = tenant_event(t, tenant, outer, per_request=False)
        event["rawPath"] = event["rawPath"].replace("{section}", "summary")
        event["routeArn"] = event["routeArn"].replace("{section}", "summary")
        event["pathParameters"]["section"] = "summary"
        answer = authorizer.authorize(event)
        assert allows(answer, f"{STAGE}/GET/tenants/{tenant}/summary")
        for other in tenants:
            assert not allows(answer, orders_arn(other)), other


# --- overlapping tenant routes decide as API Gateway routes (docs/security.md's example) -------------------------
SECTION = "GET /tenants/{tenantId}/{section}"
OVERLAPPING = {SECTION: {"tenant": {"param": "tenantId", "roles": ["viewer"]}},
               ORDERS: {"tenant": {"param": "tenantId", "roles": ["admin"]}}}


def section_event(token: str, tenant: str, section: str, **options) -> dict:
    event = tenant_event(token, tenant, SECTION, **options)
    for field in ("rawPath", "routeArn"):
        event[field] = event[field].replace("{section}", section)
    event["requestContext"]["http"]["path"] = event["rawPath"]
    event["pathParameters"]["section"] = section
    return event


@pytest.mark.parametrize("routes", [
    OVERLAPPING,
    {SECTION: {"tenant": {"param": "tenantId", "claim": "org_id"}},  # the two routes read different claims
     ORDERS: {"tenant": {"param": "tenantId", "roles": ["admin"]}}},
], ids=["same-claim", "different-claims"])
@pytest.mark.parametrize("cached", ["per-request", "per-route"])
def test_an_admin_is_allowed_on_the_orders_route_that_a_viewers_route_covers(make_authorizer, token, logs, routes,
                                                                             cached):
    """An admin of T2acme who is no viewer there, on ``GET /tenants/T2acme/orders``: API Gateway matches the orders
    route, whose rule she meets. The section route's Deny (``.../tenants/T2acme/*``) must not be in the answer."""
    authorizer = make_authorizer(routes=routes)
    admin = token(tenants={"T2acme": {"roles": ["admin"]}}, org_id="T2globex")
    event = tenant_event(admin, "T2acme", per_request=cached == "per-request")
    answer = authorizer.authorize(event if cached == "per-request" else per_route(event))
    assert allows(answer, orders_arn("T2acme"))
    assert not allows(answer, orders_arn("T2globex"))  # reused on the route for another tenant: still refused
    assert [r["message"] for r in logs.records()] == ["allowed"]
    # And the section route is hers only where she is a viewer (same claim) or her org (org_id).
    summary = section_event(admin, "T2acme", "summary", per_request=cached == "per-request")
    refused = authorizer.authorize(summary if cached == "per-request" else per_route(summary))
    assert not allows(refused, f"{STAGE}/GET/tenants/T2acme/summary")


def test_a_viewer_is_refused_on_the_orders_route_and_allowed_on_the_others(make_authorizer, token):
    authorizer = make_authorizer(routes=OVERLAPPING)
    viewer = token(tenants={"T2acme": {"roles": ["viewer"]}})
    assert not allows(authorizer.authorize(tenant_event(viewer, "T2acme")), orders_arn("T2acme"))
    answer = authorizer.authorize(section_event(viewer, "T2acme", "summary"))
    assert allows(answer, f"{STAGE}/GET/tenants/T2acme/summary")


def test_with_an_answer_reused_anywhere_the_covered_admin_is_refused_as_too_wide_not_logged_as_allowed(
        make_authorizer, token, logs):
    """Cached by the token alone, the answer must deny T2acme on the section route (she is no viewer), and that Deny
    covers the orders path: API Gateway answers 403, so the log says why, and no answer opens the section route."""
    authorizer = make_authorizer(routes=OVERLAPPING)
    admin = token(tenants={"T2acme": {"roles": ["admin"]}})
    answer = authorizer.authorize(tenant_event(admin, "T2acme", per_request=False))
    assert not allows(answer, orders_arn("T2acme"))
    assert not allows(answer, f"{STAGE}/GET/tenants/T2acme/summary")
    assert [r["reason"] for r in logs.records() if r["message"] == "denied"] == ["cache_key_too_wide"]


@pytest.mark.parametrize("route_key, arn", [
    ("GET /orders/{id}", f"{STAGE}/GET/orders/7"),
    ("GET /misc/{item}", f"{STAGE}/GET/misc/x"),
])
def test_an_any_tenant_route_does_not_make_unrelated_routes_ending_in_a_parameter_look_covering(make_authorizer, token,
                                                                                              route_key, arn, logs):
    """``ANY /tenants/{tenantId}/orders`` is written verb by verb; a leading ``*`` would have seemed to let
    ``GET /orders/*`` or ``GET /misc/*`` reach ``GET/tenants/A/orders``."""
    routes = {"ANY /tenants/{tenantId}/orders": {"tenant": {"param": "tenantId"}}, route_key: []}
    authorizer = make_authorizer(routes=routes)
    assert TenantPlan(parse_routes(routes)).covers_tenants == frozenset()
    t = token(tenants={"A": {}})
    shared = authorizer.authorize(http_v2_event(t, route_key=route_key, arn=arn))  # cached by the token alone
    assert allows(shared, arn) and allows(shared, orders_arn("A")) and not allows(shared, orders_arn("B"))
    rest = authorizer.authorize(rest_request_event(t, arn=arn))  # REST: an allow-list that lists the route
    assert allows(rest, arn)
    assert [r["message"] for r in logs.records()] == ["allowed", "allowed"]
