"""``bytecode=True``: a bundle whose modules are compiled, at synthesis, by the function runtime's own Python version
(``infra/bytecode.py``), so that a Lambda cold start loads them instead of compiling each one."""

from __future__ import annotations

import filecmp
import glob
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_

import infra.bundling
from infra import JwtAuthorization
from infra.bundling import PipBundler
from infra.bytecode import compile_bundle, docker_command, runs_as

from .test_bundling import make_package, make_wheel
from .test_construct_api import new_stack, settings

RUNTIMES = {"3.14": lambda_.Runtime.PYTHON_3_14, "3.13": lambda_.Runtime.PYTHON_3_13,
            "3.12": lambda_.Runtime.PYTHON_3_12}
HANDLER_PYC = Path("pkg", "__pycache__", "handler.cpython-{}.pyc")
#: Each compiled file's invalidation flags and the source path its code records, read by the runtime's Python.
READ_PYC = ("import json, marshal, sys; print(json.dumps({p: [int.from_bytes(open(p, 'rb').read()[4:8], 'little'), "
            "marshal.loads(open(p, 'rb').read()[16:]).co_filename] for p in sys.argv[1:]}))")


@pytest.fixture
def runtime_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, lambda_.Runtime, str]:
    """A Python of a runtime the construct offers (3.14, 3.13 or 3.12) on this machine, on PATH or installed by
    pyenv, put first on PATH as ``python3.X``: (version, its runtime, the interpreter)."""
    for version, runtime in RUNTIMES.items():
        candidates = [os.path.join(d, f"python{version}") for d in os.environ.get("PATH", "").split(os.pathsep)]
        candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
        for candidate in candidates:
            if os.access(candidate, os.X_OK) and runs_as(candidate, version):
                bin_dir = tmp_path / "bin"
                bin_dir.mkdir()
                (bin_dir / f"python{version}").symlink_to(candidate)
                monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
                return version, runtime, candidate
    pytest.skip("no Python 3.12, 3.13 or 3.14 on this machine to compile a bundle with")


def bundle(source: Path, out: Path, runtime: lambda_.Runtime, requirements: Path | None = None) -> Path:
    out.mkdir()
    bundler = PipBundler("pkg", requirements, source_root=source, runtime=runtime, bytecode=True)
    assert bundler.try_bundle(str(out)) is True
    return out


def compiled(python: str, root: Path) -> dict[str, list[Any]]:
    """Every ``.pyc`` under ``root`` (relative path) → [its flags, the source path its code records]."""
    files = sorted(root.rglob("*.pyc"))
    read = subprocess.run([python, "-c", READ_PYC, *map(str, files)], capture_output=True, text=True, check=True,
                          stdin=subprocess.DEVNULL)
    return {Path(path).relative_to(root).as_posix(): value for path, value in json.loads(read.stdout).items()}


