"""Tenant paths through the local gateway: the ``pathParameters`` a Lambda authorizer gets, and what it answers.

API Gateway decodes the request path once, then matches routes (shared/reference/aws-api-gateway.md): the tenant a
route's ``{tenantId}`` matched is the decoded text (``/tenants/%41/orders`` → ``A``), a ``%2F`` is a ``/`` that
separates segments (so ``/tenants/A%2FB/orders`` selects no route: 404, no authorizer call), and a ``%25`` is
decoded once (``%252F`` → the tenant ``%2F``). The authorizer reads the tenant from ``pathParameters`` only, so
these are the values its tenant rule compares. Odd tenants (unicode, invalid UTF-8, a dot-segment, 1,000
characters) must end in a 403, never a 500.

The first tests build the events in-process (``routing`` + ``route_call`` + ``lambda_authorizer``); the rest serve a
hand-built HTTP API whose routes use the real authorizer (``authorizer.handler.handler``, payload 2.0 with IAM and
with simple responses, payload 1.0) in warm worker processes, with Descope multi-tenant tokens from the dev issuer.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest

from local.apigateway.authorizers.lambda_authorizer import authorizer_event_v1, authorizer_event_v2
from local.apigateway.messages import GatewayRequest, GatewayResponse
from local.apigateway.model import Authorizer, HttpApi, Integration, LambdaFunction, Route, Stage
from local.apigateway.route_call import RouteCall
from local.apigateway.routing import select_route
from local.apigateway.service import LocalHttpApi
from local.idp.clients import DEV_DESCOPE_PROJECT, default_clients
from local.idp.issuer import DevIssuer
from tests.local.conftest import write_functions

PROJECT_ROOT = Path(__file__).resolve().parents[3]
LONG = "t" * 1000

#: (request path, the tenantId API Gateway matches; None: no route, 404)
CASES = {
    "plain": ("/tenants/A/orders", "A"),
    "percent-encoded": ("/tenants/%41/orders", "A"),
    "encoded first segment": ("/%74enants/A/orders", "A"),
    "encoded slash": ("/tenants/A%2FB/orders", None),
    "encoded slash at the end": ("/tenants/A%2F/orders", None),
    "double-encoded slash": ("/tenants/A%252FB/orders", "A%2FB"),
    "unicode": ("/tenants/%C3%A9quipe/orders", "équipe"),
    "invalid UTF-8": ("/tenants/%FF/orders", "\ufffd"),
    "wildcard": ("/tenants/%2A/orders", "*"),
    "dot-segment": ("/tenants/../orders", ".."),
    "1000 characters": (f"/tenants/{LONG}/orders", LONG),
}


# --- the events, in-process ---------------------------------------------------------------------------------------


def model_api(routes: list[Route], authorizers: dict[str, Authorizer] | None = None,
              functions: dict[str, LambdaFunction] | None = None,
              integrations: dict[str, Integration] | None = None) -> HttpApi:
    return HttpApi("Api", "a1b2c3d4e5", "tenants", "TenantPathsStack", [Stage("$default")], routes,
                   integrations or {}, authorizers or {}, functions or {})


def events_for(path: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(payload 2.0 event, payload 1.0 event) for GET ``path`` on the tenant route, or None when no route matches."""
    route = Route("TenantRoute", "GET /tenants/{tenantId}/orders", "CUSTOM", "Authz")
    api = model_api([route])
    match = select_route(api.routes, "GET", path)
    if match is None:
        return None
    request = GatewayRequest("GET", path, [("Authorization", "Bearer x")])
    call = RouteCall(api, request, api.stages[0], path, match, "127.0.0.1")
    return authorizer_event_v2(call, ["Bearer x"]), authorizer_event_v1(call, ["Bearer x"])


@pytest.mark.parametrize("case", CASES)
def test_the_authorizer_event_carries_the_decoded_tenant_in_both_payload_versions(case):
    path, tenant = CASES[case]
    events = events_for(path)
    if tenant is None:
        assert events is None, "a %2F is a / that separates segments: no route has that many"
        return
    assert events is not None
    v2, v1 = events
    assert v2["pathParameters"] == {"tenantId": tenant} == v1["pathParameters"]
    # the raw path stays as the client sent it; only the matched parameter is decoded
    assert v2["rawPath"] == path == v1["path"]
    assert v2["routeKey"] == "GET /tenants/{tenantId}/orders" and v1["resource"] == "/tenants/{tenantId}/orders"
    json.dumps(v2, ensure_ascii=False).encode("utf-8")  # what the worker sends: serializable whatever the tenant


