"""Property: through the IAM policy evaluator, a request is allowed exactly when its tenant is one of the token's with
the role (or permission) its route needs there — on the answer decided for it, and on an answer API Gateway cached
for another tenant path of the same token and reuses. Tokens and paths are generated, hostile tenant IDs included:
the tokens are built by us in Descope's ``tenants`` shape (its source: see test_tenancy.py).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from authorizer.policy import MAX_RESOURCE_LENGTH
from authorizer.tenancy import TENANT_ID, requested_grant, tenants_of

from .support import claims_for
from .tenant_support import DELETE, ORDERS, ROUTES, STAGE, allows, tenant_event

TENANTS = ["A", "B", "C", "t-1", "org_9", "*", "a/b", "%41", "é", "x" * 1000]
ROLES = ["admin", "auditor", "viewer"]
PERMISSIONS = ["orders:delete", "orders:read"]

grants = st.fixed_dictionaries({}, optional={
    "roles": st.lists(st.sampled_from(ROLES), unique=True, max_size=2),
    "permissions": st.lists(st.sampled_from(PERMISSIONS), unique=True, max_size=2)})
tokens = st.fixed_dictionaries({"tenants": st.dictionaries(st.sampled_from(TENANTS), grants, max_size=6)},
                               optional={"scope": st.sampled_from(["orders:write", "orders:read", "other"])})
requests = st.tuples(st.sampled_from([ORDERS, DELETE]), st.sampled_from(TENANTS))


def expected(claims: dict, route_key: str, tenant: str) -> bool:
    """The rule, written out independently of the implementation."""
    grant = claims["tenants"].get(tenant)
    if grant is None or not TENANT_ID.fullmatch(tenant):
        return False
    if route_key == ORDERS:
        return bool({"admin", "auditor"} & set(grant.get("roles", [])))
    return claims.get("scope") == "orders:write" and "orders:delete" in grant.get("permissions", [])


def arn_of(route_key: str, tenant: str) -> str:
    method, _, path = route_key.partition(" ")
    return f"{STAGE}/{method}{path.replace('{tenantId}', tenant).replace('{id}', '7')}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=tokens, first=requests, then=requests)
@example(claims={"tenants": {"A": {"roles": ["admin"]}}}, first=(ORDERS, "x" * 1000), then=(ORDERS, "A"))
@example(claims={"tenants": {"A": {"roles": ["admin"]}}}, first=(ORDERS, "*"), then=(ORDERS, "A"))
@example(claims={"tenants": {"A": {"roles": ["admin"]}}}, first=(ORDERS, "B"), then=(ORDERS, "A"))
def test_allowed_exactly_when_the_tenant_is_the_tokens_with_the_role_even_from_a_cached_answer(
        make_authorizer, idp, keys, claims, first, then):
    authorizer = make_authorizer(routes=ROUTES)
    token = keys["ES256"].sign(claims_for(idp, **claims))
    # An answer API Gateway may reuse for the token (cached by the token alone); the construct's per-request one is
    # never reused, and allows its own request only (test_tenancy.py).
    answer = authorizer.authorize(tenant_event(token, first[1], first[0], per_request=False))
    assert allows(answer, arn_of(*first)) == expected(claims, *first)
    assert allows(authorizer.authorize(tenant_event(token, first[1], first[0])), arn_of(*first)) == expected(
        claims, *first)
    # API Gateway reuses the cached answer on the next request of the same token, whatever its path.
    reused = allows(answer, arn_of(*then))
    unnameable = len(arn_of(*first)) > MAX_RESOURCE_LENGTH or any(c in arn_of(*first) for c in "*?")
    if not expected(claims, *first) and unnameable:
        # A refused request whose ARN no policy can name exactly gets a wider Deny (its ARN's own wildcards, or the
        # whole stage): reuse is then only ever narrower, never wider.
        assert reused <= expected(claims, *then)
    else:
        assert reused == expected(claims, *then)



claim_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(TENANTS + ROLES)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(TENANTS + ["roles", "permissions"]), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(value=claim_values, requested=st.one_of(st.none(), st.sampled_from(TENANTS)))
def test_reading_the_requested_tenant_alone_finds_what_reading_the_whole_claim_does(value, requested):
    """A request decided per request reads the requested tenant's entry alone (``requested_grant``); whatever the
    claim holds, it must find exactly what the whole claim's reading (``tenants_of``) grants that tenant."""
    claims = {} if value is None else {"tenants": value}
    whole = tenants_of(claims, "tenants").grants.get(requested) if requested is not None else None
    assert requested_grant(claims, "tenants", requested) == whole