def test_a_bundle_with_bytecode_holds_every_module_compiled_for_its_runtime_recording_lambda_paths(
        tmp_path: Path, runtime_python, monkeypatch: pytest.MonkeyPatch) -> None:
    """The package's modules and those pip installed for it alike: hash-based, never checked against their
    source (unchecked-hash, flags 0b01), and naming the path each has in Lambda, not this build directory's."""
    version, runtime, python = runtime_python
    package = make_package(tmp_path / "src")  # it holds a stray cpython-311 file, which is never copied
    (package / "requirements.txt").write_text("tinydep==1.0\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "tinydep", "1.0")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    out = bundle(tmp_path / "src", tmp_path / "out", runtime, package / "requirements.txt")
    tag = version.replace(".", "")
    assert compiled(python, out) == {
        f"pkg/__pycache__/__init__.cpython-{tag}.pyc": [0b01, "/var/task/pkg/__init__.py"],
        HANDLER_PYC.as_posix().format(tag): [0b01, "/var/task/pkg/handler.py"],
        f"tinydep/__pycache__/__init__.cpython-{tag}.pyc": [0b01, "/var/task/tinydep/__init__.py"],
    }


def test_bytecode_an_install_left_is_compiled_again_and_this_machines_python_variables_change_nothing(
        tmp_path: Path, runtime_python, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip in a Docker image writes timestamp files recording its temporary directory: compiled afresh. A
    ``PYTHONPYCACHEPREFIX`` or ``PYTHONOPTIMIZE`` of the synthesizing shell would put the files elsewhere or give
    only ``opt-1`` files, which Lambda's interpreter ignores: neither reaches the compiler."""
    version, _, python = runtime_python
    make_package(tmp_path / "out")
    (tmp_path / "out" / "pkg" / "__pycache__" / "handler.cpython-311.pyc").unlink()  # a stray, not an install's
    subprocess.run([python, "-m", "compileall", "-q", str(tmp_path / "out")], check=True, stdin=subprocess.DEVNULL)
    tag = version.replace(".", "")
    assert compiled(python, tmp_path / "out")[HANDLER_PYC.as_posix().format(tag)][0] == 0  # a timestamp file
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PYTHONOPTIMIZE", "1")
    compile_bundle(tmp_path / "out", python, version, "pkg")
    assert compiled(python, tmp_path / "out")[HANDLER_PYC.as_posix().format(tag)] == [0b01,
                                                                                    "/var/task/pkg/handler.py"]
    assert not (tmp_path / "elsewhere").exists() and not list((tmp_path / "out").rglob("*.opt-*.pyc"))


def test_docker_bundlings_compile_step_gives_the_same_files_whatever_the_image_left_or_its_environment_says(
        tmp_path: Path, runtime_python) -> None:
    """The shell step Docker bundling appends, run by the runtime's Python as the image's ``python``: pip's
    timestamp files compiled afresh, and only the plain unoptimized files, even under ``PYTHONOPTIMIZE``."""
    version, _, python = runtime_python
    make_package(tmp_path / "asset-output")
    (tmp_path / "asset-output" / "pkg" / "__pycache__" / "handler.cpython-311.pyc").unlink()
    subprocess.run([python, "-m", "compileall", "-q", str(tmp_path / "asset-output")], check=True,
                   stdin=subprocess.DEVNULL)  # what pip install leaves without --no-compile
    image_bin = tmp_path / "image-bin"
    image_bin.mkdir()
    (image_bin / "python").symlink_to(python)
    subprocess.run(["bash", "-c", docker_command(str(tmp_path / "asset-output"))], check=True,
                   env={"PATH": f"{image_bin}{os.pathsep}/usr/bin:/bin", "PYTHONOPTIMIZE": "1"},
                   stdin=subprocess.DEVNULL)
    tag = version.replace(".", "")
    assert compiled(python, tmp_path / "asset-output") == {
        f"pkg/__pycache__/__init__.cpython-{tag}.pyc": [0b01, "/var/task/pkg/__init__.py"],
        HANDLER_PYC.as_posix().format(tag): [0b01, "/var/task/pkg/handler.py"],
    }


def test_a_module_left_without_bytecode_stops_synthesis_naming_it(tmp_path: Path, runtime_python) -> None:
    """compileall passes over what it cannot read (here a link to nothing) and still succeeds: the check after it
    does not, so a bundle never ships half compiled."""
    version, _, python = runtime_python
    make_package(tmp_path / "out")
    (tmp_path / "out" / "pkg" / "ghost.py").symlink_to(tmp_path / "nowhere.py")
    with pytest.raises(RuntimeError, match=rf"1 module\(s\) of pkg's bundle were left without cpython-"
                                           rf"{version.replace('.', '')} bytecode, pkg/ghost\.py among them"):
        compile_bundle(tmp_path / "out", python, version, "pkg")


def test_a_module_that_does_not_compile_stops_synthesis_naming_it(tmp_path: Path, runtime_python) -> None:
    version, _, python = runtime_python
    make_package(tmp_path / "out")
    (tmp_path / "out" / "pkg" / "broken.py").write_text("def handler(:\n")
    with pytest.raises(RuntimeError, match=rf"bytecode=True: Python {version} .* could not compile pkg's bundle"
                                           rf"(.|\n)*broken\.py"):
        compile_bundle(tmp_path / "out", python, version, "pkg")


def test_the_runtimes_python_loads_the_compiled_module_without_compiling_its_source(tmp_path: Path,
                                                                                  runtime_python) -> None:
    _, runtime, python = runtime_python
    make_package(tmp_path / "src")
    out = bundle(tmp_path / "src", tmp_path / "out", runtime)
    source = out / "pkg" / "handler.py"
    source.write_text(source.read_text() + "raise SystemExit('compiled from source')\n")
    os.chmod(out / "pkg", stat.S_IRUSR | stat.S_IXUSR)  # read-only, as /var/task: nothing can be written beside
    try:
        ran = subprocess.run([python, "-c", "import pkg.handler; print(pkg.handler.handler(None, None))"], cwd=out,
                             env={**os.environ, "PYTHONPATH": str(out)}, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL)
    finally:
        os.chmod(out / "pkg", stat.S_IRWXU)
    assert (ran.returncode, ran.stdout.strip()) == (0, "{}"), ran.stderr


def test_the_same_sources_and_python_give_the_same_bundle(tmp_path: Path, runtime_python) -> None:
    """No timestamp and no build path in the compiled files: one lock and one Python version, one asset hash."""
    _, runtime, _ = runtime_python
    make_package(tmp_path / "src")
    first = bundle(tmp_path / "src", tmp_path / "first", runtime)
    second = bundle(tmp_path / "src", tmp_path / "second", runtime)
    compared = filecmp.dircmp(first, second)
    files = [p.relative_to(first) for p in first.rglob("*") if p.is_file()]
    assert files and not compared.diff_files and not compared.left_only and not compared.right_only
    assert all(filecmp.cmp(first / f, second / f, shallow=False) for f in files)


def test_without_the_runtimes_python_docker_bundles_instead_and_without_docker_synthesis_says_what_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_package(tmp_path / "src")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))  # no python3.X and no docker on this PATH
    monkeypatch.delenv("CDK_DOCKER", raising=False)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    version, runtime = next((v, r) for v, r in RUNTIMES.items()
                            if v != running)  # the synthesizing Python would do for its own version
    bundler = PipBundler("pkg", None, source_root=tmp_path / "src", runtime=runtime, bytecode=True)
    escaped = version.replace(".", r"\.")
    with pytest.raises(RuntimeError, match=rf"compiled by Python {escaped}.*neither python{escaped} \(on PATH\) "
                                           "nor Docker"):
        bundler.try_bundle(str(tmp_path / "out"))
    podman = bin_dir / "podman"
    podman.write_text("#!/bin/sh\nexit 0\n")
    podman.chmod(0o755)
    with pytest.raises(RuntimeError, match="nor Docker"):  # another engine, unless CDK is told to use it
        bundler.try_bundle(str(tmp_path / "out"))
    monkeypatch.setenv("CDK_DOCKER", "podman")
    assert bundler.try_bundle(str(tmp_path / "out")) is False  # CDK then bundles in the runtime's image
    monkeypatch.delenv("CDK_DOCKER")
    (bin_dir / "docker").symlink_to(podman)
    assert bundler.try_bundle(str(tmp_path / "out")) is False
    assert not (tmp_path / "out").exists()


