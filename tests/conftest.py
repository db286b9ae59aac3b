"""Session fixtures shared across test packages, each made once per test run whatever the number of pytest-xdist
workers (``tests/shared_fixtures.py``): one real ``npx cdk synth`` of the project's app per mode, and the sdist and
wheel a release would publish."""

from __future__ import annotations

import pytest

from tests.built_distributions import Distributions, build_distributions, read_distributions
from tests.shared_fixtures import shared_directory
from tests.synth_support import JWT_CONTEXT, CliSynth, cdk_synth, read_synth


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
