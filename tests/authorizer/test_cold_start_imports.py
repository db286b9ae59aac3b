"""A cold start loads and compiles only what its configuration uses (issue 19, point 4).

Each case imports ``authorizer.handler`` in a fresh interpreter, as Lambda's init does, and reports which optional
modules were imported and which lazily compiled patterns exist. The plain configuration (an issuer with its
``jwks_uri``, a scope rule) must load none of them; a configuration that uses them must load each, so the test
fails if the switch were stuck either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

OPTIONAL_MODULES = ("authorizer.tenancy", "authorizer.tenant_guard", "authorizer.mcp_config", "authorizer.mcp_guard",
                    "authorizer.providers", "authorizer.remote_config")
PROBE = f"""
import json, sys
import authorizer.handler
from authorizer import config, text
# THEN
print(json.dumps({{
    "modules": sorted(m for m in {OPTIONAL_MODULES!r} if m in sys.modules),
    "issuer_segment": config._issuer_segment.cache_info().currsize,
    "surrogates": text._surrogates.cache_info().currsize,
    "cookie": any(key[1] == config.COOKIE_NAME for key in __import__("re")._cache),
}}))
"""


def _cold_start(idp: str, then: str = "", **settings: str) -> dict:
    """What a fresh interpreter holds after importing the handler (and running ``then``: the first input)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "POWERTOOLS_"))}
    environ.update(AUTH_JWKS_TIMEOUT_SECONDS="0.5", POWERTOOLS_METRICS_DISABLED="true", **settings)
    environ.setdefault("AUTH_ISSUERS", json.dumps([{"issuer": idp, "audience": "api", "jwks_uri": f"{idp}/jwks"}]))
    result = subprocess.run([sys.executable, "-c", PROBE.replace("# THEN", then)], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_plain_configuration_loads_no_tenant_mcp_preset_or_parameter_code_and_compiles_no_optional_pattern(idp):
    loaded = _cold_start(idp, AUTH_ROUTES=json.dumps({"DELETE /orders/{id}": ["orders:admin"]}))
    assert loaded == {"modules": [], "issuer_segment": 0, "surrogates": 0, "cookie": False}


@pytest.mark.parametrize("settings, modules", [
    ({"AUTH_ROUTES": json.dumps({"GET /t/{tenantId}/orders": {"tenant": {"param": "tenantId"}}})},
     ["authorizer.tenancy", "authorizer.tenant_guard"]),
    ({"AUTH_ROUTES": json.dumps({"ANY /mcp": {"mcp": {"resource": "https://api.example.com/mcp",
                                                      "tools": {"list_orders": ["orders:read"]}}}})},
     ["authorizer.mcp_config", "authorizer.mcp_guard"]),
], ids=["tenant", "mcp"])
def test_a_configuration_that_uses_tenants_or_mcp_loads_their_code(idp, settings, modules):
    assert _cold_start(idp, **settings)["modules"] == modules


def test_a_preset_issuer_loads_the_presets_and_a_cookie_compiles_its_pattern(idp):
    loaded = _cold_start(idp, AUTH_ISSUERS=json.dumps([{"provider": "descope", "project_id": "P2abc"}]),
                         AUTH_TOKEN_COOKIE="session")
    assert loaded["modules"] == ["authorizer.providers"] and loaded["cookie"] is True


@pytest.mark.parametrize("pattern, first_input", [
    ("surrogates", "text.is_clean('caf\\u00e9')"),  # non-ASCII text to put in a context or a log
    ("issuer_segment", "import dataclasses; issuer = dataclasses.replace(authorizer.handler.CONFIG.issuers[0], "
                       "issuer_match='one_more_segment'); issuer.accepts_iss(issuer.issuer + '/MS2abc')"),
])
def test_an_optional_pattern_is_compiled_once_an_input_needs_it(idp, pattern, first_input):
    """The other side of the plain configuration's zeros: the probe sees a pattern compiled when one is."""
    loaded = _cold_start(idp, first_input, AUTH_ROUTES=json.dumps({"DELETE /orders/{id}": ["orders:admin"]}))
    assert loaded[pattern] == 1
