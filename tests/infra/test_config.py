"""cdk.json context → StackConfig: defaults, -c strings, and one test per configuration error, naming the key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from authorizer.config import load_config, parse_routes
from infra import config as infra_config
from infra.cdk_app import cdk_json_context
from infra.config import (
    DEFAULT_ROUTES,
    ConfigError,
    ConfigParameter,
    load_stack_config,
)

from .config_support import OIDC, error_field, load


# --- defaults and shapes ------------------------------------------------------------------------------------
def test_defaults_are_lambda_mode_the_sample_routes_and_a_five_minute_cache() -> None:
    config = load()
    auth = config.authorization
    assert auth.mode == "lambda"
    assert auth.cache_ttl_seconds == 300
    assert auth.lambda_response == "iam"
    assert [r.route_key for r in auth.routes] == ["GET /hello", "GET /orders", "POST /orders",
                                                  "GET /tenants/{tenantId}/orders", "GET /health", "ANY /mcp"]
    assert [r.route_key for r in auth.protected_routes] == ["GET /hello", "GET /orders", "POST /orders",
                                                            "GET /tenants/{tenantId}/orders", "ANY /mcp"]
    assert [r.route_key for r in auth.mcp_routes] == ["ANY /mcp"]
    assert [r.route_key for r in auth.tenant_routes] == ["GET /tenants/{tenantId}/orders"]
    assert config.log_retention_days == 30
    assert config.throttle.rate_limit > 0 and config.throttle.burst_limit > 0


def test_cdk_json_context_is_valid_and_lists_the_sample_routes() -> None:
    context = cdk_json_context()
    config = load_stack_config(context.get)
    assert context["routes"] == [dict(r) for r in DEFAULT_ROUTES]
    assert config.authorization.mode == context["authorizer"]


def test_cli_strings_give_the_same_config_as_json_values() -> None:
    """``-c issuers='[...]' -c cacheTtlSeconds=60`` arrives as strings; cdk.json as JSON."""
    as_json = {"authorizer": "lambda", "issuers": [OIDC], "routes": [{"method": "GET", "path": "/x"}],
               "cacheTtlSeconds": 60, "throttle": {"rateLimit": 5, "burstLimit": 10}, "logRetentionDays": 7,
               "configParameter": True, "configMaxAgeSeconds": 90, "tracing": True}
    as_strings = {k: v if isinstance(v, str) else json.dumps(v) for k, v in as_json.items()}
    assert load_stack_config(as_strings.get) == load_stack_config(as_json.get)


def test_auth_routes_hold_rules_of_protected_routes_only_and_round_trip() -> None:
    routes = [
        {"method": "GET", "path": "/hello"},
        {"method": "get", "path": "/orders/{id}", "scopes": ["orders:read"]},
        {"method": "ANY", "path": "/admin/{proxy+}", "claims": {"roles": ["admin", "owner"], "email_verified": True}},
        {"method": "GET", "path": "/health", "public": True},
    ]
    auth = load(routes=routes).authorization
    assert auth.auth_routes() == {
        "GET /orders/{id}": {"scopes": ["orders:read"]},
        "ANY /admin/{proxy+}": {"scopes": [], "claims": {"roles": ["admin", "owner"], "email_verified": True}},
    }
    parsed = parse_routes(json.loads(json.dumps(auth.auth_routes())))
    assert parsed["GET /orders/{id}"].scopes == ("orders:read",)
    assert dict(parsed["ANY /admin/{proxy+}"].claims) == {"roles": ("admin", "owner"), "email_verified": (True,)}


# --- tenant rules -------------------------------------------------------------------------------------------
TENANT_ROUTE = {"method": "GET", "path": "/tenants/{tenantId}/orders",
                "tenant": {"param": "tenantId", "roles": ["admin"], "permissions": ["orders:read"]}}


def test_a_tenant_rule_is_a_rule_and_reaches_auth_routes_as_the_lambda_reads_it() -> None:
    routes = [{"method": "GET", "path": "/hello"}, TENANT_ROUTE,
              {"method": "GET", "path": "/orgs/{org}/bills", "scopes": ["bills:read"],
               "tenant": {"param": "org", "claim": "org_id"}}]
    auth = load(routes=routes).authorization
    (_, tenant, org) = auth.routes
    assert tenant.has_rule and tenant.tenant is not None and tenant.tenant.roles == ("admin",)
    assert auth.auth_routes() == {
        "GET /tenants/{tenantId}/orders": {"scopes": [], "tenant": {
            "param": "tenantId", "claim": "tenants", "roles": ["admin"], "permissions": ["orders:read"]}},
        "GET /orgs/{org}/bills": {"scopes": ["bills:read"], "tenant": {"param": "org", "claim": "org_id"}},
    }
    read = load_config({"AUTH_ISSUERS": json.dumps([OIDC]), "AUTH_ROUTES": json.dumps(auth.auth_routes())}).routes
    rule = read["GET /tenants/{tenantId}/orders"].tenant
    assert rule is not None
    assert (rule.param, rule.claim, rule.roles, rule.permissions) == ("tenantId", "tenants", ("admin",),
                                                                      ("orders:read",))
    assert read["GET /orgs/{org}/bills"].tenant is not None and read["GET /orgs/{org}/bills"].tenant.claim == "org_id"
    assert org.tenant is not None and org.tenant.claim == "org_id"


def test_a_tenant_rule_goes_into_the_parameter_value() -> None:
    auth = load(routes=[TENANT_ROUTE], configParameter=True).authorization
    routes = json.loads(auth.parameter_value())["routes"]
    assert routes["GET /tenants/{tenantId}/orders"]["tenant"] == {
        "param": "tenantId", "claim": "tenants", "roles": ["admin"], "permissions": ["orders:read"]}
    assert parse_routes(routes, "routes")["GET /tenants/{tenantId}/orders"].tenant is not None


def test_a_tenant_rule_that_does_not_round_trip_through_auth_routes_fails_synthesis(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The check compares the tenant rule too: a rule the Lambda would read without its roles is refused."""
    monkeypatch.setattr(infra_config.TenantRule, "to_config", lambda rule: {"param": rule.param})
    problem = error_field(routes=[TENANT_ROUTE])
    assert problem.field == "routes" and "GET /tenants/{tenantId}/orders does not round-trip" in problem.problem


