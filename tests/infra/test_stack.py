"""The synthesized template of each mode: authorizer on every non-public route, the right payload and responses,
identity sources, cache TTL, JWT issuer/audience/scopes, the Lambda's AUTH_* equal to the configuration, and the
functions, logs and stage as deployed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authorizer.config import load_config
from infra.cdk_app import cdk_json_context
from infra.config import ConfigError
from tests.synth_support import symbolic

from .conftest import CUSTOM_ROUTES, DESCOPE, JWT_ROUTES, Synthesized, synthesize

TENANT_ROUTE = "GET /tenants/{tenantId}/orders"  # cdk.json's route with a tenant rule
MCP_ROUTE = "ANY /mcp"  # cdk.json's MCP endpoint, with per-tool rules
METADATA_ROUTES = {"GET /.well-known/oauth-protected-resource", "GET /.well-known/oauth-protected-resource/mcp"}
HANDLERS = {"authorizer.handler.handler", "sample_backend.handler.handler", "sample_mcp.server.handler",
            "index.handler"}  # the last: the inline function serving the MCP endpoint's metadata


def routes_by_key(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["RouteKey"]: r["Properties"] for r in stack.resources("AWS::ApiGatewayV2::Route").values()}


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.items()))


def function_id(stack: Synthesized, handler: str) -> str:
    functions = stack.resources("AWS::Lambda::Function")
    (logical_id,) = [k for k, f in functions.items() if f["Properties"]["Handler"] == handler]
    return logical_id


def lambda_authorizers(stack: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """The Lambda authorizers by role: ``cached`` (every route but the tenant routes) and, when there is one,
    ``per_request`` (the tenant routes'), each as (logical ID, properties)."""
    found = {}
    for logical_id, resource in stack.resources("AWS::ApiGatewayV2::Authorizer").items():
        props = resource["Properties"]
        found["per_request" if props["Name"].endswith("-tenant-routes") else "cached"] = (logical_id, props)
    return found


def authorizer_function(stack: Synthesized) -> dict[str, Any]:
    return stack.resources("AWS::Lambda::Function")[function_id(stack, "authorizer.handler.handler")]["Properties"]


def api_endpoint(stack: Synthesized) -> str:
    """How ``symbolic`` writes the API's URL (``Fn::GetAtt <api>.ApiEndpoint``)."""
    return f"<GetAtt:{only(stack.resources('AWS::ApiGatewayV2::Api'))[0]}.ApiEndpoint>"


API_URL = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com"  # the API's URL once deployed, in these tests


def deployed_config(stack: Synthesized, variables: dict[str, Any]) -> Any:
    """What the authorizer's cold start reads once deployed (the API's URL in place of its ``Fn::GetAtt``)."""
    return load_config({name: symbolic(value).replace(api_endpoint(stack), API_URL)
                        for name, value in variables.items()})


# --- lambda mode ----------------------------------------------------------------------------------------------
def test_lambda_mode_is_a_request_authorizer_with_payload_2_and_iam_responses(lambda_stack: Synthesized) -> None:
    _, props = lambda_authorizers(lambda_stack)["cached"]
    assert props["AuthorizerType"] == "REQUEST"
    assert props["AuthorizerPayloadFormatVersion"] == "2.0"
    assert props["EnableSimpleResponses"] is False
    # caching + route rules: the cache key includes the route in IAM mode too (issue 10)
    assert props["IdentitySource"] == ["$request.header.Authorization", "$context.routeKey"]
    assert props["AuthorizerResultTtlInSeconds"] == 300


def test_lambda_mode_protects_every_non_public_route_with_its_authorizer(lambda_stack: Synthesized) -> None:
    authorizers = lambda_authorizers(lambda_stack)
    routes = routes_by_key(lambda_stack)
    assert set(routes) == {"GET /hello", "GET /orders", "POST /orders", TENANT_ROUTE, "GET /health", MCP_ROUTE,
                           *METADATA_ROUTES}
    for key in ("GET /hello", "GET /orders", "POST /orders", TENANT_ROUTE, MCP_ROUTE):
        role = "per_request" if key in (TENANT_ROUTE, MCP_ROUTE) else "cached"
        assert routes[key]["AuthorizationType"] == "CUSTOM", key
        assert routes[key]["AuthorizerId"] == {"Ref": authorizers[role][0]}, key
        assert "AuthorizationScopes" not in routes[key], "scopes are the Lambda's job in lambda mode"
    for key in ("GET /health", *METADATA_ROUTES):
        assert routes[key]["AuthorizationType"] == "NONE", key
        assert "AuthorizerId" not in routes[key], key


def test_lambda_auth_environment_equals_the_configuration(lambda_stack: Synthesized) -> None:
    variables = authorizer_function(lambda_stack)["Environment"]["Variables"]
    assert json.loads(variables["AUTH_ISSUERS"]) == cdk_json_context()["issuers"]
    # the MCP endpoint's resource is the API's own URL, known at deployment
    endpoint = api_endpoint(lambda_stack)
    assert json.loads(symbolic(variables["AUTH_ROUTES"])) == {
        "GET /orders": {"scopes": ["orders:read"]},
        "POST /orders": {"scopes": ["orders:write"]},
        TENANT_ROUTE: {"scopes": [], "tenant": {"param": "tenantId", "claim": "tenants", "roles": ["admin"]}},
        MCP_ROUTE: {"scopes": [], "mcp": {
            "resource": f"{endpoint}/mcp",
            "tools": {"list_orders": {"scopes": ["orders:read"]}, "create_order": {"scopes": ["orders:write"]}}}},
    }
    assert variables["AUTH_RESPONSE"] == "iam"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "jwt-authorizer"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
    deployed = deployed_config(lambda_stack, variables)
    read = deployed.routes  # what the cold start reads, once deployed
    assert read["GET /orders"].scopes == ("orders:read",)
    mcp = read[MCP_ROUTE].mcp
    assert mcp is not None and mcp.resource == API_URL + "/mcp"
    tenant = read[TENANT_ROUTE].tenant
    assert tenant is not None and (tenant.param, tenant.roles) == ("tenantId", ("admin",))


def test_custom_lambda_config_reaches_authorizer_and_lambda(lambda_custom_stack: Synthesized) -> None:
    _, authorizer = only(lambda_custom_stack.resources("AWS::ApiGatewayV2::Authorizer"))
    props = authorizer["Properties"]
    assert props["EnableSimpleResponses"] is True
    assert props["AuthorizerPayloadFormatVersion"] == "2.0"
    assert props["AuthorizerResultTtlInSeconds"] == 120
    # simple responses + caching + route rules: the cache key must include the route
    assert props["IdentitySource"] == ["$request.header.Authorization", "$context.routeKey"]
    variables = authorizer_function(lambda_custom_stack)["Environment"]["Variables"]
    assert json.loads(variables["AUTH_ISSUERS"]) == lambda_custom_stack.context["issuers"]  # presets unexpanded
    assert json.loads(variables["AUTH_ROUTES"]) == {
        "GET /orders/{id}": {"scopes": ["orders:read", "orders:admin"]},
        "ANY /admin/{proxy+}": {"scopes": [], "claims": {"roles": ["admin"], "email_verified": True}},
    }
    assert variables["AUTH_RESPONSE"] == "simple"
    routes = routes_by_key(lambda_custom_stack)
    assert {k for k, r in routes.items() if r["AuthorizationType"] == "CUSTOM"} == {
        r["method"] + " " + r["path"] for r in CUSTOM_ROUTES if not r.get("public")}


def test_authorizer_lambda_may_be_invoked_by_this_apis_authorizers_only(lambda_stack: Synthesized) -> None:
    """Each of the two authorizers (cached, and the tenant routes' per-request one) has its own permission."""
    authorizers = lambda_authorizers(lambda_stack)
    assert set(authorizers) == {"cached", "per_request"}
    api_id, _ = only(lambda_stack.resources("AWS::ApiGatewayV2::Api"))
    function = function_id(lambda_stack, "authorizer.handler.handler")
    permissions = [p["Properties"] for p in lambda_stack.resources("AWS::Lambda::Permission").values()
                   if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}]
    assert len(permissions) == 2  # one per authorizer, nothing broader
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["Action"] == "lambda:InvokeFunction"
    assert sorted(symbolic(p["SourceArn"]) for p in permissions) == sorted(
        f"arn:<Ref:AWS::Partition>:execute-api:<Ref:AWS::Region>:<Ref:AWS::AccountId>:<Ref:{api_id}>"
        f"/authorizers/<Ref:{authorizer_id}>" for authorizer_id, _ in authorizers.values())
    for _, props in authorizers.values():
        assert props["ApiId"] == {"Ref": api_id}
        uri = props["AuthorizerUri"]["Fn::Join"][1]
        assert {"Fn::GetAtt": [function, "Arn"]} in uri  # each authorizer invokes that same function
        assert ":lambda:path/2015-03-31/functions/" in json.dumps(uri) and "/invocations" in json.dumps(uri)


