"""Download, before the tests, every wheel the tests install: ``python3 tests/wheelhouse.py .wheelhouse``.

The tests bundle the stack's functions for Lambda (``pip install --platform``), build the distribution (an isolated
build environment) and install it into a fresh venv, all with pip. They may not reach a package index: the set-up
does (``make wheels``, part of ``make test``, like ``pip install`` and ``npm ci``), and ``tests/conftest.py`` points
pip at this directory alone (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``).

What is downloaded, each for what installs it:

- the Lambda bundles (``infra/bundling.py``'s ``pip install --platform``): the authorizer's and the sample MCP
  server's locks, the sample backend's requirements and the tracing extras, for arm64 and x86_64 on the newest
  runtime (``RUNTIME``); the authorizer's lock also for the older runtimes the construct offers
  (``SUPPORTED_RUNTIMES``), which ``tests/infra/test_lock.py`` shows it covers;
- the build backend ``pyproject.toml`` names, for ``python -m build``;
- the construct's dependencies with its ``nag`` extra, for this interpreter: what the example app's fresh venv gets.

Standard library only: it runs before the venv exists, beside ``pip install -r requirements.txt``, with this
Python's pip (or a throwaway venv's). ``tests/infra/test_lock.py`` checks that it downloads for exactly the
platforms ``infra/bundling.py`` installs for.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The Python runtimes the construct offers, newest last (infra/bundling.py SUPPORTED_RUNTIMES, RUNTIME), and the
#: glibc tags their Amazon Linux 2023 loads (_GLIBC_TAGS).
LAMBDA_PYTHONS = ("3.12", "3.13", "3.14")
GLIBC_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
MACHINES = ("aarch64", "x86_64")
#: (requirements, locked, runtimes): what each function's bundle installs (infra/bundling.py,
#: infra/python_function.py), and for which runtimes; the samples are bundled on the newest only.
AUTHORIZER_LOCK = "authorizer/requirements.lock"
BUNDLED = (
    (AUTHORIZER_LOCK, True, LAMBDA_PYTHONS),
    ("sample_mcp/requirements.lock", True, LAMBDA_PYTHONS[-1:]),
    ("sample_backend/requirements.txt", False, LAMBDA_PYTHONS[-1:]),
)
TRACING = ("aws-xray-sdk>=2.14,<3", "wrapt>=1.14,<3")  # infra/bundling.py TRACING_REQUIREMENTS, --no-deps


def lambda_platform(machine: str, python: str) -> list[str]:
    """pip's options for Lambda's platform, as infra/bundling.py's ``PipBundler.pip_command`` gives them."""
    tags = [arg for tag in GLIBC_TAGS for arg in ("--platform", f"{tag}_{machine}")]
    return tags + ["--implementation", "cp", "--python-version", python, "--only-binary=:all:"]


def downloads() -> list[list[str]]:
    """``pip download``'s arguments for each job (its ``--dest`` is added per job)."""
    jobs = []
    for machine in MACHINES:
        for requirements, locked, pythons in BUNDLED:
            locking = ["--no-deps", "--require-hashes"] if locked else []
            for python in pythons:
                jobs.append(lambda_platform(machine, python) + locking + ["-r", str(ROOT / requirements)])
        jobs.append(lambda_platform(machine, LAMBDA_PYTHONS[-1]) + ["--no-deps", *TRACING])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    construct = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["nag"]
    jobs.append(project["build-system"]["requires"] + construct)
    return jobs


def pip_interpreter(scratch: Path) -> str:
    """This Python if it has pip; else a throwaway venv's (``venv`` brings pip along, as ``make setup`` needs too):
    Debian's python3 has no pip until python3-pip is installed."""
    if importlib.util.find_spec("pip") is not None:
        return sys.executable
    subprocess.run([sys.executable, "-m", "venv", str(scratch / "pip-venv")], check=True, stdin=subprocess.DEVNULL)
    return str(scratch / "pip-venv" / "bin" / "python")


def download(python: str, arguments: list[str], wheelhouse: Path, scratch: Path) -> subprocess.CompletedProcess[bytes]:
    """One job, into a directory of its own, then moved in file by file (``os.replace``, atomic): jobs running
    side by side never read a wheel another is still writing (``--require-hashes`` would refuse it)."""
    own = Path(tempfile.mkdtemp(dir=scratch))
    command = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--dest", str(own),
               *arguments]
    result = subprocess.run(command, stdin=subprocess.DEVNULL)
    for wheel in own.iterdir():
        os.replace(wheel, wheelhouse / wheel.name)
    return result


def main(wheelhouse: Path) -> int:
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheelhouse, prefix=".partial-") as scratch_dir:
        scratch = Path(scratch_dir)  # in the wheelhouse (pip reads no subdirectory): the moves are atomic
        python = pip_interpreter(scratch)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda arguments: download(python, arguments, wheelhouse, scratch), downloads()))
    failed = [result for result in results if result.returncode != 0]
    for result in failed:
        print(f"wheelhouse: failed: {' '.join(map(str, result.args))}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".wheelhouse")))
