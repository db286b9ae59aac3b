"""The package page's example (``docs/pypi.md``, the long description a pip user reads first) is a CDK app that runs
as written with the installed wheel: its routes get the authorizer it configures. ``test_typing.py`` type-checks it
under ``mypy --strict``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import Installed, package_page_example

pytestmark = pytest.mark.slow


def test_the_package_pages_example_synthesizes_with_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(package_page_example())
    outdir = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_OUTDIR": str(outdir),
           "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": []})}  # the bundle itself: test_existing_app
    for name in ("PYTHONPATH", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"):
        env.pop(name, None)  # as a user's shell runs it: on Node.js 20, jsii would print its banner as bytes reprs
    result = subprocess.run([str(installed.python), str(app)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    # The page imports the construct first, as import sorting does: its one plain notice, never jsii's bytes banner.
    assert not [line for line in result.stderr.splitlines() if line.startswith(("b'", 'b"'))], result.stderr
    template = json.loads((outdir / "Orders.template.json").read_text())
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in template["Resources"].values()
              if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert {key: props["AuthorizationType"] for key, props in routes.items()} == {
        "GET /orders": "CUSTOM", "POST /orders": "CUSTOM", "GET /health": "NONE"}
    (authorizer,) = [r["Properties"] for r in template["Resources"].values()
                     if r["Type"] == "AWS::ApiGatewayV2::Authorizer"]
    assert (authorizer["Name"], authorizer["AuthorizerPayloadFormatVersion"]) == ("Auth", "2.0")
