"""Operating the stack: issuers and routes in an SSM parameter (``configParameter``), readable by the authorizer
alone and loadable by its own parsers; X-Ray tracing (``tracing``) on both functions; cfn-lint on every variant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from authorizer.config import load_config, parse_issuers, parse_routes
from authorizer.remote_config import max_age_from, parse_parameter
from infra.bundling import TRACING_REQUIREMENTS, TRACING_REQUIREMENTS_FILE
from infra.cdk_app import cdk_json_context
from tests.synth_support import symbolic

from .conftest import DESCOPE, Synthesized, synthesize

PARAMETER_NAME = "/JwtAuthorizerApi/authorizer-config"
AUTHORIZER = "authorizer.handler.handler"
BACKEND = "sample_backend.handler.handler"
MCP_SERVER = "sample_mcp.server.handler"
METADATA = "index.handler"  # the inline function serving the MCP endpoint's metadata: a fixed document, not traced
#: Values for the pseudo parameters when an ARN is resolved for an assertion.
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


def functions(stack: Synthesized) -> dict[str, dict[str, Any]]:
    """Handler → the function's resource (logical id under ``"id"``)."""
    return {f["Properties"]["Handler"]: {"id": fid, **f}
            for fid, f in stack.resources("AWS::Lambda::Function").items()}


def variables(stack: Synthesized, handler: str = AUTHORIZER) -> dict[str, Any]:
    return functions(stack)[handler]["Properties"]["Environment"]["Variables"]


