"""Fixtures for the conformance corpus: the authorizer tests' own real JWKS server, log capture and cold start,
and the replay harness (an ``Authorizer`` at a fixed instant that records every decision it reports).

Reused, not rewritten: ``server`` (a real HTTP server on 127.0.0.1 per test), ``logs`` (a Powertools logger
writing to a buffer) and ``import_handler`` (a fresh import of ``authorizer.handler`` under a given environment).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from authorizer.authorize import Authorizer
from authorizer.config import load_config
from authorizer.fetch import JsonFetcher
from authorizer.verifier import TokenVerifier
from tests.authorizer.conftest import import_handler, logs, server  # noqa: F401 (fixtures, registered by import)
from tests.authorizer.support import SigningKey

from .corpus import BUILT, CLOCK, GO_SESSION, Replay, descope_issuer


@pytest.fixture
def replay(logs) -> Callable[..., Replay]:  # noqa: F811 (the imported fixture, requested by name)
    """``replay(issuers, routes=None, at=CLOCK, **env)`` → an Authorizer from ``load_config`` whose clock is fixed.

    The verifier is built as the handler builds it, with one difference: ``clock`` (the seam for time claims).
    """
    def build(issuers: list[dict[str, Any]], routes: dict[str, Any] | None = None, at: float = CLOCK,
              **env: str) -> Replay:
        config = load_config({"AUTH_ISSUERS": json.dumps(issuers), "AUTH_ROUTES": json.dumps(routes or {}), **env})
        verifier = TokenVerifier(config.issuers, fetcher=JsonFetcher(timeout=config.jwks_timeout_seconds),
                                 leeway=config.leeway_seconds, max_age=config.jwks_max_age_seconds,
                                 cooldown=config.jwks_cooldown_seconds, max_stale=config.jwks_max_stale_seconds,
                                 clock=lambda: at)
        result = Replay(None)  # type: ignore[arg-type]
        result.authorizer = Authorizer(config, verifier=verifier, logger=logs.logger,
                                       observe=lambda outcome, reason, shape: result.decisions.append(
                                           (outcome, reason, shape)))
        return result
    return build


@pytest.fixture(scope="module")
def built_keys() -> dict[str, SigningKey]:
    """Keys made at test time for the tokens we build from documented shapes (never a provider's key)."""
    return {"agentic": SigningKey.generate("agentic-es384-1", "ES384"),
            "wso2": SigningKey.generate(BUILT["wso2"]["kids"][2], "RS256"),
            "cognito": SigningKey.generate("cognito-rs256-1", "RS256"),
            "entra": SigningKey.generate("entra-rs256-1", "RS256")}


@pytest.fixture
def descope_go(server, replay) -> Callable[..., Replay]:  # noqa: F811 (the imported fixture)
    """An authorizer trusting go-sdk's Descope project: its real session token is valid today, aud and all."""
    def build(**kwargs: Any) -> Replay:
        return replay([descope_issuer(server, GO_SESSION["project_id"], [GO_SESSION["jwk"]])], **kwargs)
    return build