def test_a_tenant_rule_given_as_cli_text_is_the_same() -> None:
    assert load(routes=json.dumps([TENANT_ROUTE])) == load(routes=[TENANT_ROUTE])


@pytest.mark.parametrize(("path", "says"), [
    ("/tenants/{id}/orders", "route GET /tenants/{id}/orders has no path parameter {tenantId}"),
    ("/tenants/{tenantId+}", "greedy {tenantId+} may span several segments"),
])
def test_a_tenant_param_the_path_lacks_names_the_param_and_the_route(path: str, says: str) -> None:
    routes = [{"method": "GET", "path": "/x"}, {**TENANT_ROUTE, "path": path}]
    problem = error_field(routes=routes)
    assert problem.field == "routes[1].tenant.param" and says in problem.problem


@pytest.mark.parametrize(("tenant", "field"), [
    ({"param": "tenantId", "role": ["admin"]}, "routes[0].tenant.role"),
    ({"roles": ["admin"]}, "routes[0].tenant.param"),
    ({"param": "tenantId", "claim": ""}, "routes[0].tenant.claim"),
    ({"param": "tenantId", "roles": [""]}, "routes[0].tenant.roles"),
    ({"param": "tenantId", "permissions": [1]}, "routes[0].tenant.permissions"),
    ("tenantId", "routes[0].tenant"),
])
def test_a_bad_tenant_rule_names_its_field(tenant: Any, field: str) -> None:
    assert error_field(routes=[{**TENANT_ROUTE, "tenant": tenant}]).field == field


def test_a_public_route_with_a_tenant_rule_names_public() -> None:
    problem = error_field(routes=[{**TENANT_ROUTE, "public": True}])
    assert problem.field == "routes[0].public" and "tenant rule" in problem.problem


def test_jwt_mode_refuses_a_tenant_rule_naming_the_route_and_saying_why() -> None:
    routes = [{"method": "GET", "path": "/x"}, {"method": "GET", "path": "/y"}, TENANT_ROUTE]
    problem = error_field(authorizer="jwt", routes=routes)
    assert problem.field == "routes[2].tenant"
    assert "GET /tenants/{tenantId}/orders" in problem.problem
    assert "cannot compare a path parameter with a claim" in problem.problem and "authorizer=lambda" in problem.problem


def test_jwt_mode_refuses_the_shipped_tenant_route() -> None:
    """The sample's tenant route is lambda-only: jwt mode with cdk.json's routes stops, saying which route."""
    problem = error_field(authorizer="jwt", routes=list(DEFAULT_ROUTES))
    (index,) = [i for i, r in enumerate(DEFAULT_ROUTES) if "tenant" in r]
    assert problem.field == f"routes[{index}].tenant"


