"""``python -m tools doctor``: real tokens from the development issuer, explained against a cdk.json and against an
API and authorizers created in moto's apigatewayv2 (with a Lambda authorizer's environment read from moto)."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import boto3
import pytest
import requests

from authorizer.token import parse_token
from tools.__main__ import main
from tools.doctor import KeySource, diagnose, setup_from_api, setup_from_cdk_json

from .conftest import REGION

ROUTES = [
    {"method": "GET", "path": "/hello"},
    {"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
    {"method": "POST", "path": "/orders", "scopes": ["orders:write"]},
    {"method": "GET", "path": "/health", "public": True},
]


@pytest.fixture
def cdk_json(tmp_path, issuer):
    def write(mode="lambda", issuers=None, routes=ROUTES):
        issuers = issuers or [{"provider": "oidc", "issuer": issuer.issuer_url("oidc"), "audience": "orders-api"}]
        path = tmp_path / "cdk.json"
        path.write_text(json.dumps({"app": "python3 app.py",
                                    "context": {"authorizer": mode, "issuers": issuers, "routes": routes}}))
        return path
    return write


def reports_for(token, path, **keys):
    return {report.kind: report for report in diagnose(token, setup_from_cdk_json(path), KeySource(**keys))}


def failed(report):
    return {finding.topic: finding for finding in report.findings if finding.status == "fail"}


def route(report, route_key):
    [verdict] = [v for v in report.routes if v.route_key == route_key]
    return verdict


def test_a_good_token_passes_both_and_a_missing_scope_is_named_per_route(issuer, cdk_json):
    token = issuer.mint("oidc", client_id="orders-oidc-reader")
    reports = reports_for(token, cdk_json())
    for kind in ("lambda", "jwt"):
        report = reports[kind]
        assert report.accepted and failed(report) == {}, report.findings
        assert {f.topic for f in report.findings} >= {"issuer", "alg", "kid", "signature", "expiry", "audience"}
        assert route(report, "GET /orders").allowed and route(report, "GET /hello").allowed
        denied = route(report, "POST /orders")
        assert (denied.allowed, denied.status) == (False, 403)
        [why] = denied.findings
        assert "orders:write" in why.message and "['orders:read']" in why.message
        assert "--scope orders:write" in why.fix
    assert reports["lambda"].in_use and not reports["jwt"].in_use


def test_descopes_bare_project_id_is_explained_for_the_native_authorizer(issuer, cdk_json):
    path = cdk_json("jwt", [{"provider": "descope", "project_id": "P2devproject",
                             "base_url": issuer.base_url("descope")}])
    token = issuer.mint("descope", issuer_form="bare")
    reports = reports_for(token, path)
    native = failed(reports["jwt"])["issuer"]
    assert "bare project ID 'P2devproject'" in native.message
    assert "AWS API Gateway" in native.fix and "lambda authorizer" in native.fix
    assert reports["lambda"].accepted, "the descope preset accepts the bare form"
    assert reports["jwt"].in_use and route(reports["jwt"], "GET /hello").status == 401


def test_an_audience_mismatch_names_both_sides(issuer, cdk_json):
    token = issuer.mint("oidc", audience="billing-api")
    for report in reports_for(token, cdk_json()).values():
        finding = failed(report)["audience"]
        assert "billing-api" in finding.message and "orders-api" in finding.message
        assert "audience" in finding.fix
        assert all(v.allowed is False for v in report.routes)


def test_client_id_counts_only_when_aud_is_absent(issuer, cdk_json):
    token = issuer.mint("oidc", omit=["aud"], claims={"client_id": "mobile-app"})
    finding = failed(reports_for(token, cdk_json())["lambda"])["audience"]
    assert "client_id 'mobile-app'" in finding.message and "counts only without aud" in finding.message


def test_expiry_says_by_how_long(issuer, cdk_json):
    token = issuer.mint("oidc", expires_in=-60)
    exp = parse_token(token).claims["exp"]
    setup = setup_from_cdk_json(cdk_json())
    reports = {r.kind: r for r in diagnose(token, setup, KeySource(), now=exp + 2 * 3600 + 30)}
    finding = failed(reports["lambda"])["expiry"]
    assert finding.message.startswith("expired 2 h 0 min ago") and "clock skew 60 s" in finding.message
    assert "fresh token" in finding.fix
    assert set(failed(reports["lambda"])) == {"expiry"}, "the other checks still pass and are reported as such"


def test_a_kid_not_in_the_jwks_lists_what_it_holds(issuer, cdk_json):
    token = issuer.mint("oidc", kid="retired-key-2023")
    held = [key["kid"] for key in requests.get(issuer.jwks_url("oidc"), timeout=5).json()["keys"]]
    for report in reports_for(token, cdk_json()).values():
        finding = failed(report)["kid"]
        assert "kid 'retired-key-2023' is not in the JWKS" in finding.message
        assert all(kid in finding.message for kid in held)


def test_the_native_authorizer_wants_rsa_and_a_kid(issuer, cdk_json):
    reports = reports_for(issuer.mint("oidc", alg="ES256"), cdk_json())
    assert "RSA signatures only" in failed(reports["jwt"])["alg"].message
    assert reports["lambda"].accepted
    reports = reports_for(issuer.mint("oidc", header={"kid": None}), cdk_json())
    assert "no kid" in failed(reports["jwt"])["kid"].message


def test_an_issuer_that_differs_by_a_trailing_slash(issuer, cdk_json):
    configured = issuer.issuer_url("oidc") + "/"
    path = cdk_json(issuers=[{"issuer": configured, "audience": "orders-api", "jwks_uri": issuer.jwks_url("oidc")}])
    for report in reports_for(issuer.mint("oidc"), path).values():
        finding = failed(report)["issuer"]
        assert "only by a trailing '/'" in finding.message and repr(issuer.issuer_url("oidc")) in finding.fix


def test_an_unknown_issuer_still_gets_the_other_checks(issuer, cdk_json):
    token = issuer.mint("wso2", expires_in=-3600)
    problems = failed(reports_for(token, cdk_json())["lambda"])
    assert "is not a configured issuer" in problems["issuer"].message
    assert {"issuer", "expiry", "audience"} <= set(problems)


def test_a_tampered_payload_fails_the_signature(issuer, cdk_json):
    header, payload, signature = issuer.mint("oidc").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "orders:read orders:write admin"
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(), signature])
    assert failed(reports_for(forged, cdk_json())["lambda"])["signature"].status == "fail"


def test_offline_with_no_fetch_or_a_jwks_file(issuer, cdk_json, tmp_path):
    token = issuer.mint("oidc", kid="unpublished")
    report = reports_for(token, cdk_json(), fetch=False)["lambda"]
    assert report.accepted and [f.status for f in report.findings if f.topic == "signature"] == ["skip"]
    jwks = requests.get(issuer.jwks_url("oidc"), timeout=5).json()
    report = reports_for(token, cdk_json(), fetch=False, jwks_document=jwks)["lambda"]
    assert "the --jwks-file" in failed(report)["kid"].message


def test_an_opaque_token_is_not_a_jwt(cdk_json):
    report = reports_for("8xLOxBtZp8", cdk_json())["lambda"]
    assert "not a signed JWT" in failed(report)["format"].message


def test_the_cli_reads_the_token_from_stdin_never_prints_it_and_exits_by_verdict(issuer, cdk_json, capsys,
                                                                                 monkeypatch):
    token = issuer.mint("oidc", client_id="orders-oidc-reader")
    path = str(cdk_json())
    monkeypatch.setattr("sys.stdin", io.StringIO(f"Authorization: Bearer {token}\n"))
    assert main(["doctor", "--cdk-json", path]) == 0
    out = capsys.readouterr().out
    assert "Lambda authorizer (configured): ACCEPTS the token" in out
    assert "Public routes (no authorizer): GET /health" in out
    monkeypatch.setenv("TOKEN", token)
    assert main(["doctor", "--token-env", "TOKEN", "--cdk-json", path, "--route", "POST /orders"]) == 1
    assert main(["doctor", "--token-env", "TOKEN", "--cdk-json", path, "--json"]) == 0
    out += capsys.readouterr().out
    assert token not in out and token.split(".")[2] not in out
    assert main(["doctor", "not-a-token", "--cdk-json", path]) == 1


# --- a deployed API, in moto ------------------------------------------------------------------------------------
def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("authorizer/handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def create_lambda_authorizer(apigw, api_id: str, lambda_environment: dict) -> str:
    """The authorizer function (moto's IAM role and Lambda, with this environment) and its REQUEST authorizer."""
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="authorizer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    function = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="jwt-authorizer", Runtime="python3.12", Role=role["Role"]["Arn"],
        Handler="authorizer.handler.handler", Code={"ZipFile": function_zip()},
        Environment={"Variables": lambda_environment})
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function['FunctionArn']}/invocations"
    return apigw.create_authorizer(ApiId=api_id, Name="ours", AuthorizerType="REQUEST", AuthorizerUri=uri,
                                   AuthorizerPayloadFormatVersion="2.0",
                                   IdentitySource=["$request.header.Authorization"])["AuthorizerId"]


