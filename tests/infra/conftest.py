"""Synthesized templates, built once per test run with bundling skipped (the asset is the staged package), and
shared by pytest-xdist's workers (``tests/shared_fixtures.py``): one worker synthesizes, the others read its output.

Every template here goes through ``build_app``, so cdk-nag's AwsSolutions checks run on it: a violation fails
the synthesis. The real ``npx cdk synth`` with bundling is in ``test_cli_synth.py``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk.assertions import Template

from infra.cdk_app import build_app, cdk_json_context
from infra.config import DEFAULT_STACK_NAME
from local.stack import jwt_routes
from tests.shared_fixtures import shared_directory

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}
DESCOPE = {"provider": "descope", "project_id": "P2abcdefghijklmnopqrstuvwxyz"}
CUSTOM_ROUTES = [
    {"method": "GET", "path": "/hello"},
    {"method": "GET", "path": "/orders/{id}", "scopes": ["orders:read", "orders:admin"]},
    {"method": "ANY", "path": "/admin/{proxy+}", "claims": {"roles": ["admin"], "email_verified": True}},
    {"method": "GET", "path": "/health", "public": True},
]
#: cdk.json's routes without its tenant route and its MCP endpoint's per-tool rules: what jwt mode can serve (the
#: native authorizer refuses both).
JWT_ROUTES = jwt_routes(cdk_json_context()["routes"])[0]


@dataclass
class Synthesized:
    context: dict[str, Any]
    template: Template
    outdir: Path
    stack_name: str

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.template.find_resources(resource_type)


def synthesize(outdir: Path, context: dict[str, Any]) -> Synthesized:
    app = build_app({**SKIP_BUNDLING, **context}, outdir=str(outdir))
    assembly = app.synth()
    (stack,) = assembly.stacks
    return Synthesized(context, Template.from_json(stack.template), outdir, stack.stack_name)


def shared_synth(factory: pytest.TempPathFactory, name: str, context: dict[str, Any]) -> Synthesized:
    """``synthesize`` once per run into a directory every worker reads."""
    outdir = shared_directory(factory, f"synth-{name}", lambda directory: synthesize(directory, context))
    template = json.loads((outdir / f"{DEFAULT_STACK_NAME}.template.json").read_text())
    return Synthesized(context, Template.from_json(template), outdir, DEFAULT_STACK_NAME)


@pytest.fixture(scope="session")
def lambda_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """cdk.json as shipped: lambda mode, the sample routes (one with a tenant rule), IAM responses, 300 s cache."""
    return shared_synth(tmp_path_factory, "lambda", {})


@pytest.fixture(scope="session")
def lambda_custom_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """lambda mode with simple responses, a 120 s cache, two issuers and claim rules."""
    return shared_synth(tmp_path_factory, "lambda-custom", {
        "issuers": [DESCOPE, {"provider": "wso2", "base_url": "https://is.example.net:9443", "audience": "cid"}],
        "routes": CUSTOM_ROUTES,
        "lambdaResponse": "simple",
        "cacheTtlSeconds": "120",
        "logRetentionDays": 14,
        "throttle": {"rateLimit": 20, "burstLimit": 40},
    })


@pytest.fixture(scope="session")
def jwt_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """jwt mode with the Descope preset, as ``-c authorizer=jwt -c issuers='[...]'`` gives it (strings)."""
    return shared_synth(tmp_path_factory, "jwt", {
        "authorizer": "jwt",
        "issuers": json.dumps([DESCOPE]),
        "routes": json.dumps([r for r in CUSTOM_ROUTES if "claims" not in r]),
    })


@pytest.fixture(scope="session")
def parameter_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """lambda mode with ``configParameter: true``: issuers (two, presets) and rules (scopes, claims) in SSM."""
    return shared_synth(tmp_path_factory, "parameter", {
        "issuers": [DESCOPE, {"provider": "wso2", "base_url": "https://is.example.net:9443", "audience": "cid"}],
        "routes": CUSTOM_ROUTES,
        "configParameter": True,
        "configMaxAgeSeconds": 120,
    })


@pytest.fixture(scope="session")
def cookie_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """lambda mode reading Passage's token cookie, as ``-c tokenCookie=psg_auth_token -c cacheTtlSeconds=0``."""
    return shared_synth(tmp_path_factory, "cookie", {"tokenCookie": "psg_auth_token", "cacheTtlSeconds": "0"})


@pytest.fixture(scope="session")
def traced_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """lambda mode with tracing and the parameter, as ``-c tracing=true -c configParameter=true`` gives them."""
    return shared_synth(tmp_path_factory, "traced", {"tracing": "true", "configParameter": "true"})


@pytest.fixture(scope="session")
def traced_jwt_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """jwt mode with tracing: only the sample backend is a function."""
    return shared_synth(tmp_path_factory, "traced-jwt", {
        "authorizer": "jwt", "issuers": [DESCOPE], "tracing": True, "routes": JWT_ROUTES,
    })