def test_a_literal_route_beats_the_tenant_route():
    routes = [Route("T", "GET /tenants/{tenantId}/orders"), Route("L", "GET /tenants/special/orders")]
    match = select_route(routes, "GET", "/tenants/special/orders")
    assert match is not None and (match.route.route_key, match.path_parameters) == ("GET /tenants/special/orders", {})
    match = select_route(routes, "GET", "/tenants/%73pecial/orders")  # decoded before matching: the literal too
    assert match is not None and match.route.route_key == "GET /tenants/special/orders"


# --- served, with the real authorizer -----------------------------------------------------------------------------

ROUTES = {  # route key -> authorizer logical id
    "GET /tenants/{tenantId}/orders": "OursV2Iam",
    "GET /simple/tenants/{tenantId}/orders": "OursV2Simple",
    "GET /v1/tenants/{tenantId}/orders": "OursV1",
    "GET /recorded/tenants/{tenantId}/orders": "RecorderV2",
    "GET /recorded-v1/tenants/{tenantId}/orders": "RecorderV1",
    "GET /hello": "OursV2Iam",  # no rule: any valid token; its answers are cached with the tenant route's
}
TENANT_RULE = {"tenant": {"param": "tenantId", "roles": ["admin"]}}
TENANT_ROUTES = [key for key, authorizer_id in ROUTES.items() if authorizer_id.startswith("Ours") and "{" in key]


def function(logical_id: str, handler: str, code_dir: Path, environment: dict[str, str]) -> LambdaFunction:
    return LambdaFunction(logical_id, f"tenants-{logical_id}", f"arn:aws:lambda:us-east-1:123456789012:function:"
                          f"tenants-{logical_id}", handler, "python3.12", code_dir, 10.0, 256, environment)


def authorizer(logical_id: str, function_id: str, version: str, *, simple: bool = False, ttl: int = 0,
               per_request: bool = False) -> Authorizer:
    """``per_request``: ``$context.routeKey`` and ``$context.requestId`` among the identity sources, as the construct
    sets up its tenant routes' authorizer."""
    sources = ("$request.header.Authorization",) + (("$context.routeKey", "$context.requestId") if per_request else ())
    return Authorizer(logical_id, logical_id.lower(), logical_id, "REQUEST", sources, function_id, version, simple, ttl)


@pytest.fixture(scope="module")
def issuer() -> Iterator[DevIssuer]:
    with DevIssuer(clients=default_clients()) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(issuer: DevIssuer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalHttpApi, Path]]:
    root = tmp_path_factory.mktemp("tenant-paths")
    code = write_functions(root / "functions")  # echo.py and the recording authz.py of the gateway tests
    (code / "authorizer").symlink_to(PROJECT_ROOT / "authorizer", target_is_directory=True)
    authz_log = root / "authz.log"
    authz_log.touch()
    ours = {"AUTH_ISSUERS": json.dumps([{"provider": "descope", "project_id": DEV_DESCOPE_PROJECT,
                                         "base_url": issuer.base_url("descope")}]),
            "AUTH_ROUTES": json.dumps({key: TENANT_RULE for key in TENANT_ROUTES})}
    functions = {
        "Echo": function("Echo", "echo.handler", code, {}),
        "Ours": function("Ours", "authorizer.handler.handler", code, ours),
        "OursSimple": function("OursSimple", "authorizer.handler.handler", code, {**ours, "AUTH_RESPONSE": "simple"}),
        "Recorder": function("Recorder", "authz.handler", code, {"AUTHZ_LOG": str(authz_log)}),
    }
    authorizers = {
        "OursV2Iam": authorizer("OursV2Iam", "Ours", "2.0", ttl=300),  # cached: reused across tenant paths
        "OursV2Simple": authorizer("OursV2Simple", "OursSimple", "2.0", simple=True, per_request=True),
        "OursV1": authorizer("OursV1", "Ours", "1.0"),
        "RecorderV2": authorizer("RecorderV2", "Recorder", "2.0"),
        "RecorderV1": authorizer("RecorderV1", "Recorder", "1.0"),
    }
    routes = [Route(f"R{n}", key, "CUSTOM", authorizer_id, integration="EchoIntegration")
              for n, (key, authorizer_id) in enumerate(ROUTES.items())]
    api = model_api(routes, authorizers, functions,
                    {"EchoIntegration": Integration("EchoIntegration", "AWS_PROXY", "Echo", "2.0", 30_000)})
    served = LocalHttpApi(api, log_sink=io.StringIO())
    try:
        yield served, authz_log
    finally:
        served.close()