def test_tenant_routes_are_decided_per_request_by_a_second_authorizer_of_the_same_function(
        lambda_stack: Synthesized) -> None:
    """An answer on a tenant route names the request's tenant: it must never be reused for another request."""
    authorizers = lambda_authorizers(lambda_stack)
    _, cached = authorizers["cached"]
    _, per_request = authorizers["per_request"]
    assert cached["AuthorizerResultTtlInSeconds"] == 300
    assert per_request["AuthorizerResultTtlInSeconds"] == 0
    assert per_request["Name"] == cached["Name"] + "-tenant-routes"
    same = ("AuthorizerType", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "AuthorizerUri", "ApiId")
    assert {k: per_request[k] for k in same} == {k: cached[k] for k in same}
    # The function reads from the event how far its answer may be reused: per route, or (request id) never.
    assert cached["IdentitySource"] == ["$request.header.Authorization", "$context.routeKey"]
    assert per_request["IdentitySource"] == [*cached["IdentitySource"], "$context.requestId"]
    routes = routes_by_key(lambda_stack)
    on_per_request = {k for k, r in routes.items() if r.get("AuthorizerId") == {"Ref": authorizers["per_request"][0]}}
    assert on_per_request == {TENANT_ROUTE, MCP_ROUTE}  # an MCP answer names the tool: never reused either


