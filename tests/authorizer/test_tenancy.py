"""Tenant rules: a route's ``{tenantId}`` must be one of the token's tenants, and answers stay right when cached.

Tokens here are built by us, signed with the tests' own keys, in Descope's shape (``tenants``: tenant ID →
``{"roles", "permissions"}``, ``dct``: the current tenant). The shape's source: descope/python-sdk, commit
e5e5602671895a2c96d0110018421a2fbd764710, ``descope/descope_client.py`` (``validate_tenant_roles`` reads
``jwt_response["tenants"][tenant]["roles"]``), and shared/reference/identity-providers.md. Descope's helper requires
every listed role; a tenant rule takes any one of them, like scopes. Policies are judged with the local stack's IAM
evaluator, ``policy_allows``.
"""

from __future__ import annotations

import json

import pytest

from authorizer.config import parse_routes
from authorizer.errors import ConfigError
from authorizer.tenancy import MAX_POLICY_TENANTS, tenants_of
from local.apigateway.iam import validate_policy_document

from .support import http_v1_event, http_v2_event, rest_request_event
from .tenant_support import ADMIN_OF_A, DELETE, ORDERS, ROUTES, STAGE, allows, orders_arn, per_route, tenant_event


@pytest.fixture
def tenant_authorizer(make_authorizer):
    return make_authorizer(routes=ROUTES)


# --- configuration ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("routes, field, words", [
    ({"GET /orders/{id}": {"tenant": {"param": "tenantId"}}}, "AUTH_ROUTES['GET /orders/{id}'].tenant.param",
     "route GET /orders/{id} has no path parameter {tenantId}"),
    ({"GET /t/{tenantId+}": {"tenant": {"param": "tenantId"}}}, "AUTH_ROUTES['GET /t/{tenantId+}'].tenant.param",
     "greedy"),
    ({"$default": {"tenant": {"param": "tenantId"}}}, "AUTH_ROUTES['$default'].tenant.param", "route $default"),
    ({ORDERS: {"tenant": {"param": "tenantId", "role": ["admin"]}}}, f"AUTH_ROUTES[{ORDERS!r}].tenant.role",
     "not a known field"),
    ({ORDERS: {"tenant": {"claim": "tenants"}}}, f"AUTH_ROUTES[{ORDERS!r}].tenant.param", "is required"),
    ({ORDERS: {"tenant": {"param": "tenantId", "roles": [""]}}}, f"AUTH_ROUTES[{ORDERS!r}].tenant.roles", "non-empty"),
    ({ORDERS: {"tenant": "tenantId"}}, f"AUTH_ROUTES[{ORDERS!r}].tenant", "must be an object"),
])
def test_a_tenant_rule_the_route_cannot_honour_is_a_configuration_error_naming_the_route(routes, field, words):
    with pytest.raises(ConfigError) as raised:
        parse_routes(routes)
    assert raised.value.field == field and words in raised.value.problem


def test_the_tenant_claim_defaults_to_descopes_tenants():
    rule = parse_routes({ORDERS: {"tenant": {"param": "tenantId"}}})[ORDERS]
    assert rule.tenant is not None and rule.tenant.claim == "tenants" and rule.tenant.roles == ()


# --- decisions ----------------------------------------------------------------------------------------------
def test_an_admin_of_tenant_a_is_allowed_on_as_orders_and_refused_on_bs(tenant_authorizer, token, logs):
    t = token(tenants=ADMIN_OF_A, dct="A")
    on_a = tenant_authorizer.authorize(tenant_event(t, "A"))
    assert allows(on_a, orders_arn("A"))
    assert on_a["context"]["authorized_tenant"] == "A"
    assert json.loads(on_a["context"]["authorized_tenant_roles"]) == ["admin"]
    assert json.loads(on_a["context"]["authorized_tenant_permissions"]) == ["orders:delete"]
    on_b = tenant_authorizer.authorize(tenant_event(t, "B"))  # a member of B, but not an admin there
    assert not allows(on_b, orders_arn("B"))
    assert "authorized_tenant" not in on_b["context"]
    on_c = tenant_authorizer.authorize(tenant_event(t, "C"))  # not a member of C at all
    assert not allows(on_c, orders_arn("C"))
    reasons = [r["reason"] for r in logs.records() if r.get("message") == "denied"]
    assert reasons == ["tenant_role_missing", "tenant_mismatch"]


