"""The real ``npx cdk synth`` (the pinned CLI, bundling) of the project's app, shared by the tests that read its
output: ``tests/conftest.py`` makes one synth per mode per test run (``shared_fixtures``: one for all workers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.bundling import PROJECT_ROOT
from local.stack import cdk_json_routes, jwt_routes
from tests.offline import without_aws_credentials

#: ``-c`` values for jwt mode: cdk.json's routes without its tenant route and its MCP endpoint's per-tool rules (the
#: native authorizer refuses both), as the local stack serves them.
JWT_CONTEXT = {
    "authorizer": "jwt",
    "issuers": json.dumps([{"provider": "descope", "project_id": "P2abcdefghijklmnopqrstuvwxyz"}]),
    "routes": json.dumps(jwt_routes(cdk_json_routes())[0]),
}


@dataclass
class CliSynth:
    outdir: Path
    template: dict[str, Any]
    output: str

    def function_id(self, handler: str) -> str:
        (logical_id,) = [k for k, r in self.template["Resources"].items()
                         if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == handler]
        return logical_id

    def asset_dir(self, handler: str) -> Path:
        return self.outdir / self.template["Resources"][self.function_id(handler)]["Metadata"]["aws:asset:path"]


def quiet_environment() -> dict[str, str]:
    """No telemetry, version check, AWS credentials or instance-metadata probing (``tests/offline.py``); the venv's
    python runs app.py."""
    return {
        **without_aws_credentials(os.environ),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }


#: The CLI's output, kept beside the assembly so that every worker reads the same synth.
OUTPUT_FILE = "cli-output.txt"


def cdk_synth(outdir: Path, context: dict[str, str]) -> CliSynth:
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx is not installed: `make setup` installs the pinned CDK CLI with npm ci")
    command = [npx, "--no-install", "cdk", "synth", "-o", str(outdir), "--no-notices", "-q"]
    for key, value in context.items():
        command += ["-c", f"{key}={value}"]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=quiet_environment(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"cdk synth failed:\n{result.stdout}\n{result.stderr}"
    (outdir / OUTPUT_FILE).write_text(result.stdout + result.stderr)
    return read_synth(outdir)


def read_synth(outdir: Path) -> CliSynth:
    """A synth made earlier (by this worker or another) into ``outdir``."""
    template = json.loads((outdir / "JwtAuthorizerApi.template.json").read_text())
    return CliSynth(outdir, template, (outdir / OUTPUT_FILE).read_text())


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    runner = "import sys; from cfnlint.runner import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", runner, "--", str(template)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def symbolic(value: Any) -> str:
    """A value built with ``Fn::Join`` (an ARN, a URL) as text, each ``Ref`` written as ``<Ref:name>`` and each
    ``Fn::GetAtt`` as ``<GetAtt:name.attribute>``."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return f"<Ref:{value['Ref']}>"
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return f"<GetAtt:{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(symbolic(part) for part in parts)
    assert isinstance(value, str), value
    return value