def test_lambda_mode_keeps_issuers_as_configured_for_the_lambda_to_expand() -> None:
    descope = {"provider": "descope", "project_id": "P2abc"}
    auth = load(issuers=[descope, OIDC]).authorization
    assert auth.issuers == (descope, OIDC)
    assert [i.issuer for i in auth.trusted_issuers] == [
        "https://api.descope.com/P2abc", "https://api.descope.com/v1/apps/P2abc", "P2abc",
        "https://api.descope.com/v1/apps/agentic/P2abc/", "https://idp.example.org"]


# --- one test per configuration error -----------------------------------------------------------------------
def test_unknown_authorizer_mode_names_authorizer() -> None:
    assert error_field(authorizer="cognito").field == "authorizer"


def test_missing_issuers_names_issuers() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_config({}.get)
    assert caught.value.field == "issuers"


def test_issuers_that_are_not_json_name_issuers() -> None:
    assert error_field(issuers="[{not json").field == "issuers"


def test_empty_issuer_list_names_issuers() -> None:
    assert error_field(issuers=[]).field == "issuers"


def test_issuer_without_audience_names_the_audience_field() -> None:
    assert error_field(issuers=[{"issuer": "https://idp.example.org"}]).field == "issuers[0].audience"


def test_misspelt_issuer_field_is_named() -> None:
    problem = error_field(issuers=[{"issuer": "https://idp.example.org", "audiance": "x"}])
    assert problem.field == "issuers[0].audiance"


def test_preset_without_its_id_names_it() -> None:
    assert error_field(issuers=[{"provider": "descope"}]).field == "issuers[0].project_id"


def test_routes_that_are_not_a_list_name_routes() -> None:
    assert error_field(routes={"GET /x": []}).field == "routes"


def test_empty_route_list_names_routes() -> None:
    assert error_field(routes=[]).field == "routes"


def test_route_with_unknown_method_names_the_route() -> None:
    assert error_field(routes=[{"method": "FETCH", "path": "/x"}]).field == "routes[0]"


def test_route_without_method_names_method() -> None:
    assert error_field(routes=[{"path": "/x"}]).field == "routes[0].method"


def test_route_path_without_slash_names_path() -> None:
    assert error_field(routes=[{"method": "GET", "path": "orders"}]).field == "routes[0].path"


def test_route_with_greedy_segment_before_the_end_names_the_route() -> None:
    assert error_field(routes=[{"method": "GET", "path": "/{proxy+}/x"}]).field == "routes[0]"


def test_duplicate_route_names_the_second() -> None:
    routes = [{"method": "GET", "path": "/x"}, {"method": "get", "path": "/x"}]
    problem = error_field(routes=routes)
    assert problem.field == "routes[1]" and "routes[0]" in problem.problem


def test_route_with_unknown_field_names_it() -> None:
    assert error_field(routes=[{"method": "GET", "path": "/x", "scope": ["a"]}]).field == "routes[0].scope"


def test_scopes_with_spaces_name_scopes() -> None:
    assert error_field(routes=[{"method": "GET", "path": "/x", "scopes": ["a b"]}]).field == "routes[0].scopes"


def test_claim_rule_with_an_object_value_names_the_claim() -> None:
    routes = [{"method": "GET", "path": "/x", "claims": {"tenant": {"id": 1}}}]
    assert error_field(routes=routes).field == "routes[0].claims.tenant"


def test_public_route_with_scopes_names_public() -> None:
    routes = [{"method": "GET", "path": "/x", "public": True, "scopes": ["a"]}]
    assert error_field(routes=routes).field == "routes[0].public"


def test_public_that_is_not_a_boolean_names_public() -> None:
    assert error_field(routes=[{"method": "GET", "path": "/x", "public": "yes"}]).field == "routes[0].public"


@pytest.mark.parametrize("ttl", [-1, 3601, "5m", 1.5, True])
def test_cache_ttl_outside_zero_to_an_hour_names_cache_ttl(ttl: Any) -> None:
    assert error_field(cacheTtlSeconds=ttl).field == "cacheTtlSeconds"


def test_unknown_lambda_response_names_it() -> None:
    assert error_field(lambdaResponse="policy").field == "lambdaResponse"


def test_bad_throttle_names_the_limit() -> None:
    assert error_field(throttle={"rateLimit": 0}).field == "throttle.rateLimit"
    assert error_field(throttle={"burst": 5}).field == "throttle.burst"


def test_unbounded_or_odd_log_retention_names_it() -> None:
    assert error_field(logRetentionDays=0).field == "logRetentionDays"
    assert error_field(logRetentionDays=31).field == "logRetentionDays"


