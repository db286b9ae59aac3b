"""Session fixtures shared across test packages: one real ``npx cdk synth`` of the project's app per mode, made once
per test run whatever the number of pytest-xdist workers (``tests/shared_fixtures.py``)."""

from __future__ import annotations

import pytest

from tests.shared_fixtures import shared_directory
from tests.synth_support import JWT_CONTEXT, CliSynth, cdk_synth, read_synth


@pytest.fixture(scope="session")
def lambda_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    return read_synth(shared_directory(tmp_path_factory, "cli-lambda", lambda outdir: cdk_synth(outdir, {})))


@pytest.fixture(scope="session")
def jwt_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    return read_synth(shared_directory(tmp_path_factory, "cli-jwt",
                                       lambda outdir: cdk_synth(outdir, JWT_CONTEXT)))