def test_a_token_without_tenants_is_denied_with_its_own_reason(tenant_authorizer, token, logs):
    for claims in ({}, {"tenants": {}}, {"tenants": None}, {"tenants": 7}, {"tenants": {"a/b": {"roles": ["admin"]}}}):
        response = tenant_authorizer.authorize(tenant_event(token(**claims), "A"))
        assert not allows(response, orders_arn("A")), claims
    assert {r["reason"] for r in logs.records() if r.get("message") == "denied"} == {"tenant_missing"}


def test_roles_and_permissions_are_any_of_within_the_paths_tenant(tenant_authorizer, token):
    auditor = token(scope="orders:write", tenants={"A": {"roles": ["auditor"]}, "B": {"permissions": ["orders:delete"]}})
    assert allows(tenant_authorizer.authorize(tenant_event(auditor, "A")), orders_arn("A"))
    delete_b = f"{STAGE}/DELETE/tenants/B/orders/7"
    assert allows(tenant_authorizer.authorize(tenant_event(auditor, "B", DELETE)), delete_b)
    assert not allows(tenant_authorizer.authorize(tenant_event(auditor, "A", DELETE)), f"{STAGE}/DELETE/tenants/A/orders/7")
    # The route's scope still applies on top of the tenant rule.
    no_scope = token(tenants={"B": {"permissions": ["orders:delete"]}})
    assert not allows(tenant_authorizer.authorize(tenant_event(no_scope, "B", DELETE)), delete_b)


@pytest.mark.parametrize("claim, value", [("org_id", "org_A"), ("tid", "org_A"), ("orgs", ["x", "org_A"])])
def test_a_single_string_or_a_list_claim_names_the_tenants(make_authorizer, token, claim, value):
    authorizer = make_authorizer(routes={ORDERS: {"tenant": {"param": "tenantId", "claim": claim}}})
    t = token(**{claim: value})
    assert allows(authorizer.authorize(tenant_event(t, "org_A")), orders_arn("org_A"))
    assert not allows(authorizer.authorize(tenant_event(t, "org_B")), orders_arn("org_B"))
    # A role required within the tenant cannot be met by a shape that holds no roles.
    strict = make_authorizer(routes={ORDERS: {"tenant": {"param": "tenantId", "claim": claim, "roles": ["admin"]}}})
    assert not allows(strict.authorize(tenant_event(t, "org_A")), orders_arn("org_A"))


def test_dct_alone_can_be_the_tenant_claim(make_authorizer, token):
    authorizer = make_authorizer(routes={ORDERS: {"tenant": {"param": "tenantId", "claim": "dct"}}})
    t = token(tenants=ADMIN_OF_A, dct="B")
    assert allows(authorizer.authorize(tenant_event(t, "B")), orders_arn("B"))
    assert not allows(authorizer.authorize(tenant_event(t, "A")), orders_arn("A"))


def test_simple_responses_decide_the_paths_tenant(make_authorizer, token, logs):
    authorizer = make_authorizer(routes=ROUTES, AUTH_RESPONSE="simple")
    t = token(tenants=ADMIN_OF_A)
    allowed = authorizer.authorize(tenant_event(t, "A"))
    assert allowed["isAuthorized"] is True and allowed["context"]["authorized_tenant"] == "A"
    assert authorizer.authorize(tenant_event(t, "B")) == {"isAuthorized": False}
    missing = tenant_event(t, "A")
    del missing["pathParameters"]
    assert authorizer.authorize(missing) == {"isAuthorized": False}
    # A simple answer holds for every tenant of the route it is cached for: only a per-request answer may be given.
    assert authorizer.authorize(per_route(tenant_event(t, "A", per_request=False))) == {"isAuthorized": False}
    assert authorizer.authorize(tenant_event(t, "A", per_request=False)) == {"isAuthorized": False}
    reasons = [r["reason"] for r in logs.records() if r.get("message") == "denied"]
    assert reasons == ["tenant_role_missing", "tenant_mismatch", "cache_key_too_wide", "cache_key_too_wide"]