def test_tenant_routes_with_simple_responses_get_the_per_request_authorizer_too(tmp_path: Path) -> None:
    stack = synthesize(tmp_path, {"lambdaResponse": "simple", "cacheTtlSeconds": 60})
    authorizers = lambda_authorizers(stack)
    assert [authorizers[r][1]["AuthorizerResultTtlInSeconds"] for r in ("cached", "per_request")] == [60, 0]
    assert all(props["EnableSimpleResponses"] is True for _, props in authorizers.values())
    assert routes_by_key(stack)[TENANT_ROUTE]["AuthorizerId"] == {"Ref": authorizers["per_request"][0]}


@pytest.mark.parametrize("context", [
    {"cacheTtlSeconds": 0},  # nothing is cached: one authorizer decides every request anyway
    {"routes": [{"method": "GET", "path": "/hello"}, {"method": "GET", "path": "/orders", "scopes": ["o:read"]}]},
], ids=["ttl-0", "no-tenant-route"])
def test_one_authorizer_when_nothing_cached_or_no_tenant_route(tmp_path: Path, context: dict[str, Any]) -> None:
    stack = synthesize(tmp_path, context)
    authorizer_id, authorizer = only(stack.resources("AWS::ApiGatewayV2::Authorizer"))
    assert {r["AuthorizerId"]["Ref"] for r in routes_by_key(stack).values() if "AuthorizerId" in r} == {authorizer_id}
    # Uncached with tenant routes: the route key and the request id tell the function its answers are per request.
    assert authorizer["Properties"]["IdentitySource"] == (
        ["$request.header.Authorization", "$context.routeKey", "$context.requestId"] if "cacheTtlSeconds" in context
        else ["$request.header.Authorization", "$context.routeKey"])


