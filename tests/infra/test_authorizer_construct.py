"""``JwtAuthorization`` as a reusable construct: attached to a user's own ``HttpApi`` and routes, in both modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from infra import AuthorizationSettings, ConfigError, JwtAuthorization
from infra.authorizer_environment import (
    GENERATED_VARIABLES,
    identity_sources,
    lambda_environment,
)

from .conftest import SKIP_BUNDLING

OIDC = [{"provider": "oidc", "issuer": "https://idp.example.org", "audience": "orders-api"}]
ROUTES = [
    {"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
    {"method": "DELETE", "path": "/orders/{id}", "scopes": ["orders:admin"]},
    {"method": "GET", "path": "/ping", "public": True},
]


def existing_app(tmp_path: Path) -> tuple[App, Stack, apigwv2.HttpApi, dict[str, apigwv2.HttpRoute]]:
    """What a user already has: an API with routes to their own backend, no authorization yet."""
    app = App(context=SKIP_BUNDLING, outdir=str(tmp_path))
    stack = Stack(app, "Existing")
    api = apigwv2.HttpApi(stack, "Api")
    backend = integrations.HttpUrlIntegration("Backend", "https://backend.example.org/{proxy}")
    routes = {}
    for method, path in (("GET", "/orders"), ("DELETE", "/orders/{id}"), ("GET", "/ping")):
        (routes[f"{method} {path}"],) = api.add_routes(path=path, methods=[apigwv2.HttpMethod(method)],
                                                       integration=backend)
    return app, stack, api, routes


def route_props(template: Template) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["RouteKey"]: r["Properties"]
            for r in template.find_resources("AWS::ApiGatewayV2::Route").values()}


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_protect_attaches_the_authorizer_to_routes_the_user_created(tmp_path: Path, mode: str) -> None:
    app, stack, api, routes = existing_app(tmp_path)
    settings = AuthorizationSettings.create(mode=mode, issuers=OIDC, routes=ROUTES)
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings)
    for route in routes.values():
        auth.protect(route)
    template = Template.from_stack(stack)
    props = route_props(template)
    (authorizer_id,) = template.find_resources("AWS::ApiGatewayV2::Authorizer")
    expected_type = "CUSTOM" if mode == "lambda" else "JWT"
    for key in ("GET /orders", "DELETE /orders/{id}"):
        assert props[key]["AuthorizationType"] == expected_type
        assert props[key]["AuthorizerId"] == {"Ref": authorizer_id}
    if mode == "jwt":
        assert props["GET /orders"]["AuthorizationScopes"] == ["orders:read"]
        assert props["DELETE /orders/{id}"]["AuthorizationScopes"] == ["orders:admin"]
    else:
        assert "AuthorizationScopes" not in props["GET /orders"]
    assert props["GET /ping"]["AuthorizationType"] == "NONE"
    acknowledged = [m.data for m in routes["GET /ping"].node.metadata
                    if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
    assert acknowledged and "AwsSolutions::AwsSolutions-APIG4" in acknowledged[0]
    assert not [m for m in routes["GET /orders"].node.metadata
                if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY]


def nag_errors(report: Path) -> list[tuple[str, str]]:
    """(rule, construct path) of each cdk-nag error in a validation report."""
    found = json.loads(report.read_text())
    return [(v["ruleName"], c["constructPath"]) for plugin in found["pluginReports"] for v in plugin["violations"]
            if v["severity"] == "error" for c in v["violatingConstructs"]]


def add_routes_with_route_options(tmp_path: Path) -> App:
    """The documented pattern: the user's own ``add_routes`` with ``**auth.route_options(spec)``, cdk-nag on."""
    app = App(context=SKIP_BUNDLING, outdir=str(tmp_path))
    stack = Stack(app, "Existing")
    api = apigwv2.HttpApi(stack, "Api", create_default_stage=False)
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=AuthorizationSettings.create(
        mode="jwt", issuers=OIDC, routes=ROUTES))
    backend = integrations.HttpUrlIntegration("Backend", "https://backend.example.org/{proxy}")
    for spec in auth.settings.routes:
        api.add_routes(path=spec.path, methods=[apigwv2.HttpMethod(spec.method)], integration=backend,
                       **auth.route_options(spec))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def test_a_public_route_added_through_route_options_passes_cdk_nag(tmp_path: Path) -> None:
    app = add_routes_with_route_options(tmp_path)
    app.synth()
    assert nag_errors(tmp_path / "validation-report.json") == []
    ping = app.node.find_child("Existing").node.find_child("Api").node.find_child("GET--ping")
    (acknowledged,) = [m.data for m in ping.node.metadata if m.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
    assert "GET /ping" in acknowledged["AwsSolutions::AwsSolutions-APIG4"]


def test_without_the_acknowledgement_that_public_route_fails_apig4(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(JwtAuthorization, "acknowledge_public_route", lambda self, spec, route: None)
    app = add_routes_with_route_options(tmp_path)
    with pytest.raises(RuntimeError, match="AwsSolutions-APIG4"):
        app.synth()
    assert nag_errors(tmp_path / "validation-report.json") == [
        ("AwsSolutions-APIG4", "Existing/Api/GET--ping/Resource")]


def test_route_options_protect_routes_added_with_the_users_own_add_routes(tmp_path: Path) -> None:
    app, stack, api, _ = existing_app(tmp_path)
    settings = AuthorizationSettings.create(mode="jwt", issuers=OIDC,
                                            routes=[{"method": "PUT", "path": "/items", "scopes": ["items:write"]}])
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings)
    (spec,) = settings.routes
    api.add_routes(path="/items", methods=[apigwv2.HttpMethod.PUT],
                   integration=integrations.HttpUrlIntegration("Items", "https://backend.example.org/items"),
                   **auth.route_options(spec))
    props = route_props(Template.from_stack(stack))["PUT /items"]
    assert props["AuthorizationType"] == "JWT" and props["AuthorizationScopes"] == ["items:write"]


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_synthesis_fails_when_a_configured_route_is_left_unprotected(tmp_path: Path, mode: str) -> None:
    app, stack, api, routes = existing_app(tmp_path)
    settings = AuthorizationSettings.create(mode=mode, issuers=OIDC, routes=ROUTES)
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings)
    auth.protect(routes["GET /orders"])  # DELETE /orders/{id} forgotten
    with pytest.raises(Exception, match=r"DELETE /orders/\{id\} is configured as protected"):
        app.synth()


