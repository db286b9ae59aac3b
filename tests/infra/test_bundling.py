"""The Docker-free bundler: pip for the Lambda's platform and Python, binary wheels only, the package copied in."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_

from infra import bundling
from infra.bundling import ARCHITECTURE, RUNTIME, TRACING_REQUIREMENTS, PipBundler, pip_platforms, python_version


def make_package(root: Path, name: str = "pkg") -> Path:
    package = root / name
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    return package


def test_runtime_is_the_newest_python_aws_cdk_lib_offers_on_arm64() -> None:
    pythons = [name for name in dir(lambda_.Runtime) if name.startswith("PYTHON_3_")]
    newest = max(pythons, key=lambda name: int(name.rsplit("_", 1)[1]))
    assert RUNTIME.name == getattr(lambda_.Runtime, newest).name == "python3.14"
    assert ARCHITECTURE.name == "arm64"


def test_pip_targets_the_functions_platform_and_python_with_binary_wheels_only() -> None:
    bundler = PipBundler("authorizer", Path("authorizer/requirements.txt"))
    command = bundler.pip_command("/out")
    assert command[1:4] == ["-m", "pip", "install"]
    assert ["--target", "/out"] == command[command.index("--target"):command.index("--target") + 2]
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms[0] == "manylinux2014_aarch64" and all(p.endswith("_aarch64") for p in platforms)
    assert command[command.index("--python-version") + 1] == "3.14"
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert "--no-cache-dir" not in command  # pip's download cache keeps repeated synths fast


def test_x86_64_functions_get_x86_64_wheels() -> None:
    assert pip_platforms(lambda_.Architecture.X86_64)[0] == "manylinux2014_x86_64"
    assert python_version(lambda_.Runtime.PYTHON_3_12) == "3.12"


def test_bundle_holds_the_package_without_caches(tmp_path: Path) -> None:
    make_package(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    assert PipBundler("pkg", None, source_root=tmp_path / "src").try_bundle(str(out)) is True
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "pkg", "pkg/__init__.py", "pkg/handler.py"]


def test_tracing_requirements_are_installed_without_their_dependencies(tmp_path: Path) -> None:
    make_package(tmp_path / "src")
    tracing = tmp_path / "requirements-tracing.txt"
    tracing.write_text(TRACING_REQUIREMENTS)
    out = tmp_path / "out"
    out.mkdir()
    assert PipBundler("pkg", None, source_root=tmp_path / "src", no_deps_requirements=tracing).try_bundle(str(out))
    installed = {p.name for p in out.iterdir()}
    assert {"aws_xray_sdk", "wrapt", "pkg"} <= installed
    assert "botocore" not in installed  # the Lambda runtime has it; bundling it would double the asset


def test_pip_failure_stops_synthesis_with_pips_reason(tmp_path: Path) -> None:
    make_package(tmp_path / "src")
    requirements = tmp_path / "src" / "pkg" / "requirements.txt"
    requirements.write_text("this is not a requirement !!!\n")
    bundler = PipBundler("pkg", requirements, source_root=tmp_path / "src")
    with pytest.raises(RuntimeError, match=r"bundling pkg: pip could not install requirements.txt for "
                                           r"manylinux2014_aarch64.*Python 3.14"):
        bundler.try_bundle(str(tmp_path / "out"))


def test_without_pip_the_bundler_hands_over_to_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(bundling.importlib.util, "find_spec",
                        lambda name, *a: None if name == "pip" else real_find_spec(name, *a))
    make_package(tmp_path / "src")
    assert PipBundler("pkg", None, source_root=tmp_path / "src").try_bundle(str(tmp_path / "out")) is False
    assert not (tmp_path / "out").exists()


def test_staged_source_holds_only_the_package(tmp_path: Path) -> None:
    from aws_cdk import App, Stack

    source = tmp_path / "project"
    make_package(source)
    (source / "secrets.env").write_text("TOKEN=x")
    (source / "tests").mkdir()
    app = App(outdir=str(tmp_path / "cdk.out"))
    staged = bundling.stage_package(Stack(app, "S"), "pkg", source)
    assert staged == (tmp_path / "cdk.out" / "lambda-src" / "pkg").resolve()
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*")) == [
        "pkg", "pkg/__init__.py", "pkg/handler.py"]