def test_token_cookie_leaves_the_authorizer_without_identity_source_or_cache(cookie_stack: Synthesized,
                                                                             lambda_stack: Synthesized) -> None:
    """API Gateway skips the authorizer (401) when an identity source is missing, so a browser sending only
    Passage's cookie would never reach it behind the Authorization header. With tenant routes the identity sources
    are context variables only, always present (the route key and the request id: answers are per request)."""
    _, authorizer = only(cookie_stack.resources("AWS::ApiGatewayV2::Authorizer"))
    props = authorizer["Properties"]
    assert props["IdentitySource"] == ["$context.routeKey", "$context.requestId"]
    assert props["AuthorizerResultTtlInSeconds"] == 0
    assert props["AuthorizerType"] == "REQUEST" and props["AuthorizerPayloadFormatVersion"] == "2.0"
    variables = authorizer_function(cookie_stack)["Environment"]["Variables"]
    assert variables["AUTH_TOKEN_COOKIE"] == "psg_auth_token"
    assert deployed_config(cookie_stack, variables).token_cookie == "psg_auth_token"  # what the cold start reads
    assert "AUTH_TOKEN_COOKIE" not in authorizer_function(lambda_stack)["Environment"]["Variables"]


# --- jwt mode -------------------------------------------------------------------------------------------------
def test_jwt_mode_uses_the_native_authorizer_with_issuer_and_audience(jwt_stack: Synthesized) -> None:
    _, authorizer = only(jwt_stack.resources("AWS::ApiGatewayV2::Authorizer"))
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert props["IdentitySource"] == ["$request.header.Authorization"]
    assert props["JwtConfiguration"] == {
        "Issuer": f"https://api.descope.com/{DESCOPE['project_id']}",
        "Audience": [DESCOPE["project_id"]],
    }


def test_jwt_mode_stops_at_the_shipped_tenant_route_saying_why(tmp_path: Path) -> None:
    """cdk.json's routes with ``-c authorizer=jwt``: the native authorizer cannot check a path's tenant."""
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path, {"authorizer": "jwt", "issuers": [DESCOPE]})
    (index,) = [i for i, r in enumerate(cdk_json_context()["routes"]) if "tenant" in r]
    assert caught.value.field == f"routes[{index}].tenant" and "authorizer=lambda" in caught.value.problem


def test_jwt_mode_deploys_no_lambda_authorizer(jwt_stack: Synthesized) -> None:
    handlers = [f["Properties"]["Handler"] for f in jwt_stack.resources("AWS::Lambda::Function").values()]
    assert handlers == ["sample_backend.handler.handler"]
    assert "authorizers/" not in json.dumps(jwt_stack.resources("AWS::Lambda::Permission"))


def test_jwt_mode_routes_carry_their_scopes(jwt_stack: Synthesized) -> None:
    authorizer_id, _ = only(jwt_stack.resources("AWS::ApiGatewayV2::Authorizer"))
    routes = routes_by_key(jwt_stack)
    assert routes["GET /orders/{id}"]["AuthorizationScopes"] == ["orders:read", "orders:admin"]
    assert "AuthorizationScopes" not in routes["GET /hello"]
    for key in ("GET /hello", "GET /orders/{id}"):
        assert routes[key]["AuthorizationType"] == "JWT"
        assert routes[key]["AuthorizerId"] == {"Ref": authorizer_id}
    assert routes["GET /health"]["AuthorizationType"] == "NONE"


def warnings(stack: Synthesized) -> list[str]:
    report = json.loads((stack.outdir / "validation-report.json").read_text())
    return [v["description"] for plugin in report["pluginReports"] for v in plugin["violations"]
            if v["severity"] == "warning"]


def test_jwt_mode_warns_which_descope_issuer_forms_it_rejects(jwt_stack: Synthesized) -> None:
    project_id = DESCOPE["project_id"]
    assert any(f"tokens with iss https://api.descope.com/v1/apps/{project_id}, {project_id}, "
               f"https://api.descope.com/v1/apps/agentic/{project_id}/ will be rejected" in w
               for w in warnings(jwt_stack)), warnings(jwt_stack)


def test_jwt_mode_warns_that_descope_session_tokens_need_a_template_that_sets_aud(jwt_stack: Synthesized) -> None:
    assert any("JWT template that sets aud" in w for w in warnings(jwt_stack)), warnings(jwt_stack)


def test_shipped_example_issuer_is_flagged_at_synthesis(lambda_stack: Synthesized) -> None:
    assert any("example.com issuer" in w for w in warnings(lambda_stack))


