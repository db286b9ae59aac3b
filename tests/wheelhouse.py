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

Standard library only: it runs before the venv exists, beside ``pip install -r requirements.txt``.
"""

from __future__ import annotations

import subprocess
import sys
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


def commands(wheelhouse: Path) -> list[list[str]]:
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--dest",
           str(wheelhouse)]
    jobs = []
    for machine in MACHINES:
        for requirements, locked, pythons in BUNDLED:
            locking = ["--no-deps", "--require-hashes"] if locked else []
            for python in pythons:
                jobs.append(pip + lambda_platform(machine, python) + locking + ["-r", str(ROOT / requirements)])
        jobs.append(pip + lambda_platform(machine, LAMBDA_PYTHONS[-1]) + ["--no-deps", *TRACING])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    construct = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["nag"]
    jobs.append(pip + project["build-system"]["requires"] + construct)
    return jobs


def main(wheelhouse: Path) -> int:
    wheelhouse.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda command: subprocess.run(command, stdin=subprocess.DEVNULL), commands(wheelhouse)))
    failed = [result for result in results if result.returncode != 0]
    for result in failed:
        print(f"wheelhouse: failed: {' '.join(map(str, result.args))}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".wheelhouse")))
