"""Denials carry what failed as data (``claim``, ``expected``, ``actual``, like aws-jwt-verify's ``failedAssertion``),
``claim_problems`` lists every claim problem with ``check_claims`` raising the first, configuration errors carry
their field, and the JWKS caches report each fetch to an explicit hook that the metrics count."""

from __future__ import annotations

import pytest

from authorizer import errors
from authorizer.config import RouteRule, TenantRule, TrustedIssuer, parse_issuers
from authorizer.fetch import JsonFetcher
from authorizer.jwks import FetchResult
from authorizer.observability import DecisionMetrics
from authorizer.rules import granted_scopes, rule_problem
from authorizer.tenancy import tenant_problem, tenants_of
from authorizer.token import check_claims, claim_problems
from authorizer.verifier import TokenVerifier

from .support import Document, claims_for

ISSUER = TrustedIssuer("https://idp.example.com", ("api",))
NOW = 10_000.0


def problems(claims, issuer=ISSUER, leeway=60):
    return list(claim_problems(claims, issuer, NOW, leeway))


def test_every_claim_problem_is_listed_and_check_claims_raises_the_first():
    claims = {"iss": "https://other.example.com", "exp": NOW - 3600, "nbf": NOW + 3600, "iat": NOW + 7200,
              "sub": 7, "scope": ["a", 1], "aud": "billing"}
    found = problems(claims)
    assert [(p.reason, p.claim) for p in found] == [
        ("invalid_claim", "iss"), ("expired", "exp"), ("not_yet_valid", "nbf"), ("issued_in_future", "iat"),
        ("invalid_claim", "sub"), ("invalid_claim", "scope"), ("audience_mismatch", "aud")]
    with pytest.raises(errors.InvalidClaimError) as raised:
        check_claims(claims, ISSUER, NOW, 60)
    assert raised.value.claim == "iss" and type(raised.value) is type(found[0])
    claims["iss"] = ISSUER.issuer
    with pytest.raises(errors.ExpiredTokenError) as raised:
        check_claims(claims, ISSUER, NOW, 60)
    assert raised.value.failed_assertion == {"claim": "exp", "expected": NOW - 60, "actual": NOW - 3600}


def test_a_valid_token_has_no_claim_problems():
    assert problems({"iss": ISSUER.issuer, "exp": NOW + 60, "aud": ["x", "api"], "scope": "a b"}) == []
    check_claims({"iss": ISSUER.issuer, "exp": NOW + 60, "aud": "api"}, ISSUER, NOW, 0)


def test_a_missing_claim_has_no_actual_value_and_a_null_one_has():
    [missing_exp] = problems({"iss": ISSUER.issuer, "aud": "api"})
    assert (missing_exp.reason, missing_exp.claim, missing_exp.has_actual) == ("missing_claim", "exp", False)
    [no_audience] = problems({"iss": ISSUER.issuer, "exp": NOW + 60})
    assert (no_audience.reason, no_audience.claim, no_audience.expected) == ("missing_claim", "aud", ("api",))
    [null_sub] = problems({"iss": ISSUER.issuer, "exp": NOW + 60, "aud": "api", "sub": ["x"]})
    assert null_sub.has_actual and null_sub.actual == ["x"]


def test_the_client_id_fallback_names_client_id_with_what_it_held():
    [problem] = problems({"iss": ISSUER.issuer, "exp": NOW + 60, "client_id": "mobile"})
    assert isinstance(problem, errors.AudienceMismatchError)
    assert problem.failed_assertion == {"claim": "client_id", "expected": ("api",), "actual": "mobile"}


def test_route_rule_denials_carry_the_claim_the_rule_and_the_token_value():
    scoped = RouteRule("GET /orders", scopes=("orders:read",))
    claims = {"scope": "profile email", "roles": ["viewer"]}
    denial = rule_problem(scoped, claims, granted_scopes(claims))
    assert isinstance(denial, errors.InsufficientScopeError)
    assert (denial.claim, denial.expected, denial.actual) == ("scope", ("orders:read",), ("email", "profile"))
    ruled = RouteRule("DELETE /orders/{id}", claims=(("roles", ("admin",)), ("tier", (1,))))
    denial = rule_problem(ruled, claims, granted_scopes(claims))
    assert (denial.reason, denial.claim, denial.expected, denial.actual) == (
        "claim_rule_not_met", "roles", ("admin",), ["viewer"])
    denial = rule_problem(ruled, {"roles": "admin"}, frozenset())
    assert (denial.claim, denial.has_actual) == ("tier", False)


def test_tenant_denials_carry_the_tenant_claim_the_rule_and_what_the_token_holds():
    route = RouteRule("GET /t/{tenantId}", tenant=TenantRule("tenantId", roles=("admin",), permissions=("read",)))
    claims = {"tenants": {"A": {"roles": ["viewer"], "permissions": ["read"]}, "B": {"roles": ["admin"]}}}
    tenants = tenants_of(claims, "tenants")
    mismatch = tenant_problem(route, tenants, "C")
    assert (mismatch.reason, mismatch.claim, mismatch.expected, mismatch.actual) == (
        "tenant_mismatch", "tenants", ("C",), ("A", "B"))
    roles = tenant_problem(route, tenants, "A")
    assert (roles.reason, roles.claim, roles.expected, roles.actual) == (
        "tenant_role_missing", "tenants.roles", ("admin",), ("viewer",))
    permissions = tenant_problem(route, tenants, "B")
    assert (permissions.reason, permissions.claim, permissions.expected, permissions.actual) == (
        "tenant_role_missing", "tenants.permissions", ("read",), ())
    missing = tenant_problem(route, tenants_of({}, "tenants"), "A")
    assert (missing.reason, missing.claim, missing.has_actual) == ("tenant_missing", "tenants", False)
    assert tenant_problem(route, tenants_of({"tenants": {"A": {"roles": ["admin"], "permissions": ["read"]}}},
                                            "tenants"), "A") is None


