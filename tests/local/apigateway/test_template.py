"""Reading the synthesized template: intrinsic functions, route selection, and the HTTP API's parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.apigateway.model import Route
from local.apigateway.routing import select_route
from local.apigateway.template import load_http_api
from local.cloudformation.intrinsics import IntrinsicResolver, TemplateError, Unresolvable, api_id_for
from tests.local.conftest import AUDIENCES, STACK, TEMPLATE_ISSUER, Assembly

# --- intrinsic functions ------------------------------------------------------------------------------------------

TEMPLATE = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev"},
        "NoDefault": {"Type": "String"},
        "FromSsm": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/some/name"},
        "Names": {"Type": "CommaDelimitedList", "Default": "a, b"},
    },
    "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}},
    "Resources": {
        "FnA1B2C3D4": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "x.y"}},
        "Named": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": {"Fn::Sub": "${AWS::StackName}-named"}}},
        "HttpApiF00D": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
        "Config": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/app/config", "Value": "{}"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    },
}


@pytest.fixture
def resolver() -> IntrinsicResolver:
    return IntrinsicResolver(TEMPLATE, "MyStack")


def test_ref_resolves_pseudo_parameters_and_parameter_defaults(resolver: IntrinsicResolver) -> None:
    assert resolver.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert resolver.resolve({"Ref": "AWS::StackName"}) == "MyStack"
    assert resolver.resolve({"Ref": "Stage"}) == "dev"
    assert resolver.resolve({"Ref": "Names"}) == ["a", "b"]


def test_parameter_overrides_win_over_defaults() -> None:
    resolver = IntrinsicResolver(TEMPLATE, "MyStack", {"Stage": "prod", "NoDefault": "given"})
    assert resolver.resolve({"Ref": "Stage"}) == "prod"
    assert resolver.resolve({"Ref": "NoDefault"}) == "given"


@pytest.mark.parametrize("value", [
    {"Ref": "NoDefault"},
    {"Ref": "FromSsm"},
    {"Fn::ImportValue": "Elsewhere"},
    {"Fn::GetAtt": ["Table", "StreamArn"]},
    {"Ref": "Missing"},
])
def test_what_a_local_run_cannot_know_is_unresolvable(resolver: IntrinsicResolver, value: object) -> None:
    with pytest.raises(Unresolvable):
        resolver.resolve(value)


def test_resources_resolve_to_local_physical_ids(resolver: IntrinsicResolver) -> None:
    assert resolver.resolve({"Ref": "FnA1B2C3D4"}) == "MyStack-FnA1B2C3D4"
    assert resolver.resolve({"Fn::GetAtt": ["Named", "Arn"]}) == "arn:aws:lambda:us-east-1:123456789012:function:MyStack-named"
    assert resolver.resolve({"Ref": "HttpApiF00D"}) == api_id_for("HttpApiF00D") == "httpapif00"
    assert resolver.resolve({"Fn::GetAtt": "HttpApiF00D.ApiEndpoint"}) == "https://httpapif00.execute-api.us-east-1.amazonaws.com"
    assert resolver.resolve({"Ref": "Config"}) == "/app/config"
    assert resolver.resolve({"Ref": "Table"}) == "Table"


def test_join_sub_select_split_and_if(resolver: IntrinsicResolver) -> None:
    assert resolver.resolve({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":x"]]}) == "arn:aws:x"
    assert resolver.resolve({"Fn::Sub": "${AWS::Region}/${Stage}/${!Literal}/${FnA1B2C3D4.Arn}"}) == (
        "us-east-1/dev/${Literal}/arn:aws:lambda:us-east-1:123456789012:function:MyStack-FnA1B2C3D4"
    )
    assert resolver.resolve({"Fn::Sub": ["${Greeting}, ${Stage}", {"Greeting": "hi"}]}) == "hi, dev"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::If": ["IsDev", "yes", "no"]}) == "yes"
    assert resolver.resolve({"Fn::ToJsonString": {"a": [{"Ref": "Stage"}]}}) == '{"a":["dev"]}'


def test_no_value_removes_the_property_or_item(resolver: IntrinsicResolver) -> None:
    assert resolver.resolve({"A": {"Ref": "AWS::NoValue"}, "B": 1}) == {"B": 1}
    assert resolver.resolve(["x", {"Ref": "AWS::NoValue"}]) == ["x"]


# --- route selection ----------------------------------------------------------------------------------------------

ROUTES = [
    Route("R1", "GET /pets"),
    Route("R2", "GET /pets/dog/1"),
    Route("R3", "GET /pets/dog/{id}"),
    Route("R4", "GET /pets/{proxy+}"),
    Route("R5", "ANY /{proxy+}"),
    Route("R6", "POST /pets/{name}"),
    Route("R7", "ANY /pets/{name}"),
    Route("R8", "GET /owners/{owner}/pets/{pet}"),
]


def chosen(method: str, path: str, routes: list[Route] = ROUTES) -> tuple[str, dict[str, str]] | None:
    match = select_route(routes, method, path)
    return (match.route.route_key, match.path_parameters) if match else None


def test_an_exact_route_beats_a_parameter_route() -> None:
    assert chosen("GET", "/pets/dog/1") == ("GET /pets/dog/1", {})


def test_a_parameter_route_beats_a_greedy_route() -> None:
    assert chosen("GET", "/pets/dog/2") == ("GET /pets/dog/{id}", {"id": "2"})


def test_a_greedy_parameter_takes_the_rest_of_the_path() -> None:
    assert chosen("GET", "/pets/cat/1/photos") == ("GET /pets/{proxy+}", {"proxy": "cat/1/photos"})
    assert chosen("DELETE", "/anything/at/all") == ("ANY /{proxy+}", {"proxy": "anything/at/all"})


def test_the_method_specific_route_beats_any_for_the_same_path() -> None:
    assert chosen("POST", "/pets/rex") == ("POST /pets/{name}", {"name": "rex"})
    assert chosen("PUT", "/pets/rex") == ("ANY /pets/{name}", {"name": "rex"})


def test_a_route_for_another_method_is_skipped_for_a_less_specific_one() -> None:
    assert chosen("DELETE", "/pets") == ("ANY /{proxy+}", {"proxy": "pets"})


def test_path_parameters_are_decoded_and_need_a_value() -> None:
    assert chosen("GET", "/owners/a%20b/pets/c") == ("GET /owners/{owner}/pets/{pet}", {"owner": "a b", "pet": "c"})
    assert chosen("GET", "/owners//pets/x") == ("ANY /{proxy+}", {"proxy": "owners//pets/x"})


def test_the_path_is_decoded_once_before_routes_are_matched() -> None:
    """As API Gateway does (issue 10): an encoded spelling selects the same route as the plain one."""
    assert chosen("GET", "/p%65ts/dog/1") == ("GET /pets/dog/1", {})
    assert chosen("POST", "/%70ets/rex") == ("POST /pets/{name}", {"name": "rex"})
    # %2F is a slash once decoded: c%2Fd is two segments, so the two-parameter route no longer fits
    assert chosen("GET", "/owners/a%20b/pets/c%2Fd") == ("ANY /{proxy+}", {"proxy": "owners/a b/pets/c/d"})
    assert chosen("GET", "/pets/dog/%2532") == ("GET /pets/dog/{id}", {"id": "%32"})  # decoded once, not twice


def test_default_route_catches_what_nothing_else_matches() -> None:
    routes = [Route("A", "GET /only"), Route("D", "$default")]
    assert chosen("GET", "/only", routes) == ("GET /only", {})
    assert chosen("POST", "/only", routes) == ("$default", {})
    assert chosen("GET", "/", routes) == ("$default", {})


def test_no_route_and_no_default_is_no_match() -> None:
    routes = [Route("A", "GET /only"), Route("B", "GET /files/{proxy+}")]
    assert chosen("GET", "/other", routes) is None
    assert chosen("GET", "/only/extra", routes) is None
    assert chosen("GET", "/files", routes) is None  # a greedy variable needs the slash after its prefix
    # ... and then matches the empty rest, as a captured event shows ("/handler/" → {"proxy": ""}).
    assert chosen("GET", "/files/", routes) == ("GET /files/{proxy+}", {"proxy": ""})


# --- the synthesized template -------------------------------------------------------------------------------------


def test_routes_and_their_authorization_come_from_the_template(assembly: Assembly) -> None:
    api = load_http_api(assembly.outdir, STACK, api="Api")
    routes = {route.route_key: route for route in api.routes}
    assert {"GET /public", "GET /orders/{id}", "DELETE /orders/{id}", "ANY /files/{proxy+}", "GET /jwt/scoped"} <= set(routes)
    assert routes["GET /public"].authorization_type == "NONE"
    assert routes["GET /orders"].authorization_type == "CUSTOM"
    assert routes["GET /jwt/scoped"].authorization_type == "JWT"
    assert routes["GET /jwt/scoped"].scopes == ("orders:read", "orders:admin")
    assert api.authorizers[routes["GET /orders"].authorizer or ""].name == "IamV2Authorizer"


def test_authorizer_properties_come_from_the_template(assembly: Assembly) -> None:
    api = load_http_api(assembly.outdir, STACK, api="Api")
    by_name = {authorizer.name: authorizer for authorizer in api.authorizers.values()}
    iam_v2, simple, iam_v1, jwt = (by_name[n] for n in ("IamV2Authorizer", "SimpleAuthorizer", "IamV1Authorizer", "JwtAuthorizer"))
    assert (iam_v2.authorizer_type, iam_v2.payload_format_version, iam_v2.enable_simple_responses, iam_v2.result_ttl_s) == (
        "REQUEST", "2.0", False, 300)
    assert (simple.payload_format_version, simple.enable_simple_responses) == ("2.0", True)
    assert simple.identity_sources == ("$request.header.X-Token", "$request.querystring.tenant")
    assert (iam_v1.payload_format_version, iam_v1.result_ttl_s) == ("1.0", 0)
    assert api.functions[iam_v2.function or ""].name == api.functions[iam_v1.function or ""].name
    assert (jwt.authorizer_type, jwt.jwt_issuer, jwt.jwt_audiences) == ("JWT", TEMPLATE_ISSUER, tuple(AUDIENCES))


def test_functions_get_their_code_directory_and_resolved_environment(assembly: Assembly) -> None:
    api = load_http_api(assembly.outdir, STACK, api="Api")
    echo = next(f for f in api.functions.values() if f.handler == "echo.handler" and f.timeout_s == 3)
    assert echo.code_dir is not None and (echo.code_dir / "echo.py").read_text() == (assembly.functions_dir / "echo.py").read_text()
    assert echo.code_dir.parent == assembly.outdir.resolve()  # the staged asset, not the source directory
    assert echo.environment["GREETING"] == "hello"
    assert echo.environment["FROM_PARAMETER"] == "from-a-parameter"
    assert echo.environment["JOINED"] == "region-us-east-1"
    assert "IMPORTED" not in echo.environment
    assert "ImportValue" in echo.unresolved_environment["IMPORTED"]
    assert (echo.memory_mb, echo.runtime) == (256, "python3.12")
    assert "Echo" in echo.aliases


def test_integrations_keep_payload_version_and_timeout(assembly: Assembly) -> None:
    api = load_http_api(assembly.outdir, STACK, api="Api")
    routes = {route.route_key: route for route in api.routes}
    assert api.integrations[routes["GET /public"].integration or ""].payload_format_version == "2.0"
    assert api.integrations[routes["GET /v1-integration"].integration or ""].payload_format_version == "1.0"
    assert api.integrations[routes["GET /integration-timeout"].integration or ""].timeout_ms == 300
    assert api.integrations[routes["GET /public"].integration or ""].timeout_ms == 30_000


def test_a_named_stage_and_its_variables(assembly: Assembly) -> None:
    api = load_http_api(assembly.outdir, STACK, api="SecondApi")
    assert [(stage.name, dict(stage.variables)) for stage in api.stages] == [("prod", {"color": "blue"})]
    assert {route.route_key for route in api.routes} == {"$default", "GET /only"}


def test_a_stack_with_several_apis_needs_one_chosen(assembly: Assembly) -> None:
    with pytest.raises(TemplateError, match="several HTTP APIs"):
        load_http_api(assembly.outdir, STACK)
    with pytest.raises(TemplateError, match="no HTTP API 'Nope'"):
        load_http_api(assembly.outdir, STACK, api="Nope")


def test_an_unknown_stack_names_the_stacks_there(assembly: Assembly) -> None:
    with pytest.raises(TemplateError, match=STACK):
        load_http_api(assembly.outdir, "NoSuchStack")


def test_the_assembly_is_read_without_a_manifest(assembly: Assembly, tmp_path: Path) -> None:
    """Only <Stack>.template.json and <Stack>.assets.json: the asset paths are relative to the assembly."""
    for name in (f"{STACK}.template.json", f"{STACK}.assets.json"):
        (tmp_path / name).write_text((assembly.outdir / name).read_text())
    assets = json.loads((assembly.outdir / f"{STACK}.assets.json").read_text())["files"]
    for entry in assets.values():
        source = assembly.outdir / entry["source"]["path"]
        if source.is_dir():
            (tmp_path / entry["source"]["path"]).symlink_to(source)
    api = load_http_api(tmp_path, STACK, api="Api")
    assert all(function.code_dir is not None and function.code_problem is None for function in api.functions.values())
