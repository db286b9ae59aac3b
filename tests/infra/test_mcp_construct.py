"""An MCP endpoint in the route list, through the construct (issue 20): the typed API and the ``cdk.json`` shape give
the same settings; the synthesized API publishes RFC 9728 metadata on public routes in both modes; lambda mode binds
the endpoint to the per-request authorizer (never reused across tools) with the resource in ``AUTH_ROUTES``; jwt
mode gives it a native authorizer with its resource as audience and refuses per-tool rules; cdk-nag and cfn-lint
pass. Synthesized in-process, without bundling (the real CLI synth of the sample stack is tested elsewhere)."""

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

from infra import AuthorizationSettings, ConfigError, JwtAuthorization, RouteSpec
from infra.mcp_settings import McpEndpoint, McpRule
from tests.synth_support import cfn_lint, symbolic

from .conftest import SKIP_BUNDLING
from .test_authorizer_construct import nag_errors, route_props

ISSUER = "https://idp.example.org"
OIDC = [{"provider": "oidc", "issuer": ISSUER, "audience": "orders-api"}]
MCP_DICT = {"method": "POST", "path": "/mcp", "mcp": {"tools": {"create_order": ["orders:write"],
                                                                "list_orders": {"scopes": ["orders:read"]}}}}
ROUTES: list[dict[str, Any]] = [{"method": "GET", "path": "/orders", "scopes": ["orders:read"]}, MCP_DICT]


def synth(tmp_path: Path, mode: str = "lambda", routes: list[Any] | None = None, nag: bool = False,
          **settings: Any) -> tuple[App, Template, JwtAuthorization]:
    app = App(context=SKIP_BUNDLING, outdir=str(tmp_path))
    stack = Stack(app, "McpApi")
    api = apigwv2.HttpApi(stack, "Api", create_default_stage=False)  # a stage with access logs is the user's
    auth = JwtAuthorization(stack, "Auth", http_api=api, settings=AuthorizationSettings.create(
        mode=mode, issuers=OIDC, routes=routes or ROUTES, **settings))
    auth.add_routes(integrations.HttpUrlIntegration("Backend", "https://backend.example.org/{proxy}"),
                    mcp_integration=integrations.HttpUrlIntegration("Mcp", "https://mcp.example.org/mcp"))
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, Template.from_stack(stack), auth


def metadata_documents(template: Template) -> dict[str, Any]:
    (function,) = [f for f in template.find_resources("AWS::Lambda::Function").values()
                   if "DOCUMENTS" in f["Properties"].get("Environment", {}).get("Variables", {})]
    return json.loads(symbolic(function["Properties"]["Environment"]["Variables"]["DOCUMENTS"]))


def test_the_typed_endpoint_gives_the_same_settings_as_its_cdk_json_shape() -> None:
    typed = AuthorizationSettings.create(issuers=OIDC, routes=[
        RouteSpec("GET", "/orders", scopes=["orders:read"]),
        RouteSpec("POST", "/mcp", mcp=McpEndpoint(tools={"create_order": ["orders:write"],
                                                          "list_orders": McpRule(scopes=["orders:read"])}))])
    plain = AuthorizationSettings.create(issuers=OIDC, routes=ROUTES)
    assert typed.auth_routes() == plain.auth_routes()
    assert typed.auth_routes()["POST /mcp"]["mcp"]["tools"]["list_orders"] == {"scopes": ["orders:read"]}


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_protected_resource_metadata_is_published_on_public_routes_in_both_modes(tmp_path: Path, mode: str) -> None:
    routes = ROUTES if mode == "lambda" else [ROUTES[0], {"method": "POST", "path": "/mcp", "scopes": ["orders:read"],
                                                          "mcp": {}}]
    _, template, _ = synth(tmp_path, mode, routes)
    props = route_props(template)
    for key in ("GET /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-protected-resource"):
        assert props[key]["AuthorizationType"] == "NONE"
    documents = metadata_documents(template)
    resource = "<GetAtt:ApiF70053CD.ApiEndpoint>/mcp"
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        assert documents[path]["resource"] == resource
        assert documents[path]["authorization_servers"] == [ISSUER]  # configured issuers only
        assert documents[path]["bearer_methods_supported"] == ["header"]
        assert set(documents[path]["scopes_supported"]) == ({"orders:write", "orders:read"} if mode == "lambda"
                                                             else {"orders:read"})


