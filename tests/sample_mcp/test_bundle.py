"""The sample MCP server's function synthesizes as the stack would provision it, and its bundle holds the handler,
the SDK it runs on (from its lock, for arm64), and the authorizer's header check from its one source."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack

from infra.bundling import PROJECT_ROOT, stage_package
from tests.sample_mcp.stack import STACK, synthesize

EXTRA_SOURCES = {"authorizer/__init__.py", "authorizer/mcp_headers.py", "sample_backend/__init__.py",
                 "sample_backend/handler.py"}


def function_and_asset(outdir: Path) -> tuple[dict, Path]:
    template = json.loads((outdir / f"{STACK}.template.json").read_text())
    (function,) = [r for r in template["Resources"].values()
                   if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == "sample_mcp.server.handler"]
    return function, outdir / function["Metadata"]["aws:asset:path"]


def files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def test_the_function_is_provisioned_with_the_server_and_one_source_of_the_header_check(tmp_path):
    function, asset = function_and_asset(synthesize(tmp_path / "cdk.out"))
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.14" and properties["Architectures"] == ["arm64"]
    assert properties["MemorySize"] == 512 and properties["Timeout"] == 10
    assert properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "sample-mcp"
    own = {f"sample_mcp/{p.name}" for p in (PROJECT_ROOT / "sample_mcp").iterdir() if p.is_file()}
    assert files_under(asset) == own | EXTRA_SOURCES  # nothing else of the authorizer or the backend
    for source in EXTRA_SOURCES:  # copies of the checkout's files, made at synthesis: one source
        assert (asset / source).read_bytes() == (PROJECT_ROOT / source).read_bytes()


@pytest.mark.parametrize("source", ["../setup.py", "/etc/passwd", "mcp_headers.py", "sample_mcp/server.py",
                                    "authorizer/no_such_module.py"])
def test_an_extra_source_must_be_a_file_of_another_package(tmp_path, source):
    stack = Stack(App(outdir=str(tmp_path)), "S")
    with pytest.raises((ValueError, FileNotFoundError), match="extra source"):
        stage_package(stack, "sample_mcp", extra_sources=[source])


@pytest.mark.slow
def test_the_real_bundle_installs_the_locked_sdk_for_arm64_beside_the_handler(tmp_path):
    _, asset = function_and_asset(synthesize(tmp_path / "cdk.out", bundling=True))
    files = files_under(asset)
    assert {"sample_mcp/server.py", "sample_mcp/admission.py", "sample_mcp/tools.py"} <= files
    assert EXTRA_SOURCES <= files
    assert not {f for f in files if f.startswith("authorizer/")} - EXTRA_SOURCES  # only the header check
    assert not any(f.startswith("bin/") for f in files)
    assert any(re.fullmatch(r"pydantic_core/_pydantic_core\.cpython-314-aarch64-linux-gnu\.so", f) for f in files)
    pins = dict(re.findall(r"^([a-z0-9_.-]+)==([^ ;\\\n]+)", (PROJECT_ROOT / "sample_mcp/requirements.lock").read_text(),
                           re.MULTILINE))
    for name in ("mcp", "mangum", "starlette", "pydantic", "aws-lambda-powertools"):
        distribution = name.replace("-", "_")
        assert f"{distribution}-{pins[name]}.dist-info/METADATA" in files, name
