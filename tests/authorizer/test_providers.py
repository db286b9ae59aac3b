"""Provider presets against tokens shaped as each provider issues them (shared/reference/identity-providers.md).

Tokens here are built by us with keys generated per session, in the documented shape of each provider. Real,
provider-signed tokens (Descope's SDK test tokens) are replayed in ``tests/conformance/``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from authorizer import errors
from authorizer.authorize import Authorizer
from authorizer.config import load_config, parse_issuers
from authorizer.errors import ConfigError
from authorizer.fetch import JsonFetcher
from authorizer.verifier import TokenVerifier

from .support import JwksServer, SigningKey, claims_for, http_v2_event

PROJECT = "P2abcDEF"
POOL = "us-east-1_AbC123"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.fixture
def provider_verifier(server: JwksServer, keys: dict[str, SigningKey]):
    """A verifier for one preset whose ``base_url`` points at the local server, which serves every test key."""

    def build(spec: dict[str, Any], jwks_path: str) -> TokenVerifier:
        server.put_jwks(jwks_path, list(keys.values()))
        return TokenVerifier(parse_issuers([{**spec, "base_url": server.root}]), fetcher=JsonFetcher(),
                             remembered_tokens=0)

    return build


def reason_of(verifier: TokenVerifier, token: str) -> str:
    try:
        verifier.verify_token(token)
    except errors.AuthorizationError as denial:
        return denial.reason
    return "ok"


# --- Descope --------------------------------------------------------------------------------------------------
@pytest.fixture
def descope(provider_verifier) -> TokenVerifier:
    return provider_verifier({"provider": "descope", "project_id": PROJECT}, f"/v2/keys/{PROJECT}")


def descope_session(iss: str, **extra: Any) -> dict[str, Any]:
    """Descope's default session token: no aud, no client_id (descope/python-sdk tests; identity-providers.md)."""
    shape = {"drn": "DS", "amr": ["email"], "roles": [], "permissions": [], "tenants": {}}
    return claims_for(iss, audience=None, **{**shape, **extra})


def test_descope_session_token_without_aud_is_accepted_in_every_issuer_form(descope, server, keys):
    for iss in (PROJECT, f"{server.root}/{PROJECT}", f"{server.root}/v1/apps/{PROJECT}"):
        assert reason_of(descope, keys["ES384"].sign(descope_session(iss))) == "ok", iss


def test_descope_aud_is_still_checked_when_present(descope, keys):
    assert reason_of(descope, keys["ES384"].sign(descope_session(PROJECT, aud=PROJECT))) == "ok"
    assert reason_of(descope, keys["ES384"].sign(descope_session(PROJECT, aud="another-project"))) == \
        "audience_mismatch"


def test_descope_require_audience_insists_on_aud(provider_verifier, keys):
    verifier = provider_verifier({"provider": "descope", "project_id": PROJECT, "require_audience": True},
                                 f"/v2/keys/{PROJECT}")
    assert reason_of(verifier, keys["ES384"].sign(descope_session(PROJECT))) == "missing_claim"
    assert reason_of(verifier, keys["ES384"].sign(descope_session(PROJECT, aud=[PROJECT]))) == "ok"


def test_descope_refresh_token_is_refused_with_its_own_reason(descope, keys):
    refresh = descope_session(PROJECT, drn="DSR")
    assert reason_of(descope, keys["ES384"].sign(refresh)) == "token_use_mismatch"


def test_descope_agentic_issuer_accepts_any_server_of_the_project_only(descope, server, keys):
    agentic = f"{server.root}/v1/apps/agentic/{PROJECT}"
    assert reason_of(descope, keys["RS256"].sign(descope_session(f"{agentic}/MS2abc"))) == "ok"
    assert reason_of(descope, keys["RS256"].sign(descope_session(f"{agentic}/RS3other"))) == "ok"
    for iss in (f"{agentic}/", f"{agentic}/MS2/extra", f"{agentic}/MS2?x=1", f"{agentic}", f"{agentic}/..",
                f"{agentic}/MS2abc\n", f"{agentic}/" + "M" * 129,
                f"{server.root}/v1/apps/agentic/P2other/MS2abc"):
        assert reason_of(descope, keys["RS256"].sign(descope_session(iss))) == "unknown_issuer", iss


