"""The distributions a release would publish, built once per test run (``tests/conftest.py``'s ``distributions``):
``python -m build`` on a copy of the checkout's files (those git tracks or would track: no ``.venv``, no ``build/``
left over), which makes the sdist and then the wheel *from the sdist*, as ``make dist`` does. The example app's
virtual environment installs this wheel, and ``tests/test_distribution.py`` reads both."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.bundling import PROJECT_ROOT


@dataclass(frozen=True)
class Distributions:
    sdist: Path
    wheel: Path


def checkout_files() -> list[str]:
    """The checkout's files as a clean clone would hold them, with new files not yet committed."""
    git = shutil.which("git")
    if git is None:
        raise RuntimeError("git is needed to tell the checkout's files from what a build or a venv left behind")
    listed = subprocess.run([git, "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL)
    return [name for name in listed.stdout.split("\0") if name and (PROJECT_ROOT / name).is_file()]


def build_distributions(directory: Path) -> Distributions:
    source = directory / "source"
    for name in checkout_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, source / name)
    out = directory / "dist"
    result = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert result.returncode == 0, f"python -m build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return read_distributions(directory)


def read_distributions(directory: Path) -> Distributions:
    (sdist,) = (directory / "dist").glob("*.tar.gz")
    (wheel,) = (directory / "dist").glob("*.whl")
    return Distributions(sdist, wheel)