def deploy_api(issuer, lambda_environment):
    """An HTTP API as the stack would create it: a native JWT authorizer route, a Lambda authorizer route, and a
    public one."""
    apigw = boto3.client("apigatewayv2", region_name=REGION)
    api_id = apigw.create_api(Name="orders", ProtocolType="HTTP")["ApiId"]
    jwt = apigw.create_authorizer(ApiId=api_id, Name="native", AuthorizerType="JWT",
                                  IdentitySource=["$request.header.Authorization"],
                                  JwtConfiguration={"Issuer": issuer.issuer_url("oidc"), "Audience": ["orders-api"]})
    custom = create_lambda_authorizer(apigw, api_id, lambda_environment)
    apigw.create_route(ApiId=api_id, RouteKey="GET /orders", AuthorizationType="JWT",
                       AuthorizerId=jwt["AuthorizerId"], AuthorizationScopes=["orders:read"])
    apigw.create_route(ApiId=api_id, RouteKey="POST /orders", AuthorizationType="CUSTOM", AuthorizerId=custom)
    apigw.create_route(ApiId=api_id, RouteKey="GET /health", AuthorizationType="NONE")
    return api_id


def test_a_deployed_api_is_read_from_its_routes_authorizers_and_lambda_environment(aws, issuer):
    api_id = deploy_api(issuer, {
        "AUTH_ISSUERS": json.dumps([{"issuer": issuer.issuer_url("oidc"), "audience": "orders-api"}]),
        "AUTH_ROUTES": json.dumps({"POST /orders": {"scopes": ["orders:write"]}}),
    })
    setup = setup_from_api(api_id, REGION)
    assert setup.in_use == set(setup.authorizers) and len(setup.authorizers) == 2
    reports = {r.kind: r for r in diagnose(issuer.mint("oidc", client_id="orders-oidc-reader"), setup)}
    native, ours = reports["jwt"], reports["lambda"]
    assert native.authorizer == "native JWT authorizer 'native'" and native.accepted
    assert [(v.route_key, v.allowed) for v in native.routes] == [("GET /orders", True)]
    assert "jwt-authorizer" in ours.authorizer and ours.accepted
    [denied] = ours.routes
    assert (denied.route_key, denied.allowed, denied.status) == ("POST /orders", False, 403)
    assert "orders:write" in denied.findings[0].message
    assert [r.route_key for r in setup.routes if r.authorizer is None] == ["GET /health"]


