"""Session fixtures shared across test packages: one real ``npx cdk synth`` of the project's app per mode."""

from __future__ import annotations

import pytest

from tests.synth_support import JWT_CONTEXT, CliSynth, cdk_synth


@pytest.fixture(scope="session")
def lambda_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    return cdk_synth(tmp_path_factory.mktemp("cli-lambda"), {})


@pytest.fixture(scope="session")
def jwt_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    return cdk_synth(tmp_path_factory.mktemp("cli-jwt"), JWT_CONTEXT)
