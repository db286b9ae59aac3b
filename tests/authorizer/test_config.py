"""Configuration: provider presets expand to the issuers the providers really use; bad config names its field."""

from __future__ import annotations

import json

import pytest

from authorizer.config import SUPPORTED_ALGORITHMS, RouteRule, load_config, parse_issuers, parse_routes
from authorizer.errors import ConfigError


def issuers_of(spec: dict) -> list:
    return list(parse_issuers([spec]))


def test_descope_preset_accepts_all_four_issuer_forms_with_one_key_source():
    issuers = issuers_of({"provider": "descope", "project_id": "P2abc"})
    assert [i.issuer for i in issuers] == [
        "https://api.descope.com/P2abc", "https://api.descope.com/v1/apps/P2abc", "P2abc",
        "https://api.descope.com/v1/apps/agentic/P2abc/"]
    assert [i.issuer_match for i in issuers] == ["exact", "exact", "exact", "one_more_segment"]
    assert {i.jwks_uri for i in issuers} == {"https://api.descope.com/v2/keys/P2abc"}
    assert {i.key_source for i in issuers} == {("https://api.descope.com/v2/keys/P2abc", None, None)}
    assert all(i.audiences == ("P2abc",) and not i.require_audience for i in issuers)


def test_descope_regional_project_uses_its_regional_host():
    project = "Peuc12345678901234567890123456789"  # 32+ characters: a regional project
    issuers = issuers_of({"provider": "descope", "project_id": project, "issuer_forms": ["url"]})
    assert [i.issuer for i in issuers] == [f"https://api.euc1.descope.com/{project}"]
    assert issuers[0].jwks_uri == f"https://api.euc1.descope.com/v2/keys/{project}"


def test_descope_issuer_forms_can_be_restricted_and_base_url_overridden():
    issuers = issuers_of({"provider": "descope", "project_id": "P2abc", "issuer_forms": ["url"],
                          "base_url": "http://127.0.0.1:8080/descope", "audience": ["P2abc", "other"]})
    assert [(i.issuer, i.jwks_uri, i.audiences) for i in issuers] == [
        ("http://127.0.0.1:8080/descope/P2abc", "http://127.0.0.1:8080/descope/v2/keys/P2abc", ("P2abc", "other"))]


def test_passage_preset_accepts_the_documented_and_the_bare_issuer_with_rs256_only():
    issuers = issuers_of({"provider": "passage", "app_id": "app123"})
    assert [i.issuer for i in issuers] == ["https://auth.passage.id/v1/apps/app123", "app123"]
    assert {i.jwks_uri for i in issuers} == {"https://auth.passage.id/v1/apps/app123/.well-known/jwks.json"}
    assert all(i.audiences == ("app123",) and i.algorithms == ("RS256",) for i in issuers)


def test_wso2_preset_with_tenant_and_self_signed_ca_bundle():
    (issuer,) = issuers_of({"provider": "wso2", "base_url": "https://is.internal:9443", "tenant": "acme",
                            "audience": "client-1", "ca_bundle": "/opt/wso2-ca.pem"})
    assert issuer.issuer == "https://is.internal:9443/t/acme/oauth2/token"
    assert issuer.jwks_uri == "https://is.internal:9443/t/acme/oauth2/jwks"
    assert issuer.audiences == ("client-1",)
    assert issuer.key_source == ("https://is.internal:9443/t/acme/oauth2/jwks", "/opt/wso2-ca.pem", None)


def test_wso2_preset_without_tenant():
    (issuer,) = issuers_of({"provider": "wso2", "base_url": "https://is.example.com:9443/", "audience": "c"})
    assert (issuer.issuer, issuer.jwks_uri) == ("https://is.example.com:9443/oauth2/token",
                                                "https://is.example.com:9443/oauth2/jwks")


def test_oidc_preset_uses_discovery_when_no_jwks_uri_is_given():
    (issuer,) = issuers_of({"provider": "oidc", "issuer": "https://tenant.auth0.com/", "audience": "api"})
    assert issuer.jwks_uri is None
    assert issuer.key_source == ("https://tenant.auth0.com/.well-known/openid-configuration", None,
                                 "https://tenant.auth0.com/")
    assert issuer.algorithms == SUPPORTED_ALGORITHMS


