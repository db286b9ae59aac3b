"""The real thing: ``npx cdk synth`` (the pinned CLI, cdk.json, bundling) once per mode, cfn-lint on its output,
the bundled assets, and ``python app.py`` with ``CDK_CONTEXT_JSON`` giving the very same template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.bundling import PROJECT_ROOT
from tests.synth_support import JWT_CONTEXT, CliSynth, cfn_lint, quiet_environment

pytestmark = pytest.mark.slow

AARCH64 = 183  # ELF e_machine
X86_64 = 62


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(header[18:20], "little")


# --- synth and lint -----------------------------------------------------------------------------------------
def test_cdk_synth_builds_each_mode(lambda_synth: CliSynth, jwt_synth: CliSynth) -> None:
    assert lambda_synth.template["Outputs"]["AuthorizerMode"]["Value"] == "lambda"
    assert jwt_synth.template["Outputs"]["AuthorizerMode"]["Value"] == "jwt"
    assert "Bundling asset" in lambda_synth.output
    # cdk.json's tenant route: a second authorizer, never cached, that cfn-lint checks below as well
    ttls = sorted(r["Properties"]["AuthorizerResultTtlInSeconds"] for r in lambda_synth.template["Resources"].values()
                  if r["Type"] == "AWS::ApiGatewayV2::Authorizer")
    assert ttls == [0, 300]


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_cfn_lint_finds_nothing_with_no_check_ignored(mode: str, request: pytest.FixtureRequest) -> None:
    synth: CliSynth = request.getfixturevalue(f"{mode}_synth")
    result = cfn_lint(synth.outdir / "JwtAuthorizerApi.template.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_report_a_broken_template(tmp_path: Path, jwt_synth: CliSynth) -> None:
    broken = json.loads(json.dumps(jwt_synth.template))
    for resource in broken["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Runtime"] = "python2.7"
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))
    assert cfn_lint(path).returncode != 0


# --- the bundles --------------------------------------------------------------------------------------------
def test_authorizer_bundle_holds_its_dependencies_built_for_arm64(lambda_synth: CliSynth) -> None:
    bundle = lambda_synth.asset_dir("authorizer.handler.handler")
    for module in ("authorizer/handler.py", "authorizer/__init__.py", "jose/jwt.py", "requests/__init__.py",
                   "cryptography/__init__.py", "aws_lambda_powertools/__init__.py"):
        assert (bundle / module).is_file(), module
    rust = bundle / "cryptography/hazmat/bindings/_rust.abi3.so"
    assert elf_machine(rust) == AARCH64
    wheel = next(bundle.glob("cryptography-*.dist-info")) / "WHEEL"
    assert "aarch64" in wheel.read_text()
    # cffi's backend is built per Python version: it must be the runtime's (3.14), for aarch64
    assert (bundle / "_cffi_backend.cpython-314-aarch64-linux-gnu.so").is_file()
    shared_objects = list(bundle.rglob("*.so"))
    assert shared_objects and all(elf_machine(so) == AARCH64 for so in shared_objects)


def test_bundles_hold_the_package_and_its_dependencies_only(lambda_synth: CliSynth) -> None:
    authorizer = lambda_synth.asset_dir("authorizer.handler.handler")
    backend = lambda_synth.asset_dir("sample_backend.handler.handler")
    for bundle in (authorizer, backend):
        names = {p.name for p in bundle.iterdir()}
        assert not names & {"infra", "tests", "app.py", "cdk.json", ".venv", "node_modules", "local", "bin"}, names
        assert not list(bundle.glob("authorizer/**/__pycache__")) and not list(bundle.glob("**/*.pyc"))
    assert (backend / "sample_backend/handler.py").is_file()
    assert (backend / "aws_lambda_powertools/__init__.py").is_file()
    assert not (backend / "authorizer").exists() and not (backend / "jose").exists()
    assert not (authorizer / "sample_backend").exists()


def test_the_same_sources_and_resolved_versions_give_the_same_asset_hash(lambda_synth: CliSynth,
                                                                         jwt_synth: CliSynth) -> None:
    """The hash is the bundle's: two separate synths bundle the sample backend alike, so a deploy with nothing
    changed uploads nothing."""
    keys = [synth.template["Resources"][synth.function_id("sample_backend.handler.handler")]["Properties"]["Code"]
            ["S3Key"] for synth in (lambda_synth, jwt_synth)]
    assert keys[0] == keys[1]
    assert lambda_synth.asset_dir("sample_backend.handler.handler").name == "asset." + keys[0].removesuffix(".zip")


def test_jwt_mode_bundles_no_authorizer(jwt_synth: CliSynth) -> None:
    handlers = [r["Properties"]["Handler"] for r in jwt_synth.template["Resources"].values()
                if r["Type"] == "AWS::Lambda::Function"]
    # the sample backend, the sample MCP server, and the inline function serving the MCP resource's metadata
    assert sorted(handlers) == ["index.handler", "sample_backend.handler.handler", "sample_mcp.server.handler"]


# --- python app.py ------------------------------------------------------------------------------------------
def test_python_app_with_cdk_context_json_matches_cdk_synth(tmp_path: Path, jwt_synth: CliSynth) -> None:
    env = {**quiet_environment(), "CDK_CONTEXT_JSON": json.dumps(JWT_CONTEXT), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    direct = json.loads((tmp_path / "JwtAuthorizerApi.template.json").read_text())
    assert direct == jwt_synth.template


def test_python_app_stops_on_invalid_configuration_naming_the_key(tmp_path: Path) -> None:
    context = {"authorizer": "jwt", "issuers": json.dumps([{"issuer": "https://a.example.org", "audience": "x"},
                                                           {"issuer": "https://b.example.org", "audience": "y"}])}
    env = {**quiet_environment(), "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Invalid configuration" in result.stderr and "issuers: jwt mode takes exactly one issuer" in result.stderr
    assert not (tmp_path / "JwtAuthorizerApi.template.json").exists()


def test_the_authorizer_bundle_is_installed_from_the_lock_without_joses_pure_python_backends(
        lambda_synth: CliSynth) -> None:
    bundle = lambda_synth.asset_dir("authorizer.handler.handler")
    installed = {p.name.split("-")[0].lower() for p in bundle.glob("*.dist-info")}
    assert {"python_jose", "cryptography", "requests", "aws_lambda_powertools"} <= installed
    assert not installed & {"ecdsa", "rsa", "pyasn1", "six"}, installed
    assert not [p for p in ("ecdsa", "rsa", "pyasn1", "six.py") if (bundle / p).exists()]
    assert (bundle / "authorizer/crypto_backend.py").is_file()
    assert (bundle / "aws_lambda_powertools/logging").is_dir()
    assert not (bundle / "aws_lambda_powertools/event_handler/openapi/swagger_ui").exists()  # never served here