def test_synthesis_fails_when_a_configured_route_is_missing_from_the_api(tmp_path: Path) -> None:
    app = App(context=SKIP_BUNDLING, outdir=str(tmp_path))
    stack = Stack(app, "Existing")
    api = apigwv2.HttpApi(stack, "Api")
    JwtAuthorization(stack, "Auth", http_api=api, settings=AuthorizationSettings.create(issuers=OIDC, routes=ROUTES))
    with pytest.raises(Exception, match="GET /orders is configured but not on the API"):
        app.synth()


def test_protecting_an_unconfigured_route_names_the_route_list(tmp_path: Path) -> None:
    app, stack, api, routes = existing_app(tmp_path)
    settings = AuthorizationSettings.create(issuers=OIDC, routes=[{"method": "GET", "path": "/orders"}])
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings)
    with pytest.raises(ConfigError) as caught:
        auth.protect(routes["GET /ping"])
    assert caught.value.field == "routes" and "GET /ping" in caught.value.problem


def test_lambda_mode_construct_exposes_the_function_and_its_environment(tmp_path: Path) -> None:
    app, stack, api, routes = existing_app(tmp_path)
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES)
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings,
                            environment={"AUTH_LEEWAY_SECONDS": "30"})
    assert auth.function is not None and auth.http_authorizer is not None
    assert auth.environment is not None
    assert json.loads(auth.environment["AUTH_ISSUERS"]) == OIDC
    assert auth.environment["AUTH_LEEWAY_SECONDS"] == "30"


@pytest.mark.parametrize("name", sorted(GENERATED_VARIABLES))
def test_extra_lambda_environment_may_not_override_what_the_settings_generate(name: str) -> None:
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES)
    with pytest.raises(ConfigError) as caught:
        lambda_environment(settings, {"AUTH_LEEWAY_SECONDS": "30", name: "x"})
    assert caught.value.field == "environment"
    assert f"may not set {name} (from settings." in caught.value.problem


def test_the_construct_refuses_environment_that_overrides_generated_variables(tmp_path: Path) -> None:
    _, stack, api, _ = existing_app(tmp_path)
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES)
    with pytest.raises(ConfigError) as caught:
        JwtAuthorization(stack, "Auth", http_api=api, settings=settings,
                         environment={"AUTH_ROUTES": "{}", "AUTH_ISSUERS": "[]"})
    assert caught.value.field == "environment"
    assert "AUTH_ISSUERS (from settings.issuers), AUTH_ROUTES (from settings.routes)" in caught.value.problem


def test_extra_lambda_environment_is_checked_like_the_cold_start() -> None:
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES)
    with pytest.raises(ConfigError) as caught:
        lambda_environment(settings, {"AUTH_LEEWAY_SECONDS": "soon"})
    assert caught.value.field == "AUTH_LEEWAY_SECONDS"