@pytest.mark.parametrize("spec, field", [
    ({"provider": "descope"}, "AUTH_ISSUERS[0].project_id"),
    ({"provider": "descope", "project_id": "a/b"}, "AUTH_ISSUERS[0].project_id"),
    ({"provider": "descope", "project_id": "P", "issuer_forms": ["weird"]}, "AUTH_ISSUERS[0].issuer_forms"),
    ({"provider": "passage"}, "AUTH_ISSUERS[0].app_id"),
    ({"provider": "wso2", "audience": "c"}, "AUTH_ISSUERS[0].base_url"),
    ({"provider": "wso2", "base_url": "https://x"}, "AUTH_ISSUERS[0].audience"),
    ({"provider": "okta", "issuer": "https://x"}, "AUTH_ISSUERS[0].provider"),
    ({"provider": "oidc", "issuer": "https://x", "audience": "a", "project_id": "p"}, "AUTH_ISSUERS[0].project_id"),
    ({"issuer": "https://x", "audiance": "a"}, "AUTH_ISSUERS[0].audiance"),
    ({"issuer": "https://x"}, "AUTH_ISSUERS[0].audience"),
    ({"issuer": "https://x", "audience": []}, "AUTH_ISSUERS[0].audience"),
    ({"issuer": "https://x", "audience": 7}, "AUTH_ISSUERS[0].audience"),
    ({"issuer": "", "audience": "a"}, "AUTH_ISSUERS[0].issuer"),
    ({"issuer": "http://idp.example.com", "audience": "a"}, "AUTH_ISSUERS[0].issuer"),
    ({"issuer": "x", "audience": "a", "jwks_uri": "ftp://x/jwks"}, "AUTH_ISSUERS[0].jwks_uri"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["HS256"]}, "AUTH_ISSUERS[0].algorithms"),
    ({"issuer": "https://x", "audience": "a", "algorithms": ["none"]}, "AUTH_ISSUERS[0].algorithms"),
    ({"issuer": "https://x", "audience": "a", "algorithms": []}, "AUTH_ISSUERS[0].algorithms"),
    ({"issuer": "https://x", "audience": "a", "token_types": 5}, "AUTH_ISSUERS[0].token_types"),
    ({"issuer": "https://x", "audience": "a", "jwks_uri": "https://user:pw@x/jwks"}, "AUTH_ISSUERS[0].jwks_uri"),
    ("https://x", "AUTH_ISSUERS[0]"),
])
def test_bad_issuer_names_the_field(spec, field):
    with pytest.raises(ConfigError) as caught:
        parse_issuers([spec])
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ": ")


def test_loopback_http_issuers_are_allowed_for_local_runs():
    for host in ("127.0.0.1:8080", "localhost", "[::1]:9000", "127.0.0.9"):
        (issuer,) = parse_issuers([{"issuer": f"http://{host}/idp", "audience": "a"}])
        assert issuer.jwks_uri is None


def test_the_same_issuer_twice_is_refused():
    with pytest.raises(ConfigError) as caught:
        parse_issuers([{"issuer": "https://a", "audience": "x"}, {"provider": "oidc", "issuer": "https://a", "audience": "y"}])
    assert caught.value.field == "AUTH_ISSUERS[1]"


def test_routes_accept_the_shorthand_and_the_full_rule():
    rules = parse_routes({"GET /orders": ["orders:read"], "ANY /admin/{proxy+}": {"claims": {"roles": ["admin", "ops"]}},
                          "$default": [], "GET /": {"scopes": ["a"], "claims": {"tier": 1}}})
    assert rules["GET /orders"].scopes == ("orders:read",)
    assert rules["ANY /admin/{proxy+}"].claims == (("roles", ("admin", "ops")),)
    assert rules["GET /"].claims == (("tier", (1,)),)
    assert rules["$default"] == RouteRule("$default")


@pytest.mark.parametrize("routes, field", [
    ({"GET orders": []}, "AUTH_ROUTES['GET orders']"),
    ({"FETCH /x": []}, "AUTH_ROUTES['FETCH /x']"),
    ({"GET /a/{proxy+}/b": []}, "AUTH_ROUTES['GET /a/{proxy+}/b']"),
    ({"GET /a/{bad": []}, "AUTH_ROUTES['GET /a/{bad']"),
    ({"GET /x": "orders:read"}, "AUTH_ROUTES['GET /x']"),
    ({"GET /x": {"scope": ["a"]}}, "AUTH_ROUTES['GET /x'].scope"),
    ({"GET /x": {"claims": {"roles": []}}}, "AUTH_ROUTES['GET /x'].claims.roles"),
    ({"GET /x": {"claims": {"roles": {"a": 1}}}}, "AUTH_ROUTES['GET /x'].claims.roles"),
    ([], "AUTH_ROUTES"),
])
def test_bad_route_names_the_field(routes, field):
    with pytest.raises(ConfigError) as caught:
        parse_routes(routes)
    assert caught.value.field == field


def test_empty_variables_mean_their_defaults():
    config = load_config({"AUTH_ISSUERS": json.dumps([{"issuer": "https://a", "audience": "x"}]),
                          "AUTH_ROUTES": "", "AUTH_RESPONSE": "", "AUTH_LEEWAY_SECONDS": "", "AUTH_TOKEN_COOKIE": ""})
    assert (config.routes, config.response, config.leeway_seconds, config.token_cookie) == ({}, "iam", 60, None)


