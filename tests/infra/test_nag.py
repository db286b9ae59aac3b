"""cdk-nag's AwsSolutions checks run on every synthesis of the app, pass in both modes, and each acknowledgement
is justified in code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Validations

from infra import JwtAuthorization
from infra.cdk_app import build_app
from infra.python_function import PackageFunction

from .conftest import SKIP_BUNDLING, Synthesized

JUSTIFIED_RULES = {"AwsSolutions::AwsSolutions-APIG4"}  # public routes, by configuration
XRAY_WILDCARD = "AwsSolutions::AwsSolutions-IAM5[Resource::*]"  # tracing: X-Ray has no resource-level permissions


def errors(report_path: Path) -> list[dict[str, Any]]:
    report = json.loads(report_path.read_text())
    return [v for plugin in report["pluginReports"] for v in plugin["violations"] if v["severity"] == "error"]


def acknowledgements(context: dict[str, Any], tmp_path: Path) -> dict[str, dict[str, str]]:
    app = build_app({**SKIP_BUNDLING, **context}, outdir=str(tmp_path))
    found = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found[construct.node.path] = dict(entry.data)
    return found


def test_both_modes_pass_aws_solutions_checks(lambda_stack: Synthesized, lambda_custom_stack: Synthesized,
                                               jwt_stack: Synthesized, cookie_stack: Synthesized) -> None:
    # cdk.json's tenant route gives the shipped stack a second (uncached) authorizer and its permission: checked too
    assert len(lambda_stack.resources("AWS::ApiGatewayV2::Authorizer")) == 2
    for stack in (lambda_stack, lambda_custom_stack, jwt_stack, cookie_stack):
        assert errors(stack.outdir / "validation-report.json") == []


def test_config_parameter_and_tracing_variants_pass_aws_solutions_checks(
        parameter_stack: Synthesized, traced_stack: Synthesized, traced_jwt_stack: Synthesized,
        tmp_path: Path) -> None:
    for stack in (parameter_stack, traced_stack, traced_jwt_stack):
        assert errors(stack.outdir / "validation-report.json") == [], stack.context
    app = build_app({**SKIP_BUNDLING, "configParameter": "/shared/authorizer-config"}, outdir=str(tmp_path))
    app.synth()
    assert errors(tmp_path / "validation-report.json") == []


#: The MCP endpoint's Protected Resource Metadata routes (cdk.json's ``ANY /mcp``).
METADATA_ROUTES = {"JwtAuthorizerApi/HttpApi/GET--.well-known--oauth-protected-resource",
                   "JwtAuthorizerApi/HttpApi/GET--.well-known--oauth-protected-resource--mcp"}


def test_aws_solutions_checks_really_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the acknowledgement, the public route fails APIG4 and synthesis stops."""
    monkeypatch.setattr(JwtAuthorization, "acknowledge_public_route", lambda self, spec, route: None)
    app = build_app(SKIP_BUNDLING, outdir=str(tmp_path))
    with pytest.raises(RuntimeError, match="AwsSolutions-APIG4"):
        app.synth()
    failures = errors(tmp_path / "validation-report.json")
    assert [f["ruleName"] for f in failures] == ["AwsSolutions-APIG4"]
    assert failures[0]["violatingConstructs"][0]["constructPath"].endswith("/GET--health/Resource")


def test_only_public_routes_are_acknowledged_each_with_its_reason(tmp_path: Path) -> None:
    found = acknowledgements({}, tmp_path)
    assert set(found) == {"JwtAuthorizerApi/HttpApi/GET--health", *METADATA_ROUTES}
    for path, rules in found.items():
        assert set(rules) <= JUSTIFIED_RULES
        for reason in rules.values():
            if path in METADATA_ROUTES:  # the MCP endpoint's Protected Resource Metadata: public by the spec
                assert "RFC 9728" in reason and len(reason) > 40, reason
            else:
                assert "GET /health" in reason and '"public": true' in reason and len(reason) > 40


def test_a_configuration_without_public_routes_needs_no_acknowledgement(tmp_path: Path) -> None:
    assert acknowledgements({"routes": [{"method": "GET", "path": "/hello"}]}, tmp_path) == {}


def test_tracing_acknowledges_only_xray_wildcards_on_each_role_with_the_reason(tmp_path: Path) -> None:
    found = acknowledgements({"tracing": True, "configParameter": True}, tmp_path)
    roles = {path: rules for path, rules in found.items() if path.endswith("/Role")}
    assert set(roles) == {"JwtAuthorizerApi/SampleBackend/Role", "JwtAuthorizerApi/SampleMcpServer/Role",
                          "JwtAuthorizerApi/Authorization/Authorizer/Role"}
    for rules in roles.values():
        assert set(rules) == {XRAY_WILDCARD}
        reason = rules[XRAY_WILDCARD]
        assert "xray:PutTraceSegments" in reason and "resource-level" in reason
    assert set(found) - set(roles) == {"JwtAuthorizerApi/HttpApi/GET--health", *METADATA_ROUTES}


def test_without_the_acknowledgement_tracing_fails_iam5_on_both_roles(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PackageFunction, "acknowledge_xray_permissions", lambda self: None)
    app = build_app({**SKIP_BUNDLING, "tracing": True, "configParameter": True}, outdir=str(tmp_path))
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5"):
        app.synth()
    failures = errors(tmp_path / "validation-report.json")
    assert {f["ruleName"] for f in failures} == {"AwsSolutions-IAM5[Resource::*]"}
    assert sorted(c["constructPath"] for f in failures for c in f["violatingConstructs"]) == [
        "JwtAuthorizerApi/Authorization/Authorizer/Role/DefaultPolicy/Resource",
        "JwtAuthorizerApi/SampleBackend/Role/DefaultPolicy/Resource",
        "JwtAuthorizerApi/SampleMcpServer/Role/DefaultPolicy/Resource",
    ]
