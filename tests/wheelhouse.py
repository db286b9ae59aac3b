"""Download, before the tests, every wheel the tests install: ``python3 tests/wheelhouse.py .wheelhouse``.

The tests bundle the stack's functions for Lambda (``pip install --platform``), build the distribution (an isolated
build environment) and install it into a fresh venv, all with pip. They may not reach a package index: the set-up
does (``make wheels``, part of ``make test``, like ``pip install`` and ``npm ci``), and ``tests/conftest.py`` points
pip at this directory alone (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``).

What is downloaded, each for what installs it:

- the Lambda bundles (``infra/bundling.py``'s ``pip install --platform``): the authorizer's and the sample MCP
  server's locks, the sample backend's requirements and the tracing extras, for arm64 and x86_64 on the newest
  runtime (``RUNTIME``);
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
#: The newest Python runtime the construct offers (infra/bundling.py RUNTIME), and its glibc tags (_GLIBC_TAGS).
LAMBDA_PYTHON = "3.14"
GLIBC_TAGS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
MACHINES = ("aarch64", "x86_64")
#: (requirements, locked): what each function's bundle installs (infra/bundling.py, infra/python_function.py).
BUNDLED = (
    ("authorizer/requirements.lock", True),
    ("sample_mcp/requirements.lock", True),
    ("sample_backend/requirements.txt", False),
)
TRACING = ("aws-xray-sdk>=2.14,<3", "wrapt>=1.14,<3")  # infra/bundling.py TRACING_REQUIREMENTS, --no-deps


def commands(wheelhouse: Path) -> list[list[str]]:
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--dest",
           str(wheelhouse)]
    jobs = []
    for machine in MACHINES:
        lambda_platform = [arg for tag in GLIBC_TAGS for arg in ("--platform", f"{tag}_{machine}")]
        lambda_platform += ["--implementation", "cp", "--python-version", LAMBDA_PYTHON, "--only-binary=:all:"]
        for requirements, locked in BUNDLED:
            locking = ["--no-deps", "--require-hashes"] if locked else []
            jobs.append(pip + lambda_platform + locking + ["-r", str(ROOT / requirements)])
        jobs.append(pip + lambda_platform + ["--no-deps", *TRACING])
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