def get(gateway: tuple[LocalHttpApi, Path], path: str, token: str, scheme: str = "Bearer ") -> GatewayResponse:
    api, _ = gateway
    return api.handle(GatewayRequest("GET", path, [("Authorization", scheme + token)]))


def body(response: GatewayResponse) -> Any:
    return json.loads(response.body)


def admin_of_a(issuer: DevIssuer, **claims: Any) -> str:
    """A Descope session token: admin in tenant A, a member without roles of tenant B."""
    return issuer.mint("descope", tenants={"A": {"roles": ["admin"]}, "B": {}}, dct="A", claims=claims or None)


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["/recorded", "/recorded-v1"])
def test_the_served_authorizer_events_carry_the_decoded_tenant(gateway, issuer, prefix):
    _, authz_log = gateway
    for case, (path, tenant) in CASES.items():
        token = f"allow:{case}-{prefix}"  # the recording authorizer's allow verdict, one log entry per case
        response = get(gateway, prefix + path, token, scheme="")
        if tenant is None:
            assert response.status == 404, case
            continue
        assert response.status == 200, (case, response.body)
        [call] = [json.loads(line) for line in authz_log.read_text().splitlines() if json.loads(line)["token"] == token]
        assert call["event"]["pathParameters"] == {"tenantId": tenant}, case
        assert body(response)["event"]["pathParameters"] == {"tenantId": tenant}, case  # the integration's too


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "/simple", "/v1"])
def test_an_admin_of_tenant_a_gets_a_and_is_refused_b_in_every_authorizer_shape(gateway, issuer, prefix):
    token = admin_of_a(issuer)
    allowed = get(gateway, f"{prefix}/tenants/A/orders", token)
    assert allowed.status == 200, allowed.body
    assert get(gateway, f"{prefix}/tenants/B/orders", token).status == 403  # a member of B, not its admin
    assert get(gateway, f"{prefix}/tenants/C/orders", token).status == 403
    assert get(gateway, f"{prefix}/tenants/A/orders", token).status == 200  # and a cached answer still opens A
    context = body(allowed)["event"]["requestContext"]["authorizer"]["lambda"]
    if prefix == "/simple":  # decided per request ($context.requestId): the context names the request's tenant
        assert context["authorized_tenant"] == "A" and context["authorized_tenant_roles"] == '["admin"]'
    else:  # an answer that may be reused on another tenant (cached, payload 1.0) names none
        assert "authorized_tenant" not in context


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["", "/simple", "/v1"])
def test_odd_tenant_paths_are_refused_or_not_found_never_a_500(gateway, issuer, prefix):
    token = admin_of_a(issuer)
    for case, (path, tenant) in CASES.items():
        status = get(gateway, prefix + path, token).status
        if tenant is None:
            assert status == 404, case
        elif tenant == "A" and (case == "plain" or prefix == "/simple"):
            assert status == 200, case  # the authorizer compared the decoded tenant: A
        else:
            # IAM answers on tenant routes are allow-lists of decoded resources (.../GET/tenants/A/orders); the
            # local route ARN keeps the raw text (%41, %74enants), which no Allow covers: an encoded path fails
            # closed (whether AWS's routeArn is raw or decoded is not documented)
            assert status == 403, case


@pytest.mark.slow
def test_tokens_with_tenant_ids_that_could_widen_a_policy_get_nothing(gateway, issuer):
    for odd in ("*", "A*", "?", "a/b", "%41", "équipe", "..", LONG):
        token = issuer.mint("descope", tenants={odd: {"roles": ["admin"]}})
        for prefix in ("", "/simple", "/v1"):
            for tenant in ("A", "B", quote(odd, safe="")):  # the last: the path names the token's own odd tenant
                status = get(gateway, f"{prefix}/tenants/{tenant}/orders", token).status
                assert status == (404 if "/" in unquote(tenant) else 403), (odd, prefix, tenant)


@pytest.mark.slow
def test_a_cached_answer_from_a_route_without_a_tenant_rule_never_opens_an_encoded_tenant_path(gateway, issuer):
    """One authorizer, cached by the token alone, for plain and tenant routes (not how the construct wires it): an
    answer decided on /hello is an allow-list, so a tenant path spelt /%74enants/B/orders matches no Allow."""
    token = admin_of_a(issuer, nonce="shared-cache")  # admin of A, a member without roles of B
    assert get(gateway, "/hello", token).status == 200  # cached for this token: the same authorizer, TTL 300
    assert get(gateway, "/tenants/B/orders", token).status == 403
    assert get(gateway, "/tenants/%42/orders", token).status == 403
    assert get(gateway, "/%74enants/B/orders", token).status == 403