def test_descope_agentic_form_can_be_left_out(provider_verifier, server, keys):
    verifier = provider_verifier({"provider": "descope", "project_id": PROJECT, "issuer_forms": ["apps"]},
                                 f"/v2/keys/{PROJECT}")
    iss = f"{server.root}/v1/apps/agentic/{PROJECT}/MS2abc"
    assert reason_of(verifier, keys["RS256"].sign(descope_session(iss))) == "unknown_issuer"


# --- WSO2 -----------------------------------------------------------------------------------------------------
@pytest.fixture
def wso2(provider_verifier) -> TokenVerifier:
    return provider_verifier({"provider": "wso2", "audience": "client-1"}, "/oauth2/jwks")


def test_wso2_scope_as_a_json_array_counts_for_route_scopes(server, keys, logs):
    server.put_jwks("/oauth2/jwks", [keys["RS256"]])
    config = load_config({
        "AUTH_ISSUERS": json.dumps([{"provider": "wso2", "base_url": server.root, "audience": "client-1"}]),
        "AUTH_ROUTES": json.dumps({"GET /orders": ["orders:read"]}), "AUTH_RESPONSE": "simple"})
    authorizer = Authorizer(config, logger=logs.logger)
    iss = f"{server.root}/oauth2/token"
    allowed = keys["RS256"].sign(claims_for(iss, "client-1", scope=["openid", "orders:read"]), typ="at+jwt")
    refused = keys["RS256"].sign(claims_for(iss, "client-1", scope=["openid"]), typ="at+jwt")
    assert authorizer.authorize(http_v2_event(allowed, route_key="GET /orders", per_route=True))["isAuthorized"] is True
    assert authorizer.authorize(http_v2_event(refused, route_key="GET /orders", per_route=True)) == {"isAuthorized": False}
    assert [r["reason"] for r in logs.records() if r["message"] == "denied"] == ["insufficient_scope"]


def test_wso2_refresh_token_is_refused(wso2, server, keys):
    iss = f"{server.root}/oauth2/token"
    for typ in ("rt+jwt", "RT+JWT", "application/rt+jwt"):
        refresh = keys["RS256"].sign(claims_for(iss, "client-1"), typ=typ)
        assert reason_of(wso2, refresh) == "token_use_mismatch", typ
    assert reason_of(wso2, keys["RS256"].sign(claims_for(iss, "client-1"), typ="at+jwt")) == "ok"


def test_wso2_jwks_listing_one_key_under_several_kids_verifies_by_either(server, keys):
    """WSO2 publishes one key several times with different kid suffixes (identity-providers.md)."""
    key = keys["RS256"]
    thumb = "NTAxZmMxNDMyZDg3MTU1ZGM0MzEzODJhZWI4NDNlZDU1OGFkNjFiMQ"
    server.put_jwks("/oauth2/jwks", [{**key.public_jwk, "kid": thumb, "x5t": "bogus"},
                                     {**key.public_jwk, "kid": f"{thumb}_RS256", "x5t#S256": "bogus"},
                                     {**key.public_jwk, "kid": f"{thumb}_RS256"}])
    verifier = TokenVerifier(parse_issuers([{"provider": "wso2", "base_url": server.root, "audience": "c"}]),
                             remembered_tokens=0)
    iss = f"{server.root}/oauth2/token"
    for kid in (thumb, f"{thumb}_RS256"):
        assert reason_of(verifier, key.sign(claims_for(iss, "c"), kid=kid, typ="at+jwt")) == "ok", kid


# --- Amazon Cognito -------------------------------------------------------------------------------------------
def cognito_access(iss: str, client_id: str = "app-client-1", **extra: Any) -> dict[str, Any]:
    """A Cognito access token: token_use access, client_id, no aud (identity-providers.md, Cognito docs)."""
    return claims_for(iss, audience=None, token_use="access", client_id=client_id, scope="orders/read",
                      username="alice", **{"cognito:groups": ["admins"], **extra})


def cognito_id(iss: str, client_id: str = "app-client-1", **extra: Any) -> dict[str, Any]:
    return claims_for(iss, audience=client_id, token_use="id", email="alice@example.com",
                      **{"cognito:username": "alice", "cognito:groups": ["admins"], **extra})


@pytest.fixture
def cognito(provider_verifier) -> TokenVerifier:
    return provider_verifier({"provider": "cognito", "user_pool_id": POOL, "client_ids": ["app-client-1"]},
                             f"/{POOL}/.well-known/jwks.json")


