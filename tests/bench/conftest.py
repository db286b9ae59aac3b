"""Fixtures of the benchmark tests: one loopback issuer per module (keys, tokens, a JWKS server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.scenario import BenchIssuer


@pytest.fixture(scope="module")
def issuer() -> Iterator[BenchIssuer]:
    with BenchIssuer() as started:
        yield started
