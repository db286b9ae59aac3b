"""The compiled authorizer gives the same answer, logs and metrics as the plain reference composition of its stages
(``tests/authorizer/reference.py``), for any event shape, claim kind, rule kind, tenant configuration and hostile
input (issue 19). Each example is decided twice, so that what the compiled stages remember — a verified token, the
rules its scope misses, a policy's statements, a metrics template — is held to the same answer as a first decision.

Tokens are signed by the tests' own keys (ES256: cheap to sign), with claims hypothesis draws.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import Metrics
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authorizer.authorize import Authorizer, Unauthorized
from authorizer.config import load_config
from authorizer.fetch import JsonFetcher
from authorizer.observability import DecisionMetrics
from authorizer.verifier import TokenVerifier

from .reference import reference_authorize
from .support import b64

NOW = 1_800_000_000
STAGE = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/$default"
TENANT_ORDERS = "GET /tenants/{tenantId}/orders"
CONFIGS: dict[str, dict[str, Any]] = {
    "no-rules": {},
    "scopes": {"GET /orders": ["orders:read"], "DELETE /orders/{id}": {"scopes": ["orders:admin", "admin"]},
               "ANY /admin/{proxy+}": {"claims": {"roles": ["admin"], "email_verified": True}}},
    "overlapping": {"GET /orders/{id}": ["orders:read"], "GET /orders/{id}/items": ["items:read"],
                    "ANY /{proxy+}": {"claims": {"tier": 1}}},
    "mcp": {"POST /mcp": {"scopes": [], "mcp": {"resource": "https://api.example.com/mcp",
                                                 "methods": {"tools/list": ["orders:read"]},
                                                 "tools": {"create_order": ["orders:write"]}}},
            "GET /orders": ["orders:read"]},
    "tenants": {TENANT_ORDERS: {"tenant": {"param": "tenantId", "roles": ["admin"]}},
                "GET /tenants/{tenantId}/{section}": {"tenant": {"param": "tenantId", "claim": "org_id"}},
                "GET /orders": ["orders:read"], "ANY /{proxy+}": []},
}
ROUTE_KEYS = ["GET /orders", "DELETE /orders/{id}", "ANY /admin/{proxy+}", "GET /orders/{id}", "GET /orders/{id}/items",
              "ANY /{proxy+}", TENANT_ORDERS, "GET /tenants/{tenantId}/{section}", "GET /hello", "$default",
              "POST /mcp"]
PATHS = {"GET /orders": "GET/orders", "DELETE /orders/{id}": "DELETE/orders/7", "ANY /admin/{proxy+}": "POST/admin/x/y",
         "GET /orders/{id}": "GET/orders/7", "GET /orders/{id}/items": "GET/orders/7/items",
         "ANY /{proxy+}": "GET/any/thing", TENANT_ORDERS: "GET/tenants/{t}/orders",
         "GET /tenants/{tenantId}/{section}": "GET/tenants/{t}/summary", "GET /hello": "GET/hello", "$default": "$default",
         "POST /mcp": "POST/mcp"}
MCP_HEADERS = [{}, {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "create_order"},
               {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "list_orders"},
               {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"},
               {"mcp-protocol-version": "2025-11-25", "mcp-method": "tools/list"},
               {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "a*"}]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 1.5, float("nan")]),
                    st.sampled_from(["admin", "A", "orders:read", "", "T2acme", "\ud800"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["roles", "permissions", "A", "B"]), inner, max_size=3), max_leaves=6)
scope_words = st.sampled_from(["orders:read", "orders:admin", "items:read", "admin", "profile", ""])
# Mostly one string, often alike (what a remembered signature must keep apart), sometimes a list or tab-separated.
scopes = st.one_of(
    st.sampled_from(["orders:read", "orders:admin", "orders:read orders:admin", "orders:readonly", "orders:read ",
                     " orders:read", "items:read admin", "profile", ""]),
    st.sampled_from(["orders:read", "orders:admin"]), st.sampled_from(["orders:read", "orders:admin"]),
    st.none(), st.lists(scope_words, max_size=4).map(" ".join), st.lists(scope_words, max_size=3).map("\t".join),
    st.lists(scope_words, max_size=3), st.lists(st.one_of(scope_words, st.integers()), max_size=2))
# Around the leeway (60 s) on both sides, far off, and what is no date at all.
dates = st.one_of(st.sampled_from([NOW + 600, NOW - 600, NOW - 30, NOW + 30, NOW - 60, NOW - 61, NOW + 60, NOW + 61,
                                   NOW - 100, NOW]), st.none(),
                  st.sampled_from(["soon", True, 1e400, 10 ** 400, NOW + 0.5]))
tenants = st.one_of(st.none(), st.dictionaries(st.sampled_from(["A", "B", "T2acme", "*", "a/b"]), st.fixed_dictionaries(
    {}, optional={"roles": st.lists(st.sampled_from(["admin", "viewer"]), max_size=2)}), max_size=3),
    st.lists(st.sampled_from(["A", "B"]), max_size=2), st.sampled_from(["A", "T2acme"]))


@st.composite
def claim_sets(draw: Any, issuer: str) -> dict[str, Any]:
    """Mostly tokens the issuer would really hand out (valid, then decided by the rules), some broken one way."""
    claims: dict[str, Any] = {
        "iss": draw(st.sampled_from([issuer] * 6 + [issuer + "/other", 7])),
        "exp": draw(st.one_of(st.just(NOW + 600), st.just(NOW + 600), dates)),
        "aud": draw(st.one_of(st.just("api"), st.just("api"), st.sampled_from(
            ["other", ["api", "x"], [], 5, "https://api.example.com/mcp", ["https://api.example.com/mcp", "api"]]))),
        "scope": draw(scopes)}
    optional = {"sub": st.sampled_from(["u1", 1, None]), "client_id": st.sampled_from(["api", "c"]), "nbf": dates,
                "iat": dates, "scp": scopes, "roles": values, "email_verified": values, "tier": values,
                "tenants": tenants, "org_id": tenants, "claims": values, "authorized_tenant": st.just("B"), "": values,
                "extra": values}
    for name in draw(st.lists(st.sampled_from(sorted(optional)), max_size=5, unique=True)):
        claims[name] = draw(optional[name])
    return {k: v for k, v in claims.items() if v is not None or draw(st.booleans())}


def event_for(shape: str, token: str | None, route_key: str, tenant: str, per: str, header: str,
              stage: str = STAGE, mcp_headers: dict[str, str] | None = None) -> dict[str, Any]:
    path = PATHS[route_key].replace("{t}", tenant)
    arn = f"{stage}/{path}"
    authorization = None if token is None else header.replace("<t>", token)
    if shape == "rest-token":
        return {"type": "TOKEN", "methodArn": arn, "authorizationToken": authorization}
    headers = {} if authorization is None else {"authorization": authorization}
    headers.update(mcp_headers or {})
    if shape == "rest-request":
        return {"type": "REQUEST", "methodArn": arn, "headers": headers}
    if shape == "http-1.0":
        return {"version": "1.0", "type": "REQUEST", "methodArn": arn, "identitySource": authorization,
                "headers": headers, "requestContext": {"routeKey": route_key}, "pathParameters": {"tenantId": tenant}}
    sources: list[str] = [authorization or ""]
    event: dict[str, Any] = {"version": "2.0", "type": "REQUEST", "routeArn": arn, "routeKey": route_key,
                             "headers": headers, "rawPath": "/" + path.partition("/")[2], "rawQueryString": "",
                             "requestContext": {"requestId": "req-1", "routeKey": route_key},
                             "pathParameters": {"tenantId": tenant}}
    if per in ("route", "request"):
        sources.append(route_key)
    if per == "request":
        sources.append("req-1")
    if per == "cookie-only":
        sources = ["GET /x"]
        event["cookies"] = [f"tok={token}"]
    event["identitySource"] = sources
    return event


class Run:
    """One pipeline: its authorizer, its log capture and its metrics output."""

    def __init__(self, routes: dict[str, Any], env: dict[str, str], issuer: str, verifier: TokenVerifier) -> None:
        self.stream = io.StringIO()
        self.logger = Logger(service=f"diff-{uuid.uuid4().hex[:8]}", level="DEBUG",
                             logger_handler=logging.StreamHandler(self.stream))
        self.metrics = DecisionMetrics(Metrics(namespace="Diff", service="diff"))
        config = load_config({"AUTH_ISSUERS": json.dumps([{"issuer": issuer, "audience": "api"}]),
                              "AUTH_ROUTES": json.dumps(routes), **env})
        self.verifier = verifier
        self.authorizer = Authorizer(config, verifier=verifier, logger=self.logger, observe=self.metrics.observe)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stream.getvalue().splitlines():
            record = json.loads(line)
            out.append({k: v for k, v in record.items() if k not in ("timestamp", "location", "service")})
        self.stream.seek(0)
        self.stream.truncate()
        return out


def emf(capsys: Any) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    for document in documents:
        document["_aws"].pop("Timestamp")
    return documents


def answer_of(call: Any) -> Any:
    try:
        return call()
    except Unauthorized:
        return "Unauthorized"


@pytest.fixture(scope="module")
def pipelines(keys_module: Any, server_module: Any) -> Any:
    """``pipelines(config, env)`` → a fresh (compiled, reference) pair: nothing remembered from another example, so
    what one example shows does not depend on the ones before it. Both hold the JWKS cache fetched once here."""
    issuer = server_module.root + "/idp"
    server_module.put("/idp/jwks", {"keys": [keys_module.public_jwk]})
    issuers = load_config({"AUTH_ISSUERS": json.dumps([{"issuer": issuer, "audience": "api",
                                                         "jwks_uri": server_module.root + "/idp/jwks"}])}).issuers
    fetched = TokenVerifier(issuers, fetcher=JsonFetcher(), clock=lambda: NOW)
    fetched.prefetch()

    def get(config: str, env_key: str) -> tuple[Run, Run]:
        env = {"none": {}, "simple": {"AUTH_RESPONSE": "simple"}, "cookie": {"AUTH_TOKEN_COOKIE": "tok"}}[env_key]
        compiled_verifier = TokenVerifier(issuers, fetcher=JsonFetcher(), clock=lambda: NOW)
        reference_verifier = TokenVerifier(issuers, fetcher=JsonFetcher(), clock=lambda: NOW, remembered_tokens=0)
        compiled_verifier.keep_caches(fetched)
        reference_verifier.keep_caches(fetched)
        return Run(CONFIGS[config], env, issuer, compiled_verifier), Run(CONFIGS[config], env, issuer,
                                                                          reference_verifier)
    get.issuer = issuer  # type: ignore[attr-defined]
    return get


@pytest.fixture(scope="module")
def keys_module() -> Any:
    from .support import SigningKey

    return SigningKey.generate("kid-diff", "ES256")


@pytest.fixture(scope="module")
def server_module() -> Any:
    from .support import JwksServer

    server = JwksServer()
    yield server
    server.close()


request = st.fixed_dictionaries({
    "kind": st.sampled_from(["signed", "signed", "signed", "again", "hostile", "none"]),
    "shape": st.sampled_from(["http-2.0", "http-2.0", "http-1.0", "rest-token", "rest-request"]),
    "route_key": st.sampled_from(ROUTE_KEYS), "tenant": st.sampled_from(["A", "B", "T2acme", "%41", "*"]),
    "per": st.sampled_from(["shared", "route", "request", "cookie-only"]),
    "stage": st.sampled_from([STAGE, STAGE, STAGE.replace("$default", "prod"), STAGE.replace("$default", "*")]),
    "mcp": st.sampled_from(MCP_HEADERS),
    "header": st.sampled_from(["Bearer <t>", "bearer <t>", "BEARER <t>", "Bearer  <t>", "Bearer <t>\t", "<t>",
                               "Bearer <t> x", "Bearer <t>\x1f", "Basic <t>", " Bearer <t>", "Bearer <t>\u3000"]),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data(), config=st.sampled_from(sorted(CONFIGS)), env_key=st.sampled_from(["none", "simple", "cookie"]),
       requests=st.lists(request, min_size=1, max_size=6))
def test_the_compiled_stages_answer_log_and_count_as_the_reference(pipelines, keys_module, capsys, data, config,
                                                                    env_key, requests):
    """A sequence of requests on one warm instance: later ones meet what earlier ones left remembered (a token
    again, another token of the same scope, another stage's policy)."""
    compiled, reference = pipelines(config, env_key)
    capsys.readouterr()
    token: str | None = None
    for number, drawn in enumerate(requests):
        kind = drawn["kind"]
        if kind == "signed" or (kind == "again" and token is None):
            token = keys_module.sign(data.draw(claim_sets(pipelines.issuer)))
        elif kind == "hostile":
            token = data.draw(st.one_of(st.text(max_size=30), st.sampled_from(
                ["a.b.c", "", b64({"alg": "ES256"}) + "." + b64({"iss": pipelines.issuer}) + ".AA", "x" * 17000])))
        elif kind == "none":
            token = None
        event = event_for(drawn["shape"], token, drawn["route_key"], drawn["tenant"], drawn["per"], drawn["header"],
                          drawn["stage"], drawn["mcp"])
        got = answer_of(lambda event=event: compiled.authorizer.authorize(json.loads(json.dumps(event)), "req-1"))
        compiled.metrics.flush(1.0)
        got_metrics, got_logs = emf(capsys), compiled.records()
        want = answer_of(lambda event=event: reference_authorize(reference.authorizer, reference.verifier,
                                                                 json.loads(json.dumps(event)), "req-1"))
        reference.metrics._write(1.0)  # the general path of a metrics document, not flush's template lookup
        reference.metrics._reset()
        want_metrics, want_logs = emf(capsys), reference.records()
        assert got == want, (number, event)
        assert got_logs == want_logs, number
        assert got_metrics == want_metrics, number