# --- both modes: functions, roles, logs, stage, outputs -----------------------------------------------------
def test_functions_run_arm64_on_the_newest_python_with_powertools_settings(lambda_stack: Synthesized) -> None:
    functions = lambda_stack.resources("AWS::Lambda::Function")
    assert {f["Properties"]["Handler"] for f in functions.values()} == HANDLERS
    for function in functions.values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.14"
        assert props["Architectures"] == ["arm64"]
        variables = props["Environment"]["Variables"]
        if props["Handler"] == "index.handler":  # inline, no Powertools: it returns a fixed document
            continue
        assert variables["POWERTOOLS_SERVICE_NAME"] in ("jwt-authorizer", "sample-backend", "sample-mcp")
        assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
        assert "TracingConfig" not in props
        assert "LogGroup" in props["LoggingConfig"]


def test_every_log_group_has_bounded_retention(lambda_stack: Synthesized, lambda_custom_stack: Synthesized) -> None:
    groups = lambda_stack.resources("AWS::Logs::LogGroup")
    assert len(groups) == 5  # authorizer, backend, MCP server, the metadata function, access logs
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {30}
    custom = lambda_custom_stack.resources("AWS::Logs::LogGroup")
    assert {g["Properties"]["RetentionInDays"] for g in custom.values()} == {14}