def test_an_answer_that_may_be_reused_names_no_tenant_to_the_backend(tenant_authorizer, token):
    """Cached per route, an IAM answer decided on A may be reused on B (the token's too): it must not say A."""
    t = token(tenants={"A": {"roles": ["admin"]}, "B": {"roles": ["admin"]}})
    answer = tenant_authorizer.authorize(per_route(tenant_event(t, "A", per_request=False)))
    assert allows(answer, orders_arn("A")) and allows(answer, orders_arn("B"))
    assert not {"authorized_tenant", "authorized_tenant_roles"} & set(answer["context"])


def test_a_forged_authorized_tenant_claim_never_reaches_the_backend(tenant_authorizer, token):
    forged = token(tenants={"A": {"roles": ["admin"]}}, authorized_tenant="B", authorized_tenant_roles=["admin"])
    on_a = tenant_authorizer.authorize(tenant_event(forged, "A"))
    assert on_a["context"]["authorized_tenant"] == "A"
    assert json.loads(on_a["context"]["authorized_tenant_roles"]) == ["admin"]
    elsewhere = tenant_authorizer.authorize(http_v2_event(forged, route_key="GET /me", arn=f"{STAGE}/GET/me"))
    assert not {"authorized_tenant", "authorized_tenant_roles"} & set(elsewhere["context"])


# --- cached answers -----------------------------------------------------------------------------------------
def test_an_answer_cached_on_one_tenant_still_enforces_every_other(tenant_authorizer, token):
    """API Gateway may reuse an answer on another path, route or tenant: the policy alone must stay right."""
    t = token(scope="orders:write", tenants=ADMIN_OF_A)
    for decided_on in (tenant_event(t, "A", per_request=False), tenant_event(t, "B", per_request=False),
                       tenant_event(t, "A", DELETE, per_request=False)):
        answer = tenant_authorizer.authorize(decided_on)
        assert allows(answer, orders_arn("A"))
        assert not allows(answer, orders_arn("B")) and not allows(answer, orders_arn("C"))
        assert allows(answer, f"{STAGE}/DELETE/tenants/A/orders/9")
        assert not allows(answer, f"{STAGE}/DELETE/tenants/B/orders/9")
        assert allows(answer, f"{STAGE}/GET/me")
        assert not allows(answer, f"{STAGE}/GET/orders")  # no orders:read
        # The catch-all's Allow would cover every tenant: an allow-list leaves it out.
        assert not allows(answer, f"{STAGE}/GET/tenants/B/orders/extra")


