"""``bytecode=True``: a bundle whose modules are compiled, at synthesis, by the function runtime's own Python version
(``infra/bytecode.py``), so that a Lambda cold start loads them instead of compiling each one."""

from __future__ import annotations

import filecmp
import glob
import os
import stat
import subprocess
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_

from infra.bundling import PipBundler

from .test_bundling import make_package

RUNTIMES = {"3.13": lambda_.Runtime.PYTHON_3_13, "3.12": lambda_.Runtime.PYTHON_3_12}
HANDLER_PYC = Path("pkg", "__pycache__", "handler.cpython-{}.pyc")


def _runs_as(candidate: str, version: str) -> bool:
    reported = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    return reported.returncode == 0 and reported.stdout.strip() == version


@pytest.fixture
def runtime_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, lambda_.Runtime, str]:
    """A Python 3.13 or 3.12 of this machine (on PATH, or installed by pyenv), made the only ``python3.X`` on PATH:
    (version, its runtime, the interpreter)."""
    for version, runtime in RUNTIMES.items():
        candidates = [os.path.join(d, f"python{version}") for d in os.environ.get("PATH", "").split(os.pathsep)]
        candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
        for candidate in candidates:
            if os.access(candidate, os.X_OK) and _runs_as(candidate, version):
                bin_dir = tmp_path / "bin"
                bin_dir.mkdir()
                (bin_dir / f"python{version}").symlink_to(candidate)
                monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
                return version, runtime, candidate
    pytest.skip("no Python 3.12 or 3.13 on this machine to compile a bundle with")


def bundle(source: Path, out: Path, runtime: lambda_.Runtime) -> Path:
    out.mkdir()
    assert PipBundler("pkg", None, source_root=source, runtime=runtime, bytecode=True).try_bundle(str(out)) is True
    return out


def test_a_bundle_with_bytecode_holds_modules_compiled_for_its_runtime_recording_lambda_paths(tmp_path: Path,
                                                                                            runtime_python) -> None:
    version, runtime, python = runtime_python
    make_package(tmp_path / "src")  # it holds a stray cpython-311 file, which is never copied
    out = bundle(tmp_path / "src", tmp_path / "out", runtime)
    tag = version.replace(".", "")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.pyc")) == [
        f"pkg/__pycache__/__init__.cpython-{tag}.pyc", HANDLER_PYC.as_posix().format(tag)]
    pyc = (out / HANDLER_PYC.as_posix().format(tag)).read_bytes()
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source never checked (unchecked-hash)
    recorded = subprocess.run([python, "-c", "import marshal, sys; "
                               "print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)",
                               str(out / HANDLER_PYC.as_posix().format(tag))],
                              capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    assert recorded.stdout.strip() == "/var/task/pkg/handler.py"  # Lambda's path, not this build directory's


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
    monkeypatch.setenv("PATH", str(bin_dir))  # no python3.12 and no docker on this PATH
    bundler = PipBundler("pkg", None, source_root=tmp_path / "src", runtime=lambda_.Runtime.PYTHON_3_12,
                         bytecode=True)
    with pytest.raises(RuntimeError, match=r"compiled by Python 3\.12.*neither python3\.12 \(on PATH\) nor Docker"):
        bundler.try_bundle(str(tmp_path / "out"))
    docker = bin_dir / "docker"
    docker.write_text("#!/bin/sh\nexit 0\n")
    docker.chmod(0o755)
    assert bundler.try_bundle(str(tmp_path / "out")) is False  # CDK then bundles in the runtime's image
    assert not (tmp_path / "out").exists()