def test_roles_may_only_write_their_own_log_group(lambda_stack: Synthesized) -> None:
    roles = lambda_stack.resources("AWS::IAM::Role")
    assert len(roles) == len(HANDLERS)
    for role in roles.values():
        assert "ManagedPolicyArns" not in role["Properties"]
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "lambda.amazonaws.com"}
    policies = lambda_stack.resources("AWS::IAM::Policy").values()
    assert len(policies) == len(HANDLERS)
    functions = lambda_stack.resources("AWS::Lambda::Function")
    assert len(functions) == len(HANDLERS)
    for handler, function in ((f["Properties"]["Handler"], f["Properties"]) for f in functions.values()):
        role_id = function["Role"]["Fn::GetAtt"][0]
        (log_group_id,) = function["LoggingConfig"]["LogGroup"].values()  # {"Ref": <its log group>}
        assert log_group_id in lambda_stack.resources("AWS::Logs::LogGroup"), handler
        (policy,) = [p for p in policies if p["Properties"]["Roles"] == [{"Ref": role_id}]]
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert statement["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}, handler
    role_ids = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert role_ids == set(roles)  # one role per function, not shared


def test_stage_writes_json_access_logs_with_the_authorizer_error(lambda_stack: Synthesized) -> None:
    _, stage = only(lambda_stack.resources("AWS::ApiGatewayV2::Stage"))
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    log_format = json.loads(props["AccessLogSettings"]["Format"])
    assert log_format["authorizerError"] == "$context.authorizer.error"
    assert log_format["requestId"] == "$context.requestId"
    access_logs = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert access_logs in lambda_stack.resources("AWS::Logs::LogGroup")


def test_stage_has_default_throttling(lambda_stack: Synthesized, lambda_custom_stack: Synthesized) -> None:
    """100 requests per second, bursts of 200 (the documented default); ``throttle`` overrides both."""
    _, stage = only(lambda_stack.resources("AWS::ApiGatewayV2::Stage"))
    assert stage["Properties"]["DefaultRouteSettings"] == {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}
    _, custom = only(lambda_custom_stack.resources("AWS::ApiGatewayV2::Stage"))
    assert custom["Properties"]["DefaultRouteSettings"] == {"ThrottlingRateLimit": 20, "ThrottlingBurstLimit": 40}


def test_outputs_are_the_api_url_and_the_authorizer_mode(lambda_stack: Synthesized, jwt_stack: Synthesized) -> None:
    for stack, mode in ((lambda_stack, "lambda"), (jwt_stack, "jwt")):
        outputs = stack.json["Outputs"]
        assert outputs["AuthorizerMode"]["Value"] == mode
        assert "execute-api" in json.dumps(outputs["ApiUrl"]["Value"])


def test_routes_integrate_the_sample_backend_and_the_mcp_endpoint_the_sample_mcp_server(
        lambda_stack: Synthesized) -> None:
    integrations = lambda_stack.resources("AWS::ApiGatewayV2::Integration")
    target = {k: i["Properties"]["IntegrationUri"]["Fn::GetAtt"][0] for k, i in integrations.items()}
    for integration in integrations.values():
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
        assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    served = {route["RouteKey"]: lambda_stack.json["Resources"][route["Target"]["Fn::Join"][1][1]["Ref"]]
              ["Properties"]["IntegrationUri"]["Fn::GetAtt"][0] for route in routes_by_key(lambda_stack).values()}
    handler = {k: f["Properties"]["Handler"] for k, f in lambda_stack.resources("AWS::Lambda::Function").items()}
    assert {key: handler[function] for key, function in served.items()} == {
        **{key: "sample_backend.handler.handler" for key in
           ("GET /hello", "GET /orders", "POST /orders", TENANT_ROUTE, "GET /health")},
        MCP_ROUTE: "sample_mcp.server.handler",
        **{key: "index.handler" for key in METADATA_ROUTES},
    }
    assert len(set(target.values())) == 3  # one integration per function


# --- the local profile: bundling skipped ----------------------------------------------------------------------
def test_skipped_bundling_leaves_each_asset_holding_its_package_alone(lambda_stack: Synthesized) -> None:
    functions = lambda_stack.resources("AWS::Lambda::Function").values()
    assets = {f["Properties"]["Handler"]: lambda_stack.outdir / f["Metadata"]["aws:asset:path"] for f in functions
              if f["Properties"]["Handler"] != "index.handler"}  # the metadata function's code is inline
    assert {h: p.relative_to(lambda_stack.outdir).as_posix() for h, p in assets.items()} == {
        "authorizer.handler.handler": "lambda-src/authorizer",
        "sample_backend.handler.handler": "lambda-src/sample_backend",
        "sample_mcp.server.handler": "lambda-src/sample_mcp",
    }
    assert [p.name for p in assets["authorizer.handler.handler"].iterdir()] == ["authorizer"]
    assert [p.name for p in assets["sample_backend.handler.handler"].iterdir()] == ["sample_backend"]
    staged = assets["authorizer.handler.handler"] / "authorizer"
    assert (staged / "handler.py").is_file() and (staged / "requirements.txt").is_file()
    assert not list(staged.rglob("__pycache__"))
    assert (assets["sample_backend.handler.handler"] / "sample_backend" / "handler.py").is_file()


def test_local_profile_synthesizes_jwt_mode_with_a_loopback_issuer(tmp_path: Path) -> None:
    local = synthesize(tmp_path, {"authorizer": "jwt", "routes": JWT_ROUTES,
                                  "issuers": [{"issuer": "http://127.0.0.1:8555", "audience": "local-api"}]})
    authorizers = {a["Properties"]["Name"]: a["Properties"] for a in local.resources("AWS::ApiGatewayV2::Authorizer").values()}
    mcp = authorizers.pop(next(name for name in authorizers if name.endswith("-mcp0")))["JwtConfiguration"]
    assert mcp["Issuer"] == "http://127.0.0.1:8555"
    assert [symbolic(a) for a in mcp["Audience"]] == [api_endpoint(local) + "/mcp"]  # the MCP endpoint's own
    (authorizer,) = authorizers.values()
    assert authorizer["JwtConfiguration"] == {"Issuer": "http://127.0.0.1:8555", "Audience": ["local-api"]}
    assert any("local runs only" in w for w in warnings(local))


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_a_bundled_synthesis_refuses_a_loopback_issuer(tmp_path: Path, mode: str) -> None:
    """Bundling on means a deployment: API Gateway and the Lambda cannot reach 127.0.0.1."""
    context = {"aws:cdk:bundling-stacks": ["**"], "authorizer": mode,
               "issuers": [{"issuer": "http://127.0.0.1:8555", "audience": "local-api"}]}
    with pytest.raises(ConfigError) as caught:
        synthesize(tmp_path, context)
    assert caught.value.field == "issuers[0].issuer" and "loopback" in caught.value.problem
