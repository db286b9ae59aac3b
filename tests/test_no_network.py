"""The tests' pip reaches no package index (tests/conftest.py, docs/development.md "No network in tests")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import WHEELHOUSE


def test_pip_in_a_test_takes_wheels_from_the_wheelhouse_alone(tmp_path: Path) -> None:
    assert os.environ["PIP_NO_INDEX"] == "1" and os.environ["PIP_FIND_LINKS"] == str(WHEELHOUSE)
    # A release no wheelhouse holds (requests 2.0.0, 2013): an index would have it, this pip must not find it.
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", str(tmp_path),
                             "requests==2.0.0"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode != 0
    assert "No matching distribution found for requests==2.0.0" in result.stderr
    assert not list(tmp_path.iterdir())
