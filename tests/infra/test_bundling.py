"""The Docker-free bundler: pip for the Lambda's platform and Python, binary wheels only, the package copied in."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import zipfile
from pathlib import Path

import pytest
from aws_cdk import App, AssetStaging, Stack
from aws_cdk import aws_lambda as lambda_

from infra import bundling
from infra.bundling import (
    ARCHITECTURE,
    RUNTIME,
    TRACING_REQUIREMENTS,
    PipBundler,
    pip_platforms,
    python_version,
)


def make_package(root: Path, name: str = "pkg") -> Path:
    package = root / name
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    return package


def make_wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel with a console script: pip resolves it from a local directory, with no index
    and no network."""
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\n\ndef main():\n    pass\n',
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                                             "Tag: py3-none-any\n",
        f"{name}-{version}.dist-info/entry_points.txt": f"[console_scripts]\n{name} = {name}:main\n",
    }
    record = f"{name}-{version}.dist-info/RECORD"
    lines = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        lines.append(f"{path},sha256={digest},{len(text.encode())}")
    files[record] = "\n".join(lines + [f"{record},,"]) + "\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def asset_hash(outdir: Path, source_root: Path, *, skip_bundling: bool = False) -> tuple[str, Path]:
    """The asset hash ``package_code`` gives ``pkg`` in a fresh app, and the asset's directory."""
    AssetStaging.clear_asset_hash_cache()  # as in a new `cdk synth` process
    context = {"aws:cdk:enable-asset-metadata": True, **({"aws:cdk:bundling-stacks": []} if skip_bundling else {})}
    app = App(outdir=str(outdir), context=context)
    stack = Stack(app, "S")
    lambda_.Function(stack, "F", runtime=RUNTIME, architecture=ARCHITECTURE, handler="pkg.handler.handler",
                     code=bundling.package_code(stack, "pkg", source_root=source_root))
    template = app.synth().get_stack_artifact("S").template
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    return resource["Properties"]["Code"]["S3Key"].removesuffix(".zip"), outdir / resource["Metadata"]["aws:asset:path"]


def test_runtime_is_the_newest_python_aws_cdk_lib_offers_on_arm64() -> None:
    pythons = [name for name in dir(lambda_.Runtime) if name.startswith("PYTHON_3_")]
    newest = max(pythons, key=lambda name: int(name.rsplit("_", 1)[1]))
    assert RUNTIME.name == getattr(lambda_.Runtime, newest).name == "python3.14"
    assert ARCHITECTURE.name == "arm64"


def test_pip_targets_the_functions_platform_and_python_with_binary_wheels_only() -> None:
    bundler = PipBundler("authorizer", Path("authorizer/requirements.txt"))
    command = bundler.pip_command("/out")
    assert command[1:4] == ["-m", "pip", "install"]
    assert command[command.index("--target"):command.index("--target") + 2] == ["--target", "/out"]
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


def test_asset_hash_follows_the_dependency_versions_pip_resolves(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Same sources and an open requirement: a new release of the dependency must change the asset hash, or
    ``cdk deploy`` would skip the upload and never update the function. (That the same resolution keeps the hash
    is checked on the real bundles in ``test_cli_synth``.)"""
    package = make_package(tmp_path / "src")
    (package / "requirements.txt").write_text("tinydep>=1\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "tinydep", "1.0")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))

    first, first_bundle = asset_hash(tmp_path / "first", tmp_path / "src")
    make_wheel(wheels, "tinydep", "1.1")  # a new release, nothing in the project changed
    upgraded, upgraded_bundle = asset_hash(tmp_path / "upgraded", tmp_path / "src")

    assert (first_bundle / "tinydep-1.0.dist-info").is_dir()
    assert (upgraded_bundle / "tinydep-1.1.dist-info").is_dir()
    assert upgraded != first
    # The console script is gone with bin/, and so is its RECORD line, whose hash depends on the interpreter path.
    record = (upgraded_bundle / "tinydep-1.1.dist-info" / "RECORD").read_text()
    assert "tinydep/__init__.py" in record and "bin/" not in record
    assert not (upgraded_bundle / "bin").exists()


def test_a_skipped_bundle_never_gets_a_real_bundles_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_package(tmp_path / "src")
    bundled, _ = asset_hash(tmp_path / "bundled", tmp_path / "src")
    skipped, skipped_path = asset_hash(tmp_path / "skipped", tmp_path / "src", skip_bundling=True)
    assert skipped != bundled
    assert skipped_path.resolve() == (tmp_path / "skipped" / "lambda-src" / "pkg").resolve()  # the staged source
