"""The names and bounds ``JwtAuthorization`` documents (docs/deploying.md, the options table): the authorizer is named
after its construct ID, two authorizers of one name on one API fail synthesis, construct IDs that differ only in
characters SSM drops still get distinct parameter names, and the log group's retention stays bounded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from infra import AuthorizationSettings, ConfigError, JwtAuthorization

from .conftest import SKIP_BUNDLING
from .test_authorizer_construct import OIDC

#: An SSM parameter name as CloudFormation accepts it: a path of letters, digits and ``_.-``.
SSM_PATH = re.compile(r"(/[A-Za-z0-9_.\-]+)+")


def one_api(tmp_path: Path) -> tuple[App, Stack, apigwv2.HttpApi]:
    app = App(context=SKIP_BUNDLING, outdir=str(tmp_path))
    stack = Stack(app, "Shop")
    return app, stack, apigwv2.HttpApi(stack, "Api")


def protect(stack: Stack, api: apigwv2.HttpApi, construct_id: str, path: str, mode: str = "lambda",
            **options: object) -> JwtAuthorization:
    """A construct on ``api`` guarding one route of its own, ``GET <path>``."""
    settings = AuthorizationSettings.create(mode=mode, issuers=OIDC, routes=[{"method": "GET", "path": path}],
                                            config_parameter=mode == "lambda")
    auth = JwtAuthorization(stack, construct_id, http_api=api, settings=settings, **options)
    auth.add_routes(integrations.HttpUrlIntegration(f"{construct_id}Backend", "https://backend.example.org"))
    return auth


def authorizer_names(stack: Stack) -> list[str]:
    return sorted(r["Properties"]["Name"] for r in
                  Template.from_stack(stack).find_resources("AWS::ApiGatewayV2::Authorizer").values())


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_each_authorizer_is_named_after_its_construct_id_so_two_on_one_api_differ(tmp_path: Path, mode: str) -> None:
    app, stack, api = one_api(tmp_path)
    orders = protect(stack, api, "OrdersAuth", "/orders", mode)
    billing = protect(stack, api, "BillingAuth", "/billing", mode)
    app.synth()  # no name clash for the synthesis-time check to report
    assert (orders.authorizer_name, billing.authorizer_name) == ("OrdersAuth", "BillingAuth")
    assert authorizer_names(stack) == ["BillingAuth", "OrdersAuth"]


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_two_authorizers_of_one_name_on_one_api_fail_synthesis_naming_the_option(tmp_path: Path, mode: str) -> None:
    app, stack, api = one_api(tmp_path)
    protect(stack, api, "OrdersAuth", "/orders", mode, authorizer_name="shop-jwt")
    protect(stack, api, "BillingAuth", "/billing", mode, authorizer_name="shop-jwt")
    with pytest.raises(Exception, match=r"authorizer_name: another authorizer of Shop/Api is also named 'shop-jwt'; "
                                        r"give each JwtAuthorization on one API its own authorizer_name"):
        app.synth()


def test_one_name_on_two_apis_is_no_clash(tmp_path: Path) -> None:
    app, stack, api = one_api(tmp_path)
    protect(stack, api, "OrdersAuth", "/orders", authorizer_name="shop-jwt")
    protect(stack, apigwv2.HttpApi(stack, "OtherApi"), "BillingAuth", "/billing", authorizer_name="shop-jwt")
    app.synth()
    assert authorizer_names(stack) == ["shop-jwt", "shop-jwt"]


def test_construct_ids_differing_only_where_ssm_drops_characters_get_distinct_parameters(tmp_path: Path) -> None:
    """``"Orders apiAuth"`` and ``"Orders-apiAuth"`` in one stack: a space is not allowed in an SSM name, and
    replacing it alone would give both constructs ``/Shop/Orders-apiAuth/authorizer-config``."""
    app, stack, api = one_api(tmp_path)
    spaced = protect(stack, api, "Orders apiAuth", "/orders")
    dashed = protect(stack, api, "Orders-apiAuth", "/billing")
    app.synth()
    names = sorted(r["Properties"]["Name"] for r in
                   Template.from_stack(stack).find_resources("AWS::SSM::Parameter").values())
    assert len(set(names)) == 2
    assert all(SSM_PATH.fullmatch(name) for name in names), names
    assert "/Shop/Orders-apiAuth/authorizer-config" in names  # an ID SSM accepts keeps its plain name
    (hashed,) = set(names) - {"/Shop/Orders-apiAuth/authorizer-config"}
    assert re.fullmatch(r"/Shop/Orders-apiAuth-[0-9a-f]{6}/authorizer-config", hashed)
    # each function reads its own construct's parameter
    read = {auth.node.id: auth.environment["AUTH_CONFIG_PARAMETER"] for auth in (spaced, dashed)
            if auth.environment is not None}
    assert stack.resolve(read["Orders apiAuth"]) != stack.resolve(read["Orders-apiAuth"])


def test_infinite_log_retention_is_refused_and_a_bounded_one_reaches_the_log_group(tmp_path: Path) -> None:
    _, stack, api = one_api(tmp_path)
    with pytest.raises(ConfigError) as caught:
        protect(stack, api, "OrdersAuth", "/orders", log_retention=logs.RetentionDays.INFINITE)
    assert caught.value.field == "log_retention"
    assert "RetentionDays.INFINITE" in caught.value.problem and "RetentionDays.ONE_YEAR" in caught.value.problem
    protect(stack, api, "BillingAuth", "/billing", log_retention=logs.RetentionDays.ONE_YEAR)
    retention = [r["Properties"].get("RetentionInDays") for r in
                 Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()]
    assert retention == [365]


def test_the_created_log_group_keeps_a_month_by_default(tmp_path: Path) -> None:
    _, stack, api = one_api(tmp_path)
    protect(stack, api, "OrdersAuth", "/orders")
    retention = [r["Properties"].get("RetentionInDays") for r in
                 Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()]
    assert retention == [30]
