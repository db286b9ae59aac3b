"""The doctor and ``cdk synth`` agree on every configuration: the same ``cdk.json`` context is fed to the doctor and
to the app's checks (``check_context_keys``, then ``infra.config.load_stack_config``: what ``cdk synth`` runs), in
both modes, and both accept or refuse it (naming the same key), choose the same native issuer and build the same
routes."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, load_stack_config
from infra.deploy_guard import check_context_keys
from tools.doctor import DoctorError, setup_from_cdk_json

OIDC = {"issuer": "https://idp.example.org", "audience": "orders-api"}
LOOPBACK = {"issuer": "http://127.0.0.1:9/idp", "audience": "orders-api"}
ROUTES = [{"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
          {"method": "delete", "path": "/orders/{id}", "claims": {"roles": ["admin"], "tier": 1}},
          {"method": "GET", "path": "/hello"},
          {"method": "GET", "path": "/health", "public": True}]
SCOPED = [r for r in ROUTES if "claims" not in r]

CONFIGURATIONS = {
    "an EC-only issuer with token types": {"authorizer": "jwt", "issuers": [
        {**OIDC, "algorithms": ["ES256"], "token_types": ["at+jwt"]}], "routes": SCOPED},
    "descope's bare and agentic forms": {"authorizer": "jwt", "issuers": [
        {"provider": "descope", "project_id": "P2abc", "issuer_forms": ["bare", "agentic"]}]},
    "descope's url form": {"authorizer": "jwt", "issuers": [
        {"provider": "descope", "project_id": "P2abc", "issuer_forms": ["url", "bare"]}], "routes": SCOPED},
    "cognito access tokens": {"authorizer": "jwt", "issuers": [
        {"provider": "cognito", "user_pool_id": "eu-west-1_AbC", "client_ids": ["c1", "c2"]}]},
    "entra": {"authorizer": "lambda", "issuers": [
        {"provider": "entra", "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "audience": "api://x"}],
        "routes": ROUTES},
    "claim rules (lambda only)": {"authorizer": "jwt", "issuers": [OIDC], "routes": ROUTES},
    "too many scopes for a native route": {"authorizer": "lambda", "issuers": [OIDC], "routes": [
        {"method": "GET", "path": "/x", "scopes": [f"s{n}" for n in range(11)]}]},
    "two issuers": {"authorizer": "lambda", "issuers": [OIDC, {**OIDC, "issuer": "https://other.example.org"}]},
    "the default routes, issuers as a -c string": {"issuers": json.dumps([OIDC])},
    "a plain-http issuer": {"authorizer": "lambda", "issuers": [{**OIDC, "issuer": "http://idp.example.org"}]},
    "a loopback issuer, deployed": {"authorizer": "jwt", "issuers": [LOOPBACK], "routes": SCOPED},
    "a loopback issuer, local profile": {"authorizer": "lambda", "issuers": [LOOPBACK], "routes": ROUTES,
                                         "aws:cdk:bundling-stacks": []},
    "a route key API Gateway would not take": {"issuers": [OIDC], "routes": [{"method": "GET", "path": "/a b"}]},
    "a token cookie": {"authorizer": "lambda", "issuers": [OIDC], "tokenCookie": "session", "cacheTtlSeconds": 0},
    "an unknown mode": {"authorizer": "rest", "issuers": [OIDC]},
    "no issuers": {"authorizer": "lambda"},
    "a misspelt key": {"issuers": [OIDC], "cacheTTLSeconds": 60},
    "tenant rules (lambda only)": {"authorizer": "lambda", "issuers": [OIDC], "routes": [
        *SCOPED, {"method": "GET", "path": "/tenants/{tenantId}/orders", "scopes": ["orders:read"],
                  "tenant": {"param": "tenantId", "roles": ["admin"], "permissions": ["orders:read"]}}]},
}


def synth(context, mode, local=False):
    """What ``cdk synth`` makes of the context in this mode (``build_app``'s checks): the stack configuration, or its
    ConfigError."""
    context = {**context, "authorizer": mode, **({"aws:cdk:bundling-stacks": []} if local else {})}
    try:
        check_context_keys(context)
        return load_stack_config(context.get)
    except ConfigError as problem:
        return problem


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_the_doctor_and_cdk_synth_agree(name, tmp_path):
    context = CONFIGURATIONS[name]
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"app": "python3 app.py", "context": context}))
    configured = context.get("authorizer", "lambda")
    modes = dict.fromkeys((configured, "lambda", "jwt"))
    synthesized = {mode: synth(context, mode) for mode in modes}
    try:
        setup = setup_from_cdk_json(path)
    except DoctorError as problem:
        refusal = synthesized[configured]
        assert isinstance(refusal, ConfigError), f"synth accepts what the doctor refuses: {problem}"
        assert str(refusal) in str(problem), "the doctor names the key cdk synth names"
        assert configured not in ("lambda", "jwt") or all(isinstance(s, ConfigError) for s in synthesized.values())
        return
    assert configured in ("lambda", "jwt")
    for mode in ("lambda", "jwt"):
        stack = synthesized[mode]
        if isinstance(stack, ConfigError):
            assert (setup.refused[mode].field, setup.refused[mode].problem) == (stack.field, stack.problem), mode
            stack = synth(context, mode, local=True)  # the doctor still explains what runs locally
            if isinstance(stack, ConfigError):
                assert mode not in setup.authorizers, mode
                continue
        else:
            assert mode not in setup.refused, mode
        settings = stack.authorization
        explained = setup.authorizers[mode]
        if mode == "jwt":
            native = settings.native_issuer
            assert (explained.issuer, explained.audiences) == (native.issuer, native.audiences)
        else:
            assert explained.config.issuers == settings.trusted_issuers
            assert {key: (rule.scopes, dict(rule.typed_claims), rule.tenant)
                    for key, rule in explained.config.routes.items()} == {
                key: (tuple(rule["scopes"]), dict(_typed(rule.get("claims", {}))), _tenant(key, rule))
                for key, rule in settings.auth_routes().items()}
        assert [(r.route_key, r.scopes) for r in setup.routes if r.authorizer == mode] == [
            (r.route_key, r.scopes) for r in settings.protected_routes]
        assert [r.route_key for r in setup.routes if r.authorizer is None] == [
            r.route_key for r in settings.routes if r.public]
    assert setup.in_use == {configured} & set(setup.authorizers)


def _tenant(route_key, rule):
    """The tenant rule the Lambda reads from what synthesis writes into AUTH_ROUTES (None without one)."""
    from authorizer.config import parse_tenant_rule

    return parse_tenant_rule(rule["tenant"], route_key, "tenant") if "tenant" in rule else None


def _typed(claims):
    from authorizer.config import json_typed

    return [(name, tuple(json_typed(v) for v in (value if isinstance(value, list) else [value])))
            for name, value in claims.items()]


def test_the_configuration_issue_12_found_is_refused_by_both():
    """An issuer with token_types and ES256 only: the old doctor explained a native authorizer cdk synth rejects."""
    context = CONFIGURATIONS["an EC-only issuer with token types"]
    refusal = synth(context, "jwt")
    assert isinstance(refusal, ConfigError) and refusal.field == "issuers[0].token_types"