def test_a_non_https_issuer_error_names_the_issuer_as_configured():
    with pytest.raises(ConfigError) as caught:
        parse_issuers([{"issuer": "http://idp.example.com", "audience": "a"}])
    assert "'http://idp.example.com'" in caught.value.problem and "well-known" not in caught.value.problem


def test_environment_defaults_match_the_design():
    config = load_config({"AUTH_ISSUERS": json.dumps([{"issuer": "https://a", "audience": "x"}])})
    assert (config.leeway_seconds, config.response, config.token_cookie) == (60, "iam", None)
    assert (config.jwks_timeout_seconds, config.jwks_max_age_seconds, config.jwks_cooldown_seconds) == (1.5, 3600, 30)
    assert config.routes == {} and config.config_parameter is None


@pytest.mark.parametrize("env, field", [
    ({}, "AUTH_ISSUERS"),
    ({"AUTH_ISSUERS": "[{"}, "AUTH_ISSUERS"),
    ({"AUTH_ISSUERS": "{}"}, "AUTH_ISSUERS"),
    ({"AUTH_ISSUERS": "[]"}, "AUTH_ISSUERS"),
    ({"AUTH_ROUTES": "nope"}, "AUTH_ROUTES"),
    ({"AUTH_RESPONSE": "json"}, "AUTH_RESPONSE"),
    ({"AUTH_LEEWAY_SECONDS": "1.5"}, "AUTH_LEEWAY_SECONDS"),
    ({"AUTH_LEEWAY_SECONDS": "-1"}, "AUTH_LEEWAY_SECONDS"),
    ({"AUTH_JWKS_TIMEOUT_SECONDS": "nan"}, "AUTH_JWKS_TIMEOUT_SECONDS"),
    ({"AUTH_JWKS_TIMEOUT_SECONDS": "60"}, "AUTH_JWKS_TIMEOUT_SECONDS"),
    ({"AUTH_JWKS_MAX_AGE_SECONDS": "0"}, "AUTH_JWKS_MAX_AGE_SECONDS"),
    ({"AUTH_JWKS_COOLDOWN_SECONDS": "x"}, "AUTH_JWKS_COOLDOWN_SECONDS"),
    ({"AUTH_JWKS_COOLDOWN_SECONDS": "0"}, "AUTH_JWKS_COOLDOWN_SECONDS"),  # every forged kid would cost a fetch
    ({"AUTH_TOKEN_COOKIE": "a b"}, "AUTH_TOKEN_COOKIE"),
])
def test_bad_environment_names_the_variable(env, field):
    base = {"AUTH_ISSUERS": json.dumps([{"issuer": "https://a", "audience": "x"}])} if field != "AUTH_ISSUERS" else {}
    with pytest.raises(ConfigError) as caught:
        load_config({**base, **env})
    assert caught.value.field == field


# --- configuration that cannot mean two things (issue 17) ------------------------------------------------------------
def test_a_route_key_given_twice_in_auth_routes_is_an_error_naming_it():
    """The second copy, without the tenant rule, would otherwise silently drop the tenant check."""
    routes = ('{"GET /tenants/{t}/orders": {"tenant": {"param": "t"}},'
              ' "GET /tenants/{t}/orders": {"scopes": []}}')
    with pytest.raises(ConfigError) as failure:
        load_config({"AUTH_ISSUERS": json.dumps([{"issuer": "https://idp.example.com", "audience": "api"}]),
                     "AUTH_ROUTES": routes})
    assert failure.value.field == "AUTH_ROUTES"
    assert failure.value.problem == "names 'GET /tenants/{t}/orders' twice in one object; give each key once"


def test_a_field_given_twice_in_an_issuer_is_an_error_too():
    issuers = '[{"issuer": "https://idp.example.com", "audience": "api", "audience": "other"}]'
    with pytest.raises(ConfigError) as failure:
        load_config({"AUTH_ISSUERS": issuers})
    assert failure.value.field == "AUTH_ISSUERS" and "'audience' twice" in failure.value.problem


@pytest.mark.parametrize("rule, field", [
    ({"scopes": "items:read"}, "AUTH_ROUTES['GET /items/{t}'].scopes"),
    ({"tenant": {"param": "t", "roles": "admin"}}, "AUTH_ROUTES['GET /items/{t}'].tenant.roles"),
    ({"tenant": {"param": "t", "permissions": "items:read"}}, "AUTH_ROUTES['GET /items/{t}'].tenant.permissions"),
])
def test_scopes_roles_and_permissions_must_be_lists_never_a_bare_string(rule, field):
    """A bare string read as a list of characters would let a token whose scope is just "a" through."""
    with pytest.raises(ConfigError) as failure:
        parse_routes({"GET /items/{t}": rule})
    assert failure.value.field == field
    assert "must be a list of strings, not a string: write [" in failure.value.problem


def test_a_list_of_scopes_is_still_one_scope_each():
    assert parse_routes({"GET /items": {"scopes": ["items:read"]}})["GET /items"].scopes == ("items:read",)
