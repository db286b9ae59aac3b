"""From outside: the wheel (``make dist``'s build) installed into a fresh virtual environment with only
``examples/existing-app/requirements.txt``, and that separate CDK app synthesized by the real CLI in both modes,
with cdk-nag's AwsSolutions checks on and cfn-lint on its templates. Nothing of the checkout is on its path.

Fast on a warm machine: pip's download cache (and any configured ``find-links``) serve the CDK wheels; on a clean
CI machine they come from PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra import __version__
from tests.infra.test_cli_synth import AARCH64, X86_64, elf_machine
from tests.shared_fixtures import shared_directory
from tests.synth_support import CliSynth, cfn_lint, quiet_environment

from .conftest import EXAMPLE, Installed, run

pytestmark = pytest.mark.slow

STACK = "OrdersApi"


@dataclass
class ExampleSynth:
    outdir: Path
    template: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == resource_type}


def example_synth(installed: Installed, outdir: Path, mode: str, architecture: str = "arm64") -> ExampleSynth:
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx is not installed: `make setup` installs the pinned CDK CLI with npm ci")
    env = {**quiet_environment(), "PATH": f"{installed.python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    # npx from the example's directory finds the project's pinned CLI in the parent node_modules
    run([npx, "--no-install", "cdk", "synth", "-o", str(outdir), "--no-notices", "-q", "-c", f"authorizer={mode}",
         "-c", f"architecture={architecture}"],
        cwd=EXAMPLE, env=env)
    return read_example(outdir)


def read_example(outdir: Path) -> ExampleSynth:
    return ExampleSynth(outdir, json.loads((outdir / f"{STACK}.template.json").read_text()))


@pytest.fixture(scope="session")
def lambda_example(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> ExampleSynth:
    outdir = shared_directory(tmp_path_factory, "example-lambda", lambda d: example_synth(installed, d, "lambda"))
    return read_example(outdir)


@pytest.fixture(scope="session")
def x86_example(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> ExampleSynth:
    return read_example(shared_directory(tmp_path_factory, "example-x86",
                                         lambda d: example_synth(installed, d, "lambda", "x86_64")))


@pytest.fixture(scope="session")
def jwt_example(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> ExampleSynth:
    return read_example(shared_directory(tmp_path_factory, "example-jwt", lambda d: example_synth(installed, d, "jwt")))


def test_installing_the_construct_pulls_cdk_but_not_the_lambdas_runtime_dependencies(installed: Installed) -> None:
    found = installed.run("import importlib.util as u; print(*(bool(u.find_spec(m)) for m in "
                          "('aws_cdk', 'constructs', 'cdk_nag', 'jose', 'requests', 'infra', 'authorizer')))")
    assert found.split() == ["True", "True", "True", "False", "False", "False", "False"]
    requires = installed.run("import importlib.metadata as m; print(*m.requires('apigw-jwt-authorizer'), sep='|')")
    assert sorted(requires.split("|")) == ['aws-cdk-lib<3,>=2.275', 'cdk-nag<4,>=3.0; extra == "nag"',
                                           'constructs<11,>=10.4']
    assert installed.run("from apigw_jwt_authorizer import JwtAuthorization, AuthorizationSettings; "
                         "import apigw_jwt_authorizer as p; print(p.__file__)").startswith(str(installed.venv))


def test_the_example_names_the_construct_only_by_the_path_of_its_wheel() -> None:
    """Nobody's package index is ever asked for the name (whoever registered it there would be installed)."""
    lines = [line.strip() for line in (EXAMPLE / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    (construct,) = [line for line in lines if "apigw" in line]
    assert construct == f"../../dist/apigw_jwt_authorizer-{__version__}-py3-none-any.whl[nag]"
    assert not [line for line in lines if line.startswith(("-i", "--index-url", "--extra-index-url", "-f"))]


@pytest.mark.parametrize("mode", ["lambda", "jwt", "x86"])
def test_the_example_app_synthesizes_clean_under_cdk_nag_and_cfn_lint(mode: str,
                                                                      request: pytest.FixtureRequest) -> None:
    synth: ExampleSynth = request.getfixturevalue(f"{mode}_example")  # cfn-lint with no check ignored
    (report,) = json.loads((synth.outdir / "validation-report.json").read_text())["pluginReports"]
    assert (report["pluginName"], report["conclusion"], report["violations"]) == ("AwsSolutions", "success", [])
    lint = cfn_lint(synth.outdir / f"{STACK}.template.json")
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_the_examples_own_routes_carry_the_authorizer(mode: str, request: pytest.FixtureRequest) -> None:
    synth: ExampleSynth = request.getfixturevalue(f"{mode}_example")
    routes = {r["Properties"]["RouteKey"]: r["Properties"]
              for r in synth.resources("AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {"GET /orders", "POST /orders", "GET /status"}  # no sample routes added
    expected = "CUSTOM" if mode == "lambda" else "JWT"
    assert routes["GET /orders"]["AuthorizationType"] == routes["POST /orders"]["AuthorizationType"] == expected
    assert routes["GET /status"]["AuthorizationType"] == "NONE"
    if mode == "jwt":
        assert routes["POST /orders"]["AuthorizationScopes"] == ["orders:write"]
        assert not synth.resources("AWS::Lambda::Function").keys() - {k for k in synth.resources(
            "AWS::Lambda::Function") if "Orders" in k}


@pytest.mark.parametrize(("mode", "machine", "architecture"), [("lambda", AARCH64, "arm64"),
                                                                ("x86", X86_64, "x86_64")])
def test_the_bundles_binaries_are_built_for_the_chosen_architecture(mode: str, machine: int, architecture: str,
                                                                   request: pytest.FixtureRequest) -> None:
    synth: ExampleSynth = request.getfixturevalue(f"{mode}_example")
    (function,) = [r for r in synth.resources("AWS::Lambda::Function").values()
                   if r["Properties"]["Handler"] == "authorizer.handler.handler"]
    assert function["Properties"]["Architectures"] == [architecture]
    bundle = synth.outdir / function["Metadata"]["aws:asset:path"]
    shared_objects = list(bundle.rglob("*.so"))
    assert (bundle / "cryptography/hazmat/bindings/_rust.abi3.so") in shared_objects
    assert {so.name: elf_machine(so) for so in shared_objects} == {so.name: machine for so in shared_objects}


def test_the_authorizer_is_bundled_from_the_installed_package(lambda_example: ExampleSynth) -> None:
    (function,) = [r for r in lambda_example.resources("AWS::Lambda::Function").values()
                   if r["Properties"]["Handler"] == "authorizer.handler.handler"]
    bundle = lambda_example.outdir / function["Metadata"]["aws:asset:path"]
    for module in ("authorizer/handler.py", "authorizer/config.py", "jose/jwt.py", "cryptography/__init__.py"):
        assert (bundle / module).is_file(), module
    assert not (bundle / "apigw_jwt_authorizer").exists() and not (bundle / "aws_cdk").exists()


def test_the_same_lock_gives_the_same_authorizer_asset_hash_installed_or_from_the_checkout(
        lambda_example: ExampleSynth, lambda_synth: CliSynth) -> None:
    """Two synths in separate processes, virtual environments and pip versions, one from the installed package and
    one from the checkout: the bundle, and so the asset, is the same, so a deploy with nothing changed uploads
    nothing."""
    keys = []
    for template in (lambda_example.template, lambda_synth.template):
        (function,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                       and r["Properties"]["Handler"] == "authorizer.handler.handler"]
        keys.append(function["Properties"]["Code"]["S3Key"])
    assert keys[0] == keys[1]