def test_cognito_access_token_of_a_configured_client_is_accepted(cognito, server, keys):
    iss = f"{server.root}/{POOL}"
    assert reason_of(cognito, keys["RS256"].sign(cognito_access(iss))) == "ok"
    assert reason_of(cognito, keys["RS256"].sign(cognito_access(iss, client_id="other"))) == "audience_mismatch"
    no_client = cognito_access(iss)
    del no_client["client_id"]
    assert reason_of(cognito, keys["RS256"].sign(no_client)) == "missing_claim"


def test_cognito_token_use_is_enforced_both_ways(cognito, provider_verifier, server, keys):
    iss = f"{server.root}/{POOL}"
    assert reason_of(cognito, keys["RS256"].sign(cognito_id(iss))) == "token_use_mismatch"
    ids = provider_verifier({"provider": "cognito", "user_pool_id": POOL, "client_ids": "app-client-1",
                             "token_use": "id"}, f"/{POOL}/.well-known/jwks.json")
    assert reason_of(ids, keys["RS256"].sign(cognito_id(iss))) == "ok"
    assert reason_of(ids, keys["RS256"].sign(cognito_id(iss, client_id="other"))) == "audience_mismatch"
    assert reason_of(ids, keys["RS256"].sign(cognito_access(iss))) == "token_use_mismatch"


def test_cognito_resource_binding_audience_is_checked_on_access_tokens(provider_verifier, server, keys):
    verifier = provider_verifier({"provider": "cognito", "user_pool_id": POOL, "client_ids": ["app-client-1"],
                                  "audience": "https://api.example.com/orders"}, f"/{POOL}/.well-known/jwks.json")
    iss = f"{server.root}/{POOL}"
    bound = cognito_access(iss, aud="https://api.example.com/orders")
    assert reason_of(verifier, keys["RS256"].sign(bound)) == "ok"
    assert reason_of(verifier, keys["RS256"].sign(cognito_access(iss))) == "missing_claim"
    assert reason_of(verifier, keys["RS256"].sign({**bound, "client_id": "other"})) == "audience_mismatch"


def test_cognito_presets_accept_both_issuer_forms_with_their_own_keys():
    issuers = parse_issuers([{"provider": "cognito", "user_pool_id": POOL, "client_ids": ["c"]}])
    assert [(i.issuer, i.jwks_uri) for i in issuers] == [
        (f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}",
         f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}/.well-known/jwks.json"),
        (f"https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL}",
         f"https://issuer-cognito-idp.us-east-1.amazonaws.com/{POOL}/.well-known/jwks.json")]
    assert all(i.algorithms == ("RS256",) and i.client_ids == ("c",) for i in issuers)


def test_cognito_groups_are_usable_in_claim_rules(server, keys, logs):
    server.put_jwks(f"/{POOL}/.well-known/jwks.json", [keys["RS256"]])
    config = load_config({
        "AUTH_ISSUERS": json.dumps([{"provider": "cognito", "user_pool_id": POOL, "client_ids": ["app-client-1"],
                                     "base_url": server.root}]),
        "AUTH_ROUTES": json.dumps({"GET /admin": {"claims": {"cognito:groups": "admins"}}}),
        "AUTH_RESPONSE": "simple"})
    authorizer = Authorizer(config, logger=logs.logger)
    iss = f"{server.root}/{POOL}"
    admin = keys["RS256"].sign(cognito_access(iss))
    reader = keys["RS256"].sign(cognito_access(iss, **{"cognito:groups": ["readers"]}))
    assert authorizer.authorize(http_v2_event(admin, route_key="GET /admin", per_route=True))["isAuthorized"] is True
    assert authorizer.authorize(http_v2_event(reader, route_key="GET /admin", per_route=True)) == {"isAuthorized": False}


# --- Microsoft Entra ID ---------------------------------------------------------------------------------------
@pytest.fixture
def entra(provider_verifier) -> TokenVerifier:
    return provider_verifier({"provider": "entra", "tenant_id": TENANT,
                              "audience": ["api://orders", "6e74172b-be56-4843-9ff4-e66a39bb12e3"]},
                             f"/{TENANT}/discovery/v2.0/keys")


