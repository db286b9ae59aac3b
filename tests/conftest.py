"""Session fixtures shared across test packages, each made once per test run whatever the number of pytest-xdist
workers (``tests/shared_fixtures.py``): one real ``npx cdk synth`` of the project's app per mode, and the sdist and
wheel a release would publish.

No test reaches a package index: pip, wherever the tests run it (bundling, ``python -m build``, a fresh venv), finds
wheels only in ``.wheelhouse``, which the set-up downloads first (``make wheels``, part of ``make test``;
``tests/wheelhouse.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.built_distributions import Distributions, build_distributions, read_distributions
from tests.offline import WHEELHOUSE
from tests.shared_fixtures import shared_directory
from tests.synth_support import JWT_CONTEXT, CliSynth, cdk_synth, read_synth

#: The modules that take longest, longest first. ``make test`` hands whole modules to its two workers
#: (``--dist loadscope``) in collection order, as each worker runs low: these start first, one on each worker, and the
#: many quick modules fill in around them, instead of a long module starting last while the other worker idles.
#: The two examples modules share one venv, so they follow each other on one worker rather than wait for each other.
COSTLY_FIRST = (
    "tests/examples/test_typing.py",
    "tests/local/test_concurrency_e2e.py",
    "tests/examples/test_existing_app.py",
    "tests/infra/test_cli_synth.py",
    "tests/local/test_stack_e2e.py",
    "tests/local/test_synthesizers.py",
    "tests/bench/test_bench_smoke.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Set before any test or worker starts, so every pip the tests run (in subprocesses too) inherits it."""
    os.environ["PIP_NO_INDEX"] = "1"
    os.environ["PIP_FIND_LINKS"] = str(WHEELHOUSE)


def pytest_report_header(config: pytest.Config) -> str:
    state = "" if (WHEELHOUSE / ".downloaded").exists() else " (missing: `make wheels` downloads it)"
    return f"pip: no index; wheels from {WHEELHOUSE}{state}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``COSTLY_FIRST`` before every other module; the rest, and each module's own tests, keep their order."""
    rank = {path: index for index, path in enumerate(COSTLY_FIRST)}
    root = Path(__file__).resolve().parent.parent
    items.sort(key=lambda item: rank.get(item.path.relative_to(root).as_posix(), len(rank)))


@pytest.fixture(scope="session")
def lambda_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    return read_synth(shared_directory(tmp_path_factory, "cli-lambda", lambda outdir: cdk_synth(outdir, {})))


@pytest.fixture(scope="session")
def jwt_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    return read_synth(shared_directory(tmp_path_factory, "cli-jwt",
                                       lambda outdir: cdk_synth(outdir, JWT_CONTEXT)))


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    return read_distributions(shared_directory(tmp_path_factory, "distributions", build_distributions))
