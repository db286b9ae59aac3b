"""The installed construct, as a user gets it: the wheel (``make dist``'s build) installed into a fresh virtual
environment by the example app's own ``requirements.txt``, once per test run for every worker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.bundling import PROJECT_ROOT
from tests.shared_fixtures import shared_directory

EXAMPLE = PROJECT_ROOT / "examples" / "existing-app"
#: What the wheel is built from (pyproject.toml maps infra/ and authorizer/ to the installed packages).
DISTRIBUTED = ("pyproject.toml", "README.md", "LICENSE", "infra", "authorizer")


@dataclass
class Installed:
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, code: str) -> str:
        result = subprocess.run([str(self.python), "-c", code], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, cwd=self.venv, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def install_the_wheel(root: Path) -> None:
    """As the example's docstring says: ``make dist``'s wheel in ``dist/``, then ``pip install -r requirements.txt``
    from the example's directory, which names the wheel by its path."""
    # Built from a copy of what pyproject.toml packages, as an sdist would hold it: no stale build/ of the checkout
    source = root / "source"
    for name in DISTRIBUTED:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(source / "dist"),
         str(source)])
    example = source / "examples" / "existing-app"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__", "cdk.out"))
    run([sys.executable, "-m", "venv", str(root / "venv")])  # no --system-site-packages: only what it installs
    # --no-compile: byte-compiling all of aws-cdk-lib takes longer than the synths; Python compiles what they import
    run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "-r", "requirements.txt"], cwd=example)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return Installed(shared_directory(tmp_path_factory, "installed", install_the_wheel) / "venv")