def test_lambda_mode_decides_the_endpoint_per_request_with_the_resource_in_auth_routes(tmp_path: Path) -> None:
    _, template, auth = synth(tmp_path)
    props = route_props(template)
    authorizers = template.find_resources("AWS::ApiGatewayV2::Authorizer")
    per_request = {k for k, a in authorizers.items() if "$context.requestId" in a["Properties"]["IdentitySource"]}
    assert props["POST /mcp"]["AuthorizerId"] == {"Ref": next(iter(per_request))}
    assert props["GET /orders"]["AuthorizerId"] != props["POST /mcp"]["AuthorizerId"]
    function = next(f for f in template.find_resources("AWS::Lambda::Function").values()
                    if f["Properties"]["Handler"] == "authorizer.handler.handler")
    routes = json.loads(symbolic(function["Properties"]["Environment"]["Variables"]["AUTH_ROUTES"]))
    assert routes["POST /mcp"]["mcp"]["resource"] == "<GetAtt:ApiF70053CD.ApiEndpoint>/mcp"
    assert auth.mcp_resources["POST /mcp"] is not None


def test_a_configured_resource_is_used_as_given(tmp_path: Path) -> None:
    given = {**MCP_DICT, "mcp": {**MCP_DICT["mcp"], "resource": "https://mcp.example.org/orders"}}
    _, template, _ = synth(tmp_path, routes=[ROUTES[0], given])
    assert metadata_documents(template)["/.well-known/oauth-protected-resource/mcp"]["resource"] == \
        "https://mcp.example.org/orders"


def test_jwt_mode_gives_the_endpoint_a_native_authorizer_with_its_resource_as_audience(tmp_path: Path) -> None:
    routes = [ROUTES[0], {"method": "POST", "path": "/mcp", "scopes": ["orders:read"], "mcp": {}}]
    _, template, _ = synth(tmp_path, "jwt", routes)
    props = route_props(template)
    authorizers = template.find_resources("AWS::ApiGatewayV2::Authorizer")
    mcp_authorizer = authorizers[props["POST /mcp"]["AuthorizerId"]["Ref"]]["Properties"]
    orders_authorizer = authorizers[props["GET /orders"]["AuthorizerId"]["Ref"]]["Properties"]
    assert [symbolic(a) for a in mcp_authorizer["JwtConfiguration"]["Audience"]] == [
        "<GetAtt:ApiF70053CD.ApiEndpoint>/mcp"]
    assert mcp_authorizer["JwtConfiguration"]["Issuer"] == ISSUER
    assert orders_authorizer["JwtConfiguration"]["Audience"] == ["orders-api"]  # the resource's token stays there
    assert props["POST /mcp"]["AuthorizationScopes"] == ["orders:read"]


def test_jwt_mode_refuses_per_tool_rules_naming_the_route() -> None:
    with pytest.raises(ConfigError) as failure:
        AuthorizationSettings.create(mode="jwt", issuers=OIDC, routes=ROUTES)
    assert failure.value.field == "routes[1].mcp" and "reads no request header" in failure.value.problem


@pytest.mark.parametrize("mcp, field", [
    ({"tools": {"a/b": ["x"]}}, "routes[1].mcp.tools['a/b']"),
    ({"resource": "http://mcp.example.org/x"}, "routes[1].mcp.resource"),
    ({"authorization_servers": ["https://evil.example.com"]}, "routes['POST /mcp'].mcp.authorization_servers[0]"),
    ({"tool": {}}, "routes[1].mcp.tool"),
])
def test_a_bad_mcp_endpoint_fails_synthesis_naming_the_field(mcp: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as failure:
        AuthorizationSettings.create(issuers=OIDC, routes=[ROUTES[0], {"method": "POST", "path": "/mcp", "mcp": mcp}])
    assert failure.value.field == field


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_an_mcp_api_passes_cdk_nag_and_cfn_lint(tmp_path: Path, mode: str) -> None:
    routes = ROUTES if mode == "lambda" else [ROUTES[0], {"method": "POST", "path": "/mcp", "mcp": {}}]
    app, _, _ = synth(tmp_path, mode, routes, nag=True)
    app.synth()  # an unacknowledged cdk-nag error fails synthesis itself
    assert nag_errors(tmp_path / "validation-report.json") == []
    result = cfn_lint(tmp_path / "McpApi.template.json")
    assert result.returncode == 0, result.stdout