def test_entra_v1_and_v2_tokens_of_one_tenant_are_accepted(entra, server, keys):
    v2 = claims_for(f"{server.root}/{TENANT}/v2.0", "6e74172b-be56-4843-9ff4-e66a39bb12e3", ver="2.0",
                    tid=TENANT, azp="client", scp="Orders.Read", roles=["Orders.Admin"])
    v1 = claims_for(f"{server.root}/{TENANT}/", "api://orders", ver="1.0", tid=TENANT, appid="client",
                    roles=["Orders.Admin"])
    assert reason_of(entra, keys["RS256"].sign(v2)) == "ok"
    assert reason_of(entra, keys["RS256"].sign(v1)) == "ok"
    other_tenant = {**v2, "iss": f"{server.root}/00000000-0000-0000-0000-000000000000/v2.0"}
    assert reason_of(entra, keys["RS256"].sign(other_tenant)) == "unknown_issuer"
    assert reason_of(entra, keys["RS256"].sign({**v2, "aud": "api://another"})) == "audience_mismatch"


def test_entra_scp_and_roles_both_decide_routes(server, keys, logs):
    server.put_jwks(f"/{TENANT}/discovery/v2.0/keys", [keys["RS256"]])
    config = load_config({
        "AUTH_ISSUERS": json.dumps([{"provider": "entra", "tenant_id": TENANT, "audience": "api://orders",
                                     "base_url": server.root}]),
        "AUTH_ROUTES": json.dumps({"GET /orders": ["Orders.Read"],
                                   "DELETE /orders/{id}": {"claims": {"roles": "Orders.Admin"}}}),
        "AUTH_RESPONSE": "simple"})
    authorizer = Authorizer(config, logger=logs.logger)
    delegated = keys["RS256"].sign(claims_for(f"{server.root}/{TENANT}/", "api://orders", scp="Orders.Read"))
    app_only = keys["RS256"].sign(claims_for(f"{server.root}/{TENANT}/v2.0", "api://orders",
                                             roles=["Orders.Admin"]))
    assert authorizer.authorize(http_v2_event(delegated, route_key="GET /orders", per_route=True))["isAuthorized"] is True
    assert authorizer.authorize(http_v2_event(delegated, route_key="DELETE /orders/{id}", per_route=True))["isAuthorized"] is False
    assert authorizer.authorize(http_v2_event(app_only, route_key="DELETE /orders/{id}", per_route=True))["isAuthorized"] is True
    assert authorizer.authorize(http_v2_event(app_only, route_key="GET /orders", per_route=True))["isAuthorized"] is False


