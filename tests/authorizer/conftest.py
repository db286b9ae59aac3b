"""Fixtures: one set of real signing keys per session, a fresh JWKS server per test, and authorizer builders."""

from __future__ import annotations

import importlib
import io
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from authorizer.authorize import Authorizer
from authorizer.config import load_config

from .stalling_peer import StallingPeer
from .support import Clock, JwksServer, SigningKey, claims_for

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(f"kid-{alg.lower()}", alg) for alg in ALGORITHMS}


@pytest.fixture(scope="session")
def spare_rsa() -> SigningKey:
    """A second RS256 key: the attacker's, or the next one after a rotation."""
    return SigningKey.generate("kid-spare", "RS256")


@pytest.fixture
def token(idp, keys):
    """An RS256 token of ``idp`` with these claims (a module may define its own ``token``)."""
    def make(**claims):
        return keys["RS256"].sign(claims_for(idp, **claims))
    return make


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server():
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def idp(server: JwksServer, keys: dict[str, SigningKey]) -> str:
    """An issuer on the server with discovery and a JWKS holding every test key. Returns the issuer URL."""
    issuer = server.root + "/idp"
    server.put("/idp/.well-known/openid-configuration", {"issuer": issuer, "jwks_uri": server.root + "/idp/jwks"})
    server.put_jwks("/idp/jwks", list(keys.values()))
    return issuer


class LogCapture:
    def __init__(self) -> None:
        self.stream = io.StringIO()
        # Powertools loggers of one service share a handler: a unique service per capture keeps captures apart.
        self.logger = Logger(service=f"test-{uuid.uuid4().hex[:8]}", level="DEBUG",
                             logger_handler=logging.StreamHandler(self.stream))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def logs() -> LogCapture:
    return LogCapture()


@pytest.fixture
def make_authorizer(idp: str, logs: LogCapture) -> Callable[..., Authorizer]:
    def build(issuers: list[dict[str, Any]] | None = None, routes: dict[str, Any] | None = None,
              **env: str) -> Authorizer:
        environ = {"AUTH_ISSUERS": json.dumps(issuers or [{"issuer": idp, "audience": "api"}]),
                   "AUTH_ROUTES": json.dumps(routes or {}), **env}
        return Authorizer(load_config(environ), logger=logs.logger)
    return build


@pytest.fixture
def import_handler(monkeypatch):
    """A Lambda cold start: set the environment (a value of None unsets it), import ``authorizer.handler`` afresh."""
    def cold_start(**env: str | None):
        # Powertools loggers of one service share one handler and its stream: a fresh service per cold start.
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"authorizer-{uuid.uuid4().hex[:8]}")
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TestAuthorizer")
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        sys.modules.pop("authorizer.handler", None)
        return importlib.import_module("authorizer.handler")
    yield cold_start
    sys.modules.pop("authorizer.handler", None)


@pytest.fixture
def peer() -> Iterator[StallingPeer]:
    """A loopback IdP that stalls in one way per path (``stalling_peer.py``), closed when the test ends."""
    peer = StallingPeer()
    yield peer
    peer.close()
