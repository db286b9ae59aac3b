"""The installed construct, as a user gets it: the wheel (built from the sdist, as ``make dist`` builds it) installed
into a fresh virtual environment by the example app's own ``requirements.txt``, once per test run for every
worker."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.bundling import PROJECT_ROOT
from tests.built_distributions import Distributions
from tests.shared_fixtures import shared_directory

EXAMPLE = PROJECT_ROOT / "examples" / "existing-app"
PACKAGE_PAGE = PROJECT_ROOT / "docs" / "pypi.md"


def package_page_example() -> str:
    """The Python example of the package page (the distribution's long description): a whole CDK app."""
    (example,) = re.findall(r"^```python\n(.*?)^```", PACKAGE_PAGE.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    return example


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


def install_the_wheel(root: Path, wheel: Path) -> None:
    """As the example's docstring says: the wheel in ``dist/`` (here the one built from the sdist, as ``make dist``
    builds it), then ``pip install -r requirements.txt`` from the example's directory, which names the wheel by its
    path."""
    (root / "source" / "dist").mkdir(parents=True)
    shutil.copy2(wheel, root / "source" / "dist" / wheel.name)
    example = root / "source" / "examples" / "existing-app"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__", "cdk.out"))
    run([sys.executable, "-m", "venv", str(root / "venv")])  # no --system-site-packages: only what it installs
    # --no-compile: byte-compiling all of aws-cdk-lib takes longer than the synths. What the construct imports is
    # compiled once here instead, even where PYTHONDONTWRITEBYTECODE is set (each process would compile it again)
    python = str(root / "venv" / "bin" / "python")
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile", "-r",
         "requirements.txt"], cwd=example)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    run([python, "-c", "import apigw_jwt_authorizer, cdk_nag"], cwd=root, env=env)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, distributions: Distributions) -> Installed:
    return Installed(shared_directory(tmp_path_factory, "installed",
                                      lambda root: install_the_wheel(root, distributions.wheel)) / "venv")