def test_bad_stack_name_names_it() -> None:
    assert error_field(stackName="my stack").field == "stackName"


def test_jwt_mode_refuses_two_issuers() -> None:
    problem = error_field(authorizer="jwt", issuers=[OIDC, {"issuer": "https://other.example.org", "audience": "a"}])
    assert problem.field == "issuers" and "exactly one issuer" in problem.problem


def test_jwt_mode_narrows_one_descope_preset_instead_of_refusing_it() -> None:
    """One Descope preset is one configured issuer, though it expands to three ``iss`` forms."""
    assert load(authorizer="jwt", issuers=[{"provider": "descope", "project_id": "P2abc"}]).authorization.mode == "jwt"


def test_jwt_mode_refuses_descopes_bare_project_id_issuer_and_says_why() -> None:
    descope = {"provider": "descope", "project_id": "P2abc", "issuer_forms": ["bare"]}
    problem = error_field(authorizer="jwt", issuers=[descope])
    assert problem.field == "issuers[0].issuer_forms"
    assert "bare project-ID" in problem.problem and "AWS API Gateway" in problem.problem


def test_jwt_mode_refuses_a_non_https_issuer() -> None:
    """With its own https ``jwks_uri`` the Lambda could use this issuer; API Gateway's discovery cannot."""
    spec = {"issuer": "http://idp.example.org", "audience": "a", "jwks_uri": "https://idp.example.org/keys"}
    assert load(issuers=[spec]).authorization.mode == "lambda"
    problem = error_field(authorizer="jwt", issuers=[spec])
    assert problem.field == "issuers[0].issuer"
    assert problem.problem.startswith("jwt mode needs an https issuer URL")


def test_jwt_mode_refuses_a_bare_issuer_with_its_own_jwks_uri() -> None:
    spec = {"issuer": "my-tenant", "audience": "a", "jwks_uri": "https://idp.example.org/keys"}
    problem = error_field(authorizer="jwt", issuers=[spec])
    assert problem.field == "issuers[0].issuer" and "https issuer URL" in problem.problem


def test_jwt_mode_refuses_a_private_ca_bundle() -> None:
    spec = {**OIDC, "ca_bundle": "/var/task/ca.pem"}
    assert error_field(authorizer="jwt", issuers=[spec]).field == "issuers[0].ca_bundle"


def test_jwt_mode_refuses_token_type_checks_it_cannot_do() -> None:
    spec = {**OIDC, "token_types": ["at+jwt"]}
    assert error_field(authorizer="jwt", issuers=[spec]).field == "issuers[0].token_types"


def test_jwt_mode_refuses_ec_only_algorithms() -> None:
    spec = {**OIDC, "algorithms": ["ES256"]}
    assert error_field(authorizer="jwt", issuers=[spec]).field == "issuers[0].algorithms"


def test_jwt_mode_refuses_more_than_fifty_audiences() -> None:
    spec = {"issuer": "https://idp.example.org", "audience": [f"aud-{n}" for n in range(51)]}
    assert error_field(authorizer="jwt", issuers=[spec]).field == "issuers[0].audience"


def test_jwt_mode_refuses_claim_rules_naming_the_route() -> None:
    routes = [{"method": "GET", "path": "/x"}, {"method": "GET", "path": "/admin", "claims": {"role": "admin"}}]
    problem = error_field(authorizer="jwt", routes=routes)
    assert problem.field == "routes[1].claims" and "GET /admin" in problem.problem


def test_jwt_mode_refuses_more_than_ten_scopes_on_a_route() -> None:
    routes = [{"method": "GET", "path": "/x", "scopes": [f"s{n}" for n in range(11)]}]
    assert error_field(authorizer="jwt", routes=routes).field == "routes[0].scopes"


def test_lambda_mode_allows_what_jwt_mode_refuses() -> None:
    routes = [{"method": "GET", "path": "/x", "claims": {"role": "admin"}, "scopes": [f"s{n}" for n in range(11)]}]
    issuers = [OIDC, {"provider": "descope", "project_id": "P2abc", "issuer_forms": ["bare"]}]
    assert load(authorizer="lambda", issuers=issuers, routes=routes).authorization.mode == "lambda"


# --- configParameter, configMaxAgeSeconds, tracing ----------------------------------------------------------
def test_issuers_and_routes_stay_in_the_environment_and_tracing_off_by_default() -> None:
    config = load()
    assert config.authorization.config_parameter is None
    assert config.tracing is False


@pytest.mark.parametrize("value", [True, "true", "True"])
def test_config_parameter_true_creates_one_with_a_sixty_second_max_age(value: Any) -> None:
    parameter = load(configParameter=value).authorization.config_parameter
    assert parameter == ConfigParameter(existing_name=None, max_age_seconds=60)
    assert parameter.created