def the_parameter(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    parameters = stack.resources("AWS::SSM::Parameter")
    assert len(parameters) == 1, list(parameters)
    parameter_id, parameter = next(iter(parameters.items()))
    return parameter_id, parameter["Properties"]


def statements_of_role(stack: Synthesized, handler: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to the role of the function with ``handler``."""
    role_id = functions(stack)[handler]["Properties"]["Role"]["Fn::GetAtt"][0]
    found = []
    for policy in stack.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """``Ref`` and ``Fn::Join`` of an ARN, with pseudo parameters and resources' names filled in."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return {**PSEUDO, **refs}[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve(part, refs) for part in parts)
    assert isinstance(value, str), value
    return value


def parameter_arn(name: str) -> str:
    return f"arn:aws:ssm:eu-west-1:123456789012:parameter/{name.lstrip('/')}"


# --- configParameter: true --------------------------------------------------------------------------------
def test_parameter_holds_the_configured_issuers_and_the_lambdas_route_rules(parameter_stack: Synthesized) -> None:
    _, props = the_parameter(parameter_stack)
    assert props["Name"] == PARAMETER_NAME
    assert props["Type"] == "String" and props["Tier"] == "Standard"
    assert json.loads(props["Value"]) == {
        "issuers": parameter_stack.context["issuers"],  # presets unexpanded: the Lambda expands them
        "routes": {
            "GET /orders/{id}": {"scopes": ["orders:read", "orders:admin"]},
            "ANY /admin/{proxy+}": {"scopes": [], "claims": {"roles": ["admin"], "email_verified": True}},
        },
    }


def test_parameter_value_loads_with_the_authorizers_own_parsers(parameter_stack: Synthesized) -> None:
    value = json.loads(the_parameter(parameter_stack)[1]["Value"])
    issuers = parse_issuers(value["issuers"], "issuers")
    assert f"https://api.descope.com/{DESCOPE['project_id']}" in [i.issuer for i in issuers]
    assert "https://is.example.net:9443/oauth2/token" in [i.issuer for i in issuers]
    routes = parse_routes(value["routes"], "routes")
    assert routes["GET /orders/{id}"].scopes == ("orders:read", "orders:admin")
    assert dict(routes["ANY /admin/{proxy+}"].claims) == {"roles": ("admin",), "email_verified": (True,)}
    # and the way the Lambda reads it: the deployed environment as base, the parameter's issuers and routes on top
    base = load_config({**variables(parameter_stack), "AUTH_CONFIG_PARAMETER": PARAMETER_NAME})
    config = parse_parameter(value, base)
    assert config.issuers == issuers and config.routes == routes


def test_authorizer_reads_the_parameter_and_gets_no_issuers_or_routes_in_its_environment(
        parameter_stack: Synthesized) -> None:
    parameter_id, _ = the_parameter(parameter_stack)
    env = variables(parameter_stack)
    assert env["AUTH_CONFIG_PARAMETER"] == {"Ref": parameter_id}  # Ref of an SSM parameter is its name
    assert env["AUTH_CONFIG_MAX_AGE_SECONDS"] == "120"
    assert "AUTH_ISSUERS" not in env and "AUTH_ROUTES" not in env
    deployed = {**env, "AUTH_CONFIG_PARAMETER": PARAMETER_NAME}
    assert load_config(deployed).config_parameter == PARAMETER_NAME  # the cold start accepts the parameter alone
    assert max_age_from(deployed) == 120
    outputs = parameter_stack.json["Outputs"]
    assert outputs["ConfigParameterName"]["Value"] == {"Ref": parameter_id}


def test_authorizer_may_get_that_one_parameter_and_nothing_else_in_ssm(parameter_stack: Synthesized) -> None:
    parameter_id, props = the_parameter(parameter_stack)
    statements = statements_of_role(parameter_stack, AUTHORIZER)
    ssm = [s for s in statements if any(a.startswith("ssm:") for a in actions(s))]
    assert len(ssm) == 1, ssm
    (statement,) = ssm
    assert statement["Effect"] == "Allow"
    assert actions(statement) == ["ssm:GetParameter"]  # not grant_read's GetParameters/History/DescribeParameters
    assert "*" not in json.dumps(statement["Resource"])
    assert resolve(statement["Resource"], {parameter_id: props["Name"]}) == parameter_arn(PARAMETER_NAME)
    everything = json.dumps(parameter_stack.resources("AWS::IAM::Policy"))
    assert everything.count('"ssm:') == 1 and '"kms:' not in everything  # a String parameter needs no key
    assert not [s for s in statements_of_role(parameter_stack, BACKEND) if "ssm" in json.dumps(s)]


def test_existing_parameter_is_referenced_and_granted_not_created(tmp_path: Path) -> None:
    stack = synthesize(tmp_path, {"configParameter": "/shared/jwt/authorizer-config"})
    assert stack.resources("AWS::SSM::Parameter") == {}
    env = variables(stack)
    assert env["AUTH_CONFIG_PARAMETER"] == "/shared/jwt/authorizer-config"
    assert env["AUTH_CONFIG_MAX_AGE_SECONDS"] == "60"
    assert "AUTH_ISSUERS" not in env
    # its owner may leave "routes" out: then cdk.json's rules apply, never none
    routes = json.loads(symbolic(env["AUTH_ROUTES"]))
    assert routes.pop("ANY /mcp")["mcp"]["tools"] == {"list_orders": {"scopes": ["orders:read"]},
                                                      "create_order": {"scopes": ["orders:write"]}}
    assert routes == {
        "GET /orders": {"scopes": ["orders:read"]},
        "POST /orders": {"scopes": ["orders:write"]},
        "GET /tenants/{tenantId}/orders": {"scopes": [], "tenant": {"param": "tenantId", "claim": "tenants",
                                                                    "roles": ["admin"]}},
    }
    (statement,) = [s for s in statements_of_role(stack, AUTHORIZER) if "ssm" in json.dumps(s)]
    assert actions(statement) == ["ssm:GetParameter"]
    assert resolve(statement["Resource"], {}) == parameter_arn("/shared/jwt/authorizer-config")
    report = json.loads((stack.outdir / "validation-report.json").read_text())
    assert any("trusts the issuers in /shared/jwt/authorizer-config" in v["description"]
               for plugin in report["pluginReports"] for v in plugin["violations"])


def test_without_config_parameter_there_is_no_ssm_resource_or_permission(
        lambda_stack: Synthesized, jwt_stack: Synthesized) -> None:
    for stack in (lambda_stack, jwt_stack):
        assert stack.resources("AWS::SSM::Parameter") == {}
        assert "ssm:" not in json.dumps(stack.resources("AWS::IAM::Policy"))
        assert "ConfigParameterName" not in stack.json["Outputs"]
    env = variables(lambda_stack)
    assert "AUTH_CONFIG_PARAMETER" not in env and "AUTH_CONFIG_MAX_AGE_SECONDS" not in env
    assert json.loads(env["AUTH_ISSUERS"]) == cdk_json_context()["issuers"]


# --- tracing --------------------------------------------------------------------------------------------------
def test_tracing_makes_both_functions_actively_traced_with_powertools_tracer_on(traced_stack: Synthesized) -> None:
    traced = {h: f for h, f in functions(traced_stack).items() if h != METADATA}
    assert set(traced) == {AUTHORIZER, BACKEND, MCP_SERVER}
    for handler, function in traced.items():
        props = function["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}, handler
        assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false", handler
        xray = [s for s in statements_of_role(traced_stack, handler) if "xray:" in json.dumps(s)]
        assert [sorted(actions(s)) for s in xray] == [["xray:PutTelemetryRecords", "xray:PutTraceSegments"]]
        assert xray[0]["Resource"] == "*"  # X-Ray has no resource-level permissions (acknowledged for cdk-nag)
    (ssm,) = [s for s in statements_of_role(traced_stack, AUTHORIZER) if "ssm:" in json.dumps(s)]
    assert actions(ssm) == ["ssm:GetParameter"] and "*" not in json.dumps(ssm["Resource"])


def test_tracing_in_jwt_mode_traces_the_backend(traced_jwt_stack: Synthesized) -> None:
    traced = functions(traced_jwt_stack)
    assert set(traced) == {BACKEND, MCP_SERVER, METADATA}
    for handler in (BACKEND, MCP_SERVER):
        assert traced[handler]["Properties"]["TracingConfig"] == {"Mode": "Active"}
        assert traced[handler]["Properties"]["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"


def test_without_tracing_powertools_is_told_so_and_nothing_is_traced(
        lambda_stack: Synthesized, parameter_stack: Synthesized, jwt_stack: Synthesized) -> None:
    for stack in (lambda_stack, parameter_stack, jwt_stack):
        for handler, function in functions(stack).items():
            props = function["Properties"]
            assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true", handler
            assert "TracingConfig" not in props, handler
        assert "xray:" not in json.dumps(stack.resources("AWS::IAM::Policy"))


def test_tracing_adds_the_xray_sdk_to_the_authorizer_asset(traced_stack: Synthesized,
                                                           lambda_stack: Synthesized) -> None:
    def authorizer_source(stack: Synthesized) -> Path:
        return stack.outdir / "lambda-src" / "authorizer"

    assert (authorizer_source(traced_stack) / TRACING_REQUIREMENTS_FILE).read_text() == TRACING_REQUIREMENTS
    assert not (authorizer_source(lambda_stack) / TRACING_REQUIREMENTS_FILE).exists()
    traced, untraced = (
        {h: f["Properties"]["Code"]["S3Key"] for h, f in functions(stack).items() if h != METADATA}
        for stack in (traced_stack, lambda_stack))
    assert traced["authorizer.handler.handler"] != untraced["authorizer.handler.handler"]  # not the untraced bundle


# --- every variant passes cfn-lint ------------------------------------------------------------------------
def test_cfn_lint_passes_every_variant_template(lambda_stack: Synthesized, lambda_custom_stack: Synthesized,
                                                jwt_stack: Synthesized, parameter_stack: Synthesized,
                                                traced_stack: Synthesized, traced_jwt_stack: Synthesized,
                                                cookie_stack: Synthesized) -> None:
    stacks = (lambda_stack, lambda_custom_stack, jwt_stack, parameter_stack, traced_stack, traced_jwt_stack,
              cookie_stack)
    templates = [str(s.outdir / f"{s.stack_name}.template.json") for s in stacks]
    runner = "import sys; from cfnlint.runner import main; sys.exit(main())"
    # Nothing ignored: the functions no longer DependsOn the role they reference (W3005).
    result = subprocess.run([sys.executable, "-c", runner, "--", *templates],
                            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
