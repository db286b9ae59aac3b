"""The stack the conformance tests drive: HTTP APIs whose routes reproduce the requests behind AWS's samples.

Synthesized in-process with aws-cdk-lib (bundling skipped), with the test functions of ``tests/local/conftest.py``
(``echo`` answers with the event it received; ``authz`` logs its event and allows ``allow:<nonce>``):

- ``SampleApi``: stage ``$default`` with the docs' stage variables; ``ANY /my/{proxy+}`` behind a payload 2.0
  Lambda authorizer (identity sources: the Authorization header and the ``parameter2`` query string, two values as
  in the docs' ``["user1", "123"]``); ``ANY /request`` behind a payload 1.0 authorizer with a 1.0 integration (the
  docs' ``/request`` samples); ``ANY /jwt/{proxy+}`` behind the native JWT authorizer with scopes ``scope1``,
  ``scope2``.
- ``PlainApi``: no stage variables (the captured events come from such APIs); ``$default``, ``ANY
  /handler/{proxy+}`` (payload 2.0), ``ANY /v1/handler/{proxy+}`` (1.0), ``GET /v1/my/path`` (1.0 behind the JWT
  authorizer, the docs' 1.0 sample).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.apigateway.service import LocalHttpApi
from tests.local.conftest import AUDIENCES, TEMPLATE_ISSUER, Issuer, ManualClock, Served, _http, write_functions

STACK = "ConformanceStack"
SAMPLES = Path(__file__).resolve().parent / "samples"
# Samples the project vendored earlier for the authorizer's corpus (tests/conformance/SOURCES.md names them).
AUTHORIZER_CORPUS = Path(__file__).resolve().parents[2] / "conformance" / "data"


def sample_text(name: str) -> str:
    """A vendored sample as text: ``aws_docs/...`` etc. under ``samples/``, or ``corpus:<path>`` from the
    authorizer's corpus."""
    if name.startswith("corpus:"):
        return (AUTHORIZER_CORPUS / name.removeprefix("corpus:")).read_text()
    return (SAMPLES / name).read_text()


def sample(name: str) -> Any:
    return json.loads(sample_text(name))


@dataclass
class ConformanceAssembly:
    outdir: Path
    authz_log: Path


