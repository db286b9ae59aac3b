"""Fixtures for the local HTTP API tests: test Lambda code, a JWKS issuer on 127.0.0.1, a real synthesized stack.

The stack is synthesized in-process with aws-cdk-lib (bundling skipped), once per session, and served by one
:class:`LocalHttpApi` per HTTP API. Tests keep their authorizer cache entries apart by using fresh tokens.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from local.apigateway.service import LocalHttpApi

STACK = "GatewayTestStack"
TEMPLATE_ISSUER = "https://issuer.example.test"
AUDIENCES = ["api://orders", "other-client"]

ECHO_PY = '''
"""Echoes what it was invoked with; ?mode=... selects other response shapes and failures."""
import base64
import json
import os
import time

INVOCATIONS = 0


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    query = event.get("queryStringParameters") or {}
    mode = query.get("mode", "echo")
    if mode == "raw":
        return {"hello": "world"}
    if mode == "string":
        return "plain text"
    if mode == "full":
        return {
            "statusCode": 201,
            "headers": {"content-type": "text/plain", "x-custom": "one", "x-number": 5},
            "multiValueHeaders": {"x-multi": ["a", "b"]},
            "cookies": ["session=abc; Path=/", "theme=dark"],
            "body": "created",
        }
    if mode == "binary":
        return {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                "body": base64.b64encode(bytes([0, 1, 255])).decode(), "isBase64Encoded": True}
    if mode == "malformed":
        return {"statusCode": "teapot"}
    if mode == "raise":
        raise RuntimeError("the handler failed")
    if mode == "crash":
        os._exit(7)
    if mode == "sleep":
        time.sleep(float(query.get("seconds", "5")))
    if mode == "hold":
        # Says it started, then holds its environment until the test creates <dir>/release (a stalled peer).
        open(os.path.join(query["dir"], f"{os.getpid()}.started"), "w").close()
        while not os.path.exists(os.path.join(query["dir"], "release")):
            time.sleep(0.005)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({
            "pid": os.getpid(),
            "invocations": INVOCATIONS,
            "event": event,
            "env": {name: os.environ.get(name) for name in (
                "GREETING", "FROM_PARAMETER", "JOINED", "IMPORTED", "OVERRIDDEN", "ONLY_ECHO",
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "_HANDLER")},
            "context": {
                "function_name": context.function_name,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "invoked_function_arn": context.invoked_function_arn,
                "aws_request_id": context.aws_request_id,
                "remaining_ms": context.get_remaining_time_in_millis(),
            },
        }),
    }
'''

AUTHZ_PY = '''
"""A test Lambda authorizer: the identity value is "<verdict>:<nonce>"; every call is appended to AUTHZ_LOG."""
import json
import os


def handler(event, context):
    identity = event["identitySource"]
    token = identity[0] if isinstance(identity, list) else identity.split(",")[0]
    with open(os.environ["AUTHZ_LOG"], "a") as log:
        log.write(json.dumps({"function": context.function_name, "token": token, "event": event}) + "\\n")
    verdict, _, nonce = token.partition(":")
    if verdict == "boom":
        raise RuntimeError("the authorizer failed")
    if verdict == "malformed":
        return {"allowed": "maybe"}
    allowed = verdict == "allow"
    context_out = {"nonce": nonce, "number": 7, "flag": True}
    if os.environ.get("RESPONSE_MODE") == "simple":
        return {"isAuthorized": allowed, "context": context_out}
    arn = event.get("routeArn") or event["methodArn"]
    api_arn, stage = arn.split("/")[0], arn.split("/")[1]
    statements = [{"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny",
                   "Resource": f"{api_arn}/{stage}/*"}]
    if allowed:  # cache-safe: this token may not delete orders, whatever route it was first seen on
        statements.append({"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{api_arn}/{stage}/DELETE/orders/*"})
    return {"principalId": f"user-{nonce}", "policyDocument": {"Version": "2012-10-17", "Statement": statements},
            "context": context_out}
'''

BROKEN_PY = '''
import module_that_does_not_exist  # noqa: F401


def handler(event, context):
    return {}
'''


def write_functions(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "echo.py").write_text(textwrap.dedent(ECHO_PY))
    (directory / "authz.py").write_text(textwrap.dedent(AUTHZ_PY))
    (directory / "broken.py").write_text(textwrap.dedent(BROKEN_PY))
    return directory


# --- a JWKS issuer -------------------------------------------------------------------------------------------------


def _rsa_key() -> tuple[str, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    public_jwk = jwk.construct(public_pem, "RS256").to_dict()
    public_jwk.pop("alg", None)
    return pem, public_jwk


@dataclass
class Issuer:
    """An OIDC issuer on 127.0.0.1: discovery and JWKS, with keys that can be published later (rotation)."""

    url: str = ""
    private_keys: dict[str, str] = field(default_factory=dict)
    public_keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: set[str] = field(default_factory=set)
    jwks_fetches: int = 0

    def sign(self, claims: dict[str, Any], *, kid: str | None = "k1", key: str = "k1", algorithm: str = "RS256") -> str:
        """A token signed with private key ``key`` (or, for HS*, with ``key`` itself as the secret)."""
        headers = {"kid": kid} if kid is not None else {}
        secret = self.private_keys[key] if algorithm.startswith("RS") else key
        return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.url, "sub": "user-1", "aud": AUDIENCES[0], "iat": now - 5, "exp": now + 300}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.public_keys[kid], "kid": kid, "use": "sig"} for kid in sorted(self.published)]}


@pytest.fixture(scope="session")
def jwks_issuer() -> Iterator[Issuer]:
    state = Issuer()
    for kid in ("k1", "k2"):
        state.private_keys[kid], state.public_keys[kid] = _rsa_key()
    state.published.add("k1")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                document = {"issuer": state.url, "jwks_uri": state.url + "/jwks"}
            elif self.path == "/jwks":
                state.jwks_fetches += 1
                document = state.jwks()
            else:
                self.send_error(404)
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# --- the synthesized stack ---------------------------------------------------------------------------------------


@dataclass
class Assembly:
    outdir: Path
    functions_dir: Path
    authz_log: Path


def synthesize(outdir: Path, functions_dir: Path, authz_log: Path) -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    import aws_cdk as cdk
    from aws_cdk import aws_apigatewayv2 as apigw
    from aws_cdk import aws_apigatewayv2_authorizers as authorizers
    from aws_cdk import aws_apigatewayv2_integrations as integrations
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_lambda as lambda_

    app = cdk.App(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []})
    stack = cdk.Stack(app, STACK)
    greeting_parameter = cdk.CfnParameter(stack, "GreetingParameter", default="from-a-parameter")
    code = lambda_.Code.from_asset(str(functions_dir))

    def function(name: str, handler: str, *, timeout_s: int = 3, environment: dict[str, str] | None = None,
                 reserved: int | None = None) -> Any:
        return lambda_.Function(
            stack, name, runtime=lambda_.Runtime.PYTHON_3_12, handler=handler, code=code,
            timeout=cdk.Duration.seconds(timeout_s), memory_size=256, environment=environment,
            reserved_concurrent_executions=reserved,
        )

    echo = function("Echo", "echo.handler", environment={
        "GREETING": "hello",
        "FROM_PARAMETER": greeting_parameter.value_as_string,
        "JOINED": cdk.Fn.join("-", ["region", stack.region]),
        "IMPORTED": cdk.Fn.import_value("SomeOtherStackExport"),
        "ONLY_ECHO": "template-value",
    })
    slow = function("Slow", "echo.handler", timeout_s=1)
    broken = function("Broken", "broken.handler")
    reserved_one = function("ReservedOne", "echo.handler", timeout_s=30, reserved=1)
    authz_reserved_zero = function("AuthzReservedZero", "authz.handler", reserved=0,
                                   environment={"AUTHZ_LOG": str(authz_log), "RESPONSE_MODE": "simple"})
    authz_iam = function("AuthzIam", "authz.handler", environment={"AUTHZ_LOG": str(authz_log), "RESPONSE_MODE": "iam"})
    authz_simple = function("AuthzSimple", "authz.handler",
                            environment={"AUTHZ_LOG": str(authz_log), "RESPONSE_MODE": "simple"})

    api = apigw.HttpApi(stack, "Api")
    # A payload 2.0 authorizer with IAM policy responses needs the low-level construct (and its permission).
    iam_v2 = apigw.HttpAuthorizer(
        stack, "IamV2Authorizer", http_api=api, type=apigw.HttpAuthorizerType.LAMBDA,
        identity_source=["$request.header.Authorization"],
        authorizer_uri=f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
                       f"{authz_iam.function_arn}/invocations",
        payload_format_version=apigw.AuthorizerPayloadVersion.VERSION_2_0,
        enable_simple_responses=False, results_cache_ttl=cdk.Duration.seconds(300),
    )
    authz_iam.add_permission("ApiGatewayInvoke", principal=iam.ServicePrincipal("apigateway.amazonaws.com"))
    iam_v2_route_authorizer = apigw.HttpAuthorizer.from_http_authorizer_attributes(
        stack, "IamV2RouteAuthorizer", authorizer_id=iam_v2.authorizer_id, authorizer_type="CUSTOM"
    )
    simple = authorizers.HttpLambdaAuthorizer(
        "SimpleAuthorizer", authz_simple, response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
        identity_source=["$request.header.X-Token", "$request.querystring.tenant"],
        results_cache_ttl=cdk.Duration.seconds(300),
    )
    iam_v1 = authorizers.HttpLambdaAuthorizer("IamV1Authorizer", authz_iam, results_cache_ttl=cdk.Duration.seconds(0))
    jwt_authorizer = authorizers.HttpJwtAuthorizer("JwtAuthorizer", TEMPLATE_ISSUER, jwt_audience=AUDIENCES)

    echo_integration = integrations.HttpLambdaIntegration("EchoIntegration", echo)
    GET, POST, DELETE, ANY = (apigw.HttpMethod.GET, apigw.HttpMethod.POST, apigw.HttpMethod.DELETE,
                              apigw.HttpMethod.ANY)

    def route(path: str, methods: list[Any], integration: Any = echo_integration, **options: Any) -> None:
        api.add_routes(path=path, methods=methods, integration=integration, **options)

    route("/public", [GET, POST])
    route("/orders", [GET], authorizer=iam_v2_route_authorizer)
    route("/orders/{id}", [GET, DELETE], authorizer=iam_v2_route_authorizer)
    route("/orders/special", [GET])
    route("/files/{proxy+}", [ANY])
    route("/files/{proxy+}", [POST])
    route("/simple", [GET], authorizer=simple)
    route("/v1", [GET], authorizer=iam_v1)
    route("/v1-integration", [GET], authorizer=iam_v2_route_authorizer,
          integration=integrations.HttpLambdaIntegration(
              "EchoV1Integration", echo, payload_format_version=apigw.PayloadFormatVersion.VERSION_1_0))
    route("/jwt", [GET], authorizer=jwt_authorizer)
    route("/jwt/scoped", [GET], authorizer=jwt_authorizer, authorization_scopes=["orders:read", "orders:admin"])
    route("/slow", [GET], integration=integrations.HttpLambdaIntegration("SlowIntegration", slow))
    route("/integration-timeout", [GET], integration=integrations.HttpLambdaIntegration(
        "ShortIntegration", slow, timeout=cdk.Duration.millis(300)))
    route("/broken", [GET], integration=integrations.HttpLambdaIntegration("BrokenIntegration", broken))
    route("/reserved-one", [GET], integration=integrations.HttpLambdaIntegration("ReservedOneIntegration", reserved_one))
    route("/authorizer-reserved-zero", [GET], authorizer=authorizers.HttpLambdaAuthorizer(
        "ReservedZeroAuthorizer", authz_reserved_zero, response_types=[authorizers.HttpLambdaResponseType.SIMPLE],
        results_cache_ttl=cdk.Duration.seconds(0)))

    # A second API: only a named stage (with a stage variable), a $default route and one more route.
    second = apigw.HttpApi(
        stack, "SecondApi", create_default_stage=False,
        default_integration=integrations.HttpLambdaIntegration("SecondDefault", echo),
    )
    second.add_routes(path="/only", methods=[GET], integration=integrations.HttpLambdaIntegration("SecondOnly", echo))
    stage = apigw.HttpStage(stack, "ProdStage", http_api=second, stage_name="prod", auto_deploy=True)
    stage.node.default_child.stage_variables = {"color": "blue"}  # type: ignore[union-attr]
    app.synth()


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    root = tmp_path_factory.mktemp("assembly")
    functions_dir = write_functions(root / "functions")
    authz_log = root / "authz.log"
    authz_log.touch()
    outdir = root / "cdk.out"
    synthesize(outdir, functions_dir, authz_log)
    return Assembly(outdir, functions_dir, authz_log)


# --- the local API -----------------------------------------------------------------------------------------------


class ManualClock:
    """A monotonic clock the tests move: authorizer cache TTLs and JWKS cooldowns without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Served:
    api: LocalHttpApi
    http: requests.Session
    clock: ManualClock
    log_file: Path
    authz_log: Path

    @property
    def url(self) -> str:
        return self.api.url

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=30, **options)

    def request(self, method: str, path: str, **options: Any) -> requests.Response:
        return self.http.request(method, self.url + path, timeout=30, **options)

    def authorizer_calls(self, token: str) -> list[dict[str, Any]]:
        calls = [json.loads(line) for line in self.authz_log.read_text().splitlines() if line.strip()]
        return [call for call in calls if call["token"] == token]


def new_nonce() -> str:
    return uuid.uuid4().hex[:12]


def _http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy between the tests and 127.0.0.1
    return session


@pytest.fixture(scope="session")
def served(assembly: Assembly, jwks_issuer: Issuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    clock = ManualClock()
    log_file = tmp_path_factory.mktemp("logs") / "functions.log"
    api = LocalHttpApi.from_assembly(
        assembly.outdir, STACK, api="Api",
        env_overrides={"OVERRIDDEN": "by-override", "Echo": {"ONLY_ECHO": "echo-override"}},
        jwt_issuer_override={TEMPLATE_ISSUER: jwks_issuer.url},
        log_sink=log_file, clock=clock,
    )
    api.start()
    with _http() as http:
        yield Served(api, http, clock, log_file, assembly.authz_log)
    api.close()


@pytest.fixture(scope="session")
def second_api(assembly: Assembly, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log_file = tmp_path_factory.mktemp("logs-second") / "functions.log"
    clock = ManualClock()
    api = LocalHttpApi.from_assembly(assembly.outdir, STACK, api="SecondApi", log_sink=log_file, clock=clock)
    api.start()
    with _http() as http:
        yield Served(api, http, clock, log_file, assembly.authz_log)
    api.close()