@pytest.mark.parametrize("value", [False, "false"])
def test_config_parameter_false_keeps_the_environment(value: Any) -> None:
    assert load(configParameter=value).authorization.config_parameter is None


@pytest.mark.parametrize("name", ["/shared/jwt/authorizer-config", "AuthorizerConfig", "/a_b.c-d"])
def test_config_parameter_names_an_existing_parameter(name: str) -> None:
    parameter = load(configParameter=name, configMaxAgeSeconds="300").authorization.config_parameter
    assert parameter == ConfigParameter(existing_name=name, max_age_seconds=300)
    assert not parameter.created


@pytest.mark.parametrize("value", ["", "shared/config", "/shared//config", "/with space", "/config/", 1, ["x"]])
def test_config_parameter_that_is_no_parameter_name_names_it(value: Any) -> None:
    assert error_field(configParameter=value).field == "configParameter"


@pytest.mark.parametrize("value", [True, "/shared/authorizer-config"])
def test_jwt_mode_refuses_config_parameter_and_says_why(value: Any) -> None:
    problem = error_field(authorizer="jwt", configParameter=value)
    assert problem.field == "configParameter"
    assert "jwt mode" in problem.problem and "native JWT authorizer" in problem.problem
    assert "authorizer=lambda" in problem.problem


@pytest.mark.parametrize("seconds", [0, 86401, "1m", 2.5, True])
def test_config_max_age_outside_a_second_to_a_day_names_it(seconds: Any) -> None:
    assert error_field(configParameter=True, configMaxAgeSeconds=seconds).field == "configMaxAgeSeconds"


def test_config_parameter_too_large_for_a_standard_parameter_names_it() -> None:
    routes = [{"method": "GET", "path": f"/resource-{n}/items/{{id}}", "scopes": [f"resource-{n}:read"]}
              for n in range(80)]
    problem = error_field(configParameter=True, routes=routes)
    assert problem.field == "configParameter" and "4096" in problem.problem
    assert load(configParameter=True, routes=routes[:40]).authorization.config_parameter is not None


def test_parameter_value_is_the_issuers_as_configured_and_the_auth_routes() -> None:
    descope = {"provider": "descope", "project_id": "P2abc"}
    auth = load(issuers=[descope], configParameter=True,
                routes=[{"method": "GET", "path": "/x", "scopes": ["x:read"]}]).authorization
    assert json.loads(auth.parameter_value()) == {"issuers": [descope], "routes": {"GET /x": {"scopes": ["x:read"]}}}


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", True), (False, False), ("false", False)])
def test_tracing_takes_a_boolean_or_its_cli_string(value: Any, expected: bool) -> None:
    assert load(tracing=value).tracing is expected


def test_tracing_that_is_not_a_boolean_names_it() -> None:
    assert error_field(tracing="yes").field == "tracing"


# --- tokenCookie -------------------------------------------------------------------------------------------
def test_token_cookie_is_unset_by_default() -> None:
    assert load().authorization.token_cookie is None
    assert load(tokenCookie="", cacheTtlSeconds=0).authorization.token_cookie is None


def test_token_cookie_with_caching_off_is_what_the_authorizer_reads() -> None:
    auth = load(tokenCookie="psg_auth_token", cacheTtlSeconds="0").authorization
    assert auth.token_cookie == "psg_auth_token"
    assert load_config({"AUTH_ISSUERS": json.dumps([OIDC]),
                        "AUTH_TOKEN_COOKIE": auth.token_cookie}).token_cookie == "psg_auth_token"


def test_token_cookie_with_a_cache_names_it_and_says_to_turn_caching_off() -> None:
    problem = error_field(tokenCookie="psg_auth_token")  # cacheTtlSeconds defaults to 300
    assert problem.field == "tokenCookie"
    assert "cacheTtlSeconds 0, got 300" in problem.problem and "identity source" in problem.problem


def test_token_cookie_in_jwt_mode_names_it() -> None:
    problem = error_field(authorizer="jwt", tokenCookie="psg_auth_token", cacheTtlSeconds=0)
    assert problem.field == "tokenCookie" and "authorizer=lambda" in problem.problem


@pytest.mark.parametrize("name", ["psg auth", "a;b", 5, ["psg_auth_token"]])
def test_token_cookie_that_is_no_cookie_name_names_it(name: Any) -> None:
    assert error_field(tokenCookie=name, cacheTtlSeconds=0).field == "tokenCookie"