def _synthesize(outdir: Path, functions_dir: Path, authz_log: Path) -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    import aws_cdk as cdk
    from aws_cdk import aws_apigatewayv2 as apigw
    from aws_cdk import aws_apigatewayv2_authorizers as authorizers
    from aws_cdk import aws_apigatewayv2_integrations as integrations
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_

    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, STACK)
    code = lambda_.Code.from_asset(str(functions_dir))

    def function(name: str, handler: str, environment: dict[str, str] | None = None) -> Any:
        return lambda_.Function(stack, name, runtime=lambda_.Runtime.PYTHON_3_12, handler=handler, code=code,
                                timeout=cdk.Duration.seconds(10), memory_size=256, environment=environment)

    echo = function("Echo", "echo.handler")
    authz = function("Authz", "authz.handler", {"AUTHZ_LOG": str(authz_log), "RESPONSE_MODE": "iam"})
    v1, v2 = apigw.PayloadFormatVersion.VERSION_1_0, apigw.PayloadFormatVersion.VERSION_2_0
    ANY, GET = apigw.HttpMethod.ANY, apigw.HttpMethod.GET

    def integration(name: str, version: Any) -> Any:
        return integrations.HttpLambdaIntegration(name, echo, payload_format_version=version)

    sample_api = apigw.HttpApi(stack, "SampleApi")
    default_stage = sample_api.default_stage.node.default_child  # type: ignore[union-attr]
    default_stage.stage_variables = {"stageVariable1": "value1", "stageVariable2": "value2"}
    # Payload 2.0 with IAM policy answers needs the low-level construct (and its permission).
    v2_authorizer = apigw.HttpAuthorizer(
        stack, "SampleV2Authorizer", http_api=sample_api, type=apigw.HttpAuthorizerType.LAMBDA,
        identity_source=["$request.header.Authorization", "$request.querystring.parameter2"],
        authorizer_uri=f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
                       f"{authz.function_arn}/invocations",
        payload_format_version=apigw.AuthorizerPayloadVersion.VERSION_2_0, enable_simple_responses=False,
        results_cache_ttl=cdk.Duration.seconds(0))
    authz.add_permission("ApiGatewayInvoke", principal=iam.ServicePrincipal("apigateway.amazonaws.com"))
    v2_route_authorizer = apigw.HttpAuthorizer.from_http_authorizer_attributes(
        stack, "SampleV2RouteAuthorizer", authorizer_id=v2_authorizer.authorizer_id, authorizer_type="CUSTOM")
    v1_authorizer = authorizers.HttpLambdaAuthorizer(
        "SampleV1Authorizer", authz, results_cache_ttl=cdk.Duration.seconds(0),
        identity_source=["$request.header.Authorization", "$request.querystring.QueryString1"])
    jwt = authorizers.HttpJwtAuthorizer("SampleJwtAuthorizer", TEMPLATE_ISSUER, jwt_audience=AUDIENCES)
    sample_api.add_routes(path="/my/{proxy+}", methods=[ANY], integration=integration("MyPath", v2),
                          authorizer=v2_route_authorizer)
    sample_api.add_routes(path="/request", methods=[ANY], integration=integration("Request", v1), authorizer=v1_authorizer)
    sample_api.add_routes(path="/jwt/{proxy+}", methods=[ANY], integration=integration("Jwt", v2), authorizer=jwt,
                          authorization_scopes=["scope1", "scope2"])

    plain_api = apigw.HttpApi(stack, "PlainApi", default_integration=integration("PlainDefault", v2))
    plain_api.add_routes(path="/handler/{proxy+}", methods=[ANY], integration=integration("Handler", v2))
    plain_api.add_routes(path="/v1/handler/{proxy+}", methods=[ANY], integration=integration("HandlerV1", v1))
    plain_jwt = authorizers.HttpJwtAuthorizer("PlainJwtAuthorizer", TEMPLATE_ISSUER, jwt_audience=AUDIENCES)
    plain_api.add_routes(path="/v1/my/path", methods=[GET], integration=integration("MyPathV1", v1), authorizer=plain_jwt)
    app.synth()


@pytest.fixture(scope="session")
def conformance_assembly(tmp_path_factory: pytest.TempPathFactory) -> ConformanceAssembly:
    root = tmp_path_factory.mktemp("conformance")
    authz_log = root / "authz.log"
    authz_log.touch()
    _synthesize(root / "cdk.out", write_functions(root / "functions"), authz_log)
    return ConformanceAssembly(root / "cdk.out", authz_log)


def _serve(assembly: ConformanceAssembly, api: str, issuer: Issuer, logs: Path) -> Iterator[Served]:
    clock = ManualClock()
    served = LocalHttpApi.from_assembly(assembly.outdir, STACK, api=api, log_sink=logs / "functions.log", clock=clock,
                                        jwt_issuer_override={TEMPLATE_ISSUER: issuer.url}, concurrency=2)
    served.start()
    with _http() as http:
        yield Served(served, http, clock, logs / "functions.log", assembly.authz_log)
    served.close()


@pytest.fixture(scope="session")
def sample_api(conformance_assembly: ConformanceAssembly, jwks_issuer: Issuer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(conformance_assembly, "SampleApi", jwks_issuer, tmp_path_factory.mktemp("sample-api-logs"))


@pytest.fixture(scope="session")
def plain_api(conformance_assembly: ConformanceAssembly, jwks_issuer: Issuer,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from _serve(conformance_assembly, "PlainApi", jwks_issuer, tmp_path_factory.mktemp("plain-api-logs"))