def test_the_construct_hands_bytecode_to_local_and_docker_bundling_only_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``PackageFunction`` and ``package_code``: the local bundler compiles, and the Docker fallback's
    command ends with the same compilation; without the option neither does."""
    bundlers: list[tuple[str, bool]] = []
    commands: list[str] = []

    class RecordingBundler(PipBundler):
        def __init__(self, package: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(package, *args, **kwargs)
            bundlers.append((package, self.bytecode))

    real_options = infra.bundling.BundlingOptions

    def recording_options(**options: Any) -> Any:
        commands.append(options["command"][-1])
        return real_options(**options)

    monkeypatch.setattr(infra.bundling, "PipBundler", RecordingBundler)
    monkeypatch.setattr(infra.bundling, "BundlingOptions", recording_options)
    _, stack = new_stack(tmp_path)
    JwtAuthorization(stack, "Compiled", http_api=apigwv2.HttpApi(stack, "One"), settings=settings(), bytecode=True)
    JwtAuthorization(stack, "Plain", http_api=apigwv2.HttpApi(stack, "Two"), settings=settings())
    assert bundlers == [("authorizer", True), ("authorizer", False)]
    assert "compileall" in commands[0] and "--invalidation-mode unchecked-hash" in commands[0]
    assert "compileall" not in commands[1]
    assert all("pip install --no-cache-dir --no-compile " in command for command in commands)