def test_an_answer_never_reused_allows_its_own_request_and_nothing_else(tenant_authorizer, token):
    """The construct's tenant authorizer (``$context.requestId`` in the key): its answer is evaluated against the
    request it was decided for alone, so it allows its route for the request's tenant (later parameters ``*``), not a
    list of every tenant the token may call — narrower than a reusable answer, never wider."""
    t = token(scope="orders:write", tenants=ADMIN_OF_A)
    for decided_on, allowed in ((tenant_event(t, "A"), orders_arn("A")),
                                (tenant_event(t, "A", DELETE), f"{STAGE}/DELETE/tenants/A/orders/*")):
        answer = tenant_authorizer.authorize(decided_on)
        assert answer["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [allowed]}]
        assert answer["context"]["authorized_tenant"] == "A"
    refused = tenant_authorizer.authorize(tenant_event(t, "B"))  # a viewer there
    assert not allows(refused, orders_arn("B")) and not allows(refused, orders_arn("A"))


def test_an_answer_cached_per_route_on_a_route_without_a_tenant_rule_opens_no_tenant_route(tenant_authorizer, token):
    t = token(scope="orders:read orders:write", tenants=ADMIN_OF_A)
    answer = tenant_authorizer.authorize(per_route(http_v2_event(t, route_key="GET /me", arn=f"{STAGE}/GET/me")))
    assert allows(answer, f"{STAGE}/GET/me") and allows(answer, f"{STAGE}/GET/orders")
    for tenant in ("A", "B"):
        assert not allows(answer, orders_arn(tenant))
        assert not allows(answer, f"{STAGE}/DELETE/tenants/{tenant}/orders/1")


def test_a_catch_all_cached_per_route_is_decided_by_its_own_rule(tenant_authorizer, token):
    """``ANY /{proxy+}`` overlaps every tenant route, but its answer is only reused on requests API Gateway matched
    to it — never on a tenant route's (API Gateway prefers the more specific route): no tenant route's Deny may
    cover what it allows, as no route's may cover what a more specific one allows."""
    t = token(tenants=ADMIN_OF_A)
    arn = f"{STAGE}/GET/anything/else"
    answer = tenant_authorizer.authorize(per_route(http_v2_event(t, route_key="ANY /{proxy+}", arn=arn)))
    assert allows(answer, arn) and allows(answer, f"{STAGE}/GET/tenants/A/orders/extra")


def test_an_answer_cached_by_the_token_alone_is_an_allow_list_whatever_the_route(tenant_authorizer, token, logs):
    """Reused on any route, a "Deny the tenant routes" policy could be slipped past by a path spelt otherwise
    (``/%74enants/B/orders``): the answer lists what it allows instead, which no spelling widens."""
    t = token(scope="orders:read orders:write", tenants=ADMIN_OF_A)
    for route_key, arn in (("GET /me", f"{STAGE}/GET/me"), ("GET /unlisted", f"{STAGE}/GET/unlisted")):
        answer = tenant_authorizer.authorize(http_v2_event(t, route_key=route_key, arn=arn))
        assert allows(answer, arn) and allows(answer, orders_arn("A"))
        assert not allows(answer, orders_arn("B")) and not allows(answer, f"{STAGE}/GET/%74enants/B/orders")
    # The catch-all's Allow would cover every tenant path: refused when the answer may be reused on them.
    catch_all = tenant_authorizer.authorize(http_v2_event(t, route_key="ANY /{proxy+}", arn=f"{STAGE}/GET/x"))
    assert not allows(catch_all, f"{STAGE}/GET/x") and not allows(catch_all, f"{STAGE}/GET/%74enants/B/orders")
    assert [r["reason"] for r in logs.records() if r.get("message") == "denied"] == ["cache_key_too_wide"]


@pytest.mark.parametrize("where, echo", [
    ("headers", {"x-route": "GET /me"}), ("headers", {"x-route": "GET /me,x"}),  # repeated headers are joined
    ("queryStringParameters", {"route": "GET /me"}), ("cookies", ["x=GET /me"]), ("cookies", ["GET /me"]),
    ("rawQueryString", "route=GET%20/me"),
])
def test_a_client_value_reading_like_the_route_key_does_not_make_an_answer_per_route(tenant_authorizer, token, where,
                                                                                     echo):
    """An authorizer keyed on the token and a client-chosen value caches across routes, whatever the value says."""
    t = token(scope="orders:read", tenants=ADMIN_OF_A)
    event = per_route(http_v2_event(t, route_key="GET /me", arn=f"{STAGE}/GET/me"))
    event[where] = {**event.get(where, {}), **echo} if isinstance(echo, dict) else echo
    answer = tenant_authorizer.authorize(event)
    assert allows(answer, f"{STAGE}/GET/me") and allows(answer, orders_arn("A"))  # an allow-list, not the usual policy
    assert not allows(answer, f"{STAGE}/GET/%74enants/B/orders")
    catch_all = per_route(http_v2_event(t, route_key="ANY /{proxy+}", arn=f"{STAGE}/GET/x"))
    catch_all["headers"]["x-route"] = "ANY /{proxy+}"
    assert not allows(tenant_authorizer.authorize(catch_all), f"{STAGE}/GET/x")


def test_simple_answers_that_may_be_reused_on_any_route_are_refused_with_tenant_rules(make_authorizer, token):
    authorizer = make_authorizer(routes=ROUTES, AUTH_RESPONSE="simple")
    t = token(tenants=ADMIN_OF_A)
    assert authorizer.authorize(http_v2_event(t, route_key="GET /me", arn=f"{STAGE}/GET/me")) == {"isAuthorized": False}
    assert authorizer.authorize(per_route(http_v2_event(t, route_key="GET /me", arn=f"{STAGE}/GET/me")))["isAuthorized"]


@pytest.mark.parametrize("shape", [http_v1_event, rest_request_event])
def test_events_that_name_no_route_get_an_allow_list(tenant_authorizer, token, shape):
    t = token(tenants=ADMIN_OF_A)
    event = shape(t, arn=orders_arn("B"))
    answer = tenant_authorizer.authorize(event if shape is rest_request_event else {**event, "requestContext": {}})
    assert allows(answer, orders_arn("A")) and not allows(answer, orders_arn("B"))
    assert allows(answer, f"{STAGE}/GET/me")


def test_a_token_with_more_tenants_than_a_policy_carries_still_gets_its_requested_one(tenant_authorizer, token, logs):
    many = {f"T{n:03d}": {"roles": ["admin"]} for n in range(MAX_POLICY_TENANTS + 30)}
    t = token(tenants=many)
    last = f"T{MAX_POLICY_TENANTS + 29:03d}"
    answer = tenant_authorizer.authorize(tenant_event(t, last, per_request=False))  # a reusable answer
    assert allows(answer, orders_arn(last))
    tenant_resources = [r for s in answer["policyDocument"]["Statement"] if s["Effect"] == "Allow"
                        for r in s["Resource"] if "/tenants/" in r]
    assert len(tenant_resources) == MAX_POLICY_TENANTS
    assert len(json.dumps(answer)) < 10_000
    [warning] = [r for r in logs.records() if "more tenants" in r.get("message", "")]
    assert warning["left_out"] == 30  # the DELETE tenant route needs a scope this token lacks: not listed


# --- bad input ----------------------------------------------------------------------------------------------
HOSTILE = ["*", "?", "A*", "A?", "a/b", "..", ".", "%41", "A%2FB", "é", "Ａ", "\u202eA", "A B", "x" * 129, "x" * 1000,
           "", "A\n", "\ud800"]


@pytest.mark.parametrize("tenant", HOSTILE)
def test_a_hostile_tenant_in_a_token_or_a_path_never_widens_a_policy(tenant_authorizer, token, tenant):
    t = token(tenants={tenant: {"roles": ["admin"]}, "A": {"roles": ["admin"]}} if tenant != "\ud800"
              else {"A": {"roles": ["admin"]}})
    for event in (tenant_event(t, tenant, raw="X"), tenant_event(t, "A")):
        answer = tenant_authorizer.authorize(event)
        validate_policy_document(answer["policyDocument"])
        for s in answer["policyDocument"]["Statement"]:
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            for resource in resources:
                if s["Effect"] == "Allow" and "/tenants/" in resource:
                    assert resource in (orders_arn("A"), f"{STAGE}/DELETE/tenants/A/orders/*"), resource
        assert not allows(answer, orders_arn("B")) and not allows(answer, orders_arn("X"))
    assert not allows(tenant_authorizer.authorize(tenant_event(t, tenant, raw="X")), orders_arn("X"))
    assert tenants_of({"tenants": {tenant: {}}}, "tenants").grants == {}


@pytest.mark.parametrize("raw, decoded", [("%41", "A"), ("%2541", "%41"), ("A%2FB", "A/B"), ("A%2fB", "A/B")])
def test_a_percent_encoded_tenant_path_is_never_allowed_wider(tenant_authorizer, token, logs, raw, decoded):
    """API Gateway decodes the path before matching, while the ARN may keep the client's spelling: whatever the
    spelling, no answer covers another tenant, and a tenant spelt otherwise than the policy is denied consistently."""
    t = token(tenants={"A": {"roles": ["admin"]}, "A/B": {"roles": ["admin"]}, "%41": {"roles": ["admin"]}})
    answer = tenant_authorizer.authorize(tenant_event(t, decoded, raw=raw))
    assert not allows(answer, orders_arn(raw))
    assert not allows(answer, orders_arn("B")) and not allows(answer, f"{STAGE}/GET/tenants/A/B/orders")
    assert [r["reason"] for r in logs.records() if r.get("message") == "denied"] == ["tenant_mismatch"]


def test_the_arn_matches_what_was_decided_for_an_exactly_spelt_tenant(tenant_authorizer, token, logs):
    answer = tenant_authorizer.authorize(tenant_event(token(tenants={"t-1.x_~": {"roles": ["admin"]}}), "t-1.x_~"))
    assert allows(answer, orders_arn("t-1.x_~")) and not allows(answer, orders_arn("t-1.x_~x"))
    assert not [r for r in logs.records() if r.get("message") == "denied"]


def test_a_tenant_resource_over_512_characters_is_never_written(make_authorizer, token, logs):
    route = "GET /tenants/{tenantId}/" + "/".join(["segment"] * 50)
    authorizer = make_authorizer(routes={route: {"tenant": {"param": "tenantId"}}})
    tenant = "T" * 128
    answer = authorizer.authorize(tenant_event(token(tenants=[tenant]), tenant, route))
    resources = [r for st in answer["policyDocument"]["Statement"]
                 for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
    assert all(len(r) <= 512 for r in resources)
    assert [r["reason"] for r in logs.records() if r.get("message") == "denied"] == ["tenant_mismatch"]


def test_long_route_keys_and_slash_heavy_paths_decide_quickly(make_authorizer, token):
    """No recursion over a route key's length, and no regular-expression backtracking over a path of slashes."""
    long_route = "GET /" + "/".join(f"s{n}" for n in range(300)) + "/{tenantId}"
    routes = {long_route: {"tenant": {"param": "tenantId"}}, "GET /{a}/{b}/{c}/{d}/orders": ["nope"],
              "ANY /{proxy+}": []}
    authorizer = make_authorizer(routes=routes)
    event = per_route(http_v2_event(token(), route_key="ANY /{proxy+}", arn=f"{STAGE}/GET/" + "/" * 1900))
    answer = authorizer.authorize(event)  # a hang here would time the test out; speed is measured in make bench
    assert allows(answer, f"{STAGE}/GET/" + "/" * 1900)


def test_a_cookie_token_is_decided_per_request_on_the_constructs_cookie_wiring(make_authorizer, token):
    """With a token cookie the construct's identity sources are $context.routeKey and $context.requestId: the token is
    not in the key, which is safe because an answer keyed on the request id is never reused."""
    authorizer = make_authorizer(routes=ROUTES, AUTH_TOKEN_COOKIE="DS", AUTH_RESPONSE="simple")
    t = token(tenants=ADMIN_OF_A)
    event = tenant_event(t, "A")
    del event["headers"]["authorization"]
    event["cookies"] = [f"DS={t}"]
    event["identitySource"] = [ORDERS, event["requestContext"]["requestId"]]
    assert authorizer.authorize(event)["context"]["authorized_tenant"] == "A"
    event["identitySource"] = [ORDERS]  # cached per route, by a key without the token: refused
    assert authorizer.authorize(event) == {"isAuthorized": False}


def test_the_token_may_be_left_out_of_the_key_only_when_the_request_id_is_really_api_gateways(make_authorizer, token):
    """Keyed on $context.requestId, an answer is never reused; a client echoing that id into a header it keys on
    proves nothing, and then the token must be in the key as always."""
    authorizer = make_authorizer(routes=ROUTES, AUTH_TOKEN_COOKIE="DS")
    t = token(tenants=ADMIN_OF_A)
    event = tenant_event(t, "A")
    request_id = event["requestContext"]["requestId"]
    del event["headers"]["authorization"]
    event["cookies"] = [f"DS={t}"]
    event["identitySource"] = ["session-1", ORDERS, request_id]
    assert allows(authorizer.authorize(event), orders_arn("A"))
    event["headers"]["x-session"] = request_id  # the client put the id among the values itself
    assert not allows(authorizer.authorize(event), orders_arn("A"))