def test_entra_preset_issuers_and_keys():
    issuers = parse_issuers([{"provider": "entra", "tenant_id": TENANT, "audience": "api://orders"}])
    assert [i.issuer for i in issuers] == [f"https://login.microsoftonline.com/{TENANT}/v2.0",
                                           f"https://sts.windows.net/{TENANT}/"]
    assert {i.jwks_uri for i in issuers} == {f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"}
    assert all(i.require_audience and i.algorithms == ("RS256",) for i in issuers)


# --- bad presets fail naming the field --------------------------------------------------------------------------
@pytest.mark.parametrize("spec, field", [
    ({"provider": "cognito", "user_pool_id": "AbC123", "client_ids": ["c"]}, "AUTH_ISSUERS[0].user_pool_id"),
    ({"provider": "cognito", "user_pool_id": "us-east-1-AbC", "client_ids": ["c"]}, "AUTH_ISSUERS[0].user_pool_id"),
    ({"provider": "cognito", "user_pool_id": "us-east-1_AbC\n", "client_ids": ["c"]},
     "AUTH_ISSUERS[0].user_pool_id"),
    ({"provider": "cognito", "user_pool_id": POOL}, "AUTH_ISSUERS[0].client_ids"),
    ({"provider": "cognito", "user_pool_id": POOL, "client_ids": []}, "AUTH_ISSUERS[0].client_ids"),
    ({"provider": "cognito", "user_pool_id": POOL, "client_ids": ["c"], "token_use": "refresh"},
     "AUTH_ISSUERS[0].token_use"),
    ({"provider": "entra", "tenant_id": "not a tenant", "audience": "api://x"}, "AUTH_ISSUERS[0].tenant_id"),
    ({"provider": "entra", "tenant_id": "72f988bf-86f1-41af-91ab", "audience": "api://x"},
     "AUTH_ISSUERS[0].tenant_id"),
    ({"provider": "entra", "tenant_id": TENANT}, "AUTH_ISSUERS[0].audience"),
    ({"provider": "entra", "tenant_id": TENANT, "audience": "x", "client_ids": ["c"]},
     "AUTH_ISSUERS[0].client_ids"),
    ({"provider": "descope", "project_id": PROJECT, "require_audience": "yes"}, "AUTH_ISSUERS[0].require_audience"),
    ({"provider": "descope", "project_id": PROJECT, "issuer_forms": ["agentic", "mcp"]},
     "AUTH_ISSUERS[0].issuer_forms"),
])
def test_bad_presets_fail_the_cold_start_naming_the_field(spec, field):
    with pytest.raises(ConfigError) as failure:
        load_config({"AUTH_ISSUERS": json.dumps([spec])})
    assert failure.value.field == field


@pytest.mark.parametrize("tenant", ["contoso.onmicrosoft.com", "contoso.com", "common", "organizations"])
def test_entra_refuses_a_domain_as_tenant_and_says_where_to_find_the_guid(tenant):
    # Entra writes the tenant's GUID into every token's iss: an issuer built from a domain matches no token.
    with pytest.raises(ConfigError) as failure:
        parse_issuers([{"provider": "entra", "tenant_id": tenant, "audience": "x"}])
    assert failure.value.field == "AUTH_ISSUERS[0].tenant_id"
    problem = failure.value.problem
    assert "GUID" in problem and "Overview" in problem and "Tenant ID" in problem and "tid" in problem
    if "." in tenant:
        assert f"https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration" in problem


def test_entra_tenant_guid_in_capitals_is_written_as_tokens_carry_it():
    issuers = parse_issuers([{"provider": "entra", "tenant_id": TENANT.upper(), "audience": "x"}])
    assert [i.issuer for i in issuers] == [f"https://login.microsoftonline.com/{TENANT}/v2.0",
                                           f"https://sts.windows.net/{TENANT}/"]
    assert {i.jwks_uri for i in issuers} == {f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"}


# --- Entra limited to v2 tokens ----------------------------------------------------------------------------------
V2_ONLY = {"provider": "entra", "tenant_id": TENANT, "audience": "api://orders", "token_versions": ["2.0"]}


def test_entra_limited_to_v2_tokens_trusts_the_v2_issuer_only():
    [issuer] = parse_issuers([V2_ONLY])
    assert issuer.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert issuer.jwks_uri == f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"
    [v1] = parse_issuers([{**V2_ONLY, "token_versions": ["1.0"]}])
    assert v1.issuer == f"https://sts.windows.net/{TENANT}/"
    default = {name: value for name, value in V2_ONLY.items() if name != "token_versions"}
    both = [i.issuer for i in parse_issuers([{**V2_ONLY, "token_versions": ["1.0", "2.0"]}])]
    assert both == [i.issuer for i in parse_issuers([default])] == [f"https://login.microsoftonline.com/{TENANT}/v2.0",
                                                                     f"https://sts.windows.net/{TENANT}/"]


def test_entra_limited_to_v2_tokens_denies_a_v1_token_of_the_same_tenant(provider_verifier, server, keys):
    verifier = provider_verifier(V2_ONLY, f"/{TENANT}/discovery/v2.0/keys")
    v2 = claims_for(f"{server.root}/{TENANT}/v2.0", "api://orders", ver="2.0", tid=TENANT)
    v1 = claims_for(f"{server.root}/{TENANT}/", "api://orders", ver="1.0", tid=TENANT)
    assert reason_of(verifier, keys["RS256"].sign(v2)) == "ok"
    assert reason_of(verifier, keys["RS256"].sign(v1)) == "unknown_issuer"


def test_entra_v2_only_is_read_alike_from_auth_issuers_and_the_ssm_parameter():
    from authorizer.remote_config import parse_parameter

    from_environment = load_config({"AUTH_ISSUERS": json.dumps([V2_ONLY])})
    from_parameter = parse_parameter({"issuers": [V2_ONLY]}, from_environment)
    for config in (from_environment, from_parameter):
        assert [i.issuer for i in config.issuers] == [f"https://login.microsoftonline.com/{TENANT}/v2.0"]


@pytest.mark.parametrize("versions", [[], ["3.0"], ["2"], [2.0], "2.0", ["2.0", "v1"], None])
def test_entra_token_versions_must_be_a_list_of_1_0_and_2_0(versions):
    with pytest.raises(ConfigError) as failure:
        load_config({"AUTH_ISSUERS": json.dumps([{**V2_ONLY, "token_versions": versions}])})
    assert failure.value.field == "AUTH_ISSUERS[0].token_versions"
    assert '"1.0"' in failure.value.problem and '"2.0"' in failure.value.problem