def test_configuration_too_large_for_lambdas_environment_names_the_key() -> None:
    routes = [{"method": "GET", "path": f"/resource-{n}/items/{{id}}", "scopes": [f"resource-{n}:read"]}
              for n in range(80)]
    settings = AuthorizationSettings.create(issuers=OIDC, routes=routes)
    with pytest.raises(ConfigError) as caught:
        lambda_environment(settings)
    assert caught.value.field == "routes" and "4096" in caught.value.problem


@pytest.mark.parametrize(
    ("response", "ttl", "routes", "expected"),
    [
        # iam too (issue 10): the decision is the matched route's, so a cached answer must stay on that route
        ("iam", 300, ROUTES, ["$request.header.Authorization", "$context.routeKey"]),
        # Without a cache too (issue 17): the authorizer cannot tell, and reads the route key to know that its
        # answer holds for this route only (no other route's overlapping Deny; a simple answer is not refused).
        ("iam", 0, ROUTES, ["$request.header.Authorization", "$context.routeKey"]),
        ("simple", 300, ROUTES, ["$request.header.Authorization", "$context.routeKey"]),
        ("simple", 0, ROUTES, ["$request.header.Authorization", "$context.routeKey"]),
        ("simple", 300, [{"method": "GET", "path": "/x"}], ["$request.header.Authorization"]),  # no rules
    ],
)
def test_route_key_joins_the_identity_whenever_route_rules_are_possible(
        response: str, ttl: int, routes: list[dict[str, Any]], expected: list[str]) -> None:
    settings = AuthorizationSettings.create(issuers=OIDC, routes=routes, cache_ttl_seconds=ttl,
                                            lambda_response=response)
    assert identity_sources(settings) == expected


@pytest.mark.parametrize("response", ["iam", "simple"])
def test_route_key_joins_the_identity_when_rules_may_come_later_from_ssm(response: str) -> None:
    """cdk.json has no rule here, but the parameter's routes can gain one without a redeploy."""
    no_rules = [{"method": "GET", "path": "/x"}]
    settings = AuthorizationSettings.create(issuers=OIDC, routes=no_rules, cache_ttl_seconds=300,
                                            lambda_response=response, config_parameter="/corp/authz")
    assert identity_sources(settings) == ["$request.header.Authorization", "$context.routeKey"]


@pytest.mark.parametrize("response", ["iam", "simple"])
def test_a_token_cookie_leaves_only_context_variables_as_identity_sources_and_sets_auth_token_cookie(
        response: str) -> None:
    """A request with only the cookie must reach the authorizer: no header source. With route rules, the route key
    and the request id (never reused: the token may then be left out of the key)."""
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES, cache_ttl_seconds=0, lambda_response=response,
                                            token_cookie="psg_auth_token")
    assert identity_sources(settings) == ["$context.routeKey", "$context.requestId"]
    assert lambda_environment(settings)["AUTH_TOKEN_COOKIE"] == "psg_auth_token"
    no_rules = AuthorizationSettings.create(issuers=OIDC, routes=[{"method": "GET", "path": "/x"}],
                                            cache_ttl_seconds=0, lambda_response=response,
                                            token_cookie="psg_auth_token")
    assert identity_sources(no_rules) == []


def test_construct_in_a_users_stack_creates_the_parameter_under_that_stacks_name(tmp_path: Path) -> None:
    app, stack, api, routes = existing_app(tmp_path)
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES, config_parameter=True,
                                            config_max_age_seconds=30)
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings, tracing=True)
    for route in routes.values():
        auth.protect(route)
    template = Template.from_stack(stack)
    (parameter_id, parameter), = template.find_resources("AWS::SSM::Parameter").items()
    assert parameter["Properties"]["Name"] == "/Existing/Auth/authorizer-config"
    assert json.loads(parameter["Properties"]["Value"]) == {"issuers": OIDC, "routes": {
        "GET /orders": {"scopes": ["orders:read"]}, "DELETE /orders/{id}": {"scopes": ["orders:admin"]}}}
    assert auth.config_parameter is not None and auth.environment is not None
    assert auth.environment["AUTH_CONFIG_MAX_AGE_SECONDS"] == "30"
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    env = function["Properties"]["Environment"]["Variables"]
    assert env["AUTH_CONFIG_PARAMETER"] == {"Ref": parameter_id} and "AUTH_ISSUERS" not in env
    assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_a_created_parameters_environment_needs_its_name() -> None:
    settings = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES, config_parameter=True)
    with pytest.raises(ValueError, match="parameter_name"):
        lambda_environment(settings)
    env = lambda_environment(settings, parameter_name="/app/authorizer-config")
    assert env["AUTH_CONFIG_PARAMETER"] == "/app/authorizer-config"
    assert "AUTH_ISSUERS" not in env and "AUTH_ROUTES" not in env
