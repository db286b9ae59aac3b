"""Work a test session does once, shared by pytest-xdist's workers.

``make test`` runs the suite in worker processes (``-n``); a session fixture runs once *per worker*. What is costly
and lands on disk (a real ``cdk synth`` with bundling, a virtual environment with the wheel installed) is built
once per run by ``shared_directory``: the first worker to ask builds it under a file lock, the others wait for the
lock and reuse the directory. Without xdist (``pytest -p no:xdist`` or a single test) it is simply built once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

_BUILT = ".built"


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory all workers of this run share: the parent of a worker's own base temp directory (xdist gives
    each worker ``<run>/popen-gw<N>``), or the base temp directory itself without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_directory(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """``<session root>/<name>``, filled once by ``build(directory)``; a failed build leaves no marker, so the next
    worker tries again (and fails with its own error, not a half-built directory)."""
    root = session_root(tmp_path_factory)
    directory = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not (directory / _BUILT).exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            build(directory)
            (directory / _BUILT).touch()
    return directory
