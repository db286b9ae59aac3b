"""The local stack's two ways to synthesize agree: ``synthesize`` runs ``python app.py`` as the CDK CLI would (what
``make local`` and ``make demo`` use) and ``synthesize_in_process`` calls the same ``build_app`` in the test worker
(what the end-to-end tests use, a fraction of a second per stack once the worker has loaded the CDK). The same
configuration gives the same template, and the same refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.stack import LOCAL_CONTEXT, STACK_NAME, SynthError, synthesize, synthesize_in_process

pytestmark = pytest.mark.slow

ISSUER = {"provider": "oidc", "issuer": "http://127.0.0.1:9400/oidc", "audience": "orders-api"}


def template(outdir: Path) -> dict[str, Any]:
    return json.loads((outdir / f"{STACK_NAME}.template.json").read_text())


def test_both_synthesizers_give_the_same_template(tmp_path: Path) -> None:
    """In lambda mode, the richer template (the authorizer function, its role, logs and permissions); jwt mode takes
    the same path through ``app.py`` and ``build_app``, and each ``python app.py`` costs seconds."""
    context = {**LOCAL_CONTEXT, "authorizer": "lambda", "issuers": [ISSUER], "cacheTtlSeconds": 120,
               "routes": [{"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
                          {"method": "GET", "path": "/health", "public": True}]}
    by_app_py = template(synthesize(context, tmp_path / "app-py"))
    in_process = template(synthesize_in_process(context, tmp_path / "in-process"))
    assert in_process == by_app_py
    assert {r["Type"] for r in in_process["Resources"].values()} >= {"AWS::ApiGatewayV2::Authorizer",
                                                                      "AWS::ApiGatewayV2::Route",
                                                                      "AWS::Lambda::Function"}


def test_both_synthesizers_refuse_a_configuration_with_app_pys_words(tmp_path: Path) -> None:
    context = {**LOCAL_CONTEXT, "authorizer": "jwt", "issuers": [ISSUER],
               "routes": [{"method": "GET", "path": "/t/{tenantId}", "tenant": {"param": "tenantId"}}]}
    refusals = []
    for synthesizer in (synthesize, synthesize_in_process):
        with pytest.raises(SynthError) as caught:
            synthesizer(context, tmp_path / synthesizer.__name__)
        refusals.append(str(caught.value).splitlines()[-1])
    assert refusals[0] == refusals[1]
    assert refusals[0].startswith("Invalid configuration (cdk.json context or -c): routes[0].tenant")