def test_a_deployed_lambda_authorizer_configured_in_ssm_is_read_from_the_parameter(aws, issuer, capsys):
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/orders/auth", Type="String",
        Value=json.dumps({"issuers": [{"issuer": issuer.issuer_url("oidc"), "audience": "billing-api"}]}))
    api_id = deploy_api(issuer, {"AUTH_CONFIG_PARAMETER": "/orders/auth"})
    token = issuer.mint("oidc")
    reports = {r.kind: r for r in diagnose(token, setup_from_api(api_id, REGION))}
    assert "billing-api" in failed(reports["lambda"])["audience"].message
    assert main(["doctor", token, "--api-id", api_id, "--region", REGION]) == 1
    out = capsys.readouterr().out
    assert f"API {api_id} ({REGION})" in out and "REJECTS the token" in out and token not in out


def test_an_unknown_api_is_a_clear_error(aws, capsys):
    assert main(["doctor", "a.b.c", "--api-id", "nope123", "--region", REGION]) == 2
    assert "reading API nope123" in capsys.readouterr().err


def test_a_claim_rule_names_the_claim_and_what_the_token_has(issuer, cdk_json):
    path = cdk_json(issuers=[{"provider": "descope", "project_id": "P2devproject",
                              "base_url": issuer.base_url("descope")}],
                    routes=[{"method": "DELETE", "path": "/orders/{id}", "claims": {"roles": ["orders-admin"]}}])
    reader = issuer.mint("descope", client_id="orders-descope-reader")
    report = reports_for(reader, path)["lambda"]
    verdict = route(report, "DELETE /orders/{id}")
    assert report.accepted and (verdict.allowed, verdict.status) == (False, 403)
    [why] = verdict.findings
    assert why.message == ("DELETE /orders/{id} needs claim 'roles' to be one of ['orders-admin']; "
                           'the token has ["orders-viewer"]')
    admin = issuer.mint("descope", client_id="orders-descope")
    assert route(reports_for(admin, path)["lambda"], "DELETE /orders/{id}").allowed


