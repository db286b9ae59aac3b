"""Fixtures of the development issuer's tests: one running issuer per module, and an HTTP session to it; for the
authorization server's tests, one whose clock the test moves."""

from __future__ import annotations

import pytest
import requests

from local.idp.authorization_settings import AuthorizationSettings, ManualClock
from local.idp.clients import default_clients
from local.idp.issuer import DevIssuer


@pytest.fixture(scope="module")
def issuer():
    """The issuer with the default clients (a module may override it with clients of its own)."""
    with DevIssuer(clients=default_clients(), admin=True) as running:
        yield running


@pytest.fixture(scope="module")
def clock():
    return ManualClock()


@pytest.fixture(scope="module")
def authorization_issuer(clock):
    """An issuer serving the authorization code flow, on ``clock`` (a module names it its ``issuer``)."""
    with DevIssuer(authorization=AuthorizationSettings(clock=clock)) as running:
        yield running


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False  # loopback only: never through a proxy from the environment
    yield session
    session.close()