def test_verification_denials_name_the_header_parameter_or_claim(idp, keys):
    verifier = TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api", "algorithms": ["RS256"]}]),
                             fetcher=JsonFetcher(timeout=2), remembered_tokens=0)
    with pytest.raises(errors.UnsupportedAlgorithmError) as raised:
        verifier.verify_token(keys["ES256"].sign(claims_for(idp)))
    assert raised.value.failed_assertion == {"claim": "alg", "expected": ("RS256",), "actual": "ES256"}
    with pytest.raises(errors.UnknownIssuerError) as raised:
        verifier.verify_token(keys["RS256"].sign(claims_for("https://evil.example.com")))
    assert (raised.value.claim, raised.value.actual, raised.value.expected) == (
        "iss", "https://evil.example.com", (idp,))
    with pytest.raises(errors.KidNotFoundError) as raised:
        verifier.verify_token(keys["RS256"].sign(claims_for(idp), kid="retired"))
    assert (raised.value.claim, raised.value.actual) == ("kid", "retired")
    with pytest.raises(errors.BadSignatureError) as raised:
        header, payload, _ = keys["RS256"].sign(claims_for(idp)).split(".")
        verifier.verify_token(".".join([header, payload, keys["RS256"].sign(claims_for(idp, jti="x")).split(".")[2]]))
    assert raised.value.failed_assertion is None, "a signature is no claim"


def test_an_issuer_that_cannot_be_discovered_is_named_as_configured_with_its_field():
    with pytest.raises(errors.ConfigError) as raised:
        parse_issuers([{"issuer": "http://idp.example.com", "audience": "api"}])
    assert raised.value.field == "AUTH_ISSUERS[0].issuer"
    assert raised.value.problem.endswith("got 'http://idp.example.com'")


def test_each_fetch_is_reported_to_the_on_fetch_hook(server, keys, idp):
    reported: list[FetchResult] = []
    verifier = TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api"}]), fetcher=JsonFetcher(timeout=2),
                             max_age=1, on_fetch=reported.append)
    verifier.prefetch()
    cache = next(iter(verifier.caches.values()))
    server.put("/idp/jwks", Document(503, b"down", "text/plain"))
    cache.clock = lambda base=cache.clock: base() + 60  # past max age and cooldown: the next lookup refreshes, fails
    cache.get_key("kid-rs256", "RS256")
    assert [(r.why, r.ok, r.stale_served) for r in reported] == [("prefetch", True, False), ("stale", False, True)]
    assert "503" in (reported[1].problem or "")


def test_metrics_count_fetches_from_the_hook_alone():
    metrics = DecisionMetrics(None)
    metrics.on_fetch(FetchResult("https://idp/jwks", "prefetch", ok=True))
    metrics.on_fetch(FetchResult("https://idp/jwks", "stale", ok=False, stale_served=True, problem="503"))
    metrics.on_fetch(FetchResult("https://idp/jwks", "expired", ok=False, stale_expired=True))
    metrics.on_fetch(FetchResult("https://idp/jwks", "initial", ok=False, problem="503"))
    assert (metrics._fetch_attempts, metrics._fetch_failed, metrics._stale_served) == (3, 2, 1)


def test_the_denial_log_names_the_failed_claim_from_the_denial(make_authorizer, idp, keys, logs):
    from .support import http_v2_event

    authorizer = make_authorizer()
    authorizer.authorize(http_v2_event(keys["RS256"].sign(claims_for(idp, audience="billing"))))
    authorizer.authorize(http_v2_event("not-a-token"))
    first, second = [r for r in logs.records() if r["message"] == "denied"]
    assert (first["reason"], first["claim"]) == ("audience_mismatch", "aud")
    assert second["reason"] == "malformed_token" and "claim" not in second


@pytest.mark.parametrize("event", [
    "mutate",
    {"version": "3.0", "routeArn": "x"},
    {"version": "2.0", "type": "REQUEST", "routeArn": "arn:aws:not-execute-api", "routeKey": "GET /hello"},
    {"type": "TOKEN", "methodArn": 42},
], ids=["not-an-object", "unknown-shape", "arn-does-not-parse", "arn-not-a-string"])
def test_an_event_api_gateway_would_not_send_is_denied_as_malformed_event_not_as_the_token(make_authorizer, idp, keys,
                                                                                          logs, event):
    from authorizer.authorize import Unauthorized

    token = keys["RS256"].sign(claims_for(idp))
    if isinstance(event, dict):
        event = {**event, "headers": {"authorization": f"Bearer {token}"}, "authorizationToken": f"Bearer {token}",
                 "identitySource": [f"Bearer {token}"]}
    authorizer = make_authorizer()
    if isinstance(event, dict) and event.get("type") == "TOKEN":
        with pytest.raises(Unauthorized):  # REST: the 401 API Gateway answers for "Unauthorized"
            authorizer.authorize(event)
    else:
        assert authorizer.authorize(event)["policyDocument"]["Statement"] == [
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": "*"}]
    [denied] = [r for r in logs.records() if r["message"] == "denied"]
    assert denied["reason"] == "malformed_event"