def test_a_descope_session_token_without_aud_passes_lambda_and_jwt_mode_says_to_set_aud(issuer, cdk_json):
    path = cdk_json("jwt", [{"provider": "descope", "project_id": "P2devproject",
                             "base_url": issuer.base_url("descope")}])
    setup = setup_from_cdk_json(path)
    assert any("JWT template that sets aud" in note for note in setup.notes)  # what cdk synth warns, too
    token = issuer.mint("descope", omit=("aud", "client_id"))  # Descope's default session token
    reports = reports_for(token, path)
    assert reports["lambda"].accepted and failed(reports["lambda"]) == {}
    why = failed(reports["jwt"])["audience"]
    assert "neither aud nor client_id" in why.message and "JWT template that sets aud" in why.fix


def test_a_descope_refresh_token_is_explained(issuer, cdk_json):
    path = cdk_json("lambda", [{"provider": "descope", "project_id": "P2devproject",
                                "base_url": issuer.base_url("descope")}])
    reports = reports_for(issuer.mint("descope", claims={"drn": "DSR"}), path)
    assert not reports["lambda"].accepted
    assert "drn" in failed(reports["lambda"])["token-use"].message


def test_the_doctor_and_synthesis_agree_on_the_native_issuer(tmp_path, cdk_json):
    """An issuer that cdk synth refuses for jwt mode is not explained as a working native authorizer."""
    from infra.config import ConfigError as StackConfigError
    from infra.config import select_native_issuer

    configurations = [
        [{"issuer": "https://idp.example.org", "audience": "a", "algorithms": ["ES256"], "token_types": ["at+jwt"]}],
        [{"provider": "descope", "project_id": "P2abc", "issuer_forms": ["bare", "agentic"]}],
        [{"provider": "cognito", "user_pool_id": "eu-west-1_AbC", "client_ids": ["c1"]}],
        [{"provider": "entra", "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "audience": "api://x"}],
        [{"provider": "entra", "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "audience": "api://x",
          "token_versions": ["2.0"]}],
        [{"provider": "entra", "tenant_id": "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "audience": "api://x",
          "token_versions": ["1.0"]}],
    ]
    for issuers in configurations:
        setup = setup_from_cdk_json(cdk_json("jwt", issuers))
        try:
            chosen, _ = select_native_issuer(issuers)
        except StackConfigError:
            assert "jwt" not in setup.authorizers, issuers
        else:
            native = setup.authorizers["jwt"]
            assert (native.issuer, native.audiences) == (chosen.issuer, chosen.audiences), issuers


@pytest.mark.parametrize("configured, held, allowed", [(1, True, False), (True, 1, False), ("1", 1, False),
                                                       (1, 1, True), (True, True, True)])
def test_the_doctor_compares_claim_values_by_json_type(issuer, cdk_json, configured, held, allowed):
    path = cdk_json(issuers=[{"provider": "descope", "project_id": "P2devproject",
                              "base_url": issuer.base_url("descope")}],
                    routes=[{"method": "GET", "path": "/vip", "claims": {"tier": configured}}])
    token = issuer.mint("descope", client_id="orders-descope", claims={"tier": held})
    verdict = route(reports_for(token, path)["lambda"], "GET /vip")
    assert verdict.allowed is allowed
    if not allowed:
        [why] = verdict.findings
        assert why.topic == "claims" and f"the token has {json.dumps(held)}" in why.message


def test_an_entra_v1_token_against_a_v2_only_preset_is_explained_as_its_version(issuer, cdk_json):
    from local.idp.clients import DEV_ENTRA_TENANT, DEV_ENTRA_V1_CLIENT
    from local.idp.shapes import DEV_ENTRA_API_CLIENT_ID, DEV_ENTRA_API_ID_URI

    v2_only = {"provider": "entra", "tenant_id": DEV_ENTRA_TENANT, "base_url": issuer.base_url("entra"),
               "audience": [DEV_ENTRA_API_CLIENT_ID, DEV_ENTRA_API_ID_URI], "token_versions": ["2.0"]}
    token = issuer.mint("entra", client_id=DEV_ENTRA_V1_CLIENT)
    assert parse_token(token).claims["iss"] == issuer.issuer_url("entra", version="1.0")
    reports = reports_for(token, cdk_json("lambda", [v2_only]))
    for kind in ("lambda", "jwt"):
        why = failed(reports[kind])["issuer"]
        assert "Entra v1.0 token of the configured tenant" in why.message, kind
        assert "accessTokenAcceptedVersion to 2" in why.fix, kind
    assert 'add "1.0" to the entra preset\'s token_versions' in failed(reports["lambda"])["issuer"].fix
    both = {name: value for name, value in v2_only.items() if name != "token_versions"}
    assert reports_for(token, cdk_json("lambda", [both]))["lambda"].accepted
