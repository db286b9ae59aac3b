"""``JwtAuthorization``'s CDK-idiomatic surface: typed settings, ``Duration``, enums, route keys, imported APIs,
function options, names, identity sources, one API per construct, stable logical IDs, and what it exposes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from infra import AuthorizationSettings, ConfigError, JwtAuthorization, RouteSpec, TenantRule
from infra.typed_settings import AuthorizerMode, Issuer, LambdaResponse, ProviderIssuer

from .conftest import SKIP_BUNDLING
from .test_authorizer_construct import OIDC, ROUTES, existing_app, route_props


def backend() -> integrations.HttpUrlIntegration:
    """A fresh integration: one integration object belongs to one API."""
    return integrations.HttpUrlIntegration("Backend", "https://backend.example.org/{proxy}")


def new_stack(tmp_path: Path) -> tuple[App, Stack]:
    app = App(context=SKIP_BUNDLING, outdir=str(tmp_path))
    return app, Stack(app, "Users")


def settings(mode: str = "lambda", **kwargs: Any) -> AuthorizationSettings:
    return AuthorizationSettings.create(mode=mode, issuers=OIDC, routes=ROUTES, **kwargs)


def the_function(template: Template) -> dict[str, Any]:
    (function,) = [r["Properties"] for r in template.find_resources("AWS::Lambda::Function").values()
                   if r["Properties"]["Handler"] == "authorizer.handler.handler"]
    return function


# --- typed settings -----------------------------------------------------------------------------------------
def test_typed_routes_issuers_enums_and_duration_give_the_same_settings_as_plain_values() -> None:
    typed = AuthorizationSettings.create(
        mode=AuthorizerMode.LAMBDA,
        issuers=[ProviderIssuer.oidc("https://idp.example.org", audience="orders-api")],
        routes=[RouteSpec("GET", "/orders", scopes=("orders:read",)),
                RouteSpec("DELETE", "/orders/{id}", scopes=("orders:admin",)),
                RouteSpec("GET", "/ping", public=True)],
        results_cache_ttl=Duration.minutes(2),
        lambda_response=LambdaResponse.SIMPLE,
    )
    plain = settings(cache_ttl_seconds=120, lambda_response="simple")
    assert typed == plain
    assert typed.mode == "lambda" and typed.lambda_response == "simple" and typed.cache_ttl_seconds == 120


def test_a_hand_written_issuer_object_is_validated_like_its_dict() -> None:
    issuer = Issuer("https://idp.example.org", audience=["a", "b"], algorithms=("RS256",))
    assert issuer.to_config() == {"issuer": "https://idp.example.org", "audience": ["a", "b"], "algorithms": ["RS256"]}
    with pytest.raises(ConfigError) as caught:
        AuthorizationSettings.create(issuers=[Issuer("https://idp.example.org", audience=[],)], routes=ROUTES)
    assert caught.value.field.startswith("issuers[0]")


TENANT_PLAIN = {"method": "GET", "path": "/tenants/{tenantId}/orders",
                "tenant": {"param": "tenantId", "roles": ["admin"], "permissions": ["orders:read"]}}


def test_a_typed_tenant_rule_gives_the_same_settings_as_its_cdk_json_shape() -> None:
    typed = AuthorizationSettings.create(issuers=OIDC, routes=[
        RouteSpec("GET", "/tenants/{tenantId}/orders",
                  tenant=TenantRule("tenantId", roles=["admin"], permissions=("orders:read",)))])
    plain = AuthorizationSettings.create(issuers=OIDC, routes=[TENANT_PLAIN])
    assert typed == plain
    (route,) = typed.routes
    assert route.tenant == TenantRule("tenantId", claim="tenants", roles=("admin",), permissions=("orders:read",))
    assert typed.auth_routes()["GET /tenants/{tenantId}/orders"]["tenant"] == {
        "param": "tenantId", "claim": "tenants", "roles": ["admin"], "permissions": ["orders:read"]}


@pytest.mark.parametrize(("route", "field"), [
    (RouteSpec("GET", "/tenants/{id}/orders", tenant=TenantRule("tenantId")), "routes[0].tenant.param"),
    (RouteSpec("GET", "/files/{tenantId+}", tenant=TenantRule("tenantId")), "routes[0].tenant.param"),
    (RouteSpec("GET", "/t/{tenantId}", tenant=TenantRule("tenantId", claim="")), "routes[0].tenant.claim"),
    (RouteSpec("GET", "/t/{tenantId}", public=True, tenant=TenantRule("tenantId")), "routes[0].public"),
])
def test_a_typed_tenant_rule_is_validated_like_its_dict_naming_the_field(route: RouteSpec, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AuthorizationSettings.create(issuers=OIDC, routes=[route])
    assert caught.value.field == field


def test_a_typed_tenant_rule_is_refused_in_jwt_mode() -> None:
    with pytest.raises(ConfigError) as caught:
        AuthorizationSettings.create(mode=AuthorizerMode.JWT, issuers=OIDC, routes=[
            RouteSpec("GET", "/tenants/{tenantId}/orders", tenant=TenantRule("tenantId"))])
    assert caught.value.field == "routes[0].tenant" and "authorizer=lambda" in caught.value.problem


def test_the_installed_package_exports_the_tenant_rule() -> None:
    import infra

    assert "TenantRule" in infra.__all__ and infra.TenantRule is TenantRule
    assert TenantRule.__doc__ and "within that tenant" in " ".join(TenantRule.__doc__.split())


@pytest.mark.parametrize("ttl", [Duration.millis(1500), Duration.hours(2)])
def test_a_cache_ttl_duration_must_be_whole_seconds_within_api_gateways_limit(ttl: Duration) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(results_cache_ttl=ttl)
    assert caught.value.field == "results_cache_ttl"


def test_routes_are_required_so_no_sample_routes_reach_a_users_api() -> None:
    with pytest.raises(TypeError, match="routes"):
        AuthorizationSettings.create(issuers=OIDC)  # type: ignore[call-arg]


# --- routes -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_route_options_by_route_key(tmp_path: Path, mode: str) -> None:
    _, stack = new_stack(tmp_path)
    api = apigwv2.HttpApi(stack, "Api")
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings(mode))
    for spec in ROUTES:
        api.add_routes(path=spec["path"], methods=[apigwv2.HttpMethod(spec["method"])], integration=backend(),
                       **auth.route_options(f"{spec['method']} {spec['path']}"))
    props = route_props(Template.from_stack(stack))
    assert props["GET /orders"]["AuthorizationType"] == ("CUSTOM" if mode == "lambda" else "JWT")
    assert props["GET /ping"]["AuthorizationType"] == "NONE"
    with pytest.raises(ConfigError) as caught:
        auth.route_options("GET /nowhere")
    assert caught.value.field == "routes" and "GET /nowhere is not configured" in caught.value.problem


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_an_imported_http_api_gets_the_routes_and_the_authorizer(tmp_path: Path, mode: str) -> None:
    app, stack = new_stack(tmp_path)
    api = apigwv2.HttpApi.from_http_api_attributes(stack, "Imported", http_api_id="abc123")
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings(mode))
    auth.add_routes(backend())
    app.synth()  # the every-route-attached validation runs
    template = Template.from_stack(stack)
    props = route_props(template)
    assert set(props) == {"GET /orders", "DELETE /orders/{id}", "GET /ping"}
    assert all(p["ApiId"] == "abc123" for p in props.values())
    template.has_resource_properties("AWS::ApiGatewayV2::Authorizer", {"ApiId": "abc123"})


def test_a_route_of_a_second_api_is_refused(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    first, second = apigwv2.HttpApi(stack, "First"), apigwv2.HttpApi(stack, "Second")
    auth = JwtAuthorization(stack, "Auth", http_api=first, settings=settings())
    with pytest.raises(Exception, match="authorizes Users/First only; .* is a route of Users/Second"):
        second.add_routes(path="/orders", methods=[apigwv2.HttpMethod.GET], integration=backend(),
                          **auth.route_options("GET /orders"))


def test_an_api_in_another_stack_is_refused_with_the_reason(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    api = apigwv2.HttpApi(Stack(app, "ApiStack"), "Api")
    with pytest.raises(ConfigError) as caught:
        JwtAuthorization(stack, "Auth", http_api=api, settings=settings())
    assert caught.value.field == "http_api" and "dependency cycle" in caught.value.problem


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_the_authorizers_logical_id_is_the_same_whichever_way_routes_are_attached(tmp_path: Path,
                                                                                   mode: str) -> None:
    _, stack, api, routes = existing_app(tmp_path / "protect")
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings(mode))
    for route in routes.values():
        auth.protect(route)
    _, other = new_stack(tmp_path / "add")
    other_api = apigwv2.HttpApi(other, "Api")
    JwtAuthorization(other, "Auth", http_api=other_api, settings=settings(mode)).add_routes(backend())
    ids = [set(Template.from_stack(s).find_resources("AWS::ApiGatewayV2::Authorizer")) for s in (stack, other)]
    assert ids[0] == ids[1] and len(ids[0]) == 1


# --- tenant routes: a second, uncached authorizer ----------------------------------------------------------
TENANT_ROUTES = [*ROUTES, TENANT_PLAIN]


def authorizer_ids(stack: Stack) -> dict[str, str]:
    """Authorizer name → logical ID."""
    return {props["Properties"]["Name"]: logical_id for logical_id, props in
            Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Authorizer").items()}


def bound_to(stack: Stack) -> dict[str, str | None]:
    """Route key → the name of its authorizer (None for a public route)."""
    names = {logical_id: name for name, logical_id in authorizer_ids(stack).items()}
    return {key: names[props["AuthorizerId"]["Ref"]] if "AuthorizerId" in props else None
            for key, props in route_props(Template.from_stack(stack)).items()}


@pytest.mark.parametrize("how", ["add_routes", "route_options", "protect", "imported_api"])
def test_tenant_routes_bind_the_uncached_authorizer_however_they_are_added(tmp_path: Path, how: str) -> None:
    app, stack = new_stack(tmp_path)
    api: apigwv2.IHttpApi = (apigwv2.HttpApi.from_http_api_attributes(stack, "Imported", http_api_id="abc123")
                             if how == "imported_api" else apigwv2.HttpApi(stack, "Api"))
    auth = JwtAuthorization(stack, "Auth", http_api=api, authorizer_name="orders",
                            settings=AuthorizationSettings.create(issuers=OIDC, routes=TENANT_ROUTES))
    if how in ("add_routes", "imported_api"):
        auth.add_routes(backend())
    else:
        assert isinstance(api, apigwv2.HttpApi)
        for spec in auth.settings.routes:
            if how == "route_options":
                api.add_routes(path=spec.path, methods=[apigwv2.HttpMethod(spec.method)], integration=backend(),
                               **auth.route_options(spec.route_key))
            else:
                (route,) = api.add_routes(path=spec.path, methods=[apigwv2.HttpMethod(spec.method)],
                                          integration=backend())
                auth.protect(route)
    app.synth()  # every protected route is checked to be on its authorizer
    assert bound_to(stack) == {"GET /orders": "orders", "DELETE /orders/{id}": "orders", "GET /ping": None,
                               "GET /tenants/{tenantId}/orders": "orders-tenant-routes"}
    assert auth.tenant_authorizer is not None and auth.tenant_http_authorizer is not None
    assert auth.authorizer_for(auth.settings.routes[-1]) is auth.tenant_authorizer
    assert auth.authorizer_for(auth.settings.routes[0]) is auth.authorizer
    ttl = {r["Properties"]["Name"]: r["Properties"]["AuthorizerResultTtlInSeconds"] for r in
           Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Authorizer").values()}
    assert ttl == {"orders": 300, "orders-tenant-routes": 0}


@pytest.mark.parametrize("ttl", [Duration.seconds(0), None])
def test_no_second_authorizer_without_a_cache_or_without_tenant_routes(tmp_path: Path, ttl: Duration | None) -> None:
    app, stack = new_stack(tmp_path)
    settings_ = AuthorizationSettings.create(issuers=OIDC, routes=TENANT_ROUTES if ttl is not None else ROUTES,
                                             results_cache_ttl=ttl)
    auth = JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), settings=settings_)
    auth.add_routes(backend())
    app.synth()
    assert auth.tenant_authorizer is None and auth.tenant_http_authorizer is None
    assert len(authorizer_ids(stack)) == 1
    assert {name for name in bound_to(stack).values() if name} == set(authorizer_ids(stack))


def test_a_tenant_route_bound_to_the_cached_authorizer_fails_synthesis(tmp_path: Path) -> None:
    app, stack = new_stack(tmp_path)
    api = apigwv2.HttpApi(stack, "Api")
    auth = JwtAuthorization(stack, "Auth", http_api=api,
                            settings=AuthorizationSettings.create(issuers=OIDC, routes=TENANT_ROUTES))
    for spec in auth.settings.routes:
        options = auth.route_options(spec)
        if spec.tenant is not None:
            options["authorizer"] = auth.authorizer  # by hand, past route_options: its answers would be cached
        api.add_routes(path=spec.path, methods=[apigwv2.HttpMethod(spec.method)], integration=backend(), **options)
    with pytest.raises(Exception, match=r"GET /tenants/\{tenantId\}/orders is decided per request \(a tenant rule, "
                                        r".*so it must use this construct's tenant_authorizer"):
        app.synth()


def test_a_long_authorizer_name_still_gives_a_valid_tenant_authorizer_name(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    auth = JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), authorizer_name="a" * 128,
                            settings=AuthorizationSettings.create(issuers=OIDC, routes=TENANT_ROUTES))
    auth.add_routes(backend())
    names = sorted(authorizer_ids(stack), key=len)
    assert names[0] == "a" * 128 and len(names[1]) == 128 and names[1].endswith("-tenant-routes")


def test_an_authorizer_name_known_only_at_deploy_time_is_kept_whole(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    prefix = "orders-" * 16  # 112 characters: cutting the name to fit the suffix would cut the token in it
    name = prefix + CfnParameter(stack, "Stage", default="dev").value_as_string
    auth = JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), authorizer_name=name,
                            settings=AuthorizationSettings.create(issuers=OIDC, routes=TENANT_ROUTES))
    auth.add_routes(backend())
    names = [r["Properties"]["Name"] for r in
             Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Authorizer").values()]
    assert {"Fn::Join": ["", [prefix, {"Ref": "Stage"}]]} in names
    assert {"Fn::Join": ["", [prefix, {"Ref": "Stage"}, "-tenant-routes"]]} in names


# --- the function, names, identity sources, the parameter ---------------------------------------------------
def test_function_options_reach_the_authorizer_function(tmp_path: Path) -> None:
    _, stack, api, routes = existing_app(tmp_path)
    group = logs.LogGroup(stack, "MyLogs", retention=logs.RetentionDays.ONE_WEEK)
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings(), memory_size=1024,
                            timeout=Duration.seconds(4), reserved_concurrent_executions=50, log_group=group,
                            environment={"AUTH_LEEWAY_SECONDS": "30"})
    for route in routes.values():
        auth.protect(route)
    template = Template.from_stack(stack)
    function = the_function(template)
    assert (function["MemorySize"], function["Timeout"], function["ReservedConcurrentExecutions"]) == (1024, 4, 50)
    assert function["Environment"]["Variables"]["AUTH_LEEWAY_SECONDS"] == "30"
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": stack.get_logical_id(group.node.default_child)}
    assert len(template.find_resources("AWS::Logs::LogGroup")) == 1
    assert isinstance(auth.function, lambda_.Function) and auth.http_authorizer is not None
    assert auth.authorizer is auth.route_authorizer


@pytest.mark.parametrize(("option", "value"), [
    ("memory_size", 64), ("timeout", Duration.seconds(30)), ("reserved_concurrent_executions", 0),
    ("log_retention", logs.RetentionDays.ONE_DAY),  # together with log_group: one or the other
    ("environment", {"AUTH_ISSUERS": "[]"}), ("environment", {"AUTH_LEEWAY_SECOND": "30"}),
    ("identity_source", "$request.header.Authorization"),
    ("parameter_name", "no-leading-slash"),
])
def test_invalid_options_are_refused_naming_the_option(tmp_path: Path, option: str, value: Any) -> None:
    _, stack = new_stack(tmp_path)
    api = apigwv2.HttpApi(stack, "Api")
    extra: dict[str, Any] = {option: value}
    if option == "log_retention":
        extra["log_group"] = logs.LogGroup(stack, "MyLogs")
    with pytest.raises(ConfigError) as caught:
        JwtAuthorization(stack, "Auth", http_api=api, settings=settings(config_parameter=True), **extra)
    assert caught.value.field == ("log_group" if option == "log_retention" else option)


@pytest.mark.parametrize(("option", "value", "accepted"), [
    ("timeout", Duration.millis(1500), "whole seconds from 1 to 10"),
    ("runtime", lambda_.Runtime.PYTHON_3_11, "Runtime.PYTHON_3_12, Runtime.PYTHON_3_13, Runtime.PYTHON_3_14"),
    ("runtime", lambda_.Runtime.NODEJS_20_X, "the Python versions the bundle's lock covers"),
    ("runtime", "python3.12", "got the string 'python3.12'"),
    ("architecture", "arm64", "Architecture.ARM_64 or Architecture.X86_64"),
    ("bytecode", "yes", "must be True or False, got the string 'yes'"),
])
def test_a_mistyped_option_names_what_it_accepts(tmp_path: Path, option: str, value: Any, accepted: str) -> None:
    _, stack = new_stack(tmp_path)
    with pytest.raises(ConfigError) as caught:
        JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), settings=settings(), **{option: value})
    assert caught.value.field == option and accepted in caught.value.problem


@pytest.mark.parametrize("runtime", [lambda_.Runtime.PYTHON_3_12, lambda_.Runtime.PYTHON_3_13])
def test_a_supported_runtime_and_architecture_reach_the_function(tmp_path: Path, runtime: lambda_.Runtime) -> None:
    _, stack = new_stack(tmp_path)
    auth = JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), settings=settings(),
                            runtime=runtime, architecture=lambda_.Architecture.X86_64)
    auth.add_routes(backend())
    function = the_function(Template.from_stack(stack))
    assert (function["Runtime"], function["Architectures"]) == (runtime.name, ["x86_64"])


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_authorizer_name_and_identity_source(tmp_path: Path, mode: str) -> None:
    _, stack = new_stack(tmp_path)
    api = apigwv2.HttpApi(stack, "Api")
    sources = ["$request.header.X-Token"] + (["$context.routeKey"] if mode == "lambda" else [])
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=settings(mode), authorizer_name="orders-jwt",
                            identity_source=sources)
    auth.add_routes(backend())
    Template.from_stack(stack).has_resource_properties("AWS::ApiGatewayV2::Authorizer", {
        "Name": "orders-jwt", "IdentitySource": sources})


def test_an_identity_source_without_the_route_key_that_caching_needs_is_refused(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    with pytest.raises(ConfigError) as caught:
        JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"),
                         settings=settings(),
                         identity_source=["$request.header.Authorization"])
    assert caught.value.field == "identity_source" and "$context.routeKey" in caught.value.problem


def test_two_constructs_in_one_stack_create_two_parameters_or_the_names_given(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    for name, parameter_name in (("Orders", None), ("Billing", None), ("Admin", "/corp/admin/authz")):
        api = apigwv2.HttpApi(stack, f"{name}Api")
        auth = JwtAuthorization(stack, name, http_api=api, settings=settings(config_parameter=True),
                                parameter_name=parameter_name)
        auth.add_routes(backend())
        assert auth.config_parameter is not None
    names = sorted(r["Properties"]["Name"] for r in
                   Template.from_stack(stack).find_resources("AWS::SSM::Parameter").values())
    assert names == ["/Users/Billing/authorizer-config", "/Users/Orders/authorizer-config", "/corp/admin/authz"]


def test_a_misspelt_authorizer_variable_names_the_one_meant(tmp_path: Path) -> None:
    _, stack = new_stack(tmp_path)
    with pytest.raises(ConfigError) as caught:
        JwtAuthorization(stack, "Auth", http_api=apigwv2.HttpApi(stack, "Api"), settings=settings(),
                         environment={"AUTH_JWKS_COOLDOWN": "10", "POWERTOOLS_LOG_LEVEL": "DEBUG"})
    assert caught.value.problem == ("AUTH_JWKS_COOLDOWN is not a variable the authorizer reads; did you mean "
                                    "AUTH_JWKS_COOLDOWN_SECONDS?")
